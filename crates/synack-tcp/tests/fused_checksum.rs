//! The fused checksum paths: `Endpoint::on_segment_unverified` verifies a received segment's
//! checksum while copying its payload into the receive ring (a wrong one changes nothing), and
//! segments sent with the payload summed during its copy carry the same checksum a separate
//! pass computes, with the field left zero under transmit offload.

mod script;
use script::*;
use synack_tcp::{ConnConfig, Event, RecvError};
use synack_wire::checksum;
use synack_wire::tcp::TcpRepr;
use synack_wire::{ChecksumMode, IpProtocol, SeqNum};

/// The segment `seg` as T would put it on the wire, and the partial sum of its pseudo-header
/// and header (what the interface hands the engine).
fn wire(s: &Script, seg: &Seg) -> (Vec<u8>, u64) {
    let repr = repr(s, seg, &seg.payload);
    let mut bytes = vec![0u8; repr.buffer_len()];
    let (src, dst) = (s.remote.ip(), s.local.ip());
    repr.emit(&mut bytes, src, dst, ChecksumMode::Verify).unwrap();
    let hlen = bytes.len() - seg.payload.len();
    let ph = checksum::pseudo_header(src, dst, IpProtocol::TCP, bytes.len() as u32).unwrap();
    let header_sum = ph + checksum::sum(&bytes[..hlen]);
    (bytes, header_sum)
}

fn repr<'a>(s: &Script, seg: &Seg, payload: &'a [u8]) -> TcpRepr<'a> {
    TcpRepr {
        src_port: s.remote.port(),
        dst_port: s.local.port(),
        seq: SeqNum(seg.seq),
        ack: SeqNum(seg.ack),
        flags: seg.flags,
        window: seg.window,
        urgent: seg.urgent,
        options: seg.options,
        raw_options: None,
        payload,
    }
}

/// Delivers `seg` through the unverified path, its payload damaged in transit when `damage`
/// (one byte flipped after the checksum was computed); returns what the engine said.
fn deliver(s: &mut Script, seg: &Seg, damage: Option<usize>) -> bool {
    let (_, header_sum) = wire(s, seg);
    let mut payload = seg.payload.clone();
    if let Some(i) = damage {
        payload[i] ^= 0x40;
    }
    let r = repr(s, seg, &payload);
    let ok =
        s.ep.on_segment_unverified(s.now, s.remote.ip(), s.local.ip(), 0, &r, header_sum).is_ok();
    s.drain_events();
    ok
}

fn pattern(n: usize, k: usize) -> Vec<u8> {
    (0..n).map(|i| ((i * 31 + k * 7) % 251) as u8).collect()
}

fn snapshot(s: &Script) -> String {
    format!("{:?}", s.ep.stats(s.id()).unwrap())
}

#[test]
fn damaged_in_order_segment_changes_nothing_and_the_good_copy_lands() {
    let mut s = Script::established_passive(plain());
    let base = IRS + 1;
    let data = pattern(1001, 1); // odd length
    let seg = Seg::new(PA, base, ISS + 1).data(&data);
    let before = snapshot(&s);
    for at in [0, 500, 1000] {
        assert!(!deliver(&mut s, &seg, Some(at)), "damage at {at} accepted");
        s.none();
        assert_eq!(snapshot(&s), before, "damage at {at} changed the connection");
        assert!(!s.has_event(|e| matches!(e, Event::Readable(_))));
        assert_eq!(s.ep.recv(s.id(), &mut [0u8; 16]), Err(RecvError::WouldBlock));
    }
    assert!(deliver(&mut s, &seg, None));
    assert!(s.has_event(|e| matches!(e, Event::Readable(_))));
    assert_eq!(s.recv_all(), data);
}

#[test]
fn damaged_segment_never_overwrites_held_out_of_order_bytes() {
    let mut s = Script::established_passive(plain());
    let base = IRS + 1;
    let data = pattern(3000, 2);
    // Bytes 1000..2000 arrive first and are held beyond a hole.
    assert!(deliver(&mut s, &Seg::new(A, base + 1000, ISS + 1).data(&data[1000..2000]), None));
    let _ = s.sent();
    // A damaged segment covering the hole and the held bytes: refused, nothing written over.
    let over = Seg::new(A, base, ISS + 1).data(&data[..2500]);
    assert!(!deliver(&mut s, &over, Some(1500)));
    s.none();
    // A damaged segment beyond the held bytes (the staged path): refused too.
    let beyond = Seg::new(A, base + 2000, ISS + 1).data(&data[2000..]);
    assert!(!deliver(&mut s, &beyond, Some(3)));
    s.none();
    // The good copies fill everything in.
    assert!(deliver(&mut s, &beyond, None));
    assert!(deliver(&mut s, &Seg::new(A, base, ISS + 1).data(&data[..1000]), None));
    assert_eq!(s.recv_all(), data);
}

#[test]
fn staged_receive_across_the_ring_wrap_is_verified_and_exact() {
    // A small receive buffer so the ring wraps every few segments; odd sizes move the wrap
    // point to odd offsets.
    let cfg = ConnConfig { recv_buffer: 4096, ..plain() };
    let mut s = Script::established_passive(cfg);
    let mut seq = IRS + 1;
    let mut want = Vec::new();
    let mut got = Vec::new();
    for k in 0..40 {
        let data = pattern(997 + (k % 3), k);
        let seg = Seg::new(A, seq, ISS + 1).data(&data);
        assert!(!deliver(&mut s, &seg, Some(k % data.len())), "segment {k}: damage accepted");
        assert!(deliver(&mut s, &seg, None), "segment {k}: good copy refused");
        seq = seq.wrapping_add(data.len() as u32);
        want.extend_from_slice(&data);
        got.extend(s.recv_all());
        let _ = s.sent();
    }
    assert_eq!(got, want);
}

#[test]
fn sent_checksums_verify_and_offload_leaves_the_field_zero() {
    let cfg = ConnConfig { send_buffer: 4096, ..plain() };
    let mut s = Script::established_passive(cfg);
    let mut buf = vec![0u8; 2000];
    let mut acked = ISS + 1;
    let (src, dst) = (s.local.ip(), s.remote.ip());
    let mut sent = 0usize;
    for k in 0..30 {
        // Odd-sized writes so segments start at odd ring offsets and wrap.
        let data = pattern(777 + k, k);
        assert_eq!(s.ep.send(s.id(), &data).unwrap(), data.len());
        let mode = if k % 2 == 0 { ChecksumMode::Verify } else { ChecksumMode::Skip };
        while let Some(t) = s.ep.poll_transmit_with(s.now, &mut buf, mode) {
            let seg = &buf[..t.len];
            if mode == ChecksumMode::Verify {
                let r = TcpRepr::parse_bytes(seg, src, dst, ChecksumMode::Verify);
                assert!(r.is_ok(), "segment {k}: {r:?}");
            } else {
                assert_eq!(&seg[16..18], &[0, 0], "offload: checksum field left zero");
            }
            sent += t.len - t.header_len;
        }
        // T acknowledges everything, which frees the send ring.
        acked = acked.wrapping_add(data.len() as u32);
        s.inject(Seg::new(A, IRS + 1, acked).win(65535));
        let _ = s.sent();
    }
    assert_eq!(sent, (0..30).map(|k| 777 + k).sum::<usize>());
}
