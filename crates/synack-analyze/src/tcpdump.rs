//! tcpdump's one-line text for a packet (`tcpdump -nn` without `-v`). The text and tcpdump's
//! relative-sequence bookkeeping are `synack-wire`'s ([`PacketLine`], [`ArpLine`],
//! [`SeqTracker`]); this module keeps the tracker across packets, chooses the renderer per
//! frame, and adds the one case the tracker's bases cannot express: on the packet that sets a
//! connection's base, tcpdump prints absolute numbers but SACK blocks already relative.

use crate::decode::Decoded;
use crate::tcpline::{self, SeqBases};
use synack_wire::dump::{ArpLine, SeqTracker};
use synack_wire::{ArpPacket, ArpRepr, ChecksumMode, IpPacketRepr, PacketLine};

/// The relative-numbering memory tcpdump keeps per connection (`synack-wire`'s tracker).
#[derive(Default)]
pub struct TcpdumpState {
    seqs: SeqTracker,
    bases: SeqBases,
}

/// Formats a timestamp (ns since the epoch) as tcpdump's default `HH:MM:SS.uuuuuu`, in UTC.
pub fn format_time(ts_ns: u64) -> String {
    let secs = ts_ns / 1_000_000_000;
    let us = (ts_ns % 1_000_000_000) / 1000;
    let day = secs % 86_400;
    format!("{:02}:{:02}:{:02}.{:06}", day / 3600, (day / 60) % 60, day % 60, us)
}

/// tcpdump's time for a record whose fraction is out of range: the seconds' time of day and
/// the fraction as written.
pub fn format_odd_time(secs: u32, frac: u32) -> String {
    let day = secs % 86_400;
    format!("{:02}:{:02}:{:02}.{:06}", day / 3600, (day / 60) % 60, day % 60, frac)
}

impl TcpdumpState {
    /// A fresh state (no connection seen).
    pub fn new() -> Self {
        Self::default()
    }

    /// The line for one decoded frame, without the timestamp. `wirelen` is the frame's
    /// length on the wire.
    pub fn line(&mut self, d: &Decoded<'_>, wirelen: u32) -> String {
        let body = self.body(d, wirelen);
        match d.link {
            Some(n) => crate::link::tcpdump_prefix(&n, d.frame) + &body,
            None => body,
        }
    }

    fn body(&mut self, d: &Decoded<'_>, wirelen: u32) -> String {
        if d.ethertype == Some(0x0800)
            && let Some(l) = tcpline::not_ipv4(d.l3)
        {
            return l;
        }
        if matches!(d.ethertype, Some(0x0800 | 0x86dd)) {
            let wire = (wirelen as usize).saturating_sub(d.l3_offset);
            if let Some(l) = tcpline::line(&mut self.bases, d.l3, wire) {
                return l;
            }
        }
        if let Some(ip) = d.ip {
            return match IpPacketRepr::parse(d.l3, ChecksumMode::Skip) {
                Ok(p) => {
                    let relative = self.seqs.relative_for(&p);
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
