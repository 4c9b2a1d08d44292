//! The bodies of the fuzz targets (`fuzz/fuzz_targets/*.rs`), here so the normal test run can
//! replay the corpus through exactly the same code.
//!
//! Each function takes arbitrary bytes, runs one parser, and when parsing succeeds checks the
//! invariants that must hold for any accepted input: emitting the parsed form reproduces the
//! input bytes (with the checksum field zeroed, since these parse without verifying), parsing
//! that again gives the same representation, and the tcpdump-style line renders. A broken
//! invariant panics, which is what a fuzzer reports; malformed input itself must never panic.

use crate::arp::{ArpPacket, ArpRepr};
use crate::checksum::ChecksumMode;
use crate::dump::{ArpLine, PacketLine, TcpDumpLine};
use crate::ethernet::{EtherType, EthernetFrame, EthernetRepr};
use crate::icmpv4::{Icmpv4Packet, Icmpv4Repr};
use crate::icmpv6::{Icmpv6Packet, Icmpv6Repr};
use crate::ipv4::{Ipv4Packet, Ipv4Repr};
use crate::ipv6::{Ipv6Packet, Ipv6Repr};
use crate::packet::IpPacketRepr;
use crate::tcp::{TcpPacket, TcpRepr};
use crate::udp::{UdpPacket, UdpRepr};
use core::fmt::{self, Write};
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Largest input whose re-emission is checked (a stack buffer, since this crate never
/// allocates); longer inputs are still parsed.
const MAX_EMIT: usize = 2048;

const SRC: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
const DST: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 2));
const SRC6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
const DST6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);

/// A `fmt::Write` that discards text, counting it, so rendering runs without allocation.
struct Sink(usize);

impl Write for Sink {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

fn render(d: impl fmt::Display) -> usize {
    let mut s = Sink(0);
    write!(s, "{d}").expect("rendering never fails");
    s.0
}

/// Asserts `emitted == input` except for the 16-bit checksum at `ck`, which must be zero.
fn same_but_checksum(emitted: &[u8], input: &[u8], ck: usize) {
    assert_eq!(emitted.len(), input.len(), "emitted length");
    assert_eq!(emitted[..ck], input[..ck], "bytes before the checksum");
    assert_eq!(emitted[ck..ck + 2], [0, 0], "skipped checksum is zero");
    assert_eq!(emitted[ck + 2..], input[ck + 2..], "bytes after the checksum");
}

/// Any bytes, tried as an IP packet and as an Ethernet frame.
pub fn parse_any(data: &[u8]) {
    if let Ok(p) = IpPacketRepr::parse(data, ChecksumMode::Skip) {
        render(PacketLine { packet: &p, relative: None });
        let _ = (p.src_addr(), p.dst_addr());
    }
    let _ = IpPacketRepr::parse(data, ChecksumMode::Verify);
    ethernet(data);
}

/// A TCP segment (header first); addresses are fixed.
pub fn tcp(data: &[u8]) {
    let Ok(pkt) = TcpPacket::new_checked(data) else { return };
    for opt in pkt.options() {
        if opt.is_err() {
            break;
        }
    }
    let _ = pkt.verify_checksum(SRC, DST);
    copy_and_sum_agrees(data);
    let Ok(repr) = TcpRepr::parse(&pkt, SRC, DST, ChecksumMode::Skip) else { return };
    render(TcpDumpLine { src: SRC, dst: DST, tcp: &repr, relative: None });
    if data.len() > MAX_EMIT {
        return;
    }
    let mut buf = [0u8; MAX_EMIT];
    let n = repr.emit(&mut buf, SRC, DST, ChecksumMode::Skip).expect("emit what parsed");
    same_but_checksum(&buf[..n], data, 16);
    let again = TcpRepr::parse_bytes(&buf[..n], SRC, DST, ChecksumMode::Skip).expect("reparse");
    assert_eq!(again, repr);
    // With checksums on, the emitted segment verifies.
    let mut buf2 = [0u8; MAX_EMIT];
    let n = repr.emit(&mut buf2, SRC, DST, ChecksumMode::Verify).expect("emit");
    TcpRepr::parse_bytes(&buf2[..n], SRC, DST, ChecksumMode::Verify).expect("checksum verifies");
}

/// The fused copy and sum gives the bytes and the sum of a plain pass, whole and split at an
/// odd point (the second piece added with `at_odd_offset`, as for a wrapped ring).
fn copy_and_sum_agrees(data: &[u8]) {
    use crate::checksum::{at_odd_offset, copy_and_sum, fold, sum};
    let n = data.len().min(MAX_EMIT);
    let mut buf = [0u8; MAX_EMIT];
    let whole = copy_and_sum(&mut buf[..n], &data[..n]).expect("room for the copy");
    assert_eq!(&buf[..n], &data[..n]);
    assert_eq!(fold(whole), fold(sum(&data[..n])));
    let cut = (n / 2) | 1;
    if cut < n {
        let (a, b) = buf[..n].split_at_mut(cut);
        let sa = copy_and_sum(a, &data[..cut]).expect("room");
        let sb = copy_and_sum(b, &data[cut..n]).expect("room");
        assert_eq!(fold(sa + at_odd_offset(sb)), fold(whole));
    }
}

/// An IPv4 packet.
pub fn ipv4(data: &[u8]) {
    let Ok(pkt) = Ipv4Packet::new_checked(data) else { return };
    let _ = (pkt.options_bytes(), pkt.payload(), pkt.verify_checksum(), pkt.is_fragment());
    let Ok(repr) = Ipv4Repr::parse(&pkt, ChecksumMode::Skip) else { return };
    let mut buf = [0u8; 20];
    repr.emit(&mut buf, ChecksumMode::Verify).expect("emit what parsed");
    let mut full = [0u8; MAX_EMIT];
    if repr.buffer_len() <= MAX_EMIT {
        full[..20].copy_from_slice(&buf);
        let again = Ipv4Repr::parse(
            &Ipv4Packet::new_checked(&full[..repr.buffer_len()]).expect("recheck"),
            ChecksumMode::Verify,
        )
        .expect("reparse");
        assert_eq!(again, repr);
    }
    parse_any(data);
}

/// An IPv6 packet.
pub fn ipv6(data: &[u8]) {
    let Ok(pkt) = Ipv6Packet::new_checked(data) else { return };
    let _ = pkt.upper_layer();
    let Ok(repr) = Ipv6Repr::parse(&pkt) else { return };
    let mut buf = [0u8; 40];
    repr.emit(&mut buf).expect("emit what parsed");
    assert_eq!(buf[..], data[..40]);
    parse_any(data);
}

/// An ICMPv4 message.
pub fn icmpv4(data: &[u8]) {
    let Ok(pkt) = Icmpv4Packet::new_checked(data) else { return };
    let Ok(repr) = Icmpv4Repr::parse(&pkt, ChecksumMode::Skip) else { return };
    if let Some(q) = repr.quoted() {
        let _ = q.map(|q| (q.ports(), q.tcp_seq()));
    }
    if data.len() > MAX_EMIT {
        return;
    }
    let mut buf = [0u8; MAX_EMIT];
    let n = repr.emit(&mut buf, ChecksumMode::Skip).expect("emit what parsed");
    same_but_checksum(&buf[..n], data, 2);
}

/// An ICMPv6 message; addresses are fixed.
pub fn icmpv6(data: &[u8]) {
    let Ok(pkt) = Icmpv6Packet::new_checked(data) else { return };
    let Ok(repr) = Icmpv6Repr::parse(&pkt, SRC6, DST6, ChecksumMode::Skip) else { return };
    if let Some(q) = repr.quoted() {
        let _ = q.map(|q| (q.ports(), q.tcp_seq()));
    }
    if data.len() > MAX_EMIT {
        return;
    }
    let mut buf = [0u8; MAX_EMIT];
    let n = repr.emit(&mut buf, SRC6, DST6, ChecksumMode::Skip).expect("emit what parsed");
    same_but_checksum(&buf[..n], data, 2);
}

/// A UDP datagram; addresses are fixed.
pub fn udp(data: &[u8]) {
    let Ok(pkt) = UdpPacket::new_checked(data) else { return };
    let _ = pkt.verify_checksum(SRC, DST);
    let Ok(repr) = UdpRepr::parse(&pkt, SRC, DST, ChecksumMode::Skip) else { return };
    if data.len() > MAX_EMIT {
        return;
    }
    let mut buf = [0u8; MAX_EMIT];
    let n = repr.emit(&mut buf, SRC, DST, ChecksumMode::Skip).expect("emit what parsed");
    same_but_checksum(&buf[..n], &data[..n], 6);
}

/// An Ethernet II frame, then its ARP or IP payload.
pub fn ethernet(data: &[u8]) {
    let Ok(frame) = EthernetFrame::new_checked(data) else { return };
    let repr = EthernetRepr::parse(&frame).expect("checked frame parses");
    let mut buf = [0u8; 14];
    repr.emit(&mut buf).expect("emit");
    assert_eq!(buf[..], data[..14]);
    match repr.ethertype {
        EtherType::ARP => arp(&data[14..]),
        EtherType::IPV4 | EtherType::IPV6 => {
            if let Ok(p) = IpPacketRepr::parse(&data[14..], ChecksumMode::Skip) {
                render(PacketLine { packet: &p, relative: None });
            }
        }
        _ => {}
    }
}

/// An ARP packet.
pub fn arp(data: &[u8]) {
    let Ok(pkt) = ArpPacket::new_checked(data) else { return };
    let repr = ArpRepr::parse(&pkt).expect("checked packet parses");
    render(ArpLine { arp: &repr, len: data.len() });
    let mut buf = [0u8; 28];
    repr.emit(&mut buf).expect("emit");
    assert_eq!(buf[..], data[..28]);
}

/// Runs `body` over every file of `fuzz/corpus/<target>/` in this repository, in name order,
/// and returns how many there were: the replay every crate's `cargo test` does of its fuzz
/// targets' corpora. A failing input is named on stderr before its panic goes on; a missing or
/// empty directory panics, since replaying nothing would prove nothing.
#[cfg(feature = "std")]
pub fn replay_corpus(target: &str, body: impl Fn(&[u8])) -> usize {
    use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus").join(target);
    let mut files: std::vec::Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("corpus directory entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no inputs in {}", dir.display());
    for path in &files {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| body(&data))) {
            std::eprintln!("{target}: {} fails", path.display());
            resume_unwind(panic);
        }
    }
    files.len()
}
