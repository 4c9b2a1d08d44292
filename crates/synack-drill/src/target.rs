//! The stack under test as the runner sees it: BSD-socket-shaped calls with POSIX errnos, plus
//! the sans-IO segment interface and a virtual clock.
//!
//! The runner (fd table, blocking, times, checks) is written against this trait; the adapter over
//! `synack_tcp::Endpoint` implements it (see [`crate::engine`]). Keeping the boundary here means the
//! runner's rules are tested on their own and the engine adapter only translates calls.

use crate::code::TcpInfo;
use crate::segment::Segment;
use std::fmt;
use std::net::SocketAddr;

/// A socket handle given out by the target.
pub type SockId = u32;

/// POSIX error numbers the suites check, with Linux's values (what `SO_ERROR` returns).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(clippy::upper_case_acronyms)]
pub enum Errno {
    /// Operation not permitted.
    EPERM,
    /// Bad file descriptor.
    EBADF,
    /// Try again (non-blocking call not ready).
    EAGAIN,
    /// Invalid argument.
    EINVAL,
    /// Broken pipe (write after shutdown or reset).
    EPIPE,
    /// Protocol not available (unknown socket option).
    ENOPROTOOPT,
    /// Operation not supported.
    EOPNOTSUPP,
    /// Address already in use.
    EADDRINUSE,
    /// Connection aborted.
    ECONNABORTED,
    /// Connection reset by peer.
    ECONNRESET,
    /// Already connected.
    EISCONN,
    /// Not connected.
    ENOTCONN,
    /// Connection timed out.
    ETIMEDOUT,
    /// Connection refused.
    ECONNREFUSED,
    /// Operation already in progress.
    EALREADY,
    /// Operation now in progress.
    EINPROGRESS,
    /// Host unreachable.
    EHOSTUNREACH,
    /// No buffer space.
    ENOBUFS,
    /// Already exists (an fd added to an epoll set twice).
    EEXIST,
    /// Bad address (a NULL buffer).
    EFAULT,
    /// Network unreachable.
    ENETUNREACH,
    /// Protocol error.
    EPROTO,
    /// Message too long.
    EMSGSIZE,
    /// No such entry (an fd an epoll set does not hold).
    ENOENT,
}

impl Errno {
    const ALL: [Errno; 24] = [
        Errno::EPERM,
        Errno::EBADF,
        Errno::EAGAIN,
        Errno::EINVAL,
        Errno::EPIPE,
        Errno::ENOPROTOOPT,
        Errno::EOPNOTSUPP,
        Errno::EADDRINUSE,
        Errno::ECONNABORTED,
        Errno::ECONNRESET,
        Errno::EISCONN,
        Errno::ENOTCONN,
        Errno::ETIMEDOUT,
        Errno::ECONNREFUSED,
        Errno::EALREADY,
        Errno::EINPROGRESS,
        Errno::EHOSTUNREACH,
        Errno::ENOBUFS,
        Errno::EEXIST,
        Errno::ENOENT,
        Errno::EFAULT,
        Errno::ENETUNREACH,
        Errno::EPROTO,
        Errno::EMSGSIZE,
    ];

    /// Linux's number for it.
    pub fn number(self) -> i64 {
        match self {
            Errno::EPERM => 1,
            Errno::EBADF => 9,
            Errno::EAGAIN => 11,
            Errno::EINVAL => 22,
            Errno::EPIPE => 32,
            Errno::ENOPROTOOPT => 92,
            Errno::EOPNOTSUPP => 95,
            Errno::EADDRINUSE => 98,
            Errno::ECONNABORTED => 103,
            Errno::ECONNRESET => 104,
            Errno::EISCONN => 106,
            Errno::ENOTCONN => 107,
            Errno::ETIMEDOUT => 110,
            Errno::ECONNREFUSED => 111,
            Errno::EALREADY => 114,
            Errno::EINPROGRESS => 115,
            Errno::EHOSTUNREACH => 113,
            Errno::ENOBUFS => 105,
            Errno::EEXIST => 17,
            Errno::EFAULT => 14,
            Errno::ENOENT => 2,
            Errno::ENETUNREACH => 101,
            Errno::EPROTO => 71,
            Errno::EMSGSIZE => 90,
        }
    }

    /// Its name as scripts write it.
    pub fn name(self) -> &'static str {
        match self {
            Errno::EPERM => "EPERM",
            Errno::EBADF => "EBADF",
            Errno::EAGAIN => "EAGAIN",
            Errno::EINVAL => "EINVAL",
            Errno::EPIPE => "EPIPE",
            Errno::ENOPROTOOPT => "ENOPROTOOPT",
            Errno::EOPNOTSUPP => "EOPNOTSUPP",
            Errno::EADDRINUSE => "EADDRINUSE",
            Errno::ECONNABORTED => "ECONNABORTED",
            Errno::ECONNRESET => "ECONNRESET",
            Errno::EISCONN => "EISCONN",
            Errno::ENOTCONN => "ENOTCONN",
            Errno::ETIMEDOUT => "ETIMEDOUT",
            Errno::ECONNREFUSED => "ECONNREFUSED",
            Errno::EALREADY => "EALREADY",
            Errno::EINPROGRESS => "EINPROGRESS",
            Errno::EHOSTUNREACH => "EHOSTUNREACH",
            Errno::ENOBUFS => "ENOBUFS",
            Errno::EEXIST => "EEXIST",
            Errno::EFAULT => "EFAULT",
            Errno::ENOENT => "ENOENT",
            Errno::ENETUNREACH => "ENETUNREACH",
            Errno::EPROTO => "EPROTO",
            Errno::EMSGSIZE => "EMSGSIZE",
        }
    }

    /// Looks a name up (`EWOULDBLOCK` is `EAGAIN`).
    pub fn from_name(name: &str) -> Option<Errno> {
        if name == "EWOULDBLOCK" {
            return Some(Errno::EAGAIN);
        }
        Errno::ALL.into_iter().find(|e| e.name() == name)
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Socket options the suites set or read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SockOpt {
    /// SO_REUSEADDR
    ReuseAddr,
    /// SO_SNDBUF
    SndBuf,
    /// SO_RCVBUF
    RcvBuf,
    /// SO_KEEPALIVE
    KeepAlive,
    /// SO_ERROR (read only; reading clears it)
    Error,
    /// TCP_NODELAY
    NoDelay,
    /// TCP_MAXSEG
    MaxSeg,
    /// TCP_USER_TIMEOUT (milliseconds)
    UserTimeout,
    /// TCP_KEEPIDLE (seconds)
    KeepIdle,
    /// TCP_KEEPINTVL (seconds)
    KeepIntvl,
    /// TCP_KEEPCNT
    KeepCnt,
    /// TCP_LINGER2 (seconds): how long an orphaned connection stays in FIN-WAIT-2; 0 is the
    /// default (`tcp_fin_timeout`, 60 s), a negative value none, at most 120 s.
    Linger2,
    /// TCP_FASTOPEN: on a listener, the Fast Open queue length; on FreeBSD also a client
    /// socket's switch for Fast Open on its implied connect.
    FastOpen,
    /// TCP_FASTOPEN_CONNECT (Linux): `connect` waits for the first write, whose data goes on
    /// the SYN.
    FastOpenConnect,
    /// TCP_FASTOPEN_NO_COOKIE (Linux): data on the SYN without a cookie.
    FastOpenNoCookie,
    /// TCP_FASTOPEN_KEY (Linux): the listener's 16-byte cookie key, given as bytes.
    FastOpenKey,
    /// SO_MAX_PACING_RATE: the most bytes per second pacing lets out (~0: no cap).
    MaxPacingRate,
    /// SO_ZEROCOPY (Linux): `send(MSG_ZEROCOPY)` reports completions on the error queue.
    ZeroCopy,
    /// SO_MARK (Linux): the packets' firewall mark, which no TCP behaviour reads.
    Mark,
    /// SO_TIMESTAMPING (Linux): the `SOF_TIMESTAMPING_*` bits; the transmit record flags
    /// stamp each write's last byte onto the error queue.
    Timestamping,
    /// TCP_INQ (Linux): `recvmsg` reports the bytes left to read in a `TCP_CM_INQ` message.
    Inq,
    /// TCP_NOTSENT_LOWAT (Linux): the unsent low-water mark; 0 is the
    /// `net.ipv4.tcp_notsent_lowat` default.
    NotsentLowat,
    /// TCP_SYNCNT (Linux): SYN retransmissions before an active open gives up (1..=127).
    SynCnt,
    /// TCP_REMOTE_UDP_ENCAPS_PORT (FreeBSD): the remote UDP port the connection's segments
    /// travel to inside UDP (0: plain TCP); only while the tunnel port sysctl is set.
    RemoteUdpEncapsPort,
    /// TCP_KEEPINIT (FreeBSD, seconds): how long an open attempt may take.
    KeepInit,
    /// TCP_NOOPT (FreeBSD): no TCP options on the SYN or SYN-ACK.
    NoOpt,
    /// IP_TTL / IPV6_UNICAST_HOPS: the packets' TTL or hop limit (-1: the default).
    IpTtl,
    /// IP_TOS / IPV6_TCLASS: the packets' TOS or traffic class; its ECN bits stay the
    /// connection's.
    IpTos,
    /// TCP_FUNCTION_BLK (FreeBSD): which TCP stack the socket runs, given as a struct naming
    /// it; the engine models FreeBSD's default stack, `freebsd`.
    FunctionBlk,
    /// FreeBSD's RACK stack options (`TCP_RACK_PACE_MAX_SEG`, `TCP_RACK_PACE_RATE_SS`,
    /// `TCP_RACK_PACE_ALWAYS`, ... : `TCP_RACK_*`), which only the RACK and BBR stacks take;
    /// the engine models the default stack, which refuses them (`ENOPROTOOPT`).
    RackStack,
    /// TCP_MD5SIG: on FreeBSD an int switching RFC 2385 signatures on for the socket, with
    /// the keys of the security associations `setkey` installed for its peer.
    Md5Sig,
}

impl SockOpt {
    /// Maps `(level, name)` as scripts write them.
    pub fn from_names(level: &str, name: &str) -> Option<SockOpt> {
        let tcp = matches!(level, "SOL_TCP" | "IPPROTO_TCP");
        let sock = level == "SOL_SOCKET";
        let ip = matches!(level, "IPPROTO_IP" | "SOL_IP");
        let ipv6 = matches!(level, "IPPROTO_IPV6" | "SOL_IPV6");
        Some(match name {
            "SO_REUSEADDR" if sock => SockOpt::ReuseAddr,
            "SO_SNDBUF" if sock => SockOpt::SndBuf,
            "SO_RCVBUF" if sock => SockOpt::RcvBuf,
            "SO_KEEPALIVE" if sock => SockOpt::KeepAlive,
            "SO_ERROR" if sock => SockOpt::Error,
            "SO_MAX_PACING_RATE" if sock => SockOpt::MaxPacingRate,
            "TCP_NODELAY" if tcp => SockOpt::NoDelay,
            "TCP_MAXSEG" if tcp => SockOpt::MaxSeg,
            "TCP_USER_TIMEOUT" if tcp => SockOpt::UserTimeout,
            "TCP_KEEPIDLE" if tcp => SockOpt::KeepIdle,
            "TCP_KEEPINTVL" if tcp => SockOpt::KeepIntvl,
            "TCP_KEEPCNT" if tcp => SockOpt::KeepCnt,
            "TCP_LINGER2" if tcp => SockOpt::Linger2,
            "TCP_FASTOPEN" if tcp => SockOpt::FastOpen,
            "TCP_FASTOPEN_CONNECT" if tcp => SockOpt::FastOpenConnect,
            "TCP_FASTOPEN_NO_COOKIE" if tcp => SockOpt::FastOpenNoCookie,
            "TCP_FASTOPEN_KEY" if tcp => SockOpt::FastOpenKey,
            "SO_ZEROCOPY" if sock => SockOpt::ZeroCopy,
            "SO_MARK" if sock => SockOpt::Mark,
            "SO_TIMESTAMPING" if sock => SockOpt::Timestamping,
            "TCP_INQ" if tcp => SockOpt::Inq,
            "TCP_NOTSENT_LOWAT" if tcp => SockOpt::NotsentLowat,
            "TCP_SYNCNT" if tcp => SockOpt::SynCnt,
            "TCP_REMOTE_UDP_ENCAPS_PORT" if tcp => SockOpt::RemoteUdpEncapsPort,
            "TCP_KEEPINIT" if tcp => SockOpt::KeepInit,
            "TCP_NOOPT" if tcp => SockOpt::NoOpt,
            "IP_TTL" if ip => SockOpt::IpTtl,
            "IPV6_UNICAST_HOPS" if ipv6 => SockOpt::IpTtl,
            "IP_TOS" if ip => SockOpt::IpTos,
            "IPV6_TCLASS" if ipv6 => SockOpt::IpTos,
            "TCP_FUNCTION_BLK" if tcp => SockOpt::FunctionBlk,
            "TCP_MD5SIG" if tcp => SockOpt::Md5Sig,
            n if tcp && n.starts_with("TCP_RACK_") => SockOpt::RackStack,
            _ => return None,
        })
    }
}

/// `shutdown` directions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shutdown {
    /// SHUT_RD
    Read,
    /// SHUT_WR
    Write,
    /// SHUT_RDWR
    Both,
}

/// What `poll` would report for a socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Readiness {
    /// POLLIN: data, end of stream, or a connection to accept.
    pub readable: bool,
    /// POLLOUT: connected with send-buffer space.
    pub writable: bool,
    /// POLLERR: a pending error.
    pub error: bool,
    /// POLLHUP: both directions closed.
    pub hup: bool,
    /// POLLRDHUP: the peer closed its direction.
    pub rdhup: bool,
}

/// The stack under test.
pub trait Target {
    /// A new TCP socket.
    fn socket(&mut self) -> Result<SockId, Errno>;
    /// Binds a local address.
    fn bind(&mut self, s: SockId, local: SocketAddr) -> Result<(), Errno>;
    /// Starts listening.
    fn listen(&mut self, now: u64, s: SockId, backlog: u32) -> Result<(), Errno>;
    /// Takes an established connection off a listener, `EAGAIN` when none is ready.
    fn accept(&mut self, now: u64, s: SockId) -> Result<SockId, Errno>;
    /// Starts an active open (`EINPROGRESS`); after that reports `EALREADY`, then `EISCONN`
    /// or the connection's error.
    fn connect(&mut self, now: u64, s: SockId, remote: SocketAddr) -> Result<(), Errno>;
    /// `connect(AF_UNSPEC)`: the connection is dropped as an abort drops it (a RST from a
    /// synchronized state) and the socket, still bound, may connect again.
    fn disconnect(&mut self, now: u64, s: SockId) -> Result<(), Errno>;
    /// `sendto` with a destination on a socket that is not connected: an active open that
    /// carries `data`: Linux's `MSG_FASTOPEN` (`fast_open`), or FreeBSD's implied connect (Fast
    /// Open when the socket set `TCP_FASTOPEN`). Returns the bytes taken; Linux returns
    /// `EINPROGRESS` when none went (a non-blocking socket takes only what the SYN carries).
    fn send_to(
        &mut self,
        now: u64,
        s: SockId,
        remote: SocketAddr,
        data: &[u8],
        fast_open: bool,
        nonblocking: bool,
    ) -> Result<usize, Errno>;
    /// The destination of a `connect` deferred to the first write (`TCP_FASTOPEN_CONNECT`).
    fn deferred_connect(&self, s: SockId) -> Option<SocketAddr>;
    /// Sets a byte-string option (`TCP_FASTOPEN_KEY`).
    fn set_option_bytes(&mut self, s: SockId, opt: SockOpt, value: &[u8]) -> Result<(), Errno>;
    /// Queues data; `EAGAIN` when the buffer is full.
    fn write(&mut self, now: u64, s: SockId, data: &[u8]) -> Result<usize, Errno>;
    /// Queues data whose last byte ends a record (`send(..., MSG_EOR)`): no segment carries
    /// bytes of both sides of it. A partial write marks nothing.
    fn write_record(&mut self, now: u64, s: SockId, data: &[u8]) -> Result<usize, Errno>;
    /// Queues data with more announced (`send(..., MSG_MORE)`): a sub-MSS tail waits (a
    /// cork) until a segment arrives, a plain write follows or the persist timer fires.
    fn write_more(&mut self, now: u64, s: SockId, data: &[u8]) -> Result<usize, Errno>;
    /// Queues urgent data (`send(..., MSG_OOB)`): the urgent pointer marks its end.
    fn write_urgent(&mut self, now: u64, s: SockId, data: &[u8]) -> Result<usize, Errno>;
    /// Reads data; `Ok(0)` at end of stream, `EAGAIN` when nothing is there yet.
    fn read(&mut self, now: u64, s: SockId, buf: &mut [u8]) -> Result<usize, Errno>;
    /// What a read of `len` bytes would return, without taking anything (`MSG_PEEK`): the bytes
    /// queued (at most `len`), 0 at end of stream, the connection's error (left pending), or
    /// EAGAIN.
    fn peek(&mut self, now: u64, s: SockId, len: usize) -> Result<usize, Errno>;
    /// Shuts one or both directions.
    fn shutdown(&mut self, now: u64, s: SockId, how: Shutdown) -> Result<(), Errno>;
    /// Closes the socket (the connection finishes in the background).
    fn close(&mut self, now: u64, s: SockId) -> Result<(), Errno>;
    /// Sets an option.
    fn set_option(&mut self, now: u64, s: SockId, opt: SockOpt, value: i64) -> Result<(), Errno>;
    /// Reads an option (SO_ERROR gives the errno number and clears it).
    fn get_option(&mut self, s: SockId, opt: SockOpt) -> Result<i64, Errno>;
    /// Bytes ready to read (FIONREAD / SIOCINQ).
    fn inq(&mut self, s: SockId) -> Result<usize, Errno>;
    /// Poll readiness.
    fn readiness(&mut self, s: SockId) -> Readiness;
    /// Readiness as the kernel's poll hook computes it for `poll()` and for `epoll` when it
    /// looks at a socket: besides [`Target::readiness`], a socket found not writable asks
    /// for a wakeup once send space comes back (Linux's `tcp_poll` sets `SOCK_NOSPACE`).
    fn poll_readiness(&mut self, s: SockId) -> Readiness {
        self.readiness(s)
    }
    /// The local address (after bind or connect).
    fn local_addr(&self, s: SockId) -> Option<SocketAddr>;
    /// A TCP_INFO-style snapshot, `None` when the socket has no connection.
    /// `now` is the virtual time, for the fields that are ages (`tcpi_last_data_recv`).
    fn tcp_info(&self, now: u64, s: SockId) -> Option<TcpInfo>;
    /// Every TCP socket as `sockstat` lists it: the script's own, the listeners' half-open
    /// connections (`SYN_RCVD`) and connections left behind after close.
    fn sock_states(&self) -> Vec<crate::probe::SockState>;
    /// The stack's MIB counters under Linux's nstat names (`TcpExtBeyondWindow`), every
    /// counter it keeps, zeros included; nothing when it keeps none.
    fn mib(&self) -> Vec<(&'static str, u64)> {
        Vec::new()
    }
    /// Drops every connection in the named state (`tcpdrop -s STATE`); how many were dropped.
    fn drop_state(&mut self, now: u64, state: &str) -> usize;
    /// `ip tcp_metrics flush`: forgets what the stack learned per destination (its Fast Open
    /// cookies; Linux keeps them in the TCP metrics cache).
    fn flush_metrics(&mut self);
    /// An inbound segment arrives.
    fn deliver(&mut self, now: u64, seg: &Segment);
    /// An ICMP or ICMPv6 error arrives, quoting a segment the stack sent.
    fn deliver_icmp(&mut self, now: u64, icmp: &IcmpMessage);
    /// The next outbound segment, if any is ready at `now`.
    fn poll_transmit(&mut self, now: u64) -> Option<Segment>;
    /// The next time the stack wants [`Target::on_timeout`].
    fn poll_timeout(&self) -> Option<u64>;
    /// Timers due at `now` run.
    fn on_timeout(&mut self, now: u64);
    /// A `send(MSG_ZEROCOPY)` queued `bytes` (more than 0): on a socket with `SO_ZEROCOPY` it
    /// takes the next completion id, reported on the error queue once the peer acknowledged
    /// the bytes.
    fn zerocopy_sent(&mut self, s: SockId, bytes: usize);
    /// The oldest entry of the socket's error queue (`recvmsg(MSG_ERRQUEUE)`), if any.
    fn error_queue_pop(&mut self, s: SockId) -> Option<ErrQueueEntry>;
    /// How many times the socket has woken its waiters so far: data or a FIN arrived, the
    /// state or error changed, an error-queue entry was added, or send space came back after
    /// a write found none. Edge-triggered `epoll` reports a socket only after a new wakeup.
    fn wakeups(&mut self, s: SockId) -> u64;
    /// The `TCP_CM_INQ` value `recvmsg` reports when the socket set `TCP_INQ` (`None`
    /// otherwise): bytes left to read, counting a received FIN as one (Linux's
    /// `tcp_inq_hint`, so a reader learns to read on to the end of the stream).
    fn inq_hint(&mut self, s: SockId) -> Option<i64>;
    /// A setting changed while the stack runs (one the factory's `applies_live` accepted):
    /// endpoint-wide ones that a running stack takes (the Fast Open bits) apply at once, and
    /// sockets made from now on take `profile`'s per-socket settings.
    fn reconfigure(&mut self, profile: &crate::profile::Profile);
}

/// An inbound ICMP error as the runner builds it from an `icmp` line: the message's type,
/// code and MTU field, and what it quotes of the packet the stack sent (its addresses and
/// TCP ports, its sequence number, and the UDP ports when the segment travelled inside UDP).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IcmpMessage {
    /// ICMPv6 (else ICMPv4).
    pub v6: bool,
    /// The type byte.
    pub icmp_type: u8,
    /// The code byte.
    pub code: u8,
    /// The MTU field ("fragmentation needed" / "packet too big"), 0 when absent.
    pub mtu: u32,
    /// The quoted packet's source: the stack's address and TCP port.
    pub local: SocketAddr,
    /// The quoted packet's destination: the peer's address and TCP port.
    pub remote: SocketAddr,
    /// The quoted TCP sequence number (live).
    pub seq: u32,
    /// The quoted UDP header's ports (source, destination) of an encapsulated segment.
    pub udp: Option<(u16, u16)>,
}

/// An error-queue entry as `recvmsg(MSG_ERRQUEUE)` returns it: a `sock_extended_err`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrQueueEntry {
    /// `ee_errno`.
    pub errno: i64,
    /// `ee_origin` (`SO_EE_ORIGIN_ZEROCOPY` is 5).
    pub origin: i64,
    /// `ee_type`.
    pub kind: i64,
    /// `ee_code` (`SO_EE_CODE_ZEROCOPY_COPIED` is 1).
    pub code: i64,
    /// `ee_info`.
    pub info: i64,
    /// `ee_data`.
    pub data: i64,
    /// The software time in an `SCM_TIMESTAMPING` message before the `sock_extended_err`
    /// (microseconds of virtual time), `None` when no such message comes.
    pub stamp: Option<u64>,
    /// Bytes of the packet copy queued with the entry: a `msg_iov` shorter than that sees
    /// `MSG_TRUNC`.
    pub packet_len: usize,
}
