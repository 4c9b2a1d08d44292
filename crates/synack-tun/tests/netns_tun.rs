//! TUN inside a network namespace this test creates: the kernel sends an ICMP echo request to
//! an address behind the TUN, the test reads it from the device, answers with a hand-built echo
//! reply, and the kernel-side sender (python3 with a raw socket) must receive it.
//!
//! Prints `SKIPPED: <reason>` and passes when not root, without /dev/net/tun, without `ip` or
//! without python3.

use std::process::Command;
use std::time::Duration;

use synack_stack::{Device, RxToken, TxToken};
use synack_tcp::time::Instant;
use synack_tun::{TunDevice, config, netns};

/// Deletes the namespace when the test ends, however it ends.
struct NsGuard(String);
impl Drop for NsGuard {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn skip_reason() -> Option<String> {
    synack_tun::netns::unavailable(&["ip", "python3"])
}

fn csum(data: &[u8]) -> u16 {
    let mut sum = 0u32;
    for c in data.chunks(2) {
        let w = if c.len() == 2 {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], 0])
        };
        sum += u32::from(w);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Turns an IPv4 ICMP echo request into the matching reply, or None if it is something else.
fn echo_reply(req: &[u8]) -> Option<Vec<u8>> {
    if req.len() < 28 || req[0] >> 4 != 4 || req[9] != 1 {
        return None;
    }
    let ihl = usize::from(req[0] & 0x0f) * 4;
    if req.len() < ihl + 8 || req[ihl] != 8 {
        return None;
    }
    let mut p = req.to_vec();
    p[12..16].copy_from_slice(&req[16..20]);
    p[16..20].copy_from_slice(&req[12..16]);
    p[8] = 64;
    p[10] = 0;
    p[11] = 0;
    let c = csum(&p[..ihl]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p[ihl] = 0;
    p[ihl + 2] = 0;
    p[ihl + 3] = 0;
    let c = csum(&p[ihl..]);
    p[ihl + 2..ihl + 4].copy_from_slice(&c.to_be_bytes());
    Some(p)
}

const PINGER: &str = r#"
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(5)
def cs(b):
    if len(b) % 2: b += b'\0'
    t = sum(struct.unpack('!%dH' % (len(b)//2), b))
    while t > 0xffff: t = (t & 0xffff) + (t >> 16)
    return (~t) & 0xffff
payload = b'synack-tun-test'
hdr = struct.pack('!BBHHH', 8, 0, 0, 0x1234, 1)
c = cs(hdr + payload)
s.sendto(struct.pack('!BBHHH', 8, 0, c, 0x1234, 1) + payload, (sys.argv[1], 0))
end = time.time() + 5
while time.time() < end:
    data, addr = s.recvfrom(2048)
    ihl = (data[0] & 15) * 4
    if data[ihl] == 0 and data[ihl+4:ihl+6] == b'\x12\x34' and data[ihl+8:] == payload:
        print('REPLY', addr[0]); sys.exit(0)
print('NO REPLY'); sys.exit(1)
"#;

#[test]
fn kernel_ping_through_tun_in_netns() {
    ping_through_tun(false, false, false);
}

/// The same through a descriptor handed over: opened, given up, taken back with `from_fd`.
#[test]
fn kernel_ping_through_handed_over_tun_in_netns() {
    ping_through_tun(true, true, true);
}

/// The same in batched mode: the request is read by `read_batch`, handed out by `receive`, and
/// the reply queued by the transmit token goes out only with `write_batch`.
#[test]
fn kernel_ping_through_batched_tun_in_netns() {
    ping_through_tun(true, false, true);
}

/// Batched mode with one system call per packet (io_uring off).
#[test]
fn kernel_ping_through_batched_tun_without_io_uring_in_netns() {
    ping_through_tun(true, false, false);
}

/// io_uring is expected to work where the kernel has it on and this process was not told to
/// do without.
fn io_uring_expected() -> bool {
    let on = std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
        .is_ok_and(|v| v.trim() == "0");
    on && std::env::var_os("SYNACK_TUN_IO_URING").is_none_or(|v| v != "0")
}

fn ping_through_tun(batched: bool, handover: bool, uring: bool) {
    if let Some(why) = skip_reason() {
        println!("SKIPPED: {why}");
        return;
    }
    synack_tun::netns::remove_orphans("synack-tun-");
    let ns = format!(
        "synack-tun-{}-{}{}{}",
        std::process::id(),
        u8::from(batched),
        u8::from(handover),
        u8::from(uring)
    );
    let st = Command::new("ip").args(["netns", "add", &ns]).status().unwrap();
    assert!(st.success(), "ip netns add failed");
    let _guard = NsGuard(ns.clone());

    let ns2 = ns.clone();
    // The device is opened and served from a thread that entered the namespace.
    let server = std::thread::spawn(move || -> Result<(u64, u64), String> {
        netns::enter(&ns2).map_err(|e| format!("setns: {e}"))?;
        let mut dev = TunDevice::open("syntun0", 1500).map_err(|e| format!("open: {e}"))?;
        if handover {
            let offloads = dev.offloads();
            dev = TunDevice::from_fd(dev.into_fd(), 1500).map_err(|e| format!("from_fd: {e}"))?;
            assert_eq!(dev.offloads(), offloads, "the descriptor keeps its header setting");
        }
        assert_eq!(dev.name(), "syntun0");
        dev.set_io_uring(uring);
        dev.set_batched(batched);
        assert_eq!(dev.is_batched(), batched);
        assert_eq!(dev.uses_io_uring(), batched && uring && io_uring_expected());
        assert_eq!(dev.caps().max_batch, if batched { synack_tun::BATCH } else { 64 });
        config::set_mtu(dev.name(), 1500).map_err(|e| e.to_string())?;
        config::add_address(dev.name(), "10.77.0.1".parse().unwrap(), 24)
            .map_err(|e| e.to_string())?;
        config::set_up(dev.name()).map_err(|e| e.to_string())?;
        // At most 50 waits of 200 ms: bounded without reading a clock.
        let mut waits = 0;
        let mut replied = 0u64;
        while waits < 50 && replied == 0 {
            waits += 1;
            if !dev.wait_readable(Some(Duration::from_millis(200))).map_err(|e| e.to_string())? {
                continue;
            }
            if batched {
                dev.read_batch();
            }
            while let Some(rx) = dev.receive(Instant::ZERO) {
                let reply = rx.consume(echo_reply);
                if let Some(reply) = reply {
                    let tx = dev.transmit(Instant::ZERO).expect("tun has room");
                    tx.consume(reply.len(), |buf| {
                        buf.copy_from_slice(&reply);
                        0..reply.len()
                    });
                    replied += 1;
                }
            }
            if batched {
                // Queued, not written, until the batch is written.
                assert_eq!(dev.counters().tx_packets, 0);
                assert_eq!(dev.batch_pending(), (0, replied as usize));
                assert_eq!(dev.write_batch(), replied as usize);
                assert_eq!(dev.batch_pending(), (0, 0));
            }
        }
        let c = dev.counters();
        if batched {
            assert!(c.rx_batches >= 1 && c.tx_batches == 1, "{c:?}");
            assert_eq!(c.uring_enters > 0, dev.uses_io_uring(), "{c:?}");
        }
        Ok((c.rx_packets, c.tx_packets))
    });

    // Give the server a moment to bring the interface up, then ping from the kernel side.
    let mut out = None;
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(100));
        let up =
            Command::new("ip").args(["-n", &ns, "link", "show", "syntun0", "up"]).output().unwrap();
        if String::from_utf8_lossy(&up.stdout).contains("syntun0") {
            out = Some(
                Command::new("timeout")
                    .args(["10", "ip", "netns", "exec", &ns, "python3", "-c", PINGER, "10.77.0.2"])
                    .output()
                    .unwrap(),
            );
            break;
        }
    }
    let (rx, tx) = server.join().expect("server thread").expect("server");
    let out = out.expect("interface never came up");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "pinger: {stdout} {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("REPLY 10.77.0.2"), "{stdout}");
    assert!(rx >= 1 && tx == 1, "rx {rx} tx {tx}");
}

#[test]
fn descriptors_that_are_not_tun_are_errors() {
    let (r, _w) = std::io::pipe().expect("pipe");
    let fd: std::os::fd::OwnedFd = r.into();
    assert!(TunDevice::from_fd(fd, 1500).is_err());
    let null: std::os::fd::OwnedFd = std::fs::File::open("/dev/null").expect("null").into();
    assert!(TunDevice::from_fd(null, 1500).is_err());
}

#[test]
fn bad_names_are_errors() {
    assert!(TunDevice::open("a-name-that-is-far-too-long", 1500).is_err());
    assert!(TunDevice::open("nul\0name", 1500).is_err());
    assert!(netns::enter("../etc").is_err());
    assert!(netns::enter("").is_err());
}
