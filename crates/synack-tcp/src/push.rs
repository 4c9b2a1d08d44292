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
        if !end.gt(start) {
            return;
        }
        let half = max_wnd / 2;
        if half > 0 && chunk > 0 {
            // Chunk ends lie at start + k * chunk; the first one past pushed + half.
            let mut at = start;
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
        self.push_point(end, sent);
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
    fn wraps_around_the_sequence_space() {
        let start = SeqNum(u32::MAX - 500);
        let mut m = PushMarks::new(start);
        m.on_write(start, start + 1000, 40_960, MSS, start);
        assert!(m.covers(start + 500, start + 1000));
        m.on_ack(start + 1000);
        assert!(m.marks().is_empty());
    }
}
