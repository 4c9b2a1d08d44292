//! The endpoint: owns every connection and listener, finds the right one for each segment in
//! O(1) (a keyed hash map on the 4-tuple), answers segments that match nothing, keeps the timer
//! heap, and hands out segments and events.

use alloc::collections::{BinaryHeap, VecDeque};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cmp::Reverse;
use core::fmt;
use core::net::{IpAddr, SocketAddr};

use hashbrown::HashMap;
use synack_wire::tcp::{OptionLayout, TcpFlags, TcpOptions, TcpRepr, Timestamps};
use synack_wire::{ChecksumMode, SeqNum};

use crate::config::{ConnConfig, EndpointConfig};
use crate::conn::{Conn, Ctx, OpenKind, Origin, Outcome, Rcv, Snd, Tcb};
use crate::cookie;
use crate::emit::{self, Header};
use crate::error::{
    ConnectError, ConnectionError, InvalidConnection, ListenError, RecvError, SendError,
};
use crate::event::{Event, SoftError};
use crate::icmp::IcmpError;
use crate::ports::PortAllocator;
use crate::secret::{FourTuple, KeyedState, Secrets};
use crate::state::State;
use crate::stats::ConnStats;
use crate::time::{Duration, Instant};
use crate::tuple_map::TupleMap;

mod any;

/// Most events kept for the application; older ones are dropped when it does not poll.
pub(crate) const MAX_EVENTS: usize = 65536;
/// Most stateless control segments (RSTs, cookie SYN-ACKs, challenge ACKs) waiting to be sent.
const MAX_CTL: usize = 4096;

/// Names a connection. Stays valid until the connection is closed by the application and its
/// TCB is gone; a stale id is refused ([`InvalidConnection`]), never confused with a new one.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct ConnId {
    index: u32,
    generation: u32,
}

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conn#{}.{}", self.index, self.generation)
    }
}

/// Names a listener.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct ListenerId(u32);

impl fmt::Display for ListenerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "listener#{}", self.0)
    }
}

/// A segment written by [`Endpoint::poll_transmit`]: `buf[..len]` holds the TCP header (with
/// options and checksum) and payload. The parsed fields are repeated here so the IP layer,
/// tracers and tests need not parse what the engine just wrote.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Transmit {
    /// Source address and port (ours).
    pub src: SocketAddr,
    /// Destination address and port.
    pub dst: SocketAddr,
    /// Bytes written to the buffer (TCP header + payload).
    pub len: usize,
    /// TCP header length including options.
    pub header_len: usize,
    /// Sequence number.
    pub seq: SeqNum,
    /// Acknowledgment number (0 without ACK).
    pub ack: SeqNum,
    /// Control bits.
    pub flags: TcpFlags,
    /// Window field as sent.
    pub window: u16,
    /// Urgent pointer as sent.
    pub urgent: u16,
    /// Options as sent.
    pub options: TcpOptions,
    /// The connection it belongs to (`None` for RSTs to unknown tuples and cookie SYN-ACKs).
    pub conn: Option<ConnId>,
    /// A retransmission (for tracers and counters).
    pub retransmission: bool,
    /// The IP ECN codepoint to send with (RFC 3168): 2 (ECT(0)) on new data of an ECN
    /// connection, 0 (Not-ECT) otherwise.
    pub ecn: u8,
}

impl Transmit {
    /// The payload, from the buffer given to `poll_transmit`.
    pub fn payload<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        &buf[self.header_len..self.len]
    }

    /// The segment as a [`TcpRepr`], payload borrowed from the buffer.
    pub fn repr<'a>(&self, buf: &'a [u8]) -> TcpRepr<'a> {
        TcpRepr {
            src_port: self.src.port(),
            dst_port: self.dst.port(),
            seq: self.seq,
            ack: self.ack,
            flags: self.flags,
            window: self.window,
            urgent: self.urgent,
            options: self.options,
            raw_options: None,
            payload: self.payload(buf),
        }
    }
}

/// A control segment that has no (or no longer a) connection behind it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CtlSegment {
    pub(crate) tuple: FourTuple,
    pub(crate) seq: SeqNum,
    /// `Some` sets ACK.
    pub(crate) ack: Option<SeqNum>,
    pub(crate) flags: TcpFlags,
    /// A timestamps option to carry (Linux's form of an abort's RST, `AbortReset::Linux`).
    pub(crate) ts: Option<Timestamps>,
}

/// A cookie SYN-ACK (RFC 4987): everything the stateless reply needs.
#[derive(Clone, Copy, Debug)]
struct CookieReply {
    tuple: FourTuple,
    iss: SeqNum,
    ack: SeqNum,
    window: u16,
    options: TcpOptions,
    layout: OptionLayout,
}

/// Bounded queue of stateless control segments.
#[derive(Default)]
pub(crate) struct CtlQueue {
    q: VecDeque<CtlSegment>,
    cookies: VecDeque<CookieReply>,
}

impl CtlQueue {
    pub(crate) fn push(&mut self, s: CtlSegment) {
        if self.q.len() < MAX_CTL {
            self.q.push_back(s);
        }
    }
    fn push_cookie(&mut self, c: CookieReply) {
        if self.cookies.len() < MAX_CTL {
            self.cookies.push_back(c);
        }
    }
}

/// Token bucket per second for challenge ACKs (RFC 5961 section 7).
pub(crate) struct RateLimit {
    per_sec: u32,
    window_start: Instant,
    used: u32,
}

impl RateLimit {
    pub(crate) fn allow(&mut self, now: Instant) -> bool {
        if now.saturating_since(self.window_start) >= Duration::from_secs(1) {
            self.window_start = now;
            self.used = 0;
        }
        if self.used < self.per_sec {
            self.used += 1;
            true
        } else {
            false
        }
    }
}

/// Who holds a connection's id.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Owner {
    /// Handed to the application (connect or accept); freed when it closes and the TCB is gone.
    App,
    /// A listener's child not yet accepted.
    Listener(ListenerId),
    /// The application closed it; freed once the TCB is gone.
    Released,
}

struct Slot {
    generation: u32,
    conn: Option<Conn>,
    owner: Owner,
    /// Earliest heap entry for this slot.
    scheduled: Option<Instant>,
    /// In the transmit-ready queue.
    tx_queued: bool,
    /// Still in the 4-tuple map.
    mapped: bool,
}

/// Removes `id` from a listener's half-open list, keeping the order. Children complete
/// roughly in the order they arrived, so the search stops near the front; `retain` walked the
/// whole list for every accepted connection (quadratic in the SYN backlog during a burst).
fn remove_child(list: &mut Vec<ConnId>, id: ConnId) {
    if let Some(i) = list.iter().position(|c| *c == id) {
        list.remove(i);
    }
}

/// The tuple of the connection in slot `i`, for [`TupleMap`], whose entries are slot indexes.
fn slot_tuple(slots: &[Slot], i: u32) -> Option<FourTuple> {
    slots.get(i as usize).and_then(|s| s.conn.as_ref()).map(|c| c.tuple)
}

struct Listener {
    local: SocketAddr,
    backlog: usize,
    cfg: ConnConfig,
    /// Half-open children (SYN-RECEIVED).
    half_open: Vec<ConnId>,
    /// Established children waiting for `accept`.
    ready: VecDeque<ConnId>,
}

/// The sans-IO TCP endpoint. See the crate docs for the call protocol.
pub struct Endpoint {
    config: EndpointConfig,
    secrets: Secrets,
    now: Instant,
    slots: Vec<Slot>,
    /// Free slot indices, lowest first: new connections fill the front, so the tail empties
    /// after a peak and [`Endpoint::shrink_slots`] can give its memory back.
    free: BinaryHeap<Reverse<u32>>,
    /// Generation new slots start at: one past the last of any slot cut off the tail, so an
    /// old id never names a later connection in a regrown slot.
    gen_floor: u32,
    live: usize,
    /// Slot index by 4-tuple (the tuple itself is read from the slot's connection).
    by_tuple: TupleMap,
    /// The last 4-tuple [`Endpoint::segment_input`] found in `by_tuple`, and its answer: a
    /// bulk transfer sends every segment to the same connection, and comparing the tuple is
    /// far cheaper than hashing it with the keyed hasher. Cleared whenever `by_tuple` gains
    /// or loses an entry, so it always agrees with the map.
    last_hit: Option<(FourTuple, ConnId)>,
    listeners: Vec<Option<Listener>>,
    by_local: HashMap<SocketAddr, ListenerId, KeyedState>,
    timers: BinaryHeap<Reverse<(Instant, u32, u32)>>,
    tx_ready: VecDeque<ConnId>,
    ctl: CtlQueue,
    events: VecDeque<Event>,
    challenge: RateLimit,
    ports: PortAllocator,
    /// When cookies were last sent; ACKs are checked as cookies only shortly after.
    last_cookie: Option<Instant>,
    /// Fixed ISS for every new connection (tests and the packetdrill runner).
    isn_override: Option<SeqNum>,
    /// The segment being processed carried the CE codepoint.
    ce: bool,
    /// The configuration the last connection was made with, shared by every following
    /// connection made with an equal one (see [`Endpoint::share_cfg`]).
    shared_cfg: Option<Arc<ConnConfig>>,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("connections", &self.live)
            .field("listeners", &self.by_local.len())
            .finish_non_exhaustive()
    }
}

fn addr_usable(ip: IpAddr) -> bool {
    //= rfc9293#3.9.2.3
    //# Segments to or from broadcast, multicast or unspecified addresses are discarded
    //# (MUST-57, MUST-63).
    match ip {
        IpAddr::V4(a) => !(a.is_unspecified() || a.is_broadcast() || a.is_multicast()),
        IpAddr::V6(a) => !(a.is_unspecified() || a.is_multicast()),
    }
}

impl Endpoint {
    /// A new endpoint. `secret` keys the ISN generator, SYN cookies, port choice and the hash
    /// maps (RFC 9293 MUST-9: give it 128 random bits); `rng_seed` seeds the little other
    /// randomness the endpoint uses (the ephemeral port table's start).
    pub fn new(config: EndpointConfig, secret: [u8; 16], rng_seed: u64) -> Endpoint {
        let secrets = Secrets::new(secret);
        let hasher = secrets.map_hasher();
        Endpoint {
            config,
            now: Instant::ZERO,
            slots: Vec::new(),
            free: BinaryHeap::new(),
            gen_floor: 0,
            live: 0,
            by_tuple: TupleMap::new(hasher),
            last_hit: None,
            listeners: Vec::new(),
            by_local: HashMap::with_hasher(hasher),
            timers: BinaryHeap::new(),
            tx_ready: VecDeque::new(),
            ctl: CtlQueue::default(),
            events: VecDeque::new(),
            challenge: RateLimit {
                per_sec: config.challenge_ack_limit,
                window_start: Instant::ZERO,
                used: 0,
            },
            ports: PortAllocator::new(config.ephemeral_ports, rng_seed),
            secrets,
            last_cookie: None,
            isn_override: None,
            ce: false,
            shared_cfg: None,
        }
    }

    /// `cfg` as a shared pointer: the same allocation as the previous connection's when the
    /// values are equal (nearly always: a listener's children, or an application using one
    /// configuration), so per-connection state holds a pointer rather than a copy.
    fn share_cfg(&mut self, cfg: ConnConfig) -> Arc<ConnConfig> {
        match &self.shared_cfg {
            Some(shared) if **shared == cfg => Arc::clone(shared),
            _ => {
                let shared = Arc::new(cfg);
                self.shared_cfg = Some(Arc::clone(&shared));
                shared
            }
        }
    }

    /// The endpoint's configuration.
    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    /// Makes every new connection (active or passive, not SYN cookies) start with this ISS
    /// instead of the keyed-hash ISN. Only for tests and the packetdrill runner, whose scripts
    /// need known sequence numbers: a fixed ISN is exactly what RFC 9293 3.4.1 forbids on a
    /// real network. `None` restores the RFC behaviour.
    pub fn set_isn_override(&mut self, iss: Option<SeqNum>) {
        self.isn_override = iss;
    }

    fn choose_isn(&self, now: Instant, tuple: &FourTuple) -> SeqNum {
        self.isn_override.unwrap_or_else(|| SeqNum(self.secrets.isn(now, tuple)))
    }

    fn advance(&mut self, now: Instant) {
        if now > self.now {
            self.now = now;
        }
    }

    // ---- listeners -------------------------------------------------------------------------

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
        //# A passive OPEN creates a LISTEN record or fails; it never disturbs a connection
        //# (MUST-41), and may share the port of connections in any state (MUST-42).
        if self.by_local.contains_key(&local) {
            return Err(ListenError::AddrInUse);
        }
        let listener =
            Listener { local, backlog, cfg, half_open: Vec::new(), ready: VecDeque::new() };
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
        Ok(id)
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

    fn listener(&self, id: ListenerId) -> Option<&Listener> {
        self.listeners.get(id.0 as usize)?.as_ref()
    }

    fn find_listener(&self, local: SocketAddr) -> Option<ListenerId> {
        if let Some(l) = self.by_local.get(&local) {
            return Some(*l);
        }
        let any = match local.ip() {
            IpAddr::V4(_) => IpAddr::V4(core::net::Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(_) => IpAddr::V6(core::net::Ipv6Addr::UNSPECIFIED),
        };
        self.by_local
            .get(&SocketAddr::new(any, local.port()))
            .or_else(|| self.by_local.get(&any::ANY_LISTENER))
            .copied()
    }

    // ---- active open ------------------------------------------------------------------------

    /// Active OPEN from `local` to `remote`. A `local` port of 0 picks an ephemeral port
    /// (RFC 6056 algorithm 3). The SYN goes out on the next [`poll_transmit`](Self::poll_transmit).
    ///
    /// `local` must be a concrete address of this host: choosing the source address for a
    /// destination (RFC 9293 MUST-44) is the IP layer's job, done before calling this. An
    /// unspecified, broadcast or multicast address on either side is refused.
    pub fn connect(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        cfg: ConnConfig,
    ) -> Result<ConnId, ConnectError> {
        self.advance(now);
        //= rfc9293#3.9.1.1
        //# An OPEN to a broadcast or multicast address is an error (MUST-46).
        if remote.port() == 0
            || !addr_usable(remote.ip())
            || !addr_usable(local.ip())
            || local.is_ipv4() != remote.is_ipv4()
        {
            return Err(ConnectError::InvalidAddress);
        }
        if self.live >= self.config.max_connections {
            return Err(ConnectError::TooManyConnections);
        }
        let tuple = if local.port() == 0 {
            let (by_tuple, slots) = (&self.by_tuple, &self.slots);
            let port = self
                .ports
                .pick(&self.secrets, local.ip(), remote, |p| {
                    let t = FourTuple { local: SocketAddr::new(local.ip(), p), remote };
                    !by_tuple.contains(&t, |i| slot_tuple(slots, i))
                })
                .ok_or(ConnectError::NoFreePorts)?;
            FourTuple { local: SocketAddr::new(local.ip(), port), remote }
        } else {
            let t = FourTuple { local, remote };
            if self.lookup(&t).is_some() {
                return Err(ConnectError::AddrInUse);
            }
            t
        };
        let iss = self.choose_isn(now, &tuple);
        let mut conn = Conn::new(
            tuple,
            self.share_cfg(cfg),
            self.config.mtu,
            self.secrets.ts_offset(&tuple),
            now,
        );
        conn.tcb = Tcb::SynSent { snd: Snd::new(iss, cfg.send_buffer) };
        let id = self.insert(conn, Owner::App);
        self.push_event(Event::StateChanged { conn: id, old: State::Closed, new: State::SynSent });
        self.after(id);
        Ok(id)
    }

    fn insert(&mut self, conn: Conn, owner: Owner) -> ConnId {
        let tuple = conn.tuple;
        let id = match self.free.pop() {
            Some(Reverse(i)) => {
                let s = &mut self.slots[i as usize];
                s.conn = Some(conn);
                s.owner = owner;
                s.scheduled = None;
                s.tx_queued = false;
                s.mapped = true;
                ConnId { index: i, generation: s.generation }
            }
            None => {
                let generation = self.gen_floor;
                self.slots.push(Slot {
                    generation,
                    conn: Some(conn),
                    owner,
                    scheduled: None,
                    tx_queued: false,
                    mapped: true,
                });
                ConnId { index: self.slots.len() as u32 - 1, generation }
            }
        };
        let slots = &self.slots;
        self.by_tuple.insert(&tuple, id.index, |i| slot_tuple(slots, i));
        self.last_hit = None;
        self.live += 1;
        id
    }

    fn slot_mut(&mut self, id: ConnId) -> Option<&mut Slot> {
        self.slots.get_mut(id.index as usize).filter(|s| s.generation == id.generation)
    }

    fn conn(&self, id: ConnId) -> Result<&Conn, InvalidConnection> {
        self.slots
            .get(id.index as usize)
            .filter(|s| s.generation == id.generation)
            .and_then(|s| s.conn.as_ref())
            .ok_or(InvalidConnection)
    }

    fn conn_mut(&mut self, id: ConnId) -> Result<&mut Conn, InvalidConnection> {
        self.slot_mut(id).and_then(|s| s.conn.as_mut()).ok_or(InvalidConnection)
    }

    fn push_event(&mut self, e: Event) {
        if self.events.len() >= MAX_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(e);
    }

    /// Runs `f` on a connection with a context borrowing the endpoint's queues.
    fn with_conn<R>(
        &mut self,
        id: ConnId,
        f: impl FnOnce(&mut Conn, &mut Ctx<'_>) -> R,
    ) -> Option<R> {
        let slot = self.slots.get_mut(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        let conn = slot.conn.as_mut()?;
        let mut ctx = Ctx {
            now: self.now,
            id,
            events: &mut self.events,
            ctl: &mut self.ctl,
            challenge: &mut self.challenge,
            msl: self.config.msl,
            ce: self.ce,
        };
        Some(f(conn, &mut ctx))
    }

    /// Bookkeeping after anything touched a connection: unmap a dead TCB, free the slot when
    /// nobody holds it, re-arm timers, queue it for transmission.
    fn after(&mut self, id: ConnId) {
        self.after_inner(id, true);
    }

    /// Like `after`, without queueing for transmission (the connection just said it has
    /// nothing to send).
    fn after_quiet(&mut self, id: ConnId) {
        self.after_inner(id, false);
    }

    fn after_inner(&mut self, id: ConnId, queue_tx: bool) {
        self.after_with(id, queue_tx, true);
    }

    /// `after_inner`, optionally without re-deriving the situation-dependent timers
    /// (`Conn::refresh_timers`, about 180 instructions): after a segment was sent the
    /// connection is queued for another poll, and the poll that finds it with nothing more to
    /// send refreshes them, once per burst instead of once per segment (`poll_transmit` is
    /// called until it returns `None`). Until then a timer the refresh would disarm may still
    /// be armed, which is harmless because `Conn::on_timeout` refreshes before it looks at any
    /// timer; the retransmission timer, armed by the send itself, is always in the heap.
    fn after_with(&mut self, id: ConnId, queue_tx: bool, refresh: bool) {
        let now = self.now;
        let Some(slot) = self.slots.get_mut(id.index as usize) else { return };
        if slot.generation != id.generation {
            return;
        }
        let Some(conn) = slot.conn.as_mut() else { return };
        if conn.state() == State::Closed {
            if slot.mapped {
                slot.mapped = false;
                if self.by_tuple.remove(&conn.tuple, id.index) {
                    self.last_hit = None;
                }
            }
            match slot.owner {
                Owner::App => {}
                Owner::Listener(l) => {
                    if let Some(Some(l)) = self.listeners.get_mut(l.0 as usize) {
                        remove_child(&mut l.half_open, id);
                        if let Some(i) = l.ready.iter().position(|c| *c == id) {
                            l.ready.remove(i);
                        }
                    }
                    self.free_slot(id);
                }
                Owner::Released => self.free_slot(id),
            }
            return;
        }
        if refresh {
            conn.refresh_timers(now);
        }
        let deadline = conn.next_deadline();
        if let Some(d) = deadline
            && slot.scheduled.is_none_or(|s| d < s)
        {
            slot.scheduled = Some(d);
            self.timers.push(Reverse((d, id.index, id.generation)));
        }
        if queue_tx && !slot.tx_queued {
            slot.tx_queued = true;
            self.tx_ready.push_back(id);
        }
        self.compact_timers();
    }

    fn free_slot(&mut self, id: ConnId) {
        let s = &mut self.slots[id.index as usize];
        s.conn = None;
        s.generation = s.generation.wrapping_add(1);
        s.scheduled = None;
        s.tx_queued = false;
        self.free.push(Reverse(id.index));
        self.live -= 1;
        self.shrink_slots();
    }

    /// After a peak, cuts free slots off the tail of the slot table and gives back the
    /// capacity (a slot holds a whole connection, about a kilobyte): once fewer than a
    /// quarter of the slots are live, the table shrinks to twice what is left in use.
    fn shrink_slots(&mut self) {
        const KEEP: usize = 64;
        let len = self.slots.len();
        if len <= KEEP || self.live * 4 >= len || self.slots[len - 1].conn.is_some() {
            return;
        }
        while self.slots.len() > KEEP && self.slots.last().is_some_and(|s| s.conn.is_none()) {
            let s = self.slots.pop().expect("not empty");
            self.gen_floor = self.gen_floor.max(s.generation);
        }
        let end = self.slots.len() as u32;
        self.free.retain(|Reverse(i)| *i < end);
        let want = (2 * self.slots.len()).max(KEEP);
        if self.slots.capacity() > 2 * want {
            self.slots.shrink_to(want);
            self.free.shrink_to(want);
        }
        let slots = &self.slots;
        self.by_tuple.shrink(|i| slot_tuple(slots, i));
        if self.timers.capacity() > 4 * (self.timers.len() + KEEP) {
            self.timers.shrink_to(2 * (self.timers.len() + KEEP));
        }
    }

    /// Drops stale entries from the top of the heap, and rebuilds it when stale ones pile up.
    fn compact_timers(&mut self) {
        while let Some(Reverse((t, i, g))) = self.timers.peek().copied() {
            // A slot cut off the tail (`shrink_slots`) leaves its entries stale too.
            let stale = self.slots.get(i as usize).is_none_or(|s| {
                s.generation != g || s.conn.is_none() || s.scheduled.is_some_and(|x| t < x)
            });
            if stale {
                self.timers.pop();
            } else {
                break;
            }
        }
        if self.timers.len() > 4 * self.live + 1024 {
            let slots = &self.slots;
            self.timers.retain(|Reverse((t, i, g))| {
                slots.get(*i as usize).is_some_and(|s| {
                    s.generation == *g && s.conn.is_some() && s.scheduled == Some(*t)
                })
            });
        }
    }

    // ---- input --------------------------------------------------------------------------------

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
        self.ce = ecn & 3 == 3;
        self.segment_input(now, src, dst, seg);
        self.ce = false;
    }

    /// The connection `tuple` maps to, through the one-entry `last_hit` cache.
    fn conn_for(&mut self, tuple: &FourTuple) -> Option<ConnId> {
        if let Some((t, id)) = self.last_hit
            && t == *tuple
        {
            return Some(id);
        }
        let id = self.lookup(tuple)?;
        self.last_hit = Some((*tuple, id));
        Some(id)
    }

    fn segment_input(&mut self, now: Instant, src: IpAddr, dst: IpAddr, seg: &TcpRepr<'_>) {
        self.advance(now);
        if !addr_usable(src) || !addr_usable(dst) || seg.src_port == 0 || seg.dst_port == 0 {
            return;
        }
        let tuple = FourTuple {
            local: SocketAddr::new(dst, seg.dst_port),
            remote: SocketAddr::new(src, seg.src_port),
        };
        if let Some(id) = self.conn_for(&tuple) {
            if self.accept_queue_full_for(id) && seg.flags.ack() && !seg.flags.rst() {
                // Like Linux: the handshake cannot complete while the accept queue is full;
                // the ACK is dropped and our SYN-ACK retransmission invites another.
                return;
            }
            let outcome =
                self.with_conn(id, |c, ctx| c.on_segment(ctx, seg)).unwrap_or(Outcome::Deleted);
            match outcome {
                Outcome::Continue | Outcome::Deleted => {}
                Outcome::Accepted(l) => self.move_to_accept_queue(l, id),
                Outcome::BackToListen(_) => {}
                Outcome::Reopen { min_iss } => {
                    // The TIME-WAIT TCB makes way for the new incarnation.
                    self.with_conn(id, |c, ctx| c.finish(ctx));
                    self.after(id);
                    if let Some(l) = self.find_listener(tuple.local) {
                        self.listen_input(l, tuple, seg, Some(min_iss));
                    }
                    return;
                }
            }
            self.after(id);
            return;
        }
        match self.find_listener(tuple.local) {
            Some(l) => self.listen_input(l, tuple, seg, None),
            None => self.closed_input(tuple, seg),
        }
    }

    /// True when `id` is a half-open child whose listener's accept queue is full.
    fn accept_queue_full_for(&self, id: ConnId) -> bool {
        let Some(slot) = self.slots.get(id.index as usize) else { return false };
        let Owner::Listener(l) = slot.owner else { return false };
        let half_open = slot.conn.as_ref().is_some_and(|c| c.state() == State::SynReceived);
        half_open && self.listener(l).is_some_and(|l| l.ready.len() >= l.backlog)
    }

    fn move_to_accept_queue(&mut self, l: ListenerId, id: ConnId) {
        if let Some(Some(lis)) = self.listeners.get_mut(l.0 as usize) {
            remove_child(&mut lis.half_open, id);
            lis.ready.push_back(id);
            self.push_event(Event::AcceptReady(l));
        }
    }

    //= rfc9293#3.10.7.1
    //# CLOSED: a RST is dropped; an ACK gets <SEQ=SEG.ACK><CTL=RST>; anything else gets
    //# <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. A RST is never answered with a RST.
    fn closed_input(&mut self, tuple: FourTuple, seg: &TcpRepr<'_>) {
        if seg.flags.rst() {
            return;
        }
        let reply = if seg.flags.ack() {
            CtlSegment { tuple, seq: seg.ack, ack: None, flags: TcpFlags::RST, ts: None }
        } else {
            CtlSegment {
                tuple,
                seq: SeqNum(0),
                ack: Some(seg.seq + seg.seq_len()),
                flags: TcpFlags::RST,
                ts: None,
            }
        };
        self.ctl.push(reply);
    }

    fn listen_input(
        &mut self,
        lid: ListenerId,
        tuple: FourTuple,
        seg: &TcpRepr<'_>,
        min_iss: Option<SeqNum>,
    ) {
        let f = seg.flags;
        //= rfc9293#3.10.7.2
        //# LISTEN: an incoming RST is ignored.
        if f.rst() {
            return;
        }
        if f.ack() {
            if !f.syn() && self.try_cookie(lid, tuple, seg) {
                return;
            }
            //= rfc9293#3.10.7.2
            //# LISTEN: any ACK is bad: <SEQ=SEG.ACK><CTL=RST>.
            self.ctl.push(CtlSegment {
                tuple,
                seq: seg.ack,
                ack: None,
                flags: TcpFlags::RST,
                ts: None,
            });
            return;
        }
        if !f.syn() {
            //= rfc9293#3.10.7.2
            //# LISTEN: other text or control without SYN is dropped.
            return;
        }
        let Some(Some(l)) = self.listeners.get(lid.0 as usize) else { return };
        let (backlog, cfg, half_open) = (l.backlog, l.cfg, l.half_open.len());
        let accept_full = l.ready.len() >= backlog;
        if accept_full {
            // Like Linux: with the accept queue full, SYNs are dropped; the peer retries.
            return;
        }
        let now = self.now;
        if half_open >= self.config.syn_queue_len || self.live >= self.config.max_connections {
            //= rfc4987#3.6
            //# SYN queue full: answer with a SYN cookie and keep no state.
            if self.config.syn_cookies {
                self.send_cookie(tuple, seg, cfg);
            }
            return;
        }
        let mut iss = self.choose_isn(now, &tuple);
        if let Some(min) = min_iss
            && iss.lt(min)
        {
            //= rfc9293#3.6.1
            //# A SYN accepted in TIME-WAIT needs an ISN above the old incarnation's (MAY-2).
            iss = min + 65536 * 2;
        }
        let mut conn = Conn::new(
            tuple,
            self.share_cfg(cfg),
            self.config.mtu,
            self.secrets.ts_offset(&tuple),
            now,
        );
        conn.negotiate(&seg.options);
        //= rfc3168#6.1.1
        //# An ECN-setup SYN carries ECE and CWR; we agree when configured.
        conn.opt.ecn = cfg.ecn && f.contains(TcpFlags::ECE) && f.contains(TcpFlags::CWR);
        let mut rcv = Rcv::new(seg.seq, &cfg, conn.opt.rcv_wscale);
        if conn.opt.ts
            && let Some(ts) = seg.options.timestamps
        {
            rcv.ts_recent = Some((ts.tsval, now));
        }
        let mut snd = Snd::new(iss, cfg.send_buffer);
        //= rfc9293#3.10.7.2
        //# SND.WND from the SYN (never scaled), SND.WL1 = SEG.SEQ.
        snd.wnd = seg.window as u32;
        snd.max_wnd = snd.wnd;
        snd.wl1 = seg.seq;
        conn.tcb = Tcb::Open { snd, rcv, kind: OpenKind::SynReceived(Origin::Passive(lid)) };
        let id = self.insert(conn, Owner::Listener(lid));
        if let Some(Some(l)) = self.listeners.get_mut(lid.0 as usize) {
            l.half_open.push(id);
        }
        self.push_event(Event::StateChanged {
            conn: id,
            old: State::Listen,
            new: State::SynReceived,
        });
        self.after(id);
    }

    fn send_cookie(&mut self, tuple: FourTuple, seg: &TcpRepr<'_>, cfg: ConnConfig) {
        let now = self.now;
        let probe = Conn::new(
            tuple,
            self.share_cfg(cfg),
            self.config.mtu,
            self.secrets.ts_offset(&tuple),
            now,
        );
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
        });
    }

    /// An ACK reached a listener: maybe the third segment of a cookie handshake.
    fn try_cookie(&mut self, lid: ListenerId, tuple: FourTuple, seg: &TcpRepr<'_>) -> bool {
        let now = self.now;
        let recent = self
            .last_cookie
            .is_some_and(|t| now.saturating_since(t) < cookie::VALIDITY + cookie::VALIDITY);
        if !recent {
            return false;
        }
        let Some(peer_mss) = cookie::check(&self.secrets, now, &tuple, seg.seq - 1, seg.ack - 1)
        else {
            return false;
        };
        let Some(Some(l)) = self.listeners.get(lid.0 as usize) else { return false };
        if l.ready.len() >= l.backlog || self.live >= self.config.max_connections {
            return false;
        }
        let cfg = l.cfg;
        let (ws, sack, ts) = match seg.options.timestamps {
            Some(t) if cfg.timestamps => {
                let (ws, sack) = cookie::decode_ts(t.tsecr);
                (ws, sack, true)
            }
            _ => (None, false, false),
        };
        let mut conn = Conn::new(
            tuple,
            self.share_cfg(cfg),
            self.config.mtu,
            self.secrets.ts_offset(&tuple),
            now,
        );
        let synth = TcpOptions {
            mss: Some(peer_mss),
            window_scale: ws,
            sack_permitted: sack,
            timestamps: if ts { seg.options.timestamps } else { None },
            ..TcpOptions::default()
        };
        conn.negotiate(&synth);
        let irs = seg.seq - 1;
        let iss = seg.ack - 1;
        let mut rcv = Rcv::new(irs, &cfg, conn.opt.rcv_wscale);
        rcv.adv_right = rcv.nxt + cfg.recv_buffer.min(65535) as u32;
        let mut snd = Snd::new(iss, cfg.send_buffer);
        snd.nxt = iss + 1;
        snd.max_nxt = iss + 1;
        snd.wl1 = irs;
        conn.tcb = Tcb::Open { snd, rcv, kind: OpenKind::SynReceived(Origin::Passive(lid)) };
        let id = self.insert(conn, Owner::Listener(lid));
        if let Some(Some(l)) = self.listeners.get_mut(lid.0 as usize) {
            l.half_open.push(id);
        }
        self.push_event(Event::StateChanged {
            conn: id,
            old: State::Listen,
            new: State::SynReceived,
        });
        // The ACK completes the handshake in the ordinary way.
        let outcome =
            self.with_conn(id, |c, ctx| c.on_segment(ctx, seg)).unwrap_or(Outcome::Deleted);
        if let Outcome::Accepted(l) = outcome {
            self.move_to_accept_queue(l, id);
        }
        self.after(id);
        true
    }

    // ---- output --------------------------------------------------------------------------------

    /// Writes the next segment to send into `buf` (at least 60 bytes; the payload is limited
    /// by what fits) and says where it goes. Call until it returns `None` after every input,
    /// timeout or application call. Nothing is allocated per segment.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        self.poll_transmit_with(now, buf, ChecksumMode::Verify)
    }

    /// [`poll_transmit`](Self::poll_transmit) with a choice of checksum handling:
    /// [`ChecksumMode::Skip`] leaves the field zero for a device that offloads it.
    pub fn poll_transmit_with(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        checksum: ChecksumMode,
    ) -> Option<Transmit> {
        self.advance(now);
        if buf.len() < 60 {
            return None;
        }
        if let Some(c) = self.ctl.cookies.pop_front() {
            let h = Header {
                src_port: c.tuple.local.port(),
                dst_port: c.tuple.remote.port(),
                seq: c.iss.0,
                ack: c.ack.0,
                flags: TcpFlags::SYN | TcpFlags::ACK,
                window: c.window,
                urgent: 0,
                options: c.options,
                layout: c.layout,
                payload_sum: 0,
            };
            return Some(self.finish_segment(buf, c.tuple, h, 0, None, false, checksum, 0));
        }
        if let Some(c) = self.ctl.q.pop_front() {
            let flags = if c.ack.is_some() { c.flags | TcpFlags::ACK } else { c.flags };
            let h = Header {
                src_port: c.tuple.local.port(),
                dst_port: c.tuple.remote.port(),
                seq: c.seq.0,
                ack: c.ack.map(|a| a.0).unwrap_or(0),
                flags,
                window: 0,
                urgent: 0,
                options: TcpOptions { timestamps: c.ts, ..TcpOptions::default() },
                layout: OptionLayout::Linux,
                payload_sum: 0,
            };
            return Some(self.finish_segment(buf, c.tuple, h, 0, None, false, checksum, 0));
        }
        while let Some(id) = self.tx_ready.pop_front() {
            let Some(slot) = self.slot_mut(id) else { continue };
            slot.tx_queued = false;
            let Some(conn) = slot.conn.as_mut() else { continue };
            let tuple = conn.tuple;
            conn.sum_tx = checksum.verify();
            if let Some(seg) = conn.poll_segment(now, buf) {
                // It may have more: back of the queue, for fairness.
                slot.tx_queued = true;
                self.tx_ready.push_back(id);
                let t = self.finish_segment(
                    buf,
                    tuple,
                    seg.header,
                    seg.payload_len,
                    Some(id),
                    seg.retransmission,
                    checksum,
                    seg.ecn,
                );
                // Queued above: its next poll refreshes the timers (once per burst, not per
                // segment).
                self.after_with(id, false, false);
                return Some(t);
            }
            self.after_quiet(id);
        }
        None
    }

    #[allow(clippy::too_many_arguments)]
    fn finish_segment(
        &mut self,
        buf: &mut [u8],
        tuple: FourTuple,
        h: Header,
        payload_len: usize,
        conn: Option<ConnId>,
        retransmission: bool,
        checksum: ChecksumMode,
        ecn: u8,
    ) -> Transmit {
        let hlen = emit::write_header(buf, &h).unwrap_or(20);
        let len = hlen + payload_len;
        let (src, dst) = (tuple.local.ip(), tuple.remote.ip());
        emit::fill_checksum(&mut buf[..len], hlen, h.payload_sum, src, dst, checksum);
        Transmit {
            src: tuple.local,
            dst: tuple.remote,
            len,
            header_len: hlen,
            seq: SeqNum(h.seq),
            ack: SeqNum(h.ack),
            flags: h.flags,
            window: h.window,
            urgent: h.urgent,
            options: h.options,
            conn,
            retransmission,
            ecn,
        }
    }

    // ---- time -------------------------------------------------------------------------------

    /// The earliest instant at which [`on_timeout`](Self::on_timeout) has work (O(1): the top
    /// of a timer heap). May be early (a timer that moved later); never late.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse((t, _, _))| *t)
    }

    /// Runs every timer due at `now`.
    pub fn on_timeout(&mut self, now: Instant) {
        self.advance(now);
        // Defence in depth: a connection that re-arms a deadline at or before `now` every time
        // it fires would spin this loop forever. Each call handles at most the entries present
        // when it began (twice over, for re-arms) and leaves the rest to the next call, so a
        // bug of that kind costs the caller a busy timer, never a hang inside the engine.
        let mut budget = self.timers.len().saturating_mul(2).saturating_add(16);
        while let Some(Reverse((t, i, g))) = self.timers.peek().copied() {
            if t > now || budget == 0 {
                break;
            }
            budget -= 1;
            self.timers.pop();
            let id = ConnId { index: i, generation: g };
            let Some(slot) = self.slot_mut(id) else { continue };
            if slot.scheduled == Some(t) {
                slot.scheduled = None;
            }
            let due = slot.conn.as_ref().and_then(Conn::next_deadline).is_some_and(|d| d <= now);
            if due {
                self.with_conn(id, |c, ctx| c.on_timeout(ctx));
            }
            if let Some(slot) = self.slot_mut(id) {
                slot.scheduled = None;
            }
            // A stale entry (the timer moved) only needs re-arming, not a transmit poll.
            self.after_inner(id, due);
        }
    }

    // ---- events ---------------------------------------------------------------------------

    /// The next event for the application, oldest first.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    // ---- application calls ----------------------------------------------------------------------

    /// Queues data; returns how much fit in the send buffer. Allowed from SYN-SENT on (sent
    /// once ESTABLISHED).
    pub fn send(&mut self, id: ConnId, data: &[u8]) -> Result<usize, SendError> {
        let r = self.conn_mut(id)?.send(data, false);
        self.after(id);
        r
    }

    /// Queues data as urgent (RFC 9293 3.8.5): the urgent pointer marks its end. Legacy: new
    /// applications should not use urgent data (SHLD-13).
    pub fn send_urgent(&mut self, id: ConnId, data: &[u8]) -> Result<usize, SendError> {
        let r = self.conn_mut(id)?.send(data, true);
        self.after(id);
        r
    }

    /// Reads received data. `Ok(0)` is the end of stream (the peer's FIN).
    pub fn recv(&mut self, id: ConnId, buf: &mut [u8]) -> Result<usize, RecvError> {
        let r = self.conn_mut(id)?.recv(buf);
        self.after(id);
        r
    }

    /// Whether [`send`](Self::send) would take at least one byte now. `Ok(false)` (the send
    /// buffer is full) arms [`Event::Writable`] as a `send` returning `WouldBlock` does, so a
    /// caller can wait for space without offering data. Errors as `send` gives them.
    pub fn send_ready(&mut self, id: ConnId) -> Result<bool, SendError> {
        self.conn_mut(id)?.send_ready()
    }

    /// Like [`recv`](Self::recv) but leaves the data in the receive buffer (`MSG_PEEK`): the
    /// next `recv` or `peek` sees the same bytes. The window does not move.
    pub fn peek(&self, id: ConnId, buf: &mut [u8]) -> Result<usize, RecvError> {
        self.conn(id)?.peek(buf)
    }

    /// Bytes from the read position to the urgent mark, if urgent data is pending (MUST-33).
    pub fn urgent_pending(&self, id: ConnId) -> Result<Option<u32>, InvalidConnection> {
        Ok(self.conn(id)?.urgent_pending())
    }

    /// Half-close: a FIN follows the queued data; receiving goes on.
    pub fn shutdown_write(&mut self, id: ConnId) -> Result<(), InvalidConnection> {
        self.with_conn(id, |c, ctx| c.shutdown_write(ctx)).ok_or(InvalidConnection)?;
        self.after(id);
        Ok(())
    }

    /// Full close: FIN after the queued data; no more reading (received data still unread
    /// makes it a RST, RFC 2525). The id stays valid until the TCB is gone (watch for
    /// [`Event::Closed`]); calling `close` on an already closed connection releases it.
    pub fn close(&mut self, id: ConnId) -> Result<(), InvalidConnection> {
        self.with_conn(id, |c, ctx| {
            if !c.app_closed && c.state() != State::Closed {
                c.close(ctx);
            }
            c.app_closed = true;
        })
        .ok_or(InvalidConnection)?;
        if let Some(slot) = self.slot_mut(id) {
            slot.owner = Owner::Released;
        }
        self.after(id);
        Ok(())
    }

    /// Abort: a RST to the peer (from synchronized states), the TCB is deleted, and the id is
    /// released.
    pub fn abort(&mut self, id: ConnId) -> Result<(), InvalidConnection> {
        self.with_conn(id, |c, ctx| {
            if c.state() != State::Closed {
                c.abort_with(ctx, ConnectionError::Aborted);
            }
            c.app_closed = true;
        })
        .ok_or(InvalidConnection)?;
        if let Some(slot) = self.slot_mut(id) {
            slot.owner = Owner::Released;
        }
        self.after(id);
        Ok(())
    }

    /// The connection's state.
    pub fn state(&self, id: ConnId) -> Result<State, InvalidConnection> {
        Ok(self.conn(id)?.state())
    }

    /// The error that ended the connection, if one did.
    pub fn error(&self, id: ConnId) -> Result<Option<ConnectionError>, InvalidConnection> {
        Ok(self.conn(id)?.error)
    }

    /// The connection's 4-tuple.
    pub fn four_tuple(&self, id: ConnId) -> Result<FourTuple, InvalidConnection> {
        Ok(self.conn(id)?.tuple)
    }

    /// Looks a connection up by its 4-tuple.
    pub fn lookup(&self, tuple: &FourTuple) -> Option<ConnId> {
        let slots = &self.slots;
        let index = self.by_tuple.get(tuple, |i| slot_tuple(slots, i))?;
        let generation = slots.get(index as usize)?.generation;
        Some(ConnId { index, generation })
    }

    /// The connection's settings.
    pub fn conn_config(&self, id: ConnId) -> Result<ConnConfig, InvalidConnection> {
        Ok(*self.conn(id)?.cfg)
    }

    /// Changes the settings that can change on a live connection: Nagle, keep-alive, user
    /// timeout, R1/R2, delayed ACK, FIN-WAIT-2 timeout. Buffer sizes, option offers and the
    /// congestion controller take effect only before the handshake.
    pub fn set_conn_config(
        &mut self,
        id: ConnId,
        cfg: ConnConfig,
    ) -> Result<(), InvalidConnection> {
        self.conn(id)?;
        let shared = self.share_cfg(cfg);
        let c = self.conn_mut(id)?;
        c.cfg = shared;
        if c.cfg.keep_alive.is_none() {
            c.keepalive_probes = 0;
        }
        self.after(id);
        Ok(())
    }

    /// Changes one connection's settings through `edit`; the setters below are this with one
    /// field each.
    fn update_conn_config(
        &mut self,
        id: ConnId,
        edit: impl FnOnce(&mut ConnConfig),
    ) -> Result<(), InvalidConnection> {
        let mut cfg = *self.conn(id)?.cfg;
        edit(&mut cfg);
        self.set_conn_config(id, cfg)
    }

    /// TCP_NODELAY (RFC 9293 MUST-17).
    pub fn set_nodelay(&mut self, id: ConnId, nodelay: bool) -> Result<(), InvalidConnection> {
        self.update_conn_config(id, |c| c.nodelay = nodelay)
    }

    /// Keep-alive on (`Some`) or off (MUST-24).
    pub fn set_keep_alive(
        &mut self,
        id: ConnId,
        keep_alive: Option<crate::config::KeepAlive>,
    ) -> Result<(), InvalidConnection> {
        self.update_conn_config(id, |c| c.keep_alive = keep_alive)
    }

    /// User timeout (RFC 9293 3.10.8); `None` disables it.
    pub fn set_user_timeout(
        &mut self,
        id: ConnId,
        timeout: Option<Duration>,
    ) -> Result<(), InvalidConnection> {
        self.update_conn_config(id, |c| c.user_timeout = timeout)
    }

    /// R1 (retransmissions before the soft report) and R2 (`None`: never give up, MUST-21).
    pub fn set_retransmission_thresholds(
        &mut self,
        id: ConnId,
        r1: u32,
        r2: Option<Duration>,
    ) -> Result<(), InvalidConnection> {
        self.update_conn_config(id, |c| {
            c.r1 = r1;
            c.r2 = r2;
        })
    }

    /// A TCP_INFO-like snapshot.
    pub fn stats(&self, id: ConnId) -> Result<ConnStats, InvalidConnection> {
        let c = self.conn(id)?;
        let (snd_una, snd_nxt, snd_wnd, send_queue) = match c.tcb.snd() {
            Some(s) => (s.una, s.max_nxt, s.wnd, s.buf.len()),
            None => (SeqNum(0), SeqNum(0), 0, 0),
        };
        let (rcv_nxt, rcv_wnd, recv_queue, recv_buffer) = match c.tcb.halves_ref() {
            Some((_, r)) => (r.nxt, r.wnd(), r.buf.len(), r.buf.capacity()),
            None => (SeqNum(0), 0, 0, c.cfg.recv_buffer),
        };
        // RACK's per-segment log backs the segment counts; it is fed from establishment on,
        // whether RACK's loss detection is on or off.
        let rack = c.rec.segment_log();
        Ok(ConnStats {
            state: c.state(),
            snd_una,
            snd_nxt,
            snd_wnd,
            rcv_nxt,
            rcv_wnd,
            snd_mss: c.eff_snd_mss(),
            rcv_mss: c.opt.rcv_mss,
            pmtu: u32::try_from(c.mtu).unwrap_or(u32::MAX),
            snd_wscale: c.opt.snd_wscale,
            rcv_wscale: c.opt.rcv_wscale,
            timestamps: c.opt.ts,
            sack: c.opt.sack,
            srtt: c.rtt.srtt(),
            rttvar: c.rtt.rttvar(),
            rto: c.rtt.rto(),
            backoff: c.rtt.backoff_count(),
            cwnd: Some(c.rec.effective_cwnd()),
            ssthresh: Some(c.rec.cc.ssthresh()),
            segs_in: c.stats.segs_in,
            segs_out: c.stats.segs_out,
            retransmits: c.stats.retransmits,
            timeouts: c.stats.timeouts,
            lost: c.rec.lost,
            lost_segments: c.rec.lost_segments(),
            retrans_segments: rack.map(|r| r.retransmitted_segments()),
            unacked_segments: rack.map(|r| r.unacked_segments()),
            reordering: rack.map(|r| r.reordering(c.eff_snd_mss())),
            reordering_events: rack.map(|r| r.reordering_events()),
            sacked: c.rec.sb.sacked_bytes(),
            in_recovery: c.rec.in_recovery(),
            bytes_sent: c.stats.bytes_sent,
            bytes_acked: c.stats.bytes_acked,
            bytes_received: c.stats.bytes_received,
            send_queue,
            recv_queue,
            recv_buffer,
            delivery_rate: (c.delivery_rate != crate::conn::NO_RATE).then_some(c.delivery_rate),
        })
    }

    /// Connections currently held (any state, including TIME-WAIT).
    pub fn connection_count(&self) -> usize {
        self.live
    }

    // ---- ICMP ---------------------------------------------------------------------------------

    /// An ICMP error quoting a segment we sent from `local` to `remote` with sequence number
    /// `seq` arrived. The error is applied only when `seq` is in SND.UNA..SND.NXT (RFC 5927
    /// section 4.1), so a blind attacker cannot use ICMP to reset or slow connections.
    pub fn on_icmp_error(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        seq: SeqNum,
        error: IcmpError,
    ) {
        self.advance(now);
        let Some(id) = self.lookup(&FourTuple { local, remote }) else { return };
        //= rfc9293#3.9.2.2
        //# Source quench is ignored (MUST-55).
        if error == IcmpError::SourceQuench {
            return;
        }
        self.with_conn(id, |c, ctx| {
            let state = c.state();
            let Some(snd) = c.tcb.snd() else { return };
            //= rfc5927#4.1
            //# Only an error quoting an unacknowledged sequence number is believed.
            if !seq.in_range(snd.una, snd.max_nxt) {
                return;
            }
            match error {
                IcmpError::PacketTooBig { mtu } => {
                    let min = if c.tuple.local.is_ipv4() { 68 } else { 1280 };
                    let mtu = (mtu as usize).max(min);
                    if mtu < c.mtu {
                        c.mtu = mtu;
                        if let Some(snd) = c.tcb.snd_mut() {
                            snd.nxt = snd.una;
                        }
                        let mss = c.eff_snd_mss() as u16;
                        c.rec.set_mss(mss as u32);
                        ctx.soft_error(c.cfg.soft_errors, SoftError::PathMtuReduced(mss));
                    }
                }
                e if e.is_hard() => {
                    //= rfc9293#3.9.2.2
                    //# Hard errors (protocol/port unreachable) abort (SHLD-26).
                    let err = if state == State::SynSent {
                        ConnectionError::Refused
                    } else {
                        ConnectionError::Unreachable
                    };
                    c.fail(ctx, err);
                }
                e => {
                    //= rfc9293#3.9.2.2
                    //# Soft errors are reported, never fatal (MUST-56, SHLD-25).
                    ctx.soft_error(c.cfg.soft_errors, SoftError::Icmp(e));
                }
            }
        });
        self.after(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Connections made with equal configurations share one allocation, and changing one
    /// connection's settings leaves the others alone (copy on write).
    #[test]
    fn equal_configs_are_shared_and_changes_stay_per_connection() {
        let mut ep = Endpoint::new(EndpointConfig::default(), [7; 16], 1);
        let local: SocketAddr = "10.0.0.1:0".parse().unwrap();
        let remote: SocketAddr = "10.0.0.2:80".parse().unwrap();
        let now = Instant::from_secs(1);
        let a = ep.connect(now, local, remote, ConnConfig::default()).unwrap();
        let b = ep.connect(now, local, remote, ConnConfig::default()).unwrap();
        assert!(Arc::ptr_eq(&ep.conn(a).unwrap().cfg, &ep.conn(b).unwrap().cfg));
        ep.set_nodelay(a, !ConnConfig::default().nodelay).unwrap();
        assert_eq!(ep.conn_config(a).unwrap().nodelay, !ConnConfig::default().nodelay);
        assert_eq!(ep.conn_config(b).unwrap(), ConnConfig::default());
        // A third connection with the default again gets an equal config, whichever pointer.
        let c = ep.connect(now, local, remote, ConnConfig::default()).unwrap();
        assert_eq!(ep.conn_config(c).unwrap(), ConnConfig::default());
    }

    /// After a peak the slot table gives its memory back, new connections fill the front, and
    /// an id from before the shrink never names a connection made after it.
    #[test]
    fn slot_table_shrinks_after_a_peak_and_old_ids_stay_dead() {
        let mut ep = Endpoint::new(EndpointConfig::default(), [7; 16], 1);
        let local: SocketAddr = "10.0.0.1:0".parse().unwrap();
        let remote: SocketAddr = "10.0.0.2:80".parse().unwrap();
        let now = Instant::from_secs(1);
        let ids: Vec<ConnId> = (0..1000)
            .map(|_| ep.connect(now, local, remote, ConnConfig::default()).unwrap())
            .collect();
        let peak = ep.slots.capacity();
        assert!(peak >= 1000);
        // Keep the first ten; abort the rest.
        for &id in &ids[10..] {
            ep.abort(id).unwrap();
        }
        assert_eq!(ep.connection_count(), 10);
        assert!(ep.slots.len() <= 64, "{} slots left", ep.slots.len());
        assert!(ep.slots.capacity() < peak / 4, "capacity {} of {peak}", ep.slots.capacity());
        for &id in &ids[10..] {
            assert_eq!(ep.state(id), Err(InvalidConnection));
        }
        // New connections take the lowest free slots; the aborted ids still name nothing.
        let fresh: Vec<ConnId> = (0..1000)
            .map(|_| ep.connect(now, local, remote, ConnConfig::default()).unwrap())
            .collect();
        assert!(fresh.iter().all(|f| f.index >= 10 && (f.index as usize) < 1010));
        for &id in &ids[10..] {
            assert_eq!(ep.state(id), Err(InvalidConnection));
        }
        for &id in &ids[..10] {
            assert_eq!(ep.state(id), Ok(State::SynSent));
        }
        // Timers of the cut slots are stale, never served: running them all is harmless.
        ep.on_timeout(Instant::from_secs(100_000));
    }

    /// `ConnStats::pmtu` is the configured MTU until an ICMP "packet too big" quoting our
    /// unacknowledged SYN lowers it; a larger value never raises it (RFC 1191, RFC 8201).
    #[test]
    fn stats_pmtu_follows_packet_too_big() {
        let mut ep = Endpoint::new(EndpointConfig::default(), [7; 16], 1);
        let local: SocketAddr = "10.0.0.1:1000".parse().unwrap();
        let remote: SocketAddr = "10.0.0.2:80".parse().unwrap();
        let now = Instant::from_secs(1);
        let id = ep.connect(now, local, remote, ConnConfig::default()).unwrap();
        let mut buf = [0u8; 1600];
        let syn = ep.poll_transmit(now, &mut buf).expect("the SYN");
        let iss =
            TcpRepr::parse_bytes(&buf[..syn.len], local.ip(), remote.ip(), ChecksumMode::Verify)
                .expect("our SYN parses")
                .seq;
        assert_eq!(ep.stats(id).unwrap().pmtu, 1500);
        ep.on_icmp_error(now, local, remote, iss, IcmpError::PacketTooBig { mtu: 1200 });
        assert_eq!(ep.stats(id).unwrap().pmtu, 1200);
        ep.on_icmp_error(now, local, remote, iss, IcmpError::PacketTooBig { mtu: 1400 });
        assert_eq!(ep.stats(id).unwrap().pmtu, 1200);
    }
}
