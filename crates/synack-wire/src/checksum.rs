//! The Internet checksum (RFC 1071) and the IPv4/IPv6 pseudo-headers TCP, UDP and ICMPv6 sum.
//!
//! [`sum`] is the fast path: it adds 64-bit words with end-around carry. Because
//! 2^16 = 1 (mod 2^16 - 1), a 64-bit word adds the same as its four 16-bit parts and a carry out
//! of bit 63 is worth 1, so folding the 64-bit total down to 16 bits gives the RFC 1071 sum.
//! [`naive_checksum`] is the word-by-word reference the tests compare it with.
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
///
/// The main loop adds 64-bit words with end-around carry into four accumulators, eight words
/// per round: each word costs an add and an add-with-carry (`add` + `adc $0` on x86-64), about
/// 520 instructions per 1,480 bytes where adding each word's two 32-bit halves in vector
/// registers took about 770 (callgrind, `rustc -O`, x86-64 baseline), at the same speed at
/// 1,480 bytes and 64 KiB (standalone harness).
#[inline]
pub fn sum(data: &[u8]) -> u64 {
    u16::from_be(fold(native_sum(data))) as u64
}

/// `acc + w` with the carry out of bit 63 added back in (one's-complement addition of 64-bit
/// words).
#[inline(always)]
const fn add_carry(acc: u64, w: u64) -> u64 {
    let (s, carry) = acc.overflowing_add(w);
    // Cannot overflow: when the add carried, `s` is at most 2^64 - 2.
    s + carry as u64
}

/// The unfolded native-order accumulation behind [`sum`] (see there); under 2^35.
#[inline]
fn native_sum(data: &[u8]) -> u64 {
    // Always 8 bytes (`chunks_exact` and the fixed ranges); slice-to-array keeps this a plain
    // load.
    let word = |w: &[u8]| u64::from_ne_bytes(w.try_into().unwrap_or_default());
    let mut blocks = data.chunks_exact(64);
    // Four chains of carries instead of one, so consecutive adds do not wait on each other
    // (with two, 64 KiB summed about 1.4x slower than the vector loop this replaced).
    let (mut a, mut b, mut c, mut d) = (0u64, 0u64, 0u64, 0u64);
    for blk in &mut blocks {
        a = add_carry(a, word(&blk[0..8]));
        b = add_carry(b, word(&blk[8..16]));
        c = add_carry(c, word(&blk[16..24]));
        d = add_carry(d, word(&blk[24..32]));
        a = add_carry(a, word(&blk[32..40]));
        b = add_carry(b, word(&blk[40..48]));
        c = add_carry(c, word(&blk[48..56]));
        d = add_carry(d, word(&blk[56..64]));
    }
    let mut acc = add_carry(add_carry(a, c), add_carry(b, d));
    let mut words = blocks.remainder().chunks_exact(8);
    for w in &mut words {
        acc = add_carry(acc, word(w));
    }
    // Below 2^33 from here on, so the last few words add without carries.
    let mut acc = (acc & 0xffff_ffff) + (acc >> 32);
    let mut halves = words.remainder().chunks_exact(4);
    acc += (&mut halves).map(|h| u32::from_ne_bytes([h[0], h[1], h[2], h[3]]) as u64).sum::<u64>();
    // Spelled out rather than a slice copy, which compiles to a call to `memcpy` for the
    // zero to three bytes left (about 40 instructions a call, on every sum).
    let tail = match *halves.remainder() {
        [a] => [a, 0, 0, 0],
        [a, b] => [a, b, 0, 0],
        [a, b, c] => [a, b, c, 0],
        _ => [0; 4],
    };
    acc += u32::from_ne_bytes(tail) as u64;
    acc
}

/// Copies `src` (under 8 bytes) into the start of `dst` (at least as long) in fixed-size
/// pieces, which compile to plain moves where a slice copy of unknown length calls `memcpy`.
#[inline]
fn copy_short(dst: &mut [u8], src: &[u8]) {
    let mut i = 0;
    for piece in [4, 2, 1] {
        if let (Some(d), Some(s)) = (dst.get_mut(i..i + piece), src.get(i..i + piece)) {
            d.copy_from_slice(s);
            i += piece;
        }
    }
}

/// Copies `src` into the start of `dst` and returns the partial sum of the bytes copied (the
/// same value as [`sum`]`(src)`), so a payload can be checksummed on its way into a frame
/// instead of in a second pass over it.
///
/// One copy, then one summing pass over the source (see [`sum`]): a fused loop that stores
/// each word as it adds it is what LLVM splits back into a `memcpy` and a summing loop when
/// the engine's send path inlines it, and `memcpy` moves 1,448 bytes in about 190
/// instructions where word-by-word stores take one each. Under 8 bytes the copy is done in
/// fixed-size pieces instead of a call to `memcpy`. Returns [`Error::BufferTooSmall`] (and
/// copies nothing) when `dst` is shorter than `src`.
///
/// A piece that starts at an odd offset of the data being checksummed adds in
/// [`at_odd_offset`]; otherwise partial sums of pieces simply add.
#[inline]
pub fn copy_and_sum(dst: &mut [u8], src: &[u8]) -> Result<u64> {
    let Some(dst) = dst.get_mut(..src.len()) else {
        return Err(Error::BufferTooSmall { layer: crate::Layer::Tcp, needed: src.len() });
    };
    if src.len() < 8 {
        copy_short(dst, src);
    } else {
        dst.copy_from_slice(src);
    }
    let acc = native_sum(src);
    Ok(u16::from_be(fold(acc)) as u64)
}

/// A partial sum of a piece that starts at an odd byte offset of the data being summed, as it
/// adds to the sum of the whole: its 16-bit words straddle the whole's words by one byte, which
/// swaps the bytes of its folded sum (RFC 1071 section 2, byte-order independence).
#[inline]
pub const fn at_odd_offset(s: u64) -> u64 {
    fold(s).swap_bytes() as u64
}

/// Folds a partial sum to 16 bits with end-around carry (not complemented): the two
/// 32-bit halves added with the carry out added back, then the two 16-bit halves of that
/// the same way (an add and an add-with-carry each on x86-64).
#[inline]
pub const fn fold(s: u64) -> u16 {
    let (w, carry) = (s as u32).overflowing_add((s >> 32) as u32);
    // Cannot overflow: when the add carried, `w` is at most 2^32 - 2.
    let w = w + carry as u32;
    let (h, carry) = (w as u16).overflowing_add((w >> 16) as u16);
    h + carry as u16
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

    /// Deterministic pseudo-random bytes (64-bit LCG, high byte) so the test needs no RNG crate.
    fn lcg_bytes(n: usize, mut state: u64) -> [u8; 4096] {
        let mut out = [0u8; 4096];
        for b in out.iter_mut().take(n) {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            *b = (state >> 56) as u8;
        }
        out
    }

    #[test]
    fn every_short_length_and_offset_agrees_with_naive() {
        // Lengths 0..=130 cross every split of 8-byte words, a 4-byte half and 0..3-byte
        // tails; offsets 0..=8 start the slice at every alignment.
        let buf = lcg_bytes(4096, 0x5eed);
        for len in 0..=130 {
            for off in 0..=8 {
                let d = &buf[off..off + len];
                assert_eq!(checksum(d), naive_checksum(d), "len {len} off {off}");
            }
        }
        // Longer random lengths at random offsets, including a 1500-byte segment.
        let mut state = 0x1234_5678_9abc_def0u64;
        for _ in 0..200 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let off = (state >> 40) as usize % 64;
            let len = (state >> 8) as usize % (4096 - 64);
            let d = &buf[off..off + len];
            assert_eq!(checksum(d), naive_checksum(d), "len {len} off {off}");
        }
        assert_eq!(checksum(&buf[3..1503]), naive_checksum(&buf[3..1503]));
    }

    #[test]
    fn copy_and_sum_copies_and_sums_every_short_length() {
        // Every remainder of the 8-byte loop (0..=7 bytes) at every alignment.
        let buf = lcg_bytes(4096, 0xc0de);
        for len in 0..=70 {
            for off in 0..=8 {
                let src = &buf[off..off + len];
                let mut dst = [0u8; 80];
                let s = copy_and_sum(&mut dst[1..], src).expect("room");
                assert_eq!(&dst[1..1 + len], src, "len {len} off {off}");
                assert!(dst[1 + len..].iter().all(|&b| b == 0), "len {len} off {off}");
                assert_eq!(s, sum(src), "len {len} off {off}");
            }
        }
    }

    #[test]
    fn all_ones_64k_carries_right() {
        // Every 32-bit half is 0xffff_ffff: the worst case for carries.
        let ones = [0xffu8; 65536 + 7];
        for len in [65536, 65535, 65536 + 7, 33, 31] {
            assert_eq!(checksum(&ones[..len]), naive_checksum(&ones[..len]), "len {len}");
        }
    }

    #[test]
    fn fold_carries_all_the_way() {
        assert_eq!(fold(0xffff_ffff_ffff_ffff), 0xffff);
        assert_eq!(fold(0x1_0000), 1);
        assert_eq!(fold(0x1_fffe), 0xffff);
    }

    /// The fold is the sum's residue modulo 2^16 - 1, written as 0xffff rather than 0 for a
    /// nonzero sum (end-around carry never yields 0 from nonzero words), and 0 only for 0.
    #[test]
    fn fold_is_the_residue_modulo_65535() {
        let reference = |s: u64| match (s, s % 0xffff) {
            (0, _) => 0,
            (_, 0) => 0xffff,
            (_, r) => r as u16,
        };
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let edges = [0, 1, 0xffff, 0x1_0000, 0xffff_ffff, 0x1_0000_0000, u64::MAX, u64::MAX - 1];
        for s in edges.into_iter().chain((0..100_000).map(|_| {
            // xorshift64: spread over every width of sum.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x >> (x % 64)
        })) {
            assert_eq!(fold(s), reference(s), "{s:#x}");
        }
    }

    #[test]
    fn mixed_families_rejected() {
        let a = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let b = IpAddr::V6(Ipv6Addr::LOCALHOST);
        assert_eq!(pseudo_header(a, b, IpProtocol::TCP, 20), Err(Error::AddressFamilyMismatch));
    }
}
