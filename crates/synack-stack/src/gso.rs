//! TCP super-segments: cutting one into wire-sized frames, and appending an in-order frame of
//! the same flow to another.
//!
//! A device with segmentation offload carries TCP packets of up to 64 KiB that stand for a run
//! of consecutive MSS-sized segments: the kernel cuts them on the way out (TSO, GSO) and glues
//! received ones together on the way in (GRO). [`split`] does the cutting in software where a
//! wire's view is wanted (the pcap tap, tests); [`coalesce`] does the gluing for a device that
//! hands the stack small segments.
//!
//! Both work on bare IP packets (IPv4 without fragmentation, IPv6 with TCP directly after the
//! fixed header) and leave anything else alone.

use alloc::vec::Vec;

use synack_wire::IpProtocol;
use synack_wire::checksum;

/// TCP flag bits as they sit in byte 13 of the header.
const FIN: u8 = 0x01;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;
const CWR: u8 = 0x80;

/// Where the headers of a TCP-in-IP packet end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpFrame {
    /// IPv6 rather than IPv4.
    pub v6: bool,
    /// IP header length (IPv4 with options, or the fixed 40 bytes of IPv6).
    pub ip_header: usize,
    /// TCP header length with options.
    pub tcp_header: usize,
    /// Packet length as the IP header states it (bytes past it in the buffer are not part of
    /// the packet).
    pub len: usize,
}

impl TcpFrame {
    /// Parses the headers of `frame`; `None` when it is not an unfragmented TCP packet whose
    /// headers are all present.
    pub fn parse(frame: &[u8]) -> Option<TcpFrame> {
        let (v6, ip_header, len) = match frame.first()? >> 4 {
            4 => {
                let ihl = usize::from(frame[0] & 0x0f) * 4;
                if ihl < 20 || frame.len() < ihl {
                    return None;
                }
                let total = usize::from(u16::from_be_bytes([frame[2], frame[3]]));
                let frag = u16::from_be_bytes([frame[6], frame[7]]);
                if frame[9] != IpProtocol::TCP.0 || frag & 0x3fff != 0 {
                    return None;
                }
                (false, ihl, total)
            }
            6 => {
                if frame.len() < 40 || frame[6] != IpProtocol::TCP.0 {
                    return None;
                }
                (true, 40, 40 + usize::from(u16::from_be_bytes([frame[4], frame[5]])))
            }
            _ => return None,
        };
        if len > frame.len() || len < ip_header + 20 {
            return None;
        }
        let tcp_header = usize::from(frame[ip_header + 12] >> 4) * 4;
        if tcp_header < 20 || ip_header + tcp_header > len {
            return None;
        }
        Some(TcpFrame { v6, ip_header, tcp_header, len })
    }

    /// IP and TCP headers together.
    pub fn headers(&self) -> usize {
        self.ip_header + self.tcp_header
    }

    /// TCP payload bytes.
    pub fn payload_len(&self) -> usize {
        self.len - self.headers()
    }
}

/// Why [`split`] could not cut a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitError {
    /// Not an unfragmented TCP packet with all its headers.
    NotTcp,
    /// The segment size is zero.
    ZeroSegmentSize,
}

/// The pseudo-header partial sum of a parsed packet for a TCP length of `tcp_len`.
fn pseudo_sum(frame: &[u8], f: &TcpFrame, tcp_len: usize) -> u64 {
    let tcp = IpProtocol::TCP;
    if f.v6 {
        checksum::sum(&frame[8..40]) + u64::from(tcp.0) + tcp_len as u64
    } else {
        checksum::sum(&frame[12..20]) + u64::from(tcp.0) + tcp_len as u64
    }
}

/// Writes the checksum-partial value of a TCP packet into its checksum field: the folded
/// pseudo-header sum, as a device finishing the checksum (virtio `NEEDS_CSUM`, Linux
/// `CHECKSUM_PARTIAL`) expects it.
pub fn write_partial_checksum(frame: &mut [u8], f: &TcpFrame) {
    let sum = pseudo_sum(frame, f, f.len - f.ip_header);
    let at = f.ip_header + 16;
    frame[at..at + 2].copy_from_slice(&checksum::fold(sum).to_be_bytes());
}

/// Fills the full TCP checksum of `frame` (its checksum field is overwritten).
pub fn write_tcp_checksum(frame: &mut [u8], f: &TcpFrame) {
    let at = f.ip_header + 16;
    frame[at..at + 2].copy_from_slice(&[0, 0]);
    let sum = pseudo_sum(frame, f, f.len - f.ip_header) + checksum::sum(&frame[f.ip_header..f.len]);
    frame[at..at + 2].copy_from_slice(&checksum::finish(sum).to_be_bytes());
}

/// True when the TCP checksum of `frame` is right.
pub fn tcp_checksum_ok(frame: &[u8], f: &TcpFrame) -> bool {
    let sum = pseudo_sum(frame, f, f.len - f.ip_header) + checksum::sum(&frame[f.ip_header..f.len]);
    checksum::fold(sum) == 0xffff
}

/// Rewrites the IP length field (and, for IPv4, the header checksum) for a packet of `len`.
fn set_ip_len(frame: &mut [u8], f: &TcpFrame, len: usize) {
    if f.v6 {
        frame[4..6].copy_from_slice(&((len - 40) as u16).to_be_bytes());
    } else {
        frame[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        frame[10..12].copy_from_slice(&[0, 0]);
        let c = checksum::checksum(&frame[..f.ip_header]);
        frame[10..12].copy_from_slice(&c.to_be_bytes());
    }
}

/// Cuts `frame` into packets of at most `segment_size` payload bytes each, as a segmentation
/// offload device does, and hands each to `out` (built in `scratch`). A frame that needs no
/// cutting goes out unchanged. Returns how many packets went out.
///
/// Each packet gets copies of the headers with its own sequence number, IP length, IPv4
/// identification (consecutive from the original's) and full checksums; FIN and PSH stay on
/// the last packet only and CWR on the first only, as Linux's GSO does.
pub fn split(
    frame: &[u8],
    segment_size: usize,
    scratch: &mut Vec<u8>,
    mut out: impl FnMut(&[u8]),
) -> Result<usize, SplitError> {
    let f = TcpFrame::parse(frame).ok_or(SplitError::NotTcp)?;
    if segment_size == 0 {
        return Err(SplitError::ZeroSegmentSize);
    }
    let payload = &frame[f.headers()..f.len];
    if payload.len() <= segment_size {
        out(&frame[..f.len]);
        return Ok(1);
    }
    let th = f.ip_header;
    let seq = u32::from_be_bytes([frame[th + 4], frame[th + 5], frame[th + 6], frame[th + 7]]);
    let ident = u16::from_be_bytes([frame[4], frame[5]]);
    let flags = frame[th + 13];
    let pieces = payload.len().div_ceil(segment_size);
    for (i, chunk) in payload.chunks(segment_size).enumerate() {
        scratch.clear();
        scratch.extend_from_slice(&frame[..f.headers()]);
        scratch.extend_from_slice(chunk);
        let len = scratch.len();
        let piece = TcpFrame { len, ..f };
        if !f.v6 {
            scratch[4..6].copy_from_slice(&ident.wrapping_add(i as u16).to_be_bytes());
        }
        set_ip_len(scratch, &piece, len);
        let off = (i * segment_size) as u32;
        scratch[th + 4..th + 8].copy_from_slice(&seq.wrapping_add(off).to_be_bytes());
        let mut fl = flags;
        if i + 1 < pieces {
            fl &= !(FIN | PSH);
        }
        if i > 0 {
            fl &= !CWR;
        }
        scratch[th + 13] = fl;
        write_tcp_checksum(scratch, &piece);
        out(scratch);
    }
    Ok(pieces)
}

/// Appends `next` to the packet in `head[..head_len]` when it is the next in-order segment of
/// the same flow and the two can stand as one, as Linux's GRO decides; returns the new length
/// of the packet in `head`, or `None` (nothing changed) when they cannot merge.
///
/// They merge when both carry payload, the addresses, ports, acknowledgment, window, IP
/// fields and TCP options are equal, `next` starts where `head` ends, `head` has no flag but
/// ACK, `next` no flag but ACK and PSH, and the result fits `head` and 64 KiB. The merged
/// packet's TCP checksum field holds the pseudo-header sum only (as a checksum-partial packet
/// does): the caller has verified both checksums and hands the result on as verified.
pub fn coalesce(head: &mut [u8], head_len: usize, next: &[u8]) -> Option<usize> {
    let h = TcpFrame::parse(&head[..head_len])?;
    let n = TcpFrame::parse(next)?;
    if h.v6 != n.v6 || h.ip_header != n.ip_header || h.tcp_header != n.tcp_header {
        return None;
    }
    if h.payload_len() == 0 || n.payload_len() == 0 {
        return None;
    }
    let new_len = h.len + n.payload_len();
    let ip_max = if h.v6 { 40 + 65_535 } else { 65_535 };
    if new_len > head.len() || new_len > ip_max {
        return None;
    }
    let th = h.ip_header;
    let (hb, nb) = (&head[..h.len], &next[..n.len]);
    // IP: everything but the length, identification and checksum is equal.
    let ip_same = if h.v6 {
        hb[..4] == nb[..4] && hb[6..40] == nb[6..40]
    } else {
        hb[0..2] == nb[0..2] && hb[6..10] == nb[6..10] && hb[12..th] == nb[12..th]
    };
    // TCP: ports, acknowledgment, window, urgent pointer and options equal; flags as above.
    let tcp_same = hb[th..th + 4] == nb[th..th + 4]
        && hb[th + 8..th + 13] == nb[th + 8..th + 13]
        && hb[th + 14..th + 16] == nb[th + 14..th + 16]
        && hb[th + 18..th + h.tcp_header] == nb[th + 18..th + n.tcp_header];
    let seq = |b: &[u8]| u32::from_be_bytes([b[th + 4], b[th + 5], b[th + 6], b[th + 7]]);
    let in_order = seq(nb) == seq(hb).wrapping_add(h.payload_len() as u32);
    let (hf, nf) = (hb[th + 13], nb[th + 13]);
    let flags_ok = hf == ACK && nf & !PSH == ACK;
    if !(ip_same && tcp_same && in_order && flags_ok) {
        return None;
    }
    head[h.len..new_len].copy_from_slice(&next[n.headers()..n.len]);
    head[th + 13] = hf | nf;
    let merged = TcpFrame { len: new_len, ..h };
    set_ip_len(head, &merged, new_len);
    write_partial_checksum(head, &merged);
    Some(new_len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// An IPv4 or IPv6 TCP packet with timestamps, `payload` bytes of a pattern from `seq`.
    fn packet(v6: bool, seq: u32, payload: usize, flags: u8) -> Vec<u8> {
        let ip = if v6 { 40 } else { 20 };
        let tcp = 32;
        let len = ip + tcp + payload;
        let mut p = vec![0u8; len];
        if v6 {
            p[0] = 0x60;
            p[6] = IpProtocol::TCP.0;
            p[7] = 64;
            p[8..24].copy_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
            p[24..40].copy_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        } else {
            p[0] = 0x45;
            p[4..6].copy_from_slice(&100u16.to_be_bytes());
            p[6] = 0x40;
            p[8] = 64;
            p[9] = IpProtocol::TCP.0;
            p[12..16].copy_from_slice(&[10, 0, 0, 1]);
            p[16..20].copy_from_slice(&[10, 0, 0, 2]);
        }
        p[ip..ip + 2].copy_from_slice(&5000u16.to_be_bytes());
        p[ip + 2..ip + 4].copy_from_slice(&80u16.to_be_bytes());
        p[ip + 4..ip + 8].copy_from_slice(&seq.to_be_bytes());
        p[ip + 8..ip + 12].copy_from_slice(&777u32.to_be_bytes());
        p[ip + 12] = (tcp as u8 / 4) << 4;
        p[ip + 13] = flags;
        p[ip + 14..ip + 16].copy_from_slice(&512u16.to_be_bytes());
        // NOP NOP TS(10): tsval 9, tsecr 4.
        p[ip + 20..ip + 32].copy_from_slice(&[1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 4]);
        for (i, b) in p[ip + tcp..].iter_mut().enumerate() {
            *b = (seq as usize + i) as u8;
        }
        if v6 {
            p[4..6].copy_from_slice(&((len - 40) as u16).to_be_bytes());
        } else {
            p[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        }
        let f = TcpFrame::parse(&p).expect("tcp");
        set_ip_len(&mut p, &f, len);
        write_tcp_checksum(&mut p, &f);
        p
    }

    #[test]
    fn split_cuts_at_the_segment_size_with_valid_headers_and_flags_on_the_ends() {
        for v6 in [false, true] {
            let big = packet(v6, 1000, 3 * 1448 + 100, ACK | PSH | FIN | CWR);
            let mut scratch = Vec::new();
            let mut pieces = Vec::new();
            let n = split(&big, 1448, &mut scratch, |p| pieces.push(p.to_vec())).expect("split");
            assert_eq!(n, 4);
            let mut payload = Vec::new();
            for (i, p) in pieces.iter().enumerate() {
                let f = TcpFrame::parse(p).expect("piece parses");
                assert!(tcp_checksum_ok(p, &f), "piece {i} checksum");
                if !v6 {
                    assert_eq!(checksum::checksum(&p[..20]), 0, "IPv4 header checksum");
                    assert_eq!(u16::from_be_bytes([p[4], p[5]]), 100 + i as u16);
                }
                let th = f.ip_header;
                let seq = u32::from_be_bytes([p[th + 4], p[th + 5], p[th + 6], p[th + 7]]);
                assert_eq!(seq, 1000 + (i * 1448) as u32);
                let fl = p[th + 13];
                assert_eq!(fl & (FIN | PSH) != 0, i == 3, "FIN/PSH only last");
                assert_eq!(fl & CWR != 0, i == 0, "CWR only first");
                assert_eq!(f.payload_len(), if i < 3 { 1448 } else { 100 });
                payload.extend_from_slice(&p[f.headers()..]);
            }
            let bf = TcpFrame::parse(&big).expect("big");
            assert_eq!(payload, &big[bf.headers()..], "payload byte-exact");
        }
    }

    #[test]
    fn split_leaves_a_small_frame_alone_and_refuses_non_tcp() {
        let small = packet(false, 1, 100, ACK);
        let mut out = Vec::new();
        let mut scratch = Vec::new();
        assert_eq!(split(&small, 1448, &mut scratch, |p| out.push(p.to_vec())), Ok(1));
        assert_eq!(out, vec![small.clone()]);
        let mut udp = small.clone();
        udp[9] = IpProtocol::UDP.0;
        assert_eq!(split(&udp, 1448, &mut scratch, |_| {}), Err(SplitError::NotTcp));
        assert_eq!(split(&small, 0, &mut scratch, |_| {}), Err(SplitError::ZeroSegmentSize));
        assert_eq!(split(&small[..30], 1448, &mut scratch, |_| {}), Err(SplitError::NotTcp));
    }

    /// Cutting a super-segment and gluing the pieces back gives the original, byte for byte,
    /// but for the checksum field (partial after gluing).
    #[test]
    fn split_then_coalesce_is_the_original() {
        for v6 in [false, true] {
            let big = packet(v6, 7, 40 * 1448 + 17, ACK | PSH);
            let mut pieces = Vec::new();
            let mut scratch = Vec::new();
            split(&big, 1448, &mut scratch, |p| pieces.push(p.to_vec())).expect("split");
            let mut slot = vec![0u8; 70_000];
            let mut len = pieces[0].len();
            slot[..len].copy_from_slice(&pieces[0]);
            for p in &pieces[1..] {
                len = coalesce(&mut slot, len, p).expect("merges");
            }
            let merged = &slot[..len];
            assert_eq!(merged.len(), big.len());
            let f = TcpFrame::parse(merged).expect("merged parses");
            let ck = f.ip_header + 16..f.ip_header + 18;
            assert_eq!(merged[..ck.start], big[..ck.start]);
            assert_eq!(merged[ck.end..], big[ck.end..]);
            // The field holds the pseudo-header sum: adding the TCP bytes completes it.
            let mut done = merged.to_vec();
            write_tcp_checksum(&mut done, &f);
            assert_eq!(done, big);
        }
    }

    #[test]
    fn coalesce_refuses_what_cannot_be_one_segment() {
        let a = packet(false, 1, 100, ACK);
        let mut slot = vec![0u8; 70_000];
        let try_merge = |slot: &mut Vec<u8>, next: &[u8]| {
            slot[..a.len()].copy_from_slice(&a);
            coalesce(slot, a.len(), next)
        };
        assert!(try_merge(&mut slot, &packet(false, 101, 100, ACK)).is_some(), "in order");
        assert!(try_merge(&mut slot, &packet(false, 101, 100, ACK | PSH)).is_some(), "PSH last");
        assert!(try_merge(&mut slot, &packet(false, 102, 100, ACK)).is_none(), "gap");
        assert!(try_merge(&mut slot, &packet(false, 101, 0, ACK)).is_none(), "pure ACK");
        assert!(try_merge(&mut slot, &packet(false, 101, 100, ACK | FIN)).is_none(), "FIN");
        assert!(try_merge(&mut slot, &packet(true, 101, 100, ACK)).is_none(), "family");
        let mut other_ack = packet(false, 101, 100, ACK);
        other_ack[28] ^= 1;
        assert!(try_merge(&mut slot, &other_ack).is_none(), "acknowledgment");
        let mut other_ts = packet(false, 101, 100, ACK);
        other_ts[20 + 27] ^= 1;
        assert!(try_merge(&mut slot, &other_ts).is_none(), "options");
        let mut other_port = packet(false, 101, 100, ACK);
        other_port[21] ^= 1;
        assert!(try_merge(&mut slot, &other_port).is_none(), "ports");
        // A head that ended with PSH takes nothing more.
        let psh = packet(false, 1, 100, ACK | PSH);
        slot[..psh.len()].copy_from_slice(&psh);
        assert!(coalesce(&mut slot, psh.len(), &packet(false, 101, 100, ACK)).is_none());
        // No room in the head's buffer.
        let mut tight = a.clone();
        assert!(coalesce(&mut tight, a.len(), &packet(false, 101, 100, ACK)).is_none());
    }
}
