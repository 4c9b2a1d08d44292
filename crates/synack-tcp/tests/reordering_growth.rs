//! `ConnConfig::sack_growth_above_reordering`: once reordering is known to be high, an ACK
//! that only SACKs new data grows the window (Linux's `tcp_may_raise_cwnd`); below that
//! degree, and by default, only cumulative ACKs do (RFC 5681 3.1). Also a RACK
//! retransmission the device refuses: its segment stays lost, is not counted as a
//! retransmission in flight, and is offered again at the next ACK (Linux's
//! `tcp_xmit_retransmit_queue`).

mod script;
use script::*;
use synack_tcp::{ConnConfig, Duration};
use synack_wire::SeqNum;
use synack_wire::tcp::SackBlock;

const I: u32 = ISS;
const T: u32 = IRS;
const MSS: u32 = 1000;

fn established(above: Option<u8>) -> Script {
    let sack_growth_above_reordering = above.and_then(core::num::NonZeroU8::new);
    let cfg = ConnConfig {
        sack: true,
        timestamps: false,
        window_scaling: false,
        nodelay: true,
        rack: true,
        sack_growth_above_reordering,
        // Linux's slow start: a stretched cumulative ACK grows the window by all it covers.
        slow_start_ack_limit: None,
        ..ConnConfig::default()
    };
    let syn = Seg::new(S, T, 0).mss(MSS as u16).sack_ok();
    Script::established_passive_over(cfg, syn, Duration::from_millis(20))
}

fn seg(k: u32) -> u32 {
    I + 1 + k * MSS
}

fn sack_ack(ack: u32, blocks: &[(u32, u32)]) -> Seg {
    let mut seg = Seg::new(A, T + 1, ack);
    for (l, r) in blocks {
        seg.options.sack.push(SackBlock { left: SeqNum(*l), right: SeqNum(*r) });
    }
    seg
}

/// Ten segments; the peer SACKs the last, then the fourth below it (reordering of seven
/// segments), then acknowledges everything. Returns the window (in segments) after each ACK.
fn reordered_flight(s: &mut Script) -> [u32; 3] {
    s.send(&[0; 10 * MSS as usize]);
    assert_eq!(s.sent().len(), 10);
    s.advance(Duration::from_millis(20));
    let cwnd = |s: &Script| s.ep.stats(s.id()).unwrap().cwnd.unwrap() / MSS;
    s.inject(sack_ack(seg(0), &[(seg(9), seg(10))]));
    let a = cwnd(s);
    s.inject(sack_ack(seg(0), &[(seg(3), seg(4)), (seg(9), seg(10))]));
    let b = cwnd(s);
    assert_eq!(s.ep.stats(s.id()).unwrap().reordering, Some(7));
    s.inject(Seg::new(A, T + 1, seg(10)));
    [a, b, cwnd(s)]
}

/// With the Linux threshold (3): the first SACK (no reordering seen yet) does not grow the
/// window, the second (reordering 7 > 3) grows it by its one segment, and the cumulative ACK
/// by the eight segments not SACKed before.
#[test]
fn sacks_grow_the_window_once_reordering_exceeds_the_threshold() {
    let mut s = established(Some(3));
    assert_eq!(reordered_flight(&mut s), [10, 11, 19]);
}

/// The default: SACK-only ACKs never grow the window, whatever the reordering.
#[test]
fn by_default_only_cumulative_acks_grow_the_window() {
    let mut s = established(None);
    assert_eq!(reordered_flight(&mut s), [10, 10, 18]);
}

/// A threshold above the reordering seen keeps SACK-only ACKs from growing the window.
#[test]
fn reordering_at_or_below_the_threshold_does_not_grow_on_sacks() {
    let mut s = established(Some(7));
    assert_eq!(reordered_flight(&mut s), [10, 10, 18]);
}

/// RACK marks the first segment lost (nine SACKed above it); the device refuses its
/// retransmission. The segment stays lost and is not counted as retransmitted, nothing is
/// offered again at once, and the next ACK brings the retransmission again.
#[test]
fn a_refused_rack_retransmission_stays_lost_until_the_next_ack() {
    let mut s = established(None);
    s.send(&[0; 10 * MSS as usize]);
    assert_eq!(s.sent().len(), 10);
    s.advance(Duration::from_millis(20));
    let mut buf = vec![0; 70000];
    s.inject(sack_ack(seg(0), &[(seg(1), seg(10))]));
    let t = s.ep.poll_transmit(s.now, &mut buf).expect("the retransmission");
    assert!(t.retransmission);
    assert_eq!(t.seq.0, seg(0));
    s.ep.transmit_failed(s.now, &t);
    assert!(s.ep.poll_transmit(s.now, &mut buf).is_none(), "offered again at once");
    s.drain_events();
    let st = s.ep.stats(s.id()).unwrap();
    assert_eq!((st.retrans_segments, st.lost_segments, st.retransmits), (Some(0), 1, 0));
    s.advance(Duration::from_millis(5));
    s.inject(sack_ack(seg(0), &[(seg(1), seg(10))]));
    let out = s.sent();
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!((out[0].seq, out[0].payload.len()), (seg(0), MSS as usize));
    let st = s.ep.stats(s.id()).unwrap();
    assert_eq!((st.retrans_segments, st.retransmits), (Some(1), 1));
}
