//! Path MTUs learned from ICMP, per destination, for the connections that come later
//! (RFC 1191 section 5, RFC 8201 section 5: the estimate belongs to the path, not to one
//! connection; Linux keeps it as a route exception, FreeBSD in its host cache).
//!
//! Bounded: at most [`CAPACITY`] destinations (the oldest estimate gives way), each forgotten
//! after [`LIFETIME`] so a path that grew again is used in full (RFC 1191 section 6.3 suggests
//! 10 minutes, Linux's `ip_rt_mtu_expires` and FreeBSD's host-cache expiry are as long).

use alloc::collections::BTreeMap;
use core::net::IpAddr;

use crate::time::{Duration, Instant};

/// Destinations remembered at most.
pub(crate) const CAPACITY: usize = 1024;
/// How long a learned path MTU is used.
pub(crate) const LIFETIME: Duration = Duration::from_secs(600);

/// The path MTU estimates learned, by destination address.
#[derive(Default)]
pub(crate) struct PathMtuCache {
    by_dst: BTreeMap<IpAddr, (u32, Instant)>,
}

impl PathMtuCache {
    /// The estimate for `dst`, if one was learned less than [`LIFETIME`] ago.
    pub(crate) fn get(&self, dst: IpAddr, now: Instant) -> Option<u32> {
        let &(mtu, at) = self.by_dst.get(&dst)?;
        (now.saturating_since(at) < LIFETIME).then_some(mtu)
    }

    /// A connection to `dst` learned that its path carries `mtu` bytes.
    pub(crate) fn learn(&mut self, dst: IpAddr, mtu: u32, now: Instant) {
        if self.by_dst.len() >= CAPACITY && !self.by_dst.contains_key(&dst) {
            let oldest = self.by_dst.iter().min_by_key(|(_, (_, at))| *at).map(|(a, _)| *a);
            if let Some(a) = oldest {
                self.by_dst.remove(&a);
            }
        }
        self.by_dst.insert(dst, (mtu, now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;

    fn ip(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(n))
    }

    #[test]
    fn estimates_expire_and_the_cache_stays_bounded() {
        let mut c = PathMtuCache::default();
        let t0 = Instant::from_secs(1);
        c.learn(ip(1), 1200, t0);
        assert_eq!(c.get(ip(1), t0 + Duration::from_secs(599)), Some(1200));
        assert_eq!(c.get(ip(1), t0 + LIFETIME), None);
        assert_eq!(c.get(ip(2), t0), None);
        for n in 0..(CAPACITY as u32 + 10) {
            c.learn(ip(100 + n), 1000, t0 + Duration::from_secs(u64::from(n)));
        }
        assert_eq!(c.by_dst.len(), CAPACITY);
        // The oldest went first; the newest is there.
        assert_eq!(c.get(ip(100), t0 + Duration::from_secs(2000)), None);
        let last = 100 + CAPACITY as u32 + 9;
        assert_eq!(c.get(ip(last), t0 + Duration::from_secs(1100)), Some(1000));
    }
}
