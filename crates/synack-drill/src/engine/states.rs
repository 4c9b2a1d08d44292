//! Connection states as the scripts name them: Linux's `tcpi_state` numbers and FreeBSD's
//! `sockstat` names.

use super::EngineTarget;
use crate::probe::SockState;
use synack_tcp::{ConnId, State};

impl EngineTarget {
    /// A live connection as sockstat shows it; `None` once the engine has let it go.
    pub(super) fn conn_state(&self, c: ConnId, owned: bool) -> Option<SockState> {
        let state = self.ep.state(c).ok()?;
        let tuple = self.ep.four_tuple(c).ok()?;
        let (tx, rx) = self.ep.stats(c).map_or((0, 0), |s| (s.send_queue, s.recv_queue));
        Some(SockState {
            local_port: tuple.local.port(),
            remote_port: Some(tuple.remote.port()),
            state: freebsd_state_name(state),
            owned,
            local: Some(tuple.local),
            remote: Some(tuple.remote),
            linux_state: linux_state_number(state) as u8,
            tx_queue: u32::try_from(tx).unwrap_or(u32::MAX),
            rx_queue: u32::try_from(rx).unwrap_or(u32::MAX),
        })
    }
}

/// `tcpi_state` as Linux numbers it (`TCP_ESTABLISHED` = 1 ... `TCP_CLOSING` = 11); the
/// scripts compare it with names, which [`crate::code`] maps to these numbers for both
/// Linux's `TCP_*` and FreeBSD's `TCPI_*` spellings.
pub(super) fn linux_state_number(s: State) -> i64 {
    match s {
        State::Established => 1,
        State::SynSent => 2,
        State::SynReceived => 3,
        State::FinWait1 => 4,
        State::FinWait2 => 5,
        State::TimeWait => 6,
        State::Closed => 7,
        State::CloseWait => 8,
        State::LastAck => 9,
        State::Listen => 10,
        State::Closing => 11,
    }
}

/// The state names FreeBSD's `sockstat -s` and `netstat` print.
pub(super) fn freebsd_state_name(s: State) -> &'static str {
    match s {
        State::Closed => "CLOSED",
        State::Listen => "LISTEN",
        State::SynSent => "SYN_SENT",
        State::SynReceived => "SYN_RCVD",
        State::Established => "ESTABLISHED",
        State::FinWait1 => "FIN_WAIT_1",
        State::FinWait2 => "FIN_WAIT_2",
        State::CloseWait => "CLOSE_WAIT",
        State::Closing => "CLOSING",
        State::LastAck => "LAST_ACK",
        State::TimeWait => "TIME_WAIT",
    }
}
