//! The async API on a sharded stack ([`Shards`]): [`ShardedListener`] and
//! [`TcpStream::connect_sharded`]; see [`crate::net::ShardedListener`].

use std::fmt;
use std::io::{self, ErrorKind};
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use synack_tcp::ConnConfig;

use super::listener::TcpListener;
use super::stream::{TcpStream, each_addr, resolve};
use crate::net::ops;
use crate::runtime::{AnyConfig, Shards, shard_local_addr};

/// Times a sharded connect retries when another connect took the port it chose.
const PORT_RETRIES: usize = 8;

impl TcpStream {
    /// Opens a connection on one of `shards` (in turn), from a local port whose flow that shard
    /// owns; see [`TcpStream::connect`].
    pub async fn connect_sharded<A: ToSocketAddrs>(
        shards: &Shards,
        addr: A,
    ) -> io::Result<TcpStream> {
        each_addr(resolve(addr)?, |a| Self::connect_sharded_with(shards, a, None)).await
    }

    /// [`connect_sharded`](Self::connect_sharded) with chosen settings.
    pub async fn connect_sharded_with(
        shards: &Shards,
        addr: SocketAddr,
        cfg: Option<ConnConfig>,
    ) -> io::Result<TcpStream> {
        let (me, salt) = shards.pick();
        let stack = &shards.stacks()[me];
        if shards.len() == 1 {
            return Self::connect_with(stack, addr, cfg).await;
        }
        let mut last = None;
        for _ in 0..PORT_RETRIES {
            let local = stack.with(|st, _| {
                st.check_running()?;
                shard_local_addr(st, shards.steering(), me, addr, salt)
            })?;
            match Self::connect_from(stack, Some(local), addr, cfg, None).await {
                Err(e) if e.kind() == ErrorKind::AddrInUse => last = Some(e),
                r => return r,
            }
        }
        Err(last.unwrap_or_else(|| io::Error::new(ErrorKind::AddrInUse, "no free port")))
    }
}

/// A listener on every shard, used like [`TcpListener`]: `accept` takes a connection from
/// whichever shard has one (the shards in turn, so none starves).
pub struct ShardedListener {
    parts: Vec<TcpListener>,
    next: AtomicUsize,
}

impl fmt::Debug for ShardedListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShardedListener").field("parts", &self.parts).finish()
    }
}

impl ShardedListener {
    /// Listens on `addr` on every shard (port 0: a free port, the same on all).
    pub async fn bind<A: ToSocketAddrs>(shards: &Shards, addr: A) -> io::Result<ShardedListener> {
        each_addr(resolve(addr)?, |a| async move {
            Self::bind_with(shards, a, ops::DEFAULT_BACKLOG, None)
        })
        .await
    }

    /// [`bind`](Self::bind) with an accept-queue length per shard and connection settings.
    pub fn bind_with(
        shards: &Shards,
        addr: SocketAddr,
        backlog: usize,
        cfg: Option<ConnConfig>,
    ) -> io::Result<ShardedListener> {
        let parts = shards.bind_each(addr, |stack, a| {
            let l = TcpListener::bind_with(stack, a, backlog, cfg)?;
            let bound = l.local_addr()?;
            Ok((l, bound))
        })?;
        Ok(ShardedListener { parts, next: AtomicUsize::new(0) })
    }

    /// Accept-any on every shard, shard `i` with settings `cfg(i)`; see
    /// [`crate::net::ShardedListener::bind_any_with`].
    pub fn bind_any_with(
        shards: &Shards,
        mut cfg: impl FnMut(usize) -> AnyConfig,
    ) -> io::Result<ShardedListener> {
        let parts = shards
            .stacks()
            .iter()
            .enumerate()
            .map(|(i, s)| TcpListener::bind_any_with(s, cfg(i)))
            .collect::<io::Result<Vec<_>>>()?;
        Ok(ShardedListener { parts, next: AtomicUsize::new(0) })
    }

    /// Accept-any on every shard with default settings.
    pub fn bind_any(shards: &Shards) -> io::Result<ShardedListener> {
        Self::bind_any_with(shards, |_| AnyConfig::default())
    }

    /// The address listened on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.parts[0].local_addr()
    }

    /// The per-shard listeners, in shard order.
    pub fn parts(&self) -> &[TcpListener] {
        &self.parts
    }

    /// Waits for a connection that completed its handshake on any shard. Cancellation safe.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls every shard's listener; the task is registered with each that has nothing.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let n = self.parts.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        for k in 0..n {
            if let Poll::Ready(r) = self.parts[(start + k) % n].poll_accept(cx) {
                return Poll::Ready(r);
            }
        }
        Poll::Pending
    }
}
