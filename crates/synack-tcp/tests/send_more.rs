//! Writes that announce more data (`Endpoint::send_more`, Linux's `MSG_MORE`): a sub-MSS tail
//! waits even with nothing in flight and TCP_NODELAY set, until a segment arrives, a plain
//! write follows, or the persist timer sends it (with PSH) one RTO later; full segments go at
//! once; the queue's end such a write makes is no push point.

mod script;
use script::*;
use synack_tcp::{Duration, Instant};

const I: u32 = ISS;
const T: u32 = IRS;

/// A corked 40-byte write waits for the persist timer (one RTO, nothing in flight) and then
/// leaves with PSH.
#[test]
fn a_corked_tail_waits_for_the_persist_timer() {
    let mut s = established_plain_mss1000(true);
    let rto = s.ep.stats(s.id()).unwrap().rto;
    let start = s.now;
    assert_eq!(s.ep.send_more(s.id(), &[1; 40]).unwrap(), 40);
    s.none();
    let out = s.advance(rto + Duration::from_millis(1));
    let sent: Vec<(Instant, Out)> = out.into_iter().collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0, start + rto, "sent when the persist timer fires");
    assert_eq!(payload_ranges(&[sent[0].1.clone()]), [(1, 41, true)]);
}

/// Corked writes gather until a plain write ends them: one segment, with PSH.
#[test]
fn a_plain_write_releases_the_cork() {
    let mut s = established_plain_mss1000(true);
    for n in [100, 160, 495] {
        assert_eq!(s.ep.send_more(s.id(), &vec![2; n]).unwrap(), n);
        s.none();
    }
    s.send(&[3; 5]);
    assert_eq!(payload_ranges(&s.sent()), [(1, 761, true)]);
}

/// A corked write larger than the MSS sends its full segments at once and keeps the tail; the
/// next arriving ACK lifts the cork (the socket's TCP_NODELAY applies again), and the tail goes
/// without PSH, as the write that made it announced more.
#[test]
fn an_ack_lifts_the_cork_without_a_push() {
    let mut s = established_plain_mss1000(true);
    assert_eq!(s.ep.send_more(s.id(), &[4; 3100]).unwrap(), 3100);
    assert_eq!(
        payload_ranges(&s.sent()),
        [(1, 1001, false), (1001, 2001, false), (2001, 3001, false)]
    );
    assert_eq!(s.ep.send_more(s.id(), &[5; 50]).unwrap(), 50);
    s.none();
    s.advance(Duration::from_millis(10));
    s.inject(Seg::new(A, T + 1, I + 2001));
    assert_eq!(payload_ranges(&s.sent()), [(3001, 3151, false)]);
}

/// Without the cork the same first write leaves at once (TCP_NODELAY), with PSH.
#[test]
fn a_plain_write_is_not_held() {
    let mut s = established_plain_mss1000(true);
    s.send(&[1; 40]);
    assert_eq!(payload_ranges(&s.sent()), [(1, 41, true)]);
}
