//! Mapping, option matching and merging, each on hand-built segments.

use super::*;
use crate::parser::parse;

fn spec(line: &str) -> PacketSpec {
    let s = parse(&format!("0 {line}"), "t").unwrap();
    match &s.events[0].kind {
        crate::ast::EventKind::Packet(p) => p.clone(),
        k => panic!("{k:?}"),
    }
}

fn cfg(mode: MatchMode) -> CheckConfig {
    CheckConfig {
        mode,
        ts_tick_usecs: 0,
        live_ts_hz: 1000,
        tolerance_usecs: 4000,
        ts_ecr_scaled: false,
    }
}

fn seg(flags: TcpFlags, seq: u32, ack: u32, len: usize, options: Vec<OptSpec>) -> Segment {
    Segment {
        udp: None,
        at: 0,
        src: unspecified(),
        dst: unspecified(),
        flags,
        seq,
        ack,
        window: 1000,
        urgent: 0,
        options,
        payload: vec![0; len],
        tos: 0,
        ttl: 64,
        checksum_ok: true,
    }
}

const SA: TcpFlags = TcpFlags(TcpFlags::SYN.0 | TcpFlags::ACK.0);

#[test]
fn isn_is_learned_from_the_syn_ack_and_applied_after() {
    let mut m = Mapping::default();
    let c = cfg(MatchMode::Strict);
    let live = seg(SA, 5000, 1, 0, vec![OptSpec::Mss(1460), OptSpec::Nop, OptSpec::WScale(8)]);
    m.check_outbound(&spec("> S. 0:0(0) ack 1 <mss 1460,nop,wscale 8>"), &live, &c).unwrap();
    assert!(m.isn_known());
    assert_eq!(m.local_to_live(1), 5001);
    let data = seg(TcpFlags::ACK | TcpFlags::PSH, 5001, 1, 1000, vec![]);
    m.check_outbound(&spec("> P. 1:1001(1000) ack 1"), &data, &c).unwrap();
    let inb = m.inbound(&spec("< . 1:1(0) ack 1001 win 257 <sack 1001:2001,nop,nop>"), &c).unwrap();
    assert_eq!(inb.ack, 6001);
    assert_eq!(inb.options[0], OptSpec::Sack(vec![(6001, 7001)]));
    assert_eq!(inb.seq, 1);
    assert_eq!(inb.window, 257);
    // An ACK without an ack number written acknowledges our ISN (script 0), shifted as
    // packetdrill shifts it; without the ACK flag the field stays 0.
    let bare = m.inbound(&spec("< . 1:10001(10000) win 320"), &c).unwrap();
    assert_eq!(bare.ack, 5000);
    let syn = m.inbound(&spec("< S 0:0(0) win 320"), &c).unwrap();
    assert_eq!(syn.ack, 0);
}

#[test]
fn a_failed_check_learns_nothing() {
    let mut m = Mapping::default();
    let c = cfg(MatchMode::Strict);
    let live = seg(TcpFlags::SYN, 5000, 0, 0, vec![]);
    let e = m.check_outbound(&spec("> S. 0:0(0) ack 1"), &live, &c).unwrap_err();
    assert_eq!(e, "flags: expected S. but got S");
    assert!(!m.isn_known());
}

#[test]
fn field_mismatches_are_named() {
    let mut m = Mapping::default();
    let c = cfg(MatchMode::Strict);
    let live = seg(TcpFlags::ACK, 1, 7, 0, vec![]);
    assert_eq!(
        m.check_outbound(&spec("> . 2:2(0) ack 7"), &live, &c).unwrap_err(),
        "seq: expected 2 but got 1"
    );
    assert_eq!(
        m.check_outbound(&spec("> . 1:1(0) ack 8"), &live, &c).unwrap_err(),
        "ack: expected 8 but got 7"
    );
    assert_eq!(
        m.check_outbound(&spec("> . 1:1(0) ack 7 win 5"), &live, &c).unwrap_err(),
        "win: expected 5 but got 1000"
    );
    assert!(m.check_outbound(&spec("> . 1:1(0) ack 7"), &live, &c).is_ok());
    assert!(
        m.check_outbound(&spec("> . 1:2(1) ack 7"), &live, &c)
            .unwrap_err()
            .starts_with("payload length")
    );
    assert!(
        m.check_outbound(&spec("> [ect0] . 1:1(0) ack 7"), &live, &c)
            .unwrap_err()
            .starts_with("ECN")
    );
}

#[test]
fn ack_field_without_ack_flag_counts_only_in_strict_mode() {
    let mut m = Mapping::default();
    let live = seg(TcpFlags::RST, 34, 99, 0, vec![]);
    assert!(m.check_outbound(&spec("> R 34:34(0)"), &live, &cfg(MatchMode::Strict)).is_err());
    assert!(m.check_outbound(&spec("> R 34:34(0)"), &live, &cfg(MatchMode::Relaxed)).is_ok());
}

#[test]
fn option_order_and_padding_strict_vs_relaxed() {
    let line = "> S 0:0(0) <mss 1460,nop,wscale 6,sackOK,TS val 100 ecr 0>";
    let live = seg(
        TcpFlags::SYN,
        77,
        0,
        0,
        vec![
            OptSpec::Mss(1460),
            OptSpec::SackOk,
            OptSpec::Timestamp { val: 3, ecr: 0 },
            OptSpec::Nop,
            OptSpec::WScale(6),
        ],
    );
    let e =
        Mapping::default().check_outbound(&spec(line), &live, &cfg(MatchMode::Strict)).unwrap_err();
    assert!(
        e.starts_with("options: expected <mss 1460,nop,wscale 6,sackOK,TS val 100 ecr 0> but got"),
        "{e}"
    );
    Mapping::default().check_outbound(&spec(line), &live, &cfg(MatchMode::Relaxed)).unwrap();
    // Values still count in relaxed mode.
    let e = Mapping::default()
        .check_outbound(
            &spec("> S 0:0(0) <mss 1400,sackOK,TS val 1 ecr 0,nop,wscale 6>"),
            &live,
            &cfg(MatchMode::Relaxed),
        )
        .unwrap_err();
    assert!(e.starts_with("options"), "{e}");
    // No options written means none on the wire.
    let e = Mapping::default()
        .check_outbound(&spec("> S 0:0(0)"), &live, &cfg(MatchMode::Relaxed))
        .unwrap_err();
    assert!(e.contains("expected none"), "{e}");
    // <...> checks nothing.
    Mapping::default()
        .check_outbound(&spec("> S 0:0(0) <...>"), &live, &cfg(MatchMode::Strict))
        .unwrap();
}

#[test]
fn ts_ecr_is_rewritten_from_the_outbound_table() {
    let mut m = Mapping::default();
    let c = cfg(MatchMode::Strict);
    let live = seg(
        SA,
        10,
        1,
        0,
        vec![OptSpec::Mss(1460), OptSpec::SackOk, OptSpec::Timestamp { val: 424242, ecr: 100 }],
    );
    m.check_outbound(&spec("> S. 0:0(0) ack 1 <mss 1460,sackOK,TS val 100 ecr 100>"), &live, &c)
        .unwrap();
    let inb =
        m.inbound(&spec("< . 1:1(0) ack 1 win 20000 <nop,nop,TS val 200 ecr 100>"), &c).unwrap();
    assert_eq!(inb.options[2], OptSpec::Timestamp { val: 200, ecr: 424242 });
    let e = m.inbound(&spec("< . 1:1(0) ack 1 win 1 <nop,nop,TS val 200 ecr 55>"), &c).unwrap_err();
    assert!(e.contains("never sent"), "{e}");
    // Relaxed echoes the newest live TSval instead.
    let r = m
        .inbound(
            &spec("< . 1:1(0) ack 1 win 1 <nop,nop,TS val 200 ecr 55>"),
            &cfg(MatchMode::Relaxed),
        )
        .unwrap();
    assert_eq!(r.options[2], OptSpec::Timestamp { val: 200, ecr: 424242 });
    // ecr 0 on a SYN stays 0.
    let syn = m.inbound(&spec("< S 0:0(0) win 1 <TS val 1 ecr 0>"), &c).unwrap();
    assert_eq!(syn.options[0], OptSpec::Timestamp { val: 1, ecr: 0 });
}

#[test]
fn tsval_is_checked_against_the_tick_when_asked() {
    let mut m = Mapping::default();
    let mut c = cfg(MatchMode::Strict);
    c.ts_tick_usecs = 1000;
    c.tolerance_usecs = 7000;
    let a = seg(SA, 10, 1, 0, vec![OptSpec::Timestamp { val: 5000, ecr: 100 }]);
    m.check_outbound(&spec("> S. 0:0(0) ack 1 <TS val 100 ecr 100>"), &a, &c).unwrap();
    let mut b = seg(
        TcpFlags::FIN | TcpFlags::ACK,
        11,
        1,
        0,
        vec![OptSpec::Nop, OptSpec::Nop, OptSpec::Timestamp { val: 6100, ecr: 200 }],
    );
    m.check_outbound(&spec("> F. 1:1(0) ack 1 <nop,nop,TS val 1200 ecr 200>"), &b, &c).unwrap();
    b.options[2] = OptSpec::Timestamp { val: 5300, ecr: 200 };
    let e = m
        .check_outbound(&spec("> F. 1:1(0) ack 1 <nop,nop,TS val 1200 ecr 200>"), &b, &c)
        .unwrap_err();
    assert!(e.starts_with("TS val"), "{e}");
}

#[test]
fn merging_consecutive_segments() {
    let p = TcpFlags::ACK | TcpFlags::PSH;
    let q: Vec<Segment> = (0..10)
        .map(|i| seg(if i == 9 { p } else { TcpFlags::ACK }, 1 + 1000 * i, 1, 1000, vec![]))
        .collect();
    let (m, used, complete) = merge_front(&q, 10_000, false).unwrap();
    assert_eq!((m.seq, m.len(), used, complete, m.flags), (1, 10_000, 10, true, p));
    let (m, used, complete) = merge_front(&q[..4], 10_000, false).unwrap();
    assert_eq!((m.len(), used, complete), (4000, 4, false));
    let (m, used, _) = merge_front(&q, 10_000, true).unwrap();
    assert_eq!((m.len(), used), (1000, 1));
    // A gap stops the merge and the result is final.
    let mut gap = q.clone();
    gap[2].seq += 1;
    let (m, used, complete) = merge_front(&gap, 10_000, false).unwrap();
    assert_eq!((m.len(), used, complete), (2000, 2, true));
    // A short segment may only come last.
    let mut short = q.clone();
    short[1].payload.truncate(500);
    short[2].seq = 1501;
    let (m, used, _) = merge_front(&short, 10_000, false).unwrap();
    assert_eq!((m.len(), used), (1500, 2));
    assert!(merge_front(&[], 1, false).is_none());
}

#[test]
fn a_bad_checksum_fails() {
    let mut live = seg(TcpFlags::ACK, 1, 7, 0, vec![]);
    live.checksum_ok = false;
    let e = Mapping::default().check_outbound(
        &spec("> . 1:1(0) ack 7"),
        &live,
        &cfg(MatchMode::Relaxed),
    );
    assert!(e.unwrap_err().starts_with("checksum"));
}

#[test]
fn inbound_needs_a_window() {
    let m = Mapping::default();
    assert!(m.inbound(&spec("< . 1:1(0) ack 1"), &cfg(MatchMode::Strict)).is_err());
}

#[test]
fn any_sequence_number_matches_whatever_the_stack_chose() {
    let c = cfg(MatchMode::Strict);
    let mut m = Mapping::default();
    m.check_outbound(&spec("> S. 0:0(0) ack 1"), &seg(SA, 5000, 1, 0, vec![]), &c).unwrap();
    // A segment at a sequence number unrelated to the ISN learned: only `...` matches it.
    let live = seg(TcpFlags::ACK, 123_456, 7, 0, vec![]);
    m.check_outbound(&spec("> . ...(0) ack 7"), &live, &c).unwrap();
    assert!(m.check_outbound(&spec("> . 1:1(0) ack 7"), &live, &c).is_err());
    // The length is still checked.
    assert!(m.check_outbound(&spec("> . ...(1) ack 7"), &live, &c).is_err());
}
