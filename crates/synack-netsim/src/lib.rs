//! # synack-netsim: a seeded model of an imperfect network path
//!
//! Frames go in with a time; they come out later, or not at all, according to seeded delay,
//! jitter, loss, reordering, duplication, corruption, a rate limit and a queue limit. The engine's
//! simulation tests and the stack's in-memory link both use it, so one model serves both.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
