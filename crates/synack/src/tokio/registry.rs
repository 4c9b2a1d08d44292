//! Per-connection task wakers, woken from engine events.
//!
//! The runtime calls one event hook on its driver thread, with the stack's state locked. The
//! first async socket on a stack installs a hook that wakes the tasks registered for the
//! connection (or listener) the event names. A task registers while it holds the state lock
//! too (inside `Stack::with`, right after the engine said "would block"), so no event can slip
//! between the check and the registration: the lock order is always state, then registry.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::Waker;

use synack_stack::iface::UdpHandle;
use synack_tcp::{ConnId, Event, ListenerId};

use crate::runtime::{EventHook, Stack};

/// The wakers of one connection: the tasks waiting to read and to write (the halves of a
/// split stream, and any number of tasks in `readable`/`writable`/`ready`, can each wait).
/// An event empties both lists, so a list holds at most the tasks that waited since the
/// last event on the connection.
#[derive(Default)]
struct ConnWakers {
    read: Vec<Waker>,
    write: Vec<Waker>,
}

#[derive(Default)]
struct Wakers {
    conns: HashMap<ConnId, ConnWakers>,
    /// Several tasks may `accept` on one listener at once.
    listeners: HashMap<ListenerId, Vec<Waker>>,
    /// Tasks waiting for a UDP socket to become readable.
    udp: HashMap<UdpHandle, Vec<Waker>>,
}

/// The wakers of one stack, and the application's own hook (the stack has only one).
#[derive(Default)]
pub(crate) struct Registry {
    wakers: Mutex<Wakers>,
    user: Mutex<Option<EventHook>>,
}

fn store(list: &mut Vec<Waker>, w: &Waker) {
    if !list.iter().any(|x| x.will_wake(w)) {
        list.push(w.clone());
    }
}

/// The connection an event is about, if any.
fn conn_of(ev: &Event) -> Option<ConnId> {
    Some(match *ev {
        Event::StateChanged { conn, .. }
        | Event::Connected(conn)
        | Event::Readable(conn)
        | Event::Writable(conn)
        | Event::PeerClosed(conn)
        | Event::Closed(conn)
        | Event::Error { conn, .. }
        | Event::Urgent { conn, .. }
        | Event::SoftError { conn, .. } => conn,
        _ => return None,
    })
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, Wakers> {
        self.wakers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wakes whoever waits on what `ev` names. Any event about a connection wakes both its
    /// tasks: a spurious wake-up costs one more engine call, a missed one hangs a task.
    fn on_event(&self, ev: &Event) {
        if let Some(h) = self.user.lock().unwrap_or_else(PoisonError::into_inner).as_mut() {
            h(ev);
        }
        let mut woken: Vec<Waker> = Vec::new();
        {
            let mut g = self.lock();
            if let Event::AcceptReady(l) = ev {
                if let Some(ws) = g.listeners.get_mut(l) {
                    woken.append(ws);
                }
            } else if let Some(c) = conn_of(ev)
                && let Some(w) = g.conns.get_mut(&c)
            {
                woken.append(&mut w.read);
                woken.append(&mut w.write);
            }
        }
        for w in woken {
            w.wake();
        }
    }

    /// The reading task of `id` waits.
    pub(crate) fn wait_read(&self, id: ConnId, w: &Waker) {
        store(&mut self.lock().conns.entry(id).or_default().read, w);
    }

    /// The writing (or connecting) task of `id` waits.
    pub(crate) fn wait_write(&self, id: ConnId, w: &Waker) {
        store(&mut self.lock().conns.entry(id).or_default().write, w);
    }

    /// A task waits for a connection on listener `id`.
    pub(crate) fn wait_accept(&self, id: ListenerId, w: &Waker) {
        let mut g = self.lock();
        let ws = g.listeners.entry(id).or_default();
        if !ws.iter().any(|x| x.will_wake(w)) {
            ws.push(w.clone());
        }
    }

    /// Forgets a released connection. After a peak the map gives its capacity back (shrinking
    /// to twice what is left once under a quarter is used, so the cost is amortised).
    pub(crate) fn remove_conn(&self, id: ConnId) {
        let mut g = self.lock();
        g.conns.remove(&id);
        let (len, cap) = (g.conns.len(), g.conns.capacity());
        if cap > 4 * len + 64 {
            g.conns.shrink_to(2 * len);
        }
    }

    /// Sets the application's hook, called before the wakers for every event.
    pub(crate) fn set_user_hook(&self, hook: Option<EventHook>) {
        *self.user.lock().unwrap_or_else(PoisonError::into_inner) = hook;
    }

    /// Wakes every registered task (the driver stopped: each finds its call failing).
    fn wake_all(&self) {
        let woken: Vec<Waker> = {
            let mut g = self.lock();
            let conns = g.conns.drain().flat_map(|(_, w)| w.read.into_iter().chain(w.write));
            let mut v: Vec<Waker> = conns.collect();
            v.extend(g.listeners.drain().flat_map(|(_, ws)| ws));
            v.extend(g.udp.drain().flat_map(|(_, ws)| ws));
            v
        };
        for w in woken {
            w.wake();
        }
    }

    /// A task waits for UDP socket `h` to become readable.
    pub(crate) fn wait_udp(&self, h: UdpHandle, w: &Waker) {
        let mut g = self.lock();
        let ws = g.udp.entry(h).or_default();
        if !ws.iter().any(|x| x.will_wake(w)) {
            ws.push(w.clone());
        }
    }

    /// Wakes the tasks waiting on UDP socket `h`.
    fn on_udp(&self, h: UdpHandle) {
        let woken = self.lock().udp.remove(&h).unwrap_or_default();
        for w in woken {
            w.wake();
        }
    }

    /// Forgets a closed UDP socket.
    pub(crate) fn remove_udp(&self, h: UdpHandle) {
        self.lock().udp.remove(&h);
    }

    /// Forgets a closed listener.
    pub(crate) fn remove_listener(&self, id: ListenerId) {
        self.lock().listeners.remove(&id);
    }
}

/// The registry of each stack that has async sockets, keyed by the stack's allocation (the
/// `Weak` keeps the address from being reused while the entry exists).
static REGISTRIES: Mutex<Vec<(Weak<Stack>, Arc<Registry>)>> = Mutex::new(Vec::new());

/// The registry of `stack`, installing the event hook on first use.
pub(crate) fn registry(stack: &Arc<Stack>) -> Arc<Registry> {
    let mut all = REGISTRIES.lock().unwrap_or_else(PoisonError::into_inner);
    all.retain(|(s, _)| s.strong_count() > 0);
    if let Some((_, r)) = all.iter().find(|(s, _)| std::ptr::eq(s.as_ptr(), Arc::as_ptr(stack))) {
        return r.clone();
    }
    let reg = Arc::new(Registry::default());
    let hook = reg.clone();
    stack.set_event_hook(Box::new(move |ev| hook.on_event(ev)));
    let on_stop = reg.clone();
    let on_udp = reg.clone();
    let late = stack.with(|st, _| {
        st.udp_hook = Some(Box::new(move |h| on_udp.on_udp(h)));
        st.on_stop(Box::new(move || on_stop.wake_all()))
    });
    if let Some(f) = late {
        f();
    }
    all.push((Arc::downgrade(stack), reg.clone()));
    reg
}
