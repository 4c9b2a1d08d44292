//! Which shard owns a flow: a keyed hash of its addresses and ports, the same for both
//! directions, so every shard computes the owner of any packet without asking another.

use std::hash::Hasher;
use std::net::{IpAddr, SocketAddr};

/// IP protocol numbers the steering reads.
const TCP: u8 = 6;
const UDP: u8 = 17;
const ICMP: u8 = 1;
const ICMPV6: u8 = 58;
/// IPv6 extension headers walked to reach the transport header.
const HOP_BY_HOP: u8 = 0;
const ROUTING: u8 = 43;
const FRAGMENT: u8 = 44;
const DEST_OPTS: u8 = 60;

/// The steering function of a set of shards.
///
/// TCP flows are spread by a symmetric keyed hash of the two endpoints (the owner of a
/// packet and of its answer agree). UDP all belongs to shard 0, where the sharded API binds
/// UDP sockets: a socket takes datagrams from any peer, so its datagrams cannot be spread by
/// peer. ICMP errors go with the flow they quote. Anything else (echo requests, packets that
/// cannot be parsed) has no owner and stays on the shard that read it. Fragments are steered by
/// their addresses alone (later fragments carry no ports), so all fragments of a datagram meet
/// on one shard.
#[derive(Debug, Clone, Copy)]
pub struct Steering {
    key: (u64, u64),
    shards: usize,
}

impl Steering {
    /// A steering function over `shards` shards (at least 1) keyed by `key`.
    pub fn new(shards: usize, key: [u8; 16]) -> Steering {
        let (a, b) = key.split_at(8);
        let word = |s: &[u8]| u64::from_le_bytes(s.try_into().unwrap_or_default());
        Steering { key: (word(a), word(b)), shards: shards.max(1) }
    }

    /// Number of shards.
    pub fn shards(&self) -> usize {
        self.shards
    }

    /// The shard owning the TCP flow between `a` and `b` (either order).
    pub fn tcp_flow(&self, a: SocketAddr, b: SocketAddr) -> usize {
        if self.shards == 1 {
            return 0;
        }
        let (lo, hi) = if endpoint_key(a) <= endpoint_key(b) { (a, b) } else { (b, a) };
        let mut h = self.hasher();
        for e in [lo, hi] {
            match e.ip() {
                IpAddr::V4(ip) => h.write(&ip.octets()),
                IpAddr::V6(ip) => h.write(&ip.octets()),
            }
            h.write_u16(e.port());
        }
        self.scale(h.finish())
    }

    /// The shard owning an IP packet, `None` when it has no owner (see the type's docs).
    pub fn packet(&self, packet: &[u8]) -> Option<usize> {
        if self.shards == 1 {
            return Some(0);
        }
        self.packet_at(packet, true)
    }

    fn packet_at(&self, packet: &[u8], outer: bool) -> Option<usize> {
        let flow = parse(packet)?;
        match flow.proto {
            UDP => Some(0),
            TCP => match flow.ports {
                Some((sp, dp)) => Some(
                    self.tcp_flow(SocketAddr::new(flow.src, sp), SocketAddr::new(flow.dst, dp)),
                ),
                None => {
                    Some(self.tcp_flow(SocketAddr::new(flow.src, 0), SocketAddr::new(flow.dst, 0)))
                }
            },
            ICMP | ICMPV6 if outer => {
                let body = packet.get(flow.transport..)?;
                let ty = *body.first()?;
                let error = match flow.proto {
                    ICMP => matches!(ty, 3 | 4 | 5 | 11 | 12),
                    _ => matches!(ty, 1..=4),
                };
                if error { self.packet_at(body.get(8..)?, false) } else { None }
            }
            _ if flow.ports.is_none() && flow.fragment => {
                Some(self.tcp_flow(SocketAddr::new(flow.src, 0), SocketAddr::new(flow.dst, 0)))
            }
            _ => None,
        }
    }

    fn hasher(&self) -> std::hash::DefaultHasher {
        let mut h = std::hash::DefaultHasher::new();
        h.write_u64(self.key.0);
        h.write_u64(self.key.1);
        h
    }

    /// Maps a hash onto the shards, by multiplying rather than dividing.
    fn scale(&self, h: u64) -> usize {
        let h32 = (h ^ (h >> 32)) as u32;
        ((u64::from(h32) * self.shards as u64) >> 32) as usize
    }
}

/// True for a TCP segment that opens a connection (SYN without ACK): what a SYN flood is
/// made of, and what the hand-over between shards gives way to when an inbox is full.
pub(crate) fn is_tcp_syn(packet: &[u8]) -> bool {
    const SYN: u8 = 0x02;
    const ACK: u8 = 0x10;
    let Some(flow) = parse(packet) else { return false };
    if flow.proto != TCP || flow.ports.is_none() {
        return false;
    }
    packet.get(flow.transport + 13).is_some_and(|f| f & (SYN | ACK) == SYN)
}

/// Orders endpoints so both directions of a flow hash alike.
fn endpoint_key(a: SocketAddr) -> ([u8; 16], u16) {
    let ip = match a.ip() {
        IpAddr::V4(v) => v.to_ipv6_mapped().octets(),
        IpAddr::V6(v) => v.octets(),
    };
    (ip, a.port())
}

/// What the steering reads from an IP header.
struct Flow {
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    /// Offset of the transport header.
    transport: usize,
    /// Source and destination port (TCP, UDP; not in a later fragment, nor cut off).
    ports: Option<(u16, u16)>,
    /// The packet is a fragment: fragments of TCP are steered by addresses alone.
    fragment: bool,
}

fn parse(p: &[u8]) -> Option<Flow> {
    let (src, dst, mut proto, mut at, fragment) = match p.first()? >> 4 {
        4 => {
            let ihl = usize::from(p.first()? & 0x0f) * 4;
            let frag = u16::from_be_bytes([*p.get(6)?, *p.get(7)?]);
            let src: [u8; 4] = p.get(12..16)?.try_into().ok()?;
            let dst: [u8; 4] = p.get(16..20)?.try_into().ok()?;
            // More fragments, or a non-zero offset.
            let fragment = frag & 0x3fff != 0;
            (IpAddr::from(src), IpAddr::from(dst), *p.get(9)?, ihl, fragment)
        }
        6 => {
            let src: [u8; 16] = p.get(8..24)?.try_into().ok()?;
            let dst: [u8; 16] = p.get(24..40)?.try_into().ok()?;
            (IpAddr::from(src), IpAddr::from(dst), *p.get(6)?, 40, false)
        }
        _ => return None,
    };
    let mut fragment = fragment;
    if src.is_ipv6() {
        // A few extension headers at most; anything longer is not worth steering.
        for _ in 0..4 {
            match proto {
                HOP_BY_HOP | ROUTING | DEST_OPTS => {
                    let next = *p.get(at)?;
                    at += (usize::from(*p.get(at + 1)?) + 1) * 8;
                    proto = next;
                }
                FRAGMENT => {
                    proto = *p.get(at)?;
                    fragment = true;
                    at += 8;
                }
                _ => break,
            }
        }
    }
    let ports = if fragment || !(proto == TCP || proto == UDP) {
        None
    } else {
        p.get(at..at + 4)
            .map(|b| (u16::from_be_bytes([b[0], b[1]]), u16::from_be_bytes([b[2], b[3]])))
    };
    Some(Flow { src, dst, proto, transport: at, ports, fragment })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4_tcp(src: [u8; 4], sp: u16, dst: [u8; 4], dp: u16) -> Vec<u8> {
        let mut p = vec![0u8; 40];
        p[0] = 0x45;
        p[9] = TCP;
        p[12..16].copy_from_slice(&src);
        p[16..20].copy_from_slice(&dst);
        p[20..22].copy_from_slice(&sp.to_be_bytes());
        p[22..24].copy_from_slice(&dp.to_be_bytes());
        p
    }

    #[test]
    fn syns_are_told_from_other_segments() {
        let mut p = v4_tcp([10, 0, 0, 1], 40000, [10, 0, 0, 2], 80);
        for (flags, syn) in [(0x02, true), (0x12, false), (0x10, false), (0x18, false), (0, false)]
        {
            p[33] = flags;
            assert_eq!(is_tcp_syn(&p), syn, "flags {flags:#x}");
        }
        p[33] = 0x02;
        assert!(!is_tcp_syn(&p[..30]), "a truncated header is not a SYN");
        p[9] = UDP;
        assert!(!is_tcp_syn(&p));
    }

    #[test]
    fn both_directions_of_a_flow_have_one_owner_and_flows_spread() {
        let s = Steering::new(4, [7; 16]);
        let mut seen = [0usize; 4];
        for port in 40000..40400u16 {
            let out = v4_tcp([10, 0, 0, 1], port, [10, 0, 0, 2], 80);
            let back = v4_tcp([10, 0, 0, 2], 80, [10, 0, 0, 1], port);
            let owner = s.packet(&out).expect("a TCP packet has an owner");
            assert_eq!(s.packet(&back), Some(owner));
            let a: SocketAddr = ([10, 0, 0, 1], port).into();
            assert_eq!(s.tcp_flow(a, ([10, 0, 0, 2], 80).into()), owner);
            seen[owner] += 1;
        }
        // 400 flows over 4 shards: each gets a fair share (far from 0 or all).
        assert!(seen.iter().all(|&n| (50..150).contains(&n)), "{seen:?}");
    }

    #[test]
    fn icmp_errors_follow_the_flow_they_quote_and_udp_goes_to_shard_0() {
        let s = Steering::new(8, [1; 16]);
        let quoted = v4_tcp([10, 0, 0, 1], 40001, [10, 0, 0, 2], 80);
        let owner = s.packet(&quoted).expect("owner");
        let mut icmp = vec![0u8; 28];
        icmp[0] = 0x45;
        icmp[9] = ICMP;
        icmp[12..16].copy_from_slice(&[10, 0, 0, 9]);
        icmp[16..20].copy_from_slice(&[10, 0, 0, 1]);
        icmp[20] = 3; // destination unreachable
        icmp.extend_from_slice(&quoted[..28]);
        assert_eq!(s.packet(&icmp), Some(owner));
        icmp[20] = 8; // echo request: no owner
        assert_eq!(s.packet(&icmp), None);
        let mut udp = v4_tcp([10, 0, 0, 1], 5000, [10, 0, 0, 2], 53);
        udp[9] = UDP;
        assert_eq!(s.packet(&udp), Some(0));
        // Garbage and truncated headers have no owner and never panic.
        assert_eq!(s.packet(&[]), None);
        assert_eq!(s.packet(&[0x45, 0, 0]), None);
        assert_eq!(s.packet(&[0x60; 12]), None);
    }

    #[test]
    fn fragments_of_one_datagram_meet_on_one_shard() {
        let s = Steering::new(8, [3; 16]);
        let mut first = v4_tcp([10, 0, 0, 1], 40001, [10, 0, 0, 2], 80);
        first[6] = 0x20; // more fragments
        let mut later = first.clone();
        later[6] = 0;
        later[7] = 10; // offset 80 bytes, last
        later[20..24].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(s.packet(&first), s.packet(&later));
    }

    #[test]
    fn ipv6_flows_are_symmetric() {
        let s = Steering::new(3, [9; 16]);
        let mk = |src: u8, sp: u16, dst: u8, dp: u16| {
            let mut p = vec![0u8; 60];
            p[0] = 0x60;
            p[6] = TCP;
            p[23] = src;
            p[39] = dst;
            p[40..42].copy_from_slice(&sp.to_be_bytes());
            p[42..44].copy_from_slice(&dp.to_be_bytes());
            p
        };
        for port in 50000..50050 {
            assert_eq!(s.packet(&mk(1, port, 2, 443)), s.packet(&mk(2, 443, 1, port)));
        }
    }
}
