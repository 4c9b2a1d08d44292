//! The runner must be able to fail: each of our passing scripts, changed in one place so the
//! stack's real behaviour no longer matches, must fail on exactly that line (or be reported
//! unsupported for constructs we do not model).

mod common;

use std::path::Path;
use synack_drill::engine::EngineFactory;
use synack_drill::matcher::MatchMode;
use synack_drill::profile::Profile;
use synack_drill::{RunOptions, Verdict, run_source};

fn script(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts").join(name);
    std::fs::read_to_string(p).unwrap()
}

fn run(src: &str) -> Verdict {
    let opts = RunOptions::new(Profile::linux_delack(), MatchMode::Strict);
    run_source(src, "mutant.pkt", &opts, &EngineFactory).verdict
}

/// The first line where two texts differ (1-based).
fn first_difference(a: &str, b: &str) -> u32 {
    a.lines().zip(b.lines()).position(|(x, y)| x != y).expect("texts differ") as u32 + 1
}

/// Replaces `from` with `to` (once) and expects a failure on that line whose reason contains `why`.
fn must_fail(name: &str, from: &str, to: &str, why: &str) {
    let original = script(name);
    assert_eq!(run(&original), Verdict::Pass, "{name} must pass unchanged");
    assert!(original.contains(from), "{name} has no {from:?}");
    let mutant = original.replacen(from, to, 1);
    let line = first_difference(&original, &mutant);
    match run(&mutant) {
        Verdict::Fail { line: l, reason, .. } => {
            assert_eq!(l, line, "{name}: failed on another line: {reason}");
            assert!(reason.contains(why), "{name}: reason {reason:?} lacks {why:?}");
        }
        v => panic!("{name} with {to:?} should fail, got {v:?}"),
    }
}

#[test]
fn wrong_window_is_caught() {
    must_fail(
        "sws-receiver.pkt",
        "+0 > . 1:1(0) ack 4001 win 1000",
        "+0 > . 1:1(0) ack 4001 win 999",
        "win",
    );
}

#[test]
fn wrong_ack_and_seq_are_caught() {
    must_fail("passive-close.pkt", "+0 > . 1:1(0) ack 2", "+0 > . 1:1(0) ack 3", "ack");
    must_fail("passive-close.pkt", "+0 > F. 11:11(0) ack 2", "+0 > F. 12:12(0) ack 2", "seq");
}

#[test]
fn wrong_flags_and_options_are_caught() {
    must_fail(
        "handshake-passive.pkt",
        "+0 > P. 1:101(100) ack 1",
        "+0 > . 1:101(100) ack 1",
        "flags",
    );
    must_fail(
        "handshake-passive.pkt",
        "+0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK>",
        "+0 > S. 0:0(0) ack 1 <mss 1460,sackOK,nop,nop>",
        "options",
    );
}

#[test]
fn early_and_late_packets_are_caught() {
    must_fail(
        "rto-backoff.pkt",
        "+.6 > P. 101:201(100) ack 1",
        "+.5 > P. 101:201(100) ack 1",
        "timing",
    );
    must_fail("delayed-ack.pkt", "+.04 > . 1:1(0) ack 1001", "+0 > . 1:1(0) ack 1001", "timing");
    // A relative blocking call's end time is offset by its start's anchor (packetdrill): the
    // read started at 2.2 s returns at 2.6 s (`+0...0.4`), so `+0...0.5` must fail.
    must_fail(
        "user-timeout.pkt",
        "+0...0.4 read(4, ..., 100)",
        "+0...0.5 read(4, ..., 100)",
        "blocking call returned",
    );
    // Nagle: expecting the second small write at once must fail.
    must_fail(
        "nagle.pkt",
        "+.01 write(4, ..., 100) = 100\n+.01 write",
        "+.01 write(4, ..., 100) = 100\n+0 > P. 101:201(100) ack 1\n+.01 write",
        "timing",
    );
}

#[test]
fn missing_packets_and_wrong_returns_are_caught() {
    must_fail(
        "half-close.pkt",
        "+0 read(4, ..., 1000) = 100",
        "+0 read(4, ..., 1000) = 99",
        "returned 100",
    );
    must_fail("keep-alive.pkt", "+10 > . 0:0(0) ack 1", "+1 > . 0:0(0) ack 1", "sent nothing");
    // A packet the stack never sends (the RTO retransmission of 1:11 comes a second later).
    let src = script("handshake-active.pkt") + "+0 > P. 11:21(10) ack 1\n";
    let last = src.lines().count() as u32;
    assert!(matches!(run(&src), Verdict::Fail { line, .. } if line == last));
}

#[test]
fn unknown_commands_and_calls_are_unsupported() {
    let src =
        script("handshake-passive.pkt").replacen("0 socket", "0 `frobnicate --all`\n+0 socket", 1);
    assert!(matches!(run(&src), Verdict::Unsupported { .. }));
    let src = script("handshake-passive.pkt") + "+0 splice(4, ..., 5, ..., 10, 0) = 10\n";
    assert!(matches!(run(&src), Verdict::Unsupported { reason, .. } if reason.contains("splice")));
    let src = script("handshake-passive.pkt") + "+0 %{ tcpi_rtt = 1 }%\n";
    assert!(matches!(run(&src), Verdict::Unsupported { .. }));
}

#[test]
fn any_script_with_a_line_deleted_runs_to_a_verdict() {
    // Robustness: every event line of every script (ours, and the public suite when present)
    // removed in turn gives a verdict, never a panic or a hang (the runner's waits are bounded
    // in virtual time and steps).
    let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts")];
    dirs.extend(common::public_suite());
    let mut runs = 0;
    for dir in dirs {
        for f in common::pkt_files(&dir) {
            let src = std::fs::read_to_string(f).unwrap();
            let lines: Vec<&str> = src.lines().collect();
            for skip in 0..lines.len() {
                let l = lines[skip].trim();
                if l.is_empty() || l.starts_with("//") {
                    continue;
                }
                let mutant: Vec<&str> =
                    lines.iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, l)| *l).collect();
                let _ = run(&mutant.join("\n"));
                runs += 1;
            }
        }
    }
    assert!(runs > 300, "{runs}");
}

#[test]
fn leftover_segments_fail_only_when_asked() {
    // Drop the last expected segment: packetdrill's rules pass it, --no-leftovers does not.
    let src = script("handshake-active.pkt").replace("+0 > P. 1:11(10) ack 1\n", "");
    assert_eq!(run(&src), Verdict::Pass);
    let mut opts = RunOptions::new(Profile::linux_delack(), MatchMode::Strict);
    opts.no_leftovers = true;
    match run_source(&src, "leftover.pkt", &opts, &EngineFactory).verdict {
        Verdict::Fail { reason, actual, .. } => {
            assert!(reason.contains("no line expects"), "{reason}");
            assert!(actual.unwrap_or_default().starts_with("P. 1:11(10) ack 1"));
        }
        v => panic!("{v:?}"),
    }
}

#[test]
fn header_options_apply() {
    let src = "--mtu=1040\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = 0\n\
               +0 listen(3, 1) = 0\n+0 < S 0:0(0) win 65535 <mss 1460>\n+0 > S. 0:0(0) ack 1 <mss 1000>\n";
    assert_eq!(run(src), Verdict::Pass);
    assert!(matches!(run(&src.replace("1000>", "1460>")), Verdict::Fail { line: 6, .. }));
    // packetdrill's --mss only cuts TSO packets for comparison: the offered MSS stays the MTU's.
    let mss = src.replace("--mtu=1040", "--mss=1000").replace("1000>", "1460>");
    assert_eq!(run(&mss), Verdict::Pass);
    assert!(matches!(
        run(&format!("--ip_version=ipv4-mapped-ipv6\n{src}")),
        Verdict::Unsupported { .. }
    ));
    assert!(matches!(run(&format!("--bogus_option=1\n{src}")), Verdict::Unsupported { .. }));
}

#[test]
fn extreme_option_values_do_not_overflow() {
    let src = script("rto-backoff.pkt");
    for opt in [
        "--tolerance_usecs=18446744073709551615",
        "--tolerance_percent=1e300",
        "--tolerance_percent=-5",
    ] {
        let _ = run(&format!("{opt}\n{src}"));
    }
    let _ =
        run(&format!("{}+0 poll([{{fd=4, events=POLLIN}}], 1, 9223372036854775807) = 0\n", src));
}

/// `tcpi_reordering` is checked for real: a wrong value fails on its block with the value the
/// engine measured; with RACK's loss detection switched off the segment log behind the count is
/// still kept, so the same script passes with the same measured values.
#[test]
fn reordering_asserts_are_checked() {
    let original = script("sack-reordering.pkt");
    assert_eq!(run(&original), Verdict::Pass);
    let mutant = original.replacen("tcpi_reordering == 7", "tcpi_reordering == 6", 1);
    match run(&mutant) {
        Verdict::Fail { reason, .. } => {
            assert!(reason.contains("tcpi_reordering = 7"), "reason {reason:?}");
        }
        v => panic!("a wrong tcpi_reordering should fail, got {v:?}"),
    }
    let no_rack = Profile { rack: false, tlp: false, ..Profile::linux_delack() };
    let opts = RunOptions::new(no_rack, MatchMode::Strict);
    let verdict = run_source(&original, "no-rack.pkt", &opts, &EngineFactory).verdict;
    assert_eq!(verdict, Verdict::Pass, "without RACK the counts are still measured");
    let no_rack_mutant = run_source(&mutant, "no-rack-mutant.pkt", &opts, &EngineFactory).verdict;
    assert!(matches!(no_rack_mutant, Verdict::Fail { .. }), "got {no_rack_mutant:?}");
}

/// A sysctl restored at the end (only commands and close() after it) does not change the
/// settings the script ran with; one changed while the connection still runs applies to
/// sockets made afterwards when it is a per-socket setting, and is refused when it is
/// endpoint-wide (SYN cookies).
#[test]
fn a_trailing_restore_keeps_the_settings_the_script_ran_with() {
    let body = "0 `sysctl -w net.inet.tcp.insecure_syn=1`\n\
        +0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = 0\n\
        +0 listen(3, 1) = 0\n+0 < S 0:0(0) win 65535 <mss 1460>\n\
        +0 > S. 0:0(0) ack 1 win 65535 <mss 1460>\n+0 < . 1:1(0) ack 1 win 65535\n\
        +0 accept(3, ..., ...) = 4\n+0 < S 1:1(0) win 65535\n+0 > R. 1:1(0) ack 1 win 0\n";
    let opts = RunOptions::new(Profile::freebsd(), MatchMode::Relaxed);
    let run_bsd = |src: &str| run_source(src, "restore.pkt", &opts, &EngineFactory).verdict;
    let restored = format!("{body}+0 close(4) = 0\n+0 `sysctl -w net.inet.tcp.insecure_syn=0`\n");
    assert_eq!(run_bsd(&restored), Verdict::Pass);
    let midway = format!(
        "{body}+0 `sysctl -w net.inet.tcp.insecure_syn=0`\n+0 close(4) = 0\n+0 < . 1:1(0) ack 1 win 65535\n"
    );
    assert_eq!(run_bsd(&midway), Verdict::Pass);
    let wide = format!(
        "{body}+0 `sysctl -w net.inet.tcp.syncookies=0`\n+0 close(4) = 0\n+0 < . 1:1(0) ack 1 win 65535\n"
    );
    assert!(matches!(run_bsd(&wide), Verdict::Unsupported { .. }), "{:?}", run_bsd(&wide));
}
