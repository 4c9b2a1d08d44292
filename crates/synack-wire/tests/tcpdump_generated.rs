//! The tcpdump-style lines for a few hundred generated packets (seeded, so the same every run)
//! compared with what the installed tcpdump prints for the same bytes (`tcpdump -nn -t -S`).
//! Covers what the golden captures cannot: every flag combination, urgent pointers, SACK with
//! several blocks, unknown options, EOL, odd TFO cookies, ICMP codes, IPv6 extension headers.
//! Prints `SKIPPED` when tcpdump is not installed.

use pcap_file::DataLink;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::Command;
use std::time::Duration;
use synack_wire::dump::PacketLine;
use synack_wire::icmpv4::Icmpv4Repr;
use synack_wire::icmpv6::Icmpv6Repr;
use synack_wire::tcp::{TcpFlags, TcpRepr};
use synack_wire::udp::UdpRepr;
use synack_wire::{ChecksumMode, IpPacketRepr, IpProtocol, Ipv4Repr, Ipv6Repr, SeqNum};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Ports no tcpdump dissector claims, so only the transport line prints.
const PORTS: [u16; 4] = [34706, 42181, 5001, 47000];

fn tcp_options(rng: &mut Rng) -> Vec<u8> {
    let mut o = Vec::new();
    for _ in 0..rng.below(6) {
        let opt: Vec<u8> = match rng.below(10) {
            0 => vec![1],
            1 => {
                let m = rng.next() as u16;
                vec![2, 4, (m >> 8) as u8, m as u8]
            }
            2 => vec![3, 3, rng.below(16) as u8],
            3 => vec![4, 2],
            4 => {
                let mut v = vec![5, 2 + 8 * (1 + rng.below(3) as u8)];
                let n = v[1] as usize - 2;
                v.extend(rng.bytes(n));
                v
            }
            5 => {
                let mut v = vec![8, 10];
                v.extend(rng.bytes(8));
                v
            }
            6 => {
                let n = [0usize, 4, 6, 8, 16, 5][rng.below(6) as usize];
                let mut v = vec![34, 2 + n as u8];
                v.extend(rng.bytes(n));
                v
            }
            7 => {
                let k = [9u8, 14, 27, 31, 200, 253][rng.below(6) as usize];
                let n = rng.below(5) as usize;
                let mut v = vec![k, 2 + n as u8];
                v.extend(rng.bytes(n));
                v
            }
            8 => {
                let mut v = vec![254, 4 + rng.below(2) as u8 * 8];
                let n = v[1] as usize - 4;
                v.extend([0xf9, 0x89]);
                v.extend(rng.bytes(n));
                v
            }
            _ => vec![0],
        };
        if o.len() + opt.len() <= 40 {
            let eol = opt == [0];
            o.extend(opt);
            if eol {
                break;
            }
        }
    }
    while o.len() % 4 != 0 {
        o.push(0);
    }
    o
}

fn addrs(rng: &mut Rng, v6: bool) -> (IpAddr, IpAddr) {
    if v6 {
        (
            IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1 + rng.below(3) as u16)),
            IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0x1c2, 0, 0, 9)),
        )
    } else {
        (
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1 + rng.below(3) as u8)),
            IpAddr::V4(Ipv4Addr::new(192, 168, 7, 200)),
        )
    }
}

/// Wraps a transport segment in an IP header (IPv6 optionally behind extension headers).
fn ip(rng: &mut Rng, src: IpAddr, dst: IpAddr, proto: IpProtocol, l4: &[u8]) -> Vec<u8> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let r = Ipv4Repr {
                src_addr: s,
                dst_addr: d,
                protocol: proto,
                payload_len: l4.len(),
                ttl: 64,
                tos: 0,
                ident: rng.next() as u16,
                dont_frag: true,
                more_frags: false,
                frag_offset: 0,
            };
            let mut b = vec![0u8; r.buffer_len()];
            r.emit(&mut b, ChecksumMode::Verify).unwrap();
            b[20..].copy_from_slice(l4);
            b
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let ext: Vec<u8> = match rng.below(4) {
                0 => vec![proto.0, 0, 1, 4, 0, 0, 0, 0], // hop-by-hop, PadN
                1 => vec![proto.0, 0, 1, 4, 0, 0, 0, 0], // destination options
                _ => vec![],
            };
            let first = match (ext.is_empty(), rng.0 & 1) {
                (true, _) => proto,
                (false, 0) => IpProtocol::HOP_BY_HOP,
                (false, _) => IpProtocol::IPV6_OPTS,
            };
            let r = Ipv6Repr {
                src_addr: s,
                dst_addr: d,
                next_header: first,
                payload_len: ext.len() + l4.len(),
                hop_limit: 64,
                traffic_class: 0,
                flow_label: 0,
            };
            let mut b = vec![0u8; r.buffer_len()];
            r.emit(&mut b).unwrap();
            b[40..40 + ext.len()].copy_from_slice(&ext);
            b[40 + ext.len()..].copy_from_slice(l4);
            b
        }
        _ => unreachable!(),
    }
}

fn packet(rng: &mut Rng) -> Vec<u8> {
    let v6 = rng.below(3) == 0;
    let (src, dst) = addrs(rng, v6);
    match rng.below(12) {
        10 => {
            // A protocol tcpdump has no dissector for.
            let n = rng.below(40) as usize;
            let data = rng.bytes(n);
            let proto = IpProtocol([99u8, 114, 253, 50][rng.below(4) as usize]);
            ip(rng, src, dst, proto, &data)
        }
        11 => fragment(rng, src, dst),
        0..=5 => {
            let opts = tcp_options(rng);
            let n = [0usize, 0, 1, 7, 100][rng.below(5) as usize];
            let payload = rng.bytes(n);
            let flags = match rng.below(4) {
                // The eight classic flags only: tcpdump 4.99.3 ignores the AE bit, which our
                // FlagLetters prints as `e`.
                0 => TcpFlags((rng.next() & 0xff) as u16),
                1 => TcpFlags::SYN,
                2 => TcpFlags::ACK | TcpFlags::PSH,
                _ => TcpFlags::ACK | TcpFlags((rng.next() & 0x0e5) as u16),
            };
            let t = TcpRepr {
                src_port: PORTS[rng.below(4) as usize],
                dst_port: PORTS[rng.below(4) as usize],
                seq: SeqNum(rng.next() as u32),
                ack: SeqNum(rng.next() as u32),
                flags,
                window: rng.next() as u16,
                urgent: rng.next() as u16,
                options: Default::default(),
                raw_options: Some(&opts),
                payload: &payload,
            };
            let mut seg = vec![0u8; t.buffer_len()];
            t.emit(&mut seg, src, dst, ChecksumMode::Verify).unwrap();
            ip(rng, src, dst, IpProtocol::TCP, &seg)
        }
        6 => {
            let n = rng.below(30) as usize;
            let payload = rng.bytes(n);
            let u = UdpRepr {
                src_port: PORTS[rng.below(4) as usize],
                dst_port: PORTS[rng.below(4) as usize],
                payload: &payload,
            };
            let mut seg = vec![0u8; u.buffer_len()];
            u.emit(&mut seg, src, dst, ChecksumMode::Verify).unwrap();
            ip(rng, src, dst, IpProtocol::UDP, &seg)
        }
        _ => {
            // An error message quoting a TCP or UDP packet sent the other way.
            let quoted_proto = if rng.0 & 2 == 0 { IpProtocol::TCP } else { IpProtocol::UDP };
            let mut l4 = vec![0u8; 8];
            l4[0..2].copy_from_slice(&PORTS[0].to_be_bytes());
            l4[2..4].copy_from_slice(&PORTS[rng.below(4) as usize].to_be_bytes());
            if quoted_proto == IpProtocol::UDP {
                l4[4..6].copy_from_slice(&8u16.to_be_bytes());
            }
            let quoted = ip(rng, dst, src, quoted_proto, &l4);
            let n = rng.below(12) as usize;
            let data = rng.bytes(n);
            let (a, b) = (rng.next() as u16, rng.next() as u16);
            if let (IpAddr::V6(s), IpAddr::V6(d)) = (src, dst) {
                let m = match rng.below(8) {
                    0 => Icmpv6Repr::EchoRequest { ident: a, seq_no: b, data: &data },
                    1 => Icmpv6Repr::EchoReply { ident: a, seq_no: b, data: &data },
                    2 => Icmpv6Repr::DstUnreachable { code: rng.below(5) as u8, quoted: &quoted },
                    3 => Icmpv6Repr::PacketTooBig { mtu: 1280 + a as u32, quoted: &quoted },
                    4 => Icmpv6Repr::TimeExceeded { code: rng.below(2) as u8, quoted: &quoted },
                    5 => Icmpv6Repr::ParamProblem {
                        code: rng.below(3) as u8,
                        pointer: b as u32,
                        quoted: &quoted,
                    },
                    6 => Icmpv6Repr::NeighborSolicit { target: d, options: &[] },
                    _ => Icmpv6Repr::NeighborAdvert { flags: 0x60, target: s, options: &[] },
                };
                let mut seg = vec![0u8; m.buffer_len()];
                m.emit(&mut seg, s, d, ChecksumMode::Verify).unwrap();
                ip(rng, src, dst, IpProtocol::ICMPV6, &seg)
            } else {
                let m = match rng.below(7) {
                    0 => Icmpv4Repr::EchoRequest { ident: a, seq_no: b, data: &data },
                    1 => Icmpv4Repr::EchoReply { ident: a, seq_no: b, data: &data },
                    2 => Icmpv4Repr::DstUnreachable {
                        code: rng.below(16) as u8,
                        next_hop_mtu: [0, 1280, 576][rng.below(3) as usize],
                        quoted: &quoted,
                    },
                    3 => Icmpv4Repr::SourceQuench { quoted: &quoted },
                    4 => Icmpv4Repr::TimeExceeded { code: rng.below(3) as u8, quoted: &quoted },
                    5 => Icmpv4Repr::ParamProblem {
                        code: rng.below(2) as u8,
                        pointer: a as u8,
                        quoted: &quoted,
                    },
                    _ => Icmpv4Repr::Other {
                        msg_type: [10u8, 15, 16, 17, 42][rng.below(5) as usize],
                        code: 0,
                        rest: [0; 4],
                        data: &data,
                    },
                };
                let mut seg = vec![0u8; m.buffer_len()];
                m.emit(&mut seg, ChecksumMode::Verify).unwrap();
                ip(rng, src, dst, IpProtocol::ICMP, &seg)
            }
        }
    }
}

/// A fragment of a UDP datagram: first (header present), middle or last.
fn fragment(rng: &mut Rng, src: IpAddr, dst: IpAddr) -> Vec<u8> {
    let n = 8 * (1 + rng.below(4) as usize);
    let mut data = rng.bytes(n);
    let (offset, more) = match rng.below(3) {
        0 => (0u16, true),
        1 => (1 + rng.below(100) as u16, true),
        _ => (1 + rng.below(100) as u16, false),
    };
    if offset == 0 {
        data[0..2].copy_from_slice(&PORTS[1].to_be_bytes());
        data[2..4].copy_from_slice(&PORTS[3].to_be_bytes());
        data[4..6].copy_from_slice(&3000u16.to_be_bytes());
    }
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let r = Ipv4Repr {
                src_addr: s,
                dst_addr: d,
                protocol: IpProtocol::UDP,
                payload_len: data.len(),
                ttl: 64,
                tos: 0,
                ident: rng.next() as u16,
                dont_frag: false,
                more_frags: more,
                frag_offset: offset,
            };
            let mut b = vec![0u8; r.buffer_len()];
            r.emit(&mut b, ChecksumMode::Verify).unwrap();
            b[20..].copy_from_slice(&data);
            b
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let mut frag = vec![17u8, 0];
            frag.extend(((offset << 3) | more as u16).to_be_bytes());
            frag.extend((rng.next() as u32).to_be_bytes());
            let r = Ipv6Repr {
                src_addr: s,
                dst_addr: d,
                next_header: IpProtocol::IPV6_FRAG,
                payload_len: 8 + data.len(),
                hop_limit: 64,
                traffic_class: 0,
                flow_label: 0,
            };
            let mut b = vec![0u8; r.buffer_len()];
            r.emit(&mut b).unwrap();
            b[40..48].copy_from_slice(&frag);
            b[48..].copy_from_slice(&data);
            b
        }
        _ => unreachable!(),
    }
}

#[test]
fn generated_packets_print_as_tcpdump_prints_them() {
    if Command::new("tcpdump").arg("--version").output().is_err() {
        println!("SKIPPED: tcpdump is not installed");
        return;
    }
    let mut rng = Rng(0x5359_4e41_434b_0001);
    let packets: Vec<Vec<u8>> = (0..600).map(|_| packet(&mut rng)).collect();
    let path = std::env::temp_dir().join(format!("synack-wire-gen-{}.pcap", std::process::id()));
    {
        let header = PcapHeader { datalink: DataLink::RAW, ..PcapHeader::default() };
        let mut w = PcapWriter::with_header(std::fs::File::create(&path).unwrap(), header).unwrap();
        for (i, p) in packets.iter().enumerate() {
            let ts = Duration::from_micros(i as u64);
            w.write_packet(&PcapPacket::new(ts, p.len() as u32, p)).unwrap();
        }
    }
    let out = Command::new("tcpdump").args(["-nn", "-t", "-S", "-r"]).arg(&path).output().unwrap();
    std::fs::remove_file(&path).unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let theirs: Vec<&str> = text.lines().collect();
    assert_eq!(theirs.len(), packets.len(), "tcpdump printed one line per packet");
    let mut mismatches = Vec::new();
    for (i, p) in packets.iter().enumerate() {
        let parsed = IpPacketRepr::parse(p, ChecksumMode::Verify).unwrap();
        let ours = PacketLine { packet: &parsed, relative: None }.to_string();
        if ours != theirs[i] {
            mismatches.push(format!("#{i}\n  tcpdump: {}\n  synack:  {ours}", theirs[i]));
        }
    }
    assert!(mismatches.is_empty(), "{} mismatches:\n{}", mismatches.len(), mismatches.join("\n"));
}

/// IPv6 routing headers (types 0, 2, 4 and an unknown one) and AH, whose tcpdump text is
/// longer than a name; the UDP checksum uses the routing header's final destination.
#[test]
fn routing_headers_and_ah_print_as_tcpdump_prints_them() {
    if Command::new("tcpdump").arg("--version").output().is_err() {
        println!("SKIPPED: tcpdump is not installed");
        return;
    }
    let src: Ipv6Addr = "fd00::1".parse().unwrap();
    let dst: Ipv6Addr = "fe80::1c2:0:0:9".parse().unwrap();
    let a1: Ipv6Addr = "2001:db8::1".parse().unwrap();
    let a2: Ipv6Addr = "2001:db8::2".parse().unwrap();
    let with_addrs = |head: [u8; 8], addrs: &[Ipv6Addr]| {
        let mut v = head.to_vec();
        addrs.iter().for_each(|a| v.extend(a.octets()));
        v
    };
    let cases: Vec<(IpProtocol, Vec<u8>, Ipv6Addr)> = vec![
        (IpProtocol::IPV6_ROUTE, with_addrs([17, 4, 0, 1, 0, 0, 0, 0], &[a1, a2]), a2),
        (IpProtocol::IPV6_ROUTE, with_addrs([17, 4, 0, 0, 0, 0, 0, 0], &[a1, a2]), dst),
        (IpProtocol::IPV6_ROUTE, with_addrs([17, 2, 2, 1, 0, 0, 0, 0], &[a1]), a1),
        (IpProtocol::IPV6_ROUTE, with_addrs([17, 4, 4, 1, 1, 0, 0x12, 0x34], &[a1, a2]), a1),
        (IpProtocol::IPV6_ROUTE, with_addrs([17, 4, 4, 1, 1, 0x80, 0, 7], &[a1, a2]), a1),
        (IpProtocol::IPV6_ROUTE, vec![17, 0, 5, 0, 0, 0, 0, 0], dst),
        (
            IpProtocol::AH,
            vec![
                17, 4, 0, 0, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 7, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
                12,
            ],
            dst,
        ),
    ];
    let mut packets = Vec::new();
    for (first, ext, final_dst) in cases {
        let u = UdpRepr { src_port: PORTS[0], dst_port: PORTS[2], payload: b"abcd" };
        let mut l4 = vec![0u8; u.buffer_len()];
        u.emit(&mut l4, src.into(), final_dst.into(), ChecksumMode::Verify).unwrap();
        let r = Ipv6Repr {
            src_addr: src,
            dst_addr: dst,
            next_header: first,
            payload_len: ext.len() + l4.len(),
            hop_limit: 64,
            traffic_class: 0,
            flow_label: 0,
        };
        let mut b = vec![0u8; r.buffer_len()];
        r.emit(&mut b).unwrap();
        b[40..40 + ext.len()].copy_from_slice(&ext);
        b[40 + ext.len()..].copy_from_slice(&l4);
        packets.push(b);
    }
    let path = std::env::temp_dir().join(format!("synack-wire-rt-{}.pcap", std::process::id()));
    {
        let header = PcapHeader { datalink: DataLink::RAW, ..PcapHeader::default() };
        let mut w = PcapWriter::with_header(std::fs::File::create(&path).unwrap(), header).unwrap();
        for p in &packets {
            w.write_packet(&PcapPacket::new(Duration::ZERO, p.len() as u32, p)).unwrap();
        }
    }
    let out = Command::new("tcpdump").args(["-nn", "-t", "-r"]).arg(&path).output().unwrap();
    std::fs::remove_file(&path).unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let theirs: Vec<&str> = text.lines().collect();
    assert_eq!(theirs.len(), packets.len());
    for (i, p) in packets.iter().enumerate() {
        // Verify mode: the UDP checksum only checks with the final destination.
        let parsed = IpPacketRepr::parse(p, ChecksumMode::Verify).unwrap();
        let ours = PacketLine { packet: &parsed, relative: None }.to_string();
        assert_eq!(ours, theirs[i], "packet {i}");
    }
}

/// ARP, RARP and InARP packets in Ethernet frames (one padded to the 60-byte minimum).
#[test]
fn arp_prints_as_tcpdump_prints_it() {
    use synack_wire::arp::{ArpOperation, ArpRepr};
    use synack_wire::dump::ArpLine;
    use synack_wire::ethernet::{EtherType, EthernetAddress, EthernetRepr};
    if Command::new("tcpdump").arg("--version").output().is_err() {
        println!("SKIPPED: tcpdump is not installed");
        return;
    }
    let me = EthernetAddress([2, 0, 0, 0, 0, 1]);
    let them = EthernetAddress([0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f]);
    let cases = [
        (1, EthernetAddress([0; 6]), 0),
        (1, them, 0),
        (1, EthernetAddress([0; 6]), 18),
        (2, them, 0),
        (3, EthernetAddress([0; 6]), 0),
        (4, them, 0),
        (8, EthernetAddress([0; 6]), 0),
        (9, them, 0),
    ];
    let mut frames = Vec::new();
    let mut ours = Vec::new();
    for (op, tha, pad) in cases {
        let arp = ArpRepr {
            operation: ArpOperation::from_code(op),
            source_hardware_addr: me,
            source_protocol_addr: Ipv4Addr::new(10, 0, 0, 1),
            target_hardware_addr: tha,
            target_protocol_addr: Ipv4Addr::new(10, 0, 0, 2),
        };
        let eth = EthernetRepr {
            src_addr: me,
            dst_addr: EthernetAddress::BROADCAST,
            ethertype: EtherType::ARP,
        };
        let mut b = vec![0u8; 14 + 28 + pad];
        eth.emit(&mut b).unwrap();
        arp.emit(&mut b[14..]).unwrap();
        ours.push(ArpLine { arp: &arp, len: 28 + pad }.to_string());
        frames.push(b);
    }
    let path = std::env::temp_dir().join(format!("synack-wire-arp-{}.pcap", std::process::id()));
    {
        let header = PcapHeader { datalink: DataLink::ETHERNET, ..PcapHeader::default() };
        let mut w = PcapWriter::with_header(std::fs::File::create(&path).unwrap(), header).unwrap();
        for p in &frames {
            w.write_packet(&PcapPacket::new(Duration::ZERO, p.len() as u32, p)).unwrap();
        }
    }
    let out = Command::new("tcpdump").args(["-nn", "-t", "-r"]).arg(&path).output().unwrap();
    std::fs::remove_file(&path).unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let theirs: Vec<&str> = text.lines().collect();
    assert_eq!(theirs, ours);
}

/// Segments whose option area is malformed (built from raw option bytes, which emit writes
/// verbatim): tcpdump ends the line at `[bad opt]]`, and so do we.
#[test]
fn malformed_options_print_as_tcpdump_prints_them() {
    use synack_wire::dump::TcpDumpLine;
    if Command::new("tcpdump").arg("--version").output().is_err() {
        println!("SKIPPED: tcpdump is not installed");
        return;
    }
    let (src, dst) =
        (IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)));
    let cases: [&[u8]; 5] =
        [&[2, 0, 0, 0], &[1, 1, 99, 1], &[1, 99, 40, 0], &[1, 1, 1, 2], &[8, 10, 0, 0, 0, 0, 0, 0]];
    let mut packets = Vec::new();
    let mut ours = Vec::new();
    for raw in cases {
        let t = TcpRepr {
            src_port: PORTS[0],
            dst_port: PORTS[2],
            seq: SeqNum(1000),
            ack: SeqNum(2000),
            flags: TcpFlags::ACK,
            window: 512,
            urgent: 0,
            options: Default::default(),
            raw_options: Some(raw),
            payload: b"xyz",
        };
        let mut seg = vec![0u8; t.buffer_len()];
        t.emit(&mut seg, src, dst, ChecksumMode::Verify).unwrap();
        ours.push(TcpDumpLine { src, dst, tcp: &t, relative: None }.to_string());
        packets.push(ip(&mut Rng(7), src, dst, IpProtocol::TCP, &seg));
    }
    let path = std::env::temp_dir().join(format!("synack-wire-badopt-{}.pcap", std::process::id()));
    {
        let header = PcapHeader { datalink: DataLink::RAW, ..PcapHeader::default() };
        let mut w = PcapWriter::with_header(std::fs::File::create(&path).unwrap(), header).unwrap();
        for p in &packets {
            w.write_packet(&PcapPacket::new(Duration::ZERO, p.len() as u32, p)).unwrap();
        }
    }
    let out = Command::new("tcpdump").args(["-nn", "-t", "-S", "-r"]).arg(&path).output().unwrap();
    std::fs::remove_file(&path).unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let theirs: Vec<&str> = text.lines().collect();
    assert_eq!(theirs, ours);
}
