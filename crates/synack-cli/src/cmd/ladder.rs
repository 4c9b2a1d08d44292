//! The demo's and the scenarios' ladder diagram: a timeline of segments, state changes and
//! application lines, drawn by the analyzer's ladder drawer (`synack_analyze::ladder`, the one
//! `synack flow` uses).
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
use synack_analyze::ladder::{Ends, render};
pub(crate) use synack_analyze::ladder::{Item, Side};
use synack_tcp::{Instant, State};
use synack_wire::tcp::{FlagStyle, FlagText, TcpFlags};

/// pcap LINKTYPE_RAW: the link carries bare IP packets.
const LINKTYPE_RAW: u32 = 101;

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
        let ends = Ends {
            client: client.to_string(),
            server: server.to_string(),
            client_state: State::Closed,
            server_state: State::Listen,
        };
        render(&self.items, &ends)
    }
}
