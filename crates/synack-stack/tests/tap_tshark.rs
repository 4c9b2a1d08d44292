//! The pcap tap's files open in tshark with no errors and no malformed-packet warnings, in
//! both formats, and the in-memory ring dumps the last frames.

use std::process::Command;
use std::time::Duration;

use synack_stack::phy::{CaptureFormat, CaptureWriter, Direction, FrameRing, PcapTap, QueueDevice};
use synack_stack::{Device, DeviceCaps, Medium, RxToken, TxToken};
use synack_tcp::time::Instant;

/// One's-complement sum used by the test's packet builder (the test writes known-good packets
/// by hand so that it does not depend on the code under test).
fn csum(chunks: &[&[u8]]) -> u16 {
    let mut sum = 0u32;
    let mut odd: Option<u8> = None;
    for c in chunks {
        for &b in *c {
            match odd.take() {
                Some(hi) => sum += u32::from(u16::from_be_bytes([hi, b])),
                None => odd = Some(b),
            }
        }
    }
    if let Some(hi) = odd {
        sum += u32::from(u16::from_be_bytes([hi, 0]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A valid IPv4/TCP packet with `payload`.
fn ipv4_tcp(
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    seq: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let tcp_len = 20 + payload.len();
    let total = 20 + tcp_len;
    let mut p = vec![0u8; total];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    p[6] = 0x40; // DF
    p[8] = 64;
    p[9] = 6;
    p[12..16].copy_from_slice(&src);
    p[16..20].copy_from_slice(&dst);
    let c = csum(&[&p[..20]]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    let t = &mut p[20..];
    t[0..2].copy_from_slice(&sport.to_be_bytes());
    t[2..4].copy_from_slice(&dport.to_be_bytes());
    t[4..8].copy_from_slice(&seq.to_be_bytes());
    t[12] = 5 << 4;
    t[13] = flags;
    t[14..16].copy_from_slice(&65535u16.to_be_bytes());
    t[20..].copy_from_slice(payload);
    let mut pseudo = [0u8; 12];
    pseudo[0..4].copy_from_slice(&src);
    pseudo[4..8].copy_from_slice(&dst);
    pseudo[9] = 6;
    pseudo[10..12].copy_from_slice(&(tcp_len as u16).to_be_bytes());
    let c = csum(&[&pseudo, &p[20..]]);
    p[36..38].copy_from_slice(&c.to_be_bytes());
    p
}

fn frames() -> Vec<Vec<u8>> {
    let a = [10, 0, 0, 1];
    let b = [10, 0, 0, 2];
    vec![
        ipv4_tcp(a, b, 40000, 80, 1000, 0x02, b""),
        ipv4_tcp(b, a, 80, 40000, 5000, 0x12, b""),
        ipv4_tcp(a, b, 40000, 80, 1001, 0x18, b"hello"),
        ipv4_tcp(b, a, 80, 40000, 5001, 0x10, b""),
    ]
}

/// Sends frames alternately in through the device and out through the tap, as an interface
/// would, advancing virtual time.
fn run_through<W: std::io::Write>(tap: &mut PcapTap<QueueDevice, W>) -> usize {
    let mut n = 0;
    for (i, f) in frames().iter().enumerate() {
        let now = Instant::from_millis(10 * i as u64);
        if i % 2 == 0 {
            tap.transmit(now).expect("room").consume(f.len(), |buf| {
                buf.copy_from_slice(f);
                0..f.len()
            });
        } else {
            tap.inner_mut().inject(f);
            let got = tap.receive(now).expect("frame").consume(|buf| buf.to_vec());
            assert_eq!(&got, f);
        }
        n += 1;
    }
    n
}

fn tshark_checks(path: &std::path::Path, expected: usize) -> bool {
    let out = match Command::new("tshark").arg("-r").arg(path).arg("-V").output() {
        Ok(o) => o,
        Err(e) => {
            println!("SKIPPED: tshark not runnable ({e}); install it with apt-get install tshark");
            return false;
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "tshark failed: {stderr}");
    let stderr_real: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.contains("Running as user \"root\""))
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert!(stderr_real.is_empty(), "tshark complained: {stderr}");
    assert!(!stdout.contains("Malformed"), "malformed packet: {stdout}");
    assert!(!stdout.contains("Expert Info (Error"), "expert error: {stdout}");
    assert!(!stdout.contains("Expert Info (Warning"), "expert warning: {stdout}");
    let count = stdout.lines().filter(|l| l.starts_with("Frame ")).count();
    assert_eq!(count, expected, "tshark saw {count} frames:\n{stdout}");
    assert!(stdout.contains("Transmission Control Protocol"), "{stdout}");
    assert!(stdout.contains("[Checksum Status: Good]") || !stdout.contains("Bad"), "{stdout}");
    true
}

fn check_format(format: CaptureFormat, ext: &str) {
    let dir = std::env::temp_dir().join(format!("synack-tap-{}-{ext}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("tap.{ext}"));
    let file = std::fs::File::create(&path).unwrap();
    let origin = Duration::from_secs(1_700_000_000);
    let writer =
        CaptureWriter::new(std::io::BufWriter::new(file), format, Medium::Ip, origin).unwrap();
    let dev = QueueDevice::new(DeviceCaps::default(), 16);
    let mut tap = PcapTap::new(dev, Some(writer), FrameRing::new(3, 1 << 20));
    let n = run_through(&mut tap);
    assert!(tap.capture_error().is_none());
    assert_eq!(tap.ring().len(), 3, "ring keeps the last 3");
    assert_eq!(tap.ring().recorded(), n as u64);
    let dirs: Vec<Direction> = tap.ring().frames().map(|f| f.direction).collect();
    assert_eq!(dirs, vec![Direction::In, Direction::Out, Direction::In]);
    let ring_path = dir.join(format!("ring.{ext}"));
    let ring_file = std::fs::File::create(&ring_path).unwrap();
    tap.dump_ring(ring_file, format, origin).unwrap();
    let (_dev, w) = tap.into_parts();
    w.unwrap().into_inner().unwrap();
    if tshark_checks(&path, n) {
        tshark_checks(&ring_path, 3);
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn pcap_file_reads_clean_in_tshark() {
    check_format(CaptureFormat::Pcap, "pcap");
}

#[test]
fn pcapng_file_reads_clean_in_tshark() {
    check_format(CaptureFormat::PcapNg, "pcapng");
}

/// Super-segments of a device with segmentation offload are recorded as the wire carries
/// them: cut into MTU-sized frames with their own headers, which tshark reads cleanly and
/// whose payloads add up to the original.
#[test]
fn super_segments_are_recorded_cut_to_the_mtu() {
    let a = [10, 0, 0, 1];
    let b = [10, 0, 0, 2];
    let payload: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
    // Ports with no dissector that would read the payload as a protocol.
    let out = ipv4_tcp(a, b, 40000, 40001, 1001, 0x18, &payload);
    let inn = ipv4_tcp(b, a, 40001, 40000, 5001, 0x18, &payload);
    let caps = DeviceCaps { tso_max: 65_535, ..DeviceCaps::default() };
    let dir = std::env::temp_dir().join(format!("synack-tap-gso-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gso.pcapng");
    let file = std::fs::File::create(&path).unwrap();
    let writer = CaptureWriter::new(
        std::io::BufWriter::new(file),
        CaptureFormat::PcapNg,
        Medium::Ip,
        Duration::from_secs(1_700_000_000),
    )
    .unwrap();
    let mut tap =
        PcapTap::new(QueueDevice::new(caps, 16), Some(writer), FrameRing::new(64, 1 << 20));
    let sent = tap.transmit(Instant::ZERO).expect("room").consume_segmented(out.len() + 8, |buf| {
        buf[8..8 + out.len()].copy_from_slice(&out);
        (8..8 + out.len(), 1460)
    });
    assert_eq!(sent, out.len(), "the device took the super-segment whole");
    assert_eq!(tap.inner_mut().take_sent(), vec![out.clone()]);
    tap.inner_mut().inject(&inn);
    let got = tap.receive(Instant::from_millis(1)).expect("frame").consume(|f| f.to_vec());
    assert_eq!(got, inn, "the stack still gets the super-segment whole");

    let frames: Vec<_> = tap.ring().frames().map(|f| (f.direction, f.data.clone())).collect();
    let outs: Vec<_> = frames.iter().filter(|f| f.0 == Direction::Out).collect();
    let ins: Vec<_> = frames.iter().filter(|f| f.0 == Direction::In).collect();
    assert_eq!(outs.len(), 20_000usize.div_ceil(1460), "cut at the segment size given");
    assert_eq!(ins.len(), 20_000usize.div_ceil(1460), "cut at what fits the MTU");
    for group in [&outs, &ins] {
        let mut joined = Vec::new();
        for (_, f) in group.iter() {
            assert!(f.len() <= 1500, "{} bytes on a 1500-byte wire", f.len());
            assert_eq!(csum(&[&f[..20]]), 0, "IPv4 header checksum");
            joined.extend_from_slice(&f[40..]);
        }
        assert_eq!(joined, payload, "the pieces carry the payload in order");
    }
    let n = frames.len();
    let (_dev, w) = tap.into_parts();
    w.unwrap().into_inner().unwrap();
    tshark_checks(&path, n);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn ring_bounds_bytes_and_reuses() {
    let mut ring = FrameRing::new(100, 10);
    ring.push(Instant::ZERO, Direction::In, &[1; 6]);
    ring.push(Instant::ZERO, Direction::In, &[2; 6]);
    assert_eq!(ring.len(), 1, "byte bound evicts the first");
    assert_eq!(ring.frames().next().unwrap().data, vec![2; 6]);
    ring.push(Instant::ZERO, Direction::Out, &[3; 11]);
    assert_eq!(ring.len(), 1, "a frame larger than the bound is not kept");
    assert_eq!(ring.recorded(), 3);
    let mut empty = FrameRing::new(0, 100);
    empty.push(Instant::ZERO, Direction::In, &[1]);
    assert!(empty.is_empty());
}

/// A writer that fails after some bytes: the tap stops writing the file, keeps the error, and
/// the datapath and ring carry on.
struct FailingWriter(usize);
impl std::io::Write for FailingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0 < buf.len() {
            return Err(std::io::Error::other("disk full"));
        }
        self.0 -= buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn file_error_is_sticky_and_harmless() {
    let w = CaptureWriter::new(FailingWriter(40), CaptureFormat::Pcap, Medium::Ip, Duration::ZERO)
        .unwrap();
    let mut tap = PcapTap::new(
        QueueDevice::new(DeviceCaps::default(), 16),
        Some(w),
        FrameRing::new(8, 1 << 16),
    );
    let n = run_through(&mut tap);
    assert!(tap.capture_error().is_some());
    assert_eq!(tap.ring().len(), n);
    assert_eq!(tap.inner_mut().take_sent().len(), 2);
}
