//! The send half, the receive half, and the little TIME-WAIT keeps.

use crate::assembler::{Assembler, AssemblerLimits};
use crate::config::{ConnConfig, ReceiveWindow, RecvAccounting};
use crate::ring::RingBuffer;
use crate::sack_gen::SackGenerator;
use crate::time::Instant;
use synack_wire::SeqNum;

/// The send half (RFC 9293 3.3.1 send sequence variables plus the send buffer).
pub(crate) struct Snd {
    pub(crate) iss: SeqNum,
    /// SND.UNA.
    pub(crate) una: SeqNum,
    /// SND.NXT: the next sequence number to send (moves back to SND.UNA on an RTO).
    pub(crate) nxt: SeqNum,
    /// The highest SND.NXT ever reached; ACKs up to here are acceptable.
    pub(crate) max_nxt: SeqNum,
    /// SND.WND, scaled.
    pub(crate) wnd: u32,
    /// The largest window the peer ever offered (sender SWS and RFC 5961 5.2).
    pub(crate) max_wnd: u32,
    pub(crate) wl1: SeqNum,
    pub(crate) wl2: SeqNum,
    /// Bytes from `buf_seq` on: unacknowledged, then unsent.
    pub(crate) buf: RingBuffer,
    /// Sequence number of `buf`'s first byte.
    pub(crate) buf_seq: SeqNum,
    /// The application shut down sending: a FIN follows the buffered data.
    pub(crate) fin_queued: bool,
    /// SND.UP: first octet after the urgent data, while some is unsent or unacknowledged.
    pub(crate) up: Option<SeqNum>,
}

impl Snd {
    /// A send half whose buffer holds `buffer` bytes, or may grow past it under Linux's
    /// accounting (which bounds it by its charge instead).
    pub(crate) fn for_config(iss: SeqNum, cfg: &crate::ConnConfig) -> Snd {
        let mut snd = Snd::new(iss, cfg.send_buffer);
        if matches!(cfg.send_accounting, crate::SendAccounting::LinuxSkb { .. }) {
            snd.buf = RingBuffer::with_max(cfg.send_buffer, crate::ring::MAX_CAPACITY);
        }
        snd
    }

    pub(crate) fn new(iss: SeqNum, buffer: usize) -> Snd {
        Snd {
            iss,
            una: iss,
            nxt: iss,
            max_nxt: iss,
            wnd: 0,
            max_wnd: 0,
            wl1: SeqNum(0),
            wl2: iss,
            buf: RingBuffer::new(buffer),
            buf_seq: iss + 1,
            fin_queued: false,
            up: None,
        }
    }

    /// Sequence number after the last buffered byte (where the FIN goes).
    pub(crate) fn end_seq(&self) -> SeqNum {
        self.buf_seq + self.buf.len() as u32
    }

    /// Sequence number just after everything we will ever send (data and FIN).
    pub(crate) fn final_seq(&self) -> SeqNum {
        self.end_seq() + self.fin_queued as u32
    }

    pub(crate) fn syn_acked(&self) -> bool {
        self.una.gt(self.iss)
    }

    /// Our FIN was sent and acknowledged.
    pub(crate) fn fin_acked(&self) -> bool {
        self.fin_queued && self.una == self.end_seq() + 1
    }

    /// Something sent is unacknowledged (SYN, data or FIN).
    pub(crate) fn outstanding(&self) -> bool {
        self.una.lt(self.max_nxt)
    }

    /// Data or a FIN is sent and unacknowledged (the SYN not counted).
    pub(crate) fn data_outstanding(&self) -> bool {
        self.una.max(self.iss + 1).lt(self.max_nxt)
    }

    /// Drops acknowledged bytes from the buffer; returns how many data bytes were acked.
    pub(crate) fn on_ack_advance(&mut self, ack: SeqNum) -> u32 {
        let n = ack.since(self.buf_seq).min(self.buf.len() as u32);
        self.buf.consume(n as usize);
        self.buf_seq += n;
        self.una = ack;
        if self.nxt.lt(ack) {
            self.nxt = ack;
        }
        if let Some(up) = self.up
            && ack.ge(up)
        {
            self.up = None;
        }
        n
    }
}

/// What sizes the receive window beyond the buffer's free space.
pub(crate) enum Sizing {
    /// Nothing (yet): a fixed buffer, or auto-tuning before its first round.
    Fixed,
    /// Auto-tuning: start of the current measurement round and bytes received in it.
    Tune(Instant, u32),
    /// Linux's receive-memory model (`RecvAccounting::LinuxSkb`), from the first window
    /// offered on.
    Linux(alloc::boxed::Box<super::rcv_mem::RcvMem>),
}

impl Sizing {
    /// The Linux model, when it runs.
    pub(crate) fn linux(&mut self) -> Option<&mut super::rcv_mem::RcvMem> {
        match self {
            Sizing::Linux(m) => Some(m),
            _ => None,
        }
    }
}

/// The receive half (RFC 9293 3.3.1 receive sequence variables plus the buffer and reassembly).
pub(crate) struct Rcv {
    pub(crate) irs: SeqNum,
    /// RCV.NXT, counting the peer's FIN once received.
    pub(crate) nxt: SeqNum,
    /// Readable bytes; out-of-order bytes are placed in its free space.
    pub(crate) buf: RingBuffer,
    pub(crate) asm: Assembler,
    /// Right edge of the window we last advertised (never moved left: SHLD-14).
    pub(crate) adv_right: SeqNum,
    /// Our window shift.
    pub(crate) wscale: u8,
    /// The peer's FIN has been received (in order) and counted in `nxt`.
    pub(crate) fin_received: bool,
    /// Sequence number of an out-of-order FIN, remembered until the data before it arrives.
    pub(crate) fin_at: Option<SeqNum>,
    /// RCV.UP: first octet after the peer's urgent data, while not yet read past.
    pub(crate) up: Option<SeqNum>,
    /// TS.Recent and when it was set (RFC 7323 5.5 invalidates it after 24 days idle).
    pub(crate) ts_recent: Option<(u32, Instant)>,
    /// Last.ACK.sent (RFC 7323 4.3).
    pub(crate) last_ack_sent: SeqNum,
    /// Order of recent out-of-order arrivals and a pending D-SACK, for the SACK option.
    pub(crate) sacks: SackGenerator,
    /// Auto-tuning's round, or Linux's receive-memory model.
    pub(crate) sizing: Sizing,
    /// The estimate of the peer's segment size (`conn::rcv_mss`); 0 until the first data.
    pub(crate) mss_estimate: u16,
    /// The length of the last short segment that looked full-sized (`conn::rcv_mss`).
    pub(crate) last_seg_size: u16,
}

impl Rcv {
    /// Takes `tsval` as TS.Recent when it is not older than the one held (RFC 7323 4.3; the
    /// caller has checked that the segment carrying it covers Last.ACK.sent).
    pub(crate) fn take_ts_recent(&mut self, tsval: u32, now: Instant) {
        let newer = self.ts_recent.is_none_or(|(r, _)| (tsval.wrapping_sub(r) as i32) >= 0);
        if newer {
            self.ts_recent = Some((tsval, now));
        }
    }

    pub(crate) fn new(irs: SeqNum, cfg: &ConnConfig, wscale: u8) -> Rcv {
        let nxt = irs + 1;
        Rcv {
            irs,
            nxt,
            buf: match cfg.recv_accounting {
                // The memory limit bounds what is held; a segment taken whole into an empty
                // queue may need more room (`Rcv::make_room`).
                RecvAccounting::LinuxSkb { rcvbuf, .. } => {
                    let cap = cfg.recv_buffer.max(rcvbuf as usize);
                    RingBuffer::with_max(cap, crate::ring::MAX_CAPACITY)
                }
                RecvAccounting::Bytes => RingBuffer::with_max(cfg.recv_buffer, cfg.recv_buffer_max),
            },
            asm: Assembler::new(nxt, AssemblerLimits::default()),
            adv_right: nxt,
            wscale,
            fin_received: false,
            fin_at: None,
            up: None,
            ts_recent: None,
            last_ack_sent: nxt,
            sacks: SackGenerator::new(),
            sizing: Sizing::Fixed,
            mss_estimate: 0,
            last_seg_size: 0,
        }
    }

    /// Sequence number of the next byte the application will read.
    pub(crate) fn read_seq(&self) -> SeqNum {
        self.asm.rcv_nxt() - self.buf.len() as u32
    }

    /// Where the right edge would be if we advertised all free space now (rounded down to the
    /// window-scale granularity).
    pub(crate) fn window_right_candidate(&self) -> SeqNum {
        self.window_right(false)
    }

    /// [`Rcv::window_right_candidate`], the free space rounded down to the window scale's
    /// unit, or up with `round_up` (so scaling never offers less than the space).
    fn window_right(&self, round_up: bool) -> SeqNum {
        //= rfc7323#2.3
        //~ paraphrase: The window field is 16 bits: at most 65535 << shift can be offered.
        let free = (self.buf.free() as u32).min(65535 << self.wscale);
        let free = match round_up {
            true => free.div_ceil(1 << self.wscale) << self.wscale,
            false => (free >> self.wscale) << self.wscale,
        };
        // After the FIN, RCV.NXT is one past the data (the FIN's sequence number).
        let base = if self.fin_received { self.nxt } else { self.asm.rcv_nxt() };
        base + free
    }

    /// RCV.WND: what lies between RCV.NXT and the advertised right edge.
    pub(crate) fn wnd(&self) -> u32 {
        self.adv_right.since(self.nxt)
    }

    /// The window a segment's sequence numbers are checked against (RFC 9293 3.10.7.4's
    /// acceptability test and the trim at the right edge). `SwsAvoidance`: RCV.WND as
    /// advertised. `FreeSpace`: the larger of that and the free buffer space, which the 16-bit
    /// field may not be able to offer (a 65700-byte buffer without window scaling).
    //~ freebsd: tcp_input sets rcv_wnd = max(sbspace, rcv_adv - rcv_nxt) before its checks.
    pub(crate) fn acceptance_wnd(&self, policy: ReceiveWindow) -> u32 {
        let mut advertised = self.wnd();
        //~ linux: a shrunk window still takes what the largest one offered (rcv_mwnd_seq).
        if let Sizing::Linux(mem) = &self.sizing
            && let Some(m) = mem.max_right
            && m.gt(self.nxt)
        {
            advertised = advertised.max(m.since(self.nxt));
        }
        match policy {
            ReceiveWindow::SwsAvoidance => advertised,
            ReceiveWindow::FreeSpace => advertised.max(self.buf.free() as u32),
        }
    }

    //= rfc9293#3.8.6.2.2
    //~ paraphrase: Receiver SWS avoidance: move the right edge only by at least min(RCV.BUFF/2,
    //~ MSS); and never move it left (SHLD-14).
    pub(crate) fn update_window(&mut self, mss: u32, policy: ReceiveWindow) {
        //~ freebsd: tcp_output rounds the offer up to the window scale's unit ("avoid
        //~ shrinking window with window scaling").
        let cand = self.window_right(policy == ReceiveWindow::FreeSpace);
        let step = (self.buf.capacity() as u32 / 2).min(mss).max(1);
        let grows = match policy {
            ReceiveWindow::SwsAvoidance => cand.since(self.adv_right) >= step,
            //~ freebsd: tcp_output offers min(sbspace, TCP_MAXWIN << scale) on every segment,
            //~ unless that space is below both a quarter of the buffer and one segment.
            ReceiveWindow::FreeSpace => {
                let free = (self.buf.free() as u32).min(65535 << self.wscale);
                cand.gt(self.adv_right) && (free >= self.buf.capacity() as u32 / 4 || free >= mss)
            }
        };
        if grows || self.adv_right.lt(self.nxt) {
            self.adv_right = cand.max(self.nxt);
        }
    }

    /// Receive-window auto-tuning: `bytes` arrived in order at `now`; once per round trip
    /// (`rtt`), if the peer delivered at least half the buffer in that round, the window was
    /// what limited it, so the buffer doubles (up to its maximum).
    pub(crate) fn autotune(&mut self, now: Instant, bytes: u32, rtt: crate::time::Duration) {
        if self.buf.max_capacity() <= self.buf.capacity() {
            return;
        }
        if let Sizing::Fixed = self.sizing {
            self.sizing = Sizing::Tune(now, 0);
        }
        // The Linux model sizes the window from its memory instead.
        let Sizing::Tune(start, got) = &mut self.sizing else { return };
        *got = got.saturating_add(bytes);
        if now.saturating_since(*start) < rtt {
            return;
        }
        let got = *got;
        let cap = self.buf.capacity();
        if (got as usize) * 2 >= cap {
            let _ = self.buf.grow(cap.saturating_mul(2).min(self.buf.max_capacity()));
        }
        self.sizing = Sizing::Tune(now, 0);
    }

    /// Whether the window offered stays the initial one (`linux`: the profiles that size it
    /// as Linux does, `initial_window_whole_segments`).
    //~ linux: rcv_ssthresh starts at the initial window and tcp_grow_window raises it as data
    //~ segments come in. A Fast Open child's SYN data is queued without that step
    //~ (`tcp_fastopen_add_skb`), so the window waits for a data segment measured by the
    //~ receive path (`mss_estimate`).
    pub(crate) fn initial_window_held(&self, linux: bool, stats: &super::Counters) -> bool {
        linux && (stats.bytes_received == 0 || self.mss_estimate == 0)
    }

    /// The window field to put in a segment, after [`Rcv::update_window`].
    pub(crate) fn window_field(&self) -> u16 {
        let w = self.wnd() >> self.wscale;
        w.min(65535) as u16
    }
}

/// TIME-WAIT keeps only what it needs to re-ACK a FIN and judge a new SYN.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TimeWait {
    pub(crate) snd_nxt: SeqNum,
    pub(crate) rcv_nxt: SeqNum,
    pub(crate) ts_recent: Option<u32>,
    pub(crate) expiry: Instant,
    pub(crate) window: u16,
    /// RCV.WND when TIME-WAIT began, for the acceptability test of what still arrives.
    pub(crate) wnd: u32,
}

impl TimeWait {
    pub(crate) fn from_halves(snd: &Snd, rcv: &Rcv, expiry: Instant) -> TimeWait {
        TimeWait {
            snd_nxt: snd.max_nxt,
            rcv_nxt: rcv.nxt,
            ts_recent: rcv.ts_recent.map(|(v, _)| v),
            expiry,
            window: rcv.window_field(),
            wnd: rcv.wnd(),
        }
    }
}
