//! Ethernet II framing (for TAP devices and captures with a link layer): addresses, EtherType,
//! a frame view and a header representation. VLAN tags are not decoded (the EtherType 0x8100 is
//! reported as is).

use crate::error::{Error, Layer, Result};
use crate::field::{be16, put16};
use core::fmt;

/// Length of the Ethernet II header.
pub const HEADER_LEN: usize = 14;

/// A 48-bit MAC address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct EthernetAddress(pub [u8; 6]);

impl EthernetAddress {
    /// ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: EthernetAddress = EthernetAddress([0xff; 6]);
    /// True for the broadcast address.
    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }
    /// True for group (multicast or broadcast) addresses: the I/G bit of the first octet.
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 1 != 0
    }
    fn from_slice(b: &[u8]) -> Self {
        let mut a = [0u8; 6];
        a.copy_from_slice(&b[..6]);
        EthernetAddress(a)
    }
}

impl fmt::Display for EthernetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", a[0], a[1], a[2], a[3], a[4], a[5])
    }
}

impl fmt::Debug for EthernetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// An EtherType.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct EtherType(pub u16);

impl EtherType {
    /// IPv4.
    pub const IPV4: EtherType = EtherType(0x0800);
    /// ARP.
    pub const ARP: EtherType = EtherType(0x0806);
    /// IPv6.
    pub const IPV6: EtherType = EtherType(0x86dd);
    /// 802.1Q VLAN tag (not decoded).
    pub const VLAN: EtherType = EtherType(0x8100);
}

impl fmt::Debug for EtherType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            EtherType::IPV4 => f.write_str("IPv4"),
            EtherType::ARP => f.write_str("ARP"),
            EtherType::IPV6 => f.write_str("IPv6"),
            EtherType(t) => write!(f, "0x{t:04x}"),
        }
    }
}

/// An Ethernet II frame in a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EthernetFrame<B> {
    buf: B,
}

impl<B: AsRef<[u8]>> EthernetFrame<B> {
    /// Wraps a buffer without checking it; accessors may panic on a short one.
    pub const fn new_unchecked(buf: B) -> Self {
        EthernetFrame { buf }
    }
    /// Wraps a buffer holding at least the 14-byte header.
    pub fn new_checked(buf: B) -> Result<Self> {
        if buf.as_ref().len() < HEADER_LEN {
            return Err(Error::Truncated { layer: Layer::Ethernet });
        }
        Ok(EthernetFrame { buf })
    }
    /// The underlying buffer.
    pub fn into_inner(self) -> B {
        self.buf
    }
    /// Destination address.
    pub fn dst_addr(&self) -> EthernetAddress {
        EthernetAddress::from_slice(self.buf.as_ref())
    }
    /// Source address.
    pub fn src_addr(&self) -> EthernetAddress {
        EthernetAddress::from_slice(&self.buf.as_ref()[6..])
    }
    /// EtherType.
    pub fn ethertype(&self) -> EtherType {
        EtherType(be16(self.buf.as_ref(), 12))
    }
    /// Everything after the header (may include padding to the 60-byte minimum).
    pub fn payload(&self) -> &[u8] {
        &self.buf.as_ref()[HEADER_LEN..]
    }
}

/// A parsed Ethernet II header.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct EthernetRepr {
    /// Source address.
    pub src_addr: EthernetAddress,
    /// Destination address.
    pub dst_addr: EthernetAddress,
    /// EtherType of the payload.
    pub ethertype: EtherType,
}

impl EthernetRepr {
    /// Parses a checked view.
    pub fn parse<B: AsRef<[u8]> + ?Sized>(frame: &EthernetFrame<&B>) -> Result<EthernetRepr> {
        let f = EthernetFrame::new_checked(frame.into_inner().as_ref())?;
        Ok(EthernetRepr {
            src_addr: f.src_addr(),
            dst_addr: f.dst_addr(),
            ethertype: f.ethertype(),
        })
    }
    /// Header length (14).
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }
    /// Writes the 14-byte header into `buf[..14]`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        if buf.len() < HEADER_LEN {
            return Err(Error::BufferTooSmall { layer: Layer::Ethernet, needed: HEADER_LEN });
        }
        buf[0..6].copy_from_slice(&self.dst_addr.0);
        buf[6..12].copy_from_slice(&self.src_addr.0);
        put16(buf, 12, self.ethertype.0);
        Ok(HEADER_LEN)
    }
}
