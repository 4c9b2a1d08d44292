//! IPv6 (RFC 8200): the fixed-header view, a parsed representation, and a bounded walk of the
//! extension-header chain to the upper-layer header.

use crate::error::{Error, Layer, Result};
use crate::field::{be16, be32, put16, put32};
use crate::ip::IpProtocol;
use core::net::Ipv6Addr;

/// Length of the fixed IPv6 header.
pub const HEADER_LEN: usize = 40;

/// Most extension headers the walk steps over before giving up with
/// [`Error::BadExtHeaderChain`]; a bound so crafted chains cannot cost unbounded work.
pub const MAX_EXT_HEADERS: usize = 8;

/// An IPv6 packet in a buffer. After [`Ipv6Packet::new_checked`] every accessor is in bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6Packet<B> {
    buf: B,
}

impl<B: AsRef<[u8]>> Ipv6Packet<B> {
    /// Wraps a buffer without checking it; accessors may panic on a malformed one.
    pub const fn new_unchecked(buf: B) -> Self {
        Ipv6Packet { buf }
    }

    /// Wraps a buffer after checking version and payload length.
    pub fn new_checked(buf: B) -> Result<Self> {
        let p = Ipv6Packet { buf };
        p.check_len()?;
        Ok(p)
    }

    /// The checks [`Ipv6Packet::new_checked`] makes.
    pub fn check_len(&self) -> Result<()> {
        let b = self.buf.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated { layer: Layer::Ipv6 });
        }
        if b[0] >> 4 != 6 {
            return Err(Error::UnsupportedVersion {
                layer: Layer::Ipv6,
                version: (b[0] >> 4) as u16,
            });
        }
        if HEADER_LEN + be16(b, 4) as usize > b.len() {
            return Err(Error::Truncated { layer: Layer::Ipv6 });
        }
        Ok(())
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> B {
        self.buf
    }
    /// Version nibble (6 once checked).
    pub fn version(&self) -> u8 {
        self.buf.as_ref()[0] >> 4
    }
    /// Traffic class (DSCP and ECN).
    pub fn traffic_class(&self) -> u8 {
        ((be16(self.buf.as_ref(), 0) >> 4) & 0xff) as u8
    }
    /// Flow label (20 bits).
    pub fn flow_label(&self) -> u32 {
        be32(self.buf.as_ref(), 0) & 0x000f_ffff
    }
    /// Payload length (everything after the fixed header, extension headers included).
    pub fn payload_len(&self) -> u16 {
        be16(self.buf.as_ref(), 4)
    }
    /// Next header of the fixed header.
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol(self.buf.as_ref()[6])
    }
    /// Hop limit.
    pub fn hop_limit(&self) -> u8 {
        self.buf.as_ref()[7]
    }
    /// Source address.
    pub fn src_addr(&self) -> Ipv6Addr {
        addr(&self.buf.as_ref()[8..24])
    }
    /// Destination address.
    pub fn dst_addr(&self) -> Ipv6Addr {
        addr(&self.buf.as_ref()[24..40])
    }
    /// The payload: the fixed header's payload-length bytes after it (padding excluded).
    pub fn payload(&self) -> &[u8] {
        &self.buf.as_ref()[HEADER_LEN..HEADER_LEN + self.payload_len() as usize]
    }

    /// Walks the extension headers (hop-by-hop, routing, fragment, destination options, AH)
    /// to the upper layer, at most [`MAX_EXT_HEADERS`] of them.
    pub fn upper_layer(&self) -> Result<Ipv6UpperLayer> {
        walk(self.next_header(), self.payload())
    }
}

fn addr(b: &[u8]) -> Ipv6Addr {
    let mut a = [0u8; 16];
    a.copy_from_slice(b);
    Ipv6Addr::from(a)
}

/// What a fragment header says (RFC 8200 section 4.5).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Ipv6Fragment {
    /// Fragment offset in 8-byte units.
    pub offset: u16,
    /// More-fragments flag.
    pub more_frags: bool,
    /// Identification.
    pub ident: u32,
}

/// Where the upper-layer header starts, found by [`Ipv6Packet::upper_layer`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Ipv6UpperLayer {
    /// The upper-layer protocol (the last next-header value; `ESP` or `IPV6_NO_NEXT` when the
    /// chain ends in something opaque).
    pub protocol: IpProtocol,
    /// Offset of the upper-layer header from the start of the IPv6 payload.
    pub offset: usize,
    /// The fragment header, when there was one. With a nonzero offset the bytes at `offset`
    /// are the middle of the upper-layer data, not its header.
    pub fragment: Option<Ipv6Fragment>,
    /// Number of extension headers stepped over.
    pub ext_headers: u8,
    /// The final destination named by a routing header with segments left, which is the
    /// destination the upper-layer checksum's pseudo-header uses (RFC 8200 section 8.1).
    pub final_dst: Option<Ipv6Addr>,
}

/// Walks an extension-header chain starting with `next` over `payload` (the IPv6 payload).
pub fn walk(mut next: IpProtocol, payload: &[u8]) -> Result<Ipv6UpperLayer> {
    let mut at = 0usize;
    let mut fragment = None;
    let mut count = 0usize;
    let mut final_dst = None;
    while next.is_ipv6_extension() {
        //= rfc8200#4.1
        // Hop-by-hop options may only appear immediately after the fixed header.
        if next == IpProtocol::HOP_BY_HOP && count != 0 {
            return Err(Error::BadExtHeaderChain);
        }
        if count == MAX_EXT_HEADERS {
            return Err(Error::BadExtHeaderChain);
        }
        let Some(h) = payload.get(at..at + 2) else {
            return Err(Error::Truncated { layer: Layer::Ipv6Ext });
        };
        let len = match next {
            //= rfc8200#4.5
            // The fragment header has a fixed length of eight bytes.
            IpProtocol::IPV6_FRAG => 8,
            //= rfc4302#2.2
            // AH's length field counts 32-bit words minus two.
            IpProtocol::AH => (h[1] as usize + 2) * 4,
            //= rfc8200#4.3
            // Hop-by-hop, routing and destination options count 8-byte units past the first.
            _ => (h[1] as usize + 1) * 8,
        };
        let Some(hdr) = payload.get(at..at + len) else {
            return Err(Error::Truncated { layer: Layer::Ipv6Ext });
        };
        if next == IpProtocol::IPV6_FRAG {
            let off = be16(hdr, 2);
            fragment = Some(Ipv6Fragment {
                offset: off >> 3,
                more_frags: off & 1 != 0,
                ident: be32(hdr, 4),
            });
        }
        if next == IpProtocol::IPV6_ROUTE && hdr.len() >= 8 && hdr[3] > 0 {
            //= rfc8200#8.1
            // With a routing header, the pseudo-header uses the final destination: the last
            // address of a type 0 header, the home address of type 2, segment 0 of an SRH.
            let slot = match hdr[2] {
                0 => (hdr[1] as usize / 2).checked_sub(1),
                2 | 4 => Some(0),
                _ => None,
            };
            if let Some(a) = slot.and_then(|i| hdr.get(8 + 16 * i..24 + 16 * i)) {
                final_dst = Some(addr(a));
            }
        }
        next = IpProtocol(hdr[0]);
        at += len;
        count += 1;
    }
    Ok(Ipv6UpperLayer { protocol: next, offset: at, fragment, ext_headers: count as u8, final_dst })
}

/// A parsed IPv6 fixed header. Extension headers are not represented: emit writes 40 bytes
/// and the caller writes what follows.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Ipv6Repr {
    /// Source address.
    pub src_addr: Ipv6Addr,
    /// Destination address.
    pub dst_addr: Ipv6Addr,
    /// The fixed header's next header.
    pub next_header: IpProtocol,
    /// Payload length in bytes.
    pub payload_len: usize,
    /// Hop limit.
    pub hop_limit: u8,
    /// Traffic class.
    pub traffic_class: u8,
    /// Flow label (20 bits).
    pub flow_label: u32,
}

impl Ipv6Repr {
    /// Parses a checked view (IPv6 has no header checksum).
    pub fn parse<B: AsRef<[u8]> + ?Sized>(pkt: &Ipv6Packet<&B>) -> Result<Ipv6Repr> {
        pkt.check_len()?;
        Ok(Ipv6Repr {
            src_addr: pkt.src_addr(),
            dst_addr: pkt.dst_addr(),
            next_header: pkt.next_header(),
            payload_len: pkt.payload_len() as usize,
            hop_limit: pkt.hop_limit(),
            traffic_class: pkt.traffic_class(),
            flow_label: pkt.flow_label(),
        })
    }

    /// Header length emit writes (40).
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// Header plus payload length.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }

    /// Writes the 40-byte fixed header into `buf[..40]`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        if buf.len() < HEADER_LEN {
            return Err(Error::BufferTooSmall { layer: Layer::Ipv6, needed: HEADER_LEN });
        }
        if self.payload_len > u16::MAX as usize {
            return Err(Error::FieldOutOfRange { layer: Layer::Ipv6, field: "payload_len" });
        }
        if self.flow_label > 0x000f_ffff {
            return Err(Error::FieldOutOfRange { layer: Layer::Ipv6, field: "flow_label" });
        }
        let b = &mut buf[..HEADER_LEN];
        put32(b, 0, (6 << 28) | ((self.traffic_class as u32) << 20) | self.flow_label);
        put16(b, 4, self.payload_len as u16);
        b[6] = self.next_header.0;
        b[7] = self.hop_limit;
        b[8..24].copy_from_slice(&self.src_addr.octets());
        b[24..40].copy_from_slice(&self.dst_addr.octets());
        Ok(HEADER_LEN)
    }
}
