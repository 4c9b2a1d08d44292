//! The runtime: a [`Stack`] owning an interface, an engine and a device, with a driver thread.
//!
//! ```text
//!   application threads                       driver thread (one per Stack)
//!   ───────────────────                       ─────────────────────────────
//!   Stack::with(|st| st.endpoint.send(..)) ─┐  loop {
//!      locks StackState, then wakes ─────────┼─▶  now = clock.now()
//!   Stack::wait(timeout, |st| ..)            │    lock; Interface::poll(now, device, engine):
//!      sleeps on the condvar ◀───────────────┼──    one batch in, engine sees all, one batch out
//!                                            │    drain events -> queue, hook; notify condvar
//!                                            │    unlock; sleep until min(engine timer,
//!                                            └─▶    reassembly timer, device delivery time),
//!                                                   device readable, or a wake-up
//!                                                 }
//! ```
//!
//! The device belongs to the driver thread; everything the application touches is in
//! [`StackState`] behind one mutex. A socket layer (std-like or async) sits on [`Stack::with`],
//! [`Stack::wait`] and [`Stack::set_event_hook`] (for task wakers).

mod clock;
mod device;
mod layer;
mod stack;
mod wait;

pub use clock::Clock;
pub use device::{DriverDevice, WaitSource};
pub use layer::{SynDecision, TransparentPolicy};
pub use stack::{DriverStats, EventHook, ResetDump, Stack, StackConfig, StackError, StackState};
