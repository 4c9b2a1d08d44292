//! From a captured frame to the layers synack looks at: link, IPv4/IPv6, TCP (and the bare
//! identity of UDP, ICMP and ARP packets, enough to print and filter them).
//!
//! Every header is read through `synack-wire`'s checked views (Ethernet-less link headers are
//! located by [`crate::link`]); this module only gathers the facts the analyzer, the filters and
//! the field printer need. A frame that does not parse keeps the reason, so `dump` can print it
//! and go on.

use crate::link::{self, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6};
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use synack_wire::tcp::options::TcpOptionIter;
use synack_wire::tcp::{TcpFlags, TcpOption};

/// The network layer of a decoded packet.
#[derive(Clone, Copy, Debug)]
pub struct IpInfo {
    /// 4 or 6.
    pub version: u8,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Upper-layer protocol number (after IPv6 extension headers).
    pub protocol: u8,
    /// TTL / hop limit.
    pub ttl: u8,
    /// IPv4 identification (0 for IPv6).
    pub ident: u16,
    /// IPv4 total length or IPv6 payload length plus 40.
    pub total_len: usize,
    /// True for an IPv4 fragment other than the first, or an IPv6 non-first fragment.
    pub later_fragment: bool,
    /// For an ICMP error: the source and destination of the packet it quotes (tshark lists
    /// them as second values of `ip.src`/`ip.dst` or `ipv6.src`/`ipv6.dst`).
    pub quoted: Option<(IpAddr, IpAddr)>,
    /// For a packet that arrived through a tunnel (IP-in-IP, GRE): the outer source and
    /// destination (tshark lists them first in `ip.src`/`ip.dst`).
    pub outer: Option<(IpAddr, IpAddr)>,
}

/// A TCP header as the analyzer needs it.
#[derive(Clone, Copy, Debug)]
pub struct TcpInfo<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Raw sequence number.
    pub seq: u32,
    /// Raw acknowledgment number.
    pub ack: u32,
    /// Control bits.
    pub flags: TcpFlags,
    /// Window field, unscaled.
    pub window: u16,
    /// Urgent pointer.
    pub urgent: u16,
    /// Header length in bytes.
    pub header_len: usize,
    /// Payload length by the IP length (the capture may hold fewer bytes, see `payload`).
    pub payload_len: u32,
    /// True when the segment is the start of an IPv4 datagram whose other fragments were not
    /// reassembled: tshark shows its header but not its length or sequence analysis.
    pub in_fragment: bool,
    /// The option bytes, in wire order.
    pub options: &'a [u8],
    /// The payload bytes that were captured.
    pub payload: &'a [u8],
}

impl TcpInfo<'_> {
    /// Iterates the options in wire order.
    pub fn option_iter(&self) -> TcpOptionIter<'_> {
        TcpOptionIter::new(self.options)
    }
    /// Sequence space used: payload plus SYN plus FIN.
    pub fn seg_len(&self) -> u32 {
        self.payload_len + u32::from(self.flags.syn()) + u32::from(self.flags.fin())
    }
    /// The MSS option value.
    pub fn mss(&self) -> Option<u16> {
        self.option_iter().find_map(|o| match o {
            Ok(TcpOption::Mss(v)) => Some(v),
            _ => None,
        })
    }
    /// The window-scale shift.
    pub fn wscale(&self) -> Option<u8> {
        self.option_iter().find_map(|o| match o {
            Ok(TcpOption::WindowScale(v)) => Some(v),
            _ => None,
        })
    }
    /// SACK permitted present.
    pub fn sack_permitted(&self) -> bool {
        self.option_iter().any(|o| matches!(o, Ok(TcpOption::SackPermitted)))
    }
    /// Timestamps option.
    pub fn timestamps(&self) -> Option<synack_wire::tcp::Timestamps> {
        self.option_iter().find_map(|o| match o {
            Ok(TcpOption::Timestamps(t)) => Some(t),
            _ => None,
        })
    }
    /// SACK blocks.
    pub fn sack(&self) -> Option<synack_wire::tcp::SackBlocks> {
        self.option_iter().find_map(|o| match o {
            Ok(TcpOption::Sack(s)) => Some(s),
            _ => None,
        })
    }
}

/// The transport layer of a decoded packet.
#[derive(Clone, Copy, Debug)]
pub enum Transport<'a> {
    /// TCP.
    Tcp(TcpInfo<'a>),
    /// UDP: ports and the UDP length field.
    Udp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
        /// UDP length field.
        len: u16,
    },
    /// ICMP or ICMPv6: type and code.
    Icmp {
        /// ICMP type.
        kind: u8,
        /// ICMP code.
        code: u8,
        /// Bytes after type and code (checksum and body).
        body: &'a [u8],
    },
    /// Some other or unparsable transport.
    Other,
}

/// An ARP packet (Ethernet/IPv4 flavour).
#[derive(Clone, Copy, Debug)]
pub struct ArpInfo {
    /// 1 request, 2 reply.
    pub op: u16,
    /// Sender protocol address.
    pub sender: Ipv4Addr,
    /// Target protocol address.
    pub target: Ipv4Addr,
}

/// A decoded frame.
#[derive(Clone, Copy, Debug)]
pub struct Decoded<'a> {
    /// EtherType of the network layer, when the link layer was understood.
    pub ethertype: Option<u16>,
    /// IP header facts.
    pub ip: Option<IpInfo>,
    /// ARP facts.
    pub arp: Option<ArpInfo>,
    /// Transport layer.
    pub transport: Transport<'a>,
    /// Set when decoding stopped early.
    pub error: Option<&'static str>,
    /// The wire error, when a header was malformed.
    pub wire_error: Option<synack_wire::Error>,
    /// The network-layer bytes (from the IP or ARP header to the end of the frame).
    pub l3: &'a [u8],
    /// Where the network layer starts in the frame.
    pub l3_offset: usize,
    /// How the network layer was reached.
    pub link: Option<link::NetLayer>,
    /// The whole captured frame.
    pub frame: &'a [u8],
}

impl<'a> Decoded<'a> {
    /// The TCP layer, if any.
    pub fn tcp(&self) -> Option<&TcpInfo<'a>> {
        match &self.transport {
            Transport::Tcp(t) => Some(t),
            _ => None,
        }
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2).map(|x| u16::from_be_bytes([x[0], x[1]]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4).map(|x| u32::from_be_bytes([x[0], x[1], x[2], x[3]]))
}

fn truncated(layer: synack_wire::Layer) -> synack_wire::Error {
    synack_wire::Error::Truncated { layer }
}

/// A TCP header read as far as it was captured: the fixed 20 bytes must be there; options and
/// payload may be cut short by the capture. `len` is the TCP length the IP layer gives.
fn tcp_info(t: &[u8], len: usize) -> Result<TcpInfo<'_>, synack_wire::Error> {
    if t.len() < 20 || len < 20 {
        return Err(truncated(synack_wire::Layer::Tcp));
    }
    let hl = usize::from(t[12] >> 4) * 4;
    if hl < 20 || hl > len {
        return Err(synack_wire::Error::BadHeaderLen { layer: synack_wire::Layer::Tcp, len: hl });
    }
    let flags = TcpFlags(u16::from_be_bytes([t[12], t[13]]) & 0x0fff);
    Ok(TcpInfo {
        src_port: be16(t, 0).unwrap_or(0),
        dst_port: be16(t, 2).unwrap_or(0),
        seq: be32(t, 4).unwrap_or(0),
        ack: be32(t, 8).unwrap_or(0),
        flags,
        window: be16(t, 14).unwrap_or(0),
        urgent: be16(t, 18).unwrap_or(0),
        header_len: hl,
        payload_len: (len - hl) as u32,
        in_fragment: false,
        options: &t[20..hl.min(t.len())],
        payload: &t[hl.min(t.len())..],
    })
}

fn transport<'a>(
    proto: u8,
    body: &'a [u8],
    len: usize,
    first: bool,
) -> (Transport<'a>, Option<synack_wire::Error>) {
    if !first {
        return (Transport::Other, None);
    }
    match proto {
        6 => match tcp_info(body, len) {
            Ok(info) => (Transport::Tcp(info), None),
            Err(e) => (Transport::Other, Some(e)),
        },
        17 => match synack_wire::UdpPacket::new_checked(body) {
            Ok(u) => (
                Transport::Udp { src_port: u.src_port(), dst_port: u.dst_port(), len: u.len() },
                None,
            ),
            Err(e) => (Transport::Other, Some(e)),
        },
        1 => match synack_wire::Icmpv4Packet::new_checked(body) {
            Ok(i) => {
                (Transport::Icmp { kind: i.msg_type(), code: i.code(), body: &body[2..] }, None)
            }
            Err(e) => (Transport::Other, Some(e)),
        },
        58 => match synack_wire::Icmpv6Packet::new_checked(body) {
            Ok(i) => {
                (Transport::Icmp { kind: i.msg_type(), code: i.code(), body: &body[2..] }, None)
            }
            Err(e) => (Transport::Other, Some(e)),
        },
        _ => (Transport::Other, None),
    }
}

/// The payload of a tunnel (IP-in-IP, or GRE version 0 without routing) that carries IP.
fn tunnel_payload(proto: u8, body: &[u8]) -> Option<(usize, &[u8])> {
    match proto {
        4 | 41 => Some((0, body)),
        47 => {
            let flags = be16(body, 0)?;
            let inner = be16(body, 2)?;
            if flags & 0x4007 != 0 || (inner != 0x0800 && inner != 0x86dd) {
                return None;
            }
            let at = 4
                + if flags & 0x8000 != 0 { 4 } else { 0 }
                + if flags & 0x2000 != 0 { 4 } else { 0 }
                + if flags & 0x1000 != 0 { 4 } else { 0 };
            Some((at, body.get(at..)?))
        }
        _ => None,
    }
}

/// (protocol, offset from the end of the fixed header, fragment (offset, more), jumbo length).
type Ipv6Upper = (u8, usize, Option<(u16, bool)>, Option<u32>);

/// IPv6 extension headers before the upper layer: (protocol, offset from the end of the fixed
/// header, fragment (offset, more) if any, jumbo payload length if any).
fn ipv6_upper(l3: &[u8], first_nh: u8) -> Result<Ipv6Upper, synack_wire::Error> {
    let mut nh = first_nh;
    let mut at = 40usize;
    let mut frag = None;
    let mut jumbo = None;
    let bad = || truncated(synack_wire::Layer::Ipv6Ext);
    loop {
        match nh {
            0 | 43 | 60 => {
                let h = l3.get(at..at + 2).ok_or_else(bad)?;
                let len = (usize::from(h[1]) + 1) * 8;
                let body = l3.get(at..at + len).ok_or_else(bad)?;
                if nh == 0 {
                    jumbo = jumbo_option(&body[2..]);
                }
                nh = h[0];
                at += len;
            }
            44 => {
                let h = l3.get(at..at + 8).ok_or_else(bad)?;
                let off = u16::from_be_bytes([h[2], h[3]]);
                frag = Some((off >> 3, off & 1 == 1));
                nh = h[0];
                at += 8;
            }
            51 => {
                let h = l3.get(at..at + 2).ok_or_else(bad)?;
                nh = h[0];
                at += (usize::from(h[1]) + 2) * 4;
            }
            _ => return Ok((nh, at - 40, frag, jumbo)),
        }
    }
}

/// The Jumbo Payload option (RFC 2675) among hop-by-hop options.
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

/// Decodes an IPv4 or IPv6 packet (captured bytes `l3`, `wire_len` bytes on the wire) into `d`,
/// through at most `depth` tunnels.
fn decode_ip<'a>(d: &mut Decoded<'a>, version: u8, l3: &'a [u8], wire_len: usize, depth: u8) {
    let (src, dst, proto, ttl, ident, total, hl, frag_off, more) = if version == 4 {
        if l3.len() < 20 {
            d.wire_error = Some(truncated(synack_wire::Layer::Ipv4));
            return;
        }
        let hl = usize::from(l3[0] & 0x0f) * 4;
        let claimed = usize::from(be16(l3, 2).unwrap_or(0));
        // A total length of 0 is what a TCP segmentation offload send looks like when captured
        // before the NIC splits it: the frame's length is the packet's, as tshark takes it.
        let total = if claimed == 0 { wire_len } else { claimed };
        if hl < 20 || total < hl || l3.len() < hl {
            d.wire_error =
                Some(synack_wire::Error::BadHeaderLen { layer: synack_wire::Layer::Ipv4, len: hl });
            return;
        }
        let frag = be16(l3, 6).unwrap_or(0);
        let s = IpAddr::V4(Ipv4Addr::new(l3[12], l3[13], l3[14], l3[15]));
        let t = IpAddr::V4(Ipv4Addr::new(l3[16], l3[17], l3[18], l3[19]));
        (s, t, l3[9], l3[8], be16(l3, 4).unwrap_or(0), total, hl, frag & 0x1fff, frag & 0x2000 != 0)
    } else {
        if l3.len() < 40 {
            d.wire_error = Some(truncated(synack_wire::Layer::Ipv6));
            return;
        }
        let mut a = [0u8; 16];
        a.copy_from_slice(&l3[8..24]);
        let s = IpAddr::V6(Ipv6Addr::from(a));
        a.copy_from_slice(&l3[24..40]);
        let t = IpAddr::V6(Ipv6Addr::from(a));
        let plen = usize::from(be16(l3, 4).unwrap_or(0));
        match ipv6_upper(l3, l3[6]) {
            Ok((proto, off, frag, jumbo)) => {
                let total = match (plen, jumbo) {
                    (0, Some(j)) => 40 + j as usize,
                    _ => 40 + plen,
                };
                let (fo, mf) = frag.unwrap_or((0, false));
                if total < 40 + off {
                    d.wire_error = Some(truncated(synack_wire::Layer::Ipv6Ext));
                    (s, t, proto, l3[7], 0, 40, 40, 1, false)
                } else {
                    (s, t, proto, l3[7], 0, total, 40 + off, fo, mf)
                }
            }
            Err(e) => {
                d.wire_error = Some(e);
                (s, t, l3[6], l3[7], 0, 40, 40, 1, false)
            }
        }
    };
    let first = frag_off == 0;
    let outer = d.ip.map(|o| (o.src, o.dst));
    d.ip = Some(IpInfo {
        version,
        src,
        dst,
        protocol: proto,
        ttl,
        ident,
        total_len: total,
        later_fragment: !first,
        quoted: None,
        outer,
    });
    if d.wire_error.is_some() {
        return;
    }
    // A first fragment is reassembled only when it was captured whole; otherwise tshark
    // dissects what it has, as if it were not fragmented.
    let whole = first && (!more || l3.len() < total);
    // The IP layer's length, cut to what was on the wire (tshark's reported length).
    let total = total.min(wire_len.max(l3.len()).max(hl));
    let body = &l3[hl.min(l3.len())..total.min(l3.len())];
    if whole
        && depth > 0
        && let Some((at, inner)) = tunnel_payload(proto, body)
        && let Some(v) = inner.first().map(|b| b >> 4).filter(|v| *v == 4 || *v == 6)
    {
        d.l3 = inner;
        decode_ip(d, v, inner, (total - hl).saturating_sub(at), depth - 1);
        return;
    }
    let (mut t, e) = transport(proto, body, total - hl, whole);
    if let Transport::Tcp(info) = &mut t {
        info.in_fragment = more;
    }
    d.transport = t;
    d.wire_error = e;
}

/// Decodes one frame of the given link type.
pub fn decode(linktype: u32, data: &[u8]) -> Decoded<'_> {
    decode_wire(linktype, data, data.len())
}

/// Decodes one frame of the given link type that was `wire_len` bytes long on the wire.
pub fn decode_wire(linktype: u32, data: &[u8], wire_len: usize) -> Decoded<'_> {
    let mut d = Decoded {
        ethertype: None,
        ip: None,
        arp: None,
        transport: Transport::Other,
        error: None,
        wire_error: None,
        l3: &[],
        l3_offset: 0,
        link: None,
        frame: data,
    };
    let Some(net) = link::net_layer(linktype, data) else {
        d.error = Some("link header");
        return d;
    };
    d.ethertype = Some(net.ethertype);
    let l3 = &data[net.offset.min(data.len())..];
    d.l3 = l3;
    d.l3_offset = net.offset.min(data.len());
    d.link = Some(net);
    let l3_wire = wire_len.max(data.len()).saturating_sub(d.l3_offset);
    match net.ethertype {
        ETHERTYPE_IPV4 => decode_ip(&mut d, 4, l3, l3_wire, 2),
        ETHERTYPE_IPV6 => decode_ip(&mut d, 6, l3, l3_wire, 2),
        ETHERTYPE_ARP => {
            if let Ok(a) = synack_wire::ArpPacket::new_checked(l3) {
                d.arp = Some(ArpInfo {
                    op: a.operation().code(),
                    sender: a.source_protocol_addr(),
                    target: a.target_protocol_addr(),
                });
            }
        }
        _ => {}
    }
    d.l3 = l3;
    // ICMP errors quote the packet they are about.
    if let (Some(ip), Transport::Icmp { kind, body, .. }) = (d.ip.as_mut(), d.transport)
        && body.len() > 6
    {
        let q = &body[6..];
        let quoted = match (ip.version, kind) {
            (4, 3 | 4 | 5 | 11 | 12) => synack_wire::QuotedPacket::parse_ipv4(q).ok(),
            (6, 1..=4) => synack_wire::QuotedPacket::parse_ipv6(q).ok(),
            _ => None,
        };
        ip.quoted = quoted.map(|p| (p.src, p.dst));
    }
    d
}
