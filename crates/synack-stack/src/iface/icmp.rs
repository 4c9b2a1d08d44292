//! ICMP: echo replies, and errors about our TCP segments routed to the engine.
//!
//! The interface extracts the connection (addresses and ports) and the quoted sequence number
//! from the error and classifies it; the engine checks the sequence number against its send
//! window (RFC 5927 section 4.1) and decides what to do (abort a connection attempt on a hard
//! error, report soft ones, lower the MSS on "packet too big").

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use synack_tcp::time::Instant;
use synack_wire::icmpv4::{self, Icmpv4Packet, Icmpv4Repr};
use synack_wire::icmpv6::{self, Icmpv6Packet, Icmpv6Repr};
use synack_wire::quoted::QuotedPacket;
use synack_wire::{ChecksumMode, IpProtocol, Ipv4Repr, Ipv6Repr};

use super::counters::DropReason;
use super::tcp_layer::{IcmpError, IcmpErrorKind, SegmentMeta, TcpLayer};
use super::{Dest, Interface, wire_reason};

//= rfc1191#5
// A router that does not know RFC 1191 reports "fragmentation needed" with a zero MTU; the
// host then has to guess. We take 576, the size every IPv4 host must accept.
const V4_FALLBACK_MTU: u32 = 576;
/// The smallest IPv4 MTU (RFC 791: every module must forward 68-byte datagrams).
const V4_MIN_MTU: u32 = 68;
//= rfc8201#4
// An IPv6 node must not lower its path MTU estimate below the IPv6 minimum link MTU, 1280.
const V6_MIN_MTU: u32 = 1280;

/// Destination-unreachable codes that are hard errors for IPv4.
fn v4_unreach_is_hard(code: u8) -> bool {
    //= rfc1122#4.2.3.9
    // Protocol unreachable and port unreachable are hard errors; network and host unreachable,
    // source route failed and the rest are soft.
    code == icmpv4::unreach::PROTOCOL || code == icmpv4::unreach::PORT
}

/// Destination-unreachable codes that are hard errors for IPv6: port unreachable, the
/// counterpart of IPv4's hard codes (IPv6 has no protocol-unreachable code in type 1).
fn v6_unreach_is_hard(code: u8) -> bool {
    code == icmpv6::unreach::PORT
}

impl Interface {
    pub(super) fn icmpv4<T: TcpLayer + ?Sized>(
        &mut self,
        now: Instant,
        meta: &SegmentMeta,
        dest: Dest,
        payload: &[u8],
        tcp: &mut T,
    ) {
        let parsed = Icmpv4Packet::new_checked(payload)
            .and_then(|pkt| Icmpv4Repr::parse(&pkt, ChecksumMode::Verify));
        let msg = match parsed {
            Ok(m) => m,
            Err(e) => return self.counters.drop(icmp_reason(wire_reason(e))),
        };
        let kind = match msg {
            Icmpv4Repr::EchoRequest { ident, seq_no, data } => {
                if !self.answers_echo(dest) {
                    return;
                }
                let (IpAddr::V4(src), IpAddr::V4(dst)) = (meta.dst, meta.src) else { return };
                let reply = Icmpv4Repr::EchoReply { ident, seq_no, data };
                let frame = self.icmpv4_frame(src, dst, &reply);
                return self.send_echo_reply(frame);
            }
            Icmpv4Repr::DstUnreachable { code, next_hop_mtu, .. } => {
                if code == icmpv4::unreach::FRAG_NEEDED {
                    let mtu = u32::from(next_hop_mtu);
                    let mtu = if mtu < V4_MIN_MTU { V4_FALLBACK_MTU } else { mtu };
                    IcmpErrorKind::PacketTooBig { mtu }
                } else {
                    IcmpErrorKind::Unreachable { code, hard: v4_unreach_is_hard(code) }
                }
            }
            Icmpv4Repr::TimeExceeded { .. } => IcmpErrorKind::TimeExceeded,
            Icmpv4Repr::ParamProblem { .. } => IcmpErrorKind::ParameterProblem,
            Icmpv4Repr::SourceQuench { .. } => IcmpErrorKind::SourceQuench,
            _ => return self.counters.drop(DropReason::IcmpIgnored),
        };
        self.icmp_error(now, meta.src, dest, kind, msg.quoted(), tcp);
    }

    pub(super) fn icmpv6<T: TcpLayer + ?Sized>(
        &mut self,
        now: Instant,
        meta: &SegmentMeta,
        dest: Dest,
        payload: &[u8],
        tcp: &mut T,
    ) {
        let (IpAddr::V6(src), IpAddr::V6(dst)) = (meta.src, meta.dst) else { return };
        //= rfc4443#2.3
        // The ICMPv6 checksum covers a pseudo-header; a message that fails it is discarded.
        let parsed = Icmpv6Packet::new_checked(payload)
            .and_then(|pkt| Icmpv6Repr::parse(&pkt, src, dst, ChecksumMode::Verify));
        let msg = match parsed {
            Ok(m) => m,
            Err(e) => return self.counters.drop(icmp_reason(wire_reason(e))),
        };
        let kind = match msg {
            Icmpv6Repr::EchoRequest { ident, seq_no, data } => {
                if !self.answers_echo(dest) {
                    return;
                }
                //= rfc4443#4.2
                // The echo reply carries the request's identifier, sequence number and data.
                let reply = Icmpv6Repr::EchoReply { ident, seq_no, data };
                let frame = self.icmpv6_frame(dst, src, &reply);
                return self.send_echo_reply(frame);
            }
            Icmpv6Repr::DstUnreachable { code, .. } => {
                IcmpErrorKind::Unreachable { code, hard: v6_unreach_is_hard(code) }
            }
            Icmpv6Repr::PacketTooBig { mtu, .. } => {
                IcmpErrorKind::PacketTooBig { mtu: mtu.max(V6_MIN_MTU) }
            }
            Icmpv6Repr::TimeExceeded { .. } => IcmpErrorKind::TimeExceeded,
            Icmpv6Repr::ParamProblem { .. } => IcmpErrorKind::ParameterProblem,
            _ => return self.counters.drop(DropReason::IcmpIgnored),
        };
        self.icmp_error(now, meta.src, dest, kind, msg.quoted(), tcp);
    }

    /// Whether an echo request sent to `dest` is answered (counted as dropped when not).
    fn answers_echo(&mut self, dest: Dest) -> bool {
        //= rfc1122#3.2.2.6
        // An echo request to a broadcast or multicast address may be silently dropped.
        let answer = dest == Dest::Local && self.cfg.answer_echo;
        if !answer {
            self.counters.drop(DropReason::EchoToNonUnicast);
        }
        answer
    }

    /// An IPv4 datagram from `src` to `dst` carrying `msg`, or `None` when it cannot be
    /// written.
    pub(super) fn icmpv4_frame(
        &mut self,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        msg: &Icmpv4Repr<'_>,
    ) -> Option<Vec<u8>> {
        let ip = Ipv4Repr {
            src_addr: src,
            dst_addr: dst,
            protocol: IpProtocol::ICMP,
            payload_len: msg.buffer_len(),
            ttl: self.cfg.ttl,
            tos: 0,
            ident: self.next_ident,
            dont_frag: false,
            more_frags: false,
            frag_offset: 0,
        };
        self.next_ident = self.next_ident.wrapping_add(1);
        let mut frame = vec![0u8; ip.buffer_len()];
        let built = ip.emit(&mut frame, ChecksumMode::Verify).is_ok()
            && msg.emit(&mut frame[ip.header_len()..], ChecksumMode::Verify).is_ok();
        built.then_some(frame)
    }

    /// An IPv6 packet from `src` to `dst` carrying `msg`, or `None` when it cannot be written.
    pub(super) fn icmpv6_frame(
        &self,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        msg: &Icmpv6Repr<'_>,
    ) -> Option<Vec<u8>> {
        let ip = Ipv6Repr {
            src_addr: src,
            dst_addr: dst,
            next_header: IpProtocol::ICMPV6,
            payload_len: msg.buffer_len(),
            hop_limit: self.cfg.hop_limit,
            traffic_class: 0,
            flow_label: 0,
        };
        let mut frame = vec![0u8; ip.buffer_len()];
        let built = ip.emit(&mut frame).is_ok()
            && msg.emit(&mut frame[ip.header_len()..], src, dst, ChecksumMode::Verify).is_ok();
        built.then_some(frame)
    }

    /// Queues an echo reply (either version); one that could not be written is counted as
    /// dropped.
    fn send_echo_reply(&mut self, frame: Option<Vec<u8>>) {
        let Some(frame) = frame else {
            return self.counters.drop(DropReason::EgressTooBig);
        };
        self.counters.echo_replies += 1;
        self.queue_reply(frame)
    }

    /// Delivers an ICMP error (either version) sent to `dest` about the quoted packet to the
    /// engine, when it is about a TCP segment of ours.
    fn icmp_error<T: TcpLayer + ?Sized>(
        &mut self,
        now: Instant,
        reporter: IpAddr,
        dest: Dest,
        kind: IcmpErrorKind,
        quoted: Option<Result<QuotedPacket<'_>, synack_wire::Error>>,
        tcp: &mut T,
    ) {
        //= rfc1122#3.2.2
        // ICMP error messages are not answered with other errors, and errors about
        // broadcast datagrams do not exist: an error sent to a group address is bogus.
        if dest != Dest::Local {
            return self.counters.drop(DropReason::IcmpBadQuote);
        }
        let Some(Ok(q)) = quoted else {
            return self.counters.drop(DropReason::IcmpBadQuote);
        };
        //= rfc5927#4.1
        // The quoted packet must be a TCP segment of ours: our address as its source, and
        // enough of the TCP header quoted to name the connection and its sequence number.
        let ours = self.cfg.transparent || self.is_local(q.src);
        if q.protocol == IpProtocol::UDP
            && ours
            && let Some((sport, dport)) = q.ports()
        {
            let port = matches!(
                kind,
                IcmpErrorKind::Unreachable { code, .. }
                    if code == if q.src.is_ipv4() { icmpv4::unreach::PORT } else { icmpv6::unreach::PORT }
            );
            if matches!(kind, IcmpErrorKind::Unreachable { .. }) {
                let local = SocketAddr::new(q.src, sport);
                return self.udp_icmp_error(local, SocketAddr::new(q.dst, dport), port);
            }
            return self.counters.drop(DropReason::IcmpIgnored);
        }
        let (Some((sport, dport)), Some(seq)) = (q.ports(), q.tcp_seq()) else {
            return self.counters.drop(DropReason::IcmpBadQuote);
        };
        if q.protocol != IpProtocol::TCP || !ours {
            return self.counters.drop(DropReason::IcmpBadQuote);
        }
        let err = IcmpError {
            kind,
            reporter,
            local: SocketAddr::new(q.src, sport),
            remote: SocketAddr::new(q.dst, dport),
            seq,
        };
        self.counters.icmp_errors_delivered += 1;
        tcp.on_icmp_error(now, &err);
    }
}

/// Parse errors inside an ICMP message count as ICMP drops.
fn icmp_reason(r: DropReason) -> DropReason {
    match r {
        DropReason::IcmpBadChecksum => r,
        _ => DropReason::IcmpTruncated,
    }
}
