//! The restart window after idleness (RFC 5681 section 4.1) and the switch that keeps the
//! window instead (`ConnConfig::slow_start_after_idle`, Linux's
//! `net.ipv4.tcp_slow_start_after_idle`), on a virtual clock.

mod script;
use script::*;
use synack_tcp::{ConnConfig, Duration};

const I: u32 = ISS;
const T: u32 = IRS;
const MSS: u32 = 1000;

/// A passive open over a 20 ms path, MSS 1000, no options but the MSS; 26 segments sent and
/// acknowledged in two rounds, so slow start has grown cwnd to 36 segments; then 2 s of
/// silence (more than the RTO) and a 20-segment write. Returns the segments that write sent
/// at once.
fn write_after_idle(slow_start_after_idle: bool) -> usize {
    let cfg = ConnConfig {
        nodelay: true,
        slow_start_ack_limit: None,
        sack: false,
        timestamps: false,
        window_scaling: false,
        slow_start_after_idle,
        ..ConnConfig::default()
    };
    let syn = Seg::new(S, T, 0).mss(MSS as u16);
    let mut s = Script::established_passive_over(cfg, syn, Duration::from_millis(20));
    s.send(&[6; 26_000]);
    assert_eq!(s.sent().len(), 10);
    s.advance(Duration::from_millis(20));
    s.inject(Seg::new(A, T + 1, I + 1 + 10 * MSS));
    assert_eq!(s.sent().len(), 16);
    s.advance(Duration::from_millis(20));
    s.inject(Seg::new(A, T + 1, I + 1 + 26 * MSS));
    s.advance(Duration::from_secs(2));
    s.send(&[8; 20_000]);
    s.sent().len()
}

/// With the restart (the default), the idle sender starts again from the initial window.
#[test]
fn an_idle_sender_restarts_from_the_initial_window() {
    assert_eq!(write_after_idle(true), 10);
}

/// Without it, the window slow start reached survives the idle period: the whole write
/// leaves at once (Linux with `tcp_slow_start_after_idle=0`, as packetdrill's defaults set).
#[test]
fn without_the_restart_the_window_survives_idleness() {
    assert_eq!(write_after_idle(false), 20);
}
