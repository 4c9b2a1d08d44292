//! How an active open retries its SYN, and for how long: `ConnConfig::syn_linear_timeouts`
//! (Linux's `tcp_syn_linear_timeouts`), `connect_timeout` (FreeBSD's `TCP_KEEPINIT`),
//! `syn_ecn_retries` (`net.inet.tcp.ecn.maxretries`), `syn_options_retries`
//! (`net.inet.tcp.rexmit_drop_options`) and `no_options` (`TCP_NOOPT`). Virtual time only.

mod script;
use script::*;
use synack_tcp::{ConnConfig, ConnectionError, Duration, Instant};
use synack_wire::tcp::TcpFlags;

/// The SYNs sent within `d`, with their times relative to `start`.
fn syns(s: &mut Script, start: Instant, d: Duration) -> Vec<(u64, Out)> {
    s.advance(d)
        .into_iter()
        .filter(|(_, o)| o.flags.syn())
        .map(|(t, o)| (t.saturating_since(start).as_millis() as u64, o))
        .collect()
}

fn full() -> ConnConfig {
    ConnConfig::default()
}

#[test]
fn linear_timeouts_repeat_the_initial_rto_before_doubling() {
    for (linear, want) in [
        (0, vec![1000, 3000, 7000, 15000]),
        (2, vec![1000, 2000, 3000, 5000, 9000]),
        (4, vec![1000, 2000, 3000, 4000, 5000, 7000, 11000]),
    ] {
        let mut s = Script::connecting(ConnConfig { syn_linear_timeouts: linear, ..plain() });
        let start = s.now;
        s.one();
        let times: Vec<u64> = syns(&mut s, start, Duration::from_millis(want[want.len() - 1]))
            .into_iter()
            .map(|(t, _)| t)
            .collect();
        assert_eq!(times, want, "linear {linear}");
    }
}

/// Linux: an open with `syn_retries` N makes N retransmissions on top of the linear ones.
#[test]
fn linear_timeouts_come_on_top_of_syn_retries() {
    let mut s =
        Script::connecting(ConnConfig { syn_linear_timeouts: 2, syn_retries: Some(1), ..plain() });
    let start = s.now;
    s.one();
    let times: Vec<u64> =
        syns(&mut s, start, Duration::from_millis(4900)).into_iter().map(|(t, _)| t).collect();
    assert_eq!(times, vec![1000, 2000, 3000]);
    assert_eq!(s.ep.error(s.id()).ok().flatten(), None);
    s.advance(Duration::from_millis(200));
    assert_eq!(s.ep.error(s.id()).ok().flatten(), Some(ConnectionError::TimedOut));
}

/// The open attempt gives up at its deadline, between retransmissions, with ETIMEDOUT.
#[test]
fn connect_timeout_ends_the_open_attempt_on_time() {
    let mut s = Script::connecting(ConnConfig {
        connect_timeout: Some(Duration::from_millis(5500)),
        ..plain()
    });
    s.one();
    s.advance(Duration::from_millis(5499));
    assert_eq!(s.ep.error(s.id()).ok().flatten(), None);
    s.advance(Duration::from_millis(1));
    assert_eq!(s.ep.error(s.id()).ok().flatten(), Some(ConnectionError::TimedOut));
    assert!(s.advance(Duration::from_secs(20)).is_empty(), "nothing after giving up");
}

/// A limit longer than R2 of a SYN (3 minutes) keeps the SYN retried until the limit.
#[test]
fn a_long_connect_timeout_outlasts_r2_of_a_syn() {
    let mut s = Script::connecting(ConnConfig {
        connect_timeout: Some(Duration::from_secs(300)),
        ..plain()
    });
    let start = s.now;
    s.one();
    // 1, 3, 7, 15, 31, 63, 127 s, then the 120 s ceiling: 247 s.
    let late: Vec<u64> = syns(&mut s, start, Duration::from_millis(299_999))
        .into_iter()
        .map(|(t, _)| t)
        .filter(|&t| t > 180_000)
        .collect();
    assert_eq!(late, vec![247_000]);
    assert_eq!(s.ep.error(s.id()).ok().flatten(), None);
    s.advance(Duration::from_millis(1));
    assert_eq!(s.ep.error(s.id()).ok().flatten(), Some(ConnectionError::TimedOut));
}

/// Once established, the open-attempt limit no longer applies.
#[test]
fn connect_timeout_does_not_touch_an_established_connection() {
    let mut s = Script::connecting(ConnConfig {
        connect_timeout: Some(Duration::from_millis(500)),
        ..plain()
    });
    let syn = s.one();
    s.inject(Seg::new(TcpFlags::SYN | TcpFlags::ACK, 5000, syn.seq.wrapping_add(1)).mss(1460));
    s.sent();
    s.advance(Duration::from_secs(10));
    assert_eq!(s.ep.error(s.id()).ok().flatten(), None);
}

#[test]
fn classic_ecn_leaves_the_syn_after_its_retries() {
    let mut s = Script::connecting(ConnConfig { ecn: true, syn_ecn_retries: Some(1), ..plain() });
    let start = s.now;
    let first = s.one();
    let ecn = TcpFlags::ECE | TcpFlags::CWR;
    assert!(first.flags.contains(ecn));
    let later = syns(&mut s, start, Duration::from_millis(3000));
    let flags: Vec<bool> = later.iter().map(|(_, o)| o.flags.contains(ecn)).collect();
    assert_eq!(flags, vec![true, false]);
    // A SYN-ACK with ECE to the plain SYN does not turn ECN on.
    let iss = first.seq;
    s.inject(Seg::new(TcpFlags::SYN | TcpFlags::ACK | TcpFlags::ECE, 5000, iss.wrapping_add(1)));
    s.sent();
    assert!(!s.ep.stats(s.id()).unwrap().ecn);
}

#[test]
fn options_leave_the_syn_after_their_retries() {
    let mut s = Script::connecting(ConnConfig { syn_options_retries: Some(2), ..full() });
    let start = s.now;
    let first = s.one();
    assert!(first.options.timestamps.is_some() && first.options.sack_permitted);
    let later = syns(&mut s, start, Duration::from_millis(15000));
    let full_options: Vec<bool> = later
        .iter()
        .map(|(_, o)| {
            assert!(o.options.mss.is_some());
            o.options.window_scale.is_some() && o.options.sack_permitted
        })
        .collect();
    assert_eq!(full_options, vec![true, true, false, false]);
    // The options the SYN-ACK echoes are not taken: our last SYN offered none of them.
    s.inject(
        Seg::new(TcpFlags::SYN | TcpFlags::ACK, 5000, first.seq.wrapping_add(1))
            .mss(1460)
            .ws(7)
            .sack_ok(),
    );
    let ack = s.one();
    assert!(ack.options.timestamps.is_none());
    let st = s.ep.stats(s.id()).unwrap();
    assert!(!st.sack && !st.window_scaling && !st.timestamps);
}

#[test]
fn no_options_sends_a_bare_syn_and_negotiates_nothing() {
    let mut s = Script::connecting(ConnConfig { no_options: true, ..full() });
    let syn = s.one();
    assert_eq!(syn.options, Default::default(), "{syn:?}");
    s.inject(
        Seg::new(TcpFlags::SYN | TcpFlags::ACK, 5000, syn.seq.wrapping_add(1))
            .mss(1460)
            .ws(7)
            .sack_ok()
            .ts(9, 0),
    );
    s.sent();
    let st = s.ep.stats(s.id()).unwrap();
    assert!(!st.sack && !st.window_scaling && !st.timestamps);
}

#[test]
fn no_options_answers_a_syn_with_a_bare_syn_ack() {
    let mut s = Script::listening(ConnConfig { no_options: true, ..full() });
    s.inject(Seg::new(TcpFlags::SYN, 5000, 0).mss(1000).ws(7).sack_ok().ts(9, 0));
    let syn_ack = s.one();
    assert!(syn_ack.flags.contains(TcpFlags::SYN | TcpFlags::ACK));
    assert_eq!(syn_ack.options, Default::default(), "{syn_ack:?}");
}
