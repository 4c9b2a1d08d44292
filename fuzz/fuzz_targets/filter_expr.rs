//! Fuzz target: `filter_expr`; the body lives in `crates/synack-analyze/tests/fuzz_analyze.rs` (included here) so the normal test run
//! replays `fuzz/corpus/filter_expr/` through the same code.
#![no_main]

#[path = "../../crates/synack-analyze/tests/fuzz_analyze.rs"]
#[allow(dead_code)]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::filter_expr(data));
