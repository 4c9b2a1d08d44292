//! One IP packet parsed through to its transport layer, for tools that start from bytes (the
//! decoder, the analyzer, the fuzz targets): IPv4 or IPv6, extension headers walked, then TCP,
//! UDP, ICMPv4 or ICMPv6. Fragments are reported as such and not decoded further.

use crate::checksum::ChecksumMode;
use crate::error::{Error, Layer, Result};
use crate::icmpv4::{Icmpv4Packet, Icmpv4Repr};
use crate::icmpv6::{Icmpv6Packet, Icmpv6Repr};
use crate::ip::IpProtocol;
use crate::ipv4::{Ipv4Packet, Ipv4Repr};
use crate::ipv6::{Ipv6Packet, Ipv6Repr, Ipv6UpperLayer};
use crate::tcp::TcpRepr;
use crate::udp::{UdpPacket, UdpRepr};
use core::net::IpAddr;

/// The network-layer header of an [`IpPacketRepr`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum IpHeader<'a> {
    /// IPv4, with its option bytes (usually empty).
    V4 {
        /// The parsed header.
        repr: Ipv4Repr,
        /// Option bytes, skipped by the parser.
        options: &'a [u8],
    },
    /// IPv6, with the extension headers between it and the upper layer.
    V6 {
        /// The parsed fixed header.
        repr: Ipv6Repr,
        /// Where the extension-header walk ended.
        upper: Ipv6UpperLayer,
        /// The extension headers' bytes.
        ext: &'a [u8],
    },
}

/// The transport layer of an [`IpPacketRepr`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum Transport<'a> {
    /// A TCP segment.
    Tcp(TcpRepr<'a>),
    /// A UDP datagram.
    Udp(UdpRepr<'a>),
    /// An ICMPv4 message.
    Icmpv4(Icmpv4Repr<'a>),
    /// An ICMPv6 message.
    Icmpv6(Icmpv6Repr<'a>),
    /// A fragment: the transport is not decoded (a non-first fragment has no header, a first
    /// fragment's checksum covers bytes not here).
    Fragment {
        /// The upper-layer protocol.
        protocol: IpProtocol,
        /// Offset of this fragment's data in the original payload, in bytes.
        offset: u32,
        /// More fragments follow.
        more: bool,
        /// The fragment's data.
        data: &'a [u8],
    },
    /// Any other protocol, undecoded.
    Other {
        /// The upper-layer protocol.
        protocol: IpProtocol,
        /// Its bytes.
        data: &'a [u8],
    },
}

/// An IP packet parsed through its transport layer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct IpPacketRepr<'a> {
    /// Network layer.
    pub ip: IpHeader<'a>,
    /// Transport layer.
    pub transport: Transport<'a>,
}

impl<'a> IpPacketRepr<'a> {
    /// Parses `bytes`, which start at the IP header (version picked from the first nibble).
    pub fn parse(bytes: &'a [u8], mode: ChecksumMode) -> Result<Self> {
        match bytes.first().map(|b| b >> 4) {
            Some(4) => Self::parse_v4(bytes, mode),
            Some(6) => Self::parse_v6(bytes, mode),
            Some(v) => Err(Error::UnsupportedVersion { layer: Layer::Ipv4, version: v as u16 }),
            None => Err(Error::Truncated { layer: Layer::Ipv4 }),
        }
    }

    fn parse_v4(bytes: &'a [u8], mode: ChecksumMode) -> Result<Self> {
        let pkt = Ipv4Packet::new_checked(bytes)?;
        let repr = Ipv4Repr::parse(&pkt, mode)?;
        let hl = pkt.header_len();
        let data: &'a [u8] = &bytes[hl..pkt.total_len() as usize];
        let options: &'a [u8] = &bytes[crate::ipv4::HEADER_LEN..hl];
        let (s, d) = (IpAddr::V4(repr.src_addr), IpAddr::V4(repr.dst_addr));
        let transport = if pkt.is_fragment() {
            Transport::Fragment {
                protocol: repr.protocol,
                offset: pkt.frag_offset_bytes(),
                more: repr.more_frags,
                data,
            }
        } else {
            transport(repr.protocol, data, s, d, mode)?
        };
        Ok(IpPacketRepr { ip: IpHeader::V4 { repr, options }, transport })
    }

    fn parse_v6(bytes: &'a [u8], mode: ChecksumMode) -> Result<Self> {
        let pkt = Ipv6Packet::new_checked(bytes)?;
        let repr = Ipv6Repr::parse(&pkt)?;
        let upper = pkt.upper_layer()?;
        let payload: &'a [u8] =
            &bytes[crate::ipv6::HEADER_LEN..crate::ipv6::HEADER_LEN + repr.payload_len];
        let ext: &'a [u8] = &payload[..upper.offset];
        let data: &'a [u8] = &payload[upper.offset..];
        let final_dst = upper.final_dst.unwrap_or(repr.dst_addr);
        let (s, d) = (IpAddr::V6(repr.src_addr), IpAddr::V6(final_dst));
        let transport = match upper.fragment {
            Some(f) if f.offset != 0 || f.more_frags => Transport::Fragment {
                protocol: upper.protocol,
                offset: f.offset as u32 * 8,
                more: f.more_frags,
                data,
            },
            _ => transport(upper.protocol, data, s, d, mode)?,
        };
        Ok(IpPacketRepr { ip: IpHeader::V6 { repr, upper, ext }, transport })
    }

    /// Source address.
    pub fn src_addr(&self) -> IpAddr {
        match self.ip {
            IpHeader::V4 { repr, .. } => IpAddr::V4(repr.src_addr),
            IpHeader::V6 { repr, .. } => IpAddr::V6(repr.src_addr),
        }
    }

    /// Destination address.
    pub fn dst_addr(&self) -> IpAddr {
        match self.ip {
            IpHeader::V4 { repr, .. } => IpAddr::V4(repr.dst_addr),
            IpHeader::V6 { repr, .. } => IpAddr::V6(repr.dst_addr),
        }
    }

    /// The destination the transport checksum's pseudo-header uses: the header's destination,
    /// or for IPv6 with a routing header, the final destination it names.
    pub fn checksum_dst_addr(&self) -> IpAddr {
        match self.ip {
            IpHeader::V4 { repr, .. } => IpAddr::V4(repr.dst_addr),
            IpHeader::V6 { repr, upper, .. } => {
                IpAddr::V6(upper.final_dst.unwrap_or(repr.dst_addr))
            }
        }
    }
}

fn transport<'a>(
    protocol: IpProtocol,
    data: &'a [u8],
    src: IpAddr,
    dst: IpAddr,
    mode: ChecksumMode,
) -> Result<Transport<'a>> {
    Ok(match (protocol, src, dst) {
        (IpProtocol::TCP, _, _) => Transport::Tcp(TcpRepr::parse_bytes(data, src, dst, mode)?),
        (IpProtocol::UDP, _, _) => {
            Transport::Udp(UdpRepr::parse(&UdpPacket::new_checked(data)?, src, dst, mode)?)
        }
        (IpProtocol::ICMP, IpAddr::V4(_), _) => {
            Transport::Icmpv4(Icmpv4Repr::parse(&Icmpv4Packet::new_checked(data)?, mode)?)
        }
        (IpProtocol::ICMPV6, IpAddr::V6(s), IpAddr::V6(d)) => {
            Transport::Icmpv6(Icmpv6Repr::parse(&Icmpv6Packet::new_checked(data)?, s, d, mode)?)
        }
        _ => Transport::Other { protocol, data },
    })
}
