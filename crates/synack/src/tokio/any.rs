//! Accept-any TCP for tokio: [`TcpListener::bind_any`], [`AnyListener`] and [`IncomingSyn`],
//! the async forms of [`crate::net::AnyListener`] (same semantics, same errors).

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use synack_tcp::ListenerId;

use super::listener::TcpListener;
use super::stream::TcpStream;
use crate::net::sock::Core;
use crate::net::{Cancel, HeldSyn, open_any};
use crate::runtime::{self, AnyConfig, Stack, WaitOn};

impl TcpListener {
    /// Accept-any: a listener for every SYN to any address and port (IPv4 and IPv6) that no
    /// other listener claims, handshakes answered at once; see
    /// [`crate::net::TcpListener::bind_any`]. Not `async`: nothing to wait for.
    pub fn bind_any(stack: &Arc<Stack>) -> io::Result<TcpListener> {
        Self::bind_any_with(stack, AnyConfig::default())
    }

    /// [`bind_any`](Self::bind_any) with settings (backlog, policy, connection settings).
    pub fn bind_any_with(stack: &Arc<Stack>, cfg: AnyConfig) -> io::Result<TcpListener> {
        let id = open_any(stack, cfg, false)?;
        Ok(TcpListener::from_any(stack, id))
    }
}

/// Accept-any with a deferred decision, for tokio: see [`crate::net::AnyListener`].
pub struct AnyListener {
    stack: Arc<Stack>,
    lid: ListenerId,
}

impl fmt::Debug for AnyListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyListener").field("id", &self.lid).finish()
    }
}

impl Drop for AnyListener {
    fn drop(&mut self) {
        let id = self.lid;
        self.stack.with(|st, _| {
            st.close_listener(id);
            st.waiters.forget(WaitOn::Listener(id));
        });
    }
}

impl AnyListener {
    /// Opens the stack's accept-any listener with a deferred decision (one per stack:
    /// `AddrInUse` when one is open). Not `async`: nothing to wait for.
    pub fn bind(stack: &Arc<Stack>, cfg: AnyConfig) -> io::Result<AnyListener> {
        let lid = open_any(stack, cfg, true)?;
        Ok(AnyListener { stack: stack.clone(), lid })
    }

    /// Waits for the next new SYN; the client is not answered until the [`IncomingSyn`] is.
    ///
    /// Cancellation safe: a SYN is taken only when this returns it.
    pub async fn next(&self) -> io::Result<IncomingSyn> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    /// Polls for the next new SYN; registers the task when none is waiting.
    pub fn poll_next(&self, cx: &mut Context<'_>) -> Poll<io::Result<IncomingSyn>> {
        let lid = self.lid;
        let r = self.stack.with(|st, _| {
            let r = runtime::next_syn(st, lid);
            if let Ok(None) = r {
                st.wait_task(WaitOn::Listener(lid), cx.waker());
            }
            r
        });
        match r {
            Ok(None) => Poll::Pending,
            Ok(Some(tuple)) => {
                Poll::Ready(Ok(IncomingSyn { held: HeldSyn::new(self.stack.clone(), lid, tuple) }))
            }
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

/// A connection attempt whose SYN has not been answered yet, for tokio; see
/// [`crate::net::IncomingSyn`]. Dropping it ignores it.
pub struct IncomingSyn {
    held: HeldSyn,
}

impl fmt::Debug for IncomingSyn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.held.fmt(f)
    }
}

impl IncomingSyn {
    /// The SYN's destination: the address the client wanted to reach.
    pub fn local_addr(&self) -> SocketAddr {
        self.held.tuple.local
    }

    /// The client.
    pub fn peer_addr(&self) -> SocketAddr {
        self.held.tuple.remote
    }

    /// Answers SYN-ACK; resolves when the connection is ESTABLISHED. Errors as for
    /// [`crate::net::IncomingSyn::accept`]. Dropping the future before it resolves resets
    /// the connection (or forgets the handshake).
    pub async fn accept(mut self) -> io::Result<TcpStream> {
        let (stack, lid, tuple) = (self.held.stack.clone(), self.held.lid, self.held.tuple);
        let mut guard = Cancel { stack: &stack, lid, tuple, armed: true };
        self.held.answer_syn_ack()?;
        let r = std::future::poll_fn(|cx| {
            let r = stack.with(|st, _| {
                let r = runtime::handshake(st, lid, tuple);
                if r.is_none() {
                    st.wait_task(WaitOn::Listener(lid), cx.waker());
                }
                r
            });
            r.map_or(Poll::Pending, Poll::Ready)
        })
        .await;
        guard.armed = false;
        let id = r?;
        Ok(TcpStream::from_core(Arc::new(Core::new(stack.clone(), id, tuple.local, tuple.remote))))
    }

    /// Answers RST, as a closed port does: the client sees "connection refused".
    pub fn refuse(self) {
        self.held.refuse();
    }

    /// Forgets the SYN without answering: the client retries and eventually times out.
    pub fn ignore(self) {}
}
