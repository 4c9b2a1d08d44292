//! # synack: a userspace TCP/IP stack
//!
//! The facade: a [`Stack`] with its driver ([`runtime`]); the std-like `net::{TcpListener,
//! TcpStream}` and the tokio module are built on it.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod net;
pub mod runtime;
pub mod tokio;

pub use runtime::{Clock, DriverDevice, Stack, StackConfig, StackState, SynDecision};
pub use synack_stack::{Interface, InterfaceConfig, IpCidr};
pub use synack_tcp::{Endpoint, EndpointConfig, Event};
