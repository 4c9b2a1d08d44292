//! Receiver-side SACK option contents (RFC 2018 section 4, RFC 2883 D-SACK).
//!
//! The out-of-order ranges themselves are in the [`Assembler`]; this module remembers the order
//! in which they were last touched and any duplicate waiting to be reported, and builds the
//! block list for the next ACK:
//! 1. a pending D-SACK block first (RFC 2883), followed by the held range containing it if the
//!    duplicate was above RCV.NXT;
//! 2. the range containing the most recently received segment;
//! 3. the ranges that were most recently reported/changed, then any other held ranges, without
//!    repeating one;
//!
//! up to [`max_sack_blocks`] (3 with timestamps, 4 without).
//!
//! ```
//! use synack_tcp::assembler::{Assembler, AssemblerLimits};
//! use synack_tcp::sack_gen::SackGenerator;
//! use synack_wire::SeqNum;
//! let mut asm = Assembler::new(SeqNum(0), AssemblerLimits::default());
//! let mut sacks = SackGenerator::new();
//! for seq in [2000u32, 4000] {
//!     asm.insert(SeqNum(seq), 1000);
//!     sacks.on_segment(SeqNum(seq));
//! }
//! let blocks = sacks.blocks(&asm, 3);
//! assert_eq!(blocks.as_slice()[0].left, SeqNum(4000)); // the most recent first
//! assert_eq!(blocks.as_slice()[1].left, SeqNum(2000));
//! ```

use crate::assembler::Assembler;
use alloc::boxed::Box;
use synack_wire::SeqNum;
use synack_wire::tcp::{SackBlock, SackBlocks};

/// How many recent arrivals are remembered for ordering (more than fit in one option).
const RECENT: usize = 8;

/// SACK blocks that fit in the 40 option bytes: each block is 8 bytes plus 2 for kind/length;
/// the timestamps option takes 10 (12 with padding).
pub fn max_sack_blocks(timestamps: bool) -> usize {
    max_sack_blocks_beside(timestamps, false)
}

/// [`max_sack_blocks`] on a connection whose segments also carry the MD5 signature option
/// (RFC 2385) when `md5`: 20 bytes less room (none left beside timestamps).
pub fn max_sack_blocks_beside(timestamps: bool, md5: bool) -> usize {
    //= rfc2018#3
    // 40 option bytes hold at most 4 SACK blocks, or 3 when the timestamps option is present.
    let mut room: usize = if timestamps { 40 - 12 } else { 40 };
    if md5 {
        room -= synack_wire::tcp::options::MD5_ALIGNED_LEN;
    }
    (room.saturating_sub(4) / 8).min(SackBlocks::CAPACITY)
}

/// Remembers SACK-relevant history for the receive half. See the module docs.
///
/// The history lives in a box that exists only while there is some: every connection's
/// receive half holds a generator, and one that receives in order (nearly all of them, and
/// every idle one) never needs the 76 bytes of history (idle memory). The box is
/// made by the first out-of-order segment or duplicate and freed by [`SackGenerator::blocks`]
/// once nothing it remembers is held any more.
#[derive(Clone, Debug, Default)]
pub struct SackGenerator {
    history: Option<Box<History>>,
}

/// What [`SackGenerator`] remembers while out-of-order data or a duplicate is pending.
#[derive(Clone, Debug, Default)]
struct History {
    /// First sequence numbers of recent out-of-order arrivals, most recent first.
    recent: [Option<SeqNum>; RECENT],
    /// A duplicate to report once, D-SACK style.
    dsack: Option<SackBlock>,
}

impl History {
    fn is_empty(&self) -> bool {
        self.dsack.is_none() && self.recent.iter().all(Option::is_none)
    }
}

impl SackGenerator {
    /// No history.
    pub fn new() -> SackGenerator {
        SackGenerator::default()
    }

    fn history(&mut self) -> &mut History {
        self.history.get_or_insert_with(Box::default)
    }

    /// Whether history is currently held on the heap (for tests of the lazy allocation).
    pub fn is_allocated(&self) -> bool {
        self.history.is_some()
    }

    /// An out-of-order segment starting at `seq` was received (held by the assembler). Call it
    /// after [`Assembler::insert`].
    pub fn on_segment(&mut self, seq: SeqNum) {
        let h = self.history();
        h.recent.rotate_right(1);
        h.recent[0] = Some(seq);
    }

    /// `[left, right)` was received again (a duplicate, below RCV.NXT or inside a held range):
    /// the next ACK reports it as a D-SACK block. Only the latest duplicate is kept.
    pub fn on_duplicate(&mut self, left: SeqNum, right: SeqNum) {
        if left.lt(right) {
            self.history().dsack = Some(SackBlock { left, right });
        }
    }

    /// True when a D-SACK block is waiting (the receiver should ACK immediately).
    pub fn has_pending_dsack(&self) -> bool {
        self.history.as_ref().is_some_and(|h| h.dsack.is_some())
    }

    /// Forgets history (e.g. on connection reset).
    pub fn clear(&mut self) {
        *self = SackGenerator::default();
    }

    /// The blocks for the next ACK, at most `max_blocks` (see [`max_sack_blocks`]). Consumes
    /// the pending D-SACK, which is reported once (RFC 2883 section 4).
    pub fn blocks(&mut self, asm: &Assembler, max_blocks: usize) -> SackBlocks {
        let max = max_blocks.min(SackBlocks::CAPACITY);
        let mut out = SackBlocks::new();
        let Some(h) = self.history.as_deref_mut() else {
            // No history: the held ranges alone, highest first (see below).
            for (s, e) in asm.ranges().rev().take(max) {
                out.push(SackBlock { left: s, right: e });
            }
            return out;
        };
        if max == 0 {
            h.dsack = None;
            if h.is_empty() {
                self.history = None;
            }
            return out;
        }
        // A leading D-SACK block does not count as "already included": the held block that
        // contains the duplicate may follow it even when equal.
        let skip = usize::from(h.dsack.is_some());
        let push = |out: &mut SackBlocks, b: SackBlock| {
            if out.len() < max && !out.as_slice().iter().skip(skip).any(|x| *x == b) {
                out.push(b);
            }
        };
        if let Some(d) = h.dsack.take() {
            //= rfc2883#4
            // The D-SACK block goes first; if the duplicate lies in a held block above the
            // cumulative ACK, that (larger) block follows it.
            out.push(d);
            if let Some((s, e)) = asm.range_containing(d.left) {
                push(&mut out, SackBlock { left: s, right: e });
            }
        }
        //= rfc2018#4
        // The first (non-D-SACK) block holds the most recently received segment; the rest
        // repeat the most recently reported blocks, without repeating any.
        for seq in h.recent.iter().flatten() {
            if let Some((s, e)) = asm.range_containing(*seq) {
                push(&mut out, SackBlock { left: s, right: e });
            }
        }
        //= rfc2018#4
        // As many distinct blocks as fit should be sent: fill with other held ranges,
        // highest first (those are the ones the sender is least likely to know about).
        for (s, e) in asm.ranges().rev() {
            push(&mut out, SackBlock { left: s, right: e });
        }
        // Drop stale history that no longer maps to a held range.
        for slot in h.recent.iter_mut() {
            if slot.is_some_and(|seq| asm.range_containing(seq).is_none()) {
                *slot = None;
            }
        }
        if h.is_empty() {
            self.history = None;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assembler::{AssemblerLimits, Inserted};
    use std::vec::Vec;

    fn lefts(b: &SackBlocks) -> Vec<(u32, u32)> {
        b.as_slice().iter().map(|b| (b.left.0, b.right.0)).collect()
    }

    fn setup() -> (Assembler, SackGenerator) {
        (Assembler::new(SeqNum(0), AssemblerLimits::default()), SackGenerator::new())
    }

    fn recv(a: &mut Assembler, g: &mut SackGenerator, seq: u32, len: u32) -> Inserted {
        let out = a.insert(SeqNum(seq), len);
        match out {
            Inserted::Held { .. } => g.on_segment(SeqNum(seq)),
            Inserted::Duplicate => g.on_duplicate(SeqNum(seq), SeqNum(seq + len)),
            _ => {}
        }
        out
    }

    #[test]
    fn history_is_allocated_only_while_needed() {
        // In-order data never allocates; an out-of-order segment does; filling the hole and
        // building the next ACK's blocks frees it; a duplicate allocates until reported.
        let (mut a, mut g) = setup();
        recv(&mut a, &mut g, 0, 1000);
        assert!(!g.is_allocated());
        assert!(g.blocks(&a, 3).is_empty());
        recv(&mut a, &mut g, 2000, 1000);
        assert!(g.is_allocated());
        assert_eq!(lefts(&g.blocks(&a, 3)), [(2000, 3000)]);
        assert!(g.is_allocated(), "the held range is still reported");
        recv(&mut a, &mut g, 1000, 1000);
        assert!(g.blocks(&a, 3).is_empty());
        assert!(!g.is_allocated(), "nothing held: history freed");
        // A later loss behaves as the first one did (state is not lost with the box).
        recv(&mut a, &mut g, 4000, 1000);
        recv(&mut a, &mut g, 6000, 1000);
        assert_eq!(lefts(&g.blocks(&a, 3)), [(6000, 7000), (4000, 5000)]);
        recv(&mut a, &mut g, 3000, 1000);
        recv(&mut a, &mut g, 5000, 1000);
        assert!(g.blocks(&a, 3).is_empty());
        assert!(!g.is_allocated());
        recv(&mut a, &mut g, 0, 500);
        assert!(g.has_pending_dsack());
        assert_eq!(lefts(&g.blocks(&a, 3)), [(0, 500)]);
        assert!(!g.has_pending_dsack());
        assert!(!g.is_allocated(), "D-SACK reported once: history freed");
    }

    #[test]
    fn block_counts() {
        assert_eq!(max_sack_blocks(true), 3);
        assert_eq!(max_sack_blocks(false), 4);
    }

    #[test]
    fn most_recent_first_rfc2018_section_4() {
        // RFC 2018 section 4's shape: segments 2, 4, 6, 8 (of 1000 bytes) arrive, 1, 3, 5, 7
        // are lost; each ACK leads with the newest block.
        let (mut a, mut g) = setup();
        recv(&mut a, &mut g, 2000, 1000);
        assert_eq!(lefts(&g.blocks(&a, 3)), [(2000, 3000)]);
        recv(&mut a, &mut g, 4000, 1000);
        assert_eq!(lefts(&g.blocks(&a, 3)), [(4000, 5000), (2000, 3000)]);
        recv(&mut a, &mut g, 6000, 1000);
        recv(&mut a, &mut g, 8000, 1000);
        // Only three fit with timestamps: the oldest (2000) is left out.
        assert_eq!(lefts(&g.blocks(&a, 3)), [(8000, 9000), (6000, 7000), (4000, 5000)]);
        assert_eq!(
            lefts(&g.blocks(&a, 4)),
            [(8000, 9000), (6000, 7000), (4000, 5000), (2000, 3000)]
        );
        // Segment 5 (5000..6000) arrives: its merged block 4000..7000 leads.
        recv(&mut a, &mut g, 5000, 1000);
        assert_eq!(lefts(&g.blocks(&a, 3)), [(4000, 7000), (8000, 9000), (2000, 3000)]);
        // The hole at RCV.NXT fills: 0..1000 then 1000..2000 make 2000..3000 contiguous.
        recv(&mut a, &mut g, 0, 2000);
        assert_eq!(lefts(&g.blocks(&a, 3)), [(4000, 7000), (8000, 9000)]);
    }

    #[test]
    fn dsack_below_cumulative_ack_rfc2883_section_4_1_1() {
        let (mut a, mut g) = setup();
        recv(&mut a, &mut g, 0, 3000);
        // A retransmission of 1000..2000 arrives again.
        assert_eq!(recv(&mut a, &mut g, 1000, 1000), Inserted::Duplicate);
        assert!(g.has_pending_dsack());
        assert_eq!(lefts(&g.blocks(&a, 3)), [(1000, 2000)]);
        // Reported once.
        assert!(g.blocks(&a, 3).is_empty());
    }

    #[test]
    fn dsack_in_held_block_rfc2883_section_4_1_2() {
        let (mut a, mut g) = setup();
        recv(&mut a, &mut g, 4000, 2000);
        recv(&mut a, &mut g, 8000, 1000);
        // 4000..5000 arrives twice: D-SACK block, then the larger held block containing it,
        // then the rest.
        assert_eq!(recv(&mut a, &mut g, 4000, 1000), Inserted::Duplicate);
        assert_eq!(lefts(&g.blocks(&a, 4)), [(4000, 5000), (4000, 6000), (8000, 9000)]);
        assert_eq!(lefts(&g.blocks(&a, 4)), [(8000, 9000), (4000, 6000)]);
    }

    #[test]
    fn zero_blocks_allowed() {
        let (mut a, mut g) = setup();
        recv(&mut a, &mut g, 4000, 2000);
        assert!(g.blocks(&a, 0).is_empty());
    }
}
