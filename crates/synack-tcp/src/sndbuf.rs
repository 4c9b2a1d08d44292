//! Linux's send-buffer accounting ([`SendAccounting::LinuxSkb`](crate::config::SendAccounting)):
//! the send queue as the buffers (skbs) Linux would hold, each charged its bytes plus a fixed
//! overhead, so how much a write takes and when a writer is woken follow Linux's rules
//! rather than a plain byte count.
//!
//! The rules this models (Linux 6.x, `tcp_sendmsg_locked` and `include/net/sock.h`):
//!
//! * A write appends to the queue's last unsent buffer until that holds the size goal
//!   (`tcp_xmit_size_goal`, [`crate::gso::size_goal`]); appending is never refused for the
//!   send buffer, so the queue can go past it by up to one size goal.
//! * A new buffer is started only while the memory charged is below the send buffer
//!   (`sk_stream_memory_free`) and, with an unsent low-water mark, fewer than the mark are
//!   unsent (`tcp_stream_memory_free`, wake 0).
//! * Each buffer that reaches the size goal while the write goes on is pushed
//!   (`tcp_push_one`, or a forced push): what congestion control and the peer's window let
//!   out leaves at once, and a buffer sent in part is split (`tso_fragment`), the unsent rest
//!   becoming a buffer of its own (charged its own overhead) that the write fills next.
//! * A buffer is freed when all of it is acknowledged; a partial ACK frees only its bytes
//!   (`tcp_trim_head`).
//! * A waiting writer is woken (and poll reports writable) once the free space is at least
//!   half of what is charged (`sk_stream_wspace >= sk_stream_min_wspace`: a third of the
//!   buffer free), below the send buffer, and with a low-water mark fewer than half of it
//!   unsent (wake 1).
//!
//! Left out: Linux growing the send buffer of a socket that never set `SO_SNDBUF` with the
//! congestion window (`tcp_sndbuf_expand`; the buffer here stays what was configured),
//! buffers ended by `MSG_EOR`, and splits made by retransmissions. A transmission is taken
//! to end a burst where the next ACK or write finds SND.MAX (`Conn::settle_skbs`).
//!
//! Memory: one sequence number per buffer still queued, so at most one per size goal of the
//! send buffer plus the splits of data in flight.

use alloc::collections::VecDeque;
use synack_wire::SeqNum;

/// The queue's buffers, as the sequence numbers where each ends (one past its last byte),
/// ascending; the first starts at `head_start`.
#[derive(Clone, Debug, Default)]
pub(crate) struct SkbQueue {
    head_start: SeqNum,
    ends: VecDeque<SeqNum>,
}

/// What a write is measured against.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// The send buffer (`sk_sndbuf`).
    pub(crate) sndbuf: usize,
    /// The fixed charge of each buffer (`skb->truesize` without its data).
    pub(crate) overhead: u32,
    /// Bytes one buffer holds (`tcp_xmit_size_goal`).
    pub(crate) size_goal: u32,
    /// The unsent low-water mark, if any.
    pub(crate) lowat: Option<u32>,
}

/// Where the send queue stands when a write starts.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Queue {
    /// SND.UNA.
    pub(crate) una: SeqNum,
    /// Everything before this was sent (the highest SND.NXT).
    pub(crate) sent: SeqNum,
    /// One past the last byte queued (`write_seq`).
    pub(crate) end: SeqNum,
    /// Bytes queued, sent or not (the data the buffers are charged for).
    pub(crate) bytes: usize,
    /// How far a push during the write may send: the congestion and receive windows' limit.
    pub(crate) send_limit: SeqNum,
}

impl SkbQueue {
    /// Buffers held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Frees the buffers acknowledged in full.
    pub(crate) fn release(&mut self, una: SeqNum) {
        while let Some(&e) = self.ends.front() {
            if e.gt(una) {
                break;
            }
            self.head_start = e;
            self.ends.pop_front();
        }
    }

    /// Splits the buffer `at` falls strictly inside (data sent up to `at`, the rest not).
    pub(crate) fn split(&mut self, at: SeqNum) {
        if let Some(i) = self.inside(at) {
            self.ends.insert(i, at);
        }
    }

    /// The index of the buffer `at` falls strictly inside, if any.
    fn inside(&self, at: SeqNum) -> Option<usize> {
        let mut start = self.head_start;
        for (i, &e) in self.ends.iter().enumerate() {
            if start.lt(at) && at.lt(e) {
                return Some(i);
            }
            if at.lt(e) {
                return None;
            }
            start = e;
        }
        None
    }

    /// Memory charged (`sk_wmem_queued`) for `bytes` queued (from `una` on) with everything
    /// before `sent` sent: a buffer sent in part counts as the two it is split into, and one
    /// acknowledged in full not at all.
    pub(crate) fn charged(&self, bytes: usize, una: SeqNum, sent: SeqNum, overhead: u32) -> usize {
        let live = self.ends.iter().filter(|&&e| e.gt(una)).count();
        let skbs = live + usize::from(self.inside(sent).is_some());
        skbs * overhead as usize + bytes
    }

    /// Whether a writer may be woken (`__sk_stream_is_writeable` with wake 1).
    pub(crate) fn writeable(&self, q: &Queue, l: &Limits) -> bool {
        let charged = self.charged(q.bytes, q.una, q.sent, l.overhead);
        let free = l.sndbuf.saturating_sub(charged);
        let unsent = if q.end.gt(q.sent) { q.end.since(q.sent) } else { 0 };
        charged < l.sndbuf
            && free >= charged / 2
            && l.lowat.is_none_or(|m| 2 * u64::from(unsent) < u64::from(m))
    }

    /// Takes up to `len` bytes of a write into the buffers; returns how many.
    pub(crate) fn append(&mut self, len: usize, q: &Queue, l: &Limits) -> usize {
        let goal = l.size_goal.max(1);
        let (mut end, mut sent, mut bytes) = (q.end, q.sent.max(q.una), q.bytes);
        if self.ends.is_empty() {
            self.head_start = end;
        }
        let mut left = len;
        while left > 0 {
            let start = self.tail_start();
            let tail_open = self.ends.back() == Some(&end) && start.ge(sent);
            let room = match tail_open {
                true => goal.saturating_sub(end.since(start)),
                false => 0,
            };
            let room = if room > 0 {
                room
            } else {
                let charged = self.charged(bytes, q.una, sent, l.overhead);
                let unsent = if end.gt(sent) { end.since(sent) } else { 0 };
                if charged >= l.sndbuf || l.lowat.is_some_and(|m| unsent >= m) {
                    break;
                }
                if self.ends.is_empty() {
                    self.head_start = end;
                }
                self.ends.push_back(end);
                goal
            };
            let copy = (room as usize).min(left);
            end += copy as u32;
            bytes += copy;
            left -= copy;
            if let Some(e) = self.ends.back_mut() {
                *e = end;
            }
            if left > 0 && end.since(self.tail_start()) >= goal {
                // The full buffer is pushed: what the windows allow leaves now.
                let to = if q.send_limit.lt(end) { q.send_limit } else { end };
                if to.gt(sent) {
                    sent = to;
                    self.split(sent);
                }
            }
        }
        len - left
    }

    /// Where the last buffer starts.
    fn tail_start(&self) -> SeqNum {
        match self.ends.len() {
            0 | 1 => self.head_start,
            n => self.ends[n - 2],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(sndbuf: usize, goal: u32) -> Limits {
        Limits { sndbuf, overhead: 832, size_goal: goal, lowat: None }
    }

    #[test]
    fn buffers_fill_to_the_goal_and_split_where_a_push_stops() {
        // 50000-byte buffer, 16000-byte goal, 10 segments of 1000 may leave at once.
        let mut q = SkbQueue::default();
        let s = SeqNum(1);
        let queue = Queue { una: s, sent: s, end: s, bytes: 0, send_limit: s + 10_000 };
        let n = q.append(59_000, &queue, &limits(50_000, 16_000));
        // 10000 sent + three 16000-byte buffers; a fifth would start at 4*832 + 58000.
        assert_eq!(n, 58_000);
        assert_eq!(q.len(), 4);
        assert_eq!(q.charged(58_000, s, s + 10_000, 832), 4 * 832 + 58_000);
    }

    #[test]
    fn the_low_water_mark_stops_new_buffers_only() {
        let mut q = SkbQueue::default();
        let s = SeqNum(1);
        let queue = Queue { una: s, sent: s, end: s, bytes: 0, send_limit: s + 10_000 };
        let l = Limits { lowat: Some(4000), ..limits(256 * 1024, 16_000) };
        // The first buffer, pushed (10000 leave), its rest filled to the goal; then 16000
        // unsent stop the next.
        assert_eq!(q.append(59_000, &queue, &l), 26_000);
    }

    #[test]
    fn acknowledged_buffers_free_and_the_writer_wakes_at_a_third() {
        let mut q = SkbQueue::default();
        let s = SeqNum(1);
        let queue = Queue { una: s, sent: s, end: s, bytes: 0, send_limit: s + 10_000 };
        let l = limits(42_000, 25_000);
        assert_eq!(q.append(61_000, &queue, &l), 60_000);
        let at = |una: u32, sent: u32| Queue {
            una: s + una,
            sent: s + sent,
            end: s + 60_000,
            bytes: 60_000 - una as usize,
            send_limit: s + sent,
        };
        q.release(s + 30_000);
        // 5000 of the split buffer and 25000 queued: 12000 - 2*832 free, less than half.
        assert!(!q.writeable(&at(30_000, 30_000), &l));
        q.release(s + 36_000);
        assert_eq!(q.len(), 1);
        assert!(q.writeable(&at(36_000, 36_000), &l));
    }

    #[test]
    fn a_split_inside_a_buffer_counts_before_it_is_made() {
        let mut q = SkbQueue::default();
        let s = SeqNum(1);
        let queue = Queue { una: s, sent: s, end: s, bytes: 0, send_limit: s };
        assert_eq!(q.append(5000, &queue, &limits(100_000, 16_000)), 5000);
        assert_eq!(q.charged(5000, s, s + 2000, 832), 2 * 832 + 5000);
        q.split(s + 2000);
        assert_eq!(q.len(), 2);
        q.split(s + 2000);
        assert_eq!(q.len(), 2);
        assert_eq!(q.charged(5000, s, s + 2000, 832), 2 * 832 + 5000);
    }
}
