//! Super-segments for a device that cuts them (`Endpoint::set_output_segment_max`): new data
//! leaves in whole-MSS groups within the congestion and peer windows, the receiver sees the
//! same bytes as from MSS-at-a-time sending once the groups are cut, and without the setting
//! nothing exceeds one MSS.

use std::net::SocketAddr;

use synack_tcp::{ConnConfig, Duration, Endpoint, EndpointConfig, Instant, State};
use synack_wire::tcp::TcpFlags;

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("address")
}

/// What A sent: (payload length, segment size, flags).
type Sent = Vec<(usize, usize, TcpFlags)>;

/// Moves `data` from A to B over a lossless 5 ms path, A grouping new data up to `max`
/// bytes; B gets A's super-segments cut into `segment_size` pieces, as a device would.
/// Returns what B read and what A sent.
fn transfer(data: &[u8], max: usize) -> (Vec<u8>, Sent) {
    let cfg = ConnConfig::default();
    let ec = EndpointConfig { conn: cfg, ..EndpointConfig::default() };
    let mut a = Endpoint::new(ec, [1; 16], 1);
    let mut b = Endpoint::new(ec, [2; 16], 2);
    a.set_output_segment_max(max);
    let mut now = Instant::from_secs(1);
    let delay = Duration::from_millis(5);
    let l = b.listen(addr("10.0.0.2:80"), 4).expect("listen");
    let ca = a.connect(now, addr("10.0.0.1:0"), addr("10.0.0.2:80"), cfg).expect("connect");
    let mut cb = None;
    let mut sent = Vec::new();
    let mut got = Vec::new();
    let mut queued = 0;
    let mut wire: Vec<(Instant, bool, Vec<u8>, synack_tcp::Transmit)> = Vec::new();
    let mut buf = vec![0u8; 70_000];
    for _ in 0..200_000 {
        if a.state(ca) == Ok(State::Established) && queued < data.len() {
            // A full send buffer refuses with WouldBlock until ACKs free room.
            queued += a.send(ca, &data[queued..]).unwrap_or(0);
            if queued == data.len() {
                a.close(ca).expect("close");
            }
        }
        while let Some(t) = a.poll_transmit(now, &mut buf) {
            sent.push((t.len - t.header_len, t.segment_size, t.flags));
            wire.push((now + delay, true, buf[..t.len].to_vec(), t));
        }
        while let Some(t) = b.poll_transmit(now, &mut buf[..2000]) {
            assert_eq!(t.segment_size, 0, "B was not asked to group");
            wire.push((now + delay, false, buf[..t.len].to_vec(), t));
        }
        if cb.is_none() {
            cb = b.accept(l);
        }
        if let Some(c) = cb {
            let mut r = [0u8; 65536];
            while let Ok(n) = b.recv(c, &mut r) {
                if n == 0 {
                    return (got, sent);
                }
                got.extend_from_slice(&r[..n]);
            }
        }
        let next_seg = wire.iter().map(|w| w.0).min();
        let next_timer = [a.poll_timeout(), b.poll_timeout()].into_iter().flatten().min();
        let Some(next) = [next_seg, next_timer].into_iter().flatten().min() else { break };
        now = now.max(next);
        let (due, rest): (Vec<_>, Vec<_>) = wire.into_iter().partition(|w| w.0 <= now);
        wire = rest;
        for (_, to_b, bytes, t) in due {
            let whole = t.repr(&bytes);
            if !to_b {
                a.on_segment(now, t.src.ip(), t.dst.ip(), &whole);
                continue;
            }
            let size = if t.segment_size > 0 { t.segment_size } else { whole.payload.len() };
            let pieces = whole.payload.chunks(size.max(1)).count().max(1);
            for i in 0..pieces {
                let lo = (i * size).min(whole.payload.len());
                let hi = ((i + 1) * size).min(whole.payload.len());
                let mut flags = whole.flags;
                if i + 1 < pieces {
                    flags = flags.without(TcpFlags::FIN).without(TcpFlags::PSH);
                }
                let piece = synack_wire::TcpRepr {
                    seq: whole.seq + lo as u32,
                    flags,
                    payload: &whole.payload[lo..hi],
                    ..whole
                };
                b.on_segment(now, t.src.ip(), t.dst.ip(), &piece);
            }
        }
        a.on_timeout(now);
        b.on_timeout(now);
    }
    panic!("transfer did not finish: {} of {} bytes", got.len(), data.len());
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

#[test]
fn new_data_leaves_in_whole_mss_groups_and_arrives_intact() {
    let data = pattern(3_000_000 + 777);
    let (got, sent) = transfer(&data, 64_000);
    assert!(got == data, "B read {} bytes, not the {} sent", got.len(), data.len());
    let grouped: Vec<_> = sent.iter().filter(|s| s.1 > 0).collect();
    assert!(!grouped.is_empty(), "no super-segment was sent");
    let mss = grouped[0].1;
    let mut biggest = 0;
    for &&(len, size, flags) in &grouped {
        assert_eq!(size, mss, "one segment size per connection");
        assert!(len > size && len <= 64_000, "{len} bytes in a group of {size}");
        // Whole MSS multiples, but for the group that carries the last bytes (with FIN).
        assert!(len % size == 0 || flags.fin(), "{len} is not a multiple of {size}");
        biggest = biggest.max(len);
    }
    // The first flight is the initial window (10 segments), whatever the grouping.
    let first_data = sent.iter().find(|s| s.0 > 0).expect("data");
    assert!(first_data.0 <= 10 * mss, "first flight {} above the initial window", first_data.0);
    assert!(biggest > 10 * mss, "groups never grew past the initial window: {biggest}");
}

#[test]
fn without_the_setting_no_segment_exceeds_one_mss() {
    let data = pattern(500_000);
    let (got, sent) = transfer(&data, 0);
    assert!(got == data);
    let mss = sent.iter().map(|s| s.0).max().expect("sent");
    assert!(sent.iter().all(|s| s.1 == 0));
    assert!(mss <= 1460, "{mss}");
}
