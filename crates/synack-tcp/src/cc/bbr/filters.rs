//! BBR's two path estimates: the windowed maximum delivery rate and the windowed minimum RTT.

use crate::time::{Duration, Instant};

/// The maximum delivery rate over the last two bandwidth-probing cycles (draft-ietf-ccwg-bbr
/// `BBR.max_bw`, Linux BBRv3's `bw_hi[2]`): samples go into the current cycle's slot; each
/// new cycle ages the current slot into the previous one, so a rate not seen again for two
/// cycles is forgotten.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct MaxBwFilter {
    /// `[previous cycle, current cycle]`, bytes per second.
    slots: [u64; 2],
}

impl MaxBwFilter {
    /// The filter's maximum.
    pub(crate) fn get(&self) -> u64 {
        self.slots[0].max(self.slots[1])
    }

    /// A delivery-rate sample for the current cycle.
    pub(crate) fn update(&mut self, rate: u64) {
        self.slots[1] = self.slots[1].max(rate);
    }

    /// A new probing cycle begins. A cycle without samples does not age the filter.
    pub(crate) fn advance(&mut self) {
        if self.slots[1] == 0 {
            return;
        }
        self.slots[0] = self.slots[1];
        self.slots[1] = 0;
    }
}

/// A minimum RTT over a time window (`BBR.min_rtt` over 10 s, `BBR.probe_rtt_min_delay` over
/// 5 s): a sample at or below the minimum, or any sample once the minimum is older than the
/// window, replaces it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MinRttFilter {
    pub(crate) rtt: Option<Duration>,
    pub(crate) stamp: Instant,
    window: Duration,
}

impl MinRttFilter {
    pub(crate) fn new(window: Duration) -> MinRttFilter {
        MinRttFilter { rtt: None, stamp: Instant::ZERO, window }
    }

    /// The minimum is older than the window at `now`.
    pub(crate) fn expired(&self, now: Instant) -> bool {
        now.saturating_since(self.stamp) > self.window
    }

    /// Takes `rtt` measured at `now` if it is a new minimum or the old one expired. Returns
    /// whether it was taken.
    pub(crate) fn update(&mut self, now: Instant, rtt: Duration) -> bool {
        if self.rtt.is_none_or(|m| rtt <= m) || self.expired(now) {
            self.rtt = Some(rtt);
            self.stamp = now;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_bw_forgets_after_two_cycles() {
        let mut f = MaxBwFilter::default();
        f.update(100);
        f.update(80);
        assert_eq!(f.get(), 100);
        f.advance();
        f.update(50);
        assert_eq!(f.get(), 100, "the previous cycle still counts");
        f.advance();
        assert_eq!(f.get(), 50, "two cycles on, 100 is gone");
        f.advance();
        assert_eq!(f.get(), 50, "an empty cycle ages nothing");
    }

    #[test]
    fn min_rtt_expires() {
        let mut f = MinRttFilter::new(Duration::from_secs(10));
        let t = Instant::from_secs;
        assert!(f.update(t(1), Duration::from_millis(50)));
        assert!(!f.update(t(2), Duration::from_millis(60)));
        assert!(f.update(t(3), Duration::from_millis(40)));
        assert!(!f.expired(t(13)));
        assert!(f.expired(t(14)));
        assert!(f.update(t(14), Duration::from_millis(60)), "expired: any sample");
        assert_eq!(f.rtt, Some(Duration::from_millis(60)));
    }
}
