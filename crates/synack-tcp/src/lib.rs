//! # synack-tcp: the sans-IO TCP engine
//!
//! The endpoint that demultiplexes segments to connections, the connections (a control block
//! whose variants hold only what their states have), buffers, reassembly, RTT/RTO, congestion
//! control and loss recovery. No sockets, no clock, no global randomness: time and randomness
//! come in from the caller. The source reads top-down: `endpoint/` (demultiplexing, listeners,
//! application calls, output), `conn/` (one connection; the only place a connection changes
//! state), then the algorithms (`cc/`, `rack`, `scoreboard`, `rtt`, `assembler`, ...).
//!
//! ## Data flow
//!
//! ```text
//!            IP layer (synack-stack)                         application / runtime
//!                 |        ^                                   |            ^
//!  on_segment(now,|        | poll_transmit(now, buf)   connect, listen,     | poll_event()
//!   src,dst,repr) |        | -> Transmit{src,dst,len}  accept, send, recv,  | Connected, Readable,
//!  on_icmp_error  v        |   (header+payload+csum    shutdown_write,      | Writable, PeerClosed,
//!          +------------------------------------+      close, abort, set_*  | Closed, Error{..},
//!          |  Endpoint                          |<-----+                    | StateChanged{old,new}
//!          |  HashMap<FourTuple, ConnId> (O(1)) |-----------------------------+
//!          |  listeners: SYN queue, accept queue, SYN cookies
//!          |  stateless RSTs (CLOSED, LISTEN)   |   poll_timeout() -> earliest deadline
//!          |  timer heap (O(log n))             |<-- on_timeout(now)
//!          +----------------+-------------------+
//!                           | per connection: Conn { tcb: Tcb, t: TimerTable, due: DueSet, .. }
//!                           v
//!   Tcb::Closed | SynSent{snd} | Open{snd, rcv, kind} | TimeWait{snd_nxt, rcv_nxt, ts_recent, ..}
//!        kind: SynReceived(origin) | Established | FinWait1 | FinWait2 | CloseWait
//!              | Closing | LastAck   (changed in place: the halves never move between them)
//!        snd: SND.* + send RingBuffer
//!        rcv: RCV.* + receive RingBuffer + Assembler (out-of-order ranges) + SackGenerator
//!   per connection, beside the Tcb: RttEstimator/RttSampler, and Recovery =
//!        cc::CongestionControl (CUBIC/NewReno) + Scoreboard (RFC 6675) | NewRenoRecovery
//!        (RFC 6582) + Rack (RFC 8985 RACK-TLP)
//! ```
//!
//! ## Connection ids and lifetime
//!
//! [`Endpoint::connect`] and [`Endpoint::accept`] hand out a [`ConnId`]. The id stays valid
//! (so `state`, `error`, `stats` and a final `recv` keep working) until the application has
//! called [`Endpoint::close`] or [`Endpoint::abort`] *and* the TCB is gone (after LAST-ACK,
//! TIME-WAIT ...). A connection that dies on its own (reset, timeout) stays visible as
//! `CLOSED` with its sticky [`ConnectionError`] until the application closes it. Ids are
//! generation-counted: a stale id is refused, never confused with a newer connection.
//!
//! ## Output and timers
//!
//! Segments are built at `poll_transmit` time, after a whole batch of input was processed, so
//! ACKs aggregate (RFC 9293 MUST-58/59). Each connection's earliest deadline sits in one timer
//! heap; `poll_timeout` may report an instant at which nothing turns out to be due (a timer
//! that moved later), never one that is late.
//!
//! ## Call protocol
//!
//! After every input (`on_segment`, `on_icmp_error`, `on_timeout`) and every application call,
//! drain [`Endpoint::poll_transmit`] until `None` and [`Endpoint::poll_event`] until `None`,
//! then sleep until [`Endpoint::poll_timeout`] (or the next packet) and call
//! [`Endpoint::on_timeout`]. Segments given to `on_segment` must already have a valid checksum;
//! `poll_transmit` fills the checksum of what it writes.
//!
//! ```
//! use synack_tcp::{Endpoint, EndpointConfig, ConnConfig, Instant, State};
//! use core::net::SocketAddr;
//! let mut a = Endpoint::new(EndpointConfig::default(), [1; 16], 1);
//! let mut b = Endpoint::new(EndpointConfig::default(), [2; 16], 2);
//! let server: SocketAddr = "10.0.0.2:80".parse().unwrap();
//! let lid = b.listen(server, 16).unwrap();
//! let c = a.connect(Instant::ZERO, "10.0.0.1:0".parse().unwrap(), server, ConnConfig::default())
//!     .unwrap();
//! let mut buf = [0u8; 1600];
//! for _ in 0..3 {
//!     while let Some(t) = a.poll_transmit(Instant::ZERO, &mut buf) {
//!         b.on_segment(Instant::ZERO, t.src.ip(), t.dst.ip(), &t.repr(&buf));
//!     }
//!     while let Some(t) = b.poll_transmit(Instant::ZERO, &mut buf) {
//!         a.on_segment(Instant::ZERO, t.src.ip(), t.dst.ip(), &t.repr(&buf));
//!     }
//! }
//! assert_eq!(a.state(c), Ok(State::Established));
//! assert!(b.accept(lid).is_some());
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(test)]
extern crate std;

mod accecn;
pub mod assembler;
pub mod cc;
pub mod config;
mod conn;
mod control;
mod cookie;
mod emit;
pub mod endpoint;
pub mod error;
pub mod event;
pub mod fastopen;
pub mod gso;
pub mod icmp;
mod id;
pub mod md5;
pub mod pacing;
mod pmtu_cache;
mod ports;
pub mod push;
pub mod rack;
pub mod rate;
pub mod records;
pub mod ring;
pub mod route;
pub mod rtt;
pub mod sack_gen;
pub mod scoreboard;
mod secret;
mod sndbuf;
pub mod state;
pub mod stats;
pub mod time;
mod tuple_map;
pub mod tx_stamp;
pub mod udp_encap;

pub use config::{
    AbortReset, AccEcnConfig, AccEcnOptionPolicy, AckEvery, AckLimit, CongestionControl,
    ConnConfig, EndpointConfig, IpFields, KeepAlive, MtuProbing, PmtudBlackhole, ProbeStyle,
    PushPolicy, ReadWindowUpdate, ReceiveWindow, RecvAccounting, SendAccounting,
};
pub use endpoint::{ConnId, Endpoint, ListenerId, Transmit, TransmitBrief};
pub use error::{
    ConnectError, ConnectionError, InvalidConnection, ListenError, RecvError, SendError,
};
pub use event::{Event, SoftError};
pub use fastopen::FastOpenConfig;
pub use icmp::{IcmpError, IcmpPolicy};
pub use md5::{Md5Counters, Md5Key, Md5KeyError};
pub use route::RouteMetrics;
pub use secret::FourTuple;
pub use state::State;
pub use stats::{ConnStats, DropCounters, ListenCounters};
pub use synack_wire::tcp::OptionLayout;
pub use time::{Duration, Instant};
