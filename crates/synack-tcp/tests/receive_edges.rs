//! Linux's receive-side edges (`ConnConfig::initial_window_whole_segments`,
//! `ConnConfig::oversized_taken_when_empty`, `ConnConfig::past_window_dropped_while_data_waits`):
//! the SYN-ACK offers whole segments of the MSS we announce; a segment reaching past the
//! window is taken whole into an empty receive queue (in order, its ACK left to the
//! delayed-ACK timer, or out of order) and dropped while data waits to be read.

mod script;
use script::*;
use synack_tcp::{ConnConfig, Duration};

const I: u32 = ISS;
const T: u32 = IRS;

fn cfg(linux: bool) -> ConnConfig {
    ConnConfig {
        recv_buffer: 20_000,
        sack: false,
        timestamps: false,
        window_scaling: false,
        quick_ack_segments: 16,
        initial_window_whole_segments: linux,
        oversized_taken_when_empty: linux,
        ..ConnConfig::default()
    }
}

/// The SYN-ACK's window: 20000 free bytes offer 13 x 1460 = 18980 with the knob, 20000
/// without.
fn syn_ack_window(linux: bool) -> u16 {
    let mut s = Script::listening(cfg(linux));
    s.inject(Seg::new(S, T, 0).mss(1000));
    let o = s.one();
    check(&o, SA, o.seq, T + 1);
    o.window
}

#[test]
fn the_syn_ack_offers_whole_segments() {
    assert_eq!(syn_ack_window(true), 18_980);
    assert_eq!(syn_ack_window(false), 20_000);
}

fn established(linux: bool) -> Script {
    let mut s = Script::established_passive_with(cfg(linux), I, T);
    s.sent();
    s
}

/// 20000 bytes at RCV.NXT with 18980 offered: taken whole, no quick ACK; the delayed ACK
/// acknowledges all of it.
#[test]
fn an_oversized_segment_is_taken_whole_into_an_empty_queue() {
    let mut s = established(true);
    s.inject(Seg::new(PA, T + 1, I + 1).len(20_000));
    s.none();
    let st = s.ep.stats(s.id()).unwrap();
    assert_eq!(st.bytes_received, 20_000);
    let acks = s.advance(Duration::from_millis(500));
    assert_eq!(acks.len(), 1, "{acks:?}");
    check(&acks[0].1, A, I + 1, T + 20_001);
}

/// Without the knob the segment is cut at the window's right edge (18980 offered).
#[test]
fn without_the_knob_it_is_trimmed_to_the_window() {
    let c = ConnConfig { oversized_taken_when_empty: false, ..cfg(true) };
    let mut s = Script::established_passive_with(c, I, T);
    s.sent();
    s.inject(Seg::new(PA, T + 1, I + 1).len(20_000));
    assert_eq!(s.ep.stats(s.id()).unwrap().bytes_received, 18_980);
}

/// The same with window scaling negotiated (a shift of 0 for so small a buffer).
#[test]
fn scaled_windows_take_it_whole_too() {
    let c = ConnConfig { window_scaling: true, ..cfg(true) };
    let mut s = Script::listening(c);
    s.ep.set_isn_override(Some(synack_wire::SeqNum(I)));
    s.inject(Seg::new(S, T, 0).mss(1000).ws(7));
    let o = s.one();
    assert_eq!(o.window, 18_980);
    s.inject(Seg::new(A, T + 1, I + 1));
    s.none();
    s.conn = s.ep.accept(s.listener.unwrap());
    s.none();
    s.inject(Seg::new(PA, T + 1, I + 1).len(20_000));
    s.none();
    assert_eq!(s.ep.stats(s.id()).unwrap().bytes_received, 20_000);
}

/// With unread data queued, the part past the window is cut as usual.
#[test]
fn a_busy_queue_keeps_the_window() {
    let mut s = established(true);
    s.inject(Seg::new(PA, T + 1, I + 1).len(1000));
    s.sent();
    let before = s.ep.stats(s.id()).unwrap().rcv_wnd;
    s.inject(Seg::new(PA, T + 1001, I + 1).len(19_000));
    let st = s.ep.stats(s.id()).unwrap();
    assert_eq!(st.bytes_received, 1000 + u64::from(before));
}

/// Out of order too: 15000 bytes at 5001 with 18980 offered reach past the window; with no
/// in-order data waiting they are taken whole (and SACKed whole), even with data already
/// held out of order; without the knob they are cut at the edge.
#[test]
fn an_out_of_order_segment_past_the_window_is_taken_whole() {
    let sacked = |taken: bool| {
        let c = ConnConfig { sack: true, oversized_taken_when_empty: taken, ..cfg(true) };
        let mut s = Script::listening(c);
        s.ep.set_isn_override(Some(synack_wire::SeqNum(I)));
        s.inject(Seg::new(S, T, 0).mss(1460).sack_ok());
        assert_eq!(s.one().window, 18_980);
        s.inject(Seg::new(A, T + 1, I + 1));
        s.none();
        s.conn = s.ep.accept(s.listener.unwrap());
        s.inject(Seg::new(A, T + 2001, I + 1).len(1000));
        s.sent();
        s.inject(Seg::new(A, T + 5001, I + 1).len(15_000));
        let o = s.one();
        check(&o, A, I + 1, T + 1);
        let first = o.options.sack.as_slice().first().map(|b| (b.left.0, b.right.0));
        (first, s.ep.stats(s.id()).unwrap().bytes_received)
    };
    assert_eq!(sacked(true), (Some((T + 5001, T + 20_001)), 0));
    assert_eq!(sacked(false), (Some((T + 5001, T + 18_981)), 0));
}

fn dropping(drop: bool) -> Script {
    let c = ConnConfig { past_window_dropped_while_data_waits: drop, ..cfg(true) };
    let mut s = Script::established_passive_with(c, I, T);
    s.sent();
    s
}

/// Linux 6.17's rule: with 1000 unread bytes queued, a segment ending past the window is
/// dropped whole (a duplicate ACK answers it, `beyond_window` counts it), in order or not;
/// one ending at the edge is taken. Once the queue is read empty the oversized segment is
/// taken whole again.
#[test]
fn past_the_window_while_data_waits_is_dropped() {
    let mut s = dropping(true);
    s.inject(Seg::new(PA, T + 1, I + 1).len(1000));
    s.sent();
    let right = 1001 + s.ep.stats(s.id()).unwrap().rcv_wnd;
    s.inject(Seg::new(PA, T + 1001, I + 1).len(right as usize));
    let o = s.one();
    check(&o, A, I + 1, T + 1001);
    s.inject(Seg::new(PA, T + 2001, I + 1).len(right as usize));
    check(&s.one(), A, I + 1, T + 1001);
    let st = s.ep.stats(s.id()).unwrap();
    assert_eq!(st.bytes_received, 1000);
    assert_eq!(s.ep.drop_counters().beyond_window, 2);
    // Ending exactly at the right edge is inside the window.
    s.inject(Seg::new(PA, T + 1001, I + 1).len(right as usize - 1001));
    assert_eq!(s.ep.stats(s.id()).unwrap().bytes_received, u64::from(right) - 1);
    assert_eq!(s.ep.drop_counters().beyond_window, 2);
    // Read everything: an oversized segment at RCV.NXT is taken whole.
    assert_eq!(s.recv_all().len(), right as usize - 1);
    s.sent();
    s.inject(Seg::new(PA, T + right, I + 1).len(19_000));
    assert_eq!(s.ep.stats(s.id()).unwrap().bytes_received, u64::from(right) - 1 + 19_000);
}

/// Without the knob the same segment keeps its part inside the window.
#[test]
fn without_the_drop_knob_the_part_inside_is_kept() {
    let mut s = dropping(false);
    s.inject(Seg::new(PA, T + 1, I + 1).len(1000));
    s.sent();
    let right = 1001 + s.ep.stats(s.id()).unwrap().rcv_wnd;
    s.inject(Seg::new(PA, T + 1001, I + 1).len(right as usize));
    assert_eq!(s.ep.stats(s.id()).unwrap().bytes_received, u64::from(right) - 1);
    assert_eq!(s.ep.drop_counters().beyond_window, 0);
}

/// The endpoint counts refused segments as Linux's MIB does: one beginning past the right
/// edge (`TcpExtBeyondWindow`, also a bare ACK there), text at RCV.NXT while the window is
/// zero (`TcpExtTCPZeroWindowDrop`); an old duplicate below RCV.NXT counts as neither.
#[test]
fn refused_segments_are_counted_by_reason() {
    let mut s = established(false);
    // 20000 offered: fill the buffer, closing the window.
    s.inject(Seg::new(PA, T + 1, I + 1).len(20_000));
    assert_eq!(s.ep.drop_counters(), synack_tcp::DropCounters::default());
    s.inject(Seg::new(PA, T + 20_001, I + 1).len(100));
    s.inject(Seg::new(PA, T + 30_000, I + 1).len(100));
    s.inject(Seg::new(A, T + 40_000, I + 1));
    s.inject(Seg::new(PA, T + 1, I + 1).len(100));
    let d = s.ep.drop_counters();
    assert_eq!((d.zero_window, d.beyond_window), (1, 2), "{d:?}");
}

/// The estimate of the peer's segment size (`tcpi_rcv_mss`): 536 before data (the smallest
/// of the MSS values, half the window and 536), then the largest segment seen up to the MSS
/// we announced, or a coalesced (GRO) segment's own segment size.
#[test]
fn the_peer_segment_size_is_estimated_from_arrivals() {
    let estimate = |s: &Script| s.ep.stats(s.id()).unwrap().peer_mss_estimate;
    let mut s = established(false);
    assert_eq!(estimate(&s), 536);
    s.inject_coalesced(Seg::new(A, T + 1, I + 1).len(10_000), 1000);
    assert_eq!(estimate(&s), 1000);
    s.inject(Seg::new(A, T + 10_001, I + 1).len(1200));
    assert_eq!(estimate(&s), 1200);
    // Past the MSS we announced (1460) it stops there.
    let mut big = established(false);
    big.inject(Seg::new(A, T + 1, I + 1).len(5000));
    assert_eq!(estimate(&big), 1460);
    // Two short segments of one length in a row that look full-sized (no PSH) set it.
    let mut short = established(false);
    short.inject(Seg::new(A, T + 1, I + 1).len(400));
    assert_eq!(estimate(&short), 536);
    short.inject(Seg::new(A, T + 401, I + 1).len(400));
    assert_eq!(estimate(&short), 400);
}
