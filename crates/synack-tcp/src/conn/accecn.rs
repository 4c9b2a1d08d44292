//! Accurate ECN (RFC 9768) for one connection: the handshake's negotiation, the counters kept
//! from each arriving segment, the ACE field and the AccECN option on what we send, and the
//! congestion response to CE marks the peer reports. The arithmetic is `crate::accecn`'s.

use super::output::Segment;
use super::{Conn, Due, Ecn, Tcb};
use crate::accecn::{self, AccEcn, AccEcnOptionPolicy, ECT0, NOT_ECT, SynAckMode};
use crate::time::Instant;
use alloc::boxed::Box;
use synack_wire::SeqNum;
use synack_wire::tcp::{AccEcnOption, TcpFlags, TcpOptions, TcpRepr, options::MAX_OPTIONS_LEN};

impl Conn {
    /// A passive open's SYN arrived with `flags` and IP-ECN `codepoint`: agree to AccECN when
    /// it asks and we accept (classic ECN is then off).
    pub(crate) fn accecn_on_syn(&mut self, flags: TcpFlags, codepoint: u8) {
        if self.cfg.accecn.accept && accecn::syn_requests(flags) {
            let mut a = AccEcn::new(codepoint);
            a.syn_codepoint = codepoint & 3;
            self.accecn = Some(Box::new(a));
            self.ecn = None;
        }
    }

    /// A retransmitted SYN arrived in SYN-RECEIVED: the SYN-ACK that answers it reflects its
    /// codepoint. One without ECN flags shows the path clears them.
    pub(crate) fn accecn_on_syn_again(&mut self, flags: TcpFlags, codepoint: u8) {
        if let Some(a) = &mut self.accecn {
            a.syn_codepoint = codepoint & 3;
            //~ linux: a repeated SYN with no ECN flags after an AccECN one marks the ECN
            //~ feedback as failed: the connection keeps AccECN's feedback but sends Not-ECT.
            if accecn::ace(flags) == 0 {
                a.ace_failed = true;
            }
        }
    }

    /// Our AccECN SYN was answered by a SYN-ACK with `seg.flags`, arriving with `codepoint`:
    /// the feedback mode it chose (RFC 9768 Table 2). Returns false when AccECN was not asked
    /// for, leaving classic negotiation to the caller.
    pub(crate) fn accecn_on_synack(&mut self, seg: &TcpRepr<'_>, codepoint: u8) -> bool {
        if !self.cfg.accecn.request {
            return false;
        }
        match accecn::synack_mode(seg.flags) {
            SynAckMode::None => self.ecn = None,
            SynAckMode::Classic => self.ecn = Some(Ecn::default()),
            SynAckMode::AccEcn => {
                self.ecn = None;
                let mut a = AccEcn::new(codepoint);
                a.on_synack(accecn::ace(seg.flags), codepoint, self.cfg.accecn.fallback);
                a.on_peer_option(seg.options.accecn.as_ref());
                self.accecn = Some(Box::new(a));
            }
        }
        true
    }

    /// The ACK of our SYN-ACK arrived (before its counters are taken).
    pub(crate) fn accecn_on_third_ack(&mut self, seg: &TcpRepr<'_>) {
        let fallback = self.cfg.accecn.fallback;
        if let Some(a) = &mut self.accecn {
            let pure = seg.payload.is_empty() && seg.options.sack.is_empty();
            a.on_third_ack(accecn::ace(seg.flags), pure, fallback);
            a.demand = a.demand.max(1);
        }
    }

    /// Any segment reached the synchronized states' checks: count its codepoint and payload,
    /// note the peer's option, and for a SYN, reflect its codepoint on the ACK that answers.
    /// An ACK goes out at once when the codepoint changed on a segment with data.
    pub(crate) fn accecn_on_receive(&mut self, seg: &TcpRepr<'_>, codepoint: u8) {
        let Some(a) = &mut self.accecn else { return };
        a.on_peer_option(seg.options.accecn.as_ref());
        if seg.flags.syn() {
            //~ linux: the ACK answering a SYN (or SYN-ACK) in a synchronized state reflects its
            //~ codepoint as the handshake's last ACK does, and carries the option.
            a.reflect = Some(accecn::reflect(codepoint));
            a.demand = a.demand.max(1);
            return;
        }
        if seg.flags.rst() {
            return;
        }
        let edge = a.on_receive(codepoint, seg.payload.len() as u32);
        if edge && !seg.payload.is_empty() {
            self.due.set(Due::Ack);
        }
    }

    /// The sender's side of an acceptable ACK that delivered `bytes` (RFC 6937's
    /// DeliveredData; `ts_progress`: its TSval is newer than the last one, so a repeated ACK
    /// of nothing new still reports fresh counts): the CE marks it
    /// reports, and the window
    /// reduction they ask for (once per window of data, PRR-paced as for classic ECN).
    pub(crate) fn accecn_on_ack(
        &mut self,
        now: Instant,
        seg: &TcpRepr<'_>,
        una_before: SeqNum,
        snd_max: SeqNum,
        ts_progress: bool,
        bytes: u32,
    ) {
        let smss = self.eff_snd_mss();
        let una = self.tcb.snd().map_or(una_before, |s| s.una);
        let Some(a) = &mut self.accecn else { return };
        let pkts = bytes.div_ceil(smss.max(1));
        let ce = a.on_ack(
            accecn::ace(seg.flags),
            seg.options.accecn.as_ref(),
            bytes > 0 || ts_progress,
            pkts,
            bytes,
            smss,
        );
        //= rfc9768#3.2.2.4
        //~ paraphrase: An increase of the CE count is a congestion signal, answered as RFC 3168
        //~ answers ECE: at most one reduction per round trip.
        if ce > 0 && a.recover.is_none_or(|r| una.ge(r)) && !self.rec.in_recovery() {
            self.rec.on_ce_reported(now, snd_max.since(una_before), bytes, una, snd_max);
            a.recover = Some(snd_max);
        }
    }

    /// The AccECN option for a segment that already carries `o`: how many fields fit (SACK
    /// blocks may give way), or `None` when it is not to be sent.
    pub(crate) fn accecn_option(
        &self,
        now: Instant,
        o: &TcpOptions,
    ) -> Option<(AccEcnOption, usize)> {
        let a = self.accecn.as_deref()?;
        let cfg = &self.cfg.accecn;
        if !a.option_wanted(cfg.option, cfg.option_beacon, now, self.rtt.srtt()) {
            return None;
        }
        let used = crate::emit::options_len(o, self.cfg.option_layout);
        let mut blocks = o.sack.len();
        let saving = if blocks > 0 { 2 } else { 0 };
        let fields =
            accecn::fit(a.minlen, MAX_OPTIONS_LEN.saturating_sub(used), saving, &mut blocks)?;
        Some((a.option(fields), blocks))
    }

    /// Adds the option (when wanted and it fits) to an ACK's options.
    pub(crate) fn accecn_add_option(&self, now: Instant, o: &mut TcpOptions) {
        if let Some((opt, blocks)) = self.accecn_option(now, o) {
            o.sack.truncate(blocks);
            o.accecn = Some(opt);
        }
    }

    /// Bytes the option would add to a data segment whose other options are `o`.
    pub(crate) fn accecn_data_option(&self, now: Instant, o: &mut TcpOptions) -> u32 {
        let before = crate::emit::options_len(o, self.cfg.option_layout);
        self.accecn_add_option(now, o);
        (crate::emit::options_len(o, self.cfg.option_layout) - before) as u32
    }

    /// The SYN's ECN flags: AccECN's three on the first SYN and its first retransmission,
    /// none after (Linux); classic ECN's two when configured.
    pub(crate) fn syn_ecn_flags(&self) -> TcpFlags {
        if self.cfg.accecn.request {
            //~ linux: a SYN retransmitted a second time carries no ECN flags, in case a
            //~ middlebox drops SYNs with them.
            if self.rtx_count < 2 { accecn::ecn_flags() } else { TcpFlags::default() }
        } else if self.syn_asks_ecn() {
            //= rfc3168#6.1.1
            //~ paraphrase: Offer ECN with ECE and CWR on the SYN.
            TcpFlags::ECE | TcpFlags::CWR
        } else {
            TcpFlags::default()
        }
    }

    /// Whether our SYN (its transmission number `rtx_count`) asks for classic ECN.
    //= rfc3168#6.1.1.1
    //~ paraphrase: A host may send later SYNs without ECE and CWR when earlier ones went
    //~ unanswered (`ConnConfig::syn_ecn_retries`).
    pub(crate) fn syn_asks_ecn(&self) -> bool {
        self.cfg.ecn && self.cfg.syn_ecn_retries.is_none_or(|n| self.rtx_count <= n)
    }

    /// The SYN-ACK of an AccECN connection: the ACE reflecting the SYN's codepoint and the
    /// option on the first transmission (not on any repeat); on the second retransmission
    /// neither, and the connection gives AccECN up (the peer may take the bare SYN-ACK as no
    /// ECN).
    pub(crate) fn accecn_synack(
        &mut self,
        flags: &mut TcpFlags,
        o: &mut TcpOptions,
        retransmission: bool,
    ) {
        let Some(a) = self.accecn.as_deref() else { return };
        if self.rtx_count >= 2 {
            //~ linux: the SYN-ACK retransmitted a second time goes without ECN flags.
            self.accecn = None;
            return;
        }
        *flags |= accecn::ace_flags(accecn::reflect(a.syn_codepoint));
        //~ linux: only the first SYN-ACK carries the option, in case options are what the path
        //~ drops.
        if retransmission || self.cfg.accecn.option == AccEcnOptionPolicy::Never {
            return;
        }
        //~ linux: the SYN-ACK's option may take the place of SACK-permitted's padding (two
        //~ bytes, without timestamps) or window scale's (one).
        let saving = if o.sack_permitted && o.timestamps.is_none() {
            2
        } else if o.window_scale.is_some() {
            1
        } else {
            0
        };
        let used = crate::emit::options_len(o, self.cfg.option_layout);
        let mut none = 0;
        if let Some(fields) =
            accecn::fit(0, MAX_OPTIONS_LEN.saturating_sub(used), saving, &mut none)
        {
            o.accecn = Some(AccEcn::handshake_option(fields));
        }
    }

    /// Marks a non-SYN segment leaving an AccECN connection: the ACE field (the handshake
    /// reflection or r.cep) and ECT(0) unless the handshake's feedback failed; TIME-WAIT's
    /// ACKs only ECT(0). Records whether the option went with it.
    pub(crate) fn accecn_on_send(&mut self, now: Instant, seg: &mut Segment, dsack: bool) {
        let time_wait = matches!(self.tcb, Tcb::TimeWait(_));
        let Some(a) = &mut self.accecn else { return };
        if seg.header.flags.syn() {
            return;
        }
        //= rfc9768#3.1.5
        //~ paraphrase: Once AccECN is agreed, every packet may be sent ECN-capable, pure ACKs
        //~ and retransmissions included.
        seg.ecn = if a.ace_failed { NOT_ECT } else { ECT0 };
        if time_wait {
            return;
        }
        let flags = seg.header.flags.without(accecn::ecn_flags());
        seg.header.flags = flags | accecn::ace_flags(a.take_ace());
        a.on_option_sent(seg.header.options.accecn.is_some(), now, dsack);
    }

    /// AccECN's counters for `ConnStats`: CE packets and CE, ECT(0), ECT(1) bytes the peer
    /// reported.
    pub(crate) fn accecn_delivered(&self) -> Option<(u32, u32, u32, u32)> {
        let a = self.accecn.as_deref()?;
        let (ce, e0, e1) = a.delivered_bytes();
        Some((a.delivered_ce, ce, e0, e1))
    }
}

/// Data at `seq` arrived again (it will be reported in a D-SACK block). A repeat of the data
/// whose D-SACK already went out with our option suggests ACKs carrying the option are dropped
/// on the path: stop sending it. A free function on the connection's AccECN state, so input
/// can call it while it holds the TCB's halves.
//= rfc9768#3.2.3.2.2
//~ paraphrase: If ACKs carrying the option seem to be lost, the data receiver stops
//~ sending it.
pub(crate) fn accecn_duplicate(accecn: &mut Option<Box<AccEcn>>, seq: SeqNum) {
    if let Some(a) = accecn {
        if a.option_sent_with_dsack && a.last_dsack == Some(seq) {
            a.option_failed = true;
        }
        a.last_dsack = Some(seq);
    }
}
