//! The connection's loss recovery and congestion control wiring: it feeds ACKs to the
//! congestion controller ([`crate::cc`]) and to the SACK scoreboard (RFC 6675) or the NewReno
//! recovery state (RFC 5681, RFC 6582, RFC 3042), and tells the sender how much it may send and
//! what to retransmit first. The algorithms live in `cc/` and `scoreboard.rs`; this module only
//! decides when to call them.

use crate::cc::{AckSample, CcAlgorithm, CcConfig, Controller, CwndUse};
use crate::config::CongestionControl as CcChoice;
use crate::rack::{Rack, RackMemory, RackOutcome, TlpOutcome};
use crate::rate::DeliveryState;
use crate::scoreboard::{
    AckFields, AckOutcome, DupAckAction, DupAckCounter, NewRenoAck, NextSeg, Scoreboard,
    is_duplicate_ack, limited_transmit_allowance,
};
use crate::time::{Duration, Instant};
use synack_wire::SeqNum;
use synack_wire::tcp::SackBlock;

mod flight;
mod prr;

pub(super) use flight::Flight;
pub(crate) use flight::{FlightSlot, SegmentLog, SpareFlight};

/// What one ACK looked like, for [`Recovery::on_ack`].
pub(crate) struct AckInfo<'a> {
    pub(crate) now: Instant,
    /// SND.UNA before this ACK.
    pub(crate) una_before: SeqNum,
    pub(crate) ack: SeqNum,
    /// SND.MAX (highest sequence number sent).
    pub(crate) snd_max: SeqNum,
    /// The window this ACK advertised (scaled).
    pub(crate) window: u32,
    pub(crate) payload_len: u32,
    pub(crate) syn_or_fin: bool,
    pub(crate) sack: &'a [SackBlock],
    /// Data bytes newly acknowledged cumulatively.
    pub(crate) bytes_acked: u32,
    pub(crate) rtt: Option<Duration>,
    pub(crate) srtt: Option<Duration>,
    /// The smallest RTT seen (delivery-rate samples shorter than it are not trusted).
    pub(crate) min_rtt: Option<Duration>,
    /// The ACK echoed congestion (ECE): what it delivered counts in `tcpi_delivered_ce`.
    pub(crate) ece: bool,
    pub(crate) smss: u32,
    /// `ConnConfig::sack_growth_above_reordering`.
    pub(crate) sack_growth_above: Option<core::num::NonZeroU8>,
}

/// The fields of an ACK [`Recovery::ack_of_nothing`] reads (as in [`AckInfo`]), enough to
/// tell a receiver's ACK of nothing new from the rest before the others are gathered.
pub(crate) struct NothingAcked {
    pub(crate) una_before: SeqNum,
    pub(crate) ack: SeqNum,
    pub(crate) snd_max: SeqNum,
    pub(crate) bytes_acked: u32,
    /// The ACK carries SACK blocks (that the connection reads).
    pub(crate) sack_blocks: bool,
    pub(crate) window: u32,
}

/// Recovery and congestion state of one connection's sender.
pub(crate) struct Recovery {
    pub(crate) cc: Controller,
    /// The path MTU before black-hole detection lowered it (`ConnConfig::pmtud_blackhole`),
    /// restored when the smaller sizes did not get through either; 0 when not lowered. Kept
    /// with the segment size the loss machinery uses (and where `Conn`'s pinned size has room).
    pub(crate) blackhole_saved_mtu: u16,
    /// The MTU our MSS option is derived from (MMS_R): the link MTU, lowered only by a "packet
    /// too big" this connection itself receives (a SYN sent again then offers the smaller
    /// size, as Linux does). Kept here for `Conn`'s pinned size.
    pub(crate) adv_mtu: u16,
    /// Path MTU probing's search (`ConnConfig::mtu_probing`), on the connections that probe.
    pub(crate) mtu_search: Option<alloc::boxed::Box<super::mtu_probe::MtuSearch>>,
    algorithm: CcAlgorithm,
    sack: bool,
    /// The per-flight loss state (the scoreboard, RACK's segment log, NewReno's recovery,
    /// PRR), built the first time it would hold anything but its fresh value and parked
    /// when everything sent is acknowledged and nothing is pending (see [`Flight`]); empty or
    /// parked means exactly `Flight::fresh(self.base_una, ..)`. The endpoint takes a parked
    /// box away after the call that parked it, so an idle connection does not carry it
    /// (idle memory). Named `sb` because the statistics outside this module read
    /// the SACKed byte count as `rec.sb.sacked_bytes()`.
    pub(crate) sb: FlightSlot,
    /// What RACK remembers between flights (RTTs, reordering window and measurements);
    /// while a [`Flight`] exists its log holds the current values.
    rack_mem: RackMemory,
    /// SND.UNA the fresh [`Flight`] starts from (the last `on_established`, `new`, or the
    /// ACK that acknowledged the last flight).
    base_una: SeqNum,
    /// SMSS for a fresh [`Flight`]'s PRR.
    smss: u32,
    /// The fresh [`Flight`]'s RACK has loss detection and TLP on (fixed at the handshake).
    rack_built_on: bool,
    dup: DupAckCounter,
    last_window: u32,
    /// A retransmission to send before anything else (fast retransmit, partial ACK).
    pub(crate) rtx: Option<(SeqNum, u32)>,
    /// When data was last sent (restart after idle, RFC 5681 4.1).
    last_send: Option<Instant>,
    /// Segments judged lost (fast retransmits and RTO retransmissions), for stats (4 bytes,
    /// saturating, which keeps `Conn` within its size).
    pub(crate) lost: u32,
    /// RACK's segment log (in [`Flight`]) is being fed (the connection is established).
    logging: bool,
    rack_wanted: bool,
    /// When RACK wants loss detection run again (its reordering timer).
    pub(crate) reorder_at: Option<Instant>,
    /// The last ACK was a later partial ACK: leave the retransmission timer running
    /// (RFC 6582's "Impatient" variant), so many losses in one window end in an RTO and
    /// slow start rather than one retransmission per round trip.
    pub(crate) hold_timer: bool,
    /// Proportional Rate Reduction (RFC 6937) paces recovery (the connection's `prr` option).
    prr_wanted: bool,
    /// Whether the flight filled the window (RFC 7661): growth only when it did.
    cwnd_use: CwndUse,
    /// The retransmission timer expired and no ACK has advanced SND.UNA since: a further
    /// expiry is a backoff of the same loss, not a new one.
    rto_pending: bool,
    /// HyStart++ (RFC 9406) in the controller's initial slow start.
    hystart: bool,
    /// RFC 3465's L for slow start, from `ConnConfig::slow_start_ack_limit`, in 2 bytes
    /// (`u16::MAX`: no cap), which keeps `Conn` within its size.
    abc_limit: u16,
    /// An RTO's reduction starts from cwnd rather than FlightSize
    /// (`ConnConfig::rto_from_cwnd`).
    rto_from_cwnd: bool,
    /// Delivery-rate estimation's connection state (its per-segment log is in [`Flight`]).
    pub(crate) rate: DeliveryState,
}

impl core::fmt::Debug for Recovery {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Recovery")
            .field("cc", &self.cc.name())
            .field("cwnd", &self.cc.cwnd())
            .finish_non_exhaustive()
    }
}

/// RFC 3465's L in the 2 bytes `Recovery` keeps it in: `u16::MAX` for no cap, larger limits
/// held just below it (no configuration asks for 65,534 segments per ACK).
fn abc_limit_small(limit: u32) -> u16 {
    if limit == u32::MAX { u16::MAX } else { limit.min(u32::from(u16::MAX - 1)) as u16 }
}

fn abc_limit_wide(limit: u16) -> u32 {
    if limit == u16::MAX { u32::MAX } else { u32::from(limit) }
}

fn algorithm(c: CcChoice) -> CcAlgorithm {
    match c {
        CcChoice::NewReno => CcAlgorithm::NewReno,
        CcChoice::Cubic => CcAlgorithm::Cubic,
        CcChoice::LinuxCubic => CcAlgorithm::LinuxCubic,
        CcChoice::Bbr => CcAlgorithm::Bbr,
    }
}

impl Recovery {
    pub(crate) fn new(choice: CcChoice, smss: u32, una: SeqNum) -> Recovery {
        Recovery {
            blackhole_saved_mtu: 0,
            adv_mtu: 0,
            mtu_search: None,
            cc: algorithm(choice).build_inline(CcConfig::new(smss)),
            algorithm: algorithm(choice),
            sack: false,
            sb: FlightSlot(None),
            rack_mem: RackMemory::fresh(una),
            base_una: una,
            smss,
            rack_built_on: false,
            dup: DupAckCounter::new(),
            last_window: 0,
            rtx: None,
            last_send: None,
            lost: 0,
            hold_timer: false,
            rack_wanted: false,
            logging: false,
            reorder_at: None,
            prr_wanted: true,
            abc_limit: abc_limit_small(CcConfig::new(smss).abc_limit),
            rto_from_cwnd: false,
            cwnd_use: CwndUse::new(),
            rto_pending: false,
            hystart: true,
            rate: DeliveryState::new(),
        }
    }

    /// A new connection's (`Conn::new`): segment size 536 until the handshake, RACK, PRR and
    /// HyStart++ as `cfg` asks, and `adv_mtu` (see [`Recovery::adv_mtu`]). One literal, so
    /// that the connection's literal holds it without a copy.
    #[inline]
    pub(crate) fn for_connection(cfg: &crate::config::ConnConfig, adv_mtu: u16) -> Recovery {
        Recovery {
            adv_mtu,
            rack_wanted: cfg.rack,
            prr_wanted: cfg.prr,
            hystart: cfg.hystart,
            ..Recovery::new(cfg.congestion_control, 536, SeqNum(0))
        }
    }

    /// The per-flight state, built now if it is still implicit (fresh). Inline, with the
    /// building out of line: every sent segment asks for it several times, and builds it at
    /// most once a flight.
    #[inline]
    fn fl_mut(&mut self) -> &mut Flight {
        let (una, smss, on) = (self.base_una, self.smss, self.rack_built_on);
        let mem = &self.rack_mem;
        let f = self.sb.0.get_or_insert_with(|| Flight::boxed(una, smss, on, mem));
        if !f.live {
            f.renew(una, smss, on, mem);
        }
        f
    }

    /// Takes the parked flight box, if the flight is fresh and one is parked here.
    pub(crate) fn take_parked(&mut self) -> Option<SpareFlight> {
        if self.sb.0.as_ref().is_some_and(|f| !f.live) {
            self.sb.0.take().map(SpareFlight)
        } else {
            None
        }
    }

    /// Takes the flight box whatever it holds (the connection is gone).
    pub(crate) fn take_any(&mut self) -> Option<SpareFlight> {
        self.sb.0.take().map(SpareFlight)
    }

    /// Parks `spare` here for the next flight to use, if the slot is empty; else gives it back.
    pub(crate) fn lend(&mut self, spare: SpareFlight) -> Result<(), SpareFlight> {
        if self.sb.0.is_some() {
            return Err(spare);
        }
        let mut b = spare.0;
        b.live = false;
        self.sb.0 = Some(b);
        Ok(())
    }

    /// A flight box is here, parked or live.
    pub(crate) fn has_flight_box(&self) -> bool {
        self.sb.0.is_some()
    }

    /// The per-flight state if built (`None`: fresh, see [`Flight`]).
    fn fl(&self) -> Option<&Flight> {
        self.sb.live()
    }

    /// The scoreboard if built (`None`: fresh, nothing outstanding).
    fn sbr(&self) -> Option<&Scoreboard> {
        self.fl().map(|f| &f.sb)
    }

    /// The scoreboard is in SACK recovery (never when fresh).
    fn sb_in_recovery(&self) -> bool {
        self.sbr().is_some_and(Scoreboard::in_recovery)
    }

    /// RFC 6675 IsLost bytes not yet retransmitted (none when fresh).
    fn sb_lost_bytes(&self) -> u32 {
        self.sbr().map_or(0, Scoreboard::lost_bytes)
    }

    /// The SACKed ranges above SND.UNA, in order (none when fresh).
    pub(crate) fn sacked_ranges(&self) -> impl Iterator<Item = (SeqNum, SeqNum)> + '_ {
        self.sbr().into_iter().flat_map(Scoreboard::sacked_ranges)
    }

    /// The per-flight state is fresh: nothing outstanding is logged, nothing judged lost, no
    /// recovery under way.
    pub(crate) fn flight_fresh(&self) -> bool {
        !self.sb.is_live()
    }

    /// True once the per-flight loss state has been allocated (for tests of idle memory).
    #[cfg(test)]
    pub(crate) fn flight_state_allocated(&self) -> bool {
        self.sb.is_live()
    }

    /// RACK, for the sender's tail-loss-probe bookkeeping (builds the per-flight state).
    pub(crate) fn rack_mut(&mut self) -> &mut Rack {
        &mut self.fl_mut().rack
    }

    /// The start of the last segment RACK logged (`None` with nothing logged).
    pub(crate) fn rack_last_segment_start(&self) -> Option<SeqNum> {
        // A fresh log is empty.
        self.fl().and_then(|f| f.rack.last_segment_start())
    }

    /// Slow-start growth cap per ACK in segments (`None`: none); read by `on_established`.
    pub(crate) fn want_abc_limit(&mut self, limit: Option<u32>) {
        self.abc_limit = abc_limit_small(limit.unwrap_or(u32::MAX));
    }

    /// HyStart++ on or off (the connection's `ConnConfig::hystart`; takes effect when the
    /// controller is built at the handshake).
    pub(crate) fn want_rto_from_cwnd(&mut self, on: bool) {
        self.rto_from_cwnd = on;
    }

    /// Whether the measured reordering degree exceeds `above` segments, which lets an ACK
    /// that only SACKs new data grow the window (`ConnConfig::sack_growth_above_reordering`).
    fn sack_growth_allowed(&self, above: Option<core::num::NonZeroU8>, smss: u32) -> bool {
        above.is_some_and(|n| {
            self.fl().is_some_and(|f| f.rack.reordering(smss) > u32::from(n.get()))
        })
    }

    /// The flight an RTO reduces from: FlightSize, or cwnd when the connection computes
    /// ssthresh at a timeout from the window as Linux does (the controller caps it by cwnd).
    fn rto_basis(&self, flight: u32) -> u32 {
        if self.rto_from_cwnd { self.cc.cwnd() } else { flight }
    }

    pub(crate) fn want_hystart(&mut self, on: bool) {
        self.hystart = on;
    }

    /// The handshake measured `rtt`: a controller that paces from the start (BBR) sets its
    /// first rate from it. Called after [`Recovery::on_established`] built the controller.
    pub(crate) fn on_handshake_rtt(&mut self, rtt: Duration) {
        if let Controller::Bbr(b) = &mut self.cc {
            b.set_initial_rtt(rtt);
        }
    }

    /// The controller's settings for SMSS `smss` and an initial window of `iw_segments`
    /// (`None`: RFC 6928's).
    fn cc_config(&self, smss: u32, iw_segments: Option<u16>) -> CcConfig {
        let defaults = CcConfig::new(smss);
        CcConfig {
            initial_window_segments: iw_segments
                .map_or(defaults.initial_window_segments, u32::from),
            hystart: self.hystart,
            abc_limit: abc_limit_wide(self.abc_limit),
            ..defaults
        }
    }

    /// NewReno's window inflation (zero outside its recovery, so zero when fresh).
    fn reno_extra(&self) -> u32 {
        self.fl().map_or(0, |f| f.reno.extra_window())
    }

    /// The window the sender obeys now, for statistics (`ConnStats::cwnd`, Linux's
    /// `tcpi_snd_cwnd`): in recovery with PRR, PRR's `pipe + sndcnt` from the last ACK (what
    /// Linux writes into `snd_cwnd` during a reduction); in NewReno recovery without PRR, the
    /// inflated window (cwnd plus RFC 6582's inflation); otherwise the controller's cwnd.
    pub(crate) fn effective_cwnd(&self) -> u32 {
        match self.prr_window() {
            Some(w) => w,
            None => self.cc.cwnd().saturating_add(self.reno_extra()),
        }
    }

    /// Data was sent, or was ready and the window held it back (`held`): record whether the
    /// window was full, for RFC 7661 growth. `una`, `snd_max` after the send.
    #[inline]
    pub(crate) fn on_window_use(&mut self, una: SeqNum, snd_max: SeqNum, smss: u32, held: bool) {
        let flight = self.flight(una, snd_max);
        let full = held || self.allowance(flight, smss) < smss.max(1);
        self.cwnd_use.on_send(una, snd_max, snd_max.since(una), full);
    }

    /// RACK-TLP on or off (takes effect at the handshake; needs SACK). A connection sets it
    /// at birth ([`Recovery::for_connection`]).
    #[cfg(test)]
    pub(crate) fn want_rack(&mut self, on: bool) {
        self.rack_wanted = on;
    }

    /// RACK-TLP is in use on this connection.
    pub(crate) fn rack_on(&self) -> bool {
        self.sack && self.rack_wanted
    }

    /// The segment log (RACK's, loss detection on or off) once it is being fed, for the
    /// statistics read from it.
    pub(crate) fn segment_log(&self) -> Option<SegmentLog<'_>> {
        self.logging.then(|| match self.fl() {
            Some(f) => SegmentLog::Live(&f.rack),
            None => SegmentLog::Between(&self.rack_mem),
        })
    }

    /// The handshake is done: SMSS and SACK are known, SND.UNA is the first data byte.
    /// `iw_segments`: the initial window in segments (`None`: RFC 6928's).
    pub(crate) fn on_established(
        &mut self,
        smss: u32,
        sack: bool,
        una: SeqNum,
        iw_segments: Option<u16>,
    ) {
        self.sack = sack;
        self.rack_built_on = sack && self.rack_wanted;
        self.logging = true;
        // A fresh controller: the initial window depends on SMSS (RFC 6928).
        self.cc = self.algorithm.build_inline(self.cc_config(smss, iw_segments));
        //~ linux: BBR sets its own window in recovery (packet conservation, then its model),
        //~ as Linux skips PRR for a controller with its own `cong_control`.
        if self.algorithm == CcAlgorithm::Bbr {
            self.prr_wanted = false;
        }

        // Fresh scoreboard, RACK log, NewReno state and PRR, built when first needed.
        self.base_una = una;
        self.smss = smss;
        self.rack_mem = RackMemory::fresh(una);
        self.sb.park();
        self.cwnd_use = CwndUse::new();
    }

    /// SMSS changed at a retransmission timeout (black-hole detection): this expiry sets the
    /// loss window again, one segment of the new size, as for a first expiry.
    pub(crate) fn mss_changed_at_rto(&mut self, smss: u32) {
        self.set_mss(smss);
        self.rto_pending = false;
    }

    /// SMSS changed (path MTU).
    pub(crate) fn set_mss(&mut self, smss: u32) {
        self.cc.set_mss(smss);
        self.smss = smss;
        if let Some(f) = self.sb.live_mut() {
            f.sb.set_smss(smss);
            f.prr.set_smss(smss);
        }
    }

    /// Duplicate ACKs are arriving or loss recovery is on: segments sent now answer them
    /// one by one (limited transmit, recovery), they are not the end of an application burst.
    pub(crate) fn repairing(&self) -> bool {
        self.in_recovery() || self.dup.count() > 0
    }

    /// Segments currently marked lost and not yet delivered, retransmitted or not (Linux's
    /// `lost_out`): RACK's marks when RACK is on, else RFC 6675 IsLost over the scoreboard
    /// (which, with nothing SACKed, marks nothing).
    pub(crate) fn lost_segments(&self) -> u32 {
        if self.rack_on() {
            // A fresh log has no segments, none lost.
            self.fl().map_or(0, |f| f.rack.lost_segments())
        } else {
            self.sbr().map_or(0, Scoreboard::lost_segments)
        }
    }

    pub(crate) fn in_recovery(&self) -> bool {
        if self.sack {
            self.sb_in_recovery()
        } else {
            self.fl().is_some_and(|f| f.reno.in_recovery())
        }
    }

    /// True after an RTO until the data outstanding at the timeout is acknowledged (SACK
    /// scoreboard only: without SACK there is no tail loss probe to hold back).
    pub(crate) fn in_rto_recovery(&self) -> bool {
        self.sbr().is_some_and(Scoreboard::in_rto_recovery)
    }

    /// Bytes in the network: RFC 6675 `pipe` with SACK, else FlightSize.
    #[inline]
    pub(crate) fn flight(&self, una: SeqNum, snd_max: SeqNum) -> u32 {
        if !self.sack {
            return snd_max.since(una);
        }
        // A fresh scoreboard has nothing outstanding.
        let Some(f) = self.fl() else { return 0 };
        let pipe = f.sb.pipe();
        if self.rack_on() {
            //= rfc8985#6.2
            //~ paraphrase: Segments RACK marked lost are not in flight.
            let rack = f.sb.unsacked_outstanding().saturating_sub(f.rack.lost_bytes());
            pipe.min(rack)
        } else {
            pipe
        }
    }

    /// How many more bytes congestion control lets us put in flight now, `flight` being what
    /// is in flight (before the peer's window is considered).
    #[inline]
    pub(crate) fn allowance(&self, flight: u32, smss: u32) -> u32 {
        if let Some(w) = self.prr_window() {
            //= rfc6937#3.1
            //~ paraphrase: In recovery the sender may have `pipe + sndcnt` in the network: PRR's
            //~ window replaces cwnd, NewReno's inflation and limited transmit.
            return w.saturating_sub(self.pipe_from(flight));
        }
        let cwnd = self.cc.cwnd().saturating_add(self.reno_extra());
        let base = cwnd.saturating_sub(flight);
        if self.sack {
            // With SACK, `flight` is RFC 6675's pipe, from which each SACKed segment has
            // already left: `cwnd - pipe` lets one new segment go per duplicate ACK, which is
            // limited transmit (RFC 3042) itself; adding its allowance on top would count
            // every SACKed segment twice (Linux's in-flight rule does the same).
            return base;
        }
        //= rfc3042#2
        //~ paraphrase: Limited transmit: on the first two duplicate ACKs, one new segment each may
        //~ go.
        let lt = limited_transmit_allowance(self.dup.count(), self.cc.cwnd(), flight, smss);
        base.max(lt)
    }

    /// The window new data would leave under at `now` if the sender were idle: the
    /// controller's restart after idleness (`on_send_new` applies it), worked out on a copy.
    pub(crate) fn cwnd_after_idle(&self, now: Instant, rto: Duration) -> u32 {
        match self.last_send {
            Some(last) if self.prr_window().is_none() => {
                let mut cc = self.cc.clone();
                cc.on_idle_restart(now, now.saturating_since(last), rto);
                cc.cwnd().saturating_add(self.reno_extra())
            }
            _ => self.effective_cwnd(),
        }
    }

    /// The sender is about to send new data at `now`; restarts the window after idleness.
    pub(crate) fn on_send_new(
        &mut self,
        now: Instant,
        start: SeqNum,
        end: SeqNum,
        idle: bool,
        rto: Duration,
    ) {
        if idle && let Some(last) = self.last_send {
            self.cc.on_idle_restart(now, now.saturating_since(last), rto);
        }
        self.last_send = Some(now);
        // HighData moves only past SND.UNA, where a fresh scoreboard has it.
        if end.gt(self.base_una) || self.sb.is_live() {
            self.fl_mut().sb.on_send(end);
        }
        if self.prr_window().is_some() {
            self.fl_mut().prr.on_sent(end.since(start));
        }
        // An empty range leaves RACK's log as it is; data or a FIN goes in it.
        if self.logging && end.gt(start) {
            self.fl_mut().rack.on_transmit(now, start, end, false);
        }
    }

    /// `[start, end)` left at `now` (new data or a retransmission) with `in_flight` bytes in
    /// the network before it: the delivery-rate sampler takes its snapshot.
    #[inline]
    pub(crate) fn on_tx(&mut self, now: Instant, start: SeqNum, end: SeqNum, in_flight: u32) {
        if !self.logging || !end.gt(start) {
            return;
        }
        self.fl_mut();
        let smss = self.smss;
        if let Some(f) = self.sb.live_mut() {
            self.rate.on_send(&mut f.txlog, now, start, end, in_flight, smss);
        }
    }

    /// The sender looked for data to send: with less than `smss` of it unsent, the window
    /// not full (`flight` below cwnd) and no loss waiting for its retransmission, the
    /// application is what limits the sender, and delivery-rate samples say so
    /// (draft-cheng-iccrg-delivery-rate-estimation section 3.2).
    #[inline]
    pub(crate) fn check_app_limited(&mut self, unsent: u32, flight: u32, smss: u32) {
        let Some(f) = self.sb.live() else { return };
        if unsent >= smss || flight >= self.cc.cwnd() || f.txlog.is_app_limited() {
            return;
        }
        let lost_waiting = self.sb_lost_bytes() > 0
            || (self.rack_on() && self.fl().is_some_and(|f| f.rack.lost_bytes() > 0))
            || self.rtx.is_some();
        if !lost_waiting && let Some(f) = self.sb.live_mut() {
            self.rate.on_app_limited(&mut f.txlog, flight);
        }
    }

    /// `bytes` were judged lost: the delivery-rate sampler counts them (BBR's loss rate).
    fn note_lost(&mut self, bytes: u32) {
        if let Some(f) = self.sb.live_mut() {
            f.txlog.on_lost(bytes);
        }
    }

    /// New data from `to` on never left (the device refused it): HighData, RACK's log and
    /// the delivery-rate records forget it, so it is sent as new data again later.
    pub(crate) fn retract_send(&mut self, to: SeqNum) {
        let Some(f) = self.sb.live_mut() else { return };
        f.sb.retract_send(to);
        f.rack.retract_send(to);
        self.rate.retract_send(&mut f.txlog, to);
    }

    /// A retransmission of `[seq, seq+len)` left.
    pub(crate) fn on_retransmit(&mut self, now: Instant, seq: SeqNum, len: u32) {
        self.last_send = Some(now);
        self.fl_mut().sb.on_retransmit(seq, len);
        if self.prr_window().is_some() {
            self.fl_mut().prr.on_sent(len);
        }
        if self.logging && len > 0 {
            self.fl_mut().rack.on_transmit(now, seq, seq + len, true);
        }
        if self.rtx.is_some_and(|(s, _)| s == seq) {
            self.rtx = None;
        }
    }

    /// The SYN carried `[start, end)` and the SYN-ACK acknowledged only the SYN: with RACK,
    /// the data is logged as sent and marked lost, so it is retransmitted (and counted as a
    /// retransmission) before new data, without any congestion response.
    //~ linux: tcp_rcv_fastopen_synack marks the unacknowledged SYN data lost and resends it
    //~ through tcp_non_congestion_loss_retransmit (no window reduction).
    pub(crate) fn on_syn_data_unacked(&mut self, now: Instant, start: SeqNum, end: SeqNum) {
        if !self.rack_on() || !end.gt(start) {
            return;
        }
        self.on_send_new(now, start, end, false, Duration::ZERO);
        if let Some(f) = self.sb.live_mut() {
            f.rack.mark_lost(start, end);
        }
        self.note_lost(end.since(start));
    }

    /// The retransmission of `[seq, seq+len)` was refused by the device: the segments it
    /// repaired are lost again (RACK retransmits them at the next chance), and PRR does not
    /// count it as sent.
    pub(crate) fn on_retransmit_failed(&mut self, seq: SeqNum, len: u32) {
        let counted = self.prr_window().is_some();
        if let Some(f) = self.sb.live_mut() {
            f.rack.retract_retransmission(seq, seq + len);
            if counted {
                f.prr.on_unsent(len);
            }
        }
    }

    /// What SACK recovery wants sent next while `cwnd - pipe >= SMSS` (RFC 6675 5 step C).
    #[inline]
    pub(crate) fn next_seg(&self, can_send_new: bool) -> Option<NextSeg> {
        let sb = self.sbr()?;
        if self.sack && sb.in_recovery() { sb.next_seg(can_send_new) } else { None }
    }

    pub(crate) fn on_rescue(&mut self) {
        self.fl_mut().sb.on_rescue_retransmit();
    }

    /// An acceptable ACK arrived (SND.UNA =< SEG.ACK =< SND.MAX): the two steps the
    /// connection takes ([`Recovery::ack_of_nothing`], then [`Recovery::on_ack_with_news`]),
    /// in one call for the tests.
    #[cfg(test)]
    pub(crate) fn on_ack(&mut self, a: &AckInfo<'_>) {
        let nothing = NothingAcked {
            una_before: a.una_before,
            ack: a.ack,
            snd_max: a.snd_max,
            bytes_acked: a.bytes_acked,
            sack_blocks: !a.sack.is_empty(),
            window: a.window,
        };
        if self.ack_of_nothing(&nothing) {
            return;
        }
        self.on_ack_with_news(a);
    }

    /// [`Recovery::on_ack`] for an ACK [`Recovery::ack_of_nothing`] has just turned down
    /// (the caller asked it first, before gathering the rest of `a`).
    pub(crate) fn on_ack_with_news(&mut self, a: &AckInfo<'_>) {
        self.process_ack(a);
        if a.ack == a.snd_max && self.sb.is_live() {
            self.release_if_idle(a.ack);
        }
    }

    /// The ACK a pure receiver gets with every data segment: it acknowledges nothing new,
    /// nothing is outstanding, it carries no SACK block and the per-flight state is fresh.
    /// [`Recovery::process_ack`] would then build no flight state (no SACK block, no
    /// recovery, and no RFC 5681 duplicate without outstanding data), deliver nothing (so
    /// neither PRR, the delivery-rate sampler nor the controller is asked), find no ECN
    /// reduction, and leave the flight state fresh, so that nothing is parked either. What it
    /// would change is done here: the timer hold is dropped, the duplicate-ACK count reset,
    /// RACK's (empty) outcome clears its reordering deadline, the advertised window is
    /// remembered, and a pending retransmission below the ACK is dropped.
    ///
    /// Returns false, having changed nothing, for any other ACK: it goes to
    /// [`Recovery::on_ack_with_news`].
    pub(crate) fn ack_of_nothing(&mut self, a: &NothingAcked) -> bool {
        if a.ack != a.una_before
            || a.snd_max != a.una_before
            || a.bytes_acked != 0
            || a.sack_blocks
            || self.sb.is_live()
        {
            return false;
        }
        self.hold_timer = false;
        self.dup.reset();
        if self.rack_on() {
            self.reorder_at = None;
        }
        self.last_window = a.window;
        if let Some((s, _)) = self.rtx
            && s.lt(a.ack)
        {
            self.rtx = None;
        }
        true
    }

    /// Everything sent up to `una` is acknowledged: when nothing else is pending (no
    /// recovery, reduction, retransmission, timer or probe), the per-flight state is exactly
    /// a fresh one at `una` plus what RACK remembers, so it is parked and rebuilt (from
    /// [`Recovery::rack_mem`]) with the next data sent. One exception is not bit-for-bit:
    /// NewReno's `recover`, an older point at or below `una`, becomes `una`; it is read only
    /// as `SND.UNA < recover` on a third duplicate ACK, false either way from here on.
    fn release_if_idle(&mut self, una: SeqNum) {
        if self.rtx.is_some() || self.rto_pending || self.reorder_at.is_some() {
            return;
        }
        let Some(f) = self.sb.live() else { return };
        // PRR's counters are read only while `prr_cwnd` is set, and `start` resets them.
        let quiet = f.prr_cwnd.is_none()
            && f.reno_sacked == 0
            && f.cwr_until.is_none()
            && !f.reno.in_recovery()
            && !una.lt(f.reno.recover())
            && f.sb.is_fresh_at(una);
        if !quiet {
            return;
        }
        let Some(mem) = f.rack.quiescent_memory(una) else { return };
        self.rack_mem = mem;
        self.base_una = una;
        self.sb.park();
    }

    /// [`Recovery::on_ack`] without freeing the flight state afterwards.
    fn process_ack(&mut self, a: &AckInfo<'_>) {
        self.hold_timer = false;
        if a.ack.gt(a.una_before) {
            self.rto_pending = false;
        }
        // Without SACK, whether this is an RFC 5681 duplicate (before `last_window` moves).
        let reno_dup = !self.sack && {
            let fields = AckFields {
                ack: a.ack,
                payload_len: a.payload_len,
                syn_or_fin: a.syn_or_fin,
                window: a.window,
            };
            is_duplicate_ack(&fields, a.una_before, a.snd_max, self.last_window)
        };
        if !self.sb.is_live() {
            // The per-flight state is still fresh (nothing logged, no recovery). An ACK
            // leaves it fresh unless it carries SACK blocks, finds the scoreboard in
            // recovery, or (without SACK) is a duplicate; only then is it built. The code
            // below treats a missing one as fresh: RACK on an empty log marks nothing and
            // settles no probe, NewReno outside recovery answers `NotInRecovery`.
            let needed =
                if self.sack { !a.sack.is_empty() || self.sb_in_recovery() } else { reno_dup };
            if needed {
                self.fl_mut();
            }
        }
        //= rfc5681#3.1
        //~ paraphrase: FlightSize is what was sent and not cumulatively acknowledged (not RFC
        //~ 6675's pipe).
        // SACKed bytes count too (RFC 6675 section 5 step 4.2 uses RFC 5681's FlightSize):
        // subtracting them made the SACK path's ssthresh (FlightSize * beta) lower than
        // NewReno's for the same loss, by beta times the DupThresh segments SACKed.
        let flight_before = a.snd_max.since(a.una_before);
        // An ECN reduction under way counts as recovery for growth: the window does not
        // grow while it is being reduced (Linux's CWR state).
        let in_recovery_before =
            self.in_recovery() || self.fl().is_some_and(|f| f.cwr_until.is_some());
        let delivered: u32;
        let mut new_loss = false;
        let lost_before = if self.sack && !self.rack_on() { self.sb_lost_bytes() } else { 0 };
        if self.sack {
            let out = match self.sb.live_mut() {
                Some(f) => f.sb.on_ack(a.ack, a.sack),
                // Fresh, and no SACK blocks (else it was built above): nothing to process.
                None => AckOutcome::default(),
            };
            //= rfc6937#3
            //~ paraphrase: DeliveredData: the change in SND.UNA plus the change in SACKed bytes, so
            //~ data SACKed earlier and now covered by the cumulative ACK is not counted twice.
            delivered = (out.newly_acked - out.sacked_acked.min(out.newly_acked))
                .saturating_add(out.newly_sacked);
            //= rfc3042#2
            //~ paraphrase: Limited transmit applies with SACK too: an ACK carrying new SACK
            //~ information without advancing SND.UNA is a duplicate (RFC 6675 section 2).
            if self.sb_in_recovery() {
                self.dup.reset();
            } else {
                self.dup.on_ack(out.dup_ack);
            }
            if out.enter_recovery {
                //= rfc6675#5
                //~ paraphrase: Enough duplicate ACKs (or IsLost(HighACK)): enter recovery, reduce
                //~ the window once, retransmit the first unacknowledged segment.
                self.cc.on_congestion_event(a.now, flight_before);
                if let NextSeg::Retransmit { seq, len } = self.fl_mut().sb.enter_recovery() {
                    self.rtx = Some((seq, len));
                    self.lost = self.lost.saturating_add(1);
                }
                self.prr_begin(flight_before);
            }
            if out.recovery_ended {
                if let Some(f) = self.sb.live_mut() {
                    f.prr_cwnd = None;
                }
                self.cc.on_recovery_exit(a.now);
            }
            let blocks =
                if out.dsack.is_some() && !a.sack.is_empty() { &a.sack[1..] } else { a.sack };
            let in_rec = self.sb_in_recovery();
            if self.rack_on() {
                //= rfc8985#6.2
                //~ paraphrase: RACK sees every ACK (without a leading D-SACK block) and may declare
                //~ segments sent before the most recently delivered one lost.
                let r = match self.sb.live_mut() {
                    Some(f) => {
                        f.rack.on_ack(a.now, a.ack, blocks, out.dsack.is_some(), a.srtt, in_rec)
                    }
                    None => RackOutcome::default(),
                };
                self.reorder_at = r.reorder_deadline;
                if r.newly_lost > 0 {
                    new_loss = true;
                    self.note_lost(r.newly_lost);
                    self.rack_loss(a.now, flight_before);
                }
                if r.tlp == Some(TlpOutcome::LossRepaired) {
                    //= rfc8985#7.4
                    //~ paraphrase: A probe that repaired a loss calls for one congestion response.
                    self.cc.on_congestion_event(a.now, flight_before);
                }
            } else {
                if self.logging
                    && let Some(f) = self.sb.live_mut()
                {
                    // Statistics only: RACK is built with loss detection off here.
                    f.rack.on_ack(a.now, a.ack, blocks, out.dsack.is_some(), a.srtt, in_rec);
                }
                let still_lost = lost_before.saturating_sub(out.newly_acked);
                if self.sb_lost_bytes() > still_lost {
                    new_loss = true;
                    self.note_lost(self.sb_lost_bytes() - still_lost);
                }
            }
            //= rfc9937#4
            //~ paraphrase: safeACK: the ACK advanced SND.UNA and revealed no further loss.
            let safe = out.newly_acked > 0 && !new_loss;
            self.prr_update(delivered, a.ack, a.snd_max, safe);
        } else {
            let dup = reno_dup;
            //= rfc6937#3.1
            //~ paraphrase: Without SACK, a duplicate ACK counts as one SMSS delivered; a later
            //~ cumulative ACK delivers what it covers less what the duplicates already counted.
            let reno_delivered = if dup {
                let f = self.fl_mut();
                f.reno_sacked =
                    f.reno_sacked.saturating_add(a.smss).min(flight_before.saturating_sub(a.smss));
                a.smss
            } else {
                let n = a.bytes_acked;
                let reno_sacked = self.fl().map_or(0, |f| f.reno_sacked);
                let d = n.saturating_sub(reno_sacked).max(n.min(a.smss));
                if let Some(f) = self.sb.live_mut() {
                    f.reno_sacked = f.reno_sacked.saturating_sub(n.saturating_sub(a.smss));
                }
                d
            };
            match self.dup.on_ack(dup) {
                DupAckAction::FastRetransmit => {
                    //= rfc6582#3.2
                    //~ paraphrase: Third duplicate ACK beyond `recover`: fast retransmit, enter
                    //~ recovery.
                    if self.fl_mut().reno.on_third_dup_ack(a.una_before, a.snd_max, a.smss) {
                        self.cc.on_congestion_event(a.now, flight_before);
                        self.rtx = Some((a.una_before, a.smss));
                        self.note_lost(a.smss);
                        self.lost = self.lost.saturating_add(1);
                        self.prr_begin(flight_before);
                    }
                }
                DupAckAction::InRecovery => self.fl_mut().reno.on_dup_ack(a.smss),
                DupAckAction::LimitedTransmit | DupAckAction::None => {}
            }
            if a.ack.gt(a.una_before) {
                let reno = match self.sb.live_mut() {
                    Some(f) => f.reno.on_ack(a.ack, a.bytes_acked, a.smss),
                    // Fresh: not in recovery.
                    None => NewRenoAck::NotInRecovery,
                };
                match reno {
                    //= rfc6582#3.2
                    //~ paraphrase: A partial ACK retransmits the next unacknowledged segment.
                    NewRenoAck::Partial { retransmit, reset_timer } => {
                        self.rtx = Some((retransmit, a.smss));
                        self.note_lost(a.smss);
                        self.lost = self.lost.saturating_add(1);
                        //= rfc6582#4.1
                        //~ paraphrase: Impatient: only the first partial ACK restarts the timer.
                        self.hold_timer = !reset_timer;
                    }
                    NewRenoAck::Full => {
                        self.dup.reset();
                        if let Some(f) = self.sb.live_mut() {
                            f.reno_sacked = 0;
                            f.prr_cwnd = None;
                        }
                        self.cc.on_recovery_exit(a.now);
                    }
                    NewRenoAck::NotInRecovery => {
                        // Outside recovery a cumulative ACK ends the duplicate run.
                        if let Some(f) = self.sb.live_mut() {
                            f.reno_sacked = 0;
                        }
                    }
                }
            }
            if self.logging
                && let Some(f) = self.sb.live_mut()
            {
                // Statistics only (no SACK: the log sees cumulative ACKs; no loss detection).
                let in_rec = f.reno.in_recovery();
                f.rack.on_ack(a.now, a.ack, &[], false, a.srtt, in_rec);
            }
            // Every ACK that advances SND.UNA in NewReno recovery is partial: the next
            // segment is presumed lost, so none is "safe" (the full ACK ends recovery).
            self.prr_update(reno_delivered, a.ack, a.snd_max, false);
            // Growth sees the same DeliveredData as the SACK path: segments the duplicates
            // already reported are not delivered again by the cumulative ACK that covers them
            // (as a SACKed segment is not; Linux counts a duplicate as one SACKed segment).
            delivered = reno_delivered;
        }
        self.last_window = a.window;
        self.end_cwr(a.ack);
        let rate = self.rate_sample(a);
        //= rfc5681#3.1
        //~ linux: The window grows on ACKs that acknowledge new data; a duplicate ACK carrying only
        //~ SACK information does not grow it (Linux's FLAG_DATA_ACKED), it only lets the
        //~ SACKed bytes out of `pipe`.
        //~ linux: Where reordering is known to be high (`ConnConfig::sack_growth_above_reordering`),
        //~ an ACK that only SACKs new data grows the window too (`tcp_may_raise_cwnd`).
        if delivered > 0
            && (a.ack.gt(a.una_before)
                || self.cc.samples_every_delivery()
                || self.sack_growth_allowed(a.sack_growth_above, a.smss))
        {
            let in_recovery = in_recovery_before || self.in_recovery();
            let pipe = self.flight(a.ack, a.snd_max);
            //= rfc7661#4.3
            //~ paraphrase: Growth only when the flight filled the window (or slow start has not
            //~ yet doubled the largest flight of this window); RFC 9438 section 5.8 asks the
            //~ same of CUBIC.
            // Read only here: an ACK that delivers nothing (every data segment's ACK at a
            // receiver) skips asking the controller.
            let cwnd_limited =
                self.cwnd_use.is_cwnd_limited(self.cc.cwnd(), self.cc.in_slow_start());
            self.cc.on_ack(&AckSample {
                now: a.now,
                bytes_acked: delivered,
                rtt: a.rtt,
                srtt: a.srtt,
                bytes_in_flight: flight_before,
                pipe,
                in_recovery,
                app_limited: !cwnd_limited,
                rate,
                ack: a.ack,
                snd_nxt: a.snd_max,
            });
        }
        if let Some((s, _)) = self.rtx
            && s.lt(a.ack)
        {
            self.rtx = None;
        }
    }

    /// The delivery-rate sample of ACK `a` (segments newly acknowledged or SACKed), if the
    /// segment log is fed and it delivered anything.
    fn rate_sample(&mut self, a: &AckInfo<'_>) -> Option<crate::cc::RateSample> {
        if !self.logging {
            return None;
        }
        let blocks = match crate::scoreboard::detect_dsack(a.ack, a.sack) {
            Some(_) => &a.sack[1..],
            None => a.sack,
        };
        let f = self.sb.live_mut()?;
        self.rate.on_ack(&mut f.txlog, a.now, a.ack, blocks, a.ece, a.min_rtt)
    }

    /// RACK declared losses: enter recovery if not already in it.
    fn rack_loss(&mut self, now: Instant, flight: u32) {
        //= rfc6675#5.1
        //~ linux: Losses among the data outstanding at an RTO belong to the loss the timeout
        //~ already answered: they are repaired (RACK marks them) without a new fast recovery
        //~ and a second window reduction (Linux stays in its Loss state until then).
        if !self.sb_in_recovery() && !self.in_rto_recovery() {
            self.cc.on_congestion_event(now, flight);
            self.fl_mut().sb.enter_recovery();
            self.lost = self.lost.saturating_add(1);
            self.prr_begin(flight);
        }
    }

    /// RACK's reordering timer fired.
    pub(crate) fn on_reorder_timeout(&mut self, now: Instant, srtt: Option<Duration>, flight: u32) {
        self.reorder_at = None;
        if !self.rack_on() {
            return;
        }
        let in_rec = self.sb_in_recovery();
        // A fresh log has no delivered segment to measure from: nothing to mark.
        let Some(f) = self.sb.live_mut() else { return };
        let r = f.rack.on_reorder_timeout(now, srtt, in_rec);
        self.reorder_at = r.reorder_deadline;
        if r.newly_lost > 0 {
            self.note_lost(r.newly_lost);
            self.rack_loss(now, flight);
            //= rfc9937#4
            //~ paraphrase: Losses found by a timer deliver nothing: PRR sends only what it already
            //~ may (and the first retransmission of a new recovery).
            let sb = &self.fl_mut().sb;
            let (una, snd_max) = (sb.high_ack(), sb.high_data());
            self.prr_update(0, una, snd_max, false);
        }
    }

    /// The first range RACK judges lost at or above `una`, at most `max` bytes.
    #[inline]
    pub(crate) fn rack_lost(&self, una: SeqNum, max: u32) -> Option<(SeqNum, u32)> {
        if !self.rack_on() {
            return None;
        }
        let (s, e) = self.fl()?.rack.lost_ranges().find(|(_, e)| (*e).gt(una))?;
        let s = s.max(una);
        Some((s, e.since(s).min(max)))
    }

    /// The retransmission timer fired.
    pub(crate) fn on_rto(&mut self, now: Instant, una: SeqNum, snd_max: SeqNum) {
        let flight = snd_max.since(una);
        if self.logging {
            //= rfc8985#6.3
            //~ paraphrase: On RTO, RACK marks the first unacknowledged segment and old ones lost.
            //~ With RACK off the marks only feed the statistics (retransmissions in flight).
            self.fl_mut().rack.on_rto(now, None);
            self.reorder_at = None;
        }
        //= rfc5681#3.1
        //~ paraphrase: ssthresh is set when the timer expires for a segment not yet resent by the
        //~ timer; later expiries (backoff, nothing acknowledged since) leave ssthresh alone, and
        //~ cwnd is already the loss window.
        if !self.rto_pending {
            let basis = self.rto_basis(flight);
            self.cc.on_rto(now, basis);
            //= rfc8985#6.3
            //~ paraphrase: Everything outstanding and not SACKed is presumed lost at an RTO.
            let sacked = self.sbr().map_or(0, Scoreboard::sacked_bytes);
            self.note_lost(flight.saturating_sub(sacked));
        }
        self.rto_pending = true;
        let f = self.fl_mut();
        f.prr_cwnd = None;
        f.cwr_until = None;
        f.reno_sacked = 0;
        f.reno.on_rto(snd_max);
        f.sb.on_rto(true);
        self.dup.reset();
        self.rtx = None;
        self.lost = self.lost.saturating_add(1);
    }
}

#[cfg(test)]
mod lazy_flight_tests;

#[cfg(test)]
mod reno_delivery_tests;

#[cfg(test)]
mod rto_basis_tests;
