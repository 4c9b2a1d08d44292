//! The [`Target`] over `synack_tcp::Endpoint`: a small BSD-socket layer (unbound sockets, bind,
//! listen, connect, options kept until the connection exists), segments converted through
//! synack-wire's emit/parse so the engine sees exactly what a real packet would give it.
//!
//! Profile knobs the engine has no setting for are listed by [`unmapped_knobs`]; scripts whose
//! expected output depends on them fail honestly and are listed in the expectations file.

use crate::code::TcpInfo;
use crate::config::ScriptConfig;
use crate::probe::SockState;
use crate::profile::{Cc, EcnMode, Profile, SynLayout};
use crate::runner::TargetFactory;
use crate::segment::Segment;
use crate::target::{
    ErrQueueEntry, Errno, IcmpMessage, Readiness, Shutdown, SockId, SockOpt, Target,
};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use synack_tcp::{
    AbortReset, AccEcnConfig, AccEcnOptionPolicy, AckEvery, CongestionControl, ConnConfig, ConnId,
    ConnectionError, Duration, Endpoint, EndpointConfig, FastOpenConfig, IcmpError, Instant,
    IpFields, ListenerId, MtuProbing, OptionLayout, PmtudBlackhole, ProbeStyle, PushPolicy,
    ReadWindowUpdate, ReceiveWindow, RecvAccounting, RecvError, SendAccounting, SendError, State,
};
use synack_wire::ChecksumMode;
use synack_wire::tcp::TcpRepr;

/// Builds an [`EngineTarget`] per script. The secret and seed are fixed so runs repeat exactly.
#[derive(Clone, Copy, Debug, Default)]
pub struct EngineFactory;

impl TargetFactory for EngineFactory {
    type Target = EngineTarget;
    fn build(&self, profile: &Profile, cfg: &ScriptConfig) -> Result<EngineTarget, String> {
        Ok(EngineTarget::new(profile, cfg))
    }

    /// Live when the two differ only in what a new socket starts with (its `ConnConfig`,
    /// keep-alive timing), in the TCP-over-UDP tunnel port, or in the AccECN option policy
    /// (which existing connections follow too), or in route metrics (`Endpoint::set_route`,
    /// whose MTU existing connections follow too); endpoint-wide settings (MTU,
    /// cookies, Fast Open, ECN mode, buffer doubling, the SYN layout's implied connect) are
    /// fixed once the stack runs.
    fn applies_live(&self, before: &Profile, after: &Profile) -> bool {
        let mut b = after.clone();
        b.send_buffer = before.send_buffer;
        b.recv_buffer = before.recv_buffer;
        b.rmem_default = before.rmem_default;
        b.rcv_memory = before.rcv_memory;
        b.shrink_window = before.shrink_window;
        b.window_scaling = before.window_scaling;
        b.timestamps = before.timestamps;
        b.fastopen = before.fastopen;
        b.sack = before.sack;
        b.delayed_ack = before.delayed_ack;
        b.rcvbuf_mss_rounding = before.rcvbuf_mss_rounding;
        b.linux_resets = before.linux_resets;
        b.rfc5961 = before.rfc5961;
        b.ack_repeats_fin = before.ack_repeats_fin;
        b.reset_after_fin_reported = before.reset_after_fin_reported;
        b.time_wait_ignores_rst = before.time_wait_ignores_rst;
        b.time_wait_drops_old_syn = before.time_wait_drops_old_syn;
        b.old_segment_ack_processed = before.old_segment_ack_processed;
        b.time_wait_acks_non_duplicates = before.time_wait_acks_non_duplicates;
        b.syn_ack_retries = before.syn_ack_retries;
        b.linux_read_window_update = before.linux_read_window_update;
        b.free_space_window = before.free_space_window;
        b.ack_every_segment = before.ack_every_segment;
        b.quick_ack_segments = before.quick_ack_segments;
        b.initial_rto = before.initial_rto;
        b.rto_min = before.rto_min;
        b.rto_max = before.rto_max;
        b.rexmit_slop = before.rexmit_slop;
        b.routes = before.routes.clone();
        b.syn_linear_timeouts = before.syn_linear_timeouts;
        b.connect_timeout = before.connect_timeout;
        b.syn_ecn_retries = before.syn_ecn_retries;
        b.syn_options_retries = before.syn_options_retries;
        b.slow_start_ack_limit = before.slow_start_ack_limit;
        b.initial_window = before.initial_window;
        b.slow_start_after_idle = before.slow_start_after_idle;
        b.rto_from_cwnd = before.rto_from_cwnd;
        b.cc = before.cc;
        b.keep_alive = before.keep_alive;
        b.always_keepalive = before.always_keepalive;
        b.unacceptable_ack_limit = before.unacceptable_ack_limit;
        b.udp_tunneling_port = before.udp_tunneling_port;
        b.max_sockbuf = before.max_sockbuf;
        // Read as each segment is built: existing connections follow (`reconfigure`).
        b.ecn_option = before.ecn_option;
        b.ecn_option_beacon = before.ecn_option_beacon;
        // Read at each transmit (`poll_transmit`).
        b.link_drops = before.link_drops;
        b == *before
    }
}

/// Profile knobs that have no engine setting yet (reported in docs/DRILL.md and by the CLI).
pub fn unmapped_knobs(p: &Profile) -> Vec<String> {
    let mut v = Vec::new();
    // The engine has one switch (ConnConfig::rack) for RACK and TLP together.
    if p.tlp != p.rack {
        v.push(format!(
            "TLP {} with RACK {} (the engine switches both together)",
            on(p.tlp),
            on(p.rack)
        ));
    }
    // With the receive-memory model (`rcv_memory`) SO_RCVBUF is doubled into its limit;
    // without it the engine's receive buffer is the value set.
    if p.sockbuf_doubling && !p.rcv_memory {
        v.push("SO_RCVBUF doubling".into());
    }
    v
}

/// What Linux 6.18 (x86-64) charges a send skb beyond its data: the `truesize` of the
/// fclone'd head `tcp_stream_alloc_skb` makes (`SK_MEMINFO_WMEM_QUEUED` grows by 832 + n for
/// an n-byte skb queued in repair mode).
const LINUX_SKB_OVERHEAD: u16 = 832;

/// Linux's smallest send buffer (`SOCK_MIN_SNDBUF`: twice an skb of 2 KB and its head).
const LINUX_MIN_SNDBUF: usize = 4608;

/// `sk_sndbuf` after `SO_SNDBUF` set `v`: Linux doubles the value (room for the skbs'
/// overhead), at least `SOCK_MIN_SNDBUF`; other stacks keep it.
fn sndbuf_for(v: usize, doubling: bool) -> usize {
    match doubling {
        true => v.saturating_mul(2).max(LINUX_MIN_SNDBUF),
        false => v,
    }
}

/// The engine's unsent low-water mark for Linux's value: `UINT_MAX` never limits (fewer
/// unsent bytes than that is all a write asks), so it is none.
fn lowat_mark(v: u32) -> Option<u32> {
    (v != u32::MAX).then_some(v)
}

fn on(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

/// What a socket is.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Fresh,
    Listening(ListenerId),
    Conn(ConnId),
}

#[derive(Clone, Debug)]
struct Sock {
    kind: Kind,
    local: Option<SocketAddr>,
    cfg: ConnConfig,
    shut_rd: bool,
    shut_wr: bool,
    /// SO_ERROR already reported (reading it clears it).
    error_taken: bool,
    /// A connect was issued.
    connecting: bool,
    /// Fast Open socket options; see [`FastOpenOpts`].
    fo: FastOpenOpts,
    /// Linux's per-socket extras: zerocopy completions, TCP_INQ, SO_MARK, wakeups.
    lx: LinuxSockState,
    /// SO_KEEPALIVE and the TCP_KEEP* settings, kept whether or not keep-alive is on.
    ka: KeepAliveOpts,
}

/// A socket's keep-alive options: the kernels keep TCP_KEEPIDLE, TCP_KEEPINTVL and
/// TCP_KEEPCNT with the socket and use them once keep-alive is on (by SO_KEEPALIVE, or for
/// every socket under FreeBSD's `net.inet.tcp.always_keepalive`).
#[derive(Clone, Copy, Debug)]
struct KeepAliveOpts {
    /// SO_KEEPALIVE as set.
    on: bool,
    /// Keep-alive on whatever SO_KEEPALIVE says (`Profile::always_keepalive`).
    always: bool,
    /// The timing keep-alive uses once on.
    timing: synack_tcp::KeepAlive,
}

impl KeepAliveOpts {
    /// What the connection's configuration carries: the timing while keep-alive is on.
    fn config(&self) -> Option<synack_tcp::KeepAlive> {
        (self.on || self.always).then_some(self.timing)
    }
}

/// Socket state of Linux's socket API beyond BSD's.
#[derive(Clone, Debug, Default)]
struct LinuxSockState {
    /// SO_ZEROCOPY.
    zerocopy: bool,
    /// MSG_ZEROCOPY ids, outstanding sends and queued completions.
    zc: ZeroCopy,
    /// SO_MARK, kept for getsockopt.
    mark: i64,
    /// SO_TIMESTAMPING as set (`SOF_TIMESTAMPING_*` bits).
    tsflags: u32,
    /// TCP_INQ.
    inq: bool,
    /// TCP_NOTSENT_LOWAT as set (0: none set, the sysctl's value applies), for getsockopt.
    notsent_lowat: u32,
    /// A write found no send space (Linux's SOCK_NOSPACE): space coming back wakes waiters.
    nospace: bool,
    /// A write found no send space and the connection has had none since (the
    /// send-buffer-limited chronograph's condition).
    sndbuf_wait: bool,
    /// What the socket looked like when wakeups were last counted.
    seen: Option<WakeSnapshot>,
    /// Wakeups counted so far.
    wakeups: u64,
    /// `tcpi_busy_time`, `tcpi_rwnd_limited` and `tcpi_sndbuf_limited`.
    chrono: Chrono,
}

/// The inputs of a socket's wakeups, compared between calls to count new ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct WakeSnapshot {
    received: u64,
    state: State,
    error: bool,
    /// Error-queue entries added so far: zerocopy completions and transmit timestamps.
    completions: u64,
}

/// A socket's Fast Open options.
#[derive(Clone, Copy, Debug, Default)]
struct FastOpenOpts {
    /// TCP_FASTOPEN: the queue length a listener gets (FreeBSD: also "Fast Open on" for a
    /// client's implied connect).
    queue: Option<usize>,
    /// TCP_FASTOPEN_CONNECT.
    connect: bool,
    /// TCP_FASTOPEN_NO_COOKIE.
    no_cookie: bool,
    /// TCP_FASTOPEN_KEY.
    key: Option<[u8; 16]>,
    /// A connect deferred to the first write (TCP_FASTOPEN_CONNECT with a cookie cached).
    deferred: Option<SocketAddr>,
}

/// The synack engine behind the socket calls.
pub struct EngineTarget {
    ep: Endpoint,
    /// The link drops every packet (`tc qdisc ... pfifo limit 0`): each transmit is
    /// reported to the engine as failed.
    link_drops: bool,
    socks: BTreeMap<SockId, Sock>,
    next_id: SockId,
    doubling: bool,
    mtu: u32,
    /// The profile's ECN mode: `Passive` turns ECN on for listening sockets only.
    ecn: EcnMode,
    /// Our address for sockets that connect without binding.
    local_ip: IpAddr,
    /// The script's peer address.
    remote_ip: IpAddr,
    /// `--mss`: inbound payloads longer than it arrive as coalesced segments of this size.
    gro_mss: Option<u16>,
    /// Connections whose socket was closed, still in the engine until they finish.
    orphans: Vec<ConnId>,
    /// Keep-alive options a socket starts with (the profile's sysctls).
    keep_alive: KeepAliveOpts,
    /// `sendto` on an unconnected socket is an implied connect (FreeBSD), not Linux's
    /// `MSG_FASTOPEN`-only open.
    implied_connect: bool,
    /// When each connection last took in data (or completed its handshake).
    last_data_recv: BTreeMap<ConnId, u64>,
    /// The local UDP port of TCP over UDP (0: off): datagrams to it carry segments, and
    /// encapsulated segments leave from it.
    udp_tunnel_port: u16,
    /// The options a new socket starts with (the profile's, as changed mid-script).
    base_conn: ConnConfig,
    /// The script side's TCP-MD5 key (`--tcp_md5_secret`): inbound `md5 valid` is signed
    /// with it, outbound signatures are checked against it.
    md5_secret: Option<Vec<u8>>,
    /// The security associations `setkey` installed, for sockets that set `TCP_MD5SIG`.
    md5_sas: Vec<crate::profile::Md5Sa>,
    buf: Vec<u8>,
}

fn instant(us: u64) -> Instant {
    Instant::from_micros(us)
}

fn conn_error(e: ConnectionError, bsd: bool) -> Errno {
    match e {
        ConnectionError::Icmp(i) => icmp_errno(i, bsd),
        ConnectionError::Refused => Errno::ECONNREFUSED,
        ConnectionError::Reset => Errno::ECONNRESET,
        ConnectionError::TimedOut | ConnectionError::UserTimeout => Errno::ETIMEDOUT,
        ConnectionError::Aborted | ConnectionError::ListenerClosed => Errno::ECONNABORTED,
        ConnectionError::Unreachable => Errno::EHOSTUNREACH,
        _ => Errno::ECONNABORTED,
    }
}

/// The errno an ICMP error that ended a connection leaves on the socket: Linux's
/// `icmp_err_convert` table (and `EHOSTUNREACH` for time exceeded, `EPROTO` for a parameter
/// problem), or FreeBSD's `inetctlerrmap` (`bsd`).
fn icmp_errno(e: IcmpError, bsd: bool) -> Errno {
    match (e, bsd) {
        (IcmpError::PortUnreachable, _) => Errno::ECONNREFUSED,
        (IcmpError::ProtocolUnreachable | IcmpError::AdminProhibited, true) => Errno::ECONNREFUSED,
        (IcmpError::ProtocolUnreachable, false) => Errno::ENOPROTOOPT,
        (IcmpError::NetUnreachable, false) => Errno::ENETUNREACH,
        (IcmpError::SourceRouteFailed, false) => Errno::EOPNOTSUPP,
        (IcmpError::ParameterProblem, false) => Errno::EPROTO,
        (IcmpError::ParameterProblem, true) => Errno::ENOPROTOOPT,
        (IcmpError::PacketTooBig { .. }, _) => Errno::EMSGSIZE,
        _ => Errno::EHOSTUNREACH,
    }
}

/// Linux's `tcp_fin_timeout` default and `TCP_FIN_TIMEOUT_MAX`, in seconds.
const FIN_TIMEOUT_SECS: u64 = 60;
/// The TTL and hop limit packets carry unless the socket sets one (Linux's and FreeBSD's
/// `ip_default_ttl`, 64).
const DEFAULT_TTL: u8 = 64;
const FIN_TIMEOUT_MAX_SECS: i64 = 120;

impl EngineTarget {
    /// Hands a socket's options to its connection or listener, if it has one yet.
    fn push_config(&mut self, s: SockId, kind: Kind) -> Result<(), Errno> {
        let cfg = self.sock(s)?.cfg;
        match kind {
            Kind::Conn(c) => self.ep.set_conn_config(c, cfg).map_err(|_| Errno::ENOTCONN)?,
            // Accepted connections inherit the listening socket's options.
            Kind::Listening(l) if !self.ep.set_listener_config(l, cfg) => return Err(Errno::EBADF),
            _ => {}
        }
        Ok(())
    }

    /// Runs `f` with the endpoint's Fast Open switches as socket `sock` sees them
    /// (TCP_FASTOPEN_NO_COOKIE is the per-socket form of Linux's 0x4 bit).
    fn with_socket_fast_open<R>(&mut self, sock: &Sock, f: impl FnOnce(&mut Endpoint) -> R) -> R {
        let saved = self.ep.fast_open();
        if sock.fo.no_cookie {
            self.ep.set_fast_open(FastOpenConfig { client_without_cookie: true, ..saved });
        }
        let r = f(&mut self.ep);
        if sock.fo.no_cookie {
            self.ep.set_fast_open(saved);
        }
        r
    }

    /// The options a new socket starts with under profile `p`.
    fn conn_config(p: &Profile) -> ConnConfig {
        let defaults = ConnConfig::default();
        let mut rtt = defaults.rtt;
        rtt.initial_rto = p.initial_rto;
        rtt.min_rto = p.rto_min;
        rtt.max_rto = p.rto_max;
        // Linux keeps the RTO a full rto_min above SRTT (RTO = SRTT + max(4 * RTTVAR, rto_min)).
        rtt.min_rto_above_srtt = p.name.starts_with("linux");
        rtt.slop = p.rexmit_slop;
        ConnConfig {
            send_buffer: p.send_buffer,
            recv_buffer: p.recv_buffer,
            window_scaling: p.window_scaling,
            timestamps: p.timestamps,
            sack: p.sack,
            delayed_ack: p.delayed_ack,
            //~ freebsd: the shift offered is the smallest that lets a window reach
            //~ kern.ipc.maxsockbuf (2 MB by default: 6), at most 14.
            window_scale: (p.syn_layout == SynLayout::FreeBsd)
                .then(|| (0..14u8).find(|&s| (65_535u64 << s) >= p.max_sockbuf).unwrap_or(14)),
            option_layout: match p.syn_layout {
                SynLayout::Linux => OptionLayout::Linux,
                SynLayout::FreeBsd => OptionLayout::Bsd,
            },
            recv_buffer_mss_rounding: p.rcvbuf_mss_rounding,
            abort_reset: match (p.linux_resets, p.syn_layout) {
                (true, _) => AbortReset::Linux,
                (false, SynLayout::FreeBsd) => AbortReset::Bsd,
                (false, SynLayout::Linux) => AbortReset::Rfc,
            },
            rfc5961_rst: p.rfc5961.0,
            rfc5961_syn: p.rfc5961.1,
            ack_repeats_fin: p.ack_repeats_fin,
            reset_after_fin_reported: p.reset_after_fin_reported,
            reset_keeps_socket: p.reset_keeps_socket,
            initial_window_whole_segments: p.linux_receive_edges,
            initial_window_segments: Some(u16::try_from(p.initial_window).unwrap_or(u16::MAX)),
            slow_start_after_idle: p.slow_start_after_idle,
            oversized_taken_when_empty: p.linux_receive_edges,
            syn_ack_tsecr_check: p.name.starts_with("linux"),
            linux_simultaneous_open: p.name.starts_with("linux"),
            past_window_dropped_while_data_waits: p.linux_receive_edges,
            nagle_minshall: p.nagle_minshall,
            time_wait_ignores_rst: p.time_wait_ignores_rst,
            time_wait_drops_old_syn: p.time_wait_drops_old_syn,
            old_segment_ack_processed: p.old_segment_ack_processed,
            time_wait_acks_non_duplicates: p.time_wait_acks_non_duplicates,
            unacceptable_ack_limit: p.unacceptable_ack_limit,
            syn_ack_retries: p.syn_ack_retries,
            syn_linear_timeouts: p.syn_linear_timeouts,
            connect_timeout: p.connect_timeout,
            syn_ecn_retries: p.syn_ecn_retries,
            syn_options_retries: p.syn_options_retries,
            read_window_update: if p.linux_read_window_update {
                ReadWindowUpdate::Doubling
            } else {
                ReadWindowUpdate::SwsStep
            },
            receive_window: if p.free_space_window {
                ReceiveWindow::FreeSpace
            } else {
                ReceiveWindow::SwsAvoidance
            },
            ack_every: if p.ack_every_segment {
                AckEvery::SecondSegment
            } else {
                AckEvery::SecondFullSized
            },
            // Linux's quick-ACK mode: the first segments are ACKed at once.
            quick_ack_segments: p.quick_ack_segments,
            // RACK-TLP (RFC 8985) is one engine switch; the profiles set tlp and rack together.
            rack: p.rack && p.tlp,
            //= rfc3168#6.1.1
            //# `On` (tcp_ecn=1) asks on active opens and accepts; `Passive` (tcp_ecn=2,
            //# FreeBSD's default) only accepts, so it is switched on per listening socket.
            ecn: p.ecn.asks_ecn(),
            //= rfc9768#3.1
            //~ paraphrase: Linux's tcp_ecn 3 asks for AccECN, 3 to 5 accept it.
            accecn: AccEcnConfig {
                request: p.ecn == EcnMode::AccEcn,
                accept: p.ecn.accepts_accecn(),
                option: match p.ecn_option {
                    0 => AccEcnOptionPolicy::Never,
                    1 => AccEcnOptionPolicy::Minimum,
                    2 => AccEcnOptionPolicy::Full,
                    _ => AccEcnOptionPolicy::Persist,
                },
                option_beacon: p.ecn_option_beacon,
                fallback: p.ecn_fallback,
            },
            rtt,
            slow_start_ack_limit: p.slow_start_ack_limit,
            rto_from_cwnd: p.rto_from_cwnd,
            //~ linux: tcp_may_raise_cwnd grows on SACKs once reordering exceeds tcp_reordering (3).
            sack_growth_above_reordering: p
                .name
                .starts_with("linux")
                .then_some(core::num::NonZeroU8::MIN.saturating_add(2)),
            congestion_control: match p.cc {
                //~ linux: tcp_cubic.c's integer congestion-avoidance step (bictcp_update).
                Cc::Cubic if p.name.starts_with("linux") => CongestionControl::LinuxCubic,
                Cc::Cubic => CongestionControl::Cubic,
                Cc::Reno => CongestionControl::NewReno,
                Cc::Bbr => CongestionControl::Bbr,
            },
            pacing: p.pacing,
            pacing_free_segments: p.pacing_free_segments,
            push_policy: p.linux_gso_push.map_or(PushPolicy::EndOfBurst, |min_tso_segs| {
                PushPolicy::LinuxGso { min_tso_segs }
            }),
            icmp_policy: p.icmp_policy,
            //~ freebsd: black-hole detection steps to pmtud_blackhole_mss, then to mssdflt
            //~ (v6: v6pmtud_blackhole_mss, v6mssdflt); 2 and 3 turn it on for one family.
            //~ linux: tcp_mtu_probing 1 starts the search after repeated timeouts, 2 at once,
            //~ from tcp_base_mss.
            //~ linux: tcp_mtu_probe lets new data follow a probe and waits for cwnd 11.
            mtu_probing: (p.mtu_probing != 0).then(|| MtuProbing {
                base_mss: p.base_mss,
                style: match p.name.starts_with("linux") {
                    true => ProbeStyle::Linux,
                    false => ProbeStyle::Rfc4821,
                },
                ..MtuProbing::linux(p.mtu_probing == 2)
            }),
            notsent_lowat: lowat_mark(p.notsent_lowat),
            //~ linux: the doubled SO_SNDBUF is what sk_sndbuf holds, charged per skb.
            send_accounting: match p.sockbuf_doubling {
                true => SendAccounting::LinuxSkb { overhead: LINUX_SKB_OVERHEAD },
                false => SendAccounting::Bytes,
            },
            //~ linux: sk_rcvbuf starts at tcp_rmem's default; received skbs are charged their
            //~ truesize against it.
            recv_accounting: match p.rcv_memory {
                true => RecvAccounting::LinuxSkb {
                    rcvbuf: u32::try_from(p.rmem_default).unwrap_or(u32::MAX),
                    shrink: p.shrink_window,
                },
                false => RecvAccounting::Bytes,
            },
            pmtud_blackhole: (p.pmtud_blackhole_detection != 0).then(|| PmtudBlackhole {
                v4: matches!(p.pmtud_blackhole_detection, 1 | 2)
                    .then_some([p.pmtud_blackhole_mss.0, 536]),
                v6: matches!(p.pmtud_blackhole_detection, 1 | 3)
                    .then_some([p.pmtud_blackhole_mss.1, 1220]),
            }),
            ..defaults
        }
    }

    /// Settings that apply to sockets made from now on, changed while the stack runs (a
    /// sysctl written mid-script): existing sockets keep theirs, as in the kernels.
    fn reconfigure_sockets(&mut self, p: &Profile) {
        self.base_conn = Self::conn_config(p);
        self.keep_alive = Self::keep_alive_opts(p);
        self.udp_tunnel_port = p.udp_tunneling_port;
    }

    /// The keep-alive options of a new socket under the profile's sysctls.
    fn keep_alive_opts(p: &Profile) -> KeepAliveOpts {
        KeepAliveOpts {
            on: false,
            always: p.always_keepalive,
            timing: synack_tcp::KeepAlive {
                idle: p.keep_alive.0,
                interval: p.keep_alive.1,
                probes: p.keep_alive.2,
            },
        }
    }

    /// A fresh endpoint configured from the profile.
    pub fn new(p: &Profile, cfg: &ScriptConfig) -> EngineTarget {
        let conn = Self::conn_config(p);
        let freebsd = p.syn_layout == SynLayout::FreeBsd;
        let fast_open = FastOpenConfig {
            //~ freebsd: a server that refuses SYN data without a new cookie loses Fast Open
            //~ for `net.inet.tcp.fastopen.path_disable_time` (60 s).
            refused_backoff: freebsd.then_some(synack_tcp::endpoint::FREEBSD_PATH_DISABLE),
            ..FastOpenConfig::from_linux_bits(p.fastopen)
        };
        let ec = EndpointConfig {
            // The script's --mtu, or what an `ip link set ... mtu` setup line made it.
            mtu: p.mtu as usize,
            conn,
            syn_cookies: p.syn_cookies,
            syn_cookies_always: p.syn_cookies_always,
            fast_open,
            drop_syn_fin: p.drop_syn_fin,
            listen_drops_syn_ack: p.listen_drops_syn_ack,
            md5_drops_timestamps: p.md5_drops_timestamps,
            ..EndpointConfig::default()
        };
        let mut ep = Endpoint::new(ec, *b"synack-drill-key", 0x5eed);
        for (dst, metrics) in &p.routes {
            ep.set_route(*dst, Some(*metrics));
        }
        if let Some(k) = p.fastopen_key {
            ep.set_fast_open_key(k);
        }
        EngineTarget {
            link_drops: p.link_drops,
            ep,
            implied_connect: freebsd,
            udp_tunnel_port: p.udp_tunneling_port,
            base_conn: conn,
            socks: BTreeMap::new(),
            next_id: 1,
            doubling: p.sockbuf_doubling,
            mtu: p.mtu,
            ecn: p.ecn,
            local_ip: cfg.local_ip,
            remote_ip: cfg.remote_ip,
            gro_mss: cfg.mss,
            orphans: Vec::new(),
            keep_alive: Self::keep_alive_opts(p),
            last_data_recv: BTreeMap::new(),
            md5_secret: cfg.tcp_md5_secret.as_ref().map(|s| s.as_bytes().to_vec()),
            md5_sas: p.md5_sas.clone(),
            buf: vec![0; 65_536 + 120],
        }
    }

    fn sock(&mut self, s: SockId) -> Result<&mut Sock, Errno> {
        self.socks.get_mut(&s).ok_or(Errno::EBADF)
    }

    /// Linux's `sk_stream_wait_connect`: a write on an active open that has not finished its
    /// handshake waits for it (EAGAIN on a non-blocking socket; the runner blocks a blocking
    /// one). A passive Fast Open connection (SYN-RECEIVED, accepted) may send at once, and BSD
    /// stacks queue the data behind the SYN (implied connect).
    fn wait_connect(&self, s: SockId) -> Result<(), Errno> {
        let sk = self.socks.get(&s).ok_or(Errno::EBADF)?;
        let Kind::Conn(c) = sk.kind else { return Ok(()) };
        if self.implied_connect || !sk.connecting {
            return Ok(());
        }
        match self.ep.state(c) {
            Ok(State::SynSent | State::SynReceived) => Err(Errno::EAGAIN),
            _ => Ok(()),
        }
    }

    fn conn(&self, s: SockId) -> Result<ConnId, Errno> {
        match self.socks.get(&s).map(|x| x.kind) {
            Some(Kind::Conn(c)) => Ok(c),
            Some(_) => Err(Errno::ENOTCONN),
            None => Err(Errno::EBADF),
        }
    }
}

impl Target for EngineTarget {
    fn socket(&mut self) -> Result<SockId, Errno> {
        let id = self.next_id;
        self.next_id += 1;
        let ka = self.keep_alive;
        let cfg = ConnConfig { keep_alive: ka.config(), ..self.base_conn };
        self.socks.insert(
            id,
            Sock {
                kind: Kind::Fresh,
                local: None,
                cfg,
                shut_rd: false,
                shut_wr: false,
                error_taken: false,
                connecting: false,
                fo: FastOpenOpts::default(),
                lx: LinuxSockState::default(),
                ka,
            },
        );
        Ok(id)
    }

    fn bind(&mut self, s: SockId, local: SocketAddr) -> Result<(), Errno> {
        let sock = self.sock(s)?;
        if sock.local.is_some() || !matches!(sock.kind, Kind::Fresh) {
            return Err(Errno::EINVAL);
        }
        sock.local = Some(local);
        Ok(())
    }

    fn listen(&mut self, _now: u64, s: SockId, backlog: u32) -> Result<(), Errno> {
        let sock = self.socks.get(&s).cloned().ok_or(Errno::EBADF)?;
        match sock.kind {
            Kind::Fresh => {}
            Kind::Listening(_) => return Ok(()),
            _ => return Err(Errno::EINVAL),
        }
        let local = sock.local.ok_or(Errno::EINVAL)?;
        let mut cfg = sock.cfg;
        // A passive-ECN stack accepts an ECN-setup SYN on its listeners (RFC 3168 6.1.1).
        cfg.ecn |= self.ecn.accepts_only();
        let id = self
            .ep
            .listen_with(local, backlog.max(1) as usize, cfg)
            .map_err(|_| Errno::EADDRINUSE)?;
        if let Some(q) = sock.fo.queue {
            self.ep.set_listener_fast_open(id, q);
        }
        if let Some(k) = sock.fo.key {
            self.ep.set_listener_fast_open_key(id, k);
        }
        let sk = self.sock(s)?;
        sk.kind = Kind::Listening(id);
        sk.cfg = cfg;
        Ok(())
    }

    fn accept(&mut self, _now: u64, s: SockId) -> Result<SockId, Errno> {
        let Kind::Listening(l) = self.sock(s)?.kind else { return Err(Errno::EINVAL) };
        let c = self.ep.accept(l).ok_or(Errno::EAGAIN)?;
        // The child is a copy of the listening socket: its socket-level flags come along.
        let ka = self.sock(s)?.ka;
        let parent = &self.sock(s)?.lx;
        let lx = LinuxSockState {
            zerocopy: parent.zerocopy,
            mark: parent.mark,
            tsflags: parent.tsflags,
            inq: parent.inq,
            notsent_lowat: parent.notsent_lowat,
            ..LinuxSockState::default()
        };
        let id = self.next_id;
        self.next_id += 1;
        let cfg = self.ep.conn_config(c).unwrap_or(self.base_conn);
        let local = self.ep.four_tuple(c).ok().map(|t| t.local);
        self.socks.insert(
            id,
            Sock {
                kind: Kind::Conn(c),
                local,
                cfg,
                shut_rd: false,
                shut_wr: false,
                error_taken: false,
                connecting: false,
                fo: FastOpenOpts::default(),
                lx,
                ka,
            },
        );
        self.push_timestamping(id)?;
        Ok(id)
    }

    fn connect(&mut self, now: u64, s: SockId, remote: SocketAddr) -> Result<(), Errno> {
        let sock = self.socks.get(&s).cloned().ok_or(Errno::EBADF)?;
        match sock.kind {
            //~ linux: a connect deferred by TCP_FASTOPEN_CONNECT counts as connected for a
            //~ second connect (EISCONN) until the first write opens it.
            Kind::Fresh if sock.fo.deferred.is_some() => return Err(Errno::EISCONN),
            Kind::Fresh => {}
            Kind::Conn(c) => {
                if let Ok(Some(e)) = self.ep.error(c) {
                    return Err(conn_error(e, self.implied_connect));
                }
                return match self.ep.state(c) {
                    Ok(State::SynSent) | Ok(State::SynReceived) => Err(Errno::EALREADY),
                    _ => Err(Errno::EISCONN),
                };
            }
            _ => return Err(Errno::EINVAL),
        }
        let local = sock.local.unwrap_or(SocketAddr::new(self.local_ip, 0));
        if sock.fo.connect && !self.implied_connect {
            //~ linux: TCP_FASTOPEN_CONNECT: with a cookie cached (or no cookie needed) connect
            //~ returns at once and the SYN waits for the first write's data; without one, the SYN
            //~ goes now and asks for a cookie.
            let room = self.with_socket_fast_open(&sock, |ep| {
                ep.fast_open_syn_room(instant(now), remote, &sock.cfg)
            });
            if room.is_some() {
                self.sock(s)?.fo.deferred = Some(remote);
                return Ok(());
            }
            self.send_to(now, s, remote, &[], true, true)?;
            return Err(Errno::EINPROGRESS);
        }
        let c = self.ep.connect(instant(now), local, remote, sock.cfg).map_err(|e| match e {
            synack_tcp::ConnectError::AddrInUse | synack_tcp::ConnectError::NoFreePorts => {
                Errno::EADDRINUSE
            }
            _ => Errno::EINVAL,
        })?;
        let tuple = self.ep.four_tuple(c).ok();
        let sk = self.sock(s)?;
        sk.kind = Kind::Conn(c);
        sk.connecting = true;
        sk.local = tuple.map(|t| t.local);
        self.push_timestamping(s)?;
        Err(Errno::EINPROGRESS)
    }

    fn send_to(
        &mut self,
        now: u64,
        s: SockId,
        remote: SocketAddr,
        data: &[u8],
        fast_open: bool,
        nonblocking: bool,
    ) -> Result<usize, Errno> {
        let sock = self.socks.get(&s).cloned().ok_or(Errno::EBADF)?;
        if !matches!(sock.kind, Kind::Fresh) {
            return Err(Errno::EISCONN);
        }
        let bsd = self.implied_connect;
        let tfo = if bsd { sock.fo.queue.is_some_and(|q| q > 0) } else { fast_open };
        if !tfo && !bsd {
            // Linux: a stream socket needs a connection (or MSG_FASTOPEN) to send.
            return Err(Errno::EPIPE);
        }
        if tfo && !bsd && !self.ep.fast_open().client {
            //~ linux: MSG_FASTOPEN with client Fast Open off (tcp_fastopen & 0x1 clear).
            return Err(Errno::EOPNOTSUPP);
        }
        let local = sock.local.unwrap_or(SocketAddr::new(self.local_ip, 0));
        let t = instant(now);
        let cfg = sock.cfg;
        let opened = self.with_socket_fast_open(&sock, |ep| {
            if !tfo {
                let c = ep.connect(t, local, remote, cfg)?;
                let n = ep.send(c, data).unwrap_or_default();
                return Ok((c, n));
            }
            // A non-blocking Linux socket takes only what its SYN carries.
            let take = match ep.fast_open_syn_room(t, remote, &cfg) {
                _ if bsd || !nonblocking => data.len(),
                Some(room) => room.min(data.len()),
                None => 0,
            };
            ep.connect_fast_open(t, local, remote, cfg, &data[..take])
        });
        let (c, queued) = opened.map_err(|e| match e {
            synack_tcp::ConnectError::AddrInUse | synack_tcp::ConnectError::NoFreePorts => {
                Errno::EADDRINUSE
            }
            _ => Errno::EINVAL,
        })?;
        let tuple = self.ep.four_tuple(c).ok();
        let sk = self.sock(s)?;
        sk.kind = Kind::Conn(c);
        sk.connecting = true;
        sk.fo.deferred = None;
        sk.local = tuple.map(|t| t.local);
        self.push_timestamping(s)?;
        if queued == 0 && !bsd { Err(Errno::EINPROGRESS) } else { Ok(queued) }
    }

    fn disconnect(&mut self, _now: u64, s: SockId) -> Result<(), Errno> {
        let sk = self.sock(s)?;
        let Kind::Conn(c) = sk.kind else { return Ok(()) };
        sk.kind = Kind::Fresh;
        sk.connecting = false;
        sk.error_taken = false;
        sk.shut_rd = false;
        sk.shut_wr = false;
        sk.fo.deferred = None;
        let _ = self.ep.abort(c);
        Ok(())
    }

    fn deferred_connect(&self, s: SockId) -> Option<SocketAddr> {
        self.socks.get(&s).and_then(|x| x.fo.deferred)
    }

    fn set_option_bytes(&mut self, s: SockId, opt: SockOpt, value: &[u8]) -> Result<(), Errno> {
        let kind = self.sock(s)?.kind;
        match opt {
            SockOpt::FastOpenKey => {
                // Linux takes a primary key, or a primary and a backup (32 bytes).
                let key: [u8; 16] =
                    value.get(..16).and_then(|k| k.try_into().ok()).ok_or(Errno::EINVAL)?;
                if value.len() != 16 && value.len() != 32 {
                    return Err(Errno::EINVAL);
                }
                self.sock(s)?.fo.key = Some(key);
                if let Kind::Listening(l) = kind {
                    self.ep.set_listener_fast_open_key(l, key);
                }
                Ok(())
            }
            _ => Err(Errno::EINVAL),
        }
    }

    fn write(&mut self, now: u64, s: SockId, data: &[u8]) -> Result<usize, Errno> {
        self.write_as(now, WriteKind::Plain, s, data)
    }

    fn write_record(&mut self, now: u64, s: SockId, data: &[u8]) -> Result<usize, Errno> {
        self.write_as(now, WriteKind::Record, s, data)
    }

    fn write_more(&mut self, now: u64, s: SockId, data: &[u8]) -> Result<usize, Errno> {
        self.write_as(now, WriteKind::More, s, data)
    }

    fn write_urgent(&mut self, now: u64, s: SockId, data: &[u8]) -> Result<usize, Errno> {
        self.write_as(now, WriteKind::Urgent, s, data)
    }

    fn read(&mut self, _now: u64, s: SockId, buf: &mut [u8]) -> Result<usize, Errno> {
        if self.sock(s)?.shut_rd {
            return Ok(0);
        }
        if self.sock(s)?.fo.deferred.is_some() {
            // The deferred connect has not started: nothing can have arrived.
            return Err(Errno::EAGAIN);
        }
        let c = self.conn(s)?;
        match self.ep.recv(c, buf) {
            Ok(n) => Ok(n),
            Err(RecvError::WouldBlock) => Err(Errno::EAGAIN),
            Err(RecvError::Closed) => Ok(0),
            // The socket's error is reported once (as `sock_error` takes it); then the stream
            // has simply ended.
            Err(RecvError::Connection(_)) if self.sock(s)?.error_taken => Ok(0),
            Err(RecvError::Connection(e)) => {
                self.sock(s)?.error_taken = true;
                Err(conn_error(e, self.implied_connect))
            }
            Err(_) => Err(Errno::ENOTCONN),
        }
    }

    fn peek(&mut self, _now: u64, s: SockId, len: usize) -> Result<usize, Errno> {
        if self.sock(s)?.shut_rd {
            return Ok(0);
        }
        let c = self.conn(s)?;
        let queued = self.ep.stats(c).map(|st| st.recv_queue).map_err(|_| Errno::ENOTCONN)?;
        if queued > 0 {
            return Ok(queued.min(len));
        }
        if let Ok(Some(e)) = self.ep.error(c) {
            return Err(conn_error(e, self.implied_connect));
        }
        match self.ep.state(c).unwrap_or(State::Closed) {
            State::CloseWait
            | State::LastAck
            | State::Closing
            | State::TimeWait
            | State::Closed => Ok(0),
            _ => Err(Errno::EAGAIN),
        }
    }

    fn shutdown(&mut self, _now: u64, s: SockId, how: Shutdown) -> Result<(), Errno> {
        let c = self.conn(s)?;
        let sk = self.sock(s)?;
        if matches!(how, Shutdown::Read | Shutdown::Both) {
            sk.shut_rd = true;
        }
        if matches!(how, Shutdown::Write | Shutdown::Both) {
            sk.shut_wr = true;
            self.ep.shutdown_write(c).map_err(|_| Errno::ENOTCONN)?;
        }
        Ok(())
    }

    fn close(&mut self, _now: u64, s: SockId) -> Result<(), Errno> {
        let sk = self.socks.remove(&s).ok_or(Errno::EBADF)?;
        match sk.kind {
            Kind::Conn(c) => {
                let _ = self.ep.close(c);
                self.orphans.push(c);
            }
            Kind::Listening(l) => self.ep.close_listener(l),
            Kind::Fresh => {}
        }
        Ok(())
    }

    fn sock_states(&self) -> Vec<SockState> {
        let mut out = Vec::new();
        let owned: Vec<ConnId> = self
            .socks
            .values()
            .filter_map(|s| if let Kind::Conn(c) = s.kind { Some(c) } else { None })
            .collect();
        for sk in self.socks.values() {
            match sk.kind {
                Kind::Listening(l) => {
                    let local_port = sk.local.map_or(0, |a| a.port());
                    out.push(SockState {
                        local_port,
                        remote_port: None,
                        state: "LISTEN",
                        owned: true,
                        local: sk.local,
                        remote: None,
                        linux_state: 10,
                        tx_queue: 0,
                        rx_queue: 0,
                    });
                    for _ in 0..self.ep.syn_queue_len(l) {
                        out.push(SockState {
                            local_port,
                            remote_port: None,
                            state: "SYN_RCVD",
                            owned: false,
                            local: sk.local,
                            remote: None,
                            linux_state: 3,
                            tx_queue: 0,
                            rx_queue: 0,
                        });
                    }
                }
                Kind::Conn(c) => out.extend(self.conn_state(c, true)),
                Kind::Fresh => {
                    let local_port = sk.local.map_or(0, |a| a.port());
                    out.push(SockState {
                        local_port,
                        remote_port: None,
                        state: "CLOSED",
                        owned: true,
                        local: sk.local,
                        remote: None,
                        linux_state: 7,
                        tx_queue: 0,
                        rx_queue: 0,
                    });
                }
            }
        }
        for &c in self.orphans.iter().filter(|c| !owned.contains(c)) {
            out.extend(self.conn_state(c, false));
        }
        out
    }

    //~ linux: the nstat names of the MIB counters these engine counts are the events of.
    fn mib(&self) -> Vec<(&'static str, u64)> {
        let d = self.ep.drop_counters();
        let l = self.ep.listen_counters();
        vec![
            ("TcpExtBeyondWindow", d.beyond_window),
            // Accept queue full, for a SYN (tcp_conn_request) or the handshake's ACK
            // (tcp_v4_syn_recv_sock).
            ("TcpExtListenOverflows", l.syns_dropped_accept_full + l.acks_dropped_accept_full),
            ("TcpExtSyncookiesFailed", l.cookies_rejected),
            ("TcpExtSyncookiesRecv", l.cookies_accepted),
            ("TcpExtSyncookiesSent", l.cookies_sent),
            ("TcpExtTCPReqQFullDrop", l.syns_dropped_queue_full),
            ("TcpExtTCPZeroWindowDrop", d.zero_window),
        ]
    }

    fn flush_metrics(&mut self) {
        self.ep.clear_fast_open_cache();
    }

    fn drop_state(&mut self, _now: u64, state: &str) -> usize {
        let conns: Vec<ConnId> = self
            .socks
            .values()
            .filter_map(|s| if let Kind::Conn(c) = s.kind { Some(c) } else { None })
            .chain(self.orphans.iter().copied())
            .filter(|&c| self.conn_state(c, false).is_some_and(|s| s.state == state))
            .collect();
        for &c in &conns {
            let _ = self.ep.abort(c);
        }
        conns.len()
    }

    fn set_option(&mut self, _now: u64, s: SockId, opt: SockOpt, value: i64) -> Result<(), Errno> {
        self.apply_option(s, opt, value)
    }

    fn get_option(&mut self, s: SockId, opt: SockOpt) -> Result<i64, Errno> {
        self.read_option(s, opt)
    }

    fn inq(&mut self, s: SockId) -> Result<usize, Errno> {
        let c = self.conn(s)?;
        self.ep.stats(c).map(|st| st.recv_queue).map_err(|_| Errno::ENOTCONN)
    }

    fn readiness(&mut self, s: SockId) -> Readiness {
        let Some(sk) = self.socks.get(&s) else { return Readiness::default() };
        match sk.kind {
            Kind::Listening(l) => {
                Readiness { readable: self.ep.accept_queue_len(l) > 0, ..Readiness::default() }
            }
            Kind::Conn(c) => {
                let error = matches!(self.ep.error(c), Ok(Some(_)));
                let queued_error =
                    self.settle_zerocopy(s) | self.ep.tx_stamp_pending(c).unwrap_or(false);
                //~ linux: tcp_poll reports EPOLLOUT only while tcp_stream_memory_free (wake 1)
                //~ holds: fewer than half the unsent low-water mark unsent.
                let lowat_ok = self.ep.send_ready(c).unwrap_or(true);
                let Some(sk) = self.socks.get(&s) else { return Readiness::default() };
                let state = self.ep.state(c).unwrap_or(State::Closed);
                let st = self.ep.stats(c).ok();
                let peer_closed = matches!(
                    state,
                    State::CloseWait
                        | State::LastAck
                        | State::Closing
                        | State::TimeWait
                        | State::Closed
                );
                let open = matches!(state, State::Established | State::CloseWait);
                let room = st.is_some_and(|st| st.send_queue < sk.cfg.send_buffer);
                Readiness {
                    readable: error || peer_closed || st.is_some_and(|st| st.recv_queue > 0),
                    // A connection that ended (reset, timed out, closed) is shut for sending
                    // and so polls writable: a write reports the outcome at once.
                    writable: (open && room && lowat_ok && !sk.shut_wr) || state == State::Closed,
                    error: error || queued_error,
                    hup: error || state == State::Closed,
                    rdhup: peer_closed,
                }
            }
            // A connect deferred to the first write reports writable (Linux's
            // TCP_FASTOPEN_CONNECT), so the application writes.
            Kind::Fresh if sk.fo.deferred.is_some() => {
                Readiness { writable: true, ..Readiness::default() }
            }
            Kind::Fresh => Readiness { hup: true, ..Readiness::default() },
        }
    }

    fn local_addr(&self, s: SockId) -> Option<SocketAddr> {
        self.socks.get(&s).and_then(|x| x.local)
    }

    fn tcp_info(&self, now: u64, s: SockId) -> Option<TcpInfo> {
        let mut info = self.info(s)?;
        // packetdrill's SO_MEMINFO names: the buffer sizes (sk_sndbuf, sk_rcvbuf) are what
        // getsockopt reports; the memory-use entries are not modelled.
        if let Some((snd, rcv)) = self.reported_buffers(s) {
            info.insert("SK_MEMINFO_SNDBUF".into(), snd);
            info.insert("SK_MEMINFO_RCVBUF".into(), rcv);
        }
        if let Some(Kind::Conn(c)) = self.socks.get(&s).map(|x| x.kind)
            && let Some(&at) = self.last_data_recv.get(&c)
        {
            info.insert("tcpi_last_data_recv".into(), (now.saturating_sub(at) / 1000) as i64);
        }
        if let Some(sk) = self.socks.get(&s)
            && matches!(sk.kind, Kind::Conn(_))
        {
            let (busy, rwnd, sndbuf) = sk.lx.chrono.report(now);
            info.insert("tcpi_busy_time".into(), busy as i64);
            info.insert("tcpi_rwnd_limited".into(), rwnd as i64);
            info.insert("tcpi_sndbuf_limited".into(), sndbuf as i64);
        }
        Some(info)
    }

    fn deliver(&mut self, now: u64, seg: &Segment) {
        let Ok(bytes) = Self::inbound_bytes(seg, self.md5_secret.as_deref()) else { return };
        let (src, dst) = (seg.src.ip(), seg.dst.ip());
        let tuple = synack_tcp::FourTuple { local: seg.dst, remote: seg.src };
        let before = self.receive_progress(&tuple);
        if let Some((sport, dport)) = seg.udp {
            self.deliver_udp(now, seg, &bytes, sport, dport);
        } else if let Ok(repr) = TcpRepr::parse_bytes(&bytes, src, dst, ChecksumMode::Verify) {
            // The ECN codepoint of the IP header the script wrote (`[ect0]`, `[ce]`, ...).
            let ecn = seg.tos & 3;
            match self.gro_mss {
                Some(mss) if repr.payload.len() > usize::from(mss) => {
                    self.ep.on_coalesced_segment(instant(now), src, dst, ecn, mss, &repr)
                }
                _ => self.ep.on_segment_with_ecn(instant(now), src, dst, ecn, &repr),
            }
        }
        while self.ep.poll_event().is_some() {}
        //~ linux: tcpi_last_data_recv ages from the last data segment taken in
        //~ (tcp_event_data_recv), or from the handshake's completion before any.
        if let Some((c, received, open)) = self.receive_progress(&tuple)
            && before.is_none_or(|(bc, r, o)| bc != c || r != received || o != open)
            && (received > 0 || open)
        {
            self.last_data_recv.insert(c, now);
        }
        self.sample_chronos(now);
    }

    fn deliver_icmp(&mut self, now: u64, m: &IcmpMessage) {
        let error = if m.v6 {
            IcmpError::from_icmpv6(m.icmp_type, m.code, m.mtu)
        } else {
            IcmpError::from_icmpv4(m.icmp_type, m.code, u16::try_from(m.mtu).unwrap_or(u16::MAX))
        };
        let Some(error) = error else { return };
        let seq = synack_wire::SeqNum(m.seq);
        match m.udp {
            None => self.ep.on_icmp_error(instant(now), m.local, m.remote, seq, error),
            // The quoted datagram must have left from our tunnel port, to a port the
            // connection uses (the engine checks that).
            Some((sport, dport)) => {
                let Some(remote_port) = core::num::NonZeroU16::new(dport) else { return };
                if self.udp_tunnel_port == 0 || sport != self.udp_tunnel_port {
                    return;
                }
                self.ep.on_udp_icmp_error(instant(now), m.local, m.remote, remote_port, seq, error);
            }
        }
        while self.ep.poll_event().is_some() {}
    }

    fn poll_transmit(&mut self, now: u64) -> Option<Segment> {
        let t = self.ep.poll_transmit(instant(now), &mut self.buf)?;
        if self.link_drops {
            // The queue refuses it: the engine hears so, and the script sees nothing. Each
            // refusal leaves the connection with less to send (refused new data waits for its
            // retry timer), so this ends.
            self.ep.transmit_failed(instant(now), &t);
            while let Some(t) = self.ep.poll_transmit(instant(now), &mut self.buf) {
                self.ep.transmit_failed(instant(now), &t);
            }
            while self.ep.poll_event().is_some() {}
            return None;
        }
        while self.ep.poll_event().is_some() {}
        let bytes = &self.buf[..t.len];
        let (checksum_ok, udp) = match t.udp_port {
            Some(remote) => {
                let Some(ok) = self.encapsulated_ok(&t, remote.get()) else {
                    // No tunnel port any more: nothing can carry it.
                    return self.poll_transmit(now);
                };
                (ok, Some((self.udp_tunnel_port, remote.get())))
            }
            None => (
                TcpRepr::parse_bytes(bytes, t.src.ip(), t.dst.ip(), ChecksumMode::Verify).is_ok(),
                None,
            ),
        };
        self.sample_chronos(now);
        let ip = match t.conn {
            None if t.ip == IpFields::default() => self.bound_ip_fields(t.src).unwrap_or(t.ip),
            _ => t.ip,
        };
        let bytes = &self.buf[..t.len];
        Some(Segment {
            at: now,
            src: t.src,
            dst: t.dst,
            flags: t.flags,
            seq: t.seq.0,
            ack: t.ack.0,
            window: t.window,
            urgent: t.urgent,
            options: self.md5_checked(wire_options(bytes), bytes, t.src.ip(), t.dst.ip()),
            payload: t.payload(&self.buf).to_vec(),
            // The ECN codepoint is the engine's (ECT(0) on new data of an ECN connection); the
            // rest of the TOS byte and the TTL are the socket's (IP_TOS, IP_TTL).
            tos: ip.tos & !3 | t.ecn & 3,
            ttl: ip.ttl.unwrap_or(DEFAULT_TTL),
            checksum_ok,
            udp,
        })
    }

    fn poll_timeout(&self) -> Option<u64> {
        self.ep.poll_timeout().map(|t| t.as_micros())
    }

    fn on_timeout(&mut self, now: u64) {
        self.ep.on_timeout(instant(now));
        while self.ep.poll_event().is_some() {}
        self.sample_chronos(now);
    }

    fn reconfigure(&mut self, p: &Profile) {
        self.link_drops = p.link_drops;
        let current = self.ep.fast_open();
        self.ep.set_fast_open(FastOpenConfig {
            refused_backoff: current.refused_backoff,
            ..FastOpenConfig::from_linux_bits(p.fastopen)
        });
        self.reconfigure_sockets(p);
        for (dst, metrics) in &p.routes {
            self.ep.set_route(*dst, Some(*metrics));
        }
        //~ linux: tcp_ecn_option and tcp_ecn_option_beacon are read each time an ACK or data
        //~ segment is built, so a change reaches the connections that exist too.
        let accecn = self.base_conn.accecn;
        let conns: Vec<ConnId> = self
            .socks
            .values()
            .filter_map(|s| if let Kind::Conn(c) = s.kind { Some(c) } else { None })
            .chain(self.orphans.iter().copied())
            .collect();
        for c in conns {
            if let Ok(mut cfg) = self.ep.conn_config(c) {
                cfg.accecn.option = accecn.option;
                cfg.accecn.option_beacon = accecn.option_beacon;
                let _ = self.ep.set_conn_config(c, cfg);
            }
        }
    }

    fn zerocopy_sent(&mut self, s: SockId, bytes: usize) {
        let Ok(c) = self.conn(s) else { return };
        let Ok(st) = self.ep.stats(c) else { return };
        let Ok(sk) = self.sock(s) else { return };
        if !sk.lx.zerocopy || bytes == 0 {
            return;
        }
        let end = st.bytes_acked + st.send_queue as u64;
        let start = end.saturating_sub(bytes as u64);
        let in_flight = st.snd_nxt.0.wrapping_sub(st.snd_una.0) as usize;
        let unsent_before = st.send_queue.saturating_sub(in_flight).saturating_sub(bytes);
        sk.lx.zc.sent(start, end, unsent_before > 0);
    }

    fn error_queue_pop(&mut self, s: SockId) -> Option<ErrQueueEntry> {
        self.settle_zerocopy(s);
        if let Some(done) = self.sock(s).ok()?.lx.zc.pop() {
            return Some(ErrQueueEntry {
                errno: 0,
                origin: SO_EE_ORIGIN_ZEROCOPY,
                kind: 0,
                code: SO_EE_CODE_ZEROCOPY_COPIED,
                info: i64::from(done.lo),
                data: i64::from(done.hi),
                stamp: None,
                packet_len: 0,
            });
        }
        let c = self.conn(s).ok()?;
        let stamp = self.ep.pop_tx_stamp(c).ok()??;
        let tsflags = self.sock(s).ok()?.lx.tsflags;
        Some(timestamping::entry(&stamp, tsflags))
    }

    //~ linux: tcp_poll, finding the socket not writable, sets SOCK_NOSPACE, so the
    //~ write_space callback (tcp_check_space) wakes its waiters once space comes back.
    fn poll_readiness(&mut self, s: SockId) -> Readiness {
        let r = self.readiness(s);
        if let Some(sk) = self.socks.get_mut(&s)
            && matches!(sk.kind, Kind::Conn(_))
            && !r.writable
            && !sk.shut_wr
        {
            sk.lx.nospace = true;
        }
        r
    }

    fn wakeups(&mut self, s: SockId) -> u64 {
        self.settle_zerocopy(s);
        let writable = self.readiness(s).writable;
        let snapshot = match self.socks.get(&s).map(|x| x.kind) {
            Some(Kind::Conn(c)) => {
                let st = self.ep.stats(c).ok();
                WakeSnapshot {
                    received: st.map_or(0, |st| st.bytes_received),
                    state: self.ep.state(c).unwrap_or(State::Closed),
                    error: matches!(self.ep.error(c), Ok(Some(_))),
                    completions: self.socks.get(&s).map_or(0, |x| x.lx.zc.added)
                        + self.ep.tx_stamps_queued(c).unwrap_or(0),
                }
            }
            Some(Kind::Listening(l)) => WakeSnapshot {
                received: self.ep.accept_queue_len(l) as u64,
                state: State::Listen,
                error: false,
                completions: 0,
            },
            _ => return 0,
        };
        let Ok(sk) = self.sock(s) else { return 0 };
        let lx = &mut sk.lx;
        if lx.seen.is_some_and(|seen| seen != snapshot) {
            lx.wakeups += 1;
        }
        lx.seen = Some(snapshot);
        if lx.nospace && writable {
            lx.nospace = false;
            lx.wakeups += 1;
        }
        lx.wakeups
    }

    fn inq_hint(&mut self, s: SockId) -> Option<i64> {
        let sk = self.socks.get(&s)?;
        if !sk.lx.inq {
            return None;
        }
        let Kind::Conn(c) = sk.kind else { return Some(0) };
        let queued = self.ep.stats(c).map_or(0, |st| st.recv_queue) as i64;
        let state = self.ep.state(c).unwrap_or(State::Closed);
        //~ linux: tcp_inq_hint is RCV.NXT - copied_seq, so a received FIN counts as one byte,
        //~ and a socket that is done (FIN or reset) never reports 0.
        let fin =
            matches!(state, State::CloseWait | State::LastAck | State::Closing | State::TimeWait);
        let done = fin || state == State::Closed;
        Some(match queued + i64::from(fin) {
            0 if done => 1,
            n => n,
        })
    }
}

impl EngineTarget {
    /// Brings every connected socket's send-side clocks up to `now` (after an event that may
    /// have changed what holds its data back).
    fn sample_chronos(&mut self, now: u64) {
        for sk in self.socks.values_mut() {
            let Kind::Conn(c) = sk.kind else { continue };
            if self.ep.send_space(c).unwrap_or(true) {
                sk.lx.sndbuf_wait = false;
            }
            let waiting = sk.lx.sndbuf_wait;
            let kind = self.ep.stats(c).ok().and_then(|st| sk.lx.chrono.kind(&st, waiting));
            sk.lx.chrono.set(now, kind);
        }
    }

    /// A connection's payload bytes taken in so far, and whether its handshake completed.
    fn receive_progress(&self, tuple: &synack_tcp::FourTuple) -> Option<(ConnId, u64, bool)> {
        let c = self.ep.lookup(tuple)?;
        let st = self.ep.stats(c).ok()?;
        let open = !matches!(st.state, State::SynSent | State::SynReceived | State::Listen);
        Some((c, st.bytes_received, open))
    }

    /// The IP fields (IP_TTL, IP_TOS) of the socket bound to `local` that set any, for a
    /// reply the engine sends from no connection.
    //~ freebsd: tcp_dropwithreset answers with the IP options of the socket the segment was
    //~ looked up to (bound or listening), as the kernel's inpcb lookup finds it.
    fn bound_ip_fields(&self, local: SocketAddr) -> Option<IpFields> {
        self.socks.values().find_map(|sk| {
            let l = sk.local?;
            let here =
                l.port() == local.port() && (l.ip() == local.ip() || l.ip().is_unspecified());
            (here && sk.cfg.ip != IpFields::default()).then_some(sk.cfg.ip)
        })
    }
}

/// `SO_EE_ORIGIN_ZEROCOPY` and `SO_EE_CODE_ZEROCOPY_COPIED` (linux/errqueue.h).
const SO_EE_ORIGIN_ZEROCOPY: i64 = 5;
const SO_EE_CODE_ZEROCOPY_COPIED: i64 = 1;

impl EngineTarget {
    /// Completes the socket's zerocopy sends the peer has acknowledged (all of them once the
    /// connection is gone); true when a completion waits on the error queue.
    fn settle_zerocopy(&mut self, s: SockId) -> bool {
        let Some(sk) = self.socks.get(&s) else { return false };
        let Kind::Conn(c) = sk.kind else { return sk.lx.zc.pending() };
        let (acked, gone) = match self.ep.stats(c) {
            Ok(st) => (st.bytes_acked, matches!(self.ep.error(c), Ok(Some(_)))),
            Err(_) => (0, true),
        };
        let Some(sk) = self.socks.get_mut(&s) else { return false };
        sk.lx.zc.acked(acked, gone);
        sk.lx.zc.pending()
    }
}

mod chrono;
mod md5;
mod sockopt;
mod states;
mod timestamping;
mod wire_form;
mod writes;
use writes::WriteKind;
mod zerocopy;

use chrono::Chrono;
use zerocopy::ZeroCopy;

use states::linux_state_number;
use wire_form::wire_options;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod ecn_tests;
