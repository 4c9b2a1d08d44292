//! How the driver sleeps: until the device is readable, the application wakes it, or the next
//! deadline passes.
//!
//! A TUN device is a file descriptor: the driver polls it together with a mio waker the
//! application side triggers. The in-memory link raises a [`Signal`], which the application
//! side raises too. Either way a wake-up that arrives while the driver is busy is kept, so the
//! driver never sleeps through work.

use std::io;
use std::sync::Arc;
#[cfg(feature = "fd")]
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

#[cfg(feature = "fd")]
use mio::unix::SourceFd;
#[cfg(feature = "fd")]
use mio::{Events, Interest, Poll, Token, Waker};
use synack_stack::Signal;

use super::device::WaitSource;

#[cfg(feature = "fd")]
const DEVICE: Token = Token(0);
#[cfg(feature = "fd")]
const WAKER: Token = Token(1);

/// The driver's side: blocks.
pub(crate) enum Waiter {
    #[cfg(feature = "fd")]
    Poll {
        poll: Poll,
        events: Events,
        flags: Arc<Flags>,
    },
    Signal(Arc<Signal>),
}

/// The application's side: wakes the driver. Cheap to clone.
#[derive(Clone)]
pub(crate) enum Wake {
    #[cfg(feature = "fd")]
    Mio(Arc<Waker>, Arc<Flags>),
    Signal(Arc<Signal>),
}

/// Saves the waker's system call when the driver is awake anyway.
///
/// Every `Stack::with` and every successful `Stack::wait` wakes the driver, which on a busy
/// connection is once per application read or write. A mio wake is an eventfd write, and a
/// wake that lands while the driver is running only makes it go round once more. So a wake
/// first records `kicked`; only when the driver says it is `asleep` (or about to be) does it
/// make the system call. The driver clears `kicked` before each round (that round sees every
/// change made before it) and checks it after raising `asleep` and before it blocks; both
/// sides store before they load, with sequential consistency, so at least one of them sees
/// the other and no wake-up is lost.
#[cfg(feature = "fd")]
#[derive(Debug, Default)]
pub(crate) struct Flags {
    asleep: AtomicBool,
    kicked: AtomicBool,
}

impl std::fmt::Debug for Wake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            #[cfg(feature = "fd")]
            Wake::Mio(..) => "Wake::Mio",
            Wake::Signal(_) => "Wake::Signal",
        })
    }
}

impl Wake {
    pub(crate) fn wake(&self) {
        match self {
            #[cfg(feature = "fd")]
            Wake::Mio(w, flags) => {
                flags.kicked.store(true, Ordering::SeqCst);
                if flags.asleep.load(Ordering::SeqCst) {
                    // A failed wake means the poller is gone, so the driver has stopped anyway.
                    let _ = w.wake();
                }
            }
            // Never a thread standing in for the driver (`Signal::stand_in`): this wake is
            // for the driver's own round (a pass left work, or set an earlier timer).
            Wake::Signal(s) => s.wake_sleepers(),
        }
    }
}

/// Builds the pair for a device.
pub(crate) fn waiter(src: WaitSource) -> io::Result<(Waiter, Wake)> {
    match src {
        #[cfg(feature = "fd")]
        WaitSource::Fd(fd) => {
            let poll = Poll::new()?;
            poll.registry().register(&mut SourceFd(&fd), DEVICE, Interest::READABLE)?;
            let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
            let flags = Arc::new(Flags::default());
            Ok((
                Waiter::Poll { poll, events: Events::with_capacity(8), flags: flags.clone() },
                Wake::Mio(waker, flags),
            ))
        }
        WaitSource::Signal(s) => Ok((Waiter::Signal(s.clone()), Wake::Signal(s))),
    }
}

impl Waiter {
    /// Marks the start of a driver round: wakes before this point are served by the round.
    pub(crate) fn begin_round(&self) {
        #[cfg(feature = "fd")]
        if let Waiter::Poll { flags, .. } = self {
            flags.kicked.store(false, Ordering::SeqCst);
        }
    }

    /// Sleeps until woken or `timeout` (None: indefinitely). Returns at once when a wake came
    /// after the round began.
    pub(crate) fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            #[cfg(feature = "fd")]
            Waiter::Poll { poll, events, flags } => {
                flags.asleep.store(true, Ordering::SeqCst);
                if flags.kicked.load(Ordering::SeqCst) {
                    flags.asleep.store(false, Ordering::SeqCst);
                    return Ok(());
                }
                let r = match poll.poll(events, timeout) {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
                    Err(e) => Err(e),
                };
                flags.asleep.store(false, Ordering::SeqCst);
                r
            }
            Waiter::Signal(s) => {
                s.wait(timeout);
                Ok(())
            }
        }
    }
}

#[cfg(all(test, feature = "fd"))]
mod tests {
    use super::*;

    /// A wake while the driver runs makes no system call but keeps the driver from sleeping;
    /// a wake while it sleeps ends the sleep.
    #[test]
    #[allow(clippy::disallowed_methods)] // a real poller sleeps on the real clock
    fn wakes_are_kept_while_busy_and_end_a_sleep() {
        use std::os::fd::AsRawFd;
        // The read end of a pipe nobody writes to never polls readable; the write end stays
        // open so it never reports hang-up either.
        let (r, _w) = std::io::pipe().expect("pipe");
        let (mut waiter, wake) = waiter(WaitSource::Fd(r.as_raw_fd())).expect("poller");
        let long = Duration::from_secs(30);
        let t0 = std::time::Instant::now();
        waiter.begin_round();
        wake.wake();
        // The kick came after the round began: the sleep returns at once.
        waiter.wait(Some(long)).expect("wait");
        assert!(t0.elapsed() < Duration::from_secs(10), "a kept wake was lost");
        // A kick before the round began is served by the round and does not end a later sleep.
        wake.wake();
        waiter.begin_round();
        waiter.wait(Some(Duration::from_millis(100))).expect("wait");
        assert!(t0.elapsed() >= Duration::from_millis(100), "a served wake ended a sleep");
        // A wake from another thread ends a sleep (or stops it from starting).
        let t1 = std::time::Instant::now();
        waiter.begin_round();
        let w2 = wake.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            w2.wake();
        });
        waiter.wait(Some(long)).expect("wait");
        assert!(t1.elapsed() < Duration::from_secs(10), "the wake did not end the sleep");
        t.join().expect("waker thread");
    }
}
