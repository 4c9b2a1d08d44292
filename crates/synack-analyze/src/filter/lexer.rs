//! Tokens of the tcpdump filter language, each with the byte span it came from so errors can
//! point at it.

use super::FilterError;

/// One token kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Tok {
    /// A word starting with a letter: keyword, named constant or (unsupported) host name.
    Word(String),
    /// A number (decimal, `0x` hex, leading-zero octal).
    Num(u32),
    /// A dotted IPv4 address (possibly partial, as in `net 10.1`).
    V4(String),
    /// An IPv6 address.
    V6(String),
    /// Punctuation and operators: `( ) [ ] : / + - * % & | ^ << >> < > <= >= = == != ! && ||`.
    Op(&'static str),
}

/// A token and where it starts and ends in the expression.
#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

const OPS: [&str; 25] = [
    "&&", "||", "<<", ">>", "<=", ">=", "==", "!=", "(", ")", "[", "]", ":", "/", "+", "-", "*",
    "%", "&", "|", "^", "<", ">", "=", "!",
];

fn parse_num(s: &str) -> Option<u32> {
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u32::from_str_radix(h, 16).ok()
    } else if s.len() > 1 && s.starts_with('0') {
        u32::from_str_radix(&s[1..], 8).ok()
    } else {
        s.parse().ok()
    }
}

/// Splits an expression into tokens.
pub(crate) fn lex(src: &str) -> Result<Vec<Token>, FilterError> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut depth = 0usize;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if c.is_ascii_alphabetic() || c == b'_' || c == b'\\' {
            if c == b'\\' {
                i += 1;
            }
            while i < b.len()
                && (b[i].is_ascii_alphanumeric()
                    || b[i] == b'_'
                    || b[i] == b'-'
                    || b[i] == b'.'
                    || (b[i] == b':' && depth == 0))
            {
                i += 1;
            }
            let w = &src[start..i];
            let w = w.trim_start_matches('\\');
            let tok =
                if w.contains(':') { Tok::V6(w.to_string()) } else { Tok::Word(w.to_string()) };
            out.push(Token { tok, start, end: i });
            continue;
        }
        if c.is_ascii_digit() || (c == b':' && depth == 0 && b.get(i + 1) == Some(&b':')) {
            while i < b.len()
                && (b[i].is_ascii_hexdigit()
                    || b[i] == b'x'
                    || b[i] == b'X'
                    || b[i] == b'.'
                    || (b[i] == b':' && depth == 0))
            {
                i += 1;
            }
            let w = &src[start..i];
            let tok = if w.contains(':') {
                Tok::V6(w.to_string())
            } else if w.contains('.') {
                Tok::V4(w.to_string())
            } else {
                match parse_num(w) {
                    Some(n) => Tok::Num(n),
                    None => {
                        return Err(FilterError::at(src, start, i, "not a number"));
                    }
                }
            };
            out.push(Token { tok, start, end: i });
            continue;
        }
        let rest = &src[i..];
        match OPS.iter().find(|op| rest.starts_with(**op)) {
            Some(op) => {
                if *op == "[" {
                    depth += 1;
                } else if *op == "]" {
                    depth = depth.saturating_sub(1);
                }
                i += op.len();
                out.push(Token { tok: Tok::Op(op), start, end: i });
            }
            None => {
                let ch_len = rest.chars().next().map_or(1, char::len_utf8);
                return Err(FilterError::at(src, start, start + ch_len, "unexpected character"));
            }
        }
    }
    Ok(out)
}
