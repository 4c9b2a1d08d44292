//! Virtual time for the sans-IO engine.
//!
//! The engine never reads a clock: every input carries `now`, an [`Instant`] the caller made
//! (from a real clock in the runtime, from a counter in tests). Microsecond resolution is enough
//! for RTT samples on fast links and for the 4-microsecond ISN clock of RFC 9293 section 3.4.1.

use core::fmt;
use core::num::NonZeroU64;
use core::ops::{Add, AddAssign, Sub};
pub use core::time::Duration;

/// A point in time, in microseconds since an origin the caller chooses.
///
/// Stored as microseconds plus one in a `NonZeroU64`, so that `Option<Instant>` is 8 bytes
/// instead of 16: a connection keeps about a dozen optional deadlines and timestamps, and
/// idle per-connection memory is a goal. The price is one value: the largest
/// instant is `u64::MAX - 1` microseconds (about 584,000 years), and arithmetic saturates
/// there ([`Instant::FAR_FUTURE`]).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    /// Microseconds since the origin, plus one.
    repr: NonZeroU64,
}

impl Default for Instant {
    fn default() -> Instant {
        Instant::ZERO
    }
}

impl Instant {
    /// The origin.
    pub const ZERO: Instant = Instant { repr: NonZeroU64::MIN };
    /// Later than every instant the engine will see; used as "never". Also where arithmetic
    /// saturates: `u64::MAX - 1` microseconds.
    pub const FAR_FUTURE: Instant = Instant { repr: NonZeroU64::MAX };

    /// An instant `micros` microseconds after the origin (at most [`Instant::FAR_FUTURE`]).
    pub const fn from_micros(micros: u64) -> Instant {
        match NonZeroU64::new(micros.saturating_add(1)) {
            Some(repr) => Instant { repr },
            // Unreachable: `saturating_add(1)` is never zero.
            None => Instant::FAR_FUTURE,
        }
    }
    /// An instant `millis` milliseconds after the origin.
    pub const fn from_millis(millis: u64) -> Instant {
        Instant::from_micros(millis.saturating_mul(1000))
    }
    /// An instant `secs` seconds after the origin.
    pub const fn from_secs(secs: u64) -> Instant {
        Instant::from_micros(secs.saturating_mul(1_000_000))
    }
    /// Microseconds since the origin.
    pub const fn as_micros(self) -> u64 {
        self.repr.get() - 1
    }
    /// Milliseconds since the origin.
    pub const fn as_millis(self) -> u64 {
        self.as_micros() / 1000
    }
    /// Time from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Instant) -> Duration {
        Duration::from_micros(self.repr.get().saturating_sub(earlier.repr.get()))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        let add = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        Instant::from_micros(self.as_micros().saturating_add(add))
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, d: Duration) -> Instant {
        let sub = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        Instant::from_micros(self.as_micros().saturating_sub(sub))
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    /// Saturating difference: zero when `rhs` is later.
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_since(rhs)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let micros = self.as_micros();
        write!(f, "{}.{:06}s", micros / 1_000_000, micros % 1_000_000)
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;

    #[test]
    fn arithmetic_saturates() {
        let t = Instant::from_millis(5);
        assert_eq!(t + Duration::from_millis(5), Instant::from_millis(10));
        assert_eq!(Instant::ZERO - t, Duration::ZERO);
        assert_eq!(t - Instant::ZERO, Duration::from_millis(5));
        assert_eq!(Instant::FAR_FUTURE + Duration::from_secs(1), Instant::FAR_FUTURE);
        assert_eq!(format!("{t:?}"), "0.005000s");
        assert_eq!(Instant::default(), Instant::ZERO);
        assert_eq!(Instant::ZERO.as_micros(), 0);
        assert_eq!(Instant::from_micros(u64::MAX), Instant::FAR_FUTURE);
        assert_eq!(Instant::FAR_FUTURE.as_micros(), u64::MAX - 1);
        assert!(Instant::from_micros(7) < Instant::from_micros(8));
    }

    #[test]
    fn optional_instant_is_one_word() {
        assert_eq!(core::mem::size_of::<Option<Instant>>(), 8);
    }
}
