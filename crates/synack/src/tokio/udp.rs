//! [`UdpSocket`] for tokio, like `tokio::net::UdpSocket`, plus accept-any.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use ::tokio::io::ReadBuf;
use synack_stack::iface::{UdpHandle, UdpRecv};

use crate::net::udp_ops as ops;
use crate::runtime::{Stack, WaitOn};

/// A UDP socket on a synack stack for tokio, used like `tokio::net::UdpSocket`; the
/// semantics and errors are those of [`crate::net::UdpSocket`]. Receives are cancellation
/// safe (a datagram is taken only when the call returns it); sends never wait.
pub struct UdpSocket {
    stack: Arc<Stack>,
    h: UdpHandle,
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket").field("handle", &self.h).finish()
    }
}

impl Drop for UdpSocket {
    fn drop(&mut self) {
        let h = self.h;
        self.stack.with(|st, _| {
            st.iface.udp_close(h);
            st.waiters.forget(WaitOn::Udp(h));
        });
    }
}

impl UdpSocket {
    /// Binds to `addr` (an address of the interface or unspecified; port 0 picks one).
    /// `async` only to read like tokio's.
    pub async fn bind(stack: &Arc<Stack>, addr: SocketAddr) -> io::Result<UdpSocket> {
        let h = stack.with(|st, _| ops::bind(st, addr))?;
        Ok(UdpSocket { stack: stack.clone(), h })
    }

    /// Accept-any UDP; see [`crate::net::UdpSocket::bind_any`]. Not `async`: nothing to wait
    /// for.
    pub fn bind_any(stack: &Arc<Stack>) -> io::Result<UdpSocket> {
        let h = stack.with(|st, _| ops::bind_any(st))?;
        Ok(UdpSocket { stack: stack.clone(), h })
    }

    /// The bound address (`0.0.0.0:0` for the accept-any socket).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        let h = self.h;
        self.stack.with(|st, _| st.iface.udp_local_addr(h)).map_err(ops::error)
    }

    /// The connected peer; `NotConnected` when not connected.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        let h = self.h;
        self.stack.with(|st, _| st.iface.udp_peer_addr(h)).map_err(ops::error)
    }

    /// Connects to `addr` (see [`crate::net::UdpSocket::connect`]).
    pub async fn connect(&self, addr: SocketAddr) -> io::Result<()> {
        let h = self.h;
        self.stack.with(|st, _| ops::connect(st, h, addr))
    }

    /// Sends to `target`.
    pub async fn send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        let h = self.h;
        self.stack.with(|st, _| ops::send(st, h, None, Some(target), buf))
    }

    /// Sends to the connected peer.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        let h = self.h;
        self.stack.with(|st, _| ops::send(st, h, None, None, buf))
    }

    /// Accept-any: sends `buf` to `to` from `from` (see
    /// [`crate::net::UdpSocket::send_from_to`]).
    pub async fn send_from_to(
        &self,
        buf: &[u8],
        from: SocketAddr,
        to: SocketAddr,
    ) -> io::Result<usize> {
        let h = self.h;
        self.stack.with(|st, _| ops::send(st, h, Some(from), Some(to), buf))
    }

    /// Sends `client` an ICMP (ICMPv6) port unreachable about `datagram`, which it sent to
    /// `orig_dst`.
    pub async fn send_port_unreachable(
        &self,
        orig_dst: SocketAddr,
        client: SocketAddr,
        datagram: &[u8],
    ) -> io::Result<()> {
        self.stack.with(|st, _| ops::port_unreachable(st, orig_dst, client, datagram))
    }

    /// Receives a datagram (cut to `buf`) and its sender.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.receive(buf, false).await.map(|r| (r.len, r.src))
    }

    /// Receives from the connected peer.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.receive(buf, false).await.map(|r| r.len)
    }

    /// Like [`recv_from`](Self::recv_from), leaving the datagram queued.
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.receive(buf, true).await.map(|r| (r.len, r.src))
    }

    /// Like [`recv`](Self::recv), leaving the datagram queued.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.receive(buf, true).await.map(|r| r.len)
    }

    /// Accept-any: receives a datagram with its sender and its original destination.
    pub async fn recv_from_to(
        &self,
        buf: &mut [u8],
    ) -> io::Result<(usize, SocketAddr, SocketAddr)> {
        self.receive(buf, false).await.map(|r| (r.len, r.src, r.dst))
    }

    /// Polls for a datagram into `buf`; registers the task when none is queued.
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<SocketAddr>> {
        match self.poll_receive(cx, buf.initialize_unfilled(), false) {
            Poll::Ready(Ok(r)) => {
                buf.advance(r.len);
                Poll::Ready(Ok(r.src))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Accept-any: the next flow (client, original destination) forgotten for idleness.
    pub fn take_expired_flow(&self) -> Option<(SocketAddr, SocketAddr)> {
        self.stack.with(|st, _| st.iface.udp_take_expired())
    }

    /// Datagrams dropped because this socket's receive queue was full.
    pub fn dropped(&self) -> u64 {
        let h = self.h;
        self.stack.with(|st, _| st.iface.udp_dropped(h))
    }

    async fn receive(&self, buf: &mut [u8], peek: bool) -> io::Result<UdpRecv> {
        std::future::poll_fn(|cx| self.poll_receive(cx, buf, peek)).await
    }

    fn poll_receive(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
        peek: bool,
    ) -> Poll<io::Result<UdpRecv>> {
        let h = self.h;
        let r = self.stack.with(|st, _| {
            let r = ops::recv(st, h, buf, peek);
            if let Ok(None) = r {
                st.wait_task(WaitOn::Udp(h), cx.waker());
            }
            r
        });
        match r {
            Ok(Some(r)) => Poll::Ready(Ok(r)),
            Ok(None) => Poll::Pending,
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}
