//! [`TcpStream`] for tokio: `AsyncRead` + `AsyncWrite` over a synack connection.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use synack_tcp::{ConnConfig, ConnId, ConnStats, KeepAlive, State};

use super::registry::{Registry, registry};
use crate::net::{error, ops};
use crate::runtime::Stack;

/// One connection, shared by a stream or its two owned halves. Released (closed) when the last
/// of them is dropped.
pub(crate) struct Conn {
    pub(crate) stack: Arc<Stack>,
    pub(crate) reg: Arc<Registry>,
    pub(crate) id: ConnId,
    pub(crate) local: SocketAddr,
    pub(crate) peer: SocketAddr,
}

impl Drop for Conn {
    fn drop(&mut self) {
        let id = self.id;
        self.stack.with(|st, _| ops::release(st, id));
        self.reg.remove_conn(id);
    }
}

impl Conn {
    /// Reads what the engine holds; registers the task when there is nothing. Consumes data
    /// only when it returns `Ready`, so dropping a pending read loses nothing.
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let id = self.id;
        let r = self.stack.with(|st, _| {
            let r = ops::recv(st, id, buf.initialize_unfilled());
            if let Ok(None) = r {
                self.reg.wait_read(id, cx.waker());
            }
            r
        });
        match r {
            Ok(Some(n)) => {
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
            Ok(None) => Poll::Pending,
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    /// Queues data; `Pending` (task registered) while the send buffer is full: backpressure.
    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        if data.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let id = self.id;
        let r = self.stack.with(|st, _| {
            let r = ops::send(st, id, data);
            if let Ok(None) = r {
                self.reg.wait_write(id, cx.waker());
            }
            r
        });
        match r {
            Ok(Some(n)) => Poll::Ready(Ok(n)),
            Ok(None) => Poll::Pending,
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    /// Half-close (FIN after the queued data).
    pub(crate) fn shutdown_write(&self) -> io::Result<()> {
        let id = self.id;
        self.stack.with(|st, _| ops::shutdown_write(st, id))
    }

    fn engine<R>(
        &self,
        f: impl FnOnce(&mut synack_tcp::Endpoint, ConnId) -> Result<R, synack_tcp::InvalidConnection>,
    ) -> io::Result<R> {
        let id = self.id;
        self.stack.with(|st, _| f(&mut st.endpoint, id)).map_err(|_| error::not_connected())
    }
}

/// A TCP connection on a synack stack for tokio, used like `tokio::net::TcpStream`.
///
/// `AsyncRead`/`AsyncWrite` call the engine directly; a task that would block registers its
/// waker and is woken from the engine's events (Readable, Writable, PeerClosed, Closed,
/// Error ...). `poll_write` is `Pending` while the send buffer is full and wakes when ACKs free
/// space. `poll_shutdown` half-closes (sends FIN); reading goes on. Dropping the stream closes
/// the connection (a RST if received data was left unread).
///
/// Cancellation: reading and writing are cancellation safe as tokio's are (data moves only when
/// a poll returns `Ready`); an unfinished [`connect`](Self::connect) aborts its connection
/// when dropped.
pub struct TcpStream {
    pub(crate) conn: Arc<Conn>,
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("id", &self.conn.id)
            .field("local", &self.conn.local)
            .field("peer", &self.conn.peer)
            .finish()
    }
}

/// Aborts a connect that was dropped (cancelled) before it finished.
struct PendingConnect<'a> {
    stack: &'a Arc<Stack>,
    reg: &'a Arc<Registry>,
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
            self.reg.remove_conn(id);
        }
    }
}

impl TcpStream {
    /// Opens a connection to `addr` and waits for the handshake. Wrap it in
    /// `tokio::time::timeout` for a deadline: dropping the future aborts the attempt.
    pub async fn connect(stack: &Arc<Stack>, addr: SocketAddr) -> io::Result<TcpStream> {
        Self::connect_with(stack, addr, None).await
    }

    /// [`connect`](Self::connect) with chosen settings (`None`: the stack's defaults): buffer
    /// sizes, option offers and the congestion controller count only from the handshake on.
    pub async fn connect_with(
        stack: &Arc<Stack>,
        addr: SocketAddr,
        cfg: Option<ConnConfig>,
    ) -> io::Result<TcpStream> {
        let reg = registry(stack);
        let id = stack.with(|st, now| {
            let cfg = cfg.unwrap_or(st.endpoint.config().conn);
            ops::open(st, now, addr, cfg)
        })?;
        let mut pending = PendingConnect { stack, reg: &reg, id, armed: true };
        let r = std::future::poll_fn(|cx| {
            stack.with(|st, _| match ops::progress(st, id) {
                ops::Progress::Pending => {
                    reg.wait_write(id, cx.waker());
                    Poll::Pending
                }
                ops::Progress::Open { local } => Poll::Ready(Ok(local)),
                ops::Progress::Failed(e) => {
                    ops::release(st, id);
                    Poll::Ready(Err(e))
                }
            })
        })
        .await;
        pending.armed = false;
        match r {
            Ok(local) => Ok(TcpStream {
                conn: Arc::new(Conn {
                    stack: stack.clone(),
                    reg: reg.clone(),
                    id,
                    local,
                    peer: addr,
                }),
            }),
            Err(e) => {
                reg.remove_conn(id);
                Err(e)
            }
        }
    }

    /// The engine's id for this connection.
    pub fn id(&self) -> ConnId {
        self.conn.id
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.conn.peer)
    }

    /// Our address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.conn.local)
    }

    /// TCP_NODELAY: turn Nagle's algorithm off.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.conn.engine(|ep, id| ep.set_nodelay(id, nodelay))
    }

    /// Whether Nagle's algorithm is off.
    pub fn nodelay(&self) -> io::Result<bool> {
        Ok(self.conn_config()?.nodelay)
    }

    /// Keep-alive probes on (`Some`) or off.
    pub fn set_keepalive(&self, keep_alive: Option<KeepAlive>) -> io::Result<()> {
        self.conn.engine(|ep, id| ep.set_keep_alive(id, keep_alive))
    }

    /// User timeout (RFC 9293 3.10.8); `None` disables it.
    pub fn set_user_timeout(&self, timeout: Option<std::time::Duration>) -> io::Result<()> {
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

    /// The error that ended the connection, if one did.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        Ok(self.conn.engine(|ep, id| ep.error(id))?.map(error::connection))
    }

    /// Aborts: a RST to the peer; the stream is released (later calls: `NotConnected`).
    pub fn abort(&self) -> io::Result<()> {
        self.conn.engine(|ep, id| ep.abort(id))
    }

    /// Splits into a read half and a write half that can move to different tasks. Dropping the
    /// write half shuts down writing (sends FIN), as tokio's does; the connection closes when
    /// both halves are gone.
    pub fn into_split(self) -> (super::OwnedReadHalf, super::OwnedWriteHalf) {
        super::split::split(self)
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
