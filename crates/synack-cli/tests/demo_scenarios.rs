//! `synack demo --scenario NAME`: every scenario runs on the virtual clock, exits 0, and its
//! capture (`--pcap`, every frame that entered the link) holds the segments the scenario is
//! about, found by synack's own Wireshark-style analysis of that capture.

use std::path::PathBuf;
use std::process::Command;

use synack_analyze::analysis::flag;
use synack_analyze::capture::CaptureReader;
use synack_analyze::segments::{Segment, collect};

struct Played {
    text: String,
    segs: Vec<Segment>,
}

fn play(name: &str) -> Played {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // A directory per run, removed with its capture: tests run in parallel.
    let dir = std::env::temp_dir().join(format!("synack-scenario-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let pcap: PathBuf = dir.join(format!("{name}.pcap"));
    let out = Command::new(env!("CARGO_BIN_EXE_synack"))
        .args(["demo", "--scenario", name, "--pcap"])
        .arg(&pcap)
        .output()
        .expect("run synack");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(
        out.status.success(),
        "{name}: {:?}\n{text}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let data = collect(CaptureReader::open(&pcap).expect("open capture"), |_| true);
    assert!(data.error.is_none(), "{name}: {:?}", data.error);
    let _ = std::fs::remove_dir_all(&dir);
    Played { text, segs: data.segments }
}

fn has(s: &Segment, f: u32) -> bool {
    s.analysis & f != 0
}

#[test]
fn list_names_every_scenario() {
    let out = Command::new(env!("CARGO_BIN_EXE_synack"))
        .args(["demo", "--list"])
        .output()
        .expect("run synack");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    for name in [
        "refused",
        "syn-flood",
        "simultaneous-open",
        "time-wait",
        "fast-retransmit",
        "rto",
        "zero-window",
        "slow-start",
        "nagle",
        "keepalive",
        "close-normal",
        "close-simultaneous",
        "close-half",
        "close-abort",
    ] {
        assert!(text.contains(&format!("\n  {name}\n")), "{name} missing from:\n{text}");
    }
    let bad = Command::new(env!("CARGO_BIN_EXE_synack"))
        .args(["demo", "--scenario", "nope"])
        .output()
        .expect("run synack");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("synack demo --list"));
}

#[test]
fn refused_is_answered_by_rst_ack() {
    let p = play("refused");
    assert!(p.segs[0].flags.syn() && !p.segs[0].flags.ack());
    let rst = p.segs.iter().find(|s| !s.from_a && s.flags.rst()).expect("a RST");
    assert!(rst.flags.ack() && rst.ack == 1, "RST+ACK acknowledging the SYN");
    assert!(p.text.contains("connection refused"), "{}", p.text);
}

#[test]
fn syn_flood_is_met_by_cookies_and_the_real_client_gets_in() {
    let p = play("syn-flood");
    // The spoofed SYNs each start a stream of their own; the real client's is the last.
    let spoofed = p.segs.iter().filter(|s| s.flags.syn() && !s.flags.ack() && s.from_a).count();
    assert!(spoofed > 8, "more SYNs than the queue holds: {spoofed}");
    let real = p.segs.iter().map(|s| s.stream).max().expect("streams");
    let real: Vec<&Segment> = p.segs.iter().filter(|s| s.stream == real).collect();
    assert!(real.iter().any(|s| !s.from_a && s.flags.syn() && s.flags.ack()), "SYN,ACK (cookie)");
    let data = real.iter().find(|s| s.from_a && s.len > 0).expect("client data");
    assert!(real.iter().any(|s| !s.from_a && s.ack >= data.seq + data.len), "data acknowledged");
    assert!(p.text.contains("accept()"), "{}", p.text);
}

#[test]
fn simultaneous_open_crosses_two_syns() {
    let p = play("simultaneous-open");
    let bare: Vec<&Segment> = p.segs.iter().filter(|s| s.flags.syn() && !s.flags.ack()).collect();
    assert_eq!(bare.len(), 2, "one SYN each way");
    assert_ne!(bare[0].from_a, bare[1].from_a);
    let synacks = p.segs.iter().filter(|s| s.flags.syn() && s.flags.ack()).count();
    assert_eq!(synacks, 2, "each end answers with SYN,ACK");
    assert!(p.text.contains("SYN-RECEIVED"), "{}", p.text);
}

#[test]
fn time_wait_lasts_two_msl_then_the_4_tuple_is_reused() {
    let p = play("time-wait");
    let syns: Vec<&Segment> = p.segs.iter().filter(|s| s.flags.syn() && !s.flags.ack()).collect();
    assert_eq!(syns.len(), 3, "three connections on one 4-tuple");
    // Connection 1's last ACK, then connection 2's SYN at least 2*MSL (2 s) later.
    let last_ack_1 = p
        .segs
        .iter()
        .filter(|s| s.ts_ns < syns[1].ts_ns && s.from_a)
        .map(|s| s.ts_ns)
        .max()
        .expect("connection 1");
    assert!(syns[1].ts_ns - last_ack_1 >= 2_000_000_000, "2*MSL before reuse");
    // Connection 3 reuses the 4-tuple while the server still holds TIME-WAIT (RFC 6191).
    let fin_2 = p
        .segs
        .iter()
        .filter(|s| s.ts_ns < syns[2].ts_ns && !s.from_a && s.flags.fin())
        .map(|s| s.ts_ns)
        .max()
        .expect("server FIN of connection 2");
    assert!(syns[2].ts_ns - fin_2 < 2_000_000_000, "reused inside TIME-WAIT");
    assert!(
        p.segs.iter().any(|s| s.ts_ns > syns[2].ts_ns && s.flags.syn() && s.flags.ack()),
        "the server accepts the reuse"
    );
}

#[test]
fn fast_retransmit_follows_three_duplicate_acks() {
    let p = play("fast-retransmit");
    let dups = p.segs.iter().filter(|s| has(s, flag::DUPLICATE_ACK)).count();
    assert!(dups >= 3, "{dups} duplicate ACKs");
    let fast = p.segs.iter().filter(|s| has(s, flag::FAST_RETRANSMISSION)).count();
    assert_eq!(fast, 1, "one fast retransmission\n{}", p.text);
}

#[test]
fn rto_retransmits_after_the_timer() {
    let p = play("rto");
    let data: Vec<&Segment> = p.segs.iter().filter(|s| s.from_a && s.len > 0).collect();
    assert_eq!(data.len(), 2, "the lost segment and its retransmission");
    assert!(has(data[1], flag::RETRANSMISSION) && !has(data[1], flag::FAST_RETRANSMISSION));
    assert!(p.segs.iter().all(|s| !has(s, flag::DUPLICATE_ACK)), "no duplicate ACKs");
    assert!(data[1].ts_ns - data[0].ts_ns >= 200_000_000, "waited for the RTO");
}

#[test]
fn zero_window_is_probed() {
    let p = play("zero-window");
    let zero = p.segs.iter().position(|s| has(s, flag::ZERO_WINDOW)).expect("a zero window");
    let probes = p.segs[zero..]
        .iter()
        .filter(|s| s.from_a && (has(s, flag::ZERO_WINDOW_PROBE) || has(s, flag::KEEP_ALIVE)))
        .count();
    assert!(probes >= 3, "{probes} persist probes");
    // The probes back off: each gap is longer than the one before.
    let times: Vec<u64> = p.segs[zero..]
        .iter()
        .filter(|s| s.from_a && s.len == 0 && s.window > 0 && !s.flags.syn())
        .take(3)
        .map(|s| s.ts_ns)
        .collect();
    assert!(times.len() == 3 && times[2] - times[1] > times[1] - times[0], "{times:?}");
}

#[test]
fn slow_start_doubles_per_round_trip() {
    let p = play("slow-start");
    let rounds: Vec<u64> = p
        .text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("RTT"))
        .filter_map(|l| l.split_whitespace().nth(1)?.parse().ok())
        .collect();
    assert!(rounds.len() >= 4, "{}", p.text);
    for w in rounds.windows(2).take(3) {
        assert!(w[1] * 10 >= w[0] * 18, "doubling: {rounds:?}");
    }
}

#[test]
fn nagle_coalesces_small_writes_and_nodelay_does_not() {
    let p = play("nagle");
    let count = |label: &str| -> usize {
        let l = p.text.lines().find(|l| l.starts_with(label)).expect(label);
        l.split(" in ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
            .expect("count")
    };
    assert!(count("with Nagle") < 10, "{}", p.text);
    assert_eq!(count("with TCP_NODELAY"), 10, "{}", p.text);
}

#[test]
fn keepalive_probes_are_answered() {
    let p = play("keepalive");
    let probes = p.segs.iter().filter(|s| s.from_a && has(s, flag::KEEP_ALIVE)).count();
    let acks = p.segs.iter().filter(|s| !s.from_a && has(s, flag::KEEP_ALIVE_ACK)).count();
    assert!(probes >= 2 && acks >= 2, "{probes} probes, {acks} answers\n{}", p.text);
}

#[test]
fn close_modes_are_scenarios_too() {
    let out = Command::new(env!("CARGO_BIN_EXE_synack"))
        .args(["demo", "--scenario", "close-abort"])
        .output()
        .expect("run synack");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.contains("RST"), "{text}");
}

#[test]
fn scenarios_repeat_byte_for_byte() {
    let ladder = |p: Played| -> String {
        p.text.lines().filter(|l| !l.starts_with("capture written")).collect::<Vec<_>>().join("\n")
    };
    assert_eq!(ladder(play("fast-retransmit")), ladder(play("fast-retransmit")));
}
