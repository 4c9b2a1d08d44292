//! Conversation statistics, like `tshark -z conv,tcp` plus what a TCP reader asks next:
//! retransmissions each way, handshake RTT, and how the connection ended.

use crate::analysis::{Analyzer, flag};
use crate::capture::{CaptureError, CaptureReader};
use crate::decode::decode_wire;
use core::fmt::Write;
use core::net::IpAddr;
use std::io::Read;

/// Counters for one direction of a conversation.
#[derive(Clone, Copy, Debug, Default)]
pub struct DirStats {
    /// Frames sent.
    pub frames: u64,
    /// Frame bytes (length on the wire).
    pub bytes: u64,
    /// TCP payload bytes.
    pub payload: u64,
    /// Segments flagged as any kind of retransmission.
    pub retransmissions: u64,
    /// Duplicate ACKs sent.
    pub dup_acks: u64,
    /// Zero-window advertisements.
    pub zero_windows: u64,
}

/// How a conversation ended, as far as the capture shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// Both sides sent FIN.
    Fin,
    /// Only one side sent FIN (half-closed when the capture ended).
    HalfClosed,
    /// A RST ended it (refused when it came in answer to the SYN).
    Reset,
    /// The SYN was answered with a RST.
    Refused,
    /// Still open at the end of the capture.
    Open,
}

impl Ending {
    /// Short text.
    pub fn as_str(self) -> &'static str {
        match self {
            Ending::Fin => "FIN",
            Ending::HalfClosed => "half-closed",
            Ending::Reset => "RST",
            Ending::Refused => "refused",
            Ending::Open => "open",
        }
    }
}

/// One conversation's statistics.
#[derive(Clone, Debug)]
pub struct ConvStats {
    /// Stream index.
    pub stream: u32,
    /// Endpoint A (first sender) and B.
    pub a: (IpAddr, u16),
    /// Endpoint B.
    pub b: (IpAddr, u16),
    /// A to B.
    pub ab: DirStats,
    /// B to A.
    pub ba: DirStats,
    /// First frame time, ns since the epoch.
    pub start_ns: u64,
    /// Last frame time.
    pub end_ns: u64,
    /// Handshake RTT (SYN to the handshake's ACK), ns.
    pub handshake_rtt_ns: Option<u64>,
    /// How it ended.
    pub ending: Ending,
}

/// All conversations of a capture, in stream order.
pub struct Stats {
    /// Conversations.
    pub conversations: Vec<ConvStats>,
    /// Time of the first frame of the capture.
    pub first_ns: u64,
    /// Frames read.
    pub frames: u64,
    /// Set when the capture ended in damage (the statistics cover what came before).
    pub error: Option<CaptureError>,
}

/// Reads a capture and gathers per-conversation statistics (memory: one entry per stream).
pub fn stats<R: Read>(mut reader: CaptureReader<R>) -> Stats {
    let mut an = Analyzer::new();
    let mut convs: Vec<ConvStats> = Vec::new();
    let mut first_ns = None;
    let mut frames = 0;
    let mut error = None;
    let mut refused = Vec::new();
    let mut view = crate::reassembly::AnalysisView::new();
    while let Some(f) = reader.next_frame() {
        let f = match f {
            Ok(f) => f,
            Err(e) => {
                error = Some(e);
                break;
            }
        };
        frames += 1;
        first_ns.get_or_insert(f.ts_ns);
        let d = view.of(decode_wire(f.linktype, f.data, f.orig_len as usize));
        let (Some(ip), Some(t)) = (d.ip, d.tcp()) else { continue };
        let a = an.on_packet(f.number, f.ts_ns, ip.src, ip.dst, t);
        let i = a.stream as usize;
        if i == convs.len() {
            convs.push(ConvStats {
                stream: a.stream,
                a: (ip.src, t.src_port),
                b: (ip.dst, t.dst_port),
                ab: DirStats::default(),
                ba: DirStats::default(),
                start_ns: f.ts_ns,
                end_ns: f.ts_ns,
                handshake_rtt_ns: None,
                ending: Ending::Open,
            });
            refused.push(false);
        }
        let Some(c) = convs.get_mut(i) else { continue };
        c.end_ns = f.ts_ns;
        let dir = if a.from_a { &mut c.ab } else { &mut c.ba };
        dir.frames += 1;
        dir.bytes += u64::from(f.orig_len);
        dir.payload += u64::from(t.payload_len);
        if a.flags
            & (flag::RETRANSMISSION | flag::FAST_RETRANSMISSION | flag::SPURIOUS_RETRANSMISSION)
            != 0
        {
            dir.retransmissions += 1;
        }
        if a.flags & flag::DUPLICATE_ACK != 0 {
            dir.dup_acks += 1;
        }
        if a.flags & flag::ZERO_WINDOW != 0 {
            dir.zero_windows += 1;
        }
        if t.flags.rst() && !a.from_a && c.ba.frames == 1 {
            refused[i] = true;
        }
    }
    let list = an.conversations();
    for (c, conv) in convs.iter_mut().zip(list) {
        c.handshake_rtt_ns = conv.handshake_rtt_ns();
        c.ending = if refused[c.stream as usize] {
            Ending::Refused
        } else if conv.rst() {
            Ending::Reset
        } else if conv.fin_both() {
            Ending::Fin
        } else if conv.fin_any() {
            Ending::HalfClosed
        } else {
            Ending::Open
        };
    }
    Stats { conversations: convs, first_ns: first_ns.unwrap_or(0), frames, error }
}

fn ep(e: (IpAddr, u16)) -> String {
    match e.0 {
        IpAddr::V6(a) => format!("[{a}]:{}", e.1),
        a => format!("{a}:{}", e.1),
    }
}

/// Human-readable byte count as tshark's conversation table prints it (`12 kB`).
fn human(b: u64) -> String {
    if b < 10_000 {
        format!("{b} bytes")
    } else if b < 10_000_000 {
        format!("{} kB", b / 1000)
    } else {
        format!("{} MB", b / 1_000_000)
    }
}

/// The conversation table as text.
pub fn render(s: &Stats) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "TCP conversations: {} ({} frames read)", s.conversations.len(), s.frames);
    let _ = writeln!(
        o,
        "{:>6}  {:<46} {:>15} {:>15} {:>12} {:>10} {:>9} {:>10} {:>11}",
        "stream",
        "A <-> B",
        "A->B frm/bytes",
        "B->A frm/bytes",
        "start",
        "duration",
        "retrans",
        "hs RTT",
        "ended"
    );
    for c in &s.conversations {
        let start = c.start_ns.saturating_sub(s.first_ns) as f64 / 1e9;
        let dur = c.end_ns.saturating_sub(c.start_ns) as f64 / 1e9;
        let rtt =
            c.handshake_rtt_ns.map_or("-".to_string(), |r| format!("{:.3}ms", r as f64 / 1e6));
        let _ = writeln!(
            o,
            "{:>6}  {:<46} {:>15} {:>15} {:>12.6} {:>10.4} {:>9} {:>10} {:>11}",
            c.stream,
            format!("{} <-> {}", ep(c.a), ep(c.b)),
            format!("{}/{}", c.ab.frames, human(c.ab.bytes)),
            format!("{}/{}", c.ba.frames, human(c.ba.bytes)),
            start,
            dur,
            format!("{}/{}", c.ab.retransmissions, c.ba.retransmissions),
            rtt,
            c.ending.as_str()
        );
    }
    o
}
