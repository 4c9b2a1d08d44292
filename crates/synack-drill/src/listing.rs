//! Commands that print text about the stack, and the `grep` stages that test it: Linux's
//! `nstat` (the MIB counters, as changes since the last `nstat` or absolute) and the
//! `/proc/net/tcp` and `/proc/net/tcp6` socket tables (`cat` or `grep PATTERN FILE...`).
//! The text is made from the stack's own counters and sockets in the formats those tools
//! print, then filtered as `grep` filters it; the command fails when the last stage would
//! exit non-zero, which fails the line as the command's status fails it under packetdrill.

use crate::probe::SockState;
use crate::shell::Words;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

/// Where the text comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// `nstat [-n] [-s] [-a] [-z] [NAME...]`.
    Nstat {
        /// Not `-n`: the counters are printed.
        print: bool,
        /// Not `-s`: the history (what the next `nstat` counts from) is updated.
        update: bool,
        /// `-a`: absolute values rather than changes since the history.
        absolute: bool,
        /// `-z`: counters at zero are printed too.
        zeros: bool,
        /// Counter names (a trailing `*` matches any end); none: every counter.
        names: Vec<String>,
    },
    /// `cat FILE...`, or `grep [OPTS] PATTERN FILE...` (its grep is the first stage).
    Proc {
        /// `/proc/net/tcp`, `/proc/net/tcp6`.
        files: Vec<String>,
    },
}

/// One `grep [-q] [-c] [-v] [-i] [-F] PATTERN` stage, with a literal pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grep {
    /// The text looked for.
    pub pattern: String,
    /// `-q`: no output.
    pub quiet: bool,
    /// `-c`: the count of matching lines is the output.
    pub count: bool,
    /// `-v`: the lines that do not match.
    pub invert: bool,
    /// `-i`: case ignored.
    pub ignore_case: bool,
}

/// A listing command: a source and its grep stages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing {
    /// The text.
    pub source: Source,
    /// The filters, in order.
    pub greps: Vec<Grep>,
}

/// The socket tables the listing knows.
const PROC_FILES: [&str; 2] = ["/proc/net/tcp", "/proc/net/tcp6"];

/// Prefixes of Linux's MIB counter names as nstat prints them.
const MIB_PREFIXES: [&str; 8] = ["TcpExt", "Tcp", "IpExt", "Ip", "Udp", "Icmp", "MPTcpExt", "Ip6"];

fn parse_grep(args: &[String]) -> Option<(Grep, Vec<String>)> {
    let mut g = Grep {
        pattern: String::new(),
        quiet: false,
        count: false,
        invert: false,
        ignore_case: false,
    };
    let mut literal = false;
    let mut rest = Vec::new();
    for a in args {
        match a.as_str() {
            o if o.starts_with('-') && o.len() > 1 && rest.is_empty() => {
                for c in o[1..].chars() {
                    match c {
                        'q' => g.quiet = true,
                        'c' => g.count = true,
                        'v' => g.invert = true,
                        'i' => g.ignore_case = true,
                        'F' => literal = true,
                        _ => return None,
                    }
                }
            }
            w => rest.push(w.to_string()),
        }
    }
    let mut rest = rest.into_iter();
    g.pattern = rest.next()?;
    // Only literal text: a regular expression's special characters are not modelled.
    let special = |c: char| matches!(c, '.' | '[' | ']' | '*' | '^' | '$' | '\\');
    if !literal && g.pattern.contains(special) {
        return None;
    }
    Some((g, rest.collect()))
}

impl Listing {
    /// Recognises a listing among the pipelines of a command; `None` for anything else.
    pub fn parse(pipelines: &[Vec<Words>]) -> Option<Listing> {
        let [pipeline] = pipelines else { return None };
        let (first, later) = pipeline.split_first()?;
        let (cmd, args) = first.split_first()?;
        let mut greps = Vec::new();
        let source = match cmd.as_str() {
            "nstat" => {
                let (mut print, mut update, mut absolute, mut zeros) = (true, true, false, false);
                let mut names = Vec::new();
                for a in args {
                    match a.as_str() {
                        "-n" | "--nooutput" => print = false,
                        "-s" | "--noupdate" => update = false,
                        "-a" | "--ignore" => absolute = true,
                        "-z" | "--zeros" => zeros = true,
                        o if o.starts_with('-') => return None,
                        name => names.push(name.to_string()),
                    }
                }
                Source::Nstat { print, update, absolute, zeros, names }
            }
            "cat" if !args.is_empty() && args.iter().all(|a| PROC_FILES.contains(&a.as_str())) => {
                Source::Proc { files: args.to_vec() }
            }
            "grep" => {
                let (g, files) = parse_grep(args)?;
                if files.is_empty() || !files.iter().all(|a| PROC_FILES.contains(&a.as_str())) {
                    return None;
                }
                greps.push(g);
                Source::Proc { files }
            }
            _ => return None,
        };
        for stage in later {
            let (cmd, args) = stage.split_first()?;
            let (g, files) = (cmd == "grep").then(|| parse_grep(args)).flatten()?;
            if !files.is_empty() {
                return None;
            }
            greps.push(g);
        }
        Some(Listing { source, greps })
    }

    /// Counter names the grep stages of an nstat listing look for that `known` lacks: a
    /// script testing a counter the stack does not keep cannot be run.
    pub fn unknown_counters(&self, known: &[(&'static str, u64)]) -> Vec<String> {
        if !matches!(self.source, Source::Nstat { .. }) {
            return Vec::new();
        }
        self.greps
            .iter()
            .map(|g| g.pattern.trim())
            .filter(|p| {
                MIB_PREFIXES.iter().any(|m| p.starts_with(m))
                    && p.chars().all(|c| c.is_ascii_alphanumeric())
            })
            .filter(|p| !known.iter().any(|(n, _)| n == p))
            .map(str::to_string)
            .collect()
    }

    /// Runs the listing: the source's text through the grep stages. `Ok` with the output
    /// when the last stage succeeds, `Err` with it when it fails. `history` is nstat's.
    pub fn run(
        &self,
        counters: &[(&'static str, u64)],
        history: &mut BTreeMap<&'static str, u64>,
        socks: &[SockState],
    ) -> Result<Vec<String>, Vec<String>> {
        let mut lines = match &self.source {
            Source::Nstat { print, update, absolute, zeros, names } => {
                let mut out = Vec::new();
                if *print {
                    out.push("#kernel".to_string());
                    for &(name, value) in counters {
                        let shown = if *absolute {
                            value
                        } else {
                            value.saturating_sub(history.get(name).copied().unwrap_or(0))
                        };
                        let named = names.is_empty()
                            || names.iter().any(|n| match n.strip_suffix('*') {
                                Some(prefix) => name.starts_with(prefix),
                                None => n == name,
                            });
                        if named && (shown != 0 || *zeros) {
                            //~ linux: nstat prints "%-32s%-16llu%6.1f" (name, value, rate);
                            //~ the rate over virtual time is not modelled and shows as 0.0.
                            out.push(format!("{name:<32}{shown:<16}{:>6.1}", 0.0));
                        }
                    }
                }
                if *update {
                    history.extend(counters.iter().copied());
                }
                out
            }
            Source::Proc { files } => {
                let prefix = files.len() > 1 && !self.greps.is_empty();
                let mut out = Vec::new();
                for f in files {
                    for line in proc_net_tcp(socks, f.ends_with('6')) {
                        out.push(if prefix { format!("{f}:{line}") } else { line });
                    }
                }
                out
            }
        };
        let mut ok = true;
        for g in &self.greps {
            let hit = |l: &String| {
                let found = if g.ignore_case {
                    l.to_lowercase().contains(&g.pattern.to_lowercase())
                } else {
                    l.contains(&g.pattern)
                };
                found != g.invert
            };
            let kept: Vec<String> = lines.iter().filter(|l| hit(l)).cloned().collect();
            ok = !kept.is_empty();
            lines = match (g.quiet, g.count) {
                (true, _) => Vec::new(),
                (false, true) => vec![kept.len().to_string()],
                (false, false) => kept,
            };
        }
        if ok { Ok(lines) } else { Err(lines) }
    }
}

/// Linux's `/proc/net/tcp` (or `tcp6`) text for the stack's sockets of that family: the
/// header, then one line per socket with its addresses as hex in memory order, its state
/// number, and its send and receive queues (0 for a listener, whose backlog figures Linux
/// shows there are not modelled). The timer, uid and inode columns are zeros.
pub fn proc_net_tcp(socks: &[SockState], v6: bool) -> Vec<String> {
    let mut out = vec![if v6 {
        "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode".to_string()
    } else {
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode".to_string()
    }];
    let family = |ip: Option<IpAddr>| ip.is_none_or(|ip| ip.is_ipv6() == v6);
    let addr = |a: Option<SocketAddr>, fallback: Option<IpAddr>| {
        let ip = a.map(|a| a.ip()).or(fallback);
        let port = a.map_or(0, |a| a.port());
        let hex = match ip {
            Some(IpAddr::V4(v4)) => format!("{:08X}", u32::from_le_bytes(v4.octets())),
            Some(IpAddr::V6(v6)) => v6
                .octets()
                .chunks(4)
                .map(|w| format!("{:08X}", u32::from_le_bytes([w[0], w[1], w[2], w[3]])))
                .collect(),
            None if v6 => "0".repeat(32),
            None => "0".repeat(8),
        };
        format!("{hex}:{port:04X}")
    };
    // A socket neither listening nor connected is in no lookup table, so Linux lists none.
    let listed = socks.iter().filter(|s| s.linux_state != 7 && family(s.local.map(|a| a.ip())));
    for (sl, s) in listed.enumerate() {
        let unspecified = s.local.map(|a| match a.ip() {
            IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        });
        out.push(format!(
            "{sl:>4}: {} {} {:02X} {:08X}:{:08X} 00:00000000 00000000     0        0 0",
            addr(s.local, None),
            addr(s.remote, unspecified),
            s.linux_state,
            s.tx_queue,
            s.rx_queue,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::pipelines;

    fn listing(text: &str) -> Option<Listing> {
        Listing::parse(&pipelines(text).unwrap())
    }

    #[test]
    fn nstat_counts_changes_since_the_last_run() {
        let reset = listing("nstat -n").unwrap();
        let check = listing("nstat | grep TcpExtBeyondWindow | grep -q \" 3 \"").unwrap();
        let mut history = BTreeMap::new();
        let before = [("TcpExtBeyondWindow", 5), ("TcpExtTCPZeroWindowDrop", 0)];
        assert_eq!(reset.run(&before, &mut history, &[]), Ok(vec![]));
        let after = [("TcpExtBeyondWindow", 8), ("TcpExtTCPZeroWindowDrop", 0)];
        // `nstat -s` shows the change and leaves the history.
        let shown = listing("nstat -s").unwrap().run(&after, &mut history, &[]).unwrap();
        assert_eq!(shown[1], "TcpExtBeyondWindow              3                  0.0");
        assert_eq!(shown.len(), 2, "counters at zero are left out");
        assert_eq!(check.run(&after, &mut history, &[]), Ok(vec![]));
        // That run updated the history: nothing changed since.
        assert!(check.run(&after, &mut history, &[]).is_err());
        let abs = listing("nstat -a TcpExt* | grep -c Tcp").unwrap();
        assert_eq!(abs.run(&after, &mut history, &[]), Ok(vec!["1".into()]));
        assert_eq!(check.unknown_counters(&after), Vec::<String>::new());
        let other = listing("nstat | grep TcpExtTCPRcvQDrop | grep -q \" 1 \"").unwrap();
        assert_eq!(other.unknown_counters(&after), vec!["TcpExtTCPRcvQDrop".to_string()]);
    }

    #[test]
    fn proc_net_tcp_lists_the_sockets() {
        let l = listing("grep \" 0A \" /proc/net/tcp /proc/net/tcp6 | grep \":1F90\"").unwrap();
        let listener = SockState {
            local_port: 8080,
            remote_port: None,
            state: "LISTEN",
            owned: true,
            local: Some("192.168.0.1:8080".parse().unwrap()),
            remote: None,
            linux_state: 10,
            tx_queue: 0,
            rx_queue: 1,
        };
        let out = l.run(&[], &mut BTreeMap::new(), std::slice::from_ref(&listener)).unwrap();
        assert_eq!(
            out,
            vec![
                "/proc/net/tcp:   0: 0100A8C0:1F90 00000000:0000 0A 00000000:00000001 00:00000000 00000000     0        0 0"
            ]
        );
        let none = listing("grep \" 01 \" /proc/net/tcp | grep -q :1F90").unwrap();
        assert!(none.run(&[], &mut BTreeMap::new(), &[listener]).is_err());
        for text in
            ["grep x /etc/passwd", "cat /proc/net/udp", "grep 'a.*b' /proc/net/tcp", "nstat -x"]
        {
            assert_eq!(listing(text), None, "{text}");
        }
    }
}
