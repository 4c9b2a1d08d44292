//! Fuzz target body for the engine (`tcp_endpoint`) and the replay of its corpus
//! (`fuzz/corpus/tcp_endpoint/`, seeds plus any `regress-*` crash reproducers).
//!
//! The input is decoded by hand into a sequence of operations on one [`Endpoint`] on a virtual
//! clock: inbound segments (any flags, seq/ack biased towards what the endpoint itself last
//! sent on that tuple so they are often in-window, or random, or near 2^32; options; payload),
//! listen/connect/accept/send/recv/shutdown/close/abort, ICMP errors, time jumps and
//! `on_timeout`. After each step the invariants below are checked; a broken one panics, which
//! the fuzzer reports. `fuzz/fuzz_targets/tcp_endpoint.rs` includes this file with `#[path]`, so
//! the fuzzer and `cargo test` run the same code. Only public API is used.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::collections::{BTreeMap, HashSet};
use synack_tcp::{
    ConnConfig, ConnId, Duration, Endpoint, EndpointConfig, Event, IcmpError, Instant, KeepAlive,
    ListenerId, State,
};
use synack_wire::SeqNum;
use synack_wire::checksum::ChecksumMode;
use synack_wire::tcp::{
    SackBlock, SackBlocks, TcpFlags, TcpOptions, TcpPacket, TcpRepr, Timestamps,
};

/// Most segments one step may emit. A step's input is at most one segment or one call, so
/// output is bounded by a window's worth of segments; more means `poll_transmit` runs away.
const MAX_TX_PER_STEP: usize = 4096;
/// Most events one step may queue.
const MAX_EVENTS_PER_STEP: usize = 4096;
/// Most steps decoded from one input.
const MAX_STEPS: usize = 512;
/// Connections the endpoint may hold (config), checked after every step.
const MAX_CONNS: usize = 24;
/// SYN queue length per listener (config).
const SYN_QUEUE: usize = 8;

/// Reads the input a byte at a time; zeros once exhausted.
struct Input<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Input<'_> {
    fn done(&self) -> bool {
        self.pos >= self.data.len()
    }
    fn u8(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }
}

/// What the endpoint last told a peer on one tuple: where its next byte starts and what it
/// acknowledged, so the fuzzer can answer in-window.
#[derive(Clone, Copy, Default)]
struct PeerView {
    /// Highest SEG.SEQ + SEG.LEN the endpoint sent.
    our_next: u32,
    /// The endpoint's last ACK (the peer's next expected byte).
    our_ack: u32,
    /// The endpoint's last TSval.
    our_tsval: u32,
}

struct Harness {
    ep: Endpoint,
    now: Instant,
    local: IpAddr,
    remote: IpAddr,
    listener: Option<ListenerId>,
    listen_port: u16,
    backlog: usize,
    conns: Vec<ConnId>,
    /// Ordered, so that an input picks the same tuple on every run.
    views: BTreeMap<(SocketAddr, SocketAddr), PeerView>,
    /// Connections seen in CLOSED at the end of a step: they must never send again.
    closed: HashSet<ConnId>,
    buf: Vec<u8>,
    /// The application's receive buffer (up to 64 KiB per call).
    rbuf: Vec<u8>,
    mtu: usize,
}

std::thread_local! {
    /// The transmit and receive buffers of the last run on this thread, for the next: zeroing
    /// and faulting in 128 KiB afresh is a measurable share of a short run.
    static SPARE: std::cell::Cell<Option<[Vec<u8>; 2]>> = const { std::cell::Cell::new(None) };
}

/// Bytes the peer and the application send: a fixed pattern, sliced, so an input's data costs
/// no allocation.
static PATTERN: [u8; 70_000] = {
    let mut p = [0u8; 70_000];
    let mut i = 0;
    while i < p.len() {
        p[i] = (i * 7) as u8;
        i += 1;
    }
    p
};

const PORTS: [u16; 4] = [80, 5000, 5001, 65535];
const REMOTE_PORTS: [u16; 4] = [40000, 40001, 1, 65535];

impl Harness {
    fn new(inp: &mut Input<'_>) -> Harness {
        let flags = inp.u8();
        let v6 = flags & 1 != 0;
        let mut conn = ConnConfig {
            window_scaling: flags & 2 == 0,
            sack: flags & 4 == 0,
            timestamps: flags & 8 == 0,
            rack: flags & 16 == 0,
            nodelay: flags & 32 != 0,
            ..ConnConfig::default()
        };

        if flags & 64 != 0 {
            conn.send_buffer = 4096;
            conn.recv_buffer = 4096;
            conn.recv_buffer_max = 4096;
        }
        let m = inp.u8();
        let mtu = [1500usize, 576, 1280, 9000][usize::from(m & 3)];
        // The byte's other bits choose the stack-profile knobs (Linux's and FreeBSD's choices).
        if m & 4 != 0 {
            conn.push_policy = synack_tcp::PushPolicy::EndOfWrite;
        }
        if m & 8 != 0 {
            conn.option_layout = synack_tcp::OptionLayout::Bsd;
            conn.recv_buffer_mss_rounding = true;
        }
        if m & 32 != 0 {
            // Accurate ECN (RFC 9768) asked for and accepted: its reading of the peer's ACE
            // field and option runs on every segment.
            conn.ecn = true;
            conn.accecn.request = true;
            conn.accecn.accept = true;
        }
        if m & 16 != 0 {
            conn.abort_reset = synack_tcp::AbortReset::Linux;
            conn.read_window_update = synack_tcp::ReadWindowUpdate::Doubling;
            conn.slow_start_ack_limit = None;
        }
        let cfg = EndpointConfig {
            mtu,
            conn,
            syn_queue_len: SYN_QUEUE,
            syn_cookies: flags & 128 == 0,
            max_connections: MAX_CONNS,
            challenge_ack_limit: 10,
            ..EndpointConfig::default()
        };
        let (local, remote) = if v6 {
            (
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2)),
            )
        } else {
            (IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)))
        };
        let seed = u64::from(inp.u32());
        let mut ep = Endpoint::new(cfg, [7; 16], seed);
        let [mut buf, mut rbuf] = SPARE.take().unwrap_or_default();
        buf.resize(65536 + 100, 0);
        rbuf.resize(65536, 0);
        let backlog = usize::from(inp.u8() % 8) + 1;
        let listen_port = PORTS[usize::from(inp.u8() % 4)];
        let listener = ep.listen(SocketAddr::new(local, listen_port), backlog).ok();
        Harness {
            ep,
            now: Instant::from_secs(1),
            local,
            remote,
            listener,
            listen_port,
            backlog,
            conns: Vec::new(),
            views: BTreeMap::new(),
            closed: HashSet::new(),
            buf,
            rbuf,
            mtu,
        }
    }

    fn pick_conn(&self, inp: &mut Input<'_>) -> Option<ConnId> {
        if self.conns.is_empty() {
            None
        } else {
            Some(self.conns[usize::from(inp.u8()) % self.conns.len()])
        }
    }

    /// One tuple to send on: a known one (from the endpoint's own output) or a made-up one.
    fn pick_tuple(&self, inp: &mut Input<'_>) -> (SocketAddr, SocketAddr) {
        let sel = inp.u8();
        if sel & 3 != 0 && !self.views.is_empty() {
            let k = usize::from(sel >> 2) % self.views.len();
            return *self.views.keys().nth(k).expect("k < len");
        }
        let lport = if sel & 4 != 0 { self.listen_port } else { PORTS[usize::from(sel >> 3) % 4] };
        let rport = if sel & 32 != 0 { inp.u16() } else { REMOTE_PORTS[usize::from(sel >> 6)] };
        (SocketAddr::new(self.local, lport), SocketAddr::new(self.remote, rport))
    }

    fn seq_value(inp: &mut Input<'_>, base: u32) -> u32 {
        match inp.u8() % 8 {
            0..=3 => base.wrapping_add(i32::from(inp.u8() as i8) as u32),
            4 => base.wrapping_add(u32::from(inp.u16()) * 64),
            5 => 0xFFFF_FF00u32.wrapping_add(u32::from(inp.u8()) * 2),
            6 => base.wrapping_sub(u32::from(inp.u16())),
            _ => inp.u32(),
        }
    }

    fn inbound(&mut self, inp: &mut Input<'_>) {
        let (local, remote) = self.pick_tuple(inp);
        let view = self.views.get(&(local, remote)).copied().unwrap_or_default();
        let fb = inp.u8();
        let mut flags = TcpFlags(u16::from(fb));
        if fb == 0 {
            flags = TcpFlags::ACK;
        }
        if inp.u8() & 7 == 0 {
            flags = flags.union(TcpFlags(u16::from(inp.u8() & 0xf) << 8));
        }
        let seq = SeqNum(Self::seq_value(inp, view.our_ack));
        let ack = SeqNum(Self::seq_value(inp, view.our_next));
        let window = match inp.u8() % 4 {
            0 => 0,
            1 => 65535,
            _ => inp.u16(),
        };
        let ob = inp.u8();
        let mut options = TcpOptions::default();
        if ob & 1 != 0 {
            options.mss = Some(match inp.u8() % 4 {
                0 => 0,
                1 => 1,
                2 => 1460,
                _ => inp.u16(),
            });
        }
        if ob & 2 != 0 {
            options.window_scale = Some(inp.u8() % 20);
        }
        options.sack_permitted = ob & 4 != 0;
        if ob & 8 != 0 {
            let tsval = inp.u32();
            let tsecr = if inp.bool() { view.our_tsval } else { inp.u32() };
            options.timestamps = Some(Timestamps { tsval, tsecr });
        }
        if ob & 16 != 0 {
            let mut blocks = SackBlocks::new();
            for _ in 0..(inp.u8() % 5) {
                let left = Self::seq_value(inp, view.our_next.wrapping_sub(8000));
                let len = u32::from(inp.u16());
                let right = if inp.u8() & 15 == 0 {
                    left.wrapping_sub(len)
                } else {
                    left.wrapping_add(len)
                };
                blocks.push(SackBlock { left: SeqNum(left), right: SeqNum(right) });
            }
            options.sack = blocks;
        }
        let plen = match inp.u8() % 8 {
            0..=3 => 0,
            4 => usize::from(inp.u8()),
            5 => 536,
            6 => 1460,
            _ => usize::from(inp.u16() % 9000),
        };
        let payload = &PATTERN[..plen];
        let urgent = if flags.urg() { inp.u16() } else { 0 };
        let repr = TcpRepr {
            src_port: remote.port(),
            dst_port: local.port(),
            seq,
            ack,
            flags,
            window,
            urgent,
            options,
            raw_options: None,
            payload,
        };
        // The IP-ECN field the segment arrives with, taken from its own bytes.
        let ecn = (window >> 3) as u8 & 3;
        self.ep.on_segment_with_ecn(self.now, remote.ip(), local.ip(), ecn, &repr);
    }

    fn step(&mut self, inp: &mut Input<'_>) {
        let op = inp.u8();
        match op % 20 {
            0..=7 => self.inbound(inp),
            8 => {
                let lport = if inp.bool() { 0 } else { PORTS[usize::from(inp.u8() % 4)] };
                let rport = REMOTE_PORTS[usize::from(inp.u8() % 4)];
                let mut cfg = self.ep.config().conn;
                cfg.sack = inp.bool();
                let r = self.ep.connect(
                    self.now,
                    SocketAddr::new(self.local, lport),
                    SocketAddr::new(self.remote, rport),
                    cfg,
                );
                if let Ok(id) = r {
                    self.conns.push(id);
                }
            }
            9 => {
                if let Some(l) = self.listener
                    && let Some(id) = self.ep.accept(l)
                    && !self.conns.contains(&id)
                {
                    self.conns.push(id);
                }
            }
            10 => {
                if let Some(id) = self.pick_conn(inp) {
                    let n = match inp.u8() % 4 {
                        0 => usize::from(inp.u8()),
                        1 => 1,
                        2 => 3000,
                        _ => 70000,
                    };
                    let data = &PATTERN[..n];
                    let r = if inp.u8() & 15 == 0 {
                        self.ep.send_urgent(id, data)
                    } else {
                        self.ep.send(id, data)
                    };
                    if let Ok(k) = r {
                        assert!(k <= n, "send accepted {k} of {n} bytes");
                    }
                }
            }
            11 => {
                if let Some(id) = self.pick_conn(inp) {
                    let b = &mut self.rbuf[..usize::from(inp.u16())];
                    if let Ok(k) = self.ep.recv(id, b) {
                        assert!(k <= b.len(), "recv returned {k} into {} bytes", b.len());
                    }
                    let _ = self.ep.urgent_pending(id);
                }
            }
            12 => {
                if let Some(id) = self.pick_conn(inp) {
                    let _ = self.ep.shutdown_write(id);
                }
            }
            13 => {
                if let Some(id) = self.pick_conn(inp) {
                    let _ = self.ep.close(id);
                }
            }
            14 => {
                if let Some(id) = self.pick_conn(inp) {
                    let _ = self.ep.abort(id);
                }
            }
            15 => {
                // A time jump, short or long, then the timers.
                let d = match inp.u8() % 4 {
                    0 => Duration::from_micros(u64::from(inp.u16())),
                    1 => Duration::from_millis(u64::from(inp.u16())),
                    2 => Duration::from_secs(u64::from(inp.u8())),
                    _ => Duration::from_secs(u64::from(inp.u16())),
                };
                self.now += d;
                self.ep.on_timeout(self.now);
            }
            16 => {
                // Run to the next deadline, a few times.
                for _ in 0..(inp.u8() % 8) + 1 {
                    let Some(t) = self.ep.poll_timeout() else { break };
                    if t > self.now + Duration::from_secs(3 * 24 * 3600) {
                        break;
                    }
                    if t > self.now {
                        self.now = t;
                    }
                    self.ep.on_timeout(self.now);
                    self.drain();
                }
            }
            17 => {
                if let Some(id) = self.pick_conn(inp)
                    && let Ok(t) = self.ep.four_tuple(id)
                {
                    let view = self.views.get(&(t.local, t.remote)).copied().unwrap_or_default();
                    let seq = SeqNum(Self::seq_value(inp, view.our_next));
                    let err = match inp.u8() % 6 {
                        0 => IcmpError::PacketTooBig { mtu: inp.u16() },
                        1 => IcmpError::PortUnreachable,
                        2 => IcmpError::HostUnreachable,
                        3 => IcmpError::TimeExceeded,
                        4 => IcmpError::SourceQuench,
                        _ => IcmpError::AdminProhibited,
                    };
                    self.ep.on_icmp_error(self.now, t.local, t.remote, seq, err);
                }
            }
            18 => {
                if let Some(id) = self.pick_conn(inp) {
                    match inp.u8() % 4 {
                        0 => {
                            let _ = self.ep.set_nodelay(id, inp.bool());
                        }
                        1 => {
                            let ka = KeepAlive {
                                idle: Duration::from_secs(u64::from(inp.u8() % 10) + 1),
                                interval: Duration::from_secs(u64::from(inp.u8() % 10) + 1),
                                probes: u32::from(inp.u8() % 5),
                            };
                            let _ = self.ep.set_keep_alive(id, Some(ka));
                        }
                        2 => {
                            let d = Duration::from_millis(u64::from(inp.u16()));
                            let _ = self.ep.set_user_timeout(id, Some(d));
                        }
                        _ => {
                            let _ = self.ep.stats(id);
                            let _ = self.ep.error(id);
                        }
                    }
                }
            }
            _ => {
                if let Some(l) = self.listener.take() {
                    self.ep.close_listener(l);
                } else {
                    let local = SocketAddr::new(self.local, self.listen_port);
                    self.listener = self.ep.listen(local, self.backlog).ok();
                }
            }
        }
    }

    /// Drains output and events, checking every emitted segment.
    fn drain(&mut self) {
        let mut n = 0;
        while let Some(t) = self.ep.poll_transmit(self.now, &mut self.buf) {
            n += 1;
            assert!(n <= MAX_TX_PER_STEP, "poll_transmit did not stop after {n} segments");
            assert!(t.len <= self.buf.len() && t.header_len <= t.len, "bad lengths");
            if let Some(id) = t.conn {
                assert!(
                    !self.closed.contains(&id),
                    "segment from a connection already CLOSED: {:?} {:?}",
                    t.flags,
                    t.seq
                );
            }
            let bytes = &self.buf[..t.len];
            let ip_len = t.len + if t.src.is_ipv4() { 20 } else { 40 };
            assert!(
                t.len - t.header_len == 0 || ip_len <= self.mtu.max(1280),
                "segment of {} bytes over the MTU {}",
                ip_len,
                self.mtu
            );
            let pkt = TcpPacket::new_checked(bytes).expect("emitted segment parses");
            assert_eq!(pkt.verify_checksum(t.src.ip(), t.dst.ip()), Ok(true), "bad checksum");
            let repr = TcpRepr::parse(&pkt, t.src.ip(), t.dst.ip(), ChecksumMode::Verify)
                .expect("emitted segment parses as a TcpRepr");
            assert_eq!(repr.src_port, t.src.port());
            assert_eq!(repr.dst_port, t.dst.port());
            assert_eq!(repr.seq, t.seq);
            assert_eq!(repr.flags, t.flags);
            assert_eq!(repr.payload.len(), t.len - t.header_len);
            assert!(!(repr.flags.syn() && repr.flags.rst()), "SYN and RST in one segment");
            let v = self.views.entry((t.src, t.dst)).or_default();
            let end = t.seq.0.wrapping_add(repr.seq_len());
            if repr.flags.syn() || (end.wrapping_sub(v.our_next) as i32) > 0 {
                v.our_next = end;
            }
            if repr.flags.ack() {
                v.our_ack = t.ack.0;
            }
            if let Some(ts) = repr.options.timestamps {
                v.our_tsval = ts.tsval;
            }
        }
        let mut e = 0;
        while let Some(ev) = self.ep.poll_event() {
            e += 1;
            assert!(e <= MAX_EVENTS_PER_STEP, "poll_event did not stop after {e} events");
            if let Event::Connected(id) = ev
                && !self.conns.contains(&id)
            {
                self.conns.push(id);
            }
        }
        // Invariants that bound memory.
        assert!(
            self.ep.connection_count() <= MAX_CONNS,
            "{} connections held, limit {MAX_CONNS}",
            self.ep.connection_count()
        );
        if let Some(l) = self.listener {
            assert!(self.ep.syn_queue_len(l) <= SYN_QUEUE, "SYN queue over its limit");
            assert!(self.ep.accept_queue_len(l) <= self.backlog, "accept queue over the backlog");
        }
        assert!(self.views.len() <= 4 * MAX_STEPS, "tuple map grew");
        for &id in &self.conns {
            if let Ok(State::Closed) = self.ep.state(id) {
                self.closed.insert(id);
            }
            if let Ok(s) = self.ep.stats(id) {
                assert!(s.send_queue <= 1 << 24, "send queue {}", s.send_queue);
                assert!(s.recv_queue <= 1 << 24, "recv queue {}", s.recv_queue);
            }
        }
        if let Some(t) = self.ep.poll_timeout() {
            // Timers may be early, never stuck in the past after being served.
            let _ = t;
        }
    }
}

/// Runs the operations encoded in `data` against one endpoint.
pub fn tcp_endpoint(data: &[u8]) {
    let mut inp = Input { data, pos: 0 };
    let mut h = Harness::new(&mut inp);
    h.drain();
    for _ in 0..MAX_STEPS {
        if inp.done() {
            break;
        }
        h.step(&mut inp);
        h.drain();
    }
    // The end: timers run until every connection settles, which must happen in bounded time.
    for _ in 0..2000 {
        let Some(t) = h.ep.poll_timeout() else { break };
        if t > h.now {
            h.now = t;
        }
        h.ep.on_timeout(h.now);
        h.drain();
    }
    SPARE.set(Some([h.buf, h.rbuf]));
}

#[test]
fn tcp_endpoint_corpus_replays() {
    synack_wire::fuzz::replay_corpus("tcp_endpoint", tcp_endpoint);
}
