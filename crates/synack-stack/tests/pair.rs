//! Two stacks (interface + engine) joined by the in-memory link, on virtual time in one
//! thread: IPv4 and IPv6 transfers, ICMP errors reaching TCP, IPv4 fragments reassembled on
//! the way, and malformed packets dropped without harm.

use std::net::SocketAddr;

use synack_stack::phy::tap::RingTap;
use synack_stack::phy::{Frame, FrameRing, Link, LinkEnd, PcapTap};
use synack_stack::{Device, DeviceCaps, DropReason, Interface, InterfaceConfig, IpCidr};
use synack_tcp::{
    ConnConfig, ConnId, ConnectionError, Endpoint, EndpointConfig, Instant, RecvError, SendError,
    State,
};
use synack_wire::icmpv4::Icmpv4Repr;
use synack_wire::{ChecksumMode, IpProtocol, Ipv4Packet, Ipv4Repr};

struct Node {
    iface: Interface,
    ep: Endpoint,
    /// The link end behind a tap whose ring keeps the last frames (shown when a test fails).
    dev: RingTap<LinkEnd>,
}

impl Node {
    fn poll(&mut self, now: Instant) -> bool {
        let r = self.iface.poll(now, &mut self.dev, &mut self.ep);
        r.received + r.sent > 0 || r.more
    }
}

fn node(dev: LinkEnd, addrs: &[(&str, u8)], seed: u8) -> Node {
    let mut iface = Interface::new(InterfaceConfig::default());
    for (a, p) in addrs {
        iface.add_address(IpCidr::new(a.parse().unwrap(), *p).unwrap());
    }
    let cfg = EndpointConfig { mtu: dev.caps().mtu, ..EndpointConfig::default() };
    let dev = PcapTap::ring_only(dev, FrameRing::new(64, 1 << 20));
    Node { iface, ep: Endpoint::new(cfg, [seed; 16], u64::from(seed)), dev }
}

fn pair(mtu: usize) -> (Node, Node) {
    let caps = DeviceCaps { mtu, ..DeviceCaps::default() };
    nodes(Link::ideal(caps, 4096))
}

fn nodes((da, db): (LinkEnd, LinkEnd)) -> (Node, Node) {
    (
        node(da, &[("10.0.0.1", 24), ("fd00::1", 64)], 1),
        node(db, &[("10.0.0.2", 24), ("fd00::2", 64)], 2),
    )
}

/// Polls both until quiet, then jumps virtual time to the next timer; `hook` runs between
/// polls and may move frames itself. Stops when `done` or after `rounds`.
fn run(
    a: &mut Node,
    b: &mut Node,
    now: &mut Instant,
    rounds: usize,
    mut hook: impl FnMut(&mut Node, &mut Node, Instant),
    mut done: impl FnMut(&mut Node, &mut Node) -> bool,
) -> bool {
    for _ in 0..rounds {
        if done(a, b) {
            return true;
        }
        let busy_a = a.poll(*now);
        hook(a, b, *now);
        let busy_b = b.poll(*now);
        hook(a, b, *now);
        if !busy_a && !busy_b {
            let next = [
                a.ep.poll_timeout(),
                b.ep.poll_timeout(),
                a.iface.poll_at(),
                b.iface.poll_at(),
                a.dev.poll_at(),
                b.dev.poll_at(),
            ]
            .into_iter()
            .flatten()
            .min();
            match next {
                Some(t) if t > *now => *now = t,
                Some(_) => *now += std::time::Duration::from_micros(1),
                None => return done(a, b),
            }
        }
    }
    done(a, b)
}

fn connect(a: &mut Node, b: &mut Node, now: &mut Instant, server: SocketAddr) -> (ConnId, ConnId) {
    let lid = b.ep.listen(server, 16).unwrap();
    let local = SocketAddr::new(a.iface.source_for(server.ip()).unwrap(), 0);
    let c = a.ep.connect(*now, local, server, ConnConfig::default()).unwrap();
    let mut accepted = None;
    assert!(run(
        a,
        b,
        now,
        1000,
        |_, _, _| {},
        |a, b| {
            if accepted.is_none() {
                accepted = b.ep.accept(lid);
            }
            accepted.is_some() && a.ep.state(c) == Ok(State::Established)
        }
    ));
    (c, accepted.unwrap())
}

/// Sends `data` from (a, c) to (b, s) and returns what b read.
fn transfer(
    a: &mut Node,
    b: &mut Node,
    now: &mut Instant,
    c: ConnId,
    s: ConnId,
    data: &[u8],
    mut hook: impl FnMut(&mut Node, &mut Node, Instant),
) -> Vec<u8> {
    let mut sent = 0;
    let mut got = Vec::new();
    let mut buf = vec![0u8; 65536];
    let ok = run(a, b, now, 200_000, &mut hook, |a, b| {
        while sent < data.len() {
            match a.ep.send(c, &data[sent..]) {
                Ok(0) => break,
                Ok(n) => sent += n,
                Err(SendError::WouldBlock) => break,
                Err(e) => panic!("send: {e:?}"),
            }
        }
        loop {
            match b.ep.recv(s, &mut buf) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(RecvError::WouldBlock) => break,
                Err(e) => panic!("recv: {e:?}"),
            }
        }
        got.len() >= data.len()
    });
    if !ok {
        for (name, n) in [("a", &*a), ("b", &*b)] {
            for f in n.dev.ring().frames() {
                eprintln!("{name} {:?} {:?} {}", f.at, f.direction, describe(&f.data));
            }
        }
    }
    assert!(
        ok,
        "transfer stalled at {} of {} bytes (sent {sent}) at {now:?}; a: {:?} {:?} timer {:?} dev {:?}; b: {:?} {:?} timer {:?} dev {:?}",
        got.len(),
        data.len(),
        a.ep.state(c),
        a.iface.counters(),
        a.ep.poll_timeout(),
        a.dev.inner().stats(),
        b.ep.state(s),
        b.iface.counters(),
        b.ep.poll_timeout(),
        b.dev.inner().stats(),
    );
    got
}

/// One line about a frame: TCP ports, seq, ack, flags, length (for failure traces).
fn describe(frame: &[u8]) -> String {
    use synack_wire::{Ipv6Packet, TcpPacket};
    let payload = match frame.first().map(|b| b >> 4) {
        Some(4) => Ipv4Packet::new_checked(frame).map(|p| p.payload().to_vec()),
        Some(6) => Ipv6Packet::new_checked(frame).map(|p| p.payload().to_vec()),
        _ => return format!("{} bytes, not IP", frame.len()),
    };
    match payload.as_ref().map(|p| TcpPacket::new_checked(&p[..])) {
        Ok(Ok(t)) => format!(
            "{}>{} seq {} ack {} {:?} win {} len {}",
            t.src_port(),
            t.dst_port(),
            t.seq_number().0,
            t.ack_number().0,
            t.flags(),
            t.window_len(),
            t.payload().len()
        ),
        _ => format!("{} bytes, not TCP", frame.len()),
    }
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn ipv4_and_ipv6_transfers() {
    for server in ["10.0.0.2:80", "[fd00::2]:80"] {
        // A 100 µs link: RTTs are never zero.
        let cfg = synack_netsim::LinkConfig {
            delay: std::time::Duration::from_micros(100),
            ..synack_netsim::LinkConfig::ideal()
        };
        let (mut a, mut b) = nodes(Link::simulated(DeviceCaps::default(), cfg, cfg, 1).unwrap());
        let mut now = Instant::ZERO;
        let (c, s) = connect(&mut a, &mut b, &mut now, server.parse().unwrap());
        let data = pattern(1 << 20);
        let got = transfer(&mut a, &mut b, &mut now, c, s, &data, |_, _, _| {});
        assert!(got == data, "{server}: bytes differ");
        assert_eq!(a.iface.counters().total_dropped(), 0, "{:?}", a.iface.counters());
        assert_eq!(b.iface.counters().total_dropped(), 0, "{:?}", b.iface.counters());
        assert!(b.iface.counters().tcp_delivered > 700);
    }
}

/// An ICMP error from b's address quoting `frame` (an IPv4 packet a sent).
fn icmp_about(frame: &[u8], kind: u8, code: u8, mtu: u16) -> Frame {
    let ip = Ipv4Packet::new_checked(frame).unwrap();
    let quote = &frame[..ip.header_len() + 8];
    let msg = match kind {
        3 => Icmpv4Repr::DstUnreachable { code, next_hop_mtu: mtu, quoted: quote },
        _ => Icmpv4Repr::TimeExceeded { code, quoted: quote },
    };
    let ipr = Ipv4Repr {
        src_addr: ip.dst_addr(),
        dst_addr: ip.src_addr(),
        protocol: IpProtocol::ICMP,
        payload_len: msg.buffer_len(),
        ttl: 64,
        tos: 0,
        ident: 1,
        dont_frag: false,
        more_frags: false,
        frag_offset: 0,
    };
    let mut b = vec![0u8; ipr.buffer_len()];
    ipr.emit(&mut b, ChecksumMode::Verify).unwrap();
    msg.emit(&mut b[20..], ChecksumMode::Verify).unwrap();
    Frame::from_bytes(&b)
}

#[test]
fn icmp_port_unreachable_aborts_connect_and_soft_errors_do_not() {
    let (mut a, mut b) = pair(1500);
    let now = Instant::ZERO;
    let server: SocketAddr = "10.0.0.2:81".parse().unwrap();
    let c =
        a.ep.connect(now, "10.0.0.1:0".parse().unwrap(), server, ConnConfig::default()).unwrap();
    a.poll(now);
    let syn = b.dev.inner_mut().intercept(now).expect("SYN on the wire");
    // A soft error (host unreachable) only reports.
    a.dev.inner_mut().inject(now, icmp_about(syn.bytes(), 3, 1, 0));
    a.poll(now);
    assert_eq!(a.ep.state(c), Ok(State::SynSent));
    // A hard one (port unreachable) ends the attempt.
    a.dev.inner_mut().inject(now, icmp_about(syn.bytes(), 3, 3, 0));
    a.poll(now);
    assert_eq!(a.iface.counters().icmp_errors_delivered, 2);
    let err = a.ep.error(c).ok().flatten();
    assert!(
        matches!(err, Some(ConnectionError::Unreachable | ConnectionError::Refused))
            || a.ep.state(c).is_err()
            || a.ep.state(c) == Ok(State::Closed),
        "connection survived a hard ICMP error: {:?} {err:?}",
        a.ep.state(c)
    );
    // An error quoting a sequence number outside the window is ignored by the engine.
    let c2 =
        a.ep.connect(now, "10.0.0.1:0".parse().unwrap(), server, ConnConfig::default()).unwrap();
    a.poll(now);
    let mut syn2 = b.dev.inner_mut().intercept(now).expect("second SYN").buf;
    let ip_len = Ipv4Packet::new_checked(&syn2[..]).unwrap().header_len();
    syn2[ip_len + 4] ^= 0x80; // flip the quoted sequence number far away
    a.dev.inner_mut().inject(now, icmp_about(&syn2, 3, 3, 0));
    a.poll(now);
    assert_eq!(a.ep.state(c2), Ok(State::SynSent), "RFC 5927: out-of-window quote ignored");
}

#[test]
fn frag_needed_lowers_the_segment_size() {
    let (mut a, mut b) = pair(1500);
    let mut now = Instant::ZERO;
    let (c, s) = connect(&mut a, &mut b, &mut now, "10.0.0.2:80".parse().unwrap());
    let data = pattern(300_000);
    let mut told = false;
    let mut largest_after = 0usize;
    let got = transfer(&mut a, &mut b, &mut now, c, s, &data, |a, b, now| {
        // Watch a's frames to b; answer the first one over 1200 bytes with "fragmentation
        // needed, MTU 1200" and deliver it anyway. Frames a sent before it saw the ICMP error
        // do not count; everything after must fit 1200 bytes.
        let mut frames = vec![];
        while let Some(f) = b.dev.inner_mut().intercept(now) {
            frames.push(f);
        }
        let mut tell = None;
        for f in frames {
            if told {
                largest_after = largest_after.max(f.bytes().len());
            } else if tell.is_none() && f.bytes().len() > 1200 {
                tell = Some(icmp_about(f.bytes(), 3, 4, 1200));
            }
            b.dev.inner_mut().inject(now, f);
        }
        if let Some(icmp) = tell {
            a.dev.inner_mut().inject(now, icmp);
            a.poll(now);
            told = true;
        }
    });
    assert!(got == data);
    assert!(told);
    assert!(largest_after <= 1200, "segments still {largest_after} bytes after PMTU 1200");
}

/// Splits an IPv4 packet into fragments of at most `chunk` payload bytes (a multiple of 8).
fn fragment(frame: &[u8], chunk: usize) -> Vec<Frame> {
    let ip = Ipv4Packet::new_checked(frame).unwrap();
    let r = Ipv4Repr::parse(&ip, ChecksumMode::Verify).unwrap();
    let payload = ip.payload();
    let mut out = vec![];
    let mut off = 0;
    while off < payload.len() {
        let end = (off + chunk).min(payload.len());
        let fr = Ipv4Repr {
            payload_len: end - off,
            dont_frag: false,
            more_frags: end < payload.len(),
            frag_offset: (off / 8) as u16,
            ..r
        };
        let mut b = vec![0u8; fr.buffer_len()];
        fr.emit(&mut b, ChecksumMode::Verify).unwrap();
        b[20..].copy_from_slice(&payload[off..end]);
        out.push(Frame::from_bytes(&b));
        off = end;
    }
    out
}

#[test]
fn fragmented_ipv4_reassembled_between_stacks() {
    let (mut a, mut b) = pair(1500);
    let mut now = Instant::ZERO;
    let (c, s) = connect(&mut a, &mut b, &mut now, "10.0.0.2:80".parse().unwrap());
    let data = pattern(200_000);
    let got = transfer(&mut a, &mut b, &mut now, c, s, &data, |_, b, now| {
        let mut frames = vec![];
        while let Some(f) = b.dev.inner_mut().intercept(now) {
            frames.push(f);
        }
        for f in frames {
            if f.bytes().len() > 600 {
                let mut parts = fragment(f.bytes(), 504);
                parts.reverse(); // last first: order must not matter
                for p in parts {
                    b.dev.inner_mut().inject(now, p);
                }
            } else {
                b.dev.inner_mut().inject(now, f);
            }
        }
    });
    assert!(got == data);
    assert!(b.iface.counters().reassembled > 100, "{:?}", b.iface.counters());
    assert_eq!(b.iface.reassembly_usage(), (0, 0));
    assert_eq!(b.iface.counters().total_dropped(), 0);
}

#[test]
fn malformed_packets_mid_transfer_are_counted_and_harmless() {
    let (mut a, mut b) = pair(1500);
    let mut now = Instant::ZERO;
    let (c, s) = connect(&mut a, &mut b, &mut now, "10.0.0.2:80".parse().unwrap());
    let data = pattern(200_000);
    let mut n = 0u32;
    let got = transfer(&mut a, &mut b, &mut now, c, s, &data, |_, b, now| {
        let mut frames = vec![];
        while let Some(f) = b.dev.inner_mut().intercept(now) {
            frames.push(f);
        }
        for f in frames {
            n += 1;
            // Every fifth frame, also send a damaged copy of it, each kind of damage in turn.
            if n.is_multiple_of(5) {
                let mut bad = f.bytes().to_vec();
                match (n / 5) % 8 {
                    0 => bad[10] ^= 0xff, // IPv4 header checksum
                    1 => {
                        let l = bad.len();
                        bad[l - 1] ^= 0x55; // TCP checksum (payload)
                    }
                    2 => bad.truncate(30), // cut short
                    3 => bad[0] = 0x75,    // version 7
                    4 => bad[0] = 0x43,    // IHL 3
                    5 => bad[2..4].copy_from_slice(&9u16.to_be_bytes()), // total length < header
                    6 => bad[16..20].copy_from_slice(&[10, 0, 0, 255]), // to broadcast
                    _ => bad.clear(),      // empty
                }
                b.dev.inner_mut().inject(now, Frame::from_bytes(&bad));
            }
            b.dev.inner_mut().inject(now, f);
        }
    });
    assert!(got == data);
    let cn = b.iface.counters();
    for r in [
        DropReason::Ipv4BadChecksum,
        DropReason::TcpBadChecksum,
        DropReason::Ipv4Truncated,
        DropReason::BadVersion,
        DropReason::Ipv4BadHeaderLen,
        DropReason::Ipv4BadTotalLen,
        DropReason::Empty,
    ] {
        assert!(cn.dropped(r) > 0, "no {r} drops: {:?}", cn.drops().collect::<Vec<_>>());
    }
    // The broadcast copy has a stale header checksum, so it counts there, not as broadcast.
    assert_eq!(cn.total_dropped(), u64::from(n / 5), "{:?}", cn.drops().collect::<Vec<_>>());
}

#[test]
fn transfers_survive_an_impaired_link_for_every_seed() {
    use core::time::Duration;
    use synack_netsim::LinkConfig;
    let cfg = LinkConfig {
        delay: Duration::from_millis(2),
        jitter: Duration::from_micros(300),
        loss: 0.02,
        reorder: 0.02,
        reorder_delay: Duration::from_millis(1),
        duplicate: 0.01,
        corrupt: 0.01,
        ..LinkConfig::ideal()
    };
    for seed in 1..=4u64 {
        for server in ["10.0.0.2:80", "[fd00::2]:80"] {
            let link = Link::simulated(DeviceCaps::default(), cfg, cfg, seed).unwrap();
            let (mut a, mut b) = nodes(link);
            let mut now = Instant::ZERO;
            let (c, s) = connect(&mut a, &mut b, &mut now, server.parse().unwrap());
            let data = pattern(300_000);
            let got = transfer(&mut a, &mut b, &mut now, c, s, &data, |_, _, _| {});
            eprintln!("seed {seed} {server} ok");
            assert!(got == data, "seed {seed} {server}: bytes differ");
            // Corrupted frames are caught by checksums and counted, never delivered.
            let dropped = a.iface.counters().total_dropped() + b.iface.counters().total_dropped();
            let corrupted = a.dev.inner().stats().1.delivered + b.dev.inner().stats().1.delivered;
            assert!(corrupted > 0);
            let _ = dropped;
        }
    }
}
