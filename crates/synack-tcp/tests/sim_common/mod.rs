//! Simulation harness shared by the `sim_*` tests: two [`Endpoint`]s joined by a seeded
//! [`synack_netsim::Path`] on a virtual clock.
//!
//! Segments travel as real IPv4 packets (synack-wire emits the IPv4 header; the engine writes
//! the TCP header and checksum), so corruption introduced by the path is caught by the receiver's
//! checksum check exactly as on a real network, and a failing run can be written out as a pcap
//! (LINKTYPE_RAW) that Wireshark and `synack dump` read.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use synack_netsim::{LinkConfig, Path};
use synack_tcp::{
    ConnConfig, ConnId, Duration, Endpoint, EndpointConfig, Event, Instant, RecvError, SendError,
    State,
};
use synack_wire::tcp::TcpRepr;
use synack_wire::{ChecksumMode, IpProtocol, Ipv4Packet, Ipv4Repr, SeqNum};

/// Address of endpoint A (the sender).
pub(crate) const A_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// Address of endpoint B (the receiver).
pub(crate) const B_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// One simulated transfer.
#[derive(Clone, Debug)]
pub(crate) struct SimConfig {
    /// Seed for the path (and the endpoints' own randomness).
    pub(crate) seed: u64,
    /// A -> B impairments.
    pub(crate) forward: LinkConfig,
    /// B -> A impairments.
    pub(crate) reverse: LinkConfig,
    /// Settings of both connections.
    pub(crate) conn: ConnConfig,
    /// Link MTU.
    pub(crate) mtu: usize,
    /// ISNs forced for A and B (to make sequence numbers wrap during the transfer).
    pub(crate) isn_a: Option<u32>,
    /// See `isn_a`.
    pub(crate) isn_b: Option<u32>,
    /// Bytes A sends to B.
    pub(crate) bytes: usize,
    /// Give up (and fail) after this much virtual time.
    pub(crate) time_limit: Duration,
    /// Keep every frame for a pcap (costs memory on long runs).
    pub(crate) capture: bool,
    /// Fail when the endpoints put more than this many frames on the path (a runaway sender
    /// must end the test, not exhaust memory or time).
    pub(crate) max_frames: u64,
    /// Scripted losses: indices (0-based) of A's first-transmission data segments to drop
    /// before they reach the path, for tests that need exact holes.
    pub(crate) drop_data_segments: Vec<u32>,
    /// A ends with a full `close()` as soon as the send buffer took the last byte (orphaning
    /// the connection with data still to send) instead of `shutdown_write` once ESTABLISHED.
    pub(crate) close_when_written: bool,
    /// A's application never calls `poll_event` (events pile up in the endpoint).
    pub(crate) ignore_sender_events: bool,
}

impl SimConfig {
    /// A transfer of `bytes` over `link` (both directions) with default connection settings,
    /// except that R2 is infinite: the property under test is delivery, and the path may be
    /// lossy enough that a long retransmission streak is plausible.
    pub(crate) fn new(seed: u64, link: LinkConfig, bytes: usize) -> SimConfig {
        let conn = ConnConfig { r2: None, ..ConnConfig::default() };
        SimConfig {
            seed,
            forward: link,
            reverse: link,
            conn,
            mtu: 1500,
            isn_a: None,
            isn_b: None,
            bytes,
            time_limit: Duration::from_secs(3600),
            capture: true,
            max_frames: 100_000 + (bytes as u64 / 1000) * 20,
            drop_data_segments: Vec::new(),
            close_when_written: false,
            ignore_sender_events: false,
        }
    }
}

/// What a successful run measured.
#[derive(Clone, Debug)]
pub(crate) struct SimOutcome {
    /// From `connect` to the last byte read by B.
    pub(crate) elapsed: Duration,
    /// From the first data byte written to the last byte read (excludes the handshake).
    pub(crate) data_elapsed: Duration,
    /// Bytes delivered (== `bytes` on success).
    pub(crate) delivered: usize,
    /// Frames dropped by a receiver because the checksum (IPv4 or TCP) was wrong.
    pub(crate) corrupt_dropped: u64,
    /// A's counters at the end.
    pub(crate) sender: synack_tcp::ConnStats,
    /// Segments removed by `drop_data_segments`.
    pub(crate) scripted_drops: u32,
    /// Path counters, A -> B.
    pub(crate) forward: synack_netsim::PipeStats,
    /// Path counters, B -> A.
    pub(crate) reverse: synack_netsim::PipeStats,
}

impl SimOutcome {
    /// Goodput in bits per second over the data phase.
    pub(crate) fn goodput_bps(&self) -> f64 {
        let secs = self.data_elapsed.as_secs_f64().max(1e-9);
        self.delivered as f64 * 8.0 / secs
    }
}

/// Period of the payload pattern: a prime, so it never lines up with segment sizes.
const PERIOD: usize = 65_521;

/// The deterministic payload byte at offset `i` for `seed` (periodic with [`PERIOD`]).
pub(crate) fn pattern(seed: u64, i: usize) -> u8 {
    let i = (i % PERIOD) as u64;
    let x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ seed.rotate_left(17);
    (x >> 29) as u8
}

/// Two periods of the pattern, so any run of up to `PERIOD` bytes is one slice.
fn pattern_table(seed: u64) -> Vec<u8> {
    (0..2 * PERIOD).map(|i| pattern(seed, i)).collect()
}

/// Frames kept for a pcap: the last 200 000 (about 300 MB at most).
const CAPTURE_LIMIT: usize = 200_000;

/// A frame on the path, kept for the pcap.
struct Captured {
    at: Instant,
    bytes: Vec<u8>,
}

/// Runs one transfer; on failure writes `target/sim-failures/seed-N.pcap` and returns a
/// message naming it.
pub(crate) fn run_transfer(cfg: &SimConfig) -> Result<SimOutcome, String> {
    let mut sim = Sim::new(cfg)?;
    match sim.run() {
        Ok(o) => {
            // SYNACK_SIM_PCAP=1 keeps the capture of successful runs too (for diagnosis).
            if cfg.capture && std::env::var_os("SYNACK_SIM_PCAP").is_some() {
                let _ = sim.write_pcap("sim-runs");
            }
            Ok(o)
        }
        Err(why) => {
            let mut msg = format!("seed {}: {why}", cfg.seed);
            if !cfg.capture {
                msg.push_str(" (capture off: rerun the seed with capture on for a pcap)");
                return Err(msg);
            }
            match sim.write_pcap("sim-failures") {
                Ok(p) => {
                    let _ = write!(msg, "; capture in {}", p.display());
                }
                Err(e) => {
                    let _ = write!(msg, "; could not write capture: {e}");
                }
            }
            Err(msg)
        }
    }
}

struct Sim<'c> {
    cfg: &'c SimConfig,
    a: Endpoint,
    b: Endpoint,
    path: Path,
    now: Instant,
    start: Instant,
    conn_a: ConnId,
    listener: synack_tcp::ListenerId,
    conn_b: Option<ConnId>,
    written: usize,
    fin_sent: bool,
    first_write: Option<Instant>,
    received: usize,
    eof: bool,
    corrupt_dropped: u64,
    /// The most recent frames (at most [`CAPTURE_LIMIT`]).
    capture: std::collections::VecDeque<Captured>,
    frames: u64,
    buf: Vec<u8>,
    rbuf: Vec<u8>,
    ident: u16,
    table: Vec<u8>,
    /// A's first-transmission data segments seen so far.
    data_segments: u32,
    scripted_drops: u32,
    /// A's counters as last read (kept for a sender that closed and may be gone).
    sender_last: Option<synack_tcp::ConnStats>,
}

impl<'c> Sim<'c> {
    fn new(cfg: &'c SimConfig) -> Result<Sim<'c>, String> {
        let ec = EndpointConfig { mtu: cfg.mtu, conn: cfg.conn, ..EndpointConfig::default() };
        let mut a = Endpoint::new(ec, [0xA; 16], cfg.seed);
        let mut b = Endpoint::new(ec, [0xB; 16], cfg.seed ^ 1);
        a.set_isn_override(cfg.isn_a.map(SeqNum));
        b.set_isn_override(cfg.isn_b.map(SeqNum));
        let path = Path::new(cfg.forward, cfg.reverse, cfg.seed).map_err(|e| e.to_string())?;
        let now = Instant::from_secs(1);
        let server = SocketAddr::new(IpAddr::V4(B_IP), 5001);
        let listener = b.listen(server, 8).map_err(|e| format!("listen: {e:?}"))?;
        let conn_a = a
            .connect(now, SocketAddr::new(IpAddr::V4(A_IP), 40000), server, cfg.conn)
            .map_err(|e| format!("connect: {e:?}"))?;
        Ok(Sim {
            cfg,
            a,
            b,
            path,
            now,
            start: now,
            conn_a,
            listener,
            conn_b: None,
            written: 0,
            fin_sent: false,
            first_write: None,
            received: 0,
            eof: false,
            corrupt_dropped: 0,
            capture: std::collections::VecDeque::new(),
            frames: 0,
            buf: vec![0u8; 65536 + 64],
            rbuf: vec![0u8; 256 * 1024],
            ident: 0,
            table: pattern_table(cfg.seed),
            data_segments: 0,
            scripted_drops: 0,
            sender_last: None,
        })
    }

    /// Wraps a TCP segment in IPv4 and puts it on the path.
    fn transmit_all(&mut self) {
        for from_a in [true, false] {
            // Bounded even if an endpoint never stops producing segments at one instant.
            while self.frames <= self.cfg.max_frames {
                let ep = if from_a { &mut self.a } else { &mut self.b };
                let Some(t) = ep.poll_transmit(self.now, &mut self.buf[20..]) else { break };
                let (IpAddr::V4(src), IpAddr::V4(dst)) = (t.src.ip(), t.dst.ip()) else {
                    continue;
                };
                self.ident = self.ident.wrapping_add(1);
                let ip = Ipv4Repr {
                    src_addr: src,
                    dst_addr: dst,
                    protocol: IpProtocol::TCP,
                    payload_len: t.len,
                    ttl: 64,
                    tos: 0,
                    ident: self.ident,
                    dont_frag: true,
                    more_frags: false,
                    frag_offset: 0,
                };
                ip.emit(&mut self.buf[..20], ChecksumMode::Verify).expect("ipv4 header");
                let frame = self.buf[..20 + t.len].to_vec();
                self.frames += 1;
                if self.cfg.capture {
                    if self.capture.len() == CAPTURE_LIMIT {
                        self.capture.pop_front();
                    }
                    self.capture.push_back(Captured { at: self.now, bytes: frame.clone() });
                }
                if from_a && t.len > t.header_len && !t.retransmission {
                    let index = self.data_segments;
                    self.data_segments += 1;
                    if self.cfg.drop_data_segments.contains(&index) {
                        self.scripted_drops += 1;
                        continue;
                    }
                }
                let pipe = if from_a { &mut self.path.a_to_b } else { &mut self.path.b_to_a };
                pipe.send(self.now.as_micros(), frame);
            }
        }
    }

    /// Hands a frame that came off the path to its endpoint, if both checksums hold.
    fn deliver(&mut self, frame: &[u8], to_b: bool) {
        let Ok(pkt) = Ipv4Packet::new_checked(frame) else {
            self.corrupt_dropped += 1;
            return;
        };
        let Ok(ip) = Ipv4Repr::parse(&pkt, ChecksumMode::Verify) else {
            self.corrupt_dropped += 1;
            return;
        };
        let want_dst = if to_b { B_IP } else { A_IP };
        if ip.protocol != IpProtocol::TCP || ip.dst_addr != want_dst {
            self.corrupt_dropped += 1;
            return;
        }
        let (src, dst) = (IpAddr::V4(ip.src_addr), IpAddr::V4(ip.dst_addr));
        let payload = &pkt.payload()[..ip.payload_len.min(pkt.payload().len())];
        let Ok(seg) = TcpRepr::parse_bytes(payload, src, dst, ChecksumMode::Verify) else {
            self.corrupt_dropped += 1;
            return;
        };
        let ep = if to_b { &mut self.b } else { &mut self.a };
        ep.on_segment(self.now, src, dst, &seg);
    }

    /// Application behaviour: A writes everything then shuts down; B reads everything.
    fn app(&mut self) -> Result<(), String> {
        while !self.cfg.ignore_sender_events
            && let Some(e) = self.a.poll_event()
        {
            if let Event::Error { error, .. } = e {
                return Err(format!("sender connection failed: {error:?}"));
            }
        }
        while let Some(e) = self.b.poll_event() {
            if let Event::Error { error, .. } = e {
                return Err(format!("receiver connection failed: {error:?}"));
            }
        }
        if self.conn_b.is_none() {
            self.conn_b = self.b.accept(self.listener);
        }
        while self.written < self.cfg.bytes {
            let n = (self.cfg.bytes - self.written).min(PERIOD);
            let at = self.written % PERIOD;
            match self.a.send(self.conn_a, &self.table[at..at + n]) {
                Ok(0) | Err(SendError::WouldBlock) => break,
                Ok(k) => self.written += k,
                Err(e) => return Err(format!("send: {e:?}")),
            }
        }
        if self.first_write.is_none()
            && self.written > 0
            && self.a.state(self.conn_a) == Ok(State::Established)
        {
            self.first_write = Some(self.now);
        }
        if self.cfg.close_when_written && self.written == self.cfg.bytes && !self.fin_sent {
            // The orphaned connection must still deliver everything and the FIN (RFC 9293
            // 3.10.4); its id may go away once the TCB is gone.
            self.sender_last = self.a.stats(self.conn_a).ok();
            self.a.close(self.conn_a).map_err(|e| format!("close: {e:?}"))?;
            self.fin_sent = true;
        }
        // Half-close only once ESTABLISHED: a CLOSE in SYN-SENT deletes the connection
        // (RFC 9293 3.10.4).
        if self.written == self.cfg.bytes
            && !self.fin_sent
            && self.a.state(self.conn_a) == Ok(State::Established)
        {
            self.a.shutdown_write(self.conn_a).map_err(|e| format!("shutdown: {e:?}"))?;
            self.fin_sent = true;
        }
        if let Some(cb) = self.conn_b {
            loop {
                match self.b.recv(cb, &mut self.rbuf) {
                    Ok(0) => {
                        self.eof = true;
                        break;
                    }
                    Ok(n) => {
                        let at = self.received % PERIOD;
                        let got = &self.rbuf[..n];
                        let mut k = 0;
                        while k < n {
                            let m = (n - k).min(PERIOD);
                            let want = &self.table[(at + k) % PERIOD..][..m];
                            if let Some(j) =
                                got[k..k + m].iter().zip(want).position(|(g, w)| g != w)
                            {
                                let i = self.received + k + j;
                                return Err(format!(
                                    "byte {i} corrupted: got {:#04x}, want {:#04x}",
                                    got[k + j],
                                    want[j]
                                ));
                            }
                            k += m;
                        }
                        if self.received + n > self.cfg.bytes {
                            return Err(format!(
                                "{} bytes more than sent",
                                self.received + n - self.cfg.bytes
                            ));
                        }
                        self.received += n;
                    }
                    Err(RecvError::WouldBlock) => break,
                    Err(e) => return Err(format!("recv: {e:?}")),
                }
            }
        }
        Ok(())
    }

    fn run(&mut self) -> Result<SimOutcome, String> {
        let limit = self.start + self.cfg.time_limit;
        let mut last_read = self.now;
        loop {
            self.app()?;
            self.transmit_all();
            if self.eof {
                break;
            }
            if self.frames > self.cfg.max_frames {
                return Err(format!(
                    "runaway: {} frames sent with {} of {} bytes delivered",
                    self.frames, self.received, self.cfg.bytes
                ));
            }
            let before = self.received;
            let next = [
                self.path.next_delivery().map(Instant::from_micros),
                self.a.poll_timeout(),
                self.b.poll_timeout(),
            ]
            .into_iter()
            .flatten()
            .min();
            let Some(next) = next else {
                return Err(format!(
                    "stalled: nothing scheduled with {} of {} bytes delivered",
                    self.received, self.cfg.bytes
                ));
            };
            if next > limit {
                return Err(format!(
                    "time limit: {} of {} bytes delivered after {:?}",
                    self.received, self.cfg.bytes, self.cfg.time_limit
                ));
            }
            self.now = self.now.max(next);
            let t = self.now.as_micros();
            while let Some(f) = self.path.a_to_b.poll_deliver(t) {
                self.deliver(&f, true);
            }
            while let Some(f) = self.path.b_to_a.poll_deliver(t) {
                self.deliver(&f, false);
            }
            self.a.on_timeout(self.now);
            self.b.on_timeout(self.now);
            if let Ok(st) = self.a.stats(self.conn_a) {
                self.sender_last = Some(st);
            }
            if self.received != before {
                last_read = self.now;
            }
        }
        // The app() that saw EOF may also have read the final bytes.
        last_read = last_read.max(self.now);
        if self.received != self.cfg.bytes {
            return Err(format!("EOF after {} of {} bytes", self.received, self.cfg.bytes));
        }
        let sender = match (self.a.stats(self.conn_a), self.sender_last) {
            (Ok(s), _) | (Err(_), Some(s)) => s,
            (Err(e), None) => return Err(e.to_string()),
        };
        let first = self.first_write.unwrap_or(self.start);
        Ok(SimOutcome {
            elapsed: last_read - self.start,
            data_elapsed: last_read - first,
            delivered: self.received,
            corrupt_dropped: self.corrupt_dropped,
            sender,
            scripted_drops: self.scripted_drops,
            forward: *self.path.a_to_b.stats(),
            reverse: *self.path.b_to_a.stats(),
        })
    }

    /// Writes the captured frames as a pcap (LINKTYPE_RAW: each record is an IPv4 packet).
    fn write_pcap(&self, subdir: &str) -> std::io::Result<PathBuf> {
        let dir = target_dir().join(subdir);
        std::fs::create_dir_all(&dir)?;
        let file = dir.join(format!("seed-{}.pcap", self.cfg.seed));
        let mut out = Vec::new();
        // Global header: magic, version 2.4, zone 0, sigfigs 0, snaplen, LINKTYPE_RAW (101).
        out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&4u16.to_le_bytes());
        out.extend_from_slice(&0i32.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&65535u32.to_le_bytes());
        out.extend_from_slice(&101u32.to_le_bytes());
        for c in &self.capture {
            let us = c.at.as_micros();
            out.extend_from_slice(&((us / 1_000_000) as u32).to_le_bytes());
            out.extend_from_slice(&((us % 1_000_000) as u32).to_le_bytes());
            out.extend_from_slice(&(c.bytes.len() as u32).to_le_bytes());
            out.extend_from_slice(&(c.bytes.len() as u32).to_le_bytes());
            out.extend_from_slice(&c.bytes);
        }
        std::fs::write(&file, out)?;
        Ok(file)
    }
}

/// The workspace's target directory (honours `CARGO_TARGET_DIR`).
pub(crate) fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"),
    }
}
