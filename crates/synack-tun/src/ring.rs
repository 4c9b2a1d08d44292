//! Packet rings for batched mode: frames read from the kernel ahead of a poll, and frames a
//! poll queued for writing after it.
//!
//! The runtime's driver holds the stack's lock while the interface and engine run. Reading and
//! writing the TUN descriptor inside that lock would keep the application out for the whole of
//! every system call, and on TUN those calls are long: a write runs the kernel's IP and TCP
//! input for the packet, a read copies it out. The rings let the driver do the system calls
//! with the lock released, a batch at a time, while the interface still sees each frame in
//! device memory with no extra copy. The rings hold slots for whole packets and never grow.

use std::io;
use std::ops::Range;

use crate::vnet::HDR_LEN;

/// Frames read ahead of a poll, handed out in order.
#[derive(Debug)]
pub(crate) struct RxRing {
    buf: Box<[u8]>,
    slot_len: usize,
    /// Where each slot's frame lies within the slot.
    frames: Vec<Range<usize>>,
    /// Next frame to hand out.
    next: usize,
    /// Slots holding frames (handed out or not).
    filled: usize,
}

/// What one read into a slot produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Read {
    /// A frame, at this range of the slot.
    Frame(Range<usize>),
    /// A packet was read and dropped (counted by the reader); the slot stays free.
    Dropped,
    /// Nothing more to read now.
    Dry,
}

/// Appends a frame to the previous one where the two can stand as one: gets the previous
/// frame's whole slot, where its frame lies, and the new frame; returns the merged frame's
/// range in the slot, or `None` to keep them apart.
pub(crate) type Merge<'a> =
    &'a mut dyn FnMut(&mut [u8], Range<usize>, &[u8]) -> Option<Range<usize>>;

/// What one [`RxRing::fill`] did.
#[derive(Debug, Default)]
pub(crate) struct Fill {
    /// Frames read (merged ones included).
    pub(crate) frames: usize,
    /// Bytes read (of frames, not of headers in front of them).
    pub(crate) bytes: u64,
    /// Frames appended to the one before instead of taking a slot.
    pub(crate) merged: usize,
    /// The ring filled up before the reader ran dry: more may be waiting.
    pub(crate) full: bool,
    /// The read error that stopped the fill, if one did.
    pub(crate) error: Option<io::Error>,
}

impl RxRing {
    /// A ring of `slots` slots of `slot_len` bytes (untouched memory stays unmapped until used).
    pub(crate) fn new(slots: usize, slot_len: usize) -> RxRing {
        let slots = slots.max(1);
        RxRing {
            buf: vec![0u8; slots * slot_len].into_boxed_slice(),
            slot_len,
            frames: vec![0..0; slots],
            next: 0,
            filled: 0,
        }
    }

    /// Number of slots.
    pub(crate) fn capacity(&self) -> usize {
        self.frames.len()
    }

    /// Frames read and not yet handed out.
    pub(crate) fn pending(&self) -> usize {
        self.frames[self.next..self.filled].iter().filter(|r| !r.is_empty()).count()
    }

    /// Reads frames into the free slots until `read` runs dry, fails, or the ring is full.
    /// `read` gets a whole slot. With `merge`, each frame read is first offered to the frame
    /// before it (when that one has not been handed out yet).
    pub(crate) fn fill(
        &mut self,
        mut read: impl FnMut(&mut [u8]) -> io::Result<Read>,
        mut merge: Option<Merge<'_>>,
    ) -> Fill {
        self.rewind_if_drained();
        let mut out = Fill::default();
        while self.filled < self.capacity() {
            let start = self.filled * self.slot_len;
            let (before, rest) = self.buf.split_at_mut(start);
            let slot = &mut rest[..self.slot_len];
            let range = match read(slot) {
                // A reader claiming more than the slot is a bug; keep what fits.
                Ok(Read::Frame(r)) => r.start.min(self.slot_len)..r.end.min(self.slot_len),
                Ok(Read::Dropped) => continue,
                Ok(Read::Dry) => return out,
                Err(e) => {
                    out.error = Some(e);
                    return out;
                }
            };
            out.frames += 1;
            out.bytes += range.len() as u64;
            if let Some(m) = merge.as_mut()
                && self.filled > self.next
                && !self.frames[self.filled - 1].is_empty()
            {
                let prev = self.filled - 1;
                let prev_slot = &mut before[prev * self.slot_len..];
                if let Some(r) = m(prev_slot, self.frames[prev].clone(), &slot[range.clone()]) {
                    self.frames[prev] = r;
                    out.merged += 1;
                    continue;
                }
            }
            self.frames[self.filled] = range;
            self.filled += 1;
        }
        out.full = true;
        out
    }

    /// Starts over at the first slot when every frame read has been handed out.
    fn rewind_if_drained(&mut self) {
        while self.next < self.filled && self.frames[self.next].is_empty() {
            self.next += 1;
        }
        if self.next == self.filled {
            self.next = 0;
            self.filled = 0;
        }
    }

    /// The free slots, in order, for reads done elsewhere (all at once) and then settled
    /// with [`complete`](Self::complete).
    pub(crate) fn free_slots(&mut self) -> std::slice::ChunksExactMut<'_, u8> {
        self.rewind_if_drained();
        self.buf[self.filled * self.slot_len..].chunks_exact_mut(self.slot_len)
    }

    /// Takes in the reads done into the first `results.len()` free slots: each result is the
    /// bytes read, or a negated `errno` (`EAGAIN`: the queue was empty). `settle` gets each
    /// slot and its length and says where the frame lies; with `merge`, a frame is first
    /// offered to the pending frame before it. Slots whose read brought no frame (or whose
    /// frame was merged) are left as holes, skipped when handing out. `full` is set when
    /// every read brought a packet, so more may be waiting.
    pub(crate) fn complete(
        &mut self,
        results: &[i32],
        mut settle: impl FnMut(&mut [u8], usize) -> Read,
        mut merge: Option<Merge<'_>>,
    ) -> Fill {
        let mut out = Fill { full: true, ..Fill::default() };
        let first = self.filled;
        // The pending frame a new one may join.
        let mut prev = (first > self.next && !self.frames[first - 1].is_empty()).then(|| first - 1);
        let mut last = first;
        for (k, &res) in results.iter().enumerate() {
            let i = first + k;
            if i >= self.capacity() {
                break;
            }
            self.frames[i] = 0..0;
            let n = match usize::try_from(res) {
                Ok(n) => n.min(self.slot_len),
                Err(_) => {
                    out.full = false;
                    if res != -libc::EAGAIN {
                        out.error = Some(io::Error::from_raw_os_error(-res));
                    }
                    continue;
                }
            };
            let (before, rest) = self.buf.split_at_mut(i * self.slot_len);
            let slot = &mut rest[..self.slot_len];
            let range = match settle(slot, n) {
                Read::Frame(r) => r.start.min(self.slot_len)..r.end.min(self.slot_len),
                Read::Dropped | Read::Dry => continue,
            };
            out.frames += 1;
            out.bytes += range.len() as u64;
            last = i + 1;
            if let (Some(m), Some(p)) = (merge.as_mut(), prev) {
                let prev_slot = &mut before[p * self.slot_len..(p + 1) * self.slot_len];
                if let Some(r) = m(prev_slot, self.frames[p].clone(), &slot[range.clone()]) {
                    self.frames[p] = r;
                    out.merged += 1;
                    continue;
                }
            }
            self.frames[i] = range;
            prev = Some(i);
        }
        // Trailing holes stay free for the next reads.
        self.filled = last;
        out
    }

    /// The next frame read ahead, if any.
    pub(crate) fn pop(&mut self) -> Option<&[u8]> {
        // Frames taken out by `divert` are left as empty ranges.
        while self.next < self.filled && self.frames[self.next].is_empty() {
            self.next += 1;
        }
        if self.next == self.filled {
            return None;
        }
        let i = self.next;
        self.next += 1;
        let start = i * self.slot_len;
        let r = self.frames[i].clone();
        Some(&self.buf[start + r.start..start + r.end])
    }

    /// Offers every frame read ahead and not yet handed out to `take`; the frames it takes
    /// (returns true for) are dropped from the ring. Returns how many were taken.
    pub(crate) fn divert(&mut self, mut take: impl FnMut(&[u8]) -> bool) -> usize {
        let mut taken = 0;
        for i in self.next..self.filled {
            let r = self.frames[i].clone();
            if r.is_empty() {
                continue;
            }
            let start = i * self.slot_len;
            if take(&self.buf[start + r.start..start + r.end]) {
                self.frames[i] = 0..0;
                taken += 1;
            }
        }
        while self.next < self.filled && self.frames[self.next].is_empty() {
            self.next += 1;
        }
        taken
    }
}

/// Frames queued by a poll, written out afterwards in order.
#[derive(Debug)]
pub(crate) struct TxRing {
    buf: Box<[u8]>,
    slot_len: usize,
    /// Where each queued frame lies within its slot.
    frames: Vec<Range<usize>>,
    /// The virtio-net header of each queued frame (unused without one).
    hdrs: Vec<[u8; HDR_LEN]>,
    queued: usize,
}

/// What one [`TxRing::flush`] did.
#[derive(Debug, Default)]
pub(crate) struct Flush {
    /// Frames written.
    pub(crate) frames: usize,
    /// Bytes written.
    pub(crate) bytes: u64,
    /// Frames the writer failed on (dropped), with the last error.
    pub(crate) failed: usize,
    /// The last write error.
    pub(crate) error: Option<io::Error>,
}

impl TxRing {
    /// A ring of `slots` slots of `slot_len` bytes.
    pub(crate) fn new(slots: usize, slot_len: usize) -> TxRing {
        let slots = slots.max(1);
        TxRing {
            buf: vec![0u8; slots * slot_len].into_boxed_slice(),
            slot_len,
            frames: vec![0..0; slots],
            hdrs: vec![[0; HDR_LEN]; slots],
            queued: 0,
        }
    }

    /// Number of slots.
    pub(crate) fn capacity(&self) -> usize {
        self.frames.len()
    }

    /// Frames queued and not yet written.
    pub(crate) fn queued(&self) -> usize {
        self.queued
    }

    /// The next free slot and the place to record its frame's range; `None` when full.
    pub(crate) fn next_slot(&mut self) -> Option<(&mut [u8], Slot<'_>)> {
        if self.queued == self.capacity() {
            return None;
        }
        let i = self.queued;
        let start = i * self.slot_len;
        let slot = &mut self.buf[start..start + self.slot_len];
        Some((
            slot,
            Slot { range: &mut self.frames[i], hdr: &mut self.hdrs[i], queued: &mut self.queued },
        ))
    }

    /// Every queued frame, in order, with its virtio-net header.
    pub(crate) fn queued_frames(&self) -> impl ExactSizeIterator<Item = (&[u8; HDR_LEN], &[u8])> {
        (0..self.queued).map(|i| {
            let r = self.frames[i].clone();
            let start = i * self.slot_len;
            (&self.hdrs[i], &self.buf[start + r.start..start + r.end])
        })
    }

    /// Empties the ring after its frames were written elsewhere; `results` holds each
    /// write's bytes or negated `errno`, in order.
    pub(crate) fn written(&mut self, results: &[i32]) -> Flush {
        let mut out = Flush::default();
        for (i, &res) in results.iter().enumerate().take(self.queued) {
            if res >= 0 {
                out.frames += 1;
                out.bytes += self.frames[i].len() as u64;
            } else {
                out.failed += 1;
                out.error = Some(io::Error::from_raw_os_error(-res));
            }
        }
        self.queued = 0;
        out
    }

    /// Writes every queued frame with `write` (given its header and the frame), in order, and
    /// empties the ring. A frame whose write fails is dropped (as a full NIC queue would drop
    /// it) and the rest still go.
    pub(crate) fn flush(
        &mut self,
        mut write: impl FnMut(&[u8; HDR_LEN], &[u8]) -> io::Result<usize>,
    ) -> Flush {
        let mut out = Flush::default();
        for i in 0..self.queued {
            let r = self.frames[i].clone();
            let start = i * self.slot_len;
            let frame = &self.buf[start + r.start..start + r.end];
            match write(&self.hdrs[i], frame) {
                Ok(_) => {
                    out.frames += 1;
                    out.bytes += frame.len() as u64;
                }
                Err(e) => {
                    out.failed += 1;
                    out.error = Some(e);
                }
            }
        }
        self.queued = 0;
        out
    }
}

/// A claimed transmit slot: [`Slot::commit`] queues the frame written into it.
#[derive(Debug)]
pub(crate) struct Slot<'a> {
    range: &'a mut Range<usize>,
    hdr: &'a mut [u8; HDR_LEN],
    queued: &'a mut usize,
}

impl Slot<'_> {
    /// Queues the frame at `range` of the slot (already checked to lie inside it) with its
    /// virtio-net header.
    pub(crate) fn commit(self, range: Range<usize>, hdr: [u8; HDR_LEN]) {
        *self.range = range;
        *self.hdr = hdr;
        *self.queued += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out `frames` one per call, then runs dry.
    fn reader(frames: Vec<Vec<u8>>) -> impl FnMut(&mut [u8]) -> io::Result<Read> {
        let mut src = frames.into_iter();
        move |slot: &mut [u8]| {
            Ok(match src.next() {
                Some(p) => {
                    slot[..p.len()].copy_from_slice(&p);
                    Read::Frame(0..p.len())
                }
                None => Read::Dry,
            })
        }
    }

    #[test]
    fn rx_fills_until_dry_and_hands_out_in_order() {
        let mut ring = RxRing::new(4, 16);
        let f = ring.fill(reader(vec![b"abc".to_vec(), b"de".to_vec()]), None);
        assert_eq!((f.frames, f.bytes, f.full, f.error.is_none()), (2, 5, false, true));
        assert_eq!(ring.pending(), 2);
        assert_eq!(ring.pop(), Some(&b"abc"[..]));
        assert_eq!(ring.pop(), Some(&b"de"[..]));
        assert_eq!(ring.pop(), None);
    }

    #[test]
    fn diverted_frames_are_skipped_and_free_their_slots() {
        let mut ring = RxRing::new(3, 16);
        let frames = vec![b"a1".to_vec(), b"b2".to_vec(), b"a3".to_vec()];
        ring.fill(reader(frames), None);
        let mut out = Vec::new();
        let taken = ring.divert(|f| {
            let take = f[0] == b'a';
            if take {
                out.push(f.to_vec());
            }
            take
        });
        assert_eq!((taken, ring.pending()), (2, 1));
        assert_eq!(out, vec![b"a1".to_vec(), b"a3".to_vec()]);
        assert_eq!(ring.pop(), Some(&b"b2"[..]));
        assert_eq!(ring.pop(), None);
        // Everything diverted: the ring is empty and refills from its first slot.
        ring.fill(reader(vec![b"a4".to_vec()]), None);
        assert_eq!(ring.divert(|_| true), 1);
        assert_eq!(ring.pending(), 0);
        let f = ring.fill(reader(vec![b"x".to_vec(), b"y".to_vec(), b"z".to_vec()]), None);
        assert_eq!((f.frames, f.full), (3, true));
    }

    #[test]
    fn rx_stops_when_full_and_reuses_slots_once_drained() {
        let mut ring = RxRing::new(2, 8);
        let mut n = 0u8;
        let mut read = |slot: &mut [u8]| {
            n += 1;
            slot[0] = n;
            Ok(Read::Frame(0..1))
        };
        let f = ring.fill(&mut read, None);
        assert_eq!((f.frames, f.full), (2, true));
        // Nothing handed out yet: a second fill finds no free slot.
        assert_eq!(ring.fill(&mut read, None).frames, 0);
        assert_eq!(ring.pop(), Some(&[1u8][..]));
        // One still pending: no slot is reused under it.
        assert_eq!(ring.fill(&mut read, None).frames, 0);
        assert_eq!(ring.pop(), Some(&[2u8][..]));
        let f = ring.fill(&mut read, None);
        assert_eq!(f.frames, 2);
        // The refused fills never called the reader: the next frames are its 3rd and 4th.
        assert_eq!(ring.pop(), Some(&[3u8][..]));
    }

    #[test]
    fn rx_error_stops_the_fill_and_keeps_what_was_read() {
        let mut ring = RxRing::new(4, 8);
        let mut calls = 0;
        let f = ring.fill(
            |slot| {
                calls += 1;
                if calls == 2 {
                    return Err(io::Error::other("boom"));
                }
                slot[0] = 7;
                Ok(Read::Frame(0..1))
            },
            None,
        );
        assert_eq!((f.frames, f.full), (1, false));
        assert!(f.error.is_some());
        assert_eq!(ring.pop(), Some(&[7u8][..]));
        // A reader claiming more than the slot holds is cut to the slot.
        let f = ring.fill(|_| Ok(Read::Frame(0..100)), None);
        assert_eq!(f.frames, 4);
        assert_eq!(ring.pop().map(<[u8]>::len), Some(8));
    }

    #[test]
    fn rx_frames_lie_anywhere_in_their_slot_and_dropped_reads_take_no_slot() {
        let mut ring = RxRing::new(2, 16);
        let mut calls = 0;
        let f = ring.fill(
            |slot| {
                calls += 1;
                Ok(match calls {
                    1 => {
                        slot[..6].copy_from_slice(b"hdrabc");
                        Read::Frame(3..6)
                    }
                    2 => Read::Dropped,
                    3 => {
                        slot[..2].copy_from_slice(b"xy");
                        Read::Frame(0..2)
                    }
                    _ => Read::Dry,
                })
            },
            None,
        );
        assert_eq!((f.frames, f.full), (2, true));
        assert_eq!(ring.pop(), Some(&b"abc"[..]));
        assert_eq!(ring.pop(), Some(&b"xy"[..]));
    }

    #[test]
    fn rx_merge_appends_to_the_pending_frame_only() {
        let mut ring = RxRing::new(4, 16);
        // Frames starting with `+` join the one before.
        let mut merge = |prev: &mut [u8], r: Range<usize>, cur: &[u8]| {
            if cur[0] != b'+' || r.len() + cur.len() - 1 > 16 - r.start {
                return None;
            }
            prev[r.end..r.end + cur.len() - 1].copy_from_slice(&cur[1..]);
            Some(r.start..r.end + cur.len() - 1)
        };
        let frames = vec![b"ab".to_vec(), b"+cd".to_vec(), b"ef".to_vec(), b"+g".to_vec()];
        let f = ring.fill(reader(frames), Some(&mut merge));
        assert_eq!((f.frames, f.merged), (4, 2));
        assert_eq!(ring.pop(), Some(&b"abcd"[..]));
        // "ef" handed out: a later "+h" does not join it.
        assert_eq!(ring.pop(), Some(&b"efg"[..]));
        let f = ring.fill(reader(vec![b"+h".to_vec()]), Some(&mut merge));
        assert_eq!((f.frames, f.merged), (1, 0));
        assert_eq!(ring.pop(), Some(&b"+h"[..]));
    }

    #[test]
    fn tx_queues_until_full_and_flushes_in_order_past_errors() {
        let mut ring = TxRing::new(3, 16);
        for (i, text) in [&b"one"[..], b"two", b"three"].into_iter().enumerate() {
            let (slot, s) = ring.next_slot().expect("room");
            slot[i..i + text.len()].copy_from_slice(text);
            s.commit(i..i + text.len(), [i as u8; HDR_LEN]);
        }
        assert!(ring.next_slot().is_none(), "full");
        assert_eq!(ring.queued(), 3);
        let mut seen = Vec::new();
        let f = ring.flush(|hdr, frame| {
            seen.push((hdr[0], frame.to_vec()));
            if frame == b"two" { Err(io::Error::other("full")) } else { Ok(frame.len()) }
        });
        assert_eq!(seen, vec![(0, b"one".to_vec()), (1, b"two".to_vec()), (2, b"three".to_vec())]);
        assert_eq!((f.frames, f.bytes, f.failed), (2, 8, 1));
        assert_eq!(ring.queued(), 0);
        // A claimed slot that is not committed queues nothing.
        let _ = ring.next_slot().expect("room again");
        assert_eq!(ring.flush(|_, _| Ok(0)).frames, 0);
    }
}
