//! [`TcpListener`]: a blocking listening socket, like `std::net::TcpListener`.

use std::fmt;
use std::io::{self, ErrorKind};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use synack_tcp::{ConnConfig, ListenerId};

use super::ops;
use super::stream::TcpStream;
use crate::error;
use crate::runtime::{Stack, WaitOn};

/// A listening socket on a synack [`Stack`], used like `std::net::TcpListener`. Dropping the
/// last handle (see [`try_clone`](Self::try_clone)) closes the listener: connections still
/// waiting in its accept queue are reset.
///
/// ```
/// use std::io::{Read, Write};
/// use synack::IpCidr;
/// use synack::net::{TcpListener, TcpStream, memory_pair};
///
/// let cidr = |s: &str| IpCidr::new(s.parse().unwrap(), 24).unwrap();
/// let (a, b) = memory_pair(cidr("10.0.0.1"), cidr("10.0.0.2")).unwrap();
/// let listener = TcpListener::bind(&b, "10.0.0.2:0").unwrap(); // port 0: any free port
/// let at = listener.local_addr().unwrap();
/// listener.set_ttl(32).unwrap(); // accepted connections send with TTL 32
/// let mut client = TcpStream::connect(&a, at).unwrap();
/// let (mut server, peer) = listener.accept().unwrap();
/// assert_eq!(peer, client.local_addr().unwrap());
/// assert_eq!(server.ttl().unwrap(), 32);
/// server.write_all(b"hello").unwrap();
/// let mut buf = [0; 5];
/// client.read_exact(&mut buf).unwrap();
/// ```
pub struct TcpListener {
    inner: Arc<Inner>,
}

struct Inner {
    stack: Arc<Stack>,
    id: ListenerId,
    local: SocketAddr,
    nonblocking: AtomicBool,
    /// `IP_TTL` accepted connections inherit; 0: the interface's.
    ttl: AtomicU32,
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("id", &self.inner.id)
            .field("local", &self.inner.local)
            .finish()
    }
}

impl Drop for Inner {
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
        Ok(TcpListener {
            inner: Arc::new(Inner {
                stack: stack.clone(),
                id,
                local,
                nonblocking: AtomicBool::new(false),
                ttl: AtomicU32::new(0),
            }),
        })
    }

    /// Wraps the accept-any listener `id` (see `TcpListener::bind_any`).
    pub(crate) fn from_any(stack: &Arc<Stack>, id: ListenerId) -> TcpListener {
        let local = SocketAddr::from(([0, 0, 0, 0], 0));
        TcpListener {
            inner: Arc::new(Inner {
                stack: stack.clone(),
                id,
                local,
                nonblocking: AtomicBool::new(false),
                ttl: AtomicU32::new(0),
            }),
        }
    }

    /// Enables TCP Fast Open (RFC 7413) on this listener, as Linux's `TCP_FASTOPEN` socket
    /// option: clients get cookies, and a client presenting a valid one has the data of its
    /// SYN delivered at once (the connection is accepted before the handshake completes). At
    /// most `queue` such connections may wait for their handshake's last ACK at a time (the
    /// limit RFC 7413 section 5.1 asks for against SYN floods with data); 0 switches Fast Open
    /// off again. Applications must tolerate the SYN's data arriving twice in rare cases
    /// (RFC 7413 section 6.1), so enable it only for requests that are safe to repeat.
    pub fn set_fast_open(&self, queue: usize) -> io::Result<()> {
        let id = self.inner.id;
        if self.inner.stack.with(|st, _| st.endpoint.set_listener_fast_open(id, queue)) {
            Ok(())
        } else {
            Err(io::Error::new(ErrorKind::NotConnected, "the listener is closed"))
        }
    }

    /// Signs this listener's connections with TCP-MD5 (RFC 2385), as Linux's `TCP_MD5SIG`
    /// (with `TCP_MD5SIG_EXT`'s prefix) on a listening socket: SYNs from peers in
    /// `peer/prefix_len` must carry a valid signature under `secret` (else they are dropped
    /// unanswered), and every segment of the connections accepted from them is signed. An
    /// empty `secret` removes the key; more than 80 bytes, or a prefix longer than the
    /// address, is `InvalidInput`.
    pub fn set_md5_key(&self, peer: IpAddr, prefix_len: u8, secret: &[u8]) -> io::Result<()> {
        let port = self.inner.local.port();
        self.inner.stack.set_port_md5_key(port, peer, prefix_len, secret)
    }

    /// The address listened on (with the port chosen when bound to port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.inner.local)
    }

    /// The engine's id for this listener.
    pub fn id(&self) -> ListenerId {
        self.inner.id
    }

    /// Another handle on the same listener (as `dup`: the nonblocking flag and TTL are
    /// shared); the listener closes when the last handle is dropped.
    pub fn try_clone(&self) -> io::Result<TcpListener> {
        Ok(TcpListener { inner: self.inner.clone() })
    }

    /// `IP_TTL` for the connections this listener accepts from now on (1..=255, else
    /// `InvalidInput`), as on Linux, where accepted sockets inherit the listener's. Unlike
    /// Linux, the handshake's SYN-ACK still leaves with the interface's TTL.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.inner.ttl.store(u32::from(ops::check_ttl(ttl)?), Ordering::Release);
        Ok(())
    }

    /// The TTL accepted connections get: the one set, else the interface's.
    pub fn ttl(&self) -> io::Result<u32> {
        match self.inner.ttl.load(Ordering::Acquire) {
            0 => {
                let ip = self.inner.local.ip();
                Ok(self.inner.stack.with(|st, _| ops::iface_ttl(st, ip)))
            }
            t => Ok(t),
        }
    }

    /// `SO_ERROR` of a listening socket: always `None` (a synack listener has no pending
    /// errors; failed handshakes are dropped before `accept` sees them, as Linux does).
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        Ok(None)
    }

    /// Nonblocking mode: `accept` with nothing queued returns `ErrorKind::WouldBlock`.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.nonblocking.store(nonblocking, Ordering::Release);
        Ok(())
    }

    /// Waits for a connection that completed its handshake.
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        if self.inner.nonblocking.load(Ordering::Acquire) {
            return self.inner.stack.with(|st, _| self.take(st)).unwrap_or_else(|| {
                Err(io::Error::new(ErrorKind::WouldBlock, "no connection waiting"))
            });
        }
        self.inner
            .stack
            .wait_on(WaitOn::Listener(self.inner.id), None, |st, _| self.take(st))
            .unwrap_or_else(|| Err(error::stopped()))
    }

    /// Like [`accept`](Self::accept) but gives up with `ErrorKind::TimedOut` after `timeout`
    /// (an extension: std has no accept timeout).
    pub fn accept_timeout(&self, timeout: Duration) -> io::Result<(TcpStream, SocketAddr)> {
        self.inner
            .stack
            .wait_on(WaitOn::Listener(self.inner.id), Some(timeout), |st, _| self.take(st))
            .unwrap_or_else(|| Err(error::timed_out("accept", ErrorKind::TimedOut)))
    }

    fn take(
        &self,
        st: &mut crate::runtime::StackState,
    ) -> Option<io::Result<(TcpStream, SocketAddr)>> {
        let ttl = self.inner.ttl.load(Ordering::Acquire);
        Some(ops::accept(st, self.inner.id, ttl)?.map(|(id, t)| {
            (TcpStream::from_parts(self.inner.stack.clone(), id, t.local, t.remote), t.remote)
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
