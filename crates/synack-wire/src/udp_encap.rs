//! TCP over UDP: a whole TCP segment (header, options, payload) as the data of a UDP datagram,
//! the encapsulation FreeBSD's `net.inet.tcp.udp_tunneling_port` uses (in the manner of RFC
//! 6951's UDP encapsulation of SCTP), so a connection can cross middleboxes that pass only UDP.
//!
//! Checksum rules: the sender leaves the TCP checksum field zero and covers the whole datagram
//! with the UDP checksum (pseudo-header with protocol UDP); `decapsulate` verifies that checksum.
//! A datagram without a UDP checksum (zero, allowed over IPv4 only) is accepted only when its
//! TCP checksum verifies as for a plain segment, so a segment is never taken unchecked. The
//! segment [`decapsulate`] returns has been checked: parse it with
//! [`ChecksumMode::Skip`](crate::ChecksumMode::Skip).
//!
//! ```text
//!  | IP (protocol UDP) | UDP: local tunnel port > remote port | TCP header, checksum 0 | data |
//! ```

use crate::checksum;
use crate::error::{Error, Layer, Result};
use crate::field::put16;
use crate::ip::IpProtocol;
use crate::tcp::TcpPacket;
use crate::udp::{HEADER_LEN, UdpPacket};
use core::net::IpAddr;

/// Offset of the checksum field in the TCP header.
const TCP_CHECKSUM_AT: usize = 16;

/// Writes `segment` (a TCP segment as emitted, checksum field ignored) into `out` as a UDP
/// datagram from `src_port` to `dst_port`; returns the datagram's length. The TCP checksum field
/// is sent as zero, the UDP checksum covers everything.
pub fn encapsulate(
    segment: &[u8],
    src: IpAddr,
    dst: IpAddr,
    src_port: u16,
    dst_port: u16,
    out: &mut [u8],
) -> Result<usize> {
    TcpPacket::new_checked(segment)?;
    let len = HEADER_LEN + segment.len();
    if out.len() < len {
        return Err(Error::BufferTooSmall { layer: Layer::Udp, needed: len });
    }
    let b = &mut out[..len];
    b[HEADER_LEN..].copy_from_slice(segment);
    b[HEADER_LEN + TCP_CHECKSUM_AT..HEADER_LEN + TCP_CHECKSUM_AT + 2].fill(0);
    put16(b, 0, src_port);
    put16(b, 2, dst_port);
    put16(
        b,
        4,
        u16::try_from(len)
            .map_err(|_| Error::FieldOutOfRange { layer: Layer::Udp, field: "payload" })?,
    );
    put16(b, 6, 0);
    let ph = checksum::pseudo_header(src, dst, IpProtocol::UDP, len as u32)?;
    let c = checksum::finish(ph + checksum::sum(b));
    //= rfc768#fields
    // A computed checksum of zero is sent as all ones (zero means "none").
    put16(b, 6, if c == 0 { 0xffff } else { c });
    Ok(len)
}

/// A TCP segment taken out of its UDP datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decapsulated<'a> {
    /// The datagram's source port: the remote end's encapsulation port.
    pub src_port: u16,
    /// The datagram's destination port: the local tunnel port.
    pub dst_port: u16,
    /// The TCP segment, checked (see the module docs).
    pub segment: &'a [u8],
}

/// Takes the TCP segment out of a UDP datagram from `src` to `dst`, checking it as the module
/// docs say.
pub fn decapsulate(datagram: &[u8], src: IpAddr, dst: IpAddr) -> Result<Decapsulated<'_>> {
    let udp = UdpPacket::new_checked(datagram)?;
    let segment = &datagram[HEADER_LEN..udp.len() as usize];
    let tcp = TcpPacket::new_checked(segment)?;
    if udp.checksum() != 0 {
        if !udp.verify_checksum(src, dst)? {
            return Err(Error::BadChecksum { layer: Layer::Udp });
        }
    } else if !(udp.verify_checksum(src, dst)? && tcp.verify_checksum(src, dst)?) {
        // No UDP checksum: only over IPv4, and only with a valid TCP checksum.
        return Err(Error::BadChecksum { layer: Layer::Tcp });
    }
    Ok(Decapsulated { src_port: udp.src_port(), dst_port: udp.dst_port(), segment })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeqNum;
    use crate::checksum::ChecksumMode;
    use crate::tcp::{TcpFlags, TcpOptions, TcpRepr};
    use crate::udp::UdpRepr;
    use core::net::{Ipv4Addr, Ipv6Addr};

    fn segment(src: IpAddr, dst: IpAddr) -> std::vec::Vec<u8> {
        let repr = TcpRepr {
            src_port: 8080,
            dst_port: 40000,
            seq: SeqNum(7),
            ack: SeqNum(9),
            flags: TcpFlags::ACK | TcpFlags::PSH,
            window: 1000,
            urgent: 0,
            options: TcpOptions::default(),
            raw_options: None,
            payload: b"hello",
        };
        let mut b = std::vec![0u8; repr.buffer_len()];
        let n = repr.emit(&mut b, src, dst, ChecksumMode::Verify).unwrap();
        b.truncate(n);
        b
    }

    fn addrs(v6: bool) -> (IpAddr, IpAddr) {
        if v6 {
            (Ipv6Addr::LOCALHOST.into(), Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2).into())
        } else {
            (Ipv4Addr::new(10, 0, 0, 1).into(), Ipv4Addr::new(10, 0, 0, 2).into())
        }
    }

    #[test]
    fn round_trip_zeroes_the_tcp_checksum_and_checks_the_udp_one() {
        for v6 in [false, true] {
            let (src, dst) = addrs(v6);
            let seg = segment(src, dst);
            let mut out = [0u8; 128];
            let n = encapsulate(&seg, src, dst, 9811, 1, &mut out).unwrap();
            assert_eq!(n, seg.len() + 8);
            let d = decapsulate(&out[..n], src, dst).unwrap();
            assert_eq!((d.src_port, d.dst_port), (9811, 1));
            assert_eq!(&d.segment[..16], &seg[..16]);
            assert_eq!(&d.segment[16..18], &[0, 0]);
            assert_eq!(&d.segment[18..], &seg[18..]);
            let parsed = TcpRepr::parse_bytes(d.segment, src, dst, ChecksumMode::Skip).unwrap();
            assert_eq!(parsed.payload, b"hello");
            // One flipped payload bit fails the UDP checksum.
            let mut bad = out;
            bad[n - 1] ^= 1;
            assert_eq!(
                decapsulate(&bad[..n], src, dst),
                Err(Error::BadChecksum { layer: Layer::Udp })
            );
        }
    }

    #[test]
    fn without_udp_checksum_the_tcp_checksum_must_hold() {
        let (src, dst) = addrs(false);
        let seg = segment(src, dst);
        // A datagram with checksum 0 around a segment whose own checksum is intact.
        let mut out = [0u8; 128];
        let n = UdpRepr { src_port: 1, dst_port: 9811, payload: &seg }
            .emit(&mut out, src, dst, ChecksumMode::Skip)
            .unwrap();
        assert_eq!(decapsulate(&out[..n], src, dst).unwrap().segment, &seg[..]);
        // The same with the TCP checksum zeroed has no check left: refused.
        let mut zeroed = out;
        zeroed[8 + 16..8 + 18].fill(0);
        assert!(decapsulate(&zeroed[..n], src, dst).is_err());
        // Over IPv6 a zero UDP checksum is never accepted.
        let (s6, d6) = addrs(true);
        let seg6 = segment(s6, d6);
        let n6 = UdpRepr { src_port: 1, dst_port: 9811, payload: &seg6 }
            .emit(&mut out, s6, d6, ChecksumMode::Skip)
            .unwrap();
        assert!(decapsulate(&out[..n6], s6, d6).is_err());
    }

    #[test]
    fn short_or_lying_datagrams_are_errors() {
        let (src, dst) = addrs(false);
        assert!(decapsulate(&[0u8; 4], src, dst).is_err());
        // A UDP header around fewer than 20 TCP bytes.
        let mut out = [0u8; 40];
        let n = UdpRepr { src_port: 1, dst_port: 9811, payload: &[0u8; 10] }
            .emit(&mut out, src, dst, ChecksumMode::Verify)
            .unwrap();
        assert!(decapsulate(&out[..n], src, dst).is_err());
        let seg = segment(src, dst);
        assert!(encapsulate(&seg, src, dst, 1, 2, &mut [0u8; 20]).is_err());
        assert!(encapsulate(&seg[..10], src, dst, 1, 2, &mut [0u8; 64]).is_err());
    }
}
