//! The parsed form of a TCP segment: every header field of RFC 9293 section 3.1 and the options
//! the stack understands, as plain values the engine can read and build.

use super::options::{self, MAX_OPTIONS_LEN};
use super::packet::{HEADER_LEN, TcpPacket};
use crate::checksum::ChecksumMode;
use crate::error::{Error, Layer, Result};
use crate::seq::SeqNum;
use core::fmt;
use core::net::IpAddr;

/// The TCP control bits, including the reserved bits and AE (RFC 9293 section 3.1, RFC 3168,
/// RFC 9768's Accurate ECN bit), kept as the 12 low bits of the 13th and 14th header bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u16);

impl TcpFlags {
    /// FIN: no more data from sender.
    pub const FIN: TcpFlags = TcpFlags(0x001);
    /// SYN: synchronize sequence numbers.
    pub const SYN: TcpFlags = TcpFlags(0x002);
    /// RST: reset the connection.
    pub const RST: TcpFlags = TcpFlags(0x004);
    /// PSH: push function.
    pub const PSH: TcpFlags = TcpFlags(0x008);
    /// ACK: the acknowledgment field is significant.
    pub const ACK: TcpFlags = TcpFlags(0x010);
    /// URG: the urgent pointer field is significant.
    pub const URG: TcpFlags = TcpFlags(0x020);
    /// ECE: ECN-Echo (RFC 3168).
    pub const ECE: TcpFlags = TcpFlags(0x040);
    /// CWR: congestion window reduced (RFC 3168).
    pub const CWR: TcpFlags = TcpFlags(0x080);
    /// AE: accurate ECN (formerly NS, RFC 3540 / RFC 9768).
    pub const AE: TcpFlags = TcpFlags(0x100);
    /// The three reserved bits (must be zero on send, ignored on receive).
    pub const RESERVED: TcpFlags = TcpFlags(0xE00);
    /// No flags.
    pub const NONE: TcpFlags = TcpFlags(0);

    /// All bits of `other` are set in `self`.
    #[inline]
    pub const fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }
    /// Any bit of `other` is set in `self`.
    #[inline]
    pub const fn intersects(self, other: TcpFlags) -> bool {
        self.0 & other.0 != 0
    }
    /// Union.
    #[inline]
    pub const fn union(self, other: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | other.0)
    }
    /// `self` without the bits of `other`.
    #[inline]
    pub const fn without(self, other: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 & !other.0)
    }
    /// SYN set.
    #[inline]
    pub const fn syn(self) -> bool {
        self.contains(Self::SYN)
    }
    /// ACK set.
    #[inline]
    pub const fn ack(self) -> bool {
        self.contains(Self::ACK)
    }
    /// FIN set.
    #[inline]
    pub const fn fin(self) -> bool {
        self.contains(Self::FIN)
    }
    /// RST set.
    #[inline]
    pub const fn rst(self) -> bool {
        self.contains(Self::RST)
    }
    /// PSH set.
    #[inline]
    pub const fn psh(self) -> bool {
        self.contains(Self::PSH)
    }
    /// URG set.
    #[inline]
    pub const fn urg(self) -> bool {
        self.contains(Self::URG)
    }
}

impl core::ops::BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        self.union(rhs)
    }
}

impl core::ops::BitOrAssign for TcpFlags {
    fn bitor_assign(&mut self, rhs: TcpFlags) {
        self.0 |= rhs.0;
    }
}

impl fmt::Debug for TcpFlags {
    /// Prints tcpdump's letters (`S.`, `FP.`), which is what a person reading a test failure wants.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TcpFlags[{}]", crate::tcp::display::FlagLetters(*self))
    }
}

/// One SACK block: the half-open range `[left, right)` of sequence space (RFC 2018).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct SackBlock {
    /// First sequence number of the block.
    pub left: SeqNum,
    /// Sequence number just past the block.
    pub right: SeqNum,
}

/// Up to four SACK blocks (the most that fit in 40 option bytes), in the order they appear.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct SackBlocks {
    blocks: [SackBlock; 4],
    len: u8,
}

impl SackBlocks {
    /// The most blocks a SACK option can carry.
    pub const CAPACITY: usize = 4;

    /// No blocks.
    pub const fn new() -> Self {
        SackBlocks { blocks: [SackBlock { left: SeqNum(0), right: SeqNum(0) }; 4], len: 0 }
    }
    /// Appends a block; returns false (and drops it) when four are already held.
    pub fn push(&mut self, b: SackBlock) -> bool {
        if (self.len as usize) < Self::CAPACITY {
            self.blocks[self.len as usize] = b;
            self.len += 1;
            true
        } else {
            false
        }
    }
    /// The blocks, in option order.
    pub fn as_slice(&self) -> &[SackBlock] {
        &self.blocks[..self.len as usize]
    }
    /// Number of blocks.
    pub fn len(&self) -> usize {
        self.len as usize
    }
    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Keeps only the first `n` blocks.
    pub fn truncate(&mut self, n: usize) {
        if n < self.len as usize {
            self.len = n as u8;
        }
    }
}

/// The timestamps option (RFC 7323 section 3).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Timestamps {
    /// TSval: the sender's timestamp clock.
    pub tsval: u32,
    /// TSecr: the echoed TS.Recent.
    pub tsecr: u32,
}

/// A TCP Fast Open cookie (RFC 7413): empty (a cookie request) or 4 to 16 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct FastOpenCookie {
    bytes: [u8; 16],
    len: u8,
}

impl FastOpenCookie {
    /// Builds a cookie; `None` when longer than 16 bytes.
    pub fn new(cookie: &[u8]) -> Option<Self> {
        if cookie.len() > 16 {
            return None;
        }
        let mut bytes = [0; 16];
        bytes[..cookie.len()].copy_from_slice(cookie);
        Some(FastOpenCookie { bytes, len: cookie.len() as u8 })
    }
    /// The cookie bytes (empty for a request).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

/// The options the stack understands, as typed values. Unknown options are not kept here; they
/// are seen through the option iterator of the packet view ([`TcpOption::Unknown`]).
///
/// Emitting a `TcpOptions` writes the options in the order Linux uses, so a segment built from
/// parsed values re-emits byte for byte when the original came from Linux.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct TcpOptions {
    /// Maximum segment size (kind 2).
    pub mss: Option<u16>,
    /// Window scale shift count (kind 3), as sent (may exceed 14; the engine clamps).
    pub window_scale: Option<u8>,
    /// SACK permitted (kind 4).
    pub sack_permitted: bool,
    /// SACK blocks (kind 5).
    pub sack: SackBlocks,
    /// Timestamps (kind 8).
    pub timestamps: Option<Timestamps>,
    /// TCP Fast Open cookie (kind 34).
    pub fast_open: Option<FastOpenCookie>,
}

/// One option as it appears on the wire, yielded in order by the option iterator.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TcpOption<'a> {
    /// Kind 0: end of option list.
    EndOfList,
    /// Kind 1: no-operation (padding).
    NoOperation,
    /// Kind 2: maximum segment size.
    Mss(u16),
    /// Kind 3: window scale shift count.
    WindowScale(u8),
    /// Kind 4: SACK permitted.
    SackPermitted,
    /// Kind 5: SACK blocks.
    Sack(SackBlocks),
    /// Kind 8: timestamps.
    Timestamps(Timestamps),
    /// Kind 34: TCP Fast Open cookie.
    FastOpen(FastOpenCookie),
    /// Any other kind, kept as kind and data bytes (without the kind and length bytes).
    Unknown {
        /// Option kind.
        kind: u8,
        /// Option data.
        data: &'a [u8],
    },
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
        let opt_bytes: &'a [u8] = &bytes[HEADER_LEN..hl];
        let options = options::collect(opt_bytes)?;
        let mut canonical = [0u8; MAX_OPTIONS_LEN];
        let raw_options = match options::write(&options, &mut canonical) {
            Ok(n) if canonical[..n] == *opt_bytes => None,
            _ => Some(opt_bytes),
        };
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
