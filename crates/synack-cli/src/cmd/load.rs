//! `synack load`: holds many concurrent echo connections against a synack server and measures
//! whether new ones are still served quickly, and whether memory comes back afterwards.
//!
//! In memory (the default) it builds two stacks joined by the in-memory link in this process,
//! runs `synack serve`'s echo server (the same code, `crate::server`) on one and the clients
//! on the other. With `--target` the clients are kernel sockets (tokio's) connecting to a
//! running `synack serve echo`, e.g. from inside the namespace its TUN device lives in.
//!
//! Phases: probes with nothing held (the reference), `--conns` connections opened (greeting,
//! one echoed line each) and held, probes again while they are held, then every held
//! connection says `bye` and closes; memory is read at each step. A probe is one new
//! connection timed from `connect` to the echo of its first line.

// Real sockets need real time: the probes and waits here read the wall clock.
#![allow(clippy::disallowed_methods)]

use std::io::{self, ErrorKind};
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use stats_alloc::Region;
use synack::net::{MEMORY_QUEUE_FRAMES, MemoryEnd};
use synack::{Clock, IpCidr, Stack, StackConfig};
use synack_stack::DeviceCaps;
use synack_stack::phy::Link;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{Semaphore, watch};

use crate::server::{self, Counters, Policy};
use crate::services::Kind;

/// Arguments of `synack load`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Connections to open and hold.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    conns: u32,
    /// Timed new connections, before and while the others are held.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    probes: u32,
    /// Connections being opened (and, at the end, closed) at once.
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    parallel: u32,
    /// Server ports (one ephemeral port range holds about 64,000 connections to one port).
    /// In memory the server listens on 7, 8, ...; with --target, the target's port and the
    /// ports after it.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    ports: u16,
    /// Seconds to wait for the memory to settle once the held connections are gone (their
    /// tasks ended, TIME-WAIT over): the engine keeps what a peak's connections left for
    /// reuse for 10 s, the in-memory server looks every second whether memory can go back.
    #[arg(long, value_name = "SECS", default_value_t = 12)]
    settle: u64,
    /// Maximum segment lifetime of both in-memory stacks, in seconds (TIME-WAIT lasts two):
    /// short, so closed connections are gone before memory is read.
    #[arg(long, value_name = "SECS", default_value_t = 1)]
    msl: u64,
    /// A running echo server to load with kernel sockets instead of the in-memory pair.
    #[arg(long, value_name = "ADDR:PORT")]
    target: Option<SocketAddr>,
    /// With --target: local addresses to spread the connections over (each has its own
    /// ephemeral port range), comma-separated.
    #[arg(long, value_name = "A,B,...", value_delimiter = ',')]
    sources: Vec<IpAddr>,
    /// Print one JSON object instead of the report.
    #[arg(long)]
    json: bool,
}

/// A byte stream the clients use: a synack tokio stream or a kernel one.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// Where the clients connect.
enum Target {
    /// The client stack of the in-memory pair, and the server's addresses.
    Memory(Arc<Stack>, Vec<SocketAddr>),
    /// Kernel sockets to these addresses, from these local addresses (none: the kernel picks).
    Kernel(Vec<SocketAddr>, Vec<IpAddr>),
}

impl Target {
    async fn connect(&self, i: u64) -> io::Result<Box<dyn Stream>> {
        match self {
            Target::Memory(stack, addrs) => {
                let a = addrs[(i % addrs.len() as u64) as usize];
                Ok(Box::new(synack::tokio::TcpStream::connect(stack, a).await?))
            }
            Target::Kernel(addrs, sources) => {
                let a = addrs[(i % addrs.len() as u64) as usize];
                let sock = if a.is_ipv4() {
                    tokio::net::TcpSocket::new_v4()?
                } else {
                    tokio::net::TcpSocket::new_v6()?
                };
                if !sources.is_empty() {
                    let s = sources[((i / addrs.len() as u64) % sources.len() as u64) as usize];
                    sock.bind(SocketAddr::new(s, 0))?;
                }
                Ok(Box::new(sock.connect(a).await?))
            }
        }
    }
}

/// Reads until `n` newlines have arrived; fails on the end of the stream before that.
async fn read_lines(s: &mut dyn Stream, mut n: usize) -> io::Result<()> {
    let mut buf = [0u8; 64];
    while n > 0 {
        let got = s.read(&mut buf).await?;
        if got == 0 {
            return Err(ErrorKind::UnexpectedEof.into());
        }
        n -= buf[..got].iter().filter(|&&b| b == b'\n').count().min(n);
    }
    Ok(())
}

/// Opens a connection and has one line echoed: the greeting, `ping`, `Echo: ping`.
async fn open(t: &Target, i: u64) -> io::Result<Box<dyn Stream>> {
    let mut s = t.connect(i).await?;
    read_lines(&mut *s, 1).await?;
    s.write_all(b"ping\n").await?;
    read_lines(&mut *s, 1).await?;
    Ok(s)
}

/// Says `bye` and reads to the end of the stream (the server closes first).
async fn close(mut s: Box<dyn Stream>) -> io::Result<()> {
    s.write_all(b"bye\n").await?;
    let mut buf = [0u8; 64];
    while s.read(&mut buf).await? > 0 {}
    s.shutdown().await
}

/// Times `n` probes one after another; returns the latencies in microseconds, sorted, and the
/// number that failed (a failure waits no longer than `limit`).
async fn probe(t: &Target, n: u32, first: u64, limit: Duration) -> (Vec<u64>, u32) {
    let mut lat = Vec::with_capacity(n as usize);
    let mut failed = 0;
    for i in 0..n {
        let t0 = Instant::now();
        match tokio::time::timeout(limit, open(t, first + u64::from(i))).await {
            Ok(Ok(s)) => {
                lat.push(t0.elapsed().as_micros() as u64);
                let _ = tokio::time::timeout(limit, close(s)).await;
            }
            _ => failed += 1,
        }
    }
    lat.sort_unstable();
    (lat, failed)
}

fn pct(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// A field of /proc/self/status in bytes (`VmRSS`, `RssAnon`, ...).
fn status_bytes(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// One reading of memory: resident set, its anonymous part (heap and stacks, without the
/// program's own mapped file pages), and live heap (bytes allocated and not yet freed since
/// the region started).
#[derive(Debug, Clone, Copy)]
struct Mem {
    rss: u64,
    anon: u64,
    heap: i64,
}

fn mem(region: &Region<'_, std::alloc::System>) -> Mem {
    let c = region.change();
    Mem {
        rss: status_bytes("VmRSS"),
        anon: status_bytes("RssAnon"),
        heap: c.bytes_allocated as i64 - c.bytes_deallocated as i64,
    }
}

/// The in-memory pair: client and server stacks, the server on `ports` ports.
fn memory_stacks(
    conns: u32,
    probes: u32,
    msl: Duration,
) -> anyhow::Result<(Arc<Stack>, Arc<Stack>)> {
    let cidr = |s: &str| IpCidr::new(s.parse().expect("address"), 24).expect("prefix");
    let cfg = |addr: &str, seed: u64| {
        // As `synack serve`'s stacks: the drivers run every pass (`StackConfig::caller_passes`).
        let mut c = StackConfig {
            addresses: vec![cidr(addr)],
            rng_seed: seed,
            caller_passes: false,
            ..StackConfig::default()
        };
        c.endpoint.max_connections = (conns as usize + 2 * probes as usize) * 2 + 1024;
        c.endpoint.ephemeral_ports = (1024, 65535);
        c.endpoint.msl = msl;
        c
    };
    let link = Link::ideal(DeviceCaps::default(), MEMORY_QUEUE_FRAMES);
    let clock = Clock::start();
    let client = Stack::new(MemoryEnd(link.0), cfg("10.0.0.1", 1), clock)?;
    let server = Stack::new(MemoryEnd(link.1), cfg("10.0.0.2", 2), clock)?;
    Ok((Arc::new(client), Arc::new(server)))
}

/// Engine connections (any state, TIME-WAIT included) on a stack.
fn engine_conns(stack: &Stack) -> usize {
    stack.with(|st, _| st.endpoint.connection_count())
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let rt = super::serve::runtime()?;
    let region = Region::new(crate::ALLOCATOR);
    let stop = watch::Sender::new(false);
    let counters = Arc::new(Counters::default());
    let mut stacks = None;
    let target = match args.target {
        Some(t) => {
            let addrs = (0..args.ports).map(|i| SocketAddr::new(t.ip(), t.port() + i)).collect();
            Target::Kernel(addrs, args.sources.clone())
        }
        None => {
            let (client, server) =
                memory_stacks(args.conns, args.probes, Duration::from_secs(args.msl))?;
            let policy = Policy { verbose: false, backlog: 4096, ..Policy::default() };
            let mut addrs = Vec::new();
            for i in 0..args.ports {
                let a = SocketAddr::new("10.0.0.2".parse()?, 7 + i);
                let l = rt.block_on(async { server::listen(&server, a, &policy) })?;
                let (rx, c) = (stop.subscribe(), counters.clone());
                rt.spawn(server::accept_loop(l, Kind::Echo, policy, rx, None, c));
                addrs.push(a);
            }
            let both = vec![client.clone(), server.clone()];
            rt.spawn(server::trim_after_peaks(Duration::from_secs(1), both));
            stacks = Some((client.clone(), server));
            Target::Memory(client, addrs)
        }
    };
    let target = Arc::new(target);
    let limit = Duration::from_secs(10);
    let report = rt.block_on(async {
        let (idle_lat, idle_failed) = probe(&target, args.probes, 0, limit).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let base = mem(&region);

        // Open and hold.
        let t0 = Instant::now();
        let gate = Arc::new(Semaphore::new(args.parallel as usize));
        let (release_tx, _) = watch::channel(false);
        let release_tx = Arc::new(release_tx);
        let (opened, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let mut holders = tokio::task::JoinSet::new();
        for i in 0..args.conns {
            let permit = gate.clone().acquire_owned().await.expect("semaphore open");
            let (t, mut rel, gate) = (target.clone(), release_tx.subscribe(), gate.clone());
            let (opened, failed) = (opened.clone(), failed.clone());
            holders.spawn(async move {
                let s = tokio::time::timeout(limit, open(&t, 1_000_000 + u64::from(i))).await;
                drop(permit);
                let Ok(Ok(s)) = s else {
                    failed.fetch_add(1, Ordering::Relaxed);
                    return false;
                };
                opened.fetch_add(1, Ordering::Relaxed);
                let _ = rel.wait_for(|r| *r).await;
                // Closing goes through the same gate as opening: `--parallel` at a time.
                let _permit = gate.acquire().await.expect("semaphore open");
                tokio::time::timeout(limit, close(s)).await.is_ok_and(|r| r.is_ok())
            });
        }
        let all = gate.acquire_many(args.parallel).await.expect("semaphore open");
        let open_secs = t0.elapsed().as_secs_f64();
        let held = mem(&region);
        let held_server = counters.active();

        let (load_lat, load_failed) = probe(&target, args.probes, 10_000_000, limit).await;

        // Release: every held connection says bye and closes.
        let t1 = Instant::now();
        release_tx.send_replace(true);
        drop(all);
        let mut closed_ok = 0u64;
        while let Some(r) = holders.join_next().await {
            closed_ok += u64::from(r.unwrap_or(false));
        }
        let close_secs = t1.elapsed().as_secs_f64();
        // TIME-WAIT (2 MSL) and the server's tasks end; then memory settles.
        let deadline = Instant::now() + Duration::from_secs(2 * args.msl + args.settle);
        while Instant::now() < deadline {
            let busy = stacks.as_ref().is_some_and(|(c, s)| engine_conns(c) + engine_conns(s) > 0);
            if !busy && counters.active() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_secs(args.settle)).await;
        let after = mem(&region);
        let left = stacks.as_ref().map(|(c, s)| (engine_conns(c), engine_conns(s)));
        Report {
            conns: args.conns,
            opened: opened.load(Ordering::Relaxed),
            open_failed: failed.load(Ordering::Relaxed),
            open_secs,
            held_server,
            closed_ok,
            close_secs,
            idle_lat,
            idle_failed,
            load_lat,
            load_failed,
            base,
            held,
            after,
            left,
        }
    });
    stop.send_replace(true);
    drop(rt);
    if let Some((c, s)) = stacks {
        super::super::tunhost::finish(c);
        super::super::tunhost::finish(s);
    }
    print!("{}", report.render(args.json, args.target.is_some()));
    let ok = report.opened == u64::from(args.conns) && report.load_failed == 0;
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

/// What one run measured.
struct Report {
    conns: u32,
    opened: u64,
    open_failed: u64,
    open_secs: f64,
    held_server: u64,
    closed_ok: u64,
    close_secs: f64,
    idle_lat: Vec<u64>,
    idle_failed: u32,
    load_lat: Vec<u64>,
    load_failed: u32,
    base: Mem,
    held: Mem,
    after: Mem,
    left: Option<(usize, usize)>,
}

impl Report {
    fn render(&self, json: bool, kernel: bool) -> String {
        let ms = |us: u64| us as f64 / 1000.0;
        let (i50, i99) = (pct(&self.idle_lat, 0.5), pct(&self.idle_lat, 0.99));
        let (l50, l99) = (pct(&self.load_lat, 0.5), pct(&self.load_lat, 0.99));
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        let per_conn = if self.opened > 0 {
            (self.held.heap - self.base.heap) as f64 / self.opened as f64
        } else {
            0.0
        };
        let rss_ratio = self.after.rss as f64 / self.base.rss.max(1) as f64;
        if json {
            return format!(
                concat!(
                    "{{\"mode\":\"{}\",\"conns\":{},\"opened\":{},\"open_failed\":{},",
                    "\"open_per_s\":{:.0},\"held_by_server\":{},\"closed_ok\":{},",
                    "\"probe_idle_p50_ms\":{:.3},\"probe_idle_p99_ms\":{:.3},\"probe_idle_failed\":{},",
                    "\"probe_loaded_p50_ms\":{:.3},\"probe_loaded_p99_ms\":{:.3},",
                    "\"probe_loaded_max_ms\":{:.3},\"probe_loaded_failed\":{},",
                    "\"rss_base\":{},\"rss_held\":{},\"rss_after\":{},\"rss_after_ratio\":{:.3},",
                    "\"rss_anon_base\":{},\"rss_anon_after\":{},",
                    "\"heap_base\":{},\"heap_held\":{},\"heap_after\":{},\"heap_per_conn\":{:.0}}}\n"
                ),
                if kernel { "kernel" } else { "memory" },
                self.conns,
                self.opened,
                self.open_failed,
                self.opened as f64 / self.open_secs.max(1e-9),
                self.held_server,
                self.closed_ok,
                ms(i50),
                ms(i99),
                self.idle_failed,
                ms(l50),
                ms(l99),
                ms(self.load_lat.last().copied().unwrap_or(0)),
                self.load_failed,
                self.base.rss,
                self.held.rss,
                self.after.rss,
                rss_ratio,
                self.base.anon,
                self.after.anon,
                self.base.heap,
                self.held.heap,
                self.after.heap,
                per_conn,
            );
        }
        let mut out = String::new();
        out += &format!(
            "held: {} of {} connections opened ({} failed) in {:.1} s ({:.0}/s); the server held {}\n",
            self.opened,
            self.conns,
            self.open_failed,
            self.open_secs,
            self.opened as f64 / self.open_secs.max(1e-9),
            if kernel { "-".to_string() } else { self.held_server.to_string() },
        );
        out += &format!(
            "new connection to echo, nothing held: p50 {:.2} ms, p99 {:.2} ms ({} probes, {} failed)\n",
            ms(i50),
            ms(i99),
            self.idle_lat.len(),
            self.idle_failed
        );
        out += &format!(
            "new connection to echo, {} held: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} probes, {} failed); p99 ratio loaded/idle {:.2}\n",
            self.opened,
            ms(l50),
            ms(l99),
            ms(self.load_lat.last().copied().unwrap_or(0)),
            self.load_lat.len(),
            self.load_failed,
            l99 as f64 / i99.max(1) as f64
        );
        out += &format!(
            "closed: {} of {} said bye and saw the end of stream in {:.1} s\n",
            self.closed_ok, self.opened, self.close_secs
        );
        out += &format!(
            "memory: RSS {:.1} MiB before, {:.1} MiB held, {:.1} MiB after ({:.3} of before; \
             anonymous {:.1} MiB before, {:.1} MiB after); \
             live heap {:.1} MiB held ({per_conn:.0} bytes per connection, both ends), {:.2} MiB after\n",
            mib(self.base.rss),
            mib(self.held.rss),
            mib(self.after.rss),
            rss_ratio,
            mib(self.base.anon),
            mib(self.after.anon),
            (self.held.heap - self.base.heap) as f64 / (1024.0 * 1024.0),
            (self.after.heap - self.base.heap) as f64 / (1024.0 * 1024.0),
        );
        if let Some((c, s)) = self.left {
            out += &format!("engine connections left: client {c}, server {s}\n");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(pct(&v, 0.5), 51);
        assert_eq!(pct(&v, 0.99), 99);
        assert_eq!(pct(&[], 0.99), 0);
    }
}
