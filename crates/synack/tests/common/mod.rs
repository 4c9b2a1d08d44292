//! Support shared by the API tests (`api_blocking.rs`, `api_tokio.rs`): two stacks on the
//! in-memory link, address parsing, the step bound and deterministic test data.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use synack::net::memory_pair;
use synack::{IpCidr, Stack};

/// Bound on any single step of a test.
pub(crate) const STEP: Duration = Duration::from_secs(5);

/// Two stacks, 10.0.0.1/24 and 10.0.0.2/24, joined by the in-memory link.
pub(crate) fn pair() -> (Arc<Stack>, Arc<Stack>) {
    let cidr = |s: &str| IpCidr::new(s.parse().unwrap(), 24).unwrap();
    memory_pair(cidr("10.0.0.1"), cidr("10.0.0.2")).expect("stacks start")
}

/// A socket address written as text.
pub(crate) fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Deterministic test data: a simple LCG, so both sides can agree without sharing a buffer.
pub(crate) fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (x >> 56) as u8
        })
        .collect()
}
