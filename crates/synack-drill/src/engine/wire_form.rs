//! Segments between the script's form and the engine's: an inbound segment written as a NIC
//! would hand it over, and the options of an outbound one read back into the script's form.
//! Segments inside UDP (`/udp(SPORT > DPORT)`) go through synack-wire's TCP-over-UDP
//! encapsulation both ways, as the IP layer of a stack with a tunnel port would.

use super::EngineTarget;
use crate::ast::OptSpec;
use crate::segment::Segment;
use synack_wire::tcp::{TcpOption, TcpPacket, TcpRepr, options};
use synack_wire::udp_encap::{decapsulate, encapsulate};
use synack_wire::{ChecksumMode, SeqNum};

impl EngineTarget {
    /// An inbound segment inside a UDP datagram from `sport` to `dport`: taken out and given
    /// to the engine when `dport` is the tunnel port; a datagram to any other UDP port reaches
    /// no TCP connection and is dropped.
    pub(super) fn deliver_udp(
        &mut self,
        now: u64,
        seg: &Segment,
        tcp: &[u8],
        sport: u16,
        dport: u16,
    ) {
        let (src, dst) = (seg.src.ip(), seg.dst.ip());
        let Some(from) = core::num::NonZeroU16::new(sport) else { return };
        if self.udp_tunnel_port == 0 || dport != self.udp_tunnel_port {
            return;
        }
        let mut dgram = vec![0u8; tcp.len() + synack_wire::udp::HEADER_LEN];
        let Ok(n) = encapsulate(tcp, src, dst, sport, dport, &mut dgram) else { return };
        let Ok(d) = decapsulate(&dgram[..n], src, dst) else { return };
        if let Ok(repr) = TcpRepr::parse_bytes(d.segment, src, dst, ChecksumMode::Skip) {
            self.ep.on_udp_segment(super::instant(now), src, dst, seg.tos & 3, from, &repr);
        }
    }

    /// Wraps the segment the engine just wrote (`t`, in `self.buf`) in a UDP datagram from the
    /// tunnel port to `remote` and checks it as the peer would: whether the datagram's checksum
    /// holds. `None` when no tunnel port is set, so it cannot be sent.
    pub(super) fn encapsulated_ok(&self, t: &synack_tcp::Transmit, remote: u16) -> Option<bool> {
        if self.udp_tunnel_port == 0 {
            return None;
        }
        let (src, dst) = (t.src.ip(), t.dst.ip());
        let mut dgram = vec![0u8; t.len + synack_wire::udp::HEADER_LEN];
        let ok =
            encapsulate(&self.buf[..t.len], src, dst, self.udp_tunnel_port, remote, &mut dgram)
                .and_then(|n| decapsulate(&dgram[..n], src, dst))
                .is_ok_and(|d| d.segment[16..18] == [0, 0]);
        Some(ok)
    }

    /// Builds the wire bytes of an inbound segment and parses them back, as a NIC would hand
    /// them over. An MD5 option written `md5 valid` is signed with `md5_secret` (RFC 2385),
    /// `md5 invalid` gets a digest that is not the valid one, `md5 HEX` the bytes written.
    pub(super) fn inbound_bytes(
        seg: &Segment,
        md5_secret: Option<&[u8]>,
    ) -> Result<Vec<u8>, synack_wire::Error> {
        let mut raw = option_bytes(&seg.options);
        let md5 = seg.options.iter().find_map(|o| match o {
            OptSpec::Md5(text) => Some(text.as_str()),
            _ => None,
        });
        if let Some(text) = md5
            && let Some(at) = options::md5_digest_offset(&raw)
        {
            let digest = md5_digest_for(seg, &raw, text, md5_secret);
            raw[at..at + 16].copy_from_slice(&digest);
        }
        let typed = options::collect(&raw)?;
        let repr = TcpRepr {
            src_port: seg.src.port(),
            dst_port: seg.dst.port(),
            seq: SeqNum(seg.seq),
            ack: SeqNum(seg.ack),
            flags: seg.flags,
            window: seg.window,
            urgent: seg.urgent,
            options: typed,
            raw_options: if raw.is_empty() { None } else { Some(&raw) },
            payload: &seg.payload,
        };
        let mut out = vec![0u8; repr.buffer_len()];
        let n = repr.emit(&mut out, seg.src.ip(), seg.dst.ip(), ChecksumMode::Verify)?;
        out.truncate(n);
        Ok(out)
    }
}

/// The digest an inbound `md5 TEXT` option carries: the segment's signature under `secret`
/// for `valid` (zeros without a secret), that signature with its bits flipped for `invalid`,
/// else TEXT read as hex bytes (packetdrill's form), zero-padded.
fn md5_digest_for(seg: &Segment, raw: &[u8], text: &str, secret: Option<&[u8]>) -> [u8; 16] {
    let signed = || {
        let repr = TcpRepr {
            src_port: seg.src.port(),
            dst_port: seg.dst.port(),
            seq: SeqNum(seg.seq),
            ack: SeqNum(seg.ack),
            flags: seg.flags,
            window: seg.window,
            urgent: seg.urgent,
            options: Default::default(),
            raw_options: Some(raw),
            payload: &seg.payload,
        };
        secret
            .and_then(|k| {
                synack_wire::tcp::md5sig::repr_digest(&repr, seg.src.ip(), seg.dst.ip(), k)
            })
            .unwrap_or([0; 16])
    };
    match text.trim() {
        "valid" => signed(),
        "invalid" => signed().map(|b| !b),
        hex => {
            let mut d = [0u8; 16];
            let hex = hex.trim_start_matches("0x");
            for (i, b) in d.iter_mut().enumerate() {
                *b = hex
                    .get(2 * i..2 * i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .unwrap_or(0);
            }
            d
        }
    }
}

/// Option bytes in the order written (kind, length, value), zero-padded to a multiple of 4.
pub(super) fn option_bytes(opts: &[OptSpec]) -> Vec<u8> {
    let mut b = Vec::new();
    for o in opts {
        match o {
            OptSpec::Eol => b.push(0),
            OptSpec::Nop => b.push(1),
            OptSpec::Mss(m) => b.extend([2, 4, (m >> 8) as u8, *m as u8]),
            OptSpec::WScale(w) => b.extend([3, 3, *w]),
            OptSpec::SackOk => b.extend([4, 2]),
            OptSpec::Sack(blocks) => {
                b.extend([5, 2 + 8 * blocks.len() as u8]);
                for (l, r) in blocks {
                    b.extend(l.to_be_bytes());
                    b.extend(r.to_be_bytes());
                }
            }
            OptSpec::Timestamp { val, ecr } => {
                b.extend([8, 10]);
                b.extend(val.to_be_bytes());
                b.extend(ecr.to_be_bytes());
            }
            OptSpec::Md5(_) => {
                b.extend([19, 18]);
                b.extend([0; 16]);
            }
            OptSpec::FastOpen(c) => {
                b.extend([34, 2 + c.len() as u8]);
                b.extend(c);
            }
            OptSpec::AccEcn(o) => {
                b.extend([o.kind(), o.wire_len() as u8]);
                for v in o.values() {
                    b.extend(&v.to_be_bytes()[1..]);
                }
            }
            OptSpec::FastOpenExp(c) => {
                b.extend([254, 4 + c.len() as u8, 0xf9, 0x89]);
                b.extend(c);
            }
        }
    }
    while b.len() % 4 != 0 {
        b.push(0);
    }
    b
}

/// The options of an emitted segment, in wire order.
pub(super) fn wire_options(tcp: &[u8]) -> Vec<OptSpec> {
    let Ok(pkt) = TcpPacket::new_checked(tcp) else { return Vec::new() };
    let mut out = Vec::new();
    for o in pkt.options() {
        let Ok(o) = o else { break };
        out.push(match o {
            TcpOption::EndOfList => OptSpec::Eol,
            TcpOption::NoOperation => OptSpec::Nop,
            TcpOption::Mss(m) => OptSpec::Mss(m),
            TcpOption::WindowScale(w) => OptSpec::WScale(w),
            TcpOption::SackPermitted => OptSpec::SackOk,
            TcpOption::Sack(b) => {
                OptSpec::Sack(b.as_slice().iter().map(|x| (x.left.0, x.right.0)).collect())
            }
            TcpOption::Timestamps(t) => OptSpec::Timestamp { val: t.tsval, ecr: t.tsecr },
            TcpOption::FastOpen(c) if c.is_experimental() => {
                OptSpec::FastOpenExp(c.as_bytes().to_vec())
            }
            TcpOption::FastOpen(c) => OptSpec::FastOpen(c.as_bytes().to_vec()),
            TcpOption::Unknown { kind: options::kind::MD5SIG, data } if data.len() == 16 => {
                let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
                OptSpec::Md5(format!("{}{hex}", super::md5::MD5_HEX_PREFIX))
            }
            TcpOption::Unknown { kind, data } => OptSpec::Md5(format!("kind{kind}:{}", data.len())),
            TcpOption::AccEcn(o) => OptSpec::AccEcn(o),
        });
    }
    // packetdrill reads every byte of the option area as an option, so the zero padding after
    // an EOL is one more EOL per byte (FreeBSD's SYN-ACK `mss,sackOK,eol,eol`).
    if out.last() == Some(&OptSpec::Eol) {
        let area = tcp.get(20..pkt.header_len()).unwrap_or(&[]);
        let mut i = 0;
        while let Some(&k) = area.get(i) {
            match k {
                0 => break,
                1 => i += 1,
                _ => i += usize::from(area.get(i + 1).copied().unwrap_or(2).max(2)),
            }
        }
        for _ in 1..area.len().saturating_sub(i) {
            out.push(OptSpec::Eol);
        }
    }
    out
}
