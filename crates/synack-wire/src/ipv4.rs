//! IPv4 (RFC 791): a header view and a parsed representation. Options are skipped (their bytes
//! stay reachable), the total length is checked against the buffer (link-layer padding after it
//! is ignored), and fragments are recognised and reported, not reassembled.

use crate::checksum::{self, ChecksumMode};
use crate::error::{Error, Layer, Result};
use crate::field::{be16, put16};
use crate::ip::IpProtocol;
use core::net::Ipv4Addr;

/// Length of an IPv4 header without options.
pub const HEADER_LEN: usize = 20;

/// Don't-fragment flag bit in the flags/fragment-offset word.
const DF: u16 = 0x4000;
/// More-fragments flag bit.
const MF: u16 = 0x2000;
/// Fragment-offset mask (8-byte units).
const OFFSET_MASK: u16 = 0x1fff;

/// An IPv4 packet in a buffer. After [`Ipv4Packet::new_checked`] every accessor is in bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Packet<B> {
    buf: B,
}

impl<B: AsRef<[u8]>> Ipv4Packet<B> {
    /// Wraps a buffer without checking it; accessors may panic on a malformed one.
    pub const fn new_unchecked(buf: B) -> Self {
        Ipv4Packet { buf }
    }

    /// Wraps a buffer after checking version, header length and total length.
    pub fn new_checked(buf: B) -> Result<Self> {
        let p = Ipv4Packet { buf };
        p.check_len()?;
        Ok(p)
    }

    /// The checks [`Ipv4Packet::new_checked`] makes.
    pub fn check_len(&self) -> Result<()> {
        let b = self.buf.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated { layer: Layer::Ipv4 });
        }
        if b[0] >> 4 != 4 {
            return Err(Error::UnsupportedVersion {
                layer: Layer::Ipv4,
                version: (b[0] >> 4) as u16,
            });
        }
        //= rfc791#3.1
        // IHL counts 32-bit words; the smallest valid header is five words.
        let hl = (b[0] & 0xf) as usize * 4;
        if hl < HEADER_LEN {
            return Err(Error::BadHeaderLen { layer: Layer::Ipv4, len: hl });
        }
        if hl > b.len() {
            return Err(Error::Truncated { layer: Layer::Ipv4 });
        }
        //= rfc791#3.1
        // Total length covers header and data; it cannot be shorter than the header.
        let total = be16(b, 2) as usize;
        if total < hl {
            return Err(Error::BadTotalLen { layer: Layer::Ipv4, len: total });
        }
        if total > b.len() {
            return Err(Error::Truncated { layer: Layer::Ipv4 });
        }
        Ok(())
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> B {
        self.buf
    }
    /// Version nibble (4 once checked).
    pub fn version(&self) -> u8 {
        self.buf.as_ref()[0] >> 4
    }
    /// Header length in bytes, options included.
    pub fn header_len(&self) -> usize {
        (self.buf.as_ref()[0] & 0xf) as usize * 4
    }
    /// The type-of-service byte: DSCP in the top six bits, ECN in the low two.
    pub fn tos(&self) -> u8 {
        self.buf.as_ref()[1]
    }
    /// The ECN codepoint (RFC 3168).
    pub fn ecn(&self) -> u8 {
        self.tos() & 3
    }
    /// Total length (header plus data).
    pub fn total_len(&self) -> u16 {
        be16(self.buf.as_ref(), 2)
    }
    /// Identification.
    pub fn ident(&self) -> u16 {
        be16(self.buf.as_ref(), 4)
    }
    /// Don't-fragment flag.
    pub fn dont_frag(&self) -> bool {
        be16(self.buf.as_ref(), 6) & DF != 0
    }
    /// More-fragments flag.
    pub fn more_frags(&self) -> bool {
        be16(self.buf.as_ref(), 6) & MF != 0
    }
    /// Fragment offset in 8-byte units, as on the wire.
    pub fn frag_offset(&self) -> u16 {
        be16(self.buf.as_ref(), 6) & OFFSET_MASK
    }
    /// Fragment offset in bytes.
    pub fn frag_offset_bytes(&self) -> u32 {
        self.frag_offset() as u32 * 8
    }
    /// True when this packet is a fragment (MF set or a nonzero offset).
    pub fn is_fragment(&self) -> bool {
        self.more_frags() || self.frag_offset() != 0
    }
    /// Time to live.
    pub fn ttl(&self) -> u8 {
        self.buf.as_ref()[8]
    }
    /// Protocol of the payload.
    pub fn protocol(&self) -> IpProtocol {
        IpProtocol(self.buf.as_ref()[9])
    }
    /// Header checksum field.
    pub fn checksum(&self) -> u16 {
        be16(self.buf.as_ref(), 10)
    }
    /// Source address.
    pub fn src_addr(&self) -> Ipv4Addr {
        let b = self.buf.as_ref();
        Ipv4Addr::new(b[12], b[13], b[14], b[15])
    }
    /// Destination address.
    pub fn dst_addr(&self) -> Ipv4Addr {
        let b = self.buf.as_ref();
        Ipv4Addr::new(b[16], b[17], b[18], b[19])
    }
    /// Option bytes (skipped by the parser, kept for those who want them).
    pub fn options_bytes(&self) -> &[u8] {
        &self.buf.as_ref()[HEADER_LEN..self.header_len()]
    }
    /// The payload: from the end of the header to the total length (padding excluded).
    pub fn payload(&self) -> &[u8] {
        &self.buf.as_ref()[self.header_len()..self.total_len() as usize]
    }
    /// True when the header checksum verifies.
    pub fn verify_checksum(&self) -> bool {
        checksum::fold(checksum::sum(&self.buf.as_ref()[..self.header_len()])) == 0xffff
    }
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<B> {
    /// Recomputes and writes the header checksum.
    pub fn fill_checksum(&mut self) {
        let hl = self.header_len();
        let b = self.buf.as_mut();
        put16(b, 10, 0);
        let c = checksum::checksum(&b[..hl]);
        put16(b, 10, c);
    }
    /// The payload, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let (hl, tl) = (self.header_len(), self.total_len() as usize);
        &mut self.buf.as_mut()[hl..tl]
    }
}

/// A parsed IPv4 header. Options are not represented: emit writes a 20-byte header.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Ipv4Repr {
    /// Source address.
    pub src_addr: Ipv4Addr,
    /// Destination address.
    pub dst_addr: Ipv4Addr,
    /// Payload protocol.
    pub protocol: IpProtocol,
    /// Payload length in bytes (total length minus header length).
    pub payload_len: usize,
    /// Time to live.
    pub ttl: u8,
    /// Type-of-service byte (DSCP and ECN).
    pub tos: u8,
    /// Identification.
    pub ident: u16,
    /// Don't-fragment flag.
    pub dont_frag: bool,
    /// More-fragments flag.
    pub more_frags: bool,
    /// Fragment offset in 8-byte units (13 bits).
    pub frag_offset: u16,
}

impl Ipv4Repr {
    /// Parses a checked view, verifying the header checksum when `mode` asks to.
    pub fn parse<B: AsRef<[u8]> + ?Sized>(
        pkt: &Ipv4Packet<&B>,
        mode: ChecksumMode,
    ) -> Result<Ipv4Repr> {
        pkt.check_len()?;
        if mode.verify() && !pkt.verify_checksum() {
            return Err(Error::BadChecksum { layer: Layer::Ipv4 });
        }
        Ok(Ipv4Repr {
            src_addr: pkt.src_addr(),
            dst_addr: pkt.dst_addr(),
            protocol: pkt.protocol(),
            payload_len: pkt.total_len() as usize - pkt.header_len(),
            ttl: pkt.ttl(),
            tos: pkt.tos(),
            ident: pkt.ident(),
            dont_frag: pkt.dont_frag(),
            more_frags: pkt.more_frags(),
            frag_offset: pkt.frag_offset(),
        })
    }

    /// Header length emit writes (always 20: no options).
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// Header plus payload length.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }

    /// Writes the 20-byte header into `buf[..20]` (the payload goes after it, written by the
    /// caller) and fills the header checksum unless `mode` is [`ChecksumMode::Skip`].
    pub fn emit(&self, buf: &mut [u8], mode: ChecksumMode) -> Result<usize> {
        if buf.len() < HEADER_LEN {
            return Err(Error::BufferTooSmall { layer: Layer::Ipv4, needed: HEADER_LEN });
        }
        let total = HEADER_LEN + self.payload_len;
        if total > u16::MAX as usize {
            return Err(Error::FieldOutOfRange { layer: Layer::Ipv4, field: "payload_len" });
        }
        if self.frag_offset > OFFSET_MASK {
            return Err(Error::FieldOutOfRange { layer: Layer::Ipv4, field: "frag_offset" });
        }
        let b = &mut buf[..HEADER_LEN];
        b[0] = 0x45;
        b[1] = self.tos;
        put16(b, 2, total as u16);
        put16(b, 4, self.ident);
        let ff = self.frag_offset
            | if self.dont_frag { DF } else { 0 }
            | if self.more_frags { MF } else { 0 };
        put16(b, 6, ff);
        b[8] = self.ttl;
        b[9] = self.protocol.0;
        put16(b, 10, 0);
        b[12..16].copy_from_slice(&self.src_addr.octets());
        b[16..20].copy_from_slice(&self.dst_addr.octets());
        if mode.verify() {
            let c = checksum::checksum(b);
            put16(b, 10, c);
        }
        Ok(HEADER_LEN)
    }
}
