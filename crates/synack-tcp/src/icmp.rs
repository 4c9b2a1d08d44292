//! ICMP errors as the engine sees them (RFC 9293 3.9.2.2, RFC 5461, RFC 5927).
//!
//! The IP stack parses the ICMP message and the quoted IP + TCP header, then calls
//! [`crate::Endpoint::on_icmp_error`] with the quoted addresses, ports and sequence number.
//! Which errors end a connection, and in which states, is the connection's [`IcmpPolicy`].

use crate::state::State;

/// An ICMP or ICMPv6 error, classified.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum IcmpError {
    /// Destination unreachable: network (v4 code 0, v6 code 0). Soft.
    NetUnreachable,
    /// Destination unreachable: host (v4 code 1, v6 code 3). Soft.
    HostUnreachable,
    /// Destination unreachable: protocol (v4 code 2). Hard.
    ProtocolUnreachable,
    /// Destination unreachable: port (v4 code 3, v6 code 4). Hard.
    PortUnreachable,
    /// Source route failed (v4 code 5). Soft.
    SourceRouteFailed,
    /// Administratively prohibited (v4 codes 9, 10, 13; v6 code 1). Soft.
    AdminProhibited,
    /// Fragmentation needed and DF set (v4 code 4) or Packet Too Big (v6): the next-hop MTU.
    PacketTooBig {
        /// The MTU the router reported.
        mtu: u16,
    },
    /// Time exceeded (TTL or reassembly). Soft.
    TimeExceeded,
    /// Parameter problem. Soft.
    ParameterProblem,
    /// Source quench (deprecated, RFC 6633): silently ignored (MUST-55).
    SourceQuench,
}

impl IcmpError {
    //= rfc9293#3.9.2.2
    //~ paraphrase: Protocol and port unreachable are hard errors (SHLD-26); the rest must not abort
    //~ (MUST-56). Fragmentation-needed drives path MTU discovery instead (RFC 1191).
    /// True for the errors that end the connection.
    pub const fn is_hard(self) -> bool {
        matches!(self, IcmpError::ProtocolUnreachable | IcmpError::PortUnreachable)
    }
}

/// Which ICMP errors (other than "packet too big" and source quench) end a connection, and in
/// which states. Every error is first checked against the send window (RFC 5927 4.1); one that
/// does not end the connection is reported as a soft error.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
#[non_exhaustive]
pub enum IcmpPolicy {
    /// RFC 9293 3.9.2.2: the hard errors (protocol and port unreachable) abort the connection
    /// in any state (SHLD-26); the others never do (MUST-56).
    #[default]
    Rfc,
    /// Linux (`tcp_v4_err`, `tcp_v6_err`): a connection that has not completed its handshake
    /// (SYN-SENT, or SYN-RECEIVED of a simultaneous open) ends on any error. A listener's
    /// half-open connection is dropped, silently, by network or host unreachable, time
    /// exceeded or a parameter problem quoting exactly its ISN. Once synchronized (and for a
    /// Fast Open child) every error is soft.
    Linux,
    /// FreeBSD (`tcp_ctlinput`): with `net.inet.tcp.icmp_may_rst` (`may_rst`), port or
    /// protocol unreachable, administratively prohibited and time exceeded end a connection in
    /// SYN-SENT; nothing ends one in any other state.
    FreeBsd {
        /// `net.inet.tcp.icmp_may_rst` (1 by default).
        may_rst: bool,
    },
}

/// What an ICMP error (already believed: it quotes a sequence number in flight) does to a
/// connection.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum IcmpVerdict {
    /// The connection ends with this error.
    Abort,
    /// A listener's half-open connection is forgotten without telling anyone.
    DropHalfOpen,
    /// Reported as a soft error; the connection goes on.
    Soft,
}

impl IcmpPolicy {
    /// The verdict on `error` for a connection in `state`. `passive_half_open` is a listener's
    /// child still in SYN-RECEIVED that no application holds (not a Fast Open child);
    /// `quotes_iss` says the quoted sequence number is the connection's ISN.
    pub(crate) fn verdict(
        self,
        error: IcmpError,
        state: State,
        passive_half_open: bool,
        fast_open_child: bool,
        quotes_iss: bool,
    ) -> IcmpVerdict {
        match self {
            IcmpPolicy::Rfc if error.is_hard() => IcmpVerdict::Abort,
            IcmpPolicy::Rfc => IcmpVerdict::Soft,
            IcmpPolicy::Linux => {
                if passive_half_open {
                    //~ linux: tcp_req_err drops the request only for net/host unreachable,
                    //~ time exceeded and parameter problem, and only when the quote is the ISN.
                    let drops = matches!(
                        error,
                        IcmpError::NetUnreachable
                            | IcmpError::HostUnreachable
                            | IcmpError::TimeExceeded
                            | IcmpError::ParameterProblem
                    );
                    return if drops && quotes_iss {
                        IcmpVerdict::DropHalfOpen
                    } else {
                        IcmpVerdict::Soft
                    };
                }
                //~ linux: in SYN-SENT and SYN-RECEIVED (not a Fast Open child) the error is
                //~ set on the socket and the connection is done.
                let unsynchronized = matches!(state, State::SynSent | State::SynReceived);
                if unsynchronized && !fast_open_child {
                    IcmpVerdict::Abort
                } else {
                    IcmpVerdict::Soft
                }
            }
            IcmpPolicy::FreeBsd { may_rst } => {
                //~ freebsd: tcp_drop_syn_sent for these errors when icmp_may_rst is set.
                let drops = matches!(
                    error,
                    IcmpError::PortUnreachable
                        | IcmpError::ProtocolUnreachable
                        | IcmpError::AdminProhibited
                        | IcmpError::TimeExceeded
                );
                if may_rst && drops && state == State::SynSent {
                    IcmpVerdict::Abort
                } else {
                    IcmpVerdict::Soft
                }
            }
        }
    }
}

impl IcmpError {
    /// The error an ICMPv4 message of `icmp_type` and `code` reports (RFC 792, RFC 1812 5.2.7.1),
    /// with `mtu` the next-hop MTU of a "fragmentation needed"; `None` for a message that is
    /// not an error about a packet we sent (echo, redirect, ...).
    pub fn from_icmpv4(icmp_type: u8, code: u8, mtu: u16) -> Option<IcmpError> {
        Some(match (icmp_type, code) {
            (3, 0 | 6 | 11) => IcmpError::NetUnreachable,
            (3, 2) => IcmpError::ProtocolUnreachable,
            (3, 3) => IcmpError::PortUnreachable,
            (3, 4) => IcmpError::PacketTooBig { mtu },
            (3, 5) => IcmpError::SourceRouteFailed,
            (3, 9 | 10 | 13) => IcmpError::AdminProhibited,
            (3, _) => IcmpError::HostUnreachable,
            (4, _) => IcmpError::SourceQuench,
            (11, _) => IcmpError::TimeExceeded,
            (12, _) => IcmpError::ParameterProblem,
            _ => return None,
        })
    }

    /// The error an ICMPv6 message of `icmp_type` and `code` reports (RFC 4443 3), with
    /// `mtu` the MTU of a "packet too big"; `None` for a message that is not an error.
    pub fn from_icmpv6(icmp_type: u8, code: u8, mtu: u32) -> Option<IcmpError> {
        Some(match (icmp_type, code) {
            (1, 0) => IcmpError::NetUnreachable,
            (1, 1 | 5 | 6) => IcmpError::AdminProhibited,
            (1, 4) => IcmpError::PortUnreachable,
            (1, _) => IcmpError::HostUnreachable,
            (2, _) => IcmpError::PacketTooBig { mtu: u16::try_from(mtu).unwrap_or(u16::MAX) },
            (3, _) => IcmpError::TimeExceeded,
            (4, _) => IcmpError::ParameterProblem,
            _ => return None,
        })
    }
}
