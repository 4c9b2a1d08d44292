//! Writing a TCP segment (header, options, payload, checksum) into the caller's buffer with
//! synack-wire's packet accessors and option writer.
//!
//! `TcpRepr::emit` would copy the payload from a separate slice; the engine instead copies the
//! payload from its send ring straight into the frame (one copy), then writes the header in
//! front of it here, so only the header pieces of the wire crate are used.

use core::net::IpAddr;
use synack_wire::checksum;
use synack_wire::tcp::{OptionLayout, TcpFlags, TcpOptions, TcpPacket, options};
use synack_wire::{ChecksumMode, IpProtocol};

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
    /// How the options are laid out (`ConnConfig::option_layout`).
    pub(crate) layout: OptionLayout,
    /// Partial checksum (`synack_wire::checksum::sum`) of the payload placed after the header,
    /// computed while the payload was copied into the frame; 0 without payload. Lets
    /// [`fill_checksum`] sum only the header instead of reading the payload a second time.
    pub(crate) payload_sum: u64,
}

/// Bytes the options of `o` take in `layout`, padded to a multiple of four.
pub(crate) fn options_len(o: &TcpOptions, layout: OptionLayout) -> usize {
    options::written_len_layout(o, layout)
}

/// Writes the header and options into `buf`; returns the header length, or `None` when `buf`
/// is too short for it or the options exceed 40 bytes (the engine never builds such).
#[inline]
pub(crate) fn write_header(buf: &mut [u8], h: &Header) -> Option<usize> {
    // A data segment's options are timestamps alone, the same 12 bytes in either layout:
    // written in one step, without working out their length first.
    let quick = buf.get_mut(20..32).and_then(|o| options::write_timestamps_only(&h.options, o));
    let hlen = match quick {
        Some(n) => 20 + n,
        None => {
            let hlen = 20 + options_len(&h.options, h.layout);
            if buf.len() < hlen || hlen > 60 {
                return None;
            }
            options::write_layout(&h.options, h.layout, &mut buf[20..hlen]).ok()?;
            hlen
        }
    };
    // The fixed 20 bytes (RFC 9293 3.1) assembled in one array and stored at once, the
    // checksum zero until `fill_checksum`; the same bytes `TcpPacket`'s setters write.
    let mut fixed = [0u8; 20];
    fixed[0..2].copy_from_slice(&h.src_port.to_be_bytes());
    fixed[2..4].copy_from_slice(&h.dst_port.to_be_bytes());
    fixed[4..8].copy_from_slice(&h.seq.to_be_bytes());
    fixed[8..12].copy_from_slice(&h.ack.to_be_bytes());
    let off_flags = (((hlen / 4) as u16 & 0xf) << 12) | (h.flags.0 & 0x0fff);
    fixed[12..14].copy_from_slice(&off_flags.to_be_bytes());
    fixed[14..16].copy_from_slice(&h.window.to_be_bytes());
    fixed[18..20].copy_from_slice(&h.urgent.to_be_bytes());
    buf[..20].copy_from_slice(&fixed);
    Some(hlen)
}

/// Fills the checksum of the segment `seg` (header then payload) over the IPv4 or IPv6
/// pseudo-header (RFC 9293 3.1, MUST-2), or leaves it zero for checksum offload.
///
/// `payload_sum` is the partial sum of `seg[header_len..]`, already taken while the payload was
/// copied in (see `Header::payload_sum`), so only the header and the pseudo-header are read
/// here. The payload starts at a multiple of four, so the partial sums simply add.
//= rfc9293#3.1
// The checksum covers the pseudo-header, the TCP header and the payload.
#[inline]
pub(crate) fn fill_checksum(
    seg: &mut [u8],
    header_len: usize,
    payload_sum: u64,
    src: IpAddr,
    dst: IpAddr,
    mode: ChecksumMode,
) {
    if mode == ChecksumMode::Skip {
        return;
    }
    // Only fails on mixed address families, which a connection never has.
    let Ok(ph) = checksum::pseudo_header(src, dst, IpProtocol::TCP, seg.len() as u32) else {
        return;
    };
    let header_len = header_len.min(seg.len());
    TcpPacket::new_unchecked(&mut *seg).set_checksum(0);
    let s = ph + checksum::sum(&seg[..header_len]) + payload_sum;
    TcpPacket::new_unchecked(seg).set_checksum(checksum::finish(s));
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;
    use synack_wire::SeqNum;
    use synack_wire::tcp::{SackBlock, SackBlocks, TcpRepr, Timestamps};

    #[test]
    fn header_round_trips_through_the_wire_parser() {
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
            layout: OptionLayout::Linux,
            payload_sum: 0,
        };
        let mut buf = [0u8; 64];
        let n = write_header(&mut buf, &h).unwrap();
        assert_eq!(n, 40);
        assert_eq!(&buf[20..24], &[2, 4, 0x05, 0xb4]);
        let a = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let b = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
        buf[40] = 0xAB; // odd payload length
        let psum = synack_wire::checksum::sum(&buf[40..41]);
        fill_checksum(&mut buf[..41], n, psum, a, b, ChecksumMode::Verify);
        let repr = TcpRepr::parse_bytes(&buf[..41], a, b, ChecksumMode::Verify).unwrap();
        assert_eq!(repr.options.mss, Some(1460));
        assert_eq!(repr.options.window_scale, Some(7));
        assert_eq!(repr.payload, &[0xAB]);
    }

    /// Every field lands where the wire parser reads it, on the timestamps-only path and
    /// the general one, and a stale checksum field is cleared.
    #[test]
    fn data_header_fields_round_trip() {
        let ts = TcpOptions {
            timestamps: Some(Timestamps { tsval: 0xdead_beef, tsecr: 0x0102_0304 }),
            ..Default::default()
        };
        let mut blocks = SackBlocks::new();
        blocks.push(SackBlock { left: SeqNum(5), right: SeqNum(9) });
        let sack = TcpOptions { sack: blocks, ..ts };
        for (options, hlen) in [(ts, 32), (sack, 44), (TcpOptions::default(), 20)] {
            let h = Header {
                src_port: 0xabcd,
                dst_port: 80,
                seq: 0x8000_0001,
                ack: 0xffff_fffe,
                flags: TcpFlags::ACK | TcpFlags::PSH | TcpFlags::FIN,
                window: 0x1234,
                urgent: 0x5678,
                options,
                layout: OptionLayout::Linux,
                payload_sum: 0,
            };
            let mut buf = [0xffu8; 64];
            assert_eq!(write_header(&mut buf, &h), Some(hlen));
            let pkt = TcpPacket::new_checked(&buf[..hlen]).unwrap();
            assert_eq!(pkt.src_port(), 0xabcd);
            assert_eq!(pkt.dst_port(), 80);
            assert_eq!(pkt.seq_number().0, 0x8000_0001);
            assert_eq!(pkt.ack_number().0, 0xffff_fffe);
            assert_eq!(pkt.flags(), h.flags);
            assert_eq!(pkt.header_len(), hlen);
            assert_eq!(pkt.window_len(), 0x1234);
            assert_eq!(pkt.urgent_pointer(), 0x5678);
            assert_eq!(pkt.checksum(), 0);
            let a = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
            let repr = TcpRepr::parse_bytes(&buf[..hlen], a, a, ChecksumMode::Skip).unwrap();
            assert_eq!(repr.options, options);
        }
        // Too short for the header and its options: nothing is claimed written.
        let h = Header {
            src_port: 1,
            dst_port: 2,
            seq: 0,
            ack: 0,
            flags: TcpFlags::ACK,
            window: 0,
            urgent: 0,
            options: ts,
            layout: OptionLayout::Linux,
            payload_sum: 0,
        };
        assert_eq!(write_header(&mut [0u8; 31], &h), None);
    }
}
