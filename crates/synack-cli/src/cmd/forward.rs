//! `synack forward`: a tun2socks. Every TCP connection and UDP flow that arrives on the TUN
//! device, whatever its destination, is relayed to that destination through the host's own
//! sockets, or through a SOCKS5 proxy. Runs until Ctrl-C or SIGTERM.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::forward::socks5::Credentials;
use crate::forward::status::{self, Counters};
use crate::forward::tun::{self, TunSide};
use crate::forward::upstream::{SocketOpts, Upstream};
use crate::tunhost::Cidr;

/// Arguments of `synack forward`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Its own upstream traffic must not be routed back into the TUN device: \
    give --bind-interface (the way out) or --fwmark with an `ip rule` (see docs/FORWARD.md).")]
pub(crate) struct Args {
    /// Name of the TUN device to create or attach to.
    #[arg(long, value_name = "IFNAME")]
    tun: String,
    /// The TUN device's address and prefix, e.g. 10.0.0.1/24 (the clients' source); repeat
    /// for the other IP version.
    #[arg(long, value_name = "A/N", required = true)]
    addr: Vec<Cidr>,
    /// MTU of the TUN device.
    #[arg(long, default_value_t = 1500, value_parser = clap::value_parser!(u32).range(1280..=65535))]
    mtu: u32,
    /// Relay through this SOCKS5 proxy (CONNECT for TCP, UDP ASSOCIATE for UDP) instead of
    /// connecting directly.
    #[arg(long, value_name = "HOST:PORT")]
    socks5: Option<String>,
    /// Username for the proxy (RFC 1929); needs --pass.
    #[arg(long, value_name = "U", requires = "socks5", requires = "pass")]
    user: Option<String>,
    /// Password for the proxy; needs --user.
    #[arg(long, value_name = "P", requires = "user")]
    pass: Option<String>,
    /// Send all upstream traffic out of this interface (SO_BINDTODEVICE).
    #[arg(long, value_name = "IFNAME")]
    bind_interface: Option<String>,
    /// Mark all upstream traffic with this firewall mark (SO_MARK), for an `ip rule` to route.
    #[arg(long, value_name = "N", value_parser = parse_mark)]
    fwmark: Option<u32>,
    /// Seconds an upstream connect (or the proxy's answer) may take before the client is
    /// refused.
    #[arg(long, value_name = "SECS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=600))]
    connect_timeout: u64,
    /// Seconds a UDP flow may stay silent before it is closed.
    #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86400))]
    udp_idle: u64,
    /// Seconds between counter log lines when stderr is not a terminal.
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=86400))]
    stats_interval: u64,
    /// Capture every frame synack sends and receives on the TUN device into FILE (pcap).
    #[arg(long, value_name = "FILE")]
    pcap: Option<PathBuf>,
    /// One `read` or `write` system call per packet on the TUN device instead of a batch of
    /// them per `io_uring_enter` (io_uring is used where the kernel allows it otherwise).
    #[arg(long)]
    no_io_uring: bool,
}

/// A mark in decimal or 0x hex, as `ip rule` writes it.
fn parse_mark(s: &str) -> Result<u32, String> {
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16),
        None => s.parse(),
    };
    match r {
        Ok(0) => Err("a mark of 0 is no mark".into()),
        Ok(m) => Ok(m),
        Err(e) => Err(format!("{s:?}: {e}")),
    }
}

/// Resolves HOST:PORT once, at start.
fn resolve(s: &str) -> anyhow::Result<SocketAddr> {
    s.to_socket_addrs()
        .with_context(|| format!("--socks5 {s:?}: not HOST:PORT, or the name does not resolve"))?
        .next()
        .with_context(|| format!("--socks5 {s:?}: the name resolves to no address"))
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut families = [false; 2];
    for c in &args.addr {
        let f = &mut families[usize::from(c.0.addr().is_ipv6())];
        if *f {
            bail!("--addr given twice for one IP version ({})", c.0);
        }
        *f = true;
    }
    if let Some(ifname) = &args.bind_interface {
        if !std::path::Path::new("/sys/class/net").join(ifname).exists() {
            bail!("--bind-interface {ifname}: no such interface");
        }
        if *ifname == args.tun {
            bail!("--bind-interface must not be the TUN device itself");
        }
    }
    let opts = SocketOpts { bind_interface: args.bind_interface.clone(), fwmark: args.fwmark };
    let timeout = Duration::from_secs(args.connect_timeout);
    let upstream = match &args.socks5 {
        None => Upstream::Direct { opts, timeout },
        Some(p) => {
            let creds = match (&args.user, &args.pass) {
                (Some(u), Some(p)) => {
                    Some(Credentials::new(u.clone(), p.clone()).map_err(anyhow::Error::msg)?)
                }
                _ => None,
            };
            Upstream::Socks5 { proxy: resolve(p)?, creds, opts, timeout }
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    rt.block_on(async {
        // A proxy that cannot be reached or refuses our login is said at once.
        upstream.check().await.context("checking the SOCKS5 proxy")?;
        let side = TunSide::open(&tun::TunOptions {
            name: args.tun.clone(),
            addrs: args.addr.iter().map(|c| c.0).collect(),
            mtu: args.mtu,
            pcap: args.pcap.clone(),
            io_uring: !args.no_io_uring,
        })?;
        let via = match &upstream {
            Upstream::Direct { .. } => "directly".to_string(),
            Upstream::Socks5 { proxy, .. } => format!("through SOCKS5 proxy {proxy}"),
        };
        eprintln!("forward: relaying TCP and UDP arriving on {} {via}; Ctrl-C stops", side.name());
        let counters = Arc::new(Counters::default());
        let upstream = Arc::new(upstream);
        let idle = Duration::from_secs(args.udp_idle);
        let reporter = tokio::spawn(status::report(
            counters.clone(),
            Duration::from_secs(args.stats_interval),
        ));
        let outcome = tokio::select! {
            r = side.run(upstream, counters.clone(), idle) => r,
            r = stop_signal() => r,
        };
        reporter.abort();
        eprintln!("{}forward: stopped: {}", status::clear_line(), counters.line());
        outcome.map(|()| ExitCode::SUCCESS)
    })
}

/// Resolves on Ctrl-C or SIGTERM.
async fn stop_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("installing the Ctrl-C handler"),
        _ = term.recv() => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_parse_in_decimal_and_hex() {
        assert_eq!(parse_mark("100"), Ok(100));
        assert_eq!(parse_mark("0x1f"), Ok(31));
        assert!(parse_mark("0").is_err());
        assert!(parse_mark("ten").is_err());
    }
}
