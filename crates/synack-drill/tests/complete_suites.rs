//! The complete public suites (`../shared/packetdrill-suites`: google's gtests/net/tcp, the Linux
//! kernel's selftests, the FreeBSD tcp-testsuite), every script with its suite's profile in
//! strict and relaxed mode, compared with `suites.toml`.
//!
//! A listed script must reach at least as far as listed (a verdict that stops earlier fails the
//! test), and a script named in `suites-passing.txt` must pass in both modes. Getting further
//! than listed (an unexpected pass included) is printed as `PROGRESS`. A script named in either
//! file that is not in the folder, and a script in the folder neither file knows (the suites
//! keep some scripts back), are printed, not failed: only a script's own verdict can fail the
//! test. `DRILL_BLESS=1` rewrites both files with the current verdicts, keeping the class and
//! reason of entries whose verdicts did not move. Without the folder the test prints `SKIPPED`
//! and passes.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use synack_drill::engine::EngineFactory;
use synack_drill::matcher::MatchMode;
use synack_drill::profile::Profile;
use synack_drill::suite::{
    SuiteExpect, Tally, is_regression, parse_suite_expectations, run_file, suite_expect_toml,
    verdict_key,
};
use synack_drill::{Outcome, RunOptions, Verdict};

/// (suite name, folder inside packetdrill-suites, profile).
const SUITES: &[(&str, &str, &str)] = &[
    ("google", "google/gtests/net/tcp", "linux"),
    ("linux-selftests", "linux-selftests/tools/testing/selftests/net/packetdrill", "linux"),
    ("freebsd", "freebsd", "freebsd"),
];

const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/suites.toml");

/// The scripts that pass in both modes, one `suite/name` a line.
const PASSING: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/suites-passing.txt");

/// The names in `suites-passing.txt` (comment and blank lines skipped).
fn read_passing() -> std::collections::BTreeSet<String> {
    let text = std::fs::read_to_string(PASSING).unwrap_or_default();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// Runs every script in both modes on two threads; (name, strict, relaxed) in name order.
fn run_all(dir: &Path, profile: &Profile) -> Vec<(String, Outcome, Outcome)> {
    let files = common::pkt_files(dir);
    let run = |files: &[PathBuf]| -> Vec<(String, Outcome, Outcome)> {
        files
            .iter()
            .map(|f| {
                let name = f.strip_prefix(dir).unwrap().display().to_string();
                let [strict, relaxed] = [MatchMode::Strict, MatchMode::Relaxed].map(|m| {
                    run_file(f, &name, &RunOptions::new(profile.clone(), m), &EngineFactory)
                });
                (name, strict, relaxed)
            })
            .collect()
    };
    let half = files.len() / 2;
    let (a, b) = files.split_at(half);
    let mut out = std::thread::scope(|s| {
        let h = s.spawn(|| run(b));
        let mut first = run(a);
        first.extend(h.join().expect("suite thread"));
        first
    });
    out.sort_by(|x, y| x.0.cmp(&y.0));
    out
}

/// The first line of a verdict's reason, for a new entry (a parse error without the path).
fn one_line(v: &Verdict) -> String {
    match v {
        Verdict::Pass => String::new(),
        Verdict::Fail { reason, .. } | Verdict::Unsupported { reason, .. } => {
            let first = reason.lines().next().unwrap_or("");
            let first = match first.strip_prefix("parse error: ") {
                Some(rest) => {
                    format!("parse error: {}", rest.splitn(4, ':').nth(3).unwrap_or(rest).trim())
                }
                None => first.to_string(),
            };
            first.chars().take(200).collect()
        }
    }
}

#[test]
fn complete_suites_match_expectations() {
    let Some(shared) = common::shared_dir() else { return };
    let root = shared.join("packetdrill-suites");
    if !root.is_dir() {
        println!("SKIPPED: packetdrill suites not found at {}", root.display());
        return;
    }
    let text = std::fs::read_to_string(FILE).expect("suites.toml");
    let exp = parse_suite_expectations(&text).expect("suites.toml parses");
    let passing = read_passing();
    let mut passing_now = String::from(
        "# The scripts of ../shared/packetdrill-suites that pass in strict and relaxed mode, one\n\
         # suite/name a line. Checked by tests/complete_suites.rs (a script named here must pass);\n\
         # DRILL_BLESS=1 rewrites it.\n",
    );
    let empty = BTreeMap::new();
    let mut regressions = Vec::new();
    let mut progress = Vec::new();
    let mut notes = Vec::new();
    let mut bless = String::from(
        "# Expected verdicts of the complete public packetdrill suites (../shared/packetdrill-suites),\n\
         # each script with its suite's profile (google, linux-selftests: linux; freebsd: freebsd).\n\
         # An unlisted script must pass in both modes. Verdicts: pass | fail:LINE | unsupported:LINE.\n\
         # class: \"synack gap\" | \"reference stack's own choice: <knob>\" | \"unsupported\".\n\
         # Checked by tests/complete_suites.rs; DRILL_BLESS=1 rewrites it.\n\n",
    );
    for &(suite, folder, profile) in SUITES {
        let dir = root.join(folder);
        if !dir.is_dir() {
            notes.push(format!("{suite}: {} absent", dir.display()));
            continue;
        }
        let profile = Profile::by_name(profile).unwrap();
        let listed = exp.get(suite).unwrap_or(&empty);
        let results = run_all(&dir, &profile);
        let mut tallies = [Tally::default(), Tally::default()];
        for (name, strict, relaxed) in &results {
            tallies[0].add(strict);
            tallies[1].add(relaxed);
            let got = [verdict_key(&strict.verdict), verdict_key(&relaxed.verdict)];
            let key = format!("{suite}/{name}");
            let known = listed.contains_key(name) || passing.contains(&key);
            let want = match listed.get(name) {
                Some(e) => [e.strict.as_str(), e.relaxed.as_str()],
                None => ["pass", "pass"],
            };
            for (mode, (g, w)) in ["strict", "relaxed"].iter().zip(got.iter().zip(want)) {
                if g == w {
                    continue;
                }
                let out = if *mode == "strict" { strict } else { relaxed };
                let line = format!("[{mode}] {suite}/{name}: expected {w}, got {g}\n{out}");
                if !known && is_regression(w, g) {
                    notes.push(format!("NEW (not in suites.toml) {line}"));
                } else if is_regression(w, g) {
                    regressions.push(line);
                } else {
                    progress.push(line);
                }
            }
            if got[0] == "pass" && got[1] == "pass" {
                passing_now.push_str(&key);
                passing_now.push('\n');
            } else {
                let kept = listed.get(name).filter(|e| e.strict == got[0] && e.relaxed == got[1]);
                let e = match kept {
                    Some(e) => e.clone(),
                    None => {
                        let worst = if got[1] != "pass" { relaxed } else { strict };
                        let unsupported = matches!(worst.verdict, Verdict::Unsupported { .. });
                        SuiteExpect {
                            strict: got[0].clone(),
                            relaxed: got[1].clone(),
                            class: if unsupported { "unsupported" } else { "synack gap" }.into(),
                            reason: one_line(&worst.verdict),
                        }
                    }
                };
                bless.push_str(&suite_expect_toml(suite, name, &e));
            }
        }
        for name in listed.keys() {
            if !results.iter().any(|r| &r.0 == name) {
                notes.push(format!("{suite}/{name} is listed but not in the folder"));
            }
        }
        let prefix = format!("{suite}/");
        for key in passing.iter().filter(|k| k.starts_with(&prefix)) {
            if !results.iter().any(|r| r.0 == key[prefix.len()..]) {
                notes.push(format!("{key} is in suites-passing.txt but not in the folder"));
            }
        }
        let [strict, relaxed] = &tallies;
        println!("{suite} ({} scripts, profile {}):", results.len(), profile.name);
        println!("  strict:  {}", strict.summary);
        println!("  relaxed: {}", relaxed.summary);
    }
    if !notes.is_empty() {
        println!("NOTES:\n{}", notes.join("\n"));
    }
    if !progress.is_empty() {
        println!("PROGRESS (DRILL_BLESS=1 updates suites.toml):\n{}", progress.join("\n"));
    }
    if std::env::var_os("DRILL_BLESS").is_some() {
        std::fs::write(FILE, bless).expect("write suites.toml");
        std::fs::write(PASSING, passing_now).expect("write suites-passing.txt");
        println!("suites.toml and suites-passing.txt rewritten");
        return;
    }
    assert!(
        regressions.is_empty(),
        "{} regressions:\n{}",
        regressions.len(),
        regressions.join("\n")
    );
}
