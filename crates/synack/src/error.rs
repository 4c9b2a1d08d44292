//! Engine errors as `std::io::Error`s, with the `ErrorKind` a program written against
//! `std::net` expects (the kinds Linux's errnos map to).

use std::io::{self, ErrorKind};

use synack_tcp::{ConnectError, ConnectionError, IcmpError, ListenError, RecvError, SendError};

/// Why a connection ended, as the error a socket call returns from then on.
pub(crate) fn connection(e: ConnectionError) -> io::Error {
    let kind = match e {
        ConnectionError::Refused => ErrorKind::ConnectionRefused,
        ConnectionError::Reset => ErrorKind::ConnectionReset,
        ConnectionError::TimedOut | ConnectionError::UserTimeout => ErrorKind::TimedOut,
        ConnectionError::Aborted | ConnectionError::ListenerClosed => ErrorKind::ConnectionAborted,
        ConnectionError::Unreachable => ErrorKind::HostUnreachable,
        ConnectionError::Icmp(IcmpError::PortUnreachable | IcmpError::ProtocolUnreachable) => {
            ErrorKind::ConnectionRefused
        }
        ConnectionError::Icmp(IcmpError::NetUnreachable) => ErrorKind::NetworkUnreachable,
        ConnectionError::Icmp(_) => ErrorKind::HostUnreachable,
        _ => ErrorKind::Other,
    };
    io::Error::new(kind, e.to_string())
}

/// A failed `recv`. `WouldBlock` stays `WouldBlock` (callers normally wait instead).
pub(crate) fn recv(e: RecvError) -> io::Error {
    match e {
        RecvError::WouldBlock => ErrorKind::WouldBlock.into(),
        RecvError::Connection(c) => connection(c),
        RecvError::Closed => io::Error::new(ErrorKind::NotConnected, "socket closed"),
        RecvError::InvalidConnection => not_connected(),
        _ => io::Error::other(format!("{e:?}")),
    }
}

/// A failed `send`. Writing after our own shutdown is a broken pipe, as with `EPIPE`.
pub(crate) fn send(e: SendError) -> io::Error {
    match e {
        SendError::WouldBlock => ErrorKind::WouldBlock.into(),
        SendError::Closed => io::Error::new(ErrorKind::BrokenPipe, "sending side shut down"),
        SendError::Connection(c) => connection(c),
        SendError::InvalidConnection => not_connected(),
        _ => io::Error::other(format!("{e:?}")),
    }
}

/// A `connect` the engine refused before sending anything.
pub(crate) fn connect(e: ConnectError) -> io::Error {
    match e {
        ConnectError::InvalidAddress => {
            io::Error::new(ErrorKind::InvalidInput, "invalid remote or local address")
        }
        ConnectError::AddrInUse => io::Error::new(ErrorKind::AddrInUse, "4-tuple already in use"),
        ConnectError::NoFreePorts => {
            io::Error::new(ErrorKind::AddrNotAvailable, "no free ephemeral port")
        }
        ConnectError::TooManyConnections => {
            io::Error::new(ErrorKind::ResourceBusy, "connection table full")
        }
        _ => io::Error::other(format!("{e:?}")),
    }
}

/// A `listen` the engine refused.
pub(crate) fn listen(e: ListenError) -> io::Error {
    match e {
        ListenError::AddrInUse => io::Error::new(ErrorKind::AddrInUse, "address already in use"),
        ListenError::InvalidAddress => {
            io::Error::new(ErrorKind::InvalidInput, "cannot listen on this address")
        }
        ListenError::InvalidBacklog => io::Error::new(ErrorKind::InvalidInput, "backlog is 0"),
        _ => io::Error::other(format!("{e:?}")),
    }
}

/// A write after the connection's error was reported (`EPIPE`).
pub(crate) fn broken_pipe() -> io::Error {
    io::Error::new(ErrorKind::BrokenPipe, "the connection is gone")
}

/// The id no longer names a connection (released, or never opened).
pub(crate) fn not_connected() -> io::Error {
    io::Error::new(ErrorKind::NotConnected, "not connected")
}

/// The stack's driver stopped (its device failed or went away), so nothing will ever change:
/// `NetworkDown`, as Linux's `ENETDOWN` when an interface goes away.
pub(crate) fn stopped() -> io::Error {
    stopped_by(None)
}

/// [`stopped`], naming the device error that stopped the driver.
pub(crate) fn stopped_by(cause: Option<ErrorKind>) -> io::Error {
    let msg = match cause {
        Some(kind) => {
            format!(
                "the stack's driver has stopped: its network device failed or was removed ({kind})"
            )
        }
        None => "the stack's driver has stopped".to_string(),
    };
    io::Error::new(ErrorKind::NetworkDown, msg)
}

/// A blocking call ran out of time. Like std on Unix (`EAGAIN`), a read or write timeout is
/// `WouldBlock`; `connect_timeout` uses `TimedOut`.
pub(crate) fn timed_out(what: &str, kind: ErrorKind) -> io::Error {
    io::Error::new(kind, format!("{what} timed out"))
}
