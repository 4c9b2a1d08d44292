//! `sendmsg` and `recvmsg`: the `msghdr` argument read (`msg_iov` lengths, `msg_control`
//! messages), the data going through the same paths as `send`/`sendto` and `read`, and the
//! error queue (`MSG_ERRQUEUE`) and `TCP_CM_INQ` messages checked against what the target
//! reports.

use super::{Runner, Step, Stop, fail, flag_names, has_flag_at};
use crate::ast::{Expr, Syscall};
use crate::target::{Errno, Target};

/// `MSG_ERRQUEUE` as Linux numbers it (reported back in `msg_flags`).
pub(crate) const MSG_ERRQUEUE: i64 = 0x2000;

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
            if let Some(want) = field(&fields, "msg_flags") {
                let want = self.int(want)?;
                if want != MSG_ERRQUEUE {
                    return Err(fail(format!(
                        "recvmsg(): expected msg_flags {want:#x}, got {MSG_ERRQUEUE:#x}"
                    )));
                }
            }
            let [Expr::Struct(cmsg)] = control.as_slice() else {
                return Err(fail(format!(
                    "recvmsg(): the error queue gives one control message, the script expects {}",
                    control.len()
                )));
            };
            let Some(Expr::Struct(data)) = named(cmsg, "cmsg_data") else {
                return Err(Stop::Unsupported("error-queue message without cmsg_data".into()));
            };
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
