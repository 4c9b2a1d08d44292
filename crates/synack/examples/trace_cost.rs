//! What the `tracing` events cost, on two workloads between two stacks on the in-memory link
//! through the blocking API: a bulk transfer (few events: the cost on the data path) and
//! connection churn (open, one exchange, close: several events per connection). Each runs with
//! no subscriber, with one that keeps the operator's events (INFO: connections, resets) and
//! with one that takes everything down to TRACE (every state change, drops), both formatting
//! into a sink. Rounds alternate between the modes so drift hits all alike; prints each mode's
//! median wall time and median CPU time (user + system, all threads: the stack's drivers and
//! the application; the figure to trust on a loaded machine) and their ratios to "no
//! subscriber".
//!
//! ```text
//! cargo run --release -p synack --example trace_cost -- [MEGABYTES_PER_ROUND] [ROUNDS] [CONNECTIONS]
//! ```

use std::io::{Read, Write};

use synack::IpCidr;
use synack::net::{TcpListener, TcpStream, memory_pair};
use tracing::Level;

/// One transfer of `bytes` on a fresh pair of stacks, connections open and close included;
/// returns the seconds it took.
#[allow(clippy::disallowed_methods)] // a benchmark measures real time
fn round(bytes: usize) -> f64 {
    let cidr = |s: &str| IpCidr::new(s.parse().unwrap(), 24).unwrap();
    let (a, b) = memory_pair(cidr("10.0.0.1"), cidr("10.0.0.2")).expect("stacks");
    let l = TcpListener::bind(&b, "10.0.0.2:9").unwrap();
    let t0 = std::time::Instant::now();
    let sender = std::thread::spawn(move || {
        let mut c = TcpStream::connect(&a, "10.0.0.2:9").unwrap();
        let chunk = vec![0x5a; 256 * 1024];
        let mut left = bytes;
        while left > 0 {
            let n = left.min(chunk.len());
            c.write_all(&chunk[..n]).unwrap();
            left -= n;
        }
        c.shutdown(std::net::Shutdown::Write).unwrap();
        let _ = c.read(&mut [0u8; 1]);
    });
    let (mut s, _) = l.accept().unwrap();
    let mut buf = vec![0u8; 256 * 1024];
    let mut got = 0;
    loop {
        match s.read(&mut buf).unwrap() {
            0 => break,
            n => got += n,
        }
    }
    drop(s);
    sender.join().unwrap();
    assert_eq!(got, bytes);
    t0.elapsed().as_secs_f64()
}

/// `n` connections one after another, each sending 1 KiB and closing; returns the seconds.
#[allow(clippy::disallowed_methods)] // a benchmark measures real time
fn churn(n: usize) -> f64 {
    let cidr = |s: &str| IpCidr::new(s.parse().unwrap(), 24).unwrap();
    let (a, b) = memory_pair(cidr("10.0.0.1"), cidr("10.0.0.2")).expect("stacks");
    let l = TcpListener::bind(&b, "10.0.0.2:9").unwrap();
    let t0 = std::time::Instant::now();
    let server = std::thread::spawn(move || {
        let mut buf = [0u8; 1024];
        for _ in 0..n {
            let (mut s, _) = l.accept().unwrap();
            s.read_exact(&mut buf).unwrap();
        }
    });
    for _ in 0..n {
        let mut c = TcpStream::connect(&a, "10.0.0.2:9").unwrap();
        c.write_all(&[1u8; 1024]).unwrap();
    }
    server.join().unwrap();
    t0.elapsed().as_secs_f64()
}

/// A workload: one round, timed.
type Workload = Box<dyn Fn() -> f64>;

/// CPU seconds the process has used, all threads.
fn cpu_seconds() -> f64 {
    let mut u = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a `rusage` into the pointed-to, properly sized buffer.
    let r = unsafe { libc::getrusage(libc::RUSAGE_SELF, u.as_mut_ptr()) };
    assert_eq!(r, 0, "getrusage");
    // SAFETY: initialised by the successful call (and zeroed before it).
    let u = unsafe { u.assume_init() };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// Runs `f` once; (wall seconds, CPU seconds).
fn measure(f: &dyn Fn() -> f64) -> (f64, f64) {
    let c0 = cpu_seconds();
    let wall = f();
    (wall, cpu_seconds() - c0)
}

fn subscriber(level: Level) -> impl tracing::Subscriber + Send + Sync {
    tracing_subscriber::fmt().with_max_level(level).with_writer(std::io::sink).finish()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mb: usize = args.next().map_or(256, |a| a.parse().expect("MEGABYTES_PER_ROUND"));
    let rounds: usize = args.next().map_or(5, |a| a.parse().expect("ROUNDS"));
    let conns: usize = args.next().map_or(2000, |a| a.parse().expect("CONNECTIONS"));
    let bytes = mb << 20;
    round(bytes / 8); // warm-up
    let work: [(&str, Workload); 2] =
        [("bulk", Box::new(move || round(bytes))), ("churn", Box::new(move || churn(conns)))];
    println!("bulk: {mb} MiB per round; churn: {conns} connections per round; {rounds} rounds");
    for (name, f) in &work {
        let mut wall: [Vec<f64>; 3] = Default::default();
        let mut cpu: [Vec<f64>; 3] = Default::default();
        for _ in 0..rounds {
            let runs = [
                measure(f),
                tracing::subscriber::with_default(subscriber(Level::INFO), || measure(f)),
                tracing::subscriber::with_default(subscriber(Level::TRACE), || measure(f)),
            ];
            for (i, (w, c)) in runs.into_iter().enumerate() {
                wall[i].push(w);
                cpu[i].push(c);
            }
        }
        let median = |v: &[f64]| {
            let mut v = v.to_vec();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (w0, c0) = (median(&wall[0]), median(&cpu[0]));
        let modes = ["no subscriber", "subscriber at INFO", "subscriber at TRACE"];
        for (i, mode) in modes.iter().enumerate() {
            let (w, c) = (median(&wall[i]), median(&cpu[i]));
            println!(
                "{name:<6} {mode:<20} wall {w:>7.3} s (ratio {:.3})   cpu {c:>7.3} s (ratio {:.3})",
                w / w0,
                c / c0
            );
        }
    }
}
