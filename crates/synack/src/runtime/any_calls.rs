//! The accept-any calls the socket layers make on the stack's locked state: each checks that
//! the driver still runs and that `lid` names the open accept-any listener, then asks the
//! [`AcceptAny`] table.

use std::io::{self, ErrorKind};

use synack_tcp::{ConnId, FourTuple, Instant, ListenerId};

use super::any::{AcceptAny, AnyConfig, closed};
use super::stack::StackState;

/// Opens the accept-any listener (at most one per stack).
pub(crate) fn open(st: &mut StackState, cfg: AnyConfig, deferred: bool) -> io::Result<()> {
    if st.any.is_some() {
        return Err(io::Error::new(ErrorKind::AddrInUse, "an accept-any listener is open"));
    }
    st.any = Some(AcceptAny::open(&mut st.endpoint, &mut st.iface, cfg, deferred)?);
    Ok(())
}

fn any_for(st: &mut StackState, lid: ListenerId) -> io::Result<&mut AcceptAny> {
    st.any.as_mut().filter(|a| a.lid() == lid).ok_or_else(closed)
}

/// [`AcceptAny::next_syn`].
pub(crate) fn next_syn(st: &mut StackState, lid: ListenerId) -> io::Result<Option<FourTuple>> {
    st.check_running()?;
    any_for(st, lid)?.next_syn()
}

/// [`AcceptAny::accept_syn`].
pub(crate) fn accept_syn(
    st: &mut StackState,
    now: Instant,
    lid: ListenerId,
    tuple: FourTuple,
) -> io::Result<()> {
    st.check_running()?;
    let StackState { any, endpoint, .. } = st;
    let a = any.as_mut().filter(|a| a.lid() == lid).ok_or_else(closed)?;
    a.accept_syn(endpoint, now, tuple)
}

/// [`AcceptAny::handshake`]; a stopped driver cancels the handshake.
pub(crate) fn handshake(
    st: &mut StackState,
    lid: ListenerId,
    tuple: FourTuple,
) -> Option<io::Result<ConnId>> {
    if let Err(e) = st.check_running() {
        cancel(st, lid, tuple);
        return Some(Err(e));
    }
    match any_for(st, lid) {
        Ok(a) => a.handshake(tuple),
        Err(e) => Some(Err(e)),
    }
}

/// [`AcceptAny::cancel`].
pub(crate) fn cancel(st: &mut StackState, lid: ListenerId, tuple: FourTuple) {
    let StackState { any, endpoint, .. } = st;
    if let Some(a) = any.as_mut().filter(|a| a.lid() == lid) {
        a.cancel(endpoint, tuple);
    }
}

/// [`AcceptAny::refuse_syn`].
pub(crate) fn refuse_syn(st: &mut StackState, now: Instant, lid: ListenerId, tuple: FourTuple) {
    let StackState { any, endpoint, .. } = st;
    if let Some(a) = any.as_mut().filter(|a| a.lid() == lid) {
        a.refuse_syn(endpoint, now, tuple);
    }
}

/// [`AcceptAny::ignore_syn`].
pub(crate) fn ignore_syn(st: &mut StackState, lid: ListenerId, tuple: FourTuple) {
    if let Some(a) = st.any.as_mut().filter(|a| a.lid() == lid) {
        a.ignore_syn(tuple);
    }
}
