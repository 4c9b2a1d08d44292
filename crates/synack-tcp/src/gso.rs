//! How Linux cuts new data into TSO/GSO packets, for `PushPolicy::LinuxGso`: the PSH bits a
//! Linux sender puts on the wire follow these packets, not the application's writes alone.
//!
//! Linux hands the device (or its software GSO) one packet of several MSS at a time and sets
//! PSH on every packet of more than one segment (`__tcp_transmit_skb`: "force a PSH flag on
//! all (GSO) packets to expedite GRO flush at receiver"); segmentation keeps the flag on the
//! packet's last segment only (`tcp_gso_segment`). A single-segment packet carries PSH only
//! when its data ends a write (`tcp_mark_push`; `tso_fragment` moves the mark to the tail of a
//! split). So where PSH goes is where Linux ends its packets, which `tcp_write_xmit` decides
//! each time it starts one:
//!
//! * at most half the congestion window, and no more than cwnd leaves room for
//!   (`tcp_cwnd_test`: "ensure we have at least 2 GSO packets in flight");
//! * at most the TSO autosize (`tcp_tso_autosize`): the bytes the pacing rate sends in about a
//!   millisecond (`sk_pacing_rate >> sk_pacing_shift`), plus, on paths under 16 ms, 64 KB
//!   halved for every 512 us of the minimum RTT (`tcp_tso_rtt_log` 9), capped at the GSO
//!   size, and never fewer segments than `tcp_min_tso_segs`;
//! * the peer's window and the queued data, without a sub-MSS tail Nagle would hold
//!   (`tcp_mss_split_point`).
//!
//! (Linux's packets also end where its buffers (skbs) end; with `tcp_grow_skb` pulling the next
//! buffer's bytes into a short one before sending, that matters only for buffers sent while
//! the write that fills them is still being copied, which this model leaves out.)
//!
//! ```
//! use synack_tcp::gso::{PacketInputs, packet_len};
//! use synack_tcp::Duration;
//! // IW10 on a 100 ms path: two-segment packets (the pacing rate gives less than one MSS
//! // per millisecond, tcp_min_tso_segs is 2).
//! let first = PacketInputs {
//!     mss: 1000,
//!     cwnd: 10_000,
//!     room: 10_000,
//!     window: 65_535,
//!     queued: 26_000,
//!     pacing_rate: Some(200_000),
//!     min_rtt: Some(Duration::from_millis(100)),
//!     min_tso_segs: 2,
//!     tail_ok: true,
//! };
//! assert_eq!(packet_len(&first), 2_000);
//! // With tcp_min_tso_segs 10 the half-window rule cuts the flight into two packets.
//! assert_eq!(packet_len(&PacketInputs { min_tso_segs: 10, ..first }), 5_000);
//! ```

use crate::time::{Duration, Instant};
use synack_wire::SeqNum;

/// The most payload one GSO packet carries: Linux's legacy 64 KB GSO size less the room it
/// keeps for headers (`sk_dst_gso_max_size`).
pub const GSO_MAX_BYTES: u32 = 65_536 - 321;

/// Linux's default `tcp_min_tso_segs`.
pub const DEFAULT_MIN_TSO_SEGS: u8 = 2;

/// Linux's `tcp_xmit_size_goal`: the bytes one buffer of a write holds: half the peer's
/// largest window (all of it when that is 536 bytes or less: `tcp_bound_to_half_wnd`), at
/// most the GSO size, in whole segments, at least one.
pub fn size_goal(max_window: u32, mss: u32) -> u32 {
    let mss = mss.max(1);
    let cutoff = if max_window > 536 { max_window / 2 } else { max_window };
    let goal = if cutoff > 0 { GSO_MAX_BYTES.min(cutoff) } else { GSO_MAX_BYTES };
    (goal / mss * mss).max(mss)
}

/// What Linux looks at when it starts a packet of new data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketInputs {
    /// The MSS segments are cut to.
    pub mss: u32,
    /// The congestion window in bytes (during a reduction, what the sender obeys: PRR's
    /// `pipe + sndcnt`, which Linux writes into `snd_cwnd`).
    pub cwnd: u32,
    /// Bytes congestion control lets out now (cwnd less what is in flight).
    pub room: u32,
    /// Bytes of the peer's window still usable.
    pub window: u32,
    /// Bytes queued and not yet sent (up to a record end, which no packet crosses).
    pub queued: u32,
    /// The pacing rate in bytes per second (`None`: not known yet, unlimited).
    pub pacing_rate: Option<u64>,
    /// The smallest RTT measured.
    pub min_rtt: Option<Duration>,
    /// Linux's `tcp_min_tso_segs`.
    pub min_tso_segs: u32,
    /// A sub-MSS tail may end the packet (Nagle and the cork would let it go).
    pub tail_ok: bool,
}

/// Linux's `tcp_tso_autosize`: how many segments one packet may hold at this pacing rate and
/// minimum RTT.
pub fn max_segments(
    mss: u32,
    pacing_rate: Option<u64>,
    min_rtt: Option<Duration>,
    min_tso_segs: u32,
) -> u32 {
    let cap = u64::from(GSO_MAX_BYTES);
    // About a millisecond's worth at the pacing rate (unlimited before it is known).
    let mut bytes = pacing_rate.map_or(cap, |r| r >> 10);
    if let Some(rtt) = min_rtt {
        let shift = u64::try_from(rtt.as_micros()).unwrap_or(u64::MAX) >> 9;
        if shift < 32 {
            bytes = bytes.saturating_add(cap >> shift);
        }
    }
    let segs = bytes.min(cap) / u64::from(mss.max(1));
    u32::try_from(segs).unwrap_or(u32::MAX).max(min_tso_segs).max(1)
}

/// The payload of the packet Linux would start now (at least one byte when anything is
/// queued and allowed; the caller sends segments of it as usual).
pub fn packet_len(i: &PacketInputs) -> u32 {
    let mss = i.mss.max(1);
    let cwnd_segs = (i.cwnd / mss).max(1);
    let room_segs = (i.room / mss).max(1);
    let quota = (cwnd_segs / 2).max(1).min(room_segs).min(max_segments(
        mss,
        i.pacing_rate,
        i.min_rtt,
        i.min_tso_segs,
    ));
    let max_len = quota.saturating_mul(mss);
    let needed = i.queued.min(i.window);
    if max_len <= needed {
        return max_len;
    }
    // The packet empties what may go: a sub-MSS tail stays out when Nagle holds it.
    let partial = needed % mss;
    if partial != 0 && !i.tail_ok && needed > partial { needed - partial } else { needed }
}

/// The packet the segments of new data now leaving belong to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GsoPacket {
    /// First byte.
    pub start: SeqNum,
    /// One past the last byte.
    pub end: SeqNum,
    /// When it started: a packet leaves whole, so a later send starts another.
    pub at: Instant,
}

impl GsoPacket {
    /// The packet of `len` bytes starting at `start`, now.
    pub fn new(start: SeqNum, len: u32, at: Instant) -> GsoPacket {
        GsoPacket { start, end: start + len, at }
    }

    /// The segment starting at `seq` continues this packet.
    pub fn continues_at(&self, seq: SeqNum, now: Instant) -> bool {
        self.at == now && seq.ge(self.start) && seq.lt(self.end)
    }

    /// More than one segment of `mss` bytes: Linux sends it with PSH.
    pub fn is_multi_segment(&self, mss: u32) -> bool {
        self.end.since(self.start) > mss
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> PacketInputs {
        PacketInputs {
            mss: 1000,
            cwnd: 10_000,
            room: 10_000,
            window: 65_535,
            queued: 100_000,
            pacing_rate: Some(200_000),
            min_rtt: Some(Duration::from_millis(100)),
            min_tso_segs: 2,
            tail_ok: true,
        }
    }

    #[test]
    fn autosize_follows_pacing_and_min_rtt() {
        // 200 KB/s: 195 bytes a millisecond, below one segment: tcp_min_tso_segs.
        assert_eq!(max_segments(1000, Some(200_000), Some(Duration::from_millis(100)), 2), 2);
        assert_eq!(max_segments(1000, Some(200_000), Some(Duration::from_millis(100)), 10), 10);
        // 20 MB/s: 19531 bytes a millisecond.
        assert_eq!(max_segments(1000, Some(20_000_000), Some(Duration::from_millis(100)), 2), 19);
        // A 1 ms path adds 64 KB >> 1 (32 KB).
        assert_eq!(max_segments(1000, Some(20_000_000), Some(Duration::from_millis(1)), 2), 52);
        // Nothing known: the GSO size.
        assert_eq!(max_segments(1000, None, None, 2), 65);
        assert_eq!(max_segments(1460, None, Some(Duration::ZERO), 2), 44);
    }

    #[test]
    fn size_goal_is_half_the_largest_window() {
        assert_eq!(size_goal(5_840, 1_460), 2_920);
        assert_eq!(size_goal(10_000, 1_000), 5_000);
        assert_eq!(size_goal(65_408, 1_000), 32_000);
        assert_eq!(size_goal(1 << 20, 1_460), 64_240);
        // Small windows: the whole window, never below one segment.
        assert_eq!(size_goal(500, 100), 500);
        assert_eq!(size_goal(0, 1_000), 65_000);
        assert_eq!(size_goal(1_000, 1_460), 1_460);
    }

    #[test]
    fn half_the_window_then_what_is_left() {
        let i = PacketInputs { min_tso_segs: 10, ..inputs() };
        assert_eq!(packet_len(&i), 5_000);
        // Half of 20 segments, with 10 of room.
        assert_eq!(packet_len(&PacketInputs { cwnd: 20_000, room: 20_000, ..i }), 10_000);
        // One segment of room left: a single segment.
        assert_eq!(packet_len(&PacketInputs { room: 1_000, ..inputs() }), 1_000);
        // Room below an MSS still lets the segment being sent go alone.
        assert_eq!(packet_len(&PacketInputs { room: 0, ..inputs() }), 1_000);
    }

    #[test]
    fn the_data_and_the_window_end_a_packet() {
        let i = PacketInputs { min_tso_segs: 10, ..inputs() };
        assert_eq!(packet_len(&PacketInputs { queued: 3_500, ..i }), 3_500);
        assert_eq!(packet_len(&PacketInputs { window: 2_800, ..i }), 2_800);
        // Nagle holds the sub-MSS tail.
        assert_eq!(packet_len(&PacketInputs { queued: 3_500, tail_ok: false, ..i }), 3_000);
        // A lone sub-MSS segment is what it is.
        assert_eq!(packet_len(&PacketInputs { queued: 500, tail_ok: false, ..i }), 500);
    }

    #[test]
    fn a_packet_continues_only_at_its_instant() {
        let t = Instant::from_millis(5);
        let p = GsoPacket::new(SeqNum(u32::MAX - 999), 2_000, t);
        assert!(p.continues_at(SeqNum(u32::MAX - 999), t));
        assert!(p.continues_at(SeqNum(500), t));
        assert!(!p.continues_at(SeqNum(1_001), t));
        assert!(!p.continues_at(SeqNum(500), Instant::from_millis(6)));
        assert!(p.is_multi_segment(1_000));
        assert!(!GsoPacket::new(SeqNum(0), 1_000, t).is_multi_segment(1_000));
    }
}
