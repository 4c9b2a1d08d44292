//! Socket operations in terms of the engine, shared by the blocking and the async layers.
//!
//! Each function runs with the stack's state locked (inside `Stack::with` or `Stack::wait`)
//! and never blocks, so both layers only differ in how they wait.

use std::io::{self, ErrorKind};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use synack_tcp::{ConnConfig, ConnId, FourTuple, Instant, ListenerId, RecvError, SendError, State};

use super::sock::{Core, SockState};
use crate::error;
use crate::runtime::{Stack, StackState, WaitOn};

/// Backlog `bind` uses (Linux's `SOMAXCONN` default is 4096; std passes 128).
pub(crate) const DEFAULT_BACKLOG: usize = 128;

/// Starts an active open to `remote` from `local` (a bound socket): an unspecified IP takes
/// the route's source address, port 0 an ephemeral port. An IP the interface does not have is
/// `AddrNotAvailable`; a 4-tuple already in use is `AddrInUse`.
pub(crate) fn open_from(
    st: &mut StackState,
    now: Instant,
    local: Option<SocketAddr>,
    remote: SocketAddr,
    cfg: ConnConfig,
) -> io::Result<ConnId> {
    let from = source(st, local, remote)?;
    st.endpoint.connect(now, from, remote, cfg).map_err(error::connect)
}

/// An active open with data for its SYN (TCP Fast Open, RFC 7413): the connection and the
/// bytes of `data` queued.
pub(crate) fn open_fast_open(
    st: &mut StackState,
    now: Instant,
    remote: SocketAddr,
    cfg: ConnConfig,
    data: &[u8],
) -> io::Result<(ConnId, usize)> {
    let from = source(st, None, remote)?;
    st.endpoint.connect_fast_open(now, from, remote, cfg, data).map_err(error::connect)
}

/// The local address an active open to `remote` uses: `local` when given (checked), else the
/// route's source and an ephemeral port.
fn source(
    st: &mut StackState,
    local: Option<SocketAddr>,
    remote: SocketAddr,
) -> io::Result<SocketAddr> {
    st.check_running()?;
    if remote.ip().is_unspecified() || remote.port() == 0 {
        return Err(io::Error::new(ErrorKind::InvalidInput, "cannot connect to this address"));
    }
    let port = local.map_or(0, |l| l.port());
    let src = match local {
        Some(l) if !l.ip().is_unspecified() => {
            if l.is_ipv4() != remote.is_ipv4() {
                return Err(io::Error::new(
                    ErrorKind::InvalidInput,
                    "local and remote address families differ",
                ));
            }
            if !st.iface.is_local(l.ip()) {
                return Err(io::Error::new(
                    ErrorKind::AddrNotAvailable,
                    "the address is not one of the interface's",
                ));
            }
            l.ip()
        }
        _ => st
            .iface
            .source_for(remote.ip())
            .ok_or_else(|| io::Error::new(ErrorKind::NetworkUnreachable, "no route to the peer"))?,
    };
    Ok(SocketAddr::new(src, port))
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
///
//~ linux: after `shutdown(SHUT_RD)` a read still returns what is buffered, including data that
//~ arrives later (the peer is not told and its data is still acknowledged); a read that finds
//~ nothing returns end of stream instead of blocking. The error that ended a connection is
//~ returned once; later reads return end of stream.
pub(crate) fn recv(
    st: &mut StackState,
    id: ConnId,
    sock: &SockState,
    buf: &mut [u8],
) -> io::Result<Option<usize>> {
    st.check_running()?;
    read_result(st.endpoint.recv(id, buf), sock)
}

/// [`recv`] or [`peek`].
pub(crate) type RecvOp =
    fn(&mut StackState, ConnId, &SockState, &mut [u8]) -> io::Result<Option<usize>>;

/// Like [`recv`] but leaves the bytes in the receive buffer (`MSG_PEEK`).
pub(crate) fn peek(
    st: &mut StackState,
    id: ConnId,
    sock: &SockState,
    buf: &mut [u8],
) -> io::Result<Option<usize>> {
    st.check_running()?;
    read_result(st.endpoint.peek(id, buf), sock)
}

fn read_result(r: Result<usize, RecvError>, sock: &SockState) -> io::Result<Option<usize>> {
    match r {
        Ok(n) => Ok(Some(n)),
        Err(RecvError::WouldBlock) if sock.read_is_shut() => Ok(Some(0)),
        Err(RecvError::WouldBlock) => Ok(None),
        Err(RecvError::Connection(c)) => sock.report(c).map_or(Ok(Some(0)), Err),
        Err(e) => Err(error::recv(e)),
    }
}

/// Queues `buf` for sending. `Ok(None)`: the send buffer is full, wait for space.
///
//~ linux: the error that ended a connection is returned once (`ECONNRESET` after a reset);
//~ later writes fail with `EPIPE`, `BrokenPipe`.
pub(crate) fn send(
    st: &mut StackState,
    id: ConnId,
    sock: &SockState,
    buf: &[u8],
) -> io::Result<Option<usize>> {
    st.check_running()?;
    match st.endpoint.send(id, buf) {
        Ok(n) => Ok(Some(n)),
        Err(SendError::WouldBlock) => Ok(None),
        Err(SendError::Connection(c)) => Err(sock.report(c).unwrap_or_else(error::broken_pipe)),
        Err(e) => Err(error::send(e)),
    }
}

/// The error that ended the connection, if it was not reported yet (`SO_ERROR`, which
/// reading clears).
pub(crate) fn take_error(
    st: &StackState,
    id: ConnId,
    sock: &SockState,
) -> io::Result<Option<io::Error>> {
    let e = st.endpoint.error(id).map_err(|_| error::not_connected())?;
    Ok(e.and_then(|e| sock.report(e)))
}

impl Drop for Core {
    fn drop(&mut self) {
        close(&self.stack, self.id, self.sock.linger());
    }
}

/// Closes the connection when its last handle goes, as `close(2)` does with `SO_LINGER`:
/// `None` a graceful close in the background; `Some(0)` an abort (RST); `Some(t)` a graceful
/// close that blocks the calling thread until our FIN is acknowledged or `t` passes (then
/// the close goes on in the background, as on Linux, which sends no RST).
pub(crate) fn close(stack: &Stack, id: ConnId, linger: Option<Duration>) {
    match linger {
        Some(t) if t.is_zero() => stack.with(|st, _| {
            let _ = st.endpoint.abort(id);
        }),
        Some(t) => {
            stack.with(|st, _| release(st, id));
            //~ linux: sk_stream_wait_close waits while the state is FIN-WAIT-1, CLOSING or
            //~ LAST-ACK (our FIN not yet acknowledged).
            stack.wait_on(WaitOn::Conn(id), Some(t), |st, _| match st.endpoint.state(id) {
                Ok(
                    State::SynSent
                    | State::SynReceived
                    | State::Established
                    | State::CloseWait
                    | State::FinWait1
                    | State::Closing
                    | State::LastAck,
                ) => None,
                _ => Some(()),
            });
        }
        None => stack.with(|st, _| release(st, id)),
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
/// `ttl` (when not 0) becomes the connection's own TTL, inherited from the listener.
pub(crate) fn accept(
    st: &mut StackState,
    lid: ListenerId,
    ttl: u32,
) -> Option<io::Result<(ConnId, FourTuple)>> {
    if let Err(e) = st.check_running() {
        return Some(Err(e));
    }
    let id = st.endpoint.accept(lid)?;
    if let Ok(t) = u8::try_from(ttl)
        && t > 0
    {
        st.conn_hops.insert(id, t);
    }
    Some(st.endpoint.four_tuple(id).map(|t| (id, t)).map_err(|_| error::not_connected()))
}

/// A TTL as `IP_TTL` takes it: 1..=255 (Linux gives `EINVAL` for anything else).
pub(crate) fn check_ttl(ttl: u32) -> io::Result<u8> {
    u8::try_from(ttl)
        .ok()
        .filter(|t| *t > 0)
        .ok_or_else(|| io::Error::new(ErrorKind::InvalidInput, "TTL must be 1..=255"))
}

/// Gives connection `id` its own IP TTL (IPv4) or hop limit (IPv6), for every segment it
/// sends from now on.
pub(crate) fn set_conn_ttl(st: &mut StackState, id: ConnId, ttl: u32) -> io::Result<()> {
    let ttl = check_ttl(ttl)?;
    st.endpoint.state(id).map_err(|_| error::not_connected())?;
    st.conn_hops.insert(id, ttl);
    Ok(())
}

/// Connection `id`'s TTL: its own, else the interface's for its address family.
pub(crate) fn conn_ttl(st: &StackState, id: ConnId, ip: IpAddr) -> io::Result<u32> {
    st.endpoint.state(id).map_err(|_| error::not_connected())?;
    Ok(st.conn_hops.get(&id).map_or_else(|| iface_ttl(st, ip), |t| u32::from(*t)))
}

/// The interface's TTL (IPv4) or hop limit (IPv6).
pub(crate) fn iface_ttl(st: &StackState, ip: IpAddr) -> u32 {
    let c = st.iface.config();
    u32::from(if ip.is_ipv6() { c.hop_limit } else { c.ttl })
}
