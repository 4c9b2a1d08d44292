//! tcpdump-style rendering of TCP pieces.

pub use super::flags::FlagLetters;
