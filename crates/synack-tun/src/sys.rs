//! The system calls, each wrapped into a safe function with its reasoning stated once.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// `_IOW('T', 202, int)` from `<linux/if_tun.h>`.
const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
/// Point-to-point IP device, no link header.
const IFF_TUN: libc::c_short = 0x0001;
/// No 4-byte packet-information prefix: frames are bare IP packets.
pub(crate) const IFF_NO_PI: libc::c_short = 0x1000;
/// Several descriptors (queues) may attach to the interface; the kernel spreads the packets it
/// sends over them by flow.
pub(crate) const IFF_MULTI_QUEUE: libc::c_short = 0x0100;
/// A `struct virtio_net_hdr` precedes every packet (checksum and segmentation offload).
pub(crate) const IFF_VNET_HDR: libc::c_short = 0x4000;
/// The interface type bits: TUN (1) or TAP (2).
pub(crate) const IFF_TYPE_MASK: libc::c_short = 0x000f;
/// `_IOW('T', 208, unsigned int)`: which offloads the kernel may hand us.
const TUNSETOFFLOAD: libc::c_ulong = 0x4004_54d0;
/// `_IOR('T', 210, unsigned int)`: the interface name and flags of a descriptor.
const TUNGETIFF: libc::c_ulong = 0x8004_54d2;
/// `_IOR('T', 215, int)`: the virtio-net header length of a descriptor.
const TUNGETVNETHDRSZ: libc::c_ulong = 0x8004_54d7;

/// Opens `/dev/net/tun` nonblocking and binds it to interface `name` (created when missing),
/// with a virtio-net header on every packet when `vnet_hdr`, as one queue of a multi-queue
/// interface when `multi_queue`; returns the descriptor and the name the kernel settled on.
pub(crate) fn open_tun(
    name: &str,
    vnet_hdr: bool,
    multi_queue: bool,
) -> io::Result<(OwnedFd, String)> {
    let bytes = name.as_bytes();
    if bytes.len() >= libc::IFNAMSIZ || bytes.contains(&0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "interface name {name:?} must be shorter than {} bytes and have no NUL",
                libc::IFNAMSIZ
            ),
        ));
    }
    let path = c"/dev/net/tun";
    // SAFETY: `path` is a valid NUL-terminated string; open has no other preconditions.
    let raw =
        unsafe { libc::open(path.as_ptr(), libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a descriptor open() just returned and nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };

    // SAFETY: ifreq is plain old data (integers, arrays, a union of those and pointers that the
    // kernel ignores for TUNSETIFF); all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, &src) in req.ifr_name.iter_mut().zip(bytes) {
        *dst = src as libc::c_char;
    }
    req.ifr_ifru.ifru_flags = IFF_TUN
        | IFF_NO_PI
        | if vnet_hdr { IFF_VNET_HDR } else { 0 }
        | if multi_queue { IFF_MULTI_QUEUE } else { 0 };
    // SAFETY: `fd` is open; TUNSETIFF reads and writes one `struct ifreq`, which `req` is, and
    // `req` outlives the call.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), TUNSETIFF as _, &mut req as *mut libc::ifreq) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel leaves a NUL-terminated name within the IFNAMSIZ array (we zeroed it
    // and the name we wrote is shorter than IFNAMSIZ).
    let got = unsafe { CStr::from_ptr(req.ifr_name.as_ptr()) };
    Ok((fd, got.to_string_lossy().into_owned()))
}

/// Tells the kernel which offloads (`TUN_F_*`) it may use in packets it hands us.
pub(crate) fn set_offload(fd: RawFd, flags: libc::c_uint) -> io::Result<()> {
    // SAFETY: TUNSETOFFLOAD takes its argument by value (an unsigned long); `fd` is open.
    let rc = unsafe { libc::ioctl(fd, TUNSETOFFLOAD as _, libc::c_ulong::from(flags)) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The interface name and `IFF_*` flags a TUN descriptor is attached with.
pub(crate) fn get_iff(fd: RawFd) -> io::Result<(String, libc::c_short)> {
    // SAFETY: all-zero is a valid ifreq (see open_tun).
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    // SAFETY: TUNGETIFF writes one `struct ifreq` into `req`, which outlives the call.
    let rc = unsafe { libc::ioctl(fd, TUNGETIFF as _, &mut req as *mut libc::ifreq) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel writes a NUL-terminated name of at most IFNAMSIZ bytes.
    let name = unsafe { CStr::from_ptr(req.ifr_name.as_ptr()) };
    // SAFETY: TUNGETIFF fills the flags member of the union.
    let flags = unsafe { req.ifr_ifru.ifru_flags };
    Ok((name.to_string_lossy().into_owned(), flags))
}

/// The virtio-net header length of a descriptor opened with `IFF_VNET_HDR`.
pub(crate) fn vnet_hdr_len(fd: RawFd) -> io::Result<usize> {
    let mut len: libc::c_int = 0;
    // SAFETY: TUNGETVNETHDRSZ writes one int into `len`, which outlives the call.
    let rc = unsafe { libc::ioctl(fd, TUNGETVNETHDRSZ as _, &mut len as *mut libc::c_int) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    usize::try_from(len).map_err(|_| io::Error::other("negative virtio-net header length"))
}

/// Makes a descriptor nonblocking.
pub(crate) fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: F_GETFL/F_SETFL only read and write the descriptor's status flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// One write of a packet given in two pieces (a virtio-net header and the packet), which the
/// TUN driver takes as one packet.
pub(crate) fn write2(fd: RawFd, head: &[u8], body: &[u8]) -> io::Result<usize> {
    let iov = [
        libc::iovec { iov_base: head.as_ptr() as *mut libc::c_void, iov_len: head.len() },
        libc::iovec { iov_base: body.as_ptr() as *mut libc::c_void, iov_len: body.len() },
    ];
    loop {
        // SAFETY: both iovecs describe live slices valid for reads for the call; writev does
        // not write through them despite the `*mut`.
        let n = unsafe { libc::writev(fd, iov.as_ptr(), 2) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// One nonblocking read; `Ok(None)` when nothing is queued.
pub(crate) fn read(fd: RawFd, buf: &mut [u8]) -> io::Result<Option<usize>> {
    loop {
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the duration of the call.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(Some(n as usize));
        }
        let e = io::Error::last_os_error();
        match e.kind() {
            io::ErrorKind::Interrupted => continue,
            io::ErrorKind::WouldBlock => return Ok(None),
            _ => return Err(e),
        }
    }
}

/// One write of a whole packet (TUN writes are atomic per packet).
pub(crate) fn write(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    loop {
        // SAFETY: `buf` is valid for reads of `buf.len()` bytes for the duration of the call.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Waits until `fd` is readable or `timeout_ms` passes (-1: forever). True when readable.
pub(crate) fn poll_readable(fd: RawFd, timeout_ms: i32) -> io::Result<bool> {
    let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    loop {
        // SAFETY: `pfd` is one valid pollfd and we pass a count of 1.
        let n = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
        if n >= 0 {
            return Ok(n > 0 && pfd.revents & (libc::POLLIN | libc::POLLERR | libc::POLLHUP) != 0);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Moves the calling thread into the network namespace open at `fd`.
pub(crate) fn setns_net(fd: &OwnedFd) -> io::Result<()> {
    // SAFETY: `fd` is an open descriptor; setns only changes the calling thread's namespace.
    let rc = unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A nonblocking `SOCK_SEQPACKET` pair, for the tests of the batched I/O: one packet per read
/// and write, as on a TUN.
#[cfg(test)]
pub(crate) fn seqpacket_pair() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: socketpair writes two descriptors into `fds`.
    let rc = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    assert_eq!(rc, 0, "socketpair: {}", io::Error::last_os_error());
    // SAFETY: both were just opened and are owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}
