//! The Linux kernel's TCP against synack over TUN devices, inside network namespaces these
//! tests create (unique names, deleted afterwards). Every process a test starts is killed by
//! its PID, every wait is bounded, and each scenario is captured with tcpdump and checked with
//! tshark for malformed packets and bad checksums.
//!
//! Bulk transfers to the discard server are [`BULK_MB`] = 100 MB, as issue 6 asks, with and
//! without loss, even though the tests run the debug build of `synack`; `synack connect`
//! uploads [`UPLOAD_MB`] = 32 MB to a kernel server, and the HTTP downloads are 5 MB.
//!
//! Needs root, /dev/net/tun, `ip`, `python3`, `tcpdump`, `tshark` and (for the loss test)
//! `nft`; prints `SKIPPED: <reason>` and passes otherwise.

// Real processes need real time: every wait here is a bounded wall-clock wait.
#![allow(clippy::disallowed_methods)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_synack");

/// Megabytes (MiB) the kernel sends to synack's discard server in the bulk tests.
const BULK_MB: u32 = 100;

mod support;
use support::{Ns, Proc, skip_reason};

/// tcpdump on every interface of the namespace.
fn capture(ns: &Ns, file: &Path) -> Proc {
    let p =
        Proc::spawn(ns.cmd(&["tcpdump", "-i", "any", "-n", "-U", "-w", file.to_str().unwrap()]));
    assert!(p.wait_for("listening on", 10), "tcpdump did not start: {}", p.text());
    p
}

/// tshark finds no malformed packets and no bad IP or TCP checksums in `file`.
///
/// Packets the kernel itself sends, seen by tcpdump on `-i any` as outgoing (Linux cooked
/// `sll.pkttype` 4), are captured before the kernel finishes their checksum (checksum offload
/// leaves a partial sum, often shown as 0xffff), so only their form is judged; every packet
/// synack sends reaches the kernel as incoming and is checked in full.
fn check_capture(file: &Path, what: &str) {
    let f = file.to_str().unwrap();
    // One bounded pass: every TCP packet's frame number, and the flags of those that are
    // malformed or carry a bad IP or TCP checksum (a killed or failed tshark fails the test).
    let t = tshark(&[
        "-n",
        "-r",
        f,
        "-o",
        "tcp.check_checksum:TRUE",
        "-o",
        "ip.check_checksum:TRUE",
        "-Y",
        "tcp",
        "-T",
        "fields",
        "-e",
        "_ws.malformed",
        "-e",
        "tcp.checksum.status",
        "-e",
        "ip.checksum.status",
        "-e",
        "sll.pkttype",
        // After the judged columns, to name a failing frame in the message.
        "-e",
        "frame.number",
        "-e",
        "tcp.srcport",
        "-e",
        "tcp.dstport",
        "-e",
        "tcp.flags.str",
        "-e",
        "tcp.len",
    ]);
    let mut packets = 0;
    for line in t.lines() {
        packets += 1;
        let cols: Vec<&str> = line.split('\t').collect();
        let outgoing = cols.get(3).is_some_and(|c| c.trim() == "4");
        let bad_sum = cols[1..cols.len().min(3)].iter().any(|c| c.split(',').any(|v| v == "0"));
        let bad = !cols.first().unwrap_or(&"").is_empty() || (bad_sum && !outgoing);
        assert!(!bad, "{what}: malformed packet or bad checksum: {line:?}");
    }
    assert!(packets > 0, "{what}: capture has no TCP");
}

/// Runs tshark for at most four minutes; its stdout, or a failed test.
fn tshark(args: &[&str]) -> String {
    // Sequence analysis and reassembly are not needed for these checks and dominate tshark's
    // time on the bulk captures when the machine is loaded. Payloads are random bytes: decoded
    // as plain data, so that an application dissector guessing at them (DRDA, say) cannot
    // mark a sound TCP segment malformed.
    let out = Command::new("timeout")
        .args(["240", "tshark", "-o", "tcp.desegment_tcp_streams:FALSE"])
        .args(["-o", "tcp.analyze_sequence_numbers:FALSE"])
        .args(["-d", "tcp.port==1-65535,data"])
        .args(args)
        .output()
        .expect("tshark");
    assert!(
        out.status.success(),
        "tshark {args:?} failed or timed out: {:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn serve(ns: &Ns, service: &str, tun: &str, net: &str, port: u16, pcap: Option<&Path>) -> Proc {
    let addr = format!("{net}.2/24");
    let kaddr = format!("{net}.1/24");
    let port = port.to_string();
    let mut args = vec![
        BIN,
        "serve",
        service,
        "--tun",
        tun,
        "--addr",
        &addr,
        "--kernel-addr",
        &kaddr,
        "--port",
        &port,
        "--sha256",
        // Plain packets: the captures judge synack's own checksums and segment sizes.
        "--no-offload",
    ];
    let p;
    if let Some(f) = pcap {
        p = f.to_str().unwrap().to_string();
        args.extend(["--pcap", &p]);
    }
    let s = Proc::spawn(ns.cmd(&args));
    assert!(s.wait_for("synack serves", 15), "serve did not start: {}", s.text());
    s
}

/// A scratch directory unique to the test process, removed when dropped (a failing test's
/// panic drops it too).
struct TmpDir(PathBuf);

impl std::ops::Deref for TmpDir {
    type Target = PathBuf;
    fn deref(&self) -> &PathBuf {
        &self.0
    }
}

impl Drop for TmpDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tmpdir(tag: &str) -> TmpDir {
    let d = std::env::temp_dir().join(format!("synack-it-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    TmpDir(d)
}

const ECHO_CLIENT: &str = r#"
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
f = s.makefile('rb')
assert f.readline() == b'Hello! Enter BYE to exit.\n'
for line in [b'a', b'hello echo server!', b'bye']:
    s.sendall(line + b'\n')
    got = f.readline()
    assert got == b'Echo: ' + line + b'\n', got
assert f.read() == b''
print('ECHO OK')
"#;

const MANY: &str = r#"
import socket, sys, threading
ok = []
def one(i):
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=20)
    f = s.makefile('rb')
    f.readline()
    s.sendall(b'client %d\nbye\n' % i)
    if f.readline() == b'Echo: client %d\n' % i and f.readline() == b'Echo: bye\n' and f.read() == b'':
        ok.append(i)
    s.close()
ts = [threading.Thread(target=one, args=(i,)) for i in range(int(sys.argv[3]))]
[t.start() for t in ts]
[t.join(30) for t in ts]
print('MANY', len(ok))
"#;

const HALF: &str = r#"
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
s.sendall(b'after my fin\n')
s.shutdown(socket.SHUT_WR)
got = b''
while True:
    d = s.recv(4096)
    if not d: break
    got += d
assert got == b'Hello! Enter BYE to exit.\nEcho: after my fin\n', got
print('HALF OK')
"#;

const RST: &str = r#"
import socket, struct, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
s.makefile('rb').readline()
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
s.close()
print('RST SENT')
"#;

const REFUSED: &str = r#"
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
    print('CONNECTED?!')
except ConnectionRefusedError:
    print('REFUSED')
"#;

const BULK: &str = r#"
import hashlib, random, socket, sys
n = int(sys.argv[3])
rnd = random.Random(7)
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=60)
h = hashlib.sha256()
left = n
while left:
    chunk = rnd.randbytes(min(left, 1 << 20))
    s.sendall(chunk)
    h.update(chunk)
    left -= len(chunk)
s.shutdown(socket.SHUT_WR)
s.settimeout(60)
while s.recv(65536): pass
print('SENT', n, h.hexdigest())
"#;

/// The kernel sends `mb` MB to synack's discard server; the digests must match.
fn bulk_to_discard(ns: &Ns, disc: &Proc, net: &str, mb: u32) {
    let n = (mb << 20).to_string();
    let host = format!("{net}.2");
    let out = ns.run(&["python3", "-c", BULK, &host, "9", &n], 120);
    let so = String::from_utf8_lossy(&out.stdout).to_string();
    let sha = so.split_whitespace().nth(2).unwrap_or("none").to_string();
    assert!(so.starts_with("SENT"), "bulk: {so} {}", String::from_utf8_lossy(&out.stderr));
    assert!(
        disc.wait_for(&format!("{n} bytes in (sha256 {sha})"), 30),
        "discard digest differs: sent {sha}; server said:\n{}",
        disc.text()
    );
}

/// Skips the test (prints `SKIPPED: <reason>` and returns) unless every tool is present and
/// the test runs as root with a TUN device.
macro_rules! require {
    ($($tool:expr),* $(,)?) => {
        if let Some(why) = skip_reason(&[$($tool),*]) {
            println!("SKIPPED: {why}");
            return;
        }
    };
}

/// Makes the kernel side of namespace `ns` drop 2% of the packets it sends and receives
/// (nftables, random), so synack has to recover from loss it does not cause itself.
fn drop_two_percent(ns: &Ns) {
    let nft = "table inet synackloss { chain o { type filter hook output priority 0; \
               numgen random mod 100 < 2 drop; }; chain i { type filter hook input priority 0; \
               numgen random mod 100 < 2 drop; }; }";
    let out = ns.run(&["nft", nft], 10);
    assert!(out.status.success(), "nft: {out:?}");
}

#[test]
fn kernel_clients_to_synack_serve() {
    require!("ip", "python3", "tcpdump", "tshark", "timeout");
    let ns = Ns::new("it", "srv");
    let dir = tmpdir("srv");
    let cap = capture(&ns, &dir.join("kernel.pcap"));
    let echo = serve(&ns, "echo", "synecho", "10.61.0", 7, Some(&dir.join("synack.pcap")));
    let disc = serve(&ns, "discard", "syndisc", "10.61.1", 9, None);

    let out = ns.run(&["python3", "-c", ECHO_CLIENT, "10.61.0.2", "7"], 20);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("ECHO OK"),
        "echo: {out:?}\n{}",
        echo.text()
    );

    // socat and nc as kernel clients too: the same dialogue, their own socket options.
    if skip_reason(&["socat"]).is_none() {
        let out = ns.run(&["sh", "-c", "printf 'a\\nbye\\n' | socat -t 5 - TCP:10.61.0.2:7"], 20);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "Hello! Enter BYE to exit.\nEcho: a\nEcho: bye\n",
            "socat: {out:?}"
        );
    }
    if skip_reason(&["nc"]).is_none() {
        let out = ns.run(&["sh", "-c", "printf 'nc line\\nbye\\n' | nc -w 5 10.61.0.2 7"], 20);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "Hello! Enter BYE to exit.\nEcho: nc line\nEcho: bye\n",
            "nc: {out:?}"
        );
    }

    let out = ns.run(&["python3", "-c", HALF, "10.61.0.2", "7"], 20);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("HALF OK"),
        "half: {out:?}\n{}",
        echo.text()
    );

    let out = ns.run(&["python3", "-c", RST, "10.61.0.2", "7"], 20);
    assert!(String::from_utf8_lossy(&out.stdout).contains("RST SENT"), "rst: {out:?}");
    assert!(echo.wait_for("connection reset", 10), "synack did not see the RST:\n{}", echo.text());

    let out = ns.run(&["python3", "-c", REFUSED, "10.61.0.2", "4444"], 20);
    assert!(String::from_utf8_lossy(&out.stdout).contains("REFUSED"), "closed port: {out:?}");

    let out = ns.run(&["python3", "-c", MANY, "10.61.0.2", "7", "32"], 60);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("MANY 32"),
        "many: {out:?}\n{}",
        echo.text()
    );

    bulk_to_discard(&ns, &disc, "10.61.1", BULK_MB);

    let echo_out = echo.stop(10);
    disc.stop(10);
    assert!(echo_out.contains("stopped"), "serve did not stop cleanly:\n{echo_out}");
    cap.stop(10);
    // The kernel's RST+ACK for the closed port: the SYN to 4444 is answered by synack.
    let rst = tshark(&[
        "-n",
        "-r",
        dir.join("kernel.pcap").to_str().unwrap(),
        "-Y",
        "tcp.srcport == 4444 && tcp.flags.reset == 1 && tcp.flags.ack == 1",
    ]);
    assert!(!rst.is_empty(), "no RST+ACK from the closed port");
    check_capture(&dir.join("kernel.pcap"), "kernel side");
    check_capture(&dir.join("synack.pcap"), "synack's own capture");
}

const CLOSE_FIRST: &str = r#"
import socket
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(('0.0.0.0', 7070)); l.listen(1); l.settimeout(30)
print('READY', flush=True)
c, _ = l.accept()
c.sendall(b'kernel closes first\n')
c.close()
"#;

fn connect(ns: &Ns, net: &str, tun: &str, target: &str, stdin: &[u8], secs: u32) -> Output {
    let addr = format!("{net}.2/24");
    let kaddr = format!("{net}.1/24");
    let mut c = Command::new("timeout");
    c.args(["-s", "KILL", &secs.to_string(), "ip", "netns", "exec", ns.name(), BIN, "connect"])
        .args(["--no-offload", "--tun", tun, "--addr", &addr, "--kernel-addr", &kaddr, target]);
    c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().expect("connect");
    let mut si = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = si.write_all(&data);
        // Keep stdin open a moment when there is nothing to say (the kernel closes first).
        if data.is_empty() {
            std::thread::sleep(Duration::from_secs(3));
        }
    });
    let out = child.wait_with_output().expect("wait connect");
    let _ = writer.join();
    out
}

fn http_get(ns: &Ns, net: &str, tun: &str, path: &str) -> (Output, Vec<u8>) {
    let req = format!("GET /{path} HTTP/1.0\r\nHost: x\r\n\r\n");
    let out = connect(ns, net, tun, &format!("{net}.1:8000"), req.as_bytes(), 120);
    let body = out
        .stdout
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| out.stdout[p + 4..].to_vec())
        .unwrap_or_default();
    (out, body)
}

fn file_of(dir: &Path, mb: u32) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let data: Vec<u8> = (0..(mb as usize) << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(dir.join("file.bin"), &data).unwrap();
    data
}

/// python's http.server on every address of the namespace: the TUN device (and the
/// kernel's address on it) exists only while `synack connect` runs.
fn http_server(ns: &Ns, dir: &Path) -> Proc {
    let d = dir.to_str().unwrap();
    let c = ns.cmd(&[
        "python3",
        "-u",
        "-m",
        "http.server",
        "8000",
        "--bind",
        "0.0.0.0",
        "--directory",
        d,
    ]);
    let p = Proc::spawn(c);
    assert!(p.wait_for("Serving HTTP", 10), "http.server: {}", p.text());
    p
}

#[test]
fn synack_connect_to_kernel_servers() {
    require!("ip", "python3", "tcpdump", "tshark", "timeout");
    let ns = Ns::new("it", "cli");
    let dir = tmpdir("cli");
    let cap = capture(&ns, &dir.join("kernel.pcap"));
    // Refused: nothing listens yet (this also creates the TUN and the kernel's address).
    let out = connect(&ns, "10.62.0", "synconn", "10.62.0.1:8000", b"", 20);
    assert_eq!(out.status.code(), Some(3), "refused: {out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused"), "{out:?}");

    let kernel = Proc::spawn(ns.cmd(&["python3", "-c", CLOSE_FIRST]));
    assert!(kernel.wait_for("READY", 10));
    let out = connect(&ns, "10.62.0", "synconn", "10.62.0.1:7070", b"", 20);
    assert!(out.status.success(), "kernel closes first: {out:?}");
    assert_eq!(out.stdout, b"kernel closes first\n");
    drop(kernel);

    cap.stop(10);
    check_capture(&dir.join("kernel.pcap"), "connect scenarios");
}

#[test]
fn bulk_to_discard_stays_exact_with_loss_on_the_kernel_side() {
    require!("ip", "python3", "tcpdump", "tshark", "timeout", "nft");
    let ns = Ns::new("it", "loss");
    let dir = tmpdir("loss");
    drop_two_percent(&ns);
    let cap = capture(&ns, &dir.join("kernel.pcap"));
    let disc = serve(&ns, "discard", "synloss", "10.63.1", 9, None);
    bulk_to_discard(&ns, &disc, "10.63.1", BULK_MB);
    disc.stop(10);

    cap.stop(10);
    let drops = ns.run(&["nft", "list", "ruleset"], 10);
    assert!(String::from_utf8_lossy(&drops.stdout).contains("numgen random"), "rules stayed");
    check_capture(&dir.join("kernel.pcap"), "lossy transfers");
}

/// A file from python's http.server downloaded through `synack connect`, without and with 2%
/// loss on the kernel side. `synack connect` half-closes after the request, so the reply
/// arrives while synack is in FIN-WAIT-2.
#[test]
fn http_download_through_synack_connect_is_byte_exact() {
    require!("ip", "python3", "tcpdump", "tshark", "timeout", "nft");
    for lossy in [false, true] {
        let ns = Ns::new("it", if lossy { "dll" } else { "dl" });
        let dir = tmpdir(if lossy { "dll" } else { "dl" });
        if lossy {
            drop_two_percent(&ns);
        }
        let cap = capture(&ns, &dir.join("kernel.pcap"));
        let data = file_of(&dir, 5);
        let srv = http_server(&ns, &dir);
        let (out, body) = http_get(&ns, "10.64.0", "syndl", "file.bin");
        assert!(
            out.status.success(),
            "download: {:?} {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(body.len(), data.len(), "downloaded length (loss: {lossy})");
        assert!(body == data, "downloaded bytes differ (loss: {lossy})");
        srv.stop(5);
        cap.stop(10);
        check_capture(&dir.join("kernel.pcap"), "download");
    }
}

/// A kernel server that hashes everything it receives, then closes.
const HASH_SERVER: &str = r#"
import hashlib, socket, sys
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(('0.0.0.0', int(sys.argv[1]))); l.listen(1); l.settimeout(60)
print('READY', flush=True)
c, _ = l.accept(); c.settimeout(60)
h = hashlib.sha256(); n = 0
while True:
    d = c.recv(1 << 20)
    if not d: break
    h.update(d); n += len(d)
c.close()
print('GOT', n, h.hexdigest(), flush=True)
"#;

/// Megabytes (MiB) `synack connect` sends to a kernel server in [`synack_to_kernel_bulk_is_byte_exact`].
const UPLOAD_MB: u32 = 32;

/// synack as the sender of a bulk transfer (its transmit path: full batches of segments written
/// to the TUN device after each poll), without and with 2% loss on the kernel side: the kernel
/// receives exactly the bytes given to `synack connect` on stdin.
#[test]
fn synack_to_kernel_bulk_is_byte_exact() {
    require!("ip", "python3", "tcpdump", "tshark", "timeout", "nft");
    for lossy in [false, true] {
        let tag = if lossy { "upl" } else { "up" };
        let ns = Ns::new("it", tag);
        let dir = tmpdir(tag);
        if lossy {
            drop_two_percent(&ns);
        }
        let cap = capture(&ns, &dir.join("kernel.pcap"));
        let srv = Proc::spawn(ns.cmd(&["python3", "-c", HASH_SERVER, "7071"]));
        assert!(srv.wait_for("READY", 10), "hash server: {}", srv.text());
        let data = file_of(&dir, UPLOAD_MB);
        let want: String = {
            use sha2::{Digest, Sha256};
            Sha256::digest(&data).iter().map(|b| format!("{b:02x}")).collect()
        };
        let out = connect(&ns, "10.65.0", "synup", "10.65.0.1:7071", &data, 120);
        assert!(
            out.status.success(),
            "upload (loss: {lossy}): {:?} {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let got = format!("GOT {} {want}", data.len());
        assert!(
            srv.wait_for(&got, 30),
            "kernel received other bytes (loss: {lossy}): want {got}, server said {}",
            srv.text()
        );
        srv.stop(5);
        cap.stop(10);
        check_capture(&dir.join("kernel.pcap"), "upload");
    }
}
