//! The application's side of one connection: writing and reading its buffers, half-close,
//! close and abort (what `Endpoint`'s calls turn into for a connection).

use super::{Conn, Ctx, Due, HsFlags, Tcb, Timer};
use crate::config::SendAccounting;
use crate::error::ConnectionError;
use crate::sndbuf;
use crate::state::State;
use crate::time::Instant;
use synack_wire::SeqNum;

impl Conn {
    /// Queues bytes for sending; see [`crate::Endpoint::send`].
    pub(crate) fn send(
        &mut self,
        data: &[u8],
        urgent: bool,
        now: Instant,
    ) -> Result<usize, crate::SendError> {
        self.queue(data, urgent, false, now)
    }

    /// Queues bytes with more announced; see [`crate::Endpoint::send_more`].
    pub(crate) fn send_more(
        &mut self,
        data: &[u8],
        now: Instant,
    ) -> Result<usize, crate::SendError> {
        self.queue(data, false, true, now)
    }

    /// Queues bytes at `now`; `more`: the application announced more (its end is no push
    /// point).
    fn queue(
        &mut self,
        data: &[u8],
        urgent: bool,
        more: bool,
        now: Instant,
    ) -> Result<usize, crate::SendError> {
        if let Some(e) = self.error {
            return Err(crate::SendError::Connection(e));
        }
        let state = self.state();
        let policy = self.cfg.push_policy;
        let mss = self.eff_snd_mss();
        let skb_plan = self.skb_plan();
        let snd = match self.tcb.snd_mut() {
            Some(s) if !s.fin_queued => s,
            _ if state == State::Closed => {
                return Err(crate::SendError::Closed);
            }
            _ => return Err(crate::SendError::Closed),
        };
        if data.is_empty() {
            return Ok(0);
        }
        let start = snd.end_seq();
        //~ linux: tcp_sendmsg takes data only while sk_stream_memory_free, which with
        //~ TCP_NOTSENT_LOWAT also asks that fewer than the mark are unsent
        //~ (tcp_stream_memory_free, wake 0).
        let room = match self.cfg.notsent_lowat {
            Some(lowat) => lowat.saturating_sub(unsent(snd)) as usize,
            None => usize::MAX,
        };
        self.hs.set(HsFlags::BURST_NEW, false);
        let n = match skb_plan {
            Some((limits, q)) => {
                let skbs = &mut self.marks.get_or_insert_with(Default::default).skbs;
                skbs.release(q.una);
                skbs.split(q.sent);
                let take = skbs.append(data.len(), &q, &limits);
                // The buffers may hold up to a size goal past the send buffer.
                let _ = snd.buf.grow(snd.buf.len() + take);
                snd.buf.write(&data[..take])
            }
            None => snd.buf.write(&data[..data.len().min(room)]),
        };
        if n == 0 {
            self.want_writable = true;
            return Err(crate::SendError::WouldBlock);
        }
        self.hs.set(HsFlags::CORKED | HsFlags::PUSH_WITHHELD, false);
        if let Some(stamps) = self.marks.as_mut().and_then(|m| m.stamps.as_mut()) {
            stamps.on_write(snd.end_seq());
        }
        if urgent {
            //= rfc9293#3.8.5
            //~ paraphrase: The urgent pointer names the first octet after the urgent data
            //~ (MUST-62).
            snd.up = Some(snd.end_seq());
        }
        if policy.marks_writes() {
            //= rfc9293#3.9.1.2
            //~ paraphrase: PSH placement is the sender's choice: with EndOfWrite and LinuxGso,
            //~ the last byte of each write (and a forced push past half the peer's largest
            //~ window) is a push point; a write with more announced ends none (tcp_push marks
            //~ nothing under MSG_MORE but a forced push).
            let (end, max_wnd, sent, una) = (snd.end_seq(), snd.max_wnd, snd.max_nxt, snd.una);
            let (nxt, right) = (snd.nxt, una + snd.wnd);
            let linux = matches!(policy, crate::config::PushPolicy::LinuxGso { .. });
            let sends = match policy {
                crate::config::PushPolicy::LinuxGso { min_tso_segs }
                    if nxt == sent && matches!(state, State::Established | State::CloseWait) =>
                {
                    self.write_sends(now, nxt, right, mss, u32::from(min_tso_segs))
                }
                _ => crate::push::WriteSends::NONE,
            };
            let marks = self.marks.get_or_insert_with(Default::default);
            // A write starts new packets.
            marks.gso = None;
            let push = marks.push.get_or_insert_with(|| crate::push::PushMarks::new(start));
            push.on_ack(una);
            let chunk = if linux {
                //~ linux: forced_push is checked each time a buffer reaches the size goal
                //~ (tcp_xmit_size_goal: half the peer's largest window, whole segments).
                push.on_append(start, sent);
                crate::gso::size_goal(max_wnd, mss)
            } else {
                mss
            };
            if more {
                push.on_write_more(start, end, max_wnd, chunk, sent, sends);
            } else {
                push.on_write_sending(start, end, max_wnd, chunk, sent, sends);
            }
        }
        Ok(n)
    }

    /// What Linux would send while copying a write (see [`crate::push::WriteSends`]), new
    /// data from `head` (SND.NXT, nothing in it to resend) up to the peer's window's `right`
    /// edge: what cwnd leaves room for (the window restarted if the sender was idle), in
    /// packets sized as `crate::gso` sizes them. Nothing during loss repair, whose sends
    /// this does not model.
    fn write_sends(
        &self,
        now: Instant,
        head: SeqNum,
        right: SeqNum,
        mss: u32,
        min_tso_segs: u32,
    ) -> crate::push::WriteSends {
        if self.rec.repairing() || !right.gt(head) {
            return crate::push::WriteSends::NONE;
        }
        let Some(snd) = self.tcb.snd() else { return crate::push::WriteSends::NONE };
        let flight = self.rec.flight(snd.una, snd.max_nxt);
        let cwnd = if flight == 0 && self.cfg.slow_start_after_idle {
            self.rec.cwnd_after_idle(now, self.rtt.rto())
        } else {
            self.rec.effective_cwnd()
        };
        let mss = mss.max(1);
        let room = cwnd.saturating_sub(flight) / mss * mss;
        let room = room.min(right.since(head));
        let packet = crate::gso::packet_len(&crate::gso::PacketInputs {
            mss,
            cwnd,
            room,
            window: room,
            queued: u32::MAX,
            pacing_rate: self.pacing_rate_figure(),
            min_rtt: self.rtt.min_rtt(),
            min_tso_segs,
            tail_ok: true,
        });
        crate::push::WriteSends { head, room, packet }
    }

    /// Marks the send queue's end as the end of a record; see [`crate::Endpoint::send_record`].
    pub(crate) fn end_record(&mut self) {
        let Some(snd) = self.tcb.snd() else { return };
        let (end, una) = (snd.end_seq(), snd.una);
        let records = &mut self.marks.get_or_insert_with(Default::default).records;
        records.on_ack(una);
        records.push(end);
    }

    /// Sets the transmit timestamps later writes ask for; see
    /// [`crate::Endpoint::set_tx_timestamping`].
    pub(crate) fn set_tx_timestamping(&mut self, flags: crate::tx_stamp::TxStampFlags) {
        let (una, written) = self.tcb.snd().map(|s| (s.una, s.end_seq())).unwrap_or_default();
        let marks = self.marks.get_or_insert_with(Default::default);
        let stamps = marks.stamps.get_or_insert_with(Default::default);
        stamps.set_flags(flags, una, written);
    }

    /// The connection's transmit timestamping state, once asked for.
    pub(crate) fn tx_stamps(&self) -> Option<&crate::tx_stamp::TxStamps> {
        self.marks.as_ref().and_then(|m| m.stamps.as_ref())
    }

    /// The oldest queued transmit timestamp; see [`crate::Endpoint::pop_tx_stamp`].
    pub(crate) fn pop_tx_stamp(&mut self) -> Option<crate::tx_stamp::TxStamp> {
        self.marks.as_mut().and_then(|m| m.stamps.as_mut()).and_then(|s| s.pop())
    }

    /// Reads received bytes; see [`crate::Endpoint::recv`].
    pub(crate) fn recv(&mut self, out: &mut [u8]) -> Result<usize, crate::RecvError> {
        if self.app_closed {
            return Err(crate::RecvError::Closed);
        }
        let state = self.state();
        let mss = self.eff_snd_mss();
        let Some((_, rcv)) = self.tcb.halves() else {
            // Bytes kept after the end (a normal close, or a reset with
            // `ConnConfig::reset_keeps_socket`) come before any error.
            if let Some(buf) = &mut self.unread {
                let n = buf.read(out);
                if buf.is_empty() {
                    self.unread = None;
                }
                return Ok(n);
            }
            if let Some(e) = self.error {
                return Err(crate::RecvError::Connection(e));
            }
            return match state {
                // TIME-WAIT and a normal CLOSED: the peer's FIN was consumed long ago.
                State::TimeWait | State::Closed => Ok(0),
                _ => Err(crate::RecvError::WouldBlock),
            };
        };
        if rcv.buf.is_empty() {
            return if rcv.fin_received { Ok(0) } else { Err(crate::RecvError::WouldBlock) };
        }
        let before = rcv.window_right_candidate();
        let n = rcv.buf.read(out);
        let read_seq = rcv.read_seq();
        let (left, wscale, fin) = (rcv.wnd(), rcv.wscale, rcv.fin_received);
        let rcv_mss = u32::from(rcv.mss_estimate.max(1));
        if let (Some((rcvbuf, _)), Some(mem)) =
            (super::rcv_mem::linux_model(&self.cfg), rcv.sizing.linux())
        {
            mem.release(read_seq);
            if !fin && mem.read_wants_update(rcvbuf, rcv_mss, wscale, left) {
                self.due.set(Due::Ack);
            }
            if let Some(up) = rcv.up
                && read_seq.ge(up)
            {
                rcv.up = None;
            }
            return Ok(n);
        }
        if let Some(up) = rcv.up
            && rcv.read_seq().ge(up)
        {
            rcv.up = None;
        }
        //= rfc9293#3.8.6.2.2
        //~ paraphrase: Window update after reading: only when the right edge can move by at least
        //~ min(RCV.BUFF/2, Eff.snd.MSS) (receiver SWS avoidance), so the peer learns promptly.
        let after = rcv.window_right_candidate();
        let step = (rcv.buf.capacity() as u32 / 2).min(mss).max(1);
        if self.cfg.read_window_update == crate::config::ReadWindowUpdate::Doubling {
            //= rfc9293#3.8.6.2.2
            //~ linux: Linux's threshold (tcp_cleanup_rbuf): the advertised window had fallen to at
            //~ most half the largest we can offer, and the read at least doubles it.
            let now_wnd = rcv.wnd();
            let clamp = (rcv.buf.capacity() as u32).min(65535 << rcv.wscale);
            let new_wnd = after.since(rcv.nxt);
            let held = rcv.initial_window_held(self.cfg.initial_window_whole_segments, &self.stats);
            if !rcv.fin_received
                && !held
                && now_wnd.saturating_mul(2) <= clamp
                && new_wnd > 0
                && new_wnd >= now_wnd.saturating_mul(2)
                && after.gt(rcv.adv_right)
                && after.since(rcv.adv_right) >= step
            {
                self.due.set(Due::Ack);
            }
            return Ok(n);
        }
        if after.since(rcv.adv_right) >= step && before.since(rcv.adv_right) < step {
            self.due.set(Due::Ack);
        }
        Ok(n)
    }

    /// Whether the connection is writable (`send` would take a byte now, and fewer than half
    /// the unsent low-water mark are unsent); see [`crate::Endpoint::send_ready`].
    pub(crate) fn send_ready(&mut self) -> Result<bool, crate::SendError> {
        if let Some(e) = self.error {
            return Err(crate::SendError::Connection(e));
        }
        let ready = self.space_ready();
        match self.tcb.snd_mut() {
            Some(s) if !s.fin_queued => {
                if !ready {
                    self.want_writable = true;
                }
                Ok(ready)
            }
            _ => Err(crate::SendError::Closed),
        }
    }

    /// Whether `send_ready` would report the connection writable, without arming a wake-up.
    pub(crate) fn space_ready(&self) -> bool {
        let Some(s) = self.tcb.snd() else { return false };
        match self.skb_writeable() {
            Some(r) => r && !s.fin_queued,
            None => !s.fin_queued && s.buf.free() > 0 && lowat_wakes(self.cfg.notsent_lowat, s),
        }
    }

    /// Whether a writer waiting for space is woken now: it found none (`want_writable`), a
    /// third of the buffer is free, and the unsent low-water mark allows it.
    //~ linux: sk_stream_write_space wakes a writer only once the free space is at least half
    //~ of what is queued (a third of the buffer), and tcp_stream_memory_free (wake 1) agrees.
    pub(crate) fn write_space(&self) -> bool {
        let Some(snd) = self.tcb.snd() else { return false };
        if let Some(ready) = self.skb_writeable() {
            return self.want_writable && !snd.fin_queued && ready;
        }
        let free = snd.buf.free();
        self.want_writable
            && free > 0
            && 3 * free >= snd.buf.capacity()
            && !snd.fin_queued
            && lowat_wakes(self.cfg.notsent_lowat, snd)
    }

    /// Under [`SendAccounting::LinuxSkb`]: the limits a write is measured against and where
    /// the send queue stands (how far a push during the write may send: what congestion
    /// control and the peer's window allow now, nothing before the connection is open).
    fn skb_plan(&self) -> Option<(sndbuf::Limits, sndbuf::Queue)> {
        let SendAccounting::LinuxSkb { overhead } = self.cfg.send_accounting else {
            return None;
        };
        let snd = self.tcb.snd()?;
        let mss = self.eff_snd_mss();
        let limits = sndbuf::Limits {
            sndbuf: self.cfg.send_buffer,
            overhead: overhead.into(),
            size_goal: crate::gso::size_goal(snd.max_wnd, mss),
            lowat: self.cfg.notsent_lowat,
        };
        let (una, sent, end) = (snd.una, snd.max_nxt, snd.end_seq());
        let send_limit = match self.state() {
            State::Established | State::CloseWait => {
                let by_cc = sent + self.rec.allowance(self.rec.flight(una, sent), mss);
                //~ linux: tcp_snd_wnd_test and tcp_mss_split_point send whole segments that
                //~ fit in the peer's window, never a sliver of one.
                let right = una + snd.wnd;
                let fits = if right.gt(sent) { right.since(sent) / mss.max(1) * mss } else { 0 };
                let by_wnd = sent + fits;
                if by_wnd.lt(by_cc) { by_wnd } else { by_cc }
            }
            _ => sent,
        };
        let from = if una.gt(snd.buf_seq) { una } else { snd.buf_seq };
        let bytes = if end.gt(from) { end.since(from) as usize } else { 0 };
        Some((limits, sndbuf::Queue { una, sent, end, bytes, send_limit }))
    }

    /// Under [`SendAccounting::LinuxSkb`]: whether a writer may be woken.
    fn skb_writeable(&self) -> Option<bool> {
        let (limits, q) = self.skb_plan()?;
        Some(match self.marks.as_deref() {
            Some(m) => m.skbs.writeable(&q, &limits),
            None => sndbuf::SkbQueue::default().writeable(&q, &limits),
        })
    }

    /// Under [`SendAccounting::LinuxSkb`]: frees the buffers acknowledged in full and splits
    /// the one the last transmission ended inside (after an ACK, before the next write).
    pub(crate) fn settle_skbs(&mut self) {
        if !matches!(self.cfg.send_accounting, SendAccounting::LinuxSkb { .. }) {
            return;
        }
        if let (Some(snd), Some(m)) = (self.tcb.snd(), self.marks.as_deref_mut()) {
            m.skbs.release(snd.una);
            m.skbs.split(snd.max_nxt);
        }
    }

    /// Copies received bytes without consuming them; see [`crate::Endpoint::peek`].
    pub(crate) fn peek(&self, out: &mut [u8]) -> Result<usize, crate::RecvError> {
        if self.app_closed {
            return Err(crate::RecvError::Closed);
        }
        let Some((_, rcv)) = self.tcb.halves_ref() else {
            if let Some(e) = self.error {
                return Err(crate::RecvError::Connection(e));
            }
            if let Some(buf) = &self.unread {
                return Ok(buf.peek(0, out));
            }
            return match self.state() {
                State::TimeWait | State::Closed => Ok(0),
                _ => Err(crate::RecvError::WouldBlock),
            };
        };
        if rcv.buf.is_empty() {
            return if rcv.fin_received { Ok(0) } else { Err(crate::RecvError::WouldBlock) };
        }
        Ok(rcv.buf.peek(0, out))
    }

    /// Queues our FIN after the buffered data; see [`crate::Endpoint::shutdown_write`].
    pub(crate) fn shutdown_write(&mut self, ctx: &mut Ctx<'_>) {
        match self.state() {
            State::SynSent => {
                //= rfc9293#3.10.4
                //~ paraphrase: CLOSE in SYN-SENT deletes the TCB.
                self.error.get_or_insert(ConnectionError::Aborted);
                self.finish(ctx);
            }
            State::SynReceived | State::Established | State::CloseWait => {
                if let Some(snd) = self.tcb.snd_mut() {
                    snd.fin_queued = true;
                }
                match self.state() {
                    //= rfc9293#3.10.4
                    //~ paraphrase: CLOSE in ESTABLISHED: FIN after the queued data, FIN-WAIT-1.
                    State::Established => self.goto(ctx, State::FinWait1),
                    //= rfc9293#3.10.4
                    //~ paraphrase: CLOSE in CLOSE-WAIT: FIN after the queued data, LAST-ACK.
                    State::CloseWait => self.goto(ctx, State::LastAck),
                    // SYN-RECEIVED: the FIN waits until ESTABLISHED (input.rs moves on).
                    _ => {}
                }
            }
            _ => {}
        }
    }

    /// The application's CLOSE; see [`crate::Endpoint::close`]. Closing again, or closing a
    /// connection that already ended, only records that the application let go.
    pub(crate) fn app_close(&mut self, ctx: &mut Ctx<'_>) {
        if !self.app_closed && self.state() != State::Closed {
            self.close(ctx);
        }
        self.app_closed = true;
    }

    /// The application's ABORT; see [`crate::Endpoint::abort`].
    pub(crate) fn app_abort(&mut self, ctx: &mut Ctx<'_>) {
        if self.state() != State::Closed {
            self.abort_with(ctx, ConnectionError::Aborted);
        }
        self.app_closed = true;
    }

    /// Full close; see [`crate::Endpoint::close`].
    pub(super) fn close(&mut self, ctx: &mut Ctx<'_>) {
        let unread = self.tcb.halves_ref().map(|(_, r)| !r.buf.is_empty()).unwrap_or(false);
        self.app_closed = true;
        if unread {
            //= rfc9293#3.6.1
            //~ paraphrase: Closing with received data unread sends a RST to show data was lost
            //~ (SHLD-3, RFC 2525 section 2.17).
            self.abort_with(ctx, ConnectionError::Aborted);
            return;
        }
        self.shutdown_write(ctx);
        if self.state() == State::FinWait2 {
            self.t.set(Timer::Close, Some(ctx.now + self.cfg.fin_wait2_timeout));
        }
    }

    /// Sends a RST and deletes the TCB; see [`crate::Endpoint::abort`].
    pub(crate) fn abort_with(&mut self, ctx: &mut Ctx<'_>, error: ConnectionError) {
        match &self.tcb {
            Tcb::Closed | Tcb::SynSent { .. } | Tcb::TimeWait(_) => {}
            _ => {
                if let Some((snd, rcv)) = self.tcb.halves_ref() {
                    //= rfc9293#3.10.5
                    //~ paraphrase: ABORT in a synchronized state (and SYN-RECEIVED) sends
                    //~ <SEQ=SND.NXT><CTL=RST>.
                    let linux = self.cfg.abort_reset == crate::config::AbortReset::Linux;
                    let bsd = self.cfg.abort_reset == crate::config::AbortReset::Bsd;
                    let ts = (linux && self.opt.ts).then(|| synack_wire::tcp::Timestamps {
                        tsval: self.ts_now(ctx.now),
                        tsecr: rcv.ts_recent.map_or(0, |(v, _)| v),
                    });
                    let mut rst = crate::control::CtlSegment::rst(self.tuple, snd.max_nxt)
                        .via(self.cfg.udp_encapsulation)
                        .with_ip(self.cfg.ip);
                    rst.ack = (linux || bsd).then_some(rcv.nxt);
                    rst.ts = ts;
                    //~ linux: the abort's RST carries the current receive window, as every
                    //~ segment tcp_transmit_skb writes does.
                    rst.window = if linux { rcv.window_field() } else { 0 };
                    ctx.ctl.push(rst);
                }
            }
        }
        self.fail(ctx, error);
    }

    /// Bytes from the read position to the urgent mark, if urgent data is pending (MUST-33).
    pub(crate) fn urgent_pending(&self) -> Option<u32> {
        let (_, rcv) = self.tcb.halves_ref()?;
        let up = rcv.up?;
        let pending = up.since(rcv.read_seq());
        (pending > 0).then_some(pending)
    }
}

/// Bytes written but not yet sent (Linux's `write_seq - snd_nxt`): past the highest sequence
/// number sent, so data an RTO is sending again counts as sent.
pub(crate) fn unsent(snd: &super::Snd) -> u32 {
    let (end, sent) = (snd.end_seq(), snd.max_nxt);
    if end.gt(sent) { end.since(sent) } else { 0 }
}

/// Whether the unsent low-water mark lets a waiting writer be woken (and a poll report
/// writable): fewer than half of it unsent.
//~ linux: tcp_poll and sk_stream_write_space ask tcp_stream_memory_free with wake 1, so
//~ EPOLLOUT comes once notsent_bytes << 1 is below the mark, leaving the writer room for a
//~ good share of it (as sock_def_write_space waits for half the buffer).
pub(crate) fn lowat_wakes(lowat: Option<u32>, snd: &super::Snd) -> bool {
    lowat.is_none_or(|l| 2 * u64::from(unsent(snd)) < u64::from(l))
}
