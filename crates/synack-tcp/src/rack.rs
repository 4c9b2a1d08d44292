//! RACK-TLP loss detection (RFC 8985): time-based loss detection and tail loss probes.
//!
//! RACK ("recent acknowledgment") declares a segment lost when a segment sent *later* has been
//! delivered and more than `RACK.rtt + reo_wnd` has passed since the earlier one was sent.
//! Unlike counting duplicate ACKs, this detects lost retransmissions and tail losses and adapts
//! to reordering. TLP sends one probe when the tail of a flight goes unacknowledged for a
//! probe timeout (PTO), so a tail loss is repaired by fast recovery instead of an RTO.
//!
//! [`Rack`] keeps one record per transmitted segment (sequence range, last transmit time, flags)
//! between SND.UNA and SND.NXT. The connection reports each transmission and each ACK; RACK
//! answers with the ranges it now believes lost ([`Rack::lost_ranges`]) and when to re-check
//! (the reordering timer). It can be switched off ([`RackConfig::enabled`]); then the connection
//! relies on DupThresh (the [`scoreboard`](crate::scoreboard)) alone, which some users need for
//! comparison with older stacks.
//!
//! ## Wiring it into a sender
//!
//! * After the handshake: `Rack::new(config, SND.UNA)`.
//! * Every segment sent: [`Rack::on_transmit`] with its range, `now`, and whether it is a
//!   retransmission (a TLP probe too, then also [`Rack::on_tlp_sent`]).
//! * Every acceptable ACK: [`Rack::on_ack`] with the cumulative ACK, the SACK blocks without a
//!   leading D-SACK block, whether there was a D-SACK, SRTT, and whether the sender is in
//!   recovery. If `newly_lost > 0` and the sender is not in recovery, enter recovery (as for
//!   three duplicate ACKs: `on_congestion_event` once). Arm the reordering timer at
//!   `reorder_deadline` (or cancel it when `None`); when it fires call
//!   [`Rack::on_reorder_timeout`] and treat its `newly_lost` the same way.
//!   On `tlp == Some(LossRepaired)`, apply one congestion response.
//! * What to send: first the ranges in [`Rack::lost_ranges`] (each retransmission reported
//!   through `on_transmit(.., true)` clears its lost mark), then new data or the RFC 6675 rules.
//!   This is what recovers a lost retransmission without waiting for the RTO.
//! * Timers: when nothing is in recovery, arm the probe timer at [`Rack::pto_deadline`]; when it
//!   fires, send one new segment if allowed, else retransmit the highest sent segment, and call
//!   [`Rack::on_tlp_sent`]. On an RTO call [`Rack::on_rto`] and retransmit the lost ranges.
//!
//! ```
//! use synack_tcp::rack::{Rack, RackConfig};
//! use synack_tcp::{Duration, Instant};
//! use synack_wire::SeqNum;
//! use synack_wire::tcp::SackBlock;
//! let mut rack = Rack::new(RackConfig::default(), SeqNum(0));
//! let t = Instant::from_millis;
//! rack.on_transmit(t(0), SeqNum(0), SeqNum(1000), false);
//! rack.on_transmit(t(1), SeqNum(1000), SeqNum(2000), false);
//! // 1000..2000 is SACKed 50 ms later; 0..1000 was sent before it, so once RACK.rtt (50 ms)
//! // plus the reordering window (min_RTT / 4 = 12.5 ms) has passed without an ACK it is lost.
//! let sack = [SackBlock { left: SeqNum(1000), right: SeqNum(2000) }];
//! let out = rack.on_ack(t(51), SeqNum(0), &sack, false, Some(Duration::from_millis(50)), false);
//! assert_eq!(out.reorder_deadline, Some(Instant::from_micros(62_500)));
//! let out = rack.on_reorder_timeout(Instant::from_micros(62_500), None, false);
//! assert_eq!(out.newly_lost, 1000);
//! assert_eq!(rack.lost_ranges().next(), Some((SeqNum(0), SeqNum(1000))));
//! ```

use crate::time::{Duration, Instant};
use alloc::collections::VecDeque;
use synack_wire::SeqNum;
use synack_wire::tcp::SackBlock;

mod memory;
mod tlp;

pub(crate) use memory::RackMemory;
pub use tlp::TlpOutcome;

/// Linux's initial reordering degree (`net.ipv4.tcp_reordering`, the DupThresh of RFC 5681):
/// what [`Rack::reordering`] reports until reordering longer than that is measured.
pub const INITIAL_REORDERING: u32 = 3;

/// Linux's cap on the reordering degree (`net.ipv4.tcp_max_reordering`).
pub const MAX_REORDERING: u32 = 300;

/// Shortest probe timeout. Linux adds two ticks (`TCP_TIMEOUT_MIN`, 2 ms at HZ=1000) to its
/// PTO for the same reason: the probe must be scheduled strictly after the ACK that armed it.
pub const MIN_PTO: Duration = Duration::from_millis(2);

/// RACK-TLP switches and constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RackConfig {
    /// RACK loss detection on (default). Off: [`Rack::on_ack`] never declares losses.
    pub enabled: bool,
    /// Tail loss probes on (default); requires SACK on the connection.
    pub tlp: bool,
    /// WCDelAckT: the worst-case delayed-ACK time added to the PTO when one segment is in
    /// flight (RFC 8985 section 7.2 suggests 200 ms).
    pub max_ack_delay: Duration,
    /// DupThresh used by the reordering-window rule (3).
    pub dup_thresh: u32,
}

impl Default for RackConfig {
    fn default() -> Self {
        RackConfig {
            enabled: true,
            tlp: true,
            max_ack_delay: Duration::from_millis(200),
            dup_thresh: 3,
        }
    }
}

/// One transmitted segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Seg {
    start: SeqNum,
    end: SeqNum,
    xmit_ts: Instant,
    retransmitted: bool,
    sacked: bool,
    lost: bool,
    /// Marked lost at some point and not delivered since: unlike `lost`, a retransmission
    /// does not clear it (Linux's TCPCB_LOST, which `tcpi_lost` counts).
    marked_lost: bool,
    /// The record begins a segment as it was sent (false for the tail of a record split at
    /// a SACK, ACK or retransmission edge), so segments can be counted as the peer saw them.
    first: bool,
}

/// What RACK concluded from one ACK.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct RackOutcome {
    /// Bytes newly marked lost by this ACK (see [`Rack::lost_ranges`] for which).
    pub newly_lost: u32,
    /// Arm (or re-arm) the reordering timer for this instant; `None`: cancel it.
    pub reorder_deadline: Option<Instant>,
    /// The tail loss probe's outcome, if this ACK settled one.
    pub tlp: Option<TlpOutcome>,
}

/// RACK-TLP state for one connection. See the module docs.
#[derive(Clone, Debug)]
pub struct Rack {
    config: Knobs,
    segs: VecDeque<Seg>,
    snd_una: SeqNum,
    /// RACK.xmit_ts / RACK.end_seq: the most recently sent segment that was delivered.
    xmit_ts: Option<Instant>,
    end_seq: SeqNum,
    /// That segment was a retransmission (for [`Rack::sent_after`]'s tie-break).
    end_retransmitted: bool,
    /// RACK.rtt in microseconds (samples are differences of microsecond instants).
    rtt: u64,
    /// The smallest RTT sample in microseconds; [`NO_SAMPLE`] before the first.
    min_rtt: u64,
    segs_sacked: u32,
    /// Sum of the lengths of the segments marked lost: kept as they are marked, retransmitted,
    /// SACKed or acknowledged, so the per-segment "anything lost?" checks of the sender
    /// ([`Rack::lost_bytes`], [`Rack::lost_ranges`]) cost nothing while nothing is lost
    /// instead of a walk over every segment in flight.
    lost_total: u32,
    fack: SeqNum,
    reordering_seen: bool,
    reo_wnd_mult: u32,
    reo_wnd_persist: u32,
    dsack_round: Option<SeqNum>,
    snd_nxt: SeqNum,
    /// TLP.end_seq and TLP.is_retrans while a probe is outstanding.
    tlp_end_seq: Option<SeqNum>,
    tlp_is_retrans: bool,
    /// End of the highest SACKed segment still above SND.UNA (Linux's `tcp_highest_sack_seq`
    /// while `sacked_out > 0`): the reference the reordering distance is measured from.
    sack_high: Option<SeqNum>,
    /// Longest reordering distance measured, in bytes (0: none beyond the initial degree).
    reorder_bytes: u32,
    /// Deliveries judged reordered (Linux's `reord_seen`).
    reorder_events: u32,
    /// The sender was in (or, by RACK's marks, entering) loss recovery at the last ACK or
    /// timer: an RTO then does not reset the reordering degree.
    recovering: bool,
}

/// [`RackConfig`] as the connection keeps it: the delay in microseconds (what instant
/// arithmetic uses anyway) instead of a 16-byte `Duration`; one lives in every connection
/// (idle memory).
#[derive(Clone, Copy, Debug)]
struct Knobs {
    enabled: bool,
    tlp: bool,
    dup_thresh: u32,
    max_ack_delay_us: u64,
}

impl Knobs {
    fn new(c: RackConfig) -> Knobs {
        Knobs {
            enabled: c.enabled,
            tlp: c.tlp,
            dup_thresh: c.dup_thresh,
            max_ack_delay_us: u64::try_from(c.max_ack_delay.as_micros()).unwrap_or(u64::MAX),
        }
    }

    fn max_ack_delay(&self) -> Duration {
        Duration::from_micros(self.max_ack_delay_us)
    }

    fn public(&self) -> RackConfig {
        RackConfig {
            enabled: self.enabled,
            tlp: self.tlp,
            max_ack_delay: self.max_ack_delay(),
            dup_thresh: self.dup_thresh,
        }
    }
}

/// The `min_rtt` field before the first sample.
const NO_SAMPLE: u64 = u64::MAX;

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(NO_SAMPLE - 1).min(NO_SAMPLE - 1)
}

impl Rack {
    /// Nothing sent; SND.UNA = `snd_una`.
    pub fn new(config: RackConfig, snd_una: SeqNum) -> Rack {
        Rack {
            config: Knobs::new(config),
            segs: VecDeque::new(),
            snd_una,
            xmit_ts: None,
            end_seq: snd_una,
            end_retransmitted: false,
            rtt: 0,
            min_rtt: NO_SAMPLE,
            segs_sacked: 0,
            lost_total: 0,
            fack: snd_una,
            reordering_seen: false,
            reo_wnd_mult: 1,
            reo_wnd_persist: 0,
            dsack_round: None,
            snd_nxt: snd_una,
            tlp_end_seq: None,
            tlp_is_retrans: false,
            sack_high: None,
            reorder_bytes: 0,
            reorder_events: 0,
            recovering: false,
        }
    }

    /// The configuration.
    pub fn config(&self) -> RackConfig {
        self.config.public()
    }

    /// True if RACK loss detection is on.
    pub fn is_enabled(&self) -> bool {
        self.config.enabled
    }

    /// Segments tracked (for memory accounting and tests).
    pub fn tracked_segments(&self) -> usize {
        self.segs.len()
    }

    /// RACK.rtt: the RTT of the most recently delivered segment.
    pub fn rack_rtt(&self) -> Duration {
        Duration::from_micros(self.rtt)
    }

    /// True once reordering was observed on this connection.
    pub fn reordering_seen(&self) -> bool {
        self.reordering_seen
    }

    /// Index of the first segment whose end is after `seq`.
    fn find(&self, seq: SeqNum) -> usize {
        self.segs.partition_point(|s| s.end.le(seq))
    }

    /// Ensures a segment boundary at `seq` (splitting the record containing it).
    fn split_at(&mut self, seq: SeqNum) {
        let i = self.find(seq);
        if let Some(s) = self.segs.get(i).copied()
            && s.start.lt(seq)
        {
            self.segs[i].end = seq;
            self.segs.insert(i + 1, Seg { start: seq, first: false, ..s });
        }
    }

    /// New data from `to` on never left (the device refused it): its log entries go, as if
    /// it had not been sent.
    pub fn retract_send(&mut self, to: SeqNum) {
        if !self.snd_nxt.gt(to) {
            return;
        }
        self.split_at(to);
        while self.segs.back().is_some_and(|s| s.start.ge(to)) {
            if let Some(s) = self.segs.pop_back()
                && s.lost
            {
                self.lost_total = self.lost_total.saturating_sub(s.end.since(s.start));
            }
        }
        self.snd_nxt = to;
    }

    /// `[start, end)` was transmitted at `now`; `retransmission` if it was sent before.
    pub fn on_transmit(&mut self, now: Instant, start: SeqNum, end: SeqNum, retransmission: bool) {
        if end.le(start) {
            return;
        }
        if end.gt(self.snd_nxt) && !retransmission {
            // New data (possibly overlapping the tail): append what is new.
            let from = start.max(self.snd_nxt);
            self.segs.push_back(Seg {
                start: from,
                end,
                xmit_ts: now,
                retransmitted: false,
                sacked: false,
                lost: false,
                marked_lost: false,
                first: true,
            });
            self.snd_nxt = end;
            if from == start {
                return;
            }
        }
        let end = end.min(self.snd_nxt);
        let start = start.max(self.snd_una);
        if end.le(start) {
            return;
        }
        self.split_at(start);
        self.split_at(end);
        let i = self.find(start);
        for s in self.segs.iter_mut().skip(i) {
            if s.start.ge(end) {
                break;
            }
            //= rfc8985#6.1
            // Each (re)transmission records its time; a retransmitted segment is no longer
            // considered lost until RACK judges it again.
            s.xmit_ts = now;
            s.retransmitted = true;
            if s.lost {
                self.lost_total = self.lost_total.saturating_sub(s.end.since(s.start));
            }
            s.lost = false;
        }
    }

    /// `[start, end)` is known lost without any ACK to measure it by (a Fast Open SYN-ACK
    /// that left the SYN's data unacknowledged): marked lost, to be retransmitted first.
    pub fn mark_lost(&mut self, start: SeqNum, end: SeqNum) {
        let start = start.max(self.snd_una);
        let end = end.min(self.snd_nxt);
        if end.le(start) {
            return;
        }
        self.split_at(start);
        self.split_at(end);
        let i = self.find(start);
        for s in self.segs.iter_mut().skip(i) {
            if s.start.ge(end) {
                break;
            }
            if !s.sacked && !s.lost {
                s.lost = true;
                s.marked_lost = true;
                self.lost_total = self.lost_total.saturating_add(s.end.since(s.start));
            }
        }
    }

    /// The retransmission of `[start, end)` never left (the device or its queue refused it):
    /// segments it was repairing are lost again, waiting for the next retransmission, and do
    /// not count as retransmissions in flight.
    //~ linux: a retransmission whose transmit fails leaves the skb as it was (lost, not
    //~ TCPCB_RETRANS, not in retrans_out).
    pub fn retract_retransmission(&mut self, start: SeqNum, end: SeqNum) {
        let start = start.max(self.snd_una);
        let end = end.min(self.snd_nxt);
        if end.le(start) {
            return;
        }
        let i = self.find(start);
        for s in self.segs.iter_mut().skip(i) {
            if s.start.ge(end) {
                break;
            }
            if s.marked_lost && !s.sacked && !s.lost {
                s.lost = true;
                self.lost_total = self.lost_total.saturating_add(s.end.since(s.start));
            }
        }
    }

    /// Segments marked lost that are neither SACKed nor cumulatively acknowledged, whether
    /// or not they were retransmitted since (Linux's `lost_out`, reported as `tcpi_lost`).
    /// Walks the segments in flight: for statistics, not for the per-segment path.
    pub fn lost_segments(&self) -> u32 {
        self.segs.iter().filter(|s| s.marked_lost && !s.sacked).count() as u32
    }

    fn update_min_rtt(&mut self, rtt: Duration) {
        // NO_SAMPLE is above every sample, so the first one replaces it.
        self.min_rtt = self.min_rtt.min(micros(rtt));
    }

    /// Whether (t1, seq1, retransmitted1) was sent after (t2, seq2, retransmitted2) (RFC 8985
    /// `RACK_sent_after`). Segments sent in the same clock tick go in sequence order when both
    /// are original transmissions or both retransmissions; between a retransmission and an
    /// original of the same tick the order is unknown (a retransmission repairs a loss an
    /// ACK revealed after earlier originals left, and new data may follow it), so neither
    /// counts as sent after the other and neither's delivery marks the other lost. With a
    /// coarse or virtual clock, sends of different moments share a tick.
    fn sent_after(
        t1: Instant,
        seq1: SeqNum,
        r1: bool,
        t2: Instant,
        seq2: SeqNum,
        r2: bool,
    ) -> bool {
        t1 > t2 || (t1 == t2 && r1 == r2 && seq1.gt(seq2))
    }

    /// Processes an ACK at `now`: cumulative `ack`, SACK `blocks` (D-SACK block excluded),
    /// `dsack` if the ACK carried one, the connection's `srtt`, and `in_recovery`. `echoed`
    /// is the transmit time the ACK's TSecr refers to, when timestamps are on.
    pub fn on_ack(
        &mut self,
        now: Instant,
        ack: SeqNum,
        blocks: &[SackBlock],
        dsack: bool,
        srtt: Option<Duration>,
        in_recovery: bool,
    ) -> RackOutcome {
        self.on_ack_with_echo(now, ack, blocks, dsack, srtt, in_recovery, None)
    }

    /// [`on_ack`](Self::on_ack) with the transmit time that the ACK's TSecr echoes.
    #[allow(clippy::too_many_arguments)]
    pub fn on_ack_with_echo(
        &mut self,
        now: Instant,
        ack: SeqNum,
        blocks: &[SackBlock],
        dsack: bool,
        srtt: Option<Duration>,
        in_recovery: bool,
        echoed: Option<Instant>,
    ) -> RackOutcome {
        let mut out = RackOutcome::default();
        let ack = ack.min(self.snd_nxt);
        self.recovering = in_recovery;
        // The reordering reference before this ACK (Linux's `prior_fack`). Without a SACK
        // above SND.UNA it is SND.UNA itself, below which nothing can be delivered, so an
        // ACK then cannot show reordering and the per-segment bookkeeping below is skipped.
        let prior_sack_high = self.sack_high;
        let track = prior_sack_high.is_some();
        // Lowest start of a never-retransmitted segment this ACK delivers below the reference.
        let mut cum_low: Option<SeqNum> = None;
        let mut sack_low: Option<SeqNum> = None;
        // Newly delivered segments: cumulatively acknowledged ones and newly SACKed ones.
        if ack.gt(self.snd_una) {
            self.split_at(ack);
            while let Some(s) = self.segs.front().copied() {
                if s.end.gt(ack) {
                    break;
                }
                self.segs.pop_front();
                if s.lost {
                    self.lost_total = self.lost_total.saturating_sub(s.end.since(s.start));
                }
                if s.sacked {
                    self.segs_sacked = self.segs_sacked.saturating_sub(1);
                } else {
                    // Popped in sequence order: the first qualifying segment is the lowest.
                    if track && cum_low.is_none() && !s.retransmitted {
                        cum_low = Some(s.start);
                    }
                    self.on_delivered(now, s, echoed);
                }
            }
            self.snd_una = ack;
            if self.sack_high.is_some_and(|h| h.le(ack)) {
                self.sack_high = None;
            }
        }
        //= rfc8985#6.2
        //~ paraphrase: Newly delivered segments are examined in ascending sequence order (the
        //~ cumulatively acknowledged ones above already were): a peer may list a higher
        //~ block first, and taking it first would make the lower, earlier-sent block look
        //~ delivered out of order (RACK.fack already past it) when the network kept order.
        let una = self.snd_una;
        let mut sorted = [SackBlock::default(); 4];
        let mut spill;
        let ordered: &[SackBlock] = if blocks.len() <= sorted.len() {
            let sorted = &mut sorted[..blocks.len()];
            sorted.copy_from_slice(blocks);
            sorted.sort_unstable_by_key(|b| b.left.diff(una));
            sorted
        } else {
            spill = alloc::vec::Vec::from(blocks);
            spill.sort_unstable_by_key(|b| b.left.diff(una));
            &spill
        };
        for b in ordered {
            let (l, r) = (b.left.max(self.snd_una), b.right.min(self.snd_nxt));
            if r.le(l) {
                continue;
            }
            let mut i = self.find(l);
            while let Some(s) = self.segs.get(i).copied() {
                if s.start.ge(r) {
                    break;
                }
                // Only segments wholly inside the block count as delivered.
                if !s.sacked && s.start.ge(l) && s.end.le(r) {
                    if s.lost {
                        self.lost_total = self.lost_total.saturating_sub(s.end.since(s.start));
                    }
                    self.segs[i].sacked = true;
                    self.segs[i].lost = false;
                    self.segs_sacked += 1;
                    // A hole below the highest SACK filled by an original transmission (not a
                    // retransmission): the network reordered it. Compared with the reference
                    // before this ACK, so the order of the blocks within one ACK does not matter.
                    if !s.retransmitted && prior_sack_high.is_some_and(|h| s.start.lt(h)) {
                        sack_low = Some(sack_low.map_or(s.start, |l| l.min(s.start)));
                    }
                    if self.sack_high.is_none_or(|h| s.end.gt(h)) {
                        self.sack_high = Some(s.end);
                    }
                    self.on_delivered(now, s, echoed);
                }
                i += 1;
            }
        }
        if let Some(low) = sack_low {
            self.note_reordering(low);
        }
        if let (Some(low), Some(fack)) = (cum_low, prior_sack_high)
            && low.lt(fack)
        {
            self.note_reordering(low);
        }

        // TLP (section 7.4): settle an outstanding probe.
        if let Some(end) = self.tlp_end_seq
            && ack.ge(end)
        {
            self.tlp_end_seq = None;
            out.tlp = Some(if !self.tlp_is_retrans || dsack {
                TlpOutcome::NoLoss
            } else {
                TlpOutcome::LossRepaired
            });
        }

        self.update_reo_wnd(dsack, in_recovery);
        if !self.config.enabled {
            return out;
        }
        let (lost, deadline) = self.detect_loss(now, srtt, in_recovery);
        out.newly_lost = lost;
        out.reorder_deadline = deadline;
        out
    }

    /// A segment starting at `low` was delivered below the reordering reference: the
    /// reordering distance is from `low` to the end of the highest SACKed segment (or to
    /// SND.UNA once nothing above it is SACKed, as when a cumulative ACK covers it all).
    fn note_reordering(&mut self, low: SeqNum) {
        let fack = self.sack_high.unwrap_or(self.snd_una);
        if low.lt(fack) {
            self.reorder_bytes = self.reorder_bytes.max(fack.since(low));
            self.reorder_events = self.reorder_events.saturating_add(1);
        }
    }

    /// The reordering degree in segments of `mss` bytes, as Linux measures it
    /// (`tcpi_reordering`): how far, in segments, an original transmission has arrived
    /// behind a later one. It starts at [`INITIAL_REORDERING`], is raised to
    /// ceil(distance / `mss`) when a never-retransmitted segment is SACKed or cumulatively
    /// acknowledged below the end of the highest SACKed segment, is capped at
    /// [`MAX_REORDERING`], and falls back to the initial value on an RTO taken outside
    /// recovery with at least that many segments SACKed (reordering over-estimated).
    ///
    /// Only what this log sees counts (the connection feeds it whether RACK is on or off;
    /// without SACK it sees no reordering). Linux has
    /// two more sources this does not model: a D-SACK for a retransmitted segment that was
    /// already SACKed, and a timestamp-proven partial ACK during undo.
    pub fn reordering(&self, mss: u32) -> u32 {
        let segs = self.reorder_bytes.div_ceil(mss.max(1));
        segs.clamp(INITIAL_REORDERING, MAX_REORDERING)
    }

    /// How many deliveries were judged reordered (Linux's `tcpi_reord_seen`): each ACK that
    /// SACKed, or cumulatively acknowledged, an original transmission below the highest
    /// SACKed segment counts once per kind.
    pub fn reordering_events(&self) -> u32 {
        self.reorder_events
    }

    /// Retransmitted segments still in flight: retransmitted, neither SACKed nor
    /// acknowledged, and not marked lost again since (Linux's `retrans_out`, `tcpi_retrans`).
    /// Walks the segments in flight: for statistics, not for the per-segment path.
    pub fn retransmitted_segments(&self) -> u32 {
        self.segs.iter().filter(|s| s.retransmitted && !s.sacked && !s.lost).count() as u32
    }

    /// Segments sent and not cumulatively acknowledged, SACKed ones included (Linux's
    /// `packets_out`, `tcpi_unacked`), counted as they were sent: a segment split by a SACK
    /// or retransmission edge is still one, and a partly acknowledged one still counts.
    /// Walks the segments in flight: for statistics, not for the per-segment path.
    pub fn unacked_segments(&self) -> u32 {
        let partial_front = self.segs.front().is_some_and(|s| !s.first);
        self.segs.iter().filter(|s| s.first).count() as u32 + u32::from(partial_front)
    }

    /// RACK_update and RACK_detect_reordering for one delivered segment.
    fn on_delivered(&mut self, now: Instant, s: Seg, echoed: Option<Instant>) {
        let rtt = now.saturating_since(s.xmit_ts);
        if s.retransmitted {
            //= rfc8985#6.2
            // Step 2: for a retransmitted segment, skip the sample when the ACK echoes a
            // timestamp older than the retransmission, or the RTT is below min_RTT (the ACK is
            // probably for the original transmission).
            if echoed.is_some_and(|e| e < s.xmit_ts) {
                return;
            }
            if self.min_rtt != NO_SAMPLE && micros(rtt) < self.min_rtt {
                return;
            }
        } else {
            self.update_min_rtt(rtt);
        }
        self.rtt = micros(rtt);
        match self.xmit_ts {
            Some(t)
                if !Self::sent_after(
                    s.xmit_ts,
                    s.end,
                    s.retransmitted,
                    t,
                    self.end_seq,
                    self.end_retransmitted,
                ) => {}
            _ => {
                self.xmit_ts = Some(s.xmit_ts);
                self.end_seq = s.end;
                self.end_retransmitted = s.retransmitted;
            }
        }
        //= rfc8985#6.2
        // Step 3: a delivered segment below the highest delivered sequence (FACK) that was not
        // retransmitted means the network reordered.
        if s.end.gt(self.fack) {
            self.fack = s.end;
        } else if !s.retransmitted {
            self.reordering_seen = true;
        }
    }

    /// RACK_update_reo_wnd (section 6.2 step 4).
    fn update_reo_wnd(&mut self, dsack: bool, exiting_recovery: bool) {
        if self.dsack_round.is_some_and(|r| self.snd_una.ge(r)) {
            self.dsack_round = None;
        }
        //= rfc8985#6.2
        // Step 4: widen the reordering window by one min_RTT/4 per round trip that sees a
        // D-SACK; fall back to one after 16 D-SACK-free recoveries.
        if self.dsack_round.is_none() && dsack {
            self.dsack_round = Some(self.snd_nxt);
            self.reo_wnd_mult = self.reo_wnd_mult.saturating_add(1);
            self.reo_wnd_persist = 16;
        } else if exiting_recovery && self.reo_wnd_persist > 0 {
            self.reo_wnd_persist -= 1;
            if self.reo_wnd_persist == 0 {
                self.reo_wnd_mult = 1;
            }
        }
    }

    /// RACK_reo_wnd: the reordering window now.
    ///
    /// Linux compares the SACKed count with its reordering degree ([`Rack::reordering`])
    /// where RFC 8985 uses DupThresh. The degree exceeds 3 only after reordering was seen,
    /// and then the comparison is skipped anyway, so DupThresh (3) gives the same window.
    pub fn reo_wnd(&self, srtt: Option<Duration>, in_recovery: bool) -> Duration {
        //= rfc8985#6.2
        // Without observed reordering, the window is zero in recovery or once DupThresh
        // segments are SACKed; otherwise min(reo_wnd_mult * min_RTT / 4, SRTT).
        if !self.reordering_seen && (in_recovery || self.segs_sacked >= self.config.dup_thresh) {
            return Duration::ZERO;
        }
        let min_rtt = if self.min_rtt == NO_SAMPLE {
            Duration::ZERO
        } else {
            Duration::from_micros(self.min_rtt)
        };
        let w = (min_rtt / 4).saturating_mul(self.reo_wnd_mult);
        match srtt {
            Some(s) => w.min(s),
            None => w,
        }
    }

    /// RACK_detect_loss: marks segments lost; returns bytes newly lost and the reordering
    /// timer deadline for segments not yet overdue.
    fn detect_loss(
        &mut self,
        now: Instant,
        srtt: Option<Duration>,
        in_recovery: bool,
    ) -> (u32, Option<Instant>) {
        let Some(rack_ts) = self.xmit_ts else { return (0, None) };
        let reo_wnd = self.reo_wnd(srtt, in_recovery);
        let mut newly_lost = 0u32;
        let mut deadline: Option<Instant> = None;
        let (rtt, end_seq, end_rtx) =
            (Duration::from_micros(self.rtt), self.end_seq, self.end_retransmitted);
        for s in self.segs.iter_mut() {
            if s.sacked || s.lost {
                continue;
            }
            //= rfc8985#6.2
            // Step 5: a segment sent before RACK.xmit_ts is lost once
            // xmit_ts + RACK.rtt + reo_wnd has passed; otherwise re-check at that time.
            if Self::sent_after(rack_ts, end_seq, end_rtx, s.xmit_ts, s.end, s.retransmitted) {
                let due = s.xmit_ts + rtt + reo_wnd;
                if due <= now {
                    s.lost = true;
                    s.marked_lost = true;
                    newly_lost = newly_lost.saturating_add(s.end.since(s.start));
                } else {
                    deadline = Some(deadline.map_or(due, |d: Instant| d.max(due)));
                }
            } else if !s.retransmitted {
                // Sent at or after RACK.xmit_ts in its first transmission: every segment above
                // it went out later still (new data leaves in sequence order, and a
                // retransmission only moves a time later), so none can be lost yet. This keeps
                // the usual in-order ACK O(1) instead of a walk over the whole flight.
                break;
            }
        }
        self.lost_total = self.lost_total.saturating_add(newly_lost);
        // The caller enters recovery on any new loss (see the module docs).
        self.recovering |= newly_lost > 0;
        (newly_lost, deadline)
    }

    /// The reordering timer fired: run loss detection again.
    pub fn on_reorder_timeout(
        &mut self,
        now: Instant,
        srtt: Option<Duration>,
        in_recovery: bool,
    ) -> RackOutcome {
        if !self.config.enabled {
            return RackOutcome::default();
        }
        self.recovering = in_recovery;
        let (newly_lost, reorder_deadline) = self.detect_loss(now, srtt, in_recovery);
        RackOutcome { newly_lost, reorder_deadline, tlp: None }
    }

    /// The retransmission timer fired: the first unacknowledged segment and every segment
    /// sent at least `RACK.rtt + reo_wnd` ago are lost (section 6.3); returns bytes marked.
    pub fn on_rto(&mut self, now: Instant, srtt: Option<Duration>) -> u32 {
        //= rfc8985#6.3
        // On RTO, mark the first outstanding segment lost and every segment whose
        // xmit_ts + RACK.rtt + reo_wnd is already past.
        // Linux (tcp_enter_loss): a timeout outside recovery after DupThresh or more segments
        // were SACKed suggests the reordering degree was over-estimated; back to the initial.
        if !self.recovering && self.segs_sacked >= INITIAL_REORDERING {
            self.reorder_bytes = 0;
        }
        self.recovering = true;
        let reo = self.reo_wnd(srtt, true);
        let rtt = Duration::from_micros(self.rtt);
        let mut n = 0u32;
        for (i, s) in self.segs.iter_mut().enumerate() {
            if s.sacked || s.lost {
                continue;
            }
            if i == 0 || s.xmit_ts + rtt + reo <= now {
                s.lost = true;
                s.marked_lost = true;
                n = n.saturating_add(s.end.since(s.start));
            }
        }
        self.lost_total = self.lost_total.saturating_add(n);
        self.tlp_end_seq = None;
        n
    }

    /// Ranges currently marked lost (and not retransmitted since), in sequence order, adjacent
    /// ones merged: what the sender should retransmit first.
    pub fn lost_ranges(&self) -> impl Iterator<Item = (SeqNum, SeqNum)> + '_ {
        // Nothing lost (the common case): skip the walk over every segment in flight.
        let walk = if self.lost_total == 0 { 0 } else { self.segs.len() };
        let mut it = self.segs.iter().take(walk).filter(|s| s.lost).peekable();
        core::iter::from_fn(move || {
            let first = it.next()?;
            let (start, mut end) = (first.start, first.end);
            while let Some(n) = it.peek() {
                if n.start != end {
                    break;
                }
                end = n.end;
                it.next();
            }
            Some((start, end))
        })
    }

    /// Bytes marked lost and not yet retransmitted.
    pub fn lost_bytes(&self) -> u32 {
        debug_assert_eq!(
            self.lost_total,
            self.segs.iter().filter(|s| s.lost).map(|s| s.end.since(s.start)).sum::<u32>()
        );
        self.lost_total
    }

    /// Takes over the storage of `old`'s segment log (emptied), so a log rebuilt for a new
    /// flight does not allocate again; this log must be empty.
    pub(crate) fn reuse_log(&mut self, old: &mut Rack) {
        debug_assert!(self.segs.is_empty());
        old.segs.clear();
        core::mem::swap(&mut self.segs, &mut old.segs);
    }

    /// Records the segment log has room for without allocating.
    pub(crate) fn log_capacity(&self) -> usize {
        self.segs.capacity()
    }

    /// Forgets everything (connection reset) and restarts at `snd_una`.
    pub fn reset(&mut self, snd_una: SeqNum) {
        *self = Rack::new(self.config.public(), snd_una);
    }
}

#[cfg(test)]
mod tests;
