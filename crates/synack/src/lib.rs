//! # synack: a userspace TCP/IP stack
//!
//! synack runs TCP/IP in your process: a [`Stack`] owns an IP interface, a TCP engine and a
//! device (a Linux TUN interface, or the in-memory link for tests), and one driver thread moves
//! packets and runs timers. On top of it sit sockets shaped like the ones you know:
//!
//! - [`net`]: blocking [`TcpListener`](net::TcpListener) and [`TcpStream`](net::TcpStream),
//!   used like `std::net`'s (`Read`/`Write`, timeouts, nonblocking mode, `peek`, `shutdown`,
//!   `set_ttl`, `set_linger` ...), with the `ErrorKind`s std gives on Linux.
//! - [`tokio`] (feature `tokio`): [`TcpListener`](tokio::TcpListener),
//!   [`TcpStream`](tokio::TcpStream) and [`TcpSocket`](tokio::TcpSocket), used like
//!   `tokio::net`'s (`AsyncRead`/`AsyncWrite`, `readable`/`writable`/`ready`, `try_read`,
//!   split halves ...). They work on any tokio runtime; synack needs no tokio feature beyond
//!   the I/O traits.
//!
//! The sockets take the stack as their first argument (`TcpStream::connect(&stack, addr)`),
//! since several stacks can live in one process.
//!
//! ## Two stacks in memory
//!
//! No root, no device: [`net::memory_pair`] joins two stacks with a perfect in-memory link.
//!
//! ```
//! use std::io::{Read, Write};
//! use synack::IpCidr;
//! use synack::net::{TcpListener, TcpStream, memory_pair};
//!
//! let cidr = |s: &str| IpCidr::new(s.parse().unwrap(), 24).unwrap();
//! let (a, b) = memory_pair(cidr("10.0.0.1"), cidr("10.0.0.2")).unwrap();
//! let listener = TcpListener::bind(&b, "10.0.0.2:7").unwrap();
//! let mut client = TcpStream::connect(&a, "10.0.0.2:7").unwrap();
//! let (mut server, _) = listener.accept().unwrap();
//! client.write_all(b"ping").unwrap();
//! let mut buf = [0; 4];
//! server.read_exact(&mut buf).unwrap();
//! assert_eq!(&buf, b"ping");
//! ```
//!
//! ## On a TUN device, with tokio
//!
//! With the `tun` feature a [`TunDevice`] is a stack's device: the kernel routes packets for
//! the TUN interface's subnet to synack. Creating the interface needs `CAP_NET_ADMIN`.
//!
//! ```no_run
//! use std::sync::Arc;
//! use synack::{Clock, IpCidr, Stack, StackConfig, TunDevice, tun};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let dev = TunDevice::open("syn0", 1500)?; // creates the interface if needed
//! tun::config::set_up("syn0")?;
//! tun::config::add_address("syn0", "10.9.0.1".parse()?, 24)?;
//! let ours = IpCidr::new("10.9.0.2".parse()?, 24).unwrap();
//! let cfg = StackConfig { addresses: vec![ours], ..StackConfig::default() };
//! let stack = Arc::new(Stack::new(dev, cfg, Clock::start())?);
//!
//! let listener = synack::tokio::TcpListener::bind(&stack, "10.9.0.2:8080").await?;
//! loop {
//!     let (mut conn, _) = listener.accept().await?; // e.g. `nc 10.9.0.2 8080` on the host
//!     tokio::spawn(async move {
//!         let mut buf = [0; 1024];
//!         while let Ok(n @ 1..) = conn.read(&mut buf).await {
//!             if conn.write_all(&buf[..n]).await.is_err() { break; }
//!         }
//!     });
//! }
//! # }
//! ```
//!
//! ## Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `tokio` | yes | the [`tokio`] module (tokio's I/O traits only, no runtime) |
//! | `tun` | yes | [`TunDevice`] and the [`tun`] crate (Linux); implies `fd` |
//! | `fd` | with `tun` | devices the driver waits on as file descriptors (mio) |
//! | `pcap` | yes | pcap/pcapng capture: `stack::phy::PcapTap`, ring dumps on reset |
//!
//! ## Logging
//!
//! The driver emits [`tracing`](https://docs.rs/tracing) events (target `synack`): connection
//! open and close with the reason, retransmission timeouts, resets sent and received, packets
//! the interface dropped with the reason, device errors. Nothing is printed unless the
//! application installs a `tracing` subscriber; with none, each event costs one check of a
//! cached flag.
//!
//! ## Crates underneath
//!
//! The engine ([`tcp`], sans-IO TCP), the IP layer and devices ([`stack`]) and the wire formats
//! ([`wire`]) are separate crates, re-exported here so one dependency suffices.
//!
//! ## For relays
//!
//! VPN clients, tun2socks-style and transparent proxies: accept-any TCP
//! (`TcpListener::bind_any`, and `tokio::AnyListener` with a deferred accept or refuse), UDP
//! with accept-any (`UdpSocket::bind_any`, `recv_from_to`, `send_from_to`), and
//! [`ChannelDevice`] to run a stack over the application's own packet source and sink.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
pub mod net;
pub mod runtime;
#[cfg(feature = "tokio")]
pub mod tokio;
mod trace;

pub use runtime::{
    AcceptAnyStats, AcceptAnyUsage, AnyConfig, AnyPolicy, ChannelDevice, ChannelHandle, Clock,
    DriverDevice, Shards, Stack, StackConfig, StackState, SynDecision, default_shard_count,
};
pub use synack_stack as stack;
pub use synack_stack::iface::{UdpConfig, UdpUsage};
pub use synack_stack::phy::{Link, LinkEnd};
pub use synack_stack::{Device, DeviceCaps, Interface, InterfaceConfig, IpCidr, Medium, Route};
pub use synack_tcp as tcp;
pub use synack_tcp::{Endpoint, EndpointConfig, Event};
#[cfg(feature = "tun")]
pub use synack_tun as tun;
#[cfg(feature = "tun")]
pub use synack_tun::TunDevice;
pub use synack_wire as wire;
