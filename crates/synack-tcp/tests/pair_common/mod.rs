//! Two endpoints wired back to back on a virtual clock with a fixed one-way delay, shared by
//! the tests that drive a connection end to end (`pair`, `pacing`). Every segment travels as
//! its real bytes and is parsed again on arrival, so the wire parser checks what the engine
//! emits.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::vec::Vec;

use synack_tcp::{
    ConnConfig, ConnId, Duration, Endpoint, EndpointConfig, Event, Instant, State, Transmit,
};
use synack_wire::tcp::TcpRepr;

pub(crate) struct Owned {
    pub(crate) t: Transmit,
    pub(crate) bytes: Vec<u8>,
}

pub(crate) struct Pair {
    pub(crate) a: Endpoint,
    pub(crate) b: Endpoint,
    pub(crate) now: Instant,
    /// One-way delay.
    pub(crate) delay: Duration,
    /// (arrival time, to_b, segment)
    pub(crate) wire: Vec<(Instant, bool, Owned)>,
    pub(crate) a_events: Vec<Event>,
    pub(crate) b_events: Vec<Event>,
    /// Do not take B's output (so it can fold several actions into one segment).
    pub(crate) hold_b: bool,
    /// Every segment sent: (from A, what).
    pub(crate) log: Vec<(bool, Transmit)>,
    /// A's data segments: (departure, payload bytes).
    pub(crate) a_departures: Vec<(Instant, usize)>,
    /// The path's MTU (IP packet bytes): larger packets are dropped without a word (a path
    /// MTU black hole). `None` carries everything.
    pub(crate) path_mtu: Option<usize>,
}

pub(crate) fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

impl Pair {
    pub(crate) fn new(cfg: ConnConfig) -> Pair {
        let ec = EndpointConfig { conn: cfg, ..EndpointConfig::default() };
        Pair {
            a: Endpoint::new(ec, [1; 16], 1),
            b: Endpoint::new(ec, [2; 16], 2),
            now: Instant::from_secs(10),
            delay: Duration::from_millis(10),
            wire: Vec::new(),
            a_events: Vec::new(),
            b_events: Vec::new(),
            hold_b: false,
            log: Vec::new(),
            a_departures: Vec::new(),
            path_mtu: None,
        }
    }

    pub(crate) fn collect(&mut self) {
        let mut buf = vec![0u8; 2000];
        while let Some(t) = self.a.poll_transmit(self.now, &mut buf) {
            let bytes = buf[..t.len].to_vec();
            if t.len > t.header_len {
                self.a_departures.push((self.now, t.len - t.header_len));
            }
            self.log.push((true, t));
            if self.fits_path(&t) {
                self.wire.push((self.now + self.delay, true, Owned { t, bytes }));
            }
        }
        while !self.hold_b
            && let Some(t) = self.b.poll_transmit(self.now, &mut buf)
        {
            let bytes = buf[..t.len].to_vec();
            self.log.push((false, t));
            if self.fits_path(&t) {
                self.wire.push((self.now + self.delay, false, Owned { t, bytes }));
            }
        }
        while let Some(e) = self.a.poll_event() {
            self.a_events.push(e);
        }
        while let Some(e) = self.b.poll_event() {
            self.b_events.push(e);
        }
    }

    /// Whether the IP packet carrying `t` gets through `path_mtu`.
    fn fits_path(&self, t: &Transmit) -> bool {
        let ip = if t.src.is_ipv4() { 20 } else { 40 };
        self.path_mtu.is_none_or(|m| t.len + ip <= m)
    }

    /// Runs until `until`, delivering segments and firing timers in time order.
    pub(crate) fn run(&mut self, d: Duration) {
        let end = self.now + d;
        for _ in 0..1_000_000 {
            self.collect();
            let next_seg = self.wire.iter().map(|w| w.0).min();
            let next_timer =
                [self.a.poll_timeout(), self.b.poll_timeout()].into_iter().flatten().min();
            let next = [next_seg, next_timer].into_iter().flatten().min();
            let Some(next) = next.filter(|n| *n <= end) else { break };
            self.now = self.now.max(next);
            // Deliver every segment due now, in order.
            let mut due = Vec::new();
            let mut i = 0;
            while i < self.wire.len() {
                if self.wire[i].0 <= self.now {
                    due.push(self.wire.remove(i));
                } else {
                    i += 1;
                }
            }
            for (_, to_b, o) in due {
                // Through the real bytes: the wire parser checks the checksum and options.
                let repr = TcpRepr::parse_bytes(
                    &o.bytes,
                    o.t.src.ip(),
                    o.t.dst.ip(),
                    synack_wire::ChecksumMode::Verify,
                )
                .expect("the engine emits valid segments");
                assert_eq!(repr, TcpRepr { raw_options: None, ..o.t.repr(&o.bytes) });
                let ep = if to_b { &mut self.b } else { &mut self.a };
                ep.on_segment(self.now, o.t.src.ip(), o.t.dst.ip(), &repr);
            }
            self.a.on_timeout(self.now);
            self.b.on_timeout(self.now);
        }
        self.now = end;
        self.collect();
    }
}

pub(crate) fn connected_pair(cfg: ConnConfig) -> (Pair, ConnId, ConnId) {
    connected_pair_with_delay(cfg, Duration::from_millis(10))
}

/// A connected pair whose one-way delay is `delay` from the first SYN on.
pub(crate) fn connected_pair_with_delay(
    cfg: ConnConfig,
    delay: Duration,
) -> (Pair, ConnId, ConnId) {
    let mut p = Pair::new(cfg);
    p.delay = delay;
    let l = p.b.listen(addr("10.0.0.2:80"), 8).unwrap();
    let ca = p.a.connect(p.now, addr("10.0.0.1:0"), addr("10.0.0.2:80"), cfg).unwrap();
    p.run(Duration::from_millis(100));
    let cb = p.b.accept(l).expect("accepted");
    assert_eq!(p.a.state(ca), Ok(State::Established));
    assert_eq!(p.b.state(cb), Ok(State::Established));
    (p, ca, cb)
}

/// Reads and discards whatever `c` has in order.
pub(crate) fn drain(ep: &mut Endpoint, c: ConnId) {
    let mut b = [0u8; 65536];
    while matches!(ep.recv(c, &mut b), Ok(n) if n > 0) {}
}

pub(crate) fn read_all(ep: &mut Endpoint, c: ConnId) -> (Vec<u8>, bool) {
    let mut v = Vec::new();
    let mut b = [0u8; 8192];
    loop {
        match ep.recv(c, &mut b) {
            Ok(0) => return (v, true),
            Ok(n) => v.extend_from_slice(&b[..n]),
            Err(_) => return (v, false),
        }
    }
}
