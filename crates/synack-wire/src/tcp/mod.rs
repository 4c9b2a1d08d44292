//! TCP (RFC 9293 section 3.1): header view, options, parsed representation, tcpdump-style text.

pub mod display;
pub mod options;
pub mod packet;
pub mod repr;

pub use options::{OptionLayout, TcpOptionIter};
pub use packet::TcpPacket;
pub use repr::{
    FastOpenCookie, SackBlock, SackBlocks, TcpFlags, TcpOption, TcpOptions, TcpRepr, Timestamps,
};
