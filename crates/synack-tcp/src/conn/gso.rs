//! The packets data leaves in under `PushPolicy::LinuxGso` (see `crate::gso`): the one under
//! way, or a new one sized from the connection's state as Linux would size it, and the PSH
//! bits that follow from them.

use super::Conn;
use crate::gso::{GsoPacket, max_segments};
use crate::time::Instant;
use synack_wire::SeqNum;

impl Conn {
    /// The packet the segment at `seq` belongs to: the current one when the segment
    /// continues it at this instant, else one of `fresh_len` bytes started here.
    pub(crate) fn gso_packet(
        &mut self,
        now: Instant,
        seq: SeqNum,
        fresh_len: impl FnOnce(&Self) -> u32,
    ) -> GsoPacket {
        if let Some(p) = self.marks.as_ref().and_then(|m| m.gso)
            && p.continues_at(seq, now)
        {
            return p;
        }
        let p = GsoPacket::new(seq, fresh_len(self).max(1), now);
        self.marks.get_or_insert_with(Default::default).gso = Some(p);
        p
    }

    /// The packet a retransmission starting at `seq` belongs to, `room` being what congestion
    /// control lets out. Linux resends a buffer of its retransmission queue, cut to what cwnd
    /// and the window allow (`tcp_xmit_retransmit_queue`: `cwnd - in_flight` segments, at
    /// most the TSO autosize; `__tcp_retransmit_skb`); its buffers end where SACKed data
    /// begins (`tcp_sacktag` splits them there). Where the original packets ended is not
    /// kept, so a resent packet here runs to the next SACKed byte (or the highest sent).
    pub(crate) fn gso_rtx_packet(
        &mut self,
        now: Instant,
        seq: SeqNum,
        mss: u32,
        room: u32,
    ) -> GsoPacket {
        let min_tso = match self.cfg.push_policy {
            crate::config::PushPolicy::LinuxGso { min_tso_segs } => u32::from(min_tso_segs),
            _ => 1,
        };
        self.gso_packet(now, seq, |c| {
            let Some(snd) = c.tcb.snd() else { return mss };
            let hole_end = c
                .rec
                .sacked_ranges()
                .map(|(s, _)| s)
                .find(|&s| s.gt(seq))
                .map_or(snd.max_nxt, |s| s.min(snd.max_nxt));
            let segs = (room / mss.max(1)).max(1).min(max_segments(
                mss,
                c.pacing_rate_figure(),
                c.rtt.min_rtt(),
                min_tso,
            ));
            let window = (snd.una + snd.wnd).since(seq).max(mss);
            segs.saturating_mul(mss).min(hole_end.since(seq)).min(window)
        })
    }

    /// The packet under way at `now` still has segments to send at SND.NXT.
    pub(crate) fn gso_packet_open(&self, now: Instant) -> bool {
        let Some(p) = self.marks.as_ref().and_then(|m| m.gso) else { return false };
        self.tcb.snd().is_some_and(|s| p.continues_at(s.nxt, now))
    }

    /// Whether the segment `[seq, seq + len)` of packet `p` carries PSH: the last segment of
    /// a packet of two or more (Linux forces PSH on GSO packets; segmentation keeps it on the
    /// last segment), or a one-segment packet's that holds a push point (`tcp_mark_push`,
    /// moved to a split's tail).
    pub(crate) fn gso_push(&self, p: GsoPacket, seq: SeqNum, len: u32, mss: u32) -> bool {
        let end = seq + len;
        if p.is_multi_segment(mss) {
            end.ge(p.end)
        } else {
            self.marks.as_ref().and_then(|m| m.push.as_ref()).is_some_and(|m| m.covers(seq, end))
        }
    }

    /// Something arrived or was written: what leaves next starts a new packet, as each of
    /// Linux's transmit rounds does.
    pub(crate) fn end_gso_packet(&mut self) {
        if let Some(m) = &mut self.marks {
            m.gso = None;
        }
    }
}
