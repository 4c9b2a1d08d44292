//! Fuzz target: `tcp_endpoint`; the body lives in `crates/synack-tcp/tests/fuzz_tcp_endpoint.rs` (included here) so the normal test run
//! replays `fuzz/corpus/tcp_endpoint/` through the same code.
#![no_main]

#[path = "../../crates/synack-tcp/tests/fuzz_tcp_endpoint.rs"]
#[allow(dead_code)]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::tcp_endpoint(data));
