//! A segment the interface could not transmit (the device or its queue refused it): it
//! counts as never sent, and a retry timer offers refused new data again; a refused
//! retransmission leaves its segments lost, to be retransmitted after the next ACK or timer.

//~ linux: when the local qdisc or device drops a packet at transmit, `tcp_transmit_skb`
//~ fails and the segment counts as never sent: new data stays unsent (snd_nxt does not
//~ move), a failed retransmission is not counted as one, and the probe timer retries every
//~ TCP_RESOURCE_PROBE_INTERVAL (500 ms) without backing off, since nothing reached the
//~ network to say anything about it. The user timeout runs from the first retry
//~ (`icsk_probes_tstamp`).

use synack_wire::SeqNum;

use super::Conn;
use super::timers::Timer;
use crate::time::Duration;

/// How often a connection whose new data the device refused tries again (Linux's
/// TCP_RESOURCE_PROBE_INTERVAL).
pub(crate) const RESOURCE_PROBE_INTERVAL: Duration = Duration::from_millis(500);

/// Bits of [`Conn::refused`].
pub(crate) struct Refused;

impl Refused {
    /// The last new data offered to the device was refused: the persist timer is the retry.
    pub(crate) const NOW: u8 = 1;
    /// The retry timer has fired at least once since the refusals began; `una_since` holds
    /// when, and the user timeout counts from it.
    pub(crate) const PROBING: u8 = 2;
    /// A retransmission was refused: no further one is offered until the next ACK or timer
    /// (Linux's `tcp_xmit_retransmit_queue` stops at the first failure and is run again by
    /// those events).
    pub(crate) const RETRANSMIT: u8 = 4;
}

impl Conn {
    /// The segment `[seq, seq + len)` (`fin`: it carried the FIN) this connection produced
    /// last was not transmitted. New data at the top of what was sent is taken back (sent
    /// again as new data once the retry timer fires, or earlier when an ACK opens the way);
    /// a refused retransmission is not counted as one.
    pub(crate) fn on_transmit_failed(
        &mut self,
        seq: SeqNum,
        len: u32,
        fin: bool,
        retransmission: bool,
    ) {
        self.stats.segs_out = self.stats.segs_out.saturating_sub(1);
        self.stats.bytes_sent = self.stats.bytes_sent.saturating_sub(u64::from(len));
        if retransmission {
            self.stats.retransmits = self.stats.retransmits.saturating_sub(1);
            self.rec.on_retransmit_failed(seq, len);
            self.refused |= Refused::RETRANSMIT;
            return;
        }
        let end = seq + len + u32::from(fin);
        if !self.state().is_synchronized() || !end.gt(seq) {
            return;
        }
        let Some(snd) = self.tcb.snd_mut() else { return };
        if !snd.syn_acked() || snd.max_nxt != end || snd.nxt != end || seq.lt(snd.una) {
            return;
        }
        snd.nxt = seq;
        snd.max_nxt = seq;
        let idle = seq == snd.una;
        self.rec.retract_send(seq);
        self.sampler.retract_send(seq);
        if idle {
            // Nothing reached the network: no retransmission or loss probe is due, only the
            // retry (the persist timer, see `refresh_timers`).
            self.t.set(Timer::Rtx, None);
            self.t.set(Timer::Tlp, None);
            self.t.set(Timer::Persist, None);
        }
        self.refused |= Refused::NOW;
    }
}
