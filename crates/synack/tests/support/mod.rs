//! Support shared by the tests that run the stack on a TUN device inside a network namespace
//! they create (`tun_*.rs`): the capability check that turns a missing one into `SKIPPED`, the
//! namespace with a name unique to the test process, removed when the test ends, running
//! a command or a thread inside it, and the bulk transfers each way between the kernel and
//! synack (patterned writes, hashed reads).
// Each test file uses the part of this module it needs.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use synack::Stack;
use synack::net::{TcpListener, TcpStream};

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
    synack::tun::netns::remove_orphans(prefix);
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

/// Kernel -> synack: a kernel client in the namespace sends `total` bytes to a synack listener.
pub(crate) fn kernel_to_synack(stack: &Arc<Stack>, ns: &str, ours: SocketAddr, total: usize) {
    let l = TcpListener::bind(stack, ours).expect("bind");
    let client = in_ns(ns, move || {
        let mut s = std::net::TcpStream::connect_timeout(&ours, Duration::from_secs(10))
            .map_err(|e| format!("kernel connect {ours}: {e}"))?;
        let sum = send_pattern(&mut s, total, 0x5eed_0001).map_err(|e| format!("send: {e}"))?;
        s.shutdown(Shutdown::Write).map_err(|e| e.to_string())?;
        // Wait for synack's FIN so the data is known delivered.
        let mut b = [0u8; 16];
        while s.read(&mut b).map_err(|e| format!("read: {e}"))? > 0 {}
        Ok(sum)
    });
    let (mut s, _) = l.accept_timeout(Duration::from_secs(20)).expect("accept");
    let (n, got) = recv_all(&mut s).expect("synack read");
    s.shutdown(Shutdown::Write).expect("shutdown");
    let sent = client.join().expect("client thread").expect("kernel client");
    assert_eq!(n, total, "kernel -> synack {ours}: byte count");
    assert!(got == sent, "kernel -> synack {ours}: SHA-256 differs");
}

/// Synack -> kernel: synack connects to a kernel listener in the namespace and sends `total`.
pub(crate) fn synack_to_kernel(stack: &Arc<Stack>, ns: &str, kernel: SocketAddr, total: usize) {
    let (tx, rx) = std::sync::mpsc::channel();
    let server = in_ns(ns, move || {
        let l = std::net::TcpListener::bind(kernel).map_err(|e| format!("bind {kernel}: {e}"))?;
        let _ = tx.send(());
        let (mut c, _) = l.accept().map_err(|e| format!("accept: {e}"))?;
        c.set_read_timeout(Some(Duration::from_secs(30))).map_err(|e| e.to_string())?;
        let r = recv_all(&mut c).map_err(|e| format!("kernel read: {e}"))?;
        Ok(r)
    });
    rx.recv_timeout(Duration::from_secs(10)).expect("kernel listener up");
    let mut s =
        TcpStream::connect_timeout(stack, &kernel, Duration::from_secs(10)).expect("connect");
    let sent = send_pattern(&mut s, total, 0x5eed_0002).expect("synack write");
    s.shutdown(Shutdown::Write).expect("shutdown");
    let (n, got) = server.join().expect("server thread").expect("kernel server");
    assert_eq!(n, total, "synack -> kernel {kernel}: byte count");
    assert!(got == sent, "synack -> kernel {kernel}: SHA-256 differs");
}
