//! tcpdump-style one-line text for packets, in the wording `tcpdump -nn -t` uses (tcpdump
//! 4.99), so people can compare our output with tcpdump's and later tools print the same lines.
//!
//! [`TcpDumpLine`] renders one TCP segment given its addresses; [`PacketLine`] renders a parsed
//! [`IpPacketRepr`] of any kind. Sequence numbers print absolute unless [`RelativeSeq`] bases are
//! given, which is how the analyzer reproduces tcpdump's relative numbering (tcpdump subtracts
//! the initial sequence numbers it saw in the handshake from every later segment that has ACK).
//!
//! Not reproduced: tcpdump's application-layer dissectors (HTTP, DNS, BGP ... on their ports),
//! its `-v` details, and its output for malformed option lengths past the first bad option.

use crate::checksum::ChecksumMode;
use crate::icmpv4::{self, Icmpv4Repr};
use crate::icmpv6::{self, Icmpv6Repr};
use crate::ip::IpProtocol;
use crate::packet::{IpHeader, IpPacketRepr, Transport};
use crate::quoted::QuotedPacket;
use crate::tcp::display::FlagLetters;
use crate::tcp::options::{self, MAX_OPTIONS_LEN, TcpOptionIter};
use crate::tcp::{TcpOption, TcpRepr};
use crate::udp::UdpRepr;
use core::fmt::{self, Display, Formatter, Write};
use core::net::IpAddr;

/// Bases subtracted from sequence and acknowledgment numbers (and SACK blocks, which live in
/// the acknowledgment space) to print them relative, as tcpdump does by default.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct RelativeSeq {
    /// Subtracted from the segment's sequence number.
    pub seq_base: u32,
    /// Subtracted from the acknowledgment number and the SACK block edges.
    pub ack_base: u32,
}

/// One TCP segment as tcpdump prints it:
/// `IP 10.0.0.1.34706 > 10.0.0.2.42181: Flags [S], seq 2930593494, win 64240, options [...],
/// length 0`.
#[derive(Clone, Copy, Debug)]
pub struct TcpDumpLine<'a> {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// The segment.
    pub tcp: &'a TcpRepr<'a>,
    /// Relative-numbering bases, or `None` for absolute numbers (`tcpdump -S`).
    pub relative: Option<RelativeSeq>,
}

impl Display for TcpDumpLine<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_ip_prefix(f, self.src)?;
        write!(f, "{}.{} > {}.{}: ", self.src, self.tcp.src_port, self.dst, self.tcp.dst_port)?;
        write_tcp_body(f, self.tcp, self.relative)
    }
}

fn write_ip_prefix(f: &mut Formatter<'_>, src: IpAddr) -> fmt::Result {
    f.write_str(if src.is_ipv4() { "IP " } else { "IP6 " })
}

/// Writes what follows `addr.port > addr.port: ` for a TCP segment.
fn write_tcp_body(
    f: &mut Formatter<'_>,
    tcp: &TcpRepr<'_>,
    rel: Option<RelativeSeq>,
) -> fmt::Result {
    let rel = rel.unwrap_or_default();
    let len = tcp.payload.len() as u32;
    let fl = tcp.flags;
    write!(f, "Flags [{}]", FlagLetters(fl))?;
    let seq = tcp.seq.0.wrapping_sub(rel.seq_base);
    if len > 0 || fl.syn() || fl.fin() || fl.rst() {
        write!(f, ", seq {seq}")?;
        if len > 0 {
            write!(f, ":{}", seq.wrapping_add(len))?;
        }
    }
    if fl.ack() {
        write!(f, ", ack {}", tcp.ack.0.wrapping_sub(rel.ack_base))?;
    }
    write!(f, ", win {}", tcp.window)?;
    if fl.urg() {
        write!(f, ", urg {}", tcp.urgent)?;
    }
    let mut canonical = [0u8; MAX_OPTIONS_LEN];
    let opt_bytes: &[u8] = match tcp.raw_options {
        Some(raw) => raw,
        None => match options::write(&tcp.options, &mut canonical) {
            Ok(n) => &canonical[..n],
            Err(_) => &[],
        },
    };
    if !opt_bytes.is_empty() {
        f.write_str(", options [")?;
        match write_options(f, opt_bytes, rel.ack_base)? {
            OptionsEnd::Whole => f.write_str("]")?,
            // tcpdump stops the line at a malformed option length, closing the bracket only
            // when an option came before it.
            OptionsEnd::BadFirst => return Ok(()),
            OptionsEnd::BadLater => return f.write_str("]"),
        }
    }
    write!(f, ", length {len}")
}

/// How an option list ended: whole, or at a malformed option that was the first or a later one.
enum OptionsEnd {
    Whole,
    BadFirst,
    BadLater,
}

/// tcpdump's option list (without the brackets).
fn write_options(
    f: &mut Formatter<'_>,
    bytes: &[u8],
    ack_base: u32,
) -> Result<OptionsEnd, fmt::Error> {
    let mut first = true;
    for opt in TcpOptionIter::new(bytes) {
        let at_start = first;
        if !first {
            f.write_char(',')?;
        }
        first = false;
        let opt = match opt {
            Ok(o) => o,
            Err(_) => {
                f.write_str("[bad opt]")?;
                return Ok(if at_start { OptionsEnd::BadFirst } else { OptionsEnd::BadLater });
            }
        };
        match opt {
            TcpOption::EndOfList => f.write_str("eol")?,
            TcpOption::NoOperation => f.write_str("nop")?,
            TcpOption::Mss(v) => write!(f, "mss {v}")?,
            TcpOption::WindowScale(v) => write!(f, "wscale {v}")?,
            TcpOption::SackPermitted => f.write_str("sackOK")?,
            TcpOption::Sack(blocks) => {
                write!(f, "sack {} ", blocks.len())?;
                for b in blocks.as_slice() {
                    write!(
                        f,
                        "{{{}:{}}}",
                        b.left.0.wrapping_sub(ack_base),
                        b.right.0.wrapping_sub(ack_base)
                    )?;
                }
            }
            TcpOption::Timestamps(t) => write!(f, "TS val {} ecr {}", t.tsval, t.tsecr)?,
            TcpOption::FastOpen(c) => {
                // tcpdump writes a separator space and then the cookie text's own space (none
                // after the experimental form's name).
                f.write_str(if c.is_experimental() { "exp-tfo" } else { "tfo " })?;
                write_tfo_cookie(f, c.as_bytes(), c.len())?;
            }
            TcpOption::Unknown { kind, data } => write_unknown_option(f, kind, data)?,
            TcpOption::AccEcn(a) => {
                let mut data = [0u8; 9];
                for (i, v) in a.values().iter().enumerate() {
                    data[3 * i..3 * i + 3].copy_from_slice(&v.to_be_bytes()[1..]);
                }
                write_unknown_option(f, a.kind(), &data[..3 * a.values().len()])?
            }
        }
    }
    Ok(OptionsEnd::Whole)
}

/// A cookie as tcpdump prints it; `len` is its length on the wire (`c` holds at most 16 bytes).
fn write_tfo_cookie(f: &mut Formatter<'_>, c: &[u8], len: usize) -> fmt::Result {
    if len == 0 {
        f.write_str(" cookiereq")
    } else if !len.is_multiple_of(2) || !(4..=16).contains(&len) {
        f.write_str(" (invalid)")
    } else {
        f.write_str(" cookie ")?;
        c.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

fn write_unknown_option(f: &mut Formatter<'_>, kind: u8, data: &[u8]) -> fmt::Result {
    match kind {
        // RFC 2385's signature: tcpdump checks it only with the key (`-M`), and says so.
        19 if data.len() == 16 => {
            f.write_str("md5 shared secret not supplied with -M, can't check - ")?;
            data.iter().try_for_each(|b| write!(f, "{b:02x}"))
        }
        // RFC 1072's echo and echo-reply, and T/TCP's connection counts: a 32-bit value.
        6 | 7 | 11 | 12 | 13 if data.len() >= 4 => {
            let name = match kind {
                6 => "echo",
                7 => "echoreply",
                11 => "cc",
                12 => "ccnew",
                _ => "",
            };
            write!(f, "{name} {}", u32::from_be_bytes([data[0], data[1], data[2], data[3]]))?;
            if data.len() != 4 {
                write!(f, "[len {}]", data.len() + 2)?;
            }
            Ok(())
        }
        // RFC 6994 experimental option carrying the pre-RFC Fast Open cookie (magic 0xf989).
        254 if data.len() >= 2 => {
            f.write_str("exp-")?;
            if data[..2] == [0xf9, 0x89] {
                f.write_str("tfo")?;
                write_tfo_cookie(f, &data[2..], data.len() - 2)
            } else {
                write!(f, "{:02x}{:02x}", data[0], data[1])
            }
        }
        _ => {
            match kind {
                6 => f.write_str("echo")?,
                7 => f.write_str("echoreply")?,
                11 => f.write_str("cc")?,
                12 => f.write_str("ccnew")?,
                13 => {}
                19 => f.write_str("md5")?,
                20 => f.write_str("scps")?,
                28 => f.write_str("uto")?,
                29 => f.write_str("tcp-ao")?,
                30 => f.write_str("mptcp")?,
                254 => f.write_str("exp")?,
                k => write!(f, "unknown-{k}")?,
            }
            if !data.is_empty() {
                f.write_str(" 0x")?;
                data.iter().try_for_each(|b| write!(f, "{b:02x}"))?;
            }
            Ok(())
        }
    }
}

/// A whole IP packet as tcpdump prints it (TCP, UDP, ICMP, ICMPv6, fragments, others).
#[derive(Clone, Copy, Debug)]
pub struct PacketLine<'a> {
    /// The parsed packet.
    pub packet: &'a IpPacketRepr<'a>,
    /// Relative-numbering bases for a TCP segment, or `None` for absolute numbers.
    pub relative: Option<RelativeSeq>,
}

impl Display for PacketLine<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let p = self.packet;
        let (src, dst) = (p.src_addr(), p.dst_addr());
        write_ip_prefix(f, src)?;
        // tcpdump prints `addr.port > addr.port: ` when TCP or UDP directly follows the IP
        // header, and `addr > addr: ` then the extension headers then `port > port: ` when
        // IPv6 extension headers come between.
        let direct = match p.ip {
            IpHeader::V4 { .. } => true,
            IpHeader::V6 { repr, .. } => !repr.next_header.is_ipv6_extension(),
        };
        // Each returns false when tcpdump would stop after the extension headers.
        let ports = |f: &mut Formatter<'_>, sp: u16, dp: u16| -> Result<bool, fmt::Error> {
            if direct {
                write!(f, "{src}.{sp} > {dst}.{dp}: ")?;
            } else {
                write!(f, "{src} > {dst}: ")?;
                if !write_ext_headers(f, p)? {
                    return Ok(false);
                }
                write!(f, "{sp} > {dp}: ")?;
            }
            Ok(true)
        };
        match p.transport {
            Transport::Tcp(ref tcp) => {
                if !ports(f, tcp.src_port, tcp.dst_port)? {
                    return Ok(());
                }
                write_tcp_body(f, tcp, self.relative)
            }
            Transport::Udp(ref udp) => {
                if !ports(f, udp.src_port, udp.dst_port)? {
                    return Ok(());
                }
                write_udp_body(f, udp)
            }
            Transport::Icmpv4(ref icmp) => {
                write!(f, "{src} > {dst}: ")?;
                write_icmpv4(f, icmp)
            }
            Transport::Icmpv6(ref icmp) => {
                write!(f, "{src} > {dst}: ")?;
                if !write_ext_headers(f, p)? {
                    return Ok(());
                }
                write_icmpv6(f, icmp)
            }
            Transport::Fragment { protocol, offset, data, .. } => {
                // A first fragment still starts with the transport header, which tcpdump
                // decodes (without checksum); later fragments print only their place.
                let first = offset == 0;
                if first
                    && protocol == IpProtocol::TCP
                    && let Ok(tcp) = TcpRepr::parse_bytes(data, src, dst, ChecksumMode::Skip)
                {
                    if !ports(f, tcp.src_port, tcp.dst_port)? {
                        return Ok(());
                    }
                    return write_tcp_body(f, &tcp, self.relative);
                }
                if first && protocol == IpProtocol::UDP && data.len() >= 8 {
                    let w = |i: usize| u16::from_be_bytes([data[i], data[i + 1]]);
                    if !ports(f, w(0), w(2))? {
                        return Ok(());
                    }
                    return write!(f, "UDP, length {}", w(4).saturating_sub(8));
                }
                write!(f, "{src} > {dst}: ")?;
                match p.ip {
                    IpHeader::V4 { .. } => write!(f, "ip-proto-{}", protocol.0),
                    IpHeader::V6 { .. } => write_ext_headers(f, p).map(|_| ()),
                }
            }
            Transport::Other { protocol, data } => {
                write!(f, "{src} > {dst}: ")?;
                if !write_ext_headers(f, p)? {
                    return Ok(());
                }
                if protocol == IpProtocol::ESP && data.len() >= 8 {
                    let w = |i: usize| {
                        u32::from_be_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]])
                    };
                    return write!(
                        f,
                        "ESP(spi=0x{:08x},seq=0x{:x}), length {}",
                        w(0),
                        w(4),
                        data.len()
                    );
                }
                // tcpdump leaves an empty protocol-name field before these, hence two spaces.
                if protocol == IpProtocol::ESP {
                    return f.write_str(" [|esp]");
                }
                write!(f, " ip-proto-{} {}", protocol.0, data.len())
            }
        }
    }
}

fn write_udp_body(f: &mut Formatter<'_>, udp: &UdpRepr<'_>) -> fmt::Result {
    write!(f, "UDP, length {}", udp.payload.len())
}

/// tcpdump names the IPv6 extension headers it steps over before the upper layer. Returns
/// false where tcpdump gives up (an unknown or malformed routing header).
fn write_ext_headers(f: &mut Formatter<'_>, p: &IpPacketRepr<'_>) -> Result<bool, fmt::Error> {
    let IpHeader::V6 { repr, ext, .. } = p.ip else {
        return Ok(true);
    };
    let mut next = repr.next_header;
    let mut at = 0usize;
    while next.is_ipv6_extension() && at + 2 <= ext.len() {
        let h = &ext[at..];
        let len = match next {
            IpProtocol::IPV6_FRAG => 8,
            IpProtocol::AH => (h[1] as usize + 2) * 4,
            _ => (h[1] as usize + 1) * 8,
        };
        match next {
            IpProtocol::HOP_BY_HOP => f.write_str("HBH ")?,
            IpProtocol::IPV6_OPTS => f.write_str("DSTOPT ")?,
            IpProtocol::IPV6_FRAG if h.len() >= 8 => {
                let off = u16::from_be_bytes([h[2], h[3]]) & 0xfff8;
                let frag_len = repr.payload_len.saturating_sub(at + 8);
                // A first fragment goes on to its transport header, after a space.
                write!(f, "frag ({off}|{frag_len}){}", if off == 0 { " " } else { "" })?;
            }
            IpProtocol::IPV6_ROUTE if !write_routing_header(f, &h[..len.min(h.len())])? => {
                return Ok(false);
            }
            IpProtocol::AH if h.len() >= 12 => {
                let w = |i: usize| u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
                write!(f, "AH(spi=0x{:08x},seq=0x{:x},icv=0x", w(4), w(8))?;
                // The ICV is what the header's length leaves after 12 bytes (none when the
                // length field claims less).
                let icv = h.get(12..len.min(h.len())).unwrap_or_default();
                icv.iter().try_for_each(|b| write!(f, "{b:02x}"))?;
                f.write_str("): ")?;
            }
            _ => {}
        }
        next = IpProtocol(h[0]);
        at += len;
    }
    Ok(true)
}

/// tcpdump's `RT6 (...)` for a routing header: types 0 and 2 list their addresses, type 4
/// (segment routing, RFC 8754) its last entry, flags, tag and segments; others are invalid.
fn write_routing_header(f: &mut Formatter<'_>, h: &[u8]) -> Result<bool, fmt::Error> {
    let (hlen, typ, segleft) =
        (h[1], h.get(2).copied().unwrap_or(0), h.get(3).copied().unwrap_or(0));
    write!(f, "RT6 (len={hlen}, type={typ}")?;
    if typ == 0 {
        f.write_str(" [Deprecated]")?;
    }
    write!(f, ", segleft={segleft}")?;
    let addrs = |f: &mut Formatter<'_>, n: usize| -> Result<bool, fmt::Error> {
        for i in 0..n {
            let Some(a) = h.get(8 + 16 * i..24 + 16 * i) else {
                return Ok(false);
            };
            let mut o = [0u8; 16];
            o.copy_from_slice(a);
            write!(f, ", [{i}]{}", core::net::Ipv6Addr::from(o))?;
        }
        Ok(true)
    };
    let ok = match typ {
        0 | 2 if hlen % 2 == 0 => addrs(f, hlen as usize / 2)?,
        4 if h.len() >= 8 => {
            write!(f, ", last-entry={}", h[4])?;
            if h[5] != 0 {
                write!(f, ", flags=0x{:x}", h[5])?;
            }
            write!(f, ", tag={:x}", u16::from_be_bytes([h[6], h[7]]))?;
            addrs(f, h[4] as usize + 1)?
        }
        0 | 2 | 4 => false,
        _ => {
            f.write_str(" (unknown type)")?;
            false
        }
    };
    if ok {
        f.write_str(") ")?;
    } else {
        f.write_str(" (invalid)")?;
    }
    Ok(ok)
}

fn quoted_dst(q: Option<crate::error::Result<QuotedPacket<'_>>>) -> Option<QuotedPacket<'_>> {
    q.and_then(|r| r.ok())
}

fn write_icmpv4(f: &mut Formatter<'_>, icmp: &Icmpv4Repr<'_>) -> fmt::Result {
    f.write_str("ICMP ")?;
    let q = quoted_dst(icmp.quoted());
    match *icmp {
        Icmpv4Repr::EchoRequest { ident, seq_no, .. } => {
            write!(f, "echo request, id {ident}, seq {seq_no}")?
        }
        Icmpv4Repr::EchoReply { ident, seq_no, .. } => {
            write!(f, "echo reply, id {ident}, seq {seq_no}")?
        }
        Icmpv4Repr::DstUnreachable { code, next_hop_mtu, .. } => {
            let Some(q) = q else { return f.write_str("[|icmp]") };
            let d = q.dst;
            match code {
                icmpv4::unreach::PROTOCOL => {
                    write!(f, "{d} protocol {} unreachable", q.protocol.0)?
                }
                icmpv4::unreach::PORT => match (q.protocol, q.ports()) {
                    (IpProtocol::TCP, Some((_, p))) => write!(f, "{d} tcp port {p} unreachable")?,
                    (IpProtocol::UDP, Some((_, p))) => write!(f, "{d} udp port {p} unreachable")?,
                    _ => {
                        let p = q
                            .transport
                            .get(2..4)
                            .map(|b| u16::from_be_bytes([b[0], b[1]]))
                            .unwrap_or(0);
                        write!(f, "{d} protocol {} port {p} unreachable", q.protocol.0)?
                    }
                },
                icmpv4::unreach::FRAG_NEEDED if next_hop_mtu != 0 => {
                    write!(f, "{d} unreachable - need to frag (mtu {next_hop_mtu})")?
                }
                icmpv4::unreach::FRAG_NEEDED => write!(f, "{d} unreachable - need to frag")?,
                c => {
                    let text = match c {
                        0 => "net {} unreachable",
                        1 => "host {} unreachable",
                        5 => "{} unreachable - source route failed",
                        6 => "net {} unreachable - unknown",
                        7 => "host {} unreachable - unknown",
                        8 => "{} unreachable - source host isolated",
                        9 => "net {} unreachable - admin prohibited",
                        10 => "host {} unreachable - admin prohibited",
                        11 => "net {} unreachable - tos prohibited",
                        12 => "host {} unreachable - tos prohibited",
                        13 => "host {} unreachable - admin prohibited filter",
                        14 => "host {} unreachable - host precedence violation",
                        15 => "host {} unreachable - precedence cutoff",
                        _ => "",
                    };
                    if text.is_empty() {
                        write!(f, "#{c} {d} unreachable")?
                    } else {
                        let (a, b) = text.split_once("{}").unwrap_or((text, ""));
                        write!(f, "{a}{d}{b}")?
                    }
                }
            }
        }
        Icmpv4Repr::SourceQuench { .. } => f.write_str("source quench")?,
        Icmpv4Repr::TimeExceeded { code, .. } => match code {
            0 => f.write_str("time exceeded in-transit")?,
            1 => f.write_str("ip reassembly time exceeded")?,
            c => write!(f, "time exceeded-#{c}")?,
        },
        Icmpv4Repr::ParamProblem { code, pointer, .. } => {
            if code != 0 {
                write!(f, "parameter problem - code {code}")?
            } else {
                write!(f, "parameter problem - octet {pointer}")?
            }
        }
        Icmpv4Repr::Other { msg_type, code, rest, .. } => {
            let id = u16::from_be_bytes([rest[0], rest[1]]);
            let sq = u16::from_be_bytes([rest[2], rest[3]]);
            match msg_type {
                0 => write!(f, "echo reply, id {id}, seq {sq}")?,
                8 => write!(f, "echo request, id {id}, seq {sq}")?,
                4 => f.write_str("source quench")?,
                10 => f.write_str("router solicitation")?,
                13 => write!(f, "time stamp query id {id} seq {sq}")?,
                15 => f.write_str("information request")?,
                16 => f.write_str("information reply")?,
                17 => f.write_str("address mask request")?,
                t => {
                    let _ = code;
                    write!(f, "type-#{t}")?
                }
            }
        }
    }
    write!(f, ", length {}", icmp.buffer_len())
}

fn write_icmpv6(f: &mut Formatter<'_>, icmp: &Icmpv6Repr<'_>) -> fmt::Result {
    f.write_str("ICMP6, ")?;
    let q = quoted_dst(icmp.quoted());
    match *icmp {
        Icmpv6Repr::EchoRequest { ident, seq_no, .. } => {
            write!(f, "echo request, id {ident}, seq {seq_no}")?
        }
        Icmpv6Repr::EchoReply { ident, seq_no, .. } => {
            write!(f, "echo reply, id {ident}, seq {seq_no}")?
        }
        Icmpv6Repr::DstUnreachable { code, .. } => {
            f.write_str("destination unreachable, ")?;
            match (code, q) {
                (icmpv6::unreach::NO_ROUTE, Some(q)) => write!(f, "unreachable route {}", q.dst)?,
                // tcpdump 4.99 prints this one with a doubled space.
                (icmpv6::unreach::ADMIN_PROHIBITED, Some(q)) => {
                    write!(f, " unreachable prohibited {}", q.dst)?
                }
                (icmpv6::unreach::BEYOND_SCOPE, Some(q)) => {
                    write!(f, "beyond scope {}, source address {}", q.dst, q.src)?
                }
                (icmpv6::unreach::ADDRESS, Some(q)) => write!(f, "unreachable address {}", q.dst)?,
                (icmpv6::unreach::PORT, Some(q)) => {
                    f.write_str("unreachable port")?;
                    match (q.protocol, q.ports()) {
                        (IpProtocol::TCP, Some((_, p))) => write!(f, ", {} tcp port {p}", q.dst)?,
                        (IpProtocol::UDP, Some((_, p))) => write!(f, ", {} udp port {p}", q.dst)?,
                        _ => {}
                    }
                }
                (c, _) => write!(f, "unknown code ({c})")?,
            }
        }
        Icmpv6Repr::PacketTooBig { mtu, .. } => write!(f, "packet too big, mtu {mtu}")?,
        Icmpv6Repr::TimeExceeded { code, .. } => match (code, q) {
            (0, Some(q)) => write!(f, "time exceeded in-transit for {}", q.dst)?,
            (0, None) => f.write_str("time exceeded in-transit")?,
            (1, _) => f.write_str("time exceeded in-transit (reassembly)")?,
            (c, _) => write!(f, "time exceeded: unknown code ({c})")?,
        },
        Icmpv6Repr::ParamProblem { code, pointer, .. } => match code {
            0 => write!(f, "parameter problem, erroneous - octet {pointer}")?,
            1 => write!(f, "parameter problem, next header - octet {pointer}")?,
            2 => write!(f, "parameter problem, option - octet {pointer}")?,
            c => write!(f, "parameter problem, code-#{c}")?,
        },
        Icmpv6Repr::RouterSolicit { .. } => f.write_str("router solicitation")?,
        Icmpv6Repr::NeighborSolicit { target, .. } => {
            write!(f, "neighbor solicitation, who has {target}")?
        }
        Icmpv6Repr::NeighborAdvert { target, .. } => {
            write!(f, "neighbor advertisement, tgt is {target}")?
        }
        Icmpv6Repr::Other { msg_type, rest, .. } => match msg_type {
            icmpv6::msg_type::ROUTER_ADVERT => f.write_str("router advertisement")?,
            icmpv6::msg_type::MLDV2_REPORT => write!(
                f,
                "multicast listener report v2, {} group record(s)",
                u16::from_be_bytes([rest[2], rest[3]])
            )?,
            130 => f.write_str("multicast listener query")?,
            131 => f.write_str("multicast listener report")?,
            132 => f.write_str("multicast listener done")?,
            137 => f.write_str("redirect")?,
            t => write!(f, "type-#{t}")?,
        },
    }
    write!(f, ", length {}", icmp.buffer_len())
}

/// An ARP packet as tcpdump prints it (`ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length
/// 28`); `length` is the ARP payload length as captured (28 plus any Ethernet padding).
#[derive(Clone, Copy, Debug)]
pub struct ArpLine<'a> {
    /// The parsed packet.
    pub arp: &'a crate::arp::ArpRepr,
    /// Bytes after the Ethernet header.
    pub len: usize,
}

impl Display for ArpLine<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        use crate::arp::ArpOperation;
        let a = self.arp;
        f.write_str("ARP, ")?;
        match a.operation {
            ArpOperation::Request => {
                write!(f, "Request who-has {}", a.target_protocol_addr)?;
                if a.target_hardware_addr.0 != [0; 6] {
                    write!(f, " ({})", a.target_hardware_addr)?;
                }
                write!(f, " tell {}", a.source_protocol_addr)?;
            }
            ArpOperation::Reply => {
                write!(f, "Reply {} is-at {}", a.source_protocol_addr, a.source_hardware_addr)?
            }
            // RARP (RFC 903) and InARP (RFC 2390) reuse the packet format.
            ArpOperation::Other(3) => write!(
                f,
                "Reverse Request who-is {} tell {}",
                a.target_hardware_addr, a.source_hardware_addr
            )?,
            ArpOperation::Other(4) => {
                write!(f, "Reverse Reply {} at {}", a.target_hardware_addr, a.target_protocol_addr)?
            }
            ArpOperation::Other(8) => write!(
                f,
                "Inverse Request who-is {} tell {}",
                a.target_hardware_addr, a.source_hardware_addr
            )?,
            ArpOperation::Other(9) => {
                write!(f, "Inverse Reply {} at {}", a.source_hardware_addr, a.source_protocol_addr)?
            }
            // tcpdump follows this with a hex dump on further lines; we keep to one line.
            ArpOperation::Other(n) => return write!(f, "Unknown ({n}) "),
        }
        write!(f, ", length {}", self.len)
    }
}

/// tcpdump's relative-sequence bookkeeping (print-tcp.c), for printing a capture's TCP lines the
/// way `tcpdump -nn` does: a connection's bases come from the first segment with ACK seen for it
/// (or any later one with SYN), which itself prints absolute; every later segment with ACK, in
/// either direction, prints relative to them; segments without ACK print absolute.
#[cfg(feature = "std")]
#[derive(Default, Debug)]
pub struct SeqTracker {
    conns: std::collections::HashMap<(IpAddr, IpAddr, u32), (u32, u32)>,
}

#[cfg(feature = "std")]
impl SeqTracker {
    /// A tracker with no connections.
    pub fn new() -> Self {
        Self::default()
    }

    /// The bases to print `tcp` (sent from `src` to `dst`) with, updating the state.
    pub fn relative(&mut self, src: IpAddr, dst: IpAddr, tcp: &TcpRepr<'_>) -> Option<RelativeSeq> {
        if !tcp.flags.ack() {
            return None;
        }
        let (sport, dport) = (tcp.src_port, tcp.dst_port);
        // tcpdump orders the pair by port, then by address bytes, and remembers the direction.
        let rev = sport > dport || (sport == dport && addr_bytes(src) > addr_bytes(dst));
        let key = if rev {
            (dst, src, ((dport as u32) << 16) | sport as u32)
        } else {
            (src, dst, ((sport as u32) << 16) | dport as u32)
        };
        let (seq, ack) = (tcp.seq.0, tcp.ack.0);
        match self.conns.get(&key) {
            Some(&(th_seq, th_ack)) if !tcp.flags.syn() => Some(if rev {
                RelativeSeq { seq_base: th_ack, ack_base: th_seq }
            } else {
                RelativeSeq { seq_base: th_seq, ack_base: th_ack }
            }),
            _ => {
                let state =
                    if rev { (ack.wrapping_sub(1), seq) } else { (seq, ack.wrapping_sub(1)) };
                self.conns.insert(key, state);
                None
            }
        }
    }

    /// The bases for a parsed packet (`None` unless it is TCP).
    pub fn relative_for(&mut self, packet: &IpPacketRepr<'_>) -> Option<RelativeSeq> {
        match packet.transport {
            Transport::Tcp(ref tcp) => self.relative(packet.src_addr(), packet.dst_addr(), tcp),
            _ => None,
        }
    }
}

#[cfg(feature = "std")]
fn addr_bytes(a: IpAddr) -> std::vec::Vec<u8> {
    match a {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}
