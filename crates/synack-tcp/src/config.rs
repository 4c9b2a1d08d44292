//! Settings: one for the whole endpoint, one per connection.

pub use crate::accecn::AccEcnOptionPolicy;
use crate::rtt::RttConfig;
use crate::time::Duration;
use synack_wire::tcp::OptionLayout;

/// Which congestion controller a connection uses (RFC 9438 CUBIC is the default).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
#[non_exhaustive]
pub enum CongestionControl {
    /// NewReno (RFC 5681, RFC 6582).
    NewReno,
    /// CUBIC (RFC 9438).
    #[default]
    Cubic,
    /// CUBIC with congestion avoidance in Linux's integer form (`crate::cc::LinuxCubic`):
    /// the per-ACK increase recomputed at most every 1/32 s at an unchanged window, at least
    /// one segment per 20 acknowledged while no loss window is remembered (an RTO forgets
    /// it), the Reno-friendly window counted as Linux counts it.
    LinuxCubic,
    /// BBRv3 (draft-ietf-ccwg-bbr): model-based, always paced (`crate::cc::Bbr`).
    Bbr,
}

/// The RST a connection sends when it aborts itself (close with unread data, ABORT, data
/// arriving after a full close).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
#[non_exhaustive]
pub enum AbortReset {
    /// RFC 9293 3.10.5's ABORT form, `<SEQ=SND.NXT><CTL=RST>` with no options, also for data
    /// after a full close.
    #[default]
    Rfc,
    /// Linux's: `<SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK>` with a fresh timestamp
    /// (`tcp_send_active_reset`), and data after a full close answered as a segment to no
    /// connection, `<SEQ=SEG.ACK><CTL=RST>` (`tcp_v4_send_reset`). Receivers accept both: an
    /// ACK bit on a RST is ignored by RFC 9293's RST processing (and 3.10.7.4's own resets
    /// carry it), a timestamp on a RST is allowed (RFC 7323 5.2 exempts RSTs from PAWS), and
    /// SEG.ACK is exactly the peer's RCV.NXT, which passes RFC 5961's exact-match test where
    /// SND.NXT after our FIN would only draw a challenge ACK. The RFC form stays the default
    /// because it is what RFC 9293 writes; the drill's linux profile selects this one.
    Linux,
    /// FreeBSD's (`tcp_drop` sends from CLOSED): `R.` with `<SEQ=SND.NXT><ACK=RCV.NXT>`, no
    /// options, window 0, on an abort; data after a full close is answered as from no
    /// connection, `<SEQ=SEG.ACK><CTL=RST>` (`tcp_dropwithreset`).
    Bsd,
}

/// When reading from the receive buffer sends a window update by itself.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
#[non_exhaustive]
pub enum ReadWindowUpdate {
    /// RFC 9293 3.8.6.2.2 (receiver SWS avoidance): as soon as the right edge can move by
    /// min(RCV.BUFF/2, Eff.snd.MSS), so a sender stalled on our window learns at once.
    #[default]
    SwsStep,
    /// Linux's `tcp_cleanup_rbuf`: only when the window now advertised has fallen to at most
    /// half the largest we can offer and the read at least doubles it, and never after the
    /// peer's FIN. Fewer pure ACKs on a connection whose window never ran low; the RFC rule
    /// stays the default because it reopens a small window sooner.
    Doubling,
}

/// The window offered on the segments a connection sends (RFC 9293 3.8.6.2.2 leaves the
/// receiver's SWS avoidance a SHOULD; what it protects against is advertising small increments).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
#[non_exhaustive]
pub enum ReceiveWindow {
    /// RFC 9293 3.8.6.2.2: RCV.NXT + RCV.WND stays put until it can move right by
    /// min(RCV.BUFF/2, Eff.snd.MSS).
    #[default]
    SwsAvoidance,
    /// FreeBSD's (`tcp_output`): every segment offers all the free buffer space (up to the
    /// largest window the scale allows), never less than already offered; only when that
    /// space is below both a quarter of the buffer and one segment does the edge stay put.
    /// With a buffer larger than the largest window (FreeBSD's 65700-byte buffer rounded to
    /// whole segments, no window scaling) the window then stays at 65535 while data is queued.
    /// Arriving segments are checked against the free space too, so a sequence number beyond
    /// the advertised 65535 but inside the buffer is in the window (`tcp_input`'s `rcv_wnd`).
    FreeSpace,
}

/// Which in-order segments count towards acknowledging at least every second segment
/// (RFC 9293 3.8.6.3 SHLD-19 speaks of full-sized ones).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
#[non_exhaustive]
pub enum AckEvery {
    /// Every second full-sized segment is ACKed at once; smaller ones wait for the timer.
    #[default]
    SecondFullSized,
    /// Every second segment whatever its size (FreeBSD's `DELAY_ACK`: a segment is only
    /// delayed when no delayed ACK is pending already).
    SecondSegment,
}

/// Which segments carry PSH beyond RFC 9293 MUST-61 (the one that empties the send queue);
/// RFC 9293 3.9.1.2 leaves the rest to the sender.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
#[non_exhaustive]
pub enum PushPolicy {
    /// The last new-data segment of a burst (cwnd, the peer's window or the data ran out): a
    /// receiver delivers what it has when no more is coming soon. During loss repair only a
    /// burst of more than one new segment counts (the single segments limited transmit and
    /// PRR send one per ACK continue the flow). The default: it needs no per-write state and
    /// marks every point where the flow pauses.
    #[default]
    EndOfBurst,
    /// Linux's: the segment carrying the last byte of each write (`tcp_push` /
    /// `tcp_mark_push`), plus a forced push once more than half the peer's largest window
    /// has been written since the last one (`forced_push`); a segment cut off by cwnd or the
    /// window carries none unless it holds such a byte. Retransmissions keep the PSH of the
    /// segment they repeat. Write boundaries are kept in a fixed-size record
    /// ([`crate::push::PushMarks`]), no allocation per write.
    EndOfWrite,
    /// Linux's as it shows on the wire: new data leaves in the packets Linux would hand its
    /// device (TSO/GSO: at most half the congestion window, sized by the pacing rate and
    /// `min_tso_segs`, see [`crate::gso`]), and the last segment of every packet of two or
    /// more segments carries PSH, as Linux forces it on GSO packets; a single-segment packet
    /// carries PSH when it holds a write's last byte (or a forced push, as `EndOfWrite`).
    /// Retransmissions keep the engine's rules (PSH when they empty the queue or end a
    /// record). State: the write ends and the current packet, in the same boxed record as
    /// `EndOfWrite`'s.
    LinuxGso {
        /// Linux's `tcp_min_tso_segs` (2 by default): the fewest segments a packet may be
        /// sized to.
        min_tso_segs: u8,
    },
}

impl PushPolicy {
    /// Linux's policy with its default `tcp_min_tso_segs`.
    pub const LINUX: PushPolicy =
        PushPolicy::LinuxGso { min_tso_segs: crate::gso::DEFAULT_MIN_TSO_SEGS };

    /// The policy keeps write ends as push points.
    pub fn marks_writes(self) -> bool {
        matches!(self, PushPolicy::EndOfWrite | PushPolicy::LinuxGso { .. })
    }
}

/// Keep-alive settings (RFC 9293 3.8.4). Off unless a connection sets `keep_alive: Some(..)`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct KeepAlive {
    /// Idle time before the first probe; RFC 9293 MUST-28 asks for at least two hours by default.
    pub idle: Duration,
    /// Time between unanswered probes.
    pub interval: Duration,
    /// Unanswered probes in a row before the connection is declared dead (MUST-29: never one).
    pub probes: u32,
}

impl Default for KeepAlive {
    fn default() -> Self {
        KeepAlive { idle: Duration::from_secs(7200), interval: Duration::from_secs(75), probes: 9 }
    }
}

/// The IP header fields a connection's packets carry besides the addresses and the ECN
/// codepoint (which the connection's ECN state sets): the socket's `IP_TTL` /
/// `IPV6_UNICAST_HOPS` and `IP_TOS` / `IPV6_TCLASS`. The IP layer that writes the header
/// (synack-stack, a test harness) reads them from [`Transmit`](crate::Transmit).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct IpFields {
    /// TTL (IPv4) or hop limit (IPv6); `None`: the IP layer's default.
    pub ttl: Option<u8>,
    /// TOS (IPv4) or traffic class (IPv6) without its two ECN bits (RFC 3168 5: the DSCP
    /// field in the upper six); 0 by default.
    pub tos: u8,
}

/// How a connection's send buffer ([`ConnConfig::send_buffer`]) is charged.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum SendAccounting {
    /// The buffer holds `send_buffer` bytes; a writer is woken once a third of it is free.
    #[default]
    Bytes,
    /// Linux's accounting (see `synack_tcp::sndbuf`'s module notes): the queue is cut into
    /// buffers of the size goal (half the peer's largest window, whole segments, at most 64 KB),
    /// each charged its bytes plus `overhead`; a write starts a new buffer only while the
    /// charge is below `send_buffer` (and fewer than the unsent low-water mark are unsent) but
    /// fills the last one to the size goal regardless, and a writer is woken once the free
    /// space is at least half the charge. `send_buffer` is the value Linux's `sk_sndbuf`
    /// holds (twice what `SO_SNDBUF` set).
    LinuxSkb {
        /// The fixed charge of one buffer (`skb->truesize` without its data; 832 bytes on
        /// Linux 6.18 x86-64).
        overhead: u16,
    },
}

/// How a connection's receive memory is charged and its window offered.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum RecvAccounting {
    /// The window is the free space of a byte buffer of `recv_buffer` bytes, moved as
    /// [`ReceiveWindow`] says (RFC 9293 3.8.6.2.2).
    #[default]
    Bytes,
    /// Linux's accounting (see the module notes of `conn::rcv_mem`): every segment taken,
    /// in order or not, is charged the memory Linux's TUN driver allocates for such a
    /// packet (`skb->truesize`) against `rcvbuf`, until the application has read past it;
    /// the window offered is the free memory scaled by the measured payload-to-memory ratio,
    /// capped by a threshold that grows as segments arrive (`rcv_ssthresh`), and never
    /// shrinks unless `shrink` allows it.
    LinuxSkb {
        /// The memory limit (`sk_rcvbuf`): twice what `SO_RCVBUF` set, else `tcp_rmem`'s
        /// default.
        rcvbuf: u32,
        /// `net.ipv4.tcp_shrink_window=1`: with window scaling, the window offered may
        /// move its right edge left when memory runs short (segments up to the largest
        /// right edge offered are still taken).
        shrink: bool,
    },
}

/// Per-connection settings; change them later with the `set_*` methods of the endpoint.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ConnConfig {
    /// Send buffer size in bytes.
    pub send_buffer: usize,
    /// The unsent low-water mark (Linux's `TCP_NOTSENT_LOWAT`): the most bytes written but
    /// not yet sent that the connection holds. A write takes data only while fewer than this
    /// are unsent, and never takes the unsent count past it; the connection polls writable
    /// (and `Writable` fires) only once fewer than half of it are unsent, so a writer is woken
    /// with room for a good share of it (`tcp_stream_memory_free` with `wake`). Unacknowledged
    /// sent data does not count: a server that keeps its unsent queue small (HTTP/2
    /// prioritisation) still fills the path. `None` (the default, Linux's
    /// `net.ipv4.tcp_notsent_lowat` of `UINT_MAX`): only the send buffer limits a write.
    pub notsent_lowat: Option<u32>,
    /// How the send buffer is charged: by the bytes queued (the default), or as Linux
    /// charges its buffers ([`SendAccounting::LinuxSkb`]).
    pub send_accounting: SendAccounting,
    /// How the receive memory is charged and the window offered: a byte buffer (the
    /// default) or as Linux does ([`RecvAccounting::LinuxSkb`]).
    pub recv_accounting: RecvAccounting,
    /// Receive buffer size in bytes at the start (also sets the window scale offered on the
    /// SYN, together with `recv_buffer_max`).
    pub recv_buffer: usize,
    /// Receive-window auto-tuning cap: when larger than `recv_buffer`, the buffer doubles
    /// whenever the peer fills half of it within one round trip (the window limits the flow),
    /// up to this size. 0 (the default) keeps the buffer fixed at `recv_buffer`, so a
    /// configured size means what it says; the runtime turns tuning on for bulk sockets.
    pub recv_buffer_max: usize,
    /// Disable Nagle's algorithm (TCP_NODELAY, RFC 9293 MUST-17).
    pub nodelay: bool,
    /// Keep-alive; `None` (the default, MUST-25) sends no probes.
    pub keep_alive: Option<KeepAlive>,
    /// Abort when sent data stays unacknowledged this long (RFC 9293 3.10.8); `None`: no limit.
    pub user_timeout: Option<Duration>,
    /// R1: retransmissions of one segment before the soft "excessive retransmissions" report.
    pub r1: u32,
    /// R2 for data: give up when the oldest unacknowledged segment has been retransmitted for
    /// this long. `None` means never (RFC 9293 MUST-21 allows infinity).
    pub r2: Option<Duration>,
    /// R2 for a SYN; raised to at least 3 minutes (RFC 9293 MUST-23).
    pub r2_syn: Duration,
    /// SYN-ACK retransmissions a listener's half-open child makes before it is dropped
    /// (Linux's `tcp_synack_retries`, 5 by default: with the 1 s initial RTO the entry goes
    /// after 1 + 2 + 4 + 8 + 16 + 32 = 63 s). RFC 4987 section 3.2 names a shorter
    /// SYN-RECEIVED timer as a flood defence: spoofed SYNs are never answered, so their
    /// entries hold the SYN queue (and keep it in cookie mode) until they expire. `None`
    /// keeps them for R2 of a SYN (`r2_syn`, at least 3 minutes). Only passive opens: a
    /// SYN-RECEIVED reached from SYN-SENT (simultaneous open) is the application's own open
    /// attempt and keeps `r2_syn`. A child admitted while its listener's SYN queue is at least
    /// half full makes at most 2 (gone after 7 s), as Linux cuts old requests' retries.
    pub syn_ack_retries: Option<u32>,
    /// SYN retransmissions an active open makes before it gives up, at the timeout after the
    /// last one (Linux's `TCP_SYNCNT`): the application's own shorter limit on the open
    /// attempt, which RFC 9293 3.8.3 allows it. `None` (the default) keeps R2 of a SYN
    /// (`r2_syn`, at least 3 minutes, MUST-23).
    pub syn_retries: Option<u32>,
    /// The first this-many SYN retransmissions of an active open wait the initial RTO again
    /// instead of doubling it, so a SYN lost to a passing link failure is repeated sooner
    /// (Linux's `tcp_syn_linear_timeouts`, 4 there: timeouts of 1, 1, 1, 1, 1, 2, 4 s...).
    /// They come on top of [`syn_retries`](Self::syn_retries), as in Linux.
    /// RFC 6298 5.5 doubles after every timeout: 0 (the default).
    pub syn_linear_timeouts: u32,
    /// The application's own limit on an open attempt, in SYN-SENT and SYN-RECEIVED: the
    /// connection times out when it is not established this long after it began, whatever
    /// the retransmissions (FreeBSD's `TCP_KEEPINIT` and `net.inet.tcp.keepinit`, 75 s there).
    /// RFC 9293 3.8.3 lets the application give up on an open sooner than R2; a limit longer
    /// than R2 of a SYN keeps the SYN retried until it (MUST-23 only sets R2's minimum).
    /// `None` (the default) keeps R2 of a SYN.
    pub connect_timeout: Option<Duration>,
    /// Our SYN asks for classic ECN (ECE and CWR, RFC 3168 6.1.1) on the first transmission
    /// and this many retransmissions only; later ones go without, in case it is the ECN
    /// flags a middlebox drops (FreeBSD's `net.inet.tcp.ecn.maxretries`, 1 there). RFC 3168
    /// 6.1.1.1 allows sending a later SYN without them. `None` (the default): every SYN.
    pub syn_ecn_retries: Option<u32>,
    /// SYN retransmissions beyond this many carry only the MSS option (no window scale, SACK
    /// or timestamps), in case options are what the path drops (FreeBSD's
    /// `net.inet.tcp.rexmit_drop_options=1`: from the third retransmission, so 2). `None`
    /// (the default): every SYN carries every option configured.
    pub syn_options_retries: Option<u32>,
    /// Send no TCP options at all on this connection's SYN or SYN-ACK, so none is negotiated
    /// (FreeBSD's `TCP_NOOPT`): no MSS (the peer assumes 536, RFC 9293 3.7.1), window scale,
    /// SACK or timestamps. Off by default.
    pub no_options: bool,
    /// TTL and TOS for every packet of the connection, the RSTs it sends included.
    pub ip: IpFields,
    /// Offer window scaling.
    pub window_scaling: bool,
    /// Offer SACK-permitted.
    pub sack: bool,
    /// Offer timestamps (RFC 7323).
    pub timestamps: bool,
    /// Congestion controller.
    pub congestion_control: CongestionControl,
    /// Delayed-ACK timeout (RFC 9293 MUST-40: below 500 ms).
    pub delayed_ack: Duration,
    /// How long FIN-WAIT-2 waits for the peer's FIN after the application closed.
    pub fin_wait2_timeout: Duration,
    /// RTO bounds (RFC 6298); the default uses Linux's 200 ms minimum.
    pub rtt: RttConfig,
    /// RACK-TLP loss detection and tail loss probes (RFC 8985), used when SACK is negotiated.
    /// On by default; off leaves loss detection to duplicate-ACK counting (RFC 6675/5681).
    pub rack: bool,
    /// Proportional Rate Reduction (RFC 6937, standards track as RFC 9937) during fast
    /// recovery, with SACK (RFC 6675) and without (NewReno): on each ACK the sender may send
    /// PRR's `sndcnt`, a share of the data the ACK reports delivered, instead of whatever
    /// `cwnd - pipe` allows. On by default, as in Linux, because the plain RFC 6675 rule
    /// either falls silent for half a round trip after the window is cut (losing the ACK
    /// clock, inviting an RTO when a retransmission is lost too) or bursts when many losses
    /// emptied the pipe; PRR spreads the reduction evenly and ends recovery with the flight
    /// at ssthresh. Off restores the RFC 6675 / RFC 6582 behaviour (window inflation,
    /// `cwnd - pipe`). Read when the connection is created and again when it becomes
    /// established; changing it on an established connection has no effect (as with `rack`).
    pub prr: bool,
    /// HyStart++ (RFC 9406) in the initial slow start, with either controller: when the
    /// round trip time rises by an eighth (4 to 16 ms) from one round to the next, slow start
    /// gives way to Conservative Slow Start and then congestion avoidance, before the
    /// bottleneck queue overflows. On by default, as Linux runs HyStart with its default
    /// CUBIC, because plain slow start doubles into a queue shorter than the path's
    /// bandwidth-delay product and loses about half a window in one burst (on the simulated
    /// 50 Mbit/s, 10 ms path with a 41-packet queue, over a hundred retransmissions per MiB,
    /// see `docs/THROUGHPUT.md`). Off gives RFC 5681 slow start until the first loss. Read
    /// when the connection becomes established.
    pub hystart: bool,
    /// Pacing (`crate::pacing`): data segments leave spaced at the pacing rate instead of in
    /// window-sized bursts. The rate is the controller's when it has one (BBR, which always
    /// paces, whatever this says), else Linux's for a window under the `fq` qdisc: 200% of
    /// cwnd / SRTT in slow start, 120% after. Off by default for CUBIC and NewReno, as in
    /// Linux without `fq`.
    pub pacing: bool,
    /// Data segments a paced connection sends before pacing spaces them: Linux lets its
    /// first 10 go unpaced (`tcp_update_skb_after_send`, as the original `fq` let a new
    /// flow's first 10 MSS through). 0 (the default) paces from the first segment.
    pub pacing_free_segments: u32,
    /// `SO_MAX_PACING_RATE`: the most bytes per second pacing lets out. `None` (the default):
    /// no cap. A cap paces a connection even with `pacing` off (Linux's internal pacing does
    /// the same).
    pub max_pacing_rate: Option<u64>,
    /// Explicit Congestion Notification (RFC 3168): offered on the SYN and used when the peer
    /// agrees. Off by default.
    pub ecn: bool,
    /// Accurate ECN (RFC 9768): asked for on active opens, accepted on passive ones, and how
    /// the AccECN option is sent. Off by default.
    pub accecn: AccEcnConfig,
    /// Report soft errors (`Event::SoftError`: R1 reached, soft ICMP errors, path MTU drops).
    /// RFC 9293 SHLD-20 lets the application switch them off. On by default.
    pub soft_errors: bool,
    /// Which ICMP errors end the connection, and in which states: RFC 9293's hard errors (the
    /// default), or Linux's or FreeBSD's choices ([`IcmpPolicy`](crate::IcmpPolicy)).
    pub icmp_policy: crate::icmp::IcmpPolicy,
    /// Path MTU black-hole detection (FreeBSD's `net.inet.tcp.pmtud_blackhole_detection`):
    /// when full-sized segments keep timing out in ESTABLISHED or FIN-WAIT-1, smaller segment
    /// sizes are tried ([`PmtudBlackhole`]). `None` (the default) keeps the size.
    pub pmtud_blackhole: Option<PmtudBlackhole>,
    /// Packetization-layer path MTU discovery (RFC 4821; Linux's `net.ipv4.tcp_mtu_probing`):
    /// probe segments of new data search upward for the largest size the path carries,
    /// without relying on ICMP. `None` (the default) sends no probes.
    pub mtu_probing: Option<MtuProbing>,
    /// TCP_MAXSEG: an upper bound on the MSS we announce on our SYN and on the segments we
    /// send (RFC 9293 3.7.1 lets the user lower the MSS; Linux's per-socket clamp). `None`
    /// (the default) derives both from the MTU and the peer's MSS alone.
    pub mss_clamp: Option<u16>,
    /// The congestion window a connection starts with, in segments (a route's `initcwnd` on
    /// Linux; RFC 6928 allows experimenting with other values). `None` (the default): RFC
    /// 6928's 10.
    pub initial_window_segments: Option<u16>,
    /// Restart the congestion window after the sender was idle longer than an RTO (RFC 5681
    /// section 4.1's restart window; the controller decides what restarting means). On by
    /// default, as in Linux (`net.ipv4.tcp_slow_start_after_idle`); off keeps the window an
    /// idle period found, as Linux does with the sysctl at 0 (packetdrill's defaults set it so).
    pub slow_start_after_idle: bool,
    /// Quick-ACK: the first this many in-order data segments of a connection are ACKed at
    /// once instead of after the delayed-ACK timer, so the peer's slow start is not held back
    /// by our delayed ACKs (Linux's quickack mode, up to 16 segments). 0 (the default) delays
    /// from the first segment, as RFC 9293 3.8.6.3 allows. Quick ACKs wait while the
    /// connection is interactive (Linux's pingpong mode): data we sent within a delayed-ACK
    /// time of the last arrival (or of a handshake that ended with our data waiting) is taken
    /// as the answer, and the next reply is expected to carry the ACK; a delayed ACK that has
    /// to go alone, or data received twice, ends it.
    pub quick_ack_segments: u32,
    /// The window-scale shift offered on our SYN (capped at 14, RFC 7323 2.3), instead of the
    /// smallest shift that fits the receive buffer; an implementation's choice (FreeBSD derives
    /// it from its socket-buffer ceiling: 6 for 2 MB). A shift too small for the buffer only
    /// caps the advertised window. `None` (the default) derives it from the buffer.
    pub window_scale: Option<u8>,
    /// RFC 3465's L for slow start: one ACK grows cwnd by at most `L * SMSS`, however many
    /// segments it covers. `Some(2)` (the default) is RFC 3465 2.2's recommendation, which
    /// keeps a stretch ACK (or one after ACK loss) from releasing a large line-rate burst.
    /// `None` grows cwnd by every byte an ACK covers, as Linux's `tcp_slow_start` does (the
    /// linux drill profile); the RFC's limit stays the default because a burst of many
    /// segments at once is what the cap is there to prevent.
    pub slow_start_ack_limit: Option<u32>,
    /// Whether a retransmission timeout computes ssthresh from cwnd instead of FlightSize.
    /// RFC 5681 (equation 4) and RFC 9438 (section 4.6) use FlightSize, the default, so a
    /// sender that did not fill its window keeps no credit for it; Linux's controllers use
    /// cwnd (the linux drill profile), so after an application-limited spell (one segment
    /// outstanding under a window of ten) its ssthresh stays near the window. Fast recovery
    /// and ECN reductions keep FlightSize (capped by cwnd) here.
    pub rto_from_cwnd: bool,
    /// Once the measured reordering degree (`tcpi_reordering`, in segments) exceeds this
    /// value, an ACK that only SACKs new data grows the window as one advancing SND.UNA does
    /// (Linux's `tcp_may_raise_cwnd` with `tcp_reordering`, 3 by default: where reordering
    /// is known to be high, out-of-order delivery is still delivery). `None` (the default)
    /// grows on cumulative ACKs only (RFC 5681 3.1); the linux drill profile sets 3.
    /// (`NonZeroU8`: the measured degree is never below 3, so 0 would mean "always".)
    pub sack_growth_above_reordering: Option<core::num::NonZeroU8>,
    /// How our options are laid out on the wire: Linux's word-aligned layout (the default;
    /// every field on a 4-byte boundary, what most receivers' fast paths expect) or FreeBSD's
    /// (`mss,nop,wscale,sackOK,TS` on a SYN). RFC 9293 3.2 lets options start on any octet, so
    /// this changes bytes, not meaning; the drill's freebsd profile selects `Bsd`.
    pub option_layout: OptionLayout,
    /// Round the receive buffer up to a whole number of segments once the handshake has fixed
    /// the MSS (FreeBSD's `tcp_mss`: 65536 becomes 65700 = 45 * 1460), so the window is never
    /// a fraction of a segment short. Off by default: the configured size means what it says
    /// (RFC 9293 leaves buffer sizing to the implementation); the drill's freebsd profile
    /// turns it on.
    pub recv_buffer_mss_rounding: bool,
    /// The form of the RST sent when the connection aborts itself; see [`AbortReset`].
    pub abort_reset: AbortReset,
    /// Which rule sends a window update after the application reads; see
    /// [`ReadWindowUpdate`].
    pub read_window_update: ReadWindowUpdate,
    /// Which segments carry PSH; see [`PushPolicy`].
    pub push_policy: PushPolicy,
    /// How the receive window is offered; see [`ReceiveWindow`].
    pub receive_window: ReceiveWindow,
    /// Which segments count towards an immediate ACK of every second one; see [`AckEvery`].
    pub ack_every: AckEvery,
    /// RFC 5961 section 3: a RST that is in the window but not exactly at RCV.NXT draws a
    /// challenge ACK. Off, any in-window RST resets the connection (RFC 9293's rule without
    /// RFC 5961; FreeBSD's `net.inet.tcp.insecure_rst=1`). On by default.
    pub rfc5961_rst: bool,
    /// RFC 5961 section 4: a SYN in a synchronized state draws a challenge ACK. Off, a SYN in
    /// the window aborts the connection with a reset (RFC 793's rule; FreeBSD's
    /// `net.inet.tcp.insecure_syn=1`); one outside it is still only acknowledged. On by
    /// default.
    pub rfc5961_syn: bool,
    /// While our FIN is sent and unacknowledged (FIN-WAIT-1, CLOSING, LAST-ACK), every ACK we
    /// send carries the FIN again (at its own sequence number), as FreeBSD's `tcp_output` does
    /// for any segment in those states. RFC 9293 3.10.7.4 answers with a plain
    /// `<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>` and leaves FIN retransmission to the timer; off
    /// by default.
    pub ack_repeats_fin: bool,
    /// A RST in CLOSING or LAST-ACK is reported to an application that still holds the
    /// connection (it only shut down its sending half) as a reset, as Linux and FreeBSD do.
    /// RFC 9293 3.10.7.4 enters CLOSED there without a user signal (the default).
    pub reset_after_fin_reported: bool,
    /// A connection ended by an error (a RST) keeps what it received and the application
    /// has not read: reads return those bytes before they report the error; and a connection
    /// still waiting in a listener's accept queue stays there, CLOSED with its error, to be
    /// accepted (Linux's `tcp_reset`/`tcp_done`, which leave the socket and its receive queue
    /// to the application). RFC 9293 3.10.7.4 flushes the queues and an unaccepted
    /// connection is simply gone (the default).
    pub reset_keeps_socket: bool,
    /// The window our SYN or SYN-ACK offers is a whole number of the MSS we announce when
    /// the free buffer holds more than one (Linux's `tcp_select_initial_window`: 20000 bytes
    /// with MSS 1460 offer 18980), and the right edge stays there until data arrives (Linux's
    /// `rcv_ssthresh` starts at the initial window and grows as segments come in). The
    /// default offers all the free buffer, up to 65535, and moves the edge as space allows.
    pub initial_window_whole_segments: bool,
    /// Nagle's test holds a sub-MSS segment only while an earlier sub-MSS segment is
    /// unacknowledged (Minshall's variant, Linux's `tcp_nagle_check`/`tcp_minshall_check`),
    /// so a short tail after full segments leaves at once. The default holds it while any
    /// data is unacknowledged (RFC 896, RFC 9293 3.7.4).
    pub nagle_minshall: bool,
    /// A segment that begins inside the window and reaches past it is taken whole when no
    /// in-order data waits to be read and it fits the buffer, in order or out of order
    /// (Linux's `tcp_data_queue` and `tcp_data_queue_ofo` with an empty receive queue); taken
    /// in order it draws no quick ACK: its ACK waits for the delayed-ACK timer. The default
    /// trims it to the window (RFC 9293 3.10.7.4).
    pub oversized_taken_when_empty: bool,
    /// In SYN-SENT, a SYN-ACK whose timestamp echoes a value we never sent (outside the first
    /// SYN's TSval up to now) is answered with `<SEQ=SEG.ACK><CTL=RST>` and dropped (Linux's
    /// `PAWSActiveRejected` in `tcp_rcv_synsent_state_process`). The default takes it.
    pub syn_ack_tsecr_check: bool,
    /// A simultaneous open as Linux runs it: the text on the peer's SYN (without ACK) is
    /// dropped rather than queued for ESTABLISHED (`tcp_rcv_synsent_state_process` keeps only
    /// the ISN; the peer sends the data again), and the peer's SYN-ACK, whose SYN repeats
    /// what is already received, draws an ACK at once with a D-SACK of it when SACK is on.
    /// The default queues the text (RFC 9293 3.10.7.3) and takes the SYN-ACK silently.
    pub linux_simultaneous_open: bool,
    /// A segment that ends past the window's right edge (its FIN included) is dropped whole,
    /// answered with a duplicate ACK and counted in `beyond_window`, while in-order data waits
    /// to be read (Linux 6.17's `tcp_sequence`, which keeps receive memory within what the
    /// window promised). The default keeps the part inside the window (RFC 9293 3.10.7.4).
    pub past_window_dropped_while_data_waits: bool,
    /// TIME-WAIT ignores every RST, RFC 1337 section 3's fix for TIME-WAIT assassination
    /// (FreeBSD's `tcp_twcheck`; Linux's `tcp_rfc1337=1`). RFC 9293 (with RFC 5961) closes on
    /// a RST at RCV.NXT: off by default.
    pub time_wait_ignores_rst: bool,
    /// TIME-WAIT drops a SYN without ACK that does not start a new incarnation, unanswered,
    /// as FreeBSD's `tcp_twcheck` checks for ACK before anything else. RFC 9293 (with RFC
    /// 5961 4.2) answers such a SYN with a challenge ACK: off by default.
    pub time_wait_drops_old_syn: bool,
    /// The connection's segments travel inside UDP datagrams to this remote UDP port (TCP
    /// over UDP, FreeBSD's `TCP_REMOTE_UDP_ENCAPS_PORT`; see [`crate::udp_encap`]); `None`
    /// (the default) sends plain TCP. Set before an active open; a passive connection takes
    /// the port its SYN arrived from. The MSS offered and used is
    /// [`UDP_ENCAP_OVERHEAD`](crate::udp_encap::UDP_ENCAP_OVERHEAD) smaller.
    pub udp_encapsulation: Option<core::num::NonZeroU16>,
    /// A segment wholly below RCV.NXT (an old duplicate, say a retransmitted FIN) still has
    /// its ACK field processed before it is dropped and acknowledged, as the BSD stacks do
    /// ("keep on processing for RST or ACK"; Linux likewise accepts a segment ending at
    /// RCV.NXT). RFC 9293 3.10.7.4 drops an unacceptable segment after the ACK: off by default.
    pub old_segment_ack_processed: bool,
    /// TIME-WAIT acknowledges every segment with ACK that is not an exact duplicate of the
    /// last ACK (flags ACK only, no data, SEG.SEQ = RCV.NXT, SEG.ACK = SND.NXT), as FreeBSD's
    /// `tcp_twcheck` does. RFC 9293 3.10.7.4 acknowledges only unacceptable segments and a
    /// retransmitted FIN: off by default.
    pub time_wait_acks_non_duplicates: bool,
    /// How many ACKs a connection sends in reply to unacceptable segments without data
    /// (challenge ACKs of RFC 5961 and out-of-window ACKs) per time window (RFC 5961 section
    /// 7's per-connection limit). The default, one per 500 ms, is Linux's
    /// `tcp_invalid_ratelimit`; FreeBSD allows five a second (`net.inet.tcp.ack_war_cnt`,
    /// `ack_war_timewindow`).
    pub unacceptable_ack_limit: AckLimit,
}

/// A per-connection limit of `acks` replies per `window_ms` milliseconds: a window opens at
/// the first reply after the previous one closed, and replies beyond `acks` within it are
/// not sent. Either figure 0 lifts the per-connection limit: the endpoint's randomised
/// challenge-ACK budget still applies, but one connection's count then depends on what others
/// drew, the side channel RFC 5961 section 10 warns of (the per-connection limit is what
/// closes it).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct AckLimit {
    /// Replies allowed per window.
    pub acks: u8,
    /// The window's length in milliseconds.
    pub window_ms: u16,
}

impl AckLimit {
    /// Linux's `tcp_invalid_ratelimit`: one reply per 500 ms.
    pub const LINUX: AckLimit = AckLimit { acks: 1, window_ms: 500 };
    /// FreeBSD's ACK-war limit: five replies a second.
    pub const FREEBSD: AckLimit = AckLimit { acks: 5, window_ms: 1000 };
}

impl Default for ConnConfig {
    fn default() -> Self {
        ConnConfig {
            send_buffer: 256 * 1024,
            notsent_lowat: None,
            send_accounting: SendAccounting::Bytes,
            recv_accounting: RecvAccounting::Bytes,
            recv_buffer: 256 * 1024,
            recv_buffer_max: 0,
            nodelay: false,
            keep_alive: None,
            user_timeout: None,
            r1: 3,
            r2: Some(Duration::from_secs(100)),
            r2_syn: Duration::from_secs(180),
            syn_ack_retries: Some(5),
            syn_retries: None,
            syn_linear_timeouts: 0,
            connect_timeout: None,
            syn_ecn_retries: None,
            syn_options_retries: None,
            no_options: false,
            ip: IpFields { ttl: None, tos: 0 },
            window_scaling: true,
            sack: true,
            timestamps: true,
            congestion_control: CongestionControl::Cubic,
            delayed_ack: Duration::from_millis(40),
            fin_wait2_timeout: Duration::from_secs(60),
            rtt: RttConfig::default(),
            rack: true,
            prr: true,
            hystart: true,
            pacing: false,
            pacing_free_segments: 0,
            max_pacing_rate: None,
            ecn: false,
            accecn: AccEcnConfig::default(),
            soft_errors: true,
            icmp_policy: crate::icmp::IcmpPolicy::Rfc,
            pmtud_blackhole: None,
            mtu_probing: None,
            mss_clamp: None,
            initial_window_segments: None,
            slow_start_after_idle: true,
            quick_ack_segments: 0,
            window_scale: None,
            slow_start_ack_limit: Some(2),
            rto_from_cwnd: false,
            sack_growth_above_reordering: None,
            option_layout: OptionLayout::Linux,
            recv_buffer_mss_rounding: false,
            abort_reset: AbortReset::Rfc,
            read_window_update: ReadWindowUpdate::SwsStep,
            push_policy: PushPolicy::EndOfBurst,
            receive_window: ReceiveWindow::SwsAvoidance,
            ack_every: AckEvery::SecondFullSized,
            rfc5961_rst: true,
            rfc5961_syn: true,
            ack_repeats_fin: false,
            reset_after_fin_reported: false,
            reset_keeps_socket: false,
            initial_window_whole_segments: false,
            nagle_minshall: false,
            oversized_taken_when_empty: false,
            syn_ack_tsecr_check: false,
            linux_simultaneous_open: false,
            past_window_dropped_while_data_waits: false,
            time_wait_ignores_rst: false,
            time_wait_drops_old_syn: false,
            udp_encapsulation: None,
            old_segment_ack_processed: false,
            time_wait_acks_non_duplicates: false,
            unacceptable_ack_limit: AckLimit::LINUX,
        }
    }
}

/// The segment sizes black-hole detection steps down to, per address family (`None`: no
/// detection for that family): each is tried for two retransmission timeouts, the first step
/// at the second timeout; a step not below the current size is where it stops.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PmtudBlackhole {
    /// IPv4's steps (MSS, bytes of payload without options).
    pub v4: Option<[u16; 2]>,
    /// IPv6's steps.
    pub v6: Option<[u16; 2]>,
}

/// When and how packetization-layer path MTU discovery probes (`ConnConfig::mtu_probing`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct MtuProbing {
    /// Start every connection at `base_mss` and probe upward (Linux's `tcp_mtu_probing=2`);
    /// `false` starts searching only once repeated timeouts suggest a black hole
    /// (`tcp_mtu_probing=1`).
    pub always: bool,
    /// The MSS the search starts from (Linux's `tcp_base_mss`, 1024).
    pub base_mss: u16,
    /// The search stops when the range left is narrower than this many bytes (Linux's
    /// `tcp_probe_threshold`, 8).
    pub threshold: u16,
    /// The smallest MSS a black hole's halving goes down to (Linux's `tcp_mtu_probe_floor`, 48).
    pub floor_mss: u16,
    /// How long after a search began an ended one starts again from the largest size, in
    /// case the path now carries more (Linux's `tcp_probe_interval`, 600 s).
    pub reprobe_interval: Duration,
    /// How probes are sent and when they may go ([`ProbeStyle`]).
    pub style: ProbeStyle,
}

/// How path MTU probes are sent (`MtuProbing::style`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ProbeStyle {
    /// RFC 4821: while a probe is in flight no other new data is sent, so its loss is never
    /// mixed with congestion; a probe goes whenever the windows hold it; every connection that
    /// always probes starts at the base size.
    Rfc4821,
    /// Linux's `tcp_mtu_probe`: new data in the current size follows the probe as the
    /// congestion window allows; a probe goes only with a congestion window of at least 11
    /// segments and enough queued for the probe and four segments after it (so losing it is
    /// noticed by duplicate ACKs); a passive open keeps the size of its handshake until a
    /// probe succeeds (the search's lower bound starts at the base size all the same). A probe
    /// whose bytes had to be retransmitted failed.
    Linux,
}

impl MtuProbing {
    /// Linux's defaults; `always` as with `tcp_mtu_probing=2`. The style stays RFC 4821's:
    /// set [`ProbeStyle::Linux`] for Linux's way of sending probes.
    pub const fn linux(always: bool) -> MtuProbing {
        MtuProbing {
            always,
            base_mss: 1024,
            threshold: 8,
            floor_mss: 48,
            reprobe_interval: Duration::from_secs(600),
            style: ProbeStyle::Rfc4821,
        }
    }
}

/// Endpoint-wide settings.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct EndpointConfig {
    /// Link MTU (bytes of IP packet); sets the MSS we offer and our MMS_S (RFC 9293 3.7.1).
    pub mtu: usize,
    /// Maximum segment lifetime; TIME-WAIT lasts twice this (RFC 9293 3.3.2 suggests 2 minutes).
    pub msl: Duration,
    /// Settings new connections (active and accepted) start with.
    pub conn: ConnConfig,
    /// Most challenge ACKs (RFC 5961 section 7) per second across the endpoint.
    pub challenge_ack_limit: u32,
    /// Most half-open connections per listener before SYN cookies (or drops) start.
    pub syn_queue_len: usize,
    /// Answer SYNs with cookies when a listener's SYN queue is full (RFC 4987).
    pub syn_cookies: bool,
    /// Answer every SYN with a cookie, keeping no half-open state at all (Linux's
    /// `tcp_syncookies=2`): a listener's memory stays flat whatever arrives, at the price of
    /// what a cookie cannot carry (a window scale or SACK without timestamps, an exact MSS,
    /// retransmitted SYN-ACKs). Off by default: cookies only when the queue is full.
    pub syn_cookies_always: bool,
    /// Ephemeral port range for active opens (RFC 6056 suggests 1024..=65535).
    pub ephemeral_ports: (u16, u16),
    /// Most connections the endpoint holds; further SYNs are dropped and connects fail.
    pub max_connections: usize,
    /// Drop every segment that carries both SYN and FIN, unanswered, whatever the state
    /// (FreeBSD's `net.inet.tcp.drop_synfin=1`, which keeps scanners from fingerprinting the
    /// stack by its answer). RFC 9293 gives SYN+FIN no special treatment: off by default.
    pub drop_syn_fin: bool,
    /// A SYN-ACK arriving at a listening socket is dropped unanswered, as FreeBSD's
    /// `tcp_input` does. RFC 9293 3.10.7.2 answers any ACK in LISTEN with
    /// `<SEQ=SEG.ACK><CTL=RST>` (the default).
    pub listen_drops_syn_ack: bool,
    /// TCP Fast Open (RFC 7413) switches for both sides.
    pub fast_open: crate::fastopen::FastOpenConfig,
    /// A connection covered by a TCP-MD5 key (RFC 2385, [`crate::Md5Key`]) neither offers nor
    /// uses timestamps, leaving the option room to SACK blocks, as Linux does. Off by default
    /// (FreeBSD, and RFC 2385, keep them).
    pub md5_drops_timestamps: bool,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            mtu: 1500,
            msl: Duration::from_secs(120),
            conn: ConnConfig::default(),
            challenge_ack_limit: 1000,
            syn_queue_len: 256,
            syn_cookies: true,
            syn_cookies_always: false,
            ephemeral_ports: (49152, 65535),
            max_connections: 65536,
            drop_syn_fin: false,
            listen_drops_syn_ack: false,
            fast_open: crate::fastopen::FastOpenConfig::default(),
            md5_drops_timestamps: false,
        }
    }
}

/// Accurate ECN (RFC 9768) settings of a connection. Linux's `tcp_ecn` 3 asks and accepts
/// (with [`ConnConfig::ecn`] on, so a classic ECN peer still gets classic ECN), 4 accepts and
/// asks for classic ECN, 5 only accepts; `tcp_ecn_option`, `tcp_ecn_option_beacon` and
/// `tcp_ecn_fallback` are the other three fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccEcnConfig {
    /// Ask for AccECN on our SYN (AE, CWR and ECE set). Off by default.
    pub request: bool,
    /// Agree to AccECN when a peer's SYN asks for it. Off by default.
    pub accept: bool,
    /// When to send the AccECN option (Linux's default: whenever it fits).
    pub option: AccEcnOptionPolicy,
    /// With [`AccEcnOptionPolicy::Minimum`], send the option at least this many times per
    /// smoothed RTT (0: only when a change asks for it). Linux's default is 3.
    pub option_beacon: u8,
    /// Check the handshake's ECN feedback and stop sending ECN-capable packets when the path
    /// mangled it (Linux's `tcp_ecn_fallback`, on by default).
    pub fallback: bool,
}

impl Default for AccEcnConfig {
    fn default() -> Self {
        AccEcnConfig {
            request: false,
            accept: false,
            option: AccEcnOptionPolicy::Full,
            option_beacon: 3,
            fallback: true,
        }
    }
}
