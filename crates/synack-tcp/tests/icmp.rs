//! ICMP errors on a virtual clock: which errors end a connection in which state under each
//! `IcmpPolicy` (RFC 9293, Linux, FreeBSD), the RFC 5927 check that the quote is in flight,
//! and "packet too big": the MSS drops and what no longer fits is sent again at once.

mod script;
use script::*;
use std::num::NonZeroU16;
use synack_tcp::{
    ConnConfig, ConnectionError, Duration, Event, IcmpError, IcmpPolicy, SoftError, State,
};
use synack_wire::SeqNum;

fn with(policy: IcmpPolicy) -> ConnConfig {
    ConnConfig { icmp_policy: policy, ..plain() }
}

const FREEBSD: IcmpPolicy = IcmpPolicy::FreeBsd { may_rst: true };

/// An active open under `policy` whose SYN went out.
fn syn_sent(policy: IcmpPolicy) -> Script {
    let mut s = Script::connecting(with(policy));
    check(&s.one(), S, ISS, 0);
    s
}

fn icmp(s: &mut Script, seq: u32, e: IcmpError) {
    s.ep.on_icmp_error(s.now, s.local, s.remote, SeqNum(seq), e);
    s.drain_events();
}

/// The connection is gone with `err`, or still there in `state`.
fn error_of(s: &Script) -> Option<ConnectionError> {
    s.ep.error(s.id()).ok().flatten()
}

#[test]
fn rfc_policy_aborts_on_hard_errors_only() {
    let mut s = syn_sent(IcmpPolicy::Rfc);
    for e in [IcmpError::HostUnreachable, IcmpError::TimeExceeded, IcmpError::AdminProhibited] {
        icmp(&mut s, ISS, e);
        assert_eq!(s.state(), State::SynSent, "{e:?} is soft");
    }
    icmp(&mut s, ISS, IcmpError::PortUnreachable);
    assert_eq!(error_of(&s), Some(ConnectionError::Refused));
}

#[test]
fn linux_policy_ends_an_open_on_any_error_and_never_a_synchronized_connection() {
    for e in [
        IcmpError::NetUnreachable,
        IcmpError::HostUnreachable,
        IcmpError::TimeExceeded,
        IcmpError::AdminProhibited,
        IcmpError::PortUnreachable,
    ] {
        let mut s = syn_sent(IcmpPolicy::Linux);
        // Quotes outside SND.UNA..SND.NXT are not believed (RFC 5927 4.1).
        icmp(&mut s, ISS.wrapping_sub(1), e);
        icmp(&mut s, ISS + 1, e);
        assert_eq!(s.state(), State::SynSent, "{e:?} with a quote out of flight");
        icmp(&mut s, ISS, e);
        assert_eq!(error_of(&s), Some(ConnectionError::Icmp(e)), "{e:?} in SYN-SENT");
    }
    let mut s = Script::established_active_with(with(IcmpPolicy::Linux), ISS, IRS);
    s.send(b"data");
    s.one();
    for e in [IcmpError::PortUnreachable, IcmpError::HostUnreachable] {
        icmp(&mut s, ISS + 1, e);
        assert_eq!(s.state(), State::Established, "{e:?} once synchronized");
        assert!(s.has_event(
            |ev| matches!(ev, Event::SoftError { error: SoftError::Icmp(x), .. } if *x == e)
        ));
    }
}

#[test]
fn linux_policy_drops_a_half_open_connection_only_for_routing_errors_quoting_its_isn() {
    let mut s = Script::listening(with(IcmpPolicy::Linux));
    s.inject(Seg::new(S, IRS, 0).mss(1460));
    check(&s.one(), SA, ISS, IRS + 1);
    // Port unreachable does not drop a request; the handshake completes.
    icmp(&mut s, ISS, IcmpError::PortUnreachable);
    s.inject(Seg::new(A, IRS + 1, ISS + 1));
    s.none();
    assert!(s.ep.accept(s.listener.unwrap()).is_some());

    let mut s = Script::listening(with(IcmpPolicy::Linux));
    s.inject(Seg::new(S, IRS, 0).mss(1460));
    check(&s.one(), SA, ISS, IRS + 1);
    icmp(&mut s, ISS, IcmpError::HostUnreachable);
    // The half-open connection is gone: its ACK finds only the listener, and is reset.
    s.inject(Seg::new(A, IRS + 1, ISS + 1));
    check(&s.one(), R, ISS + 1, 0);
    assert!(s.ep.accept(s.listener.unwrap()).is_none());
}

#[test]
fn freebsd_policy_ends_syn_sent_on_its_four_errors_when_icmp_may_rst() {
    for e in [
        IcmpError::PortUnreachable,
        IcmpError::ProtocolUnreachable,
        IcmpError::AdminProhibited,
        IcmpError::TimeExceeded,
    ] {
        let mut s = syn_sent(FREEBSD);
        icmp(&mut s, ISS, e);
        assert_eq!(error_of(&s), Some(ConnectionError::Icmp(e)), "{e:?}");
        let mut s = syn_sent(IcmpPolicy::FreeBsd { may_rst: false });
        icmp(&mut s, ISS, e);
        assert_eq!(s.state(), State::SynSent, "{e:?} without icmp_may_rst");
    }
    let mut s = syn_sent(FREEBSD);
    icmp(&mut s, ISS, IcmpError::HostUnreachable);
    assert_eq!(s.state(), State::SynSent, "host unreachable is soft");
    // Nothing ends a synchronized connection.
    let mut s = Script::established_active_with(with(FREEBSD), ISS, IRS);
    s.send(b"data");
    s.one();
    icmp(&mut s, ISS + 1, IcmpError::PortUnreachable);
    assert_eq!(s.state(), State::Established);
}

#[test]
fn packet_too_big_lowers_the_mss_and_resends_what_no_longer_fits_at_once() {
    let mut s = Script::established_active_with(with(IcmpPolicy::Linux), ISS, IRS);
    s.send(&[7u8; 2920]);
    let first = s.sent();
    assert_eq!(first.iter().map(|o| o.payload.len()).collect::<Vec<_>>(), [1460, 1460]);
    // A larger MTU than the link's changes nothing.
    icmp(&mut s, ISS + 1, IcmpError::PacketTooBig { mtu: 9000 });
    s.none();
    // A quote out of flight is not believed.
    icmp(&mut s, ISS + 5000, IcmpError::PacketTooBig { mtu: 1200 });
    s.none();
    icmp(&mut s, ISS + 1461, IcmpError::PacketTooBig { mtu: 1200 });
    assert!(s.has_event(|e| matches!(
        e,
        Event::SoftError { error: SoftError::PathMtuReduced(1160), .. }
    )));
    let again = s.sent();
    let sizes: Vec<_> = again.iter().map(|o| (o.seq, o.payload.len())).collect();
    assert_eq!(sizes, [(ISS + 1, 1160), (ISS + 1161, 1160), (ISS + 2321, 600)]);
    assert_eq!(s.state(), State::Established);
    // The ACK of everything ends the episode; new data uses the new size.
    s.inject(Seg::new(A, IRS + 1, ISS + 2921).win(65535));
    s.send(&[8u8; 2000]);
    assert!(s.sent().iter().all(|o| o.payload.len() <= 1160));
}

#[test]
fn packet_too_big_is_floored_at_the_stack_minimum() {
    // Linux raises a report below 552 bytes to 552 (MSS 512); RFC 791's floor is 68.
    for (policy, mss) in [(IcmpPolicy::Linux, 512), (IcmpPolicy::Rfc, 28)] {
        let mut s = Script::established_active_with(with(policy), ISS, IRS);
        s.send(&[1u8; 1000]);
        s.one();
        icmp(&mut s, ISS + 1, IcmpError::PacketTooBig { mtu: 40 });
        assert!(
            s.has_event(
                |e| matches!(e, Event::SoftError { error: SoftError::PathMtuReduced(m), .. } if *m == mss)
            ),
            "{policy:?}"
        );
    }
}

#[test]
fn packet_too_big_in_syn_sent_resends_the_syn_with_the_smaller_mss() {
    let mut s = syn_sent(IcmpPolicy::Linux);
    icmp(&mut s, ISS, IcmpError::PacketTooBig { mtu: 800 });
    let o = s.one();
    check(&o, S, ISS, 0);
    assert_eq!(o.options.mss, Some(760));
    // The timer was not what resent it: nothing more for a while.
    assert!(s.advance(Duration::from_millis(500)).is_empty());
}

#[test]
fn an_error_about_a_segment_that_went_another_way_is_ignored() {
    let cfg = ConnConfig { udp_encapsulation: NonZeroU16::new(1), ..with(FREEBSD) };
    let mut s = Script::connecting(cfg);
    s.one();
    let id = s.id();
    // Plain TCP quoted for an encapsulated connection, or UDP to another port: not ours.
    s.ep.on_icmp_error(s.now, s.local, s.remote, SeqNum(ISS), IcmpError::PortUnreachable);
    let other = NonZeroU16::new(2).unwrap();
    s.ep.on_udp_icmp_error(
        s.now,
        s.local,
        s.remote,
        other,
        SeqNum(ISS),
        IcmpError::PortUnreachable,
    );
    assert_eq!(s.ep.state(id), Ok(State::SynSent));
    let ours = NonZeroU16::new(1).unwrap();
    s.ep.on_udp_icmp_error(s.now, s.local, s.remote, ours, SeqNum(ISS), IcmpError::PortUnreachable);
    assert_eq!(
        s.ep.error(id).ok().flatten(),
        Some(ConnectionError::Icmp(IcmpError::PortUnreachable))
    );
}

#[test]
fn a_later_connection_to_the_same_destination_sends_in_the_learned_size_but_offers_the_link_mss() {
    let mut s = Script::established_passive(with(IcmpPolicy::Linux));
    s.send(&[1u8; 1460]);
    s.one();
    icmp(&mut s, ISS + 1, IcmpError::PacketTooBig { mtu: 1200 });
    let again: Vec<_> = s.sent().iter().map(|o| o.payload.len()).collect();
    assert_eq!(again, [1160, 300]);
    // A second connection from the same peer: the SYN-ACK offers what the link carries
    // (RFC 9293 3.7.1: the MSS option is about receiving), the data keeps to the path.
    let mut syn = Seg::new(S, IRS + 100_000, 0).mss(1460);
    syn.src_port = 4001;
    s.inject(syn);
    let synack = s.one();
    check(&synack, SA, ISS, IRS + 100_001);
    assert_eq!(synack.options.mss, Some(1460));
    let mut ack = Seg::new(A, IRS + 100_001, ISS + 1);
    ack.src_port = 4001;
    s.inject(ack);
    let c2 = s.ep.accept(s.listener.unwrap()).expect("second connection");
    assert_eq!(s.ep.stats(c2).unwrap().pmtu, 1200);
    s.ep.send(c2, &[2u8; 2000]).unwrap();
    let sizes: Vec<_> = s.sent().iter().map(|o| o.payload.len()).collect();
    assert_eq!(sizes[0], 1160);
}

/// Each retransmission's size while nothing is acknowledged, over `rtos` timeouts.
fn retransmissions(s: &mut Script, rtos: usize) -> Vec<usize> {
    let mut sizes = Vec::new();
    while sizes.len() < rtos {
        let t = s.ep.poll_timeout().expect("the retransmission timer is set");
        s.now = s.now.max(t);
        s.ep.on_timeout(s.now);
        sizes.extend(s.sent().iter().map(|o| o.payload.len()));
    }
    sizes
}

/// Only the retransmission timer sends again (no tail loss probe), and it never gives up.
fn timer_only() -> ConnConfig {
    ConnConfig { rack: false, r2: None, ..plain() }
}

fn blackhole_detecting() -> ConnConfig {
    ConnConfig { pmtud_blackhole: Some(synack_tcp::PmtudBlackhole::FREEBSD), ..timer_only() }
}

#[test]
fn blackhole_detection_steps_down_every_two_timeouts_then_gives_the_size_back() {
    let mut s = Script::established_active_with(blackhole_detecting(), ISS, IRS);
    s.send(&[3u8; 1460]);
    assert_eq!(s.one().payload.len(), 1460);
    // Two chances per size: the full size, the black-hole MSS, the default MSS; then the
    // size from before (a path that drops small segments too is no black hole).
    assert_eq!(retransmissions(&mut s, 7), [1460, 1200, 1200, 536, 536, 1460, 1460]);
}

#[test]
fn a_smaller_size_that_gets_through_is_kept() {
    let mut s = Script::established_active_with(blackhole_detecting(), ISS, IRS);
    s.send(&[3u8; 1460]);
    s.one();
    assert_eq!(retransmissions(&mut s, 2), [1460, 1200]);
    s.inject(Seg::new(A, IRS + 1, ISS + 1201).win(65535));
    s.send(&[4u8; 3000]);
    let sizes: Vec<_> = s.sent().iter().map(|o| o.payload.len()).collect();
    assert!(sizes.iter().all(|&n| n <= 1200), "{sizes:?}");
    assert_eq!(s.ep.stats(s.id()).unwrap().pmtu, 1240);
}

#[test]
fn without_blackhole_detection_the_size_never_changes() {
    let mut s = Script::established_active_with(timer_only(), ISS, IRS);
    s.send(&[3u8; 1460]);
    s.one();
    assert_eq!(retransmissions(&mut s, 6), [1460; 6]);
}
