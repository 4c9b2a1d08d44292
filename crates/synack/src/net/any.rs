//! Accept-any TCP, blocking: [`TcpListener::bind_any`], [`AnyListener`] and [`IncomingSyn`].
//!
//! The listener takes every connection to any address and port that no connection and no
//! ordinary listener claims, IPv4 and IPv6; an accepted stream's `local_addr()` is the SYN's
//! original destination. One accept-any listener per stack (a second is `AddrInUse`). The
//! design is in the runtime's `any.rs`; `docs/API.md` has the guide.

use std::fmt;
use std::io::{self, ErrorKind};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use synack_tcp::{FourTuple, ListenerId};

use super::listener::TcpListener;
use super::stream::TcpStream;
use crate::error;
use crate::runtime::{self, AnyConfig, Stack, StackState, WaitOn};

/// Opens the accept-any listener and returns its id.
pub(crate) fn open_any(
    stack: &Arc<Stack>,
    cfg: AnyConfig,
    deferred: bool,
) -> io::Result<ListenerId> {
    stack.with(|st, _| {
        st.check_running()?;
        runtime::open_accept_any(st, cfg, deferred)?;
        st.any.as_ref().map(|a| a.lid).ok_or_else(|| io::Error::other("accept-any not opened"))
    })
}

impl TcpListener {
    /// Accept-any: a listener for every SYN to any address and port (IPv4 and IPv6) that no
    /// other listener claims, handshakes answered at once. `accept` gives streams whose
    /// `local_addr()` is the SYN's original destination; this listener's own `local_addr()`
    /// is `0.0.0.0:0`. The interface takes TCP for addresses not its own while it is open.
    /// One per stack: a second (or an [`AnyListener`]) is `AddrInUse`.
    pub fn bind_any(stack: &Arc<Stack>) -> io::Result<TcpListener> {
        Self::bind_any_with(stack, AnyConfig::default())
    }

    /// [`bind_any`](Self::bind_any) with settings: the accept-queue length, a policy that
    /// accepts, refuses (RST) or drops each SYN before it is answered, and the settings
    /// accepted connections get.
    pub fn bind_any_with(stack: &Arc<Stack>, cfg: AnyConfig) -> io::Result<TcpListener> {
        let id = open_any(stack, cfg, false)?;
        Ok(TcpListener::from_any(stack, id))
    }
}

/// Accept-any with a deferred decision: yields each new SYN ([`IncomingSyn`]) before it is
/// answered, so a relay can reach the destination first, then accept (SYN-ACK) or refuse
/// (RST). SYNs wait unanswered in a table bounded by [`AnyConfig::backlog`] (more are dropped;
/// the client retries), retransmissions of a held SYN are dropped, and a SYN not taken within
/// [`AnyConfig::syn_timeout`] is forgotten. Dropping the listener forgets every held SYN.
pub struct AnyListener {
    stack: Arc<Stack>,
    lid: ListenerId,
    nonblocking: AtomicBool,
}

impl fmt::Debug for AnyListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyListener").field("id", &self.lid).finish()
    }
}

impl Drop for AnyListener {
    fn drop(&mut self) {
        let id = self.lid;
        self.stack.with(|st, _| st.close_listener(id));
    }
}

impl AnyListener {
    /// Opens the stack's accept-any listener with a deferred decision. `cfg.policy`, if set,
    /// still runs first (in the stack's pass): only the SYNs it accepts are held. One per
    /// stack: `AddrInUse` when an accept-any listener is open.
    pub fn bind(stack: &Arc<Stack>, cfg: AnyConfig) -> io::Result<AnyListener> {
        let lid = open_any(stack, cfg, true)?;
        Ok(AnyListener { stack: stack.clone(), lid, nonblocking: AtomicBool::new(false) })
    }

    /// Nonblocking mode: `next` with no SYN waiting returns `ErrorKind::WouldBlock`.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.nonblocking.store(nonblocking, Ordering::Release);
        Ok(())
    }

    /// The engine's id for this listener.
    pub(crate) fn id(&self) -> ListenerId {
        self.lid
    }

    /// Waits for the next new SYN; the client is not answered until the [`IncomingSyn`] is.
    pub fn next(&self) -> io::Result<IncomingSyn> {
        if self.nonblocking.load(Ordering::Acquire) {
            return self
                .stack
                .with(|st, _| self.take(st))
                .unwrap_or_else(|| Err(io::Error::new(ErrorKind::WouldBlock, "no SYN waiting")));
        }
        self.stack
            .wait_on(WaitOn::Listener(self.lid), None, |st, _| self.take(st))
            .unwrap_or_else(|| Err(error::stopped()))
    }

    /// Like [`next`](Self::next), giving up with `ErrorKind::TimedOut` after `timeout`.
    pub fn next_timeout(&self, timeout: Duration) -> io::Result<IncomingSyn> {
        self.stack
            .wait_on(WaitOn::Listener(self.lid), Some(timeout), |st, _| self.take(st))
            .unwrap_or_else(|| Err(error::timed_out("next", ErrorKind::TimedOut)))
    }

    fn take(&self, st: &mut StackState) -> Option<io::Result<IncomingSyn>> {
        match runtime::next_syn(st, self.lid) {
            Ok(None) => None,
            Ok(Some(tuple)) => Some(Ok(IncomingSyn::new(self.stack.clone(), self.lid, tuple))),
            Err(e) => Some(Err(e)),
        }
    }
}

/// A connection attempt whose SYN has not been answered yet. Answer it with
/// [`accept`](Self::accept), [`refuse`](Self::refuse) or [`ignore`](Self::ignore); dropping
/// it ignores it.
pub struct IncomingSyn {
    held: HeldSyn,
}

impl fmt::Debug for IncomingSyn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.held.fmt(f)
    }
}

impl IncomingSyn {
    fn new(stack: Arc<Stack>, lid: ListenerId, tuple: FourTuple) -> IncomingSyn {
        IncomingSyn { held: HeldSyn::new(stack, lid, tuple) }
    }

    /// The SYN's destination: the address the client wanted to reach.
    pub fn local_addr(&self) -> SocketAddr {
        self.held.tuple.local
    }

    /// The client.
    pub fn peer_addr(&self) -> SocketAddr {
        self.held.tuple.remote
    }

    /// Answers SYN-ACK and waits until the connection is ESTABLISHED. Fails with
    /// `ConnectionAborted` when the client resets or gives up during the handshake,
    /// `TimedOut` when it does not finish within [`AnyConfig::syn_timeout`] (or the SYN
    /// expired before this call), `NetworkDown` when the driver stopped.
    pub fn accept(mut self) -> io::Result<TcpStream> {
        let (stack, lid, tuple) = (self.held.stack.clone(), self.held.lid, self.held.tuple);
        let mut guard = Cancel { stack: &stack, lid, tuple, armed: true };
        self.held.answer_syn_ack()?;
        let r = stack
            .wait_on(WaitOn::Listener(lid), None, |st, _| runtime::handshake(st, lid, tuple))
            .unwrap_or_else(|| Err(error::stopped()));
        guard.armed = false;
        let id = r?;
        Ok(TcpStream::from_parts(stack.clone(), id, tuple.local, tuple.remote))
    }

    /// Answers RST, as a closed port does: the client sees "connection refused".
    pub fn refuse(self) {
        self.held.refuse();
    }

    /// Forgets the SYN without answering: the client retries (each retransmission comes
    /// back as a new `IncomingSyn`) and eventually times out.
    pub fn ignore(self) {}
}

/// A held SYN given to the application, behind both the blocking and the async
/// `IncomingSyn`: it knows its listener and 4-tuple, and is ignored if dropped unanswered.
pub(crate) struct HeldSyn {
    pub(crate) stack: Arc<Stack>,
    pub(crate) lid: ListenerId,
    pub(crate) tuple: FourTuple,
    answered: bool,
}

impl HeldSyn {
    pub(crate) fn new(stack: Arc<Stack>, lid: ListenerId, tuple: FourTuple) -> HeldSyn {
        HeldSyn { stack, lid, tuple, answered: false }
    }

    /// Answers SYN-ACK (the handshake is then waited for by the caller).
    pub(crate) fn answer_syn_ack(&mut self) -> io::Result<()> {
        self.answered = true;
        let (lid, tuple) = (self.lid, self.tuple);
        self.stack.with(|st, now| runtime::accept_syn(st, now, lid, tuple))
    }

    /// Answers RST, as a closed port does.
    pub(crate) fn refuse(mut self) {
        self.answered = true;
        let (lid, tuple) = (self.lid, self.tuple);
        self.stack.with(|st, now| runtime::refuse_syn(st, now, lid, tuple));
    }
}

impl fmt::Debug for HeldSyn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IncomingSyn")
            .field("local", &self.tuple.local)
            .field("peer", &self.tuple.remote)
            .finish()
    }
}

impl Drop for HeldSyn {
    fn drop(&mut self) {
        if !self.answered {
            let (lid, tuple) = (self.lid, self.tuple);
            self.stack.with(|st, _| runtime::ignore_syn(st, lid, tuple));
        }
    }
}

/// Forgets an accepted SYN's handshake when the wait for it ends early (a panic, or the async
/// future dropped), so nothing stays behind for nobody.
pub(crate) struct Cancel<'a> {
    pub(crate) stack: &'a Arc<Stack>,
    pub(crate) lid: ListenerId,
    pub(crate) tuple: FourTuple,
    pub(crate) armed: bool,
}

impl Drop for Cancel<'_> {
    fn drop(&mut self) {
        if self.armed {
            let (lid, tuple) = (self.lid, self.tuple);
            self.stack.with(|st, _| runtime::cancel(st, lid, tuple));
        }
    }
}
