//! Devices and device wrappers: in-memory queues, the impaired link and (with the `pcap`
//! feature) the pcap tap, which keeps recent frames in a [`FrameRing`] (re-exported here).

pub mod link;
pub mod queue;
#[cfg(feature = "pcap")]
pub mod tap;

pub use crate::frame_ring::{CapturedFrame, Direction, FrameRing};
pub use link::{Frame, IdealPath, Link, LinkEnd, PathModel, PathStats, SimPath};
pub use queue::QueueDevice;
#[cfg(feature = "pcap")]
pub use tap::{CaptureError, CaptureFormat, CaptureWriter, PcapTap};
