//! tcpdump's one-line text for a packet (`tcpdump -nn` without `-v`). The text itself is
//! `synack-wire`'s ([`PacketLine`], [`ArpLine`](synack_wire::dump::ArpLine)); this module adds
//! what needs memory across packets: tcpdump's relative sequence numbers. Per connection,
//! tcpdump remembers the numbers of the first ACK-bearing packet (re-learned on every SYN) and
//! prints later numbers relative to them, SACK blocks included; packets without ACK, and the
//! packet that sets the base, print absolute numbers.

use crate::decode::{Decoded, TcpInfo};
use core::net::IpAddr;
use std::collections::HashMap;
use synack_wire::dump::ArpLine;
use synack_wire::{ArpPacket, ArpRepr, ChecksumMode, IpPacketRepr, PacketLine, RelativeSeq};

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

impl TcpdumpState {
    /// A fresh state (no connection seen).
    pub fn new() -> Self {
        Self::default()
    }

    /// The relative bases for one segment, updating the memory as tcpdump does.
    fn relative(&mut self, src: IpAddr, dst: IpAddr, t: &TcpInfo<'_>) -> Option<RelativeSeq> {
        if !t.flags.ack() {
            return None;
        }
        // tcpdump keys connections by the lower endpoint first ("rev" when we are the higher).
        let rev = (src, t.src_port) > (dst, t.dst_port);
        let k = if rev {
            (dst, t.dst_port, src, t.src_port)
        } else {
            (src, t.src_port, dst, t.dst_port)
        };
        let known = self.seqs.contains_key(&k);
        if !known || t.flags.syn() {
            let v =
                if rev { (t.ack.wrapping_sub(1), t.seq) } else { (t.seq, t.ack.wrapping_sub(1)) };
            self.seqs.insert(k, v);
            return None;
        }
        let (lo, hi) = self.seqs[&k];
        Some(if rev {
            RelativeSeq { seq_base: hi, ack_base: lo }
        } else {
            RelativeSeq { seq_base: lo, ack_base: hi }
        })
    }

    /// The line for one decoded frame, without the timestamp. `wirelen` is the frame's
    /// length on the wire.
    pub fn line(&mut self, d: &Decoded<'_>, wirelen: u32) -> String {
        if let Some(ip) = d.ip {
            let relative = d.tcp().and_then(|t| self.relative(ip.src, ip.dst, t));
            return match IpPacketRepr::parse(d.l3, ChecksumMode::Skip) {
                Ok(p) => {
                    let line = PacketLine { packet: &p, relative }.to_string();
                    match d.tcp() {
                        // The packet that sets the base prints absolute numbers but, in
                        // tcpdump, SACK blocks already relative to the new base (ack - 1).
                        Some(t) if relative.is_none() && t.flags.ack() => {
                            relative_sack(&line, t.ack.wrapping_sub(1))
                        }
                        _ => line,
                    }
                }
                Err(e) => {
                    let fam = if ip.version == 4 { "IP" } else { "IP6" };
                    match d.tcp() {
                        Some(t) => format!(
                            "{fam} {}.{} > {}.{}: Flags [{}], [malformed: {e:?}]",
                            ip.src,
                            t.src_port,
                            ip.dst,
                            t.dst_port,
                            synack_wire::tcp::display::FlagLetters(t.flags)
                        ),
                        None => format!("{fam} {} > {}: [malformed: {e:?}]", ip.src, ip.dst),
                    }
                }
            };
        }
        if d.arp.is_some()
            && let Ok(arp) = ArpPacket::new_checked(d.l3).and_then(|p| ArpRepr::parse(&p))
        {
            return ArpLine { arp: &arp, len: d.l3.len() }.to_string();
        }
        match (d.ethertype, d.wire_error) {
            (Some(0x0800), Some(e)) => format!("IP [malformed: {e:?}]"),
            (Some(0x86dd), Some(e)) => format!("IP6 [malformed: {e:?}]"),
            (Some(et), _) => format!("ethertype 0x{et:04x}, length {wirelen}"),
            (None, _) => format!("[unsupported link layer], length {wirelen}"),
        }
    }
}

/// Rewrites the SACK blocks of a rendered line (`sack 2 {a:b}{c:d}`) relative to `base`.
fn relative_sack(line: &str, base: u32) -> String {
    let Some(at) = line.find("sack ") else { return line.to_string() };
    let Some(open) = line[at..].find('{').map(|i| at + i) else { return line.to_string() };
    let mut out = String::from(&line[..open]);
    let mut rest = &line[open..];
    while let Some(body) = rest.strip_prefix('{') {
        let Some(close) = body.find('}') else { break };
        let Some((a, b)) = body[..close].split_once(':') else { break };
        let (Ok(a), Ok(b)) = (a.parse::<u32>(), b.parse::<u32>()) else { break };
        out.push_str(&format!("{{{}:{}}}", a.wrapping_sub(base), b.wrapping_sub(base)));
        rest = &body[close + 1..];
    }
    out.push_str(rest);
    out
}
