//! Evaluating a parsed filter over the bytes of one frame, with libpcap's semantics.

use super::parser::{Arith, Dir, Expr, Prim, Proto};
use crate::link::{self, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6};
use core::net::IpAddr;

/// The bytes a filter looks at: one frame with its link type and length on the wire.
#[derive(Clone, Copy, Debug)]
pub struct FramePacket<'a> {
    /// LINKTYPE_ value.
    pub linktype: u32,
    /// Captured bytes, from the start of the link header.
    pub data: &'a [u8],
    /// Length on the wire (what `len` compares).
    pub wirelen: u32,
}

/// A load outside the captured bytes or a division by zero: libpcap's program rejects the packet.
pub(crate) struct Reject;

#[derive(Clone, Copy)]
struct Ctx<'a> {
    p: &'a FramePacket<'a>,
    net: Option<link::NetLayer>,
    /// 802.1Q tags the primitive looks past (the `vlan` keywords before it).
    depth: u8,
}

impl Ctx<'_> {
    fn byte(&self, off: usize) -> Result<u8, Reject> {
        self.p.data.get(off).copied().ok_or(Reject)
    }
    fn be(&self, off: usize, size: usize) -> Result<u32, Reject> {
        let b = self.p.data.get(off..off + size).ok_or(Reject)?;
        Ok(b.iter().fold(0u32, |a, x| (a << 8) | u32::from(*x)))
    }
    fn l3(&self, ethertype: u16) -> Option<usize> {
        self.net
            .filter(|n| n.ethertype == ethertype && n.vlan_tags == self.depth && !n.behind_shim())
            .map(|n| n.offset)
    }
    /// IPv4 offset if the packet is IPv4 with protocol `proto`.
    fn v4_proto(&self, proto: u8) -> Result<Option<usize>, Reject> {
        match self.l3(ETHERTYPE_IPV4) {
            Some(o) if self.byte(o + 9)? == proto => Ok(Some(o)),
            _ => Ok(None),
        }
    }
    fn v6_proto(&self, proto: u8) -> Result<Option<usize>, Reject> {
        match self.l3(ETHERTYPE_IPV6) {
            Some(o) if self.byte(o + 6)? == proto => Ok(Some(o)),
            _ => Ok(None),
        }
    }
    /// Transport header offset of an unfragmented-or-first-fragment IPv4 packet.
    fn v4_transport(&self, o: usize) -> Result<Option<usize>, Reject> {
        let frag = self.be(o + 6, 2)? & 0x1fff;
        if frag != 0 {
            return Ok(None);
        }
        Ok(Some(o + usize::from(self.byte(o)? & 0x0f) * 4))
    }
    fn proto_match(&self, p: Proto) -> Result<bool, Reject> {
        Ok(match p {
            Proto::Ether => self.p.linktype == crate::capture::linktype::ETHERNET,
            Proto::Ip => self.l3(ETHERTYPE_IPV4).is_some(),
            Proto::Ip6 => self.l3(ETHERTYPE_IPV6).is_some(),
            Proto::Arp => self.l3(ETHERTYPE_ARP).is_some(),
            Proto::Tcp => self.v4_proto(6)?.is_some() || self.v6_proto(6)?.is_some(),
            Proto::Udp => self.v4_proto(17)?.is_some() || self.v6_proto(17)?.is_some(),
            Proto::Icmp => self.v4_proto(1)?.is_some(),
            Proto::Icmp6 => self.v6_proto(58)?.is_some(),
        })
    }

    /// Source and destination as addresses, for IPv4, IPv6 and (IPv4-over-Ethernet) ARP.
    fn addrs(
        &self,
        proto: Option<Proto>,
        want_v6: bool,
    ) -> Result<Option<(IpAddr, IpAddr)>, Reject> {
        if want_v6 {
            if matches!(proto, None | Some(Proto::Ip6))
                && let Some(o) = self.l3(ETHERTYPE_IPV6)
            {
                let s: [u8; 16] =
                    self.p.data.get(o + 8..o + 24).ok_or(Reject)?.try_into().map_err(|_| Reject)?;
                let d: [u8; 16] = self
                    .p
                    .data
                    .get(o + 24..o + 40)
                    .ok_or(Reject)?
                    .try_into()
                    .map_err(|_| Reject)?;
                return Ok(Some((IpAddr::from(s), IpAddr::from(d))));
            }
            return Ok(None);
        }
        if matches!(proto, None | Some(Proto::Ip))
            && let Some(o) = self.l3(ETHERTYPE_IPV4)
        {
            let s = self.be(o + 12, 4)?;
            let d = self.be(o + 16, 4)?;
            return Ok(Some((IpAddr::V4(s.into()), IpAddr::V4(d.into()))));
        }
        if matches!(proto, None | Some(Proto::Arp))
            && let Some(o) = self.l3(ETHERTYPE_ARP)
        {
            let s = self.be(o + 14, 4)?;
            let d = self.be(o + 24, 4)?;
            return Ok(Some((IpAddr::V4(s.into()), IpAddr::V4(d.into()))));
        }
        Ok(None)
    }

    fn ports(&self, proto: Option<Proto>) -> Result<Option<(u16, u16)>, Reject> {
        let nums: &[u8] = match proto {
            Some(Proto::Tcp) => &[6],
            Some(Proto::Udp) => &[17],
            _ => &[6, 17, 132],
        };
        for &n in nums {
            if let Some(o) = self.v4_proto(n)? {
                if let Some(t) = self.v4_transport(o)? {
                    return Ok(Some((self.be(t, 2)? as u16, self.be(t + 2, 2)? as u16)));
                }
                return Ok(None);
            }
            if let Some(o) = self.v6_proto(n)? {
                let t = o + 40;
                return Ok(Some((self.be(t, 2)? as u16, self.be(t + 2, 2)? as u16)));
            }
        }
        Ok(None)
    }

    fn arith(&self, a: &Arith) -> Result<Option<u32>, Reject> {
        Ok(Some(match a {
            Arith::Num(n) => *n,
            Arith::Len => self.p.wirelen,
            Arith::Neg(x) => match self.arith(x)? {
                Some(v) => v.wrapping_neg(),
                None => return Ok(None),
            },
            Arith::Bin(op, l, r) => {
                let (Some(l), Some(r)) = (self.arith(l)?, self.arith(r)?) else { return Ok(None) };
                match *op {
                    "+" => l.wrapping_add(r),
                    "-" => l.wrapping_sub(r),
                    "*" => l.wrapping_mul(r),
                    "/" => l.checked_div(r).ok_or(Reject)?,
                    "%" => l.checked_rem(r).ok_or(Reject)?,
                    "&" => l & r,
                    "|" => l | r,
                    "^" => l ^ r,
                    "<<" => l.checked_shl(r).unwrap_or(0),
                    ">>" => l.checked_shr(r).unwrap_or(0),
                    _ => return Ok(None),
                }
            }
            Arith::Load { proto, offset, size } => {
                let Some(off) = self.arith(offset)? else { return Ok(None) };
                let base = match proto {
                    Proto::Ether => {
                        if self.p.linktype != crate::capture::linktype::ETHERNET {
                            return Ok(None);
                        }
                        0
                    }
                    Proto::Ip => match self.l3(ETHERTYPE_IPV4) {
                        Some(o) => o,
                        None => return Ok(None),
                    },
                    Proto::Ip6 => match self.l3(ETHERTYPE_IPV6) {
                        Some(o) => o,
                        None => return Ok(None),
                    },
                    Proto::Arp => match self.l3(ETHERTYPE_ARP) {
                        Some(o) => o,
                        None => return Ok(None),
                    },
                    Proto::Tcp | Proto::Udp | Proto::Icmp => {
                        let n = match proto {
                            Proto::Tcp => 6,
                            Proto::Udp => 17,
                            _ => 1,
                        };
                        match self.v4_proto(n)? {
                            Some(o) => match self.v4_transport(o)? {
                                Some(t) => t,
                                None => return Ok(None),
                            },
                            None => return Ok(None),
                        }
                    }
                    Proto::Icmp6 => return Ok(None),
                };
                self.be(base + off as usize, usize::from(*size))?
            }
        }))
    }

    fn prim(&self, p: &Prim) -> Result<bool, Reject> {
        match p {
            Prim::Proto(p) => self.proto_match(*p),
            Prim::Host { proto, dir, addr } => {
                let Some((s, d)) = self.addrs(*proto, addr.is_ipv6())? else { return Ok(false) };
                Ok(dir_match(*dir, s == *addr, d == *addr))
            }
            Prim::Net { proto, dir, addr, prefix } => {
                let Some((s, d)) = self.addrs(*proto, addr.is_ipv6())? else { return Ok(false) };
                Ok(dir_match(*dir, in_net(s, *addr, *prefix), in_net(d, *addr, *prefix)))
            }
            Prim::Port { proto, dir, lo, hi } => {
                let Some((s, d)) = self.ports(*proto)? else { return Ok(false) };
                let r = |p: u16| *lo <= p && p <= *hi;
                Ok(dir_match(*dir, r(s), r(d)))
            }
            Prim::Vlan { id } => {
                let at = 12 + 4 * usize::from(self.depth);
                if self.p.linktype != crate::capture::linktype::ETHERNET
                    || !matches!(self.be(at, 2)?, 0x8100 | 0x88a8 | 0x9100)
                {
                    return Ok(false);
                }
                Ok(match id {
                    Some(id) => self.be(at + 2, 2)? & 0x0fff == u32::from(*id),
                    None => true,
                })
            }
            Prim::EtherProto(t) => {
                if self.p.linktype == crate::capture::linktype::ETHERNET {
                    Ok(self.be(12 + 4 * usize::from(self.depth), 2)? == u32::from(*t))
                } else {
                    Ok(self.depth == 0 && self.net.is_some_and(|n| n.ethertype == *t))
                }
            }
            Prim::IpProto { proto, num } => Ok(match proto {
                Some(Proto::Ip) => self.v4_proto(*num)?.is_some(),
                Some(Proto::Ip6) => self.v6_proto(*num)?.is_some(),
                _ => self.v4_proto(*num)?.is_some() || self.v6_proto(*num)?.is_some(),
            }),
        }
    }

    fn expr(&self, e: &Expr) -> Result<bool, Reject> {
        match e {
            Expr::And(a, b) => Ok(self.expr(a)? && self.expr(b)?),
            Expr::Or(a, b) => Ok(self.expr(a)? || self.expr(b)?),
            Expr::Not(a) => Ok(!self.expr(a)?),
            Expr::Prim(p) => self.prim(p),
            Expr::Depth(d, e) => Ctx { depth: *d, ..*self }.expr(e),
            Expr::Rel(l, op, r) => {
                let (Some(l), Some(r)) = (self.arith(l)?, self.arith(r)?) else { return Ok(false) };
                Ok(match *op {
                    "<" => l < r,
                    ">" => l > r,
                    "<=" => l <= r,
                    ">=" => l >= r,
                    "!=" => l != r,
                    _ => l == r,
                })
            }
        }
    }
}

fn dir_match(dir: Dir, s: bool, d: bool) -> bool {
    match dir {
        Dir::Src => s,
        Dir::Dst => d,
        Dir::Either => s || d,
        Dir::Both => s && d,
    }
}

fn in_net(a: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (a, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let m = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix)) };
            u32::from(a) & m == u32::from(n) & m
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let m = if prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(prefix)) };
            u128::from(a) & m == u128::from(n) & m
        }
        _ => false,
    }
}

/// Evaluates `e`; `Err(Reject)` means the packet is rejected outright.
pub(crate) fn eval(e: &Expr, p: &FramePacket<'_>) -> Result<bool, Reject> {
    let ctx = Ctx { p, net: link::net_layer(p.linktype, p.data), depth: 0 };
    ctx.expr(e)
}
