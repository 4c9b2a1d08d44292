//! The `Device` trait: how the interface takes frames in and puts frames out.
//!
//! A device hands out tokens instead of buffers. A receive token lends the interface the bytes
//! of one received frame for the duration of a closure; a transmit token lends it a buffer of
//! the requested length to write one frame into. Frames are therefore read and written in the
//! device's own memory (the TUN read buffer, the link's queue slot) and never copied between
//! layers. Wrapping devices (the pcap tap) wrap the tokens and see every frame on its way.
//!
//! ```text
//!   interface ── receive(now) ──▶ RxToken ── consume(|frame| ..) ──▶ IP ingress
//!   interface ── transmit(now) ─▶ TxToken ── consume(max, |buf| range) ─▶ IP egress writes in place
//! ```

use synack_tcp::time::Instant;

/// What a device carries in its frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Medium {
    /// Bare IPv4 or IPv6 packets, no link header (TUN with `IFF_NO_PI`; pcap LINKTYPE_RAW).
    Ip,
}

/// Which checksums the device computes or verifies itself, so the stack can skip them.
///
/// `false` everywhere (the default) means the stack does all checksum work in software.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ChecksumOffload {
    /// The device verified IPv4 header checksums of received frames.
    pub ipv4_rx: bool,
    /// The device fills IPv4 header checksums of transmitted frames.
    pub ipv4_tx: bool,
    /// The device verified TCP checksums of received frames.
    pub tcp_rx: bool,
    /// The device fills TCP checksums of transmitted frames.
    pub tcp_tx: bool,
}

impl ChecksumOffload {
    /// Everything offloaded: used by in-memory links whose frames cannot be corrupted, and by
    /// benchmarks that report the cost of checksums separately.
    pub const ALL: ChecksumOffload =
        ChecksumOffload { ipv4_rx: true, ipv4_tx: true, tcp_rx: true, tcp_tx: true };
}

/// What a device can do; the interface reads it once per poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeviceCaps {
    /// Largest frame the device sends or receives, in bytes (for `Medium::Ip`, the IP MTU).
    pub mtu: usize,
    /// What the frames carry.
    pub medium: Medium,
    /// Checksums done by the device.
    pub checksum: ChecksumOffload,
    /// Most frames worth taking in (or out) per wake-up before the interface lets the engine
    /// act on them; bounds the work one wake-up does.
    pub max_batch: usize,
    /// Largest IP packet the device takes to send when it cuts TCP packets into `mtu`-sized
    /// ones itself (TCP segmentation offload), as [`TxToken::consume_segmented`] asks; 0 when
    /// it does not. Devices with it may also hand in received TCP packets above the MTU
    /// (coalesced by the kernel or by the device).
    pub tso_max: usize,
}

impl Default for DeviceCaps {
    fn default() -> Self {
        DeviceCaps {
            mtu: 1500,
            medium: Medium::Ip,
            checksum: ChecksumOffload::default(),
            max_batch: 64,
            tso_max: 0,
        }
    }
}

/// A token for one received frame.
pub trait RxToken {
    /// Lends the frame's bytes to `f` and returns what `f` returns. The frame is gone after.
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R;
}

/// A token for sending one frame.
pub trait TxToken {
    /// Lends `f` a buffer of `max_len` bytes (at most the device MTU plus whatever headroom the
    /// caller wants); `f` writes a frame anywhere in it and returns where: the device sends
    /// `buf[range]`. An empty range sends nothing. Returns the number of bytes sent.
    ///
    /// Letting the writer choose the start means it can reserve room for the larger IPv6 header,
    /// learn the address family from the engine while the segment is written, and put the IPv4
    /// header just in front, with no copy. A range outside the buffer or longer than the MTU is
    /// dropped and counted by the device, never a panic.
    fn consume<F>(self, max_len: usize, f: F) -> usize
    where
        F: FnOnce(&mut [u8]) -> core::ops::Range<usize>;

    /// [`consume`](Self::consume) for a TCP packet that may be a super-segment: `f` also
    /// returns the payload bytes per wire segment (0: send the packet as it is). A device
    /// with [`DeviceCaps::tso_max`] cuts a packet above the MTU into segments of that size;
    /// the default, for devices without, drops it like any frame above the MTU.
    fn consume_segmented<F>(self, max_len: usize, f: F) -> usize
    where
        Self: Sized,
        F: FnOnce(&mut [u8]) -> (core::ops::Range<usize>, usize),
    {
        self.consume(max_len, |buf| f(buf).0)
    }
}

/// A network device carrying frames of [`DeviceCaps::medium`].
///
/// `now` is the caller's virtual time; devices that model time (the in-memory link) use it,
/// devices backed by the OS (TUN) ignore it, wrappers (the pcap tap) stamp frames with it.
pub trait Device {
    /// The receive token type.
    type RxToken<'a>: RxToken
    where
        Self: 'a;
    /// The transmit token type.
    type TxToken<'a>: TxToken
    where
        Self: 'a;

    /// The next received frame, or `None` when none is ready now.
    fn receive(&mut self, now: Instant) -> Option<Self::RxToken<'_>>;

    /// Room to send one frame, or `None` when the device cannot take one now (queue full).
    fn transmit(&mut self, now: Instant) -> Option<Self::TxToken<'_>>;

    /// The device's capabilities.
    fn caps(&self) -> DeviceCaps;

    /// When the device will next have a frame to hand out without outside help (an in-memory
    /// link's next delivery time); `None` when only an outside event (the OS, the peer) can make
    /// one ready. The driver sleeps no later than this.
    fn poll_at(&self) -> Option<Instant> {
        None
    }

    /// True (once) when the frame the last transmit token took was refused by the device
    /// itself, as a kernel's full queue refuses a write with `ENOBUFS` or `EAGAIN`: a local
    /// refusal the sender should hear about, unlike a loss on the path, which only the peer's
    /// silence reveals. Devices that cannot tell the two apart keep the default, `false`.
    fn take_tx_refused(&mut self) -> bool {
        false
    }

    /// The ring of recent frames, for devices that keep one (the pcap tap), so a runtime can
    /// dump it when a connection is reset.
    fn frame_ring(&self) -> Option<&crate::frame_ring::FrameRing> {
        None
    }
}

/// What a transmit token does with the range a writer returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxVerdict {
    /// Send `buf[range]`.
    Send,
    /// The range is empty: nothing to send.
    Nothing,
    /// The range is reversed or runs past the buffer: drop and count.
    BadRange,
    /// The frame is longer than the MTU: drop and count.
    Oversize,
}

/// Checks a writer's range against the buffer length and the MTU; devices share this rule.
pub fn tx_verdict(range: &core::ops::Range<usize>, buf_len: usize, mtu: usize) -> TxVerdict {
    if range.start > range.end || range.end > buf_len {
        TxVerdict::BadRange
    } else if range.is_empty() {
        TxVerdict::Nothing
    } else if range.len() > mtu {
        TxVerdict::Oversize
    } else {
        TxVerdict::Send
    }
}
