//! Support shared by the tests that run the stack on a TUN device inside a network namespace
//! they create (`tun_*.rs`): the capability check that turns a missing one into `SKIPPED`, the
//! namespace with a name unique to the test process, removed when the test ends, and running
//! a command inside it.
// Each test file uses the part of this module it needs.
#![allow(dead_code)]

use std::process::{Command, Output};

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
