//! `synack serve`: a small TCP service (echo, discard, chargen or hello) served by synack on a
//! TUN device, for the kernel (nc, telnet, curl, python) to talk to. Runs until Ctrl-C.
//!
//! The server runs on synack's tokio API, one task per connection (see `crate::server` for
//! how it stays up under load: accept errors by kind, keep-alive, user and idle timeouts).

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use synack_tcp::KeepAlive;

use crate::server::{self, Counters, Policy};
use crate::services::Kind;
use crate::tunhost::{self, TunArgs};

/// Arguments of `synack serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The service: echo (the notes' Echo server), discard, chargen or hello.
    #[arg(value_name = "SERVICE")]
    service: Kind,
    #[command(flatten)]
    tun: TunArgs,
    /// Port to listen on (default: 7 echo, 9 discard, 19 chargen, 2333 hello).
    #[arg(long, value_name = "P")]
    port: Option<u16>,
    /// Print the SHA-256 of what each connection received (costs CPU on bulk transfers).
    #[arg(long)]
    sha256: bool,
    /// Stop after this many connections have finished (default: run until interrupted).
    #[arg(long, value_name = "N")]
    count: Option<u64>,
    /// Stacks on as many queues of a multi-queue TUN device, each read by a driver thread of
    /// its own (default: one per core, or 1 with --pcap, which captures one queue; 1: a plain
    /// TUN device and one stack).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=64))]
    shards: Option<u64>,
    #[command(flatten)]
    limits: LimitArgs,
}

/// How a server reaps dead and idle peers, shared by `serve` and `lab`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct LimitArgs {
    /// Seconds a connection may be quiet before keep-alive probes start (0: no keep-alive).
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    keepalive_idle: u64,
    /// Seconds between unanswered keep-alive probes.
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    keepalive_interval: u64,
    /// Unanswered keep-alive probes before the connection is reset.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(2..))]
    keepalive_probes: u32,
    /// Seconds sent data may stay unacknowledged before the connection is aborted (0: no limit).
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    user_timeout: u64,
    /// Seconds a peer may send nothing (and take nothing) before the server closes (0: never).
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    idle_timeout: u64,
    /// Accept-queue length of each listener.
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    backlog: u64,
    /// No line per connection and no state changes on stderr (for load tests).
    #[arg(long, short)]
    quiet: bool,
}

impl LimitArgs {
    /// The server policy these flags ask for.
    pub(crate) fn policy(&self, hash: bool) -> Policy {
        let secs = |s: u64| (s > 0).then(|| Duration::from_secs(s));
        Policy {
            keep_alive: secs(self.keepalive_idle).map(|idle| KeepAlive {
                idle,
                interval: Duration::from_secs(self.keepalive_interval),
                probes: self.keepalive_probes,
            }),
            user_timeout: secs(self.user_timeout),
            idle_timeout: secs(self.idle_timeout),
            backlog: self.backlog as usize,
            verbose: !self.quiet,
            hash,
        }
    }

    /// Whether to print per-connection lines and events.
    pub(crate) fn quiet(&self) -> bool {
        self.quiet
    }
}

/// How often `serve` looks whether its listener went into or out of SYN-cookie mode.
const COOKIE_CHECK: Duration = Duration::from_secs(1);

/// How often a server looks whether a load peak has passed and memory can go back.
pub(crate) const TRIM_PERIOD: Duration = Duration::from_secs(10);

pub(crate) fn default_port(k: Kind) -> u16 {
    match k {
        Kind::Echo => 7,
        Kind::Discard => 9,
        Kind::Chargen => 19,
        Kind::Hello => 2333,
    }
}

/// The tokio runtime the servers run on: two worker threads (the stack's driver has its own).
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .context("starting the tokio runtime")
}

/// Runs `synack serve`.
pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let stop = tunhost::stop_watch()?;
    let n = match (args.shards, &args.tun.pcap) {
        (Some(n), _) => n as usize,
        (None, Some(_)) => 1,
        (None, None) => synack::runtime::default_shard_count(),
    };
    let shards = tunhost::start_sharded(&args.tun, n)?;
    if !args.limits.quiet() {
        for stack in shards.stacks() {
            tunhost::print_events(stack);
        }
    }
    let port = args.port.unwrap_or_else(|| default_port(args.service));
    let addr = SocketAddr::new(args.tun.addr.0.addr(), port);
    let policy = args.limits.policy(args.sha256);
    let rt = runtime()?;
    let r = rt.block_on(async {
        let listener = server::listen_sharded(&shards, addr, &policy)
            .with_context(|| format!("listening on {addr}"))?;
        let queues = if n == 1 { String::new() } else { format!(" ({n} queues, a stack each)") };
        println!(
            "synack serves {} on {addr} through {}{queues}; the kernel is {}. Ctrl-C stops.",
            args.service, args.tun.tun, args.tun.kernel_addr.0
        );
        let _ = std::io::stdout().flush();
        let counters = Arc::new(Counters::default());
        let stacks = shards.stacks().to_vec();
        let trim = tokio::spawn(server::trim_after_peaks(TRIM_PERIOD, stacks.clone()));
        let cookies = tokio::spawn(server::report_cookie_mode(stacks, COOKIE_CHECK));
        let r = server::accept_loop(
            listener,
            args.service,
            policy,
            stop.subscribe(),
            args.count,
            counters,
        )
        .await;
        trim.abort();
        cookies.abort();
        r
    });
    drop(rt);
    println!("{}", server::listen_summary(&server::listen_counters(shards.stacks())));
    if n > 1 {
        let h = shards.handoff_stats();
        println!(
            "shards: {} packets read by one shard for another's flow, {} taken in, {} dropped \
             ({} of them not SYNs)",
            h.handed, h.received, h.dropped, h.dropped_others
        );
    }
    // Stops every driver (and closes the capture file) once the last socket is gone.
    drop(shards);
    println!("stopped");
    r.map(|()| ExitCode::SUCCESS)
}
