//! Errors: the terminal reason a connection ended, and one error enum per operation.
//!
//! rustls-style: the connection's end reason is sticky (every later call returns it), and the
//! enums are `#[non_exhaustive]` so reasons can be added without breaking callers.

use core::fmt;

/// Why a connection ended abnormally. Sticky: once set, every later send or receive reports it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum ConnectionError {
    /// Our SYN was answered with a RST (or a hard ICMP error arrived during the open).
    Refused,
    /// The peer reset an open connection.
    Reset,
    /// Retransmissions reached R2 (or keep-alive probes went unanswered).
    TimedOut,
    /// The application's user timeout expired with data unacknowledged (RFC 9293 3.10.8).
    UserTimeout,
    /// The local application aborted the connection.
    Aborted,
    /// A hard ICMP error (protocol/port unreachable, RFC 9293 3.9.2.2) ended the connection.
    Unreachable,
    /// The listener this half-open connection belonged to was closed.
    ListenerClosed,
    /// An ICMP error the connection's [`IcmpPolicy`](crate::IcmpPolicy) treats as fatal in
    /// its state (Linux's and FreeBSD's choices; RFC 9293's are `Refused`/`Unreachable`).
    Icmp(crate::icmp::IcmpError),
}

impl fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConnectionError::Refused => "connection refused",
            ConnectionError::Reset => "connection reset by peer",
            ConnectionError::TimedOut => "connection timed out",
            ConnectionError::UserTimeout => "connection aborted: user timeout",
            ConnectionError::Aborted => "connection aborted locally",
            ConnectionError::Unreachable => "destination unreachable",
            ConnectionError::ListenerClosed => "listener closed",
            ConnectionError::Icmp(_) => "ICMP error from the path",
        })
    }
}

/// `listen` failed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum ListenError {
    /// A listener already exists on this local address and port.
    AddrInUse,
    /// Port 0 or a multicast/broadcast address (RFC 9293 3.9.1.1).
    InvalidAddress,
    /// Backlog must be at least 1.
    InvalidBacklog,
}

/// `connect` failed before any segment was sent.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum ConnectError {
    /// The remote address is unspecified, broadcast or multicast, or its port is 0
    /// (RFC 9293 MUST-46), or local and remote families differ.
    InvalidAddress,
    /// The requested 4-tuple is already used by a connection.
    AddrInUse,
    /// No free ephemeral port for this destination.
    NoFreePorts,
    /// The endpoint already holds `EndpointConfig::max_connections` connections.
    TooManyConnections,
}

/// An operation named a connection id that does not exist (never did, or was released).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct InvalidConnection;

/// `send` failed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum SendError {
    /// The id names no connection.
    InvalidConnection,
    /// The send buffer is full; wait for [`crate::Event::Writable`].
    WouldBlock,
    /// The application already shut down the send direction (or closed).
    Closed,
    /// The connection ended with this error.
    Connection(ConnectionError),
}

/// `recv` failed. End of stream is not an error: `recv` returns `Ok(0)`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum RecvError {
    /// The id names no connection.
    InvalidConnection,
    /// No data yet; wait for [`crate::Event::Readable`].
    WouldBlock,
    /// The application closed the connection; it can no longer read.
    Closed,
    /// The connection ended with this error.
    Connection(ConnectionError),
}

impl From<InvalidConnection> for SendError {
    fn from(_: InvalidConnection) -> Self {
        SendError::InvalidConnection
    }
}

impl From<InvalidConnection> for RecvError {
    fn from(_: InvalidConnection) -> Self {
        RecvError::InvalidConnection
    }
}

impl fmt::Display for InvalidConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no such connection")
    }
}
