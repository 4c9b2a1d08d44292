//! The event loop: virtual time, inbound injection, outbound capture and checks, blocking calls.
//!
//! Time model (README §1.3, run on a virtual clock): each event has a script time computed from
//! the previous event's *live* finish time (or, between two inbound packets, the previous
//! packet's script time). The stack's clock is advanced to that time, firing its timers on the
//! way and capturing what it sends with the instant it sent it. An outbound line then takes
//! the captured segments (merging them, §1.6) and checks them and their send time against the
//! expected time ± tolerance. A blocking call (`S...E`) that cannot finish becomes pending; it
//! is retried whenever the stack moves and must finish at `E` ± tolerance.

mod syscall;

use crate::ast::{
    Direction, Event, EventKind, EventTime, IcmpSpec, PacketSpec, Script, Syscall, TimeSpec,
};
use crate::code::{self, CodeError};
use crate::config::ScriptConfig;
use crate::matcher::{CheckConfig, Mapping, MatchMode, merge_front};
use crate::outcome::{Outcome, Verdict};
use crate::probe::Probe;
use crate::profile::Profile;
use crate::segment::Segment;
use crate::target::{IcmpMessage, SockId, Target};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;

/// How long past its latest allowed time an outbound line waits before giving up (µs).
const OUTBOUND_TIMEOUT_US: u64 = 2_000_000;
/// How long a `*` outbound line waits (µs): past Linux's largest RTO (`TCP_RTO_MAX`, 120 s)
/// and FreeBSD's (`TCPTV_REXMTMAX`, 64 s).
const ANY_TIME_WAIT_US: u64 = 130_000_000;
/// Most timer firings in one wait; a stack that asks to be woken forever at the same instant
/// must not hang the runner.
const MAX_STEPS: usize = 1_000_000;
/// Most segments kept waiting for an outbound line.
const MAX_QUEUE: usize = 100_000;

/// What a run is asked to do.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The stack profile.
    pub profile: Profile,
    /// Strict or relaxed matching.
    pub mode: MatchMode,
    /// Options that override the script header (`name`, `value`), as on packetdrill's command line.
    pub overrides: Vec<(String, Option<String>)>,
    /// `-D NAME=VALUE` symbol definitions, swapped in at lex time.
    pub defines: HashMap<String, String>,
    /// Fail when segments the stack sent are left unmatched at the end (stricter than
    /// packetdrill, which never looks).
    pub no_leftovers: bool,
    /// The script's directory: helper scripts its commands run (`./defaults.sh`) are read from
    /// there.
    pub script_dir: Option<PathBuf>,
    /// Flags the suite's own runner passes (`--mtu=1520`), applied before the script's header
    /// options, which win over them.
    pub runner_options: Vec<(String, Option<String>)>,
}

impl RunOptions {
    /// A profile and a mode, no overrides or definitions.
    pub fn new(profile: Profile, mode: MatchMode) -> RunOptions {
        RunOptions {
            profile,
            mode,
            overrides: Vec::new(),
            defines: HashMap::new(),
            no_leftovers: false,
            script_dir: None,
            runner_options: Vec::new(),
        }
    }
}

/// Something that can build the stack under test for a profile.
pub trait TargetFactory {
    /// The target type.
    type Target: Target;
    /// Builds a fresh stack for one script, or says why the profile cannot be honoured.
    fn build(&self, profile: &Profile, cfg: &ScriptConfig) -> Result<Self::Target, String>;
    /// True when the stack can take the change from `before` to `after` while it runs
    /// ([`Target::reconfigure`]); a script changing anything else after the start is refused.
    /// By default only what every target takes live: the Fast Open bits, and timestamps for
    /// sockets made from then on.
    fn applies_live(&self, before: &Profile, after: &Profile) -> bool {
        before.with_live_settings_of(after) == *after
    }
}

/// Parses and runs one script.
pub fn run_source<F: TargetFactory>(
    src: &str,
    path: &str,
    opts: &RunOptions,
    factory: &F,
) -> Outcome {
    let symbols = opts.profile.predefined();
    let verdict = match crate::parser::parse_for(src, path, &opts.defines, symbols) {
        Ok(script) => run_script(&script, src, opts, factory),
        Err(e) => Verdict::Fail {
            line: e.pos.line,
            expected: line_text(src, e.pos.line),
            actual: None,
            time_us: 0,
            reason: format!("parse error: {e}"),
        },
    };
    Outcome {
        path: path.to_string(),
        profile: opts.profile.name.to_string(),
        mode: opts.mode,
        verdict,
    }
}

fn line_text(src: &str, line: u32) -> String {
    src.lines().nth(line.saturating_sub(1) as usize).unwrap_or("").trim().to_string()
}

/// Runs a parsed script.
pub fn run_script<F: TargetFactory>(
    script: &Script,
    src: &str,
    opts: &RunOptions,
    factory: &F,
) -> Verdict {
    let mut cfg = ScriptConfig::default();
    for (n, v) in &opts.runner_options {
        if let Err(e) = cfg.set(n, v.as_deref()) {
            return Verdict::Unsupported { line: None, reason: e };
        }
    }
    if let Err(e) = cfg.apply(&script.options) {
        return Verdict::Unsupported { line: None, reason: e };
    }
    for (n, v) in &opts.overrides {
        if let Err(e) = cfg.set(n, v.as_deref()) {
            return Verdict::Unsupported { line: None, reason: e };
        }
    }
    // Commands before the first other event configure the stack; later ones may only be
    // no-ops (a restore script), since the stack is already running.
    let mut profile = opts.profile.clone();
    // `--mss` is the segment size packetdrill uses to cut the kernel's TSO/GSO packets for
    // comparison (run_packet.c); it leaves the link MTU, and so the MSS the stack offers, alone.
    profile.mtu = cfg.mtu;
    let mut started = false;
    // The settings as the script has set them so far (`profile` is what the stack starts
    // with), and the changes a running stack takes, by the line that makes them.
    let mut current = profile.clone();
    let mut live_settings = BTreeMap::new();
    for (i, ev) in script.events.iter().enumerate() {
        match &ev.kind {
            EventKind::Command(c) => {
                if probe_of(c).is_some() {
                    continue;
                }
                let before = current.clone();
                if let Err(e) = current.apply_command_in(c, opts.script_dir.as_deref()) {
                    return Verdict::Unsupported { line: Some(ev.pos.line), reason: e.to_string() };
                }
                if !started {
                    profile = current.clone();
                    continue;
                }
                // A setting restored once the script's connections are done (only commands and
                // close() follow) changes nothing the script checks, so it is not applied.
                let done = script.events[i + 1..].iter().all(|e| match &e.kind {
                    EventKind::Command(_) => true,
                    EventKind::Syscall(s) => s.name == "close",
                    _ => false,
                });
                if current != before {
                    if done {
                        // The restore comes after everything it could affect: the run keeps
                        // the settings the script ran with.
                        current = before;
                    } else if factory.applies_live(&before, &current) {
                        live_settings.insert(ev.pos.line, current.clone());
                    } else {
                        return Verdict::Unsupported {
                            line: Some(ev.pos.line),
                            reason: "a setting changes after the stack started".into(),
                        };
                    }
                }
            }
            EventKind::Code(c) => {
                if let Err(e) = code::parse_block(c) {
                    return Verdict::Unsupported { line: Some(ev.pos.line), reason: e.to_string() };
                }
                started = true;
            }
            EventKind::Icmp(spec) => {
                if spec.dir == Direction::Outbound {
                    return Verdict::Unsupported {
                        line: Some(ev.pos.line),
                        reason: "outbound ICMP lines: the engine sends no ICMP".into(),
                    };
                }
                if let Err(reason) = crate::icmp::resolve(spec, cfg.local_ip.is_ipv6()) {
                    return Verdict::Unsupported { line: Some(ev.pos.line), reason };
                }
                started = true;
            }
            EventKind::Udp { .. } => {
                return Verdict::Unsupported {
                    line: Some(ev.pos.line),
                    reason: "UDP packet lines are not modelled by the runner".into(),
                };
            }
            EventKind::Syscall(s) => {
                if let Err(e) = syscall::supported(s) {
                    return Verdict::Unsupported { line: Some(ev.pos.line), reason: e };
                }
                started = true;
            }
            EventKind::Packet(_) => started = true,
        }
    }
    let target = match factory.build(&profile, &cfg) {
        Ok(t) => t,
        Err(e) => return Verdict::Unsupported { line: None, reason: e },
    };
    let check = CheckConfig {
        mode: opts.mode,
        ts_tick_usecs: cfg.ts_tick_usecs,
        live_ts_hz: profile.ts_hz,
        tolerance_usecs: cfg.tolerance_usecs,
        ts_ecr_scaled: cfg.ts_ecr_scaled,
    };
    let mut r = Runner {
        t: target,
        src,
        check,
        profile,
        now: 0,
        queue: VecDeque::new(),
        map: Mapping::default(),
        fds: BTreeMap::new(),
        epolls: BTreeMap::new(),
        live_settings,
        pending: None,
        remote_port: FIRST_REMOTE_PORT,
        passive_child_of: None,
        active: None,
        under_test: None,
        prev_script: 0,
        prev_live: 0,
        prev_inbound: false,
        deferred: None,
        code_failure: None,
        code_vars: code::Vars::new(),
        files: crate::files::Files::default(),
        nstat_history: BTreeMap::new(),
        no_leftovers: opts.no_leftovers,
        script_dir: opts.script_dir.clone(),
        cfg,
    };
    r.run(&script.events)
}

/// A script fd.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fd {
    pub(crate) sock: SockId,
    pub(crate) nonblocking: bool,
}

/// A blocking call still waiting.
#[derive(Clone, Debug)]
pub(crate) struct Pending {
    pub(crate) line: u32,
    pub(crate) call: Syscall,
    /// Live start time.
    pub(crate) started: u64,
    /// Expected return time.
    pub(crate) end: u64,
    pub(crate) tol: u64,
    /// Bytes a blocking write has queued so far.
    pub(crate) written: usize,
    /// A write that opened the connection (Fast Open) and waits for the handshake: tried
    /// again as that open, not as a plain write.
    pub(crate) opening: bool,
    /// A blocking write that found no room sleeps until the socket is writable again (the
    /// stack's wake-up rule, e.g. Linux's third of the buffer free), not until any byte fits.
    pub(crate) space_wait: bool,
}

pub(crate) struct Runner<'s, T: Target> {
    pub(crate) t: T,
    /// Where the script's helper files are (for setup commands applied during the run).
    script_dir: Option<std::path::PathBuf>,
    src: &'s str,
    pub(crate) cfg: ScriptConfig,
    check: CheckConfig,
    pub(crate) profile: Profile,
    /// Virtual time, µs since the start.
    pub(crate) now: u64,
    /// Captured outbound segments not yet matched.
    queue: VecDeque<Segment>,
    map: Mapping,
    pub(crate) fds: BTreeMap<i64, Fd>,
    /// epoll instances by fd number.
    pub(crate) epolls: BTreeMap<i64, syscall::epoll::Epoll>,
    /// Settings a command line changes while the stack runs, by line.
    live_settings: BTreeMap<u32, Profile>,
    pub(crate) pending: Option<Pending>,
    /// Remote port used for passive opens.
    pub(crate) remote_port: u16,
    /// The listener whose child the remote port belongs to: a SYN to another listener under
    /// test opens a new connection from a new port, as packetdrill gives each passive child
    /// its own ephemeral port.
    passive_child_of: Option<SockId>,
    /// Our address of an active open, once connect was called (kept after close, since the
    /// connection lives on).
    pub(crate) active: Option<SocketAddr>,
    /// The socket `%{ }%` snapshots read (the newest socket or accepted connection).
    pub(crate) under_test: Option<SockId>,
    prev_script: u64,
    prev_live: u64,
    prev_inbound: bool,
    /// Check for unmatched segments at the end.
    no_leftovers: bool,
    /// The first false `%{ assert }%`, reported only if the events all held (packetdrill
    /// evaluates code blocks after the script).
    code_failure: Option<Verdict>,
    /// What the last `nstat` saw of each counter: the next one counts from there.
    nstat_history: BTreeMap<&'static str, u64>,
    /// The files the script made and opened (`sendfile`).
    pub(crate) files: crate::files::Files,
    /// Variables the `%{ }%` blocks assigned (one interpreter runs them all in packetdrill).
    code_vars: code::Vars,
    /// A failure found out of order (a blocking call that returned wrongly or late), reported
    /// before the next event runs.
    deferred: Option<Verdict>,
}

/// The remote port of the first passive connection; each later one takes the next.
const FIRST_REMOTE_PORT: u16 = 48_123;

/// Why an event stopped the run.
pub(crate) enum Stop {
    Fail { actual: Option<String>, reason: String },
    Unsupported(String),
}

/// The probe a backtick command is ([`Probe`]), if it is one.
fn probe_of(command: &str) -> Option<Probe> {
    crate::shell::pipelines(command).ok().and_then(|p| Probe::parse(&p))
}

impl<T: Target> Runner<'_, T> {
    /// Answers a state query or carries out a drop, as the command would on the host.
    fn probe(&mut self, p: &Probe) -> Result<(), Stop> {
        match p {
            Probe::Drop { state } => {
                self.t.drop_state(self.now, state);
                self.drain()
            }
            Probe::Listing(l) => {
                let counters = self.t.mib();
                let unknown = l.unknown_counters(&counters);
                if !unknown.is_empty() {
                    return Err(Stop::Unsupported(format!(
                        "nstat counter {} is not kept by the stack",
                        unknown.join(", ")
                    )));
                }
                let socks = self.t.sock_states();
                l.run(&counters, &mut self.nstat_history, &socks).map(|_| ()).map_err(|out| {
                    Stop::Fail {
                        actual: Some(out.join("\n")),
                        reason: "the command's last grep found nothing".into(),
                    }
                })
            }
            Probe::Count { state, want, .. } => {
                let states = self.t.sock_states();
                match p.check(&states) {
                    Some((true, _)) | None => Ok(()),
                    Some((false, n)) => Err(Stop::Fail {
                        actual: Some(format!("{n} sockets in {state}")),
                        reason: format!(
                            "sockstat: {n} sockets in {state}, the script expects a count matching {want}"
                        ),
                    }),
                }
            }
        }
    }

    fn run(&mut self, events: &[Event]) -> Verdict {
        for ev in events {
            if let Some(v) = self.deferred.take() {
                return v;
            }
            let line = ev.pos.line;
            match self.event(ev) {
                Ok(()) => {}
                Err(Stop::Fail { actual, reason }) => {
                    let non_fatal = match &ev.kind {
                        EventKind::Packet(_) => self.cfg.non_fatal_packet,
                        EventKind::Syscall(_) => self.cfg.non_fatal_syscall,
                        _ => false,
                    };
                    if !non_fatal {
                        return self.fail(line, actual, reason);
                    }
                }
                Err(Stop::Unsupported(reason)) => {
                    return Verdict::Unsupported { line: Some(line), reason };
                }
            }
        }
        if let Some(p) = self.pending.clone() {
            // Give the call until its expected return time (plus tolerance) to finish.
            if let Err(stop) = self.advance_to(p.end.saturating_add(p.tol)) {
                return self.stop_verdict(p.line, stop);
            }
            if self.pending.is_some() {
                return self.fail(p.line, None, "blocking call never returned".into());
            }
        }
        if let Some(v) = self.deferred.take() {
            return v;
        }
        if let Some(v) = self.code_failure.take() {
            return v;
        }
        if self.no_leftovers
            && let Some(seg) = self.queue.front()
        {
            // Stricter than packetdrill (README §5): a segment sent but never matched.
            let last = events.last().map(|e| e.pos.line).unwrap_or(0);
            let mut v = seg.clone();
            v.seq = self.map.local_to_script(seg.seq);
            return self.fail(
                last,
                Some(format!("{v} (sent at {})", fmt_time(seg.at))),
                "the stack sent a segment no line expects".into(),
            );
        }
        Verdict::Pass
    }

    fn stop_verdict(&self, line: u32, stop: Stop) -> Verdict {
        match stop {
            Stop::Fail { actual, reason } => self.fail(line, actual, reason),
            Stop::Unsupported(reason) => Verdict::Unsupported { line: Some(line), reason },
        }
    }

    pub(crate) fn fail(&self, line: u32, actual: Option<String>, reason: String) -> Verdict {
        Verdict::Fail {
            line,
            expected: line_text(self.src, line),
            actual,
            time_us: self.now,
            reason,
        }
    }

    /// Script time of a time spec, from the anchor.
    fn resolve(&self, spec: TimeSpec, anchor: u64) -> u64 {
        match spec {
            TimeSpec::Absolute(t) => t.max(0) as u64,
            TimeSpec::Relative(d) => anchor.saturating_add(d.max(0) as u64),
        }
    }

    fn event(&mut self, ev: &Event) -> Result<(), Stop> {
        let inbound = match &ev.kind {
            EventKind::Packet(p) => p.dir == Direction::Inbound,
            EventKind::Icmp(i) => i.dir == Direction::Inbound,
            _ => false,
        };
        let anchor = if inbound && self.prev_inbound { self.prev_script } else { self.prev_live };
        let (lo, hi) = match ev.time {
            EventTime::Unspecified => (anchor, anchor),
            EventTime::Any => (anchor, u64::MAX),
            EventTime::At(t) => {
                let x = self.resolve(t, anchor);
                (x, x)
            }
            EventTime::Range(a, b) => (self.resolve(a, anchor), self.resolve(b, anchor)),
            EventTime::Blocking(s, _) => {
                let x = self.resolve(s, anchor);
                (x, x)
            }
        };
        if hi < lo {
            return Err(Stop::Fail {
                actual: None,
                reason: "time range ends before it starts".into(),
            });
        }
        let tol = self.cfg.tolerance(lo.saturating_sub(self.prev_script));
        let mut finish = lo;
        match &ev.kind {
            EventKind::Packet(p) if p.dir == Direction::Inbound => {
                self.advance_to(lo)?;
                self.inject(p)?;
            }
            EventKind::Packet(p) => {
                let at = self.outbound(p, lo, hi, tol, ev.time == EventTime::Any)?;
                finish = at;
            }
            EventKind::Syscall(call) => {
                self.advance_to(lo)?;
                let end = match ev.time {
                    // packetdrill offsets the end of a blocking call whose start is
                    // relative by the same anchor as the start (run.c,
                    // adjust_relative_event_times): `+.08...0.180` returns at anchor + 0.180.
                    EventTime::Blocking(TimeSpec::Relative(_), TimeSpec::Absolute(e)) => {
                        Some(self.resolve(TimeSpec::Relative(e), anchor))
                    }
                    EventTime::Blocking(_, e) => Some(self.resolve(e, anchor)),
                    _ => None,
                };
                finish = self.syscall(ev.pos.line, call, lo, end, tol)?;
            }
            EventKind::Command(c) => {
                // Settings were applied to the profile before the stack was built; probes
                // look at the stack now.
                if ev.time != EventTime::Unspecified {
                    self.advance_to(lo)?;
                }
                if let Some(p) = probe_of(c) {
                    self.probe(&p)?;
                } else {
                    // File commands make or remove the run's own files, a metrics flush empties
                    // the stack's cookie cache; the rest configures.
                    let pipelines = crate::shell::pipelines(c).unwrap_or_default();
                    let run = pipelines.iter().flat_map(|p| self.profile.commands_run(p));
                    for words in run.collect::<Vec<_>>() {
                        if let Some(op) = crate::files::FileOp::parse(words) {
                            self.files
                                .apply(&op)
                                .map_err(|reason| Stop::Fail { actual: None, reason })?;
                        } else if words.starts_with(&["ip".into(), "tcp_metrics".into()])
                            && words.get(2).is_some_and(|w| w == "flush")
                        {
                            self.t.flush_metrics();
                        }
                    }
                    // The pre-run pass refused every change the stack cannot take live, so
                    // what changes here is applied to sockets made from now on.
                    let before = self.profile.clone();
                    if self.profile.apply_command_in(c, self.script_dir.as_deref()).is_ok()
                        && self.profile != before
                    {
                        self.t.reconfigure(&self.profile);
                    }
                }
                if let Some(p) = self.live_settings.get(&ev.pos.line).cloned() {
                    self.t.reconfigure(&p);
                    self.profile = p;
                }
            }
            EventKind::Code(c) => {
                self.advance_to(lo)?;
                self.code(ev.pos.line, c)?;
            }
            EventKind::Icmp(spec) => {
                self.advance_to(lo)?;
                self.inject_icmp(spec)?;
            }
            EventKind::Udp { .. } => {
                return Err(Stop::Unsupported("UDP packet lines".into()));
            }
        }
        if ev.time != EventTime::Unspecified {
            self.prev_script = if ev.time == EventTime::Any { finish } else { lo };
            self.prev_live = finish;
            self.prev_inbound = inbound;
        }
        Ok(())
    }

    fn code(&mut self, line: u32, text: &str) -> Result<(), Stop> {
        let stmts = code::parse_block(text).map_err(|e| Stop::Unsupported(e.to_string()))?;
        let Some(s) = self.under_test else {
            return Err(Stop::Fail {
                actual: None,
                reason: "no socket to take TCP_INFO from".into(),
            });
        };
        let info = self.t.tcp_info(self.now, s).unwrap_or_default();
        match code::evaluate(&stmts, &info, &mut self.code_vars) {
            Ok(()) => Ok(()),
            Err(CodeError::Unsupported(r)) => Err(Stop::Unsupported(r)),
            Err(e @ CodeError::Failed { .. }) => {
                // packetdrill runs these at the end of the script: a later packet failure wins.
                if self.code_failure.is_none() {
                    self.code_failure = Some(self.fail(line, None, e.to_string()));
                }
                Ok(())
            }
        }
    }

    /// The 4-tuple inbound packets use: the active connection's, else the bind port with a
    /// fresh remote port.
    fn addresses(&self) -> (SocketAddr, SocketAddr) {
        let local_ip = self.cfg.local_ip;
        let remote_ip = self.cfg.remote_ip;
        if let Some(local) = self.active {
            let remote = SocketAddr::new(remote_ip, self.cfg.connect_port);
            (local, remote)
        } else {
            (
                SocketAddr::new(local_ip, self.cfg.bind_port),
                SocketAddr::new(remote_ip, self.remote_port),
            )
        }
    }

    fn inject(&mut self, p: &PacketSpec) -> Result<(), Stop> {
        // LISTEN is 10 and SYN-SENT 2 in `tcpi_state` numbering.
        let state = self
            .under_test
            .and_then(|s| self.t.tcp_info(self.now, s))
            .and_then(|i| i.get("tcpi_state").copied());
        // A SYN in SYN-SENT opens too, with or without ACK: a SYN-ACK, or the peer's SYN of a
        // simultaneous open, whose ISN later lines count from. packetdrill keeps a closed
        // socket's sequence numbers: a SYN after the socket under test was closed (its
        // connection in TIME-WAIT, say) counts from the old ISN; only a SYN before any socket
        // was under test opens without a listener.
        let fresh = self.under_test.is_none();
        let opens = matches!((p.flags.ack, state), (false, Some(10)) | (_, Some(2)))
            || (!p.flags.ack && state.is_none() && fresh);
        if p.flags.syn && !p.flags.ack && state == Some(10) && self.active.is_none() {
            if self.passive_child_of.is_some_and(|l| Some(l) != self.under_test) {
                self.remote_port = self.remote_port.saturating_add(1);
            }
            self.passive_child_of = self.under_test;
        }
        self.map.note_inbound(p, opens);
        let mut seg = self
            .map
            .inbound(p, &self.check)
            .map_err(|reason| Stop::Fail { actual: None, reason })?;
        let (local, remote) = self.addresses();
        seg.src = remote;
        seg.dst = local;
        if let Some((sp, dp)) = p.ports {
            seg.src.set_port(sp);
            seg.dst.set_port(dp);
        }
        seg.at = self.now;
        self.t.deliver(self.now, &seg);
        self.drain()
    }

    /// Injects an ICMP error line. Like packetdrill, the message quotes the IP header of a
    /// packet from us to the peer and the first 8 bytes of its TCP header (ports and sequence
    /// number): the line's `[seq:end(len)]` in our sequence space (0, the ISN, when absent),
    /// and, for TCP over UDP, the UDP header's ports instead of being plain TCP.
    fn inject_icmp(&mut self, spec: &IcmpSpec) -> Result<(), Stop> {
        let v6 = self.cfg.local_ip.is_ipv6();
        let (icmp_type, code) = crate::icmp::resolve(spec, v6).map_err(Stop::Unsupported)?;
        let (local, remote) = self.addresses();
        let script_seq = spec.echoed.map_or(0, |(seq, _)| seq);
        let msg = IcmpMessage {
            v6,
            icmp_type,
            code,
            mtu: spec.mtu.unwrap_or(0),
            local,
            remote,
            seq: self.map.local_to_live(script_seq),
            udp: spec.echoed_udp,
        };
        self.t.deliver_icmp(self.now, &msg);
        self.drain()
    }

    /// Waits for, merges and checks the segments of an outbound line; returns their send time.
    fn outbound(
        &mut self,
        p: &PacketSpec,
        lo: u64,
        hi: u64,
        tol: u64,
        any: bool,
    ) -> Result<u64, Stop> {
        // `*` is any time: wait for the stack's timers as long as the longest backed-off
        // retransmission timeout could take.
        let deadline =
            if any { self.now.saturating_add(ANY_TIME_WAIT_US) } else { hi.saturating_add(tol) };
        // Wait a while past the deadline so a late packet is reported as late, not missing.
        let limit = deadline.saturating_add(OUTBOUND_TIMEOUT_US);
        let mut steps = 0;
        self.drain()?;
        let (merged, used) = loop {
            self.drop_other_sockets();
            let q = self.queue.make_contiguous();
            if let Some((m, used, complete)) = merge_front(q, p.len, self.cfg.strict_segments)
                && (complete || self.now >= limit)
            {
                break (m, used);
            }
            steps += 1;
            if steps > MAX_STEPS {
                return Err(Stop::Fail {
                    actual: None,
                    reason: format!("the stack asked for more than {MAX_STEPS} timer wake-ups"),
                });
            }
            match self.t.poll_timeout() {
                Some(t) if t <= limit => self.step(t.max(self.now))?,
                None if any => {
                    return Err(Stop::Fail {
                        actual: None,
                        reason: "timed out waiting for a packet: the stack sent nothing and has \
                                 no timer set"
                            .into(),
                    });
                }
                _ if self.now < limit => self.step(limit)?,
                _ => {
                    return Err(Stop::Fail {
                        actual: None,
                        reason: format!(
                            "timed out waiting for a packet: the stack sent nothing by {}",
                            fmt_time(limit)
                        ),
                    });
                }
            }
        };
        let shown = self.script_view(p, &merged);
        let at = merged.at;
        let (_, remote) = self.addresses();
        if self.active.is_some() && merged.dst != remote {
            return Err(Stop::Fail {
                actual: Some(format!("{shown} to {}", merged.dst)),
                reason: format!("packet sent to {} instead of {remote}", merged.dst),
            });
        }
        if !any && (at.saturating_add(tol) < lo || at > hi.saturating_add(tol)) {
            let want =
                if lo == hi { fmt_time(lo) } else { format!("{}~{}", fmt_time(lo), fmt_time(hi)) };
            return Err(Stop::Fail {
                actual: Some(shown),
                reason: format!(
                    "timing: packet sent at {} but expected at {want} (tolerance {} us)",
                    fmt_time(at),
                    tol
                ),
            });
        }
        self.map
            .check_outbound(p, &merged, &self.check)
            .map_err(|reason| Stop::Fail { actual: Some(self.script_view(p, &merged)), reason })?;
        self.queue.drain(..used);
        Ok(at)
    }

    /// packetdrill sniffs only the socket under test: once a later active open took over,
    /// what an earlier connection still sends (its FIN after close, a retransmission) is
    /// skipped while an outbound line waits, never matched against it.
    fn drop_other_sockets(&mut self) {
        if let Some(local) = self.active {
            self.queue.retain(|s| s.src == local);
        } else if self.passive_child_of.is_some() {
            // Earlier passive children used the ports below the current one.
            let (local, remote) = self.addresses();
            self.queue.retain(|s| {
                s.src != local
                    || s.dst.ip() != remote.ip()
                    || !(FIRST_REMOTE_PORT..remote.port()).contains(&s.dst.port())
            });
        }
    }

    /// A live segment printed with our numbers mapped back to script space.
    fn script_view(&self, p: &PacketSpec, s: &Segment) -> String {
        let mut v = s.clone();
        // Before the ISN is known, a SYN is shown as if its seq were the one expected.
        v.seq = if p.flags.syn && !self.map.isn_known() {
            p.seq
        } else {
            self.map.local_to_script(s.seq)
        };
        if s.flags.ack() && !s.flags.syn() {
            v.ack = self.map.remote_to_script(s.ack);
        }
        format!("{} (sent at {})", v, fmt_time(s.at))
    }

    /// Moves the clock to `t`, firing timers on the way, capturing segments and finishing
    /// pending calls.
    pub(crate) fn advance_to(&mut self, t: u64) -> Result<(), Stop> {
        let mut steps = 0;
        while let Some(next) = self.t.poll_timeout() {
            if next > t {
                break;
            }
            steps += 1;
            if steps > MAX_STEPS {
                return Err(Stop::Fail {
                    actual: None,
                    reason: format!("the stack asked for more than {MAX_STEPS} timer wake-ups"),
                });
            }
            self.step(next.max(self.now))?;
            if next <= self.now && self.t.poll_timeout() == Some(next) && steps > 16 {
                // A timer that stays due after firing: skip ahead rather than spin.
                break;
            }
        }
        if t > self.now {
            self.now = t;
        }
        self.drain()
    }

    /// One clock step to `t` (≥ now): timers, then transmit.
    fn step(&mut self, t: u64) -> Result<(), Stop> {
        self.now = self.now.max(t);
        self.t.on_timeout(self.now);
        self.drain()
    }

    /// Collects everything the stack wants to send now, then lets a pending call finish.
    pub(crate) fn drain(&mut self) -> Result<(), Stop> {
        while let Some(mut seg) = self.t.poll_transmit(self.now) {
            seg.at = self.now;
            if self.queue.len() >= MAX_QUEUE {
                return Err(Stop::Fail {
                    actual: None,
                    reason: format!("more than {MAX_QUEUE} unexpected outbound segments"),
                });
            }
            self.queue.push_back(seg);
        }
        self.finish_pending()
    }

    /// Retries a pending blocking call; when it completes, checks its result and time.
    fn finish_pending(&mut self) -> Result<(), Stop> {
        let Some(mut p) = self.pending.take() else { return Ok(()) };
        match self.attempt(&mut p, true) {
            syscall::Step::Blocked => {
                self.pending = Some(p);
                Ok(())
            }
            syscall::Step::Done(result) => {
                let check = self.check_result(&p.call, result).and_then(|()| {
                    if self.now.saturating_add(p.tol) < p.end
                        || self.now > p.end.saturating_add(p.tol)
                    {
                        Err(Stop::Fail {
                            actual: Some(format!("returned at {}", fmt_time(self.now))),
                            reason: format!(
                                "blocking call returned at {} but expected at {} (tolerance {} us)",
                                fmt_time(self.now),
                                fmt_time(p.end),
                                p.tol
                            ),
                        })
                    } else {
                        Ok(())
                    }
                });
                if let Err(stop) = check
                    && self.deferred.is_none()
                {
                    self.deferred = Some(self.stop_verdict(p.line, stop));
                }
                // Drain again: finishing the call (e.g. a read) may have made the stack send.
                while let Some(mut seg) = self.t.poll_transmit(self.now) {
                    seg.at = self.now;
                    self.queue.push_back(seg);
                }
                Ok(())
            }
            syscall::Step::Stop(s) => Err(s),
        }
    }
}

/// `1.234567s`
pub(crate) fn fmt_time(us: u64) -> String {
    format!("{}.{:06}s", us / 1_000_000, us % 1_000_000)
}
