//! Spoofed SYNs for the flood benchmark: IPv4 + TCP with an MSS option, as a kernel's SYN
//! looks, from sources spread over an address range, with random source ports, sequence
//! numbers and IP identifications, so that each one is a new half-open connection to the
//! listener and none repeats an earlier tuple by design.

use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};

use synack_wire::tcp::{TcpFlags, TcpOptions};
use synack_wire::{ChecksumMode, IpProtocol, Ipv4Repr, SeqNum, TcpRepr};

/// Bytes of one SYN: a 20-byte IPv4 header and a 24-byte TCP header (MSS option).
pub(crate) const SYN_LEN: usize = 44;

/// Makes spoofed SYNs to one target from one address range.
#[derive(Debug)]
pub(crate) struct SynMaker {
    target: SocketAddrV4,
    first: u32,
    count: u32,
    rng: u64,
}

impl SynMaker {
    /// SYNs to `target` from addresses `first..=last` (the target itself skipped); `seed`
    /// makes the sequence reproducible.
    pub(crate) fn new(
        target: SocketAddrV4,
        first: Ipv4Addr,
        last: Ipv4Addr,
        seed: u64,
    ) -> anyhow::Result<SynMaker> {
        let (a, b) = (u32::from(first), u32::from(last));
        anyhow::ensure!(a <= b, "source range {first}-{last} is empty");
        anyhow::ensure!(
            !(a == b && a == u32::from(*target.ip())),
            "the only source address is the target's"
        );
        Ok(SynMaker { target, first: a, count: b - a + 1, rng: seed | 1 })
    }

    /// xorshift64: fast and good enough to spread tuples; not for secrets.
    fn next_u64(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }

    /// A source address of the range other than the target's.
    fn source(&mut self, r: u64) -> Ipv4Addr {
        let target = u32::from(*self.target.ip());
        let mut a = self.first + ((r >> 32) % u64::from(self.count)) as u32;
        if a == target {
            a = if a == self.first + (self.count - 1) { self.first } else { a + 1 };
        }
        Ipv4Addr::from(a)
    }

    /// Writes the next SYN into `buf[..SYN_LEN]`, checksums filled.
    pub(crate) fn write(&mut self, buf: &mut [u8; SYN_LEN]) {
        let r = self.next_u64();
        let src = self.source(r);
        let dst = *self.target.ip();
        let tcp = TcpRepr {
            src_port: 1024 + (r as u16) % (65535 - 1024),
            dst_port: self.target.port(),
            seq: SeqNum((r >> 16) as u32),
            ack: SeqNum(0),
            flags: TcpFlags::SYN,
            window: 64240,
            urgent: 0,
            options: TcpOptions { mss: Some(1460), ..TcpOptions::default() },
            raw_options: None,
            payload: &[],
        };
        let ip = Ipv4Repr {
            src_addr: src,
            dst_addr: dst,
            protocol: IpProtocol::TCP,
            payload_len: SYN_LEN - 20,
            ttl: 64,
            tos: 0,
            ident: (r >> 48) as u16,
            dont_frag: true,
            more_frags: false,
            frag_offset: 0,
        };
        let (head, rest) = buf.split_at_mut(20);
        // Neither can fail: the lengths are fixed and the addresses are both IPv4.
        let n = ip.emit(head, ChecksumMode::Verify).expect("IPv4 header fits");
        debug_assert_eq!(n, 20);
        let n = tcp
            .emit(rest, IpAddr::V4(src), IpAddr::V4(dst), ChecksumMode::Verify)
            .expect("SYN fits");
        debug_assert_eq!(n, SYN_LEN - 20);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use synack_wire::{Ipv4Packet, TcpPacket};

    fn maker(first: &str, last: &str) -> SynMaker {
        let target = SocketAddrV4::new("10.88.0.2".parse().unwrap(), 7);
        SynMaker::new(target, first.parse().unwrap(), last.parse().unwrap(), 42).unwrap()
    }

    #[test]
    fn syns_parse_with_valid_checksums_from_the_range() {
        let mut m = maker("10.88.0.1", "10.88.0.9");
        let mut tuples = HashSet::new();
        for _ in 0..2000 {
            let mut buf = [0u8; SYN_LEN];
            m.write(&mut buf);
            let ip = Ipv4Packet::new_checked(&buf[..]).expect("IPv4 parses");
            assert!(ip.verify_checksum(), "IPv4 header checksum");
            let ip = Ipv4Repr::parse(&ip, ChecksumMode::Verify).expect("IPv4 repr");
            assert_eq!(ip.dst_addr, Ipv4Addr::new(10, 88, 0, 2));
            let src = u32::from(ip.src_addr);
            assert!((0x0a58_0001..=0x0a58_0009).contains(&src), "source {}", ip.src_addr);
            assert_ne!(ip.src_addr, ip.dst_addr, "never the target's own address");
            let tcp = TcpPacket::new_checked(&buf[20..]).expect("TCP parses");
            let (s, d) = (IpAddr::V4(ip.src_addr), IpAddr::V4(ip.dst_addr));
            let tcp = TcpRepr::parse(&tcp, s, d, ChecksumMode::Verify).expect("TCP checksum");
            assert_eq!(tcp.flags, TcpFlags::SYN);
            assert_eq!(tcp.dst_port, 7);
            assert!(tcp.src_port >= 1024);
            assert_eq!(tcp.options.mss, Some(1460));
            tuples.insert((ip.src_addr, tcp.src_port));
        }
        assert!(tuples.len() > 1900, "tuples repeat: {} distinct of 2000", tuples.len());
    }

    #[test]
    fn a_range_of_only_the_target_is_refused() {
        let target = SocketAddrV4::new("10.88.0.2".parse().unwrap(), 7);
        let a: Ipv4Addr = "10.88.0.2".parse().unwrap();
        assert!(SynMaker::new(target, a, a, 1).is_err());
        assert!(SynMaker::new(target, "10.88.0.3".parse().unwrap(), a, 1).is_err());
    }

    #[test]
    fn the_target_is_skipped_at_the_range_end() {
        let mut m = maker("10.88.0.1", "10.88.0.2");
        for _ in 0..200 {
            let mut buf = [0u8; SYN_LEN];
            m.write(&mut buf);
            assert_eq!(&buf[12..16], &[10, 88, 0, 1]);
        }
    }
}
