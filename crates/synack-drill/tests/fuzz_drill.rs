//! Fuzz target body for the packetdrill parser (`drill_parser`) and the replay of its corpus
//! (`fuzz/corpus/drill_parser/`, the project's own scripts plus any `regress-*` reproducers).
//!
//! `fuzz/fuzz_targets/drill_parser.rs` includes this file with `#[path]`, so the fuzzer and the
//! normal test run execute the same code. Only the crate's public API is used.

use std::collections::HashMap;

/// Arbitrary bytes as script text: parsing must return a script or a positioned error, never
/// panic or hang; the error must render and its position must lie inside the text.
pub fn drill_parser(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    check(&text, synack_drill::parse(&text, "fuzz.pkt"));
    // The same text with a define in effect (`-D FOO=...`), whose value is spliced in as tokens.
    let defines: HashMap<String, String> =
        [("FOO".to_string(), "1.5 < S 0:0(0) win 1000".to_string())].into_iter().collect();
    check(&text, synack_drill::parse_with_defines(&text, "fuzz.pkt", &defines));
}

fn check(text: &str, r: Result<synack_drill::ast::Script, synack_drill::ParseError>) {
    if let Err(e) = r {
        let _ = e.to_string();
        let lines = text.split('\n').count() + 1;
        assert!(
            e.pos.line as usize <= lines,
            "error line {} beyond the text ({lines})",
            e.pos.line
        );
    }
}

#[test]
fn drill_parser_corpus_replays() {
    synack_wire::fuzz::replay_corpus("drill_parser", |data| {
        drill_parser(data);
        for cut in (0..data.len()).step_by(1 + data.len() / 64) {
            drill_parser(&data[..cut]);
        }
    });
}
