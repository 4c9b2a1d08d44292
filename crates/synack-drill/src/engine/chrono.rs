//! Linux's send-side chronographs (`tcpi_busy_time`, `tcpi_rwnd_limited`,
//! `tcpi_sndbuf_limited`): how long a socket had data to send, and how much of that time the
//! peer's receive window, or the send buffer, held it back.
//!
//! The state that decides which clock runs only changes at the runner's events (a segment
//! delivered or sent, a timer, a socket call), so the adapter samples every connection after
//! each event and charges the time since the previous sample to the clock that was running.

use synack_tcp::ConnStats;

//~ linux: tcp_chrono_start/tcp_chrono_stop keep one running clock, the highest-priority
//~ condition: BUSY while the write or retransmission queue holds data (started when the
//~ write queue gets its first buffer, stopped when both queues are empty), RWND_LIMITED while
//~ tcp_write_xmit stops on tcp_snd_wnd_test (the head's first MSS does not fit in
//~ SND.UNA + SND.WND) rather than on the congestion window; tcp_get_info reports each
//~ clock's total and their sum as tcpi_busy_time, all in microseconds. SNDBUF_LIMITED
//~ (between the two in priority) starts when a transmission leaves nothing unsent without
//~ filling the congestion window while a writer waits for room (tcp_cwnd_validate: the
//~ write queue empty, SOCK_NOSPACE set), and stops when tcp_check_space finds room again.

/// Which clock runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ChronoKind {
    /// Data queued or in flight.
    Busy,
    /// Unsent data held back by the peer's receive window.
    RwndLimited,
    /// Everything queued sent, the congestion window not full, and a writer waiting for
    /// send-buffer room.
    SndbufLimited,
}

/// A socket's clocks, in microseconds of virtual time.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Chrono {
    running: Option<(ChronoKind, u64)>,
    busy: u64,
    rwnd: u64,
    sndbuf: u64,
    /// The send-buffer-limited condition started and has not stopped.
    sndbuf_limited: bool,
}

impl Chrono {
    /// Charges the time up to `now` to the running clock and starts `kind` (none: stopped).
    pub(super) fn set(&mut self, now: u64, kind: Option<ChronoKind>) {
        if self.running.map(|(k, _)| k) == kind {
            return;
        }
        self.charge(now);
        self.running = kind.map(|k| (k, now));
    }

    fn charge(&mut self, now: u64) {
        if let Some((k, since)) = self.running {
            let d = now.saturating_sub(since);
            match k {
                ChronoKind::Busy => self.busy += d,
                ChronoKind::RwndLimited => self.rwnd += d,
                ChronoKind::SndbufLimited => self.sndbuf += d,
            }
            self.running = Some((k, now));
        }
    }

    /// `(tcpi_busy_time, tcpi_rwnd_limited, tcpi_sndbuf_limited)` at `now`, the running
    /// clock included.
    pub(super) fn report(&self, now: u64) -> (u64, u64, u64) {
        let mut c = *self;
        c.charge(now);
        (c.busy + c.rwnd + c.sndbuf, c.rwnd, c.sndbuf)
    }

    /// The clock a connection's send side calls for, from its statistics and whether a writer
    /// waits for send-buffer room (`waiting`); remembers a send-buffer-limited stretch until
    /// the writer has room again or nothing is queued.
    pub(super) fn kind(&mut self, st: &ConnStats, waiting: bool) -> Option<ChronoKind> {
        let in_flight = st.snd_nxt.0.wrapping_sub(st.snd_una.0);
        let base = kind_of(st.send_queue as u64, in_flight, st.snd_wnd, st.snd_mss, st.cwnd);
        let all_sent = st.notsent_bytes == 0;
        let cwnd_full = st.cwnd.is_some_and(|c| in_flight >= c);
        if base.is_none() || !waiting {
            self.sndbuf_limited = false;
        } else if all_sent && !cwnd_full {
            self.sndbuf_limited = true;
        }
        match base {
            Some(ChronoKind::Busy) if self.sndbuf_limited => Some(ChronoKind::SndbufLimited),
            k => k,
        }
    }
}

/// [`chrono_kind`] over `queue` bytes queued (sent or not), `in_flight` of them sent, the
/// peer's window `wnd` from SND.UNA, the MSS and the congestion window.
fn kind_of(
    queue: u64,
    in_flight: u32,
    wnd: u32,
    mss: u32,
    cwnd: Option<u32>,
) -> Option<ChronoKind> {
    if queue == 0 {
        return None;
    }
    let unsent = queue.saturating_sub(u64::from(in_flight));
    let mss = u64::from(mss.max(1));
    let cwnd_full = cwnd.is_some_and(|c| in_flight >= c);
    let head_end = u64::from(in_flight) + unsent.min(mss);
    if unsent > 0 && !cwnd_full && head_end > u64::from(wnd) {
        Some(ChronoKind::RwndLimited)
    } else {
        Some(ChronoKind::Busy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_charge_the_running_condition() {
        let mut c = Chrono::default();
        c.set(10, Some(ChronoKind::Busy));
        c.set(10, Some(ChronoKind::RwndLimited));
        assert_eq!(c.report(110), (100, 100, 0));
        c.set(210, Some(ChronoKind::Busy));
        c.set(240, None);
        assert_eq!(c.report(1_000), (230, 200, 0));
        c.set(1_000, Some(ChronoKind::RwndLimited));
        c.set(1_100, Some(ChronoKind::Busy));
        assert_eq!(c.report(1_120), (350, 300, 0));
        c.set(1_120, Some(ChronoKind::SndbufLimited));
        c.set(1_140, Some(ChronoKind::Busy));
        assert_eq!(c.report(1_150), (380, 300, 20));
    }

    fn kind(queue: u64, in_flight: u32, wnd: u32, cwnd: u32) -> Option<ChronoKind> {
        kind_of(queue, in_flight, wnd, 1000, Some(cwnd))
    }

    #[test]
    fn window_limited_only_when_the_head_does_not_fit() {
        assert_eq!(kind(0, 0, 0, 10_000), None);
        assert_eq!(kind(1000, 0, 0, 10_000), Some(ChronoKind::RwndLimited));
        assert_eq!(kind(1000, 0, 10, 10_000), Some(ChronoKind::RwndLimited));
        assert_eq!(kind(1000, 0, 2000, 10_000), Some(ChronoKind::Busy));
        // All of it in flight: nothing waits on the window.
        assert_eq!(kind(1000, 1000, 1000, 10_000), Some(ChronoKind::Busy));
        // The congestion window stops the sender first.
        assert_eq!(kind(3000, 2000, 2000, 2000), Some(ChronoKind::Busy));
    }
}
