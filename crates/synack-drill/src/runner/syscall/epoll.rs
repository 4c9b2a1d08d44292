//! `epoll_create`, `epoll_ctl` and `epoll_wait` over the target's readiness and wakeups.
//!
//! Level-triggered registrations report whatever the socket's readiness is. Edge-triggered
//! ones (`EPOLLET`) report only after a wakeup ([`crate::target::Target::wakeups`]) since
//! they last reported, as Linux's ready list does: a socket is put on it by a wakeup (or by
//! `EPOLL_CTL_ADD`/`MOD` when it is ready), and taken off once `epoll_wait` looked at it.
//! `EPOLLERR` and `EPOLLHUP` are reported whether asked for or not; `EPOLLONESHOT` disables
//! a registration after one report until `EPOLL_CTL_MOD` arms it again. Looking at a socket
//! (`EPOLL_CTL_ADD`/`MOD`, a wait over a ready-list entry, and `poll()`) that is not writable
//! makes the return of send space a wakeup, as Linux's `tcp_poll` sets `SOCK_NOSPACE`.

use super::{Runner, Step, Stop, fail};
use crate::ast::{Expr, Syscall};
use crate::target::{Errno, Target};
use std::collections::BTreeMap;

pub(crate) const EPOLLIN: i64 = 0x1;
pub(crate) const EPOLLOUT: i64 = 0x4;
pub(crate) const EPOLLERR: i64 = 0x8;
pub(crate) const EPOLLHUP: i64 = 0x10;
pub(crate) const EPOLLRDHUP: i64 = 0x2000;
pub(crate) const EPOLLEXCLUSIVE: i64 = 1 << 28;
pub(crate) const EPOLLONESHOT: i64 = 1 << 30;
pub(crate) const EPOLLET: i64 = 1 << 31;

/// One epoll instance: the registered fds.
#[derive(Clone, Debug, Default)]
pub(crate) struct Epoll {
    regs: BTreeMap<i64, Registration>,
}

#[derive(Clone, Debug)]
struct Registration {
    events: i64,
    /// The `epoll_data` the script registered (`fd=N` or `ptr=N`).
    data: Option<(String, i64)>,
    /// On the ready list: added, modified or woken since it last reported.
    armed: bool,
    /// The socket's wakeup count when last looked at.
    seen: u64,
    /// `EPOLLONESHOT` fired and no `EPOLL_CTL_MOD` since.
    disabled: bool,
}

/// A named field of a struct argument.
fn field<'a>(fields: &'a [(Option<String>, Expr)], name: &str) -> Option<&'a Expr> {
    fields.iter().find(|(n, _)| n.as_deref() == Some(name)).map(|(_, v)| v)
}

impl<T: Target> Runner<'_, T> {
    /// `epoll_create(size)` / `epoll_create1(flags)`.
    pub(super) fn epoll_create(&mut self, call: &Syscall) -> Result<Step, Stop> {
        if call.name == "epoll_create" && self.arg(call, 0)? <= 0 {
            return Ok(Step::Done(Err(Errno::EINVAL)));
        }
        let n = self.expected_fd(call);
        self.epolls.insert(n, Epoll::default());
        Ok(Step::Done(Ok(n)))
    }

    /// `epoll_ctl(epfd, op, fd, {events=E, fd=F})`.
    pub(super) fn epoll_ctl(&mut self, call: &Syscall) -> Result<Step, Stop> {
        let epfd = self.arg(call, 0)?;
        let op = self.arg(call, 1)?;
        let target = self.arg(call, 2)?;
        let Some(fd) = self.fds.get(&target).copied() else {
            return Ok(Step::Done(Err(Errno::EBADF)));
        };
        let (events, data) = match call.args.get(3) {
            Some(Expr::Struct(fields)) => {
                let events = match field(fields, "events") {
                    Some(e) => self.int(e)?,
                    None => 0,
                };
                let data = match fields.iter().find(|(n, _)| n.as_deref() != Some("events")) {
                    Some((Some(name), v)) => Some((name.clone(), self.int(v)?)),
                    _ => None,
                };
                (events, data)
            }
            _ if op == 2 => (0, None),
            _ => return Err(Stop::Unsupported("epoll_ctl() without an event struct".into())),
        };
        if matches!(op, 1 | 3) {
            // Adding or modifying a registration polls the socket once (ep_insert, ep_modify).
            self.t.poll_readiness(fd.sock);
        }
        let seen = self.t.wakeups(fd.sock);
        let Some(ep) = self.epolls.get_mut(&epfd) else {
            return Ok(Step::Done(Err(Errno::EBADF)));
        };
        let reg = Registration { events, data, armed: true, seen, disabled: false };
        let r = match op {
            // EPOLL_CTL_ADD
            1 if ep.regs.contains_key(&target) => Err(Errno::EEXIST),
            1 => {
                ep.regs.insert(target, reg);
                Ok(0)
            }
            // EPOLL_CTL_DEL
            2 => ep.regs.remove(&target).map(|_| 0).ok_or(Errno::ENOENT),
            // EPOLL_CTL_MOD: EPOLLEXCLUSIVE may only be given on ADD.
            3 if events & EPOLLEXCLUSIVE != 0 => Err(Errno::EINVAL),
            3 => match ep.regs.get_mut(&target) {
                Some(old) => {
                    *old = reg;
                    Ok(0)
                }
                None => Err(Errno::ENOENT),
            },
            _ => Err(Errno::EINVAL),
        };
        Ok(Step::Done(r))
    }

    /// `epoll_wait(epfd, EVENTS, maxevents, timeout)`: the reported events are checked against
    /// the script's `{events=E, fd=F}` (one struct or a list of them) when any are reported.
    pub(super) fn epoll_wait(&mut self, started: u64, call: &Syscall) -> Result<Step, Stop> {
        let epfd = self.arg(call, 0)?;
        let max = self.arg(call, 2)?;
        let timeout = self.arg(call, 3)?;
        if max <= 0 {
            return Ok(Step::Done(Err(Errno::EINVAL)));
        }
        let Some(mut ep) = self.epolls.get(&epfd).cloned() else {
            return Ok(Step::Done(Err(Errno::EBADF)));
        };
        let mut reported: Vec<(i64, Option<(String, i64)>)> = Vec::new();
        for (target, reg) in ep.regs.iter_mut() {
            let Some(fd) = self.fds.get(target).copied() else { continue };
            let wakeups = self.t.wakeups(fd.sock);
            if wakeups != reg.seen {
                reg.seen = wakeups;
                reg.armed = true;
            }
            if reg.disabled || reported.len() as i64 >= max {
                continue;
            }
            let edge = reg.events & EPOLLET != 0;
            // Linux looks only at sockets on the ready list: every level-triggered one, an
            // edge-triggered one after a wakeup (or after EPOLL_CTL_ADD/MOD).
            let r = if edge && !reg.armed {
                self.t.readiness(fd.sock)
            } else {
                self.t.poll_readiness(fd.sock)
            };
            let mut mask = 0;
            for (on, bit) in [
                (r.readable, EPOLLIN),
                (r.writable, EPOLLOUT),
                (r.error, EPOLLERR),
                (r.hup, EPOLLHUP),
                (r.rdhup, EPOLLRDHUP),
            ] {
                if on {
                    mask |= bit;
                }
            }
            let events = mask & (reg.events | EPOLLERR | EPOLLHUP);
            if edge && !reg.armed {
                continue;
            }
            reg.armed = false;
            if events != 0 {
                reported.push((events, reg.data.clone()));
                reg.disabled = reg.events & EPOLLONESHOT != 0;
            }
        }
        let timed_out = timeout >= 0
            && self.now >= started.saturating_add((timeout as u64).saturating_mul(1000));
        if reported.is_empty() && timeout != 0 && !timed_out {
            // Nothing consumed: the registrations stay as they were until the next try.
            return Ok(Step::Blocked);
        }
        self.epolls.insert(epfd, ep);
        if !reported.is_empty() {
            self.check_epoll_events(call, &reported)?;
        }
        Ok(Step::Done(Ok(reported.len() as i64)))
    }

    fn check_epoll_events(
        &self,
        call: &Syscall,
        reported: &[(i64, Option<(String, i64)>)],
    ) -> Result<(), Stop> {
        let expected: Vec<&Expr> = match call.args.get(1) {
            Some(Expr::List(items)) => items.iter().collect(),
            Some(e @ Expr::Struct(_)) => vec![e],
            _ => return Ok(()),
        };
        for ((events, data), want) in reported.iter().zip(expected) {
            let Expr::Struct(fields) = want else {
                return Err(Stop::Unsupported("epoll_wait() event that is not a struct".into()));
            };
            let got = format!("events={events:#x} {data:?}");
            if let Some(e) = field(fields, "events")
                && self.int(e)? != *events
            {
                return Err(Stop::Fail {
                    actual: Some(got),
                    reason: format!(
                        "epoll_wait(): expected events {:#x}, got {events:#x}",
                        self.int(e)?
                    ),
                });
            }
            for (name, v) in fields.iter().filter(|(n, _)| n.as_deref() != Some("events")) {
                let (Some(name), Some((have_name, have))) = (name, data) else { continue };
                if name == have_name && self.int(v)? != *have {
                    return Err(fail(format!(
                        "epoll_wait(): expected {name}={}, got {have}",
                        self.int(v)?
                    )));
                }
            }
        }
        Ok(())
    }
}
