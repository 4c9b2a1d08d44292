//! `synack dump`: tcpdump-style lines or tshark-style fields from a capture file.

use anyhow::Context;
use std::io::Write;
use std::process::ExitCode;
use synack_analyze::capture::CaptureReader;
use synack_analyze::dump::{DumpError, DumpOptions, Output, dump};
use synack_analyze::fields::{DisplayFilter, FIELDS, Occurrence};
use synack_analyze::filter::Filter;

/// Arguments of `synack dump`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Capture file to read (pcap or pcapng); `-` for standard input.
    #[arg(short = 'r', required_unless_present = "list_fields")]
    file: Option<std::path::PathBuf>,
    /// Numeric output (accepted for tcpdump compatibility; names are never resolved).
    #[arg(short = 'n', action = clap::ArgAction::Count)]
    numeric: u8,
    /// Leave the timestamp off each line.
    #[arg(short = 't')]
    no_time: bool,
    /// Stop after N packets.
    #[arg(short = 'c')]
    count: Option<u64>,
    /// Output format: `fields` for tshark-style tab-separated fields.
    #[arg(short = 'T')]
    format: Option<String>,
    /// A field to print with `-T fields` (repeat for more).
    #[arg(short = 'e')]
    fields: Vec<String>,
    /// Field output option: `header=y` prints the field names first; `occurrence=f|l|a`
    /// picks which value of a repeated field to print (first, last, all).
    #[arg(short = 'E')]
    field_opts: Vec<String>,
    /// Display filter (Wireshark syntax, simple forms) for `-T fields`.
    #[arg(short = 'Y')]
    display_filter: Option<String>,
    /// List the fields `-e` accepts.
    #[arg(long)]
    list_fields: bool,
    /// tcpdump filter expression (pcap-filter syntax).
    expression: Vec<String>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    if args.list_fields {
        for (name, what) in FIELDS {
            writeln!(out, "{name:40} {what}")?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let _ = args.numeric;
    let expr = args.expression.join(" ");
    let filter = Filter::parse(&expr).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut occurrence = Occurrence::All;
    let output = match args.format.as_deref() {
        None => Output::Lines { timestamps: !args.no_time },
        Some("fields") => {
            if args.fields.is_empty() {
                anyhow::bail!("-T fields needs at least one -e FIELD");
            }
            let mut header = false;
            for o in &args.field_opts {
                match o.as_str() {
                    "header=y" => header = true,
                    "header=n" => header = false,
                    o if o.starts_with("occurrence=") => {
                        occurrence = Occurrence::parse(&o["occurrence=".len()..])
                            .with_context(|| format!("bad -E {o:?} (occurrence=f, l or a)"))?;
                    }
                    other => anyhow::bail!(
                        "unsupported -E option {other:?} (header=y|n, occurrence=f|l|a)"
                    ),
                }
            }
            let display = args
                .display_filter
                .as_deref()
                .map(DisplayFilter::parse)
                .transpose()
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            Output::Fields { fields: args.fields.clone(), header, display }
        }
        Some(other) => anyhow::bail!("unsupported output format {other:?} (only -T fields)"),
    };
    let path = args.file.context("-r FILE is required")?;
    let opts = DumpOptions { count: args.count, filter, output, occurrence };
    // `-r -` reads the capture from standard input, as tcpdump does.
    let res = if path.as_os_str() == "-" {
        let reader = CaptureReader::new(std::io::BufReader::new(std::io::stdin().lock()))
            .context("standard input")?;
        dump(reader, &opts, &mut out)
    } else {
        let reader = CaptureReader::open(&path).with_context(|| format!("{}", path.display()))?;
        dump(reader, &opts, &mut out)
    };
    let flushed = out.flush();
    match res {
        Ok(_) => {}
        Err(DumpError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => return Err(anyhow::anyhow!("{}: {e}", path.display())),
    }
    match flushed {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        r => {
            r?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
