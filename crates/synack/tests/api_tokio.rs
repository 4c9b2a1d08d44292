//! The tokio API (`synack::tokio`) between two stacks joined by the in-memory link: real driver
//! threads and the real clock, every await bounded by `tokio::time::timeout`.
#![cfg(feature = "tokio")]

use std::io::ErrorKind;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sha2::{Digest, Sha256};
use synack::Stack;
use synack::net::ConnConfig;
use synack::tokio::{TcpListener, TcpStream};

mod common;
use common::{STEP, addr, data, pair};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

async fn connected(
    a: &Arc<Stack>,
    b: &Arc<Stack>,
    port: u16,
) -> (TcpListener, TcpStream, TcpStream) {
    let at = addr(&format!("10.0.0.2:{port}"));
    let listener = TcpListener::bind(b, at).await.unwrap();
    let client = timeout(STEP, TcpStream::connect(a, at)).await.unwrap().unwrap();
    let (server, peer) = timeout(STEP, listener.accept()).await.unwrap().unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
    (listener, client, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo() {
    let (a, b) = pair();
    let (_l, mut client, server) = connected(&a, &b, 7).await;
    let echo = tokio::spawn(async move {
        let mut server = server;
        let mut buf = [0u8; 1024];
        loop {
            let n = server.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            server.write_all(&buf[..n]).await.unwrap();
        }
        server.shutdown().await.unwrap();
    });
    for line in ["hello\n", "synack over tokio\n", "bye\n"] {
        client.write_all(line.as_bytes()).await.unwrap();
        let mut got = vec![0u8; line.len()];
        timeout(STEP, client.read_exact(&mut got)).await.unwrap().unwrap();
        assert_eq!(got, line.as_bytes());
    }
    client.shutdown().await.unwrap();
    let mut rest = Vec::new();
    timeout(STEP, client.read_to_end(&mut rest)).await.unwrap().unwrap();
    assert!(rest.is_empty());
    timeout(STEP, echo).await.unwrap().unwrap();
}

/// Both directions at once through owned halves on separate tasks, 1 MB each way. Each side
/// reads everything before the FINs are exchanged (see the ignored test below for why).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn into_split_concurrent_read_write() {
    const LEN: usize = 1024 * 1024;
    let (a, b) = pair();
    let (_l, client, server) = connected(&a, &b, 8).await;
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = data(LEN, 1);
    let down = data(LEN, 2);
    let (up2, down2) = (up.clone(), down.clone());
    let t1 = tokio::spawn(async move {
        cw.write_all(&up2).await.unwrap();
        cw
    });
    let t2 = tokio::spawn(async move {
        sw.write_all(&down2).await.unwrap();
        sw
    });
    let t3 = tokio::spawn(async move {
        let mut got = vec![0u8; LEN];
        sr.read_exact(&mut got).await.unwrap();
        (got, sr)
    });
    let mut got_down = vec![0u8; LEN];
    timeout(STEP, cr.read_exact(&mut got_down)).await.unwrap().unwrap();
    let (got_up, mut sr) = timeout(STEP, t3).await.unwrap().unwrap();
    assert_eq!(Sha256::digest(&got_up), Sha256::digest(&up));
    assert_eq!(Sha256::digest(&got_down), Sha256::digest(&down));
    // Now both FINs: dropping a write half sends FIN, as tokio's does.
    drop(timeout(STEP, t1).await.unwrap().unwrap());
    drop(timeout(STEP, t2).await.unwrap().unwrap());
    let mut rest = Vec::new();
    timeout(STEP, sr.read_to_end(&mut rest)).await.unwrap().unwrap();
    timeout(STEP, cr.read_to_end(&mut rest)).await.unwrap().unwrap();
    assert!(rest.is_empty());
}

/// Both sides write and close at once, then read to the end: whatever was received before the
/// FIN exchange finished must still be readable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn into_split_simultaneous_close_keeps_unread_data() {
    const LEN: usize = 1024 * 1024;
    let (a, b) = pair();
    let (_l, client, server) = connected(&a, &b, 15).await;
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = data(LEN, 1);
    let down = data(LEN, 2);
    let (up2, down2) = (up.clone(), down.clone());
    let t1 = tokio::spawn(async move {
        cw.write_all(&up2).await.unwrap();
        cw.shutdown().await.unwrap();
    });
    let t2 = tokio::spawn(async move {
        sw.write_all(&down2).await.unwrap();
        drop(sw);
    });
    let t3 = tokio::spawn(async move {
        let mut got = Vec::new();
        sr.read_to_end(&mut got).await.unwrap();
        got
    });
    let mut got_down = Vec::new();
    timeout(STEP, cr.read_to_end(&mut got_down)).await.unwrap().unwrap();
    let got_up = timeout(STEP, t3).await.unwrap().unwrap();
    timeout(STEP, t1).await.unwrap().unwrap();
    timeout(STEP, t2).await.unwrap().unwrap();
    assert_eq!(got_up.len(), LEN);
    assert_eq!(got_down.len(), LEN);
    assert_eq!(Sha256::digest(&got_up), Sha256::digest(&up));
    assert_eq!(Sha256::digest(&got_down), Sha256::digest(&down));
}

/// A writer facing a reader that does not read stalls (poll_write Pending) once the send
/// buffer and the peer's receive window are full, and resumes when the reader reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backpressure_with_slow_reader() {
    const LEN: usize = 2 * 1024 * 1024;
    const BUF: usize = 64 * 1024;
    let (a, b) = pair();
    let listener = TcpListener::bind_with(
        &b,
        addr("10.0.0.2:9"),
        8,
        Some(ConnConfig { recv_buffer: BUF, send_buffer: BUF, ..Default::default() }),
    )
    .unwrap();
    let cfg = ConnConfig { recv_buffer: BUF, send_buffer: BUF, ..Default::default() };
    let client = timeout(STEP, TcpStream::connect_with(&a, addr("10.0.0.2:9"), Some(cfg)))
        .await
        .unwrap()
        .unwrap();
    let (mut server, _) = timeout(STEP, listener.accept()).await.unwrap().unwrap();
    let payload = data(LEN, 3);
    let want = Sha256::digest(&payload);
    let written = Arc::new(AtomicUsize::new(0));
    let w2 = written.clone();
    let writer = tokio::spawn(async move {
        let mut client = client;
        let mut off = 0;
        while off < payload.len() {
            let end = (off + 4096).min(payload.len());
            let n = client.write(&payload[off..end]).await.unwrap();
            off += n;
            w2.store(off, Ordering::Release);
        }
        client.shutdown().await.unwrap();
        client
    });
    // The reader sleeps: the writer must stall near send buffer + receive window. On a loaded
    // machine the stall can take a while to reach, so wait until two readings 100 ms apart
    // agree (for at most 3 s), then check where it stalled.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut stalled = written.load(Ordering::Acquire);
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = written.load(Ordering::Acquire);
        if now == stalled {
            break;
        }
        stalled = now;
    }
    assert!(stalled >= BUF, "wrote only {stalled}");
    assert!(stalled <= 4 * BUF, "writer was not held back: {stalled} bytes accepted");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(written.load(Ordering::Acquire), stalled, "writer moved without a reader");
    // Now read slowly, in small pieces: the writer is woken as space frees.
    let mut h = Sha256::new();
    let mut total = 0;
    let mut buf = vec![0u8; 8192];
    loop {
        let n = timeout(STEP, server.read(&mut buf)).await.unwrap().unwrap();
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        total += n;
    }
    assert_eq!(total, LEN);
    assert_eq!(h.finalize(), want);
    timeout(STEP, writer).await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_is_half_close() {
    let (a, b) = pair();
    let (_l, mut client, mut server) = connected(&a, &b, 10).await;
    client.write_all(b"request").await.unwrap();
    client.shutdown().await.unwrap();
    let mut got = Vec::new();
    timeout(STEP, server.read_to_end(&mut got)).await.unwrap().unwrap();
    assert_eq!(got, b"request");
    assert_eq!(client.write(b"x").await.unwrap_err().kind(), ErrorKind::BrokenPipe);
    server.write_all(b"reply").await.unwrap();
    let mut back = [0u8; 5];
    timeout(STEP, client.read_exact(&mut back)).await.unwrap().unwrap();
    assert_eq!(&back, b"reply");
    server.shutdown().await.unwrap();
    let mut rest = Vec::new();
    timeout(STEP, client.read_to_end(&mut rest)).await.unwrap().unwrap();
    assert!(rest.is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn refused_and_reset() {
    let (a, b) = pair();
    let e = timeout(STEP, TcpStream::connect(&a, addr("10.0.0.2:1"))).await.unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");
    let (_l, mut client, server) = connected(&a, &b, 11).await;
    server.abort().unwrap();
    let mut buf = [0u8; 8];
    let e = timeout(STEP, client.read(&mut buf)).await.unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}");
}

/// Cancelling `accept` (in a select or by a timeout) loses no connection; cancelling a
/// `connect` aborts it.
#[tokio::test(flavor = "current_thread")]
async fn cancellation() {
    let (a, b) = pair();
    let listener = TcpListener::bind(&b, addr("10.0.0.2:12")).await.unwrap();
    assert!(timeout(Duration::from_millis(20), listener.accept()).await.is_err());
    let client = timeout(STEP, TcpStream::connect(&a, addr("10.0.0.2:12"))).await.unwrap().unwrap();
    let (server, _) = timeout(STEP, listener.accept()).await.unwrap().unwrap();
    assert_eq!(server.peer_addr().unwrap(), client.local_addr().unwrap());
    // A connect to a silent host, cancelled: the stack forgets it.
    let before = a.with(|st, _| st.endpoint.connection_count());
    assert!(
        timeout(Duration::from_millis(50), TcpStream::connect(&a, addr("10.0.0.3:80")))
            .await
            .is_err()
    );
    let after = a.with(|st, _| st.endpoint.connection_count());
    assert_eq!(after, before);
}

#[tokio::test(flavor = "current_thread")]
async fn bind_errors_and_reunite() {
    let (a, b) = pair();
    let _l = TcpListener::bind(&b, addr("10.0.0.2:13")).await.unwrap();
    let e = TcpListener::bind(&b, addr("10.0.0.2:13")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AddrInUse);
    let (_l2, client, _server) = connected(&a, &b, 14).await;
    let (r, w) = client.into_split();
    let client = r.reunite(w).unwrap();
    client.set_nodelay(true).unwrap();
    assert!(client.nodelay().unwrap());
    assert_eq!(client.stats().unwrap().state, synack::net::State::Established);
}

/// Two tasks accept on one listener at once: both get a connection (each waiting task is
/// registered and woken).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_accepts() {
    let (a, b) = pair();
    let listener = Arc::new(TcpListener::bind(&b, addr("10.0.0.2:16")).await.unwrap());
    let (l1, l2) = (listener.clone(), listener.clone());
    let t1 = tokio::spawn(async move { l1.accept().await.map(|(_, p)| p) });
    let t2 = tokio::spawn(async move { l2.accept().await.map(|(_, p)| p) });
    tokio::time::sleep(Duration::from_millis(20)).await; // both are waiting now
    let c1 = timeout(STEP, TcpStream::connect(&a, addr("10.0.0.2:16"))).await.unwrap().unwrap();
    let c2 = timeout(STEP, TcpStream::connect(&a, addr("10.0.0.2:16"))).await.unwrap().unwrap();
    let mut peers = vec![
        timeout(STEP, t1).await.unwrap().unwrap().unwrap(),
        timeout(STEP, t2).await.unwrap().unwrap().unwrap(),
    ];
    peers.sort();
    let mut want = vec![c1.local_addr().unwrap(), c2.local_addr().unwrap()];
    want.sort();
    assert_eq!(peers, want);
}

/// Dropping a stream with unread data resets the peer: its next read fails with
/// `ConnectionReset`, and later writes with `BrokenPipe` (the error is reported once).
#[tokio::test(flavor = "current_thread")]
async fn drop_with_unread_data_resets_peer() {
    let (a, b) = pair();
    let (_l, mut client, server) = connected(&a, &b, 17).await;
    client.write_all(b"unread").await.unwrap();
    // Wait (bounded) until the bytes sit in the server's receive buffer.
    timeout(STEP, async {
        while server.stats().unwrap().recv_queue == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .unwrap();
    drop(server);
    let mut buf = [0u8; 8];
    let e = timeout(STEP, client.read(&mut buf)).await.unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}");
    let e = client.write(b"x").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BrokenPipe, "{e}");
}

/// A reader parked on an idle connection is woken by data arriving later (current-thread
/// runtime: the wake-up must come from the driver thread's event hook).
#[tokio::test(flavor = "current_thread")]
async fn parked_reader_is_woken_by_later_data() {
    let (a, b) = pair();
    let (_l, mut client, mut server) = connected(&a, &b, 18).await;
    let reader = tokio::spawn(async move {
        let mut buf = [0u8; 5];
        server.read_exact(&mut buf).await.map(|_| buf)
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    client.write_all(b"later").await.unwrap();
    let got = timeout(STEP, reader).await.unwrap().unwrap().unwrap();
    assert_eq!(&got, b"later");
}

/// The application's own event hook (set through `synack::tokio::set_event_hook`) sees the
/// events, and the async sockets keep working beside it.
#[tokio::test(flavor = "current_thread")]
async fn user_hook_chains_with_wakers() {
    let (a, b) = pair();
    let seen = Arc::new(AtomicUsize::new(0));
    let s2 = seen.clone();
    synack::tokio::set_event_hook(
        &a,
        Some(Box::new(move |ev| {
            if matches!(ev, synack::Event::Connected(_)) {
                s2.fetch_add(1, Ordering::Relaxed);
            }
        })),
    );
    let (_l, mut client, mut server) = connected(&a, &b, 19).await;
    assert_eq!(seen.load(Ordering::Relaxed), 1);
    server.write_all(b"hooked").await.unwrap();
    let mut buf = [0u8; 6];
    timeout(STEP, client.read_exact(&mut buf)).await.unwrap().unwrap();
    assert_eq!(&buf, b"hooked");
    synack::tokio::set_event_hook(&a, None);
}
