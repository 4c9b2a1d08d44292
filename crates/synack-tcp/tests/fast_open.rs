//! TCP Fast Open (RFC 7413) between two endpoints on a virtual clock: the cookie request, data
//! on the SYN with a cached cookie, a refused cookie, a listener without Fast Open, and the
//! listener's limit.

use std::net::SocketAddr;
use std::vec::Vec;

use synack_tcp::{
    ConnConfig, ConnId, Endpoint, EndpointConfig, FastOpenConfig, Instant, ListenerId, State,
    Transmit,
};
use synack_wire::tcp::TcpFlags;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// A segment in flight: what was sent and its bytes.
struct Seg {
    t: Transmit,
    bytes: Vec<u8>,
}

struct Net {
    client: Endpoint,
    server: Endpoint,
    lid: ListenerId,
    now: Instant,
    /// Every segment, in order: (from the client, flags, seq, ack, payload length, options).
    log: Vec<(bool, Transmit)>,
}

const SERVER: &str = "10.0.0.2:80";

impl Net {
    fn new(fast_open_queue: usize) -> Net {
        Net::with_server(fast_open_queue, EndpointConfig::default().conn)
    }

    /// A net whose server's connections get `conn`.
    fn with_server(fast_open_queue: usize, conn: ConnConfig) -> Net {
        let ec = EndpointConfig::default();
        let mut server = Endpoint::new(ec, [2; 16], 2);
        let lid = server.listen_with(addr(SERVER), 16, conn).unwrap();
        assert!(server.set_listener_fast_open(lid, fast_open_queue));
        Net {
            client: Endpoint::new(ec, [1; 16], 1),
            server,
            lid,
            now: Instant::from_secs(10),
            log: Vec::new(),
        }
    }

    /// Moves segments both ways until both sides are quiet.
    fn run(&mut self) {
        let mut buf = vec![0u8; 2000];
        for _ in 0..20 {
            let mut moved = false;
            let mut out = Vec::new();
            while let Some(t) = self.client.poll_transmit(self.now, &mut buf) {
                out.push(Seg { t, bytes: buf[..t.len].to_vec() });
            }
            for s in out.drain(..) {
                moved = true;
                self.log.push((true, s.t));
                self.server.on_segment(self.now, s.t.src.ip(), s.t.dst.ip(), &s.t.repr(&s.bytes));
            }
            while let Some(t) = self.server.poll_transmit(self.now, &mut buf) {
                out.push(Seg { t, bytes: buf[..t.len].to_vec() });
            }
            for s in out.drain(..) {
                moved = true;
                self.log.push((false, s.t));
                self.client.on_segment(self.now, s.t.src.ip(), s.t.dst.ip(), &s.t.repr(&s.bytes));
            }
            if !moved {
                return;
            }
        }
    }

    fn connect(&mut self, data: &[u8]) -> (ConnId, usize) {
        self.log.clear();
        self.client
            .connect_fast_open(
                self.now,
                addr("10.0.0.1:0"),
                addr(SERVER),
                ConnConfig::default(),
                data,
            )
            .unwrap()
    }

    /// The client's SYN and the server's SYN-ACK of the last connection.
    fn syn_and_syn_ack(&self) -> (Transmit, Transmit) {
        let syn = self.log.iter().find(|(c, t)| *c && t.flags == TcpFlags::SYN).unwrap().1;
        let syn_ack = self
            .log
            .iter()
            .find(|(c, t)| !*c && t.flags == TcpFlags::SYN | TcpFlags::ACK)
            .unwrap()
            .1;
        (syn, syn_ack)
    }

    fn read_all(&mut self, id: ConnId) -> Vec<u8> {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = self.server.recv(id, &mut buf) {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        got
    }
}

/// First contact asks for a cookie and sends the data after the handshake; the second
/// connection carries its data on the SYN, and the server hands the connection to the
/// application before the handshake's last ACK.
#[test]
fn cookie_request_then_data_on_the_syn() {
    let mut n = Net::new(16);
    let (c, queued) = n.connect(b"first");
    assert_eq!(queued, 5);
    n.run();
    let (syn, syn_ack) = n.syn_and_syn_ack();
    assert_eq!(syn.options.fast_open.map(|c| c.len()), Some(0), "a cookie request");
    assert_eq!(syn.len, syn.header_len, "no data without a cookie");
    let cookie = syn_ack.options.fast_open.expect("the SYN-ACK carries a cookie");
    assert_eq!(cookie.len(), 8);
    assert_eq!(n.client.state(c), Ok(State::Established));
    let s = n.server.accept(n.lid).unwrap();
    assert_eq!(n.read_all(s), b"first");
    assert!(!n.client.stats(c).unwrap().syn_data);

    // Second connection: the SYN carries the cached cookie and the data.
    let room = n.client.fast_open_syn_room(n.now, addr(SERVER), &ConnConfig::default());
    assert_eq!(room, Some(1460 - 40));
    let (c2, _) = n.connect(b"hello, fast open");
    let mut buf = vec![0u8; 2000];
    let syn = n.client.poll_transmit(n.now, &mut buf).unwrap();
    n.log.push((true, syn));
    assert_eq!(syn.options.fast_open, Some(cookie));
    assert_eq!(syn.payload(&buf), b"hello, fast open");
    let bytes = buf[..syn.len].to_vec();
    n.server.on_segment(n.now, syn.src.ip(), syn.dst.ip(), &syn.repr(&bytes));
    // Accepted at once, data readable, still SYN-RECEIVED.
    let s2 = n.server.accept(n.lid).expect("a Fast Open child is accepted with its SYN");
    assert_eq!(n.server.state(s2), Ok(State::SynReceived));
    assert_eq!(n.read_all(s2), b"hello, fast open");
    assert!(n.server.stats(s2).unwrap().syn_data);
    // It may answer before the handshake completes.
    assert_eq!(n.server.send(s2, b"reply"), Ok(5));
    n.run();

    let (_, syn_ack) = n.syn_and_syn_ack();
    assert_eq!(syn_ack.ack, syn.seq + 1 + 16, "the SYN-ACK acknowledges the data");
    assert_eq!(syn_ack.options.fast_open, None);
    assert_eq!(n.server.state(s2), Ok(State::Established));
    assert!(n.client.stats(c2).unwrap().syn_data);
    let mut got = [0u8; 16];
    assert_eq!(n.client.recv(c2, &mut got), Ok(5));
    assert_eq!(&got[..5], b"reply");
    // The data crossed once.
    let data_segs = n.log.iter().filter(|(c, t)| *c && t.len > t.header_len).count();
    assert_eq!(data_segs, 1);
}

/// A cookie the server does not recognise: the data is ignored (the SYN-ACK acknowledges only
/// the ISN), a fresh cookie is offered, and the client sends the data again after the
/// handshake.
#[test]
fn invalid_cookie_data_is_resent_after_the_handshake() {
    let mut n = Net::new(16);
    n.connect(b"");
    n.run();
    n.server.accept(n.lid).unwrap();
    // The server's key changes: the cached cookie is no longer valid.
    n.server.set_fast_open_key([9; 16]);
    let (c, _) = n.connect(b"resend me");
    n.run();
    let (syn, syn_ack) = n.syn_and_syn_ack();
    assert_eq!(syn.len - syn.header_len, 9, "the SYN carried the data");
    assert_eq!(syn_ack.ack, syn.seq + 1, "only the ISN is acknowledged");
    let fresh = syn_ack.options.fast_open.expect("a fresh cookie");
    assert_ne!(Some(fresh), syn.options.fast_open);
    assert!(!n.client.stats(c).unwrap().syn_data);
    let s = n.server.accept(n.lid).unwrap();
    assert_eq!(n.read_all(s), b"resend me");
    // The fresh cookie is used next time and accepted.
    let (c2, _) = n.connect(b"again");
    n.run();
    let (syn, syn_ack) = n.syn_and_syn_ack();
    assert_eq!(syn.options.fast_open, Some(fresh));
    assert_eq!(syn_ack.ack, syn.seq + 1 + 5);
    assert!(n.client.stats(c2).unwrap().syn_data);
}

/// A listener without Fast Open gives no cookie and ignores SYN data; a server with Fast Open
/// switched off endpoint-wide does the same even on a Fast Open listener.
#[test]
fn listener_without_fast_open_ignores_syn_data() {
    for (queue, server_on) in [(0, true), (16, false)] {
        let mut n = Net::new(queue);
        n.server.set_fast_open(FastOpenConfig { server: server_on, ..FastOpenConfig::default() });
        n.client.set_fast_open(FastOpenConfig {
            client_without_cookie: true,
            ..FastOpenConfig::default()
        });
        let (c, _) = n.connect(b"data");
        n.run();
        let (syn, syn_ack) = n.syn_and_syn_ack();
        assert_eq!(syn.options.fast_open, None, "no cookie option in no-cookie mode");
        assert_eq!(syn.len - syn.header_len, 4);
        assert_eq!(syn_ack.ack, syn.seq + 1);
        assert_eq!(syn_ack.options.fast_open, None);
        assert_eq!(n.client.state(c), Ok(State::Established));
        let s = n.server.accept(n.lid).unwrap();
        assert!(!n.server.stats(s).unwrap().fast_open_child);
        assert_eq!(n.read_all(s), b"data");
    }
}

/// Past the listener's Fast Open limit, SYN data is ignored and no cookie is sent; a server
/// accepting data without cookies takes it without any option.
#[test]
fn limit_and_cookieless_server() {
    let mut n = Net::new(1);
    n.server
        .set_fast_open(FastOpenConfig { server_without_cookie: true, ..FastOpenConfig::default() });
    n.client
        .set_fast_open(FastOpenConfig { client_without_cookie: true, ..FastOpenConfig::default() });
    let mut buf = vec![0u8; 2000];
    let mut syn_acks = Vec::new();
    for _ in 0..2 {
        n.connect(b"xy");
        let syn = n.client.poll_transmit(n.now, &mut buf).unwrap();
        let bytes = buf[..syn.len].to_vec();
        n.server.on_segment(n.now, syn.src.ip(), syn.dst.ip(), &syn.repr(&bytes));
        let sa = n.server.poll_transmit(n.now, &mut buf).unwrap();
        syn_acks.push((syn.seq, sa.ack, sa.options.fast_open));
    }
    // The first is a Fast Open child (pending its last ACK); the second finds the limit full.
    assert_eq!(syn_acks[0].1, syn_acks[0].0 + 3);
    assert_eq!(syn_acks[1].1, syn_acks[1].0 + 1);
    assert!(syn_acks.iter().all(|s| s.2.is_none()));
    assert_eq!(n.server.accept_queue_len(n.lid), 1);
}

/// In no-cookie mode the SYN carries data and no Fast Open option: a cookie on the SYN-ACK was
/// not asked for and is not cached, so once the no-cookie mode is switched off the next SYN
/// asks for a cookie again instead of carrying data.
#[test]
fn unsolicited_cookie_is_not_cached() {
    let mut n = Net::new(16);
    n.client
        .set_fast_open(FastOpenConfig { client_without_cookie: true, ..FastOpenConfig::default() });
    n.connect(b"data");
    let mut buf = vec![0u8; 2000];
    let syn = n.client.poll_transmit(n.now, &mut buf).unwrap();
    assert_eq!(syn.options.fast_open, None);
    let bytes = buf[..syn.len].to_vec();
    n.server.on_segment(n.now, syn.src.ip(), syn.dst.ip(), &syn.repr(&bytes));
    let sa = n.server.poll_transmit(n.now, &mut buf).unwrap();
    assert_eq!(sa.flags, TcpFlags::SYN | TcpFlags::ACK);
    let bytes = buf[..sa.len].to_vec();
    let mut repr = sa.repr(&bytes);
    repr.options.fast_open = Some(synack_wire::tcp::FastOpenCookie::new(&[0xab; 8]).unwrap());
    n.client.on_segment(n.now, sa.src.ip(), sa.dst.ip(), &repr);
    while n.client.poll_transmit(n.now, &mut buf).is_some() {}

    n.client.set_fast_open(FastOpenConfig::default());
    let room = n.client.fast_open_syn_room(n.now, addr(SERVER), &ConnConfig::default());
    assert_eq!(room, None, "no cookie was cached");
    n.connect(b"more");
    let syn = n.client.poll_transmit(n.now, &mut buf).unwrap();
    assert_eq!(syn.options.fast_open.map(|c| c.len()), Some(0), "a cookie request");
    assert_eq!(syn.len, syn.header_len);
}

/// With Linux's window sizing, a Fast Open child offers the initial window (rounded up to the
/// window scale's granularity) until a data segment arrives after the SYN: the SYN's data
/// neither opens the window nor, once read, draws a window update.
#[test]
fn fast_open_child_holds_the_initial_window_until_data_arrives() {
    let conn = ConnConfig {
        initial_window_whole_segments: true,
        recv_buffer: 1 << 20,
        ..ConnConfig::default()
    };
    let mut n = Net::with_server(16, conn);
    n.connect(b"");
    n.run();
    n.server.accept(n.lid).unwrap();
    let (c, _) = n.connect(&[7u8; 1000]);
    let mut buf = vec![0u8; 2000];
    let syn = n.client.poll_transmit(n.now, &mut buf).unwrap();
    assert_eq!(syn.len - syn.header_len, 1000, "the SYN carries the data");
    let bytes = buf[..syn.len].to_vec();
    n.server.on_segment(n.now, syn.src.ip(), syn.dst.ip(), &syn.repr(&bytes));
    let s = n.server.accept(n.lid).unwrap();
    let sa = n.server.poll_transmit(n.now, &mut buf).unwrap();
    assert_eq!(sa.ack, syn.seq + 1001);
    let shift = n.server.stats(s).unwrap().rcv_wscale;
    assert!(shift > 0);
    assert_eq!(n.read_all(s).len(), 1000);
    assert_eq!(n.server.send(s, &[1u8; 100]), Ok(100));
    let data = n.server.poll_transmit(n.now, &mut buf).unwrap();
    let data_bytes = buf[..data.len].to_vec();
    assert_eq!(data.len - data.header_len, 100, "no window update before the data");
    assert_eq!(u32::from(data.window) << shift, 65536, "the initial window, rounded up");
    assert!(n.server.poll_transmit(n.now, &mut buf).is_none());

    // The client's first data segment after the handshake lets the window open.
    let bytes = buf[..sa.len].to_vec();
    n.client.on_segment(n.now, sa.src.ip(), sa.dst.ip(), &sa.repr(&bytes));
    n.client.on_segment(n.now, data.src.ip(), data.dst.ip(), &data.repr(&data_bytes));
    assert_eq!(n.client.send(c, &[3u8; 500]), Ok(500));
    n.run();
    assert_eq!(n.read_all(s).len(), 500);
    assert_eq!(n.server.send(s, &[1u8; 10]), Ok(10));
    n.run();
    let last = n.log.iter().rev().find(|(client, _)| !*client).unwrap().1;
    assert!(u32::from(last.window) << shift > 65536, "the window grew: {}", last.window);
}

/// The SYN's data, refused by the SYN-ACK, is sent again as Linux retransmits it: it is no
/// short segment for Minshall's rule, so the short tail of a larger write goes out with the
/// rest instead of waiting for that resend's ACK.
#[test]
fn refused_syn_data_resend_does_not_hold_a_short_tail() {
    let mut n = Net::new(16);
    n.connect(b"");
    n.run();
    n.server.accept(n.lid).unwrap();
    n.server.set_fast_open_key([9; 16]);
    let cfg = ConnConfig {
        nagle_minshall: true,
        nodelay: false,
        push_policy: synack_tcp::PushPolicy::LINUX,
        ..ConnConfig::default()
    };
    let (c, queued) = n
        .client
        .connect_fast_open(n.now, addr("10.0.0.1:0"), addr(SERVER), cfg, &[5u8; 5000])
        .unwrap();
    assert_eq!(queued, 5000);
    let mut buf = vec![0u8; 2000];
    let syn = n.client.poll_transmit(n.now, &mut buf).unwrap();
    let syn_data = syn.len - syn.header_len;
    assert!(syn_data > 0 && syn_data < 1460, "a short SYN payload: {syn_data}");
    let bytes = buf[..syn.len].to_vec();
    n.server.on_segment(n.now, syn.src.ip(), syn.dst.ip(), &syn.repr(&bytes));
    let sa = n.server.poll_transmit(n.now, &mut buf).unwrap();
    assert_eq!(sa.ack, syn.seq + 1, "the data is refused");
    let bytes = buf[..sa.len].to_vec();
    n.client.on_segment(n.now, sa.src.ip(), sa.dst.ip(), &sa.repr(&bytes));
    let mut sent = 0;
    while let Some(t) = n.client.poll_transmit(n.now, &mut buf) {
        sent += t.len - t.header_len;
    }
    assert_eq!(sent, 5000, "everything goes before any ACK");
    assert_eq!(n.client.state(c), Ok(State::Established));
}

/// With SACK and RACK, SYN data the SYN-ACK left unacknowledged stays counted as sent and is
/// marked lost: its resend is a retransmission (counted, and in flight as one), sent before
/// the new data after it, and the window is not reduced for it (not a congestion loss).
#[test]
fn refused_syn_data_is_retransmitted_as_lost_data() {
    let mut n = Net::new(16);
    n.connect(b"");
    n.run();
    n.server.accept(n.lid).unwrap();
    n.server.set_fast_open_key([9; 16]);
    let cfg = ConnConfig { nodelay: true, ..ConnConfig::default() };
    assert!(cfg.sack && cfg.rack);
    let (c, _) = n
        .client
        .connect_fast_open(n.now, addr("10.0.0.1:0"), addr(SERVER), cfg, &[5u8; 3000])
        .unwrap();
    let mut buf = vec![0u8; 2000];
    let syn = n.client.poll_transmit(n.now, &mut buf).unwrap();
    let syn_data = (syn.len - syn.header_len) as u32;
    assert!(syn_data > 0);
    let bytes = buf[..syn.len].to_vec();
    n.server.on_segment(n.now, syn.src.ip(), syn.dst.ip(), &syn.repr(&bytes));
    let sa = n.server.poll_transmit(n.now, &mut buf).unwrap();
    assert_eq!(sa.ack, syn.seq + 1, "the data is refused");
    let bytes = buf[..sa.len].to_vec();
    n.client.on_segment(n.now, sa.src.ip(), sa.dst.ip(), &sa.repr(&bytes));
    let mut data = Vec::new();
    while let Some(t) = n.client.poll_transmit(n.now, &mut buf) {
        if t.len > t.header_len {
            data.push((t.seq, (t.len - t.header_len) as u32, t.retransmission));
        }
    }
    assert_eq!(data[0], (syn.seq + 1, syn_data, true), "{data:?}");
    assert!(data[1..].iter().all(|d| !d.2), "the rest is new data: {data:?}");
    assert_eq!(data.iter().map(|d| d.1).sum::<u32>(), 3000);
    let st = n.client.stats(c).unwrap();
    assert_eq!((st.retransmits, st.retrans_segments), (1, Some(1)));
    assert_eq!(st.cwnd, Some(10 * st.snd_mss), "no window reduction");
}
