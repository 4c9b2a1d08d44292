//! Pacing: spreading a window's segments over the round trip instead of sending them in one
//! burst.
//!
//! A paced connection has a rate (bytes per second) and gives every packet it sends an
//! earliest departure time: the next packet may leave `len / rate` after the previous one
//! (never earlier than now, so idle time earns no burst; a late packet's gap is cut by its
//! lateness, at most by half, see [`DepartureClock`]). The connection keeps that instant as a
//! timer ([`crate::endpoint::Endpoint::poll_timeout`] reports it), so a sender held back by
//! pacing is woken exactly when it may send, on the virtual clock like every other timer.
//!
//! The rate comes from the congestion controller when it has one (BBR paces at the rate its
//! model says), else from the window as Linux computes it for CUBIC and Reno under the `fq`
//! qdisc: `ratio * max(cwnd, in flight) / SRTT` with ratio 200% in slow start (while cwnd is
//! below half of ssthresh) and 120% after, so pacing never holds a window-based sender below
//! what its window allows. `SO_MAX_PACING_RATE` caps either.
//!
//! ```
//! use synack_tcp::pacing::{DepartureClock, window_rate};
//! use synack_tcp::{Duration, Instant};
//! // 14,600 bytes of cwnd, slow start, 10 ms SRTT: 200% of 1.46 MB/s.
//! let rate = window_rate(14_600, 0, u32::MAX, Duration::from_millis(10)).unwrap();
//! assert_eq!(rate, 2_920_000);
//! // A 1,460-byte segment then occupies 500 us.
//! let t = Instant::from_millis(1);
//! let mut clock = DepartureClock::default();
//! assert_eq!(clock.on_send(t, 1460, 1, rate, 0), t + Duration::from_micros(500));
//! ```

use crate::time::{Duration, Instant};

/// Linux's `tcp_pacing_ss_ratio`: the pacing rate in slow start is this per cent of
/// cwnd / SRTT.
pub const SLOW_START_RATIO: u64 = 200;

/// Linux's `tcp_pacing_ca_ratio`: the pacing rate after slow start, per cent of cwnd / SRTT.
pub const AVOIDANCE_RATIO: u64 = 120;

/// The pacing rate of a window-based controller in bytes per second: cwnd (or the flight, if
/// larger) per SRTT, times [`SLOW_START_RATIO`] while cwnd is below half of ssthresh, else
/// [`AVOIDANCE_RATIO`]. `None` without an RTT (nothing to pace against: not paced).
pub fn window_rate(cwnd: u32, in_flight: u32, ssthresh: u32, srtt: Duration) -> Option<u64> {
    let us = u64::try_from(srtt.as_micros()).ok().filter(|&us| us > 0)?;
    //~ linux: tcp_update_pacing_rate: ss_ratio while cwnd < ssthresh / 2, ca_ratio after.
    let ratio = if cwnd < ssthresh / 2 { SLOW_START_RATIO } else { AVOIDANCE_RATIO };
    let window = u64::from(cwnd.max(in_flight));
    let rate = u128::from(window) * u128::from(ratio) * 10_000 / u128::from(us);
    Some(u64::try_from(rate).unwrap_or(u64::MAX).max(1))
}

/// A paced connection's departure clock (Linux's `tcp_wstamp_ns`): when the next packet may
/// leave. Each packet (a TSO/GSO packet under `PushPolicy::LinuxGso`, else a segment)
/// moves it `len / rate` on from its own departure, which is never before now; a packet that
/// leaves late (its stamp had passed: the sender was idle or held back) has that gap cut by
/// the lateness, at most by half (`tcp_update_skb_after_send`'s allowance for jitter). The
/// first data segments may go unpaced (`ConnConfig::pacing_free_segments`).
///
/// [`PushPolicy::LinuxGso`]: crate::PushPolicy::LinuxGso
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DepartureClock {
    /// The last packet's departure plus its gap (`None` before the first packet).
    stamp: Option<Instant>,
    /// Data segments sent so far (Linux's `data_segs_out`), saturating.
    segs: u32,
}

impl DepartureClock {
    /// A packet of `len` bytes in `segs` segments leaves at `now` with pacing at `rate`;
    /// returns when the next one may leave. The gap applies once `free` segments have gone
    /// (this packet's included).
    pub fn on_send(&mut self, now: Instant, len: u32, segs: u32, rate: u64, free: u32) -> Instant {
        let prior = self.stamp.unwrap_or(now);
        let stamp = prior.max(now);
        self.segs = self.segs.saturating_add(segs);
        let next = if self.segs >= free {
            let gap = spacing(len, rate);
            let late = stamp.saturating_since(prior);
            stamp + (gap - (gap / 2).min(late))
        } else {
            stamp
        };
        self.stamp = Some(next);
        next
    }
}

/// `rate` limited by `max` (`SO_MAX_PACING_RATE`), when either is set.
pub fn capped(rate: Option<u64>, max: Option<u64>) -> Option<u64> {
    match (rate, max) {
        (Some(r), Some(m)) => Some(r.min(m)),
        (r, m) => r.or(m),
    }
}

/// How long `len` bytes occupy the path at `rate` bytes per second (rounded up to the
/// microsecond; zero rate counts as one byte per second).
pub fn spacing(len: u32, rate: u64) -> Duration {
    let us = (u128::from(len) * 1_000_000).div_ceil(u128::from(rate.max(1)));
    Duration::from_micros(u64::try_from(us).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_ratios() {
        let srtt = Duration::from_millis(100);
        // cwnd 10 segments of 1000 bytes over 100 ms = 100 kB/s.
        assert_eq!(window_rate(10_000, 0, u32::MAX, srtt), Some(200_000));
        // At or above half of ssthresh: 120%.
        assert_eq!(window_rate(10_000, 0, 20_000, srtt), Some(120_000));
        assert_eq!(window_rate(10_000, 0, 19_999, srtt), Some(120_000));
        assert_eq!(window_rate(10_000, 0, 20_002, srtt), Some(200_000));
        // The flight counts when larger (after a reduction).
        assert_eq!(window_rate(5_000, 10_000, 0, srtt), Some(120_000));
        assert_eq!(window_rate(10_000, 0, 0, Duration::ZERO), None);
    }

    #[test]
    fn the_clock_frees_the_first_segments_and_forgives_half_a_late_gap() {
        let t = Instant::from_millis(100);
        let mut c = DepartureClock::default();
        // 1 MB/s, 2000-byte packets of 2 segments, the first 10 segments free.
        for _ in 0..4 {
            assert_eq!(c.on_send(t, 2_000, 2, 1_000_000, 10), t);
        }
        // The fifth packet reaches 10 segments: it is spaced.
        let d = c.on_send(t, 2_000, 2, 1_000_000, 10);
        assert_eq!(d, t + Duration::from_millis(2));
        // On time: the full gap.
        assert_eq!(c.on_send(d, 2_000, 2, 1_000_000, 10), d + Duration::from_millis(2));
        // 1 ms late: the gap shrinks by 1 ms; 10 ms late: by half at most.
        let late = d + Duration::from_millis(3);
        assert_eq!(c.on_send(late, 2_000, 2, 1_000_000, 10), late + Duration::from_millis(1));
        let later = late + Duration::from_millis(11);
        assert_eq!(c.on_send(later, 2_000, 2, 1_000_000, 10), later + Duration::from_millis(1));
        // Nothing free: the first packet is spaced from now.
        let mut c = DepartureClock::default();
        assert_eq!(c.on_send(t, 1_000, 1, 1_000_000, 0), t + Duration::from_millis(1));
    }

    #[test]
    fn departures_are_spaced_and_never_earn_bursts() {
        let t = Instant::from_millis(10);
        assert_eq!(spacing(1000, 1_000_000), Duration::from_millis(1));
        assert_eq!(spacing(1, 3), Duration::from_micros(333_334));
        // Back to back: each departure 1 ms after the previous one's.
        let mut c = DepartureClock::default();
        let d1 = c.on_send(t, 1000, 1, 1_000_000, 0);
        let d2 = c.on_send(d1, 1000, 1, 1_000_000, 0);
        assert_eq!(d2, t + Duration::from_millis(2));
        // Leaving late (at 50 ms, due at 12 ms): spaced from now, by half the gap at least.
        let late = Instant::from_millis(50);
        assert_eq!(c.on_send(late, 1000, 1, 1_000_000, 0), late + Duration::from_micros(500));
        assert_eq!(capped(Some(5), Some(3)), Some(3));
        assert_eq!(capped(None, Some(3)), Some(3));
        assert_eq!(capped(Some(5), None), Some(5));
    }
}
