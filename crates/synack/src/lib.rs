//! # synack: a userspace TCP/IP stack
//!
//! The facade: a [`Stack`] with its driver ([`runtime`]); the std-like [`net`]`::{TcpListener,
//! TcpStream}` and the [`tokio`] module (`AsyncRead`/`AsyncWrite` sockets) are built on it.
//! Runnable echo servers for both, with no root needed (two stacks over the in-memory link):
//! `cargo run -p synack --example echo_server` and `cargo run -p synack --example tokio_echo`;
//! `docs/API.md` is the guide.
//!
//! For relays (VPN clients, tun2socks, transparent proxies): accept-any TCP
//! (`TcpListener::bind_any`, [`tokio::AnyListener`] with a deferred accept/refuse), UDP with
//! accept-any (`UdpSocket::bind_any`, `recv_from_to`, `send_from_to`), and [`ChannelDevice`]
//! to run a stack over the application's own packet source and sink.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod net;
pub mod runtime;
pub mod tokio;

pub use runtime::{
    AcceptAnyStats, AcceptAnyUsage, AnyConfig, AnyPolicy, ChannelDevice, ChannelHandle, Clock,
    DriverDevice, Stack, StackConfig, StackState, SynDecision,
};
pub use synack_stack::iface::{UdpConfig, UdpUsage};
pub use synack_stack::{Interface, InterfaceConfig, IpCidr, Route};
pub use synack_tcp::{Endpoint, EndpointConfig, Event};
