//! Linux's congestion-avoidance step for CUBIC (`CongestionControl::LinuxCubic`), where RFC 9438 leaves
//! the per-ACK arithmetic to the implementation: Linux works in whole segments and turns the
//! cubic target into a count `cnt` of acknowledged segments per one-segment increase.
//!
//! The rules it follows that the RFC's continuous form does not:
//!
//! * `cnt` is recomputed at most once every 1/32 s (31 jiffies at `HZ` 1000) while cwnd stays
//!   the same; ACKs in between only count towards the Reno-friendly estimate and grow cwnd at
//!   the old rate (`bictcp_update`'s `last_time` and `last_cwnd`);
//! * time runs in jiffies (milliseconds here) plus the smallest RTT seen since the last reset
//!   (`delay_min`), in units of 1/1024 s;
//! * with no window remembered from a loss (`last_max_cwnd` 0, as after an RTO, which resets
//!   the state when entering the Loss state), at least one segment per 20 acknowledged;
//! * the Reno-friendly window counts one segment per `cwnd * 15 / 8` acknowledged and caps
//!   `cnt` at `cwnd / (reno - cwnd)` when it is ahead; `cnt` is at least 2 (growth of 1.5x a
//!   round at most);
//! * cwnd then grows by one segment each `cnt` acknowledged segments, carrying the rest
//!   (`tcp_cong_avoid_ai`).

use super::{AckSample, CcConfig, CongestionControl, Cubic, HyStartPhase};
use crate::time::{Duration, Instant};

/// CUBIC with Linux's congestion-avoidance step: [`Cubic`] for slow start, HyStart++ and the
/// reductions, [`LinuxUpdate`] for the growth in avoidance.
#[derive(Clone, Debug)]
pub struct LinuxCubic {
    cubic: Cubic,
    update: LinuxUpdate,
}

impl LinuxCubic {
    /// Default constants.
    pub fn new(config: CcConfig) -> LinuxCubic {
        LinuxCubic { cubic: Cubic::new(config), update: LinuxUpdate::default() }
    }
}

impl CongestionControl for LinuxCubic {
    fn name(&self) -> &'static str {
        "cubic"
    }

    fn on_ack(&mut self, ack: &AckSample) {
        if let Some(rtt) = ack.rtt {
            self.update.on_rtt(ack.now, rtt);
        }
        self.cubic.on_ack_with(ack, Some(&mut self.update));
    }

    fn on_congestion_event(&mut self, now: Instant, bytes_in_flight: u32) {
        let last_max = self.cubic.linux_last_max(self.update.last_max());
        self.cubic.on_congestion_event(now, bytes_in_flight);
        self.update.on_reduction(last_max);
    }

    fn on_rto(&mut self, now: Instant, bytes_in_flight: u32) {
        self.cubic.on_rto(now, bytes_in_flight);
        self.update.on_loss_state();
    }

    fn on_idle_restart(&mut self, now: Instant, idle: Duration, rto: Duration) {
        self.cubic.on_idle_restart(now, idle, rto);
        self.update.on_restart();
    }

    fn set_mss(&mut self, mss: u32) {
        self.cubic.set_mss(mss);
    }

    fn cwnd(&self) -> u32 {
        self.cubic.cwnd()
    }

    fn ssthresh(&self) -> u32 {
        self.cubic.ssthresh()
    }

    fn hystart_phase(&self) -> Option<HyStartPhase> {
        self.cubic.hystart_phase()
    }
}

/// Linux's `bic_scale` (41) times 10: C = 0.4 in its fixed point.
const CUBE_RTT_SCALE: u64 = 410;
/// `beta_scale` for beta 717/1024: `8 * (1024 + 717) / 3 / (1024 - 717)`.
const BETA_SCALE: u32 = 15;
/// Milliseconds between recomputations of `cnt` at an unchanged cwnd (`HZ / 32`).
const UPDATE_GAP_MS: u32 = 1000 / 32;
/// Most segments per increase before any loss is remembered (5% a round).
const FIRST_GROWTH_CNT: u32 = 20;

/// The per-connection state of the update (Linux's `struct bictcp` fields it uses, and
/// `snd_cwnd_cnt`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct LinuxUpdate {
    /// Acknowledged segments per one-segment increase.
    cnt: u32,
    /// Acknowledged segments towards the next increase (`snd_cwnd_cnt`).
    cwnd_cnt: u32,
    /// Acknowledged segments towards the Reno-friendly window's next segment.
    ack_cnt: u32,
    /// The Reno-friendly window in segments.
    reno_cwnd: u32,
    /// cwnd when `cnt` was last computed.
    last_cwnd: u32,
    /// When `cnt` was last computed (milliseconds).
    last_time: u32,
    /// Start of the epoch (milliseconds), `None` until the first ACK in avoidance.
    epoch_start: Option<u32>,
    /// The window the cubic curve is centred on (segments).
    origin: u32,
    /// K in 1/1024 s.
    k: u32,
    /// Smallest RTT since the last reset, microseconds (0: none).
    delay_min: u32,
    /// The window before the last reduction (segments; 0: forgotten).
    last_max: u32,
}

fn millis(t: Instant) -> u32 {
    t.as_millis() as u32
}

impl LinuxUpdate {
    /// A reduction sets the last maximum (computed by the caller, fast convergence included)
    /// and starts a new epoch at the next ACK; the increase count restarts
    /// (`tcp_init_cwnd_reduction` clears `snd_cwnd_cnt`).
    pub(crate) fn on_reduction(&mut self, last_max: u32) {
        self.last_max = last_max;
        self.epoch_start = None;
        self.cwnd_cnt = 0;
    }

    /// An RTO: entering the Loss state clears everything, the last maximum and the smallest
    /// RTT included (`bictcp_reset` from `cubictcp_state`).
    pub(crate) fn on_loss_state(&mut self) {
        *self = LinuxUpdate::default();
    }

    /// Idle restart: a new epoch from the next ACK.
    pub(crate) fn on_restart(&mut self) {
        self.epoch_start = None;
        self.cwnd_cnt = 0;
    }

    /// The last maximum (segments).
    pub(crate) fn last_max(&self) -> u32 {
        self.last_max
    }

    /// An RTT sample (`cubictcp_acked`): samples in the first second of an epoch are left
    /// out (they may still carry the queue of the recovery just ended).
    pub(crate) fn on_rtt(&mut self, now: Instant, rtt: Duration) {
        if let Some(start) = self.epoch_start
            && millis(now).wrapping_sub(start) < 1000
        {
            return;
        }
        let us = u32::try_from(rtt.as_micros()).unwrap_or(u32::MAX).max(1);
        if self.delay_min == 0 || self.delay_min > us {
            self.delay_min = us;
        }
    }

    /// `acked` segments acknowledged in congestion avoidance at window `cwnd` (segments):
    /// the new window.
    pub(crate) fn on_ack(&mut self, now: Instant, cwnd: u32, acked: u32) -> u32 {
        let cwnd = cwnd.max(1);
        self.update(millis(now), cwnd, acked);
        self.grow(cwnd, acked)
    }

    /// `bictcp_update`: the count of acknowledged segments per increase.
    fn update(&mut self, now: u32, cwnd: u32, acked: u32) {
        self.ack_cnt = self.ack_cnt.saturating_add(acked);
        if self.last_cwnd == cwnd && now.wrapping_sub(self.last_time) <= UPDATE_GAP_MS {
            return;
        }
        // Once per millisecond at most, except the Reno-friendly part.
        if !(self.epoch_start.is_some() && now == self.last_time) {
            self.last_cwnd = cwnd;
            self.last_time = now;
            let start = match self.epoch_start {
                Some(s) => s,
                None => {
                    self.epoch_start = Some(now);
                    self.ack_cnt = acked;
                    self.reno_cwnd = cwnd;
                    if self.last_max <= cwnd {
                        self.k = 0;
                        self.origin = cwnd;
                    } else {
                        // K = cbrt((W_max - cwnd) / C) in 1/1024 s.
                        let d = f64::from(self.last_max - cwnd);
                        let factor = (1u64 << 40) as f64 / CUBE_RTT_SCALE as f64;
                        self.k = super::cubic::cbrt(factor * d) as u32;
                        self.origin = self.last_max;
                    }
                    now
                }
            };
            let t_us = u64::from(now.wrapping_sub(start)) * 1000 + u64::from(self.delay_min);
            let t = (t_us << 10) / 1_000_000;
            let k = u64::from(self.k);
            let offs = t.abs_diff(k).min(1 << 21);
            let delta = ((CUBE_RTT_SCALE * offs * offs * offs) >> 40) as u32;
            let target = if t < k {
                self.origin.saturating_sub(delta)
            } else {
                self.origin.saturating_add(delta)
            };
            self.cnt = if target > cwnd { cwnd / (target - cwnd) } else { 100 * cwnd };
            if self.last_max == 0 && self.cnt > FIRST_GROWTH_CNT {
                self.cnt = FIRST_GROWTH_CNT;
            }
        }
        // The Reno-friendly window.
        let per_segment = (cwnd * BETA_SCALE) >> 3;
        if per_segment > 0 && self.ack_cnt > per_segment {
            let n = (self.ack_cnt - 1) / per_segment;
            self.ack_cnt -= n * per_segment;
            self.reno_cwnd = self.reno_cwnd.saturating_add(n);
        }
        if self.reno_cwnd > cwnd {
            self.cnt = self.cnt.min(cwnd / (self.reno_cwnd - cwnd));
        }
        self.cnt = self.cnt.max(2);
    }

    /// `tcp_cong_avoid_ai`: one segment per `cnt` acknowledged, credits carried over.
    fn grow(&mut self, cwnd: u32, acked: u32) -> u32 {
        let w = self.cnt.max(1);
        let mut cwnd = cwnd;
        if self.cwnd_cnt >= w {
            self.cwnd_cnt = 0;
            cwnd += 1;
        }
        self.cwnd_cnt = self.cwnd_cnt.saturating_add(acked);
        if self.cwnd_cnt >= w {
            let d = self.cwnd_cnt / w;
            self.cwnd_cnt -= d * w;
            cwnd = cwnd.saturating_add(d);
        }
        cwnd
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    #[test]
    fn after_an_rto_one_segment_per_20_then_reno_friendly() {
        // cwnd 7 after an RTO (nothing remembered), RTT 100 ms: ACKs of one segment each.
        let mut u = LinuxUpdate::default();
        u.on_loss_state();
        u.on_rtt(at(1_000), Duration::from_millis(100));
        let mut cwnd = 7;
        // Within 1/32 s of the last computation the count (20) stands; the Reno-friendly
        // window (one segment per 13 acknowledged) lowers it only when recomputed.
        let times = [1106, 1204, 1206, 1208, 1210, 1212, 1214, 1216, 1314, 1317, 1319, 1321];
        for t in times.iter().chain(&[1323, 1325, 1327]) {
            cwnd = u.on_ack(at(*t), cwnd, 1);
            assert_eq!(cwnd, 7, "at {t} ms");
        }
        // 111 ms later: recomputed, the Reno window is 8, cnt 7; 15 segments banked.
        assert_eq!(u.on_ack(at(1425), cwnd, 1), 8);
    }

    #[test]
    fn a_changed_window_recomputes_at_once() {
        let mut u = LinuxUpdate::default();
        u.on_rtt(at(0), Duration::from_millis(10));
        let mut cwnd = 10;
        cwnd = u.on_ack(at(1), cwnd, 1);
        let cnt = u.cnt;
        assert_eq!(cnt, FIRST_GROWTH_CNT);
        // Same window 5 ms later: no recomputation.
        let before = u;
        cwnd = u.on_ack(at(6), cwnd, 1);
        assert_eq!((u.last_time, u.cnt), (before.last_time, before.cnt));
        // A different window: recomputed in the same tick window.
        u.on_ack(at(7), cwnd + 1, 1);
        assert_eq!(u.last_time, 7);
    }

    #[test]
    fn below_the_last_maximum_the_curve_rises_to_it() {
        // Loss at 100 segments, now 70: K = cbrt(30 / 0.4) s, about 4.2 s (4304/1024).
        let mut u = LinuxUpdate::default();
        u.on_reduction(100);
        u.on_rtt(at(0), Duration::from_millis(50));
        let mut cwnd = 70;
        let mut t = 2_000;
        while t < 4_200 {
            let round = cwnd;
            for _ in 0..round {
                cwnd = u.on_ack(at(t), cwnd, 1);
            }
            t += 50;
        }
        assert_eq!(u.k, 4316);
        // Concave: 2.2 s into the epoch (looking one RTT ahead), W = 100 - 0.4 * 2^3, about
        // 96.8 segments.
        assert!((95..=98).contains(&cwnd), "cwnd {cwnd}");
    }
}
