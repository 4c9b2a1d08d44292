//! Record boundaries in the send stream (Linux's `MSG_EOR`): a segment never carries bytes
//! of two records, so each record's last byte ends a segment, first transmission or
//! retransmission. Nothing else about sending changes: segments inside a record are cut and
//! coalesced as usual.
//!
//! Linux marks the tail skb of a write sent with `MSG_EOR` (`TCP_SKB_CB(skb)->eor`) and
//! neither appends later data to it nor collapses it with the next one on retransmission
//! (`tcp_skb_can_collapse_to`). A segment cut short at a boundary is sent at once even with
//! data in flight, as Linux sends every skb but the queue's tail without Nagle's test.
//!
//! Memory: one sequence number per record still unacknowledged; ends at or below SND.UNA are
//! dropped as ACKs arrive, so the record list never outgrows the send buffer's records.

use alloc::collections::VecDeque;
use synack_wire::SeqNum;

/// What a connection remembers about where its writes end, and its pacing clock, boxed
/// together so a connection that uses none of them pays one pointer.
#[derive(Clone, Debug, Default)]
pub(crate) struct SendMarks {
    /// Push points (`PushPolicy::EndOfWrite`, `PushPolicy::LinuxGso`), from the first write
    /// under such a policy.
    pub(crate) push: Option<crate::push::PushMarks>,
    /// The packet new data is leaving in (`PushPolicy::LinuxGso`).
    pub(crate) gso: Option<crate::gso::GsoPacket>,
    /// Record ends.
    pub(crate) records: RecordEnds,
    /// The pacing departure clock, from the first paced data segment.
    pub(crate) pace: crate::pacing::DepartureClock,
    /// Transmit timestamps asked for (`SO_TIMESTAMPING`), from the first time they are.
    pub(crate) stamps: Option<crate::tx_stamp::TxStamps>,
    /// The buffers Linux's send-buffer accounting charges (`SendAccounting::LinuxSkb`).
    pub(crate) skbs: crate::sndbuf::SkbQueue,
}

/// The ends (one past the last byte) of the records in the send queue, ascending.
#[derive(Clone, Debug, Default)]
pub struct RecordEnds {
    ends: VecDeque<SeqNum>,
}

impl RecordEnds {
    /// A record ends just before `end` (the send queue's end after a write).
    pub fn push(&mut self, end: SeqNum) {
        if self.ends.back().is_none_or(|&b| end.gt(b)) {
            self.ends.push_back(end);
        }
    }

    /// SND.UNA reached `una`: ends at or below it no longer split anything.
    pub fn on_ack(&mut self, una: SeqNum) {
        while self.ends.front().is_some_and(|&e| e.le(una)) {
            self.ends.pop_front();
        }
    }

    /// How much of `[seq, seq + len)` one segment may carry: up to the first record end
    /// inside the range.
    pub fn limit(&self, seq: SeqNum, len: u32) -> u32 {
        self.ends.iter().find(|&&e| e.gt(seq)).map_or(len, |e| e.since(seq).min(len))
    }

    /// Records whose ends are still held.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when no record end is held.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_stops_at_the_first_record_end() {
        let mut r = RecordEnds::default();
        r.push(SeqNum(1400));
        r.push(SeqNum(1800));
        assert_eq!(r.limit(SeqNum(1000), 1000), 400);
        assert_eq!(r.limit(SeqNum(1400), 1000), 400);
        assert_eq!(r.limit(SeqNum(1800), 1000), 1000);
        assert_eq!(r.limit(SeqNum(1100), 200), 200);
    }

    #[test]
    fn acknowledged_ends_are_dropped() {
        let mut r = RecordEnds::default();
        r.push(SeqNum(10));
        r.push(SeqNum(20));
        r.push(SeqNum(20));
        assert_eq!(r.len(), 2);
        r.on_ack(SeqNum(15));
        assert_eq!(r.len(), 1);
        r.on_ack(SeqNum(20));
        assert!(r.is_empty());
    }

    #[test]
    fn ends_wrap_with_the_sequence_space() {
        let mut r = RecordEnds::default();
        r.push(SeqNum(u32::MAX - 99));
        r.push(SeqNum(100));
        assert_eq!(r.limit(SeqNum(u32::MAX - 199), 1000), 100);
        assert_eq!(r.limit(SeqNum(u32::MAX - 99), 1000), 200);
    }
}
