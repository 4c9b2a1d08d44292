//! `synack forward` answers `--help`, and bad arguments get a usage error (exit code 2) or a
//! clear error (exit code 1) before anything is opened: no root needed.

use std::process::Command;

fn synack(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_synack")).args(args).output().expect("run synack")
}

#[test]
fn help_names_every_option() {
    let out = synack(&["forward", "--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for opt in ["--tun", "--addr", "--socks5", "--user", "--pass", "--bind-interface", "--fwmark"] {
        assert!(help.contains(opt), "{opt} missing from:\n{help}");
    }
}

#[test]
fn bad_arguments_are_usage_errors() {
    let base = ["forward", "--tun", "t0", "--addr", "10.0.0.1/24"];
    for extra in [
        &["--fwmark", "0"][..],
        &["--fwmark", "ten"],
        &["--user", "u", "--pass", "p"],
        &["--socks5", "127.0.0.1:1080", "--user", "u"],
        &["--connect-timeout", "0"],
        &["--mtu", "100"],
    ] {
        let out = synack(&[&base[..], extra].concat());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {err}");
        assert!(err.starts_with("error:") && !err.contains("panicked"), "{extra:?}: {err}");
    }
    // Missing --addr, and an address without its prefix.
    for args in [&["forward", "--tun", "t0"][..], &["forward", "--tun", "t0", "--addr", "10.0.0.1"]]
    {
        let out = synack(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn bad_values_are_clear_errors_before_anything_is_opened() {
    let base = ["forward", "--tun", "t0", "--addr", "10.0.0.1/24"];
    for (extra, says) in [
        (&["--addr", "10.0.0.9/24"][..], "--addr given twice for one IP version"),
        (&["--bind-interface", "no-such-if0"], "no such interface"),
        (&["--socks5", "not an address"], "--socks5"),
        (&["--socks5", "127.0.0.1:1080", "--user", "", "--pass", "p"], "1 to 255 bytes"),
    ] {
        let out = synack(&[&base[..], extra].concat());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{extra:?}: {err}");
        assert!(err.contains(says), "{extra:?}: {err}");
    }
}
