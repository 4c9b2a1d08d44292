//! Two stacks joined by the in-memory link, for examples, tests and demos that need no root.
//!
//! The link itself (`synack_stack::phy::Link`) belongs to the stack crate; [`MemoryEnd`] only
//! tells the driver what to sleep on (the signal the link raises when a frame arrives).

use std::sync::Arc;

use synack_stack::phy::{FrameRing, Link, LinkEnd};
use synack_stack::{Device, DeviceCaps, IpCidr};
use synack_tcp::Instant;

use crate::runtime::{Clock, DriverDevice, Stack, StackConfig, StackError, WaitSource};

/// One end of an in-memory link, usable as a [`Stack`]'s device.
#[derive(Debug)]
pub struct MemoryEnd(pub LinkEnd);

impl Device for MemoryEnd {
    type RxToken<'a> = <LinkEnd as Device>::RxToken<'a>;
    type TxToken<'a> = <LinkEnd as Device>::TxToken<'a>;

    fn receive(&mut self, now: Instant) -> Option<Self::RxToken<'_>> {
        self.0.receive(now)
    }

    fn transmit(&mut self, now: Instant) -> Option<Self::TxToken<'_>> {
        self.0.transmit(now)
    }

    fn caps(&self) -> DeviceCaps {
        self.0.caps()
    }

    fn poll_at(&self) -> Option<Instant> {
        self.0.poll_at()
    }

    fn frame_ring(&self) -> Option<&FrameRing> {
        self.0.frame_ring()
    }
}

impl DriverDevice for MemoryEnd {
    fn wait_source(&self) -> WaitSource {
        WaitSource::Signal(self.0.signal())
    }

    /// The peer's driver is woken once per batch this end sends (at `write_batch`).
    fn driver_start(&mut self) {
        self.0.set_batched_notify(true);
    }

    fn write_batch(&mut self) -> usize {
        self.0.notify_peer();
        0
    }
}

/// Frames each direction of [`memory_pair`]'s link holds before it refuses more (a full queue
/// drops, like a real interface queue; TCP retransmits).
pub const MEMORY_QUEUE_FRAMES: usize = 4096;

/// Two stacks, at `a` and `b` (same subnet), joined by a perfect in-memory link (MTU 1500, no
/// delay, no loss), sharing one clock. Each is in an `Arc` so sockets can keep it alive.
pub fn memory_pair(a: IpCidr, b: IpCidr) -> Result<(Arc<Stack>, Arc<Stack>), StackError> {
    let ca = StackConfig { addresses: vec![a], rng_seed: 1, ..StackConfig::default() };
    let cb = StackConfig { addresses: vec![b], rng_seed: 2, ..StackConfig::default() };
    memory_pair_with(Link::ideal(DeviceCaps::default(), MEMORY_QUEUE_FRAMES), ca, cb)
}

/// Two stacks on the two ends of `link` (build it with `Link::pair` for an impaired path),
/// with their own settings, sharing one clock.
pub fn memory_pair_with(
    link: (LinkEnd, LinkEnd),
    a: StackConfig,
    b: StackConfig,
) -> Result<(Arc<Stack>, Arc<Stack>), StackError> {
    let clock = Clock::start();
    let sa = Stack::new(MemoryEnd(link.0), a, clock)?;
    let sb = Stack::new(MemoryEnd(link.1), b, clock)?;
    Ok((Arc::new(sa), Arc::new(sb)))
}
