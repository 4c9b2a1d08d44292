//! The async socket API for tokio: [`TcpListener`] and [`TcpStream`] (tokio's `AsyncRead` and
//! `AsyncWrite`, owned halves with [`TcpStream::into_split`]) and [`UdpSocket`] on a synack
//! [`Stack`], with accept-any ([`TcpListener::bind_any`], [`AnyListener`],
//! [`UdpSocket::bind_any`]).
//!
//! No extra task or thread: the stack's driver thread runs TCP (and a call that queued work
//! runs the stack's pass itself when the driver is not using the device); an async call asks
//! the engine directly and, when it would block, registers the task's waker for that socket
//! in the stack's table of waiters (the same table blocked threads of [`crate::net`] park
//! in). Each pass wakes the tasks of the sockets its engine events name (Readable, Writable,
//! AcceptReady, PeerClosed, Closed, Error ...), once per registration, after it has released
//! the stack's lock. The application's event hook ([`set_event_hook`] or
//! [`Stack::set_event_hook`](crate::Stack::set_event_hook)) is independent of the wakers.
//!
//! Works on any tokio runtime (current-thread or multi-thread); needs no tokio feature beyond
//! the `AsyncRead`/`AsyncWrite` traits.
//!
//! ```
//! use synack::IpCidr;
//! use synack::net::memory_pair;
//! use synack::tokio::{TcpListener, TcpStream};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let cidr = |s: &str| IpCidr::new(s.parse().unwrap(), 24).unwrap();
//! let (a, b) = memory_pair(cidr("10.0.0.1"), cidr("10.0.0.2")).unwrap();
//! let listener = TcpListener::bind(&b, "10.0.0.2:7").await.unwrap();
//! let mut client = TcpStream::connect(&a, "10.0.0.2:7").await.unwrap();
//! let (mut server, _) = listener.accept().await.unwrap();
//! client.write_all(b"ping").await.unwrap();
//! let mut buf = [0; 4];
//! server.read_exact(&mut buf).await.unwrap();
//! assert_eq!(&buf, b"ping");
//! # });
//! ```

mod any;
mod listener;
mod ready;
mod shards;
mod socket;
mod split;
mod stream;
mod udp;

use std::sync::Arc;

use crate::runtime::{EventHook, Stack};

pub use any::{AnyListener, IncomingSyn};
pub use listener::TcpListener;
pub use ready::{Interest, Ready};
pub use shards::ShardedListener;
pub use socket::TcpSocket;
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
pub use stream::TcpStream;
pub use udp::UdpSocket;

/// Sets (`Some`) or removes (`None`) the application's event hook on a stack used from tokio.
/// Like [`Stack::set_event_hook`] it runs with the stack's state locked, on the thread that
/// runs the pass (keep it short, and call nothing on the stack from it). The async sockets'
/// wakers do not depend on it: tasks are woken from the same events whether a hook is set or
/// not.
pub fn set_event_hook(stack: &Arc<Stack>, hook: Option<EventHook>) {
    stack.replace_event_hook(hook);
}
