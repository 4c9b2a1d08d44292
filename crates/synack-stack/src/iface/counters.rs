//! Why packets were dropped, counted per reason.

use core::fmt;

macro_rules! reasons {
    ($( $(#[$m:meta])* $name:ident => $text:literal, )*) => {
        /// Why the interface dropped a packet. Every drop is counted under exactly one reason.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum DropReason { $( $(#[$m])* $name, )* }

        impl DropReason {
            /// Every reason, in declaration order.
            pub const ALL: &'static [DropReason] = &[ $( DropReason::$name, )* ];
            /// A short lowercase name, stable for logs and JSON.
            pub const fn name(self) -> &'static str {
                match self { $( DropReason::$name => $text, )* }
            }
        }
    };
}

reasons! {
    /// A frame with no bytes.
    Empty => "empty",
    /// The IP version nibble is neither 4 nor 6.
    BadVersion => "bad-version",
    /// IPv4 header cut short, or total length beyond the frame.
    Ipv4Truncated => "ipv4-truncated",
    /// IPv4 IHL below 5.
    Ipv4BadHeaderLen => "ipv4-bad-header-len",
    /// IPv4 total length below the header length.
    Ipv4BadTotalLen => "ipv4-bad-total-len",
    /// IPv4 header checksum wrong.
    Ipv4BadChecksum => "ipv4-bad-checksum",
    /// IPv6 fixed header cut short, or payload length beyond the frame.
    Ipv6Truncated => "ipv6-truncated",
    /// IPv6 extension headers malformed, too many, or out of order.
    Ipv6BadExtHeaders => "ipv6-bad-ext-headers",
    /// An IPv6 first fragment without the whole header chain through the upper-layer header.
    FragmentHeaderChain => "fragment-header-chain",
    /// Source address is multicast, broadcast or one of ours (spoofed or looped).
    MartianSource => "martian-source",
    /// Destination is not one of our addresses (and transparent mode is off).
    NotOurAddress => "not-our-address",
    /// TCP to a broadcast or multicast destination.
    NonUnicastTcp => "non-unicast-tcp",
    /// A protocol we do not handle (UDP, ...).
    UnknownProtocol => "unknown-protocol",
    /// TCP header cut short or impossible header length.
    TcpMalformed => "tcp-malformed",
    /// TCP option with a bad length.
    TcpBadOption => "tcp-bad-option",
    /// TCP checksum wrong.
    TcpBadChecksum => "tcp-bad-checksum",
    /// A fragment overlaps one already held: the whole datagram is dropped.
    FragmentOverlap => "fragment-overlap",
    /// Fragments would make a datagram longer than 65,535 bytes, or disagree on its end.
    FragmentBadLength => "fragment-bad-length",
    /// A partly reassembled datagram timed out.
    ReassemblyTimeout => "reassembly-timeout",
    /// A partly reassembled datagram was evicted to keep memory bounded.
    ReassemblyEvicted => "reassembly-evicted",
    /// A datagram had more fragments than the reassembler tracks.
    FragmentTooMany => "fragment-too-many",
    /// ICMP message too short for its type.
    IcmpTruncated => "icmp-truncated",
    /// ICMP checksum wrong.
    IcmpBadChecksum => "icmp-bad-checksum",
    /// An ICMP type we do not act on.
    IcmpIgnored => "icmp-ignored",
    /// An ICMP error quoting something that is not a TCP segment we sent.
    IcmpBadQuote => "icmp-bad-quote",
    /// An echo request to a broadcast or multicast address (not answered).
    EchoToNonUnicast => "echo-to-non-unicast",
    /// No route for an outgoing packet.
    NoRoute => "no-route",
    /// An outgoing packet larger than the MTU.
    EgressTooBig => "egress-too-big",
    /// An outgoing packet with a source address that is not ours (transparent mode off).
    EgressBadSource => "egress-bad-source",
    /// The device had no room; the packet waits or is dropped.
    DeviceFull => "device-full",
    /// Too many replies queued for the device.
    ReplyQueueFull => "reply-queue-full",
    /// UDP checksum failed (or zero over IPv6).
    UdpBadChecksum => "udp-bad-checksum",
    /// UDP header malformed (length, port 0).
    UdpMalformed => "udp-malformed",
    /// No UDP socket for the destination port (answered with port unreachable when ours).
    UdpNoSocket => "udp-no-socket",
    /// A connected UDP socket got a datagram from someone else.
    UdpWrongPeer => "udp-wrong-peer",
    /// A UDP socket's receive queue was full.
    UdpRxQueueFull => "udp-rx-queue-full",
    /// The UDP transmit queue was full.
    UdpTxQueueFull => "udp-tx-queue-full",
    /// The accept-any UDP flow table was full.
    UdpFlowTableFull => "udp-flow-table-full",
    /// A port unreachable was not sent: over the rate limit.
    UdpUnreachableLimited => "udp-unreachable-limited",
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

const N: usize = DropReason::ALL.len();

/// What the interface did, and why it dropped what it dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counters {
    /// Frames taken from the device.
    pub rx_frames: u64,
    /// Frames given to the device.
    pub tx_frames: u64,
    /// TCP segments handed to the engine.
    pub tcp_delivered: u64,
    /// TCP segments the engine produced.
    pub tcp_sent: u64,
    /// IPv4 and IPv6 datagrams reassembled from fragments.
    pub reassembled: u64,
    /// ICMP echo replies sent.
    pub echo_replies: u64,
    /// ICMP errors handed to the engine or to UDP sockets.
    pub icmp_errors_delivered: u64,
    /// UDP datagrams delivered to sockets.
    pub udp_delivered: u64,
    /// UDP datagrams sent (once each, however many fragments).
    pub udp_sent: u64,
    /// ICMP port unreachable messages sent about UDP.
    pub udp_unreachable_sent: u64,
    drops: [u64; N],
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            rx_frames: 0,
            tx_frames: 0,
            tcp_delivered: 0,
            tcp_sent: 0,
            reassembled: 0,
            echo_replies: 0,
            icmp_errors_delivered: 0,
            udp_delivered: 0,
            udp_sent: 0,
            udp_unreachable_sent: 0,
            drops: [0; N],
        }
    }
}

impl Counters {
    /// Drops counted for `reason`.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.drops[reason as usize]
    }

    /// Drops of every reason together.
    pub fn total_dropped(&self) -> u64 {
        self.drops.iter().sum()
    }

    /// The reasons with a nonzero count, with their counts.
    pub fn drops(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        DropReason::ALL.iter().map(|&r| (r, self.drops[r as usize])).filter(|&(_, n)| n != 0)
    }

    pub(crate) fn drop(&mut self, reason: DropReason) {
        self.drops[reason as usize] += 1;
    }
}
