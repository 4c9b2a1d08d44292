//! What IPv4 and IPv6 share: the protocol / next-header number space.

use core::fmt;

/// An IP protocol number (IPv4 protocol field, IPv6 next header), per the IANA registry.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct IpProtocol(pub u8);

impl IpProtocol {
    /// IPv6 hop-by-hop options header.
    pub const HOP_BY_HOP: IpProtocol = IpProtocol(0);
    /// ICMP for IPv4.
    pub const ICMP: IpProtocol = IpProtocol(1);
    /// TCP.
    pub const TCP: IpProtocol = IpProtocol(6);
    /// UDP.
    pub const UDP: IpProtocol = IpProtocol(17);
    /// IPv6 routing header.
    pub const IPV6_ROUTE: IpProtocol = IpProtocol(43);
    /// IPv6 fragment header.
    pub const IPV6_FRAG: IpProtocol = IpProtocol(44);
    /// Encapsulating security payload (opaque: the walk stops there).
    pub const ESP: IpProtocol = IpProtocol(50);
    /// Authentication header.
    pub const AH: IpProtocol = IpProtocol(51);
    /// ICMP for IPv6.
    pub const ICMPV6: IpProtocol = IpProtocol(58);
    /// IPv6 "no next header".
    pub const IPV6_NO_NEXT: IpProtocol = IpProtocol(59);
    /// IPv6 destination options header.
    pub const IPV6_OPTS: IpProtocol = IpProtocol(60);

    /// The lower-case name tcpdump and the IANA registry use, if this number has one here.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "hopopts",
            1 => "icmp",
            6 => "tcp",
            17 => "udp",
            43 => "routing",
            44 => "frag",
            50 => "esp",
            51 => "ah",
            58 => "icmp6",
            59 => "nonext",
            60 => "dstopts",
            _ => return None,
        })
    }

    /// True for the IPv6 extension headers the chain walk steps over.
    pub const fn is_ipv6_extension(self) -> bool {
        matches!(self.0, 0 | 43 | 44 | 51 | 60)
    }
}

impl fmt::Debug for IpProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "IpProtocol({n})"),
            None => write!(f, "IpProtocol({})", self.0),
        }
    }
}

impl fmt::Display for IpProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "ip-proto-{}", self.0),
        }
    }
}
