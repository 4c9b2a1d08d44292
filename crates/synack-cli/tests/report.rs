//! `synack report`: the page refers to nothing outside itself, and headless Chromium renders
//! it with the conversation table, the opened stream's ladder and graphs (skipped with a
//! printed reason when `chromium` is not installed).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

fn synack(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_synack")).args(args).output().expect("run synack");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A directory of this test's own (tests run in parallel and each removes its own).
fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("synack-report-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A report of a scenario's capture (a zero window, probes, and a reset-free close).
fn report_of(scenario: &str, dir: &Path) -> PathBuf {
    let pcap = dir.join(format!("{scenario}.pcap"));
    let html = dir.join(format!("{scenario}.html"));
    let (p, h) = (pcap.to_str().expect("path"), html.to_str().expect("path"));
    synack(&["demo", "--scenario", scenario, "--pcap", p]);
    synack(&["report", "-r", p, "-o", h]);
    html
}

/// Every place the page could name another file or host.
fn external_references(page: &str) -> Vec<String> {
    let mut bad = Vec::new();
    let lower = page.to_ascii_lowercase();
    for needle in ["http:", "https:", "//", "@import", "<link", "<iframe", "<object", "<embed"] {
        if let Some(at) = lower.find(needle) {
            bad.push(format!(
                "{needle} at {at}: {}",
                &page[at.saturating_sub(40)..(at + 40).min(page.len())]
            ));
        }
    }
    for (at, _) in lower.match_indices("src=") {
        let rest = lower[at + 4..].trim_start_matches(['"', '\'']);
        if !rest.starts_with("data:") {
            bad.push(format!("src= at {at}"));
        }
    }
    for (at, _) in lower.match_indices("url(") {
        if !lower[at + 4..].trim_start_matches(['"', '\'']).starts_with('#') {
            bad.push(format!("url( at {at}"));
        }
    }
    bad
}

#[test]
fn the_page_refers_to_nothing_outside_itself() {
    let dir = temp_dir("refs");
    for scenario in ["zero-window", "refused", "syn-flood"] {
        let page = std::fs::read_to_string(report_of(scenario, &dir)).expect("read page");
        assert_eq!(external_references(&page), Vec::<String>::new(), "{scenario}");
        assert!(page.contains("<table id=\"conv\""), "{scenario}: conversation table");
        assert!(page.contains("<template id=\"t0\">"), "{scenario}: details of stream 0");
    }
    // The check itself finds what it looks for.
    assert_eq!(external_references("<img src=\"x.png\"><a href=\"https://e\">").len(), 3);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn headless_chromium_renders_the_tables_and_drawings() {
    let Some(browser) = ["chromium", "chromium-browser"].into_iter().find(|b| {
        Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {b}"))
            .output()
            .is_ok_and(|o| o.status.success())
    }) else {
        println!("SKIPPED: chromium not installed");
        return;
    };
    let dir = temp_dir("chromium");
    let html = report_of("fast-retransmit", &dir);
    let profile = dir.join("profile");
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", html.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    // Read while it runs: the DOM is larger than a pipe holds.
    let mut out = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut dom = String::new();
        let _ = std::io::Read::read_to_string(&mut out, &mut dom);
        dom
    });
    // At most two minutes, counted in 100 ms naps.
    let mut naps = 0;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break Some(s);
        }
        naps += 1;
        if naps > 1200 {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let dom = reader.join().unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(status.is_some_and(|s| s.success()), "chromium failed or hung");
    // The script ran: stream 0's details were copied out of their template into the page.
    let details = dom.find("<div id=\"details\">").expect("details container");
    let shown = &dom[details..];
    assert!(shown.contains("<h2>Stream 0:"), "stream 0 opened on load");
    assert!(shown.matches("<svg").count() >= 5, "ladder and four graphs drawn");
    assert!(shown.contains("id=\"s0-r0\""), "ladder rows carry their ids");
    assert!(shown.contains("fast retransmission"), "the expert notes are listed");
    assert!(dom.contains("<table id=\"conv\""), "conversation table");
    println!("chromium rendered the report: {} bytes of DOM", dom.len());
}
