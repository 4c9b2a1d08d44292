//! The socket API: runtime stacks (a driver thread each) on the same in-memory link, against
//! the engine alone.

use super::*;
use std::io::{Read, Write};
use std::sync::Arc;
use synack::net::memory_pair_with;
use synack::{Stack, StackConfig};

/// Two runtime stacks on an ideal in-memory link with the same device, endpoint and buffer
/// settings as the engine's bulk benchmark ([`synack_pair`]).
pub fn pair(mtu: usize) -> (Arc<Stack>, Arc<Stack>) {
    let caps = DeviceCaps { mtu, max_batch: 64, ..DeviceCaps::default() };
    let cfg = |addr: &str, seed: u64| StackConfig {
        addresses: vec![IpCidr::new(addr.parse().unwrap(), 8).unwrap()],
        rng_seed: seed,
        endpoint: EndpointConfig {
            mtu,
            conn: ConnConfig { send_buffer: BUF, recv_buffer: BUF, ..ConnConfig::default() },
            ..EndpointConfig::default()
        },
        ..StackConfig::default()
    };
    memory_pair_with(Link::ideal(caps, 65536), cfg("10.0.0.1", 1), cfg("10.0.0.2", 2))
        .expect("two stacks on the in-memory link")
}

/// Payload Gbit/s moving `bytes` from a blocking `TcpStream` on one stack to one on the
/// other (64 KiB writes, 256 KiB reads, each side on its own thread), timed at the
/// receiver from accept to end of stream.
pub(super) fn blocking(mtu: usize, bytes: usize) -> f64 {
    let (a, b) = pair(mtu);
    let gbps = blocking_on(&a, &b, 5001, bytes);
    drop(a);
    gbps
}

/// The transfer of [`blocking`] between two running stacks, to `port` on `b`.
fn blocking_on(a: &Arc<Stack>, b: &Arc<Stack>, port: u16, bytes: usize) -> f64 {
    let to = std::net::SocketAddr::from(([10, 0, 0, 2], port));
    let listener = synack::net::TcpListener::bind(b, to).expect("bind");
    // The sending stack lives on in the caller until everything arrived: the writer's last
    // reference to it goes with its stream, right after the last write.
    let sender = a.clone();
    let writer = std::thread::spawn(move || {
        let mut c = synack::net::TcpStream::connect(&sender, to).expect("connect");
        let chunk = vec![0x5au8; 64 * 1024];
        let mut sent = 0;
        while sent < bytes {
            let n = (bytes - sent).min(chunk.len());
            c.write_all(&chunk[..n]).expect("write");
            sent += n;
        }
    });
    let (mut s, _) = listener.accept().expect("accept");
    let start = wall();
    let mut buf = vec![0u8; 256 * 1024];
    let mut got = 0;
    loop {
        match s.read(&mut buf).expect("read") {
            0 => break,
            n => got += n,
        }
    }
    let secs = wall().duration_since(start).as_secs_f64();
    writer.join().expect("writer thread");
    assert_eq!(got, bytes, "every byte arrived");
    got as f64 * 8.0 / secs / 1e9
}

/// [`blocking`] while `idle` other connections on the same two stacks each have a thread
/// blocked in `read` on the receiving stack (nothing arrives for them). Returns the
/// transfer's Gbit/s and its Gbit per CPU second of the whole process, counted over the
/// transfer only (not the set-up of the idle connections): with waking per socket, neither
/// moves with `idle`.
pub(super) fn blocking_idle(mtu: usize, bytes: usize, idle: usize) -> (f64, f64) {
    let (a, b) = pair(mtu);
    let listener = synack::net::TcpListener::bind(&b, "10.0.0.2:5002").expect("bind");
    let mut clients = Vec::with_capacity(idle);
    let mut readers = Vec::with_capacity(idle);
    for _ in 0..idle {
        clients.push(synack::net::TcpStream::connect(&a, "10.0.0.2:5002").expect("connect idle"));
        let (mut s, _) = listener.accept().expect("accept idle");
        let t = std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || {
                // Blocks until the client goes at the end: then end of stream.
                let _ = s.read(&mut [0u8; 16]);
            })
            .expect("idle reader thread");
        readers.push(t);
    }
    // Every reader blocked in its `read` before the clock starts (at most 60 s: a slow
    // machine only makes the figure count some set-up).
    let t0 = wall();
    while b.with(|st, _| st.waiting()) < idle && wall().duration_since(t0).as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let cpu0 = process_cpu_secs();
    let gbps = blocking_on(&a, &b, 5003, bytes);
    let cpu = process_cpu_secs() - cpu0;
    drop(clients);
    for t in readers {
        t.join().expect("idle reader");
    }
    (gbps, if cpu > 0.0 { bytes as f64 * 8.0 / cpu / 1e9 } else { 0.0 })
}

/// The same through the tokio streams, each side on its own current-thread runtime.
pub(super) fn tokio(mtu: usize, bytes: usize) -> f64 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (a, b) = pair(mtu);
    let rt = || tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let listener =
        rt().block_on(synack::tokio::TcpListener::bind(&b, "10.0.0.2:5001")).expect("bind");
    let sender = a.clone();
    let writer = std::thread::spawn(move || {
        rt().block_on(async move {
            let mut c =
                synack::tokio::TcpStream::connect(&sender, "10.0.0.2:5001").await.expect("connect");
            let chunk = vec![0x5au8; 64 * 1024];
            let mut sent = 0;
            while sent < bytes {
                let n = (bytes - sent).min(chunk.len());
                c.write_all(&chunk[..n]).await.expect("write");
                sent += n;
            }
            c.shutdown().await.expect("shutdown");
        })
    });
    let (got, secs) = rt().block_on(async move {
        let (mut s, _) = listener.accept().await.expect("accept");
        let start = wall();
        let mut buf = vec![0u8; 256 * 1024];
        let mut got = 0;
        loop {
            match s.read(&mut buf).await.expect("read") {
                0 => break,
                n => got += n,
            }
        }
        (got, wall().duration_since(start).as_secs_f64())
    });
    writer.join().expect("writer thread");
    drop(a);
    assert_eq!(got, bytes, "every byte arrived");
    got as f64 * 8.0 / secs / 1e9
}
