//! [`TunDevice`]: the TUN file descriptor as a [`synack_stack::Device`].

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;

use synack_stack::gso;
use synack_stack::{
    ChecksumOffload, Device, DeviceCaps, Medium, RxToken, TxToken, TxVerdict, tx_verdict,
};
use synack_tcp::time::Instant;

use crate::ring::{Fill, Flush, Read, RxRing, Slot, TxRing};
use crate::sys;
use crate::uring::Uring;
use crate::vnet::{self, HDR_LEN, RxVerdict, VnetHdr};
use crate::writer::{Report, Writer};

/// Largest IP packet: the read and write buffers have this size so no packet is ever cut,
/// whatever MTU the interface is later given.
const MAX_PACKET: usize = 65_535;
/// Buffer size: the largest packet plus headroom, since writers may reserve room in front of a
/// frame (the interface keeps 40 bytes for either IP header).
pub(crate) const BUF_LEN: usize = MAX_PACKET + 64;
/// Frames per batch in batched mode (each ring has this many slots of [`BUF_LEN`] bytes), and
/// the `max_batch` the device reports then.
pub const BATCH: usize = 64;
/// Largest virtio-net header length a handed-over descriptor may have been given
/// (`TUNSETVNETHDRSZ`); synack fills the first [`HDR_LEN`] bytes and zeroes the rest.
pub(crate) const MAX_VNET_LEN: usize = 32;
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
    /// Batched mode does its reads and writes through io_uring, a whole batch per
    /// `io_uring_enter`, where the kernel allows it; off (or where io_uring is missing,
    /// switched off or filtered, with a log line) it makes one `read` or `write` per packet.
    /// The environment variable `SYNACK_TUN_IO_URING=0` turns it off for every device of the
    /// process (to compare the two, or to run a program's tests on the plain path).
    pub io_uring: bool,
    /// Batched mode writes through a thread of the device's own: `write_batch` hands the
    /// queued frames over and returns at once, so the kernel's receive path for them (which
    /// a write to a TUN runs in the writer's thread) runs beside the caller's next batch
    /// instead of between batches. Worth it with a core to spare and plain packets; off,
    /// `write_batch` writes before it returns.
    pub tx_thread: bool,
}

impl Default for TunOptions {
    /// Offloads, coalescing and io_uring on; no writer thread (with super-segments a batch
    /// is a few large writes, which cost the kernel too little to be worth handing over).
    fn default() -> Self {
        TunOptions { offload: true, gro: true, io_uring: true, tx_thread: false }
    }
}

impl TunOptions {
    /// Plain IP packets: no virtio-net header, no coalescing (io_uring where it works, and a
    /// writer thread: the kernel's receive path then runs per 1500-byte packet).
    pub const PLAIN: TunOptions =
        TunOptions { offload: false, gro: false, io_uring: true, tx_thread: true };

    /// These options with io_uring on or off.
    pub const fn with_io_uring(self, on: bool) -> TunOptions {
        TunOptions { io_uring: on, ..self }
    }

    /// These options with the writer thread on or off.
    pub const fn with_tx_thread(self, on: bool) -> TunOptions {
        TunOptions { tx_thread: on, ..self }
    }
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
    /// Batched mode through io_uring: `io_uring_enter` calls made (each carries a whole
    /// batch of reads and writes).
    pub uring_enters: u64,
    /// Batched mode with a writer thread: batches handed to it (the rest were written by
    /// the caller).
    pub tx_handed: u64,
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
    /// Batched mode is to use io_uring where the kernel allows.
    want_uring: bool,
    /// Batched mode is to write through a thread of its own.
    want_tx_thread: bool,
}

/// The two rings of batched mode.
#[derive(Debug)]
struct Rings {
    rx: RxRing,
    tx: TxRing,
    /// Reads and writes through io_uring; `None`: one system call per packet.
    uring: Option<Uring>,
    /// Each queued frame's virtio-net header, zero-padded to the descriptor's header length,
    /// as the io_uring writes send it.
    heads: Vec<[u8; MAX_VNET_LEN]>,
    /// Reads to submit next: enough for what the last batch found, so an idle device does
    /// not make the kernel try a whole ring of reads on an empty queue every round.
    rx_want: usize,
    /// The thread that writes the transmit ring's frames, when there is one.
    writer: Option<Writer>,
    /// Frames were read ahead with the last writes, and the driver goes round again at once:
    /// the next `read_batch` need not read unless that read-ahead filled every read.
    ahead: Option<bool>,
}

/// The environment variable, and the value, that turn io_uring off for the process.
const NO_URING_ENV: (&str, &str) = ("SYNACK_TUN_IO_URING", "0");

/// With a writer thread, a batch of this many frames or more is handed over; a smaller one,
/// when no batch is in flight, is written at once by the caller. What a write costs the
/// kernel goes mostly by the packet (its IP and TCP input): a handful of ACKs, or of 64 KiB
/// super-segments (a copy each, which another core would make from a cold cache), costs
/// less written at once than handed to another thread and woken for.
const HAND_OVER_FRAMES: usize = 16;

/// How long [`attach`] waits for an interface to be let go, in steps of [`BUSY_STEP`].
const BUSY_STEPS: u32 = 50;
const BUSY_STEP: Duration = Duration::from_millis(10);

/// [`sys::open_tun`], waiting up to half a second while the interface is busy: a descriptor
/// an io_uring instance held (a registered file) is let go by the kernel shortly after its
/// process ends, not at once, so a program restarted on the same interface finds it busy for
/// a few milliseconds.
fn attach(name: &str, vnet_hdr: bool, multi: bool) -> io::Result<(OwnedFd, String)> {
    let mut tries = 0;
    loop {
        match sys::open_tun(name, vnet_hdr, multi) {
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && tries < BUSY_STEPS => {
                tries += 1;
                std::thread::sleep(BUSY_STEP);
            }
            r => return r,
        }
    }
}

/// True unless the environment turns io_uring off for the process.
fn uring_allowed() -> bool {
    std::env::var_os(NO_URING_ENV.0).is_none_or(|v| v != NO_URING_ENV.1)
}

/// Fewest reads submitted in one batch.
const MIN_READS: usize = 4;

impl Rings {
    fn new(dev: &OwnedFd, name: &str, uring: bool, tx_thread: Option<usize>) -> Rings {
        let fd = dev.as_raw_fd();
        let writer = tx_thread.and_then(|vnet_len| {
            let spare = TxRing::new(BATCH, BUF_LEN);
            match Writer::spawn(dev, vnet_len, uring && uring_allowed(), spare) {
                Ok(w) => Some(w),
                Err(e) => {
                    tracing::warn!("TUN {name}: no writer thread ({e}); writing between batches");
                    None
                }
            }
        });
        let uring = if uring && uring_allowed() {
            match Uring::new(fd, BATCH, BATCH) {
                Ok(u) => {
                    tracing::debug!("TUN {name}: batched I/O through io_uring ({u:?})");
                    Some(u)
                }
                Err(e) => {
                    tracing::warn!(
                        "TUN {name}: io_uring unavailable ({e}); one system call per packet"
                    );
                    None
                }
            }
        } else {
            if uring {
                tracing::debug!(
                    "TUN {name}: io_uring off ({}={}); one system call per packet",
                    NO_URING_ENV.0,
                    NO_URING_ENV.1
                );
            }
            None
        };
        Rings {
            rx: RxRing::new(BATCH, BUF_LEN),
            tx: TxRing::new(BATCH, BUF_LEN),
            uring,
            heads: vec![[0; MAX_VNET_LEN]; BATCH],
            rx_want: BATCH,
            ahead: None,
            writer,
        }
    }
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
            match attach(name, true, multi) {
                Ok(x) => x,
                // EINVAL: this kernel (or this existing interface) does not take the flag.
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                    tracing::warn!(
                        "TUN {name}: the kernel refused virtio-net headers ({e}); \
                         running without offloads"
                    );
                    attach(name, false, multi)?
                }
                Err(e) => return Err(e),
            }
        } else {
            attach(name, false, multi)?
        };
        let vnet_len = if opts.offload && sys::get_iff(fd.as_raw_fd())?.1 & sys::IFF_VNET_HDR != 0 {
            HDR_LEN
        } else {
            0
        };
        let mut dev = TunDevice::with_fd(fd, name, mtu, vnet_len, opts.gro);
        dev.want_uring = opts.io_uring;
        dev.want_tx_thread = opts.tx_thread;
        Ok(dev)
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
            want_uring: true,
            want_tx_thread: vnet_len == 0,
        }
    }

    /// Whether batched mode is to read and write through io_uring (on by default; see
    /// [`TunOptions::io_uring`]). Takes effect when batched mode is next switched on.
    pub fn set_io_uring(&mut self, on: bool) {
        self.want_uring = on;
    }

    /// Whether batched mode is to write through a thread of its own (on by default; see
    /// [`TunOptions::tx_thread`]). Takes effect when batched mode is next switched on.
    pub fn set_tx_thread(&mut self, on: bool) {
        self.want_tx_thread = on;
    }

    /// True when batched mode is on and writes through a thread of its own.
    pub fn uses_tx_thread(&self) -> bool {
        self.batched.as_ref().is_some_and(|r| r.writer.is_some())
    }

    /// True when batched mode is on and reads and writes through io_uring.
    pub fn uses_io_uring(&self) -> bool {
        self.batched.as_ref().is_some_and(|r| r.uring.is_some())
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
                let tx_thread = self.want_tx_thread.then_some(self.vnet_len);
                self.batched = Some(Rings::new(&self.fd, &self.name, self.want_uring, tx_thread));
            }
            (false, true) => {
                self.write_batch();
                self.settle_tx();
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
        if let Some(r) = self.batched.as_mut().filter(|r| r.uring.is_some()) {
            match r.ahead.take() {
                // Read ahead with the last writes and the queue was found empty then: what
                // came since polls readable, and the driver reads it next round.
                Some(false) => return false,
                _ => return self.exchange(false, true),
            }
        }
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
        let full = fill.full;
        self.count_fill(fill);
        full
    }

    /// Batched mode: writes every queued packet to the kernel, in order; returns how many went.
    /// Does nothing in direct mode.
    pub fn write_batch(&mut self) -> usize {
        let Some(rings) = self.batched.as_mut() else { return 0 };
        if rings.tx.queued() == 0 {
            return 0;
        }
        if let Some(n) = self.hand_over() {
            return n;
        }
        let Some(rings) = self.batched.as_mut() else { return 0 };
        if rings.uring.is_some() {
            let before = self.counters.tx_packets;
            self.exchange(true, false);
            return (self.counters.tx_packets - before) as usize;
        }
        let (fd, vnet_len) = (self.fd.as_raw_fd(), self.vnet_len);
        let flush = rings.tx.flush(|hdr, frame| write_frame(fd, vnet_len, hdr, frame));
        let frames = flush.frames;
        self.count_flush(flush);
        frames
    }

    /// With a writer thread: hands the queued frames over when a batch is in flight (they
    /// go after it) or they are many bytes; `Some(frames)` when it did.
    fn hand_over(&mut self) -> Option<usize> {
        let rings = self.batched.as_mut()?;
        let w = rings.writer.as_mut()?;
        if let Some(r) = w.settle(false) {
            self.count_report(r);
        }
        let rings = self.batched.as_mut()?;
        let w = rings.writer.as_mut()?;
        let n = rings.tx.queued();
        if n == 0 || !w.in_flight() && n < HAND_OVER_FRAMES {
            return None;
        }
        let full = std::mem::replace(&mut rings.tx, TxRing::new(0, 0));
        match w.hand(full) {
            Ok((empty, report)) => {
                rings.tx = empty;
                self.counters.tx_handed += 1;
                if let Some(r) = report {
                    self.count_report(r);
                }
                Some(n)
            }
            Err(full) => {
                tracing::warn!(
                    "TUN {}: the writer thread is gone; writing between batches",
                    self.name
                );
                rings.tx = full;
                rings.writer = None;
                None
            }
        }
    }

    /// Batched mode: [`write_batch`](Self::write_batch), and with io_uring also the reads of
    /// the next batch in the same system call (done just before the writes, so the kernel's
    /// answers to them find room in a queue a flood keeps full; they are read next round). True when frames were read ahead, or every read found
    /// one: the caller must then run the next round (`read_batch`, a poll) without waiting
    /// for the descriptor, since what was read no longer makes it poll readable.
    pub fn write_batch_read_ahead(&mut self) -> bool {
        let Some(rings) = self.batched.as_mut() else { return false };
        if rings.uring.is_none() {
            self.write_batch();
            return false;
        }
        if self.hand_over().is_some() {
            return false;
        }
        let full = self.exchange(true, true);
        let Some(rings) = self.batched.as_mut() else { return false };
        let more = full || rings.rx.pending() > 0;
        // Nothing read: the next round reads as usual.
        rings.ahead = more.then_some(full);
        more
    }

    /// One io_uring exchange: the queued frames' writes when `write`, reads into the free
    /// receive slots when `read`; returns true when every read brought a frame. Switches to
    /// one system call per packet, with a log line, when the kernel stops taking them.
    fn exchange(&mut self, write: bool, read: bool) -> bool {
        let verify = self.checks_tcp();
        let gro = self.offloads.gro;
        let vnet_len = self.vnet_len;
        let Some(rings) = self.batched.as_mut() else { return false };
        let Rings { rx, tx, uring: Some(uring), heads, rx_want, .. } = rings else { return false };
        let nw = if write { tx.queued() } else { 0 };
        for (head, (hdr, _)) in heads.iter_mut().zip(tx.queued_frames()).take(nw) {
            head[..HDR_LEN].copy_from_slice(hdr);
        }
        let writes =
            heads.iter().zip(tx.queued_frames()).take(nw).map(|(h, (_, f))| (&h[..vnet_len], f));
        let free = rx.free_slots();
        let nr = if read { free.len().min(*rx_want) } else { 0 };
        let before = uring.enters();
        let done = match uring.exchange(writes, free.take(nr)) {
            Ok(d) => d,
            Err(b) => {
                tracing::warn!(
                    "TUN {}: io_uring failed ({}); one system call per packet from now on",
                    self.name,
                    b.error
                );
                if b.ops > 0 {
                    // The kernel may still write into the rings: they are never reused.
                    let tx_thread = self.want_tx_thread.then_some(vnet_len);
                    let old = std::mem::replace(
                        rings,
                        Rings::new(&self.fd, &self.name, false, tx_thread),
                    );
                    std::mem::forget(old);
                } else {
                    rings.uring = None;
                }
                return false;
            }
        };
        let flush = tx.written(done.writes);
        let counters = &mut self.counters;
        let got = done.reads.iter().filter(|&&r| r >= 0).count();
        let mut merge = |prev: &mut [u8], r: std::ops::Range<usize>, cur: &[u8]| {
            gso::coalesce(&mut prev[r.start..], r.len(), cur).map(|n| r.start..r.start + n)
        };
        let fill = rx.complete(
            done.reads,
            |slot, n| settle_frame(slot, n, vnet_len, verify, counters),
            if gro { Some(&mut merge) } else { None },
        );
        counters.uring_enters += uring.enters() - before;
        if nr > 0 {
            *rx_want =
                if fill.full { (nr * 2).min(BATCH) } else { (got * 2).clamp(MIN_READS, BATCH) };
        }
        // No free slot counts as full, as in the plain path: more may be waiting.
        let full = read && fill.full;
        self.count_flush(flush);
        self.count_fill(fill);
        full
    }

    /// Batched mode with a writer thread: waits until the frames handed to it are written,
    /// and counts them. The counters otherwise take a batch in once the next one is handed
    /// over (or this is called).
    pub fn settle_tx(&mut self) {
        let report = self.batched.as_mut().and_then(|r| r.writer.as_mut()?.settle(true));
        if let Some(r) = report {
            self.count_report(r);
        }
    }

    fn count_report(&mut self, r: Report) {
        self.counters.uring_enters += r.enters;
        self.count_flush(r.flush);
    }

    fn count_fill(&mut self, fill: Fill) {
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
    }

    fn count_flush(&mut self, flush: Flush) {
        self.counters.tx_packets += flush.frames as u64;
        self.counters.tx_bytes += flush.bytes;
        self.counters.tx_errors += flush.failed as u64;
        if flush.frames > 0 {
            self.counters.tx_batches += 1;
        }
        if let Some(e) = flush.error {
            self.last_error = Some(e.kind());
        }
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
    Ok(settle_frame(slot, n, vnet_len, verify_tcp, counters))
}

/// Settles a packet of `n` bytes read into `slot` (see [`read_frame`]).
fn settle_frame(
    slot: &mut [u8],
    n: usize,
    vnet_len: usize,
    verify_tcp: bool,
    counters: &mut TunCounters,
) -> Read {
    let (hdr, frame_at) = if vnet_len > 0 {
        match VnetHdr::parse(&slot[..n]) {
            Some(h) if n >= vnet_len => (h, vnet_len),
            _ => {
                counters.rx_errors += 1;
                return Read::Dropped;
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
            Read::Frame(frame_at..n)
        }
        RxVerdict::BadChecksum => {
            counters.rx_bad_checksum += 1;
            Read::Dropped
        }
        RxVerdict::Unsupported => {
            counters.rx_unsupported += 1;
            Read::Dropped
        }
    }
}

/// Writes one packet, behind its virtio-net header when the device has one.
/// A write the kernel refused because the device's queue is full (the packet was dropped
/// before it left), as opposed to a broken device.
fn is_queue_refusal(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock || e.raw_os_error() == Some(libc::ENOBUFS)
}

pub(crate) fn write_frame(
    fd: RawFd,
    vnet_len: usize,
    hdr: &[u8; HDR_LEN],
    frame: &[u8],
) -> io::Result<usize> {
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
