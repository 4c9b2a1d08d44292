//! Segment text and FIN into the receive half: steps six to eight of RFC 9293 3.10.7.4 for a
//! synchronized connection, once `input.rs` has checked the segment and trimmed it to the
//! window; out-of-order data is held, and the ACK decided (now, delayed, or on a count).

use super::{Conn, Ctx, Due, Outcome, Timer};
use crate::assembler::Inserted;
use crate::control::CtlSegment;
use crate::error::ConnectionError;
use crate::event::Event;
use crate::state::State;
use crate::time::Duration;
use synack_wire::SeqNum;
use synack_wire::tcp::{TcpFlags, TcpRepr};

impl Conn {
    /// Steps six to eight of RFC 9293 3.10.7.4 for a segment already trimmed to the window:
    /// `seq`, `payload` and `fin` are what trimming left of the segment; its other fields
    /// (the flags besides FIN, SEG.ACK, SEG.UP) are read from `seg`, which is not copied.
    pub(super) fn process_text_and_fin(
        &mut self,
        ctx: &mut Ctx<'_>,
        seg: &TcpRepr<'_>,
        seq: SeqNum,
        payload: &[u8],
        fin: bool,
        outcome: Outcome,
    ) -> Outcome {
        let state = self.state();
        let receiving = matches!(state, State::Established | State::FinWait1 | State::FinWait2);
        let app_closed = self.app_closed;
        let Some((_, rcv)) = self.tcb.halves() else { return outcome };

        //= rfc9293#3.10.7.4
        //~ paraphrase: Sixth, the URG bit: RCV.UP = max(RCV.UP, SEG.UP), and tell the user when the
        //~ pointer moves forward (MUST-32).
        if seg.flags.urg() && receiving {
            let up = seq + seg.urgent as u32;
            let ahead = rcv.up.is_none_or(|old| up.gt(old));
            if ahead && up.gt(rcv.read_seq()) {
                rcv.up = Some(up);
                let pending = up.since(rcv.read_seq());
                ctx.event(Event::Urgent { conn: ctx.id, pending });
            }
        }

        if let Some(ecn) = &mut self.ecn {
            //= rfc3168#6.1.3
            //~ paraphrase: CWR from the sender ends our ECE echo; a CE mark (re)starts it.
            if seg.flags.contains(TcpFlags::CWR) {
                ecn.echo = false;
            }
            if ctx.ce && !payload.is_empty() {
                ecn.echo = true;
                self.due.set(Due::Ack);
            }
        }
        //= rfc9293#3.10.7.4
        //~ paraphrase: Seventh, the segment text (ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2 only).
        if !payload.is_empty() && receiving {
            if app_closed {
                //= rfc9293#3.6.1
                //~ paraphrase: Data arriving after a full (half-duplex) CLOSE is lost: send a RST
                //~ (SHLD-3).
                let as_unknown = matches!(
                    self.cfg.abort_reset,
                    crate::config::AbortReset::Linux | crate::config::AbortReset::Bsd
                );
                if as_unknown && seg.flags.ack() {
                    //= rfc9293#3.10.7.1
                    //~ linux: Linux's form: answered as from no connection, <SEQ=SEG.ACK><CTL=RST>.
                    ctx.ctl.push(
                        CtlSegment::rst(self.tuple, seg.ack)
                            .via(self.cfg.udp_encapsulation)
                            .with_ip(self.cfg.ip),
                    );
                    self.fail(ctx, ConnectionError::Aborted);
                } else {
                    self.abort_with(ctx, ConnectionError::Aborted);
                }
                return Outcome::Continue;
            }
            self.deliver(ctx, seq, payload);
        }
        let Some((_, rcv)) = self.tcb.halves() else { return outcome };

        //= rfc9293#3.10.7.4
        //~ paraphrase: Eighth, the FIN bit: advance RCV.NXT over it, ACK it, tell the user.
        if fin && !rcv.fin_received {
            let fin_seq = seq + payload.len() as u32;
            if fin_seq.gt(rcv.asm.rcv_nxt()) {
                // Out of order: the data before it is still missing.
                rcv.fin_at = Some(fin_seq);
                self.due.set(Due::Ack);
                return outcome;
            }
            rcv.fin_at = Some(fin_seq);
        }
        self.maybe_take_fin(ctx);
        outcome
    }

    /// If the peer's FIN is next in sequence, consumes it and moves the state on.
    #[inline]
    pub(super) fn maybe_take_fin(&mut self, ctx: &mut Ctx<'_>) {
        // Asked after every segment's text: with no FIN received the answer is at hand.
        if self.tcb.halves_ref().is_some_and(|(_, rcv)| rcv.fin_at.is_some()) {
            self.take_fin_if_next(ctx);
        }
    }

    /// [`Conn::maybe_take_fin`] once a FIN has arrived.
    fn take_fin_if_next(&mut self, ctx: &mut Ctx<'_>) {
        let Some((snd, rcv)) = self.tcb.halves() else { return };
        let Some(fin_seq) = rcv.fin_at else { return };
        if rcv.fin_received || fin_seq != rcv.asm.rcv_nxt() {
            return;
        }
        rcv.fin_received = true;
        rcv.nxt = fin_seq + 1;
        //= rfc9293#3.8.6.2.2
        //~ linux: The FIN takes a sequence number but no buffer space: the right edge moves with
        //~ it, so RCV.WND (and the window field) stays what the buffer offers, as in Linux and
        //~ FreeBSD, instead of shrinking by one.
        rcv.adv_right = (rcv.adv_right + 1).max(rcv.nxt);
        let fin_acked = snd.fin_acked();
        self.due.set(Due::Ack);
        ctx.event(Event::PeerClosed(ctx.id));
        ctx.event(Event::Readable(ctx.id));
        match self.state() {
            //= rfc9293#3.10.7.4
            //~ paraphrase: SYN-RECEIVED, ESTABLISHED: CLOSE-WAIT.
            State::SynReceived | State::Established => self.goto(ctx, State::CloseWait),
            //= rfc9293#3.10.7.4
            //~ paraphrase: FIN-WAIT-1: TIME-WAIT if our FIN is acknowledged, else CLOSING.
            State::FinWait1 if fin_acked => self.goto(ctx, State::TimeWait),
            State::FinWait1 => self.goto(ctx, State::Closing),
            //= rfc9293#3.10.7.4
            //~ paraphrase: FIN-WAIT-2: TIME-WAIT.
            State::FinWait2 => self.goto(ctx, State::TimeWait),
            _ => {}
        }
    }

    /// Places payload in the receive ring (in order or not) and decides about the ACK.
    fn deliver(&mut self, ctx: &mut Ctx<'_>, seq: SeqNum, payload: &[u8]) {
        let Some((_, rcv)) = self.tcb.halves() else { return };
        let offset = seq.since(rcv.asm.rcv_nxt()) as usize;
        rcv.buf.write_at(offset, payload);
        self.take_placed(ctx, seq, payload.len());
    }

    /// Takes `len` bytes at `seq` already written to their place in the receive ring (in
    /// order or not) and decides about the ACK.
    pub(super) fn take_placed(&mut self, ctx: &mut Ctx<'_>, seq: SeqNum, len: usize) {
        let full = (self.opt.rcv_mss as usize).saturating_sub(if self.opt.ts { 12 } else { 0 });
        let delack = self.cfg.delayed_ack;
        let oversized_taken = self.cfg.oversized_taken_when_empty;
        let rtt = self.rtt.srtt().unwrap_or(Duration::from_millis(100));
        let Some((_, rcv)) = self.tcb.halves() else { return };
        // Out-of-order data is held: whatever in-order data arrives now fills part of the gap.
        let gap = !rcv.asm.is_empty();
        let end = seq + len as u32;
        //~ linux: a segment taken past the window (`oversized_taken_when_empty`) draws no
        //~ quick ACK.
        let past_window = oversized_taken && end.gt(rcv.adv_right);
        let overlap = rcv.asm.ranges().find(|&(l, r)| l.lt(end) && seq.lt(r));
        // One D-SACK block per ACK: a repeated part below RCV.NXT (reported at trimming, it
        // comes first in sequence) wins.
        if let Some((l, r)) = overlap.filter(|_| !rcv.sacks.has_pending_dsack()) {
            //~ paraphrase (RFC 2883 4.1.3): data that repeats out-of-order data already held
            //~ is reported as a D-SACK block too (the first block of the ACK, sent at once).
            rcv.sacks.on_duplicate(l.max(seq), r.min(end));
            self.due.set(Due::Ack);
        }
        rcv.asm.set_max_bytes(rcv.buf.free() as u32);
        let model = super::rcv_mem::linux_model(&self.cfg);
        let rmem_max = self.cfg.recv_buffer.max(self.cfg.recv_buffer_max) as u32;
        let advmss = u32::from(self.opt.rcv_mss);
        let sack = self.opt.sack;
        let inserted = rcv.asm.insert(seq, len as u32);
        if let (Some((rcvbuf, _)), Some(mem)) = (model, rcv.sizing.linux()) {
            let mss = u32::from(rcv.mss_estimate);
            //~ linux: an in-order segment is charged, then grows the threshold
            //~ (tcp_event_data_recv, for 128 bytes or more); an out-of-order one grows it
            //~ first (tcp_data_queue_ofo, with SACK only).
            match inserted {
                Inserted::Advanced { .. } => {
                    mem.charge(end);
                    if len >= 128 {
                        mem.grow(len as u32, rcvbuf, rmem_max, advmss, mss);
                    }
                }
                Inserted::Held { .. } => {
                    if sack {
                        mem.grow(len as u32, rcvbuf, rmem_max, advmss, mss);
                    }
                    mem.charge(end);
                }
                Inserted::Duplicate | Inserted::Dropped(_) => mem.discard(),
            }
        }
        match inserted {
            Inserted::Advanced { bytes, filled_hole, .. } => {
                rcv.buf.commit(bytes as usize);
                rcv.nxt = rcv.asm.rcv_nxt();
                rcv.autotune(ctx.now, bytes, rtt);
                self.stats.bytes_received += bytes as u64;
                ctx.event(Event::Readable(ctx.id));
                if self.cfg.quick_ack_segments > 0 {
                    self.last_data_rx = Some(super::wrapping_ms(ctx.now));
                }
                if filled_hole || gap {
                    //= rfc5681#4.2
                    //# To provide feedback to senders recovering from losses, the receiver
                    //# SHOULD send an immediate ACK when it receives a data segment that fills
                    //# in all or part of a gap in the sequence space.
                    self.due.set(Due::Ack);
                } else if self.quick_acks_left > 0
                    && !past_window
                    && !self.hs.has(super::HsFlags::INTERACTIVE)
                {
                    //= rfc9293#3.8.6.3
                    //~ paraphrase: Delaying ACKs is a SHOULD: the first segments (quick-ACK) are
                    //~ ACKed at once, unless the connection is interactive (our reply carries
                    //~ the ACK; Linux's pingpong mode).
                    self.quick_acks_left -= 1;
                    self.due.set(Due::Ack);
                } else if len >= full
                    || self.cfg.ack_every == crate::config::AckEvery::SecondSegment
                {
                    //= rfc9293#3.8.6.3
                    //~ paraphrase: ACK at least every second full-sized segment (SHLD-19).
                    self.unacked_segs = self.unacked_segs.saturating_add(1);
                    if self.unacked_segs >= 2 {
                        self.due.set(Due::Ack);
                    }
                }
                //= rfc9293#3.8.6.3
                //~ paraphrase: Otherwise delay the ACK, by less than 0.5 s (MUST-40, SHLD-18).
                if !self.due.has(Due::Ack) && !self.t.is_armed(Timer::DelayedAck) {
                    self.t.set(Timer::DelayedAck, Some(ctx.now + delack));
                }
            }
            //= rfc9293#3.10.7.4
            //~ paraphrase: Out-of-order data is kept (SHLD-31) and ACKed at once (MAY-13, RFC 5681
            //~ 4.2).
            Inserted::Held { .. } => {
                rcv.sacks.on_segment(seq);
                self.due.set(Due::Ack);
            }
            Inserted::Duplicate => {
                //= rfc2883#4
                //~ paraphrase: A duplicate is reported in a D-SACK block.
                rcv.sacks.on_duplicate(seq, seq + len as u32);
                //~ linux: data received twice means our ACK was lost: quick ACKs resume
                //~ (`tcp_enter_quickack_mode` leaves pingpong mode).
                self.hs.set(super::HsFlags::INTERACTIVE, false);
                self.due.set(Due::Ack);
            }
            Inserted::Dropped(_) => {
                self.due.set(Due::Ack);
            }
        }
        self.maybe_take_fin(ctx);
    }
}
