//! ICMP for IPv6 (RFC 4443, RFC 4861): a message view and a parsed representation of echo,
//! destination unreachable, packet too big (with the MTU), time exceeded, parameter problem and
//! the neighbor-discovery messages a host needs (router solicitation, neighbor solicitation and
//! advertisement); other types are kept as type, code and bytes.

use crate::checksum::{self, ChecksumMode};
use crate::error::{Error, Layer, Result};
use crate::field::{be32, put16};
use crate::icmp_common::{self, icmp_packet_view};
use crate::ip::IpProtocol;
use crate::quoted::QuotedPacket;
use core::net::{IpAddr, Ipv6Addr};

/// Length of the ICMPv6 header (type, code, checksum, four type-specific bytes).
pub const HEADER_LEN: usize = icmp_common::HEADER_LEN;

/// ICMPv6 message types.
pub mod msg_type {
    /// Destination unreachable.
    pub const DST_UNREACHABLE: u8 = 1;
    /// Packet too big.
    pub const PACKET_TOO_BIG: u8 = 2;
    /// Time exceeded.
    pub const TIME_EXCEEDED: u8 = 3;
    /// Parameter problem.
    pub const PARAM_PROBLEM: u8 = 4;
    /// Echo request.
    pub const ECHO_REQUEST: u8 = 128;
    /// Echo reply.
    pub const ECHO_REPLY: u8 = 129;
    /// Router solicitation.
    pub const ROUTER_SOLICIT: u8 = 133;
    /// Router advertisement.
    pub const ROUTER_ADVERT: u8 = 134;
    /// Neighbor solicitation.
    pub const NEIGHBOR_SOLICIT: u8 = 135;
    /// Neighbor advertisement.
    pub const NEIGHBOR_ADVERT: u8 = 136;
    /// Multicast listener report, version 2 (RFC 3810).
    pub const MLDV2_REPORT: u8 = 143;
}

/// Destination-unreachable codes.
pub mod unreach {
    /// No route to destination.
    pub const NO_ROUTE: u8 = 0;
    /// Communication administratively prohibited.
    pub const ADMIN_PROHIBITED: u8 = 1;
    /// Beyond scope of source address.
    pub const BEYOND_SCOPE: u8 = 2;
    /// Address unreachable.
    pub const ADDRESS: u8 = 3;
    /// Port unreachable.
    pub const PORT: u8 = 4;
}

/// Neighbor advertisement flag bits (the first type-specific byte).
pub mod na_flags {
    /// Router.
    pub const ROUTER: u8 = 0x80;
    /// Solicited.
    pub const SOLICITED: u8 = 0x40;
    /// Override.
    pub const OVERRIDE: u8 = 0x20;
}

icmp_packet_view!(
    /// An ICMPv6 message in a buffer. After [`Icmpv6Packet::new_checked`] accessors are in bounds.
    Icmpv6Packet,
    Layer::Icmpv6
);

impl<B: AsRef<[u8]>> Icmpv6Packet<B> {
    /// True when the checksum (with the IPv6 pseudo-header) verifies.
    pub fn verify_checksum(&self, src: Ipv6Addr, dst: Ipv6Addr) -> bool {
        let b = self.buf.as_ref();
        //= rfc4443#2.3
        // The ICMPv6 checksum covers the IPv6 pseudo-header as well as the message.
        let ph = checksum::pseudo_header_v6(src, dst, IpProtocol::ICMPV6, b.len() as u32);
        checksum::fold(ph + checksum::sum(b)) == 0xffff
    }
}

/// A parsed ICMPv6 message.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum Icmpv6Repr<'a> {
    /// Echo request (type 128).
    EchoRequest {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Data.
        data: &'a [u8],
    },
    /// Echo reply (type 129).
    EchoReply {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Data.
        data: &'a [u8],
    },
    /// Destination unreachable (type 1).
    DstUnreachable {
        /// Code ([`unreach`]).
        code: u8,
        /// The quoted original packet.
        quoted: &'a [u8],
    },
    /// Packet too big (type 2).
    PacketTooBig {
        /// MTU of the next-hop link.
        mtu: u32,
        /// The quoted original packet.
        quoted: &'a [u8],
    },
    /// Time exceeded (type 3): code 0 hop limit exceeded, 1 reassembly time exceeded.
    TimeExceeded {
        /// Code.
        code: u8,
        /// The quoted original packet.
        quoted: &'a [u8],
    },
    /// Parameter problem (type 4).
    ParamProblem {
        /// Code.
        code: u8,
        /// Offset of the octet in error.
        pointer: u32,
        /// The quoted original packet.
        quoted: &'a [u8],
    },
    /// Router solicitation (type 133).
    RouterSolicit {
        /// Neighbor-discovery options.
        options: &'a [u8],
    },
    /// Neighbor solicitation (type 135).
    NeighborSolicit {
        /// The address being resolved.
        target: Ipv6Addr,
        /// Neighbor-discovery options.
        options: &'a [u8],
    },
    /// Neighbor advertisement (type 136).
    NeighborAdvert {
        /// Flags ([`na_flags`]).
        flags: u8,
        /// The advertised address.
        target: Ipv6Addr,
        /// Neighbor-discovery options.
        options: &'a [u8],
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

fn addr(b: &[u8]) -> Ipv6Addr {
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[..16]);
    Ipv6Addr::from(a)
}

impl<'a> Icmpv6Repr<'a> {
    /// Parses a message, verifying its checksum against `src`/`dst` when `mode` asks to.
    pub fn parse<B: AsRef<[u8]> + ?Sized>(
        pkt: &Icmpv6Packet<&'a B>,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        mode: ChecksumMode,
    ) -> Result<Icmpv6Repr<'a>> {
        let b: &'a [u8] = pkt.into_inner().as_ref();
        let p = Icmpv6Packet::new_checked(b)?;
        if mode.verify() && !p.verify_checksum(src, dst) {
            return Err(Error::BadChecksum { layer: Layer::Icmpv6 });
        }
        let rest = p.rest_of_header();
        let data: &'a [u8] = &b[HEADER_LEN..];
        let (id, sq) = icmp_common::echo_fields(rest);
        let r32 = be32(&rest, 0);
        Ok(match (p.msg_type(), p.code()) {
            (msg_type::ECHO_REQUEST, 0) => Icmpv6Repr::EchoRequest { ident: id, seq_no: sq, data },
            (msg_type::ECHO_REPLY, 0) => Icmpv6Repr::EchoReply { ident: id, seq_no: sq, data },
            (msg_type::DST_UNREACHABLE, code) if r32 == 0 => {
                Icmpv6Repr::DstUnreachable { code, quoted: data }
            }
            (msg_type::PACKET_TOO_BIG, 0) => Icmpv6Repr::PacketTooBig { mtu: r32, quoted: data },
            (msg_type::TIME_EXCEEDED, code) if r32 == 0 => {
                Icmpv6Repr::TimeExceeded { code, quoted: data }
            }
            (msg_type::PARAM_PROBLEM, code) => {
                Icmpv6Repr::ParamProblem { code, pointer: r32, quoted: data }
            }
            (msg_type::ROUTER_SOLICIT, 0) if r32 == 0 => {
                Icmpv6Repr::RouterSolicit { options: data }
            }
            (msg_type::NEIGHBOR_SOLICIT, 0) if r32 == 0 && data.len() >= 16 => {
                Icmpv6Repr::NeighborSolicit { target: addr(data), options: &data[16..] }
            }
            (msg_type::NEIGHBOR_ADVERT, 0) if rest[1..] == [0; 3] && data.len() >= 16 => {
                Icmpv6Repr::NeighborAdvert {
                    flags: rest[0],
                    target: addr(data),
                    options: &data[16..],
                }
            }
            (msg_type, code) => Icmpv6Repr::Other { msg_type, code, rest, data },
        })
    }

    /// Message type and code.
    pub fn type_code(&self) -> (u8, u8) {
        match *self {
            Icmpv6Repr::EchoRequest { .. } => (msg_type::ECHO_REQUEST, 0),
            Icmpv6Repr::EchoReply { .. } => (msg_type::ECHO_REPLY, 0),
            Icmpv6Repr::DstUnreachable { code, .. } => (msg_type::DST_UNREACHABLE, code),
            Icmpv6Repr::PacketTooBig { .. } => (msg_type::PACKET_TOO_BIG, 0),
            Icmpv6Repr::TimeExceeded { code, .. } => (msg_type::TIME_EXCEEDED, code),
            Icmpv6Repr::ParamProblem { code, .. } => (msg_type::PARAM_PROBLEM, code),
            Icmpv6Repr::RouterSolicit { .. } => (msg_type::ROUTER_SOLICIT, 0),
            Icmpv6Repr::NeighborSolicit { .. } => (msg_type::NEIGHBOR_SOLICIT, 0),
            Icmpv6Repr::NeighborAdvert { .. } => (msg_type::NEIGHBOR_ADVERT, 0),
            Icmpv6Repr::Other { msg_type, code, .. } => (msg_type, code),
        }
    }

    /// For the error messages, the quoted original packet, read leniently.
    pub fn quoted(&self) -> Option<Result<QuotedPacket<'a>>> {
        match *self {
            Icmpv6Repr::DstUnreachable { quoted, .. }
            | Icmpv6Repr::PacketTooBig { quoted, .. }
            | Icmpv6Repr::TimeExceeded { quoted, .. }
            | Icmpv6Repr::ParamProblem { quoted, .. } => Some(QuotedPacket::parse_ipv6(quoted)),
            _ => None,
        }
    }

    /// (type-specific header bytes, optional 16-byte target, trailing data).
    fn parts(&self) -> ([u8; 4], Option<Ipv6Addr>, &'a [u8]) {
        let echo = icmp_common::echo_rest;
        match *self {
            Icmpv6Repr::EchoRequest { ident, seq_no, data }
            | Icmpv6Repr::EchoReply { ident, seq_no, data } => (echo(ident, seq_no), None, data),
            Icmpv6Repr::DstUnreachable { quoted, .. } | Icmpv6Repr::TimeExceeded { quoted, .. } => {
                ([0; 4], None, quoted)
            }
            Icmpv6Repr::PacketTooBig { mtu, quoted } => (mtu.to_be_bytes(), None, quoted),
            Icmpv6Repr::ParamProblem { pointer, quoted, .. } => {
                (pointer.to_be_bytes(), None, quoted)
            }
            Icmpv6Repr::RouterSolicit { options } => ([0; 4], None, options),
            Icmpv6Repr::NeighborSolicit { target, options } => ([0; 4], Some(target), options),
            Icmpv6Repr::NeighborAdvert { flags, target, options } => {
                ([flags, 0, 0, 0], Some(target), options)
            }
            Icmpv6Repr::Other { rest, data, .. } => (rest, None, data),
        }
    }

    /// Header plus body length.
    pub fn buffer_len(&self) -> usize {
        let (_, t, d) = self.parts();
        HEADER_LEN + if t.is_some() { 16 } else { 0 } + d.len()
    }

    /// Writes the message into `buf[..self.buffer_len()]`, with the checksum over the
    /// pseudo-header of `src`/`dst` unless `mode` is [`ChecksumMode::Skip`].
    pub fn emit(
        &self,
        buf: &mut [u8],
        src: Ipv6Addr,
        dst: Ipv6Addr,
        mode: ChecksumMode,
    ) -> Result<usize> {
        let len = self.buffer_len();
        if buf.len() < len {
            return Err(Error::BufferTooSmall { layer: Layer::Icmpv6, needed: len });
        }
        let (rest, target, data) = self.parts();
        let b = &mut buf[..len];
        icmp_common::write_header(b, self.type_code(), rest);
        let mut at = HEADER_LEN;
        if let Some(t) = target {
            b[at..at + 16].copy_from_slice(&t.octets());
            at += 16;
        }
        b[at..].copy_from_slice(data);
        if mode.verify() {
            let ph = checksum::pseudo_header(
                IpAddr::V6(src),
                IpAddr::V6(dst),
                IpProtocol::ICMPV6,
                len as u32,
            )?;
            let ck = checksum::finish(ph + checksum::sum(b));
            put16(b, 2, ck);
        }
        Ok(len)
    }
}
