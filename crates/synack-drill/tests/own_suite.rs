//! Our own scripts (crates/synack-drill/scripts, one per state-machine rule or RFC 9293 MUST
//! observable on the wire) run against the engine with the linux-delack profile (linux without
//! quick-ACK: the scripts check the delayed ACK of first data), in strict and relaxed
//! mode. Each must pass unless expectations.toml lists it with the reason; a listed script that
//! gets further than listed is printed as progress, one that stops earlier fails the test.

mod common;

use std::path::Path;
use synack_drill::engine::EngineFactory;
use synack_drill::matcher::MatchMode;
use synack_drill::profile::Profile;
use synack_drill::suite::{Expectations, is_regression, run_file, verdict_key};
use synack_drill::{RunOptions, Summary};

#[test]
fn own_scripts_match_expectations() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let exp =
        Expectations::parse(&std::fs::read_to_string(manifest.join("expectations.toml")).unwrap())
            .expect("expectations.toml parses");
    let files = common::pkt_files(&manifest.join("scripts"));
    assert!(files.len() >= 20, "expected our suite, found {} scripts", files.len());
    let mut bad = Vec::new();
    for (mode, strict) in [(MatchMode::Strict, true), (MatchMode::Relaxed, false)] {
        let mut summary = Summary::default();
        for f in &files {
            let name = f.file_name().unwrap().to_string_lossy().to_string();
            let mut opts = RunOptions::new(Profile::linux_delack(), mode);
            opts.no_leftovers = true;
            let out = run_file(f, &name, &opts, &EngineFactory);
            summary.add(&out.verdict);
            let got = verdict_key(&out.verdict);
            let want = Expectations::expected(&exp.own, &name, strict);
            if got != want {
                let line = format!("[{mode:?}] {name}: expected {want}, got {got}\n{out}");
                if is_regression(want, &got) {
                    bad.push(line);
                } else {
                    println!("PROGRESS (update expectations.toml): {line}");
                }
            }
        }
        println!("own suite, {mode:?}: {summary}");
    }
    for name in exp.own.keys() {
        if !files.iter().any(|f| f.file_name().unwrap().to_string_lossy() == name.as_str()) {
            bad.push(format!("expectations list {name}, which is not in scripts/"));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
