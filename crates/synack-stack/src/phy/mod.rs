//! Devices and device wrappers: in-memory queues, the impaired link, the pcap tap.

pub mod queue;
pub mod tap;

pub use queue::QueueDevice;
pub use tap::{CaptureError, CaptureFormat, CaptureWriter, Direction, FrameRing, PcapTap};
