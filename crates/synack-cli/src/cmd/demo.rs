//! `synack demo`: the whole life of one TCP connection, drawn as a ladder diagram.
//!
//! Two hosts on the in-memory link ([`crate::sim`]), a client and the Echo server of the study
//! notes (greeting, `Echo: <line>`, `bye` ends it), on a virtual clock: the same seed prints
//! the same diagram on every machine, and no root is needed. `--close` picks how the
//! conversation ends, `--loss`/`--delay`/`--seed` make the link lossy and slow so that
//! retransmissions show, and `--pcap` keeps the capture for Wireshark.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::ValueEnum;
use synack_stack::phy::{CaptureFormat, CaptureWriter};
use synack_stack::{IpCidr, Medium};
use synack_tcp::{
    ConnConfig, ConnId, ConnectionError, Endpoint, Event, Instant, ListenerId, RecvError, SendError,
};

use super::ladder::{Item, Side, Timeline};
use crate::services::{Kind, Service};
use crate::sim::{Impairments, World};

/// How the conversation ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CloseMode {
    /// The client says `bye`; the server answers and closes first, then the client.
    Normal,
    /// Both applications close at the same moment: the FINs cross (CLOSING on both sides).
    Simultaneous,
    /// The client shuts its sending side after its last line; the server still answers it
    /// (data after the FIN), then closes.
    Half,
    /// The client aborts after the last answer: a RST instead of FINs.
    Abort,
}

/// Arguments of `synack demo`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Write the capture (taken at the client's interface) to FILE, in pcap format.
    #[arg(long, value_name = "FILE")]
    pcap: Option<PathBuf>,
    /// Probability that the link loses a segment, each way: 0.1 or 10%.
    #[arg(long, value_name = "P", default_value = "0", value_parser = parse_loss)]
    loss: f64,
    /// One-way delay of the link in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 10.0, value_parser = parse_delay)]
    delay: f64,
    /// Seed of the link's randomness and of both hosts' ISNs: the same seed, the same run.
    #[arg(long, value_name = "N", default_value_t = 1)]
    seed: u64,
    /// How the conversation ends.
    #[arg(long, value_enum, default_value_t = CloseMode::Normal)]
    close: CloseMode,
    /// Use IPv6 (fd00:5a::1 and fd00:5a::2) instead of IPv4 (10.0.0.1 and 10.0.0.2).
    #[arg(long)]
    ipv6: bool,
    /// A line the client sends (repeat for more); default: two lines from the notes.
    #[arg(long = "line", value_name = "TEXT")]
    lines: Vec<String>,
    /// Play one of the situations of the notes instead (see --list): refused, syn-flood,
    /// simultaneous-open, time-wait, fast-retransmit, rto, zero-window, slow-start, nagle,
    /// keepalive, or a close mode of the Echo conversation (close-normal, close-simultaneous,
    /// close-half, close-abort).
    #[arg(long, value_name = "NAME")]
    scenario: Option<String>,
    /// List the scenarios and what each shows.
    #[arg(long)]
    list: bool,
}

/// The Echo conversation's endings, playable as scenarios.
const CLOSE_SCENARIOS: &[(&str, CloseMode, &str)] = &[
    (
        "close-normal",
        CloseMode::Normal,
        "The Echo conversation ending normally: the server closes first (FIN-WAIT-1, FIN-WAIT-2,\n\
         TIME-WAIT on its side), the client answers with its own FIN from CLOSE-WAIT.",
    ),
    (
        "close-simultaneous",
        CloseMode::Simultaneous,
        "Both applications close at once: the FINs cross and both ends pass through CLOSING\n\
         to TIME-WAIT.",
    ),
    (
        "close-half",
        CloseMode::Half,
        "The client shuts its sending side (half-close): its FIN goes out, yet the server still\n\
         answers; data flows after the FIN until the server closes too.",
    ),
    (
        "close-abort",
        CloseMode::Abort,
        "The client aborts: a RST instead of FINs, and both ends go straight to CLOSED\n\
         (no TIME-WAIT).",
    ),
];

/// `synack demo --list`: every scenario with what to look for.
fn list() -> String {
    let mut out = String::from("scenarios (synack demo --scenario NAME [--pcap FILE]):\n");
    let rows = super::scenarios::SCENARIOS
        .iter()
        .map(|i| (i.name, i.look_for))
        .chain(CLOSE_SCENARIOS.iter().map(|(n, _, l)| (*n, *l)));
    for (name, look_for) in rows {
        out.push_str(&format!("\n  {name}\n"));
        for l in look_for.lines() {
            out.push_str(&format!("      {}\n", l.trim()));
        }
    }
    out
}

fn parse_loss(s: &str) -> Result<f64, String> {
    let (num, scale) = match s.strip_suffix('%') {
        Some(n) => (n, 100.0),
        None => (s, 1.0),
    };
    let v: f64 = num.trim().parse().map_err(|_| format!("not a number: {s:?}"))?;
    let p = v / scale;
    if !(0.0..=1.0).contains(&p) || p.is_nan() {
        return Err(format!("loss must be between 0 and 1 (or 0% and 100%), got {s}"));
    }
    if p >= 0.9 {
        return Err("loss of 90% or more would never finish; use less".into());
    }
    Ok(p)
}

fn parse_delay(s: &str) -> Result<f64, String> {
    let v: f64 = s.trim().parse().map_err(|_| format!("not a number: {s:?}"))?;
    if !(0.0..=10_000.0).contains(&v) || v.is_nan() {
        return Err(format!("delay must be between 0 and 10000 ms, got {s}"));
    }
    Ok(v)
}

/// The port of the Echo service (RFC 862).
const ECHO_PORT: u16 = 7;
/// Most virtual time a demo may take before it is declared stuck.
const MAX_VIRTUAL: Instant = Instant::from_secs(3600);
/// Most driver rounds before the demo is declared stuck.
const MAX_ROUNDS: usize = 200_000;

/// What the demo printed and wrote.
pub(crate) struct Outcome {
    /// The ladder and transcript.
    pub(crate) text: String,
    /// True when the client saw the conversation end the way the close mode intends.
    pub(crate) ok: bool,
}

/// The client application: waits for the greeting, sends each line after the previous
/// answer, then ends the way the close mode says.
struct ClientApp {
    conn: ConnId,
    lines: Vec<String>,
    next: usize,
    awaiting: usize,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    mode: CloseMode,
    eof: bool,
    done: bool,
    shut: bool,
    error: Option<String>,
    received: Vec<String>,
}

/// The server application: accepts and runs the Echo service.
struct ServerApp {
    listener: ListenerId,
    conn: Option<ConnId>,
    svc: Service,
    out: Vec<u8>,
    close_after_out: bool,
    closed: bool,
    /// The demo's director says: close now (the simultaneous ending).
    close_now: bool,
}

fn quote(s: &str) -> String {
    format!("{s:?}")
}

/// Sends as much of `out` as fits; true if anything went.
fn flush(ep: &mut Endpoint, conn: ConnId, out: &mut Vec<u8>) -> bool {
    if out.is_empty() {
        return false;
    }
    match ep.send(conn, out) {
        Ok(n) if n > 0 => {
            out.drain(..n);
            true
        }
        Ok(_) | Err(SendError::WouldBlock) => false,
        Err(_) => {
            out.clear();
            false
        }
    }
}

/// Reads what is there: `Ok(Some(bytes))`, `Ok(None)` at end of stream, `Err` on error or
/// when nothing can be read (`WouldBlock` gives an empty vector).
fn read_all(ep: &mut Endpoint, conn: ConnId) -> Result<Option<Vec<u8>>, RecvError> {
    let mut got = Vec::new();
    let mut buf = [0u8; 2048];
    loop {
        match ep.recv(conn, &mut buf) {
            Ok(0) => return if got.is_empty() { Ok(None) } else { Ok(Some(got)) },
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(RecvError::WouldBlock) => return Ok(Some(got)),
            Err(e) => return if got.is_empty() { Err(e) } else { Ok(Some(got)) },
        }
    }
}

impl ClientApp {
    /// One round of the client's logic; true if it did anything.
    fn step(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        tl: &mut Timeline,
        server: &mut ServerApp,
    ) -> bool {
        if self.done {
            return false;
        }
        let mut progress = flush(ep, self.conn, &mut self.out);
        if !self.eof {
            match read_all(ep, self.conn) {
                Ok(Some(bytes)) if !bytes.is_empty() => {
                    progress = true;
                    self.inbuf.extend_from_slice(&bytes);
                    while let Some(pos) = self.inbuf.iter().position(|&b| b == b'\n') {
                        let line: Vec<u8> = self.inbuf.drain(..=pos).collect();
                        let text = String::from_utf8_lossy(&line).trim_end().to_string();
                        tl.push(
                            now,
                            Item::App {
                                side: Side::Client,
                                text: format!("reads {}", quote(&text)),
                            },
                        );
                        self.received.push(text);
                        self.awaiting = self.awaiting.saturating_sub(1);
                    }
                }
                Ok(Some(_)) => {}
                Ok(None) => {
                    progress = true;
                    self.eof = true;
                    tl.push(
                        now,
                        Item::App { side: Side::Client, text: "reads end of stream".into() },
                    );
                }
                Err(RecvError::WouldBlock) => {}
                Err(e) => {
                    progress = true;
                    self.eof = true;
                    self.error.get_or_insert_with(|| format!("{e:?}"));
                }
            }
        }
        if self.awaiting == 0 && !self.shut {
            progress |= self.talk(ep, now, tl, server);
        }
        if self.eof && !self.done && self.shut {
            // Everything is said and the server has finished: release our end.
            let _ = ep.close(self.conn);
            if self.mode == CloseMode::Normal || self.mode == CloseMode::Half {
                tl.push(now, Item::App { side: Side::Client, text: "close()".into() });
            }
            self.done = true;
            progress = true;
        }
        progress
    }

    /// Sends the next line or ends the conversation.
    fn talk(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        tl: &mut Timeline,
        server: &mut ServerApp,
    ) -> bool {
        let say = |me: &mut Self, tl: &mut Timeline, text: &str| {
            tl.push(now, Item::App { side: Side::Client, text: format!("writes {}", quote(text)) });
            me.out.extend_from_slice(text.as_bytes());
            me.out.push(b'\n');
            me.awaiting += 1;
        };
        if self.next < self.lines.len() {
            let line = self.lines[self.next].clone();
            self.next += 1;
            say(self, tl, &line);
            if self.mode == CloseMode::Half && self.next == self.lines.len() {
                // Shut our side right behind the last line, without waiting for its answer.
                flush(ep, self.conn, &mut self.out);
                let _ = ep.shutdown_write(self.conn);
                tl.push(now, Item::App { side: Side::Client, text: "shutdown(Write)".into() });
                self.shut = true;
            }
            flush(ep, self.conn, &mut self.out);
            return true;
        }
        self.shut = true;
        match self.mode {
            CloseMode::Normal => {
                say(self, tl, "bye");
                flush(ep, self.conn, &mut self.out);
            }
            CloseMode::Simultaneous => {
                // Both applications close now; neither has seen the other's FIN.
                let _ = ep.close(self.conn);
                tl.push(now, Item::App { side: Side::Client, text: "close()".into() });
                server.close_now = true;
                self.done = true;
            }
            CloseMode::Abort => {
                let _ = ep.abort(self.conn);
                tl.push(now, Item::App { side: Side::Client, text: "abort()".into() });
                self.done = true;
            }
            CloseMode::Half => {}
        }
        true
    }
}

impl ServerApp {
    fn step(&mut self, ep: &mut Endpoint, now: Instant, tl: &mut Timeline) -> bool {
        let mut progress = false;
        if self.conn.is_none()
            && let Some(c) = ep.accept(self.listener)
        {
            {
                self.conn = Some(c);
                tl.push(now, Item::App { side: Side::Server, text: "accept()".into() });
                let r = self.svc.on_open();
                self.apply(r, now, tl);
                progress = true;
            }
        }
        let Some(conn) = self.conn else { return progress };
        if self.closed {
            return progress;
        }
        if self.close_now {
            let _ = ep.close(conn);
            tl.push(now, Item::App { side: Side::Server, text: "close()".into() });
            self.closed = true;
            return true;
        }
        progress |= flush(ep, conn, &mut self.out);
        match read_all(ep, conn) {
            Ok(Some(bytes)) if !bytes.is_empty() => {
                progress = true;
                let r = self.svc.on_data(&bytes);
                self.apply(r, now, tl);
            }
            Ok(Some(_)) | Err(RecvError::WouldBlock) => {}
            Ok(None) => {
                progress = true;
                tl.push(now, Item::App { side: Side::Server, text: "reads end of stream".into() });
                let r = self.svc.on_eof();
                self.apply(r, now, tl);
            }
            Err(e) => {
                // A connection error was shown with its event; anything else is shown here.
                if !matches!(e, RecvError::Connection(_)) {
                    let why = format!("{e:?}");
                    tl.push(
                        now,
                        Item::App { side: Side::Server, text: format!("read fails: {why}") },
                    );
                }
                let _ = ep.close(conn);
                self.closed = true;
                return true;
            }
        }
        progress |= flush(ep, conn, &mut self.out);
        if self.close_after_out && self.out.is_empty() {
            let _ = ep.close(conn);
            tl.push(now, Item::App { side: Side::Server, text: "close()".into() });
            self.closed = true;
            progress = true;
        }
        progress
    }

    fn apply(&mut self, r: crate::services::Reply, now: Instant, tl: &mut Timeline) {
        for l in &r.lines_in {
            tl.push(now, Item::App { side: Side::Server, text: format!("reads {}", quote(l)) });
        }
        for l in &r.lines_out {
            tl.push(now, Item::App { side: Side::Server, text: format!("writes {}", quote(l)) });
        }
        self.out.extend_from_slice(&r.data);
        self.close_after_out |= r.close;
    }
}

/// Records a host's events on the timeline.
fn record_events(events: Vec<Event>, side: Side, now: Instant, tl: &mut Timeline) {
    for e in events {
        match e {
            Event::StateChanged { new, .. } => tl.push(now, Item::State { side, new }),
            // The application's own abort needs no announcement.
            Event::Error { error: ConnectionError::Aborted, .. } => {}
            Event::Error { error, .. } => {
                tl.push(now, Item::App { side, text: format!("error: {error}") })
            }
            _ => {}
        }
    }
}

/// Puts the frames the link carried since the last call on the timeline.
fn record_wire(world: &World, tl: &mut Timeline) {
    for w in world.take_wire() {
        let side = if w.from_client { Side::Client } else { Side::Server };
        tl.push_frame(w.at, side, &w.bytes, w.lost);
    }
}

/// The addresses of the two hosts.
fn addresses(ipv6: bool) -> (IpCidr, IpCidr) {
    let (a, b, p): (IpAddr, IpAddr, u8) = if ipv6 {
        (
            "fd00:5a::1".parse().unwrap_or(IpAddr::from([0u16; 8])),
            "fd00:5a::2".parse().unwrap_or(IpAddr::from([0u16; 8])),
            64,
        )
    } else {
        (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]), 24)
    };
    match (IpCidr::new(a, p), IpCidr::new(b, p)) {
        (Ok(a), Ok(b)) => (a, b),
        _ => unreachable!("constant prefixes are valid"),
    }
}

/// Runs the demo and returns the text it prints.
pub(crate) fn simulate(
    args: &Args,
    pcap: Option<Box<dyn Write>>,
) -> anyhow::Result<(Outcome, Option<Box<dyn Write>>)> {
    let (ca, sa) = addresses(args.ipv6);
    let imp = Impairments {
        delay_us: (args.delay * 1000.0).round() as u64,
        loss: args.loss,
        seed: args.seed,
    };
    let writer = match pcap {
        Some(w) => Some(
            CaptureWriter::new(w, CaptureFormat::Pcap, Medium::Ip, std::time::Duration::ZERO)
                .context("starting the capture")?,
        ),
        None => None,
    };
    let mut world = World::new(ca, sa, imp, writer).context("link settings")?;
    let mut tl = Timeline::new();
    let server_addr = SocketAddr::new(sa.addr(), ECHO_PORT);
    let listener = world
        .server
        .ep
        .listen(server_addr, 8)
        .map_err(|e| anyhow::anyhow!("listen on {server_addr}: {e:?}"))?;
    let conn = world
        .client
        .ep
        .connect(Instant::ZERO, SocketAddr::new(ca.addr(), 0), server_addr, ConnConfig::default())
        .map_err(|e| anyhow::anyhow!("connect to {server_addr}: {e:?}"))?;
    let client_addr = world
        .client
        .ep
        .four_tuple(conn)
        .map(|t| t.local)
        .unwrap_or_else(|_| SocketAddr::new(ca.addr(), 0));
    let lines = if args.lines.is_empty() {
        vec!["a".to_string(), "hello echo server!".to_string()]
    } else {
        args.lines.clone()
    };
    for l in &lines {
        if l.contains('\n') {
            bail!("a --line cannot contain a newline");
        }
    }
    tl.push(
        Instant::ZERO,
        Item::App { side: Side::Server, text: format!("listen({server_addr})") },
    );
    tl.push(
        Instant::ZERO,
        Item::App { side: Side::Client, text: format!("connect({server_addr})") },
    );
    let mut client = ClientApp {
        conn,
        lines,
        next: 0,
        // The greeting comes first.
        awaiting: 1,
        inbuf: Vec::new(),
        out: Vec::new(),
        mode: args.close,
        eof: false,
        done: false,
        shut: false,
        error: None,
        received: Vec::new(),
    };
    let mut server = ServerApp {
        listener,
        conn: None,
        svc: Service::new(Kind::Echo),
        out: Vec::new(),
        close_after_out: false,
        closed: false,
        close_now: false,
    };

    let mut now = Instant::ZERO;
    let mut rounds = 0usize;
    loop {
        rounds += 1;
        if rounds > MAX_ROUNDS || now > MAX_VIRTUAL {
            bail!(
                "the demo did not finish (virtual time {} ms, {rounds} rounds): the engine stalled",
                now.as_millis()
            );
        }
        world.client.poll(now);
        record_events(world.client.events(), Side::Client, now, &mut tl);
        record_wire(&world, &mut tl);
        world.server.poll(now);
        record_events(world.server.events(), Side::Server, now, &mut tl);
        record_wire(&world, &mut tl);
        let mut progress = client.step(&mut world.client.ep, now, &mut tl, &mut server);
        progress |= server.step(&mut world.server.ep, now, &mut tl);
        if progress {
            continue;
        }
        // Events the application calls caused are drained by the next round's polls.
        let pending = world.client.ep.connection_count() + world.server.ep.connection_count();
        match world.next_deadline() {
            Some(t) if t > now => now = t,
            Some(_) => {}
            None if pending == 0 => break,
            None => break,
        }
    }
    record_events(world.client.events(), Side::Client, now, &mut tl);
    record_events(world.server.events(), Side::Server, now, &mut tl);

    let mut text = String::new();
    let family = if args.ipv6 { "IPv6" } else { "IPv4" };
    text.push_str(&format!(
        "synack demo: a client talks to the Echo server of the notes over an in-memory {family} link\n\
         one-way delay {} ms, loss {}%, seed {}, close: {}\n\n",
        args.delay,
        args.loss * 100.0,
        args.seed,
        args.close.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_default()
    ));
    text.push_str(&tl.render(client_addr, server_addr));
    let (segs, lost, retrans) = tl.items().iter().fold((0, 0, 0), |acc, (_, i)| match i {
        Item::Segment { lost, note, .. } => (
            acc.0 + 1,
            acc.1 + usize::from(*lost),
            acc.2 + usize::from(note.contains("retransmission")),
        ),
        _ => acc,
    });
    text.push_str(&format!(
        "\n{segs} segments, {lost} lost on the link, {retrans} retransmitted; finished at {} ms\n",
        now.as_millis()
    ));
    // The greeting, one answer per line, and the answer to `bye` in a normal ending.
    let expected = 1 + client.lines.len() + usize::from(args.close == CloseMode::Normal);
    let ended = match args.close {
        CloseMode::Abort => client.done,
        CloseMode::Simultaneous => client.done && world.client.ep.connection_count() == 0,
        CloseMode::Normal | CloseMode::Half => {
            client.eof && world.client.ep.connection_count() == 0
        }
    };
    if let Some(e) = &client.error {
        text.push_str(&format!("client error: {e}\n"));
    }
    if client.received.len() != expected {
        text.push_str(&format!(
            "PROBLEM: the client read {} of the {expected} lines the server sent\n",
            client.received.len()
        ));
    }
    let ok = ended && client.error.is_none() && client.received.len() == expected;
    let (tap, _) = (world.client.dev, ());
    let (_, file) = tap.into_parts();
    let w = match file {
        Some(f) => Some(f.into_inner().context("finishing the capture")?),
        None => None,
    };
    Ok((Outcome { text, ok }, w))
}

/// Runs `synack demo`.
pub(crate) fn run(mut args: Args) -> anyhow::Result<ExitCode> {
    if args.list {
        print!("{}", list());
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(name) = args.scenario.clone() {
        if let Some((_, mode, look_for)) = CLOSE_SCENARIOS.iter().find(|(n, ..)| *n == name) {
            println!("synack demo --scenario {name}");
            for l in look_for.lines() {
                println!("  {}", l.trim());
            }
            println!();
            args.close = *mode;
        } else {
            let played = super::scenarios::play(&name)?;
            print!("{}", played.text);
            if let Some(p) = &args.pcap {
                super::scenarios::write_pcap(p, &played.frames)?;
                println!(
                    "capture written to {} (open it with wireshark or `synack dump`)",
                    p.display()
                );
            }
            return Ok(if played.ok { ExitCode::SUCCESS } else { ExitCode::from(2) });
        }
    }
    let pcap: Option<Box<dyn Write>> = match &args.pcap {
        Some(p) => Some(Box::new(BufWriter::new(
            File::create(p).with_context(|| format!("creating {}", p.display()))?,
        ))),
        None => None,
    };
    let (out, w) = simulate(&args, pcap)?;
    if let Some(mut w) = w {
        w.flush().context("writing the capture")?;
    }
    print!("{}", out.text);
    if let Some(p) = &args.pcap {
        println!("capture written to {} (open it with wireshark or `synack dump`)", p.display());
    }
    Ok(if out.ok { ExitCode::SUCCESS } else { ExitCode::from(2) })
}
