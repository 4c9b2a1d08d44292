//! A stack per queue of a multi-queue TUN inside a network namespace this test creates: kernel
//! clients (python3 in the namespace) connect to a sharded listener, and sharded connects reach
//! a kernel server, with data echoed both ways. Connections land on every shard, each on the
//! shard that owns its flow, whichever queue the kernel first used.
//!
//! Prints `SKIPPED: <reason>` and passes when not root, without /dev/net/tun, `ip` or python3.
#![cfg(feature = "tun")]

mod support;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use synack::net::{ShardedListener, TcpStream};
use synack::runtime::StackConfig;
use synack::{Clock, IpCidr, Shards};
use synack_tun::{TunDevice, TunOptions, config, netns};

const STEP: Duration = Duration::from_secs(10);
const QUEUES: usize = 2;
const CONNS: usize = 16;

/// Opens CONNS connections at once, sends each 64 KiB + its number, expects it back.
const CLIENTS: &str = r#"
import socket, sys, threading
ok = []
def one(i):
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
    msg = bytes([i]) * 65536 + b'\n'
    s.sendall(msg)
    got = b''
    while len(got) < len(msg):
        d = s.recv(65536)
        if not d: break
        got += d
    s.close()
    ok.append(got == msg)
ts = [threading.Thread(target=one, args=(i,)) for i in range(int(sys.argv[3]))]
for t in ts: t.start()
for t in ts: t.join()
print('OK', sum(ok))
"#;

/// Echoes each of argv[3] connections on argv[1]:argv[2], then exits.
const SERVER: &str = r#"
import socket, sys, threading
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((sys.argv[1], int(sys.argv[2]))); l.listen(64)
print('LISTENING', flush=True)
def echo(c):
    while True:
        d = c.recv(65536)
        if not d: break
        c.sendall(d)
    c.close()
ts = []
for _ in range(int(sys.argv[3])):
    c, _ = l.accept()
    t = threading.Thread(target=echo, args=(c,)); t.start(); ts.append(t)
for t in ts: t.join()
print('SERVED')
"#;

fn echo(mut s: TcpStream) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        s.set_read_timeout(Some(STEP)).unwrap();
        let mut buf = [0u8; 65536];
        while let Ok(n @ 1..) = s.read(&mut buf) {
            if s.write_all(&buf[..n]).is_err() {
                return;
            }
        }
    })
}

#[test]
fn shards_on_a_multi_queue_tun_serve_and_open_kernel_connections() {
    if support::skipped(&["ip", "python3", "timeout"]) {
        return;
    }
    let (ns, _guard) = support::add_netns("synack-sh-");
    let ns2 = ns.clone();
    let queues = std::thread::spawn(move || -> Result<Vec<TunDevice>, String> {
        netns::enter(&ns2).map_err(|e| e.to_string())?;
        let qs = TunDevice::open_queues("shq0", 1500, TunOptions::default(), QUEUES)
            .map_err(|e| e.to_string())?;
        let name = qs[0].name().to_string();
        config::set_mtu(&name, 1500).map_err(|e| e.to_string())?;
        config::add_address(&name, "10.89.0.1".parse().unwrap(), 24).map_err(|e| e.to_string())?;
        config::set_up(&name).map_err(|e| e.to_string())?;
        Ok(qs)
    })
    .join()
    .unwrap()
    .expect("multi-queue tun");
    assert_eq!(queues.len(), QUEUES);
    assert!(queues.iter().all(TunDevice::is_multi_queue));

    let cfg = StackConfig {
        addresses: vec![IpCidr::new("10.89.0.2".parse().unwrap(), 24).unwrap()],
        ..StackConfig::default()
    };
    let shards = Arc::new(Shards::new(queues, cfg, Clock::start()).expect("shards"));

    // Kernel clients to the sharded listener.
    let listener = ShardedListener::bind(&shards, "10.89.0.2:7000").unwrap();
    let ns3 = ns.clone();
    let clients = std::thread::spawn(move || {
        support::run_in_ns(&ns3, &["python3", "-c", CLIENTS, "10.89.0.2", "7000", "16"])
    });
    let mut on = BTreeSet::new();
    let mut echoes = Vec::new();
    for _ in 0..CONNS {
        let (s, peer) = listener.accept_timeout(STEP).expect("accept");
        let i = shards.stacks().iter().position(|st| Arc::ptr_eq(st, s.stack())).unwrap();
        assert_eq!(shards.steering().tcp_flow(s.local_addr().unwrap(), peer), i);
        on.insert(i);
        echoes.push(echo(s));
    }
    let out = clients.join().unwrap();
    let so = String::from_utf8_lossy(&out.stdout);
    assert!(
        so.contains(&format!("OK {CONNS}")),
        "clients: {so} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for e in echoes {
        e.join().unwrap();
    }
    assert_eq!(on.len(), QUEUES, "connections accepted on shards {on:?}");

    // Sharded connects to a kernel server.
    let ns4 = ns.clone();
    let server = std::thread::spawn(move || {
        support::run_in_ns(&ns4, &["python3", "-c", SERVER, "10.89.0.1", "7001", "8"])
    });
    let to: SocketAddr = "10.89.0.1:7001".parse().unwrap();
    let mut conns = Vec::new();
    let mut tries = 0;
    while conns.len() < 8 {
        match TcpStream::connect_sharded_with(&shards, to, None, Some(STEP)) {
            Ok(c) => conns.push(c),
            // The server may not be listening yet.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused && tries < 50 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => panic!("connect: {e}"),
        }
    }
    let mut used = BTreeSet::new();
    for (k, c) in conns.iter_mut().enumerate() {
        let i = shards.stacks().iter().position(|st| Arc::ptr_eq(st, c.stack())).unwrap();
        assert_eq!(shards.steering().tcp_flow(c.local_addr().unwrap(), to), i);
        used.insert(i);
        c.set_read_timeout(Some(STEP)).unwrap();
        let msg = vec![k as u8; 100_000];
        c.write_all(&msg).unwrap();
        let mut back = vec![0u8; msg.len()];
        c.read_exact(&mut back).unwrap();
        assert!(back == msg, "echo {k} differs");
    }
    drop(conns);
    let out = server.join().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("SERVED"), "server: {out:?}");
    assert_eq!(used.len(), QUEUES);
    for (i, st) in shards.stacks().iter().enumerate() {
        let s = st.with(|st, _| st.stats());
        assert!(s.frames_in > 0 && s.frames_out > 0, "shard {i}: {s:?}");
    }
    println!("handoffs: {:?}", shards.handoff_stats());
}
