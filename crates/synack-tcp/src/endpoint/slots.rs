//! Connection slots (generation-counted ids), the per-connection bookkeeping after every
//! touch (unmap a dead TCB, free the slot, re-arm the timer heap, queue for output) and
//! running the timers that are due.

use core::cmp::Reverse;

use super::{ConnId, Endpoint, ListenerId};
use crate::conn::{Conn, Ctx};
use crate::error::{ConnectionError, InvalidConnection};
use crate::event::Event;
use crate::secret::FourTuple;
use crate::time::Instant;

/// Who holds a connection's id.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Owner {
    /// Handed to the application (connect or accept); freed when it closes and the TCB is gone.
    App,
    /// A listener's child not yet accepted.
    Listener(ListenerId),
    /// The application closed it; freed once the TCB is gone.
    Released,
}

pub(super) struct Slot {
    pub(super) generation: u32,
    pub(super) conn: Option<Conn>,
    pub(super) owner: Owner,
    /// In the transmit-ready queue.
    pub(super) tx_queued: bool,
    /// Still in the 4-tuple map.
    pub(super) mapped: bool,
}

/// The tuple of the connection in slot `i`, for [`TupleMap`], whose entries are slot indexes.
pub(super) fn slot_tuple(slots: &[Slot], i: u32) -> Option<FourTuple> {
    slots.get(i as usize).and_then(|s| s.conn.as_ref()).map(|c| c.tuple)
}

/// The connection `id` names in `slots` (a borrow of the slot table alone, so the rest of the
/// endpoint stays usable beside it).
pub(super) fn conn_in(slots: &mut [Slot], id: ConnId) -> Result<&mut Conn, InvalidConnection> {
    slots
        .get_mut(id.index as usize)
        .filter(|s| s.generation == id.generation)
        .and_then(|s| s.conn.as_mut())
        .ok_or(InvalidConnection)
}

impl Endpoint {
    pub(super) fn insert(&mut self, conn: Conn, owner: Owner) -> ConnId {
        let tuple = conn.tuple;
        let id = match self.free.pop() {
            Some(Reverse(i)) => {
                let s = &mut self.slots[i as usize];
                s.conn = Some(conn);
                s.owner = owner;
                s.tx_queued = false;
                s.mapped = true;
                ConnId { index: i, generation: s.generation }
            }
            None => {
                let generation = self.gen_floor;
                // The slot goes in empty and the connection is moved into it there: a slot
                // built around it would be copied again by `push`.
                self.slots.push(Slot {
                    generation,
                    conn: None,
                    owner,
                    tx_queued: false,
                    mapped: true,
                });
                let s = self.slots.last_mut().expect("just pushed");
                s.conn = Some(conn);
                ConnId { index: self.slots.len() as u32 - 1, generation }
            }
        };
        let slots = &self.slots;
        self.by_tuple.insert(&tuple, id.index, |i| slot_tuple(slots, i));
        self.last_hit = None;
        self.live += 1;
        id
    }

    pub(super) fn slot_mut(&mut self, id: ConnId) -> Option<&mut Slot> {
        self.slots.get_mut(id.index as usize).filter(|s| s.generation == id.generation)
    }

    pub(super) fn conn(&self, id: ConnId) -> Result<&Conn, InvalidConnection> {
        self.slots
            .get(id.index as usize)
            .filter(|s| s.generation == id.generation)
            .and_then(|s| s.conn.as_ref())
            .ok_or(InvalidConnection)
    }

    pub(super) fn conn_mut(&mut self, id: ConnId) -> Result<&mut Conn, InvalidConnection> {
        self.slot_mut(id).and_then(|s| s.conn.as_mut()).ok_or(InvalidConnection)
    }

    pub(super) fn push_event(&mut self, e: Event) {
        crate::event::push_bounded(&mut self.events, e);
    }

    /// Runs `f` on a connection with a context borrowing the endpoint's queues.
    pub(super) fn with_conn<R>(
        &mut self,
        id: ConnId,
        f: impl FnOnce(&mut Conn, &mut Ctx<'_>) -> R,
    ) -> Option<R> {
        let slot = self.slots.get_mut(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        let conn = slot.conn.as_mut()?;
        let mut ctx = Ctx {
            now: self.now,
            id,
            deleted: false,
            events: &mut self.events,
            ctl: &mut self.ctl,
            challenge: &mut self.challenge,
            msl: self.config.msl,
            ce: self.ip_ecn == 3,
            ip_ecn: self.ip_ecn,
            spares: &mut self.spares,
            drops: &mut self.drops,
            seg_size: self.rx_seg_size,
        };
        let r = f(conn, &mut ctx);
        if ctx.deleted {
            self.on_deleted(id);
        }
        Some(r)
    }

    /// The connection's TCB was deleted (it reached CLOSED): take it out of the 4-tuple map,
    /// and free the slot unless the application still holds the id (it then sees CLOSED and
    /// the error until it closes).
    fn on_deleted(&mut self, id: ConnId) {
        self.fo_reply.remove(&id);
        let Some(slot) = self.slot_mut(id) else { return };
        let Some(conn) = slot.conn.as_ref() else { return };
        let tuple = conn.tuple;
        let timed_out =
            matches!(conn.error, Some(ConnectionError::TimedOut | ConnectionError::UserTimeout));
        let keeps = conn.cfg.reset_keeps_socket && conn.error.is_some();
        let owner = slot.owner;
        if slot.mapped {
            slot.mapped = false;
            if self.by_tuple.remove(&tuple, id.index) {
                self.last_hit = None;
            }
        }
        match owner {
            Owner::App => {}
            Owner::Listener(l) => {
                if let Some(Some(l)) = self.listeners.get_mut(l.0 as usize)
                    && keeps
                    && l.ready.contains(&id)
                {
                    // Stays in the accept queue, CLOSED with its error and unread bytes.
                    return;
                }
                if let Some(Some(l)) = self.listeners.get_mut(l.0 as usize)
                    && l.forget(id)
                    && timed_out
                {
                    self.listen_counts.half_open_expired += 1;
                }
                self.free_slot(id);
            }
            Owner::Released => self.free_slot(id),
        }
    }

    /// The application let go of the id (close or abort): the slot is freed now if the TCB is
    /// already gone, else when it goes.
    pub(super) fn release(&mut self, id: ConnId) {
        let Some(slot) = self.slot_mut(id) else { return };
        slot.owner = Owner::Released;
        if !slot.mapped {
            self.free_slot(id);
        }
    }

    /// Bookkeeping after anything touched a connection: unmap a dead TCB, free the slot when
    /// nobody holds it, re-arm timers, queue it for transmission.
    pub(super) fn after(&mut self, id: ConnId) {
        self.after_inner(id, true);
    }

    /// Like `after`, without queueing for transmission (the connection just said it has
    /// nothing to send).
    pub(super) fn after_quiet(&mut self, id: ConnId) {
        self.after_inner(id, false);
    }

    pub(super) fn after_inner(&mut self, id: ConnId, queue_tx: bool) {
        self.after_with(id, queue_tx, true);
    }

    /// `after_inner`, optionally without re-deriving the situation-dependent timers
    /// (`Conn::refresh_timers`, about 180 instructions): after a segment was sent the
    /// connection is queued for another poll, and the poll that finds it with nothing more to
    /// send refreshes them, once per burst instead of once per segment (`poll_transmit` is
    /// called until it returns `None`). Until then a timer the refresh would disarm may still
    /// be armed, which is harmless because `Conn::on_timeout` refreshes before it looks at any
    /// timer; the retransmission timer, armed by the send itself, is always in the heap.
    pub(super) fn after_with(&mut self, id: ConnId, queue_tx: bool, refresh: bool) {
        let now = self.now;
        let Some(slot) = self.slots.get_mut(id.index as usize) else { return };
        if slot.generation != id.generation {
            return;
        }
        let Some(conn) = slot.conn.as_mut() else { return };
        self.spares.collect(conn);
        if !slot.mapped {
            // The TCB is gone: no timers, nothing to send.
            return;
        }
        if refresh {
            conn.refresh_timers(now);
        }
        // The timer queue holds the earliest deadline since the slot's entry last fired: a
        // deadline that moved later leaves the entry early, and firing early re-arms it.
        if let Some(d) = conn.next_deadline()
            && self.timers.deadline(id.index).is_none_or(|s| d < s)
        {
            self.timers.schedule(id.index, d);
        }
        if queue_tx && !slot.tx_queued {
            slot.tx_queued = true;
            self.tx_ready.push_back(id);
        }
    }

    pub(super) fn free_slot(&mut self, id: ConnId) {
        let s = &mut self.slots[id.index as usize];
        // Dropped in place: taking it out first would copy the whole connection (about a
        // kilobyte) for nothing.
        if let Some(conn) = s.conn.as_mut() {
            self.spares.reclaim(conn);
        }
        s.conn = None;
        s.generation = s.generation.wrapping_add(1);
        s.tx_queued = false;
        self.timers.cancel(id.index);
        self.free.push(Reverse(id.index));
        self.live -= 1;
        self.spares.fit(self.live, self.now);
        self.shrink_slots();
        // Entries leave the timer queue with their connections: the end of a peak is here.
        self.timers.shrink();
    }

    /// After a peak, cuts free slots off the tail of the slot table and gives back the
    /// capacity (a slot holds a whole connection, about a kilobyte): once fewer than a
    /// quarter of the slots are live, the table shrinks to twice what is left in use.
    pub(super) fn shrink_slots(&mut self) {
        const KEEP: usize = 64;
        let len = self.slots.len();
        if len <= KEEP || self.live * 4 >= len || self.slots[len - 1].conn.is_some() {
            return;
        }
        // Cut by truncation, not `pop`: popping moves each whole slot out first.
        let mut keep = len;
        while keep > KEEP && self.slots[keep - 1].conn.is_none() {
            keep -= 1;
            self.gen_floor = self.gen_floor.max(self.slots[keep].generation);
        }
        self.slots.truncate(keep);
        let end = self.slots.len() as u32;
        self.free.retain(|Reverse(i)| *i < end);
        self.timers.truncate_slots(self.slots.len());
        let want = (2 * self.slots.len()).max(KEEP);
        if self.slots.capacity() > 2 * want {
            self.slots.shrink_to(want);
            self.free.shrink_to(want);
        }
        let slots = &self.slots;
        self.by_tuple.shrink(|i| slot_tuple(slots, i));
    }

    /// Gives back the storage kept for reuse (spare flight boxes and ring allocations) beyond
    /// what the live connections could take, once no connection has ended near the recent
    /// peak for ten seconds: the end of a connection trims that storage, but an endpoint
    /// whose connections stopped ending would keep a past peak's spares (allocated all
    /// through the peak, each pinning a page of its own) for ever. Returns how many spares
    /// went; a host calls it now and then, before handing freed memory back to the system.
    pub fn trim_spares(&mut self, now: Instant) -> usize {
        self.spares.release_idle(self.live, now)
    }

    /// The earliest instant at which [`on_timeout`](Self::on_timeout) has work (O(1): the top
    /// of a timer heap). May be early (a timer that moved later); never late.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.peek().map(|(t, _)| t)
    }

    /// Runs every timer due at `now`.
    pub fn on_timeout(&mut self, now: Instant) {
        self.advance(now);
        // Defence in depth: a connection that re-arms a deadline at or before `now` every time
        // it fires would spin this loop forever. Each call handles at most the entries present
        // when it began (twice over, for re-arms) and leaves the rest to the next call, so a
        // bug of that kind costs the caller a busy timer, never a hang inside the engine.
        let mut budget = self.timers.len().saturating_mul(2).saturating_add(16);
        while let Some((t, i)) = self.timers.peek() {
            if t > now || budget == 0 {
                break;
            }
            budget -= 1;
            self.timers.pop();
            // Only a slot holding a connection has an entry (`free_slot` takes it away).
            let Some(slot) = self.slots.get(i as usize) else { continue };
            let id = ConnId { index: i, generation: slot.generation };
            let due = slot.conn.as_ref().and_then(Conn::next_deadline).is_some_and(|d| d <= now);
            if due {
                self.with_conn(id, |c, ctx| c.on_timeout(ctx));
            }
            // An entry that fired early (the timer moved) only needs re-arming, not a
            // transmit poll.
            self.after_inner(id, due);
        }
    }
}
