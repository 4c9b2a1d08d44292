//! [`TunDevice`]: the TUN file descriptor as a [`synack_stack::Device`].

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;

use synack_stack::gso;
use synack_stack::{
    ChecksumOffload, Device, DeviceCaps, Medium, RxToken, TxToken, TxVerdict, tx_verdict,
};
use synack_tcp::time::Instant;

use crate::ring::{Read, RxRing, Slot, TxRing};
use crate::sys;
use crate::vnet::{self, HDR_LEN, RxVerdict, VnetHdr};

/// Largest IP packet: the read and write buffers have this size so no packet is ever cut,
/// whatever MTU the interface is later given.
const MAX_PACKET: usize = 65_535;
/// Buffer size: the largest packet plus headroom, since writers may reserve room in front of a
/// frame (the interface keeps 40 bytes for either IP header).
const BUF_LEN: usize = MAX_PACKET + 64;
/// Frames per batch in batched mode (each ring has this many slots of [`BUF_LEN`] bytes), and
/// the `max_batch` the device reports then.
pub const BATCH: usize = 64;
/// Largest virtio-net header length a handed-over descriptor may have been given
/// (`TUNSETVNETHDRSZ`); synack fills the first [`HDR_LEN`] bytes and zeroes the rest.
const MAX_VNET_LEN: usize = 32;
/// Largest packet synack sends for the kernel to cut (the IPv4 total length field's limit).
const TSO_MAX: usize = 65_535;

/// How to open a TUN device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TunOptions {
    /// Put a virtio-net header on every packet (`IFF_VNET_HDR`): the kernel then finishes
    /// the TCP checksums synack leaves partial and cuts its super-segments, and hands synack
    /// super-segments and partial checksums as far as `TUNSETOFFLOAD` lets it. Falls back to
    /// plain packets, with a log line, where the kernel refuses.
    pub offload: bool,
    /// Receive coalescing: consecutive in-order segments of one flow read in the same batch
    /// reach the stack as one segment (the device verifies their checksums first).
    pub gro: bool,
}

impl Default for TunOptions {
    /// Everything on.
    fn default() -> Self {
        TunOptions { offload: true, gro: true }
    }
}

impl TunOptions {
    /// One plain IP packet per read and write: no virtio-net header, no coalescing.
    pub const PLAIN: TunOptions = TunOptions { offload: false, gro: false };
}

/// What a device does beyond moving plain packets, as the kernel agreed to it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Offloads {
    /// Packets carry a virtio-net header: synack sends partial TCP checksums and
    /// super-segments (up to 64 KiB) and the kernel finishes and cuts them.
    pub vnet_hdr: bool,
    /// The kernel may hand synack packets with partial checksums (`TUN_F_CSUM`).
    pub csum: bool,
    /// The kernel may hand synack IPv4 TCP super-segments (`TUN_F_TSO4`).
    pub tso4: bool,
    /// The kernel may hand synack IPv6 TCP super-segments (`TUN_F_TSO6`).
    pub tso6: bool,
    /// ... with CWR on them (`TUN_F_TSO_ECN`).
    pub tso_ecn: bool,
    /// Consecutive in-order segments of a flow are coalesced before the stack.
    pub gro: bool,
}

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
    /// Received packets appended to the one before (receive coalescing); also counted in
    /// `rx_packets`.
    pub rx_merged: u64,
    /// Received TCP packets dropped because the device found their checksum wrong.
    pub rx_bad_checksum: u64,
    /// Received packets dropped because their virtio-net header asked for something synack
    /// does not take (a UDP super-datagram, a super-segment that is not what it claims).
    pub rx_unsupported: u64,
    /// Received super-segments (packets the kernel marked for segmentation).
    pub rx_super: u64,
    /// Super-segments written for the kernel to cut.
    pub tx_super: u64,
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
    /// Bytes of virtio-net header in front of every packet; 0 without.
    vnet_len: usize,
    offloads: Offloads,
    rx_buf: Box<[u8]>,
    tx_buf: Box<[u8]>,
    batched: Option<Rings>,
    counters: TunCounters,
    last_error: Option<io::ErrorKind>,
    /// The last transmit token's write was refused by the kernel's queue (`ENOBUFS`,
    /// `EAGAIN`); read and cleared by `take_tx_refused`.
    tx_refused: bool,
}

/// The two rings of batched mode.
#[derive(Debug)]
struct Rings {
    rx: RxRing,
    tx: TxRing,
}

impl TunDevice {
    /// Attaches to the TUN interface `name`, creating it when it does not exist, in the calling
    /// thread's network namespace, with every offload the kernel agrees to
    /// ([`TunOptions::default`]). `name` may hold a `%d` for the kernel to number
    /// (`"tun%d"`). `mtu` is what [`Device::caps`] reports; set the kernel's side with
    /// [`crate::config`].
    pub fn open(name: &str, mtu: usize) -> io::Result<TunDevice> {
        TunDevice::open_with(name, mtu, TunOptions::default())
    }

    /// [`open`](Self::open) with a choice of offloads.
    pub fn open_with(name: &str, mtu: usize, opts: TunOptions) -> io::Result<TunDevice> {
        TunDevice::open_one(name, mtu, opts, false)
    }

    /// Opens `queues` queues of one multi-queue interface (`IFF_MULTI_QUEUE`), creating it
    /// when it does not exist: one device per queue, each its own descriptor, to be driven by
    /// its own thread. The kernel spreads what it sends over the queues by flow: a flow goes
    /// to the queue that last wrote a packet of it, a flow not seen for a few seconds to a
    /// queue chosen by a hash of its addresses and ports. Every queue has the offloads of the
    /// first. An existing interface must have been made multi-queue; `name` takes a `%d` as
    /// [`open`](Self::open) does, and all queues attach to the name the first one got.
    pub fn open_queues(
        name: &str,
        mtu: usize,
        opts: TunOptions,
        queues: usize,
    ) -> io::Result<Vec<TunDevice>> {
        if queues == 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "zero queues"));
        }
        let first = TunDevice::open_one(name, mtu, opts, true)?;
        let opts = TunOptions { offload: first.vnet_len > 0, ..opts };
        let name = first.name.clone();
        let mut out = Vec::with_capacity(queues);
        out.push(first);
        for _ in 1..queues {
            out.push(TunDevice::open_one(&name, mtu, opts, true)?);
        }
        Ok(out)
    }

    fn open_one(name: &str, mtu: usize, opts: TunOptions, multi: bool) -> io::Result<TunDevice> {
        let (fd, name) = if opts.offload {
            match sys::open_tun(name, true, multi) {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(
                        "TUN {name}: the kernel refused virtio-net headers ({e}); \
                         running without offloads"
                    );
                    sys::open_tun(name, false, multi)?
                }
            }
        } else {
            sys::open_tun(name, false, multi)?
        };
        let vnet_len = if opts.offload && sys::get_iff(fd.as_raw_fd())?.1 & sys::IFF_VNET_HDR != 0 {
            HDR_LEN
        } else {
            0
        };
        Ok(TunDevice::with_fd(fd, name, mtu, vnet_len, opts.gro))
    }

    /// Takes over a TUN descriptor opened elsewhere (handed over by a VPN service such as
    /// Android's `VpnService`, or by a parent process that opened it with privileges). It
    /// must be a TUN (not TAP) descriptor without the packet-information prefix
    /// (`IFF_NO_PI`). When it was opened with `IFF_VNET_HDR` the device uses the header
    /// (with the header length the descriptor has) and asks for receive offloads as
    /// [`open`](Self::open) does; the descriptor is made nonblocking. A queue of a
    /// multi-queue interface (`IFF_MULTI_QUEUE`) is taken the same way: hand over each
    /// queue's descriptor to its own device.
    pub fn from_fd(fd: OwnedFd, mtu: usize) -> io::Result<TunDevice> {
        let raw = fd.as_raw_fd();
        let (name, flags) = sys::get_iff(raw)?;
        if flags & sys::IFF_TYPE_MASK != 0x0001 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{name}: not a TUN descriptor (IFF flags {flags:#x})"),
            ));
        }
        if flags & sys::IFF_NO_PI == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{name}: descriptor has the packet-information prefix (no IFF_NO_PI)"),
            ));
        }
        let vnet_len = if flags & sys::IFF_VNET_HDR != 0 { sys::vnet_hdr_len(raw)? } else { 0 };
        if vnet_len != 0 && !(HDR_LEN..=MAX_VNET_LEN).contains(&vnet_len) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{name}: virtio-net header length {vnet_len} not supported"),
            ));
        }
        sys::set_nonblocking(raw)?;
        Ok(TunDevice::with_fd(fd, name, mtu, vnet_len, true))
    }

    /// Gives up the descriptor (to hand it to another process, or back to
    /// [`from_fd`](Self::from_fd)); packets read ahead or queued in batched mode are dropped.
    pub fn into_fd(self) -> OwnedFd {
        self.fd
    }

    fn with_fd(fd: OwnedFd, name: String, mtu: usize, vnet_len: usize, gro: bool) -> TunDevice {
        let mut offloads = Offloads { vnet_hdr: vnet_len > 0, gro, ..Offloads::default() };
        if vnet_len > 0 {
            negotiate(fd.as_raw_fd(), &name, &mut offloads);
        }
        TunDevice {
            fd,
            name,
            mtu: mtu.min(MAX_PACKET),
            vnet_len,
            offloads,
            rx_buf: vec![0u8; BUF_LEN].into_boxed_slice(),
            tx_buf: vec![0u8; BUF_LEN].into_boxed_slice(),
            batched: None,
            counters: TunCounters::default(),
            last_error: None,
            tx_refused: false,
        }
    }

    /// True when the descriptor is one queue of a multi-queue interface.
    pub fn is_multi_queue(&self) -> bool {
        sys::get_iff(self.fd.as_raw_fd()).is_ok_and(|(_, f)| f & sys::IFF_MULTI_QUEUE != 0)
    }

    /// Batched mode: offers every packet read ahead and not yet handed out to `take`; those
    /// it takes (returns true for) are dropped from the device, which never hands them out.
    /// A runtime with a stack per queue moves packets of another stack's flows this way.
    /// Returns how many were taken; does nothing in direct mode.
    pub fn divert_rx(&mut self, take: impl FnMut(&[u8]) -> bool) -> usize {
        self.batched.as_mut().map_or(0, |r| r.rx.divert(take))
    }

    /// What the device does beyond plain packets.
    pub fn offloads(&self) -> Offloads {
        self.offloads
    }

    /// Turns receive coalescing on or off.
    pub fn set_gro(&mut self, on: bool) {
        self.offloads.gro = on;
    }

    /// True when the device verifies received TCP checksums itself (or trusts the kernel's
    /// word for them), so the stack need not.
    fn checks_tcp(&self) -> bool {
        self.offloads.vnet_hdr || self.offloads.gro
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
        let verify = self.checks_tcp();
        let gro = self.offloads.gro;
        let Some(rings) = self.batched.as_mut() else { return false };
        let fd = self.fd.as_raw_fd();
        let (vnet_len, counters) = (self.vnet_len, &mut self.counters);
        let mut merge = |prev: &mut [u8], r: std::ops::Range<usize>, cur: &[u8]| {
            gso::coalesce(&mut prev[r.start..], r.len(), cur).map(|n| r.start..r.start + n)
        };
        let fill = rings.rx.fill(
            |slot| read_frame(fd, slot, vnet_len, verify, counters),
            if gro { Some(&mut merge) } else { None },
        );
        self.counters.rx_packets += fill.frames as u64;
        self.counters.rx_bytes += fill.bytes;
        self.counters.rx_merged += fill.merged as u64;
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
        let (fd, vnet_len) = (self.fd.as_raw_fd(), self.vnet_len);
        let flush = rings.tx.flush(|hdr, frame| write_frame(fd, vnet_len, hdr, frame));
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
    /// Virtio-net header length; 0 without one.
    vnet_len: usize,
    buf: &'a mut [u8],
    counters: &'a mut TunCounters,
    last_error: &'a mut Option<io::ErrorKind>,
    refused: &'a mut bool,
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
        self.consume_segmented(max_len, |buf| (f(buf), 0))
    }

    fn consume_segmented<F>(self, max_len: usize, f: F) -> usize
    where
        F: FnOnce(&mut [u8]) -> (core::ops::Range<usize>, usize),
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
        let (range, cut) = f(buf);
        // Only a device with virtio-net headers takes super-segments to cut.
        let limit = if cut > 0 && self.vnet_len > 0 { TSO_MAX.max(self.mtu) } else { self.mtu };
        match tx_verdict(&range, buf.len(), limit) {
            TxVerdict::Send => {}
            TxVerdict::Nothing => return 0,
            TxVerdict::BadRange | TxVerdict::Oversize => {
                self.counters.tx_bad += 1;
                return 0;
            }
        }
        let frame = &mut buf[range.clone()];
        let hdr = if self.vnet_len > 0 {
            let h = vnet::prepare_tx(frame, cut, true);
            if h.gso_type != vnet::GSO_NONE {
                self.counters.tx_super += 1;
            }
            h.to_bytes()
        } else {
            [0; HDR_LEN]
        };
        let fd = match self.sink {
            Sink::Write(fd) => fd,
            Sink::Queue(slot) => {
                let len = range.len();
                slot.commit(range, hdr);
                return len;
            }
        };
        match write_frame(fd, self.vnet_len, &hdr, frame) {
            Ok(_) => {
                self.counters.tx_packets += 1;
                self.counters.tx_bytes += frame.len() as u64;
                frame.len()
            }
            Err(e) => {
                self.counters.tx_errors += 1;
                *self.last_error = Some(e.kind());
                *self.refused = is_queue_refusal(&e);
                0
            }
        }
    }
}

/// Reads one packet into `slot` and settles it: the virtio-net header (when there is one) is
/// honoured and stripped, and TCP checksums are verified when `verify_tcp` and the kernel did
/// not vouch for them. Dropped packets are counted in `counters`.
fn read_frame(
    fd: RawFd,
    slot: &mut [u8],
    vnet_len: usize,
    verify_tcp: bool,
    counters: &mut TunCounters,
) -> io::Result<Read> {
    let Some(n) = sys::read(fd, slot)? else { return Ok(Read::Dry) };
    let (hdr, frame_at) = if vnet_len > 0 {
        match VnetHdr::parse(&slot[..n]) {
            Some(h) if n >= vnet_len => (h, vnet_len),
            _ => {
                counters.rx_errors += 1;
                return Ok(Read::Dropped);
            }
        }
    } else {
        (VnetHdr::default(), 0)
    };
    match vnet::settle_rx(&hdr, &mut slot[frame_at..n], verify_tcp) {
        RxVerdict::Deliver => {
            if hdr.gso_type != vnet::GSO_NONE {
                counters.rx_super += 1;
            }
            Ok(Read::Frame(frame_at..n))
        }
        RxVerdict::BadChecksum => {
            counters.rx_bad_checksum += 1;
            Ok(Read::Dropped)
        }
        RxVerdict::Unsupported => {
            counters.rx_unsupported += 1;
            Ok(Read::Dropped)
        }
    }
}

/// Writes one packet, behind its virtio-net header when the device has one.
/// A write the kernel refused because the device's queue is full (the packet was dropped
/// before it left), as opposed to a broken device.
fn is_queue_refusal(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock || e.raw_os_error() == Some(libc::ENOBUFS)
}

fn write_frame(fd: RawFd, vnet_len: usize, hdr: &[u8; HDR_LEN], frame: &[u8]) -> io::Result<usize> {
    if vnet_len == 0 {
        return sys::write(fd, frame);
    }
    let mut h = [0u8; MAX_VNET_LEN];
    h[..HDR_LEN].copy_from_slice(hdr);
    sys::write2(fd, &h[..vnet_len], frame)
}

/// Asks the kernel for receive offloads, most first, and records what it took; every
/// refusal is logged.
fn negotiate(fd: RawFd, name: &str, got: &mut Offloads) {
    let csum = libc::TUN_F_CSUM;
    let tso = csum | libc::TUN_F_TSO4 | libc::TUN_F_TSO6;
    let tries = [
        (tso | libc::TUN_F_TSO_ECN, "checksum, TSO4, TSO6, TSO-ECN"),
        (tso, "checksum, TSO4, TSO6"),
        (csum, "checksum"),
    ];
    for (flags, what) in tries {
        match sys::set_offload(fd, flags) {
            Ok(()) => {
                got.csum = true;
                got.tso4 = flags & libc::TUN_F_TSO4 != 0;
                got.tso6 = flags & libc::TUN_F_TSO6 != 0;
                got.tso_ecn = flags & libc::TUN_F_TSO_ECN != 0;
                return;
            }
            Err(e) => tracing::warn!("TUN {name}: the kernel refused offloads ({what}): {e}"),
        }
    }
    tracing::warn!("TUN {name}: no receive offloads; packets arrive as the wire carries them");
}

impl Device for TunDevice {
    type RxToken<'a> = TunRx<'a>;
    type TxToken<'a> = TunTx<'a>;

    fn receive(&mut self, _now: Instant) -> Option<TunRx<'_>> {
        let verify = self.checks_tcp();
        if let Some(rings) = self.batched.as_mut() {
            return rings.rx.pop().map(|packet| TunRx { packet });
        }
        let fd = self.fd.as_raw_fd();
        loop {
            match read_frame(fd, &mut self.rx_buf, self.vnet_len, verify, &mut self.counters) {
                Ok(Read::Frame(r)) => {
                    self.counters.rx_packets += 1;
                    self.counters.rx_bytes += r.len() as u64;
                    return Some(TunRx { packet: &self.rx_buf[r] });
                }
                Ok(Read::Dropped) => continue,
                Ok(Read::Dry) => return None,
                Err(e) => {
                    self.counters.rx_errors += 1;
                    self.last_error = Some(e.kind());
                    return None;
                }
            }
        }
    }

    fn transmit(&mut self, _now: Instant) -> Option<TunTx<'_>> {
        self.tx_refused = false;
        if let Some(rings) = self.batched.as_mut() {
            // Full: the interface stops this poll and the driver writes the batch.
            let (buf, slot) = rings.tx.next_slot()?;
            return Some(TunTx {
                sink: Sink::Queue(slot),
                mtu: self.mtu,
                vnet_len: self.vnet_len,
                buf,
                counters: &mut self.counters,
                last_error: &mut self.last_error,
                refused: &mut self.tx_refused,
            });
        }
        Some(TunTx {
            sink: Sink::Write(self.fd.as_raw_fd()),
            mtu: self.mtu,
            vnet_len: self.vnet_len,
            buf: &mut self.tx_buf,
            counters: &mut self.counters,
            last_error: &mut self.last_error,
            refused: &mut self.tx_refused,
        })
    }

    fn take_tx_refused(&mut self) -> bool {
        core::mem::take(&mut self.tx_refused)
    }

    fn caps(&self) -> DeviceCaps {
        let checksum = ChecksumOffload {
            tcp_rx: self.checks_tcp(),
            tcp_tx: self.vnet_len > 0,
            ..ChecksumOffload::default()
        };
        let tso_max = if self.vnet_len > 0 { TSO_MAX } else { 0 };
        let mut caps = DeviceCaps {
            mtu: self.mtu,
            medium: Medium::Ip,
            checksum,
            tso_max,
            ..DeviceCaps::default()
        };
        if let Some(r) = &self.batched {
            caps.max_batch = r.rx.capacity().min(r.tx.capacity());
        }
        caps
    }
}
