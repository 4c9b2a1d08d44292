//! Transmit timestamps (`Endpoint::set_tx_timestamping`, Linux's `SO_TIMESTAMPING`): the last
//! byte of each write is stamped scheduled and sent when the segment carrying it leaves, and
//! acknowledged when SND.UNA passes it; keys count from SND.UNA when `opt_id` was switched
//! on; a retransmission stamps again; the error queue keeps its order.

mod script;
use script::*;
use synack_tcp::Duration;
use synack_tcp::tx_stamp::{TxStamp, TxStampFlags, TxStampKind};

const I: u32 = ISS;
const T: u32 = IRS;

const ALL: TxStampFlags = TxStampFlags {
    scheduled: true,
    sent: true,
    acked: true,
    opt_id: true,
    opt_id_tcp: false,
    ts_only: false,
};

fn stamps(s: &mut Script) -> Vec<(TxStampKind, u32, u64, u32)> {
    let id = s.id();
    let mut v = Vec::new();
    while let Some(TxStamp { kind, key, at, packet_len }) = s.ep.pop_tx_stamp(id).unwrap() {
        v.push((kind, key, at.as_millis() - 1_000_000, packet_len));
    }
    v
}

/// Two writes of 1500 bytes with an MSS of 1000: the first write's last byte (key 1499)
/// leaves in the second segment, the second's (2999) in the third; each is acknowledged as
/// SND.UNA passes it.
#[test]
fn each_write_is_stamped_when_its_last_byte_leaves_and_is_acknowledged() {
    let mut s = established_plain_mss1000(true);
    let t0 = s.now.as_millis() - 1_000_000;
    s.ep.set_tx_timestamping(s.id(), ALL).unwrap();
    assert_eq!(s.ep.tx_timestamping(s.id()).unwrap(), ALL);
    s.send(&[1; 1500]);
    s.send(&[2; 1500]);
    let out = s.sent();
    assert_eq!(
        payload_ranges(&out).iter().map(|r| (r.0, r.1)).collect::<Vec<_>>(),
        [(1, 1001), (1001, 2001), (2001, 3001)]
    );
    use TxStampKind::*;
    assert_eq!(
        stamps(&mut s),
        [
            (Scheduled, 1499, t0, 1000),
            (Sent, 1499, t0, 1000),
            (Scheduled, 2999, t0, 1000),
            (Sent, 2999, t0, 1000),
        ]
    );
    s.advance(Duration::from_millis(10));
    s.inject(Seg::new(A, T + 1, I + 1001));
    assert_eq!(stamps(&mut s), [], "byte 1499 is not acknowledged yet");
    s.inject(Seg::new(A, T + 1, I + 2001));
    s.advance(Duration::from_millis(10));
    s.inject(Seg::new(A, T + 1, I + 3001));
    assert_eq!(stamps(&mut s), [(Acked, 1499, t0 + 10, 1000), (Acked, 2999, t0 + 20, 1000)]);
    assert!(!s.ep.tx_stamp_pending(s.id()).unwrap());
}

/// A write before the flags were set is not stamped; keys count from SND.UNA at the time
/// `opt_id` was switched on; a retransmission of the key byte stamps it sent again.
#[test]
fn keys_count_from_una_and_a_retransmission_stamps_again() {
    let mut s = established_plain_mss1000(true);
    s.send(&[1; 500]);
    s.sent();
    s.advance(Duration::from_millis(10));
    s.inject(Seg::new(A, T + 1, I + 501));
    let flags = TxStampFlags { scheduled: false, acked: false, ..ALL };
    s.ep.set_tx_timestamping(s.id(), flags).unwrap();
    s.send(&[2; 100]);
    assert_eq!(s.sent().len(), 1);
    let first = stamps(&mut s);
    assert_eq!(
        first.iter().map(|x| (x.0, x.1, x.3)).collect::<Vec<_>>(),
        [(TxStampKind::Sent, 99, 100)]
    );
    // No ACK: each RTO resends the segment, and its key byte is stamped again each time.
    let rtx: Vec<_> = s
        .advance(Duration::from_secs(3))
        .into_iter()
        .filter(|(_, o)| !o.payload.is_empty())
        .collect();
    assert!(!rtx.is_empty());
    let again = stamps(&mut s);
    assert_eq!(again.len(), rtx.len(), "{again:?}");
    for ((at, _), st) in rtx.iter().zip(&again) {
        assert_eq!((st.0, st.1, st.2), (TxStampKind::Sent, 99, at.as_millis() - 1_000_000));
    }
}

/// Without flags nothing is recorded and the error queue stays empty.
#[test]
fn no_flags_no_stamps() {
    let mut s = established_plain_mss1000(true);
    s.send(&[1; 1500]);
    s.sent();
    s.inject(Seg::new(A, T + 1, I + 1501));
    assert_eq!(s.ep.pop_tx_stamp(s.id()).unwrap(), None);
    assert_eq!(s.ep.tx_timestamping(s.id()).unwrap(), TxStampFlags::default());
}
