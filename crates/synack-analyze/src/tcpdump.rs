//! tcpdump's one-line text for a packet (`tcpdump -nn` without `-v`), including its relative
//! sequence numbers: per connection, tcpdump remembers the sequence numbers of the first
//! ACK-bearing packet (re-learned on every SYN) and prints later numbers relative to them,
//! SACK blocks included.

use crate::decode::{Decoded, TcpInfo, Transport};
use core::fmt::Write;
use core::net::IpAddr;
use std::collections::HashMap;
use synack_wire::tcp::TcpOption;
use synack_wire::tcp::display::FlagLetters;

type Key = (IpAddr, u16, IpAddr, u16);

/// The relative-numbering memory tcpdump keeps per connection.
#[derive(Default)]
pub struct TcpdumpState {
    seqs: HashMap<Key, (u32, u32)>,
}

/// Formats a timestamp (ns since the epoch) as tcpdump's default `HH:MM:SS.uuuuuu`, in UTC.
pub fn format_time(ts_ns: u64) -> String {
    let secs = ts_ns / 1_000_000_000;
    let us = (ts_ns % 1_000_000_000) / 1000;
    let day = secs % 86_400;
    format!("{:02}:{:02}:{:02}.{:06}", day / 3600, (day / 60) % 60, day % 60, us)
}

fn addr_port(a: IpAddr, p: u16) -> String {
    format!("{a}.{p}")
}

impl TcpdumpState {
    /// A fresh state (no connection seen).
    pub fn new() -> Self {
        Self::default()
    }

    /// The line for one decoded frame, without the timestamp. `wirelen` is the frame's
    /// length on the wire (used for link-level lines such as ARP).
    pub fn line(&mut self, d: &Decoded<'_>, wirelen: u32) -> String {
        let _ = wirelen;
        let Some(ip) = d.ip else {
            if let Some(arp) = d.arp {
                return match arp.op {
                    1 => format!(
                        "ARP, Request who-has {} tell {}, length 28",
                        arp.target, arp.sender
                    ),
                    2 => format!("ARP, Reply {} is-at (unknown), length 28", arp.sender),
                    op => format!("ARP, op {op}, length 28"),
                };
            }
            return match (d.ethertype, d.wire_error) {
                (Some(0x0800), Some(e)) => format!("IP [malformed: {e:?}]"),
                (Some(0x86dd), Some(e)) => format!("IP6 [malformed: {e:?}]"),
                (Some(et), _) => format!("ethertype 0x{et:04x}, length {wirelen}"),
                (None, _) => format!("[unsupported link layer], length {wirelen}"),
            };
        };
        let fam = if ip.version == 4 { "IP" } else { "IP6" };
        let ip_payload = ip.total_len.saturating_sub(if ip.version == 4 { 0 } else { 40 });
        match &d.transport {
            Transport::Tcp(t) => {
                let mut s = format!(
                    "{fam} {} > {}: ",
                    addr_port(ip.src, t.src_port),
                    addr_port(ip.dst, t.dst_port)
                );
                self.tcp(&mut s, ip.src, ip.dst, t);
                s
            }
            Transport::Udp { src_port, dst_port, len } => format!(
                "{fam} {} > {}: UDP, length {}",
                addr_port(ip.src, *src_port),
                addr_port(ip.dst, *dst_port),
                len.saturating_sub(8)
            ),
            Transport::Icmp { kind, code, body } if ip.version == 4 => {
                let idseq = |b: &[u8]| -> (u16, u16) {
                    let g =
                        |o: usize| b.get(o..o + 2).map_or(0, |x| u16::from_be_bytes([x[0], x[1]]));
                    (g(2), g(4))
                };
                let len = ip_payload.saturating_sub(20);
                let what = match (kind, code) {
                    (8, _) => {
                        let (id, sq) = idseq(body);
                        format!("ICMP echo request, id {id}, seq {sq}")
                    }
                    (0, _) => {
                        let (id, sq) = idseq(body);
                        format!("ICMP echo reply, id {id}, seq {sq}")
                    }
                    (3, c) => format!("ICMP unreachable (code {c})"),
                    (11, _) => "ICMP time exceeded in-transit".to_string(),
                    (k, c) => format!("ICMP type-#{k} code {c}"),
                };
                format!("{fam} {} > {}: {what}, length {len}", ip.src, ip.dst)
            }
            Transport::Icmp { kind, .. } => {
                let len = ip_payload;
                let what = match kind {
                    128 => "echo request",
                    129 => "echo reply",
                    133 => "router solicitation",
                    134 => "router advertisement",
                    135 => "neighbor solicitation",
                    136 => "neighbor advertisement",
                    1 => "destination unreachable",
                    _ => "icmp6",
                };
                format!("{fam} {} > {}: ICMP6, {what}, length {len}", ip.src, ip.dst)
            }
            Transport::Other => {
                if let Some(e) = d.wire_error {
                    return format!("{fam} {} > {}: [malformed: {e:?}]", ip.src, ip.dst);
                }
                let name = synack_wire::IpProtocol(ip.protocol).name().unwrap_or("ip-proto");
                if ip.later_fragment {
                    format!("{fam} {} > {}: {name} (fragment)", ip.src, ip.dst)
                } else {
                    format!("{fam} {} > {}: {name} {}", ip.src, ip.dst, ip_payload)
                }
            }
        }
    }

    fn tcp(&mut self, s: &mut String, src: IpAddr, dst: IpAddr, t: &TcpInfo<'_>) {
        let flags = t.flags;
        let _ = write!(s, "Flags [{}]", FlagLetters(flags));
        let mut seq = t.seq;
        let mut ack = t.ack;
        let (mut thseq, mut thack) = (0u32, 0u32);
        let mut rev = false;
        if flags.ack() {
            rev = (src, t.src_port) > (dst, t.dst_port);
            let k = if rev {
                (dst, t.dst_port, src, t.src_port)
            } else {
                (src, t.src_port, dst, t.dst_port)
            };
            let entry = self.seqs.get(&k).copied();
            match entry {
                Some(_) if !flags.syn() => {}
                _ => {
                    let v =
                        if rev { (ack.wrapping_sub(1), seq) } else { (seq, ack.wrapping_sub(1)) };
                    self.seqs.insert(k, v);
                }
            }
            let (es, ea) = self.seqs[&k];
            if entry.is_some() && !flags.syn() {
                if rev {
                    seq = seq.wrapping_sub(ea);
                    ack = ack.wrapping_sub(es);
                } else {
                    seq = seq.wrapping_sub(es);
                    ack = ack.wrapping_sub(ea);
                }
            }
            thseq = es;
            thack = ea;
        }
        let length = t.payload_len;
        if length > 0 || flags.syn() || flags.fin() || flags.rst() {
            let _ = write!(s, ", seq {seq}");
            if length > 0 {
                let _ = write!(s, ":{}", seq.wrapping_add(length));
            }
        }
        if flags.ack() {
            let _ = write!(s, ", ack {ack}");
        }
        let _ = write!(s, ", win {}", t.window);
        if flags.urg() {
            let _ = write!(s, ", urg {}", t.urgent);
        }
        if !t.options.is_empty() {
            s.push_str(", options [");
            let mut first = true;
            for o in t.option_iter() {
                if !first {
                    s.push(',');
                }
                first = false;
                match o {
                    Ok(TcpOption::EndOfList) => s.push_str("eol"),
                    Ok(TcpOption::NoOperation) => s.push_str("nop"),
                    Ok(TcpOption::Mss(v)) => {
                        let _ = write!(s, "mss {v}");
                    }
                    Ok(TcpOption::WindowScale(v)) => {
                        let _ = write!(s, "wscale {v}");
                    }
                    Ok(TcpOption::SackPermitted) => s.push_str("sackOK"),
                    Ok(TcpOption::Sack(b)) => {
                        let _ = write!(s, "sack {} ", b.len());
                        for blk in b.as_slice() {
                            let base = if rev { thseq } else { thack };
                            let _ = write!(
                                s,
                                "{{{}:{}}}",
                                blk.left.0.wrapping_sub(base),
                                blk.right.0.wrapping_sub(base)
                            );
                        }
                    }
                    Ok(TcpOption::Timestamps(ts)) => {
                        let _ = write!(s, "TS val {} ecr {}", ts.tsval, ts.tsecr);
                    }
                    Ok(TcpOption::FastOpen(c)) => {
                        if c.as_bytes().is_empty() {
                            s.push_str("tfo  cookiereq");
                        } else {
                            s.push_str("tfo  cookie ");
                            for b in c.as_bytes() {
                                let _ = write!(s, "{b:02x}");
                            }
                        }
                    }
                    Ok(TcpOption::Unknown { kind, data }) => {
                        let _ = write!(s, "unknown-{kind}");
                        if !data.is_empty() {
                            s.push_str(" 0x");
                            for b in data {
                                let _ = write!(s, "{b:02x}");
                            }
                        }
                    }
                    Err(_) => {
                        s.push_str("bad opt");
                        break;
                    }
                }
            }
            s.push(']');
        }
        let _ = write!(s, ", length {length}");
    }
}
