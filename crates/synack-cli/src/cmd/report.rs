//! `synack report`: one self-contained HTML page for a capture (conversation table, and per
//! stream its ladder, graphs and expert notes), to open in any browser without a network.

use anyhow::Context;
use std::process::ExitCode;
use synack_analyze::capture::CaptureReader;

/// Arguments of `synack report`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Capture file to read (pcap or pcapng).
    #[arg(short = 'r')]
    file: std::path::PathBuf,
    /// The HTML page to write.
    #[arg(short = 'o', value_name = "FILE")]
    out: std::path::PathBuf,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let title = args.file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let page = synack_analyze::report::report(&title, || CaptureReader::open(&args.file))
        .with_context(|| format!("{}", args.file.display()))?;
    std::fs::write(&args.out, page).with_context(|| format!("writing {}", args.out.display()))?;
    println!("wrote {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}
