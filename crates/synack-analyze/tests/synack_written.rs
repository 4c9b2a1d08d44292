//! Captures written by synack itself: two synack stacks (interface + engine) on virtual time
//! over a seeded, lossy in-memory link, recorded by the stack's pcap tap, then read by synack
//! and by tshark/tcpdump and compared as in `kernel_compare.rs`.
//!
//! Needs `tshark` and `tcpdump`; prints `SKIPPED: <reason>` without them. No root needed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use synack_analyze::dump::Output;

mod common;
use common::{compare_fields, have, synack_dump};
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

fn compare(path: &Path, name: &str) {
    let c = compare_fields(path, name);
    assert!(c.frames > 20, "{name}: only {} frames", c.frames);
    println!(
        "{name}: {} frames, plain fields {:.2}%, analysis fields {:.2}% equal to tshark",
        c.frames,
        c.plain_pct(),
        c.analysis_pct()
    );
    for d in c.diffs.iter().take(10) {
        println!("  difference: {d}");
    }
    c.assert_agrees(name);
    let td = common::run(Command::new("tcpdump").arg("-nn").arg("-t").arg("-r").arg(path));
    let mine = synack_dump(path, "", Output::Lines { timestamps: false });
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
        if let Some(dir) = path.parent() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}
