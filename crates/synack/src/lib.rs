//! # synack: a userspace TCP/IP stack
//!
//! The facade: a `Stack` with its driver, `net::{TcpListener, TcpStream}` mirroring `std::net`,
//! and a tokio module.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
