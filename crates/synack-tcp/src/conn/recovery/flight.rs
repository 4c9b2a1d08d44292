//! The loss state that exists only once data has been sent ([`Flight`], boxed in a
//! [`FlightSlot`] and reused through [`SpareFlight`]), and the segment log the statistics read
//! from it or from what RACK remembers between flights.

use crate::cc::Prr;
use crate::rack::{Rack, RackConfig, RackMemory};
use crate::rate::TxLog;
use crate::scoreboard::{NewRenoRecovery, Scoreboard};
use alloc::boxed::Box;
use synack_wire::SeqNum;

/// The loss state that only matters once data has been sent: kept out of line so an idle
/// connection does not carry it (an idle connection stays under 1 KiB). It is built
/// lazily, the first time an operation would change it from its fresh value; operations
/// that provably leave a fresh value unchanged (an ACK with nothing sent, no SACK blocks and
/// no duplicate) skip it, so the wire output is the same as with the state inline. Its box
/// is reused: parked between flights and handed between connections by the endpoint
/// (`spares`), so short flights allocate nothing once the endpoint has a few spare; never
/// an allocation per segment.
#[derive(Debug)]
pub(in crate::conn) struct Flight {
    /// The RFC 6675 scoreboard.
    pub(super) sb: Scoreboard,
    /// RACK-TLP (RFC 8985), active with SACK when configured. Its per-segment log is fed
    /// on every connection once established, RACK on or off, because the statistics Linux
    /// reports from its own segment log (`ConnStats::reordering`, `retrans_segments`,
    /// `unacked_segments`, `reordering_events`) are read from it; with RACK off it is built
    /// with loss detection and TLP disabled, so it marks nothing and the sender never
    /// consults it for loss.
    pub(super) rack: Rack,
    pub(super) reno: NewRenoRecovery,
    pub(super) prr: Prr,
    /// The delivery-rate sampler's per-segment snapshots (`crate::rate`).
    pub(super) txlog: TxLog,
    /// During recovery with PRR: the window PRR set on the last ACK (`pipe + sndcnt`), which
    /// replaces `cwnd` (and NewReno's inflation) until recovery ends.
    pub(super) prr_cwnd: Option<u32>,
    /// Without SACK: bytes the duplicate ACKs say arrived above SND.UNA (one SMSS each, as
    /// RFC 6937 estimates DeliveredData for a receiver without SACK), less what later
    /// cumulative ACKs covered. PRR's `pipe` without a scoreboard.
    pub(super) reno_sacked: u32,
    /// An ECN-Echo reduced the window outside loss recovery: PRR paces the reduction until
    /// this SND.MAX (the window of data the echo refers to) is acknowledged.
    pub(super) cwr_until: Option<SeqNum>,
    /// False while parked (see [`FlightSlot`]): the values are stale, the flight is fresh.
    pub(super) live: bool,
}

/// The slot holding a connection's [`Flight`], if any. A box whose `live` is false is parked:
/// its values mean nothing (the flight is fresh, as with no box), and it waits to be reused
/// by the next flight or collected by the endpoint for another connection
/// ([`Recovery::take_parked`](super::Recovery::take_parked)), so a connection that sends in short bursts does not allocate
/// one per burst.
#[derive(Debug)]
pub(crate) struct FlightSlot(pub(super) Option<Box<Flight>>);

impl FlightSlot {
    /// Bytes currently SACKed (`ConnStats::sacked`); none without a flight.
    pub(crate) fn sacked_bytes(&self) -> u32 {
        self.live().map_or(0, |f| f.sb.sacked_bytes())
    }

    /// The flight state, unless fresh.
    pub(super) fn live(&self) -> Option<&Flight> {
        self.0.as_deref().filter(|f| f.live)
    }

    /// The flight state, unless fresh.
    pub(super) fn live_mut(&mut self) -> Option<&mut Flight> {
        self.0.as_deref_mut().filter(|f| f.live)
    }

    pub(super) fn is_live(&self) -> bool {
        self.live().is_some()
    }

    /// The flight state becomes fresh again; its box stays for reuse.
    pub(super) fn park(&mut self) {
        if let Some(f) = self.0.as_deref_mut() {
            f.live = false;
        }
    }
}

/// A parked [`Flight`] box kept by the endpoint for the next connection that sends.
#[derive(Debug)]
pub(crate) struct SpareFlight(pub(super) Box<Flight>);

impl SpareFlight {
    /// RACK's log holds at most this many records' worth of storage in a box worth keeping
    /// (a box that carried a long flight is let go rather than pinning its log).
    const MAX_LOG: usize = 16;

    /// A box kept among the few long-flight ones has room for at most this many records in
    /// each log (a window of 1,024 segments, 1.5 MB at MSS 1448).
    const MAX_BIG_LOG: usize = 1024;

    /// Whether the box is small enough to keep.
    pub(crate) fn worth_keeping(&self) -> bool {
        self.0.rack.log_capacity() <= Self::MAX_LOG
    }

    /// Whether the box is small enough to keep among the few long-flight ones.
    pub(crate) fn worth_keeping_big(&self) -> bool {
        self.0.rack.log_capacity() <= Self::MAX_BIG_LOG
            && self.0.txlog.capacity() <= Self::MAX_BIG_LOG
    }
}

/// The segment log the statistics read: the live one while data is in flight, or what it
/// remembered when the last flight ended (a log with no segments in it).
#[derive(Clone, Copy, Debug)]
pub(crate) enum SegmentLog<'a> {
    /// Data in flight (or recently).
    Live(&'a Rack),
    /// Between flights.
    Between(&'a RackMemory),
}

impl SegmentLog<'_> {
    /// [`Rack::retransmitted_segments`] (none between flights).
    pub(crate) fn retransmitted_segments(&self) -> u32 {
        match self {
            SegmentLog::Live(r) => r.retransmitted_segments(),
            SegmentLog::Between(_) => 0,
        }
    }

    /// [`Rack::unacked_segments`] (none between flights).
    pub(crate) fn unacked_segments(&self) -> u32 {
        match self {
            SegmentLog::Live(r) => r.unacked_segments(),
            SegmentLog::Between(_) => 0,
        }
    }

    /// [`Rack::reordering`].
    pub(crate) fn reordering(&self, mss: u32) -> u32 {
        match self {
            SegmentLog::Live(r) => r.reordering(mss),
            SegmentLog::Between(m) => m.reordering(mss),
        }
    }

    /// [`Rack::reordering_events`].
    pub(crate) fn reordering_events(&self) -> u32 {
        match self {
            SegmentLog::Live(r) => r.reordering_events(),
            SegmentLog::Between(m) => m.reordering_events(),
        }
    }
}

impl Flight {
    /// Nothing sent since SND.UNA = `una`: what `Recovery::new` and `on_established` build,
    /// with RACK remembering `mem` from earlier flights.
    pub(super) fn fresh(una: SeqNum, smss: u32, rack_on: bool, mem: &RackMemory) -> Flight {
        Flight {
            sb: Scoreboard::new(una, smss),
            rack: Rack::resume(rack_config(rack_on), una, mem),
            reno: NewRenoRecovery::new(una),
            prr: Prr::new(smss),
            txlog: TxLog::new(),
            prr_cwnd: None,
            reno_sacked: 0,
            cwr_until: None,
            live: true,
        }
    }

    /// A fresh flight in a new box (the first flight of a connection that got no spare).
    #[cold]
    #[inline(never)]
    pub(super) fn boxed(una: SeqNum, smss: u32, rack_on: bool, mem: &RackMemory) -> Box<Flight> {
        Box::new(Flight::fresh(una, smss, rack_on, mem))
    }

    /// Becomes [`Flight::fresh`] in place, keeping the allocations of RACK's and the
    /// delivery-rate sampler's logs. Field by field: a whole fresh flight built beside this
    /// one and swapped in would be copied in and out whole, once per flight.
    #[cold]
    #[inline(never)]
    pub(super) fn renew(&mut self, una: SeqNum, smss: u32, rack_on: bool, mem: &RackMemory) {
        let Flight { sb, rack, reno, prr, txlog, prr_cwnd, reno_sacked, cwr_until, live } = self;
        *sb = Scoreboard::new(una, smss);
        let mut old_rack = core::mem::replace(rack, Rack::resume(rack_config(rack_on), una, mem));
        rack.reuse_log(&mut old_rack);
        *reno = NewRenoRecovery::new(una);
        *prr = Prr::new(smss);
        let mut old_txlog = core::mem::replace(txlog, TxLog::new());
        txlog.reuse(&mut old_txlog);
        *prr_cwnd = None;
        *reno_sacked = 0;
        *cwr_until = None;
        *live = true;
    }
}

/// The configuration of a flight's RACK: loss detection and TLP on or off together.
fn rack_config(rack_on: bool) -> RackConfig {
    RackConfig { enabled: rack_on, tlp: rack_on, ..RackConfig::default() }
}
