//! The interface on its own: ingress checks with a reason for every drop, ICMP echo and
//! errors, IPv4 reassembly, egress framing, routes and transparent mode. The TCP engine is
//! replaced by a recorder, and the device by in-memory queues.

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use synack_stack::iface::{IcmpError, IcmpErrorKind, Route, SegmentMeta, SegmentOut, TcpLayer};
use synack_stack::phy::QueueDevice;
use synack_stack::{DeviceCaps, DropReason, Interface, InterfaceConfig, IpCidr};
use synack_tcp::time::Instant;
use synack_wire::icmpv4::{Icmpv4Packet, Icmpv4Repr};
use synack_wire::icmpv6::{Icmpv6Packet, Icmpv6Repr};
use synack_wire::tcp::{TcpFlags, TcpOptions};
use synack_wire::{
    ChecksumMode, IpProtocol, Ipv4Packet, Ipv4Repr, Ipv6Packet, Ipv6Repr, SeqNum, TcpRepr,
};

const US4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PEER4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const US6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1);
const PEER6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2);

#[derive(Default)]
struct Recorder {
    segs: Vec<(SegmentMeta, u16, u16, u32, Vec<u8>)>,
    errors: Vec<IcmpError>,
    out: VecDeque<(IpAddr, IpAddr, Vec<u8>)>,
    /// `transmit_failed` calls.
    failed: usize,
}

impl TcpLayer for Recorder {
    fn on_segment(&mut self, _now: Instant, meta: &SegmentMeta, seg: &TcpRepr<'_>) {
        self.segs.push((*meta, seg.src_port, seg.dst_port, seg.seq.0, seg.payload.to_vec()));
    }
    fn on_icmp_error(&mut self, _now: Instant, err: &IcmpError) {
        self.errors.push(*err);
    }
    fn poll_transmit(
        &mut self,
        _now: Instant,
        buf: &mut [u8],
        _c: ChecksumMode,
    ) -> Option<SegmentOut> {
        let (src, dst, bytes) = self.out.pop_front()?;
        buf[..bytes.len()].copy_from_slice(&bytes);
        Some(SegmentOut { src, dst, len: bytes.len(), segment_size: 0 })
    }
    fn transmit_failed(&mut self, _now: Instant) {
        self.failed += 1;
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        None
    }
    fn on_timeout(&mut self, _now: Instant) {}
}

fn tcp_bytes(
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
    seq: u32,
    payload: &[u8],
) -> Vec<u8> {
    let repr = TcpRepr {
        src_port: sport,
        dst_port: dport,
        seq: SeqNum(seq),
        ack: SeqNum(0),
        flags: TcpFlags::SYN,
        window: 1000,
        urgent: 0,
        options: TcpOptions::default(),
        raw_options: None,
        payload,
    };
    let mut b = vec![0u8; repr.buffer_len()];
    repr.emit(&mut b, src, dst, ChecksumMode::Verify).unwrap();
    b
}

fn v4(src: Ipv4Addr, dst: Ipv4Addr, proto: IpProtocol, payload: &[u8]) -> Vec<u8> {
    v4_frag(src, dst, proto, payload, 7, false, 0)
}

fn v4_frag(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: IpProtocol,
    payload: &[u8],
    ident: u16,
    mf: bool,
    off8: u16,
) -> Vec<u8> {
    let ip = Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        protocol: proto,
        payload_len: payload.len(),
        ttl: 64,
        tos: 0,
        ident,
        dont_frag: false,
        more_frags: mf,
        frag_offset: off8,
    };
    let mut b = vec![0u8; ip.buffer_len()];
    ip.emit(&mut b, ChecksumMode::Verify).unwrap();
    b[20..].copy_from_slice(payload);
    b
}

fn v6(src: Ipv6Addr, dst: Ipv6Addr, next: IpProtocol, payload: &[u8]) -> Vec<u8> {
    let ip = Ipv6Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: next,
        payload_len: payload.len(),
        hop_limit: 64,
        traffic_class: 0,
        flow_label: 0,
    };
    let mut b = vec![0u8; ip.buffer_len()];
    ip.emit(&mut b).unwrap();
    b[40..].copy_from_slice(payload);
    b
}

fn tcp4(payload: &[u8]) -> Vec<u8> {
    v4(PEER4, US4, IpProtocol::TCP, &tcp_bytes(PEER4.into(), US4.into(), 5555, 80, 1000, payload))
}

fn setup() -> (Interface, QueueDevice, Recorder) {
    let mut iface = Interface::new(InterfaceConfig::default());
    iface.add_address(IpCidr::new(US4.into(), 24).unwrap());
    iface.add_address(IpCidr::new(US6.into(), 64).unwrap());
    (iface, QueueDevice::new(DeviceCaps::default(), 64), Recorder::default())
}

fn run(frames: &[Vec<u8>]) -> (Interface, QueueDevice, Recorder) {
    let (mut iface, mut dev, mut tcp) = setup();
    for f in frames {
        dev.inject(f);
    }
    iface.poll(Instant::ZERO, &mut dev, &mut tcp);
    (iface, dev, tcp)
}

/// Feeds one frame and checks it was dropped for exactly `reason` and reached nobody.
fn assert_dropped(frame: Vec<u8>, reason: DropReason) {
    let (iface, mut dev, tcp) = run(&[frame]);
    let c = iface.counters();
    assert_eq!(c.dropped(reason), 1, "expected {reason}, got {:?}", c.drops().collect::<Vec<_>>());
    assert_eq!(c.total_dropped(), 1, "{:?}", c.drops().collect::<Vec<_>>());
    assert!(tcp.segs.is_empty() && tcp.errors.is_empty());
    assert!(dev.take_sent().is_empty());
}

#[test]
fn tcp_v4_and_v6_delivered() {
    let seg6 = tcp_bytes(PEER6.into(), US6.into(), 5555, 443, 77, b"six");
    let (iface, _, tcp) = run(&[tcp4(b"four"), v6(PEER6, US6, IpProtocol::TCP, &seg6)]);
    assert_eq!(iface.counters().tcp_delivered, 2);
    assert_eq!(tcp.segs[0].0.src, IpAddr::V4(PEER4));
    assert!(tcp.segs[0].0.local);
    assert_eq!(tcp.segs[0].4, b"four");
    assert_eq!((tcp.segs[1].2, tcp.segs[1].3), (443, 77));
    assert_eq!(tcp.segs[1].4, b"six");
}

#[test]
fn malformed_packets_counted_by_reason() {
    assert_dropped(vec![], DropReason::Empty);
    assert_dropped(vec![0x55; 40], DropReason::BadVersion);
    assert_dropped(tcp4(b"x")[..15].to_vec(), DropReason::Ipv4Truncated);
    let mut f = tcp4(b"x");
    f[0] = 0x44; // IHL 4
    assert_dropped(f, DropReason::Ipv4BadHeaderLen);
    let mut f = tcp4(b"x");
    f[2..4].copy_from_slice(&10u16.to_be_bytes());
    assert_dropped(f, DropReason::Ipv4BadTotalLen);
    let mut f = tcp4(b"x");
    f[2..4].copy_from_slice(&2000u16.to_be_bytes());
    assert_dropped(f, DropReason::Ipv4Truncated);
    let mut f = tcp4(b"x");
    f[10] ^= 0xff;
    assert_dropped(f, DropReason::Ipv4BadChecksum);
    let mut f = tcp4(b"hello");
    let n = f.len();
    f[n - 1] ^= 0x01;
    assert_dropped(f, DropReason::TcpBadChecksum);
    // TCP data offset 15 with a 21-byte segment.
    let mut seg = tcp_bytes(PEER4.into(), US4.into(), 1, 2, 3, b"x");
    seg[12] = 0xf0;
    assert_dropped(v4(PEER4, US4, IpProtocol::TCP, &seg), DropReason::TcpMalformed);
    assert_dropped(v4(PEER4, US4, IpProtocol::TCP, &seg[..10]), DropReason::TcpMalformed);
    // Bad option length (kind 2 with length 1); checksum made valid so the option is the fault.
    let repr = TcpRepr {
        src_port: 1,
        dst_port: 2,
        seq: SeqNum(0),
        ack: SeqNum(0),
        flags: TcpFlags::SYN,
        window: 0,
        urgent: 0,
        options: TcpOptions::default(),
        raw_options: Some(&[2, 1, 0, 0]),
        payload: &[],
    };
    let mut seg = vec![0u8; repr.buffer_len()];
    repr.emit(&mut seg, PEER4.into(), US4.into(), ChecksumMode::Verify).unwrap();
    assert_dropped(v4(PEER4, US4, IpProtocol::TCP, &seg), DropReason::TcpBadOption);
    let other = Ipv4Addr::new(10, 0, 0, 9);
    assert_dropped(
        v4(PEER4, other, IpProtocol::TCP, &tcp_bytes(PEER4.into(), other.into(), 1, 2, 3, b"")),
        DropReason::NotOurAddress,
    );
    let bc = Ipv4Addr::new(10, 0, 0, 255);
    assert_dropped(
        v4(PEER4, bc, IpProtocol::TCP, &tcp_bytes(PEER4.into(), bc.into(), 1, 2, 3, b"")),
        DropReason::NonUnicastTcp,
    );
    let mc = Ipv4Addr::new(224, 0, 0, 1);
    assert_dropped(
        v4(PEER4, mc, IpProtocol::TCP, &tcp_bytes(PEER4.into(), mc.into(), 1, 2, 3, b"")),
        DropReason::NonUnicastTcp,
    );
    assert_dropped(
        v4(mc, US4, IpProtocol::TCP, &tcp_bytes(mc.into(), US4.into(), 1, 2, 3, b"")),
        DropReason::MartianSource,
    );
    assert_dropped(v4(PEER4, US4, IpProtocol(47), &[0; 8]), DropReason::UnknownProtocol);
    assert_dropped(v4(PEER4, US4, IpProtocol::UDP, &[0; 8]), DropReason::UdpMalformed);
    assert_dropped(v4(PEER4, US4, IpProtocol::UDP, &[0; 5]), DropReason::UdpMalformed);
    // IPv6: truncated, bad extension chain, short first fragment, multicast source, multicast TCP.
    let seg6 = tcp_bytes(PEER6.into(), US6.into(), 1, 2, 3, b"");
    assert_dropped(
        v6(PEER6, US6, IpProtocol::TCP, &seg6)[..30].to_vec(),
        DropReason::Ipv6Truncated,
    );
    let mut f = v6(PEER6, US6, IpProtocol::TCP, &seg6);
    f[4..6].copy_from_slice(&500u16.to_be_bytes());
    assert_dropped(f, DropReason::Ipv6Truncated);
    // Hop-by-hop header claiming more bytes than there are.
    assert_dropped(
        v6(PEER6, US6, IpProtocol::HOP_BY_HOP, &[6, 5, 0, 0, 0, 0, 0, 0]),
        DropReason::Ipv6BadExtHeaders,
    );
    // A first fragment that cuts the TCP header short.
    let mut frag = vec![6u8, 0, 0, 1, 0, 0, 0, 9];
    frag.extend_from_slice(&seg6[..16]);
    assert_dropped(v6(PEER6, US6, IpProtocol::IPV6_FRAG, &frag), DropReason::FragmentHeaderChain);
    let mc6: Ipv6Addr = "ff02::1".parse().unwrap();
    assert_dropped(
        v6(mc6, US6, IpProtocol::TCP, &tcp_bytes(mc6.into(), US6.into(), 1, 2, 3, b"")),
        DropReason::MartianSource,
    );
    assert_dropped(
        v6(PEER6, mc6, IpProtocol::TCP, &tcp_bytes(PEER6.into(), mc6.into(), 1, 2, 3, b"")),
        DropReason::NonUnicastTcp,
    );
    // ICMP too short, and with a bad checksum.
    assert_dropped(v4(PEER4, US4, IpProtocol::ICMP, &[8, 0, 0]), DropReason::IcmpTruncated);
    assert_dropped(
        v4(PEER4, US4, IpProtocol::ICMP, &[8, 0, 0, 0, 0, 1, 0, 1]),
        DropReason::IcmpBadChecksum,
    );
}

fn echo4(dst: Ipv4Addr) -> Vec<u8> {
    let req = Icmpv4Repr::EchoRequest { ident: 0x1234, seq_no: 9, data: b"ping!" };
    let mut b = vec![0u8; req.buffer_len()];
    req.emit(&mut b, ChecksumMode::Verify).unwrap();
    v4(PEER4, dst, IpProtocol::ICMP, &b)
}

#[test]
fn echo_replies_v4_v6() {
    let req6 = Icmpv6Repr::EchoRequest { ident: 7, seq_no: 8, data: b"six" };
    let mut b6 = vec![0u8; req6.buffer_len()];
    req6.emit(&mut b6, PEER6, US6, ChecksumMode::Verify).unwrap();
    let (mut iface, mut dev, _) = run(&[echo4(US4), v6(PEER6, US6, IpProtocol::ICMPV6, &b6)]);
    let sent = dev.take_sent();
    assert_eq!(sent.len(), 2);
    assert_eq!(iface.counters().echo_replies, 2);
    let ip = Ipv4Packet::new_checked(&sent[0][..]).unwrap();
    let r = Ipv4Repr::parse(&ip, ChecksumMode::Verify).unwrap();
    assert_eq!((r.src_addr, r.dst_addr), (US4, PEER4));
    let icmp = Icmpv4Packet::new_checked(ip.payload()).unwrap();
    assert_eq!(
        Icmpv4Repr::parse(&icmp, ChecksumMode::Verify).unwrap(),
        Icmpv4Repr::EchoReply { ident: 0x1234, seq_no: 9, data: b"ping!" }
    );
    let ip6 = Ipv6Packet::new_checked(&sent[1][..]).unwrap();
    let icmp6 = Icmpv6Packet::new_checked(ip6.payload()).unwrap();
    assert_eq!(
        Icmpv6Repr::parse(&icmp6, US6, PEER6, ChecksumMode::Verify).unwrap(),
        Icmpv6Repr::EchoReply { ident: 7, seq_no: 8, data: b"six" }
    );
    // Broadcast echo is not answered.
    let mut tcp = Recorder::default();
    dev.inject(&echo4(Ipv4Addr::new(10, 0, 0, 255)));
    iface.poll(Instant::ZERO, &mut dev, &mut tcp);
    assert!(dev.take_sent().is_empty());
    assert_eq!(iface.counters().dropped(DropReason::EchoToNonUnicast), 1);
}

/// An ICMPv4 error from `router` quoting a TCP segment from us to the peer.
fn icmp4_error(ty: u8, code: u8, rest: [u8; 4], quoted_src: Ipv4Addr, quote_len: usize) -> Vec<u8> {
    let seg = tcp_bytes(quoted_src.into(), PEER4.into(), 40000, 80, 0xdead_beef, b"data");
    let orig = v4(quoted_src, PEER4, IpProtocol::TCP, &seg);
    let quoted = &orig[..quote_len.min(orig.len())];
    let msg = Icmpv4Repr::Other { msg_type: ty, code, rest, data: quoted };
    let mut b = vec![0u8; msg.buffer_len()];
    msg.emit(&mut b, ChecksumMode::Verify).unwrap();
    v4(Ipv4Addr::new(10, 0, 0, 254), US4, IpProtocol::ICMP, &b)
}

#[test]
fn icmp_errors_reach_tcp_with_connection_and_seq() {
    let (iface, _, tcp) = run(&[
        icmp4_error(3, 3, [0; 4], US4, 28), // port unreachable: hard
        icmp4_error(3, 1, [0; 4], US4, 28), // host unreachable: soft
        icmp4_error(3, 4, [0, 0, 0x05, 0xdc], US4, 28), // frag needed, MTU 1500
        icmp4_error(3, 4, [0; 4], US4, 28), // frag needed from an old router
        icmp4_error(11, 0, [0; 4], US4, 28), // TTL exceeded
        icmp4_error(3, 3, [0; 4], Ipv4Addr::new(10, 0, 0, 50), 28), // not our segment
        icmp4_error(3, 3, [0; 4], US4, 24), // quote too short for the seq
    ]);
    let kinds: Vec<IcmpErrorKind> = tcp.errors.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![
            IcmpErrorKind::Unreachable { code: 3, hard: true },
            IcmpErrorKind::Unreachable { code: 1, hard: false },
            IcmpErrorKind::PacketTooBig { mtu: 1500 },
            IcmpErrorKind::PacketTooBig { mtu: 576 },
            IcmpErrorKind::TimeExceeded,
        ]
    );
    let e = tcp.errors[0];
    assert_eq!(e.local, "10.0.0.1:40000".parse().unwrap());
    assert_eq!(e.remote, "10.0.0.2:80".parse().unwrap());
    assert_eq!(e.seq, SeqNum(0xdead_beef));
    assert_eq!(e.reporter, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 254)));
    assert_eq!(iface.counters().dropped(DropReason::IcmpBadQuote), 2);

    // IPv6 packet too big below 1280 is clamped; port unreachable is hard.
    let seg = tcp_bytes(US6.into(), PEER6.into(), 40001, 443, 42, b"");
    let orig = v6(US6, PEER6, IpProtocol::TCP, &seg);
    let mut frames = vec![];
    for msg in [
        Icmpv6Repr::PacketTooBig { mtu: 1000, quoted: &orig },
        Icmpv6Repr::DstUnreachable { code: 4, quoted: &orig },
    ] {
        let mut b = vec![0u8; msg.buffer_len()];
        msg.emit(&mut b, PEER6, US6, ChecksumMode::Verify).unwrap();
        frames.push(v6(PEER6, US6, IpProtocol::ICMPV6, &b));
    }
    let (_, _, tcp) = run(&frames);
    assert_eq!(tcp.errors[0].kind, IcmpErrorKind::PacketTooBig { mtu: 1280 });
    assert_eq!(tcp.errors[1].kind, IcmpErrorKind::Unreachable { code: 4, hard: true });
    assert_eq!(tcp.errors[1].seq, SeqNum(42));
    assert_eq!(tcp.errors[1].local.port(), 40001);
}

#[test]
fn fragmented_ipv4_reassembled_in_any_order() {
    let payload: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    let seg = tcp_bytes(PEER4.into(), US4.into(), 5555, 80, 1, &payload);
    let chunks: Vec<(usize, usize)> = vec![(0, 1480), (1480, 2960), (2960, seg.len())];
    let mut frames: Vec<Vec<u8>> = chunks
        .iter()
        .map(|&(s, e)| {
            v4_frag(PEER4, US4, IpProtocol::TCP, &seg[s..e], 99, e != seg.len(), (s / 8) as u16)
        })
        .collect();
    frames.swap(0, 2);
    let (iface, _, tcp) = run(&frames);
    assert_eq!(iface.counters().reassembled, 1);
    assert_eq!(tcp.segs.len(), 1);
    assert_eq!(tcp.segs[0].4, payload);
    assert_eq!(iface.reassembly_usage(), (0, 0));

    // An overlapping fragment kills the datagram; the rest times out nothing and leaks nothing.
    let f1 = v4_frag(PEER4, US4, IpProtocol::TCP, &seg[..1480], 5, true, 0);
    let f2 = v4_frag(PEER4, US4, IpProtocol::TCP, &seg[8..1488], 5, true, 1);
    let (iface, _, tcp) = run(&[f1.clone(), f2]);
    assert!(tcp.segs.is_empty());
    assert_eq!(iface.counters().dropped(DropReason::FragmentOverlap), 1);
    assert_eq!(iface.reassembly_usage(), (0, 0));

    // A lone first fragment times out.
    let (mut iface, mut dev, mut tcp) = setup();
    dev.inject(&f1);
    iface.poll(Instant::ZERO, &mut dev, &mut tcp);
    assert_eq!(iface.reassembly_usage().0, 1);
    let t = iface.poll_at().expect("reassembly deadline");
    iface.poll(t, &mut dev, &mut tcp);
    assert_eq!(iface.counters().dropped(DropReason::ReassemblyTimeout), 1);
    assert_eq!(iface.reassembly_usage(), (0, 0));
}

#[test]
fn egress_frames_v4_v6_with_ttl_routes_and_sources() {
    let (mut iface, mut dev, mut tcp) = setup();
    iface.set_ttl(33);
    iface.set_hop_limit(44);
    let seg4 = tcp_bytes(US4.into(), PEER4.into(), 80, 5555, 1, b"out4");
    let seg6 = tcp_bytes(US6.into(), PEER6.into(), 80, 5555, 1, b"out6");
    let far = Ipv4Addr::new(192, 168, 1, 1);
    tcp.out.push_back((US4.into(), PEER4.into(), seg4.clone()));
    tcp.out.push_back((US6.into(), PEER6.into(), seg6.clone()));
    tcp.out.push_back((US4.into(), far.into(), seg4.clone())); // no route
    tcp.out.push_back((PEER4.into(), US4.into(), seg4.clone())); // not our source
    let r = iface.poll(Instant::ZERO, &mut dev, &mut tcp);
    assert_eq!(r.sent, 2);
    let sent = dev.take_sent();
    let ip = Ipv4Packet::new_checked(&sent[0][..]).unwrap();
    let r4 = Ipv4Repr::parse(&ip, ChecksumMode::Verify).unwrap();
    assert_eq!((r4.src_addr, r4.dst_addr, r4.ttl, r4.dont_frag), (US4, PEER4, 33, true));
    assert_eq!(ip.payload(), &seg4[..]);
    let ip6 = Ipv6Packet::new_checked(&sent[1][..]).unwrap();
    assert_eq!(ip6.hop_limit(), 44);
    assert_eq!(ip6.payload(), &seg6[..]);
    assert_eq!(iface.counters().dropped(DropReason::NoRoute), 1);
    assert_eq!(iface.counters().dropped(DropReason::EgressBadSource), 1);

    // A default route makes the far address reachable.
    let any = IpCidr::new(Ipv4Addr::UNSPECIFIED.into(), 0).unwrap();
    iface.routes_mut().add(Route { dest: any, src: None });
    assert_eq!(iface.source_for(far.into()), Some(US4.into()));
    tcp.out.push_back((US4.into(), far.into(), seg4));
    iface.poll(Instant::ZERO, &mut dev, &mut tcp);
    assert_eq!(dev.take_sent().len(), 1);
}

#[test]
fn transparent_mode_accepts_any_destination() {
    let far = Ipv4Addr::new(93, 184, 216, 34);
    let syn =
        v4(PEER4, far, IpProtocol::TCP, &tcp_bytes(PEER4.into(), far.into(), 5555, 443, 1, b""));
    let (mut iface, mut dev, mut tcp) = setup();
    dev.inject(&syn);
    iface.poll(Instant::ZERO, &mut dev, &mut tcp);
    assert_eq!(iface.counters().dropped(DropReason::NotOurAddress), 1);
    iface.set_transparent(true);
    dev.inject(&syn);
    iface.poll(Instant::ZERO, &mut dev, &mut tcp);
    assert_eq!(tcp.segs.len(), 1);
    assert!(!tcp.segs[0].0.local);
    assert_eq!(tcp.segs[0].0.dst, IpAddr::V4(far));
    // ... and answers from that address.
    iface
        .routes_mut()
        .add(Route { dest: IpCidr::new(Ipv4Addr::UNSPECIFIED.into(), 0).unwrap(), src: None });
    tcp.out.push_back((
        far.into(),
        PEER4.into(),
        tcp_bytes(far.into(), PEER4.into(), 443, 5555, 9, b""),
    ));
    iface.poll(Instant::ZERO, &mut dev, &mut tcp);
    assert_eq!(dev.take_sent().len(), 1);
    // Non-TCP to a foreign address is still dropped.
    dev.inject(&v4(PEER4, far, IpProtocol::UDP, &[0; 8]));
    iface.poll(Instant::ZERO, &mut dev, &mut tcp);
    assert_eq!(iface.counters().dropped(DropReason::NotOurAddress), 2);
}

#[test]
fn batch_limit_reports_more() {
    let (mut iface, _, mut tcp) = setup();
    let caps = DeviceCaps { max_batch: 4, ..DeviceCaps::default() };
    let mut dev = QueueDevice::new(caps, 64);
    for _ in 0..10 {
        dev.inject(&tcp4(b"x"));
    }
    let r = iface.poll(Instant::ZERO, &mut dev, &mut tcp);
    assert_eq!((r.received, r.more), (4, true));
    while iface.poll(Instant::ZERO, &mut dev, &mut tcp).more {}
    assert_eq!(tcp.segs.len(), 10);
}

/// A frame the device's queue refuses is reported to the TCP layer as not transmitted (once
/// per segment); one the interface drops itself (no route) is not, and neither is a segment
/// the device took.
#[test]
fn device_refusals_reach_the_tcp_layer() {
    let (mut iface, mut dev, mut tcp) = setup();
    let seg = tcp_bytes(US4.into(), PEER4.into(), 80, 5555, 1, b"out");
    let far = Ipv4Addr::new(192, 168, 1, 1);
    dev.set_refusing(true);
    tcp.out.push_back((US4.into(), PEER4.into(), seg.clone()));
    tcp.out.push_back((US4.into(), far.into(), seg.clone())); // no route
    tcp.out.push_back((US4.into(), PEER4.into(), seg.clone()));
    let r = iface.poll(Instant::ZERO, &mut dev, &mut tcp);
    assert_eq!((r.sent, tcp.failed), (0, 2));
    assert!(dev.take_sent().is_empty());
    dev.set_refusing(false);
    tcp.out.push_back((US4.into(), PEER4.into(), seg));
    let r = iface.poll(Instant::ZERO, &mut dev, &mut tcp);
    assert_eq!((r.sent, tcp.failed), (1, 2));
    assert_eq!(dev.take_sent().len(), 1);
}
