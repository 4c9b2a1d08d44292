//! The engine behind the interface: [`TcpLayer`] for [`Endpoint`], with the accept-any filter
//! in front of it (see `any.rs`).

use std::collections::HashMap;
use std::net::SocketAddr;

use synack_stack::iface::{IcmpError, SegmentMeta, SegmentOut, TcpLayer};
use synack_tcp::{ConnId, Endpoint, FourTuple, Instant};
use synack_wire::{ChecksumMode, TcpRepr};

use super::any::AcceptAny;

/// Borrowed view of the engine (and accept-any state) that the interface drives.
pub(crate) struct EndpointLayer<'a> {
    pub(crate) endpoint: &'a mut Endpoint,
    pub(crate) any: Option<&'a mut AcceptAny>,
    /// Per-connection TTL / hop limit (`TcpStream::set_ttl`); most stacks leave it empty.
    pub(crate) hops: &'a HashMap<ConnId, u8>,
}

impl TcpLayer for EndpointLayer<'_> {
    fn on_segment(&mut self, now: Instant, meta: &SegmentMeta, seg: &TcpRepr<'_>) {
        if let Some(any) = self.any.as_deref_mut()
            && !any.filter(now, self.endpoint, meta, seg)
        {
            return;
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
        let out = TcpLayer::poll_transmit(self.endpoint, now, buf, checksum)?;
        crate::trace::segment_out(&out, &buf[..out.len.min(buf.len())]);
        Some(out)
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

    fn transmit_failed(&mut self, now: Instant) {
        TcpLayer::transmit_failed(self.endpoint, now);
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        self.endpoint.poll_timeout()
    }

    fn on_timeout(&mut self, now: Instant) {
        self.endpoint.on_timeout(now);
    }
}
