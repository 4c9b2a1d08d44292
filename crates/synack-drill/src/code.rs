//! `%{ }%` blocks: the simple `assert tcpi_x == N` lines the suites use, evaluated against a
//! `TCP_INFO`-style snapshot of the engine, and integer variables (`cwnd = 58`, `cwnd += 1`)
//! that later asserts compare with. packetdrill runs every block of a script in one Python
//! interpreter, so a variable set in one block is seen by the blocks after it. Anything else
//! in a block (Python we cannot run) makes the script unsupported rather than silently passing.

use std::collections::BTreeMap;
use std::fmt;

/// A snapshot of connection statistics, by `tcpi_*` name.
pub type TcpInfo = BTreeMap<String, i64>;

/// Comparison operators allowed in an assert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// One side of a comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operand {
    /// A `tcpi_*` field.
    Field(String),
    /// A literal or a named constant (`TCP_CA_Recovery`).
    Value(i64),
    /// `(tcpi_x & MASK)`: some bits of a field (`tcpi_options & TCPI_OPT_SYN_DATA`).
    Masked(String, i64),
    /// A variable an earlier statement assigned (`cwnd`).
    Var(String),
}

/// One statement of a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stmt {
    /// `assert ...`
    Assert(Assert),
    /// `NAME = X`, `NAME += X`, `NAME -= X`: an integer variable.
    Assign {
        /// The variable.
        name: String,
        /// `None` for `=`, else the operator of `+=` / `-=` (`+` or `-`).
        op: Option<char>,
        /// The value.
        value: Operand,
    },
}

/// The variables a script's blocks have assigned so far.
pub type Vars = BTreeMap<String, i64>;

/// `assert LHS OP RHS`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assert {
    /// Left side.
    pub lhs: Operand,
    /// Operator.
    pub op: CmpOp,
    /// Right side.
    pub rhs: Operand,
    /// The statement as written, for messages.
    pub text: String,
}

/// Why a block could not be evaluated or did not hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodeError {
    /// The block has something other than simple asserts, or names a field synack lacks.
    Unsupported(String),
    /// An assert was false.
    Failed {
        /// The statement.
        text: String,
        /// The values it saw, e.g. `tcpi_snd_cwnd = 8`.
        actual: String,
    },
}

impl fmt::Display for CodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodeError::Unsupported(s) => write!(f, "unsupported code: {s}"),
            CodeError::Failed { text, actual } => write!(f, "assert failed: {text} ({actual})"),
        }
    }
}

/// Linux's `tcp_ca_state` names, and the TCP state names of `tcpi_state` in Linux's numbering
/// (`TCP_*`, and FreeBSD's `TCPI_*` spelling of the same states).
fn constant(name: &str) -> Option<i64> {
    let state = name.strip_prefix("TCPI_").or_else(|| name.strip_prefix("TCP_"));
    let by_state = state.and_then(|s| {
        Some(match s {
            "ESTABLISHED" => 1,
            "SYN_SENT" => 2,
            "SYN_RECV" | "SYN_RECEIVED" => 3,
            "FIN_WAIT1" | "FIN_WAIT_1" => 4,
            "FIN_WAIT2" | "FIN_WAIT_2" => 5,
            "TIME_WAIT" => 6,
            "CLOSE" | "CLOSED" => 7,
            "CLOSE_WAIT" => 8,
            "LAST_ACK" => 9,
            "LISTEN" => 10,
            "CLOSING" => 11,
            _ => return None,
        })
    });
    if by_state.is_some() {
        return by_state;
    }
    Some(match name {
        "TCP_CA_Open" => 0,
        "TCP_CA_Disorder" => 1,
        "TCP_CA_CWR" => 2,
        "TCP_CA_Recovery" => 3,
        "TCP_CA_Loss" => 4,
        "True" => 1,
        "False" => 0,
        // `tcpi_options` bits.
        "TCPI_OPT_TIMESTAMPS" => 1,
        "TCPI_OPT_SACK" => 2,
        "TCPI_OPT_WSCALE" => 4,
        "TCPI_OPT_ECN" => 8,
        "TCPI_OPT_ECN_SEEN" => 16,
        "TCPI_OPT_SYN_DATA" => 32,
        "TCPI_OPT_USEC_TS" => 64,
        "TCPI_OPT_TFO_CHILD" => 128,
        _ => return None,
    })
}

/// Parses a block into statements.
pub fn parse_block(code: &str) -> Result<Vec<Stmt>, CodeError> {
    let mut out = Vec::new();
    // A backslash at a line's end continues the statement on the next line, as in Python.
    let joined = code.replace("\\\r\n", " ").replace("\\\n", " ");
    for line in joined.lines() {
        let line = match line.find('#') {
            Some(i) => &line[..i],
            None => line,
        };
        for stmt in line.split(';') {
            let stmt = stmt.trim();
            // `print(...)` only shows a value; it checks nothing.
            if stmt.starts_with("print(") && stmt.ends_with(')') {
                continue;
            }
            if stmt.is_empty() {
                continue;
            }
            match parse_assign(stmt)? {
                Some(a) => out.push(a),
                None => out.extend(parse_assert(stmt)?.into_iter().map(Stmt::Assert)),
            }
        }
    }
    Ok(out)
}

/// `NAME = X`, `NAME += X` or `NAME -= X` with a plain identifier (not a `tcpi_*` field,
/// which the snapshot sets, nor a constant); `None` when the statement is no assignment.
fn parse_assign(stmt: &str) -> Result<Option<Stmt>, CodeError> {
    if stmt.starts_with("assert ") {
        return Ok(None);
    }
    let unsupported = || CodeError::Unsupported(stmt.to_string());
    let Some(eq) = stmt.find('=') else { return Ok(None) };
    let (mut name, value) = (stmt[..eq].trim_end(), stmt[eq + 1..].trim());
    if value.starts_with('=') || name.ends_with(['!', '<', '>', '=']) {
        return Ok(None);
    }
    let mut op = None;
    if let Some(n) = name.strip_suffix('+').or_else(|| name.strip_suffix('-')) {
        op = name.chars().last();
        name = n.trim_end();
    }
    if !is_variable(name) {
        return Err(unsupported());
    }
    let value = operand(value).ok_or_else(unsupported)?;
    Ok(Some(Stmt::Assign { name: name.to_string(), op, value }))
}

/// A name of the snapshot: a `tcpi_*` field of `TCP_INFO`, or an `SK_MEMINFO_*` entry of
/// `SO_MEMINFO`, which packetdrill sets before each block.
fn is_field(name: &str) -> bool {
    (name.starts_with("tcpi_") || name.starts_with("SK_MEMINFO_"))
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A Python identifier that names a script variable: not a snapshot field, nor a constant.
fn is_variable(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !is_field(name)
        && constant(name).is_none()
        && !matches!(name, "assert" | "print" | "and" | "or" | "not" | "in" | "is")
}

/// One `assert` statement; a chained comparison (`a <= x <= b`) is, as in Python, one
/// comparison per neighbouring pair, all of which must hold.
fn parse_assert(stmt: &str) -> Result<Vec<Assert>, CodeError> {
    let unsupported = || CodeError::Unsupported(stmt.to_string());
    let body = stmt.strip_prefix("assert ").ok_or_else(unsupported)?;
    // The message after the first top-level comma is for Python's benefit only.
    let cond = body.split(',').next().unwrap_or("").trim();
    let ops = [
        ("==", CmpOp::Eq),
        ("!=", CmpOp::Ne),
        ("<=", CmpOp::Le),
        (">=", CmpOp::Ge),
        ("<", CmpOp::Lt),
        (">", CmpOp::Gt),
    ];
    let mut operands = Vec::new();
    let mut found = Vec::new();
    let mut rest = cond;
    'scan: while !rest.is_empty() {
        for i in 0..rest.len() {
            if !rest.is_char_boundary(i) {
                continue;
            }
            if let Some((tok, op)) = ops.iter().find(|(t, _)| rest[i..].starts_with(t)) {
                operands.push(rest[..i].trim());
                found.push(*op);
                rest = &rest[i + tok.len()..];
                continue 'scan;
            }
        }
        operands.push(rest.trim());
        break;
    }
    if found.is_empty() || operands.len() != found.len() + 1 {
        return Err(unsupported());
    }
    let mut out = Vec::new();
    for (k, op) in found.into_iter().enumerate() {
        let lhs = operand(operands[k]).ok_or_else(unsupported)?;
        let rhs = operand(operands[k + 1]).ok_or_else(unsupported)?;
        out.push(Assert { lhs, op, rhs, text: cond.to_string() });
    }
    Ok(out)
}

fn operand(s: &str) -> Option<Operand> {
    if let Some(inner) = s.strip_prefix('(').and_then(|r| r.strip_suffix(')'))
        && let Some((field, mask)) = inner.split_once('&')
        && let Some(Operand::Field(f)) = operand(field.trim())
        && let Some(Operand::Value(m)) = operand(mask.trim())
    {
        return Some(Operand::Masked(f, m));
    }
    // `(A | B | ...)`: constants or'ed together (`TCPI_OPT_SACK | TCPI_OPT_WSCALE`).
    if let Some(inner) = s.strip_prefix('(').and_then(|r| r.strip_suffix(')'))
        && inner.contains('|')
    {
        let mut v = 0;
        for part in inner.split('|') {
            let Some(Operand::Value(bits)) = operand(part.trim()) else { return None };
            v |= bits;
        }
        return Some(Operand::Value(v));
    }
    // `A - B`, `A + B` of numbers and constants (`8940 - 12`), left to right.
    if let Some(at) = s.rfind(" - ").max(s.rfind(" + ")) {
        let (l, r) = (s[..at].trim(), s[at + 3..].trim());
        if let (Some(Operand::Value(a)), Some(Operand::Value(b))) = (operand(l), operand(r)) {
            let v = if &s[at..at + 3] == " - " { a.checked_sub(b) } else { a.checked_add(b) };
            return v.map(Operand::Value);
        }
    }
    if let Ok(v) = s.parse::<i64>() {
        return Some(Operand::Value(v));
    }
    if let Some(v) = constant(s) {
        return Some(Operand::Value(v));
    }
    if is_field(s) {
        return Some(Operand::Field(s.to_string()));
    }
    if is_variable(s) {
        return Some(Operand::Var(s.to_string()));
    }
    None
}

/// Runs statements against a snapshot, in order: assignments set `vars`, the first false
/// assert is the error.
pub fn evaluate(stmts: &[Stmt], info: &TcpInfo, vars: &mut Vars) -> Result<(), CodeError> {
    for stmt in stmts {
        let get = |o: &Operand, vars: &Vars| -> Result<i64, CodeError> {
            match o {
                Operand::Value(v) => Ok(*v),
                // Python raises NameError for a name never assigned; the script cannot run.
                Operand::Var(n) => vars
                    .get(n)
                    .copied()
                    .ok_or_else(|| CodeError::Unsupported(format!("{n} is not defined"))),
                Operand::Field(f) => info.get(f).copied().ok_or_else(|| {
                    CodeError::Unsupported(format!("{f} is not reported by synack"))
                }),
                Operand::Masked(f, m) => info.get(f).map(|v| v & m).ok_or_else(|| {
                    CodeError::Unsupported(format!("{f} is not reported by synack"))
                }),
            }
        };
        let a = match stmt {
            Stmt::Assert(a) => a,
            Stmt::Assign { name, op, value } => {
                let v = get(value, vars)?;
                let old = || get(&Operand::Var(name.clone()), vars);
                let new = match op {
                    None => Some(v),
                    Some('+') => old()?.checked_add(v),
                    Some(_) => old()?.checked_sub(v),
                };
                let new =
                    new.ok_or_else(|| CodeError::Unsupported(format!("{name}: integer overflow")))?;
                vars.insert(name.clone(), new);
                continue;
            }
        };
        let (l, r) = (get(&a.lhs, vars)?, get(&a.rhs, vars)?);
        let ok = match a.op {
            CmpOp::Eq => l == r,
            CmpOp::Ne => l != r,
            CmpOp::Lt => l < r,
            CmpOp::Le => l <= r,
            CmpOp::Gt => l > r,
            CmpOp::Ge => l >= r,
        };
        if !ok {
            let mut actual = Vec::new();
            for o in [&a.lhs, &a.rhs] {
                match o {
                    Operand::Field(f) | Operand::Masked(f, _) => {
                        actual.push(format!("{f} = {}", info.get(f).copied().unwrap_or_default()))
                    }
                    Operand::Var(n) => {
                        actual.push(format!("{n} = {}", vars.get(n).copied().unwrap_or_default()))
                    }
                    Operand::Value(_) => {}
                }
            }
            return Err(CodeError::Failed { text: a.text.clone(), actual: actual.join(", ") });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(pairs: &[(&str, i64)]) -> TcpInfo {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn asserts_of_the_suites_parse_and_evaluate() {
        let block = "\nassert tcpi_ca_state == TCP_CA_Recovery, tcpi_ca_state\nassert tcpi_snd_cwnd == 7, 'cwnd=%d' % tcpi_snd_cwnd\n";
        let a = parse_block(block).unwrap();
        assert_eq!(a.len(), 2);
        let i = info(&[("tcpi_ca_state", 3), ("tcpi_snd_cwnd", 7)]);
        assert_eq!(evaluate(&a, &i, &mut Vars::new()), Ok(()));
        let i = info(&[("tcpi_ca_state", 3), ("tcpi_snd_cwnd", 8)]);
        assert_eq!(
            evaluate(&a, &i, &mut Vars::new()),
            Err(CodeError::Failed {
                text: "tcpi_snd_cwnd == 7".into(),
                actual: "tcpi_snd_cwnd = 8".into()
            })
        );
    }

    #[test]
    fn chained_comparisons_hold_pairwise() {
        let a = parse_block("assert tcpi_snd_mss == 8940 - 12 + 2 - 10, x").unwrap();
        assert_eq!(evaluate(&a, &info(&[("tcpi_snd_mss", 8920)]), &mut Vars::new()), Ok(()));
        assert!(parse_block("assert tcpi_snd_mss == tcpi_advmss - 12").is_err());
        let a =
            parse_block("assert tcpi_options == (TCPI_OPT_SACK | TCPI_OPT_WSCALE | 1)").unwrap();
        assert_eq!(evaluate(&a, &info(&[("tcpi_options", 7)]), &mut Vars::new()), Ok(()));
        assert!(evaluate(&a, &info(&[("tcpi_options", 15)]), &mut Vars::new()).is_err());
        assert!(parse_block("assert tcpi_options == (TCPI_OPT_SACK | tcpi_x)").is_err());
        let a = parse_block("assert 990 <= tcpi_last_data_recv <= 1010, x").unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(evaluate(&a, &info(&[("tcpi_last_data_recv", 1000)]), &mut Vars::new()), Ok(()));
        assert!(evaluate(&a, &info(&[("tcpi_last_data_recv", 1011)]), &mut Vars::new()).is_err());
        assert!(evaluate(&a, &info(&[("tcpi_last_data_recv", 989)]), &mut Vars::new()).is_err());
        assert!(matches!(parse_block("assert 1 <= <= 2"), Err(CodeError::Unsupported(_))));
        let a = parse_block("assert tcpi_rto >= \\\n  200000, x").unwrap();
        assert_eq!(a.len(), 1);
    }

    #[test]
    fn semicolons_comments_and_missing_fields() {
        let a = parse_block(" assert tcpi_advmss == 1100, x; assert tcpi_snd_mss >= 1000 # note\n")
            .unwrap();
        assert_eq!(a.len(), 2);
        assert!(matches!(&a[1], Stmt::Assert(x) if x.op == CmpOp::Ge));
        assert!(matches!(
            evaluate(&a, &TcpInfo::new(), &mut Vars::new()),
            Err(CodeError::Unsupported(_))
        ));
    }

    #[test]
    fn other_python_is_unsupported() {
        assert_eq!(parse_block("print(tcpi_rtt)").map(|a| a.len()), Ok(0));
        assert!(matches!(parse_block("tcpi_rtt = 1"), Err(CodeError::Unsupported(_))));
        // Both spellings of a state name are Linux's number for it.
        let st = info(&[("tcpi_state", 3)]);
        for block in ["assert tcpi_state == TCPI_SYN_RECEIVED", "assert tcpi_state == TCP_SYN_RECV"]
        {
            assert_eq!(
                evaluate(&parse_block(block).unwrap(), &st, &mut Vars::new()),
                Ok(()),
                "{block}"
            );
        }
        assert!(matches!(parse_block("assert foo(1) == 2"), Err(CodeError::Unsupported(_))));
        assert!(matches!(parse_block("assert tcpi_x"), Err(CodeError::Unsupported(_))));
    }

    #[test]
    fn variables_persist_across_blocks() {
        let mut vars = Vars::new();
        let i = info(&[("tcpi_snd_cwnd", 58)]);
        let first = parse_block("print(tcpi_snd_cwnd); cwnd = 58; assert tcpi_snd_cwnd == cwnd, x")
            .unwrap();
        assert_eq!(evaluate(&first, &i, &mut vars), Ok(()));
        let next = parse_block("cwnd += 1; assert tcpi_snd_cwnd == cwnd, tcpi_snd_cwnd").unwrap();
        assert_eq!(
            evaluate(&next, &i, &mut vars),
            Err(CodeError::Failed {
                text: "tcpi_snd_cwnd == cwnd".into(),
                actual: "tcpi_snd_cwnd = 58, cwnd = 59".into()
            })
        );
        let i = info(&[("tcpi_snd_cwnd", 57)]);
        let back = parse_block("cwnd -= 2\nassert tcpi_snd_cwnd == cwnd").unwrap();
        assert_eq!(evaluate(&back, &i, &mut vars), Ok(()));
        // A name never assigned cannot be run, as Python's NameError stops packetdrill.
        let unknown = parse_block("assert tcpi_snd_cwnd == other").unwrap();
        assert!(matches!(evaluate(&unknown, &i, &mut vars), Err(CodeError::Unsupported(_))));
        // Comparisons are no assignments; fields and constants cannot be assigned.
        assert!(parse_block("x == 1").is_err());
        assert!(parse_block("TCP_CA_Open = 1").is_err());
        assert!(parse_block("a = b = 1").is_err());
    }
}
