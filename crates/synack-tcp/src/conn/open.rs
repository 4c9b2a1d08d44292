//! How a connection comes to exist: an active open enters SYN-SENT, a passive one (a SYN at a
//! listener, or the ACK of a SYN cookie) enters SYN-RECEIVED. The endpoint only chooses the
//! ISS and files the result; the control block is built here.

use alloc::sync::Arc;

use synack_wire::SeqNum;
use synack_wire::tcp::{TcpFlags, TcpOptions, TcpRepr};

use super::{Conn, Ctx, Ecn, OpenKind, Origin, Rcv, Snd, Tcb};
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
    /// Link MTU, for MMS_S.
    pub(crate) mtu: usize,
    /// Offset of this connection's timestamp clock (RFC 7323 section 5.4).
    pub(crate) ts_offset: u32,
    pub(crate) now: Instant,
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
    pub(crate) fn syn_sent(birth: Birth, iss: SeqNum) -> Conn {
        let buffer = birth.cfg.send_buffer;
        let mut conn = Conn::new(birth);
        conn.tcb = Tcb::SynSent { snd: Snd::new(iss, buffer) };
        conn
    }

    /// Passive OPEN: SYN-RECEIVED for `listener`, answering `syn` with `iss`.
    pub(crate) fn syn_received(
        birth: Birth,
        listener: ListenerId,
        iss: SeqNum,
        syn: PeerSyn<'_>,
    ) -> Conn {
        let now = birth.now;
        let mut conn = Conn::new(birth);
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
        let mut snd = Snd::new(iss, cfg.send_buffer);
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
            }
            PeerSyn::Cookie { window, .. } => {
                rcv.adv_right = rcv.nxt + window as u32;
                snd.nxt = iss + 1;
                snd.max_nxt = iss + 1;
            }
        }
        conn.tcb = Tcb::Open { snd, rcv, kind: OpenKind::SynReceived(Origin::Passive(listener)) };
        conn
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
