//! What RACK remembers between flights, so a connection may drop the per-segment log while
//! nothing is in flight (idle memory) and rebuild the same state when data flows again.

use super::{INITIAL_REORDERING, MAX_REORDERING, NO_SAMPLE, Rack, RackConfig};
use crate::time::Instant;
use synack_wire::SeqNum;

/// What a [`Rack`] must remember between flights: its RTT measurements, the reordering
/// window's adaptation, and the reordering measured so far (which `ConnStats` reports). The
/// connection keeps this inline and the per-segment log only while data is in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RackMemory {
    xmit_ts: Option<Instant>,
    rtt: u64,
    min_rtt: u64,
    end_seq: SeqNum,
    end_retransmitted: bool,
    reo_wnd_mult: u32,
    reo_wnd_persist: u32,
    reorder_bytes: u32,
    reorder_events: u32,
    reordering_seen: bool,
    tlp_is_retrans: bool,
}

impl RackMemory {
    /// What [`Rack::new`] at SND.UNA = `una` starts from.
    pub(crate) const fn fresh(una: SeqNum) -> RackMemory {
        RackMemory {
            xmit_ts: None,
            rtt: 0,
            min_rtt: NO_SAMPLE,
            end_seq: una,
            end_retransmitted: false,
            reo_wnd_mult: 1,
            reo_wnd_persist: 0,
            reorder_bytes: 0,
            reorder_events: 0,
            reordering_seen: false,
            tlp_is_retrans: false,
        }
    }

    /// [`Rack::reordering`] of a log with this memory.
    pub(crate) fn reordering(&self, mss: u32) -> u32 {
        self.reorder_bytes.div_ceil(mss.max(1)).clamp(INITIAL_REORDERING, MAX_REORDERING)
    }

    /// [`Rack::reordering_events`] of a log with this memory.
    pub(crate) fn reordering_events(&self) -> u32 {
        self.reorder_events
    }
}

impl Rack {
    /// When everything sent up to `una` is acknowledged and nothing is pending (no segment
    /// tracked, no probe out, no D-SACK round open, not recovering), what must outlive the
    /// flight; `None` otherwise. [`Rack::resume`] with it rebuilds this exact state, so the
    /// connection may drop the log between flights (idle memory).
    pub(crate) fn quiescent_memory(&self, una: SeqNum) -> Option<RackMemory> {
        let idle = self.segs.is_empty()
            && self.snd_una == una
            && self.snd_nxt == una
            && self.fack == una
            && self.segs_sacked == 0
            && self.lost_total == 0
            && self.dsack_round.is_none()
            && self.tlp_end_seq.is_none()
            && self.sack_high.is_none()
            && !self.recovering;
        idle.then_some(RackMemory {
            xmit_ts: self.xmit_ts,
            end_seq: self.end_seq,
            end_retransmitted: self.end_retransmitted,
            rtt: self.rtt,
            min_rtt: self.min_rtt,
            reo_wnd_mult: self.reo_wnd_mult,
            reo_wnd_persist: self.reo_wnd_persist,
            reorder_bytes: self.reorder_bytes,
            reorder_events: self.reorder_events,
            reordering_seen: self.reordering_seen,
            tlp_is_retrans: self.tlp_is_retrans,
        })
    }

    /// A log with nothing in flight at SND.UNA = `una` that remembers `mem` (from
    /// [`Rack::quiescent_memory`] at the same `una`, or [`RackMemory::fresh`]).
    pub(crate) fn resume(config: RackConfig, una: SeqNum, mem: &RackMemory) -> Rack {
        Rack {
            xmit_ts: mem.xmit_ts,
            end_seq: mem.end_seq,
            end_retransmitted: mem.end_retransmitted,
            rtt: mem.rtt,
            min_rtt: mem.min_rtt,
            reo_wnd_mult: mem.reo_wnd_mult,
            reo_wnd_persist: mem.reo_wnd_persist,
            reorder_bytes: mem.reorder_bytes,
            reorder_events: mem.reorder_events,
            reordering_seen: mem.reordering_seen,
            tlp_is_retrans: mem.tlp_is_retrans,
            ..Rack::new(config, una)
        }
    }
}
