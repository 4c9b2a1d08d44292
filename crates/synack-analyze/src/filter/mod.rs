//! The tcpdump filter language (pcap-filter(7)), for the expressions TCP/IP users write:
//! `host`, `src`/`dst`, `net` with CIDR or `mask`, `port`, `portrange`, protocol names,
//! `and`/`or`/`not`/`&&`/`||`/`!`, parentheses, byte loads such as `tcp[13] & 4 != 0` or
//! `tcp[tcpflags] & (tcp-syn|tcp-fin) != 0`, and `len`/`greater`/`less`.
//!
//! Expressions are parsed into a tree and evaluated directly over the raw frame bytes the way
//! libpcap's compiled BPF program does: `and`/`or` have equal precedence and associate left to
//! right, a load outside the captured bytes rejects the whole packet, and `tcp[..]`/`udp[..]`/
//! `icmp[..]` apply to IPv4 only (as pcap-filter(7) documents).
//!
//! ```
//! use synack_analyze::filter::Filter;
//! let f = Filter::parse("tcp port 80 and (tcp[tcpflags] & tcp-syn != 0)").unwrap();
//! assert!(Filter::parse("tcp port eighty").is_err());
//! # let _ = f;
//! ```

mod eval;
mod lexer;
mod parser;

use core::fmt;
pub use eval::FramePacket;
pub(crate) use parser::Expr;

/// A filter expression that could not be parsed, with the span of the offending token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError {
    /// The whole expression.
    pub expr: String,
    /// Byte offset where the offending token starts.
    pub start: usize,
    /// Byte offset just past it.
    pub end: usize,
    /// What is wrong.
    pub message: String,
}

impl FilterError {
    pub(crate) fn at(src: &str, start: usize, end: usize, msg: impl Into<String>) -> Self {
        FilterError { expr: src.to_string(), start, end: end.max(start + 1), message: msg.into() }
    }
}

impl fmt::Display for FilterError {
    /// Shows the expression with carets under the offending token, then the message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pad = self.expr[..self.start.min(self.expr.len())].chars().count();
        let width = self.end.saturating_sub(self.start).max(1);
        writeln!(f, "bad filter expression: {}", self.message)?;
        writeln!(f, "  {}", self.expr)?;
        write!(f, "  {}{}", " ".repeat(pad), "^".repeat(width))
    }
}

impl std::error::Error for FilterError {}

/// A compiled filter expression.
#[derive(Clone, Debug)]
pub struct Filter {
    expr: Option<Expr>,
}

impl Filter {
    /// Parses an expression; an empty string matches everything.
    pub fn parse(src: &str) -> Result<Filter, FilterError> {
        let toks = lexer::lex(src)?;
        if toks.is_empty() {
            return Ok(Filter { expr: None });
        }
        let expr = parser::Parser::new(src, toks).parse_all()?;
        Ok(Filter { expr: Some(expr) })
    }

    /// A filter that selects every packet.
    pub fn all() -> Filter {
        Filter { expr: None }
    }

    /// True when the frame is selected.
    pub fn matches(&self, pkt: &FramePacket<'_>) -> bool {
        match &self.expr {
            None => true,
            Some(e) => eval::eval(e, pkt).unwrap_or(false),
        }
    }
}

#[cfg(test)]
mod tests;
