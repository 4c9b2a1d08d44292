//! Fuzz target body `tcp_pair` (structure-aware) and the replay of its corpus
//! (`fuzz/corpus/tcp_pair/`).
//!
//! Two [`Endpoint`]s on a virtual clock talk through a seeded `synack_netsim::Path` whose
//! loss, reordering, duplication, corruption and delay come from the input, while the input
//! also drives both applications: writes of any size, reads of any size, half-closes, option
//! changes and time jumps, in any order. Every byte either side writes is a known function of
//! its offset, so every read is checked on the spot: the bytes read are exactly the next ones
//! written, never a byte twice, never out of order. At the end both sides half-close and the
//! path is run until both have read the other's end of stream: then each side must have read
//! exactly what the other wrote. A connection may legitimately fail (the path can lose the
//! handshake for longer than the SYN retries last); then only the prefix property holds.
//! `fuzz/fuzz_targets/tcp_pair.rs` includes this file with `#[path]`. Only public API is used.

use core::net::{IpAddr, Ipv4Addr, SocketAddr};
use synack_netsim::{LinkConfig, Path};
use synack_tcp::{
    ConnConfig, ConnId, Duration, Endpoint, EndpointConfig, Instant, RecvError, SendError, State,
};
use synack_wire::checksum::ChecksumMode;
use synack_wire::tcp::TcpRepr;

/// Most application steps decoded from one input.
const MAX_STEPS: usize = 256;
/// Most segments put on the path in one run: a runaway sender fails the run.
const MAX_FRAMES: u64 = 200_000;
/// Virtual time the final drain may always take; a slow path gets more (`drain_limit`).
const DRAIN_FLOOR: Duration = Duration::from_secs(4 * 3600);
/// The smallest MSS either side can have (the smallest MTU the input chooses, 576, less the
/// IPv4 and TCP headers): the least data a segment carries when the window is larger.
const MIN_MSS: u64 = 536;

const A_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// Whether to print every segment and the final state (`SYNACK_PAIR_TRACE`), read once: an
/// environment lookup per segment would cost more than the segment.
fn trace() -> bool {
    static TRACE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("SYNACK_PAIR_TRACE").is_some())
}

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
    fn bool_flag(&mut self) -> bool {
        self.u8() & 1 == 1
    }
    /// A probability in [0, max] from one byte.
    fn prob(&mut self, max: f64) -> f64 {
        f64::from(self.u8()) / 255.0 * max
    }
}

/// The byte at offset `i` of the stream written by side `side` (0: A, 1: B).
fn byte_at(side: usize, i: u64) -> u8 {
    let x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ ((side as u64 + 1) << 61);
    (x >> 31) as u8 ^ (i as u8)
}

/// One application: its connection and what it wrote and read.
struct App {
    conn: Option<ConnId>,
    written: u64,
    read: u64,
    eof: bool,
    shut: bool,
    failed: bool,
}

impl App {
    fn new(conn: Option<ConnId>) -> App {
        App { conn, written: 0, read: 0, eof: false, shut: false, failed: false }
    }
}

struct Pair {
    ep: [Endpoint; 2],
    app: [App; 2],
    path: Path,
    now: Instant,
    listener: synack_tcp::ListenerId,
    frames: u64,
    buf: Vec<u8>,
    rbuf: Vec<u8>,
    wbuf: Vec<u8>,
    /// What a read should have returned.
    expect: Vec<u8>,
}

/// `Pair`'s four buffers.
type Buffers = [Vec<u8>; 4];

std::thread_local! {
    /// The buffers of the last run on this thread, for the next: zeroing and faulting in
    /// 200 KiB afresh was a tenth of a short run.
    static SPARE: std::cell::Cell<Option<Buffers>> = const { std::cell::Cell::new(None) };
}

/// Buffers for a run: the transmit buffer (64 KiB), the read buffer (128 KiB), and two empty
/// ones for writes and expected reads.
fn take_buffers() -> Buffers {
    let mut b = SPARE.take().unwrap_or_default();
    b[0].resize(65536, 0);
    b[1].resize(128 * 1024, 0);
    b
}

impl Pair {
    fn ip(side: usize) -> IpAddr {
        IpAddr::V4(if side == 0 { A_IP } else { B_IP })
    }

    /// Puts every segment both endpoints have on the path.
    fn transmit(&mut self) {
        for side in 0..2 {
            while let Some(t) = self.ep[side].poll_transmit(self.now, &mut self.buf) {
                self.frames += 1;
                assert!(self.frames <= MAX_FRAMES, "runaway: {} segments", self.frames);
                if trace() {
                    println!(
                        "{:?} {side}: seq {} ack {} {:?} len {} win {} rtx {}",
                        self.now,
                        t.seq.0,
                        t.ack.0,
                        t.flags,
                        t.len - t.header_len,
                        t.window,
                        t.retransmission
                    );
                }
                let frame = self.buf[..t.len].to_vec();
                let pipe = if side == 0 { &mut self.path.a_to_b } else { &mut self.path.b_to_a };
                pipe.send(self.now.as_micros(), frame);
            }
        }
    }

    /// Delivers what the path has due now; corrupted segments fail the checksum and are dropped.
    fn deliver(&mut self) {
        let t = self.now.as_micros();
        for to in 0..2 {
            loop {
                let pipe = if to == 1 { &mut self.path.a_to_b } else { &mut self.path.b_to_a };
                let Some(f) = pipe.poll_deliver(t) else { break };
                let (src, dst) = (Self::ip(1 - to), Self::ip(to));
                if let Ok(seg) = TcpRepr::parse_bytes(&f, src, dst, ChecksumMode::Verify) {
                    self.ep[to].on_segment(self.now, src, dst, &seg);
                }
            }
        }
    }

    /// B takes its connection from the listener once the handshake is done.
    fn accept(&mut self) {
        if self.app[1].conn.is_none() {
            self.app[1].conn = self.ep[1].accept(self.listener);
        }
    }

    fn write(&mut self, side: usize, n: usize) {
        let (Some(id), false) = (self.app[side].conn, self.app[side].shut) else { return };
        let start = self.app[side].written;
        self.wbuf.clear();
        self.wbuf.extend((0..n as u64).map(|i| byte_at(side, start + i)));
        match self.ep[side].send(id, &self.wbuf) {
            Ok(k) => {
                assert!(k <= n, "send claims {k} of {n} bytes");
                self.app[side].written += k as u64;
            }
            Err(SendError::WouldBlock) => {}
            Err(_) => self.app[side].failed = true,
        }
    }

    /// Reads up to `n` bytes (0: everything there is) and checks each against the writer's.
    fn read(&mut self, side: usize, n: usize) {
        let Some(id) = self.app[side].conn else { return };
        if self.app[side].eof {
            return;
        }
        let want = if n == 0 { self.rbuf.len() } else { n.min(self.rbuf.len()) };
        loop {
            match self.ep[side].recv(id, &mut self.rbuf[..want]) {
                Ok(0) => {
                    self.app[side].eof = true;
                    return;
                }
                Ok(k) => {
                    let at = self.app[side].read;
                    let peer_wrote = self.app[1 - side].written;
                    assert!(
                        at + k as u64 <= peer_wrote,
                        "side {side} read {} bytes, the peer wrote {peer_wrote}",
                        at + k as u64
                    );
                    // One slice comparison (a memcmp), not one assertion per byte.
                    self.expect.clear();
                    self.expect.extend((0..k as u64).map(|j| byte_at(1 - side, at + j)));
                    if self.rbuf[..k] != self.expect[..] {
                        let j = (0..k).find(|&j| self.rbuf[j] != self.expect[j]).unwrap_or(0);
                        panic!("side {side}: byte {} wrong", at + j as u64);
                    }
                    self.app[side].read += k as u64;
                    if n != 0 {
                        return;
                    }
                }
                Err(RecvError::WouldBlock) => return,
                Err(_) => {
                    self.app[side].failed = true;
                    return;
                }
            }
        }
    }

    fn shutdown(&mut self, side: usize) {
        let Some(id) = self.app[side].conn else { return };
        // A CLOSE in SYN-SENT deletes the connection (RFC 9293 3.10.4): half-close once open.
        if !self.app[side].shut && self.ep[side].state(id).is_ok_and(|s| s != State::SynSent) {
            let _ = self.ep[side].shutdown_write(id);
            self.app[side].shut = true;
        }
    }

    /// Moves virtual time to the next thing due (at most `max` ahead) and runs it.
    fn step_time(&mut self, max: Duration) {
        let next = [
            self.path.next_delivery().map(Instant::from_micros),
            self.ep[0].poll_timeout(),
            self.ep[1].poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min();
        let limit = self.now + max;
        self.now = match next {
            Some(t) if t < limit => t.max(self.now),
            _ => limit,
        };
        self.deliver();
        self.ep[0].on_timeout(self.now);
        self.ep[1].on_timeout(self.now);
        self.accept();
        self.transmit();
    }

    /// Both sides' state, for a failure message.
    fn describe(&self) -> String {
        let mut out = format!("t={:?} frames={}", self.now, self.frames);
        for side in 0..2 {
            let a = &self.app[side];
            let st = a.conn.map(|id| (self.ep[side].state(id), self.ep[side].error(id)));
            if trace()
                && let Some(id) = a.conn
            {
                println!("side {side} stats: {:?}", self.ep[side].stats(id));
                println!("side {side} timeout: {:?}", self.ep[side].poll_timeout());
            }
            out += &format!(
                "; side {side}: {st:?} wrote {} read {} eof {} shut {}",
                a.written, a.read, a.eof, a.shut
            );
        }
        out
    }

    fn failed(&self, side: usize) -> bool {
        self.app[side].failed
            || self.app[side]
                .conn
                .is_some_and(|id| self.ep[side].error(id).map_or(true, |e| e.is_some()))
    }
}

/// How long the final drain may take: the time the path needs to deliver what is still unread,
/// at its slowest. In the worst case each segment of the larger direction (the peer's receive
/// window or an MSS of data, whichever is smaller, plus the FIN) is one exchange, and an
/// exchange needs the segment across one way and its acknowledgment (or window update) back:
/// it succeeds with probability `s`, the product of both directions' delivery chances (no
/// loss, no corruption). A failed exchange costs at most one retransmission timeout (its
/// ceiling, `max_rto`; a window probe comes sooner), so an exchange takes at most `max_rto / s`
/// on average, plus the path's slowest round trip. Summed over ~100 exchanges the spread is
/// small next to that bound (the expected cost of a failure is `(1 - s) / s` timeouts, the
/// bound allows `1 / s`). Never less than `DRAIN_FLOOR`.
fn drain_limit(p: &Pair, s: f64, max_rto: Duration, window: u64, round_trip: Duration) -> Duration {
    let seg = window.clamp(1, MIN_MSS);
    let segments = (0..2)
        .map(|side| (p.app[side].written.saturating_sub(p.app[1 - side].read)).div_ceil(seg) + 1)
        .max()
        .unwrap_or(1);
    let per = Duration::from_secs_f64(max_rto.as_secs_f64() / s) + round_trip;
    DRAIN_FLOOR.max(per * segments as u32)
}

/// Runs one input. Panics when a byte is lost, duplicated, reordered or invented.
pub fn tcp_pair(data: &[u8]) {
    let mut inp = Input { data, pos: 0 };
    let seed = u64::from(inp.u16()) << 16 | u64::from(inp.u8());
    let link = |inp: &mut Input<'_>| LinkConfig {
        delay: Duration::from_micros(100 + u64::from(inp.u16()) % 50_000),
        jitter: Duration::from_micros(u64::from(inp.u8()) * 100),
        loss: inp.prob(0.3),
        reorder: inp.prob(0.3),
        reorder_delay: Duration::from_micros(u64::from(inp.u8()) * 200),
        duplicate: inp.prob(0.2),
        corrupt: inp.prob(0.05),
        ..LinkConfig::ideal()
    };
    let (fwd, rev) = (link(&mut inp), link(&mut inp));
    // For the drain's time limit: the chance that a segment and its answer both arrive, and
    // the slowest round trip.
    let delivered = |l: &LinkConfig| (1.0 - l.loss) * (1.0 - l.corrupt);
    let exchange = delivered(&fwd) * delivered(&rev);
    let slowest = |l: &LinkConfig| l.delay + l.jitter + l.reorder_delay;
    let round_trip = slowest(&fwd) + slowest(&rev);
    let flags = inp.u8();
    let bufsize = |b: u8| 512usize << (b % 8); // 512 B .. 64 KiB
    let conn = ConnConfig {
        send_buffer: bufsize(inp.u8()),
        recv_buffer: bufsize(inp.u8()),
        nodelay: flags & 1 != 0,
        sack: flags & 2 == 0,
        timestamps: flags & 4 == 0,
        window_scaling: flags & 8 == 0,
        rack: flags & 16 == 0,
        // Both ends ask for and accept Accurate ECN (RFC 9768).
        ecn: flags & 32 != 0,
        accecn: synack_tcp::AccEcnConfig {
            request: flags & 32 != 0,
            accept: flags & 32 != 0,
            ..Default::default()
        },
        // Delivery is the property: no give-up timer on data.
        r2: None,
        ..ConnConfig::default()
    };
    let mtu = 576 + usize::from(inp.u16()) % (9000 - 576);
    let ec = EndpointConfig { mtu, conn, ..EndpointConfig::default() };
    let Ok(path) = Path::new(fwd, rev, seed) else { return };
    let mut a = Endpoint::new(ec, [0xA; 16], seed);
    let mut b = Endpoint::new(ec, [0xB; 16], seed ^ 1);
    let now = Instant::from_secs(1);
    let server = SocketAddr::new(IpAddr::V4(B_IP), 5001);
    let listener = b.listen(server, 4).expect("listen");
    let ca =
        a.connect(now, SocketAddr::new(IpAddr::V4(A_IP), 40000), server, conn).expect("connect");
    let [buf, rbuf, wbuf, expect] = take_buffers();
    let mut p = Pair {
        ep: [a, b],
        app: [App::new(Some(ca)), App::new(None)],
        path,
        now,
        listener,
        frames: 0,
        buf,
        rbuf,
        wbuf,
        expect,
    };
    p.transmit();
    for _ in 0..MAX_STEPS {
        if inp.done() {
            break;
        }
        let op = inp.u8();
        let side = usize::from(op >> 7);
        match op & 0x7 {
            0 | 1 => {
                let n = 1 + usize::from(inp.u16()) % 20_000;
                p.write(side, n);
            }
            2 | 3 => {
                let n = usize::from(inp.u16()) % 30_000;
                p.read(side, n);
            }
            4 => p.step_time(Duration::from_micros(u64::from(inp.u16()) * 10)),
            5 => p.step_time(Duration::from_millis(u64::from(inp.u16()))),
            6 => {
                if let Some(id) = p.app[side].conn {
                    let _ = p.ep[side].set_nodelay(id, inp.bool_flag());
                }
            }
            _ => p.shutdown(side),
        }
        p.accept();
        p.transmit();
    }
    // Drain: both sides half-close and read until both see the other's end of stream.
    let window = conn.recv_buffer as u64;
    let limit = drain_limit(&p, exchange, conn.rtt.max_rto, window, round_trip);
    if trace() {
        println!("{:?} drain starts, limit {limit:?}", p.now);
    }
    let end = p.now + limit;
    loop {
        for side in 0..2 {
            p.shutdown(side);
            p.read(side, 0);
        }
        p.transmit();
        if (p.app[0].eof || p.failed(0)) && (p.app[1].eof || p.failed(1)) {
            break;
        }
        if p.failed(0) || p.failed(1) || p.now >= end {
            break;
        }
        p.step_time(Duration::from_secs(60));
    }
    for side in 0..2 {
        let peer = 1 - side;
        if p.app[side].eof && p.app[peer].shut {
            // The end of stream came after every byte the peer wrote.
            assert_eq!(
                p.app[side].read, p.app[peer].written,
                "side {side} saw the end of stream after {} of {} bytes",
                p.app[side].read, p.app[peer].written
            );
        }
    }
    if !p.failed(0) && !p.failed(1) && p.app[1].conn.is_some() {
        assert!(
            p.app[0].eof && p.app[1].eof,
            "both sides alive, yet the drain did not finish: {}",
            p.describe()
        );
    }
    SPARE.set(Some([p.buf, p.rbuf, p.wbuf, p.expect]));
}

#[test]
fn tcp_pair_replay_env_file() {
    if let Some(f) = std::env::var_os("SYNACK_PAIR_INPUT") {
        tcp_pair(&std::fs::read(f).unwrap());
    }
}

#[test]
fn tcp_pair_corpus_replays() {
    synack_wire::fuzz::replay_corpus("tcp_pair", tcp_pair);
}

/// A few thousand generated inputs, so the property runs in every `cargo test` even before a
/// campaign has grown the corpus.
#[test]
fn tcp_pair_generated_inputs() {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    for _ in 0..300 {
        let len = 64 + (x % 400) as usize;
        let data: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        if std::panic::catch_unwind(|| tcp_pair(&data)).is_err() {
            let out = std::env::temp_dir().join("tcp_pair-failure");
            let _ = std::fs::write(&out, &data);
            panic!("input written to {}", out.display());
        }
    }
}
