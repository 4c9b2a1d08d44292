//! One test per RFC 9293 MUST/SHOULD/MAY label in the scope of the connection's life (options,
//! ISN, opening, closing, TIME-WAIT, RST, keep-alive, urgent, R1/R2, ICMP, addresses).

mod script;
use script::*;
use std::net::SocketAddr;
use synack_tcp::{
    ConnConfig, ConnectError, ConnectionError, Duration, Endpoint, EndpointConfig, Event,
    IcmpError, Instant, KeepAlive, SoftError, State,
};
use synack_wire::SeqNum;

const I: u32 = ISS;
const T: u32 = IRS;

fn nodelay() -> ConnConfig {
    ConnConfig { nodelay: true, ..plain() }
}

#[test]
fn must_4_mss_option_honoured() {
    let mut s = Script::listening(nodelay());
    s.inject(Seg::new(S, T, 0).mss(1000));
    s.one();
    s.inject(Seg::new(A, T + 1, I + 1));
    s.conn = s.ep.accept(s.listener.unwrap());
    s.send(&[7u8; 5000]);
    let out = s.sent();
    assert!(!out.is_empty());
    assert!(out.iter().all(|o| o.payload.len() <= 1000));
    assert_eq!(out[0].payload.len(), 1000);
}

#[test]
fn must_5_options_accepted_on_any_segment() {
    let mut s = Script::established_passive(plain());
    // Timestamps on a data segment of a connection that did not negotiate them, and an MSS
    // option on a non-SYN: data still accepted, ACK processed.
    s.send(b"x");
    s.sent();
    s.inject(Seg::new(A, T + 1, I + 2).data(b"abc").ts(5, 6).mss(100));
    assert_eq!(s.recv_all(), b"abc");
    assert_eq!(s.ep.stats(s.id()).unwrap().snd_una.0, I + 2);
}

#[test]
fn must_6_unknown_and_must_7_illegal_option_values_harmless() {
    // The wire parser skips unknown kinds and rejects bad lengths before the engine sees them;
    // the engine must survive any typed value: shift 255 is clamped to 14, MSS 0 raised.
    let mut s = Script::listening(ConnConfig::default());
    s.inject(Seg::new(S, T, 0).mss(0).ws(255).sack_ok());
    let o = s.one();
    check(&o, SA, I, T + 1);
    s.inject(Seg::new(A, T + 1, I + 1));
    s.conn = s.ep.accept(s.listener.unwrap());
    let st = s.ep.stats(s.id()).unwrap();
    assert_eq!(st.snd_wscale, 14);
    assert!(st.snd_mss >= 1);
}

#[test]
fn must_8_isn_clock_driven() {
    // Same 4-tuple at known intervals: ISN difference tracks delta / 4 us.
    let mut ep = Endpoint::new(EndpointConfig::default(), [9; 16], 1);
    let local: SocketAddr = "10.0.0.1:5000".parse().unwrap();
    let remote: SocketAddr = "10.0.0.2:80".parse().unwrap();
    let mut isns = Vec::new();
    let mut buf = [0u8; 100];
    for k in 0..3u64 {
        let now = Instant::from_secs(100 + k * 10);
        let c = ep.connect(now, local, remote, ConnConfig::default()).unwrap();
        let t = ep.poll_transmit(now, &mut buf).unwrap();
        isns.push(t.seq.0);
        ep.abort(c).unwrap();
    }
    for w in isns.windows(2) {
        assert_eq!(w[1].wrapping_sub(w[0]), 10_000_000 / 4);
    }
}

#[test]
fn must_9_isn_keyed_prf() {
    let local: SocketAddr = "10.0.0.1:5000".parse().unwrap();
    let remote: SocketAddr = "10.0.0.2:80".parse().unwrap();
    let isn = |secret: [u8; 16], port: u16| {
        let mut ep = Endpoint::new(EndpointConfig::default(), secret, 1);
        let mut buf = [0u8; 100];
        let l = SocketAddr::new(local.ip(), port);
        ep.connect(Instant::ZERO, l, remote, ConnConfig::default()).unwrap();
        ep.poll_transmit(Instant::ZERO, &mut buf).unwrap().seq.0
    };
    assert_ne!(isn([1; 16], 5000), isn([2; 16], 5000), "a new secret changes the ISN");
    let d1 = isn([1; 16], 5001).wrapping_sub(isn([1; 16], 5000));
    let d2 = isn([1; 16], 5002).wrapping_sub(isn([1; 16], 5001));
    assert_ne!(d1, d2, "no constant offset between neighbouring tuples");
}

#[test]
fn must_10_simultaneous_open() {
    let mut s = Script::connecting(nodelay());
    check(&s.one(), S, I, 0);
    s.inject(Seg::new(S, T, 0).mss(1460));
    let o = s.one();
    check(&o, SA, I, T + 1);
    assert_eq!(s.state(), State::SynReceived);
    s.inject(Seg::new(SA, T, I + 1).mss(1460));
    assert_eq!(s.state(), State::Established);
    s.send(b"hi");
    let o = s.sent();
    assert!(o.iter().any(|o| o.payload == b"hi"));
    s.inject(Seg::new(PA, T + 1, I + 3).data(b"yo"));
    assert_eq!(s.recv_all(), b"yo");
}

/// RFC 9293 3.10.7.3: text on a SYN arriving in SYN-SENT is queued for processing after
/// ESTABLISHED: the SYN-ACK acknowledges only the SYN, nothing is readable in SYN-RECEIVED, and
/// the ACK that completes the handshake makes the queued bytes readable, in order ahead of its
/// own data. A FIN on that SYN is not taken (the peer sends it again).
#[test]
fn syn_text_in_syn_sent_is_queued_until_established() {
    let mut s = Script::connecting(nodelay());
    check(&s.one(), S, I, 0);
    s.inject(Seg::new(S | F, T, 0).mss(1460).data(b"abc"));
    check(&s.one(), SA, I, T + 1);
    assert_eq!(s.state(), State::SynReceived);
    assert_eq!(s.recv_all(), b"");
    s.inject(Seg::new(PA, T + 4, I + 1).data(b"de"));
    assert_eq!(s.state(), State::Established);
    assert_eq!(s.recv_all(), b"abcde");
    // Both are acknowledged together (after the delayed-ACK timer: two segments' worth).
    let acks = s.advance(Duration::from_millis(500));
    assert!(acks.iter().any(|(_, o)| o.is(A, I + 1, T + 6)), "ACK of the five bytes");
    // The FIN was not kept: it counts once it comes again.
    s.inject(Seg::new(FA, T + 6, I + 1));
    assert_eq!(s.state(), State::CloseWait);
}

#[test]
fn must_11_syn_received_remembers_origin() {
    // Passive: RST returns to LISTEN, no error to anyone, listener accepts a fresh SYN.
    let mut s = Script::listening(plain());
    s.inject(Seg::new(S, T, 0));
    s.one();
    s.inject(Seg::new(R, T + 1, 0));
    assert!(!s.has_event(|e| matches!(e, Event::Error { .. })));
    s.inject(Seg::new(S, T + 9, 0));
    check(&s.one(), SA, I, T + 10);
    // Active: SYN-RECEIVED via simultaneous open, RST refuses, TCB gone.
    let mut s = Script::connecting(plain());
    s.one();
    s.inject(Seg::new(S, T, 0));
    s.one();
    s.inject(Seg::new(R, T + 1, 0));
    assert_eq!(s.state(), State::Closed);
    assert_eq!(s.ep.error(s.id()), Ok(Some(ConnectionError::Refused)));
    s.inject(Seg::new(A, T + 1, I + 1));
    check(&s.one(), R, I + 1, 0);
}

#[test]
fn must_12_fin_and_rst_distinguishable() {
    let mut a = Script::established_passive(plain());
    a.inject(Seg::new(FA, T + 1, I + 1));
    assert_eq!(a.ep.recv(a.id(), &mut [0; 8]), Ok(0));
    let mut b = Script::established_passive(plain());
    b.inject(Seg::new(R, T + 1, 0));
    assert_eq!(
        b.ep.recv(b.id(), &mut [0; 8]),
        Err(synack_tcp::RecvError::Connection(ConnectionError::Reset))
    );
    assert_eq!(
        b.ep.send(b.id(), b"x"),
        Err(synack_tcp::SendError::Connection(ConnectionError::Reset))
    );
}

#[test]
fn must_13_time_wait_lasts_2msl_configurable() {
    let cfg = EndpointConfig { msl: Duration::from_secs(30), conn: plain(), ..Default::default() };
    let mut s = Script::with_config(cfg);
    s.listener = Some(s.ep.listen(s.local, 4).unwrap());
    s.inject(Seg::new(S, T, 0));
    s.one();
    s.inject(Seg::new(A, T + 1, I + 1));
    s.conn = s.ep.accept(s.listener.unwrap());
    s.ep.close(s.id()).unwrap();
    s.one();
    s.inject(Seg::new(FA, T + 1, I + 2));
    s.one();
    s.advance(Duration::from_secs(59));
    s.inject(Seg::new(FA, T + 1, I + 2));
    check(&s.one(), A, I + 2, T + 2);
    s.advance(Duration::from_secs(60));
    assert!(s.ep.state(s.id()).is_err());
    s.inject(Seg::new(FA, T + 1, I + 2));
    check(&s.one(), R, I + 2, 0);
}

#[test]
fn must_14_and_shld_5_mss_option_sent() {
    let mut s = Script::connecting(plain());
    assert_eq!(s.one().options.mss, Some(1460));
    let mut s = Script::listening(plain());
    s.inject(Seg::new(S, T, 0).mss(700));
    assert_eq!(s.one().options.mss, Some(1460));
    s.inject(Seg::new(A, T + 1, I + 1));
    s.conn = s.ep.accept(s.listener.unwrap());
    s.ep.set_nodelay(s.id(), true).unwrap();
    s.send(&[1; 3000]);
    assert!(s.sent().iter().all(|o| o.payload.len() <= 700));
    // IPv6: 1500 - 40 - 20.
    let mut ep = Endpoint::new(EndpointConfig::default(), [1; 16], 1);
    ep.connect(
        Instant::ZERO,
        "[fd00::1]:5000".parse().unwrap(),
        "[fd00::2]:80".parse().unwrap(),
        plain(),
    )
    .unwrap();
    let mut buf = [0u8; 100];
    assert_eq!(ep.poll_transmit(Instant::ZERO, &mut buf).unwrap().options.mss, Some(1440));
}

#[test]
fn must_15_default_send_mss_536_ipv4() {
    let mut s = Script::listening(nodelay());
    s.inject(Seg::new(S, T, 0)); // no MSS option
    s.one();
    s.inject(Seg::new(A, T + 1, I + 1));
    s.conn = s.ep.accept(s.listener.unwrap());
    s.send(&[1; 5000]);
    let out = s.sent();
    assert!(out.iter().all(|o| o.payload.len() <= 536));
    assert_eq!(out[0].payload.len(), 536);
}

#[test]
fn must_15_default_send_mss_1220_ipv6() {
    let cfg = EndpointConfig { conn: nodelay(), ..Default::default() };
    let mut s = Script::with_config(cfg);
    s.local = "[fd00::1]:80".parse().unwrap();
    s.remote = "[fd00::2]:4000".parse().unwrap();
    s.listener = Some(s.ep.listen(s.local, 4).unwrap());
    s.inject(Seg::new(S, T, 0));
    s.one();
    s.inject(Seg::new(A, T + 1, I + 1));
    s.conn = s.ep.accept(s.listener.unwrap());
    s.send(&[1; 5000]);
    let out = s.sent();
    assert_eq!(out[0].payload.len(), 1220);
}

#[test]
fn must_16_effective_send_mss() {
    // Link MTU 1000, peer MSS 1460: min(1460+20, 1000-20) - 20 = 960.
    let cfg = EndpointConfig { mtu: 1000, conn: nodelay(), ..Default::default() };
    let mut s = Script::with_config(cfg);
    s.listener = Some(s.ep.listen(s.local, 4).unwrap());
    s.inject(Seg::new(S, T, 0).mss(1460));
    assert_eq!(s.one().options.mss, Some(960));
    s.inject(Seg::new(A, T + 1, I + 1));
    s.conn = s.ep.accept(s.listener.unwrap());
    s.send(&[1; 5000]);
    assert_eq!(s.sent()[0].payload.len(), 960);
    // With timestamps the payload drops by 12.
    let cfg = EndpointConfig {
        mtu: 1000,
        conn: ConnConfig { nodelay: true, ..ConnConfig::default() },
        ..Default::default()
    };
    let mut s = Script::with_config(cfg);
    s.listener = Some(s.ep.listen(s.local, 4).unwrap());
    s.inject(Seg::new(S, T, 0).mss(1460).ts(100, 0));
    let syn_ack = s.one();
    let tsval = syn_ack.options.timestamps.unwrap().tsval;
    s.inject(Seg::new(A, T + 1, I + 1).ts(101, tsval));
    s.conn = s.ep.accept(s.listener.unwrap());
    s.send(&[1; 5000]);
    let out = s.sent();
    assert_eq!(out[0].payload.len(), 948);
    assert!(out[0].options.timestamps.is_some());
}

#[test]
fn must_17_and_shld_7_nagle_and_nodelay() {
    let mut s = Script::established_passive(plain());
    s.send(b"a");
    assert_eq!(s.one().payload, b"a");
    for _ in 0..10 {
        s.send(b"b");
    }
    s.none(); // held: data outstanding, sub-MSS
    s.inject(Seg::new(A, T + 1, I + 2));
    let o = s.one();
    assert_eq!(o.payload, b"bbbbbbbbbb");
    // TCP_NODELAY: the second byte goes at once.
    let mut s = Script::established_passive(plain());
    s.ep.set_nodelay(s.id(), true).unwrap();
    s.send(b"a");
    s.one();
    s.send(b"b");
    assert_eq!(s.one().payload, b"b");
}

#[test]
fn must_20_r1_soft_error_and_r2_abort() {
    let mut s = Script::established_passive(ConnConfig {
        r1: 3,
        r2: Some(Duration::from_secs(100)),
        ..nodelay()
    });
    s.send(b"lost");
    s.one();
    let out = s.advance(Duration::from_secs(50));
    let rtx: Vec<_> = out.iter().filter(|(_, o)| o.payload == b"lost").collect();
    assert!(rtx.len() >= 3);
    assert!(s.has_event(|e| matches!(
        e,
        Event::SoftError { error: SoftError::ExcessiveRetransmissions, .. }
    )));
    assert_eq!(s.state(), State::Established);
    s.advance(Duration::from_secs(200));
    assert_eq!(s.state(), State::Closed);
    assert_eq!(s.ep.error(s.id()), Ok(Some(ConnectionError::TimedOut)));
}

#[test]
fn must_21_r2_settable_including_infinity() {
    let mut s = Script::established_passive(nodelay());
    s.ep.set_retransmission_thresholds(s.id(), 3, Some(Duration::from_secs(10))).unwrap();
    s.send(b"x");
    s.one();
    s.advance(Duration::from_secs(30));
    assert_eq!(s.ep.error(s.id()), Ok(Some(ConnectionError::TimedOut)));
    let mut s = Script::established_passive(nodelay());
    s.ep.set_retransmission_thresholds(s.id(), 3, None).unwrap();
    s.send(b"x");
    s.one();
    s.advance(Duration::from_secs(3 * 3600));
    assert_eq!(s.state(), State::Established);
}

#[test]
fn must_22_and_must_23_syn_retransmitted_for_3_minutes() {
    let mut s = Script::connecting(plain());
    check(&s.one(), S, I, 0);
    let out = s.advance(Duration::from_secs(179));
    assert!(out.iter().all(|(_, o)| o.is(S, I, 0)));
    let gaps: Vec<u64> = out.iter().map(|(t, _)| t.as_millis()).collect();
    assert!(gaps.len() >= 5, "SYN retransmitted with backoff: {gaps:?}");
    for w in gaps.windows(2).take(4) {
        assert!(w[1] > w[0]);
    }
    assert!(s.has_event(|e| matches!(
        e,
        Event::SoftError { error: SoftError::ExcessiveRetransmissions, .. }
    )));
    assert_eq!(s.state(), State::SynSent, "still trying before 180 s");
    s.advance(Duration::from_secs(300));
    assert_eq!(s.ep.error(s.id()), Ok(Some(ConnectionError::TimedOut)));
}

#[test]
fn must_24_25_27_28_keep_alive_settings() {
    // Off by default: no probe after 3 hours idle.
    let mut s = Script::established_passive(plain());
    assert!(s.advance(Duration::from_secs(3 * 3600)).is_empty());
    // Default interval when enabled is 2 hours.
    let mut s = Script::established_passive(plain());
    s.ep.set_keep_alive(s.id(), Some(KeepAlive::default())).unwrap();
    assert!(s.advance(Duration::from_secs(7199)).is_empty());
    let out = s.advance(Duration::from_secs(2));
    assert_eq!(out.len(), 1);
    // Configurable.
    let mut s = Script::established_passive(plain());
    let k = KeepAlive { idle: Duration::from_secs(30), ..KeepAlive::default() };
    s.ep.set_keep_alive(s.id(), Some(k)).unwrap();
    let out = s.advance(Duration::from_secs(31));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, Instant::from_secs(1030));
}

#[test]
fn must_26_keep_alive_only_when_idle_and_shld_12_no_data() {
    let k = KeepAlive { idle: Duration::from_secs(10), ..KeepAlive::default() };
    let mut s = Script::established_passive(ConnConfig { keep_alive: Some(k), ..plain() });
    // T talks every 5 s: no probe.
    for _ in 0..4 {
        assert!(s.advance(Duration::from_secs(5)).is_empty());
        s.inject(Seg::new(A, T + 1, I + 1));
    }
    // Silence: a probe 10 s after the last segment, seq = SND.NXT - 1, no data.
    let out = s.advance(Duration::from_secs(11));
    assert_eq!(out.len(), 1);
    let (t, o) = &out[0];
    assert_eq!(*t, Instant::from_secs(1030));
    check(o, A, I, T + 1);
    assert!(o.payload.is_empty());
}

#[test]
fn must_29_keep_alive_tolerates_lost_probes() {
    let k =
        KeepAlive { idle: Duration::from_secs(10), interval: Duration::from_secs(5), probes: 3 };
    let mut s = Script::established_passive(ConnConfig { keep_alive: Some(k), ..plain() });
    let out = s.advance(Duration::from_secs(16));
    assert_eq!(out.len(), 2, "two probes, first unanswered");
    s.inject(Seg::new(A, T + 1, I + 1)); // answer to the second
    assert_eq!(s.state(), State::Established);
    // Now nobody answers: dead only after 3 unanswered probes.
    let out = s.advance(Duration::from_secs(24));
    assert_eq!(out.len(), 3);
    assert_eq!(s.state(), State::Established);
    s.advance(Duration::from_secs(6));
    assert_eq!(s.ep.error(s.id()), Ok(Some(ConnectionError::TimedOut)));
}

#[test]
fn must_30_31_32_33_urgent_receive() {
    let mut s = Script::established_passive(plain());
    // 3000 urgent bytes over three segments, UP past the last.
    s.inject(Seg::new(A | U, T + 1, I + 1).len(1000).urg(3000));
    assert!(s.has_event(|e| matches!(e, Event::Urgent { pending: 3000, .. })));
    assert_eq!(s.ep.urgent_pending(s.id()), Ok(Some(3000)));
    s.events.clear();
    s.inject(Seg::new(A | U, T + 1001, I + 1).len(1000).urg(2000));
    assert!(!s.has_event(|e| matches!(e, Event::Urgent { .. })), "same mark: no new event");
    s.inject(Seg::new(A | U, T + 2001, I + 1).len(1000).urg(1500));
    assert!(s.has_event(|e| matches!(e, Event::Urgent { pending: 3500, .. })), "moved on");
    let mut b = [0u8; 1000];
    s.ep.recv(s.id(), &mut b).unwrap();
    assert_eq!(s.ep.urgent_pending(s.id()), Ok(Some(2500)));
    s.recv_all();
    // The mark lies 500 bytes beyond what has arrived.
    assert_eq!(s.ep.urgent_pending(s.id()), Ok(Some(500)));
    s.inject(Seg::new(A, T + 3001, I + 1).len(600));
    s.recv_all();
    assert_eq!(s.ep.urgent_pending(s.id()), Ok(None), "read past the mark");
}

#[test]
fn must_31_62_urgent_send_pointer() {
    let mut s = Script::established_passive(nodelay());
    s.send(&[0; 100]);
    s.one();
    s.ep.send_urgent(s.id(), b"ABC").unwrap();
    let o = s.one();
    assert!(o.flags.urg());
    // SEG.SEQ + UP = first octet after "C".
    assert_eq!(o.seq + o.urgent as u32, I + 1 + 103);
    // Long urgent data: every segment before the mark carries URG.
    let mut s = Script::established_passive(nodelay());
    s.ep.send_urgent(s.id(), &[9; 5000]).unwrap();
    let out = s.sent();
    assert!(out.iter().all(|o| o.flags.urg() && o.seq + o.urgent as u32 == I + 5001));
}

#[test]
fn must_34_shld_15_shrinking_window_no_new_data() {
    let mut s = Script::established_passive(nodelay());
    s.inject(Seg::new(A, T + 1, I + 1).win(10000));
    s.send(&[1; 30000]);
    let out = s.sent();
    let sent: usize = out.iter().map(|o| o.payload.len()).sum();
    // Six full segments; the 1240-byte tail waits (sender SWS avoidance).
    assert_eq!(sent, 6 * 1460, "sent within the window");
    let nxt = I + 1 + 6 * 1460;
    // Peer shrinks: right edge (I+1+1000+2000) below SND.NXT.
    s.inject(Seg::new(A, T + 1, I + 1001).win(2000));
    s.none();
    assert_eq!(s.state(), State::Established);
    // Window reopens: sending resumes from SND.NXT.
    s.inject(Seg::new(A, T + 1, nxt).win(20000));
    let out = s.sent();
    assert_eq!(out[0].seq, nxt);
}

#[test]
fn must_35_36_37_zero_window_probing_forever() {
    let mut s = Script::established_passive(nodelay());
    s.inject(Seg::new(A, T + 1, I + 1).win(0));
    s.send(b"queued");
    s.none();
    // The handshake's RTT sample (RFC 6298) set the RTO.
    let rto = s.ep.stats(s.id()).unwrap().rto.as_millis() as u64;
    let out = s.advance(Duration::from_secs(60));
    assert!(out.len() >= 3, "probes: {out:?}");
    let times: Vec<u64> = out.iter().map(|(t, _)| t.as_millis()).collect();
    // SHLD-29/30: first after about one RTO, then backing off.
    let first = times[0] - 1_000_000;
    assert!(first + 100 >= rto && first <= rto + 100, "first probe {first} ms, RTO {rto} ms");
    assert!(times[2] - times[1] > times[1] - times[0]);
    // T answers every probe with a zero window for 24 h: never aborted (MUST-37).
    for _ in 0..24 {
        for (_, o) in s.advance(Duration::from_secs(3600)) {
            s.inject(Seg::new(A, T + 1, o.seq.wrapping_add(1).max(I + 1)).win(0));
        }
    }
    assert_eq!(s.state(), State::Established);
    // Window opens: the data goes.
    s.inject(Seg::new(A, T + 1, I + 1).win(1000));
    assert_eq!(s.one().payload, b"queued");
}

#[test]
fn must_38_sender_sws_avoidance() {
    let mut s = Script::established_passive(nodelay());
    s.inject(Seg::new(A, T + 1, I + 1).win(4000));
    s.send(&[1; 10000]);
    let sent: usize = s.sent().iter().map(|o| o.payload.len()).sum();
    // Two full segments; 1080 usable bytes are less than an MSS and less than half the
    // largest window: held.
    assert_eq!(sent, 2920);
    // Everything ACKed, the window is 10 bytes: no 10-byte segment now...
    s.inject(Seg::new(A, T + 1, I + 2921).win(10));
    s.none();
    // ...but the override timer sends what the small window allows rather than wait forever
    // (MUST-60).
    let out = s.advance(Duration::from_secs(3));
    assert_eq!(out[0].1.payload.len(), 10, "{out:?}");
    // A full segment fits: sent at once.
    s.inject(Seg::new(A, T + 1, I + 2931).win(2000));
    assert_eq!(s.one().payload.len(), 1460);
}

#[test]
fn must_39_and_shld_14_receiver_sws_avoidance() {
    let mut s = Script::established_passive(plain_small_buffer());
    s.inject(Seg::new(A, T + 1, I + 1).len(1000));
    let out = s.advance(Duration::from_millis(200));
    assert_eq!(out.last().unwrap().1.window, 0);
    let mut b = [0u8; 1];
    // Reading one byte at a time does not open the window in small steps.
    for _ in 0..400 {
        s.ep.recv(s.id(), &mut b).unwrap();
        assert!(s.sent().iter().all(|o| o.window == 0));
    }
    // At min(RCV.BUFF/2, MSS) = 500 the window update goes out.
    for _ in 0..100 {
        s.ep.recv(s.id(), &mut b).unwrap();
    }
    let o = s.one();
    assert_eq!(o.window, 500);
}

#[test]
fn must_40_shld_18_delayed_ack_under_500ms() {
    let mut s = Script::established_passive(plain());
    s.inject(Seg::new(A, T + 1, I + 1).len(10));
    s.none();
    let out = s.advance(Duration::from_millis(499));
    assert_eq!(out.len(), 1);
    let delay = out[0].0.as_millis() - 1_000_000;
    assert!(delay > 0 && delay < 500, "ACK after {delay} ms");
}

#[test]
fn shld_19_ack_every_second_full_segment() {
    let mut s = Script::established_passive(plain());
    let mut acks = 0;
    for k in 0..20u32 {
        s.inject(Seg::new(A, T + 1 + k * 1460, I + 1).len(1460));
        acks += s.sent().len();
    }
    assert!(acks >= 10, "{acks} ACKs for 20 full segments");
}

/// `ConnConfig::quick_ack_segments` (Linux's quickack mode): the first N data segments are
/// ACKed at once, later ones wait for the delayed-ACK timer again (SHLD-18 still holds).
#[test]
fn shld_18_quick_ack_of_the_first_segments() {
    let mut s = Script::established_passive(ConnConfig { quick_ack_segments: 2, ..plain() });
    for k in 0..2u32 {
        s.inject(Seg::new(A, T + 1 + k * 10, I + 1).len(10));
        let o = s.one();
        assert_eq!(o.ack, T + 11 + k * 10, "segment {k} ACKed at once");
    }
    s.inject(Seg::new(A, T + 21, I + 1).len(10));
    s.none();
    let out = s.advance(Duration::from_millis(499));
    assert_eq!(out.len(), 1, "the third waits for the delayed-ACK timer");
}

#[test]
fn must_41_42_listen_beside_connections() {
    let mut s = Script::connecting(plain());
    s.one();
    // Listen on the port of a connection in SYN-SENT.
    let l = s.ep.listen(s.local, 4).unwrap();
    let other: SocketAddr = "10.0.0.3:9999".parse().unwrap();
    s.remote = other;
    s.inject(Seg::new(S, T, 0));
    let o = s.one();
    check(&o, SA, I, T + 1);
    assert_eq!(s.ep.syn_queue_len(l), 1);
    assert_eq!(s.ep.state(s.id()), Ok(State::SynSent));
    // A second passive open on the same address fails and disturbs nothing.
    assert!(s.ep.listen(s.local, 4).is_err());
}

#[test]
fn must_46_open_to_broadcast_or_multicast_rejected() {
    let mut ep = Endpoint::new(EndpointConfig::default(), [1; 16], 1);
    for r in ["255.255.255.255:80", "224.0.0.1:80", "[ff02::1]:80", "0.0.0.0:80", "10.0.0.2:0"] {
        let remote: SocketAddr = r.parse().unwrap();
        let local: SocketAddr = if remote.is_ipv4() {
            "10.0.0.1:0".parse().unwrap()
        } else {
            "[fd00::1]:0".parse().unwrap()
        };
        assert_eq!(
            ep.connect(Instant::ZERO, local, remote, plain()),
            Err(ConnectError::InvalidAddress),
            "{r}"
        );
    }
    let mut buf = [0u8; 100];
    assert!(ep.poll_transmit(Instant::ZERO, &mut buf).is_none());
}

#[test]
fn must_47_54_56_shld_25_soft_icmp_reported_not_fatal() {
    let mut s = Script::established_passive(nodelay());
    s.send(b"data");
    s.one();
    for e in [IcmpError::NetUnreachable, IcmpError::HostUnreachable, IcmpError::TimeExceeded] {
        s.ep.on_icmp_error(s.now, s.local, s.remote, SeqNum(I + 1), e);
        s.drain_events();
        assert!(s.has_event(
            |ev| matches!(ev, Event::SoftError { error: SoftError::Icmp(x), .. } if *x == e)
        ));
        assert_eq!(s.state(), State::Established);
    }
}

#[test]
fn must_54_shld_26_hard_icmp_aborts_only_in_window() {
    let mut s = Script::established_passive(nodelay());
    s.send(b"data");
    s.one();
    // Quoted sequence outside SND.UNA..SND.NXT: ignored (RFC 5927).
    s.ep.on_icmp_error(s.now, s.local, s.remote, SeqNum(I + 500), IcmpError::PortUnreachable);
    assert_eq!(s.state(), State::Established);
    // Unknown tuple: ignored.
    s.ep.on_icmp_error(s.now, s.local, v4(9, 1), SeqNum(I + 1), IcmpError::PortUnreachable);
    assert_eq!(s.state(), State::Established);
    s.ep.on_icmp_error(s.now, s.local, s.remote, SeqNum(I + 1), IcmpError::PortUnreachable);
    assert_eq!(s.ep.error(s.id()), Ok(Some(ConnectionError::Unreachable)));
}

#[test]
fn must_55_source_quench_ignored() {
    let mut s = Script::established_passive(nodelay());
    s.send(b"data");
    s.one();
    s.ep.on_icmp_error(s.now, s.local, s.remote, SeqNum(I + 1), IcmpError::SourceQuench);
    s.drain_events();
    assert!(s.events.is_empty());
}

#[test]
fn icmp_packet_too_big_lowers_mss() {
    let mut s = Script::established_passive(nodelay());
    s.send(&[1; 3000]);
    s.sent();
    s.ep.on_icmp_error(
        s.now,
        s.local,
        s.remote,
        SeqNum(I + 1),
        IcmpError::PacketTooBig { mtu: 1000 },
    );
    s.drain_events();
    assert!(s.has_event(|e| matches!(
        e,
        Event::SoftError { error: SoftError::PathMtuReduced(960), .. }
    )));
    let out = s.sent();
    assert_eq!(out[0].seq, I + 1);
    assert!(out.iter().all(|o| o.payload.len() <= 960));
}

#[test]
fn must_57_63_broadcast_multicast_segments_dropped() {
    let mut s = Script::listening(plain());
    for (src, dst) in [
        ("10.0.0.2", "255.255.255.255"),
        ("10.0.0.2", "224.0.0.1"),
        ("0.0.0.0", "10.0.0.1"),
        ("255.255.255.255", "10.0.0.1"),
        ("224.0.0.5", "10.0.0.1"),
    ] {
        s.remote = SocketAddr::new(src.parse().unwrap(), 4000);
        s.local = SocketAddr::new(dst.parse().unwrap(), 80);
        s.inject(Seg::new(S, T, 0));
        s.inject(Seg::new(A, T, 5));
        s.none();
    }
    assert_eq!(s.ep.connection_count(), 0);
}

#[test]
fn must_58_59_ack_aggregation() {
    let mut s = Script::established_passive(plain());
    for k in 0..5u32 {
        s.inject(Seg::new(A, T + 1 + k * 100, I + 1).len(100));
    }
    // Processed as a batch: the first ACK already covers segment 5.
    let out = s.advance(Duration::from_millis(300));
    assert_eq!(out.len(), 1);
    check(&out[0].1, A, I + 1, T + 501);
}

#[test]
fn must_60_61_push_and_no_indefinite_buffering() {
    let mut s = Script::established_passive(nodelay());
    s.send(&[1; 5000]);
    let out = s.sent();
    assert!(out.last().unwrap().flags.psh(), "PSH on the segment that empties the queue");
    let total: usize = out.iter().map(|o| o.payload.len()).sum();
    assert_eq!(total, 5000);
}

#[test]
fn must_65_mss_only_on_syn() {
    let mut s = Script::established_passive(nodelay());
    s.send(&[1; 4000]);
    s.inject(Seg::new(A, T + 1, I + 1).len(10));
    s.ep.close(s.id()).unwrap();
    let out = s.advance(Duration::from_secs(1));
    assert!(out.iter().all(|(_, o)| o.options.mss.is_none()));
}

#[test]
fn must_66_rst_and_urg_processed_with_zero_window() {
    let mut s = Script::established_passive(plain_small_buffer());
    s.inject(Seg::new(A, T + 1, I + 1).len(1000));
    s.advance(Duration::from_millis(200));
    s.inject(Seg::new(A | U, T + 1001, I + 1).urg(5));
    assert!(s.has_event(|e| matches!(e, Event::Urgent { .. })));
    s.inject(Seg::new(R, T + 1001, 0));
    assert_eq!(s.ep.error(s.id()), Ok(Some(ConnectionError::Reset)));
}

#[test]
fn shld_2_rst_with_data_resets() {
    let mut s = Script::established_passive(plain());
    s.inject(Seg::new(R, T + 1, 0).data(b"diagnostic text"));
    assert_eq!(s.ep.error(s.id()), Ok(Some(ConnectionError::Reset)));
}

#[test]
fn shld_3_close_with_unread_data_sends_rst() {
    let mut s = Script::established_passive(plain());
    s.inject(Seg::new(A, T + 1, I + 1).len(100));
    s.ep.close(s.id()).unwrap();
    let out = s.sent();
    assert!(out.iter().any(|o| o.is(R, I + 1, 0)), "{out:?}");
    assert!(out.iter().all(|o| !o.flags.fin()));
    // Data arriving after a full close (FIN-WAIT-2) also draws a RST.
    let mut s = Script::established_passive(plain());
    s.ep.close(s.id()).unwrap();
    s.one();
    s.inject(Seg::new(A, T + 1, I + 2));
    s.inject(Seg::new(A, T + 1, I + 2).len(10));
    assert!(s.sent().iter().any(|o| o.flags.rst()));
}

fn time_wait_with_ts() -> Script {
    let cfg = ConnConfig { sack: false, window_scaling: false, ..ConnConfig::default() };
    let mut s = Script::listening(cfg);
    s.inject(Seg::new(S, T, 0).mss(1460).ts(1000, 0));
    let sa = s.one();
    let our_ts = sa.options.timestamps.unwrap().tsval;
    s.inject(Seg::new(A, T + 1, I + 1).ts(1001, our_ts));
    s.conn = s.ep.accept(s.listener.unwrap());
    s.ep.close(s.id()).unwrap();
    s.one();
    s.inject(Seg::new(FA, T + 1, I + 2).ts(1002, our_ts));
    s.one();
    assert_eq!(s.state(), State::TimeWait);
    s
}

#[test]
fn shld_4_syn_in_time_wait_with_newer_timestamp_reopens() {
    let mut s = time_wait_with_ts();
    s.ep.set_isn_override(None);
    s.inject(Seg::new(S, T + 10, 0).mss(1460).ts(2000, 0));
    let o = s.one();
    assert!(o.flags.syn() && o.flags.ack());
    assert_eq!(o.ack, T + 11);
    assert!(s.ep.state(s.id()).is_err(), "old incarnation gone");
}

/// `Endpoint::syn_reopens` (what an accept-any relay asks before deciding a SYN itself)
/// says what the TIME-WAIT connection would do with the SYN, and changes nothing.
#[test]
fn shld_4_syn_reopens_predicts_the_time_wait_decision() {
    let mut s = time_wait_with_ts();
    let tuple = synack_tcp::FourTuple { local: s.local, remote: s.remote };
    let syn = |tsval: u32| {
        let seg = Seg::new(S, T + 10, 0).mss(1460).ts(tsval, 0);
        let repr = synack_wire::TcpRepr {
            src_port: s.remote.port(),
            dst_port: s.local.port(),
            seq: SeqNum(seg.seq),
            ack: SeqNum(seg.ack),
            flags: seg.flags,
            window: seg.window,
            urgent: seg.urgent,
            options: seg.options,
            raw_options: None,
            payload: &[],
        };
        s.ep.syn_reopens(&tuple, &repr)
    };
    assert!(syn(2000), "newer timestamp");
    assert!(!syn(900), "old duplicate");
    assert_eq!(s.state(), State::TimeWait);
    s.none();
    // It does reopen: SYN-ACK, the old incarnation gone.
    s.inject(Seg::new(S, T + 10, 0).mss(1460).ts(2000, 0));
    assert!(s.one().flags.syn());
    assert!(s.ep.state(s.id()).is_err());
}

#[test]
fn shld_4_syn_in_time_wait_with_old_timestamp_is_duplicate() {
    let mut s = time_wait_with_ts();
    s.inject(Seg::new(S, T + 10, 0).mss(1460).ts(900, 0));
    let o = s.one();
    check(&o, A, I + 2, T + 2);
    assert_eq!(s.state(), State::TimeWait);
}

#[test]
fn may_2_syn_in_time_wait_without_timestamps() {
    let mut s = Script::established_passive(plain());
    s.ep.close(s.id()).unwrap();
    s.one();
    s.inject(Seg::new(FA, T + 1, I + 2));
    s.one();
    // Above RCV.NXT: a new incarnation with an ISS above the old SND.NXT.
    s.inject(Seg::new(S, T + 100_000, 0));
    let o = s.one();
    assert!(o.flags.syn() && o.flags.ack());
    assert!(SeqNum(o.seq).gt(SeqNum(I + 2)));
}

#[test]
fn shld_31_out_of_order_queued() {
    let mut s = Script::established_passive(plain());
    s.inject(Seg::new(A, T + 11, I + 1).data(b"world"));
    check(&s.one(), A, I + 1, T + 1);
    s.inject(Seg::new(A, T + 1, I + 1).data(b"hello, you"));
    check(&s.one(), A, I + 1, T + 16);
    assert_eq!(s.recv_all(), b"hello, youworld");
}

#[test]
fn sack_blocks_reported_for_out_of_order_data() {
    let cfg = ConnConfig { timestamps: false, window_scaling: false, ..ConnConfig::default() };
    let mut s = Script::listening(cfg);
    s.inject(Seg::new(S, T, 0).mss(1460).sack_ok());
    assert!(s.one().options.sack_permitted);
    s.inject(Seg::new(A, T + 1, I + 1));
    s.conn = s.ep.accept(s.listener.unwrap());
    s.inject(Seg::new(A, T + 101, I + 1).len(100));
    s.inject(Seg::new(A, T + 301, I + 1).len(100));
    let o = s.sent();
    let last = o.last().unwrap();
    let blocks = last.options.sack.as_slice();
    assert_eq!(blocks[0].left.0, T + 301, "most recent first");
    assert_eq!(blocks[1].left.0, T + 101);
}

#[test]
fn shld_20_soft_error_reports_can_be_switched_off() {
    let mut s = Script::established_passive(ConnConfig { soft_errors: false, ..nodelay() });
    s.send(b"data");
    s.one();
    s.ep.on_icmp_error(s.now, s.local, s.remote, SeqNum(I + 1), IcmpError::HostUnreachable);
    s.advance(Duration::from_secs(10));
    assert!(!s.has_event(|e| matches!(e, Event::SoftError { .. })), "{:?}", s.events);
    assert_eq!(s.state(), State::Established);
}

/// RFC 9293 3.7.1: the MSS offered is what the link carries minus the fixed IP and TCP
/// headers, also on a tiny link: a 72-byte IPv4 MTU offers 32, not a floor of the engine's.
#[test]
fn syn_mss_follows_a_tiny_mtu() {
    let cfg = ConnConfig::default();
    let mut ep = Endpoint::new(
        EndpointConfig { mtu: 72, conn: cfg, ..EndpointConfig::default() },
        [1; 16],
        1,
    );
    let now = Instant::from_secs(1);
    ep.connect(now, v4(1, 5000), v4(2, 80), cfg).unwrap();
    let mut buf = [0u8; 200];
    let t = ep.poll_transmit(now, &mut buf).expect("the SYN");
    assert_eq!(t.options.mss, Some(32));
}
