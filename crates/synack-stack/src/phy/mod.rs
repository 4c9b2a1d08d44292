//! Devices and device wrappers: in-memory queues, the impaired link, the frame ring and (with
//! the `pcap` feature) the pcap tap.

pub mod link;
pub mod queue;
pub mod ring;
#[cfg(feature = "pcap")]
pub mod tap;

pub use link::{Frame, IdealPath, Link, LinkEnd, PathModel, PathStats, SimPath};
pub use queue::QueueDevice;
pub use ring::{CapturedFrame, Direction, FrameRing};
#[cfg(feature = "pcap")]
pub use tap::{CaptureError, CaptureFormat, CaptureWriter, PcapTap};
