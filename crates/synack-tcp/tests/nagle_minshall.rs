//! Minshall's variant of Nagle's algorithm (`ConnConfig::nagle_minshall`, Linux's
//! `tcp_minshall_check`): a sub-MSS segment waits only while an earlier sub-MSS segment is
//! unacknowledged; without the knob it waits while any data is (RFC 9293 3.7.4, SHLD-7).

mod script;
use script::*;
use synack_tcp::ConnConfig;

const I: u32 = ISS;
const T: u32 = IRS;
const MSS: usize = 1460;

fn established(minshall: bool) -> Script {
    let cfg = ConnConfig {
        sack: false,
        timestamps: false,
        window_scaling: false,
        nagle_minshall: minshall,
        ..ConnConfig::default()
    };
    let mut s = Script::established_passive_with(cfg, I, T);
    s.sent();
    s
}

/// A full segment and a short tail written at once: with the knob both leave together (no
/// sub-MSS segment is in flight); without it the tail waits for the full one's ACK.
#[test]
fn a_short_tail_after_a_full_segment() {
    let mut s = established(true);
    s.send(&[7; MSS + 100]);
    let out = s.sent();
    let lens: Vec<usize> = out.iter().map(|o| o.payload.len()).collect();
    assert_eq!(lens, [MSS, 100]);
    check(&out[1], PA, I + 1 + MSS as u32, T + 1);

    let mut s = established(false);
    s.send(&[7; MSS + 100]);
    assert_eq!(s.one().payload.len(), MSS);
    s.none();
    s.inject(Seg::new(A, T + 1, I + 1 + MSS as u32));
    let o = s.one();
    assert_eq!((o.seq, o.payload.len()), (I + 1 + MSS as u32, 100));
}

/// Small writes: with the knob a second small segment still waits while the first small one
/// is unacknowledged, and leaves on its ACK, even with a full segment then in flight.
#[test]
fn a_small_segment_waits_for_the_last_small_one() {
    let mut s = established(true);
    s.send(b"a");
    assert_eq!(s.one().payload, b"a");
    s.send(b"b");
    s.none();
    s.send(&[9; MSS]);
    // A full segment's worth is queued behind the held byte: one MSS goes, its tail waits.
    assert_eq!(s.one().payload.len(), MSS);
    s.none();
    // The ACK of the small segment only (the full one still in flight) frees the tail.
    s.inject(Seg::new(A, T + 1, I + 2));
    let o = s.one();
    assert_eq!((o.seq, o.payload.len()), (I + 2 + MSS as u32, 1));
    // That tail is now the unacknowledged small segment: the next small write waits.
    s.send(b"c");
    s.none();
    s.inject(Seg::new(A, T + 1, I + 3 + MSS as u32));
    assert_eq!(s.one().payload, b"c");
}

/// Without the knob, any unacknowledged data holds a small segment, even when only full
/// segments are in flight.
#[test]
fn without_the_knob_any_data_in_flight_holds_it() {
    let mut s = established(false);
    s.send(&[9; MSS]);
    assert_eq!(s.one().payload.len(), MSS);
    s.send(b"d");
    s.none();
    let mut s = established(true);
    s.send(&[9; MSS]);
    assert_eq!(s.one().payload.len(), MSS);
    s.send(b"d");
    assert_eq!(s.one().payload, b"d");
}
