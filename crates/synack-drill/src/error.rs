//! Errors from reading a script: where (file, line, column) and what.

use std::fmt;

/// A position in a script: 1-based line and column (columns count characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Pos {
    /// Line, from 1.
    pub line: u32,
    /// Column, from 1.
    pub col: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// Why a script could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// A string, backtick command, comment or `%{ }%` block has no end.
    Unterminated(&'static str),
    /// A character that starts no token.
    BadChar(char),
    /// A number that does not fit or is malformed.
    BadNumber(String),
    /// Something other than what the grammar allows here.
    Expected {
        /// What the grammar wanted.
        expected: String,
        /// What was found.
        found: String,
    },
    /// A well-formed construct with a value the language rejects (e.g. `1:10(5)`).
    Invalid(String),
}

/// A parse error with its location. Displays as `file:line:col: message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The file name given to the parser (or `<script>`).
    pub file: String,
    /// Where the problem starts.
    pub pos: Pos,
    /// What is wrong.
    pub kind: ParseErrorKind,
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseErrorKind::Unterminated(what) => write!(f, "unterminated {what}"),
            ParseErrorKind::BadChar(c) => write!(f, "unexpected character {c:?}"),
            ParseErrorKind::BadNumber(s) => write!(f, "bad number {s:?}"),
            ParseErrorKind::Expected { expected, found } => {
                write!(f, "expected {expected}, found {found}")
            }
            ParseErrorKind::Invalid(msg) => f.write_str(msg),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.pos, self.kind)
    }
}

impl std::error::Error for ParseError {}
