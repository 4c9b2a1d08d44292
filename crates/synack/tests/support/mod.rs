//! Support shared by the tests that run the stack on a TUN device inside a network namespace
//! they create (`tun_*.rs`): the capability check that turns a missing one into `SKIPPED`, the
//! namespace with a name unique to the test process, removed when the test ends, running
//! a command or a thread inside it, and the bulk transfers' patterned writes and hashed reads.
// Each test file uses the part of this module it needs.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

/// The read and write size of the bulk transfers.
const CHUNK: usize = 1 << 20;

/// Removes the network namespace it names when dropped, so a failing test cleans up too.
pub(crate) struct NsGuard(String);

impl Drop for NsGuard {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// Creates the namespace `<prefix><pid>` (unique to this test process among concurrent
/// runs); returns its name and the guard that deletes it.
pub(crate) fn add_netns(prefix: &str) -> (String, NsGuard) {
    let ns = format!("{prefix}{}", std::process::id());
    assert!(Command::new("ip").args(["netns", "add", &ns]).status().expect("ip").success());
    (ns.clone(), NsGuard(ns))
}

/// Why the test cannot run here (not root, no /dev/net/tun, one of `tools` missing), or
/// `None` when it can.
fn skip_reason(tools: &[&str]) -> Option<String> {
    synack::tun::netns::unavailable(tools)
}

/// Prints `SKIPPED: <reason>` and returns true when the test cannot run here.
pub(crate) fn skipped(tools: &[&str]) -> bool {
    match skip_reason(tools) {
        Some(why) => {
            println!("SKIPPED: {why}");
            true
        }
        None => false,
    }
}

/// Runs `args` inside namespace `ns`, bounded to 15 seconds.
pub(crate) fn run_in_ns(ns: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new("timeout");
    cmd.args(["15", "ip", "netns", "exec", ns]).args(args);
    cmd.output().expect("run in netns")
}

/// Deterministic bytes that differ along the whole stream (xorshift, one 64-bit state).
pub(crate) struct Pattern(u64);
impl Pattern {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
        }
    }
}

/// Writes `total` pattern bytes to `w` in 1 MiB writes; returns their SHA-256.
pub(crate) fn send_pattern(
    w: &mut impl Write,
    total: usize,
    seed: u64,
) -> std::io::Result<[u8; 32]> {
    let mut p = Pattern(seed);
    let mut buf = vec![0u8; CHUNK];
    let mut h = Sha256::new();
    let mut left = total;
    while left > 0 {
        let k = left.min(CHUNK);
        p.fill(&mut buf[..k]);
        h.update(&buf[..k]);
        w.write_all(&buf[..k])?;
        left -= k;
    }
    Ok(h.finalize().into())
}

/// Reads `r` to its end; returns the byte count and SHA-256.
pub(crate) fn recv_all(r: &mut impl Read) -> std::io::Result<(usize, [u8; 32])> {
    let mut buf = vec![0u8; CHUNK];
    let mut h = Sha256::new();
    let mut n = 0;
    loop {
        match r.read(&mut buf)? {
            0 => return Ok((n, h.finalize().into())),
            k => {
                h.update(&buf[..k]);
                n += k;
            }
        }
    }
}

/// Runs `f` on a thread inside namespace `ns` (sockets it opens belong to the namespace).
pub(crate) fn in_ns<T: Send + 'static>(
    ns: &str,
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> std::thread::JoinHandle<Result<T, String>> {
    let ns = ns.to_string();
    std::thread::spawn(move || {
        synack_tun::netns::enter(&ns).map_err(|e| format!("entering {ns}: {e}"))?;
        f()
    })
}
