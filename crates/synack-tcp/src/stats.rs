//! Introspection: per connection, like Linux's TCP_INFO, and the listeners' SYN handling.

use crate::state::State;
use crate::time::Duration;
use synack_wire::SeqNum;

/// A snapshot of one connection's state and counters ([`crate::Endpoint::stats`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct ConnStats {
    /// Current state.
    pub state: State,
    /// SND.UNA.
    pub snd_una: SeqNum,
    /// SND.NXT.
    pub snd_nxt: SeqNum,
    /// SND.WND (scaled).
    pub snd_wnd: u32,
    /// RCV.NXT.
    pub rcv_nxt: SeqNum,
    /// RCV.WND as last advertised.
    pub rcv_wnd: u32,
    /// Effective send MSS (payload bytes per full segment).
    pub snd_mss: u32,
    /// MSS we advertised.
    pub rcv_mss: u16,
    /// The receiver's estimate of the peer's segment size (Linux's `tcpi_rcv_mss`): the
    /// largest data segment seen, up to `rcv_mss`, or the length of two short ones in a row
    /// that looked full-sized; before any data, min(`rcv_mss`, `snd_mss`, window / 2, 536),
    /// at least 88.
    pub peer_mss_estimate: u16,
    /// Path MTU in use: the configured MTU, lowered by ICMP "packet too big" (Linux's
    /// `tcpi_pmtu`). IP and TCP headers and options come out of it before `snd_mss`.
    pub pmtu: u32,
    /// Shift applied to the peer's window.
    pub snd_wscale: u8,
    /// Shift the peer applies to ours.
    pub rcv_wscale: u8,
    /// Timestamps negotiated.
    pub timestamps: bool,
    /// SACK negotiated.
    pub sack: bool,
    /// Smoothed RTT, once sampled.
    pub srtt: Option<Duration>,
    /// RTT variation.
    pub rttvar: Duration,
    /// Current RTO (with backoff).
    pub rto: Duration,
    /// Consecutive RTO backoffs in force.
    pub backoff: u32,
    /// Unanswered probes: persist-timer probes (zero-window probes, and retries of data the
    /// device refused) and keep-alive probes (Linux's `icsk_probes_out`, `tcpi_probes`).
    pub probes: u32,
    /// The sending window in bytes (`None`: no congestion controller attached yet): the
    /// congestion controller's cwnd, except during fast recovery, where it is the window the
    /// sender actually obeys: PRR's `pipe + sndcnt` (RFC 9937), as Linux reports in
    /// `tcpi_snd_cwnd` while PRR sets `snd_cwnd`, or NewReno's inflated window with PRR off.
    /// The controller's own value is `ssthresh` then (both set it on entering recovery).
    pub cwnd: Option<u32>,
    /// Slow-start threshold (`None`: no congestion controller attached yet).
    pub ssthresh: Option<u32>,
    /// Segments received.
    pub segs_in: u64,
    /// Segments sent.
    pub segs_out: u64,
    /// Segments retransmitted.
    pub retransmits: u64,
    /// Retransmission timeouts.
    pub timeouts: u64,
    /// Loss events: fast retransmits, partial-ACK retransmits and RTOs.
    pub lost: u64,
    /// Segments currently marked lost and not yet SACKed or acknowledged, counted whether or
    /// not they were retransmitted since (Linux's `tcpi_lost`; `lost` above counts events).
    pub lost_segments: u32,
    /// Retransmitted segments still in flight: neither SACKed, acknowledged nor marked lost
    /// again (Linux's `retrans_out`, `tcpi_retrans`). From RACK's per-segment log, which is
    /// kept whether RACK's loss detection is on or off; `None` before the connection is
    /// established.
    pub retrans_segments: Option<u32>,
    /// Segments sent and not cumulatively acknowledged, SACKed ones included, as they were
    /// sent (Linux's `packets_out`, `tcpi_unacked`). `None` before the connection is
    /// established.
    pub unacked_segments: Option<u32>,
    /// The reordering degree in segments (Linux's `tcpi_reordering`): 3 (the DupThresh)
    /// until an original transmission is SACKed or cumulatively acknowledged below the end
    /// of the highest SACKed segment, then ceil(that distance / `snd_mss`) when larger, at
    /// most 300; back to 3 on an RTO outside recovery with 3 or more segments SACKed.
    /// Measured from the segment log whether RACK's loss detection is on or off; without
    /// SACK nothing shows reordering and it stays 3. `None` before the connection is
    /// established.
    pub reordering: Option<u32>,
    /// Deliveries judged reordered so far (Linux's `tcpi_reord_seen`). `None` before the
    /// connection is established.
    pub reordering_events: Option<u32>,
    /// Bytes the peer currently SACKs above SND.UNA.
    pub sacked: u32,
    /// Whether the sender is in fast recovery now.
    pub in_recovery: bool,
    /// Whether a window reduction for an ECN echo is under way (RFC 3168 6.1.2; Linux's
    /// `TCP_CA_CWR`): from the ECE until SND.UNA passes what was outstanding then.
    pub ecn_reducing: bool,
    /// Payload bytes sent (first transmissions and retransmissions).
    pub bytes_sent: u64,
    /// Payload bytes acknowledged by the peer.
    pub bytes_acked: u64,
    /// Payload bytes received in order.
    pub bytes_received: u64,
    /// Bytes waiting in the send buffer (unsent and unacknowledged).
    pub send_queue: usize,
    /// Of those, bytes written and not yet sent (Linux's `tcpi_notsent_bytes`, what
    /// [`ConnConfig::notsent_lowat`](crate::ConnConfig::notsent_lowat) bounds).
    pub notsent_bytes: u32,
    /// Bytes waiting in the receive buffer for the application.
    pub recv_queue: usize,
    /// Receive buffer size now (grows with auto-tuning).
    pub recv_buffer: usize,
    /// The delivery rate in bytes per second from the last delivery-rate sample
    /// (draft-cheng-iccrg-delivery-rate-estimation) not taken while application-limited, or
    /// an application-limited one at least as fast (Linux's `tcpi_delivery_rate`).
    pub delivery_rate: Option<u64>,
    /// [`ConnStats::delivery_rate`] was measured while the application, not the network,
    /// limited the sender (`tcpi_delivery_rate_app_limited`).
    pub delivery_rate_app_limited: bool,
    /// The pacing rate in bytes per second (`tcpi_pacing_rate`): the controller's (BBR) or
    /// the window's (200% of cwnd / SRTT in slow start, 120% after), capped by
    /// `ConnConfig::max_pacing_rate`; reported whether or not the connection paces. `None`:
    /// unlimited (no RTT measured yet, no cap).
    pub pacing_rate: Option<u64>,
    /// `ConnConfig::max_pacing_rate` (`tcpi_max_pacing_rate`; `None`: no cap).
    pub max_pacing_rate: Option<u64>,
    /// Segments delivered to the peer, cumulatively acknowledged or SACKed, our SYN (or
    /// SYN-ACK) counted as one (Linux's `tcpi_delivered`).
    pub delivered: u32,
    /// Of those, segments the peer received CE-marked (`tcpi_delivered_ce`): with Accurate
    /// ECN the ACE field's count, otherwise the segments delivered by ACKs echoing congestion
    /// (ECE).
    pub delivered_ce: u32,
    /// Data on a SYN was acknowledged by the SYN-ACK, ours or the peer's (Fast Open; Linux's
    /// `TCPI_OPT_SYN_DATA`).
    pub syn_data: bool,
    /// Accepted with its SYN's data, before the handshake completed (a Fast Open child).
    pub fast_open_child: bool,
    /// Window scaling is in use (both SYNs carried the option).
    pub window_scaling: bool,
    /// ECN (RFC 3168) was agreed on the handshake.
    pub ecn: bool,
    /// Accurate ECN (RFC 9768) was agreed on the handshake.
    pub accecn: bool,
    /// Bytes the peer reported as received CE-marked, ECT(0) and ECT(1) (the AccECN option's
    /// counters; Linux's `tcpi_delivered_{ce,e0,e1}_bytes`).
    pub delivered_ecn_bytes: (u32, u32, u32),
}

/// What the endpoint's listeners did with the SYNs and handshake ACKs that reached them
/// ([`crate::Endpoint::listen_counters`]): how a SYN flood is being handled, and what it cost
/// legitimate peers. Counts since the endpoint was made.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
#[non_exhaustive]
pub struct ListenCounters {
    /// SYNs that reached a listener (not retransmissions to a connection that exists).
    pub syns: u64,
    /// Of those, answered from a new half-open (SYN-RECEIVED) entry.
    pub half_open_admitted: u64,
    /// Of those, answered with a SYN cookie (the half-open queue was full; RFC 4987).
    pub cookies_sent: u64,
    /// Dropped because the listener's accept queue was full (the peer retries).
    pub syns_dropped_accept_full: u64,
    /// Dropped because the half-open queue was full and SYN cookies are off.
    pub syns_dropped_queue_full: u64,
    /// ACKs that completed a handshake from a valid SYN cookie.
    pub cookies_accepted: u64,
    /// ACKs checked as cookies (cookies were sent lately) that did not validate; answered
    /// with a RST as any ACK to a listener is.
    pub cookies_rejected: u64,
    /// Handshake-completing ACKs dropped because the accept queue was full (the peer
    /// retransmits, or our SYN-ACK retransmission invites it to).
    pub acks_dropped_accept_full: u64,
    /// Half-open entries that gave up: after their last SYN-ACK retransmission, or earlier
    /// when the listener's user timeout (RFC 9293 3.10.8) is shorter.
    pub half_open_expired: u64,
    /// Half-open entries removed to make room for a handshake that completed while the
    /// endpoint held its most connections: a peer that answered beats one that has not.
    pub half_open_evicted: u64,
    /// Half-open entries held now, across listeners.
    pub half_open: u64,
    /// Listeners answering SYNs with cookies now (their half-open queue is full). A listener
    /// leaves cookie mode as soon as its queue has room again.
    pub listeners_in_cookie_mode: u64,
}

/// Arriving segments whose data the connections refused, by reason
/// ([`crate::Endpoint::drop_counters`]), counted as Linux counts the same events in its MIB:
/// how often peers send past the window we offered. Counts since the endpoint was made.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
#[non_exhaustive]
pub struct DropCounters {
    /// Segments dropped because they begin beyond the receive window's right edge (Linux's
    /// `LINUX_MIB_BEYOND_WINDOW`, nstat's `TcpExtBeyondWindow`). Old duplicates below
    /// RCV.NXT, SYNs and RSTs are not counted.
    pub beyond_window: u64,
    /// Segments at RCV.NXT whose text was refused because the window was zero (Linux's
    /// `LINUX_MIB_TCPZEROWINDOWDROP`, `TcpExtTCPZeroWindowDrop`).
    pub zero_window: u64,
}

impl core::ops::AddAssign for DropCounters {
    fn add_assign(&mut self, c: DropCounters) {
        self.beyond_window += c.beyond_window;
        self.zero_window += c.zero_window;
    }
}

/// Counters of several endpoints (the shards of one host) add up field by field.
impl core::ops::AddAssign for ListenCounters {
    fn add_assign(&mut self, c: ListenCounters) {
        self.syns += c.syns;
        self.half_open_admitted += c.half_open_admitted;
        self.cookies_sent += c.cookies_sent;
        self.syns_dropped_accept_full += c.syns_dropped_accept_full;
        self.syns_dropped_queue_full += c.syns_dropped_queue_full;
        self.cookies_accepted += c.cookies_accepted;
        self.cookies_rejected += c.cookies_rejected;
        self.acks_dropped_accept_full += c.acks_dropped_accept_full;
        self.half_open_expired += c.half_open_expired;
        self.half_open_evicted += c.half_open_evicted;
        self.half_open += c.half_open;
        self.listeners_in_cookie_mode += c.listeners_in_cookie_mode;
    }
}

#[cfg(test)]
mod listen_counter_tests {
    use super::ListenCounters;

    #[test]
    fn counters_of_two_shards_add_field_by_field() {
        let a = ListenCounters { syns: 3, cookies_sent: 2, half_open: 1, ..Default::default() };
        let b = ListenCounters {
            syns: 4,
            cookies_accepted: 5,
            listeners_in_cookie_mode: 1,
            ..Default::default()
        };
        let mut sum = a;
        sum += b;
        assert_eq!(
            sum,
            ListenCounters {
                syns: 7,
                cookies_sent: 2,
                cookies_accepted: 5,
                half_open: 1,
                listeners_in_cookie_mode: 1,
                ..Default::default()
            }
        );
    }
}
