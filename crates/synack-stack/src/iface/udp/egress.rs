//! UDP egress: queued datagrams written into the device's buffers (fragmented when larger
//! than the MTU: IPv4 fragments, or an IPv6 fragment header), and ICMP port unreachable
//! built for datagrams nobody takes.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use synack_tcp::time::Instant;
use synack_wire::icmpv4::{self, Icmpv4Repr};
use synack_wire::icmpv6::{self, Icmpv6Repr};
use synack_wire::{ChecksumMode, IpProtocol, Ipv4Repr, Ipv6Repr, UdpRepr};

use super::{V4_HEADER, V4_ICMP_MAX, V6_HEADER, V6_ICMP_MAX};
use crate::device::{Device, DeviceCaps, TxToken};
use crate::iface::Interface;
use crate::iface::counters::DropReason;

impl Interface {
    /// Queues an ICMP port unreachable to `client` about its datagram to `orig_dst`.
    pub(super) fn port_unreachable(
        &mut self,
        client: SocketAddr,
        orig_dst: SocketAddr,
        payload: &[u8],
    ) {
        let udp = UdpRepr { src_port: client.port(), dst_port: orig_dst.port(), payload };
        let frame = match (orig_dst.ip(), client.ip()) {
            (IpAddr::V4(me), IpAddr::V4(them)) => {
                // The quote: the client's IP header and as much of the datagram as fits.
                let quoted_ip = Ipv4Repr {
                    src_addr: them,
                    dst_addr: me,
                    protocol: IpProtocol::UDP,
                    payload_len: udp.buffer_len(),
                    ttl: 64,
                    tos: 0,
                    ident: 0,
                    dont_frag: false,
                    more_frags: false,
                    frag_offset: 0,
                };
                let mut quote = vec![0u8; V4_HEADER + udp.buffer_len()];
                if quoted_ip.emit(&mut quote, ChecksumMode::Verify).is_err()
                    || udp
                        .emit(
                            &mut quote[V4_HEADER..],
                            client.ip(),
                            orig_dst.ip(),
                            ChecksumMode::Verify,
                        )
                        .is_err()
                {
                    return self.counters.drop(DropReason::EgressTooBig);
                }
                quote.truncate(V4_ICMP_MAX - V4_HEADER - 8);
                let msg = Icmpv4Repr::DstUnreachable {
                    code: icmpv4::unreach::PORT,
                    next_hop_mtu: 0,
                    quoted: &quote,
                };
                match self.icmpv4_frame(me, them, &msg) {
                    Some(frame) => frame,
                    None => return self.counters.drop(DropReason::EgressTooBig),
                }
            }
            (IpAddr::V6(me), IpAddr::V6(them)) => {
                let quoted_ip = Ipv6Repr {
                    src_addr: them,
                    dst_addr: me,
                    next_header: IpProtocol::UDP,
                    payload_len: udp.buffer_len(),
                    hop_limit: 64,
                    traffic_class: 0,
                    flow_label: 0,
                };
                let mut quote = vec![0u8; V6_HEADER + udp.buffer_len()];
                if quoted_ip.emit(&mut quote).is_err()
                    || udp
                        .emit(
                            &mut quote[V6_HEADER..],
                            client.ip(),
                            orig_dst.ip(),
                            ChecksumMode::Verify,
                        )
                        .is_err()
                {
                    return self.counters.drop(DropReason::EgressTooBig);
                }
                quote.truncate(V6_ICMP_MAX - V6_HEADER - 8);
                let msg =
                    Icmpv6Repr::DstUnreachable { code: icmpv6::unreach::PORT, quoted: &quote };
                match self.icmpv6_frame(me, them, &msg) {
                    Some(frame) => frame,
                    None => return self.counters.drop(DropReason::EgressTooBig),
                }
            }
            _ => return,
        };
        self.counters.udp_unreachable_sent += 1;
        self.queue_reply(frame);
    }

    /// Hands queued datagrams to the device; true when some are left (device full).
    pub(in crate::iface) fn flush_udp<D: Device + ?Sized>(
        &mut self,
        now: Instant,
        dev: &mut D,
        caps: &DeviceCaps,
        sent: &mut usize,
    ) -> bool {
        // Always filled: device offload covers TCP only, and a zero UDP checksum is invalid
        // over IPv6.
        let mode = ChecksumMode::Verify;
        while let Some(d) = self.udp.tx.front() {
            let (src, dst) = (d.src, d.dst);
            let udp = UdpRepr { src_port: src.port(), dst_port: dst.port(), payload: &d.data };
            let total = udp.buffer_len();
            let v4 = src.is_ipv4();
            let header = if v4 { V4_HEADER } else { V6_HEADER };
            if header + total <= caps.mtu {
                let Some(tok) = dev.transmit(now) else { return true };
                let mut ident = self.next_ident;
                let (ttl, hop) = (self.cfg.ttl, self.cfg.hop_limit);
                let n = tok.consume(header + total, |buf| {
                    let ok = match (src.ip(), dst.ip()) {
                        (IpAddr::V4(s), IpAddr::V4(d)) => {
                            let ip = v4_header(s, d, total, ttl, ident, 0, false);
                            ident = ident.wrapping_add(1);
                            ip.emit(buf, ChecksumMode::Verify).is_ok()
                        }
                        (IpAddr::V6(s), IpAddr::V6(d)) => {
                            let ip = Ipv6Repr {
                                src_addr: s,
                                dst_addr: d,
                                next_header: IpProtocol::UDP,
                                payload_len: total,
                                hop_limit: hop,
                                traffic_class: 0,
                                flow_label: 0,
                            };
                            ip.emit(buf).is_ok()
                        }
                        _ => false,
                    };
                    if ok && udp.emit(&mut buf[header..], src.ip(), dst.ip(), mode).is_ok() {
                        0..header + total
                    } else {
                        0..0
                    }
                });
                self.next_ident = ident;
                self.udp.tx.pop_front();
                if n > 0 {
                    *sent += 1;
                    self.counters.tx_frames += 1;
                    self.counters.udp_sent += 1;
                } else {
                    self.counters.drop(DropReason::EgressTooBig);
                }
                continue;
            }
            // Larger than the MTU: the UDP datagram is built whole, then cut into fragments of
            // a multiple of 8 bytes each.
            let mut whole = vec![0u8; total];
            let header = if v4 { V4_HEADER } else { V6_HEADER + FRAG_HEADER };
            let step = (caps.mtu.saturating_sub(header) / 8) * 8;
            if step == 0 || udp.emit(&mut whole, src.ip(), dst.ip(), mode).is_err() {
                self.udp.tx.pop_front();
                self.counters.drop(DropReason::EgressTooBig);
                continue;
            }
            let (ttl, hop) = (self.cfg.ttl, self.cfg.hop_limit);
            let (ident4, ident6) = (self.next_ident, self.udp.next_ident_v6);
            while self.udp.tx_sent < total {
                let off = self.udp.tx_sent;
                let end = (off + step).min(total);
                let Some(tok) = dev.transmit(now) else { return true };
                let n = tok.consume(header + end - off, |buf| {
                    let ok = match (src.ip(), dst.ip()) {
                        (IpAddr::V4(s), IpAddr::V4(d)) => {
                            v4_header(s, d, end - off, ttl, ident4, off, end < total)
                                .emit(buf, ChecksumMode::Verify)
                                .is_ok()
                        }
                        (IpAddr::V6(s), IpAddr::V6(d)) => {
                            v6_fragment_header(buf, s, d, hop, ident6, off, end - off, end < total)
                        }
                        _ => false,
                    };
                    if !ok {
                        return 0..0;
                    }
                    buf[header..header + end - off].copy_from_slice(&whole[off..end]);
                    0..header + end - off
                });
                if n > 0 {
                    *sent += 1;
                    self.counters.tx_frames += 1;
                }
                self.udp.tx_sent = end;
            }
            if v4 {
                self.next_ident = ident4.wrapping_add(1);
            } else {
                self.udp.next_ident_v6 = ident6.wrapping_add(1);
            }
            self.udp.tx_sent = 0;
            self.udp.tx.pop_front();
            self.counters.udp_sent += 1;
        }
        false
    }
}

fn v4_header(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    payload_len: usize,
    ttl: u8,
    ident: u16,
    offset: usize,
    more: bool,
) -> Ipv4Repr {
    Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        protocol: IpProtocol::UDP,
        payload_len,
        ttl,
        tos: 0,
        ident,
        dont_frag: false,
        more_frags: more,
        frag_offset: (offset / 8) as u16,
    }
}

/// Length of the IPv6 fragment header.
const FRAG_HEADER: usize = 8;

/// Writes an IPv6 header and a fragment header for `len` bytes of a UDP datagram at `offset`
/// into `buf`; false when `buf` is too short.
#[allow(clippy::too_many_arguments)]
fn v6_fragment_header(
    buf: &mut [u8],
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    ident: u32,
    offset: usize,
    len: usize,
    more: bool,
) -> bool {
    let ip = Ipv6Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: IpProtocol::IPV6_FRAG,
        payload_len: FRAG_HEADER + len,
        hop_limit,
        traffic_class: 0,
        flow_label: 0,
    };
    if buf.len() < V6_HEADER + FRAG_HEADER || ip.emit(buf).is_err() {
        return false;
    }
    //= rfc8200#4.5
    // Next Header, Reserved, Fragment Offset (13 bits, 8-octet units), Res (2 bits), M flag,
    // Identification (32 bits).
    let frag = &mut buf[V6_HEADER..V6_HEADER + FRAG_HEADER];
    frag[0] = IpProtocol::UDP.0;
    frag[1] = 0;
    let field = ((offset / 8) as u16) << 3 | u16::from(more);
    frag[2..4].copy_from_slice(&field.to_be_bytes());
    frag[4..8].copy_from_slice(&ident.to_be_bytes());
    true
}
