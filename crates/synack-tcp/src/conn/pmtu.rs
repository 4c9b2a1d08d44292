//! Path MTU from ICMP "fragmentation needed" / "packet too big" (RFC 1191, RFC 8201).

use super::{Conn, Ctx, OpenKind, Origin, Tcb};
use crate::config::PmtudBlackhole;
use crate::event::SoftError;
use crate::icmp::IcmpPolicy;
use crate::state::State;

//= rfc8201#4
//~ paraphrase: An IPv6 node never lowers its path MTU estimate below 1280 bytes.
const V6_MIN_MTU: usize = 1280;
/// IPv4's minimum MTU: every module forwards 68-byte datagrams (RFC 791).
const V4_MIN_MTU: usize = 68;
//~ linux: ip_rt_min_pmtu, 512 + 20 + 20: a smaller reported MTU is raised to it.
const LINUX_V4_MIN_PMTU: usize = 552;

impl Conn {
    /// A listener's child still in SYN-RECEIVED.
    pub(crate) fn is_passive_syn_received(&self) -> bool {
        matches!(self.tcb, Tcb::Open { kind: OpenKind::SynReceived(Origin::Passive(_)), .. })
    }

    /// The smallest path MTU this connection accepts from a "packet too big" report.
    fn min_path_mtu(&self) -> usize {
        if self.tuple.local.is_ipv6() {
            V6_MIN_MTU
        } else if self.cfg.icmp_policy == IcmpPolicy::Linux {
            LINUX_V4_MIN_PMTU
        } else {
            V4_MIN_MTU
        }
    }

    /// The route to the peer now has a path MTU of `mtu` (`Endpoint::set_route`).
    pub(crate) fn route_mtu_changed(&mut self, mtu: u16) {
        let mtu = mtu.max(self.min_path_mtu() as u16);
        self.mtu_search_route_changed(mtu);
        if self.state().is_synchronized() {
            let mss = self.eff_snd_mss();
            self.rec.set_mss(mss);
        }
    }

    /// A router reported that our packets do not fit its next hop of `mtu` bytes (the quote
    /// was checked against the send window). A smaller path MTU lowers the MSS and sends again,
    /// at once, everything in flight in the new size (Linux's `tcp_simple_retransmit`; FreeBSD's
    /// `tcp_mtudisc` likewise restarts from SND.UNA); a larger or equal one changes nothing.
    /// Returns the new estimate when it was lowered.
    pub(crate) fn path_mtu_reduced(&mut self, ctx: &mut Ctx<'_>, mtu: usize) -> Option<u32> {
        //= rfc1191#3
        //~ paraphrase: The path MTU estimate is only ever lowered by a "too big" report; it is
        //~ raised by other means (probing).
        let mtu = u16::try_from(mtu.max(self.min_path_mtu())).unwrap_or(u16::MAX);
        // A probe larger than `mtu` is sent again in the current size; that size stays when it
        // fits.
        self.mtu_probe_too_big(mtu);
        if mtu >= self.mtu {
            return None;
        }
        // A path MTU learned from the network replaces black-hole detection's guess.
        self.rec.blackhole_saved_mtu = 0;
        self.mtu = mtu;
        self.rec.adv_mtu = self.rec.adv_mtu.min(mtu);
        let mss = self.eff_snd_mss();
        self.rec.set_mss(mss);
        //= rfc1191#6.4
        //~ paraphrase: The packet that drew the report was dropped: retransmit what is in
        //~ flight in the new size, without waiting for a timeout, and leave the congestion
        //~ window as it is (the data in the network did not grow).
        if let Some(snd) = self.tcb.snd_mut()
            && snd.nxt != snd.una
        {
            snd.nxt = snd.una;
        }
        ctx.soft_error(self.cfg.soft_errors, SoftError::PathMtuReduced(mss as u16));
        Some(u32::from(mtu))
    }
}

impl Conn {
    /// The MSS the path MTU allows before options (what FreeBSD calls `t_maxseg`): the peer's
    /// MSS, or less when the path MTU is smaller.
    fn segment_size_limit(&self) -> u32 {
        let hdrs = self.ip_header_len() + self.encap_overhead() + 20;
        let from_mtu = (self.mtu as usize).saturating_sub(hdrs) as u32;
        from_mtu.min(u32::from(self.opt.send_mss))
    }

    /// The retransmission timer fired for the `rtx_count`-th time in a row: black-hole
    /// detection (`ConnConfig::pmtud_blackhole`) may try a smaller segment size, or give the
    /// old one back. Called before the retransmission is sent.
    pub(crate) fn blackhole_on_timeout(&mut self) {
        let Some(bh) = self.cfg.pmtud_blackhole else { return };
        let steps = if self.tuple.local.is_ipv6() { bh.v6 } else { bh.v4 };
        let Some(steps) = steps else { return };
        if !matches!(self.state(), State::Established | State::FinWait1) {
            return;
        }
        //~ freebsd: each size gets two retransmissions: at the 2nd and 4th timeout the MSS
        //~ steps down (to the black-hole MSS, then to the default MSS); when no step is left
        //~ that would lower it, the size from before is given back (a path that loses the
        //~ small segments too is not a black hole).
        if self.rtx_count < 2 || !self.rtx_count.is_multiple_of(2) {
            return;
        }
        let current = self.segment_size_limit();
        let lower = steps.into_iter().map(u32::from).find(|&m| m > 0 && m < current);
        match lower {
            Some(mss) if self.rtx_count < 6 => {
                if !self.full_segment_in_flight(current) {
                    return;
                }
                if self.rec.blackhole_saved_mtu == 0 {
                    self.rec.blackhole_saved_mtu = self.mtu;
                }
                let hdrs = (self.ip_header_len() + self.encap_overhead() + 20) as u32;
                self.mtu = u16::try_from(mss + hdrs).unwrap_or(u16::MAX);
            }
            _ if self.rec.blackhole_saved_mtu != 0 => {
                self.mtu = core::mem::take(&mut self.rec.blackhole_saved_mtu);
            }
            _ => return,
        }
        let mss = self.eff_snd_mss();
        self.rec.mss_changed_at_rto(mss);
    }

    /// Whether at least a segment of `size` bytes is unacknowledged (FreeBSD looks for a
    /// full-sized segment among those sent: a path that drops only large packets).
    fn full_segment_in_flight(&self, size: u32) -> bool {
        self.tcb.snd().is_some_and(|s| s.max_nxt.since(s.una) >= size)
    }
}

impl PmtudBlackhole {
    //~ freebsd: net.inet.tcp.pmtud_blackhole_mss (1200), v6pmtud_blackhole_mss (1220), then
    //~ net.inet.tcp.mssdflt (536) and v6mssdflt (1220).
    /// FreeBSD's defaults for both families.
    pub const FREEBSD: PmtudBlackhole =
        PmtudBlackhole { v4: Some([1200, 536]), v6: Some([1220, 1220]) };
}
