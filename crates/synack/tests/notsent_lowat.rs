//! `TCP_NOTSENT_LOWAT` through both APIs (`set_notsent_lowat`) between two stacks on the
//! in-memory link: a writer facing a peer that does not read keeps at most the mark unsent,
//! while without it the send buffer fills; once the peer reads, blocked writes and `writable()`
//! wake and every byte arrives.

use std::io::{ErrorKind, Read, Write};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use synack::Stack;
use synack::net::{ConnConfig, TcpListener, TcpStream};

mod common;
use common::{STEP, addr, data, pair};

const LOWAT: u32 = 16_000;

/// The server's receive buffer: small, so a peer that does not read stops the flow early.
fn server_config() -> ConnConfig {
    ConnConfig { recv_buffer: 32 * 1024, ..ConnConfig::default() }
}

fn connected(a: &Arc<Stack>, b: &Arc<Stack>, port: u16) -> (TcpListener, TcpStream, TcpStream) {
    let at = addr(&format!("10.0.0.2:{port}"));
    let listener = TcpListener::bind_with(b, at, 4, Some(server_config())).unwrap();
    let client = TcpStream::connect_timeout(a, &at, STEP).unwrap();
    let (server, _) = listener.accept_timeout(STEP).unwrap();
    for s in [&client, &server] {
        s.set_read_timeout(Some(STEP)).unwrap();
        s.set_write_timeout(Some(STEP)).unwrap();
    }
    (listener, client, server)
}

/// Bytes written and not yet sent.
fn unsent(s: &TcpStream) -> usize {
    let st = s.stats().unwrap();
    let in_flight = st.snd_nxt.0.wrapping_sub(st.snd_una.0) as usize;
    st.send_queue.saturating_sub(in_flight)
}

/// Writes without blocking until the stream has taken nothing for a while (the peer's window
/// is full and the sender settled); returns the bytes taken.
fn fill(s: &mut TcpStream) -> usize {
    s.set_nonblocking(true).unwrap();
    let chunk = [7u8; 8192];
    let (mut total, mut idle) = (0, 0);
    while idle < 10 {
        match s.write(&chunk) {
            Ok(n) => {
                total += n;
                idle = 0;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                idle += 1;
                thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("{e}"),
        }
        assert!(total < 64 << 20, "the writer never stopped");
    }
    s.set_nonblocking(false).unwrap();
    total
}

#[test]
fn the_mark_bounds_unsent_data_and_a_blocked_writer_wakes() {
    let (a, b) = pair();
    let (_l, mut client, mut server) = connected(&a, &b, 80);
    assert_eq!(client.notsent_lowat().unwrap(), None);
    client.set_notsent_lowat(Some(LOWAT)).unwrap();
    assert_eq!(client.notsent_lowat().unwrap(), Some(LOWAT));
    let taken = fill(&mut client);
    let left = unsent(&client);
    assert!(left > 0 && left <= LOWAT as usize, "unsent {left}");
    // The server's window and the mark: far less than the send buffer would have taken.
    assert!(taken < 32 * 1024 + LOWAT as usize + 8192, "took {taken}");

    // The reader drains everything; a blocking write larger than the mark goes through.
    let big = data(1 << 20, 3);
    let expect = taken + big.len();
    let reader = thread::spawn(move || {
        let mut got = 0;
        let mut buf = vec![0u8; 65536];
        while got < expect {
            let n = server.read(&mut buf).unwrap();
            assert!(n > 0, "early end after {got}");
            got += n;
        }
        got
    });
    client.write_all(&big).unwrap();
    assert!(unsent(&client) <= LOWAT as usize);
    assert_eq!(reader.join().unwrap(), expect);
}

#[test]
fn without_the_mark_the_send_buffer_fills() {
    let (a, b) = pair();
    let (_l, mut client, _server) = connected(&a, &b, 81);
    fill(&mut client);
    assert!(unsent(&client) > 4 * LOWAT as usize, "unsent {}", unsent(&client));
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_writable_waits_for_half_the_mark() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::time::timeout;
    let (a, b) = pair();
    let at = addr("10.0.0.2:82");
    let listener = synack::tokio::TcpListener::bind_with(&b, at, 4, Some(server_config())).unwrap();
    let mut client =
        timeout(STEP, synack::tokio::TcpStream::connect(&a, at)).await.unwrap().unwrap();
    let (mut server, _) = timeout(STEP, listener.accept()).await.unwrap().unwrap();
    client.set_notsent_lowat(Some(LOWAT)).unwrap();
    assert_eq!(client.notsent_lowat().unwrap(), Some(LOWAT));
    // Fill: poll_write returns Pending once the mark (and the peer's window) hold the data.
    let chunk = [9u8; 8192];
    let mut taken = 0usize;
    while let Ok(r) = timeout(Duration::from_millis(200), client.write(&chunk)).await {
        taken += r.unwrap();
    }
    let st = client.stats().unwrap();
    let unsent = st.send_queue - st.snd_nxt.0.wrapping_sub(st.snd_una.0) as usize;
    assert!(unsent <= LOWAT as usize, "unsent {unsent}");
    // Not writable while the peer reads nothing.
    assert!(timeout(Duration::from_millis(100), client.writable()).await.is_err());
    // The peer reads: writable comes, and the rest of a large write gets through.
    let big = data(512 * 1024, 5);
    let expect = taken + big.len();
    let reader = tokio::spawn(async move {
        let mut got = 0;
        let mut buf = vec![0u8; 65536];
        while got < expect {
            let n = server.read(&mut buf).await.unwrap();
            assert!(n > 0);
            got += n;
        }
        got
    });
    timeout(STEP, client.writable()).await.unwrap().unwrap();
    timeout(STEP, client.write_all(&big)).await.unwrap().unwrap();
    assert_eq!(timeout(STEP, reader).await.unwrap().unwrap(), expect);
}
