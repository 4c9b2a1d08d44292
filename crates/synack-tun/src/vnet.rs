//! The virtio-net header (`struct virtio_net_hdr` of `<linux/virtio_net.h>`) that precedes
//! every packet on a TUN descriptor opened with `IFF_VNET_HDR`, and what synack does with it.
//!
//! The header says two things about the packet after it. Checksum state: `NEEDS_CSUM` (the
//! checksum field holds only the pseudo-header sum; whoever puts the packet on a wire adds the
//! bytes from `csum_start` and stores the result at `csum_start + csum_offset`), `DATA_VALID`
//! (already verified), or neither (nobody looked). Segmentation: a `gso_type` other than
//! `NONE` marks a super-segment of up to 64 KiB that stands for segments of `gso_size`
//! payload bytes each. The kernel uses the header both ways: it hands us super-segments and
//! partial checksums (as far as `TUNSETOFFLOAD` allowed), and it takes ours and finishes
//! them (always, with `IFF_VNET_HDR`).
//!
//! Byte order is the host's (the legacy virtio rule the TUN driver keeps unless told
//! otherwise with `TUNSETVNETLE`/`TUNSETVNETBE`, which synack never sends).

use synack_stack::gso::{self, TcpFrame};
use synack_wire::checksum;

/// Bytes of the header (`struct virtio_net_hdr`); the TUN default.
pub const HDR_LEN: usize = 10;

/// `flags`: the checksum field holds the pseudo-header sum; finish it from `csum_start`.
pub const F_NEEDS_CSUM: u8 = 1;
/// `flags`: the checksum was verified.
pub const F_DATA_VALID: u8 = 2;

/// `gso_type`: not a super-segment.
pub const GSO_NONE: u8 = 0;
/// `gso_type`: an IPv4 TCP super-segment.
pub const GSO_TCPV4: u8 = 1;
/// `gso_type`: an IPv4 UDP fragmentation super-packet (UFO).
pub const GSO_UDP: u8 = 3;
/// `gso_type`: an IPv6 TCP super-segment.
pub const GSO_TCPV6: u8 = 4;
/// `gso_type`: a UDP super-datagram cut at `gso_size` (USO).
pub const GSO_UDP_L4: u8 = 5;
/// `gso_type` bit: the super-segment carries CWR, which only its first segment may keep.
pub const GSO_ECN: u8 = 0x80;

/// A parsed `struct virtio_net_hdr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VnetHdr {
    /// `F_NEEDS_CSUM`, `F_DATA_VALID`.
    pub flags: u8,
    /// `GSO_*`, possibly with `GSO_ECN`.
    pub gso_type: u8,
    /// Length of the headers (a hint).
    pub hdr_len: u16,
    /// Payload bytes per segment of a super-segment.
    pub gso_size: u16,
    /// Where the checksummed bytes start (with `F_NEEDS_CSUM`).
    pub csum_start: u16,
    /// Where, from `csum_start`, the checksum field is.
    pub csum_offset: u16,
}

impl VnetHdr {
    /// Reads a header from the first [`HDR_LEN`] bytes of `b`.
    pub fn parse(b: &[u8]) -> Option<VnetHdr> {
        let b: &[u8; HDR_LEN] = b.get(..HDR_LEN)?.try_into().ok()?;
        let u = |i: usize| u16::from_ne_bytes([b[i], b[i + 1]]);
        Some(VnetHdr {
            flags: b[0],
            gso_type: b[1],
            hdr_len: u(2),
            gso_size: u(4),
            csum_start: u(6),
            csum_offset: u(8),
        })
    }

    /// The header's bytes.
    pub fn to_bytes(&self) -> [u8; HDR_LEN] {
        let mut b = [0u8; HDR_LEN];
        b[0] = self.flags;
        b[1] = self.gso_type;
        b[2..4].copy_from_slice(&self.hdr_len.to_ne_bytes());
        b[4..6].copy_from_slice(&self.gso_size.to_ne_bytes());
        b[6..8].copy_from_slice(&self.csum_start.to_ne_bytes());
        b[8..10].copy_from_slice(&self.csum_offset.to_ne_bytes());
        b
    }
}

/// What became of a received packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxVerdict {
    /// Hand it to the stack: TCP checksums are right or vouched for by the kernel; other
    /// protocols carry a complete checksum for the stack to verify.
    Deliver,
    /// Drop it: a TCP checksum we verified is wrong.
    BadChecksum,
    /// Drop it: the header asks for something synack does not take (a UDP super-datagram, a
    /// super-segment that is not the TCP packet it claims, a checksum position outside the
    /// packet).
    Unsupported,
}

/// Settles a received packet's checksum state in place, so everything the device hands out
/// can be treated alike: TCP with `NEEDS_CSUM` or `DATA_VALID` is trusted as the kernel says
/// (the bytes never crossed a wire, and finishing a 64 KiB checksum is the work offload
/// saves); TCP with neither is verified here when `verify_tcp`; any other protocol with
/// `NEEDS_CSUM` gets its checksum finished (what `skb_checksum_help` does) so the stack can
/// verify it as usual.
pub fn settle_rx(hdr: &VnetHdr, frame: &mut [u8], verify_tcp: bool) -> RxVerdict {
    let tcp = TcpFrame::parse(frame);
    match hdr.gso_type & !GSO_ECN {
        GSO_NONE => {}
        GSO_TCPV4 | GSO_TCPV6 => {
            let v6 = hdr.gso_type & !GSO_ECN == GSO_TCPV6;
            if tcp.is_none_or(|t| t.v6 != v6) || hdr.gso_size == 0 {
                return RxVerdict::Unsupported;
            }
        }
        _ => return RxVerdict::Unsupported,
    }
    if let Some(t) = tcp {
        if hdr.flags & (F_NEEDS_CSUM | F_DATA_VALID) != 0 {
            return RxVerdict::Deliver;
        }
        if verify_tcp && !gso::tcp_checksum_ok(frame, &t) {
            return RxVerdict::BadChecksum;
        }
        return RxVerdict::Deliver;
    }
    if hdr.flags & F_NEEDS_CSUM != 0 {
        let start = usize::from(hdr.csum_start);
        let field = start + usize::from(hdr.csum_offset);
        if field + 2 > frame.len() {
            return RxVerdict::Unsupported;
        }
        let c = checksum::finish(checksum::sum(&frame[start..]));
        frame[field..field + 2].copy_from_slice(&c.to_be_bytes());
    }
    RxVerdict::Deliver
}

/// The header for a packet synack sends, with the packet prepared to match: a TCP packet gets
/// its checksum left to the kernel when `csum` (the pseudo-header sum goes in the field and
/// `NEEDS_CSUM` on the header), and one with `segment_size > 0` whose payload is larger is
/// marked a super-segment for the kernel to cut. Anything else goes as it is.
pub fn prepare_tx(frame: &mut [u8], segment_size: usize, csum: bool) -> VnetHdr {
    let Some(t) = TcpFrame::parse(frame) else { return VnetHdr::default() };
    let mut h = VnetHdr::default();
    let gso = segment_size > 0 && t.payload_len() > segment_size;
    if csum || gso {
        gso::write_partial_checksum(frame, &t);
        h.flags = F_NEEDS_CSUM;
        h.csum_start = t.ip_header as u16;
        h.csum_offset = 16;
    }
    if gso {
        h.gso_type = if t.v6 { GSO_TCPV6 } else { GSO_TCPV4 };
        // CWR on a super-segment: the kernel keeps it on the first segment only.
        if frame[t.ip_header + 13] & 0x80 != 0 {
            h.gso_type |= GSO_ECN;
        }
        h.gso_size = u16::try_from(segment_size).unwrap_or(u16::MAX);
        h.hdr_len = t.headers() as u16;
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An IPv4 (or IPv6) TCP packet with `payload` bytes and a valid checksum.
    fn tcp_packet(v6: bool, payload: usize) -> Vec<u8> {
        let ip = if v6 { 40 } else { 20 };
        let len = ip + 20 + payload;
        let mut p = vec![0u8; len];
        if v6 {
            p[0] = 0x60;
            p[4..6].copy_from_slice(&((len - 40) as u16).to_be_bytes());
            p[6] = 6;
            p[7] = 64;
            p[23] = 1;
            p[39] = 2;
        } else {
            p[0] = 0x45;
            p[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            p[6] = 0x40;
            p[8] = 64;
            p[9] = 6;
            p[12..16].copy_from_slice(&[10, 0, 0, 1]);
            p[16..20].copy_from_slice(&[10, 0, 0, 2]);
            let c = checksum::checksum(&p[..20]);
            p[10..12].copy_from_slice(&c.to_be_bytes());
        }
        p[ip..ip + 4].copy_from_slice(&[0x13, 0x88, 0, 80]);
        p[ip + 12] = 5 << 4;
        p[ip + 13] = 0x18;
        for (i, b) in p[ip + 20..].iter_mut().enumerate() {
            *b = i as u8;
        }
        let f = TcpFrame::parse(&p).expect("tcp");
        gso::write_tcp_checksum(&mut p, &f);
        p
    }

    #[test]
    fn header_round_trips_in_host_order() {
        let h = VnetHdr {
            flags: F_NEEDS_CSUM,
            gso_type: GSO_TCPV6 | GSO_ECN,
            hdr_len: 72,
            gso_size: 1428,
            csum_start: 40,
            csum_offset: 16,
        };
        let b = h.to_bytes();
        assert_eq!(b[0], 1);
        assert_eq!(b[1], 0x84);
        assert_eq!(&b[4..6], &1428u16.to_ne_bytes());
        assert_eq!(VnetHdr::parse(&b), Some(h));
        assert_eq!(VnetHdr::parse(&b[..9]), None, "short");
    }

    #[test]
    fn tx_super_segment_gets_gso_and_a_partial_checksum_the_kernel_can_finish() {
        for v6 in [false, true] {
            let mut p = tcp_packet(v6, 5000);
            let h = prepare_tx(&mut p, 1448, true);
            let ip = if v6 { 40 } else { 20 };
            assert_eq!(h.gso_type, if v6 { GSO_TCPV6 } else { GSO_TCPV4 });
            assert_eq!((h.gso_size, h.hdr_len), (1448, (ip + 20) as u16));
            assert_eq!((h.flags, h.csum_start, h.csum_offset), (F_NEEDS_CSUM, ip as u16, 16));
            // Finishing as the kernel does (sum from csum_start, complement into the field)
            // gives the right checksum.
            let c = checksum::finish(checksum::sum(&p[ip..]));
            p[ip + 16..ip + 18].copy_from_slice(&c.to_be_bytes());
            assert_eq!(p, tcp_packet(v6, 5000));
        }
        // Small enough for one segment: no GSO; checksum left alone without offload.
        let mut p = tcp_packet(false, 100);
        assert_eq!(prepare_tx(&mut p, 1448, false), VnetHdr::default());
        assert_eq!(p, tcp_packet(false, 100));
        let h = prepare_tx(&mut p, 1448, true);
        assert_eq!((h.gso_type, h.flags), (GSO_NONE, F_NEEDS_CSUM));
        // Not TCP: an empty header.
        let mut icmp = tcp_packet(false, 10);
        icmp[9] = 1;
        assert_eq!(prepare_tx(&mut icmp, 1448, true), VnetHdr::default());
    }

    #[test]
    fn rx_checksum_states_are_honoured() {
        let good = tcp_packet(false, 300);
        let mut bad = good.clone();
        bad[60] ^= 0xff;
        let none = VnetHdr::default();
        let valid = VnetHdr { flags: F_DATA_VALID, ..none };
        let partial = VnetHdr { flags: F_NEEDS_CSUM, csum_start: 20, csum_offset: 16, ..none };
        // Neither flag: verified here.
        assert_eq!(settle_rx(&none, &mut good.clone(), true), RxVerdict::Deliver);
        assert_eq!(settle_rx(&none, &mut bad.clone(), true), RxVerdict::BadChecksum);
        // Not verified here when the stack does it.
        assert_eq!(settle_rx(&none, &mut bad.clone(), false), RxVerdict::Deliver);
        // The kernel vouches: trusted, untouched.
        let mut b = bad.clone();
        assert_eq!(settle_rx(&valid, &mut b, true), RxVerdict::Deliver);
        assert_eq!(settle_rx(&partial, &mut b, true), RxVerdict::Deliver);
        assert_eq!(b, bad);
    }

    #[test]
    fn rx_super_segments_are_checked_against_their_claim() {
        let mut p4 = tcp_packet(false, 4000);
        let mut p6 = tcp_packet(true, 4000);
        let gso = |t| VnetHdr {
            flags: F_NEEDS_CSUM,
            gso_type: t,
            gso_size: 1448,
            csum_start: 20,
            csum_offset: 16,
            ..VnetHdr::default()
        };
        assert_eq!(settle_rx(&gso(GSO_TCPV4), &mut p4, true), RxVerdict::Deliver);
        assert_eq!(settle_rx(&gso(GSO_TCPV4 | GSO_ECN), &mut p4, true), RxVerdict::Deliver);
        assert_eq!(settle_rx(&gso(GSO_TCPV6), &mut p6, true), RxVerdict::Deliver);
        assert_eq!(settle_rx(&gso(GSO_TCPV6), &mut p4, true), RxVerdict::Unsupported);
        assert_eq!(settle_rx(&gso(GSO_UDP_L4), &mut p4, true), RxVerdict::Unsupported);
        assert_eq!(settle_rx(&gso(GSO_UDP), &mut p4, true), RxVerdict::Unsupported);
        let zero = VnetHdr { gso_size: 0, ..gso(GSO_TCPV4) };
        assert_eq!(settle_rx(&zero, &mut p4, true), RxVerdict::Unsupported);
    }

    #[test]
    fn rx_partial_checksum_of_other_protocols_is_finished() {
        // A UDP datagram with a partial checksum: 10.0.0.1 -> 10.0.0.2, 8 bytes of payload.
        let mut p = vec![0u8; 36];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&36u16.to_be_bytes());
        p[8] = 64;
        p[9] = 17;
        p[12..16].copy_from_slice(&[10, 0, 0, 1]);
        p[16..20].copy_from_slice(&[10, 0, 0, 2]);
        p[20..24].copy_from_slice(&[0x13, 0x88, 0, 53]);
        p[24..26].copy_from_slice(&16u16.to_be_bytes());
        p[28..36].copy_from_slice(b"synack!!");
        let pseudo = checksum::sum(&p[12..20]) + 17 + 16;
        p[26..28].copy_from_slice(&checksum::fold(pseudo).to_be_bytes());
        let h =
            VnetHdr { flags: F_NEEDS_CSUM, csum_start: 20, csum_offset: 6, ..VnetHdr::default() };
        assert_eq!(settle_rx(&h, &mut p, true), RxVerdict::Deliver);
        assert_eq!(checksum::fold(pseudo + checksum::sum(&p[20..])), 0xffff, "complete");
        let out = VnetHdr { csum_offset: 60, ..h };
        assert_eq!(settle_rx(&out, &mut p, true), RxVerdict::Unsupported);
    }
}
