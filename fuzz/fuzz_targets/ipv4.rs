//! Fuzz target: `synack_wire::fuzz::ipv4` on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| synack_wire::fuzz::ipv4(data));
