//! # synack-drill: packetdrill scripts against the synack engine
//!
//! A parser for the packetdrill language and a runner that drives the engine on a virtual clock.
//!
//! ```text
//!   .pkt text ──lexer──▶ tokens ──parser──▶ ast::Script ──runner──▶ Outcome (pass/fail/unsupported)
//!                                                          │  ▲
//!                                      inbound segments ───┘  └─── outbound segments, checked by
//!                                      (mapped to live)            matcher (mapped to script space)
//! ```
//!
//! * [`parser`]: the language, errors with file/line/column.
//! * [`profile`]: the defaults a suite assumes (`linux`, `freebsd`, `rfc`) and the sysctl table.
//! * [`matcher`]: packetdrill's ISN/TS mapping, outbound checks (strict/relaxed), merging.
//! * [`code`]: `%{ assert tcpi_x == N }%` blocks.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod ast;
pub mod code;
pub mod config;
pub mod engine;
pub mod error;
pub mod files;
pub mod icmp;
mod lexer;
pub mod listing;
pub mod matcher;
pub mod outcome;
pub mod parser;
pub mod probe;
pub mod profile;
pub mod runner;
pub mod segment;
pub mod shell;
pub mod suite;
pub mod target;

pub use error::{ParseError, ParseErrorKind, Pos};
pub use outcome::{Outcome, Summary, Verdict};
pub use parser::{parse, parse_with_defines};
pub use runner::{RunOptions, TargetFactory, run_source};
