//! The fused receive path (`Endpoint::on_segment_unverified`): a payload summed while it is
//! copied into the receive ring is delivered exactly as a verified segment would be, and a
//! corrupt one is refused without a trace, in order or not, at every ring position.

mod script;
use script::*;
use synack_tcp::{ConnConfig, RecvError};
use synack_wire::tcp::TcpRepr;
use synack_wire::{ChecksumMode, IpProtocol, SeqNum, checksum};

fn pattern(n: usize, k: usize) -> Vec<u8> {
    (0..n).map(|i| ((i * 31 + k * 7) % 251) as u8).collect()
}

/// T's data segment `seq` carrying `data`, as wire bytes with a correct checksum.
fn wire(s: &Script, seq: u32, data: &[u8]) -> Vec<u8> {
    let repr = TcpRepr {
        src_port: s.remote.port(),
        dst_port: s.local.port(),
        seq: SeqNum(seq),
        ack: SeqNum(ISS + 1),
        flags: PA,
        window: 65535,
        urgent: 0,
        options: Default::default(),
        raw_options: None,
        payload: data,
    };
    let mut buf = vec![0u8; repr.buffer_len()];
    let n = repr.emit(&mut buf, s.remote.ip(), s.local.ip(), ChecksumMode::Verify).unwrap();
    buf.truncate(n);
    buf
}

/// Hands `bytes` to the endpoint as an interface does: header parsed and summed, the payload
/// left to `on_segment_unverified`. Returns what it returned and whether `input` ran.
fn offer(s: &mut Script, bytes: &[u8]) -> (bool, bool) {
    let (src, dst) = (s.remote.ip(), s.local.ip());
    let seg = TcpRepr::parse_bytes(bytes, src, dst, ChecksumMode::Skip).unwrap();
    let header = &bytes[..bytes.len() - seg.payload.len()];
    let partial = checksum::pseudo_header(src, dst, IpProtocol::TCP, bytes.len() as u32).unwrap()
        + checksum::sum(header);
    let now = s.now;
    let mut ran = false;
    let ok = s.ep.on_segment_unverified(src, dst, &seg, partial, |ep| {
        ran = true;
        ep.on_segment(now, src, dst, &seg);
    });
    s.drain_events();
    (ok, ran)
}

fn read_all(s: &mut Script) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.ep.recv(s.id(), &mut buf) {
            Ok(0) | Err(RecvError::WouldBlock) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => panic!("recv: {e:?}"),
        }
    }
}

/// How many bytes are readable now (without consuming them).
fn readable(s: &Script) -> usize {
    let mut buf = [0u8; 8192];
    match s.ep.peek(s.conn.unwrap(), &mut buf) {
        Err(RecvError::WouldBlock) => 0,
        r => r.unwrap(),
    }
}

#[test]
fn in_order_payloads_arrive_and_corrupt_ones_leave_no_trace() {
    let cfg = ConnConfig { recv_buffer: 4096, ..plain() };
    let mut s = Script::established_passive(cfg);
    let mut seq = IRS + 1;
    let mut expect = Vec::new();
    let mut got = Vec::new();
    for k in 0..40 {
        // What the last segment and read made due (ACKs, window updates) goes out first.
        let _ = s.sent();
        // Odd lengths, so the free space starts at every offset and wraps the ring.
        let data = pattern(333 + 2 * k, k);
        let good = wire(&s, seq, &data);
        for at in [good.len() - 1, good.len() - data.len(), 4, 16] {
            // Payload bytes, the sequence number, the checksum field: each flips the sum.
            let mut bad = good.clone();
            bad[at] ^= 0x40;
            assert_eq!(offer(&mut s, &bad), (false, false), "segment {k}, byte {at}");
            assert_eq!(readable(&s), expect.len() - got.len(), "segment {k}: nothing more");
            assert!(s.sent().is_empty(), "segment {k}: nothing answered");
        }
        assert_eq!(offer(&mut s, &good), (true, true), "segment {k}");
        seq = seq.wrapping_add(data.len() as u32);
        expect.extend_from_slice(&data);
        if k % 3 != 0 {
            got.extend(read_all(&mut s));
        }
    }
    got.extend(read_all(&mut s));
    assert_eq!(got, expect);
}

#[test]
fn out_of_order_data_held_survives_in_order_arrivals() {
    let cfg = ConnConfig { recv_buffer: 8192, ..plain() };
    let mut s = Script::established_passive(cfg);
    let base = IRS + 1;
    let data = pattern(3000, 1);
    // The third piece first (held ahead in the ring), then a corrupt first piece, then the
    // first and second in order.
    let (first, second, third) = (
        wire(&s, base, &data[..1000]),
        wire(&s, base + 1000, &data[1000..2000]),
        wire(&s, base + 2000, &data[2000..]),
    );
    assert_eq!(offer(&mut s, &third), (true, true));
    let mut bad = first.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert_eq!(offer(&mut s, &bad), (false, false));
    assert_eq!(offer(&mut s, &first), (true, true));
    assert_eq!(offer(&mut s, &second), (true, true));
    assert_eq!(read_all(&mut s), data);
}
