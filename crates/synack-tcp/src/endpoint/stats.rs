//! The TCP_INFO-like snapshot of a connection.

use synack_wire::SeqNum;

use super::{ConnId, Endpoint};
use crate::error::InvalidConnection;
use crate::stats::ConnStats;

impl Endpoint {
    /// A TCP_INFO-like snapshot.
    pub fn stats(&self, id: ConnId) -> Result<ConnStats, InvalidConnection> {
        let c = self.conn(id)?;
        let (snd_una, snd_nxt, snd_wnd, send_queue) = match c.tcb.snd() {
            Some(s) => (s.una, s.max_nxt, s.wnd, s.buf.len()),
            None => (SeqNum(0), SeqNum(0), 0, 0),
        };
        let (rcv_nxt, rcv_wnd, recv_queue, recv_buffer) = match c.tcb.halves_ref() {
            Some((_, r)) => (r.nxt, r.wnd(), r.buf.len(), r.buf.capacity()),
            None => (SeqNum(0), 0, 0, c.cfg.recv_buffer),
        };
        // RACK's per-segment log backs the segment counts; it is fed from establishment on,
        // whether RACK's loss detection is on or off.
        let rack = c.rec.segment_log();
        Ok(ConnStats {
            state: c.state(),
            snd_una,
            snd_nxt,
            snd_wnd,
            rcv_nxt,
            rcv_wnd,
            snd_mss: c.eff_snd_mss(),
            rcv_mss: c.opt.rcv_mss,
            peer_mss_estimate: c.tcb.halves_ref().map_or(0, |(_, r)| {
                if r.mss_estimate == 0 {
                    crate::conn::initial_rcv_mss(c.opt.rcv_mss, c.eff_snd_mss(), r.wnd())
                } else {
                    r.mss_estimate
                }
            }),
            pmtu: u32::from(c.mtu),
            snd_wscale: c.opt.snd_wscale,
            rcv_wscale: c.opt.rcv_wscale,
            timestamps: c.opt.ts,
            sack: c.opt.sack,
            srtt: c.rtt.srtt(),
            rttvar: c.rtt.rttvar(),
            rto: c.rtt.rto(),
            backoff: c.rtt.backoff_count(),
            probes: u32::from(c.persist_backoff) + u32::from(c.keepalive_probes),
            cwnd: Some(c.rec.effective_cwnd()),
            ssthresh: Some(c.rec.cc.ssthresh()),
            segs_in: c.stats.segs_in,
            segs_out: c.stats.segs_out,
            retransmits: c.stats.retransmits,
            timeouts: c.stats.timeouts,
            lost: u64::from(c.rec.lost),
            lost_segments: c.rec.lost_segments(),
            retrans_segments: rack.map(|r| r.retransmitted_segments()),
            unacked_segments: rack.map(|r| r.unacked_segments()),
            reordering: rack.map(|r| r.reordering(c.eff_snd_mss())),
            reordering_events: rack.map(|r| r.reordering_events()),
            sacked: c.rec.sb.sacked_bytes(),
            in_recovery: c.rec.in_recovery(),
            ecn_reducing: c.ecn.as_ref().and_then(|e| e.recover).is_some_and(|r| snd_una.lt(r)),
            bytes_sent: c.stats.bytes_sent,
            bytes_acked: c.stats.bytes_acked,
            bytes_received: c.stats.bytes_received,
            send_queue,
            notsent_bytes: c.tcb.snd().map_or(0, crate::conn::unsent),
            recv_queue,
            recv_buffer,
            delivery_rate: c.rec.rate.delivery_rate(),
            delivery_rate_app_limited: c.rec.rate.delivery_rate_app_limited(),
            pacing_rate: c.pacing_rate_figure(),
            max_pacing_rate: c.cfg.max_pacing_rate,
            delivered: c.rec.rate.delivered_segments(),
            delivered_ce: c.accecn_delivered().map_or_else(|| c.rec.rate.delivered_ce(), |d| d.0),
            syn_data: c.syn_data_acked(),
            fast_open_child: c.is_fast_open_child(),
            window_scaling: c.window_scaling_agreed(),
            ecn: c.ecn.is_some(),
            accecn: c.accecn.is_some(),
            delivered_ecn_bytes: c.accecn_delivered().map_or((0, 0, 0), |d| (d.1, d.2, d.3)),
        })
    }

    /// Connections currently held (any state, including TIME-WAIT).
    pub fn connection_count(&self) -> usize {
        self.live
    }
}
