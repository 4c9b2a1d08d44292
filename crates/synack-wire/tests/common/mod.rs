//! Helpers shared by the wire tests: reading the golden captures, rebuilding frames from their
//! parsed representations, and tcpdump's relative-sequence bookkeeping.
#![allow(dead_code, unreachable_pub)]

use std::net::IpAddr;
use synack_wire::dump::{ArpLine, PacketLine};
use synack_wire::{
    ArpPacket, ArpRepr, ChecksumMode, EtherType, EthernetFrame, EthernetRepr, IpHeader,
    IpPacketRepr, Transport,
};

/// The captures under tests/data, each with tcpdump's relative (`-nn -t`) and absolute
/// (`-nn -t -S`) lines.
pub const CAPTURES: &[&str] = &["linux-v4-v6-icmp", "linux-tfo-sack-frag-pmtu"];

pub fn data_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

/// The frames of a capture, Ethernet header first.
pub fn frames(capture: &str) -> Vec<Vec<u8>> {
    let f = std::fs::File::open(data_path(&format!("{capture}.pcap"))).expect("open capture");
    let mut r = pcap_file::pcap::PcapReader::new(f).expect("pcap header");
    let mut out = Vec::new();
    while let Some(p) = r.next_packet() {
        out.push(p.expect("pcap record").data.into_owned());
    }
    out
}

/// tcpdump's lines for a capture (`suffix` "txt" relative, "S.txt" absolute).
pub fn lines(capture: &str, suffix: &str) -> Vec<String> {
    std::fs::read_to_string(data_path(&format!("{capture}.{suffix}")))
        .expect("read lines")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The IP packet inside an Ethernet frame, if it carries one.
pub fn ip_of(frame: &[u8]) -> Option<&[u8]> {
    let f = EthernetFrame::new_checked(frame).ok()?;
    matches!(f.ethertype(), EtherType::IPV4 | EtherType::IPV6).then(|| &frame[14..])
}

/// Renders a frame the way `tcpdump -nn -t` does, with `relative` bases for TCP.
pub fn render(frame: &[u8], tracker: Option<&mut Tracker>) -> String {
    let eth = EthernetFrame::new_checked(frame).expect("ethernet");
    if eth.ethertype() == EtherType::ARP {
        let arp = ArpRepr::parse(&ArpPacket::new_checked(&frame[14..]).unwrap()).unwrap();
        return ArpLine { arp: &arp, len: frame.len() - 14 }.to_string();
    }
    let p = IpPacketRepr::parse(&frame[14..], ChecksumMode::Verify).expect("parse");
    let relative = tracker.and_then(|t| t.relative_for(&p));
    PacketLine { packet: &p, relative }.to_string()
}

/// Rebuilds a frame from its parsed representations, with checksums computed afresh.
pub fn reemit(frame: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; frame.len()];
    let eth = EthernetRepr::parse(&EthernetFrame::new_checked(frame).unwrap()).unwrap();
    eth.emit(&mut out).unwrap();
    let body = &mut out[14..];
    if eth.ethertype == EtherType::ARP {
        let arp = ArpRepr::parse(&ArpPacket::new_checked(&frame[14..]).unwrap()).unwrap();
        arp.emit(body).unwrap();
        return out;
    }
    let p = IpPacketRepr::parse(&frame[14..], ChecksumMode::Verify).unwrap();
    let (src, dst) = (p.src_addr(), p.checksum_dst_addr());
    let at = match p.ip {
        IpHeader::V4 { repr, options } => {
            assert!(options.is_empty(), "golden IPv4 packets carry no options");
            repr.emit(body, ChecksumMode::Verify).unwrap()
        }
        IpHeader::V6 { repr, ext, .. } => {
            let n = repr.emit(body).unwrap();
            body[n..n + ext.len()].copy_from_slice(ext);
            n + ext.len()
        }
    };
    let t = &mut body[at..];
    let mode = ChecksumMode::Verify;
    match p.transport {
        Transport::Tcp(tcp) => {
            tcp.emit(t, src, dst, mode).unwrap();
        }
        Transport::Udp(udp) => {
            udp.emit(t, src, dst, mode).unwrap();
        }
        Transport::Icmpv4(icmp) => {
            icmp.emit(t, mode).unwrap();
        }
        Transport::Icmpv6(icmp) => {
            let (IpAddr::V6(s), IpAddr::V6(d)) = (src, dst) else { unreachable!() };
            icmp.emit(t, s, d, mode).unwrap();
        }
        Transport::Fragment { data, .. } | Transport::Other { data, .. } => {
            t[..data.len()].copy_from_slice(data);
        }
        _ => unreachable!("new transport kind"),
    }
    out
}

/// tcpdump's relative-sequence state, from the crate (std feature).
pub type Tracker = synack_wire::dump::SeqTracker;
