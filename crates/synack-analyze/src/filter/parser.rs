//! Recursive-descent parser from tokens to the expression tree.

use super::FilterError;
use super::lexer::{Tok, Token};
use core::net::IpAddr;
use std::sync::Arc;

/// How deeply parentheses, brackets, `not`/`!` and unary minus may nest. The parser recurses
/// once per level (and evaluation once per tree level), so the limit keeps the stack bounded
/// for any input; written filters nest a handful of levels.
pub(crate) const MAX_NESTING: usize = 100;

/// A parse error before it is tied to the expression text: a token span and a message.
/// Cheap to make and to clone, which the memo of arithmetic parses relies on.
#[derive(Clone, Debug)]
pub(crate) struct Fail {
    start: usize,
    end: usize,
    message: String,
}

impl Fail {
    fn into_error(self, src: &str) -> FilterError {
        FilterError::at(src, self.start, self.end, self.message)
    }
}

/// What `parse_arith` gave from one token position: the expression and the position after it,
/// or the error. A parse from a position depends only on the tokens, so it is done once.
type ArithParse = Result<(Arith, usize), Fail>;

/// Direction qualifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dir {
    Src,
    Dst,
    /// `src or dst` (the default).
    Either,
    /// `src and dst`.
    Both,
}

/// Protocol qualifier / protocol primitive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Proto {
    Ether,
    Ip,
    Ip6,
    Arp,
    Tcp,
    Udp,
    Icmp,
    Icmp6,
}

/// A leaf of the expression tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Prim {
    Proto(Proto),
    Host {
        proto: Option<Proto>,
        dir: Dir,
        addr: IpAddr,
    },
    Net {
        proto: Option<Proto>,
        dir: Dir,
        addr: IpAddr,
        prefix: u8,
    },
    Port {
        proto: Option<Proto>,
        dir: Dir,
        lo: u16,
        hi: u16,
    },
    /// `ip proto N`, `ip6 proto N`, `proto N` (either).
    IpProto {
        proto: Option<Proto>,
        num: u8,
    },
    /// `vlan [ID]`: an 802.1Q/802.1ad tag at this depth (earlier `vlan`s in the expression).
    Vlan {
        id: Option<u16>,
    },
    /// `ether proto N`: the EtherType at this depth.
    EtherProto(u16),
}

/// Arithmetic expression (32-bit unsigned, as in BPF). Subtrees are shared (`Arc`) so that a
/// memoised parse is handed out again without copying it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Arith {
    Num(u32),
    Len,
    Load { proto: Proto, offset: Arc<Arith>, size: u8 },
    Bin(&'static str, Arc<Arith>, Arc<Arith>),
    Neg(Arc<Arith>),
}

/// Expression tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Rel(Arith, &'static str, Arith),
    Prim(Prim),
    /// What follows `vlan` in the expression looks `depth` tags further in, as in libpcap,
    /// where each `vlan` moves the offsets of everything written after it.
    Depth(u8, Box<Expr>),
}

#[derive(Clone, Copy, Debug, Default)]
struct Quals {
    proto: Option<Proto>,
    dir: Option<Dir>,
    kind: Option<&'static str>,
}

pub(crate) struct Parser<'s> {
    src: &'s str,
    toks: Vec<Token>,
    pos: usize,
    last: Quals,
    /// `vlan` keywords seen so far.
    vlan: u8,
    /// `parse_arith` results by starting token position. A `(` may open an arithmetic
    /// expression or a grouped filter, which the parser only knows after the matching `)`
    /// (`(tcp[13] & 2) != 0` against `(tcp or udp)`): it tries arithmetic and falls back.
    /// Without the memo every nested `(` would parse everything inside it again, quadratic
    /// in the nesting depth; with it each position is parsed as arithmetic at most once.
    arith_memo: Vec<Option<ArithParse>>,
    /// Current nesting (parentheses, brackets, `not`, unary minus).
    depth: usize,
    /// The first place the nesting went past `MAX_NESTING`; once set, the parse fails with it
    /// whatever a backtracking caller does with the error it returned.
    too_deep: Option<Fail>,
    /// Parse steps taken (calls of the parsing functions), for the test that the work grows
    /// linearly with the input.
    steps: u64,
}

fn proto_word(w: &str) -> Option<Proto> {
    Some(match w {
        "ether" => Proto::Ether,
        "ip" => Proto::Ip,
        "ip6" => Proto::Ip6,
        "arp" => Proto::Arp,
        "tcp" => Proto::Tcp,
        "udp" => Proto::Udp,
        "icmp" => Proto::Icmp,
        "icmp6" => Proto::Icmp6,
        _ => return None,
    })
}

/// Named constants usable in arithmetic (pcap-filter(7)).
fn named_const(w: &str) -> Option<u32> {
    Some(match w {
        "tcpflags" => 13,
        "tcp-fin" => 0x01,
        "tcp-syn" => 0x02,
        "tcp-rst" => 0x04,
        "tcp-push" => 0x08,
        "tcp-ack" => 0x10,
        "tcp-urg" => 0x20,
        "tcp-ece" => 0x40,
        "tcp-cwr" => 0x80,
        "icmptype" => 0,
        "icmpcode" => 1,
        "icmp-echoreply" => 0,
        "icmp-unreach" => 3,
        "icmp-sourcequench" => 4,
        "icmp-redirect" => 5,
        "icmp-echo" => 8,
        "icmp-routeradvert" => 9,
        "icmp-routersolicit" => 10,
        "icmp-timxceed" => 11,
        "icmp-paramprob" => 12,
        "icmp-tstamp" => 13,
        "icmp-tstampreply" => 14,
        "icmp-ireq" => 15,
        "icmp-ireqreply" => 16,
        "icmp-maskreq" => 17,
        "icmp-maskreply" => 18,
        "icmp6type" => 0,
        "icmp6code" => 1,
        _ => return None,
    })
}

const KEYWORDS: [&str; 20] = [
    "vlan",
    "and",
    "or",
    "not",
    "host",
    "net",
    "port",
    "portrange",
    "src",
    "dst",
    "proto",
    "len",
    "greater",
    "less",
    "mask",
    "ether",
    "ip",
    "ip6",
    "tcp",
    "udp",
];

fn is_relop(t: &Tok) -> Option<&'static str> {
    match t {
        Tok::Op(o @ ("<" | ">" | "<=" | ">=" | "=" | "==" | "!=")) => Some(o),
        _ => None,
    }
}

impl<'s> Parser<'s> {
    pub(crate) fn new(src: &'s str, toks: Vec<Token>) -> Self {
        let arith_memo = vec![None; toks.len() + 1];
        Parser {
            src,
            toks,
            pos: 0,
            last: Quals::default(),
            vlan: 0,
            arith_memo,
            depth: 0,
            too_deep: None,
            steps: 0,
        }
    }

    /// Parse steps taken so far.
    #[cfg(test)]
    pub(crate) fn steps(&self) -> u64 {
        self.steps
    }

    /// Runs `f` one nesting level deeper, or fails when that would pass `MAX_NESTING`.
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T, Fail>) -> Result<T, Fail> {
        if let Some(e) = &self.too_deep {
            return Err(e.clone());
        }
        if self.depth >= MAX_NESTING {
            let e = self.err_here("expression nested too deeply");
            self.too_deep.get_or_insert_with(|| e.clone());
            return Err(e);
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }
    fn peek_at(&self, k: usize) -> Option<&Tok> {
        self.toks.get(self.pos + k).map(|t| &t.tok)
    }
    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x == w)
    }
    fn is_op(&self, o: &str) -> bool {
        matches!(self.peek(), Some(Tok::Op(x)) if *x == o)
    }

    fn err_here(&self, msg: &str) -> Fail {
        match self.toks.get(self.pos) {
            Some(t) => Fail { start: t.start, end: t.end, message: msg.to_string() },
            None => {
                let n = self.src.trim_end().len();
                Fail { start: n, end: n + 1, message: format!("{msg} (expression ends here)") }
            }
        }
    }

    pub(crate) fn parse_all(&mut self) -> Result<Expr, FilterError> {
        let mut r = self.parse_expr();
        if r.is_ok() && self.pos < self.toks.len() {
            r = Err(self.err_here("unexpected token"));
        }
        if let Some(deep) = self.too_deep.take() {
            r = Err(deep);
        }
        r.map_err(|e| e.into_error(self.src))
    }

    /// `and`/`or` with equal precedence, left-associative.
    fn parse_expr(&mut self) -> Result<Expr, Fail> {
        self.steps += 1;
        let mut lhs = self.parse_unary()?;
        loop {
            let is_and = self.is_word("and") || self.is_op("&&");
            let is_or = self.is_word("or") || self.is_op("||");
            if !is_and && !is_or {
                break;
            }
            self.pos += 1;
            let rhs = if self.starts_bare_id() {
                let q = self.last;
                self.parse_id(q)?
            } else {
                self.parse_unary()?
            };
            lhs = if is_and {
                Expr::And(Box::new(lhs), Box::new(rhs))
            } else {
                Expr::Or(Box::new(lhs), Box::new(rhs))
            };
        }
        Ok(lhs)
    }

    /// A bare address or number after `and`/`or` continues the previous qualifiers
    /// (`host 10.0.0.1 or 10.0.0.2`, `port 80 or 443`).
    fn starts_bare_id(&self) -> bool {
        if self.last.kind.is_none() && self.last.dir.is_none() {
            return false;
        }
        match self.peek() {
            Some(Tok::V4(_) | Tok::V6(_)) => true,
            Some(Tok::Num(_)) => {
                !matches!(self.peek_at(1), Some(t) if is_relop(t).is_some() || matches!(t, Tok::Op(o) if "+-*/%&|^<<>>".contains(o)))
            }
            _ => false,
        }
    }

    fn parse_unary(&mut self) -> Result<Expr, Fail> {
        self.steps += 1;
        if self.is_word("not") || self.is_op("!") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.nested(Self::parse_unary)?)));
        }
        self.parse_primary()
    }

    fn parse_primary(&mut self) -> Result<Expr, Fail> {
        let depth = self.vlan;
        let e = self.parse_primary_here()?;
        Ok(if depth > 0 && !matches!(e, Expr::Depth(..)) {
            Expr::Depth(depth, Box::new(e))
        } else {
            e
        })
    }

    fn parse_primary_here(&mut self) -> Result<Expr, Fail> {
        self.steps += 1;
        if self.is_word("vlan") {
            self.pos += 1;
            let id = match self.peek() {
                Some(Tok::Num(n)) if *n < 4096 => {
                    let n = *n as u16;
                    self.pos += 1;
                    Some(n)
                }
                Some(Tok::Num(_)) => return Err(self.err_here("a VLAN id is 0..4095")),
                _ => None,
            };
            let depth = self.vlan;
            self.vlan = self.vlan.saturating_add(1);
            return Ok(Expr::Depth(depth, Box::new(Expr::Prim(Prim::Vlan { id }))));
        }
        if self.is_word("ether") && matches!(self.peek_at(1), Some(Tok::Word(w)) if w == "proto") {
            self.pos += 2;
            let num = match self.peek() {
                Some(Tok::Num(n)) if *n <= 0xffff => *n as u16,
                // As in libpcap, protocol names are keywords here (`ether proto ip` is a syntax
                // error there too): write the number.
                _ => return Err(self.err_here("expected an EtherType number (0x0800 for IPv4)")),
            };
            self.pos += 1;
            return Ok(Expr::Prim(Prim::EtherProto(num)));
        }
        // An arithmetic relation? A '(' may open either one or a grouped expression, so try
        // arithmetic first there and fall back.
        let save = self.pos;
        if self.could_start_arith() {
            if self.is_op("(") {
                if let Ok(lhs) = self.parse_arith()
                    && let Some(op) = self.peek().and_then(is_relop)
                {
                    self.pos += 1;
                    let rhs = self.parse_arith()?;
                    return Ok(Expr::Rel(lhs, op, rhs));
                }
                self.pos = save;
            } else {
                let lhs = self.parse_arith()?;
                let Some(op) = self.peek().and_then(is_relop) else {
                    return Err(
                        self.err_here("expected a comparison operator (==, !=, <, >, <=, >=)")
                    );
                };
                self.pos += 1;
                let rhs = self.parse_arith()?;
                return Ok(Expr::Rel(lhs, op, rhs));
            }
        }
        if self.is_op("(") {
            self.pos += 1;
            let e = self.nested(Self::parse_expr)?;
            if !self.is_op(")") {
                return Err(self.err_here("expected ')'"));
            }
            self.pos += 1;
            return Ok(e);
        }
        self.parse_primitive()
    }

    fn could_start_arith(&self) -> bool {
        match self.peek() {
            Some(Tok::Op("(")) | Some(Tok::Op("-")) | Some(Tok::Num(_)) => true,
            Some(Tok::Word(w)) if w == "len" => true,
            Some(Tok::Word(w)) if proto_word(w).is_some() => {
                matches!(self.peek_at(1), Some(Tok::Op("[")))
            }
            _ => false,
        }
    }

    fn parse_primitive(&mut self) -> Result<Expr, Fail> {
        if self.is_word("greater") || self.is_word("less") {
            let op = if self.is_word("greater") { ">=" } else { "<=" };
            self.pos += 1;
            let n = self.parse_arith()?;
            return Ok(Expr::Rel(Arith::Len, op, n));
        }
        let mut q = Quals::default();
        if let Some(Tok::Word(w)) = self.peek()
            && let Some(p) = proto_word(w)
        {
            q.proto = Some(p);
            self.pos += 1;
        }
        if self.is_word("src") || self.is_word("dst") {
            let first = if self.is_word("src") { Dir::Src } else { Dir::Dst };
            self.pos += 1;
            let mut dir = first;
            let other = if first == Dir::Src { "dst" } else { "src" };
            if (self.is_word("or") || self.is_word("and"))
                && matches!(self.peek_at(1), Some(Tok::Word(w)) if w == other)
            {
                dir = if self.is_word("or") { Dir::Either } else { Dir::Both };
                self.pos += 2;
            }
            q.dir = Some(dir);
        }
        for k in ["host", "net", "port", "portrange", "proto"] {
            if self.is_word(k) {
                q.kind = Some(k);
                self.pos += 1;
                break;
            }
        }
        if q.dir.is_none() && q.kind.is_none() {
            return match q.proto {
                Some(p) => Ok(Expr::Prim(Prim::Proto(p))),
                None => Err(self.err_here(match self.peek() {
                    Some(Tok::Word(w)) if !KEYWORDS.contains(&w.as_str()) => {
                        "unknown keyword (host names are not resolved; use an address)"
                    }
                    Some(_) => "expected a primitive (host, net, port, tcp, ...)",
                    None => "expression is incomplete",
                })),
            };
        }
        self.parse_id(q)
    }

    /// The value after qualifiers: an address, network, port or protocol number.
    fn parse_id(&mut self, q: Quals) -> Result<Expr, Fail> {
        self.last = q;
        let dir = q.dir.unwrap_or(Dir::Either);
        let kind = q.kind.unwrap_or("host");
        if let Some(p) = q.proto {
            let ok = match kind {
                "host" | "net" => matches!(p, Proto::Ip | Proto::Ip6 | Proto::Arp),
                "port" | "portrange" => matches!(p, Proto::Tcp | Proto::Udp),
                "proto" => matches!(p, Proto::Ip | Proto::Ip6),
                _ => true,
            };
            if !ok {
                let i = self.pos.saturating_sub(if q.dir.is_some() { 3 } else { 2 }).min(self.pos);
                let t = &self.toks[i.min(self.toks.len() - 1)];
                return Err(Fail {
                    start: t.start,
                    end: t.end,
                    message: format!("'{kind}' does not apply to this protocol"),
                });
            }
        }
        let tok = self.toks.get(self.pos).cloned();
        let Some(tok) = tok else {
            return Err(self.err_here(&format!("expected a value after '{kind}'")));
        };
        match kind {
            "port" | "portrange" => {
                let lo = self.port_num()?;
                let hi = if kind == "portrange" {
                    if !self.is_op("-") {
                        return Err(self.err_here("expected '-' in port range"));
                    }
                    self.pos += 1;
                    self.port_num()?
                } else {
                    lo
                };
                let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
                Ok(Expr::Prim(Prim::Port { proto: q.proto, dir, lo, hi }))
            }
            "proto" => {
                let num = match &tok.tok {
                    Tok::Num(n) if *n < 256 => *n as u8,
                    Tok::Word(w) => match w.as_str() {
                        "tcp" => 6,
                        "udp" => 17,
                        "icmp" => 1,
                        "icmp6" => 58,
                        _ => return Err(self.err_here("unknown protocol name")),
                    },
                    _ => return Err(self.err_here("expected a protocol number 0..255")),
                };
                self.pos += 1;
                Ok(Expr::Prim(Prim::IpProto { proto: q.proto, num }))
            }
            _ => {
                let (addr, full_len) = match &tok.tok {
                    Tok::V4(s) => parse_v4_partial(s)
                        .map(|(a, n)| (IpAddr::V4(a), n))
                        .ok_or_else(|| self.err_here("not an IPv4 address"))?,
                    Tok::V6(s) => s
                        .parse()
                        .map(|a| (IpAddr::V6(a), 128))
                        .map_err(|_| self.err_here("not an IPv6 address"))?,
                    Tok::Num(n) if kind == "net" => (IpAddr::V4((*n << 24).into()), 8),
                    Tok::Word(_) => {
                        return Err(self.err_here("host names are not resolved; use an address"));
                    }
                    _ => return Err(self.err_here("expected an address")),
                };
                let addr_pos = self.pos;
                self.pos += 1;
                if q.proto == Some(Proto::Ip6) && addr.is_ipv4()
                    || matches!(q.proto, Some(Proto::Ip | Proto::Arp)) && addr.is_ipv6()
                {
                    self.pos -= 1;
                    return Err(self.err_here("address family does not match the protocol"));
                }
                let max = if addr.is_ipv4() { 32 } else { 128 };
                let mut prefix = None;
                if self.is_op("/") {
                    self.pos += 1;
                    match self.peek() {
                        Some(Tok::Num(n)) if *n <= max => prefix = Some(*n as u8),
                        _ => return Err(self.err_here("expected a prefix length")),
                    }
                    self.pos += 1;
                } else if self.is_word("mask") {
                    self.pos += 1;
                    let m = match self.peek() {
                        Some(Tok::V4(s)) => s.parse::<core::net::Ipv4Addr>().ok(),
                        _ => None,
                    };
                    let Some(m) = m.filter(|_| addr.is_ipv4()) else {
                        return Err(self.err_here("expected an IPv4 netmask"));
                    };
                    let bits = u32::from(m);
                    if bits.leading_ones() + bits.trailing_zeros() != 32 {
                        return Err(self.err_here("netmask is not contiguous"));
                    }
                    prefix = Some(bits.leading_ones() as u8);
                    self.pos += 1;
                }
                if kind == "host" {
                    if prefix.is_some() || u32::from(full_len) != max {
                        self.pos = addr_pos;
                        return Err(
                            self.err_here("a host needs a full address (use 'net' for a prefix)")
                        );
                    }
                    Ok(Expr::Prim(Prim::Host { proto: q.proto, dir, addr }))
                } else {
                    let prefix = prefix.unwrap_or(full_len);
                    if let IpAddr::V4(a) = addr {
                        let m = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
                        if u32::from(a) & !m != 0 {
                            self.pos = addr_pos;
                            return Err(self.err_here("non-network bits set in the address"));
                        }
                    }
                    Ok(Expr::Prim(Prim::Net { proto: q.proto, dir, addr, prefix }))
                }
            }
        }
    }

    fn port_num(&mut self) -> Result<u16, Fail> {
        match self.peek() {
            Some(Tok::Num(n)) if *n <= 65535 => {
                let n = *n as u16;
                self.pos += 1;
                Ok(n)
            }
            Some(Tok::Num(_)) => Err(self.err_here("port number out of range")),
            Some(Tok::Word(w)) => {
                let n = match w.as_str() {
                    "http" => 80,
                    "https" => 443,
                    "ssh" => 22,
                    "domain" => 53,
                    "ftp" => 21,
                    "telnet" => 23,
                    "smtp" => 25,
                    _ => return Err(self.err_here("unknown port name")),
                };
                self.pos += 1;
                Ok(n)
            }
            _ => Err(self.err_here("expected a port number")),
        }
    }

    // ---- arithmetic: precedence | ^ < & < shifts < + - < * / % < unary

    /// An arithmetic expression from the current position, parsed once per position (see
    /// `arith_memo`).
    fn parse_arith(&mut self) -> Result<Arith, Fail> {
        self.steps += 1;
        let at = self.pos;
        if let Some(done) = &self.arith_memo[at] {
            return done.clone().map(|(a, end)| {
                self.pos = end;
                a
            });
        }
        let r = self.arith_level(0);
        // A parse cut short by the nesting limit is not a property of the tokens alone; the
        // whole parse fails with `too_deep` anyway, so it is simply not remembered.
        if self.too_deep.is_none() {
            self.arith_memo[at] = Some(r.clone().map(|a| (a, self.pos)));
        }
        r
    }

    fn arith_level(&mut self, level: usize) -> Result<Arith, Fail> {
        self.steps += 1;
        const LEVELS: [&[&str]; 5] =
            [&["|", "^"], &["&"], &["<<", ">>"], &["+", "-"], &["*", "/", "%"]];
        if level == LEVELS.len() {
            return self.arith_atom();
        }
        let mut lhs = self.arith_level(level + 1)?;
        while let Some(Tok::Op(o)) = self.peek() {
            let Some(op) = LEVELS[level].iter().find(|x| *x == o) else { break };
            let op: &'static str = op;
            let at = self.pos;
            self.pos += 1;
            let rhs = self.arith_level(level + 1)?;
            if matches!(op, "/" | "%") && rhs == Arith::Num(0) {
                self.pos = at;
                return Err(self.err_here("division by zero"));
            }
            lhs = Arith::Bin(op, Arc::new(lhs), Arc::new(rhs));
        }
        Ok(lhs)
    }

    fn arith_atom(&mut self) -> Result<Arith, Fail> {
        self.steps += 1;
        let Some(tok) = self.peek().cloned() else {
            return Err(self.err_here("expected a number or expression"));
        };
        match tok {
            Tok::Num(n) => {
                self.pos += 1;
                Ok(Arith::Num(n))
            }
            Tok::Op("-") => {
                self.pos += 1;
                Ok(Arith::Neg(Arc::new(self.nested(Self::arith_atom)?)))
            }
            Tok::Op("(") => {
                self.pos += 1;
                let a = self.nested(Self::parse_arith)?;
                if !self.is_op(")") {
                    return Err(self.err_here("expected ')'"));
                }
                self.pos += 1;
                Ok(a)
            }
            Tok::Word(w) if w == "len" => {
                self.pos += 1;
                Ok(Arith::Len)
            }
            Tok::Word(w) => {
                if let Some(p) = proto_word(&w) {
                    if matches!(self.peek_at(1), Some(Tok::Op("["))) {
                        if matches!(p, Proto::Icmp6) {
                            return Err(self.err_here("icmp6[] is not supported"));
                        }
                        self.pos += 2;
                        let offset = self.nested(Self::parse_arith)?;
                        let mut size = 1;
                        if self.is_op(":") {
                            self.pos += 1;
                            size = match self.peek() {
                                Some(Tok::Num(n @ (1 | 2 | 4))) => *n as u8,
                                _ => return Err(self.err_here("size must be 1, 2 or 4")),
                            };
                            self.pos += 1;
                        }
                        if !self.is_op("]") {
                            return Err(self.err_here("expected ']'"));
                        }
                        self.pos += 1;
                        return Ok(Arith::Load { proto: p, offset: Arc::new(offset), size });
                    }
                    return Err(self.err_here("expected '[' after protocol in an expression"));
                }
                match named_const(&w) {
                    Some(n) => {
                        self.pos += 1;
                        Ok(Arith::Num(n))
                    }
                    None => Err(self.err_here("unknown name in expression")),
                }
            }
            _ => Err(self.err_here("expected a number or expression")),
        }
    }
}

/// Parses a possibly partial dotted quad (`10`, `10.1`, `10.1.2`, `10.1.2.3`), returning the
/// address (missing bytes zero) and the number of bits given.
fn parse_v4_partial(s: &str) -> Option<(core::net::Ipv4Addr, u8)> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut b = [0u8; 4];
    for (i, p) in parts.iter().enumerate() {
        b[i] = p.parse().ok()?;
    }
    Some((b.into(), (parts.len() * 8) as u8))
}
