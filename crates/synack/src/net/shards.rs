//! The blocking API on a sharded stack ([`Shards`]): [`ShardedListener`],
//! [`ShardedAnyListener`] and [`TcpStream::connect_sharded`]. A connection lives on one shard
//! and is an ordinary [`TcpStream`]; a listener is one listener per shard behind one accept.

use std::fmt;
use std::io::{self, ErrorKind};
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use synack_tcp::ConnConfig;

use super::any::{AnyListener, IncomingSyn};
use super::listener::TcpListener;
use super::ops;
use super::stream::TcpStream;
use crate::error;
use crate::runtime::{AnyConfig, Gate, Shards, Stack, shard_local_addr};

/// Times a sharded connect retries when another connect took the port it chose.
const PORT_RETRIES: usize = 8;

impl TcpStream {
    /// Opens a connection on one of `shards` (in turn), from a local port whose flow that shard
    /// owns, and waits for the handshake; see [`TcpStream::connect`].
    pub fn connect_sharded<A: ToSocketAddrs>(shards: &Shards, addr: A) -> io::Result<TcpStream> {
        let mut last = None;
        for a in addr.to_socket_addrs()? {
            match Self::connect_sharded_with(shards, a, None, None) {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(ErrorKind::InvalidInput, "could not resolve to any addresses")
        }))
    }

    /// [`connect_sharded`](Self::connect_sharded) with settings and a timeout, as
    /// [`TcpStream::connect_with`].
    pub fn connect_sharded_with(
        shards: &Shards,
        addr: SocketAddr,
        cfg: Option<ConnConfig>,
        timeout: Option<Duration>,
    ) -> io::Result<TcpStream> {
        let (me, salt) = shards.pick();
        let stack = &shards.stacks()[me];
        if shards.len() == 1 {
            return Self::connect_with(stack, addr, cfg, timeout);
        }
        let mut last = None;
        for _ in 0..PORT_RETRIES {
            let local = stack.with(|st, _| {
                st.check_running()?;
                shard_local_addr(st, shards.steering(), me, addr, salt)
            })?;
            match Self::connect_from(stack, Some(local), addr, cfg, timeout) {
                Err(e) if e.kind() == ErrorKind::AddrInUse => last = Some(e),
                r => return r,
            }
        }
        Err(last.unwrap_or_else(|| io::Error::new(ErrorKind::AddrInUse, "no free port")))
    }
}

/// A listener on every shard of a [`Shards`], used like [`TcpListener`]: `accept` takes a
/// connection from whichever shard has one (the shards in turn, so none starves).
pub struct ShardedListener {
    parts: Vec<TcpListener>,
    gate: Arc<Gate>,
    nonblocking: AtomicBool,
    next: AtomicUsize,
    stack: Arc<Stack>,
}

impl fmt::Debug for ShardedListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShardedListener").field("parts", &self.parts).finish()
    }
}

/// Has each shard's driver open `gate` when listener `part` there has something to take.
fn watch(stack: &Arc<Stack>, id: synack_tcp::ListenerId, gate: &Arc<Gate>) {
    stack.with(|st, _| st.accept_gates.push((id, gate.clone())));
}

impl ShardedListener {
    /// Listens on `addr` on every shard (port 0: a free port, the same on all).
    pub fn bind<A: ToSocketAddrs>(shards: &Shards, addr: A) -> io::Result<ShardedListener> {
        let mut last = None;
        for a in addr.to_socket_addrs()? {
            match Self::bind_with(shards, a, ops::DEFAULT_BACKLOG, None) {
                Ok(l) => return Ok(l),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(ErrorKind::InvalidInput, "could not resolve to any addresses")
        }))
    }

    /// [`bind`](Self::bind) with an accept-queue length per shard and the settings accepted
    /// connections get; see [`TcpListener::bind_with`].
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
        Ok(Self::over(shards, parts))
    }

    /// Accept-any on every shard; see [`TcpListener::bind_any`].
    pub fn bind_any(shards: &Shards) -> io::Result<ShardedListener> {
        Self::bind_any_with(shards, |_| AnyConfig::default())
    }

    /// [`bind_any`](Self::bind_any) with settings: `cfg(i)` makes shard `i`'s (a policy runs
    /// in that shard's passes, for the SYNs of the flows that shard owns).
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
        Ok(Self::over(shards, parts))
    }

    fn over(shards: &Shards, parts: Vec<TcpListener>) -> ShardedListener {
        let gate = Arc::new(Gate::default());
        for (stack, l) in shards.stacks().iter().zip(&parts) {
            // Each part is only ever polled; the gate does the waiting.
            let _ = l.set_nonblocking(true);
            watch(stack, l.id(), &gate);
        }
        ShardedListener {
            parts,
            gate,
            nonblocking: AtomicBool::new(false),
            next: AtomicUsize::new(0),
            stack: shards.stacks()[0].clone(),
        }
    }

    /// The address listened on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.parts[0].local_addr()
    }

    /// The per-shard listeners, in shard order.
    pub fn parts(&self) -> &[TcpListener] {
        &self.parts
    }

    /// `IP_TTL` for accepted connections, on every shard; see [`TcpListener::set_ttl`].
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.parts.iter().try_for_each(|l| l.set_ttl(ttl))
    }

    /// Nonblocking mode: `accept` with nothing queued returns `ErrorKind::WouldBlock`.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.nonblocking.store(nonblocking, Ordering::Release);
        Ok(())
    }

    /// Waits for a connection that completed its handshake on any shard.
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        if self.nonblocking.load(Ordering::Acquire) {
            return self.take().unwrap_or_else(|| {
                Err(io::Error::new(ErrorKind::WouldBlock, "no connection waiting"))
            });
        }
        wait_gate(&self.gate, &self.stack, None, || self.take())
            .unwrap_or_else(|| Err(error::stopped()))
    }

    /// Like [`accept`](Self::accept), giving up with `ErrorKind::TimedOut` after `timeout`.
    pub fn accept_timeout(&self, timeout: Duration) -> io::Result<(TcpStream, SocketAddr)> {
        wait_gate(&self.gate, &self.stack, Some(timeout), || self.take())
            .unwrap_or_else(|| Err(error::timed_out("accept", ErrorKind::TimedOut)))
    }

    fn take(&self) -> Option<io::Result<(TcpStream, SocketAddr)>> {
        let n = self.parts.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        for k in 0..n {
            match self.parts[(start + k) % n].accept() {
                Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                r => return Some(r),
            }
        }
        None
    }
}

/// Calls `take` until it gives something, sleeping on `gate` between tries, until `timeout`
/// (measured on `stack`'s clock) passes.
fn wait_gate<T>(
    gate: &Gate,
    stack: &Stack,
    timeout: Option<Duration>,
    mut take: impl FnMut() -> Option<T>,
) -> Option<T> {
    let deadline = timeout.map(|t| stack.now() + t);
    loop {
        let seen = gate.count();
        if let Some(x) = take() {
            return Some(x);
        }
        let left = match deadline {
            Some(d) => {
                let now = stack.now();
                if now >= d {
                    return None;
                }
                Some(d.saturating_since(now))
            }
            None => None,
        };
        gate.wait(seen, left);
    }
}

/// Accept-any with a deferred decision on every shard, used like [`AnyListener`]: `next`
/// yields the SYNs of whichever shard holds one.
pub struct ShardedAnyListener {
    parts: Vec<AnyListener>,
    gate: Arc<Gate>,
    nonblocking: AtomicBool,
    next: AtomicUsize,
    stack: Arc<Stack>,
}

impl fmt::Debug for ShardedAnyListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShardedAnyListener").field("parts", &self.parts).finish()
    }
}

impl ShardedAnyListener {
    /// Opens a deferred accept-any listener on every shard, shard `i` with settings `cfg(i)`;
    /// see [`AnyListener::bind`].
    pub fn bind(
        shards: &Shards,
        mut cfg: impl FnMut(usize) -> AnyConfig,
    ) -> io::Result<ShardedAnyListener> {
        let gate = Arc::new(Gate::default());
        let mut parts = Vec::with_capacity(shards.len());
        for (i, stack) in shards.stacks().iter().enumerate() {
            let l = AnyListener::bind(stack, cfg(i))?;
            let _ = l.set_nonblocking(true);
            watch(stack, l.id(), &gate);
            parts.push(l);
        }
        Ok(ShardedAnyListener {
            parts,
            gate,
            nonblocking: AtomicBool::new(false),
            next: AtomicUsize::new(0),
            stack: shards.stacks()[0].clone(),
        })
    }

    /// Nonblocking mode: `next` with no SYN waiting returns `ErrorKind::WouldBlock`.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.nonblocking.store(nonblocking, Ordering::Release);
        Ok(())
    }

    /// Waits for the next new SYN on any shard.
    pub fn next(&self) -> io::Result<IncomingSyn> {
        if self.nonblocking.load(Ordering::Acquire) {
            return self
                .take()
                .unwrap_or_else(|| Err(io::Error::new(ErrorKind::WouldBlock, "no SYN waiting")));
        }
        wait_gate(&self.gate, &self.stack, None, || self.take())
            .unwrap_or_else(|| Err(error::stopped()))
    }

    /// Like [`next`](Self::next), giving up with `ErrorKind::TimedOut` after `timeout`.
    pub fn next_timeout(&self, timeout: Duration) -> io::Result<IncomingSyn> {
        wait_gate(&self.gate, &self.stack, Some(timeout), || self.take())
            .unwrap_or_else(|| Err(error::timed_out("next", ErrorKind::TimedOut)))
    }

    fn take(&self) -> Option<io::Result<IncomingSyn>> {
        let n = self.parts.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        for k in 0..n {
            match self.parts[(start + k) % n].next() {
                Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                r => return Some(r),
            }
        }
        None
    }
}
