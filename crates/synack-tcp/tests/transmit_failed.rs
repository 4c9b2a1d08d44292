//! A segment the device refuses (`Endpoint::transmit_failed`): new data counts as never sent
//! and is offered again by a retry timer (first after one RTO, then every 500 ms without
//! backing off, Linux's TCP_RESOURCE_PROBE_INTERVAL); the user timeout counts from the first
//! retry; a refused retransmission is not counted as one.

mod script;
use script::*;
use synack_tcp::time::Duration;
use synack_tcp::{ConnConfig, ConnectionError, Instant, State, Transmit};

const I: u32 = ISS;
const T: u32 = IRS;

/// Offers every segment the SUT has now to a device that refuses them all; returns them.
fn refuse_all(s: &mut Script) -> Vec<Transmit> {
    let mut buf = vec![0; 70000];
    let mut out = Vec::new();
    while let Some(t) = s.ep.poll_transmit(s.now, &mut buf) {
        s.ep.transmit_failed(s.now, &t);
        out.push(t);
        assert!(out.len() < 1000, "a refused segment is offered again at once");
    }
    s.drain_events();
    out
}

/// Runs the timers for `d` with a device that refuses everything; the attempts, with their
/// times.
fn advance_refusing(s: &mut Script, d: Duration) -> Vec<(Instant, Transmit)> {
    let end = s.now + d;
    let mut out = Vec::new();
    while let Some(t) = s.ep.poll_timeout().filter(|&t| t <= end) {
        s.now = s.now.max(t);
        s.ep.on_timeout(s.now);
        out.extend(refuse_all(s).into_iter().map(|x| (s.now, x)));
    }
    s.now = end;
    out
}

fn established(user_timeout: Option<Duration>) -> Script {
    Script::established_passive(ConnConfig { nodelay: true, user_timeout, r2: None, ..plain() })
}

/// Refused new data is not sent: SND.NXT stays, the retry comes one RTO later and then every
/// 500 ms, each offering the same bytes from the same sequence number, and without any
/// backoff of the RTO; once the device takes it, it leaves from there as new data.
#[test]
fn refused_new_data_is_retried_every_500ms_from_the_same_place() {
    let mut s = established(None);
    let rto = s.ep.stats(s.id()).unwrap().rto;
    let before = s.ep.stats(s.id()).unwrap().segs_out;
    s.send(b"0123456789");
    let first = refuse_all(&mut s);
    assert_eq!(first.len(), 1);
    let st = s.ep.stats(s.id()).unwrap();
    assert_eq!((st.segs_out, st.bytes_sent), (before, 0), "nothing was sent");
    let start = s.now;
    let tries = advance_refusing(&mut s, rto + Duration::from_millis(1600));
    let at: Vec<Duration> = tries.iter().map(|(t, _)| t.saturating_since(start)).collect();
    let ms = Duration::from_millis;
    assert_eq!(at, vec![rto, rto + ms(500), rto + ms(1000), rto + ms(1500)]);
    for (_, t) in &tries {
        assert_eq!((t.seq.0, t.len - t.header_len), (I + 1, 10), "the same new data");
        assert!(!t.retransmission);
    }
    let st = s.ep.stats(s.id()).unwrap();
    assert_eq!((st.backoff, st.probes, st.retransmits), (0, 4, 0));
    assert_eq!(s.state(), State::Established);
    // The device takes packets again: the next retry leaves, and it is new data.
    let out = s.advance(ms(500));
    let data: Vec<_> = out.iter().filter(|(_, o)| !o.payload.is_empty()).collect();
    assert_eq!(data.len(), 1, "{out:?}");
    assert_eq!((data[0].1.seq, data[0].1.payload.len()), (I + 1, 10));
    s.inject(Seg::new(A, T + 1, I + 11));
    let st = s.ep.stats(s.id()).unwrap();
    assert_eq!((st.send_queue, st.probes, st.retransmits), (0, 0, 0));
}

/// With a user timeout, a connection whose data the device keeps refusing is aborted that
/// long after the first retry (not after the first refusal), as Linux does.
#[test]
fn user_timeout_counts_from_the_first_retry() {
    let ut = Duration::from_secs(3);
    let mut s = established(Some(ut));
    let rto = s.ep.stats(s.id()).unwrap().rto;
    s.send(b"x".repeat(24).as_slice());
    assert_eq!(refuse_all(&mut s).len(), 1);
    advance_refusing(&mut s, rto + ut - Duration::from_millis(1));
    assert_eq!(s.state(), State::Established);
    assert_eq!(s.ep.stats(s.id()).unwrap().probes, 6);
    advance_refusing(&mut s, Duration::from_millis(2));
    assert_eq!(s.ep.error(s.id()), Ok(Some(ConnectionError::UserTimeout)));
}

/// A retransmission the device refuses is not counted as one.
#[test]
fn a_refused_retransmission_is_not_counted() {
    let mut s = established(None);
    let rto = s.ep.stats(s.id()).unwrap().rto;
    let before = s.ep.stats(s.id()).unwrap().segs_out;
    s.send(b"0123456789");
    assert_eq!(s.sent().len(), 1);
    let tries = advance_refusing(&mut s, rto);
    assert!(tries.iter().any(|(_, t)| t.retransmission), "{tries:?}");
    let st = s.ep.stats(s.id()).unwrap();
    assert_eq!((st.retransmits, st.segs_out, st.bytes_sent), (0, before + 1, 10));
}

/// New data refused behind data in flight is taken back too; the data in flight keeps its
/// retransmission timer, and an ACK lets the rest go later as new data, not as a
/// retransmission.
#[test]
fn refused_data_behind_a_flight_is_taken_back() {
    let mut s = established(None);
    let before = s.ep.stats(s.id()).unwrap().segs_out;
    s.send(b"first");
    assert_eq!(s.sent().len(), 1);
    s.send(b"second");
    let refused = refuse_all(&mut s);
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].seq.0, I + 6);
    let st = s.ep.stats(s.id()).unwrap();
    assert_eq!((st.segs_out, st.bytes_sent), (before + 1, 5));
    s.inject(Seg::new(A, T + 1, I + 6));
    let out = s.sent();
    let data: Vec<_> = out.iter().filter(|o| !o.payload.is_empty()).collect();
    assert_eq!(data.len(), 1, "{out:?}");
    assert_eq!((data[0].seq, data[0].payload.as_slice()), (I + 6, &b"second"[..]));
    assert_eq!(s.ep.stats(s.id()).unwrap().retransmits, 0);
}

/// `last_transmit_failed`, for an interface that no longer holds the segment, undoes the
/// segment the last poll returned, once: a second report changes nothing.
#[test]
fn the_last_segment_can_be_reported_without_it() {
    let mut s = established(None);
    let mut buf = vec![0; 70000];
    s.send(b"0123456789");
    let t = s.ep.poll_transmit(s.now, &mut buf).expect("the data");
    assert_eq!(t.seq.0, I + 1);
    s.ep.last_transmit_failed(s.now);
    s.ep.last_transmit_failed(s.now);
    assert!(s.ep.poll_transmit(s.now, &mut buf).is_none(), "it waits for the retry");
    let st = s.ep.stats(s.id()).unwrap();
    assert_eq!((st.bytes_sent, st.send_queue), (0, 10));
    let rto = st.rto;
    let out = s.advance(rto);
    let data: Vec<_> = out.iter().filter(|(_, o)| !o.payload.is_empty()).collect();
    assert_eq!(data.len(), 1);
    assert_eq!((data[0].1.seq, data[0].1.payload.len()), (I + 1, 10));
}
