//! Proportional rate reduction (RFC 6937) as the connection runs it: the window PRR sets while
//! recovering from loss, and the reduction after an ECN echo (RFC 3168) paced the same way.

use super::Recovery;
use crate::time::Instant;
use synack_wire::SeqNum;

impl Recovery {
    /// PRR on or off (the connection's `ConnConfig::prr`).
    pub(crate) fn want_prr(&mut self, on: bool) {
        self.prr_wanted = on;
        if !on && let Some(f) = self.sb.live_mut() {
            f.prr_cwnd = None;
        }
    }

    /// The window PRR imposes now, if recovery (or an ECN reduction) with PRR is under way.
    pub(super) fn prr_window(&self) -> Option<u32> {
        let f = self.fl()?;
        if self.in_recovery() || f.cwr_until.is_some() { f.prr_cwnd } else { None }
    }

    /// An ECN-Echo arrived outside loss recovery, at most once per window of data (the
    /// caller checks, RFC 3168 6.1.2): the controller reduces once, and with PRR on the
    /// reduction is paced by PRR until SND.MAX now (`snd_max`) is acknowledged, instead of
    /// cutting the sending window at once. `flight` is FlightSize before this ACK.
    pub(crate) fn on_ecn_echo(&mut self, now: Instant, flight: u32, snd_max: SeqNum) {
        self.cc.on_ecn_echo(now, flight);
        //= rfc9937#5
        //~ linux: PRR paces any multiplicative window reduction made over about one round trip,
        //~ an ECN-triggered one (RFC 3168 6.1.2) included, as Linux does in its CWR state.
        self.prr_begin(flight);
        if self.prr_wanted {
            self.fl_mut().cwr_until = Some(snd_max);
        }
    }

    /// The ECN reduction is over once its window of data is acknowledged, or when loss
    /// recovery or an RTO takes over the window.
    pub(super) fn end_cwr(&mut self, ack: SeqNum) {
        let in_recovery = self.in_recovery();
        // A fresh flight state has no reduction under way.
        let Some(f) = self.sb.live_mut() else { return };
        if let Some(p) = f.cwr_until
            && (ack.ge(p) || in_recovery)
        {
            f.cwr_until = None;
            if !in_recovery {
                f.prr_cwnd = None;
            }
        }
    }

    /// Fast recovery begins with FlightSize `flight`; the controller has just set ssthresh.
    pub(super) fn prr_begin(&mut self, flight: u32) {
        let (wanted, ssthresh) = (self.prr_wanted, self.cc.ssthresh());
        let f = self.fl_mut();
        f.prr_cwnd = None;
        if wanted {
            f.prr.start(flight, ssthresh);
            // Until the first PRR computation: nothing beyond what is in the network.
            f.prr_cwnd = Some(0);
        }
    }

    /// An ACK (or a loss-detection timer, `delivered` 0) during recovery with PRR: PRR's
    /// `sndcnt` sets the window for what follows. `safe`: SND.UNA advanced, no new loss.
    pub(super) fn prr_update(&mut self, delivered: u32, una: SeqNum, snd_max: SeqNum, safe: bool) {
        if self.prr_window().is_none() {
            return;
        }
        let pipe = self.prr_pipe(una, snd_max);
        // prr_window() is Some only with the flight state built.
        let f = self.fl_mut();
        let sndcnt = f.prr.on_ack(delivered, pipe, safe);
        f.prr_cwnd = Some(pipe.saturating_add(sndcnt));
    }

    /// PRR's view of the bytes in the network: RFC 6675 `pipe` with SACK; without it,
    /// FlightSize less what duplicate ACKs reported delivered and less the segment waiting
    /// to be retransmitted (it left the network; its copy has not been sent yet).
    pub(super) fn prr_pipe(&self, una: SeqNum, snd_max: SeqNum) -> u32 {
        self.pipe_from(self.flight(una, snd_max))
    }

    /// `pipe` from [`Recovery::flight`]: the same with SACK; without it, less the duplicate
    /// ACKs' estimate and the segment waiting to be retransmitted.
    pub(super) fn pipe_from(&self, flight: u32) -> u32 {
        if self.sack {
            return flight;
        }
        let waiting = self.rtx.map_or(0, |(_, len)| len);
        let reno_sacked = self.fl().map_or(0, |f| f.reno_sacked);
        flight.saturating_sub(reno_sacked).saturating_sub(waiting)
    }

    /// True when PRR's window has no room for a `len`-byte retransmission now.
    pub(crate) fn prr_holds(&self, una: SeqNum, snd_max: SeqNum, len: u32, smss: u32) -> bool {
        self.prr_window().is_some() && self.allowance(self.flight(una, snd_max), smss) < len
    }
}
