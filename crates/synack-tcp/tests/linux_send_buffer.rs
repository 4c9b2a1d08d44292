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
