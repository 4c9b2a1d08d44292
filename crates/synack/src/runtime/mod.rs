//! The runtime: a [`Stack`] owning an interface, an engine and a device, with a driver thread.
//!
//! ```text
//!   application threads                       driver thread (one per Stack)
//!   ───────────────────                       ─────────────────────────────
//!   Stack::with(|st| st.endpoint.send(..))    loop {
//!      locks StackState, calls f, then:          take the device
//!      device free? run the pass here ──┐        device.read_batch()      (no state lock)
//!      else wake the driver ────────────┼──▶    now = clock.now()
//!   Stack::wait_on(socket, timeout, f)  │        lock; pass: Interface::poll(now, device,
//!      parks, registered for that socket│          engine): one batch in, engine sees all,
//!                                       │          one out; drain events -> queue, hook,
//!                                       │          and the sleepers of the sockets they
//!                                       │          name; unlock
//!      unparked ◀───────────────────────┴──────  wake those sleepers (threads and tasks)
//!                                                 device.write_batch_read_ahead()
//!                                                   (no state lock; with io_uring the
//!                                                   writes and the next reads go in one
//!                                                   system call)
//!                                                 give the device back
//!                                                 unless frames were read ahead, sleep until min(engine timer, reassembly
//!                                                   timer, device delivery time), device
//!                                                   readable, or a wake-up
//!                                               }
//! ```
//!
//! A pass is the same whoever runs it (`pass.rs`): the driver for what the device and the
//! timers bring, an application thread for what its own call queued (a write sends its
//! segments, a read that opened the window sends the update) when the driver is not using
//! the device, so a busy connection costs no hand-off to the driver per call. A TUN device
//! reads and writes in batches outside the state's lock (a system call on TUN runs the
//! kernel's own IP/TCP for the packet, long enough to matter to an application waiting for
//! the lock); the in-memory link moves frames inside the poll and raises the peer's signal
//! once per batch. Wake-ups from the application cost a system call only when the driver is
//! asleep (see `wait.rs`). On a device that wakes the driver through a `Signal` (the in-memory
//! link, the channel device), the latest thread to block in [`Stack::wait_on`] stands in for
//! the sleeping driver: the device's raise unparks that thread instead, and it runs the pass
//! itself (`pass.rs`), so frames for a blocked reader reach it with one wake-up, not the
//! driver's and then the reader's.
//!
//! The device belongs to whoever runs a pass (a mutex the driver holds for its round, and an
//! application thread only takes when free); everything the application touches is in
//! [`StackState`] behind one mutex. A socket layer (std-like or async) sits on [`Stack::with`],
//! [`Stack::wait_on`] (blocked threads) and the table of waiters (`waiters.rs`, blocked threads
//! and task wakers alike, woken per socket from the engine's events).
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
mod md5;
mod pass;
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
