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
//! Offloads ([`TunOptions`], on by default where the kernel agrees): with `IFF_VNET_HDR` every
//! packet carries a virtio-net header ([`vnet`]), so the kernel hands synack TCP super-segments
//! of up to 64 KiB with partial checksums (`TUNSETOFFLOAD`), which reach the stack as one
//! segment, and takes synack's super-segments and partial checksums and finishes them itself
//! (the device reports [`DeviceCaps::tso_max`](synack_stack::DeviceCaps::tso_max)). Receive
//! coalescing glues consecutive in-order segments of a flow read in one batch. A kernel that
//! refuses a flag gets a log line and the device carries on with less. [`TunDevice::from_fd`]
//! takes over a descriptor opened elsewhere (a VPN service, a privileged parent).
//!
//! In batched mode (what the runtime's driver uses) the reads and writes happen in batches of
//! up to [`BATCH`] packets, outside the interface's poll: `read_batch` fills a ring of slots
//! that `receive` then hands out, and transmit tokens queue into a second ring that
//! `write_batch` writes. A batch of some size goes to a writer thread of the device's own
//! ([`TunOptions::tx_thread`]), so the kernel's receive path for it, which a TUN write runs
//! in the writer's thread, overlaps the engine's work on the next batch.
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod config;
mod device;
pub mod netns;
mod ring;
mod sys;
mod uring;
pub mod vnet;
mod writer;

pub use config::ConfigError;
pub use device::{BATCH, Offloads, TunCounters, TunDevice, TunOptions, TunRx, TunTx};
pub use writer::THREAD_NAME as TX_THREAD_NAME;
