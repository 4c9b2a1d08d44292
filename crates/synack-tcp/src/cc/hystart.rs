//! HyStart++ (RFC 9406): leaves slow start before it overshoots, using the rise of the
//! round trip time as the bottleneck queue fills.
//!
//! Slow start doubles the window every round trip until a loss. On a path whose bottleneck
//! queue is shorter than the bandwidth-delay product, the round that fills the queue sends
//! about twice what the queue holds, and half of it is lost in one burst. While the queue
//! fills, each round's smallest RTT grows; HyStart++ compares it with the previous round's
//! and, when it rose by more than a threshold (an eighth of the RTT, between 4 and 16 ms),
//! switches to Conservative Slow Start (CSS): growth divided by [`CSS_GROWTH_DIVISOR`] for
//! [`CSS_ROUNDS`] rounds, then congestion avoidance (the controller sets ssthresh to cwnd).
//! If the RTT falls back below the value that triggered CSS, the rise was jitter and slow
//! start resumes.
//!
//! The helper is shared by [`NewReno`](super::NewReno) and [`Cubic`](super::Cubic): the
//! controller asks [`HyStart::on_ack`] how to grow on each ACK in slow start and calls
//! [`HyStart::finish`] on any congestion signal. Rounds are counted in sequence space (a round
//! ends when the ACK passes the SND.NXT recorded at its start), so the connection passes the
//! cumulative ACK and SND.NXT in each [`AckSample`](super::AckSample).
//!
//! ```
//! use synack_tcp::cc::{HyStart, SlowStartGrowth};
//! use synack_tcp::Duration;
//! use synack_wire::SeqNum;
//! let mut h = HyStart::new();
//! let ms = Duration::from_millis;
//! // Round 1 (ends when SND.NXT 10 is acknowledged): eight samples of 20 ms.
//! for i in 1..=8 {
//!     assert_eq!(h.on_ack(SeqNum(i), SeqNum(10), Some(ms(20))), SlowStartGrowth::Full);
//! }
//! // Round 2: the minimum is 24 ms, 4 ms (the floor of the threshold) above 20 ms: CSS.
//! let mut g = SlowStartGrowth::Full;
//! for i in 0..8 {
//!     g = h.on_ack(SeqNum(10 + i), SeqNum(20), Some(ms(24)));
//! }
//! assert_eq!(g, SlowStartGrowth::Conservative);
//! ```

use crate::time::Duration;
use synack_wire::SeqNum;

/// RTT samples a round needs before its minimum is trusted (N_RTT_SAMPLE).
pub const N_RTT_SAMPLE: u32 = 8;
/// Smallest RTT increase that ends slow start (MIN_RTT_THRESH).
pub const MIN_RTT_THRESH: Duration = Duration::from_millis(4);
/// Largest RTT increase threshold (MAX_RTT_THRESH).
pub const MAX_RTT_THRESH: Duration = Duration::from_millis(16);
/// The threshold is the last round's minimum RTT divided by this (MIN_RTT_DIVISOR).
pub const MIN_RTT_DIVISOR: u32 = 8;
/// Growth in CSS is slow start's divided by this (CSS_GROWTH_DIVISOR).
pub const CSS_GROWTH_DIVISOR: u32 = 4;
/// Rounds of CSS before congestion avoidance (CSS_ROUNDS).
pub const CSS_ROUNDS: u32 = 5;

/// How the window may grow on one ACK in slow start, as [`HyStart::on_ack`] decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlowStartGrowth {
    /// Standard slow start (RFC 5681 with RFC 3465 byte counting).
    Full,
    /// Conservative Slow Start: the slow-start increase divided by [`CSS_GROWTH_DIVISOR`].
    Conservative,
    /// CSS lasted [`CSS_ROUNDS`] rounds: enter congestion avoidance now (ssthresh <- cwnd),
    /// no growth on this ACK.
    EnterAvoidance,
}

/// Where HyStart++ is in the initial slow start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HyStartPhase {
    /// Standard slow start, watching the RTT.
    SlowStart,
    /// Conservative Slow Start after an RTT rise.
    Css,
    /// Done: a congestion signal, or CSS ran its rounds. Later slow starts (after an RTO)
    /// are standard ones, bounded by the ssthresh the first one found.
    Done,
}

/// HyStart++ state for one connection's initial slow start. See the module docs.
#[derive(Clone, Debug)]
pub struct HyStart {
    phase: HyStartPhase,
    /// SND.NXT when the current round began; the round ends when it is acknowledged.
    window_end: Option<SeqNum>,
    last_round_min_rtt: MinRtt,
    current_round_min_rtt: MinRtt,
    rtt_sample_count: u32,
    css_baseline_min_rtt: MinRtt,
    css_rounds: u32,
    /// Rounds started so far (for tests and diagnosis).
    rounds: u32,
}

/// An optional RTT in whole nanoseconds (exact for any RTT below 584 years), `u64::MAX` for
/// none: 8 bytes where `Option<Duration>` takes 16. Every connection's congestion controller
/// holds three (idle memory).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct MinRtt(u64);

impl MinRtt {
    const NONE: MinRtt = MinRtt(u64::MAX);

    fn some(d: Duration) -> MinRtt {
        MinRtt(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX - 1).min(u64::MAX - 1))
    }

    fn get(self) -> Option<Duration> {
        (self != MinRtt::NONE).then(|| Duration::from_nanos(self.0))
    }
}

impl Default for HyStart {
    fn default() -> Self {
        HyStart::new()
    }
}

impl HyStart {
    /// In slow start, no round begun yet.
    pub const fn new() -> HyStart {
        HyStart {
            phase: HyStartPhase::SlowStart,
            window_end: None,
            last_round_min_rtt: MinRtt::NONE,
            current_round_min_rtt: MinRtt::NONE,
            rtt_sample_count: 0,
            css_baseline_min_rtt: MinRtt::NONE,
            css_rounds: 0,
            rounds: 0,
        }
    }

    /// The current phase.
    pub fn phase(&self) -> HyStartPhase {
        self.phase
    }

    /// Rounds begun so far (the first ACK begins round 1).
    pub fn rounds(&self) -> u32 {
        self.rounds
    }

    /// The minimum RTT of the last completed round, if it had a sample.
    pub fn last_round_min_rtt(&self) -> Option<Duration> {
        self.last_round_min_rtt.get()
    }

    /// The RTT increase that ends slow start after a round whose minimum was `last`.
    pub fn rtt_thresh(last: Duration) -> Duration {
        //= rfc9406#4.2
        //~ paraphrase: RttThresh = max(MIN_RTT_THRESH, min(lastRoundMinRTT / MIN_RTT_DIVISOR,
        //~ MAX_RTT_THRESH))
        (last / MIN_RTT_DIVISOR).clamp(MIN_RTT_THRESH, MAX_RTT_THRESH)
    }

    /// A congestion signal (loss, ECN-Echo, RTO): HyStart++ is over for this connection;
    /// the controller's reduction sets ssthresh.
    pub fn finish(&mut self) {
        //= rfc9406#4.2
        //~ paraphrase: Loss or ECN-marking in slow start or CSS ends them; the congestion
        //~ controller's response sets ssthresh and congestion avoidance follows.
        //= rfc9406#4.3
        //~ paraphrase: HyStart++ is for the initial slow start only; later ones are standard.
        self.phase = HyStartPhase::Done;
    }

    /// One ACK in slow start (cwnd < ssthresh): `ack` the cumulative ACK, `snd_nxt` SND.NXT
    /// when it arrived, `rtt` its RTT sample. Returns how the window may grow.
    pub fn on_ack(
        &mut self,
        ack: SeqNum,
        snd_nxt: SeqNum,
        rtt: Option<Duration>,
    ) -> SlowStartGrowth {
        if self.phase == HyStartPhase::Done {
            return SlowStartGrowth::Full;
        }
        //= rfc9406#4.2
        //~ paraphrase: A round ends when the ACK covers windowEnd (SND.NXT at the round's start):
        //~ the round's minimum becomes lastRoundMinRTT and sampling starts again.
        if self.window_end.is_none_or(|end| ack.ge(end)) {
            self.window_end = Some(snd_nxt);
            self.last_round_min_rtt = self.current_round_min_rtt;
            self.current_round_min_rtt = MinRtt::NONE;
            self.rtt_sample_count = 0;
            self.rounds = self.rounds.saturating_add(1);
            if self.phase == HyStartPhase::Css {
                self.css_rounds += 1;
                //= rfc9406#4.2
                //~ paraphrase: After CSS_ROUNDS rounds of CSS, enter congestion avoidance (ssthresh
                //~ = cwnd).
                if self.css_rounds >= CSS_ROUNDS {
                    self.phase = HyStartPhase::Done;
                    return SlowStartGrowth::EnterAvoidance;
                }
            }
        }
        if let Some(r) = rtt {
            self.current_round_min_rtt =
                MinRtt::some(self.current_round_min_rtt.get().map_or(r, |m| m.min(r)));
            self.rtt_sample_count = self.rtt_sample_count.saturating_add(1);
        }
        let enough = self.rtt_sample_count >= N_RTT_SAMPLE;
        let baseline = self.css_baseline_min_rtt.get();
        match (self.phase, self.current_round_min_rtt.get(), self.last_round_min_rtt.get()) {
            //= rfc9406#4.2
            //~ paraphrase: With N_RTT_SAMPLE samples this round, a minimum RTT at least RttThresh
            //~ above the last round's ends slow start: CSS begins, cssBaselineMinRtt = this
            //~ minimum.
            (HyStartPhase::SlowStart, Some(cur), Some(last))
                if enough && cur >= last + Self::rtt_thresh(last) =>
            {
                self.css_baseline_min_rtt = MinRtt::some(cur);
                self.css_rounds = 0;
                self.phase = HyStartPhase::Css;
            }
            //= rfc9406#4.2
            //~ paraphrase: In CSS, a round minimum (after N_RTT_SAMPLE samples) below
            //~ cssBaselineMinRtt means the rise was spurious: back to slow start.
            (HyStartPhase::Css, Some(cur), _) if enough && baseline.is_some_and(|b| cur < b) => {
                self.css_baseline_min_rtt = MinRtt::NONE;
                self.phase = HyStartPhase::SlowStart;
            }
            _ => {}
        }
        match self.phase {
            HyStartPhase::Css => SlowStartGrowth::Conservative,
            _ => SlowStartGrowth::Full,
        }
    }
}

/// Slow-start growth `inc` (RFC 3465 bytes) adjusted by HyStart++'s verdict.
pub(crate) fn scaled_increase(growth: SlowStartGrowth, inc: u32) -> u32 {
    match growth {
        SlowStartGrowth::Full => inc,
        //= rfc9406#4.2
        //~ paraphrase: CSS: cwnd grows by the slow-start increase divided by CSS_GROWTH_DIVISOR.
        SlowStartGrowth::Conservative => inc / CSS_GROWTH_DIVISOR,
        SlowStartGrowth::EnterAvoidance => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Drives whole rounds of ten ACKs each: round `r` acknowledges `10 r .. 10 r + 9` with
    /// SND.NXT at `10 (r + 1)`, so its first ACK ends the previous round.
    struct Rounds {
        h: HyStart,
        next: u32,
    }

    impl Rounds {
        fn new() -> Rounds {
            Rounds { h: HyStart::new(), next: 0 }
        }

        fn round(&mut self, rtt: Duration) -> Vec<SlowStartGrowth> {
            let start = self.next;
            self.next += 10;
            (start..self.next)
                .map(|a| self.h.on_ack(SeqNum(a), SeqNum(self.next), Some(rtt)))
                .collect()
        }
    }

    #[test]
    fn thresholds_clamp() {
        assert_eq!(HyStart::rtt_thresh(ms(10)), ms(4));
        assert_eq!(HyStart::rtt_thresh(ms(80)), ms(10));
        assert_eq!(HyStart::rtt_thresh(ms(500)), ms(16));
    }

    #[test]
    fn rise_below_threshold_stays_in_slow_start() {
        let mut r = Rounds::new();
        assert!(r.round(ms(40)).iter().all(|g| *g == SlowStartGrowth::Full));
        // Round 2: 44.9 ms is below 40 + 5 (40 / 8): no exit.
        let g = r.round(Duration::from_micros(44_900));
        assert!(g.iter().all(|g| *g == SlowStartGrowth::Full));
        assert_eq!(r.h.rounds(), 2);
        // Round 3 at 44.9 + 5.6125 ms (44.9 / 8) or more: CSS on the 8th sample, not before.
        let g = r.round(Duration::from_micros(50_513));
        assert_eq!(g[6], SlowStartGrowth::Full, "7 samples are not enough");
        assert_eq!(g[7], SlowStartGrowth::Conservative);
        assert_eq!(r.h.phase(), HyStartPhase::Css);
    }

    #[test]
    fn css_runs_five_rounds_then_avoidance() {
        let mut r = Rounds::new();
        r.round(ms(20));
        // Round 2 rose by 10 ms >= 4 ms: CSS from its 8th sample.
        let g = r.round(ms(30));
        assert_eq!(g[6], SlowStartGrowth::Full);
        assert_eq!(g[7], SlowStartGrowth::Conservative);
        // Rounds 3..=6 are CSS rounds 1..=4; the start of round 7 completes the fifth.
        for _ in 3..=6 {
            assert!(r.round(ms(30)).iter().all(|g| *g == SlowStartGrowth::Conservative));
        }
        let g = r.round(ms(30));
        assert_eq!(g[0], SlowStartGrowth::EnterAvoidance);
        assert!(g[1..].iter().all(|g| *g == SlowStartGrowth::Full));
        assert_eq!(r.h.phase(), HyStartPhase::Done);
        assert_eq!(r.h.rounds(), 7);
    }

    #[test]
    fn css_returns_to_slow_start_when_rtt_falls() {
        let mut r = Rounds::new();
        r.round(ms(20));
        r.round(ms(26));
        assert_eq!(r.h.phase(), HyStartPhase::Css);
        // Next round's minimum, 25 ms, is below the 26 ms baseline: the rise was jitter.
        let g = r.round(ms(25));
        assert_eq!(g[6], SlowStartGrowth::Conservative);
        assert_eq!(g[7], SlowStartGrowth::Full);
        assert_eq!(r.h.phase(), HyStartPhase::SlowStart);
        // Slow start again: a new rise (from the 25 ms round) enters CSS again.
        r.round(ms(30));
        assert_eq!(r.h.phase(), HyStartPhase::Css);
    }

    #[test]
    fn rounds_without_enough_samples_decide_nothing() {
        let mut h = HyStart::new();
        // Seven samples a round (the eighth ACK has none): never enough.
        for round in 0..6u32 {
            let rtt = ms(10 + 20 * u64::from(round));
            for a in 0..8 {
                let s = (a < 7).then_some(rtt);
                let g = h.on_ack(SeqNum(round * 8 + a), SeqNum(round * 8 + 8), s);
                assert_eq!(g, SlowStartGrowth::Full);
            }
        }
    }

    #[test]
    fn finish_ends_it() {
        let mut h = HyStart::new();
        h.finish();
        assert_eq!(h.phase(), HyStartPhase::Done);
        for a in 0..40 {
            let rtt = ms(if a < 20 { 10 } else { 90 });
            assert_eq!(h.on_ack(SeqNum(a), SeqNum(a + 5), Some(rtt)), SlowStartGrowth::Full);
        }
        assert_eq!(scaled_increase(SlowStartGrowth::Conservative, 2896), 724);
        assert_eq!(scaled_increase(SlowStartGrowth::EnterAvoidance, 2896), 0);
    }
}
