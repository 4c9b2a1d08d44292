//! A zero-copy view of a TCP header and payload (RFC 9293 section 3.1).

use super::flags::TcpFlags;
use super::options::TcpOptionIter;
use crate::checksum::{self, ChecksumMode};
use crate::error::{Error, Layer, Result};
use crate::field::{be16, be32, put16, put32};
use crate::ip::IpProtocol;
use crate::seq::SeqNum;
use core::net::IpAddr;

/// Length of the fixed TCP header.
pub const HEADER_LEN: usize = 20;

mod at {
    pub(super) const SRC_PORT: usize = 0;
    pub(super) const DST_PORT: usize = 2;
    pub(super) const SEQ: usize = 4;
    pub(super) const ACK: usize = 8;
    pub(super) const OFF_FLAGS: usize = 12;
    pub(super) const WINDOW: usize = 14;
    pub(super) const CHECKSUM: usize = 16;
    pub(super) const URGENT: usize = 18;
}

/// A TCP segment in a buffer. After [`TcpPacket::new_checked`] every accessor is in bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpPacket<B> {
    buf: B,
}

impl<B: AsRef<[u8]>> TcpPacket<B> {
    /// Wraps a buffer without checking it; accessors may panic if it is malformed. Use
    /// [`TcpPacket::new_checked`] for anything from the network.
    pub const fn new_unchecked(buf: B) -> Self {
        TcpPacket { buf }
    }

    /// Wraps a buffer after checking that the fixed header and the options the data offset
    /// declares are all present.
    pub fn new_checked(buf: B) -> Result<Self> {
        let p = TcpPacket { buf };
        p.check_len()?;
        Ok(p)
    }

    /// The checks [`TcpPacket::new_checked`] makes.
    pub fn check_len(&self) -> Result<()> {
        let b = self.buf.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated { layer: Layer::Tcp });
        }
        //= rfc9293#3.1
        // Data offset counts 32-bit words of header; below five cannot hold the fixed header.
        let hl = ((b[at::OFF_FLAGS] >> 4) as usize) * 4;
        if hl < HEADER_LEN {
            return Err(Error::BadHeaderLen { layer: Layer::Tcp, len: hl });
        }
        if hl > b.len() {
            return Err(Error::Truncated { layer: Layer::Tcp });
        }
        Ok(())
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> B {
        self.buf
    }

    /// The whole buffer (header and payload).
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.as_ref()
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        be16(self.buf.as_ref(), at::SRC_PORT)
    }
    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        be16(self.buf.as_ref(), at::DST_PORT)
    }
    /// Sequence number.
    pub fn seq_number(&self) -> SeqNum {
        SeqNum(be32(self.buf.as_ref(), at::SEQ))
    }
    /// Acknowledgment number.
    pub fn ack_number(&self) -> SeqNum {
        SeqNum(be32(self.buf.as_ref(), at::ACK))
    }
    /// Data offset in 32-bit words.
    pub fn data_offset(&self) -> u8 {
        self.buf.as_ref()[at::OFF_FLAGS] >> 4
    }
    /// Header length in bytes (data offset times four).
    pub fn header_len(&self) -> usize {
        self.data_offset() as usize * 4
    }
    /// Control bits: the 12 bits after the data offset (reserved, AE, CWR .. FIN).
    pub fn flags(&self) -> TcpFlags {
        TcpFlags(be16(self.buf.as_ref(), at::OFF_FLAGS) & 0x0fff)
    }
    /// Window field (unscaled).
    pub fn window_len(&self) -> u16 {
        be16(self.buf.as_ref(), at::WINDOW)
    }
    /// Checksum field.
    pub fn checksum(&self) -> u16 {
        be16(self.buf.as_ref(), at::CHECKSUM)
    }
    /// Urgent pointer.
    pub fn urgent_pointer(&self) -> u16 {
        be16(self.buf.as_ref(), at::URGENT)
    }
    /// The option bytes, between the fixed header and the data offset.
    pub fn options_bytes(&self) -> &[u8] {
        &self.buf.as_ref()[HEADER_LEN..self.header_len()]
    }
    /// The options in wire order; a malformed option yields one `Err` and ends the iteration.
    pub fn options(&self) -> TcpOptionIter<'_> {
        TcpOptionIter::new(self.options_bytes())
    }
    /// The payload: everything after the header.
    pub fn payload(&self) -> &[u8] {
        &self.buf.as_ref()[self.header_len()..]
    }
    /// Segment length for the sequence space: payload plus SYN plus FIN.
    pub fn segment_len(&self) -> u32 {
        let f = self.flags();
        self.payload().len() as u32 + f.syn() as u32 + f.fin() as u32
    }

    /// True when the checksum verifies against the pseudo-header of `src` and `dst`.
    pub fn verify_checksum(&self, src: IpAddr, dst: IpAddr) -> Result<bool> {
        let b = self.buf.as_ref();
        let ph = checksum::pseudo_header(src, dst, IpProtocol::TCP, b.len() as u32)?;
        Ok(checksum::fold(ph + checksum::sum(b)) == 0xffff)
    }

    /// Verifies the checksum when `mode` asks to, as an error.
    pub fn check_checksum(&self, src: IpAddr, dst: IpAddr, mode: ChecksumMode) -> Result<()> {
        if mode.verify() && !self.verify_checksum(src, dst)? {
            return Err(Error::BadChecksum { layer: Layer::Tcp });
        }
        Ok(())
    }
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> TcpPacket<B> {
    /// Sets the source port.
    pub fn set_src_port(&mut self, v: u16) {
        put16(self.buf.as_mut(), at::SRC_PORT, v)
    }
    /// Sets the destination port.
    pub fn set_dst_port(&mut self, v: u16) {
        put16(self.buf.as_mut(), at::DST_PORT, v)
    }
    /// Sets the sequence number.
    pub fn set_seq_number(&mut self, v: SeqNum) {
        put32(self.buf.as_mut(), at::SEQ, v.0)
    }
    /// Sets the acknowledgment number.
    pub fn set_ack_number(&mut self, v: SeqNum) {
        put32(self.buf.as_mut(), at::ACK, v.0)
    }
    /// Sets the data offset (in words) and the control bits together (they share two bytes).
    pub fn set_offset_and_flags(&mut self, data_offset: u8, flags: TcpFlags) {
        put16(
            self.buf.as_mut(),
            at::OFF_FLAGS,
            ((data_offset as u16 & 0xf) << 12) | (flags.0 & 0x0fff),
        )
    }
    /// Sets the window field.
    pub fn set_window_len(&mut self, v: u16) {
        put16(self.buf.as_mut(), at::WINDOW, v)
    }
    /// Sets the checksum field.
    pub fn set_checksum(&mut self, v: u16) {
        put16(self.buf.as_mut(), at::CHECKSUM, v)
    }
    /// Sets the urgent pointer.
    pub fn set_urgent_pointer(&mut self, v: u16) {
        put16(self.buf.as_mut(), at::URGENT, v)
    }
    /// The payload, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len();
        &mut self.buf.as_mut()[hl..]
    }
    /// Computes and writes the checksum over the whole buffer with the pseudo-header.
    pub fn fill_checksum(&mut self, src: IpAddr, dst: IpAddr) -> Result<()> {
        self.set_checksum(0);
        let b = self.buf.as_ref();
        let ph = checksum::pseudo_header(src, dst, IpProtocol::TCP, b.len() as u32)?;
        let c = checksum::finish(ph + checksum::sum(b));
        self.set_checksum(c);
        Ok(())
    }
}
