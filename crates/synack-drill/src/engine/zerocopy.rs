//! `MSG_ZEROCOPY` completions as Linux reports them on a socket's error queue.
//!
//! Each `send` with `MSG_ZEROCOPY` on a socket with `SO_ZEROCOPY` set takes the next 32-bit
//! id; when the peer has acknowledged all of its bytes the application learns it from
//! `recvmsg(MSG_ERRQUEUE)`: one `sock_extended_err` with origin `SO_EE_ORIGIN_ZEROCOPY` whose
//! `ee_info..=ee_data` is a range of ids. The engine always copies the data into its send
//! buffer, so every completion carries `SO_EE_CODE_ZEROCOPY_COPIED`, as Linux's does when the
//! device could not take the pages (packetdrill's tun device).
//!
//! As Linux does, `msg_zerocopy_realloc` lets a send extend the previous send's range while that
//! send's data still sits unsent at the tail of the write queue (one completion for both),
//! and `__msg_zerocopy_callback` extends the newest queued completion when the next range
//! follows it directly, so a reader that waits sees one entry for several sends.

use std::collections::VecDeque;

/// A range of send ids whose data is still unacknowledged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Outstanding {
    lo: u32,
    hi: u32,
    /// Stream offset just past the range's last byte.
    end: u64,
}

/// One completion as `recvmsg(MSG_ERRQUEUE)` returns it: `ee_info` = `lo`, `ee_data` = `hi`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Completion {
    /// First send id covered (`ee_info`).
    pub(super) lo: u32,
    /// Last send id covered (`ee_data`).
    pub(super) hi: u32,
}

/// A socket's zerocopy ids, outstanding sends and queued completions.
#[derive(Clone, Debug, Default)]
pub(super) struct ZeroCopy {
    next_id: u32,
    outstanding: VecDeque<Outstanding>,
    queue: VecDeque<Completion>,
    /// Completions added so far (each one wakes the socket's waiters).
    pub(super) added: u64,
}

impl ZeroCopy {
    /// A send put the stream bytes `start..end` in the send buffer. `extends` says the
    /// previous send's data was still unsent at its tail, so Linux grows that send's range.
    pub(super) fn sent(&mut self, start: u64, end: u64, extends: bool) {
        let id = self.next_id;
        self.next_id = id.wrapping_add(1);
        if extends
            && let Some(last) = self.outstanding.back_mut()
            && last.hi.wrapping_add(1) == id
            && last.end == start
        {
            last.hi = id;
            last.end = end;
            return;
        }
        self.outstanding.push_back(Outstanding { lo: id, hi: id, end });
    }

    /// The peer has acknowledged the stream up to `acked`: sends wholly below it complete.
    /// `gone` completes everything (the connection and its send buffer are gone).
    pub(super) fn acked(&mut self, acked: u64, gone: bool) {
        while let Some(o) = self.outstanding.front().copied() {
            if o.end > acked && !gone {
                break;
            }
            self.outstanding.pop_front();
            self.complete(o.lo, o.hi);
        }
    }

    fn complete(&mut self, lo: u32, hi: u32) {
        self.added += 1;
        if let Some(tail) = self.queue.back_mut()
            && tail.hi.wrapping_add(1) == lo
        {
            tail.hi = hi;
            return;
        }
        self.queue.push_back(Completion { lo, hi });
    }

    /// The oldest queued completion, taken off the queue.
    pub(super) fn pop(&mut self) -> Option<Completion> {
        self.queue.pop_front()
    }

    /// True when a completion waits (the socket polls `POLLERR`).
    pub(super) fn pending(&self) -> bool {
        !self.queue.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_send_completes_when_acknowledged() {
        let mut z = ZeroCopy::default();
        z.sent(0, 4000, false);
        z.acked(3999, false);
        assert_eq!(z.pop(), None);
        z.acked(4000, false);
        assert_eq!(z.pop(), Some(Completion { lo: 0, hi: 0 }));
        z.sent(4000, 8000, false);
        z.acked(8000, false);
        assert_eq!(z.pop(), Some(Completion { lo: 1, hi: 1 }));
        assert!(!z.pending());
    }

    #[test]
    fn completions_queued_back_to_back_merge() {
        let mut z = ZeroCopy::default();
        z.sent(0, 10, false);
        z.sent(10, 20, false);
        z.acked(10, false);
        z.acked(20, false);
        z.sent(20, 30, false);
        z.acked(30, false);
        assert_eq!(z.pop(), Some(Completion { lo: 0, hi: 2 }));
        assert_eq!(z.added, 3);
    }

    #[test]
    fn a_read_between_completions_splits_them() {
        let mut z = ZeroCopy::default();
        z.sent(0, 10, false);
        z.acked(10, false);
        assert_eq!(z.pop(), Some(Completion { lo: 0, hi: 0 }));
        z.sent(10, 20, false);
        z.acked(20, false);
        assert_eq!(z.pop(), Some(Completion { lo: 1, hi: 1 }));
    }

    #[test]
    fn an_extended_send_completes_with_its_last_byte() {
        let mut z = ZeroCopy::default();
        z.sent(0, 10, false);
        z.sent(10, 20, true);
        z.acked(10, false);
        assert_eq!(z.pop(), None, "the first send's range grew to cover the second");
        z.acked(20, false);
        assert_eq!(z.pop(), Some(Completion { lo: 0, hi: 1 }));
    }

    #[test]
    fn a_gone_connection_completes_everything() {
        let mut z = ZeroCopy::default();
        z.sent(0, 10, false);
        z.acked(0, true);
        assert_eq!(z.pop(), Some(Completion { lo: 0, hi: 0 }));
    }
}
