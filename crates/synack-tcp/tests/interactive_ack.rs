//! Quick-ACK and interactive connections (`ConnConfig::quick_ack_segments`, Linux's quickack
//! and pingpong modes) on a virtual clock: data we send within a delayed-ACK time of the last
//! arrival answers it, so the next arrival waits for the delayed-ACK timer (our next reply
//! should carry the ACK) instead of being ACKed at once; a delayed ACK that had to go alone, or
//! data received twice, ends that.

mod script;
use script::*;
use synack_tcp::{ConnConfig, Duration};

const I: u32 = ISS;
const T: u32 = IRS;

fn quick() -> ConnConfig {
    ConnConfig {
        quick_ack_segments: 16,
        nodelay: true,
        delayed_ack: Duration::from_millis(40),
        ..plain()
    }
}

/// A request answered at once makes the connection interactive.
fn interactive() -> Script {
    let mut s = Script::established_passive(quick());
    s.inject(Seg::new(PA, T + 1, I + 1).len(10));
    let o = s.one();
    check(&o, A, I + 1, T + 11);
    s.send(&[1u8; 20]);
    let o = s.one();
    check(&o, PA, I + 1, T + 11);
    s
}

#[test]
fn an_immediate_reply_makes_the_next_request_wait_for_the_delayed_ack() {
    let mut s = interactive();
    s.inject(Seg::new(PA, T + 11, I + 21).len(10));
    s.none();
    let out = s.advance(Duration::from_millis(40));
    assert_eq!(out.len(), 1, "the delayed-ACK timer sends it");
    check(&out[0].1, A, I + 21, T + 21);
}

#[test]
fn a_reply_that_rides_on_the_ack_needs_no_separate_one() {
    let mut s = interactive();
    s.inject(Seg::new(PA, T + 11, I + 21).len(10));
    s.none();
    s.advance(Duration::from_millis(5));
    s.send(&[2u8; 20]);
    let o = s.one();
    check(&o, PA, I + 21, T + 21);
    assert!(s.advance(Duration::from_millis(100)).is_empty(), "nothing left to ACK");
}

#[test]
fn a_delayed_ack_sent_alone_ends_the_interactive_mode() {
    let mut s = interactive();
    s.inject(Seg::new(PA, T + 11, I + 21).len(10));
    assert_eq!(s.advance(Duration::from_millis(40)).len(), 1);
    s.inject(Seg::new(PA, T + 21, I + 21).len(10));
    let o = s.one();
    check(&o, A, I + 21, T + 31);
}

#[test]
fn data_received_twice_ends_the_interactive_mode() {
    let mut s = interactive();
    // The request again: our ACK of it was lost.
    s.inject(Seg::new(PA, T + 1, I + 1).len(10));
    let o = s.one();
    check(&o, A, I + 21, T + 11);
    s.inject(Seg::new(PA, T + 11, I + 21).len(10));
    let o = s.one();
    check(&o, A, I + 21, T + 21);
}

#[test]
fn a_late_reply_keeps_quick_acks() {
    let mut s = Script::established_passive(quick());
    s.inject(Seg::new(PA, T + 1, I + 1).len(10));
    s.one();
    s.advance(Duration::from_millis(50));
    s.send(&[1u8; 20]);
    s.one();
    s.inject(Seg::new(PA, T + 11, I + 21).len(10));
    let o = s.one();
    check(&o, A, I + 21, T + 21);
}

#[test]
fn without_quick_ack_nothing_changes() {
    let mut s = Script::established_passive(ConnConfig { quick_ack_segments: 0, ..quick() });
    s.inject(Seg::new(PA, T + 1, I + 1).len(10));
    s.none();
    s.send(&[1u8; 20]);
    check(&s.one(), PA, I + 1, T + 11);
    s.inject(Seg::new(PA, T + 11, I + 21).len(10));
    s.none();
    assert_eq!(s.advance(Duration::from_millis(40)).len(), 1);
}

/// An active open whose data waits as the handshake ends: the ACK of the SYN-ACK rides on
/// that data, which answers the SYN-ACK at once, so the connection is interactive.
#[test]
fn data_waiting_at_the_syn_ack_makes_the_active_open_interactive() {
    let mut s = Script::connecting(quick());
    check(&s.one(), S, I, 0);
    s.send(&[1u8; 100]);
    s.none();
    s.inject(Seg::new(SA, T, I + 1).mss(1460));
    let o = s.one();
    check(&o, PA, I + 1, T + 1);
    assert_eq!(o.payload.len(), 100);
    s.inject(Seg::new(PA, T + 1, I + 101).len(10));
    s.none();
    assert_eq!(s.advance(Duration::from_millis(40)).len(), 1);
}

/// Without data waiting the SYN-ACK is ACKed alone, and a first write after it does not
/// answer any data: the peer's first data is ACKed at once.
#[test]
fn an_active_open_without_waiting_data_keeps_quick_acks() {
    let mut s = Script::connecting(quick());
    check(&s.one(), S, I, 0);
    s.inject(Seg::new(SA, T, I + 1).mss(1460));
    check(&s.one(), A, I + 1, T + 1);
    s.send(&[1u8; 100]);
    check(&s.one(), PA, I + 1, T + 1);
    s.inject(Seg::new(PA, T + 1, I + 101).len(10));
    check(&s.one(), A, I + 101, T + 11);
}
