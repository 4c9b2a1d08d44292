//! The pcap tap: a device wrapper that records every frame in and out.
//!
//! [`PcapTap`] wraps any [`Device`] and copies each frame it passes into two places: an
//! optional capture file ([`CaptureWriter`], pcap or pcapng, LINKTYPE_RAW for IP devices) and an
//! in-memory [`FrameRing`] holding the last N frames, which can be written out later (on demand,
//! or when a connection is reset and someone wants to see how it got there). The wrapped tokens
//! record the frame inside the inner token's closure, so the tap adds one copy into the ring and
//! one write to the file, and nothing on the path between device and interface.
//!
//! A device with segmentation offload carries TCP super-segments of up to 64 KiB; the tap
//! records them as the wire carries them, cut into MTU-sized frames with their own headers
//! and checksums ([`crate::gso::split`]), while the interface still gets them whole.
//!
//! A failing file write never fails the datapath: the tap stops writing the file, keeps the
//! error for [`PcapTap::capture_error`], and the ring goes on recording.

use std::borrow::Cow;
use std::fmt;
use std::io::Write;
use std::time::Duration;

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::{DataLink, TsResolution};
use synack_tcp::time::Instant;

use crate::device::{Device, DeviceCaps, Medium, RxToken, TxToken, TxVerdict, tx_verdict};
use crate::frame_ring::{Direction, FrameRing};
use crate::gso::{self, TcpFrame};

/// File format for captures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaptureFormat {
    /// Classic libpcap format, microsecond timestamps.
    Pcap,
    /// pcapng, nanosecond timestamps, with the direction of each frame in its flags.
    PcapNg,
}

/// Writing a capture failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum CaptureError {
    /// The underlying writer failed, or pcap-file refused a block.
    Write(pcap_file::PcapError),
    /// The medium has no pcap link type we know.
    UnsupportedMedium(Medium),
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureError::Write(e) => write!(f, "writing capture: {e}"),
            CaptureError::UnsupportedMedium(m) => write!(f, "no pcap link type for medium {m:?}"),
        }
    }
}

impl std::error::Error for CaptureError {}

impl From<pcap_file::PcapError> for CaptureError {
    fn from(e: pcap_file::PcapError) -> Self {
        CaptureError::Write(e)
    }
}

fn datalink(medium: Medium) -> DataLink {
    match medium {
        Medium::Ip => DataLink::RAW,
    }
}

/// The snapshot length written into headers: frames are never cut.
const SNAPLEN: u32 = 262_144;

enum Inner<W: Write> {
    Pcap(PcapWriter<W>),
    PcapNg(PcapNgWriter<W>),
}

/// A pcap or pcapng file being written.
///
/// Frame times are the stack's [`Instant`]s placed after `origin`, the wall-clock time (since
/// the Unix epoch) that `Instant::ZERO` stands for; tests pass `Duration::ZERO` for files that
/// start at 1970 and compare byte for byte across runs.
pub struct CaptureWriter<W: Write> {
    inner: Inner<W>,
    origin: Duration,
}

impl<W: Write> fmt::Debug for CaptureWriter<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.inner {
            Inner::Pcap(_) => "pcap",
            Inner::PcapNg(_) => "pcapng",
        };
        f.debug_struct("CaptureWriter")
            .field("format", &kind)
            .field("origin", &self.origin)
            .finish()
    }
}

impl<W: Write> CaptureWriter<W> {
    /// Starts a capture of `medium` frames on `writer`, writing the file header now.
    pub fn new(
        writer: W,
        format: CaptureFormat,
        medium: Medium,
        origin: Duration,
    ) -> Result<Self, CaptureError> {
        let link = datalink(medium);
        let inner = match format {
            CaptureFormat::Pcap => {
                let header = PcapHeader {
                    datalink: link,
                    snaplen: SNAPLEN,
                    ts_resolution: TsResolution::MicroSecond,
                    ..PcapHeader::default()
                };
                Inner::Pcap(PcapWriter::with_header(writer, header)?)
            }
            CaptureFormat::PcapNg => {
                let mut w = PcapNgWriter::new(writer)?;
                // pcap-file writes enhanced-packet timestamps in nanoseconds, so the interface
                // must say so (if_tsresol = 9), or readers would take them as microseconds.
                let idb = InterfaceDescriptionBlock {
                    linktype: link,
                    snaplen: SNAPLEN,
                    options: vec![InterfaceDescriptionOption::IfTsResol(9)],
                };
                w.write_pcapng_block(idb)?;
                Inner::PcapNg(w)
            }
        };
        Ok(CaptureWriter { inner, origin })
    }

    /// Appends one frame seen at `at` going `dir`.
    pub fn write_frame(
        &mut self,
        at: Instant,
        dir: Direction,
        frame: &[u8],
    ) -> Result<(), CaptureError> {
        let ts = self.origin + Duration::from_micros(at.as_micros());
        let len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        match &mut self.inner {
            Inner::Pcap(w) => {
                w.write_packet(&PcapPacket::new(ts, len, frame))?;
            }
            Inner::PcapNg(w) => {
                // pcapng epb_flags bits 0-1: 1 inbound, 2 outbound.
                let flags = match dir {
                    Direction::In => 1,
                    Direction::Out => 2,
                };
                let epb = EnhancedPacketBlock {
                    interface_id: 0,
                    timestamp: ts,
                    original_len: len,
                    data: Cow::Borrowed(frame),
                    options: vec![EnhancedPacketOption::Flags(flags)],
                };
                w.write_pcapng_block(epb)?;
            }
        }
        Ok(())
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> Result<(), CaptureError> {
        let r = match &mut self.inner {
            Inner::Pcap(w) => flush_pcap(w),
            Inner::PcapNg(w) => w.get_mut().flush(),
        };
        r.map_err(|e| CaptureError::Write(pcap_file::PcapError::IoError(e)))
    }

    /// Finishes the capture and returns the writer (flushed).
    pub fn into_inner(mut self) -> Result<W, CaptureError> {
        self.flush()?;
        Ok(match self.inner {
            Inner::Pcap(w) => w.into_writer(),
            Inner::PcapNg(w) => w.into_inner(),
        })
    }
}

// PcapWriter 2.x has no get_mut; it writes straight through, so there is nothing to flush
// inside it, and the caller's writer is flushed when taken back with `into_inner`.
fn flush_pcap<W: Write>(_w: &mut PcapWriter<W>) -> std::io::Result<()> {
    Ok(())
}

impl FrameRing {
    /// Writes the held frames, oldest first, as a complete capture file on `writer`.
    pub fn dump<W: Write>(
        &self,
        writer: W,
        format: CaptureFormat,
        medium: Medium,
        origin: Duration,
    ) -> Result<W, CaptureError> {
        let mut w = CaptureWriter::new(writer, format, medium, origin)?;
        for f in self.frames() {
            w.write_frame(f.at, f.direction, &f.data)?;
        }
        w.into_inner()
    }
}

/// Where a tap puts frames: a file (until it fails) and the ring.
struct Sink<W: Write> {
    file: Option<CaptureWriter<W>>,
    error: Option<CaptureError>,
    ring: FrameRing,
    /// Where super-segments are cut for recording.
    scratch: Vec<u8>,
}

impl<W: Write> Sink<W> {
    /// Records `frame` as a wire would carry it: a TCP packet above `mtu` (a super-segment of
    /// a device with segmentation offload) is cut into segments of `segment_size` payload
    /// bytes, or for a received one (whose segment size the device does not say) of as many
    /// as fit the MTU.
    fn record_wire(
        &mut self,
        at: Instant,
        dir: Direction,
        frame: &[u8],
        mtu: usize,
        segment_size: usize,
    ) {
        if frame.len() <= mtu {
            return self.record(at, dir, frame);
        }
        let size = match segment_size {
            0 => TcpFrame::parse(frame).map_or(0, |f| mtu.saturating_sub(f.headers())),
            n => n,
        };
        let mut scratch = core::mem::take(&mut self.scratch);
        if gso::split(frame, size, &mut scratch, |piece| self.record(at, dir, piece)).is_err() {
            self.record(at, dir, frame);
        }
        self.scratch = scratch;
    }

    fn record(&mut self, at: Instant, dir: Direction, frame: &[u8]) {
        if let Some(file) = &mut self.file
            && let Err(e) = file.write_frame(at, dir, frame)
        {
            self.file = None;
            self.error = Some(e);
        }
        self.ring.push(at, dir, frame);
    }
}

/// A device wrapper recording every frame to a capture file and a ring; see the module docs.
pub struct PcapTap<D, W: Write> {
    inner: D,
    sink: Sink<W>,
}

impl<D: fmt::Debug, W: Write> fmt::Debug for PcapTap<D, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PcapTap")
            .field("inner", &self.inner)
            .field("file", &self.sink.file)
            .field("error", &self.sink.error)
            .field("ring_len", &self.sink.ring.len())
            .finish()
    }
}

impl<D: Device, W: Write> PcapTap<D, W> {
    /// Wraps `inner`, writing to `file` when given and keeping the last frames in `ring`.
    pub fn new(inner: D, file: Option<CaptureWriter<W>>, ring: FrameRing) -> Self {
        PcapTap { inner, sink: Sink { file, error: None, ring, scratch: Vec::new() } }
    }

    /// The wrapped device.
    pub fn inner(&self) -> &D {
        &self.inner
    }

    /// The wrapped device, mutably.
    pub fn inner_mut(&mut self) -> &mut D {
        &mut self.inner
    }

    /// The ring of recent frames.
    pub fn ring(&self) -> &FrameRing {
        &self.sink.ring
    }

    /// The ring of recent frames, mutably (to clear it).
    pub fn ring_mut(&mut self) -> &mut FrameRing {
        &mut self.sink.ring
    }

    /// Why the capture file stopped being written, if it did.
    pub fn capture_error(&self) -> Option<&CaptureError> {
        self.sink.error.as_ref()
    }

    /// Flushes the capture file.
    pub fn flush(&mut self) -> Result<(), CaptureError> {
        match &mut self.sink.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }

    /// Writes the ring's frames to `writer` as a capture file (the "dump on reset" path).
    pub fn dump_ring<W2: Write>(
        &self,
        writer: W2,
        format: CaptureFormat,
        origin: Duration,
    ) -> Result<W2, CaptureError> {
        self.sink.ring.dump(writer, format, self.inner.caps().medium, origin)
    }

    /// Unwraps into the device and the capture writer (if still writing).
    pub fn into_parts(self) -> (D, Option<CaptureWriter<W>>) {
        (self.inner, self.sink.file)
    }
}

/// Receive token of [`PcapTap`].
pub struct TapRx<'a, T, W: Write> {
    inner: T,
    sink: &'a mut Sink<W>,
    now: Instant,
    mtu: usize,
}

impl<T: RxToken, W: Write> RxToken for TapRx<'_, T, W> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        let TapRx { inner, sink, now, mtu } = self;
        inner.consume(|frame| {
            sink.record_wire(now, Direction::In, frame, mtu, 0);
            f(frame)
        })
    }
}

/// Transmit token of [`PcapTap`].
pub struct TapTx<'a, T, W: Write> {
    inner: T,
    sink: &'a mut Sink<W>,
    now: Instant,
    mtu: usize,
    tso_max: usize,
}

impl<T: TxToken, W: Write> TxToken for TapTx<'_, T, W> {
    fn consume<F>(self, max_len: usize, f: F) -> usize
    where
        F: FnOnce(&mut [u8]) -> core::ops::Range<usize>,
    {
        let TapTx { inner, sink, now, mtu, .. } = self;
        inner.consume(max_len, |buf| {
            let range = f(buf);
            // Record only what the device will send.
            if tx_verdict(&range, buf.len(), mtu) == TxVerdict::Send {
                sink.record(now, Direction::Out, &buf[range.clone()]);
            }
            range
        })
    }

    fn consume_segmented<F>(self, max_len: usize, f: F) -> usize
    where
        F: FnOnce(&mut [u8]) -> (core::ops::Range<usize>, usize),
    {
        let TapTx { inner, sink, now, mtu, tso_max } = self;
        inner.consume_segmented(max_len, |buf| {
            let (range, cut) = f(buf);
            let limit = if cut > 0 { tso_max.max(mtu) } else { mtu };
            if tx_verdict(&range, buf.len(), limit) == TxVerdict::Send {
                sink.record_wire(now, Direction::Out, &buf[range.clone()], mtu, cut);
            }
            (range, cut)
        })
    }
}

impl<D: Device, W: Write> Device for PcapTap<D, W> {
    type RxToken<'a>
        = TapRx<'a, D::RxToken<'a>, W>
    where
        Self: 'a;
    type TxToken<'a>
        = TapTx<'a, D::TxToken<'a>, W>
    where
        Self: 'a;

    fn receive(&mut self, now: Instant) -> Option<Self::RxToken<'_>> {
        let mtu = self.inner.caps().mtu;
        let PcapTap { inner, sink } = self;
        inner.receive(now).map(|t| TapRx { inner: t, sink, now, mtu })
    }

    fn transmit(&mut self, now: Instant) -> Option<Self::TxToken<'_>> {
        let caps = self.inner.caps();
        let (mtu, tso_max) = (caps.mtu, caps.tso_max);
        let PcapTap { inner, sink } = self;
        inner.transmit(now).map(|t| TapTx { inner: t, sink, now, mtu, tso_max })
    }

    fn caps(&self) -> DeviceCaps {
        self.inner.caps()
    }

    fn poll_at(&self) -> Option<Instant> {
        self.inner.poll_at()
    }

    fn take_tx_refused(&mut self) -> bool {
        self.inner.take_tx_refused()
    }

    fn frame_ring(&self) -> Option<&FrameRing> {
        Some(&self.sink.ring)
    }
}

/// Convenience for callers that only want the ring: a tap with no file.
pub type RingTap<D> = PcapTap<D, std::io::Sink>;

impl<D: Device> PcapTap<D, std::io::Sink> {
    /// A tap that keeps only the in-memory ring.
    pub fn ring_only(inner: D, ring: FrameRing) -> Self {
        PcapTap::new(inner, None, ring)
    }
}
