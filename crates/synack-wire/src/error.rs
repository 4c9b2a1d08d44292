//! The one error type of the wire layer: what is wrong with a packet, and at which layer.
//!
//! The analyzer prints these reasons next to a packet, so every variant says what was found,
//! not only that parsing failed.

use core::fmt;

/// The protocol layer an [`Error`] was found in.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum Layer {
    /// Ethernet II header.
    Ethernet,
    /// ARP packet.
    Arp,
    /// IPv4 header.
    Ipv4,
    /// IPv6 fixed header.
    Ipv6,
    /// An IPv6 extension header.
    Ipv6Ext,
    /// ICMPv4 message.
    Icmpv4,
    /// ICMPv6 message.
    Icmpv6,
    /// UDP header.
    Udp,
    /// TCP header.
    Tcp,
    /// A TCP option.
    TcpOption,
}

impl Layer {
    /// The layer's usual name, as people write it.
    pub const fn name(self) -> &'static str {
        match self {
            Layer::Ethernet => "Ethernet",
            Layer::Arp => "ARP",
            Layer::Ipv4 => "IPv4",
            Layer::Ipv6 => "IPv6",
            Layer::Ipv6Ext => "IPv6 extension header",
            Layer::Icmpv4 => "ICMPv4",
            Layer::Icmpv6 => "ICMPv6",
            Layer::Udp => "UDP",
            Layer::Tcp => "TCP",
            Layer::TcpOption => "TCP option",
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What is wrong with a packet (parsing) or with a representation or buffer (emitting).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum Error {
    /// The buffer ends before the layer's header (or the length it declares) does.
    Truncated {
        /// Where the bytes ran out.
        layer: Layer,
    },
    /// A header-length field is impossible: IPv4 IHL below 5, TCP data offset below 5, an IPv6
    /// extension header or UDP length shorter than its fixed part.
    BadHeaderLen {
        /// The layer whose header length is wrong.
        layer: Layer,
        /// The header length the packet declares, in bytes.
        len: usize,
    },
    /// A TCP option's length byte is 0 or 1, runs past the header, or is wrong for its kind.
    BadOptionLen {
        /// Option kind.
        kind: u8,
        /// The length byte found (0 when the length byte itself is missing).
        len: u8,
    },
    /// The checksum does not verify.
    BadChecksum {
        /// The layer whose checksum is wrong.
        layer: Layer,
    },
    /// The IP version nibble (or ARP hardware/protocol type) is not one this layer handles.
    UnsupportedVersion {
        /// The layer that was expected.
        layer: Layer,
        /// The version number found.
        version: u16,
    },
    /// IPv4 total length is smaller than the header, or UDP length smaller than 8.
    BadTotalLen {
        /// The layer whose length field is wrong.
        layer: Layer,
        /// The length the packet declares.
        len: usize,
    },
    /// More IPv6 extension headers than the walk allows, or one out of place.
    BadExtHeaderChain,
    /// Source and destination addresses are of different families (pseudo-header impossible).
    AddressFamilyMismatch,
    /// The buffer given to `emit` is shorter than `buffer_len()`.
    BufferTooSmall {
        /// The layer being written.
        layer: Layer,
        /// Bytes needed.
        needed: usize,
    },
    /// The options to emit do not fit the 40 bytes a TCP header has for them.
    OptionsTooLong {
        /// Option bytes needed, padded to a multiple of four.
        len: usize,
    },
    /// A representation field holds a value that cannot be written (too large for its field).
    FieldOutOfRange {
        /// The layer being written.
        layer: Layer,
        /// The field's name.
        field: &'static str,
    },
    /// A message type or protocol this parser does not decode.
    Unsupported {
        /// The layer.
        layer: Layer,
        /// The type, kind or protocol number found.
        value: u16,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Truncated { layer } => write!(f, "truncated {layer} packet"),
            Error::BadHeaderLen { layer, len } => write!(f, "bad {layer} header length {len}"),
            Error::BadOptionLen { kind, len } => {
                write!(f, "bad TCP option length {len} for option kind {kind}")
            }
            Error::BadChecksum { layer } => write!(f, "bad {layer} checksum"),
            Error::UnsupportedVersion { layer, version } => {
                write!(f, "unsupported version {version} for {layer}")
            }
            Error::BadTotalLen { layer, len } => write!(f, "bad {layer} total length {len}"),
            Error::BadExtHeaderChain => f.write_str("bad IPv6 extension header chain"),
            Error::AddressFamilyMismatch => {
                f.write_str("source and destination addresses of different families")
            }
            Error::BufferTooSmall { layer, needed } => {
                write!(f, "buffer too small to emit {layer}: {needed} bytes needed")
            }
            Error::OptionsTooLong { len } => {
                write!(f, "TCP options need {len} bytes, more than the 40 available")
            }
            Error::FieldOutOfRange { layer, field } => {
                write!(f, "{layer} field {field} out of range")
            }
            Error::Unsupported { layer, value } => write!(f, "unsupported {layer} type {value}"),
        }
    }
}

impl core::error::Error for Error {}

/// The wire layer's result type.
pub type Result<T> = core::result::Result<T, Error>;
