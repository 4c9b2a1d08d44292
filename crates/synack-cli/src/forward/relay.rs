//! The TCP relay between the TUN client's connection and the upstream one, for any pair of
//! tokio streams: bytes both ways, a FIN read on one side becomes a shutdown(Write) on the
//! other while the other direction keeps flowing, and an error on either side (a reset, a
//! timeout) resets both, so the client sees a reset where the server sent one.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};

/// Buffer of a direction while data keeps coming: large enough for bulk transfers to move in
/// big writes.
const BIG: usize = 64 * 1024;
/// Buffer of a direction that is waiting for data: most relayed connections are idle most of
/// the time, and an idle one should cost little memory (this one lives in the task itself).
const SMALL: usize = 2 * 1024;

/// A connection that can be ended with a reset instead of an orderly close.
pub(crate) trait Abort {
    /// Ends the connection with an RST (what `close` with SO_LINGER 0 does on a kernel socket).
    fn abort(self);
}

impl Abort for tokio::net::TcpStream {
    fn abort(self) {
        // A zero linger time makes close() send an RST and drop unsent data.
        let _ = self.set_zero_linger();
    }
}

/// A stream that adds the bytes read from it to a counter.
pub(crate) struct Counted<S> {
    inner: S,
    read: Arc<AtomicU64>,
}

impl<S> Counted<S> {
    pub(crate) fn new(inner: S, read: Arc<AtomicU64>) -> Counted<S> {
        Counted { inner, read }
    }
    pub(crate) fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        if n > 0 {
            self.read.fetch_add(n as u64, Ordering::Relaxed);
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// How a relayed connection ended.
#[derive(Debug)]
pub(crate) enum End {
    /// Both sides closed in order.
    Closed,
    /// One side failed (reset, timeout); both were reset.
    Reset,
}

/// Copies `r` to `w` until `r` ends, then shuts `w` down for writing (a FIN for a FIN). The
/// 64 KiB buffer exists only while reads find data waiting; a read that has to wait frees it
/// and waits on a small inline buffer instead, so an idle direction holds no heap buffer.
async fn pump<R, W>(r: &mut R, w: &mut W) -> io::Result<u64>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut small = [0u8; SMALL];
    let mut big: Vec<u8> = Vec::new();
    let mut total = 0u64;
    loop {
        let (n, in_big) = std::future::poll_fn(|cx| {
            if !big.is_empty() {
                let mut rb = ReadBuf::new(&mut big);
                match Pin::new(&mut *r).poll_read(cx, &mut rb) {
                    Poll::Ready(res) => {
                        return Poll::Ready(res.map(|()| (rb.filled().len(), true)));
                    }
                    Poll::Pending => big = Vec::new(),
                }
            }
            let mut rb = ReadBuf::new(&mut small);
            Pin::new(&mut *r).poll_read(cx, &mut rb).map_ok(|()| (rb.filled().len(), false))
        })
        .await?;
        if n == 0 {
            break;
        }
        if in_big {
            w.write_all(&big[..n]).await?;
        } else {
            w.write_all(&small[..n]).await?;
            if n == SMALL {
                // The small buffer filled: more is probably waiting.
                big = vec![0u8; BIG];
            }
        }
        total += n as u64;
    }
    w.shutdown().await?;
    Ok(total)
}

/// Relays between the client connection `a` and the upstream connection `b` until both
/// directions have ended; `a_read` and `b_read` count the bytes read from each side as they
/// go. Returns how it ended.
pub(crate) async fn relay<A, B>(a: A, b: B, a_read: Arc<AtomicU64>, b_read: Arc<AtomicU64>) -> End
where
    A: AsyncRead + AsyncWrite + Unpin + Abort,
    B: AsyncRead + AsyncWrite + Unpin + Abort,
{
    let (mut ar, mut aw) = tokio::io::split(Counted::new(a, a_read));
    let (mut br, mut bw) = tokio::io::split(Counted::new(b, b_read));
    let both = tokio::try_join!(pump(&mut ar, &mut bw), pump(&mut br, &mut aw));
    match both {
        Ok(_) => End::Closed,
        Err(_) => {
            // The failed side is gone already; resetting it again does nothing, and the other
            // side learns of the failure as a reset rather than a FIN.
            ar.unsplit(aw).into_inner().abort();
            br.unsplit(bw).into_inner().abort();
            End::Reset
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;
    use tokio::net::{TcpListener, TcpStream};

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    /// client <-> (a | relay | b) <-> server over loopback; returns (client, server, relay task).
    async fn chain() -> (TcpStream, TcpStream, tokio::task::JoinHandle<End>, [Arc<AtomicU64>; 2]) {
        let la = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let lb = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(la.local_addr().unwrap()).await.unwrap();
        let (a, _) = la.accept().await.unwrap();
        let b = TcpStream::connect(lb.local_addr().unwrap()).await.unwrap();
        let (server, _) = lb.accept().await.unwrap();
        let counts = [Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0))];
        let task = tokio::spawn(relay(a, b, counts[0].clone(), counts[1].clone()));
        (client, server, task, counts)
    }

    #[test]
    fn half_close_each_way_keeps_the_other_direction_flowing() {
        rt().block_on(async {
            // The client finishes first: the server reads EOF, then still answers.
            let (mut client, mut server, task, counts) = chain().await;
            client.write_all(b"request").await.unwrap();
            client.shutdown().await.unwrap();
            let mut got = Vec::new();
            server.read_to_end(&mut got).await.unwrap();
            assert_eq!(got, b"request");
            server.write_all(b"answer after EOF").await.unwrap();
            server.shutdown().await.unwrap();
            let mut got = Vec::new();
            client.read_to_end(&mut got).await.unwrap();
            assert_eq!(got, b"answer after EOF");
            assert!(matches!(task.await.unwrap(), End::Closed));
            assert_eq!(counts[0].load(Ordering::Relaxed), 7);
            assert_eq!(counts[1].load(Ordering::Relaxed), 16);

            // The server finishes first: the client still sends afterwards.
            let (mut client, mut server, task, _) = chain().await;
            server.write_all(b"banner").await.unwrap();
            server.shutdown().await.unwrap();
            let mut got = Vec::new();
            client.read_to_end(&mut got).await.unwrap();
            assert_eq!(got, b"banner");
            client.write_all(b"late words").await.unwrap();
            client.shutdown().await.unwrap();
            let mut got = Vec::new();
            server.read_to_end(&mut got).await.unwrap();
            assert_eq!(got, b"late words");
            assert!(matches!(task.await.unwrap(), End::Closed));
        });
    }

    #[test]
    fn a_reset_on_one_side_reaches_the_other_as_a_reset() {
        rt().block_on(async {
            let (mut client, server, task, _) = chain().await;
            server.abort();
            assert!(matches!(task.await.unwrap(), End::Reset));
            let mut buf = [0u8; 16];
            let e = client.read(&mut buf).await.unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);

            let (client, mut server, task, _) = chain().await;
            client.abort();
            assert!(matches!(task.await.unwrap(), End::Reset));
            let e = server.read(&mut buf).await.unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
        });
    }

    #[test]
    fn bulk_bytes_arrive_intact() {
        rt().block_on(async {
            let (mut client, mut server, task, counts) = chain().await;
            let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
            let d2 = data.clone();
            let w = tokio::spawn(async move {
                client.write_all(&d2).await.unwrap();
                client.shutdown().await.unwrap();
                client
            });
            let mut got = Vec::new();
            server.read_to_end(&mut got).await.unwrap();
            assert!(got == data, "{} bytes arrived of {}", got.len(), data.len());
            drop(server);
            drop(w.await.unwrap());
            assert!(matches!(task.await.unwrap(), End::Closed));
            assert_eq!(counts[0].load(Ordering::Relaxed), 3_000_000);
        });
    }
}
