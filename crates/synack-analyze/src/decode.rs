//! From a captured frame to the layers synack looks at: link, IPv4/IPv6, TCP (and the bare
//! identity of UDP, ICMP and ARP packets, enough to print and filter them).
//!
//! Every header is read through `synack-wire`'s checked views (Ethernet-less link headers are
//! located by [`crate::link`]); this module only gathers the facts the analyzer, the filters and
//! the field printer need. A frame that does not parse keeps the reason, so `dump` can print it
//! and go on.

use crate::link::{self, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6};
use core::net::{IpAddr, Ipv4Addr};
use synack_wire::tcp::options::TcpOptionIter;
use synack_wire::tcp::{TcpFlags, TcpOption};
use synack_wire::{Ipv4Packet, Ipv6Packet, TcpPacket};

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
    /// Payload bytes (by the IP length, which the checked views guarantee were captured).
    pub payload_len: u32,
    /// The option bytes, in wire order.
    pub options: &'a [u8],
    /// The payload.
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

fn transport<'a>(
    proto: u8,
    body: &'a [u8],
    first: bool,
) -> (Transport<'a>, Option<synack_wire::Error>) {
    if !first {
        return (Transport::Other, None);
    }
    match proto {
        6 => match TcpPacket::new_checked(body) {
            Ok(t) => {
                let hl = t.header_len();
                let info = TcpInfo {
                    src_port: t.src_port(),
                    dst_port: t.dst_port(),
                    seq: t.seq_number().0,
                    ack: t.ack_number().0,
                    flags: t.flags(),
                    window: t.window_len(),
                    urgent: t.urgent_pointer(),
                    header_len: hl,
                    payload_len: (body.len() - hl) as u32,
                    options: &body[20..hl],
                    payload: &body[hl..],
                };
                (Transport::Tcp(info), None)
            }
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

/// Decodes one frame of the given link type.
pub fn decode(linktype: u32, data: &[u8]) -> Decoded<'_> {
    let mut d = Decoded {
        ethertype: None,
        ip: None,
        arp: None,
        transport: Transport::Other,
        error: None,
        wire_error: None,
        l3: &[],
    };
    let Some(net) = link::net_layer(linktype, data) else {
        d.error = Some("link header");
        return d;
    };
    d.ethertype = Some(net.ethertype);
    let l3 = &data[net.offset.min(data.len())..];
    d.l3 = l3;
    match net.ethertype {
        ETHERTYPE_IPV4 => match Ipv4Packet::new_checked(l3) {
            Ok(p) => {
                let first = p.frag_offset() == 0;
                d.ip = Some(IpInfo {
                    version: 4,
                    src: p.src_addr().into(),
                    dst: p.dst_addr().into(),
                    protocol: p.protocol().0,
                    ttl: p.ttl(),
                    ident: p.ident(),
                    total_len: usize::from(p.total_len()),
                    later_fragment: !first,
                    quoted: None,
                });
                let payload = &l3[p.header_len()..usize::from(p.total_len())];
                let (t, e) = transport(p.protocol().0, payload, first && !p.more_frags());
                d.transport = t;
                d.wire_error = e;
            }
            Err(e) => d.wire_error = Some(e),
        },
        ETHERTYPE_IPV6 => match Ipv6Packet::new_checked(l3) {
            Ok(p) => {
                let (proto, off, first) = match p.upper_layer() {
                    Ok(u) => (
                        u.protocol.0,
                        u.offset,
                        u.fragment.is_none_or(|f| f.offset == 0 && !f.more_frags),
                    ),
                    Err(e) => {
                        d.wire_error = Some(e);
                        (p.next_header().0, 0, false)
                    }
                };
                d.ip = Some(IpInfo {
                    version: 6,
                    src: p.src_addr().into(),
                    dst: p.dst_addr().into(),
                    protocol: proto,
                    ttl: p.hop_limit(),
                    ident: 0,
                    total_len: 40 + usize::from(p.payload_len()),
                    later_fragment: !first,
                    quoted: None,
                });
                if d.wire_error.is_none() {
                    let body = &l3[(40 + off).min(40 + usize::from(p.payload_len()))
                        ..40 + usize::from(p.payload_len())];
                    let (t, e) = transport(proto, body, first);
                    d.transport = t;
                    d.wire_error = e;
                }
            }
            Err(e) => d.wire_error = Some(e),
        },
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
