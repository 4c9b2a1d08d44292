//! Fuzz target: `drill_parser`; the body lives in `crates/synack-drill/tests/fuzz_drill.rs` (included here) so the normal test run
//! replays `fuzz/corpus/drill_parser/` through the same code.
#![no_main]

#[path = "../../crates/synack-drill/tests/fuzz_drill.rs"]
#[allow(dead_code)]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::drill_parser(data));
