//! Syscall lines mapped onto the [`Target`]: argument decoding, fds, blocking, errnos.

use super::{Fd, Pending, Runner, Stop, fmt_time};
use crate::ast::{Expr, Syscall};
use crate::target::{Errno, Shutdown, SockOpt, Target};
use std::net::{IpAddr, SocketAddr};

pub(crate) mod epoll;
mod file;
mod msg;

/// Most bytes handed to the stack per write attempt.
const WRITE_CHUNK: usize = 64 * 1024;

/// Result of one attempt at a call.
pub(crate) enum Step {
    /// Not ready and the socket is blocking.
    Blocked,
    /// Returned: a value or an errno.
    Done(Result<i64, Errno>),
    /// The call itself cannot be carried out.
    Stop(Stop),
}

const SYSCALLS: &[&str] = &[
    "socket",
    "bind",
    "listen",
    "accept",
    "connect",
    "read",
    "recv",
    "recvfrom",
    "write",
    "send",
    "sendto",
    "shutdown",
    "close",
    "fcntl",
    "ioctl",
    "setsockopt",
    "getsockopt",
    "poll",
    "sendmsg",
    "recvmsg",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
    "open",
    "sendfile",
];

/// Checks before the run that a call is one the runner maps.
pub(crate) fn supported(s: &Syscall) -> Result<(), String> {
    if !SYSCALLS.contains(&s.name.as_str()) {
        return Err(format!("syscall {}() is not mapped onto the engine", s.name));
    }
    match s.name.as_str() {
        "setsockopt" | "getsockopt" => {
            let (Some(Expr::Symbol(level)), Some(Expr::Symbol(name))) =
                (s.args.get(1), s.args.get(2))
            else {
                return Err(format!("{}() with non-symbolic level/name", s.name));
            };
            if SockOpt::from_names(level, name).is_none() {
                return Err(format!("socket option {level}/{name} is not mapped onto the engine"));
            }
        }
        "ioctl" => match s.args.get(1) {
            Some(Expr::Symbol(n)) if n == "SIOCINQ" || n == "FIONREAD" => {}
            _ => return Err("ioctl() other than SIOCINQ/FIONREAD".into()),
        },
        "fcntl" => match s.args.get(1) {
            Some(Expr::Symbol(n)) if n == "F_GETFL" || n == "F_SETFL" => {}
            _ => return Err("fcntl() other than F_GETFL/F_SETFL".into()),
        },
        "recv" | "recvfrom" | "send" | "sendto" | "sendmsg" | "recvmsg" => {
            let at = if s.name.ends_with("msg") { 2 } else { 3 };
            if let Some(flags) = s.args.get(at) {
                let known: &[&str] = match s.name.as_str() {
                    "recv" | "recvfrom" => RECV_FLAGS,
                    "send" => SEND_FLAGS,
                    "sendmsg" => SENDMSG_FLAGS,
                    "recvmsg" => RECVMSG_FLAGS,
                    _ => SENDTO_FLAGS,
                };
                for f in flag_names(flags) {
                    match f {
                        Some(name) if known.contains(&name) => {}
                        Some(name) => return Err(format!("{}() flag {name}", s.name)),
                        None => return Err(format!("{}() flags given as a number", s.name)),
                    }
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// `recv()` flags the runner models: peeking and a one-off non-blocking call.
const RECV_FLAGS: &[&str] = &["MSG_PEEK", "MSG_DONTWAIT"];
/// `send()` flags the runner models: urgent data, a one-off non-blocking call, Linux's
/// zerocopy completions, no SIGPIPE (which the runner never raises), a record end and more
/// data announced.
const SEND_FLAGS: &[&str] =
    &["MSG_OOB", "MSG_DONTWAIT", "MSG_ZEROCOPY", "MSG_NOSIGNAL", "MSG_EOR", "MSG_MORE"];

/// `sendto()` flags the runner models: Linux's Fast Open open and those of `send()` but urgent
/// data.
const SENDTO_FLAGS: &[&str] = &["MSG_FASTOPEN", "MSG_DONTWAIT", "MSG_ZEROCOPY", "MSG_NOSIGNAL"];

/// `sendmsg()` flags: those of `sendto()`, a record end and more data announced.
const SENDMSG_FLAGS: &[&str] =
    &["MSG_FASTOPEN", "MSG_DONTWAIT", "MSG_ZEROCOPY", "MSG_NOSIGNAL", "MSG_EOR", "MSG_MORE"];

/// `recvmsg()` flags: the error queue, peeking and a one-off non-blocking call.
const RECVMSG_FLAGS: &[&str] = &["MSG_ERRQUEUE", "MSG_PEEK", "MSG_DONTWAIT"];

/// Linux's `MSG_*` numbers, for flags a script gives as a number.
const MSG_BITS: &[(i64, &str)] = &[
    (0x1, "MSG_OOB"),
    (0x2, "MSG_PEEK"),
    (0x40, "MSG_DONTWAIT"),
    (0x80, "MSG_EOR"),
    (0x2000, "MSG_ERRQUEUE"),
    (0x4000, "MSG_NOSIGNAL"),
    (0x8000, "MSG_MORE"),
    (0x400_0000, "MSG_ZEROCOPY"),
    (0x2000_0000, "MSG_FASTOPEN"),
];

/// The names in a flags argument (`0`, `MSG_X`, `MSG_X|MSG_Y`, or a number in Linux's
/// numbering); `None` for a number with a bit that has no name here.
fn flag_names(e: &Expr) -> Vec<Option<&str>> {
    match e {
        Expr::Int(0) => Vec::new(),
        Expr::Int(v) => {
            let known: i64 = MSG_BITS.iter().map(|(b, _)| b).sum();
            let mut names: Vec<Option<&str>> =
                MSG_BITS.iter().filter(|(b, _)| v & b != 0).map(|(_, n)| Some(*n)).collect();
            if v & !known != 0 {
                names.push(None);
            }
            names
        }
        Expr::Symbol(s) => vec![Some(s.as_str())],
        Expr::BitOr(parts) => parts.iter().flat_map(flag_names).collect(),
        _ => vec![None],
    }
}

/// True when the call's flags argument names `flag`.
fn has_flag(call: &Syscall, flag: &str) -> bool {
    has_flag_at(call, 3, flag)
}

/// True when argument `at` (a flags argument) names `flag`.
fn has_flag_at(call: &Syscall, at: usize, flag: &str) -> bool {
    call.args.get(at).is_some_and(|f| flag_names(f).contains(&Some(flag)))
}

fn fail(reason: String) -> Stop {
    Stop::Fail { actual: None, reason }
}

impl<T: Target> Runner<'_, T> {
    /// O_NONBLOCK as the profile's OS spells it.
    fn o_nonblock(&self) -> i64 {
        if self.profile.name == "freebsd" { 0x4 } else { 0o4000 }
    }

    fn symbol(&self, name: &str) -> Option<i64> {
        Some(match name {
            "O_RDONLY" => 0,
            "O_WRONLY" => 1,
            "O_RDWR" => 2,
            "O_NONBLOCK" => self.o_nonblock(),
            "SHUT_RD" => 0,
            "SHUT_WR" => 1,
            "SHUT_RDWR" => 2,
            "POLLIN" => 0x1,
            "POLLPRI" => 0x2,
            "POLLOUT" => 0x4,
            "POLLERR" => 0x8,
            "POLLHUP" => 0x10,
            "POLLRDHUP" => 0x2000,
            "EPOLLIN" => epoll::EPOLLIN,
            "EPOLLOUT" => epoll::EPOLLOUT,
            "EPOLLERR" => epoll::EPOLLERR,
            "EPOLLHUP" => epoll::EPOLLHUP,
            "EPOLLRDHUP" => epoll::EPOLLRDHUP,
            "EPOLLET" => epoll::EPOLLET,
            "EPOLLONESHOT" => epoll::EPOLLONESHOT,
            "EPOLLEXCLUSIVE" => epoll::EPOLLEXCLUSIVE,
            "EPOLL_CTL_ADD" => 1,
            "EPOLL_CTL_DEL" => 2,
            "EPOLL_CTL_MOD" => 3,
            "MSG_ERRQUEUE" => msg::MSG_ERRQUEUE,
            "MSG_TRUNC" => msg::MSG_TRUNC,
            // linux/errqueue.h
            "SO_EE_ORIGIN_TIMESTAMPING" => 4,
            "SO_EE_ORIGIN_ZEROCOPY" => 5,
            "SO_EE_CODE_ZEROCOPY_COPIED" => 1,
            "SCM_TSTAMP_SND" => 0,
            "SCM_TSTAMP_SCHED" => 1,
            "SCM_TSTAMP_ACK" => 2,
            "ENOMSG" => 42,
            // Control message levels and types: the socket level's `SCM_TIMESTAMPING`, and
            // packetdrill's names for the IP level and its error type, which follow the
            // script's address family.
            "SOL_SOCKET" => msg::SOL_SOCKET,
            "SCM_TIMESTAMPING" => msg::SCM_TIMESTAMPING,
            "CMSG_LEVEL_IP" => msg::recverr_cmsg(self.cfg.local_ip.is_ipv6()).0,
            "CMSG_TYPE_RECVERR" => msg::recverr_cmsg(self.cfg.local_ip.is_ipv6()).1,
            "SOL_IP" => msg::recverr_cmsg(false).0,
            "IP_RECVERR" => msg::recverr_cmsg(false).1,
            "SOL_IPV6" => msg::recverr_cmsg(true).0,
            "IPV6_RECVERR" => msg::recverr_cmsg(true).1,
            // linux/net_tstamp.h
            _ if name.starts_with("SOF_TIMESTAMPING_") => {
                msg::sof_timestamping(&name["SOF_TIMESTAMPING_".len()..])?
            }
            // netinet/ip.h: class selector DSCPs (RFC 2474 4.2.2.2) in the TOS byte.
            _ if name.starts_with("IPTOS_DSCP_CS") => {
                let class = name["IPTOS_DSCP_CS".len()..].parse::<i64>().ok()?;
                if !(0..=7).contains(&class) {
                    return None;
                }
                class << 5
            }
            _ => return Errno::from_name(name).map(Errno::number),
        })
    }

    /// An integer argument: a number, a symbol, `A|B`, or `[v]`.
    fn int(&self, e: &Expr) -> Result<i64, Stop> {
        match e {
            Expr::Int(v) => Ok(*v),
            Expr::Symbol(s) => {
                self.symbol(s).ok_or_else(|| Stop::Unsupported(format!("unknown symbol {s}")))
            }
            Expr::BitOr(parts) => {
                let mut v = 0;
                for p in parts {
                    v |= self.int(p)?;
                }
                Ok(v)
            }
            Expr::List(l) if l.len() == 1 => self.int(&l[0]),
            other => {
                Err(Stop::Unsupported(format!("argument {other:?} where a number was expected")))
            }
        }
    }

    fn arg(&self, call: &Syscall, i: usize) -> Result<i64, Stop> {
        let e = call
            .args
            .get(i)
            .ok_or_else(|| fail(format!("{}() needs argument {}", call.name, i + 1)))?;
        self.int(e)
    }

    fn fd(&self, call: &Syscall) -> Result<Fd, Stop> {
        let n = self.arg(call, 0)?;
        self.fds.get(&n).copied().ok_or_else(|| fail(format!("fd {n} is not open in the script")))
    }

    /// The address argument: `...` means the script's configured one.
    fn sockaddr(&self, e: Option<&Expr>, default: SocketAddr) -> Result<SocketAddr, Stop> {
        match e {
            None | Some(Expr::Ellipsis) => Ok(default),
            Some(Expr::Struct(fields)) => {
                let mut port = default.port();
                let mut ip: IpAddr = default.ip();
                for (name, v) in fields {
                    match (name.as_deref(), v) {
                        (Some("sin_port"), Expr::Call(f, a)) if f == "htons" && a.len() == 1 => {
                            port = u16::try_from(self.int(&a[0])?)
                                .map_err(|_| fail("port out of range".into()))?;
                        }
                        (Some("sin_addr"), Expr::Call(f, a))
                            if f == "inet_addr" && a.len() == 1 =>
                        {
                            if let Expr::Str(s) = &a[0] {
                                ip = IpAddr::V4(
                                    s.parse().map_err(|_| fail(format!("bad address {s}")))?,
                                );
                            }
                        }
                        (Some("sa_family"), Expr::Symbol(f)) if f == "AF_INET" => {}
                        (Some("sin_family"), Expr::Symbol(f)) if f == "AF_INET" => {}
                        (n, v) => {
                            return Err(Stop::Unsupported(format!("sockaddr field {n:?} = {v:?}")));
                        }
                    }
                }
                Ok(SocketAddr::new(ip, port))
            }
            Some(other) => Err(Stop::Unsupported(format!("sockaddr {other:?}"))),
        }
    }

    /// The fd number the script expects a call to return (for socket/accept).
    fn expected_fd(&self, call: &Syscall) -> i64 {
        match call.result.value {
            Expr::Int(v) if v >= 0 => v,
            _ => (3..)
                .find(|n| {
                    !self.fds.contains_key(n)
                        && !self.epolls.contains_key(n)
                        && !self.files.open.contains_key(n)
                })
                .unwrap_or(3),
        }
    }

    /// Runs a syscall line that starts at `start`. `end` is the `...END` time, if written.
    /// Returns the live time the call finished (its start time when it is left pending).
    pub(super) fn syscall(
        &mut self,
        line: u32,
        call: &Syscall,
        start: u64,
        end: Option<u64>,
        tol: u64,
    ) -> Result<u64, Stop> {
        if end.is_some() && self.pending.is_some() {
            return Err(Stop::Unsupported("two blocking calls at the same time".into()));
        }
        let mut p = Pending {
            line,
            call: call.clone(),
            started: self.now,
            end: end.unwrap_or(start),
            tol,
            written: 0,
            opening: false,
            space_wait: false,
        };
        match self.attempt(&mut p, false) {
            Step::Done(result) => {
                self.check_result(call, result)?;
                if let Some(e) = end
                    && (self.now.saturating_add(tol) < e || self.now > e.saturating_add(tol))
                {
                    return Err(fail(format!(
                        "call returned at {} but was expected to block until {}",
                        fmt_time(self.now),
                        fmt_time(e)
                    )));
                }
                self.drain()?;
                Ok(self.now)
            }
            Step::Blocked if end.is_some() => {
                self.pending = Some(p);
                self.drain()?;
                Ok(start)
            }
            Step::Blocked => {
                // A blocking socket and no `...`: the call must finish within the tolerance.
                self.pending = Some(p);
                self.advance_to(start.saturating_add(tol))?;
                if self.pending.take().is_some() {
                    return Err(fail(format!(
                        "{}() blocked, but the script expects it to return at {}",
                        call.name,
                        fmt_time(start)
                    )));
                }
                Ok(self.now)
            }
            Step::Stop(s) => {
                self.drain()?;
                Err(s)
            }
        }
    }

    /// Compares a return with `= VALUE [ERRNO]`.
    pub(super) fn check_result(
        &self,
        call: &Syscall,
        result: Result<i64, Errno>,
    ) -> Result<(), Stop> {
        let want_errno = call.result.errno.as_deref();
        let want_value = match &call.result.value {
            Expr::Ellipsis => None,
            e => Some(self.int(e)?),
        };
        let got = match result {
            Ok(v) => format!("{v}"),
            Err(e) => format!("-1 {e}"),
        };
        let ok = match (result, want_errno) {
            (Ok(v), None) => want_value.is_none_or(|w| w == v),
            (Err(e), Some(name)) => {
                want_value.is_none_or(|w| w == -1) && Errno::from_name(name) == Some(e)
            }
            // `= -1` with no errno named: packetdrill checks the return value only.
            (Err(_), None) => want_value == Some(-1),
            _ => false,
        };
        if ok {
            return Ok(());
        }
        let want = match (want_value, want_errno) {
            (Some(v), Some(e)) => format!("{v} {e}"),
            (Some(v), None) => format!("{v}"),
            (None, Some(e)) => e.to_string(),
            (None, None) => "anything".into(),
        };
        Err(Stop::Fail {
            actual: Some(format!("{}() = {got}", call.name)),
            reason: format!("{}() returned {got} but the script expects {want}", call.name),
        })
    }

    /// One try at a call. `retry` is set when a pending call is tried again.
    pub(super) fn attempt(&mut self, p: &mut Pending, retry: bool) -> Step {
        match self.attempt_inner(p, retry) {
            Ok(s) => s,
            Err(stop) => Step::Stop(stop),
        }
    }

    fn attempt_inner(&mut self, p: &mut Pending, retry: bool) -> Result<Step, Stop> {
        let call = match p.call.name.as_str() {
            "sendmsg" => self.sendmsg_as_send(&p.call)?,
            _ => p.call.clone(),
        };
        let null_buffer = matches!(call.args.get(1), Some(Expr::Symbol(b)) if b == "NULL");
        if null_buffer
            && matches!(
                call.name.as_str(),
                "write" | "send" | "sendto" | "read" | "recv" | "recvfrom"
            )
            && self.arg(&call, 2)? > 0
        {
            // The data cannot be copied from or to a NULL buffer: EFAULT, and nothing else
            // happens.
            return Ok(Step::Done(Err(Errno::EFAULT)));
        }
        let step = self.attempt_call(p, &call, retry)?;
        if let Step::Done(Ok(n)) = step
            && n > 0
            && matches!(call.name.as_str(), "send" | "sendto")
            && has_flag(&call, "MSG_ZEROCOPY")
        {
            let fd = self.fd(&call)?;
            self.t.zerocopy_sent(fd.sock, n as usize);
        }
        Ok(step)
    }

    fn attempt_call(&mut self, p: &mut Pending, call: &Syscall, retry: bool) -> Result<Step, Stop> {
        let call = call.clone();
        let now = self.now;
        let dontwait = has_flag(&call, "MSG_DONTWAIT");
        let would_block = |fd: Fd, r: &Result<i64, Errno>| {
            !fd.nonblocking
                && !dontwait
                && matches!(r, Err(Errno::EAGAIN) | Err(Errno::EINPROGRESS))
        };
        let done = |r: Result<i64, Errno>| Ok(Step::Done(r));
        match call.name.as_str() {
            "socket" => {
                // `SOCK_STREAM`, or `SOCK_STREAM|SOCK_NONBLOCK` (Linux's flag on the type).
                let names = call.args.get(1).map(flag_names).unwrap_or_default();
                let stream = names.contains(&Some("SOCK_STREAM"))
                    && names.iter().all(|n| matches!(n, Some("SOCK_STREAM" | "SOCK_NONBLOCK")));
                if !stream {
                    return Err(Stop::Unsupported("socket() other than SOCK_STREAM".into()));
                }
                let nonblocking = names.contains(&Some("SOCK_NONBLOCK"));
                match self.t.socket() {
                    Ok(sock) => {
                        let n = self.expected_fd(&call);
                        self.fds.insert(n, Fd { sock, nonblocking });
                        self.under_test = Some(sock);
                        done(Ok(n))
                    }
                    Err(e) => done(Err(e)),
                }
            }
            "bind" => {
                let fd = self.fd(&call)?;
                let default = SocketAddr::new(self.cfg.local_ip, self.cfg.bind_port);
                let addr = self.sockaddr(call.args.get(1), default)?;
                done(self.t.bind(fd.sock, addr).map(|()| 0))
            }
            "listen" => {
                let fd = self.fd(&call)?;
                let backlog = u32::try_from(self.arg(&call, 1)?.max(0)).unwrap_or(u32::MAX);
                done(self.t.listen(now, fd.sock, backlog).map(|()| 0))
            }
            "accept" => {
                let fd = self.fd(&call)?;
                let r = self.t.accept(now, fd.sock);
                match r {
                    Ok(sock) => {
                        let n = self.expected_fd(&call);
                        self.fds.insert(n, Fd { sock, nonblocking: false });
                        self.under_test = Some(sock);
                        done(Ok(n))
                    }
                    Err(e) if would_block(fd, &Err(e)) => Ok(Step::Blocked),
                    Err(e) => done(Err(e)),
                }
            }
            "connect" => {
                let fd = self.fd(&call)?;
                if retry {
                    let ready = self.t.readiness(fd.sock);
                    if ready.error {
                        let e = self.t.get_option(fd.sock, SockOpt::Error).unwrap_or(0);
                        let errno = errno_from_number(e).unwrap_or(Errno::ECONNREFUSED);
                        return done(Err(errno));
                    }
                    return if ready.writable { done(Ok(0)) } else { Ok(Step::Blocked) };
                }
                if matches!(call.args.get(1), Some(Expr::Symbol(f)) if f == "AF_UNSPEC") {
                    // connect(AF_UNSPEC): the connection is dropped and the socket can connect
                    // again.
                    return done(self.t.disconnect(now, fd.sock).map(|()| 0));
                }
                let default = SocketAddr::new(self.cfg.remote_ip, self.cfg.connect_port);
                let addr = self.sockaddr(call.args.get(1), default)?;
                let r = self.t.connect(now, fd.sock, addr).map(|()| 0);
                self.active = Some(
                    self.t
                        .local_addr(fd.sock)
                        .unwrap_or(SocketAddr::new(self.cfg.local_ip, self.cfg.bind_port)),
                );
                self.under_test = Some(fd.sock);
                if would_block(fd, &r) { Ok(Step::Blocked) } else { done(r) }
            }
            "sendto" => self.sendto(p, &call, retry, dontwait),
            "open" => self.open_file(&call),
            "sendfile" => self.sendfile(p, &call, retry),
            "write" | "send"
                if p.opening || self.t.deferred_connect(self.fd(&call)?.sock).is_some() =>
            {
                // The first write of a TCP_FASTOPEN_CONNECT socket opens the connection, its
                // data on the SYN.
                self.sendto(p, &call, retry, dontwait)
            }
            "write" | "send" => {
                let fd = self.fd(&call)?;
                let n = usize::try_from(self.arg(&call, 2)?)
                    .map_err(|_| fail("negative length".into()))?;
                let oob = has_flag(&call, "MSG_OOB");
                let eor = has_flag(&call, "MSG_EOR");
                let more = has_flag(&call, "MSG_MORE");
                //~ linux: a writer that found no room sleeps in sk_stream_wait_memory until
                //~ sk_stream_write_space wakes it (the socket writable again).
                if p.space_wait && !self.t.readiness(fd.sock).writable {
                    return Ok(Step::Blocked);
                }
                // Zeros in bounded chunks, so a huge length cannot allocate without limit.
                let zeros = vec![0u8; (n - p.written.min(n)).min(WRITE_CHUNK)];
                let mut refused = None;
                while p.written < n {
                    let k = (n - p.written).min(WRITE_CHUNK);
                    let r = if oob {
                        self.t.write_urgent(now, fd.sock, &zeros[..k])
                    } else if eor && p.written + k == n {
                        // The call's last bytes end a record.
                        self.t.write_record(now, fd.sock, &zeros[..k])
                    } else if more {
                        self.t.write_more(now, fd.sock, &zeros[..k])
                    } else {
                        self.t.write(now, fd.sock, &zeros[..k])
                    };
                    match r {
                        Ok(w) => {
                            p.written += w;
                            if w < k {
                                break;
                            }
                        }
                        Err(e) => {
                            refused = Some(e);
                            break;
                        }
                    }
                }
                match refused {
                    _ if p.written == n => done(Ok(n as i64)),
                    None | Some(Errno::EAGAIN) if !fd.nonblocking && !dontwait => {
                        p.space_wait = true;
                        Ok(Step::Blocked)
                    }
                    _ if p.written > 0 => done(Ok(p.written as i64)),
                    Some(e) => done(Err(e)),
                    None => done(Err(Errno::EAGAIN)),
                }
            }
            "read" | "recv" | "recvfrom" => {
                let fd = self.fd(&call)?;
                let n = usize::try_from(self.arg(&call, 2)?)
                    .map_err(|_| fail("negative length".into()))?;
                let r = if has_flag(&call, "MSG_PEEK") {
                    self.t.peek(now, fd.sock, n).map(|k| k as i64)
                } else {
                    let mut buf = vec![0u8; n.min(1 << 24)];
                    self.t.read(now, fd.sock, &mut buf).map(|k| k as i64)
                };
                if would_block(fd, &r) { Ok(Step::Blocked) } else { done(r) }
            }
            "shutdown" => {
                let fd = self.fd(&call)?;
                let how = match self.arg(&call, 1)? {
                    0 => Shutdown::Read,
                    1 => Shutdown::Write,
                    2 => Shutdown::Both,
                    _ => return done(Err(Errno::EINVAL)),
                };
                done(self.t.shutdown(now, fd.sock, how).map(|()| 0))
            }
            "close" => {
                let n = self.arg(&call, 0)?;
                if self.epolls.remove(&n).is_some() || self.files.open.remove(&n).is_some() {
                    return done(Ok(0));
                }
                let Some(fd) = self.fds.remove(&n) else { return done(Err(Errno::EBADF)) };
                done(self.t.close(now, fd.sock).map(|()| 0))
            }
            "fcntl" => {
                let n = self.arg(&call, 0)?;
                let fd = self.fd(&call)?;
                match call.args.get(1) {
                    Some(Expr::Symbol(c)) if c == "F_GETFL" => {
                        let nb = if fd.nonblocking { self.o_nonblock() } else { 0 };
                        done(Ok(2 | nb))
                    }
                    Some(Expr::Symbol(c)) if c == "F_SETFL" => {
                        let flags = self.arg(&call, 2)?;
                        let nb = flags & self.o_nonblock() != 0;
                        if let Some(f) = self.fds.get_mut(&n) {
                            f.nonblocking = nb;
                        }
                        done(Ok(0))
                    }
                    _ => Err(Stop::Unsupported("fcntl() command".into())),
                }
            }
            "ioctl" => {
                let fd = self.fd(&call)?;
                let want = self.arg(&call, 2)?;
                match self.t.inq(fd.sock) {
                    Ok(q) if q as i64 == want => done(Ok(0)),
                    Ok(q) => Err(Stop::Fail {
                        actual: Some(format!("SIOCINQ = {q}")),
                        reason: format!("ioctl SIOCINQ: expected {want} bytes queued, found {q}"),
                    }),
                    Err(e) => done(Err(e)),
                }
            }
            "setsockopt" if matches!(call.args.get(3), Some(Expr::Struct(_))) => {
                let fd = self.fd(&call)?;
                let opt = self.sockopt(&call)?;
                let Some(Expr::Struct(fields)) = call.args.get(3) else { unreachable!() };
                let field = |name: &str| {
                    fields.iter().find(|(n, _)| n.as_deref() == Some(name)).map(|(_, v)| v)
                };
                match (opt, field("function_set_name")) {
                    //~ freebsd: TCP_FUNCTION_BLK picks the socket's TCP stack by name; the
                    //~ engine is the default one, `freebsd`, and only the FreeBSD profile has
                    //~ the option.
                    (SockOpt::FunctionBlk, Some(Expr::Str(stack)))
                        if self.profile.name == "freebsd" =>
                    {
                        if stack != "freebsd" {
                            return Err(Stop::Unsupported(format!(
                                "TCP_FUNCTION_BLK: the {stack} stack"
                            )));
                        }
                        let _ = fd;
                        done(Ok(0))
                    }
                    (SockOpt::FunctionBlk, _) if self.profile.name != "freebsd" => {
                        done(Err(Errno::ENOPROTOOPT))
                    }
                    _ => Err(Stop::Unsupported(format!("setsockopt {opt:?} with a struct"))),
                }
            }
            "setsockopt" if matches!(call.args.get(3), Some(Expr::Str(_))) => {
                let fd = self.fd(&call)?;
                let opt = self.sockopt(&call)?;
                let Some(Expr::Str(text)) = call.args.get(3) else { unreachable!() };
                let bytes = unescape(text);
                let len = usize::try_from(self.arg(&call, 4)?).unwrap_or(usize::MAX);
                let value = &bytes[..len.min(bytes.len())];
                done(self.t.set_option_bytes(fd.sock, opt, value).map(|()| 0))
            }
            "setsockopt" => {
                let fd = self.fd(&call)?;
                let opt = self.sockopt(&call)?;
                let v = self.arg(&call, 3)?;
                if opt == SockOpt::Timestamping {
                    msg::check_timestamping_bits(v)?;
                }
                done(self.t.set_option(now, fd.sock, opt, v).map(|()| 0))
            }
            "getsockopt" => {
                let fd = self.fd(&call)?;
                let opt = self.sockopt(&call)?;
                let want = self.arg(&call, 3)?;
                match self.t.get_option(fd.sock, opt) {
                    Ok(v) if v == want => done(Ok(0)),
                    Ok(v) => Err(Stop::Fail {
                        actual: Some(format!("{opt:?} = {v}")),
                        reason: format!("getsockopt {opt:?}: expected {want}, got {v}"),
                    }),
                    Err(e) => done(Err(e)),
                }
            }
            "poll" => self.poll(p, &call),
            "recvmsg" => self.recvmsg(&call),
            "epoll_create" | "epoll_create1" => self.epoll_create(&call),
            "epoll_ctl" => self.epoll_ctl(&call),
            "epoll_wait" => self.epoll_wait(p.started, &call),
            other => Err(Stop::Unsupported(format!("syscall {other}()"))),
        }
    }

    /// `sendto(fd, buf, len, flags, addr, addrlen)` (and the first write of a deferred
    /// connect): on a socket without a connection an active open carrying the data; on a
    /// connected one a plain write. A blocking open returns once the handshake ends.
    fn sendto(
        &mut self,
        p: &mut Pending,
        call: &Syscall,
        retry: bool,
        dontwait: bool,
    ) -> Result<Step, Stop> {
        let fd = self.fd(call)?;
        let nonblocking = fd.nonblocking || dontwait;
        if retry {
            let ready = self.t.readiness(fd.sock);
            if ready.error {
                let e = self.t.get_option(fd.sock, SockOpt::Error).unwrap_or(0);
                return Ok(Step::Done(Err(errno_from_number(e).unwrap_or(Errno::ECONNREFUSED))));
            }
            return Ok(if ready.writable {
                Step::Done(Ok(p.written as i64))
            } else {
                Step::Blocked
            });
        }
        let n = usize::try_from(self.arg(call, 2)?).map_err(|_| fail("negative length".into()))?;
        if matches!(call.args.get(4), Some(Expr::Symbol(f)) if f == "AF_UNSPEC")
            && has_flag(call, "MSG_FASTOPEN")
        {
            //~ linux: tcp_sendmsg_fastopen refuses an AF_UNSPEC destination.
            return Ok(Step::Done(Err(Errno::EOPNOTSUPP)));
        }
        //~ linux: tcp_sendmsg opens with the data on the SYN for MSG_FASTOPEN and on every
        //~ first send of a socket whose connect was deferred (TCP_FASTOPEN_CONNECT).
        let deferred = self.t.deferred_connect(fd.sock).is_some();
        let fast_open = has_flag(call, "MSG_FASTOPEN") || call.name != "sendto" || deferred;
        let remote = match self.t.deferred_connect(fd.sock) {
            Some(r) => r,
            None => {
                let default = SocketAddr::new(self.cfg.remote_ip, self.cfg.connect_port);
                self.sockaddr(call.args.get(4), default)?
            }
        };
        let data = vec![0u8; n.min(WRITE_CHUNK)];
        match self.t.send_to(self.now, fd.sock, remote, &data, fast_open, nonblocking) {
            Err(Errno::EISCONN) => {
                // Connected already: a plain write (MSG_FASTOPEN on a socket still opening is
                // refused as Linux does).
                if fast_open && self.t.readiness(fd.sock).writable {
                    return self.plain_write(p, call, fd, dontwait);
                }
                if fast_open {
                    return Ok(Step::Done(Err(Errno::EALREADY)));
                }
                self.plain_write(p, call, fd, dontwait)
            }
            r => {
                self.active = self.t.local_addr(fd.sock);
                self.under_test = Some(fd.sock);
                let opened_linux = self.profile.name != "freebsd";
                match r {
                    Ok(k) if opened_linux && !nonblocking => {
                        p.written = k;
                        p.opening = true;
                        Ok(Step::Blocked)
                    }
                    Err(Errno::EINPROGRESS) if !nonblocking => {
                        p.written = 0;
                        p.opening = true;
                        Ok(Step::Blocked)
                    }
                    r => Ok(Step::Done(r.map(|k| k as i64))),
                }
            }
        }
    }

    /// `write`/`send` on a connected socket, for [`Self::sendto`].
    fn plain_write(
        &mut self,
        p: &mut Pending,
        call: &Syscall,
        fd: Fd,
        dontwait: bool,
    ) -> Result<Step, Stop> {
        let n = usize::try_from(self.arg(call, 2)?).map_err(|_| fail("negative length".into()))?;
        let more = has_flag(call, "MSG_MORE");
        let zeros = vec![0u8; (n - p.written.min(n)).min(WRITE_CHUNK)];
        let mut refused = None;
        while p.written < n {
            let k = (n - p.written).min(WRITE_CHUNK);
            let r = if more {
                self.t.write_more(self.now, fd.sock, &zeros[..k])
            } else {
                self.t.write(self.now, fd.sock, &zeros[..k])
            };
            match r {
                Ok(w) => {
                    p.written += w;
                    if w < k {
                        break;
                    }
                }
                Err(e) => {
                    refused = Some(e);
                    break;
                }
            }
        }
        Ok(Step::Done(match refused {
            _ if p.written == n => Ok(n as i64),
            _ if p.written > 0 => Ok(p.written as i64),
            Some(e) => Err(e),
            None if !fd.nonblocking && !dontwait => return Ok(Step::Blocked),
            None => Err(Errno::EAGAIN),
        }))
    }

    fn sockopt(&self, call: &Syscall) -> Result<SockOpt, Stop> {
        match (call.args.get(1), call.args.get(2)) {
            (Some(Expr::Symbol(l)), Some(Expr::Symbol(n))) => SockOpt::from_names(l, n)
                .ok_or_else(|| Stop::Unsupported(format!("socket option {l}/{n}"))),
            _ => Err(Stop::Unsupported("socket option not given by name".into())),
        }
    }

    /// `poll([{fd=F, events=E, revents=R}], 1, TIMEOUT)`.
    fn poll(&mut self, p: &Pending, call: &Syscall) -> Result<Step, Stop> {
        let Some(Expr::List(items)) = call.args.first() else {
            return Err(Stop::Unsupported("poll() without a pollfd list".into()));
        };
        let timeout = self.arg(call, 2)?;
        let mut ready = 0;
        let mut mismatch = None;
        for it in items {
            let Expr::Struct(fields) = it else {
                return Err(Stop::Unsupported("poll() entry that is not a struct".into()));
            };
            let get = |name: &str| {
                fields.iter().find(|(n, _)| n.as_deref() == Some(name)).map(|(_, v)| v)
            };
            let fdn = self.int(get("fd").ok_or_else(|| fail("pollfd without fd".into()))?)?;
            let events = match get("events") {
                Some(e) => self.int(e)?,
                None => 0,
            };
            let fd =
                self.fds.get(&fdn).copied().ok_or_else(|| fail(format!("fd {fdn} not open")))?;
            let r = self.t.poll_readiness(fd.sock);
            let mut rev = 0;
            if r.readable {
                rev |= 0x1;
            }
            if r.writable {
                rev |= 0x4;
            }
            if r.rdhup {
                rev |= 0x2000;
            }
            rev &= events;
            if r.error {
                rev |= 0x8;
            }
            if r.hup {
                rev |= 0x10;
            }
            if rev != 0 {
                ready += 1;
            }
            if let Some(want) = get("revents") {
                let want = self.int(want)?;
                if want != rev {
                    mismatch = Some((want, rev));
                }
            }
        }
        let timed_out = timeout >= 0
            && self.now >= p.started.saturating_add((timeout as u64).saturating_mul(1000));
        if ready == 0 && timeout != 0 && !timed_out {
            return Ok(Step::Blocked);
        }
        if let Some((want, got)) = mismatch {
            return Err(Stop::Fail {
                actual: Some(format!("revents={got:#x}")),
                reason: format!("poll(): expected revents {want:#x}, got {got:#x}"),
            });
        }
        Ok(Step::Done(Ok(ready)))
    }
}

/// A script's string argument as bytes: `\xNN` escapes decoded, other characters as UTF-8.
fn unescape(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && b.get(i + 1) == Some(&b'x')
            && let Some(v) = s.get(i + 2..i + 4).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

fn errno_from_number(n: i64) -> Option<Errno> {
    [
        Errno::ECONNREFUSED,
        Errno::ECONNRESET,
        Errno::ETIMEDOUT,
        Errno::EHOSTUNREACH,
        Errno::ECONNABORTED,
        Errno::EPIPE,
    ]
    .into_iter()
    .find(|e| e.number() == n)
}
