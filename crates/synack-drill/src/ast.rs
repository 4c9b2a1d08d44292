//! The parsed form of a script: header options and a list of timed events.
//!
//! Values are kept as written (script space); the runner does the mapping to live numbers.
//! Times are integer microseconds so `+.1` is exactly 100 000 and no float drift builds up.

use crate::error::Pos;
use std::net::Ipv4Addr;

/// A whole script.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Script {
    /// `--name[=value]` lines, in order.
    pub options: Vec<HeaderOption>,
    /// The events, in order.
    pub events: Vec<Event>,
}

/// One `--name[=value]` header line.
#[derive(Clone, Debug, PartialEq)]
pub struct HeaderOption {
    /// Name without the dashes.
    pub name: String,
    /// Value after `=`, if any.
    pub value: Option<String>,
    /// Where it was written.
    pub pos: Pos,
}

/// A time as written in front of an event (README §1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeSpec {
    /// `T`: microseconds since the script started.
    Absolute(i64),
    /// `+T`: microseconds after the previous event.
    Relative(i64),
}

/// When an event happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventTime {
    /// No time written (a leading or trailing backtick command).
    Unspecified,
    /// `*`: any time (outbound packets).
    Any,
    /// A single time.
    At(TimeSpec),
    /// `A~B`: an allowed window.
    Range(TimeSpec, TimeSpec),
    /// `S...E`: a blocking call started at `S` that must return at `E`.
    Blocking(TimeSpec, TimeSpec),
}

/// One line of the script.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Where the event starts.
    pub pos: Pos,
    /// Its time.
    pub time: EventTime,
    /// What it is.
    pub kind: EventKind,
}

/// The kinds of event.
#[derive(Clone, Debug, PartialEq)]
pub enum EventKind {
    /// A TCP packet, inbound or outbound.
    Packet(PacketSpec),
    /// An ICMP packet (inbound in practice).
    Icmp(IcmpSpec),
    /// A UDP packet `udp (LEN)`.
    Udp {
        /// Direction.
        dir: Direction,
        /// Payload length.
        len: u32,
    },
    /// A system call.
    Syscall(Syscall),
    /// A backtick shell command.
    Command(String),
    /// A `%{ }%` code block.
    Code(String),
}

/// `<` (the script injects) or `>` (the stack must send).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// `<`: from the remote peer into the stack.
    Inbound,
    /// `>`: from the stack, checked by the runner.
    Outbound,
}

/// ECN codepoint written in `[...]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ecn {
    /// Not-ECT.
    NoEcn,
    /// ECT(0).
    Ect0,
    /// ECT(1).
    Ect1,
    /// Either ECT(0) or ECT(1) (outbound only).
    Ect01,
    /// CE.
    Ce,
}

/// IP-level fields given in `[...]` or `(...)` before the flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct IpInfo {
    /// ECN bits.
    pub ecn: Option<Ecn>,
    /// Full TOS byte.
    pub tos: Option<u8>,
    /// TTL / hop limit.
    pub ttl: Option<u8>,
    /// IPv6 flow label.
    pub flowlabel: Option<u32>,
}

/// The TCP flags of a packet line, as letters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct FlagSpec {
    /// S
    pub syn: bool,
    /// F
    pub fin: bool,
    /// R
    pub rst: bool,
    /// P
    pub psh: bool,
    /// `.`
    pub ack: bool,
    /// U
    pub urg: bool,
    /// E (ECE)
    pub ece: bool,
    /// W (CWR)
    pub cwr: bool,
    /// A (AE)
    pub ae: bool,
    /// AccECN ACE value written after the dot, if any.
    pub ace: Option<u8>,
}

/// One TCP option as written inside `< >`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OptSpec {
    /// `nop`
    Nop,
    /// `eol`
    Eol,
    /// `mss N`
    Mss(u16),
    /// `wscale N`
    WScale(u8),
    /// `sackOK`
    SackOk,
    /// `sack a:b c:d ...` (script space)
    Sack(Vec<(u32, u32)>),
    /// `TS val V ecr E`
    Timestamp {
        /// TSval.
        val: u32,
        /// TSecr.
        ecr: u32,
    },
    /// `md5 <text>`
    Md5(String),
    /// `FO <cookie hex>` (empty for a request)
    FastOpen(Vec<u8>),
    /// `FOEXP [cookie]`: the experimental fast-open option.
    FastOpenExp(Vec<u8>),
    /// `ECN e0b N ceb N e1b N` (kind 172) or `ECN e1b N ceb N e0b N` (kind 174): the AccECN
    /// option (RFC 9768) with the fields written, in that order (trailing ones may be left out).
    AccEcn(synack_wire::tcp::AccEcnOption),
}

/// The option list of a packet line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OptionsSpec {
    /// Nothing written: no options (outbound lines are checked for exactly none).
    Absent,
    /// `<...>`: options are not checked.
    Any,
    /// An explicit list.
    List(Vec<OptSpec>),
}

/// A TCP packet line (README §1.4).
#[derive(Clone, Debug, PartialEq)]
pub struct PacketSpec {
    /// Direction.
    pub dir: Direction,
    /// IP fields, if given.
    pub ip: IpInfo,
    /// Explicit `sport>dport`, rare.
    pub ports: Option<(u16, u16)>,
    /// Flags.
    pub flags: FlagSpec,
    /// Start sequence number (script space).
    pub seq: u32,
    /// `...(LEN)` in place of `START:END(LEN)` on an outbound line (the FreeBSD suite's
    /// packetdrill): any sequence number matches, as for a SYN-ACK of a new incarnation whose
    /// ISN the script cannot know. `seq` is 0 then.
    pub any_seq: bool,
    /// `START:END(LEN)!` (the FreeBSD suite's packetdrill): the sequence number is the live
    /// one as written, not relative to the ISN (a RST whose SEQ is 0).
    pub absolute_seq: bool,
    /// Payload length.
    pub len: u32,
    /// `ack N`, if written.
    pub ack: Option<u32>,
    /// `win W`, if written.
    pub win: Option<u16>,
    /// `urg U`, if written.
    pub urg: Option<u16>,
    /// Options.
    pub options: OptionsSpec,
    /// `/udp(SPORT > DPORT)` after the options: the segment travels inside UDP (FreeBSD's
    /// TCP-over-UDP tunneling, RFC 6951's encapsulation).
    pub udp_encapsulation: Option<(u16, u16)>,
}

/// An ICMP packet line: `icmp TYPE [CODE] [mtu N] [a:b(len)]`.
#[derive(Clone, Debug, PartialEq)]
pub struct IcmpSpec {
    /// Direction.
    pub dir: Direction,
    /// Type word (`unreachable`, `time_exceeded`, ...).
    pub icmp_type: String,
    /// Code word, if given (`frag_needed`, `port_unreachable`, ...).
    pub code: Option<String>,
    /// `mtu N`, if given.
    pub mtu: Option<u32>,
    /// The echoed TCP sequence range, if given.
    pub echoed: Option<(u32, u32)>,
    /// `[a:b(len)/udp(SPORT > DPORT)]`: the quoted segment travelled inside UDP (TCP over UDP).
    pub echoed_udp: Option<(u16, u16)>,
}

/// A syscall argument or struct field value.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// An integer.
    Int(i64),
    /// A symbolic constant such as `SOL_SOCKET`.
    Symbol(String),
    /// `...`: filled in by the runner.
    Ellipsis,
    /// `"..."`
    Str(String),
    /// `A|B|C`
    BitOr(Vec<Expr>),
    /// `[e, ...]`
    List(Vec<Expr>),
    /// `{ field=e, e, ... }`
    Struct(Vec<(Option<String>, Expr)>),
    /// `name(args)`, e.g. `htons(8080)`, `inet_addr("1.2.3.4")`.
    Call(String, Vec<Expr>),
    /// A dotted IPv4 literal.
    Ipv4(Ipv4Addr),
}

/// `= RESULT [ERRNO [(note)]]`
#[derive(Clone, Debug, PartialEq)]
pub struct SyscallResult {
    /// The expected return value.
    pub value: Expr,
    /// The expected errno name, if any.
    pub errno: Option<String>,
    /// The free text in parentheses, verbatim.
    pub note: Option<String>,
}

/// A syscall line.
#[derive(Clone, Debug, PartialEq)]
pub struct Syscall {
    /// Name (`socket`, `write`, ...).
    pub name: String,
    /// Arguments.
    pub args: Vec<Expr>,
    /// Expected result.
    pub result: SyscallResult,
}

impl PacketSpec {
    /// Sequence space the packet occupies: payload plus SYN and FIN.
    pub fn seq_len(&self) -> u32 {
        self.len + self.flags.syn as u32 + self.flags.fin as u32
    }
}

impl FlagSpec {
    /// The flags as packetdrill letters (`S.`, `FP.`, `-` for none).
    pub fn letters(&self) -> String {
        let mut s = String::new();
        for (on, c) in [
            (self.fin, 'F'),
            (self.syn, 'S'),
            (self.rst, 'R'),
            (self.psh, 'P'),
            (self.urg, 'U'),
            (self.ece, 'E'),
            (self.cwr, 'W'),
            (self.ae, 'A'),
            (self.ack, '.'),
        ] {
            if on {
                s.push(c);
            }
        }
        if let Some(a) = self.ace {
            s.push((b'0' + a) as char);
        }
        if s.is_empty() {
            s.push('-');
        }
        s
    }
}
