//! Halves of a [`TcpStream`]: borrowed ([`ReadHalf`], [`WriteHalf`]) for one task, owned
//! ([`OwnedReadHalf`], [`OwnedWriteHalf`]) for a reading task and a writing task.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::ready::{Interest, Ready};
use super::stream::{Conn, TcpStream};

/// The reading half of [`TcpStream::into_split`].
pub struct OwnedReadHalf {
    conn: Arc<Conn>,
}

/// The writing half of [`TcpStream::into_split`]. Dropping it sends FIN (unless
/// [`forget`](Self::forget) was called).
pub struct OwnedWriteHalf {
    conn: Arc<Conn>,
    shutdown_on_drop: bool,
}

// The halves are made here, next to their types, so `stream.rs` needs nothing from this
// module.
impl TcpStream {
    /// Splits into a read half and a write half that borrow the stream, for use in one task
    /// (`tokio::join!`, `select!`). Unlike the owned halves, dropping the write half sends
    /// nothing; [`AsyncWriteExt::shutdown`](::tokio::io::AsyncWriteExt::shutdown) on it does.
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        let conn = &*self.conn;
        (ReadHalf { conn }, WriteHalf { conn })
    }

    /// Splits into a read half and a write half that can move to different tasks. Dropping the
    /// write half shuts down writing (sends FIN), as tokio's does; the connection closes when
    /// both halves are gone.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        let conn = self.conn;
        (OwnedReadHalf { conn: conn.clone() }, OwnedWriteHalf { conn, shutdown_on_drop: true })
    }
}

/// [`OwnedReadHalf::reunite`] was given halves of two different streams; they come back.
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

impl fmt::Debug for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReuniteError")
    }
}

impl fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the halves belong to different streams")
    }
}

impl std::error::Error for ReuniteError {}

impl fmt::Debug for OwnedReadHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedReadHalf").field("id", &self.conn.id()).finish()
    }
}

impl fmt::Debug for OwnedWriteHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedWriteHalf").field("id", &self.conn.id()).finish()
    }
}

impl OwnedReadHalf {
    /// Puts the stream back together (if both halves came from the same one).
    pub fn reunite(self, mut other: OwnedWriteHalf) -> Result<TcpStream, ReuniteError> {
        if Arc::ptr_eq(&self.conn, &other.conn) {
            other.shutdown_on_drop = false;
            Ok(TcpStream { conn: self.conn.clone() })
        } else {
            Err(ReuniteError(self, other))
        }
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.conn.core.peer)
    }

    /// Our address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.conn.core.local)
    }
}

impl OwnedReadHalf {
    /// See [`TcpStream::readable`].
    pub async fn readable(&self) -> io::Result<()> {
        self.conn.ready(Interest::READABLE).await.map(|_| ())
    }

    /// See [`TcpStream::ready`].
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.conn.ready(interest).await
    }

    /// See [`TcpStream::try_read`].
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.conn.try_recv(buf, false)
    }

    /// See [`TcpStream::peek`].
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        let mut rb = ReadBuf::new(buf);
        std::future::poll_fn(|cx| self.conn.poll_recv(cx, &mut rb, true)).await
    }

    /// See [`TcpStream::poll_peek`].
    pub fn poll_peek(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<usize>> {
        self.conn.poll_recv(cx, buf, true)
    }
}

impl OwnedWriteHalf {
    /// See [`TcpStream::writable`].
    pub async fn writable(&self) -> io::Result<()> {
        self.conn.ready(Interest::WRITABLE).await.map(|_| ())
    }

    /// See [`TcpStream::ready`].
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.conn.ready(interest).await
    }

    /// See [`TcpStream::try_write`].
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.conn.try_write(buf)
    }
}

impl OwnedWriteHalf {
    /// Puts the stream back together (if both halves came from the same one).
    pub fn reunite(self, other: OwnedReadHalf) -> Result<TcpStream, ReuniteError> {
        other.reunite(self)
    }

    /// Drops the half without sending FIN (the connection still closes when the read half is
    /// dropped too).
    pub fn forget(mut self) {
        self.shutdown_on_drop = false;
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.conn.core.peer)
    }

    /// Our address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.conn.core.local)
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            let _ = self.conn.shutdown_write();
        }
    }
}

impl AsyncRead for OwnedReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.conn.poll_read(cx, buf)
    }
}

impl AsyncWrite for OwnedWriteHalf {
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

    /// Sends FIN; the read half keeps reading.
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.conn.shutdown_write())
    }
}

/// The reading half of [`TcpStream::split`], borrowing the stream.
pub struct ReadHalf<'a> {
    conn: &'a Conn,
}

/// The writing half of [`TcpStream::split`], borrowing the stream. Dropping it sends nothing.
pub struct WriteHalf<'a> {
    conn: &'a Conn,
}

impl fmt::Debug for ReadHalf<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadHalf").field("id", &self.conn.id()).finish()
    }
}

impl fmt::Debug for WriteHalf<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteHalf").field("id", &self.conn.id()).finish()
    }
}

impl ReadHalf<'_> {
    /// See [`TcpStream::readable`].
    pub async fn readable(&self) -> io::Result<()> {
        self.conn.ready(Interest::READABLE).await.map(|_| ())
    }

    /// See [`TcpStream::ready`].
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.conn.ready(interest).await
    }

    /// See [`TcpStream::try_read`].
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.conn.try_recv(buf, false)
    }

    /// See [`TcpStream::peek`].
    pub async fn peek(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut rb = ReadBuf::new(buf);
        std::future::poll_fn(|cx| self.conn.poll_recv(cx, &mut rb, true)).await
    }

    /// See [`TcpStream::poll_peek`].
    pub fn poll_peek(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<usize>> {
        self.conn.poll_recv(cx, buf, true)
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.conn.core.peer)
    }

    /// Our address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.conn.core.local)
    }
}

impl WriteHalf<'_> {
    /// See [`TcpStream::writable`].
    pub async fn writable(&self) -> io::Result<()> {
        self.conn.ready(Interest::WRITABLE).await.map(|_| ())
    }

    /// See [`TcpStream::ready`].
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        self.conn.ready(interest).await
    }

    /// See [`TcpStream::try_write`].
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.conn.try_write(buf)
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.conn.core.peer)
    }

    /// Our address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.conn.core.local)
    }
}

impl AsyncRead for ReadHalf<'_> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.conn.poll_read(cx, buf)
    }
}

impl AsyncWrite for WriteHalf<'_> {
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

    /// Sends FIN; the read half keeps reading.
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.conn.shutdown_write())
    }
}
