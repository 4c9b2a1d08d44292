//! Who waits on what: the threads (blocking API) and tasks (tokio API) blocked on each socket.
//!
//! Both APIs wait the same way. A caller asks the engine with the stack's state locked; when
//! the engine says "would block" it registers under the same lock for the socket it waits on
//! ([`WaitOn`]), then sleeps (a parked thread) or returns `Pending` (a task). The driver
//! turns the engine's events of a pass into the sockets they name (`Readable(conn)`,
//! `AcceptReady(listener)`, a UDP socket that became readable ...), takes those sockets'
//! sleepers out of the table while it still holds the lock, and wakes them after unlocking,
//! so a woken thread does not run straight into the lock the driver holds. A sleeper is
//! woken once per registration: the table forgets it as it is woken, and it registers again
//! only if its next look finds nothing.
//!
//! Because registration and the engine's changes happen under one lock, a change after a
//! caller looked is in a pass that runs after it registered: no wake-up is lost. Sockets
//! nobody waits on cost the driver one hash look-up per event.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::task::Waker;
use std::thread::Thread;

use synack_stack::iface::UdpHandle;
use synack_tcp::{ConnId, Event, ListenerId};

/// What a caller waits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WaitOn {
    /// A connection: any event about it (data, space, handshake, FIN, close, error, state).
    Conn(ConnId),
    /// A listener: a connection to accept (or, for accept-any, a held SYN or a handshake
    /// that ended).
    Listener(ListenerId),
    /// A UDP socket: a datagram or an error to read.
    Udp(UdpHandle),
    /// Anything: every driver pass that changed something ([`Stack::wait`](super::Stack::wait)).
    Any,
}

impl WaitOn {
    /// The socket an engine event is about, if any.
    pub(crate) fn of_event(ev: &Event) -> Option<WaitOn> {
        Some(match *ev {
            Event::AcceptReady(l) => WaitOn::Listener(l),
            Event::StateChanged { conn, .. }
            | Event::Connected(conn)
            | Event::Readable(conn)
            | Event::Writable(conn)
            | Event::PeerClosed(conn)
            | Event::Closed(conn)
            | Event::Error { conn, .. }
            | Event::Urgent { conn, .. }
            | Event::SoftError { conn, .. } => WaitOn::Conn(conn),
            _ => return None,
        })
    }
}

/// A blocked thread or task.
pub(crate) enum Sleeper {
    /// A thread parked in a blocking call.
    Thread(Thread),
    /// A task whose poll returned `Pending`.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    Task(Waker),
}

impl Sleeper {
    pub(crate) fn wake(self) {
        match self {
            Sleeper::Thread(t) => t.unpark(),
            Sleeper::Task(w) => w.wake(),
        }
    }
}

/// One registration: a thread's token (to take it out again when it stops waiting) or none
/// for a task (tasks are kept once per waker and forgotten with their socket).
struct Registration {
    token: u64,
    sleeper: Sleeper,
}

/// The table; lives in the stack's state, behind its lock.
#[derive(Default)]
pub(crate) struct Waiters {
    by_socket: HashMap<WaitOn, Vec<Registration>>,
    next_token: u64,
    /// Sleepers taken out during the current pass, woken once the lock is released.
    woken: Vec<Sleeper>,
    /// Sleepers woken over the stack's life.
    pub(crate) woken_total: u64,
}

impl Waiters {
    /// Registers the current thread for `on`; returns the token to [`leave`](Self::leave)
    /// with.
    pub(crate) fn park(&mut self, on: WaitOn) -> u64 {
        self.next_token += 1;
        let token = self.next_token;
        let sleeper = Sleeper::Thread(std::thread::current());
        self.by_socket.entry(on).or_default().push(Registration { token, sleeper });
        token
    }

    /// Takes the registration `token` out, if the driver has not already (a thread that
    /// stopped waiting for its own reasons: a timeout, or a wake-up that was not for it).
    pub(crate) fn leave(&mut self, on: WaitOn, token: u64) {
        if let Entry::Occupied(mut e) = self.by_socket.entry(on) {
            e.get_mut().retain(|x| x.token != token);
            if e.get().is_empty() {
                e.remove();
            }
        }
    }

    #[cfg(feature = "tokio")]
    /// Registers a task for `on` (once per waker: a task polled again before it was woken
    /// keeps one registration).
    pub(crate) fn register_task(&mut self, on: WaitOn, w: &Waker) {
        let list = self.by_socket.entry(on).or_default();
        let known = list.iter().any(|x| matches!(&x.sleeper, Sleeper::Task(k) if k.will_wake(w)));
        if !known {
            list.push(Registration { token: 0, sleeper: Sleeper::Task(w.clone()) });
        }
    }

    /// `on` changed: its sleepers are woken after the lock is released.
    pub(crate) fn ready(&mut self, on: WaitOn) {
        if self.by_socket.is_empty() {
            return;
        }
        if let Some(list) = self.by_socket.remove(&on) {
            self.woken_total += list.len() as u64;
            self.woken.extend(list.into_iter().map(|e| e.sleeper));
        }
    }

    /// Everyone (the driver stopped: each finds its call failing).
    pub(crate) fn ready_all(&mut self) {
        for (_, list) in self.by_socket.drain() {
            self.woken_total += list.len() as u64;
            self.woken.extend(list.into_iter().map(|e| e.sleeper));
        }
    }

    #[cfg(feature = "tokio")]
    /// Forgets the sleepers of a socket that went away (a dropped async socket).
    pub(crate) fn forget(&mut self, on: WaitOn) {
        self.by_socket.remove(&on);
        let cap = self.by_socket.capacity();
        // After a peak the table gives its memory back (amortised: only once it is mostly
        // empty).
        if cap > 4 * self.by_socket.len() + 64 {
            self.by_socket.shrink_to(2 * self.by_socket.len());
        }
    }

    /// True when someone is to be woken.
    #[cfg(test)]
    pub(crate) fn has_woken(&self) -> bool {
        !self.woken.is_empty()
    }

    /// Moves the sleepers to wake into `out` (empty, its capacity kept from pass to pass).
    pub(crate) fn take_woken(&mut self, out: &mut Vec<Sleeper>) {
        std::mem::swap(&mut self.woken, out);
    }

    /// Registrations held now (threads and tasks), for tests.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.by_socket.values().map(Vec::len).sum()
    }
}

/// Wakes what [`Waiters::take_woken`] gave, leaving `list` empty for the next pass.
pub(crate) fn wake_all(list: &mut Vec<Sleeper>) {
    for s in list.drain(..) {
        s.wake();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Two distinct listener ids from a real endpoint (ids have no public constructor).
    fn two_keys() -> (WaitOn, WaitOn) {
        let mut ep = synack_tcp::Endpoint::new(synack_tcp::EndpointConfig::default(), [7; 16], 1);
        let cfg = ep.config().conn;
        let mut open = |port: u16| {
            let addr = std::net::SocketAddr::from(([10, 0, 0, 1], port));
            WaitOn::Listener(ep.listen_with(addr, 8, cfg).expect("listen"))
        };
        (open(1), open(2))
    }

    /// Only the sockets named are woken, each sleeper once, and a task registered twice
    /// with the same waker is woken once.
    #[test]
    #[cfg(feature = "tokio")]
    fn wakes_only_the_socket_named_once() {
        let (k1, k2) = two_keys();
        let mut w = Waiters::default();
        let a = Arc::new(Count(AtomicUsize::new(0)));
        let b = Arc::new(Count(AtomicUsize::new(0)));
        let (wa, wb) = (Waker::from(a.clone()), Waker::from(b.clone()));
        w.register_task(k1, &wa);
        w.register_task(k1, &wa);
        w.register_task(k2, &wb);
        assert_eq!(w.len(), 2);
        w.ready(k1);
        w.ready(k1);
        let mut out = Vec::new();
        w.take_woken(&mut out);
        wake_all(&mut out);
        assert_eq!(a.0.load(Ordering::SeqCst), 1);
        assert_eq!(b.0.load(Ordering::SeqCst), 0);
        assert_eq!(w.len(), 1, "the other socket's task stays registered");
        assert_eq!(w.woken_total, 1);
    }

    /// A thread that stops waiting takes its registration out; others on the socket stay.
    #[test]
    fn leave_takes_only_its_own_token() {
        let (k, _) = two_keys();
        let mut w = Waiters::default();
        let t1 = w.park(k);
        let _t2 = w.park(k);
        w.leave(k, t1);
        assert_eq!(w.len(), 1);
        w.ready(k);
        assert!(w.has_woken());
        assert_eq!(w.len(), 0);
        w.leave(k, t1);
        assert_eq!(w.len(), 0);
    }
}
