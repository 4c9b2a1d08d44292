//! The real clock: the one place in synack that reads it.
//!
//! The engine and the interface run on [`Instant`]s, microseconds since an origin. A
//! [`Clock`] fixes the origin at its creation; stacks that exchange frames through an in-memory
//! link share one clock so their instants agree.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use synack_tcp::time::Instant;

/// Reads the monotonic clock.
#[allow(clippy::disallowed_methods)] // the runtime's single read of the real clock
fn monotonic() -> std::time::Instant {
    std::time::Instant::now()
}

/// Reads the wall clock (for capture timestamps only).
#[allow(clippy::disallowed_methods)] // the runtime's single read of the wall clock
fn wall() -> SystemTime {
    SystemTime::now()
}

/// Real time as [`Instant`]s since the clock started.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin: std::time::Instant,
    wall_origin: Duration,
}

impl Clock {
    /// A clock whose origin is now.
    pub fn start() -> Clock {
        Clock {
            origin: monotonic(),
            wall_origin: wall().duration_since(UNIX_EPOCH).unwrap_or_default(),
        }
    }

    /// Microseconds since the origin.
    pub fn now(&self) -> Instant {
        let d = monotonic().saturating_duration_since(self.origin);
        Instant::from_micros(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
    }

    /// Wall-clock time (since the Unix epoch) of the origin, for pcap timestamps.
    pub fn wall_origin(&self) -> Duration {
        self.wall_origin
    }
}
