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
