//! # synack-drill: packetdrill scripts against the synack engine
//!
//! A parser for the packetdrill language and a runner that drives the engine on a virtual clock.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
