//! Malformed and edge-case input: every kind of bad length gets its typed error, truncation
//! at every byte offset is an error and never a panic, odd lengths checksum right, and emit
//! refuses what cannot be written. Also the exact option layouts Linux uses.

mod common;

use common::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use synack_wire::checksum::{self, ChecksumMode};
use synack_wire::ipv6;
use synack_wire::tcp::options::TcpOptionIter;
use synack_wire::tcp::{SackBlock, TcpFlags, TcpOption, TcpOptions, Timestamps};
use synack_wire::udp::{UdpPacket, UdpRepr};
use synack_wire::{
    Error, IpPacketRepr, IpProtocol, Ipv4Packet, Ipv6Packet, Layer, SeqNum, TcpPacket, TcpRepr,
};

const A: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
const B: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));

/// A 20-byte TCP header with the given data offset, followed by `opts`.
fn segment(data_offset: u8, opts: &[u8]) -> Vec<u8> {
    let mut s = vec![0u8; 20];
    s[0..2].copy_from_slice(&1234u16.to_be_bytes());
    s[2..4].copy_from_slice(&80u16.to_be_bytes());
    s[12] = data_offset << 4;
    s[13] = 0x02;
    s.extend_from_slice(opts);
    s
}

#[test]
fn data_offsets_below_five_are_bad_header_lengths() {
    for off in 0..5u8 {
        let s = segment(off, &[0; 40]);
        assert_eq!(
            TcpPacket::new_checked(&s[..]).err(),
            Some(Error::BadHeaderLen { layer: Layer::Tcp, len: off as usize * 4 }),
            "data offset {off}"
        );
    }
}

#[test]
fn data_offset_past_the_buffer_is_truncation() {
    for off in 6..16u8 {
        let s = segment(off, &vec![1; off as usize * 4 - 24]);
        assert_eq!(
            TcpPacket::new_checked(&s[..]).err(),
            Some(Error::Truncated { layer: Layer::Tcp })
        );
        let ok = segment(off, &vec![1; off as usize * 4 - 20]);
        assert!(TcpPacket::new_checked(&ok[..]).is_ok());
    }
    assert_eq!(
        TcpPacket::new_checked(&[0u8; 19][..]).err(),
        Some(Error::Truncated { layer: Layer::Tcp })
    );
}

fn parse_err(opts: &[u8]) -> Option<Error> {
    let s = segment(5 + opts.len() as u8 / 4, opts);
    TcpRepr::parse_bytes(&s, A, B, ChecksumMode::Skip).err()
}

#[test]
fn option_lengths_zero_one_and_past_the_header() {
    // Length 0 and 1 would make a naive loop stand still or step inside the option.
    assert_eq!(parse_err(&[2, 0, 0, 0]), Some(Error::BadOptionLen { kind: 2, len: 0 }));
    assert_eq!(parse_err(&[2, 1, 0, 0]), Some(Error::BadOptionLen { kind: 2, len: 1 }));
    assert_eq!(parse_err(&[99, 0, 0, 0]), Some(Error::BadOptionLen { kind: 99, len: 0 }));
    assert_eq!(parse_err(&[99, 1, 1, 1]), Some(Error::BadOptionLen { kind: 99, len: 1 }));
    // Past the header: the option claims more bytes than the option area has.
    assert_eq!(
        parse_err(&[1, 1, 8, 10, 0, 0, 0, 0]),
        Some(Error::BadOptionLen { kind: 8, len: 10 })
    );
    assert_eq!(parse_err(&[99, 40, 0, 0]), Some(Error::BadOptionLen { kind: 99, len: 40 }));
    // The kind is the last byte: no room for its length byte.
    assert_eq!(parse_err(&[1, 1, 1, 2]), Some(Error::BadOptionLen { kind: 2, len: 0 }));
    // Known kinds with the wrong length for their kind.
    assert_eq!(parse_err(&[2, 3, 0, 1]), Some(Error::BadOptionLen { kind: 2, len: 3 }));
    assert_eq!(parse_err(&[3, 4, 0, 0]), Some(Error::BadOptionLen { kind: 3, len: 4 }));
    assert_eq!(parse_err(&[4, 3, 0, 1]), Some(Error::BadOptionLen { kind: 4, len: 3 }));
    assert_eq!(parse_err(&[5, 6, 0, 0, 0, 0, 0, 0]), Some(Error::BadOptionLen { kind: 5, len: 6 }));
    assert_eq!(parse_err(&[8, 8, 0, 0, 0, 0, 0, 0]), Some(Error::BadOptionLen { kind: 8, len: 8 }));
    // A Fast Open option of a length that makes no valid cookie is kept, not an error: the
    // reference stacks ignore the cookie and process the segment.
    assert_eq!(parse_err(&[34, 3, 0, 1]), None);
    // The iterator yields the error once, then stops.
    let items: Vec<_> = TcpOptionIter::new(&[1, 2, 0, 1, 1]).collect();
    assert_eq!(items, [Ok(TcpOption::NoOperation), Err(Error::BadOptionLen { kind: 2, len: 0 })]);
}

#[test]
fn eol_ends_the_list_and_nops_step_one_byte() {
    let items: Vec<_> = TcpOptionIter::new(&[1; 40]).collect();
    assert_eq!(items.len(), 40);
    let items: Vec<_> = TcpOptionIter::new(&[1, 0, 2, 0]).collect();
    assert_eq!(items, [Ok(TcpOption::NoOperation), Ok(TcpOption::EndOfList)]);
    // Unknown options keep kind and data.
    let items: Vec<_> = TcpOptionIter::new(&[200, 4, 7, 9]).collect();
    assert_eq!(items, [Ok(TcpOption::Unknown { kind: 200, data: &[7, 9] })]);
}

#[test]
fn truncation_at_every_byte_offset_of_every_golden_packet() {
    for cap in CAPTURES {
        for (i, f) in frames(cap).iter().enumerate() {
            let Some(ip) = ip_of(f) else { continue };
            for cut in 0..ip.len() {
                let r = IpPacketRepr::parse(&ip[..cut], ChecksumMode::Verify);
                // An empty buffer has no version nibble; it reports IPv4.
                let want = if ip[0] >> 4 == 4 || cut == 0 { Layer::Ipv4 } else { Layer::Ipv6 };
                assert_eq!(r.err(), Some(Error::Truncated { layer: want }), "{cap} {i} cut {cut}");
                // Lenient parsing of each layer on its own must not panic either.
                synack_wire::fuzz::parse_any(&ip[..cut]);
            }
            // The transport layer alone, cut anywhere, never panics and never succeeds with
            // a verified checksum unless whole.
            let p = IpPacketRepr::parse(ip, ChecksumMode::Verify).unwrap();
            if let synack_wire::Transport::Tcp(t) = p.transport {
                let hl = t.header_len();
                let seg = &ip[ip.len() - hl - t.payload.len()..];
                for cut in 0..seg.len() {
                    let r = TcpRepr::parse_bytes(
                        &seg[..cut],
                        p.src_addr(),
                        p.dst_addr(),
                        ChecksumMode::Skip,
                    );
                    assert_eq!(r.is_ok(), cut >= hl, "{cap} {i} tcp cut {cut}");
                }
            }
        }
    }
}

#[test]
fn ipv4_header_errors() {
    let good: Vec<u8> = {
        let mut v = vec![0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
        v.resize(40, 0);
        v
    };
    assert!(Ipv4Packet::new_checked(&good[..]).is_ok());
    let mut v = good.clone();
    v[0] = 0x55;
    assert_eq!(
        Ipv4Packet::new_checked(&v[..]).err(),
        Some(Error::UnsupportedVersion { layer: Layer::Ipv4, version: 5 })
    );
    for ihl in 0..5u8 {
        let mut v = good.clone();
        v[0] = 0x40 | ihl;
        assert_eq!(
            Ipv4Packet::new_checked(&v[..]).err(),
            Some(Error::BadHeaderLen { layer: Layer::Ipv4, len: ihl as usize * 4 })
        );
    }
    let mut v = good.clone();
    v[0] = 0x4f;
    assert_eq!(
        Ipv4Packet::new_checked(&v[..]).err(),
        Some(Error::Truncated { layer: Layer::Ipv4 })
    );
    let mut v = good.clone();
    v[3] = 19;
    assert_eq!(
        Ipv4Packet::new_checked(&v[..]).err(),
        Some(Error::BadTotalLen { layer: Layer::Ipv4, len: 19 })
    );
    let mut v = good.clone();
    v[3] = 41;
    assert_eq!(
        Ipv4Packet::new_checked(&v[..]).err(),
        Some(Error::Truncated { layer: Layer::Ipv4 })
    );
    // Link-layer padding after the total length is not payload.
    let mut v = good.clone();
    v.extend([0xee; 6]);
    assert_eq!(Ipv4Packet::new_checked(&v[..]).unwrap().payload().len(), 20);
    // Fragments are reported.
    let mut v = good.clone();
    v[6] = 0x20;
    v[7] = 0x03;
    let p = Ipv4Packet::new_checked(&v[..]).unwrap();
    assert!(p.more_frags() && !p.dont_frag() && p.is_fragment());
    assert_eq!((p.frag_offset(), p.frag_offset_bytes()), (3, 24));
    // A bad header checksum is caught in Verify mode only.
    let r = IpPacketRepr::parse(&good, ChecksumMode::Verify);
    assert_eq!(r.err(), Some(Error::BadChecksum { layer: Layer::Ipv4 }));
}

fn v6_with_chain(first: u8, chain: &[u8]) -> Vec<u8> {
    let mut v = vec![0u8; 40];
    v[0] = 0x60;
    v[4..6].copy_from_slice(&(chain.len() as u16).to_be_bytes());
    v[6] = first;
    v.extend_from_slice(chain);
    v
}

#[test]
fn ipv6_extension_chain_is_walked_with_a_bound() {
    // hop-by-hop (8 bytes) -> destination options (16 bytes) -> fragment -> TCP
    let mut chain = vec![60, 0, 1, 4, 0, 0, 0, 0];
    chain.extend([44, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    chain.extend([6, 0, 0x00, 0x08 | 1, 0, 0, 0x12, 0x34]);
    let v = v6_with_chain(0, &chain);
    let up = Ipv6Packet::new_checked(&v[..]).unwrap().upper_layer().unwrap();
    assert_eq!((up.protocol, up.offset, up.ext_headers), (IpProtocol::TCP, 32, 3));
    let f = up.fragment.unwrap();
    assert_eq!((f.offset, f.more_frags, f.ident), (1, true, 0x1234));
    // Too many headers.
    let many: Vec<u8> =
        (0..=ipv6::MAX_EXT_HEADERS).flat_map(|_| [60, 0, 1, 4, 0, 0, 0, 0]).collect();
    let v = v6_with_chain(60, &many);
    assert_eq!(
        Ipv6Packet::new_checked(&v[..]).unwrap().upper_layer().err(),
        Some(Error::BadExtHeaderChain)
    );
    // Hop-by-hop anywhere but first.
    let v = v6_with_chain(60, &[0, 0, 1, 4, 0, 0, 0, 0, 59, 0, 1, 4, 0, 0, 0, 0]);
    assert_eq!(
        Ipv6Packet::new_checked(&v[..]).unwrap().upper_layer().err(),
        Some(Error::BadExtHeaderChain)
    );
    // A header longer than what is left.
    let v = v6_with_chain(60, &[6, 1, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        Ipv6Packet::new_checked(&v[..]).unwrap().upper_layer().err(),
        Some(Error::Truncated { layer: Layer::Ipv6Ext })
    );
    // AH counts 4-byte words minus two.
    let v = v6_with_chain(51, &[17, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    let up = Ipv6Packet::new_checked(&v[..]).unwrap().upper_layer().unwrap();
    assert_eq!((up.protocol, up.offset), (IpProtocol::UDP, 12));
    let mut v = v6_with_chain(6, &[]);
    v[0] = 0x40;
    assert_eq!(
        Ipv6Packet::new_checked(&v[..]).err(),
        Some(Error::UnsupportedVersion { layer: Layer::Ipv6, version: 4 })
    );
}

#[test]
fn udp_length_and_checksum_rules() {
    let mut d = [0, 1, 0, 2, 0, 7, 0, 0];
    assert_eq!(
        UdpPacket::new_checked(&d[..]).err(),
        Some(Error::BadTotalLen { layer: Layer::Udp, len: 7 })
    );
    d[5] = 9;
    assert_eq!(UdpPacket::new_checked(&d[..]).err(), Some(Error::Truncated { layer: Layer::Udp }));
    d[5] = 8;
    let p = UdpPacket::new_checked(&d[..]).unwrap();
    // Zero checksum: "none" over IPv4, invalid over IPv6.
    assert!(UdpRepr::parse(&p, A, B, ChecksumMode::Verify).is_ok());
    let (a6, b6) = (IpAddr::V6(Ipv6Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::UNSPECIFIED));
    assert_eq!(
        UdpRepr::parse(&p, a6, b6, ChecksumMode::Verify).err(),
        Some(Error::BadChecksum { layer: Layer::Udp })
    );
}

#[test]
fn checksums_over_odd_payload_lengths() {
    for len in [1usize, 3, 5, 13, 255, 1001] {
        let payload: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
        let r = TcpRepr {
            src_port: 1,
            dst_port: 2,
            seq: SeqNum(3),
            ack: SeqNum(4),
            flags: TcpFlags::ACK | TcpFlags::PSH,
            window: 5,
            urgent: 0,
            options: TcpOptions::default(),
            raw_options: None,
            payload: &payload,
        };
        let mut seg = vec![0u8; r.buffer_len()];
        r.emit(&mut seg, A, B, ChecksumMode::Verify).unwrap();
        // Check with the naive checksum over an explicit pseudo-header: the total must be 0.
        let mut all = vec![10, 0, 0, 1, 10, 0, 0, 2, 0, 6];
        all.extend((seg.len() as u16).to_be_bytes());
        all.extend(&seg);
        assert_eq!(checksum::naive_checksum(&all), 0, "payload length {len}");
        assert!(TcpPacket::new_checked(&seg[..]).unwrap().verify_checksum(A, B).unwrap());
        // Any flipped bit is caught.
        let last = seg.len() - 1;
        seg[last] ^= 0x01;
        assert_eq!(
            TcpRepr::parse_bytes(&seg, A, B, ChecksumMode::Verify).err(),
            Some(Error::BadChecksum { layer: Layer::Tcp })
        );
        assert!(TcpRepr::parse_bytes(&seg, A, B, ChecksumMode::Skip).is_ok());
    }
}

fn repr(options: TcpOptions, flags: TcpFlags) -> TcpRepr<'static> {
    TcpRepr {
        src_port: 1,
        dst_port: 2,
        seq: SeqNum(100),
        ack: SeqNum(200),
        flags,
        window: 1000,
        urgent: 0,
        options,
        raw_options: None,
        payload: &[],
    }
}

fn option_bytes(r: &TcpRepr<'_>) -> Vec<u8> {
    let mut b = vec![0u8; r.buffer_len()];
    r.emit(&mut b, A, B, ChecksumMode::Skip).unwrap();
    b[20..r.header_len()].to_vec()
}

#[test]
fn options_are_laid_out_as_linux_does() {
    let ts = Some(Timestamps { tsval: 0x01020304, tsecr: 0x05060708 });
    // SYN with everything: mss, sackOK, TS, nop, wscale.
    let syn = TcpOptions {
        mss: Some(1460),
        window_scale: Some(7),
        sack_permitted: true,
        timestamps: ts,
        ..Default::default()
    };
    assert_eq!(
        option_bytes(&repr(syn, TcpFlags::SYN)),
        [2, 4, 5, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 3, 3, 7]
    );
    // Without timestamps: mss, nop, nop, sackOK, nop, wscale.
    let syn = TcpOptions { timestamps: None, ..syn };
    assert_eq!(option_bytes(&repr(syn, TcpFlags::SYN)), [2, 4, 5, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7]);
    // Data: nop, nop, TS.
    let data = TcpOptions { timestamps: ts, ..Default::default() };
    assert_eq!(option_bytes(&repr(data, TcpFlags::ACK)), [1, 1, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8]);
    // With SACK: nop, nop, TS, nop, nop, sack.
    let mut sack = data;
    sack.sack.push(SackBlock { left: SeqNum(0x10), right: SeqNum(0x20) });
    assert_eq!(
        option_bytes(&repr(sack, TcpFlags::ACK)),
        [1, 1, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 1, 5, 10, 0, 0, 0, 0x10, 0, 0, 0, 0x20]
    );
}

#[test]
fn emit_refuses_what_cannot_be_written() {
    let mut o = TcpOptions { timestamps: Some(Timestamps::default()), ..Default::default() };
    for i in 0..4 {
        o.sack.push(SackBlock { left: SeqNum(i), right: SeqNum(i + 1) });
    }
    let r = repr(o, TcpFlags::ACK);
    let mut buf = [0u8; 100];
    assert_eq!(
        r.emit(&mut buf, A, B, ChecksumMode::Verify),
        Err(Error::OptionsTooLong { len: 48 })
    );
    let r = repr(TcpOptions::default(), TcpFlags::ACK);
    assert_eq!(
        r.emit(&mut buf[..19], A, B, ChecksumMode::Verify),
        Err(Error::BufferTooSmall { layer: Layer::Tcp, needed: 20 })
    );
    let b6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
    assert_eq!(r.emit(&mut buf, A, b6, ChecksumMode::Verify), Err(Error::AddressFamilyMismatch));
    // Raw options longer than 40 bytes.
    let raw = [1u8; 41];
    let r = TcpRepr { raw_options: Some(&raw), ..r };
    assert_eq!(
        r.emit(&mut buf, A, B, ChecksumMode::Verify),
        Err(Error::OptionsTooLong { len: 44 })
    );
}

#[test]
fn errors_say_what_is_wrong() {
    assert_eq!(Error::Truncated { layer: Layer::Tcp }.to_string(), "truncated TCP packet");
    assert_eq!(
        Error::BadOptionLen { kind: 2, len: 0 }.to_string(),
        "bad TCP option length 0 for option kind 2"
    );
    assert_eq!(Error::BadChecksum { layer: Layer::Ipv4 }.to_string(), "bad IPv4 checksum");
}

#[test]
fn ipv4_options_are_skipped_to_reach_tcp() {
    // A Linux SYN from the golden capture, with a 4-byte IPv4 option (NOP, NOP, NOP, EOL)
    // inserted: IHL 6, total length +4, header checksum recomputed.
    let f = frames(CAPTURES[0]).swap_remove(10);
    let ip = ip_of(&f).unwrap();
    let mut v = Vec::new();
    v.extend_from_slice(&ip[..20]);
    v.extend_from_slice(&[1, 1, 1, 0]);
    v.extend_from_slice(&ip[20..]);
    v[0] = 0x46;
    v[2..4].copy_from_slice(&((ip.len() + 4) as u16).to_be_bytes());
    v[10..12].copy_from_slice(&[0, 0]);
    let c = checksum::checksum(&v[..24]);
    v[10..12].copy_from_slice(&c.to_be_bytes());
    let p = IpPacketRepr::parse(&v, ChecksumMode::Verify).unwrap();
    let synack_wire::IpHeader::V4 { repr, options } = p.ip else { panic!("not IPv4") };
    assert_eq!((options, repr.payload_len), (&[1u8, 1, 1, 0][..], ip.len() - 20));
    let synack_wire::Transport::Tcp(t) = p.transport else { panic!("not TCP") };
    assert_eq!((t.src_port, t.flags), (56648, TcpFlags::SYN));
    let view = Ipv4Packet::new_checked(&v[..]).unwrap();
    assert_eq!((view.header_len(), view.options_bytes()), (24, &[1u8, 1, 1, 0][..]));
}
