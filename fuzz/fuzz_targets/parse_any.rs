//! Fuzz target: `synack_wire::fuzz::parse_any` on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| synack_wire::fuzz::parse_any(data));
