//! [`Core`] and [`SockState`]: what a socket keeps beside the engine's connection, shared by the blocking
//! and the async layers (and by every clone or half of one socket, as a dup'ed descriptor
//! shares the kernel's socket).

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use synack_tcp::{ConnId, ConnectionError};

use crate::error;
use crate::runtime::Stack;

/// Socket-level flags the engine does not keep.
#[derive(Debug, Default)]
pub(crate) struct SockState {
    /// `shutdown(Read)` was called: reads that find nothing return end of stream.
    read_shut: AtomicBool,
    /// The error that ended the connection has been reported once (by a read, a write or
    /// `take_error`), as Linux clears `sk_err` when it reports it.
    error_reported: AtomicBool,
    /// `SO_LINGER`: what dropping the last handle does.
    linger: Mutex<Option<Duration>>,
}

impl SockState {
    pub(crate) fn shut_read(&self) {
        self.read_shut.store(true, Ordering::Release);
    }

    pub(crate) fn read_is_shut(&self) -> bool {
        self.read_shut.load(Ordering::Acquire)
    }

    /// `e` as an error the first time the socket reports it; `None` afterwards.
    pub(crate) fn report(&self, e: ConnectionError) -> Option<io::Error> {
        (!self.error_reported.swap(true, Ordering::AcqRel)).then(|| error::connection(e))
    }

    pub(crate) fn set_linger(&self, linger: Option<Duration>) {
        *self.linger.lock().unwrap_or_else(PoisonError::into_inner) = linger;
    }

    pub(crate) fn linger(&self) -> Option<Duration> {
        *self.linger.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One connection as the socket layers hold it: shared by a blocking stream and its clones,
/// an async stream and its halves, and across `from_std`/`into_std`. Dropping the last
/// handle closes the connection as [`SO_LINGER`](SockState::linger) says (the `Drop` impl
/// is in `ops.rs`, beside `close`).
pub(crate) struct Core {
    pub(crate) stack: Arc<Stack>,
    pub(crate) id: ConnId,
    pub(crate) local: SocketAddr,
    pub(crate) peer: SocketAddr,
    pub(crate) sock: SockState,
}

impl Core {
    pub(crate) fn new(stack: Arc<Stack>, id: ConnId, local: SocketAddr, peer: SocketAddr) -> Core {
        Core { stack, id, local, peer, sock: SockState::default() }
    }
}
