//! A connection's timers: one deadline per kind in a table indexed by [`Timer`].

use crate::time::Instant;

/// The kinds of timer a connection runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Timer {
    /// Retransmission (RFC 6298).
    Rtx,
    /// Persist: zero-window probe or sender SWS override (RFC 9293 3.8.6.1).
    Persist,
    /// Delayed ACK (RFC 9293 3.8.6.3).
    DelayedAck,
    /// Keep-alive (RFC 9293 3.8.4).
    KeepAlive,
    /// TIME-WAIT's 2*MSL, or the FIN-WAIT-2 timeout.
    Close,
    /// User timeout (RFC 9293 3.10.8).
    User,
    /// RACK's reordering timer (RFC 8985 6.2).
    Reorder,
    /// Tail loss probe timer (RFC 8985 7.2).
    Tlp,
}

impl Timer {
    const COUNT: usize = 8;
}

/// One deadline per [`Timer`]; `None` is disarmed.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TimerTable([Option<Instant>; Timer::COUNT]);

impl TimerTable {
    /// The deadline of `timer`, if armed.
    #[inline]
    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        self.0[timer as usize]
    }

    /// Arms `timer` at `at`, or disarms it with `None`.
    #[inline]
    pub(crate) fn set(&mut self, timer: Timer, at: Option<Instant>) {
        self.0[timer as usize] = at;
    }

    /// True when `timer` is armed.
    #[inline]
    pub(crate) fn is_armed(&self, timer: Timer) -> bool {
        self.0[timer as usize].is_some()
    }

    /// Arms only `timer`, at `at`, and disarms the others.
    pub(crate) fn only(timer: Timer, at: Instant) -> TimerTable {
        let mut t = TimerTable::default();
        t.set(timer, Some(at));
        t
    }

    /// The earliest armed deadline. Runs twice per segment (after input and after output);
    /// it reads the table in place.
    #[inline]
    pub(crate) fn next(&self) -> Option<Instant> {
        self.0.iter().flatten().min().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_the_earliest_armed_deadline() {
        let mut t = TimerTable::default();
        assert_eq!(t.next(), None);
        t.set(Timer::Tlp, Some(Instant::from_secs(5)));
        t.set(Timer::Rtx, Some(Instant::from_secs(3)));
        t.set(Timer::Close, Some(Instant::from_secs(4)));
        assert_eq!(t.next(), Some(Instant::from_secs(3)));
        t.set(Timer::Rtx, None);
        assert!(!t.is_armed(Timer::Rtx));
        assert_eq!(t.next(), Some(Instant::from_secs(4)));
        let only = TimerTable::only(Timer::Close, Instant::from_secs(9));
        assert_eq!(only.next(), Some(Instant::from_secs(9)));
        assert_eq!(only.get(Timer::Tlp), None);
    }
}
