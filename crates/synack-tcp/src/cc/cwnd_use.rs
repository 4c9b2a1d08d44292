//! Whether the sender actually used its congestion window (RFC 7661's "validated" window; the
//! rule Linux applies as `tcp_is_cwnd_limited`).
//!
//! An ACK is evidence that the path carried the flight that was sent, not the window that was
//! allowed. A sender whose application writes less than cwnd allows would otherwise grow cwnd
//! on every ACK without ever testing the path at that size, and later dump a burst the path
//! never carried. So growth is earned only when the window was the limit:
//!
//! * in congestion avoidance, when the flight filled cwnd at some point in the current window
//!   of data (or data waited because cwnd was full);
//! * in slow start, also while cwnd is below twice the largest flight sent in the current
//!   window, so slow start still doubles a flight that keeps pace with it.
//!
//! ```
//! use synack_tcp::cc::CwndUse;
//! use synack_wire::SeqNum;
//! let mut u = CwndUse::new();
//! // 5 of 10 segments' worth of window used: slow start does not grow past 2 * 5.
//! u.on_send(SeqNum(0), SeqNum(5000), 5000, false);
//! assert!(!u.is_cwnd_limited(10_000, true));
//! assert!(u.is_cwnd_limited(9_000, true));
//! ```

use synack_wire::SeqNum;

/// The largest flight of the current window and whether the window was full. See the
/// [module docs](self).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CwndUse {
    /// Largest FlightSize (bytes) seen in the current window of data.
    max_flight: u32,
    /// The window was full (or held data back) during the current window of data.
    limited: bool,
    /// SND.NXT when the current window of data started; it ends when SND.UNA reaches this.
    window_end: Option<SeqNum>,
}

impl CwndUse {
    /// Nothing sent yet: not cwnd-limited.
    pub const fn new() -> CwndUse {
        CwndUse { max_flight: 0, limited: false, window_end: None }
    }

    /// Data was sent (or was ready and cwnd held it back): SND.UNA is `una`, SND.NXT is now
    /// `snd_nxt`, `flight` bytes are outstanding, and `limited` says the window is full.
    pub fn on_send(&mut self, una: SeqNum, snd_nxt: SeqNum, flight: u32, limited: bool) {
        //= rfc7661#4.3
        //~ paraphrase: Track, per window of data, the largest flight and whether cwnd was the
        //~ limit; a new window (SND.UNA past the previous one's SND.NXT) starts the record afresh.
        let new_window = self.window_end.is_none_or(|e| una.ge(e));
        if new_window || limited || (!self.limited && flight > self.max_flight) {
            self.limited = limited;
            self.max_flight = flight;
            self.window_end = Some(snd_nxt);
        }
    }

    /// True when an ACK may grow a window of `cwnd` bytes (`slow_start`: cwnd < ssthresh).
    pub fn is_cwnd_limited(&self, cwnd: u32, slow_start: bool) -> bool {
        //= rfc7661#4.3
        //~ paraphrase: A window the flight did not fill is not increased; slow start may still grow
        //~ to twice the largest flight of the current window.
        self.limited || (slow_start && cwnd < self.max_flight.saturating_mul(2))
    }

    /// The largest flight (bytes) of the current window of data.
    pub fn max_flight(&self) -> u32 {
        self.max_flight
    }

    /// True when the window was full in the current window of data.
    pub fn limited(&self) -> bool {
        self.limited
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSS: u32 = 1000;

    #[test]
    fn slow_start_grows_to_twice_the_flight() {
        // Linux's slow-start-app-limited numbers: 9 segments out, cwnd grows to 18, not 19.
        let mut u = CwndUse::new();
        u.on_send(SeqNum(0), SeqNum(9 * MSS), 9 * MSS, false);
        assert!(u.is_cwnd_limited(17 * MSS, true));
        assert!(!u.is_cwnd_limited(18 * MSS, true));
        // Congestion avoidance never grows an unfilled window.
        assert!(!u.is_cwnd_limited(10 * MSS, false));
    }

    #[test]
    fn full_window_is_limited_until_a_new_window_starts() {
        let mut u = CwndUse::new();
        u.on_send(SeqNum(0), SeqNum(10 * MSS), 10 * MSS, true);
        assert!(u.is_cwnd_limited(10 * MSS, false));
        // Later sends in the same window that do not fill cwnd keep the record.
        u.on_send(SeqNum(5 * MSS), SeqNum(11 * MSS), 6 * MSS, false);
        assert!(u.limited());
        assert_eq!(u.max_flight(), 10 * MSS);
        // SND.UNA reached the end of that window: the next send starts a fresh record.
        u.on_send(SeqNum(10 * MSS), SeqNum(12 * MSS), 2 * MSS, false);
        assert!(!u.limited());
        assert_eq!(u.max_flight(), 2 * MSS);
        assert!(!u.is_cwnd_limited(10 * MSS, false));
        assert!(!u.is_cwnd_limited(4 * MSS, true));
        assert!(u.is_cwnd_limited(3 * MSS, true));
    }

    #[test]
    fn larger_flight_in_the_same_window_raises_the_mark() {
        let mut u = CwndUse::new();
        u.on_send(SeqNum(0), SeqNum(3 * MSS), 3 * MSS, false);
        u.on_send(SeqNum(0), SeqNum(7 * MSS), 7 * MSS, false);
        assert_eq!(u.max_flight(), 7 * MSS);
        // A smaller one does not lower it.
        u.on_send(SeqNum(6 * MSS), SeqNum(8 * MSS), 2 * MSS, false);
        assert_eq!(u.max_flight(), 7 * MSS);
    }

    #[test]
    fn nothing_sent_is_not_limited() {
        let u = CwndUse::new();
        assert!(!u.is_cwnd_limited(10 * MSS, true));
        assert!(!u.is_cwnd_limited(1, false));
    }

    #[test]
    fn sequence_wrap() {
        let base = SeqNum(u32::MAX - 2 * MSS);
        let mut u = CwndUse::new();
        u.on_send(base, base + 4 * MSS, 4 * MSS, true);
        u.on_send(base + MSS, base + 5 * MSS, 4 * MSS, false);
        assert!(u.limited(), "same window across the wrap");
        u.on_send(base + 4 * MSS, base + 5 * MSS, MSS, false);
        assert!(!u.limited(), "new window after the wrap");
    }
}
