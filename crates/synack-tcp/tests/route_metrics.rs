//! Per-destination route metrics (`Endpoint::set_route`: Linux's `ip route ... advmss N mtu
//! [lock] N initcwnd N`) and Linux's way of sending path MTU probes (`ProbeStyle::Linux`), end
//! to end on a virtual clock. A is the passive side here, so its departures are logged.

mod pair_common;
use pair_common::*;
use synack_tcp::{
    ConnConfig, ConnId, Duration, IcmpError, MtuProbing, ProbeStyle, RouteMetrics, State,
};

/// IPv4 and TCP headers with the timestamps option every data segment carries.
const HDRS: usize = 20 + 20 + 12;

fn b_ip() -> std::net::IpAddr {
    addr("10.0.0.2:0").ip()
}

/// A listens, B connects; `route` is A's route to B, set before the handshake.
fn accepted_pair(cfg: ConnConfig, route: RouteMetrics) -> (Pair, ConnId, ConnId) {
    let mut p = Pair::new(cfg);
    p.a.set_route(b_ip(), Some(route));
    let l = p.a.listen(addr("10.0.0.1:80"), 8).unwrap();
    let cb = p.b.connect(p.now, addr("10.0.0.2:0"), addr("10.0.0.1:80"), cfg).unwrap();
    p.run(Duration::from_millis(100));
    let ca = p.a.accept(l).expect("accepted");
    assert_eq!(p.a.state(ca), Ok(State::Established));
    assert_eq!(p.b.state(cb), Ok(State::Established));
    (p, ca, cb)
}

fn small_route() -> RouteMetrics {
    RouteMetrics { advmss: Some(600), mtu: Some(640), mtu_locked: true, initcwnd: Some(11) }
}

/// Sizes of A's data segments sent from `from` on.
fn sizes_since(p: &Pair, from: usize) -> Vec<usize> {
    p.a_departures[from..].iter().map(|d| d.1).collect()
}

#[test]
fn a_route_sets_the_announced_mss_the_path_mtu_and_the_initial_window() {
    let (mut p, ca, cb) = accepted_pair(ConnConfig::default(), small_route());
    // B sends in the MSS A's route announces, A in the route's MTU.
    assert_eq!(p.b.stats(cb).unwrap().snd_mss as usize, 600 - 12);
    let st = p.a.stats(ca).unwrap();
    assert_eq!((st.pmtu, st.snd_mss as usize), (640, 640 - HDRS));
    // The first flight is the route's 11 segments, not RFC 6928's 10.
    p.a.send(ca, &[5u8; 20_000]).unwrap();
    p.run(Duration::from_millis(1));
    assert_eq!(sizes_since(&p, 0), vec![640 - HDRS; 11]);
    // Connections to other destinations keep the defaults.
    let (mut q, qa, _) = accepted_pair(ConnConfig::default(), RouteMetrics::default());
    q.a.send(qa, &[5u8; 20_000]).unwrap();
    q.run(Duration::from_millis(1));
    assert_eq!(sizes_since(&q, 0), vec![1500 - HDRS; 10]);
}

#[test]
fn a_changed_route_mtu_reaches_open_connections() {
    let (mut p, ca, cb) = accepted_pair(ConnConfig::default(), small_route());
    p.a.set_route(b_ip(), Some(RouteMetrics { mtu: Some(1000), ..small_route() }));
    assert_eq!(p.a.stats(ca).unwrap().pmtu, 1000);
    p.a.send(ca, &[5u8; 3000]).unwrap();
    p.run(Duration::from_millis(100));
    assert_eq!(read_all(&mut p.b, cb).0.len(), 3000);
    // B announced 1460, so the route's 1000 is what limits A now.
    assert_eq!(sizes_since(&p, 0)[0], 1000 - HDRS);
    // A route MTU above the link's is held to the link's.
    p.a.set_route(b_ip(), Some(RouteMetrics { mtu: Some(9000), ..small_route() }));
    assert_eq!(p.a.stats(ca).unwrap().pmtu, 1500);
}

#[test]
fn a_locked_route_mtu_ignores_packet_too_big() {
    for locked in [true, false] {
        let route = RouteMetrics { mtu: Some(1500), mtu_locked: locked, ..small_route() };
        let (mut p, ca, _cb) = accepted_pair(ConnConfig::default(), route);
        p.a.send(ca, &[5u8; 3000]).unwrap();
        p.run(Duration::from_millis(1));
        let una = p.a.stats(ca).unwrap().snd_una;
        let ptb = IcmpError::PacketTooBig { mtu: 1200 };
        let t = p.a.four_tuple(ca).unwrap();
        p.a.on_icmp_error(p.now, t.local, t.remote, una, ptb);
        let want = if locked { 1500 } else { 1200 };
        assert_eq!(p.a.stats(ca).unwrap().pmtu, want, "locked: {locked}");
    }
}

fn linux_probing(style: ProbeStyle) -> ConnConfig {
    ConnConfig {
        mtu_probing: Some(MtuProbing { base_mss: 512, style, ..MtuProbing::linux(true) }),
        ..ConnConfig::default()
    }
}

#[test]
fn linux_style_probing_sends_on_behind_a_probe_from_the_handshake_size() {
    let (mut p, ca, cb) = accepted_pair(linux_probing(ProbeStyle::Linux), small_route());
    // The passive open keeps its handshake's size; the search starts at the base (552).
    assert_eq!(p.a.stats(ca).unwrap().snd_mss as usize, 640 - HDRS);
    let big = RouteMetrics { advmss: Some(1460), mtu: Some(1500), ..small_route() };
    p.a.set_route(b_ip(), Some(big));
    p.a.send(ca, &[5u8; 4000]).unwrap();
    p.run(Duration::from_millis(1));
    // One probe halfway between 552 and 1500, then the rest in the current size at once,
    // without waiting for the probe's ACK.
    let probe = (552 + 1500) / 2 - HDRS;
    let small = 640 - HDRS;
    let first = sizes_since(&p, 0);
    assert_eq!(first[0], probe, "{first:?}");
    assert!(first[1..].iter().all(|&n| n <= small) && first.len() > 2, "{first:?}");
    p.run(Duration::from_millis(100));
    assert_eq!(read_all(&mut p.b, cb).0.len(), 4000);
    // The probe got through: its size is the connection's. 2000 bytes are too few to hold
    // another probe and four segments after it, so none goes.
    assert_eq!(p.a.stats(ca).unwrap().snd_mss as usize, probe);
    let before = p.a_departures.len();
    p.a.send(ca, &[5u8; 2000]).unwrap();
    p.run(Duration::from_millis(100));
    assert_eq!(sizes_since(&p, before), vec![probe, probe, 2000 - 2 * probe]);
}

#[test]
fn linux_style_probing_waits_for_a_window_of_eleven_segments() {
    for initcwnd in [None, Some(11)] {
        let route = RouteMetrics { initcwnd, ..small_route() };
        let (mut p, ca, _cb) = accepted_pair(linux_probing(ProbeStyle::Linux), route);
        let big = RouteMetrics { advmss: Some(1460), mtu: Some(1500), ..route };
        p.a.set_route(b_ip(), Some(big));
        p.a.send(ca, &[5u8; 6000]).unwrap();
        p.run(Duration::from_millis(1));
        let s = sizes_since(&p, 0);
        let probed = s.iter().any(|&n| n > 640 - HDRS);
        assert_eq!(probed, initcwnd.is_some(), "initcwnd {initcwnd:?}: {s:?}");
    }
}

#[test]
fn rfc4821_style_probing_holds_new_data_behind_a_probe() {
    let big = RouteMetrics { advmss: Some(1460), mtu: Some(1500), ..small_route() };
    let (mut p, ca, _cb) = accepted_pair(linux_probing(ProbeStyle::Rfc4821), big);
    p.a.send(ca, &[5u8; 4000]).unwrap();
    p.run(Duration::from_millis(1));
    // The search starts at the base size and its probe travels alone.
    assert_eq!(sizes_since(&p, 0), vec![(552 + 1500) / 2 - HDRS]);
}

#[test]
fn linux_style_probe_whose_bytes_are_retransmitted_failed() {
    let (mut p, ca, cb) = accepted_pair(linux_probing(ProbeStyle::Linux), small_route());
    let big = RouteMetrics { advmss: Some(1460), mtu: Some(1500), ..small_route() };
    p.a.set_route(b_ip(), Some(big));
    // The path carries only the current size: the probe is dropped, the data after it
    // arrives and its duplicate ACKs have the probe's bytes sent again.
    p.path_mtu = Some(640);
    p.a.send(ca, &[5u8; 6000]).unwrap();
    p.run(Duration::from_secs(3));
    assert_eq!(read_all(&mut p.b, cb).0.len(), 6000);
    let st = p.a.stats(ca).unwrap();
    assert_eq!(st.snd_mss as usize, 640 - HDRS, "the failed probe's size is not taken: {st:?}");
    assert!(st.retransmits > 0, "{st:?}");
}
