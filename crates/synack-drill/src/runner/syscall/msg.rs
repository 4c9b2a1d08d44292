//! `sendmsg` and `recvmsg`: the `msghdr` argument read (`msg_iov` lengths, `msg_control`
//! messages), the data going through the same paths as `send`/`sendto` and `read`, and the
//! error queue (`MSG_ERRQUEUE`) and `TCP_CM_INQ` messages checked against what the target
//! reports.

use super::{Runner, Step, Stop, fail, flag_names, has_flag_at};
use crate::ast::{Expr, Syscall};
use crate::target::{ErrQueueEntry, Errno, Target};

/// `MSG_ERRQUEUE` as Linux numbers it (reported back in `msg_flags`).
pub(crate) const MSG_ERRQUEUE: i64 = 0x2000;
/// `MSG_TRUNC`: the entry's packet copy did not fit the `msg_iov`.
pub(crate) const MSG_TRUNC: i64 = 0x20;
/// `SOL_SOCKET`, the level of `SCM_TIMESTAMPING`.
pub(crate) const SOL_SOCKET: i64 = 1;
/// `SCM_TIMESTAMPING` (= `SO_TIMESTAMPING`).
pub(crate) const SCM_TIMESTAMPING: i64 = 37;

/// The level and type of the `sock_extended_err` message: `SOL_IP`/`IP_RECVERR`, or
/// `SOL_IPV6`/`IPV6_RECVERR` on an IPv6 socket.
pub(crate) fn recverr_cmsg(v6: bool) -> (i64, i64) {
    if v6 { (41, 25) } else { (0, 11) }
}

/// Linux's `SOF_TIMESTAMPING_<name>` bits (linux/net_tstamp.h).
pub(crate) fn sof_timestamping(name: &str) -> Option<i64> {
    const NAMES: &[&str] = &[
        "TX_HARDWARE",
        "TX_SOFTWARE",
        "RX_HARDWARE",
        "RX_SOFTWARE",
        "SOFTWARE",
        "SYS_HARDWARE",
        "RAW_HARDWARE",
        "OPT_ID",
        "TX_SCHED",
        "TX_ACK",
        "OPT_CMSG",
        "OPT_TSONLY",
        "OPT_STATS",
        "OPT_PKTINFO",
        "OPT_TX_SWHW",
        "BIND_PHC",
        "OPT_ID_TCP",
        "OPT_RX_FILTER",
    ];
    NAMES.iter().position(|n| *n == name).map(|bit| 1 << bit)
}

/// `SO_TIMESTAMPING` bits the engine does not model (hardware stamps, receive stamps,
/// `OPT_STATS`, `OPT_CMSG`, `OPT_PKTINFO`, `OPT_TX_SWHW`, `BIND_PHC`, `OPT_RX_FILTER`) are
/// refused as unsupported rather than quietly ignored; bits Linux does not know go on to the
/// target, which refuses them as Linux does.
pub(crate) fn check_timestamping_bits(v: i64) -> Result<(), Stop> {
    let known = (1i64 << 18) - 1;
    let modeled =
        ["TX_SOFTWARE", "SOFTWARE", "OPT_ID", "TX_SCHED", "TX_ACK", "OPT_TSONLY", "OPT_ID_TCP"]
            .iter()
            .filter_map(|n| sof_timestamping(n))
            .fold(0, |a, b| a | b);
    let unmodeled = v & known & !modeled;
    if unmodeled != 0 {
        return Err(Stop::Unsupported(format!(
            "SO_TIMESTAMPING bits {unmodeled:#x} (hardware or receive stamps, OPT_STATS and the \
             like) are not modelled"
        )));
    }
    Ok(())
}

/// The fields of a `msghdr` struct argument.
fn msghdr(call: &Syscall) -> Result<&[(Option<String>, Expr)], Stop> {
    match call.args.get(1) {
        Some(Expr::Struct(fields)) => Ok(fields),
        _ => Err(Stop::Unsupported(format!("{}() without a msghdr struct", call.name))),
    }
}

/// A field whose name starts with `prefix` (`msg_iov(2)`, `msg_control`).
fn field<'a>(fields: &'a [(Option<String>, Expr)], prefix: &str) -> Option<&'a Expr> {
    fields
        .iter()
        .find(|(n, _)| {
            n.as_deref().is_some_and(|n| n == prefix || n.starts_with(&format!("{prefix}(")))
        })
        .map(|(_, v)| v)
}

/// A named field of a plain struct.
fn named<'a>(fields: &'a [(Option<String>, Expr)], name: &str) -> Option<&'a Expr> {
    fields.iter().find(|(n, _)| n.as_deref() == Some(name)).map(|(_, v)| v)
}

impl<T: Target> Runner<'_, T> {
    /// The bytes a `msg_iov` list holds: each `{base, len}` entry's length.
    fn iov_len(&self, call: &Syscall) -> Result<i64, Stop> {
        let Some(Expr::List(iov)) = field(msghdr(call)?, "msg_iov") else {
            return Err(Stop::Unsupported(format!("{}() without a msg_iov list", call.name)));
        };
        let mut total = 0i64;
        for v in iov {
            let Expr::Struct(parts) = v else {
                return Err(Stop::Unsupported("msg_iov entry that is not a struct".into()));
            };
            let len = named(parts, "iov_len").or(parts.get(1).map(|(_, e)| e));
            let len = match len {
                Some(e) => self.int(e)?,
                None => return Err(Stop::Unsupported("msg_iov entry without a length".into())),
            };
            total = total.saturating_add(len.max(0));
        }
        Ok(total)
    }

    /// `sendmsg(fd, msghdr, flags)` as the `send` (or, with `MSG_FASTOPEN`, `sendto`) call that
    /// queues the same bytes: the data path does not care how the buffer was cut.
    pub(super) fn sendmsg_as_send(&self, call: &Syscall) -> Result<Syscall, Stop> {
        let len = self.iov_len(call)?;
        let flags = call.args.get(2).cloned().unwrap_or(Expr::Int(0));
        let fast_open = flag_names(&flags).contains(&Some("MSG_FASTOPEN"));
        let mut args = vec![
            call.args.first().cloned().unwrap_or(Expr::Ellipsis),
            Expr::Ellipsis,
            Expr::Int(len),
            flags,
        ];
        if fast_open {
            args.extend([Expr::Ellipsis, Expr::Ellipsis]);
        }
        let name = if fast_open { "sendto" } else { "send" };
        Ok(Syscall { name: name.into(), args, result: call.result.clone() })
    }

    /// `recvmsg(fd, msghdr, flags)`: with `MSG_ERRQUEUE` the oldest error-queue entry
    /// (`EAGAIN` when there is none, never blocking), otherwise a read of the `msg_iov` bytes
    /// with the `TCP_CM_INQ` message checked when the script expects one.
    pub(super) fn recvmsg(&mut self, call: &Syscall) -> Result<Step, Stop> {
        let fd = self.fd(call)?;
        let fields = msghdr(call)?.to_vec();
        let control: Vec<Expr> = match field(&fields, "msg_control") {
            Some(Expr::List(items)) => items.clone(),
            Some(Expr::Ellipsis) | None => Vec::new(),
            Some(other) => {
                return Err(Stop::Unsupported(format!("msg_control {other:?}")));
            }
        };
        if has_flag_at(call, 2, "MSG_ERRQUEUE") {
            let Some(entry) = self.t.error_queue_pop(fd.sock) else {
                return Ok(Step::Done(Err(Errno::EAGAIN)));
            };
            let iov = usize::try_from(self.iov_len(call)?).unwrap_or(0);
            self.check_error_entry(&fields, &control, &entry, iov)?;
            return Ok(Step::Done(Ok(0)));
        }
        let len = usize::try_from(self.iov_len(call)?).unwrap_or(0);
        let nonblocking = fd.nonblocking || has_flag_at(call, 2, "MSG_DONTWAIT");
        let r = if has_flag_at(call, 2, "MSG_PEEK") {
            self.t.peek(self.now, fd.sock, len)
        } else {
            let mut buf = vec![0u8; len.min(1 << 24)];
            self.t.read(self.now, fd.sock, &mut buf)
        };
        if !nonblocking && matches!(r, Err(Errno::EAGAIN)) {
            return Ok(Step::Blocked);
        }
        if r.is_ok() {
            let hint = self.t.inq_hint(fd.sock);
            for c in &control {
                let Expr::Struct(cmsg) = c else {
                    return Err(Stop::Unsupported("control message that is not a struct".into()));
                };
                match named(cmsg, "cmsg_type") {
                    Some(Expr::Symbol(t)) if t == "TCP_CM_INQ" => {}
                    other => {
                        return Err(Stop::Unsupported(format!("control message type {other:?}")));
                    }
                }
                let want = match named(cmsg, "cmsg_data") {
                    Some(e) => self.int(e)?,
                    None => continue,
                };
                match hint {
                    Some(got) if got == want => {}
                    Some(got) => {
                        return Err(fail(format!(
                            "recvmsg(): TCP_CM_INQ is {got}, expected {want}"
                        )));
                    }
                    None => {
                        return Err(fail(
                            "recvmsg(): no TCP_CM_INQ message (TCP_INQ is off)".into(),
                        ));
                    }
                }
            }
        }
        Ok(Step::Done(r.map(|n| n as i64)))
    }
}

impl<T: Target> Runner<'_, T> {
    /// Checks an error-queue entry against the script's `msghdr`: `msg_flags`
    /// (`MSG_ERRQUEUE`, with `MSG_TRUNC` when the packet copy outgrew `msg_iov`) and the
    /// control messages in order: the `SCM_TIMESTAMPING` time when the entry has one, then
    /// the `sock_extended_err`. As packetdrill does, a time of 0 in the script is not
    /// checked and others must match within the tolerance.
    fn check_error_entry(
        &self,
        fields: &[(Option<String>, Expr)],
        control: &[Expr],
        entry: &ErrQueueEntry,
        iov: usize,
    ) -> Result<(), Stop> {
        let got_flags = MSG_ERRQUEUE | if entry.packet_len > iov { MSG_TRUNC } else { 0 };
        if let Some(want) = field(fields, "msg_flags") {
            let want = self.int(want)?;
            if want != got_flags {
                return Err(fail(format!(
                    "recvmsg(): expected msg_flags {want:#x}, got {got_flags:#x}"
                )));
            }
        }
        let v6 = self.cfg.local_ip.is_ipv6();
        let (err_level, err_type) = recverr_cmsg(v6);
        let mut got: Vec<(i64, i64)> = Vec::new();
        if entry.stamp.is_some() {
            got.push((SOL_SOCKET, SCM_TIMESTAMPING));
        }
        got.push((err_level, err_type));
        if control.len() != got.len() {
            return Err(Stop::Fail {
                actual: Some(format!("{entry:?}")),
                reason: format!(
                    "recvmsg(MSG_ERRQUEUE): the entry gives {} control message(s), the script \
                     expects {}",
                    got.len(),
                    control.len()
                ),
            });
        }
        for (c, (level, kind)) in control.iter().zip(got) {
            let Expr::Struct(cmsg) = c else {
                return Err(Stop::Unsupported("control message that is not a struct".into()));
            };
            for (name, have) in [("cmsg_level", level), ("cmsg_type", kind)] {
                if let Some(w) = named(cmsg, name) {
                    let want = self.int(w)?;
                    if want != have {
                        return Err(fail(format!(
                            "recvmsg(MSG_ERRQUEUE): {name} is {have}, expected {want}"
                        )));
                    }
                }
            }
            let Some(Expr::Struct(data)) = named(cmsg, "cmsg_data") else {
                return Err(Stop::Unsupported("error-queue message without cmsg_data".into()));
            };
            if kind == SCM_TIMESTAMPING {
                self.check_stamp(data, entry.stamp.unwrap_or(0))?;
                continue;
            }
            for (name, got) in [
                ("ee_errno", entry.errno),
                ("ee_origin", entry.origin),
                ("ee_type", entry.kind),
                ("ee_code", entry.code),
                ("ee_info", entry.info),
                ("ee_data", entry.data),
            ] {
                if let Some(w) = named(data, name) {
                    let want = self.int(w)?;
                    if want != got {
                        return Err(Stop::Fail {
                            actual: Some(format!("{entry:?}")),
                            reason: format!(
                                "recvmsg(MSG_ERRQUEUE): {name} is {got}, expected {want}"
                            ),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// An `scm_timestamping`'s software time (`scm_sec`, `scm_nsec`, script time) against
    /// the stamp's (microseconds of virtual time).
    fn check_stamp(&self, data: &[(Option<String>, Expr)], got_us: u64) -> Result<(), Stop> {
        for (name, _) in data {
            if !matches!(name.as_deref(), Some("scm_sec" | "scm_nsec")) {
                return Err(Stop::Unsupported(format!(
                    "scm_timestamping field {name:?} (only the software time is modelled)"
                )));
            }
        }
        let sec = named(data, "scm_sec").map(|e| self.int(e)).transpose()?.unwrap_or(0);
        let nsec = named(data, "scm_nsec").map(|e| self.int(e)).transpose()?.unwrap_or(0);
        if sec == 0 && nsec == 0 {
            return Ok(());
        }
        let want_us = sec.saturating_mul(1_000_000).saturating_add(nsec / 1000);
        let diff = (want_us - i64::try_from(got_us).unwrap_or(i64::MAX)).unsigned_abs();
        if diff > self.cfg.tolerance_usecs {
            return Err(fail(format!(
                "recvmsg(MSG_ERRQUEUE): scm_timestamping time {got_us} us, expected {want_us} us \
                 (tolerance {} us)",
                self.cfg.tolerance_usecs
            )));
        }
        Ok(())
    }
}
