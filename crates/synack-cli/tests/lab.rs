//! `synack lab` as root: it creates its namespace, the kernel talks to synack's echo server
//! through it, Ctrl-C (SIGINT) stops it, the namespace is gone afterwards and the capture
//! reads cleanly. Prints `SKIPPED: <reason>` without root, /dev/net/tun, `ip` or `nc`.

// Real processes need real time: every wait here is a bounded wall-clock wait.
#![allow(clippy::disallowed_methods)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn skip_reason() -> Option<String> {
    synack_tun::netns::unavailable(&["ip", "nc", "timeout"])
}

#[test]
fn lab_serves_the_kernel_and_cleans_up_on_ctrl_c() {
    if let Some(why) = skip_reason() {
        println!("SKIPPED: {why}");
        return;
    }
    synack_tun::netns::remove_orphans("synack-labtest-");
    let ns = format!("synack-labtest-{}", std::process::id());
    let dir = std::env::temp_dir().join(&ns);
    std::fs::create_dir_all(&dir).unwrap();
    let pcap = dir.join("lab.pcap");
    let mut child = Command::new(env!("CARGO_BIN_EXE_synack"))
        .args(["lab", "--netns", &ns, "--for", "60", "--pcap", pcap.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start lab");
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let mut lines = Vec::new();
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end && !lines.iter().any(|l: &String| l.contains("Ctrl-C stops")) {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
            lines.push(l);
        }
    }
    let text = lines.join("\n");
    let ok = text.contains(&format!("ip netns exec {ns} nc 10.77.0.2 7"));
    let out = Command::new("sh")
        .args([
            "-c",
            &format!("printf 'lab line\\nbye\\n' | timeout 10 ip netns exec {ns} nc 10.77.0.2 7"),
        ])
        .output()
        .unwrap();
    let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
    let end = Instant::now() + Duration::from_secs(15);
    let mut status = None;
    while Instant::now() < end {
        if let Ok(Some(s)) = child.try_wait() {
            status = Some(s);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if status.is_none() {
        let _ = child.kill();
        let _ = Command::new("ip").args(["netns", "del", &ns]).status();
    }
    // Reaped on every path (a no-op when try_wait already collected it).
    let _ = child.wait();
    while let Ok(l) = rx.recv_timeout(Duration::from_millis(300)) {
        lines.push(l);
    }
    let text = lines.join("\n");
    assert!(ok, "instructions missing:\n{text}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Hello! Enter BYE to exit.\nEcho: lab line\nEcho: bye\n",
        "{text}"
    );
    assert!(status.is_some_and(|s| s.success()), "lab did not stop on SIGINT: {status:?}\n{text}");
    assert!(text.contains(&format!("removed network namespace {ns}")), "{text}");
    let listed = Command::new("ip").args(["netns", "list"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&listed.stdout).contains(&ns), "namespace left behind");
    if Command::new("tshark").arg("--version").output().is_ok() {
        let t = Command::new("tshark")
            .args(["-n", "-r", pcap.to_str().unwrap(), "-Y", "tcp.port == 7"])
            .output()
            .unwrap();
        assert!(t.status.success() && !t.stdout.is_empty(), "capture unreadable or empty");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
