//! The Internet checksum (RFC 1071) and the IPv4/IPv6 pseudo-headers TCP, UDP and ICMPv6 sum.
//!
//! [`sum`] is the fast path: it adds 32-bit words into a 64-bit accumulator, which cannot
//! overflow for any buffer under 16 GiB and which the compiler vectorizes. Because
//! 2^16 = 1 (mod 2^16 - 1), a 32-bit word adds the same as its two 16-bit halves, so folding the
//! 64-bit total down to 16 bits gives the RFC 1071 sum. [`naive_checksum`] is the word-by-word
//! reference the tests compare it with.
//!
//! Partial sums of pieces can be added together (then [`finish`]ed) as long as every piece but
//! the last has even length, which is how a header, its pseudo-header and its payload combine.

use crate::error::{Error, Result};
use crate::ip::IpProtocol;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether checksums are verified on parse and computed on emit.
///
/// Devices that offload checksums (or captures taken on loopback, where Linux leaves the TCP
/// checksum partial) use [`ChecksumMode::Skip`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum ChecksumMode {
    /// Parse rejects a wrong checksum with [`Error::BadChecksum`]; emit computes and fills it.
    #[default]
    Verify,
    /// Parse ignores the checksum; emit writes zero in the field (the device fills it in).
    Skip,
}

impl ChecksumMode {
    /// True for [`ChecksumMode::Verify`].
    #[inline]
    pub const fn verify(self) -> bool {
        matches!(self, ChecksumMode::Verify)
    }
}

/// The one's-complement sum of `data` (odd final byte padded with zero), as a partial sum to
/// combine with other partial sums and then [`finish`].
///
/// Words are added in native byte order, which lets the loop vectorize without byte swaps;
/// since the one's-complement sum commutes with swapping bytes (RFC 1071 section 2), the folded
/// result is converted to network order once at the end.
#[inline]
pub fn sum(data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(4);
    let mut acc: u64 =
        (&mut chunks).map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]]) as u64).sum();
    let rem = chunks.remainder();
    let mut tail = [0u8; 4];
    tail[..rem.len()].copy_from_slice(rem);
    acc += u32::from_ne_bytes(tail) as u64;
    u16::from_be(fold(acc)) as u64
}

/// Folds a partial sum to 16 bits with end-around carry (not complemented).
#[inline]
pub const fn fold(mut s: u64) -> u16 {
    s = (s & 0xffff_ffff) + (s >> 32);
    s = (s & 0xffff_ffff) + (s >> 32);
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    s as u16
}

/// The checksum field value for a partial sum: the complement of its fold.
#[inline]
pub const fn finish(s: u64) -> u16 {
    !fold(s)
}

/// The Internet checksum of `data` (fast path).
#[inline]
pub fn checksum(data: &[u8]) -> u16 {
    finish(sum(data))
}

/// The Internet checksum computed the plain RFC 1071 way, one 16-bit word at a time, folding as
/// it goes. The reference the fast path is tested against; not for hot paths.
pub fn naive_checksum(data: &[u8]) -> u16 {
    let mut acc: u32 = 0;
    let mut i = 0;
    while i + 1 < data.len() {
        acc += u16::from_be_bytes([data[i], data[i + 1]]) as u32;
        acc = (acc & 0xffff) + (acc >> 16);
        i += 2;
    }
    if i < data.len() {
        acc += (data[i] as u32) << 8;
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// Partial sum of the IPv4 pseudo-header (RFC 9293 section 3.1): source, destination, zero,
/// protocol, and the upper-layer length.
//= rfc9293#3.1
// The TCP checksum covers a pseudo-header of both addresses, the protocol and the TCP length.
#[inline]
pub fn pseudo_header_v4(src: Ipv4Addr, dst: Ipv4Addr, proto: IpProtocol, len: u32) -> u64 {
    let s = u32::from_be_bytes(src.octets()) as u64;
    let d = u32::from_be_bytes(dst.octets()) as u64;
    s + d + proto.0 as u64 + len as u64
}

/// Partial sum of the IPv6 pseudo-header (RFC 8200 section 8.1): both addresses, the 32-bit
/// upper-layer length and the next-header value of the upper layer.
#[inline]
pub fn pseudo_header_v6(src: Ipv6Addr, dst: Ipv6Addr, proto: IpProtocol, len: u32) -> u64 {
    sum(&src.octets()) + sum(&dst.octets()) + proto.0 as u64 + len as u64
}

/// The pseudo-header partial sum for either family; the two addresses must be of one family.
#[inline]
pub fn pseudo_header(src: IpAddr, dst: IpAddr, proto: IpProtocol, len: u32) -> Result<u64> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => Ok(pseudo_header_v4(s, d, proto, len)),
        (IpAddr::V6(s), IpAddr::V6(d)) => Ok(pseudo_header_v6(s, d, proto, len)),
        _ => Err(Error::AddressFamilyMismatch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3's worked example: the folded sum of these bytes is 0xddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum(&data)), 0xddf2);
        assert_eq!(checksum(&data), !0xddf2);
        assert_eq!(naive_checksum(&data), !0xddf2);
    }

    #[test]
    fn odd_lengths_agree() {
        let data: [u8; 7] = [0xff, 0x01, 0x80, 0x7f, 0x33, 0x00, 0xab];
        for n in 0..=data.len() {
            assert_eq!(checksum(&data[..n]), naive_checksum(&data[..n]), "len {n}");
        }
        assert_eq!(checksum(&[0xab]), !0xab00);
    }

    #[test]
    fn fold_carries_all_the_way() {
        assert_eq!(fold(0xffff_ffff_ffff_ffff), 0xffff);
        assert_eq!(fold(0x1_0000), 1);
        assert_eq!(fold(0x1_fffe), 0xffff);
    }

    #[test]
    fn mixed_families_rejected() {
        let a = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let b = IpAddr::V6(Ipv6Addr::LOCALHOST);
        assert_eq!(pseudo_header(a, b, IpProtocol::TCP, 20), Err(Error::AddressFamilyMismatch));
    }
}
