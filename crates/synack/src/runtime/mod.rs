//! The runtime: a [`Stack`] owning an interface, an engine and a device, with a driver thread.
//!
//! ```text
//!   application threads                       driver thread (one per Stack)
//!   ───────────────────                       ─────────────────────────────
//!   Stack::with(|st| st.endpoint.send(..)) ─┐  loop {
//!      locks StackState, then wakes ─────────┼─▶  device.read_batch()      (no lock held)
//!   Stack::wait(timeout, |st| ..)            │    now = clock.now()
//!      sleeps on the condvar ◀───────────────┼──  lock; Interface::poll(now, device, engine):
//!                                            │      one batch in, engine sees all, one out;
//!                                            │      drain events -> queue, hook; notify
//!                                            │      the condvar if anyone waits; unlock
//!                                            │    device.write_batch()     (no lock held)
//!                                            │    sleep until min(engine timer, reassembly
//!                                            └─▶    timer, device delivery time), device
//!                                                   readable, or a wake-up
//!                                                 }
//! ```
//!
//! A TUN device reads and writes in batches outside the lock (a system call on TUN runs the
//! kernel's own IP/TCP for the packet, long enough to matter to an application waiting for the
//! lock); the in-memory link moves frames inside the poll. Wake-ups from the application cost
//! a system call only when the driver is asleep (see `wait.rs`).
//!
//! The device belongs to the driver thread; everything the application touches is in
//! [`StackState`] behind one mutex. A socket layer (std-like or async) sits on [`Stack::with`],
//! [`Stack::wait`] and [`Stack::set_event_hook`] (for task wakers).
//!
//! [`Shards`] runs one such stack per queue of a multi-queue device, each owning the TCP flows
//! a hash steers to it (see `shard/mod.rs`).

mod any;
mod any_calls;
mod channel;
mod clock;
mod device;
mod gate;
mod layer;
mod shard;
mod stack;
mod wait;
mod waiters;

pub(crate) use any_calls::open as open_accept_any;
pub(crate) use any_calls::{accept_syn, cancel, handshake, ignore_syn, next_syn, refuse_syn};

pub use any::{AcceptAnyStats, AcceptAnyUsage, AnyConfig, AnyPolicy, SynDecision};
pub use channel::{ChannelDevice, ChannelHandle, ChannelRx, ChannelTx};
pub use clock::Clock;
pub use device::{DriverDevice, WaitSource};
pub(crate) use gate::Gate;
pub(crate) use shard::shard_local_addr;
pub use shard::{HandoffStats, Shards, Steering, default_shard_count};
#[cfg(feature = "pcap")]
pub use stack::ResetDump;
pub use stack::{DriverStats, EventHook, Stack, StackConfig, StackError, StackState};
pub use waiters::WaitOn;
