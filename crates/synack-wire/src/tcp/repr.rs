//! The parsed form of a TCP segment: every header field of RFC 9293 section 3.1 and the options
//! the stack understands, as plain values the engine can read and build.

pub use super::flags::TcpFlags;
pub use super::options::{
    FastOpenCookie, SackBlock, SackBlocks, TcpOption, TcpOptions, Timestamps,
};

use super::options::{self, MAX_OPTIONS_LEN};
use super::packet::{HEADER_LEN, TcpPacket};
use crate::checksum::ChecksumMode;
use crate::error::{Error, Layer, Result};
use crate::seq::SeqNum;
use core::net::IpAddr;

/// The typed options of `opt_bytes`, and the bytes themselves when writing the typed options
/// would not reproduce them (see [`TcpRepr::parse`]).
///
/// The two layouts nearly every segment carries, none and NOP, NOP, Timestamps (a data
/// segment or ACK of a timestamps connection), are recognised directly: both are what
/// [`options::write`] produces, so they need no raw bytes, the conclusion the general path
/// reaches by collecting the options, laying them out again and comparing (about 150
/// instructions a segment).
fn parse_options(opt_bytes: &[u8]) -> Result<(TcpOptions, Option<&[u8]>)> {
    use options::kind::{NOP, TIMESTAMPS};
    match *opt_bytes {
        [] => Ok((TcpOptions::default(), None)),
        [NOP, NOP, TIMESTAMPS, 10, a0, a1, a2, a3, b0, b1, b2, b3] => {
            let ts = Timestamps {
                tsval: u32::from_be_bytes([a0, a1, a2, a3]),
                tsecr: u32::from_be_bytes([b0, b1, b2, b3]),
            };
            Ok((TcpOptions { timestamps: Some(ts), ..TcpOptions::default() }, None))
        }
        _ => parse_options_general(opt_bytes),
    }
}

/// [`parse_options`] for any option bytes.
fn parse_options_general(opt_bytes: &[u8]) -> Result<(TcpOptions, Option<&[u8]>)> {
    let options = options::collect(opt_bytes)?;
    let mut canonical = [0u8; MAX_OPTIONS_LEN];
    let raw_options = match options::write(&options, &mut canonical) {
        Ok(n) if canonical[..n] == *opt_bytes => None,
        _ => Some(opt_bytes),
    };
    Ok((options, raw_options))
}

/// A parsed TCP segment: the header fields of RFC 9293 section 3.1 plus its payload.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TcpRepr<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: SeqNum,
    /// Acknowledgment number, as on the wire (meaningful when the ACK flag is set).
    pub ack: SeqNum,
    /// Control bits, with AE and the reserved bits.
    pub flags: TcpFlags,
    /// Window field, unscaled, as on the wire.
    pub window: u16,
    /// Urgent pointer, as on the wire.
    pub urgent: u16,
    /// The understood options, typed.
    pub options: TcpOptions,
    /// When `Some`, the exact option bytes to emit (padded with zeros to a multiple of four)
    /// instead of building them from `options`; parse fills it so a segment re-emits exactly.
    pub raw_options: Option<&'a [u8]>,
    /// Payload.
    pub payload: &'a [u8],
}

impl<'a> TcpRepr<'a> {
    /// Sequence space the segment occupies: payload length plus one for SYN and one for FIN.
    pub fn seq_len(&self) -> u32 {
        self.payload.len() as u32 + self.flags.syn() as u32 + self.flags.fin() as u32
    }

    /// Parses a checked view. `src` and `dst` are the IP addresses, for the pseudo-header
    /// checksum, verified when `mode` is [`ChecksumMode::Verify`].
    ///
    /// `raw_options` is `None` when emitting the typed `options` reproduces the option bytes
    /// exactly (Linux's layout, no unknown options), and `Some(bytes)` otherwise, so that
    /// `emit` always reproduces the segment byte for byte.
    pub fn parse<B: AsRef<[u8]> + ?Sized>(
        pkt: &TcpPacket<&'a B>,
        src: IpAddr,
        dst: IpAddr,
        mode: ChecksumMode,
    ) -> Result<TcpRepr<'a>> {
        let bytes: &'a [u8] = pkt.into_inner().as_ref();
        Self::parse_bytes(bytes, src, dst, mode)
    }

    /// Parses a TCP segment straight from bytes (header first), as [`TcpRepr::parse`] does.
    pub fn parse_bytes(
        bytes: &'a [u8],
        src: IpAddr,
        dst: IpAddr,
        mode: ChecksumMode,
    ) -> Result<TcpRepr<'a>> {
        let pkt = TcpPacket::new_checked(bytes)?;
        pkt.check_checksum(src, dst, mode)?;
        let hl = pkt.header_len();
        let (options, raw_options) = parse_options(&bytes[HEADER_LEN..hl])?;
        Ok(TcpRepr {
            src_port: pkt.src_port(),
            dst_port: pkt.dst_port(),
            seq: pkt.seq_number(),
            ack: pkt.ack_number(),
            flags: pkt.flags(),
            window: pkt.window_len(),
            urgent: pkt.urgent_pointer(),
            options,
            raw_options,
            payload: &bytes[hl..],
        })
    }

    /// Bytes of options `emit` writes, padded to a multiple of four (may exceed 40, in which
    /// case `emit` fails with [`Error::OptionsTooLong`]).
    pub fn options_len(&self) -> usize {
        match self.raw_options {
            Some(raw) => raw.len().div_ceil(4) * 4,
            None => options::written_len(&self.options),
        }
    }

    /// Header length `emit` writes: 20 plus the padded options.
    pub fn header_len(&self) -> usize {
        HEADER_LEN + self.options_len()
    }

    /// Total bytes `emit` writes: header plus payload.
    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.payload.len()
    }

    /// Writes header, options and payload into `buf[..self.buffer_len()]` and fills the
    /// checksum (zero with [`ChecksumMode::Skip`], for checksum offload). Returns the length.
    ///
    /// `raw_options`, when `Some`, is written verbatim and zero-padded; otherwise `options` is
    /// laid out the way Linux does it.
    pub fn emit(
        &self,
        buf: &mut [u8],
        src: IpAddr,
        dst: IpAddr,
        mode: ChecksumMode,
    ) -> Result<usize> {
        let olen = self.options_len();
        if olen > MAX_OPTIONS_LEN {
            return Err(Error::OptionsTooLong { len: olen });
        }
        let len = HEADER_LEN + olen + self.payload.len();
        if buf.len() < len {
            return Err(Error::BufferTooSmall { layer: Layer::Tcp, needed: len });
        }
        if matches!((src, dst), (IpAddr::V4(_), IpAddr::V6(_)) | (IpAddr::V6(_), IpAddr::V4(_))) {
            return Err(Error::AddressFamilyMismatch);
        }
        let buf = &mut buf[..len];
        let hl = HEADER_LEN + olen;
        match self.raw_options {
            Some(raw) => {
                buf[HEADER_LEN..HEADER_LEN + raw.len()].copy_from_slice(raw);
                buf[HEADER_LEN + raw.len()..hl].fill(0);
            }
            None => {
                options::write(&self.options, &mut buf[HEADER_LEN..hl])?;
            }
        }
        buf[hl..].copy_from_slice(self.payload);
        let mut pkt = TcpPacket::new_unchecked(buf);
        pkt.set_src_port(self.src_port);
        pkt.set_dst_port(self.dst_port);
        pkt.set_seq_number(self.seq);
        pkt.set_ack_number(self.ack);
        pkt.set_offset_and_flags((hl / 4) as u8, self.flags);
        pkt.set_window_len(self.window);
        pkt.set_urgent_pointer(self.urgent);
        pkt.set_checksum(0);
        if mode.verify() {
            pkt.fill_checksum(src, dst)?;
        }
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_layouts_parse_as_the_general_path_does() {
        let layouts: [&[u8]; 6] = [
            &[],
            &[1, 1, 8, 10, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe],
            &[1, 1, 8, 10, 0x80, 0, 0, 0, 0, 0, 0, 0],
            // Near misses take the general path: another order, other padding, a wrong length.
            &[8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1],
            &[1, 0, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2],
            &[1, 1, 8, 9, 0, 0, 0, 1, 0, 0, 0, 2],
        ];
        for (i, bytes) in layouts.iter().enumerate() {
            let fast = parse_options(bytes);
            assert_eq!(fast, parse_options_general(bytes), "layout {i}");
            if i < 3 {
                assert_eq!(fast.map(|(_, raw)| raw), Ok(None), "layout {i} is canonical");
            }
        }
        let (o, _) = parse_options(layouts[1]).expect("parses");
        assert_eq!(o.timestamps, Some(Timestamps { tsval: 1, tsecr: 0xffff_fffe }));
    }
}
