//! [`TcpSocket`]: set a socket up before it connects or listens, like `tokio::net::TcpSocket`.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use synack_tcp::ConnConfig;

use super::listener::TcpListener;
use super::stream::TcpStream;
use crate::net::ops;
use crate::runtime::Stack;

/// A socket not yet connected or listening, used like `tokio::net::TcpSocket`: bind a local
/// address, size the buffers, turn Nagle off, then [`connect`](Self::connect) or
/// [`listen`](Self::listen). Settings go into the connection's [`ConnConfig`] (the stack's
/// defaults to start with), so they are in force from the SYN on; window scaling is chosen
/// from the receive buffer as on Linux.
///
/// ```
/// use synack::IpCidr;
/// use synack::net::memory_pair;
/// use synack::tokio::TcpSocket;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let cidr = |s: &str| IpCidr::new(s.parse().unwrap(), 24).unwrap();
/// let (a, b) = memory_pair(cidr("10.0.0.1"), cidr("10.0.0.2")).unwrap();
///
/// let server = TcpSocket::new_v4(&b).unwrap();
/// server.bind("10.0.0.2:80".parse().unwrap()).unwrap();
/// let listener = server.listen(16).unwrap();
///
/// let client = TcpSocket::new_v4(&a).unwrap();
/// client.bind("10.0.0.1:4000".parse().unwrap()).unwrap(); // our port, chosen
/// client.set_recv_buffer_size(256 * 1024).unwrap();
/// client.set_nodelay(true).unwrap();
/// let stream = client.connect("10.0.0.2:80".parse().unwrap()).await.unwrap();
/// let (_accepted, peer) = listener.accept().await.unwrap();
/// assert_eq!(peer, "10.0.0.1:4000".parse().unwrap());
/// assert!(stream.nodelay().unwrap());
/// # });
/// ```
#[derive(Debug)]
pub struct TcpSocket {
    stack: Arc<Stack>,
    v6: bool,
    state: std::sync::Mutex<Setup>,
}

#[derive(Debug, Clone)]
struct Setup {
    local: Option<SocketAddr>,
    cfg: ConnConfig,
    ttl: Option<u32>,
    reuseaddr: bool,
}

impl TcpSocket {
    /// A socket for IPv4 on `stack`.
    pub fn new_v4(stack: &Arc<Stack>) -> io::Result<TcpSocket> {
        Ok(Self::new(stack, false))
    }

    /// A socket for IPv6 on `stack`.
    pub fn new_v6(stack: &Arc<Stack>) -> io::Result<TcpSocket> {
        Ok(Self::new(stack, true))
    }

    fn new(stack: &Arc<Stack>, v6: bool) -> TcpSocket {
        let cfg = stack.with(|st, _| st.endpoint.config().conn);
        TcpSocket {
            stack: stack.clone(),
            v6,
            state: std::sync::Mutex::new(Setup { local: None, cfg, ttl: None, reuseaddr: false }),
        }
    }

    fn setup(&self) -> std::sync::MutexGuard<'_, Setup> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The local address to connect from or listen on. Checked here as `bind(2)` checks it
    /// (an address of the wrong family is `InvalidInput`, one the interface does not have
    /// `AddrNotAvailable`, a second `bind` `InvalidInput`); unlike the kernel, whether the
    /// port is free is found out by `connect` or `listen` (`AddrInUse`).
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        if addr.is_ipv6() != self.v6 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "wrong address family"));
        }
        let ip = addr.ip();
        if !ip.is_unspecified() && !self.stack.with(|st, _| st.iface.is_local(ip)) {
            return Err(io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                "the address is not one of the interface's",
            ));
        }
        let mut s = self.setup();
        if s.local.is_some() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "socket already bound"));
        }
        s.local = Some(addr);
        Ok(())
    }

    /// The address given to [`bind`](Self::bind) (the unspecified address, port 0, before).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        let unspec = if self.v6 { "[::]:0" } else { "0.0.0.0:0" };
        Ok(self.setup().local.unwrap_or_else(|| unspec.parse().expect("literal address")))
    }

    /// `SO_SNDBUF`: the send buffer's size in bytes (Linux doubles the value it is given;
    /// synack uses it as it is).
    pub fn set_send_buffer_size(&self, size: u32) -> io::Result<()> {
        self.setup().cfg.send_buffer = buffer_size(size)?;
        Ok(())
    }

    /// The send buffer's size.
    pub fn send_buffer_size(&self) -> io::Result<u32> {
        Ok(u32::try_from(self.setup().cfg.send_buffer).unwrap_or(u32::MAX))
    }

    /// `SO_RCVBUF`: the receive buffer's size in bytes; it also caps the receive buffer's
    /// growth (as setting `SO_RCVBUF` turns Linux's autotuning off).
    pub fn set_recv_buffer_size(&self, size: u32) -> io::Result<()> {
        let size = buffer_size(size)?;
        let mut s = self.setup();
        s.cfg.recv_buffer = size;
        s.cfg.recv_buffer_max = size;
        Ok(())
    }

    /// The receive buffer's size.
    pub fn recv_buffer_size(&self) -> io::Result<u32> {
        Ok(u32::try_from(self.setup().cfg.recv_buffer).unwrap_or(u32::MAX))
    }

    /// `SO_REUSEADDR`. Recorded for parity; synack has no bind-time port table, so it changes
    /// nothing: a listener and connections may share a local port regardless, and a 4-tuple
    /// still in TIME-WAIT is refused by `connect` (`AddrInUse`) either way.
    pub fn set_reuseaddr(&self, reuseaddr: bool) -> io::Result<()> {
        self.setup().reuseaddr = reuseaddr;
        Ok(())
    }

    /// The `SO_REUSEADDR` setting.
    pub fn reuseaddr(&self) -> io::Result<bool> {
        Ok(self.setup().reuseaddr)
    }

    /// `TCP_NODELAY` from the first segment on.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.setup().cfg.nodelay = nodelay;
        Ok(())
    }

    /// The `TCP_NODELAY` setting.
    pub fn nodelay(&self) -> io::Result<bool> {
        Ok(self.setup().cfg.nodelay)
    }

    /// `IP_TTL` from the SYN on (1..=255).
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        ops::check_ttl(ttl)?;
        self.setup().ttl = Some(ttl);
        Ok(())
    }

    /// Connects from the bound address (or the route's source and an ephemeral port).
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        if addr.is_ipv6() != self.v6 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "wrong address family"));
        }
        let s = self.setup().clone();
        TcpStream::connect_from(&self.stack, s.local, addr, Some(s.cfg), s.ttl).await
    }

    /// Listens on the bound address with an accept queue of `backlog` (0 is `InvalidInput`).
    /// Unbound, it listens on the unspecified address and a free port, as the kernel does.
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        let s = self.setup().clone();
        let at = match s.local {
            Some(a) => a,
            None => self.local_addr()?,
        };
        let l = TcpListener::bind_with(&self.stack, at, backlog as usize, Some(s.cfg))?;
        if let Some(t) = s.ttl {
            l.set_ttl(t)?;
        }
        Ok(l)
    }
}

fn buffer_size(size: u32) -> io::Result<usize> {
    if size == 0 {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "buffer size 0"));
    }
    Ok(size as usize)
}
