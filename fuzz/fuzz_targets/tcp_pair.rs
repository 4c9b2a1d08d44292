//! Fuzz target: `tcp_pair`; the body lives in `crates/synack-tcp/tests/fuzz_tcp_pair.rs` (included
//! here) so the normal test run replays `fuzz/corpus/tcp_pair/` through the same code.
#![no_main]

#[path = "../../crates/synack-tcp/tests/fuzz_tcp_pair.rs"]
#[allow(dead_code)]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::tcp_pair(data));
