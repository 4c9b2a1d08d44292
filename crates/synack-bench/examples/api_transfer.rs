//! One transfer of the socket-API benchmark on its own, for profilers: `blocking` or `tokio`
//! streams, N MiB (default 256), printing Gbit/s, Gbit per CPU second and both stacks'
//! `DriverStats`. CPU time comes from `/proc/self/stat` (10 ms ticks), not a clock call, so
//! the program also runs under valgrind:
//!
//! ```text
//! cargo build --release -p synack-bench --example api_transfer
//! perf stat -e context-switches target/release/examples/api_transfer blocking 256
//! valgrind --tool=callgrind target/release/examples/api_transfer tokio 64
//! ```
use std::io::{Read, Write};

/// CPU seconds of the whole process so far (every thread, exited ones included).
fn cpu() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap();
    let f: Vec<&str> = s.rsplit(')').next().unwrap().split_whitespace().collect();
    (f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()) / 100.0
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "blocking".into());
    assert!(mode == "blocking" || mode == "tokio", "usage: api_transfer blocking|tokio [MiB]");
    let bytes: usize = std::env::args().nth(2).map(|s| s.parse().unwrap()).unwrap_or(256) << 20;
    let (a, b) = synack_bench::api::pair(1500);
    let c0 = cpu();
    #[allow(clippy::disallowed_methods)]
    let t0 = std::time::Instant::now();
    if mode == "blocking" {
        let to = std::net::SocketAddr::from(([10, 0, 0, 2], 5001));
        let listener = synack::net::TcpListener::bind(&b, to).unwrap();
        let sender = a.clone();
        let w = std::thread::spawn(move || {
            let mut c = synack::net::TcpStream::connect(&sender, to).unwrap();
            let chunk = vec![0x5au8; 64 * 1024];
            let mut sent = 0;
            while sent < bytes {
                let n = (bytes - sent).min(chunk.len());
                c.write_all(&chunk[..n]).unwrap();
                sent += n;
            }
        });
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 256 * 1024];
        let mut got = 0;
        loop {
            match s.read(&mut buf).unwrap() {
                0 => break,
                n => got += n,
            }
        }
        w.join().unwrap();
        assert_eq!(got, bytes);
    } else {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let rt = || tokio::runtime::Builder::new_current_thread().build().unwrap();
        let listener =
            rt().block_on(synack::tokio::TcpListener::bind(&b, "10.0.0.2:5001")).unwrap();
        let sender = a.clone();
        let w = std::thread::spawn(move || {
            rt().block_on(async move {
                let mut c =
                    synack::tokio::TcpStream::connect(&sender, "10.0.0.2:5001").await.unwrap();
                let chunk = vec![0x5au8; 64 * 1024];
                let mut sent = 0;
                while sent < bytes {
                    let n = (bytes - sent).min(chunk.len());
                    c.write_all(&chunk[..n]).await.unwrap();
                    sent += n;
                }
                c.shutdown().await.unwrap();
            })
        });
        let got = rt().block_on(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 256 * 1024];
            let mut got = 0;
            loop {
                match s.read(&mut buf).await.unwrap() {
                    0 => break,
                    n => got += n,
                }
            }
            got
        });
        w.join().unwrap();
        assert_eq!(got, bytes);
    }
    let secs = t0.elapsed().as_secs_f64();
    let c = cpu() - c0;
    let sa = a.with(|st, _| st.stats());
    let sb = b.with(|st, _| st.stats());
    println!(
        "{mode}: {:.2} Gbit/s wall, {:.2} Gbit per cpu s, cpu {:.2}s",
        bytes as f64 * 8.0 / secs / 1e9,
        bytes as f64 * 8.0 / c / 1e9,
        c
    );
    println!("A: {sa:?}\nB: {sb:?}");
}
