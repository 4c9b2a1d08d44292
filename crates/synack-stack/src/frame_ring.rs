//! [`FrameRing`]: the last frames a device passed, kept in memory (by the pcap tap,
//! `phy::PcapTap`) so they can be looked at or written out when something goes wrong. It is
//! data only, beside the [`Device`](crate::device::Device) trait that names it and the devices
//! that fill it.

use std::collections::VecDeque;

use synack_tcp::time::Instant;

/// Which way a frame went through the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Received from the device.
    In,
    /// Transmitted to the device.
    Out,
}

/// One frame kept by a [`FrameRing`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedFrame {
    /// When the tap saw it.
    pub at: Instant,
    /// Which way it went.
    pub direction: Direction,
    /// Its bytes.
    pub data: Vec<u8>,
}

/// The last frames seen, bounded both in count and in bytes.
///
/// Buffers of evicted frames are reused for new ones, so a full ring records without
/// allocating.
#[derive(Debug, Clone)]
pub struct FrameRing {
    frames: VecDeque<CapturedFrame>,
    max_frames: usize,
    max_bytes: usize,
    bytes: usize,
    recorded: u64,
}

impl FrameRing {
    /// A ring keeping at most `max_frames` frames and `max_bytes` bytes of frame data (whichever
    /// bound is hit first evicts the oldest). A zero bound keeps nothing.
    pub fn new(max_frames: usize, max_bytes: usize) -> Self {
        FrameRing {
            frames: VecDeque::with_capacity(max_frames.min(4096)),
            max_frames,
            max_bytes,
            bytes: 0,
            recorded: 0,
        }
    }

    /// Records a frame, evicting the oldest ones to make room.
    pub fn push(&mut self, at: Instant, direction: Direction, frame: &[u8]) {
        self.recorded += 1;
        if self.max_frames == 0 || frame.len() > self.max_bytes {
            return;
        }
        let mut spare = None;
        while self.frames.len() >= self.max_frames || self.bytes + frame.len() > self.max_bytes {
            match self.frames.pop_front() {
                Some(old) => {
                    self.bytes -= old.data.len();
                    spare = Some(old.data);
                }
                None => break,
            }
        }
        let mut data = spare.unwrap_or_default();
        data.clear();
        data.extend_from_slice(frame);
        self.bytes += data.len();
        self.frames.push_back(CapturedFrame { at, direction, data });
    }

    /// Frames held, oldest first.
    pub fn frames(&self) -> impl Iterator<Item = &CapturedFrame> {
        self.frames.iter()
    }

    /// Number of frames held.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// True when no frame is held.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Frames recorded since creation, including those evicted or too large to keep.
    pub fn recorded(&self) -> u64 {
        self.recorded
    }

    /// Forgets every frame.
    pub fn clear(&mut self) {
        self.frames.clear();
        self.bytes = 0;
    }
}
