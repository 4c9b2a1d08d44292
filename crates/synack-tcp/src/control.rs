//! Control segments sent without a connection's output path: RSTs that outlive (or never had)
//! a TCB, and SYN cookie replies. Both are queued, bounded, and written by
//! `Endpoint::poll_transmit` ahead of connection output.

use alloc::collections::VecDeque;

use synack_wire::SeqNum;
use synack_wire::tcp::{OptionLayout, TcpFlags, TcpOptions, Timestamps};

use crate::config::IpFields;
use crate::emit::Header;
use crate::secret::FourTuple;
use crate::time::{Duration, Instant};
use crate::udp_encap::UdpPort;

/// Most stateless control segments (RSTs, cookie SYN-ACKs, challenge ACKs) waiting to be sent.
const MAX_CTL: usize = 4096;

/// A control segment that has no (or no longer a) connection behind it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CtlSegment {
    pub(crate) tuple: FourTuple,
    pub(crate) seq: SeqNum,
    /// `Some` sets ACK.
    pub(crate) ack: Option<SeqNum>,
    pub(crate) flags: TcpFlags,
    /// A timestamps option to carry (Linux's form of an abort's RST, `AbortReset::Linux`).
    pub(crate) ts: Option<Timestamps>,
    /// The window field: 0, or the connection's current window in Linux's form of an abort's
    /// RST (`tcp_send_active_reset` writes it as on any segment).
    pub(crate) window: u16,
    /// Sent inside UDP to this port (the way the segment it answers came).
    pub(crate) udp_port: UdpPort,
    /// The sending connection's IP fields (defaults for a reply from no connection).
    pub(crate) ip: IpFields,
}

impl CtlSegment {
    /// `<SEQ=seq><CTL=RST>`: the reply to a segment carrying an ACK that nothing here accepts
    /// (RFC 9293 3.10.7.1 to 3.10.7.4).
    pub(crate) fn rst(tuple: FourTuple, seq: SeqNum) -> CtlSegment {
        CtlSegment {
            tuple,
            seq,
            ack: None,
            flags: TcpFlags::RST,
            ts: None,
            window: 0,
            udp_port: None,
            ip: IpFields::default(),
        }
    }

    /// `<SEQ=seq><ACK=ack><CTL=RST,ACK>`: the reply to a segment without an ACK.
    pub(crate) fn rst_ack(tuple: FourTuple, seq: SeqNum, ack: SeqNum) -> CtlSegment {
        CtlSegment {
            tuple,
            seq,
            ack: Some(ack),
            flags: TcpFlags::RST,
            ts: None,
            window: 0,
            udp_port: None,
            ip: IpFields::default(),
        }
    }

    /// The header to write.
    /// The same segment sent inside UDP to `port` (`None`: plain TCP).
    pub(crate) fn via(self, udp_port: UdpPort) -> CtlSegment {
        CtlSegment { udp_port, ..self }
    }

    /// The same segment with a connection's IP fields.
    pub(crate) fn with_ip(self, ip: IpFields) -> CtlSegment {
        CtlSegment { ip, ..self }
    }

    pub(crate) fn header(&self) -> Header {
        let flags = if self.ack.is_some() { self.flags | TcpFlags::ACK } else { self.flags };
        Header {
            src_port: self.tuple.local.port(),
            dst_port: self.tuple.remote.port(),
            seq: self.seq.0,
            ack: self.ack.map(|a| a.0).unwrap_or(0),
            flags,
            window: self.window,
            urgent: 0,
            options: TcpOptions { timestamps: self.ts, ..TcpOptions::default() },
            layout: OptionLayout::Linux,
            payload_sum: 0,
        }
    }
}

/// A cookie SYN-ACK (RFC 4987): everything the stateless reply needs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CookieReply {
    pub(crate) tuple: FourTuple,
    pub(crate) iss: SeqNum,
    pub(crate) ack: SeqNum,
    pub(crate) window: u16,
    pub(crate) options: TcpOptions,
    pub(crate) layout: OptionLayout,
    /// Sent inside UDP to this port (the SYN's way).
    pub(crate) udp_port: UdpPort,
    /// The listener's IP fields.
    pub(crate) ip: IpFields,
}

impl CookieReply {
    /// The SYN-ACK's header.
    pub(crate) fn header(&self) -> Header {
        Header {
            src_port: self.tuple.local.port(),
            dst_port: self.tuple.remote.port(),
            seq: self.iss.0,
            ack: self.ack.0,
            flags: TcpFlags::SYN | TcpFlags::ACK,
            window: self.window,
            urgent: 0,
            options: self.options,
            layout: self.layout,
            payload_sum: 0,
        }
    }
}

/// Bounded queue of stateless control segments.
#[derive(Default)]
pub(crate) struct CtlQueue {
    q: VecDeque<CtlSegment>,
    cookies: VecDeque<CookieReply>,
}

impl CtlQueue {
    pub(crate) fn push(&mut self, s: CtlSegment) {
        if self.q.len() < MAX_CTL {
            self.q.push_back(s);
        }
    }
    pub(crate) fn push_cookie(&mut self, c: CookieReply) {
        if self.cookies.len() < MAX_CTL {
            self.cookies.push_back(c);
        }
    }

    /// The next segment to write: cookie SYN-ACKs first, then the others.
    pub(crate) fn pop(&mut self) -> Option<(FourTuple, Header, UdpPort, IpFields)> {
        // Nearly always empty (asked before every segment): answered without building a
        // `None` through the two queues' pops.
        if self.cookies.is_empty() && self.q.is_empty() {
            return None;
        }
        if let Some(c) = self.cookies.pop_front() {
            return Some((c.tuple, c.header(), c.udp_port, c.ip));
        }
        self.q.pop_front().map(|c| (c.tuple, c.header(), c.udp_port, c.ip))
    }
}

/// The endpoint-wide budget of challenge ACKs (RFC 5961 section 7), a second at a time. Each
/// second's budget is drawn at random between half and one and a half times the configured
/// limit, so that even a peer that could exhaust it cannot tell from the count it gets back
/// how much of it other connections used. The per-connection limit
/// (`ConnConfig::unacceptable_ack_limit`) is what makes the counts independent; this only caps
/// the endpoint's total.
pub(crate) struct ChallengeBudget {
    limit: u32,
    window_start: Option<Instant>,
    left: u32,
    rng: SplitMix64,
}

impl ChallengeBudget {
    /// A budget of about `limit` challenge ACKs per second, drawn with randomness from `seed`.
    pub(crate) fn new(limit: u32, seed: u64) -> ChallengeBudget {
        ChallengeBudget { limit, window_start: None, left: 0, rng: SplitMix64(seed) }
    }

    /// Takes one challenge ACK from the budget; false when this second's is spent.
    pub(crate) fn allow(&mut self, now: Instant) -> bool {
        let expired =
            self.window_start.is_none_or(|t| now.saturating_since(t) >= Duration::from_secs(1));
        if expired {
            self.window_start = Some(now);
            self.left = self.draw();
        }
        if self.left == 0 {
            return false;
        }
        self.left -= 1;
        true
    }

    /// A budget uniformly in `[ceil(limit/2), ceil(limit/2) + limit)`; 0 when the limit is 0.
    fn draw(&mut self) -> u32 {
        if self.limit == 0 {
            return 0;
        }
        let half = self.limit.div_ceil(2);
        let r = ((self.rng.next() >> 32) * self.limit as u64) >> 32;
        half.saturating_add(r as u32)
    }
}

/// SplitMix64 (Steele, Lea and Flood, 2014): a small seeded generator, enough to make the
/// challenge budget unpredictable to a peer that does not know the seed.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn per_second(b: &mut ChallengeBudget, second: u64) -> u32 {
        let now = Instant::from_secs(second);
        let mut n = 0;
        while b.allow(now) {
            n += 1;
            assert!(n <= 10_000, "the budget is bounded");
        }
        n
    }

    /// Every second's budget lies in [limit/2, 3*limit/2), and it varies from second to second.
    #[test]
    fn budget_is_drawn_at_random_around_the_limit() {
        let mut b = ChallengeBudget::new(1000, 42);
        let budgets: alloc::vec::Vec<u32> = (1..=20).map(|s| per_second(&mut b, s)).collect();
        assert!(budgets.iter().all(|n| (500..1500).contains(n)), "{budgets:?}");
        let first = budgets[0];
        assert!(budgets.iter().any(|n| *n != first), "{budgets:?}");
        // The same seed gives the same budgets (deterministic tests); another seed others.
        let mut again = ChallengeBudget::new(1000, 42);
        assert_eq!(per_second(&mut again, 1), first);
        let mut other = ChallengeBudget::new(1000, 43);
        let others: alloc::vec::Vec<u32> = (1..=20).map(|s| per_second(&mut other, s)).collect();
        assert_ne!(others, budgets);
        // A limit of 0 allows none; of 1, exactly one.
        assert_eq!(per_second(&mut ChallengeBudget::new(0, 1), 1), 0);
        assert_eq!(per_second(&mut ChallengeBudget::new(1, 1), 1), 1);
    }
}
