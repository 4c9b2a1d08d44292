//! A synack stack on a TUN device: the options `serve` and `connect` share, and the setup.
//!
//! The TUN device is created (or attached to, if it exists), the kernel's side gets the
//! address `--kernel-addr`, and synack answers for `--addr`. Both must lie in one prefix, so
//! the kernel routes the prefix into the TUN device and synack reaches the kernel directly.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, bail};
use synack::runtime::StackConfig;
use synack::{Clock, IpCidr, Shards, Stack};
use synack_stack::Medium;
use synack_stack::phy::{CaptureFormat, CaptureWriter, FrameRing, PcapTap};
use synack_tcp::Event;
use synack_tun::{TunDevice, TunOptions, config};

/// An address with its prefix length, `A/N`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cidr(pub(crate) IpCidr);

impl FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (a, n) = s.split_once('/').ok_or_else(|| format!("{s:?} is not ADDRESS/PREFIX"))?;
        let a = a.parse().map_err(|e| format!("{a:?}: {e}"))?;
        let n: u8 = n.parse().map_err(|e| format!("prefix {n:?}: {e}"))?;
        IpCidr::new(a, n).map(Cidr).map_err(|e| e.to_string())
    }
}

/// Options of a stack on a TUN device.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct TunArgs {
    /// Name of the TUN device to create or attach to.
    #[arg(long, value_name = "IFNAME")]
    pub(crate) tun: String,
    /// synack's address and prefix, e.g. 10.7.0.2/24.
    #[arg(long, value_name = "A/N")]
    pub(crate) addr: Cidr,
    /// The kernel's address on the TUN device, in the same prefix, e.g. 10.7.0.1/24.
    #[arg(long = "kernel-addr", value_name = "K/N")]
    pub(crate) kernel_addr: Cidr,
    /// MTU of the TUN device.
    #[arg(long, default_value_t = 1500, value_parser = clap::value_parser!(u32).range(1280..=65535))]
    pub(crate) mtu: u32,
    /// Capture every frame synack sends and receives into FILE (pcap).
    #[arg(long, value_name = "FILE")]
    pub(crate) pcap: Option<PathBuf>,
    /// Plain packets on the TUN device: synack computes every checksum and sends MTU-sized
    /// segments itself, so a capture on the kernel's side shows them complete. Without it
    /// the device uses the offloads the kernel agrees to (super-segments and partial
    /// checksums both ways).
    #[arg(long)]
    pub(crate) no_offload: bool,
    /// One `read` or `write` system call per packet on the TUN device instead of a batch of
    /// them per `io_uring_enter` (io_uring is used where the kernel allows it otherwise).
    #[arg(long)]
    pub(crate) no_io_uring: bool,
}

/// The device the stack drives: the TUN device behind the pcap tap (file optional).
type Dev = PcapTap<TunDevice, Box<dyn Write + Send>>;

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
}

/// Creates or attaches the TUN device, configures the kernel side and starts the stack.
pub(crate) fn start(args: &TunArgs) -> anyhow::Result<Arc<Stack>> {
    start_in(args, None)
}

/// Like [`start`], with the TUN device created inside the named network namespace (the
/// stack itself runs in ours; the device's descriptor stays bound to that namespace).
pub(crate) fn start_in(args: &TunArgs, netns: Option<&str>) -> anyhow::Result<Arc<Stack>> {
    check_addrs(args)?;
    let a = args.addr.0;
    let dev = match netns {
        None => open_tun(args)?,
        Some(ns) => {
            let (ns, args2) = (ns.to_string(), args.clone());
            // Namespaces are per thread: enter it on a thread of its own, and `ip` (run
            // from that thread) configures the device there too.
            std::thread::spawn(move || -> anyhow::Result<TunDevice> {
                synack_tun::netns::enter(&ns).with_context(|| format!("entering netns {ns}"))?;
                open_tun(&args2)
            })
            .join()
            .map_err(|_| anyhow::anyhow!("the TUN setup thread panicked"))??
        }
    };
    let clock = Clock::start();
    let dev: Dev = capture_tap(dev, args.pcap.as_deref(), &clock)?;
    let cfg = StackConfig { addresses: vec![a], ..StackConfig::default() };
    let stack = Stack::new(dev, cfg, clock).context("starting the stack")?;
    Ok(Arc::new(stack))
}

/// Like [`start`], with `shards` stacks on as many queues of a multi-queue TUN device, each
/// read by its own driver thread (see `synack::Shards`); one shard is [`start`]'s plain
/// device and stack. A capture (`--pcap`) sees one queue only, so it needs one shard.
pub(crate) fn start_sharded(args: &TunArgs, shards: usize) -> anyhow::Result<Arc<Shards>> {
    if shards == 0 {
        bail!("--shards must be at least 1");
    }
    check_addrs(args)?;
    let clock = Clock::start();
    // A server: its connections' memory is allocated and freed by the drivers only, so it
    // goes back to the system after a load peak (`StackConfig::caller_passes`).
    let cfg = StackConfig {
        addresses: vec![args.addr.0],
        caller_passes: false,
        ..StackConfig::default()
    };
    let devs: Vec<Dev> = if shards == 1 {
        vec![capture_tap(open_tun(args)?, args.pcap.as_deref(), &clock)?]
    } else {
        if args.pcap.is_some() {
            bail!("--pcap captures one device queue: use it with --shards 1");
        }
        match open_tun_queues(args, shards) {
            Ok(queues) => queues
                .into_iter()
                .map(|d| capture_tap(d, None, &clock))
                .collect::<anyhow::Result<_>>()?,
            Err(e) => {
                // An existing device made without IFF_MULTI_QUEUE takes one reader only.
                let one = open_tun(args).map_err(|_| e)?;
                eprintln!("synack: {} is not a multi-queue device: one shard", args.tun);
                vec![capture_tap(one, None, &clock)?]
            }
        }
    };
    let shards = Shards::new(devs, cfg, clock).context("starting the stacks")?;
    Ok(Arc::new(shards))
}

/// The address checks [`start`] and [`start_sharded`] share.
fn check_addrs(args: &TunArgs) -> anyhow::Result<()> {
    let (a, k) = (args.addr.0, args.kernel_addr.0);
    if a.addr().is_ipv4() != k.addr().is_ipv4() {
        bail!("--addr {a} and --kernel-addr {k} are of different IP versions");
    }
    if a.addr() == k.addr() {
        bail!("--addr and --kernel-addr must differ");
    }
    if !k.contains(a.addr()) || !a.contains(k.addr()) {
        bail!("--addr {a} and --kernel-addr {k} must lie in one prefix");
    }
    Ok(())
}

/// Opens the TUN device and gives the kernel its address, in this thread's namespace.
/// `dev` behind a pcap tap that writes every frame to `pcap` (created here), timestamped from
/// `clock`; without a path the tap only passes frames through.
pub(crate) fn capture_tap<D: synack_stack::Device>(
    dev: D,
    pcap: Option<&std::path::Path>,
    clock: &Clock,
) -> anyhow::Result<PcapTap<D, Box<dyn Write + Send>>> {
    let file = match pcap {
        Some(p) => {
            let f = File::create(p).with_context(|| format!("creating {}", p.display()))?;
            let w: Box<dyn Write + Send> = Box::new(BufWriter::new(f));
            Some(
                CaptureWriter::new(w, CaptureFormat::Pcap, Medium::Ip, clock.wall_origin())
                    .context("starting the capture")?,
            )
        }
        None => None,
    };
    Ok(PcapTap::new(dev, file, FrameRing::new(0, 0)))
}

fn open_tun(args: &TunArgs) -> anyhow::Result<TunDevice> {
    let opts = tun_options(args);
    let dev = TunDevice::open_with(&args.tun, args.mtu as usize, opts)
        .map_err(|e| open_error(args, e))?;
    configure(args, dev.name())?;
    Ok(dev)
}

/// Opens `queues` queues of a multi-queue TUN device and configures it as [`open_tun`] does.
fn open_tun_queues(args: &TunArgs, queues: usize) -> anyhow::Result<Vec<TunDevice>> {
    let devs = TunDevice::open_queues(&args.tun, args.mtu as usize, tun_options(args), queues)
        .map_err(|e| open_error(args, e))?;
    configure(args, devs[0].name())?;
    Ok(devs)
}

fn tun_options(args: &TunArgs) -> TunOptions {
    let opts = if args.no_offload { TunOptions::PLAIN } else { TunOptions::default() };
    opts.with_io_uring(!args.no_io_uring)
}

fn open_error(args: &TunArgs, e: std::io::Error) -> anyhow::Error {
    let hint = if is_root() { "" } else { " (creating a TUN device needs root or CAP_NET_ADMIN)" };
    anyhow::anyhow!("opening TUN device {}: {e}{hint}", args.tun)
}

/// Gives the kernel's side of the device `name` its MTU and address and brings it up.
fn configure(args: &TunArgs, name: &str) -> anyhow::Result<()> {
    let k = args.kernel_addr.0;
    let name = name.to_string();
    config::set_mtu(&name, args.mtu).with_context(|| format!("setting the MTU of {name}"))?;
    if let Err(e) = config::add_address(&name, k.addr(), k.prefix()) {
        // Attaching to a configured device: the address may be there already.
        let shown = std::process::Command::new("ip")
            .args(["addr", "show", "dev", &name])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).contains(&format!("{}/", k.addr())))
            .unwrap_or(false);
        if !shown {
            return Err(e).with_context(|| format!("giving {name} the kernel address {k}"));
        }
    }
    config::set_up(&name).with_context(|| format!("bringing {name} up"))?;
    Ok(())
}

/// Prints every connection's state changes and errors on stderr (from the stack's passes).
/// Chained in front of the async sockets' wakers, so the stack can serve tokio sockets.
pub(crate) fn print_events(stack: &Arc<Stack>) {
    synack::tokio::set_event_hook(
        stack,
        Some(Box::new(|ev| match ev {
            Event::StateChanged { conn, old, new } => eprintln!("{conn}: {old} -> {new}"),
            Event::Error { conn, error } => eprintln!("{conn}: {error}"),
            _ => {}
        })),
    );
}

/// A flag raised by Ctrl-C or SIGTERM; installed once per process.
pub(crate) fn stop_flag() -> anyhow::Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    ctrlc::set_handler(move || f.store(true, Ordering::SeqCst))
        .context("installing the Ctrl-C handler")?;
    Ok(flag)
}

/// Like [`stop_flag`], for async code: the value turns true on Ctrl-C or SIGTERM (or when the
/// caller sends it); subscribe to wait for it.
pub(crate) fn stop_watch() -> anyhow::Result<Arc<tokio::sync::watch::Sender<bool>>> {
    let tx = Arc::new(tokio::sync::watch::Sender::new(false));
    let t = tx.clone();
    ctrlc::set_handler(move || {
        t.send_replace(true);
    })
    .context("installing the Ctrl-C handler")?;
    Ok(tx)
}

/// Stops the stack (joins the driver, which closes the capture file).
pub(crate) fn finish(stack: Arc<Stack>) {
    match Arc::try_unwrap(stack) {
        Ok(s) => s.shutdown(),
        // Sockets still hold it: dropping the last of them stops it.
        Err(s) => drop(s),
    }
}
