//! # synack-stack: the IP layer and devices around the TCP engine
//!
//! Interface (IPv4/IPv6 in and out, ICMP, routes), the `Device` trait, the in-memory link with
//! impairments, and the pcap tap.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
