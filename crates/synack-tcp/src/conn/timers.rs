//! A connection's timers: one deadline per kind in a table indexed by [`Timer`], armed after
//! every change (`refresh_timers`) and acted on when they fire (`on_timeout`).

use super::tx_fail::{RESOURCE_PROBE_INTERVAL, Refused};
use super::{Conn, Ctx, Due, OpenKind, Origin, Tcb};
use crate::error::ConnectionError;
use crate::event::SoftError;
use crate::state::State;
use crate::time::{Duration, Instant};

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
    /// Pacing: the earliest departure of the next data segment (`crate::pacing`).
    Pace,
}

impl Timer {
    const COUNT: usize = 9;
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
    /// it reads the table in place, as plain words (a disarmed timer counts as `u64::MAX`,
    /// later than any instant), so the minimum needs no branch per timer.
    #[inline]
    pub(crate) fn next(&self) -> Option<Instant> {
        let min =
            self.0.iter().fold(u64::MAX, |m, t| m.min(t.map_or(u64::MAX, Instant::as_micros)));
        (min != u64::MAX).then(|| Instant::from_micros(min))
    }
}

/// Longest the persist / SWS-override timer backs off to.
const MAX_PERSIST: Duration = Duration::from_secs(60);

impl Conn {
    /// Re-arms the timers that depend on the connection's whole situation (keep-alive, user
    /// timeout, persist). Called after every input, output and timeout.
    pub(crate) fn refresh_timers(&mut self, now: Instant) {
        let Some(snd) = self.tcb.snd() else {
            return;
        };
        let state = self.tcb.state();
        // What the timers below need of the send half, read once (this runs after every
        // input, output and timeout).
        let outstanding = snd.outstanding();
        let unsent = snd.nxt.lt(snd.final_seq());
        let syn_acked = snd.syn_acked();
        let in_flight = snd.max_nxt.since(snd.una);
        //= rfc9293#3.8.4
        //~ paraphrase: Keep-alive only when idle: nothing outstanding, nothing received for the
        //~ interval.
        let keepalive = match self.cfg.keep_alive {
            Some(k)
                if matches!(state, State::Established | State::CloseWait)
                    && !outstanding
                    && !unsent =>
            {
                Some(self.last_rx + k.idle + k.interval * u32::from(self.keepalive_probes))
            }
            _ => None,
        };
        self.t.set(Timer::KeepAlive, keepalive);
        //= rfc9293#3.10.8
        //~ paraphrase: User timeout: data unacknowledged for this long aborts the connection.
        if outstanding {
            // Data is in the network: its timers, not the retry timer's, run the connection.
            self.refused &= !Refused::PROBING;
        }
        let probing_refused = self.refused & Refused::PROBING != 0 && unsent;
        let user = match self.cfg.user_timeout {
            Some(u) if outstanding && state != State::SynSent => Some(self.una_since + u),
            //~ linux: while the device refuses the data, the user timeout counts from the
            //~ first retry (tcp_probe_timer's icsk_probes_tstamp).
            Some(u) if probing_refused => Some(self.una_since + u),
            _ => None,
        };
        let user = match self.open_deadline_in(state) {
            Some(d) => Some(user.map_or(d, |u| u.min(d))),
            None => user,
        };
        self.t.set(Timer::User, user);
        self.t.set(Timer::Reorder, self.rec.reorder_at);
        //= rfc8985#7.2
        //~ paraphrase: Arm the probe timer while data is outstanding outside recovery, fast or
        //~ RTO; a probe armed before recovery began is void (recovery repairs the tail itself).
        //~ linux: `tcp_schedule_loss_probe` needs the Open state, so no probe follows an RTO
        //~ until the data outstanding at the timeout is acknowledged.
        if self.rec.rack_on()
            && outstanding
            && state.is_synchronized()
            && !self.rec.in_recovery()
            && !self.rec.in_rto_recovery()
        {
            let rto_at = self.t.get(Timer::Rtx).unwrap_or(Instant::FAR_FUTURE);
            // Once the RTO is due no probe is armed: a probe that could not be sent at the
            // RTO's deadline leaves the RTO to fire (re-arming it would spin).
            if !self.t.is_armed(Timer::Tlp) && rto_at > now {
                let mss = self.eff_snd_mss().max(1);
                let flight_segs = in_flight.div_ceil(mss);
                let pto = self.rec.rack_mut().pto_deadline(
                    now,
                    self.rtt.srtt(),
                    flight_segs,
                    rto_at,
                    false,
                    true,
                );
                self.t.set(Timer::Tlp, pto);
            }
        } else {
            self.t.set(Timer::Tlp, None);
        }
        //= rfc9293#3.8.6.1
        //~ paraphrase: Persist: unsent data but nothing in flight (zero or too small a window) arms
        //~ the probe / SWS-override timer, first after one RTO, then backing off (SHLD-29/30).
        let stuck = unsent && !outstanding && syn_acked && state.is_synchronized();
        if stuck {
            if !self.t.is_armed(Timer::Persist) {
                // The RTO (with its backoff arithmetic) is read only here: this runs after
                // every segment, and the persist timer is rarely being armed.
                let rto = self.rtt.rto();
                let d = if self.refused & Refused::PROBING != 0 {
                    RESOURCE_PROBE_INTERVAL
                } else if self.refused & Refused::NOW != 0 {
                    rto
                } else {
                    rto.saturating_mul(1 << self.persist_backoff.min(10)).min(MAX_PERSIST)
                };
                self.t.set(Timer::Persist, Some(now + d));
            }
        } else {
            self.t.set(Timer::Persist, None);
            if !unsent {
                self.persist_backoff = 0;
            }
        }
    }

    /// The earliest timer deadline.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.t.next()
    }

    /// Runs every expired timer (a deleted TCB is reported through `ctx.deleted`).
    pub(crate) fn on_timeout(&mut self, ctx: &mut Ctx<'_>) {
        let now = ctx.now;
        // Timers may be stale after a burst of sends (the endpoint refreshes once per burst):
        // a keep-alive or persist deadline that no longer applies must not fire.
        self.refresh_timers(now);
        let due = |t: Option<Instant>| t.is_some_and(|t| t <= now);
        // A sending timer runs the retransmission queue again, after a refused retransmission
        // too (`tx_fail`).
        if [Timer::Rtx, Timer::Reorder, Timer::Tlp, Timer::Persist]
            .iter()
            .any(|&t| due(self.t.get(t)))
        {
            self.refused &= !Refused::RETRANSMIT;
        }
        if due(self.t.get(Timer::Close)) {
            self.t.set(Timer::Close, None);
            //= rfc9293#3.10.8
            //~ paraphrase: TIME-WAIT (2 MSL) and FIN-WAIT-2 (local policy) timeouts delete the TCB.
            self.finish(ctx);
            return;
        }
        if due(self.t.get(Timer::User)) {
            //= rfc9293#3.8.3
            //~ paraphrase: the application gave up on the open attempt (connect_timeout).
            if due(self.open_deadline()) {
                self.fail(ctx, ConnectionError::TimedOut);
                return;
            }
            //= rfc9293#3.10.8
            //~ paraphrase: USER TIMEOUT: "connection aborted due to user timeout", TCB deleted.
            self.fail(ctx, ConnectionError::UserTimeout);
            return;
        }
        //= rfc8985#7.2
        //~ paraphrase: a probe timer clamped to the RTO's deadline is the loss probe, not an RTO:
        //~ the probe goes out and the RTO is armed again from it.
        //~ linux: the probe and the RTO share one timer (`tcp_schedule_loss_probe` caps the
        //~ probe at the RTO's expiry and replaces it).
        let probe_first = match (self.t.get(Timer::Tlp), self.t.get(Timer::Rtx)) {
            (Some(p), Some(r)) => p <= now && p <= r && self.tail_probe_possible(),
            _ => false,
        };
        if probe_first {
            self.t.set(Timer::Rtx, Some(now + self.rtt.rto()));
        } else if due(self.t.get(Timer::Rtx)) && self.on_rto(ctx) {
            return;
        }
        if due(self.t.get(Timer::Persist)) {
            self.t.set(Timer::Persist, None);
            self.persist_backoff = self.persist_backoff.saturating_add(1);
            if self.refused & Refused::NOW != 0 {
                if self.refused & Refused::PROBING == 0 {
                    self.una_since = now;
                }
                self.refused = Refused::PROBING;
            }
            match self.tcb.snd() {
                Some(snd) if snd.wnd == 0 => self.due.set(Due::Probe),
                Some(_) => self.due.set(Due::Override),
                None => {}
            }
        }
        if due(self.t.get(Timer::Pace)) {
            // The next segment may leave: the endpoint polls the connection after this.
            self.t.set(Timer::Pace, None);
        }
        if due(self.t.get(Timer::DelayedAck)) {
            self.t.set(Timer::DelayedAck, None);
            self.due.set(Due::Ack);
            //~ linux: no reply carried the ACK in time: the connection is no longer
            //~ interactive (`tcp_delack_timer_handler` leaves pingpong mode).
            self.hs.set(super::HsFlags::INTERACTIVE, false);
        }
        if due(self.t.get(Timer::Reorder)) {
            self.t.set(Timer::Reorder, None);
            let flight = self.tcb.snd().map(|s| s.max_nxt.since(s.una)).unwrap_or(0);
            self.rec.on_reorder_timeout(now, self.rtt.srtt(), flight);
        }
        if due(self.t.get(Timer::Tlp)) {
            self.t.set(Timer::Tlp, None);
            self.due.set(Due::TailLossProbe);
        }
        if due(self.t.get(Timer::KeepAlive))
            && let Some(k) = self.cfg.keep_alive
        {
            self.t.set(Timer::KeepAlive, None);
            //= rfc9293#3.8.4
            //~ paraphrase: One unanswered probe proves nothing (MUST-29): give up only after
            //~ `probes`.
            if u32::from(self.keepalive_probes) >= k.probes.min(u16::MAX.into()) {
                self.fail(ctx, ConnectionError::TimedOut);
                return;
            }
            self.keepalive_probes = self.keepalive_probes.saturating_add(1);
            self.due.set(Due::Probe);
        }
        self.refresh_timers(now);
    }

    /// True when the output path can send a tail loss probe now: data outstanding, nothing
    /// being resent below SND.MAX, and no path MTU probe in flight (the same conditions
    /// `tail_loss_probe` and its caller check).
    fn tail_probe_possible(&self) -> bool {
        self.tcb.snd().is_some_and(|s| s.outstanding() && !s.nxt.lt(s.max_nxt))
            && !self.mtu_probe_outstanding()
    }

    /// When an open attempt still in SYN-SENT or SYN-RECEIVED gives up
    /// (`ConnConfig::connect_timeout`, counted from when the connection began).
    fn open_deadline(&self) -> Option<Instant> {
        self.open_deadline_in(self.state())
    }

    /// [`open_deadline`](Self::open_deadline) for a connection in `state`.
    fn open_deadline_in(&self, state: State) -> Option<Instant> {
        let opening = matches!(state, State::SynSent | State::SynReceived);
        self.cfg.connect_timeout.filter(|_| opening).map(|d| self.una_since + d)
    }

    /// The retransmission timer fired. Returns true when the connection gave up (R2).
    fn on_rto(&mut self, ctx: &mut Ctx<'_>) -> bool {
        self.t.set(Timer::Rtx, None);
        let now = ctx.now;
        let state = self.state();
        let Some(snd) = self.tcb.snd() else { return false };
        if !snd.outstanding() {
            return false;
        }
        if self.mtu_probe_timed_out(now) {
            return false;
        }
        //= rfc9293#3.8.3
        //~ paraphrase: R2: give up. For a SYN, R2 is at least 3 minutes (MUST-23).
        let r2 = match state {
            // An open attempt with its own limit (connect_timeout) retries until then.
            State::SynSent | State::SynReceived => Some(
                self.cfg
                    .r2_syn
                    .max(Duration::from_secs(180))
                    .max(self.cfg.connect_timeout.unwrap_or_default()),
            ),
            _ => self.cfg.r2,
        };
        if let Some(r2) = r2
            && now.saturating_since(self.una_since) >= r2
        {
            self.fail(ctx, ConnectionError::TimedOut);
            return true;
        }
        //= rfc4987#3.2
        //~ paraphrase: Reducing the SYN-RECEIVED timer frees the entries of spoofed SYNs sooner.
        //~ linux: a request gives up at the timeout after its last of tcp_synack_retries.
        if let Tcb::Open { kind: OpenKind::SynReceived(Origin::Passive(_)), .. } = self.tcb
            && let Some(retries) = self.cfg.syn_ack_retries
            && self.rtx_count >= retries
        {
            self.fail(ctx, ConnectionError::TimedOut);
            return true;
        }
        //= rfc9293#3.8.3
        //~ paraphrase: the application may give up on an open attempt sooner than R2.
        //~ linux: the linear retransmissions come on top of the SYN retries.
        if state == State::SynSent
            && let Some(retries) = self.cfg.syn_retries
            && self.rtx_count >= retries.saturating_add(self.cfg.syn_linear_timeouts)
        {
            self.fail(ctx, ConnectionError::TimedOut);
            return true;
        }
        self.rtx_count += 1;
        self.stats.timeouts += 1;
        self.blackhole_on_timeout();
        self.mtu_probe_on_timeout(now);
        if self.rtx_count == self.cfg.r1 {
            //= rfc9293#3.8.3
            //~ paraphrase: R1: tell the application (SHLD-9) and the IP layer (negative advice,
            //~ MUST-20).
            ctx.soft_error(self.cfg.soft_errors, SoftError::ExcessiveRetransmissions);
        }
        //= rfc6298#5.5
        //~ paraphrase: Back off the timer (RTO doubles), retransmit the earliest unacknowledged
        //~ segment.
        //~ linux: the first tcp_syn_linear_timeouts SYN retransmissions keep the initial RTO.
        if !(state == State::SynSent && self.rtx_count <= self.cfg.syn_linear_timeouts) {
            self.rtt.on_timeout();
        }
        self.sampler.on_retransmit();
        if let Some(snd) = self.tcb.snd_mut() {
            snd.nxt = snd.una;
            //~ linux: with the window closed the retransmission cannot go out; the timeout
            //~ sends a zero-window probe instead, so the window update a lost or reordered
            //~ ACK carried is asked for again (else the timer fires for ever, sending nothing).
            if snd.wnd == 0 && state.is_synchronized() {
                self.due.set(Due::Probe);
            }
            let (una, max) = (snd.una, snd.max_nxt);
            if state.is_synchronized() {
                //= rfc5681#3.1
                //~ paraphrase: After an RTO, cwnd is one segment (the controller's loss window).
                self.rec.on_rto(now, una, max);
            }
        }
        self.t.set(Timer::Rtx, Some(now + self.rtt.rto()));
        false
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
        let never = TimerTable::only(Timer::KeepAlive, Instant::FAR_FUTURE);
        assert_eq!(never.next(), Some(Instant::FAR_FUTURE));
    }
}
