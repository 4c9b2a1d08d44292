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

/// The AccECN option (RFC 9768 section 3.2.3): up to three 24-bit byte counters of the IP-ECN
/// codepoints the sender of the option has received. Kind 172 (order 0) carries them as EE0B,
/// ECEB, EE1B; kind 174 (order 1) as EE1B, ECEB, EE0B; trailing fields may be left out. The
/// counter values are kept as they are on the wire (Linux starts EE0B and EE1B at 1).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct AccEcnOption {
    order1: bool,
    fields: u8,
    /// The counters in wire order.
    values: [u32; 3],
}

impl AccEcnOption {
    /// The order-1 option (kind 174) with its first `fields` (at most 3) of EE1B, ECEB, EE0B.
    pub fn order1(e1b: u32, ceb: u32, e0b: u32, fields: u8) -> Self {
        Self::built(true, [e1b, ceb, e0b], fields)
    }
    /// The order-0 option (kind 172) with its first `fields` (at most 3) of EE0B, ECEB, EE1B.
    pub fn order0(e0b: u32, ceb: u32, e1b: u32, fields: u8) -> Self {
        Self::built(false, [e0b, ceb, e1b], fields)
    }
    /// Fields past `fields` are zero, so two options that say the same compare equal.
    fn built(order1: bool, values: [u32; 3], fields: u8) -> Self {
        let fields = fields.min(3);
        let mut v = [0; 3];
        for (i, x) in v.iter_mut().enumerate().take(fields as usize) {
            *x = values[i] & 0xff_ffff;
        }
        AccEcnOption { order1, fields, values: v }
    }
    /// A parsed option: whole 3-byte fields are read, at most three, the rest ignored.
    fn parsed(order1: bool, data: &[u8]) -> Self {
        let mut values = [0u32; 3];
        let fields = (data.len() / 3).min(3);
        for (i, v) in values.iter_mut().enumerate().take(fields) {
            let f = &data[3 * i..3 * i + 3];
            *v = u32::from_be_bytes([0, f[0], f[1], f[2]]);
        }
        AccEcnOption { order1, fields: fields as u8, values }
    }
    /// True for kind 174 (EE1B first).
    pub fn is_order1(&self) -> bool {
        self.order1
    }
    /// How many counters the option carries (0 to 3).
    pub fn fields(&self) -> u8 {
        self.fields
    }
    /// The counters in wire order.
    pub fn values(&self) -> &[u32] {
        &self.values[..self.fields as usize]
    }
    fn field(&self, at: usize) -> Option<u32> {
        (at < self.fields as usize).then(|| self.values[at])
    }
    /// EE0B, the ECT(0) byte counter, when carried.
    pub fn e0b(&self) -> Option<u32> {
        self.field(if self.order1 { 2 } else { 0 })
    }
    /// ECEB, the CE byte counter, when carried.
    pub fn ceb(&self) -> Option<u32> {
        self.field(1)
    }
    /// EE1B, the ECT(1) byte counter, when carried.
    pub fn e1b(&self) -> Option<u32> {
        self.field(if self.order1 { 0 } else { 2 })
    }
    /// The option kind.
    pub fn kind(&self) -> u8 {
        if self.order1 { kind::ACCECN1 } else { kind::ACCECN0 }
    }
    /// The option's own length on the wire (kind, length, 3 bytes per field).
    pub fn wire_len(&self) -> usize {
        2 + 3 * self.fields as usize
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
    /// The AccECN option (kinds 172 and 174, RFC 9768).
    pub accecn: Option<AccEcnOption>,
    /// The TCP MD5 signature option (kind 19, RFC 2385): the 16-byte digest. A sender sets it
    /// to any value (zeros) to reserve the option's place and fills it with
    /// [`crate::tcp::md5sig::sign`] once the segment is written; an option of another length
    /// than 18 is not kept (Linux's `tcp_parse_md5sig_option` ignores it too).
    pub md5: Option<[u8; 16]>,
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
    /// Kinds 172 and 174: AccECN byte counters.
    AccEcn(AccEcnOption),
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
    /// AccECN, order 0 (RFC 9768).
    pub const ACCECN0: u8 = 172;
    /// AccECN, order 1 (RFC 9768).
    pub const ACCECN1: u8 = 174;
    /// TCP MD5 signature (RFC 2385).
    pub const MD5SIG: u8 = 19;
    /// RFC 6994 experiments (shared by magic number); Fast Open used 0xF989.
    pub const EXPERIMENT: u8 = 254;
}

/// Most option bytes a header can hold (data offset 15 minus the 20-byte fixed header).
pub const MAX_OPTIONS_LEN: usize = 40;

//= rfc2385#3.0
//~ paraphrase: The option is kind 19, length 18: kind, length and a 16-byte MD5 digest.
/// Bytes of the MD5 signature option: kind, length and the 16-byte digest.
pub const MD5_LEN: usize = 18;

/// Bytes the MD5 signature option takes with the two NOPs that align it (Linux's
/// `TCPOLEN_MD5SIG_ALIGNED`): what it costs every segment's payload.
pub const MD5_ALIGNED_LEN: usize = 20;

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
            kind::ACCECN0 | kind::ACCECN1 => {
                TcpOption::AccEcn(AccEcnOption::parsed(k == kind::ACCECN1, data))
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
            kind::ACCECN0 | kind::ACCECN1 => {
                o.accecn = Some(AccEcnOption::parsed(k == kind::ACCECN1, data))
            }
            kind::MD5SIG => {
                if let Ok(d) = <[u8; 16]>::try_from(data) {
                    o.md5 = Some(d);
                }
            }
            _ => {}
        }
    }
    Ok(o)
}

/// Where the 16 digest bytes of the first well-formed MD5 signature option begin in `bytes`
/// (a header's option area), or `None` without one.
pub fn md5_digest_offset(bytes: &[u8]) -> Option<usize> {
    let mut rest = bytes;
    loop {
        let before = bytes.len() - rest.len();
        let (k, data) = step(&mut rest)?.ok()?;
        if k == kind::MD5SIG && data.len() == MD5_LEN - 2 {
            return Some(before + 2);
        }
    }
}

/// Bytes [`write()`] produces for `o` (always a multiple of four; may exceed 40).
pub fn written_len(o: &TcpOptions) -> usize {
    if o.accecn.is_some() {
        return linux_walk(o, &mut Counter(0));
    }
    let mut n = 0;
    if o.md5.is_some() {
        n += MD5_ALIGNED_LEN;
    }
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

/// Writes `o` into `out` the way Linux's `tcp_options_write` lays them out: `nop,nop,md5`; MSS; SACK-permitted
/// folded in front of timestamps (or `nop,nop,sackOK` without them); `nop,nop,TS`; `nop,wscale`;
/// `nop,nop,sack`; the Fast Open cookie padded with NOPs. Returns the bytes written, or
/// [`Error::OptionsTooLong`] / [`Error::BufferTooSmall`].
pub fn write(o: &TcpOptions, out: &mut [u8]) -> Result<usize, Error> {
    if let Some(n) = write_timestamps_only(o, out) {
        return Ok(n);
    }
    write_general(o, out)
}

/// When `o` holds timestamps and nothing else, the option every data segment of a
/// timestamps connection carries, writes NOP, NOP, Timestamps into `out` in one step (the
/// bytes [`write`] produces for it, in either layout) and returns `Some(12)`; `None`, having
/// written nothing, for any other set of options or an `out` shorter than 12 bytes.
#[inline]
pub fn write_timestamps_only(o: &TcpOptions, out: &mut [u8]) -> Option<usize> {
    if let TcpOptions {
        mss: None,
        window_scale: None,
        sack_permitted: false,
        sack,
        timestamps: Some(ts),
        fast_open: None,
        accecn: None,
        md5: None,
    } = o
        && sack.is_empty()
        && let Some(dst) = out.get_mut(..12)
    {
        let mut b = [kind::NOP, kind::NOP, kind::TIMESTAMPS, 10, 0, 0, 0, 0, 0, 0, 0, 0];
        b[4..8].copy_from_slice(&ts.tsval.to_be_bytes());
        b[8..].copy_from_slice(&ts.tsecr.to_be_bytes());
        dst.copy_from_slice(&b);
        return Some(12);
    }
    None
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
    let n = linux_walk(o, &mut w);
    debug_assert_eq!(n, len);
    Ok(len)
}

/// Linux's layout, written to `w`; returns its length.
///
/// The AccECN option follows the timestamps. When it does not end on a word boundary, its last
/// one or two bytes take the place of the NOPs in front of the next option that has them
/// (SACK-permitted or SACK blocks; window scale only for a single byte), or are padded with
/// NOPs to the word (Linux's `tcp_options_write`).
fn linux_walk(o: &TcpOptions, w: &mut impl Sink) -> usize {
    let nop2 = [kind::NOP, kind::NOP];
    let mut left = nop2;
    let mut left_n = 0usize;
    if let Some(d) = &o.md5 {
        w.bytes(&[kind::NOP, kind::NOP, kind::MD5SIG, MD5_LEN as u8]);
        w.bytes(d);
    }
    if let Some(mss) = o.mss {
        w.bytes(&[kind::MSS, 4]);
        w.bytes(&mss.to_be_bytes());
    }
    if let Some(ts) = o.timestamps {
        if o.sack_permitted {
            w.bytes(&[kind::SACK_PERMITTED, 2]);
        } else {
            w.bytes(&nop2);
        }
        w.bytes(&[kind::TIMESTAMPS, 10]);
        w.bytes(&ts.tsval.to_be_bytes());
        w.bytes(&ts.tsecr.to_be_bytes());
    }
    if let Some(a) = &o.accecn {
        let mut b = [kind::NOP; 12];
        b[0] = a.kind();
        b[1] = a.wire_len() as u8;
        for (i, v) in a.values().iter().enumerate() {
            b[2 + 3 * i..5 + 3 * i].copy_from_slice(&v.to_be_bytes()[1..]);
        }
        match a.fields() {
            0 => {
                left = [b[0], b[1]];
                left_n = 2;
            }
            1 => {
                w.bytes(&b[..4]);
                left = [b[4], kind::NOP];
                left_n = 1;
            }
            2 => w.bytes(&b[..8]),
            _ => w.bytes(&b[..12]),
        }
    }
    if o.timestamps.is_none() && o.sack_permitted {
        w.bytes(&left);
        w.bytes(&[kind::SACK_PERMITTED, 2]);
        (left, left_n) = (nop2, 0);
    }
    if let Some(ws) = o.window_scale {
        let first = if left_n == 1 { left[0] } else { kind::NOP };
        if left_n == 1 {
            (left, left_n) = (nop2, 0);
        }
        w.bytes(&[first, kind::WINDOW_SCALE, 3, ws]);
    }
    if !o.sack.is_empty() {
        w.bytes(&left);
        sack_option(w, o);
    } else if left_n > 0 {
        w.bytes(&left);
        w.bytes(&nop2);
    }
    if o.fast_open.is_some() {
        fast_open_option(w, o);
        while !w.at().is_multiple_of(4) {
            w.bytes(&[kind::NOP]);
        }
    }
    w.at()
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
    if let Some(d) = &o.md5 {
        //~ freebsd: tcp_addoptions puts the signature after the timestamps, preceded by NOPs
        //~ until it starts at 2 mod 4 (at least two when it comes first).
        bsd_align(w, |at| at % 4 == 2);
        w.bytes(&[kind::MD5SIG, MD5_LEN as u8]);
        w.bytes(d);
    }
    if !o.sack.is_empty() {
        bsd_align(w, |at| at % 4 == 2);
        sack_option(w, o);
    }
    if let Some(a) = &o.accecn {
        w.bytes(&[a.kind(), a.wire_len() as u8]);
        for v in a.values() {
            w.bytes(&v.to_be_bytes()[1..]);
        }
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

    /// The timestamps-only shortcut writes what both layouts' general paths write, and
    /// nothing for any other set of options or a short buffer.
    #[test]
    fn timestamps_only_shortcut_matches_both_layouts() {
        let ts = TcpOptions {
            timestamps: Some(Timestamps { tsval: 0x0102_0304, tsecr: 0xa0b0_c0d0 }),
            ..TcpOptions::default()
        };
        let mut quick = [0u8; 40];
        assert_eq!(write_timestamps_only(&ts, &mut quick), Some(12));
        for layout in [OptionLayout::Linux, OptionLayout::Bsd] {
            let mut b = [0u8; 40];
            let n = write_layout(&ts, layout, &mut b).unwrap();
            assert_eq!(n, written_len_layout(&ts, layout));
            assert_eq!(&b[..n], &quick[..12], "{layout:?}");
        }
        assert_eq!(write_general(&ts, &mut [0u8; 40]).unwrap(), 12);
        let mut short = [0u8; 11];
        assert_eq!(write_timestamps_only(&ts, &mut short), None);
        let others = [
            TcpOptions { mss: Some(1460), ..ts },
            TcpOptions { sack_permitted: true, ..ts },
            TcpOptions { md5: Some([0; 16]), ..ts },
            TcpOptions { timestamps: None, ..ts },
        ];
        for o in others {
            let mut b = [0u8; 40];
            assert_eq!(write_timestamps_only(&o, &mut b), None);
            assert_eq!(b, [0u8; 40]);
        }
    }

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
    fn same_items(b: &[u8], want: &[TcpOption<'_>]) -> bool {
        TcpOptionIter::new(b).map(|o| o.unwrap()).eq(want.iter().copied())
    }

    /// Linux's layouts with the AccECN option: after the timestamps, three fields padded with
    /// one NOP, and shorter options folded into the NOPs in front of the next option.
    #[test]
    fn accecn_linux_layouts() {
        use TcpOption::{AccEcn, Mss, NoOperation, SackPermitted, WindowScale};
        let full = AccEcnOption::order1(1, 0, 1, 3);
        // A SYN-ACK without timestamps: `mss,ECN e1b 1 ceb 0 e0b 1,nop,nop,nop,sackOK,nop,wscale`.
        let synack = TcpOptions {
            mss: Some(1460),
            sack_permitted: true,
            window_scale: Some(8),
            accecn: Some(full),
            ..TcpOptions::default()
        };
        let mut b = [0u8; 40];
        let n = write(&synack, &mut b).unwrap();
        assert_eq!(n, written_len(&synack));
        assert!(same_items(
            &b[..n],
            &[
                Mss(1460),
                AccEcn(full),
                NoOperation,
                NoOperation,
                NoOperation,
                SackPermitted,
                NoOperation,
                WindowScale(8)
            ]
        ));
        assert_eq!(&b[4..15], &[174, 11, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
        assert_eq!(collect(&b[..n]).unwrap(), synack);
        // Timestamps, two fields and two SACK blocks fill the 40 bytes exactly.
        let two = AccEcnOption::order1(2001, 1000, 0, 2);
        let mut ack = TcpOptions {
            timestamps: Some(Timestamps { tsval: 1, tsecr: 2 }),
            accecn: Some(two),
            ..TcpOptions::default()
        };
        ack.sack.push(SackBlock { left: SeqNum(3001), right: SeqNum(4001) });
        ack.sack.push(SackBlock { left: SeqNum(1001), right: SeqNum(2001) });
        let n = write(&ack, &mut b).unwrap();
        assert_eq!(n, 40);
        assert_eq!(&b[12..22], &[174, 8, 0, 7, 0xd1, 0, 3, 0xe8, 1, 1]);
        assert_eq!(collect(&b[..n]).unwrap(), ack);
        assert_eq!(two.e1b(), Some(2001));
        assert_eq!(two.ceb(), Some(1000));
        assert_eq!(two.e0b(), None);
        // One field: its last byte takes the first NOP of the SACK option.
        let one = AccEcnOption::order1(0x0001_0203, 0, 0, 1);
        let o = TcpOptions { accecn: Some(one), sack: ack.sack, ..TcpOptions::default() };
        let n = write(&o, &mut b).unwrap();
        assert_eq!(n, written_len(&o));
        assert_eq!(&b[..8], &[174, 5, 1, 2, 3, 1, 5, 18]);
        assert_eq!(collect(&b[..n]).unwrap(), o);
        // No field and nothing to fold into: kind, length and two NOPs.
        let empty = AccEcnOption::order1(0, 0, 0, 0);
        let o = TcpOptions { accecn: Some(empty), ..TcpOptions::default() };
        assert_eq!(write(&o, &mut b), Ok(4));
        assert_eq!(&b[..4], &[174, 2, 1, 1]);
        // One field before window scale: the byte replaces window scale's NOP.
        let o = TcpOptions { accecn: Some(one), window_scale: Some(7), ..TcpOptions::default() };
        assert_eq!(write(&o, &mut b), Ok(8));
        assert_eq!(&b[..8], &[174, 5, 1, 2, 3, 3, 3, 7]);
        assert_eq!(collect(&b[..8]).unwrap(), o);
    }

    /// Order 0 reads EE0B first; odd lengths keep the whole fields; counters are 24 bits.
    #[test]
    fn accecn_parse_orders_and_lengths() {
        let o = collect(&[172, 8, 0, 0, 5, 0, 0, 6, 1, 1]).unwrap().accecn.unwrap();
        assert!(!o.is_order1());
        assert_eq!((o.e0b(), o.ceb(), o.e1b()), (Some(5), Some(6), None));
        let o = collect(&[174, 6, 0, 0, 9, 7, 1, 1, 1, 1]).unwrap().accecn.unwrap();
        assert_eq!((o.fields(), o.e1b()), (1, Some(9)));
        let o = collect(&[174, 2, 1, 1]).unwrap().accecn.unwrap();
        assert_eq!((o.fields(), o.e1b(), o.e0b()), (0, None, None));
        assert_eq!(AccEcnOption::order1(0x1ff_ffff, 0, 0, 3).e1b(), Some(0xff_ffff));
        assert!(collect(&[174, 12, 0, 0, 0]).is_err(), "longer than the area");
    }
}
