//! The stack on a TUN device inside a network namespace this test creates, against the Linux
//! kernel: the kernel pings the stack (IPv4 and IPv6), and a kernel TCP client (python3 in the
//! namespace) connects to a synack listener over IPv4 and IPv6 and exchanges data.
//!
//! Prints `SKIPPED: <reason>` and passes when not root, without /dev/net/tun, `ip` or python3.
#![cfg(feature = "tun")]

mod support;

use std::time::Duration;

use synack::runtime::StackConfig;
use synack::{Clock, IpCidr, Stack};
use synack_tcp::RecvError;
use synack_tun::{TunDevice, config, netns};

const PING: &str = r#"
import socket, struct, sys, time
v6 = ':' in sys.argv[1]
if v6:
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(5)
def cs(b):
    if len(b) % 2: b += b'\0'
    t = sum(struct.unpack('!%dH' % (len(b)//2), b))
    while t > 0xffff: t = (t & 0xffff) + (t >> 16)
    return (~t) & 0xffff
payload = b'synack-ping'
typ, rep = (128, 129) if v6 else (8, 0)
c = 0 if v6 else cs(struct.pack('!BBHHH', typ, 0, 0, 0x4242, 1) + payload)
s.sendto(struct.pack('!BBHHH', typ, 0, c, 0x4242, 1) + payload, (sys.argv[1], 0))
end = time.time() + 5
while time.time() < end:
    data, addr = s.recvfrom(2048)
    icmp = data if v6 else data[(data[0] & 15) * 4:]
    if icmp[0] == rep and icmp[4:6] == b'\x42\x42' and icmp[8:] == payload:
        print('REPLY', addr[0]); sys.exit(0)
print('NO REPLY'); sys.exit(1)
"#;

const CLIENT: &str = r#"
import socket, sys
fam = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.settimeout(8)
s.connect((sys.argv[1], int(sys.argv[2])))
msg = b'hello synack ' * 400 + b'\n'
s.sendall(msg)
got = b''
while True:
    d = s.recv(65536)
    if not d: break
    got += d
s.close()
print('GOT', len(got), got == msg.upper())
"#;

/// Accepts one connection on `addr`, reads a line, answers it upper-cased, closes.
fn serve_one(stack: &Stack, addr: std::net::SocketAddr) -> Result<usize, String> {
    let lid = stack.with(|st, _| st.endpoint.listen(addr, 8)).map_err(|e| format!("{e:?}"))?;
    let conn = stack
        .wait(Some(Duration::from_secs(10)), |st, _| st.endpoint.accept(lid))
        .ok_or("no connection accepted")?;
    let mut got = Vec::new();
    let done = stack.wait(Some(Duration::from_secs(10)), |st, _| {
        let mut buf = [0u8; 4096];
        loop {
            match st.endpoint.recv(conn, &mut buf) {
                Ok(0) => return Some(Err("peer closed early".to_string())),
                Ok(n) => {
                    got.extend_from_slice(&buf[..n]);
                    if got.ends_with(b"\n") {
                        return Some(Ok(()));
                    }
                }
                Err(RecvError::WouldBlock) => return None,
                Err(e) => return Some(Err(format!("{e:?}"))),
            }
        }
    });
    done.ok_or("timed out reading")??;
    let reply = got.to_ascii_uppercase();
    let mut off = 0;
    stack
        .wait(Some(Duration::from_secs(10)), |st, _| {
            while off < reply.len() {
                match st.endpoint.send(conn, &reply[off..]) {
                    Ok(n) => off += n,
                    Err(synack_tcp::SendError::WouldBlock) => return None,
                    Err(e) => return Some(Err(format!("{e:?}"))),
                }
            }
            Some(Ok(()))
        })
        .ok_or("timed out writing")??;
    stack.with(|st, _| st.endpoint.close(conn)).map_err(|e| format!("{e:?}"))?;
    stack.with(|st, _| st.endpoint.close_listener(lid));
    Ok(got.len())
}

#[test]
fn kernel_pings_and_talks_tcp_to_synack_over_tun() {
    if support::skipped(&["ip", "python3", "timeout"]) {
        return;
    }
    let (ns, _guard) = support::add_netns("synack-rt-");

    // Open and configure the TUN from a thread inside the namespace; the fd stays bound to it.
    let ns2 = ns.clone();
    let tun = std::thread::spawn(move || -> Result<TunDevice, String> {
        netns::enter(&ns2).map_err(|e| e.to_string())?;
        let dev = TunDevice::open("synack0", 1500).map_err(|e| e.to_string())?;
        config::set_mtu(dev.name(), 1500).map_err(|e| e.to_string())?;
        config::add_address(dev.name(), "10.88.0.1".parse().unwrap(), 24)
            .map_err(|e| e.to_string())?;
        config::add_address(dev.name(), "fd88::1".parse().unwrap(), 64)
            .map_err(|e| e.to_string())?;
        config::set_up(dev.name()).map_err(|e| e.to_string())?;
        Ok(dev)
    })
    .join()
    .unwrap()
    .expect("tun");

    let cfg = StackConfig {
        addresses: vec![
            IpCidr::new("10.88.0.2".parse().unwrap(), 24).unwrap(),
            IpCidr::new("fd88::2".parse().unwrap(), 64).unwrap(),
        ],
        ..StackConfig::default()
    };
    let stack = Stack::new(tun, cfg, Clock::start()).expect("stack");

    for dst in ["10.88.0.2", "fd88::2"] {
        let out = support::run_in_ns(&ns, &["python3", "-c", PING, dst]);
        let so = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "ping {dst}: {so} {}", String::from_utf8_lossy(&out.stderr));
        assert!(so.contains("REPLY"), "{so}");
    }

    for (dst, port) in [("10.88.0.2", 7777u16), ("fd88::2", 7778)] {
        let ns3 = ns.clone();
        let client = std::thread::spawn(move || {
            support::run_in_ns(&ns3, &["python3", "-c", CLIENT, dst, &port.to_string()])
        });
        let served = serve_one(&stack, std::net::SocketAddr::new(dst.parse().unwrap(), port));
        let out = client.join().unwrap();
        let so = String::from_utf8_lossy(&out.stdout);
        let counters = stack.with(|st, _| format!("{:?}", st.iface.counters()));
        assert_eq!(
            served,
            Ok(5201),
            "server side; client said {so} {}; {counters}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            so.contains("GOT 5201 True"),
            "client: {so} {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let stats = stack.with(|st, _| st.stats());
    assert!(stats.frames_in > 0 && stats.frames_out > 0, "{stats:?}");
    stack.shutdown();
}
