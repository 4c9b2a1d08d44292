//! The TCP MD5 signature (RFC 2385): the digest a connection with a key puts in every segment,
//! computed over the pseudo-header, the fixed TCP header, the payload and the key.
//!
//! The digest is MD5 (the RustCrypto `md-5` crate); the option's place is reserved by
//! [`TcpOptions::md5`](super::TcpOptions::md5) when the header is written, and [`sign`] fills
//! it once header and payload are in the buffer (before the checksum, which covers it).

use core::net::IpAddr;

use md5::{Digest, Md5};

use super::options::{self, MAX_OPTIONS_LEN};
use super::packet::TcpPacket;
use super::repr::TcpRepr;
use crate::ip::IpProtocol;

/// The longest key Linux accepts (`TCP_MD5SIG_MAXKEYLEN`).
pub const MAX_KEY_LEN: usize = 80;

/// Bytes of the fixed TCP header, the part the digest covers.
const FIXED: usize = 20;

//= rfc2385#2.0
//~ paraphrase: The digest is MD5 over, in order: the pseudo-header (source and destination
//~ address, zero-padded protocol number, segment length), the TCP header without options and
//~ with a zero checksum, the segment data, and the connection's key.
/// The digest of a segment whose fixed header is `fixed` (its first 20 bytes; the checksum
/// field is taken as zero) and whose payload is `payload`, from `src` to `dst`. `None` when
/// the addresses are of different families or `fixed` is shorter than 20 bytes.
///
/// The segment length in the pseudo-header is the data offset of `fixed` plus the payload, so
/// options count in it though their bytes are not hashed.
pub fn digest(
    src: IpAddr,
    dst: IpAddr,
    fixed: &[u8],
    payload: &[u8],
    key: &[u8],
) -> Option<[u8; 16]> {
    let fixed: &[u8; FIXED] = fixed.get(..FIXED)?.try_into().ok()?;
    let header_len = usize::from(fixed[12] >> 4) * 4;
    let seg_len = (header_len + payload.len()) as u32;
    let mut h = Md5::new();
    match (src, dst) {
        //~ linux: tcp_v4_md5_hash_headers: addresses, a zero byte, the protocol, a 16-bit length.
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            h.update(s.octets());
            h.update(d.octets());
            h.update([0, IpProtocol::TCP.0]);
            h.update((seg_len as u16).to_be_bytes());
        }
        //~ linux: tcp_v6_md5_hash_headers: addresses, a 32-bit length, the next header as a
        //~ 32-bit value (RFC 8200 section 8.1's pseudo-header).
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            h.update(s.octets());
            h.update(d.octets());
            h.update(seg_len.to_be_bytes());
            h.update(u32::from(IpProtocol::TCP.0).to_be_bytes());
        }
        _ => return None,
    }
    let mut hdr = *fixed;
    hdr[16] = 0;
    hdr[17] = 0;
    h.update(hdr);
    h.update(payload);
    h.update(key);
    Some(h.finalize().into())
}

/// The digest of a whole segment `seg` (header, options, payload) as it is on the wire.
pub fn segment_digest(src: IpAddr, dst: IpAddr, seg: &[u8], key: &[u8]) -> Option<[u8; 16]> {
    let hlen = TcpPacket::new_checked(seg).ok()?.header_len();
    digest(src, dst, seg, seg.get(hlen..)?, key)
}

/// Fills the MD5 option of the segment `seg` (header, options, payload, written with the
/// option's place reserved) with its digest under `key`, and returns the digest. `None`,
/// changing nothing, when the segment has no such option or is malformed. The checksum must
/// be computed after.
pub fn sign(src: IpAddr, dst: IpAddr, seg: &mut [u8], key: &[u8]) -> Option<[u8; 16]> {
    let hlen = TcpPacket::new_checked(&*seg).ok()?.header_len();
    let opts = &seg[FIXED..hlen.min(FIXED + MAX_OPTIONS_LEN)];
    let at = FIXED + options::md5_digest_offset(opts)?;
    let d = digest(src, dst, seg, &seg[hlen..], key)?;
    seg[at..at + 16].copy_from_slice(&d);
    Some(d)
}

/// The digest a parsed segment should carry under `key` (its header rebuilt from the fields:
/// ports, numbers, data offset, flags, window, urgent pointer).
pub fn repr_digest(repr: &TcpRepr<'_>, src: IpAddr, dst: IpAddr, key: &[u8]) -> Option<[u8; 16]> {
    let mut fixed = [0u8; FIXED];
    let mut p = TcpPacket::new_unchecked(&mut fixed[..]);
    p.set_src_port(repr.src_port);
    p.set_dst_port(repr.dst_port);
    p.set_seq_number(repr.seq);
    p.set_ack_number(repr.ack);
    p.set_offset_and_flags((repr.header_len() / 4).min(15) as u8, repr.flags);
    p.set_window_len(repr.window);
    p.set_urgent_pointer(repr.urgent);
    digest(src, dst, &fixed, repr.payload, key)
}

//= rfc2385#2.0
//~ paraphrase: The receiver computes its own digest with its own key over the same data and
//~ compares; a segment whose digest differs (or that lacks the option) is dropped.
/// Whether the parsed segment carries an MD5 option whose digest is right under `key`.
/// Comparison is in constant time, as the digest is a secret's image.
pub fn verify_repr(repr: &TcpRepr<'_>, src: IpAddr, dst: IpAddr, key: &[u8]) -> bool {
    let (Some(got), Some(want)) = (repr.options.md5, repr_digest(repr, src, dst, key)) else {
        return false;
    };
    got.iter().zip(want.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}
