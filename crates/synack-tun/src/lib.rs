//! # synack-tun: a Linux TUN device
//!
//! The one crate with `unsafe`: it opens `/dev/net/tun` and configures an interface.
#![warn(missing_docs)]
