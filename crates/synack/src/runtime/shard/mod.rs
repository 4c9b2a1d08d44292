//! [`Shards`]: a stack per core, one per queue of a multi-queue device.
//!
//! ```text
//!   kernel TUN (IFF_MULTI_QUEUE): a flow goes to the queue that last wrote it; a new or
//!   quiet flow to a queue chosen by the kernel's own hash
//!        │ queue 0                  │ queue 1
//!        ▼                          ▼
//!   shard 0: ShardDevice ─ packet of shard 1's flow ─▶ inbox of shard 1 (bounded)
//!            Stack (endpoint, interface, lock, driver thread)     shard 1: ... the same
//! ```
//!
//! Every shard is a whole [`Stack`] with its own endpoint, driver thread and lock; no lock is
//! shared between shards on the packet path. A TCP flow belongs to the shard the steering
//! function ([`Steering`]) names, which every shard can compute. The kernel's choice of
//! queue agrees once the owner has written a packet of the flow; where it does not (the first
//! packet of a connection the peer opens, a flow quiet long enough for the kernel to forget
//! it), the shard that read the packet hands it to the owner. Connections opened here pick a
//! local port the steering maps to the opening shard, so their first answer already arrives
//! on the right queue. The socket API's sharded listener spans every shard.

mod device;
mod steer;

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, OnceLock};

use synack_tcp::FourTuple;

pub use steer::Steering;

use self::device::{HANDOFF_QUEUE, HandoffCounters, Inboxes, Peers, ShardDevice};
use super::clock::Clock;
use super::device::DriverDevice;
use super::stack::{Stack, StackConfig, StackError, StackState};

/// The shard count to use when none is chosen: one per core the process may run on.
pub fn default_shard_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The steering key: from the configured secret when there is one (so a test's placement is
/// the same every run), else from the operating system.
fn steering_key(secret: Option<[u8; 16]>) -> Result<[u8; 16], StackError> {
    use std::hash::Hasher;
    let Some(secret) = secret else {
        let mut key = [0u8; 16];
        getrandom::fill(&mut key).map_err(|e| StackError::Secret(e.into()))?;
        return Ok(key);
    };
    // Not the secret itself: the engine keys its ISNs and cookies with that.
    let mut key = [0u8; 16];
    for (i, half) in key.chunks_mut(8).enumerate() {
        let mut h = std::hash::DefaultHasher::new();
        h.write(b"synack shard steering");
        h.write_usize(i);
        h.write(&secret);
        half.copy_from_slice(&h.finish().to_le_bytes());
    }
    Ok(key)
}

/// Packets moved between shards, summed over all shards.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HandoffStats {
    /// Packets a shard read for a flow another shard owns, and handed over.
    pub handed: u64,
    /// Of those, packets the owner took in.
    pub received: u64,
    /// Packets dropped because the owner's inbox was full.
    pub dropped: u64,
    /// Of those, packets other than SYNs (a SYN without ACK has an inbox of its own, so a
    /// SYN flood fills that one only).
    pub dropped_others: u64,
}

/// A set of stacks, one per device queue, that together are one host (see the module docs).
/// TCP goes through `net::ShardedListener`, `net::TcpStream::connect_sharded` and their tokio
/// twins; UDP belongs to the first shard (`stacks()[0]`), where every datagram is steered.
/// Dropping it stops every driver once no socket holds a shard.
pub struct Shards {
    shards: Vec<Arc<Stack>>,
    steering: Steering,
    counters: Vec<Arc<HandoffCounters>>,
    /// The shard the next connection opens on (round robin).
    next: AtomicUsize,
}

impl fmt::Debug for Shards {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shards").field("shards", &self.shards.len()).finish()
    }
}

impl Shards {
    /// Starts a shard on each of `devices` (the queues of one multi-queue device, say from
    /// `synack::TunDevice::open_queues`), each a [`Stack`] with
    /// `cfg`. With more than one device, each must read ahead in batches
    /// ([`DriverDevice::divert_rx`]), else `Unsupported`; one device makes one plain
    /// [`Stack`], with nothing added to its packet path. Zero devices is `InvalidInput`.
    pub fn new<D: DriverDevice>(
        devices: Vec<D>,
        cfg: StackConfig,
        clock: Clock,
    ) -> Result<Shards, StackError> {
        let n = devices.len();
        if n == 0 {
            return Err(StackError::Driver(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "a sharded stack needs at least one device",
            )));
        }
        let steering = Steering::new(n, steering_key(cfg.secret)?);
        if n == 1 {
            // One shard is a plain stack: nothing to steer, nothing in the packet path.
            let dev = devices
                .into_iter()
                .next()
                .ok_or_else(|| StackError::Driver(std::io::Error::other("device vanished")))?;
            return Ok(Shards {
                shards: vec![Arc::new(Stack::new(dev, cfg, clock)?)],
                steering,
                counters: vec![Arc::new(HandoffCounters::default())],
                next: AtomicUsize::new(0),
            });
        }
        let (senders, inboxes): (Vec<_>, Vec<_>) = (0..n)
            .map(|_| {
                let (syn_tx, syn_rx) = sync_channel::<Vec<u8>>(HANDOFF_QUEUE);
                let (tx, rx) = sync_channel::<Vec<u8>>(HANDOFF_QUEUE);
                (Inboxes { syns: syn_tx, others: tx }, Inboxes { syns: syn_rx, others: rx })
            })
            .unzip();
        let peers = Arc::new(Peers { inboxes: senders, wakes: OnceLock::new() });
        let mut shards = Vec::with_capacity(n);
        let mut counters = Vec::with_capacity(n);
        for (me, (mut dev, inbox)) in devices.into_iter().zip(inboxes).enumerate() {
            if dev.divert_rx(&mut |_| false).is_none() {
                return Err(StackError::Driver(std::io::Error::new(
                    std::io::ErrorKind::Unsupported,
                    "a shard's device must read ahead in batches to pass packets on",
                )));
            }
            let c = Arc::new(HandoffCounters::default());
            let dev = ShardDevice {
                inner: dev,
                me,
                steering,
                inbox,
                handed: Default::default(),
                peers: peers.clone(),
                counters: c.clone(),
            };
            let mut scfg = cfg.clone();
            scfg.rng_seed = cfg.rng_seed.wrapping_add(me as u64);
            shards.push(Arc::new(Stack::new(dev, scfg, clock)?));
            counters.push(c);
        }
        let _ = peers.wakes.set(shards.iter().map(|s| s.waker()).collect());
        Ok(Shards { shards, steering, counters, next: AtomicUsize::new(0) })
    }

    /// The shards' stacks, in device order.
    pub fn stacks(&self) -> &[Arc<Stack>] {
        &self.shards
    }

    /// Number of shards.
    pub fn len(&self) -> usize {
        self.shards.len()
    }

    /// Never true: a sharded stack has at least one shard.
    pub fn is_empty(&self) -> bool {
        self.shards.is_empty()
    }

    /// The steering function: which shard owns a flow.
    pub fn steering(&self) -> Steering {
        self.steering
    }

    /// Packets moved between shards so far.
    pub fn handoff_stats(&self) -> HandoffStats {
        let mut s = HandoffStats::default();
        for c in &self.counters {
            s.handed += c.out.load(Ordering::Relaxed);
            s.received += c.r#in.load(Ordering::Relaxed);
            s.dropped += c.dropped.load(Ordering::Relaxed);
            s.dropped_others += c.dropped_others.load(Ordering::Relaxed);
        }
        s
    }

    /// One listener per shard, all on the same address: `bind(stack, addr)` on each shard in
    /// order, a port 0 resolved by the first shard and taken by the others, so the sharded
    /// listeners of both APIs listen where a single one would.
    pub(crate) fn bind_each<L>(
        &self,
        mut addr: SocketAddr,
        mut bind: impl FnMut(&Arc<Stack>, SocketAddr) -> std::io::Result<(L, SocketAddr)>,
    ) -> std::io::Result<Vec<L>> {
        let mut parts = Vec::with_capacity(self.shards.len());
        for stack in &self.shards {
            let (listener, bound) = bind(stack, addr)?;
            addr = bound;
            parts.push(listener);
        }
        Ok(parts)
    }

    /// The shard the next connection opens on, and a number that differs for every pick
    /// (where that shard starts looking for a port).
    pub(crate) fn pick(&self) -> (usize, u64) {
        let k = self.next.fetch_add(1, Ordering::Relaxed);
        (k % self.shards.len(), k as u64)
    }
}

/// A local address for a connection to `remote` that shard `me` of `steering` owns: the
/// route's source and a free port of the ephemeral range the steering maps to that shard
/// (searched from a point that varies with `salt`), so the peer's answers belong to the shard
/// that opens.
pub(crate) fn shard_local_addr(
    st: &StackState,
    steering: Steering,
    me: usize,
    remote: SocketAddr,
    salt: u64,
) -> std::io::Result<SocketAddr> {
    use std::io::{Error, ErrorKind};
    let src = st
        .iface
        .source_for(remote.ip())
        .ok_or_else(|| Error::new(ErrorKind::NetworkUnreachable, "no route to the peer"))?;
    let (lo, hi) = st.endpoint.config().ephemeral_ports;
    let (lo, hi) = (lo.min(hi).max(1), lo.max(hi).max(1));
    let span = u64::from(hi - lo) + 1;
    let start = salt.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 16;
    for i in 0..span {
        let port = lo + ((start.wrapping_add(i)) % span) as u16;
        let local = SocketAddr::new(src, port);
        if steering.tcp_flow(local, remote) == me
            && st.endpoint.lookup(&FourTuple { local, remote }).is_none()
        {
            return Ok(local);
        }
    }
    Err(Error::new(ErrorKind::AddrInUse, "no free port of this shard in the ephemeral range"))
}
