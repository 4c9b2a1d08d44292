//! Without SACK, a duplicate ACK reports one delivered segment; the cumulative ACK that
//! later covers the duplicated segments delivers only what the duplicates did not report,
//! and the window grows by that (as the SACK path grows by newly delivered data only).
use super::*;

const MSS: u32 = 1000;
const ISS: SeqNum = SeqNum(1_000);

fn ack(now: Instant, una_before: SeqNum, ack: SeqNum, snd_max: SeqNum) -> AckInfo<'static> {
    AckInfo {
        now,
        una_before,
        ack,
        snd_max,
        window: 65535,
        payload_len: 0,
        syn_or_fin: false,
        sack: &[],
        bytes_acked: ack.since(una_before),
        rtt: None,
        srtt: Some(Duration::from_millis(100)),
        min_rtt: None,
        ece: false,
        smss: MSS,
        sack_growth_above: None,
    }
}

/// Ten segments out (a full initial window), two more by limited transmit on two
/// duplicates, then an ACK for three segments: two of them were reported by the duplicates,
/// so slow start grows cwnd by one segment (10 to 11), leaving room for two new segments
/// with nine outstanding.
fn after_reordering(choice: CcChoice) -> (Recovery, u32) {
    let una = ISS + 1;
    let rto = Duration::from_secs(1);
    let mut r = Recovery::new(choice, MSS, ISS);
    r.want_abc_limit(None);
    r.want_hystart(false);
    r.on_established(MSS, false, una, None);
    // The handshake's ACK announced the window the duplicates repeat.
    r.last_window = 65535;
    let t0 = Instant::from_millis(200);
    let cwnd0 = r.cc.cwnd();
    assert_eq!(cwnd0, 10 * MSS);
    r.on_send_new(t0, una, una + 10 * MSS, true, rto);
    r.on_window_use(una, una + 10 * MSS, MSS, false);
    let mut snd_max = una + 10 * MSS;
    for i in 0..2u64 {
        let now = t0 + Duration::from_millis(110 + 10 * i);
        r.on_ack(&ack(now, una, una, snd_max));
        assert_eq!(r.cc.cwnd(), cwnd0, "a duplicate ACK does not grow the window");
        let flight = r.flight(una, snd_max);
        assert_eq!(r.allowance(flight, MSS), MSS, "limited transmit: one segment");
        r.on_send_new(now, snd_max, snd_max + MSS, false, rto);
        snd_max += MSS;
        r.on_window_use(una, snd_max, MSS, false);
    }
    let now = t0 + Duration::from_millis(140);
    let acked = una + 3 * MSS;
    r.on_ack(&ack(now, una, acked, snd_max));
    let flight = r.flight(acked, snd_max);
    assert_eq!(flight, 9 * MSS);
    let allowance = r.allowance(flight, MSS);
    (r, allowance)
}

#[test]
fn a_cumulative_ack_after_duplicates_grows_by_what_they_did_not_report() {
    for choice in [CcChoice::NewReno, CcChoice::Cubic] {
        let (r, allowance) = after_reordering(choice);
        assert_eq!(r.cc.cwnd(), 11 * MSS, "{choice:?}");
        assert_eq!(allowance, 2 * MSS, "{choice:?}");
    }
}
