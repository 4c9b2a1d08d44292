//! Record ends (`Endpoint::send_record`, Linux's `MSG_EOR`): no segment carries bytes of two
//! records, first transmissions and retransmissions alike; a segment cut at a record end goes
//! at once (Nagle does not hold it) and carries PSH.

mod script;
use script::*;
use synack_tcp::Duration;

const I: u32 = ISS;
const T: u32 = IRS;

/// Three writes: 1500 bytes, a 700-byte record, 1500 bytes. The record's end (2201) ends a
/// segment, though Nagle holds a short segment while data is in flight, and carries PSH; a
/// plain write's end (1501) splits nothing. The retransmission after an RTO stops at the
/// record's end too.
#[test]
fn a_record_end_ends_a_segment() {
    let mut s = established_plain_mss1000(false);
    s.send(&[1; 1500]);
    assert_eq!(s.ep.send_record(s.id(), &[2; 700]).unwrap(), 700);
    s.send(&[3; 1500]);
    let out = s.sent();
    assert_eq!(
        payload_ranges(&out),
        [(1, 1001, false), (1001, 2001, false), (2001, 2201, true), (2201, 3201, false)]
    );
    s.advance(Duration::from_millis(20));
    s.inject(Seg::new(A, T + 1, I + 2001));
    assert_eq!(s.sent().len(), 0, "the sub-MSS tail waits for the ACK of what is in flight");
    let rtx: Vec<Out> = s.advance(Duration::from_secs(3)).into_iter().map(|(_, o)| o).collect();
    assert_eq!(payload_ranges(&rtx)[0], (2001, 2201, true), "{rtx:?}");
}

/// Without records the same writes leave as full segments.
#[test]
fn plain_writes_coalesce() {
    let mut s = established_plain_mss1000(false);
    s.send(&[1; 1500]);
    s.send(&[2; 700]);
    s.send(&[3; 1500]);
    let out = s.sent();
    assert_eq!(payload_ranges(&out), [(1, 1001, false), (1001, 2001, false), (2001, 3001, false)]);
}
