//! What the endpoint tells the application, through [`crate::Endpoint::poll_event`].

use alloc::collections::VecDeque;

use crate::error::ConnectionError;
use crate::id::{ConnId, ListenerId};
use crate::state::State;

/// Most events kept for the application; older ones are dropped when it does not poll.
const MAX_EVENTS: usize = 65536;

/// Queues `e` for the application. Bounded: an application that never polls loses the oldest
/// events, not memory.
pub(crate) fn push_bounded(events: &mut VecDeque<Event>, e: Event) {
    if events.len() >= MAX_EVENTS {
        events.pop_front();
    }
    events.push_back(e);
}

/// Something the application may want to react to. Every state change is reported, so tools
/// can draw the state diagram a connection walked through.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum Event {
    /// The connection moved from `old` to `new`.
    StateChanged {
        /// The connection.
        conn: ConnId,
        /// The state it left.
        old: State,
        /// The state it entered.
        new: State,
    },
    /// The handshake completed (ESTABLISHED reached).
    Connected(ConnId),
    /// A listener has a connection ready for [`crate::Endpoint::accept`].
    AcceptReady(ListenerId),
    /// New data (or the end of stream) can be read.
    Readable(ConnId),
    /// Send-buffer space became available after a `send` returned `WouldBlock`.
    Writable(ConnId),
    /// The peer closed its direction (FIN received): `recv` returns `Ok(0)` once drained.
    PeerClosed(ConnId),
    /// The connection ended normally (both FINs acknowledged, or TIME-WAIT over).
    Closed(ConnId),
    /// The connection ended with an error (refused, reset, timed out ...).
    Error {
        /// The connection.
        conn: ConnId,
        /// Why.
        error: ConnectionError,
    },
    /// The peer's urgent pointer arrived or moved forward (RFC 9293 MUST-32).
    Urgent {
        /// The connection.
        conn: ConnId,
        /// Bytes from the read position up to the urgent mark.
        pending: u32,
    },
    /// A soft error the application may want to know about (RFC 9293 MUST-47, SHLD-9, SHLD-25).
    SoftError {
        /// The connection.
        conn: ConnId,
        /// What happened.
        error: SoftError,
    },
}

/// A non-fatal problem report.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum SoftError {
    /// Retransmissions of one segment reached R1 (RFC 9293 3.8.3): the path may be broken.
    /// The IP layer should re-check its route or neighbour (negative advice).
    ExcessiveRetransmissions,
    /// A soft ICMP error (net/host unreachable, time exceeded, parameter problem ...).
    Icmp(crate::icmp::IcmpError),
    /// The path MTU dropped; the effective send MSS is now this many bytes.
    PathMtuReduced(u16),
}
