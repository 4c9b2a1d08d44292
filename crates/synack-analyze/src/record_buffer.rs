//! The read buffer under the capture parsers: it holds at least one whole record (a pcap
//! packet record or a pcapng block) so that `pcap-file`'s slice parsers can take it apart.
//!
//! It starts small and doubles only when a record does not fit in what it already holds, so
//! its size follows the records actually read: a short or truncated file costs a few kilobytes,
//! and a length field claiming gigabytes costs nothing until the bytes arrive. One record may
//! be at most [`MAX_RECORD`] bytes, which bounds the memory for any input.

use pcap_file::PcapError;
use std::io::{ErrorKind, Read};

/// The first allocation, enough for several full-size Ethernet frames.
const INITIAL: usize = 16 * 1024;

/// The largest record accepted (the bound `pcap-file`'s own reader has).
pub(crate) const MAX_RECORD: usize = 8_000_000;

/// Bytes read from `R` and not yet consumed, at `buf[start..end]`.
pub(crate) struct RecordBuffer<R: Read> {
    reader: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

/// The error for a file that ends inside a record.
fn eof() -> PcapError {
    PcapError::IoError(ErrorKind::UnexpectedEof.into())
}

impl<R: Read> RecordBuffer<R> {
    pub(crate) fn new(reader: R) -> Self {
        RecordBuffer { reader, buf: Vec::new(), start: 0, end: 0 }
    }

    /// The bytes held.
    pub(crate) fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Drops the first `n` bytes held (a record the caller has parsed).
    pub(crate) fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
    }

    /// Bytes allocated (for the tests of the memory bound).
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// False at the end of the input (reading more if nothing is held).
    pub(crate) fn has_data(&mut self) -> Result<bool, PcapError> {
        Ok(self.start < self.end || self.fill()? > 0)
    }

    /// Reads until `probe` no longer answers `IncompleteBuffer` for the bytes held, and returns
    /// its answer: `Ok` when a whole record is held, or the error it found. A file that ends
    /// first gives `UnexpectedEof`.
    pub(crate) fn complete(
        &mut self,
        mut probe: impl FnMut(&[u8]) -> Result<(), PcapError>,
    ) -> Result<(), PcapError> {
        loop {
            match probe(self.data()) {
                Err(PcapError::IncompleteBuffer) => {}
                done => return done,
            }
            if self.fill()? == 0 {
                return Err(eof());
            }
        }
    }

    /// Moves what is held to the front, grows the buffer when it is full of one unfinished
    /// record, and reads once. Returns the bytes read (0 at the end of the input).
    fn fill(&mut self) -> Result<usize, PcapError> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            if self.buf.len() >= MAX_RECORD {
                return Err(PcapError::InvalidField("record longer than 8,000,000 bytes"));
            }
            let grown = (self.buf.len() * 2).clamp(INITIAL, MAX_RECORD);
            self.buf.resize(grown, 0);
        }
        let n = self.reader.read(&mut self.buf[self.end..]).map_err(PcapError::IoError)?;
        self.end += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record of `n` bytes after a 4-byte big-endian length.
    fn whole(d: &[u8]) -> Result<(), PcapError> {
        if d.len() < 4 {
            return Err(PcapError::IncompleteBuffer);
        }
        let n = u32::from_be_bytes([d[0], d[1], d[2], d[3]]) as usize;
        if d.len() < 4 + n { Err(PcapError::IncompleteBuffer) } else { Ok(()) }
    }

    #[test]
    fn grows_only_with_the_bytes_that_arrive() {
        // A length field claiming 4 GB in a 104-byte input: one small allocation, then EOF.
        let mut input = u32::MAX.to_be_bytes().to_vec();
        input.extend_from_slice(&[0; 100]);
        let mut b = RecordBuffer::new(&input[..]);
        assert!(
            matches!(b.complete(whole), Err(PcapError::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof)
        );
        assert_eq!(b.capacity(), INITIAL);

        // A 100,000-byte record: the buffer doubles to hold it, no further.
        let mut input = 100_000u32.to_be_bytes().to_vec();
        input.extend_from_slice(&[7; 100_000]);
        let mut b = RecordBuffer::new(&input[..]);
        assert!(b.complete(whole).is_ok());
        assert_eq!(b.data().len(), 100_004);
        assert!(b.capacity() < 2 * 100_004, "{}", b.capacity());
        b.consume(100_004);
        assert!(!b.has_data().unwrap());
    }

    #[test]
    fn a_record_past_the_limit_is_an_error() {
        let len = (MAX_RECORD as u32).to_be_bytes();
        let input =
            len.iter().copied().chain(core::iter::repeat_n(0, MAX_RECORD)).collect::<Vec<_>>();
        let mut b = RecordBuffer::new(&input[..]);
        assert!(matches!(b.complete(whole), Err(PcapError::InvalidField(_))));
        assert_eq!(b.capacity(), MAX_RECORD);
    }
}
