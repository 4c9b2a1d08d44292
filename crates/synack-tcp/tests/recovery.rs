//! The connection's loss recovery wiring, scripted: fast retransmit on three duplicate ACKs,
//! NewReno partial ACKs, limited transmit, SACK recovery of several holes without an RTO,
//! D-SACK generation, congestion window in the stats.

mod script;
use script::*;
use synack_tcp::{CongestionControl, ConnConfig, Duration, State};
use synack_wire::SeqNum;
use synack_wire::tcp::SackBlock;

const I: u32 = ISS;
const T: u32 = IRS;
const MSS: u32 = 1000;

fn setup(sack: bool) -> Script {
    let cfg = ConnConfig {
        sack,
        timestamps: false,
        window_scaling: false,
        nodelay: true,
        ..ConnConfig::default()
    };
    handshake(cfg)
}

/// A passive open over a 20 ms path: the handshake's RTT sample (RFC 6298) is the path's, as
/// on a network.
fn handshake(cfg: ConnConfig) -> Script {
    let mut syn = Seg::new(S, T, 0).mss(MSS as u16);
    if cfg.sack {
        syn = syn.sack_ok();
    }
    Script::established_passive_over(cfg, syn, Duration::from_millis(20))
}

fn seg_seq(k: u32) -> u32 {
    I + 1 + k * MSS
}

fn sack_ack(ack: u32, blocks: &[(u32, u32)]) -> Seg {
    let mut seg = Seg::new(A, T + 1, ack);
    for (l, r) in blocks {
        seg.options.sack.push(SackBlock { left: SeqNum(*l), right: SeqNum(*r) });
    }
    seg
}

#[test]
fn initial_window_is_ten_segments() {
    let mut s = setup(false);
    s.send(&[0; 20 * MSS as usize]);
    let out = s.sent();
    assert_eq!(out.len(), 10);
    assert_eq!(s.ep.stats(s.id()).unwrap().cwnd, Some(10 * MSS));
}

#[test]
fn three_duplicate_acks_fast_retransmit_and_limited_transmit() {
    let mut s = setup(false);
    s.send(&[0; 30 * MSS as usize]);
    assert_eq!(s.sent().len(), 10);
    // Segment 0 lost: the peer ACKs nothing new, three times.
    s.inject(Seg::new(A, T + 1, seg_seq(0)));
    // First two duplicates: one new segment each (RFC 3042).
    let lt1 = s.sent();
    s.inject(Seg::new(A, T + 1, seg_seq(0)));
    let lt2 = s.sent();
    assert_eq!(lt1.len() + lt2.len(), 2, "limited transmit: {lt1:?} {lt2:?}");
    assert_eq!(lt1[0].seq, seg_seq(10));
    s.inject(Seg::new(A, T + 1, seg_seq(0)));
    let out = s.sent();
    assert!(!out.is_empty());
    assert_eq!(out[0].seq, seg_seq(0), "fast retransmit of the first unacknowledged segment");
    let st = s.ep.stats(s.id()).unwrap();
    assert!(st.ssthresh.unwrap() < 10 * MSS, "window reduced: {st:?}");
    assert_eq!(st.state, State::Established);
}

#[test]
fn newreno_partial_ack_retransmits_next_hole() {
    let mut s = setup(false);
    s.send(&[0; 10 * MSS as usize]);
    s.sent();
    // Segments 0 and 3 lost.
    for _ in 0..3 {
        s.inject(Seg::new(A, T + 1, seg_seq(0)));
    }
    let out = s.sent();
    assert!(out.iter().any(|o| o.seq == seg_seq(0)));
    // The retransmission of 0 fills up to segment 3: a partial ACK.
    s.inject(Seg::new(A, T + 1, seg_seq(3)));
    let out = s.sent();
    assert_eq!(out[0].seq, seg_seq(3), "partial ACK: resend the next hole at once: {out:?}");
    s.inject(Seg::new(A, T + 1, seg_seq(10)));
    assert_eq!(s.ep.stats(s.id()).unwrap().snd_una.0, seg_seq(10));
}

/// Without SACK a fast retransmission asks for an SMSS from SND.UNA; when the segments sent
/// were shorter (a peer window below the MSS) and more data waits, the retransmission still
/// ends at the highest byte sent: bytes past it would be new data the sender does not count
/// as sent, and the peer's ACK of them would be dropped as an ACK of unsent data for ever.
#[test]
fn newreno_fast_retransmit_never_reaches_past_what_was_sent() {
    let mut s = setup(false);
    s.inject(Seg::new(A, T + 1, seg_seq(0)).win(900));
    s.sent();
    for _ in 0..3 {
        s.send(&[1; 300]);
    }
    let first = s.sent();
    assert_eq!(first.iter().map(|o| o.payload.len()).sum::<usize>(), 900, "{first:?}");
    // More than an MSS waits behind the closed window.
    s.send(&[2; 5000]);
    s.none();
    for _ in 0..3 {
        s.inject(Seg::new(A, T + 1, seg_seq(0)).win(900));
    }
    let out = s.sent();
    assert_eq!(out[0].seq, seg_seq(0), "fast retransmit: {out:?}");
    assert!(out[0].payload.len() <= 900, "retransmitted past HighData: {out:?}");
    assert_eq!(s.ep.stats(s.id()).unwrap().snd_nxt.0, seg_seq(0) + 900);
    // The peer ACKs everything sent: accepted, and the window moves on.
    s.inject(Seg::new(A, T + 1, seg_seq(0) + 900).win(900));
    assert_eq!(s.ep.stats(s.id()).unwrap().snd_una.0, seg_seq(0) + 900);
}

#[test]
fn sack_recovery_repairs_several_holes_without_rto() {
    let mut s = setup(true);
    assert!(s.ep.stats(s.id()).unwrap().sack);
    s.send(&[0; 10 * MSS as usize]);
    assert_eq!(s.sent().len(), 10);
    // One round trip later: segments 1, 4 and 7 lost; every other arrives and is SACKed,
    // the ACKs 1 ms apart.
    assert!(s.advance(Duration::from_millis(20)).is_empty());
    let ack = seg_seq(1);
    let mut blocks: Vec<(u32, u32)> = Vec::new();
    let mut resent = Vec::new();
    for k in [2u32, 3, 5, 6, 8, 9] {
        // Coalesce into the blocks a receiver would report.
        let (l, r) = (seg_seq(k), seg_seq(k + 1));
        if let Some(last) = blocks.last_mut().filter(|b| b.1 == l) {
            last.1 = r;
        } else {
            blocks.push((l, r));
        }
        let mut shown: Vec<(u32, u32)> = blocks.clone();
        shown.reverse();
        shown.truncate(4);
        s.inject(sack_ack(ack, &shown));
        resent.extend(s.sent().into_iter().map(|o| o.seq));
        resent.extend(s.advance(Duration::from_millis(1)).into_iter().map(|(_, o)| o.seq));
    }
    for k in [1u32, 4, 7] {
        assert!(resent.contains(&seg_seq(k)), "hole {k} repaired before any RTO: {resent:?}");
    }
    // All repaired; the cumulative ACK covers everything, no RTO fired.
    s.inject(Seg::new(A, T + 1, seg_seq(10)));
    let st = s.ep.stats(s.id()).unwrap();
    assert_eq!(st.snd_una.0, seg_seq(10));
    assert_eq!(st.backoff, 0, "no RTO");
    assert_eq!(st.timeouts, 0, "no RTO");
    // Nothing SACKed before recovery reached it was sent again; the tail segment may go as the
    // RFC 6675 rule-4 rescue retransmission (it was still unSACKed then).
    for k in [2u32, 3, 5, 6, 8] {
        assert!(!resent.contains(&seg_seq(k)), "SACKed segment {k} resent: {resent:?}");
    }
    assert!(st.retransmits >= 3 && st.retransmits <= 4, "{st:?}");
}

#[test]
fn rto_collapses_window_and_goes_back() {
    let mut s = setup(false);
    s.send(&[0; 10 * MSS as usize]);
    s.sent();
    let rto = s.ep.stats(s.id()).unwrap().rto;
    let out = s.advance(rto + Duration::from_millis(10));
    assert_eq!(out.len(), 1, "one segment after the RTO (cwnd = 1 SMSS): {out:?}");
    assert_eq!(out[0].1.seq, seg_seq(0));
    assert_eq!(s.ep.stats(s.id()).unwrap().cwnd, Some(MSS));
    s.inject(Seg::new(A, T + 1, seg_seq(1)));
    let out = s.sent();
    assert_eq!(out.len(), 2, "slow start: two segments after one ACK");
    assert_eq!(out[0].seq, seg_seq(1));
}

#[test]
fn dsack_reported_for_duplicate_data() {
    let mut s = setup(true);
    s.inject(Seg::new(A, T + 1, I + 1).len(100));
    s.advance(Duration::from_millis(100));
    // The same 100 bytes again.
    s.inject(Seg::new(A, T + 1, I + 1).len(100));
    let o = s.one();
    check(&o, A, I + 1, T + 101);
    let b = o.options.sack.as_slice();
    assert_eq!((b[0].left.0, b[0].right.0), (T + 1, T + 101), "D-SACK block first");
}

#[test]
fn sack_blocks_most_recent_first_with_three_holes() {
    let mut s = setup(true);
    for k in [2u32, 6, 4] {
        s.inject(Seg::new(A, T + 1 + k * 100, I + 1).len(100));
    }
    let out = s.sent();
    let b = out.last().unwrap().options.sack.as_slice();
    let lefts: Vec<u32> = b.iter().map(|x| x.left.0 - T - 1).collect();
    assert_eq!(lefts, [400, 600, 200]);
}

fn setup_rack(rack: bool) -> Script {
    let cfg = ConnConfig {
        sack: true,
        timestamps: false,
        window_scaling: false,
        nodelay: true,
        rack,
        ..ConnConfig::default()
    };
    let mut s = handshake(cfg);
    // One exchange: a second RTT sample of 20 ms.
    s.send(&[0; MSS as usize]);
    s.sent();
    s.advance(Duration::from_millis(20));
    s.inject(Seg::new(A, T + 1, I + 1 + MSS));
    s
}

#[test]
fn rack_tlp_probe_repairs_tail_loss_without_rto() {
    let mut s = setup_rack(true);
    let base = I + 1 + MSS;
    s.send(&[0; 6 * MSS as usize]);
    assert_eq!(s.sent().len(), 6);
    s.advance(Duration::from_millis(20));
    // The first three arrive; the tail (three segments) is lost.
    s.inject(Seg::new(A, T + 1, base + 3 * MSS));
    // Before any RTO (>= 200 ms), a probe resends the last segment (PTO ~ 2 * SRTT).
    let out = s.advance(Duration::from_millis(150));
    assert_eq!(out.len(), 1, "one probe: {out:?}");
    let (at, probe) = &out[0];
    assert_eq!(probe.seq, base + 5 * MSS, "the last segment");
    assert!(at.as_millis() < s.now.as_millis());
    // The peer SACKs the probe: RACK declares the two before it lost and repairs them. PRR
    // (RFC 6937) sends as much as was delivered: one segment for the one SACKed...
    s.inject(sack_ack(base + 3 * MSS, &[(base + 5 * MSS, base + 6 * MSS)]));
    let mut resent: Vec<u32> = s.sent().into_iter().map(|o| o.seq).collect();
    resent.extend(s.advance(Duration::from_millis(30)).into_iter().map(|(_, o)| o.seq));
    assert_eq!(resent, [base + 3 * MSS]);
    // ...and the second once the first is acknowledged.
    s.inject(sack_ack(base + 4 * MSS, &[(base + 5 * MSS, base + 6 * MSS)]));
    let resent: Vec<u32> = s.sent().into_iter().map(|o| o.seq).collect();
    assert_eq!(resent, [base + 4 * MSS]);
    s.inject(Seg::new(A, T + 1, base + 6 * MSS));
    let st = s.ep.stats(s.id()).unwrap();
    assert_eq!(st.timeouts, 0, "no RTO: {st:?}");
    assert_eq!(st.snd_una.0, base + 6 * MSS);
}

/// RFC 8985 7.3: with no new data to send, the probe retransmits the highest-sequence segment
/// as it was sent. When the FIN left on its own after the data, that is the bare FIN (the
/// probe used to be the last MSS of data with the FIN, which Linux never sends here).
#[test]
fn rack_tlp_probe_is_the_bare_fin_when_it_was_sent_alone() {
    let mut s = setup_rack(true);
    let base = I + 1 + MSS;
    s.send(&[0; 3 * MSS as usize]);
    assert_eq!(s.sent().len(), 3);
    s.ep.close(s.id()).unwrap();
    let fin = s.sent();
    assert_eq!(fin.len(), 1, "{fin:?}");
    check(&fin[0], FA, base + 3 * MSS, T + 1);
    assert!(fin[0].payload.is_empty());
    // Nothing comes back: the probe (PTO ~ 2 * SRTT), before any RTO.
    let out = s.advance(Duration::from_millis(150));
    assert_eq!(out.len(), 1, "one probe: {out:?}");
    let probe = &out[0].1;
    check(probe, FA, base + 3 * MSS, T + 1);
    assert!(probe.payload.is_empty(), "the bare FIN, not data: {probe:?}");
    // Its ACK settles everything without an RTO.
    s.inject(Seg::new(A, T + 1, base + 3 * MSS + 1));
    let st = s.ep.stats(s.id()).unwrap();
    assert_eq!(st.timeouts, 0, "{st:?}");
    assert_eq!(st.snd_una.0, base + 3 * MSS + 1);
}

/// The other side of the rule above: a FIN that rode on the last data segment comes back
/// with that segment's data in the probe.
#[test]
fn rack_tlp_probe_resends_data_with_fin_when_they_left_together() {
    let mut s = setup_rack(true);
    let base = I + 1 + MSS;
    s.send(&[0; 3 * MSS as usize]);
    s.ep.close(s.id()).unwrap();
    let out = s.sent();
    assert_eq!(out.len(), 3, "{out:?}");
    assert!(out[2].flags.fin() && out[2].payload.len() == MSS as usize, "{:?}", out[2]);
    let out = s.advance(Duration::from_millis(150));
    assert_eq!(out.len(), 1, "one probe: {out:?}");
    let probe = &out[0].1;
    assert_eq!(probe.seq, base + 2 * MSS);
    assert_eq!(probe.payload.len(), MSS as usize);
    assert!(probe.flags.fin(), "{probe:?}");
}

/// `ConnStats::lost_segments` is Linux's `tcpi_lost` (`lost_out`): segments marked lost and not
/// yet delivered. A retransmission leaves the mark; a SACK or cumulative ACK removes it
/// (packetdrill's sack-shift-sacked-2-6-8-3-9 asserts the same numbers).
#[test]
fn lost_segments_counts_marked_lost_until_delivered() {
    let mut s = setup_rack(true);
    let base = I + 1 + MSS;
    let at = |k: u32| base + k * MSS;
    s.send(&[0; 10 * MSS as usize]);
    assert_eq!(s.sent().len(), 10);
    assert_eq!(s.ep.stats(s.id()).unwrap().lost_segments, 0);
    s.advance(Duration::from_millis(20));
    // Segments 2, 6 and 8 arrive: recovery, and the six holes below 8 are lost.
    let mut blocks = vec![(at(2), at(3))];
    s.inject(sack_ack(at(0), &blocks));
    blocks.push((at(6), at(7)));
    s.inject(sack_ack(at(0), &blocks));
    blocks.push((at(8), at(9)));
    s.inject(sack_ack(at(0), &blocks));
    let out = s.sent();
    assert_eq!(out[0].seq, at(0), "{out:?}");
    let st = s.ep.stats(s.id()).unwrap();
    assert!(st.in_recovery);
    assert_eq!(st.lost_segments, 6, "0 1 3 4 5 7; segment 0 retransmitted stays counted");
    // Segment 3 arrives: no longer lost.
    blocks[0] = (at(2), at(4));
    s.inject(sack_ack(at(0), &blocks));
    assert_eq!(s.ep.stats(s.id()).unwrap().lost_segments, 5);
    // Segment 9 was never lost.
    blocks[2] = (at(8), at(10));
    s.inject(sack_ack(at(0), &blocks));
    assert_eq!(s.ep.stats(s.id()).unwrap().lost_segments, 5);
    // Cumulative ACKs deliver the retransmissions.
    s.inject(sack_ack(at(1), &blocks));
    assert_eq!(s.ep.stats(s.id()).unwrap().lost_segments, 4);
    s.inject(sack_ack(at(4), &blocks[1..]));
    assert_eq!(s.ep.stats(s.id()).unwrap().lost_segments, 3);
    s.inject(Seg::new(A, T + 1, at(10)));
    let st = s.ep.stats(s.id()).unwrap();
    assert_eq!(st.lost_segments, 0, "{st:?}");
    assert_eq!(st.snd_una.0, at(10));
}

/// Without RACK the count comes from RFC 6675 IsLost: only the holes with DupThresh SACKed
/// segments (or more than (DupThresh - 1) * SMSS SACKed bytes) above them.
#[test]
fn lost_segments_without_rack_follows_rfc6675_is_lost() {
    let mut s = setup_rack(false);
    let at = |k: u32| I + 1 + MSS + k * MSS;
    s.send(&[0; 10 * MSS as usize]);
    s.sent();
    s.advance(Duration::from_millis(20));
    let mut blocks = vec![(at(2), at(3))];
    s.inject(sack_ack(at(0), &blocks));
    blocks.push((at(6), at(7)));
    s.inject(sack_ack(at(0), &blocks));
    blocks.push((at(8), at(9)));
    s.inject(sack_ack(at(0), &blocks));
    s.sent();
    // 0 and 1 have three SACKed segments above; 3..6 and 7 fewer.
    assert_eq!(s.ep.stats(s.id()).unwrap().lost_segments, 2);
    s.inject(Seg::new(A, T + 1, at(10)));
    assert_eq!(s.ep.stats(s.id()).unwrap().lost_segments, 0);
}

#[test]
fn rack_tlp_can_be_switched_off() {
    let mut s = setup_rack(false);
    let base = I + 1 + MSS;
    s.send(&[0; 6 * MSS as usize]);
    s.sent();
    s.advance(Duration::from_millis(20));
    s.inject(Seg::new(A, T + 1, base + 3 * MSS));
    let out = s.advance(Duration::from_millis(150));
    assert!(out.is_empty(), "no probe without RACK-TLP: {out:?}");
    let out = s.advance(Duration::from_secs(1));
    assert_eq!(out[0].1.seq, base + 3 * MSS, "the RTO resends from SND.UNA");
    assert!(s.ep.stats(s.id()).unwrap().timeouts >= 1);
}

/// RFC 8985 7.2: no tail loss probe during fast recovery. A probe timer armed when the flight
/// left must not fire once SACKs have started recovery (it used to, sending a needless copy of
/// the tail segment while recovery was repairing the hole).
#[test]
fn rack_no_tail_loss_probe_during_recovery() {
    let cfg = ConnConfig {
        sack: true,
        timestamps: false,
        window_scaling: false,
        nodelay: true,
        rack: true,
        ..ConnConfig::default()
    };
    // SRTT 20 ms from the handshake alone.
    let mut s = handshake(cfg);
    let base = I + 1;
    s.send(&[0; 5 * MSS as usize]);
    assert_eq!(s.sent().len(), 5);
    s.advance(Duration::from_millis(20));
    // The first segment is lost; 1, 2 and 3 are SACKed: recovery retransmits the hole.
    let mut blocks = Vec::new();
    for k in 1..4u32 {
        blocks = vec![(base + MSS, base + (k + 1) * MSS)];
        s.inject(sack_ack(base, &blocks));
    }
    let out = s.sent();
    // The hole first; the pipe may also allow RFC 6675's rule-3/4 copy of the tail.
    assert_eq!(out.first().map(|o| o.seq), Some(base), "fast retransmit: {out:?}");
    assert!(s.ep.stats(s.id()).unwrap().in_recovery);
    // Past the probe deadline armed when the flight left (2 * SRTT = 40 ms): nothing more.
    let out = s.advance(Duration::from_millis(40));
    assert!(out.is_empty(), "no probe in recovery: {out:?}");
    s.inject(sack_ack(base + 4 * MSS, &blocks));
    s.inject(Seg::new(A, T + 1, base + 5 * MSS));
    assert_eq!(s.ep.stats(s.id()).unwrap().timeouts, 0);
}

// ---- PRR (RFC 6937 / RFC 9937) -----------------------------------------------------------

/// A SACK connection (RACK on, as the engine's default) with `prr` on or off, 20 segments
/// queued and the first 10 (the initial window) sent 10 ms after the handshake.
fn prr_setup(prr: bool) -> Script {
    let cfg = ConnConfig {
        sack: true,
        timestamps: false,
        window_scaling: false,
        nodelay: true,
        prr,
        ..ConnConfig::default()
    };
    let mut s = handshake(cfg);
    s.send(&[0; 20 * MSS as usize]);
    assert_eq!(s.sent().len(), 10);
    s.advance(Duration::from_millis(10));
    s
}

/// Segments sent in answer to one injected ACK, as segment numbers (0 = the first data byte).
fn answer(s: &mut Script, seg: Seg) -> Vec<u32> {
    s.inject(seg);
    s.sent().into_iter().map(|o| (o.seq - seg_seq(0)) / MSS).collect()
}

#[test]
fn prr_sack_that_starts_recovery_retransmits_only_the_first_hole() {
    // Linux's prr-ss-30pkt-lost-1_4-11_16: segments 0..3 lost; each SACK of 4.. answers.
    let mut s = prr_setup(true);
    let ack = seg_seq(0);
    // Two duplicate ACKs: limited transmit sends one new segment each (RFC 3042).
    assert_eq!(answer(&mut s, sack_ack(ack, &[(seg_seq(4), seg_seq(5))])), [10]);
    s.advance(Duration::from_millis(2));
    assert_eq!(answer(&mut s, sack_ack(ack, &[(seg_seq(4), seg_seq(6))])), [11]);
    s.advance(Duration::from_millis(2));
    // The third starts recovery: the first hole only, not new data too.
    assert_eq!(answer(&mut s, sack_ack(ack, &[(seg_seq(4), seg_seq(7))])), [0]);
    let st = s.ep.stats(s.id()).unwrap();
    assert!(st.in_recovery);
    // CUBIC: ssthresh = 0.7 * min(FlightSize 12, cwnd 10) = 7 segments, as Linux's 0.7 * cwnd.
    assert_eq!(st.ssthresh, Some(7 * MSS));
    // pipe (12 sent - 3 SACKed - 4 lost + 1 retransmitted = 6) is below ssthresh: PRR-CRB,
    // one segment per segment delivered, the lost ones first.
    let mut sent = Vec::new();
    for (k, want) in [(8, 1), (9, 2), (10, 3), (11, 12), (12, 13)] {
        s.advance(Duration::from_millis(2));
        let got = answer(&mut s, sack_ack(ack, &[(seg_seq(4), seg_seq(k))]));
        assert_eq!(got, [want], "SACK of 4..{k}");
        sent.push(want);
    }
    // The first retransmission arrives: SND.UNA advances with no new loss, so PRR-SSRB adds
    // one segment: two go (pipe 6, ssthresh 8).
    s.advance(Duration::from_millis(10));
    assert_eq!(answer(&mut s, sack_ack(seg_seq(1), &[(seg_seq(4), seg_seq(12))])), [14, 15]);
    let st = s.ep.stats(s.id()).unwrap();
    assert_eq!(st.retransmits, 4);
    assert_eq!(st.timeouts, 0);
}

#[test]
fn prr_off_keeps_rfc6675_cwnd_minus_pipe() {
    // The same losses without PRR: on the SACK that starts recovery, RFC 6675 sends the
    // first hole and then whatever cwnd - pipe allows (cwnd = ssthresh 7, pipe 6 after it).
    let mut s = prr_setup(false);
    let ack = seg_seq(0);
    assert_eq!(answer(&mut s, sack_ack(ack, &[(seg_seq(4), seg_seq(5))])), [10]);
    assert_eq!(answer(&mut s, sack_ack(ack, &[(seg_seq(4), seg_seq(6))])), [11]);
    let got = answer(&mut s, sack_ack(ack, &[(seg_seq(4), seg_seq(7))]));
    assert_eq!(got, [0, 1]);
}

/// A NewReno connection without SACK (RFC 6582 recovery), `prr` on or off, that has slow-started
/// to a 20-segment window with 20 segments in flight (segments 10..29) and nothing more queued.
fn reno_twenty_in_flight(prr: bool) -> Script {
    let cfg = ConnConfig {
        sack: false,
        timestamps: false,
        window_scaling: false,
        nodelay: true,
        prr,
        congestion_control: CongestionControl::NewReno,
        ..ConnConfig::default()
    };
    let mut s = handshake(cfg);
    s.send(&[0; 30 * MSS as usize]);
    assert_eq!(s.sent().len(), 10);
    s.advance(Duration::from_millis(20));
    // One ACK per segment: slow start adds one segment each and two go out per ACK.
    for k in 1..=10 {
        s.inject(Seg::new(A, T + 1, seg_seq(k)));
        assert_eq!(s.sent().len(), 2);
    }
    let st = s.ep.stats(s.id()).unwrap();
    assert_eq!(st.cwnd, Some(20 * MSS));
    assert_eq!(st.snd_nxt.0 - st.snd_una.0, 20 * MSS);
    s
}

#[test]
fn prr_newreno_halving_sends_one_segment_for_every_two_delivered() {
    // RFC 6937's example: 20 segments in flight, one lost (segment 10), ssthresh 10. Without
    // SACK each duplicate ACK counts as one segment delivered.
    let mut s = reno_twenty_in_flight(true);
    s.advance(Duration::from_millis(20));
    let dup = Seg::new(A, T + 1, seg_seq(10));
    assert!(answer(&mut s, dup.clone()).is_empty());
    assert!(answer(&mut s, dup.clone()).is_empty(), "nothing queued for limited transmit");
    // The third: fast retransmit, and ssthresh = FlightSize / 2.
    assert_eq!(answer(&mut s, dup.clone()), [10]);
    assert_eq!(s.ep.stats(s.id()).unwrap().ssthresh, Some(10 * MSS));
    // New data to send; the next 16 duplicates (segments 14..29 arriving) release one new
    // segment for every two delivered (sndcnt = ceil(delivered * 10 / 20) - sent) while pipe
    // (FlightSize - duplicates) is above ssthresh; once pipe has come down to ssthresh (the
    // 12th), one per segment delivered (PRR-CRB), holding pipe at ssthresh. RFC 6582's
    // inflated window instead sends nothing for 7 duplicates, then one per duplicate.
    s.send(&[0; 20 * MSS as usize]);
    assert!(s.sent().is_empty(), "PRR holds new data until more is delivered");
    let mut pattern = Vec::new();
    for _ in 0..16 {
        pattern.push(answer(&mut s, dup.clone()).len());
    }
    assert_eq!(pattern, [0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1, 1, 1]);
    // The retransmission arrives: a full ACK up to segment 30 ends recovery at cwnd = ssthresh.
    s.inject(Seg::new(A, T + 1, seg_seq(30)));
    let st = s.ep.stats(s.id()).unwrap();
    assert!(!st.in_recovery);
    assert_eq!(st.cwnd, Some(10 * MSS));
}

#[test]
fn prr_off_newreno_inflates_the_window() {
    // Without PRR, RFC 6582: cwnd = ssthresh + 3 SMSS, +1 SMSS per further duplicate; new
    // data goes only once the inflated window passes FlightSize (20): after 8 more
    // duplicates, then one per duplicate.
    let mut s = reno_twenty_in_flight(false);
    s.advance(Duration::from_millis(20));
    let dup = Seg::new(A, T + 1, seg_seq(10));
    answer(&mut s, dup.clone());
    answer(&mut s, dup.clone());
    assert_eq!(answer(&mut s, dup.clone()), [10]);
    s.send(&[0; 20 * MSS as usize]);
    let mut pattern = Vec::new();
    for _ in 0..16 {
        pattern.push(answer(&mut s, dup.clone()).len());
    }
    assert_eq!(pattern, [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
}

// ---- cwnd-limited growth (RFC 7661) and the window reductions ---------------------------

#[test]
fn slow_start_does_not_grow_a_window_the_application_left_unused() {
    // Linux's slow-start-ack-per-2pkt-send-5pkt: 5 segments written into a 10-segment window;
    // slow start may only grow cwnd to twice the flight, which it already is.
    let mut s = setup(false);
    s.send(&[0; 5 * MSS as usize]);
    assert_eq!(s.sent().len(), 5);
    s.advance(Duration::from_millis(20));
    s.inject(Seg::new(A, T + 1, seg_seq(2)));
    s.inject(Seg::new(A, T + 1, seg_seq(4)));
    s.inject(Seg::new(A, T + 1, seg_seq(5)));
    assert_eq!(s.ep.stats(s.id()).unwrap().cwnd, Some(10 * MSS));
    // 9 segments out: slow start grows to 18 (2 * 9), not beyond.
    s.send(&[0; 9 * MSS as usize]);
    assert_eq!(s.sent().len(), 9);
    for k in 6..=14 {
        s.inject(Seg::new(A, T + 1, seg_seq(k)));
    }
    assert_eq!(s.ep.stats(s.id()).unwrap().cwnd, Some(18 * MSS));
    // A flight that fills the window earns growth again: 30 queued, 18 go, every ACK adds one.
    s.send(&[0; 30 * MSS as usize]);
    assert_eq!(s.sent().len(), 18);
    s.inject(Seg::new(A, T + 1, seg_seq(16)));
    assert_eq!(s.ep.stats(s.id()).unwrap().cwnd, Some(20 * MSS), "L = 2: two segments");
}

#[test]
fn congestion_avoidance_grows_only_when_the_window_was_full() {
    // CA (cwnd = ssthresh after a loss) with an application that sends less than cwnd: no
    // growth however many ACKs arrive; RFC 7661, RFC 9438 section 5.8.
    let cfg = ConnConfig {
        sack: false,
        timestamps: false,
        window_scaling: false,
        nodelay: true,
        congestion_control: CongestionControl::NewReno,
        ..ConnConfig::default()
    };
    let mut s = handshake(cfg);
    s.send(&[0; 10 * MSS as usize]);
    s.sent();
    // RTO: ssthresh = 5 segments, cwnd 1; slow start back to 5 with ACKs per segment.
    let rto = s.ep.stats(s.id()).unwrap().rto;
    s.advance(rto + Duration::from_millis(1));
    assert_eq!(s.ep.stats(s.id()).unwrap().ssthresh, Some(5 * MSS));
    let mut acked = 0;
    while s.ep.stats(s.id()).unwrap().cwnd.unwrap() < 5 * MSS {
        acked += 1;
        s.inject(Seg::new(A, T + 1, seg_seq(acked)));
        s.sent();
    }
    s.inject(Seg::new(A, T + 1, seg_seq(10)));
    s.sent();
    let cwnd = s.ep.stats(s.id()).unwrap().cwnd.unwrap();
    assert!(cwnd >= 5 * MSS);
    // Two segments at a time, each ACKed: 40 ACKs, no growth (the window was never full).
    let mut at = 10;
    for _ in 0..20 {
        s.send(&[0; 2 * MSS as usize]);
        assert_eq!(s.sent().len(), 2);
        at += 2;
        s.inject(Seg::new(A, T + 1, seg_seq(at - 1)));
        s.inject(Seg::new(A, T + 1, seg_seq(at)));
    }
    assert_eq!(s.ep.stats(s.id()).unwrap().cwnd, Some(cwnd));
}

#[test]
fn repeated_rto_keeps_ssthresh() {
    // RFC 5681 3.1: ssthresh is set on the first expiry; the backed-off expiries that follow
    // (nothing acknowledged) do not lower it to the 2-segment floor.
    let mut s = setup(false);
    s.send(&[0; 10 * MSS as usize]);
    s.sent();
    let rto = s.ep.stats(s.id()).unwrap().rto;
    s.advance(rto + Duration::from_millis(1));
    let first = s.ep.stats(s.id()).unwrap();
    assert_eq!(first.timeouts, 1);
    // CUBIC: 0.7 * 10 segments.
    assert_eq!(first.ssthresh, Some(7 * MSS));
    s.advance(first.rto + Duration::from_millis(1));
    let second = s.ep.stats(s.id()).unwrap();
    assert_eq!(second.timeouts, 2);
    assert_eq!(second.ssthresh, Some(7 * MSS));
    assert_eq!(second.cwnd, Some(MSS));
}

// ---- statistics: the segment log with RACK off, the window reported in recovery ---------

/// `reordering`, `retrans_segments`, `unacked_segments` and `reordering_events` come from the
/// per-segment log, which is kept with RACK's loss detection off too (they used to be `None`
/// then); loss detection itself stays RFC 6675's.
#[test]
fn segment_counts_are_kept_with_rack_off() {
    let mut s = setup_rack(false);
    let at = |k: u32| I + 1 + MSS + k * MSS;
    let st = s.ep.stats(s.id()).unwrap();
    assert_eq!(
        (st.reordering, st.reordering_events, st.unacked_segments, st.retrans_segments),
        (Some(3), Some(0), Some(0), Some(0))
    );
    s.send(&[0; 10 * MSS as usize]);
    assert_eq!(s.sent().len(), 10);
    assert_eq!(s.ep.stats(s.id()).unwrap().unacked_segments, Some(10));
    s.advance(Duration::from_millis(20));
    // Segment 8 is SACKed, then segment 1, an original transmission sent before it: the
    // network reordered it by 8 segments (from 1's start to the end of 8).
    s.inject(sack_ack(at(0), &[(at(8), at(9))]));
    s.inject(sack_ack(at(0), &[(at(1), at(2)), (at(8), at(9))]));
    let st = s.ep.stats(s.id()).unwrap();
    assert_eq!((st.reordering, st.reordering_events), (Some(8), Some(1)), "{st:?}");
    assert!(!st.in_recovery, "two SACKed segments: no RFC 6675 loss yet");
    assert_eq!(st.retransmits, 0);
    // The RTO resends the first segment: one retransmission in flight.
    let rto = st.rto;
    s.advance(rto + Duration::from_millis(1));
    let st = s.ep.stats(s.id()).unwrap();
    assert_eq!(st.timeouts, 1);
    assert_eq!(st.retrans_segments, Some(1), "{st:?}");
    assert_eq!(st.unacked_segments, Some(10));
    s.inject(Seg::new(A, T + 1, at(10)));
    let st = s.ep.stats(s.id()).unwrap();
    assert_eq!((st.unacked_segments, st.retrans_segments), (Some(0), Some(0)));
}

/// Without SACK the log still counts segments in flight and retransmissions.
#[test]
fn segment_counts_without_sack() {
    let mut s = setup(false);
    s.send(&[0; 6 * MSS as usize]);
    assert_eq!(s.sent().len(), 6);
    let st = s.ep.stats(s.id()).unwrap();
    assert_eq!((st.unacked_segments, st.retrans_segments), (Some(6), Some(0)));
    assert_eq!((st.reordering, st.reordering_events), (Some(3), Some(0)));
    s.advance(Duration::from_millis(10));
    s.inject(Seg::new(A, T + 1, seg_seq(2)));
    assert_eq!(s.ep.stats(s.id()).unwrap().unacked_segments, Some(4));
    let rto = s.ep.stats(s.id()).unwrap().rto;
    s.advance(rto + Duration::from_millis(1));
    let st = s.ep.stats(s.id()).unwrap();
    assert_eq!((st.timeouts, st.retrans_segments), (1, Some(1)), "{st:?}");
}

/// In recovery with PRR, `ConnStats::cwnd` is PRR's window (`pipe + sndcnt`, what Linux
/// reports as `tcpi_snd_cwnd`), not the controller's cwnd (ssthresh since the reduction).
#[test]
fn stats_cwnd_in_recovery_is_prrs_window() {
    let mut s = prr_setup(true);
    let ack = seg_seq(0);
    answer(&mut s, sack_ack(ack, &[(seg_seq(4), seg_seq(5))]));
    s.advance(Duration::from_millis(2));
    answer(&mut s, sack_ack(ack, &[(seg_seq(4), seg_seq(6))]));
    s.advance(Duration::from_millis(2));
    // Recovery: 12 sent, 3 SACKed, 4 lost (RACK): pipe 5; PRR-CRB allows one segment
    // (delivered 1), so the window is 6 segments while the controller's cwnd is 7.
    assert_eq!(answer(&mut s, sack_ack(ack, &[(seg_seq(4), seg_seq(7))])), [0]);
    let st = s.ep.stats(s.id()).unwrap();
    assert!(st.in_recovery);
    assert_eq!(st.ssthresh, Some(7 * MSS));
    assert_eq!(st.cwnd, Some(6 * MSS), "{st:?}");
    // Each later SACK of one segment: pipe 5 again, plus one.
    s.advance(Duration::from_millis(2));
    assert_eq!(answer(&mut s, sack_ack(ack, &[(seg_seq(4), seg_seq(8))])), [1]);
    assert_eq!(s.ep.stats(s.id()).unwrap().cwnd, Some(6 * MSS));
    // Recovery ends with everything acknowledged: the controller's window again.
    s.advance(Duration::from_millis(20));
    let nxt = s.ep.stats(s.id()).unwrap().snd_nxt.0;
    s.inject(Seg::new(A, T + 1, nxt));
    let st = s.ep.stats(s.id()).unwrap();
    assert!(!st.in_recovery);
    assert_eq!(st.cwnd, Some(7 * MSS), "{st:?}");
}

/// With PRR off, NewReno recovery reports its inflated window (ssthresh + 3 SMSS + one per
/// further duplicate ACK, RFC 6582), the window the sender obeys.
#[test]
fn stats_cwnd_in_newreno_recovery_without_prr_is_inflated() {
    let mut s = reno_twenty_in_flight(false);
    s.advance(Duration::from_millis(20));
    let dup = Seg::new(A, T + 1, seg_seq(10));
    answer(&mut s, dup.clone());
    answer(&mut s, dup.clone());
    assert_eq!(answer(&mut s, dup.clone()), [10]);
    assert_eq!(s.ep.stats(s.id()).unwrap().cwnd, Some(13 * MSS));
    answer(&mut s, dup.clone());
    let st = s.ep.stats(s.id()).unwrap();
    assert_eq!((st.cwnd, st.ssthresh), (Some(14 * MSS), Some(10 * MSS)));
}

/// RFC 8985 7.2, and Linux's one timer for both: a probe deadline clamped to the RTO's is a
/// probe, not a timeout (no backoff, and the RTO is armed again from the probe). Once the RTO
/// has fired, no probe is armed until the data outstanding at the timeout is acknowledged
/// (Linux probes only in its Open state), so the next copy waits for the backed-off RTO.
#[test]
fn rack_probe_clamped_to_the_rto_is_a_probe_and_none_follows_an_rto() {
    let cfg = ConnConfig {
        sack: true,
        timestamps: false,
        window_scaling: false,
        nodelay: true,
        rack: true,
        ..ConnConfig::default()
    };
    // 100 ms path: one segment in flight gives PTO = 2 * SRTT + the delayed-ACK allowance,
    // later than the RTO, so the probe is clamped to the RTO's deadline.
    let syn = Seg::new(S, T, 0).mss(MSS as u16).sack_ok();
    let mut s = Script::established_passive_over(cfg, syn, Duration::from_millis(100));
    s.send(&[0; MSS as usize]);
    s.sent();
    s.advance(Duration::from_millis(100));
    s.inject(Seg::new(A, T + 1, I + 1 + MSS));
    let rto = s.ep.stats(s.id()).unwrap().rto;
    let sent_at = s.now;
    s.send(&[0; MSS as usize]);
    assert_eq!(s.sent().len(), 1);
    let out = s.advance(rto);
    assert_eq!(out.len(), 1, "the probe at the RTO's deadline: {out:?}");
    assert_eq!(out[0].0, sent_at + rto);
    let st = s.ep.stats(s.id()).unwrap();
    assert_eq!((st.timeouts, st.rto), (0, rto), "a probe, not a timeout: {st:?}");
    // The RTO one RTO after the probe.
    let out = s.advance(rto);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].0, sent_at + rto * 2);
    assert_eq!(s.ep.stats(s.id()).unwrap().timeouts, 1);
    // No probe in RTO recovery: nothing until the backed-off RTO.
    let out = s.advance(rto * 2 - Duration::from_millis(1));
    assert!(out.is_empty(), "no probe after an RTO: {out:?}");
    let out = s.advance(Duration::from_millis(1));
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(s.ep.stats(s.id()).unwrap().timeouts, 2);
}
