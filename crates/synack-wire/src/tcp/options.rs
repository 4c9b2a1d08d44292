//! TCP options (RFC 9293 section 3.2, RFC 7323, RFC 2018, RFC 7413): their typed values, a
//! bounded, non-panicking iterator over option bytes, and the writers that lay typed options
//! out in the order Linux uses ([`write`]) or FreeBSD's ([`write_layout`] with
//! [`OptionLayout::Bsd`]).

use crate::error::Error;
use crate::field::{be16, be32};
use crate::seq::SeqNum;

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

/// A TCP Fast Open cookie option (RFC 7413): empty (a cookie request) or the cookie bytes, in
/// the IANA kind 34 or the experimental kind 254 with magic 0xF989 (RFC 6994), which Linux
/// still answers in kind.
///
/// The parser keeps an option whose length makes no valid cookie (1 to 3 bytes, odd, or more
/// than 16) instead of rejecting the segment: both reference stacks ignore such a cookie and
/// process the segment (Linux `tcp_parse_fastopen_option`, FreeBSD `tcp_dooptions`), so
/// [`is_valid`](Self::is_valid) is for the engine to ask. Bytes past 16 are not kept.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct FastOpenCookie {
    bytes: [u8; 16],
    /// The length on the wire (may exceed 16 for a parsed, invalid option).
    len: u8,
    experimental: bool,
}

/// The magic number that marks the experimental Fast Open option (kind 254, RFC 6994).
pub const FAST_OPEN_EXP_MAGIC: u16 = 0xF989;

impl FastOpenCookie {
    /// Builds a cookie in the IANA option; `None` when longer than 16 bytes.
    pub fn new(cookie: &[u8]) -> Option<Self> {
        if cookie.len() > 16 {
            return None;
        }
        let mut bytes = [0; 16];
        bytes[..cookie.len()].copy_from_slice(cookie);
        Some(FastOpenCookie { bytes, len: cookie.len() as u8, experimental: false })
    }
    /// The same cookie in the experimental option (kind 254, magic 0xF989).
    pub fn experimental(mut self) -> Self {
        self.experimental = true;
        self
    }
    /// The same cookie in the IANA option (kind 34).
    pub fn iana(mut self) -> Self {
        self.experimental = false;
        self
    }
    /// Whether this came (or goes) in the experimental option.
    pub fn is_experimental(&self) -> bool {
        self.experimental
    }
    /// A parsed option of any length: its first 16 bytes are kept.
    fn parsed(data: &[u8], experimental: bool) -> Self {
        let mut bytes = [0; 16];
        let n = data.len().min(16);
        bytes[..n].copy_from_slice(&data[..n]);
        FastOpenCookie { bytes, len: data.len().min(255) as u8, experimental }
    }
    /// The cookie bytes (empty for a request; at most 16, cut for an oversized parsed one).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..(self.len as usize).min(16)]
    }
    /// The cookie length on the wire.
    pub fn len(&self) -> usize {
        self.len as usize
    }
    /// True for a cookie request (no cookie bytes).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    //= rfc7413#4.1.1
    //~ paraphrase: A cookie is 4 to 16 bytes; Linux and FreeBSD also require an even length and
    //~ ignore any other.
    /// A request, or a cookie of a valid length.
    pub fn is_valid(&self) -> bool {
        self.len == 0 || ((4..=16).contains(&self.len) && self.len.is_multiple_of(2))
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

/// Option kinds.
pub mod kind {
    /// End of option list.
    pub const EOL: u8 = 0;
    /// No-operation.
    pub const NOP: u8 = 1;
    /// Maximum segment size.
    pub const MSS: u8 = 2;
    /// Window scale.
    pub const WINDOW_SCALE: u8 = 3;
    /// SACK permitted.
    pub const SACK_PERMITTED: u8 = 4;
    /// SACK.
    pub const SACK: u8 = 5;
    /// Timestamps.
    pub const TIMESTAMPS: u8 = 8;
    /// TCP Fast Open cookie.
    pub const FAST_OPEN: u8 = 34;
    /// RFC 6994 experiments (shared by magic number); Fast Open used 0xF989.
    pub const EXPERIMENT: u8 = 254;
}

/// Most option bytes a header can hold (data offset 15 minus the 20-byte fixed header).
pub const MAX_OPTIONS_LEN: usize = 40;

/// Iterates the options in a header's option bytes, in order.
///
/// Each step consumes at least one byte, so it ends after at most 40 items for any input. After
/// an `Err` or an end-of-list option it yields nothing more (bytes after EOL are padding).
#[derive(Clone, Debug)]
pub struct TcpOptionIter<'a> {
    rest: &'a [u8],
}

impl<'a> TcpOptionIter<'a> {
    /// Iterates `bytes` (a header's option area).
    pub const fn new(bytes: &'a [u8]) -> Self {
        TcpOptionIter { rest: bytes }
    }
}

/// Takes one option off the front of `rest`: its kind and data (the bytes after kind and
/// length; empty for EOL and NOP). On EOL or an error `rest` becomes empty, so a caller looping
/// on this ends after at most one step per byte.
#[inline]
fn step<'a>(rest: &mut &'a [u8]) -> Option<Result<(u8, &'a [u8]), Error>> {
    let bytes: &'a [u8] = rest;
    let (&k, after_kind) = bytes.split_first()?;
    match k {
        //= rfc9293#3.2
        // End of option list: what follows is padding, not options.
        kind::EOL => {
            *rest = &[];
            return Some(Ok((k, &[])));
        }
        //= rfc9293#3.2
        // No-operation is a single byte with no length byte.
        kind::NOP => {
            *rest = after_kind;
            return Some(Ok((k, &[])));
        }
        _ => {}
    }
    //= rfc9293#3.2
    // Every other option carries a length byte counting kind and length; a length under two
    // or past the option area is malformed (and would otherwise loop or overrun).
    let len = after_kind.first().copied().unwrap_or(0);
    let n = len as usize;
    if n < 2 || n > bytes.len() || !length_fits_kind(k, n) {
        *rest = &[];
        return Some(Err(Error::BadOptionLen { kind: k, len }));
    }
    *rest = &bytes[n..];
    Some(Ok((k, &bytes[2..n])))
}

/// The total length each understood kind must have (RFC 9293, RFC 7323, RFC 2018, RFC 7413).
#[inline]
fn length_fits_kind(k: u8, n: usize) -> bool {
    match k {
        kind::MSS => n == 4,
        kind::WINDOW_SCALE => n == 3,
        kind::SACK_PERMITTED => n == 2,
        //= rfc2018#3
        // A SACK option is two bytes plus eight per block, at least one block.
        kind::SACK => n >= 10 && (n - 2).is_multiple_of(8),
        kind::TIMESTAMPS => n == 10,
        _ => true,
    }
}

/// An experimental option (kind 254) carrying Fast Open's magic number.
fn is_fast_open_exp(data: &[u8]) -> bool {
    data.len() >= 2 && be16(data, 0) == FAST_OPEN_EXP_MAGIC
}

fn sack_blocks(data: &[u8]) -> SackBlocks {
    let mut blocks = SackBlocks::new();
    for b in data.chunks_exact(8) {
        blocks.push(SackBlock { left: SeqNum(be32(b, 0)), right: SeqNum(be32(b, 4)) });
    }
    blocks
}

impl<'a> Iterator for TcpOptionIter<'a> {
    type Item = Result<TcpOption<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let (k, data) = match step(&mut self.rest)? {
            Ok(x) => x,
            Err(e) => return Some(Err(e)),
        };
        Some(Ok(match k {
            kind::EOL => TcpOption::EndOfList,
            kind::NOP => TcpOption::NoOperation,
            kind::MSS => TcpOption::Mss(be16(data, 0)),
            kind::WINDOW_SCALE => TcpOption::WindowScale(data[0]),
            kind::SACK_PERMITTED => TcpOption::SackPermitted,
            kind::SACK => TcpOption::Sack(sack_blocks(data)),
            kind::TIMESTAMPS => {
                TcpOption::Timestamps(Timestamps { tsval: be32(data, 0), tsecr: be32(data, 4) })
            }
            kind::FAST_OPEN => TcpOption::FastOpen(FastOpenCookie::parsed(data, false)),
            kind::EXPERIMENT if is_fast_open_exp(data) => {
                TcpOption::FastOpen(FastOpenCookie::parsed(&data[2..], true))
            }
            _ => TcpOption::Unknown { kind: k, data },
        }))
    }
}

/// Collects the understood options into a [`TcpOptions`]; a later duplicate overrides an
/// earlier one, unknown options are skipped, and the first malformed option is the error.
/// (The same rules as [`TcpOptionIter`], without building each [`TcpOption`]: this is on the
/// receive path of every segment.)
pub fn collect(bytes: &[u8]) -> Result<TcpOptions, Error> {
    //= rfc7323#appendix-A
    // NOP, NOP, Timestamps is the layout every data segment of a timestamps connection
    // carries; recognising it whole skips the option walk on the per-segment hot path and
    // gives the same result as the walk (NOPs carry nothing).
    if let [kind::NOP, kind::NOP, kind::TIMESTAMPS, 10, ts @ ..] = bytes
        && ts.len() == 8
    {
        return Ok(TcpOptions {
            timestamps: Some(Timestamps { tsval: be32(ts, 0), tsecr: be32(ts, 4) }),
            ..TcpOptions::default()
        });
    }
    collect_walk(bytes)
}

/// [`collect`] by walking every option.
fn collect_walk(bytes: &[u8]) -> Result<TcpOptions, Error> {
    let mut o = TcpOptions::default();
    let mut rest = bytes;
    while let Some(item) = step(&mut rest) {
        let (k, data) = item?;
        match k {
            kind::MSS => o.mss = Some(be16(data, 0)),
            kind::WINDOW_SCALE => o.window_scale = Some(data[0]),
            kind::SACK_PERMITTED => o.sack_permitted = true,
            kind::SACK => o.sack = sack_blocks(data),
            kind::TIMESTAMPS => {
                o.timestamps = Some(Timestamps { tsval: be32(data, 0), tsecr: be32(data, 4) })
            }
            kind::FAST_OPEN => o.fast_open = Some(FastOpenCookie::parsed(data, false)),
            kind::EXPERIMENT if is_fast_open_exp(data) => {
                o.fast_open = Some(FastOpenCookie::parsed(&data[2..], true))
            }
            _ => {}
        }
    }
    Ok(o)
}

/// Bytes [`write()`] produces for `o` (always a multiple of four; may exceed 40).
pub fn written_len(o: &TcpOptions) -> usize {
    let mut n = 0;
    if o.mss.is_some() {
        n += 4;
    }
    if o.timestamps.is_some() {
        n += 12;
    } else if o.sack_permitted {
        n += 4;
    }
    if o.window_scale.is_some() {
        n += 4;
    }
    if !o.sack.is_empty() {
        n += 4 + 8 * o.sack.len();
    }
    if let Some(c) = &o.fast_open {
        n += fast_open_len(c).div_ceil(4) * 4;
    }
    n
}

/// Bytes of the Fast Open option itself: kind, length, the magic for the experimental form,
/// the cookie.
fn fast_open_len(c: &FastOpenCookie) -> usize {
    let base = if c.experimental { 4 } else { 2 };
    base + c.as_bytes().len()
}

/// Writes `o` into `out` the way Linux's `tcp_options_write` lays them out: MSS; SACK-permitted
/// folded in front of timestamps (or `nop,nop,sackOK` without them); `nop,nop,TS`; `nop,wscale`;
/// `nop,nop,sack`; the Fast Open cookie padded with NOPs. Returns the bytes written, or
/// [`Error::OptionsTooLong`] / [`Error::BufferTooSmall`].
pub fn write(o: &TcpOptions, out: &mut [u8]) -> Result<usize, Error> {
    // Every data segment of a timestamps connection carries only NOP, NOP, Timestamps: write
    // those 12 bytes in one step (the same bytes the general path below produces).
    if let TcpOptions {
        mss: None,
        window_scale: None,
        sack_permitted: false,
        sack,
        timestamps: Some(ts),
        fast_open: None,
    } = o
        && sack.is_empty()
        && let Some(dst) = out.get_mut(..12)
    {
        let mut b = [kind::NOP, kind::NOP, kind::TIMESTAMPS, 10, 0, 0, 0, 0, 0, 0, 0, 0];
        b[4..8].copy_from_slice(&ts.tsval.to_be_bytes());
        b[8..].copy_from_slice(&ts.tsecr.to_be_bytes());
        dst.copy_from_slice(&b);
        return Ok(12);
    }
    write_general(o, out)
}

/// [`write`] for any set of options.
fn write_general(o: &TcpOptions, out: &mut [u8]) -> Result<usize, Error> {
    let len = written_len(o);
    if len > MAX_OPTIONS_LEN {
        return Err(Error::OptionsTooLong { len });
    }
    if out.len() < len {
        return Err(Error::BufferTooSmall { layer: crate::error::Layer::TcpOption, needed: len });
    }
    let mut w = Writer { out, at: 0 };
    if let Some(mss) = o.mss {
        w.bytes(&[kind::MSS, 4]);
        w.bytes(&mss.to_be_bytes());
    }
    if let Some(ts) = o.timestamps {
        if o.sack_permitted {
            w.bytes(&[kind::SACK_PERMITTED, 2]);
        } else {
            w.bytes(&[kind::NOP, kind::NOP]);
        }
        w.bytes(&[kind::TIMESTAMPS, 10]);
        w.bytes(&ts.tsval.to_be_bytes());
        w.bytes(&ts.tsecr.to_be_bytes());
    } else if o.sack_permitted {
        w.bytes(&[kind::NOP, kind::NOP, kind::SACK_PERMITTED, 2]);
    }
    if let Some(ws) = o.window_scale {
        w.bytes(&[kind::NOP, kind::WINDOW_SCALE, 3, ws]);
    }
    if !o.sack.is_empty() {
        w.bytes(&[kind::NOP, kind::NOP]);
        sack_option(&mut w, o);
    }
    if o.fast_open.is_some() {
        fast_open_option(&mut w, o);
        while !w.at.is_multiple_of(4) {
            w.bytes(&[kind::NOP]);
        }
    }
    debug_assert_eq!(w.at, len);
    Ok(len)
}

/// How a sender lays out its options: which order, and which NOP/EOL padding. Any layout is
/// valid on the wire (RFC 9293 3.2: options may begin on any octet); stacks differ, and a
/// test that compares bytes (packetdrill's strict mode) sees the difference.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OptionLayout {
    /// Linux's `tcp_options_write` ([`write`]): each option NOP-padded to a 4-byte word,
    /// SACK-permitted folded in front of timestamps, window scale after timestamps.
    #[default]
    Linux,
    /// FreeBSD's `tcp_addoptions`: options in kind order (MSS, window scale, SACK-permitted,
    /// timestamps, SACK, Fast Open), each preceded only by the NOPs its own alignment needs
    /// (window scale at an odd offset, SACK-permitted at an even one, timestamps and SACK at
    /// 2 mod 4), the list ended with EOL and zero padding to a 4-byte word. A SYN reads
    /// `mss,nop,wscale,sackOK,TS`; a SYN-ACK with MSS and SACK-permitted `mss,sackOK,eol,eol`.
    Bsd,
}

/// Bytes [`write_layout`] produces for `o` in `layout` (a multiple of four; may exceed 40).
pub fn written_len_layout(o: &TcpOptions, layout: OptionLayout) -> usize {
    match layout {
        OptionLayout::Linux => written_len(o),
        OptionLayout::Bsd => bsd_walk(o, &mut Counter(0)),
    }
}

/// Writes `o` into `out` in `layout`; returns the bytes written, or [`Error::OptionsTooLong`]
/// / [`Error::BufferTooSmall`].
pub fn write_layout(o: &TcpOptions, layout: OptionLayout, out: &mut [u8]) -> Result<usize, Error> {
    match layout {
        OptionLayout::Linux => write(o, out),
        OptionLayout::Bsd => {
            let len = written_len_layout(o, layout);
            if len > MAX_OPTIONS_LEN {
                return Err(Error::OptionsTooLong { len });
            }
            if out.len() < len {
                return Err(Error::BufferTooSmall {
                    layer: crate::error::Layer::TcpOption,
                    needed: len,
                });
            }
            let mut w = Writer { out, at: 0 };
            let n = bsd_walk(o, &mut w);
            debug_assert_eq!(n, len);
            Ok(n)
        }
    }
}

/// Where [`bsd_walk`] puts bytes: a buffer already checked to be long enough, or a counter.
trait Sink {
    fn bytes(&mut self, b: &[u8]);
    fn at(&self) -> usize;
}

struct Counter(usize);

impl Sink for Counter {
    fn bytes(&mut self, b: &[u8]) {
        self.0 += b.len();
    }
    fn at(&self) -> usize {
        self.0
    }
}

impl Sink for Writer<'_> {
    fn bytes(&mut self, b: &[u8]) {
        Writer::bytes(self, b);
    }
    fn at(&self) -> usize {
        self.at
    }
}

/// The SACK option (RFC 2018 section 3): kind, length and the blocks, in the order given.
fn sack_option(w: &mut impl Sink, o: &TcpOptions) {
    w.bytes(&[kind::SACK, (2 + 8 * o.sack.len()) as u8]);
    for b in o.sack.as_slice() {
        w.bytes(&b.left.0.to_be_bytes());
        w.bytes(&b.right.0.to_be_bytes());
    }
}

/// The Fast Open option (RFC 7413 section 4.1.1) with its cookie, if there is one.
fn fast_open_option(w: &mut impl Sink, o: &TcpOptions) {
    if let Some(c) = &o.fast_open {
        let cookie = c.as_bytes();
        let len = fast_open_len(c) as u8;
        if c.experimental {
            w.bytes(&[kind::EXPERIMENT, len]);
            w.bytes(&FAST_OPEN_EXP_MAGIC.to_be_bytes());
        } else {
            w.bytes(&[kind::FAST_OPEN, len]);
        }
        w.bytes(cookie);
    }
}

/// NOPs until the option offset satisfies `ok`.
fn bsd_align(w: &mut impl Sink, ok: impl Fn(usize) -> bool) {
    while !ok(w.at()) {
        w.bytes(&[kind::NOP]);
    }
}

/// The FreeBSD layout, written to `w`; returns its length.
fn bsd_walk(o: &TcpOptions, w: &mut impl Sink) -> usize {
    if let Some(mss) = o.mss {
        w.bytes(&[kind::MSS, 4]);
        w.bytes(&mss.to_be_bytes());
    }
    if let Some(ws) = o.window_scale {
        bsd_align(w, |at| at % 2 == 1);
        w.bytes(&[kind::WINDOW_SCALE, 3, ws]);
    }
    if o.sack_permitted {
        bsd_align(w, |at| at % 2 == 0);
        w.bytes(&[kind::SACK_PERMITTED, 2]);
    }
    if let Some(ts) = o.timestamps {
        bsd_align(w, |at| at % 4 == 2);
        w.bytes(&[kind::TIMESTAMPS, 10]);
        w.bytes(&ts.tsval.to_be_bytes());
        w.bytes(&ts.tsecr.to_be_bytes());
    }
    if !o.sack.is_empty() {
        bsd_align(w, |at| at % 4 == 2);
        sack_option(w, o);
    }
    fast_open_option(w, o);
    if !w.at().is_multiple_of(4) {
        w.bytes(&[kind::EOL]);
    }
    while !w.at().is_multiple_of(4) {
        w.bytes(&[kind::EOL]);
    }
    w.at()
}

struct Writer<'b> {
    out: &'b mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn bytes(&mut self, b: &[u8]) {
        self.out[self.at..self.at + b.len()].copy_from_slice(b);
        self.at += b.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FreeBSD's layouts as its packetdrill suite shows them, and what the parser reads back.
    #[test]
    fn bsd_layout_matches_freebsd() {
        let syn = TcpOptions {
            mss: Some(1460),
            window_scale: Some(6),
            sack_permitted: true,
            timestamps: Some(Timestamps { tsval: 1, tsecr: 0 }),
            ..TcpOptions::default()
        };
        let mut b = [0u8; 40];
        let n = write_layout(&syn, OptionLayout::Bsd, &mut b).unwrap();
        assert_eq!(n, written_len_layout(&syn, OptionLayout::Bsd));
        assert_eq!(&b[..n], &[2, 4, 5, 0xb4, 1, 3, 3, 6, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0]);
        assert_eq!(collect(&b[..n]).unwrap(), syn);
        let synack = TcpOptions { mss: Some(1460), sack_permitted: true, ..TcpOptions::default() };
        let n = write_layout(&synack, OptionLayout::Bsd, &mut b).unwrap();
        assert_eq!(&b[..n], &[2, 4, 5, 0xb4, 4, 2, 0, 0]);
        // Data with timestamps and SACK: the same bytes as Linux's layout.
        let mut data = TcpOptions {
            timestamps: Some(Timestamps { tsval: 7, tsecr: 9 }),
            ..TcpOptions::default()
        };
        data.sack.push(SackBlock { left: SeqNum(1), right: SeqNum(2) });
        let (mut l, mut f) = ([0u8; 40], [0u8; 40]);
        let n = write_layout(&data, OptionLayout::Bsd, &mut f).unwrap();
        assert_eq!(write(&data, &mut l), Ok(n));
        assert_eq!(l, f);
        assert!(write_layout(&syn, OptionLayout::Bsd, &mut [0u8; 19]).is_err());
    }

    /// The NOP-NOP-Timestamps shortcut must agree with the full walk, and inputs that only
    /// resemble it (longer, shorter, other options after it) must take the walk.
    #[test]
    fn timestamps_shortcut_matches_walk() {
        let ts = [1, 1, 8, 10, 0, 0, 0, 7, 0x80, 0, 0, 9];
        let fast = collect(&ts).unwrap();
        assert_eq!(fast, collect_walk(&ts).unwrap());
        assert_eq!(fast.timestamps, Some(Timestamps { tsval: 7, tsecr: 0x8000_0009 }));
        let mut sack = ts.to_vec();
        sack.extend_from_slice(&[1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2]);
        assert_eq!(collect(&sack).unwrap(), collect_walk(&sack).unwrap());
        assert_eq!(collect(&sack).unwrap().sack.len(), 1);
        assert!(collect(&ts[..11]).is_err(), "truncated timestamps is malformed");
        let bad_len = [1, 1, 8, 9, 0, 0, 0, 7, 0, 0, 0, 9];
        assert!(collect(&bad_len).is_err());
    }

    /// The timestamps-only write shortcut produces the general path's bytes, and a buffer
    /// too small still gets the general path's error.
    #[test]
    fn timestamps_write_shortcut_matches_general() {
        let o = TcpOptions {
            timestamps: Some(Timestamps { tsval: 0x0102_0304, tsecr: 0xa0b0_c0d0 }),
            ..TcpOptions::default()
        };
        let (mut fast, mut general) = ([0xeeu8; 16], [0xeeu8; 16]);
        assert_eq!(write(&o, &mut fast), Ok(12));
        assert_eq!(write_general(&o, &mut general), Ok(12));
        assert_eq!(fast, general);
        assert_eq!(collect(&fast[..12]).unwrap(), o);
        let mut small = [0u8; 11];
        assert_eq!(write(&o, &mut small), write_general(&o, &mut [0u8; 11]));
        assert!(write(&o, &mut small).is_err());
    }

    /// Both Fast Open forms round-trip: the IANA kind 34 and the experimental kind 254 with
    /// magic 0xF989, as a request and with a cookie, in both layouts.
    #[test]
    fn fast_open_forms_round_trip() {
        let cookie = FastOpenCookie::new(&[0, 0xab, 0xaa, 0xab, 0xe8, 0xe9, 0x54, 0xc2]).unwrap();
        for c in [FastOpenCookie::default(), cookie] {
            for fo in [c, c.experimental()] {
                let o =
                    TcpOptions { mss: Some(1460), fast_open: Some(fo), ..TcpOptions::default() };
                for layout in [OptionLayout::Linux, OptionLayout::Bsd] {
                    let mut b = [0u8; 40];
                    let n = write_layout(&o, layout, &mut b).unwrap();
                    assert_eq!(n, written_len_layout(&o, layout));
                    let back = collect(&b[..n]).unwrap();
                    assert_eq!(back, o, "{layout:?} {:?}", &b[..n]);
                    assert!(back.fast_open.unwrap().is_valid());
                }
            }
        }
        // Linux's SYN-ACK answering an experimental request: `FOEXP` with an 8-byte cookie.
        let o = TcpOptions { fast_open: Some(cookie.experimental()), ..TcpOptions::default() };
        let mut b = [0u8; 12];
        assert_eq!(write(&o, &mut b), Ok(12));
        assert_eq!(&b[..4], &[254, 12, 0xf9, 0x89]);
        // The iterator yields the experimental form as Fast Open too.
        let mut items = TcpOptionIter::new(&b);
        assert_eq!(items.next(), Some(Ok(TcpOption::FastOpen(cookie.experimental()))));
        assert_eq!(items.next(), None);
    }

    /// An experimental option with another magic stays unknown; Fast Open options of lengths
    /// that make no cookie parse (the segment is kept) but are not valid cookies.
    #[test]
    fn fast_open_odd_lengths_and_other_experiments() {
        let other = [254, 4, 0x12, 0x34];
        assert_eq!(collect(&other).unwrap().fast_open, None);
        let short_exp = [254, 3, 0xf9, 1];
        assert_eq!(collect(&short_exp).unwrap().fast_open, None);
        for len in [1usize, 2, 3, 5, 7, 17, 20] {
            let mut b = [0u8; 40];
            b[..2].copy_from_slice(&[34, 2 + len as u8]);
            let c = collect(&b[..2 + len]).unwrap().fast_open.unwrap();
            assert_eq!(c.len(), len);
            assert!(!c.is_valid(), "length {len}");
            assert_eq!(c.as_bytes().len(), len.min(16));
        }
        for len in [4usize, 6, 16] {
            let mut b = [0u8; 40];
            b[..2].copy_from_slice(&[34, 2 + len as u8]);
            assert!(collect(&b[..2 + len]).unwrap().fast_open.unwrap().is_valid(), "length {len}");
        }
    }
}
