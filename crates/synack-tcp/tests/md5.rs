//! TCP MD5 signatures (RFC 2385) between two endpoints on a virtual clock: a signed handshake
//! and transfer whose every segment verifies under the key (checked with the wire crate's
//! digest, independently of the engine), the payload room the option takes, and the silent
//! drops: a wrong key, a missing signature, a signature nobody expects, a forged RST.

use core::net::{IpAddr, Ipv4Addr, SocketAddr};

use synack_tcp::{
    ConnConfig, ConnId, Endpoint, EndpointConfig, Instant, Md5Counters, Md5Key, State,
};
use synack_wire::tcp::md5sig::{repr_digest, segment_digest};
use synack_wire::tcp::{TcpFlags, TcpOptions, TcpRepr};
use synack_wire::{ChecksumMode, SeqNum};

const KEY: &[u8] = b"bgp-session-key";

fn ip(a: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, a))
}

struct Pair {
    a: Endpoint,
    b: Endpoint,
    now: Instant,
    /// Every segment that went on the wire: (from A, bytes, src ip, dst ip).
    wire: Vec<(bool, Vec<u8>, IpAddr, IpAddr)>,
}

impl Pair {
    fn new(key_a: Option<&[u8]>, key_b: Option<&[u8]>) -> Pair {
        let mut a = Endpoint::new(EndpointConfig::default(), [1; 16], 1);
        let mut b = Endpoint::new(EndpointConfig::default(), [2; 16], 2);
        if let Some(k) = key_a {
            a.add_md5_key(Md5Key::new(ip(2), k).unwrap());
        }
        if let Some(k) = key_b {
            b.add_md5_key(Md5Key::new(ip(1), k).unwrap().on_local_port(179));
        }
        Pair { a, b, now: Instant::from_secs(1), wire: Vec::new() }
    }

    /// Moves segments both ways until both are quiet, then lets timers (delayed ACKs) fire,
    /// for a few virtual seconds at most.
    fn pump(&mut self) {
        let end = self.now + synack_tcp::Duration::from_secs(3);
        loop {
            self.exchange();
            let next = [self.a.poll_timeout(), self.b.poll_timeout()].into_iter().flatten().min();
            match next {
                Some(t) if t <= end => {
                    self.now = self.now.max(t);
                    self.a.on_timeout(self.now);
                    self.b.on_timeout(self.now);
                }
                _ => break,
            }
        }
    }

    fn exchange(&mut self) {
        let mut buf = [0u8; 2048];
        loop {
            let mut moved = false;
            while let Some(t) = self.a.poll_transmit(self.now, &mut buf) {
                let seg = buf[..t.len].to_vec();
                self.wire.push((true, seg.clone(), t.src.ip(), t.dst.ip()));
                let r = TcpRepr::parse_bytes(&seg, t.src.ip(), t.dst.ip(), ChecksumMode::Verify)
                    .unwrap();
                self.b.on_segment(self.now, t.src.ip(), t.dst.ip(), &r);
                moved = true;
            }
            while let Some(t) = self.b.poll_transmit(self.now, &mut buf) {
                let seg = buf[..t.len].to_vec();
                self.wire.push((false, seg.clone(), t.src.ip(), t.dst.ip()));
                let r = TcpRepr::parse_bytes(&seg, t.src.ip(), t.dst.ip(), ChecksumMode::Verify)
                    .unwrap();
                self.a.on_segment(self.now, t.src.ip(), t.dst.ip(), &r);
                moved = true;
            }
            if !moved {
                break;
            }
        }
    }

    fn open(&mut self) -> (ConnId, Option<ConnId>) {
        let l = self.b.listen(SocketAddr::new(ip(2), 179), 8).unwrap();
        let c = self
            .a
            .connect(
                self.now,
                SocketAddr::new(ip(1), 40000),
                SocketAddr::new(ip(2), 179),
                ConnConfig::default(),
            )
            .unwrap();
        self.pump();
        (c, self.b.accept(l))
    }
}

#[test]
fn signed_handshake_and_data_verify_under_the_key() {
    let mut p = Pair::new(Some(KEY), Some(KEY));
    let (c, s) = p.open();
    let s = s.expect("handshake completed");
    assert_eq!(p.a.state(c).unwrap(), State::Established);
    let data = vec![0x5a; 20_000];
    assert_eq!(p.a.send(c, &data).unwrap(), data.len());
    p.pump();
    let mut got = vec![0u8; 30_000];
    let n = p.b.recv(s, &mut got).unwrap();
    assert_eq!(n, data.len());
    assert!(got[..n] == data[..]);
    p.a.close(c).unwrap();
    p.b.close(s).unwrap();
    p.pump();
    // Every segment either way carried a signature right under the key.
    assert!(p.wire.len() > 10);
    let mut biggest = 0;
    for (_, seg, src, dst) in &p.wire {
        let r = TcpRepr::parse_bytes(seg, *src, *dst, ChecksumMode::Verify).unwrap();
        let sig = r.options.md5.expect("every segment is signed");
        assert_eq!(Some(sig), segment_digest(*src, *dst, seg, KEY));
        assert_eq!(Some(sig), repr_digest(&r, *src, *dst, KEY));
        biggest = biggest.max(r.payload.len());
    }
    // Timestamps (12) and the aligned signature (20) come out of the 1460-byte MSS.
    assert_eq!(biggest, 1460 - 12 - 20);
    let counts = p.b.md5_counters();
    assert_eq!((counts.not_found, counts.unexpected, counts.failure), (0, 0, 0));
    assert!(counts.verified > 10);
}

#[test]
fn linux_choice_drops_timestamps_and_leaves_room_for_sack() {
    let cfg = EndpointConfig { md5_drops_timestamps: true, ..EndpointConfig::default() };
    let mut p = Pair::new(Some(KEY), Some(KEY));
    p.a = Endpoint::new(cfg, [1; 16], 1);
    p.a.add_md5_key(Md5Key::new(ip(2), KEY).unwrap());
    let (c, s) = p.open();
    assert!(s.is_some());
    let syn = &p.wire[0];
    let r = TcpRepr::parse_bytes(&syn.1, syn.2, syn.3, ChecksumMode::Verify).unwrap();
    assert!(r.flags.syn() && r.options.timestamps.is_none() && r.options.md5.is_some());
    assert!(r.options.sack_permitted);
    p.a.send(c, &[1; 3000]).unwrap();
    p.pump();
    let biggest = p.wire.iter().filter(|w| w.0).map(|w| {
        let r = TcpRepr::parse_bytes(&w.1, w.2, w.3, ChecksumMode::Verify).unwrap();
        assert!(r.options.timestamps.is_none());
        r.payload.len()
    });
    assert_eq!(biggest.max(), Some(1460 - 20));
}

#[test]
fn wrong_key_and_missing_signature_are_dropped_silently() {
    for (key_a, field) in [(Some(&b"not-the-key"[..]), "failure"), (None, "not_found")] {
        let mut p = Pair::new(key_a, Some(KEY));
        let (c, s) = p.open();
        assert!(s.is_none(), "{field}: no connection");
        assert_eq!(p.a.state(c).unwrap(), State::SynSent, "{field}: no answer at all");
        assert!(p.wire.iter().all(|w| w.0), "{field}: B sent nothing, not even a RST");
        let counts: Md5Counters = p.b.md5_counters();
        let n = if field == "failure" { counts.failure } else { counts.not_found };
        // Each SYN (the first and its retransmissions) counted once.
        assert_eq!(n, p.wire.len() as u64, "{field}");
        assert!(n >= 2);
    }
}

#[test]
fn a_signature_nobody_expects_is_dropped() {
    let mut p = Pair::new(Some(KEY), None);
    let (c, s) = p.open();
    assert!(s.is_none());
    assert_eq!(p.a.state(c).unwrap(), State::SynSent);
    assert_eq!(p.b.md5_counters().unexpected, p.wire.len() as u64);
    assert!(p.wire.iter().all(|w| w.0));
}

#[test]
fn forged_rst_is_ignored_and_a_signed_one_is_taken() {
    let mut p = Pair::new(Some(KEY), Some(KEY));
    let (_, s) = p.open();
    let s = s.unwrap();
    // The RST an off-path attacker who guessed the sequence number exactly would send.
    let (a_addr, b_addr) = (ip(1), ip(2));
    let last_from_a = p.wire.iter().rev().find(|w| w.0).unwrap();
    let r = TcpRepr::parse_bytes(&last_from_a.1, a_addr, b_addr, ChecksumMode::Verify).unwrap();
    let mut rst = TcpRepr {
        flags: TcpFlags::RST,
        ack: SeqNum(0),
        options: TcpOptions::default(),
        raw_options: None,
        payload: &[],
        ..r
    };
    p.b.on_segment(p.now, a_addr, b_addr, &rst);
    assert_eq!(p.b.state(s).unwrap(), State::Established);
    assert_eq!(p.b.md5_counters().not_found, 1);
    rst.options.md5 = Some([0xee; 16]);
    p.b.on_segment(p.now, a_addr, b_addr, &rst);
    assert_eq!(p.b.state(s).unwrap(), State::Established);
    assert_eq!(p.b.md5_counters().failure, 1);
    // The same RST signed with the key is the peer's own: taken.
    rst.options.md5 = repr_digest(&rst, a_addr, b_addr, KEY);
    p.b.on_segment(p.now, a_addr, b_addr, &rst);
    assert!(p.b.state(s).is_err() || p.b.state(s).unwrap() == State::Closed);
}

#[test]
fn removing_the_last_key_turns_checking_off() {
    let mut p = Pair::new(None, Some(KEY));
    assert!(p.b.remove_md5_key(ip(1), 32, Some(179)));
    assert!(!p.b.remove_md5_key(ip(1), 32, Some(179)));
    let (_, s) = p.open();
    assert!(s.is_some());
}

/// A listener answering every SYN with a cookie (no half-open state): the cookie SYN-ACK, a
/// control segment, is signed too, and the signed ACK that returns the cookie opens the
/// connection.
#[test]
fn cookie_handshake_is_signed() {
    let cfg = EndpointConfig { syn_cookies_always: true, ..EndpointConfig::default() };
    let mut p = Pair::new(Some(KEY), None);
    p.b = Endpoint::new(cfg, [2; 16], 2);
    p.b.add_md5_key(Md5Key::new(ip(1), KEY).unwrap());
    let (c, s) = p.open();
    assert!(s.is_some(), "the cookie's ACK opened the connection");
    assert_eq!(p.a.state(c).unwrap(), State::Established);
    for (_, seg, src, dst) in &p.wire {
        assert!(segment_digest(*src, *dst, seg, KEY).is_some());
        let r = TcpRepr::parse_bytes(seg, *src, *dst, ChecksumMode::Verify).unwrap();
        assert_eq!(r.options.md5, repr_digest(&r, *src, *dst, KEY));
    }
    assert_eq!(p.b.listen_counters().cookies_sent, 1);
}
