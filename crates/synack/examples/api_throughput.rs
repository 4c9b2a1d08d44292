//! Bulk transfer through the socket APIs over the in-memory link: how fast the blocking and the
//! tokio layers move bytes between two stacks (each with its own driver thread) on this
//! machine. A measurement tool, not a test.
//!
//! ```text
//! cargo run --release -p synack --example api_throughput -- [MEGABYTES]   (default 64)
//! ```

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use synack::net::{TcpListener, TcpStream, memory_pair};
use synack::{IpCidr, Stack};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CHUNK: usize = 64 * 1024;

fn stacks() -> (Arc<Stack>, Arc<Stack>) {
    let cidr = |ip: &str| IpCidr::new(ip.parse().unwrap(), 24).unwrap();
    memory_pair(cidr("10.0.0.1"), cidr("10.0.0.2")).expect("stacks start")
}

fn blocking(total: usize) -> f64 {
    let (a, b) = stacks();
    let addr: SocketAddr = "10.0.0.2:5001".parse().unwrap();
    let listener = TcpListener::bind(&b, addr).unwrap();
    let sink = thread::spawn(move || {
        let (mut s, _) = listener.accept_timeout(Duration::from_secs(5)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut buf = vec![0u8; CHUNK];
        let mut n = 0usize;
        loop {
            match s.read(&mut buf).unwrap() {
                0 => break n,
                k => n += k,
            }
        }
    });
    let mut c = TcpStream::connect_timeout(&a, &addr, Duration::from_secs(5)).unwrap();
    c.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    let buf = vec![0x5au8; CHUNK];
    let start = a.now();
    let mut sent = 0;
    while sent < total {
        let k = CHUNK.min(total - sent);
        c.write_all(&buf[..k]).unwrap();
        sent += k;
    }
    c.shutdown(Shutdown::Write).unwrap();
    let got = sink.join().unwrap();
    assert_eq!(got, total);
    a.now().saturating_since(start).as_secs_f64()
}

fn tokio_bulk(total: usize) -> f64 {
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async move {
        let (a, b) = stacks();
        let addr: SocketAddr = "10.0.0.2:5002".parse().unwrap();
        let listener = synack::tokio::TcpListener::bind(&b, addr).await.unwrap();
        let sink = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; CHUNK];
            let mut n = 0usize;
            loop {
                match s.read(&mut buf).await.unwrap() {
                    0 => break n,
                    k => n += k,
                }
            }
        });
        let mut c = synack::tokio::TcpStream::connect(&a, addr).await.unwrap();
        let buf = vec![0x5au8; CHUNK];
        let start = a.now();
        let mut sent = 0;
        while sent < total {
            let k = CHUNK.min(total - sent);
            c.write_all(&buf[..k]).await.unwrap();
            sent += k;
        }
        c.shutdown().await.unwrap();
        let got = sink.await.unwrap();
        assert_eq!(got, total);
        a.now().saturating_since(start).as_secs_f64()
    })
}

fn main() {
    let mb: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(64);
    let total = mb * 1024 * 1024;
    for (name, f) in [("blocking", blocking as fn(usize) -> f64), ("tokio", tokio_bulk)] {
        let t = f(total);
        let gbit = total as f64 * 8.0 / t / 1e9;
        println!("{name:9} {mb} MiB in {t:.3} s = {gbit:.2} Gbit/s ({:.0} MiB/s)", mb as f64 / t);
    }
}
