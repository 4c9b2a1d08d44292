//! One pass of the stack: the interface's poll, and what the engine's events of that poll
//! mean for the application. The driver runs passes; so does an application thread whose
//! call gave the engine something to send, when the device is free (see [`Pump`]), unless
//! `StackConfig::caller_passes` is off.
//!
//! Running the pass in the calling thread spares a hand-off: a write that queued data sends
//! its segments itself, and a read that opened the window sends the update itself, instead
//! of waking the driver (a futex wake and a context switch each, the largest cost of a
//! socket call on a busy connection). The driver still runs every pass the device or a timer
//! asks for; the application wakes it only when its pass leaves work for later (a full batch)
//! or an engine timer earlier than the one the driver sleeps towards. A thread blocked on a
//! socket that stands in for the sleeping driver runs the pass a raise of the device's signal
//! asks for ([`Pump::serve_raise`]).

#[cfg(feature = "pcap")]
use std::io;
use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError};

use synack_stack::Signal;
#[cfg(feature = "pcap")]
use synack_stack::phy::CaptureFormat;
#[cfg(feature = "pcap")]
use synack_tcp::ConnectionError;
use synack_tcp::{Event, Instant};

use super::any::AcceptAny;
use super::clock::Clock;
use super::device::DriverDevice;
use super::layer::EndpointLayer;
use super::stack::StackState;
#[cfg(feature = "pcap")]
use super::stack::{ResetDump, write_ring};
use super::wait::Wake;
use super::waiters::{Sleeper, WaitOn, wake_all};

/// The device and what goes with it; whoever runs a pass holds it (a mutex: the driver for
/// its whole round, an application thread for its pass).
pub(crate) struct DeviceSide<D> {
    /// The device; the driver drops it as it stops (a channel device's handles then see it
    /// gone), not when the last handle on the stack goes.
    pub(crate) dev: Option<D>,
    /// Set once the driver has started the device ([`DriverDevice::driver_start`]): no
    /// application thread runs a pass before.
    pub(crate) started: bool,
    drops: crate::trace::Drops,
    /// The sleepers a pass woke, kept from pass to pass for its capacity.
    pub(crate) woken: Vec<Sleeper>,
    #[cfg(feature = "pcap")]
    reset_dump: Option<ResetDump>,
    #[cfg(feature = "pcap")]
    dumps: usize,
}

impl<D> DeviceSide<D> {
    pub(crate) fn new(dev: D, #[cfg(feature = "pcap")] reset_dump: Option<ResetDump>) -> Self {
        DeviceSide {
            dev: Some(dev),
            started: false,
            drops: crate::trace::Drops::default(),
            woken: Vec::new(),
            #[cfg(feature = "pcap")]
            reset_dump,
            #[cfg(feature = "pcap")]
            dumps: 0,
        }
    }
}

/// What one pass did.
pub(crate) struct PassResult {
    /// When the stack next needs a pass (engine or reassembly timer, device delivery time,
    /// accept-any deadline), if ever.
    pub(crate) deadline: Option<Instant>,
    /// The pass stopped at a batch limit: run another before sleeping.
    pub(crate) more: bool,
    /// Frames taken from the device.
    pub(crate) received: usize,
}

/// One pass: poll the interface (timers, one batch in, one out), hand the engine's events to
/// the hook, the queue and the sleepers of the sockets they name. The sleepers to wake are
/// left in `side.woken`, to be woken once the state is unlocked.
pub(crate) fn pass<D: DriverDevice>(
    st: &mut StackState,
    side: &mut DeviceSide<D>,
    now: Instant,
    clock: &Clock,
) -> PassResult {
    #[cfg(not(feature = "pcap"))]
    let _ = clock;
    let Some(dev) = side.dev.as_mut() else {
        return PassResult { deadline: None, more: false, received: 0 };
    };
    let expired_before = st.iface.udp_expired_len();
    let mut layer =
        EndpointLayer { endpoint: &mut st.endpoint, any: st.any.as_mut(), hops: &st.conn_hops };
    let r = st.iface.poll(now, dev, &mut layer);
    st.stats.frames_in += r.received as u64;
    st.stats.frames_out += r.sent as u64;
    st.stats.max_batch_in = st.stats.max_batch_in.max(r.received);
    side.drops.check(st.iface.counters());
    let mut changed = r.received > 0 || st.iface.udp_expired_len() != expired_before;
    while let Some(ev) = st.endpoint.poll_event() {
        changed = true;
        crate::trace::event(&st.endpoint, &ev);
        #[cfg(feature = "pcap")]
        if let (Event::Error { conn, error: ConnectionError::Reset }, Some(rd)) =
            (&ev, &side.reset_dump)
            && side.dumps < rd.max_files
            && let Some(ring) = dev.frame_ring()
        {
            side.dumps += 1;
            let ext = match rd.format {
                CaptureFormat::Pcap => "pcap",
                CaptureFormat::PcapNg => "pcapng",
            };
            let path = rd.dir.join(format!("reset-{}-{conn}.{ext}", side.dumps));
            if write_ring(ring, &path, rd.format, dev.caps().medium, clock.wall_origin()).is_ok() {
                st.stats.reset_dumps += 1;
            }
        }
        if let Event::Closed(conn) | Event::Error { conn, .. } = ev
            && !st.conn_hops.is_empty()
        {
            st.conn_hops.remove(&conn);
        }
        st.deliver(ev);
    }
    let StackState { iface, waiters, .. } = st;
    iface.udp_drain_ready(|h| {
        changed = true;
        waiters.ready(WaitOn::Udp(h));
    });
    let mut any_more = false;
    if let Some(a) = st.any.as_mut()
        && a.after_poll(now, &mut st.endpoint)
    {
        // A held SYN to take, or a handshake that ended: wake whoever waits on the
        // accept-any listener; go round again for what the engine now has to send.
        let lid = a.lid;
        changed = true;
        any_more = true;
        st.deliver(Event::AcceptReady(lid));
    }
    #[cfg(feature = "pcap")]
    if let Some((path, format)) = st.dump_request.take() {
        changed = true;
        st.dump_result = Some(match dev.frame_ring() {
            Some(ring) => write_ring(ring, &path, format, dev.caps().medium, clock.wall_origin()),
            None => Err(io::Error::new(io::ErrorKind::Unsupported, "device keeps no frame ring")),
        });
    }
    if changed {
        st.waiters.ready(WaitOn::Any);
    }
    st.waiters.take_woken(&mut side.woken);
    let any_at = st.any.as_ref().and_then(AcceptAny::poll_at);
    let deadline = [st.endpoint.poll_timeout(), st.iface.poll_at(), dev.poll_at(), any_at]
        .into_iter()
        .flatten()
        .min();
    PassResult { deadline, more: r.more || any_more, received: r.received }
}

/// A pass run by an application thread, for a device of any type (the stack holds it as a
/// trait object).
pub(crate) trait Pump: Send + Sync {
    /// After a call that may have given the engine something to do: runs a pass in this
    /// thread if the device is free, else (the driver is in its round, or about to start one)
    /// wakes the driver. Releases `g` either way; sleepers are woken with it released.
    fn after_call(&self, g: MutexGuard<'_, StackState>, clock: &Clock, wake: &Wake);

    /// The device's signal was raised for this thread, standing in for the sleeping driver
    /// (`Signal::stand_in`): takes the raise and runs the pass here when the device is free,
    /// else passes the raise on to the driver (whoever holds the device may have read before
    /// the frames came). `first` runs on the state before the pass.
    fn serve_raise(
        &self,
        state: &Mutex<StackState>,
        clock: &Clock,
        wake: &Wake,
        sig: &Signal,
        first: &mut dyn FnMut(&mut StackState),
    );
}

impl<D: DriverDevice> Pump for Mutex<DeviceSide<D>> {
    fn after_call(&self, g: MutexGuard<'_, StackState>, clock: &Clock, wake: &Wake) {
        if !run_here(self, g, clock, wake) {
            // The driver holds the device (it runs a pass after this call anyway, once woken:
            // a wake while it runs keeps it from sleeping), or has not started (its first
            // round is a pass).
            wake.wake();
        }
    }

    fn serve_raise(
        &self,
        state: &Mutex<StackState>,
        clock: &Clock,
        wake: &Wake,
        sig: &Signal,
        first: &mut dyn FnMut(&mut StackState),
    ) {
        let mut side = match self.try_lock() {
            Ok(s) if s.started => s,
            // Busy (the driver's round or another caller's pass), not started, or gone.
            _ => return sig.wake_sleepers(),
        };
        // Taken before the pass reads the device: frames after that raise it again.
        if !sig.take() {
            // The driver took it (a timeout or a spurious wake-up) and acts on it.
            return;
        }
        // What the driver's round does first: the device's batch in, outside the state's lock.
        let read_more = side.dev.as_mut().is_some_and(DriverDevice::read_batch);
        if side.dev.as_ref().is_none_or(DriverDevice::is_closed) {
            // The driver stops the stack for a device that went away.
            return sig.wake_sleepers();
        }
        // The device first, then the state: the driver's order.
        let mut g = state.lock().unwrap_or_else(PoisonError::into_inner);
        if g.is_stopped() {
            return;
        }
        first(&mut g);
        g.stats.passes_standing_in += 1;
        pass_here(g, side, clock, wake, read_more);
    }
}

/// Runs a pass in the calling thread if the device is free and the driver has started and
/// not stopped; releases `g` either way. True when a pass ran (or the stack has stopped:
/// nothing is left to run).
fn run_here<D: DriverDevice>(
    side: &Mutex<DeviceSide<D>>,
    mut g: MutexGuard<'_, StackState>,
    clock: &Clock,
    wake: &Wake,
) -> bool {
    let side = match side.try_lock() {
        Ok(s) if s.started && !g.is_stopped() => s,
        Ok(s) => return !s.started,
        Err(TryLockError::WouldBlock) => return false,
        // The driver panicked holding it: nothing to run.
        Err(TryLockError::Poisoned(_)) => return true,
    };
    g.stats.passes_here += 1;
    pass_here(g, side, clock, wake, false);
    true
}

/// A pass in the calling thread, holding the device and the state; releases both, wakes the
/// sleepers it found, and the driver when the pass left it something (`more`: the device
/// has more to read already).
fn pass_here<D: DriverDevice>(
    mut g: MutexGuard<'_, StackState>,
    mut side: MutexGuard<'_, DeviceSide<D>>,
    clock: &Clock,
    wake: &Wake,
    more: bool,
) {
    let r = pass(&mut g, &mut side, clock.now(), clock);
    // The driver sleeps towards the deadline of its own last pass: wake it when this pass
    // left work or set an earlier one (an engine timer armed by this call).
    let sooner = match (r.deadline, g.driver_deadline) {
        (Some(d), Some(planned)) => d < planned,
        (Some(_), None) => true,
        (None, _) => false,
    };
    drop(g);
    wake_all(&mut side.woken);
    if let Some(dev) = side.dev.as_mut() {
        dev.write_batch();
    }
    drop(side);
    if more || r.more || sooner {
        wake.wake();
    }
}
