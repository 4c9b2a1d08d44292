//! [`Signal`]: a level-triggered wake-up between threads.
//!
//! The in-memory link notifies the receiving stack's signal when it queues a frame, and the
//! application side notifies it when it has given the engine something to send; the driver
//! thread waits on it with a timeout (its next timer). A notification that arrives while no one
//! waits is remembered, so none is lost between "nothing to do" and "go to sleep".

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

/// A flag with a condition variable; see the module docs.
///
/// The flag is atomic so that raising an already raised signal (a burst of frames for a busy
/// receiver) costs one atomic swap, not a lock and a futex wake per frame; and a raise while
/// nobody sleeps (the driver is busy, and will look at the flag before it sleeps) costs no
/// system call either. The mutex only orders a raise against a waiter about to sleep: the
/// waiter counts itself in `sleepers` and checks the flag while holding it; a raiser sets the
/// flag and then looks at `sleepers` (both store, then load, sequentially consistent, so at
/// least one sees the other), and if someone sleeps takes and releases the mutex before
/// notifying, so the waiter is in the condition variable's wait by then and no raise is
/// missed.
#[derive(Debug, Default)]
pub struct Signal {
    raised: AtomicBool,
    sleepers: AtomicUsize,
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
        if self.raised.swap(true, Ordering::SeqCst) {
            return;
        }
        if self.sleepers.load(Ordering::SeqCst) == 0 {
            return;
        }
        // Taking the mutex waits out a waiter between its check and its sleep; it is released
        // before the notification, so the woken waiter does not run into it held and block a
        // second time (a futex wait and a context switch more per wake-up).
        drop(self.lock.lock().unwrap_or_else(PoisonError::into_inner));
        self.cv.notify_all();
    }

    /// Waits until the signal is raised or `timeout` passes (`None`: no limit), then lowers
    /// it. True when it was raised.
    pub fn wait(&self, timeout: Option<Duration>) -> bool {
        if self.raised.swap(false, Ordering::AcqRel) {
            return true;
        }
        let mut g = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        let raised = match timeout {
            None => {
                while !self.raised.swap(false, Ordering::SeqCst) {
                    g = self.cv.wait(g).unwrap_or_else(PoisonError::into_inner);
                }
                true
            }
            Some(t) => {
                if self.raised.swap(false, Ordering::SeqCst) {
                    true
                } else {
                    g = self.cv.wait_timeout(g, t).unwrap_or_else(PoisonError::into_inner).0;
                    self.raised.swap(false, Ordering::SeqCst)
                }
            }
        };
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
        drop(g);
        raised
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

    /// Two threads hand a turn back and forth through two signals many times; a raise lost
    /// between a waiter's check and its sleep would leave a wait to time out.
    #[test]
    fn no_raise_is_lost_between_check_and_sleep() {
        let pair = Arc::new((Signal::new(), Signal::new()));
        let p2 = pair.clone();
        let t = std::thread::spawn(move || {
            for i in 0..20_000 {
                assert!(p2.0.wait(Some(Duration::from_secs(30))), "raise {i} lost");
                p2.1.notify();
            }
        });
        for i in 0..20_000 {
            pair.0.notify();
            assert!(pair.1.wait(Some(Duration::from_secs(30))), "answer {i} lost");
        }
        t.join().unwrap();
    }
}
