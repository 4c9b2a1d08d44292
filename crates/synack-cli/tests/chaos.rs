//! Chaos suite: `synack serve` on a TUN device in a namespace of its own, attacked and
//! overloaded from the kernel's side, with pass/fail thresholds.
//!
//! The packets come from `synack flood` (spoofed SYNs on a packet socket) and
//! `tests/chaos/attack.py` (raw sockets with spoofed sources, packet sockets to complete
//! handshakes from addresses nobody owns, plain kernel sockets for the legitimate clients); everything stays inside the test's namespace. Spoofed sources are other
//! hosts of the TUN device's /24: synack's answers go back into the device, where the kernel,
//! which owns only `.1` and does not forward, drops them. Sizes are CI-sized (each test's
//! doc gives its figures); every wait is bounded; the suite takes about 30 s. Prints `SKIPPED: <reason>`
//! and passes without root, /dev/net/tun, `ip` or `python3`.

// Real processes need real time: every wait here is a bounded wall-clock wait.
#![allow(clippy::disallowed_methods)]

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_synack");
const ATTACK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/chaos/attack.py");

mod support;
use support::{Ns, Proc};

fn skip_reason() -> Option<String> {
    support::skip_reason(&["ip", "python3", "timeout"])
}

/// Runs attack.py's `mode` in `ns` to completion within `secs`; its JSON answer.
fn attack(ns: &Ns, args: &[&str], secs: u32) -> Value {
    let mut argv = vec!["python3", ATTACK];
    argv.extend_from_slice(args);
    let out = ns.run(&argv, secs);
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().last().unwrap_or("");
    serde_json::from_str(last).unwrap_or_else(|e| {
        panic!(
            "attack.py {args:?} ({:?}): {e}; stdout {text:?}; stderr {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// `synack serve SERVICE` on TUN device `tun` in `ns`, synack at `<net>.2`, the kernel `.1`.
fn serve(ns: &Ns, service: &str, tun: &str, net: &str, extra: &[&str]) -> Proc {
    let (addr, kaddr) = (format!("{net}.2/24"), format!("{net}.1/24"));
    let mut args =
        vec![BIN, "serve", service, "--tun", tun, "--addr", &addr, "--kernel-addr", &kaddr];
    args.extend_from_slice(extra);
    let s = Proc::spawn(ns.cmd(&args));
    assert!(s.wait_until(15, |t| t.contains("synack serves")), "serve did not start: {}", s.text());
    s
}

/// A short tag unique to this process run, for TUN device names (at most 15 bytes).
fn tun_name(tag: &str) -> String {
    format!("ch{tag}{}", std::process::id() % 100_000)
}

fn legit_ok(v: &Value) -> (u64, u64) {
    (v["ok"].as_u64().unwrap_or(0), v["failed"].as_u64().unwrap_or(0))
}

/// 4 s of spoofed SYNs from `synack flood` at 20,000/s (the rate it reached is printed) while
/// 100 echo sessions, 10 at a time, run: at least 80 must succeed (a debug build reads the TUN
/// device slowly enough that the kernel drops some legit SYNs at its queue; the release
/// figures, at higher rates, are in docs/BENCHMARKS.md "flood"), and all 20 right after.
#[test]
fn syn_flood_while_legit_clients_connect() {
    if let Some(why) = skip_reason() {
        println!("SKIPPED: {why}");
        return;
    }
    let ns = Ns::new("chaos", "flood");
    let net = "10.91.0";
    let mut s = serve(&ns, "echo", &tun_name("f"), net, &["--quiet"]);
    let dst = format!("{net}.2");
    let (tun, target, sources) = (tun_name("f"), format!("{dst}:7"), format!("{net}.3-{net}.254"));
    let flood = {
        let mut c = ns.cmd(&[
            BIN,
            "flood",
            "--dev",
            &tun,
            "--target",
            &target,
            "--sources",
            &sources,
            "--secs",
            "4",
            "--rate",
            "20000",
        ]);
        c.stdout(Stdio::piped());
        c.spawn().expect("flood")
    };
    std::thread::sleep(Duration::from_millis(300));
    let during = attack(&ns, &["legit", &dst, "7", "100", "10"], 60);
    let flood_out = flood.wait_with_output().expect("flood ends");
    let after = attack(&ns, &["legit", &dst, "7", "20", "5"], 60);
    let flood_text = String::from_utf8_lossy(&flood_out.stdout);
    println!("flood: {}", flood_text.trim());
    let flood: Value = serde_json::from_str(flood_text.trim())
        .unwrap_or_else(|e| panic!("synack flood: {e}: {flood_text:?} {:?}", flood_out.status));
    assert!(flood["sent"].as_u64().unwrap_or(0) >= 4000, "the flood hardly ran: {flood}");
    println!("legit during the flood: {during}");
    println!("legit after: {after}");
    assert!(s.alive(), "serve died: {}", s.text());
    let (ok, _) = legit_ok(&during);
    assert!(ok >= 80, "only {ok} of 100 legit sessions succeeded during the flood: {during}");
    assert_eq!(legit_ok(&after), (20, 0), "after the flood: {after}");
}

/// 5,000 blind segments on a live connection's 4-tuple (RSTs and RST+ACKs with random
/// sequence numbers, SYNs, data and out-of-window data): the connection goes on untouched.
#[test]
fn blind_injection_leaves_a_live_connection_intact() {
    if let Some(why) = skip_reason() {
        println!("SKIPPED: {why}");
        return;
    }
    let ns = Ns::new("chaos", "inject");
    let net = "10.92.0";
    let mut s = serve(&ns, "echo", &tun_name("i"), net, &["--quiet"]);
    let v = attack(&ns, &["inject", &format!("{net}.2"), "7", "5000"], 90);
    println!("{v}");
    assert_eq!(v["echo"], "Echo: still here\n", "the connection was disturbed: {v}");
    let rest = v["rest"].as_str().unwrap_or("");
    assert!(rest.starts_with("Echo: bye"), "no orderly end: {v}");
    assert!(!rest.contains("INJECTED"), "injected data reached the application: {v}");
    assert!(s.alive(), "serve died: {}", s.text());
}

/// 20,000 malformed packets (truncated and overlong TCP headers, garbage options, bad
/// checksums, fragments that never complete, unknown protocols); then 20 sessions all succeed.
#[test]
fn malformed_packets_change_nothing() {
    if let Some(why) = skip_reason() {
        println!("SKIPPED: {why}");
        return;
    }
    let ns = Ns::new("chaos", "malformed");
    let net = "10.93.0";
    let mut s = serve(&ns, "echo", &tun_name("m"), net, &["--quiet"]);
    let dst = format!("{net}.2");
    let v = attack(&ns, &["malformed", &dst, "7", "20000"], 120);
    println!("{v}");
    let after = attack(&ns, &["legit", &dst, "7", "20", "5"], 60);
    assert!(s.alive(), "serve died: {}", s.text());
    assert_eq!(legit_ok(&after), (20, 0), "after malformed packets: {after}");
}

/// 300 peers complete the handshake and fall silent (the issue saw 5,000; 300 keeps CI short):
/// keep-alive and the user timeout reap every one within 30 s while legit sessions go on.
#[test]
fn silent_peers_are_reaped() {
    if let Some(why) = skip_reason() {
        println!("SKIPPED: {why}");
        return;
    }
    const PEERS: usize = 300;
    let ns = Ns::new("chaos", "silent");
    let net = "10.94.0";
    let tun = tun_name("s");
    let limits = [
        "--keepalive-idle",
        "2",
        "--keepalive-interval",
        "1",
        "--keepalive-probes",
        "2",
        "--user-timeout",
        "3",
        "--idle-timeout",
        "0",
    ];
    let mut s = serve(&ns, "echo", &tun, net, &limits);
    let dst = format!("{net}.2");
    let v = attack(&ns, &["silent", &dst, "7", &PEERS.to_string(), &tun], 60);
    println!("{v}");
    let handshakes = v["handshakes"].as_u64().unwrap_or(0) as usize;
    assert!(handshakes >= PEERS * 9 / 10, "handshakes: {v}");
    let legit = attack(&ns, &["legit", &dst, "7", "20", "5"], 60);
    assert_eq!(legit_ok(&legit), (20, 0), "legit sessions beside silent peers: {legit}");
    let silent_ended = |t: &str| t.lines().filter(|l| l.contains(": ended:")).count();
    let reaped = s.wait_until(30, |t| silent_ended(t) >= handshakes);
    assert!(reaped, "{} of {handshakes} silent peers reaped after 30 s", silent_ended(&s.text()));
    assert!(s.alive(), "serve died: {}", s.text());
}

/// 1,000 connections opened at once (a SYN burst four times the SYN queue): at least 99%
/// complete a greeting and an echo.
#[test]
fn connection_storm() {
    if let Some(why) = skip_reason() {
        println!("SKIPPED: {why}");
        return;
    }
    let ns = Ns::new("chaos", "storm");
    let net = "10.95.0";
    let mut s = serve(&ns, "echo", &tun_name("c"), net, &["--quiet"]);
    let v = attack(&ns, &["storm", &format!("{net}.2"), "7", "1000"], 90);
    println!("{v}");
    let (ok, _) = legit_ok(&v);
    assert!(ok >= 990, "storm: {v}");
    assert!(s.alive(), "serve died: {}", s.text());
}

/// `synack serve discard` is killed (SIGKILL) in the middle of a kernel upload: the kernel
/// sender (TCP_USER_TIMEOUT 5 s) gets an error within 20 s instead of hanging.
#[test]
fn killed_mid_transfer_the_kernel_peer_does_not_hang() {
    if let Some(why) = skip_reason() {
        println!("SKIPPED: {why}");
        return;
    }
    let ns = Ns::new("chaos", "kill");
    let net = "10.96.0";
    let mut s = serve(&ns, "discard", &tun_name("k"), net, &["--quiet"]);
    let bulk = Proc::spawn(ns.cmd(&["python3", ATTACK, "bulk", &format!("{net}.2"), "9", "60"]));
    assert!(bulk.wait_until(15, |t| t.contains("connected")), "bulk: {}", bulk.text());
    std::thread::sleep(Duration::from_secs(1));
    s.kill9();
    let mut bulk = bulk;
    let st = bulk.exits_within(25);
    let text = bulk.text();
    println!("{text}");
    assert!(st.is_some(), "the kernel sender still hangs 25 s after synack died: {text}");
    assert!(!text.contains("still sending"), "the sender never noticed: {text}");
}

/// The TUN device is deleted under load (20 echo sessions at a time running): every pending
/// call fails, so each connection that was accepted ends (with an error or done), the accept
/// loop's error names the stopped driver, and `synack serve` exits with a failure status within
/// 15 s instead of hanging.
#[test]
fn tun_device_removed_under_load() {
    if let Some(why) = skip_reason() {
        println!("SKIPPED: {why}");
        return;
    }
    let ns = Ns::new("chaos", "tundel");
    let net = "10.97.0";
    let tun = tun_name("d");
    let mut s = serve(&ns, "echo", &tun, net, &[]);
    let dst = format!("{net}.2");
    let load = Proc::spawn(ns.cmd(&["python3", ATTACK, "legit", &dst, "7", "100000", "20"]));
    let accepted = |t: &str| t.lines().filter(|l| l.contains(" accepted from ")).count();
    assert!(s.wait_until(20, |t| accepted(t) >= 50), "no load: {}", s.text());
    let del = ns.cmd(&["ip", "link", "del", &tun]).status().expect("ip link del");
    assert!(del.success(), "could not delete {tun}");
    let st = s.exits_within(15);
    drop(load);
    let text = s.text();
    let st = st.unwrap_or_else(|| panic!("serve still running 15 s after its TUN went: {text}"));
    let last = text.lines().filter(|l| l.contains("synack:")).collect::<Vec<_>>();
    println!("{} connections accepted; serve exited ({st}): {last:?}", accepted(&text));
    assert!(!st.success(), "serve exited as if nothing happened: {text}");
    assert!(text.contains("driver has stopped"), "no clear report: {text}");
    let ended = text.lines().filter(|l| l.contains(": ended:") || l.contains(": done,")).count();
    assert_eq!(ended, accepted(&text), "a connection never ended: {text}");
}
