//! The `tun` group of `synack bench`: bulk TCP between synack on a TUN device and the Linux
//! kernel, each way, with the device's offloads (virtio-net headers: super-segments and
//! partial checksums both ways, receive coalescing) and without (one plain packet per system
//! call, the kernel's own segmentation offloads off too), next to the kernel's TCP over a veth
//! pair with its offloads on and off, all in one run. Each synack figure is taken three
//! times, alternating: the default (batched reads and writes through io_uring; a writer
//! thread for plain packets), one system call per packet (`TunOptions::io_uring` off) and
//! the device's writer thread the other way (`TunOptions::tx_thread`). Root only: everything happens in network namespaces made
//! and deleted here; the caller prints `SKIPPED` otherwise.
//!
//! Both ends live in this process: synack's side is the blocking API on an application thread
//! (1 MiB reads and writes) with the stack's driver thread; the kernel's side is std sockets
//! on a thread that entered the namespace. Each figure is payload bits over the receiver's
//! time from accepting the connection to the end of the stream. CPU is what synack's threads
//! used (the application thread, the driver, the device's writer and io_uring's kernel
//! workers; user + system to the nanosecond from `/proc/self/task/*/schedstat`; system time
//! includes the kernel's work inside the TUN reads and writes), per GiB moved.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use synack::net::{ShardedListener, TcpListener, TcpStream};
use synack::runtime::StackConfig;
use synack::{Clock, IpCidr, Shards, Stack};
use synack_tun::{TunDevice, TunOptions, config, netns};

const CHUNK: usize = 1 << 20;
/// USER_HZ: the unit of `/proc/*/stat` CPU times, fixed at 100 by the Linux ABI.
const USER_HZ: f64 = 100.0;

/// Why the group cannot run here, if it cannot.
pub(crate) fn skip_reason() -> Option<String> {
    synack_tun::netns::unavailable(&["ip", "ethtool"])
}

/// A namespace deleted when dropped; the name is unique to this process and call.
struct Ns(String);

impl Ns {
    fn new() -> Result<Ns, String> {
        static N: AtomicUsize = AtomicUsize::new(0);
        if N.load(Ordering::Relaxed) == 0 {
            synack_tun::netns::remove_orphans("sdpb-");
        }
        let name = format!("sdpb-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        ip(&["netns", "add", &name])?;
        let ns = Ns(name);
        ip(&["-n", &ns.0, "link", "set", "lo", "up"])?;
        Ok(ns)
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn run_tool(tool: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(tool).args(args).output().map_err(|e| format!("{tool}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{tool} {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    run_tool("ip", args)
}

/// Turns the kernel's segmentation and receive offloads of `dev` in `ns` on or off.
fn kernel_offloads(ns: &Ns, dev: &str, on: bool) -> Result<(), String> {
    let v = if on { "on" } else { "off" };
    run_tool("ip", &["netns", "exec", &ns.0, "ethtool", "-K", dev, "tso", v, "gso", v, "gro", v])
}

/// Runs `f` on a thread inside `ns` (sockets it opens belong to the namespace).
fn in_ns<T: Send + 'static>(
    ns: &Ns,
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> std::thread::JoinHandle<Result<T, String>> {
    let name = ns.0.clone();
    std::thread::spawn(move || {
        netns::enter(&name).map_err(|e| format!("entering {name}: {e}"))?;
        f()
    })
}

#[allow(clippy::disallowed_methods)] // a benchmark reads the real clock
fn now() -> std::time::Instant {
    std::time::Instant::now()
}

/// CPU seconds the threads of this process whose name `is_ours` accepts have run, to the
/// nanosecond (`/proc/self/task/*/schedstat`: time on a CPU, user and system together).
fn threads_run_time(is_ours: impl Fn(&str) -> bool) -> f64 {
    let mut ns = 0u64;
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else { return 0.0 };
    for task in dir.flatten() {
        let p = task.path();
        if std::fs::read_to_string(p.join("comm")).is_ok_and(|c| is_ours(c.trim()))
            && let Ok(s) = std::fs::read_to_string(p.join("schedstat"))
        {
            ns += s.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        }
    }
    ns as f64 / 1e9
}

/// Whether a thread of this process works for synack's side: the application thread, the
/// stack's driver, the TUN device's writer, and the kernel's io_uring workers (`iou-wrk-*`,
/// `iou-sqp-*`; only synack's side uses io_uring here).
fn is_synack_thread(comm: &str) -> bool {
    comm == APP
        || comm == "synack-driver"
        || comm == synack_tun::TX_THREAD_NAME
        || comm.starts_with("iou-")
}

/// CPU seconds synack's threads have run.
fn synack_cpu() -> f64 {
    threads_run_time(is_synack_thread)
}

/// Name of the thread that runs synack's side (at most 15 bytes: the kernel cuts `comm`).
const APP: &str = "synack-app";

/// One measured transfer.
struct Measure {
    gbps: f64,
    /// CPU seconds of synack's threads (user + system, to the nanosecond).
    cpu: f64,
}

impl Measure {
    fn cpu_per_gb(&self, bytes: usize) -> f64 {
        self.cpu * (1u64 << 30) as f64 / bytes as f64
    }
}

fn gbps(bytes: usize, secs: f64) -> f64 {
    bytes as f64 * 8.0 / secs.max(1e-9) / 1e9
}

/// Reads `r` to its end in 1 MiB reads; the byte count.
fn drain(r: &mut impl Read) -> std::io::Result<usize> {
    let mut buf = vec![0u8; CHUNK];
    let mut n = 0;
    loop {
        match r.read(&mut buf)? {
            0 => return Ok(n),
            k => n += k,
        }
    }
}

/// Writes `total` zero bytes to `w` in 1 MiB writes.
fn fill(w: &mut impl Write, total: usize) -> std::io::Result<()> {
    let buf = vec![0u8; CHUNK];
    let mut left = total;
    while left > 0 {
        let k = left.min(CHUNK);
        w.write_all(&buf[..k])?;
        left -= k;
    }
    Ok(())
}

/// synack on a TUN in a fresh namespace, `total` bytes from the kernel to synack (`inbound`)
/// or back.
fn synack_over_tun(
    opts: TunOptions,
    inbound: bool,
    total: usize,
    buffer: Option<usize>,
) -> Result<Measure, String> {
    let ns = Ns::new()?;
    let dev = in_ns(&ns, move || {
        let dev = TunDevice::open_with("sdpb0", 1500, opts).map_err(|e| format!("TUN: {e}"))?;
        let name = dev.name().to_string();
        let e = |e: config::ConfigError| e.to_string();
        config::set_mtu(&name, 1500).map_err(e)?;
        config::add_address(&name, "10.79.0.1".parse().expect("addr"), 24).map_err(e)?;
        config::set_up(&name).map_err(e)?;
        Ok(dev)
    })
    .join()
    .map_err(|_| "TUN thread panicked")??;
    if !opts.offload {
        // Without offloads on synack's side the kernel's are off too: it segments and
        // checksums every packet before the TUN, as a wire would need.
        kernel_offloads(&ns, "sdpb0", false)?;
    }
    let ours = IpCidr::new("10.79.0.2".parse().expect("addr"), 24).map_err(|e| e.to_string())?;
    let mut cfg = StackConfig { addresses: vec![ours], ..StackConfig::default() };
    if let Some(b) = buffer {
        cfg.endpoint.conn.send_buffer = b;
        cfg.endpoint.conn.recv_buffer = b;
    }
    let stack = Arc::new(Stack::new(dev, cfg, Clock::start()).map_err(|e| e.to_string())?);
    let synack_addr: SocketAddr = "10.79.0.2:5201".parse().expect("addr");
    let kernel_addr: SocketAddr = "10.79.0.1:5202".parse().expect("addr");
    let s2 = stack.clone();
    let r = if inbound {
        let l = TcpListener::bind(&stack, synack_addr).map_err(|e| format!("bind: {e}"))?;
        let kernel = in_ns(&ns, move || {
            let mut s = std::net::TcpStream::connect_timeout(&synack_addr, Duration::from_secs(10))
                .map_err(|e| format!("kernel connect: {e}"))?;
            fill(&mut s, total).map_err(|e| format!("kernel send: {e}"))?;
            s.shutdown(Shutdown::Write).map_err(|e| e.to_string())?;
            drain(&mut s).map_err(|e| format!("kernel read: {e}"))?;
            Ok(())
        });
        let app = std::thread::Builder::new()
            .name(APP.into())
            .spawn(move || -> Result<Measure, String> {
                let (mut s, _) = l
                    .accept_timeout(Duration::from_secs(20))
                    .map_err(|e| format!("accept: {e}"))?;
                let (t0, c0) = (now(), synack_cpu());
                let n = drain(&mut s).map_err(|e| format!("synack read: {e}"))?;
                let secs = t0.elapsed().as_secs_f64();
                let c1 = synack_cpu();
                s.shutdown(Shutdown::Write).map_err(|e| e.to_string())?;
                if n != total {
                    return Err(format!("synack read {n} of {total} bytes"));
                }
                Ok(Measure { gbps: gbps(n, secs), cpu: c1 - c0 })
            })
            .map_err(|e| e.to_string())?;
        let m = app.join().map_err(|_| "app thread panicked")?;
        kernel.join().map_err(|_| "kernel thread panicked")??;
        m
    } else {
        let (tx, rx) = std::sync::mpsc::channel();
        let kernel = in_ns(&ns, move || {
            let l = std::net::TcpListener::bind(kernel_addr).map_err(|e| format!("bind: {e}"))?;
            let _ = tx.send(());
            let (mut c, _) = l.accept().map_err(|e| format!("kernel accept: {e}"))?;
            let t0 = now();
            let n = drain(&mut c).map_err(|e| format!("kernel read: {e}"))?;
            Ok((n, t0.elapsed().as_secs_f64()))
        });
        rx.recv_timeout(Duration::from_secs(10)).map_err(|_| "kernel listener did not start")?;
        let app = std::thread::Builder::new()
            .name(APP.into())
            .spawn(move || -> Result<f64, String> {
                let mut s = TcpStream::connect_timeout(&s2, &kernel_addr, Duration::from_secs(10))
                    .map_err(|e| format!("connect: {e}"))?;
                let c0 = synack_cpu();
                fill(&mut s, total).map_err(|e| format!("synack send: {e}"))?;
                s.shutdown(Shutdown::Write).map_err(|e| e.to_string())?;
                drain(&mut s).map_err(|e| format!("synack read: {e}"))?;
                let c1 = synack_cpu();
                Ok(c1 - c0)
            })
            .map_err(|e| e.to_string())?;
        let cpu = app.join().map_err(|_| "app thread panicked")?;
        let (n, secs) = kernel.join().map_err(|_| "kernel thread panicked")??;
        let cpu = cpu?;
        if n != total {
            return Err(format!("the kernel read {n} of {total} bytes"));
        }
        Ok(Measure { gbps: gbps(n, secs), cpu })
    };
    drop(stack);
    r
}

/// The kernel's TCP across a veth pair between two fresh namespaces.
fn kernel_over_veth(offloads: bool, total: usize) -> Result<f64, String> {
    let (a, b) = (Ns::new()?, Ns::new()?);
    ip(&["-n", &a.0, "link", "add", "va", "type", "veth", "peer", "name", "vb", "netns", &b.0])?;
    for (ns, dev, addr) in [(&a, "va", "10.78.0.1/24"), (&b, "vb", "10.78.0.2/24")] {
        ip(&["-n", &ns.0, "addr", "add", addr, "dev", dev])?;
        ip(&["-n", &ns.0, "link", "set", dev, "mtu", "1500", "up"])?;
        kernel_offloads(ns, dev, offloads)?;
    }
    let dst: SocketAddr = "10.78.0.2:5203".parse().expect("addr");
    let (tx, rx) = std::sync::mpsc::channel();
    let receiver = in_ns(&b, move || {
        let l = std::net::TcpListener::bind(dst).map_err(|e| format!("bind: {e}"))?;
        let _ = tx.send(());
        let (mut c, _) = l.accept().map_err(|e| format!("accept: {e}"))?;
        let t0 = now();
        let n = drain(&mut c).map_err(|e| format!("read: {e}"))?;
        Ok((n, t0.elapsed().as_secs_f64()))
    });
    rx.recv_timeout(Duration::from_secs(10)).map_err(|_| "veth listener did not start")?;
    let sender = in_ns(&a, move || {
        let mut s = std::net::TcpStream::connect_timeout(&dst, Duration::from_secs(10))
            .map_err(|e| format!("connect: {e}"))?;
        fill(&mut s, total).map_err(|e| format!("send: {e}"))?;
        s.shutdown(Shutdown::Write).map_err(|e| e.to_string())
    });
    sender.join().map_err(|_| "sender panicked")??;
    let (n, secs) = receiver.join().map_err(|_| "receiver panicked")??;
    if n != total {
        return Err(format!("veth receiver read {n} of {total} bytes"));
    }
    Ok(gbps(n, secs))
}

/// CPU seconds (user + system) of this whole process so far, every thread included (the
/// kernel's sending or receiving threads of the shard runs live in it too), exited ones too.
fn process_cpu() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return 0.0 };
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { return 0.0 };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / USER_HZ
}

/// The machine's (busy, total) CPU time so far, all cores, from `/proc/stat`, in ticks.
fn machine_cpu() -> (f64, f64) {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else { return (0.0, 0.0) };
    let Some(line) = stat.lines().next() else { return (0.0, 0.0) };
    let f: Vec<f64> = line.split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    let total: f64 = f.iter().take(8).sum();
    let idle = f.get(3).copied().unwrap_or(0.0) + f.get(4).copied().unwrap_or(0.0);
    (total - idle, total)
}

/// One run of [`shards_over_tun`].
#[derive(Default, Clone, Copy)]
struct ShardRun {
    gbps: f64,
    /// Packets one shard read for another's flow.
    handed: u64,
    /// CPU seconds of the process (synack's threads and the kernel's side's) per GiB.
    cpu_per_gib: f64,
    /// Of the machine's CPU time over the run, the share busy (anyone's work).
    machine_busy: f64,
    /// CPUs this process kept busy on average over the run.
    cpus_used: f64,
    /// Frames the drivers took per wake-up, over every shard.
    frames_per_wake: f64,
}

/// synack with `queues` shards on a multi-queue TUN (offloads on) in a fresh namespace,
/// `flows` connections at once moving `total` bytes between them, from the kernel to synack
/// (`inbound`) or back. The figure is all payload over the time from the first connection's
/// start to the last one's end, at the receivers; with the packets shards handed each other.
fn shards_over_tun(
    queues: usize,
    flows: usize,
    inbound: bool,
    total: usize,
) -> Result<ShardRun, String> {
    let ns = Ns::new()?;
    let devs = in_ns(&ns, move || {
        let qs = TunDevice::open_queues("sdps0", 1500, TunOptions::default(), queues)
            .map_err(|e| format!("TUN queues: {e}"))?;
        let name = qs[0].name().to_string();
        let e = |e: config::ConfigError| e.to_string();
        config::set_mtu(&name, 1500).map_err(e)?;
        config::add_address(&name, "10.77.0.1".parse().expect("addr"), 24).map_err(e)?;
        config::set_up(&name).map_err(e)?;
        Ok(qs)
    })
    .join()
    .map_err(|_| "TUN thread panicked")??;
    let ours = IpCidr::new("10.77.0.2".parse().expect("addr"), 24).map_err(|e| e.to_string())?;
    let cfg = StackConfig { addresses: vec![ours], ..StackConfig::default() };
    let shards = Arc::new(Shards::new(devs, cfg, Clock::start()).map_err(|e| e.to_string())?);
    let per = total / flows;
    let (cpu0, machine0, wall0) = (process_cpu(), machine_cpu(), now());
    let synack_addr: SocketAddr = "10.77.0.2:5301".parse().expect("addr");
    let kernel_addr: SocketAddr = "10.77.0.1:5302".parse().expect("addr");
    // Each receiver reports (start, end, bytes); the figure spans the earliest start to the
    // latest end.
    type Span = (std::time::Instant, std::time::Instant, usize);
    let spans: Vec<Span> = if inbound {
        let l = ShardedListener::bind(&shards, synack_addr).map_err(|e| format!("bind: {e}"))?;
        let kernel = in_ns(&ns, move || {
            let senders: Vec<_> = (0..flows)
                .map(|_| {
                    std::thread::spawn(move || -> Result<(), String> {
                        let mut s = std::net::TcpStream::connect_timeout(
                            &synack_addr,
                            Duration::from_secs(10),
                        )
                        .map_err(|e| format!("kernel connect: {e}"))?;
                        fill(&mut s, per).map_err(|e| format!("kernel send: {e}"))?;
                        s.shutdown(Shutdown::Write).map_err(|e| e.to_string())?;
                        drain(&mut s).map_err(|e| format!("kernel read: {e}"))?;
                        Ok(())
                    })
                })
                .collect();
            senders.into_iter().try_for_each(|t| t.join().map_err(|_| "sender panicked")?)
        });
        let mut apps = Vec::new();
        for _ in 0..flows {
            let (mut s, _) =
                l.accept_timeout(Duration::from_secs(20)).map_err(|e| format!("accept: {e}"))?;
            let t0 = now();
            apps.push(std::thread::spawn(move || -> Result<Span, String> {
                let n = drain(&mut s).map_err(|e| format!("synack read: {e}"))?;
                let t1 = now();
                s.shutdown(Shutdown::Write).map_err(|e| e.to_string())?;
                Ok((t0, t1, n))
            }));
        }
        let spans = apps
            .into_iter()
            .map(|a| a.join().map_err(|_| "app thread panicked".to_string())?)
            .collect::<Result<Vec<_>, String>>()?;
        kernel.join().map_err(|_| "kernel thread panicked")??;
        spans
    } else {
        let (tx, rx) = std::sync::mpsc::channel();
        let kernel = in_ns(&ns, move || {
            let l = std::net::TcpListener::bind(kernel_addr).map_err(|e| format!("bind: {e}"))?;
            let _ = tx.send(());
            let mut readers = Vec::new();
            for _ in 0..flows {
                let (mut c, _) = l.accept().map_err(|e| format!("kernel accept: {e}"))?;
                let t0 = now();
                readers.push(std::thread::spawn(move || -> Result<Span, String> {
                    let n = drain(&mut c).map_err(|e| format!("kernel read: {e}"))?;
                    Ok((t0, now(), n))
                }));
            }
            readers
                .into_iter()
                .map(|r| r.join().map_err(|_| "reader panicked".to_string())?)
                .collect::<Result<Vec<_>, String>>()
        });
        rx.recv_timeout(Duration::from_secs(10)).map_err(|_| "kernel listener did not start")?;
        let apps: Vec<_> = (0..flows)
            .map(|_| {
                let shards = shards.clone();
                std::thread::spawn(move || -> Result<(), String> {
                    let mut s = TcpStream::connect_sharded_with(
                        &shards,
                        kernel_addr,
                        None,
                        Some(Duration::from_secs(10)),
                    )
                    .map_err(|e| format!("connect: {e}"))?;
                    fill(&mut s, per).map_err(|e| format!("synack send: {e}"))?;
                    s.shutdown(Shutdown::Write).map_err(|e| e.to_string())?;
                    drain(&mut s).map_err(|e| format!("synack read: {e}"))?;
                    Ok(())
                })
            })
            .collect();
        for a in apps {
            a.join().map_err(|_| "app thread panicked")??;
        }
        kernel.join().map_err(|_| "kernel thread panicked")??
    };
    let bytes: usize = spans.iter().map(|s| s.2).sum();
    if bytes != per * flows {
        return Err(format!("receivers got {bytes} of {} bytes", per * flows));
    }
    let start = spans.iter().map(|s| s.0).min().ok_or("no flows")?;
    let end = spans.iter().map(|s| s.1).max().ok_or("no flows")?;
    let (cpu1, machine1, wall) = (process_cpu(), machine_cpu(), now().duration_since(wall0));
    let handed = shards.handoff_stats().handed;
    let (frames, wakes) = shards.stacks().iter().fold((0, 0), |(f, w), st| {
        let d = st.with(|st, _| st.stats());
        (f + d.frames_in, w + d.wakeups)
    });
    drop(shards);
    let cpu = cpu1 - cpu0;
    let (busy, all) = (machine1.0 - machine0.0, machine1.1 - machine0.1);
    Ok(ShardRun {
        gbps: gbps(bytes, end.duration_since(start).as_secs_f64()),
        handed,
        cpu_per_gib: cpu * (1u64 << 30) as f64 / bytes as f64,
        machine_busy: if all > 0.0 { busy / all } else { 0.0 },
        cpus_used: cpu / wall.as_secs_f64().max(1e-9),
        frames_per_wake: if wakes > 0 { frames as f64 / wakes as f64 } else { 0.0 },
    })
}

/// The median of `v` (0 when empty).
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// What a configuration's runs had in common: the best rate, and the medians of the figures
/// that say where the time went.
fn shard_summary(runs: &[ShardRun]) -> Value {
    let m = |f: fn(&ShardRun) -> f64| median(runs.iter().map(f).collect());
    json!({
        "best_gbps": runs.iter().map(|r| r.gbps).fold(0.0, f64::max),
        "median_cpu_s_per_gib": m(|r| r.cpu_per_gib),
        "median_cpus_used": m(|r| r.cpus_used),
        "median_machine_busy": m(|r| r.machine_busy),
        "median_frames_per_wake": m(|r| r.frames_per_wake),
    })
}

/// The shard figures: 1 shard and `n` shards (the number of cores, at least 2), `n` flows
/// each, each way, and the packets the `n` shards handed each other over all runs; JSON
/// members. Each figure moves 4 x `mb` MiB and is the best of 3 x `runs`: with offloads a
/// transfer takes well under a second, and a ratio of two figures needs more samples than one
/// figure to settle on a shared machine.
pub(crate) fn run_shards(mb: usize, runs: usize) -> Result<Value, String> {
    if let Some(why) = skip_reason() {
        return Err(why);
    }
    let total = (mb << 20) * 4;
    let runs = runs.max(1) * 3;
    let n = synack::default_shard_count().max(2);
    // Best of `runs` for each; 1 and n alternate, so a change in the machine's load hits
    // both alike.
    let (mut in_1, mut in_n, mut out_1, mut out_n) = (vec![], vec![], vec![], vec![]);
    for _ in 0..runs.max(1) {
        in_1.push(shards_over_tun(1, n, true, total)?);
        in_n.push(shards_over_tun(n, n, true, total)?);
        out_1.push(shards_over_tun(1, n, false, total)?);
        out_n.push(shards_over_tun(n, n, false, total)?);
    }
    let handed: u64 = in_n.iter().chain(&out_n).map(|r| r.handed).sum();
    let best = |v: &[ShardRun]| v.iter().map(|r| r.gbps).fold(0.0, f64::max);
    let detail = json!({
        "kernel_to_synack_1_shard": shard_summary(&in_1),
        "kernel_to_synack_n_shards": shard_summary(&in_n),
        "synack_to_kernel_1_shard": shard_summary(&out_1),
        "synack_to_kernel_n_shards": shard_summary(&out_n),
    });
    let (in_1, in_n, out_1, out_n) = (best(&in_1), best(&in_n), best(&out_1), best(&out_n));
    Ok(json!({
        "shards": n,
        "shard_flows": n,
        "shard_bytes": total,
        "shard_runs": runs,
        "kernel_to_synack_1_shard_gbps": in_1,
        "kernel_to_synack_n_shards_gbps": in_n,
        "synack_to_kernel_1_shard_gbps": out_1,
        "synack_to_kernel_n_shards_gbps": out_n,
        "kernel_to_synack_n_vs_1_shards": in_n / in_1,
        "synack_to_kernel_n_vs_1_shards": out_n / out_1,
        "shard_handoff_packets": handed,
        "shard_runs_detail": detail,
    }))
}

/// Runs the group with `mb` MiB per transfer, the best of `runs` for each figure, with
/// synack's socket buffers at `buffer` bytes (`None`: the stack's default); the JSON member,
/// or why it cannot run.
pub(crate) fn run(mb: usize, runs: usize, buffer: Option<usize>) -> Result<Value, String> {
    if let Some(why) = skip_reason() {
        return Err(why);
    }
    let total = mb << 20;
    let on = TunOptions::default();
    let off = TunOptions::PLAIN;
    // Best of `runs` by throughput (the machine is shared; the best run is the least
    // disturbed), CPU from the same run. Three variants alternate run by run, so a change in
    // the machine's load hits each alike: the default (io_uring), one system
    // call per packet, and the device's writer thread the other way (off for plain packets,
    // on with offloads). Returns the default, the system calls, and the runs with the writer
    // thread and without it (one of which is the default).
    let best = |opts: TunOptions, inbound| -> Result<[Measure; 4], String> {
        let flipped = opts.with_tx_thread(!opts.tx_thread);
        let variants = [opts, opts.with_io_uring(false), flipped].map(|o| (o, None));
        let mut variants: [(TunOptions, Option<Measure>); 3] = variants;
        for _ in 0..runs.max(1) {
            for (o, best) in &mut variants {
                let m = synack_over_tun(*o, inbound, total, buffer)?;
                if best.as_ref().is_none_or(|b| m.gbps > b.gbps) {
                    *best = Some(m);
                }
            }
        }
        let [a, b, c] = variants.map(|v| v.1);
        let (a, b, c) = (a.ok_or("no run")?, b.ok_or("no run")?, c.ok_or("no run")?);
        let copy = |m: &Measure| Measure { gbps: m.gbps, cpu: m.cpu };
        let (on, off) = if opts.tx_thread { (copy(&a), c) } else { (c, copy(&a)) };
        Ok([a, b, on, off])
    };
    let veth = |offloads| -> Result<f64, String> {
        let mut best = 0.0f64;
        for _ in 0..runs.max(1) {
            best = best.max(kernel_over_veth(offloads, total)?);
        }
        Ok(best)
    };
    let [in_on, in_on_calls, in_on_thread, in_on_inline] = best(on, true)?;
    let [out_on, out_on_calls, out_on_thread, out_on_inline] = best(on, false)?;
    let [in_off, in_off_calls, in_off_thread, in_off_inline] = best(off, true)?;
    let [out_off, out_off_calls, out_off_thread, out_off_inline] = best(off, false)?;
    let veth_on = veth(true)?;
    let veth_off = veth(false)?;
    let shards = run_shards(mb, runs)?;
    let mut v = json!({
        "bytes": total,
        "runs": runs,
        "synack_buffer_bytes": buffer.unwrap_or(StackConfig::default().endpoint.conn.send_buffer),
        "kernel_to_synack_offload_gbps": in_on.gbps,
        "synack_to_kernel_offload_gbps": out_on.gbps,
        "kernel_to_synack_plain_gbps": in_off.gbps,
        "synack_to_kernel_plain_gbps": out_off.gbps,
        "kernel_veth_offload_gbps": veth_on,
        "kernel_veth_plain_gbps": veth_off,
        "cpu_s_per_gb_kernel_to_synack_offload": in_on.cpu_per_gb(total),
        "cpu_s_per_gb_synack_to_kernel_offload": out_on.cpu_per_gb(total),
        "cpu_s_per_gb_kernel_to_synack_plain": in_off.cpu_per_gb(total),
        "cpu_s_per_gb_synack_to_kernel_plain": out_off.cpu_per_gb(total),
        "kernel_to_synack_offload_syscalls_gbps": in_on_calls.gbps,
        "synack_to_kernel_offload_syscalls_gbps": out_on_calls.gbps,
        "kernel_to_synack_plain_syscalls_gbps": in_off_calls.gbps,
        "synack_to_kernel_plain_syscalls_gbps": out_off_calls.gbps,
        "kernel_to_synack_offload_uring_vs_syscalls": in_on.gbps / in_on_calls.gbps,
        "synack_to_kernel_offload_uring_vs_syscalls": out_on.gbps / out_on_calls.gbps,
        "kernel_to_synack_plain_uring_vs_syscalls": in_off.gbps / in_off_calls.gbps,
        "synack_to_kernel_plain_uring_vs_syscalls": out_off.gbps / out_off_calls.gbps,
        "cpu_s_per_gb_kernel_to_synack_offload_syscalls": in_on_calls.cpu_per_gb(total),
        "cpu_s_per_gb_synack_to_kernel_offload_syscalls": out_on_calls.cpu_per_gb(total),
        "cpu_s_per_gb_kernel_to_synack_plain_syscalls": in_off_calls.cpu_per_gb(total),
        "cpu_s_per_gb_synack_to_kernel_plain_syscalls": out_off_calls.cpu_per_gb(total),
        "kernel_to_synack_offload_vs_plain": in_on.gbps / in_off.gbps,
        "synack_to_kernel_offload_vs_plain": out_on.gbps / out_off.gbps,
        "kernel_to_synack_offload_vs_veth_offload": in_on.gbps / veth_on,
        "synack_to_kernel_offload_vs_veth_offload": out_on.gbps / veth_on,
        "kernel_to_synack_plain_vs_veth_plain": in_off.gbps / veth_off,
        "synack_to_kernel_plain_vs_veth_plain": out_off.gbps / veth_off,
    });
    // The writer thread's figures (in a second object: one `json!` this large exceeds the
    // macro's recursion limit).
    let inline = json!({
        "kernel_to_synack_offload_inline_gbps": in_on_inline.gbps,
        "synack_to_kernel_offload_inline_gbps": out_on_inline.gbps,
        "kernel_to_synack_plain_inline_gbps": in_off_inline.gbps,
        "synack_to_kernel_plain_inline_gbps": out_off_inline.gbps,
        "kernel_to_synack_offload_tx_thread_gbps": in_on_thread.gbps,
        "kernel_to_synack_offload_tx_thread_vs_inline": in_on_thread.gbps / in_on_inline.gbps,
        "cpu_s_per_gb_kernel_to_synack_offload_tx_thread": in_on_thread.cpu_per_gb(total),
        "synack_to_kernel_offload_tx_thread_gbps": out_on_thread.gbps,
        "synack_to_kernel_offload_tx_thread_vs_inline": out_on_thread.gbps / out_on_inline.gbps,
        "cpu_s_per_gb_synack_to_kernel_offload_tx_thread": out_on_thread.cpu_per_gb(total),
        "kernel_to_synack_plain_tx_thread_gbps": in_off_thread.gbps,
        "kernel_to_synack_plain_tx_thread_vs_inline": in_off_thread.gbps / in_off_inline.gbps,
        "cpu_s_per_gb_kernel_to_synack_plain_tx_thread": in_off_thread.cpu_per_gb(total),
        "synack_to_kernel_plain_tx_thread_gbps": out_off_thread.gbps,
        "synack_to_kernel_plain_tx_thread_vs_inline": out_off_thread.gbps / out_off_inline.gbps,
        "cpu_s_per_gb_synack_to_kernel_plain_tx_thread": out_off_thread.cpu_per_gb(total),
        "cpu_s_per_gb_kernel_to_synack_offload_inline": in_on_inline.cpu_per_gb(total),
        "cpu_s_per_gb_synack_to_kernel_offload_inline": out_on_inline.cpu_per_gb(total),
        "cpu_s_per_gb_kernel_to_synack_plain_inline": in_off_inline.cpu_per_gb(total),
        "cpu_s_per_gb_synack_to_kernel_plain_inline": out_off_inline.cpu_per_gb(total),
    });
    for more in [inline, shards] {
        if let (Some(all), Value::Object(more)) = (v.as_object_mut(), more) {
            all.extend(more);
        }
    }
    Ok(v)
}
