//! One `io_uring_enter` for a whole batch of TUN reads and writes.
//!
//! Without it, batched mode costs one system call per packet: a `read` per frame read ahead
//! (plus the one that finds the queue empty) and a `write`/`writev` per frame queued. Here the
//! reads into every free receive slot and the writes of every queued frame go into one
//! submission queue and one `io_uring_enter`.
//!
//! The descriptor is nonblocking, so the kernel tries each read and write at once, in
//! submission order, while it takes the submission, and a read that finds the queue empty
//! completes with `EAGAIN` instead of waiting. [`Uring::exchange`] therefore waits for every
//! completion before it returns: no operation outlives the borrows of the buffers it was
//! given. Should the kernel refuse to wait (an error other than an interrupt or a full
//! completion queue), [`Uring::exchange`] says how many operations are still out, and the
//! caller must leave their buffers alone for good (the device leaks them).

use std::io;
use std::os::fd::RawFd;

use io_uring::{IoUring, opcode, types};

/// What [`Uring::exchange`] did: the result of each write and read, in the order given, as
/// the kernel gave it (bytes moved, or a negated `errno`).
#[derive(Debug)]
pub(crate) struct Done<'a> {
    /// One per write.
    pub(crate) writes: &'a [i32],
    /// One per read.
    pub(crate) reads: &'a [i32],
}

/// The kernel stopped waiting for completions with `ops` operations still out.
#[derive(Debug)]
pub(crate) struct Broken {
    /// Why.
    pub(crate) error: io::Error,
    /// Operations submitted and not completed: their buffers may still be written.
    pub(crate) ops: usize,
}

/// An io_uring bound to one descriptor.
pub(crate) struct Uring {
    ring: IoUring,
    /// The descriptor as registered file 0, or as itself where registering failed.
    fixed: bool,
    fd: RawFd,
    /// The two pieces (virtio-net header, frame) of each write; read by the kernel during
    /// the enter, so kept here rather than on the stack of a loop.
    iovs: Vec<[libc::iovec; 2]>,
    results: Vec<i32>,
    /// `io_uring_enter` calls made.
    enters: u64,
}

// SAFETY: the iovecs hold raw pointers only while `exchange` runs (they are rebuilt on every
// call and never read outside it); the ring itself is a descriptor and two mappings owned by
// this value.
unsafe impl Send for Uring {}

impl std::fmt::Debug for Uring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uring")
            .field("fd", &self.fd)
            .field("fixed", &self.fixed)
            .field("entries", &self.ring.params().sq_entries())
            .field("enters", &self.enters)
            .finish()
    }
}

impl Uring {
    /// A ring for `fd` with room for `writes` writes and `reads` reads per exchange. Fails
    /// where the kernel has no io_uring, has it switched off (`kernel.io_uring_disabled`), a
    /// seccomp filter refuses it, or it lacks the read and vectored-write operations.
    pub(crate) fn new(fd: RawFd, writes: usize, reads: usize) -> io::Result<Uring> {
        let total = writes + reads;
        let entries = u32::try_from(total.next_power_of_two())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "batch too large"))?;
        let ring = IoUring::builder().setup_cqsize(entries * 2).build(entries)?;
        let mut probe = io_uring::Probe::new();
        ring.submitter().register_probe(&mut probe)?;
        for (code, name) in [(opcode::Read::CODE, "read"), (opcode::Writev::CODE, "writev")] {
            if !probe.is_supported(code) {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!("io_uring without the {name} operation"),
                ));
            }
        }
        // A registered descriptor saves a look-up per operation; not worth failing over.
        let fixed = ring.submitter().register_files(&[fd]).is_ok();
        let blank = libc::iovec { iov_base: std::ptr::null_mut(), iov_len: 0 };
        Ok(Uring {
            ring,
            fixed,
            fd,
            iovs: vec![[blank; 2]; writes],
            results: vec![0; total],
            enters: 0,
        })
    }

    /// `io_uring_enter` calls made so far.
    pub(crate) fn enters(&self) -> u64 {
        self.enters
    }

    /// Reads one packet into each of `reads`, then writes each `(head, body)` as one packet
    /// (an empty head is left out), all in one submission; returns once every operation has
    /// completed. More writes or reads than the ring was made for are refused up front.
    pub(crate) fn exchange<'a>(
        &mut self,
        writes: impl ExactSizeIterator<Item = (&'a [u8], &'a [u8])>,
        reads: impl ExactSizeIterator<Item = &'a mut [u8]>,
    ) -> Result<Done<'_>, Broken> {
        let (nw, nr) = (writes.len(), reads.len());
        if nw > self.iovs.len() || nr > self.results.len() - self.iovs.len() {
            return Err(Broken {
                error: io::Error::new(io::ErrorKind::InvalidInput, "more than one batch"),
                ops: 0,
            });
        }
        let total = nw + nr;
        if total == 0 {
            return Ok(Done { writes: &[], reads: &[] });
        }
        let target = |fixed: bool, fd: RawFd| -> Target {
            if fixed { Target::Fixed(types::Fixed(0)) } else { Target::Fd(types::Fd(fd)) }
        };
        let t = target(self.fixed, self.fd);
        {
            let mut sq = self.ring.submission();
            // Reads first: they free slots of the device's queue right before the writes,
            // whose answers from the kernel (a client's handshake ACK to a SYN-ACK, made
            // while the write runs) go into that queue at once. Under a flood that keeps the
            // queue full, answers queued after the reads find room; queued before them, they
            // are dropped (and a SYN cookie's ACK is not sent again).
            for (j, buf) in reads.enumerate() {
                let len = u32::try_from(buf.len()).unwrap_or(u32::MAX);
                // RWF_NOWAIT: a read that finds the queue empty completes with EAGAIN at
                // once rather than waiting for a packet (io_uring would otherwise arm a poll
                // for it, whatever O_NONBLOCK says).
                let nowait = libc::RWF_NOWAIT;
                let e = match t {
                    Target::Fixed(f) => {
                        opcode::Read::new(f, buf.as_mut_ptr(), len).rw_flags(nowait).build()
                    }
                    Target::Fd(f) => {
                        opcode::Read::new(f, buf.as_mut_ptr(), len).rw_flags(nowait).build()
                    }
                };
                // SAFETY: `buf` is borrowed mutably for the whole call, which returns only
                // once this call has seen the operation complete (`wait_all` below); the
                // queue has room for the whole batch (checked above, and it is empty between
                // calls).
                unsafe { sq.push(&e.user_data((nw + j) as u64)) }.map_err(|_| Broken {
                    error: io::Error::other("submission queue full"),
                    ops: 0,
                })?;
            }
            for (i, (head, body)) in writes.enumerate() {
                let iov = &mut self.iovs[i];
                iov[0] = libc::iovec { iov_base: head.as_ptr() as *mut _, iov_len: head.len() };
                iov[1] = libc::iovec { iov_base: body.as_ptr() as *mut _, iov_len: body.len() };
                let (ptr, n) =
                    if head.is_empty() { (iov[1..].as_ptr(), 1) } else { (iov.as_ptr(), 2) };
                // RWF_NOWAIT: a write the kernel cannot take at once fails with EAGAIN (the
                // frame is dropped, as a full NIC queue drops it) instead of staying out.
                let nowait = libc::RWF_NOWAIT;
                let e = match t {
                    Target::Fixed(f) => opcode::Writev::new(f, ptr, n).rw_flags(nowait).build(),
                    Target::Fd(f) => opcode::Writev::new(f, ptr, n).rw_flags(nowait).build(),
                };
                // SAFETY: as for the reads: the iovecs and the slices they describe stay
                // valid until this call has seen the operation complete.
                unsafe { sq.push(&e.user_data(i as u64)) }.map_err(|_| Broken {
                    error: io::Error::other("submission queue full"),
                    ops: 0,
                })?;
            }
        }
        self.wait_all(total)?;
        Ok(Done { writes: &self.results[..nw], reads: &self.results[nw..total] })
    }

    /// Submits what is queued and collects `total` completions into `results`.
    fn wait_all(&mut self, total: usize) -> Result<(), Broken> {
        let mut done = 0;
        while done < total {
            self.enters += 1;
            match self.ring.submit_and_wait(total - done) {
                Ok(_) => {}
                Err(e) => match e.raw_os_error() {
                    Some(libc::EINTR | libc::EAGAIN | libc::EBUSY) => {}
                    _ => {
                        // Nothing submitted by this call is left in the queue only when
                        // the kernel took none of it; count what it took as still out.
                        let queued = self.ring.submission().len();
                        return Err(Broken { error: e, ops: total - done - queued });
                    }
                },
            }
            for cqe in self.ring.completion() {
                let i = cqe.user_data() as usize;
                if let Some(r) = self.results.get_mut(i) {
                    *r = cqe.result();
                    done += 1;
                }
            }
        }
        Ok(())
    }
}

/// The descriptor an operation names.
#[derive(Clone, Copy)]
enum Target {
    Fixed(types::Fixed),
    Fd(types::Fd),
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    fn ring_or_skip(fd: RawFd, w: usize, r: usize) -> Option<Uring> {
        match Uring::new(fd, w, r) {
            Ok(u) => Some(u),
            Err(e) => {
                println!("SKIPPED: io_uring unavailable: {e}");
                None
            }
        }
    }

    #[test]
    fn writes_and_reads_go_in_one_enter_in_order() {
        let (a, b) = crate::sys::seqpacket_pair();
        let Some(mut ua) = ring_or_skip(a.as_raw_fd(), 4, 4) else { return };
        let Some(mut ub) = ring_or_skip(b.as_raw_fd(), 4, 4) else { return };
        let frames: [(&[u8], &[u8]); 3] = [(b"H1", b"one"), (b"", b"two"), (b"H3", b"three")];
        let done = ua.exchange(frames.into_iter(), std::iter::empty()).expect("exchange");
        assert_eq!(done.writes, &[5, 3, 7]);
        assert_eq!(ua.enters(), 1);
        // Four reads for three packets: the fourth finds the queue empty.
        let mut bufs = [[0u8; 16]; 4];
        let done =
            ub.exchange(std::iter::empty(), bufs.iter_mut().map(|b| &mut b[..])).expect("exchange");
        assert_eq!(done.reads, &[5, 3, 7, -libc::EAGAIN]);
        assert_eq!(ub.enters(), 1);
        assert_eq!(&bufs[0][..5], b"H1one");
        assert_eq!(&bufs[1][..3], b"two");
        assert_eq!(&bufs[2][..7], b"H3three");
        // Both in one exchange: b answers and reads a's next packet, written before.
        let done = ua.exchange([(&b""[..], &b"ping"[..])].into_iter(), std::iter::empty());
        assert_eq!(done.expect("exchange").writes, &[4]);
        let mut buf = [0u8; 16];
        let done = ub
            .exchange([(&b""[..], &b"pong"[..])].into_iter(), std::iter::once(&mut buf[..]))
            .expect("exchange");
        assert_eq!((done.writes, done.reads), (&[4][..], &[4][..]));
        assert_eq!(&buf[..4], b"ping");
        assert_eq!(ub.enters(), 2);
    }

    #[test]
    fn errors_come_back_per_operation() {
        let (a, b) = crate::sys::seqpacket_pair();
        let Some(mut ua) = ring_or_skip(a.as_raw_fd(), 2, 2) else { return };
        drop(b);
        let done =
            ua.exchange([(&b""[..], &b"x"[..])].into_iter(), std::iter::empty()).expect("exchange");
        assert_eq!(done.writes, &[-libc::EPIPE]);
        // A batch larger than the ring was made for is refused before anything is queued.
        let mut bufs = [[0u8; 4]; 3];
        let e = ua.exchange(std::iter::empty(), bufs.iter_mut().map(|b| &mut b[..]));
        assert_eq!(e.map(|_| ()).expect_err("too many").ops, 0);
    }
}
