//! `synack forward` in front of real traffic, inside network namespaces these tests create
//! (unique names, deleted afterwards):
//!
//! ```text
//!  client netns C                                               server netns S
//!  curl, test clients --default route--> TUN --synack forward--> veth ====== veth  servers,
//!                                                 (its own sockets leave by       microsocks,
//!                                                  --bind-interface / --fwmark)   dante, dnsmasq
//! ```
//!
//! In C the server's subnet is routed into the TUN device for everyone, and out of the veth
//! only in table 100, which `ip rule`s select for sockets bound to the veth or carrying mark 7:
//! the lines docs/FORWARD.md gives. The servers are threads of this test entered into S; the
//! clients are curl and threads entered into C.
//!
//! Needs root, /dev/net/tun, `ip` and `curl` (and microsocks, danted, dnsmasq for their parts);
//! prints `SKIPPED: <reason>` and passes otherwise. Set `SYNACK_FORWARD_BIG=1` to add 100 MB
//! downloads.

// Real processes need real time: every wait here is a bounded wall-clock wait.
#![allow(clippy::disallowed_methods)]

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

mod support;
use support::{Ns, Proc, skip_reason};

const BIN: &str = env!("CARGO_BIN_EXE_synack");

const SERVER4: &str = "10.201.0.2";
const SERVER6: &str = "fd00:201::2";
const HTTP: u16 = 80;
const ECHO: u16 = 7;
const BANNER: u16 = 9;
const RESET: u16 = 11;
const CLOSED: u16 = 12;
const MICROSOCKS: u16 = 1080;
const DANTE: u16 = 1081;
/// The name dnsmasq answers for, and its address.
const DNS_NAME: &str = "fw.synack.test";
const DNS_ANSWER: [u8; 4] = [10, 201, 0, 77];
const MARK: &str = "7";

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("ip");
    assert!(out.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// `ip -n <ns> args`, asserting success.
fn ns_ip(ns: &Ns, args: &[&str]) {
    let mut a = vec!["-n", ns.name()];
    a.extend_from_slice(args);
    ip(&a);
}

/// Runs `f` on a thread inside the namespace (threads it spawns are inside too).
fn within<T: Send + 'static>(ns: &Ns, f: impl FnOnce() -> T + Send + 'static) -> T {
    let name = ns.name().to_string();
    std::thread::spawn(move || {
        synack_tun::netns::enter(&name).expect("entering netns");
        f()
    })
    .join()
    .expect("thread in netns panicked")
}

/// The bytes the HTTP server sends for a body of `n` bytes.
fn body_byte(i: u64) -> u8 {
    (i.wrapping_mul(2_654_435_761) >> 13) as u8
}

fn body_sha256(n: u64) -> String {
    let mut h = Sha256::new();
    let mut at = 0u64;
    while at < n {
        let end = n.min(at + (1 << 20));
        h.update((at..end).map(body_byte).collect::<Vec<u8>>());
        at = end;
    }
    format!("{:x}", h.finalize())
}

/// The servers in S: threads that stop when `stop` is raised (polled every 20 ms).
struct Servers {
    stop: Arc<AtomicBool>,
    /// What the banner server read from each client after sending its banner and FIN.
    banner_heard: mpsc::Receiver<Vec<u8>>,
}

fn accept_loop(
    l: TcpListener,
    stop: Arc<AtomicBool>,
    f: impl Fn(TcpStream) + Send + Sync + 'static,
) {
    l.set_nonblocking(true).unwrap();
    let f = Arc::new(f);
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match l.accept() {
                Ok((s, _)) => {
                    s.set_nonblocking(false).unwrap();
                    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                    let f = f.clone();
                    std::thread::spawn(move || f(s));
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Err(e) => panic!("accept: {e}"),
            }
        }
    });
}

fn start_servers(s: &Ns) -> Servers {
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    let st = stop.clone();
    within(s, move || {
        // [::] takes IPv4 too (bindv6only is 0 in a new namespace).
        let l = |p: u16| TcpListener::bind(("::", p)).unwrap();
        accept_loop(l(HTTP), st.clone(), |mut s| {
            let mut req = Vec::new();
            let mut b = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut b) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => req.extend_from_slice(&b[..n]),
                }
            }
            let path = String::from_utf8_lossy(&req).split(' ').nth(1).unwrap_or("/").to_string();
            let n: u64 = path.trim_start_matches('/').parse().unwrap_or(0);
            let head =
                format!("HTTP/1.0 200 OK\r\nContent-Length: {n}\r\nConnection: close\r\n\r\n");
            if s.write_all(head.as_bytes()).is_err() {
                return;
            }
            let mut at = 0u64;
            let mut buf = vec![0u8; 256 * 1024];
            while at < n {
                let take = (n - at).min(buf.len() as u64) as usize;
                for (i, b) in buf[..take].iter_mut().enumerate() {
                    *b = body_byte(at + i as u64);
                }
                if s.write_all(&buf[..take]).is_err() {
                    return;
                }
                at += take as u64;
            }
        });
        accept_loop(l(ECHO), st.clone(), |mut s| {
            let mut b = vec![0u8; 64 * 1024];
            loop {
                match s.read(&mut b) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if s.write_all(&b[..n]).is_err() {
                            return;
                        }
                    }
                }
            }
            let _ = s.shutdown(Shutdown::Write);
        });
        let tx = Mutex::new(tx);
        accept_loop(l(BANNER), st.clone(), move |mut s| {
            // Talks first and finishes its side, then listens to the end.
            let _ = s.write_all(b"banner then FIN");
            let _ = s.shutdown(Shutdown::Write);
            let mut got = Vec::new();
            let _ = s.read_to_end(&mut got);
            let _ = tx.lock().unwrap().send(got);
        });
        accept_loop(l(RESET), st.clone(), |mut s| {
            let mut b = [0u8; 2];
            let _ = s.read_exact(&mut b);
            // Linger 0: close() sends an RST.
            socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO)).unwrap();
        });
        let u = UdpSocket::bind(("::", ECHO)).unwrap();
        u.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let st2 = st.clone();
        std::thread::spawn(move || {
            let mut b = [0u8; 65536];
            while !st2.load(Ordering::Relaxed) {
                if let Ok((n, from)) = u.recv_from(&mut b) {
                    let _ = u.send_to(&b[..n], from);
                }
            }
        });
    });
    Servers { stop, banner_heard: rx }
}

impl Drop for Servers {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The client and server namespaces, joined by a veth pair, and the servers in S.
struct Topo {
    c: Ns,
    s: Ns,
    veth_c: String,
    veth_s: String,
    tun: String,
    dir: PathBuf,
    servers: Servers,
}

fn topo(tag: &str) -> Topo {
    let pid = std::process::id();
    let c = Ns::new("fw", &format!("{tag}c"));
    let s = Ns::new("fw", &format!("{tag}s"));
    let (veth_c, veth_s, tun) =
        (format!("fw{tag}c{pid}"), format!("fw{tag}s{pid}"), format!("fw{tag}t{pid}"));
    ip(&["link", "add", &veth_c, "type", "veth", "peer", "name", &veth_s]);
    ip(&["link", "set", &veth_c, "netns", c.name()]);
    ip(&["link", "set", &veth_s, "netns", s.name()]);
    ns_ip(&c, &["link", "set", &veth_c, "up"]);
    ns_ip(&s, &["link", "set", &veth_s, "up"]);
    // C reaches S's subnet only in table 100 (no connected route in main): everyone else's
    // traffic to it takes the default route into the TUN device.
    ns_ip(&c, &["addr", "add", "10.201.0.1/24", "dev", &veth_c, "noprefixroute"]);
    ns_ip(&c, &["-6", "addr", "add", "fd00:201::1/64", "dev", &veth_c, "noprefixroute", "nodad"]);
    ns_ip(&s, &["addr", "add", "10.201.0.2/24", "dev", &veth_s]);
    ns_ip(&s, &["-6", "addr", "add", "fd00:201::2/64", "dev", &veth_s, "nodad"]);
    ns_ip(&c, &["route", "add", "10.201.0.0/24", "dev", &veth_c, "table", "100"]);
    ns_ip(&c, &["-6", "route", "add", "fd00:201::/64", "dev", &veth_c, "table", "100"]);
    for fam in ["-4", "-6"] {
        ns_ip(&c, &[fam, "rule", "add", "oif", &veth_c, "lookup", "100"]);
        ns_ip(&c, &[fam, "rule", "add", "fwmark", MARK, "lookup", "100"]);
    }
    let dir = std::env::temp_dir().join(format!("synack-fw{tag}-{pid}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let servers = start_servers(&s);
    Topo { c, s, veth_c, veth_s, tun, dir, servers }
}

impl Drop for Topo {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Topo {
    /// Starts `synack forward` in C with `extra` options, then routes C's traffic into it.
    fn forward(&self, extra: &[&str]) -> Proc {
        let mut args = vec![BIN, "forward", "--tun", &self.tun, "--addr", "10.200.0.1/24"];
        args.extend(["--addr", "fd00:200::1/64", "--stats-interval", "1"]);
        args.extend_from_slice(extra);
        let p = Proc::spawn(self.c.cmd(&args));
        assert!(p.wait_for("forward: relaying", 20), "forward did not start: {}", p.text());
        ns_ip(&self.c, &["route", "add", "default", "dev", &self.tun]);
        ns_ip(&self.c, &["-6", "route", "add", "default", "dev", &self.tun]);
        // The TUN device's IPv6 address must be usable before clients bind to it.
        let end = Instant::now() + Duration::from_secs(5);
        while Instant::now() < end {
            let out = self.c.cmd(&["ip", "-6", "addr", "show", "dev", &self.tun]).output().unwrap();
            if !String::from_utf8_lossy(&out.stdout).contains("tentative") {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        p
    }

    /// curl in C downloads `n` bytes from the HTTP server at `host`; returns the SHA-256.
    fn curl_sha256(&self, host: &str, n: u64) -> String {
        let url = if host.contains(':') {
            format!("http://[{host}]:{HTTP}/{n}")
        } else {
            format!("http://{host}:{HTTP}/{n}")
        };
        let file = self.dir.join(format!("dl-{n}"));
        let out = self
            .c
            .cmd(&["curl", "-sS", "--max-time", "120", "-o", file.to_str().unwrap(), &url])
            .output()
            .unwrap();
        assert!(out.status.success(), "curl {url}: {}", String::from_utf8_lossy(&out.stderr));
        let mut h = Sha256::new();
        let mut f = std::fs::File::open(&file).unwrap();
        std::io::copy(&mut f, &mut h).unwrap();
        let _ = std::fs::remove_file(&file);
        format!("{:x}", h.finalize())
    }
}

fn sa(host: &str, port: u16) -> SocketAddr {
    SocketAddr::new(host.parse().unwrap(), port)
}

/// byte-exact downloads, v4 and v6.
fn check_downloads(t: &Topo) {
    let mut sizes = vec![1 << 20];
    if std::env::var_os("SYNACK_FORWARD_BIG").is_some() {
        sizes.push(100 << 20);
    }
    for n in sizes {
        let want = body_sha256(n);
        for host in [SERVER4, SERVER6] {
            assert_eq!(t.curl_sha256(host, n), want, "{n} bytes from {host}");
        }
    }
}

/// `n` connections at once to the echo server, each echoing 4 KiB intact.
fn check_concurrent(t: &Topo, n: usize) {
    let failures = within(&t.c, move || {
        let threads: Vec<_> = (0..n)
            .map(|i| {
                std::thread::spawn(move || -> Result<(), String> {
                    let host = if i % 2 == 0 { SERVER4 } else { SERVER6 };
                    let mut s =
                        TcpStream::connect_timeout(&sa(host, ECHO), Duration::from_secs(20))
                            .map_err(|e| format!("connect {i}: {e}"))?;
                    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                    let msg: Vec<u8> = (0..4096).map(|j| (i * 31 + j) as u8).collect();
                    s.write_all(&msg).map_err(|e| format!("write {i}: {e}"))?;
                    // Read the echo back in full before closing: no half-close here, which
                    // microsocks would not carry.
                    let mut back = vec![0u8; msg.len()];
                    s.read_exact(&mut back).map_err(|e| format!("read {i}: {e}"))?;
                    if back != msg {
                        return Err(format!("conn {i}: the echo differs from what was sent"));
                    }
                    Ok(())
                })
            })
            .collect();
        threads.into_iter().filter_map(|h| h.join().unwrap().err()).collect::<Vec<_>>()
    });
    assert!(
        failures.is_empty(),
        "{} of {n} connections failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
}

/// Half-close both ways and a server's RST reaching the client as a reset (when the path
/// carries them: `direct`), and a closed port refused within a second.
fn check_tcp_semantics(t: &Topo, direct: bool) {
    for host in [SERVER4, SERVER6] {
        if direct {
            check_half_close(t, host);
        }
        let refused_after = within(&t.c, move || {
            if direct {
                // The server resets: the client sees a reset, not an orderly end.
                let mut s = TcpStream::connect(sa(host, RESET)).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                s.write_all(b"go").unwrap();
                let mut b = [0u8; 16];
                let e = s.read(&mut b).map(|n| format!("read {n} bytes")).unwrap_err();
                assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{host}: server RST");
            }

            // Nobody listens: refused, quickly.
            let t0 = Instant::now();
            let e =
                TcpStream::connect_timeout(&sa(host, CLOSED), Duration::from_secs(5)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{host}: closed port gave {e}");
            t0.elapsed()
        });
        assert!(refused_after < Duration::from_secs(1), "{host}: refused after {refused_after:?}");
    }
}

/// A FIN from either end reaches the other while the opposite direction keeps flowing.
fn check_half_close(t: &Topo, host: &'static str) {
    let first = within(&t.c, move || {
        // Client finishes first; the echo of everything still comes back after its FIN.
        let mut s = TcpStream::connect(sa(host, ECHO)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(b"client speaks, then FIN").unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        let mut back = Vec::new();
        s.read_to_end(&mut back).unwrap();
        assert_eq!(back, b"client speaks, then FIN", "{host}: echo after the client's FIN");

        // Server finishes first; the client still speaks after reading its FIN.
        let mut s = TcpStream::connect(sa(host, BANNER)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut first = Vec::new();
        s.read_to_end(&mut first).unwrap();
        s.write_all(b"words after the server's FIN").unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        first
    });
    assert_eq!(first, b"banner then FIN", "{host}");
    let heard = t.servers.banner_heard.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(heard, b"words after the server's FIN", "{host}: the server's half-closed side");
}

/// 10,000 datagrams to the UDP echo server, up to 64 in flight; returns how many were lost.
fn udp_echo_lost(t: &Topo, host: &'static str) -> usize {
    within(&t.c, move || {
        let bind = if host.contains(':') { "[::]:0" } else { "0.0.0.0:0" };
        let u = UdpSocket::bind(bind).unwrap();
        u.connect(sa(host, ECHO)).unwrap();
        u.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
        const N: u32 = 10_000;
        let mut seen = vec![false; N as usize];
        let (mut sent, mut got) = (0u32, 0u32);
        let mut b = [0u8; 2048];
        let payload = |i: u32| -> Vec<u8> {
            let mut p = i.to_be_bytes().to_vec();
            p.extend((0..200u32).map(|j| (i ^ j) as u8));
            p
        };
        while sent < N || got < sent {
            while sent < N && sent - got < 64 {
                u.send(&payload(sent)).unwrap();
                sent += 1;
            }
            match u.recv(&mut b) {
                Ok(n) => {
                    let i = u32::from_be_bytes(b[..4].try_into().unwrap());
                    assert!(i < N && b[..n] == payload(i)[..], "datagram {i} changed");
                    if !seen[i as usize] {
                        seen[i as usize] = true;
                    }
                    got += 1;
                }
                // Whatever is out now is lost: count it as answered and go on.
                Err(_) => got = sent,
            }
        }
        seen.iter().filter(|s| !**s).count()
    })
}

/// Datagrams larger than the TUN device's MTU each way: the kernel in C sends them fragmented
/// into the TUN device, forward reassembles them, and fragments the echoed reply on its way
/// back. True when every size came back unchanged (each tried up to three times).
fn udp_large_echo(t: &Topo, host: &'static str) -> bool {
    within(&t.c, move || {
        let bind = if host.contains(':') { "[::]:0" } else { "0.0.0.0:0" };
        let u = UdpSocket::bind(bind).unwrap();
        u.connect(sa(host, ECHO)).unwrap();
        u.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
        let mut b = vec![0u8; 65536];
        [1500usize, 4000, 9000, 30_000].iter().all(|&n| {
            let payload: Vec<u8> = (0..n).map(|i| (i * 13 + n) as u8).collect();
            (0..3).any(|_| {
                u.send(&payload).unwrap();
                matches!(u.recv(&mut b), Ok(got) if b[..got] == payload[..])
            })
        })
    })
}

/// A DNS query for [`DNS_NAME`] over UDP; true when the answer carries [`DNS_ANSWER`].
fn dns_resolves(t: &Topo, server: &'static str) -> bool {
    within(&t.c, move || {
        let mut q = vec![0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in DNS_NAME.split('.') {
            q.push(label.len() as u8);
            q.extend_from_slice(label.as_bytes());
        }
        q.extend_from_slice(&[0, 0, 1, 0, 1]);
        let bind = if server.contains(':') { "[::]:0" } else { "0.0.0.0:0" };
        let u = UdpSocket::bind(bind).unwrap();
        u.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        for _ in 0..3 {
            u.send_to(&q, sa(server, 53)).unwrap();
            let mut b = [0u8; 512];
            if let Ok((n, _)) = u.recv_from(&mut b) {
                let ancount = u16::from_be_bytes([b[6], b[7]]);
                return b[..2] == [0x12, 0x34] && ancount >= 1 && b[..n].ends_with(&DNS_ANSWER);
            }
        }
        false
    })
}

fn dnsmasq(t: &Topo) -> Proc {
    let answer = format!("--address=/{DNS_NAME}/{}", std::net::Ipv4Addr::from(DNS_ANSWER));
    let pidfile = t.dir.join("dnsmasq.pid");
    let p = Proc::spawn(t.s.cmd(&[
        "dnsmasq",
        "--keep-in-foreground",
        "--no-resolv",
        "--no-hosts",
        "--no-daemon",
        "--bind-interfaces",
        &format!("--listen-address={SERVER4}"),
        &format!("--listen-address={SERVER6}"),
        "--port=53",
        &answer,
        &format!("--pid-file={}", pidfile.display()),
        "--user=root",
    ]));
    assert!(p.wait_for("started", 10), "dnsmasq did not start: {}", p.text());
    p
}

/// Stops forward with Ctrl-C: it must exit by itself, cleanly, with its counters.
fn stop_forward(p: Proc) -> String {
    let (exited, out) = p.stop_status(10);
    assert!(exited, "forward did not exit cleanly on Ctrl-C: {out}");
    assert!(out.contains("forward: stopped:"), "no final counters: {out}");
    out
}

#[test]
fn forward_direct_over_bind_interface() {
    if let Some(r) = skip_reason(&["ip", "curl"]) {
        println!("SKIPPED: {r}");
        return;
    }
    let t = topo("d");
    let dns = support::have("dnsmasq").then(|| dnsmasq(&t));
    let veth = t.veth_c.clone();
    let fwd = t.forward(&["--bind-interface", &veth]);
    check_downloads(&t);
    check_concurrent(&t, 200);
    check_tcp_semantics(&t, true);
    for host in [SERVER4, SERVER6] {
        let lost = udp_echo_lost(&t, host);
        assert!(lost <= 100, "{host}: {lost} of 10,000 UDP datagrams lost: {}", fwd.text());
        assert!(udp_large_echo(&t, host), "{host}: large UDP datagrams: {}", fwd.text());
        match dns {
            Some(_) => assert!(dns_resolves(&t, host), "DNS to {host} through forward"),
            None => println!("SKIPPED (part): DNS, dnsmasq not installed"),
        }
    }
    let out = stop_forward(fwd);
    assert!(out.contains("forward: ["), "no periodic counter lines: {out}");
}

#[test]
fn forward_through_microsocks_with_fwmark() {
    if let Some(r) = skip_reason(&["ip", "curl", "microsocks"]) {
        println!("SKIPPED: {r}");
        return;
    }
    let t = topo("m");
    let ms = Proc::spawn(t.s.cmd(&["microsocks", "-i", SERVER4, "-p", &MICROSOCKS.to_string()]));
    std::thread::sleep(Duration::from_millis(300));
    let proxy = format!("{SERVER4}:{MICROSOCKS}");
    let fwd = t.forward(&["--socks5", &proxy, "--fwmark", MARK]);
    check_downloads(&t);
    check_concurrent(&t, 200);
    // microsocks ends both directions at the first FIN it reads, and closes its client
    // connection in order when the server resets it: neither half-close nor a reset can pass
    // through it (dante carries half-close: checked in forward_udp_through_dante).
    check_tcp_semantics(&t, false);
    stop_forward(fwd);
    drop(ms);
}

#[test]
fn forward_udp_through_dante() {
    if let Some(r) = skip_reason(&["ip", "danted"]) {
        println!("SKIPPED: {r}");
        return;
    }
    let t = topo("u");
    let conf = t.dir.join("danted.conf");
    let veth_s = &t.veth_s;
    // forward reaches dante over IPv4 whatever the destination's family; `0/0` matches
    // addresses of both families, where `0.0.0.0/0` or `::/0` would match one family only and
    // dante would refuse the other destinations (ICMP "administratively prohibited").
    std::fs::write(
        &conf,
        format!(
            "logoutput: stderr\ninternal: {SERVER4} port = {DANTE}\nexternal: {veth_s}\n\
             clientmethod: none\nsocksmethod: none\nuser.privileged: root\n\
             user.unprivileged: root\n\
             client pass {{ from: 0.0.0.0/0 to: 0.0.0.0/0 }}\n\
             socks pass {{ from: 0/0 to: 0/0 command: connect udpassociate udpreply }}\n"
        ),
    )
    .unwrap();
    let pidfile = t.dir.join("danted.pid");
    let dante = Proc::spawn(t.s.cmd(&[
        "danted",
        "-f",
        conf.to_str().unwrap(),
        "-p",
        pidfile.to_str().unwrap(),
        "-N",
        "1",
    ]));
    std::thread::sleep(Duration::from_millis(500));
    let dns = support::have("dnsmasq").then(|| dnsmasq(&t));
    let proxy = format!("{SERVER4}:{DANTE}");
    let veth = t.veth_c.clone();
    let fwd = t.forward(&["--socks5", &proxy, "--bind-interface", &veth]);
    for host in [SERVER4, SERVER6] {
        let lost = udp_echo_lost(&t, host);
        assert!(
            lost <= 100,
            "{host}: {lost} of 10,000 UDP datagrams lost through dante: {}\n{}",
            dante.text(),
            fwd.text()
        );
        assert!(udp_large_echo(&t, host), "{host}: large UDP datagrams through dante");
        if dns.is_some() {
            assert!(dns_resolves(&t, host), "DNS to {host} through dante: {}", dante.text());
        }
    }
    // TCP through dante too, half-close included.
    check_downloads(&t);
    for host in [SERVER4, SERVER6] {
        check_half_close(&t, host);
    }
    stop_forward(fwd);
}

#[test]
fn unreachable_proxy_is_a_clear_error_not_a_hang() {
    if let Some(r) = skip_reason(&["ip"]) {
        println!("SKIPPED: {r}");
        return;
    }
    let t = topo("x");
    // Nothing listens on this port of S: refused at once.
    let out =
        t.c.cmd(&[
            BIN,
            "forward",
            "--tun",
            &t.tun,
            "--addr",
            "10.200.0.1/24",
            "--socks5",
            "10.201.0.2:1999",
        ])
        .args(["--bind-interface", &t.veth_c])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("SOCKS5 proxy 10.201.0.2:1999 unreachable"), "{err}");
    // An address nobody answers: the connect timeout (or the failed neighbour lookup) says so.
    let t0 = Instant::now();
    let out =
        t.c.cmd(&[
            BIN,
            "forward",
            "--tun",
            &t.tun,
            "--addr",
            "10.200.0.1/24",
            "--socks5",
            "10.201.0.99:1080",
        ])
        .args(["--bind-interface", &t.veth_c, "--connect-timeout", "2"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("SOCKS5 proxy 10.201.0.99:1080 unreachable"), "{err}");
    assert!(t0.elapsed() < Duration::from_secs(10), "took {:?}", t0.elapsed());
}
