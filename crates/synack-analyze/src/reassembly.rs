//! IPv4 fragment reassembly for the analysis, as tshark does it: the fragments of a datagram
//! are kept until the last missing piece arrives, and the frame that completes the datagram
//! carries its TCP segment (earlier fragments carry none). tcpdump lines are not affected:
//! tcpdump prints each fragment as it is.
//!
//! Memory is bounded: at most [`MAX_PENDING`] datagrams are pending (the oldest is dropped
//! first), and a datagram never grows past 65,535 bytes.

use crate::decode::Decoded;
use std::collections::{HashMap, VecDeque};

/// Most datagrams waiting for fragments at once.
pub const MAX_PENDING: usize = 1024;

type Key = ([u8; 4], [u8; 4], u16, u8);

#[derive(Default)]
struct Pending {
    header: Vec<u8>,
    data: Vec<u8>,
    /// Byte ranges received, unsorted.
    have: Vec<(usize, usize)>,
    /// Payload length, known once the last fragment arrived.
    end: Option<usize>,
}

impl Pending {
    fn complete(&self) -> bool {
        let Some(end) = self.end else { return false };
        let mut r = self.have.clone();
        r.sort_unstable();
        let mut upto = 0;
        for (a, b) in r {
            if a > upto {
                return false;
            }
            upto = upto.max(b);
        }
        upto >= end
    }
}

/// Collects IPv4 fragments per (source, destination, identification, protocol).
#[derive(Default)]
pub struct Reassembler {
    pending: HashMap<Key, Pending>,
    order: VecDeque<Key>,
}

impl Reassembler {
    /// An empty reassembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes a decoded frame; when it is the IPv4 fragment that completes a datagram, returns
    /// the whole datagram (header with the fragment fields cleared, then the payload).
    pub fn push(&mut self, d: &Decoded<'_>) -> Option<Vec<u8>> {
        let ip = d.ip?;
        if ip.version != 4 || ip.outer.is_some() {
            return None;
        }
        let l3 = d.l3;
        let frag = u16::from_be_bytes([*l3.get(6)?, *l3.get(7)?]);
        let (off, more) = (usize::from(frag & 0x1fff) * 8, frag & 0x2000 != 0);
        if off == 0 && !more {
            return None;
        }
        let hl = usize::from(l3[0] & 0x0f) * 4;
        let total = ip.total_len.min(l3.len());
        let body = l3.get(hl..total)?;
        // Only fragments captured whole can be reassembled.
        if total < ip.total_len || off + body.len() > 65_535 {
            return None;
        }
        let key: Key =
            (l3[12..16].try_into().ok()?, l3[16..20].try_into().ok()?, ip.ident, ip.protocol);
        if !self.pending.contains_key(&key) {
            if self.pending.len() >= MAX_PENDING
                && let Some(old) = self.order.pop_front()
            {
                self.pending.remove(&old);
            }
            self.order.push_back(key);
        }
        let p = self.pending.entry(key).or_default();
        if off == 0 {
            p.header = l3[..hl].to_vec();
        }
        if p.data.len() < off + body.len() {
            p.data.resize(off + body.len(), 0);
        }
        p.data[off..off + body.len()].copy_from_slice(body);
        p.have.push((off, off + body.len()));
        if !more {
            p.end = Some(off + body.len());
        }
        if !p.complete() || p.header.is_empty() {
            return None;
        }
        let p = self.pending.remove(&key)?;
        self.order.retain(|k| *k != key);
        let end = p.end.unwrap_or(0);
        let mut out = p.header;
        let total = out.len() + end;
        out[2..4].copy_from_slice(&(total.min(65_535) as u16).to_be_bytes());
        out[6] = 0;
        out[7] = 0;
        out.extend_from_slice(&p.data[..end]);
        Some(out)
    }
}

/// What the analysis sees of each frame: the frame itself, or, for the fragment that completes
/// an IPv4 datagram, the reassembled datagram.
#[derive(Default)]
pub struct AnalysisView {
    reasm: Reassembler,
    datagram: Vec<u8>,
}

impl AnalysisView {
    /// A view with nothing pending.
    pub fn new() -> Self {
        Self::default()
    }

    /// The decoded packet the analysis should use for frame `d`.
    pub fn of<'a>(&'a mut self, d: Decoded<'a>) -> Decoded<'a> {
        match self.reasm.push(&d) {
            Some(datagram) => {
                self.datagram = datagram;
                crate::decode::decode(crate::capture::linktype::RAW, &self.datagram)
            }
            None => d,
        }
    }
}
