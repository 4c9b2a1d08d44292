//! Fragment reassembly with bounded memory and time, for IPv4 ([`FragKey`]) and IPv6
//! ([`super::reasm6`]).
//!
//! Each datagram being reassembled is keyed by what identifies its fragments (for IPv4 source,
//! destination, protocol, identification) and holds one buffer and the list of byte ranges received so far. Limits: how many datagrams
//! at once, how many bytes across all of them, how many fragments per datagram, and how long
//! one may stay incomplete. Going over a limit evicts the oldest datagram; overlapping fragments
//! drop the whole datagram (overlaps are how fragment attacks smuggle headers past filters, and
//! no honest sender produces them; exact duplicates from a retransmitting link are ignored).

use core::fmt;
use core::net::Ipv4Addr;
use core::time::Duration;

use synack_tcp::time::Instant;

use super::counters::DropReason;

/// Limits of the reassembler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReassemblyConfig {
    /// Datagrams reassembled at once.
    pub max_datagrams: usize,
    /// Bytes held across all datagrams.
    pub max_bytes: usize,
    /// Fragments accepted for one datagram.
    pub max_fragments: usize,
    /// How long a datagram may stay incomplete.
    pub timeout: Duration,
}

impl Default for ReassemblyConfig {
    fn default() -> Self {
        //= rfc791#3.2
        // The reassembly timer bounds how long fragments are held; RFC 791 suggests 15 s as a
        // lower bound; Linux uses 30 s, which we follow.
        ReassemblyConfig {
            max_datagrams: 16,
            max_bytes: 256 * 1024,
            max_fragments: 64,
            timeout: Duration::from_secs(30),
        }
    }
}

/// What identifies the fragments of one datagram.
//= rfc791#3.2
// Fragments belong together when source, destination, protocol and identification all match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FragKey {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Protocol.
    pub protocol: u8,
    /// Identification.
    pub ident: u16,
}

/// A key that fragments of one datagram share.
pub trait FragmentKey: Copy + fmt::Debug {
    /// The fields that say two fragments belong to one datagram.
    type Id: Copy + Eq + fmt::Debug;
    /// Largest payload a reassembled datagram may have.
    const MAX_PAYLOAD: u32;
    /// This fragment's datagram.
    fn id(&self) -> Self::Id;
}

impl FragmentKey for FragKey {
    type Id = FragKey;
    /// Total length 65,535 minus the 20-byte minimum header.
    const MAX_PAYLOAD: u32 = 65_515;
    fn id(&self) -> FragKey {
        *self
    }
}

#[derive(Debug)]
struct Partial<K> {
    /// The key of the offset-zero fragment once it arrived (of the first one until then).
    key: K,
    started: Instant,
    data: Vec<u8>,
    /// Received byte ranges, sorted, disjoint, adjacent ones merged.
    ranges: Vec<(u32, u32)>,
    /// Payload length, known once the last fragment (MF = 0) arrived.
    total: Option<u32>,
    fragments: usize,
}

/// What adding a fragment did.
#[derive(Debug, PartialEq, Eq)]
pub enum Reassembled<K = FragKey> {
    /// Held; more fragments are needed.
    Incomplete,
    /// The datagram is whole: the offset-zero fragment's key, and the payload.
    Complete(K, Vec<u8>),
    /// The fragment (and its datagram) was dropped.
    Dropped(DropReason),
}

/// The reassembler; see the module docs.
#[derive(Debug)]
pub struct Reassembler<K = FragKey> {
    cfg: ReassemblyConfig,
    partials: Vec<Partial<K>>,
    bytes: usize,
}

impl<K: FragmentKey> Default for Reassembler<K> {
    fn default() -> Self {
        Reassembler::new(ReassemblyConfig::default())
    }
}

impl<K: FragmentKey> Reassembler<K> {
    /// A reassembler with these limits.
    pub fn new(cfg: ReassemblyConfig) -> Self {
        Reassembler { cfg, partials: Vec::new(), bytes: 0 }
    }

    /// Datagrams currently incomplete.
    pub fn pending(&self) -> usize {
        self.partials.len()
    }

    /// Bytes currently held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// When the oldest incomplete datagram times out.
    pub fn poll_at(&self) -> Option<Instant> {
        self.partials.iter().map(|p| p.started + self.cfg.timeout).min()
    }

    /// Drops datagrams older than the timeout; calls `dropped` once per datagram dropped.
    pub fn expire(&mut self, now: Instant, mut dropped: impl FnMut(DropReason)) {
        let timeout = self.cfg.timeout;
        let mut i = 0;
        while i < self.partials.len() {
            if now.saturating_since(self.partials[i].started) >= timeout {
                self.remove(i);
                dropped(DropReason::ReassemblyTimeout);
            } else {
                i += 1;
            }
        }
    }

    fn remove(&mut self, i: usize) -> Partial<K> {
        let p = self.partials.swap_remove(i);
        self.bytes -= p.data.len();
        p
    }

    fn evict_oldest_except(&mut self, keep: Option<K::Id>) -> bool {
        let victim = self
            .partials
            .iter()
            .enumerate()
            .filter(|(_, p)| Some(p.key.id()) != keep)
            .min_by_key(|(_, p)| p.started)
            .map(|(i, _)| i);
        match victim {
            Some(i) => {
                self.remove(i);
                true
            }
            None => false,
        }
    }

    /// Adds one fragment: `offset` in bytes, `more` the MF flag, `payload` its data.
    /// `evicted` is called for other datagrams dropped to make room.
    pub fn add(
        &mut self,
        now: Instant,
        key: K,
        offset: u32,
        more: bool,
        payload: &[u8],
        mut evicted: impl FnMut(DropReason),
    ) -> Reassembled<K> {
        let id = key.id();
        let len = payload.len() as u32;
        let end = offset + len;
        //= rfc791#3.2
        // Every fragment but the last carries a multiple of 8 bytes, and no datagram exceeds
        // the 16-bit total length.
        if end > K::MAX_PAYLOAD || (more && (len == 0 || len & 7 != 0)) {
            self.drop_id(id);
            return Reassembled::Dropped(DropReason::FragmentBadLength);
        }
        let idx = match self.partials.iter().position(|p| p.key.id() == id) {
            Some(i) => i,
            None => {
                if self.partials.len() >= self.cfg.max_datagrams {
                    self.evict_oldest_except(None);
                    evicted(DropReason::ReassemblyEvicted);
                }
                self.partials.push(Partial {
                    key,
                    started: now,
                    data: Vec::new(),
                    ranges: Vec::new(),
                    total: None,
                    fragments: 0,
                });
                self.partials.len() - 1
            }
        };

        // Checks that do not need memory.
        {
            let p = &mut self.partials[idx];
            p.fragments += 1;
            if p.fragments > self.cfg.max_fragments {
                self.remove(idx);
                return Reassembled::Dropped(DropReason::FragmentTooMany);
            }
            let bad_end = match (more, p.total) {
                (false, Some(t)) => t != end,
                (false, None) => p.ranges.last().is_some_and(|&(_, e)| e > end),
                (true, Some(t)) => end > t,
                (true, None) => false,
            };
            if bad_end {
                self.remove(idx);
                return Reassembled::Dropped(DropReason::FragmentBadLength);
            }
            // An exact duplicate (a retransmitting link): keep what we have. Received ranges
            // merge with their neighbours, so a duplicate is a fragment inside one received
            // range whose bytes match what is held; anything else that overlaps differs.
            let held = p.data.get(offset as usize..end as usize);
            if len > 0
                && p.ranges.iter().any(|&(s, e)| s <= offset && end <= e)
                && held == Some(payload)
            {
                return Reassembled::Incomplete;
            }
            if p.ranges.iter().any(|&(s, e)| offset < e && s < end) {
                self.remove(idx);
                return Reassembled::Dropped(DropReason::FragmentOverlap);
            }
        }

        // Memory: grow the buffer to `end`, evicting older datagrams if needed.
        let grow = (end as usize).saturating_sub(self.partials[idx].data.len());
        while self.bytes + grow > self.cfg.max_bytes {
            if !self.evict_oldest_except(Some(id)) {
                let i = self.partials.iter().position(|p| p.key.id() == id).unwrap_or(0);
                if i < self.partials.len() {
                    self.remove(i);
                }
                return Reassembled::Dropped(DropReason::ReassemblyEvicted);
            }
            evicted(DropReason::ReassemblyEvicted);
        }
        let Some(idx) = self.partials.iter().position(|p| p.key.id() == id) else {
            return Reassembled::Dropped(DropReason::ReassemblyEvicted);
        };
        self.bytes += grow;
        let p = &mut self.partials[idx];
        if grow > 0 {
            p.data.resize(end as usize, 0);
        }
        p.data[offset as usize..end as usize].copy_from_slice(payload);
        if !more {
            p.total = Some(end);
        }
        if offset == 0 {
            p.key = key;
        }
        insert_range(&mut p.ranges, (offset, end));

        let done = match (p.total, p.ranges.as_slice()) {
            (Some(t), [(0, e)]) => *e == t,
            (Some(0), []) => true,
            _ => false,
        };
        if done {
            let mut p = self.remove(idx);
            if let Some(t) = p.total {
                p.data.truncate(t as usize);
            }
            return Reassembled::Complete(p.key, p.data);
        }
        Reassembled::Incomplete
    }

    fn drop_id(&mut self, id: K::Id) {
        if let Some(i) = self.partials.iter().position(|p| p.key.id() == id) {
            self.remove(i);
        }
    }
}

/// Inserts a range known not to overlap, merging with neighbours it touches.
fn insert_range(ranges: &mut Vec<(u32, u32)>, (s, e): (u32, u32)) {
    if s == e {
        return;
    }
    let at = ranges.partition_point(|&(rs, _)| rs < s);
    ranges.insert(at, (s, e));
    // Merge with the next, then with the previous.
    if at + 1 < ranges.len() && ranges[at].1 == ranges[at + 1].0 {
        ranges[at].1 = ranges[at + 1].1;
        ranges.remove(at + 1);
    }
    if at > 0 && ranges[at - 1].1 == ranges[at].0 {
        ranges[at - 1].1 = ranges[at].1;
        ranges.remove(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(ident: u16) -> FragKey {
        FragKey {
            src: Ipv4Addr::new(1, 1, 1, 1),
            dst: Ipv4Addr::new(2, 2, 2, 2),
            protocol: 6,
            ident,
        }
    }

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7) as u8).collect()
    }

    #[test]
    fn any_order_reassembles() {
        let d = data(100);
        let mut r: Reassembler = Reassembler::new(ReassemblyConfig::default());
        let t = Instant::ZERO;
        assert_eq!(r.add(t, key(1), 48, true, &d[48..96], |_| ()), Reassembled::Incomplete);
        assert_eq!(r.add(t, key(1), 96, false, &d[96..], |_| ()), Reassembled::Incomplete);
        assert_eq!(r.add(t, key(1), 0, true, &d[..48], |_| ()), Reassembled::Complete(key(1), d));
        assert_eq!(r.pending(), 0);
        assert_eq!(r.bytes(), 0);
    }

    #[test]
    fn overlap_and_bad_lengths_drop() {
        let d = data(64);
        let mut r: Reassembler = Reassembler::new(ReassemblyConfig::default());
        let t = Instant::ZERO;
        r.add(t, key(1), 0, true, &d[..32], |_| ());
        assert_eq!(
            r.add(t, key(1), 0, true, &d[..32], |_| ()),
            Reassembled::Incomplete,
            "duplicate"
        );
        // A fragment inside what is held but with other bytes is an overlap.
        let mut other = d[8..16].to_vec();
        other[0] ^= 1;
        r.add(t, key(3), 0, true, &d[..32], |_| ());
        assert_eq!(
            r.add(t, key(3), 8, true, &other, |_| ()),
            Reassembled::Dropped(DropReason::FragmentOverlap)
        );
        assert_eq!(
            r.add(t, key(1), 16, true, &d[16..48], |_| ()),
            Reassembled::Dropped(DropReason::FragmentOverlap)
        );
        assert_eq!(r.pending(), 0);
        assert_eq!(
            r.add(t, key(2), 0, true, &d[..30], |_| ()),
            Reassembled::Dropped(DropReason::FragmentBadLength),
            "non-final fragment not a multiple of 8"
        );
        assert_eq!(
            r.add(t, key(3), 65_512, false, &d[..8], |_| ()),
            Reassembled::Dropped(DropReason::FragmentBadLength),
            "past 65,535"
        );
        r.add(t, key(4), 0, false, &d[..8], |_| ());
        r.add(t, key(5), 8, false, &d[..8], |_| ());
        assert_eq!(
            r.add(t, key(5), 32, true, &d[..8], |_| ()),
            Reassembled::Dropped(DropReason::FragmentBadLength),
            "data after the end"
        );
    }

    #[test]
    fn memory_and_count_bounded_and_timeout() {
        let cfg = ReassemblyConfig {
            max_datagrams: 2,
            max_bytes: 1000,
            max_fragments: 3,
            ..Default::default()
        };
        let mut r: Reassembler = Reassembler::new(cfg);
        let d = data(800);
        let mut ev = 0;
        r.add(Instant::from_millis(1), key(1), 0, true, &d[..400], |_| ev += 1);
        r.add(Instant::from_millis(2), key(2), 0, true, &d[..400], |_| ev += 1);
        assert_eq!(ev, 0);
        r.add(Instant::from_millis(3), key(3), 0, true, &d[..400], |_| ev += 1);
        assert_eq!(ev, 1, "count limit evicts the oldest");
        assert_eq!(r.pending(), 2);
        r.add(Instant::from_millis(4), key(3), 400, true, &d[..400], |_| ev += 1);
        assert!(r.bytes() <= 1000);
        assert_eq!(ev, 2, "byte limit evicts the other");
        assert_eq!(
            r.add(Instant::from_millis(5), key(3), 800, true, &d[..8], |_| ()),
            Reassembled::Incomplete
        );
        assert_eq!(
            r.add(Instant::from_millis(5), key(3), 808, true, &d[..8], |_| ()),
            Reassembled::Dropped(DropReason::FragmentTooMany)
        );
        r.add(Instant::from_millis(10), key(9), 0, true, &d[..8], |_| ());
        assert_eq!(r.poll_at(), Some(Instant::from_millis(10) + Duration::from_secs(30)));
        let mut n = 0;
        r.expire(Instant::from_secs(31), |why| {
            assert_eq!(why, DropReason::ReassemblyTimeout);
            n += 1
        });
        assert_eq!(n, 1);
        assert_eq!(r.pending(), 0);
        assert_eq!(r.bytes(), 0);
    }
}
