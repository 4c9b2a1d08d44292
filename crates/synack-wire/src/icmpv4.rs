//! ICMP for IPv4 (RFC 792, RFC 1191): a message view and a parsed representation of echo,
//! destination unreachable (with the next-hop MTU of "fragmentation needed"), source quench,
//! time exceeded and parameter problem; other types are kept as type, code and bytes.

use crate::checksum::{self, ChecksumMode};
use crate::error::{Error, Layer, Result};
use crate::field::put16;
use crate::icmp_common::{self, icmp_packet_view};
use crate::quoted::QuotedPacket;

/// Length of the ICMP header (type, code, checksum, four type-specific bytes).
pub const HEADER_LEN: usize = icmp_common::HEADER_LEN;

/// ICMPv4 message types.
pub mod msg_type {
    /// Echo reply.
    pub const ECHO_REPLY: u8 = 0;
    /// Destination unreachable.
    pub const DST_UNREACHABLE: u8 = 3;
    /// Source quench (deprecated by RFC 6633, still parsed).
    pub const SOURCE_QUENCH: u8 = 4;
    /// Echo request.
    pub const ECHO_REQUEST: u8 = 8;
    /// Time exceeded.
    pub const TIME_EXCEEDED: u8 = 11;
    /// Parameter problem.
    pub const PARAM_PROBLEM: u8 = 12;
}

/// Destination-unreachable codes.
pub mod unreach {
    /// Network unreachable.
    pub const NET: u8 = 0;
    /// Host unreachable.
    pub const HOST: u8 = 1;
    /// Protocol unreachable.
    pub const PROTOCOL: u8 = 2;
    /// Port unreachable.
    pub const PORT: u8 = 3;
    /// Fragmentation needed and DF set (carries the next-hop MTU, RFC 1191).
    pub const FRAG_NEEDED: u8 = 4;
    /// Source route failed.
    pub const SOURCE_ROUTE: u8 = 5;
    /// Communication administratively prohibited (RFC 1812).
    pub const ADMIN_PROHIBITED: u8 = 13;
}

icmp_packet_view!(
    /// An ICMPv4 message in a buffer. After [`Icmpv4Packet::new_checked`] accessors are in bounds.
    Icmpv4Packet,
    Layer::Icmpv4
);

impl<B: AsRef<[u8]>> Icmpv4Packet<B> {
    /// True when the checksum over the whole message verifies.
    pub fn verify_checksum(&self) -> bool {
        checksum::fold(checksum::sum(self.buf.as_ref())) == 0xffff
    }
}

/// A parsed ICMPv4 message.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum Icmpv4Repr<'a> {
    /// Echo request (type 8).
    EchoRequest {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Data.
        data: &'a [u8],
    },
    /// Echo reply (type 0).
    EchoReply {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Data.
        data: &'a [u8],
    },
    /// Destination unreachable (type 3).
    DstUnreachable {
        /// Code ([`unreach`]).
        code: u8,
        /// Next-hop MTU, meaningful for [`unreach::FRAG_NEEDED`] (zero from old routers).
        next_hop_mtu: u16,
        /// The quoted original datagram (see [`quoted`](Icmpv4Repr::quoted)).
        quoted: &'a [u8],
    },
    /// Source quench (type 4).
    SourceQuench {
        /// The quoted original datagram.
        quoted: &'a [u8],
    },
    /// Time exceeded (type 11): code 0 TTL exceeded in transit, 1 reassembly time exceeded.
    TimeExceeded {
        /// Code.
        code: u8,
        /// The quoted original datagram.
        quoted: &'a [u8],
    },
    /// Parameter problem (type 12).
    ParamProblem {
        /// Code.
        code: u8,
        /// Offset of the octet in error.
        pointer: u8,
        /// The quoted original datagram.
        quoted: &'a [u8],
    },
    /// Any other type, kept whole.
    Other {
        /// Message type.
        msg_type: u8,
        /// Code.
        code: u8,
        /// The four type-specific header bytes.
        rest: [u8; 4],
        /// Everything after the header.
        data: &'a [u8],
    },
}

impl<'a> Icmpv4Repr<'a> {
    /// Parses a message, verifying its checksum when `mode` asks to.
    pub fn parse<B: AsRef<[u8]> + ?Sized>(
        pkt: &Icmpv4Packet<&'a B>,
        mode: ChecksumMode,
    ) -> Result<Icmpv4Repr<'a>> {
        let b: &'a [u8] = pkt.into_inner().as_ref();
        let p = Icmpv4Packet::new_checked(b)?;
        if mode.verify() && !p.verify_checksum() {
            return Err(Error::BadChecksum { layer: Layer::Icmpv4 });
        }
        let rest = p.rest_of_header();
        let data: &'a [u8] = &b[HEADER_LEN..];
        let (id, sq) = icmp_common::echo_fields(rest);
        Ok(match (p.msg_type(), p.code()) {
            (msg_type::ECHO_REQUEST, 0) => Icmpv4Repr::EchoRequest { ident: id, seq_no: sq, data },
            (msg_type::ECHO_REPLY, 0) => Icmpv4Repr::EchoReply { ident: id, seq_no: sq, data },
            (msg_type::DST_UNREACHABLE, code) if id == 0 => {
                Icmpv4Repr::DstUnreachable { code, next_hop_mtu: sq, quoted: data }
            }
            (msg_type::SOURCE_QUENCH, 0) if rest == [0; 4] => {
                Icmpv4Repr::SourceQuench { quoted: data }
            }
            (msg_type::TIME_EXCEEDED, code) if rest == [0; 4] => {
                Icmpv4Repr::TimeExceeded { code, quoted: data }
            }
            (msg_type::PARAM_PROBLEM, code) if rest[1..] == [0; 3] => {
                Icmpv4Repr::ParamProblem { code, pointer: rest[0], quoted: data }
            }
            (msg_type, code) => Icmpv4Repr::Other { msg_type, code, rest, data },
        })
    }

    /// Message type and code.
    pub fn type_code(&self) -> (u8, u8) {
        match *self {
            Icmpv4Repr::EchoRequest { .. } => (msg_type::ECHO_REQUEST, 0),
            Icmpv4Repr::EchoReply { .. } => (msg_type::ECHO_REPLY, 0),
            Icmpv4Repr::DstUnreachable { code, .. } => (msg_type::DST_UNREACHABLE, code),
            Icmpv4Repr::SourceQuench { .. } => (msg_type::SOURCE_QUENCH, 0),
            Icmpv4Repr::TimeExceeded { code, .. } => (msg_type::TIME_EXCEEDED, code),
            Icmpv4Repr::ParamProblem { code, .. } => (msg_type::PARAM_PROBLEM, code),
            Icmpv4Repr::Other { msg_type, code, .. } => (msg_type, code),
        }
    }

    fn rest_and_data(&self) -> ([u8; 4], &'a [u8]) {
        let echo = icmp_common::echo_rest;
        match *self {
            Icmpv4Repr::EchoRequest { ident, seq_no, data }
            | Icmpv4Repr::EchoReply { ident, seq_no, data } => (echo(ident, seq_no), data),
            Icmpv4Repr::DstUnreachable { next_hop_mtu, quoted, .. } => {
                (echo(0, next_hop_mtu), quoted)
            }
            Icmpv4Repr::SourceQuench { quoted } | Icmpv4Repr::TimeExceeded { quoted, .. } => {
                ([0; 4], quoted)
            }
            Icmpv4Repr::ParamProblem { pointer, quoted, .. } => ([pointer, 0, 0, 0], quoted),
            Icmpv4Repr::Other { rest, data, .. } => (rest, data),
        }
    }

    /// For the error messages, the quoted original datagram, read leniently.
    pub fn quoted(&self) -> Option<Result<QuotedPacket<'a>>> {
        match *self {
            Icmpv4Repr::DstUnreachable { quoted, .. }
            | Icmpv4Repr::SourceQuench { quoted }
            | Icmpv4Repr::TimeExceeded { quoted, .. }
            | Icmpv4Repr::ParamProblem { quoted, .. } => Some(QuotedPacket::parse_ipv4(quoted)),
            _ => None,
        }
    }

    /// Header plus data length.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.rest_and_data().1.len()
    }

    /// Writes the message into `buf[..self.buffer_len()]`, with the checksum unless `mode` is
    /// [`ChecksumMode::Skip`].
    pub fn emit(&self, buf: &mut [u8], mode: ChecksumMode) -> Result<usize> {
        let (rest, data) = self.rest_and_data();
        let len = HEADER_LEN + data.len();
        if buf.len() < len {
            return Err(Error::BufferTooSmall { layer: Layer::Icmpv4, needed: len });
        }
        let b = &mut buf[..len];
        icmp_common::write_header(b, self.type_code(), rest);
        b[HEADER_LEN..].copy_from_slice(data);
        if mode.verify() {
            let ck = checksum::checksum(b);
            put16(b, 2, ck);
        }
        Ok(len)
    }
}
