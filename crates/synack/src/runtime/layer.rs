//! The engine behind the interface: [`TcpLayer`] for [`Endpoint`], with the accept-any filter
//! in front of it (see `any.rs`).

use synack_stack::iface::{IcmpError, SegmentMeta, SegmentOut, TcpLayer};
use synack_tcp::{Endpoint, Instant};
use synack_wire::{ChecksumMode, TcpRepr};

use super::any::AcceptAny;

/// Borrowed view of the engine (and accept-any state) that the interface drives.
pub(crate) struct EndpointLayer<'a> {
    pub(crate) endpoint: &'a mut Endpoint,
    pub(crate) any: Option<&'a mut AcceptAny>,
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
        TcpLayer::poll_transmit(self.endpoint, now, buf, checksum)
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        self.endpoint.poll_timeout()
    }

    fn on_timeout(&mut self, now: Instant) {
        self.endpoint.on_timeout(now);
    }
}
