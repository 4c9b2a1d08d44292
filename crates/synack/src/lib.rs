//! # synack: a userspace TCP/IP stack
//!
//! The facade: a [`Stack`] with its driver ([`runtime`]); the std-like [`net`]`::{TcpListener,
//! TcpStream}` and the [`tokio`] module (`AsyncRead`/`AsyncWrite` sockets) are built on it.
//! Runnable echo servers for both, with no root needed (two stacks over the in-memory link):
//! `cargo run -p synack --example echo_server` and `cargo run -p synack --example tokio_echo`;
//! `docs/API.md` is the guide.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod net;
pub mod runtime;
pub mod tokio;

pub use runtime::{
    AcceptAnyStats, AcceptAnyUsage, AnyConfig, AnyPolicy, Clock, DriverDevice, Stack, StackConfig,
    StackState, SynDecision,
};
pub use synack_stack::{Interface, InterfaceConfig, IpCidr, Route};
pub use synack_tcp::{Endpoint, EndpointConfig, Event};
