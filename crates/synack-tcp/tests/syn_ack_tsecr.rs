//! SYN-SENT and the timestamp a SYN-ACK echoes (`ConnConfig::syn_ack_tsecr_check`, Linux's
//! `PAWSActiveRejected`): an echo of a TSval we never sent draws a reset and leaves the open
//! attempt waiting for the real answer.

mod script;
use script::*;
use synack_tcp::{ConnConfig, Duration, State};

fn cfg(check: bool) -> ConnConfig {
    ConnConfig { timestamps: true, syn_ack_tsecr_check: check, ..plain() }
}

#[test]
fn syn_ack_echoing_a_future_tsval_is_reset_and_dropped() {
    let mut s = Script::connecting(cfg(true));
    let syn = s.one();
    check(&syn, S, ISS, 0);
    let tsval = syn.options.timestamps.unwrap().tsval;
    s.advance(Duration::from_millis(10));
    // TSecr ahead of our clock: not an answer to our SYN.
    s.inject(Seg::new(SA, IRS, ISS + 1).ts(77, tsval.wrapping_add(5000)));
    let rst = s.one();
    check(&rst, R, ISS + 1, 0);
    assert_eq!(s.state(), State::SynSent);
    // TSecr before our first SYN: the same.
    s.inject(Seg::new(SA, IRS, ISS + 1).ts(77, tsval.wrapping_sub(1)));
    check(&s.one(), R, ISS + 1, 0);
    assert_eq!(s.state(), State::SynSent);
    // The echo of our SYN's TSval completes the handshake.
    s.inject(Seg::new(SA, IRS, ISS + 1).ts(78, tsval));
    assert_eq!(s.state(), State::Established);
    check(&s.one(), A, ISS + 1, IRS + 1);
}

#[test]
fn without_the_check_any_echo_is_taken() {
    let mut s = Script::connecting(cfg(false));
    let syn = s.one();
    let tsval = syn.options.timestamps.unwrap().tsval;
    s.inject(Seg::new(SA, IRS, ISS + 1).ts(77, tsval.wrapping_add(5000)));
    assert_eq!(s.state(), State::Established);
}
