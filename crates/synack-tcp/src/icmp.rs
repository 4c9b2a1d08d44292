//! ICMP errors as the engine sees them (RFC 9293 3.9.2.2, RFC 5461, RFC 5927).
//!
//! The IP stack parses the ICMP message and the quoted IP + TCP header, then calls
//! [`crate::Endpoint::on_icmp_error`] with the quoted addresses, ports and sequence number.

/// An ICMP or ICMPv6 error, classified.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
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
