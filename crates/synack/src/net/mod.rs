//! The blocking socket API, mirroring `std::net`: [`TcpListener`], [`TcpStream`] and
//! [`UdpSocket`] on a synack [`Stack`](crate::Stack), with accept-any ([`TcpListener::bind_any`],
//! [`AnyListener`], [`UdpSocket::bind_any`]).
//!
//! Every call locks the stack's state, asks the engine, and (when it has to wait) parks until
//! the driver reports something about that socket (each socket has its own waiters, so idle
//! sockets' threads are not woken by others' traffic); no thread per socket. Errors are `std::io::Error`s with the `ErrorKind`s std gives on Linux:
//!
//! | situation | `ErrorKind` |
//! |---|---|
//! | the peer answered our SYN with RST | `ConnectionRefused` |
//! | the peer reset an open connection | `ConnectionReset` |
//! | retransmissions or keep-alives gave up, user timeout, `connect_timeout` expired | `TimedOut` |
//! | read/write timeout expired, nonblocking call with nothing to do | `WouldBlock` |
//! | write after our own `shutdown(Write)` | `BrokenPipe` |
//! | second listener on one address | `AddrInUse` |
//! | bind to an address the interface does not have | `AddrNotAvailable` |
//! | zero timeout, port 0 or unspecified address to connect to | `InvalidInput` |
//! | no route to the destination | `NetworkUnreachable` |
//! | hard ICMP error on an open connection | `HostUnreachable` |
//! | the connection was released (after `abort`) | `NotConnected` |
//!
//! The sockets hold an `Arc<Stack>`, so the stack runs as long as a socket needs it. (They
//! take `&Arc<Stack>` rather than `&Stack` because `Stack` is not `Clone`: a socket must keep
//! its stack alive, and tokio tasks need `'static` sockets.) Socket calls lock the stack's
//! state, so never call them, nor drop a socket, inside a [`Stack::with`](crate::Stack::with)
//! closure: the lock is not reentrant.
//!
//! ```
//! use std::io::{Read, Write};
//! use synack::IpCidr;
//! use synack::net::{TcpListener, TcpStream, memory_pair};
//!
//! let cidr = |s: &str| IpCidr::new(s.parse().unwrap(), 24).unwrap();
//! let (a, b) = memory_pair(cidr("10.0.0.1"), cidr("10.0.0.2")).unwrap();
//! let listener = TcpListener::bind(&b, "10.0.0.2:7").unwrap();
//! let mut client = TcpStream::connect(&a, "10.0.0.2:7").unwrap();
//! let (mut server, _) = listener.accept().unwrap();
//! client.write_all(b"ping").unwrap();
//! let mut buf = [0; 4];
//! server.read_exact(&mut buf).unwrap();
//! assert_eq!(&buf, b"ping");
//! ```

mod any;
mod listener;
mod memory;
pub(crate) mod ops;
mod shards;
pub(crate) mod sock;
mod stream;
mod udp;
pub(crate) mod udp_ops;

pub use any::{AnyListener, IncomingSyn};
#[cfg(feature = "tokio")]
pub(crate) use any::{Cancel, HeldSyn, open_any};
pub use listener::{Incoming, TcpListener};
pub use memory::{MEMORY_QUEUE_FRAMES, MemoryEnd, memory_pair, memory_pair_with};
pub use shards::{ShardedAnyListener, ShardedListener};
pub use std::net::Shutdown;
pub use stream::TcpStream;
pub use synack_tcp::{CongestionControl, ConnConfig, ConnStats, KeepAlive, State};
pub use udp::UdpSocket;
