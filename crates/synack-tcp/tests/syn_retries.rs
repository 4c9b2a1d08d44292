//! `ConnConfig::syn_retries` (Linux's `TCP_SYNCNT`): an active open gives up at the timeout
//! after its last allowed SYN retransmission; without it the SYN is retried for R2.

mod script;
use script::*;
use synack_tcp::{ConnConfig, ConnectionError, Duration};

fn syns_until(s: &mut Script, d: Duration) -> usize {
    s.advance(d).into_iter().filter(|(_, o)| o.flags.syn()).count()
}

#[test]
fn an_open_gives_up_after_its_syn_retries() {
    for (retries, gave_up) in [(Some(1), true), (Some(2), false), (None, false)] {
        let mut s = Script::connecting(ConnConfig { syn_retries: retries, ..plain() });
        s.one();
        let initial = s.ep.stats(s.id()).unwrap().rto;
        // One retransmission after the initial RTO, the next timeout one doubled RTO later.
        let resent = syns_until(&mut s, initial * 3 - Duration::from_millis(1));
        assert_eq!(resent, 1, "{retries:?}");
        s.advance(Duration::from_millis(2));
        let error = s.ep.error(s.id()).ok().flatten();
        if gave_up {
            assert_eq!(error, Some(ConnectionError::TimedOut), "{retries:?}");
        } else {
            assert_eq!(error, None, "{retries:?}");
        }
    }
}
