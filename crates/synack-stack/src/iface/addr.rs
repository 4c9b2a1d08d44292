//! Addresses with prefixes, and the routing table (longest prefix wins).

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An address and prefix length (`10.0.0.1/24`, `fd00::1/64`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpCidr {
    addr: IpAddr,
    prefix: u8,
}

/// The prefix length is longer than the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadPrefix {
    /// The prefix length given.
    pub prefix: u8,
    /// The most the address family allows (32 or 128).
    pub max: u8,
}

impl fmt::Display for BadPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "prefix length {} is longer than {}", self.prefix, self.max)
    }
}

impl std::error::Error for BadPrefix {}

impl IpCidr {
    /// `addr/prefix`, refused when the prefix is longer than the address.
    pub fn new(addr: IpAddr, prefix: u8) -> Result<IpCidr, BadPrefix> {
        let max = match addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        if prefix > max {
            return Err(BadPrefix { prefix, max });
        }
        Ok(IpCidr { addr, prefix })
    }

    /// The address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// True when `ip` is inside the prefix (same family, same leading `prefix` bits).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                let mask =
                    if self.prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(self.prefix)) };
                u32::from(a) & mask == u32::from(b) & mask
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                let mask =
                    if self.prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(self.prefix)) };
                u128::from(a) & mask == u128::from(b) & mask
            }
            _ => false,
        }
    }

    /// The IPv4 directed-broadcast address of this prefix (all host bits set), when the prefix
    /// leaves at least two host bits.
    pub fn broadcast(&self) -> Option<Ipv4Addr> {
        match self.addr {
            IpAddr::V4(a) if self.prefix <= 30 => {
                let host = u32::MAX >> u32::from(self.prefix);
                Some(Ipv4Addr::from(u32::from(a) | host))
            }
            _ => None,
        }
    }
}

impl fmt::Display for IpCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// A route: where packets for `dest` go out, and which local address they leave from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Route {
    /// The destination prefix.
    pub dest: IpCidr,
    /// The source address for packets taking this route; `None` picks the interface's first
    /// address of the family.
    pub src: Option<IpAddr>,
}

/// Routes, kept sorted longest prefix first, so the first match is the best.
#[derive(Debug, Clone, Default)]
pub struct Routes {
    routes: Vec<Route>,
}

/// Most routes a table holds: lookups scan the table, so it stays small.
pub const MAX_ROUTES: usize = 256;

impl Routes {
    /// An empty table.
    pub fn new() -> Self {
        Routes::default()
    }

    /// Adds a route (replacing one for the same prefix). False when the table is full.
    pub fn add(&mut self, route: Route) -> bool {
        if let Some(r) = self.routes.iter_mut().find(|r| r.dest == route.dest) {
            *r = route;
            return true;
        }
        if self.routes.len() >= MAX_ROUTES {
            return false;
        }
        self.routes.push(route);
        self.routes.sort_by_key(|r| core::cmp::Reverse(r.dest.prefix));
        true
    }

    /// Removes the route for exactly `dest`; true when there was one.
    pub fn remove(&mut self, dest: IpCidr) -> bool {
        let before = self.routes.len();
        self.routes.retain(|r| r.dest != dest);
        self.routes.len() != before
    }

    /// The most specific route to `dst`.
    pub fn lookup(&self, dst: IpAddr) -> Option<&Route> {
        self.routes.iter().find(|r| r.dest.contains(dst))
    }

    /// All routes, most specific first.
    pub fn iter(&self) -> impl Iterator<Item = &Route> {
        self.routes.iter()
    }
}

/// True for addresses that never name one host as a destination for TCP: IPv4 limited
/// broadcast and multicast, IPv6 multicast, and unspecified addresses.
pub fn is_never_unicast(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.is_broadcast() || a.is_multicast() || a.is_unspecified(),
        IpAddr::V6(a) => a.is_multicast() || a.is_unspecified(),
    }
}

/// The IPv6 unspecified address, spelled out for readability at call sites.
pub const V6_UNSPECIFIED: Ipv6Addr = Ipv6Addr::UNSPECIFIED;

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str, p: u8) -> IpCidr {
        IpCidr::new(s.parse().unwrap(), p).unwrap()
    }

    #[test]
    fn contains_and_broadcast() {
        assert!(c("10.1.2.3", 8).contains("10.200.0.1".parse().unwrap()));
        assert!(!c("10.1.2.3", 8).contains("11.0.0.1".parse().unwrap()));
        assert!(c("0.0.0.0", 0).contains("1.2.3.4".parse().unwrap()));
        assert!(!c("0.0.0.0", 0).contains("::1".parse().unwrap()));
        assert!(c("fd00::1", 64).contains("fd00::ffff".parse().unwrap()));
        assert!(!c("fd00::1", 64).contains("fd00:0:0:1::1".parse().unwrap()));
        assert_eq!(c("10.0.0.1", 24).broadcast(), Some(Ipv4Addr::new(10, 0, 0, 255)));
        assert_eq!(c("10.0.0.1", 31).broadcast(), None);
        assert!(IpCidr::new("10.0.0.1".parse().unwrap(), 33).is_err());
        assert!(IpCidr::new("::1".parse().unwrap(), 129).is_err());
    }

    #[test]
    fn longest_prefix_wins() {
        let mut t = Routes::new();
        t.add(Route { dest: c("0.0.0.0", 0), src: None });
        t.add(Route { dest: c("10.0.0.0", 8), src: Some("10.0.0.1".parse().unwrap()) });
        t.add(Route { dest: c("10.1.0.0", 16), src: Some("10.1.0.1".parse().unwrap()) });
        let r = t.lookup("10.1.9.9".parse().unwrap()).unwrap();
        assert_eq!(r.dest.prefix(), 16);
        assert_eq!(t.lookup("10.2.0.1".parse().unwrap()).unwrap().dest.prefix(), 8);
        assert_eq!(t.lookup("8.8.8.8".parse().unwrap()).unwrap().dest.prefix(), 0);
        assert!(t.lookup("::1".parse().unwrap()).is_none());
        assert!(t.remove(c("10.1.0.0", 16)));
        assert_eq!(t.lookup("10.1.9.9".parse().unwrap()).unwrap().dest.prefix(), 8);
    }
}
