//! Fuzz target bodies for the analyzer (`capture_reader`, `filter_expr`) and the replay of their
//! corpora (`fuzz/corpus/<target>/`, seeds plus any `regress-*` crash reproducers).
//!
//! The cargo-fuzz targets in `fuzz/fuzz_targets/` include this file with `#[path]`, so the fuzzer
//! and the normal test run execute exactly the same code. Only the crate's public API is used.

use std::io::Cursor;
use synack_analyze::capture::CaptureReader;
use synack_analyze::dump::{DumpOptions, Output, dump};
use synack_analyze::fields::FIELDS;
use synack_analyze::filter::{Filter, FramePacket};
use synack_analyze::flow::{StateTracker, ladder_text};
use synack_analyze::graph::{Kind, graph_svg};
use synack_analyze::segments::collect;
use synack_analyze::stats::{render, stats};

/// Frames a fuzz input may produce before the body stops reading (keeps one run short; the
/// reader itself must still end on its own, which the frame loop below checks).
const MAX_FRAMES: u64 = 1 << 16;

/// Arbitrary bytes as a pcap/pcapng file through the whole pipeline: the frame reader, the
/// `dump` driver (tcpdump lines and every tshark field), statistics, stream collection, ladders
/// and graphs. Must never panic; must always end.
pub fn capture_reader(data: &[u8]) {
    // The reader alone: every frame, until it reports the end or an error.
    if let Ok(mut r) = CaptureReader::new(Cursor::new(data)) {
        let mut n = 0u64;
        while let Some(f) = r.next_frame() {
            n += 1;
            assert!(
                n <= MAX_FRAMES.max(data.len() as u64),
                "reader produced more frames than bytes"
            );
            match f {
                Ok(f) => assert!(f.data.len() <= data.len(), "frame larger than the file"),
                Err(_) => break,
            }
        }
    }
    let open = || CaptureReader::new(Cursor::new(data));
    if let Ok(r) = open() {
        let opts = DumpOptions {
            occurrence: Default::default(),
            count: None,
            filter: Filter::all(),
            output: Output::Lines { timestamps: true },
        };
        let _ = dump(r, &opts, &mut std::io::sink());
    }
    if let Ok(r) = open() {
        let fields = FIELDS.iter().map(|(n, _)| (*n).to_string()).collect();
        let opts = DumpOptions {
            occurrence: Default::default(),
            count: None,
            filter: Filter::parse("tcp or ip6 or arp").expect("fixed filter parses"),
            output: Output::Fields { fields, header: true, display: None },
        };
        let _ = dump(r, &opts, &mut std::io::sink());
    }
    if let Ok(r) = open() {
        let s = stats(r);
        let _ = render(&s);
    }
    if let Ok(r) = open() {
        let sd = collect(r, |stream| stream < 2);
        for conv in sd.conversations.iter().take(2) {
            let segs: Vec<_> =
                sd.segments.iter().filter(|s| s.stream == conv.stream).cloned().collect();
            let mut st = StateTracker::new(&segs);
            for s in &segs {
                st.on_segment(s);
            }
            let _ = st.states();
            let _ = ladder_text(conv, &segs, Some(50));
            // Graphs are slow (plotters, ~10 ms each): one kind per input, picked by its
            // length, for the first small stream only.
            if conv.stream == 0 && segs.len() <= 64 {
                let kinds = [Kind::Tseq, Kind::Throughput, Kind::Rtt, Kind::Window];
                let _ = graph_svg(&segs, kinds[data.len() % 4], "fuzz", None);
            }
        }
    }
}

/// Frames the filters are evaluated against: link types Ethernet (1), raw IP (101), Linux SLL
/// (113) and loopback (0), over the given bytes.
const LINKTYPES: [u32; 4] = [1, 101, 113, 0];

/// Arbitrary text as a tcpdump filter expression. The input is `expr NUL frame-bytes`: the text
/// before the first NUL is parsed, and when it parses it is evaluated on the bytes after it.
pub fn filter_expr(data: &[u8]) {
    let (text, frame) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(text) = std::str::from_utf8(text) else { return };
    match Filter::parse(text) {
        Ok(f) => {
            for linktype in LINKTYPES {
                let wirelen = frame.len() as u32;
                let _ = f.matches(&FramePacket { linktype, data: frame, wirelen });
            }
        }
        Err(e) => {
            // The error must render and point inside the text.
            let _ = e.to_string();
        }
    }
}

/// Replays `fuzz/corpus/<target>/` through `body`: each file and about `prefixes` of its
/// prefixes (truncation must not panic either).
#[cfg(test)]
fn replay(target: &str, body: fn(&[u8]), prefixes: usize) {
    synack_wire::fuzz::replay_corpus(target, |data| {
        body(data);
        for cut in (0..data.len()).step_by(1 + data.len() / prefixes.max(1)).skip(1) {
            body(&data[..cut]);
        }
    });
}

#[test]
fn capture_reader_corpus_replays() {
    replay("capture_reader", capture_reader, 12);
}

#[test]
fn filter_expr_corpus_replays() {
    replay("filter_expr", filter_expr, 64);
}
