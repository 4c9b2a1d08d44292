//! `synack stats`: TCP conversations (like `tshark -z conv,tcp`) with retransmissions,
//! handshake RTT and how each ended.

use anyhow::Context;
use std::process::ExitCode;
use synack_analyze::capture::CaptureReader;
use synack_analyze::stats::{render, stats};

/// Arguments of `synack stats`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Capture file to read (pcap or pcapng).
    #[arg(short = 'r')]
    file: std::path::PathBuf,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let reader =
        CaptureReader::open(&args.file).with_context(|| format!("{}", args.file.display()))?;
    let s = stats(reader);
    print!("{}", render(&s));
    if let Some(e) = s.error {
        anyhow::bail!("{}: {e}", args.file.display());
    }
    Ok(ExitCode::SUCCESS)
}
