//! [`TcpStream`]: a blocking connection, like `std::net::TcpStream`.

use std::fmt;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use synack_tcp::{ConnConfig, ConnId, ConnStats, KeepAlive, State};

use super::{error, ops};
use crate::runtime::Stack;

/// A TCP connection on a synack [`Stack`], used like `std::net::TcpStream`.
///
/// Reads and writes block (the calling thread sleeps on the stack's condition variable until
/// the driver has processed something) unless [`set_nonblocking`](Self::set_nonblocking) is on;
/// timeouts behave as std's do on Linux: an expired read or write timeout is
/// `ErrorKind::WouldBlock`. Clones made with [`try_clone`](Self::try_clone) share the
/// connection and its settings; the connection closes when the last one is dropped (a FIN, or a
/// RST when received data was left unread, RFC 2525).
pub struct TcpStream {
    inner: Arc<Inner>,
}

struct Inner {
    stack: Arc<Stack>,
    id: ConnId,
    local: SocketAddr,
    peer: SocketAddr,
    timeouts: Mutex<Timeouts>,
    nonblocking: AtomicBool,
    read_shut: AtomicBool,
}

#[derive(Clone, Copy, Default)]
struct Timeouts {
    read: Option<Duration>,
    write: Option<Duration>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let id = self.id;
        self.stack.with(|st, _| ops::release(st, id));
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("id", &self.inner.id)
            .field("local", &self.inner.local)
            .field("peer", &self.inner.peer)
            .finish()
    }
}

fn check_timeout(t: Option<Duration>) -> io::Result<Option<Duration>> {
    if t == Some(Duration::ZERO) {
        return Err(io::Error::new(ErrorKind::InvalidInput, "cannot set a 0 duration timeout"));
    }
    Ok(t)
}

impl TcpStream {
    /// Wraps an established connection (from `accept` or a finished connect).
    pub(crate) fn from_parts(
        stack: Arc<Stack>,
        id: ConnId,
        local: SocketAddr,
        peer: SocketAddr,
    ) -> TcpStream {
        TcpStream {
            inner: Arc::new(Inner {
                stack,
                id,
                local,
                peer,
                timeouts: Mutex::new(Timeouts::default()),
                nonblocking: AtomicBool::new(false),
                read_shut: AtomicBool::new(false),
            }),
        }
    }

    /// Opens a connection to `addr`, trying each address it resolves to in turn, and waits
    /// for the handshake (as long as the engine keeps retrying the SYN: 3 minutes by default).
    pub fn connect<A: ToSocketAddrs>(stack: &Arc<Stack>, addr: A) -> io::Result<TcpStream> {
        let mut last = None;
        for a in addr.to_socket_addrs()? {
            match Self::connect_with(stack, a, None, None) {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(ErrorKind::InvalidInput, "could not resolve to any addresses")
        }))
    }

    /// Opens a connection to `addr`, giving up (`ErrorKind::TimedOut`, connection aborted)
    /// after `timeout`. A zero timeout is `InvalidInput`, as in std.
    pub fn connect_timeout(
        stack: &Arc<Stack>,
        addr: &SocketAddr,
        timeout: Duration,
    ) -> io::Result<TcpStream> {
        check_timeout(Some(timeout))?;
        Self::connect_with(stack, *addr, None, Some(timeout))
    }

    /// Opens a connection with chosen settings (`None`: the stack's defaults). Buffer sizes,
    /// option offers (window scaling, SACK, timestamps) and the congestion controller can only
    /// be chosen here, since they take effect in the handshake.
    pub fn connect_with(
        stack: &Arc<Stack>,
        addr: SocketAddr,
        cfg: Option<ConnConfig>,
        timeout: Option<Duration>,
    ) -> io::Result<TcpStream> {
        let id = stack.with(|st, now| {
            let cfg = cfg.unwrap_or(st.endpoint.config().conn);
            ops::open(st, now, addr, cfg)
        })?;
        let r = stack.wait(timeout, |st, _| match ops::progress(st, id) {
            ops::Progress::Pending => None,
            ops::Progress::Open { local } => Some(Ok(local)),
            ops::Progress::Failed(e) => {
                ops::release(st, id);
                Some(Err(e))
            }
        });
        match r {
            Some(Ok(local)) => Ok(TcpStream::from_parts(stack.clone(), id, local, addr)),
            Some(Err(e)) => Err(e),
            None => {
                stack.with(|st, _| {
                    let _ = st.endpoint.abort(id);
                });
                Err(match timeout {
                    Some(_) => error::timed_out("connect", ErrorKind::TimedOut),
                    None => error::stopped(),
                })
            }
        }
    }

    /// The engine's id for this connection (for [`Stack::with`] calls the API does not wrap).
    pub fn id(&self) -> ConnId {
        self.inner.id
    }

    /// The stack this connection lives on.
    pub fn stack(&self) -> &Arc<Stack> {
        &self.inner.stack
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.inner.peer)
    }

    /// Our address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.inner.local)
    }

    /// Shuts down reading (later reads return `Ok(0)`), writing (a FIN follows the queued
    /// data; the peer reads end of stream and may go on writing), or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        if matches!(how, Shutdown::Read | Shutdown::Both) {
            self.inner.read_shut.store(true, Ordering::Release);
        }
        if matches!(how, Shutdown::Write | Shutdown::Both) {
            let id = self.inner.id;
            self.inner.stack.with(|st, _| ops::shutdown_write(st, id))?;
        }
        Ok(())
    }

    /// Another handle on the same connection (settings are shared, as for a dup'ed socket).
    pub fn try_clone(&self) -> io::Result<TcpStream> {
        Ok(TcpStream { inner: self.inner.clone() })
    }

    /// Read timeout; `None` blocks indefinitely. `Some(0)` is `InvalidInput`.
    pub fn set_read_timeout(&self, dur: Option<Duration>) -> io::Result<()> {
        let dur = check_timeout(dur)?;
        self.timeouts().read = dur;
        Ok(())
    }

    /// Write timeout; `None` blocks indefinitely. `Some(0)` is `InvalidInput`.
    pub fn set_write_timeout(&self, dur: Option<Duration>) -> io::Result<()> {
        let dur = check_timeout(dur)?;
        self.timeouts().write = dur;
        Ok(())
    }

    /// The read timeout.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.timeouts().read)
    }

    /// The write timeout.
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.timeouts().write)
    }

    fn timeouts(&self) -> std::sync::MutexGuard<'_, Timeouts> {
        self.inner.timeouts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Nonblocking mode: reads and writes that would wait return `ErrorKind::WouldBlock`.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.nonblocking.store(nonblocking, Ordering::Release);
        Ok(())
    }

    /// TCP_NODELAY: turn Nagle's algorithm off (RFC 9293 MUST-17).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.engine(|ep, id| ep.set_nodelay(id, nodelay))
    }

    /// Whether Nagle's algorithm is off.
    pub fn nodelay(&self) -> io::Result<bool> {
        Ok(self.conn_config()?.nodelay)
    }

    /// Sets the IPv4 TTL (IPv6 hop limit) of the stack's interface. The engine keeps no
    /// per-connection TTL, so this applies to every packet the stack sends, not only this
    /// connection's (unlike `IP_TTL` on a kernel socket).
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        let v6 = self.inner.local.is_ipv6();
        self.inner.stack.with(|st, _| ops::set_ttl(st, v6, ttl))
    }

    /// The interface's TTL (hop limit for IPv6).
    pub fn ttl(&self) -> io::Result<u32> {
        let ip = self.inner.local.ip();
        Ok(self.inner.stack.with(|st, _| ops::ttl(st, ip)))
    }

    /// Keep-alive probes (RFC 9293 3.8.4): `Some` turns them on with these timings, `None`
    /// off (the default).
    pub fn set_keepalive(&self, keep_alive: Option<KeepAlive>) -> io::Result<()> {
        self.engine(|ep, id| ep.set_keep_alive(id, keep_alive))
    }

    /// The keep-alive settings.
    pub fn keepalive(&self) -> io::Result<Option<KeepAlive>> {
        Ok(self.conn_config()?.keep_alive)
    }

    /// User timeout (RFC 9293 3.10.8, `TCP_USER_TIMEOUT`): abort when sent data stays
    /// unacknowledged this long. `None` disables it.
    pub fn set_user_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.engine(|ep, id| ep.set_user_timeout(id, timeout))
    }

    /// The connection's settings (buffer sizes, congestion controller, timers ...).
    pub fn conn_config(&self) -> io::Result<ConnConfig> {
        let id = self.inner.id;
        self.inner
            .stack
            .with(|st, _| st.endpoint.conn_config(id))
            .map_err(|_| error::not_connected())
    }

    /// Changes the settings that can change on a live connection (Nagle, keep-alive, user
    /// timeout, R1/R2, delayed ACK, FIN-WAIT-2 timeout; buffer sizes and option offers only
    /// count before the handshake, see [`TcpStream::connect_with`]).
    pub fn set_conn_config(&self, cfg: ConnConfig) -> io::Result<()> {
        self.engine(|ep, id| ep.set_conn_config(id, cfg))
    }

    /// A `TCP_INFO`-like snapshot: state, sequence variables, RTT, window, counters.
    pub fn stats(&self) -> io::Result<ConnStats> {
        let id = self.inner.id;
        self.inner.stack.with(|st, _| st.endpoint.stats(id)).map_err(|_| error::not_connected())
    }

    /// The connection's RFC 9293 state.
    pub fn state(&self) -> io::Result<State> {
        let id = self.inner.id;
        self.inner.stack.with(|st, _| st.endpoint.state(id)).map_err(|_| error::not_connected())
    }

    /// The error that ended the connection, if one did (like `SO_ERROR`, but not cleared).
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        let id = self.inner.id;
        let e = self
            .inner
            .stack
            .with(|st, _| st.endpoint.error(id))
            .map_err(|_| error::not_connected())?;
        Ok(e.map(error::connection))
    }

    /// Aborts the connection: a RST to the peer and nothing more (like closing with
    /// `SO_LINGER` 0). The engine releases the connection, so later calls on this stream (and
    /// its clones) return `NotConnected`.
    pub fn abort(&self) -> io::Result<()> {
        let id = self.inner.id;
        self.inner.stack.with(|st, _| st.endpoint.abort(id)).map_err(|_| error::not_connected())
    }

    fn engine(
        &self,
        f: impl FnOnce(&mut synack_tcp::Endpoint, ConnId) -> Result<(), synack_tcp::InvalidConnection>,
    ) -> io::Result<()> {
        let id = self.inner.id;
        self.inner.stack.with(|st, _| f(&mut st.endpoint, id)).map_err(|_| error::not_connected())
    }

    fn do_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() || self.inner.read_shut.load(Ordering::Acquire) {
            return Ok(0);
        }
        let id = self.inner.id;
        let stack = &self.inner.stack;
        if self.inner.nonblocking.load(Ordering::Acquire) {
            return stack
                .with(|st, _| ops::recv(st, id, buf))?
                .ok_or_else(|| ErrorKind::WouldBlock.into());
        }
        let timeout = self.timeouts().read;
        match stack.wait(timeout, |st, _| ops::recv(st, id, buf).transpose()) {
            Some(r) => r,
            None if timeout.is_some() => Err(error::timed_out("read", ErrorKind::WouldBlock)),
            None => Err(error::stopped()),
        }
    }

    fn do_write(&self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let id = self.inner.id;
        let stack = &self.inner.stack;
        if self.inner.nonblocking.load(Ordering::Acquire) {
            return stack
                .with(|st, _| ops::send(st, id, buf))?
                .ok_or_else(|| ErrorKind::WouldBlock.into());
        }
        let timeout = self.timeouts().write;
        match stack.wait(timeout, |st, _| ops::send(st, id, buf).transpose()) {
            Some(r) => r,
            None if timeout.is_some() => Err(error::timed_out("write", ErrorKind::WouldBlock)),
            None => Err(error::stopped()),
        }
    }
}

impl Read for TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.do_read(buf)
    }
}

impl Read for &TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.do_read(buf)
    }
}

impl Write for TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.do_write(buf)
    }

    /// Data is handed to the engine by `write`; there is nothing to flush (as with std).
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for &TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.do_write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
