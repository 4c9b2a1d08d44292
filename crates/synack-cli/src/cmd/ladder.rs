//! The demo's ladder diagram: a timeline of segments, state changes and application lines,
//! drawn as arrows between a client column and a server column.
//!
//! Unlike `synack flow`, which infers states from a capture, the demo knows each end's real
//! state from the engine's `StateChanged` events, and knows which segments the link lost.
//! Relative numbers and scaled windows come from the analyzer (`synack_analyze::analysis`), fed
//! every frame as it entered the link. Retransmissions are marked here, by sequence space sent
//! twice: the analyzer would also judge by ACKs that the link lost, and call them spurious.

use std::fmt::Write as _;
use std::net::SocketAddr;

use synack_analyze::analysis::Analyzer;
use synack_analyze::decode::decode;
use synack_tcp::{Instant, State};
use synack_wire::tcp::{FlagStyle, FlagText, TcpFlags};

/// pcap LINKTYPE_RAW: the link carries bare IP packets.
const LINKTYPE_RAW: u32 = 101;

/// Which end a row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// The connecting host (left column).
    Client,
    /// The listening host (right column).
    Server,
}

/// One thing that happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Item {
    /// A segment entered the link.
    Segment {
        /// Sender.
        from: Side,
        /// Flags, relative seq/ack, length, window.
        label: String,
        /// The link dropped it.
        lost: bool,
        /// What the analysis says (retransmission, dup ACK ...), empty if nothing.
        note: String,
    },
    /// An end changed state (from the engine's event).
    State {
        /// Whose state.
        side: Side,
        /// The new state.
        new: State,
    },
    /// An application wrote or read a line, or did something worth a line.
    App {
        /// Which application.
        side: Side,
        /// What to show.
        text: String,
    },
}

/// Items with their times, in the order they happened.
#[derive(Default)]
pub(crate) struct Timeline {
    items: Vec<(Instant, Item)>,
    analyzer: Analyzer,
    frames: u64,
    /// Per sender (client, server): the end of the highest sequence number sent so far.
    sent_end: [Option<u32>; 2],
}

/// Flags as the notes write them: `SYN`, `SYN,ACK`, `PSH,ACK`, `FIN,ACK`, `RST`.
fn flag_names(f: TcpFlags) -> String {
    FlagText(f, FlagStyle::Names).to_string()
}

impl Timeline {
    /// An empty timeline.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Adds a non-segment item.
    pub(crate) fn push(&mut self, at: Instant, item: Item) {
        self.items.push((at, item));
    }

    /// Adds a frame that entered the link. Frames that are not TCP are ignored.
    pub(crate) fn push_frame(&mut self, at: Instant, from: Side, bytes: &[u8], lost: bool) {
        let d = decode(LINKTYPE_RAW, bytes);
        let (Some(ip), Some(t)) = (d.ip, d.tcp()) else { return };
        self.frames += 1;
        let a = self.analyzer.on_packet(self.frames, at.as_micros() * 1000, ip.src, ip.dst, t);
        let mut label = format!("{} seq={}", flag_names(t.flags), a.rel_seq);
        if t.flags.ack() {
            let _ = write!(label, " ack={}", a.rel_ack);
        }
        let _ = write!(label, " len={} win={}", t.payload_len, a.window_size);
        // A segment that occupies sequence space already sent is a retransmission. Decided
        // here from what entered the link (the analyzer would judge by ACKs the link lost).
        let i = usize::from(from == Side::Server);
        let end = t.seq.wrapping_add(t.seg_len());
        let mut note = String::new();
        if t.seg_len() > 0 {
            match self.sent_end[i] {
                Some(hi) if (end.wrapping_sub(hi) as i32) <= 0 => note.push_str("retransmission"),
                _ => self.sent_end[i] = Some(end),
            }
        }
        // What Wireshark's analysis says about segments that carry no new data.
        use synack_analyze::analysis::flag;
        for (bit, text) in [
            (flag::DUPLICATE_ACK, "dup ACK"),
            (flag::ZERO_WINDOW, "zero window"),
            (flag::ZERO_WINDOW_PROBE, "zero-window probe"),
            (flag::KEEP_ALIVE, "keep-alive / probe"),
            (flag::KEEP_ALIVE_ACK, "keep-alive ACK"),
            (flag::WINDOW_UPDATE, "window update"),
        ] {
            if a.flags & bit != 0 {
                if !note.is_empty() {
                    note.push_str(", ");
                }
                note.push_str(text);
                if bit == flag::DUPLICATE_ACK {
                    let _ = write!(note, " #{}", a.dupack_num);
                }
            }
        }
        self.items.push((at, Item::Segment { from, label, lost, note }));
    }

    /// The items so far.
    pub(crate) fn items(&self) -> &[(Instant, Item)] {
        &self.items
    }

    /// Draws the ladder. `client` and `server` name the two columns.
    pub(crate) fn render(&self, client: SocketAddr, server: SocketAddr) -> String {
        render(&self.items, client, server)
    }
}

/// Width of the space between the two lifelines.
const W: usize = 54;
/// Least width of the client's state column (the longest state name is 12 characters).
const MIN_S: usize = 12;

fn ms(at: Instant) -> String {
    let us = at.as_micros();
    format!("{}.{:03}", us / 1000, us % 1000)
}

fn arrow(from: Side, label: &str, lost: bool) -> String {
    let body = format!(" {label} ");
    let room = W.saturating_sub(body.len() + 2);
    match (from, lost) {
        (Side::Client, false) => format!("--{body}{}>", "-".repeat(room.saturating_sub(1).max(1))),
        (Side::Server, false) => format!("<{}{body}--", "-".repeat(room.saturating_sub(1).max(1))),
        // A lost segment stops short of the other lifeline.
        (Side::Client, true) => {
            let b = format!("--{body}{}X", "-".repeat(room.saturating_sub(9).max(1)));
            format!("{b:<W$}")
        }
        (Side::Server, true) => {
            let b = format!("X{}{body}--", "-".repeat(room.saturating_sub(9).max(1)));
            format!("{b:>W$}")
        }
    }
}

fn render(items: &[(Instant, Item)], client: SocketAddr, server: SocketAddr) -> String {
    let mut out = String::new();
    let blank = " ".repeat(W);
    let client = client.to_string();
    let s_w = (client.len() + 1).max(MIN_S);
    let _ = writeln!(out, "{:>10}  {:<s_w$}|{blank}| server", "", "client");
    let _ = writeln!(out, "{:>10}  {client:<s_w$}|{blank}| {server}", "time (ms)");
    let _ = writeln!(out, "{:>10}  {:<s_w$}|{blank}| LISTEN", "", "CLOSED");
    // States changed since the last row, shown on the next row at the same time.
    let mut pending: [Option<(Instant, State)>; 2] = [None, None];
    let idx = |s: Side| usize::from(s == Side::Server);
    let flush = |out: &mut String, pending: &mut [Option<(Instant, State)>; 2]| {
        if pending.iter().all(Option::is_none) {
            return;
        }
        let at = pending.iter().flatten().map(|p| p.0).min().unwrap_or(Instant::ZERO);
        let l = pending[0].take().map(|p| p.1.to_string()).unwrap_or_default();
        let r = pending[1].take().map(|p| p.1.to_string()).unwrap_or_default();
        let _ = writeln!(out, "{:>10}  {l:<s_w$}|{blank}| {r}", ms(at));
    };
    for (at, item) in items {
        // Pending states of another instant get their own row first.
        if pending.iter().flatten().any(|p| p.0 != *at) {
            flush(&mut out, &mut pending);
        }
        match item {
            Item::State { side, new } => {
                let i = idx(*side);
                if pending[i].is_some() {
                    flush(&mut out, &mut pending);
                }
                pending[i] = Some((*at, *new));
            }
            Item::Segment { from, label, lost, note } => {
                let l = pending[0].take().map(|p| p.1.to_string()).unwrap_or_default();
                let r = pending[1].take().map(|p| p.1.to_string()).unwrap_or_default();
                let _ =
                    write!(out, "{:>10}  {l:<s_w$}|{}| {r}", ms(*at), arrow(*from, label, *lost));
                let mut notes = Vec::new();
                if *lost {
                    notes.push("lost".to_string());
                }
                if !note.is_empty() {
                    notes.push(note.clone());
                }
                if !notes.is_empty() {
                    let pad = if r.is_empty() { "" } else { " " };
                    let _ = write!(out, "{pad}[{}]", notes.join("; "));
                }
                out.truncate(out.trim_end().len());
                out.push('\n');
            }
            Item::App { side, text } => {
                flush(&mut out, &mut pending);
                let line = match side {
                    Side::Client => format!("  client app: {text}"),
                    Side::Server => format!("{:>W$}", format!("server app: {text}  ")),
                };
                let _ = writeln!(out, "{:>10}  {:<s_w$}|{line:<W$}|", ms(*at), "");
            }
        }
    }
    flush(&mut out, &mut pending);
    out.lines().map(|l| l.trim_end().to_string() + "\n").collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_states_and_lost_arrows() {
        let items = vec![
            (Instant::ZERO, Item::State { side: Side::Client, new: State::SynSent }),
            (
                Instant::ZERO,
                Item::Segment {
                    from: Side::Client,
                    label: "SYN seq=0 len=0 win=65535".into(),
                    lost: true,
                    note: String::new(),
                },
            ),
            (
                Instant::from_millis(1000),
                Item::Segment {
                    from: Side::Client,
                    label: "SYN seq=0 len=0 win=65535".into(),
                    lost: false,
                    note: "retransmission".into(),
                },
            ),
            (
                Instant::from_millis(1010),
                Item::State { side: Side::Server, new: State::SynReceived },
            ),
            (Instant::from_millis(1010), Item::App { side: Side::Server, text: "hi".into() }),
        ];
        let c: SocketAddr = "10.0.0.1:40000".parse().unwrap();
        let s: SocketAddr = "10.0.0.2:7".parse().unwrap();
        let t = render(&items, c, s);
        let lines: Vec<&str> = t.lines().collect();
        assert!(
            lines[3].contains("SYN-SENT") && lines[3].contains("X") && lines[3].ends_with("[lost]")
        );
        assert!(lines[4].starts_with("  1000.000") && lines[4].contains("-->| [retransmission]"));
        assert!(lines[5].ends_with("| SYN-RECEIVED"), "{t}");
        assert!(lines[6].contains("server app: hi"));
        for l in &lines {
            assert_eq!(l.find('|'), Some(10 + 2 + 15), "lifeline aligned: {l:?}");
        }
    }
}
