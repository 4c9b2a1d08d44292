//! TCP options on the wire (RFC 9293 section 3.2, RFC 7323, RFC 2018, RFC 7413): a bounded,
//! non-panicking iterator over option bytes, and the writer that lays typed options out in the
//! order Linux uses.

use super::repr::{FastOpenCookie, SackBlock, SackBlocks, TcpOption, TcpOptions, Timestamps};
use crate::error::Error;
use crate::field::{be16, be32};
use crate::seq::SeqNum;

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

impl<'a> Iterator for TcpOptionIter<'a> {
    type Item = Result<TcpOption<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let (&k, after_kind) = self.rest.split_first()?;
        match k {
            //= rfc9293#3.2
            // End of option list: what follows is padding, not options.
            kind::EOL => {
                self.rest = &[];
                return Some(Ok(TcpOption::EndOfList));
            }
            //= rfc9293#3.2
            // No-operation is a single byte with no length byte.
            kind::NOP => {
                self.rest = after_kind;
                return Some(Ok(TcpOption::NoOperation));
            }
            _ => {}
        }
        //= rfc9293#3.2
        // Every other option carries a length byte counting kind and length; a length under two
        // or past the option area is malformed (and would otherwise loop or overrun).
        let Some(&len) = after_kind.first() else {
            self.rest = &[];
            return Some(Err(Error::BadOptionLen { kind: k, len: 0 }));
        };
        let n = len as usize;
        if n < 2 || n > self.rest.len() {
            self.rest = &[];
            return Some(Err(Error::BadOptionLen { kind: k, len }));
        }
        let data = &self.rest[2..n];
        self.rest = &self.rest[n..];
        let bad = Err(Error::BadOptionLen { kind: k, len });
        let opt = match k {
            kind::MSS if n == 4 => TcpOption::Mss(be16(data, 0)),
            kind::WINDOW_SCALE if n == 3 => TcpOption::WindowScale(data[0]),
            kind::SACK_PERMITTED if n == 2 => TcpOption::SackPermitted,
            kind::SACK if n >= 10 && (n - 2).is_multiple_of(8) => {
                let mut blocks = SackBlocks::new();
                for b in data.chunks_exact(8) {
                    blocks.push(SackBlock { left: SeqNum(be32(b, 0)), right: SeqNum(be32(b, 4)) });
                }
                TcpOption::Sack(blocks)
            }
            kind::TIMESTAMPS if n == 10 => {
                TcpOption::Timestamps(Timestamps { tsval: be32(data, 0), tsecr: be32(data, 4) })
            }
            //= rfc7413#4.1.1
            // The cookie option is either empty (a request) or carries a 4 to 16 byte cookie.
            kind::FAST_OPEN if n == 2 || (6..=18).contains(&n) => match FastOpenCookie::new(data) {
                Some(c) => TcpOption::FastOpen(c),
                None => {
                    self.rest = &[];
                    return Some(bad);
                }
            },
            kind::MSS
            | kind::WINDOW_SCALE
            | kind::SACK_PERMITTED
            | kind::SACK
            | kind::TIMESTAMPS
            | kind::FAST_OPEN => {
                self.rest = &[];
                return Some(bad);
            }
            _ => TcpOption::Unknown { kind: k, data },
        };
        Some(Ok(opt))
    }
}

/// Collects the understood options into a [`TcpOptions`]; a later duplicate overrides an
/// earlier one, unknown options are skipped, and the first malformed option is the error.
pub fn collect(bytes: &[u8]) -> Result<TcpOptions, Error> {
    let mut o = TcpOptions::default();
    for opt in TcpOptionIter::new(bytes) {
        match opt? {
            TcpOption::Mss(v) => o.mss = Some(v),
            TcpOption::WindowScale(v) => o.window_scale = Some(v),
            TcpOption::SackPermitted => o.sack_permitted = true,
            TcpOption::Sack(b) => o.sack = b,
            TcpOption::Timestamps(t) => o.timestamps = Some(t),
            TcpOption::FastOpen(c) => o.fast_open = Some(c),
            TcpOption::EndOfList | TcpOption::NoOperation | TcpOption::Unknown { .. } => {}
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
        n += (2 + c.as_bytes().len()).div_ceil(4) * 4;
    }
    n
}

/// Writes `o` into `out` the way Linux's `tcp_options_write` lays them out: MSS; SACK-permitted
/// folded in front of timestamps (or `nop,nop,sackOK` without them); `nop,nop,TS`; `nop,wscale`;
/// `nop,nop,sack`; the Fast Open cookie padded with NOPs. Returns the bytes written, or
/// [`Error::OptionsTooLong`] / [`Error::BufferTooSmall`].
pub fn write(o: &TcpOptions, out: &mut [u8]) -> Result<usize, Error> {
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
        w.bytes(&[kind::NOP, kind::NOP, kind::SACK, (2 + 8 * o.sack.len()) as u8]);
        for b in o.sack.as_slice() {
            w.bytes(&b.left.0.to_be_bytes());
            w.bytes(&b.right.0.to_be_bytes());
        }
    }
    if let Some(c) = &o.fast_open {
        let cookie = c.as_bytes();
        w.bytes(&[kind::FAST_OPEN, (2 + cookie.len()) as u8]);
        w.bytes(cookie);
        while !w.at.is_multiple_of(4) {
            w.bytes(&[kind::NOP]);
        }
    }
    debug_assert_eq!(w.at, len);
    Ok(len)
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
