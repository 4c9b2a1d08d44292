//! Out-of-order reassembly bookkeeping for the receive half.
//!
//! The assembler tracks *which* sequence ranges beyond RCV.NXT have arrived; the bytes themselves
//! live in the receive [`RingBuffer`](crate::ring::RingBuffer), placed with `write_at` at offset
//! `seq - RCV.NXT`. When a segment starts at RCV.NXT (or fills the hole before held ranges), the
//! assembler reports how many bytes became contiguous and the caller `commit`s that many.
//!
//! Memory is bounded two ways, so a flood of tiny out-of-order segments cannot exhaust it:
//! * at most `max_ranges` disjoint ranges are held (adjacent and overlapping ranges coalesce);
//!   a segment that would need one more is refused with [`Inserted::Dropped`], while data at
//!   RCV.NXT is always accepted (it never adds a range), so progress is never blocked;
//! * nothing beyond `RCV.NXT + max_bytes` is held (the caller passes its window); bytes past it
//!   are trimmed and reported.
//!
//! It also keeps what SACK generation needs: the held ranges in order and the range the most
//! recent segment landed in (RFC 2018 section 4 puts that one first).
//!
//! ```
//! use synack_tcp::assembler::{Assembler, AssemblerLimits, Inserted};
//! use synack_wire::SeqNum;
//! let mut asm = Assembler::new(SeqNum(1000), AssemblerLimits::default());
//! // 1100..1200 arrives first: held, nothing contiguous yet.
//! assert!(matches!(asm.insert(SeqNum(1100), 100), Inserted::Held { .. }));
//! // 1000..1100 fills the hole: 200 bytes are now contiguous.
//! assert!(matches!(asm.insert(SeqNum(1000), 100), Inserted::Advanced { bytes: 200, .. }));
//! assert_eq!(asm.rcv_nxt(), SeqNum(1200));
//! ```

use alloc::boxed::Box;
use alloc::vec::Vec;
use synack_wire::SeqNum;

/// Bounds on what the assembler holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AssemblerLimits {
    /// Most disjoint out-of-order ranges held at once. Default 1024: far more holes than a real
    /// window produces, yet 8 KiB of bookkeeping at most.
    pub max_ranges: usize,
    /// Nothing beyond `RCV.NXT + max_bytes` is held. Set it to the receive window (the ring's
    /// free space); default 1 GiB (the largest scaled window).
    pub max_bytes: u32,
}

impl Default for AssemblerLimits {
    fn default() -> Self {
        AssemblerLimits { max_ranges: 1024, max_bytes: 1 << 30 }
    }
}

/// Why some or all of a segment was not held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DropReason {
    /// Holding it would exceed `max_ranges`.
    TooManyRanges,
    /// It lies (entirely) beyond `RCV.NXT + max_bytes`.
    BeyondWindow,
}

/// What [`Assembler::insert`] did with a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inserted {
    /// Data at RCV.NXT arrived: `bytes` became contiguous (this segment plus any held ranges it
    /// joined). RCV.NXT moved by `bytes`; the caller commits that many ring bytes.
    /// `filled_hole` is true when held ranges were joined (RFC 5681 section 4.2 asks for an
    /// immediate ACK then). `trimmed` bytes past the window were dropped.
    Advanced {
        /// Bytes now contiguous.
        bytes: u32,
        /// A held range was joined.
        filled_hole: bool,
        /// Bytes past `RCV.NXT + max_bytes` not taken.
        trimmed: u32,
    },
    /// Out-of-order data was held (possibly merged with neighbours); `new_bytes` of it was not
    /// held before. `trimmed` bytes past the window were dropped.
    Held {
        /// Bytes not previously held.
        new_bytes: u32,
        /// Bytes past `RCV.NXT + max_bytes` not taken.
        trimmed: u32,
    },
    /// Everything in the segment was already received (below RCV.NXT or already held): a
    /// duplicate, which RFC 2883 reports as a D-SACK block.
    Duplicate,
    /// Nothing was held.
    Dropped(DropReason),
}

/// Out-of-order range tracker. See the module docs.
///
/// Every connection's receive half has one, and nearly always it holds nothing, so what it
/// holds lives in a box that exists only while out-of-order data does (made by the first
/// held segment, freed when the last hole fills or on [`Assembler::reset`]): 24 bytes in the
/// connection instead of 56 (idle memory), and a connection idle after a loss
/// episode keeps no range list.
#[derive(Clone, Debug)]
pub struct Assembler {
    rcv_nxt: SeqNum,
    /// Nothing beyond `rcv_nxt + max_bytes` is held.
    max_bytes: u32,
    /// [`AssemblerLimits::max_ranges`], capped at `u32::MAX`.
    max_ranges: u32,
    /// `None` while nothing is held; never an empty range list.
    held: Option<Box<Held>>,
}

/// What [`Assembler`] holds while out-of-order data is present.
#[derive(Clone, Debug, Default)]
struct Held {
    /// Disjoint, non-adjacent ranges `[start, end)`, sorted, all strictly after `rcv_nxt`;
    /// never empty.
    ranges: Vec<(SeqNum, SeqNum)>,
    /// The held range the latest accepted out-of-order segment landed in (its left edge and
    /// the segment's first sequence number), for SACK ordering.
    last: Option<SeqNum>,
}

impl Assembler {
    /// An empty assembler expecting `rcv_nxt` next.
    pub fn new(rcv_nxt: SeqNum, limits: AssemblerLimits) -> Assembler {
        Assembler {
            rcv_nxt,
            max_bytes: limits.max_bytes,
            max_ranges: u32::try_from(limits.max_ranges).unwrap_or(u32::MAX),
            held: None,
        }
    }

    /// The held ranges as a slice (empty when nothing is held).
    fn slice(&self) -> &[(SeqNum, SeqNum)] {
        self.held.as_deref().map_or(&[], |h| h.ranges.as_slice())
    }

    /// True while out-of-order state is allocated (for tests of the lazy allocation).
    pub fn is_allocated(&self) -> bool {
        self.held.is_some()
    }

    /// The next in-order sequence number expected (RCV.NXT as far as data goes).
    pub fn rcv_nxt(&self) -> SeqNum {
        self.rcv_nxt
    }

    /// Changes the window limit (call when the receive window changes).
    pub fn set_max_bytes(&mut self, max_bytes: u32) {
        self.max_bytes = max_bytes;
    }

    /// The limits in force.
    pub fn limits(&self) -> AssemblerLimits {
        AssemblerLimits { max_ranges: self.max_ranges as usize, max_bytes: self.max_bytes }
    }

    /// True when no out-of-order data is held.
    pub fn is_empty(&self) -> bool {
        self.held.is_none()
    }

    /// Number of disjoint ranges held.
    pub fn range_count(&self) -> usize {
        self.slice().len()
    }

    /// Out-of-order bytes held.
    pub fn held_bytes(&self) -> u32 {
        self.slice().iter().map(|&(s, e)| e.since(s)).sum()
    }

    /// The held ranges `[start, end)` in sequence order.
    pub fn ranges(
        &self,
    ) -> impl DoubleEndedIterator<Item = (SeqNum, SeqNum)> + ExactSizeIterator + '_ {
        self.slice().iter().copied()
    }

    /// The held range containing `seq`, if any.
    pub fn range_containing(&self, seq: SeqNum) -> Option<(SeqNum, SeqNum)> {
        let ranges = self.slice();
        let i = ranges.partition_point(|&(_, e)| e.le(seq));
        ranges.get(i).copied().filter(|&(s, _)| s.le(seq))
    }

    /// The held range that the most recently accepted out-of-order segment is part of now
    /// (after any merging), or `None` if that data has since become contiguous.
    pub fn most_recent_range(&self) -> Option<(SeqNum, SeqNum)> {
        self.held.as_ref().and_then(|h| h.last).and_then(|seq| self.range_containing(seq))
    }

    /// Records that `[seq, seq+len)` arrived. See [`Inserted`] for the outcomes.
    pub fn insert(&mut self, seq: SeqNum, len: u32) -> Inserted {
        let window_end = self.rcv_nxt + self.max_bytes;
        let mut start = seq;
        let mut end = seq + len;
        if len == 0 || end.le(self.rcv_nxt) {
            return Inserted::Duplicate;
        }
        if start.lt(self.rcv_nxt) {
            start = self.rcv_nxt;
        }
        let mut trimmed = 0;
        if end.gt(window_end) {
            if start.ge(window_end) {
                return Inserted::Dropped(DropReason::BeyondWindow);
            }
            trimmed = end.since(window_end);
            end = window_end;
        }

        // Ranges overlapping or touching [start, end): indices lo..hi.
        let ranges = self.slice();
        let lo = ranges.partition_point(|&(_, e)| e.lt(start));
        let hi = ranges.partition_point(|&(s, _)| s.le(end));
        let covered: u32 =
            ranges[lo..hi].iter().map(|&(s, e)| e.min(end).since(s.max(start))).sum();
        let new_bytes = end.since(start) - covered;

        if start == self.rcv_nxt {
            // In-order data: joins every range it touches (lo must be 0 here).
            let merged_end = if hi > lo { end.max(ranges[hi - 1].1) } else { end };
            let filled_hole = hi > lo;
            if let Some(h) = self.held.as_deref_mut() {
                h.ranges.drain(lo..hi);
                if h.ranges.is_empty() {
                    // The last hole filled: free the out-of-order state.
                    self.held = None;
                }
            }
            let bytes = merged_end.since(self.rcv_nxt);
            self.rcv_nxt = merged_end;
            return Inserted::Advanced { bytes, filled_hole, trimmed };
        }

        if new_bytes == 0 {
            return Inserted::Duplicate;
        }
        if lo == hi && ranges.len() >= self.max_ranges as usize {
            return Inserted::Dropped(DropReason::TooManyRanges);
        }
        let (ms, me) = if hi > lo {
            (start.min(ranges[lo].0), end.max(ranges[hi - 1].1))
        } else {
            (start, end)
        };
        let h = self.held.get_or_insert_with(Box::default);
        h.ranges.splice(lo..hi, [(ms, me)]);
        h.last = Some(start);
        Inserted::Held { new_bytes, trimmed }
    }

    /// Forgets every held range and restarts at `rcv_nxt` (e.g. when the receive buffer is
    /// discarded). RFC 2018 section 8 allows a receiver to renege on SACKed data this way.
    pub fn reset(&mut self, rcv_nxt: SeqNum) {
        self.rcv_nxt = rcv_nxt;
        self.held = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec;

    fn asm(base: u32) -> Assembler {
        Assembler::new(SeqNum(base), AssemblerLimits::default())
    }

    #[test]
    fn in_order_advances() {
        let mut a = asm(0);
        assert_eq!(
            a.insert(SeqNum(0), 10),
            Inserted::Advanced { bytes: 10, filled_hole: false, trimmed: 0 }
        );
        assert_eq!(a.rcv_nxt(), SeqNum(10));
        assert_eq!(a.insert(SeqNum(5), 5), Inserted::Duplicate);
        // Partial overlap with already-received data counts only the new part.
        assert_eq!(
            a.insert(SeqNum(5), 10),
            Inserted::Advanced { bytes: 5, filled_hole: false, trimmed: 0 }
        );
    }

    #[test]
    fn out_of_order_state_exists_only_while_data_is_held() {
        let mut a = asm(0);
        assert!(matches!(a.insert(SeqNum(0), 10), Inserted::Advanced { .. }));
        assert!(!a.is_allocated(), "in-order data allocates nothing");
        assert!(matches!(a.insert(SeqNum(20), 10), Inserted::Held { .. }));
        assert!(a.is_allocated());
        assert_eq!(a.insert(SeqNum(22), 3), Inserted::Duplicate);
        assert!(matches!(a.insert(SeqNum(10), 10), Inserted::Advanced { bytes: 20, .. }));
        assert!(!a.is_allocated(), "last hole filled: freed");
        assert_eq!(a.most_recent_range(), None);
        // A second loss episode after the state was freed behaves like the first.
        assert!(matches!(a.insert(SeqNum(40), 10), Inserted::Held { .. }));
        assert_eq!(a.most_recent_range(), Some((SeqNum(40), SeqNum(50))));
        assert_eq!(a.held_bytes(), 10);
        a.reset(SeqNum(100));
        assert!(!a.is_allocated() && a.is_empty());
    }

    #[test]
    fn several_holes_fill() {
        let mut a = asm(0);
        assert_eq!(a.insert(SeqNum(20), 10), Inserted::Held { new_bytes: 10, trimmed: 0 });
        assert_eq!(a.insert(SeqNum(40), 10), Inserted::Held { new_bytes: 10, trimmed: 0 });
        assert_eq!(a.insert(SeqNum(60), 10), Inserted::Held { new_bytes: 10, trimmed: 0 });
        assert_eq!(a.range_count(), 3);
        assert_eq!(a.most_recent_range(), Some((SeqNum(60), SeqNum(70))));
        // Fill the middle hole: 30..40 joins 20..30 and 40..50.
        assert_eq!(a.insert(SeqNum(30), 10), Inserted::Held { new_bytes: 10, trimmed: 0 });
        assert_eq!(a.range_count(), 2);
        assert_eq!(a.most_recent_range(), Some((SeqNum(20), SeqNum(50))));
        assert_eq!(a.insert(SeqNum(25), 20), Inserted::Duplicate);
        assert_eq!(
            a.insert(SeqNum(0), 20),
            Inserted::Advanced { bytes: 50, filled_hole: true, trimmed: 0 }
        );
        assert_eq!(a.most_recent_range(), None);
        assert_eq!(a.ranges().collect::<Vec<_>>(), vec![(SeqNum(60), SeqNum(70))]);
    }

    #[test]
    fn wraps_around_2_pow_32() {
        let base = u32::MAX - 15;
        let mut a = asm(base);
        assert!(matches!(a.insert(SeqNum(base) + 20, 10), Inserted::Held { .. }));
        assert_eq!(a.range_containing(SeqNum(4)), Some((SeqNum(4), SeqNum(14))));
        assert_eq!(
            a.insert(SeqNum(base), 20),
            Inserted::Advanced { bytes: 30, filled_hole: true, trimmed: 0 }
        );
        assert_eq!(a.rcv_nxt(), SeqNum(14));
    }

    #[test]
    fn window_limit_trims_and_drops() {
        let mut a = Assembler::new(SeqNum(0), AssemblerLimits { max_ranges: 8, max_bytes: 100 });
        assert_eq!(a.insert(SeqNum(90), 20), Inserted::Held { new_bytes: 10, trimmed: 10 });
        assert_eq!(a.insert(SeqNum(100), 5), Inserted::Dropped(DropReason::BeyondWindow));
        assert_eq!(
            a.insert(SeqNum(0), 120),
            Inserted::Advanced { bytes: 100, filled_hole: true, trimmed: 20 }
        );
    }

    #[test]
    fn range_cap_refuses_new_holes_but_not_progress() {
        let mut a = Assembler::new(SeqNum(0), AssemblerLimits { max_ranges: 2, max_bytes: 1000 });
        assert!(matches!(a.insert(SeqNum(10), 1), Inserted::Held { .. }));
        assert!(matches!(a.insert(SeqNum(20), 1), Inserted::Held { .. }));
        assert_eq!(a.insert(SeqNum(30), 1), Inserted::Dropped(DropReason::TooManyRanges));
        // Extending a held range is fine; so is in-order data.
        assert!(matches!(a.insert(SeqNum(21), 4), Inserted::Held { new_bytes: 4, .. }));
        assert!(matches!(a.insert(SeqNum(0), 5), Inserted::Advanced { bytes: 5, .. }));
        assert_eq!(a.range_count(), 2);
    }

    proptest! {
        /// A flood of tiny out-of-order segments never holds more than the limits, and the
        /// assembler agrees with a byte-map model of what arrived.
        #[test]
        fn bounded_under_flood(
            base in any::<u32>(),
            segs in proptest::collection::vec((0u32..3000, 1u32..4), 1..600),
        ) {
            let limits = AssemblerLimits { max_ranges: 16, max_bytes: 2048 };
            let mut a = Assembler::new(SeqNum(base), limits);
            let mut have = vec![false; 4096];
            let mut nxt = 0usize; // offset of rcv_nxt from base
            for (off, len) in segs {
                let out = a.insert(SeqNum(base) + off, len);
                prop_assert!(a.range_count() <= 16);
                let win_end = nxt + 2048;
                match out {
                    Inserted::Dropped(_) => {}
                    _ => {
                        let lo = (off as usize).max(nxt);
                        let hi = ((off + len) as usize).min(win_end);
                        if lo < hi {
                            have[lo..hi].fill(true);
                        }
                    }
                }
                if let Inserted::Advanced { bytes, .. } = out {
                    let mut n = nxt;
                    while have[n] { n += 1; }
                    prop_assert_eq!(bytes as usize, n - nxt);
                    nxt = n;
                }
                prop_assert_eq!(a.rcv_nxt(), SeqNum(base) + nxt as u32);
                // Every held byte is in the model and after rcv_nxt, within the window.
                let mut held = 0usize;
                for (s, e) in a.ranges() {
                    let (s, e) = (s.since(SeqNum(base)) as usize, e.since(SeqNum(base)) as usize);
                    prop_assert!(s > nxt && e <= win_end);
                    for (i, h) in have.iter().enumerate().take(e).skip(s) {
                        prop_assert!(*h, "byte {} held but not received", i);
                    }
                    held += e - s;
                }
                prop_assert!(held <= 2048);
                prop_assert_eq!(held as u32, a.held_bytes());
            }
        }
    }
}
