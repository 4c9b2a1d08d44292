//! Reading capture files: pcap (both byte orders, micro- and nanosecond timestamps) and pcapng,
//! one frame at a time.
//!
//! The file format itself is the `pcap-file` crate's job; this module adds what a reader of
//! damaged captures needs: format detection from the magic number, pcapng timestamp resolution
//! (`if_tsresol`), per-interface link types, and errors that say which frame the file broke at.
//! Memory stays bounded and follows the input: records are read into a buffer that grows
//! with the largest record seen (`record_buffer`, at most 8 MB), parsed there by `pcap-file`'s
//! slice parsers, and frames are lent out, never collected.

use crate::pcapng_fix::PcapNgFix;
use crate::record_buffer::RecordBuffer;
use pcap_file::pcap::PcapParser;
use pcap_file::pcapng::{Block, PcapNgParser};
use pcap_file::{Endianness, PcapError};
use std::io::{Cursor, ErrorKind, Read};

/// Link-layer header types (the tcpdump.org LINKTYPE_ registry) this crate decodes.
pub mod linktype {
    /// BSD loopback: a 4-byte address family in host byte order.
    pub const NULL: u32 = 0;
    /// Ethernet II.
    pub const ETHERNET: u32 = 1;
    /// PPP (RFC 1661), with or without the HDLC address and control bytes.
    pub const PPP: u32 = 9;
    /// PPP in HDLC-like framing (RFC 1662).
    pub const PPP_HDLC: u32 = 50;
    /// PPPoE (RFC 2516) without the Ethernet header.
    pub const PPP_ETHER: u32 = 51;
    /// Cisco HDLC: address, control, then an EtherType.
    pub const C_HDLC: u32 = 104;
    /// Linux ARCNET.
    pub const ARCNET_LINUX: u32 = 129;
    /// Raw IP on some BSDs (DLT_RAW 12 / 14).
    pub const RAW_BSD: u32 = 12;
    /// Raw IP, OpenBSD's number.
    pub const RAW_OPENBSD: u32 = 14;
    /// Raw IP: the frame starts at the IPv4 or IPv6 header.
    pub const RAW: u32 = 101;
    /// OpenBSD loopback: a 4-byte address family in network byte order.
    pub const LOOP: u32 = 108;
    /// Linux cooked capture v1 (`any` device).
    pub const LINUX_SLL: u32 = 113;
    /// Raw IPv4 only.
    pub const IPV4: u32 = 228;
    /// Raw IPv6 only.
    pub const IPV6: u32 = 229;
    /// Linux cooked capture v2.
    pub const LINUX_SLL2: u32 = 276;
}

/// The container format of a capture file.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Format {
    /// Classic libpcap format.
    Pcap,
    /// pcapng.
    PcapNg,
}

/// Why reading a capture stopped early.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// The file could not be opened or read.
    #[error("cannot read capture: {0}")]
    Io(#[from] std::io::Error),
    /// The first bytes are not a pcap or pcapng magic number.
    #[error("not a pcap or pcapng file (magic number {0:#010x})")]
    UnknownFormat(u32),
    /// The file ends in the middle of the global header or a frame.
    #[error("capture truncated after frame {after_frame}: {detail}")]
    Truncated {
        /// The last frame read completely (0 when none).
        after_frame: u64,
        /// What was being read.
        detail: String,
    },
    /// A header field holds an impossible value.
    #[error("corrupt capture after frame {after_frame}: {detail}")]
    Corrupt {
        /// The last frame read completely (0 when none).
        after_frame: u64,
        /// What is wrong.
        detail: String,
    },
}

/// One captured frame, lent out by [`CaptureReader::next_frame`].
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// 1-based frame number, counting every packet record in the file.
    pub number: u64,
    /// Capture time in nanoseconds since the Unix epoch.
    pub ts_ns: u64,
    /// LINKTYPE_ value of the interface the frame was captured on.
    pub linktype: u32,
    /// Length of the packet on the wire.
    pub orig_len: u32,
    /// The captured bytes (possibly fewer than `orig_len`).
    pub data: &'a [u8],
    /// For a pcap record whose microsecond fraction is out of range (a million or more):
    /// the seconds and the fraction as written, which tcpdump prints as they are.
    pub odd_time: Option<(u32, u32)>,
}

/// The link type and timestamp unit of one pcapng interface.
#[derive(Clone, Copy, Debug)]
struct Interface {
    linktype: u32,
    /// Nanoseconds per timestamp unit as a ratio (`num / den`).
    num: u64,
    den: u64,
}

/// The input after the magic number was read from it.
type Rest<R> = std::io::Chain<Cursor<Vec<u8>>, R>;

enum Inner<R: Read> {
    PcapNg { buf: RecordBuffer<PcapNgFix<Rest<R>>>, parser: PcapNgParser, ifaces: Vec<Interface> },
    PcapRaw { buf: RecordBuffer<Rest<R>>, parser: PcapParser, linktype: u32, nano: bool },
}

/// Whether `d` holds a whole pcapng block: `IncompleteBuffer` while its length field says it
/// goes on past `d`. A block whose length field is impossible counts as whole; the parser
/// reports it. (A section header gives its own byte order; other blocks use the section's.)
fn pcapng_block_held(d: &[u8], section: Endianness) -> Result<(), PcapError> {
    let Some(head) = d.get(..12) else { return Err(PcapError::IncompleteBuffer) };
    let word = |at: usize, big: bool| {
        let b = [head[at], head[at + 1], head[at + 2], head[at + 3]];
        if big { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) }
    };
    let big = match u32::from_be_bytes([head[0], head[1], head[2], head[3]]) {
        0x0A0D_0D0A => match word(8, true) {
            0x1A2B_3C4D => true,
            0x4D3C_2B1A => false,
            _ => return Ok(()),
        },
        _ => section == Endianness::Big,
    };
    let len = word(4, big) as usize;
    if len >= 12 && len.is_multiple_of(4) && d.len() < len {
        Err(PcapError::IncompleteBuffer)
    } else {
        Ok(())
    }
}

/// Whether another record follows; when one does, reads until `probe` finds it whole.
fn next_record<R: Read>(
    buf: &mut RecordBuffer<R>,
    probe: impl FnMut(&[u8]) -> Result<(), PcapError>,
) -> Result<bool, PcapError> {
    if !buf.has_data()? {
        return Ok(false);
    }
    buf.complete(probe)?;
    Ok(true)
}

/// A record the probe found whole that the parser still finds short (a length inside it
/// points past its end): `pcap-file`'s own reader reads on to the end of the file and reports
/// the file as ending inside a record, and so does this one.
fn short_inside(e: PcapError) -> PcapError {
    match e {
        PcapError::IncompleteBuffer => PcapError::IoError(ErrorKind::UnexpectedEof.into()),
        e => e,
    }
}

/// A streaming reader over a pcap or pcapng capture.
pub struct CaptureReader<R: Read> {
    inner: Inner<R>,
    format: Format,
    frames: u64,
    done: bool,
    scratch: Vec<u8>,
    /// The current record's out-of-range time, see [`Frame::odd_time`].
    odd_time: Option<(u32, u32)>,
}

impl CaptureReader<std::io::BufReader<std::fs::File>> {
    /// Opens a capture file.
    pub fn open(path: impl AsRef<std::path::Path>) -> Result<Self, CaptureError> {
        let f = std::fs::File::open(path)?;
        Self::new(std::io::BufReader::with_capacity(1 << 16, f))
    }
}

fn map_err(e: pcap_file::PcapError, after_frame: u64) -> CaptureError {
    use pcap_file::PcapError as E;
    match e {
        E::IncompleteBuffer => {
            CaptureError::Truncated { after_frame, detail: "incomplete record".into() }
        }
        E::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            CaptureError::Truncated { after_frame, detail: "file ends inside a record".into() }
        }
        E::IoError(io) => CaptureError::Io(io),
        other => CaptureError::Corrupt { after_frame, detail: other.to_string() },
    }
}

/// Nanoseconds per unit for a pcapng `if_tsresol` value (default: microseconds).
fn tsresol_ratio(v: Option<u8>) -> (u64, u64) {
    let v = v.unwrap_or(6);
    if v & 0x80 == 0 {
        let exp = u32::from(v & 0x7f);
        if exp <= 9 { (10u64.pow(9 - exp), 1) } else { (1, 10u64.pow((exp - 9).min(19))) }
    } else {
        let exp = u32::from(v & 0x7f).min(63);
        (1_000_000_000, 1u64 << exp)
    }
}

impl<R: Read> CaptureReader<R> {
    /// Starts reading a capture from any byte stream; detects pcap or pcapng from the magic.
    pub fn new(mut r: R) -> Result<Self, CaptureError> {
        let mut magic = [0u8; 4];
        let mut got = 0;
        while got < 4 {
            let n = r.read(&mut magic[got..])?;
            if n == 0 {
                return Err(CaptureError::Truncated {
                    after_frame: 0,
                    detail: format!("only {got} bytes, no file header"),
                });
            }
            got += n;
        }
        let m = u32::from_be_bytes(magic);
        let chained = Cursor::new(magic.to_vec()).chain(r);
        match m {
            0xA1B2_C3D4 | 0xA1B2_3C4D | 0xD4C3_B2A1 | 0x4D3C_B2A1 => {
                let mut buf = RecordBuffer::new(chained);
                let start =
                    |d: &[u8]| PcapParser::new(d).map(|(rest, p)| (d.len() - rest.len(), p));
                buf.complete(|d| start(d).map(drop)).map_err(|e| map_err(e, 0))?;
                let (used, parser) = start(buf.data()).map_err(|e| map_err(short_inside(e), 0))?;
                buf.consume(used);
                let h = parser.header();
                // The top bits of the pcap header's link type say whether frames end in an FCS
                // (the pcap format's LT_FCS bits); the link type is the low 26 bits.
                let linktype = u32::from(h.datalink) & 0x03FF_FFFF;
                let nano = h.ts_resolution == pcap_file::TsResolution::NanoSecond;
                Ok(CaptureReader {
                    inner: Inner::PcapRaw { buf, parser, linktype, nano },
                    format: Format::Pcap,
                    frames: 0,
                    done: false,
                    scratch: Vec::new(),
                    odd_time: None,
                })
            }
            0x0A0D_0D0A => {
                // Option lists without their end marker are repaired on the way in.
                let mut buf = RecordBuffer::new(PcapNgFix::new(chained));
                let start =
                    |d: &[u8]| PcapNgParser::new(d).map(|(rest, p)| (d.len() - rest.len(), p));
                buf.complete(|d| start(d).map(drop)).map_err(|e| map_err(e, 0))?;
                let (used, parser) = start(buf.data()).map_err(|e| map_err(short_inside(e), 0))?;
                buf.consume(used);
                Ok(CaptureReader {
                    inner: Inner::PcapNg { buf, parser, ifaces: Vec::new() },
                    format: Format::PcapNg,
                    frames: 0,
                    done: false,
                    scratch: Vec::new(),
                    odd_time: None,
                })
            }
            other => Err(CaptureError::UnknownFormat(other)),
        }
    }

    /// The container format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The link type of a classic pcap file (pcapng: of the first interface seen, if any).
    pub fn linktype(&self) -> Option<u32> {
        match &self.inner {
            Inner::PcapRaw { linktype, .. } => Some(*linktype),
            Inner::PcapNg { ifaces, .. } => ifaces.first().map(|i| i.linktype),
        }
    }

    /// The next frame, `None` at the end of the file. After an error every later call returns
    /// `None`: a damaged record leaves no reliable place to resume.
    pub fn next_frame(&mut self) -> Option<Result<Frame<'_>, CaptureError>> {
        if self.done {
            return None;
        }
        let after = self.frames;
        let res = match &mut self.inner {
            Inner::PcapRaw { buf, parser, linktype, nano } => {
                match next_record(buf, |d| parser.next_raw_packet(d).map(drop)) {
                    Ok(false) => None,
                    Err(e) => Some(Err(map_err(e, after))),
                    Ok(true) => match parser.next_raw_packet(buf.data()) {
                        Err(e) => Some(Err(map_err(short_inside(e), after))),
                        Ok((rest, raw)) => {
                            let used = buf.data().len() - rest.len();
                            let frac_ns = if *nano {
                                u64::from(raw.ts_frac)
                            } else {
                                u64::from(raw.ts_frac) * 1000
                            };
                            let res = if raw.incl_len as usize != raw.data.len() {
                                Err(CaptureError::Corrupt {
                                    after_frame: after,
                                    detail: "record length mismatch".into(),
                                })
                            } else {
                                self.scratch.clear();
                                self.scratch.extend_from_slice(&raw.data);
                                // libpcap hands tcpdump the fraction as a signed microsecond
                                // count (nanoseconds divided by 1000), so huge values come
                                // out negative.
                                let usec = if *nano {
                                    ((raw.ts_frac as i32) / 1000) as u32
                                } else {
                                    raw.ts_frac
                                };
                                self.odd_time = (usec >= 1_000_000).then_some((raw.ts_sec, usec));
                                Ok((
                                    u64::from(raw.ts_sec) * 1_000_000_000 + frac_ns,
                                    *linktype,
                                    raw.orig_len.max(raw.incl_len),
                                ))
                            };
                            buf.consume(used);
                            Some(res)
                        }
                    },
                }
            }
            Inner::PcapNg { buf, parser, ifaces } => loop {
                let section = parser.section().endianness;
                match next_record(buf, |d| pcapng_block_held(d, section)) {
                    Ok(false) => break None,
                    Err(e) => break Some(Err(map_err(e, after))),
                    Ok(true) => {}
                }
                let (used, block) = match parser.next_block(buf.data()) {
                    Err(e) => break Some(Err(map_err(short_inside(e), after))),
                    Ok((rest, block)) => (buf.data().len() - rest.len(), block),
                };
                // A packet's bytes are copied out before its block is consumed.
                match block {
                    Block::SectionHeader(_) => ifaces.clear(),
                    Block::InterfaceDescription(idb) => {
                        let res = idb.options.iter().find_map(|o| match o {
                            pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption::IfTsResol(v) => Some(*v),
                            _ => None,
                        });
                        let (num, den) = tsresol_ratio(res);
                        ifaces.push(Interface { linktype: u32::from(idb.linktype), num, den });
                    }
                    Block::EnhancedPacket(epb) => {
                        let Some(iface) = ifaces.get(epb.interface_id as usize).copied() else {
                            break Some(Err(CaptureError::Corrupt {
                                after_frame: after,
                                detail: format!(
                                    "packet on undeclared interface {}",
                                    epb.interface_id
                                ),
                            }));
                        };
                        // pcap-file hands the raw 64-bit unit count back as "nanoseconds".
                        let units = epb.timestamp.as_nanos();
                        let ns = units * u128::from(iface.num) / u128::from(iface.den);
                        self.scratch.clear();
                        self.scratch.extend_from_slice(&epb.data);
                        let orig_len = epb.original_len.max(epb.data.len() as u32);
                        buf.consume(used);
                        break Some(Ok((
                            u64::try_from(ns).unwrap_or(u64::MAX),
                            iface.linktype,
                            orig_len,
                        )));
                    }
                    Block::SimplePacket(spb) => {
                        let Some(iface) = ifaces.first().copied() else {
                            break Some(Err(CaptureError::Corrupt {
                                after_frame: after,
                                detail: "simple packet block before any interface".into(),
                            }));
                        };
                        self.scratch.clear();
                        self.scratch.extend_from_slice(&spb.data);
                        let orig_len = spb.original_len.max(spb.data.len() as u32);
                        buf.consume(used);
                        break Some(Ok((0, iface.linktype, orig_len)));
                    }
                    Block::Packet(pb) => {
                        let Some(iface) = ifaces.get(usize::from(pb.interface_id)).copied() else {
                            break Some(Err(CaptureError::Corrupt {
                                after_frame: after,
                                detail: format!(
                                    "packet on undeclared interface {}",
                                    pb.interface_id
                                ),
                            }));
                        };
                        let ns = u128::from(pb.timestamp) * u128::from(iface.num)
                            / u128::from(iface.den);
                        self.scratch.clear();
                        self.scratch.extend_from_slice(&pb.data);
                        let orig_len = pb.original_len.max(pb.data.len() as u32);
                        buf.consume(used);
                        break Some(Ok((
                            u64::try_from(ns).unwrap_or(u64::MAX),
                            iface.linktype,
                            orig_len,
                        )));
                    }
                    _ => {}
                }
                buf.consume(used);
            },
        };
        match res {
            None => {
                self.done = true;
                None
            }
            Some(Err(e)) => {
                self.done = true;
                Some(Err(e))
            }
            Some(Ok((ts_ns, linktype, orig_len))) => {
                self.frames += 1;
                Some(Ok(Frame {
                    number: self.frames,
                    ts_ns,
                    linktype,
                    orig_len,
                    data: &self.scratch,
                    odd_time: self.odd_time.take(),
                }))
            }
        }
    }
}
