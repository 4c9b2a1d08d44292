//! A byte ring buffer for a connection's send and receive halves.
//!
//! Why a ring and not a `VecDeque<u8>`: the sender must read retransmission data at any offset
//! from SND.UNA straight into an outgoing segment (one copy), and the receiver must place
//! out-of-order payload *beyond* the readable bytes (in the free space) so that when a hole fills
//! the data is already in place and only the length moves. Both need offset access to the free
//! region, which `VecDeque` does not give.
//!
//! Layout: `storage[head..]` then `storage[..]` wrapping, `len` readable bytes from `head`; the
//! `capacity - len` bytes after them are free space that [`RingBuffer::write_at`] may fill ahead
//! of time and [`RingBuffer::commit`] makes readable.
//!
//! Memory is proportional to the data actually held, not to the capacity: nothing is allocated
//! until the first write (an idle connection costs nothing), and the storage then grows in
//! doubling steps (from [`MIN_ALLOCATION`]) only as far as the furthest byte written, never
//! beyond the capacity. A connection that sends one byte pays for a small allocation, not for a
//! 256 KiB zero-filled one. The *capacity* (what the receiver advertises as its window) is a
//! logical limit independent of the allocation; it may grow (receive-window auto-tuning) up to
//! `max_capacity`, never beyond. Only the newly added part of a grown allocation is zeroed.
//!
//! ```
//! use synack_tcp::ring::RingBuffer;
//! let mut ring = RingBuffer::new(8);
//! assert_eq!(ring.write(b"hello"), 5);
//! let mut out = [0u8; 2];
//! assert_eq!(ring.peek(3, &mut out), 2); // read at an offset without consuming
//! assert_eq!(&out, b"lo");
//! ring.consume(5);
//! assert!(ring.is_empty());
//! ```

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;

/// Largest piece [`copy`] hands to one `memcpy`.
const COPY_PIECE: usize = 1024;

/// Copies `src` into `dst` (of equal length) in pieces of at most [`COPY_PIECE`] bytes.
///
/// Why: glibc's `memcpy` copies sizes from a few KiB up to its non-temporal threshold with
/// `rep movsb`, and on this project's machines (virtualized AMD EPYC, `erms` and `fsrm`
/// flags) that path collapses when the destination starts just after the source modulo 4 KiB:
/// 65,536 bytes took 40 to 46 µs in one call with the destination 8 to 24 bytes past the
/// source (mod 4 KiB), against 2.3 to 3.3 µs as 1 KiB calls, which use its vector loop; at
/// other distances both took 2.3 to 4 µs (standalone `rustc -O` harness, see
/// docs/BENCHMARKS.md). Application writes and reads move up to a whole buffer at once
/// between buffers whose relative placement is luck, so the pieces remove that outlier; the
/// netbench bulk figures did not move either way in this project's layout.
pub(crate) fn copy(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst.chunks_mut(COPY_PIECE).zip(src.chunks(COPY_PIECE)) {
        d.copy_from_slice(s);
    }
}

/// Why [`RingBuffer::grow`] refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RingError {
    /// The requested capacity is above the buffer's `max_capacity`.
    AboveMaximum {
        /// What was asked for.
        requested: usize,
        /// The most this buffer may hold.
        max: usize,
    },
}

impl fmt::Display for RingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RingError::AboveMaximum { requested, max } => {
                write!(f, "ring capacity {requested} is above the maximum {max}")
            }
        }
    }
}

/// The smallest allocation the ring makes on its first write (unless the capacity is smaller):
/// small enough that a connection exchanging a few bytes stays cheap and its allocation is
/// served by the allocator's small-size fast path (glibc's thread cache stops at about 1 KiB;
/// a 2 KiB first allocation made every short connection take the slow path four times), while
/// a larger first write gets what it needs at once and growth doubles from there.
pub const MIN_ALLOCATION: usize = 64;

/// The first allocation's floor; tiny under test so the model test below exercises storage
/// smaller than the capacity (growth while wrapped, pre-placed bytes beyond the readable ones).
const FIRST_ALLOCATION: usize = if cfg!(test) { 4 } else { MIN_ALLOCATION };

/// The largest capacity a ring takes (`u32::MAX` bytes); larger requests are clamped. A TCP
/// window is at most 2^30 bytes (RFC 7323 section 2.3), so no window is affected.
pub const MAX_CAPACITY: usize = u32::MAX as usize;

/// `n` as a ring offset: callers keep every offset within the capacity, itself at most
/// [`MAX_CAPACITY`], so the conversion never clamps in practice.
fn narrow(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A fixed-capacity (growable up to a cap) byte ring with offset access. See the module docs.
///
/// Two live in every connection, so the fields are narrow (idle memory): the storage
/// is a boxed slice (its length is the allocation; it never has spare capacity) and offsets are
/// `u32` (capacity at most [`MAX_CAPACITY`]): 40 bytes instead of 64.
#[derive(Clone, Default)]
pub struct RingBuffer {
    /// Empty until the first write; then between [`MIN_ALLOCATION`] and `capacity` bytes, grown
    /// in doubling steps to cover the furthest byte written. The ring wraps at `storage.len()`.
    storage: Box<[u8]>,
    /// Index of the first readable byte in `storage`.
    head: u32,
    /// Number of readable bytes.
    len: u32,
    /// Offset (past the readable bytes) just beyond the furthest byte pre-placed in the free
    /// space by [`RingBuffer::write_at`] and not yet made readable; 0 when none is held.
    ahead: u32,
    /// Logical capacity (what `storage` will be once allocated).
    capacity: u32,
    /// Ceiling for [`RingBuffer::grow`].
    max_capacity: u32,
}

impl fmt::Debug for RingBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RingBuffer")
            .field("len", &self.len)
            .field("capacity", &self.capacity)
            .field("max_capacity", &self.max_capacity)
            .field("allocated", &self.storage.len())
            .finish()
    }
}

impl RingBuffer {
    /// A ring that will hold `capacity` bytes (at most [`MAX_CAPACITY`]) and cannot grow.
    /// Allocates nothing yet.
    pub fn new(capacity: usize) -> RingBuffer {
        RingBuffer::with_max(capacity, capacity)
    }

    /// A ring that holds `capacity` bytes now and may [`grow`](Self::grow) to `max_capacity`
    /// (taken as `capacity` if smaller); both at most [`MAX_CAPACITY`]. Allocates nothing yet.
    pub fn with_max(capacity: usize, max_capacity: usize) -> RingBuffer {
        let capacity = narrow(capacity);
        let max_capacity = narrow(max_capacity).max(capacity);
        RingBuffer { storage: Box::default(), head: 0, len: 0, ahead: 0, capacity, max_capacity }
    }

    /// Readable bytes held.
    pub const fn len(&self) -> usize {
        self.len as usize
    }
    /// True when no bytes are readable.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// True when no byte more can be written.
    pub const fn is_full(&self) -> bool {
        self.len == self.capacity
    }
    /// Current capacity.
    pub const fn capacity(&self) -> usize {
        self.capacity as usize
    }
    /// The most [`grow`](Self::grow) will accept.
    pub const fn max_capacity(&self) -> usize {
        self.max_capacity as usize
    }
    /// Free bytes after the readable ones (what a receiver advertises as its window).
    pub const fn free(&self) -> usize {
        (self.capacity - self.len) as usize
    }
    /// True once storage has been allocated (for memory accounting and tests).
    pub fn is_allocated(&self) -> bool {
        !self.storage.is_empty()
    }

    /// Bytes of storage currently allocated (for memory accounting and tests); at most
    /// `capacity`, and 0 until the first write.
    pub fn allocated(&self) -> usize {
        self.storage.len()
    }

    /// Makes the storage cover logical offsets `..end` (from the first readable byte);
    /// `end <= capacity`. Grows to the larger of `end` and double the current size (at least
    /// [`MIN_ALLOCATION`]), capped at the capacity, so a stream that keeps growing costs
    /// amortised O(1) copies per byte. The old contents are rotated so the head lands at 0,
    /// which keeps every logical offset below the old size (readable and pre-placed bytes)
    /// pointing at the same byte.
    fn reserve(&mut self, end: usize) {
        let have = self.storage.len();
        if end <= have {
            return;
        }
        let want = end.max(have.saturating_mul(2)).max(FIRST_ALLOCATION).min(self.capacity());
        let head = self.head as usize;
        let mut grown = Vec::with_capacity(want);
        grown.extend_from_slice(&self.storage[head..]);
        grown.extend_from_slice(&self.storage[..head]);
        // Only the new part is zeroed; it is about to be written or sits in the free space.
        grown.resize(want, 0);
        self.storage = grown.into_boxed_slice();
        self.head = 0;
    }

    /// Storage index of logical offset `off` (from the first readable byte); `off` is below the
    /// allocated size (every offset that holds a byte is, see `reserve`).
    fn index(&self, off: usize) -> usize {
        let size = self.storage.len();
        let i = self.head as usize + off;
        if i >= size { i - size } else { i }
    }

    /// Appends as many bytes of `data` as fit; returns how many were taken.
    pub fn write(&mut self, data: &[u8]) -> usize {
        let n = self.write_at(0, data);
        self.len += narrow(n);
        self.ahead = self.ahead.saturating_sub(narrow(n));
        n
    }

    /// Copies `data` into the free space starting `offset` bytes past the readable ones, without
    /// making it readable (see [`commit`](Self::commit)); bytes that would not fit are dropped.
    /// Returns how many bytes were stored. Used by the receiver for out-of-order segments.
    pub fn write_at(&mut self, offset: usize, data: &[u8]) -> usize {
        let free = self.free();
        if offset >= free || data.is_empty() {
            return 0;
        }
        let n = data.len().min(free - offset);
        let len = self.len();
        self.reserve(len + offset + n);
        self.ahead = self.ahead.max(narrow(offset + n));
        let start = self.index(len + offset);
        let first = n.min(self.storage.len() - start);
        copy(&mut self.storage[start..start + first], &data[..first]);
        // The second piece only when the bytes wrap past the storage's end.
        if first < n {
            copy(&mut self.storage[..n - first], &data[first..n]);
        }
        n
    }

    /// Makes `n` bytes after the readable ones readable (data previously placed with
    /// [`write_at`](Self::write_at)); clamped to the free space. Returns how many were committed.
    pub fn commit(&mut self, n: usize) -> usize {
        let n = n.min(self.free());
        if n > 0 {
            // Committing bytes that were never placed exposes zeros; they must still be stored.
            self.reserve(self.len() + n);
        }
        self.len += narrow(n);
        self.ahead = self.ahead.saturating_sub(narrow(n));
        n
    }

    /// Copies readable bytes from `offset` into `out` without consuming them; returns the count.
    /// The sender uses this to read retransmission data at any offset from SND.UNA.
    pub fn peek(&self, offset: usize, out: &mut [u8]) -> usize {
        let (a, b) = self.slices_at(offset, out.len());
        copy(&mut out[..a.len()], a);
        copy(&mut out[a.len()..a.len() + b.len()], b);
        a.len() + b.len()
    }

    /// Up to `max_len` readable bytes starting at `offset`, as two contiguous slices (the second
    /// is empty unless the range wraps). Lets a caller copy straight into a frame.
    pub fn slices_at(&self, offset: usize, max_len: usize) -> (&[u8], &[u8]) {
        if offset >= self.len() || max_len == 0 {
            return (&[], &[]);
        }
        let n = max_len.min(self.len() - offset);
        let start = self.index(offset);
        let first = n.min(self.storage.len() - start);
        (&self.storage[start..start + first], &self.storage[..n - first])
    }

    /// All readable bytes as two contiguous slices.
    pub fn as_slices(&self) -> (&[u8], &[u8]) {
        self.slices_at(0, self.len())
    }

    /// Moves up to `out.len()` readable bytes into `out`; returns the count.
    pub fn read(&mut self, out: &mut [u8]) -> usize {
        let n = self.peek(0, out);
        self.consume(n);
        n
    }

    /// Discards up to `n` readable bytes from the front (acknowledged send data); returns the
    /// count discarded.
    pub fn consume(&mut self, n: usize) -> usize {
        let n = n.min(self.len());
        if n == 0 {
            return 0;
        }
        // The head only ever advances: bytes pre-placed in the free space by `write_at` sit at
        // fixed storage positions relative to it, so it must not jump (e.g. back to 0 when
        // the ring empties) while out-of-order data is held.
        self.head = narrow(self.index(n));
        self.len -= narrow(n);
        n
    }

    /// Frees the storage if the ring holds nothing (no readable and no pre-placed bytes), so a
    /// connection that has drained costs no buffer memory until it is written to again; returns
    /// whether it did. Not done automatically on every drain: a busy stream empties its ring
    /// constantly and would reallocate each time. Capacity is kept.
    pub fn release_if_empty(&mut self) -> bool {
        if self.len == 0 && self.ahead == 0 && !self.storage.is_empty() {
            self.clear();
            return true;
        }
        false
    }

    /// Takes `storage` (any contents; it is zeroed) as this ring's first allocation, if the
    /// ring has none yet and the first write of `need` bytes fits in it (a larger write would
    /// allocate anyway); else gives it back. What a reused allocation from a finished
    /// connection saves: a call to the allocator.
    pub(crate) fn adopt(&mut self, mut storage: Box<[u8]>, need: usize) -> Result<(), Box<[u8]>> {
        let size = storage.len();
        if !self.storage.is_empty() || need > size || size > self.capacity() {
            return Err(storage);
        }
        storage.fill(0);
        self.storage = storage;
        self.head = 0;
        Ok(())
    }

    /// Takes the storage if it is the smallest first allocation ([`MIN_ALLOCATION`] bytes),
    /// the one worth keeping for another ring's [`adopt`](Self::adopt); the ring is then
    /// empty.
    pub(crate) fn take_small_storage(&mut self) -> Option<Box<[u8]>> {
        if self.storage.len() != MIN_ALLOCATION {
            return None;
        }
        let storage = core::mem::take(&mut self.storage);
        self.clear();
        Some(storage)
    }

    /// Drops every byte (readable and pre-placed) and frees the storage; capacity is kept.
    pub fn clear(&mut self) {
        self.storage = Box::default();
        self.head = 0;
        self.len = 0;
        self.ahead = 0;
    }

    /// Raises the capacity to the next multiple of `unit` when it is larger than `unit` and
    /// not a multiple already (FreeBSD sizes a socket buffer in whole segments); the maximum
    /// rises with it when it would otherwise fall below. Adds less than `unit` bytes.
    pub fn round_up_capacity(&mut self, unit: usize) {
        let Ok(unit) = u32::try_from(unit) else { return };
        if unit == 0 || self.capacity <= unit {
            return;
        }
        // Saturates at u32::MAX (the ring's largest size) rather than wrapping.
        let rounded = self.capacity.div_ceil(unit).saturating_mul(unit);
        self.max_capacity = self.max_capacity.max(rounded);
        self.capacity = rounded;
    }

    /// Raises the capacity to `new_capacity` (receive-window auto-tuning). Readable bytes and
    /// bytes pre-placed in the free space keep their offsets. A smaller value is a no-op. Only
    /// the logical limit moves: storage grows later, as bytes arrive.
    pub fn grow(&mut self, new_capacity: usize) -> Result<(), RingError> {
        if new_capacity > self.max_capacity() {
            return Err(RingError::AboveMaximum {
                requested: new_capacity,
                max: self.max_capacity(),
            });
        }
        if new_capacity <= self.capacity() {
            return Ok(());
        }
        self.capacity = narrow(new_capacity);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adopted_storage_is_zeroed_and_used_only_when_it_fits() {
        let mut r = RingBuffer::new(1024);
        let spare = alloc::vec![0xffu8; MIN_ALLOCATION].into_boxed_slice();
        let spare =
            r.adopt(spare, MIN_ALLOCATION + 1).expect_err("a larger write allocates anyway");
        r.adopt(spare, 1).expect("an unallocated ring takes it");
        assert_eq!(r.allocated(), MIN_ALLOCATION);
        assert!(r.storage.iter().all(|&b| b == 0), "nothing of the last owner's bytes is left");
        let again = alloc::vec![0u8; MIN_ALLOCATION].into_boxed_slice();
        assert!(r.adopt(again, 1).is_err(), "an allocated ring keeps its storage");
        assert_eq!(r.write(b"ab"), 2);
        assert_eq!(r.take_small_storage().map(|b| b.len()), Some(MIN_ALLOCATION));
        assert!(r.is_empty() && !r.is_allocated());
    }
    use proptest::prelude::*;
    use std::collections::VecDeque;

    #[test]
    fn lazy_allocation() {
        let mut r = RingBuffer::new(1 << 20);
        assert!(!r.is_allocated());
        assert_eq!(r.free(), 1 << 20);
        let mut out = [0u8; 4];
        assert_eq!(r.read(&mut out), 0);
        assert!(!r.is_allocated());
        r.write(b"x");
        assert!(r.is_allocated());
        r.clear();
        assert!(!r.is_allocated());
        assert_eq!(r.capacity(), 1 << 20);
    }

    #[test]
    fn allocation_follows_data_not_capacity() {
        let mut r = RingBuffer::new(256 * 1024);
        r.write(b"x");
        assert_eq!(r.allocated(), FIRST_ALLOCATION, "one byte costs the minimum, not 256 KiB");
        assert_eq!(r.free(), 256 * 1024 - 1, "the window is about the capacity");
        r.write(b"abcd");
        assert_eq!(r.allocated(), 2 * FIRST_ALLOCATION, "doubles");
        r.write(&[8u8; 20_000]);
        assert_eq!(r.allocated(), 20_005, "jumps straight to what is needed when above double");
        // Out-of-order bytes far ahead make the storage cover them, and survive the growth.
        assert_eq!(r.write_at(100_000, b"far"), 3);
        assert_eq!(r.allocated(), 120_008);
        let mut out = [0u8; 5];
        assert_eq!(r.peek(0, &mut out), 5);
        assert_eq!(&out, b"xabcd");
        let mut out = [0u8; 3];
        r.consume(20_005);
        assert!(!r.release_if_empty(), "pre-placed bytes are held");
        r.commit(100_003);
        r.consume(100_000);
        assert_eq!(r.read(&mut out), 3);
        assert_eq!(&out, b"far");
        assert!(r.release_if_empty());
        assert_eq!((r.allocated(), r.capacity()), (0, 256 * 1024));
        // Never beyond the capacity.
        let mut small = RingBuffer::new(FIRST_ALLOCATION - 1);
        small.write(b"y");
        assert_eq!(small.allocated(), FIRST_ALLOCATION - 1);
    }

    #[test]
    fn wrap_and_two_slices() {
        let mut r = RingBuffer::new(8);
        // Fill the storage to the capacity first so the next write wraps rather than growing.
        assert_eq!(r.write(b"abcdefgh"), 8);
        assert_eq!(r.allocated(), 8);
        assert_eq!(r.consume(4), 4);
        assert_eq!(r.write(b"ijkl"), 4);
        assert_eq!(r.write(b"zz"), 0, "full");
        assert!(r.is_full());
        let (a, b) = r.as_slices();
        assert_eq!(a, b"efgh");
        assert_eq!(b, b"ijkl");
        let (a, b) = r.slices_at(3, 2);
        assert_eq!((a, b), (&b"h"[..], &b"i"[..]));
        let mut out = [0u8; 8];
        assert_eq!(r.peek(5, &mut out), 3);
        assert_eq!(&out[..3], b"jkl");
        assert_eq!(r.peek(8, &mut out), 0);
    }

    #[test]
    fn write_at_then_commit() {
        let mut r = RingBuffer::new(10);
        r.write(b"ab");
        // An out-of-order segment lands 3 bytes past the readable data.
        assert_eq!(r.write_at(3, b"fgh"), 3);
        assert_eq!(r.len(), 2);
        // The hole fills.
        assert_eq!(r.write_at(0, b"cde"), 3);
        assert_eq!(r.commit(6), 6);
        let mut out = [0u8; 10];
        assert_eq!(r.read(&mut out), 8);
        assert_eq!(&out[..8], b"abcdefgh");
        // Past the free space nothing is stored.
        assert_eq!(r.write_at(10, b"x"), 0);
        assert_eq!(r.write_at(8, b"xyz"), 2);
        assert_eq!(r.commit(100), 10);
    }

    #[test]
    fn reading_everything_keeps_preplaced_bytes() {
        // The receiver holds out-of-order bytes while the application drains all in-order
        // data; when the hole fills, the held bytes must still be where they were placed.
        let mut r = RingBuffer::new(8);
        r.write(b"abc");
        r.write_at(2, b"fg");
        let mut out = [0u8; 8];
        assert_eq!(r.read(&mut out), 3);
        assert!(r.is_empty());
        r.write_at(0, b"de");
        assert_eq!(r.commit(4), 4);
        assert_eq!(r.read(&mut out), 4);
        assert_eq!(&out[..4], b"defg");
    }

    #[test]
    fn round_up_capacity_to_whole_units() {
        let mut r = RingBuffer::new(65_536);
        r.round_up_capacity(1460);
        assert_eq!((r.capacity(), r.max_capacity()), (65_700, 65_700));
        r.round_up_capacity(1460);
        assert_eq!(r.capacity(), 65_700);
        let mut small = RingBuffer::new(1000);
        small.round_up_capacity(1460);
        small.round_up_capacity(0);
        assert_eq!(small.capacity(), 1000);
        let mut tuned = RingBuffer::with_max(4000, 1 << 20);
        tuned.round_up_capacity(1448);
        assert_eq!((tuned.capacity(), tuned.max_capacity()), (4344, 1 << 20));
    }

    #[test]
    fn grow_keeps_data_and_preplaced_bytes() {
        let mut r = RingBuffer::with_max(4, 16);
        r.write(b"abcd");
        r.consume(3);
        r.write(b"ef"); // wraps
        r.write_at(0, b"g"); // pre-placed in the free space
        r.grow(8).unwrap();
        assert_eq!(r.capacity(), 8);
        assert_eq!(r.commit(1), 1);
        let mut out = [0u8; 8];
        assert_eq!(r.read(&mut out), 4);
        assert_eq!(&out[..4], b"defg");
        assert_eq!(r.grow(17), Err(RingError::AboveMaximum { requested: 17, max: 16 }));
        assert_eq!(r.grow(2), Ok(()));
        assert_eq!(r.capacity(), 8);
    }

    #[test]
    fn copy_in_pieces_copies_everything() {
        let src: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
        for n in [0, 1, COPY_PIECE - 1, COPY_PIECE, COPY_PIECE + 1, 5000] {
            let mut dst = std::vec![0u8; n];
            copy(&mut dst, &src[..n]);
            assert_eq!(dst, src[..n]);
        }
    }

    #[test]
    fn zero_capacity_is_inert() {
        let mut r = RingBuffer::new(0);
        assert_eq!(r.write(b"abc"), 0);
        assert_eq!(r.commit(3), 0);
        assert!(r.is_full() && r.is_empty());
        assert!(!r.is_allocated());
    }

    #[derive(Debug, Clone)]
    enum Op {
        Write(Vec<u8>),
        Read(usize),
        Consume(usize),
        Peek(usize, usize),
        Grow(usize),
        /// Pre-place bytes in the free space at an offset, then later commit.
        WriteAt(usize, Vec<u8>),
        Commit(usize),
        /// Free the storage if nothing is held.
        Release,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(Op::Write),
            (0usize..40).prop_map(Op::Read),
            (0usize..40).prop_map(Op::Consume),
            (0usize..40, 0usize..40).prop_map(|(o, n)| Op::Peek(o, n)),
            (0usize..80).prop_map(Op::Grow),
            (0usize..20, proptest::collection::vec(any::<u8>(), 0..20))
                .prop_map(|(o, d)| Op::WriteAt(o, d)),
            (0usize..30).prop_map(Op::Commit),
            Just(Op::Release),
        ]
    }

    proptest! {
        /// The ring behaves like a bounded `VecDeque<u8>` under any sequence of operations.
        #[test]
        fn matches_model(cap in 0usize..40, ops in proptest::collection::vec(op(), 0..100)) {
            let mut r = RingBuffer::with_max(cap, 64);

            let mut model: VecDeque<u8> = VecDeque::new();
            let mut model_cap = cap;
            // What the model expects in the free space (offset from the readable end).
            let mut placed: std::collections::BTreeMap<usize, u8> = Default::default();
            for op in ops {
                match op {
                    Op::Write(d) => {
                        let n = r.write(&d);
                        let want = d.len().min(model_cap - model.len());
                        prop_assert_eq!(n, want);
                        model.extend(&d[..n]);
                        // Writing overwrites (and shifts past) pre-placed bytes.
                        placed = placed.into_iter().filter(|&(o, _)| o >= n).map(|(o, b)| (o - n, b)).collect();
                    }
                    Op::WriteAt(off, d) => {
                        let n = r.write_at(off, &d);
                        let free = model_cap - model.len();
                        let want = if off >= free { 0 } else { d.len().min(free - off) };
                        prop_assert_eq!(n, want);
                        for (k, &b) in d[..n].iter().enumerate() {
                            placed.insert(off + k, b);
                        }
                    }
                    Op::Commit(n) => {
                        // Only commit bytes the model knows (contiguous placed prefix).
                        let mut k = 0;
                        while k < n && placed.contains_key(&k) { k += 1; }
                        let got = r.commit(k);
                        prop_assert_eq!(got, k.min(model_cap - model.len()));
                        for i in 0..got {
                            model.push_back(placed[&i]);
                        }
                        placed = placed.into_iter().filter(|&(o, _)| o >= got).map(|(o, b)| (o - got, b)).collect();
                    }
                    Op::Read(n) => {
                        let mut out = std::vec![0u8; n];
                        let got = r.read(&mut out);
                        let want: Vec<u8> = model.drain(..n.min(model.len())).collect();
                        prop_assert_eq!(&out[..got], &want[..]);
                    }
                    Op::Consume(n) => {
                        let got = r.consume(n);
                        prop_assert_eq!(got, n.min(model.len()));
                        model.drain(..got);
                    }
                    Op::Peek(off, n) => {
                        let mut out = std::vec![0u8; n];
                        let got = r.peek(off, &mut out);
                        let want: Vec<u8> = model.iter().skip(off).take(n).copied().collect();
                        prop_assert_eq!(&out[..got], &want[..]);
                    }
                    Op::Release => {
                        let was = r.is_allocated();
                        let got = r.release_if_empty();
                        prop_assert_eq!(got, was && model.is_empty() && placed.is_empty());
                    }
                    Op::Grow(c) => {
                        let res = r.grow(c);
                        if c > 64 {
                            prop_assert!(res.is_err());
                        } else {
                            prop_assert!(res.is_ok());
                            model_cap = model_cap.max(c);
                        }
                    }
                }
                prop_assert_eq!(r.len(), model.len());
                prop_assert_eq!(r.capacity(), model_cap);
                prop_assert!(r.allocated() <= r.capacity());
            }
        }
    }
}
