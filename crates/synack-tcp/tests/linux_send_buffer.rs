//! Linux's send-buffer accounting (`SendAccounting::LinuxSkb`): a write fills buffers of the
//! size goal (half the peer's largest window), a new one only while the memory charged (each
//! buffer's bytes plus a fixed overhead) is below the send buffer, pushes each full buffer
//! as it goes (the unsent rest of one sent in part becomes a buffer of its own), and a
//! waiting writer is woken once the free space is at least half the charge.

mod script;
use script::*;
use synack_tcp::{ConnConfig, Event, SendAccounting, SendError};

const I: u32 = ISS;
const T: u32 = IRS;

fn writable_events(s: &Script) -> usize {
    s.events.iter().filter(|e| matches!(e, Event::Writable(_))).count()
}

/// A passive open with MSS 1000, the peer's window `win` (no scaling), a send buffer of
/// `sndbuf` charged as Linux charges it, and the unsent mark `lowat`.
fn established(sndbuf: usize, win: u16, lowat: Option<u32>) -> Script {
    let cfg = ConnConfig {
        send_buffer: sndbuf,
        send_accounting: SendAccounting::LinuxSkb { overhead: 832 },
        notsent_lowat: lowat,
        nodelay: true,
        ..plain()
    };
    let mut s = Script::listening(cfg);
    s.inject(Seg::new(S, T, 0).mss(1000).win(win));
    s.one();
    s.inject(Seg::new(A, T + 1, I + 1).win(win));
    s.conn = s.ep.accept(s.listener.unwrap());
    s.events.clear();
    s
}

/// SO_SNDBUF 21000 (Linux's sk_sndbuf 42000), the peer's window 50000: buffers of 25000.
/// The first is pushed as it fills (the initial window, 10000, leaves) and its rest filled,
/// a third follows (2 * 832 + 35000 is below 42000), a fourth does not (3 * 832 + 60000):
/// 60000 of 61000 taken. The writer is woken only once the second buffer is freed: until
/// then the charge (three buffers, one of them split by what was sent) leaves less than
/// half of it free. (A new write may still start a buffer while the charge is below the send
/// buffer, as a fresh `write` on Linux would; only the wake-up waits for a third free.)
#[test]
fn a_blocking_write_takes_whole_buffers_and_wakes_at_a_third() {
    let mut s = established(42_000, 50_000, None);
    assert_eq!(s.ep.send(s.id(), &[1; 61_000]).unwrap(), 60_000);
    assert_eq!(s.ep.send(s.id(), &[1; 1000]), Err(SendError::WouldBlock));
    assert_eq!(payload_ranges(&s.sent()).last().unwrap().1, 10_001);
    // Each ACK lets the next flight out; the second buffer is freed by the third.
    let mut acked = 10_001;
    for _ in 0..2 {
        s.inject(Seg::new(A, T + 1, I + acked).win(50_000));
        acked = payload_ranges(&s.sent()).last().unwrap().1;
        assert_eq!(writable_events(&s), 0);
        assert!(!s.ep.send_ready(s.id()).unwrap());
    }
    assert!(acked > 35_001, "the third ACK frees the second buffer: {acked}");
    s.inject(Seg::new(A, T + 1, I + acked).win(50_000));
    assert_eq!(writable_events(&s), 1);
    assert!(s.ep.send_ready(s.id()).unwrap());
    assert_eq!(s.ep.send(s.id(), &[1; 1000]).unwrap(), 1000);
}

/// The last buffer is filled to the size goal however far that goes past the send buffer:
/// a 10000-byte buffer and the peer's 60000-byte window (buffers of 30000) take 40000 of a
/// 50000-byte write (the first buffer, pushed: 10000 leave, its rest filled with 10000
/// more), where the byte count stops at 10000.
#[test]
fn the_last_buffer_fills_past_the_send_buffer() {
    let mut s = established(10_000, 60_000, None);
    assert_eq!(s.ep.send(s.id(), &[1; 50_000]).unwrap(), 40_000);
    assert_eq!(s.ep.send(s.id(), &[1; 10]), Err(SendError::WouldBlock));
    let cfg = ConnConfig { send_buffer: 10_000, nodelay: true, ..plain() };
    let mut bytes = Script::listening(cfg);
    bytes.inject(Seg::new(S, T, 0).mss(1000).win(60_000));
    bytes.one();
    bytes.inject(Seg::new(A, T + 1, I + 1).win(60_000));
    bytes.conn = bytes.ep.accept(bytes.listener.unwrap());
    assert_eq!(bytes.ep.send(bytes.id(), &[1; 50_000]).unwrap(), 10_000);
}

/// TCP_NOTSENT_LOWAT is asked only before a new buffer: with a mark of 4000 and buffers of
/// 16000, the first buffer is pushed (10000 leave), its rest is filled to the goal (16000
/// unsent, four times the mark), and only the next buffer is refused: 26000 taken. The
/// connection is not writable until fewer than 2000 are unsent.
#[test]
fn the_unsent_mark_is_checked_per_buffer() {
    let mut s = established(256 * 1024, 32_000, Some(4000));
    assert_eq!(s.ep.send(s.id(), &[1; 59_000]).unwrap(), 26_000);
    assert_eq!(s.ep.stats(s.id()).unwrap().notsent_bytes, 26_000);
    assert_eq!(payload_ranges(&s.sent()).last().unwrap().1, 10_001);
    assert_eq!(s.ep.stats(s.id()).unwrap().notsent_bytes, 16_000);
    assert!(!s.ep.send_space(s.id()).unwrap());
    assert_eq!(s.ep.send(s.id(), &[1; 10]), Err(SendError::WouldBlock));
    // The peer takes everything: the flights that follow send the rest, and the writer is
    // woken once fewer than 2000 are unsent.
    let mut acked = 10_001;
    while s.ep.stats(s.id()).unwrap().notsent_bytes >= 2000 {
        assert_eq!(writable_events(&s), 0);
        s.inject(Seg::new(A, T + 1, I + acked).win(32_000));
        acked = payload_ranges(&s.sent()).last().unwrap().1;
    }
    assert_eq!(writable_events(&s), 1);
    assert!(s.ep.send_space(s.id()).unwrap());
}

/// Asking whether there is room (`send_space`) arms no wake-up, unlike `send_ready`.
#[test]
fn asking_for_room_arms_no_wake_up() {
    let mut s = established(42_000, 50_000, None);
    assert_eq!(s.ep.send(s.id(), &[1; 40_000]).unwrap(), 40_000);
    assert!(!s.ep.send_space(s.id()).unwrap());
    s.sent();
    // Everything acknowledged: room again, but nobody asked to be woken.
    s.inject(Seg::new(A, T + 1, I + 10_001).win(50_000));
    let acked = payload_ranges(&s.sent()).last().unwrap().1;
    s.inject(Seg::new(A, T + 1, I + acked).win(50_000));
    assert!(s.ep.send_space(s.id()).unwrap());
    assert_eq!(writable_events(&s), 0);
}

/// A push during a write sends whole segments only: with the peer's 2500-byte window (buffers
/// of one 1000-byte segment) the third buffer does not fit, so it is not split at the
/// window's edge, and a 4608-byte buffer (Linux's smallest) takes three buffers: 3000 bytes.
#[test]
fn a_push_sends_no_sliver_of_a_segment() {
    let mut s = established(4608, 2500, None);
    assert_eq!(s.ep.send(s.id(), &[1; 10_000]).unwrap(), 3000);
}
