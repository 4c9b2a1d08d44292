//! The small TCP services `synack` serves, as sans-IO state machines.
//!
//! A service sees bytes arriving and the peer's end of stream, and answers with bytes to send
//! and whether to close. It never touches a socket, so the virtual-clock demo and the TUN
//! server share one implementation.

use std::fmt;
use std::str::FromStr;

/// The greeting of the Echo service, as in the study notes' `EchoServer`.
pub(crate) const ECHO_GREETING: &str = "Hello! Enter BYE to exit.";

/// What the `hello` service writes before it closes (the notes' first server).
pub(crate) const HELLO_TEXT: &str = "hello client";

/// Longest line the Echo service buffers; a longer run without a newline is echoed as it is,
/// so a peer that never sends a newline cannot grow memory.
const MAX_LINE: usize = 8192;

/// Which service to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Greets, answers each line with `Echo: <line>`, closes after `bye`.
    Echo,
    /// Reads and throws away everything (RFC 863).
    Discard,
    /// Sends a rotating pattern of printable characters until the peer goes away (RFC 864).
    Chargen,
    /// Writes `hello client` and closes.
    Hello,
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "echo" => Ok(Kind::Echo),
            "discard" => Ok(Kind::Discard),
            "chargen" => Ok(Kind::Chargen),
            "hello" => Ok(Kind::Hello),
            _ => Err(format!("unknown service {s:?} (echo, discard, chargen, hello)")),
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Echo => "echo",
            Kind::Discard => "discard",
            Kind::Chargen => "chargen",
            Kind::Hello => "hello",
        })
    }
}

/// What the service wants done after an input.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Reply {
    /// Bytes to send.
    pub(crate) data: Vec<u8>,
    /// Complete lines received (for display), without their line ending.
    pub(crate) lines_in: Vec<String>,
    /// Lines sent (for display), without their line ending.
    pub(crate) lines_out: Vec<String>,
    /// Close the connection once `data` is queued.
    pub(crate) close: bool,
}

impl Reply {
    fn line(&mut self, text: &str) {
        self.data.extend_from_slice(text.as_bytes());
        self.data.push(b'\n');
        self.lines_out.push(text.to_string());
    }
}

/// One connection's service state.
#[derive(Debug)]
pub(crate) struct Service {
    kind: Kind,
    line: Vec<u8>,
    done: bool,
    chargen_pos: usize,
    /// Bytes received (discard counts them).
    pub(crate) received: u64,
}

impl Service {
    /// A fresh connection of `kind`.
    pub(crate) fn new(kind: Kind) -> Self {
        Service { kind, line: Vec::new(), done: false, chargen_pos: 0, received: 0 }
    }

    /// The connection was accepted: what to send first.
    pub(crate) fn on_open(&mut self) -> Reply {
        let mut r = Reply::default();
        match self.kind {
            Kind::Echo => r.line(ECHO_GREETING),
            Kind::Hello => {
                r.line(HELLO_TEXT);
                r.close = true;
                self.done = true;
            }
            Kind::Discard | Kind::Chargen => {}
        }
        r
    }

    /// Bytes arrived.
    pub(crate) fn on_data(&mut self, data: &[u8]) -> Reply {
        self.received += data.len() as u64;
        let mut r = Reply::default();
        if self.kind != Kind::Echo || self.done {
            return r;
        }
        for &b in data {
            if self.done {
                break;
            }
            if b == b'\n' {
                let raw = std::mem::take(&mut self.line);
                self.echo_line(&raw, &mut r);
            } else {
                self.line.push(b);
                if self.line.len() >= MAX_LINE {
                    let raw = std::mem::take(&mut self.line);
                    self.echo_line(&raw, &mut r);
                }
            }
        }
        r
    }

    fn echo_line(&mut self, raw: &[u8], r: &mut Reply) {
        let text = String::from_utf8_lossy(raw);
        let text = text.strip_suffix('\r').unwrap_or(&text).to_string();
        r.line(&format!("Echo: {text}"));
        r.lines_in.push(text.clone());
        if text.trim().eq_ignore_ascii_case("bye") {
            self.done = true;
            r.close = true;
        }
    }

    /// The peer sent its FIN. Echo answers a last unterminated line, then everyone closes.
    pub(crate) fn on_eof(&mut self) -> Reply {
        let mut r = Reply::default();
        if self.kind == Kind::Echo && !self.done && !self.line.is_empty() {
            let raw = std::mem::take(&mut self.line);
            self.echo_line(&raw, &mut r);
        }
        self.done = true;
        r.close = true;
        r
    }

    /// Chargen: the next `n` bytes of the pattern (72 printable characters per line, each
    /// line starting one character later, RFC 864).
    pub(crate) fn chargen(&mut self, n: usize) -> Vec<u8> {
        if self.kind != Kind::Chargen || self.done {
            return Vec::new();
        }
        const FIRST: u8 = b' ';
        const COUNT: usize = 95;
        const LINE: usize = 74; // 72 characters + CR LF
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let line = self.chargen_pos / LINE;
            let col = self.chargen_pos % LINE;
            let b = match col {
                72 => b'\r',
                73 => b'\n',
                c => FIRST + ((line + c) % COUNT) as u8,
            };
            out.push(b);
            self.chargen_pos += 1;
        }
        out
    }

    /// True for services that keep writing while the peer is there (chargen).
    pub(crate) fn streams(&self) -> bool {
        self.kind == Kind::Chargen && !self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_dialogue_as_in_the_notes() {
        let mut s = Service::new(Kind::Echo);
        assert_eq!(s.on_open().data, b"Hello! Enter BYE to exit.\n");
        let r = s.on_data(b"a\nhello echo ");
        assert_eq!(r.data, b"Echo: a\n");
        assert!(!r.close);
        let r = s.on_data(b"server!\r\nbye\nignored\n");
        assert_eq!(r.data, b"Echo: hello echo server!\nEcho: bye\n");
        assert_eq!(r.lines_in, vec!["hello echo server!", "bye"]);
        assert!(r.close);
        assert!(s.on_data(b"more\n").data.is_empty());
    }

    #[test]
    fn echo_bounds_lines_and_answers_the_last_one_on_eof() {
        let mut s = Service::new(Kind::Echo);
        let r = s.on_data(&vec![b'x'; MAX_LINE + 10]);
        assert_eq!(r.lines_out.len(), 1);
        let r = s.on_eof();
        assert_eq!(r.data, b"Echo: xxxxxxxxxx\n");
        assert!(r.close);
    }

    #[test]
    fn hello_discard_chargen() {
        let mut h = Service::new(Kind::Hello);
        let r = h.on_open();
        assert_eq!((r.data.as_slice(), r.close), (&b"hello client\n"[..], true));
        let mut d = Service::new(Kind::Discard);
        assert!(d.on_data(b"abc").data.is_empty());
        assert_eq!(d.received, 3);
        let mut c = Service::new(Kind::Chargen);
        let a = c.chargen(80);
        assert_eq!(&a[..3], b" !\"");
        assert_eq!(&a[72..75], b"\r\n!");
        assert!(c.streams());
        assert_eq!("chargen".parse::<Kind>(), Ok(Kind::Chargen));
        assert!("nope".parse::<Kind>().is_err());
    }
}
