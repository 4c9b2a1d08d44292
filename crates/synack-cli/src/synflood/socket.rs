//! A packet socket (AF_PACKET, SOCK_DGRAM) that puts whole IPv4 packets straight onto one
//! network device, bypassing the kernel's routing and its queueing discipline, in batches of
//! `sendmmsg`: the cheapest way a process has to offer packets to a TUN device's reader.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// `PACKET_QDISC_BYPASS` (linux/if_packet.h): send straight to the driver.
const PACKET_QDISC_BYPASS: libc::c_int = 20;

/// Send buffer asked for (SO_SNDBUFFORCE, root only): room for some 20,000 SYNs in flight.
const SEND_BUFFER: libc::c_int = 16 << 20;

/// setsockopt(2) with an int value.
fn set_int(
    fd: &OwnedFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: `value` is a c_int that lives across the call, and its size is passed.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&raw const value).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// An AF_PACKET socket that only sends, to one device.
pub(crate) struct PacketSocket {
    fd: OwnedFd,
    to: libc::sockaddr_ll,
}

impl PacketSocket {
    /// A socket sending IPv4 packets on device `dev` (which must have no link-layer header of
    /// its own to fill in, as a TUN device has none). Needs CAP_NET_RAW.
    pub(crate) fn open(dev: &str) -> io::Result<PacketSocket> {
        let name = CString::new(dev).map_err(|_| io::Error::other("device name has a NUL"))?;
        // SAFETY: `name` is a valid NUL-terminated string that outlives the call.
        let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
        if ifindex == 0 {
            return Err(io::Error::last_os_error());
        }
        // Protocol 0: the socket receives nothing, so no receive queue fills behind it.
        // SAFETY: plain socket(2) call; the result is checked before use.
        let raw =
            unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a descriptor socket(2) just returned, owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        set_int(&fd, libc::SOL_PACKET, PACKET_QDISC_BYPASS, 1)?;
        // A packet sits in the device's queue charged to this socket until the reader takes
        // it: with the default send buffer (about 270 SYNs) the socket, not the device's
        // queue, would be what refuses the flood.
        set_int(&fd, libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, SEND_BUFFER)?;
        // SAFETY: sockaddr_ll is plain data; all zeros is a valid value.
        let mut to: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        to.sll_family = libc::AF_PACKET as u16;
        to.sll_protocol = (libc::ETH_P_IP as u16).to_be();
        to.sll_ifindex = ifindex as i32;
        Ok(PacketSocket { fd, to })
    }

    /// Sends `packets` with one `sendmmsg` call: returns how many the kernel took (the rest
    /// were refused, e.g. by a full device queue, and are for the caller to count as lost).
    pub(crate) fn send_batch<const N: usize>(&self, packets: &mut [[u8; N]]) -> io::Result<usize> {
        let mut iov: Vec<libc::iovec> = packets
            .iter_mut()
            .map(|p| libc::iovec { iov_base: p.as_mut_ptr().cast(), iov_len: N })
            .collect();
        let mut to = self.to;
        let mut msgs: Vec<libc::mmsghdr> = iov
            .iter_mut()
            .map(|v| {
                // SAFETY: msghdr is plain data; all zeros is a valid (empty) header.
                let mut h: libc::msghdr = unsafe { std::mem::zeroed() };
                h.msg_name = (&raw mut to).cast();
                h.msg_namelen = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
                h.msg_iov = v;
                h.msg_iovlen = 1;
                libc::mmsghdr { msg_hdr: h, msg_len: 0 }
            })
            .collect();
        // SAFETY: every header points at `to`, one iovec and its packet, all of which live
        // until the call returns; the count passed is the vector's length.
        let n = unsafe {
            libc::sendmmsg(self.fd.as_raw_fd(), msgs.as_mut_ptr(), msgs.len() as libc::c_uint, 0)
        };
        if n < 0 { Err(io::Error::last_os_error()) } else { Ok(n as usize) }
    }
}
