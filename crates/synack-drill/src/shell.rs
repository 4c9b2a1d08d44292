//! The little shell the suites' setup commands are written in: lines, `\` continuations, `;`,
//! `#` comments, quotes, `$((arithmetic))`, output redirections and `|` pipelines.
//!
//! Nothing is executed: the commands are split into words so [`crate::profile`] can map each
//! setting onto a knob and [`crate::probe`] can answer state queries from the stack itself.

/// One simple command of a pipeline: its words after quote removal and expansion.
pub type Words = Vec<String>;

/// The one word of the marker [`pipelines`] puts between the two sides of `A || B` (which
/// side runs depends on `A`'s exit status, so only a caller that knows how `A` ends on the
/// system the script was written for may take such a line).
pub const OR_LIST: &str = "||";

/// True for the [`OR_LIST`] marker.
pub fn is_or_list(words: &Words) -> bool {
    words.len() == 1 && words[0] == OR_LIST
}

/// Splits shell text into commands (lines joined at `\`, split at `;`, comments dropped), each
/// a pipeline of simple commands (split at `|`). Output redirections (`> /dev/null`, `2>&1`)
/// are dropped, since the runner shows no command output.
pub fn pipelines(text: &str) -> Result<Vec<Vec<Words>>, String> {
    let joined = newlines_in_quotes_joined(&text.replace("\\\n", " "));
    let mut out = Vec::new();
    for line in joined.lines() {
        let mut pipeline: Vec<Words> = Vec::new();
        let mut words: Words = Vec::new();
        let mut chars = line.chars().peekable();
        let mut word = String::new();
        let mut in_word = false;
        let mut redirect = false;
        let finish =
            |word: &mut String, in_word: &mut bool, words: &mut Words, redirect: &mut bool| {
                if *in_word {
                    if *redirect {
                        *redirect = false;
                    } else {
                        words.push(std::mem::take(word));
                    }
                    word.clear();
                    *in_word = false;
                }
            };
        while let Some(c) = chars.next() {
            match c {
                '#' if !in_word => break,
                // `A || B`: kept as the pipeline `A`, [`OR_LIST`], `B`, for the caller to run
                // `B` when it knows `A` fails.
                '|' if chars.peek() == Some(&'|') => {
                    chars.next();
                    finish(&mut word, &mut in_word, &mut words, &mut redirect);
                    if !words.is_empty() {
                        pipeline.push(std::mem::take(&mut words));
                    }
                    pipeline.push(vec![OR_LIST.to_string()]);
                }
                // `A && B`: which commands run depends on the exit status of the ones before,
                // which the runner cannot know for a command it only maps.
                '&' if chars.peek() == Some(&'&') => {
                    return Err(format!("`&&` lists are not modelled: {line}"));
                }
                // `&> FILE`, `&>> FILE`: both outputs redirected.
                '&' if chars.peek() == Some(&'>') => {
                    finish(&mut word, &mut in_word, &mut words, &mut redirect);
                    chars.next();
                    if chars.peek() == Some(&'>') {
                        chars.next();
                    }
                    redirect = true;
                }
                ' ' | '\t' => finish(&mut word, &mut in_word, &mut words, &mut redirect),
                ';' | '|' => {
                    finish(&mut word, &mut in_word, &mut words, &mut redirect);
                    if !words.is_empty() {
                        pipeline.push(std::mem::take(&mut words));
                    }
                    if c == ';' && !pipeline.is_empty() {
                        out.push(std::mem::take(&mut pipeline));
                    }
                }
                '>' => {
                    // `2>&1`, `>/dev/null`, `> file`: the fd number before it is not a word.
                    if in_word && word.chars().all(|d| d.is_ascii_digit()) {
                        word.clear();
                        in_word = false;
                    } else {
                        finish(&mut word, &mut in_word, &mut words, &mut redirect);
                    }
                    if chars.peek() == Some(&'&') {
                        chars.next();
                        while chars.peek().is_some_and(|d| d.is_ascii_digit()) {
                            chars.next();
                        }
                    } else {
                        redirect = true;
                    }
                }
                '\'' => {
                    in_word = true;
                    loop {
                        match chars.next() {
                            Some('\'') => break,
                            Some(ch) => word.push(ch),
                            None => return Err(format!("unterminated ' in: {line}")),
                        }
                    }
                }
                '"' => {
                    in_word = true;
                    let mut inner = String::new();
                    loop {
                        match chars.next() {
                            Some('"') => break,
                            Some('\\') => {
                                if let Some(ch) = chars.next() {
                                    inner.push(ch);
                                }
                            }
                            Some(ch) => inner.push(ch),
                            None => return Err(format!("unterminated \" in: {line}")),
                        }
                    }
                    word.push_str(&expand(&inner)?);
                }
                '$' if chars.peek() == Some(&'(') => {
                    in_word = true;
                    let mut inner = String::from("$");
                    let mut depth = 0;
                    for ch in chars.by_ref() {
                        inner.push(ch);
                        match ch {
                            '(' => depth += 1,
                            ')' => {
                                depth -= 1;
                                if depth == 0 {
                                    break;
                                }
                            }
                            _ => {}
                        }
                    }
                    word.push_str(&expand(&inner)?);
                }
                ch => {
                    in_word = true;
                    word.push(ch);
                }
            }
        }
        finish(&mut word, &mut in_word, &mut words, &mut redirect);
        if !words.is_empty() {
            pipeline.push(words);
        }
        if !pipeline.is_empty() {
            out.push(pipeline);
        }
    }
    Ok(out)
}

/// `text` with every newline inside single quotes made a space: a quoted argument may span
/// lines (FreeBSD's `echo 'add ... ;\n add ... ;' | setkey -c`), and the splitter works a line
/// at a time.
fn newlines_in_quotes_joined(text: &str) -> String {
    let (mut single, mut double, mut comment) = (false, false, false);
    let mut prev = '\n';
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' if single => {
                out.push(' ');
                prev = ' ';
                continue;
            }
            '\n' => comment = false,
            _ if comment => {}
            '#' if !single && !double && prev.is_whitespace() => comment = true,
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            _ => {}
        }
        out.push(c);
        prev = c;
    }
    out
}

/// Expands every `$((expr))` in `text`; other `$` forms are kept as written.
fn expand(text: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("$((") {
        out.push_str(&rest[..i]);
        let body = &rest[i + 3..];
        let end = body.find("))").ok_or_else(|| format!("unterminated $(( in: {text}"))?;
        out.push_str(&arith(&body[..end])?.to_string());
        rest = &body[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Integer arithmetic with `+ - * /` and parentheses, as `$((...))` evaluates it.
pub fn arith(expr: &str) -> Result<i64, String> {
    let toks: Vec<char> = expr.chars().filter(|c| !c.is_whitespace()).collect();
    let mut i = 0;
    let v = sum(&toks, &mut i).ok_or_else(|| format!("bad arithmetic: {expr}"))?;
    if i != toks.len() {
        return Err(format!("bad arithmetic: {expr}"));
    }
    Ok(v)
}

fn sum(t: &[char], i: &mut usize) -> Option<i64> {
    let mut v = product(t, i)?;
    while let Some(&op) = t.get(*i).filter(|c| matches!(c, '+' | '-')) {
        *i += 1;
        let r = product(t, i)?;
        v = if op == '+' { v.checked_add(r)? } else { v.checked_sub(r)? };
    }
    Some(v)
}

fn product(t: &[char], i: &mut usize) -> Option<i64> {
    let mut v = atom(t, i)?;
    while let Some(&op) = t.get(*i).filter(|c| matches!(c, '*' | '/')) {
        *i += 1;
        let r = atom(t, i)?;
        v = if op == '*' { v.checked_mul(r)? } else { v.checked_div(r)? };
    }
    Some(v)
}

fn atom(t: &[char], i: &mut usize) -> Option<i64> {
    match t.get(*i)? {
        '(' => {
            *i += 1;
            let v = sum(t, i)?;
            (t.get(*i) == Some(&')')).then(|| *i += 1)?;
            Some(v)
        }
        '-' => {
            *i += 1;
            atom(t, i)?.checked_neg()
        }
        c if c.is_ascii_digit() => {
            let from = *i;
            while t.get(*i).is_some_and(|c| c.is_ascii_digit()) {
                *i += 1;
            }
            t[from..*i].iter().collect::<String>().parse().ok()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<Vec<Vec<&'static str>>> {
        pipelines(text)
            .unwrap()
            .into_iter()
            .map(|p| {
                p.into_iter()
                    .map(|w| w.into_iter().map(|s| &*Box::leak(s.into_boxed_str())).collect())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn quotes_arithmetic_and_redirections() {
        assert_eq!(
            words("sysctl -q net.ipv4.tcp_rmem=\"4096 540000 $((15*1024*1024))\"\n"),
            vec![vec![vec!["sysctl", "-q", "net.ipv4.tcp_rmem=4096 540000 15728640"]]]
        );
        assert_eq!(
            words("ip tcp_metrics flush all > /dev/null 2>&1 # comment"),
            vec![vec![vec!["ip", "tcp_metrics", "flush", "all"]]]
        );
        assert_eq!(
            words("sysctl -q a=1 &> /dev/null; b 2 &>>/tmp/log"),
            vec![vec![vec!["sysctl", "-q", "a=1"]], vec![vec!["b", "2"]]]
        );
        assert_eq!(
            words("kldstat -q -m m || kldload m; x"),
            vec![
                vec![vec!["kldstat", "-q", "-m", "m"], vec!["||"], vec!["kldload", "m"]],
                vec![vec!["x"]]
            ]
        );
        assert!(pipelines("a && b").unwrap_err().contains("&&"));
        assert_eq!(
            words("a 1; b 'x y' \\\n c"),
            vec![vec![vec!["a", "1"]], vec![vec!["b", "x y", "c"]]]
        );
        assert_eq!(
            words("sockstat -4 -P tcp -s | grep packetdril | grep -c TIME_WAIT | grep 1"),
            vec![vec![
                vec!["sockstat", "-4", "-P", "tcp", "-s"],
                vec!["grep", "packetdril"],
                vec!["grep", "-c", "TIME_WAIT"],
                vec!["grep", "1"],
            ]]
        );
    }

    #[test]
    fn arithmetic() {
        assert_eq!(arith("256*1024"), Ok(262_144));
        assert_eq!(arith("(1+2)*3 - 4/2"), Ok(7));
        assert!(arith("1+").is_err());
        assert!(arith("9999999999*9999999999").is_err());
        assert!(pipelines("echo \"unterminated").is_err());
    }
}
