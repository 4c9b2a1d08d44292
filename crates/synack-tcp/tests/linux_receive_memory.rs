//! Linux's receive-memory model (`RecvAccounting::LinuxSkb`): every segment taken is charged
//! the memory Linux's TUN driver allocates for it against the limit, the window offered is
//! the free memory scaled by the payload-to-memory ratio last measured (capped by a
//! threshold that grows as segments arrive), a segment that would take the memory past the
//! limit is refused unless the receive queue is empty, and with `shrink` the window may
//! shrink while what the largest one offered is still taken. The figures are Linux 6.18's.

mod script;
use script::*;
use synack_tcp::{ConnConfig, Duration, ReadWindowUpdate, RecvAccounting};

const I: u32 = ISS;
const T: u32 = IRS;

/// The linux drill profile's receive settings around the model.
fn linux(recv_buffer: usize, rcvbuf: u32, shrink: bool) -> ConnConfig {
    ConnConfig {
        recv_buffer,
        recv_accounting: RecvAccounting::LinuxSkb { rcvbuf, shrink },
        window_scaling: true,
        sack: true,
        initial_window_whole_segments: true,
        oversized_taken_when_empty: true,
        past_window_dropped_while_data_waits: true,
        read_window_update: ReadWindowUpdate::Doubling,
        quick_ack_segments: 16,
        ..plain()
    }
}

/// A passive open: the peer announces MSS 1000 and window scale 7 (and SACK); returns the
/// SYN-ACK's window field and shift.
fn open(s: &mut Script) -> (u16, Option<u8>) {
    s.inject(Seg::new(S, T, 0).mss(1000).ws(7).sack_ok().win(65535));
    let syn_ack = s.one();
    s.inject(Seg::new(A, T + 1, I + 1).win(257));
    s.conn = s.ep.accept(s.listener.unwrap());
    s.events.clear();
    (syn_ack.window, syn_ack.options.window_scale)
}

/// `len` bytes at `at` (relative to the peer's first data byte), sent as segments of 1000
/// coalesced into one.
fn data(s: &mut Script, at: u32, len: usize) {
    s.inject_coalesced(Seg::new(PA, T + 1 + at, I + 1).len(len).win(257), 1000);
}

/// What the one ACK sent now acknowledges (relative) and its window field.
fn window_now(s: &mut Script) -> (u32, u16) {
    let o = s.one();
    (o.ack.wrapping_sub(T + 1), o.window)
}

/// [`window_now`] for an ACK that may wait for the delayed-ACK timer.
fn window_soon(s: &mut Script) -> (u32, u16) {
    let mut sent = s.sent();
    if sent.is_empty() {
        sent = s.advance(Duration::from_millis(200)).into_iter().map(|(_, o)| o).collect();
    }
    assert_eq!(sent.len(), 1, "expected one ACK, got {sent:?}");
    (sent[0].ack.wrapping_sub(T + 1), sent[0].window)
}

/// SO_RCVBUF 20000 (40000 of memory): the first window is a whole number of our segments
/// in half the memory (18980); 20000 bytes (memory 20736, ratio 246/256) leave 18511
/// bytes' worth, offered as 18000 (whole segments of the peer's 1000). With the limit
/// lowered to 24000 the window cannot shrink, a segment past it is dropped while data
/// waits, and so is one inside it that the memory cannot take; once the data is read, 60000 bytes are taken whole into the empty queue,
/// ACKed at once with a zero window.
#[test]
fn the_window_is_the_free_memory_scaled_by_the_measured_ratio() {
    let mut s = Script::listening(linux(20_000, 40_000, false));
    assert_eq!(open(&mut s), (18_980, Some(0)));
    data(&mut s, 0, 20_000);
    assert_eq!(window_soon(&mut s), (20_000, 18_000));
    let lowered = linux(12_000, 24_000, false);
    s.ep.set_conn_config(s.id(), lowered).unwrap();
    data(&mut s, 20_000, 60_000);
    assert_eq!(window_now(&mut s), (20_000, 18_000));
    // Inside the window but past the memory (20736 charged + 5000 > 24000): refused, and
    // the ACK saying so goes at once.
    data(&mut s, 20_000, 5000);
    assert_eq!(window_now(&mut s), (20_000, 18_000));
    assert_eq!(s.recv_all().len(), 20_000);
    s.none();
    data(&mut s, 20_000, 60_000);
    assert_eq!(window_now(&mut s), (80_000, 0));
}

/// SO_RCVBUF 10000: 4000 bytes cost 8448 of the 20000 (ratio 121/256), leaving 5460
/// bytes' worth: 5000 offered.
#[test]
fn a_small_segment_costs_more_than_twice_its_bytes() {
    let mut s = Script::listening(linux(10_000, 20_000, false));
    open(&mut s);
    data(&mut s, 0, 4000);
    assert_eq!(window_now(&mut s), (4000, 5000));
}

/// tcp_rmem's default 131072 and maximum 32 MB (shift 10): out-of-order data is charged
/// and grows the threshold before its charge; the window stays at 81 units (the threshold
/// 82240 rounded up) as the second segment, with the ratio unchanged, leaves less memory.
#[test]
fn out_of_order_data_is_charged_and_grows_the_threshold() {
    let mut s = Script::listening(linux(32 << 20, 131_072, false));
    let (_, ws) = open(&mut s);
    assert_eq!(ws, Some(10));
    data(&mut s, 2000, 9000);
    assert_eq!(window_now(&mut s), (0, 81));
    data(&mut s, 11_000, 10_000);
    assert_eq!(window_now(&mut s), (0, 81));
}

/// `shrink` (tcp_shrink_window=1), 32768 of memory, shift 10: 10000 bytes leave 15 units,
/// 1023 more 13 (the right edge moves left); a segment ending one byte past the largest
/// edge offered is dropped, one ending at it is taken (and closes the window).
#[test]
fn a_shrinking_window_still_takes_the_largest_offered() {
    let mut s = Script::listening(linux(32 << 20, 32_768, true));
    open(&mut s);
    data(&mut s, 0, 10_000);
    assert_eq!(window_soon(&mut s), (10_000, 15));
    data(&mut s, 10_000, 1023);
    assert_eq!(window_soon(&mut s), (11_023, 13));
    let largest = 10_000 + 15 * 1024;
    data(&mut s, 11_023, largest + 1 - 11_023);
    assert_eq!(window_now(&mut s), (11_023, 13));
    data(&mut s, 11_023, largest - 11_023);
    assert_eq!(window_soon(&mut s), (largest as u32, 0));
}

/// Without shrinking, the same memory keeps the right edge where it was: 14 units after
/// the 1023 bytes (the 15 offered, less what arrived, rounded up).
#[test]
fn without_shrink_the_right_edge_holds() {
    let mut s = Script::listening(linux(32 << 20, 32_768, false));
    open(&mut s);
    data(&mut s, 0, 10_000);
    assert_eq!(window_soon(&mut s), (10_000, 16));
    data(&mut s, 10_000, 1023);
    let (ack, win) = window_soon(&mut s);
    assert_eq!(ack, 11_023);
    assert!(u32::from(win) * 1024 + 11_023 >= 10_000 + 16 * 1024, "window {win}");
}
