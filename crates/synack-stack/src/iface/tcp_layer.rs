//! What the interface needs from the TCP engine: [`TcpLayer`].
//!
//! The interface does IP; the engine does TCP. This trait is the seam: the interface hands
//! the engine parsed segments with their IP metadata and ICMP errors about segments it sent,
//! and asks it for segments to send, which the engine writes straight into the device's
//! transmit buffer. The runtime implements it for `synack_tcp::Endpoint`; tests implement it
//! with recorders.

use core::net::{IpAddr, SocketAddr};

use synack_tcp::time::Instant;
use synack_wire::{ChecksumMode, SeqNum, TcpRepr};

/// IP-level facts about a received segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentMeta {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// TTL or hop limit as received.
    pub hop_limit: u8,
    /// The two ECN bits of the IP header.
    pub ecn: u8,
    /// False when the destination is not one of the interface's addresses and the segment was
    /// accepted only because transparent mode is on; the application decides what to do with
    /// such a SYN (accept, refuse with RST, or drop).
    pub local: bool,
}

/// What an ICMP error says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IcmpErrorKind {
    /// Destination unreachable (IPv4 type 3 except code 4; IPv6 type 1).
    Unreachable {
        /// The ICMP code as received.
        code: u8,
        /// True for the codes RFC 1122 calls hard errors (protocol and port unreachable; for
        /// IPv6, port unreachable); the engine aborts a connection attempt on them and only
        /// reports the others.
        hard: bool,
    },
    /// The path cannot carry packets as large as the one sent (IPv4 "fragmentation needed",
    /// IPv6 "packet too big"): lower the MSS to fit `mtu`.
    PacketTooBig {
        /// The path MTU to use, already clamped to the protocol minimum (IPv4: 576 when the
        /// router gave no or an implausibly small value; IPv6: at least 1280).
        mtu: u32,
    },
    /// TTL or hop limit exceeded in transit: a soft error.
    TimeExceeded,
    /// Parameter problem: a soft error.
    ParameterProblem,
    /// Source quench (deprecated by RFC 6633; reported, never acted on).
    SourceQuench,
}

/// An ICMP error about a TCP segment this stack sent, with the connection it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpError {
    /// What went wrong.
    pub kind: IcmpErrorKind,
    /// Who sent the ICMP message (a router, or the peer).
    pub reporter: IpAddr,
    /// Our end of the connection, from the quoted header.
    pub local: SocketAddr,
    /// The peer's end of the connection, from the quoted header.
    pub remote: SocketAddr,
    /// The sequence number of the quoted segment. The engine acts only when it lies in
    /// SND.UNA..SND.NXT (RFC 5927 section 4.1); the interface does not know the window.
    pub seq: SeqNum,
}

/// A segment the engine wrote into the transmit buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentOut {
    /// Source address (ours, or any address in transparent mode).
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Bytes written at the start of the buffer (TCP header, options and payload).
    pub len: usize,
    /// Payload bytes per wire segment when the segment is a super-segment for a device that
    /// cuts it (see [`DeviceCaps::tso_max`](crate::DeviceCaps::tso_max)); 0 otherwise.
    pub segment_size: usize,
}

/// The TCP engine as the interface sees it.
pub trait TcpLayer {
    /// A segment arrived for us (checksum already verified, or offloaded).
    fn on_segment(&mut self, now: Instant, meta: &SegmentMeta, seg: &TcpRepr<'_>);

    /// An ICMP error arrived quoting a TCP segment from one of our addresses.
    fn on_icmp_error(&mut self, now: Instant, err: &IcmpError);

    /// Writes the next segment to send into `buf` (header, options, payload; checksum filled
    /// unless `checksum` is `Skip`) and says where it goes, or returns `None` when there is
    /// nothing to send now. `buf` is as large as the interface MTU allows for IPv4; for IPv6 the
    /// engine must keep to its MSS, which already accounts for the larger header.
    fn poll_transmit(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        checksum: ChecksumMode,
    ) -> Option<SegmentOut>;

    /// The TTL (IPv4) or hop limit (IPv6) for the segment [`poll_transmit`](Self::poll_transmit)
    /// just wrote (`segment` starts with its TCP header), when its socket has its own (a
    /// per-socket `IP_TTL`); `None` uses the interface's.
    fn hop_limit_for(&self, out: &SegmentOut, segment: &[u8]) -> Option<u8> {
        let _ = (out, segment);
        None
    }

    /// The segment [`poll_transmit`](Self::poll_transmit) wrote last was not transmitted: the
    /// device refused it (its queue is full). The engine treats it as never sent.
    fn transmit_failed(&mut self, now: Instant) {
        let _ = now;
    }

    /// The engine's next timer deadline.
    fn poll_timeout(&mut self) -> Option<Instant>;

    /// Lets the engine run the timers that are due at `now`.
    fn on_timeout(&mut self, now: Instant);
}
