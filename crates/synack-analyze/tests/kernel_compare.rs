//! Captures made by the Linux kernel inside a private network namespace, read by synack and by
//! tshark/tcpdump, compared field by field and line by line.
//!
//! Needs root, `unshare`, `python3`, `tcpdump`, `tshark` and `nft`; prints `SKIPPED: <reason>`
//! and passes when any is missing. The namespace is anonymous (`unshare --net`), so it vanishes
//! with its last process; the captures go to `$TMPDIR/synack-analyze-kernel-captures-<pid>`, and
//! a run removes the directories of earlier runs whose process is gone.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use synack_analyze::capture::CaptureReader;
use synack_analyze::dump::Output;
use synack_analyze::fields::DisplayFilter;

mod common;
use common::{compare_fields, have, run, synack_dump};

const SCENARIOS: &[&str] = &[
    "basic",
    "ipv6",
    "refused",
    "halfclose",
    "rst_abort",
    "parallel",
    "lossy",
    "zerowin",
    "keepalive",
    "reuse",
    "misc",
];

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// Makes the captures once per test binary; `Err(reason)` when the machine cannot.
/// The capture directory's name, before `-<pid>`.
const CAPTURE_DIR: &str = "synack-analyze-kernel-captures";

/// Removes the capture directories of test processes that no longer run.
fn remove_stale_capture_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(CAPTURE_DIR)) else { continue };
        let Some(pid) = pid.strip_prefix('-').and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

fn captures() -> Result<&'static Path, String> {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    DIR.get_or_init(|| {
        if !is_root() {
            return Err("not root".into());
        }
        for t in ["unshare", "python3", "tcpdump", "tshark", "nft", "ip"] {
            if !have(t) {
                return Err(format!("{t} not installed"));
            }
        }
        // A directory per test process, so concurrent runs do not clobber each other; those
        // of finished runs are removed here, so nothing piles up. It lives in the system temp
        // dir (not the target dir) because tcpdump writes it after dropping root privileges and
        // a checkout under /root would not be reachable.
        remove_stale_capture_dirs();
        let dir = std::env::temp_dir().join(format!("{CAPTURE_DIR}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        // tcpdump drops privileges to its own user: let it write here.
        let _ = Command::new("chmod").arg("777").arg(&dir).status();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/scenarios.py");
        let out = Command::new("unshare")
            .arg("--net")
            .arg("python3")
            .arg(&script)
            .arg(&dir)
            .args(SCENARIOS)
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!(
                "scenario script failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(dir)
    })
    .as_ref()
    .map(|p| p.as_path())
    .map_err(|e| e.clone())
}

macro_rules! need_captures {
    () => {
        match captures() {
            Ok(d) => d,
            Err(reason) => {
                println!("SKIPPED: {reason}");
                return;
            }
        }
    };
}

#[test]
fn fields_agree_with_tshark() {
    let dir = need_captures!();
    let mut failures = Vec::new();
    println!("{:<10} {:>6} {:>14} {:>14}", "capture", "frames", "plain fields", "analysis");
    for name in SCENARIOS {
        let path = dir.join(format!("{name}.pcap"));
        let c = compare_fields(&path, name);
        println!(
            "{:<10} {:>6} {:>13.2}% {:>13.2}%",
            name,
            c.frames,
            c.plain_pct(),
            c.analysis_pct()
        );
        c.assert_agrees(name);
        let room = 30usize.saturating_sub(failures.len());
        failures.extend(c.diffs.iter().take(room).map(|d| format!("{name} {d}")));
    }
    for f in &failures {
        println!("difference: {f}");
    }
}

#[test]
fn lines_agree_with_tcpdump() {
    let dir = need_captures!();
    for name in SCENARIOS {
        let path = dir.join(format!("{name}.pcap"));
        let theirs = run(Command::new("tcpdump").arg("-nn").arg("-t").arg("-r").arg(&path));
        let ours = synack_dump(&path, "", Output::Lines { timestamps: false });
        let t: Vec<&str> = theirs.lines().collect();
        let o: Vec<&str> = ours.lines().collect();
        assert_eq!(t.len(), o.len(), "{name}: line count");
        let mut same = 0;
        for (i, (a, b)) in t.iter().zip(&o).enumerate() {
            assert_eq!(a, b, "{name} line {}", i + 1);
            same += 1;
        }
        println!("{name}: {same}/{} lines identical to tcpdump -nn", t.len());
    }
}

/// Filter expressions checked against tcpdump's own selection.
const EXPRESSIONS: &[&str] = &[
    "tcp",
    "udp",
    "icmp",
    "ip",
    "ip6",
    "host 127.0.0.1",
    "host ::1",
    "src host 127.0.0.1 and dst port 5001",
    "net 127.0.0.0/8",
    "net 127.0.0.0 mask 255.0.0.0",
    "port 5006",
    "tcp dst port 5006",
    "src port 5007 or dst port 5008",
    "portrange 5000-5004",
    "tcp[13] & 4 != 0",
    "tcp[tcpflags] & (tcp-syn|tcp-fin) != 0",
    "tcp[tcpflags] & tcp-syn != 0 and tcp[tcpflags] & tcp-ack == 0",
    "tcp[tcpflags] == tcp-ack",
    "not tcp[tcpflags] & tcp-ack != 0",
    "len > 100",
    "len <= 66",
    "greater 1000",
    "less 70",
    "ip[2:2] > 200",
    "ip[8] == 64",
    "tcp[14:2] == 0",
    "(tcp[12] >> 4) > 5",
    "ip6 and tcp",
    "ip6 and port 5002",
    "! port 5006 && ! port 5007",
    "port 5001 or port 5002 and tcp",
    "tcp and (port 5003 or 5004)",
    "src or dst port 5005",
    "tcp[0:2] > 40000",
    "ip proto 6",
    "ip6 proto 6",
];

#[test]
fn filters_select_like_tcpdump() {
    let dir = need_captures!();
    let mut checked = 0;
    for name in SCENARIOS {
        let path = dir.join(format!("{name}.pcap"));
        for expr in EXPRESSIONS {
            let theirs =
                run(Command::new("tcpdump").arg("-nn").arg("-t").arg("-r").arg(&path).arg(expr));
            let ours = synack_dump(&path, expr, Output::Lines { timestamps: false });
            assert_eq!(
                theirs.lines().count(),
                ours.lines().count(),
                "{name}: `{expr}` selects a different number of packets"
            );
            assert_eq!(theirs, ours, "{name}: `{expr}` selects different packets");
            checked += 1;
        }
    }
    println!("{checked} (capture, expression) pairs select exactly what tcpdump selects");
}

#[test]
fn pcapng_and_nanosecond_copies_read_the_same() {
    let dir = need_captures!();
    if !have("editcap") {
        println!("SKIPPED: editcap not installed");
        return;
    }
    for name in ["lossy", "ipv6"] {
        let path = dir.join(format!("{name}.pcap"));
        let ng = dir.join(format!("{name}.pcapng"));
        let nano = dir.join(format!("{name}.nano.pcap"));
        run(Command::new("editcap").arg("-F").arg("pcapng").arg(&path).arg(&ng));
        run(Command::new("editcap").arg("-F").arg("nsecpcap").arg(&path).arg(&nano));
        let fields = vec![
            "frame.number".to_string(),
            "frame.time_relative".into(),
            "tcp.seq".into(),
            "tcp.analysis.ack_rtt".into(),
        ];
        let mk = || Output::Fields { fields: fields.clone(), header: false, display: None };
        let a = synack_dump(&path, "", mk());
        assert_eq!(a, synack_dump(&ng, "", mk()), "{name}: pcapng copy differs");
        assert_eq!(a, synack_dump(&nano, "", mk()), "{name}: nanosecond copy differs");
        let la = synack_dump(&path, "tcp", Output::Lines { timestamps: true });
        assert_eq!(la, synack_dump(&ng, "tcp", Output::Lines { timestamps: true }));
    }
}

#[test]
fn display_filters_select_like_tshark() {
    let dir = need_captures!();
    for name in ["lossy", "parallel", "refused", "zerowin"] {
        let path = dir.join(format!("{name}.pcap"));
        for df in [
            "tcp.stream == 3",
            "tcp.analysis.retransmission",
            "tcp.flags.syn == 1 && tcp.flags.ack == 0",
            "tcp.analysis.duplicate_ack || tcp.analysis.zero_window",
            "!(tcp.len == 0) and tcp.srcport != 5005",
        ] {
            let theirs = run(Command::new("tshark")
                .arg("-r")
                .arg(&path)
                .arg("-Y")
                .arg(df)
                .arg("-T")
                .arg("fields")
                .arg("-e")
                .arg("frame.number"));
            let ours = synack_dump(
                &path,
                "",
                Output::Fields {
                    fields: vec!["frame.number".into()],
                    header: false,
                    display: Some(DisplayFilter::parse(df).expect("display filter")),
                },
            );
            assert_eq!(theirs, ours, "{name}: -Y {df:?}");
        }
    }
}

#[test]
fn conversations_match_tshark_conv_table() {
    let dir = need_captures!();
    for name in SCENARIOS {
        let path = dir.join(format!("{name}.pcap"));
        let table =
            run(Command::new("tshark").arg("-r").arg(&path).arg("-q").arg("-z").arg("conv,tcp"));
        let ours = synack_analyze::stats::stats(CaptureReader::open(&path).expect("open"));
        let mut rows = 0;
        for line in table.lines() {
            let tok: Vec<&str> = line.split_whitespace().collect();
            if tok.len() < 14 || tok[1] != "<->" {
                continue;
            }
            rows += 1;
            let (a, b) = (tok[0], tok[2]);
            let (to_b, to_a): (u64, u64) =
                (tok[6].parse().expect("frames"), tok[3].parse().expect("frames"));
            let ep = |e: (std::net::IpAddr, u16)| match e.0 {
                std::net::IpAddr::V6(x) => format!("{x}:{}", e.1),
                x => format!("{x}:{}", e.1),
            };
            let c = ours
                .conversations
                .iter()
                .find(|c| (ep(c.a) == a && ep(c.b) == b) || (ep(c.a) == b && ep(c.b) == a))
                .unwrap_or_else(|| panic!("{name}: no conversation {a} <-> {b}"));
            let (ab, ba) =
                if ep(c.a) == a { (c.ab.frames, c.ba.frames) } else { (c.ba.frames, c.ab.frames) };
            assert_eq!((ab, ba), (to_b, to_a), "{name}: {a} <-> {b} frames each way");
        }
        assert_eq!(rows, ours.conversations.len(), "{name}: conversation count");
        println!("{name}: {rows} conversations, frame counts equal to tshark -z conv,tcp");
    }
}

#[test]
fn ladders_infer_the_rfc_states() {
    use synack_analyze::flow::{State, StateTracker};
    use synack_analyze::segments::collect;
    let dir = need_captures!();
    let end_states = |name: &str| {
        let data =
            collect(CaptureReader::open(dir.join(format!("{name}.pcap"))).expect("open"), |s| {
                s == 0
            });
        let mut st = StateTracker::new(&data.segments);
        let mut seen = vec![st.states()];
        for s in &data.segments {
            st.on_segment(s);
            if seen.last() != Some(&st.states()) {
                seen.push(st.states());
            }
        }
        seen
    };
    use State::*;
    // Server closes first in `basic` (it answers, then closes).
    assert_eq!(
        end_states("basic"),
        vec![
            (Closed, Listen),
            (SynSent, Listen),
            (Established, SynReceived),
            (Established, Established),
            (CloseWait, FinWait1),
            (CloseWait, FinWait2),
            (LastAck, TimeWait),
            (Closed, TimeWait),
        ]
    );
    let hc = end_states("halfclose");
    assert_eq!(hc.last(), Some(&(TimeWait, Closed)), "{hc:?}");
    assert!(hc.contains(&(FinWait2, CloseWait)), "{hc:?}");
    assert_eq!(end_states("refused"), vec![(Closed, Closed), (SynSent, Closed), (Closed, Closed)]);
    assert_eq!(end_states("rst_abort").last(), Some(&(Closed, Closed)));
}
