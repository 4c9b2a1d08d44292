//! [`TcpStream`] for tokio: `AsyncRead` + `AsyncWrite` over a synack connection.

use std::fmt;
use std::future::poll_fn;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::{SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use synack_tcp::{ConnConfig, ConnId, ConnStats, KeepAlive, RecvError, State};

use super::ready::{Interest, Ready};
use crate::error;
use crate::net::ops;
use crate::net::sock::Core;
use crate::runtime::{Stack, WaitOn};

/// One connection as the async layer holds it, shared by a stream or its two owned halves.
pub(crate) struct Conn {
    pub(crate) core: Arc<Core>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        // The connection itself closes when the last `Core` handle goes (a blocking stream
        // made by `into_std` may still hold it).
        self.core.stack.forget_waiters(WaitOn::Conn(self.core.id));
    }
}

impl Conn {
    pub(crate) fn new(core: Arc<Core>) -> Conn {
        Conn { core }
    }

    pub(crate) fn id(&self) -> ConnId {
        self.core.id
    }

    /// Reads (or peeks) what the engine holds; registers the task when there is nothing.
    /// Consumes data only when it returns `Ready`, so dropping a pending read loses nothing.
    pub(crate) fn poll_recv(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
        peek: bool,
    ) -> Poll<io::Result<usize>> {
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(0));
        }
        let (id, sock) = (self.core.id, &self.core.sock);
        // Only a read that took data gives the driver work (a window update to send).
        let r = self.core.stack.with_then_wake(
            |st, _| {
                let out = buf.initialize_unfilled();
                let r =
                    if peek { ops::peek(st, id, sock, out) } else { ops::recv(st, id, sock, out) };
                if let Ok(None) = r {
                    st.wait_task(WaitOn::Conn(id), cx.waker());
                }
                r
            },
            |r| !peek && matches!(r, Ok(Some(_))),
        );
        match r {
            Ok(Some(n)) => {
                buf.advance(n);
                Poll::Ready(Ok(n))
            }
            Ok(None) => Poll::Pending,
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.poll_recv(cx, buf, false).map_ok(|_| ())
    }

    /// Queues data; `Pending` (task registered) while the send buffer is full: backpressure.
    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        if data.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let (id, sock) = (self.core.id, &self.core.sock);
        let r = self.core.stack.with_then_wake(
            |st, _| {
                let r = ops::send(st, id, sock, data);
                if let Ok(None) = r {
                    st.wait_task(WaitOn::Conn(id), cx.waker());
                }
                r
            },
            |r| matches!(r, Ok(Some(_))),
        );
        match r {
            Ok(Some(n)) => Poll::Ready(Ok(n)),
            Ok(None) => Poll::Pending,
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    /// Which of `interest` is ready now; registers the task for them when none is. Looks
    /// without consuming anything, the connection's error included (the next read or write
    /// reports it). `Err` once the driver has stopped.
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        interest: Interest,
    ) -> Poll<io::Result<Ready>> {
        let (id, sock) = (self.core.id, &self.core.sock);
        // Looking changes nothing the driver acts on: no wake.
        let ready = self.core.stack.with_then_wake(
            |st, _| {
                st.check_running()?;
                let mut ready = Ready::EMPTY;
                if interest.is_readable() {
                    let closed = Ready::READABLE | Ready::READ_CLOSED;
                    match st.endpoint.peek(id, &mut [0u8; 1]) {
                        Ok(0) => ready = ready | closed, // end of stream
                        Ok(_) => ready = ready | Ready::READABLE,
                        Err(RecvError::WouldBlock) if sock.read_is_shut() => ready = ready | closed,
                        Err(RecvError::WouldBlock) => {}
                        Err(_) => ready = ready | closed, // the next read reports the error
                    }
                }
                if interest.is_writable() {
                    // A stopped driver: the write fails at once (`NetworkDown`), so it is ready.
                    match st.endpoint.send_ready(id).map(|r| r || st.is_stopped()) {
                        Ok(false) => {}
                        Ok(true) => ready = ready | Ready::WRITABLE,
                        Err(_) => ready = ready | Ready::WRITABLE | Ready::WRITE_CLOSED,
                    }
                }
                if ready.is_empty() {
                    if interest.is_readable() {
                        st.wait_task(WaitOn::Conn(id), cx.waker());
                    }
                    if interest.is_writable() {
                        st.wait_task(WaitOn::Conn(id), cx.waker());
                    }
                }
                Ok::<_, io::Error>(ready)
            },
            |_| false,
        );
        match ready {
            Ok(r) if r.is_empty() => Poll::Pending,
            r => Poll::Ready(r),
        }
    }

    pub(crate) async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        poll_fn(|cx| self.poll_ready(cx, interest)).await
    }

    /// One nonblocking read (or peek).
    pub(crate) fn try_recv(&self, buf: &mut [u8], peek: bool) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let (id, sock) = (self.core.id, &self.core.sock);
        self.core
            .stack
            .with(
                |st, _| {
                    if peek { ops::peek(st, id, sock, buf) } else { ops::recv(st, id, sock, buf) }
                },
            )?
            .ok_or_else(|| io::ErrorKind::WouldBlock.into())
    }

    /// Reads into several buffers in one engine call (the stack's lock is taken once).
    pub(crate) fn try_read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        let (id, sock) = (self.core.id, &self.core.sock);
        self.core.stack.with(|st, _| {
            let mut total = 0;
            for b in bufs.iter_mut().filter(|b| !b.is_empty()) {
                if total > 0 {
                    // After the first buffer an error or an empty queue ends the call; the
                    // next read reports it (so it is not lost).
                    match st.endpoint.recv(id, b) {
                        Ok(n) if n == b.len() => total += n,
                        Ok(n) => return Ok(total + n),
                        Err(_) => return Ok(total),
                    }
                    continue;
                }
                match ops::recv(st, id, sock, b)? {
                    Some(n) if n == b.len() => total += n,
                    Some(n) => return Ok(n),
                    None => return Err(io::ErrorKind::WouldBlock.into()),
                }
            }
            Ok(total)
        })
    }

    /// One nonblocking write.
    pub(crate) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let (id, sock) = (self.core.id, &self.core.sock);
        self.core
            .stack
            .with(|st, _| ops::send(st, id, sock, buf))?
            .ok_or_else(|| io::ErrorKind::WouldBlock.into())
    }

    /// Writes several buffers in one engine call (the stack's lock is taken once).
    pub(crate) fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let (id, sock) = (self.core.id, &self.core.sock);
        self.core.stack.with(|st, _| {
            let mut total = 0;
            for b in bufs.iter().filter(|b| !b.is_empty()) {
                if total > 0 {
                    // As for reads: a later buffer's error is left for the next write.
                    match st.endpoint.send(id, b) {
                        Ok(n) if n == b.len() => total += n,
                        Ok(n) => return Ok(total + n),
                        Err(_) => return Ok(total),
                    }
                    continue;
                }
                match ops::send(st, id, sock, b)? {
                    Some(n) if n == b.len() => total += n,
                    Some(n) => return Ok(n),
                    None => return Err(io::ErrorKind::WouldBlock.into()),
                }
            }
            Ok(total)
        })
    }

    /// Half-close (FIN after the queued data).
    pub(crate) fn shutdown_write(&self) -> io::Result<()> {
        let id = self.core.id;
        self.core.stack.with(|st, _| ops::shutdown_write(st, id))
    }

    pub(crate) fn engine<R>(
        &self,
        f: impl FnOnce(&mut synack_tcp::Endpoint, ConnId) -> Result<R, synack_tcp::InvalidConnection>,
    ) -> io::Result<R> {
        let id = self.core.id;
        self.core.stack.with(|st, _| f(&mut st.endpoint, id)).map_err(|_| error::not_connected())
    }
}

/// A TCP connection on a synack stack for tokio, used like `tokio::net::TcpStream`.
///
/// `AsyncRead`/`AsyncWrite` call the engine directly; a task that would block registers its
/// waker and is woken from the engine's events (Readable, Writable, PeerClosed, Closed,
/// Error ...). `poll_write` is `Pending` while the send buffer is full and wakes when ACKs free
/// space. `poll_shutdown` half-closes (sends FIN); reading goes on. Dropping the stream closes
/// the connection (a RST if received data was left unread; see [`set_linger`](Self::set_linger)).
///
/// Cancellation: reading and writing are cancellation safe as tokio's are (data moves only when
/// a poll returns `Ready`); an unfinished [`connect`](Self::connect) aborts its connection
/// when dropped.
///
/// ```
/// use synack::IpCidr;
/// use synack::net::memory_pair;
/// use synack::tokio::{Interest, TcpListener, TcpStream};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let cidr = |s: &str| IpCidr::new(s.parse().unwrap(), 24).unwrap();
/// let (a, b) = memory_pair(cidr("10.0.0.1"), cidr("10.0.0.2")).unwrap();
/// let listener = TcpListener::bind(&b, "10.0.0.2:7").await.unwrap();
/// let client = TcpStream::connect(&a, "10.0.0.2:7").await.unwrap();
/// let (server, _) = listener.accept().await.unwrap();
/// // The readiness style: wait, then try; WouldBlock means wait again.
/// client.writable().await.unwrap();
/// assert_eq!(client.try_write(b"ping").unwrap(), 4);
/// let mut buf = [0; 4];
/// loop {
///     server.ready(Interest::READABLE).await.unwrap();
///     match server.try_read(&mut buf) {
///         Ok(n) => { assert_eq!(&buf[..n], b"ping"); break; }
///         Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
///         Err(e) => panic!("{e}"),
///     }
/// }
/// # });
/// ```
pub struct TcpStream {
    pub(crate) conn: Arc<Conn>,
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("id", &self.conn.core.id)
            .field("local", &self.conn.core.local)
            .field("peer", &self.conn.core.peer)
            .finish()
    }
}

/// Aborts a connect that was dropped (cancelled) before it finished.
struct PendingConnect<'a> {
    stack: &'a Arc<Stack>,
    id: ConnId,
    armed: bool,
}

impl Drop for PendingConnect<'_> {
    fn drop(&mut self) {
        if self.armed {
            let id = self.id;
            self.stack.with(|st, _| {
                let _ = st.endpoint.abort(id);
            });
            self.stack.forget_waiters(WaitOn::Conn(id));
        }
    }
}

/// Resolves `addr` as tokio's `ToSocketAddrs` users expect: a `SocketAddr` or an `"ip:port"`
/// string costs nothing; a host name is looked up with std's resolver (`getaddrinfo`, which
/// blocks the calling thread while it asks DNS).
pub(crate) fn resolve<A: ToSocketAddrs>(addr: A) -> io::Result<Vec<SocketAddr>> {
    Ok(addr.to_socket_addrs()?.collect())
}

/// Tries each address in turn; the last error if none works.
pub(crate) async fn each_addr<T, F, Fut>(addrs: Vec<SocketAddr>, mut f: F) -> io::Result<T>
where
    F: FnMut(SocketAddr) -> Fut,
    Fut: Future<Output = io::Result<T>>,
{
    let mut last = None;
    for a in addrs {
        match f(a).await {
            Ok(v) => return Ok(v),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "could not resolve to any address")
    }))
}

impl TcpStream {
    /// Opens a connection to `addr` and waits for the handshake, trying each address it
    /// resolves to in turn. `addr` is anything std's `ToSocketAddrs` takes (`SocketAddr`,
    /// `"10.0.0.2:80"`, `("10.0.0.2", 80)`, `"host:80"`); a host name is resolved with std's
    /// blocking resolver (tokio's `lookup_host` runs it on its blocking pool instead). Wrap the
    /// call in `tokio::time::timeout` for a deadline: dropping the future aborts the attempt.
    pub async fn connect<A: ToSocketAddrs>(stack: &Arc<Stack>, addr: A) -> io::Result<TcpStream> {
        each_addr(resolve(addr)?, |a| Self::connect_with(stack, a, None)).await
    }

    /// [`connect`](Self::connect) with chosen settings (`None`: the stack's defaults): buffer
    /// sizes, option offers and the congestion controller count only from the handshake on.
    pub async fn connect_with(
        stack: &Arc<Stack>,
        addr: SocketAddr,
        cfg: Option<ConnConfig>,
    ) -> io::Result<TcpStream> {
        Self::connect_from(stack, None, addr, cfg, None).await
    }

    /// The active open behind `connect` and `TcpSocket::connect`: from `local` (`None`: the
    /// route's source and an ephemeral port), with a TTL set before the SYN leaves.
    pub(crate) async fn connect_from(
        stack: &Arc<Stack>,
        local: Option<SocketAddr>,
        addr: SocketAddr,
        cfg: Option<ConnConfig>,
        ttl: Option<u32>,
    ) -> io::Result<TcpStream> {
        let id = stack.with(|st, now| {
            let cfg = cfg.unwrap_or(st.endpoint.config().conn);
            let id = ops::open_from(st, now, local, addr, cfg)?;
            if let Some(t) = ttl {
                ops::set_conn_ttl(st, id, t)?;
            }
            Ok::<_, io::Error>(id)
        })?;
        let mut pending = PendingConnect { stack, id, armed: true };
        let r = poll_fn(|cx| {
            stack.with_then_wake(
                |st, _| match ops::progress(st, id) {
                    ops::Progress::Pending => {
                        st.wait_task(WaitOn::Conn(id), cx.waker());
                        Poll::Pending
                    }
                    ops::Progress::Open { local } => Poll::Ready(Ok(local)),
                    ops::Progress::Failed(e) => {
                        ops::release(st, id);
                        Poll::Ready(Err(e))
                    }
                },
                |p| matches!(p, Poll::Ready(Err(_))),
            )
        })
        .await;
        pending.armed = false;
        match r {
            Ok(local) => {
                Ok(TcpStream::from_core(Arc::new(Core::new(stack.clone(), id, local, addr))))
            }
            Err(e) => {
                stack.forget_waiters(WaitOn::Conn(id));
                Err(e)
            }
        }
    }

    pub(crate) fn from_core(core: Arc<Core>) -> TcpStream {
        TcpStream { conn: Arc::new(Conn::new(core)) }
    }

    /// Turns a blocking [`crate::net::TcpStream`] into an async one (as tokio's `from_std`
    /// takes a `std::net::TcpStream`). The connection and its settings (TTL, linger, a read
    /// shutdown) carry over; the blocking handle's timeouts and nonblocking flag do not
    /// matter here. Other clones of the blocking stream keep working on the same connection.
    pub fn from_std(stream: crate::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream::from_core(stream.core().clone()))
    }

    /// Turns this stream back into a blocking [`crate::net::TcpStream`] on the same
    /// connection. Like tokio's, the result is in nonblocking mode; call
    /// `set_nonblocking(false)` for blocking reads and writes.
    pub fn into_std(self) -> io::Result<crate::net::TcpStream> {
        let s = crate::net::TcpStream::from_core(self.conn.core.clone());
        s.set_nonblocking(true)?;
        Ok(s)
    }

    /// The engine's id for this connection.
    pub fn id(&self) -> ConnId {
        self.conn.core.id
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.conn.core.peer)
    }

    /// Our address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.conn.core.local)
    }

    /// Waits until a read would not block (data, end of stream, or an error), as tokio's
    /// `readable`. May return when a read then gives `WouldBlock` only if another task read
    /// the data first; loop on [`try_read`](Self::try_read). Cancellation safe.
    pub async fn readable(&self) -> io::Result<()> {
        self.conn.ready(Interest::READABLE).await.map(|_| ())
    }

    /// Waits until a write would not block (space in the send buffer, or an error).
    /// Cancellation safe.
    pub async fn writable(&self) -> io::Result<()> {
        self.conn.ready(Interest::WRITABLE).await.map(|_| ())
    }

    /// Waits until any of `interest` is ready and says which ([`Ready`]: readable, writable,
    /// read closed, write closed). Cancellation safe.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.conn.ready(interest).await
    }

    /// Polls for read readiness; registers the task when not ready. As with tokio, only the
    /// waker of the most recent call is woken.
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.conn.poll_ready(cx, Interest::READABLE).map_ok(|_| ())
    }

    /// Polls for write readiness; registers the task when not ready.
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.conn.poll_ready(cx, Interest::WRITABLE).map_ok(|_| ())
    }

    /// Reads what is there without waiting: `WouldBlock` when nothing is, `Ok(0)` at the end of
    /// stream.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.conn.try_recv(buf, false)
    }

    /// [`try_read`](Self::try_read) into several buffers, filled in order.
    pub fn try_read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.conn.try_read_vectored(bufs)
    }

    /// Queues what fits in the send buffer without waiting: `WouldBlock` when nothing does.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.conn.try_write(buf)
    }

    /// [`try_write`](Self::try_write) from several buffers, taken in order.
    pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.conn.try_write_vectored(bufs)
    }

    /// Receives into `buf` without removing the data (`MSG_PEEK`): the next read returns it
    /// again. Waits when nothing is there; `Ok(0)` at the end of stream.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        let mut rb = ReadBuf::new(buf);
        poll_fn(|cx| self.conn.poll_recv(cx, &mut rb, true)).await
    }

    /// Polls a [`peek`](Self::peek): fills `buf` with what is there, without consuming it.
    pub fn poll_peek(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<usize>> {
        self.conn.poll_recv(cx, buf, true)
    }

    /// TCP_NODELAY: turn Nagle's algorithm off.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.conn.engine(|ep, id| ep.set_nodelay(id, nodelay))
    }

    /// Whether Nagle's algorithm is off.
    pub fn nodelay(&self) -> io::Result<bool> {
        Ok(self.conn_config()?.nodelay)
    }

    /// `TCP_NOTSENT_LOWAT`; see [`crate::net::TcpStream::set_notsent_lowat`]. `poll_write`
    /// returns `Pending` while the mark holds the write back, and `writable()` /
    /// `poll_write_ready` report ready once fewer than half the mark are unsent.
    pub fn set_notsent_lowat(&self, lowat: Option<u32>) -> io::Result<()> {
        self.conn.engine(|ep, id| ep.set_notsent_lowat(id, lowat))
    }

    /// `SO_TIMESTAMPING` transmit stamps; see
    /// [`crate::net::TcpStream::set_tx_timestamping`].
    pub fn set_tx_timestamping(&self, flags: crate::tcp::tx_stamp::TxStampFlags) -> io::Result<()> {
        self.conn.engine(|ep, id| ep.set_tx_timestamping(id, flags))
    }

    /// The oldest transmit stamp on the error queue, taken off it; `None` when none waits;
    /// see [`crate::net::TcpStream::take_tx_timestamp`].
    pub fn take_tx_timestamp(&self) -> io::Result<Option<crate::tcp::tx_stamp::TxStamp>> {
        self.conn.engine(|ep, id| ep.pop_tx_stamp(id))
    }

    /// The unsent low-water mark; see [`set_notsent_lowat`](Self::set_notsent_lowat).
    pub fn notsent_lowat(&self) -> io::Result<Option<u32>> {
        Ok(self.conn_config()?.notsent_lowat)
    }

    /// `IP_TTL` for this connection; see [`crate::net::TcpStream::set_ttl`].
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        let id = self.conn.core.id;
        self.conn.core.stack.with(|st, _| ops::set_conn_ttl(st, id, ttl))
    }

    /// The connection's TTL; see [`crate::net::TcpStream::ttl`].
    pub fn ttl(&self) -> io::Result<u32> {
        let (id, ip) = (self.conn.core.id, self.conn.core.local.ip());
        self.conn.core.stack.with(|st, _| ops::conn_ttl(st, id, ip))
    }

    /// `SO_LINGER`; see [`crate::net::TcpStream::set_linger`]. As with tokio on a kernel
    /// socket, a nonzero linger makes the drop block the thread that drops the stream (a
    /// runtime worker) until the FIN is acknowledged or the time passes: prefer
    /// `shutdown().await` and reading to the end of stream. `Some(Duration::ZERO)` (an abort
    /// on drop) never blocks.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        self.conn.core.sock.set_linger(linger);
        Ok(())
    }

    /// The `SO_LINGER` setting.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        Ok(self.conn.core.sock.linger())
    }

    /// Keep-alive probes on (`Some`) or off.
    pub fn set_keepalive(&self, keep_alive: Option<KeepAlive>) -> io::Result<()> {
        self.conn.engine(|ep, id| ep.set_keep_alive(id, keep_alive))
    }

    /// User timeout (RFC 9293 3.10.8); `None` disables it.
    pub fn set_user_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.conn.engine(|ep, id| ep.set_user_timeout(id, timeout))
    }

    /// The connection's settings.
    pub fn conn_config(&self) -> io::Result<ConnConfig> {
        self.conn.engine(|ep, id| ep.conn_config(id))
    }

    /// Changes the settings that can change on a live connection.
    pub fn set_conn_config(&self, cfg: ConnConfig) -> io::Result<()> {
        self.conn.engine(|ep, id| ep.set_conn_config(id, cfg))
    }

    /// A `TCP_INFO`-like snapshot.
    pub fn stats(&self) -> io::Result<ConnStats> {
        self.conn.engine(|ep, id| ep.stats(id))
    }

    /// The connection's RFC 9293 state.
    pub fn state(&self) -> io::Result<State> {
        self.conn.engine(|ep, id| ep.state(id))
    }

    /// `SO_ERROR`: the error that ended the connection, if not reported yet; see
    /// [`crate::net::TcpStream::take_error`].
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        let core = &self.conn.core;
        core.stack.with(|st, _| ops::take_error(st, core.id, &core.sock))
    }

    /// Aborts: a RST to the peer; the stream is released (later calls: `NotConnected`).
    pub fn abort(&self) -> io::Result<()> {
        self.conn.engine(|ep, id| ep.abort(id))
    }
}

impl AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.conn.poll_read(cx, buf)
    }
}

impl AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.conn.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.conn.shutdown_write())
    }
}
