//! Proportional Rate Reduction (RFC 6937, and its standards-track successor RFC 9937, formerly
//! draft-ietf-tcpm-prr-rfc6937bis): how much a sender may transmit on each ACK during fast
//! recovery.
//!
//! Without PRR, RFC 6675 lets the sender transmit whenever `cwnd - pipe >= SMSS`. Right after
//! the window is cut to ssthresh that is either nothing for a long time (when pipe is far above
//! ssthresh: the sender falls silent, loses its ACK clock and may end in an RTO) or a burst
//! (when losses took pipe far below ssthresh). PRR instead spreads the reduction over the
//! round trip: while pipe is above ssthresh it sends `ssthresh / RecoverFS` of the data the
//! peer reports delivered (one segment for every two delivered for a halving); once pipe has
//! fallen to ssthresh it grows back towards it, at most as fast as data is delivered
//! (conservative, PRR-CRB) plus one segment per ACK that advanced SND.UNA without revealing a
//! new loss (slow start, PRR-SSRB).
//!
//! Like Linux, this counts in segments: `DeliveredData` and `prr_out` are whole segments
//! (a short segment counts as one) and the result is a number of segments, so a delivered
//! segment always earns its share of a segment and rounding never silences the sender.
//!
//! ```
//! use synack_tcp::cc::Prr;
//! // RFC 6937's example: 20 segments in flight, one lost, ssthresh = 10.
//! let mss = 1000;
//! let mut prr = Prr::new(mss);
//! prr.start(20 * mss, 10 * mss);
//! // The ACK that starts recovery (the third duplicate) reports one segment delivered;
//! // the retransmission goes out at once.
//! assert_eq!(prr.on_ack(mss, 16 * mss, false), mss);
//! prr.on_sent(mss);
//! // From then on: one segment for every two delivered.
//! let mut sent = 0;
//! for _ in 0..8 {
//!     let n = prr.on_ack(mss, 16 * mss, false);
//!     prr.on_sent(n);
//!     sent += n / mss;
//! }
//! assert_eq!(sent, 4);
//! ```

/// PRR state for one recovery episode. See the [module docs](self).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prr {
    smss: u32,
    /// Segments in flight when recovery started (RFC 6937's `RecoverFS`).
    recover_fs: u32,
    /// ssthresh in segments: the flight PRR steers towards.
    ssthresh: u32,
    /// Segments delivered to the peer since recovery started.
    prr_delivered: u32,
    /// Segments sent (new data and retransmissions) since recovery started.
    prr_out: u32,
}

impl Prr {
    /// Idle PRR for a sender whose SMSS is `smss` bytes.
    pub fn new(smss: u32) -> Prr {
        Prr { smss: smss.max(1), recover_fs: 0, ssthresh: 0, prr_delivered: 0, prr_out: 0 }
    }

    /// Bytes to whole segments, a partial segment counting as one.
    fn segs(&self, bytes: u32) -> u32 {
        bytes.div_ceil(self.smss)
    }

    /// Recovery starts: `flight` bytes were outstanding (FlightSize, before the ACK that
    /// started recovery) and the congestion controller chose `ssthresh` bytes.
    pub fn start(&mut self, flight: u32, ssthresh: u32) {
        //= rfc6937#3.1
        //~ paraphrase: On entering recovery: prr_delivered = prr_out = 0, RecoverFS = the flight
        //~ then.
        self.recover_fs = self.segs(flight).max(1);
        self.ssthresh = (ssthresh / self.smss).max(1);
        self.prr_delivered = 0;
        self.prr_out = 0;
    }

    /// Updates SMSS (path MTU change during recovery).
    pub fn set_smss(&mut self, smss: u32) {
        self.smss = smss.max(1);
    }

    /// One ACK during recovery: `delivered` bytes newly cumulatively acknowledged or SACKed
    /// (RFC 6937's `DeliveredData`), `pipe` bytes in flight after it, and `safe` when it
    /// advanced SND.UNA and revealed no new loss (RFC 9937's safeACK). Returns `sndcnt` in
    /// bytes, a whole number of segments: how much may be sent beyond `pipe` until the next
    /// ACK.
    pub fn on_ack(&mut self, delivered: u32, pipe: u32, safe: bool) -> u32 {
        let delivered = self.segs(delivered);
        self.prr_delivered = self.prr_delivered.saturating_add(delivered);
        let pipe = self.segs(pipe);
        let sndcnt = if pipe > self.ssthresh {
            //= rfc6937#3.1
            //~ paraphrase: Proportional part: sndcnt = CEIL(prr_delivered * ssthresh / RecoverFS) -
            //~ prr_out, while pipe is above ssthresh.
            let share = (u64::from(self.prr_delivered) * u64::from(self.ssthresh))
                .div_ceil(u64::from(self.recover_fs));
            (share.min(u64::from(u32::MAX)) as u32).saturating_sub(self.prr_out)
        } else {
            //= rfc9937#4
            //~ paraphrase: Reduction bound: PRR-CRB by default, sndcnt = MAX(prr_delivered -
            //~ prr_out, DeliveredData); one more SMSS (PRR-SSRB) on an ACK that advanced SND.UNA
            //~ and showed no further loss; never beyond ssthresh - pipe.
            let mut n = self.prr_delivered.saturating_sub(self.prr_out).max(delivered);
            if safe {
                n = n.saturating_add(1);
            }
            n.min(self.ssthresh - pipe)
        };
        //= rfc9937#4
        //~ paraphrase: If nothing has been sent in recovery yet and sndcnt is zero, send one
        //~ segment: the fast retransmit itself is never held back.
        let sndcnt = if self.prr_out == 0 { sndcnt.max(1) } else { sndcnt };
        sndcnt.saturating_mul(self.smss)
    }

    /// `bytes` (new data or a retransmission) were sent during recovery.
    pub fn on_sent(&mut self, bytes: u32) {
        //= rfc6937#3.1
        //~ paraphrase: prr_out counts everything sent in recovery, retransmissions and new data
        //~ alike.
        self.prr_out = self.prr_out.saturating_add(self.segs(bytes));
    }

    /// `bytes` counted by [`Prr::on_sent`] never left (the device refused them).
    //~ linux: prr_out grows only by what tcp_transmit_skb actually sent.
    pub fn on_unsent(&mut self, bytes: u32) {
        self.prr_out = self.prr_out.saturating_sub(self.segs(bytes));
    }

    /// Segments delivered since recovery started.
    pub fn delivered(&self) -> u32 {
        self.prr_delivered
    }

    /// Segments sent since recovery started.
    pub fn out(&self) -> u32 {
        self.prr_out
    }

    /// RecoverFS in segments.
    pub fn recover_fs(&self) -> u32 {
        self.recover_fs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    const MSS: u32 = 1000;

    /// Runs `acks` ACKs of one segment each with `pipe` segments in flight, sending whatever
    /// PRR allows; returns the segments sent after each ACK.
    fn run(prr: &mut Prr, acks: usize, pipe: impl Fn(usize) -> u32, safe: bool) -> Vec<u32> {
        (0..acks)
            .map(|i| {
                let n = prr.on_ack(MSS, pipe(i) * MSS, safe);
                prr.on_sent(n);
                n / MSS
            })
            .collect()
    }

    #[test]
    fn rfc6937_halving_sends_one_for_every_two_delivered() {
        // RFC 6937 section 6 (example): 20 segments in flight, one lost, ssthresh 10 (Reno).
        let mut prr = Prr::new(MSS);
        prr.start(20 * MSS, 10 * MSS);
        // pipe stays well above ssthresh for the whole first round trip.
        let sent = run(&mut prr, 19, |_| 17, false);
        assert_eq!(sent, [1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
        // 19 delivered, 10 sent: ceil(19 * 10 / 20).
        assert_eq!((prr.delivered(), prr.out()), (19, 10));
    }

    #[test]
    fn cubic_reduction_sends_seven_for_every_ten_delivered() {
        // CUBIC: beta 0.7, 10 in flight, ssthresh 7; pipe above ssthresh throughout.
        let mut prr = Prr::new(MSS);
        prr.start(10 * MSS, 7 * MSS);
        let sent = run(&mut prr, 10, |_| 8, false);
        assert_eq!(sent.iter().sum::<u32>(), 7);
        // ceil(k * 7 / 10) - sent so far: 1 1 1 0 1 1 0 1 1 0.
        assert_eq!(sent, [1, 1, 1, 0, 1, 1, 0, 1, 1, 0]);
    }

    #[test]
    fn conservative_bound_below_ssthresh() {
        // Heavy loss: pipe (3) already below ssthresh (10). PRR-CRB sends what was delivered.
        let mut prr = Prr::new(MSS);
        prr.start(20 * MSS, 10 * MSS);
        // Entering: 1 delivered, not safe (no SND.UNA advance): one segment.
        assert_eq!(prr.on_ack(MSS, 3 * MSS, false), MSS);
        prr.on_sent(MSS);
        // Two segments SACKed by one ACK: two may go, never more than ssthresh - pipe.
        assert_eq!(prr.on_ack(2 * MSS, 3 * MSS, false), 2 * MSS);
        prr.on_sent(2 * MSS);
        // pipe 9: ssthresh - pipe = 1 caps it.
        assert_eq!(prr.on_ack(3 * MSS, 9 * MSS, false), MSS);
    }

    #[test]
    fn slow_start_bound_on_safe_acks() {
        // PRR-SSRB: an ACK that advanced SND.UNA with no new loss adds one segment.
        let mut prr = Prr::new(MSS);
        prr.start(10 * MSS, 7 * MSS);
        assert_eq!(prr.on_ack(MSS, MSS, false), MSS); // entering: the retransmission
        prr.on_sent(MSS);
        // A cumulative ACK delivering 2 segments, pipe 1: max(3 - 1, 2) + 1 = 3.
        assert_eq!(prr.on_ack(2 * MSS, MSS, true), 3 * MSS);
        prr.on_sent(3 * MSS);
        // The same delivery without the SND.UNA advance: CRB only, max(5 - 4, 2) = 2.
        assert_eq!(prr.on_ack(2 * MSS, 2 * MSS, false), 2 * MSS);
    }

    #[test]
    fn first_retransmission_is_never_held_back() {
        // Nothing delivered yet (recovery entered from a timer) and pipe above ssthresh.
        let mut prr = Prr::new(MSS);
        prr.start(10 * MSS, 5 * MSS);
        assert_eq!(prr.on_ack(0, 9 * MSS, false), MSS);
        prr.on_sent(MSS);
        assert_eq!(prr.on_ack(0, 9 * MSS, false), 0);
    }

    #[test]
    fn total_sent_in_recovery_ends_near_ssthresh() {
        // Whatever the ACK pattern, after RecoverFS segments are delivered while pipe stayed
        // above ssthresh, PRR has sent exactly ssthresh segments.
        for (fs, ss) in [(20, 10), (10, 7), (33, 23), (7, 2), (100, 70)] {
            let mut prr = Prr::new(MSS);
            prr.start(fs * MSS, ss * MSS);
            let sent: u32 = run(&mut prr, fs as usize, |_| fs, false).iter().sum();
            assert_eq!(sent, ss, "RecoverFS {fs}, ssthresh {ss}");
        }
    }

    #[test]
    fn partial_segments_count_whole_and_zero_mss_is_safe() {
        let mut prr = Prr::new(0);
        prr.start(0, 0);
        assert_eq!(prr.on_ack(u32::MAX, 0, true), 1);
        prr.on_sent(u32::MAX);
        assert_eq!(prr.on_ack(u32::MAX, u32::MAX, false), 0, "saturates, no panic");
        let mut prr = Prr::new(MSS);
        prr.start(10 * MSS, 5 * MSS);
        // 300 bytes delivered is one segment's worth.
        prr.on_ack(300, 9 * MSS, false);
        assert_eq!(prr.delivered(), 1);
        prr.on_sent(1);
        assert_eq!(prr.out(), 1);
        assert_eq!(prr.recover_fs(), 10);
    }
}
