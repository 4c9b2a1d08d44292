//! # synack-netsim: a seeded model of an imperfect network path
//!
//! Frames go in with a time; they come out later, or not at all, according to seeded delay,
//! jitter, loss, reordering, duplication, corruption, a rate limit and a queue limit. The engine's
//! simulation tests and the stack's in-memory link both use it, so one model serves both.
//!
//! Time is plain `u64` microseconds (the same unit as `synack_tcp::Instant::as_micros`), so this
//! crate depends on nothing of ours. Everything is deterministic for a seed: the same frames sent
//! at the same times with the same seed come out identically.
//!
//! One [`Pipe`] is one direction. Per frame, in this order:
//! 1. **loss** with probability `loss` (counted);
//! 2. **corruption**: with probability `corrupt`, one random bit is flipped (the receiver's
//!    checksum should catch it);
//! 3. **rate limit**: with `rate_bps`, the frame waits behind earlier frames for the bottleneck
//!    and takes `len * 8 / rate` to serialize; if the bottleneck queue already holds
//!    `queue_limit_packets` frames or `queue_limit_bytes` bytes, it is tail-dropped;
//! 4. **delay + jitter**: propagation delay plus a uniform jitter in `[0, jitter]`, never
//!    overtaking an earlier frame (jitter alone does not reorder, as on a real FIFO path);
//! 5. **reordering**: with probability `reorder`, the frame is held back an extra
//!    `reorder_delay`, so frames sent after it overtake it;
//! 6. **duplication**: with probability `duplicate`, a copy follows with its own jitter.
//!
//! Memory is bounded: at most `max_in_flight` frames are in the pipe; beyond that new frames are
//! dropped and counted.
//!
//! Frames are any [`Payload`] (`Vec<u8>` by default). A device with pooled buffers implements
//! [`Payload`] for its frame type and uses [`Pipe::try_send`], which hands a refused frame back
//! so its buffer can be reused; the stack's in-memory link wraps a `Pipe<Frame>` this way
//! (`try_send` for its path's `push`, [`Pipe::poll_deliver`] for `pop`,
//! [`Pipe::next_delivery`] for `next_arrival`, times as `Instant::as_micros`).
//!
//! ```
//! use synack_netsim::{LinkConfig, Pipe};
//! use core::time::Duration;
//! let cfg = LinkConfig { delay: Duration::from_millis(10), ..LinkConfig::ideal() };
//! let mut pipe = Pipe::new(cfg, 42).unwrap();
//! pipe.send(0, vec![1, 2, 3]);
//! assert_eq!(pipe.next_delivery(), Some(10_000));
//! assert_eq!(pipe.poll_deliver(9_999), None);
//! assert_eq!(pipe.poll_deliver(10_000), Some(vec![1, 2, 3]));
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use core::cmp::Reverse;
use core::fmt;
use core::time::Duration;
use rand_core::{RngCore, SeedableRng};
use rand_pcg::Pcg64Mcg;
use std::collections::{BinaryHeap, VecDeque};

/// Microseconds since an origin the caller chooses.
pub type Micros = u64;

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The impairments of one direction of a path.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkConfig {
    /// One-way propagation delay.
    pub delay: Duration,
    /// Extra delay, uniform in `[0, jitter]` per frame (without reordering).
    pub jitter: Duration,
    /// Probability a frame is lost, in `[0, 1]`.
    pub loss: f64,
    /// Probability a frame is held back by `reorder_delay` so later frames overtake it.
    pub reorder: f64,
    /// How long a reordered frame is held back.
    pub reorder_delay: Duration,
    /// Probability a frame is delivered twice.
    pub duplicate: f64,
    /// Probability one random bit of a frame is flipped.
    pub corrupt: f64,
    /// Bottleneck rate in bits per second; 0 means unlimited.
    pub rate_bps: u64,
    /// Most bytes waiting for the bottleneck (only with a rate limit); 0 means unlimited.
    pub queue_limit_bytes: usize,
    /// Most frames waiting for the bottleneck (only with a rate limit); 0 means unlimited.
    pub queue_limit_packets: usize,
    /// Most frames in the pipe at once, whatever their state (the memory bound; 65 536 by
    /// default, about 100 MB of full-size frames).
    pub max_in_flight: usize,
}

impl LinkConfig {
    /// No delay, no impairment, no rate limit.
    pub const fn ideal() -> LinkConfig {
        LinkConfig {
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            loss: 0.0,
            reorder: 0.0,
            reorder_delay: Duration::ZERO,
            duplicate: 0.0,
            corrupt: 0.0,
            rate_bps: 0,
            queue_limit_bytes: 0,
            queue_limit_packets: 0,
            max_in_flight: 65_536,
        }
    }

    /// Checks probabilities are in `[0, 1]` and the memory bound is set.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (name, p) in [
            ("loss", self.loss),
            ("reorder", self.reorder),
            ("duplicate", self.duplicate),
            ("corrupt", self.corrupt),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(ConfigError::Probability { field: name, value: p });
            }
        }
        if self.max_in_flight == 0 {
            return Err(ConfigError::ZeroInFlight);
        }
        Ok(())
    }
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig::ideal()
    }
}

/// A [`LinkConfig`] that cannot be used.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A probability outside `[0, 1]` (or NaN).
    Probability {
        /// Which field.
        field: &'static str,
        /// Its value.
        value: f64,
    },
    /// `max_in_flight` is zero: nothing could ever be delivered.
    ZeroInFlight,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Probability { field, value } => {
                write!(f, "link config: {field} = {value} is not a probability in [0, 1]")
            }
            ConfigError::ZeroInFlight => write!(f, "link config: max_in_flight must be > 0"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// What happened to a frame given to [`Pipe::send`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendOutcome {
    /// It will be delivered (possibly corrupted, reordered or twice).
    Queued,
    /// It was dropped.
    Dropped(DropReason),
}

/// Why a frame was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DropReason {
    /// Random loss.
    Loss,
    /// The bottleneck queue was full (tail drop).
    QueueFull,
    /// `max_in_flight` frames were already in the pipe.
    Overflow,
}

/// Counters for one pipe.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PipeStats {
    /// Frames given to `send`.
    pub sent: u64,
    /// Bytes given to `send`.
    pub bytes_sent: u64,
    /// Frames handed out by `poll_deliver` (duplicates included).
    pub delivered: u64,
    /// Bytes handed out.
    pub bytes_delivered: u64,
    /// Frames lost at random.
    pub lost: u64,
    /// Frames tail-dropped at the bottleneck.
    pub queue_drops: u64,
    /// Frames dropped by the in-flight bound.
    pub overflow_drops: u64,
    /// Extra copies made.
    pub duplicated: u64,
    /// Frames with a bit flipped.
    pub corrupted: u64,
    /// Frames held back to be overtaken.
    pub reordered: u64,
}

/// What a pipe can carry: a byte buffer it may flip bits in and copy (for duplication).
///
/// `Vec<u8>` is one; a device with pooled buffers implements it for its own frame type (e.g. a
/// buffer plus the range holding the frame), so buffers travel through the pipe without a copy
/// and come back from [`Pipe::try_send`] when refused, for reuse.
pub trait Payload: Clone {
    /// The frame's bytes, for corruption.
    fn bytes_mut(&mut self) -> &mut [u8];
    /// The frame's length in bytes (for the rate limit and queue accounting).
    fn byte_len(&self) -> usize;
}

impl Payload for Vec<u8> {
    fn bytes_mut(&mut self) -> &mut [u8] {
        self
    }
    fn byte_len(&self) -> usize {
        self.len()
    }
}

/// A frame [`Pipe::try_send`] refused, handed back with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected<F> {
    /// The frame, for buffer reuse.
    pub frame: F,
    /// Why it was dropped.
    pub reason: DropReason,
}

/// A frame on its way, ordered by due time and then send order.
#[derive(Debug)]
struct InFlight<F> {
    at: Micros,
    /// Tie-breaker: frames due at the same time come out in send order.
    order: u64,
    frame: F,
}

impl<F> PartialEq for InFlight<F> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.order) == (other.at, other.order)
    }
}
impl<F> Eq for InFlight<F> {}
impl<F> PartialOrd for InFlight<F> {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<F> Ord for InFlight<F> {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        (self.at, self.order).cmp(&(other.at, other.order))
    }
}

/// One direction of a simulated path, carrying frames of type `F`. See the crate docs.
#[derive(Debug)]
pub struct Pipe<F = Vec<u8>> {
    config: LinkConfig,
    rng: Pcg64Mcg,
    in_flight: BinaryHeap<Reverse<InFlight<F>>>,
    /// Departure times and sizes of frames still in (or being serialized by) the bottleneck.
    bottleneck: VecDeque<(Micros, usize)>,
    bottleneck_bytes: usize,
    /// When the bottleneck finishes its current backlog.
    link_free_at: Micros,
    /// Latest delivery time of a frame that was not reordered (keeps jitter FIFO).
    last_fifo_delivery: Micros,
    order: u64,
    stats: PipeStats,
}

impl<F: Payload> Pipe<F> {
    /// A pipe with `config`, its randomness seeded by `seed`.
    pub fn new(config: LinkConfig, seed: u64) -> Result<Pipe<F>, ConfigError> {
        config.validate()?;
        Ok(Pipe {
            config,
            rng: Pcg64Mcg::seed_from_u64(seed),
            in_flight: BinaryHeap::new(),
            bottleneck: VecDeque::new(),
            bottleneck_bytes: 0,
            link_free_at: 0,
            last_fifo_delivery: 0,
            order: 0,
            stats: PipeStats::default(),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &LinkConfig {
        &self.config
    }

    /// Changes the impairments for frames sent from now on.
    pub fn set_config(&mut self, config: LinkConfig) -> Result<(), ConfigError> {
        config.validate()?;
        self.config = config;
        Ok(())
    }

    /// Counters so far.
    pub fn stats(&self) -> &PipeStats {
        &self.stats
    }

    /// Frames currently in the pipe.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// A uniform number in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    fn chance(&mut self, p: f64) -> bool {
        // Always draw, so one impairment's setting does not shift another's random stream.
        let x = self.unit();
        x < p
    }

    fn jitter(&mut self) -> u64 {
        let j = micros(self.config.jitter);
        let r = self.rng.next_u64();
        if j == 0 { 0 } else { r % (j + 1) }
    }

    /// Bytes waiting for the bottleneck at `now`.
    pub fn queued_bytes(&mut self, now: Micros) -> usize {
        self.drain_bottleneck(now);
        self.bottleneck_bytes
    }

    fn drain_bottleneck(&mut self, now: Micros) {
        while let Some(&(depart, len)) = self.bottleneck.front() {
            if depart > now {
                break;
            }
            self.bottleneck.pop_front();
            self.bottleneck_bytes -= len;
        }
    }

    /// Puts a frame into the pipe at `now`; a dropped frame is freed.
    pub fn send(&mut self, now: Micros, frame: F) -> SendOutcome {
        match self.try_send(now, frame) {
            Ok(()) => SendOutcome::Queued,
            Err(r) => SendOutcome::Dropped(r.reason),
        }
    }

    /// Puts a frame into the pipe at `now`; a dropped frame comes back (for buffer reuse).
    pub fn try_send(&mut self, now: Micros, mut frame: F) -> Result<(), Rejected<F>> {
        let len = frame.byte_len();
        self.stats.sent += 1;
        self.stats.bytes_sent += len as u64;
        // Draw every decision up front so the random stream per frame is fixed.
        let lose = self.chance(self.config.loss);
        let corrupt = self.chance(self.config.corrupt);
        let bit = self.rng.next_u64();
        let reorder = self.chance(self.config.reorder);
        let duplicate = self.chance(self.config.duplicate);
        let jitter = self.jitter();
        let dup_jitter = self.jitter();

        if lose {
            self.stats.lost += 1;
            return Err(Rejected { frame, reason: DropReason::Loss });
        }
        let copies = if duplicate { 2 } else { 1 };
        if self.in_flight.len() + copies > self.config.max_in_flight {
            self.stats.overflow_drops += 1;
            return Err(Rejected { frame, reason: DropReason::Overflow });
        }

        // Bottleneck: serialization behind earlier frames.
        let mut depart = now;
        if self.config.rate_bps > 0 {
            self.drain_bottleneck(now);
            let pkts_full = self.config.queue_limit_packets > 0
                && self.bottleneck.len() >= self.config.queue_limit_packets;
            let bytes_full = self.config.queue_limit_bytes > 0
                && self.bottleneck_bytes + len > self.config.queue_limit_bytes;
            if pkts_full || bytes_full {
                self.stats.queue_drops += 1;
                return Err(Rejected { frame, reason: DropReason::QueueFull });
            }
            let bits = (len as u128) * 8 * 1_000_000;
            let tx = bits.div_ceil(u128::from(self.config.rate_bps));
            let tx = u64::try_from(tx).unwrap_or(u64::MAX);
            depart = self.link_free_at.max(now).saturating_add(tx);
            self.link_free_at = depart;
            self.bottleneck.push_back((depart, len));
            self.bottleneck_bytes += len;
        }

        if corrupt && len > 0 {
            let bytes = frame.bytes_mut();
            let bit = (bit % (bytes.len() as u64 * 8)) as usize;
            bytes[bit / 8] ^= 1 << (bit % 8);
            self.stats.corrupted += 1;
        }

        let base = depart.saturating_add(micros(self.config.delay));
        let mut at = base.saturating_add(jitter).max(self.last_fifo_delivery);
        if reorder {
            at = at.saturating_add(micros(self.config.reorder_delay));
            self.stats.reordered += 1;
        } else {
            self.last_fifo_delivery = at;
        }
        if duplicate {
            let dup_at = base.saturating_add(dup_jitter).max(at);
            self.stats.duplicated += 1;
            self.push(dup_at, frame.clone());
        }
        self.push(at, frame);
        Ok(())
    }

    fn push(&mut self, at: Micros, frame: F) {
        self.order += 1;
        self.in_flight.push(Reverse(InFlight { at, order: self.order, frame }));
    }

    /// The next frame due at or before `now`, if any. Call until `None`.
    pub fn poll_deliver(&mut self, now: Micros) -> Option<F> {
        if self.in_flight.peek()?.0.at > now {
            return None;
        }
        let Reverse(f) = self.in_flight.pop()?;
        self.stats.delivered += 1;
        self.stats.bytes_delivered += f.frame.byte_len() as u64;
        Some(f.frame)
    }

    /// When the next frame is due, if any is in the pipe.
    pub fn next_delivery(&self) -> Option<Micros> {
        self.in_flight.peek().map(|f| f.0.at)
    }
}

/// Both directions of a path: `a_to_b` and `b_to_a`, seeded independently from one seed.
#[derive(Debug)]
pub struct Path<F = Vec<u8>> {
    /// Frames from endpoint A to endpoint B.
    pub a_to_b: Pipe<F>,
    /// Frames from endpoint B to endpoint A.
    pub b_to_a: Pipe<F>,
}

impl<F: Payload> Path<F> {
    /// The same impairments both ways.
    pub fn symmetric(config: LinkConfig, seed: u64) -> Result<Path<F>, ConfigError> {
        Path::new(config, config, seed)
    }

    /// Different impairments each way.
    pub fn new(a_to_b: LinkConfig, b_to_a: LinkConfig, seed: u64) -> Result<Path<F>, ConfigError> {
        // Two distinct streams from one seed (the odd constant decorrelates them).
        let seed_ba = seed ^ 0x9E37_79B9_7F4A_7C15;
        Ok(Path { a_to_b: Pipe::new(a_to_b, seed)?, b_to_a: Pipe::new(b_to_a, seed_ba)? })
    }

    /// When the next frame in either direction is due.
    pub fn next_delivery(&self) -> Option<Micros> {
        match (self.a_to_b.next_delivery(), self.b_to_a.next_delivery()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    fn drain(p: &mut Pipe, until: Micros) -> Vec<(Micros, Vec<u8>)> {
        let mut out = Vec::new();
        while let Some(t) = p.next_delivery() {
            if t > until {
                break;
            }
            let f = p.poll_deliver(t).unwrap();
            out.push((t, f));
        }
        out
    }

    #[test]
    fn bad_config_is_an_error() {
        let bad = LinkConfig { loss: 1.5, ..LinkConfig::ideal() };
        assert_eq!(
            Pipe::<Vec<u8>>::new(bad, 1).unwrap_err(),
            ConfigError::Probability { field: "loss", value: 1.5 }
        );
        let nan = LinkConfig { corrupt: f64::NAN, ..LinkConfig::ideal() };
        assert!(Pipe::<Vec<u8>>::new(nan, 1).is_err());
        let zero = LinkConfig { max_in_flight: 0, ..LinkConfig::ideal() };
        assert_eq!(Pipe::<Vec<u8>>::new(zero, 1).unwrap_err(), ConfigError::ZeroInFlight);
    }

    #[test]
    fn delay_and_fifo_jitter() {
        let cfg = LinkConfig { delay: ms(10), jitter: ms(5), ..LinkConfig::ideal() };
        let mut p = Pipe::new(cfg, 7).unwrap();
        for i in 0..100u8 {
            p.send(u64::from(i) * 100, vec![i]);
        }
        let out = drain(&mut p, u64::MAX);
        assert_eq!(out.len(), 100);
        for (i, (t, f)) in out.iter().enumerate() {
            assert_eq!(f[0] as usize, i, "jitter alone never reorders");
            let sent = i as u64 * 100;
            assert!(*t >= sent + 10_000);
        }
        // Jitter actually varies the delay.
        let delays: Vec<u64> =
            out.iter().enumerate().map(|(i, (t, _))| t - i as u64 * 100).collect();
        assert!(delays.iter().max() > delays.iter().min());
    }

    #[test]
    fn loss_rate_close_to_configured() {
        let cfg = LinkConfig { loss: 0.3, ..LinkConfig::ideal() };
        let mut p = Pipe::new(cfg, 11).unwrap();
        for i in 0..10_000u64 {
            p.send(i, vec![0; 10]);
        }
        let lost = p.stats().lost;
        assert!((2_800..3_200).contains(&lost), "lost {lost}");
        assert_eq!(drain(&mut p, u64::MAX).len() as u64, 10_000 - lost);
    }

    #[test]
    fn rate_limit_and_tail_drop() {
        // 8 Mbit/s: a 1000-byte frame takes 1 ms. Queue of 5 frames.
        let cfg = LinkConfig {
            rate_bps: 8_000_000,
            queue_limit_packets: 5,
            delay: ms(1),
            ..LinkConfig::ideal()
        };
        let mut p = Pipe::new(cfg, 3).unwrap();
        let outcomes: Vec<_> = (0..8).map(|_| p.send(0, vec![0; 1000])).collect();
        assert_eq!(outcomes.iter().filter(|o| **o == SendOutcome::Queued).count(), 5);
        assert_eq!(p.stats().queue_drops, 3);
        let out = drain(&mut p, u64::MAX);
        let times: Vec<u64> = out.iter().map(|(t, _)| *t).collect();
        assert_eq!(times, [2_000, 3_000, 4_000, 5_000, 6_000]);
        // Once drained, the queue accepts again.
        assert_eq!(p.queued_bytes(10_000), 0);
        assert_eq!(p.send(10_000, vec![0; 1000]), SendOutcome::Queued);
    }

    #[test]
    fn byte_queue_limit() {
        let cfg =
            LinkConfig { rate_bps: 1_000_000, queue_limit_bytes: 2500, ..LinkConfig::ideal() };
        let mut p = Pipe::new(cfg, 3).unwrap();
        assert_eq!(p.send(0, vec![0; 1000]), SendOutcome::Queued);
        assert_eq!(p.send(0, vec![0; 1000]), SendOutcome::Queued);
        assert_eq!(p.send(0, vec![0; 1000]), SendOutcome::Dropped(DropReason::QueueFull));
        assert_eq!(p.send(0, vec![0; 500]), SendOutcome::Queued);
    }

    #[test]
    fn reorder_duplicate_corrupt() {
        let cfg = LinkConfig {
            delay: ms(10),
            reorder: 0.2,
            reorder_delay: ms(5),
            duplicate: 0.1,
            corrupt: 0.1,
            ..LinkConfig::ideal()
        };
        let mut p = Pipe::new(cfg, 99).unwrap();
        for i in 0..1000u32 {
            p.send(u64::from(i) * 100, i.to_be_bytes().to_vec());
        }
        let s = *p.stats();
        let out = drain(&mut p, u64::MAX);
        assert_eq!(out.len() as u64, 1000 + s.duplicated);
        assert!(s.reordered > 100 && s.duplicated > 50 && s.corrupted > 50, "{s:?}");
        let ids: Vec<u32> =
            out.iter().map(|(_, f)| u32::from_be_bytes(f[..4].try_into().unwrap())).collect();
        let inversions = ids.windows(2).filter(|w| w[0] > w[1]).count();
        assert!(inversions > 50, "frames overtake reordered ones");
        // Corruption flips exactly one bit: some delivered ids differ from every sent id pattern
        // by one bit; count frames whose value is out of range as evidence.
        assert!(ids.iter().any(|&v| v >= 1000));
    }

    /// A pooled frame type: buffer plus range, as a device with headroom would use.
    #[derive(Clone, Debug, PartialEq)]
    struct Pooled {
        buf: Vec<u8>,
        start: usize,
    }
    impl Payload for Pooled {
        fn bytes_mut(&mut self) -> &mut [u8] {
            &mut self.buf[self.start..]
        }
        fn byte_len(&self) -> usize {
            self.buf.len() - self.start
        }
    }

    #[test]
    fn pooled_frames_come_back_when_refused() {
        let cfg = LinkConfig { loss: 1.0, ..LinkConfig::ideal() };
        let mut p: Pipe<Pooled> = Pipe::new(cfg, 1).unwrap();
        let f = Pooled { buf: vec![0xAA; 64], start: 14 };
        let r = p.try_send(0, f.clone()).unwrap_err();
        assert_eq!(r.reason, DropReason::Loss);
        assert_eq!(r.frame, f, "the buffer is returned for reuse");
        // Corruption touches only the frame's range, never the headroom.
        let cfg = LinkConfig { corrupt: 1.0, ..LinkConfig::ideal() };
        let mut p: Pipe<Pooled> = Pipe::new(cfg, 2).unwrap();
        p.try_send(0, f.clone()).unwrap();
        let out = p.poll_deliver(0).unwrap();
        assert_eq!(&out.buf[..14], &f.buf[..14]);
        let flipped: u32 =
            out.buf[14..].iter().zip(&f.buf[14..]).map(|(a, b)| (a ^ b).count_ones()).sum();
        assert_eq!(flipped, 1);
    }

    #[test]
    fn in_flight_bound() {
        let cfg = LinkConfig { delay: ms(100), max_in_flight: 10, ..LinkConfig::ideal() };
        let mut p = Pipe::new(cfg, 1).unwrap();
        for _ in 0..20 {
            p.send(0, vec![0]);
        }
        assert_eq!(p.in_flight(), 10);
        assert_eq!(p.stats().overflow_drops, 10);
    }

    #[test]
    fn path_directions_independent() {
        let cfg = LinkConfig { loss: 0.5, ..LinkConfig::ideal() };
        let mut path = Path::symmetric(cfg, 5).unwrap();
        let a: Vec<_> = (0..64).map(|i| path.a_to_b.send(i, vec![0])).collect();
        let b: Vec<_> = (0..64).map(|i| path.b_to_a.send(i, vec![0])).collect();
        assert_ne!(a, b);
        let both = [path.a_to_b.next_delivery(), path.b_to_a.next_delivery()];
        assert_eq!(path.next_delivery(), both.iter().flatten().min().copied());
        assert!(path.next_delivery().is_some());
    }

    proptest! {
        /// Same seed and inputs: same outputs, byte for byte and time for time.
        #[test]
        fn deterministic(seed in any::<u64>(), n in 1usize..200) {
            let cfg = LinkConfig {
                delay: ms(3), jitter: ms(2), loss: 0.1, reorder: 0.1, reorder_delay: ms(4),
                duplicate: 0.05, corrupt: 0.05, rate_bps: 10_000_000, queue_limit_packets: 50,
                ..LinkConfig::ideal()
            };
            let run = || {
                let mut p = Pipe::new(cfg, seed).unwrap();
                for i in 0..n {
                    p.send(i as u64 * 50, std::vec![i as u8; 100 + i % 50]);
                }
                (drain(&mut p, u64::MAX), *p.stats())
            };
            prop_assert_eq!(run(), run());
        }

        /// Nothing comes out that did not go in, minus drops, plus duplicates.
        #[test]
        fn conservation(seed in any::<u64>(), loss in 0.0f64..1.0, dup in 0.0f64..1.0) {
            let cfg = LinkConfig { loss, duplicate: dup, jitter: ms(1), ..LinkConfig::ideal() };
            let mut p = Pipe::new(cfg, seed).unwrap();
            for i in 0..300u64 {
                p.send(i, std::vec![1; 10]);
            }
            let s = *p.stats();
            let out = drain(&mut p, u64::MAX);
            prop_assert_eq!(out.len() as u64, s.sent - s.lost - s.queue_drops - s.overflow_drops + s.duplicated);
            prop_assert_eq!(p.in_flight(), 0);
        }
    }
}
