//! # synack-stack: the IP layer and devices around the TCP engine
//!
//! Interface (IPv4/IPv6 in and out, ICMP, routes), the [`Device`](device::Device) trait, the
//! in-memory link with impairments, the pcap tap and the [`FrameRing`](frame_ring::FrameRing)
//! of recent frames it keeps.
//!
//! ```text
//!   synack (runtime driver) ── Interface::poll(now, &mut device, &mut tcp)
//!                                   │            ▲
//!                         RxToken   ▼            │ TxToken
//!   Device: TUN (synack-tun) | Link (synack-netsim) | QueueDevice, wrapped by PcapTap
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod device;
pub mod frame_ring;
pub mod gso;
pub mod iface;
pub mod phy;
pub mod signal;

pub use device::{
    ChecksumOffload, Device, DeviceCaps, Medium, RxToken, TxToken, TxVerdict, tx_verdict,
};
pub use iface::{
    Counters, DropReason, IcmpError, IcmpErrorKind, Interface, InterfaceConfig, IpCidr, PollResult,
    Route, SegmentMeta, SegmentOut, TcpLayer,
};
pub use signal::Signal;
