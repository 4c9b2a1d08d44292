//! `synack demo`: its output for fixed seeds is compared with expected files, runs repeat
//! byte for byte, every ending shows its states, and the capture it writes reads cleanly in
//! tshark (skipped with a printed reason when tshark is missing).
//!
//! To accept new output after a deliberate change: `SYNACK_BLESS=1 cargo test -p synack-cli
//! --test demo`, then review the diff of `tests/expected/`.

use std::path::PathBuf;
use std::process::{Command, Output};

fn synack(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_synack")).args(args).output().expect("run synack")
}

fn expected_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/expected").join(format!("{name}.txt"))
}

/// Runs the demo with `args`, checks success and compares with `tests/expected/<name>.txt`.
fn snapshot(name: &str, args: &[&str]) -> String {
    let mut all = vec!["demo"];
    all.extend_from_slice(args);
    let out = synack(&all);
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(
        out.status.success(),
        "{name}: {:?}\n{text}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let path = expected_path(name);
    if std::env::var_os("SYNACK_BLESS").is_some() {
        std::fs::write(&path, &text).expect("write expected");
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("{}: {e} (run with SYNACK_BLESS=1 to create it)", path.display())
    });
    assert_eq!(text, want, "{name}: output differs from {}", path.display());
    text
}

/// The state names printed on the client's (left) and server's (right) side, in order.
fn states(text: &str) -> (Vec<String>, Vec<String>) {
    const NAMES: [&str; 11] = [
        "CLOSED",
        "LISTEN",
        "SYN-SENT",
        "SYN-RECEIVED",
        "ESTABLISHED",
        "FIN-WAIT-1",
        "FIN-WAIT-2",
        "CLOSE-WAIT",
        "CLOSING",
        "LAST-ACK",
        "TIME-WAIT",
    ];
    let (mut l, mut r) = (Vec::new(), Vec::new());
    for line in text.lines() {
        let Some(first) = line.find('|') else { continue };
        let left = line[..first].split_whitespace().last().unwrap_or("");
        if NAMES.contains(&left) {
            l.push(left.to_string());
        }
        let right = line.rsplit('|').next().unwrap_or("").split_whitespace().next().unwrap_or("");
        if NAMES.contains(&right) && line.matches('|').count() >= 2 {
            r.push(right.to_string());
        }
    }
    (l, r)
}

#[test]
fn normal_close_shows_every_state_of_both_ends() {
    let text = snapshot("demo_normal", &[]);
    let (c, s) = states(&text);
    assert_eq!(
        c,
        ["CLOSED", "SYN-SENT", "ESTABLISHED", "CLOSE-WAIT", "LAST-ACK", "CLOSED"],
        "client states\n{text}"
    );
    assert_eq!(
        s,
        [
            "LISTEN",
            "SYN-RECEIVED",
            "ESTABLISHED",
            "FIN-WAIT-1",
            "FIN-WAIT-2",
            "TIME-WAIT",
            "CLOSED"
        ],
        "server states\n{text}"
    );
    for l in ["Hello! Enter BYE to exit.", "Echo: a", "Echo: hello echo server!", "Echo: bye"] {
        assert!(text.contains(&format!("client app: reads {l:?}")), "{l}\n{text}");
    }
    assert!(text.contains("0 lost on the link, 0 retransmitted"));
}

#[test]
fn simultaneous_close_goes_through_closing_on_both_sides() {
    let text = snapshot("demo_simultaneous", &["--close", "simultaneous"]);
    let (c, s) = states(&text);
    assert_eq!(c[c.len() - 4..], ["FIN-WAIT-1", "CLOSING", "TIME-WAIT", "CLOSED"], "{text}");
    assert_eq!(s[s.len() - 4..], ["FIN-WAIT-1", "CLOSING", "TIME-WAIT", "CLOSED"], "{text}");
}

#[test]
fn half_close_lets_the_server_send_after_the_clients_fin() {
    let text = snapshot("demo_half", &["--close", "half"]);
    let (c, s) = states(&text);
    assert_eq!(c[c.len() - 4..], ["FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSED"], "{text}");
    assert_eq!(s[s.len() - 3..], ["CLOSE-WAIT", "LAST-ACK", "CLOSED"], "{text}");
    // The answer to the last line is read after the client's FIN went out.
    let fin = text.find("shutdown(Write)").expect("shutdown shown");
    let echo = text.find("client app: reads \"Echo: hello echo server!\"").expect("echo read");
    assert!(fin < echo, "{text}");
}

#[test]
fn abort_sends_a_reset() {
    let text = snapshot("demo_abort", &["--close", "abort"]);
    assert!(text.lines().any(|l| l.contains("-- RST seq=")), "{text}");
    assert!(text.contains("server app: error: connection reset by peer"), "{text}");
}

#[test]
fn lossy_link_shows_lost_segments_and_retransmissions() {
    let text = snapshot("demo_loss_seed2", &["--loss", "30%", "--seed", "2"]);
    assert!(text.contains("[lost]"), "{text}");
    assert!(text.lines().any(|l| l.ends_with("[retransmission]")), "{text}");
    // Still the whole dialogue, byte for byte.
    assert!(text.contains("client app: reads \"Echo: bye\""), "{text}");
}

#[test]
fn ipv6_and_a_given_dialogue() {
    let text = snapshot("demo_ipv6", &["--ipv6", "--line", "telnet says hi", "--delay", "0"]);
    assert!(text.contains("[fd00:5a::2]:7"), "{text}");
    assert!(text.contains("client app: reads \"Echo: telnet says hi\""), "{text}");
}

#[test]
fn same_seed_same_run_other_seed_other_run() {
    let a = synack(&["demo", "--loss", "0.25", "--seed", "9"]);
    let b = synack(&["demo", "--loss", "0.25", "--seed", "9"]);
    let c = synack(&["demo", "--loss", "0.25", "--seed", "10"]);
    assert_eq!(a.stdout, b.stdout);
    assert_ne!(a.stdout, c.stdout);
}

#[test]
fn bad_options_are_refused_with_a_message() {
    for args in [
        &["demo", "--loss", "1.5"][..],
        &["demo", "--loss", "abc"],
        &["demo", "--delay", "-3"],
        &["demo", "--close", "sideways"],
        &["demo", "--line", "two\nlines"],
    ] {
        let out = synack(args);
        assert!(!out.status.success(), "{args:?} accepted");
        assert!(!out.stderr.is_empty(), "{args:?}: no message");
    }
    let out = synack(&["demo", "--pcap", "/nonexistent-dir/x.pcap"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("creating /nonexistent-dir/x.pcap"));
}

#[test]
fn capture_reads_cleanly_in_tshark() {
    if Command::new("tshark").arg("--version").output().is_err() {
        println!("SKIPPED: tshark not installed");
        return;
    }
    let dir = std::env::temp_dir().join(format!("synack-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, args) in [
        ("plain", &[][..]),
        ("lossy", &["--loss", "0.3", "--seed", "4"][..]),
        ("v6", &["--ipv6", "--close", "simultaneous"][..]),
    ] {
        let file = dir.join(format!("{name}.pcap"));
        let f = file.to_str().unwrap();
        let mut all = vec!["demo", "--pcap", f];
        all.extend_from_slice(args);
        let out = synack(&all);
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let t = Command::new("tshark")
            .args(["-n", "-r", f, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE"])
            .args(["-Y", "_ws.malformed || tcp.checksum.status == 0 || ip.checksum.status == 0"])
            .output()
            .expect("tshark");
        // tshark's note about running as root is about tshark, not the file.
        let err: String = String::from_utf8_lossy(&t.stderr)
            .lines()
            .filter(|l| !l.contains("Running as user \"root\""))
            .collect();
        assert!(t.status.success(), "{name}: tshark failed: {err}");
        assert!(err.trim().is_empty(), "{name}: tshark warned: {err}");
        assert!(
            t.stdout.is_empty(),
            "{name}: malformed or bad checksum:\n{}",
            String::from_utf8_lossy(&t.stdout)
        );
        // Every TCP segment of the capture is there.
        let n = Command::new("tshark").args(["-n", "-r", f, "-Y", "tcp"]).output().unwrap();
        assert!(n.stdout.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count() >= 9, "{name}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
