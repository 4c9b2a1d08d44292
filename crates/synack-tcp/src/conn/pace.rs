//! The connection's pacing (`crate::pacing`): its rate, and the departure gate the output
//! path obeys, kept as the `Pace` timer so a held sender is polled again exactly when its
//! next segment may leave.

use super::{Conn, Timer};
use crate::pacing::{capped, window_rate};
use crate::time::Instant;
use synack_wire::SeqNum;

impl Conn {
    /// The rate pacing would use now, in bytes per second: the controller's (BBR), else
    /// Linux's window rate, capped by `SO_MAX_PACING_RATE`; `None`: unlimited (no RTT yet
    /// and no cap). Reported as `tcpi_pacing_rate` whether pacing is on or not.
    pub(crate) fn pacing_rate_figure(&self) -> Option<u64> {
        let rate = self.rec.cc.pacing_rate().or_else(|| {
            let srtt = self.rtt.srtt()?;
            let flight = self.tcb.snd().map_or(0, |s| s.max_nxt.since(s.una));
            window_rate(self.rec.cc.cwnd(), flight, self.rec.cc.ssthresh(), srtt)
        });
        capped(rate, self.cfg.max_pacing_rate)
    }

    /// The rate this connection paces at, if it paces: always with a controller that sets
    /// its own rate (BBR), else when `ConnConfig::pacing` is on or a maximum rate is set.
    pub(crate) fn pacing_rate(&self) -> Option<u64> {
        let paced = self.cfg.pacing
            || self.cfg.max_pacing_rate.is_some()
            || self.rec.cc.pacing_rate().is_some();
        if paced { self.pacing_rate_figure() } else { None }
    }

    /// Pacing holds data back until the `Pace` timer fires, except the rest of a packet
    /// under way (`PushPolicy::LinuxGso`): Linux paces whole TSO/GSO packets, each stamped
    /// with its departure time and the next one `len / rate` later (`tcp_wstamp_ns`,
    /// `tcp_update_skb_after_send`; the fq qdisc releases a packet at its stamp), so the
    /// segments of one packet leave together and the gap follows the packet.
    pub(crate) fn pacing_holds(&self, now: Instant) -> bool {
        self.t.get(Timer::Pace).is_some_and(|at| at > now) && !self.gso_packet_open(now)
    }

    /// A data segment `[seq, seq + len)` left at `now`. The departure clock moves once per
    /// packet, at its first segment: under `PushPolicy::LinuxGso` the packet is Linux's
    /// TSO/GSO packet the segment starts (its later segments follow at once, see
    /// [`Conn::pacing_holds`]), otherwise the segment alone.
    pub(crate) fn on_paced_send(&mut self, now: Instant, seq: SeqNum, len: u32) {
        if len == 0 {
            return;
        }
        let Some(rate) = self.pacing_rate() else { return };
        let packet = self.marks.as_ref().and_then(|m| m.gso).filter(|p| p.continues_at(seq, now));
        let unit = match packet {
            Some(p) if p.start == seq => p.end.since(p.start),
            Some(_) => return,
            None => len,
        };
        let segs = unit.div_ceil(self.eff_snd_mss().max(1)).max(1);
        let free = self.cfg.pacing_free_segments;
        let marks = self.marks.get_or_insert_with(Default::default);
        let at = marks.pace.on_send(now, unit, segs, rate, free);
        self.t.set(Timer::Pace, (at > now).then_some(at));
    }
}
