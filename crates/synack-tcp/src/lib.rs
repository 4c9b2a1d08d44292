//! # synack-tcp: the sans-IO TCP engine
//!
//! Connections (one type per RFC 9293 state), the endpoint that demultiplexes segments to them,
//! buffers, reassembly, RTT/RTO, congestion control and loss recovery. No sockets, no clock, no
//! global randomness: time and randomness come in from the caller.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod assembler;
pub mod cc;
pub mod ring;
pub mod sack_gen;
pub mod rtt;
pub mod scoreboard;
pub mod time;

pub use time::{Duration, Instant};
