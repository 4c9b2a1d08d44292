//! `synack decode HEX`: parse one IP packet and print its tcpdump-style line.

use std::process::ExitCode;

/// Arguments of `synack decode`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The packet, starting at the IP header, as hex (spaces and colons allowed).
    hex: String,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let _ = args.hex;
    anyhow::bail!("decode is not built yet (synack-wire in progress)")
}
