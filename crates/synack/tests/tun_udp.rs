//! UDP between the Linux kernel and synack over a TUN device in a network namespace this test
//! creates: a kernel client (python3 in the namespace) gets its datagrams echoed over IPv4
//! and IPv6 (checksums checked by the kernel), gets "connection refused" from a closed port,
//! and talks to addresses that are not synack's through the accept-any socket, whose replies
//! come from the original destination. IPv4 datagrams go up to 1,700 bytes (fragmented both
//! ways); IPv6 ones stay within the MTU (synack neither sends nor takes IPv6 fragments).
//!
//! Prints `SKIPPED: <reason>` and passes when not root, without /dev/net/tun, `ip`, python3.

mod support;

use std::sync::Arc;
use std::time::Duration;

use synack::net::UdpSocket;
use synack::runtime::StackConfig;
use synack::{Clock, IpCidr, Stack};
use synack_tun::{TunDevice, config, netns};

/// argv: mode (echo | refused | any), destination address, port.
const CLIENT: &str = r#"
import socket, sys
mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
fam = socket.AF_INET6 if ':' in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.settimeout(5)
s.connect((host, port))
if mode == 'refused':
    s.send(b'anyone?')
    try:
        s.recv(100)
        print('NO ERROR')
    except ConnectionRefusedError:
        print('REFUSED')
    sys.exit(0)
for i in range(20):
    msg = (b'%d ' % i) * (1 + i * 30)
    if fam == socket.AF_INET6:
        msg = msg[:1400]  # synack takes no IPv6 fragments
    s.send(msg)
    data, addr = s.recvfrom(65536)
    if data != msg:
        print('BAD', i, len(data), len(msg)); sys.exit(1)
print('OK', addr[0], addr[1])
"#;

#[test]
fn kernel_udp_echo_refused_and_accept_any_over_tun() {
    if support::skipped(&["ip", "python3", "timeout"]) {
        return;
    }
    let (ns, _guard) = support::add_netns("fcudp");
    let ns2 = ns.clone();
    let tun = std::thread::spawn(move || -> Result<TunDevice, String> {
        netns::enter(&ns2).map_err(|e| e.to_string())?;
        let dev = TunDevice::open("fcudp0", 1500).map_err(|e| e.to_string())?;
        config::set_mtu(dev.name(), 1500).map_err(|e| e.to_string())?;
        config::add_address(dev.name(), "10.78.0.1".parse().unwrap(), 24)
            .map_err(|e| e.to_string())?;
        config::add_address(dev.name(), "fd78::1".parse().unwrap(), 64)
            .map_err(|e| e.to_string())?;
        config::set_up(dev.name()).map_err(|e| e.to_string())?;
        Ok(dev)
    })
    .join()
    .unwrap();
    let tun = match tun {
        Ok(t) => t,
        Err(e) => {
            println!("SKIPPED: cannot set up the TUN: {e}");
            return;
        }
    };
    for route in [["10.78.9.0/24"], ["fd79::/64"]] {
        let out = support::run_in_ns(&ns, &["ip", "route", "add", route[0], "dev", "fcudp0"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let cfg = StackConfig {
        addresses: vec![
            IpCidr::new("10.78.0.2".parse().unwrap(), 24).unwrap(),
            IpCidr::new("fd78::2".parse().unwrap(), 64).unwrap(),
        ],
        ..StackConfig::default()
    };
    let stack = Arc::new(Stack::new(tun, cfg, Clock::start()).expect("stack"));

    // Echo servers on synack's own addresses, and the accept-any socket for the rest.
    let mut servers = Vec::new();
    for at in ["10.78.0.2:7", "[fd78::2]:7"] {
        let s = UdpSocket::bind(&stack, at).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        servers.push(s);
    }
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let serve = |socks: Vec<UdpSocket>, any: Option<UdpSocket>| {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            while !stop.load(std::sync::atomic::Ordering::Acquire) {
                for s in &socks {
                    if let Ok((n, from)) = s.recv_from(&mut buf) {
                        s.send_to(&buf[..n], from).unwrap();
                    }
                }
                if let Some(any) = &any
                    && let Ok((n, src, orig)) = any.recv_from_to(&mut buf)
                {
                    any.send_from_to(&buf[..n], orig, src).unwrap();
                }
            }
        })
    };
    let run = |args: &[&str]| {
        let mut full = vec!["python3", "-c", CLIENT];
        full.extend_from_slice(args);
        let out = support::run_in_ns(&ns, &full);
        let so = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(out.status.success(), "{args:?}: {so} {}", String::from_utf8_lossy(&out.stderr));
        so
    };
    let echo = serve(servers, None);
    assert!(run(&["echo", "10.78.0.2", "7"]).contains("OK 10.78.0.2 7"));
    assert!(run(&["echo", "fd78::2", "7"]).contains("OK fd78::2 7"));
    // A closed port (no accept-any socket yet): ICMP port unreachable.
    assert!(run(&["refused", "10.78.0.2", "9"]).contains("REFUSED"));
    assert!(run(&["refused", "fd78::2", "9"]).contains("REFUSED"));

    let any = UdpSocket::bind_any(&stack).unwrap();
    any.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let relay = serve(Vec::new(), Some(any));
    assert!(run(&["echo", "10.78.9.53", "53"]).contains("OK 10.78.9.53 53"));
    assert!(run(&["echo", "fd79::53", "5353"]).contains("OK fd79::53 5353"));
    stop.store(true, std::sync::atomic::Ordering::Release);
    echo.join().unwrap();
    relay.join().unwrap();
    let c = stack.with(|st, _| st.iface.counters().clone());
    assert_eq!(c.dropped(synack_stack::DropReason::UdpBadChecksum), 0, "{c:?}");
}
