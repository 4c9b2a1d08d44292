//! # synack-analyze: seeing TCP in captures
//!
//! Capture reading (pcap, pcapng), stream tracking, Wireshark-style sequence analysis, the
//! tcpdump filter language, ladder diagrams (the one text drawer, [`ladder`], serves captures
//! and the CLI's demo and scenarios) and graphs.
//!
//! ```text
//!  file ─▶ capture::CaptureReader ─▶ Frame ─▶ filter::Filter (tcpdump syntax, raw bytes)
//!                                        └──▶ decode::decode ─▶ Packet ─▶ tcpdump line
//!                                                                  └──▶ analysis (streams,
//!                                  Wireshark sequence analysis) ─▶ fields / flow / graph / stats
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod analysis;
pub mod capture;
pub mod decode;
pub mod dump;
pub mod fields;
pub mod filter;
pub mod flow;
pub mod graph;
pub mod ladder;
pub mod link;
pub mod pcapng_fix;
pub mod reassembly;
mod record_buffer;
pub mod report;
pub mod segments;
pub mod stats;
pub mod tcpdump;
pub mod tcpline;
