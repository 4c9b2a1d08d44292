//! UDP (RFC 768): a header view and a parsed representation with the pseudo-header checksum.

use crate::checksum::{self, ChecksumMode};
use crate::error::{Error, Layer, Result};
use crate::field::{be16, put16};
use crate::ip::IpProtocol;
use core::net::IpAddr;

/// Length of the UDP header.
pub const HEADER_LEN: usize = 8;

/// A UDP datagram in a buffer. After [`UdpPacket::new_checked`] every accessor is in bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UdpPacket<B> {
    buf: B,
}

impl<B: AsRef<[u8]>> UdpPacket<B> {
    /// Wraps a buffer without checking it; accessors may panic on a malformed one.
    pub const fn new_unchecked(buf: B) -> Self {
        UdpPacket { buf }
    }
    /// Wraps a buffer after checking the header and the length field against it.
    pub fn new_checked(buf: B) -> Result<Self> {
        let p = UdpPacket { buf };
        p.check_len()?;
        Ok(p)
    }
    /// The checks [`UdpPacket::new_checked`] makes.
    pub fn check_len(&self) -> Result<()> {
        let b = self.buf.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated { layer: Layer::Udp });
        }
        //= rfc768#format
        // Length counts header and data, so it is at least eight.
        let len = be16(b, 4) as usize;
        if len < HEADER_LEN {
            return Err(Error::BadTotalLen { layer: Layer::Udp, len });
        }
        if len > b.len() {
            return Err(Error::Truncated { layer: Layer::Udp });
        }
        Ok(())
    }
    /// The underlying buffer.
    pub fn into_inner(self) -> B {
        self.buf
    }
    /// Source port.
    pub fn src_port(&self) -> u16 {
        be16(self.buf.as_ref(), 0)
    }
    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        be16(self.buf.as_ref(), 2)
    }
    /// Length field (header plus data).
    pub fn len(&self) -> u16 {
        be16(self.buf.as_ref(), 4)
    }
    /// True when the length field says there is no data.
    pub fn is_empty(&self) -> bool {
        self.len() as usize == HEADER_LEN
    }
    /// Checksum field (0: none, IPv4 only).
    pub fn checksum(&self) -> u16 {
        be16(self.buf.as_ref(), 6)
    }
    /// The data, up to the length field.
    pub fn payload(&self) -> &[u8] {
        &self.buf.as_ref()[HEADER_LEN..self.len() as usize]
    }
    /// True when the checksum verifies (or is absent over IPv4).
    pub fn verify_checksum(&self, src: IpAddr, dst: IpAddr) -> Result<bool> {
        let b = &self.buf.as_ref()[..self.len() as usize];
        //= rfc768#fields
        // An all-zero checksum over IPv4 means the sender computed none.
        if self.checksum() == 0 {
            //= rfc8200#8.1
            // Over IPv6 the UDP checksum is mandatory; zero is invalid.
            return Ok(src.is_ipv4() && dst.is_ipv4());
        }
        let ph = checksum::pseudo_header(src, dst, IpProtocol::UDP, b.len() as u32)?;
        Ok(checksum::fold(ph + checksum::sum(b)) == 0xffff)
    }
}

/// A parsed UDP datagram.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct UdpRepr<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Data.
    pub payload: &'a [u8],
}

impl<'a> UdpRepr<'a> {
    /// Parses a checked view, verifying the checksum when `mode` asks to.
    pub fn parse<B: AsRef<[u8]> + ?Sized>(
        pkt: &UdpPacket<&'a B>,
        src: IpAddr,
        dst: IpAddr,
        mode: ChecksumMode,
    ) -> Result<UdpRepr<'a>> {
        let pkt = UdpPacket::new_checked(pkt.into_inner().as_ref())?;
        if mode.verify() && !pkt.verify_checksum(src, dst)? {
            return Err(Error::BadChecksum { layer: Layer::Udp });
        }
        let b: &'a [u8] = pkt.into_inner();
        Ok(UdpRepr {
            src_port: pkt.src_port(),
            dst_port: pkt.dst_port(),
            payload: &b[HEADER_LEN..pkt.len() as usize],
        })
    }
    /// Header plus payload length.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload.len()
    }
    /// Writes header and payload into `buf[..self.buffer_len()]`, with the checksum unless
    /// `mode` is [`ChecksumMode::Skip`] (then zero).
    pub fn emit(
        &self,
        buf: &mut [u8],
        src: IpAddr,
        dst: IpAddr,
        mode: ChecksumMode,
    ) -> Result<usize> {
        let len = self.buffer_len();
        if len > u16::MAX as usize {
            return Err(Error::FieldOutOfRange { layer: Layer::Udp, field: "payload" });
        }
        if buf.len() < len {
            return Err(Error::BufferTooSmall { layer: Layer::Udp, needed: len });
        }
        let b = &mut buf[..len];
        put16(b, 0, self.src_port);
        put16(b, 2, self.dst_port);
        put16(b, 4, len as u16);
        put16(b, 6, 0);
        b[HEADER_LEN..].copy_from_slice(self.payload);
        if mode.verify() {
            let ph = checksum::pseudo_header(src, dst, IpProtocol::UDP, len as u32)?;
            let c = checksum::finish(ph + checksum::sum(b));
            //= rfc768#fields
            // A computed checksum of zero is sent as all ones (zero means "none").
            put16(b, 6, if c == 0 { 0xffff } else { c });
        }
        Ok(len)
    }
}
