//! Round-trip time estimation and the retransmission timeout (RFC 6298), with Karn's rule and
//! timestamp-based samples (RFC 7323 section 4).
//!
//! Two pieces, used together by the sender:
//! * [`RttEstimator`] turns samples into SRTT, RTTVAR and RTO and applies exponential backoff;
//! * [`RttSampler`] times one segment per flight when timestamps are off and applies Karn's
//!   rule (a retransmitted segment gives no sample).
//!
//! With timestamps on, every ACK that advances SND.UNA may give a sample via
//! [`rtt_from_timestamps`], retransmitted segments included: the echoed TSval says which
//! transmission is being acknowledged, so Karn's ambiguity does not arise (RFC 7323 section 4.1).
//!
//! ```
//! use synack_tcp::rtt::{RttConfig, RttEstimator};
//! use synack_tcp::Duration;
//! let mut est = RttEstimator::new(RttConfig::rfc6298());
//! assert_eq!(est.rto(), Duration::from_secs(1)); // before any sample
//! est.on_sample(Duration::from_millis(100));
//! // SRTT = 100 ms, RTTVAR = 50 ms, RTO = 100 + 4 * 50 = 300 ms, raised to the 1 s minimum.
//! assert_eq!(est.rto(), Duration::from_secs(1));
//! ```

use crate::time::{Duration, Instant};
use synack_wire::SeqNum;

/// RTO bounds and clock granularity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RttConfig {
    /// RTO before the first sample.
    pub initial_rto: Duration,
    /// Lower bound on the RTO. RFC 6298 says 1 s; Linux uses 200 ms.
    pub min_rto: Duration,
    /// Upper bound on the RTO, backoff included (RFC 6298 allows a cap of at least 60 s).
    pub max_rto: Duration,
    /// Clock granularity G in `RTO = SRTT + max(G, 4 * RTTVAR)`.
    pub granularity: Duration,
    /// Linux's variant: the variance term itself is at least `min_rto`, so
    /// `RTO = SRTT + max(4 * RTTVAR, min_rto)` (an RTO always a full `min_rto` above SRTT)
    /// instead of RFC 6298's `max(min_rto, SRTT + 4 * RTTVAR)`. Off in both presets; the
    /// packetdrill adapter turns it on for its Linux profile.
    pub min_rto_above_srtt: bool,
    /// Added to every RTO computed from samples or backed off, after the backoff and before
    /// the maximum (FreeBSD's `net.inet.tcp.rexmit_slop`, 200 ms there, which keeps the
    /// timer above a delayed ACK); the first RTO, before any sample or timeout, is the initial
    /// one as configured. Zero in both presets (RFC 6298 has none).
    pub slop: Duration,
}

impl RttConfig {
    /// The values RFC 6298 section 2 recommends: initial 1 s, minimum 1 s, maximum 60 s.
    pub const fn rfc6298() -> RttConfig {
        RttConfig {
            initial_rto: Duration::from_secs(1),
            min_rto: Duration::from_secs(1),
            max_rto: Duration::from_secs(60),
            granularity: Duration::from_millis(1),
            min_rto_above_srtt: false,
            slop: Duration::ZERO,
        }
    }
    /// Linux's choices: minimum 200 ms, maximum 120 s, initial 1 s.
    pub const fn linux() -> RttConfig {
        RttConfig {
            initial_rto: Duration::from_secs(1),
            min_rto: Duration::from_millis(200),
            max_rto: Duration::from_secs(120),
            granularity: Duration::from_millis(1),
            min_rto_above_srtt: false,
            slop: Duration::ZERO,
        }
    }
}

impl Default for RttConfig {
    /// [`RttConfig::linux`]: a 1 s minimum RTO costs too much goodput on short paths.
    fn default() -> Self {
        RttConfig::linux()
    }
}

/// The most times the RTO is doubled; with any sane `max_rto` the cap is reached first.
const MAX_BACKOFF_SHIFT: u32 = 16;

/// SRTT / RTTVAR / RTO state (RFC 6298 section 2).
///
/// Every connection holds one, so it is kept small (idle memory): durations are
/// whole microseconds in `u64`s (the arithmetic works in microseconds anyway) and "no sample
/// yet" is the [`NONE`] sentinel rather than an `Option` (which doubles a `u64`'s size).
/// 88 bytes instead of 152.
#[derive(Clone, Copy, Debug)]
pub struct RttEstimator {
    initial_rto: u64,
    min_rto: u64,
    max_rto: u64,
    granularity: u64,
    min_rto_above_srtt: bool,
    /// [`RttConfig::slop`] in microseconds (at most about 71 minutes).
    slop: u32,
    /// Smoothed RTT in microseconds; [`NONE`] before the first sample.
    srtt: u64,
    rttvar: u64,
    /// RTO before backoff, bounds applied.
    base_rto: u64,
    /// At most [`MAX_BACKOFF_SHIFT`].
    backoff: u8,
    /// The latest sample, or [`NONE`].
    latest: u64,
    /// The smallest sample, or [`NONE`].
    min_rtt: u64,
    samples: u64,
}

/// "No sample yet" in [`RttEstimator`]'s microsecond fields. Samples are capped one below it
/// (a round trip of 584,000 years).
const NONE: u64 = u64::MAX;

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// `v` unless it is the [`NONE`] sentinel, as a duration.
fn some(v: u64) -> Option<Duration> {
    (v != NONE).then(|| Duration::from_micros(v))
}

impl RttEstimator {
    /// No samples yet: RTO is `config.initial_rto`.
    pub fn new(config: RttConfig) -> RttEstimator {
        let mut e = RttEstimator {
            initial_rto: micros(config.initial_rto),
            min_rto: micros(config.min_rto),
            max_rto: micros(config.max_rto),
            granularity: micros(config.granularity),
            min_rto_above_srtt: config.min_rto_above_srtt,
            slop: u32::try_from(micros(config.slop)).unwrap_or(u32::MAX),
            srtt: NONE,
            rttvar: 0,
            base_rto: 0,
            backoff: 0,
            latest: NONE,
            min_rtt: NONE,
            samples: 0,
        };
        //= rfc6298#2.1
        // Until a sample is taken the RTO is the initial value (1 s recommended).
        e.base_rto = e.clamp(e.initial_rto);
        e
    }

    /// The configuration in force (durations in whole microseconds).
    pub fn config(&self) -> RttConfig {
        RttConfig {
            initial_rto: Duration::from_micros(self.initial_rto),
            min_rto: Duration::from_micros(self.min_rto),
            max_rto: Duration::from_micros(self.max_rto),
            granularity: Duration::from_micros(self.granularity),
            min_rto_above_srtt: self.min_rto_above_srtt,
            slop: Duration::from_micros(u64::from(self.slop)),
        }
    }

    fn clamp(&self, rto: u64) -> u64 {
        //= rfc6298#2.4
        // An RTO below the minimum is rounded up to it.
        //= rfc6298#2.5
        // A maximum may be placed on the RTO provided it is at least 60 seconds.
        rto.max(self.min_rto).min(self.max_rto)
    }

    /// Feeds one RTT measurement. Clears any backoff: a valid sample means the path answers.
    pub fn on_sample(&mut self, rtt: Duration) {
        self.on_sample_weighted(rtt, 1);
    }

    /// Feeds one measurement when about `expected_samples` arrive per RTT (timestamps give one
    /// per ACK): the gains are divided by that count so a window's worth of samples moves SRTT
    /// about as much as one would (RFC 7323 appendix G). `expected_samples` of 0 counts as 1.
    pub fn on_sample_weighted(&mut self, rtt: Duration, expected_samples: u32) {
        let r = micros(rtt).min(NONE - 1);
        let n = u64::from(expected_samples.max(1));
        self.latest = r;
        // NONE is larger than any sample, so the first one always replaces it.
        self.min_rtt = self.min_rtt.min(r);
        self.samples += 1;
        match (self.srtt != NONE).then_some(self.srtt) {
            None => {
                //= rfc6298#2.2
                // First measurement R: SRTT <- R, RTTVAR <- R/2.
                self.srtt = r;
                self.rttvar = r / 2;
            }
            Some(srtt) => {
                //= rfc6298#2.3
                // RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|, beta = 1/4, then
                // SRTT <- (1 - alpha) * SRTT + alpha * R', alpha = 1/8 (RTTVAR first, with the
                // old SRTT).
                let err = srtt.abs_diff(r);
                let beta_den = 4 * n;
                self.rttvar = (self.rttvar * (beta_den - 1) + err) / beta_den;
                let alpha_den = 8 * n;
                self.srtt = (srtt * (alpha_den - 1) + r) / alpha_den;
            }
        }
        //= rfc6298#2.3
        // RTO <- SRTT + max(G, K * RTTVAR) with K = 4.
        let srtt = self.srtt;
        let mut var_term = (4 * self.rttvar).max(self.granularity);
        if self.min_rto_above_srtt {
            var_term = var_term.max(self.min_rto);
        }
        self.base_rto = self.clamp(srtt.saturating_add(var_term));
        self.backoff = 0;
    }

    /// Feeds a sample taken from a timestamp echo (RFC 7323 RTTM) and says whether it was used.
    ///
    /// After a timeout the echo can belong to a transmission from before the timeout: a peer
    /// echoes TS.Recent, which only moves with in-order data, so an ACK that a retransmission
    /// finally releases may carry the TSval of a copy sent minutes earlier. Such a sample is
    /// not the path's RTT; fed to the estimator it inflates SRTT and RTTVAR so the RTO stays at
    /// its maximum while the path answers in milliseconds. So while the timer is backed off, a
    /// sample longer than the RTO in force, which no reply to a copy sent after the last
    /// timeout can be, is ambiguous and dropped (Karn's rule, RFC 6298 section 5, applied to
    /// the echo): the backoff stays until a sample that fits arrives.
    pub fn on_timestamp_sample(&mut self, rtt: Duration) -> bool {
        if self.backoff > 0 && rtt > self.rto() {
            return false;
        }
        self.on_sample(rtt);
        true
    }

    /// The retransmission timer expired: double the RTO, up to the maximum.
    pub fn on_timeout(&mut self) {
        //= rfc6298#5.5
        // On expiry the host sets RTO <- RTO * 2 ("back off the timer"), capped by the maximum.
        if u32::from(self.backoff) < MAX_BACKOFF_SHIFT {
            self.backoff += 1;
        }
    }

    /// Forgets the backoff without a sample (e.g. after the connection was idle and restarted).
    pub fn reset_backoff(&mut self) {
        self.backoff = 0;
    }

    /// Number of consecutive backoffs in force.
    pub fn backoff_count(&self) -> u32 {
        u32::from(self.backoff)
    }

    /// The RTO to arm the retransmission timer with now, backoff applied.
    pub fn rto(&self) -> Duration {
        let rto = self.base_rto.saturating_mul(1u64 << self.backoff);
        let first = self.srtt == NONE && self.backoff == 0;
        let slop = if first { 0 } else { u64::from(self.slop) };
        Duration::from_micros(rto.saturating_add(slop).min(self.max_rto).max(self.base_rto))
    }

    /// The RTO without backoff.
    pub fn base_rto(&self) -> Duration {
        Duration::from_micros(self.base_rto)
    }

    /// Smoothed RTT, if a sample was taken.
    pub fn srtt(&self) -> Option<Duration> {
        some(self.srtt)
    }

    /// RTT variation (zero before the first sample).
    pub fn rttvar(&self) -> Duration {
        Duration::from_micros(self.rttvar)
    }

    /// The most recent sample.
    pub fn latest_rtt(&self) -> Option<Duration> {
        some(self.latest)
    }

    /// The smallest sample seen (RACK and delivery-rate estimation use it).
    pub fn min_rtt(&self) -> Option<Duration> {
        some(self.min_rtt)
    }

    /// Samples taken so far.
    pub fn sample_count(&self) -> u64 {
        self.samples
    }
}

/// Times one segment per round trip when timestamps are off, applying Karn's rule.
#[derive(Clone, Copy, Debug, Default)]
pub struct RttSampler {
    /// The timed segment's end sequence number and send time.
    timing: Option<(SeqNum, Instant)>,
}

impl RttSampler {
    /// Nothing timed.
    pub const fn new() -> RttSampler {
        RttSampler { timing: None }
    }

    /// True while a segment is being timed.
    pub fn is_timing(&self) -> bool {
        self.timing.is_some()
    }

    /// A new (never sent before) segment ending at `end` left at `now`; starts timing it if
    /// nothing is timed. Call only for first transmissions.
    pub fn on_send(&mut self, end: SeqNum, now: Instant) {
        if self.timing.is_none() {
            self.timing = Some((end, now));
        }
    }

    /// New data from `to` on never left (the device refused it): a segment timed there
    /// is not timed any more.
    pub fn retract_send(&mut self, to: SeqNum) {
        if self.timing.is_some_and(|(end, _)| end.gt(to)) {
            self.timing = None;
        }
    }

    /// Something at or below the timed segment was retransmitted (or the RTO fired).
    pub fn on_retransmit(&mut self) {
        //= rfc6298#3
        // Karn: an RTT sample is not taken from a retransmitted segment, whose ACK is ambiguous.
        self.timing = None;
    }

    /// An ACK for `ack` arrived at `now`: the sample, if it covers the timed segment.
    pub fn on_ack(&mut self, ack: SeqNum, now: Instant) -> Option<Duration> {
        let (end, sent) = self.timing?;
        if ack.ge(end) {
            self.timing = None;
            Some(now.saturating_since(sent))
        } else {
            None
        }
    }
}

/// An RTT sample from an echoed timestamp (RFC 7323 section 4): `now_ts` is the local TS clock
/// now, `tsecr` the echoed value, `tick` the TS clock period. `None` when the echo is zero or
/// lies in the future (a bogus echo).
pub fn rtt_from_timestamps(now_ts: u32, tsecr: u32, tick: Duration) -> Option<Duration> {
    //= rfc7323#4.1
    // With timestamps, RTT = current TS clock - TSecr, and it may be used even for
    // retransmitted segments.
    let ticks = now_ts.wrapping_sub(tsecr);
    if tsecr == 0 || ticks > i32::MAX as u32 {
        return None;
    }
    Some(tick.saturating_mul(ticks))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    fn cfg(min_ms: u64) -> RttConfig {
        RttConfig {
            initial_rto: ms(1000),
            min_rto: ms(min_ms),
            max_rto: ms(60_000),
            granularity: ms(1),
            min_rto_above_srtt: false,
            slop: Duration::ZERO,
        }
    }

    #[test]
    fn first_and_later_samples_follow_rfc6298_2() {
        // Section 2.2 and 2.3 arithmetic with a tiny minimum so it shows.
        let mut e = RttEstimator::new(cfg(1));
        assert_eq!(e.rto(), ms(1000));
        assert_eq!(e.srtt(), None);
        e.on_sample(ms(100));
        assert_eq!(e.srtt(), Some(ms(100)));
        assert_eq!(e.rttvar(), ms(50));
        assert_eq!(e.rto(), ms(300));
        e.on_sample(ms(200));
        // RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 62.5; SRTT = 7/8 * 100 + 1/8 * 200 = 112.5
        assert_eq!(e.rttvar(), Duration::from_micros(62_500));
        assert_eq!(e.srtt(), Some(Duration::from_micros(112_500)));
        assert_eq!(e.rto(), Duration::from_micros(112_500 + 250_000));
        assert_eq!(e.min_rtt(), Some(ms(100)));
        assert_eq!(e.latest_rtt(), Some(ms(200)));
    }

    #[test]
    fn stale_timestamp_echo_after_a_timeout_is_ignored() {
        // 20 ms path, min RTO 200 ms; three timeouts back the RTO off to 1.6 s.
        let mut e = RttEstimator::new(cfg(200));
        e.on_sample(ms(20));
        for _ in 0..3 {
            e.on_timeout();
        }
        assert_eq!(e.rto(), ms(1600));
        // An echo of a copy sent before the timeouts (4 s ago) is not the path's RTT.
        assert!(!e.on_timestamp_sample(ms(4000)));
        assert_eq!(e.srtt(), Some(ms(20)));
        assert_eq!(e.rto(), ms(1600), "backoff kept");
        // The echo of the retransmission is: it clears the backoff.
        assert!(e.on_timestamp_sample(ms(21)));
        assert_eq!(e.rto(), ms(200));
        // Without backoff a long sample is taken as it is (a path that got slower).
        assert!(e.on_timestamp_sample(ms(4000)));
        assert!(e.srtt() > Some(ms(20)));
    }

    #[test]
    fn granularity_floor_applies() {
        // A perfectly steady 10 ms path drives RTTVAR to 0; G keeps RTO above SRTT.
        let mut e = RttEstimator::new(RttConfig { granularity: ms(5), ..cfg(1) });
        for _ in 0..200 {
            e.on_sample(ms(10));
        }
        assert_eq!(e.rttvar(), Duration::ZERO);
        assert_eq!(e.rto(), ms(15));
    }

    #[test]
    fn min_rto_rfc_and_linux() {
        let mut rfc = RttEstimator::new(RttConfig::rfc6298());
        let mut lin = RttEstimator::new(RttConfig::linux());
        rfc.on_sample(ms(10));
        lin.on_sample(ms(10));
        // 10 + 4 * 5 = 30 ms, raised to each minimum (RFC 6298 section 2.4).
        assert_eq!(rfc.rto(), ms(1000));
        assert_eq!(lin.rto(), ms(200));
    }

    #[test]
    fn backoff_doubles_caps_and_clears_on_sample() {
        let mut e = RttEstimator::new(cfg(200));
        e.on_sample(ms(100)); // RTO 300 ms
        let mut seen = std::vec::Vec::new();
        for _ in 0..12 {
            e.on_timeout();
            seen.push(e.rto().as_millis());
        }
        assert_eq!(&seen[..8], &[600, 1200, 2400, 4800, 9600, 19200, 38400, 60000]);
        assert!(seen[8..].iter().all(|&v| v == 60000), "capped at max (RFC 6298 2.5)");
        assert_eq!(e.backoff_count(), 12);
        e.on_sample(ms(100));
        assert_eq!(e.backoff_count(), 0);
        assert!(e.rto() < ms(1000));
    }

    /// FreeBSD's slop: the first RTO is the initial one; after a timeout the slop is added
    /// to the doubled value (1 s, 2.2 s, 4.2 s), and after a sample to SRTT + 4 * RTTVAR.
    #[test]
    fn slop_is_added_after_backoff_and_after_samples() {
        let mut e = RttEstimator::new(RttConfig { slop: ms(200), ..cfg(30) });
        assert_eq!(e.rto(), ms(1000));
        e.on_timeout();
        assert_eq!(e.rto(), ms(2200));
        e.on_timeout();
        assert_eq!(e.rto(), ms(4200));
        e.on_sample(ms(100));
        assert_eq!(e.rto(), ms(100 + 200 + 200));
        e.on_timeout();
        assert_eq!(e.rto(), ms(2 * 300 + 200));
        assert_eq!(e.config().slop, ms(200));
        // Capped by the maximum like any RTO.
        for _ in 0..20 {
            e.on_timeout();
        }
        assert_eq!(e.rto(), ms(60_000));
    }

    #[test]
    fn linux_rto_keeps_min_rto_above_srtt() {
        // Two 100 ms samples: SRTT 100 ms, RTTVAR 37.5 ms.
        let mut rfc = RttEstimator::new(RttConfig::linux());
        let mut lin =
            RttEstimator::new(RttConfig { min_rto_above_srtt: true, ..RttConfig::linux() });
        for e in [&mut rfc, &mut lin] {
            e.on_sample(Duration::from_millis(100));
            e.on_sample(Duration::from_millis(100));
        }
        assert_eq!(rfc.rto(), Duration::from_millis(250), "max(200 ms, 100 + 4 * 37.5)");
        assert_eq!(lin.rto(), Duration::from_millis(300), "100 + max(4 * 37.5, 200)");
    }

    #[test]
    fn backoff_before_any_sample() {
        let mut e = RttEstimator::new(RttConfig::rfc6298());
        e.on_timeout();
        e.on_timeout();
        assert_eq!(e.rto(), ms(4000));
    }

    #[test]
    fn karn_rule_discards_retransmitted_timing() {
        let mut s = RttSampler::new();
        s.on_send(SeqNum(1000), Instant::from_millis(0));
        s.on_send(SeqNum(2000), Instant::from_millis(5)); // only one timed at a time
        assert_eq!(s.on_ack(SeqNum(999), Instant::from_millis(50)), None);
        assert_eq!(s.on_ack(SeqNum(1000), Instant::from_millis(80)), Some(ms(80)));
        assert!(!s.is_timing());
        s.on_send(SeqNum(3000), Instant::from_millis(100));
        s.on_retransmit();
        assert_eq!(s.on_ack(SeqNum(3000), Instant::from_millis(900)), None);
    }

    #[test]
    fn karn_keeps_backoff_until_new_sample() {
        // RFC 6298 section 5 with Karn: after a timeout the retransmission's ACK gives no sample,
        // so the backed-off RTO stays for the next segment.
        let mut e = RttEstimator::new(cfg(200));
        let mut s = RttSampler::new();
        e.on_sample(ms(100));
        s.on_send(SeqNum(10), Instant::from_millis(0));
        e.on_timeout();
        s.on_retransmit();
        assert_eq!(s.on_ack(SeqNum(10), Instant::from_millis(700)), None);
        assert_eq!(e.rto(), ms(600));
    }

    #[test]
    fn timestamp_samples() {
        assert_eq!(rtt_from_timestamps(1050, 1000, ms(1)), Some(ms(50)));
        assert_eq!(rtt_from_timestamps(5, u32::MAX - 4, ms(1)), Some(ms(10)), "wraps");
        assert_eq!(rtt_from_timestamps(1000, 1050, ms(1)), None, "echo from the future");
        assert_eq!(rtt_from_timestamps(1000, 0, ms(1)), None);
    }

    #[test]
    fn weighted_samples_move_less() {
        let mut one = RttEstimator::new(cfg(1));
        let mut many = RttEstimator::new(cfg(1));
        one.on_sample(ms(100));
        many.on_sample(ms(100));
        one.on_sample(ms(200));
        many.on_sample_weighted(ms(200), 10);
        assert!(many.srtt().unwrap() < one.srtt().unwrap());
        assert!(many.srtt().unwrap() > ms(100));
    }
}
