//! Storage a finished flight or connection leaves behind, kept by the endpoint for the next
//! connection that needs it: a short connection (open, a request and an answer, close) then
//! costs the allocator nothing once the endpoint has seen a few. Bounded, so what a peak
//! leaves behind is not kept for ever.

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::{Conn, SpareFlight};
use crate::ring::RingBuffer;
use crate::time::{Duration, Instant};

/// Boxes of per-flight loss state (see `recovery::Flight`) and first ring allocations
/// (`ring::MIN_ALLOCATION` bytes) ready for reuse.
#[derive(Debug, Default)]
pub(crate) struct Spares {
    flights: Vec<SpareFlight>,
    /// Flight boxes whose logs grew past what [`SpareFlight::worth_keeping`] allows for the
    /// common store, from flights of a window or more: a bulk sender's flights end at each
    /// moment everything sent is acknowledged, and without these its next flight would grow
    /// its logs again from a small box, about once per window. At most [`Spares::BIG_KEEP`].
    big: Vec<SpareFlight>,
    rings: Vec<Box<[u8]>>,
    /// The most connections live at once lately, and when that count was last seen: the store
    /// keeps room for a burst of that size until it is [`Spares::PEAK_MEMORY`] old.
    peak: usize,
    peak_seen: Instant,
}

impl Spares {
    /// At most this many of each kind are kept (a flight box is about 300 bytes, a ring's
    /// first allocation 64).
    const KEEP: usize = 1024;

    /// At most this many long-flight boxes are kept ([`SpareFlight::worth_keeping_big`]
    /// bounds their logs), so what a few bulk senders need stays while the memory held for
    /// them is bounded whatever the number of connections.
    const BIG_KEEP: usize = 4;

    /// Lends a spare flight box to `conn` before it may start a flight (it is about to be
    /// asked for a segment), so the flight does not allocate. A connection that already has
    /// one, or an empty store, is left as it is.
    pub(crate) fn lend_flight(&mut self, conn: &mut Conn) {
        if conn.rec.has_flight_box() {
            return;
        }
        // A long-flight box first: a connection that sends a window at a time gets back the
        // box its last flight left.
        if let Some(f) = self.big.pop() {
            if let Err(f) = conn.rec.lend(f) {
                self.big.push(f);
            }
        } else if let Some(f) = self.flights.pop()
            && let Err(f) = conn.rec.lend(f)
        {
            self.flights.push(f);
        }
    }

    /// Gives `ring` a reused first allocation if it has none and a write of `need` bytes is
    /// about to go in.
    pub(crate) fn lend_ring(&mut self, ring: &mut RingBuffer, need: usize) {
        if need == 0 || ring.is_allocated() {
            return;
        }
        if let Some(b) = self.rings.pop()
            && let Err(b) = ring.adopt(b, need)
        {
            self.rings.push(b);
        }
    }

    /// Takes back a flight box `conn` parked (its flight ended, or the lent box went unused),
    /// so an idle connection holds none.
    pub(crate) fn collect(&mut self, conn: &mut Conn) {
        if let Some(f) = conn.rec.take_parked() {
            self.keep_flight(f);
        }
    }

    /// The connection is going (its slot drops it in place next): keeps what of its storage
    /// can be reused.
    pub(crate) fn reclaim(&mut self, conn: &mut Conn) {
        if let Some(f) = conn.rec.take_any() {
            self.keep_flight(f);
        }
    }

    /// The connection's send and receive halves are going (TIME-WAIT or CLOSED): keeps
    /// their rings' first allocations.
    pub(crate) fn keep_rings(&mut self, snd: &mut RingBuffer, rcv: &mut RingBuffer) {
        for b in [snd.take_small_storage(), rcv.take_small_storage()].into_iter().flatten() {
            if self.rings.len() < Self::KEEP {
                self.rings.push(b);
            }
        }
    }

    /// How long the store remembers a burst: connections that open and close in waves keep
    /// reusing what the last wave left, while what a load peak left goes once the peak is
    /// this old.
    const PEAK_MEMORY: Duration = Duration::from_secs(10);

    /// A connection ended, leaving `live`: trims the store to what the recent peak of live
    /// connections could take at once, plus a floor for churn. The bound moves with the
    /// connections a recent burst needed, so waves of short connections keep reusing storage
    /// and a load peak's spares go as its last connections do, once the peak is older than
    /// [`Spares::PEAK_MEMORY`]. Returns how many spares went.
    pub(crate) fn fit(&mut self, live: usize, now: Instant) -> usize {
        const FLOOR: usize = 64;
        let before = live + 1;
        if before >= self.peak || now.saturating_since(self.peak_seen) > Self::PEAK_MEMORY {
            self.peak = before;
            self.peak_seen = now;
        }
        // A connection holds one flight box at a time and two rings (send and receive).
        let big = self.big.len().saturating_sub(self.peak.min(Self::BIG_KEEP));
        self.big.truncate(self.peak.min(Self::BIG_KEEP));
        big + fit_store(&mut self.flights, (self.peak + FLOOR).min(Self::KEEP))
            + fit_store(&mut self.rings, (2 * self.peak + FLOOR).min(Self::KEEP))
    }

    /// The endpoint is quiet: when no connection ended near the recent peak for
    /// [`Spares::PEAK_MEMORY`], trims the store to what the `live` connections could take,
    /// without [`fit`](Self::fit)'s floor for churn (an endpoint that churns keeps seeing its
    /// peak and is left as it is). What a load left is gone then, so the pages its spares were
    /// scattered over can go back to the system. Returns how many spares went.
    pub(crate) fn release_idle(&mut self, live: usize, now: Instant) -> usize {
        if now.saturating_since(self.peak_seen) <= Self::PEAK_MEMORY {
            return 0;
        }
        self.peak = live;
        self.peak_seen = now;
        let big = self.big.len().saturating_sub(live.min(Self::BIG_KEEP));
        self.big.truncate(live.min(Self::BIG_KEEP));
        big + fit_store(&mut self.flights, live.min(Self::KEEP))
            + fit_store(&mut self.rings, (2 * live).min(Self::KEEP))
    }

    fn keep_flight(&mut self, f: SpareFlight) {
        if f.worth_keeping() {
            if self.flights.len() < Self::KEEP {
                self.flights.push(f);
            }
        } else if self.big.len() < Self::BIG_KEEP && f.worth_keeping_big() {
            self.big.push(f);
        }
    }
}

/// Cuts `store` to `cap` entries, and its capacity when it is far above that; returns how
/// many entries went.
fn fit_store<T>(store: &mut Vec<T>, cap: usize) -> usize {
    let gone = store.len().saturating_sub(cap);
    store.truncate(cap);
    if store.capacity() > 4 * cap {
        store.shrink_to(2 * cap);
    }
    gone
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_follows_the_live_connections_down() {
        let rings = (0..1000).map(|_| alloc::vec![0u8; 64].into_boxed_slice()).collect();
        let mut s = Spares { rings, ..Spares::default() };
        let t0 = Instant::from_secs(100);
        s.fit(1999, t0);
        assert_eq!(s.rings.len(), 1000, "while a load's connections live, its spares stay");
        s.fit(9, t0 + Duration::from_secs(5));
        assert_eq!(s.rings.len(), 1000, "a recent burst's spares stay for the next one");
        s.fit(9, t0 + Duration::from_secs(11));
        assert_eq!(s.rings.len(), 84, "an old peak's spares go (two rings a connection)");
        assert!(s.rings.capacity() <= 4 * 84, "capacity {}", s.rings.capacity());
        assert_eq!(s.fit(0, t0 + Duration::from_secs(30)), 84 - 66);
        assert_eq!(s.rings.len(), 66, "a floor stays for churn");
        assert_eq!(s.fit(0, t0 + Duration::from_secs(31)), 0, "nothing more to give back");
        assert_eq!(s.release_idle(0, t0 + Duration::from_secs(35)), 0, "churned lately");
        assert_eq!(s.release_idle(0, t0 + Duration::from_secs(42)), 66, "quiet: the floor goes");
        assert_eq!(s.rings.len(), 0);
        assert_eq!(s.release_idle(0, t0 + Duration::from_secs(60)), 0);
    }
}
