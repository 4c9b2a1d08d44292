//! The endpoint: owns every connection and listener, finds the right one for each segment in
//! O(1) (a keyed hash map on the 4-tuple), answers segments that match nothing, keeps the timer
//! heap, and hands out segments and events.

mod any;
mod calls;
mod fastopen;
mod icmp;
mod input;
mod listen;
mod md5;
mod routes;
mod slots;
mod stats;
mod timer_heap;
mod transmit;

use alloc::collections::{BinaryHeap, VecDeque};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cmp::Reverse;
use core::fmt;
use core::net::{IpAddr, SocketAddr};

use hashbrown::HashMap;
use synack_wire::SeqNum;

use crate::config::{ConnConfig, EndpointConfig};
use crate::conn::Birth;
use crate::control::{ChallengeBudget, CtlQueue};
use crate::event::Event;
use crate::ports::PortAllocator;
use crate::secret::{FourTuple, KeyedState, Secrets};
use crate::stats::ListenCounters;
use crate::time::Instant;
use crate::tuple_map::TupleMap;

pub use crate::id::{ConnId, ListenerId};
pub use transmit::{Transmit, TransmitBrief};

pub use fastopen::FREEBSD_PATH_DISABLE;
use listen::Listener;
use slots::Slot;

/// The sans-IO TCP endpoint. See the crate docs for the call protocol.
pub struct Endpoint {
    config: EndpointConfig,
    secrets: Secrets,
    now: Instant,
    slots: Vec<Slot>,
    /// Free slot indices, lowest first: new connections fill the front, so the tail empties
    /// after a peak and [`Endpoint::shrink_slots`] can give its memory back.
    free: BinaryHeap<Reverse<u32>>,
    /// Generation new slots start at: one past the last of any slot cut off the tail, so an
    /// old id never names a later connection in a regrown slot.
    gen_floor: u32,
    live: usize,
    /// Slot index by 4-tuple (the tuple itself is read from the slot's connection).
    by_tuple: TupleMap,
    /// The last 4-tuple [`Endpoint::segment_input`] found in `by_tuple`, and its answer: a
    /// bulk transfer sends every segment to the same connection, and comparing the tuple is
    /// far cheaper than hashing it with the keyed hasher. Cleared whenever `by_tuple` gains
    /// or loses an entry, so it always agrees with the map.
    last_hit: Option<(FourTuple, ConnId)>,
    listeners: Vec<Option<Listener>>,
    by_local: HashMap<SocketAddr, ListenerId, KeyedState>,
    timers: timer_heap::TimerHeap,
    tx_ready: VecDeque<ConnId>,
    ctl: CtlQueue,
    events: VecDeque<Event>,
    challenge: ChallengeBudget,
    ports: PortAllocator,
    /// When cookies were last sent; ACKs are checked as cookies only shortly after.
    last_cookie: Option<Instant>,
    /// What the listeners did with SYNs and handshake ACKs (the running counts; the gauges
    /// are filled in when read).
    listen_counts: ListenCounters,
    /// Segments the connections refused, by reason.
    pub(crate) drops: crate::stats::DropCounters,
    /// The size of the segments the segment being processed was coalesced from (GRO).
    pub(crate) rx_seg_size: Option<u16>,
    /// Fixed ISS for every new connection (tests and the packetdrill runner).
    isn_override: Option<SeqNum>,
    /// The IP-ECN codepoint of the segment being processed.
    pub(crate) ip_ecn: u8,
    /// The UDP port the segment being processed came from (`None`: plain TCP); see
    /// [`crate::udp_encap`].
    rx_udp: crate::udp_encap::UdpPort,
    /// The configuration the last connection was made with, shared by every following
    /// connection made with an equal one (see [`Endpoint::share_cfg`]).
    shared_cfg: Option<Arc<ConnConfig>>,
    /// See [`Endpoint::set_output_segment_max`].
    out_seg_max: u16,
    /// What [`Endpoint::last_transmit_failed`] needs of the last connection segment
    /// `poll_transmit` returned.
    last_tx: Option<transmit::SentSegment>,
    /// Storage finished flights and connections left for the next ones.
    spares: crate::conn::Spares,
    /// Key of the Fast Open cookies this endpoint hands out as a server.
    fo_key: [u8; 16],
    /// Fast Open cookies learned from servers, as a client.
    fo_cache: crate::fastopen::CookieCache,
    /// The cookie each half-open child's SYN-ACK carries (answering a cookie request or an
    /// invalid cookie); few and short-lived, so kept here rather than in every connection.
    fo_reply: alloc::collections::BTreeMap<ConnId, synack_wire::tcp::FastOpenCookie>,
    /// Path MTUs learned from ICMP, for later connections to the same destination.
    pmtu: crate::pmtu_cache::PathMtuCache,
    /// Per-destination route metrics (see [`Endpoint::set_route`]).
    routes: crate::route::Routes,
    /// TCP MD5 keys (RFC 2385); `None` while there are none, so the receive path tests one
    /// pointer.
    md5: Option<alloc::boxed::Box<crate::md5::Md5Keys>>,
    /// What the signature check dropped and passed.
    md5_counts: crate::md5::Md5Counters,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("connections", &self.live)
            .field("listeners", &self.by_local.len())
            .finish_non_exhaustive()
    }
}

fn addr_usable(ip: IpAddr) -> bool {
    //= rfc9293#3.9.2.3
    //~ paraphrase: Segments to or from broadcast, multicast or unspecified addresses are discarded
    //~ (MUST-57, MUST-63).
    match ip {
        IpAddr::V4(a) => !(a.is_unspecified() || a.is_broadcast() || a.is_multicast()),
        IpAddr::V6(a) => !(a.is_unspecified() || a.is_multicast()),
    }
}
impl Endpoint {
    /// A new endpoint. `secret` keys the ISN generator, SYN cookies, port choice and the hash
    /// maps (RFC 9293 MUST-9: give it 128 random bits); `rng_seed` seeds the little other
    /// randomness the endpoint uses (the ephemeral port table's start, the challenge-ACK budget).
    pub fn new(config: EndpointConfig, secret: [u8; 16], rng_seed: u64) -> Endpoint {
        let secrets = Secrets::new(secret);
        // Both: the budget must be unpredictable to a peer (the secret) and reproducible in
        // tests (the seed).
        let mut key = [0u8; 8];
        key.copy_from_slice(&secret[..8]);
        let challenge_seed = u64::from_le_bytes(key) ^ rng_seed.rotate_left(32);
        let hasher = secrets.map_hasher();
        let fo_key = secrets.derive_key(crate::secret::Purpose::FastOpen);
        Endpoint {
            config,
            now: Instant::ZERO,
            slots: Vec::new(),
            free: BinaryHeap::new(),
            gen_floor: 0,
            live: 0,
            by_tuple: TupleMap::new(secrets.tuple_key()),
            last_hit: None,
            listeners: Vec::new(),
            by_local: HashMap::with_hasher(hasher),
            timers: timer_heap::TimerHeap::default(),
            tx_ready: VecDeque::new(),
            ctl: CtlQueue::default(),
            events: VecDeque::new(),
            challenge: ChallengeBudget::new(config.challenge_ack_limit, challenge_seed),
            ports: PortAllocator::new(config.ephemeral_ports, rng_seed),
            secrets,
            last_cookie: None,
            listen_counts: ListenCounters::default(),
            drops: crate::stats::DropCounters::default(),
            rx_seg_size: None,
            isn_override: None,
            ip_ecn: 0,
            rx_udp: None,
            shared_cfg: None,
            out_seg_max: 0,
            last_tx: None,
            spares: crate::conn::Spares::default(),
            fo_key,
            fo_cache: crate::fastopen::CookieCache::default(),
            fo_reply: alloc::collections::BTreeMap::new(),
            pmtu: crate::pmtu_cache::PathMtuCache::default(),
            routes: crate::route::Routes::default(),
            md5: None,
            md5_counts: crate::md5::Md5Counters::default(),
        }
    }

    /// `cfg` as a shared pointer: the same allocation as the previous connection's when the
    /// values are equal (nearly always: a listener's children, or an application using one
    /// configuration), so per-connection state holds a pointer rather than a copy.
    pub(super) fn share_cfg(&mut self, cfg: ConnConfig) -> Arc<ConnConfig> {
        match &self.shared_cfg {
            Some(shared) if **shared == cfg => Arc::clone(shared),
            _ => {
                let shared = Arc::new(cfg);
                self.shared_cfg = Some(Arc::clone(&shared));
                shared
            }
        }
    }

    /// What a new connection on `tuple` with settings `cfg` starts from.
    fn birth(&mut self, tuple: FourTuple, mut cfg: ConnConfig, now: Instant) -> Birth {
        let md5 = self.md5_secret(&tuple).is_some();
        if md5 && self.config.md5_drops_timestamps {
            //~ linux: tcp_syn_options offers no timestamps beside a signature; a listener's
            //~ SYN-ACK (tcp_synack_options) drops them only when SACK is on, which it is in
            //~ every profile that sets this.
            cfg.timestamps = false;
        }
        let route = self.routes.get(tuple.remote.ip()).copied();
        if let Some(iw) = route.and_then(|r| r.initcwnd) {
            cfg.initial_window_segments = Some(iw);
        }
        Birth {
            md5,
            tuple,
            cfg: self.share_cfg(cfg),
            mtu: self.config.mtu,
            path_mtu: match route.and_then(|r| r.mtu) {
                Some(m) => usize::from(m),
                None => {
                    self.pmtu.get(tuple.remote.ip(), now).map_or(self.config.mtu, |m| m as usize)
                }
            },
            adv_mss: route.and_then(|r| r.advmss),
            ts_offset: self.secrets.ts_offset(&tuple),
            now,
        }
    }

    /// The endpoint's configuration.
    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    /// Lets new data leave in segments of up to `bytes` bytes of payload (whole MSS multiples,
    /// at most 64 KiB of packet), for a device that cuts them into MSS-sized segments itself
    /// (TCP segmentation offload); `0` (the default) keeps every segment to one MSS. Only new
    /// data in the ordinary sending path is grouped this way: retransmissions, probes and
    /// recovery keep to one MSS. [`Transmit::segment_size`] tells the device where to cut.
    pub fn set_output_segment_max(&mut self, bytes: usize) {
        self.out_seg_max = u16::try_from(bytes).unwrap_or(u16::MAX);
    }

    /// Makes every new connection (active or passive, not SYN cookies) start with this ISS
    /// instead of the keyed-hash ISN. Only for tests and the packetdrill runner, whose scripts
    /// need known sequence numbers: a fixed ISN is exactly what RFC 9293 3.4.1 forbids on a
    /// real network. `None` restores the RFC behaviour.
    pub fn set_isn_override(&mut self, iss: Option<SeqNum>) {
        self.isn_override = iss;
    }

    pub(super) fn choose_isn(&self, now: Instant, tuple: &FourTuple) -> SeqNum {
        self.isn_override.unwrap_or_else(|| SeqNum(self.secrets.isn(now, tuple)))
    }

    pub(super) fn advance(&mut self, now: Instant) {
        if now > self.now {
            self.now = now;
        }
    }

    /// The next event for the application, oldest first.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }
}

#[cfg(test)]
#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::InvalidConnection;
    use crate::icmp::IcmpError;
    use crate::state::State;
    use synack_wire::ChecksumMode;
    use synack_wire::tcp::TcpRepr;

    /// Connections made with equal configurations share one allocation, and changing one
    /// connection's settings leaves the others alone (copy on write).
    #[test]
    fn equal_configs_are_shared_and_changes_stay_per_connection() {
        let mut ep = Endpoint::new(EndpointConfig::default(), [7; 16], 1);
        let local: SocketAddr = "10.0.0.1:0".parse().unwrap();
        let remote: SocketAddr = "10.0.0.2:80".parse().unwrap();
        let now = Instant::from_secs(1);
        let a = ep.connect(now, local, remote, ConnConfig::default()).unwrap();
        let b = ep.connect(now, local, remote, ConnConfig::default()).unwrap();
        assert!(Arc::ptr_eq(&ep.conn(a).unwrap().cfg, &ep.conn(b).unwrap().cfg));
        ep.set_nodelay(a, !ConnConfig::default().nodelay).unwrap();
        assert_eq!(ep.conn_config(a).unwrap().nodelay, !ConnConfig::default().nodelay);
        assert_eq!(ep.conn_config(b).unwrap(), ConnConfig::default());
        // A third connection with the default again gets an equal config, whichever pointer.
        let c = ep.connect(now, local, remote, ConnConfig::default()).unwrap();
        assert_eq!(ep.conn_config(c).unwrap(), ConnConfig::default());
    }

    /// `ConnStats::pmtu` is the configured MTU until an ICMP "packet too big" quoting our
    /// unacknowledged SYN lowers it; a larger value never raises it (RFC 1191, RFC 8201).
    #[test]
    fn stats_pmtu_follows_packet_too_big() {
        let mut ep = Endpoint::new(EndpointConfig::default(), [7; 16], 1);
        let local: SocketAddr = "10.0.0.1:1000".parse().unwrap();
        let remote: SocketAddr = "10.0.0.2:80".parse().unwrap();
        let now = Instant::from_secs(1);
        let id = ep.connect(now, local, remote, ConnConfig::default()).unwrap();
        let mut buf = [0u8; 1600];
        let syn = ep.poll_transmit(now, &mut buf).expect("the SYN");
        let iss =
            TcpRepr::parse_bytes(&buf[..syn.len], local.ip(), remote.ip(), ChecksumMode::Verify)
                .expect("our SYN parses")
                .seq;
        assert_eq!(ep.stats(id).unwrap().pmtu, 1500);
        ep.on_icmp_error(now, local, remote, iss, IcmpError::PacketTooBig { mtu: 1200 });
        assert_eq!(ep.stats(id).unwrap().pmtu, 1200);
        ep.on_icmp_error(now, local, remote, iss, IcmpError::PacketTooBig { mtu: 1400 });
        assert_eq!(ep.stats(id).unwrap().pmtu, 1200);
    }

    /// After a peak the slot table gives its memory back, new connections fill the front, and
    /// an id from before the shrink never names a connection made after it.
    #[test]
    fn slot_table_shrinks_after_a_peak_and_old_ids_stay_dead() {
        let mut ep = Endpoint::new(EndpointConfig::default(), [7; 16], 1);
        let local: SocketAddr = "10.0.0.1:0".parse().unwrap();
        let remote: SocketAddr = "10.0.0.2:80".parse().unwrap();
        let now = Instant::from_secs(1);
        let ids: Vec<ConnId> = (0..1000)
            .map(|_| ep.connect(now, local, remote, ConnConfig::default()).unwrap())
            .collect();
        let peak = ep.slots.capacity();
        assert!(peak >= 1000);
        // Keep the first ten; abort the rest.
        for &id in &ids[10..] {
            ep.abort(id).unwrap();
        }
        assert_eq!(ep.connection_count(), 10);
        assert!(ep.slots.len() <= 64, "{} slots left", ep.slots.len());
        assert!(ep.slots.capacity() < peak / 4, "capacity {} of {peak}", ep.slots.capacity());
        for &id in &ids[10..] {
            assert_eq!(ep.state(id), Err(InvalidConnection));
        }
        // New connections take the lowest free slots; the aborted ids still name nothing.
        let fresh: Vec<ConnId> = (0..1000)
            .map(|_| ep.connect(now, local, remote, ConnConfig::default()).unwrap())
            .collect();
        assert!(fresh.iter().all(|f| f.index >= 10 && (f.index as usize) < 1010));
        for &id in &ids[10..] {
            assert_eq!(ep.state(id), Err(InvalidConnection));
        }
        for &id in &ids[..10] {
            assert_eq!(ep.state(id), Ok(State::SynSent));
        }
        // Timers of the cut slots are stale, never served: running them all is harmless.
        ep.on_timeout(Instant::from_secs(100_000));
    }

    #[test]
    fn timer_heap_gives_its_capacity_back_after_a_peak() {
        let mut ep = Endpoint::new(EndpointConfig::default(), [7; 16], 1);
        let local: SocketAddr = "10.0.0.1:0".parse().unwrap();
        let remote: SocketAddr = "10.0.0.2:80".parse().unwrap();
        let now = Instant::from_secs(1);
        let ids: Vec<ConnId> = (0..10_000)
            .map(|_| ep.connect(now, local, remote, ConnConfig::default()).unwrap())
            .collect();
        // Sending the SYNs arms their retransmission timers.
        let mut buf = [0u8; 1600];
        while ep.poll_transmit(now, &mut buf).is_some() {}
        let peak = ep.timers.capacity();
        assert!(peak >= 10_000, "{peak}");
        for &id in &ids {
            ep.abort(id).unwrap();
        }
        assert_eq!(ep.connection_count(), 0);
        assert!(
            ep.timers.capacity() <= 4096,
            "timer heap capacity {} of {peak}",
            ep.timers.capacity()
        );
    }
}
