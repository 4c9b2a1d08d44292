//! [`TcpStream`]: a blocking connection, like `std::net::TcpStream`.

use std::fmt;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use synack_tcp::{ConnConfig, ConnId, ConnStats, KeepAlive, State};

use super::ops;
use super::sock::Core;
use crate::error;
use crate::runtime::{Stack, WaitOn};

/// A TCP connection on a synack [`Stack`], used like `std::net::TcpStream`.
///
/// Reads and writes block (the calling thread parks until the driver reports something about
/// this connection) unless [`set_nonblocking`](Self::set_nonblocking) is on;
/// timeouts behave as std's do on Linux: an expired read or write timeout is
/// `ErrorKind::WouldBlock`. Clones made with [`try_clone`](Self::try_clone) share the
/// connection and its settings; the connection closes when the last one is dropped (a FIN, or a
/// RST when received data was left unread, RFC 2525).
///
/// ```
/// use std::io::{Read, Write};
/// use std::net::Shutdown;
/// use std::time::Duration;
/// use synack::IpCidr;
/// use synack::net::{TcpListener, TcpStream, memory_pair};
///
/// let cidr = |s: &str| IpCidr::new(s.parse().unwrap(), 24).unwrap();
/// let (a, b) = memory_pair(cidr("10.0.0.1"), cidr("10.0.0.2")).unwrap();
/// let listener = TcpListener::bind(&b, "10.0.0.2:80").unwrap();
/// let mut client = TcpStream::connect(&a, "10.0.0.2:80").unwrap();
/// let (mut server, _) = listener.accept().unwrap();
/// client.set_ttl(16).unwrap(); // this connection only
/// client.write_all(b"GET /").unwrap();
/// client.shutdown(Shutdown::Write).unwrap(); // FIN: the server reads to the end
/// let mut head = [0; 3];
/// server.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
/// server.peek(&mut head).unwrap(); // look without taking
/// let mut all = String::new();
/// server.read_to_string(&mut all).unwrap();
/// assert_eq!(all, "GET /");
/// server.set_linger(Some(Duration::ZERO)).unwrap(); // dropping it resets
/// drop(server);
/// let e = client.read(&mut [0; 1]).unwrap_err();
/// assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset);
/// ```
pub struct TcpStream {
    inner: Arc<Inner>,
}

/// One blocking handle and its clones: the connection plus the settings clones share (as
/// `dup`ed descriptors share `O_NONBLOCK` and the timeouts of the one socket).
struct Inner {
    core: Arc<Core>,
    timeouts: Mutex<Timeouts>,
    nonblocking: AtomicBool,
}

#[derive(Clone, Copy, Default)]
struct Timeouts {
    read: Option<Duration>,
    write: Option<Duration>,
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("id", &self.inner.core.id)
            .field("local", &self.inner.core.local)
            .field("peer", &self.inner.core.peer)
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
        TcpStream::from_core(Arc::new(Core::new(stack, id, local, peer)))
    }

    /// A blocking handle on a connection another handle (an async stream) holds too.
    pub(crate) fn from_core(core: Arc<Core>) -> TcpStream {
        TcpStream {
            inner: Arc::new(Inner {
                core,
                timeouts: Mutex::new(Timeouts::default()),
                nonblocking: AtomicBool::new(false),
            }),
        }
    }

    /// The connection, for `synack::tokio::TcpStream::from_std`.
    #[cfg(feature = "tokio")]
    pub(crate) fn core(&self) -> &Arc<Core> {
        &self.inner.core
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
        Self::connect_from(stack, None, addr, cfg, timeout)
    }

    /// Opens a connection with TCP Fast Open (RFC 7413), `data` being the first bytes to send
    /// (Linux's `sendto` with `MSG_FASTOPEN`), and waits for the handshake. With a cookie from
    /// this server cached by an earlier connection, the SYN carries as much of `data` as fits
    /// and the server may answer a round trip sooner; the first time, the SYN asks for a
    /// cookie and `data` follows the handshake. A server that does not take the SYN's data
    /// gets it again after the handshake, so `data` arrives exactly once either way. Returns
    /// the stream and how much of `data` was queued (all of it unless the send buffer is
    /// smaller); write the rest as usual. Fast Open is used only when the stack's
    /// `EndpointConfig::fast_open.client` is on (the default).
    pub fn connect_with_data(
        stack: &Arc<Stack>,
        addr: SocketAddr,
        data: &[u8],
        timeout: Option<Duration>,
    ) -> io::Result<(TcpStream, usize)> {
        check_timeout(timeout)?;
        let (id, queued) = stack.with(|st, now| {
            let cfg = st.endpoint.config().conn;
            ops::open_fast_open(st, now, addr, cfg, data)
        })?;
        Ok((Self::finish_connect(stack, id, addr, timeout)?, queued))
    }

    /// The active open behind `connect_with`: from `local` (`None`: the route's source and an
    /// ephemeral port).
    pub(crate) fn connect_from(
        stack: &Arc<Stack>,
        local: Option<SocketAddr>,
        addr: SocketAddr,
        cfg: Option<ConnConfig>,
        timeout: Option<Duration>,
    ) -> io::Result<TcpStream> {
        let id = stack.with(|st, now| {
            let cfg = cfg.unwrap_or(st.endpoint.config().conn);
            ops::open_from(st, now, local, addr, cfg)
        })?;
        Self::finish_connect(stack, id, addr, timeout)
    }

    /// Waits for the handshake of active open `id` to `addr` to end.
    fn finish_connect(
        stack: &Arc<Stack>,
        id: ConnId,
        addr: SocketAddr,
        timeout: Option<Duration>,
    ) -> io::Result<TcpStream> {
        let r = stack.wait_on(WaitOn::Conn(id), timeout, |st, _| match ops::progress(st, id) {
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
        self.inner.core.id
    }

    /// The stack this connection lives on.
    pub fn stack(&self) -> &Arc<Stack> {
        &self.inner.core.stack
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.inner.core.peer)
    }

    /// Our address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.inner.core.local)
    }

    /// Shuts down reading, writing, or both, with Linux's semantics:
    ///
    /// - `Write`: a FIN follows the queued data; the peer reads end of stream and may go on
    ///   writing. Later writes are `BrokenPipe`.
    /// - `Read`: the peer is told nothing. Reads still return what is buffered, and data the
    ///   peer sends afterwards is still acknowledged and readable; a read that finds nothing
    ///   returns `Ok(0)` at once instead of blocking (Linux does exactly this for TCP; other
    ///   systems discard such data).
    /// - `Both`: both of the above.
    ///
    /// A connection that already ended is `NotConnected` for `Write` and `Both` (or the error
    /// that ended it); `Read` always succeeds.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        if matches!(how, Shutdown::Read | Shutdown::Both) {
            self.inner.core.sock.shut_read();
            // Blocked readers return end of stream now (Linux wakes them too).
            self.inner.core.stack.wake_waiters(WaitOn::Conn(self.inner.core.id));
        }
        if matches!(how, Shutdown::Write | Shutdown::Both) {
            let id = self.inner.core.id;
            self.inner.core.stack.with(|st, _| ops::shutdown_write(st, id))?;
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

    /// `TCP_NOTSENT_LOWAT`: keep at most `lowat` bytes written but not yet sent. A write
    /// takes data only while fewer are unsent (never past the mark, so it may take less than
    /// the send buffer has room for), and the stream counts as writable again, waking a
    /// blocked writer, once fewer than half of it are unsent, as on Linux. Data sent and not
    /// yet acknowledged does not count, so the path stays full while the application keeps
    /// what it has not committed to the wire (an HTTP/2 server reprioritising its streams)
    /// in its own hands. `None` (the default): only the send buffer limits a write.
    pub fn set_notsent_lowat(&self, lowat: Option<u32>) -> io::Result<()> {
        self.engine(|ep, id| ep.set_notsent_lowat(id, lowat))
    }

    /// `SO_TIMESTAMPING` transmit stamps: from now on the last byte of each write is stamped
    /// as `flags` asks (when the segment carrying it is handed to the device and sent, and
    /// when the peer acknowledges it), and the stamps wait on the connection's bounded error
    /// queue for [`take_tx_timestamp`](Self::take_tx_timestamp). With `opt_id` a stamp's
    /// key is the byte's offset from where the acknowledged stream stood when it was switched
    /// on, as Linux counts it.
    pub fn set_tx_timestamping(&self, flags: crate::tcp::tx_stamp::TxStampFlags) -> io::Result<()> {
        self.engine(|ep, id| ep.set_tx_timestamping(id, flags))
    }

    /// The oldest transmit stamp on the error queue, taken off it (Linux's
    /// `recvmsg(MSG_ERRQUEUE)`); `None` when none waits. Never blocks. The stamp's time is on
    /// the stack's clock ([`crate::Stack::clock`], whose `wall_origin` gives wall-clock
    /// time).
    pub fn take_tx_timestamp(&self) -> io::Result<Option<crate::tcp::tx_stamp::TxStamp>> {
        let id = self.inner.core.id;
        self.inner
            .core
            .stack
            .with(|st, _| st.endpoint.pop_tx_stamp(id))
            .map_err(|_| error::not_connected())
    }

    /// The unsent low-water mark; see [`set_notsent_lowat`](Self::set_notsent_lowat).
    pub fn notsent_lowat(&self) -> io::Result<Option<u32>> {
        Ok(self.conn_config()?.notsent_lowat)
    }

    /// Whether Nagle's algorithm is off.
    pub fn nodelay(&self) -> io::Result<bool> {
        Ok(self.conn_config()?.nodelay)
    }

    /// `IP_TTL` (the IPv6 hop limit for an IPv6 connection): the TTL of every packet this
    /// connection sends from now on; 1..=255, anything else is `InvalidInput` (as Linux's
    /// `EINVAL`). Other connections keep the interface's.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        let id = self.inner.core.id;
        self.inner.core.stack.with(|st, _| ops::set_conn_ttl(st, id, ttl))
    }

    /// The connection's TTL (hop limit for IPv6): its own if [`set_ttl`](Self::set_ttl) was
    /// called, else the interface's (64 by default, as Linux's).
    pub fn ttl(&self) -> io::Result<u32> {
        let (id, ip) = (self.inner.core.id, self.inner.core.local.ip());
        self.inner.core.stack.with(|st, _| ops::conn_ttl(st, id, ip))
    }

    /// `SO_LINGER`: what dropping the last handle does. `None` (the default): a graceful close
    /// in the background. `Some(Duration::ZERO)`: an abort (RST, unsent data discarded).
    /// `Some(t)`: the drop blocks until the peer acknowledged our FIN or `t` passed; after
    /// `t` the close goes on in the background (Linux sends no RST either). Unlike the kernel's,
    /// which counts whole seconds, `t` keeps its full precision.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        self.inner.core.sock.set_linger(linger);
        Ok(())
    }

    /// The `SO_LINGER` setting.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        Ok(self.inner.core.sock.linger())
    }

    /// Reads like [`read`](Read::read) but leaves the data in the receive buffer (`MSG_PEEK`):
    /// the next `read` or `peek` returns the same bytes. Blocks, times out and honours
    /// nonblocking mode as `read` does; `Ok(0)` is the end of stream.
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.do_recv(buf, ops::peek)
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
        let id = self.inner.core.id;
        self.inner
            .core
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
        let id = self.inner.core.id;
        self.inner
            .core
            .stack
            .with(|st, _| st.endpoint.stats(id))
            .map_err(|_| error::not_connected())
    }

    /// The connection's RFC 9293 state.
    pub fn state(&self) -> io::Result<State> {
        let id = self.inner.core.id;
        self.inner
            .core
            .stack
            .with(|st, _| st.endpoint.state(id))
            .map_err(|_| error::not_connected())
    }

    /// `SO_ERROR`: the error that ended the connection, if it has not been reported yet.
    /// Like the kernel's, the error is reported once, by whichever comes first of this, a
    /// read (which then returns end of stream) or a write (which then fails with
    /// `BrokenPipe`).
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        let core = &self.inner.core;
        core.stack.with(|st, _| ops::take_error(st, core.id, &core.sock))
    }

    /// Aborts the connection: a RST to the peer and nothing more (like closing with
    /// `SO_LINGER` 0). The engine releases the connection, so later calls on this stream (and
    /// its clones) return `NotConnected`.
    pub fn abort(&self) -> io::Result<()> {
        let id = self.inner.core.id;
        self.inner
            .core
            .stack
            .with(|st, _| st.endpoint.abort(id))
            .map_err(|_| error::not_connected())
    }

    fn engine(
        &self,
        f: impl FnOnce(&mut synack_tcp::Endpoint, ConnId) -> Result<(), synack_tcp::InvalidConnection>,
    ) -> io::Result<()> {
        let id = self.inner.core.id;
        self.inner
            .core
            .stack
            .with(|st, _| f(&mut st.endpoint, id))
            .map_err(|_| error::not_connected())
    }

    fn do_recv(&self, buf: &mut [u8], op: ops::RecvOp) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let core = &self.inner.core;
        let (id, sock) = (core.id, &core.sock);
        if self.inner.nonblocking.load(Ordering::Acquire) {
            return core
                .stack
                .with(|st, _| op(st, id, sock, buf))?
                .ok_or_else(|| ErrorKind::WouldBlock.into());
        }
        let timeout = self.timeouts().read;
        match core
            .stack
            .wait_on(WaitOn::Conn(id), timeout, |st, _| op(st, id, sock, buf).transpose())
        {
            Some(r) => r,
            None if timeout.is_some() => Err(error::timed_out("read", ErrorKind::WouldBlock)),
            None => Err(error::stopped()),
        }
    }

    fn do_write(&self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let core = &self.inner.core;
        let (id, sock) = (core.id, &core.sock);
        if self.inner.nonblocking.load(Ordering::Acquire) {
            return core
                .stack
                .with(|st, _| ops::send(st, id, sock, buf))?
                .ok_or_else(|| ErrorKind::WouldBlock.into());
        }
        let timeout = self.timeouts().write;
        match core
            .stack
            .wait_on(WaitOn::Conn(id), timeout, |st, _| ops::send(st, id, sock, buf).transpose())
        {
            Some(r) => r,
            None if timeout.is_some() => Err(error::timed_out("write", ErrorKind::WouldBlock)),
            None => Err(error::stopped()),
        }
    }
}

impl Read for TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.do_recv(buf, ops::recv)
    }
}

impl Read for &TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.do_recv(buf, ops::recv)
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
