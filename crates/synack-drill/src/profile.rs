//! Stack profiles: the defaults a suite's expected output assumes (README §4), and the table that
//! maps the suites' backtick commands (sysctl, `defaults.sh`, ...) onto those knobs.
//!
//! A script written against Linux expects IW10, a 200 ms minimum RTO, 40 ms delayed ACKs and
//! `mss,sackOK,TS,nop,wscale` on the SYN; one written against FreeBSD expects `win 65535` and
//! `mss,nop,wscale,sackOK,TS`. The profile says which world a run assumes; the runner turns it
//! into engine settings and reports any knob the engine cannot honour.

use crate::shell;
use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

/// Congestion controller a profile asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cc {
    /// NewReno (RFC 5681 / 6582).
    Reno,
    /// CUBIC (RFC 9438).
    Cubic,
    /// BBR (draft-ietf-ccwg-bbr, BBRv3).
    Bbr,
}

/// ECN negotiation (`tcp_ecn` / `net.inet.tcp.ecn.enable`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EcnMode {
    /// Never negotiate.
    Off,
    /// Accept when the peer asks, never ask (Linux 2, FreeBSD 2).
    Passive,
    /// Ask on active opens and accept (Linux 1, FreeBSD 1).
    On,
    /// Ask for Accurate ECN (RFC 9768) and accept it or classic ECN (Linux 3).
    AccEcn,
    /// Accept Accurate ECN or classic ECN, ask for classic ECN (Linux 4).
    AccEcnInEcnOut,
    /// Accept Accurate ECN or classic ECN, never ask (Linux 5).
    AccEcnInOnly,
}

impl EcnMode {
    /// Whether active opens ask for classic ECN (AccECN requests carry its flags too).
    pub fn asks_ecn(self) -> bool {
        matches!(self, EcnMode::On | EcnMode::AccEcn | EcnMode::AccEcnInEcnOut)
    }
    /// Whether listeners accept classic ECN without asking for it themselves.
    pub fn accepts_only(self) -> bool {
        matches!(self, EcnMode::Passive | EcnMode::AccEcnInOnly)
    }
    /// Whether a peer's AccECN request is accepted.
    pub fn accepts_accecn(self) -> bool {
        matches!(self, EcnMode::AccEcn | EcnMode::AccEcnInEcnOut | EcnMode::AccEcnInOnly)
    }
}

/// Which SYN option layout the stack emits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SynLayout {
    /// `mss,sackOK,TS,nop,wscale` (with TS) / `mss,nop,nop,sackOK,nop,wscale` (without).
    Linux,
    /// `mss,nop,wscale,sackOK,TS`.
    FreeBsd,
}

/// The defaults a suite assumes.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    /// `linux`, `freebsd` or `rfc`.
    pub name: &'static str,
    /// Initial congestion window in segments (RFC 6928 IW10 or RFC 5681's 2..4).
    pub initial_window: u32,
    /// Link MTU; the advertised MSS is MTU − 40 for IPv4.
    pub mtu: u32,
    /// Receive buffer (sets the window and the window scale offered).
    pub recv_buffer: usize,
    /// Send buffer.
    pub send_buffer: usize,
    /// Offer window scaling (RFC 7323).
    pub window_scaling: bool,
    /// Offer timestamps (RFC 7323).
    pub timestamps: bool,
    /// Offer SACK-permitted (RFC 2018).
    pub sack: bool,
    /// ECN negotiation.
    pub ecn: EcnMode,
    /// When the AccECN option is sent (Linux's `tcp_ecn_option`: 0 never, 1 minimum, 2 full,
    /// 3 persist).
    pub ecn_option: u8,
    /// AccECN option beacon per RTT (Linux's `tcp_ecn_option_beacon`).
    pub ecn_option_beacon: u8,
    /// Fall back when the handshake's ECN feedback was mangled (Linux's `tcp_ecn_fallback`).
    pub ecn_fallback: bool,
    /// Congestion control.
    pub cc: Cc,
    /// Slow-start growth per ACK in segments (RFC 3465's L); `None`: every segment the ACK
    /// covers (Linux's `tcp_slow_start`).
    pub slow_start_ack_limit: Option<u32>,
    /// ssthresh at an RTO from cwnd (Linux's controllers) rather than FlightSize (the RFCs).
    pub rto_from_cwnd: bool,
    /// Floor of the retransmission timeout.
    pub rto_min: Duration,
    /// RTO before any RTT sample.
    pub initial_rto: Duration,
    /// Ceiling of the retransmission timeout, backoff included (Linux's `tcp_rto_max_ms`,
    /// 120 s; FreeBSD's `TCPTV_REXMTMAX`, 64 s).
    pub rto_max: Duration,
    /// Delayed-ACK timeout.
    pub delayed_ack: Duration,
    /// Segments acknowledged at once at the start of a connection (Linux quick-ACK mode).
    pub quick_ack_segments: u32,
    /// Tail loss probe (RFC 8985 §7).
    pub tlp: bool,
    /// Pacing for every controller (Linux paces CUBIC and Reno under the `fq` qdisc; BBR
    /// paces whatever the qdisc).
    pub pacing: bool,
    /// Data segments sent before pacing spaces them (`ConnConfig::pacing_free_segments`).
    pub pacing_free_segments: u32,
    /// The link's queue drops every packet the stack sends (`tc qdisc ... pfifo limit 0`):
    /// each transmit fails and is reported to the engine as refused.
    pub link_drops: bool,
    /// RACK time-based loss detection (RFC 8985).
    pub rack: bool,
    /// Reset cwnd after an idle period (RFC 5681 §4.1).
    pub slow_start_after_idle: bool,
    /// PSH placement: `Some(tcp_min_tso_segs)` puts PSH where Linux's TSO/GSO packets end
    /// (`PushPolicy::LinuxGso`); `None` at the end of a burst (`PushPolicy::EndOfBurst`).
    pub linux_gso_push: Option<u8>,
    /// RFC 5961 challenge ACKs for in-window SYN and RST (FreeBSD's `insecure_syn` and
    /// `insecure_rst` at 0): (RST, SYN).
    pub rfc5961: (bool, bool),
    /// SYN-ACK retransmissions before a half-open entry is dropped (Linux's
    /// `tcp_synack_retries`, FreeBSD's `net.inet.tcp.syncache.rexmtlimit`); `None`: R2 for a
    /// SYN (RFC 9293, at least 3 minutes). `ConnConfig::syn_ack_retries`.
    pub syn_ack_retries: Option<u32>,
    /// `SO_SNDBUF`/`SO_RCVBUF` report twice the value set (Linux); the send buffer is then
    /// the doubled value, charged per skb as Linux charges it (`SendAccounting::LinuxSkb`).
    pub sockbuf_doubling: bool,
    /// Option layout (on every segment; the SYN shows it).
    pub syn_layout: SynLayout,
    /// The receive buffer is rounded up to a whole number of segments once the MSS is known
    /// (FreeBSD's `tcp_mss`: 65536 -> 65700 with a 1460-byte MSS).
    pub rcvbuf_mss_rounding: bool,
    /// Linux's abort RSTs: `R.` with a timestamp on close with unread data, `<SEQ=SEG.ACK>`
    /// for data after close (`ConnConfig::abort_reset`).
    pub linux_resets: bool,
    /// Window update after a read only when it at least doubles a window that had fallen to
    /// half the maximum (Linux's `tcp_cleanup_rbuf`; `ConnConfig::read_window_update`).
    pub linux_read_window_update: bool,
    /// Every segment offers all free receive space, never less than already offered
    /// (FreeBSD's `tcp_output`; `ConnConfig::receive_window`), instead of RFC 9293's receiver
    /// SWS avoidance.
    pub free_space_window: bool,
    /// Every second in-order segment is ACKed at once whatever its size (FreeBSD's
    /// `DELAY_ACK`; `ConnConfig::ack_every`), not every second full-sized one.
    pub ack_every_segment: bool,
    /// While our FIN is unacknowledged every ACK repeats it (FreeBSD's `tcp_output` in
    /// FIN-WAIT-1, CLOSING and LAST-ACK; `ConnConfig::ack_repeats_fin`).
    pub ack_repeats_fin: bool,
    /// A RST in CLOSING or LAST-ACK shows as ECONNRESET to a socket that was only shut down
    /// (Linux's `tcp_reset`, FreeBSD; `ConnConfig::reset_after_fin_reported`).
    pub reset_after_fin_reported: bool,
    /// A reset connection keeps its unread bytes (read before the error) and, unaccepted,
    /// its place in the accept queue (Linux's `tcp_reset`/`tcp_done`;
    /// `ConnConfig::reset_keeps_socket`).
    pub reset_keeps_socket: bool,
    /// The SYN or SYN-ACK window is whole segments of the MSS announced, and a segment
    /// reaching past the window is taken whole into an empty receive queue (in order without
    /// a quick ACK, or out of order), and dropped while data waits to be read (Linux's `tcp_select_initial_window`,
    /// `tcp_data_queue`, `tcp_sequence`; `ConnConfig::initial_window_whole_segments`,
    /// `ConnConfig::oversized_taken_when_empty`,
    /// `ConnConfig::past_window_dropped_while_data_waits`).
    pub linux_receive_edges: bool,
    /// Nagle holds a sub-MSS segment only while an earlier sub-MSS segment is unacknowledged
    /// (Linux's Minshall check, `tcp_minshall_check`; `ConnConfig::nagle_minshall`), not
    /// while any data is.
    pub nagle_minshall: bool,
    /// TIME-WAIT ignores RSTs (RFC 1337; FreeBSD, Linux's `tcp_rfc1337=1`;
    /// `ConnConfig::time_wait_ignores_rst`).
    pub time_wait_ignores_rst: bool,
    /// TIME-WAIT drops a SYN without ACK that opens nothing, unanswered (FreeBSD's
    /// `tcp_twcheck`; `ConnConfig::time_wait_drops_old_syn`).
    pub time_wait_drops_old_syn: bool,
    /// Segments with both SYN and FIN are dropped unanswered (FreeBSD's
    /// `net.inet.tcp.drop_synfin=1`; `EndpointConfig::drop_syn_fin`).
    pub drop_syn_fin: bool,
    /// A SYN-ACK to a listening socket is dropped unanswered (FreeBSD;
    /// `EndpointConfig::listen_drops_syn_ack`), not answered with a RST.
    pub listen_drops_syn_ack: bool,
    /// The local UDP port TCP-over-UDP datagrams arrive at and leave from (FreeBSD's
    /// `net.inet.tcp.udp_tunneling_port`; 0: off). A socket may ask for encapsulation
    /// (`TCP_REMOTE_UDP_ENCAPS_PORT`) only while it is set; see `synack_tcp::udp_encap`.
    pub udp_tunneling_port: u16,
    /// Which ICMP errors end a connection, and in which states: Linux's `tcp_v4_err` rules,
    /// FreeBSD's `tcp_ctlinput` with `net.inet.tcp.icmp_may_rst`, or RFC 9293's hard errors.
    pub icmp_policy: synack_tcp::IcmpPolicy,
    /// FreeBSD's `net.inet.tcp.pmtud_blackhole_detection`: 0 off, 1 both families, 2 IPv4
    /// only, 3 IPv6 only.
    pub pmtud_blackhole_detection: u8,
    /// FreeBSD's `net.inet.tcp.pmtud_blackhole_mss` and `v6pmtud_blackhole_mss`: the first
    /// segment size black-hole detection tries (IPv4, IPv6).
    pub pmtud_blackhole_mss: (u16, u16),
    /// Linux's `net.ipv4.tcp_mtu_probing`: 0 off, 1 probing once repeated timeouts suggest a
    /// black hole, 2 always (`ConnConfig::mtu_probing`).
    pub mtu_probing: u8,
    /// Linux's `net.ipv4.tcp_base_mss`: the MSS path MTU probing starts from.
    pub base_mss: u16,
    /// FreeBSD's socket-buffer ceiling (`kern.ipc.maxsockbuf`, 2 MB by default): the window
    /// scale a SYN offers is the smallest that lets a window reach it (`tcp_connect`,
    /// `syncache_add`), 6 for 2 MB.
    pub max_sockbuf: u64,
    /// `net.ipv4.tcp_notsent_lowat`: the unsent low-water mark of a socket that sets none
    /// (`ConnConfig::notsent_lowat`); `u32::MAX`, Linux's default, is no limit.
    pub notsent_lowat: u32,
    /// A segment wholly below RCV.NXT still has its ACK processed (BSD;
    /// `ConnConfig::old_segment_ack_processed`).
    pub old_segment_ack_processed: bool,
    /// TIME-WAIT acknowledges anything but an exact duplicate ACK (FreeBSD's `tcp_twcheck`;
    /// `ConnConfig::time_wait_acks_non_duplicates`).
    pub time_wait_acks_non_duplicates: bool,
    /// Timestamp clock rate in Hz.
    pub ts_hz: u32,
    /// FreeBSD's `net.inet.tcp.rexmit_slop`: added to every computed RTO (200 ms there).
    pub rexmit_slop: Duration,
    /// SYN retransmissions that keep the initial RTO before it doubles (Linux's
    /// `tcp_syn_linear_timeouts`, 4; `ConnConfig::syn_linear_timeouts`).
    pub syn_linear_timeouts: u32,
    /// How long an open attempt may take before it times out (FreeBSD's
    /// `net.inet.tcp.keepinit`, 75 s; `ConnConfig::connect_timeout`); what `TCP_KEEPINIT`
    /// reads before any set.
    pub connect_timeout: Option<Duration>,
    /// SYN retransmissions that still ask for classic ECN (FreeBSD's
    /// `net.inet.tcp.ecn.maxretries`, 1; `ConnConfig::syn_ecn_retries`).
    pub syn_ecn_retries: Option<u32>,
    /// SYN retransmissions that still carry every option (FreeBSD's
    /// `net.inet.tcp.rexmit_drop_options=1`: 2; `ConnConfig::syn_options_retries`).
    pub syn_options_retries: Option<u32>,
    /// Answer SYNs with cookies when a listener's queue is full (`tcp_syncookies=1`,
    /// `net.inet.tcp.syncookies=1`).
    pub syn_cookies: bool,
    /// Answer every SYN with a cookie (Linux's `tcp_syncookies=2`;
    /// `EndpointConfig::syn_cookies_always`).
    pub syn_cookies_always: bool,
    /// Keep-alive idle time, probe interval and probe count a socket starts with (what
    /// `TCP_KEEPIDLE/KEEPINTVL/KEEPCNT` read before any set).
    pub keep_alive: (Duration, Duration, u32),
    /// Every socket keeps its connection alive whether or not it sets `SO_KEEPALIVE`
    /// (FreeBSD's `net.inet.tcp.always_keepalive`, on by default there).
    pub always_keepalive: bool,
    /// Replies a connection sends to unacceptable segments without data per window
    /// (`ConnConfig::unacceptable_ack_limit`; FreeBSD's `net.inet.tcp.ack_war_cnt` and
    /// `ack_war_timewindow`).
    pub unacceptable_ack_limit: synack_tcp::AckLimit,
    /// Fast Open switches as Linux's `tcp_fastopen` bits (0x1 client, 0x2 server, 0x4 client
    /// without cookie, 0x200 server without cookie, 0x400 server on every listener;
    /// `synack_tcp::FastOpenConfig::from_linux_bits`). FreeBSD's `fastopen.client_enable` and
    /// `server_enable` set bits 0x1 and 0x2.
    pub fastopen: u32,
    /// The server's Fast Open cookie key (`tcp_fastopen_key`), as the 16 bytes Linux keys
    /// SipHash with; `None` keeps the engine's own.
    pub fastopen_key: Option<[u8; 16]>,
    /// TCP-MD5 security associations `setkey` installed (FreeBSD: a socket with
    /// `TCP_MD5SIG` signs with the key of the association for its peer).
    pub md5_sas: Vec<Md5Sa>,
    /// Routes with metrics, set by `ip route add|change|replace DST ... advmss N mtu [lock] N
    /// initcwnd N` (`synack_tcp::Endpoint::set_route`), by destination.
    pub routes: Vec<(IpAddr, synack_tcp::RouteMetrics)>,
    /// A connection with a TCP-MD5 key neither offers nor uses timestamps (Linux's
    /// `tcp_syn_options`; `EndpointConfig::md5_drops_timestamps`).
    pub md5_drops_timestamps: bool,
}

/// One `add SRC DST tcp SPI -A tcp-md5 "KEY"` of `setkey`: the key of segments from `src` to
/// `dst`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Md5Sa {
    /// Source address of the segments it signs.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// The key.
    pub key: Vec<u8>,
}

/// The `net.ipv4.tcp_*` sysctl names Linux documents (see the file's header for its source).
const LINUX_TCP_SYSCTLS: &str = include_str!("../reference/linux-tcp-sysctls.txt");

impl Profile {
    /// The Linux defaults that `../common/defaults.sh` sets up, plus Linux's fixed constants.
    pub fn linux() -> Profile {
        Profile {
            name: "linux",
            initial_window: 10,
            mtu: 1500,
            // tcp_rmem's maximum (15 MB): Linux derives the window scale (8) from it.
            recv_buffer: 15 * 1024 * 1024,
            send_buffer: 256 * 1024,
            window_scaling: true,
            timestamps: true,
            sack: true,
            ecn: EcnMode::Off,
            ecn_option: 2,
            ecn_option_beacon: 3,
            ecn_fallback: true,
            cc: Cc::Cubic,
            slow_start_ack_limit: None,
            rto_from_cwnd: true,
            rto_min: Duration::from_millis(200),
            initial_rto: Duration::from_secs(1),
            rto_max: Duration::from_secs(120),
            delayed_ack: Duration::from_millis(40),
            quick_ack_segments: 16,
            tlp: true,
            pacing: false,
            //~ linux: tcp_update_skb_after_send paces only from the 10th data segment.
            pacing_free_segments: 10,
            link_drops: false,
            rack: true,
            slow_start_after_idle: false,
            linux_gso_push: Some(synack_tcp::gso::DEFAULT_MIN_TSO_SEGS),
            rfc5961: (true, true),
            syn_ack_retries: Some(5),
            sockbuf_doubling: true,
            syn_layout: SynLayout::Linux,
            rcvbuf_mss_rounding: false,
            linux_resets: true,
            linux_read_window_update: true,
            free_space_window: false,
            ack_every_segment: false,
            ack_repeats_fin: false,
            reset_after_fin_reported: true,
            reset_keeps_socket: true,
            linux_receive_edges: true,
            nagle_minshall: true,
            time_wait_ignores_rst: false,
            time_wait_drops_old_syn: false,
            drop_syn_fin: false,
            listen_drops_syn_ack: false,
            udp_tunneling_port: 0,
            pmtud_blackhole_detection: 0,
            pmtud_blackhole_mss: (1200, 1220),
            mtu_probing: 0,
            base_mss: 1024,
            icmp_policy: synack_tcp::IcmpPolicy::Linux,
            max_sockbuf: 2 * 1024 * 1024,
            notsent_lowat: u32::MAX,
            old_segment_ack_processed: false,
            time_wait_acks_non_duplicates: false,
            ts_hz: 1000,
            rexmit_slop: Duration::ZERO,
            syn_linear_timeouts: 4,
            connect_timeout: None,
            syn_ecn_retries: None,
            syn_options_retries: None,
            syn_cookies: true,
            syn_cookies_always: false,
            keep_alive: (Duration::from_secs(7200), Duration::from_secs(75), 9),
            always_keepalive: false,
            unacceptable_ack_limit: synack_tcp::AckLimit::LINUX,
            fastopen: 0x70403,
            fastopen_key: None,
            md5_sas: Vec::new(),
            routes: Vec::new(),
            md5_drops_timestamps: true,
        }
    }

    /// `linux` without quick-ACK: every ACK of new data waits for the delayed-ACK timer, as
    /// RFC 9293 3.8.6.3 allows and as synack's engine does by default; and without Linux's
    /// receive edges (`linux_receive_edges`), so a small buffer offers all its space, as RFC
    /// 9293's receiver does. Our own scripts (crates/synack-drill/scripts) are written against
    /// this profile, since they check the delayed ACK of a connection's first data and the
    /// RFC's receive window on small buffers; the public Linux suite runs with `linux`.
    pub fn linux_delack() -> Profile {
        Profile {
            name: "linux-delack",
            quick_ack_segments: 0,
            linux_receive_edges: false,
            linux_gso_push: None,
            ..Profile::linux()
        }
    }

    /// FreeBSD's defaults as the tcp-testsuite scripts reset them.
    pub fn freebsd() -> Profile {
        Profile {
            name: "freebsd",
            initial_window: 10,
            mtu: 1500,
            recv_buffer: 65_536,
            send_buffer: 32_768,
            window_scaling: true,
            timestamps: true,
            sack: true,
            ecn: EcnMode::Passive,
            ecn_option: 2,
            ecn_option_beacon: 3,
            ecn_fallback: true,
            cc: Cc::Reno,
            // net.inet.tcp.abc_l_var defaults to 2, RFC 3465's L.
            slow_start_ack_limit: Some(2),
            rto_from_cwnd: false,
            rto_min: Duration::from_millis(30),
            initial_rto: Duration::from_secs(1),
            rto_max: Duration::from_secs(64),
            delayed_ack: Duration::from_millis(40),
            quick_ack_segments: 0,
            tlp: false,
            pacing: false,
            pacing_free_segments: 0,
            link_drops: false,
            rack: false,
            slow_start_after_idle: true,
            linux_gso_push: None,
            rfc5961: (true, true),
            syn_ack_retries: Some(3),
            sockbuf_doubling: false,
            syn_layout: SynLayout::FreeBsd,
            rcvbuf_mss_rounding: true,
            linux_resets: false,
            linux_read_window_update: false,
            free_space_window: true,
            ack_every_segment: true,
            ack_repeats_fin: true,
            reset_after_fin_reported: true,
            reset_keeps_socket: false,
            linux_receive_edges: false,
            nagle_minshall: false,
            time_wait_ignores_rst: true,
            time_wait_drops_old_syn: true,
            drop_syn_fin: false,
            listen_drops_syn_ack: true,
            udp_tunneling_port: 0,
            pmtud_blackhole_detection: 0,
            pmtud_blackhole_mss: (1200, 1220),
            mtu_probing: 0,
            base_mss: 1024,
            icmp_policy: synack_tcp::IcmpPolicy::FreeBsd { may_rst: true },
            max_sockbuf: 2 * 1024 * 1024,
            notsent_lowat: u32::MAX,
            old_segment_ack_processed: true,
            time_wait_acks_non_duplicates: true,
            ts_hz: 1000,
            rexmit_slop: Duration::from_millis(200),
            syn_linear_timeouts: 0,
            connect_timeout: Some(Duration::from_secs(75)),
            syn_ecn_retries: Some(1),
            syn_options_retries: None,
            syn_cookies: true,
            syn_cookies_always: false,
            keep_alive: (Duration::from_secs(7200), Duration::from_secs(75), 8),
            always_keepalive: true,
            unacceptable_ack_limit: synack_tcp::AckLimit::FREEBSD,
            // FreeBSD's defaults: client on, server off.
            fastopen: 0x1,
            fastopen_key: None,
            md5_sas: Vec::new(),
            routes: Vec::new(),
            md5_drops_timestamps: false,
        }
    }

    /// The plain RFC behaviour: RFC 5681 initial window, RFC 6298 1 s minimum RTO, 200 ms delayed
    /// ACKs, NewReno, no TLP/RACK.
    pub fn rfc() -> Profile {
        Profile {
            name: "rfc",
            initial_window: 3,
            mtu: 1500,
            recv_buffer: 256 * 1024,
            send_buffer: 256 * 1024,
            window_scaling: true,
            timestamps: true,
            sack: true,
            ecn: EcnMode::Off,
            ecn_option: 2,
            ecn_option_beacon: 3,
            ecn_fallback: true,
            cc: Cc::Reno,
            slow_start_ack_limit: Some(2),
            rto_from_cwnd: false,
            rto_min: Duration::from_secs(1),
            initial_rto: Duration::from_secs(1),
            rto_max: Duration::from_secs(120),
            delayed_ack: Duration::from_millis(200),
            quick_ack_segments: 0,
            tlp: false,
            pacing: false,
            pacing_free_segments: 0,
            link_drops: false,
            rack: false,
            slow_start_after_idle: true,
            linux_gso_push: None,
            rfc5961: (true, true),
            syn_ack_retries: None,
            sockbuf_doubling: false,
            syn_layout: SynLayout::Linux,
            rcvbuf_mss_rounding: false,
            linux_resets: false,
            linux_read_window_update: false,
            free_space_window: false,
            ack_every_segment: false,
            ack_repeats_fin: false,
            reset_after_fin_reported: false,
            reset_keeps_socket: false,
            linux_receive_edges: false,
            nagle_minshall: false,
            time_wait_ignores_rst: false,
            time_wait_drops_old_syn: false,
            drop_syn_fin: false,
            listen_drops_syn_ack: false,
            udp_tunneling_port: 0,
            pmtud_blackhole_detection: 0,
            pmtud_blackhole_mss: (1200, 1220),
            mtu_probing: 0,
            base_mss: 1024,
            icmp_policy: synack_tcp::IcmpPolicy::Rfc,
            max_sockbuf: 2 * 1024 * 1024,
            notsent_lowat: u32::MAX,
            old_segment_ack_processed: false,
            time_wait_acks_non_duplicates: false,
            ts_hz: 1000,
            rexmit_slop: Duration::ZERO,
            syn_linear_timeouts: 0,
            connect_timeout: None,
            syn_ecn_retries: None,
            syn_options_retries: None,
            syn_cookies: true,
            syn_cookies_always: false,
            keep_alive: (Duration::from_secs(7200), Duration::from_secs(75), 9),
            always_keepalive: false,
            unacceptable_ack_limit: synack_tcp::AckLimit::LINUX,
            fastopen: 0x3,
            fastopen_key: None,
            md5_sas: Vec::new(),
            routes: Vec::new(),
            md5_drops_timestamps: false,
        }
    }

    /// A profile by name.
    pub fn by_name(name: &str) -> Option<Profile> {
        match name {
            "linux" => Some(Profile::linux()),
            "linux-delack" => Some(Profile::linux_delack()),
            "freebsd" => Some(Profile::freebsd()),
            "rfc" => Some(Profile::rfc()),
            _ => None,
        }
    }

    /// Names the profile defines for a script's `#ifdef` lines, as a compiler predefines its
    /// platform: the FreeBSD suite keeps FreeBSD's own behaviour under `#ifdef FreeBSD` and the
    /// standard one under `#ifdef STANDARD`; `rfc` selects the latter.
    pub fn predefined(&self) -> &'static [&'static str] {
        match self.name {
            "freebsd" => &["FreeBSD"],
            "rfc" => &["STANDARD"],
            _ => &["linux"],
        }
    }

    /// The profile a public script's path implies: the FreeBSD test suite runs with `freebsd`,
    /// everything else in the shared folder comes from Linux's suite.
    pub fn for_path(path: &str) -> Profile {
        if path.contains("freebsd") { Profile::freebsd() } else { Profile::linux() }
    }

    /// Applies a backtick command. Known sysctls and setup steps change knobs or are recorded as
    /// having no effect on a userspace stack; anything else is [`CommandError::Unsupported`], so a
    /// script that depends on it is never passed by accident.
    pub fn apply_command(&mut self, text: &str) -> Result<Vec<String>, CommandError> {
        self.apply_command_in(text, None)
    }

    /// [`Profile::apply_command`] for a script in `dir`: a helper shell script the command runs
    /// (`./defaults.sh`, `../common/defaults.sh`) is read from there and each of its lines
    /// applied in turn, so a suite's own baseline is honoured as written. Paths inside a helper
    /// are relative to `dir`, the shell's working directory. Without `dir`, or when
    /// the helper is not there, a `defaults.sh` stands for the profile's own defaults.
    pub fn apply_command_in(
        &mut self,
        text: &str,
        dir: Option<&Path>,
    ) -> Result<Vec<String>, CommandError> {
        self.apply_nested(text, dir, 0)
    }

    fn apply_nested(
        &mut self,
        text: &str,
        dir: Option<&Path>,
        depth: u32,
    ) -> Result<Vec<String>, CommandError> {
        let pipelines = shell::pipelines(text).map_err(CommandError::Unsupported)?;
        let mut notes = Vec::new();
        for pipeline in pipelines {
            if let Some(n) = self.md5_setup(&pipeline)? {
                notes.push(n);
                continue;
            }
            if pipeline.iter().any(shell::is_or_list) {
                notes.extend(self.apply_or_list(&pipeline, dir, depth)?);
                continue;
            }
            let [words] = pipeline.as_slice() else {
                let shown: Vec<String> = pipeline.iter().map(|w| w.join(" ")).collect();
                return Err(CommandError::Unsupported(shown.join(" | ")));
            };
            notes.extend(self.apply_words(words, dir, depth)?);
        }
        Ok(notes)
    }

    /// `A || B || ...` as the shell runs it: each command in turn until one succeeds. A
    /// command's failure is known only where the profile's system says so (a `sysctl` of a key
    /// Linux does not have, see [`Profile::missing_sysctls`]); any other command is taken to
    /// succeed as [`Profile::apply_words`] models it. A list whose every command fails would
    /// fail the script's command on the real system, which the runner does not model.
    fn apply_or_list(
        &mut self,
        pipeline: &[shell::Words],
        dir: Option<&Path>,
        depth: u32,
    ) -> Result<Vec<String>, CommandError> {
        let shown: Vec<String> = pipeline.iter().map(|w| w.join(" ")).collect();
        let shown = shown.join(" ");
        let mut notes = Vec::new();
        for alternative in pipeline.split(shell::is_or_list) {
            let [words] = alternative else {
                return Err(CommandError::Unsupported(format!(
                    "a pipeline inside an `||` list: {shown}"
                )));
            };
            let missing = self.missing_sysctls(words);
            if missing.is_empty() {
                notes.extend(self.apply_words(words, dir, depth)?);
                return Ok(notes);
            }
            //~ linux: sysctl(8) sets the keys it finds, reports the others and exits non-zero.
            let present: Vec<String> = words
                .iter()
                .filter(|w| {
                    let w = w.replace('/', ".");
                    !missing.iter().any(|m| w.starts_with(&format!("{m}=")))
                })
                .cloned()
                .collect();
            if present.iter().any(|w| w.contains('=')) {
                notes.extend(self.apply_words(&present, dir, depth)?);
            }
            notes.push(format!(
                "{}: fails on Linux (no {}), so the shell runs what follows `||`",
                words.join(" "),
                missing.join(", ")
            ));
        }
        Err(CommandError::Unsupported(format!("every command of `{shown}` fails on Linux")))
    }

    /// The simple commands of a pipeline that run: the pipeline's one command, or in an
    /// `A || B` list each command up to the first that succeeds (see
    /// [`Profile::apply_or_list`]); none for a `|` pipeline.
    pub fn commands_run<'a>(&self, pipeline: &'a [shell::Words]) -> Vec<&'a shell::Words> {
        let mut run = Vec::new();
        for alternative in pipeline.split(shell::is_or_list) {
            let [words] = alternative else { return Vec::new() };
            run.push(words);
            if self.missing_sysctls(words).is_empty() {
                break;
            }
        }
        run
    }

    /// The `net.ipv4.tcp_*` keys a `sysctl` command sets that Linux does not have (not in
    /// `reference/linux-tcp-sysctls.txt`), on a Linux profile; empty for any other command.
    fn missing_sysctls(&self, words: &[String]) -> Vec<String> {
        if !self.name.starts_with("linux") || words.first().map(String::as_str) != Some("sysctl") {
            return Vec::new();
        }
        let known: std::collections::BTreeSet<&str> = LINUX_TCP_SYSCTLS
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        words[1..]
            .iter()
            .filter(|w| !w.starts_with('-'))
            .filter_map(|w| w.split_once('=').map(|(k, _)| k.replace('/', ".")))
            .filter(|k| {
                k.strip_prefix("net.ipv4.")
                    .is_some_and(|n| n.starts_with("tcp_") && !known.contains(n))
            })
            .collect()
    }

    fn apply_words(
        &mut self,
        words: &[String],
        dir: Option<&Path>,
        depth: u32,
    ) -> Result<Vec<String>, CommandError> {
        let line = words.join(" ");
        let unsupported = || CommandError::Unsupported(line.clone());
        let Some(cmd) = words.first().map(String::as_str) else { return Ok(Vec::new()) };
        let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
        if cmd.starts_with("/tmp/sysctl_restore_") {
            return Ok(vec!["sysctl restore: each run starts from the profile".into()]);
        }
        if cmd.ends_with(".sh") {
            let helper = dir.map(|d| d.join(cmd)).filter(|p| p.is_file());
            return match helper {
                Some(path) if depth < 4 => {
                    let text = std::fs::read_to_string(&path)
                        .map_err(|e| CommandError::Unsupported(format!("{cmd}: {e}")))?;
                    let mut notes = vec![format!("{cmd}: read from {}", path.display())];
                    // A file holding nothing but a path to another script is a symlink stored
                    // as text (google's tcp/common/defaults.sh): its target is relative to it.
                    let target = text.trim();
                    if target.ends_with(".sh") && !target.contains(char::is_whitespace) {
                        let linked = path.parent().map(|p| p.join(target));
                        if let Some(l) = linked.filter(|l| l.is_file()) {
                            let linked_dir = l.parent().map(Path::to_path_buf);
                            let name = l.file_name().and_then(|n| n.to_str()).unwrap_or(target);
                            notes.extend(self.apply_nested(
                                &format!("./{name}"),
                                linked_dir.as_deref(),
                                depth + 1,
                            )?);
                            return Ok(notes);
                        }
                    }
                    notes.extend(self.apply_nested(&text, dir, depth + 1).map_err(
                        |CommandError::Unsupported(c)| {
                            CommandError::Unsupported(format!("{c} (in {cmd})"))
                        },
                    )?);
                    Ok(notes)
                }
                None if cmd.ends_with("defaults.sh") => {
                    Ok(vec![format!("{cmd}: profile {} defaults", self.name)])
                }
                _ => Err(unsupported()),
            };
        }
        if crate::files::FileOp::parse(words).is_some() {
            return Ok(vec![format!("{line}: in the run's private directory")]);
        }
        match cmd {
            "sysctl" => {
                let mut notes = Vec::new();
                for w in args.iter().filter(|w| !w.starts_with('-')) {
                    let (k, v) = w.split_once('=').ok_or_else(unsupported)?;
                    // sysctl(8) takes `net/ipv4/x` for `net.ipv4.x`.
                    notes.push(self.set_sysctl(&k.replace('/', "."), v)?);
                }
                Ok(notes)
            }
            c if c.ends_with("set_sysctls.py") => {
                let mut notes = Vec::new();
                for w in &args {
                    let (path, v) = w.split_once('=').ok_or_else(unsupported)?;
                    let key = path.trim_start_matches("/proc/sys/").replace('/', ".");
                    notes.push(self.set_sysctl(&key, v)?);
                }
                Ok(notes)
            }
            "ethtool"
                if args.first() == Some(&"-K")
                    && args
                        .iter()
                        .skip(2)
                        .all(|w| matches!(*w, "tso" | "gso" | "gro" | "off" | "on")) =>
            {
                Ok(vec![format!("{line}: no offloads in the runner")])
            }
            "tc" if args.first() == Some(&"qdisc") && args.last() == Some(&"pfifo") => {
                self.pacing = false;
                self.link_drops = false;
                Ok(vec![format!("{line}: no qdisc, no pacing")])
            }
            // `tc qdisc del[ete] dev DEV root`: the device's default qdisc again, which does
            // not pace.
            "tc" if args.first() == Some(&"qdisc")
                && matches!(args.get(1), Some(&"del") | Some(&"delete"))
                && args.last() == Some(&"root") =>
            {
                self.pacing = false;
                self.link_drops = false;
                Ok(vec![format!("{line}: the default qdisc, no pacing")])
            }
            //~ linux: a pfifo queue of length 0 drops every packet at enqueue, so each
            //~ transmit of the stack fails (NET_XMIT_DROP) until the qdisc is replaced.
            "tc" if args.first() == Some(&"qdisc")
                && matches!(args.get(1), Some(&"replace") | Some(&"add"))
                && args.ends_with(&["pfifo", "limit", "0"]) =>
            {
                self.pacing = false;
                self.link_drops = true;
                Ok(vec![format!("{line}: every transmit fails")])
            }
            //~ linux: the fq qdisc paces every TCP flow at its pacing rate.
            "tc" if matches!(args.first(), Some(&"qdisc"))
                && matches!(args.get(1), Some(&"replace") | Some(&"add"))
                && args.last() == Some(&"fq") =>
            {
                self.pacing = true;
                Ok(vec![format!("{line}: pacing on")])
            }
            // `ip link set dev tun0 mtu N`: the link MTU of the stack under test.
            "ip" if args.starts_with(&["link", "set", "dev"])
                && args.len() == 6
                && args[4] == "mtu" =>
            {
                self.mtu = args[5]
                    .parse::<u32>()
                    .ok()
                    .filter(|m| (68..=65535).contains(m))
                    .ok_or_else(unsupported)?;
                Ok(vec![format!("{line}: link MTU")])
            }
            "ip" if matches!(args.first(), Some(&"route") | Some(&"-4") | Some(&"-6")) => {
                let (dst, metrics) = parse_route(&args)
                    .map_err(|what| CommandError::Unsupported(format!("{line}: {what}")))?;
                self.routes.retain(|(d, _)| *d != dst);
                self.routes.push((dst, metrics));
                Ok(vec![format!("{line}: route metrics for {dst}")])
            }
            "ip" if args.first() == Some(&"tcp_metrics") && args.get(1) == Some(&"flush") => {
                Ok(vec!["ip tcp_metrics flush: the runner empties the stack's cookie cache".into()])
            }
            _ => Err(unsupported()),
        }
    }

    /// FreeBSD's TCP-MD5 setup: `kldstat -q -m tcpmd5 || kldload tcpmd5` (the signature code
    /// is built in here), `echo 'add SRC DST tcp SPI -A tcp-md5 "KEY" ; ...' | setkey -c` (the
    /// security associations, kept in [`Profile::md5_sas`]) and `setkey -F` (flushes them).
    /// `None` for any other pipeline.
    fn md5_setup(&mut self, pipeline: &[shell::Words]) -> Result<Option<String>, CommandError> {
        let is = |w: &shell::Words, cmd: &str| w.first().is_some_and(|c| c == cmd);
        let module = |w: &shell::Words| {
            (is(w, "kldstat") || is(w, "kldload")) && w.last().is_some_and(|m| m == "tcpmd5")
        };
        if pipeline.iter().any(module) && pipeline.iter().all(|w| module(w) || shell::is_or_list(w))
        {
            return Ok(Some("tcpmd5: TCP-MD5 is built into the engine".into()));
        }
        match pipeline {
            [flush] if flush.len() == 2 && is(flush, "setkey") && flush[1] == "-F" => {
                self.md5_sas.clear();
                Ok(Some("setkey -F: security associations flushed".into()))
            }
            [echo, setkey] if is(echo, "echo") && is(setkey, "setkey") && setkey[1..] == ["-c"] => {
                let text = echo[1..].join(" ");
                let unsupported = |what: &str| {
                    CommandError::Unsupported(format!("setkey: {what} in: {}", text.trim()))
                };
                let mut n = 0;
                for stmt in text.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                    let w: Vec<&str> = stmt.split_whitespace().collect();
                    let ["add", src, dst, "tcp", _spi, "-A", "tcp-md5", key] = w.as_slice() else {
                        return Err(unsupported("only `add SRC DST tcp SPI -A tcp-md5 KEY`"));
                    };
                    let addr = |a: &str| a.parse::<IpAddr>().map_err(|_| unsupported("address"));
                    let key = match key.strip_prefix("0x") {
                        Some(hex) if hex.len() % 2 == 0 => (0..hex.len())
                            .step_by(2)
                            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
                            .collect::<Result<Vec<u8>, _>>()
                            .map_err(|_| unsupported("key"))?,
                        Some(_) => return Err(unsupported("key")),
                        None => key.trim_matches('"').as_bytes().to_vec(),
                    };
                    self.md5_sas.push(Md5Sa { src: addr(src)?, dst: addr(dst)?, key });
                    n += 1;
                }
                Ok(Some(format!("setkey: {n} TCP-MD5 security associations")))
            }
            _ => Ok(None),
        }
    }

    /// One `key=value` sysctl, Linux (`net.ipv4.*`) or FreeBSD (`net.inet.tcp.*`, `kern.ipc.*`).
    /// A key the engine has a knob for sets it; a key for which the engine has exactly one
    /// behaviour ([`Profile::fixed_sysctl`]) is accepted when the value asks for that behaviour
    /// and refused, naming it, otherwise.
    pub fn set_sysctl(&mut self, key: &str, value: &str) -> Result<String, CommandError> {
        let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
        let value = value.as_str();
        let bad = || CommandError::Unsupported(format!("{key}={value}"));
        let int = || parse_int(value).ok_or_else(bad);
        let flag = || match value {
            "0" => Ok(false),
            "1" => Ok(true),
            _ => Err(bad()),
        };
        let ms = || u64::try_from(int()?).map(Duration::from_millis).map_err(|_| bad());
        let note = |s: &str| Ok(format!("{key}={value}: {s}"));
        match key {
            "net.ipv4.tcp_timestamps" => {
                self.timestamps = flag()?;
                note("timestamps")
            }
            "net.ipv4.tcp_sack" | "net.inet.tcp.sack.enable" => {
                self.sack = flag()?;
                note("sack")
            }
            "net.ipv4.tcp_window_scaling" => {
                self.window_scaling = flag()?;
                note("window scaling")
            }
            "net.inet.tcp.rfc1323" => {
                let on = flag()?;
                self.timestamps = on;
                self.window_scaling = on;
                note("timestamps and window scaling")
            }
            "net.ipv4.tcp_ecn" | "net.inet.tcp.ecn.enable" => {
                let linux = key.starts_with("net.ipv4");
                self.ecn = match int()? {
                    0 => EcnMode::Off,
                    1 => EcnMode::On,
                    2 => EcnMode::Passive,
                    // Linux's Accurate ECN modes (RFC 9768).
                    3 if linux => EcnMode::AccEcn,
                    4 if linux => EcnMode::AccEcnInEcnOut,
                    5 if linux => EcnMode::AccEcnInOnly,
                    _ => return Err(bad()),
                };
                note("ECN mode")
            }
            "net.ipv4.tcp_ecn_option" => {
                self.ecn_option = match int()? {
                    v @ 0..=3 => v as u8,
                    _ => return Err(bad()),
                };
                note("AccECN option policy")
            }
            "net.ipv4.tcp_ecn_option_beacon" => {
                self.ecn_option_beacon = match int()? {
                    v @ 0..=3 => v as u8,
                    _ => return Err(bad()),
                };
                note("AccECN option beacon")
            }
            "net.ipv4.tcp_ecn_fallback" => {
                self.ecn_fallback = flag()?;
                note("ECN fallback")
            }
            "net.ipv4.tcp_slow_start_after_idle" => {
                self.slow_start_after_idle = flag()?;
                note("slow start after idle")
            }
            "net.ipv4.tcp_congestion_control" => {
                self.cc = match value {
                    "cubic" => Cc::Cubic,
                    "reno" => Cc::Reno,
                    "bbr" => Cc::Bbr,
                    _ => return Err(bad()),
                };
                note("congestion control")
            }
            // `min default max`: the engine's buffer is the maximum (it sets the window scale,
            // as Linux derives it from the maximum), the default is what SO_RCVBUF starts at.
            "net.ipv4.tcp_rmem" | "net.ipv4.tcp_wmem" => {
                let v: Vec<i64> =
                    value.split(' ').map(parse_int).collect::<Option<_>>().ok_or_else(bad)?;
                let [_, _, max] = v.as_slice() else { return Err(bad()) };
                let max = usize::try_from(*max).map_err(|_| bad())?;
                if key.ends_with("rmem") {
                    self.recv_buffer = max;
                    note("receive buffer (maximum)")
                } else {
                    self.send_buffer = v[1] as usize;
                    note("send buffer (default)")
                }
            }
            "net.inet.tcp.recvspace" => {
                self.recv_buffer = usize::try_from(int()?).map_err(|_| bad())?;
                note("receive buffer")
            }
            "net.inet.tcp.sendspace" => {
                self.send_buffer = usize::try_from(int()?).map_err(|_| bad())?;
                note("send buffer")
            }
            "net.inet.tcp.rexmit_initial" => {
                self.initial_rto = ms()?;
                note("initial RTO (ms)")
            }
            "net.ipv4.tcp_rto_max_ms" => {
                let d = ms()?;
                //~ linux: tcp_rto_max_ms takes 1000 ms to 120 s.
                if !(Duration::from_secs(1)..=Duration::from_secs(120)).contains(&d) {
                    return Err(bad());
                }
                self.rto_max = d;
                note("maximum RTO (ms)")
            }
            "net.inet.tcp.rexmit_min" => {
                self.rto_min = ms()?;
                note("minimum RTO (ms)")
            }
            "net.inet.tcp.rexmit_slop" => {
                self.rexmit_slop = ms()?;
                note("RTO slop (ms)")
            }
            "net.ipv4.tcp_syn_linear_timeouts" => {
                self.syn_linear_timeouts = u32::try_from(int()?).map_err(|_| bad())?;
                note("linear SYN timeouts")
            }
            "net.inet.tcp.keepinit" => {
                self.connect_timeout = Some(ms()?).filter(|d| !d.is_zero());
                note("open attempt timeout (ms)")
            }
            "net.inet.tcp.always_keepalive" => {
                self.always_keepalive = flag()?;
                note("keep-alive on every connection")
            }
            "net.inet.tcp.ack_war_cnt" => {
                self.unacceptable_ack_limit.acks = u8::try_from(int()?).map_err(|_| bad())?;
                note("challenge ACKs per window")
            }
            "net.inet.tcp.ack_war_timewindow" => {
                self.unacceptable_ack_limit.window_ms = u16::try_from(int()?).map_err(|_| bad())?;
                note("challenge-ACK window (ms)")
            }
            "net.inet.tcp.ecn.maxretries" => {
                self.syn_ecn_retries = Some(u32::try_from(int()?).map_err(|_| bad())?);
                note("SYN retransmissions with ECN")
            }
            //~ freebsd: tcp_timer_rexmt drops window scale, SACK and timestamps from the third
            //~ SYN retransmission on.
            "net.inet.tcp.rexmit_drop_options" => {
                self.syn_options_retries = flag()?.then_some(2);
                note("SYN retransmissions with every option")
            }
            "net.inet.tcp.delacktime" => {
                self.delayed_ack = ms()?;
                note("delayed-ACK time (ms)")
            }
            "net.inet.tcp.udp_tunneling_port" => {
                self.udp_tunneling_port = u16::try_from(int()?).map_err(|_| bad())?;
                note("TCP-over-UDP tunnel port")
            }
            "net.inet.tcp.keepidle" => {
                self.keep_alive.0 = ms()?;
                note("keep-alive idle time (ms)")
            }
            "net.inet.tcp.keepintvl" => {
                self.keep_alive.1 = ms()?;
                note("keep-alive interval (ms)")
            }
            "net.inet.tcp.keepcnt" => {
                self.keep_alive.2 = u32::try_from(int()?).map_err(|_| bad())?;
                note("keep-alive probes")
            }
            "net.ipv4.tcp_syncookies" | "net.inet.tcp.syncookies" => {
                let linux = key.starts_with("net.ipv4");
                (self.syn_cookies, self.syn_cookies_always) = match int()? {
                    0 => (false, false),
                    1 => (true, false),
                    // Linux's 2: cookies for every SYN.
                    2 if linux => (true, true),
                    _ => return Err(bad()),
                };
                note("SYN cookies")
            }
            // TLP (early_retrans 3/4) and RACK (recovery bit 0) are one engine switch.
            "net.ipv4.tcp_early_retrans" => {
                self.tlp = match int()? {
                    0..=2 => false,
                    3 | 4 => true,
                    _ => return Err(bad()),
                };
                note("tail loss probe")
            }
            "net.ipv4.tcp_recovery" => {
                self.rack = int()? & 1 == 1;
                note("RACK")
            }
            "net.ipv4.tcp_fastopen" => {
                self.fastopen = u32::try_from(int()?).map_err(|_| bad())?;
                note("Fast Open switches")
            }
            "net.ipv4.tcp_fastopen_key" => {
                self.fastopen_key = Some(linux_fastopen_key(value).ok_or_else(bad)?);
                note("Fast Open cookie key")
            }
            "net.inet.tcp.fastopen.client_enable" | "net.inet.tcp.fastopen.server_enable" => {
                let bit = if key.ends_with("client_enable") { 0x1 } else { 0x2 };
                if flag()? {
                    self.fastopen |= bit;
                } else {
                    self.fastopen &= !bit;
                }
                note("Fast Open switch (a fresh stack per script: the client cache starts empty)")
            }
            // Linux TSO deferral: synack never defers to build bigger TSO frames, which is
            // what a divisor this large asks for in these scripts.
            "net.ipv4.tcp_tso_win_divisor" => {
                int()?;
                note("no TSO deferral in synack")
            }
            "net.ipv4.tcp_notsent_lowat" => {
                self.notsent_lowat = u32::try_from(int()?).map_err(|_| bad())?;
                note("unsent low-water mark (TCP_NOTSENT_LOWAT default)")
            }
            "net.ipv4.tcp_min_tso_segs" => {
                // Linux takes 1..=255.
                let segs = u8::try_from(int()?).ok().filter(|&n| n > 0).ok_or_else(bad)?;
                if self.linux_gso_push.is_none() {
                    return Err(CommandError::Unsupported(format!(
                        "{key}={value} (this profile puts PSH at burst ends)"
                    )));
                }
                self.linux_gso_push = Some(segs);
                note("the fewest segments a TSO packet is sized to (PSH placement)")
            }
            "kern.ipc.maxsockbuf" => {
                self.max_sockbuf = u64::try_from(int()?).map_err(|_| bad())?;
                note("socket-buffer ceiling (the window scale FreeBSD offers)")
            }
            // 0: RFC 5961's challenge ACKs (the "secure" variants); 1: RFC 793's resets.
            "net.inet.tcp.insecure_rst" => {
                self.rfc5961.0 = !flag()?;
                note("RFC 5961 section 3 (RST) checks")
            }
            "net.ipv4.tcp_rfc1337" => {
                self.time_wait_ignores_rst = flag()?;
                note("RFC 1337: RSTs ignored in TIME-WAIT")
            }
            "net.inet.tcp.drop_synfin" => {
                self.drop_syn_fin = flag()?;
                note("SYN+FIN segments dropped")
            }
            "net.inet.tcp.insecure_syn" => {
                self.rfc5961.1 = !flag()?;
                note("RFC 5961 section 4 (SYN) checks")
            }
            "net.ipv4.tcp_mtu_probing" => {
                self.mtu_probing = match int()? {
                    v @ 0..=2 => v as u8,
                    _ => return Err(bad()),
                };
                note("path MTU probing")
            }
            "net.ipv4.tcp_base_mss" => {
                self.base_mss = u16::try_from(int()?).ok().filter(|&m| m > 0).ok_or_else(bad)?;
                note("path MTU probing's base MSS")
            }
            "net.inet.tcp.pmtud_blackhole_detection" => {
                self.pmtud_blackhole_detection = match int()? {
                    v @ 0..=3 => v as u8,
                    _ => return Err(bad()),
                };
                note("path MTU black-hole detection")
            }
            "net.inet.tcp.pmtud_blackhole_mss" => {
                self.pmtud_blackhole_mss.0 = u16::try_from(int()?).map_err(|_| bad())?;
                note("black-hole detection's first IPv4 MSS")
            }
            "net.inet.tcp.v6pmtud_blackhole_mss" => {
                self.pmtud_blackhole_mss.1 = u16::try_from(int()?).map_err(|_| bad())?;
                note("black-hole detection's first IPv6 MSS")
            }
            "net.inet.tcp.icmp_may_rst" => {
                self.icmp_policy = synack_tcp::IcmpPolicy::FreeBsd { may_rst: flag()? };
                note("ICMP errors that end a connection in SYN-SENT")
            }
            "net.inet.tcp.hostcache.purgenow" => note("no host cache, no stored keys"),
            _ => match self.fixed_sysctl(key) {
                Some(fixed)
                    if fixed.split('|').any(|f| {
                        parse_int(f).zip(parse_int(value)).map_or(f == value, |(a, b)| a == b)
                    }) =>
                {
                    note("the engine's only behaviour")
                }
                Some(fixed) => Err(CommandError::Unsupported(format!(
                    "{key}={value} (the engine only does {key}={fixed})"
                ))),
                None => Err(bad()),
            },
        }
    }

    /// This profile with the settings a running stack takes from `later` (what it does next,
    /// not what it did): the Fast Open bits, timestamps for sockets made from now on, and
    /// when the AccECN option is sent (Linux reads `tcp_ecn_option` and its beacon as each
    /// segment is built, so existing connections follow), and route metrics (a route's MTU
    /// reaches the connections on it; Linux rechecks the route as it sends). A change is
    /// applied live when the
    /// result equals `later`.
    pub fn with_live_settings_of(&self, later: &Profile) -> Profile {
        Profile {
            fastopen: later.fastopen,
            timestamps: later.timestamps,
            ecn_option: later.ecn_option,
            ecn_option_beacon: later.ecn_option_beacon,
            routes: later.routes.clone(),
            ..self.clone()
        }
    }

    /// Sysctls for which the engine has one behaviour, with the value(s) that select it
    /// (`a|b` when several do): a script may restate it; any other value is refused.
    pub fn fixed_sysctl(&self, key: &str) -> Option<&'static str> {
        Some(match key {
            // Linux: what defaults.sh sets, which is what the linux profile models.
            "net.ipv4.tcp_syn_retries" | "net.ipv4.tcp_synack_retries" => "5",
            "net.ipv4.tcp_frto" => "2",
            "net.ipv4.tcp_dsack" => "1",
            "net.ipv4.tcp_fack" => "0",
            "net.ipv4.tcp_reordering" => "3",
            // The engine's pacing ratios are Linux's defaults.
            "net.ipv4.tcp_pacing_ss_ratio" => "200",
            "net.ipv4.tcp_pacing_ca_ratio" => "120",
            "net.ipv4.tcp_shrink_window" => "0",
            // No Fast Open blackhole detection (Linux's 0 turns it off).
            "net.ipv4.tcp_fastopen_blackhole_timeout_sec" => "0",
            // FreeBSD.
            "net.inet.tcp.blackhole" => "0",
            "net.inet.tcp.syncookies_only" => "0",
            "net.inet.tcp.path_mtu_discovery" => "1",
            // The engine's MSS for a peer that sends none, and black-hole detection's last step.
            "net.inet.tcp.mssdflt" => "536",
            "net.inet.tcp.v6mssdflt" => "1220",
            "net.inet.tcp.udp_tunneling_overhead" => "8",
            _ => return None,
        })
    }
}

/// Linux's `tcp_fastopen_key` text, `a-b-c-d` (four 32-bit hex words; a backup key may follow
/// after a comma), as the 16 key bytes: each word little-endian, as the kernel stores it.
fn linux_fastopen_key(value: &str) -> Option<[u8; 16]> {
    let primary = value.split(',').next()?;
    let words: Vec<u32> =
        primary.split('-').map(|w| u32::from_str_radix(w, 16).ok()).collect::<Option<_>>()?;
    let [a, b, c, d] = words.as_slice() else { return None };
    let mut key = [0u8; 16];
    for (i, w) in [a, b, c, d].into_iter().enumerate() {
        key[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
    }
    Some(key)
}

/// A decimal or `0x` hex integer.
fn parse_int(s: &str) -> Option<i64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => i64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// A backtick command the runner cannot honour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandError {
    /// The command (or sysctl) is not in the table.
    Unsupported(String),
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Unsupported(c) => write!(f, "unsupported command: {c}"),
        }
    }
}

impl std::error::Error for CommandError {}

/// `ip [-4|-6] route add|change|replace DST [via GW] [dev DEV] [advmss N] [mtu [lock] N]
/// [initcwnd N]`: the destination and its metrics (the runner has one link, so the gateway
/// and device change nothing). `change` and `replace` set the route anew, as Linux does: a
/// metric left out is gone.
fn parse_route(args: &[&str]) -> Result<(IpAddr, synack_tcp::RouteMetrics), String> {
    let args = match args.first() {
        Some(&"-4") | Some(&"-6") => &args[1..],
        _ => args,
    };
    let [route, verb, dst, rest @ ..] = args else {
        return Err("expected `route add|change|replace DST ...`".into());
    };
    if *route != "route" || !matches!(*verb, "add" | "change" | "replace") {
        return Err(format!("`{route} {verb}` not modelled"));
    }
    let dst: IpAddr = dst.parse().map_err(|_| format!("destination {dst}: only a host address"))?;
    let mut m = synack_tcp::RouteMetrics::default();
    let mut it = rest.iter();
    let number = |w: Option<&&str>, what: &str| -> Result<u16, String> {
        w.and_then(|w| w.parse::<u16>().ok())
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("{what} needs a number from 1 to 65535"))
    };
    while let Some(word) = it.next() {
        match *word {
            "via" | "dev" => {
                it.next().ok_or_else(|| format!("{word} needs a value"))?;
            }
            "advmss" => m.advmss = Some(number(it.next(), "advmss")?),
            "initcwnd" => m.initcwnd = Some(number(it.next(), "initcwnd")?),
            "mtu" => {
                let mut next = it.next();
                if next == Some(&"lock") {
                    m.mtu_locked = true;
                    next = it.next();
                }
                let mtu = number(next, "mtu")?;
                if mtu < 68 {
                    return Err(format!("mtu {mtu} below 68"));
                }
                m.mtu = Some(mtu);
            }
            other => return Err(format!("route attribute `{other}` not modelled")),
        }
    }
    Ok((dst, m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freebsd_tcp_md5_setup_lines() {
        let mut p = Profile::freebsd();
        let text = "kldstat -q -m tcpmd5 || kldload tcpmd5; echo 'add 192.168.0.1 192.0.2.1 tcp 0x1000 -A tcp-md5 \"secret\" ;\n             add 192.0.2.1 192.168.0.1 tcp 0x1001 -A tcp-md5 0x6b6579 ;' | setkey -c";
        let notes = p.apply_command(text).unwrap();
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert_eq!(p.md5_sas.len(), 2);
        assert_eq!(p.md5_sas[0].key, b"secret");
        assert_eq!(p.md5_sas[1].key, b"key");
        assert_eq!(p.md5_sas[1].src, "192.0.2.1".parse::<IpAddr>().unwrap());
        p.apply_command("setkey -F").unwrap();
        assert!(p.md5_sas.is_empty());
        assert!(p.apply_command("echo 'delete 1.2.3.4 5.6.7.8 tcp 0x1000' | setkey -c").is_err());
        // An apostrophe in a comment does not open a quote across lines.
        assert!(p.apply_command("# don't\nsysctl -w net.inet.tcp.rfc1323=1").is_ok());
    }

    #[test]
    fn an_or_list_runs_its_next_command_when_a_sysctl_key_is_missing_on_linux() {
        let runs = |p: &Profile, text: &str| -> Vec<String> {
            let pipelines = shell::pipelines(text).unwrap();
            p.commands_run(&pipelines[0]).iter().map(|w| w[0].clone()).collect()
        };
        let mut p = Profile::linux();
        // No such key on Linux: sysctl fails, sets the keys it has, and the flush runs.
        let text = "sysctl -q net.ipv4.tcp_fastopen_cookies=0 net.ipv4.tcp_sack=0 || ip tcp_metrics flush all";
        let notes = p.apply_command(text).unwrap();
        assert!(notes.iter().any(|n| n.contains("fails on Linux")), "{notes:?}");
        assert!(!p.sack, "the key Linux has is set");
        assert_eq!(runs(&p, text), ["sysctl", "ip"]);
        // A key Linux has: sysctl succeeds and what follows `||` does not run.
        let text = "sysctl -q net/ipv4/tcp_timestamps=0 || ip tcp_metrics flush all";
        p.apply_command(text).unwrap();
        assert!(!p.timestamps);
        assert_eq!(runs(&p, text), ["sysctl"]);
        // Every command fails: the real command fails, which the runner does not model.
        assert!(
            p.apply_command("sysctl -q net.ipv4.tcp_nope=1 || sysctl net.ipv4.tcp_nada=2").is_err()
        );
        // A pipeline inside the list is not modelled.
        assert!(p.apply_command("sysctl -q net.ipv4.tcp_nope=1 || echo x | cat").is_err());
        // FreeBSD's sysctls are not listed: the unknown key stays unsupported.
        let mut f = Profile::freebsd();
        assert!(
            f.apply_command(
                "sysctl -q net.ipv4.tcp_fastopen_cookies=0 || ip tcp_metrics flush all"
            )
            .is_err()
        );
    }

    #[test]
    fn ip_route_sets_route_metrics_anew() {
        let mut p = Profile::linux();
        let dst: IpAddr = "192.0.2.1".parse().unwrap();
        p.apply_command(
            "ip route change 192.0.2.1 via 192.168.0.2 dev tun0 advmss 600 mtu lock 640 initcwnd 11",
        )
        .unwrap();
        let m = synack_tcp::RouteMetrics {
            advmss: Some(600),
            mtu: Some(640),
            mtu_locked: true,
            initcwnd: Some(11),
        };
        assert_eq!(p.routes, vec![(dst, m)]);
        // `change` replaces the route: what it leaves out is gone.
        p.apply_command("ip route replace 192.0.2.1 mtu 1500").unwrap();
        let m = synack_tcp::RouteMetrics { mtu: Some(1500), ..Default::default() };
        assert_eq!(p.routes, vec![(dst, m)]);
        p.apply_command("ip -6 route add 2001:DB8::1 dev tun0 advmss 1440").unwrap();
        assert_eq!(p.routes.len(), 2);
        for bad in [
            "ip route change 192.0.2.0/24 mtu 1500",
            "ip route change 192.0.2.1 mtu 40",
            "ip route change 192.0.2.1 rto_min 10ms",
            "ip route del 192.0.2.1",
            "ip route change 192.0.2.1 advmss",
        ] {
            assert!(p.apply_command(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn mtu_probing_sysctls_set_the_mode_and_base_mss() {
        let mut p = Profile::linux();
        assert_eq!((p.mtu_probing, p.base_mss), (0, 1024));
        p.set_sysctl("net.ipv4.tcp_mtu_probing", "2").unwrap();
        p.set_sysctl("net.ipv4.tcp_base_mss", "512").unwrap();
        assert_eq!((p.mtu_probing, p.base_mss), (2, 512));
        assert!(p.set_sysctl("net.ipv4.tcp_mtu_probing", "3").is_err());
        assert!(p.set_sysctl("net.ipv4.tcp_base_mss", "0").is_err());
    }

    #[test]
    fn linux_defaults_script_and_known_sysctls() {
        let mut p = Profile::linux();
        p.apply_command("../common/defaults.sh\nsysctl -q net.ipv4.tcp_ecn=1  # fully enabled\n")
            .unwrap();
        assert_eq!(p.ecn, EcnMode::On);
        p.apply_command(
            "../common/defaults.sh\n../common/set_sysctls.py /proc/sys/net/ipv4/tcp_slow_start_after_idle=1 \\\n\t /proc/sys/net/ipv4/tcp_min_tso_segs=10",
        )
        .unwrap();
        assert!(p.slow_start_after_idle);
        assert_eq!(p.linux_gso_push, Some(10));
        assert!(p.set_sysctl("net.ipv4.tcp_min_tso_segs", "0").is_err());
        assert!(p.set_sysctl("net.ipv4.tcp_min_tso_segs", "256").is_err());
        p.apply_command("../common/set_sysctls.py /proc/sys/net/ipv4/tcp_timestamps=0").unwrap();
        assert!(!p.timestamps);
        p.apply_command("ethtool -K tun0 tso off gso off").unwrap();
        p.apply_command("/tmp/sysctl_restore_${PPID}.sh").unwrap();
    }

    #[test]
    fn freebsd_sysctls() {
        let mut p = Profile::freebsd();
        p.apply_command("sysctl -w net.inet.tcp.rexmit_initial=1000").unwrap();
        p.apply_command("sysctl -w net.inet.tcp.recvspace=65536").unwrap();
        p.apply_command("sysctl -w net.inet.tcp.rfc1323=0").unwrap();
        assert!(!p.timestamps && !p.window_scaling);
        p.apply_command("sysctl -w net.inet.tcp.insecure_syn=0").unwrap();
        p.apply_command("sysctl -w net.inet.tcp.insecure_syn=1").unwrap();
        assert_eq!(p.rfc5961, (true, false));
        assert!(p.apply_command("sysctl -w net.inet.tcp.insecure_syn=2").is_err());
        assert!(p.apply_command("sysctl -w net.inet.tcp.blackhole=2").is_err());
    }

    #[test]
    fn helper_scripts_are_read_next_to_the_script() {
        let dir = std::env::temp_dir().join(format!("drill-profile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("defaults.sh"),
            "#!/bin/bash\n# baseline\nsysctl -q net.ipv4.tcp_rmem=\"4096 131072 $((32*1024*1024))\"\n\
             sysctl -q net.ipv4.tcp_frto=2 > /dev/null 2>&1\nsysctl -q net.ipv4.tcp_early_retrans=0\n",
        )
        .unwrap();
        std::fs::write(dir.join("bad.sh"), "sysctl -q net.ipv4.tcp_frto=0\n").unwrap();
        let mut p = Profile::linux();
        p.apply_command_in("./defaults.sh", Some(&dir)).unwrap();
        assert_eq!(p.recv_buffer, 32 * 1024 * 1024);
        assert!(!p.tlp);
        let e = p.apply_command_in("./bad.sh", Some(&dir)).unwrap_err();
        assert!(
            e.to_string()
                .contains("tcp_frto=0 (the engine only does net.ipv4.tcp_frto=2) (in ./bad.sh)"),
            "{e}"
        );
        // Not found: a defaults.sh still stands for the profile's own defaults.
        assert!(Profile::linux().apply_command_in("../common/defaults.sh", Some(&dir)).is_ok());
        assert!(Profile::linux().apply_command_in("./other.sh", Some(&dir)).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn only_fast_open_timestamps_and_the_accecn_option_change_live() {
        let before = Profile::linux();
        let mut later = before.clone();
        later.apply_command("sysctl -q net.ipv4.tcp_fastopen=0").unwrap();
        later.apply_command("sysctl -q net.ipv4.tcp_timestamps=0").unwrap();
        later.apply_command("sysctl -q net.ipv4.tcp_ecn_option=0").unwrap();
        later.apply_command("sysctl -q net/ipv4/tcp_ecn_option_beacon=1").unwrap();
        assert_eq!((later.ecn_option, later.ecn_option_beacon), (0, 1));
        assert_eq!(before.with_live_settings_of(&later), later);
        later.apply_command("sysctl -q net.ipv4.tcp_sack=0").unwrap();
        assert_ne!(before.with_live_settings_of(&later), later);
    }

    #[test]
    fn open_attempt_sysctls_set_their_knobs() {
        let mut l = Profile::linux();
        assert_eq!((l.syn_linear_timeouts, l.rto_max), (4, Duration::from_secs(120)));
        l.apply_command("sysctl -q net.ipv4.tcp_syn_linear_timeouts=0").unwrap();
        assert_eq!(l.syn_linear_timeouts, 0);
        l.apply_command("./set_sysctls.py /proc/sys/net/ipv4/tcp_rto_max_ms=1000").unwrap();
        assert_eq!(l.rto_max, Duration::from_secs(1));
        assert!(l.apply_command("sysctl -q net.ipv4.tcp_rto_max_ms=999").is_err());
        let mut f = Profile::freebsd();
        assert_eq!(f.connect_timeout, Some(Duration::from_secs(75)));
        assert_eq!((f.syn_ecn_retries, f.syn_options_retries), (Some(1), None));
        f.apply_command("sysctl -w net.inet.tcp.keepinit=15000").unwrap();
        assert_eq!(f.connect_timeout, Some(Duration::from_secs(15)));
        f.apply_command("sysctl -w net.inet.tcp.ecn.maxretries=3").unwrap();
        assert_eq!(f.syn_ecn_retries, Some(3));
        f.apply_command("sysctl -w net.inet.tcp.rexmit_drop_options=1").unwrap();
        assert_eq!(f.syn_options_retries, Some(2));
        f.apply_command("sysctl -w net.inet.tcp.rexmit_drop_options=0").unwrap();
        assert_eq!(f.syn_options_retries, None);
    }

    #[test]
    fn cookies_always_and_the_link_mtu() {
        let mut l = Profile::linux();
        l.apply_command("sysctl -q net.ipv4.tcp_syncookies=2").unwrap();
        assert!(l.syn_cookies && l.syn_cookies_always);
        l.apply_command("sysctl -q net.ipv4.tcp_syncookies=1").unwrap();
        assert!(l.syn_cookies && !l.syn_cookies_always);
        assert!(Profile::freebsd().apply_command("sysctl -w net.inet.tcp.syncookies=2").is_err());
        l.apply_command("ip link set dev tun0 mtu 9000").unwrap();
        assert_eq!(l.mtu, 9000);
        assert!(l.apply_command("ip link set dev tun0 mtu 20").is_err());
    }

    #[test]
    fn fixed_sysctls_accept_only_the_engines_behaviour() {
        let mut p = Profile::freebsd();
        p.apply_command("sysctl -w net.inet.tcp.insecure_rst=0").unwrap();
        p.apply_command("sysctl -w net.inet.tcp.rexmit_slop=200").unwrap();
        assert_eq!(p.rexmit_slop, Duration::from_millis(200));
        p.apply_command("sysctl -w net.inet.tcp.delacktime=100").unwrap();
        assert_eq!(p.delayed_ack, Duration::from_millis(100));
        p.apply_command("sysctl -w net.inet.tcp.keepcnt=2").unwrap();
        assert_eq!(p.keep_alive.2, 2);
        p.apply_command("sysctl -w net.inet.tcp.drop_synfin=1").unwrap();
        assert!(p.drop_syn_fin);
        assert!(p.apply_command("sysctl -w net.inet.tcp.blackhole=1").is_err());
        assert!(p.apply_command("sockstat -4 | grep x").is_err());
        let mut l = Profile::linux();
        l.apply_command("sysctl -q net.ipv4.tcp_fastopen=0x3").unwrap();
        assert_eq!(l.fastopen, 3);
        l.apply_command("sysctl -q net.ipv4.tcp_fastopen_key=a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4")
            .unwrap();
        let mut want = [0u8; 16];
        for (i, b) in [0xa1u8, 0xb2, 0xc3, 0xd4].into_iter().enumerate() {
            want[4 * i..4 * i + 4].fill(b);
        }
        assert_eq!(l.fastopen_key, Some(want));
        assert!(l.apply_command("sysctl -q net.ipv4.tcp_fastopen_key=xyz").is_err());
        let mut f = Profile::freebsd();
        f.apply_command("sysctl -w net.inet.tcp.fastopen.server_enable=1").unwrap();
        assert_eq!(f.fastopen, 0x3);
        f.apply_command("sysctl -w net.inet.tcp.fastopen.client_enable=0").unwrap();
        assert_eq!(f.fastopen, 0x2);
        l.apply_command("sysctl -q net.ipv4.tcp_ecn=3").unwrap();
        assert_eq!(l.ecn, EcnMode::AccEcn);
        assert!(f.apply_command("sysctl -w net.inet.tcp.ecn.enable=3").is_err());
    }

    #[test]
    fn unknown_commands_are_unsupported() {
        let mut p = Profile::linux();
        assert_eq!(p.apply_command("rm -rf /"), Err(CommandError::Unsupported("rm -rf /".into())));
        assert!(p.apply_command("sysctl -q net.ipv4.tcp_frobnicate=1").is_err());
        assert!(p.apply_command("sysctl -q net.ipv4.tcp_ecn=7").is_err());
    }

    #[test]
    fn profiles_by_name_and_path() {
        assert_eq!(Profile::for_path("freebsd-tcp-testsuite/x.pkt").name, "freebsd");
        assert_eq!(Profile::for_path("sack/x.pkt").name, "linux");
        assert_eq!(Profile::by_name("rfc").map(|p| p.rto_min), Some(Duration::from_secs(1)));
        assert!(Profile::by_name("solaris").is_none());
        let d = Profile::by_name("linux-delack").unwrap();
        assert_eq!((d.quick_ack_segments, Profile::linux().quick_ack_segments), (0, 16));
        assert!(!d.linux_receive_edges && Profile::linux().linux_receive_edges);
        assert!(
            d.nagle_minshall
                && !Profile::freebsd().nagle_minshall
                && !Profile::rfc().nagle_minshall
        );
        assert_eq!((d.linux_gso_push, Profile::linux().linux_gso_push), (None, Some(2)));
        assert_eq!(
            Profile {
                name: "linux",
                quick_ack_segments: 16,
                linux_receive_edges: true,
                linux_gso_push: Some(2),
                ..d
            },
            Profile::linux()
        );
    }
}
