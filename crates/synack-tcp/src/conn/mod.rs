//! One TCP connection: the per-state control block and the application-side operations.
//!
//! The state is an enum whose variants hold only what that state has (netstack3-style): no
//! receive half before the peer's SYN is known, only two sequence numbers and a deadline in
//! TIME-WAIT, nothing in CLOSED. The send half ([`Snd`]) and receive half ([`Rcv`]) move when
//! the kind of data held changes (SYN-SENT to SYN-RECEIVED or ESTABLISHED, into TIME-WAIT or
//! CLOSED); the seven states that hold both share one variant and change in place.
//!
//! New connections are built in `open.rs`, segment arrival lives in `input.rs` (its text and
//! FIN in `receive.rs`), segment emission and timers in `output.rs` (the timer table in
//! `timers.rs`, the reasons a segment is due in `due.rs`), loss recovery in `recovery.rs`.

mod accecn;
mod calls;
mod due;
mod gso;
mod halves;
mod input;
mod mtu_probe;
mod open;
mod output;
mod pace;
mod pmtu;
mod rcv_mem;
mod rcv_mss;
pub(crate) use rcv_mss::initial as initial_rcv_mss;
mod receive;
mod recovery;
mod spares;
mod timers;
mod tx_fail;

pub(crate) use recovery::{Recovery, SpareFlight};
pub(crate) use spares::Spares;

pub(crate) use calls::unsent;
pub(crate) use due::{Due, DueSet};
pub(crate) use halves::{Rcv, Snd, TimeWait};
pub(crate) use open::{Birth, PeerSyn};
pub(crate) use timers::{Timer, TimerTable};

use alloc::collections::VecDeque;
use alloc::sync::Arc;

use crate::config::ConnConfig;
use crate::error::ConnectionError;
use crate::event::Event;
use crate::id::{ConnId, ListenerId};
use crate::rtt::{RttEstimator, RttSampler};
use crate::secret::FourTuple;
use crate::state::State;
use crate::time::{Duration, Instant};
use synack_wire::SeqNum;

/// Where a SYN-RECEIVED connection came from (RFC 9293 MUST-11): a RST sends a passive one
/// back to LISTEN, but refuses an active one.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Origin {
    /// A SYN arrived at this listener.
    Passive(ListenerId),
    /// Our SYN crossed the peer's (simultaneous open). `syn_text` bytes of data came on the
    /// peer's SYN: they wait in the receive ring, not yet acknowledged, until ESTABLISHED.
    Active { syn_text: u16 },
}

/// The control block, one variant per kind of data held: nothing in CLOSED, the send half in
/// SYN-SENT, both halves in the seven states from SYN-RECEIVED to LAST-ACK ([`Tcb::Open`],
/// whose `kind` says which), the little TIME-WAIT keeps.
///
/// The seven two-halves states share one variant so that moving between them is a change of
/// `kind` in place: as separate variants every transition would move `Snd` and `Rcv` out of
/// the old variant and into the new one, several copies per transition and a few per cent of
/// a connection's setup and teardown (docs/ARCHITECTURE.md).
pub(crate) enum Tcb {
    Closed,
    /// `fo`: what an active open with Fast Open puts on its first SYN (boxed: rare, and the
    /// variant must stay no larger than `Open`).
    SynSent {
        snd: Snd,
        fo: Option<alloc::boxed::Box<ActiveFastOpen>>,
    },
    Open {
        snd: Snd,
        rcv: Rcv,
        kind: OpenKind,
    },
    TimeWait(TimeWait),
}

/// An active open's Fast Open attempt (RFC 7413 section 4.2), from the SYN to the SYN-ACK.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ActiveFastOpen {
    /// The option on the first SYN: a cached cookie, an empty one (a cookie request), or none
    /// (data without a cookie, `FastOpenConfig::client_without_cookie`).
    pub(crate) cookie: Option<synack_wire::tcp::FastOpenCookie>,
    /// Most data bytes the first SYN may carry (0: none, only the cookie request).
    pub(crate) room: u32,
    /// Data bytes the first SYN carried.
    pub(crate) sent: u32,
    /// The SYN was retransmitted (a retransmitted SYN carries neither data nor the option).
    pub(crate) retransmitted: bool,
}

/// `now` on a wrapping millisecond clock (49 days round), never zero (its one zero reading
/// counts as 1), for times a connection keeps in 4 bytes and compares by wrapping difference.
pub(crate) fn wrapping_ms(now: Instant) -> core::num::NonZeroU32 {
    core::num::NonZeroU32::new((now.as_millis() as u32).max(1))
        .unwrap_or(core::num::NonZeroU32::MIN)
}

/// Facts about the handshake kept for a connection's life, the interactive mode and three
/// sender flags (cork, withheld push, burst), as bits of one byte (the connection's size is
/// pinned).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct HsFlags(u8);

impl HsFlags {
    /// The peer's SYN carried a window-scale option (so our SYN-ACK carries one too).
    pub(crate) const WS_OFFERED: u8 = 1;
    /// A Fast Open child: accepted with the SYN, before the handshake completed.
    pub(crate) const FO_CHILD: u8 = 2;
    /// Data on a SYN was acknowledged by the SYN-ACK, sent or received (Linux's
    /// `TCPI_OPT_SYN_DATA`).
    pub(crate) const SYN_DATA: u8 = 4;
    /// Congestion control and recovery have been set up ([`Conn::on_established`]): at
    /// ESTABLISHED, or earlier for a Fast Open child, which sends from SYN-RECEIVED.
    pub(crate) const SENDING: u8 = 8;
    /// Interactive (Linux's pingpong mode; not a handshake fact, kept here for the size): we
    /// answered arriving data with data of our own within a delayed-ACK time, so quick ACKs
    /// wait, the reply being expected to carry the ACK. Ends when a delayed ACK had to go
    /// alone, or on data received twice.
    pub(crate) const INTERACTIVE: u8 = 16;
    /// The sender's state below is kept here too, for the size (the connection is pinned
    /// under 1 KiB). The last write asked for more data to come (Linux's `MSG_MORE`): until
    /// the next segment arrives, a timer fires or a plain write, a sub-MSS tail waits even
    /// with nothing in flight (a cork).
    pub(crate) const CORKED: u8 = 32;
    /// The queue's tail was written with more announced, so reaching it is no push point:
    /// the segment that empties the queue carries no PSH until a plain write ends it.
    pub(crate) const PUSH_WITHHELD: u8 = 64;
    /// New-data segments were sent since the last segment arrived or the application last
    /// wrote (the current burst), for PSH placement.
    pub(crate) const BURST_NEW: u8 = 128;

    pub(crate) fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }

    pub(crate) fn set(&mut self, bit: u8, on: bool) {
        if on {
            self.0 |= bit;
        } else {
            self.0 &= !bit;
        }
    }
}

/// Which of the states with both halves a [`Tcb::Open`] is in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum OpenKind {
    SynReceived(Origin),
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
}

impl OpenKind {
    /// The kind for `state`, if it is one of the states with both halves other than
    /// SYN-RECEIVED (which is entered only with its origin, never by [`Conn::goto`]).
    fn for_goto(state: State) -> Option<OpenKind> {
        match state {
            State::Established => Some(OpenKind::Established),
            State::FinWait1 => Some(OpenKind::FinWait1),
            State::FinWait2 => Some(OpenKind::FinWait2),
            State::CloseWait => Some(OpenKind::CloseWait),
            State::Closing => Some(OpenKind::Closing),
            State::LastAck => Some(OpenKind::LastAck),
            _ => None,
        }
    }
}

impl Tcb {
    pub(crate) fn state(&self) -> State {
        match self {
            Tcb::Closed => State::Closed,
            Tcb::SynSent { .. } => State::SynSent,
            Tcb::Open { kind, .. } => match kind {
                OpenKind::SynReceived(_) => State::SynReceived,
                OpenKind::Established => State::Established,
                OpenKind::FinWait1 => State::FinWait1,
                OpenKind::FinWait2 => State::FinWait2,
                OpenKind::CloseWait => State::CloseWait,
                OpenKind::Closing => State::Closing,
                OpenKind::LastAck => State::LastAck,
            },
            Tcb::TimeWait(_) => State::TimeWait,
        }
    }

    pub(crate) fn halves(&mut self) -> Option<(&mut Snd, &mut Rcv)> {
        match self {
            Tcb::Open { snd, rcv, .. } => Some((snd, rcv)),
            _ => None,
        }
    }

    pub(crate) fn halves_ref(&self) -> Option<(&Snd, &Rcv)> {
        match self {
            Tcb::Open { snd, rcv, .. } => Some((snd, rcv)),
            _ => None,
        }
    }

    pub(crate) fn snd(&self) -> Option<&Snd> {
        match self {
            Tcb::SynSent { snd, .. } => Some(snd),
            _ => self.halves_ref().map(|(s, _)| s),
        }
    }

    pub(crate) fn snd_mut(&mut self) -> Option<&mut Snd> {
        match self {
            Tcb::SynSent { snd, .. } => Some(snd),
            _ => self.halves().map(|(s, _)| s),
        }
    }

    fn into_halves(self) -> Option<(Snd, Rcv)> {
        match self {
            Tcb::Open { snd, rcv, .. } => Some((snd, rcv)),
            _ => None,
        }
    }
}

/// Options agreed on the handshake.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Negotiated {
    /// Timestamps in use on both sides (RFC 7323).
    pub(crate) ts: bool,
    /// SACK permitted by both sides (RFC 2018).
    pub(crate) sack: bool,
    /// Shift applied to the peer's window field.
    pub(crate) snd_wscale: u8,
    /// Shift the peer applies to ours.
    pub(crate) rcv_wscale: u8,
    /// The peer's MSS (or the 536/1220 default), before option bytes are subtracted.
    pub(crate) send_mss: u16,
    /// The MSS we advertised.
    pub(crate) rcv_mss: u16,
    /// Every segment carries an MD5 signature (RFC 2385): a key covered the connection when
    /// it was made.
    pub(crate) md5: bool,
}

/// A connection's ECN state (RFC 3168), present only when ECN was negotiated.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Ecn {
    /// Receiver: a CE mark arrived; set ECE on our ACKs until the peer's CWR.
    pub(crate) echo: bool,
    /// Sender: the window was reduced for an ECE; set CWR on the next new data.
    pub(crate) cwr_pending: bool,
    /// Sender: ECE is ignored until SND.UNA passes this (one response per window).
    pub(crate) recover: Option<SeqNum>,
}

/// Counters for [`ConnStats`](crate::ConnStats).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Counters {
    pub(crate) segs_in: u64,
    pub(crate) segs_out: u64,
    pub(crate) retransmits: u64,
    pub(crate) timeouts: u64,
    pub(crate) bytes_sent: u64,
    pub(crate) bytes_acked: u64,
    pub(crate) bytes_received: u64,
}

/// What the endpoint must do after a segment arrived at a connection, beyond the usual
/// bookkeeping. A deleted TCB is not an outcome: every path that deletes one (input, timers,
/// application calls, ICMP) reports it through [`Ctx::deleted`]; a passive SYN-RECEIVED
/// connection that goes back to LISTEN is deleted that way and its listener forgets it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Outcome {
    /// Nothing beyond the usual.
    Continue,
    /// A passive SYN-RECEIVED connection completed its handshake: move it to the accept queue.
    Accepted(ListenerId),
    /// TIME-WAIT accepted a new SYN (RFC 6191): delete this TCB and give the SYN to the
    /// listener; the new ISN must exceed `min_iss`.
    Reopen { min_iss: SeqNum },
}

/// What a connection needs from the endpoint while it works.
pub(crate) struct Ctx<'a> {
    pub(crate) now: Instant,
    pub(crate) id: ConnId,
    pub(crate) events: &'a mut VecDeque<Event>,
    /// Set when the TCB was deleted (CLOSED entered) during this call: the one signal the
    /// endpoint acts on to unmap the connection and free its slot.
    pub(crate) deleted: bool,
    /// Stateless control segments to send (RSTs that outlive their TCB, challenge ACKs).
    pub(crate) ctl: &'a mut crate::control::CtlQueue,
    pub(crate) challenge: &'a mut crate::control::ChallengeBudget,
    pub(crate) msl: Duration,
    /// The segment being processed arrived with the IP ECN codepoint CE.
    pub(crate) ce: bool,
    /// The segment's IP-ECN codepoint (0 Not-ECT, 1 ECT(1), 2 ECT(0), 3 CE).
    pub(crate) ip_ecn: u8,
    /// Where storage a connection lets go of is kept for the next ones.
    pub(crate) spares: &'a mut Spares,
    /// The endpoint's counts of refused segments.
    pub(crate) drops: &'a mut crate::stats::DropCounters,
    /// The segment being processed was coalesced (GRO) from segments of this size.
    pub(crate) seg_size: Option<u16>,
}

impl Ctx<'_> {
    /// Reports a soft error unless the application switched them off (RFC 9293 SHLD-20).
    pub(crate) fn soft_error(&mut self, enabled: bool, error: crate::event::SoftError) {
        if enabled {
            self.event(Event::SoftError { conn: self.id, error });
        }
    }

    pub(crate) fn event(&mut self, e: Event) {
        crate::event::push_bounded(self.events, e);
    }
}

/// One connection.
pub(crate) struct Conn {
    pub(crate) tuple: FourTuple,
    /// Shared (not copied) so that the many connections made with one configuration, the
    /// common case, cost one pointer each instead of a 240-byte copy (idle memory per
    /// connection). Changed per connection with `Arc::make_mut`/a fresh `Arc`.
    pub(crate) cfg: Arc<ConnConfig>,
    pub(crate) tcb: Tcb,
    pub(crate) opt: Negotiated,
    pub(crate) rtt: RttEstimator,
    pub(crate) sampler: RttSampler,
    pub(crate) t: TimerTable,
    /// Why a segment is due besides queued data (an ACK, a probe, the persist override, a
    /// tail loss probe).
    pub(crate) due: DueSet,
    /// Full-sized segments received since we last sent an ACK.
    pub(crate) unacked_segs: u16,
    /// Sticky terminal error.
    pub(crate) error: Option<ConnectionError>,
    /// The application called `close`: it reads no more (half-duplex close, RFC 9293 MAY-1).
    pub(crate) app_closed: bool,
    /// In-order data segments still to be ACKed at once (`ConnConfig::quick_ack_segments`).
    pub(crate) quick_acks_left: u16,
    /// With quick-ACK on: when in-order data last arrived, or when the handshake ended with
    /// our data waiting to go (Linux's `lrcvtime` once its ACK timeout is set), on a wrapping
    /// millisecond clock ([`wrapping_ms`]; 4 bytes, which keeps `Conn` within its size);
    /// `None` before. Data we send within a delayed-ACK time of it makes the connection
    /// interactive.
    pub(crate) last_data_rx: Option<core::num::NonZeroU32>,
    /// The application wants a Writable event when space frees.
    pub(crate) want_writable: bool,
    pub(crate) stats: Counters,
    /// The path MTU estimate, for MMS_S: the link MTU, or less once "packet too big" said so
    /// (to this connection, or to an earlier one to the same destination).
    pub(crate) mtu: u16,
    pub(crate) ts_offset: u32,
    pub(crate) last_rx: Instant,
    /// Unanswered keep-alive probes in a row (2 bytes: `KeepAlive::probes` counts up to
    /// 65535 here, which keeps `Conn` within its size).
    pub(crate) keepalive_probes: u16,
    /// Retransmissions of the current oldest segment.
    pub(crate) rtx_count: u32,
    pub(crate) persist_backoff: u8,
    /// The device refused this connection's last new data (bits of [`tx_fail::Refused`]).
    pub(crate) refused: u8,
    /// When SND.UNA last moved (or the first byte of the current flight left).
    pub(crate) una_since: Instant,
    /// Handshake facts: the peer offered window scaling, Fast Open.
    pub(crate) hs: HsFlags,
    /// Congestion control and loss recovery.
    pub(crate) rec: Recovery,
    /// Push points (ends of writes) for `PushPolicy::EndOfWrite` and record ends
    /// (`Endpoint::send_record`), allocated at the first write that needs them (once, not per
    /// write); `None` otherwise, so the default costs one pointer.
    pub(crate) marks: Option<alloc::boxed::Box<crate::records::SendMarks>>,
    /// Received bytes still unread when the receive half went away on a normal close. Boxed:
    /// rarely set, and a pointer keeps every connection's state smaller.
    pub(crate) unread: Option<alloc::boxed::Box<crate::ring::RingBuffer>>,
    /// ECN state when the handshake agreed on ECN (RFC 3168); `None` otherwise, so no echo or
    /// CWR can be pending on a connection that does not use it.
    pub(crate) ecn: Option<Ecn>,
    /// AccECN state (RFC 9768) when the handshake agreed on it (then `ecn` is `None`); boxed,
    /// as most connections never have it.
    pub(crate) accecn: Option<alloc::boxed::Box<crate::accecn::AccEcn>>,
    /// When the current window of the per-connection limit on ACKs to unacceptable segments
    /// without data (challenge ACKs and out-of-window ACKs; RFC 5961 section 7,
    /// `ConnConfig::unacceptable_ack_limit`) opened: a wrapping millisecond clock (4 bytes
    /// rather than 8 for an `Option<Instant>`, which keeps `Conn` within its size), `None`
    /// before the first such ACK.
    pub(crate) last_oow_ack: Option<core::num::NonZeroU32>,
    /// ACKs sent in that window (a byte that fits in `Conn`'s padding).
    pub(crate) oow_acks: u8,
    /// Sum the payload while copying it into the frame (false when the device fills the TCP
    /// checksum); set by the endpoint before each `poll_segment`.
    pub(crate) sum_tx: bool,
    /// Most payload bytes one new-data segment may carry because the device cuts it into
    /// MSS-sized segments itself (TCP segmentation offload); 0 keeps every segment to one MSS.
    /// Set by the endpoint before each `poll_segment`.
    pub(crate) out_seg_max: u16,
    /// Sequence number just after the last sub-MSS segment of new data sent (Linux's
    /// `snd_sml`), for `ConnConfig::nagle_minshall`: while it lies past SND.UNA that small
    /// segment is unacknowledged. Starts at the ISS (nothing small sent).
    pub(crate) small_end: SeqNum,
}

impl Conn {
    /// A connection in CLOSED, before its first state is entered ([`Conn::start_syn_sent`],
    /// [`Conn::start_syn_received`]).
    pub(crate) fn new(birth: Birth) -> Conn {
        let Birth { tuple, mut cfg, mtu, path_mtu, adv_mss, ts_offset, now, md5 } = birth;
        if cfg.no_options && (cfg.window_scaling || cfg.sack || cfg.timestamps) {
            // Nothing offered, nothing negotiated.
            cfg = Arc::new(ConnConfig {
                window_scaling: false,
                sack: false,
                timestamps: false,
                ..*cfg
            });
        }
        let link = u16::try_from(mtu).unwrap_or(u16::MAX);
        let ip_header_len = if tuple.local.is_ipv4() { 20 } else { 40 };
        let encap =
            if cfg.udp_encapsulation.is_some() { crate::udp_encap::UDP_ENCAP_OVERHEAD } else { 0 };
        let adv_mtu = match adv_mss {
            Some(m) => m.saturating_add((ip_header_len + encap + 20) as u16),
            None => link,
        };
        // Built as the value returned, with nothing done to it after: a connection changed
        // after its literal was built is copied whole (about a kilobyte) on the way out.
        Conn {
            tuple,
            tcb: Tcb::Closed,
            opt: Negotiated { md5, ..Negotiated::default() },
            rtt: RttEstimator::new(cfg.rtt),
            sampler: RttSampler::new(),
            t: TimerTable::default(),
            due: DueSet::default(),
            unacked_segs: 0,
            error: None,
            app_closed: false,
            quick_acks_left: cfg.quick_ack_segments.min(u16::MAX.into()) as u16,
            last_data_rx: None,
            want_writable: false,
            stats: Counters::default(),
            mtu: u16::try_from(path_mtu).unwrap_or(u16::MAX).min(link),
            ts_offset,
            last_rx: now,
            keepalive_probes: 0,
            rtx_count: 0,
            persist_backoff: 0,
            refused: 0,
            una_since: now,
            hs: HsFlags::default(),
            rec: Recovery::for_connection(&cfg, adv_mtu),
            marks: None,
            unread: None,
            ecn: None,
            accecn: None,
            last_oow_ack: None,
            oow_acks: 0,
            sum_tx: true,
            out_seg_max: 0,
            small_end: SeqNum(0),
            // Last: the fields above read it.
            cfg,
        }
    }

    pub(crate) fn state(&self) -> State {
        self.tcb.state()
    }

    /// IP header bytes for this connection's family.
    pub(crate) fn ip_header_len(&self) -> usize {
        if self.tuple.local.is_ipv4() { 20 } else { 40 }
    }

    /// Bytes of each packet the UDP header takes when the connection is encapsulated.
    pub(crate) fn encap_overhead(&self) -> usize {
        if self.cfg.udp_encapsulation.is_some() { crate::udp_encap::UDP_ENCAP_OVERHEAD } else { 0 }
    }

    //= rfc9293#3.7.1
    //~ paraphrase: The MSS we offer: what our link carries (MMS_R) minus the IP and TCP fixed
    //~ headers.
    pub(crate) fn our_mss(&self) -> u16 {
        offered_mss(self.rec.adv_mtu, self.tuple.local.is_ipv4(), &self.cfg)
    }

    //= rfc9293#3.7.1
    //~ paraphrase: Eff.snd.MSS = min(SendMSS+20, MMS_S) - TCPhdrsize - IPoptionsize; the TCP header
    //~ here includes the options every data segment carries (timestamps: 12 bytes).
    #[inline]
    pub(crate) fn eff_snd_mss(&self) -> u32 {
        let base = self.snd_mss_without_options() + 20;
        let mut opts = if self.opt.ts { 12 } else { 0 };
        //~ linux: tcp_connect_init counts the aligned MD5 option (20 bytes) in tcp_header_len.
        if self.opt.md5 {
            opts += synack_wire::tcp::options::MD5_ALIGNED_LEN as u32;
        }
        base.saturating_sub(20 + opts).max(1)
    }

    /// The segment size before the options every data segment carries: min(SendMSS, MMS_S
    /// less the TCP header), FreeBSD's `t_maxseg`.
    pub(crate) fn snd_mss_without_options(&self) -> u32 {
        let mms_s =
            (self.mtu as usize).saturating_sub(self.ip_header_len() + self.encap_overhead()) as u32;
        // SendMSS, lowered by the user's clamp (TCP_MAXSEG) like the peer's announcement.
        let send_mss =
            self.cfg.mss_clamp.map_or(self.opt.send_mss, |c| self.opt.send_mss.min(c.max(64)));
        (send_mss as u32 + 20).min(mms_s).saturating_sub(20)
    }

    /// The space our first window offers: the receive buffer, or under Linux's memory model
    /// what its memory holds at the initial ratio.
    pub(crate) fn initial_space(&self) -> usize {
        match rcv_mem::linux_model(&self.cfg) {
            Some((rcvbuf, _)) => rcv_mem::initial_space(rcvbuf),
            None => self.cfg.recv_buffer,
        }
    }

    /// Window scale shift we offer: the configured one, else the smallest that lets the
    /// receive buffer be advertised.
    pub(crate) fn our_wscale(&self) -> u8 {
        //= rfc7323#2.3
        //~ paraphrase: The shift offered is the sender's choice, at most 14.
        if let Some(s) = self.cfg.window_scale {
            return s.min(14);
        }
        let mut s = 0u8;
        let most = self.cfg.recv_buffer.max(self.cfg.recv_buffer_max);
        while s < 14 && (most >> s) > 65535 {
            s += 1;
        }
        s
    }

    /// Our timestamp clock: milliseconds plus a per-connection offset (RFC 7323 section 5.4).
    pub(crate) fn ts_now(&self, now: Instant) -> u32 {
        (now.as_millis() as u32).wrapping_add(self.ts_offset)
    }

    /// Moves to `target` (one of the states with both halves, TIME-WAIT or CLOSED), reporting
    /// the change.
    pub(crate) fn goto(&mut self, ctx: &mut Ctx<'_>, target: State) {
        let old = self.tcb.state();
        if old == target {
            return;
        }
        if let (Tcb::Open { kind, .. }, Some(next)) = (&mut self.tcb, OpenKind::for_goto(target)) {
            // Between two states with both halves: in place, nothing moves.
            *kind = next;
        } else {
            self.leave_open(ctx, target);
        }
        let new = self.tcb.state();
        ctx.event(Event::StateChanged { conn: ctx.id, old, new });
        if new == State::Established {
            self.on_established();
            ctx.event(Event::Connected(ctx.id));
        }
        if new == State::FinWait2 && self.app_closed {
            self.t.set(Timer::Close, Some(ctx.now + self.cfg.fin_wait2_timeout));
        }
    }

    /// [`Conn::goto`] to a state without both halves (TIME-WAIT, CLOSED), or from one (which
    /// ends in CLOSED).
    fn leave_open(&mut self, ctx: &mut Ctx<'_>, target: State) {
        let tcb = core::mem::replace(&mut self.tcb, Tcb::Closed);
        self.tcb = match (target, tcb.into_halves()) {
            (State::TimeWait, Some((mut snd, mut rcv))) => {
                self.keep_unread(&mut rcv);
                //= rfc9293#3.6.1
                //~ paraphrase: TIME-WAIT lasts 2*MSL.
                let expiry = ctx.now + ctx.msl * 2;
                self.t = TimerTable::only(Timer::Close, expiry);
                let tw = TimeWait::from_halves(&snd, &rcv, expiry);
                ctx.spares.keep_rings(&mut snd.buf, &mut rcv.buf);
                Tcb::TimeWait(tw)
            }
            (_, halves) => {
                if let Some((mut snd, mut rcv)) = halves {
                    self.keep_unread(&mut rcv);
                    ctx.spares.keep_rings(&mut snd.buf, &mut rcv.buf);
                }
                self.t = TimerTable::default();
                ctx.deleted = true;
                Tcb::Closed
            }
        };
    }

    /// The handshake completed (or a Fast Open child may send already): congestion control
    /// and recovery learn SMSS and SACK. Once per connection.
    pub(crate) fn on_established(&mut self) {
        if self.hs.has(HsFlags::SENDING) {
            return;
        }
        self.hs.set(HsFlags::SENDING, true);
        let mss = self.eff_snd_mss();
        let sack = self.opt.sack;
        // Recovery tracks data from the first byte after our SYN (the ACK of the SYN may not
        // have been processed yet when this runs).
        self.rec.want_prr(self.cfg.prr);
        self.rec.want_abc_limit(self.cfg.slow_start_ack_limit);
        self.rec.want_rto_from_cwnd(self.cfg.rto_from_cwnd);
        self.rec.want_hystart(self.cfg.hystart);
        self.round_recv_buffer();
        if let Some(una) = self.tcb.snd().map(|s| s.una.max(s.iss + 1)) {
            self.rec.on_established(mss, sack, una, self.cfg.initial_window_segments);
            if let Some(rtt) = self.rtt.srtt() {
                self.rec.on_handshake_rtt(rtt);
            }
        }
    }

    /// `ConnConfig::recv_buffer_mss_rounding`: once the peer's MSS is known (its SYN arrived),
    /// the receive buffer grows to a whole number of segments, counted without options (as
    /// FreeBSD's `tcp_mss` rounds to `t_maxseg`). Rounding twice changes nothing.
    pub(crate) fn round_recv_buffer(&mut self) {
        let mss = self.snd_mss_without_options().max(1);
        if self.cfg.recv_buffer_mss_rounding
            && let Some((_, rcv)) = self.tcb.halves()
        {
            rcv.buf.round_up_capacity(mss as usize);
        }
    }

    /// The receive half is going away on a normal close (TIME-WAIT, or CLOSED after
    /// LAST-ACK): bytes the application has not read yet stay readable.
    fn keep_unread(&mut self, rcv: &mut Rcv) {
        let keep = self.error.is_none() || self.cfg.reset_keeps_socket;
        if keep && !self.app_closed && !rcv.buf.is_empty() {
            let cap = rcv.buf.capacity();
            let kept = core::mem::replace(&mut rcv.buf, crate::ring::RingBuffer::new(cap));
            self.unread = Some(alloc::boxed::Box::new(kept));
        }
    }

    /// Ends the connection with `error` (sticky) and deletes the TCB.
    pub(crate) fn fail(&mut self, ctx: &mut Ctx<'_>, error: ConnectionError) {
        if self.error.is_none() {
            self.error = Some(error);
        }
        self.goto(ctx, State::Closed);
        ctx.event(Event::Error { conn: ctx.id, error });
    }

    /// Deletes a listener's half-open child without a segment or an error (no application
    /// knows it yet), as when a RST sends it back to LISTEN: the endpoint needs its place.
    pub(crate) fn drop_half_open(&mut self, ctx: &mut Ctx<'_>) {
        self.goto(ctx, State::Closed);
    }

    /// Ends the connection normally and deletes the TCB.
    pub(crate) fn finish(&mut self, ctx: &mut Ctx<'_>) {
        self.goto(ctx, State::Closed);
        ctx.event(Event::Closed(ctx.id));
    }

    // ---- application side ----------------------------------------------------------------
}

#[cfg(test)]
mod size_tests;

/// [`Conn::our_mss`] from the fields it reads (`adv_mtu` is MMS_R), for a caller that holds
/// the control block borrowed.
pub(crate) fn offered_mss(adv_mtu: u16, ipv4: bool, cfg: &ConnConfig) -> u16 {
    let ip = if ipv4 { 20 } else { 40 };
    let encap =
        if cfg.udp_encapsulation.is_some() { crate::udp_encap::UDP_ENCAP_OVERHEAD } else { 0 };
    let mss = (adv_mtu as usize).saturating_sub(ip + encap + 20);
    // What the link carries, however small (a 72-byte IPv4 MTU gives 32; IPv4's minimum
    // MTU, 68, gives 28); one byte at least.
    let mss = mss.clamp(1, 65535) as u16;
    //= rfc9293#3.7.1
    //~ paraphrase: The MSS we announce may be lowered by the user (TCP_MAXSEG).
    cfg.mss_clamp.map_or(mss, |c| mss.min(c.max(64)))
}
