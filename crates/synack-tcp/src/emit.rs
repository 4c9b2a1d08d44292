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
pub(crate) fn write_header(buf: &mut [u8], h: &Header) -> Option<usize> {
    let olen = options_len(&h.options, h.layout);
    let hlen = 20 + olen;
    if buf.len() < hlen || hlen > 60 {
        return None;
    }
    options::write_layout(&h.options, h.layout, &mut buf[20..hlen]).ok()?;
    let mut pkt = TcpPacket::new_unchecked(&mut buf[..hlen]);
    pkt.set_src_port(h.src_port);
    pkt.set_dst_port(h.dst_port);
    pkt.set_seq_number(synack_wire::SeqNum(h.seq));
    pkt.set_ack_number(synack_wire::SeqNum(h.ack));
    pkt.set_offset_and_flags((hlen / 4) as u8, h.flags);
    pkt.set_window_len(h.window);
    pkt.set_urgent_pointer(h.urgent);
    pkt.set_checksum(0);
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
    use synack_wire::tcp::{TcpRepr, Timestamps};

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
}
