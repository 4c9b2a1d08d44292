//! [`Gate`]: one place to wait for a listener that spans shards.

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

/// A counter that drivers bump when a listener's part on their shard has something to take
/// (or the driver stops), and that an accepting thread sleeps on: it reads the count, tries
/// every shard, and sleeps only while the count has not moved, so no wake-up is lost.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    count: Mutex<u64>,
    moved: Condvar,
}

impl Gate {
    /// The count now; pass it to [`wait`](Self::wait) after finding nothing.
    pub(crate) fn count(&self) -> u64 {
        *self.count.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Bumps the count and wakes every waiter.
    pub(crate) fn open(&self) {
        *self.count.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        self.moved.notify_all();
    }

    /// Sleeps until the count differs from `seen` or `timeout` passes (`None`: no limit).
    pub(crate) fn wait(&self, seen: u64, timeout: Option<Duration>) {
        let g = self.count.lock().unwrap_or_else(PoisonError::into_inner);
        match timeout {
            None => {
                let _g = self
                    .moved
                    .wait_while(g, |c| *c == seen)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            Some(t) => {
                let _g = self
                    .moved
                    .wait_timeout_while(g, t, |c| *c == seen)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        }
    }
}
