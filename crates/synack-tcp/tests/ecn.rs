//! RFC 3168 ECN (RFC 9293 SHLD-8): negotiation, ECT on data, ECE echo until CWR, one window
//! reduction per window of data. Off by default.

mod script;
use script::*;
use synack_tcp::ConnConfig;
use synack_wire::tcp::TcpFlags;

const I: u32 = ISS;
const T: u32 = IRS;
const ECE: TcpFlags = TcpFlags::ECE;
const CWR: TcpFlags = TcpFlags::CWR;

fn ecn_cfg() -> ConnConfig {
    ConnConfig { ecn: true, nodelay: true, ..plain() }
}

fn passive_ecn() -> Script {
    let mut s = Script::listening(ecn_cfg());
    s.inject(Seg::new(S | ECE | CWR, T, 0).mss(1000));
    let sa = s.one();
    assert!(sa.flags.contains(ECE) && !sa.flags.contains(CWR), "ECN-setup SYN-ACK: {sa:?}");
    s.inject(Seg::new(A, T + 1, I + 1));
    s.conn = s.ep.accept(s.listener.unwrap());
    s
}

#[test]
fn shld_8_ecn_off_by_default() {
    let mut s = Script::connecting(plain());
    let syn = s.one();
    assert!(!syn.flags.contains(ECE) && !syn.flags.contains(CWR));
    let mut s = Script::listening(plain());
    s.inject(Seg::new(S | ECE | CWR, T, 0));
    assert!(!s.one().flags.contains(ECE), "no ECN unless configured");
}

#[test]
fn shld_8_ecn_negotiated_active_and_data_is_ect() {
    let mut s = Script::connecting(ecn_cfg());
    let syn = s.one();
    assert!(syn.flags.contains(S | ECE | CWR));
    s.inject(Seg::new(SA | ECE, T, I + 1).mss(1000));
    s.one();
    s.send(b"hello");
    let out = s.sent_ecn();
    assert_eq!(out[0].1, 2, "ECT(0) on new data");
    // Pure ACKs are not ECN-capable.
    s.inject(Seg::new(A, T + 1, I + 6).data(b"x"));
    let acks = s.sent_ecn();
    assert!(acks.iter().all(|(o, e)| o.payload.is_empty() && *e == 0));
}

#[test]
fn shld_8_ce_is_echoed_with_ece_until_cwr() {
    let mut s = passive_ecn();
    s.inject_ecn(Seg::new(A, T + 1, I + 1).len(100), 3);
    let o = s.one();
    assert!(o.flags.contains(ECE), "ECE after CE: {o:?}");
    s.inject(Seg::new(A, T + 101, I + 1).len(100));
    s.advance(synack_tcp::Duration::from_millis(100));
    s.inject(Seg::new(A, T + 201, I + 1).len(100));
    let later = s.advance(synack_tcp::Duration::from_millis(100));
    assert!(later.iter().all(|(_, o)| o.flags.contains(ECE)), "still echoing: {later:?}");
    // CWR from the sender stops the echo.
    s.inject(Seg::new(A | CWR, T + 301, I + 1).len(100));
    let after = s.advance(synack_tcp::Duration::from_millis(100));
    assert!(after.iter().all(|(_, o)| !o.flags.contains(ECE)), "{after:?}");
}

#[test]
fn shld_8_ece_reduces_window_once_and_sets_cwr() {
    let mut s = passive_ecn();
    s.send(&[0; 10_000]);
    assert_eq!(s.sent().len(), 10);
    let before = s.ep.stats(s.id()).unwrap().cwnd.unwrap();
    s.inject(Seg::new(A | ECE, T + 1, I + 1001));
    let after = s.ep.stats(s.id()).unwrap();
    assert!(after.ssthresh.unwrap() < before, "{after:?}");
    let cwnd1 = after.cwnd.unwrap();
    // More ECEs in the same window: no further reduction.
    s.inject(Seg::new(A | ECE, T + 1, I + 2001));
    assert!(s.ep.stats(s.id()).unwrap().cwnd.unwrap() >= cwnd1);
    // The next new data carries CWR.
    s.send(&[0; 1000]);
    s.inject(Seg::new(A | ECE, T + 1, I + 10001));
    let out = s.sent();
    let first_new = out.iter().find(|o| !o.payload.is_empty()).expect("new data");
    assert!(first_new.flags.contains(CWR), "{out:?}");
}

/// RFC 9937 applies PRR to any window reduction, an ECN-Echo one included (RFC 3168 6.1.2):
/// the cut from 10 to 7 segments (CUBIC's 0.7) is spread over the window of data the echo
/// refers to, 7 new segments for the 10 delivered, instead of a silence of three ACKs
/// followed by one segment per ACK (the test below, PRR off). The window does not grow meanwhile, and `cwnd` in the
/// stats is PRR's window until the reduction ends.
#[test]
fn shld_8_ece_reduction_is_paced_by_prr() {
    let mut s = passive_ecn();
    s.send(&[0; 30_000]);
    assert_eq!(s.sent().len(), 10);
    let mut pattern = Vec::new();
    let mut cwnds = Vec::new();
    for k in 1..=10u32 {
        let flags = if k == 1 { A | ECE } else { A };
        s.inject(Seg::new(flags, T + 1, I + 1 + k * 1000));
        pattern.push(s.sent().iter().filter(|o| !o.payload.is_empty()).count());
        cwnds.push(s.ep.stats(s.id()).unwrap().cwnd.unwrap() / 1000);
    }
    // While pipe > ssthresh: sndcnt = ceil(delivered * ssthresh / RecoverFS) - sent, with
    // ssthresh 7 and RecoverFS 10 (ACKs 1-7); from the 8th ACK pipe has come down to
    // ssthresh and PRR-CRB keeps it there (min(ssthresh - pipe, delivered - sent)).
    assert_eq!(pattern, [1, 1, 1, 0, 1, 1, 0, 0, 1, 1], "{cwnds:?}");
    assert_eq!(cwnds, [10, 10, 10, 9, 9, 9, 8, 7, 7, 7]);
    assert_eq!(pattern.iter().sum::<usize>(), 7);
    let st = s.ep.stats(s.id()).unwrap();
    assert_eq!(st.ssthresh, Some(7000));
    // The ACK of the tenth segment ended the reduction: the controller's window, 7 segments,
    // with 7 in flight.
    assert_eq!(st.cwnd, Some(7000), "{cwnds:?}");
    assert_eq!(st.snd_nxt.0 - st.snd_una.0, 7000);
    assert!(!st.in_recovery);
}

/// With PRR off the ECN-Echo cuts the window at once (RFC 3168 6.1.2 as RFC 5681 does it):
/// nothing new leaves until the flight has fallen below the new cwnd.
#[test]
fn shld_8_ece_without_prr_cuts_at_once() {
    let mut s = Script::listening(ConnConfig { prr: false, ..ecn_cfg() });
    s.inject(Seg::new(S | ECE | CWR, T, 0).mss(1000));
    s.one();
    s.inject(Seg::new(A, T + 1, I + 1));
    s.conn = s.ep.accept(s.listener.unwrap());
    s.send(&[0; 30_000]);
    assert_eq!(s.sent().len(), 10);
    let mut pattern = Vec::new();
    for k in 1..=10u32 {
        let flags = if k == 1 { A | ECE } else { A };
        s.inject(Seg::new(flags, T + 1, I + 1 + k * 1000));
        pattern.push(s.sent().iter().filter(|o| !o.payload.is_empty()).count());
    }
    assert_eq!(&pattern[..4], [0, 0, 0, 1]);
}
