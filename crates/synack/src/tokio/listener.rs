//! [`TcpListener`] for tokio.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use synack_tcp::{ConnConfig, ListenerId};

use super::registry::{Registry, registry};
use super::stream::{Conn, TcpStream};
use crate::net::ops;
use crate::runtime::Stack;

/// A listening socket on a synack stack for tokio, used like `tokio::net::TcpListener`.
/// Dropping it closes the listener (connections not yet accepted are reset).
pub struct TcpListener {
    stack: Arc<Stack>,
    reg: Arc<Registry>,
    id: ListenerId,
    local: SocketAddr,
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
        self.reg.remove_listener(id);
    }
}

impl TcpListener {
    /// Listens on `addr` (port 0 picks a free port). Errors as for the blocking
    /// [`crate::net::TcpListener::bind`]. `async` only to read like tokio's.
    pub async fn bind(stack: &Arc<Stack>, addr: SocketAddr) -> io::Result<TcpListener> {
        Self::bind_with(stack, addr, ops::DEFAULT_BACKLOG, None)
    }

    /// Listens with an accept-queue length and the settings accepted connections get.
    pub fn bind_with(
        stack: &Arc<Stack>,
        addr: SocketAddr,
        backlog: usize,
        cfg: Option<ConnConfig>,
    ) -> io::Result<TcpListener> {
        let reg = registry(stack);
        let (id, local) = stack.with(|st, _| ops::listen_or_default(st, addr, backlog, cfg))?;
        Ok(TcpListener { stack: stack.clone(), reg, id, local })
    }

    /// Wraps the accept-any listener `id` (see `TcpListener::bind_any`).
    pub(crate) fn from_any(stack: &Arc<Stack>, reg: Arc<Registry>, id: ListenerId) -> TcpListener {
        let local = SocketAddr::from(([0, 0, 0, 0], 0));
        TcpListener { stack: stack.clone(), reg, id, local }
    }

    /// The address listened on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
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
        let r = self.stack.with(|st, _| {
            let r = ops::accept(st, lid);
            if r.is_none() {
                self.reg.wait_accept(lid, cx.waker());
            }
            r
        });
        match r {
            None => Poll::Pending,
            Some(Err(e)) => Poll::Ready(Err(e)),
            Some(Ok((id, t))) => {
                let conn = Conn {
                    stack: self.stack.clone(),
                    reg: self.reg.clone(),
                    id,
                    local: t.local,
                    peer: t.remote,
                };
                Poll::Ready(Ok((TcpStream { conn: Arc::new(conn) }, t.remote)))
            }
        }
    }
}
