//! Pacing on the virtual clock: two endpoints back to back with a fixed delay, and the
//! departure time of every data segment A sends.

mod pair_common;

use pair_common::{Pair, connected_pair_with_delay, drain};
use synack_tcp::{CongestionControl, ConnConfig, ConnId, Duration};

fn connected(cfg: ConnConfig) -> (Pair, ConnId, ConnId) {
    connected_pair_with_delay(cfg, Duration::from_millis(25))
}

/// The first flight after the handshake: CUBIC in slow start with a 50 ms SRTT (the SYN's
/// sample) and an initial window of 10 segments of 1448 bytes paces at 200% of
/// 14,480 bytes / 50 ms = 579,200 B/s, so one segment every 1448 / 579,200 s = 2.5 ms.
#[test]
fn paced_first_flight_leaves_one_segment_every_2500_us() {
    let cfg = ConnConfig { pacing: true, ..ConnConfig::default() };
    let (mut p, ca, _cb) = connected(cfg);
    let st = p.a.stats(ca).unwrap();
    assert_eq!(st.srtt, Some(Duration::from_millis(50)));
    assert_eq!(st.pacing_rate, Some(579_200));
    assert_eq!(st.max_pacing_rate, None);
    p.a_departures.clear();
    p.a.send(ca, &vec![7u8; 100_000]).unwrap();
    p.run(Duration::from_millis(40));
    let first: Vec<_> = p.a_departures.iter().take(10).collect();
    assert_eq!(first.len(), 10, "the whole initial window left within 40 ms");
    for w in first.windows(2) {
        assert_eq!(w[0].1, 1448);
        assert_eq!(w[1].0.saturating_since(w[0].0), Duration::from_micros(2500));
    }
}

#[test]
fn unpaced_first_flight_is_one_burst() {
    let (mut p, ca, _cb) = connected(ConnConfig::default());
    p.a_departures.clear();
    p.a.send(ca, &vec![7u8; 100_000]).unwrap();
    p.run(Duration::from_millis(40));
    assert_eq!(p.a_departures.len(), 10);
    assert!(p.a_departures.iter().all(|d| d.0 == p.a_departures[0].0));
    // The rate is still reported (Linux's tcpi_pacing_rate), though nothing is paced.
    assert_eq!(p.a.stats(ca).unwrap().pacing_rate, Some(579_200));
}

/// `max_pacing_rate` (SO_MAX_PACING_RATE) paces even without `pacing`: 144,800 B/s is one
/// 1448-byte segment per 10 ms.
#[test]
fn max_pacing_rate_caps_and_paces() {
    let cfg = ConnConfig { max_pacing_rate: Some(144_800), ..ConnConfig::default() };
    let (mut p, ca, _cb) = connected(cfg);
    assert_eq!(p.a.stats(ca).unwrap().pacing_rate, Some(144_800));
    assert_eq!(p.a.stats(ca).unwrap().max_pacing_rate, Some(144_800));
    p.a_departures.clear();
    p.a.send(ca, &vec![7u8; 100_000]).unwrap();
    p.run(Duration::from_millis(45));
    assert_eq!(p.a_departures.len(), 5, "t = 0, 10, 20, 30, 40 ms");
    for w in p.a_departures.windows(2) {
        assert_eq!(w[1].0.saturating_since(w[0].0), Duration::from_millis(10));
    }
}

/// BBR always paces (its Startup rate: 2.77 times its estimate, the initial window over the
/// SYN's RTT before any delivery sample), and the delivery figures count what arrived.
#[test]
fn bbr_paces_and_reports_delivery() {
    let cfg = ConnConfig { congestion_control: CongestionControl::Bbr, ..ConnConfig::default() };
    let (mut p, ca, cb) = connected(cfg);
    p.a_departures.clear();
    p.a.send(ca, &vec![7u8; 100_000]).unwrap();
    p.run(Duration::from_millis(10));
    // t = 0, 1.806, ..., 9.030 ms.
    assert_eq!(p.a_departures.len(), 6);
    // 2.77 * 14,480 bytes / 50 ms = 802,192 B/s: 1448 bytes every 1806 us (rounded up).
    assert_eq!(p.a.stats(ca).unwrap().pacing_rate, Some(802_192));
    assert_eq!(
        p.a_departures[1].0.saturating_since(p.a_departures[0].0),
        Duration::from_micros(1806)
    );
    for _ in 0..20 {
        p.run(Duration::from_millis(50));
        drain(&mut p.b, cb);
    }
    let st = p.a.stats(ca).unwrap();
    assert_eq!(st.bytes_acked, 100_000);
    // 100,000 bytes in 1448-byte segments: 70 segments, plus the SYN.
    assert_eq!(st.delivered, 71);
    assert_eq!(st.delivered_ce, 0);
    assert!(st.delivery_rate.is_some_and(|r| r > 100_000), "{:?}", st.delivery_rate);
}
