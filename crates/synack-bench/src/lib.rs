//! synack's stack benchmarks, side by side with smoltcp on the same in-memory link, one thread.
//!
//! Two front ends run the same code: the `synack bench` command and the bench binary.
//!
//! ```text
//! cargo run --release -p synack-cli -- bench [--quick] [--json] [--only GROUP] [--mtu N] [--setups N]
//! cargo bench -p synack-bench --bench netbench -- [--quick] [--json] [--only GROUP] [--mtu N] [--setups N]
//! ```
//!
//! 1. bulk transfer, one connection, MTU 1500 and 65535, synack vs smoltcp (Gbit/s, ratio),
//!    with checksums computed and verified, synack again with receive checksum offload, and
//!    both stacks with checksum offload in both directions (the device computes and verifies);
//!    the machine's memcpy bandwidth in the same run as the ceiling;
//! 2. connection setup + one byte each way + close, per second;
//! 3. memory per established idle connection (RSS growth / connection ends, and the heap bytes
//!    and allocations the engine asked for, counted by an instrumented global allocator), and
//!    for 100,000;
//! 4. bulk throughput while 100,000 idle connections exist, as a ratio to without;
//! 5. bulk at MTU 1500 through the socket APIs (blocking and tokio `TcpStream`s on two
//!    runtime stacks, a driver thread each, on the same in-memory link) as a ratio to the
//!    engine's own rate measured in the same run (`--only api`), and the blocking transfer
//!    again while 1,000 threads are blocked reading idle connections of the same stacks.
//!
//! Both stacks get 256 KiB send and receive buffers. Each iteration of a bulk loop lets the
//! sender queue what fits, polls the sender's interface, polls the receiver's, and reads
//! everything; time for the TCP timers comes from the real clock.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::alloc::System;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{Value, json};
use stats_alloc::StatsAlloc;
use synack_stack::phy::{Link, LinkEnd};
use synack_stack::{ChecksumOffload, DeviceCaps, Interface, InterfaceConfig, IpCidr};
use synack_tcp::{
    ConnConfig, ConnId, Endpoint, EndpointConfig, Instant, RecvError, SendError, State,
};

const BUF: usize = 256 * 1024;

/// The benchmark's clock (the one place it reads real time).
#[allow(clippy::disallowed_methods)]
fn wall() -> std::time::Instant {
    std::time::Instant::now()
}

fn micros_since(t0: std::time::Instant) -> u64 {
    u64::try_from(wall().duration_since(t0).as_micros()).unwrap_or(u64::MAX)
}

/// Resident memory of this process in bytes (Linux), or 0 when unknown.
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()))
        .map_or(0, |pages| pages * 4096)
}

/// CPU time this process has used so far, every thread counted, exited ones included (user +
/// system, `CLOCK_PROCESS_CPUTIME_ID`, nanoseconds), in seconds.
fn process_cpu_secs() -> f64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    t.tv_sec as f64 + t.tv_nsec as f64 / 1e9
}

/// CPU time the calling thread has used so far (`/proc/thread-self/schedstat`, nanoseconds),
/// in seconds; 0 when unknown. For the one-thread benchmarks: a figure per CPU second does
/// not move with the machine's load the way a wall-clock one does.
fn thread_cpu_secs() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()))
        .map_or(0.0, |ns| ns as f64 / 1e9)
}

/// Runs `f` (a one-thread transfer of `bytes`, returning its Gbit/s) and also returns its
/// payload Gbit per CPU second of this thread.
fn with_thread_cpu(bytes: usize, f: impl FnOnce() -> f64) -> (f64, f64) {
    let c0 = thread_cpu_secs();
    let gbps = f();
    let cpu = thread_cpu_secs() - c0;
    (gbps, if cpu > 0.0 { bytes as f64 * 8.0 / cpu / 1e9 } else { 0.0 })
}

/// Runs `f` (a transfer of `bytes`, returning its Gbit/s) and also returns its payload Gbit
/// per CPU second of the whole process: what a transfer costs, whatever else the machine
/// runs (wall-clock rates of a one-thread and a four-thread transfer compare differently on
/// a loaded machine).
fn with_cpu(bytes: usize, f: impl FnOnce() -> f64) -> (f64, f64) {
    let c0 = process_cpu_secs();
    let gbps = f();
    let cpu = process_cpu_secs() - c0;
    (gbps, if cpu > 0.0 { bytes as f64 * 8.0 / cpu / 1e9 } else { 0.0 })
}

/// The instrumented system allocator (stats_alloc) that the running binary must have installed
/// as its `#[global_allocator]`: RSS growth says what the operating system gave the process,
/// allocator slack and the hash map's power-of-two capacity included; the live-bytes count says
/// what the engine asked for, and the allocation count what each connection costs the allocator
/// (setup rate). Set once by [`run`].
static GLOBAL: OnceLock<&'static StatsAlloc<System>> = OnceLock::new();

/// The installed allocator's counters, or zeros before [`run`] set it.
fn alloc_stats() -> stats_alloc::Stats {
    GLOBAL.get().map(|g| g.stats()).unwrap_or_default()
}

/// Heap bytes currently allocated (requested sizes).
fn live_bytes() -> u64 {
    let s = alloc_stats();
    (s.bytes_allocated as u64).saturating_sub(s.bytes_deallocated as u64)
}

/// Allocator calls so far (`alloc` and `realloc`).
fn allocs() -> u64 {
    let s = alloc_stats();
    (s.allocations + s.reallocations) as u64
}

// ---------------------------------------------------------------------------------------------
// synack

struct Node {
    iface: Interface,
    ep: Endpoint,
    dev: LinkEnd,
}

impl Node {
    fn poll(&mut self, now: Instant) -> bool {
        let r = self.iface.poll(now, &mut self.dev, &mut self.ep);
        r.received + r.sent > 0 || r.more
    }
}

/// Receive-side checksum offload only (the device verified IPv4 and TCP checksums).
const RX_OFFLOAD: ChecksumOffload =
    ChecksumOffload { ipv4_rx: true, tcp_rx: true, ipv4_tx: false, tcp_tx: false };

fn synack_pair(mtu: usize, offload: ChecksumOffload, msl: Duration) -> (Node, Node) {
    let caps = DeviceCaps { mtu, checksum: offload, max_batch: 64, ..DeviceCaps::default() };
    let (da, db) = Link::ideal(caps, 65536);
    let mk = |dev: LinkEnd, addr: &str, seed: u8| {
        let mut iface = Interface::new(InterfaceConfig::default());
        iface.add_address(IpCidr::new(addr.parse().unwrap(), 8).unwrap());
        let cfg = EndpointConfig {
            mtu,
            msl,
            max_connections: 1 << 20,
            syn_queue_len: 1 << 16,
            conn: ConnConfig { send_buffer: BUF, recv_buffer: BUF, ..ConnConfig::default() },
            ..EndpointConfig::default()
        };
        Node { iface, ep: Endpoint::new(cfg, [seed; 16], u64::from(seed)), dev }
    };
    (mk(da, "10.0.0.1", 1), mk(db, "10.0.0.2", 2))
}

/// Polls both nodes until neither has anything to do.
fn settle(a: &mut Node, b: &mut Node, now: Instant) {
    for _ in 0..10_000 {
        let x = a.poll(now);
        let y = b.poll(now);
        if !x && !y {
            return;
        }
    }
}

/// Opens `n` connections from a to b spread over `ports` listener ports; returns them
/// (client id, server id). Uses virtual time `now`.
fn open_many(
    a: &mut Node,
    b: &mut Node,
    now: Instant,
    n: usize,
    ports: u16,
) -> Vec<(ConnId, ConnId)> {
    let lids: Vec<_> = (0..ports)
        .map(|p| {
            b.ep.listen(SocketAddr::new("10.0.0.2".parse().unwrap(), 10_000 + p), 65_535).unwrap()
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    let mut clients = Vec::with_capacity(n);
    let local: SocketAddr = "10.0.0.1:0".parse().unwrap();
    let mut made = 0;
    while made < n {
        let batch = (n - made).min(512);
        for i in 0..batch {
            let port = 10_000 + ((made + i) % usize::from(ports)) as u16;
            let remote = SocketAddr::new("10.0.0.2".parse().unwrap(), port);
            clients.push(a.ep.connect(now, local, remote, ConnConfig::default()).expect("connect"));
        }
        made += batch;
        settle(a, b, now);
        // An application consumes its events; left alone, each endpoint's bounded queue
        // (65,536 events) would be counted as per-connection memory.
        while a.ep.poll_event().is_some() {}
        while b.ep.poll_event().is_some() {}
        for l in &lids {
            while let Some(s) = b.ep.accept(*l) {
                out.push(s);
            }
        }
    }
    for l in &lids {
        while let Some(s) = b.ep.accept(*l) {
            out.push(s);
        }
    }
    assert_eq!(out.len(), n, "not every connection was accepted");
    clients.into_iter().zip(out).collect()
}

/// Moves `bytes` from a to b on one connection; returns Gbit/s of payload.
fn synack_bulk(mtu: usize, bytes: usize, offload: ChecksumOffload, idle: usize) -> f64 {
    let (mut a, mut b) = synack_pair(mtu, offload, Duration::from_secs(60));
    let t0 = wall();
    let now = |t0| Instant::from_micros(micros_since(t0));
    if idle > 0 {
        let conns = open_many(&mut a, &mut b, now(t0), idle, 16);
        assert!(conns.iter().all(|(c, _)| a.ep.state(*c) == Ok(State::Established)));
    }
    let lid = b.ep.listen("10.0.0.2:5001".parse().unwrap(), 4).unwrap();
    let c =
        a.ep.connect(
            now(t0),
            "10.0.0.1:0".parse().unwrap(),
            "10.0.0.2:5001".parse().unwrap(),
            ConnConfig::default(),
        )
        .unwrap();
    settle(&mut a, &mut b, now(t0));
    let s = b.ep.accept(lid).expect("accepted");
    let chunk = vec![0x5au8; 64 * 1024];
    let mut rbuf = vec![0u8; 256 * 1024];
    let (mut sent, mut got) = (0usize, 0usize);
    let start = wall();
    while got < bytes {
        let t = now(t0);
        while sent < bytes {
            let n = (bytes - sent).min(chunk.len());
            match a.ep.send(c, &chunk[..n]) {
                Ok(0) => break,
                Ok(k) => sent += k,
                Err(SendError::WouldBlock) => break,
                Err(e) => panic!("send: {e:?}"),
            }
        }
        a.poll(t);
        b.poll(t);
        loop {
            match b.ep.recv(s, &mut rbuf) {
                Ok(0) | Err(RecvError::WouldBlock) => break,
                Ok(n) => got += n,
                Err(e) => panic!("recv: {e:?}"),
            }
        }
        b.poll(t);
    }
    let secs = wall().duration_since(start).as_secs_f64();
    bytes as f64 * 8.0 / secs / 1e9
}

/// Connection cycles per second (and heap allocations per cycle, both ends together):
/// connect, handshake, one byte each way, close both ends, all the way to CLOSED (TIME-WAIT
/// runs on virtual time with a 1 ms MSL).
fn synack_setup_teardown(total: usize, buffers: usize) -> (f64, f64) {
    let (mut a, mut b) = synack_pair(1500, ChecksumOffload::default(), Duration::from_millis(1));
    let small = ConnConfig { send_buffer: buffers, recv_buffer: buffers, ..ConnConfig::default() };
    let lid = b.ep.listen_with("10.0.0.2:80".parse().unwrap(), 65_535, small).unwrap();
    let server: SocketAddr = "10.0.0.2:80".parse().unwrap();
    let local: SocketAddr = "10.0.0.1:0".parse().unwrap();
    let mut now = Instant::from_secs(1);
    let mut done = 0;
    let mut buf = [0u8; 16];
    let batch = 256;
    let start = wall();
    let allocs0 = allocs();
    while done < total {
        let n = batch.min(total - done);
        let cs: Vec<ConnId> =
            (0..n).map(|_| a.ep.connect(now, local, server, small).unwrap()).collect();
        settle(&mut a, &mut b, now);
        let mut ss = Vec::with_capacity(n);
        while let Some(s) = b.ep.accept(lid) {
            ss.push(s);
        }
        assert_eq!(ss.len(), n);
        for (&c, &s) in cs.iter().zip(&ss) {
            a.ep.send(c, b"q").unwrap();
            b.ep.send(s, b"r").unwrap();
        }
        settle(&mut a, &mut b, now);
        for (&c, &s) in cs.iter().zip(&ss) {
            assert_eq!(a.ep.recv(c, &mut buf), Ok(1));
            assert_eq!(b.ep.recv(s, &mut buf), Ok(1));
            a.ep.close(c).unwrap();
        }
        settle(&mut a, &mut b, now);
        for &s in &ss {
            b.ep.close(s).unwrap();
        }
        settle(&mut a, &mut b, now);
        // Let TIME-WAIT (2 MSL) and delayed ACKs run out on virtual time.
        now += Duration::from_millis(50);
        settle(&mut a, &mut b, now);
        done += n;
        while a.ep.poll_event().is_some() {}
        while b.ep.poll_event().is_some() {}
    }
    let secs = wall().duration_since(start).as_secs_f64();
    let per_conn = (allocs() - allocs0) as f64 / total as f64;
    assert!(a.ep.connection_count() < 2 * batch, "connections leak: {}", a.ep.connection_count());
    (total as f64 / secs, per_conn)
}

/// Memory of `n` established idle connections (both ends live in this process, so 2n TCBs).
struct IdleMemory {
    /// RSS growth per connection end.
    rss_per_end: f64,
    /// RSS growth in all.
    rss_total: u64,
    /// Growth of the heap bytes requested, per connection end (no allocator slack).
    heap_per_end: f64,
    /// Heap allocations still live, per connection end.
    live_allocs_per_end: f64,
}

/// With `exchange`, each connection first carries one byte each way (read by the other side)
/// before it idles: what a connection that has been used keeps (ring storage, RACK's log).
fn synack_idle_memory(n: usize, exchange: bool) -> IdleMemory {
    let (mut a, mut b) = synack_pair(1500, ChecksumOffload::default(), Duration::from_secs(60));
    let stats0 = alloc_stats();
    let (rss0, heap0) = (rss_bytes(), live_bytes());
    let now = Instant::from_secs(1);
    let conns = open_many(&mut a, &mut b, now, n, 16);
    if exchange {
        let mut buf = [0u8; 16];
        for batch in conns.chunks(512) {
            for &(c, s) in batch {
                a.ep.send(c, b"q").expect("send");
                b.ep.send(s, b"r").expect("send");
            }
            settle(&mut a, &mut b, now);
            for &(c, s) in batch {
                assert_eq!(a.ep.recv(c, &mut buf), Ok(1));
                assert_eq!(b.ep.recv(s, &mut buf), Ok(1));
            }
            settle(&mut a, &mut b, now);
            while a.ep.poll_event().is_some() {}
            while b.ep.poll_event().is_some() {}
        }
    }
    let (rss1, heap1) = (rss_bytes(), live_bytes());
    let stats1 = alloc_stats();
    assert_eq!(conns.len(), n);
    // The bench's own `conns` vector (16 bytes a connection) is not the stack's.
    let ours = (conns.capacity() * std::mem::size_of::<(ConnId, ConnId)>()) as u64;
    let rss_total = rss1.saturating_sub(rss0).saturating_sub(ours);
    let live_allocs = (stats1.allocations - stats0.allocations)
        .saturating_sub(stats1.deallocations - stats0.deallocations);
    let ends = (2 * n) as f64;
    IdleMemory {
        rss_per_end: rss_total as f64 / ends,
        rss_total,
        heap_per_end: heap1.saturating_sub(heap0).saturating_sub(ours) as f64 / ends,
        live_allocs_per_end: live_allocs.saturating_sub(1) as f64 / ends,
    }
}

mod smol;

/// The socket-API benchmark: blocking and tokio streams on two runtime stacks.
pub mod api;

// ---------------------------------------------------------------------------------------------

/// memcpy bandwidth of this machine in Gbit/s (the ceiling for any in-memory transfer).
fn memcpy_gbps(total: usize) -> f64 {
    let src = vec![0xa5u8; 1 << 20];
    let mut dst = vec![0u8; 1 << 20];
    let start = wall();
    let mut done = 0;
    while done < total {
        // black_box keeps the compiler from turning a copy of known bytes into a memset.
        dst.copy_from_slice(std::hint::black_box(&src));
        std::hint::black_box(&mut dst);
        done += src.len();
    }
    done as f64 * 8.0 / wall().duration_since(start).as_secs_f64() / 1e9
}

fn best_of(runs: usize, mut f: impl FnMut() -> f64) -> f64 {
    (0..runs).map(|_| f()).fold(0.0, f64::max)
}

/// The best of each of a pair of figures over `runs` runs.
fn best_of2(runs: usize, mut f: impl FnMut() -> (f64, f64)) -> (f64, f64) {
    (0..runs).map(|_| f()).fold((0.0, 0.0), |a, b| (a.0.max(b.0), a.1.max(b.1)))
}

/// The benchmark groups `--only` selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// Bulk transfer at MTU 1500 and 65535, synack and smoltcp, with and without offload.
    Bulk,
    /// synack's bulk transfer alone (for instruction counts: no peer, no memcpy ceiling).
    BulkSynack,
    /// smoltcp's bulk transfer alone, the same loop (instruction counts to compare with).
    BulkSmoltcp,
    /// Connection setup + one byte each way + close, per second.
    Setup,
    /// Memory per idle established connection, and bulk with 100,000 idle connections.
    Idle,
    /// Memory per idle connection that first carried one byte each way (run alone).
    IdleUsed,
    /// Bulk through the blocking and tokio socket APIs against the engine alone.
    Api,
}

impl Group {
    /// Every group with its command-line name.
    pub const ALL: [(Group, &'static str); 7] = [
        (Group::Bulk, "bulk"),
        (Group::BulkSynack, "bulk-synack"),
        (Group::BulkSmoltcp, "bulk-smoltcp"),
        (Group::Setup, "setup"),
        (Group::Idle, "idle"),
        (Group::IdleUsed, "idle-used"),
        (Group::Api, "api"),
    ];

    /// The group named `name` on the command line.
    pub fn from_name(name: &str) -> Option<Group> {
        Group::ALL.iter().find(|(_, n)| *n == name).map(|(g, _)| *g)
    }

    /// The command-line name.
    pub fn name(self) -> &'static str {
        Group::ALL.iter().find(|(g, _)| *g == self).map_or("?", |(_, n)| n)
    }
}

/// What to run.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Smaller transfers and fewer repetitions: finishes in under a minute.
    pub quick: bool,
    /// One group only (for profiling); all of them when `None`.
    pub only: Option<Group>,
    /// Bulk groups at this MTU only (instruction counts per segment).
    pub mtu: Option<usize>,
    /// Connection cycles for the setup group (default 20,000 quick, 200,000 full).
    pub setups: Option<usize>,
}

impl Options {
    /// Parses the bench binary's arguments (`--quick --json --only G --mtu N --setups N`; the
    /// `--bench` flag cargo passes is ignored). Returns the options and whether `--json` was
    /// given, or a message naming the argument that is wrong.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<(Options, bool), String> {
        let mut opts = Options::default();
        let mut json = false;
        let mut args = args.into_iter();
        while let Some(a) = args.next() {
            let mut value = |flag: &str| args.next().ok_or_else(|| format!("{flag} needs a value"));
            match a.as_str() {
                "--quick" => opts.quick = true,
                "--json" => json = true,
                "--bench" => {}
                "--only" => {
                    let v = value("--only")?;
                    let names: Vec<&str> = Group::ALL.iter().map(|(_, n)| *n).collect();
                    opts.only = Some(Group::from_name(&v).ok_or_else(|| {
                        format!("--only {v:?}: not a group (one of {})", names.join(", "))
                    })?);
                }
                "--mtu" => opts.mtu = Some(parse_count("--mtu", &value("--mtu")?, 576, 65535)?),
                "--setups" => {
                    opts.setups =
                        Some(parse_count("--setups", &value("--setups")?, 1, 100_000_000)?)
                }
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok((opts, json))
    }
}

/// `text` as a number in `lo..=hi`, or a message naming `flag`.
fn parse_count(flag: &str, text: &str, lo: usize, hi: usize) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (lo..=hi).contains(&n) => Ok(n),
        _ => Err(format!("{flag} {text:?}: expected a whole number from {lo} to {hi}")),
    }
}

/// One benchmark's figures, keyed by name (`bulk_mtu1500`, `setup_teardown`, ...).
pub type Results = Vec<(String, Value)>;

/// Runs the benchmarks `opts` selects. `alloc` must be the allocator the binary installed as
/// its `#[global_allocator]` (the memory figures read its counters).
pub fn run(opts: &Options, alloc: &'static StatsAlloc<System>) -> Results {
    let _ = GLOBAL.set(alloc);
    let quick = opts.quick;
    let only = opts.only.map(Group::name);
    let want = |g: &str| only.is_none_or(|o| o == g);
    let mb = 1 << 20;
    let (bulk_bytes, runs, setups, idle_n) =
        if quick { (64 * mb, 1, 20_000, 100_000) } else { (512 * mb, 3, 200_000, 100_000) };
    let setups = opts.setups.unwrap_or(setups);

    // The ceiling only matters next to the bulk figures; skipped when they are not run.
    let memcpy =
        if want("bulk") { memcpy_gbps(if quick { 2 << 30 } else { 16 << 30 }) } else { 0.0 };
    let mut results: Results = Vec::new();
    let only_mtu = opts.mtu;
    for mtu in [1500usize, 65535] {
        let alone = matches!(only, Some("bulk-synack" | "bulk-smoltcp"));
        if !want("bulk") && !alone {
            break;
        }
        if only_mtu.is_some_and(|m| m != mtu) {
            continue;
        }
        let n = bulk_bytes;
        if only == Some("bulk-smoltcp") {
            let smol = best_of(runs, || smol::bulk(mtu, n, false));
            results.push((format!("bulk_mtu{mtu}"), json!({ "smoltcp_gbps": smol, "bytes": n })));
            continue;
        }
        let (ours, ours_cpu) = best_of2(runs, || {
            with_thread_cpu(n, || synack_bulk(mtu, n, ChecksumOffload::default(), 0))
        });
        if only == Some("bulk-synack") {
            results.push((
                format!("bulk_mtu{mtu}"),
                json!({ "synack_gbps": ours, "bytes": bulk_bytes }),
            ));
            continue;
        }
        let offl = best_of(runs, || synack_bulk(mtu, bulk_bytes, RX_OFFLOAD, 0));
        let (smol, smol_cpu) = best_of2(runs, || with_thread_cpu(n, || smol::bulk(mtu, n, false)));
        // Checksum offload on both sides and in both directions, for both stacks.
        let all = best_of(runs, || synack_bulk(mtu, bulk_bytes, ChecksumOffload::ALL, 0));
        let smol_all = best_of(runs, || smol::bulk(mtu, bulk_bytes, true));
        results.push((
            format!("bulk_mtu{mtu}"),
            json!({
                "synack_gbps": ours,
                "synack_rx_offload_gbps": offl,
                "smoltcp_gbps": smol,
                "ratio": ours / smol,
                "synack_gbit_per_cpu_second": ours_cpu,
                "smoltcp_gbit_per_cpu_second": smol_cpu,
                "cpu_ratio": ours_cpu / smol_cpu,
                "synack_offload_gbps": all,
                "smoltcp_offload_gbps": smol_all,
                "offload_ratio": all / smol_all,
                "memcpy_gbps": memcpy,
                "bytes": bulk_bytes,
            }),
        ));
    }
    let cpu0 = thread_cpu_secs();
    let (per_sec, allocs_per) =
        if want("setup") { synack_setup_teardown(setups, BUF) } else { (0.0, 0.0) };
    let setup_cpu = thread_cpu_secs() - cpu0;
    let per_cpu_sec = if setup_cpu > 0.0 { setups as f64 / setup_cpu } else { 0.0 };
    let (per_sec_small, _) =
        if want("setup") { synack_setup_teardown(setups, 4096) } else { (0.0, 0.0) };
    results.push((
        "setup_teardown".into(),
        json!({
            "per_second": per_sec,
            "per_cpu_second": per_cpu_sec,
            "per_second_4k_buffers": per_sec_small,
            "allocations_per_connection": allocs_per,
            "connections": setups,
            "goal_per_second": 500_000,
        }),
    ));
    let none = || IdleMemory {
        rss_per_end: 0.0,
        rss_total: 0,
        heap_per_end: 0.0,
        live_allocs_per_end: 0.0,
    };
    let idle = if want("idle") { synack_idle_memory(idle_n, false) } else { none() };
    // Only alone (`--only idle-used`): memory freed by an earlier measurement in the same
    // process would be reused and hide part of the growth.
    let used = if only == Some("idle-used") { synack_idle_memory(idle_n, true) } else { none() };
    results.push((
        "idle_connection".into(),
        json!({
            "bytes": idle.rss_per_end,
            "total_bytes_for_n": idle.rss_total,
            "heap_bytes": idle.heap_per_end,
            "heap_allocations": idle.live_allocs_per_end,
            "n": idle_n,
            "ends_per_connection": 2,
            "goal_bytes": 1024,
            "after_one_byte_each_way": {
                "bytes": used.rss_per_end,
                "heap_bytes": used.heap_per_end,
                "heap_allocations": used.live_allocs_per_end,
            },
        }),
    ));
    let (base, with_idle) = if want("idle") {
        (
            best_of(runs, || synack_bulk(1500, bulk_bytes / 2, ChecksumOffload::default(), 0)),
            best_of(runs, || synack_bulk(1500, bulk_bytes / 2, ChecksumOffload::default(), idle_n)),
        )
    } else {
        (0.0, 0.0)
    };
    results.push((
        "bulk_with_100k_idle".into(),
        json!({ "gbps": with_idle, "baseline_gbps": base, "ratio": with_idle / base, "idle": idle_n }),
    ));

    if want("api") {
        // Alternated, best of each: the machine's load moves between runs. Wall-clock rates
        // and rates per CPU second (the API's runs use four threads, the engine's one).
        let best = |a: (f64, f64), b: (f64, f64)| (a.0.max(b.0), a.1.max(b.1));
        let (mut engine, mut blocking, mut tokio) = ((0.0, 0.0), (0.0, 0.0), (0.0, 0.0));
        // Larger than the bulk group's transfer: CPU time is counted in 10 ms ticks.
        let n = if quick { 256 * mb } else { 1024 * mb };
        for _ in 0..runs.max(2) {
            let e = with_cpu(n, || synack_bulk(1500, n, ChecksumOffload::default(), 0));
            engine = best(engine, e);
            blocking = best(blocking, with_cpu(n, || api::blocking(1500, n)));
            tokio = best(tokio, with_cpu(n, || api::tokio(1500, n)));
        }
        // Threads blocked on idle sockets of the receiving stack while one stream moves data:
        // per-socket waking keeps the transfer's CPU cost flat in their number.
        let idle = 1000;
        let (mut alone, mut crowded) = ((0.0, 0.0), (0.0, 0.0));
        for _ in 0..runs.max(2) {
            alone = best(alone, api::blocking_idle(1500, n / 2, 0));
            crowded = best(crowded, api::blocking_idle(1500, n / 2, idle));
        }
        results.push((
            "api_blocked_idle".into(),
            json!({
                "idle_threads": idle,
                "gbps": alone.0,
                "gbps_with_idle": crowded.0,
                "gbit_per_cpu_second": alone.1,
                "gbit_per_cpu_second_with_idle": crowded.1,
                "cpu_ratio": crowded.1 / alone.1,
                "bytes": n / 2,
            }),
        ));
        results.push((
            "api_bulk_mtu1500".into(),
            json!({
                "engine_gbps": engine.0,
                "blocking_gbps": blocking.0,
                "tokio_gbps": tokio.0,
                "blocking_ratio": blocking.0 / engine.0,
                "tokio_ratio": tokio.0 / engine.0,
                "engine_gbit_per_cpu_second": engine.1,
                "blocking_gbit_per_cpu_second": blocking.1,
                "tokio_gbit_per_cpu_second": tokio.1,
                "blocking_cpu_ratio": blocking.1 / engine.1,
                "tokio_cpu_ratio": tokio.1 / engine.1,
                "goal_ratio": 0.9,
                "bytes": n,
            }),
        ));
    }

    // Only the groups that ran: a zero for a benchmark that did not run would read as a figure.
    results.retain(|(name, _)| match name.as_str() {
        "setup_teardown" => want("setup"),
        "idle_connection" => want("idle") || only == Some("idle-used"),
        "bulk_with_100k_idle" => want("idle"),
        _ => true,
    });
    results
}

/// The results as a table for people (`json` false) or one JSON object for scripts.
pub fn render(results: &Results, quick: bool, json: bool) -> String {
    use std::fmt::Write as _;
    if json {
        let obj: serde_json::Map<String, Value> = results.iter().cloned().collect();
        return serde_json::to_string_pretty(&Value::Object(obj)).unwrap_or_default() + "\n";
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "synack netbench ({}), single thread, in-memory link",
        if quick { "quick" } else { "full" }
    );
    for (name, v) in results {
        let _ = writeln!(out, "{name}:");
        if let Value::Object(m) = v {
            for (k, x) in m {
                let _ = match x.as_f64() {
                    Some(f) if f.fract() != 0.0 => writeln!(out, "  {k:<24} {f:>14.3}"),
                    _ => writeln!(out, "  {k:<24} {x:>14}"),
                };
            }
        }
    }
    out
}
