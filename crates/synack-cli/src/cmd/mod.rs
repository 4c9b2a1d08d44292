//! Subcommands, one module each.

pub(crate) mod bench;
pub(crate) mod connect;
pub(crate) mod decode;
pub(crate) mod demo;
pub(crate) mod drill;
pub(crate) mod dump;
pub(crate) mod flood;
pub(crate) mod flow;
pub(crate) mod forward;
pub(crate) mod graph;
pub(crate) mod lab;
pub(crate) mod ladder;
pub(crate) mod load;
pub(crate) mod report;
pub(crate) mod scenarios;
pub(crate) mod serve;
pub(crate) mod stats;
