//! A TCP segment as the runner handles it: live numbers, options in wire order, and the time
//! it left the stack. Printed in packetdrill's own notation so failures read like the script.

use crate::ast::OptSpec;
use std::fmt;
use std::net::SocketAddr;
use synack_wire::tcp::{FlagStyle, FlagText, TcpFlags};

/// One segment on the virtual wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Virtual time it was sent (outbound) or injected (inbound), µs since script start.
    pub at: u64,
    /// Source address and port.
    pub src: SocketAddr,
    /// Destination address and port.
    pub dst: SocketAddr,
    /// Control bits.
    pub flags: TcpFlags,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number.
    pub ack: u32,
    /// Raw window field.
    pub window: u16,
    /// Urgent pointer.
    pub urgent: u16,
    /// Options in wire order (NOP and EOL included).
    pub options: Vec<OptSpec>,
    /// Payload bytes.
    pub payload: Vec<u8>,
    /// IP TOS byte (ECN in the low two bits).
    pub tos: u8,
    /// IP TTL / hop limit.
    pub ttl: u8,
    /// The TCP checksum verified (outbound segments are checked as emitted; an encapsulated
    /// one by its UDP checksum).
    pub checksum_ok: bool,
    /// Carried inside UDP from the first port to the second (TCP over UDP); `None` for plain
    /// TCP.
    pub udp: Option<(u16, u16)>,
}

/// Flag letters in packetdrill's order (`S.`, `FP.`, `R`, `-`).
pub fn flag_letters(f: TcpFlags) -> String {
    FlagText(f, FlagStyle::Packetdrill).to_string()
}

/// Formats an option list as packetdrill writes it: `<mss 1460,nop,wscale 7>`.
pub fn options_text(opts: &[OptSpec]) -> String {
    let parts: Vec<String> = opts.iter().map(option_text).collect();
    format!("<{}>", parts.join(","))
}

/// One option as packetdrill writes it.
pub fn option_text(o: &OptSpec) -> String {
    match o {
        OptSpec::Nop => "nop".into(),
        OptSpec::Eol => "eol".into(),
        OptSpec::Mss(m) => format!("mss {m}"),
        OptSpec::WScale(w) => format!("wscale {w}"),
        OptSpec::SackOk => "sackOK".into(),
        OptSpec::Sack(b) => {
            let bl: Vec<String> = b.iter().map(|(l, r)| format!("{l}:{r}")).collect();
            format!("sack {}", bl.join(" "))
        }
        OptSpec::Timestamp { val, ecr } => format!("TS val {val} ecr {ecr}"),
        OptSpec::Md5(s) => format!("md5 {s}"),
        OptSpec::FastOpen(c) => format!("FO {}", hex(c)),
        OptSpec::FastOpenExp(c) => format!("FOEXP {}", hex(c)),
        OptSpec::AccEcn(o) => {
            let names = if o.is_order1() { ["e1b", "ceb", "e0b"] } else { ["e0b", "ceb", "e1b"] };
            let mut s = String::from("ECN");
            for (n, v) in names.iter().zip(o.values()) {
                s.push_str(&format!(" {n} {v}"));
            }
            s
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Segment {
    /// Payload length as a sequence-space count.
    pub fn len(&self) -> u32 {
        self.payload.len() as u32
    }
    /// True when it carries no payload.
    pub fn is_empty(&self) -> bool {
        self.payload.is_empty()
    }
}

impl fmt::Display for Segment {
    /// `S. 0:0(0) ack 1 win 65535 <mss 1460,nop,wscale 7>` with live numbers.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let len = self.len();
        write!(
            f,
            "{} {}:{}({})",
            flag_letters(self.flags),
            self.seq,
            self.seq.wrapping_add(len),
            len
        )?;
        if self.flags.ack() {
            write!(f, " ack {}", self.ack)?;
        }
        write!(f, " win {}", self.window)?;
        if self.flags.urg() {
            write!(f, " urg {}", self.urgent)?;
        }
        if !self.options.is_empty() {
            write!(f, " {}", options_text(&self.options))?;
        }
        if let Some((s, d)) = self.udp {
            write!(f, "/udp({s} > {d})")?;
        }
        Ok(())
    }
}
