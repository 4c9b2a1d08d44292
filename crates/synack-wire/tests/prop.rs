//! Property tests: `parse(emit(x)) == x` for every representation, the fast checksum against
//! the naive one, and no panic on any bytes.

use proptest::collection::vec;
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use synack_wire::arp::{ArpOperation, ArpPacket, ArpRepr};
use synack_wire::checksum::{self, ChecksumMode};
use synack_wire::ethernet::{EtherType, EthernetAddress, EthernetFrame, EthernetRepr};
use synack_wire::icmpv4::{Icmpv4Packet, Icmpv4Repr};
use synack_wire::icmpv6::{Icmpv6Packet, Icmpv6Repr};
use synack_wire::tcp::options::{self, TcpOptionIter};
use synack_wire::tcp::{
    AccEcnOption, FastOpenCookie, SackBlock, SackBlocks, TcpFlags, TcpOption, TcpOptions,
    TcpPacket, TcpRepr, Timestamps,
};
use synack_wire::udp::{UdpPacket, UdpRepr};
use synack_wire::{IpProtocol, Ipv4Packet, Ipv4Repr, Ipv6Packet, Ipv6Repr, SeqNum};

fn addr_pair() -> impl Strategy<Value = (IpAddr, IpAddr)> {
    prop_oneof![
        (any::<u32>(), any::<u32>())
            .prop_map(|(a, b)| (Ipv4Addr::from(a).into(), Ipv4Addr::from(b).into())),
        (any::<u128>(), any::<u128>())
            .prop_map(|(a, b)| (Ipv6Addr::from(a).into(), Ipv6Addr::from(b).into())),
    ]
}

fn sack_blocks() -> impl Strategy<Value = SackBlocks> {
    vec((any::<u32>(), any::<u32>()), 0..=4).prop_map(|v| {
        let mut s = SackBlocks::new();
        for (l, r) in v {
            s.push(SackBlock { left: SeqNum(l), right: SeqNum(r) });
        }
        s
    })
}

fn cookie() -> impl Strategy<Value = FastOpenCookie> {
    prop_oneof![Just(0usize), 4usize..=16]
        .prop_flat_map(|n| vec(any::<u8>(), n))
        .prop_map(|b| FastOpenCookie::new(&b).unwrap())
}

fn tcp_options() -> impl Strategy<Value = TcpOptions> {
    (
        proptest::option::of(any::<u16>()),
        proptest::option::of(any::<u8>()),
        any::<bool>(),
        sack_blocks(),
        proptest::option::of((any::<u32>(), any::<u32>())),
        proptest::option::of(cookie()),
        proptest::option::of((any::<bool>(), 0u8..=3, any::<[u32; 3]>())),
        proptest::option::of(any::<[u8; 16]>()),
    )
        .prop_map(|(mss, ws, sp, sack, ts, fo, ae, md5)| TcpOptions {
            mss,
            window_scale: ws,
            sack_permitted: sp,
            sack,
            timestamps: ts.map(|(tsval, tsecr)| Timestamps { tsval, tsecr }),
            fast_open: fo,
            accecn: ae.map(|(order1, n, [a, b, c])| {
                if order1 {
                    AccEcnOption::order1(a, b, c, n)
                } else {
                    AccEcnOption::order0(a, b, c, n)
                }
            }),
            md5,
        })
        .prop_filter("fits in 40 option bytes", |o| options::written_len(o) <= 40)
}

fn tcp_header() -> impl Strategy<Value = (u16, u16, u32, u32, u16, u16, u16)> {
    (
        any::<u16>(),
        any::<u16>(),
        any::<u32>(),
        any::<u32>(),
        0u16..0x1000,
        any::<u16>(),
        any::<u16>(),
    )
}

/// One option as bytes: any kind the parser accepts, including unknown ones.
fn wire_option() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(vec![1u8]),
        any::<u16>().prop_map(|m| {
            let b = m.to_be_bytes();
            vec![2, 4, b[0], b[1]]
        }),
        any::<u8>().prop_map(|s| vec![3, 3, s]),
        Just(vec![4u8, 2]),
        (any::<u32>(), any::<u32>()).prop_map(|(a, b)| {
            let mut v = vec![8, 10];
            v.extend(a.to_be_bytes());
            v.extend(b.to_be_bytes());
            v
        }),
        (1usize..=3, any::<u64>()).prop_map(|(n, x)| {
            let mut v = vec![5, 2 + 8 * n as u8];
            for i in 0..n {
                v.extend((x.rotate_left(i as u32 * 7)).to_be_bytes());
            }
            v
        }),
        (prop_oneof![6u8..=7, 9u8..=33, 35u8..=253], vec(any::<u8>(), 0..6)).prop_map(|(k, d)| {
            let mut v = vec![k, 2 + d.len() as u8];
            v.extend(d);
            v
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, rng_seed: proptest::test_runner::RngSeed::Fixed(0x5eed), ..ProptestConfig::default() })]

    #[test]
    fn tcp_typed_options_roundtrip(
        (src, dst) in addr_pair(),
        (sp, dp, seq, ack, flags, win, urg) in tcp_header(),
        options in tcp_options(),
        payload in vec(any::<u8>(), 0..64),
    ) {
        let r = TcpRepr {
            src_port: sp, dst_port: dp, seq: SeqNum(seq), ack: SeqNum(ack),
            flags: TcpFlags(flags), window: win, urgent: urg, options,
            raw_options: None, payload: &payload,
        };
        let mut buf = vec![0u8; r.buffer_len()];
        prop_assert_eq!(r.emit(&mut buf, src, dst, ChecksumMode::Verify), Ok(r.buffer_len()));
        let back = TcpRepr::parse_bytes(&buf, src, dst, ChecksumMode::Verify).unwrap();
        prop_assert_eq!(back, r);
        // The typed options read back through the iterator too, with nothing malformed.
        let pkt = TcpPacket::new_checked(&buf[..]).unwrap();
        prop_assert!(pkt.options().all(|o| o.is_ok()));
    }

    #[test]
    fn tcp_raw_options_roundtrip(
        (src, dst) in addr_pair(),
        (sp, dp, seq, ack, flags, win, urg) in tcp_header(),
        opts in vec(wire_option(), 0..8),
        payload in vec(any::<u8>(), 0..16),
    ) {
        let mut raw: Vec<u8> = Vec::new();
        for o in opts {
            if raw.len() + o.len() <= 40 {
                raw.extend(o);
            }
        }
        let typed = options::collect(&raw).unwrap();
        let r = TcpRepr {
            src_port: sp, dst_port: dp, seq: SeqNum(seq), ack: SeqNum(ack),
            flags: TcpFlags(flags), window: win, urgent: urg, options: typed,
            raw_options: Some(&raw), payload: &payload,
        };
        let mut buf = vec![0u8; r.buffer_len()];
        r.emit(&mut buf, src, dst, ChecksumMode::Verify).unwrap();
        let hl = r.header_len();
        prop_assert_eq!(&buf[20..20 + raw.len()], &raw[..]);
        prop_assert!(buf[20 + raw.len()..hl].iter().all(|&b| b == 0), "zero padding");
        let back = TcpRepr::parse_bytes(&buf, src, dst, ChecksumMode::Verify).unwrap();
        prop_assert_eq!(back.options, typed);
        prop_assert_eq!(back.payload, &payload[..]);
        // Re-emitting what was parsed gives the same bytes, whichever form it chose.
        let mut again = vec![0u8; back.buffer_len()];
        back.emit(&mut again, src, dst, ChecksumMode::Verify).unwrap();
        prop_assert_eq!(again, buf);
    }

    #[test]
    fn ipv4_roundtrip(
        src in any::<u32>(), dst in any::<u32>(), proto in any::<u8>(),
        payload_len in 0usize..1500, ttl in any::<u8>(), tos in any::<u8>(), ident in any::<u16>(),
        df in any::<bool>(), mf in any::<bool>(), off in 0u16..0x2000,
    ) {
        let r = Ipv4Repr {
            src_addr: src.into(), dst_addr: dst.into(), protocol: IpProtocol(proto), payload_len,
            ttl, tos, ident, dont_frag: df, more_frags: mf, frag_offset: off,
        };
        let mut buf = vec![0u8; r.buffer_len()];
        prop_assert_eq!(r.emit(&mut buf, ChecksumMode::Verify), Ok(20));
        let pkt = Ipv4Packet::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(Ipv4Repr::parse(&pkt, ChecksumMode::Verify).unwrap(), r);
        prop_assert_eq!(pkt.is_fragment(), mf || off != 0);
    }

    #[test]
    fn ipv6_roundtrip(
        src in any::<u128>(), dst in any::<u128>(), nh in any::<u8>(), payload_len in 0usize..1500,
        hop in any::<u8>(), tc in any::<u8>(), flow in 0u32..0x10_0000,
    ) {
        let r = Ipv6Repr {
            src_addr: src.into(), dst_addr: dst.into(), next_header: IpProtocol(nh), payload_len,
            hop_limit: hop, traffic_class: tc, flow_label: flow,
        };
        let mut buf = vec![0u8; r.buffer_len()];
        prop_assert_eq!(r.emit(&mut buf), Ok(40));
        prop_assert_eq!(Ipv6Repr::parse(&Ipv6Packet::new_checked(&buf[..]).unwrap()).unwrap(), r);
    }

    #[test]
    fn udp_roundtrip((src, dst) in addr_pair(), sp in any::<u16>(), dp in any::<u16>(),
                     payload in vec(any::<u8>(), 0..200)) {
        let r = UdpRepr { src_port: sp, dst_port: dp, payload: &payload };
        let mut buf = vec![0u8; r.buffer_len()];
        r.emit(&mut buf, src, dst, ChecksumMode::Verify).unwrap();
        prop_assert_ne!(UdpPacket::new_unchecked(&buf[..]).checksum(), 0);
        let back = UdpRepr::parse(&UdpPacket::new_checked(&buf[..]).unwrap(), src, dst, ChecksumMode::Verify).unwrap();
        prop_assert_eq!(back, r);
    }

    #[test]
    fn icmpv4_roundtrip(kind in 0u8..7, code in any::<u8>(), a in any::<u16>(), b in any::<u16>(),
                        other_type in prop_oneof![1u8..=2, 5u8..=7, 9u8..=10, 13u8..=255],
                        data in vec(any::<u8>(), 0..64)) {
        let r = match kind {
            0 => Icmpv4Repr::EchoRequest { ident: a, seq_no: b, data: &data },
            1 => Icmpv4Repr::EchoReply { ident: a, seq_no: b, data: &data },
            2 => Icmpv4Repr::DstUnreachable { code, next_hop_mtu: b, quoted: &data },
            3 => Icmpv4Repr::SourceQuench { quoted: &data },
            4 => Icmpv4Repr::TimeExceeded { code, quoted: &data },
            5 => Icmpv4Repr::ParamProblem { code, pointer: a as u8, quoted: &data },
            _ => Icmpv4Repr::Other { msg_type: other_type, code, rest: [a as u8, (a >> 8) as u8, b as u8, 7], data: &data },
        };
        let mut buf = vec![0u8; r.buffer_len()];
        r.emit(&mut buf, ChecksumMode::Verify).unwrap();
        let back = Icmpv4Repr::parse(&Icmpv4Packet::new_checked(&buf[..]).unwrap(), ChecksumMode::Verify).unwrap();
        prop_assert_eq!(back, r);
    }

    #[test]
    fn icmpv6_roundtrip(kind in 0u8..10, code in any::<u8>(), a in any::<u16>(), b in any::<u32>(),
                        target in any::<u128>(), src in any::<u128>(), dst in any::<u128>(),
                        other_type in prop_oneof![5u8..=127, 130u8..=132, 134u8..=134, 137u8..=255],
                        data in vec(any::<u8>(), 0..64)) {
        let target = Ipv6Addr::from(target);
        let r = match kind {
            0 => Icmpv6Repr::EchoRequest { ident: a, seq_no: b as u16, data: &data },
            1 => Icmpv6Repr::EchoReply { ident: a, seq_no: b as u16, data: &data },
            2 => Icmpv6Repr::DstUnreachable { code, quoted: &data },
            3 => Icmpv6Repr::PacketTooBig { mtu: b, quoted: &data },
            4 => Icmpv6Repr::TimeExceeded { code, quoted: &data },
            5 => Icmpv6Repr::ParamProblem { code, pointer: b, quoted: &data },
            6 => Icmpv6Repr::RouterSolicit { options: &data },
            7 => Icmpv6Repr::NeighborSolicit { target, options: &data },
            8 => Icmpv6Repr::NeighborAdvert { flags: a as u8 & 0xe0, target, options: &data },
            _ => Icmpv6Repr::Other { msg_type: other_type, code, rest: b.to_be_bytes(), data: &data },
        };
        let (s, d) = (Ipv6Addr::from(src), Ipv6Addr::from(dst));
        let mut buf = vec![0u8; r.buffer_len()];
        r.emit(&mut buf, s, d, ChecksumMode::Verify).unwrap();
        let back = Icmpv6Repr::parse(&Icmpv6Packet::new_checked(&buf[..]).unwrap(), s, d, ChecksumMode::Verify).unwrap();
        prop_assert_eq!(back, r);
    }

    #[test]
    fn ethernet_and_arp_roundtrip(a in any::<[u8; 6]>(), b in any::<[u8; 6]>(), et in any::<u16>(),
                                  op in any::<u16>(), ip1 in any::<u32>(), ip2 in any::<u32>()) {
        let e = EthernetRepr { src_addr: EthernetAddress(a), dst_addr: EthernetAddress(b), ethertype: EtherType(et) };
        let mut buf = [0u8; 14];
        e.emit(&mut buf).unwrap();
        prop_assert_eq!(EthernetRepr::parse(&EthernetFrame::new_checked(&buf[..]).unwrap()).unwrap(), e);
        let r = ArpRepr {
            operation: ArpOperation::from_code(op), source_hardware_addr: EthernetAddress(a),
            source_protocol_addr: ip1.into(), target_hardware_addr: EthernetAddress(b),
            target_protocol_addr: ip2.into(),
        };
        let mut buf = [0u8; 28];
        r.emit(&mut buf).unwrap();
        prop_assert_eq!(ArpRepr::parse(&ArpPacket::new_checked(&buf[..]).unwrap()).unwrap(), r);
    }

    #[test]
    fn fast_checksum_equals_naive(data in vec(any::<u8>(), 0..3000), split in 0usize..3000) {
        prop_assert_eq!(checksum::checksum(&data), checksum::naive_checksum(&data));
        // Partial sums combine when the first piece has even length.
        let cut = (split.min(data.len())) & !1;
        let combined = checksum::finish(checksum::sum(&data[..cut]) + checksum::sum(&data[cut..]));
        prop_assert_eq!(combined, checksum::naive_checksum(&data));
    }

    #[test]
    fn copy_and_sum_equals_copy_then_sum(
        data in vec(any::<u8>(), 0..3000),
        src_off in 0usize..16,
        dst_off in 0usize..16,
        slack in 0usize..16,
    ) {
        // Every alignment of source and destination, any length (odd ones included), and a
        // destination longer than the source (only the first `len` bytes are written).
        let src = &data[src_off.min(data.len())..];
        let mut dst = vec![0xEEu8; dst_off + src.len() + slack];
        let s = checksum::copy_and_sum(&mut dst[dst_off..], src).unwrap();
        prop_assert_eq!(s, checksum::sum(src));
        prop_assert_eq!(&dst[dst_off..dst_off + src.len()], src);
        prop_assert!(dst[..dst_off].iter().all(|&b| b == 0xEE));
        prop_assert!(dst[dst_off + src.len()..].iter().all(|&b| b == 0xEE));
        prop_assert_eq!(checksum::finish(s), checksum::naive_checksum(src));
    }

    #[test]
    fn copy_and_sum_of_a_wrapping_ring_combines(
        data in vec(any::<u8>(), 1..3000),
        head in 0usize..3000,
        len in 0usize..3000,
    ) {
        // A ring read from `head` for `len` bytes comes out as two pieces (the tail of the
        // storage, then its start); the second piece starts at an odd offset whenever the
        // first has odd length, so its sum goes through `at_odd_offset`.
        let head = head % data.len();
        let len = len.min(data.len());
        let first = (data.len() - head).min(len);
        let (a, b) = (&data[head..head + first], &data[..len - first]);
        let mut out = vec![0u8; len];
        let sa = checksum::copy_and_sum(&mut out[..first], a).unwrap();
        let sb = checksum::copy_and_sum(&mut out[first..], b).unwrap();
        let total = if first % 2 == 1 { sa + checksum::at_odd_offset(sb) } else { sa + sb };
        let mut expect = a.to_vec();
        expect.extend_from_slice(b);
        prop_assert_eq!(&out, &expect);
        prop_assert_eq!(checksum::finish(total), checksum::naive_checksum(&expect));
    }

    #[test]
    fn copy_and_sum_refuses_a_short_destination(src in vec(any::<u8>(), 1..200), short in 1usize..200) {
        let short = short.min(src.len());
        let mut dst = vec![0u8; src.len() - short];
        prop_assert!(checksum::copy_and_sum(&mut dst, &src).is_err());
        prop_assert!(dst.iter().all(|&b| b == 0));
    }

    #[test]
    fn option_iterator_always_ends(bytes in prop_oneof![
        vec(any::<u8>(), 0..64),
        vec(wire_option(), 0..8).prop_map(|v| v.concat()),
    ]) {
        // At most one item per byte, and never a panic, whatever the bytes.
        prop_assert!(TcpOptionIter::new(&bytes).count() <= bytes.len());
        // collect() applies the iterator's rules: same first error, same values.
        let mut folded = TcpOptions::default();
        let mut err = None;
        for o in TcpOptionIter::new(&bytes) {
            match o {
                Ok(TcpOption::Mss(v)) => folded.mss = Some(v),
                Ok(TcpOption::WindowScale(v)) => folded.window_scale = Some(v),
                Ok(TcpOption::SackPermitted) => folded.sack_permitted = true,
                Ok(TcpOption::Sack(b)) => folded.sack = b,
                Ok(TcpOption::Timestamps(t)) => folded.timestamps = Some(t),
                Ok(TcpOption::FastOpen(c)) => folded.fast_open = Some(c),
                Ok(TcpOption::AccEcn(a)) => folded.accecn = Some(a),
                Ok(TcpOption::Unknown { kind: 19, data }) => {
                    if let Ok(d) = <[u8; 16]>::try_from(data) {
                        folded.md5 = Some(d);
                    }
                }
                Ok(_) => {}
                Err(e) => err = Some(e),
            }
        }
        match err {
            Some(e) => prop_assert_eq!(options::collect(&bytes), Err(e)),
            None => prop_assert_eq!(options::collect(&bytes), Ok(folded)),
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..200)) {
        synack_wire::fuzz::parse_any(&bytes);
        synack_wire::fuzz::tcp(&bytes);
        synack_wire::fuzz::ipv4(&bytes);
        synack_wire::fuzz::ipv6(&bytes);
        synack_wire::fuzz::icmpv4(&bytes);
        synack_wire::fuzz::icmpv6(&bytes);
        synack_wire::fuzz::udp(&bytes);
        synack_wire::fuzz::ethernet(&bytes);
        synack_wire::fuzz::arp(&bytes);
    }

    #[test]
    fn tcp_header_with_random_options_never_panics(opts in vec(any::<u8>(), 0..=40), off in 0u8..16) {
        let mut seg = vec![0u8; 20];
        seg[12] = off << 4;
        seg.extend(&opts);
        synack_wire::fuzz::tcp(&seg);
        if let Ok(p) = TcpPacket::new_checked(&seg[..]) {
            let items: Vec<_> = p.options().collect();
            prop_assert!(items.len() <= p.options_bytes().len());
            let _ = items.iter().filter(|o| matches!(o, Ok(TcpOption::Unknown { .. }))).count();
        }
    }
}
