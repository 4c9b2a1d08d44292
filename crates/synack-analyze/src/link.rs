//! Finding the network-layer header inside a frame, per link type, through the encapsulations
//! between the link header and IP that tcpdump and tshark look through: 802.1Q/802.1ad tags,
//! MPLS label stacks, PPPoE sessions, PPP, Cisco HDLC, Linux cooked v1/v2, BSD loopback and
//! Linux ARCNET. (IP-in-IP and GRE sit above IP and are handled by [`crate::decode`].)

use crate::capture::linktype as lt;

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86DD;
/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// EtherType of an MPLS unicast label stack.
pub const ETHERTYPE_MPLS: u16 = 0x8847;
/// EtherType of an MPLS multicast label stack.
pub const ETHERTYPE_MPLS_MC: u16 = 0x8848;
/// EtherType of a PPPoE session.
pub const ETHERTYPE_PPPOE: u16 = 0x8864;

/// What sits between the link header and the network layer, when tcpdump prints it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encap {
    /// Nothing tcpdump names.
    Plain,
    /// An MPLS label stack of `labels` entries starting at byte `at`.
    Mpls {
        /// Offset of the first label stack entry.
        at: usize,
        /// Number of entries.
        labels: u8,
    },
    /// A PPPoE session.
    Pppoe {
        /// Session id.
        session: u16,
    },
    /// PPP in HDLC framing with the address byte: tcpdump names the protocol first.
    PppHdlc {
        /// The PPP protocol number.
        proto: u16,
    },
    /// Linux cooked v2: the interface index and packet type tcpdump prints first.
    Sll2 {
        /// Interface index on the capturing host.
        ifindex: u32,
        /// `PACKET_*` type (0 to us, 4 outgoing ...).
        pkttype: u8,
    },
}

/// Where the network layer starts and what it carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetLayer {
    /// Byte offset of the network header in the frame.
    pub offset: usize,
    /// Its EtherType (IPv4, IPv6, ARP, or anything else the link said).
    pub ethertype: u16,
    /// Number of 802.1Q/802.1ad tags skipped (Ethernet only).
    pub vlan_tags: u8,
    /// Label stack or session header passed on the way.
    pub encap: Encap,
    /// Offset of the Ethernet type field the frame's own header carries (Ethernet only), which
    /// is where libpcap's `ether proto` and unqualified `ip` look.
    pub ethertype_at: Option<usize>,
}

impl NetLayer {
    fn at(offset: usize, ethertype: u16) -> Self {
        NetLayer { offset, ethertype, vlan_tags: 0, encap: Encap::Plain, ethertype_at: None }
    }
    /// True when the network layer sits behind tags, labels or a session header, where
    /// libpcap's plain `ip`/`tcp` primitives do not look.
    pub fn encapsulated(&self) -> bool {
        self.vlan_tags > 0 || self.behind_shim()
    }

    /// True when an MPLS label stack or a PPPoE header sits before the network layer (libpcap
    /// looks there only after the `mpls` or `pppoes` keywords).
    pub fn behind_shim(&self) -> bool {
        matches!(self.encap, Encap::Mpls { .. } | Encap::Pppoe { .. })
    }
}

fn ip_version_ethertype(first: Option<&u8>) -> Option<u16> {
    match first.map(|b| b >> 4) {
        Some(4) => Some(ETHERTYPE_IPV4),
        Some(6) => Some(ETHERTYPE_IPV6),
        _ => None,
    }
}

fn family_ethertype(af: u32) -> Option<u16> {
    match af {
        2 => Some(ETHERTYPE_IPV4),
        // AF_INET6 on NetBSD/OpenBSD (24), FreeBSD (28), macOS (30), Linux (10).
        10 | 24 | 28 | 30 => Some(ETHERTYPE_IPV6),
        _ => None,
    }
}

/// PPP protocol numbers of IPv4 and IPv6 as EtherTypes.
fn ppp_ethertype(proto: u16) -> u16 {
    match proto {
        0x0021 => ETHERTYPE_IPV4,
        0x0057 => ETHERTYPE_IPV6,
        other => other,
    }
}

/// A PPP frame from `off`: optional address/control bytes, then a 1- or 2-byte protocol.
fn ppp(data: &[u8], mut off: usize) -> Option<NetLayer> {
    if data.get(off..off + 2) == Some(&[0xff, 0x03]) {
        off += 2;
    }
    let first = *data.get(off)?;
    let (proto, len) = if first & 1 == 1 {
        (u16::from(first), 1)
    } else {
        (u16::from_be_bytes([first, *data.get(off + 1)?]), 2)
    };
    Some(NetLayer::at(off + len, ppp_ethertype(proto)))
}

/// Follows an EtherType at `off` through MPLS and PPPoE to the network layer.
fn after_ethertype(data: &[u8], type_at: usize, tags: u8) -> Option<NetLayer> {
    let be16 = |o: usize| data.get(o..o + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    let et = be16(type_at)?;
    let off = type_at + 2;
    let mut n = match et {
        ETHERTYPE_MPLS | ETHERTYPE_MPLS_MC => {
            let mut at = off;
            let mut labels = 0u8;
            loop {
                let e = data.get(at..at + 4)?;
                at += 4;
                labels = labels.saturating_add(1);
                if e[2] & 1 == 1 || labels == u8::MAX {
                    break;
                }
            }
            // The payload's type is not written down: the first nibble tells IPv4 from IPv6.
            let et = ip_version_ethertype(data.get(at)).unwrap_or(0);
            NetLayer { encap: Encap::Mpls { at: off, labels }, ..NetLayer::at(at, et) }
        }
        ETHERTYPE_PPPOE => {
            let session = be16(off + 2)?;
            let proto = be16(off + 6)?;
            NetLayer {
                encap: Encap::Pppoe { session },
                ..NetLayer::at(off + 8, ppp_ethertype(proto))
            }
        }
        _ => NetLayer::at(off, et),
    };
    n.vlan_tags = tags;
    Some(n)
}

/// Locates the network layer of a frame; `None` when the link type is unknown or the frame is
/// too short to hold its link header.
pub fn net_layer(linktype: u32, data: &[u8]) -> Option<NetLayer> {
    let be16 = |o: usize| data.get(o..o + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    match linktype {
        lt::ETHERNET => {
            let mut off = 12;
            let mut tags = 0;
            let mut et = be16(off)?;
            while matches!(et, 0x8100 | 0x88A8 | 0x9100) && tags < 8 {
                off += 4;
                tags += 1;
                et = be16(off)?;
            }
            let mut n = after_ethertype(data, off, tags)?;
            n.ethertype_at = Some(12);
            Some(n)
        }
        lt::RAW | lt::RAW_BSD | lt::RAW_OPENBSD => {
            let et = ip_version_ethertype(data.first())?;
            Some(NetLayer::at(0, et))
        }
        lt::IPV4 => Some(NetLayer::at(0, ETHERTYPE_IPV4)),
        lt::IPV6 => Some(NetLayer::at(0, ETHERTYPE_IPV6)),
        lt::LINUX_SLL => after_ethertype(data, 14, 0),
        lt::LINUX_SLL2 => {
            if data.len() < 20 {
                return None;
            }
            let ifindex = u32::from_be_bytes([data[4], data[5], data[6], data[7]]);
            let mut n = NetLayer::at(20, be16(0)?);
            n.encap = Encap::Sll2 { ifindex, pkttype: data[10] };
            Some(n)
        }
        lt::NULL | lt::LOOP => {
            let b: [u8; 4] = data.get(0..4)?.try_into().ok()?;
            let af = if linktype == lt::LOOP {
                u32::from_be_bytes(b)
            } else if u32::from_le_bytes(b) < 0x10000 {
                u32::from_le_bytes(b)
            } else {
                u32::from_be_bytes(b)
            };
            let et = family_ethertype(af).unwrap_or(0);
            Some(NetLayer::at(4, et))
        }
        lt::PPP => ppp(data, 0),
        lt::PPP_HDLC => {
            let mut n = ppp(data, 0)?;
            if data.first() == Some(&0xff) {
                n.encap = Encap::PppHdlc { proto: be16(2)? };
            }
            Some(n)
        }
        lt::PPP_ETHER => {
            let session = be16(2)?;
            let mut n = ppp(data, 6)?;
            n.encap = Encap::Pppoe { session };
            Some(n)
        }
        lt::C_HDLC => Some(NetLayer::at(4, be16(2)?)),
        lt::ARCNET_LINUX => {
            // Source, destination, offset (2), type, then flag and sequence id unless the type
            // is one of the old RFC 1051 ones.
            let typ = *data.get(4)?;
            let (hl, et) = match typ {
                240 => (5, ETHERTYPE_IPV4),
                241 => (5, ETHERTYPE_ARP),
                0x80 => (5, 0),
                212 => (8, ETHERTYPE_IPV4),
                213 => (8, ETHERTYPE_ARP),
                196 => (8, ETHERTYPE_IPV6),
                _ => (8, 0),
            };
            if data.len() < hl {
                return None;
            }
            Some(NetLayer::at(hl, et))
        }
        _ => None,
    }
}

/// tcpdump's text for what sits before the network layer (empty for most links): MPLS labels,
/// the PPPoE session, or Linux cooked v2's interface name and direction.
pub fn tcpdump_prefix(n: &NetLayer, data: &[u8]) -> String {
    use core::fmt::Write;
    let mut s = String::new();
    match n.encap {
        Encap::Plain => {}
        Encap::Mpls { at, labels } => {
            s.push_str("MPLS");
            for i in 0..usize::from(labels) {
                let Some(e) = data.get(at + 4 * i..at + 4 * i + 4) else { break };
                let v = u32::from_be_bytes([e[0], e[1], e[2], e[3]]);
                let _ = write!(s, " (label {}", v >> 12);
                let _ = write!(s, ", tc {}", (v >> 9) & 7);
                if v & 0x100 != 0 {
                    s.push_str(", [S]");
                }
                let _ = write!(s, ", ttl {})", v & 0xff);
            }
            s.push(' ');
        }
        Encap::Pppoe { session } => {
            let _ = write!(s, "PPPoE  [ses 0x{session:x}] ");
        }
        Encap::PppHdlc { proto } => match proto {
            0x0021 => s.push_str("IP: "),
            0x0057 => s.push_str("IP6: "),
            p => {
                let _ = write!(s, "unknown PPP protocol (0x{p:04x}): ");
            }
        },
        Encap::Sll2 { ifindex, pkttype } => {
            let name = interface_name(ifindex).unwrap_or_else(|| "?".into());
            let dir = match pkttype {
                0 => "In",
                1 => "B",
                2 => "M",
                3 => "P",
                4 => "Out",
                _ => "?",
            };
            let _ = write!(s, "{name:<5} {dir:<3} ");
        }
    }
    s
}

/// The name of interface `index` on this host, as tcpdump looks it up for Linux cooked v2
/// captures (the capture stores only the index).
fn interface_name(index: u32) -> Option<String> {
    let dir = std::fs::read_dir("/sys/class/net").ok()?;
    for e in dir.flatten() {
        let Ok(idx) = std::fs::read_to_string(e.path().join("ifindex")) else { continue };
        if idx.trim().parse::<u32>().ok() == Some(index) {
            return Some(e.file_name().to_string_lossy().into_owned());
        }
    }
    None
}
