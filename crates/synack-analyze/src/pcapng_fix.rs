//! A reader adapter that repairs one common pcapng flaw before the `pcap-file` crate sees the
//! stream: option lists that stop without their end-of-options marker. The format says a list
//! ends with `opt_endofopt`, but writers omit it and tcpdump and tshark read such files; the
//! crate rejects them. The adapter walks the block framing and, where a block's options end
//! without the marker, appends one (growing the block's two length fields by four bytes).
//!
//! Anything it does not understand (a block longer than [`MAX_BLOCK`], a bad length) makes it
//! stop repairing and pass the rest through untouched, so the crate reports the damage.

use std::io::{self, Read};

/// Largest block the adapter holds in memory to repair.
pub const MAX_BLOCK: usize = 16 << 20;

/// Repairs option lists of the pcapng stream read from `inner`.
pub struct PcapNgFix<R> {
    inner: R,
    /// Bytes ready to hand out.
    out: Vec<u8>,
    at: usize,
    big_endian: bool,
    /// Repairing stopped: everything else is passed through.
    passthrough: bool,
}

impl<R: Read> PcapNgFix<R> {
    /// Wraps a stream positioned at the start of a pcapng file.
    pub fn new(inner: R) -> Self {
        PcapNgFix { inner, out: Vec::new(), at: 0, big_endian: false, passthrough: false }
    }

    fn u32_at(&self, b: &[u8]) -> u32 {
        let a = [b[0], b[1], b[2], b[3]];
        if self.big_endian { u32::from_be_bytes(a) } else { u32::from_le_bytes(a) }
    }

    fn u16_at(&self, b: &[u8]) -> u16 {
        if self.big_endian {
            u16::from_be_bytes([b[0], b[1]])
        } else {
            u16::from_le_bytes([b[0], b[1]])
        }
    }

    /// Reads exactly `buf.len()` bytes, or fewer at the end of the stream.
    fn fill(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut got = 0;
        while got < buf.len() {
            match self.inner.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(got)
    }

    /// Loads the next block into `out`, repaired.
    fn next_block(&mut self) -> io::Result<()> {
        self.out.clear();
        self.at = 0;
        let mut head = [0u8; 12];
        let n = self.fill(&mut head[..8])?;
        if n < 8 {
            self.out.extend_from_slice(&head[..n]);
            return Ok(());
        }
        let typ_le = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        if typ_le == 0x0A0D_0D0A {
            // A section header: its byte-order magic sets the endianness.
            let m = self.fill(&mut head[8..12])?;
            if m < 4 {
                self.out.extend_from_slice(&head[..8 + m]);
                return Ok(());
            }
            self.big_endian = head[8..12] == [0x1A, 0x2B, 0x3C, 0x4D];
        }
        let typ = self.u32_at(&head[0..4]);
        let len = self.u32_at(&head[4..8]) as usize;
        let have = if typ == 0x0A0D_0D0A { 12 } else { 8 };
        if !(12..=MAX_BLOCK).contains(&len) || !len.is_multiple_of(4) {
            self.passthrough = true;
            self.out.extend_from_slice(&head[..have]);
            return Ok(());
        }
        let mut block = vec![0u8; len];
        block[..have].copy_from_slice(&head[..have]);
        let got = self.fill(&mut block[have..])?;
        block.truncate(have + got);
        if block.len() < len {
            self.passthrough = true;
            self.out = block;
            return Ok(());
        }
        let body = &block[8..len - 4];
        // Where the options start in the body, per block type.
        let fixed = match typ {
            0x0A0D_0D0A => Some(16),
            1 => Some(8),
            5 => Some(12),
            6 | 2 if body.len() >= 20 => {
                let cap = self.u32_at(&body[12..16]) as usize;
                Some(20 + cap.div_ceil(4) * 4)
            }
            _ => None,
        };
        let missing_end = fixed.is_some_and(|f| self.options_lack_end(body, f));
        if missing_end {
            let new_len = (len + 4) as u32;
            let bytes = if self.big_endian { new_len.to_be_bytes() } else { new_len.to_le_bytes() };
            self.out.extend_from_slice(&block[..4]);
            self.out.extend_from_slice(&bytes);
            self.out.extend_from_slice(&block[8..len - 4]);
            self.out.extend_from_slice(&[0, 0, 0, 0]);
            self.out.extend_from_slice(&bytes);
        } else {
            self.out = block;
        }
        Ok(())
    }

    /// True when the body has options from `start` on and they end without `opt_endofopt`.
    fn options_lack_end(&self, body: &[u8], start: usize) -> bool {
        let Some(mut opts) = body.get(start..) else { return false };
        if opts.is_empty() {
            return false;
        }
        while opts.len() >= 4 {
            let code = self.u16_at(&opts[0..2]);
            let l = usize::from(self.u16_at(&opts[2..4]));
            if code == 0 {
                return false;
            }
            let step = 4 + l.div_ceil(4) * 4;
            if step > opts.len() {
                return false;
            }
            opts = &opts[step..];
        }
        opts.is_empty()
    }
}

impl<R: Read> Read for PcapNgFix<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at >= self.out.len() {
            if self.passthrough {
                return self.inner.read(buf);
            }
            self.next_block()?;
            if self.out.is_empty() {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.out.len() - self.at);
        buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(t: u32, body: &[u8]) -> Vec<u8> {
        let len = (12 + body.len()) as u32;
        let mut b = t.to_le_bytes().to_vec();
        b.extend_from_slice(&len.to_le_bytes());
        b.extend_from_slice(body);
        b.extend_from_slice(&len.to_le_bytes());
        b
    }

    #[test]
    fn options_get_their_end_marker() {
        let mut shb = 0x1A2B_3C4Du32.to_le_bytes().to_vec();
        shb.extend_from_slice(&[1, 0, 0, 0]);
        shb.extend_from_slice(&(-1i64).to_le_bytes());
        let mut idb = vec![1, 0, 0, 0, 0xff, 0xff, 0, 0];
        idb.extend_from_slice(&[9, 0, 1, 0, 6, 0, 0, 0]);
        let mut file = block(0x0A0D_0D0A, &shb);
        file.extend(block(1, &idb));
        let mut fixed = Vec::new();
        PcapNgFix::new(&file[..]).read_to_end(&mut fixed).expect("read");
        assert_eq!(fixed.len(), file.len() + 4);
        let idb_fixed = &fixed[28..];
        assert_eq!(u32::from_le_bytes(idb_fixed[4..8].try_into().expect("len")), 32);
        assert_eq!(&idb_fixed[24..28], &[0, 0, 0, 0]);
        // A file that needs nothing passes unchanged.
        let mut again = Vec::new();
        PcapNgFix::new(&fixed[..]).read_to_end(&mut again).expect("read");
        assert_eq!(again, fixed);
    }
}
