//! Congestion control behind a trait, chosen per connection.
//!
//! The connection tells its controller what happened (bytes acknowledged with an RTT sample,
//! entry into fast recovery, an RTO, restart after idle) and asks it for `cwnd`. Recovery
//! mechanics (which segment to resend, the RFC 6675 `pipe`, NewReno window inflation) live in
//! [`scoreboard`](crate::scoreboard); the controller only decides the window size. During
//! recovery the connection passes `in_recovery: true` and the controllers here do not grow the
//! window (RFC 6675 section 5 keeps cwnd at ssthresh until recovery ends).
//!
//! Two helpers every controller shares sit beside them: [`Prr`] (RFC 6937 / RFC 9937
//! Proportional Rate Reduction) paces what the sender sends during fast recovery, and
//! [`CwndUse`] (RFC 7661) tells whether the flight filled the window, which the connection
//! passes as [`AckSample::app_limited`] so a window that was not used does not grow.
//!
//! Both controllers leave their initial slow start with [`HyStart`] (RFC 9406, HyStart++)
//! when [`CcConfig::hystart`] is set: a rise of the round trip time ends slow start before
//! the bottleneck queue overflows.
//!
//! Three controllers: [`NewReno`] (RFC 5681 with RFC 3465 byte counting, L = 2), [`Cubic`]
//! (RFC 9438, the default), and the model-based [`Bbr`] (BBRv3, draft-ietf-ccwg-bbr), which
//! reads the delivery-rate sample each [`AckSample`] carries ([`crate::rate`]) and sets its
//! own pacing rate ([`CongestionControl::pacing_rate`]).
//!
//! ```
//! use synack_tcp::cc::{CcAlgorithm, CcConfig, AckSample};
//! use synack_tcp::{Duration, Instant};
//! let mut cc = CcAlgorithm::Cubic.build(CcConfig::new(1460));
//! assert_eq!(cc.cwnd(), 14600); // RFC 6928 initial window
//! cc.on_ack(&AckSample::new(Instant::from_millis(50), 1460, Some(Duration::from_millis(50))));
//! assert!(cc.in_slow_start() && cc.cwnd() > 14600);
//! ```

pub mod bbr;
mod cubic;
mod cubic_linux;
mod cwnd_use;
pub mod hystart;
mod newreno;
mod prr;

pub use bbr::{Bbr, BbrState};
pub use cubic::{Cubic, CubicParams};
pub use cubic_linux::LinuxCubic;
pub use cwnd_use::CwndUse;
pub use hystart::{HyStart, HyStartPhase, SlowStartGrowth};
pub use newreno::NewReno;
pub use prr::Prr;

use crate::time::{Duration, Instant};
use alloc::boxed::Box;
use core::fmt;
use synack_wire::SeqNum;

/// Largest congestion window any controller here reports: 1 GiB, the largest scaled window.
pub const MAX_CWND: u32 = 1 << 30;

/// Settings common to the controllers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CcConfig {
    /// Sender maximum segment size (SMSS) in bytes.
    pub mss: u32,
    /// Initial window in segments (RFC 6928: 10).
    pub initial_window_segments: u32,
    /// Initial slow-start threshold in bytes ("arbitrarily high", RFC 5681 section 3.1).
    pub initial_ssthresh: u32,
    /// RFC 3465 limit L: at most `L * SMSS` of growth per ACK in slow start (2 recommended).
    pub abc_limit: u32,
    /// HyStart++ (RFC 9406) in the initial slow start: on by default (see
    /// `ConnConfig::hystart` for why).
    pub hystart: bool,
}

impl CcConfig {
    /// Defaults for a given SMSS: IW 10, ssthresh unbounded, L = 2.
    pub const fn new(mss: u32) -> CcConfig {
        CcConfig {
            mss,
            initial_window_segments: 10,
            initial_ssthresh: MAX_CWND,
            abc_limit: 2,
            hystart: true,
        }
    }

    /// SMSS, never zero (a zero MSS from a broken peer must not divide by zero).
    pub fn smss(&self) -> u32 {
        self.mss.max(1)
    }

    /// The initial window in bytes.
    pub fn initial_window(&self) -> u32 {
        //= rfc6928#2
        // IW = min(10 * MSS, max(2 * MSS, 14600)); with N segments configured, we scale the
        // 14600-byte term by N / 10 so N = 10 gives exactly the RFC's value.
        let mss = self.smss();
        let n = self.initial_window_segments.max(1);
        let bytes_term = 1460u32.saturating_mul(n);
        n.saturating_mul(mss).min(bytes_term.max(2 * mss)).min(MAX_CWND)
    }
}

/// A delivery-rate sample (draft-cheng-iccrg-delivery-rate-estimation), made by
/// [`crate::rate::DeliveryState::on_ack`] for model-based controllers (BBR); the classic
/// controllers ignore it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct RateSample {
    /// Bytes delivered over the sample interval.
    pub delivered: u64,
    /// The interval the bytes were delivered over.
    pub interval: Duration,
    /// True when the sender was application-limited when the sampled segment left.
    pub app_limited: bool,
    /// Bytes delivered (connection total) when the sampled segment left: BBR's round
    /// counting compares it with the total at the round's start.
    pub prior_delivered: u64,
    /// Bytes delivered (connection total) after this ACK.
    pub delivered_total: u64,
    /// Bytes in flight just after the sampled segment left.
    pub tx_in_flight: u32,
    /// Bytes judged lost between the sampled segment's transmission and now.
    pub lost: u64,
    /// Bytes this ACK delivered (cumulatively or by SACK).
    pub newly_delivered: u64,
    /// The interval is long enough to trust (nonzero, at least the minimum RTT).
    pub valid: bool,
}

impl RateSample {
    /// The sample's delivery rate in bytes per second (0 for an empty interval).
    pub fn bytes_per_sec(&self) -> u64 {
        let us = self.interval.as_micros();
        if us == 0 {
            return 0;
        }
        let r = u128::from(self.delivered) * 1_000_000 / us;
        u64::try_from(r).unwrap_or(u64::MAX)
    }
}

/// What one ACK told the sender, for [`CongestionControl::on_ack`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AckSample {
    /// When the ACK arrived.
    pub now: Instant,
    /// Bytes newly acknowledged (cumulatively or by SACK) by this ACK.
    pub bytes_acked: u32,
    /// An RTT sample from this ACK, if one was taken.
    pub rtt: Option<Duration>,
    /// The smoothed RTT, if known (CUBIC's target looks one RTT ahead).
    pub srtt: Option<Duration>,
    /// Bytes in flight before this ACK.
    pub bytes_in_flight: u32,
    /// Bytes in the network after this ACK: RFC 6675 `pipe` with SACK (less what RACK marked
    /// lost), FlightSize without. BBR compares it with its model.
    pub pipe: u32,
    /// The connection is in fast recovery (or RTO recovery): the window must not grow.
    pub in_recovery: bool,
    /// The sender had less data than the window allowed: growth is not earned (RFC 7661).
    pub app_limited: bool,
    /// Delivery-rate sample, when the connection measures one.
    pub rate: Option<RateSample>,
    /// The cumulative ACK (SEG.ACK); with `snd_nxt` it marks HyStart++'s rounds.
    pub ack: SeqNum,
    /// SND.NXT (the highest sequence number sent) when the ACK arrived.
    pub snd_nxt: SeqNum,
}

impl AckSample {
    /// An ACK of `bytes_acked` at `now` with an optional RTT sample (also used as SRTT), not
    /// in recovery, not app-limited, nothing in flight recorded; `ack` and `snd_nxt` zero
    /// (every such ACK ends a HyStart++ round, so HyStart++ never has enough samples to act:
    /// set both to drive it).
    pub fn new(now: Instant, bytes_acked: u32, rtt: Option<Duration>) -> AckSample {
        AckSample {
            now,
            bytes_acked,
            rtt,
            srtt: rtt,
            bytes_in_flight: 0,
            pipe: 0,
            in_recovery: false,
            app_limited: false,
            rate: None,
            ack: SeqNum(0),
            snd_nxt: SeqNum(0),
        }
    }
}

/// A congestion controller. One per connection, chosen by [`CcAlgorithm`].
pub trait CongestionControl: fmt::Debug + Send {
    /// Short name (`"cubic"`, `"newreno"`), as `TCP_INFO`-style tools print it.
    fn name(&self) -> &'static str;

    /// New data was acknowledged.
    fn on_ack(&mut self, ack: &AckSample);

    /// A loss was detected by duplicate ACKs, SACK or RACK and fast recovery begins (or an ECN
    /// echo arrived): reduce ssthresh and cwnd once. `bytes_in_flight` is FlightSize then.
    fn on_congestion_event(&mut self, now: Instant, bytes_in_flight: u32);

    /// Fast recovery ended (the recovery point was acknowledged).
    fn on_recovery_exit(&mut self, _now: Instant) {}

    /// The retransmission timer expired (first expiry for this loss): collapse to the loss
    /// window.
    fn on_rto(&mut self, now: Instant, bytes_in_flight: u32);

    /// The sender is about to transmit after being idle for `idle` (no data outstanding);
    /// `rto` is the current RTO.
    fn on_idle_restart(&mut self, now: Instant, idle: Duration, rto: Duration);

    /// Updates SMSS (after MSS negotiation or PMTU change).
    fn set_mss(&mut self, mss: u32);

    /// Congestion window in bytes.
    fn cwnd(&self) -> u32;

    /// Slow-start threshold in bytes.
    fn ssthresh(&self) -> u32;

    /// True while in slow start (cwnd < ssthresh, RFC 5681 section 3.1).
    fn in_slow_start(&self) -> bool {
        self.cwnd() < self.ssthresh()
    }

    /// Where HyStart++ is, for controllers that use it (`None`: switched off).
    fn hystart_phase(&self) -> Option<HyStartPhase> {
        None
    }

    /// Pacing rate in bytes per second, for controllers that set their own (BBR); those
    /// that do not leave it to the connection (`ConnConfig::pacing`).
    fn pacing_rate(&self) -> Option<u64> {
        None
    }

    /// An ECN-Echo arrived (RFC 3168), at most once per window of data. The window-based
    /// controllers reduce as for a loss.
    fn on_ecn_echo(&mut self, now: Instant, bytes_in_flight: u32) {
        self.on_congestion_event(now, bytes_in_flight);
    }

    /// Whether [`CongestionControl::on_ack`] wants every ACK that delivered data, SACK-only
    /// duplicates included (a model-based controller's rate samples), rather than only those
    /// that advance SND.UNA (the window-based ones grow only on those, as Linux does).
    fn samples_every_delivery(&self) -> bool {
        false
    }
}

/// The controllers this crate provides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum CcAlgorithm {
    /// RFC 5681 / RFC 3465.
    NewReno,
    /// RFC 9438 (the default, as in Linux).
    #[default]
    Cubic,
    /// RFC 9438 with Linux's integer congestion-avoidance step ([`LinuxCubic`]).
    LinuxCubic,
    /// BBRv3 (draft-ietf-ccwg-bbr).
    Bbr,
}

impl CcAlgorithm {
    /// A fresh controller of this kind.
    pub fn build(self, config: CcConfig) -> Box<dyn CongestionControl> {
        match self {
            CcAlgorithm::NewReno => Box::new(NewReno::new(config)),
            CcAlgorithm::Cubic => Box::new(Cubic::new(config)),
            CcAlgorithm::LinuxCubic => Box::new(LinuxCubic::new(config)),
            CcAlgorithm::Bbr => Box::new(Bbr::new(config)),
        }
    }

    /// A fresh controller of this kind, held inline (see [`Controller`]).
    pub fn build_inline(self, config: CcConfig) -> Controller {
        match self {
            CcAlgorithm::NewReno => Controller::NewReno(NewReno::new(config)),
            CcAlgorithm::Cubic => Controller::Cubic(Cubic::new(config)),
            CcAlgorithm::LinuxCubic => Controller::LinuxCubic(Box::new(LinuxCubic::new(config))),
            CcAlgorithm::Bbr => Controller::Bbr(Box::new(Bbr::new(config))),
        }
    }
}

/// One of this module's controllers, held inline rather than boxed: every connection has
/// one, and a box costs an allocation at connection setup (two, as the handshake replaces
/// the first with one sized for the agreed SMSS) plus the allocator's header and a fat
/// pointer in every idle connection. Dereferences to the trait object, so callers
/// use it like a `Box<dyn CongestionControl>`.
#[derive(Clone, Debug)]
pub enum Controller {
    /// RFC 5681 / RFC 3465.
    NewReno(NewReno),
    /// RFC 9438.
    Cubic(Cubic),
    /// CUBIC with Linux's congestion-avoidance step, boxed as only some connections run it.
    LinuxCubic(Box<LinuxCubic>),
    /// BBRv3, boxed: larger than the others, and only the connections that chose it pay
    /// for it.
    Bbr(Box<Bbr>),
}

impl Controller {
    /// [`CongestionControl::cwnd`], dispatched on the variant rather than through the
    /// trait object: the sender asks for it several times a segment, and each answer is a
    /// field read once the call is direct.
    #[inline]
    pub fn cwnd(&self) -> u32 {
        match self {
            Controller::NewReno(c) => c.cwnd(),
            Controller::Cubic(c) => c.cwnd(),
            Controller::LinuxCubic(c) => c.cwnd(),
            Controller::Bbr(c) => c.cwnd(),
        }
    }
}

impl core::ops::Deref for Controller {
    type Target = dyn CongestionControl;
    fn deref(&self) -> &Self::Target {
        match self {
            Controller::NewReno(c) => c,
            Controller::Cubic(c) => c,
            Controller::LinuxCubic(c) => &**c,
            Controller::Bbr(c) => &**c,
        }
    }
}

impl core::ops::DerefMut for Controller {
    fn deref_mut(&mut self) -> &mut Self::Target {
        match self {
            Controller::NewReno(c) => c,
            Controller::Cubic(c) => c,
            Controller::LinuxCubic(c) => &mut **c,
            Controller::Bbr(c) => &mut **c,
        }
    }
}

/// RFC 5681 section 4.1 restart window: after an idle period longer than the RTO, cwnd is
/// reduced to `min(IW, cwnd)`.
pub(crate) fn restart_window(config: &CcConfig, cwnd: u32, idle: Duration, rto: Duration) -> u32 {
    //= rfc5681#4.1
    // If the sender has been idle for more than an RTO, cwnd <- min(RW, cwnd), RW = min(IW, cwnd).
    if idle > rto { cwnd.min(config.initial_window()) } else { cwnd }
}

/// RFC 5681 equation (4): ssthresh = max(FlightSize / 2, 2 * SMSS), used by NewReno; CUBIC
/// uses its own beta.
pub(crate) fn half_flight(config: &CcConfig, flight: u32) -> u32 {
    //= rfc5681#3.1
    // On loss, ssthresh <- max(FlightSize / 2, 2 * SMSS).
    (flight / 2).max(2 * config.smss())
}

/// The flight a window reduction is computed from: FlightSize, but never more than cwnd.
///
/// RFC 5681 (equation 4) and RFC 9438 (section 4.6) base ssthresh on FlightSize so that an
/// application-limited sender does not keep a window it never used. FlightSize counts all data
/// sent and not cumulatively acknowledged, so right after a recovery (SND.UNA held back by a
/// hole while SACKed or duplicate-ACKed data kept the ACK clock going) it can be several times
/// cwnd; a "reduction" from it would raise the window on a loss. Linux computes ssthresh from
/// cwnd alone; capping FlightSize by cwnd keeps both the RFCs' intent and a reduction that
/// never grows the window.
pub(crate) fn reduction_basis(flight: u32, cwnd: u32) -> u32 {
    //= rfc5681#3.1
    //~ paraphrase: ssthresh comes from FlightSize; a loss never raises it above what cwnd allowed.
    flight.min(cwnd)
}

/// HyStart++'s verdict for one ACK, when the controller runs it and is in slow start; RTT
/// samples and rounds are tracked even on ACKs that do not grow the window (app-limited).
pub(crate) fn hystart_step(
    h: &mut Option<HyStart>,
    ack: &AckSample,
    in_slow_start: bool,
) -> SlowStartGrowth {
    match h {
        Some(h) if in_slow_start && !ack.in_recovery => h.on_ack(ack.ack, ack.snd_nxt, ack.rtt),
        _ => SlowStartGrowth::Full,
    }
}

/// What one ACK does to a window, decided the same way by every controller before its own
/// arithmetic ([`ack_step`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum AckStep {
    /// No growth: in recovery, application-limited, nothing newly acknowledged, or the ACK on
    /// which HyStart++ ended slow start.
    Hold,
    /// Slow start: grow by this many bytes (RFC 3465 byte counting, scaled down in HyStart++'s
    /// Conservative Slow Start).
    SlowStart(u32),
    /// Congestion avoidance: the controller's own increase.
    Avoidance,
}

/// The start of every controller's `on_ack`: runs HyStart++ when configured, ends slow start
/// where it says so (ssthresh = cwnd), and says whether and how the window may grow.
pub(crate) fn ack_step(
    config: &CcConfig,
    hystart: &mut Option<HyStart>,
    ack: &AckSample,
    cwnd: u32,
    ssthresh: &mut u32,
) -> AckStep {
    let in_slow_start = cwnd < *ssthresh;
    let growth = hystart_step(hystart, ack, in_slow_start);
    if growth == SlowStartGrowth::EnterAvoidance {
        //= rfc9406#4.2
        //~ paraphrase: CSS is over: congestion avoidance from the current window (ssthresh =
        //~ cwnd).
        *ssthresh = cwnd;
        return AckStep::Hold;
    }
    if ack.in_recovery || ack.app_limited || ack.bytes_acked == 0 {
        return AckStep::Hold;
    }
    if in_slow_start {
        let inc = slow_start_increase(config, ack.bytes_acked);
        return AckStep::SlowStart(hystart::scaled_increase(growth, inc));
    }
    AckStep::Avoidance
}

/// A window reduction ends HyStart++ for good: it only runs in the initial slow start.
pub(crate) fn end_hystart(hystart: &mut Option<HyStart>) {
    if let Some(h) = hystart {
        h.finish();
    }
}

/// Slow-start growth for one ACK with RFC 3465 appropriate byte counting.
pub(crate) fn slow_start_increase(config: &CcConfig, bytes_acked: u32) -> u32 {
    //= rfc3465#2.2
    // In slow start, cwnd grows by min(N, L * SMSS) per ACK, N the bytes newly acknowledged.
    bytes_acked.min(config.abc_limit.max(1).saturating_mul(config.smss()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn initial_window_rfc6928() {
        assert_eq!(CcConfig::new(1460).initial_window(), 14600);
        // Small MSS: 10 segments. Large MSS: max(2 * MSS, 14600).
        assert_eq!(CcConfig::new(536).initial_window(), 5360);
        assert_eq!(CcConfig::new(8960).initial_window(), 17920);
        let four = CcConfig { initial_window_segments: 4, ..CcConfig::new(1000) };
        assert_eq!(four.initial_window(), 4000);
        assert_eq!(CcConfig::new(0).initial_window(), 10, "zero MSS does not divide by zero");
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        #[derive(Debug, Clone)]
        enum Ev {
            Ack(u32, u64, bool),
            Loss(u32),
            Rto(u32),
            Idle(u64),
            Mss(u32),
        }

        fn ev() -> impl Strategy<Value = Ev> {
            prop_oneof![
                4 => (0u32..200_000, 0u64..2_000, any::<bool>()).prop_map(|(b, r, rec)| Ev::Ack(b, r, rec)),
                1 => (0u32..10_000_000).prop_map(Ev::Loss),
                1 => (0u32..10_000_000).prop_map(Ev::Rto),
                1 => (0u64..100_000).prop_map(Ev::Idle),
                1 => (0u32..70_000).prop_map(Ev::Mss),
            ]
        }

        proptest! {
            /// Whatever happens, both controllers keep 1 SMSS <= cwnd <= MAX_CWND and
            /// ssthresh >= 2 SMSS after a reduction, and never panic (zero MSS included).
            #[test]
            fn windows_stay_sane(mss in 0u32..9000, evs in proptest::collection::vec(ev(), 1..200)) {
                for alg in [CcAlgorithm::NewReno, CcAlgorithm::Cubic, CcAlgorithm::LinuxCubic] {
                    let mut cfg = CcConfig::new(mss);
                    let mut cc = alg.build(cfg);
                    let mut now = Instant::from_millis(1);
                    let mut reduced = false;
                    for e in &evs {
                        now += Duration::from_millis(7);
                        match *e {
                            Ev::Ack(b, r, rec) => {
                                let rtt = Some(Duration::from_millis(r));
                                cc.on_ack(&AckSample { in_recovery: rec, ..AckSample::new(now, b, rtt) });
                            }
                            Ev::Loss(f) => { cc.on_congestion_event(now, f); reduced = true; }
                            Ev::Rto(f) => { cc.on_rto(now, f); reduced = true; }
                            Ev::Idle(ms) => cc.on_idle_restart(now, Duration::from_millis(ms), Duration::from_millis(200)),
                            Ev::Mss(m) => { cc.set_mss(m); cfg.mss = m; reduced = false; }
                        }
                        let smss = cfg.smss();
                        prop_assert!(cc.cwnd() >= smss.min(MAX_CWND), "{} cwnd {}", cc.name(), cc.cwnd());
                        prop_assert!(cc.cwnd() <= MAX_CWND);
                        if reduced {
                            prop_assert!(cc.ssthresh() >= 2 * smss - 1, "{} ssthresh {}", cc.name(), cc.ssthresh());
                        }
                    }
                }
            }
        }
    }

    /// Drives `cc` through rounds of ten ACKs of one SMSS each (round `r` acknowledges
    /// sequence numbers `10 r .. 10 r + 9`, SND.NXT at the round's end) with RTT `rtt_ms`
    /// per round; returns cwnd after each ACK.
    fn rounds(cc: &mut dyn CongestionControl, first: u32, rtts_ms: &[u64]) -> Vec<u32> {
        let mut out = Vec::new();
        for (i, &rtt) in rtts_ms.iter().enumerate() {
            let r = first + i as u32;
            for a in 10 * r..10 * r + 10 {
                let now = Instant::from_millis(u64::from(a));
                let ack = AckSample {
                    ack: SeqNum(a),
                    snd_nxt: SeqNum(10 * r + 10),
                    ..AckSample::new(now, 1000, Some(Duration::from_millis(rtt)))
                };
                cc.on_ack(&ack);
                out.push(cc.cwnd());
            }
        }
        out
    }

    #[test]
    fn hystart_rtt_rise_enters_css_then_avoidance() {
        for alg in [CcAlgorithm::NewReno, CcAlgorithm::Cubic, CcAlgorithm::LinuxCubic] {
            let mut cc = alg.build(CcConfig::new(1000));
            // Rounds 1 and 2 at 20 ms: standard slow start, one SMSS per ACK.
            let w = rounds(&mut *cc, 0, &[20, 20]);
            assert_eq!(w[19], 30_000, "{}", cc.name());
            assert_eq!(cc.hystart_phase(), Some(HyStartPhase::SlowStart));
            // Round 3 at 23.9 ms: below 20 + 4 ms, still slow start.
            rounds(&mut *cc, 2, &[23]);
            assert_eq!(cc.hystart_phase(), Some(HyStartPhase::SlowStart), "{}", cc.name());
            assert_eq!(cc.cwnd(), 40_000);
            // Round 4 at 28 ms (23 + 4 or more): CSS from the 8th ACK on; that ACK and the
            // next two grow by a quarter SMSS.
            let w = rounds(&mut *cc, 3, &[28]);
            assert_eq!(cc.hystart_phase(), Some(HyStartPhase::Css), "{}", cc.name());
            assert_eq!(w[6], 47_000);
            assert_eq!(&w[7..], [47_250, 47_500, 47_750], "{}", cc.name());
            assert!(cc.in_slow_start());
            // Four more CSS rounds (ten ACKs each, 2,500 bytes per round); the first ACK of
            // the round after them completes the fifth and enters congestion avoidance.
            let w = rounds(&mut *cc, 4, &[28, 28, 28, 28]);
            assert_eq!(w[39], 57_750);
            let w = rounds(&mut *cc, 8, &[28]);
            assert_eq!(w[0], 57_750, "no growth on the ACK that ends CSS");
            assert_eq!(cc.hystart_phase(), Some(HyStartPhase::Done));
            assert_eq!(cc.ssthresh(), 57_750, "{}: ssthresh = cwnd", cc.name());
            assert!(!cc.in_slow_start());
        }
    }

    #[test]
    fn hystart_css_rtt_fall_resumes_slow_start() {
        for alg in [CcAlgorithm::NewReno, CcAlgorithm::Cubic, CcAlgorithm::LinuxCubic] {
            let mut cc = alg.build(CcConfig::new(1000));
            rounds(&mut *cc, 0, &[20, 30]);
            assert_eq!(cc.hystart_phase(), Some(HyStartPhase::Css));
            // The next round's minimum (25 ms) is below the 30 ms that started CSS: the
            // eighth ACK returns to slow start, and the ninth grows by a full SMSS again.
            let w = rounds(&mut *cc, 2, &[25]);
            assert_eq!(cc.hystart_phase(), Some(HyStartPhase::SlowStart), "{}", cc.name());
            assert_eq!(w[8] - w[7], 1000);
            assert_eq!(w[6] - w[5], 250);
        }
    }

    #[test]
    fn hystart_loss_during_css_ends_it() {
        for alg in [CcAlgorithm::NewReno, CcAlgorithm::Cubic, CcAlgorithm::LinuxCubic] {
            let mut cc = alg.build(CcConfig::new(1000));
            rounds(&mut *cc, 0, &[20, 30]);
            assert_eq!(cc.hystart_phase(), Some(HyStartPhase::Css));
            let cwnd = cc.cwnd();
            cc.on_congestion_event(Instant::from_millis(500), cwnd);
            assert_eq!(cc.hystart_phase(), Some(HyStartPhase::Done));
            // The controller's own reduction: NewReno halves, CUBIC keeps 0.7.
            let want = if alg == CcAlgorithm::NewReno { cwnd / 2 } else { cwnd * 7 / 10 };
            assert_eq!(cc.ssthresh(), want, "{}", cc.name());
            // Later slow starts (after an RTO) are standard: RTT rises change nothing.
            cc.on_rto(Instant::from_millis(900), cwnd);
            let w = rounds(&mut *cc, 2, &[20, 40, 80]);
            assert!(w.windows(2).all(|p| p[1] - p[0] == 1000 || p[1] >= cc.ssthresh()));
        }
    }

    #[test]
    fn hystart_off_is_plain_slow_start() {
        for alg in [CcAlgorithm::NewReno, CcAlgorithm::Cubic, CcAlgorithm::LinuxCubic] {
            let mut cc = alg.build(CcConfig { hystart: false, ..CcConfig::new(1000) });
            assert_eq!(cc.hystart_phase(), None);
            let w = rounds(&mut *cc, 0, &[20, 30, 40]);
            assert_eq!(w[29], 40_000, "{}", cc.name());
        }
    }

    #[test]
    fn restart_after_idle() {
        let c = CcConfig::new(1000);
        let rto = Duration::from_millis(300);
        assert_eq!(restart_window(&c, 50_000, Duration::from_millis(200), rto), 50_000);
        assert_eq!(restart_window(&c, 50_000, Duration::from_millis(400), rto), 10_000);
        assert_eq!(restart_window(&c, 5_000, Duration::from_secs(9), rto), 5_000);
        for alg in [CcAlgorithm::NewReno, CcAlgorithm::Cubic, CcAlgorithm::LinuxCubic] {
            let mut cc = alg.build(c);
            for i in 0..40 {
                cc.on_ack(&AckSample::new(
                    Instant::from_millis(i),
                    1000,
                    Some(Duration::from_millis(10)),
                ));
            }
            assert!(cc.cwnd() > 10_000);
            cc.on_idle_restart(Instant::from_secs(5), Duration::from_secs(4), rto);
            assert_eq!(cc.cwnd(), 10_000, "{}", cc.name());
        }
    }
}
