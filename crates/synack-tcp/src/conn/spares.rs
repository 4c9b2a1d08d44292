//! Storage a finished flight or connection leaves behind, kept by the endpoint for the next
//! connection that needs it: a short connection (open, a request and an answer, close) then
//! costs the allocator nothing once the endpoint has seen a few. Bounded, so what a peak
//! leaves behind is not kept for ever.

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::{Conn, SpareFlight};
use crate::ring::RingBuffer;

/// Boxes of per-flight loss state (see `recovery::Flight`) and first ring allocations
/// (`ring::MIN_ALLOCATION` bytes) ready for reuse.
#[derive(Debug, Default)]
pub(crate) struct Spares {
    flights: Vec<SpareFlight>,
    rings: Vec<Box<[u8]>>,
}

impl Spares {
    /// At most this many of each kind are kept (a flight box is about 300 bytes, a ring's
    /// first allocation 64).
    const KEEP: usize = 1024;

    /// Lends a spare flight box to `conn` before it may start a flight (it is about to be
    /// asked for a segment), so the flight does not allocate. A connection that already has
    /// one, or an empty store, is left as it is.
    pub(crate) fn lend_flight(&mut self, conn: &mut Conn) {
        if conn.rec.has_flight_box() {
            return;
        }
        if let Some(f) = self.flights.pop()
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

    /// The connection is gone: keeps what of its storage can be reused.
    pub(crate) fn reclaim(&mut self, mut conn: Conn) {
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

    /// Trims the store to what `live` connections could take at once, plus a floor for churn:
    /// the spares a load peak left go as its connections do, while a steady churn keeps what
    /// it reuses (the bound moves with the connections, not with time).
    pub(crate) fn fit(&mut self, live: usize) {
        const FLOOR: usize = 64;
        let cap = (live + FLOOR).min(Self::KEEP);
        self.flights.truncate(cap);
        self.rings.truncate(cap);
        if self.flights.capacity() > 4 * cap {
            self.flights.shrink_to(2 * cap);
        }
        if self.rings.capacity() > 4 * cap {
            self.rings.shrink_to(2 * cap);
        }
    }

    fn keep_flight(&mut self, f: SpareFlight) {
        if self.flights.len() < Self::KEEP && f.worth_keeping() {
            self.flights.push(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_follows_the_live_connections_down() {
        let rings = (0..1000).map(|_| alloc::vec![0u8; 64].into_boxed_slice()).collect();
        let mut s = Spares { rings, ..Spares::default() };
        s.fit(2000);
        assert_eq!(s.rings.len(), 1000, "while a load's connections live, its spares stay");
        s.fit(10);
        assert_eq!(s.rings.len(), 74);
        assert!(s.rings.capacity() <= 4 * 74, "capacity {}", s.rings.capacity());
        s.fit(0);
        assert_eq!(s.rings.len(), 64, "a floor stays for churn");
    }
}
