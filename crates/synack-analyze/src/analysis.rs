//! Wireshark-style TCP conversation tracking and sequence analysis, in one pass over the
//! capture, so `-T fields` output can be compared value for value with tshark's.
//!
//! The rules follow Wireshark's documented behaviour (the "TCP Analysis" section of its user's
//! guide and the field descriptions): stream numbers in order of first appearance, a new stream
//! when a SYN reuses the ports with a different ISN, relative numbers from the first segment
//! each way (ISN for a SYN, otherwise one before the first sequence number seen, and for the
//! peer's numbers one before the first acknowledgment), window scaling from the handshake, and
//! the analysis flags checked in Wireshark's order, each a pure function of the two flows' state.

use crate::decode::TcpInfo;
use core::net::IpAddr;
use std::collections::{HashMap, VecDeque};

/// Most unacknowledged segments remembered per direction (Wireshark keeps the same bound), so
/// memory stays bounded when one direction's ACKs are missing from the capture.
const MAX_UNACKED: usize = 10_000;

/// Analysis flag bits (one per `tcp.analysis.*` field).
pub mod flag {
    /// `tcp.analysis.retransmission`.
    pub const RETRANSMISSION: u32 = 1 << 0;
    /// `tcp.analysis.lost_segment`.
    pub const LOST_SEGMENT: u32 = 1 << 1;
    /// `tcp.analysis.ack_lost_segment`.
    pub const ACK_LOST_SEGMENT: u32 = 1 << 2;
    /// `tcp.analysis.keep_alive`.
    pub const KEEP_ALIVE: u32 = 1 << 3;
    /// `tcp.analysis.duplicate_ack`.
    pub const DUPLICATE_ACK: u32 = 1 << 4;
    /// `tcp.analysis.zero_window`.
    pub const ZERO_WINDOW: u32 = 1 << 5;
    /// `tcp.analysis.zero_window_probe`.
    pub const ZERO_WINDOW_PROBE: u32 = 1 << 6;
    /// `tcp.analysis.zero_window_probe_ack`.
    pub const ZERO_WINDOW_PROBE_ACK: u32 = 1 << 7;
    /// `tcp.analysis.keep_alive_ack`.
    pub const KEEP_ALIVE_ACK: u32 = 1 << 8;
    /// `tcp.analysis.out_of_order`.
    pub const OUT_OF_ORDER: u32 = 1 << 9;
    /// `tcp.analysis.fast_retransmission`.
    pub const FAST_RETRANSMISSION: u32 = 1 << 10;
    /// `tcp.analysis.window_update`.
    pub const WINDOW_UPDATE: u32 = 1 << 11;
    /// `tcp.analysis.window_full`.
    pub const WINDOW_FULL: u32 = 1 << 12;
    /// `tcp.analysis.reused_ports`.
    pub const REUSED_PORTS: u32 = 1 << 13;
    /// `tcp.analysis.spurious_retransmission`.
    pub const SPURIOUS_RETRANSMISSION: u32 = 1 << 14;
}

/// Wireshark's unknown-scale marker: no SYN seen yet.
const WS_UNKNOWN: i32 = -1;
/// Scaling known not to be in use.
const WS_NONE: i32 = -2;

#[derive(Clone, Copy, Debug)]
struct Unacked {
    frame: u64,
    seq: u32,
    nextseq: u32,
    ts: u64,
}

/// What one direction of a conversation has shown so far.
#[derive(Clone, Debug)]
struct Flow {
    base_seq: Option<u32>,
    /// Highest sequence number seen plus its length (0: none yet, as in Wireshark).
    nextseq: u32,
    nextseq_time: u64,
    maxseqtobeacked: u32,
    lastack: u32,
    lastack_time: u64,
    lastnondupack: u64,
    dupacknum: u32,
    window: u32,
    win_scale: i32,
    lastsegmentflags: u32,
    segments: VecDeque<Unacked>,
    valid_bif: bool,
    saw_syn: bool,
    fin: Option<u64>,
    rst: bool,
    /// Sum of the SACK block lengths in the peer's latest ACK.
    sacked_by_peer: u32,
}

impl Default for Flow {
    fn default() -> Self {
        Flow {
            base_seq: None,
            nextseq: 0,
            nextseq_time: 0,
            maxseqtobeacked: 0,
            lastack: 0,
            lastack_time: 0,
            lastnondupack: 0,
            dupacknum: 0,
            window: u32::MAX,
            win_scale: WS_UNKNOWN,
            lastsegmentflags: 0,
            segments: VecDeque::new(),
            valid_bif: true,
            saw_syn: false,
            fin: None,
            rst: false,
            sacked_by_peer: 0,
        }
    }
}

/// One TCP conversation (Wireshark's "stream").
#[derive(Clone, Debug)]
pub struct Conversation {
    /// Stream index (`tcp.stream`).
    pub stream: u32,
    /// The endpoint that sent the first packet seen (normally the client).
    pub a: (IpAddr, u16),
    /// The other endpoint.
    pub b: (IpAddr, u16),
    flows: [Flow; 2],
    ts_first: u64,
    first_rtt: Option<u64>,
    saw_synack: bool,
    /// Accurate ECN (RFC 9768) was negotiated: the SYN set AE, CWR and ECE and the SYN-ACK
    /// answered with one of them.
    acc_ecn: bool,
    /// The SYN asked for Accurate ECN.
    acc_ecn_asked: bool,
}

/// The analysis result for one TCP packet.
#[derive(Clone, Copy, Debug, Default)]
pub struct TcpAnalysis {
    /// `tcp.stream`.
    pub stream: u32,
    /// True when the packet came from endpoint `a` of the conversation.
    pub from_a: bool,
    /// `tcp.seq` (relative).
    pub rel_seq: u32,
    /// `tcp.ack` (relative; 0 when the ACK bit is clear... as tshark prints it).
    pub rel_ack: u32,
    /// `tcp.nxtseq` (relative).
    pub rel_nxtseq: u32,
    /// `tcp.window_size` (scaled when the scale is known).
    pub window_size: u64,
    /// The shift used (-1 unknown, -2 none), `tcp.window_size_scalefactor`'s source.
    pub win_scale: i32,
    /// Bitset of [`flag`] values.
    pub flags: u32,
    /// `tcp.analysis.duplicate_ack_num`.
    pub dupack_num: u32,
    /// `tcp.analysis.duplicate_ack_frame`.
    pub dupack_frame: u64,
    /// `tcp.analysis.acks_frame`.
    pub acks_frame: Option<u64>,
    /// `tcp.analysis.ack_rtt` in nanoseconds (negative when the capture's clock went back).
    pub ack_rtt_ns: Option<i64>,
    /// `tcp.analysis.bytes_in_flight`.
    pub bytes_in_flight: Option<u32>,
    /// Base sequence number of this direction (for relative SACK blocks).
    pub base_seq: u32,
    /// Base of the reverse direction.
    pub rev_base_seq: u32,
    /// The segment belongs to a connection that negotiated Accurate ECN and is not a SYN:
    /// its AE, CWR and ECE bits form the ACE counter (tshark shows it as a number).
    pub ace: bool,
}

type Key = (IpAddr, u16, IpAddr, u16);

fn key(src: IpAddr, sp: u16, dst: IpAddr, dp: u16) -> Key {
    if (src, sp) <= (dst, dp) { (src, sp, dst, dp) } else { (dst, dp, src, sp) }
}

/// Tracks every TCP conversation of a capture.
#[derive(Default)]
pub struct Analyzer {
    convs: HashMap<Key, usize>,
    list: Vec<Conversation>,
}

fn gt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}
fn lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}
fn le(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) <= 0
}

impl Analyzer {
    /// A fresh analyzer.
    pub fn new() -> Self {
        Self::default()
    }

    /// All conversations, in stream order.
    pub fn conversations(&self) -> &[Conversation] {
        &self.list
    }

    /// Analyzes the next TCP packet (frames must come in capture order).
    pub fn on_packet(
        &mut self,
        frame: u64,
        ts_ns: u64,
        src: IpAddr,
        dst: IpAddr,
        tcp: &TcpInfo<'_>,
    ) -> TcpAnalysis {
        let k = key(src, tcp.src_port, dst, tcp.dst_port);
        let flags = tcp.flags;
        let syn_only = flags.syn() && !flags.ack();
        let mut pre_flags = 0;
        let idx = match self.convs.get(&k).copied() {
            Some(i) => {
                let c = &self.list[i];
                let d = usize::from((src, tcp.src_port) != c.a);
                // A SYN with a different ISN on known ports starts a new stream.
                if syn_only && c.flows[d].base_seq.is_some_and(|b| b != tcp.seq) {
                    pre_flags |= flag::REUSED_PORTS;
                    None
                } else {
                    Some(i)
                }
            }
            None => None,
        };
        let idx = match idx {
            Some(i) => i,
            None => {
                let i = self.list.len();
                self.list.push(Conversation {
                    stream: i as u32,
                    a: (src, tcp.src_port),
                    b: (dst, tcp.dst_port),
                    flows: [Flow::default(), Flow::default()],
                    ts_first: ts_ns,
                    first_rtt: None,
                    saw_synack: false,
                    acc_ecn: false,
                    acc_ecn_asked: false,
                });
                self.convs.insert(k, i);
                i
            }
        };
        let conv = &mut self.list[idx];
        let d = usize::from((src, tcp.src_port) != conv.a);
        if tcp.in_fragment {
            // tshark does not analyse the start of a datagram it could not reassemble: the
            // packet belongs to its stream, and its numbers stay raw.
            return TcpAnalysis {
                stream: conv.stream,
                from_a: d == 0,
                rel_seq: tcp.seq,
                rel_ack: tcp.ack,
                window_size: u64::from(tcp.window),
                win_scale: WS_UNKNOWN,
                ..TcpAnalysis::default()
            };
        }
        let mut out = analyze(conv, d, frame, ts_ns, tcp);
        out.flags |= pre_flags;
        out
    }
}

fn analyze(
    conv: &mut Conversation,
    d: usize,
    frame: u64,
    now: u64,
    tcp: &TcpInfo<'_>,
) -> TcpAnalysis {
    let fl = tcp.flags;
    let (syn, ackf, fin, rst) = (fl.syn(), fl.ack(), fl.fin(), fl.rst());
    let ace_bits = (fl.0 >> 6) & 0x7;
    if syn && !ackf {
        conv.acc_ecn_asked = ace_bits == 0x7;
        conv.acc_ecn = false;
    } else if syn && conv.acc_ecn_asked {
        conv.acc_ecn = ace_bits != 0;
    }
    let ace = conv.acc_ecn && !syn;
    let seq = tcp.seq;
    let ack = tcp.ack;
    let seglen = tcp.payload_len;
    let window = u32::from(tcp.window);
    let [f0, f1] = &mut conv.flows;
    let (fwd, rev) = if d == 0 { (f0, f1) } else { (f1, f0) };

    // Window scaling from the handshake options.
    if syn {
        if let Some(ws) = tcp.wscale() {
            fwd.win_scale = i32::from(ws.min(14));
        }
        if fwd.win_scale == WS_UNKNOWN {
            fwd.win_scale = WS_NONE;
            rev.win_scale = WS_NONE;
        } else if ackf && rev.win_scale == WS_NONE {
            fwd.win_scale = WS_NONE;
        }
        if ackf {
            conv.saw_synack = true;
        }
        fwd.saw_syn = true;
    }
    let win_scale = fwd.win_scale;
    let window_size =
        if syn || win_scale < 0 { u64::from(window) } else { u64::from(window) << win_scale };

    // Handshake RTT: from the first packet to the ACK that completes the handshake.
    if ackf && !syn && conv.saw_synack && conv.first_rtt.is_none() && d == 0 {
        conv.first_rtt = Some(now.saturating_sub(conv.ts_first));
    }

    let mut flags = 0u32;
    let mut dupack_num = 0;
    let mut dupack_frame = 0;

    if fwd.base_seq.is_none() {
        fwd.base_seq = Some(if syn { seq } else { seq.wrapping_sub(1) });
    }
    if rev.base_seq.is_none() && ackf {
        rev.base_seq = Some(ack.wrapping_sub(1));
    }
    if ackf {
        rev.valid_bif = true;
    }

    'fwd: {
        //= wireshark#tcp-analysis
        // Zero window probe: one byte at the next expected sequence number into a zero window.
        if seglen == 1 && seq == fwd.nextseq && rev.window == 0 {
            flags |= flag::ZERO_WINDOW_PROBE;
            break 'fwd;
        }
        // Zero window: the window is zero and no SYN, FIN or RST.
        if window == 0 && !(syn || fin || rst) {
            flags |= flag::ZERO_WINDOW;
        }
        // Previous segment not captured: a jump past the highest sequence seen (not for RST).
        if fwd.nextseq != 0 && gt(seq, fwd.nextseq) && !rst {
            flags |= flag::LOST_SEGMENT;
            fwd.valid_bif = false;
        }
        // Keep-alive: 0 or 1 byte starting one before the next expected sequence number.
        if (seglen == 0 || seglen == 1)
            && seq == fwd.nextseq.wrapping_sub(1)
            && !(syn || fin || rst)
        {
            flags |= flag::KEEP_ALIVE;
        }
        // Window update: no data, same seq and ack as before, a new nonzero window.
        if seglen == 0
            && window != 0
            && window != fwd.window
            && seq == fwd.nextseq
            && ack == fwd.lastack
            && !(syn || fin || rst)
        {
            flags |= flag::WINDOW_UPDATE;
        }
        // Window full: data reaching exactly the right edge of the peer's advertised window.
        if seglen > 0 && rev.win_scale != WS_UNKNOWN && !(syn || fin || rst) {
            let sh = if rev.win_scale == WS_NONE { 0 } else { rev.win_scale as u32 };
            let edge = u64::from(rev.lastack) + (u64::from(rev.window) << sh);
            if u64::from(seq.wrapping_add(seglen)) == edge & 0xffff_ffff && rev.window != u32::MAX {
                flags |= flag::WINDOW_FULL;
            }
        }
        // Keep-alive ACK: repeats the last ACK right after a keep-alive from the peer.
        if seglen == 0
            && window != 0
            && window == fwd.window
            && seq == fwd.nextseq
            && ack == fwd.lastack
            && rev.lastsegmentflags & flag::KEEP_ALIVE != 0
            && !(syn || fin || rst)
        {
            flags |= flag::KEEP_ALIVE_ACK;
            break 'fwd;
        }
        // Zero window probe ACK.
        if seglen == 0
            && window == 0
            && window == fwd.window
            && seq == fwd.nextseq
            && ack == fwd.lastack
            && rev.lastsegmentflags & flag::ZERO_WINDOW_PROBE != 0
            && !(syn || fin || rst)
        {
            flags |= flag::ZERO_WINDOW_PROBE_ACK;
            break 'fwd;
        }
        // Duplicate ACK: no data, same window, seq and ack as the previous segment.
        if seglen == 0
            && window != 0
            && window == fwd.window
            && seq == fwd.nextseq
            && ack == fwd.lastack
            && !(syn || fin || rst)
        {
            fwd.dupacknum += 1;
            flags |= flag::DUPLICATE_ACK;
            dupack_num = fwd.dupacknum;
            dupack_frame = fwd.lastnondupack;
        }
    }
    if ack != fwd.lastack {
        fwd.lastnondupack = frame;
        fwd.dupacknum = 0;
    }
    // ACKed unseen segment: acknowledges beyond the other direction's contiguous data; that
    // edge then jumps to the highest sequence seen, so one gap is reported once (tshark 4.0).
    if rev.maxseqtobeacked != 0 && gt(ack, rev.maxseqtobeacked) && ackf {
        flags |= flag::ACK_LOST_SEGMENT;
        rev.maxseqtobeacked = rev.nextseq;
    }

    // Retransmission family: data (or SYN/FIN) at or below the highest sequence number seen.
    if (seglen > 0 || syn || fin) && flags & flag::KEEP_ALIVE == 0 {
        // One byte below the next expected number with more than one byte of data adds new
        // data after a possible zero-window probe: not a retransmission.
        let not_advanced = fwd.nextseq != 0
            && lt(seq, fwd.nextseq)
            && !(seglen > 1 && fwd.nextseq.wrapping_sub(1) == seq);
        let ooo_thres = conv.first_rtt.filter(|r| *r != 0).unwrap_or(3_000_000);
        let since_dupack = now.wrapping_sub(rev.lastack_time);
        let since_next = now.wrapping_sub(fwd.nextseq_time);
        let seg_end = seq.wrapping_add(seglen).wrapping_add(u32::from(syn || fin));
        if seglen > 0 && rev.lastack != 0 && le(seq.wrapping_add(seglen), rev.lastack) {
            // Everything in it was already acknowledged.
            flags |= flag::SPURIOUS_RETRANSMISSION;
        } else if not_advanced
            && rev.dupacknum >= 2
            && rev.lastack == seq
            && since_dupack < 20_000_000
        {
            flags |= flag::FAST_RETRANSMISSION;
        } else if not_advanced && since_next < ooo_thres && fwd.nextseq != seg_end {
            flags |= flag::OUT_OF_ORDER;
        } else if not_advanced {
            flags |= flag::RETRANSMISSION;
        }
    }

    let mut nextseq = seq.wrapping_add(seglen);
    if (seglen > 0 || syn || fin) && fwd.segments.len() < MAX_UNACKED {
        if syn || fin {
            nextseq = nextseq.wrapping_add(1);
        }
        fwd.segments.push_front(Unacked { frame, seq, nextseq, ts: now });
    }
    if (gt(nextseq, fwd.nextseq) || fwd.nextseq == 0) && flags & flag::ZERO_WINDOW_PROBE == 0 {
        fwd.nextseq = nextseq;
        fwd.nextseq_time = now;
    }
    if (seq == fwd.maxseqtobeacked || fwd.maxseqtobeacked == 0)
        && flags & flag::ZERO_WINDOW_PROBE == 0
    {
        fwd.maxseqtobeacked = fwd.nextseq;
    }
    fwd.window = window;
    fwd.lastack = ack;
    fwd.lastack_time = now;
    fwd.lastsegmentflags = flags;

    // Remove what this ACK covers from the other direction's list; an exact match gives the RTT.
    let mut acks_frame = None;
    let mut ack_rtt_ns = None;
    if ackf {
        let mut i = 0;
        while i < rev.segments.len() {
            let u = rev.segments[i];
            if ack == u.nextseq {
                acks_frame = Some(u.frame);
                ack_rtt_ns = Some(now as i64 - u.ts as i64);
            } else if gt(ack, u.seq) && le(ack, u.nextseq) {
                rev.segments[i].seq = ack;
                i += 1;
                continue;
            } else if gt(u.nextseq, ack) {
                i += 1;
                continue;
            }
            rev.segments.remove(i);
        }
    }
    // Remember how much the SACK blocks of this ACK cover, for the peer's bytes in flight.
    if let Some(blocks) = tcp.sack() {
        rev.sacked_by_peer = blocks
            .as_slice()
            .iter()
            .map(|b| b.right.0.wrapping_sub(b.left.0))
            .fold(0u32, u32::wrapping_add);
    } else if ackf {
        rev.sacked_by_peer = 0;
    }

    // Bytes in flight after this segment: the span of this direction's unacknowledged list.
    let mut bytes_in_flight = None;
    let base = fwd.base_seq.unwrap_or(0);
    if seglen != 0 && !fwd.segments.is_empty() && fwd.valid_bif {
        let first = fwd.segments[0];
        let mut lo = first.seq.wrapping_sub(base);
        let mut hi = first.nextseq.wrapping_sub(base);
        for u in &fwd.segments {
            hi = hi.max(u.nextseq.wrapping_sub(base));
            lo = lo.min(u.seq.wrapping_sub(base));
        }
        // Bytes the peer's latest SACK blocks report received are not in flight.
        let f = hi.wrapping_sub(lo).wrapping_sub(fwd.sacked_by_peer);
        if f > 0 && f < 2_000_000_000 {
            // SYN and FIN take sequence space but are not bytes in flight.
            bytes_in_flight = Some(if syn || fin { f - 1 } else { f });
        }
    }
    if fin {
        fwd.fin.get_or_insert(frame);
    }
    if rst {
        fwd.rst = true;
    }

    let rev_base = rev.base_seq.unwrap_or(0);
    let rel_seq = seq.wrapping_sub(base);
    // Without the ACK bit tshark shows the field's raw value.
    let rel_ack = if ackf { ack.wrapping_sub(rev_base) } else { ack };
    TcpAnalysis {
        stream: conv.stream,
        from_a: d == 0,
        rel_seq,
        rel_ack,
        // SYN and FIN together still take one number, as in Wireshark's next-sequence field.
        rel_nxtseq: rel_seq.wrapping_add(tcp.payload_len + u32::from(syn || fin)),
        window_size,
        win_scale,
        flags,
        dupack_num,
        dupack_frame,
        acks_frame,
        ack_rtt_ns,
        bytes_in_flight,
        base_seq: base,
        rev_base_seq: rev_base,
        ace,
    }
}

impl Conversation {
    /// Handshake RTT (first packet to the handshake's final ACK), in nanoseconds.
    pub fn handshake_rtt_ns(&self) -> Option<u64> {
        self.first_rtt
    }
    /// True when each side sent a FIN.
    pub fn fin_both(&self) -> bool {
        self.flows[0].fin.is_some() && self.flows[1].fin.is_some()
    }
    /// True when either side sent a FIN.
    pub fn fin_any(&self) -> bool {
        self.flows[0].fin.is_some() || self.flows[1].fin.is_some()
    }
    /// True when either side sent a RST.
    pub fn rst(&self) -> bool {
        self.flows[0].rst || self.flows[1].rst
    }
    /// True when the first packet was a SYN.
    pub fn saw_syn(&self) -> bool {
        self.flows[0].saw_syn
    }
}
