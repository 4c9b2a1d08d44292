//! ARP (RFC 826) for IPv4 over Ethernet, the only combination a TAP device needs. Other hardware
//! or protocol types are reported as [`Error::Unsupported`].

use crate::error::{Error, Layer, Result};
use crate::ethernet::{EtherType, EthernetAddress};
use crate::field::{be16, put16};
use core::net::Ipv4Addr;

/// Length of an Ethernet/IPv4 ARP packet.
pub const PACKET_LEN: usize = 28;
/// Hardware type for Ethernet.
const HTYPE_ETHERNET: u16 = 1;

/// An ARP operation.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ArpOperation {
    /// Request (1).
    Request,
    /// Reply (2).
    Reply,
    /// Anything else, by number.
    Other(u16),
}

impl ArpOperation {
    /// The operation number.
    pub const fn code(self) -> u16 {
        match self {
            ArpOperation::Request => 1,
            ArpOperation::Reply => 2,
            ArpOperation::Other(n) => n,
        }
    }
    /// From the operation number.
    pub const fn from_code(n: u16) -> Self {
        match n {
            1 => ArpOperation::Request,
            2 => ArpOperation::Reply,
            n => ArpOperation::Other(n),
        }
    }
}

/// An ARP packet in a buffer. After [`ArpPacket::new_checked`] it is Ethernet/IPv4 and whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArpPacket<B> {
    buf: B,
}

impl<B: AsRef<[u8]>> ArpPacket<B> {
    /// Wraps a buffer without checking it; accessors may panic on a short one.
    pub const fn new_unchecked(buf: B) -> Self {
        ArpPacket { buf }
    }
    /// Wraps a buffer after checking it is a whole Ethernet/IPv4 ARP packet.
    pub fn new_checked(buf: B) -> Result<Self> {
        let b = buf.as_ref();
        if b.len() < 8 {
            return Err(Error::Truncated { layer: Layer::Arp });
        }
        let (htype, ptype) = (be16(b, 0), be16(b, 2));
        if htype != HTYPE_ETHERNET {
            return Err(Error::Unsupported { layer: Layer::Arp, value: htype });
        }
        if ptype != EtherType::IPV4.0 {
            return Err(Error::Unsupported { layer: Layer::Arp, value: ptype });
        }
        if b[4] != 6 || b[5] != 4 {
            return Err(Error::BadHeaderLen { layer: Layer::Arp, len: b[4] as usize });
        }
        if b.len() < PACKET_LEN {
            return Err(Error::Truncated { layer: Layer::Arp });
        }
        Ok(ArpPacket { buf })
    }
    /// The underlying buffer.
    pub fn into_inner(self) -> B {
        self.buf
    }
    /// Operation.
    pub fn operation(&self) -> ArpOperation {
        ArpOperation::from_code(be16(self.buf.as_ref(), 6))
    }
    /// Sender hardware address.
    pub fn source_hardware_addr(&self) -> EthernetAddress {
        mac(&self.buf.as_ref()[8..14])
    }
    /// Sender protocol address.
    pub fn source_protocol_addr(&self) -> Ipv4Addr {
        ip(&self.buf.as_ref()[14..18])
    }
    /// Target hardware address.
    pub fn target_hardware_addr(&self) -> EthernetAddress {
        mac(&self.buf.as_ref()[18..24])
    }
    /// Target protocol address.
    pub fn target_protocol_addr(&self) -> Ipv4Addr {
        ip(&self.buf.as_ref()[24..28])
    }
}

fn mac(b: &[u8]) -> EthernetAddress {
    let mut a = [0u8; 6];
    a.copy_from_slice(b);
    EthernetAddress(a)
}

fn ip(b: &[u8]) -> Ipv4Addr {
    Ipv4Addr::new(b[0], b[1], b[2], b[3])
}

/// A parsed Ethernet/IPv4 ARP packet.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ArpRepr {
    /// Operation.
    pub operation: ArpOperation,
    /// Sender hardware address.
    pub source_hardware_addr: EthernetAddress,
    /// Sender protocol address.
    pub source_protocol_addr: Ipv4Addr,
    /// Target hardware address.
    pub target_hardware_addr: EthernetAddress,
    /// Target protocol address.
    pub target_protocol_addr: Ipv4Addr,
}

impl ArpRepr {
    /// Parses a packet.
    pub fn parse<B: AsRef<[u8]> + ?Sized>(pkt: &ArpPacket<&B>) -> Result<ArpRepr> {
        let p = ArpPacket::new_checked(pkt.into_inner().as_ref())?;
        Ok(ArpRepr {
            operation: p.operation(),
            source_hardware_addr: p.source_hardware_addr(),
            source_protocol_addr: p.source_protocol_addr(),
            target_hardware_addr: p.target_hardware_addr(),
            target_protocol_addr: p.target_protocol_addr(),
        })
    }
    /// Length emit writes (28).
    pub const fn buffer_len(&self) -> usize {
        PACKET_LEN
    }
    /// Writes the 28-byte packet into `buf[..28]`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        if buf.len() < PACKET_LEN {
            return Err(Error::BufferTooSmall { layer: Layer::Arp, needed: PACKET_LEN });
        }
        let b = &mut buf[..PACKET_LEN];
        put16(b, 0, HTYPE_ETHERNET);
        put16(b, 2, EtherType::IPV4.0);
        b[4] = 6;
        b[5] = 4;
        put16(b, 6, self.operation.code());
        b[8..14].copy_from_slice(&self.source_hardware_addr.0);
        b[14..18].copy_from_slice(&self.source_protocol_addr.octets());
        b[18..24].copy_from_slice(&self.target_hardware_addr.0);
        b[24..28].copy_from_slice(&self.target_protocol_addr.octets());
        Ok(PACKET_LEN)
    }
}
