//! Damaged capture files and malformed packets: everything readable is shown, then a clear
//! error; never a panic, a hang or an unbounded allocation. Also the link types, byte orders and
//! timestamp resolutions the reader promises.

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::{DataLink, Endianness, TsResolution};
use std::borrow::Cow;
use std::time::Duration;
use synack_analyze::capture::{CaptureError, CaptureReader};
use synack_analyze::dump::{DumpError, DumpOptions, Output, dump};
use synack_analyze::filter::Filter;

/// IPv4 + TCP SYN with MSS, SACK-permitted, timestamps and window scale, from 10.0.0.1:40000
/// to 10.0.0.2:80 (checksums left zero: the analyzer does not verify them, like tshark).
fn ip_syn() -> Vec<u8> {
    let mut p = vec![0x45, 0, 0, 60, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
    p.extend_from_slice(&[
        0x9c, 0x40, 0, 80, 0, 0, 0x10, 0, 0, 0, 0, 0, 0xa0, 0x02, 0xfa, 0xf0, 0, 0, 0, 0,
    ]);
    p.extend_from_slice(&[2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7]);
    p
}

fn ether(ip: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 12];
    f.extend_from_slice(&[0x08, 0x00]);
    f.extend_from_slice(ip);
    f
}

fn pcap_bytes(
    frames: &[Vec<u8>],
    link: DataLink,
    endianness: Endianness,
    res: TsResolution,
) -> Vec<u8> {
    let header = PcapHeader {
        datalink: link,
        endianness,
        ts_resolution: res,
        snaplen: 65535,
        ..Default::default()
    };
    let mut w = PcapWriter::with_header(Vec::new(), header).expect("header");
    for (i, f) in frames.iter().enumerate() {
        // Whole microseconds, so every resolution stores the same instant.
        let ts = Duration::new(1_700_000_000 + i as u64, 123_456_000);
        w.write_packet(&PcapPacket::new(ts, f.len() as u32, f)).expect("write");
    }
    w.into_writer()
}

fn lines(bytes: &[u8], output: Output) -> (String, Result<u64, String>) {
    let mut out = Vec::new();
    let res = match CaptureReader::new(bytes) {
        Ok(r) => {
            let opts = DumpOptions {
                occurrence: Default::default(),
                count: None,
                filter: Filter::all(),
                output,
            };
            dump(r, &opts, &mut out).map(|s| s.frames).map_err(|e| e.to_string())
        }
        Err(e) => Err(e.to_string()),
    };
    (String::from_utf8(out).expect("utf8"), res)
}

fn tcpdump_lines(bytes: &[u8]) -> (String, Result<u64, String>) {
    lines(bytes, Output::Lines { timestamps: false })
}

fn all_fields(bytes: &[u8]) -> (String, Result<u64, String>) {
    let fields = synack_analyze::fields::FIELDS.iter().map(|(n, _)| n.to_string()).collect();
    lines(bytes, Output::Fields { fields, header: true, display: None })
}

#[test]
fn every_truncation_shows_the_complete_frames_then_an_error() {
    let frames: Vec<Vec<u8>> = (0..3).map(|_| ether(&ip_syn())).collect();
    let file =
        pcap_bytes(&frames, DataLink::ETHERNET, Endianness::Little, TsResolution::MicroSecond);
    let rec = 16 + frames[0].len();
    for cut in 0..file.len() {
        let (out, res) = tcpdump_lines(&file[..cut]);
        let complete = if cut < 24 { 0 } else { (cut - 24) / rec };
        assert_eq!(out.lines().count(), complete, "cut at {cut}");
        let at_boundary = cut >= 24 && (cut - 24).is_multiple_of(rec);
        if at_boundary {
            assert_eq!(res, Ok(complete as u64), "cut at {cut}");
        } else {
            let err = res.expect_err("a cut inside a record is an error");
            assert!(err.contains("truncated"), "cut at {cut}: {err}");
        }
    }
}

#[test]
fn truncated_pcapng_shows_the_complete_frames_then_an_error() {
    let mut w = PcapNgWriter::new(Vec::new()).expect("section");
    w.write_pcapng_block(InterfaceDescriptionBlock {
        linktype: DataLink::ETHERNET,
        snaplen: 0,
        options: vec![InterfaceDescriptionOption::IfTsResol(9)],
    })
    .expect("idb");
    let f = ether(&ip_syn());
    for i in 0..3u64 {
        w.write_pcapng_block(EnhancedPacketBlock {
            interface_id: 0,
            timestamp: Duration::from_nanos(1_700_000_000_000_000_000 + i * 1_500),
            original_len: f.len() as u32,
            data: Cow::Borrowed(&f),
            options: vec![],
        })
        .expect("epb");
    }
    let file = w.into_inner();
    let (out, res) = all_fields(&file);
    assert_eq!(res, Ok(3));
    // if_tsresol 9: the units are nanoseconds.
    assert!(
        out.lines().nth(2).expect("frame 2").split('\t').nth(1) == Some("0.000001500"),
        "{out}"
    );
    for cut in 0..file.len() {
        let (out, res) = tcpdump_lines(&file[..cut]);
        // Frames before the cut are shown; only a cut between blocks may end without error.
        assert!(out.lines().count() < 3, "cut at {cut}");
        if res.is_ok() {
            assert!(out.lines().count() <= 3);
        }
    }
}

#[test]
fn not_a_capture_is_a_clear_error() {
    for junk in [&b""[..], b"ab", b"GET / HTTP/1.1\r\n\r\n", &[0u8; 64]] {
        let err = CaptureReader::new(junk).err().expect("error");
        assert!(
            matches!(err, CaptureError::UnknownFormat(_) | CaptureError::Truncated { .. }),
            "{err}"
        );
    }
}

#[test]
fn absurd_record_length_is_an_error_not_an_allocation() {
    let frames = vec![ether(&ip_syn())];
    let mut file =
        pcap_bytes(&frames, DataLink::ETHERNET, Endianness::Little, TsResolution::MicroSecond);
    // Second record header claiming 4 GB of data.
    file.extend_from_slice(&[
        0, 0, 0, 0, 0, 0, 0, 0, 0xf0, 0xff, 0xff, 0xff, 0xf0, 0xff, 0xff, 0xff,
    ]);
    file.extend_from_slice(&[0u8; 100]);
    let (out, res) = tcpdump_lines(&file);
    assert_eq!(out.lines().count(), 1);
    assert!(res.is_err());
}

#[test]
fn byte_orders_and_resolutions_give_the_same_times() {
    let frames: Vec<Vec<u8>> = (0..2).map(|_| ether(&ip_syn())).collect();
    let mut seen = Vec::new();
    for e in [Endianness::Big, Endianness::Little] {
        for r in [TsResolution::MicroSecond, TsResolution::NanoSecond] {
            let file = pcap_bytes(&frames, DataLink::ETHERNET, e, r);
            let mut rd = CaptureReader::new(&file[..]).expect("reader");
            let mut ts = Vec::new();
            while let Some(f) = rd.next_frame() {
                ts.push(f.expect("frame").ts_ns / 1000);
            }
            seen.push(ts);
        }
    }
    assert!(seen.windows(2).all(|w| w[0] == w[1]), "{seen:?}");
    assert_eq!(seen[0][1] - seen[0][0], 1_000_000);
}

#[test]
fn every_link_type_decodes_to_the_same_line() {
    let ip = ip_syn();
    let mut sll = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00];
    sll.extend_from_slice(&ip);
    let mut sll2 = vec![0x08, 0x00, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0];
    sll2.extend_from_slice(&ip);
    let mut null = vec![2, 0, 0, 0];
    null.extend_from_slice(&ip);
    let mut lo = vec![0, 0, 0, 2];
    lo.extend_from_slice(&ip);
    let want = "IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [S], seq 4096, win 64240, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0\n";
    for (link, frame) in [
        (DataLink::ETHERNET, ether(&ip)),
        (DataLink::RAW, ip.clone()),
        (DataLink::IPV4, ip.clone()),
        (DataLink::LINUX_SLL, sll),
        (DataLink::LINUX_SLL2, sll2),
        (DataLink::NULL, null),
        (DataLink::LOOP, lo),
    ] {
        let file = pcap_bytes(&[frame], link, Endianness::Little, TsResolution::MicroSecond);
        let (out, res) = tcpdump_lines(&file);
        assert_eq!(res, Ok(1), "{link:?}");
        if link == DataLink::LINUX_SLL2 {
            // tcpdump names the capturing interface (by its index, as this host calls it) and
            // the direction first.
            let (prefix, rest) = out.split_at(out.len() - want.len());
            assert_eq!(rest, want, "{link:?}");
            assert!(prefix.ends_with(" In  ") && prefix.len() >= 10, "{prefix:?}");
        } else {
            assert_eq!(out, want, "{link:?}");
        }
    }
}

#[test]
fn malformed_packets_inside_a_valid_file_are_shown_and_skipped() {
    let good = ip_syn();
    let mut bad_ihl = good.clone();
    bad_ihl[0] = 0x43;
    let mut long_total = good.clone();
    long_total[3] = 200;
    let mut bad_doff = good.clone();
    bad_doff[32] = 0x30;
    let mut doff_past_end = good.clone();
    doff_past_end[32] = 0xf0;
    let mut zero_len_opt = good.clone();
    zero_len_opt[41] = 0;
    let mut overlong_opt = good.clone();
    overlong_opt[41] = 40;
    let short = good[..30].to_vec();
    let mut v6_loop = vec![0x60, 0, 0, 0, 0, 16, 0, 64];
    v6_loop.extend_from_slice(&[0u8; 32]);
    v6_loop.extend_from_slice(&[60, 0, 1, 4, 0, 0, 0, 0, 60, 0, 1, 4, 0, 0, 0, 0]);
    let frames: Vec<Vec<u8>> = [
        good.clone(),
        bad_ihl,
        long_total,
        bad_doff,
        doff_past_end,
        zero_len_opt,
        overlong_opt,
        short,
        v6_loop,
        vec![],
        vec![0x45],
        good,
    ]
    .iter()
    .map(|p| ether(p))
    .collect();
    let file =
        pcap_bytes(&frames, DataLink::ETHERNET, Endianness::Little, TsResolution::MicroSecond);
    let (out, res) = tcpdump_lines(&file);
    assert_eq!(res, Ok(frames.len() as u64));
    let l: Vec<&str> = out.lines().collect();
    assert_eq!(l.len(), frames.len());
    // What tcpdump 4.99 prints for each (checked by running it).
    let syn = "IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [S], seq 4096, win 64240, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0";
    let want = [
        syn,
        "IP bad-hlen 12",
        "IP truncated-ip - 140 bytes missing! 10.0.0.1.40000 > 10.0.0.2.80: Flags [S], seq 4096:4236, win 64240, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 140",
        "IP 10.0.0.1.40000 > 10.0.0.2.80:  tcp 28 [bad hdr length 12 - too short, < 20]",
        "IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [S] [bad hdr length 60 - too long, > 40]",
        "IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [S], seq 4096, win 64240, options [[bad opt]",
        "IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [S], seq 4096, win 64240, options [[bad opt]",
        "IP truncated-ip - 30 bytes missing! 10.0.0.1.40000 > 10.0.0.2.80:  [|tcp]",
        "IP6, wrong link-layer encapsulation (invalid)",
    ];
    for (i, w) in want.iter().enumerate() {
        assert_eq!(l[i], *w, "frame {}", i + 1);
    }
    assert_eq!(l[11], syn);
    let (fields, res) = all_fields(&file);
    assert_eq!(res, Ok(frames.len() as u64));
    assert_eq!(fields.lines().count(), frames.len() + 1);
}

/// A small deterministic generator (no dependency): xorshift64*.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[test]
fn random_corruption_never_panics() {
    let mut frames = Vec::new();
    for i in 0..20u8 {
        let mut p = ip_syn();
        p[33] = if i % 3 == 0 { 0x10 } else { 0x18 };
        frames.push(ether(&p));
    }
    let pcap =
        pcap_bytes(&frames, DataLink::ETHERNET, Endianness::Little, TsResolution::MicroSecond);
    let mut w = PcapNgWriter::new(Vec::new()).expect("section");
    w.write_pcapng_block(InterfaceDescriptionBlock::new(DataLink::ETHERNET, 0)).expect("idb");
    for f in &frames {
        w.write_pcapng_block(EnhancedPacketBlock {
            interface_id: 0,
            timestamp: Duration::from_micros(5),
            original_len: f.len() as u32,
            data: Cow::Borrowed(f),
            options: vec![],
        })
        .expect("epb");
    }
    let ng = w.into_inner();
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for base in [&pcap, &ng] {
        for _ in 0..300 {
            let mut f = base.clone();
            let n = 1 + rng.next() % 12;
            for _ in 0..n {
                let at = (rng.next() as usize) % f.len();
                f[at] = rng.next() as u8;
            }
            if rng.next().is_multiple_of(4) {
                let cut = (rng.next() as usize) % f.len();
                f.truncate(cut);
            }
            let _ = tcpdump_lines(&f);
            let _ = all_fields(&f);
        }
    }
}

#[test]
fn unknown_fields_are_rejected() {
    let file = pcap_bytes(
        &[ether(&ip_syn())],
        DataLink::ETHERNET,
        Endianness::Little,
        TsResolution::MicroSecond,
    );
    let r = CaptureReader::new(&file[..]).expect("reader");
    let opts = DumpOptions {
        occurrence: Default::default(),
        count: None,
        filter: Filter::all(),
        output: Output::Fields { fields: vec!["tcp.bogus".into()], header: false, display: None },
    };
    assert!(matches!(dump(r, &opts, &mut Vec::new()), Err(DumpError::UnknownField(_))));
}
