//! The `dump` driver: reads a capture frame by frame, filters, decodes, analyzes and writes
//! tcpdump lines or tshark fields. Streaming: memory is the capture reader's buffer plus the
//! per-connection analysis state.

use crate::analysis::{Analyzer, TcpAnalysis};
use crate::capture::{CaptureError, CaptureReader};
use crate::decode::decode_wire;
use crate::fields::{self, DisplayFilter, FieldPacket};
use crate::filter::{Filter, FramePacket};
use crate::tcpdump::{TcpdumpState, format_odd_time, format_time};
use std::io::{Read, Write};

/// What `dump` prints.
pub enum Output {
    /// tcpdump lines; `timestamps: false` leaves the time off (as `tcpdump -t`).
    Lines {
        /// Print the time column.
        timestamps: bool,
    },
    /// tshark-style tab-separated fields.
    Fields {
        /// Field names, in order.
        fields: Vec<String>,
        /// Print a header line first (`-E header=y`).
        header: bool,
        /// Display filter (`-Y`).
        display: Option<DisplayFilter>,
    },
}

/// Options of one `dump` run.
pub struct DumpOptions {
    /// Stop after this many printed packets.
    pub count: Option<u64>,
    /// tcpdump filter expression.
    pub filter: Filter,
    /// Output style.
    pub output: Output,
    /// Which value of a field that occurs more than once `-T fields` prints (`-E occurrence`).
    pub occurrence: fields::Occurrence,
}

/// Why a dump stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DumpError {
    /// The capture is damaged; everything before the damage was printed.
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// Writing the output failed (a closed pipe ends the dump quietly in the CLI).
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
    /// A field name is not known.
    #[error("unknown field {0:?} (see `synack dump --list-fields`)")]
    UnknownField(String),
}

/// Counts from a finished dump.
#[derive(Clone, Copy, Debug, Default)]
pub struct DumpSummary {
    /// Frames read.
    pub frames: u64,
    /// Frames printed.
    pub printed: u64,
}

/// Runs a dump from `reader` to `out`.
pub fn dump<R: Read, W: Write>(
    mut reader: CaptureReader<R>,
    opts: &DumpOptions,
    out: &mut W,
) -> Result<DumpSummary, DumpError> {
    if let Output::Fields { fields, header, .. } = &opts.output {
        for f in fields {
            if !fields::is_known(f) {
                return Err(DumpError::UnknownField(f.clone()));
            }
        }
        if *header {
            writeln!(out, "{}", fields.join("\t"))?;
        }
    }
    let mut analyzer = Analyzer::new();
    let mut td = TcpdumpState::new();
    let mut view = crate::reassembly::AnalysisView::new();
    let mut sum = DumpSummary::default();
    let mut first_ts = None;
    let mut line = String::new();
    while let Some(frame) = reader.next_frame() {
        let frame = frame?;
        sum.frames += 1;
        let first = *first_ts.get_or_insert(frame.ts_ns);
        let fp =
            FramePacket { linktype: frame.linktype, data: frame.data, wirelen: frame.orig_len };
        let selected = opts.filter.matches(&fp);
        let d = decode_wire(frame.linktype, frame.data, frame.orig_len as usize);
        // The analysis sees reassembled IPv4 datagrams, as tshark's does.
        let da = view.of(d);
        // Analysis sees every TCP packet, selected or not, as tshark's does.
        let an: Option<TcpAnalysis> = match (da.ip, da.tcp()) {
            (Some(ip), Some(t)) => {
                Some(analyzer.on_packet(frame.number, frame.ts_ns, ip.src, ip.dst, t))
            }
            _ => None,
        };
        if !selected {
            continue;
        }
        match &opts.output {
            Output::Lines { timestamps } => {
                // tcpdump's relative numbering only advances on printed packets.
                let l = td.line(&d, frame.orig_len);
                if *timestamps {
                    let t = match frame.odd_time {
                        Some((secs, frac)) => format_odd_time(secs, frac),
                        None => format_time(frame.ts_ns),
                    };
                    writeln!(out, "{t} {l}")?;
                } else {
                    writeln!(out, "{l}")?;
                }
            }
            Output::Fields { fields, display, .. } => {
                let p = FieldPacket {
                    number: frame.number,
                    ts_ns: frame.ts_ns,
                    first_ts_ns: first,
                    wirelen: frame.orig_len,
                    caplen: frame.data.len() as u32,
                    decoded: &da,
                    analysis: an.as_ref(),
                };
                if let Some(df) = display
                    && !df.matches(&p)
                {
                    continue;
                }
                line.clear();
                for (i, f) in fields.iter().enumerate() {
                    if i > 0 {
                        line.push('\t');
                    }
                    if let Some(v) = fields::value(&p, f) {
                        line.push_str(opts.occurrence.pick(&v));
                    }
                }
                writeln!(out, "{line}")?;
            }
        }
        sum.printed += 1;
        if opts.count.is_some_and(|c| sum.printed >= c) {
            break;
        }
    }
    Ok(sum)
}
