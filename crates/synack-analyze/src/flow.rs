//! Each end's TCP state inferred from a capture (RFC 9293 section 3.3.2's state diagram,
//! observed from the capture point, so a segment counts as sent and received at the same
//! instant), and a stream's ladder: as text through [`ladder`](crate::ladder), or as SVG.

use crate::analysis::{Conversation, flag};
use crate::ladder::{Ends, Item, Side, render};
use crate::segments::Segment;
use core::fmt::Write;
use synack_wire::tcp::display::FlagLetters;

use synack_tcp::Instant;
/// The TCP state names are the engine's own, so the ladders drawn from captures and the ones the
/// demo draws from live engine events print the same words.
pub use synack_tcp::State;

#[derive(Clone, Copy, Debug)]
struct End {
    state: State,
    /// Relative sequence number just past our FIN, once sent.
    fin_end: Option<u32>,
}

/// Infers both ends' states through a stream's segments.
pub struct StateTracker {
    ends: [End; 2],
}

fn acked(ack: u32, fin_end: Option<u32>) -> bool {
    fin_end.is_some_and(|f| (ack.wrapping_sub(f) as i32) >= 0)
}

impl StateTracker {
    /// Starts from a stream's segments: a bare SYN first means a client in CLOSED and a
    /// server in LISTEN (or CLOSED, when its first answer is a RST: nothing listened);
    /// anything else means the capture began mid-connection (both ESTABLISHED).
    pub fn new(segs: &[Segment]) -> Self {
        let Some(first) = segs.first() else {
            return StateTracker { ends: [End { state: State::Closed, fin_end: None }; 2] };
        };
        let refused = segs.iter().find(|s| s.from_a != first.from_a).is_some_and(|s| s.flags.rst());
        let (a, b) = if first.flags.syn() && !first.flags.ack() {
            (State::Closed, if refused { State::Closed } else { State::Listen })
        } else {
            (State::Established, State::Established)
        };
        let (sa, sb) = if first.from_a { (a, b) } else { (b, a) };
        StateTracker { ends: [End { state: sa, fin_end: None }, End { state: sb, fin_end: None }] }
    }

    /// The states of endpoint a and b.
    pub fn states(&self) -> (State, State) {
        (self.ends[0].state, self.ends[1].state)
    }

    /// Applies one segment (sent by one end, received by the other).
    pub fn on_segment(&mut self, s: &Segment) {
        let (si, ri) = if s.from_a { (0, 1) } else { (1, 0) };
        let f = s.flags;
        //= rfc9293#3.3.2
        // Sending SYN opens actively (SYN-SENT); answering a SYN with SYN-ACK is SYN-RECEIVED;
        // sending FIN from ESTABLISHED is FIN-WAIT-1, from CLOSE-WAIT it is LAST-ACK; RST closes.
        // Sender side.
        {
            let e = &mut self.ends[si];
            if f.rst() {
                e.state = State::Closed;
            } else if f.syn() && !f.ack() && matches!(e.state, State::Closed | State::Listen) {
                e.state = State::SynSent;
            } else if f.syn() && f.ack() && matches!(e.state, State::Listen | State::SynSent) {
                e.state = State::SynReceived;
            }
            if f.fin() && !f.rst() {
                e.fin_end.get_or_insert(s.seq.wrapping_add(s.len).wrapping_add(1));
                e.state = match e.state {
                    State::Established | State::SynReceived => State::FinWait1,
                    State::CloseWait => State::LastAck,
                    other => other,
                };
            }
        }
        //= rfc9293#3.3.2
        // Receiving: SYN-ACK in SYN-SENT and the ACK of our SYN in SYN-RECEIVED establish; a FIN
        // in ESTABLISHED is CLOSE-WAIT; the ACK of our FIN moves FIN-WAIT-1 to FIN-WAIT-2,
        // CLOSING to TIME-WAIT and LAST-ACK to CLOSED; a FIN in FIN-WAIT-2 is TIME-WAIT; a FIN
        // with or without our FIN's ACK in FIN-WAIT-1 is TIME-WAIT or CLOSING.
        // Receiver side.
        let e = &mut self.ends[ri];
        if f.rst() {
            if e.state != State::Listen {
                e.state = State::Closed;
            }
            return;
        }
        if f.syn() && !f.ack() && e.state == State::Listen {
            // It answers with SYN-ACK; the state shows once that is seen.
            return;
        }
        if f.syn() && f.ack() && e.state == State::SynSent {
            e.state = State::Established;
            return;
        }
        if f.ack() && e.state == State::SynReceived {
            e.state = State::Established;
        }
        let our_fin_acked = f.ack() && acked(s.ack, e.fin_end);
        e.state = match (e.state, f.fin(), our_fin_acked) {
            (State::Established, true, _) => State::CloseWait,
            (State::FinWait1, true, true) => State::TimeWait,
            (State::FinWait1, true, false) => State::Closing,
            (State::FinWait1, false, true) => State::FinWait2,
            (State::FinWait2, true, _) => State::TimeWait,
            (State::Closing, _, true) => State::TimeWait,
            (State::LastAck, _, true) => State::Closed,
            (st, _, _) => st,
        };
    }
}

/// A short label of the analysis flags worth showing on a ladder.
pub fn analysis_label(bits: u32) -> String {
    let mut v = Vec::new();
    for (b, n) in [
        (flag::FAST_RETRANSMISSION, "fast retransmission"),
        (flag::SPURIOUS_RETRANSMISSION, "spurious retransmission"),
        (flag::RETRANSMISSION, "retransmission"),
        (flag::OUT_OF_ORDER, "out of order"),
        (flag::LOST_SEGMENT, "previous segment not captured"),
        (flag::ACK_LOST_SEGMENT, "ACKed unseen segment"),
        (flag::DUPLICATE_ACK, "dup ACK"),
        (flag::ZERO_WINDOW, "zero window"),
        (flag::ZERO_WINDOW_PROBE, "zero window probe"),
        (flag::ZERO_WINDOW_PROBE_ACK, "zero window probe ACK"),
        (flag::WINDOW_UPDATE, "window update"),
        (flag::WINDOW_FULL, "window full"),
        (flag::KEEP_ALIVE, "keep-alive"),
        (flag::KEEP_ALIVE_ACK, "keep-alive ACK"),
    ] {
        if bits & b != 0 {
            v.push(n);
        }
    }
    v.join(", ")
}

/// The arrow label of a segment: flags, relative seq/ack, length, window.
pub fn segment_label(s: &Segment) -> String {
    let mut l = format!("[{}] seq={}", FlagLetters(s.flags), s.seq);
    if s.flags.ack() {
        let _ = write!(l, " ack={}", s.ack);
    }
    let _ = write!(l, " len={} win={}", s.len, s.window);
    if !s.sack.is_empty() {
        l.push_str(" sack");
        for (a, b) in &s.sack {
            let _ = write!(l, " {a}-{b}");
        }
    }
    l
}

fn ep(e: (core::net::IpAddr, u16)) -> String {
    match e.0 {
        core::net::IpAddr::V6(a) => format!("[{a}]:{}", e.1),
        a => format!("{a}:{}", e.1),
    }
}

/// Renders a stream's ladder as text with [`ladder::render`](crate::ladder::render): endpoint
/// a (the first sender) on the left. `limit` caps the number of segments drawn.
pub fn ladder_text(conv: &Conversation, segs: &[Segment], limit: Option<usize>) -> String {
    let Some(first) = segs.first() else {
        return format!("stream {}: no segments\n", conv.stream);
    };
    let (la, lb) = (ep(conv.a), ep(conv.b));
    let mut st = StateTracker::new(segs);
    let (sa, sb) = st.states();
    let ends = Ends { client: la.clone(), server: lb.clone(), client_state: sa, server_state: sb };
    let n = limit.unwrap_or(usize::MAX).min(segs.len());
    let mut items = Vec::with_capacity(n * 2);
    let side = |a: bool| if a { Side::Client } else { Side::Server };
    for s in &segs[..n] {
        let before = st.states();
        st.on_segment(s);
        let after = st.states();
        let at = Instant::from_micros(s.ts_ns.saturating_sub(first.ts_ns) / 1000);
        // A state a segment caused shows on the segment's own row.
        for (a, was, now) in [(true, before.0, after.0), (false, before.1, after.1)] {
            if was != now {
                items.push((at, Item::State { side: side(a), new: now }));
            }
        }
        let (label, note) = (segment_label(s), analysis_label(s.analysis));
        items.push((at, Item::Segment { from: side(s.from_a), label, lost: false, note }));
    }
    if n < segs.len() {
        let last = items.last().map_or(Instant::ZERO, |(at, _)| *at);
        items.push((last, Item::Note(format!("... {} more segments", segs.len() - n))));
    }
    format!("stream {}: {la} <-> {lb}\n{}", conv.stream, render(&items, &ends))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Renders a stream's ladder as a standalone SVG document.
pub fn ladder_svg(conv: &Conversation, segs: &[Segment], limit: Option<usize>) -> String {
    let n = limit.unwrap_or(usize::MAX).min(segs.len());
    let row = 34.0;
    let top = 90.0;
    let (xa, xb) = (260.0, 740.0);
    let height = top + row * (n as f64 + 2.0) + 40.0;
    let width = 1000.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="monospace" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r##"<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#333"/></marker></defs>"##
    );
    let _ = writeln!(
        s,
        r#"<text x="{}" y="24" text-anchor="middle" font-size="15" font-weight="bold">TCP stream {}</text>"#,
        width / 2.0,
        conv.stream
    );
    let (la, lb) = (ep(conv.a), ep(conv.b));
    let _ = writeln!(
        s,
        r#"<text x="{xa}" y="50" text-anchor="middle" font-weight="bold">{}</text>"#,
        esc(&la)
    );
    let _ = writeln!(
        s,
        r#"<text x="{xb}" y="50" text-anchor="middle" font-weight="bold">{}</text>"#,
        esc(&lb)
    );
    let bottom = top + row * (n as f64 + 1.0);
    let _ = writeln!(
        s,
        r##"<line x1="{xa}" y1="60" x2="{xa}" y2="{bottom}" stroke="#555" stroke-width="2"/>"##
    );
    let _ = writeln!(
        s,
        r##"<line x1="{xb}" y1="60" x2="{xb}" y2="{bottom}" stroke="#555" stroke-width="2"/>"##
    );
    let Some(first) = segs.first() else {
        s.push_str("</svg>\n");
        return s;
    };
    let mut st = StateTracker::new(segs);
    let state_box = |s: &mut String, x: f64, y: f64, name: &str, left: bool| {
        let w = name.len() as f64 * 7.5 + 12.0;
        let bx = if left { x - w - 12.0 } else { x + 12.0 };
        let _ = writeln!(
            s,
            r##"<rect x="{bx}" y="{}" width="{w}" height="18" rx="4" fill="#e8f0fe" stroke="#4a70c0"/><text x="{}" y="{}" text-anchor="middle" fill="#1a3a80">{name}</text>"##,
            y - 13.0,
            bx + w / 2.0,
            y
        );
    };
    let (sa, sb) = st.states();
    state_box(&mut s, xa, top - 10.0, sa.name(), true);
    state_box(&mut s, xb, top - 10.0, sb.name(), false);
    for (i, seg) in segs[..n].iter().enumerate() {
        let y0 = top + row * i as f64 + 6.0;
        let y1 = y0 + row * 0.8;
        let before = st.states();
        st.on_segment(seg);
        let after = st.states();
        let (x0, x1) = if seg.from_a { (xa, xb) } else { (xb, xa) };
        let bad = seg.analysis
            & (flag::RETRANSMISSION
                | flag::FAST_RETRANSMISSION
                | flag::SPURIOUS_RETRANSMISSION
                | flag::LOST_SEGMENT
                | flag::OUT_OF_ORDER
                | flag::DUPLICATE_ACK
                | flag::ZERO_WINDOW)
            != 0;
        let color = if bad {
            "#c0392b"
        } else if seg.flags.syn() || seg.flags.fin() || seg.flags.rst() {
            "#1f5fbf"
        } else {
            "#333"
        };
        let _ = writeln!(
            s,
            r#"<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y1}" stroke="{color}" stroke-width="1.5" marker-end="url(#arrow)"/>"#
        );
        let mut label = segment_label(seg);
        let note = analysis_label(seg.analysis);
        if !note.is_empty() {
            let _ = write!(label, " [{note}]");
        }
        let angle = ((y1 - y0) / (x1 - x0)).atan().to_degrees();
        let (mx, my) = ((xa + xb) / 2.0, (y0 + y1) / 2.0 - 4.0);
        let _ = writeln!(
            s,
            r#"<text x="{mx}" y="{my}" text-anchor="middle" fill="{color}" transform="rotate({angle:.2} {mx} {my})">{}</text>"#,
            esc(&label)
        );
        let t = seg.ts_ns.saturating_sub(first.ts_ns) as f64 / 1e9;
        let _ = writeln!(s, r##"<text x="20" y="{}" fill="#777">{t:.6}</text>"##, y0 + 4.0);
        // The sender's new state shows where its arrow starts, the receiver's where it ends.
        let (ya, yb) = if seg.from_a { (y0 + 4.0, y1 + 4.0) } else { (y1 + 4.0, y0 + 4.0) };
        if after.0 != before.0 {
            state_box(&mut s, xa, ya, after.0.name(), true);
        }
        if after.1 != before.1 {
            state_box(&mut s, xb, yb, after.1.name(), false);
        }
    }
    if n < segs.len() {
        let _ = writeln!(
            s,
            r##"<text x="{}" y="{}" text-anchor="middle" fill="#777">… {} more segments</text>"##,
            (xa + xb) / 2.0,
            bottom + 20.0,
            segs.len() - n
        );
    }
    s.push_str("</svg>\n");
    s
}
