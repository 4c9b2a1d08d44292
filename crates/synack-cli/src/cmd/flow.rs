//! `synack flow`: the ladder diagram of TCP connections in a capture, with each end's state.

use anyhow::Context;
use std::io::Write;
use std::process::ExitCode;
use synack_analyze::capture::CaptureReader;
use synack_analyze::flow::{ladder_svg, ladder_text};
use synack_analyze::segments::collect;

/// Arguments of `synack flow`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Capture file to read (pcap or pcapng).
    #[arg(short = 'r')]
    file: std::path::PathBuf,
    /// Only this TCP stream (`tcp.stream` numbering); default: every stream as text, stream 0
    /// as SVG.
    #[arg(long)]
    stream: Option<u32>,
    /// Write the ladder as SVG to this file instead of text to the terminal.
    #[arg(long)]
    svg: Option<std::path::PathBuf>,
    /// Draw at most this many segments per stream.
    #[arg(long)]
    limit: Option<usize>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let reader =
        CaptureReader::open(&args.file).with_context(|| format!("{}", args.file.display()))?;
    let want = if args.svg.is_some() { Some(args.stream.unwrap_or(0)) } else { args.stream };
    let data = collect(reader, |s| want.is_none_or(|w| w == s));
    let streams: Vec<u32> = match want {
        Some(w) => vec![w],
        None => data.conversations.iter().map(|c| c.stream).collect(),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for s in streams {
        let Some(conv) = data.conversations.get(s as usize) else {
            anyhow::bail!("no TCP stream {s} (the capture has {})", data.conversations.len());
        };
        let segs: Vec<_> = data.segments.iter().filter(|x| x.stream == s).cloned().collect();
        match &args.svg {
            Some(path) => {
                std::fs::write(path, ladder_svg(conv, &segs, args.limit))
                    .with_context(|| format!("writing {}", path.display()))?;
                writeln!(out, "wrote {} ({} segments of stream {s})", path.display(), segs.len())?;
            }
            None => {
                write!(out, "{}", ladder_text(conv, &segs, args.limit))?;
                writeln!(out)?;
            }
        }
    }
    out.flush()?;
    if let Some(e) = data.error {
        anyhow::bail!("{}: {e}", args.file.display());
    }
    Ok(ExitCode::SUCCESS)
}
