//! Where relayed traffic goes: straight to the original destination through the host's own
//! sockets, or through a SOCKS5 proxy. Every upstream socket can be bound to an interface
//! (SO_BINDTODEVICE) or marked (SO_MARK) so that the host routes it around the TUN device
//! instead of back into it.

use std::io::{self, ErrorKind};
use std::net::SocketAddr;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpSocket, TcpStream, UdpSocket};

use super::socks5::{self, Credentials};

/// Options every upstream socket gets before it connects or sends.
#[derive(Debug, Clone, Default)]
pub(crate) struct SocketOpts {
    /// SO_BINDTODEVICE: leave through this interface whatever the routing table says.
    pub(crate) bind_interface: Option<String>,
    /// SO_MARK: a firewall mark for an `ip rule` to route by.
    pub(crate) fwmark: Option<u32>,
}

impl SocketOpts {
    fn socket(&self, addr: SocketAddr, ty: Type, proto: Protocol) -> io::Result<Socket> {
        // Non-blocking from its creation: one system call, not three.
        let s = Socket::new(Domain::for_address(addr), ty.nonblocking(), Some(proto))?;
        if let Some(ifname) = &self.bind_interface {
            s.bind_device(Some(ifname.as_bytes())).map_err(|e| {
                io::Error::new(e.kind(), format!("binding to interface {ifname}: {e}"))
            })?;
        }
        if let Some(mark) = self.fwmark {
            s.set_mark(mark)
                .map_err(|e| io::Error::new(e.kind(), format!("setting fwmark {mark}: {e}")))?;
        }
        Ok(s)
    }

    /// A TCP connection to `addr`, given up after `timeout`.
    pub(crate) async fn tcp_connect(
        &self,
        addr: SocketAddr,
        timeout: Duration,
    ) -> io::Result<TcpStream> {
        let s = self.socket(addr, Type::STREAM, Protocol::TCP)?;
        let s = TcpSocket::from_std_stream(std::net::TcpStream::from(s));
        let stream = tokio::time::timeout(timeout, s.connect(addr)).await.map_err(|_| {
            io::Error::new(
                ErrorKind::TimedOut,
                format!("connecting to {addr}: no answer within {timeout:?}"),
            )
        })??;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    /// An unconnected UDP socket of `addr`'s family bound to an ephemeral port.
    pub(crate) fn udp_socket(&self, addr: SocketAddr) -> io::Result<UdpSocket> {
        let s = self.socket(addr, Type::DGRAM, Protocol::UDP)?;
        let any: SocketAddr = match addr {
            SocketAddr::V4(_) => (std::net::Ipv4Addr::UNSPECIFIED, 0).into(),
            SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        s.bind(&any.into())?;
        UdpSocket::from_std(s.into())
    }
}

/// The way out for relayed connections and datagrams.
#[derive(Debug, Clone)]
pub(crate) enum Upstream {
    /// The host's own sockets, to the original destination.
    Direct { opts: SocketOpts, timeout: Duration },
    /// A SOCKS5 proxy: CONNECT for TCP, UDP ASSOCIATE for UDP.
    Socks5 { proxy: SocketAddr, creds: Option<Credentials>, opts: SocketOpts, timeout: Duration },
}

/// A relayed UDP flow's upstream: a socket connected to the destination, or an association
/// with the proxy (the control connection must stay open as long as the association lives).
#[derive(Debug)]
pub(crate) enum UdpUpstream {
    /// Connected to the original destination: ICMP errors come back as `recv` errors.
    Direct(UdpSocket),
    /// Connected to the proxy's relay; `dst` is the flow's original destination.
    Socks5 { sock: UdpSocket, dst: SocketAddr, _control: TcpStream },
}

impl Upstream {
    fn timeout(&self) -> Duration {
        match self {
            Upstream::Direct { timeout, .. } | Upstream::Socks5 { timeout, .. } => *timeout,
        }
    }

    /// Opens the proxy's control connection and logs in (the whole of it within the timeout).
    async fn proxy_session(
        proxy: SocketAddr,
        creds: Option<&Credentials>,
        opts: &SocketOpts,
        timeout: Duration,
    ) -> io::Result<TcpStream> {
        let mut s = opts.tcp_connect(proxy, timeout).await.map_err(|e| {
            io::Error::new(e.kind(), format!("SOCKS5 proxy {proxy} unreachable: {e}"))
        })?;
        let greet = socks5::handshake(&mut s, creds);
        tokio::time::timeout(timeout, greet).await.map_err(|_| {
            io::Error::new(
                ErrorKind::TimedOut,
                format!("SOCKS5 proxy {proxy} did not answer the greeting within {timeout:?}"),
            )
        })??;
        Ok(s)
    }

    /// Checks that the proxy is reachable and accepts our login (no-op for direct).
    pub(crate) async fn check(&self) -> io::Result<()> {
        if let Upstream::Socks5 { proxy, creds, opts, timeout } = self {
            Self::proxy_session(*proxy, creds.as_ref(), opts, *timeout).await?;
        }
        Ok(())
    }

    /// A TCP connection to `dst`, directly or through the proxy. The error's kind says why it
    /// failed (refused, unreachable, timed out), whichever way it went.
    pub(crate) async fn connect(&self, dst: SocketAddr) -> io::Result<TcpStream> {
        match self {
            Upstream::Direct { opts, timeout } => opts.tcp_connect(dst, *timeout).await,
            Upstream::Socks5 { proxy, creds, opts, timeout } => {
                let mut s = Self::proxy_session(*proxy, creds.as_ref(), opts, *timeout).await?;
                tokio::time::timeout(*timeout, socks5::connect(&mut s, dst)).await.map_err(
                    |_| {
                        io::Error::new(
                            ErrorKind::TimedOut,
                            format!("SOCKS5 CONNECT to {dst}: no reply within {timeout:?}"),
                        )
                    },
                )??;
                Ok(s)
            }
        }
    }

    /// The upstream of a UDP flow to `dst`.
    pub(crate) async fn udp(&self, dst: SocketAddr) -> io::Result<UdpUpstream> {
        match self {
            Upstream::Direct { opts, .. } => {
                let s = opts.udp_socket(dst)?;
                s.connect(dst).await?;
                Ok(UdpUpstream::Direct(s))
            }
            Upstream::Socks5 { proxy, creds, opts, timeout } => {
                let mut control =
                    Self::proxy_session(*proxy, creds.as_ref(), opts, *timeout).await?;
                let sock = opts.udp_socket(*proxy)?;
                // Tell the proxy where our datagrams will come from, as RFC 1928 asks: the
                // control connection's local address (the proxy sees that one) and our port.
                let local = control.local_addr()?;
                let client = SocketAddr::new(local.ip(), sock.local_addr()?.port());
                let assoc = socks5::udp_associate(&mut control, client, *proxy);
                let relay = tokio::time::timeout(self.timeout(), assoc).await.map_err(|_| {
                    io::Error::new(ErrorKind::TimedOut, "SOCKS5 UDP ASSOCIATE: no reply")
                })??;
                sock.connect(relay).await?;
                Ok(UdpUpstream::Socks5 { sock, dst, _control: control })
            }
        }
    }
}

impl UdpUpstream {
    /// Sends one datagram to the flow's destination; `scratch` holds the SOCKS5 header.
    pub(crate) async fn send(&self, payload: &[u8], scratch: &mut Vec<u8>) -> io::Result<()> {
        match self {
            UdpUpstream::Direct(s) => s.send(payload).await.map(drop),
            UdpUpstream::Socks5 { sock, dst, .. } => {
                socks5::encode_udp(*dst, payload, scratch);
                sock.send(scratch).await.map(drop)
            }
        }
    }

    /// Receives one datagram for the client: (payload, the remote it came from). Waits for
    /// readiness without a buffer and reads into a per-thread one, so a quiet flow holds no
    /// 64 KiB receive buffer of its own.
    pub(crate) async fn recv(&self) -> io::Result<(Vec<u8>, SocketAddr)> {
        let sock = match self {
            UdpUpstream::Direct(s) | UdpUpstream::Socks5 { sock: s, .. } => s,
        };
        use tokio::io::Interest;
        loop {
            // An ICMP error (port unreachable) makes the socket report an error, not data.
            let ready = sock.ready(Interest::READABLE | Interest::ERROR).await?;
            if ready.is_error() {
                if let Some(e) = sock.take_error()? {
                    return Err(e);
                }
                // Consumed already: clear the readiness so the wait above blocks again.
                let _ = sock.try_io(Interest::ERROR, || Err::<(), _>(ErrorKind::WouldBlock.into()));
            }
            if !ready.is_readable() {
                continue;
            }
            let got =
                RECV_BUF.with_borrow_mut(|buf| -> io::Result<Option<(Vec<u8>, SocketAddr)>> {
                    let n = match sock.try_recv(buf) {
                        Ok(n) => n,
                        Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(None),
                        Err(e) => return Err(e),
                    };
                    match self {
                        UdpUpstream::Direct(s) => Ok(Some((buf[..n].to_vec(), s.peer_addr()?))),
                        // A malformed or fragmented datagram from the relay is dropped, as UDP
                        // would drop a damaged one.
                        UdpUpstream::Socks5 { .. } => Ok(socks5::decode_udp(&buf[..n])
                            .ok()
                            .map(|(from, at)| (buf[at..n].to_vec(), from))),
                    }
                })?;
            if let Some(d) = got {
                return Ok(d);
            }
        }
    }
}

thread_local! {
    /// Room for the largest datagram, shared by the flows a runtime thread serves.
    static RECV_BUF: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; 65536]);
}

#[cfg(test)]
mod tests {
    //! The upstream against real SOCKS5 servers from Debian, on loopback (SKIPPED when the
    //! server is not installed): microsocks for CONNECT, dante for UDP ASSOCIATE.
    use super::*;
    use std::process::{Child, Command, Stdio};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn installed(tool: &str) -> bool {
        std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).exists()))
            .unwrap_or(false)
    }

    /// A free loopback TCP port (bound, read, released).
    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
    }

    /// A started server, killed by its PID on drop.
    struct Server(Child);
    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    async fn wait_listening(addr: SocketAddr) {
        for _ in 0..100 {
            if TcpStream::connect(addr).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no server on {addr}");
    }

    fn socks(proxy: SocketAddr) -> Upstream {
        Upstream::Socks5 {
            proxy,
            creds: None,
            opts: SocketOpts::default(),
            timeout: Duration::from_secs(3),
        }
    }

    #[test]
    fn connect_through_microsocks() {
        if !installed("microsocks") {
            println!("SKIPPED: microsocks not installed");
            return;
        }
        let port = free_port();
        let _ms = Server(
            Command::new("microsocks")
                .args(["-i", "127.0.0.1", "-p", &port.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let proxy: SocketAddr = ([127, 0, 0, 1], port).into();
            wait_listening(proxy).await;
            let up = socks(proxy);
            up.check().await.unwrap();
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let dst = l.local_addr().unwrap();
            let mut c = up.connect(dst).await.unwrap();
            let (mut s, _) = l.accept().await.unwrap();
            c.write_all(b"through the proxy").await.unwrap();
            let mut b = [0u8; 17];
            s.read_exact(&mut b).await.unwrap();
            assert_eq!(&b, b"through the proxy");
            drop(l);
            let e = up.connect(dst).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");
        });
    }

    #[test]
    fn udp_through_dante() {
        if !installed("danted") {
            println!("SKIPPED: danted not installed");
            return;
        }
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("synack-fwd-dante-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("danted.conf");
        std::fs::write(
            &conf,
            format!(
                "logoutput: stderr\ninternal: 127.0.0.1 port = {port}\nexternal: 127.0.0.1\n\
                 clientmethod: none\nsocksmethod: none\nuser.privileged: root\n\
                 user.unprivileged: root\n\
                 client pass {{ from: 127.0.0.0/8 to: 0.0.0.0/0 }}\n\
                 socks pass {{ from: 127.0.0.0/8 to: 127.0.0.0/8 command: connect udpassociate udpreply }}\n"
            ),
        )
        .unwrap();
        let _dante = Server(
            Command::new("danted")
                .args(["-f", conf.to_str().unwrap(), "-p"])
                .arg(dir.join("pid"))
                .args(["-N", "1"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let proxy: SocketAddr = ([127, 0, 0, 1], port).into();
            wait_listening(proxy).await;
            let echo = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let dst = echo.local_addr().unwrap();
            let up = socks(proxy).udp(dst).await.unwrap();
            let mut scratch = Vec::new();
            up.send(b"datagram via dante", &mut scratch).await.unwrap();
            let mut b = [0u8; 64];
            let (n, from) = echo.recv_from(&mut b).await.unwrap();
            assert_eq!(&b[..n], b"datagram via dante");
            echo.send_to(b"reply", from).await.unwrap();
            let (data, from) =
                tokio::time::timeout(Duration::from_secs(3), up.recv()).await.unwrap().unwrap();
            assert_eq!((data.as_slice(), from), (&b"reply"[..], dst));
        });
        let _ = std::fs::remove_dir_all(&dir);
    }
}
