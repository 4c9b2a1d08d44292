//! [`Signal`]: a level-triggered wake-up between threads.
//!
//! The in-memory link notifies the receiving stack's signal when it queues a frame, and the
//! application side notifies it when it has given the engine something to send; the driver
//! thread waits on it with a timeout (its next timer). A notification that arrives while no one
//! waits is remembered, so none is lost between "nothing to do" and "go to sleep".
//!
//! A thread blocked on the stack may stand in for the sleeping driver
//! ([`Signal::stand_in`]): a raise then wakes that thread instead, which takes the raise
//! ([`Signal::take`]) and runs the stack's pass itself, so frames for a blocked reader reach
//! it with one wake-up instead of two (the driver's, then the reader's).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::Thread;
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
///
/// A raise that finds a stand-in registered hands the raise to it instead of the sleepers:
/// the stand-in's registration is taken out and marked fired under the mutex, so a stand-in
/// that withdraws ([`Signal::withdraw`]) sees whether it was fired; a fired stand-in must take
/// the raise and act on it, or pass it on ([`Signal::wake_sleepers`]), since the flag stays
/// up and later raises do not wake anyone until it is taken.
#[derive(Debug, Default)]
pub struct Signal {
    raised: AtomicBool,
    sleepers: AtomicUsize,
    stand_in: Mutex<Option<StandIn>>,
    cv: Condvar,
}

/// A thread standing in for the signal's sleepers.
#[derive(Debug)]
struct StandIn {
    thread: Thread,
    fired: Arc<AtomicBool>,
}

impl Signal {
    /// A lowered signal.
    pub fn new() -> Self {
        Signal::default()
    }

    /// Raises the signal and wakes a waiter: the stand-in if one is registered and the
    /// sleepers sleep, else the sleepers.
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
        let mut slot = self.stand_in.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(s) = slot.take() {
            s.fired.store(true, Ordering::SeqCst);
            drop(slot);
            s.thread.unpark();
            return;
        }
        drop(slot);
        self.cv.notify_all();
    }

    /// Raises the signal and wakes the sleepers (never a stand-in), even when it was raised
    /// already: a fired stand-in that cannot act on the raise passes it on with this.
    pub fn wake_sleepers(&self) {
        self.raised.store(true, Ordering::SeqCst);
        if self.sleepers.load(Ordering::SeqCst) == 0 {
            return;
        }
        drop(self.stand_in.lock().unwrap_or_else(PoisonError::into_inner));
        self.cv.notify_all();
    }

    /// Registers the current thread to be woken (unparked) instead of the sleepers at the next
    /// raise; `fired` is set when that happens. One thread stands in at a time: the latest to
    /// register, the one most likely to be waiting for what comes next (a busy reader blocks
    /// again and again, an idle one blocked once long ago); the thread it replaces is simply
    /// no longer fired.
    pub fn stand_in(&self, fired: &Arc<AtomicBool>) {
        let mut slot = self.stand_in.lock().unwrap_or_else(PoisonError::into_inner);
        fired.store(false, Ordering::SeqCst);
        *slot = Some(StandIn { thread: std::thread::current(), fired: fired.clone() });
    }

    /// Takes the registration made with `fired` out if no raise took it; then `fired` says
    /// whether a raise did (and the caller must act on it).
    pub fn withdraw(&self, fired: &Arc<AtomicBool>) -> bool {
        let mut slot = self.stand_in.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.as_ref().is_some_and(|s| Arc::ptr_eq(&s.fired, fired)) {
            *slot = None;
        }
        drop(slot);
        fired.load(Ordering::SeqCst)
    }

    /// Lowers the signal; true when it was raised. A stand-in takes the raise before it looks
    /// at what was raised for, so a raise after that wakes someone again.
    pub fn take(&self) -> bool {
        self.raised.swap(false, Ordering::SeqCst)
    }

    /// Waits until the signal is raised or `timeout` passes (`None`: no limit), then lowers
    /// it. True when it was raised.
    pub fn wait(&self, timeout: Option<Duration>) -> bool {
        if self.raised.swap(false, Ordering::AcqRel) {
            return true;
        }
        let mut g = self.stand_in.lock().unwrap_or_else(PoisonError::into_inner);
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        let raised = match timeout {
            None => {
                while !self.raised.swap(false, Ordering::SeqCst) {
                    g = self.cv.wait(g).unwrap_or_else(PoisonError::into_inner);
                }
                true
            }
            Some(t) => {
                // Until raised or `t` has passed: a wake-up without the flag (a condition
                // variable may wake spuriously, and a raiser that saw this thread sleep in an
                // earlier wait may notify late) is not a raise.
                g = self
                    .cv
                    .wait_timeout_while(g, t, |_| !self.raised.load(Ordering::SeqCst))
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
                self.raised.swap(false, Ordering::SeqCst)
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

    /// A raise while a thread stands in wakes that thread (once: the registration goes) and
    /// not the sleeper; the flag stays up for the stand-in to take; a raise with nobody
    /// standing in wakes the sleeper; `wake_sleepers` never goes to a stand-in.
    #[test]
    fn a_stand_in_takes_the_raise_instead_of_the_sleeper() {
        let s = Arc::new(Signal::new());
        let s2 = s.clone();
        let sleeper = std::thread::spawn(move || s2.wait(Some(Duration::from_secs(30))));
        while s.sleepers.load(Ordering::SeqCst) == 0 {
            std::thread::yield_now();
        }
        let replaced = Arc::new(AtomicBool::new(false));
        s.stand_in(&replaced);
        let fired = Arc::new(AtomicBool::new(false));
        s.stand_in(&fired);
        s.notify();
        assert!(!s.withdraw(&replaced), "the latest stand-in replaced the earlier one");
        assert!(fired.load(Ordering::SeqCst), "the stand-in was fired");
        std::thread::park_timeout(Duration::from_secs(30)); // its unpark came (or returns late)
        assert!(s.withdraw(&fired), "withdrawing after the raise reports it");
        assert_eq!(s.sleepers.load(Ordering::SeqCst), 1, "the sleeper sleeps on");
        assert!(s.take(), "the raise is left for the stand-in");
        // Registered again, then withdrawn before any raise: not fired.
        s.stand_in(&fired);
        assert!(!s.withdraw(&fired));
        // `wake_sleepers` goes to the sleeper even with a stand-in registered.
        s.stand_in(&fired);
        s.wake_sleepers();
        assert!(sleeper.join().unwrap(), "the sleeper saw the raise");
        assert!(!s.withdraw(&fired), "and the stand-in was not fired");
    }

    /// Frames come (raises) while a driver thread sleeps and other threads stand in, take
    /// the raise and act on it, or pass it on; every raise is acted on by someone: the count
    /// of raises acted on reaches the count made, with no wait timing out.
    #[test]
    #[allow(clippy::disallowed_methods)] // real threads, a real clock for the give-up
    fn every_raise_is_acted_on_with_stand_ins() {
        use std::sync::atomic::AtomicU64;
        const RAISES: u64 = 20_000;
        let s = Arc::new(Signal::new());
        // A raise is "work": the raiser adds one unit, whoever takes the raise clears all.
        let work = Arc::new(AtomicU64::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let act = |work: &AtomicU64| {
            work.store(0, Ordering::SeqCst);
        };
        let driver = {
            let (s, work, done) = (s.clone(), work.clone(), done.clone());
            std::thread::spawn(move || {
                // A wait longer than the raiser's patience: a raise nobody acted on shows.
                while !done.load(Ordering::SeqCst) {
                    if s.wait(Some(Duration::from_secs(60))) {
                        act(&work);
                    }
                }
            })
        };
        let stand_ins: Vec<_> = (0..2)
            .map(|i| {
                let (s, work, done) = (s.clone(), work.clone(), done.clone());
                std::thread::spawn(move || {
                    let fired = Arc::new(AtomicBool::new(false));
                    let mut n = 0u64;
                    while !done.load(Ordering::SeqCst) {
                        s.stand_in(&fired);
                        std::thread::park_timeout(Duration::from_millis(1));
                        if s.withdraw(&fired) {
                            n += 1;
                            // Every other one cannot act (its device is busy): passes on.
                            if (n + i).is_multiple_of(2) {
                                s.wake_sleepers();
                            } else if s.take() {
                                act(&work);
                            }
                        }
                    }
                })
            })
            .collect();
        for _ in 0..RAISES {
            work.fetch_add(1, Ordering::SeqCst);
            s.notify();
            // Each raise is acted on before the next: none is left up unheard.
            let t0 = std::time::Instant::now();
            while work.load(Ordering::SeqCst) != 0 {
                assert!(t0.elapsed() < Duration::from_secs(20), "a raise was lost");
                std::thread::yield_now();
            }
        }
        done.store(true, Ordering::SeqCst);
        s.wake_sleepers();
        driver.join().unwrap();
        for t in stand_ins {
            t.join().unwrap();
        }
    }
}
