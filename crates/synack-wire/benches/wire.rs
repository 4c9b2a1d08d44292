//! Wire-layer throughput: Internet checksum (fast and naive; copy then sum against the fused
//! `copy_and_sum`) over 64 B, 1500 B and 64 KiB;
//! parsing an IPv4+TCP data segment (with checksum verification, as the stack does); emitting
//! one. Run: `cargo bench -p synack-wire --bench wire -- --warm-up-time 1 --measurement-time 2`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use synack_wire::checksum;
use synack_wire::tcp::{TcpFlags, TcpOptions, Timestamps};
use synack_wire::{ChecksumMode, IpProtocol, Ipv4Packet, Ipv4Repr, SeqNum, TcpPacket, TcpRepr};

const SRC: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const DST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

fn bench_checksum(c: &mut Criterion) {
    let mut g = c.benchmark_group("checksum");
    for size in [64usize, 1500, 65536] {
        let data: Vec<u8> = (0..size).map(|i| (i * 131 + 7) as u8).collect();
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_function(format!("fast/{size}"), |b| {
            b.iter(|| checksum::checksum(black_box(&data)))
        });
        g.bench_function(format!("naive/{size}"), |b| {
            b.iter(|| checksum::naive_checksum(black_box(&data)))
        });
        // The payload paths: copy then sum (two passes) against the fused `copy_and_sum`,
        // with the plain copy as the floor.
        let mut out = vec![0u8; size];
        g.bench_function(format!("copy/{size}"), |b| {
            b.iter(|| {
                out.copy_from_slice(black_box(&data));
                black_box(&mut out);
            })
        });
        g.bench_function(format!("copy-then-sum/{size}"), |b| {
            b.iter(|| {
                out.copy_from_slice(black_box(&data));
                checksum::sum(black_box(&out))
            })
        });
        g.bench_function(format!("copy-and-sum/{size}"), |b| {
            b.iter(|| checksum::copy_and_sum(&mut out, black_box(&data)).unwrap_or(0))
        });
    }
    g.finish();
}

/// An IPv4 packet carrying a TCP data segment with timestamps, like Linux sends.
fn segment(payload_len: usize) -> Vec<u8> {
    let payload: Vec<u8> = (0..payload_len).map(|i| i as u8).collect();
    let tcp = TcpRepr {
        src_port: 56648,
        dst_port: 5001,
        seq: SeqNum(1766753552),
        ack: SeqNum(707827034),
        flags: TcpFlags::ACK | TcpFlags::PSH,
        window: 63,
        urgent: 0,
        options: TcpOptions {
            timestamps: Some(Timestamps { tsval: 942313684, tsecr: 2620342695 }),
            ..Default::default()
        },
        raw_options: None,
        payload: &payload,
    };
    let ip = Ipv4Repr {
        src_addr: SRC,
        dst_addr: DST,
        protocol: IpProtocol::TCP,
        payload_len: tcp.buffer_len(),
        ttl: 64,
        tos: 0,
        ident: 6645,
        dont_frag: true,
        more_frags: false,
        frag_offset: 0,
    };
    let mut buf = vec![0u8; ip.buffer_len()];
    ip.emit(&mut buf, ChecksumMode::Verify).unwrap();
    tcp.emit(&mut buf[20..], SRC.into(), DST.into(), ChecksumMode::Verify).unwrap();
    buf
}

fn parse(bytes: &[u8]) -> (Ipv4Repr, TcpRepr<'_>) {
    let ip = Ipv4Packet::new_checked(bytes).unwrap();
    let ipr = Ipv4Repr::parse(&ip, ChecksumMode::Verify).unwrap();
    let payload = &bytes[ip.header_len()..ip.total_len() as usize];
    let tcp = TcpPacket::new_checked(payload).unwrap();
    let (s, d) = (IpAddr::V4(ipr.src_addr), IpAddr::V4(ipr.dst_addr));
    let r = TcpRepr::parse(&tcp, s, d, ChecksumMode::Verify).unwrap();
    (ipr, r)
}

fn bench_tcp(c: &mut Criterion) {
    let mut g = c.benchmark_group("ipv4+tcp");
    g.throughput(Throughput::Elements(1));
    for payload in [0usize, 1448] {
        let bytes = segment(payload);
        g.bench_function(format!("parse/{payload}B"), |b| b.iter(|| parse(black_box(&bytes))));
        g.bench_function(format!("parse-no-verify/{payload}B"), |b| {
            b.iter(|| {
                let ip = Ipv4Packet::new_checked(black_box(&bytes[..])).unwrap();
                let ipr = Ipv4Repr::parse(&ip, ChecksumMode::Skip).unwrap();
                TcpRepr::parse_bytes(&bytes[20..], SRC.into(), DST.into(), ChecksumMode::Skip)
                    .map(|t| (ipr, t))
                    .unwrap()
            })
        });
        let (ipr, tcp) = parse(&bytes);
        let mut out = vec![0u8; bytes.len()];
        g.bench_function(format!("emit/{payload}B"), |b| {
            b.iter(|| {
                ipr.emit(&mut out, ChecksumMode::Verify).unwrap();
                black_box(&tcp)
                    .emit(&mut out[20..], SRC.into(), DST.into(), ChecksumMode::Verify)
                    .unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_checksum, bench_tcp);
criterion_main!(benches);
