//! # synack-tun: a Linux TUN device
//!
//! The one crate with `unsafe`: it opens `/dev/net/tun`, attaches to (or creates) an interface
//! by name with `TUNSETIFF`, and moves IP packets between the kernel and synack through the
//! [`synack_stack::Device`] token interface. The file descriptor is nonblocking; the runtime
//! waits on it with poll(2) or mio (see [`TunDevice::wait_readable`] and `AsRawFd`).
//!
//! Configuration (MTU, up, addresses, routes) runs the `ip` command, in the network namespace of
//! the calling thread; [`netns`] lets a thread enter a named namespace first.
//!
//! ```text
//!   kernel ─ tunN ─▶ read(fd) ─▶ rx buffer ─▶ TunRx::consume(|packet| ..) ─▶ interface
//!   interface ─▶ TunTx::consume(max, |buf| range) ─▶ tx buffer ─▶ write(fd) ─▶ kernel
//! ```
//!
//! In batched mode (what the runtime's driver uses) the reads and writes happen in batches of
//! up to [`BATCH`] packets, outside the interface's poll: `read_batch` fills a ring of slots
//! that `receive` then hands out, and transmit tokens queue into a second ring that
//! `write_batch` writes.
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod config;
mod device;
pub mod netns;
mod ring;
mod sys;
pub mod vnet;

pub use config::ConfigError;
pub use device::{BATCH, Offloads, TunCounters, TunDevice, TunOptions, TunRx, TunTx};
