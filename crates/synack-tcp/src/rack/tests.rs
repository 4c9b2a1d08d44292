use super::*;
use std::vec::Vec;

fn t(ms: u64) -> Instant {
    Instant::from_millis(ms)
}
fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}
fn blk(l: u32, r: u32) -> SackBlock {
    SackBlock { left: SeqNum(l), right: SeqNum(r) }
}
/// Sends segments of 1000 bytes, segment i at time i ms.
fn sent(n: u32) -> Rack {
    let mut r = Rack::new(RackConfig::default(), SeqNum(0));
    for i in 0..n {
        r.on_transmit(t(u64::from(i)), SeqNum(i * 1000), SeqNum((i + 1) * 1000), false);
    }
    r
}
fn lost(r: &Rack) -> Vec<(u32, u32)> {
    r.lost_ranges().map(|(a, b)| (a.0, b.0)).collect()
}

#[test]
fn later_delivery_marks_earlier_lost_after_rtt_plus_window() {
    let mut r = sent(10);
    // Segment 0 (sent at 0 ms) is lost; 1 and 2 are SACKed at 101/102 ms (RTT 100 ms).
    let o = r.on_ack(t(101), SeqNum(0), &[blk(1000, 2000)], false, Some(ms(100)), false);
    // reo_wnd = min_RTT / 4 = 25 ms (no reordering seen, fewer than 3 SACKed): segment 0
    // is due at 0 + 100 + 25 = 125 ms.
    assert_eq!(o.newly_lost, 0);
    assert_eq!(o.reorder_deadline, Some(t(125)));
    let o = r.on_reorder_timeout(t(125), Some(ms(100)), false);
    assert_eq!(o.newly_lost, 1000);
    assert_eq!(lost(&r), [(0, 1000)]);
}

#[test]
fn three_sacked_means_zero_window() {
    let mut r = sent(10);
    let o = r.on_ack(t(103), SeqNum(0), &[blk(1000, 4000)], false, Some(ms(100)), false);
    // Three segments SACKed without reordering: reo_wnd = 0, segment 0 due at 100 ms.
    assert_eq!(o.newly_lost, 1000);
    assert_eq!(lost(&r), [(0, 1000)]);
}

#[test]
fn detects_lost_retransmission() {
    let mut r = sent(10);
    r.on_ack(t(103), SeqNum(0), &[blk(1000, 4000)], false, Some(ms(100)), false);
    r.on_transmit(t(103), SeqNum(0), SeqNum(1000), true);
    assert!(lost(&r).is_empty(), "retransmitted: no longer lost");
    // The retransmission is lost too; segments sent after it (new data at 110 ms) are
    // SACKed later.
    r.on_transmit(t(110), SeqNum(10_000), SeqNum(11_000), false);
    let o = r.on_ack(t(210), SeqNum(0), &[blk(10_000, 11_000)], false, Some(ms(100)), true);
    assert_eq!(o.newly_lost, 1000 + 6000, "the retransmission and 4..10 sent before it");
    assert_eq!(lost(&r), [(0, 1000), (4000, 10_000)]);
}

#[test]
fn loss_scan_looks_past_a_newer_retransmission() {
    // Segment 0 was retransmitted at 50 ms, after segments 1..5 first left: the scan must
    // not stop at it (it is not older than RACK.xmit_ts, but segments above it are).
    let mut r = sent(5);
    r.on_transmit(t(50), SeqNum(0), SeqNum(1000), true);
    let o = r.on_ack(t(150), SeqNum(0), &[blk(4000, 5000)], false, Some(ms(100)), true);
    assert_eq!(o.newly_lost, 3000, "1..4 were sent before the SACKed segment 4");
    assert_eq!(lost(&r), [(1000, 4000)]);
    // An in-order ACK of everything left finds nothing more to mark.
    r.on_transmit(t(151), SeqNum(5000), SeqNum(6000), false);
    let o = r.on_ack(t(160), SeqNum(5000), &[], false, Some(ms(100)), false);
    assert_eq!(o.newly_lost, 0);
    assert!(lost(&r).is_empty());
}

#[test]
fn reordering_widens_window() {
    let mut r = sent(10);
    // Segment 2 is delivered before 1 (reordering): FACK moves past 1 first.
    r.on_ack(t(102), SeqNum(0), &[blk(2000, 3000)], false, Some(ms(100)), false);
    r.on_ack(t(103), SeqNum(0), &[blk(1000, 3000)], false, Some(ms(100)), false);
    assert!(r.reordering_seen());
    assert_eq!(r.reo_wnd(Some(ms(100)), true), ms(25), "kept even in recovery");
    // A D-SACK widens the window by another min_RTT / 4 (once per round trip).
    r.on_ack(t(104), SeqNum(0), &[], true, Some(ms(100)), false);
    assert_eq!(r.reo_wnd(Some(ms(100)), false), ms(50));
    r.on_ack(t(105), SeqNum(0), &[], true, Some(ms(100)), false);
    assert_eq!(r.reo_wnd(Some(ms(100)), false), ms(50));
    // Capped by SRTT.
    assert_eq!(r.reo_wnd(Some(ms(30)), false), ms(30));
}

#[test]
fn cumulative_ack_and_partial_segments() {
    let mut r = sent(4);
    r.on_ack(t(100), SeqNum(1500), &[], false, Some(ms(100)), false);
    assert_eq!(r.tracked_segments(), 3, "half of segment 1 remains");
    r.on_ack(t(100), SeqNum(4000), &[], false, Some(ms(100)), false);
    assert_eq!(r.tracked_segments(), 0);
    assert_eq!(r.rack_rtt(), ms(97));
}

#[test]
fn spurious_retransmission_sample_is_ignored() {
    let mut r = sent(2);
    r.on_ack(t(100), SeqNum(1000), &[], false, Some(ms(100)), false); // min_rtt 100
    r.on_transmit(t(150), SeqNum(1000), SeqNum(2000), true);
    // The original's ACK arrives 10 ms after the retransmission: RTT 10 < min_RTT.
    r.on_ack(t(160), SeqNum(2000), &[], false, Some(ms(100)), false);
    assert_eq!(r.rack_rtt(), ms(100));
}

#[test]
fn switchable_off() {
    let mut r = Rack::new(RackConfig { enabled: false, ..RackConfig::default() }, SeqNum(0));
    for i in 0..10u32 {
        r.on_transmit(t(u64::from(i)), SeqNum(i * 1000), SeqNum((i + 1) * 1000), false);
    }
    let o = r.on_ack(t(500), SeqNum(0), &[blk(1000, 9000)], false, Some(ms(100)), false);
    assert_eq!(o, RackOutcome::default());
    assert!(lost(&r).is_empty());
}

#[test]
fn rto_marks_first_and_old_segments() {
    let mut r = sent(5);
    r.on_ack(t(100), SeqNum(1000), &[], false, Some(ms(100)), false);
    // RTO at 104 ms: segments 1 (first outstanding) and those sent by 4 ms (rtt 100 +
    // reo 0 in recovery) are lost.
    assert_eq!(r.on_rto(t(104), Some(ms(100))), 4000);
    assert_eq!(lost(&r), [(1000, 5000)]);
}

#[test]
fn pto_rfc8985_section_7_2() {
    let r = sent(3);
    let far = Instant::FAR_FUTURE;
    assert_eq!(r.pto_deadline(t(0), Some(ms(50)), 3, far, false, true), Some(t(100)));
    assert_eq!(r.pto_deadline(t(0), Some(ms(50)), 1, far, false, true), Some(t(300)));
    assert_eq!(r.pto_deadline(t(0), None, 3, far, false, true), Some(t(1000)));
    assert_eq!(r.pto_deadline(t(0), Some(ms(50)), 3, t(80), false, true), Some(t(80)));
    assert_eq!(r.pto_deadline(t(0), Some(ms(50)), 3, far, true, true), None);
    assert_eq!(r.pto_deadline(t(0), Some(ms(50)), 3, far, false, false), None);
    assert_eq!(r.pto_deadline(t(0), Some(ms(50)), 0, far, false, true), None);
}

#[test]
fn pto_after_now_even_with_zero_srtt() {
    // Found by the tcp_endpoint fuzz target: SRTT 0 armed the probe at `now`, and the
    // endpoint's on_timeout re-armed it at `now` forever.
    let r = sent(3);
    let far = Instant::FAR_FUTURE;
    let now = t(5);
    assert_eq!(r.pto_deadline(now, Some(ms(0)), 3, far, false, true), Some(now + MIN_PTO));
    assert!(r.pto_deadline(now, Some(ms(0)), 1, far, false, true).unwrap() > now);
}

#[test]
fn tlp_outcomes_rfc8985_section_7_4() {
    // New-data probe acknowledged: no loss.
    let mut r = sent(3);
    r.on_transmit(t(200), SeqNum(3000), SeqNum(4000), false);
    r.on_tlp_sent(SeqNum(4000), false);
    assert!(r.tlp_in_flight());
    let o = r.on_ack(t(300), SeqNum(4000), &[], false, Some(ms(100)), false);
    assert_eq!(o.tlp, Some(TlpOutcome::NoLoss));
    assert!(!r.tlp_in_flight());
    // Retransmitted probe that repaired a loss.
    let mut r = sent(3);
    r.on_transmit(t(200), SeqNum(2000), SeqNum(3000), true);
    r.on_tlp_sent(SeqNum(3000), true);
    let o = r.on_ack(t(300), SeqNum(3000), &[], false, Some(ms(100)), false);
    assert_eq!(o.tlp, Some(TlpOutcome::LossRepaired));
    // Retransmitted probe reported as a duplicate: the original arrived, no loss.
    let mut r = sent(3);
    r.on_transmit(t(200), SeqNum(2000), SeqNum(3000), true);
    r.on_tlp_sent(SeqNum(3000), true);
    let o = r.on_ack(t(300), SeqNum(3000), &[], true, Some(ms(100)), false);
    assert_eq!(o.tlp, Some(TlpOutcome::NoLoss));
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Send(u32),
        Resend(u32, u32),
        Ack(u32, Vec<(u32, u32)>, bool),
        Timer,
        Rto,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (1u32..3000).prop_map(Op::Send),
            (0u32..40_000, 1u32..3000).prop_map(|(a, n)| Op::Resend(a, n)),
            (
                0u32..40_000,
                proptest::collection::vec((0u32..40_000, 0u32..40_000), 0..4),
                any::<bool>()
            )
                .prop_map(|(a, b, d)| Op::Ack(a, b, d)),
            Just(Op::Timer),
            Just(Op::Rto),
        ]
    }

    proptest! {
        /// Any input keeps the per-segment log contiguous over [SND.UNA, SND.NXT) and
        /// never panics; lost ranges lie inside it; deadlines are in the future.
        #[test]
        fn consistent_under_any_input(base in any::<u32>(), ops in proptest::collection::vec(op(), 1..80)) {
            let b = SeqNum(base);
            let mut r = Rack::new(RackConfig::default(), b);
            let mut nxt = b;
            let mut una = b;
            let mut now = Instant::from_millis(1);
            for op in ops {
                now += Duration::from_millis(3);
                match op {
                    Op::Send(n) => { r.on_transmit(now, nxt, nxt + n, false); nxt += n; }
                    Op::Resend(a, n) => r.on_transmit(now, b + a, b + a + n, true),
                    Op::Ack(a, blocks, d) => {
                        let blocks: Vec<SackBlock> = blocks.iter()
                            .map(|&(l, rr)| SackBlock { left: b + l, right: b + rr }).collect();
                        let ack = (b + a).max(una).min(nxt);
                        una = ack;
                        let o = r.on_ack(now, ack, &blocks, d, Some(Duration::from_millis(20)), false);
                        if let Some(t) = o.reorder_deadline { prop_assert!(t > now); }
                    }
                    Op::Timer => { r.on_reorder_timeout(now, Some(Duration::from_millis(20)), false); }
                    Op::Rto => { r.on_rto(now, Some(Duration::from_millis(20))); }
                }
                let mut at = una;
                for s in r.segs.iter() {
                    prop_assert_eq!(s.start, at);
                    prop_assert!(s.start.lt(s.end));
                    at = s.end;
                }
                prop_assert!(at == nxt || r.segs.is_empty() && una == nxt);
                for (l, e) in r.lost_ranges() {
                    prop_assert!(l.ge(una) && e.le(nxt));
                }
            }
        }
    }
}

/// An ACK in a test: (ms, cumulative ACK, SACK blocks).
type TestAck<'a> = (u64, u32, &'a [(u32, u32)]);

/// Ten 1000-byte segments, segment i sent at i ms; `acks` with no D-SACK, SRTT 100 ms,
/// outside recovery.
fn acked(acks: &[TestAck<'_>]) -> Rack {
    let mut r = sent(10);
    for &(at, ack, blocks) in acks {
        let b: Vec<SackBlock> = blocks.iter().map(|&(l, rr)| blk(l, rr)).collect();
        r.on_ack(t(at), SeqNum(ack), &b, false, Some(ms(100)), false);
    }
    r
}

#[test]
fn reordering_degree_from_a_sack_below_the_highest() {
    // Only 7000..8000 SACKed: nothing delivered below it yet, the degree is the initial 3.
    let r = acked(&[(107, 0, &[(7000, 8000)])]);
    assert_eq!((r.reordering(1000), r.reordering_events()), (3, 0));
    // 3000..4000 SACKed next: it arrived 8000 - 3000 = 5000 bytes behind, 5 segments.
    let r = acked(&[(107, 0, &[(7000, 8000)]), (108, 0, &[(3000, 4000), (7000, 8000)])]);
    assert_eq!((r.reordering(1000), r.reordering_events()), (5, 1));
    // Counted in segments of the MSS given: 5000 bytes are 10 segments of 500.
    assert_eq!(r.reordering(500), 10);
    // 5000..6000 instead: 3000 bytes behind is 3 segments, not above the initial 3, but
    // it is still a reordering event.
    let r = acked(&[(107, 0, &[(7000, 8000)]), (108, 0, &[(5000, 6000), (7000, 8000)])]);
    assert_eq!((r.reordering(1000), r.reordering_events()), (3, 1));
    // The degree only grows: a nearer reordering afterwards keeps 5.
    let r = acked(&[
        (107, 0, &[(7000, 8000)]),
        (108, 0, &[(3000, 4000), (7000, 8000)]),
        (109, 0, &[(3000, 4000), (6000, 8000)]),
    ]);
    assert_eq!((r.reordering(1000), r.reordering_events()), (5, 2));
}

#[test]
fn reordering_degree_from_a_cumulative_ack_filling_holes() {
    // 9000..10000 then 3000..4000 SACKed (7 segments behind), then everything is
    // acknowledged: 0..1000 was never SACKed nor retransmitted and sat below the highest
    // SACK; with nothing SACKed left the distance runs to SND.UNA = 10000: 10 segments.
    let r = acked(&[(109, 0, &[(9000, 10_000)]), (110, 0, &[(3000, 4000), (9000, 10_000)])]);
    assert_eq!(r.reordering(1000), 7);
    let mut r = r;
    r.on_ack(t(111), SeqNum(10_000), &[], false, Some(ms(100)), false);
    assert_eq!((r.reordering(1000), r.reordering_events()), (10, 2));
    // A cumulative ACK with nothing SACKed before it is in-order delivery, not reordering.
    let r = acked(&[(105, 5000, &[])]);
    assert_eq!((r.reordering(1000), r.reordering_events()), (3, 0));
}

#[test]
fn reordering_ignores_retransmissions_and_block_order() {
    // The hole below the SACK is filled by a retransmission: that says nothing about
    // reordering (Linux's TCPCB_RETRANS test).
    let mut r = acked(&[(107, 0, &[(7000, 8000)])]);
    r.on_transmit(t(130), SeqNum(0), SeqNum(1000), true);
    r.on_ack(t(231), SeqNum(1000), &[blk(7000, 8000)], false, Some(ms(100)), true);
    assert_eq!((r.reordering(1000), r.reordering_events()), (3, 0));
    // Two new blocks in one ACK, the higher one listed first: both are new, neither
    // arrived behind an earlier SACK.
    let r = acked(&[(108, 0, &[(7000, 8000), (3000, 4000)])]);
    assert_eq!((r.reordering(1000), r.reordering_events()), (3, 0));
}

#[test]
fn reordering_seen_ignores_block_order_within_one_ack() {
    // RFC 8985 6.2 step 3 over the newly delivered segments in sequence order: two
    // blocks in one ACK, the higher listed first (as RFC 2018 asks receivers to list the
    // most recent block first), are in-order deliveries, not reordering.
    let mut r = sent(10);
    let out = r.on_ack(
        t(102),
        SeqNum(0),
        &[blk(7000, 8000), blk(3000, 4000)],
        false,
        Some(ms(100)),
        false,
    );
    assert!(!r.reordering_seen(), "3000..4000 was sent before 7000..8000");
    assert_eq!(out.newly_lost, 0);
    // With no reordering seen, three SACKed segments zero the reordering window.
    r.on_ack(t(103), SeqNum(0), &[blk(9000, 10_000)], false, Some(ms(100)), false);
    assert_eq!(r.reo_wnd(Some(ms(100)), false), Duration::ZERO);
    // A real reordering (a block below the highest, arriving in a later ACK) is still seen.
    r.on_ack(t(104), SeqNum(0), &[blk(5000, 6000)], false, Some(ms(100)), false);
    assert!(r.reordering_seen());
}

#[test]
fn reordering_degree_is_capped_at_300() {
    let r = acked(&[(109, 0, &[(9000, 10_000)]), (110, 0, &[(0, 1000), (9000, 10_000)])]);
    assert_eq!(r.reordering(1000), 10);
    assert_eq!(r.reordering(10), MAX_REORDERING, "10000 bytes in 10-byte segments");
    assert_eq!(r.reordering(0), MAX_REORDERING, "an MSS of 0 is read as 1");
}

#[test]
fn rto_outside_recovery_resets_the_degree() {
    // Degree 5, then a third segment SACKed; all within RTT + reo_wnd, so nothing is
    // marked lost and the sender stays out of recovery.
    let acks: &[TestAck<'_>] = &[
        (107, 0, &[(7000, 8000)]),
        (108, 0, &[(3000, 4000), (7000, 8000)]),
        (109, 0, &[(3000, 4000), (5000, 6000), (7000, 8000)]),
    ];
    let mut r = acked(acks);
    assert_eq!(r.reordering(1000), 5);
    r.on_rto(t(110), Some(ms(100)));
    assert_eq!(r.reordering(1000), 3, "3 SACKed, timeout outside recovery");
    // The same history in recovery keeps the degree.
    let mut r = sent(10);
    for &(at, ack, blocks) in acks {
        let b: Vec<SackBlock> = blocks.iter().map(|&(l, rr)| blk(l, rr)).collect();
        r.on_ack(t(at), SeqNum(ack), &b, false, Some(ms(100)), true);
    }
    r.on_rto(t(110), Some(ms(100)));
    assert_eq!(r.reordering(1000), 5);
    // Fewer than 3 SACKed outside recovery: kept too.
    let mut r = acked(&acks[..2]);
    r.on_rto(t(110), Some(ms(100)));
    assert_eq!(r.reordering(1000), 5);
}

#[test]
fn retransmitted_and_unacked_segment_counts() {
    let mut r = sent(4);
    assert_eq!((r.unacked_segments(), r.retransmitted_segments()), (4, 0));
    // 3000..4000 SACKed (RTT 97 ms, so min_RTT 97 ms): SACKed segments stay unacked.
    r.on_ack(t(100), SeqNum(0), &[blk(3000, 4000)], false, Some(ms(100)), false);
    assert_eq!(r.unacked_segments(), 4);
    r.on_transmit(t(110), SeqNum(0), SeqNum(1000), true);
    r.on_transmit(t(110), SeqNum(1000), SeqNum(2000), true);
    assert_eq!(r.retransmitted_segments(), 2);
    // Half of segment 0 acknowledged: its remainder is still one segment in flight.
    r.on_ack(t(120), SeqNum(500), &[blk(3000, 4000)], false, Some(ms(100)), true);
    assert_eq!((r.unacked_segments(), r.retransmitted_segments()), (4, 2));
    // 1000..2000 SACKed 11 ms after its retransmission (below min_RTT: taken as the
    // original's delivery, RACK.xmit_ts stays): that retransmission left the flight.
    r.on_ack(t(121), SeqNum(500), &[blk(1000, 2000), blk(3000, 4000)], false, None, true);
    assert_eq!((r.unacked_segments(), r.retransmitted_segments()), (4, 1));
    // An RTO marks the first outstanding segment lost again: no retransmission in flight.
    r.on_rto(t(400), Some(ms(100)));
    assert_eq!(r.retransmitted_segments(), 0);
    r.on_ack(t(401), SeqNum(4000), &[], false, Some(ms(100)), true);
    assert_eq!((r.unacked_segments(), r.retransmitted_segments()), (0, 0));
}

#[test]
fn wraps() {
    let base = u32::MAX - 2500;
    let mut r = Rack::new(RackConfig::default(), SeqNum(base));
    for i in 0..5u32 {
        let s = SeqNum(base) + i * 1000;
        r.on_transmit(t(u64::from(i)), s, s + 1000, false);
    }
    let b = SeqNum(base);
    let sack = [SackBlock { left: b + 1000, right: b + 4000 }];
    let o = r.on_ack(t(103), b, &sack, false, Some(ms(100)), false);
    assert_eq!(o.newly_lost, 1000);
    assert_eq!(r.lost_ranges().next(), Some((b, b + 1000)));
}
