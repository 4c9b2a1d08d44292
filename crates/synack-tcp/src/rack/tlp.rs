//! Tail loss probes (RFC 8985 section 7): when to send one, and what the sender tells RACK
//! about the probe it sent.

use super::{MIN_PTO, Rack};
use crate::time::{Duration, Instant};
use synack_wire::SeqNum;

/// How a tail loss probe ended (RFC 8985 section 7.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlpOutcome {
    /// The probe or the original was delivered with no loss (new data probe ACKed, or a
    /// D-SACK showed the retransmitted probe was a duplicate).
    NoLoss,
    /// The retransmitted probe repaired a real loss: the caller applies a congestion response
    /// (reduce the window as on entering fast recovery).
    LossRepaired,
}

impl Rack {
    /// A tail loss probe was sent covering up to `end` (exclusive); `retransmission` if it
    /// resent old data rather than new.
    pub fn on_tlp_sent(&mut self, end: SeqNum, retransmission: bool) {
        self.tlp_end_seq = Some(end);
        self.tlp_is_retrans = retransmission;
    }

    /// Where the highest-sequence segment still tracked begins (its records split only at
    /// SACK and retransmission boundaries, so this is where the last segment sent starts).
    /// The tail loss probe resends that segment as it was sent (RFC 8985 section 7.3).
    pub fn last_segment_start(&self) -> Option<SeqNum> {
        self.segs.back().map(|s| s.start)
    }

    /// True while a tail loss probe is outstanding.
    pub fn tlp_in_flight(&self) -> bool {
        self.tlp_end_seq.is_some()
    }

    /// When to fire the tail loss probe, or `None` if no probe should be scheduled:
    /// `flight_segments` in flight, `rto_deadline` the armed RTO. `in_recovery` and
    /// `sack_enabled` gate TLP as section 7.1 requires.
    pub fn pto_deadline(
        &self,
        now: Instant,
        srtt: Option<Duration>,
        flight_segments: u32,
        rto_deadline: Instant,
        in_recovery: bool,
        sack_enabled: bool,
    ) -> Option<Instant> {
        //= rfc8985#7.1
        // Schedule a probe only outside recovery, with SACK, with data in flight and no probe
        // already outstanding.
        if !self.config.tlp
            || in_recovery
            || !sack_enabled
            || flight_segments == 0
            || self.tlp_end_seq.is_some()
        {
            return None;
        }
        //= rfc8985#7.2
        // PTO = 2 * SRTT, plus WCDelAckT when one segment is in flight; 1 s without an SRTT;
        // never later than the RTO. Never shorter than MIN_PTO either: an SRTT of zero (a
        // virtual clock, or loopback at microsecond resolution) would otherwise put the probe
        // deadline at `now`, and re-arming it at `now` after it fires spins `on_timeout`.
        let pto = match srtt {
            Some(s) => {
                let base = s.saturating_mul(2).max(MIN_PTO);
                if flight_segments == 1 { base + self.config.max_ack_delay() } else { base }
            }
            None => Duration::from_secs(1),
        };
        Some((now + pto).min(rto_deadline))
    }
}
