//! Devices and device wrappers: in-memory queues, the impaired link, the pcap tap.

pub mod link;
pub mod queue;
pub mod tap;

pub use link::{Frame, IdealPath, Link, LinkEnd, PathModel, PathStats, SimPath};
pub use queue::QueueDevice;
pub use tap::{CaptureError, CaptureFormat, CaptureWriter, Direction, FrameRing, PcapTap};
