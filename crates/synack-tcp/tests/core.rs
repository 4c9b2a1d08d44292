//! RFC 9293 section 3.10 core event processing: checklist tests C1-C12.

mod script;
use script::*;
use synack_tcp::{ConnConfig, ConnectionError, Duration, Event, RecvError, State};

const I: u32 = ISS;
const T: u32 = IRS;

#[test]
fn c1_closed_port_syn_gets_rst_ack() {
    let mut s = Script::with_config(Default::default());
    s.inject(Seg::new(S, 100, 0));
    let o = s.one();
    check(&o, RA, 0, 101);
    // SEG.LEN counts SYN, FIN and data.
    s.inject(Seg::new(S | F, 100, 0).len(10));
    check(&s.one(), RA, 0, 112);
}

#[test]
fn c1_closed_port_ack_gets_rst_seq_ack() {
    let mut s = Script::with_config(Default::default());
    s.inject(Seg::new(A, 100, 777).len(5));
    let o = s.one();
    check(&o, R, 777, 0);
    assert!(!o.flags.ack());
}

#[test]
fn c1_closed_port_rst_never_answered() {
    let mut s = Script::with_config(Default::default());
    s.inject(Seg::new(R, 100, 0));
    s.inject(Seg::new(RA, 100, 5));
    s.none();
}

#[test]
fn c2_listen_rst_ignored_ack_reset_syn_answered() {
    let mut s = Script::listening(plain());
    s.inject(Seg::new(R, 1, 0));
    s.none();
    s.inject(Seg::new(A, 1, 4242));
    check(&s.one(), R, 4242, 0);
    s.inject(Seg::new(S, 99, 0));
    let o = s.one();
    check(&o, SA, I, 100);
    assert_eq!(o.options.mss, Some(1460));
    // Still listening: a SYN from another port gets its own SYN-ACK.
    s.remote = v4(2, 4001);
    s.inject(Seg::new(S, 500, 0));
    check(&s.one(), SA, I, 501);
    assert_eq!(s.ep.syn_queue_len(s.listener.unwrap()), 2);
}

#[test]
fn c3_syn_sent_bad_ack_gets_rst_and_keeps_waiting() {
    let mut s = Script::connecting(plain());
    check(&s.one(), S, I, 0);
    // ack <= ISS
    s.inject(Seg::new(SA, T, I));
    check(&s.one(), R, I, 0);
    // ack > SND.NXT
    s.inject(Seg::new(SA, T, I + 2));
    check(&s.one(), R, I + 2, 0);
    // a RST with a bad ACK is dropped silently
    s.inject(Seg::new(RA, T, I + 2));
    s.none();
    assert_eq!(s.state(), State::SynSent);
}

#[test]
fn c3_syn_sent_rst_with_ack_refuses() {
    let mut s = Script::connecting(plain());
    s.one();
    s.inject(Seg::new(RA, 0, I + 1));
    s.none();
    assert_eq!(s.state(), State::Closed);
    assert_eq!(s.ep.error(s.id()), Ok(Some(ConnectionError::Refused)));
    assert!(s.has_event(|e| matches!(e, Event::Error { error: ConnectionError::Refused, .. })));
}

#[test]
fn c3_syn_sent_rst_without_ack_ignored() {
    let mut s = Script::connecting(plain());
    s.one();
    s.inject(Seg::new(R, 0, 0));
    s.none();
    assert_eq!(s.state(), State::SynSent);
}

#[test]
fn c3_syn_sent_valid_synack_establishes_and_delivers_data() {
    let mut s = Script::connecting(plain());
    s.one();
    s.inject(Seg::new(SA, T, I + 1).data(b"hello"));
    let o = s.one();
    check(&o, A, I + 1, T + 6);
    assert_eq!(s.state(), State::Established);
    assert_eq!(s.recv_all(), b"hello");
    assert!(s.has_event(|e| matches!(e, Event::Connected(_))));
}

#[test]
fn c4_syn_received_bad_ack_gets_rst() {
    let mut s = Script::listening(plain());
    s.inject(Seg::new(S, T, 0));
    s.one();
    s.inject(Seg::new(A, T + 1, I + 5));
    check(&s.one(), R, I + 5, 0);
    assert_eq!(s.ep.accept(s.listener.unwrap()), None);
}

#[test]
fn c4_syn_received_good_ack_establishes_and_accept_returns() {
    let mut s = Script::listening(plain());
    s.inject(Seg::new(S, T, 0));
    s.one();
    s.inject(Seg::new(A, T + 1, I + 1));
    s.none();
    assert!(s.has_event(|e| matches!(e, Event::AcceptReady(_))));
    let c = s.ep.accept(s.listener.unwrap()).unwrap();
    assert_eq!(s.ep.state(c), Ok(State::Established));
}

#[test]
fn c4_data_on_final_handshake_ack_is_delivered() {
    let mut s = Script::listening(plain());
    s.inject(Seg::new(S, T, 0));
    s.one();
    s.inject(Seg::new(PA, T + 1, I + 1).data(b"GET /"));
    let c = s.ep.accept(s.listener.unwrap()).unwrap();
    s.conn = Some(c);
    assert_eq!(s.recv_all(), b"GET /");
}

/// RCV.WND = 65535 here (no window scaling); RCV.NXT = T+1.
#[test]
fn c5_acceptability_zero_length_open_window() {
    let mut s = Script::established_passive(plain());
    let nxt = T + 1;
    // RCV.NXT-1: unacceptable -> ACK.
    s.inject(Seg::new(A, nxt - 1, I + 1));
    check(&s.one(), A, I + 1, nxt);
    // RCV.NXT and RCV.NXT+RCV.WND-1: acceptable, nothing to say.
    s.inject(Seg::new(A, nxt, I + 1));
    s.none();
    s.inject(Seg::new(A, nxt + 65534, I + 1));
    s.none();
    // RCV.NXT+RCV.WND: unacceptable, but the connection answered one such segment without
    // data less than 500 ms ago (the out-of-window ACK limit): silence until then.
    s.inject(Seg::new(A, nxt + 65535, I + 1));
    s.none();
    assert!(s.advance(Duration::from_millis(500)).is_empty());
    s.inject(Seg::new(A, nxt + 65535, I + 1));
    check(&s.one(), A, I + 1, nxt);
}

#[test]
fn c5_acceptability_data_open_window_boundaries() {
    let mut s = Script::established_passive(plain());
    let nxt = T + 1;
    // Entirely before RCV.NXT: unacceptable -> ACK, nothing delivered.
    s.inject(Seg::new(A, nxt - 10, I + 1).len(10));
    check(&s.one(), A, I + 1, nxt);
    // Last byte at RCV.NXT+RCV.WND-1 (starts inside): acceptable, held out of order.
    s.inject(Seg::new(A, nxt + 65535 - 10, I + 1).len(10));
    let o = s.one();
    check(&o, A, I + 1, nxt); // immediate duplicate ACK for out-of-order data
    // Starting at RCV.NXT+RCV.WND: unacceptable.
    s.inject(Seg::new(A, nxt + 65535, I + 1).len(10));
    check(&s.one(), A, I + 1, nxt);
    // Overlapping the left edge: trimmed, the new part delivered.
    s.inject(Seg::new(A, nxt - 3, I + 1).data(b"xyzABC"));
    let o = s.sent();
    assert!(o.iter().all(|o| o.seq == I + 1));
    assert_eq!(s.recv_all(), b"ABC");
}

#[test]
fn c5_acceptability_zero_window_cases() {
    let mut s = Script::established_passive(script::plain_small_buffer());
    let nxt = T + 1;
    // Fill the 1000-byte receive buffer: window 0.
    s.inject(Seg::new(A, nxt, I + 1).len(1000));
    let o = s.advance(Duration::from_millis(500));
    assert_eq!(o.last().unwrap().1.window, 0);
    let nxt = nxt + 1000;
    // Zero length at RCV.NXT: acceptable (no reply).
    s.inject(Seg::new(A, nxt, I + 1));
    s.none();
    // Zero length elsewhere: unacceptable.
    s.inject(Seg::new(A, nxt + 1, I + 1));
    check(&s.one(), A, I + 1, nxt);
    // Data with a zero window: never acceptable, ACKed and dropped.
    s.inject(Seg::new(A, nxt, I + 1).len(5));
    let o = s.one();
    check(&o, A, I + 1, nxt);
    assert_eq!(o.window, 0);
}

/// A segment that begins before RCV.NXT and ends past the window's right edge has neither its
/// first nor its last octet in the window (Table 6's two tests), yet carries the window's new
/// data: it is taken and trimmed, here a retransmission of a received byte, then exactly a
/// window's worth of data and a FIN (which takes no buffer space).
#[test]
fn c5_a_segment_spanning_the_whole_window_is_trimmed_and_taken() {
    let mut s = Script::established_passive(script::plain_small_buffer());
    let nxt = T + 1;
    s.inject(Seg::new(A, nxt, I + 1).len(1));
    s.advance(Duration::from_millis(500));
    // 1 byte queued, unread: 999 bytes of window from nxt + 1.
    let mut payload = vec![0u8; 1001];
    payload[1..1000].fill(7);
    s.inject(Seg::new(FA, nxt, I + 1).data(&payload[..1000]));
    let o = s.advance(Duration::from_millis(500));
    let last = &o.last().expect("an ACK").1;
    check(last, A, I + 1, nxt + 1001);
    assert_eq!(s.state(), State::CloseWait);
    let got = s.recv_all();
    assert_eq!(got.len(), 1000);
    assert!(got[1..].iter().all(|&b| b == 7));
}

#[test]
fn c6_ack_beyond_snd_nxt_is_acked_and_dropped() {
    let mut s = Script::established_passive(plain());
    s.inject(Seg::new(A, T + 1, I + 100).data(b"data"));
    check(&s.one(), A, I + 1, T + 1);
    assert!(s.recv_all().is_empty());
}

#[test]
fn c6_duplicate_ack_changes_nothing() {
    let mut s = Script::established_passive(ConnConfig { nodelay: true, ..plain() });
    s.send(b"abc");
    s.one();
    s.inject(Seg::new(A, T + 1, I + 1));
    s.none();
    assert_eq!(s.ep.stats(s.id()).unwrap().snd_una.0, I + 1);
    s.inject(Seg::new(A, T + 1, I + 4));
    assert_eq!(s.ep.stats(s.id()).unwrap().snd_una.0, I + 4);
}

#[test]
fn c6_window_update_uses_wl1_wl2_rule() {
    let mut s = Script::established_passive(plain());
    // Data at T+1 sets the window (SND.WL1 = T+1).
    s.inject(Seg::new(A, T + 1, I + 1).win(1000).len(10));
    assert_eq!(s.ep.stats(s.id()).unwrap().snd_wnd, 1000);
    // A newer segment (SEG.SEQ = T+11 > SND.WL1) updates it.
    s.inject(Seg::new(A, T + 11, I + 1).win(2000));
    assert_eq!(s.ep.stats(s.id()).unwrap().snd_wnd, 2000);
    // Same SND.WL1 and SND.WL2 =< SEG.ACK: also used.
    s.inject(Seg::new(A, T + 11, I + 1).win(3000));
    assert_eq!(s.ep.stats(s.id()).unwrap().snd_wnd, 3000);
    // An older segment (SEG.SEQ = T+5 < SND.WL1) overlapping new data: its data is taken,
    // its larger window is not.
    s.inject(Seg::new(A, T + 5, I + 1).win(50000).len(10));
    assert_eq!(s.ep.stats(s.id()).unwrap().snd_wnd, 3000);
    assert_eq!(s.recv_all().len(), 14);
}

fn close_and_collect(s: &mut Script) -> Vec<State> {
    s.events
        .iter()
        .filter_map(|e| match e {
            Event::StateChanged { new, .. } => Some(*new),
            _ => None,
        })
        .collect()
}

fn active_close(iss: u32, irs: u32) {
    let mut s = Script::established_passive_with(plain(), iss, irs);
    let (i1, t1) = (iss.wrapping_add(1), irs.wrapping_add(1));
    s.ep.close(s.id()).unwrap();
    check(&s.one(), FA, i1, t1);
    assert_eq!(s.state(), State::FinWait1);
    s.inject(Seg::new(A, t1, i1.wrapping_add(1)));
    assert_eq!(s.state(), State::FinWait2);
    s.inject(Seg::new(FA, t1, i1.wrapping_add(1)));
    check(&s.one(), A, i1.wrapping_add(1), t1.wrapping_add(1));
    assert_eq!(s.state(), State::TimeWait);
    assert_eq!(
        close_and_collect(&mut s),
        [State::FinWait1, State::FinWait2, State::TimeWait, State::Closed][..3]
    );
    s.advance(Duration::from_secs(240));
    assert!(s.ep.state(s.id()).is_err(), "released after TIME-WAIT");
    assert!(s.has_event(|e| matches!(e, Event::Closed(_))));
}

#[test]
fn c7_active_close_four_way() {
    active_close(ISS, IRS);
}

#[test]
fn c7_active_close_four_way_near_wrap() {
    active_close(u32::MAX - 1, u32::MAX);
    active_close(u32::MAX, u32::MAX - 1);
}

fn passive_close(iss: u32, irs: u32) {
    let mut s = Script::established_passive_with(plain(), iss, irs);
    let (i1, t1) = (iss.wrapping_add(1), irs.wrapping_add(1));
    s.inject(Seg::new(FA, t1, i1));
    check(&s.one(), A, i1, t1.wrapping_add(1));
    assert_eq!(s.state(), State::CloseWait);
    assert!(s.has_event(|e| matches!(e, Event::PeerClosed(_))));
    assert_eq!(s.ep.recv(s.id(), &mut [0; 10]), Ok(0));
    s.ep.close(s.id()).unwrap();
    check(&s.one(), FA, i1, t1.wrapping_add(1));
    assert_eq!(s.state(), State::LastAck);
    s.inject(Seg::new(A, t1.wrapping_add(1), i1.wrapping_add(1)));
    s.none();
    assert!(s.ep.state(s.id()).is_err(), "gone after LAST-ACK");
    assert!(s.has_event(|e| matches!(e, Event::Closed(_))));
}

#[test]
fn c7_passive_close() {
    passive_close(ISS, IRS);
}

#[test]
fn c7_passive_close_near_wrap() {
    passive_close(u32::MAX - 1, u32::MAX);
    passive_close(u32::MAX, u32::MAX - 1);
}

fn simultaneous_close(iss: u32, irs: u32) {
    let mut s = Script::established_passive_with(plain(), iss, irs);
    let (i1, t1) = (iss.wrapping_add(1), irs.wrapping_add(1));
    s.ep.close(s.id()).unwrap();
    check(&s.one(), FA, i1, t1);
    // T's FIN crosses ours: it does not acknowledge our FIN.
    s.inject(Seg::new(FA, t1, i1));
    check(&s.one(), A, i1.wrapping_add(1), t1.wrapping_add(1));
    assert_eq!(s.state(), State::Closing);
    s.inject(Seg::new(A, t1.wrapping_add(1), i1.wrapping_add(1)));
    assert_eq!(s.state(), State::TimeWait);
}

#[test]
fn c7_simultaneous_close_through_closing() {
    simultaneous_close(ISS, IRS);
}

#[test]
fn c7_simultaneous_close_near_wrap() {
    simultaneous_close(u32::MAX, u32::MAX);
    simultaneous_close(u32::MAX - 1, u32::MAX - 1);
}

fn fin_ack_combined(iss: u32, irs: u32) {
    let mut s = Script::established_passive_with(plain(), iss, irs);
    let (i1, t1) = (iss.wrapping_add(1), irs.wrapping_add(1));
    s.ep.close(s.id()).unwrap();
    check(&s.one(), FA, i1, t1);
    s.inject(Seg::new(FA, t1, i1.wrapping_add(1)));
    check(&s.one(), A, i1.wrapping_add(1), t1.wrapping_add(1));
    assert_eq!(s.state(), State::TimeWait);
}

#[test]
fn c7_fin_ack_in_fin_wait_1_goes_to_time_wait() {
    fin_ack_combined(ISS, IRS);
    fin_ack_combined(u32::MAX, u32::MAX - 1);
}

#[test]
fn c7_fin_in_time_wait_is_reacked_and_restarts_2msl() {
    let mut s = Script::established_passive(plain());
    s.ep.close(s.id()).unwrap();
    s.one();
    s.inject(Seg::new(FA, T + 1, I + 2));
    s.one();
    assert_eq!(s.state(), State::TimeWait);
    // 200 s later (2MSL = 240 s) the FIN is retransmitted: re-ACK and restart.
    s.advance(Duration::from_secs(200));
    s.inject(Seg::new(FA, T + 1, I + 2));
    check(&s.one(), A, I + 2, T + 2);
    s.advance(Duration::from_secs(200));
    assert_eq!(s.state(), State::TimeWait);
    s.advance(Duration::from_secs(41));
    assert!(s.ep.state(s.id()).is_err());
    // Now the tuple is unknown: the FIN gets a RST.
    s.inject(Seg::new(FA, T + 1, I + 2));
    check(&s.one(), R, I + 2, 0);
}

/// TIME-WAIT after a passive-side close (our FIN ACKed, the peer's FIN at T+1 ACKed).
fn in_time_wait() -> Script {
    let mut s = Script::established_passive(plain());
    s.ep.close(s.id()).unwrap();
    s.one();
    s.inject(Seg::new(FA, T + 1, I + 2));
    s.one();
    assert_eq!(s.state(), State::TimeWait);
    s
}

#[test]
fn c7_time_wait_drops_a_segment_without_ack() {
    // RFC 9293 3.10.7.4, fifth: the ACK bit off drops the segment, FIN or not.
    let mut s = in_time_wait();
    s.inject(Seg::new(F, T + 2, 0));
    s.none();
    s.inject(Seg::new(NONE, T + 2, 0).data(&[1; 10]));
    s.none();
    assert_eq!(s.state(), State::TimeWait);
}

#[test]
fn c7_time_wait_acks_segments_outside_the_window() {
    // First, the sequence number check: an unacceptable segment is answered with an ACK,
    // zero-length ones included, left of RCV.NXT or beyond RCV.NXT + RCV.WND.
    let mut s = in_time_wait();
    s.inject(Seg::new(A, T + 1, I + 2));
    check(&s.one(), A, I + 2, T + 2);
    s.inject(Seg::new(A, T + 2 + 70_000, I + 2));
    check(&s.one(), A, I + 2, T + 2);
    // An acceptable duplicate ACK at RCV.NXT draws nothing.
    s.inject(Seg::new(A, T + 2, I + 2));
    s.none();
}

#[test]
fn c8_rst_in_syn_received_from_listen_returns_to_listen() {
    let mut s = Script::listening(plain());
    s.inject(Seg::new(S, T, 0));
    s.one();
    s.inject(Seg::new(R, T + 1, 0));
    s.none();
    assert_eq!(s.ep.syn_queue_len(s.listener.unwrap()), 0);
    assert!(!s.has_event(|e| matches!(e, Event::Error { .. })));
    s.inject(Seg::new(S, T + 100, 0));
    check(&s.one(), SA, I, T + 101);
}

#[test]
fn c8_rst_in_synchronized_states_resets() {
    for st in [State::Established, State::FinWait1, State::FinWait2, State::CloseWait] {
        let mut s = Script::established_passive(plain());
        match st {
            State::FinWait1 => {
                s.ep.shutdown_write(s.id()).unwrap();
                s.one();
            }
            State::FinWait2 => {
                s.ep.shutdown_write(s.id()).unwrap();
                s.one();
                s.inject(Seg::new(A, T + 1, I + 2));
            }
            State::CloseWait => {
                s.inject(Seg::new(FA, T + 1, I + 1));
                s.one();
            }
            _ => {}
        }
        assert_eq!(s.state(), st);
        let rcv_nxt = s.ep.stats(s.id()).unwrap().rcv_nxt.0;
        s.inject(Seg::new(R, rcv_nxt, 0));
        s.none();
        assert_eq!(s.state(), State::Closed, "from {st}");
        assert_eq!(s.ep.error(s.id()), Ok(Some(ConnectionError::Reset)));
        assert_eq!(
            s.ep.recv(s.id(), &mut [0; 4]),
            Err(RecvError::Connection(ConnectionError::Reset))
        );
    }
}

#[test]
fn c8_rst_in_closing_last_ack_time_wait_closes_silently() {
    // LAST-ACK
    let mut s = Script::established_passive(plain());
    s.inject(Seg::new(FA, T + 1, I + 1));
    s.one();
    s.ep.shutdown_write(s.id()).unwrap();
    s.one();
    assert_eq!(s.state(), State::LastAck);
    s.inject(Seg::new(R, T + 2, 0));
    s.none();
    assert_eq!(s.state(), State::Closed);
    assert_eq!(s.ep.error(s.id()), Ok(None));
    // CLOSING
    let mut s = Script::established_passive(plain());
    s.ep.shutdown_write(s.id()).unwrap();
    s.one();
    s.inject(Seg::new(FA, T + 1, I + 1));
    s.one();
    assert_eq!(s.state(), State::Closing);
    s.inject(Seg::new(R, T + 2, 0));
    assert_eq!(s.state(), State::Closed);
    // TIME-WAIT
    let mut s = Script::established_passive(plain());
    s.ep.shutdown_write(s.id()).unwrap();
    s.one();
    s.inject(Seg::new(FA, T + 1, I + 2));
    s.one();
    assert_eq!(s.state(), State::TimeWait);
    s.inject(Seg::new(R, T + 2, 0));
    s.none();
    assert_eq!(s.state(), State::Closed);
}

#[test]
fn c9_half_close_peer_fin_then_we_still_send() {
    let mut s = Script::established_passive(ConnConfig { nodelay: true, ..plain() });
    s.inject(Seg::new(FA, T + 1, I + 1));
    s.one();
    assert_eq!(s.send(b"still talking"), 13);
    let o = s.one();
    assert_eq!(o.payload, b"still talking");
    check(&o, PA, I + 1, T + 2);
}

#[test]
fn c9_half_close_we_shut_down_and_still_receive() {
    let mut s = Script::established_passive(plain());
    s.ep.shutdown_write(s.id()).unwrap();
    check(&s.one(), FA, I + 1, T + 1);
    s.inject(Seg::new(A, T + 1, I + 2).data(b"more data"));
    assert_eq!(s.recv_all(), b"more data");
    assert_eq!(s.state(), State::FinWait2);
    assert_eq!(s.ep.send(s.id(), b"x"), Err(synack_tcp::SendError::Closed));
}

#[test]
fn c11_user_timeout_aborts() {
    let mut s = Script::established_passive(ConnConfig {
        nodelay: true,
        user_timeout: Some(Duration::from_secs(10)),
        r2: None,
        ..plain()
    });
    s.send(b"into the void");
    s.one();
    let out = s.advance(Duration::from_secs(9));
    assert!(!out.is_empty(), "retransmissions while waiting");
    assert_eq!(s.state(), State::Established);
    s.advance(Duration::from_secs(2));
    assert_eq!(s.state(), State::Closed);
    assert_eq!(s.ep.error(s.id()), Ok(Some(ConnectionError::UserTimeout)));
}

#[test]
fn c9_half_close_unread_data_survives_time_wait_and_last_ack() {
    // Active side: after shutdown_write, data and FIN arrive together; TIME-WAIT keeps them.
    let mut s = Script::established_passive(plain());
    s.ep.shutdown_write(s.id()).unwrap();
    s.one();
    s.inject(Seg::new(FA, T + 1, I + 2).data(b"last words"));
    assert_eq!(s.state(), State::TimeWait);
    assert_eq!(s.recv_all(), b"last words");
    assert_eq!(s.ep.recv(s.id(), &mut [0; 4]), Ok(0));
    // Passive side: unread data, then our FIN is acknowledged and the TCB goes away.
    let mut s = Script::established_passive(plain());
    s.inject(Seg::new(FA, T + 1, I + 1).data(b"tail"));
    s.sent();
    s.ep.shutdown_write(s.id()).unwrap();
    s.one();
    s.inject(Seg::new(A, T + 6, I + 2));
    assert_eq!(s.state(), State::Closed);
    assert_eq!(s.recv_all(), b"tail");
    assert_eq!(s.ep.recv(s.id(), &mut [0; 4]), Ok(0));
}
