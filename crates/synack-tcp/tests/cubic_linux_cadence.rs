//! `CongestionControl::LinuxCubic` against RFC 9438's CUBIC on a virtual clock: the same ACKs
//! after an RTO (google's `cubic-rto-ss-ca-cwnd-bump`: cwnd 10, one RTO, slow start to the
//! ssthresh of 7, then one ACK per segment in bursts a round trip of 100 ms apart).

use synack_tcp::Duration;
use synack_tcp::cc::{AckSample, CcAlgorithm, CcConfig, CongestionControl};
use synack_tcp::time::Instant;

const MSS: u32 = 1000;

fn controller(alg: CcAlgorithm) -> Box<dyn CongestionControl> {
    alg.build(CcConfig { hystart: false, ..CcConfig::new(MSS) })
}

/// One segment acknowledged at `ms` with an RTT sample of `rtt_ms`.
fn ack(cc: &mut dyn CongestionControl, ms: u64, rtt_ms: u64) {
    let rtt = Some(Duration::from_millis(rtt_ms));
    let mut a = AckSample::new(Instant::from_millis(ms), MSS, rtt);
    a.srtt = Some(Duration::from_millis(100));
    cc.on_ack(&a);
}

/// The window (segments) after each avoidance ACK of the script, from cwnd 10 and an RTO.
fn avoidance_windows(alg: CcAlgorithm) -> Vec<u32> {
    let mut cc = controller(alg);
    // Grow to 10 segments, then the RTO with one segment in flight: ssthresh 7, cwnd 1.
    cc.on_rto(Instant::from_millis(800), 10 * MSS);
    assert_eq!((cc.cwnd(), cc.ssthresh()), (MSS, 7 * MSS));
    // Slow start from 1 (the retransmission's ACK, then 5 more) to 7.
    for (ms, rtt) in [(900, 100), (1000, 100), (1002, 102), (1100, 100), (1102, 102), (1104, 102)] {
        ack(&mut *cc, ms, rtt);
    }
    assert_eq!(cc.cwnd(), 7 * MSS);
    let times = [
        1106, 1204, 1206, 1208, 1210, 1212, 1214, 1216, 1314, 1317, 1319, 1321, 1323, 1325, 1327,
        1425,
    ];
    times
        .iter()
        .map(|&ms| {
            ack(&mut *cc, ms, 100);
            cc.cwnd() / MSS
        })
        .collect()
}

#[test]
fn linux_reaches_8_at_the_16th_ack_in_avoidance() {
    let linux = avoidance_windows(CcAlgorithm::LinuxCubic);
    // One segment per 20 acknowledged at most until the Reno-friendly window, counted each
    // 1/32 s only, passes cwnd: 8 at the ACK 98 ms after the last recomputation.
    assert_eq!(&linux[..15], &[7; 15]);
    assert_eq!(linux[15], 8);
    // RFC 9438's form keeps W_max = 10 across the RTO and climbs its curve towards it sooner.
    let rfc = avoidance_windows(CcAlgorithm::Cubic);
    assert_eq!(rfc[14], 8, "{rfc:?}");
}

#[test]
fn linux_step_follows_the_curve_back_to_the_loss_window() {
    // A fast-recovery reduction from 100 segments (ssthresh 70), then rounds of 200 ms (a
    // path long enough that the Reno-friendly window stays below the curve), one ACK per
    // segment. The window climbs back to about 100 by K = cbrt(30 / 0.4), about 4.2 s,
    // concave, and passes it only after.
    let mut cc = controller(CcAlgorithm::LinuxCubic);
    let mut ms = 0;
    while cc.cwnd() < 100 * MSS {
        ack(&mut *cc, ms, 200);
        ms += 1;
    }
    cc.on_congestion_event(Instant::from_millis(ms), 100 * MSS);
    assert_eq!(cc.cwnd(), 70 * MSS);
    let start = ms;
    let mut by_k = 0;
    let mut half_k = 0;
    while ms < start + 6_000 {
        let round = cc.cwnd() / MSS;
        for _ in 0..round {
            ack(&mut *cc, ms, 200);
        }
        ms += 200;
        if ms - start <= 1_000 {
            half_k = cc.cwnd() / MSS;
        }
        if ms - start <= 4_000 {
            by_k = cc.cwnd() / MSS;
        }
    }
    // Fast at first (W(1.2 s) is about 89), then flat near the old maximum.
    assert!((85..=92).contains(&half_k), "cwnd {half_k} halfway");
    assert!((97..=101).contains(&by_k), "cwnd {by_k} by K");
    assert!(cc.cwnd() / MSS > 102, "cwnd {}", cc.cwnd() / MSS);
}
