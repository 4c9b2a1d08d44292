//! `tracing` events for operators, emitted by the driver from what the engine and the
//! interface already report: engine events (connections opening, closing and failing,
//! retransmission trouble), outgoing segments (resets sent), the interface's drop counters and
//! device errors. All at target `synack`.
//!
//! Off by default and cheap when off: each call site checks tracing's cached interest first,
//! and the work behind an event (a 4-tuple or statistics lookup, a scan of the drop counters)
//! happens only when a subscriber wants it. `examples/trace_cost.rs` measures the difference.

use std::io;

use synack_stack::DropReason;
use synack_stack::iface::{Counters, SegmentOut};
use synack_tcp::{ConnId, Endpoint, Event, SoftError};
use tracing::{Level, debug, enabled, error, info, trace, warn};

const TARGET: &str = "synack";

/// The span the driver thread runs in, naming the stack by its first address.
pub(crate) fn driver_span(first_address: Option<std::net::IpAddr>) -> tracing::Span {
    tracing::info_span!(target: TARGET, "synack_driver", addr = ?first_address)
}

/// Reports one engine event (before the application sees it).
pub(crate) fn event(ep: &Endpoint, ev: &Event) {
    match *ev {
        Event::Connected(conn) => {
            info!(target: TARGET, conn = %conn, tuple = %Tuple(ep, conn), "connection open");
        }
        Event::Closed(conn) => {
            info!(target: TARGET, conn = %conn, reason = "closed", "connection closed");
        }
        Event::Error { conn, error } => {
            let retransmits = Stat(ep, conn, |s| s.retransmits);
            let timeouts = Stat(ep, conn, |s| s.timeouts);
            // INFO, not WARN: refused, reset and timed-out connections are ordinary traffic
            // for a server or a forwarder, and the application gets the error from its call.
            info!(
                target: TARGET,
                conn = %conn,
                tuple = %Tuple(ep, conn),
                reason = %error,
                retransmits = %retransmits,
                rtos = %timeouts,
                "connection failed"
            );
        }
        Event::SoftError { conn, error: SoftError::ExcessiveRetransmissions } => {
            let rto = Stat(ep, conn, |s| u64::try_from(s.rto.as_millis()).unwrap_or(u64::MAX));
            let timeouts = Stat(ep, conn, |s| s.timeouts);
            warn!(
                target: TARGET,
                conn = %conn,
                rtos = %timeouts,
                rto_ms = %rto,
                "retransmission timeouts reached R1: the path may be broken"
            );
        }
        Event::SoftError { conn, error } => {
            debug!(target: TARGET, conn = %conn, error = ?error, "soft error");
        }
        Event::StateChanged { conn, old, new } => {
            trace!(target: TARGET, conn = %conn, ?old, ?new, "state");
        }
        _ => {}
    }
}

/// Reports a segment the engine is sending, if it is a reset.
pub(crate) fn segment_out(out: &SegmentOut, segment: &[u8]) {
    const RST: u8 = 0x04;
    if segment.len() >= 20 && segment[13] & RST != 0 && enabled!(target: TARGET, Level::INFO) {
        let port = |i: usize| u16::from_be_bytes([segment[i], segment[i + 1]]);
        info!(
            target: TARGET,
            src = %std::net::SocketAddr::new(out.src, port(0)),
            dst = %std::net::SocketAddr::new(out.dst, port(2)),
            "reset sent"
        );
    }
}

/// Follows the interface's drop counters and reports what each round dropped, by reason.
#[derive(Debug, Default)]
pub(crate) struct Drops {
    seen: Vec<u64>,
}

impl Drops {
    pub(crate) fn check(&mut self, c: &Counters) {
        if !enabled!(target: TARGET, Level::DEBUG) {
            return;
        }
        if self.seen.len() != DropReason::ALL.len() {
            self.seen = DropReason::ALL.iter().map(|&r| c.dropped(r)).collect();
            return;
        }
        for (i, &r) in DropReason::ALL.iter().enumerate() {
            let now = c.dropped(r);
            if now > self.seen[i] {
                debug!(target: TARGET, reason = r.name(), count = now - self.seen[i], "dropped");
                self.seen[i] = now;
            }
        }
    }
}

/// Reports the error that stopped the driver.
pub(crate) fn device_error(e: &io::Error) {
    error!(target: TARGET, error = %e, kind = ?e.kind(), "device failed: the driver stops");
}

/// A connection's 4-tuple, looked up only when printed.
struct Tuple<'a>(&'a Endpoint, ConnId);

impl std::fmt::Display for Tuple<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.four_tuple(self.1) {
            Ok(t) => write!(f, "{} -> {}", t.local, t.remote),
            Err(_) => f.write_str("(released)"),
        }
    }
}

/// One number from a connection's statistics, looked up only when printed.
struct Stat<'a>(&'a Endpoint, ConnId, fn(&synack_tcp::ConnStats) -> u64);

impl std::fmt::Display for Stat<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.stats(self.1) {
            Ok(s) => write!(f, "{}", (self.2)(&s)),
            Err(_) => f.write_str("?"),
        }
    }
}
