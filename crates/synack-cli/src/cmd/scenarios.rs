//! `synack demo --scenario NAME`: the situations the study notes teach, each played by two
//! synack hosts on the in-memory link ([`crate::sim`]) on a virtual clock, drawn as a ladder
//! with each end's states, and preceded by a line or two on what to look for.
//!
//! Every scenario is a short script: engine settings for both hosts, frames the link drops on
//! purpose, and what the applications do and when. The same scenario prints the same ladder
//! on every machine. `--pcap` writes every frame that entered the link (lost ones included,
//! as a capture at the sender would hold them).

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, bail};
use synack_stack::phy::{CaptureFormat, CaptureWriter, Direction};
use synack_stack::{IpCidr, Medium};
use synack_tcp::{ConnConfig, ConnId, Endpoint, EndpointConfig, Instant, KeepAlive, ListenerId};

use super::ladder::{Item, Side, Timeline};
use crate::sim::{Impairments, Setup, World};

/// A scenario's name and what it shows.
pub(crate) struct Info {
    /// The `--scenario` value.
    pub(crate) name: &'static str,
    /// What to look for, one or two lines.
    pub(crate) look_for: &'static str,
}

/// Every scenario, in the order `--list` prints them (the close modes of the Echo demo come
/// from `demo.rs` and are listed there too).
pub(crate) const SCENARIOS: &[Info] = &[
    Info {
        name: "refused",
        look_for: "Nobody listens on the port: the SYN is answered by RST+ACK (it acknowledges the SYN),\n\
                   and connect() fails at once with \"connection refused\".",
    },
    Info {
        name: "syn-flood",
        look_for: "Spoofed SYNs from addresses that never answer fill the server's SYN queue; the server\n\
                   then answers with SYN cookies (no state kept), and the real client still gets in.",
    },
    Info {
        name: "simultaneous-open",
        look_for: "Both ends connect to each other at once: the SYNs cross, each end goes SYN-SENT ->\n\
                   SYN-RECEIVED on the other's SYN, and a SYN,ACK from each completes the handshake.",
    },
    Info {
        name: "time-wait",
        look_for: "The end that closes first waits in TIME-WAIT for 2*MSL (here MSL is 1 s) before the\n\
                   4-tuple is free; then a SYN with a higher timestamp reuses it early (RFC 6191).",
    },
    Info {
        name: "fast-retransmit",
        look_for: "One data segment is lost; the segments after it draw duplicate ACKs, and the third\n\
                   duplicate ACK makes the sender retransmit at once, without waiting for the timer.",
    },
    Info {
        name: "rto",
        look_for: "The only segment in flight is lost: no duplicate ACKs can come, so the sender waits\n\
                   for its retransmission timer (RTO) to run out and sends it again.",
    },
    Info {
        name: "zero-window",
        look_for: "The receiving application does not read: the window shrinks to 0, the sender stops\n\
                   and sends zero-window probes (persist timer, backing off) until the window opens.",
    },
    Info {
        name: "slow-start",
        look_for: "A bulk send over a 20 Mbit/s link: the congestion window starts at 10 segments and\n\
                   doubles every round trip; the graph counts the bytes sent in each round trip.",
    },
    Info {
        name: "nagle",
        look_for: "Ten 10-byte writes, 1 ms apart: with Nagle (default) the small writes wait for the ACK\n\
                   and go out coalesced; with TCP_NODELAY each write is its own segment.",
    },
    Info {
        name: "keepalive",
        look_for: "An idle connection with keep-alive on (idle 10 s, interval 2 s): the client sends a\n\
                   probe one byte below its next sequence number and the server answers with an ACK.",
    },
];

/// One scenario run: the hosts, the clock and the ladder.
struct Run {
    world: World,
    tl: Timeline,
    now: Instant,
    client_addr: IpAddr,
    server_addr: IpAddr,
    /// Every frame that entered the link, for `--pcap`.
    frames: Vec<(Instant, bool, Vec<u8>)>,
}

/// Most driver rounds before a scenario is declared stuck.
const MAX_ROUNDS: usize = 200_000;

fn cidr(a: IpAddr) -> IpCidr {
    match IpCidr::new(a, 24) {
        Ok(c) => c,
        Err(_) => unreachable!("a /24 prefix is valid"),
    }
}

impl Run {
    fn new(setup: Setup, delay_ms: u64) -> anyhow::Result<Run> {
        let (c, s) = (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]));
        let imp = Impairments { delay_us: delay_ms * 1000, loss: 0.0, seed: 1 };
        let world = World::with_setup(cidr(c), cidr(s), imp, None, setup).context("link")?;
        Ok(Run {
            world,
            tl: Timeline::new(),
            now: Instant::ZERO,
            client_addr: c,
            server_addr: s,
            frames: Vec::new(),
        })
    }

    fn say(&mut self, side: Side, text: impl Into<String>) {
        self.tl.push(self.now, Item::App { side, text: text.into() });
    }

    /// Polls both hosts once at the current time and records what happened.
    fn poll(&mut self) {
        self.world.client.poll(self.now);
        self.record();
        self.world.server.poll(self.now);
        self.record();
    }

    fn record(&mut self) {
        for (side, events) in
            [(Side::Client, self.world.client.events()), (Side::Server, self.world.server.events())]
        {
            for e in events {
                match e {
                    synack_tcp::Event::StateChanged { new, .. } => {
                        self.tl.push(self.now, Item::State { side, new })
                    }
                    synack_tcp::Event::Error { error, .. } => {
                        self.tl.push(self.now, Item::App { side, text: format!("error: {error}") })
                    }
                    _ => {}
                }
            }
        }
        for w in self.world.take_wire() {
            let side = if w.from_client { Side::Client } else { Side::Server };
            self.tl.push_frame(w.at, side, &w.bytes, w.lost);
            self.frames.push((w.at, w.from_client, w.bytes));
        }
    }

    /// Runs the hosts (and `app`, each round; it returns true when it did something) until
    /// `until` or until nothing more is due.
    fn run_until(
        &mut self,
        until: Instant,
        mut app: impl FnMut(&mut Run) -> bool,
    ) -> anyhow::Result<()> {
        for _ in 0..MAX_ROUNDS {
            self.poll();
            if app(self) {
                continue;
            }
            match self.world.next_deadline() {
                Some(t) if t > self.now && t <= until => self.now = t,
                Some(t) if t <= self.now => {}
                _ => {
                    // Nothing due before `until`: the clock jumps there.
                    self.now = self.now.max(until);
                    self.poll();
                    return Ok(());
                }
            }
        }
        bail!("the scenario did not finish (virtual time {} ms)", self.now.as_millis())
    }

    /// Runs for `d` of virtual time.
    fn run_for(&mut self, d: Duration, app: impl FnMut(&mut Run) -> bool) -> anyhow::Result<()> {
        let until = self.now + d;
        self.run_until(until, app)
    }

    /// The server listens on `addr` (backlog 8).
    fn listen(&mut self, addr: SocketAddr) -> anyhow::Result<ListenerId> {
        self.world.server.ep.listen(addr, 8).map_err(|e| anyhow::anyhow!("listen: {e:?}"))
    }

    /// The client connects from `from` to `to`.
    fn connect(
        &mut self,
        from: SocketAddr,
        to: SocketAddr,
        cfg: ConnConfig,
    ) -> anyhow::Result<ConnId> {
        self.world
            .client
            .ep
            .connect(self.now, from, to, cfg)
            .map_err(|e| anyhow::anyhow!("connect: {e:?}"))
    }

    fn client(&self, port: u16) -> SocketAddr {
        SocketAddr::new(self.client_addr, port)
    }

    fn server(&self, port: u16) -> SocketAddr {
        SocketAddr::new(self.server_addr, port)
    }

    fn render(&self, client: SocketAddr, server: SocketAddr) -> String {
        self.tl.render(client, server)
    }
}

/// Reads everything that is there; returns the byte count (0 at end of stream or nothing).
fn drain(ep: &mut Endpoint, conn: ConnId) -> usize {
    let mut buf = [0u8; 4096];
    let mut n = 0;
    loop {
        match ep.recv(conn, &mut buf) {
            Ok(0) | Err(_) => return n,
            Ok(k) => n += k,
        }
    }
}

/// Sends from `out` what fits; true if anything went.
fn push(ep: &mut Endpoint, conn: ConnId, out: &mut Vec<u8>) -> bool {
    if out.is_empty() {
        return false;
    }
    match ep.send(conn, out) {
        Ok(n) if n > 0 => {
            out.drain(..n);
            true
        }
        _ => false,
    }
}

/// What a scenario printed and wrote.
pub(crate) struct Played {
    /// The text to print.
    pub(crate) text: String,
    /// Every frame that entered the link: time, sent by the client, IP packet.
    pub(crate) frames: Vec<(Instant, bool, Vec<u8>)>,
    /// True when the scenario showed what it promises.
    pub(crate) ok: bool,
}

/// Plays the scenario called `name`.
pub(crate) fn play(name: &str) -> anyhow::Result<Played> {
    let info = SCENARIOS
        .iter()
        .find(|i| i.name == name)
        .with_context(|| format!("no scenario {name:?} (see `synack demo --list`)"))?;
    let mut head = format!("synack demo --scenario {}\n", info.name);
    for l in info.look_for.lines() {
        let _ = writeln!(head, "  {}", l.trim());
    }
    head.push('\n');
    let (body, frames, ok) = match name {
        "refused" => refused()?,
        "syn-flood" => syn_flood()?,
        "simultaneous-open" => simultaneous_open()?,
        "time-wait" => time_wait()?,
        "fast-retransmit" => bulk("fast-retransmit", 40_000, vec![8], 10, 20_000_000)?,
        "rto" => rto()?,
        "zero-window" => zero_window()?,
        "slow-start" => bulk("slow-start", 400_000, vec![], 20, 20_000_000)?,
        "nagle" => nagle()?,
        "keepalive" => keepalive()?,
        _ => unreachable!("every listed scenario is played"),
    };
    Ok(Played { text: head + &body, frames, ok })
}

type Outcome = (String, Vec<(Instant, bool, Vec<u8>)>, bool);

fn finish(run: Run, client: SocketAddr, server: SocketAddr, extra: &str, ok: bool) -> Outcome {
    let mut text = run.render(client, server);
    text.push_str(extra);
    let segs = run.tl.items().iter().filter(|(_, i)| matches!(i, Item::Segment { .. })).count();
    let _ = writeln!(text, "\n{segs} segments in {} ms of virtual time", run.now.as_millis());
    (text, run.frames, ok)
}

fn refused() -> anyhow::Result<Outcome> {
    let mut run = Run::new(Setup::default(), 10)?;
    let (c, s) = (run.client(40_000), run.server(7));
    run.say(Side::Client, format!("connect({s})"));
    let conn = run.connect(c, s, ConnConfig::default())?;
    run.run_for(Duration::from_secs(1), |_| false)?;
    let refused = run.world.client.ep.state(conn).is_err()
        || run.world.client.ep.recv(conn, &mut [0u8; 1]).is_err();
    Ok(finish(run, c, s, "", refused))
}

/// An IPv4 SYN from `src` (checksums filled in), as a spoofing attacker would send it.
fn spoofed_syn(src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16, seq: u32) -> Vec<u8> {
    let mut tcp = vec![0u8; 24];
    tcp[0..2].copy_from_slice(&sport.to_be_bytes());
    tcp[2..4].copy_from_slice(&dport.to_be_bytes());
    tcp[4..8].copy_from_slice(&seq.to_be_bytes());
    tcp[12] = 6 << 4;
    tcp[13] = 0x02;
    tcp[14..16].copy_from_slice(&64_240u16.to_be_bytes());
    tcp[20..24].copy_from_slice(&[2, 4, 0x05, 0xb4]);
    let mut pseudo = Vec::with_capacity(12 + tcp.len());
    pseudo.extend_from_slice(&src.octets());
    pseudo.extend_from_slice(&dst.octets());
    pseudo.extend_from_slice(&[0, 6]);
    pseudo.extend_from_slice(&(tcp.len() as u16).to_be_bytes());
    pseudo.extend_from_slice(&tcp);
    let sum = checksum(&pseudo);
    tcp[16..18].copy_from_slice(&sum.to_be_bytes());
    let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0];
    ip[2..4].copy_from_slice(&((20 + tcp.len()) as u16).to_be_bytes());
    ip.extend_from_slice(&src.octets());
    ip.extend_from_slice(&dst.octets());
    let sum = checksum(&ip);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    ip.extend_from_slice(&tcp);
    ip
}

/// The Internet checksum (RFC 1071).
fn checksum(b: &[u8]) -> u16 {
    let mut s: u32 = b
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)])))
        .sum();
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// Spoofed SYNs the flood sends.
const FLOOD: usize = 12;

fn syn_flood() -> anyhow::Result<Outcome> {
    let server_cfg = EndpointConfig { syn_queue_len: 8, syn_cookies: true, ..Default::default() };
    let mut run = Run::new(Setup { server: server_cfg, ..Setup::default() }, 10)?;
    let (c, s) = (run.client(40_000), run.server(80));
    let listener = run.listen(s)?;
    run.say(Side::Server, format!("listen({s}), SYN queue of 8, SYN cookies on"));
    let IpAddr::V4(dst) = run.server_addr else { unreachable!("the scenario is IPv4") };
    for i in 0..FLOOD {
        let src = Ipv4Addr::new(198, 51, 100, 1 + i as u8);
        let syn = spoofed_syn(src, dst, 1024 + i as u16, 80, 0x1000_0000 * (i as u32 + 1));
        run.world.server.dev.inject(run.now, synack_stack::phy::Frame::from_bytes(&syn));
    }
    run.say(
        Side::Client,
        format!("attacker: {FLOOD} SYNs from 198.51.100.1-{FLOOD}, never answered"),
    );
    run.run_for(Duration::from_millis(50), |_| false)?;
    run.say(Side::Client, format!("connect({s})"));
    let conn = run.connect(c, s, ConnConfig::default())?;
    let mut out = b"GET / HTTP/1.0\r\n\r\n".to_vec();
    let mut got = 0;
    let mut accepted: Option<ConnId> = None;
    run.run_for(Duration::from_millis(300), |r| {
        let mut did = push(&mut r.world.client.ep, conn, &mut out);
        if accepted.is_none()
            && let Some(a) = r.world.server.ep.accept(listener)
        {
            accepted = Some(a);
            r.say(Side::Server, "accept() (from the cookie: no SYN queue entry)");
            did = true;
        }
        if let Some(a) = accepted {
            let n = drain(&mut r.world.server.ep, a);
            if n > 0 {
                got += n;
                r.say(Side::Server, format!("reads {n} bytes from the real client"));
                did = true;
            }
        }
        did
    })?;
    let extra = "\nThe server queued the first 8 spoofed SYNs (SYN-RECEIVED, answers that reach nobody)\n\
                 and answered the rest, and the real client, with cookies: its SYN,ACK carries the\n\
                 connection in its sequence number, and the ACK rebuilds it (accept() after the ACK).\n";
    let ok = accepted.is_some() && got > 0;
    Ok(finish(run, c, s, extra, ok))
}

fn simultaneous_open() -> anyhow::Result<Outcome> {
    let mut run = Run::new(Setup::default(), 10)?;
    let (c, s) = (run.client(5000), run.server(6000));
    run.say(Side::Client, format!("connect({s}) from port 5000"));
    run.say(Side::Server, format!("connect({c}) from port 6000"));
    let a = run.connect(c, s, ConnConfig::default())?;
    let b = run
        .world
        .server
        .ep
        .connect(run.now, s, c, ConnConfig::default())
        .map_err(|e| anyhow::anyhow!("connect: {e:?}"))?;
    run.run_for(Duration::from_millis(200), |_| false)?;
    let est = |ep: &Endpoint, id| ep.state(id).is_ok_and(|st| st == synack_tcp::State::Established);
    let ok = est(&run.world.client.ep, a) && est(&run.world.server.ep, b);
    Ok(finish(run, c, s, "", ok))
}

fn time_wait() -> anyhow::Result<Outcome> {
    let msl = Duration::from_secs(1);
    let cfg = |ts| EndpointConfig {
        msl,
        conn: ConnConfig { timestamps: ts, ..ConnConfig::default() },
        ..Default::default()
    };
    let mut run = Run::new(Setup { client: cfg(true), server: cfg(true), ..Setup::default() }, 10)?;
    let (c, s) = (run.client(40_000), run.server(80));
    let listener = run.listen(s)?;
    run.say(Side::Server, format!("listen({s})"));
    let mut ok = true;
    // First connection: the client closes first and waits out TIME-WAIT.
    // Second: the server closes first; the client at once connects again on the same 4-tuple.
    for (round, client_closes) in [(1, true), (2, false), (3, true)] {
        run.say(Side::Client, format!("connection {round}: connect({s}) from port 40000"));
        let conn = run
            .world
            .client
            .ep
            .connect(run.now, c, s, ConnConfig::default())
            .map_err(|e| anyhow::anyhow!("connect {round}: {e:?}"))?;
        let mut acc = None;
        let mut closed = false;
        run.run_for(Duration::from_millis(200), |r| {
            if acc.is_none() {
                acc = r.world.server.ep.accept(listener);
                if acc.is_some() {
                    r.say(Side::Server, "accept()");
                    return true;
                }
                return false;
            }
            if !closed {
                closed = true;
                if client_closes {
                    let _ = r.world.client.ep.close(conn);
                    r.say(Side::Client, "close()");
                } else if let Some(a) = acc {
                    let _ = r.world.server.ep.close(a);
                    r.say(Side::Server, "close()");
                }
                return true;
            }
            // The other end closes when it reads the end of the stream.
            let other_done = if client_closes {
                acc.is_some_and(|a| {
                    matches!(r.world.server.ep.recv(a, &mut [0u8; 64]), Ok(0))
                        && r.world.server.ep.close(a).is_ok()
                })
            } else {
                matches!(r.world.client.ep.recv(conn, &mut [0u8; 64]), Ok(0))
                    && r.world.client.ep.close(conn).is_ok()
            };
            if other_done {
                r.say(if client_closes { Side::Server } else { Side::Client }, "close()");
            }
            other_done
        })?;
        ok &= acc.is_some();
        match round {
            1 => {
                run.say(Side::Client, "TIME-WAIT holds the 4-tuple for 2*MSL = 2 s");
                run.run_for(2 * msl + Duration::from_millis(100), |_| false)?;
            }
            2 => run.say(
                Side::Server,
                "in TIME-WAIT; a new SYN with a higher timestamp may reuse the 4-tuple (RFC 6191)",
            ),
            _ => run.run_for(2 * msl + Duration::from_millis(100), |_| false)?,
        }
    }
    Ok(finish(run, c, s, "", ok))
}

/// A bulk send of `total` bytes from the client to a server that reads everything, with
/// client frames `drops` lost on purpose; `slow-start` adds the per-round-trip graph.
fn bulk(
    name: &str,
    total: usize,
    drops: Vec<usize>,
    delay_ms: u64,
    rate_bps: u64,
) -> anyhow::Result<Outcome> {
    let setup = Setup { drop_from_client: drops, rate_bps, ..Setup::default() };
    let mut run = Run::new(setup, delay_ms)?;
    let (c, s) = (run.client(40_000), run.server(9));
    let listener = run.listen(s)?;
    run.say(Side::Server, format!("listen({s}), reads everything"));
    let conn = run.connect(c, s, ConnConfig::default())?;
    run.say(Side::Client, format!("connect({s}), then writes {total} bytes"));
    let mut out = vec![b'x'; total];
    let mut acc = None;
    let mut got = 0usize;
    let mut closed = false;
    run.run_for(Duration::from_secs(30), |r| {
        let established =
            r.world.client.ep.state(conn).is_ok_and(|st| st == synack_tcp::State::Established);
        let mut did = established && push(&mut r.world.client.ep, conn, &mut out);
        if established && out.is_empty() && !closed {
            closed = true;
            let _ = r.world.client.ep.close(conn);
            did = true;
        }
        if acc.is_none() {
            acc = r.world.server.ep.accept(listener);
            did |= acc.is_some();
        }
        if let Some(a) = acc {
            let n = drain(&mut r.world.server.ep, a);
            got += n;
            did |= n > 0;
            if got >= total && r.world.server.ep.close(a).is_ok() && n > 0 {
                did = true;
            }
        }
        did
    })?;
    let mut extra = String::new();
    if name == "slow-start" {
        extra = slow_start_graph(&run.frames, delay_ms);
    }
    Ok(finish(run, c, s, &extra, got == total))
}

/// Bytes of data the client sent in each round trip, as a bar graph.
fn slow_start_graph(frames: &[(Instant, bool, Vec<u8>)], delay_ms: u64) -> String {
    let rtt_us = 2 * delay_ms * 1000;
    let mut rounds: Vec<usize> = Vec::new();
    let mut start = None;
    for (at, from_client, bytes) in frames {
        if !from_client {
            continue;
        }
        let d = synack_analyze::decode::decode(synack_analyze::capture::linktype::RAW, bytes);
        let Some(t) = d.tcp() else { continue };
        if t.payload_len == 0 {
            continue;
        }
        let s = *start.get_or_insert(at.as_micros());
        let i = ((at.as_micros() - s) / rtt_us) as usize;
        if rounds.len() <= i {
            rounds.resize(i + 1, 0);
        }
        rounds[i] += t.payload_len as usize;
    }
    let max = rounds.iter().copied().max().unwrap_or(1).max(1);
    let mut g = String::from("\nbytes sent per round trip:\n");
    for (i, b) in rounds.iter().enumerate() {
        let bar = (b * 50).div_ceil(max);
        let _ = writeln!(g, "  RTT {:>2} {:>7} |{}", i + 1, b, "#".repeat(bar));
    }
    g
}

fn rto() -> anyhow::Result<Outcome> {
    // Client frames: 1 SYN, 2 ACK, 3 the data segment (lost).
    let mut run = Run::new(Setup { drop_from_client: vec![3], ..Setup::default() }, 10)?;
    let (c, s) = (run.client(40_000), run.server(7));
    let listener = run.listen(s)?;
    let conn = run.connect(c, s, ConnConfig::default())?;
    run.say(Side::Client, format!("connect({s})"));
    let mut out = Vec::new();
    let mut sent = false;
    let mut acc = None;
    let mut got = 0;
    run.run_for(Duration::from_secs(5), |r| {
        let mut did = false;
        if !sent
            && r.world.client.ep.state(conn).is_ok_and(|st| st == synack_tcp::State::Established)
        {
            sent = true;
            out.extend_from_slice(b"hello\n");
            r.say(Side::Client, "writes \"hello\"");
            did = true;
        }
        did |= push(&mut r.world.client.ep, conn, &mut out);
        if acc.is_none() {
            acc = r.world.server.ep.accept(listener);
        }
        if let Some(a) = acc {
            let n = drain(&mut r.world.server.ep, a);
            if n > 0 {
                got += n;
                r.say(Side::Server, format!("reads {n} bytes"));
                did = true;
            }
        }
        did
    })?;
    Ok(finish(run, c, s, "", got == 6))
}

fn zero_window() -> anyhow::Result<Outcome> {
    let server = EndpointConfig {
        conn: ConnConfig {
            recv_buffer: 4096,
            recv_buffer_max: 4096,
            window_scaling: false,
            ..ConnConfig::default()
        },
        ..Default::default()
    };
    let mut run = Run::new(Setup { server, ..Setup::default() }, 10)?;
    let (c, s) = (run.client(40_000), run.server(9));
    let listener = run.listen(s)?;
    run.say(
        Side::Server,
        format!("listen({s}) with a 4096-byte receive buffer; reads nothing for 6 s"),
    );
    let conn = run.connect(c, s, ConnConfig::default())?;
    run.say(Side::Client, format!("connect({s}), writes 12000 bytes"));
    let total = 12_000;
    let mut out = vec![b'z'; total];
    let mut acc = None;
    run.run_for(Duration::from_secs(6), |r| {
        if acc.is_none() {
            acc = r.world.server.ep.accept(listener);
        }
        push(&mut r.world.client.ep, conn, &mut out)
    })?;
    run.say(Side::Server, "starts reading");
    let mut got = 0;
    run.run_for(Duration::from_secs(10), |r| {
        let mut did = push(&mut r.world.client.ep, conn, &mut out);
        if let Some(a) = acc {
            let n = drain(&mut r.world.server.ep, a);
            got += n;
            did |= n > 0;
        }
        did
    })?;
    Ok(finish(run, c, s, "", got == total))
}

fn nagle() -> anyhow::Result<Outcome> {
    let mut run = Run::new(Setup::default(), 10)?;
    let s = run.server(9);
    let listener = run.listen(s)?;
    run.say(Side::Server, format!("listen({s}), reads everything"));
    let mut ok = true;
    let mut text_counts = String::new();
    for (port, nodelay) in [(40_000u16, false), (40_001, true)] {
        let c = run.client(port);
        let cfg = ConnConfig { nodelay, ..ConnConfig::default() };
        let label = if nodelay { "with TCP_NODELAY" } else { "with Nagle" };
        run.say(Side::Client, format!("connect({s}) from port {port}, {label}"));
        let conn = run.connect(c, s, cfg)?;
        let mut acc = None;
        run.run_for(Duration::from_millis(100), |r| {
            if acc.is_none() {
                acc = r.world.server.ep.accept(listener);
                return acc.is_some();
            }
            false
        })?;
        let before = run.frames.len();
        let mut got = 0;
        for i in 0..10 {
            let _ = run.world.client.ep.send(conn, format!("write-{i:02}\n").as_bytes());
            run.run_for(Duration::from_millis(1), |r| {
                acc.is_some_and(|a| {
                    let n = drain(&mut r.world.server.ep, a);
                    got += n;
                    n > 0
                })
            })?;
        }
        run.run_for(Duration::from_millis(300), |r| {
            acc.is_some_and(|a| {
                let n = drain(&mut r.world.server.ep, a);
                got += n;
                n > 0
            })
        })?;
        let data_segs = run.frames[before..]
            .iter()
            .filter(|(_, fc, b)| {
                *fc && synack_analyze::decode::decode(synack_analyze::capture::linktype::RAW, b)
                    .tcp()
                    .is_some_and(|t| t.payload_len > 0)
            })
            .count();
        let _ = writeln!(text_counts, "{label}: 10 writes went out in {data_segs} data segments");
        ok &= got == 90;
        let _ = run.world.client.ep.close(conn);
        if let Some(a) = acc {
            let _ = run.world.server.ep.close(a);
        }
        run.run_for(Duration::from_millis(200), |_| false)?;
    }
    let (c, s) = (run.client(40_000), run.server(9));
    Ok(finish(run, c, s, &format!("\n{text_counts}"), ok))
}

fn keepalive() -> anyhow::Result<Outcome> {
    let mut run = Run::new(Setup::default(), 10)?;
    let (c, s) = (run.client(40_000), run.server(7));
    let listener = run.listen(s)?;
    let ka =
        KeepAlive { idle: Duration::from_secs(10), interval: Duration::from_secs(2), probes: 3 };
    let cfg = ConnConfig { keep_alive: Some(ka), ..ConnConfig::default() };
    run.say(Side::Client, format!("connect({s}) with keep-alive: idle 10 s, interval 2 s"));
    let conn = run.connect(c, s, cfg)?;
    let mut acc = None;
    run.run_for(Duration::from_secs(35), |r| {
        if acc.is_none() {
            acc = r.world.server.ep.accept(listener);
            return acc.is_some();
        }
        false
    })?;
    let alive =
        run.world.client.ep.state(conn).is_ok_and(|st| st == synack_tcp::State::Established);
    Ok(finish(run, c, s, "", alive && acc.is_some()))
}

/// Writes the frames that entered the link as a pcap file (raw IP).
pub(crate) fn write_pcap(
    path: &std::path::Path,
    frames: &[(Instant, bool, Vec<u8>)],
) -> anyhow::Result<()> {
    let f = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = CaptureWriter::new(
        std::io::BufWriter::new(f),
        CaptureFormat::Pcap,
        Medium::Ip,
        Duration::ZERO,
    )
    .context("starting the capture")?;
    for (at, from_client, bytes) in frames {
        let dir = if *from_client { Direction::Out } else { Direction::In };
        w.write_frame(*at, dir, bytes).context("writing the capture")?;
    }
    w.into_inner().context("finishing the capture")?;
    Ok(())
}
