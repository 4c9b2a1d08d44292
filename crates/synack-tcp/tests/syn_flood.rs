//! A spoofed SYN flood against a listener, in virtual time: half-open entries expire after
//! the configured SYN-ACK retransmissions (as Linux's `tcp_synack_retries`; 2 for those that
//! came into a queue at least half full), the listener leaves cookie mode as soon as its
//! queue has room, a handshake that completes wins over
//! half-open state, and the listener's counters say what happened.

use std::net::SocketAddr;

use synack_tcp::{
    ConnConfig, ConnId, Duration, Endpoint, EndpointConfig, Instant, ListenCounters, ListenerId,
    State, Transmit,
};
use synack_wire::SeqNum;
use synack_wire::tcp::{TcpFlags, TcpOptions, TcpRepr};

mod endpoint_io;
use endpoint_io::{deliver, drain};

const SERVER: &str = "10.0.0.1:80";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// A spoofed source: never answers.
fn spoofed(i: u32) -> SocketAddr {
    SocketAddr::new([10, 9, (i >> 8) as u8, i as u8].into(), 1024 + (i % 60000) as u16)
}

fn syn(server: &mut Endpoint, now: Instant, src: SocketAddr) {
    let seg = TcpRepr {
        src_port: src.port(),
        dst_port: addr(SERVER).port(),
        seq: SeqNum(1000),
        ack: SeqNum(0),
        flags: TcpFlags::SYN,
        window: 65535,
        urgent: 0,
        options: TcpOptions { mss: Some(1460), ..TcpOptions::default() },
        raw_options: None,
        payload: &[],
    };
    server.on_segment(now, src.ip(), addr(SERVER).ip(), &seg);
}

fn server(cfg: EndpointConfig, backlog: usize) -> (Endpoint, ListenerId) {
    let mut ep = Endpoint::new(cfg, [9; 16], 7);
    let l = ep.listen(addr(SERVER), backlog).unwrap();
    (ep, l)
}

/// Runs the server's timers from `from` to `to`, returning when each SYN-ACK went out.
fn run_timers(ep: &mut Endpoint, from: Instant, to: Instant) -> Vec<(Instant, Transmit)> {
    let mut sent = Vec::new();
    let mut now = from;
    while let Some(t) = ep.poll_timeout() {
        if t > to {
            break;
        }
        now = now.max(t);
        ep.on_timeout(now);
        sent.extend(drain(ep, now).into_iter().map(|(t, _)| (now, t)));
    }
    sent
}

/// Sends `n` spoofed SYNs at `now`, numbered from `first`; returns the SYN-ACKs they drew.
fn flood(ep: &mut Endpoint, now: Instant, first: u32, n: u32) -> usize {
    let mut answers = 0;
    for i in first..first + n {
        syn(ep, now, spoofed(i));
        answers += drain(ep, now).len();
    }
    answers
}

fn counters(ep: &Endpoint) -> ListenCounters {
    ep.listen_counters()
}

#[test]
fn half_open_entries_expire_after_the_syn_ack_retries() {
    // 16 entries in a queue of 32: never more than half full, every entry keeps 5 retries.
    let cfg = EndpointConfig { syn_queue_len: 32, ..EndpointConfig::default() };
    assert_eq!(cfg.conn.syn_ack_retries, Some(5), "Linux's tcp_synack_retries by default");
    let (mut ep, _) = server(cfg, 64);
    let t0 = Instant::from_secs(1);
    assert_eq!(flood(&mut ep, t0, 0, 16), 16);
    assert_eq!(ep.connection_count(), 16);
    let sent = run_timers(&mut ep, t0, t0 + Duration::from_secs(600));
    // One entry's retransmissions: 1, 3, 7, 15 and 31 s after the first SYN-ACK (RTO 1 s,
    // doubling), then it gives up at 63 s.
    let first = spoofed(0);
    let times: Vec<u64> = sent
        .iter()
        .filter(|(_, t)| t.dst == first)
        .map(|(at, _)| at.saturating_since(t0).as_secs())
        .collect();
    assert_eq!(times, [1, 3, 7, 15, 31]);
    assert!(sent.iter().all(|(_, t)| t.flags.syn() && t.flags.ack()), "no RST on expiry");
    assert_eq!(ep.connection_count(), 0);
    let c = counters(&ep);
    assert_eq!((c.syns, c.half_open_admitted, c.half_open_expired, c.half_open), (16, 16, 16, 0));
    // Gone at 63 s, not before.
    let (mut ep, _) = server(cfg, 64);
    flood(&mut ep, t0, 0, 16);
    run_timers(&mut ep, t0, t0 + Duration::from_millis(62_900));
    assert_eq!(ep.connection_count(), 16);
    run_timers(&mut ep, t0, t0 + Duration::from_secs(63));
    assert_eq!(ep.connection_count(), 0);
}

#[test]
fn entries_admitted_to_a_crowded_queue_go_after_two_retries() {
    let cfg = EndpointConfig { syn_queue_len: 16, ..EndpointConfig::default() };
    let (mut ep, _) = server(cfg, 64);
    let t0 = Instant::from_secs(1);
    // 16 entries fill the queue, the rest of the flood gets cookies.
    assert_eq!(flood(&mut ep, t0, 0, 1000), 1000);
    assert_eq!(counters(&ep).listeners_in_cookie_mode, 1);
    let t7 = t0 + Duration::from_secs(7);
    let sent = run_timers(&mut ep, t0, t7);
    let times = |who: SocketAddr| -> Vec<u64> {
        sent.iter()
            .filter(|(_, t)| t.dst == who)
            .map(|(at, _)| at.saturating_since(t0).as_secs())
            .collect()
    };
    // The second half came into a queue at least half full: SYN-ACKs again at 1 and 3 s,
    // gone at 7 s, and with them cookie mode.
    assert_eq!(times(spoofed(8)), [1, 3]);
    assert_eq!(times(spoofed(15)), [1, 3]);
    let c = counters(&ep);
    assert_eq!((c.half_open, c.half_open_expired, c.listeners_in_cookie_mode), (8, 8, 0));
    // The first half keeps the configured 5 retries.
    assert_eq!(times(spoofed(0)), [1, 3, 7]);
    flood(&mut ep, t7, 2000, 1);
    assert_eq!(counters(&ep).half_open_admitted, 17, "room again: a half-open entry, no cookie");
    // It came into a queue still half full (8 of 16): gone 7 s later too.
    run_timers(&mut ep, t7, t7 + Duration::from_secs(7));
    assert_eq!(counters(&ep).half_open, 8);
    run_timers(&mut ep, t7, t0 + Duration::from_millis(62_900));
    assert_eq!(counters(&ep).half_open, 8);
    run_timers(&mut ep, t7, t0 + Duration::from_secs(63));
    assert_eq!(counters(&ep).half_open, 0);
}

#[test]
fn without_a_retry_limit_half_open_entries_keep_r2_for_a_syn() {
    let conn = ConnConfig { syn_ack_retries: None, ..ConnConfig::default() };
    let cfg = EndpointConfig { syn_queue_len: 4, conn, ..EndpointConfig::default() };
    let (mut ep, _) = server(cfg, 64);
    let t0 = Instant::from_secs(1);
    flood(&mut ep, t0, 0, 4);
    run_timers(&mut ep, t0, t0 + Duration::from_secs(179));
    assert_eq!(ep.connection_count(), 4, "RFC 9293 MUST-23: at least 3 minutes");
    run_timers(&mut ep, t0, t0 + Duration::from_secs(600));
    assert_eq!(ep.connection_count(), 0);
    assert_eq!(counters(&ep).half_open_expired, 4);
}

#[test]
fn cookie_mode_ends_as_soon_as_the_queue_has_room() {
    let cfg = EndpointConfig { syn_queue_len: 8, ..EndpointConfig::default() };
    let (mut ep, _) = server(cfg, 64);
    let t0 = Instant::from_secs(1);
    // 8 fill the queue, 100 more are answered with cookies and leave no state.
    assert_eq!(flood(&mut ep, t0, 0, 108), 108);
    let c = counters(&ep);
    assert_eq!((c.half_open_admitted, c.cookies_sent), (8, 100));
    assert_eq!((c.half_open, c.listeners_in_cookie_mode), (8, 1));
    assert_eq!(ep.connection_count(), 8);
    // The flood's entries expire 63 s later; the next SYN gets a half-open entry, no cookie.
    let t1 = t0 + Duration::from_secs(63);
    run_timers(&mut ep, t0, t1);
    assert_eq!(counters(&ep).listeners_in_cookie_mode, 0);
    flood(&mut ep, t1, 1000, 1);
    let c = counters(&ep);
    assert_eq!((c.half_open_admitted, c.cookies_sent, c.half_open), (9, 100, 1));
    // One entry leaving a full queue is enough: the next SYN takes its place.
    let (mut ep, _) = server(cfg, 64);
    flood(&mut ep, t0, 0, 8);
    let mut legit = Endpoint::new(EndpointConfig::default(), [5; 16], 5);
    legit.connect(t0, addr("10.0.0.7:40000"), addr(SERVER), ConnConfig::default()).unwrap();
    deliver(&mut ep, t0, &drain(&mut legit, t0));
    assert_eq!(counters(&ep).cookies_sent, 1);
    // A spoofed entry goes (a RST from its "peer": the spoofed host says it sent no SYN).
    let rst = TcpRepr {
        src_port: spoofed(3).port(),
        dst_port: 80,
        seq: SeqNum(1001),
        ack: SeqNum(0),
        flags: TcpFlags::RST,
        window: 0,
        urgent: 0,
        options: TcpOptions::default(),
        raw_options: None,
        payload: &[],
    };
    ep.on_segment(t0, spoofed(3).ip(), addr(SERVER).ip(), &rst);
    assert_eq!(counters(&ep).listeners_in_cookie_mode, 0);
    flood(&mut ep, t0, 2000, 1);
    assert_eq!(counters(&ep).cookies_sent, 1, "room again: no cookie");
}

/// A legitimate client completes through a full queue with a cookie.
fn handshake(client: &mut Endpoint, server: &mut Endpoint, now: Instant, local: &str) -> ConnId {
    let id = client.connect(now, addr(local), addr(SERVER), ConnConfig::default()).unwrap();
    for _ in 0..3 {
        let c = drain(client, now);
        deliver(server, now, &c);
        let s = drain(server, now);
        deliver(client, now, &s);
    }
    id
}

#[test]
fn a_completing_handshake_wins_over_half_open_entries_at_the_connection_limit() {
    let cfg = EndpointConfig { syn_queue_len: 256, max_connections: 8, ..Default::default() };
    let (mut ep, l) = server(cfg, 64);
    let t0 = Instant::from_secs(1);
    // The flood's half-open entries take every connection the endpoint may hold.
    flood(&mut ep, t0, 0, 8);
    assert_eq!(ep.connection_count(), 8);
    let mut legit = Endpoint::new(EndpointConfig::default(), [5; 16], 5);
    let id = handshake(&mut legit, &mut ep, t0, "10.0.0.7:40000");
    assert_eq!(legit.state(id), Ok(State::Established));
    assert!(ep.accept(l).is_some(), "the legit connection is in the accept queue");
    let c = counters(&ep);
    assert_eq!((c.cookies_sent, c.cookies_accepted, c.half_open_evicted), (1, 1, 1));
    assert_eq!((c.half_open, ep.connection_count()), (7, 8));
    // The oldest spoofed entry went, silently.
    let out = drain(&mut ep, t0);
    assert!(out.iter().all(|(t, _)| t.dst != spoofed(0)), "{out:?}");
}

#[test]
fn a_cookie_ack_meeting_a_full_accept_queue_is_dropped_without_a_reset() {
    let cfg = EndpointConfig { syn_queue_len: 1, ..Default::default() };
    let (mut ep, l) = server(cfg, 1);
    let t0 = Instant::from_secs(1);
    let mut legit = Endpoint::new(EndpointConfig::default(), [5; 16], 5);
    // The first client fills the accept queue (backlog 1) through an ordinary entry.
    handshake(&mut legit, &mut ep, t0, "10.0.0.7:40000");
    assert_eq!(counters(&ep).half_open_admitted, 1);
    // The second SYN would be dropped (accept queue full), so fill the half-open queue
    // first by accepting, then let a spoofed SYN take the only half-open place.
    assert!(ep.accept(l).is_some());
    flood(&mut ep, t0, 0, 1);
    // A legit SYN now gets a cookie...
    let id = legit.connect(t0, addr("10.0.0.7:40001"), addr(SERVER), ConnConfig::default());
    let id = id.unwrap();
    deliver(&mut ep, t0, &drain(&mut legit, t0));
    assert_eq!(counters(&ep).cookies_sent, 1);
    let syn_ack = drain(&mut ep, t0);
    // ...a third client fills the accept queue meanwhile (its SYN in cookie mode too)...
    handshake(&mut legit, &mut ep, t0, "10.0.0.7:40002");
    assert_eq!(ep.accept_queue_len(l), 1);
    // ...and the second's ACK finds it full: no RST, counted.
    deliver(&mut legit, t0, &syn_ack);
    assert_eq!(legit.state(id), Ok(State::Established));
    let ack = drain(&mut legit, t0);
    deliver(&mut ep, t0, &ack);
    assert!(drain(&mut ep, t0).iter().all(|(t, _)| !t.flags.rst()));
    let c = counters(&ep);
    assert_eq!((c.cookies_accepted, c.acks_dropped_accept_full), (1, 1));
    // Once accepted, the same ACK (the client's retransmitted data would carry it) completes.
    assert!(ep.accept(l).is_some());
    deliver(&mut ep, t0, &ack);
    assert!(ep.accept(l).is_some(), "completed from the cookie once there was room");
    assert_eq!(counters(&ep).cookies_accepted, 2);
}

#[test]
fn a_forged_cookie_is_counted_and_reset() {
    let cfg = EndpointConfig { syn_queue_len: 1, ..Default::default() };
    let (mut ep, _) = server(cfg, 8);
    let t0 = Instant::from_secs(1);
    flood(&mut ep, t0, 0, 2);
    let forged = TcpRepr {
        src_port: 5555,
        dst_port: 80,
        seq: SeqNum(1001),
        ack: SeqNum(12345),
        flags: TcpFlags::ACK,
        window: 65535,
        urgent: 0,
        options: TcpOptions::default(),
        raw_options: None,
        payload: &[],
    };
    ep.on_segment(t0, addr("10.0.0.8:5555").ip(), addr(SERVER).ip(), &forged);
    let out = drain(&mut ep, t0);
    assert!(out.iter().any(|(t, _)| t.flags.rst()));
    assert_eq!(counters(&ep).cookies_rejected, 1);
}

#[test]
fn a_user_timeout_shorter_than_the_retries_expires_half_open_entries_sooner() {
    let conn = ConnConfig { user_timeout: Some(Duration::from_secs(20)), ..ConnConfig::default() };
    let cfg = EndpointConfig { syn_queue_len: 8, conn, ..EndpointConfig::default() };
    let (mut ep, _) = server(cfg, 64);
    let t0 = Instant::from_secs(1);
    flood(&mut ep, t0, 0, 4);
    run_timers(&mut ep, t0, t0 + Duration::from_secs(19));
    assert_eq!(ep.connection_count(), 4);
    run_timers(&mut ep, t0, t0 + Duration::from_secs(40));
    assert_eq!(ep.connection_count(), 0);
    assert_eq!(counters(&ep).half_open_expired, 4);
}
