//! Segment arrival, RFC 9293 section 3.10.7, for SYN-SENT, SYN-RECEIVED, the synchronized
//! states and TIME-WAIT. (CLOSED and LISTEN are the endpoint's: there is no TCB to consult.)

use super::recovery::{AckInfo, NothingAcked};
use super::{Conn, Ctx, Due, Ecn, HsFlags, OpenKind, Origin, Outcome, Rcv, Tcb, Timer};
use crate::control::CtlSegment;
use crate::error::ConnectionError;
use crate::event::Event;
use crate::rtt::rtt_from_timestamps;
use crate::state::State;
use crate::time::{Duration, Instant};
use synack_wire::SeqNum;
use synack_wire::tcp::{TcpFlags, TcpOptions, TcpRepr};

/// RFC 7323 section 5.5: TS.Recent is invalid after 24 days without a segment.
const PAWS_IDLE: Duration = Duration::from_secs(24 * 24 * 3600);

/// The send MSS when the peer's SYN had no MSS option (RFC 9293 3.7.1, MUST-15).
pub(crate) fn default_mss(ipv4: bool) -> u16 {
    if ipv4 { 536 } else { 1220 }
}

impl Conn {
    /// Turns the peer's SYN options into the negotiated set.
    pub(crate) fn negotiate(&mut self, o: &TcpOptions) {
        //= rfc7323#2.2
        //~ paraphrase: Window scaling is in effect only when both SYNs carried the option; shifts
        //~ above 14 are used as 14.
        // A SYN retransmitted without its options offered none of them.
        let offered = self.syn_full_options();
        let (snd_ws, rcv_ws) = match o.window_scale {
            Some(ws) if self.cfg.window_scaling && offered => (ws.min(14), self.our_wscale()),
            _ => (0, 0),
        };
        //= rfc9293#3.7.1
        //~ paraphrase: Without an MSS option, assume 536 (IPv4) or 1220 (IPv6).
        let send_mss = o.mss.unwrap_or(default_mss(self.tuple.local.is_ipv4())).max(64);
        self.opt = super::Negotiated {
            ts: self.cfg.timestamps && offered && o.timestamps.is_some(),
            sack: self.cfg.sack && offered && o.sack_permitted,
            snd_wscale: snd_ws,
            rcv_wscale: rcv_ws,
            send_mss,
            rcv_mss: self.our_mss(),
            md5: self.opt.md5,
        };
        self.hs.set(
            HsFlags::WS_OFFERED,
            o.window_scale.is_some() && self.cfg.window_scaling && offered,
        );
    }

    /// Handles one arriving segment.
    pub(crate) fn on_segment(&mut self, ctx: &mut Ctx<'_>, seg: &TcpRepr<'_>) -> Outcome {
        self.hs.set(HsFlags::BURST_NEW, false);
        self.end_gso_packet();
        //~ linux: a MSG_MORE cork lasts only for the write's own push; the output an arriving
        //~ segment triggers (tcp_data_snd_check) follows the socket's Nagle setting.
        self.hs.set(HsFlags::CORKED, false);
        self.stats.segs_in += 1;
        match self.state() {
            State::Closed | State::Listen => Outcome::Continue,
            State::SynSent => self.on_syn_sent(ctx, seg),
            State::TimeWait => self.on_time_wait(ctx, seg),
            _ => self.on_synchronized(ctx, seg),
        }
    }

    /// A challenge ACK (RFC 5961 sections 3.2, 4.2 and 5.2), sent only when both this
    /// connection's limit and the endpoint's randomised budget allow it.
    ///
    /// The per-connection limit is what keeps an off-path attacker from learning anything: a
    /// single budget shared by every connection (RFC 5961 section 7's suggestion, and Linux
    /// before CVE-2016-5696) lets the attacker count the challenge ACKs its own connection
    /// draws and see how many a guessed connection used up. With the limit
    /// (`ConnConfig::unacceptable_ack_limit`), one connection can never draw more than its
    /// own few per window, so the count it sees is the same whether the guessed connection
    /// exists or not; the shared budget, drawn at random each second, only caps the
    /// endpoint's total. Lifting the per-connection limit (a figure of 0, as FreeBSD's
    /// sysctls allow) leaves only that randomised budget between the connections.
    fn challenge_ack(&mut self, ctx: &mut Ctx<'_>) {
        //~ linux: per-socket limit first (tcp_invalid_ratelimit, 500 ms), then the host-wide
        //~ budget, redrawn each second at random between half and one and a half times the limit.
        //~ freebsd: tcp_send_challenge_ack's per-connection count only (ack_war_cnt per
        //~ ack_war_timewindow).
        if self.oow_ack_allowed(ctx.now) && ctx.challenge.allow(ctx.now) {
            self.due.set(Due::Ack);
            self.due.set(Due::ChallengeAck);
        }
    }

    /// The ACK answering an unacceptable segment (RFC 9293 3.10.7.4, RFC 7323 PAWS): a segment
    /// carrying data is always answered (its sender needs the ACK, and D-SACK, to stop
    /// retransmitting); one without data only within the per-connection limit, so two
    /// endpoints that disagree about the window cannot ping-pong ACKs, and a flood of forged
    /// segments draws at most one reply per interval.
    fn oow_ack(&mut self, ctx: &mut Ctx<'_>, carries_data: bool) {
        //~ linux: tcp_oow_rate_limited exempts segments with data and no SYN.
        if carries_data || self.oow_ack_allowed(ctx.now) {
            self.due.set(Due::Ack);
        }
    }

    /// The per-connection limit on ACKs to segments that are not acceptable
    /// (`ConnConfig::unacceptable_ack_limit`): a window opens at the first such ACK after the
    /// previous window closed, and allows that many ACKs until it closes.
    fn oow_ack_allowed(&mut self, now: Instant) -> bool {
        //~ freebsd: tcp_send_challenge_ack counts challenge ACKs in an epoch of
        //~ ack_war_timewindow ms that begins at the first one after the last epoch ended.
        let limit = self.cfg.unacceptable_ack_limit;
        if limit.acks == 0 || limit.window_ms == 0 {
            return true;
        }
        // A wrapping millisecond clock; its one zero reading counts as 1 (0 is `None`).
        let ms = (now.as_millis() as u32).max(1);
        let open = self
            .last_oow_ack
            .is_some_and(|start| ms.wrapping_sub(start.get()) < u32::from(limit.window_ms));
        if !open {
            self.last_oow_ack = core::num::NonZeroU32::new(ms);
            self.oow_acks = 0;
        }
        if self.oow_acks >= limit.acks {
            return false;
        }
        self.oow_acks += 1;
        true
    }

    /// A segment with an ACK reaching SYN-SENT echoes a timestamp we never sent: not the
    /// answer to our SYN (`ConnConfig::syn_ack_tsecr_check`).
    //~ linux: tcp_rcv_synsent_state_process rejects a TSecr outside [the first SYN's TSval,
    //~ our clock now] (`PAWSActiveRejected`); a TSecr of 0 is not checked.
    pub(crate) fn syn_ack_tsecr_rejected(&self, now: Instant, seg: &TcpRepr<'_>) -> bool {
        if !self.cfg.syn_ack_tsecr_check || !self.cfg.timestamps || !seg.flags.ack() {
            return false;
        }
        let Some(ts) = seg.options.timestamps.filter(|t| t.tsecr != 0) else { return false };
        // The connection began with its first SYN.
        let first = self.ts_now(self.una_since);
        ts.tsecr.wrapping_sub(first) > self.ts_now(now).wrapping_sub(first)
    }

    /// SYN-SENT's answer to an ACK that is not for us: `<SEQ=SEG.ACK><CTL=RST>`, unless the
    /// segment is itself a RST.
    fn reset_unacceptable_ack(&self, ctx: &mut Ctx<'_>, seg: &TcpRepr<'_>) {
        if !seg.flags.rst() {
            ctx.ctl.push(
                CtlSegment::rst(self.tuple, seg.ack)
                    .via(self.cfg.udp_encapsulation)
                    .with_ip(self.cfg.ip),
            );
        }
    }

    fn on_syn_sent(&mut self, ctx: &mut Ctx<'_>, seg: &TcpRepr<'_>) -> Outcome {
        let f = seg.flags;
        let Tcb::SynSent { snd, .. } = &mut self.tcb else { return Outcome::Continue };
        if f.ack() {
            //= rfc9293#3.10.7.3
            //~ paraphrase: An ACK outside ISS < SEG.ACK =< SND.NXT is not for us:
            //~ <SEQ=SEG.ACK><CTL=RST> (unless it is itself a RST), and the segment is dropped.
            if seg.ack.le(snd.iss) || seg.ack.gt(snd.max_nxt) {
                self.reset_unacceptable_ack(ctx, seg);
                return Outcome::Continue;
            }
        }
        if self.syn_ack_tsecr_rejected(ctx.now, seg) {
            self.reset_unacceptable_ack(ctx, seg);
            return Outcome::Continue;
        }
        if f.rst() {
            //= rfc9293#3.10.7.3
            //~ paraphrase: A RST with an acceptable ACK refuses the connection; without an ACK it
            //~ is dropped (erratum 8167: no RFC 5961 sequence check in SYN-SENT).
            if f.ack() {
                self.fail(ctx, ConnectionError::Refused);
                return Outcome::Continue;
            }
            return Outcome::Continue;
        }
        if !f.syn() {
            //= rfc9293#3.10.7.3
            //~ paraphrase: Neither SYN nor RST: drop.
            return Outcome::Continue;
        }
        self.negotiate(&seg.options);
        //= rfc3168#6.1.1
        //~ paraphrase: ECN is on when the SYN-ACK carries ECE without CWR (or, in a simultaneous
        //~ open, the peer's SYN carries both).
        if !(f.ack() && self.accecn_on_synack(seg, ctx.ip_ecn)) {
            let ecn = self.syn_asks_ecn()
                && f.contains(TcpFlags::ECE)
                && (f.ack() != f.contains(TcpFlags::CWR));
            self.ecn = ecn.then(Ecn::default);
        }
        self.last_rx = ctx.now;
        let mut rcv = Rcv::new(seg.seq, &self.cfg, self.opt.rcv_wscale);
        //= rfc9293#3.10.7.3
        //~ paraphrase: Our SYN already offered a window (unscaled): the peer may send into it
        //~ before our ACK of its SYN arrives (a Fast Open server's data right behind its SYN-ACK).
        let first = self.initial_space().min(65535) as u32;
        rcv.adv_right = rcv.nxt + first;
        let initial = first.max(1) as usize;
        let initial = super::output::initial_window(initial, self.our_mss(), &self.cfg);
        rcv.start_mem(super::rcv_mem::linux_model(&self.cfg), initial as u32);
        if self.opt.ts
            && let Some(ts) = seg.options.timestamps
        {
            rcv.ts_recent = Some((ts.tsval, ctx.now));
        }
        let Tcb::SynSent { snd, fo } = core::mem::replace(&mut self.tcb, Tcb::Closed) else {
            return Outcome::Continue;
        };
        let mut snd = snd;
        let mut syn_data_refused = false;
        if let Some(fo) = fo {
            let syn_data_end = snd.iss + 1 + fo.sent;
            let acked = f.ack() && fo.sent > 0 && seg.ack.ge(syn_data_end);
            self.hs.set(HsFlags::SYN_DATA, acked);
            // A SYN without ACK (simultaneous open) says nothing about our data yet: it stays
            // sent, and the peer's SYN-ACK may acknowledge it (Linux keeps snd_nxt past it).
            syn_data_refused = f.ack() && !acked && fo.sent > 0;
            // With RACK the data stays sent and is marked lost once established (below).
            if syn_data_refused && !(self.opt.sack && self.cfg.rack) {
                //= rfc7413#4.2.1
                //~ paraphrase: A SYN-ACK that acknowledges only the ISN: the server did not take
                //~ the SYN's data, which is sent again after the handshake. Without RACK it is
                //~ treated as never sent, so it goes out as new data (SND.NXT and the highest
                //~ sent are rewound).
                snd.nxt = snd.iss + 1;
                snd.max_nxt = snd.iss + 1;
            }
        }
        let syn_data = (snd.iss + 1, snd.max_nxt);
        //= rfc9293#3.10.7.3
        //~ paraphrase: The SYN's window is never scaled.
        snd.wnd = seg.window as u32;
        snd.max_wnd = snd.wnd;
        snd.wl1 = seg.seq;
        snd.wl2 = seg.ack;
        if f.ack() {
            //= rfc9293#3.10.7.3
            //~ paraphrase: SYN-ACK acknowledging our SYN: ESTABLISHED, and
            //~ <SEQ=SND.NXT><ACK=RCV.NXT>.
            snd.on_ack_advance(seg.ack);
            self.take_rtt_sample(ctx.now, snd.una, seg);
            //~ linux: when data waits to go as the handshake ends, the ACK of the SYN-ACK
            //~ rides on it and the delayed-ACK clock starts now, so an answer we send at once
            //~ makes the connection interactive (`tcp_rcv_synsent_state_process` with a
            //~ writer pending). Not when the SYN's data was refused: that is resent as loss.
            if self.cfg.quick_ack_segments > 0 && !syn_data_refused && snd.end_seq().gt(snd.nxt) {
                self.last_data_rx = Some(super::wrapping_ms(ctx.now));
            }
            self.tcb = Tcb::Open { snd, rcv, kind: OpenKind::Established };
            self.on_established();
            if syn_data_refused {
                self.rec.on_syn_data_unacked(ctx.now, syn_data.0, syn_data.1);
            }
            self.rec.rate.on_syn_acked();
            ctx.event(Event::StateChanged {
                conn: ctx.id,
                old: State::SynSent,
                new: State::Established,
            });
            ctx.event(Event::Connected(ctx.id));
            self.after_ack_advance(ctx);
            self.due.set(Due::Ack);
            //= rfc9293#3.10.7.3
            //~ paraphrase: Data or a FIN on the SYN-ACK is processed from the sixth step on.
            return self.process_text_and_fin(
                ctx,
                seg,
                seg.seq + 1,
                seg.payload,
                f.fin(),
                Outcome::Continue,
            );
        }
        //= rfc9293#3.10.7.3
        //~ paraphrase: A SYN without ACK (simultaneous open): SYN-RECEIVED, answer
        //~ <SEQ=ISS><ACK=RCV.NXT> <CTL=SYN,ACK>.
        snd.nxt = snd.iss;
        self.tcb =
            Tcb::Open { snd, rcv, kind: OpenKind::SynReceived(Origin::Active { syn_text: 0 }) };
        // The peer's MSS is known from its SYN: the buffer is sized now, as on a SYN-ACK.
        self.round_recv_buffer();
        //= rfc9293#3.10.7.3
        //# If there are other controls or text in the segment, queue them for processing
        //# after the ESTABLISHED state has been reached, return.
        // The text waits in the receive ring, unacknowledged (RCV.NXT stays past the SYN);
        // a FIN on the SYN is not kept: unacknowledged, the peer sends it again.
        if !seg.payload.is_empty()
            && !self.cfg.linux_simultaneous_open
            && let Tcb::Open {
                rcv, kind: OpenKind::SynReceived(Origin::Active { syn_text }), ..
            } = &mut self.tcb
        {
            let fits = seg.payload.len().min(rcv.adv_right.since(rcv.nxt) as usize);
            let fits = fits.min(u16::MAX as usize);
            *syn_text = rcv.buf.write_at(0, &seg.payload[..fits]) as u16;
        }
        ctx.event(Event::StateChanged {
            conn: ctx.id,
            old: State::SynSent,
            new: State::SynReceived,
        });
        Outcome::Continue
    }

    /// RTT sample from an ACK that advanced SND.UNA to `una`: from the echoed timestamp when
    /// timestamps are in use, else from the timed segment (Karn). Feeds the estimator and
    /// returns the sample when the estimator took it.
    fn take_rtt_sample(
        &mut self,
        now: Instant,
        una: SeqNum,
        seg: &TcpRepr<'_>,
    ) -> Option<Duration> {
        match (self.opt.ts, seg.options.timestamps) {
            (true, Some(ts)) => {
                rtt_from_timestamps(self.ts_now(now), ts.tsecr, Duration::from_millis(1))
                    .filter(|&r| self.rtt.on_timestamp_sample(r))
            }
            _ => self.sampler.on_ack(una, now).inspect(|&r| self.rtt.on_sample(r)),
        }
    }

    /// Bookkeeping after SND.UNA moved: timers, counters, writable.
    fn after_ack_advance(&mut self, ctx: &mut Ctx<'_>) {
        //= rfc8985#7.2
        //~ paraphrase: The probe timer restarts from an ACK of new data.
        self.t.set(Timer::Tlp, None);
        self.rtx_count = 0;
        self.una_since = ctx.now;
        self.persist_backoff = 0;
        //~ linux: an ACK tries the send queue again (tcp_data_snd_check), refused data too.
        self.refused &= !super::tx_fail::Refused::NOW;
        self.settle_skbs();
        let Some(snd) = self.tcb.snd() else { return };
        if let Some(stamps) = self.marks.as_mut().and_then(|m| m.stamps.as_mut()) {
            stamps.on_ack(ctx.now, snd.una);
        }
        //= rfc6298#5
        //~ paraphrase: All data acknowledged: stop the timer; otherwise restart it with the current
        //~ RTO.
        self.t
            .set(Timer::Rtx, if snd.outstanding() { Some(ctx.now + self.rtt.rto()) } else { None });
        if self.write_space() {
            self.want_writable = false;
            ctx.event(Event::Writable(ctx.id));
        }
    }

    fn on_synchronized(&mut self, ctx: &mut Ctx<'_>, seg: &TcpRepr<'_>) -> Outcome {
        let state = self.state();
        let f = seg.flags;
        let now = ctx.now;
        let ts_on = self.opt.ts;
        //~ freebsd: a half-open passive connection lives in the syncache, which checks against
        //~ the window its SYN-ACK offered; only a connection with a socket has a buffer to offer.
        let passive_half_open =
            matches!(self.tcb, Tcb::Open { kind: OpenKind::SynReceived(Origin::Passive(_)), .. });
        if self.accecn.is_some() && (state != State::SynReceived || !f.syn()) {
            self.accecn_on_receive(seg, ctx.ip_ecn);
        }
        // The MSS we send with matters here only for the receiver's first segment-size
        // estimate, before any data has set one (see `rcv_mss::initial`).
        let estimating = self.tcb.halves_ref().is_some_and(|(_, rcv)| rcv.mss_estimate == 0);
        let advmss = self.opt.rcv_mss;
        let snd_mss_now = if estimating { self.eff_snd_mss() } else { 0 };
        let Some((snd, rcv)) = self.tcb.halves() else { return Outcome::Continue };
        //~ linux: an ACK whose TSval moved on counts as progress for AccECN's ACE reading.
        let ts_progress = match (seg.options.timestamps, rcv.ts_recent) {
            (Some(ts), Some((recent, _))) => (ts.tsval.wrapping_sub(recent) as i32) > 0,
            _ => false,
        };
        let mut seq = seg.seq;
        let mut syn = f.syn();
        let mut fin = f.fin();
        let mut payload = seg.payload;

        if state == State::SynReceived && syn && seq == rcv.irs {
            if !f.ack() {
                //= rfc9293#3.10.7.4
                //~ paraphrase: A retransmission of the SYN we answered: send the SYN-ACK again.
                snd.nxt = snd.iss;
                self.accecn_on_syn_again(f, ctx.ip_ecn);
                return Outcome::Continue;
            }
            // The peer's SYN-ACK in a simultaneous open: its SYN is already counted, the ACK
            // is news.
            if self.cfg.linux_simultaneous_open && self.opt.sack {
                //~ linux: the SYN's sequence number repeats what RCV.NXT already covers:
                //~ tcp_data_queue reports it as a D-SACK and ACKs at once.
                rcv.sacks.on_duplicate(seq, seq + 1);
                self.due.set(Due::Ack);
            }
            seq += 1;
            syn = false;
        }

        //= rfc7323#5.3
        //~ paraphrase: PAWS: a non-RST segment whose TSval is older than TS.Recent is a duplicate:
        //~ ACK it and drop it (unless TS.Recent has gone stale after 24 idle days).
        if ts_on
            && !f.rst()
            && let (Some(ts), Some((recent, at))) = (seg.options.timestamps, rcv.ts_recent)
            && now.saturating_since(at) < PAWS_IDLE
            && (ts.tsval.wrapping_sub(recent) as i32) < 0
        {
            self.oow_ack(ctx, !payload.is_empty());
            return Outcome::Continue;
        }

        //= rfc9293#3.10.7.4
        //~ paraphrase: First, the sequence number check: the four cases of Table 6.
        let seg_len = payload.len() as u32 + syn as u32 + fin as u32;
        let wnd =
            if passive_half_open { rcv.wnd() } else { rcv.acceptance_wnd(self.cfg.receive_window) };
        let nxt = rcv.nxt;
        let acceptable = match (seg_len, wnd) {
            (0, 0) => seq == nxt,
            (0, _) => seq.in_range(nxt, nxt + wnd),
            (_, 0) => false,
            //~ paraphrase: Table 6 asks whether the first or the last octet is in the window; a
            //~ segment that begins before RCV.NXT and ends past the right edge has neither, yet
            //~ it carries the whole window's worth of new data. Like Linux (`tcp_sequence`: it
            //~ ends at or after RCV.WUP and begins at or before the right edge) and BSD (which
            //~ trims both ends), it is taken and trimmed: refusing it deadlocks a retransmission
            //~ that carries an already-received first byte, the window's data and a FIN.
            (_, _) => {
                let last = seq + seg_len - 1;
                seq.in_range(nxt, nxt + wnd)
                    || last.in_range(nxt, nxt + wnd)
                    || (seq.lt(nxt) && last.ge(nxt + wnd))
            }
        };
        if !acceptable {
            //= rfc9293#3.4
            //~ paraphrase: With a zero window, a segment at RCV.NXT still has its ACK, URG and RST
            //~ processed (MUST-66); its text is not accepted.
            if wnd == 0 && seq == nxt {
                // The text is refused: the ACK tells the peer the window is still closed.
                if !payload.is_empty() {
                    ctx.drops.zero_window += 1;
                }
                self.due.set(Due::Ack);
                payload = &[];
                fin = false;
                syn = false;
            } else if f.rst() {
                //= rfc9293#3.10.7.4
                //~ paraphrase: An unacceptable RST is dropped silently.
                return Outcome::Continue;
            } else if syn {
                // RFC 5961 4.2: any SYN in a synchronized state draws a challenge ACK.
                self.challenge_ack(ctx);
                return Outcome::Continue;
            } else {
                //= rfc9293#3.10.7.4
                //~ paraphrase: Otherwise send <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and drop.
                if (seq + seg_len).gt(nxt) {
                    //~ linux: tcp_validate_incoming counts a segment tcp_sequence refuses for
                    //~ lying past the window (not an old one) in LINUX_MIB_BEYOND_WINDOW.
                    ctx.drops.beyond_window += 1;
                }
                if !payload.is_empty() && (seq + payload.len() as u32).le(nxt) {
                    //= rfc2883#4
                    //~ paraphrase: Data received twice (below RCV.NXT) is reported as a D-SACK
                    //~ block.
                    rcv.sacks.on_duplicate(seq, seq + payload.len() as u32);
                    super::accecn::accecn_duplicate(&mut self.accecn, seq);
                    //~ linux: data received twice means our ACK was lost: quick ACKs resume
                    //~ (`tcp_enter_quickack_mode` leaves pingpong mode).
                    self.hs.set(super::HsFlags::INTERACTIVE, false);
                }
                //= rfc7323#4.3
                //~ paraphrase: A segment that covers Last.ACK.sent, ends included, gives
                //~ TS.Recent its TSval: a retransmission of the segment our last ACK
                //~ acknowledged (that ACK was lost) is one, so the duplicate ACK it draws echoes
                //~ the retransmission's TSval and the sender's RTT sample stays current instead
                //~ of spanning the retransmission timeout.
                //~ linux: tcp_sequence accepts a segment ending at rcv_wup and
                //~ tcp_replace_ts_recent takes its TSval.
                if ts_on
                    && let Some(ts) = seg.options.timestamps
                    && seg.seq.le(rcv.last_ack_sent)
                    && (seq + seg_len).ge(rcv.last_ack_sent)
                {
                    rcv.take_ts_recent(ts.tsval, now);
                }
                if !(self.cfg.old_segment_ack_processed && f.ack() && (seq + seg_len).le(nxt)) {
                    self.oow_ack(ctx, !payload.is_empty());
                    return Outcome::Continue;
                }
                //~ freebsd: tcp_input drops the text and FIN of a segment wholly below RCV.NXT,
                //~ sets TF_ACKNOW and keeps on processing its ACK field; an ACK of our FIN in
                //~ CLOSING enters TIME-WAIT (tcp_twstart) before that ACK goes out.
                let closes = state == State::Closing && seg.ack == snd.max_nxt;
                if !closes {
                    self.due.set(Due::Ack);
                }
                payload = &[];
                fin = false;
                seq = nxt;
            }
        }
        // Trim what lies before RCV.NXT (already received) and beyond the window.
        if seq.lt(nxt) {
            let mut skip = nxt.since(seq);
            if syn {
                syn = false;
                skip -= 1;
            }
            let cut = (skip as usize).min(payload.len());
            if cut > 0 {
                //~ paraphrase (RFC 2883 4.1.1): the part of a segment received before is
                //~ reported in a D-SACK block also when the rest is new; the ACK carrying it
                //~ goes out at once.
                rcv.sacks.on_duplicate(seq, seq + cut as u32);
                self.due.set(Due::Ack);
            }
            payload = &payload[cut..];
            if skip as usize > cut {
                fin = false; // the FIN itself was already received
            }
            seq = nxt;
        }
        let right = nxt + wnd;
        //~ linux: tcp_sequence refuses a segment that ends past the window while data waits in
        //~ the receive queue (counted in LINUX_MIB_BEYOND_WINDOW; a duplicate ACK answers
        //~ it unless it is a RST), where older kernels and RFC 9293 3.10.7.4 keep its part
        //~ inside the window.
        if self.cfg.past_window_dropped_while_data_waits
            && !rcv.buf.is_empty()
            && (seq + payload.len() as u32 + fin as u32).gt(right)
        {
            if !f.rst() {
                ctx.drops.beyond_window += 1;
                self.oow_ack(ctx, !payload.is_empty());
            }
            return Outcome::Continue;
        }
        //~ linux: tcp_data_queue takes a segment that begins inside the window whole when
        //~ the receive queue is empty, in order or out of order (tcp_data_queue_ofo), however
        //~ far past the window it reaches (if the memory allows).
        let model = super::rcv_mem::linux_model(&self.cfg);
        if model.is_some() && self.cfg.oversized_taken_when_empty && rcv.buf.is_empty() {
            // The memory limit, not the ring, bounds what is held: make room for the segment.
            let _ = rcv.buf.grow(seq.since(nxt) as usize + payload.len());
        }
        let taken_whole = self.cfg.oversized_taken_when_empty
            && rcv.buf.is_empty()
            && seq.since(nxt) as usize + payload.len() <= rcv.buf.free();
        if (seq + payload.len() as u32).gt(right) && !taken_whole {
            let keep = right.since(seq) as usize;
            payload = &payload[..keep.min(payload.len())];
            fin = false;
        }
        if !payload.is_empty() {
            //~ linux: tcp_event_data_recv and tcp_data_queue_ofo measure every data segment
            //~ taken, in order or not, by its GRO segment size when it was coalesced.
            let arrival = super::rcv_mss::Arrival {
                len: ctx.seg_size.map_or(seg.payload.len(), usize::from),
                seg,
                remnant: f.fin() || f.urg() || f.syn() || f.psh(),
            };
            // Read only while the estimate is unset (0).
            let initial = match rcv.mss_estimate {
                0 => super::rcv_mss::initial(advmss, snd_mss_now, rcv.wnd()),
                _ => 0,
            };
            let mut refused = false;
            if let Some((rcvbuf, _)) = model {
                let before = match rcv.mss_estimate {
                    0 => initial,
                    m => m,
                };
                let ip_header = if self.tuple.local.is_ipv4() { 20 } else { 40 };
                let packet = payload.len() + seg.header_len() + ip_header;
                let truesize = super::rcv_mem::tun_truesize(packet as u32);
                let in_order = seq == rcv.asm.rcv_nxt();
                if let Some(mem) = rcv.sizing.linux() {
                    mem.measure(
                        arrival.len as u32,
                        payload.len() as u32,
                        truesize,
                        u32::from(before),
                        rcvbuf,
                    );
                    //~ linux: tcp_data_queue and tcp_data_queue_ofo refuse a segment whose bytes
                    //~ would take the memory charged past the limit (tcp_try_rmem_schedule with
                    //~ tcp_can_ingest) and ACK at once (ICSK_ACK_NOW); an in-order one arriving
                    //~ at an empty receive queue is taken anyway (sk_forced_mem_schedule).
                    if mem.alloc.saturating_add(payload.len() as u32) > rcvbuf {
                        self.due.set(Due::Ack);
                        if !(in_order && rcv.buf.is_empty()) {
                            mem.discard();
                            refused = true;
                        }
                    }
                }
            }
            if refused {
                // Its text and FIN are dropped; its ACK field is still processed.
                payload = &[];
                fin = false;
            } else {
                rcv.measure_rcv_mss(arrival, initial, advmss, if ts_on { 12 } else { 0 });
            }
        }
        self.last_rx = now;
        self.keepalive_probes = 0;
        //= rfc7323#4.3
        //~ paraphrase: TS.Recent takes the TSval of a segment that covers Last.ACK.sent.
        if ts_on
            && let Some(ts) = seg.options.timestamps
            && seg.seq.le(rcv.last_ack_sent)
        {
            rcv.take_ts_recent(ts.tsval, now);
        }

        //= rfc9293#3.10.7.4
        //~ paraphrase: Second, the RST bit.
        if f.rst() {
            //= rfc5961#3.2
            //~ paraphrase: Reset only on an exact match with RCV.NXT; an in-window RST elsewhere
            //~ draws a challenge ACK.
            if seg.seq != rcv.nxt && self.cfg.rfc5961_rst {
                self.challenge_ack(ctx);
                return Outcome::Continue;
            }
            return match (state, &self.tcb) {
                (
                    State::SynReceived,
                    Tcb::Open { kind: OpenKind::SynReceived(Origin::Passive(_)), .. },
                ) => {
                    //= rfc9293#3.10.7.4
                    //~ paraphrase: SYN-RECEIVED from a passive OPEN returns to LISTEN (MUST-11).
                    //~ The user need not be informed because no user has the connection yet; a
                    //~ Fast Open child (RFC 7413) is handed to the application before the
                    //~ handshake completes, so it is told of the reset as in ESTABLISHED.
                    if self.is_fast_open_child() {
                        self.fail(ctx, ConnectionError::Reset);
                    } else {
                        self.goto(ctx, State::Closed);
                    }
                    Outcome::Continue
                }
                (State::SynReceived, _) => {
                    //= rfc9293#3.10.7.4
                    //~ paraphrase: SYN-RECEIVED from an active OPEN: connection refused (MUST-11).
                    self.fail(ctx, ConnectionError::Refused);
                    Outcome::Continue
                }
                (State::Closing | State::LastAck, _) => {
                    //= rfc9293#3.10.7.4
                    //~ paraphrase: CLOSING, LAST-ACK: enter CLOSED and delete the TCB.
                    if self.cfg.reset_after_fin_reported && !self.app_closed {
                        //~ linux: tcp_reset reports ECONNRESET in every state but SYN-SENT and
                        //~ CLOSE-WAIT (FreeBSD's tcp_drop likewise).
                        self.fail(ctx, ConnectionError::Reset);
                    } else {
                        self.finish(ctx);
                    }
                    Outcome::Continue
                }
                _ => {
                    //= rfc9293#3.10.7.4
                    //~ paraphrase: ESTABLISHED, FIN-WAIT-1/2, CLOSE-WAIT: "reset" to the user,
                    //~ CLOSED.
                    self.fail(ctx, ConnectionError::Reset);
                    Outcome::Continue
                }
            };
        }

        //= rfc9293#3.10.7.4
        //~ paraphrase: Fourth, the SYN bit.
        if syn {
            if let Tcb::Open { kind: OpenKind::SynReceived(Origin::Passive(_)), .. } = self.tcb {
                //= rfc9293#3.10.7.4
                //~ paraphrase: SYN-RECEIVED from a passive OPEN: return to LISTEN.
                self.goto(ctx, State::Closed);
                return Outcome::Continue;
            }
            if !self.cfg.rfc5961_syn {
                //~ paraphrase (RFC 793 3.9, without RFC 5961): a SYN in the window is an
                //~ error: send a reset, tell the user "connection reset", enter CLOSED.
                self.abort_with(ctx, ConnectionError::Reset);
                return Outcome::Continue;
            }
            //= rfc5961#4.2
            //~ paraphrase: A SYN in a synchronized state draws a challenge ACK and is dropped.
            self.challenge_ack(ctx);
            return Outcome::Continue;
        }

        //= rfc9293#3.10.7.4
        //~ paraphrase: Fifth, the ACK field: without ACK the segment is dropped.
        if !f.ack() {
            return Outcome::Continue;
        }
        let ack = seg.ack;
        let mut outcome = Outcome::Continue;
        if state == State::SynReceived {
            if !(ack.gt(snd.una) && ack.le(snd.max_nxt)) {
                //= rfc9293#3.10.7.4
                //~ paraphrase: SYN-RECEIVED with an unacceptable ACK: <SEQ=SEG.ACK><CTL=RST>.
                ctx.ctl.push(
                    CtlSegment::rst(self.tuple, ack)
                        .via(self.cfg.udp_encapsulation)
                        .with_ip(self.cfg.ip),
                );
                return Outcome::Continue;
            }
            //= rfc9293#3.10.7.4
            //~ paraphrase: SYN-RECEIVED with an acceptable ACK: ESTABLISHED; the window comes from
            //~ this segment (SND.WND = SEG.WND, SND.WL1 = SEG.SEQ, SND.WL2 = SEG.ACK).
            let mut syn_text = 0;
            match self.tcb {
                Tcb::Open { kind: OpenKind::SynReceived(Origin::Passive(l)), .. } => {
                    outcome = Outcome::Accepted(l);
                }
                Tcb::Open {
                    kind: OpenKind::SynReceived(Origin::Active { syn_text: n }), ..
                } => {
                    syn_text = n;
                }
                _ => {}
            }
            self.accecn_on_third_ack(seg);
            let Some((snd, _)) = self.tcb.halves() else { return outcome };
            snd.wnd = (seg.window as u32) << self.opt.snd_wscale;
            snd.max_wnd = snd.max_wnd.max(snd.wnd);
            snd.wl1 = seg.seq;
            snd.wl2 = ack;
            self.goto(ctx, State::Established);
            if syn_text > 0
                && let Some((_, rcv)) = self.tcb.halves()
            {
                //= rfc9293#3.10.7.3
                //~ paraphrase: The text queued from the SYN in SYN-SENT is processed now that
                //~ the connection is ESTABLISHED, ahead of this segment's own.
                let at = rcv.asm.rcv_nxt();
                self.take_placed(ctx, at, usize::from(syn_text));
            }
            //~ linux: the SYN-ACK counts as one segment delivered (`tcpi_delivered`).
            self.rec.rate.on_syn_acked();
        } else if ack.gt(snd.max_nxt) || ack.lt(snd.una - snd.max_wnd.min(i32::MAX as u32)) {
            //= rfc5961#5.2
            //~ paraphrase: Acceptable ACKs lie in SND.UNA - MAX.SND.WND =< SEG.ACK =< SND.NXT;
            //~ others are answered with an ACK and dropped (RFC 9293 MAY-12).
            self.challenge_ack(ctx);
            return Outcome::Continue;
        }
        let snd_wscale = self.opt.snd_wscale;
        let Some((snd, _)) = self.tcb.halves() else { return outcome };
        let una_before = snd.una;
        let snd_max = snd.max_nxt;
        let mut acked = 0;
        let mut rtt = None;
        let rtx_deadline_before = self.t.get(Timer::Rtx);
        if ack.gt(snd.una) {
            //= rfc9293#3.10.7.4
            //~ paraphrase: SND.UNA < SEG.ACK =< SND.NXT: SND.UNA = SEG.ACK; acknowledged data
            //~ leaves the retransmission queue.
            acked = snd.on_ack_advance(ack);
            self.stats.bytes_acked += acked as u64;
            rtt = self.take_rtt_sample(now, ack, seg);
            self.after_ack_advance(ctx);
        }
        let una = self.tcb.snd().map(|s| s.una).unwrap_or(ack);
        if let Some(ecn) = &mut self.ecn
            && f.contains(TcpFlags::ECE)
            && !f.syn()
        {
            //= rfc3168#6.1.2
            //~ paraphrase: ECE: reduce the window as for a loss, at most once per window of data,
            //~ and send CWR on the next new data.
            if ecn.recover.is_none_or(|r| una.ge(r)) && !self.rec.in_recovery() {
                self.rec.on_ecn_echo(now, snd_max.since(una_before), snd_max);
                ecn.recover = Some(snd_max);
                ecn.cwr_pending = true;
            }
        }
        // Congestion control and loss recovery see every acceptable ACK, duplicates included.
        let sack: &[synack_wire::tcp::SackBlock] =
            if self.opt.sack { seg.options.sack.as_slice() } else { &[] };
        // AccECN reads its CE count against the data this ACK delivered (RFC 6937's
        // DeliveredData: the change of SND.UNA plus the change of SACKed bytes).
        let sacked_before = if self.accecn.is_some() { self.rec.sb.sacked_bytes() } else { 0 };
        // An ACK runs the retransmission queue again, after a refused retransmission too.
        self.refused &= !super::tx_fail::Refused::RETRANSMIT;
        let window = (seg.window as u32) << snd_wscale;
        let nothing = NothingAcked {
            una_before,
            ack,
            snd_max,
            bytes_acked: acked,
            sack_blocks: !sack.is_empty(),
            window,
        };
        // A pure receiver's ACK of nothing new is answered before the rest of the record
        // (the MSS, the RTT figures) is gathered for the general path.
        if !self.rec.ack_of_nothing(&nothing) {
            let smss = self.eff_snd_mss();
            self.rec.on_ack_with_news(&AckInfo {
                now,
                una_before,
                ack,
                snd_max,
                window,
                payload_len: seg.payload.len() as u32,
                syn_or_fin: f.syn() || f.fin(),
                sack,
                bytes_acked: acked,
                rtt,
                srtt: self.rtt.srtt(),
                min_rtt: self.rtt.min_rtt(),
                ece: self.ecn.is_some() && f.contains(TcpFlags::ECE),
                smss,
                sack_growth_above: self.cfg.sack_growth_above_reordering,
            });
        }
        if acked > 0 {
            self.mtu_probe_on_ack(una);
        }
        if self.rec.hold_timer && rtx_deadline_before.is_some() {
            self.t.set(Timer::Rtx, rtx_deadline_before);
        }
        if state != State::SynReceived && self.accecn.is_some() {
            let sacked = i64::from(self.rec.sb.sacked_bytes()) - i64::from(sacked_before);
            let delivered = (i64::from(acked) + sacked).clamp(0, i64::from(u32::MAX)) as u32;
            self.accecn_on_ack(now, seg, una_before, snd_max, ts_progress, delivered);
        }
        let Some((snd, _)) = self.tcb.halves() else { return outcome };
        //= rfc9293#3.10.7.4
        //~ paraphrase: Window update only from a newer segment: SND.WL1 < SEG.SEQ, or SND.WL1 =
        //~ SEG.SEQ and SND.WL2 =< SEG.ACK (C6).
        if ack.ge(una_before) && (snd.wl1.lt(seg.seq) || (snd.wl1 == seg.seq && snd.wl2.le(ack))) {
            //= rfc9293#3.1
            //~ paraphrase: The window is unsigned (MUST-1) and kept in 32 bits (REC-1).
            snd.wnd = (seg.window as u32) << snd_wscale;
            snd.max_wnd = snd.max_wnd.max(snd.wnd);
            snd.wl1 = seg.seq;
            snd.wl2 = ack;
            if snd.wnd > 0 {
                self.t.set(Timer::Persist, None);
            }
        }
        let fin_acked = snd.fin_acked();
        match self.state() {
            //= rfc9293#3.10.7.4
            //~ paraphrase: FIN-WAIT-1: once our FIN is acknowledged, FIN-WAIT-2.
            State::FinWait1 if fin_acked => self.goto(ctx, State::FinWait2),
            //= rfc9293#3.10.7.4
            //~ paraphrase: CLOSING: once our FIN is acknowledged, TIME-WAIT.
            State::Closing if fin_acked => {
                self.goto(ctx, State::TimeWait);
                return outcome;
            }
            //= rfc9293#3.10.7.4
            //~ paraphrase: LAST-ACK: once our FIN is acknowledged, delete the TCB and enter CLOSED.
            State::LastAck if fin_acked => {
                self.finish(ctx);
                return Outcome::Continue;
            }
            // A FIN the application asked for while in SYN-RECEIVED goes out now.
            State::Established if self.tcb.snd().is_some_and(|s| s.fin_queued) => {
                self.goto(ctx, State::FinWait1);
            }
            _ => {}
        }
        self.process_text_and_fin(ctx, seg, seq, payload, fin, outcome)
    }

    /// The lowest ISN a new incarnation may use when `seg`, a SYN, reopens this TIME-WAIT
    /// connection; `None` when it does not (not TIME-WAIT, not a bare SYN, or an old duplicate).
    pub(crate) fn reopen_iss(&self, seg: &TcpRepr<'_>) -> Option<SeqNum> {
        let Tcb::TimeWait(tw) = &self.tcb else { return None };
        if !seg.flags.syn() || seg.flags.ack() || seg.flags.rst() {
            return None;
        }
        //= rfc6191#2
        //~ paraphrase: With timestamps, a SYN whose TSval is above TS.Recent may reopen the
        //~ connection; without them, a SYN above RCV.NXT may (RFC 9293 MAY-2, RFC 1122
        //~ 4.2.2.13). The new incarnation's ISN is above the old connection's SND.NXT.
        let reopen = match (tw.ts_recent, seg.options.timestamps) {
            (Some(recent), Some(ts)) => (ts.tsval.wrapping_sub(recent) as i32) > 0,
            (Some(_), None) => seg.seq.gt(tw.rcv_nxt),
            (None, _) => seg.seq.gt(tw.rcv_nxt),
        };
        reopen.then_some(tw.snd_nxt + 1)
    }

    fn on_time_wait(&mut self, ctx: &mut Ctx<'_>, seg: &TcpRepr<'_>) -> Outcome {
        let Tcb::TimeWait(tw) = &mut self.tcb else { return Outcome::Continue };
        let f = seg.flags;
        if f.rst() {
            //= rfc9293#3.10.7.4
            //~ paraphrase: TIME-WAIT: a RST (exactly at RCV.NXT, RFC 5961) enters CLOSED.
            //~ paraphrase (RFC 1337 3): ignoring RSTs in TIME-WAIT keeps an old RST from
            //~ cutting TIME-WAIT short (`time_wait_ignores_rst`).
            if seg.seq == tw.rcv_nxt && !self.cfg.time_wait_ignores_rst {
                self.finish(ctx);
                return Outcome::Continue;
            }
            return Outcome::Continue;
        }
        if f.syn() && !f.ack() {
            if let Some(min_iss) = self.reopen_iss(seg) {
                return Outcome::Reopen { min_iss };
            }
            if self.cfg.time_wait_drops_old_syn {
                //~ freebsd: tcp_twcheck drops a segment without ACK once it is not a new SYN.
                return Outcome::Continue;
            }
            // An old duplicate SYN: re-ACK (rate limited like any challenge ACK).
            self.challenge_ack(ctx);
            return Outcome::Continue;
        }
        if f.syn() {
            self.challenge_ack(ctx);
            return Outcome::Continue;
        }
        if !f.ack() {
            //= rfc9293#3.10.7.4
            //# fifth, check the ACK field:
            //#
            //# -  if the ACK bit is off, drop the segment and return
            return Outcome::Continue;
        }
        if f.fin() && seg.seq + seg.payload.len() as u32 + 1 == tw.rcv_nxt {
            //= rfc9293#3.10.7.4
            //~ paraphrase: TIME-WAIT: a retransmitted FIN is acknowledged and the 2 MSL timeout
            //~ restarted.
            tw.expiry = ctx.now + ctx.msl * 2;
            self.t.set(Timer::Close, Some(tw.expiry));
            self.due.set(Due::Ack);
            return Outcome::Continue;
        }
        let duplicate_ack = f == TcpFlags::ACK
            && seg.payload.is_empty()
            && seg.seq == tw.rcv_nxt
            && seg.ack == tw.snd_nxt;
        if self.cfg.time_wait_acks_non_duplicates && !duplicate_ack {
            //~ freebsd: tcp_twcheck answers anything but an exact duplicate ACK with an ACK.
            self.due.set(Due::Ack);
            return Outcome::Continue;
        }
        let in_window = if tw.wnd == 0 {
            seg.seq == tw.rcv_nxt
        } else {
            seg.seq.in_range(tw.rcv_nxt, tw.rcv_nxt + tw.wnd)
        };
        if seg.seq_len() > 0 || !in_window {
            //= rfc9293#3.10.7.4
            //~ paraphrase: Anything else occupying sequence space, and a segment outside the
            //~ window, is unacceptable: ACK and drop.
            self.due.set(Due::Ack);
        }
        Outcome::Continue
    }
}
