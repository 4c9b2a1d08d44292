//! tcpdump's line for an IP packet carrying TCP, written from the raw bytes as far as they were
//! captured, so short frames (snap length, offloaded sends) print what tcpdump prints for them:
//! the known fields, then `[|tcp]` where the bytes run out.
//!
//! The wording and the order of checks follow tcpdump 4.99's `-nn` output (the installed
//! tcpdump is the reference the tests compare with): IPv4 `truncated-ip - N bytes missing!` and
//! `bad-len`, IPv6 hop-by-hop jumbograms, the TCP flag letters of the 8-bit flag byte, relative
//! sequence numbers per connection, and every TCP option tcpdump decodes (MPTCP, MD5, UTO, SCPS,
//! TCP-AO, Fast Open, RFC 6994 experiments) with its `[bad opt]`, `[len N]` and truncation
//! marks. Packets this module does not cover (later fragments, other protocols, IPv6 routing or
//! fragment headers before TCP) return `None`, and the caller prints them another way.

use core::fmt::Write;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::collections::HashMap;

mod options;

use options::{OptCtx, Stop, options};

/// tcpdump's relative-sequence memory: per connection (ordered by port, then address), the
/// numbers of the first ACK-bearing segment seen, re-learned on every SYN.
#[derive(Default, Debug)]
pub struct SeqBases {
    conns: HashMap<(IpAddr, IpAddr, u32), (u32, u32)>,
}

/// Where the bases put one segment.
struct Relative {
    seq: u32,
    ack: u32,
    /// tcpdump's `rev`: the segment goes from the higher port to the lower.
    rev: bool,
    th_seq: u32,
    th_ack: u32,
}

impl SeqBases {
    fn relative(
        &mut self,
        (src, dst): (IpAddr, IpAddr),
        (sp, dp): (u16, u16),
        seq: u32,
        ack: u32,
        syn: bool,
    ) -> Relative {
        let rev = sp > dp || (sp == dp && addr_bytes(src) > addr_bytes(dst));
        let key = if rev {
            (dst, src, (u32::from(dp) << 16) | u32::from(sp))
        } else {
            (src, dst, (u32::from(sp) << 16) | u32::from(dp))
        };
        let (mut s, mut a) = (seq, ack);
        let (th_seq, th_ack) = match self.conns.get(&key) {
            Some(&(ts, ta)) if !syn => {
                if rev {
                    s = s.wrapping_sub(ta);
                    a = a.wrapping_sub(ts);
                } else {
                    s = s.wrapping_sub(ts);
                    a = a.wrapping_sub(ta);
                }
                (ts, ta)
            }
            _ => {
                let st = if rev { (ack.wrapping_sub(1), seq) } else { (seq, ack.wrapping_sub(1)) };
                self.conns.insert(key, st);
                st
            }
        };
        Relative { seq: s, ack: a, rev, th_seq, th_ack }
    }
}

fn addr_bytes(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V4(a) => {
            let mut b = [0u8; 16];
            b[..4].copy_from_slice(&a.octets());
            b
        }
        IpAddr::V6(a) => a.octets(),
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2).map(|x| u16::from_be_bytes([x[0], x[1]]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4).map(|x| u32::from_be_bytes([x[0], x[1], x[2], x[3]]))
}

fn be64(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at + 8).map(|x| {
        let mut a = [0u8; 8];
        a.copy_from_slice(x);
        u64::from_be_bytes(a)
    })
}

/// tcpdump's line (without the time) for the IP packet `ip` (captured bytes from the IP header
/// on) whose length on the wire from the IP header on is `wire_len`, or `None` when it is not a
/// TCP packet this module prints.
pub fn line(bases: &mut SeqBases, ip: &[u8], wire_len: usize) -> Option<String> {
    match ip.first()? >> 4 {
        4 => ipv4(bases, ip, wire_len),
        6 => ipv6(bases, ip, wire_len),
        _ => None,
    }
}

/// tcpdump's line for an IPv4 link-layer type whose packet is not IPv4.
pub fn not_ipv4(ip: &[u8]) -> Option<String> {
    match ip.first()? >> 4 {
        4 => None,
        6 => Some("IP6, wrong link-layer encapsulation (invalid)".into()),
        v => Some(format!("IP{v} (invalid)")),
    }
}

fn ipv4(bases: &mut SeqBases, ip: &[u8], wire_len: usize) -> Option<String> {
    if ip.len() < 20 || wire_len < 20 {
        return None;
    }
    let hlen = usize::from(ip[0] & 0x0f) * 4;
    if hlen < 20 {
        return Some(format!("IP bad-hlen {hlen}"));
    }
    let mut out = String::from("IP ");
    let len = usize::from(be16(ip, 2)?);
    if wire_len < len {
        let _ = write!(out, "truncated-ip - {} bytes missing! ", len - wire_len);
    }
    if len < hlen {
        let _ = write!(out, "bad-len {len}");
        return Some(out);
    }
    let off = be16(ip, 6)? & 0x1fff;
    if off != 0 || ip.len() < hlen {
        return None;
    }
    let src = IpAddr::V4(Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]));
    let dst = IpAddr::V4(Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]));
    let end = len.min(ip.len());
    let body = &ip[hlen..end];
    if ip[9] != 6 {
        let _ = write!(out, "{src} > {dst}: ");
        out.push_str(&tunnel(bases, ip[9], body, len - hlen)?);
        return Some(out);
    }
    tcp(&mut out, bases, body, (len - hlen) as u32, src, dst, true);
    Some(out)
}

/// An IP-in-IP or GRE (version 0) tunnel carrying a TCP packet: tcpdump's text from after the
/// outer addresses on, or `None` for anything else.
fn tunnel(bases: &mut SeqBases, proto: u8, body: &[u8], len: usize) -> Option<String> {
    match proto {
        4 | 41 => line(bases, body, len),
        47 => {
            let flags = be16(body, 0)?;
            if flags & 0x7 != 0 || flags & 0x4000 != 0 {
                return None;
            }
            let inner = be16(body, 2)?;
            if inner != 0x0800 && inner != 0x86dd {
                return None;
            }
            let mut out = String::from("GREv0");
            let mut at = 4;
            if flags & 0x8000 != 0 {
                let _ = write!(out, ", off 0x{:x}", be16(body, at + 2)?);
                at += 4;
            }
            if flags & 0x2000 != 0 {
                let _ = write!(out, ", key=0x{:x}", be32(body, at)?);
                at += 4;
            }
            if flags & 0x1000 != 0 {
                let _ = write!(out, ", seq {}", be32(body, at)?);
                at += 4;
            }
            let _ = write!(out, ", length {len}: ");
            out.push_str(&line(bases, body.get(at..)?, len.checked_sub(at)?)?);
            Some(out)
        }
        _ => None,
    }
}

fn ipv6(bases: &mut SeqBases, ip: &[u8], wire_len: usize) -> Option<String> {
    if ip.len() < 40 || wire_len < 40 {
        return None;
    }
    let mut out = String::from("IP6 ");
    let payload_len = be16(ip, 4)?;
    let mut len = if payload_len != 0 {
        let len = usize::from(payload_len) + 40;
        if wire_len < len {
            let _ = write!(out, "truncated-ip6 - {} bytes missing!", len - wire_len);
        }
        len
    } else {
        wire_len + 40
    };
    let mut o = [0u8; 16];
    o.copy_from_slice(&ip[8..24]);
    let src = IpAddr::V6(Ipv6Addr::from(o));
    o.copy_from_slice(&ip[24..40]);
    let dst = IpAddr::V6(Ipv6Addr::from(o));
    let mut nh = ip[6];
    let mut at = 40usize;
    let mut ext = false;
    let mut jumbo: Option<u32> = None;
    if nh != 6 {
        if !matches!(nh, 0 | 60 | 4 | 41 | 47) {
            return None;
        }
        let _ = write!(out, "{src} > {dst}: ");
        if payload_len != 0 && matches!(nh, 4 | 41 | 47) {
            let end = len.min(ip.len());
            out.push_str(&tunnel(bases, nh, &ip[40..end], len - 40)?);
            return Some(out);
        }
    }
    // Hop-by-hop (first only) and destination options, as tcpdump steps over them.
    while matches!(nh, 0 | 60) {
        if nh == 0 && at != 40 {
            return None;
        }
        let h = ip.get(at..at + 2)?;
        let hl = (usize::from(h[1]) + 1) * 8;
        let body = ip.get(at..at + hl)?;
        if len < at + hl {
            return None;
        }
        if nh == 0 {
            jumbo = jumbo_option(&body[2..]);
            if payload_len == 0 && jumbo.is_none() {
                return None;
            }
            out.push_str("HBH ");
        } else {
            out.push_str("DSTOPT ");
        }
        ext = true;
        nh = h[0];
        at += hl;
    }
    if nh != 6 {
        return None;
    }
    if let Some(j) = jumbo {
        len = j as usize + 40;
        if len < at {
            return None;
        }
        if wire_len < len {
            let _ = write!(out, "truncated-ip6 - {} bytes missing!", len - wire_len);
        }
    } else if payload_len == 0 {
        if ext {
            out.push_str(" [|ip6]");
            return Some(out);
        }
        len = 40;
    }
    let end = len.min(ip.len());
    tcp(&mut out, bases, ip.get(at..end).unwrap_or(&[]), (len - at) as u32, src, dst, !ext);
    Some(out)
}

/// The Jumbo Payload option (RFC 2675) in a hop-by-hop header's options.
fn jumbo_option(mut opts: &[u8]) -> Option<u32> {
    while let Some(&t) = opts.first() {
        if t == 0 {
            opts = &opts[1..];
            continue;
        }
        let l = usize::from(*opts.get(1)?);
        if t == 0xc2 && l == 4 {
            return be32(opts, 2);
        }
        opts = opts.get(2 + l..)?;
    }
    None
}

/// tcpdump's `tcp_print`: `t` is the captured TCP bytes, `length` the TCP length the IP layer
/// gives; `direct` when TCP follows the IP header itself (addresses printed with the ports).
fn tcp(
    out: &mut String,
    bases: &mut SeqBases,
    t: &[u8],
    length: u32,
    src: IpAddr,
    dst: IpAddr,
    direct: bool,
) {
    let (Some(sp), Some(dp)) = (be16(t, 0), be16(t, 2)) else {
        let _ = write!(out, "{src} > {dst}: [|tcp]");
        return;
    };
    if direct {
        let _ = write!(out, "{src}.{sp} > {dst}.{dp}: ");
    } else {
        let _ = write!(out, "{sp} > {dp}: ");
    }
    if t.len() < 20 {
        out.push_str(" [|tcp]");
        return;
    }
    let hlen = u32::from(t[12] >> 4) * 4;
    if hlen < 20 {
        let _ = write!(
            out,
            " tcp {} [bad hdr length {hlen} - too short, < 20]",
            length.wrapping_sub(hlen)
        );
        return;
    }
    let (mut seq, mut ack) = (be32(t, 4).unwrap_or(0), be32(t, 8).unwrap_or(0));
    let win = be16(t, 14).unwrap_or(0);
    let urp = be16(t, 18).unwrap_or(0);
    let flags = t[13];
    out.push_str("Flags [");
    let letters = [
        (0x01, 'F'),
        (0x02, 'S'),
        (0x04, 'R'),
        (0x08, 'P'),
        (0x10, '.'),
        (0x20, 'U'),
        (0x40, 'E'),
        (0x80, 'W'),
    ];
    for (bit, c) in letters {
        if flags & bit != 0 {
            out.push(c);
        }
    }
    if flags == 0 {
        out.push_str("none");
    }
    out.push(']');
    let (syn, fin, rst, ackf, urg) =
        (flags & 2 != 0, flags & 1 != 0, flags & 4 != 0, flags & 0x10 != 0, flags & 0x20 != 0);
    let (mut rev, mut th_seq, mut th_ack) = (false, 0, 0);
    if ackf {
        let r = bases.relative((src, dst), (sp, dp), seq, ack, syn);
        (seq, ack, rev, th_seq, th_ack) = (r.seq, r.ack, r.rev, r.th_seq, r.th_ack);
    }
    if hlen > length {
        let _ = write!(out, " [bad hdr length {hlen} - too long, > {length}]");
        return;
    }
    let length = length - hlen;
    if length > 0 || syn || fin || rst {
        let _ = write!(out, ", seq {seq}");
        if length > 0 {
            let _ = write!(out, ":{}", seq.wrapping_add(length));
        }
    }
    if ackf {
        let _ = write!(out, ", ack {ack}");
    }
    let _ = write!(out, ", win {win}");
    if urg {
        let _ = write!(out, ", urg {urp}");
    }
    if hlen > 20 {
        out.push_str(", options [");
        let ctx = OptCtx {
            flags,
            rev,
            th_seq,
            th_ack,
            md5_data_captured: t.len() as u64 >= u64::from(hlen + length),
        };
        // The option bytes, cut where the capture ends.
        let opts = &t[20..(hlen as usize).min(t.len())];
        match options(out, opts, hlen as usize - 20, &ctx) {
            Ok(()) => out.push(']'),
            Err((Stop::Bad, any)) => {
                out.push_str("[bad opt]");
                if any {
                    out.push(']');
                }
                return;
            }
            Err((Stop::Trunc, any)) => {
                out.push_str(" [|tcp]");
                if any {
                    out.push('>');
                }
                return;
            }
            Err((Stop::Jump, _)) => {
                out.push_str(" [|tcp]");
                return;
            }
        }
    }
    let _ = write!(out, ", length {length}");
}

#[cfg(test)]
mod tests;
