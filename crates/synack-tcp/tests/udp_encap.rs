//! TCP over UDP (`ConnConfig::udp_encapsulation`, `Endpoint::on_udp_segment`): segments go out
//! and come in as UDP datagrams built and checked by `synack_wire::udp_encap`, on a virtual
//! clock. Checks the port each connection keeps, the MSS it gives up to the UDP header, and
//! that a segment arriving by another way is answered as in CLOSED and changes nothing.

use core::net::{IpAddr, Ipv4Addr, SocketAddr};
use core::num::NonZeroU16;

use synack_tcp::udp_encap::UDP_ENCAP_OVERHEAD;
use synack_tcp::{ConnConfig, ConnId, Endpoint, EndpointConfig, Instant, IpFields, State};
use synack_wire::tcp::{TcpFlags, TcpOptions, TcpRepr};
use synack_wire::udp_encap::{decapsulate, encapsulate};
use synack_wire::{ChecksumMode, SeqNum};

/// Our UDP tunnel port (FreeBSD's `udp_tunneling_port`), the IP layer's choice.
const TUNNEL: u16 = 9811;
const PEER_ISS: u32 = 5000;

fn addr(a: u8, port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, a)), port)
}

fn port(p: u16) -> Option<NonZeroU16> {
    NonZeroU16::new(p)
}

/// One segment as the peer sees it: the parsed header and the way it came.
struct Wire {
    flags: TcpFlags,
    seq: u32,
    ack: u32,
    mss: Option<u16>,
    payload: usize,
    /// The UDP destination port (the peer's encapsulation port); `None` for plain TCP.
    udp: Option<u16>,
    /// The IP header fields it goes out with.
    ip: IpFields,
}

struct Net {
    ep: Endpoint,
    now: Instant,
    us: SocketAddr,
    peer: SocketAddr,
}

impl Net {
    fn new() -> Net {
        let mut ep = Endpoint::new(EndpointConfig::default(), [3; 16], 9);
        ep.set_isn_override(Some(SeqNum(1000)));
        Net { ep, now: Instant::from_secs(10), us: addr(1, 80), peer: addr(2, 4000) }
    }

    /// Everything the endpoint sends now, each encapsulated when the engine says so and
    /// taken apart again as the peer would.
    fn sent(&mut self) -> Vec<Wire> {
        let mut out = Vec::new();
        let mut buf = [0u8; 2000];
        while let Some(t) = self.ep.poll_transmit(self.now, &mut buf) {
            let seg = &buf[..t.len];
            let (bytes, udp) = match t.udp_port {
                Some(p) => {
                    let mut dgram = [0u8; 2100];
                    let n = encapsulate(seg, t.src.ip(), t.dst.ip(), TUNNEL, p.get(), &mut dgram)
                        .unwrap();
                    let d = decapsulate(&dgram[..n], t.src.ip(), t.dst.ip()).unwrap();
                    assert_eq!(d.src_port, TUNNEL);
                    (d.segment.to_vec(), Some(d.dst_port))
                }
                None => (seg.to_vec(), None),
            };
            let mode = if udp.is_some() { ChecksumMode::Skip } else { ChecksumMode::Verify };
            let r = TcpRepr::parse_bytes(&bytes, t.src.ip(), t.dst.ip(), mode).unwrap();
            out.push(Wire {
                flags: r.flags,
                seq: r.seq.0,
                ack: r.ack.0,
                mss: r.options.mss,
                payload: r.payload.len(),
                udp,
                ip: t.ip,
            });
        }
        out
    }

    fn one(&mut self) -> Wire {
        let mut s = self.sent();
        assert_eq!(s.len(), 1, "expected one segment");
        s.remove(0)
    }

    /// The peer sends a segment, inside UDP from `udp` when given (through the wire encoding
    /// and check), plain otherwise.
    fn inject(&mut self, flags: TcpFlags, seq: u32, ack: u32, mss: Option<u16>, udp: Option<u16>) {
        let repr = TcpRepr {
            src_port: self.peer.port(),
            dst_port: self.us.port(),
            seq: SeqNum(seq),
            ack: SeqNum(ack),
            flags,
            window: 30000,
            urgent: 0,
            options: TcpOptions { mss, ..TcpOptions::default() },
            raw_options: None,
            payload: &[],
        };
        let (src, dst) = (self.peer.ip(), self.us.ip());
        let mut seg = vec![0u8; repr.buffer_len()];
        let n = repr.emit(&mut seg, src, dst, ChecksumMode::Verify).unwrap();
        match udp {
            Some(p) => {
                let mut dgram = [0u8; 200];
                let m = encapsulate(&seg[..n], src, dst, p, TUNNEL, &mut dgram).unwrap();
                let d = decapsulate(&dgram[..m], src, dst).unwrap();
                let r = TcpRepr::parse_bytes(d.segment, src, dst, ChecksumMode::Skip).unwrap();
                let from = NonZeroU16::new(d.src_port).unwrap();
                self.ep.on_udp_segment(self.now, src, dst, 0, from, &r);
            }
            None => {
                let r = TcpRepr::parse_bytes(&seg[..n], src, dst, ChecksumMode::Verify).unwrap();
                self.ep.on_segment(self.now, src, dst, &r);
            }
        }
        while self.ep.poll_event().is_some() {}
    }
}

fn encapsulated(p: u16) -> ConnConfig {
    ConnConfig { udp_encapsulation: port(p), ..ConnConfig::default() }
}

/// An active open to the remote port 1: every segment travels in UDP to port 1 with an MSS 8
/// bytes smaller; the handshake completes by that way only.
fn established_active() -> (Net, ConnId) {
    let mut n = Net::new();
    n.us = addr(1, 5000);
    n.peer = addr(2, 80);
    let id = n.ep.connect(n.now, n.us, n.peer, encapsulated(1)).unwrap();
    let syn = n.one();
    assert_eq!((syn.flags, syn.udp), (TcpFlags::SYN, Some(1)));
    assert_eq!(syn.mss, Some((1500 - 40 - UDP_ENCAP_OVERHEAD) as u16));
    n.now += core::time::Duration::from_millis(10);
    n.inject(TcpFlags::SYN | TcpFlags::ACK, PEER_ISS, 1001, Some(1452), Some(1));
    let ack = n.one();
    assert_eq!(
        (ack.flags, ack.seq, ack.ack, ack.udp),
        (TcpFlags::ACK, 1001, PEER_ISS + 1, Some(1))
    );
    assert_eq!(n.ep.state(id).unwrap(), State::Established);
    (n, id)
}

#[test]
fn active_open_travels_in_udp_with_a_smaller_mss() {
    let (mut n, id) = established_active();
    n.ep.send(id, &[7; 3 * 1452]).unwrap();
    let data = n.sent();
    assert_eq!(data.len(), 3);
    assert!(data.iter().all(|w| w.udp == Some(1) && w.payload == 1452), "to port 1, full");
    assert_eq!(n.ep.stats(id).unwrap().snd_mss, 1452);
}

#[test]
fn a_segment_by_another_way_is_answered_as_in_closed() {
    let (mut n, id) = established_active();
    let (una, nxt) = (1001, PEER_ISS + 1);
    // Plain TCP with ACK: <SEQ=SEG.ACK><CTL=RST>, plain.
    n.inject(TcpFlags::FIN | TcpFlags::ACK, nxt, una, None, None);
    let r = n.one();
    assert_eq!((r.flags, r.seq, r.udp), (TcpFlags::RST, una, None));
    // Another UDP port, no ACK: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> back to that port.
    n.inject(TcpFlags::SYN, nxt, 0, Some(1452), Some(2));
    let r = n.one();
    assert_eq!(
        (r.flags, r.seq, r.ack, r.udp),
        (TcpFlags::RST | TcpFlags::ACK, 0, nxt + 1, Some(2))
    );
    // A RST by another way is dropped: the connection lives on.
    n.inject(TcpFlags::RST, nxt, 0, None, Some(2));
    n.inject(TcpFlags::RST, nxt, 0, None, None);
    assert!(n.sent().is_empty());
    assert_eq!(n.ep.state(id).unwrap(), State::Established);
    // The right way still works: the peer's FIN is taken.
    n.inject(TcpFlags::FIN | TcpFlags::ACK, nxt, una, None, Some(1));
    let a = n.one();
    assert_eq!((a.flags, a.ack, a.udp), (TcpFlags::ACK, nxt + 1, Some(1)));
    assert_eq!(n.ep.state(id).unwrap(), State::CloseWait);
}

#[test]
fn syn_sent_ignores_a_reset_by_another_way() {
    let mut n = Net::new();
    let id = n.ep.connect(n.now, n.us, n.peer, encapsulated(1)).unwrap();
    n.one();
    n.inject(TcpFlags::RST | TcpFlags::ACK, 0, 1001, None, Some(2));
    n.inject(TcpFlags::RST | TcpFlags::ACK, 0, 1001, None, None);
    assert_eq!(n.ep.state(id).unwrap(), State::SynSent);
    n.inject(TcpFlags::RST | TcpFlags::ACK, 0, 1001, None, Some(1));
    assert_ne!(n.ep.state(id).ok(), Some(State::SynSent), "the reset by its way closes it");
}

#[test]
fn a_listener_child_answers_by_the_way_its_syn_came() {
    let mut n = Net::new();
    let lid = n.ep.listen(n.us, 4).unwrap();
    n.inject(TcpFlags::SYN, PEER_ISS, 0, Some(1452), Some(7));
    let sa = n.one();
    assert_eq!((sa.flags, sa.udp, sa.mss), (TcpFlags::SYN | TcpFlags::ACK, Some(7), Some(1452)));
    // The handshake's ACK by plain TCP is not the child's: RST, and the child waits.
    n.inject(TcpFlags::ACK, PEER_ISS + 1, 1001, None, None);
    let r = n.one();
    assert_eq!((r.flags, r.seq, r.udp), (TcpFlags::RST, 1001, None));
    assert!(n.ep.accept(lid).is_none());
    n.inject(TcpFlags::ACK, PEER_ISS + 1, 1001, None, Some(7));
    let id = n.ep.accept(lid).expect("established by port 7");
    n.ep.close(id).unwrap();
    let fin = n.one();
    assert_eq!((fin.flags, fin.udp), (TcpFlags::FIN | TcpFlags::ACK, Some(7)));
    // A plain SYN to the same listener makes a plain connection next to it.
    n.peer = addr(2, 4001);
    n.inject(TcpFlags::SYN, PEER_ISS, 0, Some(1460), None);
    let sa = n.one();
    assert_eq!((sa.udp, sa.mss), (None, Some(1460)));
}

#[test]
fn closed_port_answers_by_the_segments_way() {
    let mut n = Net::new();
    n.inject(TcpFlags::SYN, PEER_ISS, 0, Some(1452), Some(3));
    let r = n.one();
    assert_eq!(
        (r.flags, r.seq, r.ack, r.udp),
        (TcpFlags::RST | TcpFlags::ACK, 0, PEER_ISS + 1, Some(3))
    );
}

#[test]
fn time_wait_reopens_by_a_new_port() {
    let mut n = Net::new();
    let cfg = ConnConfig { time_wait_drops_old_syn: true, ..ConnConfig::default() };
    let lid = n.ep.listen_with(n.us, 4, cfg).unwrap();
    n.inject(TcpFlags::SYN, PEER_ISS, 0, Some(1452), Some(1));
    n.one();
    n.inject(TcpFlags::ACK, PEER_ISS + 1, 1001, None, Some(1));
    let id = n.ep.accept(lid).unwrap();
    n.ep.shutdown_write(id).unwrap();
    n.one();
    n.inject(TcpFlags::FIN | TcpFlags::ACK, PEER_ISS + 1, 1002, None, Some(1));
    n.one();
    assert_eq!(n.ep.state(id).unwrap(), State::TimeWait);
    // An old SYN by the connection's way is dropped (the knob), by another way reset.
    n.inject(TcpFlags::SYN, PEER_ISS + 2, 0, Some(1452), Some(1));
    assert!(n.sent().is_empty());
    n.inject(TcpFlags::SYN, PEER_ISS + 2, 0, Some(1452), Some(2));
    let r = n.one();
    assert_eq!((r.flags, r.ack, r.udp), (TcpFlags::RST | TcpFlags::ACK, PEER_ISS + 3, Some(2)));
    // A SYN above RCV.NXT opens a new incarnation, whatever its way; it keeps that way.
    n.inject(TcpFlags::SYN, PEER_ISS + 3, 0, Some(1452), Some(2));
    let sa = n.one();
    assert_eq!((sa.flags, sa.ack, sa.udp), (TcpFlags::SYN | TcpFlags::ACK, PEER_ISS + 4, Some(2)));
}

/// A reply by another way is built from the connection, in every state up to TIME-WAIT: it
/// carries the socket's TTL and TOS (FreeBSD's tcp_respond and tcp_twrespond), not the IP
/// layer's defaults.
#[test]
fn a_reply_by_another_way_carries_the_connections_ip_fields() {
    let ip = IpFields { ttl: Some(6), tos: 0xe0 };
    let mut n = Net::new();
    let lid = n.ep.listen_with(n.us, 4, ConnConfig { ip, ..ConnConfig::default() }).unwrap();
    n.inject(TcpFlags::SYN, PEER_ISS, 0, Some(1452), Some(1));
    assert_eq!(n.one().ip, ip);
    n.inject(TcpFlags::ACK, PEER_ISS + 1, 1001, None, Some(1));
    let id = n.ep.accept(lid).unwrap();
    // ESTABLISHED: with ACK and without.
    n.inject(TcpFlags::FIN | TcpFlags::ACK, PEER_ISS + 1, 1001, None, Some(2));
    let r = n.one();
    assert_eq!((r.flags, r.seq, r.udp, r.ip), (TcpFlags::RST, 1001, Some(2), ip));
    n.inject(TcpFlags::SYN, PEER_ISS + 1, 0, None, None);
    let r = n.one();
    assert_eq!(
        (r.flags, r.ack, r.udp, r.ip),
        (TcpFlags::RST | TcpFlags::ACK, PEER_ISS + 2, None, ip)
    );
    // TIME-WAIT: the same.
    n.ep.shutdown_write(id).unwrap();
    n.one();
    n.inject(TcpFlags::FIN | TcpFlags::ACK, PEER_ISS + 1, 1002, None, Some(1));
    assert_eq!(n.one().ip, ip);
    assert_eq!(n.ep.state(id).unwrap(), State::TimeWait);
    n.inject(TcpFlags::FIN | TcpFlags::ACK, PEER_ISS + 1, 1002, None, Some(2));
    let r = n.one();
    assert_eq!((r.flags, r.seq, r.udp, r.ip), (TcpFlags::RST, 1002, Some(2), ip));
    n.inject(TcpFlags::SYN, PEER_ISS + 1, 0, None, Some(2));
    let r = n.one();
    assert_eq!(
        (r.flags, r.ack, r.udp, r.ip),
        (TcpFlags::RST | TcpFlags::ACK, PEER_ISS + 2, Some(2), ip)
    );
    // A port nothing listens on still answers with the IP layer's defaults.
    n.peer = addr(2, 4001);
    n.us = addr(1, 81);
    n.inject(TcpFlags::SYN, PEER_ISS, 0, None, Some(2));
    assert_eq!(n.one().ip, IpFields::default());
}
