//! UDP flows: each (client source, original destination) pair gets its own upstream (a
//! connected socket or a SOCKS5 association), opened by the first datagram and closed after
//! an idle period. Replies go back to the client from the address they came from; an ICMP
//! error on a direct flow comes back as ICMP port unreachable.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::io::{self, ErrorKind};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

use super::status::Counters;
use super::upstream::Upstream;

/// Datagrams a flow queues while its upstream is being opened or is busy; more are dropped,
/// as a full socket buffer would.
const QUEUE: usize = 256;

/// The TUN side of the flows: sends a datagram to the client from a given address.
pub(crate) trait Downstream: Send + Sync + 'static {
    /// Sends `data` to `to` with `from` as its source.
    fn send_from_to(
        &self,
        data: &[u8],
        from: SocketAddr,
        to: SocketAddr,
    ) -> impl Future<Output = io::Result<()>> + Send;
    /// Tells `to` that `from` has no listener (ICMP port unreachable quoting `data`).
    fn port_unreachable(
        &self,
        from: SocketAddr,
        to: SocketAddr,
        data: &[u8],
    ) -> impl Future<Output = io::Result<()>> + Send;
}

type Key = (SocketAddr, SocketAddr);

/// The open flows, each with the queue its task reads.
pub(crate) struct Flows<D> {
    table: Mutex<HashMap<Key, mpsc::Sender<Vec<u8>>>>,
    upstream: Arc<Upstream>,
    down: Arc<D>,
    idle: Duration,
    counters: Arc<Counters>,
}

impl<D: Downstream> Flows<D> {
    pub(crate) fn new(
        upstream: Arc<Upstream>,
        down: Arc<D>,
        idle: Duration,
        counters: Arc<Counters>,
    ) -> Arc<Flows<D>> {
        Arc::new(Flows { table: Mutex::new(HashMap::new()), upstream, down, idle, counters })
    }

    /// Number of open flows.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.table.lock().expect("flow table").len()
    }

    /// Hands a datagram from the client `src` to `dst` to its flow, opening the flow if needed.
    pub(crate) fn dispatch(self: &Arc<Self>, src: SocketAddr, dst: SocketAddr, data: &[u8]) {
        self.counters.udp_up.add(data.len());
        let mut table = self.table.lock().expect("flow table");
        let tx = match table.entry((src, dst)) {
            Entry::Occupied(e) => e.get().clone(),
            Entry::Vacant(e) => {
                let (tx, rx) = mpsc::channel(QUEUE);
                e.insert(tx.clone());
                self.counters.udp_opened();
                tokio::spawn(self.clone().run((src, dst), rx));
                tx
            }
        };
        drop(table);
        if tx.try_send(data.to_vec()).is_err() {
            self.counters.udp_dropped.add(1);
        }
    }

    /// One flow's life: open the upstream, then relay both ways until idle.
    async fn run(self: Arc<Self>, key: Key, mut rx: mpsc::Receiver<Vec<u8>>) {
        let (src, dst) = key;
        let up = match self.upstream.udp(dst).await {
            Ok(up) => Some(up),
            Err(e) => {
                self.counters.error(format_args!("udp {src} -> {dst}: {e}"));
                None
            }
        };
        let mut scratch = Vec::new();
        // The last datagram sent, for the ICMP error to quote when the destination refuses it
        // (the kernel reports the refusal on a later call, not on the send that caused it).
        let mut last = Vec::new();
        // Only a flow's first upstream error is logged (the rest are counted): a destination
        // the proxy refuses would otherwise log a line per datagram.
        let mut logged = false;
        if let Some(up) = &up {
            loop {
                tokio::select! {
                    d = rx.recv() => {
                        let Some(d) = d else { break };
                        if let Err(e) = up.send(&d, &mut scratch).await {
                            self.upstream_error(src, dst, &d, e, &mut logged).await;
                        }
                        last = d;
                    }
                    r = up.recv() => match r {
                        Ok((data, from)) => {
                            self.counters.udp_down.add(data.len());
                            if self.down.send_from_to(&data, from, src).await.is_err() {
                                self.counters.udp_dropped.add(1);
                            }
                        }
                        Err(e) => self.upstream_error(src, dst, &last, e, &mut logged).await,
                    },
                    _ = tokio::time::sleep(self.idle) => break,
                }
            }
        }
        // Leave the table first, so the next datagram opens a new flow; then nothing more can
        // be queued here, and what is queued already goes out before the upstream closes.
        self.table.lock().expect("flow table").remove(&key);
        rx.close();
        while let Some(d) = rx.recv().await {
            if let Some(up) = &up {
                let _ = up.send(&d, &mut scratch).await;
            }
        }
        self.counters.udp_closed();
    }

    /// A refused destination (ICMP port unreachable on the connected socket) is reported to
    /// the client the same way; other errors are counted, and logged once per flow.
    async fn upstream_error(
        &self,
        src: SocketAddr,
        dst: SocketAddr,
        data: &[u8],
        e: io::Error,
        logged: &mut bool,
    ) {
        if e.kind() == ErrorKind::ConnectionRefused {
            self.counters.udp_refused.add(1);
            let _ = self.down.port_unreachable(dst, src, data).await;
        } else if *logged {
            self.counters.errors.add(1);
        } else {
            *logged = true;
            self.counters.error(format_args!(
                "udp {src} -> {dst}: {e} (further errors of this flow are counted only)"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forward::upstream::SocketOpts;
    use tokio::net::UdpSocket;

    /// A downstream that records what would be sent to the TUN client.
    /// (payload, from, to, whether it was an ICMP port unreachable)
    type Sent = (Vec<u8>, SocketAddr, SocketAddr, bool);

    #[derive(Default)]
    struct Record(Mutex<Vec<Sent>>);

    impl Downstream for Record {
        async fn send_from_to(&self, d: &[u8], from: SocketAddr, to: SocketAddr) -> io::Result<()> {
            self.0.lock().unwrap().push((d.to_vec(), from, to, false));
            Ok(())
        }
        async fn port_unreachable(
            &self,
            from: SocketAddr,
            to: SocketAddr,
            d: &[u8],
        ) -> io::Result<()> {
            self.0.lock().unwrap().push((d.to_vec(), from, to, true));
            Ok(())
        }
    }

    fn direct() -> Arc<Upstream> {
        Arc::new(Upstream::Direct { opts: SocketOpts::default(), timeout: Duration::from_secs(2) })
    }

    async fn until(mut f: impl FnMut() -> bool) {
        for _ in 0..200 {
            if f() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("condition not reached within 2 s");
    }

    #[test]
    fn echo_through_a_flow_then_idle_expiry() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let echo = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let dst = echo.local_addr().unwrap();
            tokio::spawn(async move {
                let mut b = [0u8; 2048];
                loop {
                    let (n, from) = echo.recv_from(&mut b).await.unwrap();
                    echo.send_to(&b[..n], from).await.unwrap();
                }
            });
            let down = Arc::new(Record::default());
            let counters = Arc::new(Counters::default());
            let flows = Flows::new(direct(), down.clone(), Duration::from_millis(300), counters);
            let src: SocketAddr = "10.9.0.2:4000".parse().unwrap();
            for i in 0..20u8 {
                flows.dispatch(src, dst, &[i; 10]);
            }
            until(|| down.0.lock().unwrap().len() == 20).await;
            for (i, (d, from, to, icmp)) in down.0.lock().unwrap().iter().enumerate() {
                assert_eq!(
                    (d.as_slice(), *from, *to, *icmp),
                    (&[i as u8; 10][..], dst, src, false)
                );
            }
            assert_eq!(flows.len(), 1);
            until(|| flows.len() == 0).await;
            // A new datagram after expiry opens a new flow.
            flows.dispatch(src, dst, b"again");
            until(|| down.0.lock().unwrap().len() == 21).await;
        });
    }

    #[test]
    fn a_closed_port_gives_port_unreachable() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            // A port nobody listens on: bind, note, close.
            let dst = UdpSocket::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
            let down = Arc::new(Record::default());
            let counters = Arc::new(Counters::default());
            let flows =
                Flows::new(direct(), down.clone(), Duration::from_secs(5), counters.clone());
            let src: SocketAddr = "10.9.0.2:4001".parse().unwrap();
            flows.dispatch(src, dst, b"anyone?");
            until(|| !down.0.lock().unwrap().is_empty()).await;
            let (d, from, to, icmp) = down.0.lock().unwrap()[0].clone();
            assert_eq!((d.as_slice(), from, to, icmp), (&b"anyone?"[..], dst, src, true));
            assert_eq!(counters.udp_refused.get(), 1);
        });
    }
}
