//! [`UdpSocket`]: a blocking UDP socket, like `std::net::UdpSocket`, plus accept-any.

use std::fmt;
use std::io::{self, ErrorKind};
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use synack_stack::iface::{UdpHandle, UdpRecv};

use super::udp_ops as ops;
use crate::error;
use crate::runtime::{Stack, StackState, WaitOn};

/// A UDP socket on a synack [`Stack`], used like `std::net::UdpSocket`. Dropping it closes
/// it (queued datagrams are dropped).
///
/// Errors: `AddrInUse` (port taken), `AddrNotAvailable` (an address the interface does not
/// have; for accept-any, a reply for a flow that does not exist), `InvalidInput` (port 0 or
/// unspecified destination, families mixed, datagram too long), `NetworkUnreachable` (no
/// route), `NotConnected` (`send`/`peer_addr` unconnected), `ConnectionRefused` (a connected
/// socket's earlier datagram drew an ICMP port unreachable: reported once, on the next call),
/// `HostUnreachable` (other ICMP destination unreachable), `WouldBlock` (nonblocking, or a
/// read timeout), `NetworkDown` (the driver stopped).
///
/// Sends never wait: a datagram is queued for the driver; when the interface's transmit queue
/// is full it is dropped (and counted), as a full device queue drops.
pub struct UdpSocket {
    stack: Arc<Stack>,
    h: UdpHandle,
    nonblocking: AtomicBool,
    read_timeout: Mutex<Option<Duration>>,
    write_timeout: Mutex<Option<Duration>>,
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket").field("handle", &self.h).finish()
    }
}

impl Drop for UdpSocket {
    fn drop(&mut self) {
        let h = self.h;
        self.stack.with(|st, _| st.iface.udp_close(h));
    }
}

impl UdpSocket {
    /// Binds to `addr` (the first address it resolves to that works): one of the interface's
    /// addresses or the unspecified address; port 0 picks a free port.
    pub fn bind<A: ToSocketAddrs>(stack: &Arc<Stack>, addr: A) -> io::Result<UdpSocket> {
        let mut last = None;
        for a in addr.to_socket_addrs()? {
            match stack.with(|st, _| ops::bind(st, a)) {
                Ok(h) => return Ok(Self::from_handle(stack, h)),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(ErrorKind::InvalidInput, "could not resolve to any addresses")
        }))
    }

    /// Accept-any UDP: receives every datagram, to any address and port, that no bound socket
    /// takes (IPv4 and IPv6); read them with [`recv_from_to`](Self::recv_from_to), answer with
    /// [`send_from_to`](Self::send_from_to). One per stack (`AddrInUse`). The stack keeps one
    /// flow per (client, destination), forgotten after `UdpConfig::flow_idle` idle.
    pub fn bind_any(stack: &Arc<Stack>) -> io::Result<UdpSocket> {
        let h = stack.with(|st, _| ops::bind_any(st))?;
        Ok(Self::from_handle(stack, h))
    }

    fn from_handle(stack: &Arc<Stack>, h: UdpHandle) -> UdpSocket {
        UdpSocket {
            stack: stack.clone(),
            h,
            nonblocking: AtomicBool::new(false),
            read_timeout: Mutex::new(None),
            write_timeout: Mutex::new(None),
        }
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

    /// Connects: `send` goes to `addr`, only datagrams from it are received, and ICMP errors
    /// about what is sent are reported (`ConnectionRefused`).
    pub fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        let h = self.h;
        let mut last = None;
        for a in addr.to_socket_addrs()? {
            match self.stack.with(|st, _| ops::connect(st, h, a)) {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(ErrorKind::InvalidInput, "could not resolve to any addresses")
        }))
    }

    /// Sends to `addr`; returns the bytes sent (all of `buf`).
    pub fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], addr: A) -> io::Result<usize> {
        let to = addr.to_socket_addrs()?.next().ok_or_else(|| {
            io::Error::new(ErrorKind::InvalidInput, "no addresses to send data to")
        })?;
        let h = self.h;
        self.stack.with(|st, _| ops::send(st, h, None, Some(to), buf))
    }

    /// Sends to the connected peer.
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        let h = self.h;
        self.stack.with(|st, _| ops::send(st, h, None, None, buf))
    }

    /// Receives a datagram (cut to `buf`, the rest discarded) and its sender.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.receive(buf, false).map(|r| (r.len, r.src))
    }

    /// Receives from the connected peer.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.receive(buf, false).map(|r| r.len)
    }

    /// Like [`recv_from`](Self::recv_from) but leaves the datagram queued.
    pub fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.receive(buf, true).map(|r| (r.len, r.src))
    }

    /// Like [`recv`](Self::recv) but leaves the datagram queued.
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.receive(buf, true).map(|r| r.len)
    }

    /// Accept-any: receives a datagram with its sender and its original destination.
    pub fn recv_from_to(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr, SocketAddr)> {
        self.receive(buf, false).map(|r| (r.len, r.src, r.dst))
    }

    /// Accept-any: sends `buf` to `to` from `from`, the original destination of a flow `to`
    /// started (or one of the interface's addresses). A flow that does not exist (never
    /// seen, or expired) is `AddrNotAvailable`.
    pub fn send_from_to(&self, buf: &[u8], from: SocketAddr, to: SocketAddr) -> io::Result<usize> {
        let h = self.h;
        self.stack.with(|st, _| ops::send(st, h, Some(from), Some(to), buf))
    }

    /// Sends `client` an ICMP (ICMPv6) port unreachable about `datagram`, which it sent to
    /// `orig_dst` (a relay whose upstream refused): the client's connected socket then gets
    /// `ConnectionRefused`.
    pub fn send_port_unreachable(
        &self,
        orig_dst: SocketAddr,
        client: SocketAddr,
        datagram: &[u8],
    ) -> io::Result<()> {
        self.stack.with(|st, _| ops::port_unreachable(st, orig_dst, client, datagram))
    }

    /// Accept-any: the next flow (client, original destination) forgotten for idleness.
    pub fn take_expired_flow(&self) -> Option<(SocketAddr, SocketAddr)> {
        self.stack.with(|st, _| st.iface.udp_take_expired())
    }

    /// Nonblocking mode: receiving with nothing queued returns `WouldBlock`.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.nonblocking.store(nonblocking, Ordering::Release);
        Ok(())
    }

    /// How long a receive waits (`None`: forever); then `WouldBlock`, as std on Unix. A zero
    /// duration is `InvalidInput`, as in std.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        check_timeout(timeout)?;
        *self.read_timeout.lock().unwrap_or_else(PoisonError::into_inner) = timeout;
        Ok(())
    }

    /// Kept for std parity: sends never wait, so it has no effect. Zero is `InvalidInput`.
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        check_timeout(timeout)?;
        *self.write_timeout.lock().unwrap_or_else(PoisonError::into_inner) = timeout;
        Ok(())
    }

    /// The read timeout.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(*self.read_timeout.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The write timeout.
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(*self.write_timeout.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Datagrams dropped because this socket's receive queue was full.
    pub fn dropped(&self) -> u64 {
        let h = self.h;
        self.stack.with(|st, _| st.iface.udp_dropped(h))
    }

    fn receive(&self, buf: &mut [u8], peek: bool) -> io::Result<UdpRecv> {
        let h = self.h;
        let mut f = |st: &mut StackState| ops::recv(st, h, buf, peek).transpose();
        if self.nonblocking.load(Ordering::Acquire) {
            return self.stack.with(|st, _| f(st)).unwrap_or_else(|| {
                Err(io::Error::new(ErrorKind::WouldBlock, "no datagram waiting"))
            });
        }
        let timeout = *self.read_timeout.lock().unwrap_or_else(PoisonError::into_inner);
        match self.stack.wait_on(WaitOn::Udp(h), timeout, |st, _| f(st)) {
            Some(r) => r,
            None if timeout.is_some() => Err(error::timed_out("recv", ErrorKind::WouldBlock)),
            None => Err(error::stopped()),
        }
    }
}

fn check_timeout(t: Option<Duration>) -> io::Result<()> {
    if t == Some(Duration::ZERO) {
        return Err(io::Error::new(ErrorKind::InvalidInput, "cannot set a 0 duration timeout"));
    }
    Ok(())
}
