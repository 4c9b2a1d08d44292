//! How a connection comes to exist: an active open enters SYN-SENT, a passive one (a SYN at a
//! listener, or the ACK of a SYN cookie) enters SYN-RECEIVED. The endpoint only chooses the
//! ISS and files the result; the control block is built here.

use alloc::sync::Arc;

use synack_wire::SeqNum;
use synack_wire::tcp::{TcpFlags, TcpOptions, TcpRepr};

use super::{ActiveFastOpen, Conn, Ctx, Ecn, HsFlags, OpenKind, Origin, Rcv, Snd, Tcb};
use crate::config::ConnConfig;
use crate::event::Event;
use crate::id::ListenerId;
use crate::secret::FourTuple;
use crate::state::State;
use crate::time::Instant;

/// What every new connection starts from, whichever way it opens.
pub(crate) struct Birth {
    pub(crate) tuple: FourTuple,
    pub(crate) cfg: Arc<ConnConfig>,
    /// Link MTU: what our MSS option offers (MMS_R).
    pub(crate) mtu: usize,
    /// The path MTU learned for the destination by earlier connections (at most `mtu`), for
    /// MMS_S.
    pub(crate) path_mtu: usize,
    /// The MSS our SYN or SYN-ACK announces when the route sets one (`RouteMetrics::advmss`),
    /// in place of the link's.
    pub(crate) adv_mss: Option<u16>,
    /// Offset of this connection's timestamp clock (RFC 7323 section 5.4).
    pub(crate) ts_offset: u32,
    pub(crate) now: Instant,
    /// An MD5 key covers the connection: every segment is signed (RFC 2385).
    pub(crate) md5: bool,
}

/// What a passive open needs of its [`Birth`] besides what [`Conn::new`] keeps.
#[derive(Clone, Copy)]
pub(crate) struct Handshake {
    now: Instant,
    /// The MTU the handshake's MSS is judged against (path MTU within the link's).
    mtu: u16,
}

impl Birth {
    /// What [`Conn::start_syn_received`] needs of this birth once [`Conn::new`] has it.
    pub(crate) fn handshake(&self) -> Handshake {
        Handshake {
            now: self.now,
            mtu: u16::try_from(self.path_mtu.min(self.mtu)).unwrap_or(u16::MAX),
        }
    }
}

/// The peer's SYN as a listener knows it.
pub(crate) enum PeerSyn<'a> {
    /// The SYN itself just arrived; our SYN-ACK is still to be sent.
    Arrived(&'a TcpRepr<'a>),
    /// Rebuilt from the ACK of a SYN cookie (RFC 4987): our SYN-ACK already left, statelessly,
    /// offering `window`, and the options are those the cookie encoded.
    Cookie { irs: SeqNum, options: TcpOptions, window: u16 },
}

impl Conn {
    /// Active OPEN: SYN-SENT with initial send sequence number `iss`; the SYN goes out on the
    /// next poll.
    ///
    /// Called on a [`Conn::new`] already filed in its slot (the connection is built in place,
    /// not copied there whole).
    pub(crate) fn start_syn_sent(&mut self, iss: SeqNum, now: Instant) {
        self.mtu_probe_init(now);
        let snd = Snd::for_config(iss, &self.cfg);
        self.tcb = Tcb::SynSent { snd, fo: None };
        self.small_end = iss;
    }

    /// Makes an active open in SYN-SENT, whose SYN has not left yet, a Fast Open attempt:
    /// the first SYN carries `fo.cookie` and up to `fo.room` bytes of the queued data.
    pub(crate) fn attempt_fast_open(&mut self, fo: ActiveFastOpen) {
        if let Tcb::SynSent { snd, fo: slot } = &mut self.tcb
            && snd.max_nxt == snd.iss
        {
            *slot = Some(alloc::boxed::Box::new(fo));
        }
    }

    /// A Fast Open child still waiting for the handshake's last ACK (it counts against its
    /// listener's Fast Open limit).
    pub(crate) fn is_fast_open_child_pending(&self) -> bool {
        self.hs.has(HsFlags::FO_CHILD) && self.state() == crate::state::State::SynReceived
    }

    /// Whether data on a SYN was acknowledged by the SYN-ACK, sent or received (Linux's
    /// `TCPI_OPT_SYN_DATA`).
    pub(crate) fn syn_data_acked(&self) -> bool {
        self.hs.has(HsFlags::SYN_DATA)
    }

    /// Whether both SYNs offered window scaling (ours when configured, the peer's as seen).
    pub(crate) fn window_scaling_agreed(&self) -> bool {
        self.hs.has(HsFlags::WS_OFFERED)
    }

    /// Whether this connection was accepted with its SYN's data (a Fast Open child).
    pub(crate) fn is_fast_open_child(&self) -> bool {
        self.hs.has(HsFlags::FO_CHILD)
    }

    /// The Fast Open attempt of a connection in SYN-SENT, if it makes one.
    pub(crate) fn active_fast_open(&self) -> Option<&ActiveFastOpen> {
        match &self.tcb {
            Tcb::SynSent { fo, .. } => fo.as_deref(),
            _ => None,
        }
    }

    /// Passive OPEN: SYN-RECEIVED for `listener`, answering `syn` with `iss`. With
    /// `fast_open` the connection is a Fast Open child (RFC 7413 section 4.2.2): the data on
    /// the SYN is taken now and the SYN-ACK acknowledges it.
    ///
    /// Called on a [`Conn::new`] already filed in its slot (the connection is built in place,
    /// not copied there whole), with `handshake` what [`Birth::handshake`] said of its birth.
    pub(crate) fn start_syn_received(
        &mut self,
        handshake: Handshake,
        listener: ListenerId,
        iss: SeqNum,
        syn: PeerSyn<'_>,
        fast_open: bool,
    ) {
        let Handshake { now, mtu: handshake_mtu } = handshake;
        let conn = self;
        conn.mtu_probe_init(now);
        conn.mtu_probe_passive_open(handshake_mtu);
        let cfg = Arc::clone(&conn.cfg);
        let (irs, window) = match &syn {
            PeerSyn::Arrived(seg) => {
                conn.negotiate(&seg.options);
                let f = seg.flags;
                //= rfc3168#6.1.1
                //~ paraphrase: An ECN-setup SYN carries ECE and CWR; we agree when configured.
                let ecn = cfg.ecn && f.contains(TcpFlags::ECE) && f.contains(TcpFlags::CWR);
                conn.ecn = ecn.then(Ecn::default);
                (seg.seq, seg.window)
            }
            PeerSyn::Cookie { irs, options, .. } => {
                conn.negotiate(options);
                (*irs, 0)
            }
        };
        let mut rcv = Rcv::new(irs, &cfg, conn.opt.rcv_wscale);
        let mut snd = Snd::for_config(iss, &cfg);
        conn.small_end = iss;
        //= rfc9293#3.10.7.2
        //~ paraphrase: SND.WND from the SYN (never scaled), SND.WL1 = SEG.SEQ.
        snd.wnd = window as u32;
        snd.max_wnd = snd.wnd;
        snd.wl1 = irs;
        match syn {
            PeerSyn::Arrived(seg) => {
                if conn.opt.ts
                    && let Some(ts) = seg.options.timestamps
                {
                    rcv.ts_recent = Some((ts.tsval, now));
                }
                if fast_open {
                    //= rfc7413#4.2.2
                    //~ paraphrase: With a valid cookie the server accepts the SYN's data,
                    //~ delivers it to the application and acknowledges it on the SYN-ACK.
                    let n = seg.payload.len().min(rcv.buf.free());
                    rcv.asm.set_max_bytes(rcv.buf.free() as u32);
                    rcv.buf.write_at(0, &seg.payload[..n]);
                    if let crate::assembler::Inserted::Advanced { bytes, .. } =
                        rcv.asm.insert(rcv.nxt, n as u32)
                    {
                        rcv.buf.commit(bytes as usize);
                        rcv.nxt = rcv.asm.rcv_nxt();
                    }
                    conn.stats.bytes_received += n as u64;
                    conn.hs.set(HsFlags::FO_CHILD, true);
                    conn.hs.set(HsFlags::SYN_DATA, n > 0);
                }
            }
            PeerSyn::Cookie { window, .. } => {
                rcv.adv_right = rcv.nxt + window as u32;
                snd.nxt = iss + 1;
                snd.max_nxt = iss + 1;
            }
        }
        conn.tcb = Tcb::Open { snd, rcv, kind: OpenKind::SynReceived(Origin::Passive(listener)) };
        if conn.hs.has(HsFlags::FO_CHILD) {
            // It may send as soon as its SYN-ACK is out.
            conn.on_established();
        }
    }

    /// Reports the state a new connection was created in, once the endpoint has filed it
    /// under an id.
    pub(crate) fn announce(&self, ctx: &mut Ctx<'_>) {
        let old = match self.tcb {
            Tcb::Open { kind: OpenKind::SynReceived(Origin::Passive(_)), .. } => State::Listen,
            _ => State::Closed,
        };
        ctx.event(Event::StateChanged { conn: ctx.id, old, new: self.state() });
    }
}
