//! [`Signal`]: a level-triggered wake-up between threads.
//!
//! The in-memory link notifies the receiving stack's signal when it queues a frame, and the
//! application side notifies it when it has given the engine something to send; the driver
//! thread waits on it with a timeout (its next timer). A notification that arrives while no one
//! waits is remembered, so none is lost between "nothing to do" and "go to sleep".

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

/// A flag with a condition variable; see the module docs.
#[derive(Debug, Default)]
pub struct Signal {
    raised: Mutex<bool>,
    cv: Condvar,
}

impl Signal {
    /// A lowered signal.
    pub fn new() -> Self {
        Signal::default()
    }

    /// Raises the signal and wakes a waiter.
    pub fn notify(&self) {
        let mut r = self.raised.lock().unwrap_or_else(PoisonError::into_inner);
        *r = true;
        self.cv.notify_all();
    }

    /// Waits until the signal is raised or `timeout` passes (`None`: no limit), then lowers
    /// it. True when it was raised.
    pub fn wait(&self, timeout: Option<Duration>) -> bool {
        let mut r = self.raised.lock().unwrap_or_else(PoisonError::into_inner);
        match timeout {
            None => {
                while !*r {
                    r = self.cv.wait(r).unwrap_or_else(PoisonError::into_inner);
                }
            }
            Some(t) => {
                if !*r {
                    r = self.cv.wait_timeout(r, t).unwrap_or_else(PoisonError::into_inner).0;
                }
            }
        }
        std::mem::replace(&mut *r, false)
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
