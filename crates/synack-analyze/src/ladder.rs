//! The text ladder diagram: a client and a server lifeline, one arrow per segment, each end's
//! TCP state beside its lifeline when it changes, and application lines between them.
//!
//! One drawer for every ladder: `synack flow` feeds it a capture's segments with the states
//! [`StateTracker`](crate::flow::StateTracker) infers; the CLI's demo and scenarios feed it
//! the engine's own state changes, the segments that entered their link (lost ones stop short
//! of the other lifeline) and what the applications did.

use core::fmt::Write;

use synack_tcp::{Instant, State};

/// Which end a row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The connecting end (left lifeline); in a capture, the end that sent first.
    Client,
    /// The listening end (right lifeline).
    Server,
}

/// One thing that happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A segment was sent.
    Segment {
        /// Sender.
        from: Side,
        /// What the arrow says (flags, sequence numbers, length, window).
        label: String,
        /// The link dropped it.
        lost: bool,
        /// What an analysis says about it (retransmission, dup ACK ...), empty if nothing.
        note: String,
    },
    /// An end changed state.
    State {
        /// Whose state.
        side: Side,
        /// The new state.
        new: State,
    },
    /// An application did something worth a line.
    App {
        /// Which application.
        side: Side,
        /// What to show.
        text: String,
    },
    /// A line between the lifelines that belongs to no end (a cut, a summary).
    Note(String),
}

/// The two ends as the header shows them: their addresses and the states they start in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ends {
    /// The client's address.
    pub client: String,
    /// The server's address.
    pub server: String,
    /// The client's state before the first row.
    pub client_state: State,
    /// The server's state before the first row.
    pub server_state: State,
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

/// Draws `items` (in the order they happened, times from the start) as text. A state change
/// shows on the next row of the same instant (the segment it caused or came with), or on a
/// row of its own.
pub fn render(items: &[(Instant, Item)], ends: &Ends) -> String {
    let mut out = String::new();
    let blank = " ".repeat(W);
    let client = &ends.client;
    let server = &ends.server;
    let s_w = (client.len() + 1).max(MIN_S);
    let _ = writeln!(out, "{:>10}  {:<s_w$}|{blank}| server", "", "client");
    let _ = writeln!(out, "{:>10}  {client:<s_w$}|{blank}| {server}", "time (ms)");
    let (cs, ss) = (ends.client_state.name(), ends.server_state.name());
    let _ = writeln!(out, "{:>10}  {cs:<s_w$}|{blank}| {ss}", "");
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
            Item::Note(text) => {
                flush(&mut out, &mut pending);
                let _ = writeln!(out, "{:>10}  {:<s_w$}|{:^W$}|", "", "", text);
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
            (Instant::from_millis(1010), Item::Note("... 3 more segments".into())),
        ];
        let ends = Ends {
            client: "10.0.0.1:40000".into(),
            server: "10.0.0.2:7".into(),
            client_state: State::Closed,
            server_state: State::Listen,
        };
        let t = render(&items, &ends);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[2].contains("CLOSED") && lines[2].ends_with("| LISTEN"), "{t}");
        assert!(
            lines[3].contains("SYN-SENT") && lines[3].contains("X") && lines[3].ends_with("[lost]")
        );
        assert!(lines[4].starts_with("  1000.000") && lines[4].contains("-->| [retransmission]"));
        assert!(lines[5].ends_with("| SYN-RECEIVED"), "{t}");
        assert!(lines[6].contains("server app: hi"));
        assert!(lines[7].contains("... 3 more segments"), "{t}");
        for l in &lines {
            assert_eq!(l.find('|'), Some(10 + 2 + 15), "lifeline aligned: {l:?}");
        }
    }
}
