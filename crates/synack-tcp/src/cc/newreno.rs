//! NewReno's window arithmetic: RFC 5681 slow start and congestion avoidance with RFC 3465
//! appropriate byte counting. (The RFC 6582 recovery-point logic is in
//! [`scoreboard::NewRenoRecovery`](crate::scoreboard::NewRenoRecovery).)

use super::{
    AckSample, AckStep, CcConfig, CongestionControl, HyStart, HyStartPhase, MAX_CWND, ack_step,
    end_hystart, half_flight, reduction_basis, restart_window,
};
use crate::time::{Duration, Instant};

/// RFC 5681 congestion control. See the [`cc` module docs](crate::cc).
#[derive(Clone, Debug)]
pub struct NewReno {
    config: CcConfig,
    cwnd: u32,
    ssthresh: u32,
    /// RFC 3465 section 2.1 `bytes_acked` counter for congestion avoidance.
    ca_bytes: u32,
    /// HyStart++ (RFC 9406) for the initial slow start, when configured.
    hystart: Option<HyStart>,
}

impl NewReno {
    /// Starts with the initial window and the configured ssthresh.
    pub fn new(config: CcConfig) -> NewReno {
        NewReno {
            cwnd: config.initial_window(),
            ssthresh: config.initial_ssthresh,
            ca_bytes: 0,
            hystart: config.hystart.then(HyStart::new),
            config,
        }
    }
}

impl CongestionControl for NewReno {
    fn name(&self) -> &'static str {
        "newreno"
    }

    fn on_ack(&mut self, ack: &AckSample) {
        let step = ack_step(&self.config, &mut self.hystart, ack, self.cwnd, &mut self.ssthresh);
        match step {
            AckStep::Hold => {}
            AckStep::SlowStart(inc) => {
                //= rfc5681#3.1
                // Slow start: cwnd grows by at most SMSS per ACK (RFC 3465 allows L * SMSS),
                // a quarter of that in HyStart++'s Conservative Slow Start.
                self.cwnd = self.cwnd.saturating_add(inc).min(MAX_CWND);
            }
            AckStep::Avoidance => {
                //= rfc3465#2.1
                // Congestion avoidance with byte counting: once a full cwnd of bytes has been
                // acknowledged, cwnd grows by one SMSS (about one SMSS per RTT, RFC 5681 eq. 3).
                self.ca_bytes = self.ca_bytes.saturating_add(ack.bytes_acked);
                if self.ca_bytes >= self.cwnd {
                    self.ca_bytes -= self.cwnd;
                    self.cwnd = self.cwnd.saturating_add(self.config.smss()).min(MAX_CWND);
                }
            }
        }
    }

    fn on_congestion_event(&mut self, _now: Instant, bytes_in_flight: u32) {
        //= rfc5681#3.2
        // On the third duplicate ACK: ssthresh <- max(FlightSize / 2, 2 * SMSS). The window
        // inflation by 3 * SMSS is applied by the recovery logic, so cwnd is set to ssthresh.
        self.ssthresh = half_flight(&self.config, reduction_basis(bytes_in_flight, self.cwnd));
        self.cwnd = self.ssthresh;
        self.ca_bytes = 0;
        end_hystart(&mut self.hystart);
    }

    fn on_rto(&mut self, _now: Instant, bytes_in_flight: u32) {
        //= rfc5681#3.1
        // On a retransmission timeout: ssthresh per equation (4), cwnd <- LW = 1 SMSS.
        self.ssthresh = half_flight(&self.config, reduction_basis(bytes_in_flight, self.cwnd));
        self.cwnd = self.config.smss();
        self.ca_bytes = 0;
        end_hystart(&mut self.hystart);
    }

    fn on_idle_restart(&mut self, _now: Instant, idle: Duration, rto: Duration) {
        self.cwnd = restart_window(&self.config, self.cwnd, idle, rto);
    }

    fn set_mss(&mut self, mss: u32) {
        self.config.mss = mss;
        // The window is in bytes; it must still allow one full segment (RFC 5681's LW).
        self.cwnd = self.cwnd.max(self.config.smss());
    }

    fn cwnd(&self) -> u32 {
        self.cwnd
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

    fn ack(bytes: u32) -> AckSample {
        AckSample::new(Instant::ZERO, bytes, None)
    }

    #[test]
    fn slow_start_abc_limit() {
        let mut r = NewReno::new(CcConfig::new(1000));
        r.on_ack(&ack(1000));
        assert_eq!(r.cwnd(), 11_000);
        // A stretch ACK of 5 segments grows by at most L = 2 segments (RFC 3465 section 2.2).
        r.on_ack(&ack(5000));
        assert_eq!(r.cwnd(), 13_000);
    }

    #[test]
    fn congestion_avoidance_one_mss_per_window() {
        let mut r = NewReno::new(CcConfig { initial_ssthresh: 10_000, ..CcConfig::new(1000) });
        assert!(!r.in_slow_start());
        for _ in 0..9 {
            r.on_ack(&ack(1000));
        }
        assert_eq!(r.cwnd(), 10_000);
        r.on_ack(&ack(1000));
        assert_eq!(r.cwnd(), 11_000);
        // The next increase needs 11 segments' worth.
        for _ in 0..10 {
            r.on_ack(&ack(1000));
        }
        assert_eq!(r.cwnd(), 11_000);
        r.on_ack(&ack(1000));
        assert_eq!(r.cwnd(), 12_000);
    }

    #[test]
    fn loss_and_rto() {
        // An initial window of 40 segments, so FlightSize (30) is below cwnd.
        let mut r = NewReno::new(CcConfig { initial_window_segments: 40, ..CcConfig::new(1000) });
        r.on_congestion_event(Instant::ZERO, 30_000);
        assert_eq!((r.ssthresh(), r.cwnd()), (15_000, 15_000));
        r.on_ack(&AckSample { in_recovery: true, ..ack(1000) });
        assert_eq!(r.cwnd(), 15_000, "no growth in recovery");
        r.on_congestion_event(Instant::ZERO, 1_000);
        assert_eq!(r.ssthresh(), 2_000, "floor of 2 * SMSS");
        r.on_rto(Instant::ZERO, 40_000);
        // FlightSize 40,000 but cwnd only 2,000: the basis is cwnd, and the floor applies.
        assert_eq!((r.ssthresh(), r.cwnd()), (2_000, 1_000));
        assert!(r.in_slow_start());
    }

    #[test]
    fn reduction_never_raises_the_window() {
        // After a recovery FlightSize can be far above cwnd (SND.UNA was held back while
        // SACKed data flowed): a loss then must still shrink the window.
        let mut r = NewReno::new(CcConfig { initial_ssthresh: 20_000, ..CcConfig::new(1000) });
        assert_eq!(r.cwnd(), 10_000);
        r.on_congestion_event(Instant::ZERO, 53_000);
        assert_eq!((r.ssthresh(), r.cwnd()), (5_000, 5_000));
        // Below cwnd, FlightSize decides (an application-limited sender).
        let mut r = NewReno::new(CcConfig::new(1000));
        r.on_congestion_event(Instant::ZERO, 6_000);
        assert_eq!(r.ssthresh(), 3_000);
    }
}
