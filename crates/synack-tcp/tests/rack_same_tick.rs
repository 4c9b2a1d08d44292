//! RACK's "sent after" order within one clock tick (RFC 8985 `RACK_sent_after`): segments
//! of one kind sent in the same tick go in sequence order, but between a retransmission and
//! an original transmission of the same tick the order is unknown, so delivering one does not
//! mark the other lost (with a virtual clock, data sent and repaired in the same instant
//! shares the tick).

use synack_tcp::rack::{Rack, RackConfig};
use synack_tcp::{Duration, Instant};
use synack_wire::SeqNum;
use synack_wire::tcp::SackBlock;

fn blk(l: u32, r: u32) -> SackBlock {
    SackBlock { left: SeqNum(l), right: SeqNum(r) }
}

fn lost(r: &Rack) -> Vec<(u32, u32)> {
    r.lost_ranges().map(|(a, b)| (a.0, b.0)).collect()
}

/// Ten segments at 10 ms, and everything up to the second new segment in that same tick
/// (a virtual clock, zero RTT): three SACKed above the first two mark them lost, and they are
/// retransmitted. A SACK of an original of that tick then leaves the retransmission in
/// flight, as does one of new data sent after it in the tick; the originals of the tick
/// below that new data are lost. Data sent at a later tick, once delivered, marks the
/// retransmission lost after its RTT.
#[test]
fn originals_and_retransmissions_of_one_tick_prove_nothing_about_each_other() {
    let t = Instant::from_millis;
    let srtt = Some(Duration::from_millis(20));
    let mut r = Rack::new(RackConfig::default(), SeqNum(0));
    for i in 0..10 {
        r.on_transmit(t(10), SeqNum(i * 1000), SeqNum((i + 1) * 1000), false);
    }
    let o = r.on_ack(t(10), SeqNum(0), &[blk(2000, 5000)], false, srtt, false);
    assert_eq!(o.newly_lost, 2000);
    r.on_transmit(t(10), SeqNum(0), SeqNum(2000), true);
    assert!(lost(&r).is_empty());
    let o = r.on_ack(t(10), SeqNum(0), &[blk(2000, 6000)], false, srtt, true);
    assert_eq!(o.newly_lost, 0, "{:?}", lost(&r));
    assert_eq!(r.retransmitted_segments(), 2);
    r.on_transmit(t(10), SeqNum(10_000), SeqNum(11_000), false);
    let o = r.on_ack(t(10), SeqNum(0), &[blk(2000, 6000), blk(10_000, 11_000)], false, srtt, true);
    assert_eq!(o.newly_lost, 4000, "6000..10000 only: {:?}", lost(&r));
    assert_eq!(r.retransmitted_segments(), 2);
    r.on_transmit(t(60), SeqNum(11_000), SeqNum(12_000), false);
    let o = r.on_ack(t(80), SeqNum(0), &[blk(2000, 6000), blk(10_000, 12_000)], false, srtt, true);
    assert_eq!(o.newly_lost, 2000, "{:?}", lost(&r));
    assert_eq!(lost(&r), [(0, 2000), (6000, 10_000)]);
}
