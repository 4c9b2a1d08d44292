//! The receiver's estimate of the peer's segment size (Linux's `icsk_ack.rcv_mss`,
//! `tcpi_rcv_mss`): learned from the data segments that arrive, so that a peer sending less
//! than the MSS it announced is still recognised by its full-sized segments.

use super::halves::Rcv;
use synack_wire::tcp::TcpRepr;

/// Linux's `TCP_MSS_DEFAULT`: the estimate never starts above it.
const MSS_DEFAULT: u16 = 536;
/// Linux's `TCP_MIN_MSS`: nor below this.
const MIN_MSS: u16 = 88;
/// A TCP header without options.
const BASE_HEADER: usize = 20;

/// What the estimate is before any data: the smallest of the MSS we announce, the MSS we
/// send with, half the window we offer and 536, but at least 88.
//~ linux: tcp_initialize_rcv_mss.
pub(crate) fn initial(advmss: u16, snd_mss: u32, rcv_wnd: u32) -> u16 {
    let hint = u32::from(advmss).min(snd_mss).min(rcv_wnd / 2).min(u32::from(MSS_DEFAULT));
    (hint as u16).max(MIN_MSS)
}

/// One arriving data segment.
pub(crate) struct Arrival<'a> {
    /// Its payload bytes, or for a coalesced (GRO) segment the size of the segments it was
    /// made of.
    pub(crate) len: usize,
    /// The segment, for its TCP header length (options included), which only a segment
    /// shorter than the estimate needs.
    pub(crate) seg: &'a TcpRepr<'a>,
    /// It carries FIN, URG, SYN or PSH, so it may be short on purpose.
    pub(crate) remnant: bool,
}

impl Rcv {
    /// Updates the estimate with a segment: one at least as long as the estimate sets it (up
    /// to `advmss`); a shorter one that looks full-sized (at least 536 bytes, or at least 88
    /// without PSH and the like) sets it once two in a row have the same length, options
    /// other than the connection's fixed ones (`fixed_options`: 12 with timestamps) set
    /// aside.
    //~ linux: tcp_measure_rcv_mss, with last_seg_size.
    /// `initial` is the estimate before any data ([`initial`]).
    pub(crate) fn measure_rcv_mss(
        &mut self,
        a: Arrival<'_>,
        initial: u16,
        advmss: u16,
        fixed_options: usize,
    ) {
        if self.mss_estimate == 0 {
            self.mss_estimate = initial;
        }
        let last = core::mem::take(&mut self.last_seg_size);
        if a.len >= usize::from(self.mss_estimate) {
            self.mss_estimate = a.len.min(usize::from(advmss)) as u16;
            return;
        }
        let with_header = a.len + a.seg.header_len();
        let full_sized = with_header >= usize::from(MSS_DEFAULT) + BASE_HEADER
            || (with_header >= usize::from(MIN_MSS) + BASE_HEADER && !a.remnant);
        if full_sized {
            let len = with_header.saturating_sub(BASE_HEADER + fixed_options);
            let len = len.min(usize::from(u16::MAX)) as u16;
            self.last_seg_size = len;
            if len == last {
                self.mss_estimate = len;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_estimate_is_bounded() {
        assert_eq!(initial(1460, 1000, 65_535), 536);
        assert_eq!(initial(1460, 1000, 300), 150);
        assert_eq!(initial(1460, 1000, 100), 88);
    }
}
