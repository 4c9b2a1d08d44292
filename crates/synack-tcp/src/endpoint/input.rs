//! Segment arrival: demultiplexing to a connection, a listener, or the CLOSED state's reply.

use core::net::{IpAddr, SocketAddr};
use core::num::NonZeroU16;

use synack_wire::SeqNum;
use synack_wire::tcp::TcpRepr;

use super::{ConnId, Endpoint, addr_usable};
use crate::config::IpFields;
use crate::conn::Outcome;
use crate::control::CtlSegment;
use crate::secret::FourTuple;
use crate::time::Instant;

impl Endpoint {
    /// A TCP segment arrived from `src` for `dst` (checksum already verified by the caller).
    pub fn on_segment(&mut self, now: Instant, src: IpAddr, dst: IpAddr, seg: &TcpRepr<'_>) {
        self.on_segment_with_ecn(now, src, dst, 0, seg);
    }

    /// [`on_segment`](Self::on_segment) with the two ECN bits of the IP header (RFC 3168:
    /// 0 Not-ECT, 1 ECT(1), 2 ECT(0), 3 CE), for connections that negotiated ECN.
    pub fn on_segment_with_ecn(
        &mut self,
        now: Instant,
        src: IpAddr,
        dst: IpAddr,
        ecn: u8,
        seg: &TcpRepr<'_>,
    ) {
        self.ip_ecn = ecn & 3;
        self.segment_input(now, src, dst, seg);
        self.ip_ecn = 0;
    }

    /// [`on_segment_with_ecn`](Self::on_segment_with_ecn) for a segment a receive offload
    /// coalesced (GRO, LRO) from segments of `seg_size` payload bytes: the receiver's estimate
    /// of the peer's segment size ([`ConnStats::peer_mss_estimate`](crate::ConnStats)) learns
    /// that size rather than the coalesced length.
    pub fn on_coalesced_segment(
        &mut self,
        now: Instant,
        src: IpAddr,
        dst: IpAddr,
        ecn: u8,
        seg_size: u16,
        seg: &TcpRepr<'_>,
    ) {
        self.rx_seg_size = Some(seg_size);
        self.on_segment_with_ecn(now, src, dst, ecn, seg);
        self.rx_seg_size = None;
    }

    /// [`on_segment_with_ecn`](Self::on_segment_with_ecn) for a segment that arrived inside a
    /// UDP datagram from the remote UDP port `udp_port` (TCP over UDP, see
    /// [`crate::udp_encap`]; the caller took it out of the datagram and checked it).
    pub fn on_udp_segment(
        &mut self,
        now: Instant,
        src: IpAddr,
        dst: IpAddr,
        ecn: u8,
        udp_port: NonZeroU16,
        seg: &TcpRepr<'_>,
    ) {
        self.rx_udp = Some(udp_port);
        self.on_segment_with_ecn(now, src, dst, ecn, seg);
        self.rx_udp = None;
    }

    /// True when `seg` came by another way than connection `id`'s segments travel (plain TCP
    /// or another UDP port) and is not a SYN that reopens it from TIME-WAIT: it does not belong
    /// to the connection (see [`crate::udp_encap`]).
    /// Returns the connection's IP fields then, for the reply.
    fn foreign_way(&mut self, id: ConnId, seg: &TcpRepr<'_>) -> Option<IpFields> {
        let rx = self.rx_udp;
        let conn = super::slots::conn_in(&mut self.slots, id).ok()?;
        (conn.cfg.udp_encapsulation != rx && conn.reopen_iss(seg).is_none()).then_some(conn.cfg.ip)
    }

    /// Gives `seg` to connection `id` and acts on what it says.
    pub(super) fn conn_input(&mut self, id: ConnId, tuple: FourTuple, seg: &TcpRepr<'_>) {
        if !seg.payload.is_empty()
            && let Ok(conn) = super::slots::conn_in(&mut self.slots, id)
            && let Some((_, rcv)) = conn.tcb.halves()
        {
            self.spares.lend_ring(&mut rcv.buf, seg.payload.len());
        }
        if seg.flags.syn() {
            self.fast_open_learn(id, seg);
        }
        let outcome =
            self.with_conn(id, |c, ctx| c.on_segment(ctx, seg)).unwrap_or(Outcome::Continue);
        match outcome {
            Outcome::Continue => self.after(id),
            Outcome::Accepted(l) => {
                self.move_to_accept_queue(l, id);
                self.after(id);
            }
            Outcome::Reopen { min_iss } => {
                // The TIME-WAIT TCB makes way for the new incarnation.
                self.with_conn(id, |c, ctx| c.finish(ctx));
                self.after(id);
                if let Some(l) = self.find_listener(tuple.local) {
                    self.listen_input(l, tuple, seg, Some(min_iss));
                }
            }
        }
    }

    /// The connection `tuple` maps to, through the one-entry `last_hit` cache.
    #[inline]
    pub(super) fn conn_for(&mut self, tuple: &FourTuple) -> Option<ConnId> {
        if let Some((t, id)) = self.last_hit
            && t == *tuple
        {
            return Some(id);
        }
        let id = self.lookup(tuple)?;
        self.last_hit = Some((*tuple, id));
        Some(id)
    }

    pub(super) fn segment_input(
        &mut self,
        now: Instant,
        src: IpAddr,
        dst: IpAddr,
        seg: &TcpRepr<'_>,
    ) {
        self.advance(now);
        if !addr_usable(src) || !addr_usable(dst) || seg.src_port == 0 || seg.dst_port == 0 {
            return;
        }
        if self.config.drop_syn_fin && seg.flags.syn() && seg.flags.fin() {
            return;
        }
        let tuple = FourTuple {
            local: SocketAddr::new(dst, seg.dst_port),
            remote: SocketAddr::new(src, seg.src_port),
        };
        if !self.md5_admits(&tuple, src, dst, seg) {
            return;
        }
        if let Some(id) = self.conn_for(&tuple) {
            if let Some(ip) = self.foreign_way(id, seg) {
                //~ freebsd: tcp_input answers a segment whose UDP encapsulation port differs
                //~ from the connection's as if no connection existed, by the segment's way, in
                //~ a reply built from the connection (tcp_respond, tcp_twrespond in TIME-WAIT)
                //~ that carries its socket's TTL and TOS.
                self.closed_reply(tuple, seg, ip);
                return;
            }
            if self.accept_queue_full_for(id) && seg.flags.ack() && !seg.flags.rst() {
                // Like Linux: the handshake cannot complete while the accept queue is full;
                // the ACK is dropped and our SYN-ACK retransmission invites another.
                self.listen_counts.acks_dropped_accept_full += 1;
                return;
            }
            self.conn_input(id, tuple, seg);
            return;
        }
        match self.find_listener(tuple.local) {
            Some(l) => self.listen_input(l, tuple, seg, None),
            None => self.closed_input(tuple, seg),
        }
    }

    //= rfc9293#3.10.7.1
    //~ paraphrase: CLOSED: a RST is dropped; an ACK gets <SEQ=SEG.ACK><CTL=RST>; anything else gets
    //~ <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. A RST is never answered with a RST.
    pub(super) fn closed_input(&mut self, tuple: FourTuple, seg: &TcpRepr<'_>) {
        self.closed_reply(tuple, seg, IpFields::default());
    }

    /// [`Endpoint::closed_input`]'s reply, sent with the IP fields `ip`.
    fn closed_reply(&mut self, tuple: FourTuple, seg: &TcpRepr<'_>, ip: IpFields) {
        if seg.flags.rst() {
            return;
        }
        let reply = if seg.flags.ack() {
            CtlSegment::rst(tuple, seg.ack)
        } else {
            CtlSegment::rst_ack(tuple, SeqNum(0), seg.seq + seg.seq_len())
        };
        self.ctl.push(reply.via(self.rx_udp).with_ip(ip));
    }
}
