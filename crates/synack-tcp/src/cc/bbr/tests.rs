//! BBR's state machine driven by synthetic rounds of rate samples (the end-to-end behaviour
//! is tested on the simulator, `tests/sim_bbr.rs`).

use super::*;
use synack_wire::SeqNum;

const MSS: u32 = 1000;
/// The path: 1 MB/s, 50 ms: a BDP of 50,000 bytes.
const BW: u64 = 1_000_000;
const RTT: Duration = Duration::from_millis(50);

struct Path {
    bbr: Bbr,
    now: Instant,
    total: u64,
}

impl Path {
    fn new() -> Path {
        Path { bbr: Bbr::new(CcConfig::new(MSS)), now: Instant::from_millis(1), total: 0 }
    }

    /// One round of `acks` ACKs of one segment each, spread over `rtt`, every sample
    /// showing `bw`; `pipe` in flight after each; `lost` bytes lost per sampled flight of
    /// `tx_in_flight`.
    fn round_with(&mut self, acks: u32, bw: u64, rtt: Duration, pipe: u32, lost: u64) {
        let mut first_total = None;
        for k in 0..acks {
            self.now += rtt / acks;
            let before = self.total;
            self.total += u64::from(MSS);
            let prior = match first_total {
                None => {
                    first_total = Some(self.total);
                    before
                }
                Some(f) => f - 1,
            };
            let interval = Duration::from_millis(50);
            let rs = RateSample {
                delivered: bw * 50 / 1000,
                interval,
                app_limited: false,
                prior_delivered: prior,
                delivered_total: self.total,
                tx_in_flight: pipe.max(MSS),
                lost,
                newly_delivered: u64::from(MSS),
                valid: true,
            };
            let ack = AckSample {
                bytes_in_flight: pipe + MSS,
                pipe,
                rate: Some(rs),
                ack: SeqNum(k),
                snd_nxt: SeqNum(k + 1),
                ..AckSample::new(self.now, MSS, Some(rtt))
            };
            self.bbr.on_ack(&ack);
        }
    }

    fn round(&mut self, pipe: u32) {
        self.round_with(20, BW, RTT, pipe, 0);
    }
}

#[test]
fn startup_drain_probe_bw_on_a_plateau() {
    let mut p = Path::new();
    assert_eq!(p.bbr.state(), BbrState::Startup);
    p.round(40_000);
    assert_eq!(p.bbr.max_bw(), BW);
    assert_eq!(p.bbr.min_rtt(), Some(RTT));
    // Startup paces at 2.77 * bw less the 1% margin.
    assert_eq!(p.bbr.pacing_rate(), Some(2_742_300));
    // Three rounds without 25% growth fill the pipe; Drain begins at once.
    p.round(40_000);
    p.round(40_000);
    assert_eq!(p.bbr.state(), BbrState::Startup);
    p.round(120_000);
    assert!(p.bbr.filled_pipe());
    assert_eq!(p.bbr.state(), BbrState::Drain);
    assert_eq!(p.bbr.pacing_rate(), Some(346_500), "0.35 * bw * 0.99");
    // Once the flight is down to a BDP (plus six segments of quantization), ProbeBW_DOWN,
    // and at once CRUISE (no inflight_hi yet, the flight at or under the BDP).
    p.round(50_000);
    assert_eq!(p.bbr.state(), BbrState::ProbeBwCruise);
    assert_eq!(p.bbr.pacing_rate(), Some(990_000));
    // cwnd: 2 BDP + 6 segments of quantization.
    p.round(50_000);
    assert_eq!(p.bbr.cwnd(), 106_000);
    assert!(!p.bbr.in_slow_start());
}

fn cruising() -> Path {
    let mut p = Path::new();
    for pipe in [40_000, 40_000, 40_000, 120_000, 50_000] {
        p.round(pipe);
    }
    assert_eq!(p.bbr.state(), BbrState::ProbeBwCruise);
    p
}

#[test]
fn probe_cycle_refill_up_and_loss_sets_inflight_hi() {
    let mut p = cruising();
    // The next probe comes within 3 s (or 56 rounds, the Reno-coexistence bound: 2.8 s).
    let mut rounds = 0;
    while p.bbr.state() == BbrState::ProbeBwCruise {
        p.round(50_000);
        rounds += 1;
        assert!(rounds <= 60, "no probe after {rounds} rounds");
    }
    assert_eq!(p.bbr.state(), BbrState::ProbeBwRefill);
    assert_eq!(p.bbr.inflight_lo(), None, "REFILL lifts the short-term bounds");
    p.round(50_000);
    assert_eq!(p.bbr.state(), BbrState::ProbeBwUp);
    assert_eq!(p.bbr.pacing_rate(), Some(1_237_500), "1.25 * bw * 0.99");
    // 5% of a 60,000-byte flight lost: too much (over 2%). inflight_hi takes what was in
    // flight and the cycle goes DOWN.
    p.round_with(1, BW, RTT, 60_000, 3_000);
    assert_eq!(p.bbr.state(), BbrState::ProbeBwDown);
    assert_eq!(p.bbr.inflight_hi(), Some(60_000));
    assert_eq!(p.bbr.pacing_rate(), Some(891_000), "0.9 * bw * 0.99");
    // DOWN ends (CRUISE) once the flight is under the BDP and inflight_hi's headroom; CRUISE
    // keeps cwnd within inflight_hi less 15%.
    p.round(40_000);
    assert_eq!(p.bbr.state(), BbrState::ProbeBwCruise);
    p.round(40_000);
    assert_eq!(p.bbr.cwnd(), 51_000);
}

#[test]
fn loss_below_the_threshold_changes_nothing_in_up() {
    let mut p = cruising();
    while p.bbr.state() != BbrState::ProbeBwUp {
        p.round(50_000);
    }
    // 1% of the flight: below the 2% threshold.
    p.round_with(1, BW, RTT, 60_000, 600);
    assert_eq!(p.bbr.state(), BbrState::ProbeBwUp);
}

#[test]
fn probe_rtt_after_five_seconds_without_a_lower_rtt() {
    let mut p = cruising();
    // RTT samples of 60 ms (a queue) never refresh the 50 ms minimum; after 5 s, ProbeRTT.
    let mut rounds = 0;
    while p.bbr.state() != BbrState::ProbeRtt {
        p.round_with(20, BW, Duration::from_millis(60), 50_000, 0);
        rounds += 1;
        assert!(rounds < 100);
    }
    assert!(p.now > Instant::from_secs(5));
    // cwnd: half a BDP (25,000) at most.
    p.round_with(20, BW, Duration::from_millis(60), 20_000, 0);
    assert!(p.bbr.cwnd() <= 25_000, "{}", p.bbr.cwnd());
    // With the flight down, 200 ms and a round later it is over: back to ProbeBW, cwnd
    // restored.
    for _ in 0..6 {
        p.round_with(20, BW, Duration::from_millis(50), 20_000, 0);
    }
    assert!(p.bbr.state().is_probe_bw(), "{:?}", p.bbr.state());
    assert!(p.bbr.cwnd() > 50_000);
}

#[test]
fn startup_ends_on_heavy_loss() {
    let mut p = Path::new();
    p.round(20_000);
    // Growing bandwidth, but 10% of each flight lost and more than six segments per round.
    p.round_with(20, 2 * BW, RTT, 40_000, 4_000);
    p.round_with(20, 4 * BW, RTT, 80_000, 8_000);
    assert!(p.bbr.filled_pipe());
    assert_ne!(p.bbr.state(), BbrState::Startup);
    assert!(p.bbr.inflight_hi().is_some());
}

#[test]
fn recovery_conserves_then_restores() {
    let mut p = cruising();
    let before = p.bbr.cwnd();
    p.bbr.on_congestion_event(p.now, 30_000);
    assert_eq!(p.bbr.cwnd(), 30_000);
    p.bbr.on_recovery_exit(p.now);
    assert_eq!(p.bbr.cwnd(), before);
    p.bbr.on_rto(p.now, 30_000);
    assert_eq!(p.bbr.cwnd(), 4 * MSS, "BBR's floor: four segments");
}
