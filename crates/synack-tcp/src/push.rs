//! Where the PSH bits go when they follow the application's writes (`PushPolicy::EndOfWrite`,
//! Linux's rule): a small, fixed-size record of "push points", the sequence numbers just after
//! the last byte of a write (or of a forced push), so the segment carrying that byte gets PSH
//! however cwnd and the peer's window cut the data into segments.
//!
//! Linux keeps the PSH bit on the tail skb of a write (`tcp_mark_push`) and moves it when more
//! data is appended to that skb before it leaves; it also forces a push once more than half the
//! peer's largest window has been written since the last push (`forced_push`). Here a segment
//! `[start, end)` gets PSH when a push point `p` lies in `start < p <= end`: appending to an
//! unsent segment therefore behaves the same (the segment carries the later point too).
//!
//! Memory is bounded: at most [`MAX_MARKS`] points, ascending, in one small record a
//! connection allocates at its first write under that policy (never per write). When full,
//! the oldest point already sent makes room (only a retransmission of that segment loses its
//! PSH); if none was sent, the newest point moves to the new write's end, as Linux's PSH moves
//! with its tail skb.

use synack_wire::SeqNum;

/// Push points remembered at most.
pub const MAX_MARKS: usize = 4;

/// What Linux sends while a write is still being copied (`PushPolicy::LinuxGso`): each time
/// `tcp_sendmsg` fills a buffer to the size goal it transmits, one packet when that buffer
/// is the first unsent one (`tcp_push_one`), everything the window allows after a forced
/// push. A buffer cut by such a send keeps its unsent rest as the queue's tail, which the
/// write then fills to the size goal again; so the buffers, and the forced push points at
/// their ends, shift by what was sent (and a push point on a cut buffer moves to its new
/// end, as the PSH flag stays on the buffer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteSends {
    /// The first byte not yet sent (SND.NXT).
    pub head: SeqNum,
    /// Bytes congestion control and the peer's window let out now.
    pub room: u32,
    /// The most one packet carries (Linux's per-packet quota: half the congestion window,
    /// the TSO autosize).
    pub packet: u32,
}

impl WriteSends {
    /// Nothing leaves during the write.
    pub const NONE: WriteSends = WriteSends { head: SeqNum(0), room: 0, packet: 0 };

    /// Sends up to `most` bytes, no further than `limit` (the data written so far).
    fn send(&mut self, most: u32, limit: SeqNum) {
        if limit.gt(self.head) {
            let n = most.min(self.room).min(limit.since(self.head));
            self.head += n;
            self.room -= n;
        }
    }
}

/// The push points of one connection's send queue.
#[derive(Clone, Copy, Debug)]
pub struct PushMarks {
    marks: [SeqNum; MAX_MARKS],
    len: u8,
    /// Linux's `pushed_seq`: the last push point made, for the forced push.
    pushed: SeqNum,
}

impl PushMarks {
    /// No marks; `start` is the first sequence number data will have.
    pub const fn new(start: SeqNum) -> PushMarks {
        PushMarks { marks: [SeqNum(0); MAX_MARKS], len: 0, pushed: start }
    }

    /// The marks, ascending.
    pub fn marks(&self) -> &[SeqNum] {
        &self.marks[..self.len as usize]
    }

    /// A write appended `[start, end)` to the send queue. `max_wnd` is the largest window the
    /// peer has offered and `chunk` the segment size: while writing, each time the data
    /// written since the last push point passes half of `max_wnd`, a push point goes at the
    /// end of the segment-sized chunk that passed it (Linux's `forced_push`, checked after
    /// each full chunk); the write's end is always a push point. `sent` is SND.MAX, to tell
    /// points of data already sent when making room.
    pub fn on_write(&mut self, start: SeqNum, end: SeqNum, max_wnd: u32, chunk: u32, sent: SeqNum) {
        self.on_write_sending(start, end, max_wnd, chunk, sent, WriteSends::NONE);
    }

    /// As [`PushMarks::on_write`], with what leaves while the write is copied (`sends`,
    /// see [`WriteSends`]): the buffers that decide the forced push points shift by it.
    pub fn on_write_sending(
        &mut self,
        start: SeqNum,
        end: SeqNum,
        max_wnd: u32,
        chunk: u32,
        sent: SeqNum,
        sends: WriteSends,
    ) {
        if end.gt(start) {
            self.forced_points(start, end, max_wnd, chunk, sent, sends);
            self.push_point(end, sent);
        }
    }

    /// As [`PushMarks::on_write`] for a write with more data announced (Linux's `MSG_MORE`):
    /// its end is a push point only when it is a forced one (more than half of `max_wnd`
    /// written since the last push point).
    pub fn on_write_more(
        &mut self,
        start: SeqNum,
        end: SeqNum,
        max_wnd: u32,
        chunk: u32,
        sent: SeqNum,
        sends: WriteSends,
    ) {
        if end.gt(start) {
            self.forced_points(start, end, max_wnd, chunk, sent, sends);
            if max_wnd > 0 && end.gt(self.pushed + max_wnd / 2) {
                self.push_point(end, sent);
            }
        }
    }

    /// The forced push points inside `[start, end)`.
    fn forced_points(
        &mut self,
        start: SeqNum,
        end: SeqNum,
        max_wnd: u32,
        chunk: u32,
        sent: SeqNum,
        mut sends: WriteSends,
    ) {
        let half = max_wnd / 2;
        if half > 0 && chunk > 0 {
            // Buffer by buffer while sends can cut them.
            let mut at = start;
            // A push point on the cut tail buffer, moving with its end.
            let mut moving: Option<SeqNum> = None;
            while sends.room > 0 || moving.is_some() {
                let full = at + chunk;
                if !end.gt(full) {
                    break;
                }
                if let Some(p) = moving.take() {
                    self.move_point(p, full);
                }
                let forced = full.gt(self.pushed + half);
                if forced {
                    self.push_point(full, sent);
                    sends.send(u32::MAX, full);
                } else if sends.head.ge(at) {
                    sends.send(sends.packet, full);
                }
                let marked = self.marks().last() == Some(&full);
                if sends.head.gt(at) && sends.head.lt(full) {
                    moving = marked.then_some(full);
                    at = sends.head;
                } else {
                    at = full;
                }
            }
            if let Some(p) = moving {
                // The write ends in the cut buffer: its push point is the buffer's end.
                self.move_point(p, end);
            }
            // Buffer ends lie at at + k * chunk from here; the first one past pushed + half.
            loop {
                let threshold = self.pushed + half;
                let need = if threshold.ge(at) { threshold.since(at) / chunk + 1 } else { 1 };
                let Some(step) = need.checked_mul(chunk) else { break };
                if step >= end.since(at) {
                    break;
                }
                at += step;
                self.push_point(at, sent);
            }
        }
    }

    /// The newest push point `from` moves to `to` (more data joined its buffer).
    fn move_point(&mut self, from: SeqNum, to: SeqNum) {
        let n = self.len as usize;
        if n > 0 && self.marks[n - 1] == from {
            self.marks[n - 1] = to;
        }
    }

    /// A write is about to append at `start` to a queue whose end is still unsent (`sent`
    /// is SND.MAX): Linux adds its bytes to the same tail buffer and drops that buffer's PSH
    /// (`tcp_sendmsg_locked` clears it on the first bytes a write appends), so the earlier
    /// write's end stops being a push point; the new write's end takes over.
    pub fn on_append(&mut self, start: SeqNum, sent: SeqNum) {
        let n = self.len as usize;
        if n > 0 && self.marks[n - 1] == start && start.gt(sent) {
            self.len -= 1;
        }
    }

    /// A push point at `p` besides a write's end (Linux's PSH on the data a Fast Open SYN
    /// carried, `tcp_send_syn_data`), kept in order; dropped when all slots hold points after
    /// it (only a retransmission of that data loses its PSH).
    pub fn insert(&mut self, p: SeqNum) {
        let n = self.len as usize;
        let at = self.marks().iter().take_while(|&&m| m.lt(p)).count();
        if at < n && self.marks[at] == p {
            return;
        }
        if n == MAX_MARKS {
            if at == 0 {
                return;
            }
            // Make room by forgetting the oldest point.
            self.marks.copy_within(1..at, 0);
            self.marks[at - 1] = p;
            return;
        }
        self.marks.copy_within(at..n, at + 1);
        self.marks[at] = p;
        self.len += 1;
    }

    fn push_point(&mut self, p: SeqNum, sent: SeqNum) {
        self.pushed = p;
        let n = self.len as usize;
        if n > 0 && !p.gt(self.marks[n - 1]) {
            return;
        }
        if n < MAX_MARKS {
            self.marks[n] = p;
            self.len += 1;
            return;
        }
        if self.marks[0].le(sent) {
            self.marks.copy_within(1.., 0);
        }
        self.marks[MAX_MARKS - 1] = p;
    }

    /// True when the segment `[start, end)` carries a push point.
    pub fn covers(&self, start: SeqNum, end: SeqNum) -> bool {
        self.marks().iter().any(|&p| p.gt(start) && p.le(end))
    }

    /// SND.UNA reached `una`: points at or below it are behind every segment still to send
    /// (called before each write, so acknowledged points free their slots).
    pub fn on_ack(&mut self, una: SeqNum) {
        let drop = self.marks().iter().take_while(|&&p| p.le(una)).count();
        if drop > 0 {
            self.marks.copy_within(drop.., 0);
            self.len -= drop as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSS: u32 = 1000;

    #[test]
    fn write_ends_are_push_points() {
        let mut m = PushMarks::new(SeqNum(1));
        m.on_write(SeqNum(1), SeqNum(15_001), 40_960, MSS, SeqNum(1));
        assert_eq!(m.marks(), &[SeqNum(15_001)]);
        assert!(m.covers(SeqNum(14_001), SeqNum(15_001)));
        assert!(!m.covers(SeqNum(1), SeqNum(10_001)));
        assert!(!m.covers(SeqNum(15_001), SeqNum(16_001)));
        m.on_write(SeqNum(15_001), SeqNum(15_501), 40_960, MSS, SeqNum(1));
        // A segment holding both writes' ends is one PSH.
        assert!(m.covers(SeqNum(14_001), SeqNum(15_501)));
        m.on_ack(SeqNum(15_001));
        assert_eq!(m.marks(), &[SeqNum(15_501)]);
    }

    #[test]
    fn forced_push_past_half_the_largest_window() {
        // Peer window 10000: a push point at the first chunk end past 5000 written.
        let mut m = PushMarks::new(SeqNum(1));
        m.on_write(SeqNum(1), SeqNum(20_001), 10_000, MSS, SeqNum(1));
        assert_eq!(m.marks(), &[SeqNum(6_001), SeqNum(12_001), SeqNum(18_001), SeqNum(20_001)]);
        // No window known yet: only the write's end.
        let mut m = PushMarks::new(SeqNum(1));
        m.on_write(SeqNum(1), SeqNum(20_001), 0, MSS, SeqNum(1));
        assert_eq!(m.marks(), &[SeqNum(20_001)]);
    }

    #[test]
    fn sends_during_a_write_shift_the_buffers_and_move_a_cut_buffers_point() {
        // Window 32,896 (half: 16,448), buffers of 16 segments, cwnd 2 with nothing in
        // flight, one segment per packet: the first full buffer sends 2001..3001, the
        // topped-up rest fills at 19001 (a forced push) and sends 3001..4001, so that
        // buffer's point moves to 20001 with the bytes that join it.
        let sends = WriteSends { head: SeqNum(2_001), room: 2_000, packet: 1_000 };
        let mut m = PushMarks::new(SeqNum(2_001));
        m.on_write_sending(SeqNum(2_001), SeqNum(202_001), 32_896, 16_000, SeqNum(2_001), sends);
        assert_eq!(m.marks(), &[SeqNum(20_001), SeqNum(36_001), SeqNum(68_001), SeqNum(202_001)]);
        // Nothing sent during the write: buffer ends from the write's start.
        let mut m = PushMarks::new(SeqNum(2_001));
        let none = WriteSends::NONE;
        m.on_write_sending(SeqNum(2_001), SeqNum(60_001), 32_896, 16_000, SeqNum(2_001), none);
        assert_eq!(m.marks(), &[SeqNum(34_001), SeqNum(60_001)]);
        // The write (with more announced: its end is no push point of its own) ends inside
        // the cut buffer: the forced point at 2001 moves to the write's end.
        let sends = WriteSends { head: SeqNum(1), room: 1_000, packet: 1_000 };
        let mut m = PushMarks::new(SeqNum(1));
        m.on_write_more(SeqNum(1), SeqNum(2_500), 2_000, 2_000, SeqNum(1), sends);
        assert_eq!(m.marks(), &[SeqNum(2_500)]);
    }

    #[test]
    fn bounded_and_keeps_the_newest() {
        let mut m = PushMarks::new(SeqNum(0));
        for k in 0..20u32 {
            m.on_write(SeqNum(k * 10), SeqNum(k * 10 + 10), 1 << 20, MSS, SeqNum(0));
        }
        assert_eq!(m.marks().len(), MAX_MARKS);
        assert_eq!(*m.marks().last().unwrap(), SeqNum(200));
        // With sent data, the oldest sent point makes room instead.
        let mut m = PushMarks::new(SeqNum(0));
        for k in 0..20u32 {
            m.on_write(SeqNum(k * 10), SeqNum(k * 10 + 10), 1 << 20, MSS, SeqNum(1000));
        }
        assert_eq!(m.marks().first(), Some(&SeqNum(170)));
        assert_eq!(m.marks().last(), Some(&SeqNum(200)));
    }

    #[test]
    fn appending_to_an_unsent_tail_moves_its_push_point() {
        let mut m = PushMarks::new(SeqNum(1));
        m.on_write(SeqNum(1), SeqNum(501), 40_960, MSS, SeqNum(1));
        // The first write's tail is unsent (SND.MAX 1): the second write takes its point.
        m.on_append(SeqNum(501), SeqNum(1));
        m.on_write(SeqNum(501), SeqNum(1_001), 40_960, MSS, SeqNum(1));
        assert_eq!(m.marks(), &[SeqNum(1_001)]);
        // Once sent, a write end stays a push point.
        m.on_append(SeqNum(1_001), SeqNum(1_001));
        m.on_write(SeqNum(1_001), SeqNum(1_501), 40_960, MSS, SeqNum(1_001));
        assert_eq!(m.marks(), &[SeqNum(1_001), SeqNum(1_501)]);
    }

    #[test]
    fn a_write_with_more_announced_ends_no_push_point() {
        let mut m = PushMarks::new(SeqNum(1));
        m.on_write_more(SeqNum(1), SeqNum(3_101), 40_960, MSS, SeqNum(1), WriteSends::NONE);
        assert!(m.marks().is_empty());
        m.on_write(SeqNum(3_101), SeqNum(3_151), 40_960, MSS, SeqNum(1));
        assert_eq!(m.marks(), &[SeqNum(3_151)]);
        // Unless it is a forced push: more than half the window (2000) since the last point.
        m.on_write_more(SeqNum(3_151), SeqNum(5_501), 4_000, 10_000, SeqNum(1), WriteSends::NONE);
        assert_eq!(m.marks(), &[SeqNum(3_151), SeqNum(5_501)]);
    }

    #[test]
    fn inserted_points_keep_their_order() {
        let mut m = PushMarks::new(SeqNum(1));
        m.on_write(SeqNum(1), SeqNum(6_001), 1 << 20, MSS, SeqNum(1));
        m.insert(SeqNum(1_421));
        m.insert(SeqNum(1_421));
        assert_eq!(m.marks(), &[SeqNum(1_421), SeqNum(6_001)]);
        for p in [100, 200, 300] {
            m.insert(SeqNum(p));
        }
        assert_eq!(m.marks(), &[SeqNum(200), SeqNum(300), SeqNum(1_421), SeqNum(6_001)]);
        // Older than every point held when full: not kept.
        m.insert(SeqNum(50));
        assert_eq!(m.marks().first(), Some(&SeqNum(200)));
    }

    #[test]
    fn wraps_around_the_sequence_space() {
        let start = SeqNum(u32::MAX - 500);
        let mut m = PushMarks::new(start);
        m.on_write(start, start + 1000, 40_960, MSS, start);
        assert!(m.covers(start + 500, start + 1000));
        m.on_ack(start + 1000);
        assert!(m.marks().is_empty());
    }
}
