//! Packetization-layer path MTU discovery (RFC 4821, `ConnConfig::mtu_probing`) end to end on
//! a virtual clock: a path that drops packets above its MTU without an ICMP error, probes of
//! new data searching upward, and what a lost probe must not do (count as congestion).

mod pair_common;
use pair_common::*;
use synack_tcp::{ConnConfig, Duration, IcmpError, MtuProbing};

/// The link MTU both ends have (the endpoint default).
const LINK_MTU: usize = 1500;
/// IPv4 and TCP headers with the timestamps option every data segment carries.
const HDRS: usize = 20 + 20 + 12;

fn probing(always: bool) -> ConnConfig {
    ConnConfig { mtu_probing: Some(MtuProbing::linux(always)), ..ConnConfig::default() }
}

/// Sends `total` bytes from A to B over a path of `path_mtu`, reading at B; returns the pair
/// and A's connection after `secs` virtual seconds.
fn transfer(
    cfg: ConnConfig,
    path_mtu: usize,
    total: usize,
    secs: u64,
) -> (Pair, synack_tcp::ConnId, Option<u32>) {
    let (mut p, ca, cb) = connected_pair(cfg);
    let ssthresh = p.a.stats(ca).unwrap().ssthresh;
    p.path_mtu = Some(path_mtu);
    let data = vec![7u8; total];
    let mut sent = 0;
    let mut got = 0;
    for _ in 0..(secs * 100) {
        if sent < total {
            sent += p.a.send(ca, &data[sent..]).unwrap_or(0);
        }
        p.run(Duration::from_millis(10));
        got += read_all(&mut p.b, cb).0.len();
    }
    assert_eq!(got, total, "everything arrives");
    (p, ca, ssthresh)
}

/// Payload sizes of A's data segments, in order.
fn sizes(p: &Pair) -> Vec<usize> {
    p.a_departures.iter().map(|d| d.1).collect()
}

#[test]
fn off_by_default_every_segment_has_the_link_size() {
    assert_eq!(ConnConfig::default().mtu_probing, None);
    let (p, ca, _) = transfer(ConnConfig::default(), LINK_MTU, 200_000, 5);
    let s = sizes(&p);
    let mss = LINK_MTU - HDRS;
    assert!(s[..s.len() - 1].iter().all(|&n| n == mss), "no probes, one size: {s:?}");
    assert_eq!(p.a.stats(ca).unwrap().pmtu as usize, LINK_MTU);
}

#[test]
fn always_probing_on_a_full_path_reaches_the_link_size() {
    let (p, ca, _) = transfer(probing(true), LINK_MTU, 400_000, 10);
    let s = sizes(&p);
    // The search starts at the base MSS (1024); the first segment is a probe halfway to the
    // link MTU.
    let base_mtu = 1024 + 40;
    assert_eq!(s[0], (base_mtu + LINK_MTU) / 2 - HDRS, "{s:?}");
    let st = p.a.stats(ca).unwrap();
    let mss = LINK_MTU - HDRS;
    // The search stops when less than the threshold (8 bytes) is left.
    assert!(st.snd_mss as usize > mss - 8 && st.snd_mss as usize <= mss, "{st:?}");
    assert_eq!(st.retransmits, 0);
    assert_eq!(st.timeouts, 0);
}

#[test]
fn always_probing_finds_a_smaller_path_without_counting_lost_probes_as_congestion() {
    let path = 1300;
    let (p, ca, ssthresh) = transfer(probing(true), path, 400_000, 30);
    let st = p.a.stats(ca).unwrap();
    let mss = path - HDRS;
    assert!(st.snd_mss as usize > mss - 8 && st.snd_mss as usize <= mss, "{st:?}");
    assert!(st.pmtu as usize <= path, "{st:?}");
    // Probes were lost (and their bytes sent again), but no loss was taken for congestion:
    // the window was never reduced and the timer never backed off for them.
    assert!(st.retransmits > 0, "some probes were too big");
    assert_eq!(st.lost, 0, "{st:?}");
    assert_eq!(st.ssthresh, ssthresh, "{st:?}");
    assert_eq!(st.timeouts, 0, "{st:?}");
    // Nothing but the lost probes' bytes went twice.
    let too_big: usize = sizes(&p).iter().filter(|&&n| n + HDRS > path).sum();
    assert!(too_big > 0);
    assert_eq!(st.bytes_sent - 400_000, too_big as u64, "{st:?}");
}

#[test]
fn probing_after_a_black_hole_starts_when_timeouts_repeat() {
    let path = 1300;
    let (p, ca, _) = transfer(probing(false), path, 100_000, 60);
    let st = p.a.stats(ca).unwrap();
    let mss = path - HDRS;
    assert!(st.timeouts >= 3, "the black hole cost R1 timeouts first: {st:?}");
    assert!(st.snd_mss as usize > mss - 8 && st.snd_mss as usize <= mss, "{st:?}");
}

#[test]
fn without_probing_a_black_hole_stalls_the_connection() {
    let (mut p, ca, _cb) = connected_pair(ConnConfig::default());
    p.path_mtu = Some(1300);
    p.a.send(ca, &[1u8; 20_000]).unwrap();
    p.run(Duration::from_secs(30));
    let st = p.a.stats(ca).unwrap();
    assert_eq!(st.bytes_acked, 0, "{st:?}");
}

#[test]
fn an_ended_search_starts_again_after_the_reprobe_interval() {
    let (mut p, ca, cb) = connected_pair(probing(true));
    p.path_mtu = Some(1300);
    let data = vec![7u8; 200_000];
    let pump = |p: &mut Pair, secs: u64| {
        let mut sent = 0;
        for _ in 0..(secs * 100) {
            if sent < data.len() {
                sent += p.a.send(ca, &data[sent..]).unwrap_or(0);
            }
            p.run(Duration::from_millis(10));
            read_all(&mut p.b, cb);
        }
    };
    pump(&mut p, 20);
    assert_eq!(p.a.stats(ca).unwrap().snd_mss as usize, 1300 - HDRS);
    // The path now carries the link's size; before the interval the search stays ended.
    p.path_mtu = None;
    pump(&mut p, 20);
    assert_eq!(p.a.stats(ca).unwrap().snd_mss as usize, 1300 - HDRS);
    p.run(Duration::from_secs(600));
    pump(&mut p, 20);
    let mss = p.a.stats(ca).unwrap().snd_mss as usize;
    assert!(mss > LINK_MTU - HDRS - 8 && mss <= LINK_MTU - HDRS, "{mss}");
}

#[test]
fn a_packet_too_big_for_a_probe_caps_the_search_without_waiting_for_a_timeout() {
    let path = 1200;
    let (mut p, ca, cb) = connected_pair(probing(true));
    p.path_mtu = Some(path);
    let total = 200_000;
    let data = vec![7u8; total];
    let mut sent = p.a.send(ca, &data).unwrap();
    p.collect();
    // The first segment is a probe larger than the path: the router says so.
    let (_, probe) =
        *p.log.iter().rev().find(|(from_a, t)| *from_a && t.len > t.header_len).unwrap();
    assert!(probe.len + 20 > path);
    let una = p.a.stats(ca).unwrap().snd_una;
    let mtu = u16::try_from(path).unwrap();
    p.a.on_icmp_error(p.now, probe.src, probe.dst, una, IcmpError::PacketTooBig { mtu });
    for _ in 0..1000 {
        if sent < total {
            sent += p.a.send(ca, &data[sent..]).unwrap_or(0);
        }
        p.run(Duration::from_millis(10));
        read_all(&mut p.b, cb);
    }
    let st = p.a.stats(ca).unwrap();
    let mss = path - HDRS;
    assert!(st.snd_mss as usize > mss - 8 && st.snd_mss as usize <= mss, "{st:?}");
    assert_eq!(st.bytes_acked, total as u64);
    // Only the first probe went twice: the later ones stayed within the reported MTU.
    assert_eq!(st.bytes_sent - total as u64, (probe.len - probe.header_len) as u64, "{st:?}");
    assert_eq!(st.timeouts, 0);
}
