//! BBR version 3 (draft-ietf-ccwg-bbr; Linux's BBRv3 where the draft leaves a choice).
//!
//! BBR builds a model of the path from delivery-rate samples ([`crate::rate`]) and RTT
//! samples: the bottleneck bandwidth (`max_bw`, the largest delivery rate of the last two
//! probing cycles) and the round-trip propagation delay (`min_rtt`, the smallest RTT of the
//! last 10 s). It paces at about `max_bw` and keeps about one bandwidth-delay product (BDP)
//! in flight, so the bottleneck stays busy without a standing queue. Loss and ECN do not
//! halve the window as in CUBIC: they bound the model, `inflight_hi` (the most in flight the
//! path took without more than 2% loss) and the short-term `bw_lo`/`inflight_lo`.
//!
//! The state machine:
//!
//! * **Startup**: pacing gain 2.77 (4 ln 2) and cwnd gain 2, doubling the sending rate every
//!   round, until the bandwidth stops growing by 25% for three rounds or loss is too high
//!   ("full pipe").
//! * **Drain**: pacing gain 0.35 drains the queue Startup built, until the flight is one BDP.
//! * **ProbeBW**, a cycle of four phases: DOWN (gain 0.9, drains the queue a probe left), CRUISE
//!   (gain 1.0, within `inflight_hi` less 15% headroom), REFILL (one round at gain 1.0 with the
//!   short-term bounds lifted), UP (gain 1.25, raising `inflight_hi` until the bandwidth stops
//!   growing or loss exceeds 2%). A new probe starts after 2 to 3 s, or sooner when a Reno flow
//!   sharing the path would have probed (one round per packet of BDP, at most 63 rounds).
//! * **ProbeRTT**: when `min_rtt` has not been refreshed for 5 s, the flight drops to half a BDP
//!   for 200 ms and a round, so the queue empties and the propagation delay can be measured.
//!
//! ```
//! use synack_tcp::cc::{AckSample, Bbr, BbrState, CcConfig, CongestionControl, RateSample};
//! use synack_tcp::{Duration, Instant};
//! let mut bbr = Bbr::new(CcConfig::new(1000));
//! assert_eq!(bbr.state(), BbrState::Startup);
//! assert_eq!(bbr.cwnd(), 10_000);
//! // Before an RTT sample BBR paces 2.77 times the initial window per millisecond.
//! assert_eq!(bbr.pacing_rate(), Some(27_700_000));
//! ```

mod filters;

use super::{AckSample, CcConfig, CongestionControl, MAX_CWND, RateSample};
use crate::time::{Duration, Instant};
use filters::{MaxBwFilter, MinRttFilter};

/// Gains are in thousandths.
const UNIT: u64 = 1000;
/// `BBRStartupPacingGain`: 4 ln 2, the smallest gain that doubles the rate every round.
const STARTUP_PACING_GAIN: u64 = 2770;
/// `BBRStartupCwndGain` and `BBRDefaultCwndGain`.
const CWND_GAIN: u64 = 2000;
/// BBRv3's cwnd gain in ProbeBW_UP.
const UP_CWND_GAIN: u64 = 2250;
/// `BBRDrainPacingGain`.
const DRAIN_PACING_GAIN: u64 = 350;
/// ProbeBW pacing gains: DOWN, CRUISE and REFILL, UP.
const DOWN_PACING_GAIN: u64 = 900;
const UP_PACING_GAIN: u64 = 1250;
/// `BBRPacingMarginPercent`: pace 1% below the estimate, so a queue drains slowly.
const PACING_MARGIN_PERCENT: u64 = 1;
/// `BBRLossThresh`: 2% of what was in flight lost marks the flight as too much.
const LOSS_THRESH_PER_MILLE: u64 = 20;
/// `BBRBeta`: the multiplicative cut of the bounds on congestion.
const BETA: u64 = 700;
/// `BBRHeadroom`: CRUISE leaves 15% of `inflight_hi` free for other flows.
const HEADROOM: u64 = 150;
/// Full pipe: bandwidth growth below 25% for three rounds.
const FULL_BW_GROWTH: u64 = 1250;
const FULL_BW_COUNT: u32 = 3;
/// Startup also ends when a round saw this many segments lost with loss above 2%.
const STARTUP_FULL_LOSS_COUNT: u64 = 6;
/// `BBRMinRTTFilterLen`.
const MIN_RTT_WINDOW: Duration = Duration::from_secs(10);
/// `ProbeRTTInterval`.
const PROBE_RTT_INTERVAL: Duration = Duration::from_secs(5);
/// `ProbeRTTDuration`.
const PROBE_RTT_DURATION: Duration = Duration::from_millis(200);
/// ProbeRTT keeps half a BDP in flight (`BBRProbeRTTCwndGain`).
const PROBE_RTT_CWND_GAIN: u64 = 500;
/// `BBRMinPipeCwnd`, in segments.
const MIN_PIPE_SEGMENTS: u32 = 4;
/// The bandwidth probe waits 2 s plus up to 1 s at random.
const PROBE_WAIT_BASE: Duration = Duration::from_secs(2);
/// Reno coexistence: probe at least every this many rounds.
const MAX_RENO_ROUNDS: u64 = 63;

/// Where BBR is in its state machine ([`Bbr::state`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BbrState {
    /// Rate doubling every round until the pipe is full.
    Startup,
    /// Draining the queue Startup built.
    Drain,
    /// ProbeBW_DOWN: draining what a probe queued.
    ProbeBwDown,
    /// ProbeBW_CRUISE: at the estimated rate, with headroom.
    ProbeBwCruise,
    /// ProbeBW_REFILL: one round at the estimated rate before probing.
    ProbeBwRefill,
    /// ProbeBW_UP: probing for more bandwidth.
    ProbeBwUp,
    /// ProbeRTT: a small flight to measure the propagation delay.
    ProbeRtt,
}

impl BbrState {
    fn is_probe_bw(self) -> bool {
        matches!(
            self,
            BbrState::ProbeBwDown
                | BbrState::ProbeBwCruise
                | BbrState::ProbeBwRefill
                | BbrState::ProbeBwUp
        )
    }
}

/// Where a bandwidth probe's feedback is (the draft's `ack_phase`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AckPhase {
    Init,
    ProbeStarting,
    ProbeFeedback,
    ProbeStopping,
    Refilling,
}

/// BBRv3. See the module docs.
#[derive(Clone, Debug)]
pub struct Bbr {
    config: CcConfig,
    state: BbrState,
    cwnd: u32,
    /// Bytes per second.
    pacing_rate: u64,
    max_bw: MaxBwFilter,
    /// Short-term bandwidth bound after congestion (`u64::MAX`: none).
    bw_lo: u64,
    /// Long-term inflight bound (`u64::MAX`: none).
    inflight_hi: u64,
    /// Short-term inflight bound (`u64::MAX`: none).
    inflight_lo: u64,
    min_rtt: MinRttFilter,
    probe_rtt_min: MinRttFilter,
    /// Delivered bytes at which the current round ends.
    next_round_delivered: u64,
    round_count: u64,
    round_start: bool,
    /// Full-pipe detection.
    filled_pipe: bool,
    full_bw: u64,
    full_bw_count: u32,
    /// This round's measurements, for the short-term bounds.
    bw_latest: u64,
    inflight_latest: u64,
    loss_in_round: bool,
    ecn_in_round: bool,
    /// ProbeBW cycle bookkeeping.
    cycle_stamp: Instant,
    ack_phase: AckPhase,
    bw_probe_wait: Duration,
    /// The samples now arriving were sent while probing for bandwidth (from REFILL's end
    /// until DOWN's first round is over): only their losses lower `inflight_hi`.
    bw_probe_samples: bool,
    rounds_since_bw_probe: u64,
    bw_probe_up_rounds: u32,
    bw_probe_up_acks: u64,
    probe_up_cnt: u64,
    /// ProbeRTT bookkeeping.
    probe_rtt_done: Option<Instant>,
    probe_rtt_round_done: bool,
    prior_cwnd: u32,
    idle_restart: bool,
    /// Loss recovery: packet conservation until this many bytes are delivered.
    in_recovery: bool,
    conservation_until: Option<u64>,
    delivered: u64,
    /// Deterministic pseudo-random state for the probe timing.
    rng: u64,
    ssthresh: u32,
    /// The RTT the first pacing rate is computed from (the handshake's, or the first sample).
    initial_rtt: Option<Duration>,
}

fn mul_gain(x: u64, gain: u64) -> u64 {
    u64::try_from(u128::from(x) * u128::from(gain) / u128::from(UNIT)).unwrap_or(u64::MAX)
}

impl Bbr {
    /// Startup with the initial window, pacing 2.77 times the initial window per handshake
    /// RTT (per millisecond without one), the draft's nominal bandwidth.
    pub fn new(config: CcConfig) -> Bbr {
        let cwnd = config.initial_window();
        let mut b = Bbr {
            config,
            state: BbrState::Startup,
            cwnd,
            pacing_rate: 0,
            max_bw: MaxBwFilter::default(),
            bw_lo: u64::MAX,
            inflight_hi: u64::MAX,
            inflight_lo: u64::MAX,
            min_rtt: MinRttFilter::new(MIN_RTT_WINDOW),
            probe_rtt_min: MinRttFilter::new(PROBE_RTT_INTERVAL),
            next_round_delivered: 0,
            round_count: 0,
            round_start: false,
            filled_pipe: false,
            full_bw: 0,
            full_bw_count: 0,
            bw_latest: 0,
            inflight_latest: 0,
            loss_in_round: false,
            ecn_in_round: false,
            cycle_stamp: Instant::ZERO,
            ack_phase: AckPhase::Init,
            bw_probe_wait: PROBE_WAIT_BASE,
            bw_probe_samples: false,
            rounds_since_bw_probe: 0,
            bw_probe_up_rounds: 0,
            bw_probe_up_acks: 0,
            probe_up_cnt: u64::MAX,
            probe_rtt_done: None,
            probe_rtt_round_done: false,
            prior_cwnd: 0,
            idle_restart: false,
            in_recovery: false,
            conservation_until: None,
            delivered: 0,
            rng: 0x9e37_79b9_7f4a_7c15 ^ u64::from(config.mss),
            ssthresh: MAX_CWND,
            initial_rtt: None,
        };
        b.pacing_rate = b.initial_pacing_rate(None);
        b
    }

    /// The handshake measured `rtt`: the first pacing rate is the initial window over it.
    pub fn set_initial_rtt(&mut self, rtt: Duration) {
        if self.min_rtt.rtt.is_none() {
            self.initial_rtt = Some(rtt);
            self.pacing_rate = self.initial_pacing_rate(Some(rtt));
        }
    }

    /// Where the state machine is.
    pub fn state(&self) -> BbrState {
        self.state
    }

    /// The bottleneck bandwidth estimate in bytes per second (0 before a sample).
    pub fn max_bw(&self) -> u64 {
        self.max_bw.get()
    }

    /// The propagation delay estimate.
    pub fn min_rtt(&self) -> Option<Duration> {
        self.min_rtt.rtt
    }

    /// The long-term inflight bound in bytes (`None`: unbounded).
    pub fn inflight_hi(&self) -> Option<u64> {
        (self.inflight_hi != u64::MAX).then_some(self.inflight_hi)
    }

    /// The short-term inflight bound in bytes (`None`: unbounded).
    pub fn inflight_lo(&self) -> Option<u64> {
        (self.inflight_lo != u64::MAX).then_some(self.inflight_lo)
    }

    /// Startup found the pipe full.
    pub fn filled_pipe(&self) -> bool {
        self.filled_pipe
    }

    fn smss(&self) -> u64 {
        u64::from(self.config.smss())
    }

    fn min_pipe_cwnd(&self) -> u64 {
        u64::from(MIN_PIPE_SEGMENTS) * self.smss()
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64*: deterministic, so simulated runs repeat exactly.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn initial_pacing_rate(&self, srtt: Option<Duration>) -> u64 {
        //~ paraphrase (draft-ietf-ccwg-bbr 5.6.2): nominal bandwidth = InitialCwnd / (SRTT or
        //~ 1 ms), paced at the Startup gain.
        let us = srtt.map_or(1000, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1));
        let bw = u64::from(self.config.initial_window()) * 1_000_000 / us;
        mul_gain(bw, STARTUP_PACING_GAIN)
    }

    /// The bandwidth the model uses: `max_bw` bounded by `bw_lo`.
    fn bw(&self) -> u64 {
        self.max_bw.get().min(self.bw_lo)
    }

    /// `gain * BDP` in bytes; the initial window while the model has no RTT or bandwidth.
    fn bdp_multiple(&self, bw: u64, gain: u64) -> u64 {
        let Some(rtt) = self.min_rtt.rtt else {
            return u64::from(self.config.initial_window());
        };
        if bw == 0 {
            return u64::from(self.config.initial_window());
        }
        let bdp = u128::from(bw) * rtt.as_micros() / 1_000_000;
        mul_gain(u64::try_from(bdp).unwrap_or(u64::MAX), gain)
    }

    /// `BBRInflight(bw, gain)`: the BDP multiple plus what batching needs (three send quanta
    /// of two segments; two more segments when probing up).
    fn inflight(&self, bw: u64, gain: u64) -> u64 {
        let mut w = self.bdp_multiple(bw, gain).saturating_add(6 * self.smss());
        if self.state == BbrState::ProbeBwUp {
            w = w.saturating_add(2 * self.smss());
        }
        w
    }

    /// `BBRInflightWithHeadroom`: `inflight_hi` less 15%.
    fn inflight_with_headroom(&self) -> u64 {
        if self.inflight_hi == u64::MAX {
            return u64::MAX;
        }
        let headroom = mul_gain(self.inflight_hi, HEADROOM).max(self.smss());
        self.inflight_hi.saturating_sub(headroom).max(self.min_pipe_cwnd())
    }

    fn pacing_gain(&self) -> u64 {
        match self.state {
            BbrState::Startup => STARTUP_PACING_GAIN,
            BbrState::Drain => DRAIN_PACING_GAIN,
            BbrState::ProbeBwDown => DOWN_PACING_GAIN,
            BbrState::ProbeBwUp => UP_PACING_GAIN,
            _ => UNIT,
        }
    }

    fn cwnd_gain(&self) -> u64 {
        match self.state {
            BbrState::ProbeBwUp => UP_CWND_GAIN,
            BbrState::ProbeRtt => PROBE_RTT_CWND_GAIN,
            _ => CWND_GAIN,
        }
    }

    fn set_pacing_rate(&mut self, gain: u64) {
        let bw = self.bw();
        if bw == 0 {
            return;
        }
        let rate = mul_gain(bw, gain) / 100 * (100 - PACING_MARGIN_PERCENT);
        //~ paraphrase (draft-ietf-ccwg-bbr 5.6.2): until the pipe is full the rate only rises.
        if self.filled_pipe || rate > self.pacing_rate {
            self.pacing_rate = rate.max(1);
        }
    }

    fn start_round(&mut self) {
        self.next_round_delivered = self.delivered;
    }

    fn update_round(&mut self, rs: &RateSample) {
        self.delivered = rs.delivered_total;
        if rs.prior_delivered >= self.next_round_delivered {
            self.start_round();
            self.round_count += 1;
            self.rounds_since_bw_probe += 1;
            self.round_start = true;
        } else {
            self.round_start = false;
        }
    }

    fn update_max_bw(&mut self, rs: &RateSample) {
        if !rs.valid {
            return;
        }
        let rate = rs.bytes_per_sec();
        //~ paraphrase (draft-ietf-ccwg-bbr 5.5.5): an application-limited sample counts only
        //~ when it shows more than the current estimate.
        if rate >= self.max_bw.get() || !rs.app_limited {
            self.max_bw.update(rate);
        }
    }

    /// `IsInflightTooHigh`: more than 2% of what was in flight when the sampled segment left
    /// was lost.
    fn inflight_too_high(rs: &RateSample) -> bool {
        rs.lost > 0 && rs.lost * UNIT > u64::from(rs.tx_in_flight) * LOSS_THRESH_PER_MILLE
    }

    fn handle_inflight_too_high(&mut self, rs: &RateSample, now: Instant) {
        self.bw_probe_samples = false;
        if !rs.app_limited {
            let target = mul_gain(self.inflight(self.bw(), UNIT), BETA);
            self.inflight_hi = u64::from(rs.tx_in_flight).max(target).max(self.min_pipe_cwnd());
        }
        if self.state == BbrState::ProbeBwUp {
            self.start_probe_bw_down(now);
        }
    }

    fn reset_lower_bounds(&mut self) {
        self.bw_lo = u64::MAX;
        self.inflight_lo = u64::MAX;
    }

    fn reset_full_bw(&mut self) {
        self.full_bw = 0;
        self.full_bw_count = 0;
    }

    /// The round's congestion signals (`BBRUpdateCongestionSignals` and
    /// `BBRAdaptLowerBoundsFromCongestion`): at the end of a round with loss or ECN, outside
    /// bandwidth probing, `bw_lo` and `inflight_lo` come down to the round's measurements or
    /// by `BETA`, whichever is more.
    fn update_congestion_signals(&mut self, rs: &RateSample) {
        if rs.valid {
            self.bw_latest = self.bw_latest.max(rs.bytes_per_sec());
        }
        //~ paraphrase (draft-ietf-ccwg-bbr 5.5.10.2): the latest round's inflight is what a
        //~ sample delivered over its interval.
        self.inflight_latest = self.inflight_latest.max(rs.delivered);
        if !self.round_start {
            return;
        }
        let congested = self.loss_in_round || self.ecn_in_round;
        let probing =
            matches!(self.state, BbrState::Startup | BbrState::ProbeBwRefill | BbrState::ProbeBwUp);
        if congested && !probing && self.filled_pipe {
            if self.bw_lo == u64::MAX {
                self.bw_lo = self.max_bw.get();
            }
            if self.inflight_lo == u64::MAX {
                self.inflight_lo = u64::from(self.cwnd);
            }
            self.bw_lo = self.bw_latest.max(mul_gain(self.bw_lo, BETA));
            self.inflight_lo = self.inflight_latest.max(mul_gain(self.inflight_lo, BETA));
        }
        self.loss_in_round = false;
        self.ecn_in_round = false;
        self.bw_latest = 0;
        self.inflight_latest = 0;
    }

    fn check_startup_done(&mut self, rs: &RateSample) {
        if self.filled_pipe || self.state != BbrState::Startup {
            return;
        }
        //~ paraphrase (draft-ietf-ccwg-bbr 4.3.1.2): loss above 2% with at least six segments
        //~ lost over a sampled segment's round trip also ends Startup, with inflight_hi at what
        //~ was in flight.
        if Self::inflight_too_high(rs) && rs.lost >= STARTUP_FULL_LOSS_COUNT * self.smss() {
            self.inflight_hi = u64::from(rs.tx_in_flight).max(self.bdp_multiple(self.bw(), UNIT));
            self.filled_pipe = true;
        }
        if !self.round_start || rs.app_limited || self.filled_pipe {
            self.finish_startup_check();
            return;
        }
        //~ paraphrase (draft-ietf-ccwg-bbr 4.3.1.2): the pipe is full when three rounds in a
        //~ row did not raise the bandwidth estimate by 25%.
        if self.bw_plateau_round() {
            self.filled_pipe = true;
        }
        self.finish_startup_check();
    }

    /// One round's step of the bandwidth-plateau count: a round that raised the max bandwidth
    /// by at least 25% restarts it, any other adds one. True once three rounds in a row
    /// brought no such growth.
    fn bw_plateau_round(&mut self) -> bool {
        let bw = self.max_bw.get();
        if bw >= mul_gain(self.full_bw, FULL_BW_GROWTH) {
            self.full_bw = bw;
            self.full_bw_count = 0;
        } else {
            self.full_bw_count += 1;
        }
        self.full_bw_count >= FULL_BW_COUNT
    }

    fn finish_startup_check(&mut self) {
        if self.filled_pipe && self.state == BbrState::Startup {
            self.state = BbrState::Drain;
            self.ssthresh = self.cwnd;
        }
    }

    fn check_drain_done(&mut self, now: Instant, inflight: u64) {
        if self.state == BbrState::Drain && inflight <= self.inflight(self.bw(), UNIT) {
            self.start_probe_bw_down(now);
        }
    }

    fn pick_probe_wait(&mut self) {
        //~ paraphrase (draft-ietf-ccwg-bbr 4.3.3.5): the next probe comes after 2 to 3 s, and
        //~ the Reno-coexistence count starts at 0 or 1 round, at random, so flows desynchronize.
        self.rounds_since_bw_probe = self.next_random() % 2;
        let extra_us = self.next_random() % 1_000_000;
        self.bw_probe_wait = PROBE_WAIT_BASE + Duration::from_micros(extra_us);
    }

    fn start_probe_bw_down(&mut self, now: Instant) {
        self.reset_congestion_round();
        self.probe_up_cnt = u64::MAX;
        self.pick_probe_wait();
        self.cycle_stamp = now;
        self.ack_phase = AckPhase::ProbeStopping;
        self.start_round();
        self.state = BbrState::ProbeBwDown;
    }

    fn reset_congestion_round(&mut self) {
        self.loss_in_round = false;
        self.ecn_in_round = false;
        self.bw_latest = 0;
        self.inflight_latest = 0;
    }

    fn start_probe_bw_refill(&mut self) {
        self.reset_lower_bounds();
        self.bw_probe_up_rounds = 0;
        self.bw_probe_up_acks = 0;
        self.ack_phase = AckPhase::Refilling;
        self.start_round();
        self.state = BbrState::ProbeBwRefill;
    }

    fn start_probe_bw_up(&mut self, now: Instant) {
        self.ack_phase = AckPhase::ProbeStarting;
        self.start_round();
        self.reset_full_bw();
        self.full_bw = self.max_bw.get();
        self.cycle_stamp = now;
        self.state = BbrState::ProbeBwUp;
        self.raise_inflight_hi_slope();
    }

    fn raise_inflight_hi_slope(&mut self) {
        let growth = self.smss() << self.bw_probe_up_rounds.min(30);
        self.bw_probe_up_rounds = (self.bw_probe_up_rounds + 1).min(30);
        self.probe_up_cnt = (u64::from(self.cwnd) / growth.max(1)).max(1);
    }

    fn probe_inflight_hi_upward(&mut self, rs: &RateSample, cwnd_limited: bool) {
        if !cwnd_limited || u64::from(self.cwnd) < self.inflight_hi {
            return;
        }
        //~ paraphrase (draft-ietf-ccwg-bbr 4.3.3.4): inflight_hi grows by one segment per
        //~ probe_up_cnt segments acknowledged, a slope that doubles every round.
        self.bw_probe_up_acks += rs.newly_delivered;
        let per = self.probe_up_cnt.max(1);
        if self.bw_probe_up_acks >= per {
            let delta = self.bw_probe_up_acks / per;
            self.bw_probe_up_acks -= delta * per;
            self.inflight_hi = self.inflight_hi.saturating_add(delta * self.smss());
        }
        if self.round_start {
            self.raise_inflight_hi_slope();
        }
    }

    /// `BBRAdaptUpperBounds`.
    fn adapt_upper_bounds(&mut self, rs: &RateSample, now: Instant, cwnd_limited: bool) {
        if self.ack_phase == AckPhase::ProbeStarting && self.round_start {
            self.ack_phase = AckPhase::ProbeFeedback;
        }
        if self.ack_phase == AckPhase::ProbeStopping && self.round_start {
            self.bw_probe_samples = false;
            self.ack_phase = AckPhase::Init;
            if self.state.is_probe_bw() && !rs.app_limited {
                self.max_bw.advance();
            }
        }
        if Self::inflight_too_high(rs) {
            //~ paraphrase (draft-ietf-ccwg-bbr 5.5.10.3): loss lowers inflight_hi only for
            //~ samples sent while probing; outside probes it acts on the short-term bounds.
            if self.bw_probe_samples {
                self.handle_inflight_too_high(rs, now);
            }
            return;
        }
        if self.inflight_hi == u64::MAX {
            return;
        }
        if u64::from(rs.tx_in_flight) > self.inflight_hi {
            self.inflight_hi = u64::from(rs.tx_in_flight);
        }
        if self.state == BbrState::ProbeBwUp {
            self.probe_inflight_hi_upward(rs, cwnd_limited);
        }
    }

    fn time_to_probe_bw(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_since(self.cycle_stamp) > self.bw_probe_wait;
        //~ paraphrase (draft-ietf-ccwg-bbr 4.3.3.5): probe at least as often as a Reno flow
        //~ would regain its window: once per BDP-in-segments rounds, at most 63.
        let reno_rounds = (self.inflight(self.bw(), UNIT) / self.smss()).min(MAX_RENO_ROUNDS);
        if elapsed || self.rounds_since_bw_probe >= reno_rounds {
            self.start_probe_bw_refill();
            return true;
        }
        false
    }

    fn time_to_cruise(&self, inflight: u64) -> bool {
        if inflight > self.inflight_with_headroom() {
            return false;
        }
        inflight <= self.inflight(self.bw(), UNIT)
    }

    fn time_to_go_down(&mut self, cwnd_limited: bool) -> bool {
        if cwnd_limited && u64::from(self.cwnd) >= self.inflight_hi {
            //~ paraphrase (draft-ietf-ccwg-bbr 4.3.3.4): probing up to inflight_hi found no
            //~ more room: restart the plateau count.
            self.reset_full_bw();
            self.full_bw = self.max_bw.get();
            return false;
        }
        if self.round_start {
            return self.bw_plateau_round();
        }
        self.full_bw_count >= FULL_BW_COUNT
    }

    fn update_probe_bw_cycle(
        &mut self,
        rs: &RateSample,
        now: Instant,
        inflight: u64,
        cwnd_limited: bool,
    ) {
        if !self.filled_pipe {
            return;
        }
        self.adapt_upper_bounds(rs, now, cwnd_limited);
        let state = self.state;
        match state {
            BbrState::ProbeBwDown => {
                if self.time_to_probe_bw(now) {
                    return;
                }
                if self.time_to_cruise(inflight) {
                    self.state = BbrState::ProbeBwCruise;
                }
            }
            BbrState::ProbeBwCruise => {
                self.time_to_probe_bw(now);
            }
            BbrState::ProbeBwRefill if self.round_start => {
                self.bw_probe_samples = true;
                self.start_probe_bw_up(now);
            }
            BbrState::ProbeBwUp if self.time_to_go_down(cwnd_limited) => {
                self.start_probe_bw_down(now);
            }
            _ => {}
        }
    }

    fn update_min_rtt(&mut self, now: Instant, rtt: Option<Duration>) {
        let probe_rtt_expired = self.probe_rtt_min.expired(now);
        if let Some(r) = rtt {
            self.probe_rtt_min.update(now, r);
        }
        if let Some(p) = self.probe_rtt_min.rtt
            && (self.min_rtt.rtt.is_none_or(|m| p < m) || self.min_rtt.expired(now))
        {
            self.min_rtt.rtt = Some(p);
            self.min_rtt.stamp = self.probe_rtt_min.stamp;
        }
        //~ paraphrase (draft-ietf-ccwg-bbr 4.3.4.4): enter ProbeRTT when the 5 s minimum
        //~ expired, unless the connection is just restarting from idle.
        if probe_rtt_expired && !self.idle_restart && self.state != BbrState::ProbeRtt {
            self.prior_cwnd = self.prior_cwnd.max(self.cwnd);
            self.state = BbrState::ProbeRtt;
            self.probe_rtt_done = None;
            self.probe_rtt_round_done = false;
        }
    }

    fn probe_rtt_cwnd(&self) -> u64 {
        self.bdp_multiple(self.bw(), PROBE_RTT_CWND_GAIN).max(self.min_pipe_cwnd())
    }

    fn handle_probe_rtt(&mut self, now: Instant, inflight: u64) {
        if self.state != BbrState::ProbeRtt {
            return;
        }
        match self.probe_rtt_done {
            None if inflight <= self.probe_rtt_cwnd() => {
                self.probe_rtt_done = Some(now + PROBE_RTT_DURATION);
                self.probe_rtt_round_done = false;
                self.start_round();
            }
            None => {}
            Some(done) => {
                if self.round_start {
                    self.probe_rtt_round_done = true;
                }
                if self.probe_rtt_round_done && now >= done {
                    self.probe_rtt_min.stamp = now;
                    self.cwnd = self.cwnd.max(self.prior_cwnd);
                    self.prior_cwnd = 0;
                    self.reset_lower_bounds();
                    if self.filled_pipe {
                        self.start_probe_bw_down(now);
                        self.state = BbrState::ProbeBwCruise;
                    } else {
                        self.state = BbrState::Startup;
                    }
                }
            }
        }
    }

    /// `BBRSetCwnd` with its bounds.
    fn set_cwnd(&mut self, newly: u64, inflight: u64) {
        let max_inflight = self.inflight(self.bw(), self.cwnd_gain());
        let mut cwnd = u64::from(self.cwnd);
        if let Some(until) = self.conservation_until {
            //~ paraphrase (draft-ietf-ccwg-bbr 4.6.4.4): packet conservation for the first
            //~ round of recovery: what is in flight plus what this ACK delivered.
            if self.delivered >= until {
                self.conservation_until = None;
            } else {
                cwnd = cwnd.max(inflight + newly);
            }
        }
        if self.conservation_until.is_none() {
            if self.filled_pipe {
                cwnd = cwnd.saturating_add(newly).min(max_inflight);
            } else if cwnd < max_inflight
                || self.delivered < u64::from(self.config.initial_window())
            {
                cwnd = cwnd.saturating_add(newly);
            }
        }
        cwnd = cwnd.max(self.min_pipe_cwnd());
        // The model's bounds.
        let mut cap = u64::MAX;
        if self.state.is_probe_bw() && self.state != BbrState::ProbeBwCruise {
            cap = self.inflight_hi;
        } else if matches!(self.state, BbrState::ProbeRtt | BbrState::ProbeBwCruise) {
            cap = self.inflight_with_headroom();
        }
        cap = cap.min(self.inflight_lo).max(self.min_pipe_cwnd());
        cwnd = cwnd.min(cap);
        if self.state == BbrState::ProbeRtt {
            cwnd = cwnd.min(self.probe_rtt_cwnd());
        }
        self.cwnd = u32::try_from(cwnd).unwrap_or(MAX_CWND).clamp(1, MAX_CWND);
    }
}

impl CongestionControl for Bbr {
    fn name(&self) -> &'static str {
        "bbr"
    }

    fn on_ack(&mut self, ack: &AckSample) {
        if self.min_rtt.rtt.is_none()
            && self.initial_rtt.is_none()
            && let Some(rtt) = ack.srtt.or(ack.rtt)
        {
            // The first RTT sample replaces the 1 ms guess.
            self.set_initial_rtt(rtt);
        }
        let Some(rs) = ack.rate else {
            self.update_min_rtt(ack.now, ack.rtt);
            return;
        };
        let inflight = u64::from(ack.pipe);
        let cwnd_limited = !ack.app_limited;
        // The model.
        self.update_round(&rs);
        if rs.newly_delivered > 0 {
            self.idle_restart = false;
        }
        if rs.lost > 0 {
            self.loss_in_round = true;
        }
        self.update_max_bw(&rs);
        self.check_startup_done(&rs);
        self.check_drain_done(ack.now, inflight);
        self.update_probe_bw_cycle(&rs, ack.now, inflight, cwnd_limited);
        self.update_min_rtt(ack.now, ack.rtt);
        self.handle_probe_rtt(ack.now, inflight);
        self.update_congestion_signals(&rs);
        // The controls.
        self.set_pacing_rate(self.pacing_gain());
        self.set_cwnd(rs.newly_delivered, inflight);
    }

    fn on_congestion_event(&mut self, _now: Instant, bytes_in_flight: u32) {
        //~ paraphrase (draft-ietf-ccwg-bbr 4.6.4.4): on entering recovery, remember cwnd and
        //~ conserve packets for one round.
        if !self.in_recovery {
            self.in_recovery = true;
            self.prior_cwnd = self.cwnd;
            self.cwnd = bytes_in_flight.max(MIN_PIPE_SEGMENTS * self.config.smss());
            self.conservation_until =
                Some(self.delivered.saturating_add(u64::from(bytes_in_flight)));
            self.loss_in_round = true;
        }
    }

    fn on_ecn_echo(&mut self, now: Instant, bytes_in_flight: u32) {
        //~ paraphrase (draft-ietf-ccwg-bbr 4.5.10): ECN is a congestion signal like loss for the
        //~ bounds (this round's bw_lo and inflight_lo, and inflight_hi while probing up), not a
        //~ reason for packet conservation.
        self.ecn_in_round = true;
        if self.state == BbrState::ProbeBwUp {
            let target = mul_gain(self.inflight(self.bw(), UNIT), BETA);
            self.inflight_hi = u64::from(bytes_in_flight).max(target).max(self.min_pipe_cwnd());
            self.start_probe_bw_down(now);
        }
    }

    fn on_recovery_exit(&mut self, _now: Instant) {
        //~ paraphrase (draft-ietf-ccwg-bbr 4.6.4.4): recovery over: cwnd back to what it was.
        self.in_recovery = false;
        self.conservation_until = None;
        self.cwnd = self.cwnd.max(self.prior_cwnd);
        self.prior_cwnd = 0;
    }

    fn on_rto(&mut self, _now: Instant, _bytes_in_flight: u32) {
        //~ linux: a timeout leaves cwnd at one segment plus what is in flight, which BBR's own
        //~ floor lifts to four; the round and the full-bandwidth count restart.
        if !self.in_recovery {
            self.prior_cwnd = self.cwnd;
        }
        self.in_recovery = true;
        self.conservation_until = None;
        self.cwnd = MIN_PIPE_SEGMENTS * self.config.smss();
        self.loss_in_round = true;
        self.reset_full_bw();
        self.round_start = true;
    }

    fn on_idle_restart(&mut self, _now: Instant, _idle: Duration, _rto: Duration) {
        //~ paraphrase (draft-ietf-ccwg-bbr 4.4.2): restarting from idle, pace at the estimated
        //~ bandwidth (gain 1) in ProbeBW rather than at a probing or draining gain.
        self.idle_restart = true;
        if self.state.is_probe_bw() {
            self.set_pacing_rate(UNIT);
        }
    }

    fn set_mss(&mut self, mss: u32) {
        self.config.mss = mss;
        self.cwnd = self.cwnd.max(MIN_PIPE_SEGMENTS * self.config.smss()).min(MAX_CWND);
    }

    fn cwnd(&self) -> u32 {
        self.cwnd
    }

    fn ssthresh(&self) -> u32 {
        self.ssthresh
    }

    fn in_slow_start(&self) -> bool {
        self.state == BbrState::Startup
    }

    fn pacing_rate(&self) -> Option<u64> {
        Some(self.pacing_rate)
    }

    fn samples_every_delivery(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests;
