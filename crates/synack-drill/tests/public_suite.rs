//! The shared public suite, run with each script's suite profile in strict and relaxed mode,
//! must give exactly the verdicts the expectations file lists (pass when not listed), over IPv4
//! and, for the scripts that do not pin a version, over IPv6 as well.
//! A verdict that stops earlier than listed fails the test; one that gets further is printed as
//! progress. `DRILL_BLESS=1` prints the actual verdicts as TOML to update the file by hand.

mod common;

use synack_drill::engine::EngineFactory;
use synack_drill::matcher::MatchMode;
use synack_drill::profile::Profile;
use synack_drill::suite::{Expectations, is_regression, run_file, verdict_key};
use synack_drill::{RunOptions, Summary};

#[test]
fn public_suite_matches_expectations() {
    let Some(dir) = common::public_suite() else { return };
    let exp_text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/expectations.toml"))
            .expect("expectations.toml");
    let exp = Expectations::parse(&exp_text).expect("expectations.toml parses");
    let files = common::pkt_files(&dir);
    let mut mismatches = Vec::new();
    let mut progress = Vec::new();
    let mut bless = String::new();
    let mut seen = Vec::new();
    for (mode, strict) in [(MatchMode::Strict, true), (MatchMode::Relaxed, false)] {
        let mut summary = Summary::default();
        for f in &files {
            let name = f.strip_prefix(&dir).unwrap().display().to_string();
            let opts = RunOptions::new(Profile::for_path(&name), mode);
            let out = run_file(f, &name, &opts, &EngineFactory);
            summary.add(&out.verdict);
            let got = verdict_key(&out.verdict);
            let want = Expectations::expected(&exp.public, &name, strict);
            if got != want {
                let line = format!("[{mode:?}] {name}: expected {want}, got {got}\n{out}");
                if is_regression(want, &got) { mismatches.push(line) } else { progress.push(line) }
            }
            if strict {
                seen.push((name, got, out.to_string()));
            } else if let Some(s) = seen.iter_mut().find(|(n, ..)| *n == name)
                && (s.1 != "pass" || got != "pass")
            {
                {
                    bless.push_str(&format!(
                        "[public.\"{}\"]\nstrict = \"{}\"\nrelaxed = \"{got}\"\nreason = \"\"\n# {}\n\n",
                        s.0,
                        s.1,
                        s.2.lines().next().unwrap_or("")
                    ));
                }
            }
        }
        println!("public suite, {mode:?}: {summary}");
    }
    // Linux's kselftest runs each script without an --ip_version line over IPv6 too (MTU 1520,
    // so the MSS stays 1460); the verdicts must be the same.
    for (mode, strict) in [(MatchMode::Strict, true), (MatchMode::Relaxed, false)] {
        let mut summary = Summary::default();
        for f in &files {
            if std::fs::read_to_string(f).unwrap().contains("--ip_version") {
                continue;
            }
            let name = f.strip_prefix(&dir).unwrap().display().to_string();
            let mut opts = RunOptions::new(Profile::for_path(&name), mode);
            opts.overrides = vec![
                ("ip_version".into(), Some("ipv6".into())),
                ("mtu".into(), Some("1520".into())),
            ];
            let out = run_file(f, &name, &opts, &EngineFactory);
            summary.add(&out.verdict);
            let got = verdict_key(&out.verdict);
            let want = Expectations::expected(&exp.public, &name, strict);
            if got != want {
                let line = format!("[{mode:?} IPv6] {name}: expected {want}, got {got}\n{out}");
                if is_regression(want, &got) { mismatches.push(line) } else { progress.push(line) }
            }
        }
        println!("public suite over IPv6 (scripts without --ip_version), {mode:?}: {summary}");
    }
    for name in exp.public.keys() {
        if !files.iter().any(|f| f.strip_prefix(&dir).unwrap().display().to_string() == *name) {
            mismatches.push(format!("expectations list {name}, which is not in the suite"));
        }
    }
    if !progress.is_empty() {
        println!(
            "PROGRESS (update expectations.toml; DRILL_BLESS=1 prints the verdicts):\n{}",
            progress.join("\n")
        );
    }
    if std::env::var_os("DRILL_BLESS").is_some() {
        println!("{bless}");
    }
    assert!(mismatches.is_empty(), "{} mismatches:\n{}", mismatches.len(), mismatches.join("\n"));
}
