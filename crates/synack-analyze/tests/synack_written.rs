//! Captures written by synack itself: two synack stacks (interface + engine) on virtual time
//! over a seeded, lossy in-memory link, recorded by the stack's pcap tap, then read by synack
//! and by tshark/tcpdump and compared as in `kernel_compare.rs`.
//!
//! Needs `tshark` and `tcpdump`; prints `SKIPPED: <reason>` without them. No root needed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use synack_analyze::capture::CaptureReader;
use synack_analyze::dump::{DumpOptions, Output, dump};
use synack_analyze::filter::Filter;
use synack_netsim::LinkConfig;
use synack_stack::phy::{CaptureFormat, CaptureWriter, FrameRing, Link, LinkEnd, PcapTap};
use synack_stack::{Device, DeviceCaps, Interface, InterfaceConfig, IpCidr, Medium};
use synack_tcp::{ConnConfig, Endpoint, EndpointConfig, Instant, RecvError, SendError, State};

type Tap = PcapTap<LinkEnd, std::io::BufWriter<std::fs::File>>;

struct Node<D> {
    iface: Interface,
    ep: Endpoint,
    dev: D,
}

impl<D: Device> Node<D> {
    fn poll(&mut self, now: Instant) -> bool {
        let r = self.iface.poll(now, &mut self.dev, &mut self.ep);
        r.received + r.sent > 0 || r.more
    }
}

fn node<D: Device>(dev: D, mtu: usize, addrs: &[(&str, u8)], seed: u8) -> Node<D> {
    let mut iface = Interface::new(InterfaceConfig::default());
    for (a, p) in addrs {
        iface.add_address(IpCidr::new(a.parse().expect("addr"), *p).expect("cidr"));
    }
    let cfg = EndpointConfig { mtu, ..EndpointConfig::default() };
    Node { iface, ep: Endpoint::new(cfg, [seed; 16], u64::from(seed)), dev }
}

/// Polls both until `done`, jumping virtual time to the next timer when both are idle.
fn run(
    a: &mut Node<Tap>,
    b: &mut Node<LinkEnd>,
    now: &mut Instant,
    mut done: impl FnMut(&mut Node<Tap>, &mut Node<LinkEnd>) -> bool,
) -> bool {
    for _ in 0..400_000 {
        if done(a, b) {
            return true;
        }
        let busy = a.poll(*now) | b.poll(*now);
        if !busy {
            let next =
                [a.ep.poll_timeout(), b.ep.poll_timeout(), a.iface.poll_at(), b.iface.poll_at()]
                    .into_iter()
                    .flatten()
                    .min();
            match next {
                Some(t) if t > *now => *now = t,
                Some(_) => *now += Duration::from_micros(1),
                None => return done(a, b),
            }
        }
    }
    false
}

/// One connection from a to b: `data` each way's worth from a, an echo-less close from both.
fn write_capture(path: &Path, server: &str, loss: f64, bytes: usize) {
    let caps = DeviceCaps { mtu: 1500, ..DeviceCaps::default() };
    let cfg = LinkConfig { delay: Duration::from_millis(10), loss, ..LinkConfig::ideal() };
    let (da, db) = Link::simulated(caps, cfg, cfg, 7).expect("link");
    let file = std::fs::File::create(path).expect("create capture");
    let writer = CaptureWriter::new(
        std::io::BufWriter::new(file),
        CaptureFormat::Pcap,
        Medium::Ip,
        Duration::from_secs(1_700_000_000),
    )
    .expect("writer");
    let tap = PcapTap::new(da, Some(writer), FrameRing::new(0, 0));
    let mut a = node(tap, 1500, &[("10.0.0.1", 24), ("fd00::1", 64)], 1);
    let mut b = node(db, 1500, &[("10.0.0.2", 24), ("fd00::2", 64)], 2);
    let mut now = Instant::ZERO;
    let server: SocketAddr = server.parse().expect("server");
    let lid = b.ep.listen(server, 16).expect("listen");
    let local = SocketAddr::new(a.iface.source_for(server.ip()).expect("route"), 0);
    let c = a.ep.connect(now, local, server, ConnConfig::default()).expect("connect");
    let data: Vec<u8> = (0..bytes).map(|i| (i * 31 % 251) as u8).collect();
    let (mut sent, mut got, mut s, mut closed) = (0, 0, None, false);
    let mut buf = vec![0u8; 65536];
    let ok = run(&mut a, &mut b, &mut now, |a, b| {
        if s.is_none() {
            s = b.ep.accept(lid);
        }
        if a.ep.state(c) == Ok(State::Established) || a.ep.state(c) == Ok(State::CloseWait) {
            while sent < data.len() {
                match a.ep.send(c, &data[sent..]) {
                    Ok(n) => sent += n,
                    Err(SendError::WouldBlock) => break,
                    Err(e) => panic!("send: {e:?}"),
                }
            }
            if sent == data.len() && !closed {
                a.ep.close(c).expect("close");
                closed = true;
            }
        }
        if let Some(s) = s {
            loop {
                match b.ep.recv(s, &mut buf) {
                    Ok(0) => {
                        let _ = b.ep.close(s);
                        break;
                    }
                    Ok(n) => got += n,
                    Err(RecvError::WouldBlock) => break,
                    Err(_) => break,
                }
            }
        }
        got == data.len() && matches!(a.ep.state(c), Ok(State::TimeWait) | Err(_))
    });
    assert!(
        ok,
        "transfer did not finish: got {got} of {}, client {:?} {:?}, server {:?}",
        data.len(),
        a.ep.state(c),
        a.ep.error(c),
        s.map(|s| (b.ep.state(s), b.ep.error(s)))
    );
    let (_dev, w) = a.dev.into_parts();
    w.expect("writer").into_inner().expect("flush");
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success())
}

fn ours(path: &Path, output: Output) -> String {
    let opts = DumpOptions { count: None, filter: Filter::all(), output };
    let mut out = Vec::new();
    dump(CaptureReader::open(path).expect("open"), &opts, &mut out).expect("dump");
    String::from_utf8(out).expect("utf8")
}

const FIELDS: &[&str] = &[
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

fn compare(path: &Path, name: &str) {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(path).arg("-T").arg("fields");
    for f in FIELDS {
        cmd.arg("-e").arg(f);
    }
    let out = cmd.output().expect("tshark");
    assert!(out.status.success());
    let theirs = String::from_utf8(out.stdout).expect("utf8");
    let mine = ours(
        path,
        Output::Fields {
            fields: FIELDS.iter().map(|s| s.to_string()).collect(),
            header: false,
            display: None,
        },
    );
    let (t, o): (Vec<&str>, Vec<&str>) = (theirs.lines().collect(), mine.lines().collect());
    assert_eq!(t.len(), o.len(), "{name}: frame count");
    assert!(t.len() > 20, "{name}: only {} frames", t.len());
    let (mut plain, mut plain_bad, mut an, mut an_bad) = (0, 0, 0, 0);
    let mut diffs = Vec::new();
    for (i, (a, b)) in t.iter().zip(&o).enumerate() {
        for (j, (x, y)) in a.split('\t').zip(b.split('\t')).enumerate() {
            let is_an = FIELDS[j].starts_with("tcp.analysis.");
            if is_an {
                an += 1
            } else {
                plain += 1
            }
            if x != y {
                if is_an {
                    an_bad += 1
                } else {
                    plain_bad += 1
                }
                diffs.push(format!("frame {}: {}: tshark {x:?} synack {y:?}", i + 1, FIELDS[j]));
            }
        }
    }
    println!(
        "{name}: {} frames, plain fields {:.2}%, analysis fields {:.2}% equal to tshark",
        t.len(),
        100.0 * (plain - plain_bad) as f64 / plain as f64,
        100.0 * (an - an_bad) as f64 / an as f64
    );
    for d in diffs.iter().take(10) {
        println!("  difference: {d}");
    }
    assert_eq!(plain_bad, 0, "{name}:\n{}", diffs.join("\n"));
    assert!(an_bad * 100 <= an, "{name}:\n{}", diffs.join("\n"));
    let td =
        Command::new("tcpdump").arg("-nn").arg("-t").arg("-r").arg(path).output().expect("tcpdump");
    let td = String::from_utf8(td.stdout).expect("utf8");
    let mine = ours(path, Output::Lines { timestamps: false });
    assert_eq!(td.lines().count(), mine.lines().count(), "{name}: tcpdump line count");
    for (i, (a, b)) in td.lines().zip(mine.lines()).enumerate() {
        assert_eq!(a, b, "{name}: line {} differs from tcpdump", i + 1);
    }
    println!("{name}: {} lines identical to tcpdump -nn", td.lines().count());
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("synack-written-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("tmp");
    d.join(name)
}

#[test]
fn synack_captures_agree_with_tshark_and_tcpdump() {
    if !have("tshark") || !have("tcpdump") {
        println!("SKIPPED: tshark or tcpdump not installed");
        return;
    }
    for (name, server, loss, bytes) in
        [("v4-bulk", "10.0.0.2:5001", 0.0, 300_000), ("v6-clean", "[fd00::2]:5001", 0.0, 20_000)]
    {
        let path = tmp(&format!("{name}.pcap"));
        write_capture(&path, server, loss, bytes);
        compare(&path, name);
        let _ = std::fs::remove_file(&path);
    }
}
