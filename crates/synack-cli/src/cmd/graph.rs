//! `synack graph`: time-sequence, throughput, RTT and window graphs of one TCP stream, as SVG.

use anyhow::Context;
use std::process::ExitCode;
use synack_analyze::capture::CaptureReader;
use synack_analyze::graph::{Kind, graph_svg};
use synack_analyze::segments::collect;

/// Arguments of `synack graph`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Capture file to read (pcap or pcapng).
    #[arg(short = 'r')]
    file: std::path::PathBuf,
    /// The TCP stream (`tcp.stream` numbering).
    #[arg(long, default_value_t = 0)]
    stream: u32,
    /// tseq, throughput, rtt or window.
    #[arg(long)]
    kind: Kind,
    /// Output SVG file.
    #[arg(long)]
    svg: std::path::PathBuf,
    /// Start of the time range to draw (seconds since the stream's first segment).
    #[arg(long)]
    from: Option<f64>,
    /// End of the time range to draw.
    #[arg(long)]
    to: Option<f64>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let reader =
        CaptureReader::open(&args.file).with_context(|| format!("{}", args.file.display()))?;
    let data = collect(reader, |s| s == args.stream);
    let Some(conv) = data.conversations.get(args.stream as usize) else {
        anyhow::bail!(
            "no TCP stream {} (the capture has {})",
            args.stream,
            data.conversations.len()
        );
    };
    let title =
        format!("stream {} {}:{} - {}:{}", conv.stream, conv.a.0, conv.a.1, conv.b.0, conv.b.1);
    let svg = graph_svg(
        &data.segments,
        args.kind,
        &title,
        (args.from.is_some() || args.to.is_some())
            .then(|| (args.from.unwrap_or(0.0), args.to.unwrap_or(f64::MAX))),
    )?;
    std::fs::write(&args.svg, svg).with_context(|| format!("writing {}", args.svg.display()))?;
    println!("wrote {}", args.svg.display());
    if let Some(e) = data.error {
        anyhow::bail!("{}: {e}", args.file.display());
    }
    Ok(ExitCode::SUCCESS)
}
