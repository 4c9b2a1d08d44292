//! Linux's receive-memory model ([`RecvAccounting::LinuxSkb`]).
//!
//! Linux does not offer the free bytes of a buffer: every packet taken is charged the memory
//! its buffer occupies (`skb->truesize`, much more than its payload for a small packet)
//! against a limit (`sk_rcvbuf`, twice what `SO_RCVBUF` set), until the application has read
//! all of it. The window offered is the free memory converted back to payload bytes by the
//! ratio of payload to memory last measured (`scaling_ratio`, in 256ths, a half to start
//! with), capped by a threshold (`rcv_ssthresh`) that starts at the initial window and grows
//! as segments arrive. Without window scaling the offer is rounded down to whole segments
//! and kept while it is within one segment of the space; the right edge never moves left
//! unless `tcp_shrink_window=1` allows it (with window scaling only).
//!
//! The memory a packet costs is what Linux's TUN driver allocates for it (the packets a
//! conformance run injects come through a TUN device): a packet that fits a page with the
//! headroom goes whole into one `kmalloc`ed head; a larger one puts a page-sized head's
//! worth into the head and the rest into page chunks of up to eight pages
//! (`alloc_skb_with_frags`), each charged whole.
//~ linux: tun_get_user/tun_alloc_skb, alloc_skb_with_frags, tcp_measure_rcv_mss,
//~ tcp_grow_window, __tcp_select_window and tcp_select_window (Linux 6.18, x86-64).
//!
//! [`RecvAccounting::LinuxSkb`]: crate::config::RecvAccounting::LinuxSkb

use super::halves::{Rcv, Sizing};
use crate::config::{ConnConfig, RecvAccounting};
use alloc::boxed::Box;
use alloc::vec::Vec;
use synack_wire::SeqNum;

const PAGE: u32 = 4096;
/// `NET_SKB_PAD`: headroom reserved in front of a received packet.
const HEADROOM: u32 = 64;
/// `SKB_DATA_ALIGN(sizeof(struct skb_shared_info))`, at the end of every head.
const SHARED_INFO: u32 = 320;
/// `SKB_DATA_ALIGN(sizeof(struct sk_buff))`, charged on top of the head.
const SKB_STRUCT: u32 = 256;
/// Heads up to this size come from a dedicated cache of exactly this size
/// (`SKB_SMALL_HEAD_CACHE_SIZE`).
const SMALL_HEAD: u32 = 640;
/// The most pages one chunk of a packet's paged part takes (`PAGE_ALLOC_COSTLY_ORDER`).
const MAX_ORDER: u32 = 3;
/// The ratio's unit: 256ths (`TCP_RMEM_TO_WIN_SCALE`).
const RATIO_SHIFT: u32 = 8;
/// The ratio before any measurement: a half (`TCP_DEFAULT_SCALING_RATIO`).
const DEFAULT_RATIO: u32 = 1 << (RATIO_SHIFT - 1);
/// The smallest window clamp (`SOCK_MIN_RCVBUF / 2`).
const MIN_CLAMP: u32 = (2048 + 256 + 256 + 256) / 2;

/// The memory (`skb->truesize`) Linux's TUN driver allocates for a received packet of
/// `packet_len` bytes, IP header included.
pub(crate) fn tun_truesize(packet_len: u32) -> u32 {
    // The head takes the whole packet when it fits one page with the headroom, else as much
    // as a page-sized allocation holds (`SKB_MAX_HEAD`).
    let linear = match HEADROOM + packet_len < PAGE {
        true => packet_len,
        false => packet_len.min(PAGE - HEADROOM - SHARED_INFO),
    };
    let head = head_size((HEADROOM + linear).next_multiple_of(64) + SHARED_INFO);
    let mut truesize = head + SKB_STRUCT;
    let mut rest = packet_len - linear;
    let mut order = MAX_ORDER;
    while rest > 0 {
        while order > 0 && rest.next_multiple_of(PAGE) < PAGE << order {
            order -= 1;
        }
        let chunk = PAGE << order;
        truesize += chunk;
        rest = rest.saturating_sub(chunk);
    }
    truesize
}

/// The allocation a head of `size` bytes gets: the small-head cache, else the next
/// `kmalloc` size class (powers of two).
fn head_size(size: u32) -> u32 {
    if size <= SMALL_HEAD { SMALL_HEAD } else { size.next_power_of_two() }
}

/// `x` rounded up to a multiple of `unit` (a power of two).
fn align_up(x: i64, unit: i64) -> i64 {
    (x + unit - 1) & !(unit - 1)
}

/// `tcp_win_from_space`: payload bytes that `space` bytes of memory hold at `ratio`.
fn win_from_space(ratio: u32, space: i64) -> i64 {
    (space * i64::from(ratio)) >> RATIO_SHIFT
}

/// One connection's receive memory under the Linux model.
#[derive(Debug)]
pub(crate) struct RcvMem {
    /// Memory charged for the segments held (`sk_rmem_alloc`).
    pub(crate) alloc: u32,
    /// Payload per 256 bytes of memory, last measured (`scaling_ratio`).
    ratio: u32,
    /// The largest window offered (`window_clamp`).
    clamp: u32,
    /// The threshold the window grows under (`rcv_ssthresh`).
    pub(crate) ssthresh: u32,
    /// The window last offered, in bytes (`rcv_wnd`).
    wnd: u32,
    /// The right edge of the largest window offered (`rcv_mwnd_seq`), what a shrunk window
    /// still accepts.
    pub(crate) max_right: Option<SeqNum>,
    /// The segments charged: where each ends and what it costs.
    held: Vec<(SeqNum, u32)>,
    /// The charge of the segment being taken, set when it is measured.
    pending: u32,
}

impl RcvMem {
    /// The model for a connection whose first window is `initial_wnd`, with `rcvbuf` bytes
    /// of memory and window-scale shift `wscale`.
    //~ linux: tcp_select_initial_window keeps the first window within the 16-bit field and
    //~ the clamp within what the scale can offer.
    pub(crate) fn new(initial_wnd: u32, rcvbuf: u32, wscale: u8) -> RcvMem {
        let initial_wnd = initial_wnd.min(65535);
        let full = win_from_space(DEFAULT_RATIO, i64::from(rcvbuf)).max(0) as u32;
        let clamp = full.min(65535 << wscale);
        RcvMem {
            alloc: 0,
            ratio: DEFAULT_RATIO,
            clamp,
            ssthresh: initial_wnd.min(clamp),
            wnd: initial_wnd,
            max_right: None,
            held: Vec::new(),
            pending: 0,
        }
    }

    /// The payload bytes the whole memory holds (`tcp_full_space`).
    fn full_space(&self, rcvbuf: u32) -> i64 {
        win_from_space(self.ratio, i64::from(rcvbuf))
    }

    /// The payload bytes the free memory holds (`tcp_space`; negative when overcommitted).
    fn space(&self, rcvbuf: u32) -> i64 {
        win_from_space(self.ratio, i64::from(rcvbuf) - i64::from(self.alloc))
    }

    /// A data segment of `payload` bytes costing `truesize` arrives, `seg_len` being its
    /// segment size for the estimate of the peer's MSS (its GRO size when coalesced) and
    /// `rcv_mss` that estimate before it: a segment at least as long, of another length,
    /// re-measures the ratio (and with it the window clamp).
    pub(crate) fn measure(
        &mut self,
        seg_len: u32,
        payload: u32,
        truesize: u32,
        rcv_mss: u32,
        rcvbuf: u32,
    ) {
        self.pending = truesize;
        if seg_len <= rcv_mss || truesize == 0 {
            return;
        }
        let old = self.ratio;
        self.ratio = ((u64::from(payload) << RATIO_SHIFT) / u64::from(truesize)).max(1) as u32;
        if self.ratio != old {
            self.clamp = (self.full_space(rcvbuf).max(0) as u32).max(MIN_CLAMP);
            self.ssthresh = self.ssthresh.min(self.clamp);
        }
    }

    /// `tcp_grow_window`: a segment of `payload` bytes raises the threshold towards the
    /// space when its memory is used well enough (`rmem_max`: `tcp_rmem`'s maximum).
    pub(crate) fn grow(&mut self, payload: u32, rcvbuf: u32, rmem_max: u32, advmss: u32, mss: u32) {
        let truesize = self.pending;
        let room = (self.space(rcvbuf).min(i64::from(self.clamp))) - i64::from(self.ssthresh);
        if room <= 0 {
            return;
        }
        let payload64 = i64::from(payload);
        let incr = if win_from_space(self.ratio, i64::from(truesize)) <= payload64 {
            2 * advmss
        } else {
            // A segment using its memory poorly grows the threshold only while it is small
            // against the largest buffer.
            let mut t = win_from_space(self.ratio, i64::from(truesize)) >> 1;
            let mut window = win_from_space(self.ratio, i64::from(rmem_max)) >> 1;
            let mut incr = 0;
            while i64::from(self.ssthresh) <= window {
                if t <= payload64 {
                    incr = 2 * mss;
                    break;
                }
                t >>= 1;
                window >>= 1;
            }
            incr
        };
        if incr > 0 {
            let incr = incr.max(2 * payload);
            self.ssthresh += (room as u32).min(incr);
        }
    }

    /// Charges the segment just measured, ending at `end`.
    pub(crate) fn charge(&mut self, end: SeqNum) {
        let t = core::mem::take(&mut self.pending);
        if t > 0 {
            self.alloc = self.alloc.saturating_add(t);
            self.held.push((end, t));
        }
    }

    /// The segment just measured was not kept.
    pub(crate) fn discard(&mut self) {
        self.pending = 0;
    }

    /// The application has read up to `read_seq`: segments wholly read free their memory.
    pub(crate) fn release(&mut self, read_seq: SeqNum) {
        let mut freed = 0u32;
        self.held.retain(|&(end, t)| {
            let done = end.le(read_seq);
            if done {
                freed += t;
            }
            !done
        });
        self.alloc = self.alloc.saturating_sub(freed);
    }

    /// The window the memory allows now (`__tcp_select_window`), for segments of `mss`
    /// (the estimate of the peer's), with window-scale shift `wscale`.
    pub(crate) fn offer(&self, rcvbuf: u32, mss: u32, wscale: u8, shrink: bool) -> u32 {
        let unit = 1i64 << wscale;
        let allowed = self.full_space(rcvbuf);
        let full = i64::from(self.clamp).min(allowed);
        let mss = i64::from(mss).min(full.max(1));
        let mut free = self.space(rcvbuf);
        if shrink && wscale > 0 {
            free = free.div_euclid(unit) * unit;
            if free < full >> 1 && (free < allowed >> 4 || free < mss || free < unit) {
                return 0;
            }
            if free > i64::from(self.ssthresh) {
                free = align_up(i64::from(self.ssthresh), unit);
            }
            return free.max(0) as u32;
        }
        if free < full >> 1 {
            free = free.div_euclid(unit) * unit;
            if free < allowed >> 4 || free < mss {
                return 0;
            }
        }
        free = free.min(i64::from(self.ssthresh));
        let window = if wscale > 0 {
            align_up(free, unit)
        } else {
            let kept = i64::from(self.wnd);
            if kept <= free - mss || kept > free {
                free / mss * mss
            } else if mss == full && free > kept + (full >> 1) {
                free
            } else {
                kept
            }
        };
        window.max(0) as u32
    }

    /// `tcp_select_window`: the window to send, given `cur` (what is left of the one
    /// offered): never less than that unless shrinking is allowed.
    pub(crate) fn select(&mut self, offer: u32, cur: u32, wscale: u8, shrink: bool) -> u32 {
        let mut new = offer;
        if new < cur && !(shrink && wscale > 0) {
            new = cur.div_ceil(1 << wscale) << wscale;
        }
        self.wnd = new;
        new.min(65535 << wscale)
    }
}

impl RcvMem {
    /// After a read: whether the window grew enough to announce at once (`tcp_cleanup_rbuf`:
    /// the window left had fallen to half the clamp, and the memory now offers twice it).
    pub(crate) fn read_wants_update(&self, rcvbuf: u32, mss: u32, wscale: u8, left: u32) -> bool {
        if left.saturating_mul(2) > self.clamp {
            return false;
        }
        let new = self.offer(rcvbuf, mss, wscale, false);
        new > 0 && new >= left.saturating_mul(2)
    }
}

/// The memory limit and shrink switch of `cfg` when it selects the Linux model.
pub(crate) fn linux_model(cfg: &ConnConfig) -> Option<(u32, bool)> {
    match cfg.recv_accounting {
        RecvAccounting::LinuxSkb { rcvbuf, shrink } => Some((rcvbuf, shrink)),
        RecvAccounting::Bytes => None,
    }
}

/// The payload bytes all of `rcvbuf` holds before any measurement: what the first window
/// offers.
pub(crate) fn initial_space(rcvbuf: u32) -> usize {
    win_from_space(DEFAULT_RATIO, i64::from(rcvbuf)).max(0) as usize
}

impl Rcv {
    /// Starts the model with the first window offered (`initial_wnd` bytes), once.
    pub(crate) fn start_mem(&mut self, model: Option<(u32, bool)>, initial_wnd: u32) {
        if let Some((rcvbuf, _)) = model
            && !matches!(self.sizing, Sizing::Linux(_))
        {
            self.sizing = Sizing::Linux(Box::new(RcvMem::new(initial_wnd, rcvbuf, self.wscale)));
        }
    }

    /// Offers the window the model allows: moves the right edge (left only when shrinking is
    /// allowed). `mss`: the estimate of the peer's segment size. False without the model.
    pub(crate) fn select_linux_window(&mut self, model: Option<(u32, bool)>, mss: u32) -> bool {
        let (Some((rcvbuf, shrink)), Some(mem)) = (model, self.sizing.linux()) else {
            return false;
        };
        let offer = mem.offer(rcvbuf, mss, self.wscale, shrink);
        let cur = if self.adv_right.gt(self.nxt) { self.adv_right.since(self.nxt) } else { 0 };
        let new = mem.select(offer, cur, self.wscale, shrink);
        self.adv_right = self.nxt + new;
        if shrink {
            let right = self.adv_right;
            mem.max_right = Some(mem.max_right.map_or(right, |m| m.max(right)));
        }
        true
    }
}
