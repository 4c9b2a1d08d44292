//! Two endpoints wired back to back on a virtual clock, through every open and close path.

mod pair_common;

use pair_common::{Pair, addr, connected_pair, read_all};
use synack_tcp::{ConnConfig, ConnId, Duration, Event, State, Transmit};
use synack_wire::SeqNum;

#[test]
fn pair_active_passive_open_and_data_both_ways() {
    for cfg in [
        ConnConfig::default(),
        ConnConfig {
            window_scaling: false,
            sack: false,
            timestamps: false,
            ..ConnConfig::default()
        },
    ] {
        let (mut p, ca, cb) = connected_pair(cfg);
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7) as u8).collect();
        let mut sent = 0;
        let mut got = Vec::new();
        for _ in 0..1000 {
            if sent < data.len() {
                sent += p.a.send(ca, &data[sent..]).unwrap_or(0);
            }
            p.run(Duration::from_millis(20));
            got.extend(read_all(&mut p.b, cb).0);
            if got.len() == data.len() {
                break;
            }
        }
        assert_eq!(got, data);
        p.b.send(cb, b"reply").unwrap();
        p.run(Duration::from_millis(100));
        assert_eq!(read_all(&mut p.a, ca).0, b"reply");
        let st = p.a.stats(ca).unwrap();
        assert_eq!(st.timestamps, cfg.timestamps);
        assert_eq!(st.sack, cfg.sack);
        assert_eq!(st.bytes_acked, 100_000);
        assert!(st.delivery_rate.is_some_and(|r| r > 0), "{st:?}");
        assert!(st.cwnd.is_some() && st.srtt.is_some());
    }
}

#[test]
fn pair_four_way_close() {
    let (mut p, ca, cb) = connected_pair(ConnConfig::default());
    p.a.close(ca).unwrap();
    p.run(Duration::from_millis(100));
    assert_eq!(p.a.state(ca), Ok(State::FinWait2));
    assert_eq!(p.b.state(cb), Ok(State::CloseWait));
    assert_eq!(read_all(&mut p.b, cb), (vec![], true));
    p.b.close(cb).unwrap();
    p.run(Duration::from_millis(100));
    assert_eq!(p.a.state(ca), Ok(State::TimeWait));
    assert!(p.b.state(cb).is_err(), "B closed and released");
    p.run(Duration::from_secs(241));
    assert!(p.a.state(ca).is_err(), "A released after 2MSL");
    assert_eq!(p.a.connection_count(), 0);
    assert_eq!(p.b.connection_count(), 0);
}

#[test]
fn pair_three_way_close_fin_ack_combined() {
    // B answers A's FIN with its own FIN carrying the ACK: three segments in all.
    let (mut p, ca, cb) = connected_pair(ConnConfig::default());
    p.hold_b = true;
    p.a.close(ca).unwrap();
    p.run(Duration::from_millis(15));
    assert_eq!(p.b.state(cb), Ok(State::CloseWait));
    p.b.close(cb).unwrap();
    p.hold_b = false;
    let before = p.log.len();
    p.run(Duration::from_millis(100));
    let from_b: Vec<_> = p.log[before..].iter().filter(|(a, _)| !a).collect();
    assert_eq!(from_b.len(), 1, "B sends a single FIN+ACK");
    assert!(from_b[0].1.flags.fin() && from_b[0].1.flags.ack());
    assert_eq!(p.a.state(ca), Ok(State::TimeWait));
    assert!(p.b.state(cb).is_err());
}

#[test]
fn pair_simultaneous_close() {
    let (mut p, ca, cb) = connected_pair(ConnConfig::default());
    p.a.close(ca).unwrap();
    p.b.close(cb).unwrap();
    p.run(Duration::from_millis(5));
    assert_eq!(p.a.state(ca), Ok(State::FinWait1));
    assert_eq!(p.b.state(cb), Ok(State::FinWait1));
    p.run(Duration::from_millis(100));
    assert!(
        p.a_events.iter().any(|e| matches!(e, Event::StateChanged { new: State::Closing, .. }))
    );
    assert!(
        p.b_events.iter().any(|e| matches!(e, Event::StateChanged { new: State::Closing, .. }))
    );
    assert_eq!(p.a.state(ca), Ok(State::TimeWait));
    assert_eq!(p.b.state(cb), Ok(State::TimeWait));
    p.run(Duration::from_secs(241));
    assert_eq!(p.a.connection_count() + p.b.connection_count(), 0);
}

#[test]
fn pair_simultaneous_open() {
    let cfg = ConnConfig::default();
    let mut p = Pair::new(cfg);
    let ca = p.a.connect(p.now, addr("10.0.0.1:7000"), addr("10.0.0.2:8000"), cfg).unwrap();
    let cb = p.b.connect(p.now, addr("10.0.0.2:8000"), addr("10.0.0.1:7000"), cfg).unwrap();
    p.run(Duration::from_millis(200));
    assert_eq!(p.a.state(ca), Ok(State::Established));
    assert_eq!(p.b.state(cb), Ok(State::Established));
    for ev in [&p.a_events, &p.b_events] {
        assert!(ev.iter().any(|e| matches!(
            e,
            Event::StateChanged { old: State::SynSent, new: State::SynReceived, .. }
        )));
    }
    p.a.send(ca, b"ping").unwrap();
    p.b.send(cb, b"pong").unwrap();
    p.run(Duration::from_millis(200));
    assert_eq!(read_all(&mut p.b, cb).0, b"ping");
    assert_eq!(read_all(&mut p.a, ca).0, b"pong");
}

#[test]
fn pair_half_close_both_directions() {
    let (mut p, ca, cb) = connected_pair(ConnConfig::default());
    p.a.shutdown_write(ca).unwrap();
    p.run(Duration::from_millis(100));
    assert_eq!(read_all(&mut p.b, cb), (vec![], true));
    // B keeps sending; A keeps receiving.
    p.b.send(cb, b"after your FIN").unwrap();
    p.run(Duration::from_millis(100));
    assert_eq!(read_all(&mut p.a, ca).0, b"after your FIN");
    p.b.shutdown_write(cb).unwrap();
    p.run(Duration::from_millis(100));
    assert_eq!(read_all(&mut p.a, ca), (vec![], true));
    assert_eq!(p.a.state(ca), Ok(State::TimeWait));
    assert_eq!(p.b.state(cb), Ok(State::Closed));
}

#[test]
fn pair_abort_resets_peer() {
    let (mut p, ca, cb) = connected_pair(ConnConfig::default());
    p.a.abort(ca).unwrap();
    p.run(Duration::from_millis(100));
    assert_eq!(p.b.state(cb), Ok(State::Closed));
    assert_eq!(p.b.error(cb), Ok(Some(synack_tcp::ConnectionError::Reset)));
}

#[test]
fn pair_close_with_unread_data_sends_rst() {
    let (mut p, ca, cb) = connected_pair(ConnConfig::default());
    p.a.send(ca, b"unread").unwrap();
    p.run(Duration::from_millis(100));
    p.b.close(cb).unwrap();
    p.run(Duration::from_millis(100));
    assert_eq!(p.a.error(ca), Ok(Some(synack_tcp::ConnectionError::Reset)));
}

#[test]
fn pair_refused_without_listener() {
    let cfg = ConnConfig::default();
    let mut p = Pair::new(cfg);
    let ca = p.a.connect(p.now, addr("10.0.0.1:0"), addr("10.0.0.2:81"), cfg).unwrap();
    p.run(Duration::from_millis(100));
    assert_eq!(p.a.error(ca), Ok(Some(synack_tcp::ConnectionError::Refused)));
}

#[test]
fn pair_close_paths_near_sequence_wrap() {
    let cfg = ConnConfig::default();
    for (ia, ib) in [(u32::MAX - 2, u32::MAX), (u32::MAX, u32::MAX - 5), (u32::MAX - 100, 3)] {
        // four-way
        let mut p = Pair::new(cfg);
        p.a.set_isn_override(Some(SeqNum(ia)));
        p.b.set_isn_override(Some(SeqNum(ib)));
        let l = p.b.listen(addr("10.0.0.2:80"), 8).unwrap();
        let ca = p.a.connect(p.now, addr("10.0.0.1:0"), addr("10.0.0.2:80"), cfg).unwrap();
        p.run(Duration::from_millis(100));
        let cb = p.b.accept(l).unwrap();
        let data = vec![0x5a; 5000];
        p.a.send(ca, &data).unwrap();
        p.b.send(cb, &data).unwrap();
        p.run(Duration::from_millis(200));
        assert_eq!(read_all(&mut p.b, cb).0, data);
        assert_eq!(read_all(&mut p.a, ca).0, data);
        p.a.close(ca).unwrap();
        p.b.close(cb).unwrap();
        p.run(Duration::from_millis(200));
        assert_eq!(p.a.state(ca), Ok(State::TimeWait));
        p.run(Duration::from_secs(241));
        assert_eq!(p.a.connection_count() + p.b.connection_count(), 0);
    }
}

fn bulk_time(cfg: ConnConfig) -> (Duration, usize) {
    let (mut p, ca, cb) = connected_pair(cfg);
    p.delay = Duration::from_millis(25);
    let data = vec![7u8; 2 << 20];
    let (mut sent, mut got) = (0, 0);
    let start = p.now;
    for _ in 0..100_000 {
        if sent < data.len() {
            sent += p.a.send(ca, &data[sent..]).unwrap_or(0);
        }
        p.run(Duration::from_millis(5));
        got += read_all(&mut p.b, cb).0.len();
        if got == data.len() {
            break;
        }
    }
    assert_eq!(got, data.len());
    (p.now.saturating_since(start), p.b.stats(cb).unwrap().recv_buffer)
}

#[test]
fn receive_window_autotuning_grows_with_the_path() {
    let fixed = ConnConfig { recv_buffer: 16 * 1024, ..ConnConfig::default() };
    let tuned = ConnConfig { recv_buffer_max: 4 << 20, ..fixed };
    let (t_fixed, buf_fixed) = bulk_time(fixed);
    let (t_tuned, buf_tuned) = bulk_time(tuned);
    assert_eq!(buf_fixed, 16 * 1024);
    assert!(buf_tuned > 16 * 1024, "buffer grew to {buf_tuned}");
    assert!(buf_tuned <= 4 << 20);
    assert!(t_tuned * 2 < t_fixed, "tuned {t_tuned:?} vs fixed {t_fixed:?}");
}

/// PSH (RFC 9293 3.9.1.2): a write larger than the congestion window goes out as one burst
/// of the initial window; its last segment carries PSH (the send queue is not empty, but
/// nothing more can follow until ACKs come back), the others do not. Linux marks bursts the
/// same way, so the receiver delivers at once.
#[test]
fn pair_psh_on_the_last_segment_of_a_cwnd_limited_burst() {
    let (mut p, ca, _cb) = connected_pair(ConnConfig::default());
    let data = vec![7u8; 100_000];
    let n = p.a.send(ca, &data).unwrap();
    assert_eq!(n, data.len());
    let before = p.log.len();
    p.collect();
    let burst: Vec<&Transmit> = p.log[before..]
        .iter()
        .filter(|(from_a, t)| *from_a && t.len > t.header_len)
        .map(|(_, t)| t)
        .collect();
    assert!(burst.len() >= 2, "an initial window of several segments: {}", burst.len());
    let (last, rest) = burst.split_last().unwrap();
    assert!(last.flags.psh(), "last segment of the burst: {:?}", last.flags);
    assert!(rest.iter().all(|t| !t.flags.psh()), "PSH only at the end of the burst");
}

/// RFC 6298 section 2: the handshake's RTT seeds SRTT on both sides even without timestamps
/// and before any data (the SYN and SYN-ACK are timed; Linux does the same), so the first
/// data or FIN retransmission already uses an RTO from the path, not the initial 1 s.
#[test]
fn pair_handshake_rtt_seeds_srtt_on_both_sides() {
    let cfg = ConnConfig { timestamps: false, ..ConnConfig::default() };
    let (p, ca, cb) = connected_pair(cfg);
    // 10 ms each way.
    for (ep, c) in [(&p.a, ca), (&p.b, cb)] {
        let st = ep.stats(c).unwrap();
        assert_eq!(st.srtt, Some(Duration::from_millis(20)), "{st:?}");
        assert_eq!(st.rttvar, Duration::from_millis(10));
        assert!(st.rto < Duration::from_secs(1), "{st:?}");
    }
}

/// TCP_MAXSEG (`ConnConfig::mss_clamp`, RFC 9293 3.7.1): the clamped side announces the
/// clamp on its SYN and sends no segment larger than it, whatever the peer announced; a
/// listener's settings can change after `listen` and apply to connections accepted later.
#[test]
fn pair_mss_clamp_bounds_announced_and_sent_segments() {
    let cfg = ConnConfig { timestamps: false, ..ConnConfig::default() };
    let clamped = ConnConfig { mss_clamp: Some(1100), ..cfg };
    let mut p = Pair::new(cfg);
    let l = p.b.listen(addr("10.0.0.2:80"), 8).unwrap();
    assert!(p.b.set_listener_config(l, clamped));
    let ca = p.a.connect(p.now, addr("10.0.0.1:0"), addr("10.0.0.2:80"), clamped).unwrap();
    p.run(Duration::from_millis(100));
    let cb = p.b.accept(l).expect("accepted");
    let syns: Vec<_> = p.log.iter().filter(|(_, t)| t.flags.syn()).collect();
    assert_eq!(syns.len(), 2);
    assert!(syns.iter().all(|(_, t)| t.options.mss == Some(1100)), "{syns:?}");
    for (ep, c) in [(&mut p.a, ca), (&mut p.b, cb)] {
        assert_eq!(ep.stats(c).unwrap().snd_mss, 1100);
        ep.send(c, &[5u8; 20_000]).unwrap();
    }
    p.run(Duration::from_millis(200));
    let biggest = p.log.iter().map(|(_, t)| t.len - t.header_len).max().unwrap();
    assert_eq!(biggest, 1100);
    // Without the clamp the same path carries 1460-byte segments.
    let (mut q, qa, _) = connected_pair(cfg);
    assert_eq!(q.a.stats(qa).unwrap().snd_mss, 1460);
    q.a.send(qa, &[5u8; 20_000]).unwrap();
    q.run(Duration::from_millis(200));
    assert_eq!(q.log.iter().map(|(_, t)| t.len - t.header_len).max(), Some(1460));
}

/// `ConnConfig::window_scale` (RFC 7323 2.3: the shift is the sender's choice): the configured
/// shift is offered and used instead of the one derived from the buffer, and data still
/// flows with the window scaled by it.
#[test]
fn pair_configured_window_scale_is_offered_and_used() {
    let cfg = ConnConfig { recv_buffer: 65536, window_scale: Some(6), ..ConnConfig::default() };
    let (mut p, ca, cb) = connected_pair(cfg);
    let syns: Vec<_> = p.log.iter().filter(|(_, t)| t.flags.syn()).collect();
    assert!(syns.iter().all(|(_, t)| t.options.window_scale == Some(6)), "{syns:?}");
    assert_eq!(p.a.stats(ca).unwrap().rcv_wscale, 6);
    assert_eq!(p.b.stats(cb).unwrap().snd_wscale, 6);
    let data = vec![3u8; 50_000];
    let mut sent = 0;
    let mut got = 0;
    for _ in 0..100 {
        sent += p.b.send(cb, &data[sent..]).unwrap_or(0);
        p.run(Duration::from_millis(20));
        got += read_all(&mut p.a, ca).0.len();
        if got == data.len() {
            break;
        }
    }
    assert_eq!(got, data.len());
    // Without the setting a 64 KiB buffer needs shift 1.
    let (q, qa, _) = connected_pair(ConnConfig { recv_buffer: 65536, ..ConnConfig::default() });
    assert_eq!(q.a.stats(qa).unwrap().rcv_wscale, 1);
}

/// The receive side's out-of-order state (assembler ranges, SACK history) exists only while
/// data is out of order, and is freed when the hole fills (idle memory). A second
/// loss after an idle period must be handled exactly like the first: held data, SACK blocks
/// on the ACKs, one retransmission, everything delivered in order.
#[test]
fn pair_loss_after_an_idle_period_is_repaired_like_the_first() {
    let (mut p, c, s) = connected_pair(ConnConfig::default());
    let mut deltas = Vec::new();
    for round in 0..2u8 {
        let before = p.a.stats(c).unwrap();
        let data: Vec<u8> = (0..30_000u32).map(|i| (i % 251) as u8 ^ round).collect();
        assert_eq!(p.a.send(c, &data), Ok(data.len()));
        let log_start = p.log.len();
        p.collect();
        // Lose A's second data segment of this round.
        let lost = p
            .wire
            .iter()
            .enumerate()
            .filter(|(_, w)| w.1 && w.2.t.len > w.2.t.header_len)
            .map(|(i, _)| i)
            .nth(1)
            .expect("several data segments in flight");
        let lost_seq = p.wire.remove(lost).2.t.seq;
        p.run(Duration::from_secs(3));
        let (got, _) = read_all(&mut p.b, s);
        assert_eq!(got, data, "round {round}: every byte, in order");
        let sacked = p.log[log_start..].iter().any(|(from_a, t)| {
            !from_a && t.options.sack.as_slice().iter().any(|b| b.left.gt(lost_seq))
        });
        assert!(sacked, "round {round}: B's ACKs reported the data above the hole");
        let after = p.a.stats(c).unwrap();
        assert_eq!(after.snd_una, after.snd_nxt, "round {round}: everything acknowledged");
        assert!(!after.in_recovery);
        deltas.push((after.retransmits - before.retransmits, after.timeouts - before.timeouts));
        // Idle long enough for every timer to run out.
        p.run(Duration::from_secs(30));
    }
    assert_eq!(deltas[0], (1, 0), "one fast retransmission, no timeout");
    assert_eq!(deltas[1], deltas[0], "the second loss, after idling, is repaired the same way");
}

/// The statistics read from the sender's loss state, which lives out of line and is built
/// with the first data sent (idle memory).
fn loss_stats(p: &Pair, c: ConnId) -> [Option<u64>; 11] {
    let s = p.a.stats(c).unwrap();
    [
        Some(s.lost),
        Some(u64::from(s.lost_segments)),
        s.retrans_segments.map(u64::from),
        s.unacked_segments.map(u64::from),
        s.reordering.map(u64::from),
        s.reordering_events.map(u64::from),
        s.cwnd.map(u64::from),
        s.ssthresh.map(u64::from),
        Some(s.retransmits),
        Some(s.timeouts),
        Some(u64::from(s.in_recovery)),
    ]
}

/// Statistics stay exact across an idle period: the reordering measured in a first burst
/// (one segment overtaken by two later ones) is still reported, unchanged, after the
/// connection idled, and a second reordered burst adds to it rather than starting over.
#[test]
fn pair_loss_state_statistics_are_continuous_across_an_idle_period() {
    let (mut p, c, s) = connected_pair(ConnConfig::default());
    let mut events = Vec::new();
    for round in 0..2u8 {
        let data: Vec<u8> = (0..12_000u32).map(|i| (i % 253) as u8 ^ round).collect();
        assert_eq!(p.a.send(c, &data), Ok(data.len()));
        p.collect();
        // A's second data segment is overtaken by the next two (fewer than DupThresh, so
        // no fast retransmission): the burst arrives as segments 0, 2, 3, 1, 4, ...
        let data_segs: Vec<usize> = p
            .wire
            .iter()
            .enumerate()
            .filter(|(_, w)| w.1 && w.2.t.len > w.2.t.header_len)
            .map(|(i, _)| i)
            .collect();
        assert!(data_segs.len() > 4, "a burst of several segments");
        for (rank, &i) in data_segs.iter().enumerate() {
            match rank {
                1 => p.wire[i].0 += Duration::from_micros(1),
                r if r >= 4 => p.wire[i].0 += Duration::from_micros(2),
                _ => {}
            }
        }
        p.run(Duration::from_secs(2));
        assert_eq!(read_all(&mut p.b, s).0, data, "round {round}");
        let st = p.a.stats(c).unwrap();
        assert_eq!(st.snd_una, st.snd_nxt, "round {round}: everything acknowledged");
        assert_eq!(st.retransmits, 0, "round {round}: reordering, not loss: {st:?}");
        events.push(st.reordering_events.unwrap());
        let before = loss_stats(&p, c);
        p.run(Duration::from_secs(30));
        assert_eq!(loss_stats(&p, c), before, "round {round}: idling changes no statistic");
    }
    assert!(events[0] >= 1 && events[1] > events[0], "the count goes on: {events:?}");
}

/// A flight lost whole (every segment and every probe) after an idle period is repaired by
/// the retransmission timer exactly as the first flight was: same retransmissions, same
/// timeouts, every byte delivered in order, recovery over afterwards.
#[test]
fn pair_rto_after_an_idle_period_is_repaired_like_the_first() {
    let (mut p, c, s) = connected_pair(ConnConfig::default());
    let mut deltas = Vec::new();
    for round in 0..2u8 {
        let before = p.a.stats(c).unwrap();
        let data: Vec<u8> = (0..20_000u32).map(|i| (i % 249) as u8 ^ round).collect();
        assert_eq!(p.a.send(c, &data), Ok(data.len()));
        p.collect();
        // Everything A sends for 2.5 s is lost: the probe timer, then the RTO (with backoff).
        for _ in 0..500 {
            p.wire.retain(|w| !w.1);
            p.run(Duration::from_millis(5));
        }
        p.wire.retain(|w| !w.1);
        p.run(Duration::from_secs(20));
        assert_eq!(read_all(&mut p.b, s).0, data, "round {round}: every byte, in order");
        let after = p.a.stats(c).unwrap();
        assert_eq!(after.snd_una, after.snd_nxt, "round {round}: everything acknowledged");
        assert!(!after.in_recovery, "round {round}");
        let d = (after.timeouts - before.timeouts, after.lost - before.lost);
        assert!(d.0 >= 1, "round {round}: the retransmission timer repaired it: {d:?}");
        deltas.push(d);
        p.run(Duration::from_secs(30));
    }
    assert_eq!(deltas[1], deltas[0], "after idling, the same repair");
}
