//! The TUN side of `synack forward`: a synack stack on the TUN device that takes every TCP
//! handshake and UDP datagram whatever its destination (accept-any), and hands them to the
//! relays.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use synack::runtime::StackConfig;
use synack::{Clock, IpCidr, Stack};
use synack_stack::iface::Route;
use synack_tun::{TunDevice, config};

use super::relay::Abort;
use super::status::Counters;
use super::udp::{Downstream, Flows};
use super::upstream::Upstream;
use super::{Incoming, handle_tcp};

/// How the TUN device is set up.
#[derive(Debug, Clone)]
pub(crate) struct TunOptions {
    pub(crate) name: String,
    /// The device's addresses (the kernel side), one per IP version.
    pub(crate) addrs: Vec<IpCidr>,
    pub(crate) mtu: u32,
    pub(crate) pcap: Option<PathBuf>,
    /// Batched TUN I/O through io_uring where the kernel allows it.
    pub(crate) io_uring: bool,
}

/// The stack on the TUN device.
pub(crate) struct TunSide {
    stack: Arc<Stack>,
    name: String,
}

impl TunSide {
    /// Creates (or attaches to) the device, gives the kernel its addresses and starts the
    /// stack; the stack routes everything back into the device.
    pub(crate) fn open(o: &TunOptions) -> anyhow::Result<TunSide> {
        let opts = synack_tun::TunOptions::default().with_io_uring(o.io_uring);
        let dev = TunDevice::open_with(&o.name, o.mtu as usize, opts)
            .with_context(|| format!("opening TUN device {} (needs CAP_NET_ADMIN)", o.name))?;
        let name = dev.name().to_string();
        config::set_mtu(&name, o.mtu).with_context(|| format!("setting the MTU of {name}"))?;
        for a in &o.addrs {
            if let Err(e) = config::add_address(&name, a.addr(), a.prefix()) {
                // Attached to a configured device: the address may be there already.
                if !has_address(&name, a.addr()) {
                    return Err(e).with_context(|| format!("giving {name} the address {a}"));
                }
            }
        }
        config::set_up(&name).with_context(|| format!("bringing {name} up"))?;
        let clock = Clock::start();
        let dev = crate::tunhost::capture_tap(dev, o.pcap.as_deref(), &clock)?;
        // Every reply goes back into the device, whatever the client's address.
        let routes = o
            .addrs
            .iter()
            .map(|a| {
                let any = if a.addr().is_ipv4() {
                    IpCidr::new(IpAddr::from([0u8; 4]), 0)
                } else {
                    IpCidr::new(IpAddr::from([0u16; 8]), 0)
                };
                Route { dest: any.expect("prefix 0 is valid"), src: Some(a.addr()) }
            })
            .collect();
        let cfg = StackConfig { routes, ..StackConfig::default() };
        let stack = Stack::new(dev, cfg, clock).context("starting the stack")?;
        Ok(TunSide { stack: Arc::new(stack), name })
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Relays until the stack stops (an error then) or the future is dropped.
    pub(crate) async fn run(
        &self,
        upstream: Arc<Upstream>,
        counters: Arc<Counters>,
        udp_idle: Duration,
    ) -> anyhow::Result<()> {
        let any = synack::tokio::AnyListener::bind(&self.stack, synack::AnyConfig::default())
            .context("listening for every TCP connection")?;
        let udp = Arc::new(
            synack::tokio::UdpSocket::bind_any(&self.stack)
                .context("receiving every UDP datagram")?,
        );
        let flows =
            Flows::new(upstream.clone(), Arc::new(TunUdp(udp.clone())), udp_idle, counters.clone());
        let tcp = async {
            loop {
                let syn = any.next().await.context("accepting")?;
                tokio::spawn(handle_tcp(syn, upstream.clone(), counters.clone()));
            }
        };
        let udp_loop = async {
            let mut buf = vec![0u8; 65536];
            loop {
                let (n, src, dst) = udp.recv_from_to(&mut buf).await.context("receiving UDP")?;
                if is_unicast(dst) {
                    flows.dispatch(src, dst, &buf[..n]);
                }
            }
        };
        tokio::select! {
            r = tcp => r,
            r = udp_loop => r,
        }
    }
}

/// Multicast and broadcast datagrams stay on the TUN side; only unicast is relayed.
fn is_unicast(dst: SocketAddr) -> bool {
    match dst.ip() {
        IpAddr::V4(a) => !a.is_multicast() && !a.is_broadcast() && !a.is_unspecified(),
        IpAddr::V6(a) => !a.is_multicast() && !a.is_unspecified(),
    }
}

fn has_address(ifname: &str, addr: IpAddr) -> bool {
    std::process::Command::new("ip")
        .args(["addr", "show", "dev", ifname])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains(&format!("{addr}/")))
        .unwrap_or(false)
}

impl Abort for synack::tokio::TcpStream {
    fn abort(self) {
        let _ = synack::tokio::TcpStream::abort(&self);
    }
}

impl Incoming for synack::tokio::IncomingSyn {
    type Stream = synack::tokio::TcpStream;
    fn peer_addr(&self) -> SocketAddr {
        synack::tokio::IncomingSyn::peer_addr(self)
    }
    fn local_addr(&self) -> SocketAddr {
        synack::tokio::IncomingSyn::local_addr(self)
    }
    async fn accept(self) -> io::Result<Self::Stream> {
        synack::tokio::IncomingSyn::accept(self).await
    }
    fn refuse(self) {
        synack::tokio::IncomingSyn::refuse(self)
    }
}

/// Datagrams back to TUN clients through the accept-any UDP socket.
struct TunUdp(Arc<synack::tokio::UdpSocket>);

impl Downstream for TunUdp {
    async fn send_from_to(&self, data: &[u8], from: SocketAddr, to: SocketAddr) -> io::Result<()> {
        self.0.send_from_to(data, from, to).await.map(drop)
    }
    async fn port_unreachable(
        &self,
        from: SocketAddr,
        to: SocketAddr,
        data: &[u8],
    ) -> io::Result<()> {
        self.0.send_port_unreachable(from, to, data).await
    }
}
