//! Writing a TCP segment (header, options, payload, checksum) into the caller's buffer.
//!
//! synack-wire does not have a TCP `emit` yet; this small writer keeps the engine's output
//! allocation-free until it does, and is then to be replaced by a call to the wire crate.
//! Options are written in Linux's order so captures look familiar.

use core::net::IpAddr;
use synack_wire::tcp::{TcpFlags, TcpOptions};

/// Header fields of a segment we send.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Header {
    pub(crate) src_port: u16,
    pub(crate) dst_port: u16,
    pub(crate) seq: u32,
    pub(crate) ack: u32,
    pub(crate) flags: TcpFlags,
    pub(crate) window: u16,
    pub(crate) urgent: u16,
    pub(crate) options: TcpOptions,
}

/// Bytes the options of `o` take, padded to a multiple of four.
pub(crate) fn options_len(o: &TcpOptions) -> usize {
    let mut n = 0;
    if o.mss.is_some() {
        n += 4;
    }
    if o.timestamps.is_some() || o.sack_permitted {
        n += 4; // SACK-permitted + 2 bytes of TS prefix, or NOP NOP SACK-permitted
    }
    if o.timestamps.is_some() {
        n += 8;
    }
    if o.window_scale.is_some() {
        n += 4;
    }
    if !o.sack.is_empty() {
        n += 4 + 8 * o.sack.len(); // NOP NOP kind len, then 8 bytes per block
    }
    n
}

/// Writes the header and options into `buf`; returns the header length, or `None` when `buf`
/// is too short for it.
pub(crate) fn write_header(buf: &mut [u8], h: &Header) -> Option<usize> {
    let olen = options_len(&h.options);
    let hlen = 20 + olen;
    if buf.len() < hlen || hlen > 60 {
        return None;
    }
    buf[0..2].copy_from_slice(&h.src_port.to_be_bytes());
    buf[2..4].copy_from_slice(&h.dst_port.to_be_bytes());
    buf[4..8].copy_from_slice(&h.seq.to_be_bytes());
    buf[8..12].copy_from_slice(&h.ack.to_be_bytes());
    let flags = h.flags.0 & 0x1FF;
    let off_flags: u16 = ((hlen as u16 / 4) << 12) | flags;
    buf[12..14].copy_from_slice(&off_flags.to_be_bytes());
    buf[14..16].copy_from_slice(&h.window.to_be_bytes());
    buf[16..18].copy_from_slice(&0u16.to_be_bytes());
    buf[18..20].copy_from_slice(&h.urgent.to_be_bytes());
    let o = &h.options;
    let mut i = 20;
    let mut put = |bytes: &[u8], i: &mut usize| {
        buf[*i..*i + bytes.len()].copy_from_slice(bytes);
        *i += bytes.len();
    };
    if let Some(mss) = o.mss {
        let m = mss.to_be_bytes();
        put(&[2, 4, m[0], m[1]], &mut i);
    }
    match (o.sack_permitted, o.timestamps) {
        (true, Some(_)) => put(&[4, 2, 8, 10], &mut i),
        (false, Some(_)) => put(&[1, 1, 8, 10], &mut i),
        (true, None) => put(&[1, 1, 4, 2], &mut i),
        (false, None) => {}
    }
    if let Some(ts) = o.timestamps {
        put(&ts.tsval.to_be_bytes(), &mut i);
        put(&ts.tsecr.to_be_bytes(), &mut i);
    }
    if let Some(ws) = o.window_scale {
        put(&[1, 3, 3, ws], &mut i);
    }
    if !o.sack.is_empty() {
        put(&[1, 1, 5, 2 + 8 * o.sack.len() as u8], &mut i);
        for b in o.sack.as_slice() {
            put(&b.left.0.to_be_bytes(), &mut i);
            put(&b.right.0.to_be_bytes(), &mut i);
        }
    }
    debug_assert_eq!(i, hlen);
    Some(hlen)
}

/// Fills the checksum of the segment `seg` (header with a zero checksum field, then payload)
/// over the IPv4 or IPv6 pseudo-header (RFC 9293 3.1, MUST-2).
pub(crate) fn fill_checksum(seg: &mut [u8], src: IpAddr, dst: IpAddr) {
    let len = seg.len() as u32;
    let mut sum: u64 = 0;
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            sum += add_bytes(&s.octets()) + add_bytes(&d.octets());
            sum += 6 + len as u64;
        }
        (s, d) => {
            sum += add_bytes(&to_v6(s)) + add_bytes(&to_v6(d));
            sum += (len >> 16) as u64 + (len & 0xFFFF) as u64 + 6;
        }
    }
    seg[16] = 0;
    seg[17] = 0;
    sum += add_bytes(seg);
    while sum >> 16 != 0 {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    let c = !(sum as u16);
    seg[16..18].copy_from_slice(&c.to_be_bytes());
}

fn to_v6(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// Sum of big-endian 16-bit words (odd trailing byte padded with zero), not yet folded.
fn add_bytes(b: &[u8]) -> u64 {
    let mut sum: u64 = 0;
    let mut chunks = b.chunks_exact(2);
    for c in &mut chunks {
        sum += u16::from_be_bytes([c[0], c[1]]) as u64;
    }
    if let [last] = chunks.remainder() {
        sum += (*last as u64) << 8;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;
    use synack_wire::tcp::Timestamps;

    /// Verifies a filled checksum the way a receiver does: the sum over everything is 0xFFFF.
    fn verify(seg: &[u8], src: IpAddr, dst: IpAddr) -> bool {
        let mut copy = std::vec::Vec::from(seg);
        let stored = [copy[16], copy[17]];
        fill_checksum(&mut copy, src, dst);
        stored == [copy[16], copy[17]]
    }

    #[test]
    fn syn_options_layout_and_checksum() {
        let h = Header {
            src_port: 1,
            dst_port: 2,
            seq: 3,
            ack: 0,
            flags: TcpFlags::SYN,
            window: 65535,
            urgent: 0,
            options: TcpOptions {
                mss: Some(1460),
                window_scale: Some(7),
                sack_permitted: true,
                timestamps: Some(Timestamps { tsval: 1, tsecr: 0 }),
                ..Default::default()
            },
        };
        let mut buf = [0u8; 64];
        let n = write_header(&mut buf, &h).unwrap();
        assert_eq!(n, 40);
        assert_eq!(&buf[20..24], &[2, 4, 0x05, 0xb4]);
        assert_eq!(&buf[24..28], &[4, 2, 8, 10]);
        assert_eq!(&buf[36..40], &[1, 3, 3, 7]);
        let a = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let b = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
        buf[40] = 0xAB; // odd payload length
        fill_checksum(&mut buf[..41], a, b);
        assert!(verify(&buf[..41], a, b));
    }
}
