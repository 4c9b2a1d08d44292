//! Delivery-rate estimation (draft-cheng-iccrg-delivery-rate-estimation, the sampler BBR
//! and Linux's `tcpi_delivery_rate` are built on).
//!
//! Each transmission (first or not) takes a snapshot of the connection's delivery state into
//! its [`TxLog`] record: how much had been delivered (`delivered`), when the last delivery
//! happened (`delivered_time`), when the first segment of the current sending flight left
//! (`first_tx_time`), how much had been lost, what was in flight, and whether the sender was
//! application-limited. When an ACK delivers segments, cumulatively or by SACK, the snapshot
//! of the most recently sent one gives a rate sample: the bytes delivered between that
//! segment's transmission and its delivery, over the longer of the send and ACK intervals
//! ([`DeliveryState::on_ack`]).
//!
//! [`DeliveryState`] is per connection and lives as long as it; [`TxLog`] holds one record
//! per segment in flight, kept with the rest of the per-flight state.
//!
//! ```
//! use synack_tcp::rate::{DeliveryState, TxLog};
//! use synack_tcp::{Duration, Instant};
//! use synack_wire::SeqNum;
//! let (mut c, mut log) = (DeliveryState::new(), TxLog::new());
//! let t = Instant::from_millis;
//! // Ten 1000-byte segments leave 1 ms apart from an idle start; each is delivered 50 ms
//! // after it left.
//! for i in 0..10u32 {
//!     c.on_send(&mut log, t(u64::from(i)), SeqNum(1000 * i), SeqNum(1000 * i + 1000), 1000 * i, 1000);
//! }
//! let mut last = None;
//! for i in 0..10u32 {
//!     last = c.on_ack(&mut log, t(50 + u64::from(i)), SeqNum(1000 * i + 1000), &[], false, None);
//! }
//! // Every segment of this first flight took its snapshot before anything was delivered
//! // (at t = 0), so the last ACK's sample covers all 10,000 bytes over the ACK phase,
//! // 59 ms, the longer one (the send phase took 9 ms).
//! let s = last.unwrap();
//! assert_eq!(s.delivered, 10_000);
//! assert_eq!(s.interval, Duration::from_millis(59));
//! ```

use crate::cc::RateSample;
use crate::time::{Duration, Instant};
use alloc::collections::VecDeque;
use synack_wire::SeqNum;
use synack_wire::tcp::SackBlock;

/// The connection's delivery state (the draft's `C.delivered`, `C.delivered_time`,
/// `C.first_send_time`, `C.app_limited`, and what Linux reports from it).
#[derive(Clone, Copy, Debug)]
pub struct DeliveryState {
    /// Bytes delivered (cumulatively acknowledged or SACKed) so far.
    delivered: u64,
    /// Segments delivered so far, the SYN counted (Linux's `tcpi_delivered`).
    delivered_segs: u32,
    /// Of those, segments delivered by ACKs that echoed congestion (`tcpi_delivered_ce`).
    delivered_ce: u32,
    /// The last rate reported ([`DeliveryState::delivery_rate`]), bytes per second
    /// ([`NO_RATE`]: none yet).
    rate: u64,
    /// That rate was measured while application-limited.
    rate_app_limited: bool,
}

/// [`DeliveryState::rate`] before the first valid sample.
const NO_RATE: u64 = u64::MAX;

impl Default for DeliveryState {
    fn default() -> Self {
        DeliveryState::new()
    }
}

/// One transmitted segment's snapshot of the delivery state.
#[derive(Clone, Copy, Debug)]
struct TxRecord {
    start: SeqNum,
    end: SeqNum,
    /// When this range was (last) sent.
    sent: Instant,
    first_tx_time: Instant,
    delivered_time: Instant,
    delivered: u64,
    lost: u64,
    /// Bytes in flight just after this segment left.
    tx_in_flight: u32,
    /// Segments this record counts for `tcpi_delivered` (a super-segment counts each MSS).
    segs: u32,
    app_limited: bool,
    sacked: bool,
}

/// One record per segment in flight, in sequence order (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct TxLog {
    recs: VecDeque<TxRecord>,
    /// When the connection's `delivered` last grew (the draft's `C.delivered_time`): kept
    /// here because it only matters while something is in flight.
    delivered_time: Option<Instant>,
    /// When the first segment of the current sending flight left (`C.first_send_time`).
    first_tx_time: Option<Instant>,
    /// Bytes judged lost in this flight (the draft's `C.lost`): only differences between a
    /// segment's snapshot and now are read, so it starts from zero with each flight.
    lost: u64,
    /// Nonzero while application-limited: the connection's `delivered` at which the bubble
    /// the application left will have been acknowledged (`C.app_limited`). A new flight
    /// starts with none.
    app_limited: u64,
}

impl TxLog {
    /// Nothing in flight.
    pub const fn new() -> TxLog {
        TxLog {
            recs: VecDeque::new(),
            delivered_time: None,
            first_tx_time: None,
            lost: 0,
            app_limited: 0,
        }
    }

    /// Empties the log and takes over `old`'s storage (a new flight reusing an old box).
    pub(crate) fn reuse(&mut self, old: &mut TxLog) {
        old.recs.clear();
        core::mem::swap(&mut self.recs, &mut old.recs);
        self.delivered_time = None;
        self.first_tx_time = None;
        self.lost = 0;
        self.app_limited = 0;
    }

    /// Records the log has room for without allocating.
    pub(crate) fn capacity(&self) -> usize {
        self.recs.capacity()
    }

    /// Records held.
    pub fn len(&self) -> usize {
        self.recs.len()
    }

    /// No record held.
    pub fn is_empty(&self) -> bool {
        self.recs.is_empty()
    }

    /// Bytes judged lost in this flight.
    pub fn lost(&self) -> u64 {
        self.lost
    }

    /// `bytes` more were judged lost (by RACK, the scoreboard or a timeout).
    pub fn on_lost(&mut self, bytes: u32) {
        self.lost = self.lost.saturating_add(u64::from(bytes));
    }

    /// The sender is application-limited now.
    pub fn is_app_limited(&self) -> bool {
        self.app_limited != 0
    }

    /// Splits the record holding `seq` so that one starts there; segment counts are shared in
    /// proportion (the part before keeps at least what it fully spans).
    fn split_at(&mut self, seq: SeqNum) {
        let i = self.recs.partition_point(|r| r.end.le(seq));
        let Some(r) = self.recs.get_mut(i) else { return };
        if !r.start.lt(seq) || !seq.lt(r.end) {
            return;
        }
        let len = u64::from(r.end.since(r.start)).max(1);
        let left_len = u64::from(seq.since(r.start));
        let left_segs = (u64::from(r.segs) * left_len).div_ceil(len) as u32;
        let mut right = *r;
        right.start = seq;
        right.segs = r.segs - left_segs.min(r.segs);
        r.end = seq;
        r.segs = left_segs.min(r.segs);
        self.recs.insert(i + 1, right);
    }
}

/// What one ACK delivered, summed before the sample is made.
#[derive(Default)]
struct Acked {
    bytes: u64,
    segs: u32,
    /// The most recently sent segment among those delivered.
    newest: Option<TxRecord>,
}

impl Acked {
    fn deliver(&mut self, r: &TxRecord) {
        self.bytes += u64::from(r.end.since(r.start));
        self.segs = self.segs.saturating_add(r.segs);
        //~ paraphrase (draft-cheng section 3.3): the sample comes from the delivered packet
        //~ sent last (the largest `delivered` snapshot, ties broken by send time).
        let newer = match &self.newest {
            None => true,
            Some(n) => r.delivered > n.delivered || (r.delivered == n.delivered && r.sent > n.sent),
        };
        if newer {
            self.newest = Some(*r);
        }
    }
}

impl DeliveryState {
    /// Nothing delivered yet.
    pub const fn new() -> DeliveryState {
        DeliveryState {
            delivered: 0,
            delivered_segs: 0,
            delivered_ce: 0,
            rate: NO_RATE,
            rate_app_limited: false,
        }
    }

    /// Bytes delivered so far.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// Segments delivered so far, the SYN (or SYN-ACK) counted: Linux's `tcpi_delivered`.
    pub fn delivered_segments(&self) -> u32 {
        self.delivered_segs
    }

    /// Segments delivered by ACKs that echoed congestion: Linux's `tcpi_delivered_ce`.
    pub fn delivered_ce(&self) -> u32 {
        self.delivered_ce
    }

    /// The last delivery rate in bytes per second (`None` before a valid sample): the latest
    /// sample taken while not application-limited, or an application-limited one that was
    /// at least as fast (Linux's `tcpi_delivery_rate`).
    pub fn delivery_rate(&self) -> Option<u64> {
        (self.rate != NO_RATE).then_some(self.rate)
    }

    /// Whether [`DeliveryState::delivery_rate`] was measured while application-limited
    /// (`tcpi_delivery_rate_app_limited`).
    pub fn delivery_rate_app_limited(&self) -> bool {
        self.rate_app_limited
    }

    /// Our SYN or SYN-ACK was acknowledged: one segment delivered (Linux counts it).
    pub fn on_syn_acked(&mut self) {
        self.delivered_segs = self.delivered_segs.saturating_add(1);
    }

    /// The application has nothing more to send and the window is not full: mark the bubble
    /// so samples taken until it is acknowledged say they are application-limited. `in_flight`:
    /// bytes in the network now.
    pub fn on_app_limited(&self, log: &mut TxLog, in_flight: u32) {
        //~ paraphrase (draft-cheng section 3.2): C.app_limited = max(C.delivered + C.inflight, 1).
        log.app_limited = (self.delivered + u64::from(in_flight)).max(1);
    }

    /// New data from `to` on never left (the device refused it): its records go.
    pub fn retract_send(&self, log: &mut TxLog, to: SeqNum) {
        log.split_at(to);
        while log.recs.back().is_some_and(|r| r.start.ge(to)) {
            log.recs.pop_back();
        }
    }

    /// `[start, end)` left at `now` (a first transmission or a retransmission); `in_flight`:
    /// bytes in the network before it (zero: the connection was idle); `smss` to count
    /// segments.
    pub fn on_send(
        &mut self,
        log: &mut TxLog,
        now: Instant,
        start: SeqNum,
        end: SeqNum,
        in_flight: u32,
        smss: u32,
    ) {
        if !end.gt(start) {
            return;
        }
        //~ paraphrase (draft-cheng section 3.2): sending from idle restarts both clocks, so an
        //~ interval never spans the idle time.
        if in_flight == 0 || log.first_tx_time.is_none() {
            log.first_tx_time = Some(now);
            log.delivered_time = Some(now);
        }
        if in_flight == 0 {
            //~ linux: a flight that starts from idle is application-limited (the application let
            //~ the pipe empty): the mark lasts until something sent in it is delivered, as
            //~ tcp_rate_check_app_limited sets it when an idle connection is written to.
            log.app_limited = log.app_limited.max(self.delivered.max(1));
        }
        let len = end.since(start);
        let rec = TxRecord {
            start,
            end,
            sent: now,
            first_tx_time: log.first_tx_time.unwrap_or(now),
            delivered_time: log.delivered_time.unwrap_or(now),
            delivered: self.delivered,
            lost: log.lost,
            tx_in_flight: in_flight.saturating_add(len),
            segs: len.div_ceil(smss.max(1)),
            app_limited: log.app_limited != 0,
            sacked: false,
        };
        match log.recs.back() {
            Some(last) if last.end.gt(start) => {
                // A retransmission (or a resend after an RTO): the records it covers take the
                // new snapshot, as the draft asks of every transmission.
                log.split_at(start);
                log.split_at(end);
                let i = log.recs.partition_point(|r| r.end.le(start));
                for r in log.recs.iter_mut().skip(i) {
                    if !r.start.lt(end) {
                        break;
                    }
                    let segs = r.segs;
                    let (s, e, sacked) = (r.start, r.end, r.sacked);
                    *r = TxRecord { start: s, end: e, segs, sacked, ..rec };
                }
            }
            _ => log.recs.push_back(rec),
        }
    }

    /// An ACK arrived at `now`: cumulative `ack` and the SACK blocks it carried (no leading
    /// D-SACK block). `ece`: it echoed congestion. `min_rtt`: the smallest RTT seen, below
    /// which an interval is too short to trust. Returns the rate sample when segments were
    /// delivered.
    pub fn on_ack(
        &mut self,
        log: &mut TxLog,
        now: Instant,
        ack: SeqNum,
        sack: &[SackBlock],
        ece: bool,
        min_rtt: Option<Duration>,
    ) -> Option<RateSample> {
        let mut acked = Acked::default();
        // Cumulatively acknowledged records leave the log.
        log.split_at(ack);
        while let Some(r) = log.recs.front() {
            if !r.end.le(ack) {
                break;
            }
            let r = log.recs.pop_front().unwrap_or_else(|| unreachable!());
            if !r.sacked {
                acked.deliver(&r);
            }
        }
        for b in sack {
            if !b.right.gt(b.left) {
                continue;
            }
            log.split_at(b.left);
            log.split_at(b.right);
            let i = log.recs.partition_point(|r| r.end.le(b.left));
            for r in log.recs.iter_mut().skip(i) {
                if !r.start.lt(b.right) {
                    break;
                }
                if !r.sacked && r.end.le(b.right) {
                    r.sacked = true;
                    acked.deliver(r);
                }
            }
        }
        let p = acked.newest?;
        self.delivered += acked.bytes;
        self.delivered_segs = self.delivered_segs.saturating_add(acked.segs);
        if ece {
            self.delivered_ce = self.delivered_ce.saturating_add(acked.segs);
        }
        log.delivered_time = Some(now);
        //~ paraphrase (draft-cheng section 3.3): the next interval's send phase starts at the
        //~ newest delivered packet's transmission.
        log.first_tx_time = Some(p.sent);
        if log.app_limited != 0 && self.delivered > log.app_limited {
            log.app_limited = 0;
        }
        let send_elapsed = p.sent.saturating_since(p.first_tx_time);
        let ack_elapsed = now.saturating_since(p.delivered_time);
        //~ paraphrase (draft-cheng section 3.3): the interval is the longer of the two phases,
        //~ so ACK compression cannot inflate the rate, nor a burst sent faster than the path.
        let interval = send_elapsed.max(ack_elapsed);
        let delivered = self.delivered - p.delivered;
        let sample = RateSample {
            delivered,
            interval,
            app_limited: p.app_limited,
            prior_delivered: p.delivered,
            delivered_total: self.delivered,
            tx_in_flight: p.tx_in_flight,
            lost: log.lost.saturating_sub(p.lost),
            newly_delivered: acked.bytes,
            valid: !interval.is_zero() && min_rtt.is_none_or(|m| interval >= m),
        };
        if sample.valid {
            let rate = sample.bytes_per_sec();
            //~ linux: the figure reported is the last sample not application-limited, or an
            //~ application-limited one at least as fast as the one it replaces.
            if !sample.app_limited || self.rate == NO_RATE || rate >= self.rate {
                self.rate = rate.min(NO_RATE - 1);
                self.rate_app_limited = sample.app_limited;
            }
        }
        Some(sample)
    }
}

#[cfg(test)]
mod tests;
