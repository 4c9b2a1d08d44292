//! Failure paths through the blocking API: a wire that goes dead (user timeout, keep-alive),
//! a peer that stops reading (write timeout with backpressure), and IPv6. Two stacks on the
//! in-memory link with real driver threads; every wait is bounded.

use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use synack::net::{KeepAlive, TcpListener, TcpStream, memory_pair, memory_pair_with};
use synack::{IpCidr, Stack, StackConfig};
use synack_stack::DeviceCaps;
use synack_stack::phy::{Frame, IdealPath, Link, PathModel};

const STEP: Duration = Duration::from_secs(5);

/// A perfect wire that can be cut: once cut, every frame is lost.
struct Cuttable {
    inner: IdealPath,
    cut: Arc<AtomicBool>,
}

impl PathModel for Cuttable {
    fn push(&mut self, now: synack_tcp::Instant, frame: Frame) -> Result<(), Frame> {
        if self.cut.load(Ordering::Acquire) { Err(frame) } else { self.inner.push(now, frame) }
    }

    fn pop(&mut self, now: synack_tcp::Instant) -> Option<Frame> {
        self.inner.pop(now)
    }

    fn next_arrival(&self) -> Option<synack_tcp::Instant> {
        self.inner.next_arrival()
    }
}

/// A perfect wire that loses every `every`-th frame (deterministic loss).
struct EveryNth {
    inner: IdealPath,
    every: u64,
    count: u64,
}

impl PathModel for EveryNth {
    fn push(&mut self, now: synack_tcp::Instant, frame: Frame) -> Result<(), Frame> {
        self.count += 1;
        if self.count == self.every {
            self.count = 0;
            return Err(frame);
        }
        self.inner.push(now, frame)
    }

    fn pop(&mut self, now: synack_tcp::Instant) -> Option<Frame> {
        self.inner.pop(now)
    }

    fn next_arrival(&self) -> Option<synack_tcp::Instant> {
        self.inner.next_arrival()
    }
}

/// Two stacks over a wire that `cut` kills in both directions.
fn cuttable_pair() -> (Arc<Stack>, Arc<Stack>, Arc<AtomicBool>) {
    let cut = Arc::new(AtomicBool::new(false));
    let path = || Box::new(Cuttable { inner: IdealPath::new(4096), cut: cut.clone() });
    let link = Link::pair(DeviceCaps::default(), path(), path());
    let cidr = |s: &str| IpCidr::new(s.parse().unwrap(), 24).unwrap();
    let ca = StackConfig { addresses: vec![cidr("10.0.0.1")], ..StackConfig::default() };
    let cb = StackConfig { addresses: vec![cidr("10.0.0.2")], ..StackConfig::default() };
    let (a, b) = memory_pair_with(link, ca, cb).unwrap();
    (a, b, cut)
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn connect(a: &Arc<Stack>, b: &Arc<Stack>, at: &str) -> (TcpListener, TcpStream, TcpStream) {
    let l = TcpListener::bind(b, addr(at)).unwrap();
    let c = TcpStream::connect_timeout(a, &addr(at), STEP).unwrap();
    let (s, _) = l.accept_timeout(STEP).unwrap();
    for x in [&c, &s] {
        x.set_read_timeout(Some(STEP)).unwrap();
        x.set_write_timeout(Some(STEP)).unwrap();
    }
    (l, c, s)
}

#[test]
fn user_timeout_on_a_dead_wire_is_timed_out() {
    let (a, b, cut) = cuttable_pair();
    let (_l, mut c, _s) = connect(&a, &b, "10.0.0.2:20");
    c.set_user_timeout(Some(Duration::from_millis(300))).unwrap();
    cut.store(true, Ordering::Release);
    c.write_all(b"into the void").unwrap();
    let mut buf = [0u8; 8];
    let e = c.read(&mut buf).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
    // Reported once (Linux clears sk_err): the next write is a broken pipe.
    assert_eq!(c.write(b"more").unwrap_err().kind(), ErrorKind::BrokenPipe);
}

#[test]
fn keepalive_finds_a_dead_peer() {
    let (a, b, cut) = cuttable_pair();
    let (_l, mut c, _s) = connect(&a, &b, "10.0.0.2:21");
    let ka = KeepAlive {
        idle: Duration::from_millis(100),
        interval: Duration::from_millis(50),
        probes: 3,
    };
    c.set_keepalive(Some(ka)).unwrap();
    cut.store(true, Ordering::Release);
    let mut buf = [0u8; 8];
    let e = c.read(&mut buf).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
}

#[test]
fn keepalive_keeps_a_live_idle_connection() {
    let (a, b, _cut) = cuttable_pair();
    let (_l, mut c, mut s) = connect(&a, &b, "10.0.0.2:22");
    // The peer answers a probe (a segment below its window) at most once per 500 ms, as
    // Linux rate-limits ACKs to unacceptable segments, so probes 250 ms apart are answered
    // every other time: three unanswered in a row are allowed.
    let ka = KeepAlive {
        idle: Duration::from_millis(300),
        interval: Duration::from_millis(250),
        probes: 3,
    };
    c.set_keepalive(Some(ka)).unwrap();
    // Idle for many keep-alive periods: the peer answers the probes, nothing breaks.
    c.set_read_timeout(Some(Duration::from_millis(1600))).unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(c.read(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
    assert!(c.stats().unwrap().segs_out >= 5, "no probes sent");
    s.write_all(b"alive").unwrap();
    c.set_read_timeout(Some(STEP)).unwrap();
    c.read_exact(&mut buf[..5]).unwrap();
    assert_eq!(&buf[..5], b"alive");
}

#[test]
fn write_timeout_when_the_peer_does_not_read() {
    let (a, b) = {
        let cidr = |s: &str| IpCidr::new(s.parse().unwrap(), 24).unwrap();
        memory_pair(cidr("10.0.0.1"), cidr("10.0.0.2")).unwrap()
    };
    let (_l, mut c, _s) = connect(&a, &b, "10.0.0.2:23");
    c.set_write_timeout(Some(Duration::from_millis(200))).unwrap();
    let chunk = vec![7u8; 64 * 1024];
    let mut accepted = 0usize;
    let err = loop {
        match c.write(&chunk) {
            Ok(n) => accepted += n,
            Err(e) => break e,
        }
        assert!(accepted < 64 * 1024 * 1024, "writes never blocked");
    };
    assert_eq!(err.kind(), ErrorKind::WouldBlock, "{err}");
    let cfg = c.conn_config().unwrap();
    // Held back by our send buffer plus the peer's receive buffer (and what is in flight).
    assert!(accepted >= cfg.send_buffer, "accepted {accepted}");
    assert!(accepted <= cfg.send_buffer + 2 * cfg.recv_buffer, "accepted {accepted}");
}

#[test]
fn echo_over_ipv6() {
    let cidr = |s: &str| IpCidr::new(s.parse().unwrap(), 64).unwrap();
    let (a, b) = memory_pair(cidr("fd00::1"), cidr("fd00::2")).unwrap();
    let (_l, mut c, mut s) = connect(&a, &b, "[fd00::2]:24");
    assert_eq!(c.local_addr().unwrap().ip(), "fd00::1".parse::<std::net::IpAddr>().unwrap());
    c.write_all(b"v6 hello").unwrap();
    let mut buf = [0u8; 8];
    s.read_exact(&mut buf).unwrap();
    s.write_all(&buf).unwrap();
    let mut back = [0u8; 8];
    c.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"v6 hello");
    c.set_ttl(33).unwrap();
    assert_eq!(c.ttl().unwrap(), 33);
}

/// 2 MB through a link that loses every 37th data frame (and every 53rd ACK): retransmission
/// under the API, every byte in order.
#[test]
fn bulk_over_a_lossy_link_is_byte_exact() {
    const LEN: usize = 2 * 1024 * 1024;
    let path = |every| Box::new(EveryNth { inner: IdealPath::new(4096), every, count: 0 });
    let link = Link::pair(DeviceCaps::default(), path(37), path(53));
    let cidr = |s: &str| IpCidr::new(s.parse().unwrap(), 24).unwrap();
    let ca = StackConfig { addresses: vec![cidr("10.0.0.1")], ..StackConfig::default() };
    let cb = StackConfig { addresses: vec![cidr("10.0.0.2")], ..StackConfig::default() };
    let (a, b) = memory_pair_with(link, ca, cb).unwrap();
    // The handshake may lose a segment too: allow for a SYN retransmission (1 s).
    let l = TcpListener::bind(&b, addr("10.0.0.2:25")).unwrap();
    let mut c = TcpStream::connect_timeout(&a, &addr("10.0.0.2:25"), STEP).unwrap();
    let (mut s, _) = l.accept_timeout(STEP).unwrap();
    s.set_read_timeout(Some(STEP)).unwrap();
    c.set_write_timeout(Some(STEP)).unwrap();
    let payload: Vec<u8> = (0..LEN).map(|i| (i % 251) as u8).collect();
    let p2 = payload.clone();
    let writer = std::thread::spawn(move || {
        c.write_all(&p2).unwrap();
        c.shutdown(std::net::Shutdown::Write).unwrap();
        c
    });
    let mut got = Vec::with_capacity(LEN);
    s.read_to_end(&mut got).unwrap();
    let c = writer.join().unwrap();
    assert_eq!(got.len(), LEN);
    assert!(got == payload, "bytes differ");
    assert!(c.stats().unwrap().retransmits > 0, "no loss happened");
}
