//! The unsent low-water mark (`ConnConfig::notsent_lowat`, Linux's `TCP_NOTSENT_LOWAT`): a
//! write takes data only while fewer than the mark are unsent and never past it; the
//! connection is writable, and a waiting writer is woken (`Event::Writable`), only once fewer
//! than half the mark are unsent. Sent but unacknowledged data does not count.

mod script;
use script::*;
use synack_tcp::{ConnConfig, Event, SendError};

const I: u32 = ISS;
const T: u32 = IRS;

fn writable_events(s: &Script) -> usize {
    s.events.iter().filter(|e| matches!(e, Event::Writable(_))).count()
}

/// A passive open with MSS 1000 and the peer's window `win` (no scaling), the mark `lowat`.
fn established(lowat: Option<u32>, win: u16) -> Script {
    let cfg = ConnConfig { notsent_lowat: lowat, nodelay: true, ..plain() };
    let mut s = Script::listening(cfg);
    s.inject(Seg::new(S, T, 0).mss(1000).win(win));
    s.one();
    s.inject(Seg::new(A, T + 1, I + 1).win(win));
    s.conn = s.ep.accept(s.listener.unwrap());
    s.events.clear();
    s
}

/// With nothing unsent a write takes up to the mark, and no more: the rest of a large write
/// waits, although the send buffer has room for it.
#[test]
fn a_write_stops_at_the_mark() {
    let mut s = established(Some(4000), 65535);
    assert_eq!(s.ep.send(s.id(), &[1; 10_000]).unwrap(), 4000);
    assert_eq!(s.ep.send(s.id(), &[1; 10]), Err(SendError::WouldBlock));
    assert!(!s.ep.send_ready(s.id()).unwrap());
    // Without the mark the buffer is the only limit.
    let mut plain = established(None, 65535);
    assert_eq!(plain.ep.send(plain.id(), &[1; 10_000]).unwrap(), 10_000);
}

/// Sent data no longer counts: once the initial window carried the first 4000 bytes out, the
/// unsent count is zero and a write takes a full mark again, while nothing is acknowledged.
#[test]
fn data_in_flight_does_not_count() {
    let mut s = established(Some(4000), 65535);
    assert_eq!(s.send(&[1; 4000]), 4000);
    assert_eq!(payload_ranges(&s.sent()).last().unwrap().1, 4001);
    assert!(s.ep.send_ready(s.id()).unwrap());
    assert_eq!(s.ep.send(s.id(), &[1; 9000]).unwrap(), 4000);
    let st = s.ep.stats(s.id()).unwrap();
    assert_eq!(st.send_queue, 8000, "4000 in flight, 4000 unsent");
    assert_eq!(st.notsent_bytes, 4000);
}

/// A writer held by the mark is woken when sending (not acknowledging) brings the unsent count
/// below half the mark: the peer's window holds the data back, an ACK that opens it lets
/// segments out, and `Writable` follows that output; a wake-up below the write limit but
/// above half the mark does not come.
#[test]
fn the_writer_is_woken_below_half_the_mark() {
    // The peer's window: 2000 bytes, so 2000 leave and the rest stays unsent.
    let mut s = established(Some(8000), 2000);
    assert_eq!(s.send(&[1; 10_000]), 8000);
    assert_eq!(payload_ranges(&s.sent()).last().unwrap().1, 2001);
    // 6000 unsent: the next write tops the unsent count up to the mark, then none is taken.
    assert_eq!(s.ep.send(s.id(), &[1; 10_000]).unwrap(), 2000);
    assert_eq!(s.ep.send(s.id(), &[1; 10]), Err(SendError::WouldBlock));
    // The ACK opens 3000 more: 5000 unsent, below the mark but not below half of it, so no
    // wake-up and no POLLOUT yet.
    s.inject(Seg::new(A, T + 1, I + 2001).win(3000));
    assert_eq!(payload_ranges(&s.sent()).last().unwrap().1, 5001);
    assert_eq!(writable_events(&s), 0);
    assert!(!s.ep.send_ready(s.id()).unwrap());
    // The next lets 4000 out: 1000 unsent, below half the mark. The wake-up comes with the
    // segments that leave.
    s.inject(Seg::new(A, T + 1, I + 5001).win(4000));
    let out = s.sent();
    assert_eq!(payload_ranges(&out).last().unwrap().1, 9001);
    assert_eq!(writable_events(&s), 1, "{:?}", s.events);
    assert!(s.ep.send_ready(s.id()).unwrap());
    // The next write fills the mark again (7000 = 8000 minus the 1000 still unsent).
    assert_eq!(s.ep.send(s.id(), &[1; 20_000]).unwrap(), 7000);
}

/// Raising the mark wakes a writer it held at once; lowering it below the unsent count
/// blocks the next write.
#[test]
fn changing_the_mark_applies_at_once() {
    let mut s = established(Some(3000), 1000);
    assert_eq!(s.send(&[1; 5000]), 3000);
    s.sent();
    assert_eq!(s.send(&[1; 5000]), 1000, "1000 left, 2000 unsent");
    assert_eq!(s.ep.send(s.id(), &[1; 10]), Err(SendError::WouldBlock));
    s.ep.set_notsent_lowat(s.id(), Some(100_000)).unwrap();
    s.drain_events();
    assert_eq!(writable_events(&s), 1);
    assert_eq!(s.ep.send(s.id(), &[1; 5000]).unwrap(), 5000);
    s.ep.set_notsent_lowat(s.id(), Some(1000)).unwrap();
    assert_eq!(s.ep.send(s.id(), &[1; 10]), Err(SendError::WouldBlock));
    s.ep.set_notsent_lowat(s.id(), None).unwrap();
    assert_eq!(s.ep.send(s.id(), &[1; 10]).unwrap(), 10);
}

/// The mark never counts a retransmission as progress: after an RTO the unsent count stays
/// what was never sent, so a writer held by the mark is not woken by the repair.
#[test]
fn a_retransmission_is_no_progress() {
    let mut s = established(Some(4000), 2000);
    assert_eq!(s.send(&[1; 6000]), 4000);
    assert_eq!(payload_ranges(&s.sent()).last().unwrap().1, 2001);
    assert_eq!(s.send(&[1; 6000]), 2000);
    assert_eq!(s.ep.send(s.id(), &[1; 10]), Err(SendError::WouldBlock));
    let rto = s.ep.stats(s.id()).unwrap().rto;
    let out = s.advance(rto);
    assert!(!out.is_empty(), "the RTO retransmits");
    assert_eq!(writable_events(&s), 0);
    assert!(!s.ep.send_ready(s.id()).unwrap());
}
