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

    fn keep_flight(&mut self, f: SpareFlight) {
        if self.flights.len() < Self::KEEP && f.worth_keeping() {
            self.flights.push(f);
        }
    }
}
