//! # synack-wire: the bytes TCP/IP lives in
//!
//! The bottom layer of synack. Zero-copy views over packet buffers (`*Packet<B: AsRef<[u8]>>`)
//! and parsed representations (`*Repr`) with `parse` and `emit`, for Ethernet II, ARP, IPv4,
//! IPv6, ICMPv4, ICMPv6, UDP and TCP with its options; Internet checksums with the pseudo-headers;
//! sequence-number arithmetic; tcpdump-style one-line text.
//!
//! Rules this crate keeps: `no_std`, no `unsafe`, no allocation; once a view has been made with
//! `new_checked`, no accessor panics; malformed input is a typed [`Error`] that says
//! what is wrong, never a panic, an out-of-bounds read or an endless loop.
//!
//! ```text
//!   bytes ──new_checked──▶ TcpPacket<&[u8]> ──TcpRepr::parse──▶ TcpRepr ──emit──▶ bytes
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod arp;
pub mod checksum;
pub mod dump;
pub mod error;
pub mod ethernet;
mod field;
pub mod fuzz;
mod icmp_common;
pub mod icmpv4;
pub mod icmpv6;
pub mod ip;
pub mod ipv4;
pub mod ipv6;
pub mod packet;
pub mod quoted;
pub mod seq;
pub mod tcp;
pub mod udp;
pub mod udp_encap;

pub use arp::{ArpOperation, ArpPacket, ArpRepr};
pub use checksum::ChecksumMode;
pub use dump::{PacketLine, RelativeSeq, TcpDumpLine};
pub use error::{Error, Layer};
pub use ethernet::{EtherType, EthernetAddress, EthernetFrame, EthernetRepr};
pub use icmpv4::{Icmpv4Packet, Icmpv4Repr};
pub use icmpv6::{Icmpv6Packet, Icmpv6Repr};
pub use ip::IpProtocol;
pub use ipv4::{Ipv4Packet, Ipv4Repr};
pub use ipv6::{Ipv6Packet, Ipv6Repr};
pub use packet::{IpHeader, IpPacketRepr, Transport};
pub use quoted::QuotedPacket;
pub use seq::SeqNum;
pub use tcp::{TcpPacket, TcpRepr};
pub use udp::{UdpPacket, UdpRepr};
