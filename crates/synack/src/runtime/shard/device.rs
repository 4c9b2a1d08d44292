//! [`ShardDevice`]: a shard's device queue, which passes packets of other shards' flows on.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, OnceLock};

use synack_stack::{Device, DeviceCaps, RxToken};
use synack_tcp::Instant;

use super::steer::{self, Steering};
use crate::runtime::device::{DriverDevice, WaitSource};
use crate::runtime::wait::Wake;

/// Packets one shard may have waiting for another before more are dropped (TCP retransmits
/// them, as after a full device queue), in each of its two inboxes.
pub(crate) const HANDOFF_QUEUE: usize = 1024;

/// A shard's two inboxes: SYNs (without ACK) go in one, every other packet in the other, so
/// a SYN flood fills only the first and a handshake's completing ACK or a connection's data
/// is never dropped for want of room behind the flood's SYNs (a SYN cookie's ACK is not sent
/// again).
pub(crate) struct Inboxes<T> {
    pub(crate) syns: T,
    pub(crate) others: T,
}

/// What every shard's device shares: the way to each shard's inboxes and driver.
pub(crate) struct Peers {
    pub(crate) inboxes: Vec<Inboxes<SyncSender<Vec<u8>>>>,
    /// Set once every shard's driver runs (a wake only shortens a shard's sleep: before
    /// this is set, a handed-over packet waits for the shard's next round).
    pub(crate) wakes: OnceLock<Vec<Wake>>,
}

/// What a shard's device counted.
#[derive(Debug, Default)]
pub(crate) struct HandoffCounters {
    /// Packets this shard read that belonged to another shard, handed over.
    pub(crate) out: AtomicU64,
    /// Packets other shards handed to this one.
    pub(crate) r#in: AtomicU64,
    /// Packets dropped because the owner's inbox was full.
    pub(crate) dropped: AtomicU64,
    /// Of those, packets other than SYNs.
    pub(crate) dropped_others: AtomicU64,
}

/// One shard's device: the device queue it reads, plus the inbox of packets other shards
/// read for it.
pub(crate) struct ShardDevice<D> {
    pub(crate) inner: D,
    pub(crate) me: usize,
    pub(crate) steering: Steering,
    pub(crate) inbox: Inboxes<Receiver<Vec<u8>>>,
    pub(crate) handed: VecDeque<Vec<u8>>,
    pub(crate) peers: Arc<Peers>,
    pub(crate) counters: Arc<HandoffCounters>,
}

/// A received frame: read from the queue, or handed over by another shard.
pub(crate) enum ShardRx<T> {
    /// From the shard's own device queue.
    Own(T),
    /// Read by another shard.
    Handed(Vec<u8>),
}

impl<T: RxToken> RxToken for ShardRx<T> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        match self {
            ShardRx::Own(t) => t.consume(f),
            ShardRx::Handed(p) => f(&p),
        }
    }
}

impl<D: DriverDevice> ShardDevice<D> {
    /// Moves packets of other shards' flows out of what the queue read ahead, into their
    /// owners' inboxes, and wakes those owners.
    fn pass_on(&mut self) {
        let (me, steering, peers) = (self.me, self.steering, &self.peers);
        let mut woken = 0u64; // a bit per shard (the first 64) that got something
        let mut wake_all = false;
        let (mut out, mut dropped, mut dropped_others) = (0u64, 0u64, 0u64);
        self.inner.divert_rx(&mut |p| match steering.packet(p) {
            Some(owner) if owner != me => {
                let syn = steer::is_tcp_syn(p);
                let inbox = &peers.inboxes[owner];
                let inbox = if syn { &inbox.syns } else { &inbox.others };
                match inbox.try_send(p.to_vec()) {
                    Ok(()) => out += 1,
                    Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                        dropped += 1;
                        dropped_others += u64::from(!syn);
                    }
                }
                if owner < 64 {
                    woken |= 1 << owner;
                } else {
                    wake_all = true;
                }
                true
            }
            _ => false,
        });
        if out + dropped == 0 {
            return;
        }
        self.counters.out.fetch_add(out, Ordering::Relaxed);
        self.counters.dropped.fetch_add(dropped, Ordering::Relaxed);
        self.counters.dropped_others.fetch_add(dropped_others, Ordering::Relaxed);
        if let Some(wakes) = peers.wakes.get() {
            for (i, w) in wakes.iter().enumerate() {
                if wake_all || (i < 64 && woken & (1 << i) != 0) {
                    w.wake();
                }
            }
        }
    }
}

impl<D: DriverDevice> Device for ShardDevice<D> {
    type RxToken<'a> = ShardRx<D::RxToken<'a>>;
    type TxToken<'a> = D::TxToken<'a>;

    fn receive(&mut self, now: Instant) -> Option<Self::RxToken<'_>> {
        if let Some(p) = self.handed.pop_front() {
            return Some(ShardRx::Handed(p));
        }
        self.inner.receive(now).map(ShardRx::Own)
    }

    fn transmit(&mut self, now: Instant) -> Option<Self::TxToken<'_>> {
        self.inner.transmit(now)
    }

    fn caps(&self) -> DeviceCaps {
        self.inner.caps()
    }

    fn poll_at(&self) -> Option<Instant> {
        self.inner.poll_at()
    }

    fn take_tx_refused(&mut self) -> bool {
        self.inner.take_tx_refused()
    }

    fn frame_ring(&self) -> Option<&synack_stack::phy::FrameRing> {
        self.inner.frame_ring()
    }
}

impl<D: DriverDevice> DriverDevice for ShardDevice<D> {
    fn wait_source(&self) -> WaitSource {
        self.inner.wait_source()
    }

    fn driver_start(&mut self) {
        self.inner.driver_start();
    }

    fn read_batch(&mut self) -> bool {
        let more = self.inner.read_batch();
        self.pass_on();
        let before = self.handed.len();
        // Other packets first: a connection's segments before the flood's SYNs.
        self.handed.extend(self.inbox.others.try_iter());
        self.handed.extend(self.inbox.syns.try_iter());
        let got = self.handed.len() - before;
        if got > 0 {
            self.counters.r#in.fetch_add(got as u64, Ordering::Relaxed);
        }
        more
    }

    fn write_batch(&mut self) -> usize {
        self.inner.write_batch()
    }

    fn write_batch_read_ahead(&mut self) -> bool {
        self.inner.write_batch_read_ahead()
    }

    fn divert_rx(&mut self, take: &mut dyn FnMut(&[u8]) -> bool) -> Option<usize> {
        self.inner.divert_rx(take)
    }

    fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    fn read_errors(&self) -> (u64, Option<std::io::ErrorKind>) {
        self.inner.read_errors()
    }
}
