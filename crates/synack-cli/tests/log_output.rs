//! The command prints the libraries' log events on stderr: warnings by default, more with
//! `--log` or `SYNACK_LOG`; a filter that does not parse is a usage error. The root test
//! runs `synack connect` on a TUN device in a namespace it creates (`SKIPPED` otherwise).

// Real processes need real time: every wait here is a bounded wall-clock wait.
#![allow(clippy::disallowed_methods)]

use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_synack");

mod support;
use support::{Ns, skip_reason};

fn synack(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(BIN);
    c.args(args).env_remove("SYNACK_LOG").env_remove("RUST_LOG");
    c.envs(env.iter().copied()).output().expect("run synack")
}

#[test]
fn a_bad_filter_is_a_usage_error_naming_its_source() {
    let args = ["decode", "00"];
    for (flag, env, source) in [
        (Some("synack=loud"), vec![], "--log"),
        (None, vec![("SYNACK_LOG", "synack=loud")], "SYNACK_LOG"),
        (None, vec![("RUST_LOG", "synack=loud")], "RUST_LOG"),
    ] {
        let mut all = vec![];
        if let Some(f) = flag {
            all.extend(["--log", f]);
        }
        all.extend(args);
        let out = synack(&all, &env);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{source}: {err}");
        assert!(err.contains(&format!("{source}: invalid log filter")), "{source}: {err}");
    }
}

/// `synack connect` to a port nobody listens on, on a fresh TUN in `ns`, with extra arguments
/// and environment; its output once it gave up (refused).
fn connect_refused(ns: &Ns, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new("timeout");
    c.args(["-s", "KILL", "30", "ip", "netns", "exec", ns.name(), BIN])
        .args(extra)
        .args(["connect", "--tun", "synlog0", "--addr", "10.63.0.2/24"])
        .args(["--kernel-addr", "10.63.0.1/24", "10.63.0.1:9"])
        .env_remove("SYNACK_LOG")
        .env_remove("RUST_LOG")
        .envs(env.iter().copied())
        .stdin(Stdio::null());
    let out = c.output().expect("connect");
    assert_eq!(out.status.code(), Some(3), "refused: {out:?}");
    out
}

#[test]
fn tun_device_events_reach_stderr_at_the_level_asked() {
    if let Some(why) = skip_reason(&["ip", "timeout"]) {
        println!("SKIPPED: {why}");
        return;
    }
    let ns = Ns::new("log", "tun");
    // The device says how it does its batched I/O: at debug level through io_uring, as a
    // warning where this kernel refuses io_uring.
    let io_line = |out: &Output| {
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        let found = err
            .lines()
            .any(|l| l.contains("synack_tun::device: TUN synlog0: ") && l.contains("io_uring"));
        (found, err)
    };
    let err = String::from_utf8_lossy(&connect_refused(&ns, &[], &[]).stderr).into_owned();
    assert!(!err.contains("DEBUG") && !err.contains("INFO"), "hidden by default: {err}");
    let (found, err) = io_line(&connect_refused(&ns, &["--log", "synack_tun=debug"], &[]));
    assert!(found, "--log synack_tun=debug: {err}");
    let (found, err) = io_line(&connect_refused(&ns, &[], &[("SYNACK_LOG", "debug")]));
    assert!(found, "SYNACK_LOG=debug: {err}");
    // With io_uring turned off for the process the device says so too, and works on.
    let off = [("SYNACK_LOG", "synack_tun=debug"), ("SYNACK_TUN_IO_URING", "0")];
    let (found, err) = io_line(&connect_refused(&ns, &[], &off));
    assert!(found && err.contains("one system call per packet"), "io_uring off: {err}");
}
