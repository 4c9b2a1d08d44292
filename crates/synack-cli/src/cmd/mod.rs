//! Subcommands, one module each.

pub(crate) mod decode;
pub(crate) mod drill;
pub(crate) mod dump;
