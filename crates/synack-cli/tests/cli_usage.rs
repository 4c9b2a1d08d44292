//! Every subcommand of this engineer's part answers `--help`, and bad input gets a message
//! and a non-zero exit code (never a panic).

use std::process::Command;

fn synack(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_synack")).args(args).output().expect("run synack")
}

#[test]
fn help_everywhere() {
    for sub in ["demo", "serve", "connect", "lab", "bench"] {
        let out = synack(&[sub, "--help"]);
        assert!(out.status.success(), "{sub} --help");
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: synack"), "{sub}");
    }
}

#[test]
fn bad_arguments_are_usage_errors() {
    for args in [
        &[
            "serve",
            "telnet",
            "--tun",
            "t0",
            "--addr",
            "10.0.0.2/24",
            "--kernel-addr",
            "10.0.0.1/24",
        ][..],
        &["serve", "echo", "--tun", "t0", "--addr", "10.0.0.2", "--kernel-addr", "10.0.0.1/24"],
        &["serve", "echo", "--tun", "t0", "--addr", "10.0.0.2/33", "--kernel-addr", "10.0.0.1/24"],
        &[
            "connect",
            "--tun",
            "t0",
            "--addr",
            "10.0.0.2/24",
            "--kernel-addr",
            "10.0.0.1/24",
            "nohost",
        ],
        &[
            "serve",
            "echo",
            "--tun",
            "t0",
            "--addr",
            "10.0.0.2/24",
            "--kernel-addr",
            "10.0.0.1/24",
            "--mtu",
            "100",
        ],
        &["bench", "--only", "everything"],
        &["bench", "--mtu", "100"],
        &["bench", "--setups", "0"],
    ] {
        let out = synack(args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.stderr.is_empty());
    }
}

#[test]
fn inconsistent_addresses_are_refused_before_touching_the_system() {
    for (a, k, why) in [
        ("10.0.0.2/24", "fd00::1/64", "different IP versions"),
        ("10.0.0.2/24", "10.0.1.1/24", "one prefix"),
        ("10.0.0.2/24", "10.0.0.2/24", "must differ"),
    ] {
        let out =
            synack(&["serve", "echo", "--tun", "synack-never", "--addr", a, "--kernel-addr", k]);
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains(why), "{a} {k}");
    }
}

/// `synack bench` runs the benchmark code (here one small group, for the shape of its JSON, not
/// for its figures: speed is measured in release builds, never in tests).
#[test]
fn bench_prints_json_with_its_keys() {
    let out = synack(&["bench", "--quick", "--only", "setup", "--setups", "50", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let per_second = v["setup_teardown"]["per_second"].as_f64().expect("per_second");
    assert!(per_second > 0.0);
    assert!(v["setup_teardown"]["allocations_per_connection"].as_f64().unwrap() > 0.0);
    assert!(v.get("bulk_mtu1500").is_none(), "only the group that ran");
}
