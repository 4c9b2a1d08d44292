//! Golden packets from real Linux captures (tests/data, made by the capture-*.sh scripts there
//! in network namespaces): every frame parses with checksums verified, re-emits byte for byte
//! from its parsed form, and prints exactly tcpdump 4.99's line, relative and absolute.

mod common;

use common::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use synack_wire::tcp::{TcpFlags, TcpOption, Timestamps};
use synack_wire::{
    ChecksumMode, IpHeader, IpPacketRepr, IpProtocol, Ipv4Packet, SeqNum, TcpPacket, TcpRepr,
    Transport,
};

#[test]
fn every_frame_reemits_byte_for_byte() {
    for cap in CAPTURES {
        for (i, f) in frames(cap).iter().enumerate() {
            assert_eq!(reemit(f), *f, "{cap} frame {i}");
        }
    }
}

#[test]
fn every_frame_prints_as_tcpdump_does() {
    for cap in CAPTURES {
        let fr = frames(cap);
        let (rel, abs) = (lines(cap, "txt"), lines(cap, "S.txt"));
        assert_eq!(fr.len(), rel.len(), "{cap}: one line per frame");
        let mut tracker = Tracker::default();
        for (i, f) in fr.iter().enumerate() {
            assert_eq!(render(f, Some(&mut tracker)), rel[i], "{cap} frame {i} (relative)");
            assert_eq!(render(f, None), abs[i], "{cap} frame {i} (absolute, -S)");
        }
    }
}

fn frame(cap: &str, i: usize) -> Vec<u8> {
    frames(cap).swap_remove(i)
}

const A4: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
const B4: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));

fn tcp_of(ip: &[u8]) -> TcpRepr<'_> {
    match IpPacketRepr::parse(ip, ChecksumMode::Verify).unwrap().transport {
        Transport::Tcp(t) => t,
        other => panic!("not TCP: {other:?}"),
    }
}

#[test]
fn linux_syn_with_full_option_set() {
    let f = frame(CAPTURES[0], 10);
    let ip = ip_of(&f).unwrap();
    let v4 = Ipv4Packet::new_checked(ip).unwrap();
    assert_eq!(
        (v4.version(), v4.header_len(), v4.tos(), v4.total_len(), v4.ident()),
        (4, 20, 0, 60, 6643)
    );
    assert!(v4.dont_frag() && !v4.more_frags() && v4.frag_offset() == 0 && !v4.is_fragment());
    assert_eq!((v4.ttl(), v4.protocol(), v4.checksum()), (64, IpProtocol::TCP, 0x0cc7));
    assert!(v4.verify_checksum());
    let pkt = TcpPacket::new_checked(v4.payload()).unwrap();
    assert_eq!((pkt.src_port(), pkt.dst_port()), (56648, 5001));
    assert_eq!((pkt.seq_number(), pkt.ack_number()), (SeqNum(1766753551), SeqNum(0)));
    assert_eq!((pkt.data_offset(), pkt.flags()), (10, TcpFlags::SYN));
    assert_eq!((pkt.window_len(), pkt.checksum(), pkt.urgent_pointer()), (64240, 0x90db, 0));
    let opts: Vec<_> = pkt.options().map(Result::unwrap).collect();
    assert_eq!(
        opts,
        [
            TcpOption::Mss(1460),
            TcpOption::SackPermitted,
            TcpOption::Timestamps(Timestamps { tsval: 942313684, tsecr: 0 }),
            TcpOption::NoOperation,
            TcpOption::WindowScale(10),
        ]
    );
    let r = TcpRepr::parse(&pkt, A4, B4, ChecksumMode::Verify).unwrap();
    assert_eq!(r.options.mss, Some(1460));
    assert_eq!(r.options.window_scale, Some(10));
    assert!(r.options.sack_permitted && r.options.sack.is_empty());
    assert_eq!(r.options.timestamps, Some(Timestamps { tsval: 942313684, tsecr: 0 }));
    assert_eq!(r.options.fast_open, None);
    assert_eq!(r.raw_options, None, "Linux's layout is the canonical one");
    assert!(r.payload.is_empty());
    assert_eq!((r.seq_len(), r.header_len(), r.buffer_len()), (1, 40, 40));
    let mut out = [0u8; 40];
    assert_eq!(r.emit(&mut out, A4, B4, ChecksumMode::Verify), Ok(40));
    assert_eq!(out[..], v4.payload()[..]);
}

#[test]
fn linux_syn_ack() {
    let f = frame(CAPTURES[0], 11);
    let r = tcp_of(ip_of(&f).unwrap());
    assert_eq!((r.src_port, r.dst_port), (5001, 56648));
    assert_eq!((r.seq, r.ack), (SeqNum(707827033), SeqNum(1766753552)));
    assert_eq!((r.flags, r.window, r.urgent), (TcpFlags::SYN | TcpFlags::ACK, 65160, 0));
    assert_eq!(r.options.timestamps, Some(Timestamps { tsval: 2620342695, tsecr: 942313684 }));
    assert_eq!((r.options.mss, r.options.window_scale), (Some(1460), Some(10)));
    assert!(r.options.sack_permitted);
}

#[test]
fn linux_data_segment() {
    let f = frame(CAPTURES[0], 13);
    let r = tcp_of(ip_of(&f).unwrap());
    assert_eq!((r.seq, r.ack), (SeqNum(1766753552), SeqNum(707827034)));
    assert_eq!((r.flags, r.window), (TcpFlags::PSH | TcpFlags::ACK, 63));
    assert_eq!(r.payload, b"hello world\n");
    assert_eq!(r.options.timestamps, Some(Timestamps { tsval: 942313684, tsecr: 2620342695 }));
    assert_eq!(
        (r.options.mss, r.options.window_scale, r.options.sack_permitted),
        (None, None, false)
    );
    assert_eq!((r.header_len(), r.seq_len()), (32, 12));
}

#[test]
fn linux_fin() {
    let f = frame(CAPTURES[0], 17);
    let r = tcp_of(ip_of(&f).unwrap());
    assert_eq!(r.flags, TcpFlags::FIN | TcpFlags::ACK);
    assert_eq!((r.seq, r.ack, r.seq_len()), (SeqNum(1766753564), SeqNum(707827049), 1));
}

#[test]
fn linux_rst_ack() {
    let f = frame(CAPTURES[0], 33);
    let ip = ip_of(&f).unwrap();
    let v4 = Ipv4Packet::new_checked(ip).unwrap();
    assert_eq!((v4.ident(), v4.total_len()), (0, 40));
    let r = tcp_of(ip);
    assert_eq!((r.src_port, r.dst_port), (5999, 60408));
    assert_eq!((r.seq, r.ack), (SeqNum(0), SeqNum(604168884)));
    assert_eq!((r.flags, r.window), (TcpFlags::RST | TcpFlags::ACK, 0));
    assert_eq!((r.options, r.raw_options, r.header_len()), (Default::default(), None, 20));
}

#[test]
fn linux_ipv6_syn() {
    let f = frame(CAPTURES[0], 22);
    let p = IpPacketRepr::parse(ip_of(&f).unwrap(), ChecksumMode::Verify).unwrap();
    let IpHeader::V6 { repr, upper, ext } = p.ip else { panic!("not IPv6") };
    assert_eq!(repr.src_addr, "fd00::1".parse::<Ipv6Addr>().unwrap());
    assert_eq!(repr.dst_addr, "fd00::2".parse::<Ipv6Addr>().unwrap());
    assert_eq!((repr.next_header, repr.payload_len, repr.hop_limit), (IpProtocol::TCP, 40, 64));
    assert_eq!((repr.traffic_class, repr.flow_label), (0, 0x6c933));
    assert_eq!(
        (upper.protocol, upper.offset, upper.fragment, ext.len()),
        (IpProtocol::TCP, 0, None, 0)
    );
    let Transport::Tcp(r) = p.transport else { panic!("not TCP") };
    assert_eq!((r.src_port, r.dst_port, r.seq), (54896, 5001, SeqNum(430210982)));
    assert_eq!((r.options.mss, r.window), (Some(1440), 64800));
}

#[test]
fn linux_tfo_cookie_request_and_cookie() {
    let cap = CAPTURES[1];
    let fr = frames(cap);
    let rel = lines(cap, "txt");
    let idx = |needle: &str| rel.iter().position(|l| l.contains(needle)).unwrap();
    let req = tcp_of(ip_of(&fr[idx("cookiereq")]).unwrap());
    let c = req.options.fast_open.expect("cookie request");
    assert!(c.as_bytes().is_empty());
    assert_eq!(req.raw_options, None, "Linux pads the TFO option with two NOPs, as we do");
    let i = rel.iter().position(|l| l.contains("Flags [S]") && l.contains("tfo  cookie ")).unwrap();
    let r = tcp_of(ip_of(&fr[i]).unwrap());
    assert_eq!(r.options.fast_open.unwrap().as_bytes().len(), 8);
    assert_eq!(r.payload, b"fast open data");
    assert_eq!(r.seq_len(), 15);
}

#[test]
fn linux_sack_block() {
    let cap = CAPTURES[1];
    let fr = frames(cap);
    let i = lines(cap, "txt").iter().position(|l| l.contains("sack 1 {")).unwrap();
    let r = tcp_of(ip_of(&fr[i]).unwrap());
    assert_eq!(r.options.sack.len(), 1);
    let b = r.options.sack.as_slice()[0];
    assert_eq!(b.right.0.wrapping_sub(b.left.0), 100);
    assert_eq!(b.left.0.wrapping_sub(r.ack.0), 99, "the dropped 99-byte segment is the hole");
    assert_eq!(r.raw_options, None);
}

#[test]
fn linux_icmp_errors_quote_the_original_packet() {
    use synack_wire::{Icmpv4Repr, Icmpv6Repr};
    let cap = CAPTURES[1];
    let fr = frames(cap);
    let rel = lines(cap, "txt");
    let at = |needle: &str| rel.iter().position(|l| l.contains(needle)).unwrap();
    // Frag-needed from the router, quoting our 1400-byte UDP datagram to 10.0.1.3.
    let p =
        IpPacketRepr::parse(ip_of(&fr[at("need to frag")]).unwrap(), ChecksumMode::Verify).unwrap();
    let Transport::Icmpv4(icmp @ Icmpv4Repr::DstUnreachable { code: 4, next_hop_mtu, .. }) =
        p.transport
    else {
        panic!("not frag-needed: {:?}", p.transport)
    };
    assert_eq!(next_hop_mtu, 1280);
    let q = icmp.quoted().unwrap().unwrap();
    assert_eq!((q.src, q.dst, q.protocol), (A4, "10.0.1.3".parse().unwrap(), IpProtocol::UDP));
    assert_eq!(q.ports().map(|(_, d)| d), Some(5998));
    assert_eq!(q.header.len(), 20);
    // Packet too big over IPv6, and hop limit exceeded.
    let p = IpPacketRepr::parse(ip_of(&fr[at("packet too big")]).unwrap(), ChecksumMode::Verify)
        .unwrap();
    let Transport::Icmpv6(icmp @ Icmpv6Repr::PacketTooBig { mtu, .. }) = p.transport else {
        panic!("not packet too big")
    };
    assert_eq!(mtu, 1280);
    let q = icmp.quoted().unwrap().unwrap();
    assert_eq!(q.dst, "fd01::3".parse::<IpAddr>().unwrap());
    let p =
        IpPacketRepr::parse(ip_of(&fr[at("ICMP time exceeded")]).unwrap(), ChecksumMode::Verify)
            .unwrap();
    assert!(matches!(p.transport, Transport::Icmpv4(Icmpv4Repr::TimeExceeded { code: 0, .. })));
    // A quoted TCP header gives its ports and sequence number (for RFC 5927 checks).
    let syn = frame(CAPTURES[0], 10);
    let mut quoted = ip_of(&syn).unwrap()[..28].to_vec();
    let msg = Icmpv4Repr::DstUnreachable { code: 4, next_hop_mtu: 1000, quoted: &quoted };
    let mut buf = vec![0u8; msg.buffer_len()];
    msg.emit(&mut buf, ChecksumMode::Verify).unwrap();
    let back = Icmpv4Repr::parse(
        &synack_wire::Icmpv4Packet::new_checked(&buf[..]).unwrap(),
        ChecksumMode::Verify,
    )
    .unwrap();
    let q = back.quoted().unwrap().unwrap();
    assert_eq!((q.ports(), q.tcp_seq()), (Some((56648, 5001)), Some(SeqNum(1766753551))));
    quoted.truncate(20);
    let short = Icmpv4Repr::DstUnreachable { code: 4, next_hop_mtu: 1000, quoted: &quoted };
    assert_eq!(short.quoted().unwrap().unwrap().tcp_seq(), None);
}
