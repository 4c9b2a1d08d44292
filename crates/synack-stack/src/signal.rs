//! [`Signal`]: a level-triggered wake-up between threads.
//!
//! The in-memory link notifies the receiving stack's signal when it queues a frame, and the
//! application side notifies it when it has given the engine something to send; the driver
//! thread waits on it with a timeout (its next timer). A notification that arrives while no one
//! waits is remembered, so none is lost between "nothing to do" and "go to sleep".

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

/// A flag with a condition variable; see the module docs.
///
/// The flag is atomic so that raising an already raised signal (a burst of frames for a busy
/// receiver) costs one atomic swap, not a lock and a futex wake per frame. The mutex only
/// orders a raise against a waiter about to sleep: the waiter checks the flag while holding
/// it, and a raiser takes it after setting the flag, so no raise is missed.
#[derive(Debug, Default)]
pub struct Signal {
    raised: AtomicBool,
    lock: Mutex<()>,
    cv: Condvar,
}

impl Signal {
    /// A lowered signal.
    pub fn new() -> Self {
        Signal::default()
    }

    /// Raises the signal and wakes a waiter.
    pub fn notify(&self) {
        if self.raised.swap(true, Ordering::AcqRel) {
            return;
        }
        let _g = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        self.cv.notify_all();
    }

    /// Waits until the signal is raised or `timeout` passes (`None`: no limit), then lowers
    /// it. True when it was raised.
    pub fn wait(&self, timeout: Option<Duration>) -> bool {
        if self.raised.swap(false, Ordering::AcqRel) {
            return true;
        }
        let mut g = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        match timeout {
            None => {
                while !self.raised.swap(false, Ordering::AcqRel) {
                    g = self.cv.wait(g).unwrap_or_else(PoisonError::into_inner);
                }
                true
            }
            Some(t) => {
                if self.raised.swap(false, Ordering::AcqRel) {
                    return true;
                }
                let _g = self.cv.wait_timeout(g, t).unwrap_or_else(PoisonError::into_inner).0;
                self.raised.swap(false, Ordering::AcqRel)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn remembered_and_cross_thread() {
        let s = Signal::new();
        assert!(!s.wait(Some(Duration::from_millis(1))));
        s.notify();
        assert!(s.wait(Some(Duration::from_millis(1))), "a notification before the wait counts");
        assert!(!s.wait(Some(Duration::ZERO)), "and is consumed");
        let s = Arc::new(Signal::new());
        let s2 = s.clone();
        let t = std::thread::spawn(move || s2.wait(None));
        s.notify();
        assert!(t.join().unwrap());
    }
}
