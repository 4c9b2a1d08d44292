//! `PushPolicy::LinuxGso`: PSH where Linux's TSO/GSO packets end, on a virtual clock. The
//! figures are what Linux 6.18 sends in the same situations (a 20 ms path: the pacing rate
//! gives less than one segment a millisecond, so `tcp_min_tso_segs` sizes the packets; half
//! the congestion window at most per packet).

mod script;
use script::*;
use synack_tcp::{ConnConfig, Duration, PushPolicy};
use synack_wire::SeqNum;
use synack_wire::tcp::SackBlock;

const I: u32 = ISS;
const T: u32 = IRS;
const MSS: u32 = 1000;

/// A passive open over a 20 ms path, MSS 1000, no options but the MSS (and SACK if asked);
/// slow start grows cwnd by every segment an ACK covers, as Linux's does.
fn handshake(min_tso_segs: u8, sack: bool) -> Script {
    handshake_with(min_tso_segs, sack, None)
}

/// [`handshake`] with RFC 3465's per-ACK limit `abc_limit` on slow-start growth.
fn handshake_with(min_tso_segs: u8, sack: bool, abc_limit: Option<u32>) -> Script {
    let cfg = ConnConfig {
        nodelay: true,
        slow_start_ack_limit: abc_limit,
        sack,
        timestamps: false,
        window_scaling: false,
        push_policy: PushPolicy::LinuxGso { min_tso_segs },
        ..ConnConfig::default()
    };
    let syn = Seg::new(S, T, 0).mss(MSS as u16);
    let syn = if sack { syn.sack_ok() } else { syn };
    Script::established_passive_over(cfg, syn, Duration::from_millis(20))
}

fn seg_seq(k: u32) -> u32 {
    I + 1 + k * MSS
}

/// The segment indexes (0-based, in sending order) that carry PSH.
fn pushed(out: &[Out]) -> Vec<usize> {
    out.iter().enumerate().filter(|(_, o)| o.flags.psh()).map(|(i, _)| i).collect()
}

fn ack(s: &mut Script, k: u32) {
    s.inject(Seg::new(A, T + 1, seg_seq(k)));
}

/// A 26000-byte write: the initial window of 10 leaves as two 5-segment packets with
/// `tcp_min_tso_segs` 10 (half the window each), as five 2-segment packets with the default
/// 2; the write's end is not reached, yet every packet ends with PSH. After the ACK, cwnd 20
/// lets out a 10-segment packet and the 6 segments left.
#[test]
fn a_large_write_leaves_in_linux_sized_packets() {
    for (min_tso, first, second) in
        [(10u8, vec![4, 9], vec![9, 15]), (2, vec![1, 3, 5, 7, 9], vec![1, 3, 5, 7, 9, 11, 13, 15])]
    {
        let mut s = handshake(min_tso, false);
        s.send(&[7; 26_000]);
        let out = s.sent();
        assert_eq!(out.len(), 10);
        assert_eq!(pushed(&out), first, "min_tso_segs {min_tso}: {out:?}");
        s.advance(Duration::from_millis(20));
        ack(&mut s, 10);
        let out = s.sent();
        assert_eq!(out.len(), 16);
        assert_eq!(pushed(&out), second, "min_tso_segs {min_tso}: {out:?}");
    }
}

/// A cwnd-limited burst that ends in a one-segment packet: with `tcp_min_tso_segs` 2 the
/// 5 segments of room after an ACK leave as 2 + 2 + 1; the lone last segment holds no write
/// end and carries no PSH (the end of a burst is no push point here).
#[test]
fn a_burst_cut_by_cwnd_ends_without_psh_on_a_lone_segment() {
    let mut s = handshake_with(2, false, Some(2));
    s.send(&[1; 40_000]);
    assert_eq!(s.sent().len(), 10);
    s.advance(Duration::from_millis(20));
    // Three segments acknowledged: cwnd 12 (RFC 3465's L = 2, the default), 7 in flight.
    ack(&mut s, 3);
    let out = s.sent();
    assert_eq!(out.len(), 5, "{out:?}");
    assert_eq!(pushed(&out), vec![1, 3]);
}

/// A write smaller than a packet's quota: the packet ends where the data ends; a sub-MSS
/// tail after a full packet is a one-segment packet of its own that ends the write (PSH).
#[test]
fn a_short_tail_is_a_packet_of_its_own_that_ends_the_write() {
    let mut s = handshake(2, false);
    s.send(&[5; 2_500]);
    let out = s.sent();
    assert_eq!(out.iter().map(|o| o.payload.len()).collect::<Vec<_>>(), [1000, 1000, 500]);
    // 2-segment packet (PSH on its last), then the 500-byte tail (a write's end).
    assert_eq!(pushed(&out), vec![1, 2]);
}

/// Limited transmit without SACK: one new segment per duplicate ACK, a one-segment packet
/// with no write end, so no PSH (Linux's limited-transmit segments carry none).
#[test]
fn limited_transmit_segments_carry_no_psh() {
    let mut s = handshake(2, false);
    s.send(&[9; 15_000]);
    assert_eq!(s.sent().len(), 10);
    s.advance(Duration::from_millis(20));
    ack(&mut s, 0);
    let out = s.sent();
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].seq, seg_seq(10));
    assert!(!out[0].flags.psh());
}

/// A write with more announced (`MSG_MORE`) ends no push point: its whole segments leave as
/// a 2-segment packet (PSH) and a corked one-segment packet without PSH; a plain write then
/// ends the data.
#[test]
fn announced_writes_end_no_push_point() {
    let mut s = handshake(2, false);
    let id = s.id();
    s.ep.send_more(id, &[1; 3_100]).unwrap();
    let out = s.sent();
    assert_eq!(out.iter().map(|o| o.payload.len()).collect::<Vec<_>>(), [1000, 1000, 1000]);
    assert_eq!(pushed(&out), vec![1]);
    // The 100-byte tail waits; a plain 50-byte write ends the data.
    s.send(&[2; 50]);
    let out = s.sent();
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].payload.len(), 150);
    assert!(out[0].flags.psh());
}

/// Retransmissions: Linux resends a buffer of its retransmission queue, which ends where
/// SACKed data begins; two lost segments below a SACK go again as one 2-segment packet, so
/// the second carries PSH. A lone resent segment holding a write's end keeps its PSH.
#[test]
fn retransmissions_end_where_sacked_data_begins_and_keep_write_ends() {
    let mut s = handshake(10, true);
    s.send(&[3; 10_000]);
    let out = s.sent();
    assert_eq!(pushed(&out), vec![4, 9]);
    s.advance(Duration::from_millis(20));
    // Segments 0 and 1 lost; 2..10 SACKed (three duplicate ACKs' worth and more).
    let mut dup = Seg::new(A, T + 1, seg_seq(0));
    dup.options.sack.push(SackBlock { left: SeqNum(seg_seq(2)), right: SeqNum(seg_seq(10)) });
    s.inject(dup);
    let out = s.sent();
    let rtx: Vec<_> = out.iter().filter(|o| o.seq == seg_seq(0) || o.seq == seg_seq(1)).collect();
    assert_eq!(rtx.len(), 2, "{out:?}");
    assert!(!rtx[0].flags.psh() && rtx[1].flags.psh(), "{out:?}");

    // A lone resent segment holding a write's end: the first write's last 500 bytes leave
    // as the tail of a 2-segment packet, are lost, and go again alone, with PSH.
    let mut s = handshake(10, true);
    s.send(&[4; 1_500]);
    assert_eq!(pushed(&s.sent()), vec![1]);
    s.send(&[5; 4_000]);
    assert_eq!(s.sent().len(), 4);
    s.advance(Duration::from_millis(20));
    let mut dup = Seg::new(A, T + 1, seg_seq(1));
    dup.options.sack.push(SackBlock { left: SeqNum(I + 1_501), right: SeqNum(I + 5_501) });
    s.inject(dup);
    let out = s.sent();
    let rtx = out.iter().find(|o| o.seq == seg_seq(1)).expect("retransmission");
    assert_eq!(rtx.payload.len(), 500);
    assert!(rtx.flags.psh(), "{out:?}");
}

/// After an idle period longer than the RTO the window restarts (RFC 5681 4.1) before the
/// first packet is sized: a write then leaves in packets of half the restarted window.
#[test]
fn packets_after_idle_follow_the_restarted_window() {
    let mut s = handshake(10, false);
    s.send(&[6; 26_000]);
    assert_eq!(s.sent().len(), 10);
    s.advance(Duration::from_millis(20));
    ack(&mut s, 10);
    assert_eq!(s.sent().len(), 16);
    s.advance(Duration::from_millis(20));
    ack(&mut s, 26);
    s.advance(Duration::from_secs(2));
    s.send(&[8; 20_000]);
    let out = s.sent();
    assert_eq!(out.len(), 10, "{out:?}");
    assert_eq!(pushed(&out), vec![4, 9]);
}

/// Paced (Linux under `fq`): whole packets are paced, not segments. The first 10 segments
/// leave at once (five 2-segment packets, PSH on each one's last); after the ACK the window
/// of 20 paces at 2 MB/s (200% of 20,000 bytes / 20 ms): each 2-segment packet leaves whole,
/// PSH on its last segment, 1 ms after the one before; the first one came 18 ms after its
/// stamp, so its gap is halved (0.5 ms).
#[test]
fn paced_packets_leave_whole_with_psh_on_their_last_segment() {
    let cfg = ConnConfig {
        nodelay: true,
        sack: false,
        timestamps: false,
        window_scaling: false,
        push_policy: PushPolicy::LinuxGso { min_tso_segs: 2 },
        pacing: true,
        pacing_free_segments: 10,
        slow_start_ack_limit: None,
        ..ConnConfig::default()
    };
    let syn = Seg::new(S, T, 0).mss(MSS as u16);
    let mut s = Script::established_passive_over(cfg, syn, Duration::from_millis(20));
    s.send(&[7; 40_000]);
    let out = s.sent();
    assert_eq!(out.len(), 10, "{out:?}");
    assert_eq!(pushed(&out), vec![1, 3, 5, 7, 9]);
    s.advance(Duration::from_millis(20));
    ack(&mut s, 10);
    let t0 = s.now;
    let first = s.sent();
    assert_eq!(first.len(), 2, "{first:?}");
    assert_eq!(pushed(&first), vec![1]);
    let timed = s.advance(Duration::from_micros(4_600));
    let at: Vec<u64> =
        timed.iter().map(|(t, _)| t.saturating_since(t0).as_micros() as u64).collect();
    assert_eq!(at, [500, 500, 1_500, 1_500, 2_500, 2_500, 3_500, 3_500, 4_500, 4_500]);
    let psh: Vec<bool> = timed.iter().map(|(_, o)| o.flags.psh()).collect();
    assert_eq!(psh, [false, true].repeat(5));
    assert_eq!(timed[0].1.seq, seg_seq(12));
}
