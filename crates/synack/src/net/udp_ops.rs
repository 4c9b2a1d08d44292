//! UDP socket operations in terms of the interface, shared by the blocking and async layers.
//! Each runs with the stack's state locked and never blocks.

use std::io::{self, ErrorKind};
use std::net::SocketAddr;

use synack_stack::iface::{UdpError, UdpHandle, UdpRecv};

use crate::runtime::StackState;

/// A UDP error as the `io::Error` std gives on Linux.
pub(crate) fn error(e: UdpError) -> io::Error {
    let kind = match e {
        UdpError::AddrInUse => ErrorKind::AddrInUse,
        UdpError::AddrNotAvailable | UdpError::NoFreePorts | UdpError::NoFlow => {
            ErrorKind::AddrNotAvailable
        }
        UdpError::InvalidAddress | UdpError::TooBig => ErrorKind::InvalidInput,
        UdpError::InvalidHandle | UdpError::NotConnected => ErrorKind::NotConnected,
        UdpError::NoRoute => ErrorKind::NetworkUnreachable,
        UdpError::ConnectionRefused => ErrorKind::ConnectionRefused,
        UdpError::HostUnreachable => ErrorKind::HostUnreachable,
        _ => ErrorKind::Other,
    };
    io::Error::new(kind, e.to_string())
}

/// Opens a socket on `addr`.
pub(crate) fn bind(st: &mut StackState, addr: SocketAddr) -> io::Result<UdpHandle> {
    st.check_running()?;
    st.iface.udp_bind(addr).map_err(error)
}

/// Opens the accept-any socket.
pub(crate) fn bind_any(st: &mut StackState) -> io::Result<UdpHandle> {
    st.check_running()?;
    st.iface.udp_bind_any().map_err(error)
}

/// Takes or peeks the next datagram; `Ok(None)`: none yet, wait.
pub(crate) fn recv(
    st: &mut StackState,
    h: UdpHandle,
    buf: &mut [u8],
    peek: bool,
) -> io::Result<Option<UdpRecv>> {
    st.check_running()?;
    st.iface.udp_recv(h, buf, peek).map_err(error)
}

/// Queues a datagram (see `Interface::udp_send`).
pub(crate) fn send(
    st: &mut StackState,
    h: UdpHandle,
    from: Option<SocketAddr>,
    to: Option<SocketAddr>,
    data: &[u8],
) -> io::Result<usize> {
    st.check_running()?;
    st.iface.udp_send(h, from, to, data).map_err(error)
}

/// Connects the socket to `remote`.
pub(crate) fn connect(st: &mut StackState, h: UdpHandle, remote: SocketAddr) -> io::Result<()> {
    st.check_running()?;
    st.iface.udp_connect(h, remote).map_err(error)
}

/// Sends the port unreachable of `send_port_unreachable`.
pub(crate) fn port_unreachable(
    st: &mut StackState,
    orig_dst: SocketAddr,
    client: SocketAddr,
    datagram: &[u8],
) -> io::Result<()> {
    st.check_running()?;
    st.iface.udp_send_port_unreachable(orig_dst, client, datagram).map_err(error)
}
