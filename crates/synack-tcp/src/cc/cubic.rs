//! CUBIC (RFC 9438): a window that grows as a cubic function of the time since the last
//! reduction, concave up to the window where loss last happened (W_max) and convex beyond it,
//! with a Reno-friendly floor for short-RTT, small-window paths.
//!
//! Windows are kept in segments as `f64` (the RFC's unit); `core` has no `cbrt`, so the cube
//! root is a few Newton steps ([`cbrt`]).
//!
//! `LinuxCubic` (`CongestionControl::LinuxCubic`) runs this controller with Linux's integer
//! congestion-avoidance step instead of the RFC's (see `cubic_linux`).

use super::cubic_linux::LinuxUpdate;
use super::{
    AckSample, AckStep, CcConfig, CongestionControl, HyStart, HyStartPhase, MAX_CWND, ack_step,
    end_hystart, reduction_basis, restart_window,
};
use crate::time::{Duration, Instant};

/// CUBIC's constants (RFC 9438 section 5 recommends the defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CubicParams {
    /// C, the scaling constant in segments per second cubed (0.4).
    pub c: f64,
    /// beta_cubic, the multiplicative decrease factor (0.7).
    pub beta: f64,
    /// Fast convergence (section 4.7), on by default.
    pub fast_convergence: bool,
    /// The Reno-friendly region (section 4.3), on by default.
    pub reno_friendly: bool,
}

impl Default for CubicParams {
    fn default() -> Self {
        //= rfc9438#5
        // C = 0.4 and beta_cubic = 0.7.
        CubicParams { c: 0.4, beta: 0.7, fast_convergence: true, reno_friendly: true }
    }
}

impl CubicParams {
    /// alpha_cubic = 3 (1 - beta) / (1 + beta), the Reno-friendly additive increase (section
    /// 4.3), about 0.529 with the defaults.
    pub fn alpha(&self) -> f64 {
        //= rfc9438#4.3
        // alpha_cubic = 3 * (1 - beta_cubic) / (1 + beta_cubic) matches Reno's average rate.
        3.0 * (1.0 - self.beta) / (1.0 + self.beta)
    }
}

/// Cube root for `f64` without `std`: a bit-level first guess refined by Newton's method.
pub(crate) fn cbrt(x: f64) -> f64 {
    if x == 0.0 || x.is_nan() || x.is_infinite() {
        return x;
    }
    let neg = x < 0.0;
    let a = if neg { -x } else { x };
    // Dividing the exponent by three gives a guess within a few percent.
    let mut y = f64::from_bits(a.to_bits() / 3 + 0x2A9F_7893_782D_A1CE);
    for _ in 0..6 {
        y = (2.0 * y + a / (y * y)) / 3.0;
    }
    if neg { -y } else { y }
}

/// RFC 9438 congestion control. See the [`cc` module docs](crate::cc).
#[derive(Clone, Debug)]
pub struct Cubic {
    config: CcConfig,
    params: CubicParams,
    /// Congestion window in segments.
    cwnd: f64,
    ssthresh: u32,
    /// W_max: the window (segments) just before the last reduction.
    w_max: f64,
    /// cwnd_prior: the window when ssthresh was last set (segments).
    cwnd_prior: f64,
    /// Start of the current congestion-avoidance epoch; `None` until the first ACK in CA.
    t_epoch: Option<Instant>,
    /// K in seconds for the current epoch.
    k: f64,
    /// W_est, the Reno-friendly estimate (segments).
    w_est: f64,
    /// HyStart++ (RFC 9406) for the initial slow start, when configured.
    hystart: Option<HyStart>,
}

impl Cubic {
    /// Default constants.
    pub fn new(config: CcConfig) -> Cubic {
        Cubic::with_params(config, CubicParams::default())
    }

    /// Chosen constants.
    pub fn with_params(config: CcConfig, params: CubicParams) -> Cubic {
        let cwnd = f64::from(config.initial_window()) / f64::from(config.smss());
        Cubic {
            config,
            params,
            cwnd,
            ssthresh: config.initial_ssthresh,
            w_max: 0.0,
            cwnd_prior: 0.0,
            t_epoch: None,
            k: 0.0,
            w_est: cwnd,
            hystart: config.hystart.then(HyStart::new),
        }
    }

    /// W_cubic(t) in segments for the current epoch, `t` seconds after its start.
    pub fn w_cubic(&self, t: f64) -> f64 {
        //= rfc9438#4.2
        // W_cubic(t) = C * (t - K)^3 + W_max.
        let d = t - self.k;
        self.params.c * d * d * d + self.w_max
    }

    /// K in seconds for the current epoch (zero before one starts).
    pub fn k(&self) -> f64 {
        self.k
    }

    /// W_max in segments.
    pub fn w_max(&self) -> f64 {
        self.w_max
    }

    /// W_est in segments.
    pub fn w_est(&self) -> f64 {
        self.w_est
    }

    /// The window in segments (unrounded).
    pub fn cwnd_segments(&self) -> f64 {
        self.cwnd
    }

    /// The window Linux remembers at a reduction from the current one (`last_max`, 0 when
    /// none): whole segments, 1741/2048 of cwnd when below the last one (fast convergence).
    pub(crate) fn linux_last_max(&self, last_max: u32) -> u32 {
        let cwnd = self.cwnd as u32;
        if self.params.fast_convergence && cwnd < last_max {
            cwnd * (1024 + 717) / 2048
        } else {
            cwnd
        }
    }

    /// [`CongestionControl::on_ack`], with Linux's congestion-avoidance step when `linux`
    /// is given.
    pub(crate) fn on_ack_with(&mut self, ack: &AckSample, linux: Option<&mut LinuxUpdate>) {
        let cwnd = self.cwnd();
        let smss = f64::from(self.config.smss());
        match ack_step(&self.config, &mut self.hystart, ack, cwnd, &mut self.ssthresh) {
            // When HyStart++ ends slow start, the first ACK in avoidance starts CUBIC's epoch
            // with W_max = cwnd.
            AckStep::Hold => return,
            AckStep::SlowStart(inc) => {
                //= rfc9438#4.10
                // Below ssthresh CUBIC uses standard slow start, or HyStart++ (RFC 9406), whose
                // Conservative Slow Start grows a quarter as fast.
                self.cwnd = (self.cwnd + f64::from(inc) / smss).min(self.max_segments());
                return;
            }
            AckStep::Avoidance => {}
        }
        if let Some(l) = linux {
            let acked = ack.bytes_acked.div_ceil(self.config.smss());
            let cwnd = l.on_ack(ack.now, self.cwnd as u32, acked);
            self.cwnd = f64::from(cwnd).min(self.max_segments());
            return;
        }
        self.avoidance(ack);
    }

    /// RFC 9438's congestion-avoidance step for one ACK.
    fn avoidance(&mut self, ack: &AckSample) {
        let smss = f64::from(self.config.smss());
        let t_epoch = match self.t_epoch {
            Some(t) => t,
            None => {
                self.start_epoch(ack.now);
                ack.now
            }
        };
        let acked = f64::from(ack.bytes_acked) / smss;
        let t = ack.now.saturating_since(t_epoch).as_secs_f64();
        let rtt = ack.srtt.or(ack.rtt).unwrap_or(Duration::ZERO).as_secs_f64();

        if self.params.reno_friendly {
            //= rfc9438#4.3
            // W_est <- W_est + alpha_cubic * segments_acked / cwnd; alpha becomes 1 once W_est
            // reaches cwnd_prior.
            let alpha = if self.w_est >= self.cwnd_prior { 1.0 } else { self.params.alpha() };
            self.w_est += alpha * acked / self.cwnd;
            if self.w_cubic(t) < self.w_est {
                // Reno-friendly region: cwnd follows W_est.
                self.cwnd = self.w_est.max(self.cwnd).min(self.max_segments());
                return;
            }
        }
        //= rfc9438#4.4
        // Concave and convex regions: target = W_cubic(t + RTT) clamped to [cwnd, 1.5 cwnd],
        // and cwnd grows by (target - cwnd) / cwnd per acknowledged segment.
        let target = self.w_cubic(t + rtt).clamp(self.cwnd, 1.5 * self.cwnd);
        self.cwnd = (self.cwnd + (target - self.cwnd) / self.cwnd * acked).min(self.max_segments());
    }

    fn max_segments(&self) -> f64 {
        f64::from(MAX_CWND) / f64::from(self.config.smss())
    }

    fn start_epoch(&mut self, now: Instant) {
        self.t_epoch = Some(now);
        if self.cwnd < self.w_max {
            //= rfc9438#4.2
            // K = cubic_root((W_max - cwnd_epoch) / C), cwnd_epoch the window at epoch start.
            self.k = cbrt((self.w_max - self.cwnd) / self.params.c);
        } else {
            // Above the last loss point (e.g. leaving slow start): plateau at the current window.
            self.k = 0.0;
            self.w_max = self.cwnd;
        }
        self.w_est = self.cwnd;
    }

    /// Multiplicative decrease shared by fast recovery and RTO (sections 4.6, 4.7, 4.8).
    fn reduce(&mut self, bytes_in_flight: u32) {
        let smss = f64::from(self.config.smss());
        //= rfc9438#4.7
        // Fast convergence: if the window is below the previous W_max, the flow is losing
        // share, so W_max <- cwnd * (1 + beta) / 2; otherwise W_max <- cwnd.
        self.w_max = if self.params.fast_convergence && self.cwnd < self.w_max {
            self.cwnd * (1.0 + self.params.beta) / 2.0
        } else {
            self.cwnd
        };
        self.cwnd_prior = self.cwnd;
        //= rfc9438#4.6
        // ssthresh <- flight_size * beta_cubic, at least 2 segments.
        let flight = f64::from(reduction_basis(bytes_in_flight, self.cwnd())) / smss;
        let ss = (flight * self.params.beta).max(2.0);
        // Rounded: 0.7 * 90 segments must be 63, not 62.999.
        self.ssthresh = (ss * smss + 0.5) as u32;
        self.t_epoch = None;
        end_hystart(&mut self.hystart);
    }
}

impl CongestionControl for Cubic {
    fn name(&self) -> &'static str {
        "cubic"
    }

    fn on_ack(&mut self, ack: &AckSample) {
        self.on_ack_with(ack, None);
    }

    fn on_congestion_event(&mut self, _now: Instant, bytes_in_flight: u32) {
        self.reduce(bytes_in_flight);
        //= rfc9438#4.6
        // cwnd <- ssthresh on entering fast recovery.
        self.cwnd = f64::from(self.ssthresh) / f64::from(self.config.smss());
    }

    fn on_rto(&mut self, _now: Instant, bytes_in_flight: u32) {
        //= rfc9438#4.8
        // On RTO, ssthresh is set with beta_cubic as in section 4.6 and cwnd falls to one
        // segment as in RFC 5681.
        self.reduce(bytes_in_flight);
        self.cwnd = 1.0;
    }

    fn on_idle_restart(&mut self, _now: Instant, idle: Duration, rto: Duration) {
        let smss = self.config.smss();
        let restarted = restart_window(&self.config, self.cwnd(), idle, rto);
        self.cwnd = self.cwnd.min(f64::from(restarted) / f64::from(smss));
        // The cubic clock must not count idle time as time spent growing.
        self.t_epoch = None;
    }

    fn set_mss(&mut self, mss: u32) {
        let bytes = self.cwnd * f64::from(self.config.smss());
        self.config.mss = mss;
        self.cwnd = bytes / f64::from(self.config.smss());
    }

    fn cwnd(&self) -> u32 {
        let bytes = self.cwnd * f64::from(self.config.smss());
        (bytes as u32).clamp(self.config.smss(), MAX_CWND)
    }

    fn ssthresh(&self) -> u32 {
        self.ssthresh
    }

    fn hystart_phase(&self) -> Option<HyStartPhase> {
        self.hystart.as_ref().map(HyStart::phase)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSS: u32 = 1000;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        let d = a - b;
        d < tol && -d < tol
    }

    #[test]
    fn cube_root() {
        for &(x, r) in
            &[(27.0, 3.0), (75.0, 4.217_163_326), (0.001, 0.1), (1e18, 1e6), (-8.0, -2.0)]
        {
            assert!(close(cbrt(x), r, r.abs() * 1e-9 + 1e-12), "cbrt({x}) = {}", cbrt(x));
        }
        assert_eq!(cbrt(0.0), 0.0);
    }

    #[test]
    fn constants_rfc9438_section_4_3_and_5() {
        let p = CubicParams::default();
        assert!(close(p.alpha(), 0.9 / 1.7, 1e-12)); // about 0.529
    }

    /// A CUBIC in congestion avoidance right after a loss at 100 segments with 100 in flight.
    fn after_loss_at_100() -> Cubic {
        let mut c = Cubic::new(CcConfig::new(MSS));
        c.cwnd = 100.0;
        c.on_congestion_event(Instant::ZERO, 100 * MSS);
        c
    }

    #[test]
    fn reduction_rfc9438_section_4_6_and_4_7() {
        let mut c = after_loss_at_100();
        // Section 4.6: ssthresh = cwnd = 0.7 * 100 segments; W_max = 100.
        assert_eq!(c.ssthresh(), 70 * MSS);
        assert_eq!(c.cwnd(), 70 * MSS);
        assert!(close(c.w_max(), 100.0, 1e-9));
        // Section 4.7: a second loss below W_max (at 90) sets W_max = 90 * (1 + 0.7) / 2 = 76.5.
        c.cwnd = 90.0;
        c.on_congestion_event(Instant::ZERO, 90 * MSS);
        assert!(close(c.w_max(), 76.5, 1e-9));
        assert_eq!(c.ssthresh(), 63 * MSS);
        // Without fast convergence W_max is just the window.
        let mut nf = Cubic::with_params(
            CcConfig::new(MSS),
            CubicParams { fast_convergence: false, ..CubicParams::default() },
        );
        nf.cwnd = 100.0;
        nf.on_congestion_event(Instant::ZERO, 100 * MSS);
        nf.cwnd = 90.0;
        nf.on_congestion_event(Instant::ZERO, 90 * MSS);
        assert!(close(nf.w_max(), 90.0, 1e-9));
        // Section 4.8: RTO gives the same ssthresh, cwnd of one segment.
        c.on_rto(Instant::ZERO, 50 * MSS);
        assert_eq!(c.ssthresh(), 35 * MSS);
        assert_eq!(c.cwnd(), MSS);
    }

    /// Drives the window with an ACK clock: each RTT, one ACK per segment in the window,
    /// spread evenly. Returns (time s, cwnd segments) at the end of each RTT.
    fn run(c: &mut Cubic, rtt_ms: u64, rounds: usize, start: Instant) -> std::vec::Vec<(f64, f64)> {
        let rtt = Duration::from_millis(rtt_ms);
        let mut now = start;
        let mut out = std::vec::Vec::new();
        for _ in 0..rounds {
            let n = c.cwnd().div_ceil(MSS).max(1);
            let step = rtt / n;
            for _ in 0..n {
                now += step;
                c.on_ack(&AckSample { srtt: Some(rtt), ..AckSample::new(now, MSS, Some(rtt)) });
            }
            out.push((now.saturating_since(start).as_secs_f64(), c.cwnd_segments()));
        }
        out
    }

    #[test]
    fn growth_follows_w_cubic_rfc9438_section_4_2() {
        // Section 4.2 worked numbers: W_max = 100, cwnd_epoch = 70, C = 0.4 give
        // K = cbrt(30 / 0.4) = cbrt(75) = 4.217 s; W_cubic(0) = 70, W_cubic(K) = 100,
        // W_cubic(2K) = 130 (the curve is symmetric about K).
        // The Reno-friendly region is off here: at a 20 ms RTT W_est would outgrow the curve.
        let mut c = Cubic::with_params(
            CcConfig::new(MSS),
            CubicParams { reno_friendly: false, ..CubicParams::default() },
        );
        c.cwnd = 100.0;
        c.on_congestion_event(Instant::ZERO, 100 * MSS);
        let start = Instant::from_secs(1);
        c.on_ack(&AckSample::new(start, MSS, Some(Duration::from_millis(20))));
        assert!(close(c.k(), 4.217_163, 1e-5), "K = {}", c.k());
        assert!(close(c.w_cubic(0.0), 70.0, 1e-9));
        assert!(close(c.w_cubic(c.k()), 100.0, 1e-9));
        assert!(close(c.w_cubic(2.0 * c.k()), 130.0, 1e-6));
        // With a 20 ms RTT the window tracks W_cubic(t + RTT) within a segment or two.
        let trace = run(&mut c, 20, 500, start);
        let mut checked = 0;
        for &(t, w) in &trace {
            if t > 0.5 && t < 9.0 {
                let want = c.w_cubic(t);
                assert!(close(w, want, 2.5), "t = {t:.2}: cwnd {w:.2} vs W_cubic {want:.2}");
                checked += 1;
            }
        }
        assert!(checked > 300);
        // Concave then plateau then convex: growth per second is larger far from K than near it.
        let at = |s: f64| trace.iter().find(|&&(t, _)| t >= s).map(|&(_, w)| w).unwrap();
        let early = at(1.0) - at(0.5);
        let plateau = at(4.5) - at(4.0);
        let late = at(8.5) - at(8.0);
        assert!(early > 3.0 * plateau && late > 3.0 * plateau, "{early} {plateau} {late}");
        assert!(at(8.5) > 100.0, "convex region probes beyond W_max");
    }

    #[test]
    fn reno_friendly_region_rfc9438_section_4_3() {
        // W_max = 100 on a 20 ms path: W_est climbs alpha_cubic = 0.529 segments per RTT from
        // 70, faster than the concave curve, so cwnd follows W_est (section 4.3).
        let mut c = after_loss_at_100();
        let trace = run(&mut c, 20, 30, Instant::ZERO);
        // After 30 RTTs (0.6 s): W_est is about 70 + 30 * 0.529 = 85.9; W_cubic(0.6) = 81.1.
        let (t, w) = trace[29];
        assert!(close(w, 70.0 + 30.0 * 0.529, 0.5), "cwnd {w}");
        assert!(close(w, c.w_est(), 1e-9), "cwnd follows W_est");
        assert!(c.w_cubic(t) < w - 3.0, "W_cubic {} is below W_est here", c.w_cubic(t));
        // Once W_est reaches cwnd_prior (100, after about 57 RTTs), alpha becomes 1: one
        // segment per RTT, like Reno.
        let trace = run(&mut c, 20, 40, Instant::from_millis(600));
        let growth = trace[39].1 - trace[38].1;
        assert!(close(growth, 1.0, 0.1), "growth per RTT {growth}");
        // Without the region, CUBIC alone grows slower here.
        let mut plain = Cubic::with_params(
            CcConfig::new(MSS),
            CubicParams { reno_friendly: false, ..CubicParams::default() },
        );
        plain.cwnd = 100.0;
        plain.on_congestion_event(Instant::ZERO, 100 * MSS);
        let p = run(&mut plain, 20, 30, Instant::ZERO);
        assert!(p[29].1 < w - 3.0);
    }

    #[test]
    fn slow_start_then_epoch_at_current_window() {
        let mut c = Cubic::new(CcConfig { initial_ssthresh: 20 * MSS, ..CcConfig::new(MSS) });
        assert!(c.in_slow_start());
        for i in 0..10 {
            c.on_ack(&AckSample::new(Instant::from_millis(i), MSS, None));
        }
        assert_eq!(c.cwnd(), 20 * MSS);
        assert!(!c.in_slow_start());
        c.on_ack(&AckSample::new(Instant::from_millis(20), MSS, Some(Duration::from_millis(10))));
        // No earlier loss: W_max is the current window and K = 0 (growth starts convex).
        assert!(close(c.w_max(), 20.0, 1e-9) && c.k() == 0.0);
    }

    #[test]
    fn no_growth_in_recovery_or_app_limited() {
        let mut c = after_loss_at_100();
        let w = c.cwnd();
        c.on_ack(&AckSample { in_recovery: true, ..AckSample::new(Instant::ZERO, MSS, None) });
        c.on_ack(&AckSample { app_limited: true, ..AckSample::new(Instant::ZERO, MSS, None) });
        assert_eq!(c.cwnd(), w);
    }
}
