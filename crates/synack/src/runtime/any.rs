//! Accept-any TCP: the state behind `TcpListener::bind_any` and `AnyListener`.
//!
//! The engine has one wildcard listener ([`Endpoint::listen_any`]) that takes every SYN no
//! connection and no ordinary listener claims, whatever its destination; its children keep
//! the SYN's destination as their local address. In front of it, in the stack's pass (on the
//! driver thread, or an application thread that runs it), the runtime applies the application's policy to each new SYN (accept, refuse with RST as a
//! closed port does, or drop) and, for a deferred decision ([`AnyListener`]), holds the SYN
//! unanswered in a table keyed by 4-tuple until the application decides:
//!
//! ```text
//!  SYN, no conn, no other listener ─▶ policy ─▶ Refuse: engine answers RST (closed port)
//!                                           ├─▶ Drop: nothing (the client retries)
//!                                           └─▶ Accept ─▶ immediate: engine (SYN-ACK, cookies)
//!                                                      └▶ deferred: held table (bounded by the
//!                                                         backlog; retransmitted SYNs dropped)
//!  IncomingSyn::accept ─▶ the held SYN goes to the engine ─▶ handshake ─▶ ESTABLISHED ─▶ stream
//!  IncomingSyn::refuse ─▶ engine answers the held SYN with RST;  ignore ─▶ forgotten
//! ```
//!
//! Nothing is kept per destination: a held SYN lives until it is answered or expires
//! ([`AnyConfig::syn_timeout`]), a handshake until it completes or fails, and connections
//! belong to the engine like any other. SYN cookies and RFC 5961 apply unchanged (the engine's
//! own listener code runs every handshake).
//!
//! [`AnyListener`]: crate::tokio::AnyListener

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io::{self, ErrorKind};
use std::net::SocketAddr;
use std::time::Duration;

use synack_stack::iface::{Interface, SegmentMeta};
use synack_tcp::{ConnConfig, ConnId, Endpoint, FourTuple, Instant, ListenerId, State};
use synack_wire::tcp::{TcpFlags, TcpOptions};
use synack_wire::{SeqNum, TcpRepr};

use crate::error;

/// What to do with a new inbound connection attempt (a SYN) seen by an accept-any listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynDecision {
    /// Go on with the handshake.
    Accept,
    /// Answer with a RST, as for a closed port: the client sees "connection refused".
    Refuse,
    /// Drop the SYN silently: the client retries, then times out.
    Drop,
}

/// A synchronous decision per SYN, called in the stack's pass (with the state locked, on
/// the driver thread or an application thread) with (the SYN's destination, the client)
/// before anything is answered. Keep it short and call nothing on the stack.
pub type AnyPolicy = Box<dyn FnMut(SocketAddr, SocketAddr) -> SynDecision + Send>;

/// Settings of an accept-any listener.
pub struct AnyConfig {
    /// Connections waiting to be taken: the engine's accept queue and, for a deferred
    /// listener, the SYNs held unanswered. SYNs beyond it are dropped (the client retries).
    pub backlog: usize,
    /// Decides each new SYN before anything is answered; `None` accepts all.
    pub policy: Option<AnyPolicy>,
    /// Settings accepted connections get; `None`: the stack's defaults.
    pub conn: Option<ConnConfig>,
    /// How long a deferred listener holds a SYN the application has not taken, and how long
    /// an accepted SYN may take to finish its handshake.
    pub syn_timeout: Duration,
}

impl Default for AnyConfig {
    fn default() -> Self {
        AnyConfig { backlog: 1024, policy: None, conn: None, syn_timeout: Duration::from_secs(30) }
    }
}

impl fmt::Debug for AnyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyConfig")
            .field("backlog", &self.backlog)
            .field("policy", &self.policy.as_ref().map(|_| "FnMut"))
            .field("conn", &self.conn)
            .field("syn_timeout", &self.syn_timeout)
            .finish()
    }
}

/// What the accept-any path has done (see [`StackState::accept_any_stats`](super::StackState::accept_any_stats)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AcceptAnyStats {
    /// SYNs the policy accepted (immediate) or that were held for the application (deferred).
    pub accepted: u64,
    /// SYNs answered with RST (policy or [`IncomingSyn::refuse`](crate::tokio::IncomingSyn)).
    pub refused: u64,
    /// SYNs dropped by the policy or ignored by the application.
    pub dropped: u64,
    /// Retransmitted SYNs dropped because the first one is still held.
    pub duplicates: u64,
    /// SYNs dropped because the held table was full (the backlog).
    pub overflow: u64,
    /// Held SYNs and handshakes given up after `syn_timeout`.
    pub expired: u64,
}

/// What the table holds right now (see [`StackState::accept_any_usage`](super::StackState::accept_any_usage)): every count goes
/// back to zero once the connections it saw are answered and gone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AcceptAnyUsage {
    /// SYNs held unanswered (taken by the application or not).
    pub held: usize,
    /// Held SYNs not yet taken by the application.
    pub queued: usize,
    /// Accepted SYNs whose handshake is under way.
    pub handshakes: usize,
}

/// A SYN copied out of the receive buffer, so it can be given to the engine later.
struct OwnedSyn {
    src_port: u16,
    dst_port: u16,
    seq: SeqNum,
    ack: SeqNum,
    flags: TcpFlags,
    window: u16,
    urgent: u16,
    options: TcpOptions,
    raw_options: Option<Vec<u8>>,
    payload: Vec<u8>,
}

impl OwnedSyn {
    fn new(seg: &TcpRepr<'_>) -> OwnedSyn {
        OwnedSyn {
            src_port: seg.src_port,
            dst_port: seg.dst_port,
            seq: seg.seq,
            ack: seg.ack,
            flags: seg.flags,
            window: seg.window,
            urgent: seg.urgent,
            options: seg.options,
            raw_options: seg.raw_options.map(<[u8]>::to_vec),
            payload: seg.payload.to_vec(),
        }
    }

    fn repr(&self) -> TcpRepr<'_> {
        TcpRepr {
            src_port: self.src_port,
            dst_port: self.dst_port,
            seq: self.seq,
            ack: self.ack,
            flags: self.flags,
            window: self.window,
            urgent: self.urgent,
            options: self.options,
            raw_options: self.raw_options.as_deref(),
            payload: &self.payload,
        }
    }
}

struct HeldSyn {
    meta: SegmentMeta,
    syn: OwnedSyn,
    at: Instant,
    taken: bool,
}

/// An accepted SYN on its way to ESTABLISHED.
struct Handshake {
    /// The engine's half-open connection; `None` when the engine answered with a cookie.
    id: Option<ConnId>,
    deadline: Instant,
    done: Option<Result<ConnId, (ErrorKind, &'static str)>>,
}

/// The deferred listener's tables.
struct Held {
    backlog: usize,
    timeout: Duration,
    syns: HashMap<FourTuple, HeldSyn>,
    fresh: VecDeque<FourTuple>,
    handshakes: HashMap<FourTuple, Handshake>,
}

/// Accept-any state of a stack (at most one accept-any listener per stack).
pub(crate) struct AcceptAny {
    pub(crate) lid: ListenerId,
    policy: Option<AnyPolicy>,
    held: Option<Held>,
    stats: AcceptAnyStats,
    /// A SYN was held since the last [`AcceptAny::after_poll`].
    new_syn: bool,
    /// The interface's transparent mode before this listener turned it on, restored on close.
    was_transparent: bool,
}

impl AcceptAny {
    /// Opens the engine's wildcard listener; `deferred` holds SYNs for the application.
    pub(crate) fn open(
        endpoint: &mut Endpoint,
        iface: &mut Interface,
        cfg: AnyConfig,
        deferred: bool,
    ) -> io::Result<AcceptAny> {
        let conn = cfg.conn.unwrap_or(endpoint.config().conn);
        let backlog = cfg.backlog.max(1);
        let lid = endpoint.listen_any(backlog, conn).map_err(error::listen)?;
        let was_transparent = iface.config().transparent;
        iface.set_transparent(true);
        let held = deferred.then(|| Held {
            backlog,
            timeout: cfg.syn_timeout,
            syns: HashMap::new(),
            fresh: VecDeque::new(),
            handshakes: HashMap::new(),
        });
        Ok(AcceptAny {
            lid,
            policy: cfg.policy,
            held,
            stats: Default::default(),
            new_syn: false,
            was_transparent,
        })
    }

    /// Closes everything when the listener closes: held SYNs are forgotten (their clients
    /// time out), connections accepted for handshakes nobody waits on any more are reset.
    pub(crate) fn close(self, endpoint: &mut Endpoint, iface: &mut Interface) {
        iface.set_transparent(self.was_transparent);
        if let Some(h) = self.held {
            for hs in h.handshakes.into_values() {
                if let Some(Ok(id)) = hs.done {
                    let _ = endpoint.abort(id);
                }
            }
        }
    }

    /// The engine's wildcard listener this table stands in front of.
    pub(crate) fn lid(&self) -> ListenerId {
        self.lid
    }

    pub(crate) fn stats(&self) -> AcceptAnyStats {
        self.stats
    }

    pub(crate) fn usage(&self) -> AcceptAnyUsage {
        self.held.as_ref().map_or_else(AcceptAnyUsage::default, |h| AcceptAnyUsage {
            held: h.syns.len(),
            queued: h.fresh.len(),
            handshakes: h.handshakes.len(),
        })
    }

    /// Filters a segment on its way to the engine; false when it must not go there. Only new
    /// SYNs headed for the wildcard listener are looked at.
    pub(crate) fn filter(
        &mut self,
        now: Instant,
        endpoint: &mut Endpoint,
        meta: &SegmentMeta,
        seg: &TcpRepr<'_>,
    ) -> bool {
        if !seg.flags.syn() || seg.flags.ack() || seg.flags.rst() {
            return true;
        }
        let tuple = FourTuple {
            local: SocketAddr::new(meta.dst, seg.dst_port),
            remote: SocketAddr::new(meta.src, seg.src_port),
        };
        // A SYN that reopens a TIME-WAIT connection is a new connection attempt for the
        // listener (RFC 6191): it is decided like one; the engine keeps the new ISN above the
        // old incarnation's when the decision is to accept.
        let known = endpoint.lookup(&tuple).is_some() && !endpoint.syn_reopens(&tuple, seg);
        if known || endpoint.listener_for(tuple.local) != Some(self.lid) {
            return true;
        }
        if let Some(h) = &self.held {
            if h.handshakes.contains_key(&tuple) {
                // Accepted already; the engine answered with a cookie: let it answer again.
                return true;
            }
            if h.syns.contains_key(&tuple) {
                self.stats.duplicates += 1;
                return false;
            }
            if h.syns.len() >= h.backlog {
                self.stats.overflow += 1;
                return false;
            }
        }
        let decision =
            self.policy.as_mut().map_or(SynDecision::Accept, |p| p(tuple.local, tuple.remote));
        match decision {
            SynDecision::Accept => {
                self.stats.accepted += 1;
                match &mut self.held {
                    None => true,
                    Some(h) => {
                        let held =
                            HeldSyn { meta: *meta, syn: OwnedSyn::new(seg), at: now, taken: false };
                        h.syns.insert(tuple, held);
                        h.fresh.push_back(tuple);
                        self.new_syn = true;
                        false
                    }
                }
            }
            SynDecision::Refuse => {
                self.stats.refused += 1;
                endpoint.refuse_segment(now, meta.src, meta.dst, seg);
                false
            }
            SynDecision::Drop => {
                self.stats.dropped += 1;
                false
            }
        }
    }

    /// After each poll: moves completed handshakes out of the engine's accept queue, notices
    /// failed ones, and expires what timed out. True when a waiting application may proceed
    /// (a held SYN is new, or a handshake ended).
    pub(crate) fn after_poll(&mut self, now: Instant, endpoint: &mut Endpoint) -> bool {
        let mut changed = std::mem::take(&mut self.new_syn);
        let Some(h) = &mut self.held else { return changed };
        while let Some(id) = endpoint.accept(self.lid) {
            let tuple = endpoint.four_tuple(id).ok();
            match tuple.and_then(|t| h.handshakes.get_mut(&t)) {
                Some(hs) if hs.done.is_none() => {
                    hs.done = Some(Ok(id));
                    changed = true;
                }
                // Nobody waits for it (the accept was cancelled): reset it.
                _ => {
                    let _ = endpoint.abort(id);
                }
            }
        }
        for (tuple, hs) in h.handshakes.iter_mut().filter(|(_, hs)| hs.done.is_none()) {
            if let Some(id) = hs.id {
                let alive = endpoint.lookup(tuple) == Some(id)
                    && endpoint.state(id).is_ok_and(|s| s != State::Closed);
                if !alive {
                    hs.done = Some(Err((
                        ErrorKind::ConnectionAborted,
                        "the client gave up the handshake",
                    )));
                    changed = true;
                    continue;
                }
            }
            if now >= hs.deadline {
                self.stats.expired += 1;
                hs.done = Some(Err((ErrorKind::TimedOut, "the handshake did not complete")));
                changed = true;
            }
        }
        let timeout = h.timeout;
        let before = h.syns.len();
        h.syns.retain(|_, s| s.taken || now.saturating_since(s.at) < timeout);
        if h.syns.len() != before {
            self.stats.expired += (before - h.syns.len()) as u64;
            let syns = &h.syns;
            h.fresh.retain(|t| syns.contains_key(t));
        }
        changed
    }

    /// When [`after_poll`](Self::after_poll) next has something to expire.
    pub(crate) fn poll_at(&self) -> Option<Instant> {
        let h = self.held.as_ref()?;
        let syn = h.syns.values().filter(|s| !s.taken).map(|s| s.at + h.timeout).min();
        let hs = h.handshakes.values().filter(|x| x.done.is_none()).map(|x| x.deadline).min();
        syn.into_iter().chain(hs).min()
    }

    fn held_mut(&mut self) -> io::Result<&mut Held> {
        self.held.as_mut().ok_or_else(closed)
    }

    /// Takes the next held SYN nobody has taken. `Ok(None)`: none yet.
    pub(crate) fn next_syn(&mut self) -> io::Result<Option<FourTuple>> {
        let h = self.held_mut()?;
        while let Some(t) = h.fresh.pop_front() {
            if let Some(s) = h.syns.get_mut(&t) {
                s.taken = true;
                return Ok(Some(t));
            }
        }
        Ok(None)
    }

    /// Answers a held SYN: gives it to the engine, which answers SYN-ACK (or a cookie).
    pub(crate) fn accept_syn(
        &mut self,
        endpoint: &mut Endpoint,
        now: Instant,
        tuple: FourTuple,
    ) -> io::Result<()> {
        let h = self.held_mut()?;
        let s = h.syns.remove(&tuple).ok_or_else(|| {
            io::Error::new(ErrorKind::TimedOut, "the SYN expired before it was answered")
        })?;
        endpoint.on_segment_with_ecn(now, s.meta.src, s.meta.dst, s.meta.ecn, &s.syn.repr());
        let id = endpoint.lookup(&tuple);
        let deadline = now + h.timeout;
        h.handshakes.insert(tuple, Handshake { id, deadline, done: None });
        Ok(())
    }

    /// Where an accepted SYN's handshake stands: `None` while under way. On `Some` the
    /// handshake is forgotten (the connection, on success, belongs to the caller).
    pub(crate) fn handshake(&mut self, tuple: FourTuple) -> Option<io::Result<ConnId>> {
        let h = match self.held_mut() {
            Ok(h) => h,
            Err(e) => return Some(Err(e)),
        };
        let Some(hs) = h.handshakes.get(&tuple) else { return Some(Err(closed())) };
        hs.done.as_ref()?;
        let hs = h.handshakes.remove(&tuple)?;
        Some(hs.done?.map_err(|(kind, msg)| io::Error::new(kind, msg)))
    }

    /// The application no longer waits for `tuple` (answered, refused, ignored, dropped):
    /// forget the held SYN, and reset a connection whose handshake finished for nobody.
    pub(crate) fn cancel(&mut self, endpoint: &mut Endpoint, tuple: FourTuple) {
        let Some(h) = self.held.as_mut() else { return };
        if h.syns.remove(&tuple).is_some() {
            h.fresh.retain(|t| *t != tuple);
        }
        if let Some(hs) = h.handshakes.remove(&tuple) {
            // Still half-open: the engine's own connection; when it completes, `after_poll`
            // finds no handshake for it and resets it.
            if let Some(Ok(id)) = hs.done {
                let _ = endpoint.abort(id);
            }
        }
    }

    /// Answers a held SYN with RST, as a closed port does.
    pub(crate) fn refuse_syn(&mut self, endpoint: &mut Endpoint, now: Instant, tuple: FourTuple) {
        let Some(h) = self.held.as_mut() else { return };
        if let Some(s) = h.syns.remove(&tuple) {
            endpoint.refuse_segment(now, s.meta.src, s.meta.dst, &s.syn.repr());
            self.stats.refused += 1;
        }
    }

    /// Forgets a held SYN without answering it.
    pub(crate) fn ignore_syn(&mut self, tuple: FourTuple) {
        if let Some(h) = self.held.as_mut()
            && h.syns.remove(&tuple).is_some()
        {
            self.stats.dropped += 1;
        }
    }
}

/// The error for a listener that is no longer (or never was) the accept-any one.
pub(crate) fn closed() -> io::Error {
    io::Error::new(ErrorKind::NotConnected, "the accept-any listener is closed")
}
