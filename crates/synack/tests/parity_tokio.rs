//! The tokio API against tokio's own sockets on the kernel: each scenario runs on a synack pair
//! (the in-memory link) and on a `tokio::net` pair over 127.0.0.1, under a current-thread and
//! a multi-thread runtime, and both must give the same trace. Where the kernel is not reachable
//! the kernel half prints `SKIPPED`.
//!
//! Real clocks (the kernel half needs them); every wait is bounded by `timeout`.
#![cfg(feature = "tokio")]
// `on_pair!` binds both streams of every pair mutably; not every scenario writes through both.
#![allow(unused_mut)]

use std::io::{self, IoSlice, IoSliceMut};
use std::sync::Arc;
use std::time::Duration;

use synack::net::memory_pair;
use synack::tokio::{TcpListener, TcpSocket, TcpStream};
use synack::{IpCidr, Stack};
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadBuf};
use tokio::time::timeout;

const STEP: Duration = Duration::from_secs(5);

#[derive(Default)]
struct Trace(Vec<String>);

impl Trace {
    fn r<T: std::fmt::Debug>(&mut self, what: &str, r: io::Result<T>) {
        self.0.push(match r {
            Ok(v) => format!("{what}: Ok({v:?})"),
            Err(e) => format!("{what}: Err({:?})", e.kind()),
        });
    }
}

fn stacks() -> (Arc<Stack>, Arc<Stack>) {
    let cidr = |s: &str| IpCidr::new(s.parse().unwrap(), 24).unwrap();
    memory_pair(cidr("10.0.0.1"), cidr("10.0.0.2")).expect("stacks start")
}

async fn synack_pair(a: &Arc<Stack>, b: &Arc<Stack>) -> (TcpStream, TcpStream) {
    let l = TcpListener::bind(b, "10.0.0.2:0").await.unwrap();
    let c = timeout(STEP, TcpStream::connect(a, l.local_addr().unwrap())).await.unwrap().unwrap();
    let (s, _) = timeout(STEP, l.accept()).await.unwrap().unwrap();
    (c, s)
}

async fn kernel_pair() -> Option<(tokio::net::TcpStream, tokio::net::TcpStream)> {
    let l = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
        Ok(l) => l,
        Err(e) => {
            println!("SKIPPED: kernel half, no loopback ({e})");
            return None;
        }
    };
    let c = tokio::net::TcpStream::connect(l.local_addr().unwrap()).await.ok()?;
    let (s, _) = l.accept().await.ok()?;
    Some((c, s))
}

/// Runs `$body` with `$c`, `$s` bound to a synack pair and then to a kernel pair, each writing
/// into its own `Trace` (`$t`, with `I` the matching `Interest` type), and asserts the traces are equal; evaluates to synack's.
macro_rules! both {
    (|$t:ident, $c:ident, $s:ident| $body:block) => {{
        let (a, b) = stacks();
        let mut syn = Trace::default();
        {
            #[allow(unused_imports)]
            use synack::tokio::Interest as I;
            let $t = &mut syn;
            let (mut $c, mut $s) = synack_pair(&a, &b).await;
            $body
        }
        if let Some((mut $c, mut $s)) = kernel_pair().await {
            let mut ker = Trace::default();
            {
                #[allow(unused_imports)]
                use tokio::io::Interest as I;
                let $t = &mut ker;
                $body
            }
            assert_eq!(syn.0, ker.0, "synack (left) and the kernel (right) differ");
        }
        syn.0
    }};
}

/// One test per runtime flavor for an async scenario.
macro_rules! on_both_runtimes {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "current_thread")]
            async fn current_thread() {
                super::$name().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn multi_thread() {
                super::$name().await;
            }
        }
    };
}

fn ready_bits(readable: bool, writable: bool, read_closed: bool) -> (bool, bool, bool) {
    (readable, writable, read_closed)
}

async fn readiness_and_try_io() {
    let t = both!(|t, c, s| {
        t.r("writable", timeout(STEP, c.writable()).await.unwrap());
        t.r("try_read nothing", s.try_read(&mut [0u8; 8]));
        t.r("try_write", c.try_write(b"hello"));
        t.r("readable", timeout(STEP, s.readable()).await.unwrap());
        let mut buf = [0u8; 16];
        t.r("peek", timeout(STEP, s.peek(&mut buf)).await.unwrap());
        let r = timeout(STEP, s.ready(I::READABLE | I::WRITABLE)).await.unwrap();
        t.r("ready", r.map(|r| ready_bits(r.is_readable(), r.is_writable(), r.is_read_closed())));
        t.r("try_read", s.try_read(&mut buf).map(|n| buf[..n].to_vec()));
        t.r(
            "try_write_vectored",
            c.try_write_vectored(&[IoSlice::new(b"ab"), IoSlice::new(b"cd")]),
        );
        timeout(STEP, s.readable()).await.unwrap().unwrap();
        // Both bytes pairs arrive together on both (one write, one segment).
        let (mut x, mut y) = ([0u8; 1], [0u8; 8]);
        let mut bufs = [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)];
        t.r("try_read_vectored", s.try_read_vectored(&mut bufs));
        c.shutdown().await.unwrap();
        let r = timeout(STEP, s.ready(I::READABLE)).await.unwrap();
        // Only readability is compared: tokio's READ_CLOSED on a kernel socket is a cached
        // hint from an earlier epoll report (see `ready_reports_closed_sides`).
        t.r("ready at end", r.map(|r| r.is_readable()));
        t.r("try_read at end", s.try_read(&mut buf));
    });
    assert_eq!(t[1], "try_read nothing: Err(WouldBlock)");
}
on_both_runtimes!(readiness_and_try_io);

async fn poll_peek_and_read_ready() {
    let t = both!(|t, c, s| {
        c.write_all(b"xyz").await.unwrap();
        let r = timeout(STEP, std::future::poll_fn(|cx| s.poll_read_ready(cx))).await.unwrap();
        t.r("poll_read_ready", r);
        let mut raw = [0u8; 8];
        let mut rb = ReadBuf::new(&mut raw);
        let r = timeout(STEP, std::future::poll_fn(|cx| s.poll_peek(cx, &mut rb))).await.unwrap();
        t.r("poll_peek", r.map(|n| (n, rb.filled().to_vec())));
        let r = timeout(STEP, std::future::poll_fn(|cx| c.poll_write_ready(cx))).await.unwrap();
        t.r("poll_write_ready", r);
        let mut buf = [0u8; 8];
        t.r("read", s.read(&mut buf).await.map(|n| buf[..n].to_vec()));
    });
    assert_eq!(t[1], "poll_peek: Ok((3, [120, 121, 122]))");
}
on_both_runtimes!(poll_peek_and_read_ready);

/// A task waiting for readability is woken by data that arrives later, and one waiting for
/// writability by the peer reading a full send buffer free.
async fn readiness_wakes_waiting_tasks() {
    let t = both!(|t, c, s| {
        let c = Arc::new(c);
        let waiter = {
            let c = c.clone();
            tokio::spawn(async move { c.readable().await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        s.write_all(b"wake").await.unwrap();
        t.r("woken by data", timeout(STEP, waiter).await.unwrap().unwrap());
        // Fill c's send buffer (s does not read), then let s read it free.
        let chunk = vec![7u8; 64 * 1024];
        let mut sent = 0usize;
        loop {
            match c.try_write(&chunk) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // The engine or the kernel may still be moving data out: only a
                    // `writable` that stays pending means the buffers are full.
                    if timeout(Duration::from_millis(50), c.writable()).await.is_err() {
                        break;
                    }
                }
                Err(e) => panic!("{e}"),
            }
        }
        let writer = {
            let c = c.clone();
            tokio::spawn(async move { c.writable().await })
        };
        let mut buf = vec![0u8; 64 * 1024];
        let mut got = 0;
        while got < sent {
            got += timeout(STEP, s.read(&mut buf)).await.unwrap().unwrap();
            if writer.is_finished() {
                break;
            }
        }
        t.r("woken by space", timeout(STEP, writer).await.unwrap().unwrap());
    });
    assert_eq!(t, ["woken by data: Ok(())", "woken by space: Ok(())"]);
}
on_both_runtimes!(readiness_wakes_waiting_tasks);

async fn borrowed_split() {
    let t = both!(|t, c, s| {
        let (mut r, mut w) = s.split();
        let echo = async {
            let mut buf = [0u8; 5];
            r.read_exact(&mut buf).await?;
            w.write_all(&buf).await?;
            w.shutdown().await
        };
        let client = async {
            c.write_all(b"split").await?;
            let mut out = Vec::new();
            c.read_to_end(&mut out).await.map(|_| out)
        };
        let (e, got) = timeout(STEP, async { tokio::join!(echo, client) }).await.unwrap();
        t.r("echo", e);
        t.r("client", got.map(|v| String::from_utf8(v).unwrap()));
        // The halves are gone: the stream is whole again and still open for reading.
        t.r("peer addr", s.peer_addr().map(|a| a == c.local_addr().unwrap()));
    });
    assert_eq!(t[1], "client: Ok(\"split\")");
}
on_both_runtimes!(borrowed_split);

async fn into_std_is_nonblocking_and_from_std_round_trips() {
    use std::io::{Read, Write};
    let t = both!(|t, c, s| {
        let mut std_c = c.into_std().unwrap();
        t.r("std read nothing (nonblocking)", std_c.read(&mut [0u8; 4]));
        t.r("std write", std_c.write(b"std!"));
        let mut buf = [0u8; 4];
        t.r("peer reads", timeout(STEP, s.read_exact(&mut buf)).await.unwrap().map(|_| buf));
        let back = from_std(std_c);
        s.write_all(b"back").await.unwrap();
        let mut back = back;
        t.r("async again", timeout(STEP, back.read_exact(&mut buf)).await.unwrap().map(|_| buf));
    });
    assert_eq!(t[0], "std read nothing (nonblocking): Err(WouldBlock)");
}
on_both_runtimes!(into_std_is_nonblocking_and_from_std_round_trips);

/// `from_std` for whichever blocking stream `into_std` gave.
trait FromStd {
    type Async;
    fn to_async(self) -> Self::Async;
}
impl FromStd for synack::net::TcpStream {
    type Async = TcpStream;
    fn to_async(self) -> TcpStream {
        TcpStream::from_std(self).unwrap()
    }
}
impl FromStd for std::net::TcpStream {
    type Async = tokio::net::TcpStream;
    fn to_async(self) -> tokio::net::TcpStream {
        tokio::net::TcpStream::from_std(self).unwrap()
    }
}
fn from_std<S: FromStd>(s: S) -> S::Async {
    s.to_async()
}

async fn linger_ttl_and_errors() {
    let t = both!(|t, c, s| {
        t.r("ttl set 0", c.set_ttl(0));
        t.r("ttl set 9", c.set_ttl(9));
        t.r("ttl", c.ttl());
        #[allow(deprecated)] // tokio deprecates set_linger (it blocks on drop); same semantics
        {
            t.r("linger", c.linger());
            t.r("linger set 0", c.set_linger(Some(Duration::ZERO)));
            t.r("linger get", c.linger());
        }
        drop(c);
        let mut buf = [0u8; 4];
        t.r("peer read after abort", timeout(STEP, s.read(&mut buf)).await.unwrap());
        t.r("peer write after reported reset", s.write(b"x").await);
        t.r("peer take_error", s.take_error().map(|e| e.map(|e| e.kind())));
    });
    assert_eq!(t[6], "peer read after abort: Err(ConnectionReset)");
    assert_eq!(t[7], "peer write after reported reset: Err(BrokenPipe)");
}
on_both_runtimes!(linger_ttl_and_errors);

/// `connect` and `bind` take what std's `ToSocketAddrs` takes; `TcpSocket` binds before it
/// connects and sets options that hold from the SYN on.
#[tokio::test(flavor = "current_thread")]
async fn to_socket_addrs_and_tcp_socket() {
    let (a, b) = stacks();
    let l = TcpListener::bind(&b, ("10.0.0.2", 81)).await.unwrap();
    let c1 = TcpStream::connect(&a, "10.0.0.2:81").await.unwrap();
    let c2 = TcpStream::connect(&a, ("10.0.0.2", 81)).await.unwrap();
    for c in [&c1, &c2] {
        let (s, peer) = timeout(STEP, l.accept()).await.unwrap().unwrap();
        assert_eq!(peer, c.local_addr().unwrap());
        assert_eq!(s.peer_addr().unwrap(), c.local_addr().unwrap());
    }
    let e = TcpStream::connect(&a, "not an address").await.unwrap_err();
    let k = tokio::net::TcpStream::connect("not an address").await.unwrap_err();
    assert_eq!(e.kind(), k.kind(), "{e} / {k}");

    // TcpSocket on both; the kernel half uses a free port it picks itself.
    let sock = TcpSocket::new_v4(&a).unwrap();
    sock.set_nodelay(true).unwrap();
    sock.set_reuseaddr(true).unwrap();
    sock.set_send_buffer_size(32 * 1024).unwrap();
    sock.set_recv_buffer_size(64 * 1024).unwrap();
    assert_eq!(sock.recv_buffer_size().unwrap(), 64 * 1024);
    assert_eq!(
        sock.bind("10.0.0.9:1".parse().unwrap()).unwrap_err().kind(),
        io::ErrorKind::AddrNotAvailable
    );
    sock.bind("10.0.0.1:4444".parse().unwrap()).unwrap();
    assert_eq!(
        sock.bind("10.0.0.1:4445".parse().unwrap()).unwrap_err().kind(),
        io::ErrorKind::InvalidInput
    );
    let c = timeout(STEP, sock.connect("10.0.0.2:81".parse().unwrap())).await.unwrap().unwrap();
    let (s, peer) = timeout(STEP, l.accept()).await.unwrap().unwrap();
    assert_eq!(peer, "10.0.0.1:4444".parse().unwrap());
    assert!(c.nodelay().unwrap());
    assert_eq!(c.conn_config().unwrap().recv_buffer, 64 * 1024);
    assert_eq!(s.local_addr().unwrap(), "10.0.0.2:81".parse().unwrap());
    // A second socket on the same 4-tuple is refused, as the kernel refuses the bind.
    let dup = TcpSocket::new_v4(&a).unwrap();
    dup.bind("10.0.0.1:4444".parse().unwrap()).unwrap();
    let e = timeout(STEP, dup.connect("10.0.0.2:81".parse().unwrap())).await.unwrap().unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::AddrInUse);
    // listen() from a TcpSocket, with the TTL inherited by accepted connections.
    let ls = TcpSocket::new_v4(&b).unwrap();
    ls.bind("10.0.0.2:82".parse().unwrap()).unwrap();
    ls.set_ttl(5).unwrap();
    let l2 = ls.listen(8).unwrap();
    let _c = TcpStream::connect(&a, "10.0.0.2:82").await.unwrap();
    let (s2, _) = timeout(STEP, l2.accept()).await.unwrap().unwrap();
    assert_eq!(s2.ttl().unwrap(), 5);
    assert_eq!(l2.ttl().unwrap(), 5);

    if let Ok(kl) = tokio::net::TcpListener::bind("127.0.0.1:0").await {
        let ks = tokio::net::TcpSocket::new_v4().unwrap();
        ks.set_nodelay(true).unwrap();
        ks.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let e = ks.bind("127.0.0.1:0".parse().unwrap()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "a second bind, as ours");
        let kc = ks.connect(kl.local_addr().unwrap()).await.unwrap();
        let (_, kpeer) = kl.accept().await.unwrap();
        assert_eq!(kpeer, kc.local_addr().unwrap());
        assert!(kc.nodelay().unwrap());
    } else {
        println!("SKIPPED: kernel half, no loopback");
    }
}

/// Synack's `Ready` says which side is finished, from the engine's state at the call.
#[tokio::test(flavor = "current_thread")]
async fn ready_reports_closed_sides() {
    use synack::tokio::Interest;
    let (a, b) = stacks();
    let (mut c, s) = synack_pair(&a, &b).await;
    let r = s.ready(Interest::READABLE | Interest::WRITABLE).await.unwrap();
    assert!(r.is_writable() && !r.is_readable() && !r.is_read_closed() && !r.is_write_closed());
    c.shutdown().await.unwrap();
    let r = timeout(STEP, s.ready(Interest::READABLE)).await.unwrap().unwrap();
    assert!(r.is_readable() && r.is_read_closed(), "{r:?}");
    let r = c.ready(Interest::WRITABLE).await.unwrap();
    assert!(r.is_write_closed(), "{r:?}");
}

/// Waiting for readiness does not consume the connection's error: after a reset `readable`
/// returns, and the read that follows reports the reset (then the end of stream).
async fn readiness_leaves_the_error_to_the_read() {
    let t = both!(|t, c, s| {
        c.write_all(b"unread").await.unwrap();
        timeout(STEP, s.readable()).await.unwrap().unwrap();
        drop(s); // unread data: a reset
        t.r("readable", timeout(STEP, c.readable()).await.unwrap());
        let r = timeout(STEP, c.ready(I::READABLE | I::WRITABLE)).await.unwrap();
        t.r("ready", r.map(|r| (r.is_readable(), r.is_writable())));
        t.r("try_read", c.try_read(&mut [0u8; 8]));
        t.r("try_read again", c.try_read(&mut [0u8; 8]));
        t.r("try_write", c.try_write(b"x"));
    });
    assert_eq!(t[2], "try_read: Err(ConnectionReset)");
}
on_both_runtimes!(readiness_leaves_the_error_to_the_read);
