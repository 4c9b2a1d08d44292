//! Packetization-layer path MTU discovery (RFC 4821): probe segments of new data search upward
//! for the largest packet the path carries, so a path that drops large packets without a word
//! (no ICMP) still gets the largest size that works (`ConnConfig::mtu_probing`).
//!
//! The search keeps a range of MTUs: `low` gets through (the connection sends in it), `high`
//! may. A probe is one new-data segment sized to the middle of the range. In RFC 4821's style
//! no other new data is sent while it is in flight, so its loss is never mixed with
//! congestion; in Linux's ([`ProbeStyle::Linux`]) data in the current size follows it. An ACK
//! covering it raises `low` (and the segment size); its retransmission timeout (or, in Linux's
//! style, any retransmission of its bytes) lowers `high`, and its bytes go again in the
//! current size without touching the congestion window.

use super::{Conn, Timer};
use crate::config::ProbeStyle;
use crate::state::State;
use crate::time::Instant;
use synack_wire::SeqNum;

/// The search's state, allocated only on connections that probe (boxed in `Recovery`).
#[derive(Debug)]
pub(crate) struct MtuSearch {
    /// The largest MTU known to get through: the connection's current path MTU.
    low: u16,
    /// The largest MTU that may get through.
    high: u16,
    /// The largest MTU the search began with: where a new search starts.
    max: u16,
    /// When the search began (again).
    since: Instant,
    /// The probe in flight.
    probe: Option<Probe>,
}

#[derive(Debug, Clone, Copy)]
struct Probe {
    start: SeqNum,
    end: SeqNum,
    mtu: u16,
}

impl Conn {
    /// Bytes of each packet besides the TCP payload and options.
    fn probe_hdrs(&self) -> u16 {
        (self.ip_header_len() + self.encap_overhead() + 20) as u16
    }

    /// The search from `base_mss` up to the current path MTU: at birth when the connection
    /// always probes (Linux's `tcp_mtu_probing=2`), where the segment size starts at the base.
    pub(super) fn mtu_probe_init(&mut self, now: Instant) {
        let Some(cfg) = self.cfg.mtu_probing.filter(|p| p.always) else { return };
        self.start_search(cfg.base_mss, now);
    }

    fn start_search(&mut self, base_mss: u16, now: Instant) {
        let high = self.mtu;
        let low = base_mss.saturating_add(self.probe_hdrs()).min(high);
        self.mtu = low;
        let search = MtuSearch { low, high, max: high, since: now, probe: None };
        self.rec.mtu_search = Some(alloc::boxed::Box::new(search));
    }

    /// A passive open in Linux's style keeps the segment size of its handshake, `mtu`, until
    /// a probe succeeds; the search still starts from the base size.
    //~ linux: tcp_v4_syn_recv_sock sizes mss_cache from the route before tcp_init_transfer
    //~ runs tcp_mtup_init, which sets search_low without resizing.
    pub(super) fn mtu_probe_passive_open(&mut self, mtu: u16) {
        if self.probe_style() == Some(ProbeStyle::Linux) && self.rec.mtu_search.is_some() {
            self.mtu = self.mtu.max(mtu);
        }
    }

    fn probe_style(&self) -> Option<ProbeStyle> {
        self.cfg.mtu_probing.map(|p| p.style)
    }

    /// A probe is in flight: new data waits for its verdict.
    pub(crate) fn mtu_probe_outstanding(&self) -> bool {
        self.rec.mtu_search.as_ref().is_some_and(|s| s.probe.is_some())
    }

    /// A probe is in flight and new data must wait for its verdict (RFC 4821's style).
    pub(crate) fn mtu_probe_holds_new_data(&self) -> bool {
        self.probe_style() == Some(ProbeStyle::Rfc4821) && self.mtu_probe_outstanding()
    }

    /// The route's path MTU became `mtu`: the search's range ends there (and starts again up
    /// to it when it rose); a smaller MTU lowers the segment size at once, a larger one only
    /// through probes. Without a search the segment size follows the route.
    pub(crate) fn mtu_search_route_changed(&mut self, mtu: u16) {
        match self.rec.mtu_search.as_mut() {
            Some(s) => {
                s.high = mtu;
                s.max = mtu;
                s.low = s.low.min(mtu);
                self.mtu = self.mtu.min(mtu);
            }
            None => self.mtu = mtu,
        }
    }

    /// Loss recovery retransmits from `seq`: in Linux's style a probe those bytes belong to
    /// did not get through as one (`tcp_mtup_probe_failed`), so the upper bound drops below it.
    pub(crate) fn mtu_probe_on_retransmit(&mut self, seq: SeqNum) {
        if self.probe_style() != Some(ProbeStyle::Linux) {
            return;
        }
        let Some(s) = self.rec.mtu_search.as_mut() else { return };
        let Some(p) = s.probe.filter(|p| seq.ge(p.start) && seq.lt(p.end)) else { return };
        s.probe = None;
        s.high = p.mtu.saturating_sub(1).max(s.low);
    }

    /// The payload of a probe to send now in place of a full segment of `mss` bytes, if the
    /// search is not over and `fits` bytes (what is queued, the peer's window, the congestion
    /// window, the frame) hold one. `hlen` is the TCP header with the options it carries.
    pub(crate) fn mtu_probe_len(
        &mut self,
        now: Instant,
        mss: u32,
        hlen: usize,
        fits: u32,
    ) -> Option<u32> {
        let cfg = self.cfg.mtu_probing?;
        let repairing = self.rec.repairing();
        let state = self.state();
        let s = self.rec.mtu_search.as_mut()?;
        //~ linux: an ended search starts again from the largest size tcp_probe_interval
        //~ after it began (tcp_mtu_check_reprobe).
        if s.high.saturating_sub(s.low) < cfg.threshold
            && now.saturating_since(s.since) >= cfg.reprobe_interval
        {
            s.high = s.max.max(s.low);
            s.since = now;
        }
        let s = self.rec.mtu_search.as_ref()?;
        if s.probe.is_some() || state != State::Established || repairing {
            return None;
        }
        // The peer's MSS caps the search like the path does.
        let send_mss =
            self.cfg.mss_clamp.map_or(self.opt.send_mss, |c| self.opt.send_mss.min(c.max(64)));
        let ceiling = s.high.min(send_mss.saturating_add(self.probe_hdrs()));
        //~ linux: the search ends when the range left is narrower than tcp_probe_threshold.
        if ceiling.saturating_sub(s.low) < cfg.threshold {
            return None;
        }
        let mtu = ((u32::from(s.low) + u32::from(ceiling)) / 2) as usize;
        let len = mtu.saturating_sub(self.ip_header_len() + self.encap_overhead() + hlen) as u32;
        if cfg.style == ProbeStyle::Linux {
            //~ linux: tcp_mtu_probe waits for a congestion window of 11 segments and for the
            //~ probe plus (reordering + 1) segments queued, so a lost probe is noticed by
            //~ duplicate ACKs rather than a timeout (reordering: tcp_reordering, 3).
            let cwnd_segments = self.rec.effective_cwnd() / mss.max(1);
            let queued = self.tcb.snd().map_or(0, |snd| snd.end_seq().since(snd.nxt));
            if cwnd_segments < 11 || queued < len.saturating_add(4 * mss) {
                return None;
            }
        }
        (len > mss && len <= fits).then_some(len)
    }

    /// A probe of `len` payload bytes from `seq` left.
    pub(crate) fn mtu_probe_sent(&mut self, seq: SeqNum, len: u32, hlen: usize) {
        let mtu = (self.ip_header_len() + self.encap_overhead() + hlen) as u32 + len;
        if let Some(s) = self.rec.mtu_search.as_mut() {
            let mtu = u16::try_from(mtu).unwrap_or(u16::MAX);
            s.probe = Some(Probe { start: seq, end: seq + len, mtu });
        }
    }

    /// SND.UNA moved to `una`: a probe it covers got through, its size becomes the
    /// connection's.
    pub(crate) fn mtu_probe_on_ack(&mut self, una: SeqNum) {
        let Some(s) = self.rec.mtu_search.as_mut() else { return };
        let Some(p) = s.probe.filter(|p| una.ge(p.end)) else { return };
        //= rfc4821#7.6.1
        //~ paraphrase: A probe acknowledged raises the lower bound (and the path MTU) to its size.
        s.probe = None;
        s.low = s.low.max(p.mtu);
        s.high = s.high.max(s.low);
        self.mtu = s.low;
        let mss = self.eff_snd_mss();
        self.rec.set_mss(mss);
    }

    /// The retransmission timer fired with a probe in flight. When the probe is what is
    /// unacknowledged it was too big: the upper bound drops below it and its bytes go again
    /// in the current size, as after a "packet too big" (no backoff, no congestion
    /// response); returns true then. A timeout for data sent before the probe is ordinary
    /// loss: the probe proves nothing and is forgotten.
    pub(crate) fn mtu_probe_timed_out(&mut self, now: Instant) -> bool {
        let Some(una) = self.tcb.snd().map(|s| s.una) else { return false };
        let Some(s) = self.rec.mtu_search.as_mut() else { return false };
        let Some(p) = s.probe.take() else { return false };
        if una.lt(p.start) {
            return false;
        }
        //= rfc4821#7.6.2
        //~ paraphrase: A lost probe lowers the upper bound; it is not a congestion signal, so
        //~ the congestion window stays as it is.
        s.high = p.mtu.saturating_sub(1).max(s.low);
        self.sampler.on_retransmit();
        if let Some(snd) = self.tcb.snd_mut() {
            snd.nxt = snd.una;
        }
        self.t.set(Timer::Rtx, Some(now + self.rtt.rto()));
        true
    }

    /// A "packet too big" reported `mtu`: the search's range ends there, and a probe larger
    /// than it was dropped (sent again in the current size). Returns true in that case.
    pub(crate) fn mtu_probe_too_big(&mut self, mtu: u16) -> bool {
        let Some(s) = self.rec.mtu_search.as_mut() else { return false };
        s.high = s.high.min(mtu);
        s.low = s.low.min(mtu);
        let Some(p) = s.probe.filter(|p| p.mtu > mtu) else { return false };
        s.probe = None;
        if let Some(snd) = self.tcb.snd_mut()
            && snd.una.lt(p.end)
        {
            snd.nxt = snd.una;
        }
        true
    }

    /// The retransmission timer fired for the `rtx_count`-th time in a row. From the R1-th
    /// on, a connection that may probe suspects a black hole: the first time the search
    /// starts at the base size, later ones halve the size known to work (down to the floor).
    pub(crate) fn mtu_probe_on_timeout(&mut self, now: Instant) {
        let Some(cfg) = self.cfg.mtu_probing else { return };
        if !matches!(self.state(), State::Established | State::FinWait1)
            || self.rtx_count < self.cfg.r1
        {
            return;
        }
        //~ linux: tcp_mtu_probing() turns probing on at the first such timeout; later ones
        //~ lower search_low to half its MSS, at most tcp_base_mss, at least tcp_mtu_probe_floor.
        let hdrs = self.probe_hdrs();
        match self.rec.mtu_search.as_mut() {
            None => self.start_search(cfg.base_mss, now),
            Some(s) => {
                let half = s.low.saturating_sub(hdrs) / 2;
                let mss = half.min(cfg.base_mss).max(cfg.floor_mss);
                s.low = mss.saturating_add(hdrs).min(s.low);
                s.probe = None;
                self.mtu = s.low;
            }
        }
        let mss = self.eff_snd_mss();
        self.rec.mss_changed_at_rto(mss);
    }
}
