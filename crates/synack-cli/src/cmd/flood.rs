//! `synack flood`: spoofed SYNs onto a network device, for the SYN-flood benchmark
//! (`crates/synack-cli/bench/synflood.sh`, which runs it inside a namespace of its own against
//! the TUN device `synack serve` reads). Root only (a packet socket); prints one JSON object.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use crate::synflood::packets::SynMaker;
use crate::synflood::socket::PacketSocket;

/// Packets per `sendmmsg`.
const BATCH: usize = 64;

/// Arguments of `synack flood`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The device to put the SYNs on (the kernel's side of a TUN device).
    #[arg(long, value_name = "IFACE")]
    dev: String,
    /// Where the SYNs go.
    #[arg(long, value_name = "ADDR:PORT")]
    target: SocketAddrV4,
    /// Spoofed source addresses, FIRST-LAST inclusive (the target's own address is skipped).
    #[arg(long, value_name = "FIRST-LAST", value_parser = parse_range)]
    sources: (Ipv4Addr, Ipv4Addr),
    /// Seconds to send for.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    secs: f64,
    /// SYNs per second; 0 sends as fast as the device takes them.
    #[arg(long, value_name = "N", default_value_t = 0)]
    rate: u64,
    /// Seed of the sources, ports and sequence numbers.
    #[arg(long, value_name = "N", default_value_t = 1)]
    seed: u64,
}

fn parse_range(s: &str) -> Result<(Ipv4Addr, Ipv4Addr), String> {
    let (a, b) = s.split_once('-').ok_or("expected FIRST-LAST, e.g. 10.0.0.3-10.0.0.254")?;
    let a = a.trim().parse().map_err(|e| format!("{a}: {e}"))?;
    let b = b.trim().parse().map_err(|e| format!("{b}: {e}"))?;
    Ok((a, b))
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.secs.is_finite() && args.secs > 0.0, "--secs must be positive");
    let mut maker = SynMaker::new(args.target, args.sources.0, args.sources.1, args.seed)?;
    let sock = PacketSocket::open(&args.dev)
        .with_context(|| format!("packet socket on {} (needs root)", args.dev))?;
    let out = crate::synflood::run::<BATCH>(
        &sock,
        &mut maker,
        args.rate,
        Duration::from_secs_f64(args.secs),
    )?;
    // Offered: every SYN the generator tried to put on the device. Refused ones found the
    // device's queue full, as a NIC ring overflowing drops them.
    let secs = out.secs.max(1e-9);
    println!(
        "{{\"offered\":{},\"sent\":{},\"refused\":{},\"secs\":{:.3},\"rate\":{:.0},\"sent_rate\":{:.0}}}",
        out.sent + out.refused,
        out.sent,
        out.refused,
        out.secs,
        (out.sent + out.refused) as f64 / secs,
        out.sent as f64 / secs
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_ranges() {
        let r = parse_range("10.0.0.3-10.0.0.254").unwrap();
        assert_eq!(r, (Ipv4Addr::new(10, 0, 0, 3), Ipv4Addr::new(10, 0, 0, 254)));
        assert!(parse_range("10.0.0.3").is_err());
        assert!(parse_range("10.0.0.3-x").is_err());
    }
}
