//! Support shared by the tests that hold synack's reading of a capture against tshark and
//! tcpdump (`kernel_compare.rs`, `synack_written.rs`): the field list, running the tools and
//! synack's dump, and the field-by-field comparison both make.

use std::path::Path;
use std::process::Command;

use synack_analyze::capture::CaptureReader;
use synack_analyze::dump::{DumpOptions, Output, dump};
use synack_analyze::filter::Filter;

/// The field list of issue 7, in order.
pub(crate) const FIELDS: &[&str] = &[
    "frame.number",
    "frame.time_relative",
    "tcp.stream",
    "ip.src",
    "ip.dst",
    "ipv6.src",
    "ipv6.dst",
    "tcp.srcport",
    "tcp.dstport",
    "tcp.flags.str",
    "tcp.seq",
    "tcp.seq_raw",
    "tcp.ack",
    "tcp.ack_raw",
    "tcp.nxtseq",
    "tcp.len",
    "tcp.hdr_len",
    "tcp.window_size_value",
    "tcp.window_size",
    "tcp.options.mss_val",
    "tcp.options.wscale.shift",
    "tcp.options.sack_perm",
    "tcp.options.timestamp.tsval",
    "tcp.options.timestamp.tsecr",
    "tcp.checksum.status",
    "tcp.analysis.retransmission",
    "tcp.analysis.fast_retransmission",
    "tcp.analysis.spurious_retransmission",
    "tcp.analysis.out_of_order",
    "tcp.analysis.lost_segment",
    "tcp.analysis.ack_lost_segment",
    "tcp.analysis.duplicate_ack",
    "tcp.analysis.duplicate_ack_num",
    "tcp.analysis.zero_window",
    "tcp.analysis.zero_window_probe",
    "tcp.analysis.window_update",
    "tcp.analysis.window_full",
    "tcp.analysis.keep_alive",
    "tcp.analysis.keep_alive_ack",
    "tcp.analysis.ack_rtt",
    "tcp.analysis.bytes_in_flight",
];

/// True when `tool` is on the `PATH`.
pub(crate) fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs a tool that must succeed and returns its standard output.
pub(crate) fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run tool");
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf8")
}

/// synack's dump of the capture at `path`, with a capture filter (`""`: every packet).
pub(crate) fn synack_dump(path: &Path, filter: &str, output: Output) -> String {
    let reader = CaptureReader::open(path).expect("open capture");
    let opts = DumpOptions {
        occurrence: Default::default(),
        count: None,
        filter: Filter::parse(filter).expect("filter"),
        output,
    };
    let mut out = Vec::new();
    dump(reader, &opts, &mut out).expect("dump");
    String::from_utf8(out).expect("utf8")
}

/// How synack's [`FIELDS`] of one capture compare with tshark's: counts split into the plain
/// fields (which must all agree) and tshark's `tcp.analysis.*` heuristics (1% may differ).
pub(crate) struct FieldComparison {
    /// Frames in the capture (the same for both, checked).
    pub(crate) frames: usize,
    /// Plain field values compared.
    pub(crate) plain: usize,
    /// Plain field values that differ.
    pub(crate) plain_bad: usize,
    /// Analysis field values compared.
    pub(crate) analysis: usize,
    /// Analysis field values that differ.
    pub(crate) analysis_bad: usize,
    /// Every difference, as "frame N: field: tshark .. synack ..".
    pub(crate) diffs: Vec<String>,
}

impl FieldComparison {
    /// Percentage of plain field values that agree.
    pub(crate) fn plain_pct(&self) -> f64 {
        pct(self.plain, self.plain_bad)
    }
    /// Percentage of analysis field values that agree.
    pub(crate) fn analysis_pct(&self) -> f64 {
        pct(self.analysis, self.analysis_bad)
    }
    /// Fails the test unless every plain field agrees and at most 1% of analysis fields differ.
    pub(crate) fn assert_agrees(&self, name: &str) {
        let diffs = self.diffs.join("\n");
        assert_eq!(self.plain_bad, 0, "{name}: non-analysis fields differ:\n{diffs}");
        assert!(
            self.analysis_bad * 100 <= self.analysis,
            "{name}: analysis fields differ on more than 1%:\n{diffs}"
        );
    }
}

fn pct(n: usize, bad: usize) -> f64 {
    if n == 0 { 100.0 } else { 100.0 * (n - bad) as f64 / n as f64 }
}

/// Reads [`FIELDS`] of every frame of the capture at `path` with tshark and with synack and
/// compares them value by value; fails the test when the frame counts differ.
pub(crate) fn compare_fields(path: &Path, name: &str) -> FieldComparison {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(path).arg("-T").arg("fields");
    for f in FIELDS {
        cmd.arg("-e").arg(f);
    }
    let theirs = run(&mut cmd);
    let ours = synack_dump(
        path,
        "",
        Output::Fields {
            fields: FIELDS.iter().map(|s| s.to_string()).collect(),
            header: false,
            display: None,
        },
    );
    let t: Vec<&str> = theirs.lines().collect();
    let o: Vec<&str> = ours.lines().collect();
    assert_eq!(t.len(), o.len(), "{name}: frame count");
    let mut c = FieldComparison {
        frames: t.len(),
        plain: 0,
        plain_bad: 0,
        analysis: 0,
        analysis_bad: 0,
        diffs: Vec::new(),
    };
    for (i, (tl, ol)) in t.iter().zip(&o).enumerate() {
        let tv: Vec<&str> = tl.split('\t').collect();
        let ov: Vec<&str> = ol.split('\t').collect();
        for (j, f) in FIELDS.iter().enumerate() {
            let (a, b) = (tv.get(j).copied().unwrap_or(""), ov.get(j).copied().unwrap_or(""));
            let is_an = f.starts_with("tcp.analysis.");
            if is_an {
                c.analysis += 1;
            } else {
                c.plain += 1;
            }
            if a != b {
                if is_an {
                    c.analysis_bad += 1;
                } else {
                    c.plain_bad += 1;
                }
                c.diffs.push(format!("frame {}: {f}: tshark {a:?} synack {b:?}", i + 1));
            }
        }
    }
    c
}
