//! [`TcpLayer`] for the engine's [`Endpoint`], so an interface drives it directly.

use synack_tcp::{Endpoint, IcmpError as EngineIcmp, Instant};
use synack_wire::{ChecksumMode, TcpRepr};

use super::tcp_layer::{IcmpError, IcmpErrorKind, SegmentMeta, SegmentOut, TcpLayer};

impl TcpLayer for Endpoint {
    fn on_segment(&mut self, now: Instant, meta: &SegmentMeta, seg: &TcpRepr<'_>) {
        Endpoint::on_segment(self, now, meta.src, meta.dst, seg);
    }

    fn on_icmp_error(&mut self, now: Instant, err: &IcmpError) {
        let e = engine_icmp(err.kind, err.local.is_ipv6());
        Endpoint::on_icmp_error(self, now, err.local, err.remote, err.seq, e);
    }

    fn poll_transmit(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        checksum: ChecksumMode,
    ) -> Option<SegmentOut> {
        // `Skip` when the device fills the TCP checksum: the engine leaves it zero.
        let t = Endpoint::poll_transmit_brief(self, now, buf, checksum)?;
        Some(SegmentOut {
            src: t.src.ip(),
            dst: t.dst.ip(),
            len: t.len,
            segment_size: t.segment_size,
        })
    }

    fn transmit_failed(&mut self, now: Instant) {
        Endpoint::last_transmit_failed(self, now);
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        Endpoint::poll_timeout(self)
    }

    fn on_timeout(&mut self, now: Instant) {
        Endpoint::on_timeout(self, now);
    }
}

/// The engine's classification of an ICMP error the interface extracted (destination
/// unreachable codes as `IcmpError::from_icmpv4` / `from_icmpv6` read them).
pub fn engine_icmp(kind: IcmpErrorKind, v6: bool) -> EngineIcmp {
    match kind {
        IcmpErrorKind::Unreachable { code, .. } => {
            let e = if v6 {
                EngineIcmp::from_icmpv6(1, code, 0)
            } else {
                EngineIcmp::from_icmpv4(3, code, 0)
            };
            e.unwrap_or(EngineIcmp::HostUnreachable)
        }
        IcmpErrorKind::PacketTooBig { mtu } => {
            EngineIcmp::PacketTooBig { mtu: u16::try_from(mtu).unwrap_or(u16::MAX) }
        }
        IcmpErrorKind::TimeExceeded => EngineIcmp::TimeExceeded,
        IcmpErrorKind::ParameterProblem => EngineIcmp::ParameterProblem,
        IcmpErrorKind::SourceQuench => EngineIcmp::SourceQuench,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icmp_mapping_keeps_hard_codes_hard() {
        let hard = |k, v6| engine_icmp(k, v6).is_hard();
        assert!(hard(IcmpErrorKind::Unreachable { code: 3, hard: true }, false));
        assert!(hard(IcmpErrorKind::Unreachable { code: 2, hard: true }, false));
        assert!(hard(IcmpErrorKind::Unreachable { code: 4, hard: true }, true));
        assert!(!hard(IcmpErrorKind::Unreachable { code: 1, hard: false }, false));
        assert!(!hard(IcmpErrorKind::Unreachable { code: 0, hard: false }, true));
        assert_eq!(
            engine_icmp(IcmpErrorKind::PacketTooBig { mtu: 70_000 }, true),
            EngineIcmp::PacketTooBig { mtu: u16::MAX }
        );
    }
}
