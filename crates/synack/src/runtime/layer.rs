//! The engine behind the interface: [`TcpLayer`] for [`Endpoint`], and the transparent-proxy
//! decision for SYNs to addresses that are not ours.

use std::collections::HashMap;
use std::net::SocketAddr;

use synack_stack::iface::{IcmpError, SegmentMeta, SegmentOut, TcpLayer};
use synack_tcp::{ConnId, Endpoint, FourTuple, Instant, ListenerId};
use synack_wire::{ChecksumMode, TcpRepr};

/// What to do with a SYN for an address that is not ours (transparent mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynDecision {
    /// Accept: a listener on the SYN's destination is made (once) and the connection is
    /// completed there; the application takes it with `accept` on that listener.
    Accept,
    /// Refuse: the engine answers with a RST, as for a closed port.
    Refuse,
    /// Drop silently: the client retries or times out.
    Drop,
}

/// Decides, per SYN, with (our side = the SYN's destination, the client).
pub type TransparentPolicy = Box<dyn FnMut(SocketAddr, SocketAddr) -> SynDecision + Send>;

/// Transparent-mode state: the policy and the listeners made for accepted destinations.
pub(crate) struct Transparent {
    pub(crate) policy: TransparentPolicy,
    pub(crate) listeners: HashMap<SocketAddr, ListenerId>,
    pub(crate) max_listeners: usize,
    pub(crate) backlog: usize,
    /// SYNs dropped by the policy, or because `max_listeners` was reached.
    pub(crate) dropped: u64,
}

/// Borrowed view of the engine (and transparent state) that the interface drives.
pub(crate) struct EndpointLayer<'a> {
    pub(crate) endpoint: &'a mut Endpoint,
    pub(crate) transparent: Option<&'a mut Transparent>,
    /// Per-connection TTL / hop limit (`TcpStream::set_ttl`); most stacks leave it empty.
    pub(crate) hops: &'a HashMap<ConnId, u8>,
}

impl TcpLayer for EndpointLayer<'_> {
    fn on_segment(&mut self, now: Instant, meta: &SegmentMeta, seg: &TcpRepr<'_>) {
        if !meta.local && seg.flags.syn() && !seg.flags.ack() {
            let local = SocketAddr::new(meta.dst, seg.dst_port);
            let remote = SocketAddr::new(meta.src, seg.src_port);
            let known = self.endpoint.lookup(&FourTuple { local, remote }).is_some();
            if !known {
                let Some(t) = self.transparent.as_deref_mut() else { return };
                if !t.listeners.contains_key(&local) {
                    match (t.policy)(local, remote) {
                        SynDecision::Accept => {
                            if t.listeners.len() >= t.max_listeners {
                                t.dropped += 1;
                                return;
                            }
                            match self.endpoint.listen(local, t.backlog) {
                                Ok(id) => {
                                    t.listeners.insert(local, id);
                                }
                                Err(_) => {
                                    t.dropped += 1;
                                    return;
                                }
                            }
                        }
                        SynDecision::Refuse => {}
                        SynDecision::Drop => {
                            t.dropped += 1;
                            return;
                        }
                    }
                }
            }
        }
        TcpLayer::on_segment(self.endpoint, now, meta, seg);
    }

    fn on_icmp_error(&mut self, now: Instant, err: &IcmpError) {
        TcpLayer::on_icmp_error(self.endpoint, now, err);
    }

    fn poll_transmit(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        checksum: ChecksumMode,
    ) -> Option<SegmentOut> {
        TcpLayer::poll_transmit(self.endpoint, now, buf, checksum)
    }

    fn hop_limit_for(&self, out: &SegmentOut, segment: &[u8]) -> Option<u8> {
        if self.hops.is_empty() || segment.len() < 4 {
            return None;
        }
        let port = |i: usize| u16::from_be_bytes([segment[i], segment[i + 1]]);
        let tuple = FourTuple {
            local: SocketAddr::new(out.src, port(0)),
            remote: SocketAddr::new(out.dst, port(2)),
        };
        self.hops.get(&self.endpoint.lookup(&tuple)?).copied()
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        self.endpoint.poll_timeout()
    }

    fn on_timeout(&mut self, now: Instant) {
        self.endpoint.on_timeout(now);
    }
}
