//! Accept-any TCP (`TcpListener::bind_any`, `AnyListener`, `IncomingSyn`, the policy hook) on
//! the in-memory link: a client stack with default routes connects to addresses that are not
//! the server stack's own, IPv4 and IPv6; the server terminates them. Real driver threads and
//! the real clock; every wait is bounded.

use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use synack::net::{MEMORY_QUEUE_FRAMES, TcpStream, memory_pair_with};
use synack::{AnyConfig, EndpointConfig, IpCidr, Route, Stack, StackConfig, SynDecision};
use synack_stack::DeviceCaps;
use synack_stack::phy::Link;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

const STEP: Duration = Duration::from_secs(5);

fn cidr(s: &str, prefix: u8) -> IpCidr {
    IpCidr::new(s.parse().unwrap(), prefix).unwrap()
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Client (10.0.0.1, fd00::1, default routes over the link) and server (10.0.0.2, fd00::2).
fn pair() -> (Arc<Stack>, Arc<Stack>) {
    pair_with(EndpointConfig::default())
}

/// [`pair`] with the server's engine settings.
fn pair_with(server: EndpointConfig) -> (Arc<Stack>, Arc<Stack>) {
    let routes = vec![
        Route { dest: cidr("0.0.0.0", 0), src: None },
        Route { dest: cidr("::", 0), src: None },
    ];
    let ca = StackConfig {
        addresses: vec![cidr("10.0.0.1", 24), cidr("fd00::1", 64)],
        routes: routes.clone(),
        rng_seed: 1,
        ..StackConfig::default()
    };
    let cb = StackConfig {
        addresses: vec![cidr("10.0.0.2", 24), cidr("fd00::2", 64)],
        endpoint: server,
        routes,
        rng_seed: 2,
        ..StackConfig::default()
    };
    memory_pair_with(Link::ideal(DeviceCaps::default(), MEMORY_QUEUE_FRAMES), ca, cb).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_bind_any_keeps_the_original_destination_v4_and_v6() {
    let (a, b) = pair();
    let listener = synack::tokio::TcpListener::bind_any(&b).unwrap();
    for dst in ["93.184.216.34:443", "[2001:db8::7]:8080", "10.0.0.99:1", "[fd00::2]:22"] {
        let dst = addr(dst);
        let mut client =
            timeout(STEP, synack::tokio::TcpStream::connect(&a, dst)).await.unwrap().unwrap();
        let (mut server, peer) = timeout(STEP, listener.accept()).await.unwrap().unwrap();
        assert_eq!(server.local_addr().unwrap(), dst);
        assert_eq!(peer, client.local_addr().unwrap());
        assert_eq!(client.peer_addr().unwrap(), dst);
        client.write_all(b"ping").await.unwrap();
        let mut buf = [0; 4];
        timeout(STEP, server.read_exact(&mut buf)).await.unwrap().unwrap();
        assert_eq!(&buf, b"ping");
        server.write_all(b"pong").await.unwrap();
        timeout(STEP, client.read_exact(&mut buf)).await.unwrap().unwrap();
        assert_eq!(&buf, b"pong");
    }
    // One accept-any listener per stack.
    let e = synack::tokio::AnyListener::bind(&b, AnyConfig::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AddrInUse);
}

#[test]
fn ordinary_listeners_win_over_accept_any() {
    let (a, b) = pair();
    let ordinary = synack::net::TcpListener::bind(&b, "10.0.0.2:80").unwrap();
    let any = synack::net::TcpListener::bind_any(&b).unwrap();
    let _c1 = TcpStream::connect_timeout(&a, &addr("10.0.0.2:80"), STEP).unwrap();
    let (s1, _) = ordinary.accept_timeout(STEP).unwrap();
    assert_eq!(s1.local_addr().unwrap(), addr("10.0.0.2:80"));
    let _c2 = TcpStream::connect_timeout(&a, &addr("10.0.0.2:81"), STEP).unwrap();
    let (s2, _) = any.accept_timeout(STEP).unwrap();
    assert_eq!(s2.local_addr().unwrap(), addr("10.0.0.2:81"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_deferred_accept_refuse_both_families() {
    let (a, b) = pair();
    let any = synack::tokio::AnyListener::bind(&b, AnyConfig::default()).unwrap();
    for (ok, refused) in
        [("198.51.100.1:80", "198.51.100.1:81"), ("[2001:db8::1]:80", "[2001:db8::1]:81")]
    {
        let (ok, refused) = (addr(ok), addr(refused));
        let a2 = a.clone();
        let client = tokio::spawn(async move {
            let mut s = synack::tokio::TcpStream::connect(&a2, ok).await.unwrap();
            s.write_all(b"hi").await.unwrap();
            let mut buf = [0; 2];
            s.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"ho");
            s.local_addr().unwrap()
        });
        let syn = timeout(STEP, any.next()).await.unwrap().unwrap();
        assert_eq!(syn.local_addr(), ok);
        // Not answered yet: the client is still connecting.
        assert!(!client.is_finished());
        let peer = syn.peer_addr();
        let mut server = timeout(STEP, syn.accept()).await.unwrap().unwrap();
        assert_eq!(server.local_addr().unwrap(), ok);
        assert_eq!(server.peer_addr().unwrap(), peer);
        let mut buf = [0; 2];
        timeout(STEP, server.read_exact(&mut buf)).await.unwrap().unwrap();
        server.write_all(b"ho").await.unwrap();
        assert_eq!(timeout(STEP, client).await.unwrap().unwrap(), peer);

        let a2 = a.clone();
        let client =
            tokio::spawn(async move { synack::tokio::TcpStream::connect(&a2, refused).await });
        let syn = timeout(STEP, any.next()).await.unwrap().unwrap();
        assert_eq!(syn.local_addr(), refused);
        syn.refuse();
        let e = timeout(STEP, client).await.unwrap().unwrap().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
    }
    b.with(|st, _| {
        let s = st.accept_any_stats().unwrap();
        assert_eq!((s.accepted, s.refused), (4, 2));
        assert_eq!(st.accept_any_usage(), Default::default());
    });
}

#[test]
fn blocking_deferred_ignore_times_the_client_out() {
    let (a, b) = pair();
    let any = synack::net::AnyListener::bind(&b, AnyConfig::default()).unwrap();
    let dst = addr("203.0.113.5:443");
    let client = std::thread::spawn({
        let a = a.clone();
        move || TcpStream::connect_timeout(&a, &dst, Duration::from_millis(1500))
    });
    // The first SYN and its retransmission (after 1 s) are both ignored.
    let mut seen = 0;
    while !client.is_finished() {
        match any.next_timeout(Duration::from_millis(100)) {
            Ok(syn) => {
                assert_eq!(syn.local_addr(), dst);
                seen += 1;
                syn.ignore();
            }
            Err(e) => assert_eq!(e.kind(), ErrorKind::TimedOut),
        }
    }
    assert!(seen >= 1);
    assert_eq!(client.join().unwrap().unwrap_err().kind(), ErrorKind::TimedOut);
    // A held SYN is answered once: its retransmissions were dropped, not queued twice.
    b.with(|st, _| assert_eq!(st.accept_any_usage().held, 0));
}

#[test]
fn blocking_deferred_accept_and_refuse() {
    let (a, b) = pair();
    let any = synack::net::AnyListener::bind(&b, AnyConfig::default()).unwrap();
    let dst = addr("[2001:db8::9]:7");
    let client = std::thread::spawn({
        let a = a.clone();
        move || {
            let mut s = TcpStream::connect_timeout(&a, &dst, STEP).unwrap();
            s.write_all(b"x").unwrap();
            let mut buf = [0; 1];
            s.read_exact(&mut buf).unwrap();
            buf[0]
        }
    });
    let syn = any.next_timeout(STEP).unwrap();
    let mut server = syn.accept().unwrap();
    assert_eq!(server.local_addr().unwrap(), dst);
    let mut buf = [0; 1];
    server.read_exact(&mut buf).unwrap();
    server.write_all(b"y").unwrap();
    assert_eq!(client.join().unwrap(), b'y');

    let dst = addr("192.0.2.1:9");
    let client = std::thread::spawn({
        let a = a.clone();
        move || TcpStream::connect_timeout(&a, &dst, STEP)
    });
    any.next_timeout(STEP).unwrap().refuse();
    assert_eq!(client.join().unwrap().unwrap_err().kind(), ErrorKind::ConnectionRefused);
}

#[test]
fn policy_hook_accepts_refuses_and_drops() {
    let (a, b) = pair();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let cfg = AnyConfig {
        policy: Some(Box::new(move |local: SocketAddr, remote: SocketAddr| {
            log.lock().unwrap().push((local, remote));
            match local.port() {
                25 => SynDecision::Refuse,
                26 => SynDecision::Drop,
                _ => SynDecision::Accept,
            }
        })),
        ..AnyConfig::default()
    };
    let listener = synack::net::TcpListener::bind_any_with(&b, cfg).unwrap();
    let e = TcpStream::connect_timeout(&a, &addr("198.51.100.7:25"), STEP).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
    let e = TcpStream::connect_timeout(&a, &addr("198.51.100.7:26"), Duration::from_millis(300))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut);
    let c = TcpStream::connect_timeout(&a, &addr("[2001:db8::7]:27"), STEP).unwrap();
    let (s, peer) = listener.accept_timeout(STEP).unwrap();
    assert_eq!(s.local_addr().unwrap(), addr("[2001:db8::7]:27"));
    assert_eq!(peer, c.local_addr().unwrap());
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3, "one policy call per connection attempt: {seen:?}");
    assert_eq!(seen[0].0, addr("198.51.100.7:25"));
    assert_eq!(seen[2].1, c.local_addr().unwrap());
    b.with(|st, _| {
        let s = st.accept_any_stats().unwrap();
        assert_eq!((s.accepted, s.refused, s.dropped), (1, 1, 1));
    });
}

/// 10,000 destinations one after another, through the deferred listener: afterwards the
/// server holds no connection, no held SYN, no handshake, and only the listener it had.
#[test]
fn ten_thousand_destinations_leave_nothing_behind() {
    let (a, b) = pair();
    let baseline = b.with(|st, _| (st.endpoint.connection_count(), st.endpoint.listener_count()));
    let any = synack::net::AnyListener::bind(&b, AnyConfig::default()).unwrap();
    const N: usize = 10_000;
    let client = std::thread::spawn({
        let a = a.clone();
        move || {
            for i in 0..N {
                let ip = if i % 2 == 0 {
                    format!("198.18.{}.{}", i / 256, i % 256)
                } else {
                    format!("[2001:db8::{:x}]", i)
                };
                let dst = addr(&format!("{ip}:{}", 1000 + i % 50_000));
                let mut s = TcpStream::connect_timeout(&a, &dst, STEP).unwrap();
                s.write_all(&[i as u8]).unwrap();
                let mut buf = [0; 1];
                s.read_exact(&mut buf).unwrap();
                assert_eq!(buf[0], !(i as u8));
            }
        }
    });
    for i in 0..N {
        let syn = any.next_timeout(STEP).unwrap();
        let mut s = syn.accept().unwrap();
        let mut buf = [0; 1];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(buf[0], i as u8);
        s.write_all(&[!buf[0]]).unwrap();
        let mut rest = Vec::new();
        s.set_read_timeout(Some(STEP)).unwrap();
        s.read_to_end(&mut rest).unwrap();
    }
    client.join().unwrap();
    let during = b.with(|st, _| st.endpoint.listener_count());
    assert_eq!(during, baseline.1 + 1);
    // The server answered every FIN; its side is gone once the last ACKs arrive.
    let drained =
        b.wait(Some(STEP), |st, _| (st.endpoint.connection_count() == baseline.0).then_some(()));
    assert!(
        drained.is_some(),
        "connections left: {}",
        b.with(|st, _| st.endpoint.connection_count())
    );
    b.with(|st, _| assert_eq!(st.accept_any_usage(), Default::default()));
    drop(any);
    b.with(|st, _| {
        assert_eq!(st.endpoint.listener_count(), baseline.1);
        assert!(st.accept_any_stats().is_none());
    });
}

/// With no room in the SYN queue the engine answers every SYN with a cookie; accept-any
/// handshakes, immediate and deferred, complete through the cookie like any other.
#[test]
fn syn_cookies_still_apply() {
    let (a, b) = pair_with(EndpointConfig { syn_queue_len: 0, ..EndpointConfig::default() });
    {
        let listener = synack::net::TcpListener::bind_any(&b).unwrap();
        let c = TcpStream::connect_timeout(&a, &addr("198.51.100.1:80"), STEP).unwrap();
        let (s, _) = listener.accept_timeout(STEP).unwrap();
        assert_eq!(s.local_addr().unwrap(), addr("198.51.100.1:80"));
        assert_eq!(s.peer_addr().unwrap(), c.local_addr().unwrap());
    }
    let any = synack::net::AnyListener::bind(&b, AnyConfig::default()).unwrap();
    let dst = addr("[2001:db8::1]:443");
    let client = std::thread::spawn({
        let a = a.clone();
        move || {
            let mut c = TcpStream::connect_timeout(&a, &dst, STEP).unwrap();
            c.write_all(b"c").unwrap();
            c
        }
    });
    let mut s = any.next_timeout(STEP).unwrap().accept().unwrap();
    let mut buf = [0; 1];
    s.set_read_timeout(Some(STEP)).unwrap();
    s.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"c");
    drop(client.join().unwrap());
    b.with(|st, _| assert_eq!(st.accept_any_usage(), Default::default()));
}

/// The policy runs before a SYN is held: refused and dropped SYNs never reach `next`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deferred_listener_applies_the_policy_first() {
    let (a, b) = pair();
    let cfg = AnyConfig {
        policy: Some(Box::new(|local: SocketAddr, _| {
            if local.ip().is_ipv6() { SynDecision::Refuse } else { SynDecision::Accept }
        })),
        ..AnyConfig::default()
    };
    let any = synack::tokio::AnyListener::bind(&b, cfg).unwrap();
    let e = timeout(STEP, synack::tokio::TcpStream::connect(&a, addr("[2001:db8::5]:80")))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
    let dst = addr("192.0.2.5:80");
    let a2 = a.clone();
    let client = tokio::spawn(async move { synack::tokio::TcpStream::connect(&a2, dst).await });
    let syn = timeout(STEP, any.next()).await.unwrap().unwrap();
    assert_eq!(syn.local_addr(), dst);
    let server = timeout(STEP, syn.accept()).await.unwrap().unwrap();
    let client = timeout(STEP, client).await.unwrap().unwrap().unwrap();
    assert_eq!(client.local_addr().unwrap(), server.peer_addr().unwrap());
    drop(any);
    // Closed: the interface no longer takes TCP for addresses that are not its own.
    b.with(|st, _| {
        assert!(!st.iface.config().transparent);
        assert_eq!(st.accept_any_stats(), None);
    });
}
