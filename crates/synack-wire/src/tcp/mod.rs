//! TCP (RFC 9293 section 3.1): header view, options, parsed representation, tcpdump-style text.

pub mod display;
pub mod flags;
pub mod md5sig;
pub mod options;
pub mod packet;
pub mod repr;

pub use flags::{FlagStyle, FlagText, TcpFlags};
pub use options::{
    AccEcnOption, FAST_OPEN_EXP_MAGIC, FastOpenCookie, OptionLayout, SackBlock, SackBlocks,
    TcpOption, TcpOptionIter, TcpOptions, Timestamps,
};
pub use packet::TcpPacket;
pub use repr::TcpRepr;
