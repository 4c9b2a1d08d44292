//! The eleven connection states of RFC 9293 section 3.3.2, as plain names.
//!
//! The per-state data lives in the connection's internal state enum; this type is the name
//! tools print and events carry.

use core::fmt;

/// A TCP connection state (RFC 9293 section 3.3.2). Prints as the RFC writes it (`SYN-SENT`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum State {
    /// No connection (the TCB is gone, or never existed).
    Closed,
    /// Waiting for a connection request (a listener).
    Listen,
    /// SYN sent, waiting for a matching SYN.
    SynSent,
    /// SYN received and answered, waiting for the ACK of our SYN.
    SynReceived,
    /// Open: data flows both ways.
    Established,
    /// We sent FIN; waiting for its ACK or the peer's FIN.
    FinWait1,
    /// Our FIN is acknowledged; waiting for the peer's FIN.
    FinWait2,
    /// The peer sent FIN; waiting for the local application to close.
    CloseWait,
    /// Both sides sent FIN at once; waiting for the ACK of ours.
    Closing,
    /// The peer closed first and we sent our FIN; waiting for its ACK.
    LastAck,
    /// Both FINs are acknowledged; waiting 2*MSL so stray segments die out.
    TimeWait,
}

impl State {
    /// The RFC's name for the state.
    pub const fn name(self) -> &'static str {
        match self {
            State::Closed => "CLOSED",
            State::Listen => "LISTEN",
            State::SynSent => "SYN-SENT",
            State::SynReceived => "SYN-RECEIVED",
            State::Established => "ESTABLISHED",
            State::FinWait1 => "FIN-WAIT-1",
            State::FinWait2 => "FIN-WAIT-2",
            State::CloseWait => "CLOSE-WAIT",
            State::Closing => "CLOSING",
            State::LastAck => "LAST-ACK",
            State::TimeWait => "TIME-WAIT",
        }
    }

    /// True for the states RFC 9293 calls synchronized (ESTABLISHED and every later state).
    pub const fn is_synchronized(self) -> bool {
        !matches!(self, State::Closed | State::Listen | State::SynSent | State::SynReceived)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;

    #[test]
    fn prints_rfc_names() {
        assert_eq!(format!("{}", State::SynSent), "SYN-SENT");
        assert_eq!(format!("{}", State::TimeWait), "TIME-WAIT");
        assert!(State::CloseWait.is_synchronized());
        assert!(!State::SynReceived.is_synchronized());
    }
}
