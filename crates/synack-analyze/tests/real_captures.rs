//! Real captures nobody here made (tcpdump's own test captures in
//! `../shared/captures/tcpdump-tests/`, plus any directories listed in the environment variable
//! `SYNACK_EXTRA_CAPTURES`, separated by `:`), read by synack, by `tcpdump -nn` and by tshark, and
//! compared:
//!
//! * every frame whose tcpdump line shows a TCP layer (`Flags [` or `[|tcp]`) is a TCP-layer
//!   line; tcpdump's line is cut where the TCP layer ends (after `length N`, before any
//!   application summary) and must equal synack's line for the same frame;
//! * every frame that tshark or synack sees as TCP has [`common::FIELDS`] compared cell by cell.
//!
//! The figures are printed per file and in total; the test fails below 99.5% identical lines or
//! 99.9% equal cells, or on any panic. Every difference is written to
//! `$CARGO_TARGET_TMPDIR/real-captures-differences.txt`. Prints `SKIPPED: <reason>` and passes
//! when tcpdump, tshark or the capture directory is missing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use synack_analyze::capture::CaptureReader;
use synack_analyze::dump::{DumpOptions, Output, dump};
use synack_analyze::filter::Filter;

// Shared with the other comparison tests, which use more of it.
#[allow(dead_code)]
mod common;
use common::{FIELDS, have};

/// Lines must agree at least this often (percent).
const MIN_LINES_PCT: f64 = 99.5;
/// Field cells must agree at least this often (percent).
const MIN_CELLS_PCT: f64 = 99.9;

fn capture_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/captures/tcpdump-tests");
    let mut dirs = vec![root];
    if let Ok(extra) = std::env::var("SYNACK_EXTRA_CAPTURES") {
        dirs.extend(extra.split(':').filter(|s| !s.is_empty()).map(PathBuf::from));
    }
    dirs.into_iter().filter(|d| d.is_dir()).collect()
}

fn capture_files(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = dirs
        .iter()
        .flat_map(|d| std::fs::read_dir(d).into_iter().flatten().flatten().map(|e| e.path()))
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("pcap" | "pcapng" | "cap" | "dmp" | "ntar")
            )
        })
        .collect();
    files.sort();
    files
}

/// synack's output for every frame of the capture (what was written before any capture error).
fn ours(path: &Path, output: Output) -> Vec<String> {
    let Ok(reader) = CaptureReader::open(path) else { return Vec::new() };
    let opts = DumpOptions {
        occurrence: Default::default(),
        count: None,
        filter: Filter::parse("").expect("filter"),
        output,
    };
    let mut out = Vec::new();
    let _ = dump(reader, &opts, &mut out);
    String::from_utf8_lossy(&out).lines().map(str::to_string).collect()
}

/// tcpdump's first line per frame, by frame number (`-#`), times in UTC.
fn tcpdump_lines(path: &Path) -> Vec<(usize, String)> {
    let out = Command::new("tcpdump")
        .env("TZ", "UTC")
        .args(["-#", "-nn", "-r"])
        .arg(path)
        .output()
        .expect("run tcpdump");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = Vec::new();
    for l in text.lines() {
        let t = l.trim_start();
        let digits = t.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || !t[digits..].starts_with("  ") || l.starts_with('\t') {
            continue;
        }
        let Ok(n) = t[..digits].parse::<usize>() else { continue };
        if lines.last().is_some_and(|(m, _)| *m >= n) {
            continue;
        }
        lines.push((n, t[digits + 2..].to_string()));
    }
    lines
}

/// The part of a tcpdump line that belongs to the TCP layer and below, or `None` when the line
/// shows no TCP layer.
fn tcp_layer(line: &str) -> Option<String> {
    // Other protocols print `Flags [` too (802.2 LLC); TCP's follow an IP or IP6 layer.
    let ip_before = |at: usize| line[..at].contains("IP ") || line[..at].contains("IP6 ");
    if let Some(at) = line.find("Flags [").filter(|&at| ip_before(at)) {
        let rest = &line[at..];
        if let Some(l) = rest.find(", length ") {
            let digits = rest[l + 9..].bytes().take_while(u8::is_ascii_digit).count();
            return Some(line[..at + l + 9 + digits].to_string());
        }
        return Some(line.to_string());
    }
    line.find("[|tcp]").map(|at| line[..at + 6].to_string())
}

fn tshark_rows(path: &Path) -> Vec<String> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(path).args(["-T", "fields"]);
    for f in FIELDS {
        cmd.arg("-e").arg(f);
    }
    let out = cmd.output().expect("run tshark");
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
}

#[derive(Default)]
struct Figures {
    lines: usize,
    lines_same: usize,
    cells: usize,
    cells_same: usize,
}

fn compare(path: &Path, diffs: &mut Vec<String>) -> Figures {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?").to_string();
    let mut fig = Figures::default();
    let our_lines = ours(path, Output::Lines { timestamps: true });
    for (n, line) in tcpdump_lines(path) {
        let Some(want) = tcp_layer(&line) else { continue };
        fig.lines += 1;
        let got = our_lines.get(n - 1).map(String::as_str).unwrap_or("<no line>");
        if got == want {
            fig.lines_same += 1;
        } else {
            diffs.push(format!("{name} frame {n} line:\n  tcpdump {want}\n  synack  {got}"));
        }
    }
    let fields: Vec<String> = FIELDS.iter().map(|s| s.to_string()).collect();
    let our_rows = ours(path, Output::Fields { fields, header: false, display: None });
    let their_rows = tshark_rows(path);
    let port = FIELDS.iter().position(|f| *f == "tcp.srcport").expect("tcp.srcport");
    for i in 0..their_rows.len().max(our_rows.len()) {
        let t: Vec<&str> = their_rows.get(i).map(|r| r.split('\t').collect()).unwrap_or_default();
        let o: Vec<&str> = our_rows.get(i).map(|r| r.split('\t').collect()).unwrap_or_default();
        let cell = |v: &[&str], j: usize| v.get(j).copied().unwrap_or("").to_string();
        if cell(&t, port).is_empty() && cell(&o, port).is_empty() {
            continue;
        }
        for (j, f) in FIELDS.iter().enumerate() {
            fig.cells += 1;
            let (a, b) = (cell(&t, j), cell(&o, j));
            if a == b {
                fig.cells_same += 1;
            } else {
                diffs.push(format!("{name} frame {}: {f}: tshark {a:?} synack {b:?}", i + 1));
            }
        }
    }
    fig
}

fn pct(n: usize, same: usize) -> f64 {
    if n == 0 { 100.0 } else { 100.0 * same as f64 / n as f64 }
}

#[test]
fn real_captures_agree_with_tcpdump_and_tshark() {
    for t in ["tcpdump", "tshark"] {
        if !have(t) {
            println!("SKIPPED: {t} not installed");
            return;
        }
    }
    let dirs = capture_dirs();
    let files = capture_files(&dirs);
    if files.is_empty() {
        println!("SKIPPED: no captures in ../shared/captures/tcpdump-tests");
        return;
    }
    // Two workers: the tools dominate the time and the machines have few cores.
    let next = Mutex::new(0usize);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    let i = {
                        let mut n = next.lock().expect("lock");
                        *n += 1;
                        *n - 1
                    };
                    let Some(path) = files.get(i) else { break };
                    let mut diffs = Vec::new();
                    let fig = compare(path, &mut diffs);
                    results.lock().expect("lock").push((i, fig, diffs));
                }
            });
        }
    });
    let mut results = results.into_inner().expect("lock");
    results.sort_by_key(|r| r.0);
    let mut total = Figures::default();
    let mut all_diffs = Vec::new();
    println!("{:<50} {:>16} {:>18}", "capture", "tcpdump lines", "tshark cells");
    for (i, fig, diffs) in results {
        let name = files[i].file_name().and_then(|n| n.to_str()).unwrap_or("?");
        println!(
            "{name:<50} {:>7}/{:<7} {:>8}/{:<8}",
            fig.lines_same, fig.lines, fig.cells_same, fig.cells
        );
        total.lines += fig.lines;
        total.lines_same += fig.lines_same;
        total.cells += fig.cells;
        total.cells_same += fig.cells_same;
        all_diffs.extend(diffs);
    }
    let report = Path::new(env!("CARGO_TARGET_TMPDIR")).join("real-captures-differences.txt");
    let _ = std::fs::write(&report, all_diffs.join("\n"));
    let (lp, cp) = (pct(total.lines, total.lines_same), pct(total.cells, total.cells_same));
    println!(
        "{} captures: {}/{} TCP-layer lines identical to tcpdump -nn ({lp:.2}%), {}/{} field \
         cells equal to tshark ({cp:.2}%); differences in {}",
        files.len(),
        total.lines_same,
        total.lines,
        total.cells_same,
        total.cells,
        report.display()
    );
    assert!(lp >= MIN_LINES_PCT, "only {lp:.2}% of TCP-layer lines agree with tcpdump");
    assert!(cp >= MIN_CELLS_PCT, "only {cp:.2}% of field cells agree with tshark");
}
