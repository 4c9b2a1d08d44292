//! RFC 5961 (blind in-window attacks), RFC 7323 PAWS, SYN cookies and backlog, listener close,
//! RFC 6056 ephemeral ports.

mod script;
use script::*;
use std::collections::HashSet;
use std::net::SocketAddr;
use synack_tcp::{
    ConnConfig, ConnectError, ConnectionError, Duration, Endpoint, EndpointConfig, Event, Instant,
    State,
};

const I: u32 = ISS;
const T: u32 = IRS;

#[test]
fn rfc5961_rst_out_of_window_ignored_in_window_challenged_exact_resets() {
    let mut s = Script::established_passive(plain());
    let nxt = T + 1;
    s.inject(Seg::new(R, nxt + 65535 + 10, 0));
    s.none();
    s.inject(Seg::new(R, nxt + 5, 0));
    check(&s.one(), A, I + 1, nxt);
    assert_eq!(s.state(), State::Established);
    s.inject(Seg::new(R, nxt, 0));
    s.none();
    assert_eq!(s.ep.error(s.id()), Ok(Some(ConnectionError::Reset)));
}

#[test]
fn rfc5961_syn_in_synchronized_state_draws_challenge_ack() {
    for seq in [T + 1, T + 100, 12345] {
        let mut s = Script::established_passive(plain());
        s.inject(Seg::new(S, seq, 0));
        check(&s.one(), A, I + 1, T + 1);
        assert_eq!(s.state(), State::Established);
    }
}

#[test]
fn rfc5961_ack_range_check_and_may_12_data_injection() {
    let mut s = Script::established_passive(ConnConfig { nodelay: true, ..plain() });
    s.send(&[1; 100]);
    s.one();
    s.inject(Seg::new(A, T + 1, I + 101).win(1000));
    // SEG.ACK below SND.UNA - MAX.SND.WND: data not delivered, an ACK comes back.
    let bad = (I + 101).wrapping_sub(65535 + 1);
    s.inject(Seg::new(A, T + 1, bad).data(b"injected"));
    check(&s.one(), A, I + 101, T + 1);
    assert!(s.recv_all().is_empty());
    // Within the range: accepted.
    s.inject(Seg::new(A, T + 1, I + 50).data(b"fine"));
    assert_eq!(s.recv_all(), b"fine");
}

/// One connection draws at most one challenge ACK per 500 ms however many in-window RSTs
/// arrive (the per-connection limit that closes CVE-2016-5696's side channel); the next
/// interval allows another.
#[test]
fn rfc5961_challenge_acks_rate_limited() {
    let cfg = EndpointConfig { challenge_ack_limit: 5, conn: plain(), ..Default::default() };
    let mut s = Script::with_config(cfg);
    s.listener = Some(s.ep.listen(s.local, 4).unwrap());
    s.inject(Seg::new(S, T, 0));
    s.one();
    s.inject(Seg::new(A, T + 1, I + 1));
    s.conn = s.ep.accept(s.listener.unwrap());
    let mut acks = 0;
    for k in 0..50 {
        s.inject(Seg::new(R, T + 2 + k, 0));
        acks += s.sent().len();
    }
    assert_eq!(acks, 1);
    s.advance(Duration::from_millis(499));
    s.inject(Seg::new(R, T + 3, 0));
    assert!(s.sent().is_empty(), "still within the interval");
    s.advance(Duration::from_millis(1));
    s.inject(Seg::new(R, T + 3, 0));
    assert_eq!(s.sent().len(), 1, "a new interval, another challenge ACK");
}

fn ts_established() -> (Script, u32) {
    let cfg = ConnConfig { sack: false, window_scaling: false, ..ConnConfig::default() };
    let mut s = Script::listening(cfg);
    s.inject(Seg::new(S, T, 0).mss(1460).ts(1000, 0));
    let o = s.one();
    let our = o.options.timestamps.unwrap();
    assert_eq!(our.tsecr, 1000);
    s.inject(Seg::new(A, T + 1, I + 1).ts(1001, our.tsval));
    s.conn = s.ep.accept(s.listener.unwrap());
    (s, our.tsval)
}

#[test]
fn rfc7323_paws_drops_old_timestamps() {
    let (mut s, ecr) = ts_established();
    s.inject(Seg::new(A, T + 1, I + 1).ts(2000, ecr).data(b"new"));
    assert_eq!(s.recv_all(), b"new");
    // A wrapped-sequence duplicate with an older TSval: dropped and ACKed.
    s.sent();
    s.inject(Seg::new(A, T + 4, I + 1).ts(1500, ecr).data(b"old"));
    let o = s.one();
    check(&o, A, I + 1, T + 4);
    assert_eq!(o.options.timestamps.unwrap().tsecr, 2000, "TS.Recent unchanged");
    assert!(s.recv_all().is_empty());
    // RST is exempt from PAWS.
    s.inject(Seg::new(R, T + 4, 0).ts(1, 0));
    assert_eq!(s.ep.error(s.id()), Ok(Some(ConnectionError::Reset)));
}

#[test]
fn rfc7323_ts_recent_follows_last_ack_sent() {
    let (mut s, ecr) = ts_established();
    s.inject(Seg::new(A, T + 1, I + 1).ts(3000, ecr).len(10));
    let out = s.advance(Duration::from_millis(200));
    assert_eq!(out.last().unwrap().1.options.timestamps.unwrap().tsecr, 3000);
    // An out-of-order segment (beyond Last.ACK.sent) does not update TS.Recent.
    s.inject(Seg::new(A, T + 100, I + 1).ts(4000, ecr).len(10));
    let o = s.one();
    assert_eq!(o.options.timestamps.unwrap().tsecr, 3000);
}

#[test]
fn syn_cookies_when_syn_queue_full() {
    let cfg = EndpointConfig {
        syn_queue_len: 2,
        conn: ConnConfig { sack: true, window_scaling: true, ..ConnConfig::default() },
        ..Default::default()
    };
    let mut s = Script::with_config(cfg);
    let l = s.ep.listen(s.local, 8).unwrap();
    s.listener = Some(l);
    for port in [4001, 4002] {
        s.remote = v4(2, port);
        s.inject(Seg::new(S, T, 0).mss(1460));
        s.one();
    }
    assert_eq!(s.ep.syn_queue_len(l), 2);
    // Third SYN: answered with a cookie, no state kept.
    s.remote = v4(2, 4003);
    s.inject(Seg::new(S, T, 0).mss(1400).ws(7).sack_ok().ts(777, 0));
    let sa = s.one();
    assert!(sa.flags.syn() && sa.flags.ack());
    assert_eq!(s.ep.connection_count(), 2);
    let our_ts = sa.options.timestamps.unwrap().tsval;
    // The ACK returns the cookie: a connection with the encoded MSS and options.
    s.inject(Seg::new(A, T + 1, sa.seq + 1).ts(778, our_ts).data(b"hi"));
    let c = s.ep.accept(l).expect("cookie connection accepted");
    assert_eq!(s.ep.state(c), Ok(State::Established));
    let st = s.ep.stats(c).unwrap();
    assert_eq!(st.snd_mss, 1360 - 12, "MSS from the cookie table, less timestamps");
    assert_eq!(st.snd_wscale, 7);
    assert!(st.sack && st.timestamps);
    s.conn = Some(c);
    assert_eq!(s.recv_all(), b"hi");
    // A forged cookie: RST as for any stray ACK.
    s.remote = v4(2, 4004);
    s.inject(Seg::new(A, T + 1, sa.seq + 1));
    check(&s.one(), R, sa.seq + 1, 0);
}

#[test]
fn backlog_limits_accept_queue() {
    let mut s = Script::with_config(EndpointConfig { conn: plain(), ..Default::default() });
    let l = s.ep.listen(s.local, 1).unwrap();
    // Two handshakes start; the first completes and fills the accept queue (backlog 1).
    for port in [4001u16, 4002] {
        s.remote = v4(2, port);
        s.inject(Seg::new(S, T, 0));
        check(&s.one(), SA, I, T + 1);
    }
    s.remote = v4(2, 4001);
    s.inject(Seg::new(A, T + 1, I + 1));
    assert_eq!(s.ep.accept_queue_len(l), 1);
    // The second one's ACK cannot complete it while the queue is full: it stays half-open.
    s.remote = v4(2, 4002);
    s.inject(Seg::new(A, T + 1, I + 1));
    assert_eq!(s.ep.accept_queue_len(l), 1);
    assert_eq!(s.ep.syn_queue_len(l), 1);
    // New SYNs are dropped while the accept queue is full.
    s.remote = v4(2, 4003);
    s.inject(Seg::new(S, T, 0));
    s.none();
    // Accepting makes room: the retried ACK completes, a new SYN is answered.
    assert!(s.ep.accept(l).is_some());
    s.remote = v4(2, 4002);
    s.inject(Seg::new(A, T + 1, I + 1));
    assert_eq!(s.ep.accept_queue_len(l), 1);
    assert!(s.ep.accept(l).is_some());
    s.remote = v4(2, 4003);
    s.inject(Seg::new(S, T, 0));
    check(&s.one(), SA, I, T + 1);
}

#[test]
fn closing_listener_resets_half_open_children() {
    let mut s = Script::listening(plain());
    s.inject(Seg::new(S, T, 0));
    s.one();
    s.remote = v4(2, 4001);
    s.inject(Seg::new(S, T, 0));
    s.one();
    s.ep.close_listener(s.listener.unwrap());
    let out = s.sent();
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(|o| o.flags.rst() && o.seq == I + 1));
    assert_eq!(s.ep.connection_count(), 0);
    // The port is now closed.
    s.inject(Seg::new(S, T, 0));
    check(&s.one(), RA, 0, T + 1);
}

#[test]
fn rfc6056_ephemeral_ports_distinct_and_in_range() {
    let cfg = EndpointConfig { ephemeral_ports: (50000, 50099), ..Default::default() };
    let mut ep = Endpoint::new(cfg, [4; 16], 9);
    let local: SocketAddr = "10.0.0.1:0".parse().unwrap();
    let remote: SocketAddr = "10.0.0.2:80".parse().unwrap();
    let mut ports = HashSet::new();
    for _ in 0..100 {
        let c = ep.connect(Instant::ZERO, local, remote, plain()).unwrap();
        let p = ep.four_tuple(c).unwrap().local.port();
        assert!((50000..=50099).contains(&p));
        assert!(ports.insert(p));
    }
    assert_eq!(ep.connect(Instant::ZERO, local, remote, plain()), Err(ConnectError::NoFreePorts));
    // Another destination has its own space.
    let other: SocketAddr = "10.0.0.3:80".parse().unwrap();
    assert!(ep.connect(Instant::ZERO, local, other, plain()).is_ok());
}

#[test]
fn abort_sends_rst_and_releases() {
    let mut s = Script::established_passive(plain());
    s.ep.abort(s.id()).unwrap();
    check(&s.one(), R, I + 1, 0);
    assert!(s.ep.state(s.id()).is_err());
    assert!(s.has_event(|e| matches!(e, Event::Error { error: ConnectionError::Aborted, .. })));
}

#[test]
fn fin_wait_2_timeout_after_close() {
    let mut s = Script::established_passive(ConnConfig {
        fin_wait2_timeout: Duration::from_secs(30),
        ..plain()
    });
    s.ep.close(s.id()).unwrap();
    s.one();
    s.inject(Seg::new(A, T + 1, I + 2));
    assert_eq!(s.state(), State::FinWait2);
    s.advance(Duration::from_secs(29));
    assert_eq!(s.state(), State::FinWait2);
    s.advance(Duration::from_secs(2));
    assert!(s.ep.state(s.id()).is_err());
}

#[test]
fn many_connections_timer_heap_stays_bounded() {
    let mut ep = Endpoint::new(EndpointConfig { conn: plain(), ..Default::default() }, [5; 16], 1);
    let local: SocketAddr = "10.0.0.1:0".parse().unwrap();
    let mut buf = [0u8; 200];
    let mut now = Instant::from_secs(1);
    for k in 0..2000u32 {
        let remote = SocketAddr::new("10.0.1.1".parse().unwrap(), 1000 + (k % 60000) as u16);
        ep.connect(now, local, remote, plain()).unwrap();
        while ep.poll_transmit(now, &mut buf).is_some() {}
    }
    for _ in 0..400 {
        now += Duration::from_secs(1);
        ep.on_timeout(now);
        while ep.poll_transmit(now, &mut buf).is_some() {}
        while ep.poll_event().is_some() {}
    }
    // All SYN-SENT connections gave up after R2 (3 min minimum, backoff past it).
    assert_eq!(ep.connection_count(), 2000, "ids held by the app until closed");
    assert!(ep.poll_timeout().is_none());
}
