//! Path MTU from ICMP "fragmentation needed" / "packet too big" (RFC 1191, RFC 8201).

use super::{Conn, Ctx, OpenKind, Origin, Tcb};
use crate::event::SoftError;
use crate::icmp::IcmpPolicy;

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

    /// A router reported that our packets do not fit its next hop of `mtu` bytes (the quote
    /// was checked against the send window). A smaller path MTU lowers the MSS and sends again,
    /// at once, everything in flight in the new size (Linux's `tcp_simple_retransmit`; FreeBSD's
    /// `tcp_mtudisc` likewise restarts from SND.UNA); a larger or equal one changes nothing.
    /// Returns the new estimate when it was lowered.
    pub(crate) fn path_mtu_reduced(&mut self, ctx: &mut Ctx<'_>, mtu: usize) -> Option<u32> {
        //= rfc1191#3
        //~ paraphrase: The path MTU estimate is only ever lowered by a "too big" report; it is
        //~ raised by other means (probing).
        let mtu = mtu.max(self.min_path_mtu()) as u32;
        if mtu >= self.mtu {
            return None;
        }
        self.mtu = mtu;
        self.adv_mtu = self.adv_mtu.min(mtu);
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
        Some(mtu)
    }
}
