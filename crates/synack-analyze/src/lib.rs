//! # synack-analyze: seeing TCP in captures
//!
//! Capture reading (pcap, pcapng), stream tracking, Wireshark-style sequence analysis, the
//! tcpdump filter language, ladder diagrams and graphs.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
