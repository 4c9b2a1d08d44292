//! An RTO after an application-limited spell: RFC 5681 computes ssthresh from FlightSize
//! (one segment here), Linux's controllers from cwnd (ten segments).
use super::*;

const MSS: u32 = 1000;
const ISS: SeqNum = SeqNum(1_000);

/// ssthresh after an RTO with one segment outstanding under a window of ten.
fn ssthresh_after_rto(choice: CcChoice, from_cwnd: bool) -> u32 {
    let una = ISS + 1;
    let mut r = Recovery::new(choice, MSS, ISS);
    r.want_rto_from_cwnd(from_cwnd);
    r.on_established(MSS, true, una, None);
    assert_eq!(r.cc.cwnd(), 10 * MSS);
    let t0 = Instant::from_millis(100);
    r.on_send_new(t0, una, una + MSS, true, Duration::from_secs(1));
    r.on_rto(t0 + Duration::from_millis(300), una, una + MSS);
    // A backoff of the same loss leaves ssthresh alone.
    r.on_rto(t0 + Duration::from_millis(900), una, una + MSS);
    r.cc.ssthresh()
}

#[test]
fn an_rto_reduces_from_flight_size_by_default() {
    assert_eq!(ssthresh_after_rto(CcChoice::Cubic, false), 2 * MSS);
    assert_eq!(ssthresh_after_rto(CcChoice::NewReno, false), 2 * MSS);
}

#[test]
fn an_rto_reduces_from_cwnd_when_asked() {
    // CUBIC: beta 0.7 of ten segments; NewReno: half of them.
    assert_eq!(ssthresh_after_rto(CcChoice::Cubic, true), 7 * MSS);
    assert_eq!(ssthresh_after_rto(CcChoice::NewReno, true), 5 * MSS);
}
