//! The in-memory link: two [`LinkEnd`] devices joined by one path per direction.
//!
//! Each direction is a [`PathModel`]: frames go in at a time and come out at a later time, or
//! never. [`SimPath`] wraps `synack-netsim`'s seeded [`Pipe`] (delay, jitter, loss, reordering,
//! duplication, corruption, rate and queue limits: the one model the engine's simulations use
//! too); [`Link::simulated`] builds a link of two. [`IdealPath`] is no model at all, a plain
//! FIFO with a queue limit, for tests that want a perfect wire and for benchmarks that measure
//! the stacks rather than the path.
//!
//! Frames are moved, never copied: the sender writes into a pooled buffer, the buffer travels
//! through the path, the receiver reads it in place and returns it to the pool.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use synack_netsim::{ConfigError, LinkConfig, Payload, Pipe, PipeStats};
use synack_tcp::time::Instant;

use crate::device::{Device, DeviceCaps, RxToken, TxToken, TxVerdict, tx_verdict};
use crate::signal::Signal;

/// A frame in flight: a buffer and the range of it that is the frame (the writer may have
/// left headroom in front).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The buffer.
    pub buf: Vec<u8>,
    /// Start of the frame in `buf`.
    pub start: usize,
    /// End of the frame in `buf`.
    pub end: usize,
}

impl Frame {
    /// The frame's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// The frame's bytes, mutably (for models that corrupt frames).
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..self.end]
    }

    /// A frame holding a copy of `bytes`.
    pub fn from_bytes(bytes: &[u8]) -> Frame {
        Frame { buf: bytes.to_vec(), start: 0, end: bytes.len() }
    }
}

impl Payload for Frame {
    fn bytes_mut(&mut self) -> &mut [u8] {
        Frame::bytes_mut(self)
    }
    fn byte_len(&self) -> usize {
        self.end - self.start
    }
}

/// One direction of a link: what happens to frames between the two ends.
pub trait PathModel: Send {
    /// A frame enters the path at `now`. A path that refuses it (queue full, or lost) returns
    /// it, so its buffer can be reused.
    fn push(&mut self, now: Instant, frame: Frame) -> Result<(), Frame>;
    /// The next frame that has arrived by `now`.
    fn pop(&mut self, now: Instant) -> Option<Frame>;
    /// When the next frame arrives, if one is in flight.
    fn next_arrival(&self) -> Option<Instant>;
    /// Called when the link is idle (no frame in flight either way): a model may give back
    /// memory a past load peak left it holding.
    fn release_spare(&mut self) {}
}

/// A perfect wire: first in, first out, at once, up to `limit` frames queued.
#[derive(Debug, Clone)]
pub struct IdealPath {
    queue: VecDeque<Frame>,
    limit: usize,
    /// The longest the queue was since the link was last idle.
    peak: usize,
}

impl IdealPath {
    /// A path holding at most `limit` frames.
    pub fn new(limit: usize) -> Self {
        IdealPath { queue: VecDeque::new(), limit, peak: 0 }
    }
}

/// Queue slots an idle [`IdealPath`] keeps whatever came before.
const QUEUE_KEEP: usize = 64;

impl PathModel for IdealPath {
    fn push(&mut self, _now: Instant, frame: Frame) -> Result<(), Frame> {
        if self.queue.len() >= self.limit {
            return Err(frame);
        }
        self.queue.push_back(frame);
        self.peak = self.peak.max(self.queue.len());
        Ok(())
    }

    fn pop(&mut self, _now: Instant) -> Option<Frame> {
        self.queue.pop_front()
    }

    fn next_arrival(&self) -> Option<Instant> {
        self.queue.front().map(|_| Instant::ZERO)
    }

    /// An empty queue keeps room for twice the last stretch's peak: a steady load keeps its
    /// room, a past peak's goes back.
    fn release_spare(&mut self) {
        let want = (2 * self.peak).max(QUEUE_KEEP);
        if self.queue.is_empty() && self.queue.capacity() > 2 * want {
            self.queue.shrink_to(want);
        }
        self.peak = 0;
    }
}

/// One direction modelled by `synack-netsim`: the frame's buffer travels through the pipe,
/// a frame the pipe drops comes back for reuse.
#[derive(Debug)]
pub struct SimPath {
    pipe: Pipe<Frame>,
}

impl SimPath {
    /// A path with these impairments, seeded.
    pub fn new(config: LinkConfig, seed: u64) -> Result<Self, ConfigError> {
        Ok(SimPath { pipe: Pipe::new(config, seed)? })
    }

    /// The pipe's counters (losses, duplicates, corruptions ...).
    pub fn stats(&self) -> PipeStats {
        *self.pipe.stats()
    }
}

impl PathModel for SimPath {
    fn push(&mut self, now: Instant, frame: Frame) -> Result<(), Frame> {
        self.pipe.try_send(now.as_micros(), frame).map_err(|r| r.frame)
    }

    fn pop(&mut self, now: Instant) -> Option<Frame> {
        self.pipe.poll_deliver(now.as_micros())
    }

    fn next_arrival(&self) -> Option<Instant> {
        self.pipe.next_delivery().map(Instant::from_micros)
    }
}

/// Counters of one direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PathStats {
    /// Frames given to the path.
    pub sent: u64,
    /// Frames the path refused (queue full or lost on entry).
    pub refused: u64,
    /// Frames delivered to the receiving end.
    pub delivered: u64,
    /// Transmits dropped because the writer's range was bad or over the MTU.
    pub bad_tx: u64,
}

struct Core {
    /// Path 0 carries A to B, path 1 B to A.
    paths: [Box<dyn PathModel>; 2],
    stats: [PathStats; 2],
    pool: Vec<Vec<u8>>,
    /// Buffers taken for frames and not yet back (in the paths, or being read).
    out: usize,
    /// The most buffers out at once since the link was last idle.
    cycle_peak: usize,
    /// Buffers the pool may keep: what the busiest recent cycle needed, halving after each
    /// [`QUIET_STRETCHES`] idle moments in a row that came after quieter cycles.
    keep: usize,
    /// Idle moments since a cycle last needed `keep` buffers (or `keep` last halved).
    quiet: usize,
}

/// Buffers kept for reuse at most; beyond this, returned buffers are freed.
const POOL_MAX: usize = 1024;
/// Buffers the pool may always keep.
const POOL_MIN: usize = 32;
/// Quieter cycles in a row after which the pool halves what it keeps. A load whose bursts
/// alternate with short exchanges (a window of data, then one ACK back) keeps its buffers
/// rather than freeing half of them at each ACK and allocating them again for the next
/// window; a past peak still goes, a halving per this many idle moments.
const QUIET_STRETCHES: usize = 64;

impl Core {
    /// A buffer for a frame: a pooled one when there is one.
    fn take(&mut self) -> Vec<u8> {
        self.out += 1;
        self.cycle_peak = self.cycle_peak.max(self.out);
        self.pool.pop().unwrap_or_default()
    }

    /// A frame's buffer comes back. When it was the last one out the link is idle: the pool
    /// gives back what the last busy stretch does not explain, so a load peak does not keep its
    /// buffers for ever while a steady load (whose every stretch needs about as many) keeps
    /// reusing them.
    fn recycle(&mut self, buf: Vec<u8>) {
        // Frames injected from outside were never taken: `out` does not go below zero.
        self.out = self.out.saturating_sub(1);
        if self.pool.len() < POOL_MAX.min(self.keep.max(self.cycle_peak).max(POOL_MIN)) {
            self.pool.push(buf);
        }
        if self.out == 0 {
            if self.cycle_peak >= self.keep {
                self.keep = self.cycle_peak.min(POOL_MAX);
                self.quiet = 0;
            } else {
                self.quiet += 1;
                if self.quiet >= QUIET_STRETCHES {
                    self.keep = self.cycle_peak.max(self.keep / 2).clamp(POOL_MIN, POOL_MAX);
                    self.quiet = 0;
                }
            }
            self.cycle_peak = 0;
            if self.pool.len() > self.keep {
                self.pool.truncate(self.keep);
            }
            if self.pool.capacity() > 2 * self.keep {
                self.pool.shrink_to(self.keep);
            }
            for p in &mut self.paths {
                p.release_spare();
            }
        }
    }
}

/// A link between two devices.
#[derive(Debug)]
pub struct Link;

impl Link {
    /// Two ends with these capabilities, `a_to_b` carrying what end A sends.
    pub fn pair(
        caps: DeviceCaps,
        a_to_b: Box<dyn PathModel>,
        b_to_a: Box<dyn PathModel>,
    ) -> (LinkEnd, LinkEnd) {
        let core = Arc::new(Mutex::new(Core {
            paths: [a_to_b, b_to_a],
            stats: [PathStats::default(); 2],
            pool: Vec::new(),
            out: 0,
            cycle_peak: 0,
            keep: POOL_MIN,
            quiet: 0,
        }));
        let sig = [Arc::new(Signal::new()), Arc::new(Signal::new())];
        let a = LinkEnd::new(core.clone(), 0, caps, sig.clone());
        let b = LinkEnd::new(core, 1, caps, [sig[1].clone(), sig[0].clone()]);
        (a, b)
    }

    /// Two ends joined by `synack-netsim` pipes with these impairments; the two directions get
    /// seeds derived from `seed`, so a run is reproducible.
    pub fn simulated(
        caps: DeviceCaps,
        a_to_b: LinkConfig,
        b_to_a: LinkConfig,
        seed: u64,
    ) -> Result<(LinkEnd, LinkEnd), ConfigError> {
        let ab = SimPath::new(a_to_b, seed)?;
        let ba = SimPath::new(b_to_a, seed ^ 0x9e37_79b9_7f4a_7c15)?;
        Ok(Link::pair(caps, Box::new(ab), Box::new(ba)))
    }

    /// Two ends joined by perfect wires holding up to `queue_limit` frames each way.
    pub fn ideal(caps: DeviceCaps, queue_limit: usize) -> (LinkEnd, LinkEnd) {
        Link::pair(
            caps,
            Box::new(IdealPath::new(queue_limit)),
            Box::new(IdealPath::new(queue_limit)),
        )
    }
}

/// One end of a [`Link`]: a [`Device`].
///
/// The two ends share the paths behind one mutex, and each runs on its own stack's threads,
/// so every lock of it is a cache line moving between cores. An end therefore takes it once
/// per batch where it can: a receive takes every frame of the batch that has arrived into the
/// end's own queue, and the buffers of frames read go back with the next batch's look; in
/// batched mode (see [`set_batched_notify`](Self::set_batched_notify)) frames sent wait in
/// the end until [`notify_peer`](Self::notify_peer) puts them on the path together.
pub struct LinkEnd {
    core: Arc<Mutex<Core>>,
    side: usize,
    caps: DeviceCaps,
    /// [our signal (raised when a frame is sent to us), the peer's].
    signals: [Arc<Signal>; 2],
    /// Raise the peer's signal in [`LinkEnd::notify_peer`] rather than per frame, and put the
    /// frames sent on the path then.
    batched_notify: bool,
    /// Frames taken off the path towards this end and not yet read, oldest first.
    arrived: VecDeque<Frame>,
    /// Buffers of frames read, to go back to the pool at the next lock of the core.
    read: Mutex<Vec<Vec<u8>>>,
    /// Frames sent in batched mode, with the time each was sent, waiting for
    /// [`notify_peer`](Self::notify_peer).
    sent: Mutex<Vec<(Instant, Frame)>>,
}

impl std::fmt::Debug for LinkEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkEnd").field("side", &self.side).field("caps", &self.caps).finish()
    }
}

impl LinkEnd {
    fn new(
        core: Arc<Mutex<Core>>,
        side: usize,
        caps: DeviceCaps,
        signals: [Arc<Signal>; 2],
    ) -> Self {
        LinkEnd {
            core,
            side,
            caps,
            signals,
            batched_notify: false,
            arrived: VecDeque::new(),
            read: Mutex::new(Vec::new()),
            sent: Mutex::new(Vec::new()),
        }
    }

    /// The shared core, with the buffers this end read given back first (so the pool's
    /// accounting never sees them out longer than until this end next looks at the link).
    fn core(&self) -> MutexGuard<'_, Core> {
        let mut c = self.core.lock().unwrap_or_else(PoisonError::into_inner);
        let mut read = lock(&self.read);
        for buf in read.drain(..) {
            c.recycle(buf);
        }
        c
    }

    /// Puts the frames sent in batched mode on the path; true when any went out.
    fn flush_sent(&self) -> bool {
        let mut sent = lock(&self.sent);
        if sent.is_empty() {
            return false;
        }
        let side = self.side;
        let mut c = self.core();
        let mut any = false;
        for (now, frame) in sent.drain(..) {
            c.stats[side].sent += 1;
            match c.paths[side].push(now, frame) {
                Ok(()) => any = true,
                Err(f) => {
                    c.stats[side].refused += 1;
                    c.recycle(f.buf);
                }
            }
        }
        any
    }

    /// The signal raised whenever the peer sends this end a frame (the driver sleeps on it).
    pub fn signal(&self) -> Arc<Signal> {
        self.signals[0].clone()
    }

    /// Batched mode (`true`): frames sent raise the peer's signal only at the next
    /// [`notify_peer`](Self::notify_peer), so a peer thread sleeping on it wakes once per
    /// batch instead of at the first frame of each (to find one frame, sleep, and be woken
    /// again). Off by default: every frame raises it.
    pub fn set_batched_notify(&mut self, on: bool) {
        self.batched_notify = on;
        if !on {
            self.notify_peer();
        }
    }

    /// Puts the frames sent since the last call on the path and raises the peer's signal if
    /// any went out (batched mode).
    pub fn notify_peer(&self) {
        if self.flush_sent() {
            self.signals[1].notify();
        }
    }

    /// Counters of (what this end sent, what it received).
    pub fn stats(&self) -> (PathStats, PathStats) {
        let c = self.core();
        (c.stats[self.side], c.stats[1 - self.side])
    }

    /// Takes the next frame on its way to this end without handing it to the interface (tests
    /// use this to look at, edit, drop or reorder frames).
    pub fn intercept(&mut self, now: Instant) -> Option<Frame> {
        if let Some(f) = self.arrived.pop_front() {
            return Some(f);
        }
        let mut c = self.core();
        c.paths[1 - self.side].pop(now)
    }

    /// Puts a frame on the path towards this end, as if the peer had sent it.
    pub fn inject(&mut self, now: Instant, frame: Frame) -> bool {
        let ok = {
            let mut c = self.core();
            c.paths[1 - self.side].push(now, frame).is_ok()
        };
        self.signals[0].notify();
        ok
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Receive token of [`LinkEnd`]: owns the frame's buffer until consumed.
pub struct LinkRx<'a> {
    end: &'a LinkEnd,
    frame: Frame,
}

impl RxToken for LinkRx<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        let r = f(self.frame.bytes());
        lock(&self.end.read).push(self.frame.buf);
        r
    }
}

/// Transmit token of [`LinkEnd`].
pub struct LinkTx<'a> {
    end: &'a LinkEnd,
    now: Instant,
}

impl TxToken for LinkTx<'_> {
    fn consume<F>(self, max_len: usize, f: F) -> usize
    where
        F: FnOnce(&mut [u8]) -> core::ops::Range<usize>,
    {
        let mut buf = self.end.core().take();
        buf.resize(max_len, 0);
        let range = f(&mut buf);
        let side = self.end.side;
        let verdict = tx_verdict(&range, buf.len(), self.end.caps.mtu);
        let n = range.len();
        if self.end.batched_notify && matches!(verdict, TxVerdict::Send) {
            // On the path with the rest of the batch, at `notify_peer`.
            lock(&self.end.sent)
                .push((self.now, Frame { buf, start: range.start, end: range.end }));
            return n;
        }
        let mut c = self.end.core();
        match verdict {
            TxVerdict::Send => {}
            TxVerdict::Nothing => {
                c.recycle(buf);
                return 0;
            }
            TxVerdict::BadRange | TxVerdict::Oversize => {
                c.stats[side].bad_tx += 1;
                c.recycle(buf);
                return 0;
            }
        }
        c.stats[side].sent += 1;
        let frame = Frame { buf, start: range.start, end: range.end };
        match c.paths[side].push(self.now, frame) {
            Ok(()) => {
                drop(c);
                self.end.signals[1].notify();
                n
            }
            Err(f) => {
                c.stats[side].refused += 1;
                c.recycle(f.buf);
                0
            }
        }
    }
}

impl Device for LinkEnd {
    type RxToken<'a> = LinkRx<'a>;
    type TxToken<'a> = LinkTx<'a>;

    fn receive(&mut self, now: Instant) -> Option<LinkRx<'_>> {
        if self.arrived.is_empty() {
            let from = 1 - self.side;
            let batch = self.caps.max_batch.max(1);
            let mut arrived = std::mem::take(&mut self.arrived);
            let mut c = self.core();
            while arrived.len() < batch {
                let Some(f) = c.paths[from].pop(now) else { break };
                c.stats[from].delivered += 1;
                arrived.push_back(f);
            }
            drop(c);
            self.arrived = arrived;
        }
        let frame = self.arrived.pop_front()?;
        Some(LinkRx { end: self, frame })
    }

    fn transmit(&mut self, now: Instant) -> Option<LinkTx<'_>> {
        Some(LinkTx { end: self, now })
    }

    fn caps(&self) -> DeviceCaps {
        self.caps
    }

    fn poll_at(&self) -> Option<Instant> {
        if !self.arrived.is_empty() {
            return Some(Instant::ZERO);
        }
        self.core().paths[1 - self.side].next_arrival()
    }
}

impl Drop for LinkEnd {
    /// Frames sent in batched mode and not yet flushed still go (as a device's transmit queue
    /// drains after the program let go of it), and read buffers go back to the pool.
    fn drop(&mut self) {
        self.notify_peer();
        drop(self.core());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::time::Duration;

    #[test]
    fn simulated_path_delays_and_loses_deterministically() {
        let cfg = LinkConfig { delay: Duration::from_millis(5), loss: 0.5, ..LinkConfig::ideal() };
        let run = || {
            let (mut a, mut b) = Link::simulated(DeviceCaps::default(), cfg, cfg, 7).unwrap();
            for i in 0..100u8 {
                a.transmit(Instant::ZERO).unwrap().consume(64, |buf| {
                    buf[0] = i;
                    0..10
                });
            }
            assert!(b.receive(Instant::from_micros(4_999)).is_none(), "not before the delay");
            assert_eq!(b.poll_at(), Some(Instant::from_millis(5)));
            let mut got = vec![];
            while let Some(t) = b.receive(Instant::from_millis(5)) {
                got.push(t.consume(|f| f[0]));
            }
            got
        };
        let first = run();
        assert!(first.len() > 20 && first.len() < 80, "about half lost: {}", first.len());
        assert_eq!(first, run(), "same seed, same outcome");
    }

    /// `n` frames from `a` to `b` at once, then `b` reads them all.
    fn burst(a: &mut LinkEnd, b: &mut LinkEnd, n: usize) {
        for _ in 0..n {
            assert_eq!(a.transmit(Instant::ZERO).unwrap().consume(1500, |_| 0..60), 60);
        }
        while let Some(rx) = b.receive(Instant::ZERO) {
            rx.consume(|_| ());
        }
    }

    #[test]
    fn a_peak_gives_its_buffers_back_once_quiet_and_a_steady_load_keeps_them() {
        let (mut a, mut b) = Link::ideal(DeviceCaps::default(), 4096);
        let queue_room = |a: &LinkEnd| {
            let c = a.core();
            (c.pool.len(), c.pool.capacity())
        };
        for _ in 0..5 {
            burst(&mut a, &mut b, 800);
            assert_eq!(queue_room(&a).0, 800, "a steady load keeps what each stretch needs");
        }
        // Alternating with short exchanges (a window, then one ACK), the load keeps its buffers.
        for _ in 0..4 * QUIET_STRETCHES {
            burst(&mut a, &mut b, 800);
            assert_eq!(queue_room(&a).0, 800, "a window's buffers stay");
            burst(&mut a, &mut b, 1);
            assert_eq!(queue_room(&a).0, 800, "and stay across the ACK's stretch");
        }
        // Quiet: each run of quiet idle moments halves what is kept, down to the floor.
        for _ in 0..8 * QUIET_STRETCHES {
            burst(&mut a, &mut b, 2);
        }
        let (len, cap) = queue_room(&a);
        assert_eq!(len, POOL_MIN);
        assert!(cap <= 2 * POOL_MIN, "pool capacity {cap}");
        // The path's queue gave back its room too, and still works.
        burst(&mut a, &mut b, 3);
        assert_eq!(
            a.stats().0.delivered,
            (5 * 800 + 4 * QUIET_STRETCHES * 801 + 8 * QUIET_STRETCHES * 2 + 3) as u64
        );
    }

    #[test]
    fn an_idle_ideal_path_gives_back_a_past_peaks_queue_room() {
        let mut p = IdealPath::new(4096);
        let stretch = |p: &mut IdealPath, n: usize| {
            for _ in 0..n {
                p.push(Instant::ZERO, Frame::from_bytes(&[0; 4])).unwrap();
            }
            while p.pop(Instant::ZERO).is_some() {}
            p.release_spare();
        };
        stretch(&mut p, 1000);
        stretch(&mut p, 1000);
        assert!(p.queue.capacity() >= 1000, "a steady load keeps its room");
        stretch(&mut p, 2);
        assert!(p.queue.capacity() <= 2 * QUEUE_KEEP, "capacity {}", p.queue.capacity());
    }

    #[test]
    fn frames_cross_and_buffers_are_reused() {
        let (mut a, mut b) = Link::ideal(DeviceCaps::default(), 2);
        for i in 0..3u8 {
            let n = a.transmit(Instant::ZERO).unwrap().consume(100, |buf| {
                buf[20] = i;
                20..30
            });
            assert_eq!(n, if i < 2 { 10 } else { 0 }, "queue limit 2");
        }
        assert!(b.signal().wait(Some(std::time::Duration::ZERO)));
        assert_eq!(b.poll_at(), Some(Instant::ZERO));
        let got = b.receive(Instant::ZERO).unwrap().consume(|f| f.to_vec());
        assert_eq!(got.len(), 10);
        assert_eq!(got[0], 0);
        let (sent, _) = a.stats();
        assert_eq!((sent.sent, sent.refused), (3, 1));
        // The second frame came with the first in one look at the link.
        assert!(b.intercept(Instant::ZERO).is_some());
        assert!(b.receive(Instant::ZERO).is_none());
        // That last look gave the read frame's buffer back.
        assert_eq!(a.core().pool.len(), 2, "the refused and the received buffers are pooled");
        // Oversize and bad ranges are dropped and counted.
        assert_eq!(a.transmit(Instant::ZERO).unwrap().consume(2000, |_| 0..1600), 0);
        assert_eq!(a.transmit(Instant::ZERO).unwrap().consume(10, |_| 5..20), 0);
        assert_eq!(a.stats().0.bad_tx, 2);
    }

    /// In batched mode frames wait in the sending end until `notify_peer`, then reach the
    /// path in the order sent (a full queue refusing the excess), and the peer's signal is
    /// raised once; a receive takes up to a batch of them in one look.
    #[test]
    fn batched_frames_go_together_at_notify_and_arrive_in_order() {
        let caps = DeviceCaps { max_batch: 2, ..DeviceCaps::default() };
        let (mut a, mut b) = Link::ideal(caps, 3);
        a.set_batched_notify(true);
        for i in 0..4u8 {
            let n = a.transmit(Instant::ZERO).unwrap().consume(100, |buf| {
                buf[0] = i;
                0..10
            });
            assert_eq!(n, 10);
        }
        assert_eq!(b.poll_at(), None, "nothing on the path before notify_peer");
        assert!(!b.signal().wait(Some(std::time::Duration::ZERO)));
        a.notify_peer();
        assert!(b.signal().wait(Some(std::time::Duration::ZERO)), "raised at notify_peer");
        a.notify_peer();
        assert!(!b.signal().wait(Some(std::time::Duration::ZERO)), "and only when frames went");
        let (sent, _) = a.stats();
        assert_eq!((sent.sent, sent.refused), (4, 1), "queue limit 3");
        let mut got = vec![];
        while let Some(rx) = b.receive(Instant::ZERO) {
            got.push(rx.consume(|f| f[0]));
        }
        assert_eq!(got, [0, 1, 2]);
        assert_eq!(a.stats().0.delivered, 3);
        // Frames still held when the end goes are put on the path.
        a.transmit(Instant::ZERO).unwrap().consume(100, |buf| {
            buf[0] = 9;
            0..10
        });
        drop(a);
        assert_eq!(b.receive(Instant::ZERO).unwrap().consume(|f| f[0]), 9);
    }
}
