//! [`TcpListener`]: a blocking listening socket, like `std::net::TcpListener`.

use std::fmt;
use std::io::{self, ErrorKind};
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use synack_tcp::{ConnConfig, ListenerId};

use super::stream::TcpStream;
use super::{error, ops};
use crate::runtime::Stack;

/// A listening socket on a synack [`Stack`], used like `std::net::TcpListener`. Dropping it
/// closes the listener: connections still waiting in its accept queue are reset.
pub struct TcpListener {
    stack: Arc<Stack>,
    id: ListenerId,
    local: SocketAddr,
    nonblocking: AtomicBool,
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener").field("id", &self.id).field("local", &self.local).finish()
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        let id = self.id;
        self.stack.with(|st, _| st.close_listener(id));
    }
}

impl TcpListener {
    /// Listens on `addr` (the first address it resolves to that works). Port 0 picks a free
    /// port (see [`local_addr`](Self::local_addr)); an IP the interface does not have is
    /// `AddrNotAvailable`; a second listener on the same address is `AddrInUse`.
    pub fn bind<A: ToSocketAddrs>(stack: &Arc<Stack>, addr: A) -> io::Result<TcpListener> {
        let mut last = None;
        for a in addr.to_socket_addrs()? {
            match Self::bind_with(stack, a, ops::DEFAULT_BACKLOG, None) {
                Ok(l) => return Ok(l),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(ErrorKind::InvalidInput, "could not resolve to any addresses")
        }))
    }

    /// Listens with an accept-queue length and the settings accepted connections get (`None`:
    /// the stack's defaults).
    pub fn bind_with(
        stack: &Arc<Stack>,
        addr: SocketAddr,
        backlog: usize,
        cfg: Option<ConnConfig>,
    ) -> io::Result<TcpListener> {
        let (id, local) = stack.with(|st, _| ops::listen_or_default(st, addr, backlog, cfg))?;
        Ok(TcpListener { stack: stack.clone(), id, local, nonblocking: AtomicBool::new(false) })
    }

    /// Wraps the accept-any listener `id` (see `TcpListener::bind_any`).
    pub(crate) fn from_any(stack: &Arc<Stack>, id: ListenerId) -> TcpListener {
        let local = SocketAddr::from(([0, 0, 0, 0], 0));
        TcpListener { stack: stack.clone(), id, local, nonblocking: AtomicBool::new(false) }
    }

    /// The address listened on (with the port chosen when bound to port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }

    /// The engine's id for this listener.
    pub fn id(&self) -> ListenerId {
        self.id
    }

    /// Nonblocking mode: `accept` with nothing queued returns `ErrorKind::WouldBlock`.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.nonblocking.store(nonblocking, Ordering::Release);
        Ok(())
    }

    /// Waits for a connection that completed its handshake.
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        if self.nonblocking.load(Ordering::Acquire) {
            return self.stack.with(|st, _| self.take(st)).unwrap_or_else(|| {
                Err(io::Error::new(ErrorKind::WouldBlock, "no connection waiting"))
            });
        }
        self.stack.wait(None, |st, _| self.take(st)).unwrap_or_else(|| Err(error::stopped()))
    }

    /// Like [`accept`](Self::accept) but gives up with `ErrorKind::TimedOut` after `timeout`
    /// (an extension: std has no accept timeout).
    pub fn accept_timeout(&self, timeout: Duration) -> io::Result<(TcpStream, SocketAddr)> {
        self.stack
            .wait(Some(timeout), |st, _| self.take(st))
            .unwrap_or_else(|| Err(error::timed_out("accept", ErrorKind::TimedOut)))
    }

    fn take(
        &self,
        st: &mut crate::runtime::StackState,
    ) -> Option<io::Result<(TcpStream, SocketAddr)>> {
        Some(ops::accept(st, self.id)?.map(|(id, t)| {
            (TcpStream::from_parts(self.stack.clone(), id, t.local, t.remote), t.remote)
        }))
    }

    /// An endless iterator of [`accept`](Self::accept) results.
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }
}

/// The iterator of [`TcpListener::incoming`]: never returns `None`.
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

impl Iterator for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn next(&mut self) -> Option<io::Result<TcpStream>> {
        Some(self.listener.accept().map(|(s, _)| s))
    }
}
