//! [`ChannelDevice`]: the application's own packet source and sink as a stack's device.
//!
//! ```text
//!   application                    ChannelHandle          driver thread
//!   send(ip packet) ─────────────▶ inbound queue ──────▶ read_batch ─▶ interface
//!   recv() ◀───────────────────── outbound queue ◀───── write_batch ◀─ interface
//! ```
//!
//! Both queues are bounded. A full inbound queue makes `send` wait (or `try_send` fail with
//! `WouldBlock`): backpressure on the application. A full outbound queue (the application is
//! not reading) drops what the stack sends, as a TUN device with a full queue does, and counts
//! it; TCP recovers by retransmitting. Dropping every handle takes the device away: the driver
//! stops, and every socket call on the stack fails (`NetworkDown`). When the stack goes away,
//! the handle's `send` and, once the outbound queue is empty, `recv` fail with `BrokenPipe`.

use std::collections::VecDeque;
use std::fmt;
use std::future::poll_fn;
use std::io::{self, ErrorKind};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Poll, Waker};
use std::time::Duration;

use synack_stack::device::{RxToken, TxToken, TxVerdict, tx_verdict};
use synack_stack::{Device, DeviceCaps, Medium, Signal};
use synack_tcp::Instant;

use super::clock::Clock;
use super::device::{DriverDevice, WaitSource};

struct Queues {
    inbound: VecDeque<Vec<u8>>,
    outbound: VecDeque<Vec<u8>>,
    /// The device (the stack's side) is gone.
    device_gone: bool,
    /// Tasks waiting for outbound packets or inbound room.
    wakers: Vec<Waker>,
}

struct Shared {
    queues: Mutex<Queues>,
    /// Threads of the application waiting for outbound packets or inbound room.
    user: Condvar,
    /// Wakes the driver: a packet came in, or the last handle went away.
    driver: Arc<Signal>,
    capacity: usize,
    mtu: usize,
    handles: AtomicUsize,
    dropped_out: AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queues> {
        self.queues.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wakes every waiting application thread and task.
    fn wake_user(&self, mut q: MutexGuard<'_, Queues>) {
        let wakers = std::mem::take(&mut q.wakers);
        drop(q);
        self.user.notify_all();
        for w in wakers {
            w.wake();
        }
    }
}

/// A device whose packets (IP, version 4 or 6, no link header) come from and go to the
/// application through a [`ChannelHandle`]. Give it to [`Stack::new`](crate::Stack::new).
pub struct ChannelDevice {
    shared: Arc<Shared>,
    rx: VecDeque<Vec<u8>>,
    tx: VecDeque<Vec<u8>>,
    max_batch: usize,
}

impl fmt::Debug for ChannelDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelDevice")
            .field("mtu", &self.shared.mtu)
            .field("capacity", &self.shared.capacity)
            .finish_non_exhaustive()
    }
}

impl Drop for ChannelDevice {
    fn drop(&mut self) {
        let mut q = self.shared.lock();
        q.device_gone = true;
        self.shared.wake_user(q);
    }
}

/// The application's end of a [`ChannelDevice`]: feed it IP packets the stack receives, and
/// read the IP packets the stack sends. Cloning gives another handle on the same device; the
/// device goes away when the last handle is dropped.
pub struct ChannelHandle {
    shared: Arc<Shared>,
}

impl fmt::Debug for ChannelHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelHandle").finish_non_exhaustive()
    }
}

impl Clone for ChannelHandle {
    fn clone(&self) -> Self {
        self.shared.handles.fetch_add(1, Ordering::AcqRel);
        ChannelHandle { shared: self.shared.clone() }
    }
}

impl Drop for ChannelHandle {
    fn drop(&mut self) {
        if self.shared.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.driver.notify();
        }
    }
}

impl ChannelDevice {
    /// A device with this IP `mtu` whose two queues hold `capacity` packets each.
    pub fn new(mtu: usize, capacity: usize) -> (ChannelDevice, ChannelHandle) {
        let shared = Arc::new(Shared {
            queues: Mutex::new(Queues {
                inbound: VecDeque::new(),
                outbound: VecDeque::new(),
                device_gone: false,
                wakers: Vec::new(),
            }),
            user: Condvar::new(),
            driver: Arc::new(Signal::new()),
            capacity: capacity.max(1),
            mtu,
            handles: AtomicUsize::new(1),
            dropped_out: AtomicU64::new(0),
        });
        let dev = ChannelDevice {
            shared: shared.clone(),
            rx: VecDeque::new(),
            tx: VecDeque::new(),
            max_batch: DeviceCaps::default().max_batch,
        };
        (dev, ChannelHandle { shared })
    }
}

/// Receive token of [`ChannelDevice`].
#[derive(Debug)]
pub struct ChannelRx(Vec<u8>);

impl RxToken for ChannelRx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

/// Transmit token of [`ChannelDevice`].
#[derive(Debug)]
pub struct ChannelTx<'a> {
    dev: &'a mut ChannelDevice,
}

impl TxToken for ChannelTx<'_> {
    fn consume<F>(self, max_len: usize, f: F) -> usize
    where
        F: FnOnce(&mut [u8]) -> core::ops::Range<usize>,
    {
        let mut buf = vec![0u8; max_len];
        let range = f(&mut buf);
        match tx_verdict(&range, buf.len(), self.dev.shared.mtu) {
            TxVerdict::Send => {
                let n = range.len();
                buf.truncate(range.end);
                buf.drain(..range.start);
                self.dev.tx.push_back(buf);
                n
            }
            TxVerdict::Nothing | TxVerdict::BadRange | TxVerdict::Oversize => 0,
        }
    }
}

impl Device for ChannelDevice {
    type RxToken<'a> = ChannelRx;
    type TxToken<'a> = ChannelTx<'a>;

    fn receive(&mut self, _now: Instant) -> Option<ChannelRx> {
        self.rx.pop_front().map(ChannelRx)
    }

    fn transmit(&mut self, _now: Instant) -> Option<ChannelTx<'_>> {
        // Always room: what the application's full queue cannot take is dropped in
        // `write_batch`, so the driver never spins waiting for a slow reader.
        Some(ChannelTx { dev: self })
    }

    fn caps(&self) -> DeviceCaps {
        DeviceCaps { mtu: self.shared.mtu, medium: Medium::Ip, ..DeviceCaps::default() }
    }
}

impl DriverDevice for ChannelDevice {
    fn wait_source(&self) -> WaitSource {
        WaitSource::Signal(self.shared.driver.clone())
    }

    fn read_batch(&mut self) -> bool {
        let mut q = self.shared.lock();
        let n = q.inbound.len().min(self.max_batch);
        self.rx.extend(q.inbound.drain(..n));
        let more = !q.inbound.is_empty();
        if n > 0 {
            self.shared.wake_user(q);
        }
        more
    }

    fn write_batch(&mut self) -> usize {
        if self.tx.is_empty() {
            return 0;
        }
        let mut q = self.shared.lock();
        let mut sent = 0;
        for p in self.tx.drain(..) {
            if q.outbound.len() < self.shared.capacity {
                q.outbound.push_back(p);
                sent += 1;
            } else {
                self.shared.dropped_out.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.shared.wake_user(q);
        sent
    }

    fn divert_rx(&mut self, take: &mut dyn FnMut(&[u8]) -> bool) -> Option<usize> {
        let before = self.rx.len();
        self.rx.retain(|p| !take(p));
        Some(before - self.rx.len())
    }

    fn is_closed(&self) -> bool {
        self.shared.handles.load(Ordering::Acquire) == 0
    }
}

fn gone() -> io::Error {
    io::Error::new(ErrorKind::BrokenPipe, "the stack's device is gone")
}

impl ChannelHandle {
    /// Checks a packet before it is queued.
    fn check(&self, packet: &[u8]) -> io::Result<()> {
        if packet.len() > self.shared.mtu {
            return Err(io::Error::new(ErrorKind::InvalidInput, "packet larger than the MTU"));
        }
        Ok(())
    }

    /// Queues `packet` if there is room; `Ok(false)`: full.
    fn offer(&self, packet: &mut Option<Vec<u8>>) -> io::Result<bool> {
        let mut q = self.shared.lock();
        if q.device_gone {
            return Err(gone());
        }
        if q.inbound.len() >= self.shared.capacity {
            return Ok(false);
        }
        if let Some(p) = packet.take() {
            q.inbound.push_back(p);
        }
        drop(q);
        self.shared.driver.notify();
        Ok(true)
    }

    /// Gives the stack an IP packet, waiting while the inbound queue is full. `InvalidInput`
    /// for a packet over the MTU; `BrokenPipe` when the stack is gone.
    pub fn send(&self, packet: Vec<u8>) -> io::Result<()> {
        self.check(&packet)?;
        let mut p = Some(packet);
        let mut q = self.shared.lock();
        loop {
            if q.device_gone {
                return Err(gone());
            }
            if q.inbound.len() < self.shared.capacity {
                q.inbound.extend(p.take());
                drop(q);
                self.shared.driver.notify();
                return Ok(());
            }
            q = self.shared.user.wait(q).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Like [`send`](Self::send) but fails with `WouldBlock` instead of waiting.
    pub fn try_send(&self, packet: Vec<u8>) -> io::Result<()> {
        self.check(&packet)?;
        if self.offer(&mut Some(packet))? {
            Ok(())
        } else {
            Err(io::Error::new(ErrorKind::WouldBlock, "the inbound queue is full"))
        }
    }

    /// [`send`](Self::send) for async code: waits for room without blocking the thread.
    pub async fn send_async(&self, packet: Vec<u8>) -> io::Result<()> {
        self.check(&packet)?;
        let mut p = Some(packet);
        poll_fn(|cx| {
            let mut q = self.shared.lock();
            if q.device_gone {
                return Poll::Ready(Err(gone()));
            }
            if q.inbound.len() < self.shared.capacity {
                q.inbound.extend(p.take());
                drop(q);
                self.shared.driver.notify();
                return Poll::Ready(Ok(()));
            }
            if !q.wakers.iter().any(|w| w.will_wake(cx.waker())) {
                q.wakers.push(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }

    /// Takes the next packet the stack sent, waiting for one. `BrokenPipe` once the stack is
    /// gone and nothing is left.
    pub fn recv(&self) -> io::Result<Vec<u8>> {
        self.recv_deadline(None)
    }

    /// Like [`recv`](Self::recv), giving up with `TimedOut` after `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> io::Result<Vec<u8>> {
        let clock = Clock::start();
        self.recv_deadline(Some((clock, clock.now() + timeout)))
    }

    /// Takes the next packet the stack sent; `WouldBlock` when there is none.
    pub fn try_recv(&self) -> io::Result<Vec<u8>> {
        let mut q = self.shared.lock();
        match q.outbound.pop_front() {
            Some(p) => Ok(p),
            None if q.device_gone => Err(gone()),
            None => Err(io::Error::new(ErrorKind::WouldBlock, "no packet waiting")),
        }
    }

    fn recv_deadline(&self, deadline: Option<(Clock, Instant)>) -> io::Result<Vec<u8>> {
        let mut q = self.shared.lock();
        loop {
            if let Some(p) = q.outbound.pop_front() {
                return Ok(p);
            }
            if q.device_gone {
                return Err(gone());
            }
            q = match deadline {
                None => self.shared.user.wait(q).unwrap_or_else(PoisonError::into_inner),
                Some((clock, d)) => {
                    let left = d.saturating_since(clock.now());
                    if left.is_zero() {
                        return Err(io::Error::new(ErrorKind::TimedOut, "no packet in time"));
                    }
                    self.shared.user.wait_timeout(q, left).unwrap_or_else(PoisonError::into_inner).0
                }
            };
        }
    }

    /// [`recv`](Self::recv) for async code: waits without blocking the thread. Cancellation
    /// safe: a packet is taken only when this returns it.
    pub async fn recv_async(&self) -> io::Result<Vec<u8>> {
        poll_fn(|cx| {
            let mut q = self.shared.lock();
            if let Some(p) = q.outbound.pop_front() {
                return Poll::Ready(Ok(p));
            }
            if q.device_gone {
                return Poll::Ready(Err(gone()));
            }
            if !q.wakers.iter().any(|w| w.will_wake(cx.waker())) {
                q.wakers.push(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }

    /// Packets the stack sent that were dropped because the outbound queue was full.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped_out.load(Ordering::Relaxed)
    }

    /// The device's IP MTU.
    pub fn mtu(&self) -> usize {
        self.shared.mtu
    }
}
