//! TCP (RFC 9293 section 3.1): header view, options, parsed representation, tcpdump-style text.

pub mod display;
pub mod repr;

pub use repr::{
    FastOpenCookie, SackBlock, SackBlocks, TcpFlags, TcpOption, TcpOptions, TcpRepr, Timestamps,
};
