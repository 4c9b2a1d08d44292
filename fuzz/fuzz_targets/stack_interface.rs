//! Fuzz target: `stack_interface`; the body lives in `crates/synack-stack/tests/fuzz_stack_interface.rs` (included here) so the normal test run
//! replays `fuzz/corpus/stack_interface/` through the same code.
#![no_main]

#[path = "../../crates/synack-stack/tests/fuzz_stack_interface.rs"]
#[allow(dead_code)]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::stack_interface(data));
