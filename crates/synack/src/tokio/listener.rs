//! [`TcpListener`] for tokio.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll};

use synack_tcp::{ConnConfig, ListenerId};

use super::stream::{TcpStream, each_addr, resolve};
use crate::net::ops;
use crate::net::sock::Core;
use crate::runtime::{Stack, WaitOn};

/// A listening socket on a synack stack for tokio, used like `tokio::net::TcpListener`.
/// Dropping it closes the listener (connections not yet accepted are reset).
pub struct TcpListener {
    stack: Arc<Stack>,
    id: ListenerId,
    local: SocketAddr,
    /// `IP_TTL` accepted connections inherit; 0: the interface's.
    ttl: AtomicU32,
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener").field("id", &self.id).field("local", &self.local).finish()
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        let id = self.id;
        self.stack.with(|st, _| {
            st.close_listener(id);
            st.waiters.forget(WaitOn::Listener(id));
        });
    }
}

impl TcpListener {
    /// Listens on `addr` (port 0 picks a free port), trying each address it resolves to in
    /// turn (see [`TcpStream::connect`] on resolution). Errors as for the blocking
    /// [`crate::net::TcpListener::bind`].
    pub async fn bind<A: ToSocketAddrs>(stack: &Arc<Stack>, addr: A) -> io::Result<TcpListener> {
        each_addr(resolve(addr)?, |a| async move {
            Self::bind_with(stack, a, ops::DEFAULT_BACKLOG, None)
        })
        .await
    }

    /// Listens with an accept-queue length and the settings accepted connections get.
    pub fn bind_with(
        stack: &Arc<Stack>,
        addr: SocketAddr,
        backlog: usize,
        cfg: Option<ConnConfig>,
    ) -> io::Result<TcpListener> {
        let (id, local) = stack.with(|st, _| ops::listen_or_default(st, addr, backlog, cfg))?;
        Ok(TcpListener { stack: stack.clone(), id, local, ttl: AtomicU32::new(0) })
    }

    /// Wraps the accept-any listener `id` (see `TcpListener::bind_any`).
    pub(crate) fn from_any(stack: &Arc<Stack>, id: ListenerId) -> TcpListener {
        let local = SocketAddr::from(([0, 0, 0, 0], 0));
        TcpListener { stack: stack.clone(), id, local, ttl: AtomicU32::new(0) }
    }

    /// Signs this listener's connections with TCP-MD5 (RFC 2385), as Linux's `TCP_MD5SIG`
    /// on a listening socket; see `synack::net::TcpListener::set_md5_key`.
    pub fn set_md5_key(&self, peer: IpAddr, prefix_len: u8, secret: &[u8]) -> io::Result<()> {
        self.stack.set_port_md5_key(self.local.port(), peer, prefix_len, secret)
    }

    /// The address listened on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }

    /// The engine's id for this listener.
    pub fn id(&self) -> ListenerId {
        self.id
    }

    /// `IP_TTL` for the connections accepted from now on; see
    /// [`crate::net::TcpListener::set_ttl`].
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.ttl.store(u32::from(ops::check_ttl(ttl)?), Ordering::Release);
        Ok(())
    }

    /// The TTL accepted connections get: the one set, else the interface's.
    pub fn ttl(&self) -> io::Result<u32> {
        match self.ttl.load(Ordering::Acquire) {
            0 => {
                let ip = self.local.ip();
                Ok(self.stack.with(|st, _| ops::iface_ttl(st, ip)))
            }
            t => Ok(t),
        }
    }

    /// Waits for a connection that completed its handshake.
    ///
    /// Cancellation safe: a connection is taken from the accept queue only when this returns
    /// it, so dropping the future (in a `select!`) loses none.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection; registers the task when none is waiting.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let lid = self.id;
        let ttl = self.ttl.load(Ordering::Acquire);
        let r = self.stack.with(|st, _| {
            let r = ops::accept(st, lid, ttl);
            if r.is_none() {
                st.wait_task(WaitOn::Listener(lid), cx.waker());
            }
            r
        });
        match r {
            None => Poll::Pending,
            Some(Err(e)) => Poll::Ready(Err(e)),
            Some(Ok((id, t))) => {
                let core = Arc::new(Core::new(self.stack.clone(), id, t.local, t.remote));
                Poll::Ready(Ok((TcpStream::from_core(core), t.remote)))
            }
        }
    }
}
