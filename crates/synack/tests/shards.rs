//! A stack per core without root: shards on channel devices behind a stand-in for the kernel's
//! multi-queue TUN, which (as `drivers/net/tun.c` does) sends a flow to the queue that last
//! wrote a packet of it, and a flow it does not know (or has forgotten) to a queue of its own
//! hash, which is not the shards' steering. Every flow's packets stay on one shard; the
//! sharded listener and accept-any take connections from every shard; connects from many
//! threads spread over the shards, each from a port its shard owns.

use std::collections::{BTreeSet, HashMap};
use std::hash::{DefaultHasher, Hasher};
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use synack::net::{ShardedAnyListener, ShardedListener, TcpListener, TcpStream};
use synack::{AnyConfig, ChannelDevice, ChannelHandle, Clock, IpCidr, Shards, Stack, StackConfig};

const STEP: Duration = Duration::from_secs(10);
const SHARDS: usize = 3;
/// The stand-in kernel forgets every flow after this many packets towards the shards (the
/// kernel forgets a flow quiet for 3 s), so some packets of known flows take its hash again.
const FORGET_EVERY: u64 = 40;

type Flow = (SocketAddr, SocketAddr);

/// The two TCP endpoints of a packet, in a fixed order (both directions give the same).
fn tcp_flow(p: &[u8]) -> Option<Flow> {
    if p.first()? >> 4 != 4 || *p.get(9)? != 6 {
        return None;
    }
    let ihl = usize::from(p[0] & 0x0f) * 4;
    let ip = |at: usize| IpAddr::from(<[u8; 4]>::try_from(&p[at..at + 4]).unwrap());
    let port = |at: usize| u16::from_be_bytes([p[at], p[at + 1]]);
    p.get(ihl + 4)?;
    let a = SocketAddr::new(ip(12), port(ihl));
    let b = SocketAddr::new(ip(16), port(ihl + 2));
    Some(if (a.ip(), a.port()) <= (b.ip(), b.port()) { (a, b) } else { (b, a) })
}

/// The stand-in kernel: a multi-queue device between one peer stack and the shards.
struct Kernel {
    /// Queue that last wrote each flow.
    table: Mutex<HashMap<Flow, usize>>,
    /// Shards that sent packets of each flow.
    senders: Mutex<HashMap<Flow, BTreeSet<usize>>>,
    to_shards: AtomicU64,
}

impl Kernel {
    fn own_hash(f: &Flow) -> usize {
        let mut h = DefaultHasher::new();
        h.write(b"not the shards' steering");
        h.write(format!("{f:?}").as_bytes());
        (h.finish() % SHARDS as u64) as usize
    }

    fn queue_for(&self, p: &[u8]) -> usize {
        let n = self.to_shards.fetch_add(1, Ordering::Relaxed);
        let mut t = self.table.lock().unwrap();
        if n % FORGET_EVERY == FORGET_EVERY - 1 {
            t.clear();
        }
        match tcp_flow(p) {
            Some(f) => t.get(&f).copied().unwrap_or_else(|| Self::own_hash(&f)),
            None => 0,
        }
    }

    fn wrote(&self, q: usize, p: &[u8]) {
        if let Some(f) = tcp_flow(p) {
            self.table.lock().unwrap().insert(f, q);
            self.senders.lock().unwrap().entry(f).or_default().insert(q);
        }
    }
}

struct Rig {
    shards: Shards,
    peer: Arc<Stack>,
    kernel: Arc<Kernel>,
    stop: Arc<AtomicBool>,
    pumps: Vec<JoinHandle<()>>,
}

const SHARD_IP: &str = "10.9.0.2";
const PEER_IP: &str = "10.9.0.1";

fn cfg(ip: &str, secret: u8) -> StackConfig {
    StackConfig {
        addresses: vec![IpCidr::new(ip.parse().unwrap(), 24).unwrap()],
        secret: Some([secret; 16]),
        ..StackConfig::default()
    }
}

fn pump(
    from: ChannelHandle,
    stop: Arc<AtomicBool>,
    mut deliver: impl FnMut(Vec<u8>) -> bool + Send + 'static,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Acquire) {
            match from.recv_timeout(Duration::from_millis(10)) {
                Ok(p) => {
                    if !deliver(p) {
                        return;
                    }
                }
                Err(e) if e.kind() == ErrorKind::TimedOut => {}
                Err(_) => return,
            }
        }
    })
}

impl Rig {
    fn new() -> Rig {
        let clock = Clock::start();
        let (devs, handles): (Vec<_>, Vec<_>) =
            (0..SHARDS).map(|_| ChannelDevice::new(1500, 1024)).unzip();
        let shards = Shards::new(devs, cfg(SHARD_IP, 1), clock).unwrap();
        let (pdev, ph) = ChannelDevice::new(1500, 1024);
        let peer = Arc::new(Stack::new(pdev, cfg(PEER_IP, 2), clock).unwrap());
        let kernel = Arc::new(Kernel {
            table: Mutex::default(),
            senders: Mutex::default(),
            to_shards: AtomicU64::new(0),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let mut pumps = Vec::new();
        let (k, qs) = (kernel.clone(), handles.clone());
        pumps.push(pump(ph.clone(), stop.clone(), move |p| qs[k.queue_for(&p)].send(p).is_ok()));
        for (q, h) in handles.into_iter().enumerate() {
            let (k, ph) = (kernel.clone(), ph.clone());
            pumps.push(pump(h, stop.clone(), move |p| {
                k.wrote(q, &p);
                ph.send(p).is_ok()
            }));
        }
        Rig { shards, peer, kernel, stop, pumps }
    }

    /// The shard a stream lives on.
    fn shard_of(&self, s: &TcpStream) -> usize {
        self.shards.stacks().iter().position(|st| Arc::ptr_eq(st, s.stack())).expect("a shard")
    }

    /// Every flow was sent by one shard only: the one the steering names.
    fn check_placement(&self) {
        let senders = self.kernel.senders.lock().unwrap();
        assert!(!senders.is_empty());
        for (f, by) in senders.iter() {
            let owner = self.shards.steering().tcp_flow(f.0, f.1);
            assert_eq!(by, &BTreeSet::from([owner]), "flow {f:?} sent by shards {by:?}");
        }
    }

    fn finish(mut self) {
        self.stop.store(true, Ordering::Release);
        for p in self.pumps.drain(..) {
            p.join().unwrap();
        }
    }
}

fn echo(mut s: TcpStream) -> JoinHandle<()> {
    std::thread::spawn(move || {
        s.set_read_timeout(Some(STEP)).unwrap();
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if s.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
            }
        }
    })
}

/// Sends `len` bytes that depend on `seed` and checks they come back.
fn round_trip(s: &mut TcpStream, seed: u8, len: usize) {
    s.set_read_timeout(Some(STEP)).unwrap();
    let data: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect();
    s.write_all(&data).unwrap();
    let mut back = vec![0u8; len];
    s.read_exact(&mut back).unwrap();
    assert!(back == data, "echo differs");
}

#[test]
fn listener_accepts_from_every_shard_and_flows_stay_on_their_shard() {
    let rig = Rig::new();
    let listener = ShardedListener::bind(&rig.shards, (SHARD_IP, 80)).unwrap();
    let peer = rig.peer.clone();
    let clients: Vec<_> = (0..4)
        .map(|t| {
            let peer = peer.clone();
            std::thread::spawn(move || {
                (0..6u8)
                    .map(|i| {
                        let to: SocketAddr = (SHARD_IP.parse::<IpAddr>().unwrap(), 80).into();
                        let mut c = TcpStream::connect_timeout(&peer, &to, STEP).unwrap();
                        round_trip(&mut c, t * 16 + i, 20_000);
                        c
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut on = [0usize; SHARDS];
    let mut echoes = Vec::new();
    for _ in 0..24 {
        let (s, peer_addr) = listener.accept_timeout(STEP).unwrap();
        let i = rig.shard_of(&s);
        assert_eq!(rig.shards.steering().tcp_flow(s.local_addr().unwrap(), peer_addr), i);
        on[i] += 1;
        echoes.push(echo(s));
    }
    let conns: Vec<TcpStream> = clients.into_iter().flat_map(|c| c.join().unwrap()).collect();
    assert!(on.iter().all(|&n| n > 0), "connections per shard: {on:?}");
    drop(conns);
    for e in echoes {
        e.join().unwrap();
    }
    rig.check_placement();
    let h = rig.shards.handoff_stats();
    assert!(h.handed > 0, "the stand-in kernel's own hash never missed: {h:?}");
    rig.finish();
}

#[test]
fn connects_from_many_threads_spread_over_the_shards_on_ports_they_own() {
    let rig = Rig::new();
    let server = TcpListener::bind(&rig.peer, (PEER_IP, 7)).unwrap();
    let accepting = std::thread::spawn(move || {
        (0..24).map(|_| echo(server.accept_timeout(STEP).unwrap().0)).collect::<Vec<_>>()
    });
    let shards = Arc::new(rig.shards);
    let to: SocketAddr = (PEER_IP.parse::<IpAddr>().unwrap(), 7).into();
    let threads: Vec<_> = (0..6u8)
        .map(|t| {
            let shards = shards.clone();
            std::thread::spawn(move || {
                (0..4u8)
                    .map(|i| {
                        let mut c =
                            TcpStream::connect_sharded_with(&shards, to, None, Some(STEP)).unwrap();
                        round_trip(&mut c, t * 8 + i, 10_000);
                        c
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let conns: Vec<TcpStream> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    let rig = Rig { shards: Arc::into_inner(shards).unwrap(), ..rig };
    let mut on = [0usize; SHARDS];
    for c in &conns {
        let i = rig.shard_of(c);
        assert_eq!(rig.shards.steering().tcp_flow(c.local_addr().unwrap(), to), i);
        on[i] += 1;
    }
    assert_eq!(on, [8; SHARDS], "connects are spread in turn");
    drop(conns);
    for e in accepting.join().unwrap() {
        e.join().unwrap();
    }
    rig.check_placement();
    // Connections opened here never need a handoff: their first answer already comes back on
    // the queue that sent the SYN, unless the stand-in kernel forgot the flow.
    rig.finish();
}

#[test]
fn accept_any_spans_the_shards() {
    let rig = Rig::new();
    let any = ShardedListener::bind_any(&rig.shards).unwrap();
    let peer = rig.peer.clone();
    let client = std::thread::spawn(move || {
        (0..12u16)
            .map(|i| {
                let to: SocketAddr = ([10, 9, 0, 77], 1000 + i).into();
                let mut c = TcpStream::connect_timeout(&peer, &to, STEP).unwrap();
                round_trip(&mut c, i as u8, 5000);
                c
            })
            .collect::<Vec<_>>()
    });
    let mut on = BTreeSet::new();
    let mut echoes = Vec::new();
    for _ in 0..12 {
        let (s, _) = any.accept_timeout(STEP).unwrap();
        assert_eq!(s.local_addr().unwrap().ip(), IpAddr::from([10, 9, 0, 77]));
        on.insert(rig.shard_of(&s));
        echoes.push(echo(s));
    }
    drop(client.join().unwrap());
    for e in echoes {
        e.join().unwrap();
    }
    assert_eq!(on.len(), SHARDS, "accepted on shards {on:?}");
    // A deferred accept-any listener over the same shards takes SYNs from them all too.
    drop(any);
    let deferred = ShardedAnyListener::bind(&rig.shards, |_| AnyConfig::default()).unwrap();
    let peer = rig.peer.clone();
    let client = std::thread::spawn(move || {
        (0..6u16)
            .map(|i| {
                let to: SocketAddr = ([10, 9, 0, 78], 2000 + i).into();
                TcpStream::connect_timeout(&peer, &to, STEP).unwrap()
            })
            .collect::<Vec<_>>()
    });
    let mut taken = Vec::new();
    for _ in 0..6 {
        let syn = deferred.next_timeout(STEP).unwrap();
        assert_eq!(syn.local_addr().ip(), IpAddr::from([10, 9, 0, 78]));
        taken.push(syn.accept().unwrap());
    }
    drop(client.join().unwrap());
    drop(taken);
    rig.check_placement();
    rig.finish();
}

#[test]
fn tokio_listener_and_connect_span_the_shards() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rig = Rig::new();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build();
    let rt = rt.unwrap();
    let shards = Arc::new(rig.shards);
    let peer = rig.peer.clone();
    let on = rt.block_on(async {
        let l = synack::tokio::ShardedListener::bind(&shards, (SHARD_IP, 81)).await.unwrap();
        let steering = shards.steering();
        let server = tokio::spawn(async move {
            let mut on = BTreeSet::new();
            for _ in 0..9 {
                let (mut s, _) = l.accept().await.unwrap();
                on.insert(steering.tcp_flow(s.local_addr().unwrap(), s.peer_addr().unwrap()));
                tokio::spawn(async move {
                    let mut b = [0u8; 1024];
                    while let Ok(n @ 1..) = s.read(&mut b).await {
                        if s.write_all(&b[..n]).await.is_err() {
                            return;
                        }
                    }
                });
            }
            on
        });
        for i in 0..9u8 {
            let to: SocketAddr = (SHARD_IP.parse::<IpAddr>().unwrap(), 81).into();
            let mut c = synack::tokio::TcpStream::connect(&peer, to).await.unwrap();
            c.write_all(&[i; 100]).await.unwrap();
            let mut b = [0u8; 100];
            c.read_exact(&mut b).await.unwrap();
            assert_eq!(b, [i; 100]);
        }
        let echo_peer = synack::tokio::TcpListener::bind(&peer, (PEER_IP, 9)).await.unwrap();
        let peer_side = tokio::spawn(async move {
            for _ in 0..6 {
                let (mut s, _) = echo_peer.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut b = [0u8; 1024];
                    while let Ok(n @ 1..) = s.read(&mut b).await {
                        if s.write_all(&b[..n]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        let mut stacks = Vec::new();
        for i in 0..6u8 {
            let to: SocketAddr = (PEER_IP.parse::<IpAddr>().unwrap(), 9).into();
            let mut c = synack::tokio::TcpStream::connect_sharded(&shards, to).await.unwrap();
            c.write_all(&[i; 300]).await.unwrap();
            let mut b = [0u8; 300];
            c.read_exact(&mut b).await.unwrap();
            assert_eq!(b, [i; 300]);
            let local = c.local_addr().unwrap();
            stacks.push(shards.steering().tcp_flow(local, to));
        }
        peer_side.await.unwrap();
        assert_eq!(stacks, vec![0, 1, 2, 0, 1, 2], "tokio connects go round the shards");
        server.await.unwrap()
    });
    assert_eq!(on, BTreeSet::from([0, 1, 2]), "the tokio listener accepted on every shard");
    drop(rt);
    let rig = Rig { shards: Arc::into_inner(shards).unwrap(), ..rig };
    rig.check_placement();
    rig.finish();
}
