//! [`Stack`]: shared state, the driver thread, and the calls a socket layer builds on.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io;
#[cfg(feature = "pcap")]
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use synack_stack::iface::Route;
#[cfg(feature = "pcap")]
use synack_stack::phy::CaptureFormat;
use synack_stack::{Interface, InterfaceConfig, IpCidr, Signal};
use synack_tcp::{ConnId, Endpoint, EndpointConfig, Event, Instant};

use super::any::{AcceptAny, AcceptAnyStats, AcceptAnyUsage};
use super::clock::Clock;
use super::device::DriverDevice;
use super::gate::Gate;
use super::pass::{DeviceSide, Pump, pass};
use super::wait::{Waiter, Wake, waiter};
use super::waiters::{WaitOn, Waiters, wake_all};

/// Where to write the frame ring when a connection is reset.
#[cfg(feature = "pcap")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetDump {
    /// Directory for the files (`reset-<n>-conn#i.g.pcapng`).
    pub dir: PathBuf,
    /// File format.
    pub format: CaptureFormat,
    /// Most files written over the stack's life (a reset storm must not fill the disk).
    pub max_files: usize,
}

/// Settings for [`Stack::new`].
#[derive(Debug, Clone)]
pub struct StackConfig {
    /// Interface settings (TTL, transparent mode, reassembly limits ...).
    pub iface: InterfaceConfig,
    /// Engine settings. Its `mtu` is set from the device.
    pub endpoint: EndpointConfig,
    /// Addresses of the interface (each adds its connected route).
    pub addresses: Vec<IpCidr>,
    /// Further routes (a default route, say).
    pub routes: Vec<Route>,
    /// Key for ISNs, SYN cookies and hashing; `None` reads 16 bytes from the OS.
    pub secret: Option<[u8; 16]>,
    /// Seed of the engine's other randomness.
    pub rng_seed: u64,
    /// Most events kept for the application before the oldest are dropped.
    pub event_queue: usize,
    /// An application thread whose call gave the engine work runs the stack's pass itself
    /// when the device is free (see the `runtime::pass` module): fewer hand-offs to the driver
    /// on a busy connection. Off, the driver runs every pass, so the engine's memory (new
    /// connections, their buffers, the frames in and out) is allocated and freed by the
    /// driver thread alone. A server holding many connections wants that: every thread that
    /// frees some of a load peak keeps a few freed blocks of each small size in glibc's
    /// per-thread cache, scattered over the peak's pages, which stay resident for as long as
    /// the thread lives (docs/BENCHMARKS.md, "held connections").
    pub caller_passes: bool,
    /// Dump the device's frame ring (if it has one: the pcap tap) when a connection is reset.
    #[cfg(feature = "pcap")]
    pub reset_dump: Option<ResetDump>,
}

impl Default for StackConfig {
    fn default() -> Self {
        StackConfig {
            iface: InterfaceConfig::default(),
            endpoint: EndpointConfig::default(),
            addresses: Vec::new(),
            routes: Vec::new(),
            secret: None,
            rng_seed: 0,
            event_queue: 4096,
            caller_passes: true,
            #[cfg(feature = "pcap")]
            reset_dump: None,
        }
    }
}

/// Starting a stack failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum StackError {
    /// Reading the OS randomness for the secret failed.
    Secret(io::Error),
    /// Setting up the poller or the driver thread failed.
    Driver(io::Error),
}

impl fmt::Display for StackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StackError::Secret(e) => write!(f, "reading a random secret: {e}"),
            StackError::Driver(e) => write!(f, "starting the driver: {e}"),
        }
    }
}

impl std::error::Error for StackError {}

/// What the driver has done, for tests, benchmarks and tools.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DriverStats {
    /// Times the driver woke up (from sleep, or to continue a full batch).
    pub wakeups: u64,
    /// Frames received from the device.
    pub frames_in: u64,
    /// Frames sent to the device.
    pub frames_out: u64,
    /// The largest number of frames taken in one wake-up.
    pub max_batch_in: usize,
    /// Events dropped because the application did not take them.
    pub events_dropped: u64,
    /// Ring dumps written on reset.
    pub reset_dumps: u64,
    /// The error that stopped the driver, if one did.
    pub fatal: Option<io::ErrorKind>,
    /// Blocked threads and tasks woken (each was waiting on a socket the engine reported
    /// ready, or on any change).
    pub woken: u64,
    /// Passes application threads ran themselves after a call that queued work (the device
    /// was free), each a wake-up of the driver saved.
    pub passes_here: u64,
    /// Passes a blocked thread ran when the device's signal woke it instead of the sleeping
    /// driver (devices that wake the driver through a signal, like the in-memory link).
    pub passes_standing_in: u64,
}

/// A function the driver calls for every event (see [`Stack::set_event_hook`]).
pub type EventHook = Box<dyn FnMut(&Event) + Send>;

/// Everything the application side touches, behind the stack's mutex.
pub struct StackState {
    /// The IP layer.
    pub iface: Interface,
    /// The TCP engine.
    pub endpoint: Endpoint,
    events: VecDeque<Event>,
    event_cap: usize,
    hook: Option<EventHook>,
    /// The accept-any listener's state, when one is open.
    pub(crate) any: Option<AcceptAny>,
    /// Why the driver stopped, once it has: every socket call fails from then on.
    stopped: bool,
    pub(crate) stats: DriverStats,
    #[cfg(feature = "pcap")]
    pub(crate) dump_request: Option<(PathBuf, CaptureFormat)>,
    #[cfg(feature = "pcap")]
    pub(crate) dump_result: Option<io::Result<usize>>,
    /// The deadline the driver sleeps towards, from its last pass: a pass an application
    /// thread runs wakes the driver only for an earlier one.
    pub(crate) driver_deadline: Option<Instant>,
    /// The threads and tasks blocked on each socket (see `waiters.rs`).
    pub(crate) waiters: Waiters,
    /// TTL / hop limit of the connections that have their own (`set_ttl` on a socket).
    pub(crate) conn_hops: HashMap<ConnId, u8>,
    /// Listeners of a sharded stack whose accepts are waited for across shards: the gate
    /// opens when the listener has something to take (or the driver stops).
    pub(crate) accept_gates: Vec<(synack_tcp::ListenerId, Arc<Gate>)>,
}

impl fmt::Debug for StackState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StackState")
            .field("iface", &self.iface)
            .field("endpoint", &self.endpoint)
            .field("events", &self.events.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl StackState {
    /// Takes the oldest event the driver collected.
    pub fn next_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Events waiting.
    pub fn pending_events(&self) -> usize {
        self.events.len()
    }

    /// What the driver has done.
    pub fn stats(&self) -> DriverStats {
        DriverStats { woken: self.waiters.woken_total, ..self.stats }
    }

    /// Threads and tasks blocked on this stack's sockets now (each registration counted:
    /// a task waiting to read and to write on one connection counts once).
    pub fn waiting(&self) -> usize {
        self.waiters.len()
    }

    /// What the accept-any listener has done; `None` when none is open.
    pub fn accept_any_stats(&self) -> Option<AcceptAnyStats> {
        self.any.as_ref().map(AcceptAny::stats)
    }

    /// What the accept-any listener holds now (zero when none is open).
    pub fn accept_any_usage(&self) -> AcceptAnyUsage {
        self.any.as_ref().map_or_else(AcceptAnyUsage::default, AcceptAny::usage)
    }

    /// Closes listener `id` (an ordinary or the accept-any one): connections waiting in its
    /// queues are reset; for the accept-any listener, held SYNs are forgotten and the
    /// interface stops taking traffic for addresses that are not its own.
    pub fn close_listener(&mut self, id: synack_tcp::ListenerId) {
        self.endpoint.close_listener(id);
        if let Some(a) = self.any.take_if(|a| a.lid() == id) {
            a.close(&mut self.endpoint, &mut self.iface);
        }
        self.accept_gates.retain(|(l, _)| *l != id);
    }

    /// True once the driver has stopped (its device failed or went away, or the stack was
    /// shut down); [`DriverStats::fatal`] says why. Every socket call fails from then on with
    /// `ErrorKind::NetworkDown`.
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// Hands `ev` to the hook, to whoever waits on the socket it names, and to the event
    /// queue.
    pub(crate) fn deliver(&mut self, ev: Event) {
        if let Some(h) = self.hook.as_mut() {
            h(&ev);
        }
        if let Some(on) = WaitOn::of_event(&ev) {
            self.waiters.ready(on);
        }
        if !self.accept_gates.is_empty()
            && let Event::AcceptReady(lid) = ev
        {
            for (_, g) in self.accept_gates.iter().filter(|(l, _)| *l == lid) {
                g.open();
            }
        }
        if self.events.len() >= self.event_cap {
            self.events.pop_front();
            self.stats.events_dropped += 1;
        }
        self.events.push_back(ev);
    }

    /// Registers a task to be woken when `on` changes (or the driver stops). Call it with
    /// the state locked, right after the engine said "would block", so no change slips
    /// between the look and the registration.
    #[cfg(feature = "tokio")]
    pub(crate) fn wait_task(&mut self, on: WaitOn, w: &std::task::Waker) {
        if self.stopped {
            w.wake_by_ref();
        } else {
            self.waiters.register_task(on, w);
        }
    }

    /// `Err` once the driver has stopped: what every socket call returns from then on.
    pub(crate) fn check_running(&self) -> io::Result<()> {
        if self.stopped { Err(crate::error::stopped_by(self.stats.fatal)) } else { Ok(()) }
    }
}

struct Shared {
    state: Mutex<StackState>,
    wake: Wake,
    stop: AtomicBool,
    clock: Clock,
    /// The device, for a pass in the calling thread (see `pass.rs`).
    pump: Arc<dyn Pump>,
    /// [`StackConfig::caller_passes`].
    caller_passes: bool,
    /// The device's signal, when the driver sleeps on one and callers run passes: a thread
    /// blocked on a socket stands in for the sleeping driver (see [`Stack::wait_on`]).
    stand_in: Option<Arc<Signal>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, StackState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Ends a call that may have given the engine work: runs the pass here or wakes the
    /// driver, and unlocks.
    fn after_call(&self, g: MutexGuard<'_, StackState>) {
        if self.caller_passes {
            self.pump.after_call(g, &self.clock, &self.wake);
        } else {
            drop(g);
            self.wake.wake();
        }
    }
}

/// A running stack: interface + engine + device, driven by its own thread. Dropping it stops
/// the driver.
///
/// ```
/// use std::sync::Arc;
/// use synack::net::{MEMORY_QUEUE_FRAMES, MemoryEnd};
/// use synack::{Clock, DeviceCaps, IpCidr, Link, Stack, StackConfig};
///
/// // Any `DriverDevice` will do: here one end of an in-memory link (a TUN device in real use).
/// let (end, _other) = Link::ideal(DeviceCaps::default(), MEMORY_QUEUE_FRAMES);
/// let cfg = StackConfig {
///     addresses: vec![IpCidr::new("10.0.0.1".parse().unwrap(), 24).unwrap()],
///     ..StackConfig::default()
/// };
/// let stack = Arc::new(Stack::new(MemoryEnd(end), cfg, Clock::start()).unwrap());
/// // Direct engine access, for what the socket types do not wrap.
/// let conns = stack.with(|st, _now| st.endpoint.connection_count());
/// assert_eq!(conns, 0);
/// ```
pub struct Stack {
    shared: Arc<Shared>,
    driver: Option<JoinHandle<()>>,
}

impl fmt::Debug for Stack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stack").field("running", &self.driver.is_some()).finish()
    }
}

/// 16 bytes from the operating system's random source (`getrandom(2)` on Linux).
fn os_secret() -> io::Result<[u8; 16]> {
    let mut s = [0u8; 16];
    getrandom::fill(&mut s).map_err(io::Error::from)?;
    Ok(s)
}

impl Stack {
    /// Starts a stack on `device`, with time from `clock` (share one clock between stacks
    /// joined by an in-memory link).
    pub fn new<D: DriverDevice>(
        device: D,
        cfg: StackConfig,
        clock: Clock,
    ) -> Result<Stack, StackError> {
        let secret = match cfg.secret {
            Some(s) => s,
            None => os_secret().map_err(StackError::Secret)?,
        };
        let mut ecfg = cfg.endpoint;
        ecfg.mtu = device.caps().mtu;
        let mut iface = Interface::new(cfg.iface);
        for a in &cfg.addresses {
            iface.add_address(*a);
        }
        for r in &cfg.routes {
            iface.routes_mut().add(*r);
        }
        let state = StackState {
            iface,
            endpoint: Endpoint::new(ecfg, secret, cfg.rng_seed),
            events: VecDeque::new(),
            event_cap: cfg.event_queue.max(1),
            hook: None,
            any: None,
            stopped: false,
            stats: DriverStats::default(),
            #[cfg(feature = "pcap")]
            dump_request: None,
            #[cfg(feature = "pcap")]
            dump_result: None,
            driver_deadline: None,
            waiters: Waiters::default(),
            conn_hops: HashMap::new(),
            accept_gates: Vec::new(),
        };
        let (waiter, wake) = waiter(device.wait_source()).map_err(StackError::Driver)?;
        let side = Arc::new(Mutex::new(DeviceSide::new(
            device,
            #[cfg(feature = "pcap")]
            cfg.reset_dump,
        )));
        let stand_in = match &wake {
            Wake::Signal(s) if cfg.caller_passes => Some(s.clone()),
            _ => None,
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            stand_in,
            wake,
            stop: AtomicBool::new(false),
            clock,
            pump: side.clone(),
            caller_passes: cfg.caller_passes,
        });
        let s2 = shared.clone();
        let span = crate::trace::driver_span(cfg.addresses.first().map(|c| c.addr()));
        // The driver logs to the subscriber current where the stack is made (a scoped one
        // from `tracing::subscriber::with_default` too, not only the global one).
        let dispatch = tracing::dispatcher::get_default(Clone::clone);
        let driver = std::thread::Builder::new()
            .name("synack-driver".into())
            .spawn(move || {
                let _dispatch = tracing::dispatcher::set_default(&dispatch);
                let _span = span.entered();
                drive(s2, &side, waiter)
            })
            .map_err(StackError::Driver)?;
        Ok(Stack { shared, driver: Some(driver) })
    }

    /// The stack's clock.
    pub fn clock(&self) -> Clock {
        self.shared.clock
    }

    /// The current time on the stack's clock.
    pub fn now(&self) -> Instant {
        self.shared.clock.now()
    }

    /// Runs `f` on the state with the current time, then sends what `f` queued (data to
    /// send, a connect) at once: this thread runs the stack's pass itself when the device is
    /// free, else wakes the driver.
    pub fn with<R>(&self, f: impl FnOnce(&mut StackState, Instant) -> R) -> R {
        let now = self.now();
        let mut g = self.shared.lock();
        let r = f(&mut g, now);
        self.shared.after_call(g);
        r
    }

    /// Like [`with`](Self::with), but runs a pass only when `changed(&r)`: a call that
    /// found nothing to do (a read with nothing to read, a write into a full buffer) leaves
    /// the engine nothing to act on, and a pass would only cost time.
    #[cfg(feature = "tokio")]
    pub(crate) fn with_then_wake<R>(
        &self,
        f: impl FnOnce(&mut StackState, Instant) -> R,
        changed: impl FnOnce(&R) -> bool,
    ) -> R {
        let now = self.now();
        let mut g = self.shared.lock();
        let r = f(&mut g, now);
        if changed(&r) {
            self.shared.after_call(g);
        }
        r
    }

    /// Blocks until `f` returns `Some` (re-checked after each driver pass that changed
    /// anything) or `timeout` passes (`None`: no limit); `None` also once the driver has
    /// stopped. Runs a pass (or wakes the driver) when `f` returns `Some`, since it may have
    /// changed the engine (a `recv` that opened the window, a `send` that queued data), as
    /// [`with`](Self::with) does; an `f` that returns
    /// `None` is expected to have changed nothing the driver must act on (call
    /// [`Stack::notify`] if it did).
    pub fn wait<R>(
        &self,
        timeout: Option<Duration>,
        f: impl FnMut(&mut StackState, Instant) -> Option<R>,
    ) -> Option<R> {
        self.wait_on(WaitOn::Any, timeout, f)
    }

    /// [`wait`](Self::wait) for a condition only `on` can change: `f` is re-checked only
    /// when the engine reports something about that socket (or the driver stops), so a
    /// thread blocked on an idle socket sleeps through the traffic of every other one.
    pub fn wait_on<R>(
        &self,
        on: WaitOn,
        timeout: Option<Duration>,
        mut f: impl FnMut(&mut StackState, Instant) -> Option<R>,
    ) -> Option<R> {
        let deadline = timeout.map(|t| self.now() + t);
        let mut fired: Option<Arc<AtomicBool>> = None;
        let mut g = self.shared.lock();
        loop {
            let now = self.now();
            let r = f(&mut g, now);
            if r.is_some() {
                self.shared.after_call(g);
                return r;
            }
            if g.stopped || self.shared.stop.load(Ordering::Acquire) {
                return None;
            }
            let left = match deadline {
                Some(d) if now >= d => return None,
                Some(d) => Some(d.saturating_since(now)),
                None => None,
            };
            // Registered under the lock the engine changes under: a change after `f` looked
            // comes in a pass that finds this thread registered and unparks it (an unpark
            // before the park makes the park return at once).
            let token = g.waiters.park(on);
            drop(g);
            // While the driver sleeps, frames the device brings wake this thread rather than
            // the driver (one thread stands in, the latest to block): it runs the pass
            // itself, and when the frames were for it, goes on with one wake-up instead of
            // the driver's and then its own.
            let standing = self.shared.stand_in.as_ref().map(|sig| {
                let fired = fired.get_or_insert_with(|| Arc::new(AtomicBool::new(false)));
                sig.stand_in(fired);
                (sig, &*fired)
            });
            match left {
                Some(t) => std::thread::park_timeout(t),
                None => std::thread::park(),
            }
            if let Some((sig, fired)) = standing
                && sig.withdraw(fired)
            {
                // Out of the table before the pass: a pass that makes this socket ready does
                // not wake this thread (it looks again right after).
                self.shared.pump.serve_raise(
                    &self.shared.state,
                    &self.shared.clock,
                    &self.shared.wake,
                    sig,
                    &mut |st| st.waiters.leave(on, token),
                );
            }
            g = self.shared.lock();
            g.waiters.leave(on, token);
        }
    }

    /// Calls `hook` (with the state locked, on the thread that runs the pass: the driver, or
    /// an application thread whose call ran it) for every event, before it is queued. Blocked threads and tasks are woken from the same events without it.
    pub fn set_event_hook(&self, hook: EventHook) {
        self.shared.lock().hook = Some(hook);
    }

    /// Sets or removes the application's event hook.
    #[cfg(feature = "tokio")]
    pub(crate) fn replace_event_hook(&self, hook: Option<EventHook>) {
        self.shared.lock().hook = hook;
    }

    #[cfg(feature = "pcap")]
    /// Writes the device's ring of recent frames to `path` now. Fails with `Unsupported` when
    /// the device keeps no ring (wrap it in a `PcapTap`).
    pub fn dump_ring(&self, path: PathBuf, format: CaptureFormat) -> io::Result<usize> {
        self.with(|st, _| {
            st.dump_result = None;
            st.dump_request = Some((path, format));
        });
        self.wait(Some(Duration::from_secs(10)), |st, _| st.dump_result.take()).unwrap_or_else(
            || Err(io::Error::new(io::ErrorKind::TimedOut, "driver did not answer")),
        )
    }

    /// Wakes the driver (after changing the state without [`Stack::with`]).
    pub fn notify(&self) {
        self.shared.wake.wake();
    }

    /// What wakes the driver, for another thread to hold without keeping the stack alive.
    pub(crate) fn waker(&self) -> Wake {
        self.shared.wake.clone()
    }

    /// Wakes whoever waits on `on` to re-check (after a change only the socket layer knows
    /// of, such as `shutdown(Read)`).
    pub(crate) fn wake_waiters(&self, on: WaitOn) {
        let mut woken = Vec::new();
        {
            let mut g = self.shared.lock();
            g.waiters.ready(on);
            g.waiters.take_woken(&mut woken);
        }
        wake_all(&mut woken);
    }

    /// Forgets the tasks registered on `on` (its async socket went away).
    #[cfg(feature = "tokio")]
    pub(crate) fn forget_waiters(&self, on: WaitOn) {
        self.shared.lock().waiters.forget(on);
    }

    /// Stops the driver and waits for it.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.wake.wake();
        if let Some(h) = self.driver.take() {
            let _ = h.join();
        }
        // The driver woke everyone as it stopped; this covers a driver that panicked.
        let mut woken = Vec::new();
        {
            let mut g = self.shared.lock();
            g.waiters.ready_all();
            g.waiters.take_woken(&mut woken);
        }
        wake_all(&mut woken);
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Rounds in a row with failed reads and nothing received after which the device counts as
/// gone: a deleted TUN fails at once on every round; a passing error does not repeat so.
const GONE_AFTER_FAILED_ROUNDS: u32 = 16;
/// Longest sleep of a driver on a file-descriptor device.
const IDLE_RECHECK: Duration = Duration::from_secs(1);
/// Longest sleep while the device's reads are failing.
const FAILING_RECHECK: Duration = Duration::from_millis(20);

/// The driver loop; see the module docs.
fn drive<D: DriverDevice>(shared: Arc<Shared>, side: &Mutex<DeviceSide<D>>, mut waiter: Waiter) {
    let lock_side = || side.lock().unwrap_or_else(PoisonError::into_inner);
    // Rounds in a row whose reads failed and brought nothing (see `read_errors`).
    let mut failing = 0u32;
    let mut read_errors;
    #[cfg(feature = "fd")]
    let fd_device;
    {
        let mut s = lock_side();
        let Some(dev) = s.dev.as_mut() else { return };
        read_errors = dev.read_errors().0;
        #[cfg(feature = "fd")]
        {
            fd_device = matches!(dev.wait_source(), super::device::WaitSource::Fd(_));
        }
        dev.driver_start();
        let caps = dev.caps();
        if caps.tso_max > caps.mtu {
            // The device cuts super-segments: let the engine group new data, leaving room for
            // the IPv6 header and the largest TCP header within the device's limit.
            shared.lock().endpoint.set_output_segment_max(caps.tso_max.saturating_sub(40 + 60));
        }
        s.started = true;
    }
    #[cfg(not(feature = "fd"))]
    let fd_device = false;
    while !shared.stop.load(Ordering::Acquire) {
        waiter.begin_round();
        let mut s = lock_side();
        let Some(dev) = s.dev.as_mut() else { break };
        // Device I/O outside the state's lock: the application can queue data or read while
        // the kernel runs the system calls.
        let read_more = dev.read_batch();
        if dev.is_closed() {
            shared.lock().stats.fatal = Some(io::ErrorKind::BrokenPipe);
            break;
        }
        let now = shared.clock.now();
        let r = {
            let mut g = shared.lock();
            g.stats.wakeups += 1;
            let r = pass(&mut g, &mut s, now, &shared.clock);
            g.driver_deadline = r.deadline;
            r
        };
        // Unlocked first, so a woken thread does not queue on the lock the driver holds.
        wake_all(&mut s.woken);
        let (errors, last, ahead) = match s.dev.as_mut() {
            Some(dev) => {
                let ahead = dev.write_batch_read_ahead();
                let (errors, last) = dev.read_errors();
                (errors, last, ahead)
            }
            None => (read_errors, None, false),
        };
        drop(s);
        failing = if errors != read_errors && r.received == 0 { failing + 1 } else { 0 };
        read_errors = errors;
        if failing >= GONE_AFTER_FAILED_ROUNDS {
            shared.lock().stats.fatal = Some(last.unwrap_or(io::ErrorKind::BrokenPipe));
            break;
        }
        if r.more || read_more || ahead {
            continue;
        }
        let now = shared.clock.now();
        let mut timeout = r.deadline.map(|d| d.saturating_since(now));
        if fd_device {
            // A deleted TUN wakes no one (its file descriptor polls as an error only when
            // asked): an idle driver reads at least once a second, and soon after a read
            // failed, so a device that is gone is noticed (see `read_errors`).
            let cap = if failing > 0 { FAILING_RECHECK } else { IDLE_RECHECK };
            timeout = Some(timeout.map_or(cap, |t| t.min(cap)));
        }
        if timeout == Some(Duration::ZERO) {
            continue;
        }
        if let Err(e) = waiter.wait(timeout) {
            crate::trace::device_error(&e);
            shared.lock().stats.fatal = Some(e.kind());
            break;
        }
    }
    let mut woken = Vec::new();
    {
        let mut g = shared.lock();
        g.stopped = true;
        for (_, gate) in &g.accept_gates {
            gate.open();
        }
        g.waiters.ready_all();
        g.waiters.take_woken(&mut woken);
    }
    wake_all(&mut woken);
    // No pass runs any more (the state says stopped): the device goes now.
    let mut s = lock_side();
    s.started = false;
    s.dev = None;
}

#[cfg(feature = "pcap")]
pub(crate) fn write_ring(
    ring: &synack_stack::phy::FrameRing,
    path: &std::path::Path,
    format: CaptureFormat,
    medium: synack_stack::Medium,
    origin: Duration,
) -> io::Result<usize> {
    let f = std::io::BufWriter::new(std::fs::File::create(path)?);
    ring.dump(f, format, medium, origin).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(ring.len())
}
