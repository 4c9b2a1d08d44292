//! How the driver sleeps: until the device is readable, the application wakes it, or the next
//! deadline passes.
//!
//! A TUN device is a file descriptor: the driver polls it together with a mio waker the
//! application side triggers. The in-memory link raises a [`Signal`], which the application
//! side raises too. Either way a wake-up that arrives while the driver is busy is kept, so the
//! driver never sleeps through work.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};
use synack_stack::Signal;

use super::device::WaitSource;

const DEVICE: Token = Token(0);
const WAKER: Token = Token(1);

/// The driver's side: blocks.
pub(crate) enum Waiter {
    Poll { poll: Poll, events: Events },
    Signal(Arc<Signal>),
}

/// The application's side: wakes the driver. Cheap to clone.
#[derive(Clone)]
pub(crate) enum Wake {
    Mio(Arc<Waker>),
    Signal(Arc<Signal>),
}

impl std::fmt::Debug for Wake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Wake::Mio(_) => "Wake::Mio",
            Wake::Signal(_) => "Wake::Signal",
        })
    }
}

impl Wake {
    pub(crate) fn wake(&self) {
        match self {
            // A failed wake means the poller is gone, so the driver has stopped anyway.
            Wake::Mio(w) => {
                let _ = w.wake();
            }
            Wake::Signal(s) => s.notify(),
        }
    }
}

/// Builds the pair for a device.
pub(crate) fn waiter(src: WaitSource) -> io::Result<(Waiter, Wake)> {
    match src {
        WaitSource::Fd(fd) => {
            let poll = Poll::new()?;
            poll.registry().register(&mut SourceFd(&fd), DEVICE, Interest::READABLE)?;
            let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
            Ok((Waiter::Poll { poll, events: Events::with_capacity(8) }, Wake::Mio(waker)))
        }
        WaitSource::Signal(s) => Ok((Waiter::Signal(s.clone()), Wake::Signal(s))),
    }
}

impl Waiter {
    /// Sleeps until woken or `timeout` (None: indefinitely).
    pub(crate) fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            Waiter::Poll { poll, events } => match poll.poll(events, timeout) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
                Err(e) => Err(e),
            },
            Waiter::Signal(s) => {
                s.wait(timeout);
                Ok(())
            }
        }
    }
}
