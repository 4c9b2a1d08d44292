//! IPv6 fragments: finding the fragment header, the checks RFC 8200 and RFC 7112 ask of
//! fragments, and the key they are reassembled by (the reassembly itself, bounded in memory,
//! count and time and dropping overlaps, is [`super::reasm`]'s).
//!
//! A packet's fragment header splits it into the unfragmentable part (the fixed header and the
//! extension headers before the fragment header) and the fragmentable part (what follows, cut
//! into fragments). Reassembled, the fragmentable parts joined are read with the offset-zero
//! fragment's next header, as an unfragmented packet's payload would be.

use core::net::Ipv6Addr;

use synack_wire::IpProtocol;
use synack_wire::ipv6::{MAX_EXT_HEADERS, walk};

use super::counters::DropReason;
use super::reasm::FragmentKey;

/// What identifies the fragments of one IPv6 packet, and the next header the fragment carries.
//= rfc8200#4.5
// Fragments belong together when source, destination and identification match; only the
// offset-zero fragment's next header is used for the reassembled packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragKey6 {
    /// Source address.
    pub src: Ipv6Addr,
    /// Destination address.
    pub dst: Ipv6Addr,
    /// Identification.
    pub ident: u32,
    /// The fragment header's next header (the reassembled packet takes the offset-zero one's).
    pub next: IpProtocol,
}

impl FragmentKey for FragKey6 {
    type Id = (Ipv6Addr, Ipv6Addr, u32);
    //= rfc8200#4.5
    // A reassembled packet whose payload length would exceed 65,535 bytes is discarded.
    const MAX_PAYLOAD: u32 = 65_535;
    fn id(&self) -> Self::Id {
        (self.src, self.dst, self.ident)
    }
}

/// A fragment header found in a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment6 {
    /// The header's next header.
    pub next: IpProtocol,
    /// Offset of the fragmentable part, in bytes.
    pub offset: u32,
    /// More fragments follow.
    pub more: bool,
    /// Identification.
    pub ident: u32,
    /// Where the fragment's data starts in the IPv6 payload (just past the fragment header).
    pub data_at: usize,
}

impl Fragment6 {
    /// An atomic fragment (offset zero, no more fragments): a whole packet that carries a
    /// fragment header anyway.
    //= rfc6946#4
    // Atomic fragments are processed as whole packets, apart from any other fragments that
    // share their identification.
    pub fn is_atomic(&self) -> bool {
        self.offset == 0 && !self.more
    }
}

/// Walks the extension headers before a fragment header: the fragment header's fields when
/// there is one, `None` for an unfragmented packet (its headers are checked later, when the
/// upper layer is looked for).
pub fn find_fragment(
    mut next: IpProtocol,
    payload: &[u8],
) -> Result<Option<Fragment6>, DropReason> {
    let mut at = 0usize;
    for count in 0..MAX_EXT_HEADERS {
        if next == IpProtocol::IPV6_FRAG {
            let Some(h) = payload.get(at..at + 8) else {
                return Err(DropReason::Ipv6BadExtHeaders);
            };
            let field = u16::from_be_bytes([h[2], h[3]]);
            return Ok(Some(Fragment6 {
                next: IpProtocol(h[0]),
                offset: u32::from(field >> 3) * 8,
                more: field & 1 != 0,
                ident: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
                data_at: at + 8,
            }));
        }
        if !next.is_ipv6_extension() {
            return Ok(None);
        }
        //= rfc8200#4.1
        // Hop-by-hop options may only appear immediately after the fixed header.
        if next == IpProtocol::HOP_BY_HOP && count != 0 {
            return Err(DropReason::Ipv6BadExtHeaders);
        }
        let Some(h) = payload.get(at..at + 2) else {
            return Err(DropReason::Ipv6BadExtHeaders);
        };
        let len = match next {
            IpProtocol::AH => (h[1] as usize + 2) * 4,
            _ => (h[1] as usize + 1) * 8,
        };
        if payload.len() < at + len {
            return Err(DropReason::Ipv6BadExtHeaders);
        }
        next = IpProtocol(h[0]);
        at += len;
    }
    if next.is_ipv6_extension() { Err(DropReason::Ipv6BadExtHeaders) } else { Ok(None) }
}

/// Checks that the offset-zero fragment `data` (the bytes after its fragment header) holds the
/// whole header chain through the upper-layer header.
//= rfc7112#5
// A first fragment that does not carry every header through the upper-layer header is
// discarded.
pub fn first_fragment_complete(next: IpProtocol, data: &[u8]) -> bool {
    let Ok(upper) = walk(next, data) else { return false };
    if upper.fragment.is_some() {
        // A second fragment header inside the fragmentable part.
        return false;
    }
    let need = match upper.protocol {
        IpProtocol::TCP => 20,
        IpProtocol::UDP => 8,
        IpProtocol::ICMPV6 => 4,
        _ => 0,
    };
    data.len() >= upper.offset + need
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frag_header(next: u8, offset: u32, more: bool, ident: u32) -> Vec<u8> {
        let field = ((offset / 8) as u16) << 3 | u16::from(more);
        let mut h = vec![next, 0];
        h.extend_from_slice(&field.to_be_bytes());
        h.extend_from_slice(&ident.to_be_bytes());
        h
    }

    #[test]
    fn finds_the_fragment_header_behind_other_headers() {
        // Destination options (8 bytes), then the fragment header, then data.
        let mut p = vec![IpProtocol::IPV6_FRAG.0, 0, 1, 4, 0, 0, 0, 0];
        p.extend(frag_header(17, 1448, true, 0xdead_beef));
        p.extend([0u8; 16]);
        let f = find_fragment(IpProtocol::IPV6_OPTS, &p).unwrap().unwrap();
        assert_eq!(
            f,
            Fragment6 {
                next: IpProtocol::UDP,
                offset: 1448,
                more: true,
                ident: 0xdead_beef,
                data_at: 16
            }
        );
        assert!(!f.is_atomic());
        assert_eq!(find_fragment(IpProtocol::UDP, &p), Ok(None));
        assert_eq!(
            find_fragment(IpProtocol::IPV6_FRAG, &p[8..12]),
            Err(DropReason::Ipv6BadExtHeaders)
        );
        // Hop-by-hop anywhere but first.
        let hbh = [IpProtocol::HOP_BY_HOP.0, 0, 1, 4, 0, 0, 0, 0, 17, 0, 1, 4, 0, 0, 0, 0];
        assert_eq!(find_fragment(IpProtocol::IPV6_OPTS, &hbh), Err(DropReason::Ipv6BadExtHeaders));
    }

    #[test]
    fn a_first_fragment_must_carry_the_upper_layer_header() {
        assert!(first_fragment_complete(IpProtocol::UDP, &[0u8; 8]));
        assert!(!first_fragment_complete(IpProtocol::UDP, &[0u8; 7]));
        // Destination options announcing 16 bytes in an 8-byte fragment.
        assert!(!first_fragment_complete(IpProtocol::IPV6_OPTS, &[17, 1, 0, 0, 0, 0, 0, 0]));
        assert!(!first_fragment_complete(IpProtocol::TCP, &[0u8; 19]));
        let nested = frag_header(17, 0, true, 1);
        assert!(!first_fragment_complete(
            IpProtocol::IPV6_FRAG,
            &[&nested[..], &[0u8; 8]].concat()
        ));
    }
}
