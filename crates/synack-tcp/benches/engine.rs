//! Engine hot-path benchmarks: two endpoints back to back in memory, no loss, virtual clock.
//!
//! * `bulk_transfer_4MiB`: one connection moves 4 MiB A -> B (segments emitted into a buffer,
//!   parsed back by synack-wire with checksum verification, fed to the peer): the cost per byte
//!   of the engine plus the wire crate.
//! * `handshake_and_close`: connect, accept, four-way close, TIME-WAIT expiry, per connection.
//! * `demux_10k_connections`: segment delivery to one of 10 000 established connections (the
//!   4-tuple hash lookup and ACK processing).
//!
//! Run: `cargo bench -p synack-tcp --bench engine`.

use std::hint::black_box;
use std::net::SocketAddr;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use synack_tcp::{ConnConfig, ConnId, Duration, Endpoint, EndpointConfig, Instant};
use synack_wire::ChecksumMode;
use synack_wire::tcp::TcpRepr;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Moves every pending segment from `from` to `to`; returns how many.
fn shuttle(from: &mut Endpoint, to: &mut Endpoint, now: Instant, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while let Some(t) = from.poll_transmit(now, buf) {
        let repr =
            TcpRepr::parse_bytes(&buf[..t.len], t.src.ip(), t.dst.ip(), ChecksumMode::Verify)
                .unwrap();
        to.on_segment(now, t.src.ip(), t.dst.ip(), &repr);
        n += 1;
    }
    n
}

fn pair(cfg: ConnConfig) -> (Endpoint, Endpoint, ConnId, ConnId, Instant) {
    let ec = EndpointConfig { conn: cfg, ..EndpointConfig::default() };
    let mut a = Endpoint::new(ec, [1; 16], 1);
    let mut b = Endpoint::new(ec, [2; 16], 2);
    let l = b.listen(addr("10.0.0.2:80"), 1024).unwrap();
    let now = Instant::from_secs(1);
    let ca = a.connect(now, addr("10.0.0.1:0"), addr("10.0.0.2:80"), cfg).unwrap();
    let mut buf = vec![0u8; 2048];
    for _ in 0..3 {
        shuttle(&mut a, &mut b, now, &mut buf);
        shuttle(&mut b, &mut a, now, &mut buf);
    }
    let cb = b.accept(l).unwrap();
    (a, b, ca, cb, now)
}

fn bulk(c: &mut Criterion) {
    const TOTAL: usize = 4 << 20;
    let cfg = ConnConfig { send_buffer: 1 << 20, recv_buffer: 1 << 20, ..ConnConfig::default() };
    let data = vec![0x5au8; 64 * 1024];
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Bytes(TOTAL as u64));
    g.sample_size(10);
    g.bench_function("bulk_transfer_4MiB", |bench| {
        bench.iter(|| {
            let (mut a, mut b, ca, cb, mut now) = pair(cfg);
            let mut buf = vec![0u8; 2048];
            let mut rbuf = vec![0u8; 256 * 1024];
            let (mut sent, mut got) = (0, 0);
            while got < TOTAL {
                while sent < TOTAL {
                    match a.send(ca, &data[..(TOTAL - sent).min(data.len())]) {
                        Ok(n) => sent += n,
                        Err(_) => break,
                    }
                }
                shuttle(&mut a, &mut b, now, &mut buf);
                while let Ok(n) = b.recv(cb, &mut rbuf) {
                    if n == 0 {
                        break;
                    }
                    got += n;
                }
                now += Duration::from_micros(100);
                b.on_timeout(now);
                shuttle(&mut b, &mut a, now, &mut buf);
                a.on_timeout(now);
                while a.poll_event().is_some() {}
                while b.poll_event().is_some() {}
            }
            black_box(got)
        })
    });
    g.finish();
}

fn handshake(c: &mut Criterion) {
    let cfg = ConnConfig::default();
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(1));
    g.bench_function("handshake_and_close", |bench| {
        bench.iter(|| {
            let (mut a, mut b, ca, cb, now) = pair(cfg);
            let mut buf = vec![0u8; 2048];
            a.close(ca).unwrap();
            shuttle(&mut a, &mut b, now, &mut buf);
            b.close(cb).unwrap();
            shuttle(&mut b, &mut a, now, &mut buf);
            shuttle(&mut a, &mut b, now, &mut buf);
            a.on_timeout(now + Duration::from_secs(300));
            black_box(a.connection_count() + b.connection_count())
        })
    });
    g.finish();
}

fn demux(c: &mut Criterion) {
    const N: u16 = 10_000;
    let cfg = ConnConfig { nodelay: true, ..ConnConfig::default() };
    let ec = EndpointConfig { conn: cfg, ..EndpointConfig::default() };
    let mut a = Endpoint::new(ec, [1; 16], 1);
    let mut b = Endpoint::new(ec, [2; 16], 2);
    let l = b.listen(addr("10.0.0.2:80"), N as usize).unwrap();
    let now = Instant::from_secs(1);
    let mut buf = vec![0u8; 2048];
    let mut conns = Vec::new();
    for p in 0..N {
        let local = SocketAddr::new(addr("10.0.0.1:1").ip(), 10_000 + p);
        conns.push(a.connect(now, local, addr("10.0.0.2:80"), cfg).unwrap());
        for _ in 0..2 {
            shuttle(&mut a, &mut b, now, &mut buf);
            shuttle(&mut b, &mut a, now, &mut buf);
        }
        b.accept(l).unwrap();
    }
    while a.poll_event().is_some() {}
    while b.poll_event().is_some() {}
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(1));
    let mut i = 0usize;
    let mut t = now;
    g.bench_function("demux_10k_connections_send_and_ack", |bench| {
        bench.iter(|| {
            let c = conns[i % conns.len()];
            i = i.wrapping_add(7919);
            t += Duration::from_micros(1);
            a.send(c, b"x").unwrap();
            shuttle(&mut a, &mut b, t, &mut buf);
            t += Duration::from_millis(50);
            b.on_timeout(t);
            shuttle(&mut b, &mut a, t, &mut buf);
            while b.poll_event().is_some() {}
        })
    });
    g.finish();
}

criterion_group!(benches, bulk, handshake, demux);
criterion_main!(benches);
