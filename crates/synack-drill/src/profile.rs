//! Stack profiles: the defaults a suite's expected output assumes (README §4), and the table that
//! maps the suites' backtick commands (sysctl, `defaults.sh`, ...) onto those knobs.
//!
//! A script written against Linux expects IW10, a 200 ms minimum RTO, 40 ms delayed ACKs and
//! `mss,sackOK,TS,nop,wscale` on the SYN; one written against FreeBSD expects `win 65535` and
//! `mss,nop,wscale,sackOK,TS`. The profile says which world a run assumes; the runner turns it
//! into engine settings and reports any knob the engine cannot honour.

use std::fmt;
use std::time::Duration;

/// Congestion controller a profile asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cc {
    /// NewReno (RFC 5681 / 6582).
    Reno,
    /// CUBIC (RFC 9438).
    Cubic,
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
    /// Congestion control.
    pub cc: Cc,
    /// Slow-start growth per ACK in segments (RFC 3465's L); `None`: every segment the ACK
    /// covers (Linux's `tcp_slow_start`).
    pub slow_start_ack_limit: Option<u32>,
    /// Floor of the retransmission timeout.
    pub rto_min: Duration,
    /// RTO before any RTT sample.
    pub initial_rto: Duration,
    /// Delayed-ACK timeout.
    pub delayed_ack: Duration,
    /// Segments acknowledged at once at the start of a connection (Linux quick-ACK mode).
    pub quick_ack_segments: u32,
    /// Tail loss probe (RFC 8985 §7).
    pub tlp: bool,
    /// RACK time-based loss detection (RFC 8985).
    pub rack: bool,
    /// Reset cwnd after an idle period (RFC 5681 §4.1).
    pub slow_start_after_idle: bool,
    /// RFC 5961 challenge ACKs for in-window SYN and RST.
    pub rfc5961: bool,
    /// `SO_SNDBUF`/`SO_RCVBUF` report twice the value set (Linux).
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
    /// Timestamp clock rate in Hz.
    pub ts_hz: u32,
}

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
            cc: Cc::Cubic,
            slow_start_ack_limit: None,
            rto_min: Duration::from_millis(200),
            initial_rto: Duration::from_secs(1),
            delayed_ack: Duration::from_millis(40),
            quick_ack_segments: 16,
            tlp: true,
            rack: true,
            slow_start_after_idle: false,
            rfc5961: true,
            sockbuf_doubling: true,
            syn_layout: SynLayout::Linux,
            rcvbuf_mss_rounding: false,
            linux_resets: true,
            linux_read_window_update: true,
            ts_hz: 1000,
        }
    }

    /// `linux` without quick-ACK: every ACK of new data waits for the delayed-ACK timer, as
    /// RFC 9293 3.8.6.3 allows and as synack's engine does by default. Our own scripts
    /// (crates/synack-drill/scripts) are written against this profile, since they check the
    /// delayed ACK of a connection's first data; the public Linux suite runs with `linux`.
    pub fn linux_delack() -> Profile {
        Profile { name: "linux-delack", quick_ack_segments: 0, ..Profile::linux() }
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
            cc: Cc::Reno,
            // net.inet.tcp.abc_l_var defaults to 2, RFC 3465's L.
            slow_start_ack_limit: Some(2),
            rto_min: Duration::from_millis(30),
            initial_rto: Duration::from_secs(1),
            delayed_ack: Duration::from_millis(40),
            quick_ack_segments: 0,
            tlp: false,
            rack: false,
            slow_start_after_idle: true,
            rfc5961: true,
            sockbuf_doubling: false,
            syn_layout: SynLayout::FreeBsd,
            rcvbuf_mss_rounding: true,
            linux_resets: false,
            linux_read_window_update: false,
            ts_hz: 1000,
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
            cc: Cc::Reno,
            slow_start_ack_limit: Some(2),
            rto_min: Duration::from_secs(1),
            initial_rto: Duration::from_secs(1),
            delayed_ack: Duration::from_millis(200),
            quick_ack_segments: 0,
            tlp: false,
            rack: false,
            slow_start_after_idle: true,
            rfc5961: true,
            sockbuf_doubling: false,
            syn_layout: SynLayout::Linux,
            rcvbuf_mss_rounding: false,
            linux_resets: false,
            linux_read_window_update: false,
            ts_hz: 1000,
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

    /// The profile a public script's path implies: the FreeBSD test suite runs with `freebsd`,
    /// everything else in the shared folder comes from Linux's suite.
    pub fn for_path(path: &str) -> Profile {
        if path.contains("freebsd") { Profile::freebsd() } else { Profile::linux() }
    }

    /// Applies a backtick command. Known sysctls and setup steps change knobs or are recorded as
    /// having no effect on a userspace stack; anything else is [`CommandError::Unsupported`], so a
    /// script that depends on it is never passed by accident.
    pub fn apply_command(&mut self, text: &str) -> Result<Vec<String>, CommandError> {
        let mut notes = Vec::new();
        for line in command_lines(text) {
            notes.extend(self.apply_line(&line)?);
        }
        Ok(notes)
    }

    fn apply_line(&mut self, line: &str) -> Result<Vec<String>, CommandError> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let unsupported = || CommandError::Unsupported(line.to_string());
        let Some(&cmd) = words.first() else { return Ok(Vec::new()) };
        if cmd.ends_with("common/defaults.sh") {
            // The Linux suite's baseline; the linux profile *is* these settings.
            return Ok(vec![format!("{cmd}: profile {} defaults", self.name)]);
        }
        if cmd.starts_with("/tmp/sysctl_restore_") {
            return Ok(vec!["sysctl restore: each run starts from the profile".into()]);
        }
        match cmd {
            "sysctl" => {
                let mut notes = Vec::new();
                for w in &words[1..] {
                    if w.starts_with('-') {
                        continue;
                    }
                    let (k, v) = w.split_once('=').ok_or_else(unsupported)?;
                    notes.push(self.set_sysctl(k, v)?);
                }
                Ok(notes)
            }
            c if c.ends_with("set_sysctls.py") => {
                let mut notes = Vec::new();
                for w in &words[1..] {
                    let (path, v) = w.split_once('=').ok_or_else(unsupported)?;
                    let key = path.trim_start_matches("/proc/sys/").replace('/', ".");
                    notes.push(self.set_sysctl(&key, v)?);
                }
                Ok(notes)
            }
            "ethtool"
                if words.get(1) == Some(&"-K")
                    && words[3..]
                        .iter()
                        .all(|w| matches!(*w, "tso" | "gso" | "gro" | "off" | "on")) =>
            {
                Ok(vec![format!("{line}: no offloads in the runner")])
            }
            "tc" if words.get(1) == Some(&"qdisc") && words.contains(&"pfifo") => {
                Ok(vec![format!("{line}: no qdisc, no pacing")])
            }
            "ip" if words.get(1) == Some(&"tcp_metrics") && words.get(2) == Some(&"flush") => {
                Ok(vec!["ip tcp_metrics flush: no metrics cache".into()])
            }
            _ => Err(unsupported()),
        }
    }

    /// One `key=value` sysctl, Linux (`net.ipv4.*`) or FreeBSD (`net.inet.tcp.*`, `kern.ipc.*`).
    pub fn set_sysctl(&mut self, key: &str, value: &str) -> Result<String, CommandError> {
        let bad = || CommandError::Unsupported(format!("{key}={value}"));
        let int = || value.trim().parse::<i64>().map_err(|_| bad());
        let flag = || match value.trim() {
            "0" => Ok(false),
            "1" => Ok(true),
            _ => Err(bad()),
        };
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
                self.ecn = match int()? {
                    0 => EcnMode::Off,
                    1 => EcnMode::On,
                    2 => EcnMode::Passive,
                    _ => return Err(bad()),
                };
                note("ECN mode")
            }
            "net.ipv4.tcp_slow_start_after_idle" => {
                self.slow_start_after_idle = flag()?;
                note("slow start after idle")
            }
            "net.ipv4.tcp_congestion_control" => {
                self.cc = match value.trim() {
                    "cubic" => Cc::Cubic,
                    "reno" => Cc::Reno,
                    _ => return Err(bad()),
                };
                note("congestion control")
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
                self.initial_rto = Duration::from_millis(u64::try_from(int()?).map_err(|_| bad())?);
                note("initial RTO (ms)")
            }
            // RFC 5961 protection on (the "secure" variants); turning it off is not modelled.
            "net.inet.tcp.insecure_syn" | "net.inet.tcp.insecure_rst" if !flag()? => {
                self.rfc5961 = true;
                note("RFC 5961 checks")
            }
            // Linux TSO deferral: synack never defers to build bigger TSO frames, which is
            // what a divisor this large or a min_tso_segs setting asks for in these scripts.
            "net.ipv4.tcp_tso_win_divisor" | "net.ipv4.tcp_min_tso_segs" => {
                int()?;
                note("no TSO deferral in synack")
            }
            // Blackholing off is the only behaviour synack has.
            "net.inet.tcp.blackhole" if int()? == 0 => note("no blackholing"),
            // Socket-buffer ceiling; the scripts set the default.
            "kern.ipc.maxsockbuf" => {
                int()?;
                note("no socket-buffer ceiling")
            }
            "net.inet.tcp.hostcache.purgenow" => note("no host cache"),
            _ => Err(bad()),
        }
    }
}

/// Splits shell text into commands: lines (with `\` continuations joined), `;` separators,
/// `#` comments removed.
fn command_lines(text: &str) -> Vec<String> {
    let joined = text.replace("\\\n", " ");
    let mut out = Vec::new();
    for line in joined.lines() {
        let line = match line.find('#') {
            Some(i) => &line[..i],
            None => line,
        };
        for part in line.split(';') {
            let p = part.trim();
            if !p.is_empty() {
                out.push(p.to_string());
            }
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(p.apply_command("sysctl -w net.inet.tcp.insecure_syn=1").is_err());
        assert!(p.apply_command("sysctl -w net.inet.tcp.blackhole=2").is_err());
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
        assert_eq!(Profile { name: "linux", quick_ack_segments: 16, ..d }, Profile::linux());
    }
}
