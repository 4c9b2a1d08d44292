//! Recursive-descent parser for the packetdrill language (README §1).
//!
//! Grammar (tokens from [`crate::lexer`]):
//! ```text
//! script  := (HEADER_OPT)* (event | BACKTICK)*
//! event   := time (packet | syscall | BACKTICK | CODE)
//! time    := '*' | tspec ('~' tspec | '...' tspec)?        tspec := '+'? NUMBER
//! packet  := ('<'|'>') ipinfo? (INT '>' INT)? flags INT ':' INT '(' INT ')'
//!            ('ack' INT | 'win' INT | 'urg' INT)* ('<' ('...' | opt (',' opt)*) '>')?
//!          | ('<'|'>') 'icmp' WORD WORD? ('mtu' INT)? ('[' INT ':' INT '(' INT ')' ']')?
//!          | ('<'|'>') 'udp' '(' INT ')'
//! syscall := WORD '(' (expr (',' expr)*)? ')' '=' expr WORD? ('(' free text ')')?
//! expr    := prim ('|' prim)*      prim := INT | WORD | WORD '(' args ')' | STR | '...' | IPV4
//!                                          | '[' exprs ']' | '{' (WORD '=')? expr, ... '}'
//! ```

use crate::ast::*;
use crate::error::{ParseError, ParseErrorKind, Pos};
use crate::lexer::{Tok, Token, tokenize};
use std::collections::HashMap;

/// Parses a script. `file` is used only in error messages.
pub fn parse(src: &str, file: &str) -> Result<Script, ParseError> {
    parse_with_defines(src, file, &HashMap::new())
}

/// Parses a script after swapping every word `NAME` for its value (packetdrill's `-D NAME=value`).
pub fn parse_with_defines(
    src: &str,
    file: &str,
    defines: &HashMap<String, String>,
) -> Result<Script, ParseError> {
    parse_for(src, file, defines, &[])
}

/// [`parse_with_defines`] where `symbols` (a profile's predefined names, such as `FreeBSD`)
/// also count as defined for `#ifdef`, without being substituted in the text.
pub fn parse_for(
    src: &str,
    file: &str,
    defines: &HashMap<String, String>,
    symbols: &[&str],
) -> Result<Script, ParseError> {
    let defined = |name: &str| defines.contains_key(name) || symbols.contains(&name);
    let kept = preprocess(src, file, &defined)?;
    let src = kept.as_str();
    let toks = tokenize(src, file, defines)?;
    Parser { toks, i: 0, src, file, defines }.script()
}

/// The C preprocessor's conditionals, which the FreeBSD suite uses to keep a standard and a
/// FreeBSD-specific variant of some lines in one script: `#ifdef NAME`, `#ifndef NAME`, `#else`
/// and `#endif` lines (nesting allowed), NAME tested by `defined`. Directive lines
/// and lines left out are blanked with spaces, so line numbers and byte offsets stay those of
/// the file. Other lines starting with `#` (comments inside `%{ }%` code) are left alone.
fn preprocess(src: &str, file: &str, defined: &dyn Fn(&str) -> bool) -> Result<String, ParseError> {
    if !src.lines().any(|l| l.trim_start().starts_with("#if")) {
        return Ok(src.to_string());
    }
    let mut out = String::with_capacity(src.len());
    // One entry per open #if: (this branch taken, some branch already taken, parent active).
    let mut stack: Vec<(bool, bool, bool)> = Vec::new();
    let blank = |line: &str, out: &mut String| {
        for c in line.chars() {
            if c == '\n' || c == '\r' {
                out.push(c);
            } else {
                out.extend(std::iter::repeat_n(' ', c.len_utf8()));
            }
        }
    };
    for (n, line) in src.split_inclusive('\n').enumerate() {
        let active = stack.last().is_none_or(|&(taken, _, parent)| taken && parent);
        let t = line.trim();
        let err = |msg: String| ParseError {
            file: file.to_string(),
            pos: Pos { line: n as u32 + 1, col: 1 },
            kind: ParseErrorKind::Invalid(msg),
        };
        let directive = t.strip_prefix('#').filter(|d| {
            matches!(d.split_whitespace().next(), Some("ifdef" | "ifndef" | "else" | "endif"))
        });
        if let Some(d) = directive {
            let mut words = d.split_whitespace();
            match (words.next(), words.next()) {
                (Some(kw @ ("ifdef" | "ifndef")), Some(name)) => {
                    let on = defined(name) == (kw == "ifdef");
                    stack.push((on, on, active));
                }
                (Some("else"), None) => match stack.last_mut() {
                    Some(top) => {
                        top.0 = !top.1;
                        top.1 = true;
                    }
                    None => return Err(err("#else without #if".into())),
                },
                (Some("endif"), None) => {
                    if stack.pop().is_none() {
                        return Err(err("#endif without #if".into()));
                    }
                }
                _ => return Err(err(format!("malformed preprocessor line: {t}"))),
            }
            blank(line, &mut out);
        } else if active {
            out.push_str(line);
        } else {
            blank(line, &mut out);
        }
    }
    if !stack.is_empty() {
        let line = src.lines().count() as u32;
        return Err(ParseError {
            file: file.to_string(),
            pos: Pos { line, col: 1 },
            kind: ParseErrorKind::Unterminated("#ifdef"),
        });
    }
    Ok(out)
}

struct Parser<'a> {
    toks: Vec<Token>,
    i: usize,
    src: &'a str,
    file: &'a str,
    /// `-D` symbols: a Fast Open cookie may be one (`FO TFO_COOKIE`).
    defines: &'a HashMap<String, String>,
}

type PResult<T> = Result<T, ParseError>;

impl<'a> Parser<'a> {
    fn peek(&self) -> &Token {
        // The lexer always ends the list with Eof, and we never move past it.
        &self.toks[self.i.min(self.toks.len() - 1)]
    }

    fn peek_at(&self, k: usize) -> &Tok {
        &self.toks[(self.i + k).min(self.toks.len() - 1)].tok
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if t.tok != Tok::Eof {
            self.i += 1;
        }
        t
    }

    fn err_at(&self, pos: Pos, kind: ParseErrorKind) -> ParseError {
        ParseError { file: self.file.to_string(), pos, kind }
    }

    fn expected(&self, what: &str) -> ParseError {
        let t = self.peek();
        self.err_at(
            t.pos,
            ParseErrorKind::Expected { expected: what.to_string(), found: t.tok.describe() },
        )
    }

    fn is_punct(&self, c: char) -> bool {
        self.peek().tok == Tok::Punct(c)
    }

    fn eat_punct(&mut self, c: char) -> bool {
        if self.is_punct(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect_punct(&mut self, c: char) -> PResult<Token> {
        if self.is_punct(c) { Ok(self.next()) } else { Err(self.expected(&format!("'{c}'"))) }
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(&self.peek().tok, Tok::Word(x) if x == w)
    }

    fn int(&mut self, what: &str) -> PResult<i64> {
        match self.peek().tok {
            Tok::Int(v) => {
                self.i += 1;
                Ok(v)
            }
            _ => Err(self.expected(what)),
        }
    }

    /// An integer that must fit `T` (e.g. a u16 window).
    fn int_in<T: TryFrom<i64>>(&mut self, what: &str) -> PResult<T> {
        let pos = self.peek().pos;
        let v = self.int(what)?;
        T::try_from(v).map_err(|_| {
            self.err_at(pos, ParseErrorKind::Invalid(format!("{what} {v} is out of range")))
        })
    }

    fn script(mut self) -> PResult<Script> {
        let mut script = Script::default();
        loop {
            let t = self.peek().clone();
            match t.tok {
                Tok::Eof => return Ok(script),
                Tok::HeaderOpt(name, value) => {
                    if !script.events.is_empty() {
                        return Err(self.err_at(
                            t.pos,
                            ParseErrorKind::Invalid(format!(
                                "option --{name} after the first event"
                            )),
                        ));
                    }
                    self.i += 1;
                    script.options.push(HeaderOption { name, value, pos: t.pos });
                }
                Tok::Backtick(cmd) => {
                    self.i += 1;
                    script.events.push(Event {
                        pos: t.pos,
                        time: EventTime::Unspecified,
                        kind: EventKind::Command(cmd),
                    });
                }
                _ => {
                    let ev = self.event()?;
                    script.events.push(ev);
                }
            }
        }
    }

    fn event(&mut self) -> PResult<Event> {
        let pos = self.peek().pos;
        let time = self.time()?;
        let t = self.peek().clone();
        let kind = match &t.tok {
            Tok::Punct('<') | Tok::Punct('>') => self.packet()?,
            Tok::Backtick(c) => {
                self.i += 1;
                EventKind::Command(c.clone())
            }
            Tok::Code(c) => {
                self.i += 1;
                EventKind::Code(c.clone())
            }
            Tok::Word(_) if *self.peek_at(1) == Tok::Punct('(') => {
                EventKind::Syscall(self.syscall()?)
            }
            _ => return Err(self.expected("a packet, syscall, `command` or %{ }% block")),
        };
        if matches!(time, EventTime::Any | EventTime::Range(..)) {
            let outbound = matches!(&kind, EventKind::Packet(p) if p.dir == Direction::Outbound);
            if !outbound {
                return Err(self.err_at(
                    pos,
                    ParseErrorKind::Invalid(
                        "'*' and 'A~B' times are only allowed on outbound packets".into(),
                    ),
                ));
            }
        }
        if matches!(time, EventTime::Blocking(..)) && !matches!(kind, EventKind::Syscall(_)) {
            return Err(self.err_at(
                pos,
                ParseErrorKind::Invalid("'S...E' times are only allowed on syscalls".into()),
            ));
        }
        Ok(Event { pos, time, kind })
    }

    fn time(&mut self) -> PResult<EventTime> {
        if self.eat_punct('*') {
            return Ok(EventTime::Any);
        }
        let first = self.tspec()?;
        if self.eat_punct('~') {
            return Ok(EventTime::Range(first, self.tspec()?));
        }
        if self.peek().tok == Tok::Ellipsis {
            self.i += 1;
            return Ok(EventTime::Blocking(first, self.tspec()?));
        }
        Ok(EventTime::At(first))
    }

    fn tspec(&mut self) -> PResult<TimeSpec> {
        let rel = self.eat_punct('+');
        let t = self.peek().clone();
        let text = match &t.tok {
            Tok::Int(v) if *v >= 0 => v.to_string(),
            Tok::Float(s) if !s.starts_with('-') => s.clone(),
            _ => return Err(self.expected("a time")),
        };
        self.i += 1;
        let micros = decimal_micros(&text).ok_or_else(|| {
            self.err_at(t.pos, ParseErrorKind::Invalid(format!("bad time {text:?}")))
        })?;
        Ok(if rel { TimeSpec::Relative(micros) } else { TimeSpec::Absolute(micros) })
    }

    fn packet(&mut self) -> PResult<EventKind> {
        let dir = if self.next().tok == Tok::Punct('<') {
            Direction::Inbound
        } else {
            Direction::Outbound
        };
        if self.is_word("icmp") {
            self.i += 1;
            return Ok(EventKind::Icmp(self.icmp(dir)?));
        }
        if self.is_word("udp") {
            self.i += 1;
            self.expect_punct('(')?;
            let len = self.int_in::<u32>("udp length")?;
            self.expect_punct(')')?;
            return Ok(EventKind::Udp { dir, len });
        }
        let ip = if self.is_punct('[') || self.is_punct('(') {
            self.ip_info()?
        } else {
            IpInfo::default()
        };
        let ports = if matches!(self.peek().tok, Tok::Int(_)) && *self.peek_at(1) == Tok::Punct('>')
        {
            let s = self.int_in::<u16>("source port")?;
            self.expect_punct('>')?;
            let d = self.int_in::<u16>("destination port")?;
            Some((s, d))
        } else {
            None
        };
        let flags = self.flags()?;
        let any_seq = self.peek().tok == Tok::Ellipsis;
        let (seq, len) = if any_seq {
            if dir == Direction::Inbound {
                return Err(self.err_at(
                    self.peek().pos,
                    ParseErrorKind::Invalid(
                        "'...' as a sequence number is only for outbound packets".into(),
                    ),
                ));
            }
            self.i += 1;
            self.expect_punct('(')?;
            let len = self.u32_wrapping("payload length")?;
            self.expect_punct(')')?;
            (0, len)
        } else {
            self.seq_range()?
        };
        let absolute_seq = self.is_punct('!');
        if absolute_seq {
            self.i += 1;
        }
        let mut p = PacketSpec {
            dir,
            ip,
            ports,
            flags,
            seq,
            any_seq,
            absolute_seq,
            len,
            ack: None,
            win: None,
            urg: None,
            options: OptionsSpec::Absent,
            udp_encapsulation: None,
        };
        loop {
            let pos = self.peek().pos;
            let dup = |s: &Self, what: &str| {
                s.err_at(pos, ParseErrorKind::Invalid(format!("'{what}' given twice")))
            };
            if self.is_word("ack") {
                self.i += 1;
                if p.ack.is_some() {
                    return Err(dup(self, "ack"));
                }
                p.ack = Some(self.u32_wrapping("ack number")?);
            } else if self.is_word("win") {
                self.i += 1;
                if p.win.is_some() {
                    return Err(dup(self, "win"));
                }
                p.win = Some(self.int_in::<u16>("window")?);
            } else if self.is_word("urg") {
                self.i += 1;
                if p.urg.is_some() {
                    return Err(dup(self, "urg"));
                }
                p.urg = Some(self.int_in::<u16>("urgent pointer")?);
            } else if self.is_punct('<') {
                self.i += 1;
                p.options = self.options()?;
                break;
            } else {
                break;
            }
        }
        if self.is_punct('/') && matches!(self.peek_at(1), Tok::Word(w) if w == "udp") {
            self.i += 2;
            self.expect_punct('(')?;
            let s = self.int_in::<u16>("UDP source port")?;
            self.expect_punct('>')?;
            let d = self.int_in::<u16>("UDP destination port")?;
            self.expect_punct(')')?;
            p.udp_encapsulation = Some((s, d));
        }
        if p.options == OptionsSpec::Any && dir == Direction::Inbound {
            return Err(self.err_at(
                self.toks[self.i - 1].pos,
                ParseErrorKind::Invalid("'<...>' is only allowed on outbound packets".into()),
            ));
        }
        Ok(EventKind::Packet(p))
    }

    /// A sequence-space number: 0..2^32, taken modulo 2^32.
    fn u32_wrapping(&mut self, what: &str) -> PResult<u32> {
        let pos = self.peek().pos;
        let v = self.int(what)?;
        if !(0..=u32::MAX as i64).contains(&v) {
            return Err(
                self.err_at(pos, ParseErrorKind::Invalid(format!("{what} {v} is out of range")))
            );
        }
        Ok(v as u32)
    }

    /// `START:END(LEN)`, checking END = START + LEN.
    fn seq_range(&mut self) -> PResult<(u32, u32)> {
        let pos = self.peek().pos;
        let start = self.u32_wrapping("sequence number")?;
        self.expect_punct(':')?;
        let end = self.u32_wrapping("end sequence number")?;
        self.expect_punct('(')?;
        let len = self.u32_wrapping("payload length")?;
        self.expect_punct(')')?;
        if start.wrapping_add(len) != end {
            return Err(self.err_at(
                pos,
                ParseErrorKind::Invalid(format!(
                    "inconsistent sequence range {start}:{end}({len}): end must be start + length"
                )),
            ));
        }
        Ok((start, len))
    }

    fn flags(&mut self) -> PResult<FlagSpec> {
        let t = self.peek().clone();
        let mut f = FlagSpec::default();
        let mut end = t.end;
        match &t.tok {
            Tok::Punct('-') => {
                self.i += 1;
                return Ok(f);
            }
            Tok::Punct('.') => {
                self.i += 1;
                f.ack = true;
            }
            Tok::Float(s) if s.len() == 2 && s.starts_with('.') => {
                self.i += 1;
                f.ack = true;
                f.ace = Some(s.as_bytes()[1] - b'0');
            }
            Tok::Word(w) => {
                for c in w.chars() {
                    let slot = match c {
                        'S' => &mut f.syn,
                        'F' => &mut f.fin,
                        'R' => &mut f.rst,
                        'P' => &mut f.psh,
                        'U' => &mut f.urg,
                        'E' => &mut f.ece,
                        'W' => &mut f.cwr,
                        'A' => &mut f.ae,
                        '0'..='7' if f.ace.is_none() => {
                            // packetdrill's ACE shorthand: a digit for AE, CWR, ECE.
                            f.ace = Some(c as u8 - b'0');
                            continue;
                        }
                        _ => return Err(self.expected("TCP flags (S F R P U E W A 0-7 . -)")),
                    };
                    if *slot {
                        return Err(self.err_at(
                            t.pos,
                            ParseErrorKind::Invalid(format!("flag {c} given twice")),
                        ));
                    }
                    *slot = true;
                }
                self.i += 1;
            }
            _ => return Err(self.expected("TCP flags (S F R P U E W A 0-7 . -)")),
        }
        // A dot glued to the letters is ACK; a digit glued to the dot is the AccECN ACE value.
        if !f.ack {
            let n = self.peek().clone();
            if n.start == end {
                match &n.tok {
                    Tok::Punct('.') => {
                        self.i += 1;
                        f.ack = true;
                        end = n.end;
                    }
                    Tok::Float(s) if s.len() == 2 && s.starts_with('.') => {
                        self.i += 1;
                        f.ack = true;
                        f.ace = Some(s.as_bytes()[1] - b'0');
                        end = n.end;
                    }
                    _ => {}
                }
            }
        }
        let n = self.peek();
        if f.ack
            && f.ace.is_none()
            && n.start == end
            && let Tok::Int(v @ 0..=7) = n.tok
        {
            f.ace = Some(v as u8);
            self.i += 1;
        }
        Ok(f)
    }

    fn ip_info(&mut self) -> PResult<IpInfo> {
        let close = if self.next().tok == Tok::Punct('[') { ']' } else { ')' };
        let mut ip = IpInfo::default();
        loop {
            if self.eat_punct(close) {
                return Ok(ip);
            }
            if self.eat_punct(',') {
                continue;
            }
            let t = self.next();
            let Tok::Word(w) = &t.tok else {
                self.i -= 1;
                return Err(self
                    .expected("ect0, ect1, ect01, noecn, ce, tos, class, ttl, hlim or flowlabel"));
            };
            match w.as_str() {
                "ect0" => ip.ecn = Some(Ecn::Ect0),
                "ect1" => ip.ecn = Some(Ecn::Ect1),
                "ect01" => ip.ecn = Some(Ecn::Ect01),
                "noecn" => ip.ecn = Some(Ecn::NoEcn),
                "ce" => ip.ecn = Some(Ecn::Ce),
                // IPv6's traffic class and hop limit (FreeBSD's packetdrill) are the TOS and
                // TTL fields of IPv4.
                "tos" | "class" => ip.tos = Some(self.int_in::<u8>("tos")?),
                "ttl" | "hlim" => ip.ttl = Some(self.int_in::<u8>("ttl")?),
                "flowlabel" => ip.flowlabel = Some(self.int_in::<u32>("flowlabel")?),
                _ => {
                    self.i -= 1;
                    return Err(self.expected(
                        "ect0, ect1, ect01, noecn, ce, tos, class, ttl, hlim or flowlabel",
                    ));
                }
            }
        }
    }

    fn options(&mut self) -> PResult<OptionsSpec> {
        if self.peek().tok == Tok::Ellipsis {
            self.i += 1;
            self.expect_punct('>')?;
            return Ok(OptionsSpec::Any);
        }
        let mut list = Vec::new();
        loop {
            list.push(self.one_option()?);
            if self.eat_punct(',') {
                continue;
            }
            self.expect_punct('>')?;
            return Ok(OptionsSpec::List(list));
        }
    }

    fn one_option(&mut self) -> PResult<OptSpec> {
        let t = self.peek().clone();
        let Tok::Word(w) = &t.tok else {
            return Err(self.expected("a TCP option"));
        };
        self.i += 1;
        Ok(match w.as_str() {
            "nop" => OptSpec::Nop,
            "eol" => OptSpec::Eol,
            "sackOK" => OptSpec::SackOk,
            "mss" => OptSpec::Mss(self.int_in::<u16>("mss")?),
            "wscale" => OptSpec::WScale(self.int_in::<u8>("wscale")?),
            "sack" => {
                let mut blocks = Vec::new();
                while matches!(self.peek().tok, Tok::Int(_)) {
                    let l = self.u32_wrapping("sack block start")?;
                    self.expect_punct(':')?;
                    let r = self.u32_wrapping("sack block end")?;
                    blocks.push((l, r));
                }
                if blocks.is_empty() {
                    return Err(self.expected("a SACK block a:b"));
                }
                if blocks.len() > 4 {
                    return Err(self
                        .err_at(t.pos, ParseErrorKind::Invalid("more than 4 SACK blocks".into())));
                }
                OptSpec::Sack(blocks)
            }
            "TS" => {
                if !self.is_word("val") {
                    return Err(self.expected("'val'"));
                }
                self.i += 1;
                let val = self.u32_wrapping("TSval")?;
                if !self.is_word("ecr") {
                    return Err(self.expected("'ecr'"));
                }
                self.i += 1;
                let ecr = self.u32_wrapping("TSecr")?;
                OptSpec::Timestamp { val, ecr }
            }
            "md5" => OptSpec::Md5(self.raw_until_option_end()),
            "FO" => {
                let text = self.raw_until_option_end();
                OptSpec::FastOpen(self.hex_bytes(&text, t.pos)?)
            }
            "FOEXP" => {
                let text = self.raw_until_option_end();
                OptSpec::FastOpenExp(self.hex_bytes(&text, t.pos)?)
            }
            "ECN" => {
                let text = self.raw_until_option_end();
                let o = accecn_fields(&text).map_err(|m| {
                    self.err_at(t.pos, ParseErrorKind::Invalid(format!("AccECN option: {m}")))
                })?;
                OptSpec::AccEcn(o)
            }
            _ => {
                return Err(self.err_at(
                    t.pos,
                    ParseErrorKind::Expected {
                        expected:
                            "a TCP option (mss, wscale, sackOK, sack, TS, nop, eol, md5, FO, FOEXP, ECN)"
                                .into(),
                        found: t.tok.describe(),
                    },
                ));
            }
        })
    }

    /// The source text of the tokens up to the next `,` or `>` (an option's free-form value).
    fn raw_until_option_end(&mut self) -> String {
        let from = self.peek().start;
        let mut to = from;
        while !matches!(self.peek().tok, Tok::Punct(',') | Tok::Punct('>') | Tok::Eof) {
            to = self.next().end;
        }
        self.src[from..to].trim().to_string()
    }

    fn hex_bytes(&self, text: &str, pos: Pos) -> PResult<Vec<u8>> {
        let text = self.defines.get(text).map_or(text, String::as_str);
        let t = text.trim_start_matches("0x");
        if !t.len().is_multiple_of(2) || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(
                self.err_at(pos, ParseErrorKind::Invalid(format!("bad hex cookie {text:?}")))
            );
        }
        Ok((0..t.len() / 2)
            .map(|i| u8::from_str_radix(&t[2 * i..2 * i + 2], 16).unwrap_or(0))
            .collect())
    }

    fn icmp(&mut self, dir: Direction) -> PResult<IcmpSpec> {
        let Tok::Word(icmp_type) = self.peek().tok.clone() else {
            return Err(self.expected("an ICMP type"));
        };
        self.i += 1;
        let mut spec =
            IcmpSpec { dir, icmp_type, code: None, mtu: None, echoed: None, echoed_udp: None };
        if let Tok::Word(c) = self.peek().tok.clone()
            && c != "mtu"
        {
            self.i += 1;
            spec.code = Some(c);
        }
        if self.is_word("mtu") {
            self.i += 1;
            spec.mtu = Some(self.int_in::<u32>("mtu")?);
        }
        if self.eat_punct('[') {
            let (s, len) = self.seq_range()?;
            if self.is_punct('/') && matches!(self.peek_at(1), Tok::Word(w) if w == "udp") {
                self.i += 2;
                self.expect_punct('(')?;
                let sp = self.int_in::<u16>("UDP source port")?;
                self.expect_punct('>')?;
                let dp = self.int_in::<u16>("UDP destination port")?;
                self.expect_punct(')')?;
                spec.echoed_udp = Some((sp, dp));
            }
            self.expect_punct(']')?;
            spec.echoed = Some((s, len));
        }
        Ok(spec)
    }

    fn syscall(&mut self) -> PResult<Syscall> {
        let Tok::Word(name) = self.next().tok else {
            return Err(self.expected("a syscall name"));
        };
        self.expect_punct('(')?;
        let args = self.expr_list(')')?;
        self.expect_punct('=')?;
        let value = self.expr()?;
        let errno = match &self.peek().tok {
            Tok::Word(w) => {
                let w = w.clone();
                self.i += 1;
                Some(w)
            }
            _ => None,
        };
        let note = if self.is_punct('(') { Some(self.note()?) } else { None };
        Ok(Syscall { name, args, result: SyscallResult { value, errno, note } })
    }

    /// `( free text )` after a result, copied verbatim; parentheses may nest.
    fn note(&mut self) -> PResult<String> {
        let open = self.next();
        let mut depth = 1;
        loop {
            let t = self.next();
            match t.tok {
                Tok::Punct('(') => depth += 1,
                Tok::Punct(')') => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(self.src[open.end..t.start].trim().to_string());
                    }
                }
                Tok::Eof => {
                    return Err(self.err_at(open.pos, ParseErrorKind::Unterminated("'(' note")));
                }
                _ => {}
            }
        }
    }

    /// Expressions separated by commas, up to (and eating) `close`.
    fn expr_list(&mut self, close: char) -> PResult<Vec<Expr>> {
        let mut out = Vec::new();
        if self.eat_punct(close) {
            return Ok(out);
        }
        loop {
            out.push(self.expr()?);
            if self.eat_punct(',') {
                continue;
            }
            self.expect_punct(close)?;
            return Ok(out);
        }
    }

    fn expr(&mut self) -> PResult<Expr> {
        let first = self.primary()?;
        if !self.is_punct('|') {
            return Ok(first);
        }
        let mut parts = vec![first];
        while self.eat_punct('|') {
            parts.push(self.primary()?);
        }
        Ok(Expr::BitOr(parts))
    }

    fn primary(&mut self) -> PResult<Expr> {
        let t = self.peek().clone();
        match t.tok {
            Tok::Int(v) => {
                self.i += 1;
                Ok(Expr::Int(v))
            }
            Tok::Ellipsis => {
                self.i += 1;
                Ok(Expr::Ellipsis)
            }
            Tok::Str(s) => {
                self.i += 1;
                Ok(Expr::Str(s))
            }
            Tok::Ipv4(a) => {
                self.i += 1;
                Ok(Expr::Ipv4(a))
            }
            Tok::Punct('[') => {
                self.i += 1;
                Ok(Expr::List(self.expr_list(']')?))
            }
            Tok::Punct('{') => {
                self.i += 1;
                let mut fields = Vec::new();
                if self.eat_punct('}') {
                    return Ok(Expr::Struct(fields));
                }
                loop {
                    let name = match (&self.peek().tok, self.peek_at(1)) {
                        (Tok::Word(w), Tok::Punct('=')) => {
                            let w = w.clone();
                            self.i += 2;
                            Some(w)
                        }
                        // `msg_name(...)=...`, `msg_iov(2)=[...]`: a field with its length.
                        (Tok::Word(w), Tok::Punct('('))
                            if matches!(self.peek_at(2), Tok::Ellipsis | Tok::Int(_))
                                && self.peek_at(3) == &Tok::Punct(')')
                                && self.peek_at(4) == &Tok::Punct('=') =>
                        {
                            let len = match self.peek_at(2) {
                                Tok::Int(n) => n.to_string(),
                                _ => "...".into(),
                            };
                            let w = format!("{w}({len})");
                            self.i += 5;
                            Some(w)
                        }
                        _ => None,
                    };
                    fields.push((name, self.expr()?));
                    if self.eat_punct(',') {
                        continue;
                    }
                    self.expect_punct('}')?;
                    return Ok(Expr::Struct(fields));
                }
            }
            Tok::Word(w) => {
                self.i += 1;
                if self.is_punct('(') {
                    self.i += 1;
                    let args = self.expr_list(')')?;
                    Ok(Expr::Call(w, args))
                } else {
                    Ok(Expr::Symbol(w))
                }
            }
            _ => Err(self.expected("an argument")),
        }
    }
}

/// `1`, `.1`, `0.200` as whole microseconds; `None` when finer than a microsecond or too large.
fn decimal_micros(text: &str) -> Option<i64> {
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i, f),
        None => (text, ""),
    };
    if frac.len() > 6 {
        // Only zeros may follow the sixth decimal.
        if !frac[6..].bytes().all(|b| b == b'0') {
            return None;
        }
    }
    let frac6: String = frac.chars().chain(std::iter::repeat('0')).take(6).collect();
    let whole: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    whole.checked_mul(1_000_000)?.checked_add(frac6.parse::<i64>().ok()?)
}

#[cfg(test)]
mod tests;

/// The fields of `ECN e0b N ceb N e1b N` (order 0, kind 172) or `ECN e1b N ceb N e1b N`
/// (order 1, kind 174), as packetdrill reads them: the first field names the order, the others
/// follow it; values are 24-bit.
fn accecn_fields(text: &str) -> Result<synack_wire::tcp::AccEcnOption, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    if !words.len().is_multiple_of(2) || words.len() > 6 {
        return Err(format!("expected up to three 'name value' fields, found {text:?}"));
    }
    let order1 = words.first() == Some(&"e1b");
    let names: [&str; 3] = if order1 { ["e1b", "ceb", "e0b"] } else { ["e0b", "ceb", "e1b"] };
    let mut v = [0u32; 3];
    for (i, pair) in words.chunks(2).enumerate() {
        if pair[0] != names[i] {
            return Err(format!("field {} must be {}, found {:?}", i + 1, names[i], pair[0]));
        }
        v[i] =
            pair[1].parse::<u32>().ok().filter(|&x| x <= 0xff_ffff).ok_or_else(|| {
                format!("{} value {:?} is not a 24-bit number", names[i], pair[1])
            })?;
    }
    let n = (words.len() / 2) as u8;
    Ok(if order1 {
        synack_wire::tcp::AccEcnOption::order1(v[0], v[1], v[2], n)
    } else {
        synack_wire::tcp::AccEcnOption::order0(v[0], v[1], v[2], n)
    })
}
