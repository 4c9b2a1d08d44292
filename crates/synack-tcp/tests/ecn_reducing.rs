//! `ConnStats::ecn_reducing` (Linux's `TCP_CA_CWR`): set by an ECN echo that reduces the
//! window, cleared once SND.UNA passes what was outstanding when the echo arrived.

mod script;
use script::*;
use synack_tcp::ConnConfig;
use synack_wire::tcp::TcpFlags;

const I: u32 = ISS;
const T: u32 = IRS;
const ECE: TcpFlags = TcpFlags::ECE;
const CWR: TcpFlags = TcpFlags::CWR;

fn reducing(s: &Script) -> bool {
    s.ep.stats(s.id()).unwrap().ecn_reducing
}

#[test]
fn an_echo_reduces_until_its_window_is_acknowledged() {
    let mut s = Script::listening(ConnConfig { ecn: true, nodelay: true, ..plain() });
    s.inject(Seg::new(S | ECE | CWR, T, 0).mss(1000));
    s.one();
    s.inject(Seg::new(A, T + 1, I + 1));
    s.conn = s.ep.accept(s.listener.unwrap());
    s.send(&[0; 10_000]);
    assert_eq!(s.sent().len(), 10);
    assert!(!reducing(&s));
    s.inject(Seg::new(A, T + 1, I + 1001));
    assert!(!reducing(&s), "an ACK without ECE");
    s.inject(Seg::new(A | ECE, T + 1, I + 2001));
    assert!(reducing(&s));
    s.inject(Seg::new(A, T + 1, I + 10_000));
    assert!(reducing(&s), "one byte of that window is still outstanding");
    s.inject(Seg::new(A, T + 1, I + 10_001));
    assert!(!reducing(&s));
}
