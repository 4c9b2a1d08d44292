//! A simultaneous open as Linux runs it (`ConnConfig::linux_simultaneous_open`): the text on
//! the peer's SYN is not kept, and its SYN-ACK is answered at once with a D-SACK of the SYN.

mod script;
use script::*;
use synack_tcp::{ConnConfig, State};

#[test]
fn syn_text_dropped_and_syn_ack_d_sacked() {
    let cfg = ConnConfig { sack: true, linux_simultaneous_open: true, ..plain() };
    let mut s = Script::connecting(cfg);
    check(&s.one(), S, ISS, 0);
    s.inject(Seg::new(S, IRS, 0).mss(1000).sack_ok().data(&[1; 100]));
    let syn_ack = s.one();
    check(&syn_ack, SA, ISS, IRS + 1);
    assert_eq!(s.state(), State::SynReceived);
    s.inject(Seg::new(SA, IRS, ISS + 1).mss(1000).sack_ok());
    assert_eq!(s.state(), State::Established);
    let ack = s.one();
    check(&ack, A, ISS + 1, IRS + 1);
    let blocks: Vec<_> =
        ack.options.sack.as_slice().iter().map(|b| (b.left.0, b.right.0)).collect();
    assert_eq!(blocks, vec![(IRS, IRS + 1)], "a D-SACK of the repeated SYN");
    let mut buf = [0u8; 200];
    assert!(s.ep.recv(s.id(), &mut buf).is_err(), "the SYN's text was not kept");
}
