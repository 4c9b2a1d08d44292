//! The interface's UDP layer fed exact bytes through a `QueueDevice`: checksums in both
//! families, delivery by address, fragments, port unreachable (quoted, rate-limited, never
//! for group addresses), accept-any with flows, bounded queues.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use synack_stack::iface::{
    IcmpError, SegmentMeta, SegmentOut, TcpLayer, UdpConfig, UdpError, UdpHandle,
};
use synack_stack::phy::QueueDevice;
use synack_stack::{ChecksumOffload, DeviceCaps, DropReason, Interface, InterfaceConfig, IpCidr};
use synack_tcp::time::Instant;
use synack_wire::icmpv4::{Icmpv4Packet, Icmpv4Repr, unreach};
use synack_wire::icmpv6::{self, Icmpv6Packet, Icmpv6Repr};
use synack_wire::{
    ChecksumMode, IpProtocol, Ipv4Packet, Ipv4Repr, Ipv6Packet, Ipv6Repr, TcpRepr, UdpRepr,
};

const US4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PEER4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const US6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1);
const PEER6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2);

/// No TCP here.
struct NoTcp;

impl TcpLayer for NoTcp {
    fn on_segment(&mut self, _: Instant, _: &SegmentMeta, _: &TcpRepr<'_>) {}
    fn on_icmp_error(&mut self, _: Instant, _: &IcmpError) {}
    fn poll_transmit(&mut self, _: Instant, _: &mut [u8], _: ChecksumMode) -> Option<SegmentOut> {
        None
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        None
    }
    fn on_timeout(&mut self, _: Instant) {}
}

fn setup(udp: UdpConfig) -> (Interface, QueueDevice) {
    setup_caps(udp, DeviceCaps::default())
}

fn setup_caps(udp: UdpConfig, caps: DeviceCaps) -> (Interface, QueueDevice) {
    let mut iface = Interface::new(InterfaceConfig { udp, ..InterfaceConfig::default() });
    iface.add_address(IpCidr::new(US4.into(), 24).unwrap());
    iface.add_address(IpCidr::new(US6.into(), 64).unwrap());
    (iface, QueueDevice::new(caps, 1024))
}

fn udp_bytes(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let u = UdpRepr { src_port: src.port(), dst_port: dst.port(), payload };
    let mut b = vec![0u8; u.buffer_len()];
    u.emit(&mut b, src.ip(), dst.ip(), ChecksumMode::Verify).unwrap();
    b
}

fn packet(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Vec<u8> {
    ip(src.ip(), dst.ip(), &udp_bytes(src, dst, payload))
}

fn ip(src: IpAddr, dst: IpAddr, l4: &[u8]) -> Vec<u8> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => v4(s, d, l4, 1, false, 0),
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let ip = Ipv6Repr {
                src_addr: s,
                dst_addr: d,
                next_header: IpProtocol::UDP,
                payload_len: l4.len(),
                hop_limit: 64,
                traffic_class: 0,
                flow_label: 0,
            };
            let mut b = vec![0u8; ip.buffer_len()];
            ip.emit(&mut b).unwrap();
            b[40..].copy_from_slice(l4);
            b
        }
        _ => unreachable!(),
    }
}

fn v4(s: Ipv4Addr, d: Ipv4Addr, payload: &[u8], ident: u16, mf: bool, off8: u16) -> Vec<u8> {
    let ip = Ipv4Repr {
        src_addr: s,
        dst_addr: d,
        protocol: IpProtocol::UDP,
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

fn sa(ip: impl Into<IpAddr>, port: u16) -> SocketAddr {
    SocketAddr::new(ip.into(), port)
}

fn feed(
    iface: &mut Interface,
    dev: &mut QueueDevice,
    at: Instant,
    frames: &[Vec<u8>],
) -> Vec<Vec<u8>> {
    for f in frames {
        dev.inject(f);
    }
    iface.poll(at, dev, &mut NoTcp);
    dev.take_sent()
}

fn recv(iface: &mut Interface, h: UdpHandle) -> Option<(Vec<u8>, SocketAddr, SocketAddr)> {
    let mut buf = [0u8; 65536];
    let r = iface.udp_recv(h, &mut buf, false).unwrap()?;
    Some((buf[..r.len].to_vec(), r.src, r.dst))
}

#[test]
fn delivers_by_address_and_checks_checksums_in_both_families() {
    let (mut iface, mut dev) = setup(UdpConfig::default());
    let exact = iface.udp_bind(sa(US4, 53)).unwrap();
    let wild6 = iface.udp_bind(sa(Ipv6Addr::UNSPECIFIED, 53)).unwrap();
    assert_eq!(iface.udp_bind(sa(US4, 53)), Err(UdpError::AddrInUse));
    assert_eq!(iface.udp_bind(sa(PEER4, 1)), Err(UdpError::AddrNotAvailable));
    let good4 = packet(sa(PEER4, 999), sa(US4, 53), b"four");
    let mut bad4 = good4.clone();
    *bad4.last_mut().unwrap() ^= 1;
    let good6 = packet(sa(PEER6, 999), sa(US6, 53), b"six");
    let mut bad6 = good6.clone();
    *bad6.last_mut().unwrap() ^= 1;
    // IPv6 forbids the zero ("no checksum") UDP checksum.
    let mut zero6 = good6.clone();
    zero6[46] = 0;
    zero6[47] = 0;
    let out = feed(&mut iface, &mut dev, Instant::ZERO, &[good4, bad4, good6, bad6, zero6]);
    assert!(out.is_empty());
    assert_eq!(recv(&mut iface, exact), Some((b"four".to_vec(), sa(PEER4, 999), sa(US4, 53))));
    assert_eq!(recv(&mut iface, wild6), Some((b"six".to_vec(), sa(PEER6, 999), sa(US6, 53))));
    assert_eq!(iface.counters().dropped(DropReason::UdpBadChecksum), 3);
    assert_eq!(iface.counters().udp_delivered, 2);
}

#[test]
fn fragments_are_reassembled() {
    let (mut iface, mut dev) = setup(UdpConfig::default());
    let h = iface.udp_bind(sa(US4, 7)).unwrap();
    let data: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
    let whole = udp_bytes(sa(PEER4, 9), sa(US4, 7), &data);
    let (a, b) = whole.split_at(1480);
    let frags = [v4(PEER4, US4, b, 9, false, 185), v4(PEER4, US4, a, 9, true, 0)];
    feed(&mut iface, &mut dev, Instant::ZERO, &frags);
    assert_eq!(recv(&mut iface, h).unwrap().0, data);
}

/// An IPv6 fragment of `whole` (a UDP datagram) from `off` to `end`.
fn frag6(whole: &[u8], off: usize, end: usize, more: bool, ident: u32) -> Vec<u8> {
    let mut l = vec![IpProtocol::UDP.0, 0];
    l.extend_from_slice(&(((off / 8) as u16) << 3 | u16::from(more)).to_be_bytes());
    l.extend_from_slice(&ident.to_be_bytes());
    l.extend_from_slice(&whole[off..end]);
    let ip = Ipv6Repr {
        src_addr: PEER6,
        dst_addr: US6,
        next_header: IpProtocol::IPV6_FRAG,
        payload_len: l.len(),
        hop_limit: 64,
        traffic_class: 0,
        flow_label: 0,
    };
    let mut b = vec![0u8; ip.buffer_len()];
    ip.emit(&mut b).unwrap();
    b[40..].copy_from_slice(&l);
    b
}

/// IPv6 fragments in any order make the datagram; an atomic fragment is a whole datagram; a
/// fragment overlapping another drops the whole datagram (RFC 5722) while an exact duplicate
/// is ignored; an incomplete one times out and frees its memory.
#[test]
fn ipv6_fragments_are_reassembled_and_overlaps_dropped() {
    let (mut iface, mut dev) = setup(UdpConfig::default());
    let h = iface.udp_bind(sa(US6, 7)).unwrap();
    let data: Vec<u8> = (0..3000u32).map(|i| (i / 3) as u8).collect();
    let whole = udp_bytes(sa(PEER6, 9), sa(US6, 7), &data);
    let frags = [
        frag6(&whole, 2896, whole.len(), false, 7),
        frag6(&whole, 1448, 2896, true, 7),
        frag6(&whole, 1448, 2896, true, 7),
        frag6(&whole, 0, 1448, true, 7),
    ];
    feed(&mut iface, &mut dev, Instant::ZERO, &frags);
    assert_eq!(recv(&mut iface, h).unwrap(), (data.clone(), sa(PEER6, 9), sa(US6, 7)));
    assert_eq!(iface.counters().reassembled, 1);

    let small = udp_bytes(sa(PEER6, 9), sa(US6, 7), b"atomic");
    feed(&mut iface, &mut dev, Instant::ZERO, &[frag6(&small, 0, small.len(), false, 7)]);
    assert_eq!(recv(&mut iface, h).unwrap().0, b"atomic");

    // Overlapping: 0..1448 then 1440..2896 of the same datagram.
    let overlap = [frag6(&whole, 0, 1448, true, 8), frag6(&whole, 1440, 2896, true, 8)];
    feed(&mut iface, &mut dev, Instant::ZERO, &overlap);
    assert_eq!(iface.counters().dropped(DropReason::FragmentOverlap), 1);
    // The rest arriving later cannot complete it: it starts a new datagram that stays partial.
    let rest = [frag6(&whole, 2896, whole.len(), false, 8)];
    feed(&mut iface, &mut dev, Instant::ZERO, &rest);
    assert!(recv(&mut iface, h).is_none());
    assert_eq!(iface.reassembly_usage().0, 1);
    feed(&mut iface, &mut dev, Instant::from_secs(31), &[]);
    assert_eq!(iface.reassembly_usage(), (0, 0));
    assert_eq!(iface.counters().dropped(DropReason::ReassemblyTimeout), 1);
}

#[test]
fn closed_ports_get_a_quoting_port_unreachable_rate_limited() {
    let udp = UdpConfig { unreachable_per_sec: 3, ..UdpConfig::default() };
    let (mut iface, mut dev) = setup(udp);
    let p4 = packet(sa(PEER4, 1234), sa(US4, 9), b"knock");
    let out = feed(&mut iface, &mut dev, Instant::ZERO, std::slice::from_ref(&p4));
    assert_eq!(out.len(), 1);
    let ipp = Ipv4Packet::new_checked(&out[0][..]).unwrap();
    let icmp =
        Icmpv4Repr::parse(&Icmpv4Packet::new_checked(ipp.payload()).unwrap(), ChecksumMode::Verify)
            .unwrap();
    let Icmpv4Repr::DstUnreachable { code, quoted, .. } = icmp else { panic!("{icmp:?}") };
    assert_eq!(code, unreach::PORT);
    assert_eq!(&quoted[20..], &p4[20..], "the quote carries the whole datagram");

    let p6 = packet(sa(PEER6, 1234), sa(US6, 9), b"knock");
    let out = feed(&mut iface, &mut dev, Instant::ZERO, &[p6]);
    let ipp = Ipv6Packet::new_checked(&out[0][..]).unwrap();
    let icmp = Icmpv6Repr::parse(
        &Icmpv6Packet::new_checked(ipp.payload()).unwrap(),
        US6,
        PEER6,
        ChecksumMode::Verify,
    )
    .unwrap();
    assert!(matches!(icmp, Icmpv6Repr::DstUnreachable { code: icmpv6::unreach::PORT, .. }));

    // Three a second: the third and fourth of this second are not answered.
    let out = feed(&mut iface, &mut dev, Instant::ZERO, &[p4.clone(), p4.clone(), p4.clone()]);
    assert_eq!(out.len(), 1);
    assert_eq!(iface.counters().dropped(DropReason::UdpUnreachableLimited), 2);
    let out = feed(&mut iface, &mut dev, Instant::ZERO + Duration::from_secs(1), &[p4]);
    assert_eq!(out.len(), 1);
    // Never for a broadcast destination.
    let bcast = packet(sa(PEER4, 1), sa(Ipv4Addr::new(10, 0, 0, 255), 9), b"x");
    assert!(
        feed(&mut iface, &mut dev, Instant::ZERO + Duration::from_secs(1), &[bcast]).is_empty()
    );
}

#[test]
fn accept_any_flows_are_bounded_and_expire() {
    let udp =
        UdpConfig { max_flows: 2, flow_idle: Duration::from_secs(10), ..UdpConfig::default() };
    let (mut iface, mut dev) = setup(udp);
    let any = iface.udp_bind_any().unwrap();
    let far = |i: u8| sa(Ipv4Addr::new(198, 51, 100, i), 53);
    let frames: Vec<_> = (1..=3).map(|i| packet(sa(PEER4, 1000), far(i), &[i])).collect();
    let out = feed(&mut iface, &mut dev, Instant::ZERO, &frames);
    assert!(out.is_empty(), "no port unreachable while accept-any is open");
    assert_eq!(recv(&mut iface, any).unwrap().2, far(1));
    assert_eq!(recv(&mut iface, any).unwrap().2, far(2));
    assert_eq!(recv(&mut iface, any), None);
    assert_eq!(iface.counters().dropped(DropReason::UdpFlowTableFull), 1);
    // A reply from the original destination goes out with that source.
    iface.udp_send(any, Some(far(1)), Some(sa(PEER4, 1000)), b"r").unwrap();
    let out = feed(&mut iface, &mut dev, Instant::ZERO, &[]);
    let ipp = Ipv4Packet::new_checked(&out[0][..]).unwrap();
    let r = Ipv4Repr::parse(&ipp, ChecksumMode::Verify).unwrap();
    assert_eq!((r.src_addr, r.dst_addr), (Ipv4Addr::new(198, 51, 100, 1), PEER4));
    assert_eq!(
        iface.udp_send(any, Some(far(3)), Some(sa(PEER4, 1000)), b"r"),
        Err(UdpError::NoFlow)
    );
    // Idle for the timeout: both flows go, and are reported.
    feed(&mut iface, &mut dev, Instant::ZERO + Duration::from_secs(11), &[]);
    assert_eq!(iface.udp_usage().flows, 0);
    let mut expired = vec![iface.udp_take_expired().unwrap(), iface.udp_take_expired().unwrap()];
    expired.sort();
    assert_eq!(expired, vec![(sa(PEER4, 1000), far(1)), (sa(PEER4, 1000), far(2))]);
    iface.udp_close(any);
    assert_eq!(iface.udp_usage(), Default::default());
}

/// Device checksum offload covers TCP only: UDP is verified on the way in and filled on the
/// way out even on a device that offloads everything (a zero checksum is invalid over IPv6).
#[test]
fn udp_checksums_ignore_tcp_offload() {
    let caps = DeviceCaps { checksum: ChecksumOffload::ALL, ..DeviceCaps::default() };
    let (mut iface, mut dev) = setup_caps(UdpConfig::default(), caps);
    let h = iface.udp_bind(sa(US6, 53)).unwrap();
    let mut bad = packet(sa(PEER6, 9), sa(US6, 53), b"x");
    *bad.last_mut().unwrap() ^= 1;
    feed(&mut iface, &mut dev, Instant::ZERO, &[bad]);
    assert_eq!(iface.counters().dropped(DropReason::UdpBadChecksum), 1);
    iface.udp_send(h, None, Some(sa(PEER6, 9)), b"reply").unwrap();
    let out = feed(&mut iface, &mut dev, Instant::ZERO, &[]);
    let ipp = Ipv6Packet::new_checked(&out[0][..]).unwrap();
    let udp = synack_wire::UdpPacket::new_checked(ipp.payload()).unwrap();
    assert_ne!(udp.checksum(), 0);
    assert!(udp.verify_checksum(US6.into(), PEER6.into()).unwrap());
}

/// Datagrams larger than the MTU leave as fragments in both families: IPv4 fragments, and an
/// IPv6 fragment header on each piece; every piece fits the MTU, offsets are multiples of 8,
/// pieces of one datagram share an identification, and put together they are the datagram.
#[test]
fn large_datagrams_leave_fragmented_in_both_families() {
    let caps = DeviceCaps { mtu: 1280, ..DeviceCaps::default() };
    let (mut iface, mut dev) = setup_caps(UdpConfig::default(), caps);
    let h4 = iface.udp_bind(sa(US4, 53)).unwrap();
    let h6 = iface.udp_bind(sa(US6, 53)).unwrap();
    let data: Vec<u8> = (0..4000u32).map(|i| (i * 7 + i / 13) as u8).collect();
    // Poll once so the interface knows the device's MTU.
    feed(&mut iface, &mut dev, Instant::ZERO, &[]);
    iface.udp_send(h6, None, Some(sa(PEER6, 9)), &data).unwrap();
    iface.udp_send(h6, None, Some(sa(PEER6, 9)), &data[..2000]).unwrap();
    iface.udp_send(h4, None, Some(sa(PEER4, 9)), &data).unwrap();
    let out = feed(&mut iface, &mut dev, Instant::ZERO, &[]);
    assert!(out.iter().all(|f| f.len() <= 1280), "a fragment is larger than the MTU");

    // IPv6: (ident, offset, more, bytes) of each piece.
    let mut v6 = Vec::new();
    let mut v4_pieces = Vec::new();
    for f in &out {
        if f[0] >> 4 == 6 {
            let p = Ipv6Packet::new_checked(&f[..]).unwrap();
            let up = p.upper_layer().unwrap();
            let frag = up.fragment.expect("every IPv6 piece carries a fragment header");
            assert_eq!(up.offset, 8);
            assert_eq!(p.payload()[0], IpProtocol::UDP.0, "the fragment header's next header");
            v6.push((frag.ident, frag.offset, frag.more_frags, p.payload()[8..].to_vec()));
        } else {
            let p = Ipv4Packet::new_checked(&f[..]).unwrap();
            let r = Ipv4Repr::parse(&p, ChecksumMode::Verify).unwrap();
            v4_pieces.push((r.ident, r.frag_offset, r.more_frags, p.payload().to_vec()));
        }
    }
    let join = |pieces: &[(u32, u16, bool, Vec<u8>)]| -> Vec<u8> {
        let mut whole = Vec::new();
        for (i, (_, off, more, bytes)) in pieces.iter().enumerate() {
            assert_eq!(usize::from(*off) * 8, whole.len(), "piece {i} starts where the last ended");
            assert_eq!(*more, i + 1 < pieces.len(), "M flag of piece {i}");
            assert!(!more || bytes.len() % 8 == 0);
            whole.extend_from_slice(bytes);
        }
        whole
    };
    let first: Vec<_> = v6.iter().filter(|p| p.0 == v6[0].0).cloned().collect();
    let second: Vec<_> = v6.iter().filter(|p| p.0 != v6[0].0).cloned().collect();
    assert_eq!((first.len(), second.len()), (4, 2));
    for (pieces, want) in [(&first, &data[..]), (&second, &data[..2000])] {
        let whole = join(pieces);
        let udp = synack_wire::UdpPacket::new_checked(&whole[..]).unwrap();
        assert!(udp.verify_checksum(US6.into(), PEER6.into()).unwrap());
        assert_eq!(&whole[8..], want);
    }
    let v4_pieces: Vec<_> =
        v4_pieces.into_iter().map(|(i, o, m, b)| (u32::from(i), o, m, b)).collect();
    assert!(v4_pieces.iter().all(|p| p.0 == v4_pieces[0].0));
    let whole = join(&v4_pieces);
    let udp = synack_wire::UdpPacket::new_checked(&whole[..]).unwrap();
    assert!(udp.verify_checksum(US4.into(), PEER4.into()).unwrap());
    assert_eq!(&whole[8..], &data[..]);
    // The largest datagram each family carries, and one byte more.
    assert!(iface.udp_send(h6, None, Some(sa(PEER6, 9)), &vec![0; 65527]).is_ok());
    assert_eq!(
        iface.udp_send(h6, None, Some(sa(PEER6, 9)), &vec![0; 65528]),
        Err(UdpError::TooBig)
    );
}
