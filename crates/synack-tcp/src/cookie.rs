//! SYN cookies (RFC 4987 section 3.6): when a listener's SYN queue is full, the SYN-ACK's ISN
//! encodes what the connection needs, so no state is kept until the peer's ACK returns it.
//!
//! ISN layout: 5 bits of a 64-second counter, 3 bits of MSS-table index, 24 bits of a keyed
//! hash over the 4-tuple, the counter and the peer's ISN. With timestamps, the low 5 bits of
//! our TSval carry the window scale (4 bits, 15 = none) and SACK-permitted (1 bit); the peer
//! echoes them in TSecr.

use crate::secret::{FourTuple, Purpose, Secrets};
use crate::time::{Duration, Instant};
use synack_wire::SeqNum;

/// How long one counter value lasts; a cookie is honoured for this long to twice this.
pub(crate) const VALIDITY: Duration = Duration::from_secs(64);

/// MSS values a cookie can carry (the largest not above the peer's is chosen); the last is a
/// 9000-byte jumbo frame's, less each family's headers.
const MSS_TABLE_V4: [u16; 8] = [216, 536, 1024, 1220, 1360, 1440, 1460, 8960];
const MSS_TABLE_V6: [u16; 8] = [216, 536, 1024, 1220, 1360, 1440, 1460, 8940];

fn mss_table(t: &FourTuple) -> &'static [u16; 8] {
    if t.local.is_ipv4() { &MSS_TABLE_V4 } else { &MSS_TABLE_V6 }
}

/// A fresh cookie.
pub(crate) struct Cookie {
    pub(crate) iss: SeqNum,
}

fn counter(now: Instant) -> u32 {
    (now.as_micros() / VALIDITY.as_micros() as u64) as u32
}

fn mac(s: &Secrets, t: &FourTuple, count: u32, peer_isn: SeqNum) -> u32 {
    (s.hash_tuple(Purpose::Cookie, t, &[count, peer_isn.0]) as u32) & 0x00FF_FFFF
}

pub(crate) fn encode(
    s: &Secrets,
    now: Instant,
    t: &FourTuple,
    peer_isn: SeqNum,
    peer_mss: u16,
) -> Cookie {
    let count = counter(now);
    let idx = mss_table(t).iter().rposition(|m| *m <= peer_mss).unwrap_or(0) as u32;
    let iss = ((count & 0x1F) << 27) | (idx << 24) | mac(s, t, count, peer_isn);
    Cookie { iss: SeqNum(iss) }
}

/// Checks a returned cookie (`cookie` = SEG.ACK - 1, `peer_isn` = SEG.SEQ - 1); on success
/// returns the MSS it encodes.
pub(crate) fn check(
    s: &Secrets,
    now: Instant,
    t: &FourTuple,
    peer_isn: SeqNum,
    cookie: SeqNum,
) -> Option<u16> {
    let c = cookie.0;
    let now_count = counter(now);
    for count in [now_count, now_count.wrapping_sub(1)] {
        if (count & 0x1F) == c >> 27 && mac(s, t, count, peer_isn) == c & 0x00FF_FFFF {
            return Some(mss_table(t)[((c >> 24) & 7) as usize]);
        }
    }
    None
}

/// Our TSval with the options folded into its low bits; never above `ts_now`, so the
/// connection's later timestamps do not go backwards.
pub(crate) fn encode_ts(ts_now: u32, ws: Option<u8>, sack: bool) -> u32 {
    let ws = ws.map(|w| w.min(14) as u32).unwrap_or(15);
    (ts_now.wrapping_sub(32) & !0x1F) | ws | ((sack as u32) << 4)
}

/// The options folded into an echoed TSval: (window scale, SACK-permitted).
pub(crate) fn decode_ts(tsecr: u32) -> (Option<u8>, bool) {
    let ws = (tsecr & 0xF) as u8;
    ((ws != 15).then_some(ws), tsecr & 0x10 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{IpAddr, Ipv4Addr, SocketAddr};

    fn t() -> FourTuple {
        FourTuple {
            local: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 80),
            remote: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 4000),
        }
    }

    #[test]
    fn cookie_round_trip_and_expiry() {
        let s = Secrets::new([1; 16]);
        let now = Instant::from_secs(1000);
        let c = encode(&s, now, &t(), SeqNum(77), 1460);
        assert_eq!(check(&s, now, &t(), SeqNum(77), c.iss), Some(1460));
        assert_eq!(check(&s, now + Duration::from_secs(64), &t(), SeqNum(77), c.iss), Some(1460));
        assert_eq!(check(&s, now + Duration::from_secs(200), &t(), SeqNum(77), c.iss), None);
        assert_eq!(check(&s, now, &t(), SeqNum(78), c.iss), None);
        assert_eq!(check(&s, now, &t(), SeqNum(77), c.iss + 1), None);
        let small = encode(&s, now, &t(), SeqNum(77), 600);
        assert_eq!(check(&s, now, &t(), SeqNum(77), small.iss), Some(536));
    }

    #[test]
    fn ts_encoding() {
        let v = encode_ts(100_000, Some(7), true);
        assert!(v <= 100_000);
        assert_eq!(decode_ts(v), (Some(7), true));
        assert_eq!(decode_ts(encode_ts(5000, None, false)), (None, false));
    }
}
