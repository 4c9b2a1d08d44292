//! The parts ICMPv4 and ICMPv6 share: both start with the same 8-byte header (type, code,
//! checksum, four type-specific bytes), so the buffer view's accessors, the echo identifier and
//! sequence-number packing and the header write live here once instead of in each module.

use crate::field::put16;

/// Length of the ICMP header (type, code, checksum, four type-specific bytes), the same for
/// both versions.
pub(crate) const HEADER_LEN: usize = 8;

/// Splits the four type-specific bytes of an echo message into (identifier, sequence number).
pub(crate) fn echo_fields(rest: [u8; 4]) -> (u16, u16) {
    (u16::from_be_bytes([rest[0], rest[1]]), u16::from_be_bytes([rest[2], rest[3]]))
}

/// Packs an echo identifier and sequence number into the four type-specific bytes.
pub(crate) fn echo_rest(ident: u16, seq_no: u16) -> [u8; 4] {
    let [a, b] = ident.to_be_bytes();
    let [c, d] = seq_no.to_be_bytes();
    [a, b, c, d]
}

/// Writes type, code, a zero checksum and the type-specific bytes into `b[..HEADER_LEN]`;
/// the caller checked the length and fills in the checksum afterwards.
pub(crate) fn write_header(b: &mut [u8], (msg_type, code): (u8, u8), rest: [u8; 4]) {
    b[0] = msg_type;
    b[1] = code;
    put16(b, 2, 0);
    b[4..HEADER_LEN].copy_from_slice(&rest);
}

/// Defines the buffer view `$name` with the accessors both ICMP versions share; a truncated
/// buffer is reported against `$layer`. The checksum check differs (ICMPv6 covers a
/// pseudo-header), so each module adds its own `verify_checksum`.
macro_rules! icmp_packet_view {
    ($(#[$meta:meta])* $name:ident, $layer:expr) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name<B> {
            buf: B,
        }

        impl<B: AsRef<[u8]>> $name<B> {
            /// Wraps a buffer without checking it; accessors may panic on a malformed one.
            pub const fn new_unchecked(buf: B) -> Self {
                $name { buf }
            }
            /// Wraps a buffer holding at least the 8-byte header.
            pub fn new_checked(buf: B) -> $crate::error::Result<Self> {
                if buf.as_ref().len() < $crate::icmp_common::HEADER_LEN {
                    return Err($crate::error::Error::Truncated { layer: $layer });
                }
                Ok($name { buf })
            }
            /// The underlying buffer.
            pub fn into_inner(self) -> B {
                self.buf
            }
            /// Message type.
            pub fn msg_type(&self) -> u8 {
                self.buf.as_ref()[0]
            }
            /// Code.
            pub fn code(&self) -> u8 {
                self.buf.as_ref()[1]
            }
            /// Checksum field.
            pub fn checksum(&self) -> u16 {
                $crate::field::be16(self.buf.as_ref(), 2)
            }
            /// The four type-specific header bytes.
            pub fn rest_of_header(&self) -> [u8; 4] {
                let b = self.buf.as_ref();
                [b[4], b[5], b[6], b[7]]
            }
            /// Everything after the header.
            pub fn data(&self) -> &[u8] {
                &self.buf.as_ref()[$crate::icmp_common::HEADER_LEN..]
            }
        }
    };
}
pub(crate) use icmp_packet_view;
