//! A tun2socks in one file, on the public API only: every TCP connection that arrives on a TUN
//! device, whatever its destination, is relayed through a SOCKS5 proxy (CONNECT, no login) to
//! that destination; UDP datagrams are answered with ICMP port unreachable so clients fail
//! fast. `synack forward` is the full tool (UDP ASSOCIATE, login, direct mode, counters).
//!
//! ```text
//! # root; the proxy must be reached outside the TUN device (a route of its own):
//! cargo run -p synack --example tun2socks -- tun0 10.0.0.1/24 192.0.2.10:1080
//! ip route add 192.0.2.10/32 via <your gateway>; ip route add default dev tun0 metric 1
//! ```

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use synack::runtime::StackConfig;
use synack::{Clock, IpCidr, Stack};
use synack_stack::iface::Route;
use synack_tun::{TunDevice, config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Opens the TUN device with `addr` on the kernel's side; the stack sends everything back in.
fn open_stack(ifname: &str, addr: IpCidr) -> io::Result<Arc<Stack>> {
    let dev = TunDevice::open(ifname, 1500)?;
    let name = dev.name().to_string();
    let cfg_err = |e: synack_tun::ConfigError| io::Error::other(e.to_string());
    config::add_address(&name, addr.addr(), addr.prefix()).map_err(cfg_err)?;
    config::set_up(&name).map_err(cfg_err)?;
    let unspecified = if addr.addr().is_ipv4() { "0.0.0.0" } else { "::" };
    let everything = IpCidr::new(unspecified.parse().expect("an address"), 0).expect("prefix 0");
    let routes = vec![Route { dest: everything, src: Some(addr.addr()) }];
    let cfg = StackConfig { routes, ..StackConfig::default() };
    let stack =
        Stack::new(dev, cfg, Clock::start()).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(Arc::new(stack))
}

/// RFC 1928: greeting with "no authentication", then CONNECT to `dst`.
async fn socks5_connect(proxy: SocketAddr, dst: SocketAddr) -> io::Result<tokio::net::TcpStream> {
    let mut s = tokio::net::TcpStream::connect(proxy).await?;
    s.write_all(&[5, 1, 0]).await?;
    let mut r = [0u8; 2];
    s.read_exact(&mut r).await?;
    if r != [5, 0] {
        return Err(io::Error::other("the proxy wants a login"));
    }
    let mut req = vec![5, 1, 0];
    match dst {
        SocketAddr::V4(a) => req.extend([&[1][..], &a.ip().octets()].concat()),
        SocketAddr::V6(a) => req.extend([&[4][..], &a.ip().octets()].concat()),
    }
    req.extend(dst.port().to_be_bytes());
    s.write_all(&req).await?;
    let mut head = [0u8; 4];
    s.read_exact(&mut head).await?;
    if head[1] != 0 {
        return Err(io::Error::new(io::ErrorKind::ConnectionRefused, "the proxy refused"));
    }
    let rest = match head[3] {
        1 => 6,
        4 => 18,
        _ => return Err(io::Error::other("unexpected reply address")),
    };
    s.read_exact(&mut vec![0u8; rest]).await?;
    Ok(s)
}

/// One client connection: connect through the proxy first, then answer the client's SYN
/// (refused with an RST if the proxy could not connect), then copy both ways; a FIN is passed
/// on as a FIN by `copy_bidirectional`.
async fn relay(syn: synack::tokio::IncomingSyn, proxy: SocketAddr) {
    let dst = syn.local_addr();
    let mut up = match socks5_connect(proxy, dst).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{} -> {dst}: {e}", syn.peer_addr());
            return syn.refuse();
        }
    };
    let Ok(mut down) = syn.accept().await else { return };
    if tokio::io::copy_bidirectional(&mut down, &mut up).await.is_err() {
        // One side was reset: reset the other too.
        let _ = down.abort();
    }
}

#[tokio::main]
async fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [ifname, addr, proxy] = &args[..] else {
        eprintln!("usage: tun2socks IFNAME A/N PROXY_IP:PORT");
        std::process::exit(2);
    };
    let bad = |e: String| io::Error::new(io::ErrorKind::InvalidInput, e);
    let (a, n) = addr.split_once('/').ok_or_else(|| bad(format!("{addr}: not A/N")))?;
    let ip = a.parse().map_err(|e| bad(format!("{a}: {e}")))?;
    let n = n.parse().map_err(|e| bad(format!("{n}: {e}")))?;
    let addr = IpCidr::new(ip, n).map_err(|e| bad(e.to_string()))?;
    let proxy: SocketAddr = proxy.parse().map_err(|e| bad(format!("{proxy}: {e}")))?;

    let stack = open_stack(ifname, addr)?;
    let tcp = synack::tokio::AnyListener::bind(&stack, synack::AnyConfig::default())?;
    let udp = synack::tokio::UdpSocket::bind_any(&stack)?;
    eprintln!("relaying TCP from {ifname} through {proxy}");
    let udp_loop = async {
        let mut buf = vec![0u8; 65536];
        loop {
            let (n, src, dst) = udp.recv_from_to(&mut buf).await?;
            udp.send_port_unreachable(dst, src, &buf[..n]).await?;
        }
    };
    let tcp_loop = async {
        loop {
            let syn = tcp.next().await?;
            tokio::spawn(relay(syn, proxy));
        }
    };
    tokio::select! {
        r = tcp_loop => r,
        r = udp_loop => r,
    }
}
