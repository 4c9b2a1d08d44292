//! Command lines and code lines of the public suites beyond settings: the files `sendfile`
//! reads (made by `rm`/`dd`/`touch`/`truncate` lines in the run's private directory), variables
//! in `%{ }%` blocks, and what stays unsupported. Scripts of our own, each also changed so the
//! runner must fail it.

mod common;

use synack_drill::engine::EngineFactory;
use synack_drill::matcher::MatchMode;
use synack_drill::profile::Profile;
use synack_drill::{RunOptions, Verdict, run_source};

fn run(src: &str) -> Verdict {
    let opts = RunOptions::new(Profile::linux(), MatchMode::Strict);
    run_source(src, "setup.pkt", &opts, &EngineFactory).verdict
}

/// A passive open on fd 4, then `body`.
fn script(setup: &str, body: &str) -> String {
    format!(
        "{setup}
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < S 0:0(0) win 65535 <mss 1000,nop,wscale 7>
+0 > S. 0:0(0) ack 1 <mss 1460,nop,wscale 8>
+.1 < . 1:1(0) ack 1 win 257
+0 accept(3, ..., ...) = 4
{body}"
    )
}

fn fails_on(v: Verdict, want_line: u32, why: &str) {
    match v {
        Verdict::Fail { line, reason, .. } => {
            assert_eq!(line, want_line, "failed elsewhere: {reason}");
            assert!(reason.contains(why), "reason {reason:?} lacks {why:?}");
        }
        v => panic!("expected a failure on line {want_line}, got {v:?}"),
    }
}

const FILE: &str = "`rm -f /tmp/f\ndd if=/dev/zero of=/tmp/f bs=1000 count=3 status=none`";

#[test]
fn sendfile_sends_the_file_from_its_offset() {
    let body = "+0 open(\"/tmp/f\", O_RDONLY) = 5
+0 sendfile(4, 5, [1000], 5000) = 2000
+0 > P. 1:2001(2000) ack 1
";
    assert_eq!(run(&script(FILE, body)), Verdict::Pass);
    // The count is what the file holds past the offset.
    let wrong = body.replace("= 2000", "= 3000");
    fails_on(run(&script(FILE, &wrong)), 12, "sendfile() returned 2000");
}

#[test]
fn sendfile_without_offset_advances_the_file_position() {
    let body = "+0 open(\"/tmp/f\", O_RDONLY) = 5
+0 sendfile(4, 5, NULL, 2000) = 2000
+0 sendfile(4, 5, NULL, 2000) = 1000
+0 sendfile(4, 5, NULL, 2000) = 0
+0 > P. 1:3001(3000) ack 1
+0 close(5) = 0
+0 sendfile(4, 5, NULL, 1) = -1 EBADF (Bad file descriptor)
";
    assert_eq!(run(&script(FILE, body)), Verdict::Pass);
}

#[test]
fn removed_and_missing_files() {
    // An open file stays readable after rm; a removed one cannot be opened again.
    let body = "+0 open(\"/tmp/f\", O_RDONLY) = 5
+0 `rm /tmp/f`
+0 sendfile(4, 5, [0], 10) = 10
+0 > P. 1:11(10) ack 1
+0 open(\"/tmp/f\", O_RDONLY) = -1 ENOENT (No such file or directory)
";
    assert_eq!(run(&script(FILE, body)), Verdict::Pass);
    // rm without -f of a file that is not there fails the line, as the command's status does.
    let again = "+0 `rm /tmp/f`\n+0 `rm /tmp/f`\n";
    fails_on(run(&script(FILE, again)), 12, "cannot remove");
}

#[test]
fn other_shell_commands_stay_unsupported() {
    for cmd in ["`cat /etc/passwd`", "`rm -rf /tmp`", "`dd if=/dev/urandom of=/tmp/x count=1`"] {
        match run(&script(cmd, "")) {
            Verdict::Unsupported { line: Some(1), reason } => {
                assert!(reason.starts_with("unsupported command:"), "{reason}")
            }
            v => panic!("{cmd}: {v:?}"),
        }
    }
}

#[test]
fn code_variables_carry_from_block_to_block() {
    let body = "+0 %{ cwnd = 10; assert tcpi_snd_cwnd == cwnd, tcpi_snd_cwnd }%
+0 %{ cwnd += 0; assert tcpi_snd_cwnd == cwnd }%
";
    assert_eq!(run(&script("", body)), Verdict::Pass);
    let wrong = body.replace("cwnd += 0", "cwnd += 1");
    fails_on(run(&script("", &wrong)), 11, "cwnd = 11");
}

#[test]
fn nstat_reports_the_engines_counters_since_the_last_nstat() {
    let body = "+0 < P. 5000001:5001001(1000) ack 1 win 257
+0 `nstat | grep TcpExtBeyondWindow | grep -q \" 1 \"`
+0 < P. 5000001:5001001(1000) ack 1 win 257
+0 < P. 5000001:5001001(1000) ack 1 win 257
+0 `nstat -s | grep TcpExtBeyondWindow | grep -q \" 2 \"`
+0 `nstat -a | grep TcpExtBeyondWindow | grep -q \" 3 \"`
";
    assert_eq!(run(&script("`nstat -n`", body)), Verdict::Pass);
    fails_on(run(&script("`nstat -n`", &body.replace("\" 2 \"", "\" 3 \""))), 14, "grep");
    // nstat without -s updated what the next one counts from.
    let again = "+0 < P. 5000001:5001001(1000) ack 1 win 257
+0 `nstat -n`
+0 `nstat | grep -q TcpExtBeyondWindow`
";
    fails_on(run(&script("", again)), 12, "grep");
    // A counter the stack does not keep cannot be checked.
    let other = "+0 `nstat | grep TcpExtTCPRcvQDrop | grep -q \" 1 \"`\n";
    match run(&script("", other)) {
        Verdict::Unsupported { line: Some(10), reason } => {
            assert!(reason.contains("TcpExtTCPRcvQDrop"), "{reason}")
        }
        v => panic!("{v:?}"),
    }
}

#[test]
fn proc_net_tcp_lists_the_listener_and_the_connection() {
    let body = "+0 `grep \" 0A \" /proc/net/tcp /proc/net/tcp6 | grep \":1F90\"`
+0 `grep \" 01 \" /proc/net/tcp | grep -c :1F90 | grep -q 1`
";
    assert_eq!(run(&script("", body)), Verdict::Pass);
    // No socket is in SYN-RECEIVED (03) any more.
    fails_on(run(&script("", &body.replace("\" 01 \"", "\" 03 \""))), 11, "grep");
}

/// Linux reads `tcp_ecn_option` as it builds each segment: switched off mid-script, the
/// connection that exists stops sending the AccECN option.
#[test]
fn the_accecn_option_policy_changes_for_existing_connections() {
    let src = "`sysctl -q net.ipv4.tcp_ecn=3`
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < SEWA 0:0(0) win 32792 <mss 1460,nop,nop,sackOK,nop,wscale 8>
+.002 > SW. 0:0(0) ack 1 <mss 1460,ECN e1b 1 ceb 0 e0b 1,nop,nop,nop,sackOK,nop,wscale 8>
+.05 < [ect0] W. 1:1(0) ack 1 win 264 <ECN e0b 1 ceb 0 e1b 1,nop>
+.002 accept(3, ..., ...) = 4
+0 `sysctl -q net.ipv4.tcp_ecn_option=0`
+.002 write(4, ..., 1000) = 1000
+.002 > [ect0] P.5 1:1001(1000) ack 1
";
    assert_eq!(run(src), Verdict::Pass);
    let kept = src.replace(
        "+0 `sysctl -q net.ipv4.tcp_ecn_option=0`",
        "+0 `sysctl -q net.ipv4.tcp_ecn_option=2`",
    );
    fails_on(run(&kept), 12, "options");
}

/// With `--mss`, packetdrill hands the stack an inbound packet longer than the MSS as a GSO
/// packet of MSS-sized segments; the stack's estimate of the peer's segment size
/// (`tcpi_rcv_mss`) learns that size, not the coalesced length.
#[test]
fn a_coalesced_segment_teaches_the_segment_size() {
    let body = "+0 %{ assert tcpi_rcv_mss == 536, tcpi_rcv_mss }%
+0 < . 1:10001(10000) ack 1 win 257
+0 %{ assert tcpi_rcv_mss == 1000, tcpi_rcv_mss }%
";
    assert_eq!(run(&script("--mss=1000", body)), Verdict::Pass);
    // Without --mss the 10000 bytes are one segment: the estimate is the MSS we announced.
    fails_on(run(&script("", body)), 12, "tcpi_rcv_mss = 1460");
}

/// `SK_MEMINFO_*` names in a block are the socket's `SO_MEMINFO` entries: the buffer sizes
/// are what `getsockopt` reports.
#[test]
fn sk_meminfo_buffers_are_the_reported_sizes() {
    let src = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_RCVBUF, [30000], 4) = 0
+0 getsockopt(3, SOL_SOCKET, SO_RCVBUF, [60000], [4]) = 0
+0 %{ assert SK_MEMINFO_RCVBUF == 60000, SK_MEMINFO_RCVBUF }%
";
    assert_eq!(run(src), Verdict::Pass);
    fails_on(run(&src.replace("== 60000", "== 30000")), 4, "SK_MEMINFO_RCVBUF = 60000");
    // The memory-use entries are not modelled.
    let used = "+0 %{ assert SK_MEMINFO_RMEM_ALLOC == 0 }%\n";
    assert!(matches!(run(&script("", used)), Verdict::Unsupported { .. }));
}

/// `ip tcp_metrics flush` while the stack runs forgets its Fast Open cookies, so the next
/// connection asks for a cookie again (google's `nonblocking-sendto.pkt` with its flush line
/// on its own; without the flush the cached cookie goes on the SYN).
#[test]
fn a_metrics_flush_forgets_fast_open_cookies() {
    let Some(shared) = common::shared_dir() else { return };
    let dir = shared.join("packetdrill-suites/google/gtests/net/tcp/fastopen/client");
    let Ok(src) = std::fs::read_to_string(dir.join("nonblocking-sendto.pkt")) else {
        println!("SKIPPED: google's fastopen/client scripts not found at {}", dir.display());
        return;
    };
    let start = src.find("sysctl -q net.ipv4.tcp_fastopen_cookies").expect("the flush line");
    let end = start + src[start..].find('`').expect("its end");
    let flushed = format!("{}ip tcp_metrics flush all{}", &src[..start], &src[end..]);
    let kept = format!("{}{}", &src[..start], &src[end..]);
    let args = synack_drill::suite::runner_args(&dir, "nonblocking-sendto.pkt", false);
    let mut opts = RunOptions::new(Profile::linux(), MatchMode::Relaxed);
    opts.script_dir = Some(dir.clone());
    opts.defines = args.defines.into_iter().collect();
    opts.runner_options = args.options;
    let run = |s: &str| run_source(s, "nonblocking-sendto.pkt", &opts, &EngineFactory).verdict;
    assert_eq!(run(&flushed), Verdict::Pass);
    // The SYN after the unflushed cache carries the cookie where a request is expected.
    match run(&kept) {
        Verdict::Fail { reason, .. } => assert!(reason.contains("options"), "{reason}"),
        v => panic!("{v:?}"),
    }
}
