//! TCP over UDP (FreeBSD's `net.inet.tcp.udp_tunneling_port`): what the engine does for a
//! connection whose segments travel inside UDP datagrams. The datagrams themselves are the IP
//! layer's business (`synack_wire::udp_encap` builds and checks them); the engine keeps, per
//! connection, the remote UDP port its segments go to ([`ConnConfig::udp_encapsulation`]) and
//! is told, per arriving segment, the port it came from (`Endpoint::on_udp_segment`; `None` for
//! plain TCP).
//!
//! The rules, as FreeBSD applies them (`tcp_input`, `tcp_twcheck`, `syncache`):
//! * An active open sends its SYN to the configured port; a listener's child takes the port of
//!   the SYN that made it, and every reply to a segment (RST, SYN-ACK, cookie) goes back the
//!   way that segment came.
//! * A segment for a connection past LISTEN that arrives by another way (plain TCP for an
//!   encapsulated connection, another UDP port, or UDP for a plain one) does not belong to it:
//!   it is answered as in CLOSED (RFC 9293 3.10.7.1) by that other way and changes nothing.
//!   Only a SYN that reopens a TIME-WAIT connection (a new incarnation) is taken, and the new
//!   connection takes its port.
//! * The MSS offered and used is [`UDP_ENCAP_OVERHEAD`] smaller, the room the UDP header takes.
//!
//! [`ConnConfig::udp_encapsulation`]: crate::ConnConfig::udp_encapsulation

/// Bytes each encapsulated segment gives up to the UDP header (FreeBSD's default
/// `net.inet.tcp.udp_tunneling_overhead`).
pub const UDP_ENCAP_OVERHEAD: usize = 8;

/// A remote UDP encapsulation port, `None` for plain TCP.
pub type UdpPort = Option<core::num::NonZeroU16>;
