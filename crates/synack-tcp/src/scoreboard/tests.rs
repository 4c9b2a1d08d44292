use super::*;
use alloc::vec::Vec;

const MSS: u32 = 1000;

fn blk(l: u32, r: u32) -> SackBlock {
    SackBlock { left: SeqNum(l), right: SeqNum(r) }
}

fn board(base: u32, segs: u32) -> Scoreboard {
    let mut sb = Scoreboard::new(SeqNum(base), MSS);
    sb.on_send(SeqNum(base) + segs * MSS);
    sb
}

#[test]
fn sack_marks_merge_and_clip() {
    let mut sb = board(0, 10);
    assert_eq!(sb.on_ack(SeqNum(0), &[blk(2000, 3000)]).newly_sacked, 1000);
    assert_eq!(sb.on_ack(SeqNum(0), &[blk(3000, 4000), blk(2000, 3000)]).newly_sacked, 1000);
    assert_eq!(sb.sacked_ranges().count(), 1);
    // Beyond HighData is clipped, nonsense ignored.
    assert_eq!(sb.on_ack(SeqNum(0), &[blk(9500, 20000)]).newly_sacked, 500);
    assert_eq!(sb.on_ack(SeqNum(0), &[blk(5000, 4000)]).newly_sacked, 0);
    // Cumulative ACK into a SACKed range trims it.
    let out = sb.on_ack(SeqNum(2500), &[]);
    assert_eq!(out.newly_acked, 2500);
    assert_eq!(out.sacked_acked, 500, "2000..2500 was SACKed already");
    assert_eq!(
        sb.sacked_ranges().collect::<Vec<_>>(),
        std::vec![(SeqNum(2500), SeqNum(4000)), (SeqNum(9500), SeqNum(10000))]
    );
    // Past a whole range and into the next: 2500..4000 and 9500..9600 were SACKed.
    let out = sb.on_ack(SeqNum(9600), &[]);
    assert_eq!((out.newly_acked, out.sacked_acked), (7100, 1600));
}

#[test]
fn is_lost_rules_rfc6675_section_4() {
    let mut sb = board(0, 10);
    // One SACKed segment above 0: not lost (needs 3 ranges or > 2 SMSS above).
    sb.on_ack(SeqNum(0), &[blk(1000, 2000)]);
    assert!(!sb.is_lost(SeqNum(0)));
    // Three SACKed segments contiguous: 3000 bytes > 2 * SMSS above seq 0.
    sb.on_ack(SeqNum(0), &[blk(1000, 4000)]);
    assert!(sb.is_lost(SeqNum(0)));
    assert!(!sb.is_lost(SeqNum(1500)), "SACKed is never lost");
    assert!(!sb.is_lost(SeqNum(5000)), "nothing SACKed above");
    // Three discontiguous small SACKed ranges also make the bytes below them lost.
    let mut sb = board(0, 10);
    sb.on_ack(SeqNum(0), &[blk(2000, 2100), blk(4000, 4100), blk(6000, 6100)]);
    assert!(sb.is_lost(SeqNum(0)) && sb.is_lost(SeqNum(1999)));
    assert!(!sb.is_lost(SeqNum(2100)), "only two ranges above");
}

#[test]
fn three_dup_acks_enter_recovery() {
    let mut sb = board(0, 10);
    // Each dup ACK SACKs one more segment, but the SACKed bytes first reach > 2 SMSS
    // on the third, which is also DupThresh.
    let o1 = sb.on_ack(SeqNum(0), &[blk(1000, 2000)]);
    let o2 = sb.on_ack(SeqNum(0), &[blk(1000, 3000)]);
    assert!(o1.dup_ack && o2.dup_ack && !o1.enter_recovery && !o2.enter_recovery);
    let o3 = sb.on_ack(SeqNum(0), &[blk(1000, 4000)]);
    assert!(o3.enter_recovery);
    assert_eq!(sb.dup_acks(), 3);
    // An ACK without new SACK information is not a duplicate here.
    assert!(!sb.on_ack(SeqNum(0), &[blk(1000, 4000)]).dup_ack);
}

#[test]
fn early_entry_by_is_lost() {
    // One ACK SACKing three discontiguous ranges: IsLost(HighACK) though DupAcks = 1.
    let mut sb = board(0, 10);
    let o = sb.on_ack(SeqNum(0), &[blk(5000, 6000), blk(3000, 4000), blk(1000, 2000)]);
    assert!(o.enter_recovery);
    assert_eq!(sb.dup_acks(), 1);
}

/// Drives NextSeg like the RFC 6675 section 5 loop: while cwnd - pipe >= SMSS.
fn transmit(sb: &mut Scoreboard, cwnd: u32, new_data: &mut u32) -> Vec<NextSeg> {
    let mut sent = Vec::new();
    while cwnd.saturating_sub(sb.pipe()) >= MSS {
        match sb.next_seg(*new_data > 0) {
            Some(NextSeg::Retransmit { seq, len }) => {
                sb.on_retransmit(seq, len);
                sent.push(NextSeg::Retransmit { seq, len });
            }
            Some(NextSeg::NewData) => {
                let end = sb.high_data() + MSS;
                sb.on_send(end);
                *new_data -= 1;
                sent.push(NextSeg::NewData);
            }
            Some(NextSeg::Rescue { seq, len }) => {
                sb.on_rescue_retransmit();
                sent.push(NextSeg::Rescue { seq, len });
                break;
            }
            None => break,
        }
    }
    sent
}

#[test]
fn repairs_several_holes_in_one_window_without_rto() {
    // 20 segments in flight; segments 2, 7 and 12 (bytes 2000.., 7000.., 12000..) lost.
    let mut sb = board(0, 20);
    let lost = [2u32, 7, 12];
    let mut sacked = Vec::new();
    let mut entered = false;
    let mut retransmitted = Vec::new();
    let mut new_data = 0u32;
    let mut cwnd = 20 * MSS;
    let ack_for = |sacked: &Vec<u32>| -> (SeqNum, Vec<SackBlock>) {
        // Cumulative ACK stops at segment 2; SACK blocks are the received segments above.
        let mut blocks: Vec<SackBlock> = Vec::new();
        for &s in sacked {
            match blocks.last_mut() {
                Some(b) if b.right == SeqNum(s * MSS) => b.right = SeqNum((s + 1) * MSS),
                _ => blocks.push(blk(s * MSS, (s + 1) * MSS)),
            }
        }
        blocks.reverse(); // most recent first, like a receiver would
        blocks.truncate(3);
        (SeqNum(2 * MSS), blocks)
    };
    sb.on_ack(SeqNum(2 * MSS), &[]);
    for seg in 3..20 {
        if lost.contains(&seg) {
            continue;
        }
        sacked.push(seg);
        let (ack, blocks) = ack_for(&sacked);
        let out = sb.on_ack(ack, &blocks);
        if out.enter_recovery {
            entered = true;
            cwnd = 10 * MSS; // what the controller would set
            if let NextSeg::Retransmit { seq, len } = sb.enter_recovery() {
                sb.on_retransmit(seq, len);
                retransmitted.push(seq.0 / MSS);
            }
        }
        if entered {
            for s in transmit(&mut sb, cwnd, &mut new_data) {
                if let NextSeg::Retransmit { seq, .. } = s {
                    retransmitted.push(seq.0 / MSS);
                }
            }
        }
    }
    assert!(entered);
    // All three holes were repaired within this one window, in order, once each.
    assert_eq!(retransmitted, std::vec![2, 7, 12]);
    assert_eq!(sb.high_rxt(), SeqNum(13 * MSS));
    // The retransmissions arrive: cumulative ACK jumps past the recovery point.
    let out = sb.on_ack(SeqNum(20 * MSS), &[]);
    assert!(out.recovery_ended && !sb.in_recovery());
    assert_eq!(sb.pipe(), 0);
}

#[test]
fn pipe_counts_lost_and_retransmitted_rfc6675_section_4() {
    let mut sb = board(0, 10);
    sb.on_ack(SeqNum(0), &[blk(1000, 4000)]);
    // Outstanding unSACKed: [0,1000) lost, [4000,10000) not lost -> pipe 6000.
    assert_eq!(sb.pipe(), 6000);
    assert_eq!(sb.lost_bytes(), 1000);
    sb.enter_recovery();
    sb.on_retransmit(SeqNum(0), 1000);
    // The retransmitted lost segment counts once again.
    assert_eq!(sb.pipe(), 7000);
    assert_eq!(sb.lost_bytes(), 0);
    assert_eq!(sb.unsacked_outstanding(), 7000);
}

#[test]
fn rules_2_3_and_rescue() {
    let mut sb = board(0, 10);
    sb.on_ack(SeqNum(0), &[blk(1000, 2000)]); // one SACK: 0 not lost yet
    // Rule 2 before rule 3 when nothing is lost.
    assert_eq!(sb.next_seg(true), Some(NextSeg::NewData));
    // Rule 3: nothing new to send, so resend the unSACKed data below the SACK.
    assert_eq!(sb.next_seg(false), Some(NextSeg::Retransmit { seq: SeqNum(0), len: 1000 }));
    sb.on_retransmit(SeqNum(0), 1000);
    // Above the highest SACK, no rule 1/3; rescue only in recovery.
    assert_eq!(sb.next_seg(false), None);
    sb.enter_recovery();
    sb.on_retransmit(SeqNum(0), 1000);
    // Rule 4: the rescue covers the highest outstanding unSACKed octet (9999).
    assert_eq!(sb.next_seg(false), Some(NextSeg::Rescue { seq: SeqNum(9000), len: 1000 }));
    sb.on_rescue_retransmit();
    assert_eq!(sb.rescue_rxt(), Some(SeqNum(10_000)));
    assert_eq!(sb.next_seg(false), None, "one rescue per recovery");
}

#[test]
fn no_rescue_of_a_hole_already_retransmitted() {
    // 0..10 sent; 2..3 and 5..10 SACKed; holes 0..2 and 3..5, both retransmitted.
    let mut sb = board(0, 10);
    sb.on_ack(SeqNum(0), &[blk(2000, 3000), blk(5000, 10_000)]);
    sb.enter_recovery();
    for k in 0..5 {
        if !sb.is_sacked(SeqNum(k * 1000)) {
            sb.on_retransmit(SeqNum(k * 1000), 1000);
        }
    }
    // A partial ACK moves HighACK past RescueRxt's "undefined": still no rescue, the
    // highest hole's copy is in flight.
    sb.on_ack(SeqNum(2000), &[blk(5000, 10_000)]);
    assert_eq!(sb.next_seg(false), None);
}

#[test]
fn rto_resets() {
    let mut sb = board(0, 10);
    sb.on_ack(SeqNum(0), &[blk(1000, 4000)]);
    sb.enter_recovery();
    sb.on_retransmit(SeqNum(0), 1000);
    sb.on_rto(true);
    assert!(!sb.in_recovery());
    assert_eq!(sb.high_rxt(), SeqNum(0));
    assert_eq!(sb.sacked_bytes(), 3000);
    sb.on_rto(false);
    assert_eq!(sb.sacked_bytes(), 0);
}

#[test]
fn rto_presumes_outstanding_lost() {
    let mut sb = board(0, 10);
    sb.on_ack(SeqNum(0), &[blk(5000, 6000)]);
    assert_eq!(sb.pipe(), 9000);
    sb.on_rto(true);
    // Nothing is in the network any more as far as the sender can tell.
    assert_eq!(sb.pipe(), 0);
    assert!(sb.is_lost(SeqNum(0)) && sb.is_lost(SeqNum(9999)) && !sb.is_lost(SeqNum(5500)));
    sb.on_retransmit(SeqNum(0), 1000);
    assert_eq!(sb.pipe(), 1000);
    // Data sent after the RTO is not presumed lost.
    sb.on_send(SeqNum(11_000));
    assert_eq!(sb.pipe(), 2000);
    // SACKs for data sent before the RTO do not start a fast recovery.
    let out = sb.on_ack(SeqNum(1000), &[blk(2000, 5000)]);
    assert!(!out.enter_recovery);
    assert_eq!(sb.pipe(), 1000, "only the post-RTO segment is in flight");
    // Once the pre-RTO data is acknowledged, normal detection resumes.
    sb.on_ack(SeqNum(10_000), &[]);
    sb.on_send(SeqNum(20_000));
    sb.on_ack(SeqNum(11_000), &[]);
    let out = sb.on_ack(SeqNum(11_000), &[blk(12_000, 15_000)]);
    assert!(out.enter_recovery);
}

#[test]
fn bounded_ranges() {
    let mut sb = board(0, 10_000);
    for i in 0..5000u32 {
        sb.on_ack(SeqNum(0), &[blk(i * 2000 + 1000, i * 2000 + 1500)]);
    }
    assert!(sb.sacked_ranges().count() <= DEFAULT_MAX_SACKED_RANGES);
}

#[test]
fn dsack_rfc2883() {
    // Section 4.1.1: a duplicate segment below the cumulative ACK.
    assert_eq!(detect_dsack(SeqNum(4000), &[blk(3000, 3500)]), Some(blk(3000, 3500)));
    // Section 4.1.2: the duplicate lies inside the second (ordinary) block.
    assert_eq!(
        detect_dsack(SeqNum(1000), &[blk(3000, 3500), blk(3000, 5000)]),
        Some(blk(3000, 3500))
    );
    // Ordinary SACK.
    assert_eq!(detect_dsack(SeqNum(1000), &[blk(3000, 3500), blk(5000, 6000)]), None);
    assert_eq!(detect_dsack(SeqNum(1000), &[]), None);
    // The scoreboard does not mark a D-SACK block as SACKed data.
    let mut sb = board(0, 10);
    let out = sb.on_ack(SeqNum(3000), &[blk(1000, 2000)]);
    assert_eq!(out.dsack, Some(blk(1000, 2000)));
    assert_eq!(out.newly_sacked, 0);
    let out = sb.on_ack(SeqNum(3000), &[blk(4000, 4500), blk(4000, 6000)]);
    assert_eq!(out.dsack, Some(blk(4000, 4500)));
    assert_eq!(out.newly_sacked, 2000);
}

#[test]
fn sequence_wrap() {
    let base = u32::MAX - 2500;
    let mut sb = board(base, 10);
    let b = SeqNum(base);
    sb.on_ack(b, &[SackBlock { left: b + 1000, right: b + 4000 }]);
    assert!(sb.is_lost(b));
    assert_eq!(sb.pipe(), 6000);
    assert_eq!(sb.enter_recovery(), NextSeg::Retransmit { seq: b, len: 1000 });
}

#[test]
fn duplicate_ack_definition_rfc5681_section_2() {
    let base = AckFields { ack: SeqNum(100), payload_len: 0, syn_or_fin: false, window: 500 };
    let una = SeqNum(100);
    let max = SeqNum(1100);
    assert!(is_duplicate_ack(&base, una, max, 500));
    assert!(!is_duplicate_ack(&AckFields { payload_len: 1, ..base }, una, max, 500));
    assert!(!is_duplicate_ack(&AckFields { syn_or_fin: true, ..base }, una, max, 500));
    assert!(!is_duplicate_ack(&base, una, max, 600), "window update");
    assert!(!is_duplicate_ack(&base, una, una, 500), "nothing outstanding");
    assert!(!is_duplicate_ack(&AckFields { ack: SeqNum(200), ..base }, una, max, 500));
}

#[test]
fn three_duplicate_acks_fast_retransmit() {
    let mut c = DupAckCounter::new();
    assert_eq!(c.on_ack(true), DupAckAction::LimitedTransmit);
    assert_eq!(c.on_ack(true), DupAckAction::LimitedTransmit);
    assert_eq!(c.on_ack(true), DupAckAction::FastRetransmit);
    assert_eq!(c.on_ack(true), DupAckAction::InRecovery);
    assert_eq!(c.on_ack(false), DupAckAction::None);
    assert_eq!(c.count(), 0);
    // Two duplicates then a new ACK: no fast retransmit.
    c.on_ack(true);
    c.on_ack(true);
    c.on_ack(false);
    assert_eq!(c.on_ack(true), DupAckAction::LimitedTransmit);
}

#[test]
fn limited_transmit_rfc3042() {
    // cwnd 10 segments, all in flight: one new segment per duplicate, up to cwnd + 2.
    assert_eq!(limited_transmit_allowance(1, 10_000, 10_000, MSS), 1000);
    assert_eq!(limited_transmit_allowance(2, 10_000, 11_000, MSS), 1000);
    assert_eq!(limited_transmit_allowance(2, 10_000, 12_000, MSS), 0);
    assert_eq!(limited_transmit_allowance(3, 10_000, 10_000, MSS), 0);
    assert_eq!(limited_transmit_allowance(0, 10_000, 10_000, MSS), 0);
}

#[test]
fn newreno_partial_acks_rfc6582() {
    let mut r = NewRenoRecovery::new(SeqNum(0));
    // Segments 0..10 sent (10 000 bytes); 1 and 5 lost.
    assert!(r.on_third_dup_ack(SeqNum(1000), SeqNum(10_000), MSS));
    assert_eq!(r.recover(), SeqNum(10_000));
    assert_eq!(r.extra_window(), 3000);
    r.on_dup_ack(MSS);
    assert_eq!(r.extra_window(), 4000);
    // Retransmitted segment 1 arrives: ACK 5000 is partial (below recover).
    assert_eq!(
        r.on_ack(SeqNum(5000), 4000, MSS),
        NewRenoAck::Partial { retransmit: SeqNum(5000), reset_timer: true }
    );
    // Deflated by 4000, plus one SMSS back.
    assert_eq!(r.extra_window(), 1000);
    assert_eq!(
        r.on_ack(SeqNum(6000), 1000, MSS),
        NewRenoAck::Partial { retransmit: SeqNum(6000), reset_timer: false }
    );
    assert_eq!(r.on_ack(SeqNum(10_000), 4000, MSS), NewRenoAck::Full);
    assert!(!r.in_recovery());
    assert_eq!(r.extra_window(), 0);
    assert_eq!(r.on_ack(SeqNum(11_000), 1000, MSS), NewRenoAck::NotInRecovery);
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Send(u32),
        Ack(u32, Vec<(u32, u32)>),
        Enter,
        Next(bool),
        Rto(bool),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (1u32..5000).prop_map(Op::Send),
            (0u32..60_000, proptest::collection::vec((0u32..60_000, 0u32..60_000), 0..4))
                .prop_map(|(a, b)| Op::Ack(a, b)),
            Just(Op::Enter),
            any::<bool>().prop_map(Op::Next),
            any::<bool>().prop_map(Op::Rto),
        ]
    }

    proptest! {
        /// Arbitrary (even nonsensical) ACK and SACK input never panics and keeps the
        /// scoreboard consistent: SACKed ranges sorted, disjoint, inside (HighACK, HighData],
        /// pipe at most twice the outstanding bytes, NextSeg inside the outstanding data.
        #[test]
        fn consistent_under_any_input(base in any::<u32>(), ops in proptest::collection::vec(op(), 1..80)) {
            let b = SeqNum(base);
            let mut sb = Scoreboard::new(b, 1000);
            for op in ops {
                match op {
                    Op::Send(n) => { let end = sb.high_data() + n; sb.on_send(end); }
                    Op::Ack(a, blocks) => {
                        let blocks: Vec<SackBlock> = blocks.iter()
                            .map(|&(l, r)| SackBlock { left: b + l, right: b + r }).collect();
                        let ack = (b + a).max(sb.high_ack()).min(sb.high_data());
                        sb.on_ack(ack, &blocks);
                    }
                    Op::Enter => {
                        if !sb.in_recovery()
                            && let NextSeg::Retransmit { seq, len } = sb.enter_recovery()
                        {
                            sb.on_retransmit(seq, len);
                        }
                    }
                    Op::Next(new) => match sb.next_seg(new) {
                        Some(NextSeg::Retransmit { seq, len }) => {
                            prop_assert!(len > 0 && len <= 1000);
                            prop_assert!(seq.ge(sb.high_ack()) && (seq + len).le(sb.high_data()));
                            sb.on_retransmit(seq, len);
                        }
                        Some(NextSeg::Rescue { seq, len }) => {
                            prop_assert!(seq.ge(sb.high_ack()) && (seq + len).le(sb.high_data()));
                            sb.on_rescue_retransmit();
                        }
                        Some(NextSeg::NewData) => prop_assert!(new),
                        None => {}
                    },
                    Op::Rto(keep) => sb.on_rto(keep),
                }
                let outstanding = sb.high_data().since(sb.high_ack());
                prop_assert!(sb.pipe() <= 2 * outstanding);
                let mut prev = sb.high_ack();
                for (l, r) in sb.sacked_ranges() {
                    prop_assert!(l.gt(prev) || (l == prev && prev == sb.high_ack()));
                    prop_assert!(l.lt(r) && r.le(sb.high_data()));
                    prev = r;
                }
                prop_assert!(sb.sacked_bytes() <= outstanding);
            }
        }
    }
}

#[test]
fn newreno_no_second_fast_retransmit_for_old_data() {
    let mut r = NewRenoRecovery::new(SeqNum(0));
    // An RTO at HighData 10 000; duplicates for data below that must not trigger fast
    // retransmit (RFC 6582 section 4).
    r.on_rto(SeqNum(10_000));
    assert!(!r.on_third_dup_ack(SeqNum(3000), SeqNum(12_000), MSS));
    assert!(r.on_third_dup_ack(SeqNum(10_000), SeqNum(12_000), MSS));
    assert!(!r.on_third_dup_ack(SeqNum(10_000), SeqNum(12_000), MSS), "already in recovery");
}
