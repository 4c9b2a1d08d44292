//! tshark-compatible field values (`tshark -T fields -e FIELD`) and a small display-filter
//! language over them (`tcp.stream == 3`, `tcp.analysis.retransmission`,
//! `tcp.flags.syn == 1 && tcp.flags.ack == 0`).

use crate::analysis::{TcpAnalysis, flag};
use crate::decode::Decoded;
use core::fmt::Write;
use synack_wire::tcp::{FlagStyle, FlagText, TcpFlags};

/// Every field name synack can print, with a one-line meaning.
pub const FIELDS: &[(&str, &str)] = &[
    ("frame.number", "frame number, from 1"),
    ("frame.time_relative", "seconds since the first frame"),
    ("frame.time_epoch", "seconds since 1970"),
    ("frame.len", "length on the wire"),
    ("frame.cap_len", "captured length"),
    ("tcp.stream", "TCP conversation index, from 0"),
    ("ip.src", "IPv4 source"),
    ("ip.dst", "IPv4 destination"),
    ("ip.ttl", "IPv4 TTL"),
    ("ip.id", "IPv4 identification (hex)"),
    ("ip.len", "IPv4 total length"),
    ("ipv6.src", "IPv6 source"),
    ("ipv6.dst", "IPv6 destination"),
    ("ipv6.hlim", "IPv6 hop limit"),
    ("tcp.srcport", "TCP source port"),
    ("tcp.dstport", "TCP destination port"),
    ("tcp.flags", "TCP flags (hex)"),
    ("tcp.flags.str", "TCP flags as letters"),
    ("tcp.flags.syn", "SYN bit"),
    ("tcp.flags.ack", "ACK bit"),
    ("tcp.flags.fin", "FIN bit"),
    ("tcp.flags.reset", "RST bit"),
    ("tcp.flags.push", "PSH bit"),
    ("tcp.seq", "relative sequence number"),
    ("tcp.seq_raw", "sequence number"),
    ("tcp.ack", "relative acknowledgment number"),
    ("tcp.ack_raw", "acknowledgment number"),
    ("tcp.nxtseq", "relative next sequence number"),
    ("tcp.len", "TCP payload length"),
    ("tcp.hdr_len", "TCP header length"),
    ("tcp.window_size_value", "window field"),
    ("tcp.window_size", "window, scaled"),
    ("tcp.window_size_scalefactor", "window scale multiplier (-1 unknown, -2 none)"),
    ("tcp.urgent_pointer", "urgent pointer"),
    ("tcp.options.mss_val", "MSS option"),
    ("tcp.options.wscale.shift", "window scale shift"),
    ("tcp.options.wscale.multiplier", "window scale multiplier"),
    ("tcp.options.sack_perm", "SACK-permitted option bytes"),
    ("tcp.options.sack_le", "SACK left edges (relative)"),
    ("tcp.options.sack_re", "SACK right edges (relative)"),
    ("tcp.options.timestamp.tsval", "timestamp value"),
    ("tcp.options.timestamp.tsecr", "timestamp echo reply"),
    ("tcp.checksum.status", "checksum status (2: not verified)"),
    ("tcp.analysis.flags", "any analysis flag"),
    ("tcp.analysis.retransmission", "retransmission"),
    ("tcp.analysis.fast_retransmission", "fast retransmission"),
    ("tcp.analysis.spurious_retransmission", "spurious retransmission"),
    ("tcp.analysis.out_of_order", "out of order"),
    ("tcp.analysis.lost_segment", "previous segment not captured"),
    ("tcp.analysis.ack_lost_segment", "ACKed unseen segment"),
    ("tcp.analysis.duplicate_ack", "duplicate ACK"),
    ("tcp.analysis.duplicate_ack_num", "duplicate ACK count"),
    ("tcp.analysis.duplicate_ack_frame", "frame of the original ACK"),
    ("tcp.analysis.zero_window", "zero window"),
    ("tcp.analysis.zero_window_probe", "zero window probe"),
    ("tcp.analysis.zero_window_probe_ack", "zero window probe ACK"),
    ("tcp.analysis.window_update", "window update"),
    ("tcp.analysis.window_full", "window full"),
    ("tcp.analysis.keep_alive", "keep-alive"),
    ("tcp.analysis.keep_alive_ack", "keep-alive ACK"),
    ("tcp.analysis.reused_ports", "port numbers reused"),
    ("tcp.analysis.acks_frame", "frame this ACKs"),
    ("tcp.analysis.ack_rtt", "RTT to the ACK (seconds)"),
    ("tcp.analysis.bytes_in_flight", "bytes in flight"),
];

/// Everything known about one frame that fields are read from.
#[derive(Clone, Copy, Debug)]
pub struct FieldPacket<'a> {
    /// Frame number.
    pub number: u64,
    /// Capture time (ns since the epoch).
    pub ts_ns: u64,
    /// Time of the first frame (ns since the epoch).
    pub first_ts_ns: u64,
    /// Wire length.
    pub wirelen: u32,
    /// Captured length.
    pub caplen: u32,
    /// Decoded layers.
    pub decoded: &'a Decoded<'a>,
    /// Sequence analysis, for TCP packets.
    pub analysis: Option<&'a TcpAnalysis>,
}

fn secs(ns: i128) -> String {
    let sign = if ns < 0 { "-" } else { "" };
    let a = ns.unsigned_abs();
    format!("{sign}{}.{:09}", a / 1_000_000_000, a % 1_000_000_000)
}

/// tshark's `tcp.flags.str` on an Accurate ECN connection: the AE, CWR and ECE positions show
/// the ACE counter they hold (`-5-`).
pub fn ace_flags_str(bits: u16) -> String {
    let s: Vec<char> = flags_str(bits).chars().collect();
    let ace = (bits >> 6) & 0x7;
    let mut out: String = s[..3].iter().collect();
    out.push_str(&format!("-{ace}-"));
    out.extend(&s[6..]);
    out
}

/// tshark's `tcp.flags.str`: twelve positions, reserved bits first, `·` when clear.
pub fn flags_str(bits: u16) -> String {
    FlagText(TcpFlags(bits & 0x0fff), FlagStyle::Tshark).to_string()
}

/// True when `name` is a field synack knows.
pub fn is_known(name: &str) -> bool {
    FIELDS.iter().any(|(n, _)| *n == name)
}

/// Which value of a field that occurs more than once to print, as tshark's `-E occurrence`
/// chooses (values are joined with `,`, tshark's default aggregator).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Occurrence {
    /// All of them, joined (`a`, the default).
    #[default]
    All,
    /// The first (`f`).
    First,
    /// The last (`l`).
    Last,
}

impl Occurrence {
    /// Parses the values tshark accepts after `-E occurrence=`: `f`, `l` or `a`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "f" => Occurrence::First,
            "l" => Occurrence::Last,
            "a" => Occurrence::All,
            _ => return None,
        })
    }

    /// The chosen value of an aggregated field value.
    pub fn pick(self, v: &str) -> &str {
        match self {
            Occurrence::All => v,
            Occurrence::First => v.split(',').next().unwrap_or(""),
            Occurrence::Last => v.rsplit(',').next().unwrap_or(""),
        }
    }
}

/// Every address of one family and side the packet carries, in tshark's order: a tunnel's
/// outer header, the packet's own, then the packet an ICMP error quotes.
fn addrs(ip: crate::decode::IpInfo, version: u8, src: bool) -> Option<String> {
    let pick = |p: (core::net::IpAddr, core::net::IpAddr)| if src { p.0 } else { p.1 };
    let fam = |a: &core::net::IpAddr| if version == 4 { a.is_ipv4() } else { a.is_ipv6() };
    let all: Vec<String> = [ip.outer.map(pick), Some(pick((ip.src, ip.dst))), ip.quoted.map(pick)]
        .into_iter()
        .flatten()
        .filter(fam)
        .map(|a| a.to_string())
        .collect();
    if all.is_empty() { None } else { Some(all.join(",")) }
}

/// The value of one field, as tshark prints it; `None` when absent.
pub fn value(p: &FieldPacket<'_>, name: &str) -> Option<String> {
    let d = p.decoded;
    let ip = d.ip;
    let tcp = d.tcp();
    let an = p.analysis;
    // tshark stops at options cut short by the capture, before it prints the analysis.
    if name.starts_with("tcp.analysis.") && tcp.is_some_and(|t| 20 + t.options.len() < t.header_len)
    {
        return None;
    }
    let aflag = |bit: u32| an.filter(|a| a.flags & bit != 0).map(|_| "1".to_string());
    Some(match name {
        "frame.number" => p.number.to_string(),
        "frame.time_relative" => secs(i128::from(p.ts_ns) - i128::from(p.first_ts_ns)),
        "frame.time_epoch" => secs(i128::from(p.ts_ns)),
        "frame.len" => p.wirelen.to_string(),
        "frame.cap_len" => p.caplen.to_string(),
        "ip.src" => addrs(ip?, 4, true)?,
        "ip.dst" => addrs(ip?, 4, false)?,
        "ip.ttl" => ip.filter(|i| i.version == 4)?.ttl.to_string(),
        "ip.id" => format!("0x{:04x}", ip.filter(|i| i.version == 4)?.ident),
        "ip.len" => ip.filter(|i| i.version == 4)?.total_len.to_string(),
        "ipv6.src" => addrs(ip?, 6, true)?,
        "ipv6.dst" => addrs(ip?, 6, false)?,
        "ipv6.hlim" => ip.filter(|i| i.version == 6)?.ttl.to_string(),
        "tcp.stream" => an?.stream.to_string(),
        "tcp.srcport" => tcp?.src_port.to_string(),
        "tcp.dstport" => tcp?.dst_port.to_string(),
        "tcp.flags" => format!("0x{:04x}", tcp?.flags.0),
        "tcp.flags.str" => {
            let bits = tcp?.flags.0;
            if an.is_some_and(|a| a.ace) { ace_flags_str(bits) } else { flags_str(bits) }
        }
        "tcp.flags.syn" => u8::from(tcp?.flags.syn()).to_string(),
        "tcp.flags.ack" => u8::from(tcp?.flags.ack()).to_string(),
        "tcp.flags.fin" => u8::from(tcp?.flags.fin()).to_string(),
        "tcp.flags.reset" => u8::from(tcp?.flags.rst()).to_string(),
        "tcp.flags.push" => u8::from(tcp?.flags.psh()).to_string(),
        "tcp.seq" => an?.rel_seq.to_string(),
        "tcp.seq_raw" => tcp?.seq.to_string(),
        "tcp.ack" => an?.rel_ack.to_string(),
        "tcp.ack_raw" => tcp?.ack.to_string(),
        "tcp.nxtseq" => {
            tcp.filter(|t| !t.in_fragment)?;
            an?.rel_nxtseq.to_string()
        }
        "tcp.len" => tcp.filter(|t| !t.in_fragment)?.payload_len.to_string(),
        "tcp.hdr_len" => tcp?.header_len.to_string(),
        "tcp.window_size_value" => tcp?.window.to_string(),
        "tcp.window_size" => an?.window_size.to_string(),
        "tcp.window_size_scalefactor" => {
            let a = an?;
            if tcp?.flags.syn() {
                return None;
            }
            match a.win_scale {
                -1 => "-1".into(),
                -2 => "-2".into(),
                s => (1u32 << s).to_string(),
            }
        }
        "tcp.urgent_pointer" => tcp?.urgent.to_string(),
        "tcp.options.mss_val" => tcp?.mss()?.to_string(),
        "tcp.options.wscale.shift" => tcp?.wscale()?.to_string(),
        "tcp.options.wscale.multiplier" => (1u32 << tcp?.wscale()?.min(14)).to_string(),
        // tshark prints the option's two bytes (kind 4, length 2).
        "tcp.options.sack_perm" => {
            tcp.filter(|t| t.sack_permitted()).map(|_| "0402".to_string())?
        }
        "tcp.options.sack_le" | "tcp.options.sack_re" => {
            let t = tcp?;
            let a = an?;
            let blocks = t.sack()?;
            let mut s = String::new();
            for (i, b) in blocks.as_slice().iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                let v = if name.ends_with("le") { b.left.0 } else { b.right.0 };
                let _ = write!(s, "{}", v.wrapping_sub(a.rev_base_seq));
            }
            s
        }
        "tcp.options.timestamp.tsval" => tcp?.timestamps()?.tsval.to_string(),
        "tcp.options.timestamp.tsecr" => tcp?.timestamps()?.tsecr.to_string(),
        "tcp.checksum.status" => {
            tcp?;
            "2".into()
        }
        "tcp.analysis.flags" => {
            let a = an?;
            if a.flags == 0 {
                return None;
            }
            "1".into()
        }
        "tcp.analysis.retransmission" => {
            aflag(flag::RETRANSMISSION | flag::FAST_RETRANSMISSION | flag::SPURIOUS_RETRANSMISSION)?
        }
        "tcp.analysis.fast_retransmission" => aflag(flag::FAST_RETRANSMISSION)?,
        "tcp.analysis.spurious_retransmission" => aflag(flag::SPURIOUS_RETRANSMISSION)?,
        "tcp.analysis.out_of_order" => aflag(flag::OUT_OF_ORDER)?,
        "tcp.analysis.lost_segment" => aflag(flag::LOST_SEGMENT)?,
        "tcp.analysis.ack_lost_segment" => aflag(flag::ACK_LOST_SEGMENT)?,
        // tshark lists this one twice: the analysis item and the expert item share the name.
        "tcp.analysis.duplicate_ack" => {
            aflag(flag::DUPLICATE_ACK)?;
            "1,1".into()
        }
        "tcp.analysis.duplicate_ack_num" => {
            aflag(flag::DUPLICATE_ACK)?;
            an?.dupack_num.to_string()
        }
        "tcp.analysis.duplicate_ack_frame" => {
            aflag(flag::DUPLICATE_ACK)?;
            an?.dupack_frame.to_string()
        }
        "tcp.analysis.zero_window" => aflag(flag::ZERO_WINDOW)?,
        "tcp.analysis.zero_window_probe" => aflag(flag::ZERO_WINDOW_PROBE)?,
        "tcp.analysis.zero_window_probe_ack" => aflag(flag::ZERO_WINDOW_PROBE_ACK)?,
        "tcp.analysis.window_update" => aflag(flag::WINDOW_UPDATE)?,
        "tcp.analysis.window_full" => aflag(flag::WINDOW_FULL)?,
        "tcp.analysis.keep_alive" => aflag(flag::KEEP_ALIVE)?,
        "tcp.analysis.keep_alive_ack" => aflag(flag::KEEP_ALIVE_ACK)?,
        "tcp.analysis.reused_ports" => aflag(flag::REUSED_PORTS)?,
        "tcp.analysis.acks_frame" => an?.acks_frame?.to_string(),
        // tshark leaves out an RTT of exactly zero.
        "tcp.analysis.ack_rtt" => secs(i128::from(an?.ack_rtt_ns.filter(|r| *r != 0)?)),
        "tcp.analysis.bytes_in_flight" => an?.bytes_in_flight?.to_string(),
        _ => return None,
    })
}

/// A display filter that could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("bad display filter at byte {at}: {message}")]
pub struct DisplayFilterError {
    /// Byte offset of the offending token.
    pub at: usize,
    /// What is wrong.
    pub message: String,
}

#[derive(Clone, Debug)]
enum DExpr {
    And(Box<DExpr>, Box<DExpr>),
    Or(Box<DExpr>, Box<DExpr>),
    Not(Box<DExpr>),
    Present(String),
    Cmp(String, &'static str, String),
}

/// A parsed display filter (Wireshark syntax, the simple forms).
#[derive(Clone, Debug)]
pub struct DisplayFilter {
    expr: DExpr,
}

struct DParser<'s> {
    toks: Vec<(usize, &'s str)>,
    pos: usize,
    len: usize,
}

fn dlex(s: &str) -> Result<Vec<(usize, &str)>, DisplayFilterError> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let st = i;
        if b[i].is_ascii_alphanumeric()
            || b[i] == b'_'
            || b[i] == b'.'
            || b[i] == b':'
            || b[i] == b'-'
        {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b"_.:-".contains(&b[i])) {
                i += 1;
            }
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += 1;
            }
            if i == b.len() {
                return Err(DisplayFilterError { at: st, message: "unterminated string".into() });
            }
            i += 1;
        } else {
            let two = s.get(i..i + 2).unwrap_or("");
            if ["==", "!=", "<=", ">=", "&&", "||"].contains(&two) {
                i += 2;
            } else if b"()<>!".contains(&b[i]) {
                i += 1;
            } else {
                return Err(DisplayFilterError {
                    at: st,
                    message: format!("unexpected character {:?}", &s[st..st + 1]),
                });
            }
        }
        out.push((st, &s[st..i]));
    }
    Ok(out)
}

impl<'s> DParser<'s> {
    fn peek(&self) -> Option<&'s str> {
        self.toks.get(self.pos).map(|t| t.1)
    }
    fn at(&self) -> usize {
        self.toks.get(self.pos).map_or(self.len, |t| t.0)
    }
    fn err(&self, m: &str) -> DisplayFilterError {
        DisplayFilterError { at: self.at(), message: m.into() }
    }
    fn expr(&mut self) -> Result<DExpr, DisplayFilterError> {
        let mut l = self.and()?;
        while matches!(self.peek(), Some("||" | "or")) {
            self.pos += 1;
            l = DExpr::Or(Box::new(l), Box::new(self.and()?));
        }
        Ok(l)
    }
    fn and(&mut self) -> Result<DExpr, DisplayFilterError> {
        let mut l = self.unary()?;
        while matches!(self.peek(), Some("&&" | "and")) {
            self.pos += 1;
            l = DExpr::And(Box::new(l), Box::new(self.unary()?));
        }
        Ok(l)
    }
    fn unary(&mut self) -> Result<DExpr, DisplayFilterError> {
        match self.peek() {
            Some("!" | "not") => {
                self.pos += 1;
                Ok(DExpr::Not(Box::new(self.unary()?)))
            }
            Some("(") => {
                self.pos += 1;
                let e = self.expr()?;
                if self.peek() != Some(")") {
                    return Err(self.err("expected ')'"));
                }
                self.pos += 1;
                Ok(e)
            }
            Some(f) => {
                if !is_known(f) && !matches!(f, "tcp" | "ip" | "ipv6" | "frame") {
                    return Err(self.err(&format!("unknown field {f:?}")));
                }
                self.pos += 1;
                let op: Option<&'static str> = match self.peek() {
                    Some("==" | "eq") => Some("=="),
                    Some("!=" | "ne") => Some("!="),
                    Some("<" | "lt") => Some("<"),
                    Some(">" | "gt") => Some(">"),
                    Some("<=" | "le") => Some("<="),
                    Some(">=" | "ge") => Some(">="),
                    _ => None,
                };
                match op {
                    None => Ok(DExpr::Present(f.to_string())),
                    Some(op) => {
                        self.pos += 1;
                        let Some(v) =
                            self.peek().filter(|v| !["(", ")", "&&", "||", "!"].contains(v))
                        else {
                            return Err(self.err("expected a value"));
                        };
                        self.pos += 1;
                        Ok(DExpr::Cmp(f.to_string(), op, v.trim_matches('"').to_string()))
                    }
                }
            }
            None => Err(self.err("expression is incomplete")),
        }
    }
}

fn parse_num(s: &str) -> Option<f64> {
    if let Some(h) = s.strip_prefix("0x") {
        return u64::from_str_radix(h, 16).ok().map(|v| v as f64);
    }
    s.parse().ok()
}

impl DisplayFilter {
    /// Parses a display filter.
    pub fn parse(s: &str) -> Result<Self, DisplayFilterError> {
        let toks = dlex(s)?;
        let mut p = DParser { toks, pos: 0, len: s.len() };
        let expr = p.expr()?;
        if p.pos != p.toks.len() {
            return Err(p.err("unexpected token"));
        }
        Ok(DisplayFilter { expr })
    }

    /// True when the packet passes.
    pub fn matches(&self, p: &FieldPacket<'_>) -> bool {
        eval(&self.expr, p)
    }
}

fn eval(e: &DExpr, p: &FieldPacket<'_>) -> bool {
    match e {
        DExpr::And(a, b) => eval(a, p) && eval(b, p),
        DExpr::Or(a, b) => eval(a, p) || eval(b, p),
        DExpr::Not(a) => !eval(a, p),
        DExpr::Present(f) => match f.as_str() {
            "tcp" => p.decoded.tcp().is_some(),
            "ip" => p.decoded.ip.is_some_and(|i| i.version == 4),
            "ipv6" => p.decoded.ip.is_some_and(|i| i.version == 6),
            "frame" => true,
            f => value(p, f).is_some(),
        },
        DExpr::Cmp(f, op, want) => {
            let Some(have) = value(p, f) else { return false };
            let ord = match (parse_num(&have), parse_num(want)) {
                (Some(a), Some(b)) => a.partial_cmp(&b),
                _ => Some(have.as_str().cmp(want.as_str())),
            };
            let Some(ord) = ord else { return false };
            use core::cmp::Ordering::*;
            match *op {
                "==" => ord == Equal,
                "!=" => ord != Equal,
                "<" => ord == Less,
                ">" => ord == Greater,
                "<=" => ord != Greater,
                _ => ord != Less,
            }
        }
    }
}

#[cfg(test)]
mod occurrence_tests {
    use super::Occurrence;

    #[test]
    fn occurrence_picks_like_tshark() {
        let v = "192.168.1.1,10.0.0.1";
        assert_eq!(Occurrence::parse("f").map(|o| o.pick(v)), Some("192.168.1.1"));
        assert_eq!(Occurrence::parse("l").map(|o| o.pick(v)), Some("10.0.0.1"));
        assert_eq!(Occurrence::parse("a").map(|o| o.pick(v)), Some(v));
        assert_eq!(Occurrence::First.pick("5"), "5");
        assert_eq!(Occurrence::parse("2"), None);
    }
}
