//! Running many scripts, and the expectations file that says which of them may not pass and why.
//!
//! The file (`crates/synack-drill/expectations.toml`) has two tables, `public` (scripts under
//! `../shared/packetdrill`, keyed by their path inside it) and `own` (our scripts, keyed by file
//! name). A script not listed must pass in both modes. A listed one gives its verdict per mode
//! as `pass`, `fail:LINE` or `unsupported:LINE` (the first line that fails), and a `reason`.
//! Pinning the line means a script that starts failing somewhere else is noticed: a verdict that
//! stops *earlier* than listed (or a listed pass that fails) is a regression and fails the tests;
//! one that gets *further* is progress, printed so the file can be updated.

use crate::outcome::{Outcome, Verdict};
use crate::runner::{RunOptions, TargetFactory, run_source};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Every `.pkt` file named or under a named directory, sorted, each once.
pub fn collect_scripts(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut stack = vec![p.clone()];
            while let Some(d) = stack.pop() {
                let rd = std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))?;
                for e in rd.flatten() {
                    let path = e.path();
                    if path.is_dir() {
                        stack.push(path);
                    } else if path.extension().is_some_and(|x| x == "pkt") {
                        out.push(path);
                    }
                }
            }
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            return Err(format!("{}: no such file or directory", p.display()));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// What a suite's own runner passes to packetdrill for one script, read from the runner next
/// to it: the Linux selftests' `ksft_runner.sh` (its `ip_args` entry for the IP version) or
/// google's `gtests/net/packetdrill/run_all.py` (its `CmdTestIPv4` or `CmdTestIPv6`
/// arguments), found by walking up from the script's directory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunnerArgs {
    /// The IP version the runner uses for the script: the script's own `--ip_version`, else
    /// run_all.py's file-name rule (`*v6.pkt` runs over IPv6 only), else IPv4 (the first of
    /// the versions a runner tries).
    pub ipv6: bool,
    /// The command-line flags the runner gives that the run models (`--ip_version`, `--mtu`:
    /// the TUN device's MTU), in order; applied before the script's own header options,
    /// which win as in packetdrill. Its addresses are the run's defaults already.
    pub options: Vec<(String, Option<String>)>,
    /// The `-D NAME=VALUE` symbols.
    pub defines: HashMap<String, String>,
}

/// The runner's arguments for the script `name` in `script_dir`; `ipv6` when the script or
/// the caller already chose IPv6. Empty (IPv4 unless `ipv6`) when the script has no runner.
pub fn runner_args(script_dir: &Path, name: &str, ipv6: bool) -> RunnerArgs {
    let mut ipv6 = ipv6;
    let mut text = None;
    for dir in script_dir.ancestors().take(6) {
        if let Ok(t) = std::fs::read_to_string(dir.join("ksft_runner.sh")) {
            // `[ipv4]="--ip_version=ipv4 ... -D NAME=VALUE ..."`
            let version = if ipv6 { "ipv6" } else { "ipv4" };
            text = t
                .split(&format!("[{version}]=\""))
                .nth(1)
                .and_then(|r| r.split('"').next())
                .map(str::to_string);
            break;
        }
        if let Ok(t) = std::fs::read_to_string(dir.join("packetdrill").join("run_all.py")) {
            // CmdsTests: a script whose name ends in v6.pkt runs over IPv6 only.
            ipv6 |= name.ends_with("v6.pkt");
            // def CmdTestIPv4(...): return self.CmdTest(path, 'ipv4', ('--a ' '-D X=1 ' ...))
            let func = if ipv6 { "def CmdTestIPv6(" } else { "def CmdTestIPv4(" };
            text = t
                .split(func)
                .nth(1)
                .and_then(|r| r.split("\n  def ").next())
                .map(|body| body.split('\'').skip(1).step_by(2).collect::<Vec<_>>().join(" "));
            break;
        }
    }
    let mut out = RunnerArgs { ipv6, ..RunnerArgs::default() };
    let Some(text) = text else { return out };
    let mut words = text.split_whitespace();
    while let Some(w) = words.next() {
        if w == "-D" {
            if let Some((n, v)) = words.next().and_then(|d| d.split_once('=')) {
                out.defines.insert(n.to_string(), v.to_string());
            }
        } else if let Some((n, v)) = w.strip_prefix("--").and_then(|f| f.split_once('='))
            && matches!(n, "ip_version" | "mtu")
        {
            out.options.push((n.to_string(), Some(v.to_string())));
        }
    }
    out
}

/// Reads and runs one file; `name` is what the outcome calls it. The suite runner's flags and
/// `-D` symbols ([`runner_args`]) apply unless the options set them already.
pub fn run_file<F: TargetFactory>(
    path: &Path,
    name: &str,
    opts: &RunOptions,
    factory: &F,
) -> Outcome {
    match std::fs::read_to_string(path) {
        Ok(src) => {
            let mut opts = opts.clone();
            if opts.script_dir.is_none() {
                opts.script_dir = path.parent().map(Path::to_path_buf);
            }
            if let Some(dir) = &opts.script_dir {
                let chosen = |v: &str| {
                    src.contains(&format!("--ip_version={v}"))
                        || opts
                            .overrides
                            .iter()
                            .any(|(n, x)| n == "ip_version" && x.as_deref() == Some(v))
                };
                let file = path.file_name().and_then(|f| f.to_str()).unwrap_or("");
                let mut args = runner_args(dir, file, chosen("ipv6"));
                if chosen("ipv4") && args.ipv6 && !chosen("ipv6") {
                    // The script or the caller asked for IPv4: the file-name rule yields.
                    args = runner_args(dir, "", false);
                }
                for (n, v) in args.defines {
                    opts.defines.entry(n).or_insert(v);
                }
                opts.runner_options = args.options;
            }
            run_source(&src, name, &opts, factory)
        }
        Err(e) => Outcome {
            path: name.to_string(),
            profile: opts.profile.name.to_string(),
            mode: opts.mode,
            verdict: Verdict::Unsupported { line: None, reason: format!("cannot read: {e}") },
        },
    }
}

/// The compact form used in the expectations file: `pass`, `fail:LINE`, `unsupported:LINE`.
pub fn verdict_key(v: &Verdict) -> String {
    match v {
        Verdict::Pass => "pass".into(),
        Verdict::Fail { line, .. } => format!("fail:{line}"),
        Verdict::Unsupported { line: Some(l), .. } => format!("unsupported:{l}"),
        Verdict::Unsupported { line: None, .. } => "unsupported".into(),
    }
}

/// How far a verdict key got: `pass` is furthest, otherwise the line it stopped at.
fn reach(key: &str) -> u32 {
    if key == "pass" {
        return u32::MAX;
    }
    key.split_once(':').and_then(|(_, l)| l.parse().ok()).unwrap_or(0)
}

/// True when `got` stopped earlier in the script than the expected `want` (a regression);
/// false when it got as far or further (progress, which only needs the file updated).
pub fn is_regression(want: &str, got: &str) -> bool {
    reach(got) < reach(want)
}

/// One listed script.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Verdict in strict mode.
    pub strict: String,
    /// Verdict in relaxed mode.
    pub relaxed: String,
    /// Why it does not pass.
    pub reason: String,
}

/// The whole file.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    /// Scripts of the shared public suite.
    #[serde(default)]
    pub public: BTreeMap<String, Expect>,
    /// Our own scripts.
    #[serde(default)]
    pub own: BTreeMap<String, Expect>,
}

impl Expectations {
    /// Parses the TOML text.
    pub fn parse(text: &str) -> Result<Expectations, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// The expected key for a script in a table, `pass` when it is not listed.
    pub fn expected<'a>(table: &'a BTreeMap<String, Expect>, name: &str, strict: bool) -> &'a str {
        match table.get(name) {
            Some(e) if strict => &e.strict,
            Some(e) => &e.relaxed,
            None => "pass",
        }
    }
}

/// The cause of a verdict, for counting failures and skips by kind: the reason with the
/// script's own path and every number replaced by `N`, cut at 72 characters, prefixed by
/// `fail` or `skip`. `None` for a pass.
pub fn cause(v: &Verdict) -> Option<String> {
    let (word, reason) = match v {
        Verdict::Pass => return None,
        Verdict::Fail { reason, .. } => ("fail", reason.as_str()),
        Verdict::Unsupported { reason, .. } => ("skip", reason.as_str()),
    };
    // A parse error quotes `path:line:col: message`; the message is the cause.
    let reason = match reason.strip_prefix("parse error: ") {
        Some(rest) => {
            let msg = rest.splitn(4, ':').nth(3).unwrap_or(rest).trim_start();
            return Some(format!("fail parse error: {}", normalise(msg)));
        }
        None => reason,
    };
    Some(format!("{word} {}", normalise(reason)))
}

/// Digit runs become `N`; the text is cut at 72 characters.
fn normalise(text: &str) -> String {
    let mut out = String::new();
    let mut in_number = false;
    for c in text.chars() {
        if c.is_ascii_digit() {
            if !in_number {
                out.push('N');
            }
            in_number = true;
        } else {
            in_number = false;
            out.push(c);
        }
        if out.chars().count() >= 72 {
            break;
        }
    }
    out
}

/// Outcomes counted by cause ([`cause`]), for `synack drill --summary`.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// Passed, failed and skipped scripts.
    pub summary: crate::Summary,
    /// Cause -> the scripts with it.
    pub causes: BTreeMap<String, Vec<String>>,
}

impl Tally {
    /// Counts one outcome.
    pub fn add(&mut self, out: &Outcome) {
        self.summary.add(&out.verdict);
        if let Some(c) = cause(&out.verdict) {
            self.causes.entry(c).or_default().push(out.path.clone());
        }
    }

    /// Causes with their scripts, the most common first (ties by name).
    pub fn ranked(&self) -> Vec<(&str, &[String])> {
        let mut v: Vec<_> = self.causes.iter().map(|(c, s)| (c.as_str(), s.as_slice())).collect();
        v.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(b.0)));
        v
    }
}

impl std::fmt::Display for Tally {
    /// One line per cause, `count  cause  (first script)`, then the summary line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (cause, scripts) in self.ranked() {
            writeln!(f, "{:5}  {cause}  ({})", scripts.len(), scripts[0])?;
        }
        write!(f, "{}", self.summary)
    }
}

/// One script of a complete suite whose verdict is not a pass in both modes (the suite
/// expectations file, `crates/synack-drill/suites.toml`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SuiteExpect {
    /// Verdict in strict mode (`pass`, `fail:LINE`, `unsupported:LINE`).
    pub strict: String,
    /// Verdict in relaxed mode.
    pub relaxed: String,
    /// For a failure: `synack gap`, or `reference stack's own choice: <knob>` naming the
    /// profile knob that would match it. For a skip: `unsupported`.
    pub class: String,
    /// One line: why.
    pub reason: String,
}

/// The suite expectations file: suite name -> script path inside the suite -> expectation.
pub type SuiteExpectations = BTreeMap<String, BTreeMap<String, SuiteExpect>>;

/// Parses the suite expectations file.
pub fn parse_suite_expectations(text: &str) -> Result<SuiteExpectations, String> {
    let exp: SuiteExpectations = toml::from_str(text).map_err(|e| e.to_string())?;
    for (suite, scripts) in &exp {
        for (name, e) in scripts {
            let ok = e.class == "synack gap"
                || e.class == "unsupported"
                || e.class.starts_with("reference stack's own choice: ");
            if !ok {
                return Err(format!("{suite}/{name}: class {:?} is none of the three", e.class));
            }
        }
    }
    Ok(exp)
}

/// Writes one expectation as TOML (for blessing the file).
pub fn suite_expect_toml(suite: &str, name: &str, e: &SuiteExpect) -> String {
    let q = |s: &str| toml::Value::String(s.to_string()).to_string();
    format!(
        "[{}.{}]\nstrict = {}\nrelaxed = {}\nclass = {}\nreason = {}\n\n",
        q(suite),
        q(name),
        q(&e.strict),
        q(&e.relaxed),
        q(&e.class),
        q(&e.reason)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// run_all.py's IPv6 arguments apply to a `*v6.pkt` script, the IPv4 ones to the rest;
    /// ksft_runner.sh's entry follows the version the script names.
    #[test]
    fn runner_flags_and_symbols_by_ip_version() {
        let root = std::env::temp_dir().join(format!("drill-runner-{}", std::process::id()));
        let google = root.join("google");
        std::fs::create_dir_all(google.join("packetdrill")).unwrap();
        std::fs::create_dir_all(google.join("tcp")).unwrap();
        std::fs::write(
            google.join("packetdrill").join("run_all.py"),
            "  def CmdTestIPv4(self, path):\n    return self.CmdTest(path, 'ipv4',\n        ('--ip_version=ipv4 '\n         '--local_ip=192.168.0.1 '\n         '-D CODE=x')\n    )\n\n  def CmdTestIPv6(self, path):\n    return self.CmdTest(path, 'ipv6',\n        ('--ip_version=ipv6 --mtu=1520 '\n         '-D CODE=y')\n    )\n\n  def Other(self):\n",
        )
        .unwrap();
        let ksft = root.join("ksft");
        std::fs::create_dir_all(&ksft).unwrap();
        std::fs::write(
            ksft.join("ksft_runner.sh"),
            "declare -A ip_args=(\n\t[ipv4]=\"--ip_version=ipv4\n\t\t-D A=4\"\n\t[ipv6]=\"--ip_version=ipv6\n\t\t--mtu=1520\n\t\t-D A=6\"\n)\n",
        )
        .unwrap();
        let opt = |n: &str, v: &str| (n.to_string(), Some(v.to_string()));
        let v6 = runner_args(&google.join("tcp"), "x-ipv6.pkt", false);
        assert!(v6.ipv6);
        assert_eq!(v6.options, [opt("ip_version", "ipv6"), opt("mtu", "1520")]);
        assert_eq!(v6.defines.get("CODE").map(String::as_str), Some("y"));
        let v4 = runner_args(&google.join("tcp"), "x.pkt", false);
        assert!(!v4.ipv6);
        assert_eq!(v4.options, [opt("ip_version", "ipv4")]);
        assert_eq!(v4.defines.get("CODE").map(String::as_str), Some("x"));
        let k6 = runner_args(&ksft, "y.pkt", true);
        assert_eq!(k6.options, [opt("ip_version", "ipv6"), opt("mtu", "1520")]);
        assert_eq!(k6.defines.get("A").map(String::as_str), Some("6"));
        let k4 = runner_args(&ksft, "y_ipv6.pkt", false);
        assert_eq!((k4.ipv6, k4.defines.get("A").map(String::as_str)), (false, Some("4")));
        assert_eq!(runner_args(&root, "z.pkt", false), RunnerArgs::default());
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn expectations_parse_and_default_to_pass() {
        let e = Expectations::parse(
            "[public.\"a/b.pkt\"]\nstrict = \"fail:3\"\nrelaxed = \"pass\"\nreason = \"x\"\n",
        )
        .unwrap();
        assert_eq!(Expectations::expected(&e.public, "a/b.pkt", true), "fail:3");
        assert_eq!(Expectations::expected(&e.public, "a/b.pkt", false), "pass");
        assert_eq!(Expectations::expected(&e.public, "c.pkt", true), "pass");
        assert!(Expectations::parse("[public.\"x\"]\nstrict = \"pass\"\n").is_err());
        assert!(Expectations::parse("[bogus]\n").is_err());
    }

    #[test]
    fn regressions_are_verdicts_that_stop_earlier() {
        assert!(is_regression("pass", "fail:10"));
        assert!(is_regression("fail:30", "fail:29"));
        assert!(is_regression("fail:30", "unsupported"));
        assert!(!is_regression("fail:30", "pass"));
        assert!(!is_regression("fail:30", "unsupported:31"));
        assert!(!is_regression("fail:30", "fail:30"));
    }

    #[test]
    fn verdict_keys() {
        assert_eq!(verdict_key(&Verdict::Pass), "pass");
        assert_eq!(
            verdict_key(&Verdict::Unsupported { line: Some(4), reason: String::new() }),
            "unsupported:4"
        );
    }

    #[test]
    fn causes_count_alike_reasons_together() {
        let fail = |reason: &str| Outcome {
            path: "x.pkt".into(),
            profile: "linux".into(),
            mode: crate::matcher::MatchMode::Relaxed,
            verdict: Verdict::Fail {
                line: 3,
                expected: String::new(),
                actual: None,
                time_us: 0,
                reason: reason.into(),
            },
        };
        let mut t = Tally::default();
        t.add(&fail("ack: expected 1001 but got 2001"));
        t.add(&fail("ack: expected 1 but got 5"));
        t.add(&fail("parse error: /a/b.pkt:3:7: expected a time, found '#'"));
        t.add(&Outcome { verdict: Verdict::Pass, ..fail("") });
        let ranked = t.ranked();
        assert_eq!(ranked[0].0, "fail ack: expected N but got N");
        assert_eq!(ranked[0].1.len(), 2);
        assert_eq!(ranked[1].0, "fail parse error: expected a time, found '#'");
        assert_eq!(t.summary.passed, 1);
        assert_eq!(t.summary.failed, 3);
    }

    #[test]
    fn collecting_a_missing_path_is_an_error() {
        assert!(collect_scripts(&[PathBuf::from("/nonexistent/x")]).is_err());
    }
}
