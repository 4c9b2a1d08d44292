//! A thread of the device's own that writes batches of frames to the kernel while the driver
//! goes on with the next.
//!
//! A write to a TUN descriptor runs the kernel's whole receive path for the packet (IP, TCP,
//! the receiving socket's queue, the ACK it sends back) in the writer's thread. Done by the
//! driver, that work and synack's own (reading the kernel's packets, the engine's pass) take
//! turns on one core, however idle the others are. Here the driver hands a full transmit ring
//! over and takes back the one written before, so the kernel's receive path of one batch runs
//! beside the engine's pass that fills the next: two rings, at most one batch in flight.
//! Frames go out in the order they were queued (one thread writes them all, batch after
//! batch).

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, channel, sync_channel};
use std::thread::JoinHandle;

use crate::device::{BUF_LEN, MAX_VNET_LEN, write_frame};
use crate::ring::{Flush, TxRing};
use crate::uring::Uring;
use crate::vnet::HDR_LEN;

/// Name of the writer thread (the kernel keeps 15 bytes of it).
pub const THREAD_NAME: &str = "synack-tun-tx";

/// A batch the thread wrote: the ring (now empty), what became of its frames, and the
/// `io_uring_enter` calls it took.
struct Written {
    ring: TxRing,
    flush: Flush,
    enters: u64,
}

/// The writer thread and the rings between it and the device.
pub(crate) struct Writer {
    jobs: Option<SyncSender<TxRing>>,
    done: Receiver<Written>,
    /// The empty ring to fill after the one being filled, when no batch is in flight.
    spare: Option<TxRing>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").field("in_flight", &self.spare.is_none()).finish()
    }
}

impl Writer {
    /// Starts the thread, writing to its own duplicate of `fd` (`vnet_len` bytes of header in
    /// front of each frame), a batch per `io_uring_enter` when `uring` and the kernel allows,
    /// else one `write` per frame. `spare` is the second ring.
    pub(crate) fn spawn(
        fd: &OwnedFd,
        vnet_len: usize,
        uring: bool,
        spare: TxRing,
    ) -> io::Result<Writer> {
        let fd = fd.try_clone()?;
        let cap = spare.capacity();
        let ring = if uring { Uring::new(fd.as_raw_fd(), cap, 0).ok() } else { None };
        let (jobs, rx) = sync_channel::<TxRing>(1);
        let (tx, done) = channel();
        let thread = std::thread::Builder::new().name(THREAD_NAME.into()).spawn(move || {
            let mut out = Out { fd, vnet_len, uring: ring, heads: vec![[0; MAX_VNET_LEN]; cap] };
            while let Ok(mut ring) = rx.recv() {
                let (flush, enters) = out.write(&mut ring);
                if tx.send(Written { ring, flush, enters }).is_err() {
                    break;
                }
            }
        })?;
        Ok(Writer { jobs: Some(jobs), done, spare: Some(spare), thread: Some(thread) })
    }

    /// True while a batch handed over is not known to be written.
    pub(crate) fn in_flight(&self) -> bool {
        self.spare.is_none()
    }

    /// Hands `full` over to be written and returns the empty ring to fill next, with what
    /// became of the batch written before when one was in flight (waiting for it to finish).
    /// `Err` gives `full` back when the thread is gone.
    pub(crate) fn hand(&mut self, full: TxRing) -> Result<(TxRing, Option<Report>), TxRing> {
        let (empty, report) = match self.spare.take() {
            Some(r) => (r, None),
            None => match self.done.recv() {
                Ok(w) => (w.ring, Some(Report { flush: w.flush, enters: w.enters })),
                Err(_) => return Err(full),
            },
        };
        let sent = match self.jobs.as_ref() {
            Some(jobs) => jobs.send(full).map_err(|e| e.0),
            None => Err(full),
        };
        match sent {
            Ok(()) => Ok((empty, report)),
            Err(full) => {
                self.spare = Some(empty);
                Err(full)
            }
        }
    }

    /// What became of the batch in flight, if one is, once written: waits for it when
    /// `wait`, else only reports it when it is done already.
    pub(crate) fn settle(&mut self, wait: bool) -> Option<Report> {
        if self.spare.is_some() {
            return None;
        }
        let w = if wait {
            self.done.recv().ok()?
        } else {
            match self.done.try_recv() {
                Ok(w) => w,
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => return None,
            }
        };
        self.spare = Some(w.ring);
        Some(Report { flush: w.flush, enters: w.enters })
    }
}

/// What became of a batch the thread wrote.
#[derive(Debug)]
pub(crate) struct Report {
    pub(crate) flush: Flush,
    /// `io_uring_enter` calls the batch took.
    pub(crate) enters: u64,
}

impl Drop for Writer {
    /// Lets the thread finish the batch it has and end.
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The thread's side: its descriptor and how it writes.
struct Out {
    fd: OwnedFd,
    vnet_len: usize,
    uring: Option<Uring>,
    /// Each frame's header, padded to `vnet_len`, for the io_uring writes.
    heads: Vec<[u8; MAX_VNET_LEN]>,
}

impl Out {
    /// Writes every frame queued in `ring` and empties it; the result and the enters taken.
    fn write(&mut self, ring: &mut TxRing) -> (Flush, u64) {
        let fd = self.fd.as_raw_fd();
        let vnet_len = self.vnet_len;
        if let Some(u) = self.uring.as_mut() {
            let n = ring.queued();
            for (h, (hdr, _)) in self.heads.iter_mut().zip(ring.queued_frames()) {
                h[..HDR_LEN].copy_from_slice(hdr);
            }
            let heads = &self.heads;
            let writes = heads
                .iter()
                .zip(ring.queued_frames())
                .take(n)
                .map(|(h, (_, f))| (&h[..vnet_len], f));
            let before = u.enters();
            match u.exchange(writes, std::iter::empty()) {
                Ok(done) => {
                    let results = done.writes.to_vec();
                    let enters = u.enters() - before;
                    return (ring.written(&results), enters);
                }
                Err(b) => {
                    tracing::warn!(
                        "TUN writer: io_uring failed ({}); one system call per packet from now on",
                        b.error
                    );
                    if b.ops > 0 {
                        // The kernel may still read the frames: the ring is never reused.
                        let cap = ring.capacity();
                        let old = std::mem::replace(ring, TxRing::new(cap, BUF_LEN));
                        let lost = old.queued();
                        std::mem::forget(old);
                        self.uring = None;
                        let flush = Flush {
                            failed: lost,
                            error: Some(io::Error::other("io_uring failed")),
                            ..Flush::default()
                        };
                        return (flush, 0);
                    }
                    self.uring = None;
                }
            }
        }
        (ring.flush(|hdr, frame| write_frame(fd, vnet_len, hdr, frame)), 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ring of 4 slots holding `frames`, each behind a header starting with its first byte.
    fn queued(frames: &[&[u8]]) -> TxRing {
        let mut ring = TxRing::new(4, 64);
        for f in frames {
            let (buf, slot) = ring.next_slot().expect("room");
            buf[8..8 + f.len()].copy_from_slice(f);
            slot.commit(8..8 + f.len(), [f[0]; HDR_LEN]);
        }
        ring
    }

    fn read_all(fd: &OwnedFd) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut buf = [0u8; 128];
        while let Ok(Some(n)) = crate::sys::read(fd.as_raw_fd(), &mut buf) {
            out.push(buf[..n].to_vec());
        }
        out
    }

    #[test]
    fn batches_are_written_in_order_and_reported_when_the_next_is_handed_over() {
        for (uring, vnet_len) in [(false, 0), (true, 0), (false, HDR_LEN), (true, 12)] {
            let (a, b) = crate::sys::seqpacket_pair();
            let mut w = Writer::spawn(&a, vnet_len, uring, TxRing::new(4, 64)).expect("spawn");
            assert!(!w.in_flight());
            let (empty, report) = w.hand(queued(&[b"one", b"two"])).expect("hand");
            assert!(report.is_none(), "nothing was in flight");
            assert_eq!((empty.queued(), empty.capacity()), (0, 4));
            assert!(w.in_flight());
            // The second batch waits for the first, and brings its report.
            let (_, report) = w.hand(queued(&[b"three"])).expect("hand");
            let r = report.expect("the first batch's report");
            assert_eq!((r.flush.frames, r.flush.bytes, r.flush.failed), (2, 6, 0));
            let r = w.settle(true).expect("the second batch's report");
            assert_eq!((r.flush.frames, r.flush.failed), (1, 0));
            assert!(!w.in_flight() && w.settle(true).is_none());
            let head = |c: u8| {
                let mut h = vec![c; HDR_LEN.min(vnet_len)];
                h.resize(vnet_len, 0);
                h
            };
            let want: Vec<Vec<u8>> = [&b"one"[..], b"two", b"three"]
                .iter()
                .map(|f| [head(f[0]), f.to_vec()].concat())
                .collect();
            assert_eq!(read_all(&b), want, "uring {uring}, header {vnet_len}");
        }
    }

    #[test]
    fn failed_writes_are_counted_and_a_dropped_writer_ends_its_thread() {
        let (a, b) = crate::sys::seqpacket_pair();
        let mut w = Writer::spawn(&a, 0, false, TxRing::new(4, 64)).expect("spawn");
        drop(b);
        w.hand(queued(&[b"lost", b"too"])).expect("hand");
        let r = w.settle(true).expect("report");
        assert_eq!((r.flush.frames, r.flush.failed), (0, 2));
        assert!(r.flush.error.is_some());
        // Dropping joins the thread: its duplicate of the descriptor is closed with it.
        drop(w);
    }
}
