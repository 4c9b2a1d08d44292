//! Tokens of the packetdrill language (README §1.1).
//!
//! The lexer turns the whole script into a token list up front; the parser then reads it with
//! one token of lookahead. Newlines are not tokens: like packetdrill's own grammar, events are
//! told apart by their leading time. Each token keeps its position (for errors) and its byte span
//! (so the parser can tell `S.` from `S .` and copy free text such as errno notes verbatim).

use crate::error::{ParseError, ParseErrorKind, Pos};
use std::collections::HashMap;
use std::net::Ipv4Addr;

/// What a token is.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    /// An integer, decimal or `0x` hex, possibly negative.
    Int(i64),
    /// A decimal with a point (`.1`, `0.200`); the text is kept so times convert exactly.
    Float(String),
    /// A word: keyword, symbol, flag letters, syscall name.
    Word(String),
    /// `"..."` with the quotes removed (no escapes are interpreted but `\"`).
    Str(String),
    /// `` `...` `` shell text.
    Backtick(String),
    /// `%{ ... }%` code text.
    Code(String),
    /// `...`
    Ellipsis,
    /// A header option `--name` or `--name=value`.
    HeaderOpt(String, Option<String>),
    /// A dotted IPv4 address.
    Ipv4(Ipv4Addr),
    /// Any other single printable character.
    Punct(char),
    /// End of input.
    Eof,
}

/// A token with where it came from.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) pos: Pos,
    /// Byte offset of the first character.
    pub(crate) start: usize,
    /// Byte offset just past the last character.
    pub(crate) end: usize,
}

impl Tok {
    /// How a token reads in an error message.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Int(v) => format!("number {v}"),
            Tok::Float(s) => format!("number {s}"),
            Tok::Word(w) => format!("'{w}'"),
            Tok::Str(_) => "a string".into(),
            Tok::Backtick(_) => "a `command`".into(),
            Tok::Code(_) => "a %{ }% block".into(),
            Tok::Ellipsis => "'...'".into(),
            Tok::HeaderOpt(n, _) => format!("option --{n}"),
            Tok::Ipv4(a) => format!("address {a}"),
            Tok::Punct(c) => format!("'{c}'"),
            Tok::Eof => "end of file".into(),
        }
    }
}

struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    i: usize,
    line: u32,
    col: u32,
    file: &'a str,
}

/// Splits `src` into tokens, replacing every word named in `defines` by the tokens of its value.
pub(crate) fn tokenize(
    src: &str,
    file: &str,
    defines: &HashMap<String, String>,
) -> Result<Vec<Token>, ParseError> {
    let raw = Lexer { src, bytes: src.as_bytes(), i: 0, line: 1, col: 1, file }.run()?;
    if defines.is_empty() {
        return Ok(raw);
    }
    let mut out = Vec::with_capacity(raw.len());
    for t in raw {
        if let Tok::Word(w) = &t.tok
            && let Some(value) = defines.get(w)
        {
            {
                let sub =
                    Lexer { src: value, bytes: value.as_bytes(), i: 0, line: 1, col: 1, file }
                        .run()
                        .map_err(|e| ParseError { pos: t.pos, ..e })?;
                for s in sub.into_iter().filter(|s| s.tok != Tok::Eof) {
                    out.push(Token { tok: s.tok, pos: t.pos, start: t.start, end: t.end });
                }
                continue;
            }
        }
        out.push(t);
    }
    Ok(out)
}

impl<'a> Lexer<'a> {
    fn err(&self, pos: Pos, kind: ParseErrorKind) -> ParseError {
        ParseError { file: self.file.to_string(), pos, kind }
    }

    fn peek(&self, k: usize) -> u8 {
        self.bytes.get(self.i + k).copied().unwrap_or(0)
    }

    fn pos(&self) -> Pos {
        Pos { line: self.line, col: self.col }
    }

    /// Moves over one character, keeping line and column right.
    fn bump(&mut self) {
        if let Some(c) = self.src[self.i..].chars().next() {
            self.i += c.len_utf8();
            if c == '\n' {
                self.line += 1;
                self.col = 1;
            } else {
                self.col += 1;
            }
        }
    }

    /// Moves to just past `end`, returning the text before it, or `None` at end of input.
    fn until(&mut self, end: &str) -> Option<&'a str> {
        let from = self.i;
        let at = self.src[from..].find(end)?;
        while self.i < from + at + end.len() {
            self.bump();
        }
        Some(&self.src[from..from + at])
    }

    fn run(mut self) -> Result<Vec<Token>, ParseError> {
        let mut out = Vec::new();
        loop {
            let c = self.peek(0);
            if c == 0 && self.i >= self.bytes.len() {
                let pos = self.pos();
                out.push(Token { tok: Tok::Eof, pos, start: self.i, end: self.i });
                return Ok(out);
            }
            if c.is_ascii_whitespace() {
                self.bump();
                continue;
            }
            let pos = self.pos();
            let start = self.i;
            if c == b'/' && self.peek(1) == b'/' {
                while self.i < self.bytes.len() && self.peek(0) != b'\n' {
                    self.bump();
                }
                continue;
            }
            if c == b'/' && self.peek(1) == b'*' {
                self.bump();
                self.bump();
                if self.until("*/").is_none() {
                    return Err(self.err(pos, ParseErrorKind::Unterminated("/* comment")));
                }
                continue;
            }
            let tok = self.token(c, pos)?;
            out.push(Token { tok, pos, start, end: self.i });
        }
    }

    fn token(&mut self, c: u8, pos: Pos) -> Result<Tok, ParseError> {
        match c {
            b'"' => {
                self.bump();
                let mut s = String::new();
                loop {
                    match self.peek(0) {
                        0 if self.i >= self.bytes.len() => {
                            return Err(self.err(pos, ParseErrorKind::Unterminated("string")));
                        }
                        b'"' => {
                            self.bump();
                            return Ok(Tok::Str(s));
                        }
                        b'\\' if self.peek(1) == b'"' => {
                            self.bump();
                            self.bump();
                            s.push('"');
                        }
                        _ => {
                            let ch = self.src[self.i..].chars().next().unwrap_or('\0');
                            s.push(ch);
                            self.bump();
                        }
                    }
                }
            }
            b'`' => {
                self.bump();
                match self.until("`") {
                    Some(t) => Ok(Tok::Backtick(t.to_string())),
                    None => Err(self.err(pos, ParseErrorKind::Unterminated("`command`"))),
                }
            }
            b'%' if self.peek(1) == b'{' => {
                self.bump();
                self.bump();
                match self.until("}%") {
                    Some(t) => Ok(Tok::Code(t.to_string())),
                    None => Err(self.err(pos, ParseErrorKind::Unterminated("%{ }% block"))),
                }
            }
            b'.' if self.peek(1) == b'.' && self.peek(2) == b'.' => {
                self.bump();
                self.bump();
                self.bump();
                Ok(Tok::Ellipsis)
            }
            b'-' if self.peek(1) == b'-' && self.peek(2).is_ascii_alphabetic() => {
                self.bump();
                self.bump();
                let from = self.i;
                while self.peek(0).is_ascii_alphanumeric() || self.peek(0) == b'_' {
                    self.bump();
                }
                let name = self.src[from..self.i].to_string();
                let value = if self.peek(0) == b'=' {
                    self.bump();
                    let vfrom = self.i;
                    while self.i < self.bytes.len() && !self.peek(0).is_ascii_whitespace() {
                        self.bump();
                    }
                    Some(self.src[vfrom..self.i].to_string())
                } else {
                    None
                };
                Ok(Tok::HeaderOpt(name, value))
            }
            b'-' if self.peek(1).is_ascii_digit()
                || (self.peek(1) == b'.' && self.peek(2).is_ascii_digit()) =>
            {
                self.bump();
                match self.number(pos)? {
                    Tok::Int(v) => Ok(Tok::Int(-v)),
                    Tok::Float(s) => Ok(Tok::Float(format!("-{s}"))),
                    other => {
                        Err(self
                            .err(pos, ParseErrorKind::BadNumber(format!("-{}", other.describe()))))
                    }
                }
            }
            b'0'..=b'9' => self.number(pos),
            b'.' if self.peek(1).is_ascii_digit() => self.number(pos),
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let from = self.i;
                while self.peek(0).is_ascii_alphanumeric() || self.peek(0) == b'_' {
                    self.bump();
                }
                Ok(Tok::Word(self.src[from..self.i].to_string()))
            }
            c if c.is_ascii_graphic() => {
                self.bump();
                Ok(Tok::Punct(c as char))
            }
            _ => {
                let ch = self.src[self.i..].chars().next().unwrap_or('\0');
                Err(self.err(pos, ParseErrorKind::BadChar(ch)))
            }
        }
    }

    /// An unsigned number: hex, decimal integer, decimal with point, or dotted IPv4.
    fn number(&mut self, pos: Pos) -> Result<Tok, ParseError> {
        let from = self.i;
        if self.peek(0) == b'0' && matches!(self.peek(1), b'x' | b'X') {
            self.bump();
            self.bump();
            while self.peek(0).is_ascii_hexdigit() {
                self.bump();
            }
            let text = &self.src[from..self.i];
            return i64::from_str_radix(&text[2..], 16)
                .map(Tok::Int)
                .map_err(|_| self.err(pos, ParseErrorKind::BadNumber(text.to_string())));
        }
        let mut dots = 0;
        loop {
            let c = self.peek(0);
            if c.is_ascii_digit() {
                self.bump();
            } else if c == b'.' && self.peek(1).is_ascii_digit() && dots < 3 {
                dots += 1;
                self.bump();
            } else {
                break;
            }
        }
        let text = &self.src[from..self.i];
        let bad = || ParseErrorKind::BadNumber(text.to_string());
        match dots {
            // A digit string too long for a number (a Fast Open cookie written in hex) is a
            // word; wherever a number is needed it is reported there.
            0 => Ok(text.parse::<i64>().map_or_else(|_| Tok::Word(text.to_string()), Tok::Int)),
            1 => Ok(Tok::Float(text.to_string())),
            3 => text.parse::<Ipv4Addr>().map(Tok::Ipv4).map_err(|_| self.err(pos, bad())),
            _ => Err(self.err(pos, bad())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokenize(s, "t", &HashMap::new()).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn numbers_times_and_ellipsis() {
        assert_eq!(
            toks("+0...0.200 .1 -1 0x02"),
            vec![
                Tok::Punct('+'),
                Tok::Int(0),
                Tok::Ellipsis,
                Tok::Float("0.200".into()),
                Tok::Float(".1".into()),
                Tok::Int(-1),
                Tok::Int(2),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn comments_strings_commands_code() {
        let t = toks("// c\n/* x\n y */ \"a b\" `sysctl -q x=1\n` %{ assert x == 1 }%");
        assert_eq!(
            t,
            vec![
                Tok::Str("a b".into()),
                Tok::Backtick("sysctl -q x=1\n".into()),
                Tok::Code(" assert x == 1 ".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn header_options_and_addresses() {
        assert_eq!(
            toks("--tolerance_usecs=7000 --strict_segments 192.0.2.1"),
            vec![
                Tok::HeaderOpt("tolerance_usecs".into(), Some("7000".into())),
                Tok::HeaderOpt("strict_segments".into(), None),
                Tok::Ipv4(Ipv4Addr::new(192, 0, 2, 1)),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn positions_count_lines_and_columns() {
        let t = tokenize("a\n  b", "t", &HashMap::new()).unwrap();
        assert_eq!(t[1].pos, Pos { line: 2, col: 3 });
    }

    #[test]
    fn unterminated_things_are_errors_with_position() {
        let e = tokenize("x\n  `abc", "f.pkt", &HashMap::new()).unwrap_err();
        assert_eq!(e.to_string(), "f.pkt:2:3: unterminated `command`");
        assert!(tokenize("%{ x", "f", &HashMap::new()).is_err());
        assert!(tokenize("\"x", "f", &HashMap::new()).is_err());
        assert!(tokenize("/* x", "f", &HashMap::new()).is_err());
        assert!(tokenize("é", "f", &HashMap::new()).is_err());
        // Too long for a number: a word (a hex cookie), rejected where a number is needed.
        assert_eq!(
            toks("0102030405060708091011121314"),
            vec![Tok::Word("0102030405060708091011121314".into()), Tok::Eof]
        );
        assert!(crate::parse("99999999999999999999 socket(..., SOCK_STREAM, 0) = 3", "f").is_err());
    }

    #[test]
    fn defines_substitute_words() {
        let mut d = HashMap::new();
        d.insert("CODE".to_string(), "0x1234".to_string());
        let t = tokenize("x CODE", "f", &d).unwrap();
        assert_eq!(t[1].tok, Tok::Int(0x1234));
    }
}
