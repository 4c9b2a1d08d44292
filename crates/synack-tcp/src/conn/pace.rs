//! The connection's pacing (`crate::pacing`): its rate, and the departure gate the output
//! path obeys, kept as the `Pace` timer so a held sender is polled again exactly when its
//! next segment may leave.

use super::{Conn, Timer};
use crate::pacing::{capped, next_departure, window_rate};
use crate::time::Instant;

impl Conn {
    /// The rate pacing would use now, in bytes per second: the controller's (BBR), else
    /// Linux's window rate, capped by `SO_MAX_PACING_RATE`; `None`: unlimited (no RTT yet
    /// and no cap). Reported as `tcpi_pacing_rate` whether pacing is on or not.
    pub(crate) fn pacing_rate_figure(&self) -> Option<u64> {
        let rate = self.rec.cc.pacing_rate().or_else(|| {
            let srtt = self.rtt.srtt()?;
            let flight = self.tcb.snd().map_or(0, |s| s.max_nxt.since(s.una));
            window_rate(self.rec.cc.cwnd(), flight, self.rec.cc.ssthresh(), srtt)
        });
        capped(rate, self.cfg.max_pacing_rate)
    }

    /// The rate this connection paces at, if it paces: always with a controller that sets
    /// its own rate (BBR), else when `ConnConfig::pacing` is on or a maximum rate is set.
    pub(crate) fn pacing_rate(&self) -> Option<u64> {
        let paced = self.cfg.pacing
            || self.cfg.max_pacing_rate.is_some()
            || self.rec.cc.pacing_rate().is_some();
        if paced { self.pacing_rate_figure() } else { None }
    }

    /// Pacing holds data back until the `Pace` timer fires.
    pub(crate) fn pacing_holds(&self, now: Instant) -> bool {
        self.t.get(Timer::Pace).is_some_and(|at| at > now)
    }

    /// A data segment of `len` bytes left at `now`: the next may leave `len / rate` later.
    pub(crate) fn on_paced_send(&mut self, now: Instant, len: u32) {
        if len == 0 {
            return;
        }
        if let Some(rate) = self.pacing_rate() {
            let at = next_departure(self.t.get(Timer::Pace), now, len, rate);
            self.t.set(Timer::Pace, (at > now).then_some(at));
        }
    }
}
