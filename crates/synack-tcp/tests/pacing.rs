//! Pacing on the virtual clock: two endpoints back to back with a fixed delay, and the
//! departure time of every data segment A sends.

use std::net::SocketAddr;

use synack_tcp::{
    CongestionControl, ConnConfig, ConnId, Duration, Endpoint, EndpointConfig, Instant, Transmit,
};
use synack_wire::tcp::TcpRepr;

struct Pair {
    a: Endpoint,
    b: Endpoint,
    now: Instant,
    delay: Duration,
    /// (arrival, to B, transmit, bytes)
    wire: Vec<(Instant, bool, Transmit, Vec<u8>)>,
    /// A's data segments: (departure, payload bytes).
    departures: Vec<(Instant, usize)>,
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

impl Pair {
    fn new(cfg: ConnConfig) -> Pair {
        let ec = EndpointConfig { conn: cfg, ..EndpointConfig::default() };
        Pair {
            a: Endpoint::new(ec, [1; 16], 1),
            b: Endpoint::new(ec, [2; 16], 2),
            now: Instant::from_secs(10),
            delay: Duration::from_millis(25),
            wire: Vec::new(),
            departures: Vec::new(),
        }
    }

    fn collect(&mut self) {
        let mut buf = vec![0u8; 2000];
        while let Some(t) = self.a.poll_transmit(self.now, &mut buf) {
            let payload = t.len - t.header_len;
            if payload > 0 {
                self.departures.push((self.now, payload));
            }
            self.wire.push((self.now + self.delay, true, t, buf[..t.len].to_vec()));
        }
        while let Some(t) = self.b.poll_transmit(self.now, &mut buf) {
            self.wire.push((self.now + self.delay, false, t, buf[..t.len].to_vec()));
        }
        while self.a.poll_event().is_some() {}
        while self.b.poll_event().is_some() {}
    }

    /// Runs for `d`, delivering segments and firing timers in time order.
    fn run(&mut self, d: Duration) {
        let end = self.now + d;
        for _ in 0..1_000_000 {
            self.collect();
            let next_seg = self.wire.iter().map(|w| w.0).min();
            let next_timer =
                [self.a.poll_timeout(), self.b.poll_timeout()].into_iter().flatten().min();
            let Some(next) =
                [next_seg, next_timer].into_iter().flatten().min().filter(|n| *n <= end)
            else {
                break;
            };
            self.now = self.now.max(next);
            let (due, rest): (Vec<_>, Vec<_>) =
                std::mem::take(&mut self.wire).into_iter().partition(|w| w.0 <= self.now);
            self.wire = rest;
            for (_, to_b, t, bytes) in due {
                let repr = TcpRepr::parse_bytes(
                    &bytes,
                    t.src.ip(),
                    t.dst.ip(),
                    synack_wire::ChecksumMode::Verify,
                )
                .expect("valid segment");
                let ep = if to_b { &mut self.b } else { &mut self.a };
                ep.on_segment(self.now, t.src.ip(), t.dst.ip(), &repr);
            }
            self.a.on_timeout(self.now);
            self.b.on_timeout(self.now);
        }
        self.now = end;
        self.collect();
    }

    fn drain_b(&mut self, c: ConnId) {
        let mut b = [0u8; 65536];
        while matches!(self.b.recv(c, &mut b), Ok(n) if n > 0) {}
    }
}

fn connected(cfg: ConnConfig) -> (Pair, ConnId, ConnId) {
    let mut p = Pair::new(cfg);
    let l = p.b.listen(addr("10.0.0.2:80"), 8).unwrap();
    let ca = p.a.connect(p.now, addr("10.0.0.1:0"), addr("10.0.0.2:80"), cfg).unwrap();
    p.run(Duration::from_millis(100));
    let cb = p.b.accept(l).expect("accepted");
    (p, ca, cb)
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
    p.departures.clear();
    p.a.send(ca, &vec![7u8; 100_000]).unwrap();
    p.run(Duration::from_millis(40));
    let first: Vec<_> = p.departures.iter().take(10).collect();
    assert_eq!(first.len(), 10, "the whole initial window left within 40 ms");
    for w in first.windows(2) {
        assert_eq!(w[0].1, 1448);
        assert_eq!(w[1].0.saturating_since(w[0].0), Duration::from_micros(2500));
    }
}

#[test]
fn unpaced_first_flight_is_one_burst() {
    let (mut p, ca, _cb) = connected(ConnConfig::default());
    p.departures.clear();
    p.a.send(ca, &vec![7u8; 100_000]).unwrap();
    p.run(Duration::from_millis(40));
    assert_eq!(p.departures.len(), 10);
    assert!(p.departures.iter().all(|d| d.0 == p.departures[0].0));
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
    p.departures.clear();
    p.a.send(ca, &vec![7u8; 100_000]).unwrap();
    p.run(Duration::from_millis(45));
    assert_eq!(p.departures.len(), 5, "t = 0, 10, 20, 30, 40 ms");
    for w in p.departures.windows(2) {
        assert_eq!(w[1].0.saturating_since(w[0].0), Duration::from_millis(10));
    }
}

/// BBR always paces (its Startup rate: 2.77 times its estimate, the initial window over the
/// SYN's RTT before any delivery sample), and the delivery figures count what arrived.
#[test]
fn bbr_paces_and_reports_delivery() {
    let cfg = ConnConfig { congestion_control: CongestionControl::Bbr, ..ConnConfig::default() };
    let (mut p, ca, cb) = connected(cfg);
    p.departures.clear();
    p.a.send(ca, &vec![7u8; 100_000]).unwrap();
    p.run(Duration::from_millis(10));
    // t = 0, 1.806, ..., 9.030 ms.
    assert_eq!(p.departures.len(), 6);
    // 2.77 * 14,480 bytes / 50 ms = 802,192 B/s: 1448 bytes every 1806 us (rounded up).
    assert_eq!(p.a.stats(ca).unwrap().pacing_rate, Some(802_192));
    assert_eq!(p.departures[1].0.saturating_since(p.departures[0].0), Duration::from_micros(1806));
    for _ in 0..20 {
        p.run(Duration::from_millis(50));
        p.drain_b(cb);
    }
    let st = p.a.stats(ca).unwrap();
    assert_eq!(st.bytes_acked, 100_000);
    // 100,000 bytes in 1448-byte segments: 70 segments, plus the SYN.
    assert_eq!(st.delivered, 71);
    assert_eq!(st.delivered_ce, 0);
    assert!(st.delivery_rate.is_some_and(|r| r > 100_000), "{:?}", st.delivery_rate);
}
