//! The endpoint's timer queue: at most one deadline per connection slot, in a binary heap
//! that knows where each slot's entry sits, so a deadline moves (or goes, when its
//! connection ends) in place.
//!
//! A heap of `(deadline, slot)` entries that are never moved, only added, leaves a stale
//! entry behind every time a deadline comes earlier and for every timer of a connection that
//! ends: a short connection left about three, each popped later at the cost of a full
//! sift-down through a heap several times larger than the number of connections. Here a
//! slot's entry changes its key instead, and leaves with its connection.
//!
//! Entries are ordered by deadline, then slot index, so the order in which due timers run
//! is fixed by the virtual time and the slot numbers alone.

use alloc::vec::Vec;

use crate::time::Instant;

/// A slot with no entry.
const NONE: u32 = u32::MAX;

/// Entries kept room for however few are left (20 bytes each with their positions), so
/// that connections coming and going in batches do not regrow the queue every batch.
const KEEP: usize = 1024;

/// Deadlines by connection slot, earliest first.
#[derive(Default)]
pub(super) struct TimerHeap {
    /// `deadline << 32 | slot` (microseconds), heap-ordered smallest first: one integer
    /// comparison orders two entries.
    heap: Vec<u128>,
    /// Where each slot's entry is in `heap`, or [`NONE`].
    pos: Vec<u32>,
}

fn key(at: Instant, slot: u32) -> u128 {
    u128::from(at.as_micros()) << 32 | u128::from(slot)
}

fn slot_of(k: u128) -> u32 {
    k as u32
}

fn at_of(k: u128) -> Instant {
    Instant::from_micros((k >> 32) as u64)
}

impl TimerHeap {
    /// Number of slots with a deadline.
    pub(super) fn len(&self) -> usize {
        self.heap.len()
    }

    /// The deadline of `slot`, if it has one.
    pub(super) fn deadline(&self, slot: u32) -> Option<Instant> {
        let p = *self.pos.get(slot as usize)?;
        (p != NONE).then(|| at_of(self.heap[p as usize]))
    }

    /// The earliest deadline and its slot.
    pub(super) fn peek(&self) -> Option<(Instant, u32)> {
        self.heap.first().map(|&k| (at_of(k), slot_of(k)))
    }

    /// Sets `slot`'s deadline to `at`, earlier or later than the one it had, or new.
    pub(super) fn schedule(&mut self, slot: u32, at: Instant) {
        let i = slot as usize;
        if self.pos.len() <= i {
            self.pos.resize(i + 1, NONE);
        }
        let k = key(at, slot);
        match self.pos[i] {
            NONE => {
                self.heap.push(k);
                self.sift_up(self.heap.len() - 1);
            }
            p => {
                let old = core::mem::replace(&mut self.heap[p as usize], k);
                if k < old {
                    self.sift_up(p as usize);
                } else {
                    self.sift_down(p as usize);
                }
            }
        }
    }

    /// Takes `slot`'s deadline away, if it has one.
    pub(super) fn cancel(&mut self, slot: u32) {
        let Some(&p) = self.pos.get(slot as usize) else { return };
        if p == NONE {
            return;
        }
        self.pos[slot as usize] = NONE;
        let last = self.heap.pop().expect("an entry is in the heap");
        let p = p as usize;
        if p < self.heap.len() {
            let old = core::mem::replace(&mut self.heap[p], last);
            self.pos[slot_of(last) as usize] = p as u32;
            if last < old {
                self.sift_up(p);
            } else {
                self.sift_down(p);
            }
        }
    }

    /// Removes the earliest deadline.
    pub(super) fn pop(&mut self) -> Option<(Instant, u32)> {
        let (at, slot) = self.peek()?;
        self.cancel(slot);
        Some((at, slot))
    }

    /// Forgets slots from `len` on (cut off the slot table; they have no deadlines).
    pub(super) fn truncate_slots(&mut self, len: usize) {
        debug_assert!(self.pos.iter().skip(len).all(|&p| p == NONE));
        self.pos.truncate(len);
    }

    /// Gives back capacity after a peak.
    pub(super) fn shrink(&mut self) {
        if self.heap.capacity() > 4 * (self.heap.len() + KEEP) {
            self.heap.shrink_to(2 * (self.heap.len() + KEEP));
        }
        if self.pos.capacity() > 4 * (self.pos.len() + KEEP) {
            self.pos.shrink_to(2 * (self.pos.len() + KEEP));
        }
    }

    /// Capacity of the heap, for tests of its shrinking.
    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        self.heap.capacity()
    }

    fn place(&mut self, i: usize, k: u128) {
        self.heap[i] = k;
        self.pos[slot_of(k) as usize] = i as u32;
    }

    fn sift_up(&mut self, mut i: usize) {
        let k = self.heap[i];
        while i > 0 {
            let parent = (i - 1) / 2;
            let pk = self.heap[parent];
            if pk <= k {
                break;
            }
            self.place(i, pk);
            i = parent;
        }
        self.place(i, k);
    }

    fn sift_down(&mut self, mut i: usize) {
        let k = self.heap[i];
        let n = self.heap.len();
        loop {
            let left = 2 * i + 1;
            if left >= n {
                break;
            }
            let right = left + 1;
            let child = if right < n && self.heap[right] < self.heap[left] { right } else { left };
            let ck = self.heap[child];
            if k <= ck {
                break;
            }
            self.place(i, ck);
            i = child;
        }
        self.place(i, k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// Checks the heap against a plain map of deadlines by slot.
    fn agrees(h: &TimerHeap, model: &BTreeMap<u32, Instant>) {
        assert_eq!(h.len(), model.len());
        let first = model.iter().map(|(&s, &t)| (t, s)).min();
        assert_eq!(h.peek(), first);
        for (&s, &t) in model {
            assert_eq!(h.deadline(s), Some(t));
        }
        for (i, &k) in h.heap.iter().enumerate() {
            assert_eq!(h.pos[slot_of(k) as usize] as usize, i);
            if i > 0 {
                assert!(h.heap[(i - 1) / 2] <= k);
            }
        }
    }

    #[test]
    fn deadlines_move_both_ways_and_leave_with_their_slot() {
        let mut h = TimerHeap::default();
        let t = Instant::from_millis;
        h.schedule(3, t(30));
        h.schedule(1, t(10));
        h.schedule(2, t(10));
        assert_eq!(h.peek(), Some((t(10), 1)), "ties go to the lower slot");
        h.schedule(1, t(50));
        assert_eq!(h.peek(), Some((t(10), 2)));
        h.cancel(2);
        h.cancel(2);
        assert_eq!(h.deadline(2), None);
        assert_eq!(h.pop(), Some((t(30), 3)));
        assert_eq!(h.pop(), Some((t(50), 1)));
        assert_eq!(h.pop(), None);
        assert_eq!(h.len(), 0);
    }

    proptest! {
        #[test]
        fn agrees_with_a_map_of_deadlines(
            ops in proptest::collection::vec((0u8..3, 0u32..40, 0u64..1000), 1..300)
        ) {
            let mut h = TimerHeap::default();
            let mut model = BTreeMap::new();
            for (op, slot, at) in ops {
                match op {
                    0 => {
                        h.schedule(slot, Instant::from_micros(at));
                        model.insert(slot, Instant::from_micros(at));
                    }
                    1 => {
                        h.cancel(slot);
                        model.remove(&slot);
                    }
                    _ => {
                        let want = model.iter().map(|(&s, &t)| (t, s)).min();
                        prop_assert_eq!(h.pop(), want);
                        if let Some((_, s)) = want {
                            model.remove(&s);
                        }
                    }
                }
                agrees(&h, &model);
            }
        }
    }
}
