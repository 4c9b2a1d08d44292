//! One pass over a capture that keeps, for the chosen TCP streams, a compact record per segment
//! with Wireshark's relative numbers and analysis flags: the input of ladders, graphs and stats.

use crate::analysis::{Analyzer, Conversation};
use crate::capture::{CaptureError, CaptureReader};
use crate::decode::decode_wire;
use std::io::Read;
use synack_wire::tcp::TcpFlags;

/// One TCP segment of a stream, with its analysis.
#[derive(Clone, Debug)]
pub struct Segment {
    /// Frame number.
    pub frame: u64,
    /// Capture time, ns since the epoch.
    pub ts_ns: u64,
    /// Stream index.
    pub stream: u32,
    /// Sent by endpoint `a` (the one that sent the stream's first packet).
    pub from_a: bool,
    /// Control bits.
    pub flags: TcpFlags,
    /// Relative sequence number.
    pub seq: u32,
    /// Relative acknowledgment number (0 without ACK).
    pub ack: u32,
    /// Payload length.
    pub len: u32,
    /// Window, scaled when known.
    pub window: u64,
    /// SACK blocks, relative to the receiver's base.
    pub sack: Vec<(u32, u32)>,
    /// Analysis flag bits ([`crate::analysis::flag`]).
    pub analysis: u32,
    /// RTT to this ACK, when it acknowledges a segment exactly.
    pub ack_rtt_ns: Option<i64>,
    /// Bytes on the wire (frame length).
    pub wire_len: u32,
    /// Bytes in flight after this segment (Wireshark's definition).
    pub bytes_in_flight: Option<u32>,
}

/// Segments of the selected streams plus every conversation's summary.
pub struct StreamData {
    /// All conversations seen, in stream order.
    pub conversations: Vec<Conversation>,
    /// Segments of the selected streams, in capture order.
    pub segments: Vec<Segment>,
    /// Set when the capture ended in damage (everything before it is included).
    pub error: Option<CaptureError>,
}

/// Reads `reader` and keeps the segments of the streams `keep` selects.
pub fn collect<R: Read>(mut reader: CaptureReader<R>, keep: impl Fn(u32) -> bool) -> StreamData {
    let mut an = Analyzer::new();
    let mut view = crate::reassembly::AnalysisView::new();
    let mut segments = Vec::new();
    let mut error = None;
    while let Some(f) = reader.next_frame() {
        let f = match f {
            Ok(f) => f,
            Err(e) => {
                error = Some(e);
                break;
            }
        };
        let d = view.of(decode_wire(f.linktype, f.data, f.orig_len as usize));
        let (Some(ip), Some(t)) = (d.ip, d.tcp()) else { continue };
        let a = an.on_packet(f.number, f.ts_ns, ip.src, ip.dst, t);
        if !keep(a.stream) {
            continue;
        }
        let sack = t
            .sack()
            .map(|b| {
                b.as_slice()
                    .iter()
                    .map(|s| {
                        (
                            s.left.0.wrapping_sub(a.rev_base_seq),
                            s.right.0.wrapping_sub(a.rev_base_seq),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        segments.push(Segment {
            frame: f.number,
            ts_ns: f.ts_ns,
            stream: a.stream,
            from_a: a.from_a,
            flags: t.flags,
            seq: a.rel_seq,
            ack: a.rel_ack,
            len: t.payload_len,
            window: a.window_size,
            sack,
            analysis: a.flags,
            ack_rtt_ns: a.ack_rtt_ns,
            wire_len: f.orig_len,
            bytes_in_flight: a.bytes_in_flight,
        });
    }
    StreamData { conversations: an.conversations().to_vec(), segments, error }
}
