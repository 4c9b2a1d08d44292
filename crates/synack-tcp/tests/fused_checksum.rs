//! The fused send path: segments whose payload was summed while it was copied out of the send
//! ring (odd lengths, odd ring offsets, ring wraps) carry the checksum a separate pass
//! computes, and transmit offload leaves the field zero.

mod script;
use script::*;
use synack_tcp::ConnConfig;
use synack_wire::ChecksumMode;
use synack_wire::tcp::TcpRepr;

fn pattern(n: usize, k: usize) -> Vec<u8> {
    (0..n).map(|i| ((i * 31 + k * 7) % 251) as u8).collect()
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
