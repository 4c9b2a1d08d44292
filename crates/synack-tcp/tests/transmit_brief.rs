//! The interface's brief transmit record: `poll_transmit_brief` writes the same segments as
//! `poll_transmit_with` (byte for byte, in the same order, to the same addresses), over data,
//! pure ACKs, a wrapping send ring and both checksum modes.

mod script;
use script::*;
use synack_tcp::ConnConfig;
use synack_wire::ChecksumMode;

fn pattern(n: usize, k: usize) -> Vec<u8> {
    (0..n).map(|i| ((i * 13 + k * 5) % 253) as u8).collect()
}

/// Runs the same exchange on a fresh connection, draining each step with `brief` or not;
/// returns every segment written with its addresses, length and segment size.
fn run(brief: bool) -> Vec<(String, String, usize, Vec<u8>)> {
    let cfg = ConnConfig { send_buffer: 6000, ..plain() };
    let mut s = Script::established_passive(cfg);
    let mut buf = vec![0u8; 2000];
    let mut out = Vec::new();
    let mut acked = ISS + 1;
    let mut rcv = IRS + 1;
    for k in 0..12 {
        // Writes of odd sizes, cut short by the send buffer, so the ring wraps.
        let data = pattern(1500 + 331 * k, k);
        let _ = s.ep.send(s.id(), &data);
        // Data from the peer too, so some segments are ACKs of it.
        let theirs = pattern(200 + k, k + 1);
        s.inject(Seg::new(A, rcv, acked).win(65535).data(&theirs));
        rcv = rcv.wrapping_add(theirs.len() as u32);
        let mode = if k % 3 == 2 { ChecksumMode::Skip } else { ChecksumMode::Verify };
        loop {
            let t = if brief {
                let Some(t) = s.ep.poll_transmit_brief(s.now, &mut buf, mode) else { break };
                (t.src.to_string(), t.dst.to_string(), t.segment_size, t.len)
            } else {
                let Some(t) = s.ep.poll_transmit_with(s.now, &mut buf, mode) else { break };
                (t.src.to_string(), t.dst.to_string(), t.segment_size, t.len)
            };
            // T acknowledges what the segment carried (read from its bytes).
            let seg = &buf[..t.3];
            let seq = u32::from_be_bytes([seg[4], seg[5], seg[6], seg[7]]);
            let end = seq.wrapping_add((t.3 - usize::from(seg[12] >> 4) * 4) as u32);
            if end.wrapping_sub(acked) as i32 > 0 {
                acked = end;
            }
            out.push((t.0, t.1, t.2, seg.to_vec()));
        }
        s.inject(Seg::new(A, rcv, acked).win(65535));
        s.now += synack_tcp::Duration::from_millis(50);
    }
    out
}

#[test]
fn brief_and_full_records_describe_the_same_segments() {
    let full = run(false);
    let brief = run(true);
    assert!(full.len() > 20, "{} segments", full.len());
    assert_eq!(full, brief);
}
