//! The interface: IP in and out between a [`Device`] and the TCP engine.
//!
//! ```text
//!  ingress: frame ─▶ version ─▶ IPv4/IPv6 view + checks ─▶ destination ours? ─▶ fragments ─▶
//!           TCP: parse + checksum ─▶ TcpLayer::on_segment
//!           ICMP: echo request ─▶ reply queue;  errors ─▶ quoted TCP ─▶ TcpLayer::on_icmp_error
//!  egress:  TcpLayer::poll_transmit writes the segment in the device buffer after 40 bytes of
//!           headroom ─▶ the IP header goes just in front of it ─▶ device sends the range
//! ```
//!
//! Every packet dropped is counted under one [`DropReason`]. The interface never allocates per
//! TCP segment; it allocates for fragments being reassembled (bounded) and for queued ICMP
//! replies (bounded).

pub mod addr;
pub mod counters;
mod endpoint;
mod icmp;
pub mod reasm;
pub mod reasm6;
pub mod tcp_layer;
pub mod udp;

use alloc::collections::VecDeque;
use core::net::IpAddr;
use core::ops::Range;

use synack_tcp::time::Instant;
use synack_wire::{
    ChecksumMode, Error as WireError, IpProtocol, Ipv4Packet, Ipv4Repr, Ipv6Packet, Ipv6Repr,
    Layer, TcpRepr,
};

use crate::device::{Device, DeviceCaps, RxToken, TxToken};
pub use addr::{IpCidr, Route, Routes};
pub use counters::{Counters, DropReason};
pub use endpoint::engine_icmp;
pub use reasm::{FragKey, ReassemblyConfig};
use reasm::{Reassembled, Reassembler};
use reasm6::FragKey6;
pub use tcp_layer::{IcmpError, IcmpErrorKind, SegmentMeta, SegmentOut, TcpLayer};
use udp::Udp;
pub use udp::{UdpConfig, UdpError, UdpHandle, UdpRecv, UdpUsage};

/// Settings of an [`Interface`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterfaceConfig {
    /// TTL of IPv4 packets we send.
    pub ttl: u8,
    /// Hop limit of IPv6 packets we send.
    pub hop_limit: u8,
    /// Accept TCP for any destination address (and send from any source): the transparent
    /// proxy mode of tun2socks-style programs. The engine and application decide per SYN.
    pub transparent: bool,
    /// Answer ICMP echo requests.
    pub answer_echo: bool,
    /// Set the IPv4 don't-fragment bit on TCP (path MTU discovery, RFC 1191).
    pub dont_fragment: bool,
    /// Fragment reassembly limits, of IPv4's and of IPv6's reassembler each.
    pub reassembly: ReassemblyConfig,
    /// ICMP replies queued at most while the device is full.
    pub max_pending_replies: usize,
    /// UDP queue and flow limits.
    pub udp: UdpConfig,
}

impl Default for InterfaceConfig {
    fn default() -> Self {
        InterfaceConfig {
            ttl: 64,
            hop_limit: 64,
            transparent: false,
            answer_echo: true,
            dont_fragment: true,
            reassembly: ReassemblyConfig::default(),
            max_pending_replies: 64,
            udp: UdpConfig::default(),
        }
    }
}

/// What one [`Interface::poll`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PollResult {
    /// Frames taken from the device.
    pub received: usize,
    /// Frames given to the device.
    pub sent: usize,
    /// True when the poll stopped at the batch limit with frames still waiting on either side:
    /// call again before sleeping.
    pub more: bool,
}

/// Room kept in front of a TCP segment in the transmit buffer: the larger IP header.
const HEADROOM: usize = 40;

/// IPv4 and IPv6 in and out; see the module docs.
#[derive(Debug)]
pub struct Interface {
    cfg: InterfaceConfig,
    addrs: Vec<IpCidr>,
    routes: Routes,
    reasm: Reassembler,
    reasm6: Reassembler<FragKey6>,
    counters: Counters,
    replies: VecDeque<Vec<u8>>,
    next_ident: u16,
    udp: Udp,
    /// The time of the last poll, for UDP sends between polls.
    udp_now: Instant,
    /// The device MTU at the last poll, for UDP sends between polls.
    udp_mtu: usize,
}

impl Interface {
    /// An interface with no addresses.
    pub fn new(cfg: InterfaceConfig) -> Self {
        Interface {
            cfg,
            addrs: Vec::new(),
            routes: Routes::new(),
            reasm: Reassembler::new(cfg.reassembly),
            reasm6: Reassembler::new(cfg.reassembly),
            counters: Counters::default(),
            replies: VecDeque::new(),
            next_ident: 1,
            udp: Udp::new(cfg.udp),
            udp_now: Instant::ZERO,
            udp_mtu: 1500,
        }
    }

    /// The settings.
    pub fn config(&self) -> &InterfaceConfig {
        &self.cfg
    }

    /// Sets the TTL of IPv4 packets sent from now on.
    pub fn set_ttl(&mut self, ttl: u8) {
        self.cfg.ttl = ttl;
    }

    /// Sets the hop limit of IPv6 packets sent from now on.
    pub fn set_hop_limit(&mut self, hop_limit: u8) {
        self.cfg.hop_limit = hop_limit;
    }

    /// Turns transparent-proxy mode on or off (see [`InterfaceConfig::transparent`]).
    pub fn set_transparent(&mut self, on: bool) {
        self.cfg.transparent = on;
    }

    /// Adds an address and the connected route for its prefix.
    pub fn add_address(&mut self, cidr: IpCidr) {
        if !self.addrs.contains(&cidr) {
            self.addrs.push(cidr);
        }
        let net = IpCidr::new(cidr.addr(), cidr.prefix()).unwrap_or(cidr);
        self.routes.add(Route { dest: net, src: Some(cidr.addr()) });
    }

    /// Removes an address and its connected route; true when it was there.
    pub fn remove_address(&mut self, cidr: IpCidr) -> bool {
        let before = self.addrs.len();
        self.addrs.retain(|a| *a != cidr);
        self.routes.remove(cidr);
        before != self.addrs.len()
    }

    /// The interface's addresses.
    pub fn addresses(&self) -> &[IpCidr] {
        &self.addrs
    }

    /// The routing table.
    pub fn routes(&self) -> &Routes {
        &self.routes
    }

    /// The routing table, to add or remove routes.
    pub fn routes_mut(&mut self) -> &mut Routes {
        &mut self.routes
    }

    /// True when `ip` is one of our addresses.
    pub fn is_local(&self, ip: IpAddr) -> bool {
        self.addrs.iter().any(|a| a.addr() == ip)
    }

    /// The source address for packets to `dst`: the route's, else our first address of the
    /// family; `None` when there is no route.
    pub fn source_for(&self, dst: IpAddr) -> Option<IpAddr> {
        let route = self.routes.lookup(dst)?;
        route
            .src
            .or_else(|| self.addrs.iter().map(|a| a.addr()).find(|a| a.is_ipv4() == dst.is_ipv4()))
    }

    /// The largest TCP segment (header included) a packet to `dst` can carry on a device
    /// with this `mtu`: the MTU minus the IP header.
    pub fn max_segment(mtu: usize, dst: IpAddr) -> usize {
        mtu.saturating_sub(if dst.is_ipv4() { 20 } else { 40 })
    }

    /// What the interface has done and dropped.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// When the interface itself next needs a poll (a reassembly timeout), if ever.
    pub fn poll_at(&self) -> Option<Instant> {
        [self.reasm.poll_at(), self.reasm6.poll_at(), self.udp_poll_at()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Datagrams being reassembled, and the bytes they hold.
    pub fn reassembly_usage(&self) -> (usize, usize) {
        (self.reasm.pending() + self.reasm6.pending(), self.reasm.bytes() + self.reasm6.bytes())
    }

    /// One round of work: expire reassembly, run due engine timers, take up to one batch of
    /// frames from the device, send queued replies, then let the engine send up to one batch.
    /// ACK decisions therefore happen once per batch: the engine sees every segment of the
    /// batch before it is asked what to send.
    pub fn poll<D: Device + ?Sized, T: TcpLayer + ?Sized>(
        &mut self,
        now: Instant,
        dev: &mut D,
        tcp: &mut T,
    ) -> PollResult {
        let caps = dev.caps();
        let batch = caps.max_batch.max(1);
        let mut res = PollResult::default();

        let counters = &mut self.counters;
        self.reasm.expire(now, |why| counters.drop(why));
        self.reasm6.expire(now, |why| counters.drop(why));
        self.udp_poll(now, caps.mtu);
        if tcp.poll_timeout().is_some_and(|t| t <= now) {
            tcp.on_timeout(now);
        }

        while res.received < batch {
            let Some(tok) = dev.receive(now) else { break };
            tok.consume(|frame| self.ingress(now, frame, &caps, tcp));
            res.received += 1;
        }
        if res.received == batch {
            res.more = true;
        }

        res.sent += self.flush_replies(now, dev);
        if self.flush_udp(now, dev, &caps, &mut res.sent) {
            res.more = true;
        }

        // A device that segments takes TCP packets up to its limit; the engine keeps to the
        // segment size it was given (the runtime sets it from the same caps).
        let tso = caps.tso_max > caps.mtu;
        let max_len = caps.mtu.max(caps.tso_max) + HEADROOM - 20;
        // Segments the engine produced this poll, sent or dropped: both count toward the
        // batch, so an engine that keeps producing segments we drop cannot hold us here.
        let mut produced = 0;
        while produced < batch {
            let Some(tok) = dev.transmit(now) else {
                res.more = true;
                break;
            };
            let mut engine_had_one = false;
            let n = if tso {
                tok.consume_segmented(max_len, |buf| {
                    let mut cut = 0;
                    let r = self.egress_tcp(now, buf, &caps, tcp, &mut engine_had_one, &mut cut);
                    (r, cut)
                })
            } else {
                tok.consume(max_len, |buf| {
                    self.egress_tcp(now, buf, &caps, tcp, &mut engine_had_one, &mut 0)
                })
            };
            if !engine_had_one {
                break;
            }
            produced += 1;
            if n > 0 {
                res.sent += 1;
            } else if dev.take_tx_refused() {
                // The device's queue refused it: the engine must not count it as sent.
                tcp.transmit_failed(now);
            }
        }
        if produced >= batch {
            res.more = true;
        }
        res
    }

    /// Takes one frame as if the device had received it (for tools and tests that feed bytes
    /// without a device); replies wait for the next [`Interface::poll`].
    pub fn receive_frame<T: TcpLayer + ?Sized>(
        &mut self,
        now: Instant,
        frame: &[u8],
        caps: &DeviceCaps,
        tcp: &mut T,
    ) {
        self.ingress(now, frame, caps, tcp);
    }

    fn ingress<T: TcpLayer + ?Sized>(
        &mut self,
        now: Instant,
        frame: &[u8],
        caps: &DeviceCaps,
        tcp: &mut T,
    ) {
        self.counters.rx_frames += 1;
        let Some(&first) = frame.first() else {
            self.counters.drop(DropReason::Empty);
            return;
        };
        match first >> 4 {
            4 => self.ingress_v4(now, frame, caps, tcp),
            6 => self.ingress_v6(now, frame, caps, tcp),
            _ => self.counters.drop(DropReason::BadVersion),
        }
    }

    fn ingress_v4<T: TcpLayer + ?Sized>(
        &mut self,
        now: Instant,
        frame: &[u8],
        caps: &DeviceCaps,
        tcp: &mut T,
    ) {
        let pkt = match Ipv4Packet::new_checked(frame) {
            Ok(p) => p,
            Err(e) => return self.counters.drop(wire_reason(e)),
        };
        let mode = if caps.checksum.ipv4_rx { ChecksumMode::Skip } else { ChecksumMode::Verify };
        //= rfc1122#3.2.1.2
        // A datagram whose header checksum fails is silently discarded.
        let ip = match Ipv4Repr::parse(&pkt, mode) {
            Ok(r) => r,
            Err(e) => return self.counters.drop(wire_reason(e)),
        };
        let src = IpAddr::V4(ip.src_addr);
        let dst = IpAddr::V4(ip.dst_addr);
        //= rfc1122#3.2.1.3
        // A source address that is broadcast or multicast is discarded.
        if addr::is_never_unicast(src) || self.is_broadcast_v4(src) {
            return self.counters.drop(DropReason::MartianSource);
        }
        let dest = self.classify(dst);
        if dest == Dest::Foreign && !self.takes_foreign(ip.protocol) {
            return self.counters.drop(DropReason::NotOurAddress);
        }
        let meta = SegmentMeta {
            src,
            dst,
            hop_limit: ip.ttl,
            ecn: ip.tos & 0b11,
            local: dest == Dest::Local,
        };
        if ip.more_frags || ip.frag_offset != 0 {
            let key = FragKey {
                src: ip.src_addr,
                dst: ip.dst_addr,
                protocol: ip.protocol.0,
                ident: ip.ident,
            };
            let counters = &mut self.counters;
            let offset = u32::from(ip.frag_offset) * 8;
            match self
                .reasm
                .add(now, key, offset, ip.more_frags, pkt.payload(), |why| counters.drop(why))
            {
                Reassembled::Incomplete => {}
                Reassembled::Dropped(why) => self.counters.drop(why),
                Reassembled::Complete(_, data) => {
                    self.counters.reassembled += 1;
                    self.deliver(now, ip.protocol, &meta, dest, &data, caps, tcp);
                }
            }
            return;
        }
        self.deliver(now, ip.protocol, &meta, dest, pkt.payload(), caps, tcp);
    }

    fn ingress_v6<T: TcpLayer + ?Sized>(
        &mut self,
        now: Instant,
        frame: &[u8],
        caps: &DeviceCaps,
        tcp: &mut T,
    ) {
        let pkt = match Ipv6Packet::new_checked(frame) {
            Ok(p) => p,
            Err(e) => return self.counters.drop(wire_reason(e)),
        };
        let ip = match Ipv6Repr::parse(&pkt) {
            Ok(r) => r,
            Err(e) => return self.counters.drop(wire_reason(e)),
        };
        let src = IpAddr::V6(ip.src_addr);
        let dst = IpAddr::V6(ip.dst_addr);
        //= rfc4291#2.7
        // Multicast addresses must not be used as source addresses.
        if ip.src_addr.is_multicast() {
            return self.counters.drop(DropReason::MartianSource);
        }
        let dest = self.classify(dst);
        let meta = SegmentMeta {
            src,
            dst,
            hop_limit: ip.hop_limit,
            ecn: ip.traffic_class & 0b11,
            local: dest == Dest::Local,
        };
        let frag = match reasm6::find_fragment(ip.next_header, pkt.payload()) {
            Ok(f) => f,
            Err(why) => return self.counters.drop(why),
        };
        let Some(frag) = frag else {
            return self.upper_v6(now, ip.next_header, pkt.payload(), &meta, dest, caps, tcp);
        };
        if dest == Dest::Foreign
            && !self.takes_foreign(IpProtocol::TCP)
            && !self.takes_foreign(IpProtocol::UDP)
        {
            // Nothing here would take it once whole: not held for reassembly.
            return self.counters.drop(DropReason::NotOurAddress);
        }
        let data = pkt.payload().get(frag.data_at..).unwrap_or(&[]);
        if frag.offset == 0 && !reasm6::first_fragment_complete(frag.next, data) {
            return self.counters.drop(DropReason::FragmentHeaderChain);
        }
        if frag.is_atomic() {
            return self.upper_v6(now, frag.next, data, &meta, dest, caps, tcp);
        }
        let key =
            FragKey6 { src: ip.src_addr, dst: ip.dst_addr, ident: frag.ident, next: frag.next };
        let counters = &mut self.counters;
        match self.reasm6.add(now, key, frag.offset, frag.more, data, |why| counters.drop(why)) {
            Reassembled::Incomplete => {}
            Reassembled::Dropped(why) => self.counters.drop(why),
            Reassembled::Complete(first, whole) => {
                self.counters.reassembled += 1;
                self.upper_v6(now, first.next, &whole, &meta, dest, caps, tcp);
            }
        }
    }

    /// An IPv6 payload that is not (or no longer) fragmented, starting with header `next`:
    /// its extension headers walked to the upper layer, which gets it.
    #[allow(clippy::too_many_arguments)]
    fn upper_v6<T: TcpLayer + ?Sized>(
        &mut self,
        now: Instant,
        next: IpProtocol,
        payload: &[u8],
        meta: &SegmentMeta,
        dest: Dest,
        caps: &DeviceCaps,
        tcp: &mut T,
    ) {
        let upper = match synack_wire::ipv6::walk(next, payload) {
            Ok(u) => u,
            Err(e) => return self.counters.drop(wire_reason(e)),
        };
        if upper.fragment.is_some() {
            // A fragment header after reassembly, or after another fragment header.
            return self.counters.drop(DropReason::Ipv6BadExtHeaders);
        }
        if dest == Dest::Foreign && !self.takes_foreign(upper.protocol) {
            return self.counters.drop(DropReason::NotOurAddress);
        }
        let payload = payload.get(upper.offset..).unwrap_or(&[]);
        self.deliver(now, upper.protocol, meta, dest, payload, caps, tcp);
    }

    #[allow(clippy::too_many_arguments)]
    fn deliver<T: TcpLayer + ?Sized>(
        &mut self,
        now: Instant,
        protocol: IpProtocol,
        meta: &SegmentMeta,
        dest: Dest,
        payload: &[u8],
        caps: &DeviceCaps,
        tcp: &mut T,
    ) {
        match protocol {
            IpProtocol::TCP => {
                //= rfc9293#3.9.1
                // TCP segments addressed to broadcast or multicast addresses are dropped: a
                // connection has exactly two unicast ends.
                if dest == Dest::Group {
                    return self.counters.drop(DropReason::NonUnicastTcp);
                }
                let mode =
                    if caps.checksum.tcp_rx { ChecksumMode::Skip } else { ChecksumMode::Verify };
                // Matched by reference: the parsed segment stays where it was parsed rather
                // than being copied out of the `Result` (a `memcpy` per segment).
                match &TcpRepr::parse_bytes(payload, meta.src, meta.dst, mode) {
                    Ok(seg) => {
                        self.counters.tcp_delivered += 1;
                        tcp.on_segment(now, meta, seg);
                    }
                    Err(e) => self.counters.drop(wire_reason(*e)),
                }
            }
            IpProtocol::UDP => self.udp_input(now, meta, dest, payload),
            IpProtocol::ICMP if meta.src.is_ipv4() => self.icmpv4(now, meta, dest, payload, tcp),
            IpProtocol::ICMPV6 if meta.src.is_ipv6() => self.icmpv6(now, meta, dest, payload, tcp),
            _ => self.counters.drop(DropReason::UnknownProtocol),
        }
    }

    /// True when packets of `protocol` to addresses not ours are taken: TCP in transparent
    /// mode, UDP while an accept-any UDP socket is open.
    fn takes_foreign(&self, protocol: IpProtocol) -> bool {
        match protocol {
            IpProtocol::TCP => self.cfg.transparent,
            IpProtocol::UDP => self.udp_takes_foreign(),
            _ => false,
        }
    }

    fn is_broadcast_v4(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => self.addrs.iter().any(|c| c.broadcast() == Some(a)),
            IpAddr::V6(_) => false,
        }
    }

    fn classify(&self, dst: IpAddr) -> Dest {
        if self.is_local(dst) {
            Dest::Local
        } else if addr::is_never_unicast(dst) || self.is_broadcast_v4(dst) {
            Dest::Group
        } else {
            Dest::Foreign
        }
    }

    fn flush_replies<D: Device + ?Sized>(&mut self, now: Instant, dev: &mut D) -> usize {
        let mut sent = 0;
        while let Some(frame) = self.replies.front() {
            let Some(tok) = dev.transmit(now) else {
                self.counters.drop(DropReason::DeviceFull);
                break;
            };
            let n = tok.consume(frame.len(), |buf| {
                buf.copy_from_slice(frame);
                0..frame.len()
            });
            self.replies.pop_front();
            if n > 0 {
                sent += 1;
                self.counters.tx_frames += 1;
            } else {
                self.counters.drop(DropReason::EgressTooBig);
            }
        }
        sent
    }

    fn queue_reply(&mut self, frame: Vec<u8>) {
        if self.replies.len() >= self.cfg.max_pending_replies {
            self.counters.drop(DropReason::ReplyQueueFull);
            return;
        }
        self.replies.push_back(frame);
    }

    fn egress_tcp<T: TcpLayer + ?Sized>(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        caps: &DeviceCaps,
        tcp: &mut T,
        engine_had_one: &mut bool,
        segment_size: &mut usize,
    ) -> Range<usize> {
        if buf.len() < HEADROOM + 20 {
            return 0..0;
        }
        let mode = if caps.checksum.tcp_tx { ChecksumMode::Skip } else { ChecksumMode::Verify };
        let (head, seg) = buf.split_at_mut(HEADROOM);
        let Some(out) = tcp.poll_transmit(now, seg, mode) else { return 0..0 };
        *engine_had_one = true;
        if out.len > seg.len() {
            self.counters.drop(DropReason::EgressTooBig);
            return 0..0;
        }
        if !self.cfg.transparent && !self.is_local(out.src) {
            self.counters.drop(DropReason::EgressBadSource);
            return 0..0;
        }
        if self.routes.lookup(out.dst).is_none() {
            self.counters.drop(DropReason::NoRoute);
            return 0..0;
        }
        let ip_mode = if caps.checksum.ipv4_tx { ChecksumMode::Skip } else { ChecksumMode::Verify };
        let own_hops = tcp.hop_limit_for(&out, &seg[..out.len]);
        let range = match (out.src, out.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let ident = self.next_ident;
                self.next_ident = self.next_ident.wrapping_add(1);
                let ip = Ipv4Repr {
                    src_addr: s,
                    dst_addr: d,
                    protocol: IpProtocol::TCP,
                    payload_len: out.len,
                    ttl: own_hops.unwrap_or(self.cfg.ttl),
                    tos: 0,
                    ident,
                    dont_frag: self.cfg.dont_fragment,
                    more_frags: false,
                    frag_offset: 0,
                };
                if ip.emit(&mut head[HEADROOM - 20..], ip_mode).is_err() {
                    self.counters.drop(DropReason::EgressTooBig);
                    return 0..0;
                }
                HEADROOM - 20..HEADROOM + out.len
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                let ip = Ipv6Repr {
                    src_addr: s,
                    dst_addr: d,
                    next_header: IpProtocol::TCP,
                    payload_len: out.len,
                    hop_limit: own_hops.unwrap_or(self.cfg.hop_limit),
                    traffic_class: 0,
                    flow_label: 0,
                };
                if ip.emit(head).is_err() {
                    self.counters.drop(DropReason::EgressTooBig);
                    return 0..0;
                }
                0..HEADROOM + out.len
            }
            _ => {
                self.counters.drop(DropReason::EgressBadSource);
                return 0..0;
            }
        };
        if range.len() > caps.mtu {
            // Only a super-segment the device cuts may be larger than the MTU.
            if out.segment_size == 0 || range.len() > caps.tso_max {
                self.counters.drop(DropReason::EgressTooBig);
                return 0..0;
            }
            *segment_size = out.segment_size;
        }
        self.counters.tcp_sent += 1;
        self.counters.tx_frames += 1;
        range
    }
}

/// What a destination address is to us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dest {
    /// One of our addresses.
    Local,
    /// Broadcast or multicast.
    Group,
    /// Someone else's unicast address.
    Foreign,
}

/// The drop reason for a parse error.
fn wire_reason(e: WireError) -> DropReason {
    match e {
        WireError::Truncated { layer: Layer::Ipv4 } => DropReason::Ipv4Truncated,
        WireError::BadHeaderLen { layer: Layer::Ipv4, .. } => DropReason::Ipv4BadHeaderLen,
        WireError::BadTotalLen { layer: Layer::Ipv4, .. } => DropReason::Ipv4BadTotalLen,
        WireError::BadChecksum { layer: Layer::Ipv4 } => DropReason::Ipv4BadChecksum,
        WireError::UnsupportedVersion { layer: Layer::Ipv4 | Layer::Ipv6, .. } => {
            DropReason::BadVersion
        }
        WireError::Truncated { layer: Layer::Ipv6 } => DropReason::Ipv6Truncated,
        WireError::Truncated { layer: Layer::Ipv6Ext }
        | WireError::BadHeaderLen { layer: Layer::Ipv6Ext, .. }
        | WireError::BadExtHeaderChain => DropReason::Ipv6BadExtHeaders,
        WireError::BadChecksum { layer: Layer::Tcp } => DropReason::TcpBadChecksum,
        WireError::BadOptionLen { .. } | WireError::Truncated { layer: Layer::TcpOption } => {
            DropReason::TcpBadOption
        }
        WireError::BadChecksum { layer: Layer::Icmpv4 | Layer::Icmpv6 } => {
            DropReason::IcmpBadChecksum
        }
        WireError::Truncated { layer: Layer::Icmpv4 | Layer::Icmpv6 } => DropReason::IcmpTruncated,
        WireError::BadChecksum { layer: Layer::Udp } => DropReason::UdpBadChecksum,
        WireError::Truncated { layer: Layer::Udp }
        | WireError::BadTotalLen { layer: Layer::Udp, .. }
        | WireError::BadHeaderLen { layer: Layer::Udp, .. } => DropReason::UdpMalformed,
        _ => DropReason::TcpMalformed,
    }
}
