//! Accurate ECN (RFC 9768) on virtual time: negotiation on the handshake and its fallbacks,
//! the ACE field and AccECN option a data receiver sends (the 3-bit counter wrapping), and
//! what a data sender reads back from them.

mod script;
use script::*;
use synack_tcp::{AccEcnConfig, AccEcnOptionPolicy, ConnConfig, Duration};
use synack_wire::tcp::{AccEcnOption, TcpFlags};

const I: u32 = ISS;
const T: u32 = IRS;

/// The flags that carry ACE value `a` (AE, CWR, ECE from the top bit down).
fn ace(a: u8) -> TcpFlags {
    let mut f = TcpFlags::NONE;
    for (bit, flag) in [(4, TcpFlags::AE), (2, TcpFlags::CWR), (1, TcpFlags::ECE)] {
        if a & bit != 0 {
            f |= flag;
        }
    }
    f
}

fn ace_of(f: TcpFlags) -> u8 {
    (f.contains(TcpFlags::AE) as u8) << 2
        | (f.contains(TcpFlags::CWR) as u8) << 1
        | f.contains(TcpFlags::ECE) as u8
}

fn accecn_cfg() -> ConnConfig {
    ConnConfig {
        ecn: true,
        accecn: AccEcnConfig { request: true, accept: true, ..AccEcnConfig::default() },
        nodelay: true,
        ..plain()
    }
}

/// The peer's option with its counters at their initial values (order 0, as packetdrill's
/// scripts write it).
fn peer_option() -> AccEcnOption {
    AccEcnOption::order0(1, 0, 1, 3)
}

/// A passive AccECN connection, established; its SYN-ACK is returned too.
fn passive() -> (Script, Out) {
    let mut s = Script::listening(accecn_cfg());
    s.inject_ecn(Seg::new(S | ace(7), T, 0).mss(1000), 2);
    let sa = s.one();
    let mut third = Seg::new(A | ace(0b010), T + 1, I + 1);
    third.options.accecn = Some(peer_option());
    s.inject_ecn(third, 2);
    s.conn = s.ep.accept(s.listener.unwrap());
    (s, sa)
}

#[test]
fn off_by_default() {
    let mut s = Script::connecting(plain());
    assert_eq!(ace_of(s.one().flags), 0);
    let mut s = Script::listening(ConnConfig { ecn: true, ..plain() });
    s.inject(Seg::new(S | ace(7), T, 0));
    let sa = s.one();
    // Only classic ECN is configured: the ECE and CWR of the AccECN request ask for classic
    // ECN, which is what the SYN-ACK agrees to (RFC 9768 Table 2).
    assert_eq!(ace_of(sa.flags), 0b001, "{sa:?}");
    assert!(sa.options.accecn.is_none());
}

#[test]
fn passive_negotiation_reflects_the_syn_codepoint() {
    for (codepoint, want) in [(0u8, 0b010u8), (1, 0b011), (2, 0b100), (3, 0b110)] {
        let mut s = Script::listening(accecn_cfg());
        s.inject_ecn(Seg::new(S | ace(7), T, 0).mss(1000), codepoint);
        let sent = s.sent_ecn();
        let (sa, ecn) = &sent[0];
        assert_eq!(ace_of(sa.flags), want, "SYN arrived with codepoint {codepoint}");
        assert_eq!(*ecn, 0, "the SYN-ACK is not ECN-capable");
        let o = sa.options.accecn.expect("the SYN-ACK carries the option");
        assert_eq!((o.e1b(), o.ceb(), o.e0b()), (Some(1), Some(0), Some(1)));
    }
    // A classic ECN SYN (ECE and CWR) still gets classic ECN.
    let mut s = Script::listening(accecn_cfg());
    s.inject(Seg::new(S | ace(0b011), T, 0));
    let sa = s.one();
    assert_eq!(ace_of(sa.flags), 0b001, "{sa:?}");
}

#[test]
fn passive_connection_sends_ace_and_ect0() {
    let (mut s, _) = passive();
    let st = s.ep.stats(s.id()).unwrap();
    assert!(st.accecn && !st.ecn);
    s.send(b"hello");
    let sent = s.sent_ecn();
    let (d, ecn) = &sent[0];
    assert_eq!(*ecn, 2, "ECT(0) on data");
    assert_eq!(ace_of(d.flags), 5, "r.cep starts at 5: {d:?}");
    assert!(d.options.accecn.is_some(), "the peer sent the option, so we do");
}

#[test]
fn active_negotiation_and_fallbacks() {
    // AccECN: the SYN-ACK's ACE reflects our SYN's Not-ECT; the ACK reflects the SYN-ACK's.
    let mut s = Script::connecting(accecn_cfg());
    let syn = s.one();
    assert_eq!(ace_of(syn.flags), 7);
    let mut sa = Seg::new(SA | ace(0b010), T, I + 1).mss(1000);
    sa.options.accecn = Some(peer_option());
    s.inject_ecn(sa, 3);
    let sent = s.sent_ecn();
    let (ack, ecn) = &sent[0];
    assert_eq!(ace_of(ack.flags), 0b110, "the CE of the SYN-ACK reflected: {ack:?}");
    assert_eq!(*ecn, 2);
    assert!(ack.options.accecn.is_some());
    s.send(b"x");
    let (d, _) = &s.sent_ecn()[0];
    assert_eq!(ace_of(d.flags), 6, "the CE-marked SYN-ACK counted in r.cep");

    // 0b001: classic ECN.
    let mut s = Script::connecting(accecn_cfg());
    s.one();
    s.inject(Seg::new(SA | TcpFlags::ECE, T, I + 1));
    s.one();
    let st = s.ep.stats(s.id()).unwrap();
    assert!(st.ecn && !st.accecn);
    // 0b000 and 0b111 (broken): no ECN.
    for a in [0, 7] {
        let mut s = Script::connecting(accecn_cfg());
        s.one();
        s.inject(Seg::new(SA | ace(a), T, I + 1));
        let sent = s.sent_ecn();
        assert_eq!((ace_of(sent[0].0.flags), sent[0].1), (0, 0));
        let st = s.ep.stats(s.id()).unwrap();
        assert!(!st.ecn && !st.accecn);
    }
}

#[test]
fn syn_drops_ecn_flags_on_the_second_retransmission() {
    let mut s = Script::connecting(accecn_cfg());
    assert_eq!(ace_of(s.one().flags), 7);
    let mut aces = Vec::new();
    for _ in 0..3 {
        for (_, o) in s.advance(Duration::from_secs(8)) {
            aces.push(ace_of(o.flags));
        }
    }
    assert_eq!(&aces[..2], &[7, 0], "first retransmission asks again, the second does not");
}

/// The receiver's ACE counts CE packets modulo 8: eight marks bring it back to 5, and the
/// option's ECEB counts their bytes.
#[test]
fn receiver_ace_wraps_after_eight_marks() {
    let (mut s, _) = passive();
    s.sent();
    let mut seq = T + 1;
    let mut aces = Vec::new();
    for _ in 0..9 {
        s.inject_ecn(Seg::new(A | ace(5), seq, I + 1).len(100), 3);
        seq += 100;
        let out = s.advance(Duration::from_millis(300));
        let last = out.last().expect("an ACK").1.clone();
        aces.push(ace_of(last.flags));
        let o = last.options.accecn.expect("option on the ACK");
        assert_eq!(o.ceb(), Some(seq - T - 1), "ECEB counts CE bytes");
    }
    assert_eq!(aces, [6, 7, 0, 1, 2, 3, 4, 5, 6]);
}

/// The sender reads CE marks from ACE deltas (wrapping), reduces its window once for them,
/// and reads the peer's byte counters from the option.
#[test]
fn sender_counts_ce_and_reduces_once() {
    let (mut s, _) = passive();
    s.send(&[0; 5000]);
    // Each segment gives 12 of its 1000 bytes to the option: six segments.
    let sent = s.sent();
    assert_eq!(sent.len(), 6);
    assert!(sent.iter().all(|o| o.options.accecn.is_some() && o.payload.len() <= 988));
    let cwnd_before = s.ep.stats(s.id()).unwrap().cwnd.unwrap();
    let mut ack = Seg::new(A | ace(6), T + 1, I + 1001);
    ack.options.accecn = Some(AccEcnOption::order0(1, 1000, 1, 3));
    s.inject(ack);
    let st = s.ep.stats(s.id()).unwrap();
    assert_eq!(st.delivered_ce, 1);
    assert_eq!(st.delivered_ecn_bytes, (1000, 0, 0));
    assert!(st.ssthresh.unwrap() < cwnd_before, "{st:?}");
    let ssthresh = st.ssthresh.unwrap();
    // A second mark in the same window: counted, not reduced again.
    s.inject(Seg::new(A | ace(7), T + 1, I + 2001));
    let st = s.ep.stats(s.id()).unwrap();
    assert_eq!((st.delivered_ce, st.ssthresh.unwrap()), (2, ssthresh));
    // The ACE wraps past 7: each ACK of one more packet with the ACE one up reads one mark.
    let mut a = 7u8;
    for k in 0..3u32 {
        a = (a + 1) & 7;
        s.inject(Seg::new(A | ace(a), T + 1, I + 3001 + 1000 * k));
        assert_eq!(s.ep.stats(s.id()).unwrap().delivered_ce, 3 + k, "ACE {a}");
    }
    // A duplicate ACK (no progress) is not read, whatever its ACE.
    s.inject(Seg::new(A | ace(6), T + 1, I + 5001));
    assert_eq!(s.ep.stats(s.id()).unwrap().delivered_ce, 5);
}

/// With the option switched off nothing carries it, and ACE alone still works.
#[test]
fn option_policy_never() {
    let mut cfg = accecn_cfg();
    cfg.accecn.option = AccEcnOptionPolicy::Never;
    let mut s = Script::listening(cfg);
    s.inject(Seg::new(S | ace(7), T, 0).mss(1000));
    let sa = s.one();
    assert!(sa.options.accecn.is_none());
    assert_eq!(ace_of(sa.flags), 0b010);
    let mut third = Seg::new(A | ace(0b010), T + 1, I + 1);
    third.options.accecn = Some(peer_option());
    s.inject(third);
    s.conn = s.ep.accept(s.listener.unwrap());
    s.inject_ecn(Seg::new(A | ace(5), T + 1, I + 1).len(10), 3);
    let out = s.advance(Duration::from_millis(300));
    let (_, o) = out.last().unwrap();
    assert_eq!(ace_of(o.flags), 6);
    assert!(o.options.accecn.is_none());
}
