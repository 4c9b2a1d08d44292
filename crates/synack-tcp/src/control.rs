//! Control segments sent without a connection's output path: RSTs that outlive (or never had)
//! a TCB, and SYN cookie replies. Both are queued, bounded, and written by
//! `Endpoint::poll_transmit` ahead of connection output.

use alloc::collections::VecDeque;

use synack_wire::SeqNum;
use synack_wire::tcp::{OptionLayout, TcpFlags, TcpOptions, Timestamps};

use crate::emit::Header;
use crate::secret::FourTuple;
use crate::time::{Duration, Instant};

/// Most stateless control segments (RSTs, cookie SYN-ACKs, challenge ACKs) waiting to be sent.
const MAX_CTL: usize = 4096;

/// A control segment that has no (or no longer a) connection behind it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CtlSegment {
    pub(crate) tuple: FourTuple,
    pub(crate) seq: SeqNum,
    /// `Some` sets ACK.
    pub(crate) ack: Option<SeqNum>,
    pub(crate) flags: TcpFlags,
    /// A timestamps option to carry (Linux's form of an abort's RST, `AbortReset::Linux`).
    pub(crate) ts: Option<Timestamps>,
}

impl CtlSegment {
    /// `<SEQ=seq><CTL=RST>`: the reply to a segment carrying an ACK that nothing here accepts
    /// (RFC 9293 3.10.7.1 to 3.10.7.4).
    pub(crate) fn rst(tuple: FourTuple, seq: SeqNum) -> CtlSegment {
        CtlSegment { tuple, seq, ack: None, flags: TcpFlags::RST, ts: None }
    }

    /// `<SEQ=seq><ACK=ack><CTL=RST,ACK>`: the reply to a segment without an ACK.
    pub(crate) fn rst_ack(tuple: FourTuple, seq: SeqNum, ack: SeqNum) -> CtlSegment {
        CtlSegment { tuple, seq, ack: Some(ack), flags: TcpFlags::RST, ts: None }
    }

    /// The header to write.
    pub(crate) fn header(&self) -> Header {
        let flags = if self.ack.is_some() { self.flags | TcpFlags::ACK } else { self.flags };
        Header {
            src_port: self.tuple.local.port(),
            dst_port: self.tuple.remote.port(),
            seq: self.seq.0,
            ack: self.ack.map(|a| a.0).unwrap_or(0),
            flags,
            window: 0,
            urgent: 0,
            options: TcpOptions { timestamps: self.ts, ..TcpOptions::default() },
            layout: OptionLayout::Linux,
            payload_sum: 0,
        }
    }
}

/// A cookie SYN-ACK (RFC 4987): everything the stateless reply needs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CookieReply {
    pub(crate) tuple: FourTuple,
    pub(crate) iss: SeqNum,
    pub(crate) ack: SeqNum,
    pub(crate) window: u16,
    pub(crate) options: TcpOptions,
    pub(crate) layout: OptionLayout,
}

impl CookieReply {
    /// The SYN-ACK's header.
    pub(crate) fn header(&self) -> Header {
        Header {
            src_port: self.tuple.local.port(),
            dst_port: self.tuple.remote.port(),
            seq: self.iss.0,
            ack: self.ack.0,
            flags: TcpFlags::SYN | TcpFlags::ACK,
            window: self.window,
            urgent: 0,
            options: self.options,
            layout: self.layout,
            payload_sum: 0,
        }
    }
}

/// Bounded queue of stateless control segments.
#[derive(Default)]
pub(crate) struct CtlQueue {
    q: VecDeque<CtlSegment>,
    cookies: VecDeque<CookieReply>,
}

impl CtlQueue {
    pub(crate) fn push(&mut self, s: CtlSegment) {
        if self.q.len() < MAX_CTL {
            self.q.push_back(s);
        }
    }
    pub(crate) fn push_cookie(&mut self, c: CookieReply) {
        if self.cookies.len() < MAX_CTL {
            self.cookies.push_back(c);
        }
    }

    /// The next segment to write: cookie SYN-ACKs first, then the others.
    pub(crate) fn pop(&mut self) -> Option<(FourTuple, Header)> {
        if let Some(c) = self.cookies.pop_front() {
            return Some((c.tuple, c.header()));
        }
        self.q.pop_front().map(|c| (c.tuple, c.header()))
    }
}

/// Token bucket per second for challenge ACKs (RFC 5961 section 7).
pub(crate) struct RateLimit {
    per_sec: u32,
    window_start: Instant,
    used: u32,
}

impl RateLimit {
    pub(crate) fn new(per_sec: u32) -> RateLimit {
        RateLimit { per_sec, window_start: Instant::ZERO, used: 0 }
    }

    pub(crate) fn allow(&mut self, now: Instant) -> bool {
        if now.saturating_since(self.window_start) >= Duration::from_secs(1) {
            self.window_start = now;
            self.used = 0;
        }
        if self.used < self.per_sec {
            self.used += 1;
            true
        } else {
            false
        }
    }
}
