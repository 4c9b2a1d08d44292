//! Passive open: listeners, their SYN and accept queues, the LISTEN state's input and SYN
//! cookies (RFC 4987).

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, SocketAddr};

use synack_wire::SeqNum;
use synack_wire::tcp::{TcpOptions, TcpRepr, Timestamps};

use super::slots::Owner;
use super::{ConnId, Endpoint, ListenerId, addr_usable};
use crate::config::ConnConfig;
use crate::conn::{Conn, PeerSyn};
use crate::control::{CookieReply, CtlSegment};
use crate::cookie;
use crate::error::{ConnectionError, ListenError};
use crate::event::Event;
use crate::secret::FourTuple;
use crate::state::State;
use crate::stats::ListenCounters;

/// The listener-map key of the wildcard listener (`listen_any`): port 0, which `listen`
/// refuses, so no ordinary listener can have it.
pub(super) const ANY_LISTENER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);

/// SYN-ACK retransmissions of a half-open child admitted while its listener's SYN queue is at
/// least half full: under a flood such an entry goes 1 + 2 + 4 = 7 s after its SYN instead of
/// 63 s, so the queue, and with it cookie mode, drains within seconds of the flood's end.
/// Half the queue keeps the configured retries, for peers on slow or lossy paths.
pub(super) const CROWDED_SYN_ACK_RETRIES: u32 = 2;

/// A listening socket and its children.
pub(super) struct Listener {
    pub(super) local: SocketAddr,
    pub(super) backlog: usize,
    pub(super) cfg: ConnConfig,
    /// Half-open children (SYN-RECEIVED).
    pub(super) half_open: Vec<ConnId>,
    /// Established children waiting for `accept` (and Fast Open children, accepted with their
    /// SYN, still in SYN-RECEIVED).
    pub(super) ready: VecDeque<ConnId>,
    /// Fast Open: most children accepted with their SYN's data that may wait for the
    /// handshake's last ACK at once; 0: Fast Open off (see
    /// [`Endpoint::set_listener_fast_open`]).
    pub(super) fast_open_queue: usize,
    /// This listener's own cookie key (Linux's `TCP_FASTOPEN_KEY`), instead of the
    /// endpoint's.
    pub(super) fast_open_key: Option<[u8; 16]>,
}

impl Listener {
    /// Forgets a child that is gone, from whichever queue holds it. True when it was
    /// half-open.
    pub(super) fn forget(&mut self, id: ConnId) -> bool {
        if remove_child(&mut self.half_open, id) {
            return true;
        }
        if let Some(i) = self.ready.iter().position(|c| *c == id) {
            self.ready.remove(i);
        }
        false
    }
}

impl Endpoint {
    /// Passive OPEN: listen on `local` (an unspecified IP listens on every address of that
    /// family) with an accept queue of `backlog` connections, using the endpoint's default
    /// connection settings.
    pub fn listen(&mut self, local: SocketAddr, backlog: usize) -> Result<ListenerId, ListenError> {
        self.listen_with(local, backlog, self.config.conn)
    }

    /// [`listen`](Self::listen) with the settings accepted connections get.
    pub fn listen_with(
        &mut self,
        local: SocketAddr,
        backlog: usize,
        cfg: ConnConfig,
    ) -> Result<ListenerId, ListenError> {
        if local.port() == 0 || (!local.ip().is_unspecified() && !addr_usable(local.ip())) {
            return Err(ListenError::InvalidAddress);
        }
        if backlog == 0 {
            return Err(ListenError::InvalidBacklog);
        }
        //= rfc9293#3.9.1.1
        //~ paraphrase: A passive OPEN creates a LISTEN record or fails; it never disturbs a
        //~ connection (MUST-41), and may share the port of connections in any state (MUST-42).
        if self.by_local.contains_key(&local) {
            return Err(ListenError::AddrInUse);
        }
        Ok(self.add_listener(local, backlog, cfg))
    }

    /// Opens a listener under map key `local` (free, checked by the caller) in the first
    /// free slot.
    pub(super) fn add_listener(
        &mut self,
        local: SocketAddr,
        backlog: usize,
        cfg: ConnConfig,
    ) -> ListenerId {
        let listener = Listener {
            local,
            backlog,
            cfg,
            half_open: Vec::new(),
            ready: VecDeque::new(),
            fast_open_queue: 0,
            fast_open_key: None,
        };
        let id = match self.listeners.iter().position(Option::is_none) {
            Some(i) => {
                self.listeners[i] = Some(listener);
                ListenerId(i as u32)
            }
            None => {
                self.listeners.push(Some(listener));
                ListenerId(self.listeners.len() as u32 - 1)
            }
        };
        self.by_local.insert(local, id);
        id
    }

    /// Changes the settings connections accepted from now on get (socket options set on a
    /// listening socket, e.g. TCP_MAXSEG). Connections already in the queues keep theirs.
    /// Returns false when `id` names no open listener.
    pub fn set_listener_config(&mut self, id: ListenerId, cfg: ConnConfig) -> bool {
        match self.listeners.get_mut(id.0 as usize).and_then(Option::as_mut) {
            Some(l) => {
                l.cfg = cfg;
                true
            }
            None => false,
        }
    }

    /// Closes a listener: its half-open children are reset, connections waiting in its accept
    /// queue are aborted (the application never saw them).
    pub fn close_listener(&mut self, id: ListenerId) {
        let Some(l) = self.listeners.get_mut(id.0 as usize).and_then(Option::take) else {
            return;
        };
        self.by_local.remove(&l.local);
        for child in l.half_open.iter().chain(l.ready.iter()) {
            self.with_conn(*child, |c, ctx| c.abort_with(ctx, ConnectionError::ListenerClosed));
            self.after(*child);
            // A child that already ended and waited to be accepted
            // (`ConnConfig::reset_keeps_socket`) has no TCB to delete: free it here.
            if self.slot_mut(*child).is_some_and(|s| !s.mapped && s.owner == Owner::Listener(id)) {
                self.free_slot(*child);
            }
        }
    }

    /// Takes the next established connection from a listener's accept queue.
    pub fn accept(&mut self, id: ListenerId) -> Option<ConnId> {
        let l = self.listeners.get_mut(id.0 as usize)?.as_mut()?;
        let c = l.ready.pop_front()?;
        if let Some(slot) = self.slot_mut(c) {
            slot.owner = Owner::App;
        }
        Some(c)
    }

    /// Connections waiting to be accepted on a listener.
    pub fn accept_queue_len(&self, id: ListenerId) -> usize {
        self.listener(id).map(|l| l.ready.len()).unwrap_or(0)
    }

    /// Half-open connections (SYN-RECEIVED) of a listener.
    pub fn syn_queue_len(&self, id: ListenerId) -> usize {
        self.listener(id).map(|l| l.half_open.len()).unwrap_or(0)
    }

    pub(super) fn listener(&self, id: ListenerId) -> Option<&Listener> {
        self.listeners.get(id.0 as usize)?.as_ref()
    }

    pub(super) fn find_listener(&self, local: SocketAddr) -> Option<ListenerId> {
        if let Some(l) = self.by_local.get(&local) {
            return Some(*l);
        }
        let any = match local.ip() {
            IpAddr::V4(_) => IpAddr::V4(core::net::Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(_) => IpAddr::V6(core::net::Ipv6Addr::UNSPECIFIED),
        };
        self.by_local
            .get(&SocketAddr::new(any, local.port()))
            .or_else(|| self.by_local.get(&ANY_LISTENER))
            .copied()
    }

    pub(super) fn listen_input(
        &mut self,
        lid: ListenerId,
        tuple: FourTuple,
        seg: &TcpRepr<'_>,
        min_iss: Option<SeqNum>,
    ) {
        let f = seg.flags;
        //= rfc9293#3.10.7.2
        //~ paraphrase: LISTEN: an incoming RST is ignored.
        if f.rst() {
            return;
        }
        if f.ack() {
            if !f.syn() && self.try_cookie(lid, tuple, seg) {
                return;
            }
            if f.syn() && self.config.listen_drops_syn_ack {
                //~ freebsd: tcp_input drops a SYN-ACK to a listening socket unanswered.
                return;
            }
            //= rfc9293#3.10.7.2
            //~ paraphrase: LISTEN: any ACK is bad: <SEQ=SEG.ACK><CTL=RST>.
            self.ctl.push(CtlSegment::rst(tuple, seg.ack).via(self.rx_udp));
            return;
        }
        if !f.syn() {
            //= rfc9293#3.10.7.2
            //~ paraphrase: LISTEN: other text or control without SYN is dropped.
            return;
        }
        let Some(Some(l)) = self.listeners.get(lid.0 as usize) else { return };
        let (backlog, mut cfg, half_open) = (l.backlog, l.cfg, l.half_open.len());
        // A child's segments go back the way its SYN came.
        cfg.udp_encapsulation = self.rx_udp;
        self.listen_counts.syns += 1;
        let accept_full = l.ready.len() >= backlog;
        if accept_full {
            // Like Linux: with the accept queue full, SYNs are dropped; the peer retries.
            self.listen_counts.syns_dropped_accept_full += 1;
            return;
        }
        let now = self.now;
        let queue_full =
            half_open >= self.config.syn_queue_len || self.live >= self.config.max_connections;
        if queue_full || self.config.syn_cookies_always {
            //= rfc4987#3.6
            //~ paraphrase: SYN queue full: answer with a SYN cookie and keep no state.
            if self.config.syn_cookies || self.config.syn_cookies_always {
                self.listen_counts.cookies_sent += 1;
                self.send_cookie(tuple, seg, cfg);
            } else {
                self.listen_counts.syns_dropped_queue_full += 1;
            }
            return;
        }
        self.listen_counts.half_open_admitted += 1;
        if half_open >= self.config.syn_queue_len / 2 {
            //= rfc4987#3.2
            //~ paraphrase: Reducing the SYN-RECEIVED timer frees the entries of spoofed SYNs sooner.
            //~ linux: reqsk_timer_handler keeps half the SYN queue for young requests and cuts
            //~ the SYN-ACK retries of the others down to 2 while it is more than half full.
            cfg.syn_ack_retries = cfg.syn_ack_retries.map(|r| r.min(CROWDED_SYN_ACK_RETRIES));
        }
        let mut iss = self.choose_isn(now, &tuple);
        if let Some(min) = min_iss
            && iss.lt(min)
        {
            //= rfc9293#3.6.1
            //~ paraphrase: A SYN accepted in TIME-WAIT needs an ISN above the old incarnation's
            //~ (MAY-2).
            iss = min + 65536 * 2;
        }
        let fo = self.fast_open_syn(lid, &tuple, seg);
        let birth = self.birth(tuple, cfg, now);
        let handshake = birth.handshake();
        let ip_ecn = self.ip_ecn;
        let id = self.admit_child(lid, Conn::new(birth), |c| {
            c.start_syn_received(handshake, lid, iss, PeerSyn::Arrived(seg), fo.accept);
            c.accecn_on_syn(seg.flags, ip_ecn);
        });
        if let Some(c) = fo.reply {
            self.fo_reply.insert(id, c);
        }
        if fo.accept {
            //= rfc7413#4.2.2
            //~ paraphrase: The Fast Open child is handed to the application at once, before the
            //~ handshake completes, so it can read the SYN's data and answer.
            self.move_to_accept_queue(lid, id);
        }
        self.after(id);
    }

    /// Files a new child of `lid`, makes it SYN-RECEIVED with `init` where it is filed (a
    /// connection is about a kilobyte: built in place, not copied in whole), and reports its
    /// state.
    fn admit_child(&mut self, lid: ListenerId, conn: Conn, init: impl FnOnce(&mut Conn)) -> ConnId {
        let id = self.insert(conn, Owner::Listener(lid));
        if let Ok(c) = super::slots::conn_in(&mut self.slots, id) {
            init(c);
        }
        if let Some(Some(l)) = self.listeners.get_mut(lid.0 as usize) {
            l.half_open.push(id);
        }
        self.with_conn(id, |c, ctx| c.announce(ctx));
        id
    }

    pub(super) fn send_cookie(&mut self, tuple: FourTuple, seg: &TcpRepr<'_>, cfg: ConnConfig) {
        let now = self.now;
        let probe = Conn::new(self.birth(tuple, cfg, now));
        let peer_mss = seg.options.mss.unwrap_or(if tuple.local.is_ipv4() { 536 } else { 1220 });
        let ws = match seg.options.window_scale {
            Some(w) if cfg.window_scaling => Some(w.min(14)),
            _ => None,
        };
        let sack = cfg.sack && seg.options.sack_permitted;
        let ts = match seg.options.timestamps {
            Some(t) if cfg.timestamps => Some(t),
            _ => None,
        };
        let c = cookie::encode(&self.secrets, now, &tuple, seg.seq, peer_mss);
        let mut options = TcpOptions {
            mss: Some(probe.our_mss()),
            window_scale: ws.map(|_| probe.our_wscale()),
            sack_permitted: sack && ts.is_some(),
            ..TcpOptions::default()
        };
        if let Some(t) = ts {
            let tsval = cookie::encode_ts(probe.ts_now(now), ws, sack);
            options.timestamps = Some(Timestamps { tsval, tsecr: t.tsval });
        }
        self.last_cookie = Some(now);
        self.ctl.push_cookie(CookieReply {
            tuple,
            iss: c.iss,
            ack: seg.seq + 1,
            window: cfg.recv_buffer.min(65535) as u16,
            options,
            layout: cfg.option_layout,
            udp_port: cfg.udp_encapsulation,
            ip: cfg.ip,
        });
    }

    /// An ACK reached a listener: maybe the third segment of a cookie handshake.
    pub(super) fn try_cookie(
        &mut self,
        lid: ListenerId,
        tuple: FourTuple,
        seg: &TcpRepr<'_>,
    ) -> bool {
        let now = self.now;
        let recent = self
            .last_cookie
            .is_some_and(|t| now.saturating_since(t) < cookie::VALIDITY + cookie::VALIDITY);
        if !recent {
            return false;
        }
        let Some(peer_mss) = cookie::check(&self.secrets, now, &tuple, seg.seq - 1, seg.ack - 1)
        else {
            self.listen_counts.cookies_rejected += 1;
            return false;
        };
        let Some(Some(l)) = self.listeners.get(lid.0 as usize) else { return false };
        let mut cfg = l.cfg;
        cfg.udp_encapsulation = self.rx_udp;
        if l.ready.len() >= l.backlog {
            // As for a half-open child: the handshake cannot complete while the accept queue
            // is full. The ACK is taken (no RST) and dropped; the peer's retransmission of
            // its data or ACK carries the same cookie and may find room.
            self.listen_counts.acks_dropped_accept_full += 1;
            return true;
        }
        if self.live >= self.config.max_connections && !self.evict_half_open(lid) {
            self.listen_counts.acks_dropped_accept_full += 1;
            return true;
        }
        let (ws, sack, ts) = match seg.options.timestamps {
            Some(t) if cfg.timestamps => {
                let (ws, sack) = cookie::decode_ts(t.tsecr);
                (ws, sack, true)
            }
            _ => (None, false, false),
        };
        let options = TcpOptions {
            mss: Some(peer_mss),
            window_scale: ws,
            sack_permitted: sack,
            timestamps: if ts { seg.options.timestamps } else { None },
            ..TcpOptions::default()
        };
        let syn = PeerSyn::Cookie {
            irs: seg.seq - 1,
            options,
            window: cfg.recv_buffer.min(65535) as u16,
        };
        let birth = self.birth(tuple, cfg, now);
        let handshake = birth.handshake();
        let id = self.admit_child(lid, Conn::new(birth), |c| {
            c.start_syn_received(handshake, lid, seg.ack - 1, syn, false);
        });
        self.listen_counts.cookies_accepted += 1;
        // The ACK completes the handshake in the ordinary way.
        self.conn_input(id, tuple, seg);
        true
    }

    /// Makes room for a handshake that completed while the endpoint holds its most
    /// connections: the oldest half-open child of `lid` (under a flood, most likely a spoofed
    /// SYN's) goes, silently, as its expiry would. False when `lid` has none.
    fn evict_half_open(&mut self, lid: ListenerId) -> bool {
        let Some(Some(l)) = self.listeners.get_mut(lid.0 as usize) else { return false };
        if l.half_open.is_empty() {
            return false;
        }
        let victim = l.half_open.remove(0);
        self.with_conn(victim, |c, ctx| c.drop_half_open(ctx));
        self.after(victim);
        self.listen_counts.half_open_evicted += 1;
        true
    }

    /// Segments whose data the connections refused, by reason, since the endpoint was made.
    pub fn drop_counters(&self) -> crate::stats::DropCounters {
        self.drops
    }

    /// What the listeners did with SYNs and handshake ACKs, with the half-open entries held
    /// now and the listeners in cookie mode.
    pub fn listen_counters(&self) -> ListenCounters {
        let mut c = self.listen_counts;
        for l in self.listeners.iter().flatten() {
            c.half_open += l.half_open.len() as u64;
            if self.config.syn_cookies && l.half_open.len() >= self.config.syn_queue_len {
                c.listeners_in_cookie_mode += 1;
            }
        }
        c
    }

    /// True when `id` is a half-open child whose listener's accept queue is full.
    pub(super) fn accept_queue_full_for(&self, id: ConnId) -> bool {
        let Some(slot) = self.slots.get(id.index as usize) else { return false };
        let Owner::Listener(l) = slot.owner else { return false };
        let half_open = slot
            .conn
            .as_ref()
            .is_some_and(|c| c.state() == State::SynReceived && !c.is_fast_open_child());
        half_open && self.listener(l).is_some_and(|l| l.ready.len() >= l.backlog)
    }

    pub(super) fn move_to_accept_queue(&mut self, l: ListenerId, id: ConnId) {
        self.fo_reply.remove(&id);
        if let Some(Some(lis)) = self.listeners.get_mut(l.0 as usize) {
            if !lis.half_open.contains(&id) {
                // Already queued (a Fast Open child), or already accepted.
                return;
            }
            remove_child(&mut lis.half_open, id);
            lis.ready.push_back(id);
            self.push_event(Event::AcceptReady(l));
        }
    }
}

/// Removes `id` from a listener's half-open list, keeping the order. Children complete
/// roughly in the order they arrived, so the search stops near the front; `retain` walked the
/// whole list for every accepted connection (quadratic in the SYN backlog during a burst).
fn remove_child(list: &mut Vec<ConnId>, id: ConnId) -> bool {
    match list.iter().position(|c| *c == id) {
        Some(i) => {
            list.remove(i);
            true
        }
        None => false,
    }
}
