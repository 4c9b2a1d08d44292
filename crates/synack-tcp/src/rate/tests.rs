//! The sampler against numbers worked by hand.

use super::*;

const MSS: u32 = 1000;

fn t(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn seg(i: u32) -> (SeqNum, SeqNum) {
    (SeqNum(i * MSS), SeqNum(i * MSS + MSS))
}

fn send(c: &mut DeliveryState, log: &mut TxLog, now: Instant, i: u32, in_flight: u32) {
    let (s, e) = seg(i);
    c.on_send(log, now, s, e, in_flight, MSS);
}

#[test]
fn second_round_measures_window_over_rtt() {
    let (mut c, mut log) = (DeliveryState::new(), TxLog::new());
    // Round 1: four segments at t = 0; each ACK (100..103 ms) releases one more.
    for i in 0..4 {
        send(&mut c, &mut log, t(0), i, i * MSS);
    }
    for i in 0..4 {
        let s = c.on_ack(&mut log, t(100 + u64::from(i)), seg(i).1, &[], false, None).unwrap();
        // First round: snapshots from t = 0 with nothing delivered; the ACK phase rules.
        assert_eq!(s.delivered, u64::from((i + 1) * MSS));
        assert_eq!(s.interval, Duration::from_millis(100 + u64::from(i)));
        send(&mut c, &mut log, t(100 + u64::from(i)), 4 + i, 3 * MSS);
    }
    // Segment 4 left at 100 ms with 1000 delivered (at 100 ms) and its flight's first
    // segment sent at 0; its ACK at 200 ms: send phase 100 - 0, ACK phase 200 - 100, both
    // 100 ms; delivered 5000 - 1000 = 4000 bytes: four segments per 100 ms RTT.
    let s = c.on_ack(&mut log, t(200), seg(4).1, &[], false, None).unwrap();
    assert_eq!((s.delivered, s.interval), (4000, Duration::from_millis(100)));
    assert_eq!(s.bytes_per_sec(), 40_000);
    assert_eq!(s.prior_delivered, 1000);
    assert_eq!(s.delivered_total, 5000);
    assert_eq!(s.tx_in_flight, 4000);
    assert!(s.valid && !s.app_limited);
    assert_eq!(c.delivery_rate(), Some(40_000));
    assert_eq!(c.delivered_segments(), 5);
}

#[test]
fn sacked_segments_are_delivered_once() {
    let (mut c, mut log) = (DeliveryState::new(), TxLog::new());
    for i in 0..5 {
        send(&mut c, &mut log, t(u64::from(i)), i, i * MSS);
    }
    // Segment 0 is lost; 1 and 2 are SACKed at 50 ms.
    let sack = [SackBlock { left: SeqNum(1000), right: SeqNum(3000) }];
    let s = c.on_ack(&mut log, t(50), SeqNum(0), &sack, false, None).unwrap();
    // Newest delivered: segment 2 (sent at 2 ms, snapshot at t = 0, nothing delivered).
    assert_eq!((s.delivered, s.newly_delivered), (2000, 2000));
    assert_eq!(s.interval, Duration::from_millis(50));
    assert_eq!(c.delivered_segments(), 2);
    // The same SACK again delivers nothing.
    assert_eq!(c.on_ack(&mut log, t(51), SeqNum(0), &sack, false, None), None);
    // Segment 0 resent at 60 ms; the cumulative ACK at 110 ms covers 0..5000: segments 0,
    // 3 and 4 are new, 1 and 2 are not counted again.
    send(&mut c, &mut log, t(60), 0, 3 * MSS);
    let s = c.on_ack(&mut log, t(110), SeqNum(5000), &[], false, None).unwrap();
    assert_eq!(s.newly_delivered, 3000);
    assert_eq!(c.delivered(), 5000);
    assert_eq!(c.delivered_segments(), 5);
    // The newest send among them is the retransmission at 60 ms, snapshot: 2000 delivered
    // at 50 ms, flight started at 2 ms (segment 2's send, set by the SACK): send phase
    // 58 ms, ACK phase 60 ms.
    assert_eq!(s.prior_delivered, 2000);
    assert_eq!((s.delivered, s.interval), (3000, Duration::from_millis(60)));
    assert!(log.is_empty());
}

#[test]
fn app_limited_marks_until_the_bubble_is_acknowledged() {
    let (mut c, mut log) = (DeliveryState::new(), TxLog::new());
    // A flight that starts from idle is application-limited until something is delivered.
    send(&mut c, &mut log, t(0), 0, 0);
    assert!(log.is_app_limited());
    send(&mut c, &mut log, t(0), 1, MSS);
    let s = c.on_ack(&mut log, t(100), seg(0).1, &[], false, None).unwrap();
    assert!(s.app_limited);
    assert!(!log.is_app_limited(), "1000 delivered, past the mark (1)");
    assert_eq!((c.delivery_rate(), c.delivery_rate_app_limited()), (Some(10_000), true));
    send(&mut c, &mut log, t(100), 2, MSS);
    // Segment 1 left in the bubble: 2000 bytes over 101 ms, app-limited but faster than the
    // figure it replaces.
    let s = c.on_ack(&mut log, t(101), seg(1).1, &[], false, None).unwrap();
    assert!(s.app_limited);
    assert_eq!(c.delivery_rate(), Some(19_801));
    // Segment 2 did not: 3000 - 1000 bytes over 100 ms (send phase 100 - 0, ACK phase
    // 200 - 100).
    let s = c.on_ack(&mut log, t(200), seg(2).1, &[], false, None).unwrap();
    assert!(!s.app_limited);
    assert_eq!((c.delivery_rate(), c.delivery_rate_app_limited()), (Some(20_000), false));
    // The application stops: app-limited until 3000 (delivered, nothing in flight) is
    // passed; a slower app-limited sample (1000 bytes over 200 ms) does not replace the
    // figure.
    c.on_app_limited(&mut log, 0);
    send(&mut c, &mut log, t(200), 3, 0);
    let s = c.on_ack(&mut log, t(400), seg(3).1, &[], false, None).unwrap();
    assert!(s.app_limited);
    assert_eq!(s.bytes_per_sec(), 5_000);
    assert!(!log.is_app_limited());
    assert_eq!(c.delivery_rate(), Some(20_000));
}

#[test]
fn intervals_below_min_rtt_are_not_trusted() {
    let (mut c, mut log) = (DeliveryState::new(), TxLog::new());
    send(&mut c, &mut log, t(0), 0, 0);
    let s = c.on_ack(&mut log, t(5), seg(0).1, &[], false, Some(Duration::from_millis(10)));
    assert!(!s.unwrap().valid);
    assert_eq!(c.delivery_rate(), None);
}

#[test]
fn super_segments_and_partial_acks_count_segments() {
    let (mut c, mut log) = (DeliveryState::new(), TxLog::new());
    c.on_syn_acked();
    // One 3000-byte super-segment: three segments.
    c.on_send(&mut log, t(0), SeqNum(0), SeqNum(3000), 0, MSS);
    c.on_ack(&mut log, t(10), SeqNum(1000), &[], true, None);
    assert_eq!((c.delivered_segments(), c.delivered_ce()), (2, 1));
    c.on_ack(&mut log, t(11), SeqNum(3000), &[], false, None);
    assert_eq!((c.delivered_segments(), c.delivered_ce()), (4, 1));
    assert_eq!(c.delivered(), 3000);
}

#[test]
fn losses_between_send_and_delivery_are_reported() {
    let (mut c, mut log) = (DeliveryState::new(), TxLog::new());
    send(&mut c, &mut log, t(0), 0, 0);
    log.on_lost(500);
    send(&mut c, &mut log, t(1), 1, MSS);
    log.on_lost(700);
    let s = c
        .on_ack(
            &mut log,
            t(50),
            SeqNum(0),
            &[SackBlock { left: seg(1).0, right: seg(1).1 }],
            false,
            None,
        )
        .unwrap();
    assert_eq!(s.lost, 700, "only the loss after segment 1 left");
    assert_eq!(log.lost(), 1200);
}
