//! Socket operations in terms of the engine, shared by the blocking and the async layers.
//!
//! Each function runs with the stack's state locked (inside `Stack::with` or `Stack::wait`)
//! and never blocks, so both layers only differ in how they wait.

use std::io::{self, ErrorKind};
use std::net::{IpAddr, SocketAddr};

use synack_tcp::{ConnConfig, ConnId, FourTuple, Instant, ListenerId, RecvError, SendError, State};

use super::error;
use crate::runtime::StackState;

/// Backlog `bind` uses (Linux's `SOMAXCONN` default is 4096; std passes 128).
pub(crate) const DEFAULT_BACKLOG: usize = 128;

/// Starts an active open to `remote` from the address the routing table picks.
pub(crate) fn open(
    st: &mut StackState,
    now: Instant,
    remote: SocketAddr,
    cfg: ConnConfig,
) -> io::Result<ConnId> {
    st.check_running()?;
    if remote.ip().is_unspecified() || remote.port() == 0 {
        return Err(io::Error::new(ErrorKind::InvalidInput, "cannot connect to this address"));
    }
    let src = st
        .iface
        .source_for(remote.ip())
        .ok_or_else(|| io::Error::new(ErrorKind::NetworkUnreachable, "no route to the peer"))?;
    st.endpoint.connect(now, SocketAddr::new(src, 0), remote, cfg).map_err(error::connect)
}

/// Where an active open stands.
pub(crate) enum Progress {
    /// Still handshaking.
    Pending,
    /// Synchronized: the stream is usable (the peer may already have closed its side).
    Open {
        /// Our address.
        local: SocketAddr,
    },
    /// The open failed; the id must still be released with [`release`].
    Failed(io::Error),
}

/// Checks an active open.
pub(crate) fn progress(st: &StackState, id: ConnId) -> Progress {
    if let Err(e) = st.check_running() {
        return Progress::Failed(e);
    }
    let Ok(state) = st.endpoint.state(id) else {
        return Progress::Failed(error::not_connected());
    };
    match state {
        State::SynSent | State::SynReceived => Progress::Pending,
        State::Closed => match st.endpoint.error(id) {
            Ok(Some(e)) => Progress::Failed(error::connection(e)),
            // Closed without an error after synchronizing: the peer came and went already;
            // reads will see the end of stream.
            _ => local(st, id).map_or_else(Progress::Failed, |local| Progress::Open { local }),
        },
        _ => local(st, id).map_or_else(Progress::Failed, |local| Progress::Open { local }),
    }
}

fn local(st: &StackState, id: ConnId) -> io::Result<SocketAddr> {
    st.endpoint.four_tuple(id).map(|t| t.local).map_err(|_| error::not_connected())
}

/// Releases a connection id: a graceful close (the engine sends RST instead when received
/// data was never read), or just the release of an id whose connection already ended.
pub(crate) fn release(st: &mut StackState, id: ConnId) {
    let _ = st.endpoint.close(id);
}

/// Reads into `buf`. `Ok(None)`: nothing yet, wait for it.
pub(crate) fn recv(st: &mut StackState, id: ConnId, buf: &mut [u8]) -> io::Result<Option<usize>> {
    st.check_running()?;
    match st.endpoint.recv(id, buf) {
        Ok(n) => Ok(Some(n)),
        Err(RecvError::WouldBlock) => Ok(None),
        Err(e) => Err(error::recv(e)),
    }
}

/// Queues `buf` for sending. `Ok(None)`: the send buffer is full, wait for space.
pub(crate) fn send(st: &mut StackState, id: ConnId, buf: &[u8]) -> io::Result<Option<usize>> {
    st.check_running()?;
    match st.endpoint.send(id, buf) {
        Ok(n) => Ok(Some(n)),
        Err(SendError::WouldBlock) => Ok(None),
        Err(e) => Err(error::send(e)),
    }
}

/// Half-close: FIN after the queued data. Like Linux, a connection that already ended is
/// `NotConnected`, unless it ended with an error, which is reported instead.
//= rfc9293#3.10.4
//# CLOSE means "I have no more to send": a FIN follows the queued data while receiving goes on
//# until the peer closes too (the half-close `shutdown(Write)` exposes).
pub(crate) fn shutdown_write(st: &mut StackState, id: ConnId) -> io::Result<()> {
    st.check_running()?;
    match st.endpoint.state(id) {
        Err(_) => return Err(error::not_connected()),
        Ok(State::Closed) => {
            return Err(match st.endpoint.error(id) {
                Ok(Some(e)) => error::connection(e),
                _ => error::not_connected(),
            });
        }
        Ok(_) => {}
    }
    st.endpoint.shutdown_write(id).map_err(|_| error::not_connected())
}

/// Opens a listener on `addr`; port 0 takes the first free port of the ephemeral range.
pub(crate) fn listen(
    st: &mut StackState,
    addr: SocketAddr,
    backlog: usize,
    cfg: ConnConfig,
) -> io::Result<(ListenerId, SocketAddr)> {
    st.check_running()?;
    if !addr.ip().is_unspecified() && !st.iface.is_local(addr.ip()) {
        return Err(io::Error::new(
            ErrorKind::AddrNotAvailable,
            "the address is not one of the interface's",
        ));
    }
    if addr.port() != 0 {
        let id = st.endpoint.listen_with(addr, backlog, cfg).map_err(error::listen)?;
        return Ok((id, addr));
    }
    let (lo, hi) = st.endpoint.config().ephemeral_ports;
    for port in lo.max(1)..=hi {
        let a = SocketAddr::new(addr.ip(), port);
        match st.endpoint.listen_with(a, backlog, cfg) {
            Ok(id) => return Ok((id, a)),
            Err(synack_tcp::ListenError::AddrInUse) => continue,
            Err(e) => return Err(error::listen(e)),
        }
    }
    Err(io::Error::new(ErrorKind::AddrInUse, "no free port in the ephemeral range"))
}

/// [`listen`] with the settings accepted connections get, `None` meaning the stack's
/// defaults: what both layers' `bind_with` do.
pub(crate) fn listen_or_default(
    st: &mut StackState,
    addr: SocketAddr,
    backlog: usize,
    cfg: Option<ConnConfig>,
) -> io::Result<(ListenerId, SocketAddr)> {
    let cfg = cfg.unwrap_or(st.endpoint.config().conn);
    listen(st, addr, backlog, cfg)
}

/// Takes the next connection from listener `lid`'s accept queue with its addresses; `None`
/// when the queue is empty. A connection gone before it is read out is `NotConnected`.
pub(crate) fn accept(
    st: &mut StackState,
    lid: ListenerId,
) -> Option<io::Result<(ConnId, FourTuple)>> {
    if let Err(e) = st.check_running() {
        return Some(Err(e));
    }
    let id = st.endpoint.accept(lid)?;
    Some(st.endpoint.four_tuple(id).map(|t| (id, t)).map_err(|_| error::not_connected()))
}

/// Sets the IP TTL (IPv4) or hop limit (IPv6) of everything the interface sends.
pub(crate) fn set_ttl(st: &mut StackState, v6: bool, ttl: u32) -> io::Result<()> {
    let ttl = u8::try_from(ttl)
        .ok()
        .filter(|t| *t > 0)
        .ok_or_else(|| io::Error::new(ErrorKind::InvalidInput, "TTL must be 1..=255"))?;
    if v6 {
        st.iface.set_hop_limit(ttl);
    } else {
        st.iface.set_ttl(ttl);
    }
    Ok(())
}

/// The interface's TTL (IPv4) or hop limit (IPv6).
pub(crate) fn ttl(st: &StackState, ip: IpAddr) -> u32 {
    let c = st.iface.config();
    u32::from(if ip.is_ipv6() { c.hop_limit } else { c.ttl })
}
