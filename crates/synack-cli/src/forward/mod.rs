//! `synack forward`'s machinery: every TCP connection and UDP flow that arrives on the TUN
//! device is relayed to its original destination, directly or through a SOCKS5 proxy.
//!
//! The pieces know nothing of the TUN side beyond two small traits ([`Incoming`] for a TCP
//! handshake awaiting an answer, [`udp::Downstream`] for datagrams back to the client), so
//! each is tested against kernel sockets on loopback.

pub(crate) mod relay;
pub(crate) mod socks5;
pub(crate) mod status;
pub(crate) mod tun;
pub(crate) mod udp;
pub(crate) mod upstream;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};

use relay::{Abort, End};
use status::Counters;
use upstream::Upstream;

/// A client's connection attempt whose handshake is not answered yet.
pub(crate) trait Incoming: Send + 'static {
    /// The established connection.
    type Stream: AsyncRead + AsyncWrite + Unpin + Abort + Send + 'static;
    /// The client's address.
    fn peer_addr(&self) -> SocketAddr;
    /// The address the client wanted (the original destination).
    fn local_addr(&self) -> SocketAddr;
    /// Completes the handshake.
    fn accept(self) -> impl Future<Output = io::Result<Self::Stream>> + Send;
    /// Answers with an RST: the client sees "connection refused".
    fn refuse(self);
}

/// Relays one client connection: the upstream connection is made first, and only once it
/// stands is the client's handshake answered; a refused, unreachable or silent destination
/// refuses the client instead, so the client sees what it would have seen directly.
pub(crate) async fn handle_tcp<I: Incoming>(
    syn: I,
    upstream: Arc<Upstream>,
    counters: Arc<Counters>,
) {
    let (src, dst) = (syn.peer_addr(), syn.local_addr());
    counters.tcp_opened();
    let up = match upstream.connect(dst).await {
        Ok(up) => up,
        Err(e) => {
            syn.refuse();
            counters.tcp_refused.add(1);
            counters.tcp_closed.add(1);
            if !matches!(e.kind(), io::ErrorKind::ConnectionRefused) {
                counters.error(format_args!("tcp {src} -> {dst}: {e}"));
            }
            return;
        }
    };
    let down = match syn.accept().await {
        Ok(s) => s,
        Err(_) => {
            // The client gave up before the handshake completed.
            up.abort();
            counters.tcp_closed.add(1);
            return;
        }
    };
    if let End::Reset =
        relay::relay(down, up, counters.tcp_up.clone(), counters.tcp_down.clone()).await
    {
        counters.tcp_reset.add(1);
    }
    counters.tcp_closed.add(1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    use upstream::SocketOpts;

    /// A kernel connection standing in for a TUN client's: accepted already, so `refuse`
    /// resets it (the client sees a reset where a TUN client sees "connection refused").
    struct KernelSyn(TcpStream, SocketAddr);

    impl Incoming for KernelSyn {
        type Stream = TcpStream;
        fn peer_addr(&self) -> SocketAddr {
            self.0.peer_addr().unwrap()
        }
        fn local_addr(&self) -> SocketAddr {
            self.1
        }
        async fn accept(self) -> io::Result<TcpStream> {
            Ok(self.0)
        }
        fn refuse(self) {
            self.0.abort();
        }
    }

    fn direct() -> Arc<Upstream> {
        Arc::new(Upstream::Direct { opts: SocketOpts::default(), timeout: Duration::from_secs(2) })
    }

    /// A client connection to the front listener, handed to `handle_tcp` toward `dst`.
    async fn via_forward(
        dst: SocketAddr,
        counters: &Arc<Counters>,
    ) -> (TcpStream, tokio::task::JoinHandle<()>) {
        let front = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(front.local_addr().unwrap()).await.unwrap();
        let (s, _) = front.accept().await.unwrap();
        let task = tokio::spawn(handle_tcp(KernelSyn(s, dst), direct(), counters.clone()));
        (client, task)
    }

    #[test]
    fn relays_to_the_original_destination_and_refuses_a_closed_port() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let counters = Arc::new(Counters::default());
            let server = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let dst = server.local_addr().unwrap();
            let (mut client, task) = via_forward(dst, &counters).await;
            let (mut s, _) = server.accept().await.unwrap();
            client.write_all(b"hello").await.unwrap();
            client.shutdown().await.unwrap();
            let mut got = Vec::new();
            s.read_to_end(&mut got).await.unwrap();
            s.write_all(b"bye").await.unwrap();
            drop(s);
            let mut back = Vec::new();
            client.read_to_end(&mut back).await.unwrap();
            assert_eq!((got.as_slice(), back.as_slice()), (&b"hello"[..], &b"bye"[..]));
            task.await.unwrap();

            drop(server);
            let (mut client, task) = via_forward(dst, &counters).await;
            task.await.unwrap();
            let e = client.read(&mut [0u8; 4]).await.unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
            assert_eq!(counters.tcp_refused.get(), 1);
            assert_eq!(counters.tcp_total.get(), 2);
            assert_eq!(counters.tcp_closed.get(), 2);
            assert_eq!(counters.tcp_up.load(std::sync::atomic::Ordering::Relaxed), 5);
        });
    }
}
