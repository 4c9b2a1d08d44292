//! Sender-side loss recovery bookkeeping.
//!
//! * [`Scoreboard`]: the RFC 6675 SACK scoreboard over the retransmission queue — which bytes
//!   the peer SACKed, `IsLost`, `NextSeg`, `pipe`, `HighRxt`, `RescueRxt`, when to enter and
//!   leave recovery — plus RFC 2883 D-SACK detection ([`detect_dsack`]).
//! * [`NewRenoRecovery`]: RFC 6582's recovery point and partial-ACK handling when SACK is off.
//! * [`DupAckCounter`] and [`is_duplicate_ack`]: RFC 5681 duplicate ACKs and the three-ACK fast
//!   retransmit decision; [`limited_transmit_allowance`]: RFC 3042.
//!
//! None of these hold payload or segment boundaries: they work on sequence ranges, so the
//! connection keeps one retransmission queue (its send ring) and asks these what to resend.
//! The window sizes themselves come from [`cc`](crate::cc).
//!
//! A typical SACK sender, per ACK:
//! ```
//! use synack_tcp::scoreboard::{Scoreboard, NextSeg};
//! use synack_wire::SeqNum;
//! use synack_wire::tcp::SackBlock;
//! let mss = 1000;
//! let mut sb = Scoreboard::new(SeqNum(0), mss);
//! sb.on_send(SeqNum(10_000)); // ten segments in flight
//! // Segment 0 is lost; the peer SACKs 1000..4000 on three ACKs.
//! for right in [2000, 3000, 4000] {
//!     let out = sb.on_ack(SeqNum(0), &[SackBlock { left: SeqNum(1000), right: SeqNum(right) }]);
//!     if out.enter_recovery {
//!         let first = sb.enter_recovery();
//!         assert_eq!(first, NextSeg::Retransmit { seq: SeqNum(0), len: 1000 });
//!         sb.on_retransmit(SeqNum(0), 1000);
//!     }
//! }
//! assert!(sb.in_recovery());
//! ```

use synack_wire::SeqNum;
use synack_wire::tcp::SackBlock;
use thin_vec::ThinVec;

/// RFC 6675 DupThresh (and RFC 5681's three duplicate ACKs).
pub const DUP_THRESH: u32 = 3;

/// Most SACKed ranges the scoreboard keeps; beyond this the highest are forgotten (costing at
/// worst a needless retransmission), so a peer cannot grow sender memory without bound.
pub const DEFAULT_MAX_SACKED_RANGES: usize = 512;

/// What the scoreboard learned from one ACK.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct AckOutcome {
    /// Bytes newly acknowledged cumulatively (SND.UNA advance).
    pub newly_acked: u32,
    /// Bytes newly SACKed (not previously SACKed, above the new SND.UNA).
    pub newly_sacked: u32,
    /// Of `newly_acked`, the bytes that were already SACKed: the peer had them before, so
    /// this ACK did not deliver them again (RFC 6937's DeliveredData leaves them out).
    pub sacked_acked: u32,
    /// The first block was a D-SACK (RFC 2883): the peer received this range twice.
    pub dsack: Option<SackBlock>,
    /// RFC 6675 duplicate ACK: no cumulative advance, but newly SACKed data.
    pub dup_ack: bool,
    /// Not in recovery, and DupAcks reached DupThresh or `IsLost(HighACK)`: the caller should
    /// call [`Scoreboard::enter_recovery`] and its congestion controller's
    /// `on_congestion_event`.
    pub enter_recovery: bool,
    /// This ACK covered the recovery point: fast recovery is over.
    pub recovery_ended: bool,
}

/// What [`Scoreboard::next_seg`] says to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextSeg {
    /// Retransmit `[seq, seq+len)`; then call [`Scoreboard::on_retransmit`].
    Retransmit {
        /// First sequence number.
        seq: SeqNum,
        /// Length (at most SMSS, never into SACKed data).
        len: u32,
    },
    /// Send new data (rule 2); then call [`Scoreboard::on_send`].
    NewData,
    /// The one rescue retransmission per recovery (rule 4); then call
    /// [`Scoreboard::on_rescue_retransmit`].
    Rescue {
        /// First sequence number.
        seq: SeqNum,
        /// Length.
        len: u32,
    },
}

/// The RFC 6675 scoreboard. See the module docs.
#[derive(Clone, Debug)]
pub struct Scoreboard {
    high_ack: SeqNum,
    high_data: SeqNum,
    /// One past the highest byte retransmitted in this recovery (RFC 6675's HighRxt + 1).
    high_rxt: SeqNum,
    rescue_rxt: Option<SeqNum>,
    recovery_point: Option<SeqNum>,
    /// SACKed ranges, sorted, disjoint and non-adjacent, within (high_ack, high_data].
    /// A `ThinVec` (one pointer, 8 bytes, empty without allocating) rather than a 24-byte
    /// `Vec`: every connection has a scoreboard and nearly always this list is empty
    /// (idle memory).
    sacked: ThinVec<(SeqNum, SeqNum)>,
    smss: u32,
    dup_thresh: u32,
    dup_acks: u32,
    max_ranges: usize,
    /// After an RTO, everything sent before it (up to here) counts as lost until acknowledged.
    rto_lost_to: Option<SeqNum>,
}

impl Scoreboard {
    /// Nothing outstanding; SND.UNA = SND.MAX = `snd_una`.
    pub fn new(snd_una: SeqNum, smss: u32) -> Scoreboard {
        Scoreboard {
            high_ack: snd_una,
            high_data: snd_una,
            high_rxt: snd_una,
            rescue_rxt: None,
            recovery_point: None,
            sacked: ThinVec::new(),
            smss: smss.max(1),
            dup_thresh: DUP_THRESH,
            dup_acks: 0,
            max_ranges: DEFAULT_MAX_SACKED_RANGES,
            rto_lost_to: None,
        }
    }

    /// True if this scoreboard is exactly `Scoreboard::new(una, smss)` with its SMSS: nothing
    /// outstanding, SACKed, retransmitted or in recovery, default thresholds. The connection
    /// then drops it between flights (idle memory).
    pub(crate) fn is_fresh_at(&self, una: SeqNum) -> bool {
        self.high_ack == una
            && self.high_data == una
            && self.high_rxt == una
            && self.rescue_rxt.is_none()
            && self.recovery_point.is_none()
            && self.sacked.is_empty()
            && self.dup_thresh == DUP_THRESH
            && self.dup_acks == 0
            && self.max_ranges == DEFAULT_MAX_SACKED_RANGES
            && self.rto_lost_to.is_none()
    }

    /// Changes DupThresh (RACK-style adaptive thresholds; default 3).
    pub fn set_dup_thresh(&mut self, n: u32) {
        self.dup_thresh = n.max(1);
    }

    /// Updates SMSS.
    pub fn set_smss(&mut self, smss: u32) {
        self.smss = smss.max(1);
    }

    /// HighACK (SND.UNA).
    pub fn high_ack(&self) -> SeqNum {
        self.high_ack
    }
    /// HighData (SND.MAX): one past the highest byte sent.
    pub fn high_data(&self) -> SeqNum {
        self.high_data
    }
    /// One past the highest byte retransmitted in this recovery.
    pub fn high_rxt(&self) -> SeqNum {
        self.high_rxt
    }
    /// RescueRxt, if a rescue retransmission was made.
    pub fn rescue_rxt(&self) -> Option<SeqNum> {
        self.rescue_rxt
    }
    /// RecoveryPoint while in fast recovery.
    pub fn recovery_point(&self) -> Option<SeqNum> {
        self.recovery_point
    }
    /// True during SACK-based fast recovery.
    pub fn in_recovery(&self) -> bool {
        self.recovery_point.is_some()
    }
    /// True after an RTO until the data outstanding at the timeout is acknowledged: the
    /// timeout already answered that loss episode (RFC 6675 section 5.1).
    pub fn in_rto_recovery(&self) -> bool {
        self.rto_lost_to.is_some()
    }
    /// The DupAcks counter.
    pub fn dup_acks(&self) -> u32 {
        self.dup_acks
    }
    /// SACKed ranges in sequence order.
    pub fn sacked_ranges(&self) -> impl Iterator<Item = (SeqNum, SeqNum)> + '_ {
        self.sacked.iter().copied()
    }
    /// Bytes currently SACKed.
    pub fn sacked_bytes(&self) -> u32 {
        self.sacked.iter().map(|&(s, e)| e.since(s)).sum()
    }
    /// True if `seq` is SACKed.
    pub fn is_sacked(&self, seq: SeqNum) -> bool {
        let i = self.sacked.partition_point(|&(_, e)| e.le(seq));
        self.sacked.get(i).is_some_and(|&(s, _)| s.le(seq))
    }

    /// New data up to (not including) `end` was sent: HighData moves.
    pub fn on_send(&mut self, end: SeqNum) {
        if end.gt(self.high_data) {
            self.high_data = end;
        }
    }

    /// New data from `to` on never left (the device refused it): HighData goes back to `to`.
    pub fn retract_send(&mut self, to: SeqNum) {
        if self.high_data.gt(to) {
            self.high_data = to;
        }
    }

    /// Processes an ACK: cumulative `ack` and the SACK blocks it carried.
    ///
    /// Data delivered by this ACK (RFC 6937's DeliveredData) is
    /// `newly_acked - sacked_acked + newly_sacked`.
    pub fn on_ack(&mut self, ack: SeqNum, blocks: &[SackBlock]) -> AckOutcome {
        let mut out = AckOutcome { dsack: detect_dsack(ack, blocks), ..AckOutcome::default() };
        // An ACK for data never sent is not ours to process (RFC 9293 3.10.7.4 drops it earlier).
        let ack = if ack.gt(self.high_data) { self.high_data } else { ack };
        if ack.gt(self.high_ack) {
            out.newly_acked = ack.since(self.high_ack);
            self.high_ack = ack;
            if self.high_rxt.lt(ack) {
                self.high_rxt = ack;
            }
            let keep = self.sacked.partition_point(|&(_, e)| e.le(ack));
            out.sacked_acked = self.sacked.drain(..keep).map(|(s, e)| e.since(s)).sum();
            if let Some(first) = self.sacked.first_mut()
                && first.0.lt(ack)
            {
                out.sacked_acked += ack.since(first.0);
                first.0 = ack;
            }
            self.dup_acks = 0;
            //= rfc6675#5.1
            // Until the data outstanding at the RTO is acknowledged, duplicate ACKs do not start
            // a new fast recovery (the RTO already reduced the window for that loss).
            if self.rto_lost_to.is_some_and(|r| ack.ge(r)) {
                self.rto_lost_to = None;
            }
        }
        let skip = usize::from(out.dsack.is_some());
        for b in &blocks[skip.min(blocks.len())..] {
            out.newly_sacked += self.mark_sacked(b.left, b.right);
        }
        //= rfc6675#2
        // A duplicate acknowledgment (with SACK) is one that does not advance the cumulative
        // ACK and SACKs octets between HighACK and HighData not SACKed before.
        if out.newly_acked == 0 && out.newly_sacked > 0 {
            out.dup_ack = true;
            self.dup_acks = self.dup_acks.saturating_add(1);
        }
        if let Some(rp) = self.recovery_point {
            //= rfc6675#5
            // Recovery ends when a cumulative ACK covers RecoveryPoint.
            if self.high_ack.ge(rp) {
                self.recovery_point = None;
                self.rescue_rxt = None;
                out.recovery_ended = true;
            }
        } else if out.dup_ack
            && self.high_ack.lt(self.high_data)
            && self.rto_lost_to.is_none()
            && (self.dup_acks >= self.dup_thresh || self.is_lost(self.high_ack))
        {
            //= rfc6675#5
            // Enter loss recovery when DupAcks >= DupThresh, or earlier when IsLost(HighACK + 1).
            out.enter_recovery = true;
        }
        out
    }

    /// Adds `[left, right)` to the SACKed set; returns how many bytes were new.
    fn mark_sacked(&mut self, left: SeqNum, right: SeqNum) -> u32 {
        // Only octets in (HighACK, HighData] can be SACKed; anything else is ignored.
        let left = left.max(self.high_ack);
        let right = right.min(self.high_data);
        if right.le(left) || left.lt(self.high_ack) {
            return 0;
        }
        let lo = self.sacked.partition_point(|&(_, e)| e.lt(left));
        let hi = self.sacked.partition_point(|&(s, _)| s.le(right));
        let covered: u32 =
            self.sacked[lo..hi].iter().map(|&(s, e)| e.min(right).since(s.max(left))).sum();
        let new = right.since(left) - covered;
        if new == 0 {
            return 0;
        }
        let (ms, me) = if hi > lo {
            (left.min(self.sacked[lo].0), right.max(self.sacked[hi - 1].1))
        } else {
            (left, right)
        };
        self.sacked.splice(lo..hi, [(ms, me)]);
        if self.sacked.len() > self.max_ranges {
            // Forget the highest range: the least useful information for repairing holes.
            self.sacked.pop();
        }
        new
    }

    /// The lost boundary: every unSACKed byte below it satisfies IsLost, none above does.
    fn lost_boundary(&self) -> SeqNum {
        //= rfc6675#4
        // IsLost(seq): DupThresh discontiguous SACKed sequences above seq, or more than
        // (DupThresh - 1) * SMSS SACKed bytes above seq.
        let byte_limit = (self.dup_thresh.saturating_sub(1)).saturating_mul(self.smss);
        let mut bytes = 0u32;
        let mut boundary = self.high_ack;
        for (count, &(s, e)) in self.sacked.iter().rev().enumerate() {
            bytes = bytes.saturating_add(e.since(s));
            if count as u32 + 1 >= self.dup_thresh || bytes > byte_limit {
                boundary = s;
                break;
            }
        }
        match self.rto_lost_to {
            Some(r) => boundary.max(r.min(self.high_data)),
            None => boundary,
        }
    }

    /// RFC 6675 IsLost(seq).
    pub fn is_lost(&self, seq: SeqNum) -> bool {
        !self.is_sacked(seq) && seq.lt(self.lost_boundary()) && seq.ge(self.high_ack)
    }

    /// The unSACKed holes in `[HighACK, HighData)`, in order.
    fn holes(&self) -> impl Iterator<Item = (SeqNum, SeqNum)> + '_ {
        let mut at = self.high_ack;
        let mut i = 0;
        core::iter::from_fn(move || {
            loop {
                if at.ge(self.high_data) {
                    return None;
                }
                match self.sacked.get(i) {
                    Some(&(s, e)) => {
                        i += 1;
                        let hole = (at, s);
                        at = e;
                        if s.gt(hole.0) {
                            return Some(hole);
                        }
                    }
                    None => {
                        let hole = (at, self.high_data);
                        at = self.high_data;
                        return Some(hole);
                    }
                }
            }
        })
    }

    /// RFC 6675 SetPipe(): the sender's estimate of bytes in the network.
    // Inline: asked several times per segment sent, nearly always with nothing SACKed, where
    // it is a few instructions (the walk over the holes stays in `pipe_walk`).
    #[inline]
    pub fn pipe(&self) -> u32 {
        //= rfc6675#4
        // For each octet in [HighACK, HighData) not SACKed: count 1 if not IsLost, and 1 more
        // if it was retransmitted.
        if self.sacked.is_empty() {
            // Nothing SACKed (every segment of a loss-free transfer asks): the one hole is
            // [HighACK, HighData), without walking the holes, and the lost boundary is
            // HighACK unless an RTO marked more (`lost_boundary` without its walk).
            if !self.high_ack.lt(self.high_data) {
                return 0;
            }
            let lost_to = match self.rto_lost_to {
                Some(r) => self.high_ack.max(r.min(self.high_data)),
                None => self.high_ack,
            };
            return self.hole_pipe(self.high_ack, self.high_data, lost_to);
        }
        self.pipe_walk()
    }

    /// [`Scoreboard::pipe`] with blocks SACKed: the sum over the holes.
    fn pipe_walk(&self) -> u32 {
        let lost_to = self.lost_boundary();
        let mut pipe = 0u32;
        for (a, b) in self.holes() {
            pipe = pipe.saturating_add(self.hole_pipe(a, b, lost_to));
        }
        pipe
    }

    /// What the hole `[a, b)` adds to [`Scoreboard::pipe`] with the IsLost boundary `lost_to`.
    #[inline]
    fn hole_pipe(&self, a: SeqNum, b: SeqNum, lost_to: SeqNum) -> u32 {
        let len = b.since(a);
        let lost = b.min(lost_to).since(a);
        let rxt = b.min(self.high_rxt).since(a);
        len - lost + rxt
    }

    /// Bytes between HighACK and HighData not SACKed (outstanding, unSACKed).
    #[inline]
    pub fn unsacked_outstanding(&self) -> u32 {
        if self.sacked.is_empty() {
            return self.high_data.since(self.high_ack);
        }
        self.holes().map(|(a, b)| b.since(a)).sum()
    }

    /// Segments (of SMSS, a partial one counting whole) judged lost by IsLost, retransmitted
    /// or not: the RFC 6675 counterpart of Linux's `lost_out` for a sender without RACK.
    pub fn lost_segments(&self) -> u32 {
        let lost_to = self.lost_boundary();
        self.holes().map(|(a, b)| b.min(lost_to).since(a).div_ceil(self.smss)).sum()
    }

    /// Bytes judged lost by IsLost and not yet retransmitted.
    pub fn lost_bytes(&self) -> u32 {
        let lost_to = self.lost_boundary();
        self.holes().map(|(a, b)| b.min(lost_to).since(a.max(self.high_rxt))).sum()
    }

    /// Enters fast recovery: RecoveryPoint = HighData, HighRxt reset, and returns the first
    /// segment to retransmit (the one at HighACK).
    pub fn enter_recovery(&mut self) -> NextSeg {
        //= rfc6675#5
        // On entering recovery, RecoveryPoint <- HighData and the segment at HighACK is
        // retransmitted first.
        self.recovery_point = Some(self.high_data);
        self.high_rxt = self.high_ack;
        self.rescue_rxt = None;
        NextSeg::Retransmit { seq: self.high_ack, len: self.seg_len_at(self.high_ack) }
    }

    /// Up to SMSS from `seq`, stopping at SACKed data and HighData.
    fn seg_len_at(&self, seq: SeqNum) -> u32 {
        let i = self.sacked.partition_point(|&(_, e)| e.le(seq));
        let stop = self.sacked.get(i).map_or(self.high_data, |&(s, _)| s).min(self.high_data);
        stop.since(seq).min(self.smss)
    }

    /// RFC 6675 NextSeg(): what to send next when `cwnd - pipe >= SMSS`. `can_send_new` says
    /// whether unsent data exists and the peer's window allows it.
    pub fn next_seg(&self, can_send_new: bool) -> Option<NextSeg> {
        let highest_sacked = self.sacked.last().map(|&(_, e)| e);
        // The first unSACKed byte at or after HighRxt.
        let from = self.high_rxt.max(self.high_ack);
        let s2 = self.holes().find(|&(_, b)| b.gt(from)).map(|(a, _)| a.max(from));
        if let (Some(s2), Some(top)) = (s2, highest_sacked)
            && s2.lt(top)
        {
            {
                //= rfc6675#4
                // Rule 1: the first unSACKed sequence above HighRxt, below the highest SACKed
                // octet, for which IsLost is true.
                if self.is_lost(s2) {
                    return Some(NextSeg::Retransmit { seq: s2, len: self.seg_len_at(s2) });
                }
                //= rfc6675#4
                // Rule 2: otherwise new data if available and the receiver window allows.
                if can_send_new {
                    return Some(NextSeg::NewData);
                }
                //= rfc6675#4
                // Rule 3: otherwise the first unSACKed sequence above HighRxt even if not lost.
                return Some(NextSeg::Retransmit { seq: s2, len: self.seg_len_at(s2) });
            }
        }
        if can_send_new {
            return Some(NextSeg::NewData);
        }
        //= rfc6675#4
        // Rule 4: once per recovery, if HighACK > RescueRxt (or it is unset), a rescue
        // retransmission that includes the highest outstanding unSACKed octet.
        // A hole already retransmitted in this recovery (ending at or below HighRxt) has a
        // copy in flight: resending it again is no rescue, so the rule applies to a tail
        // that rules 1 and 3 never reached (the case it exists for: the last segments lost
        // with no SACK above them).
        if self.in_recovery()
            && self.rescue_rxt.is_none_or(|r| self.high_ack.gt(r))
            && let Some((a, b)) = self.holes().last()
            && b.gt(self.high_rxt)
        {
            let len = b.since(a).min(self.smss);
            return Some(NextSeg::Rescue { seq: b - len, len });
        }
        None
    }

    /// `[seq, seq+len)` was retransmitted (rules 1 and 3): HighRxt moves.
    pub fn on_retransmit(&mut self, seq: SeqNum, len: u32) {
        let end = seq + len;
        if end.gt(self.high_rxt) {
            self.high_rxt = end;
        }
    }

    /// The rescue retransmission was sent: RescueRxt <- RecoveryPoint; HighRxt unchanged.
    pub fn on_rescue_retransmit(&mut self) {
        self.rescue_rxt = Some(self.recovery_point.unwrap_or(self.high_data));
    }

    /// The retransmission timer fired: recovery is abandoned and retransmission restarts from
    /// HighACK. With `keep_sack` false the SACK marks are discarded, as RFC 2018 section 8
    /// allows for a receiver that may have reneged; with it true they keep SACKed data from
    /// being resent (RFC 6675 section 5.1).
    pub fn on_rto(&mut self, keep_sack: bool) {
        //= rfc6675#5.1
        // After an RTO, RecoveryPoint is HighData and retransmission starts again at HighACK.
        self.recovery_point = None;
        self.rescue_rxt = None;
        self.high_rxt = self.high_ack;
        self.dup_acks = 0;
        if !keep_sack {
            self.sacked.clear();
        }
        //= rfc8985#6.3
        // After an RTO everything outstanding and not SACKed is presumed lost, so `pipe` counts
        // only what is retransmitted from here on (as Linux's loss state does); otherwise the
        // old flight would hold the collapsed window shut.
        self.rto_lost_to = Some(self.high_data);
    }
}

/// RFC 2883 D-SACK detection: the first block reports a duplicate when it lies below the
/// cumulative ACK, or inside the second block.
pub fn detect_dsack(ack: SeqNum, blocks: &[SackBlock]) -> Option<SackBlock> {
    let first = *blocks.first()?;
    //= rfc2883#4
    // A first SACK block below the cumulative ACK, or contained in the second block, is a
    // D-SACK: it reports data received more than once.
    if first.left.lt(ack) && first.left.lt(first.right) {
        return Some(first);
    }
    if let Some(second) = blocks.get(1)
        && second.left.le(first.left)
        && first.right.le(second.right)
        && first.left.lt(first.right)
    {
        return Some(first);
    }
    None
}

/// Fields of an incoming ACK that the RFC 5681 duplicate-ACK test needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AckFields {
    /// SEG.ACK.
    pub ack: SeqNum,
    /// Payload length.
    pub payload_len: u32,
    /// SYN or FIN set.
    pub syn_or_fin: bool,
    /// The advertised window (scaled).
    pub window: u32,
}

/// RFC 5681 section 2: is this ACK a duplicate? `snd_una`/`snd_max` are the sender's state,
/// `last_window` the window of the previous ACK.
pub fn is_duplicate_ack(a: &AckFields, snd_una: SeqNum, snd_max: SeqNum, last_window: u32) -> bool {
    //= rfc5681#2
    // Duplicate ACK: data outstanding, no payload, neither SYN nor FIN, SEG.ACK = SND.UNA,
    // and the same advertised window as the previous ACK.
    snd_una.lt(snd_max)
        && a.payload_len == 0
        && !a.syn_or_fin
        && a.ack == snd_una
        && a.window == last_window
}

/// What to do after a (non-)duplicate ACK, from [`DupAckCounter`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DupAckAction {
    /// Nothing special.
    None,
    /// First or second duplicate: RFC 3042 limited transmit may send new data.
    LimitedTransmit,
    /// Third duplicate: fast retransmit and enter fast recovery.
    FastRetransmit,
    /// A further duplicate while recovering (NewReno inflates the window).
    InRecovery,
}

/// Counts RFC 5681 duplicate ACKs (the non-SACK path).
#[derive(Clone, Copy, Debug, Default)]
pub struct DupAckCounter {
    count: u32,
}

impl DupAckCounter {
    /// Zero.
    pub const fn new() -> DupAckCounter {
        DupAckCounter { count: 0 }
    }
    /// Current count.
    pub fn count(&self) -> u32 {
        self.count
    }
    /// Feeds one ACK; `duplicate` from [`is_duplicate_ack`]. A non-duplicate resets the count.
    pub fn on_ack(&mut self, duplicate: bool) -> DupAckAction {
        if !duplicate {
            self.count = 0;
            return DupAckAction::None;
        }
        self.count = self.count.saturating_add(1);
        //= rfc5681#3.2
        // The third duplicate ACK triggers fast retransmit; the first two may trigger limited
        // transmit (RFC 3042).
        match self.count {
            c if c < DUP_THRESH => DupAckAction::LimitedTransmit,
            DUP_THRESH => DupAckAction::FastRetransmit,
            _ => DupAckAction::InRecovery,
        }
    }
    /// Back to zero (after an RTO or when recovery ends).
    pub fn reset(&mut self) {
        self.count = 0;
    }
}

/// RFC 3042 limited transmit: how many bytes of new data may be sent on the first or second
/// duplicate ACK (zero otherwise), given `cwnd`, `flight` size and SMSS. The receiver window
/// and data availability are the caller's to check.
pub fn limited_transmit_allowance(dup_acks: u32, cwnd: u32, flight: u32, smss: u32) -> u32 {
    //= rfc3042#2
    // On each of the first two duplicate ACKs, a new segment may be sent if the outstanding
    // data stays within cwnd + 2 * SMSS; cwnd itself is unchanged.
    if dup_acks == 0 || dup_acks >= DUP_THRESH {
        return 0;
    }
    let limit = cwnd.saturating_add(dup_acks.saturating_mul(smss));
    limit.saturating_sub(flight).min(smss)
}

/// What a NewReno sender should do with an ACK during recovery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NewRenoAck {
    /// Not in recovery: normal processing.
    NotInRecovery,
    /// A partial ACK: retransmit the segment at `retransmit` (the new SND.UNA); reset the
    /// retransmission timer if `reset_timer`.
    Partial {
        /// First unacknowledged sequence number, to resend.
        retransmit: SeqNum,
        /// True for the first partial ACK of this recovery (RFC 6582 section 3.2 step 5).
        reset_timer: bool,
    },
    /// The recovery point was acknowledged: recovery ends, deflate to ssthresh.
    Full,
}

/// RFC 6582 NewReno fast recovery state for connections without SACK.
#[derive(Clone, Copy, Debug)]
pub struct NewRenoRecovery {
    /// `recover`: one past the highest sequence number sent when recovery (or the last RTO)
    /// began.
    recover: SeqNum,
    in_recovery: bool,
    /// Bytes added to cwnd by duplicate ACKs, less partial-ACK deflation.
    inflation: u32,
    partial_acks: u32,
}

impl NewRenoRecovery {
    /// `recover` starts at the initial send sequence number (RFC 6582 section 3.2 step 1).
    pub fn new(iss: SeqNum) -> NewRenoRecovery {
        NewRenoRecovery { recover: iss, in_recovery: false, inflation: 0, partial_acks: 0 }
    }
    /// True during fast recovery.
    pub fn in_recovery(&self) -> bool {
        self.in_recovery
    }
    /// The recovery point.
    pub fn recover(&self) -> SeqNum {
        self.recover
    }
    /// Bytes to add to cwnd while in recovery (duplicate-ACK inflation less deflation).
    pub fn extra_window(&self) -> u32 {
        if self.in_recovery { self.inflation } else { 0 }
    }

    /// The third duplicate ACK arrived with cumulative ACK `snd_una`; `snd_max` is HighData.
    /// Returns true if fast retransmit and fast recovery should start (the caller retransmits
    /// the segment at SND.UNA and calls the controller's `on_congestion_event`).
    pub fn on_third_dup_ack(&mut self, snd_una: SeqNum, snd_max: SeqNum, smss: u32) -> bool {
        if self.in_recovery {
            return false;
        }
        //= rfc6582#3.2
        // Step 2: if the cumulative ACK does not cover more than `recover`, the duplicates are
        // from an earlier loss episode: do not enter fast retransmit. (`recover` is kept one
        // past the highest byte sent, so "covers more" is `snd_una >= recover`.)
        if snd_una.lt(self.recover) {
            return false;
        }
        //= rfc6582#3.2
        // Step 2 cont.: recover <- highest sequence number sent; cwnd = ssthresh + 3 * SMSS.
        self.recover = snd_max;
        self.in_recovery = true;
        self.inflation = 3 * smss;
        self.partial_acks = 0;
        true
    }

    /// A further duplicate ACK during recovery: inflate by one SMSS (step 4).
    pub fn on_dup_ack(&mut self, smss: u32) {
        if self.in_recovery {
            //= rfc6582#3.2
            // Step 4: each additional duplicate ACK inflates cwnd by SMSS.
            self.inflation = self.inflation.saturating_add(smss);
        }
    }

    /// An ACK that advanced SND.UNA to `ack`, acknowledging `bytes_acked`.
    pub fn on_ack(&mut self, ack: SeqNum, bytes_acked: u32, smss: u32) -> NewRenoAck {
        if !self.in_recovery {
            return NewRenoAck::NotInRecovery;
        }
        if ack.ge(self.recover) {
            //= rfc6582#3.2
            // Step 3: a full ACK ends recovery; cwnd deflates to ssthresh.
            self.in_recovery = false;
            self.inflation = 0;
            return NewRenoAck::Full;
        }
        //= rfc6582#3.2
        // Step 5: a partial ACK retransmits the first unacknowledged segment, deflates cwnd by
        // the amount acknowledged and adds back SMSS if at least SMSS was acknowledged.
        self.inflation = self.inflation.saturating_sub(bytes_acked);
        if bytes_acked >= smss {
            self.inflation = self.inflation.saturating_add(smss);
        }
        self.partial_acks += 1;
        NewRenoAck::Partial { retransmit: ack, reset_timer: self.partial_acks == 1 }
    }

    /// The retransmission timer fired: recovery ends and `recover` <- HighData, so duplicate
    /// ACKs for data sent before the timeout do not start another fast retransmit (section 4).
    pub fn on_rto(&mut self, snd_max: SeqNum) {
        //= rfc6582#4
        // After a retransmit timeout, record the highest sequence number sent in `recover`.
        self.recover = snd_max;
        self.in_recovery = false;
        self.inflation = 0;
    }
}

#[cfg(test)]
mod tests;
