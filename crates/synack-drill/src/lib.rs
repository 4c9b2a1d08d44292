//! # synack-drill: packetdrill scripts against the synack engine
//!
//! A parser for the packetdrill language and a runner that drives the engine on a virtual clock.
//!
//! ```text
//!   .pkt text ──lexer──▶ tokens ──parser──▶ ast::Script ──runner──▶ Outcome (pass/fail/unsupported)
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod ast;
pub mod error;
mod lexer;
pub mod parser;

pub use error::{ParseError, ParseErrorKind, Pos};
pub use parser::{parse, parse_with_defines};
