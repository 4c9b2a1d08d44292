//! Finding the network-layer header inside a frame, per link type.

use crate::capture::linktype as lt;

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86DD;
/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;

/// Where the network layer starts and what it carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetLayer {
    /// Byte offset of the network header in the frame.
    pub offset: usize,
    /// Its EtherType (IPv4, IPv6, ARP, or anything else the link said).
    pub ethertype: u16,
    /// Number of 802.1Q/802.1ad tags skipped (Ethernet only).
    pub vlan_tags: u8,
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

/// Locates the network layer of a frame; `None` when the link type is unknown or the frame is
/// too short to hold its link header.
pub fn net_layer(linktype: u32, data: &[u8]) -> Option<NetLayer> {
    let be16 = |o: usize| data.get(o..o + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    match linktype {
        lt::ETHERNET => {
            let mut off = 12;
            let mut tags = 0;
            let mut et = be16(off)?;
            while matches!(et, 0x8100 | 0x88A8 | 0x9100) && tags < 4 {
                off += 4;
                tags += 1;
                et = be16(off)?;
            }
            Some(NetLayer { offset: off + 2, ethertype: et, vlan_tags: tags })
        }
        lt::RAW | lt::RAW_BSD | lt::RAW_OPENBSD => {
            let et = ip_version_ethertype(data.first())?;
            Some(NetLayer { offset: 0, ethertype: et, vlan_tags: 0 })
        }
        lt::IPV4 => Some(NetLayer { offset: 0, ethertype: ETHERTYPE_IPV4, vlan_tags: 0 }),
        lt::IPV6 => Some(NetLayer { offset: 0, ethertype: ETHERTYPE_IPV6, vlan_tags: 0 }),
        lt::LINUX_SLL => Some(NetLayer { offset: 16, ethertype: be16(14)?, vlan_tags: 0 }),
        lt::LINUX_SLL2 => {
            if data.len() < 20 {
                return None;
            }
            Some(NetLayer { offset: 20, ethertype: be16(0)?, vlan_tags: 0 })
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
            Some(NetLayer { offset: 4, ethertype: et, vlan_tags: 0 })
        }
        _ => None,
    }
}
