//! Support shared by the tests that run `synack` against the kernel inside network namespaces
//! they create (`chaos.rs`, `forward_netns.rs`, `interop_kernel.rs`): the capability check behind `SKIPPED`, the
//! namespace with a name unique to the test process, deleted on drop, and started processes
//! killed by their PID on drop with their output collected.
// Each test file uses the part of this module it needs.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Why the test cannot run here (not root, no /dev/net/tun, one of `tools` not on PATH), or
/// `None` when it can.
pub(crate) fn skip_reason(tools: &[&str]) -> Option<String> {
    synack_tun::netns::unavailable(tools)
}

/// True when `tool` is on PATH.
pub(crate) fn have(tool: &str) -> bool {
    synack_tun::netns::on_path(tool)
}

/// A network namespace named `synack-<suite>-<tag>-<pid>`, loopback up, deleted on drop.
pub(crate) struct Ns(String);

impl Ns {
    pub(crate) fn new(suite: &str, tag: &str) -> Ns {
        synack_tun::netns::remove_orphans(&format!("synack-{suite}-"));
        let name = format!("synack-{suite}-{tag}-{}", std::process::id());
        let _ = Command::new("ip").args(["netns", "del", &name]).stderr(Stdio::null()).status();
        assert!(Command::new("ip").args(["netns", "add", &name]).status().unwrap().success());
        let ns = Ns(name);
        ns.run(&["ip", "link", "set", "lo", "up"], 5);
        ns
    }

    /// The namespace's name, as `ip netns exec` takes it.
    pub(crate) fn name(&self) -> &str {
        &self.0
    }

    /// `args` as a command run inside the namespace.
    pub(crate) fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.0]).args(args);
        c
    }

    /// Runs to completion within `secs` (killed by `timeout` otherwise).
    pub(crate) fn run(&self, args: &[&str], secs: u32) -> Output {
        let mut c = Command::new("timeout");
        c.args(["-s", "KILL", &secs.to_string(), "ip", "netns", "exec", &self.0]).args(args);
        c.stdin(Stdio::null()).output().expect("run in netns")
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// A started process, killed by its PID on drop, its stdout and stderr collected by threads.
pub(crate) struct Proc {
    child: Child,
    out: Arc<Mutex<String>>,
}

impl Proc {
    pub(crate) fn spawn(mut cmd: Command) -> Proc {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).stdin(Stdio::null());
        let mut child = cmd.spawn().expect("spawn");
        let out = Arc::new(Mutex::new(String::new()));
        let streams: [Option<Box<dyn Read + Send>>; 2] = [
            child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
            child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
        ];
        for stream in streams.into_iter().flatten() {
            let o = out.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let mut g = o.lock().unwrap();
                    g.push_str(&line);
                    g.push('\n');
                }
            });
        }
        Proc { child, out }
    }

    /// The output so far.
    pub(crate) fn text(&self) -> String {
        self.out.lock().unwrap().clone()
    }

    /// Waits (bounded) until `pred` holds for the output.
    pub(crate) fn wait_until(&self, secs: u64, pred: impl Fn(&str) -> bool) -> bool {
        let end = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < end {
            if pred(&self.text()) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Waits (bounded) until the output contains `needle`.
    pub(crate) fn wait_for(&self, needle: &str, secs: u64) -> bool {
        self.wait_until(secs, |t| t.contains(needle))
    }

    pub(crate) fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits up to `secs` for the process to exit by itself.
    pub(crate) fn exits_within(&mut self, secs: u64) -> Option<ExitStatus> {
        let end = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < end {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    pub(crate) fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends `sig` (as `kill` takes it, e.g. `-INT`) to the process.
    pub(crate) fn signal(&self, sig: &str) {
        let _ = Command::new("kill").args([sig, &self.child.id().to_string()]).status();
    }

    /// Stops with SIGINT and waits up to `secs`, then kills; the whole output.
    pub(crate) fn stop(self, secs: u64) -> String {
        self.stop_status(secs).1
    }

    /// Stops with SIGINT and waits up to `secs`, then kills; whether it exited successfully
    /// by itself, and the whole output.
    pub(crate) fn stop_status(mut self, secs: u64) -> (bool, String) {
        self.signal("-INT");
        let exited = self.exits_within(secs).is_some_and(|s| s.success());
        self.kill9();
        std::thread::sleep(Duration::from_millis(100));
        (exited, self.text())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
