//! What a connection sends and when: SYN / SYN-ACK, data and FIN (Nagle, sender SWS avoidance,
//! window), pure ACKs (delayed-ACK policy), probes. (Its timers are in `timers.rs`.)

use super::{Conn, Due, HsFlags, Tcb, Timer};
use crate::config::PushPolicy;
use crate::emit::{Header, options_len};
use crate::gso::{PacketInputs, packet_len};
use crate::scoreboard::NextSeg;
use crate::state::State;
use crate::time::Instant;
use synack_wire::tcp::{SackBlocks, TcpFlags, TcpOptions, Timestamps};
use synack_wire::{SeqNum, checksum};

/// A segment a connection wants sent: its header, and how many payload bytes it placed in the
/// buffer right after where the header goes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Segment {
    pub(crate) header: Header,
    pub(crate) payload_len: usize,
    pub(crate) retransmission: bool,
    /// IP ECN codepoint to send with.
    pub(crate) ecn: u8,
}

impl Conn {
    fn header(&self, seq: SeqNum, ack: SeqNum, flags: TcpFlags, window: u16) -> Header {
        let options = TcpOptions { md5: self.md5_slot(), ..TcpOptions::default() };
        Header {
            src_port: self.tuple.local.port(),
            dst_port: self.tuple.remote.port(),
            seq: seq.0,
            ack: if flags.ack() { ack.0 } else { 0 },
            flags,
            window,
            urgent: 0,
            options,
            layout: self.cfg.option_layout,
            payload_sum: 0,
        }
    }

    //= rfc2385#2.0
    //~ paraphrase: Every segment of a connection with a key carries the signature option.
    /// The MD5 option's place (filled when the segment is written), on a connection with a
    /// key.
    fn md5_slot(&self) -> Option<[u8; 16]> {
        self.opt.md5.then_some([0; 16])
    }

    fn ts_option(&self, now: Instant, tsecr: u32) -> Option<Timestamps> {
        Some(Timestamps { tsval: self.ts_now(now), tsecr })
    }

    /// The next segment this connection wants to send, its payload copied into
    /// `buf[header_len..]`, into `out` (the caller's record, written in place rather than
    /// returned and moved); `None` there when it has nothing to send now.
    pub(crate) fn poll_segment(&mut self, now: Instant, buf: &mut [u8], out: &mut Option<Segment>) {
        let dsack = self.accecn.is_some()
            && self.tcb.halves().is_some_and(|(_, rcv)| rcv.sacks.has_pending_dsack());
        *out = self.build_segment(now, buf);
        let Some(seg) = out.as_mut() else { return };
        if seg.payload_len > 0 {
            self.note_data_sent(now);
            if let Some(stamps) = self.marks.as_mut().and_then(|m| m.stamps.as_mut()) {
                let first = SeqNum(seg.header.seq) + u32::from(seg.header.flags.syn());
                stamps.on_transmit(now, first, seg.payload_len as u32);
            }
        }
        if self.accecn.is_some() {
            self.accecn_on_send(now, seg, dsack);
        }
        self.stats.segs_out += 1;
        if seg.retransmission {
            self.stats.retransmits += 1;
        }
    }

    fn build_segment(&mut self, now: Instant, buf: &mut [u8]) -> Option<Segment> {
        match &mut self.tcb {
            Tcb::Closed => None,
            Tcb::SynSent { snd, fo } => {
                if snd.nxt != snd.iss {
                    return None;
                }
                let retransmission = snd.max_nxt != snd.iss;
                //= rfc7413#4.2.1
                //~ paraphrase: The first SYN carries the cookie (or a cookie request) and as much
                //~ queued data as fits; a retransmitted SYN carries neither (Linux, FreeBSD: the
                //~ data may be what the path drops).
                let mut fast_open = None;
                let mut data = 0u32;
                if let Some(f) = fo.as_deref_mut() {
                    if retransmission {
                        f.retransmitted = true;
                    } else {
                        fast_open = f.cookie;
                        data = f.room.min(snd.buf.len() as u32);
                    }
                }
                let iss = snd.iss;
                let options = self.syn_options(now, fast_open);
                let hlen = 20 + crate::emit::options_len(&options, self.cfg.option_layout);
                let data = data.min(buf.len().saturating_sub(hlen) as u32);
                let Tcb::SynSent { snd, fo } = &mut self.tcb else { return None };
                if let Some(f) = fo.as_deref_mut()
                    && !retransmission
                {
                    f.sent = data;
                }
                snd.nxt = snd.iss + 1 + data;
                snd.max_nxt = snd.max_nxt.max(snd.nxt);
                if data > 0
                    && matches!(self.cfg.push_policy, PushPolicy::LinuxGso { .. })
                    && let Some(marks) = self.marks.as_mut()
                {
                    //~ linux: tcp_send_syn_data keeps the SYN's data as a buffer of its own,
                    //~ marked PSH, in the retransmission queue: if the SYN-ACK leaves it
                    //~ unacknowledged it goes again as one segment with PSH, and no later
                    //~ segment joins it.
                    let end = snd.iss + 1 + data;
                    if let Some(push) = marks.push.as_mut() {
                        push.insert(end);
                    }
                    marks.records.push(end);
                }
                let (a, b) = snd.buf.slices_at(0, data as usize);
                let payload_sum = copy_payload(&mut buf[hlen..], a, b, self.sum_tx);
                self.stats.bytes_sent += data as u64;
                if !self.t.is_armed(Timer::Rtx) {
                    self.t.set(Timer::Rtx, Some(now + self.rtt.rto()));
                }
                self.time_syn(iss, retransmission, now);
                //= rfc9293#3.7.1
                //~ paraphrase: Our SYN carries MSS (SHLD-5), and window scale, SACK-permitted and
                //~ timestamps when configured. The SYN's window is not scaled.
                let syn_flags = TcpFlags::SYN | self.syn_ecn_flags();
                let space = initial_window(self.initial_space(), self.our_mss(), &self.cfg);
                let mut h = self.header(iss, SeqNum(0), syn_flags, space.min(65535) as u16);
                h.options = options;
                h.payload_sum = payload_sum;
                Some(Segment { header: h, payload_len: data as usize, retransmission, ecn: 0 })
            }
            Tcb::TimeWait(tw) => {
                if !self.due.has(Due::Ack) {
                    return None;
                }
                self.due.clear(Due::Ack);
                self.due.clear(Due::ChallengeAck);
                let (seq, ack, win, recent) = (tw.snd_nxt, tw.rcv_nxt, tw.window, tw.ts_recent);
                let mut h = self.header(seq, ack, TcpFlags::ACK, win);
                if let Some(r) = recent {
                    h.options.timestamps = self.ts_option(now, r);
                }
                Some(Segment { header: h, payload_len: 0, retransmission: false, ecn: 0 })
            }
            _ => self.build_synchronized(now, buf),
        }
    }

    /// The options of our SYN, with the Fast Open cookie option `fast_open` if any.
    fn syn_options(
        &self,
        now: Instant,
        fast_open: Option<synack_wire::tcp::FastOpenCookie>,
    ) -> TcpOptions {
        let md5 = self.md5_slot();
        if self.cfg.no_options {
            return TcpOptions { md5, ..TcpOptions::default() };
        }
        if !self.syn_full_options() {
            return TcpOptions { mss: Some(self.our_mss()), md5, ..TcpOptions::default() };
        }
        TcpOptions {
            mss: Some(self.our_mss()),
            window_scale: self.cfg.window_scaling.then(|| self.our_wscale()),
            sack_permitted: self.cfg.sack,
            timestamps: if self.cfg.timestamps { self.ts_option(now, 0) } else { None },
            // No room for a cookie beside the signature and the other options.
            fast_open: if md5.is_some() { None } else { fast_open },
            md5,
            ..TcpOptions::default()
        }
    }

    /// Whether our SYN (its transmission number `rtx_count`) still carries the options beyond
    /// the MSS (`ConnConfig::syn_options_retries`).
    pub(crate) fn syn_full_options(&self) -> bool {
        self.cfg.syn_options_retries.is_none_or(|n| self.rtx_count <= n)
    }

    fn build_synchronized(&mut self, now: Instant, buf: &mut [u8]) -> Option<Segment> {
        let state = self.state();
        let mss = self.eff_snd_mss();
        let opt = self.opt;
        let nodelay = self.cfg.nodelay;
        let ws_offered = self.hs.has(super::HsFlags::WS_OFFERED);
        // Read where needed: the SYN-ACK and the first receive-MSS estimate (the RTO and the
        // initial window are the SYN-ACK's alone); most polls need neither.
        let our_mss =
            || super::offered_mss(self.rec.adv_mtu, self.tuple.local.is_ipv4(), &self.cfg);
        let ts_val = self.ts_now(now);
        let force = self.due.has(Due::Override);
        let window_policy = self.cfg.receive_window;
        let model = super::rcv_mem::linux_model(&self.cfg);
        let (snd, rcv) = self.tcb.halves()?;
        let hold_initial =
            rcv.initial_window_held(self.cfg.initial_window_whole_segments, &self.stats);
        let rcv_mss = match rcv.mss_estimate {
            0 => u32::from(super::rcv_mss::initial(our_mss(), mss, rcv.wnd())),
            m => u32::from(m),
        };
        if rcv.select_linux_window(model, rcv_mss) {
        } else if !hold_initial {
            rcv.update_window(mss, window_policy);
        } else if rcv.wscale > 0 {
            //~ linux: __tcp_select_window rounds the offer up to the scale's granularity so
            //~ that it is not scaled away: the initial 65535 goes out as 256 << 8.
            let grain = 1u32 << rcv.wscale;
            let wnd = rcv.wnd();
            rcv.adv_right = rcv.nxt + wnd.div_ceil(grain) * grain;
        }
        let tsecr = rcv.ts_recent.map(|(v, _)| v).unwrap_or(0);
        let ts = opt.ts.then_some(Timestamps { tsval: ts_val, tsecr });

        if state == State::SynReceived && snd.nxt == snd.iss {
            //= rfc9293#3.10.7.2
            //~ paraphrase: <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>, with the options the peer offered.
            let our_mss = our_mss();
            let retransmission = snd.max_nxt != snd.iss;
            snd.nxt = snd.iss + 1;
            snd.max_nxt = snd.max_nxt.max(snd.nxt);
            let space = match model {
                Some((rcvbuf, _)) => super::rcv_mem::initial_space(rcvbuf),
                None => rcv.buf.free(),
            };
            let full = initial_window(space, our_mss, &self.cfg);
            rcv.start_mem(model, full as u32);
            let win = full.min(65535) as u16;
            rcv.adv_right = rcv.nxt + win as u32;
            rcv.last_ack_sent = rcv.nxt;
            let (iss, rnxt) = (snd.iss, rcv.nxt);
            if !self.t.is_armed(Timer::Rtx) {
                self.t.set(Timer::Rtx, Some(now + self.rtt.rto()));
            }
            self.time_syn(iss, retransmission, now);
            let mut fl = TcpFlags::SYN | TcpFlags::ACK;
            if self.ecn.is_some() {
                //= rfc3168#6.1.1
                //~ paraphrase: An ECN-setup SYN-ACK carries ECE (not CWR).
                fl |= TcpFlags::ECE;
            }
            let mut o = TcpOptions {
                mss: (!self.cfg.no_options).then_some(our_mss),
                window_scale: ws_offered.then_some(opt.rcv_wscale),
                sack_permitted: opt.sack,
                timestamps: ts,
                md5: self.md5_slot(),
                ..TcpOptions::default()
            };
            self.accecn_synack(&mut fl, &mut o, retransmission);
            let mut h = self.header(iss, rnxt, fl, win);
            h.options = o;
            self.due.clear(Due::Ack);
            return Some(Segment { header: h, payload_len: 0, retransmission, ecn: 0 });
        }

        //= rfc7413#4.2.2
        //~ paraphrase: A server that accepted the SYN's data may send data before the handshake
        //~ completes, once its SYN-ACK is out.
        let fo_child_ready = state == State::SynReceived
            && self.hs.has(super::HsFlags::FO_CHILD)
            && snd.nxt != snd.iss;
        let can_send_data = (snd.syn_acked() || fo_child_ready)
            && matches!(
                state,
                State::Established
                    | State::SynReceived
                    | State::FinWait1
                    | State::CloseWait
                    | State::Closing
                    | State::LastAck
            );
        if can_send_data && let Some(seg) = self.build_data(now, buf, mss, nodelay, force, ts) {
            return Some(seg);
        }

        let (snd, rcv) = self.tcb.halves()?;
        if self.due.take(Due::Probe) {
            //= rfc9293#3.8.4
            //~ paraphrase: Keep-alive (and zero-window) probes carry no data and SEG.SEQ = SND.NXT
            //~ - 1, so the peer must answer with an ACK (SHLD-12).
            let seq = snd.una - 1;
            let (rnxt, win) = (rcv.nxt, rcv.window_field());
            rcv.last_ack_sent = rnxt;
            let mut h = self.header(seq, rnxt, TcpFlags::ACK, win);
            h.options.timestamps = ts;
            return Some(Segment { header: h, payload_len: 0, retransmission: false, ecn: 0 });
        }
        if self.due.has(Due::Ack) {
            //~ paraphrase (RFC 9293 3.10.7.4): an ACK carries <SEQ=SND.NXT>, where SND.NXT
            //~ is the next new sequence number. A retransmission timeout rewinds `nxt` to
            //~ resend from SND.UNA (go-back-N), so the ACK takes the highest sequence number
            //~ sent instead, as Linux does (it never moves snd_nxt back): an ACK stamped with a
            //~ rewound `nxt` would sit below the peer's RCV.NXT, fail its acceptability test and
            //~ be dropped unread, and two ends that both timed out would never see each
            //~ other's acknowledgments.
            let (mut seq, rnxt, win) = (snd.max_nxt, rcv.nxt, rcv.window_field());
            rcv.last_ack_sent = rnxt;
            let mut ack_flags = if self.ecn.is_some_and(|e| e.echo) {
                //= rfc3168#6.1.3
                //~ paraphrase: ECE on every ACK until the peer's CWR arrives.
                TcpFlags::ACK | TcpFlags::ECE
            } else {
                TcpFlags::ACK
            };
            let fin_in_flight =
                snd.fin_queued && snd.max_nxt == snd.final_seq() && !snd.fin_acked();
            if self.cfg.ack_repeats_fin && fin_in_flight && !self.due.has(Due::ChallengeAck) {
                //~ freebsd: tcp_output sends the FIN flag in FIN-WAIT-1, CLOSING and LAST-ACK
                //~ once all data is out, stepping snd_nxt back onto the FIN already sent;
                //~ challenge ACKs go out through tcp_respond, bare.
                seq = snd.end_seq();
                ack_flags |= TcpFlags::FIN;
            }
            let mut h = self.header(seq, rnxt, ack_flags, win);
            h.options.timestamps = ts;
            if opt.sack {
                h.options.sack = self.sack_blocks();
            }
            if self.accecn.is_some() {
                self.accecn_add_option(now, &mut h.options);
            }
            self.ack_sent();
            return Some(Segment { header: h, payload_len: 0, retransmission: false, ecn: 0 });
        }
        None
    }

    /// SACK blocks for an ACK (RFC 2018 section 4): the block holding the most recent segment
    /// first, then the others; as many as fit beside timestamps.
    fn sack_blocks(&mut self) -> SackBlocks {
        let max = crate::sack_gen::max_sack_blocks_beside(self.opt.ts, self.opt.md5);
        let Some((_, rcv)) = self.tcb.halves() else { return SackBlocks::new() };
        rcv.sacks.blocks(&rcv.asm, max)
    }

    //= rfc6298#2
    //~ paraphrase: The SYN (or SYN-ACK) is timed like data: its ACK gives the first RTT sample,
    //~ which seeds SRTT and RTTVAR; a retransmitted SYN gives none (Karn).
    fn time_syn(&mut self, iss: SeqNum, retransmission: bool, now: Instant) {
        if retransmission {
            self.sampler.on_retransmit();
        } else {
            self.sampler.on_send(iss + 1, now);
        }
    }

    /// Data leaving within a delayed-ACK time of the last arrival answers it: the connection
    /// is interactive (`tcp_event_data_sent`).
    fn note_data_sent(&mut self, now: Instant) {
        let ato = self.cfg.delayed_ack.as_millis() as u32;
        let ms = super::wrapping_ms(now).get();
        if self.last_data_rx.is_some_and(|at| ms.wrapping_sub(at.get()) < ato) {
            self.hs.set(super::HsFlags::INTERACTIVE, true);
        }
    }

    fn ack_sent(&mut self) {
        self.due.clear(Due::Ack);
        self.due.clear(Due::ChallengeAck);
        self.unacked_segs = 0;
        self.t.set(Timer::DelayedAck, None);
    }

    /// True when [`Conn::build_data`] would find nothing to send and change nothing on the
    /// way: no retransmission asked for, no tail loss probe due, no go-back-N, a fresh
    /// per-flight state (nothing judged lost, no recovery, no application-limited mark to
    /// set), and no data or FIN waiting from SND.NXT. Most polls of an idle or pure-ACK
    /// connection end here instead of working out the window first.
    fn nothing_to_send(&self) -> bool {
        let Some(snd) = self.tcb.snd() else { return true };
        self.rec.rtx.is_none()
            && !self.due.has(Due::TailLossProbe)
            && self.rec.flight_fresh()
            && !snd.nxt.lt(snd.max_nxt)
            && snd.buf.len() as u32 <= snd.nxt.since(snd.buf_seq)
            && !(snd.fin_queued && snd.nxt.le(snd.end_seq()))
    }

    fn build_data(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        mss: u32,
        nodelay: bool,
        force: bool,
        ts: Option<Timestamps>,
    ) -> Option<Segment> {
        if self.accecn.is_none() && self.nothing_to_send() {
            return None;
        }
        let mut opts = TcpOptions { timestamps: ts, md5: self.md5_slot(), ..TcpOptions::default() };
        //~ linux: the AccECN option on data takes its room from the segment's payload.
        let mss = match self.accecn.is_some() {
            true => mss.saturating_sub(self.accecn_data_option(now, &mut opts)),
            false => mss,
        };
        let hlen = 20 + options_len(&opts, self.cfg.option_layout);
        let mss = mss.min(buf.len().saturating_sub(hlen) as u32);
        if mss == 0 {
            return None;
        }
        if self.pacing_holds(now) {
            // The `Pace` timer brings the connection back when the next segment may leave.
            return None;
        }
        // A path MTU probe in flight is judged by its own timeout, never by a tail loss probe.
        if self.due.take(Due::TailLossProbe)
            && !self.mtu_probe_outstanding()
            && let Some(seg) = self.tail_loss_probe(now, buf, hlen, &opts, mss)
        {
            return Some(seg);
        }
        // 1. A retransmission loss recovery asked for (fast retransmit, partial ACK).
        if let Some((seq, len)) = self.rec.rtx {
            let snd = self.tcb.snd()?;
            if seq.ge(snd.una) && seq.lt(snd.max_nxt) {
                // A retransmission carries only what was sent: NewReno asks for an SMSS from
                // SND.UNA, which can reach past HighData when the segments sent were shorter
                // (a small peer window). Bytes past it would be new data that SND.MAX does not
                // cover, and the peer's ACK of them would look like an ACK of unsent data.
                let len = len.min(mss).min(snd.max_nxt.since(seq));
                //= rfc6937#3.1
                //~ paraphrase: With PRR, a retransmission waits for its share like any other
                //~ segment (the first one of a recovery always has it).
                if self.rec.prr_holds(snd.una, snd.max_nxt, len, mss) {
                    return None;
                }
                let room = self.rec.allowance(self.rec.flight(snd.una, snd.max_nxt), mss);
                return self.emit_retransmission(now, buf, hlen, &opts, (seq, len), mss, room);
            }
            self.rec.rtx = None;
        }
        let snd = self.tcb.snd()?;
        let (una, max_nxt) = (snd.una, snd.max_nxt);
        let mut nxt = snd.nxt;
        let go_back = nxt.lt(max_nxt);
        if go_back {
            // After an RTO we resend from SND.UNA, skipping what the peer SACKed.
            for _ in 0..64 {
                match self.rec.sacked_ranges().find(|(s, e)| nxt.ge(*s) && nxt.lt(*e)) {
                    Some((_, e)) => nxt = e.min(max_nxt),
                    None => break,
                }
            }
        }
        //= rfc5681#3.1
        //~ paraphrase: Congestion control: bytes in flight may not exceed cwnd (RFC 6675 uses
        //~ `pipe`).
        let flight = if go_back { nxt.since(una) } else { self.rec.flight(una, max_nxt) };
        let cc_room = self.rec.allowance(flight, mss);
        let end = snd.end_seq();
        //= rfc7413#4.2.2
        //~ paraphrase: A Fast Open child sends before its SYN-ACK is acknowledged; the window
        //~ the peer's SYN offered is room for the data after our SYN, so it counts from the
        //~ first data byte, not from the SYN-ACK still in flight (Linux: tcp_create_openreq_child
        //~ starts snd_una past the SYN-ACK).
        let right = if una == snd.iss { una + 1 + snd.wnd } else { una + snd.wnd };
        let can_send_new = !go_back && end.gt(max_nxt) && right.gt(max_nxt);
        // 2. What RACK judged lost (this also repairs lost retransmissions), then SACK-based
        //    recovery (RFC 6675 NextSeg) while cwnd - pipe >= SMSS.
        let rtx_refused = self.refused & super::tx_fail::Refused::RETRANSMIT != 0;
        if !go_back
            && !rtx_refused
            && let Some((seq, len)) = self.rec.rack_lost(una, mss)
            && cc_room >= len
        {
            return self.emit_retransmission(now, buf, hlen, &opts, (seq, len), mss, cc_room);
        }
        if !go_back && !rtx_refused && cc_room >= mss {
            match self.rec.next_seg(can_send_new) {
                Some(NextSeg::Retransmit { seq, len }) => {
                    let range = (seq, len.min(mss));
                    return self.emit_retransmission(now, buf, hlen, &opts, range, mss, cc_room);
                }
                Some(NextSeg::Rescue { seq, len }) => {
                    self.rec.on_rescue();
                    let range = (seq, len.min(mss));
                    return self.emit_retransmission(now, buf, hlen, &opts, range, mss, cc_room);
                }
                _ => {}
            }
        }
        // In RFC 4821's style new data waits while a path MTU probe is in flight, so the
        // probe's loss is never mixed with congestion (see `mtu_probe`).
        if !go_back && self.mtu_probe_holds_new_data() {
            return None;
        }
        // New data the device refused waits for the retry timer (see `tx_fail`): offering
        // it again at once would only be refused again.
        if !go_back && !force && self.refused & super::tx_fail::Refused::NOW != 0 {
            return None;
        }
        // 3. From SND.NXT: new data (or go-back-N after an RTO) and the FIN. A paced sender
        // sends one segment at a time (no super-segments: they would leave as one burst).
        let paced = self.pacing_rate().is_some();
        let (corked, push_withheld) =
            (self.hs.has(HsFlags::CORKED), self.hs.has(HsFlags::PUSH_WITHHELD));
        let snd = self.tcb.snd_mut()?;
        snd.nxt = nxt;
        let offset = nxt.since(snd.buf_seq);
        let avail = (snd.buf.len() as u32).saturating_sub(offset);
        //= rfc9293#3.8.6
        //~ paraphrase: Usable window SND.UNA + SND.WND - SND.NXT; when the peer shrank the window
        //~ below SND.NXT it is zero, never negative (MUST-34, SHLD-15).
        let usable = right.since(nxt);
        let open = avail.min(usable).min(mss);
        let len = self.marks.as_ref().map(|m| &m.records).map_or(open, |r| r.limit(nxt, open));
        // Cut short by a record end before the queue's end: not the queue's tail, so it goes
        // without waiting for more data (Nagle, SWS avoidance) as a full segment would.
        let record_cut = len < open;
        if !go_back {
            self.rec.check_app_limited(avail, flight, mss);
        }
        let fin_pending = snd.fin_queued && nxt.le(snd.end_seq());
        let fin = fin_pending && len == avail;
        if len == 0 && !fin {
            return None;
        }
        let retransmission = go_back;
        if len > 0 && cc_room < len && !force {
            // The congestion window is full: ACKs will open it.
            if !retransmission {
                self.rec.on_window_use(una, max_nxt, mss, true);
            }
            return None;
        }
        //~ linux: Minshall's variant (tcp_minshall_check) holds a sub-MSS segment only while
        //~ the last sub-MSS segment sent is unacknowledged, not while any data is.
        let small_unacked = self.small_end.gt(snd.una) && self.small_end.le(snd.max_nxt);
        let minshall_free = self.cfg.nagle_minshall && !small_unacked;
        let small_held = snd.data_outstanding() && !minshall_free;
        if len > 0 && !retransmission && !force {
            //= rfc9293#3.7.4
            //~ paraphrase: Nagle (SHLD-7): with data in flight, hold a sub-MSS segment unless
            //~ TCP_NODELAY. (An unacknowledged SYN-ACK is not data: a Fast Open child answers
            //~ at once.)
            let full = len == mss;
            let drains = len == avail;
            //~ linux: a cork (MSG_MORE) holds a sub-MSS segment whatever is in flight, unless
            //~ it carries the FIN (tcp_nagle_test).
            let cork_holds = corked && !snd.fin_queued;
            let nagle_ok = (nodelay || !small_held || snd.fin_queued) && !cork_holds;
            //= rfc9293#3.8.6.2.1
            //~ paraphrase: Sender SWS avoidance (MUST-38): send a full segment, all remaining data
            //~ when Nagle allows, or at least half the largest window ever offered.
            let half_window = snd.max_wnd > 0 && len >= snd.max_wnd / 2 && !cork_holds;
            if !(full || record_cut || (drains && nagle_ok) || half_window) {
                return None;
            }
        }
        let fin_queued = snd.fin_queued;
        let restart = !snd.outstanding() && self.cfg.slow_start_after_idle;
        let fits = avail.min(usable).min(cc_room).min(buf.len().saturating_sub(hlen) as u32);
        let probe = if len == mss && !retransmission && !force && !record_cut {
            self.mtu_probe_len(now, mss, hlen, fits)
        } else {
            None
        };
        // The packet Linux would send this segment in (PSH goes on its last segment).
        let gso = match self.cfg.push_policy {
            PushPolicy::LinuxGso { min_tso_segs }
                if len > 0 && !retransmission && !force && probe.is_none() =>
            {
                let tail_ok = ((nodelay || !small_held) && !corked) || fin_queued;
                Some(self.gso_packet(now, nxt, |c| {
                    packet_len(&PacketInputs {
                        mss,
                        // An idle sender's window restarts as this segment leaves.
                        cwnd: if restart {
                            c.rec.cwnd_after_idle(now, c.rtt.rto())
                        } else {
                            c.rec.effective_cwnd()
                        },
                        room: cc_room,
                        window: usable,
                        queued: c.marks.as_ref().map_or(avail, |m| m.records.limit(nxt, avail)),
                        pacing_rate: c.pacing_rate_figure(),
                        min_rtt: c.rtt.min_rtt(),
                        min_tso_segs: u32::from(min_tso_segs),
                        tail_ok,
                    })
                }))
            }
            _ => None,
        };
        let len = if let Some(probe) = probe {
            probe
        } else if len == mss
            && !retransmission
            && !force
            && u32::from(self.out_seg_max) > mss
            && !self.rec.repairing()
            && !paced
        {
            // A device that cuts segments itself takes several MSS of new data as one.
            let max = u32::from(self.out_seg_max).min(buf.len().saturating_sub(hlen) as u32);
            // The segments before the tail are in flight once sent: only Minshall's test
            // lets a tail go after them.
            let tail_ok = ((nodelay || minshall_free) && !corked) || fin_queued;
            let grouped = grouped_len(avail, usable.min(cc_room).min(max), mss, tail_ok);
            // Under LinuxGso a super-segment is Linux's packet (or the part of it left).
            let grouped = gso.map_or(grouped, |p| grouped.min(p.end.since(nxt)).max(len));
            self.marks.as_ref().map(|m| &m.records).map_or(grouped, |r| r.limit(nxt, grouped))
        } else {
            len
        };
        // Nothing since `flight` was taken changed what is in flight; after an RTO
        // (go-back-N) `flight` counts from SND.UNA to `nxt` instead, so it is taken again.
        let known_flight = (!go_back).then_some(flight);
        // Changed in place and returned as it is, so the record is not moved again.
        let mut out =
            self.emit_range(now, buf, hlen, &opts, (nxt, len), retransmission, known_flight);
        let seg = out.as_mut()?;
        if probe.is_some() {
            self.mtu_probe_sent(nxt, len, hlen);
        }
        if force && len > 0 {
            //~ linux: the persist timer's segment (tcp_write_wakeup) always carries PSH.
            seg.header.flags |= TcpFlags::PSH;
        }
        if len > 0
            && self.cfg.push_policy == PushPolicy::EndOfBurst
            && !retransmission
            && !(push_withheld && len == avail)
            && (!self.rec.repairing() || self.hs.has(HsFlags::BURST_NEW))
            && burst_ends(avail - len, usable - len, cc_room, len, mss)
        {
            //= rfc9293#3.9.1.2
            //~ linux: PSH is the sender's choice beyond MUST-61; like Linux, the last segment of a
            //~ burst (cwnd, the peer's window or the data ran out) carries it, so a receiver
            //~ delivers what it has instead of waiting for more that is not coming yet. During
            //~ loss repair only a burst of more than one new segment counts: the single
            //~ segments limited transmit and PRR clock out one per ACK continue a flow rather
            //~ than end one (Linux's multi-segment sends in recovery carry PSH, single ones not).
            seg.header.flags |= TcpFlags::PSH;
        }
        if let Some(p) = gso {
            //= rfc9293#3.9.1.2
            //~ linux: PSH on the last segment of each packet of two or more segments (forced
            //~ on GSO packets, kept on the last segment by segmentation), and on a one-segment
            //~ packet that ends a write (tcp_mark_push, moved to a split's tail).
            if self.gso_push(p, nxt, len, mss) {
                seg.header.flags |= TcpFlags::PSH;
            }
        }
        let sent_fin = seg.header.flags.fin() as u32;
        let snd = self.tcb.snd_mut()?;
        snd.nxt = nxt + len + sent_fin;
        snd.max_nxt = snd.max_nxt.max(snd.nxt);
        let max_after = snd.max_nxt;
        self.due.clear(Due::Override);
        if !retransmission && len > 0 {
            self.rec.on_window_use(una, max_after, mss, false);
            self.hs.set(HsFlags::BURST_NEW, true);
            // A path MTU probe is larger than the MSS, not a short segment.
            //~ linux: data a SYN carried and its SYN-ACK left unacknowledged is resent as a
            //~ retransmission (`tcp_rcv_fastopen_synack`), which tcp_minshall_update never
            //~ sees; here it goes as new data from ISS + 1 with its bytes already counted.
            let syn_data_resent = self.tcb.snd().is_some_and(|s| nxt == s.iss + 1)
                && self.stats.bytes_sent > u64::from(len);
            if len % mss != 0 && !force && probe.is_none() && !syn_data_resent {
                //~ linux: tcp_minshall_update records the end of a new-data segment shorter
                //~ than its whole MSS multiple.
                self.small_end = nxt + len + sent_fin;
            }
        }
        out
    }

    //= rfc8985#7.3
    //~ paraphrase: The probe: one new segment if the window allows, else the last segment sent
    //~ again; then the RTO is re-armed.
    fn tail_loss_probe(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        hlen: usize,
        opts: &TcpOptions,
        mss: u32,
    ) -> Option<Segment> {
        let snd = self.tcb.snd()?;
        if !snd.outstanding() || snd.nxt.lt(snd.max_nxt) {
            return None;
        }
        let (una, nxt, end) = (snd.una, snd.nxt, snd.end_seq());
        let right = una + snd.wnd;
        let seg = if end.gt(nxt) && right.gt(nxt) {
            let len = end.since(nxt).min(right.since(nxt)).min(mss);
            let len = self.marks.as_ref().map(|m| &m.records).map_or(len, |r| r.limit(nxt, len));
            let seg = self.emit_range(now, buf, hlen, opts, (nxt, len), false, None)?;
            let fin = seg.header.flags.fin() as u32;
            let snd = self.tcb.snd_mut()?;
            snd.nxt = nxt + len + fin;
            snd.max_nxt = snd.max_nxt.max(snd.nxt);
            self.rec.rack_mut().on_tlp_sent(nxt + len, false);
            seg
        } else {
            let top = nxt.min(end);
            //= rfc8985#7.3
            //~ paraphrase: Otherwise retransmit the highest-sequence segment sent so far: a bare
            //~ FIN when the FIN left on its own after the data, else the last MSS of data (with the
            //~ FIN if it rode along).
            // Only the FIN still unacknowledged (its data ACKed) is the same case.
            let fin_alone = nxt.gt(end)
                && (una == end || self.rec.rack_last_segment_start().is_some_and(|s| s.ge(end)));
            if fin_alone {
                let seg = self.emit_range(now, buf, hlen, opts, (end, 0), true, None)?;
                self.rec.rack_mut().on_tlp_sent(nxt, true);
                self.t.set(Timer::Rtx, Some(now + self.rtt.rto()));
                self.t.set(Timer::Tlp, None);
                return Some(seg);
            }
            if !top.gt(una) {
                return None;
            }
            let len = top.since(una).min(mss);
            let seg = self.emit_range(now, buf, hlen, opts, (top - len, len), true, None)?;
            self.rec.rack_mut().on_tlp_sent(top, true);
            seg
        };
        self.t.set(Timer::Rtx, Some(now + self.rtt.rto()));
        // One probe per tail: the timer armed before the probe left is void.
        self.t.set(Timer::Tlp, None);
        Some(seg)
    }

    /// A retransmission of `range` (start, length), `room` being what congestion control
    /// lets out now; with `PushPolicy::LinuxGso` it carries PSH where Linux's resent packet
    /// would end.
    #[allow(clippy::too_many_arguments)]
    fn emit_retransmission(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        hlen: usize,
        opts: &TcpOptions,
        (seq, len): (SeqNum, u32),
        mss: u32,
        room: u32,
    ) -> Option<Segment> {
        self.mtu_probe_on_retransmit(seq);
        let gso = matches!(self.cfg.push_policy, PushPolicy::LinuxGso { .. })
            .then(|| self.gso_rtx_packet(now, seq, mss, room));
        let mut seg = self.emit_range(now, buf, hlen, opts, (seq, len), true, None)?;
        if let Some(p) = gso
            && self.gso_push(p, seq, seg.payload_len as u32, mss)
        {
            seg.header.flags |= TcpFlags::PSH;
        }
        Some(seg)
    }

    /// Writes one data (and/or FIN) segment for `[seq, seq+len)` from the send buffer. The FIN
    /// rides along when the range ends at the end of the data and the FIN is due (a first FIN
    /// from SND.NXT, or a FIN that was sent before when retransmitting). `flight`: what is in
    /// flight (`Recovery::flight` from SND.UNA to the highest sent) when the caller has it.
    #[allow(clippy::too_many_arguments)]
    fn emit_range(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        hlen: usize,
        opts: &TcpOptions,
        (seq, len): (SeqNum, u32),
        retransmission: bool,
        flight: Option<u32>,
    ) -> Option<Segment> {
        let rto = self.rtt.rto();
        let (snd, rcv) = self.tcb.halves()?;
        let offset = seq.since(snd.buf_seq);
        let data_avail = (snd.buf.len() as u32).saturating_sub(offset);
        let len = len.min(data_avail);
        // A retransmission never spans two records either.
        let len = match &self.marks {
            Some(m) if retransmission => m.records.limit(seq, len),
            _ => len,
        };
        let end = seq + len;
        let fin = snd.fin_queued
            && end == snd.end_seq()
            && (!retransmission || snd.max_nxt.gt(snd.end_seq()) || snd.nxt.le(end));
        if len == 0 && !fin {
            return None;
        }
        let (a, b) = snd.buf.slices_at(offset as usize, len as usize);
        let payload_sum = copy_payload(&mut buf[hlen..], a, b, self.sum_tx);
        let mut flags = TcpFlags::ACK;
        //= rfc9293#3.9.1.2
        //~ paraphrase: PSH on the segment that empties the send queue (MUST-61), and with
        //~ EndOfWrite on one that carries a write's last byte (a push point).
        //~ linux: a record's last byte ends a write, whose segment tcp_push marks, and no later
        //~ data joins that segment to move the mark on.
        let record_end =
            self.marks.as_ref().map(|m| &m.records).is_some_and(|r| r.limit(seq, len + 1) == len);
        if len > 0
            && ((offset + len == snd.buf.len() as u32 && !self.hs.has(HsFlags::PUSH_WITHHELD))
                || record_end
                || (self.cfg.push_policy == PushPolicy::EndOfWrite
                    && self
                        .marks
                        .as_ref()
                        .and_then(|m| m.push.as_ref())
                        .is_some_and(|m| m.covers(seq, end))))
        {
            flags |= TcpFlags::PSH;
        }
        if fin {
            flags |= TcpFlags::FIN;
        }
        let mut urgent = 0;
        if let Some(up) = snd.up
            && up.gt(seq)
        {
            //= rfc9293#3.8.5
            //~ paraphrase: URG with SEG.SEQ + UP = SND.UP while urgent data remains (MUST-62).
            flags |= TcpFlags::URG;
            urgent = up.since(seq).min(65535) as u16;
        }
        let was_idle = !snd.outstanding();
        let (una, max_nxt) = (snd.una, snd.max_nxt);
        let (rnxt, win) = (rcv.nxt, rcv.window_field());
        rcv.last_ack_sent = rnxt;
        let in_flight = match flight {
            _ if was_idle => 0,
            Some(f) => f,
            None => self.rec.flight(una, max_nxt),
        };
        self.rec.on_tx(now, seq, end + fin as u32, in_flight);
        self.on_paced_send(now, seq, len);
        if retransmission {
            //= rfc6298#3
            //~ paraphrase: Karn: no RTT sample from a retransmitted segment.
            self.sampler.on_retransmit();
            // The FIN counts: a FIN-only retransmission must clear its lost mark too.
            self.rec.on_retransmit(now, seq, len + fin as u32);
        } else {
            if len > 0 {
                self.sampler.on_send(end, now);
            }
            let restart = was_idle && self.cfg.slow_start_after_idle;
            self.rec.on_send_new(now, seq, end + fin as u32, restart, rto);
            self.t.set(Timer::Tlp, None);
        }
        // Retries of refused data keep the time of the first retry: the user timeout counts
        // from it (see `tx_fail`), also for the retry that finally leaves.
        if was_idle && self.refused & super::tx_fail::Refused::PROBING == 0 {
            self.una_since = now;
        }
        if !self.t.is_armed(Timer::Rtx) {
            self.t.set(Timer::Rtx, Some(now + rto));
        }
        self.t.set(Timer::Persist, None);
        self.stats.bytes_sent += len as u64;
        let mut ecn = 0;
        if let Some(e) = &mut self.ecn {
            //= rfc3168#6.1.5
            //~ paraphrase: New data is sent ECT(0); retransmissions are not ECN-capable. CWR goes
            //~ on the first new data after a window reduction.
            if !retransmission && len > 0 {
                ecn = 2;
                if e.cwr_pending {
                    e.cwr_pending = false;
                    flags |= TcpFlags::CWR;
                }
            }
            if e.echo {
                flags |= TcpFlags::ECE;
            }
        }
        self.ack_sent();
        // Built in one expression, in the caller's record, rather than from `header` and
        // then moved.
        Some(Segment {
            header: Header {
                src_port: self.tuple.local.port(),
                dst_port: self.tuple.remote.port(),
                seq: seq.0,
                ack: rnxt.0,
                flags,
                window: win,
                urgent,
                options: *opts,
                layout: self.cfg.option_layout,
                payload_sum,
            },
            payload_len: len as usize,
            retransmission,
            ecn,
        })
    }
}

/// The window a SYN or SYN-ACK offers from `space` free bytes: all of it, or with
/// `ConnConfig::initial_window_whole_segments` whole multiples of the MSS we announce.
pub(super) fn initial_window(space: usize, our_mss: u16, cfg: &crate::config::ConnConfig) -> usize {
    let mss = usize::from(our_mss.max(1));
    //~ linux: tcp_select_initial_window quantizes the offer to a multiple of the MSS when
    //~ the space exceeds one MSS.
    if cfg.initial_window_whole_segments && space > mss { space / mss * mss } else { space }
}

/// Copies the two pieces of a ring range into `out` (long enough for both), and when `sum`
/// returns their partial checksum, taken during the copy (one pass over the payload; see
/// `synack_wire::checksum::copy_and_sum`); 0 otherwise (checksum offload). The second piece
/// starts at an odd offset when the first has odd length.
#[inline]
fn copy_payload(out: &mut [u8], a: &[u8], b: &[u8], sum: bool) -> u64 {
    let (out_a, rest) = out.split_at_mut(a.len());
    let out_b = &mut rest[..b.len()];
    if !sum {
        crate::ring::copy(out_a, a);
        crate::ring::copy(out_b, b);
        return 0;
    }
    // Lengths are equal by construction, so neither call can fail.
    let sa = checksum::copy_and_sum(out_a, a).unwrap_or(0);
    // The range is one piece unless it wraps the ring's end: an empty second piece adds
    // nothing, and skipping it saves the call's set-up on nearly every segment.
    if b.is_empty() {
        return sa;
    }
    let sb = checksum::copy_and_sum(out_b, b).unwrap_or(0);
    if a.len() % 2 == 1 { sa + checksum::at_odd_offset(sb) } else { sa + sb }
}

/// Payload of a super-segment (one the device cuts into MSS-sized segments) that starts with a
/// full MSS: whole MSS multiples of what is queued (`avail`) and allowed (`room`, the least of
/// the peer's window, the congestion window and the segment limit), plus the sub-MSS tail
/// when it empties the queue and Nagle would let it go on its own (`tail_ok`), so the wire
/// carries the same segments as MSS-at-a-time sending would.
fn grouped_len(avail: u32, room: u32, mss: u32, tail_ok: bool) -> u32 {
    if avail <= room && tail_ok {
        return avail;
    }
    (avail.min(room) / mss * mss).max(mss)
}

/// True when no further new-data segment can follow this one right now: after it, `left`
/// bytes remain queued, `usable` bytes of the peer's window remain, and the congestion
/// window had `cc_room` bytes of room before its `len` bytes.
fn burst_ends(left: u32, usable: u32, cc_room: u32, len: u32, mss: u32) -> bool {
    let next = left.min(usable).min(mss);
    next == 0 || cc_room.saturating_sub(len) < next
}
