//! UDP (`synack::net::UdpSocket`, `synack::tokio::UdpSocket`) on the in-memory link: echo in
//! both families, std's socket semantics, ICMP port unreachable, IPv4 fragments, accept-any
//! with original destinations, flow expiry and bounded queues. Real driver threads and clock;
//! every wait is bounded.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use synack::net::{MEMORY_QUEUE_FRAMES, UdpSocket, memory_pair_with};
use synack::{InterfaceConfig, IpCidr, Route, Stack, StackConfig, UdpConfig};
use synack_stack::phy::Link;
use synack_stack::{DeviceCaps, DropReason};
use tokio::time::timeout;

const STEP: Duration = Duration::from_secs(5);

fn cidr(s: &str, prefix: u8) -> IpCidr {
    IpCidr::new(s.parse().unwrap(), prefix).unwrap()
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Client (10.0.0.1, fd00::1) and server (10.0.0.2, fd00::2), default routes over the link;
/// the server's UDP limits are `udp`.
fn pair_with(udp: UdpConfig) -> (Arc<Stack>, Arc<Stack>) {
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
        iface: InterfaceConfig { udp, ..InterfaceConfig::default() },
        addresses: vec![cidr("10.0.0.2", 24), cidr("fd00::2", 64)],
        routes,
        rng_seed: 2,
        ..StackConfig::default()
    };
    memory_pair_with(Link::ideal(DeviceCaps::default(), MEMORY_QUEUE_FRAMES), ca, cb).unwrap()
}

fn pair() -> (Arc<Stack>, Arc<Stack>) {
    pair_with(UdpConfig::default())
}

fn timed(s: &UdpSocket) -> &UdpSocket {
    s.set_read_timeout(Some(STEP)).unwrap();
    s
}

#[test]
fn blocking_echo_both_families() {
    let (a, b) = pair();
    for (server_at, client_at) in [("10.0.0.2:7", "0.0.0.0:0"), ("[fd00::2]:7", "[::]:0")] {
        let server = UdpSocket::bind(&b, server_at).unwrap();
        let client = UdpSocket::bind(&a, client_at).unwrap();
        let port = client.local_addr().unwrap().port();
        assert_ne!(port, 0);
        for msg in [&b"hello"[..], &[0u8; 1200][..], b""] {
            assert_eq!(client.send_to(msg, server_at).unwrap(), msg.len());
            let mut buf = [0u8; 2000];
            let (n, from) = timed(&server).recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..n], msg);
            assert_eq!(from.port(), port);
            server.send_to(&buf[..n], from).unwrap();
            let (n, from) = timed(&client).recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..n], msg);
            assert_eq!(from, addr(server_at));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_echo_both_families() {
    let (a, b) = pair();
    for (server_at, client_at) in [("10.0.0.2:7", "10.0.0.1:0"), ("[fd00::2]:7", "[fd00::1]:0")] {
        let server = synack::tokio::UdpSocket::bind(&b, addr(server_at)).await.unwrap();
        let client = synack::tokio::UdpSocket::bind(&a, addr(client_at)).await.unwrap();
        let echo = tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            for _ in 0..100 {
                let (n, from) = server.recv_from(&mut buf).await.unwrap();
                server.send_to(&buf[..n], from).await.unwrap();
            }
        });
        client.connect(addr(server_at)).await.unwrap();
        assert_eq!(client.peer_addr().unwrap(), addr(server_at));
        for i in 0..100u32 {
            let msg = i.to_be_bytes();
            client.send(&msg).await.unwrap();
            let mut buf = [0u8; 8];
            let n = timeout(STEP, client.recv(&mut buf)).await.unwrap().unwrap();
            assert_eq!(&buf[..n], &msg);
        }
        timeout(STEP, echo).await.unwrap().unwrap();
    }
}

#[test]
fn std_semantics_peek_truncate_connect_and_errors() {
    let (a, b) = pair();
    let server = UdpSocket::bind(&b, "10.0.0.2:9").unwrap();
    let client = UdpSocket::bind(&a, "10.0.0.1:0").unwrap();
    assert_eq!(client.peer_addr().unwrap_err().kind(), ErrorKind::NotConnected);
    assert_eq!(client.send(b"x").unwrap_err().kind(), ErrorKind::NotConnected);
    assert_eq!(UdpSocket::bind(&b, "10.0.0.2:9").unwrap_err().kind(), ErrorKind::AddrInUse);
    assert_eq!(UdpSocket::bind(&b, "10.9.9.9:9").unwrap_err().kind(), ErrorKind::AddrNotAvailable);
    assert_eq!(client.send_to(b"x", "10.0.0.2:0").unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(client.send_to(b"x", "[fd00::2]:9").unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(
        client.send_to(&vec![0u8; 70_000], "10.0.0.2:9").unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    client.send_to(b"abcdef", "10.0.0.2:9").unwrap();
    let mut small = [0u8; 3];
    let (n, from) = timed(&server).peek_from(&mut small).unwrap();
    assert_eq!((n, &small), (3, b"abc"));
    assert_eq!(from, client.local_addr().unwrap());
    assert_eq!(server.peek(&mut small).unwrap(), 3);
    // recv_from cuts the datagram to the buffer and discards the rest, as std does.
    assert_eq!(server.recv_from(&mut small).unwrap().0, 3);
    server.set_nonblocking(true).unwrap();
    assert_eq!(server.recv(&mut small).unwrap_err().kind(), ErrorKind::WouldBlock);
    server.set_nonblocking(false).unwrap();
    server.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    assert_eq!(server.recv(&mut small).unwrap_err().kind(), ErrorKind::WouldBlock);
    assert_eq!(
        server.set_read_timeout(Some(Duration::ZERO)).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    // A connected socket receives only from its peer.
    let other = UdpSocket::bind(&a, "10.0.0.1:0").unwrap();
    server.connect(client.local_addr().unwrap()).unwrap();
    other.send_to(b"no", "10.0.0.2:9").unwrap();
    client.send_to(b"yes", "10.0.0.2:9").unwrap();
    server.set_read_timeout(Some(STEP)).unwrap();
    let mut buf = [0u8; 8];
    let n = server.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"yes");
}

#[test]
fn port_unreachable_refuses_a_connected_socket_both_families() {
    let (a, _b) = pair();
    for (to, from) in [("10.0.0.2:9999", "0.0.0.0:0"), ("[fd00::2]:9999", "[::]:0")] {
        let client = UdpSocket::bind(&a, from).unwrap();
        client.connect(to).unwrap();
        client.send(b"anyone?").unwrap();
        let mut buf = [0u8; 16];
        let e = timed(&client).recv(&mut buf).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{to}: {e}");
    }
}

#[test]
fn large_datagrams_are_fragmented_and_reassembled() {
    let (a, b) = pair();
    let server = UdpSocket::bind(&b, "10.0.0.2:5000").unwrap();
    let client = UdpSocket::bind(&a, "0.0.0.0:0").unwrap();
    let msg: Vec<u8> = (0..20_000u32).map(|i| (i * 7) as u8).collect();
    client.send_to(&msg, "10.0.0.2:5000").unwrap();
    let mut buf = vec![0u8; 65_536];
    let (n, _) = timed(&server).recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], &msg[..]);
    assert!(b.with(|st, _| st.iface.counters().reassembled) >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_any_replies_from_the_original_destination() {
    let (a, b) = pair();
    let any = synack::tokio::UdpSocket::bind_any(&b).unwrap();
    for dst in ["198.51.100.53:53", "[2001:db8::53]:53", "10.0.0.2:4444"] {
        let dst = addr(dst);
        let client =
            UdpSocket::bind(&a, if dst.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }).unwrap();
        client.connect(dst).unwrap();
        client.send(b"query").unwrap();
        let mut buf = [0u8; 64];
        let (n, src, orig) = timeout(STEP, any.recv_from_to(&mut buf)).await.unwrap().unwrap();
        assert_eq!(&buf[..n], b"query");
        assert_eq!(orig, dst);
        assert_eq!(src.port(), client.local_addr().unwrap().port());
        any.send_from_to(b"answer", orig, src).await.unwrap();
        let n = timed(&client).recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"answer");
    }
    // A foreign source needs a flow the client started.
    let e = any.send_from_to(b"x", addr("198.51.100.99:1"), addr("10.0.0.1:5")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AddrNotAvailable);
    assert_eq!(b.with(|st, _| st.iface.udp_usage().flows), 3);
}

#[test]
fn accept_any_port_unreachable_reaches_the_client() {
    let (a, b) = pair();
    let any = UdpSocket::bind_any(&b).unwrap();
    for dst in ["198.51.100.9:9", "[2001:db8::9]:9"] {
        let client =
            UdpSocket::bind(&a, if dst.starts_with('[') { "[::]:0" } else { "0.0.0.0:0" }).unwrap();
        client.connect(dst).unwrap();
        client.send(b"hello?").unwrap();
        let mut buf = [0u8; 64];
        let (n, src, orig) = timed(&any).recv_from_to(&mut buf).unwrap();
        any.send_port_unreachable(orig, src, &buf[..n]).unwrap();
        let e = timed(&client).recv(&mut buf).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
    }
}

#[test]
fn idle_accept_any_flows_expire() {
    let udp = UdpConfig { flow_idle: Duration::from_millis(200), ..UdpConfig::default() };
    let (a, b) = pair_with(udp);
    let any = UdpSocket::bind_any(&b).unwrap();
    let client = UdpSocket::bind(&a, "0.0.0.0:0").unwrap();
    client.send_to(b"1", "192.0.2.10:10").unwrap();
    let mut buf = [0u8; 8];
    let (_, src, orig) = timed(&any).recv_from_to(&mut buf).unwrap();
    assert_eq!(b.with(|st, _| st.iface.udp_usage().flows), 1);
    let expired = b.wait(Some(STEP), |st, _| st.iface.udp_take_expired());
    assert_eq!(expired, Some((src, orig)));
    assert_eq!(b.with(|st, _| st.iface.udp_usage().flows), 0);
    let e = any.send_from_to(b"late", orig, src).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AddrNotAvailable);
    // Traffic again makes a new flow.
    client.send_to(b"2", "192.0.2.10:10").unwrap();
    timed(&any).recv_from_to(&mut buf).unwrap();
    any.send_from_to(b"ok", orig, src).unwrap();
}

#[test]
fn full_receive_queue_drops_and_counts() {
    let udp = UdpConfig { rx_queue: 4, ..UdpConfig::default() };
    let (a, b) = pair_with(udp);
    let server = UdpSocket::bind(&b, "10.0.0.2:9").unwrap();
    let client = UdpSocket::bind(&a, "10.0.0.1:0").unwrap();
    for i in 0..10u8 {
        client.send_to(&[i], "10.0.0.2:9").unwrap();
    }
    let full =
        |st: &mut synack::StackState| st.iface.counters().dropped(DropReason::UdpRxQueueFull);
    let dropped = b.wait(Some(STEP), |st, _| (full(st) == 6).then_some(()));
    assert!(dropped.is_some(), "dropped {}", b.with(|st, _| full(st)));
    assert_eq!(server.dropped(), 6);
    let mut buf = [0u8; 1];
    for i in 0..4u8 {
        timed(&server).recv(&mut buf).unwrap();
        assert_eq!(buf[0], i);
    }
}

/// 10,000 destinations one after another through the accept-any socket, each answered from
/// its original destination; once idle, every flow is forgotten and the server holds what it
/// held before (its one socket, nothing queued).
#[test]
fn ten_thousand_destinations_leave_nothing_behind() {
    let udp = UdpConfig { flow_idle: Duration::from_millis(300), ..UdpConfig::default() };
    let (a, b) = pair_with(udp);
    let any = UdpSocket::bind_any(&b).unwrap();
    let baseline = b.with(|st, _| st.iface.udp_usage());
    let v4 = UdpSocket::bind(&a, "0.0.0.0:0").unwrap();
    let v6 = UdpSocket::bind(&a, "[::]:0").unwrap();
    timed(&any);
    timed(&v4);
    timed(&v6);
    const N: usize = 10_000;
    let mut buf = [0u8; 16];
    for i in 0..N {
        let (client, dst) = if i % 2 == 0 {
            (&v4, addr(&format!("198.18.{}.{}:{}", i / 256, i % 256, 1 + i % 60_000)))
        } else {
            (&v6, addr(&format!("[2001:db8::{i:x}]:{}", 1 + i % 60_000)))
        };
        let msg = (i as u32).to_be_bytes();
        client.send_to(&msg, dst).unwrap();
        let (n, src, orig) = any.recv_from_to(&mut buf).unwrap();
        assert_eq!((&buf[..n], orig), (&msg[..], dst));
        any.send_from_to(&buf[..n], orig, src).unwrap();
        let (n, from) = client.recv_from(&mut buf).unwrap();
        assert_eq!((&buf[..n], from), (&msg[..], dst));
    }
    let peak = b.with(|st, _| st.iface.udp_usage().flows);
    // Flows idle longer than 300 ms may already be gone; the rest are still held.
    assert!(peak > 0 && peak <= N, "{peak}");
    let idle = b.wait(Some(STEP), |st, _| (st.iface.udp_usage().flows == 0).then_some(()));
    assert!(idle.is_some(), "flows left: {}", b.with(|st, _| st.iface.udp_usage().flows));
    let mut expired = 0;
    while any.take_expired_flow().is_some() {
        expired += 1;
    }
    assert!(expired > 0);
    assert_eq!(b.with(|st, _| st.iface.udp_usage()), baseline);
}
