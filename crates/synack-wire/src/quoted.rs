//! The original packet an ICMP error quotes (RFC 792: the IP header plus at least the first
//! eight bytes of its payload; RFC 4443: as much as fits). The quoted packet is truncated by
//! design, so it is read leniently: its length fields are not checked against what is there.

use crate::error::{Error, Layer, Result};
use crate::field::{be16, be32};
use crate::ip::IpProtocol;
use crate::seq::SeqNum;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The quoted original datagram inside an ICMP error.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct QuotedPacket<'a> {
    /// Source address of the original packet (the address the error is about).
    pub src: IpAddr,
    /// Destination address of the original packet.
    pub dst: IpAddr,
    /// Upper-layer protocol of the original packet.
    pub protocol: IpProtocol,
    /// The quoted IP header (with IPv4 options or IPv6 extension headers).
    pub header: &'a [u8],
    /// Whatever of the original upper-layer header and data was quoted (often just 8 bytes).
    pub transport: &'a [u8],
}

impl<'a> QuotedPacket<'a> {
    /// Reads a quoted IPv4 header and what follows it.
    pub fn parse_ipv4(b: &'a [u8]) -> Result<Self> {
        if b.len() < 20 {
            return Err(Error::Truncated { layer: Layer::Ipv4 });
        }
        if b[0] >> 4 != 4 {
            return Err(Error::UnsupportedVersion {
                layer: Layer::Ipv4,
                version: (b[0] >> 4) as u16,
            });
        }
        let hl = (b[0] & 0xf) as usize * 4;
        if hl < 20 {
            return Err(Error::BadHeaderLen { layer: Layer::Ipv4, len: hl });
        }
        if hl > b.len() {
            return Err(Error::Truncated { layer: Layer::Ipv4 });
        }
        Ok(QuotedPacket {
            src: IpAddr::V4(Ipv4Addr::new(b[12], b[13], b[14], b[15])),
            dst: IpAddr::V4(Ipv4Addr::new(b[16], b[17], b[18], b[19])),
            protocol: IpProtocol(b[9]),
            header: &b[..hl],
            transport: &b[hl..],
        })
    }

    /// Reads a quoted IPv6 header, walks its extension headers, and returns what follows.
    pub fn parse_ipv6(b: &'a [u8]) -> Result<Self> {
        if b.len() < 40 {
            return Err(Error::Truncated { layer: Layer::Ipv6 });
        }
        if b[0] >> 4 != 6 {
            return Err(Error::UnsupportedVersion {
                layer: Layer::Ipv6,
                version: (b[0] >> 4) as u16,
            });
        }
        let mut s = [0u8; 16];
        s.copy_from_slice(&b[8..24]);
        let mut d = [0u8; 16];
        d.copy_from_slice(&b[24..40]);
        let up = crate::ipv6::walk(IpProtocol(b[6]), &b[40..])?;
        let hl = 40 + up.offset;
        Ok(QuotedPacket {
            src: IpAddr::V6(Ipv6Addr::from(s)),
            dst: IpAddr::V6(Ipv6Addr::from(d)),
            protocol: up.protocol,
            header: &b[..hl],
            transport: &b[hl..],
        })
    }

    /// Source and destination ports, for quoted TCP or UDP with at least four bytes quoted.
    pub fn ports(&self) -> Option<(u16, u16)> {
        if matches!(self.protocol, IpProtocol::TCP | IpProtocol::UDP) && self.transport.len() >= 4 {
            Some((be16(self.transport, 0), be16(self.transport, 2)))
        } else {
            None
        }
    }

    /// The quoted TCP sequence number (what RFC 5927's checks compare with SND.UNA..SND.NXT).
    pub fn tcp_seq(&self) -> Option<SeqNum> {
        if self.protocol == IpProtocol::TCP && self.transport.len() >= 8 {
            Some(SeqNum(be32(self.transport, 4)))
        } else {
            None
        }
    }
}
