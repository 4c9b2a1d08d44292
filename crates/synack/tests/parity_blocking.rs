//! The blocking API against the kernel's: each scenario runs on a synack pair (the in-memory
//! link) and on a kernel pair over 127.0.0.1, and both must give the same trace (results and
//! `ErrorKind`s). Where the kernel is not reachable the kernel half prints `SKIPPED` and the
//! synack half still runs against the trace Linux gives.
//!
//! Real clocks: the kernel half needs them (a peer's segment reaches the socket
//! asynchronously); every wait is bounded.

// `on_pair!` binds both streams of every pair mutably; not every scenario writes through both.
#![allow(unused_mut)]
// The kernel half runs on real time.
#![allow(clippy::disallowed_methods)]

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::Arc;
use std::time::{Duration, Instant};

use synack::net::{TcpListener, TcpStream, memory_pair};
use synack::{IpCidr, Stack};

/// What the generic helpers need of a stream, and `SO_LINGER`, which std has not stabilised
/// (the kernel half sets it with `setsockopt`).
trait Sock: Read + Write + Sized {
    fn peek(&self, buf: &mut [u8]) -> io::Result<usize>;
    fn set_so_linger(&self, l: Option<Duration>) -> io::Result<()>;
    fn so_linger(&self) -> io::Result<Option<Duration>>;
}

impl Sock for TcpStream {
    fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        TcpStream::peek(self, buf)
    }
    fn set_so_linger(&self, l: Option<Duration>) -> io::Result<()> {
        TcpStream::set_linger(self, l)
    }
    fn so_linger(&self) -> io::Result<Option<Duration>> {
        TcpStream::linger(self)
    }
}

impl Sock for std::net::TcpStream {
    fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        std::net::TcpStream::peek(self, buf)
    }
    fn set_so_linger(&self, l: Option<Duration>) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        let v = libc::linger {
            l_onoff: i32::from(l.is_some()),
            l_linger: l.map_or(0, |d| d.as_secs() as i32),
        };
        // SAFETY: a valid descriptor and a pointer to a live `linger` of the size passed.
        let r = unsafe {
            libc::setsockopt(
                self.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&raw const v).cast(),
                size_of::<libc::linger>() as libc::socklen_t,
            )
        };
        if r == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
    }
    fn so_linger(&self) -> io::Result<Option<Duration>> {
        use std::os::fd::AsRawFd;
        let mut v = libc::linger { l_onoff: 0, l_linger: 0 };
        let mut len = size_of::<libc::linger>() as libc::socklen_t;
        // SAFETY: as above, with `len` holding the buffer's size.
        let r = unsafe {
            libc::getsockopt(
                self.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&raw mut v).cast(),
                &raw mut len,
            )
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok((v.l_onoff != 0).then(|| Duration::from_secs(v.l_linger as u64)))
    }
}

/// Records results as text: `Ok(..)` or the error's kind.
#[derive(Default)]
struct Trace(Vec<String>);

impl Trace {
    fn r<T: std::fmt::Debug>(&mut self, what: &str, r: io::Result<T>) {
        self.0.push(match r {
            Ok(v) => format!("{what}: Ok({v:?})"),
            Err(e) => format!("{what}: Err({:?})", e.kind()),
        });
    }
    fn read<S: Sock>(&mut self, what: &str, s: &mut S, len: usize) {
        let mut buf = vec![0u8; len];
        let r = s.read(&mut buf).map(|n| String::from_utf8_lossy(&buf[..n]).into_owned());
        self.r(what, r);
    }
    fn peek<S: Sock>(&mut self, what: &str, s: &S, len: usize) {
        let mut buf = vec![0u8; len];
        let r = s.peek(&mut buf).map(|n| String::from_utf8_lossy(&buf[..n]).into_owned());
        self.r(what, r);
    }
}

const STEP: Duration = Duration::from_secs(5);
/// Long enough for a segment to cross loopback or the in-memory link and be processed.
const SETTLE: Duration = Duration::from_millis(100);

fn stacks() -> (Arc<Stack>, Arc<Stack>) {
    let cidr = |s: &str| IpCidr::new(s.parse().unwrap(), 24).unwrap();
    memory_pair(cidr("10.0.0.1"), cidr("10.0.0.2")).expect("stacks start")
}

fn synack_pair() -> (TcpStream, TcpStream, (Arc<Stack>, Arc<Stack>)) {
    let (a, b) = stacks();
    let l = TcpListener::bind(&b, "10.0.0.2:0").unwrap();
    let c = TcpStream::connect(&a, l.local_addr().unwrap()).unwrap();
    let (s, _) = l.accept().unwrap();
    (c, s, (a, b))
}

fn kernel_pair() -> Option<(std::net::TcpStream, std::net::TcpStream)> {
    let l = match std::net::TcpListener::bind("127.0.0.1:0") {
        Ok(l) => l,
        Err(e) => {
            println!("SKIPPED: kernel half, no loopback ({e})");
            return None;
        }
    };
    let c = std::net::TcpStream::connect(l.local_addr().unwrap()).ok()?;
    let (s, _) = l.accept().ok()?;
    Some((c, s))
}

/// Runs `scenario` on both and compares; returns the synack trace.
fn both(scenario: fn(&mut Trace, &mut dyn FnMut() -> Pair)) -> Vec<String> {
    let mut syn = Trace::default();
    let mut keep = Vec::new();
    scenario(&mut syn, &mut || {
        let (c, s, st) = synack_pair();
        keep.push(st);
        Pair::Synack(c, s)
    });
    if kernel_pair().is_some() {
        let mut ker = Trace::default();
        scenario(&mut ker, &mut || {
            let (c, s) = kernel_pair().expect("loopback");
            Pair::Kernel(c, s)
        });
        assert_eq!(syn.0, ker.0, "synack (left) and the kernel (right) differ");
    }
    syn.0
}

enum Pair {
    Synack(TcpStream, TcpStream),
    Kernel(std::net::TcpStream, std::net::TcpStream),
}

/// Runs a generic body on whichever pair `make` gives.
macro_rules! on_pair {
    ($make:expr, |$c:ident, $s:ident| $body:block) => {
        match $make() {
            Pair::Synack(mut $c, mut $s) => $body,
            Pair::Kernel(mut $c, mut $s) => $body,
        }
    };
}

/// Reads until something other than `Ok(0)` or the time runs out (data arriving after a read
/// shutdown, where an empty read returns `Ok(0)` at once).
fn read_when_there<S: Sock>(s: &mut S, buf: &mut [u8]) -> io::Result<usize> {
    let t0 = Instant::now();
    loop {
        let n = s.read(buf)?;
        if n > 0 || t0.elapsed() > STEP {
            return Ok(n);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn peek_leaves_the_data() {
    let t = both(|t, make| {
        on_pair!(make, |c, s| {
            c.write_all(b"hello").unwrap();
            s.set_read_timeout(Some(STEP)).unwrap();
            t.peek("peek", &s, 16);
            t.peek("peek again", &s, 2);
            t.read("read", &mut s, 16);
            s.set_nonblocking(true).unwrap();
            t.peek("peek empty nonblocking", &s, 16);
            s.set_nonblocking(false).unwrap();
            c.shutdown(Shutdown::Write).unwrap();
            t.peek("peek at end of stream", &s, 16);
            t.read("read at end of stream", &mut s, 16);
        })
    });
    assert_eq!(t[0], "peek: Ok(\"hello\")");
    assert_eq!(t[3], "peek empty nonblocking: Err(WouldBlock)");
}

#[test]
fn shutdown_read_returns_buffered_and_later_data() {
    let t = both(|t, make| {
        on_pair!(make, |c, s| {
            c.write_all(b"abc").unwrap();
            s.set_read_timeout(Some(STEP)).unwrap();
            t.r("wait for data", s.peek(&mut [0u8; 3]));
            t.r("shutdown read", s.shutdown(Shutdown::Read));
            t.read("read buffered", &mut s, 16);
            t.read("read empty", &mut s, 16);
            c.write_all(b"later").unwrap();
            let mut buf = [0u8; 16];
            t.r("read later data", read_when_there(&mut s, &mut buf));
            // The peer was told nothing: it can still write, and reads our data.
            t.r("peer writes", c.write(b"x"));
            s.write_all(b"back").unwrap();
            c.set_read_timeout(Some(STEP)).unwrap();
            t.read("peer reads", &mut c, 16);
        })
    });
    assert_eq!(t[2], "read buffered: Ok(\"abc\")");
    assert_eq!(t[3], "read empty: Ok(\"\")");
    assert_eq!(t[4], "read later data: Ok(5)");
}

#[test]
fn reset_is_reported_once_then_broken_pipe() {
    // Reading first.
    let t = both(|t, make| {
        on_pair!(make, |c, s| {
            c.write_all(b"never read").unwrap();
            c.set_read_timeout(Some(STEP)).unwrap();
            t.r("wait", s.peek(&mut [0u8; 1]));
            drop(s); // unread data: RST
            t.read("read", &mut c, 8);
            t.read("read again", &mut c, 8);
            t.r("write", c.write(b"x"));
            t.r("take_error", c.take_error().map(|e| e.map(|e| e.kind())));
        })
    });
    assert_eq!(t[1], "read: Err(ConnectionReset)");
    assert_eq!(t[3], "write: Err(BrokenPipe)");
    // Writing first, then SO_ERROR first.
    let t = both(|t, make| {
        on_pair!(make, |c, s| {
            c.write_all(b"never read").unwrap();
            t.r("wait", s.peek(&mut [0u8; 1]));
            drop(s);
            std::thread::sleep(SETTLE);
            t.r("write", c.write(b"x"));
            t.r("write again", c.write(b"x"));
            t.read("read", &mut c, 8);
        });
        on_pair!(make, |c, s| {
            c.write_all(b"never read").unwrap();
            t.r("wait", s.peek(&mut [0u8; 1]));
            drop(s);
            std::thread::sleep(SETTLE);
            t.r("take_error", c.take_error().map(|e| e.map(|e| e.kind())));
            t.r("take_error again", c.take_error().map(|e| e.map(|e| e.kind())));
            t.read("read", &mut c, 8);
            t.r("write", c.write(b"x"));
        })
    });
    assert_eq!(t[1], "write: Err(ConnectionReset)");
    assert_eq!(t[2], "write again: Err(BrokenPipe)");
    assert_eq!(t[5], "take_error: Ok(Some(ConnectionReset))");
}

#[test]
fn linger_zero_resets_and_linger_waits_for_the_fin() {
    let t = both(|t, make| {
        on_pair!(make, |c, s| {
            t.r("default", c.so_linger());
            t.r("set 0", c.set_so_linger(Some(Duration::ZERO)));
            t.r("get", c.so_linger());
            s.set_read_timeout(Some(STEP)).unwrap();
            drop(c);
            t.read("peer reads", &mut s, 8);
        });
        on_pair!(make, |c, s| {
            c.set_so_linger(Some(Duration::from_secs(2))).unwrap();
            t.r("get", c.so_linger());
            c.write_all(b"last words").unwrap();
            let t0 = Instant::now();
            drop(c); // returns once the FIN is acknowledged (the peer's stack does that)
            t.r("drop returned in time", Ok::<_, io::Error>(t0.elapsed() < Duration::from_secs(2)));
            s.set_read_timeout(Some(STEP)).unwrap();
            let mut got = Vec::new();
            t.r("peer reads all", s.read_to_end(&mut got).map(|_| got));
        })
    });
    assert_eq!(t[3], "peer reads: Err(ConnectionReset)");
}

#[test]
fn ttl_is_per_socket_and_checked() {
    let t = both(|t, make| {
        on_pair!(make, |c, s| {
            t.r("default", c.ttl());
            t.r("set 0", c.set_ttl(0));
            t.r("set 256", c.set_ttl(256));
            t.r("set 7", c.set_ttl(7));
            t.r("get", c.ttl());
            t.r("other socket unchanged", s.ttl());
        })
    });
    assert_eq!(t[1], "set 0: Err(InvalidInput)");
}

#[test]
fn listener_ttl_clone_and_error() {
    fn trace_synack(t: &mut Trace) {
        let (a, b) = stacks();
        let l = TcpListener::bind(&b, "10.0.0.2:0").unwrap();
        t.r("default ttl", l.ttl());
        t.r("set 0", l.set_ttl(0));
        t.r("set 9", l.set_ttl(9));
        t.r("ttl", l.ttl());
        let l2 = l.try_clone().unwrap();
        drop(l); // the clone keeps it open
        t.r("take_error", l2.take_error().map(|e| e.is_some()));
        let _c = TcpStream::connect(&a, l2.local_addr().unwrap()).unwrap();
        let (s, _) = l2.accept().unwrap();
        t.r("accepted ttl", s.ttl());
    }
    fn trace_kernel(t: &mut Trace) -> Option<()> {
        let l = std::net::TcpListener::bind("127.0.0.1:0").ok()?;
        t.r("default ttl", l.ttl());
        t.r("set 0", l.set_ttl(0));
        t.r("set 9", l.set_ttl(9));
        t.r("ttl", l.ttl());
        let l2 = l.try_clone().unwrap();
        drop(l);
        t.r("take_error", l2.take_error().map(|e| e.is_some()));
        let _c = std::net::TcpStream::connect(l2.local_addr().unwrap()).unwrap();
        let (s, _) = l2.accept().unwrap();
        t.r("accepted ttl", s.ttl());
        Some(())
    }
    let mut syn = Trace::default();
    trace_synack(&mut syn);
    let mut ker = Trace::default();
    match trace_kernel(&mut ker) {
        Some(()) => assert_eq!(syn.0, ker.0),
        None => println!("SKIPPED: kernel half, no loopback"),
    }
    assert_eq!(syn.0[5], "accepted ttl: Ok(9)");
}

/// The TTL is the connection's on the wire too: a tap on one stack's end of the link sees
/// this connection's segments leave with TTL 7 and another connection's with the default.
#[test]
#[cfg(feature = "pcap")]
fn ttl_is_on_the_wire_for_that_connection_only() {
    use synack::net::MemoryEnd;
    use synack::runtime::{Clock, StackConfig};
    use synack_stack::phy::{CaptureFormat, FrameRing, Link, PcapTap};

    let (ea, eb) = Link::ideal(synack_stack::DeviceCaps::default(), 1024);
    let clock = Clock::start();
    let cidr = |s: &str| IpCidr::new(s.parse().unwrap(), 24).unwrap();
    let cfg = |a: &str, seed| StackConfig {
        addresses: vec![cidr(a)],
        rng_seed: seed,
        ..StackConfig::default()
    };
    let tap = PcapTap::ring_only(MemoryEnd(ea), FrameRing::new(256, 1 << 20));
    let a = Arc::new(Stack::new(tap, cfg("10.0.0.1", 1), clock).unwrap());
    let b = Arc::new(Stack::new(MemoryEnd(eb), cfg("10.0.0.2", 2), clock).unwrap());
    let l = TcpListener::bind(&b, "10.0.0.2:80").unwrap();
    let mut c1 = TcpStream::connect(&a, "10.0.0.2:80").unwrap();
    let mut c2 = TcpStream::connect(&a, "10.0.0.2:80").unwrap();
    let (mut s1, _) = l.accept().unwrap();
    let (mut s2, _) = l.accept().unwrap();
    c1.set_ttl(7).unwrap();
    c1.write_all(b"seven").unwrap();
    c2.write_all(b"default").unwrap();
    let mut buf = [0u8; 16];
    s1.read_exact(&mut buf[..5]).unwrap();
    s2.read_exact(&mut buf[..7]).unwrap();
    let dir = std::env::temp_dir().join(format!("synack-lib-ttl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("ring.pcap");
    a.dump_ring(file.clone(), CaptureFormat::Pcap).unwrap();
    let pcap = std::fs::read(&file).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    // Classic pcap (either byte order): a 24-byte file header, then per frame a 16-byte record
    // header and the raw IPv4 packet (the link carries IP).
    let (p1, p2) = (c1.local_addr().unwrap().port(), c2.local_addr().unwrap().port());
    let (mut ttl1, mut ttl2) = (Vec::new(), Vec::new());
    let big = pcap[..4] == [0xa1, 0xb2, 0xc3, 0xd4];
    let u32_at = |i: usize| {
        let b: [u8; 4] = pcap[i..i + 4].try_into().unwrap();
        if big { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) }
    };
    let mut at = 24;
    while at + 16 <= pcap.len() {
        let len = u32_at(at + 8) as usize;
        let f = &pcap[at + 16..at + 16 + len];
        at += 16 + len;
        let ihl = usize::from(f[0] & 0x0f) * 4;
        if f[9] != 6 || f[12..16] != [10, 0, 0, 1] {
            continue; // only TCP that a sent
        }
        let sport = u16::from_be_bytes([f[ihl], f[ihl + 1]]);
        if sport == p1 {
            ttl1.push(f[8]);
        } else if sport == p2 {
            ttl2.push(f[8]);
        }
    }
    // c1's handshake left before set_ttl (64), its data after (7).
    assert!(ttl1.contains(&7), "c1 sent nothing with TTL 7: {ttl1:?}");
    assert_eq!(ttl1.first(), Some(&64), "the SYN left before set_ttl: {ttl1:?}");
    assert!(!ttl2.is_empty() && ttl2.iter().all(|t| *t == 64), "c2 TTLs: {ttl2:?}");
}

#[test]
fn shutdown_read_wakes_a_blocked_reader() {
    let t = both(|t, make| {
        on_pair!(make, |c, s| {
            let s = Arc::new(s);
            let reader = {
                let s = s.clone();
                std::thread::spawn(move || {
                    s.set_read_timeout(Some(STEP)).unwrap();
                    let mut buf = [0u8; 8];
                    (&*s).read(&mut buf)
                })
            };
            std::thread::sleep(SETTLE); // let it block
            t.r("shutdown read", s.shutdown(Shutdown::Read));
            t.r("blocked read returns", reader.join().unwrap());
            let _ = &mut c;
        })
    });
    assert_eq!(t[1], "blocked read returns: Ok(0)");
}
