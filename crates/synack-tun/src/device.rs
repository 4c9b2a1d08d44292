//! [`TunDevice`]: the TUN file descriptor as a [`synack_stack::Device`].

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;

use synack_stack::{Device, DeviceCaps, Medium, RxToken, TxToken, TxVerdict, tx_verdict};
use synack_tcp::time::Instant;

use crate::ring::{RxRing, Slot, TxRing};
use crate::sys;

/// Largest IP packet: the read and write buffers have this size so no packet is ever cut,
/// whatever MTU the interface is later given.
const MAX_PACKET: usize = 65_535;
/// Buffer size: the largest packet plus headroom, since writers may reserve room in front of a
/// frame (the interface keeps 40 bytes for either IP header).
const BUF_LEN: usize = MAX_PACKET + 64;
/// Frames per batch in batched mode (each ring has this many slots of [`BUF_LEN`] bytes), and
/// the `max_batch` the device reports then.
pub const BATCH: usize = 64;

/// Counters of what the device did; errors never stop the datapath, they are counted here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TunCounters {
    /// Packets read from the kernel.
    pub rx_packets: u64,
    /// Bytes read from the kernel.
    pub rx_bytes: u64,
    /// Reads that failed with an error other than "would block".
    pub rx_errors: u64,
    /// Packets written to the kernel.
    pub tx_packets: u64,
    /// Bytes written to the kernel.
    pub tx_bytes: u64,
    /// Writes that failed (the packet is dropped, as a full NIC queue would).
    pub tx_errors: u64,
    /// Transmits dropped because the writer asked for a buffer larger than the largest packet,
    /// returned a range outside its buffer, or a frame longer than the MTU.
    pub tx_bad: u64,
    /// Batched mode: [`TunDevice::read_batch`] calls that read at least one packet.
    pub rx_batches: u64,
    /// Batched mode: [`TunDevice::write_batch`] calls that wrote at least one packet.
    pub tx_batches: u64,
}

/// A Linux TUN interface (`IFF_TUN | IFF_NO_PI`), nonblocking.
///
/// Two modes. **Direct** (the default): [`Device::receive`] reads one packet from the kernel
/// and a transmit token writes its packet when consumed; one system call per frame, at the
/// moment the interface asks. **Batched** ([`TunDevice::set_batched`]): the owner calls
/// [`TunDevice::read_batch`] to read up to [`BATCH`] packets ahead, `receive` hands those out,
/// transmit tokens queue their packets, and [`TunDevice::write_batch`] writes the queue; the
/// runtime's driver does both system calls outside the stack's lock.
#[derive(Debug)]
pub struct TunDevice {
    fd: OwnedFd,
    name: String,
    mtu: usize,
    rx_buf: Box<[u8]>,
    tx_buf: Box<[u8]>,
    batched: Option<Rings>,
    counters: TunCounters,
    last_error: Option<io::ErrorKind>,
}

/// The two rings of batched mode.
#[derive(Debug)]
struct Rings {
    rx: RxRing,
    tx: TxRing,
}

impl TunDevice {
    /// Attaches to the TUN interface `name`, creating it when it does not exist, in the calling
    /// thread's network namespace. `name` may hold a `%d` for the kernel to number (`"tun%d"`).
    /// `mtu` is what [`Device::caps`] reports; set the kernel's side with [`crate::config`].
    pub fn open(name: &str, mtu: usize) -> io::Result<TunDevice> {
        let (fd, name) = sys::open_tun(name)?;
        Ok(TunDevice {
            fd,
            name,
            mtu: mtu.min(MAX_PACKET),
            rx_buf: vec![0u8; BUF_LEN].into_boxed_slice(),
            tx_buf: vec![0u8; BUF_LEN].into_boxed_slice(),
            batched: None,
            counters: TunCounters::default(),
            last_error: None,
        })
    }

    /// The interface name the kernel gave.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the device has done so far.
    pub fn counters(&self) -> TunCounters {
        self.counters
    }

    /// The kind of the last read or write error, if any happened.
    pub fn last_error(&self) -> Option<io::ErrorKind> {
        self.last_error
    }

    /// Changes the MTU that [`Device::caps`] reports.
    pub fn set_mtu(&mut self, mtu: usize) {
        self.mtu = mtu.min(MAX_PACKET);
    }

    /// Switches batched mode on or off (see the type's docs). Switching off writes whatever is
    /// queued and drops packets read ahead but not handed out (counted as `rx_errors`).
    pub fn set_batched(&mut self, on: bool) {
        match (on, self.batched.is_some()) {
            (true, false) => {
                self.batched = Some(Rings {
                    rx: RxRing::new(BATCH, BUF_LEN),
                    tx: TxRing::new(BATCH, BUF_LEN),
                });
            }
            (false, true) => {
                self.write_batch();
                if let Some(r) = self.batched.take() {
                    self.counters.rx_errors += r.rx.pending() as u64;
                }
            }
            _ => {}
        }
    }

    /// Whether batched mode is on.
    pub fn is_batched(&self) -> bool {
        self.batched.is_some()
    }

    /// Batched mode: reads packets from the kernel until none is waiting or [`BATCH`] are held
    /// (packets handed out by `receive` free their slots once all are taken). Returns true when
    /// the ring filled up, so more may be waiting. Does nothing in direct mode.
    pub fn read_batch(&mut self) -> bool {
        let Some(rings) = self.batched.as_mut() else { return false };
        let fd = self.fd.as_raw_fd();
        let fill = rings.rx.fill(|slot| sys::read(fd, slot));
        self.counters.rx_packets += fill.frames as u64;
        self.counters.rx_bytes += fill.bytes;
        if fill.frames > 0 {
            self.counters.rx_batches += 1;
        }
        if let Some(e) = fill.error {
            self.counters.rx_errors += 1;
            self.last_error = Some(e.kind());
        }
        fill.full
    }

    /// Batched mode: writes every queued packet to the kernel, in order; returns how many went.
    /// Does nothing in direct mode.
    pub fn write_batch(&mut self) -> usize {
        let Some(rings) = self.batched.as_mut() else { return 0 };
        if rings.tx.queued() == 0 {
            return 0;
        }
        let fd = self.fd.as_raw_fd();
        let flush = rings.tx.flush(|frame| sys::write(fd, frame));
        self.counters.tx_packets += flush.frames as u64;
        self.counters.tx_bytes += flush.bytes;
        self.counters.tx_errors += flush.failed as u64;
        if flush.frames > 0 {
            self.counters.tx_batches += 1;
        }
        if let Some(e) = flush.error {
            self.last_error = Some(e.kind());
        }
        flush.frames
    }

    /// Batched mode: packets read ahead and not yet handed out, and packets queued and not yet
    /// written.
    pub fn batch_pending(&self) -> (usize, usize) {
        self.batched.as_ref().map_or((0, 0), |r| (r.rx.pending(), r.tx.queued()))
    }

    /// Blocks until a packet can be read or `timeout` passes (`None`: no limit). True when
    /// readable. Runtimes with their own poller use the raw descriptor instead.
    pub fn wait_readable(&self, timeout: Option<Duration>) -> io::Result<bool> {
        let ms = match timeout {
            None => -1,
            // Round up so a 300 µs deadline does not become a busy 0 ms poll.
            Some(d) => i32::try_from(d.as_micros().div_ceil(1000)).unwrap_or(i32::MAX),
        };
        sys::poll_readable(self.fd.as_raw_fd(), ms)
    }
}

impl AsRawFd for TunDevice {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for TunDevice {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Receive token: one packet in the device's read buffer.
#[derive(Debug)]
pub struct TunRx<'a> {
    packet: &'a [u8],
}

impl RxToken for TunRx<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.packet)
    }
}

/// Transmit token: a buffer for one packet, written to the kernel when the closure returns
/// (direct mode) or queued for [`TunDevice::write_batch`] (batched mode).
#[derive(Debug)]
pub struct TunTx<'a> {
    sink: Sink<'a>,
    mtu: usize,
    buf: &'a mut [u8],
    counters: &'a mut TunCounters,
    last_error: &'a mut Option<io::ErrorKind>,
}

/// Where a transmit token's packet goes.
#[derive(Debug)]
enum Sink<'a> {
    /// Written at once.
    Write(RawFd),
    /// Queued in the transmit ring.
    Queue(Slot<'a>),
}

impl TxToken for TunTx<'_> {
    fn consume<F>(self, max_len: usize, f: F) -> usize
    where
        F: FnOnce(&mut [u8]) -> core::ops::Range<usize>,
    {
        if max_len > self.buf.len() {
            // Callers keep to the MTU; one that does not gets its closure run on scratch memory
            // and the frame dropped, rather than a panic.
            self.counters.tx_bad += 1;
            let mut scratch = vec![0u8; max_len];
            let _ = f(&mut scratch);
            return 0;
        }
        let buf = &mut self.buf[..max_len];
        let range = f(buf);
        match tx_verdict(&range, buf.len(), self.mtu) {
            TxVerdict::Send => {}
            TxVerdict::Nothing => return 0,
            TxVerdict::BadRange | TxVerdict::Oversize => {
                self.counters.tx_bad += 1;
                return 0;
            }
        }
        let fd = match self.sink {
            Sink::Write(fd) => fd,
            Sink::Queue(slot) => {
                let len = range.len();
                slot.commit(range);
                return len;
            }
        };
        let frame = &buf[range];
        match sys::write(fd, frame) {
            Ok(_) => {
                self.counters.tx_packets += 1;
                self.counters.tx_bytes += frame.len() as u64;
                frame.len()
            }
            Err(e) => {
                self.counters.tx_errors += 1;
                *self.last_error = Some(e.kind());
                0
            }
        }
    }
}

impl Device for TunDevice {
    type RxToken<'a> = TunRx<'a>;
    type TxToken<'a> = TunTx<'a>;

    fn receive(&mut self, _now: Instant) -> Option<TunRx<'_>> {
        if let Some(rings) = self.batched.as_mut() {
            return rings.rx.pop().map(|packet| TunRx { packet });
        }
        match sys::read(self.fd.as_raw_fd(), &mut self.rx_buf) {
            Ok(Some(n)) => {
                self.counters.rx_packets += 1;
                self.counters.rx_bytes += n as u64;
                Some(TunRx { packet: &self.rx_buf[..n] })
            }
            Ok(None) => None,
            Err(e) => {
                self.counters.rx_errors += 1;
                self.last_error = Some(e.kind());
                None
            }
        }
    }

    fn transmit(&mut self, _now: Instant) -> Option<TunTx<'_>> {
        if let Some(rings) = self.batched.as_mut() {
            // Full: the interface stops this poll and the driver writes the batch.
            let (buf, slot) = rings.tx.next_slot()?;
            return Some(TunTx {
                sink: Sink::Queue(slot),
                mtu: self.mtu,
                buf,
                counters: &mut self.counters,
                last_error: &mut self.last_error,
            });
        }
        Some(TunTx {
            sink: Sink::Write(self.fd.as_raw_fd()),
            mtu: self.mtu,
            buf: &mut self.tx_buf,
            counters: &mut self.counters,
            last_error: &mut self.last_error,
        })
    }

    fn caps(&self) -> DeviceCaps {
        let mut caps = DeviceCaps { mtu: self.mtu, medium: Medium::Ip, ..DeviceCaps::default() };
        if let Some(r) = &self.batched {
            caps.max_batch = r.rx.capacity().min(r.tx.capacity());
        }
        caps
    }
}
