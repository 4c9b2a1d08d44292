//! UDP: sockets bound to an address, the accept-any socket, their queues, and ICMP port
//! unreachable for ports nobody listens on.
//!
//! ```text
//!  ingress: IP ─▶ UDP parse + checksum ─▶ socket on (dst, port) ─▶ socket on (unspecified, port)
//!           ─▶ accept-any socket (any destination; flow (client, dst) noted) ─▶ else ICMP port
//!           unreachable to the sender (rate-limited), for our own addresses only
//!  egress:  udp_send queues a datagram (bounded); each poll writes IP + UDP into the device's
//!           buffers, fragmented when larger than the MTU (IPv4 fragments, or an IPv6
//!           fragment header)
//! ```
//!
//! Sockets and queues are the interface's: the runtime turns them into `UdpSocket`s. Every
//! queue is bounded; what does not fit is dropped and counted (socket or [`DropReason`]).
//! The accept-any socket keeps one entry per flow (client, original destination), bounded by
//! [`UdpConfig::max_flows`] and forgotten after [`UdpConfig::flow_idle`] without traffic;
//! replies may be sourced from a foreign address only for a flow that exists.

mod egress;

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use core::time::Duration;
use std::collections::HashMap;

use synack_tcp::time::Instant;
use synack_wire::{ChecksumMode, UdpPacket, UdpRepr};

use super::counters::DropReason;
use super::{Dest, Interface, SegmentMeta, wire_reason};

/// Limits of the UDP layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpConfig {
    /// Datagrams each socket's receive queue holds; more are dropped (and counted).
    pub rx_queue: usize,
    /// Bytes of payload each socket's receive queue holds.
    pub rx_queue_bytes: usize,
    /// Datagrams waiting for the device, all sockets together; more are dropped.
    pub tx_queue: usize,
    /// An accept-any flow with no datagram either way for this long is forgotten.
    pub flow_idle: Duration,
    /// Flows the accept-any socket keeps at most; datagrams of new flows beyond it are dropped.
    pub max_flows: usize,
    /// ICMP port-unreachable messages sent per second at most (for closed ports).
    pub unreachable_per_sec: u32,
}

impl Default for UdpConfig {
    fn default() -> Self {
        UdpConfig {
            rx_queue: 1024,
            rx_queue_bytes: 4 << 20,
            tx_queue: 4096,
            flow_idle: Duration::from_secs(60),
            max_flows: 65536,
            unreachable_per_sec: 100,
        }
    }
}

/// Names a UDP socket of an [`Interface`]. Generation-counted: a stale handle is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UdpHandle {
    index: u32,
    generation: u32,
}

impl fmt::Display for UdpHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "udp#{}.{}", self.index, self.generation)
    }
}

/// Why a UDP call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UdpError {
    /// Another socket is bound to that address and port (or an accept-any socket exists).
    AddrInUse,
    /// The address is not one of the interface's.
    AddrNotAvailable,
    /// An address that cannot be used here (port 0 or unspecified destination, multicast
    /// source, families mixed, a source the socket may not send from).
    InvalidAddress,
    /// No free port in the ephemeral range.
    NoFreePorts,
    /// The handle names no open socket.
    InvalidHandle,
    /// No route to the destination.
    NoRoute,
    /// The datagram is larger than UDP (or, for IPv6, the MTU) allows.
    TooBig,
    /// `send` without a destination on a socket that is not connected.
    NotConnected,
    /// A reply from a foreign address for a flow the accept-any socket does not have (never
    /// seen, or expired).
    NoFlow,
    /// An ICMP port unreachable arrived for what this connected socket sent.
    ConnectionRefused,
    /// An ICMP destination unreachable (not port) arrived for what this connected socket sent.
    HostUnreachable,
}

impl fmt::Display for UdpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UdpError::AddrInUse => "address already in use",
            UdpError::AddrNotAvailable => "address not available",
            UdpError::InvalidAddress => "invalid address",
            UdpError::NoFreePorts => "no free ephemeral port",
            UdpError::InvalidHandle => "no such socket",
            UdpError::NoRoute => "no route to the destination",
            UdpError::TooBig => "message too long",
            UdpError::NotConnected => "not connected",
            UdpError::NoFlow => "no accept-any flow for this source and destination",
            UdpError::ConnectionRefused => "connection refused (ICMP port unreachable)",
            UdpError::HostUnreachable => "host unreachable (ICMP destination unreachable)",
        })
    }
}

impl core::error::Error for UdpError {}

/// What [`Interface::udp_recv`] copied out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpRecv {
    /// Bytes copied (the datagram is cut to the buffer, as `recv_from` does).
    pub len: usize,
    /// The datagram's full length.
    pub full_len: usize,
    /// Who sent it.
    pub src: SocketAddr,
    /// Where it was sent: for the accept-any socket, the original destination.
    pub dst: SocketAddr,
}

/// What the UDP layer holds right now (see [`Interface::udp_usage`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UdpUsage {
    /// Open sockets.
    pub sockets: usize,
    /// Accept-any flows.
    pub flows: usize,
    /// Datagrams in receive queues.
    pub rx_queued: usize,
    /// Datagrams waiting for the device.
    pub tx_queued: usize,
}

struct Datagram {
    src: SocketAddr,
    dst: SocketAddr,
    data: Vec<u8>,
}

struct Sock {
    generation: u32,
    local: SocketAddr,
    remote: Option<SocketAddr>,
    any: bool,
    rx: VecDeque<Datagram>,
    rx_bytes: usize,
    /// Datagrams dropped because the receive queue was full.
    dropped: u64,
    error: Option<UdpError>,
    /// Already in the ready list.
    flagged: bool,
}

/// The interface's UDP state.
pub(crate) struct Udp {
    cfg: UdpConfig,
    socks: Vec<Option<Sock>>,
    generations: Vec<u32>,
    by_local: HashMap<SocketAddr, UdpHandle>,
    any: Option<UdpHandle>,
    /// Accept-any flows (client, original destination) and when they last carried a datagram.
    flows: HashMap<(SocketAddr, SocketAddr), Instant>,
    /// Flows forgotten for idleness, for the application (bounded).
    expired: VecDeque<(SocketAddr, SocketAddr)>,
    next_sweep: Option<Instant>,
    tx: VecDeque<Datagram>,
    /// Bytes of the front datagram already sent as fragments.
    tx_sent: usize,
    /// Identification of the next fragmented IPv6 datagram.
    next_ident_v6: u32,
    ready: Vec<UdpHandle>,
    unreach_window: Instant,
    unreach_used: u32,
    next_port: u16,
}

impl fmt::Debug for Udp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Udp")
            .field("sockets", &self.by_local.len())
            .field("flows", &self.flows.len())
            .finish_non_exhaustive()
    }
}

/// Most expired flows kept for the application to read.
const MAX_EXPIRED: usize = 4096;
const EPHEMERAL: (u16, u16) = (49152, 65535);
const V4_HEADER: usize = 20;
const V6_HEADER: usize = 40;
const UDP_HEADER: usize = 8;
/// Largest IPv4 packet an ICMP error may be (RFC 1812 4.3.2.3: up to 576 bytes).
const V4_ICMP_MAX: usize = 576;
/// Largest IPv6 packet an ICMPv6 error may be (RFC 4443 2.4 (c): the minimum MTU).
const V6_ICMP_MAX: usize = 1280;

impl Udp {
    pub(crate) fn new(cfg: UdpConfig) -> Udp {
        Udp {
            cfg,
            socks: Vec::new(),
            generations: Vec::new(),
            by_local: HashMap::new(),
            any: None,
            flows: HashMap::new(),
            expired: VecDeque::new(),
            next_sweep: None,
            tx: VecDeque::new(),
            tx_sent: 0,
            next_ident_v6: 1,
            ready: Vec::new(),
            unreach_window: Instant::ZERO,
            unreach_used: 0,
            next_port: EPHEMERAL.0,
        }
    }

    fn sock(&self, h: UdpHandle) -> Result<&Sock, UdpError> {
        match self.socks.get(h.index as usize) {
            Some(Some(s)) if s.generation == h.generation => Ok(s),
            _ => Err(UdpError::InvalidHandle),
        }
    }

    fn sock_mut(&mut self, h: UdpHandle) -> Result<&mut Sock, UdpError> {
        match self.socks.get_mut(h.index as usize) {
            Some(Some(s)) if s.generation == h.generation => Ok(s),
            _ => Err(UdpError::InvalidHandle),
        }
    }

    fn insert(&mut self, local: SocketAddr, any: bool) -> UdpHandle {
        let index = match self.socks.iter().position(Option::is_none) {
            Some(i) => i,
            None => {
                self.socks.push(None);
                self.generations.push(0);
                self.socks.len() - 1
            }
        };
        self.generations[index] = self.generations[index].wrapping_add(1);
        let generation = self.generations[index];
        self.socks[index] = Some(Sock {
            generation,
            local,
            remote: None,
            any,
            rx: VecDeque::new(),
            rx_bytes: 0,
            dropped: 0,
            error: None,
            flagged: false,
        });
        UdpHandle { index: index as u32, generation }
    }

    /// The socket a datagram to `dst` goes to.
    fn lookup(&self, dst: SocketAddr) -> Option<UdpHandle> {
        if let Some(h) = self.by_local.get(&dst) {
            return Some(*h);
        }
        let any_ip = if dst.is_ipv4() {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        } else {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        };
        self.by_local.get(&SocketAddr::new(any_ip, dst.port())).copied()
    }

    fn flag(&mut self, h: UdpHandle) {
        if let Ok(s) = self.sock_mut(h)
            && !s.flagged
        {
            s.flagged = true;
            self.ready.push(h);
        }
    }

    /// Forgets idle accept-any flows.
    fn expire(&mut self, now: Instant) {
        let Some(at) = self.next_sweep else { return };
        if now < at {
            return;
        }
        let idle = self.cfg.flow_idle;
        let expired = &mut self.expired;
        self.flows.retain(|flow, last| {
            let keep = now.saturating_since(*last) < idle;
            if !keep {
                if expired.len() >= MAX_EXPIRED {
                    expired.pop_front();
                }
                expired.push_back(*flow);
            }
            keep
        });
        self.schedule_sweep(now);
    }

    /// Sweeps again a quarter of the idle time from now (at least every second), while
    /// there are flows.
    fn schedule_sweep(&mut self, now: Instant) {
        self.next_sweep = if self.flows.is_empty() {
            None
        } else {
            Some(
                now + (self.cfg.flow_idle / 4)
                    .clamp(Duration::from_millis(10), Duration::from_secs(1)),
            )
        };
    }

    /// True when one more ICMP port unreachable may go out now.
    fn unreachable_allowed(&mut self, now: Instant) -> bool {
        if now.saturating_since(self.unreach_window) >= Duration::from_secs(1) {
            self.unreach_window = now;
            self.unreach_used = 0;
        }
        if self.unreach_used >= self.cfg.unreachable_per_sec {
            return false;
        }
        self.unreach_used += 1;
        true
    }
}

fn unspecified_like(ip: IpAddr) -> IpAddr {
    if ip.is_ipv4() { IpAddr::V4(Ipv4Addr::UNSPECIFIED) } else { IpAddr::V6(Ipv6Addr::UNSPECIFIED) }
}

impl Interface {
    /// Opens a UDP socket on `local`: an address of ours or the unspecified address (every
    /// address of the family); port 0 picks a free ephemeral port.
    pub fn udp_bind(&mut self, local: SocketAddr) -> Result<UdpHandle, UdpError> {
        let ip = local.ip();
        if !ip.is_unspecified() && !self.is_local(ip) {
            return Err(UdpError::AddrNotAvailable);
        }
        let local = if local.port() != 0 {
            if self.udp.by_local.contains_key(&local) {
                return Err(UdpError::AddrInUse);
            }
            local
        } else {
            let (lo, hi) = EPHEMERAL;
            let span = u32::from(hi - lo) + 1;
            let start = self.udp.next_port;
            let free =
                (0..span).map(|i| lo + ((u32::from(start - lo) + i) % span) as u16).find(|p| {
                    let a = SocketAddr::new(ip, *p);
                    let b = SocketAddr::new(unspecified_like(ip), *p);
                    !self.udp.by_local.contains_key(&a) && !self.udp.by_local.contains_key(&b)
                });
            let port = free.ok_or(UdpError::NoFreePorts)?;
            self.udp.next_port = if port == hi { lo } else { port + 1 };
            SocketAddr::new(ip, port)
        };
        let h = self.udp.insert(local, false);
        self.udp.by_local.insert(local, h);
        Ok(h)
    }

    /// Opens the accept-any UDP socket: it receives every datagram, to any address and port,
    /// that no bound socket takes (IPv4 and IPv6), with its original destination. One per
    /// interface (`AddrInUse`).
    pub fn udp_bind_any(&mut self) -> Result<UdpHandle, UdpError> {
        if self.udp.any.is_some() {
            return Err(UdpError::AddrInUse);
        }
        let h = self.udp.insert(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0), true);
        self.udp.any = Some(h);
        Ok(h)
    }

    /// Closes a socket; queued datagrams are dropped. Closing the accept-any socket forgets
    /// its flows.
    pub fn udp_close(&mut self, h: UdpHandle) {
        let Ok(s) = self.udp.sock(h) else { return };
        let (local, any) = (s.local, s.any);
        self.udp.socks[h.index as usize] = None;
        if any {
            self.udp.any = None;
            self.udp.flows.clear();
            self.udp.expired.clear();
            self.udp.next_sweep = None;
        } else if self.udp.by_local.get(&local) == Some(&h) {
            self.udp.by_local.remove(&local);
        }
    }

    /// Connects a socket: `send` goes to `remote`, and only datagrams from `remote` are
    /// received. ICMP errors about what it sends are reported on its next call.
    pub fn udp_connect(&mut self, h: UdpHandle, remote: SocketAddr) -> Result<(), UdpError> {
        if remote.ip().is_unspecified() || remote.port() == 0 {
            return Err(UdpError::InvalidAddress);
        }
        if self.routes.lookup(remote.ip()).is_none() {
            return Err(UdpError::NoRoute);
        }
        let s = self.udp.sock_mut(h)?;
        if s.any {
            return Err(UdpError::InvalidAddress);
        }
        if !s.local.ip().is_unspecified() && s.local.is_ipv4() != remote.is_ipv4() {
            return Err(UdpError::InvalidAddress);
        }
        s.remote = Some(remote);
        s.error = None;
        Ok(())
    }

    /// The socket's bound address (`0.0.0.0:0` for the accept-any socket).
    pub fn udp_local_addr(&self, h: UdpHandle) -> Result<SocketAddr, UdpError> {
        Ok(self.udp.sock(h)?.local)
    }

    /// The address the socket is connected to.
    pub fn udp_peer_addr(&self, h: UdpHandle) -> Result<SocketAddr, UdpError> {
        self.udp.sock(h)?.remote.ok_or(UdpError::NotConnected)
    }

    /// Takes (or with `peek`, copies) the next datagram into `buf`, cut to its length.
    /// `Ok(None)`: none queued. A pending ICMP error of a connected socket comes first, once.
    pub fn udp_recv(
        &mut self,
        h: UdpHandle,
        buf: &mut [u8],
        peek: bool,
    ) -> Result<Option<UdpRecv>, UdpError> {
        let s = self.udp.sock_mut(h)?;
        s.flagged = false;
        if let Some(e) = s.error.take() {
            return Err(e);
        }
        let Some(d) = s.rx.front() else { return Ok(None) };
        let len = d.data.len().min(buf.len());
        buf[..len].copy_from_slice(&d.data[..len]);
        let r = UdpRecv { len, full_len: d.data.len(), src: d.src, dst: d.dst };
        if !peek {
            s.rx_bytes -= d.data.len();
            s.rx.pop_front();
        }
        Ok(Some(r))
    }

    /// True when `udp_recv` would return something (a datagram or an error) now.
    pub fn udp_readable(&self, h: UdpHandle) -> bool {
        self.udp.sock(h).is_ok_and(|s| s.error.is_some() || !s.rx.is_empty())
    }

    /// Datagrams the socket's full receive queue dropped.
    pub fn udp_dropped(&self, h: UdpHandle) -> u64 {
        self.udp.sock(h).map_or(0, |s| s.dropped)
    }

    /// Queues a datagram. `to` `None` sends to the connected peer. `from` is only for the
    /// accept-any socket (which must give it): the reply's source, one of our addresses or
    /// the original destination of an existing flow with `to`. A full transmit queue drops
    /// the datagram (counted as [`DropReason::UdpTxQueueFull`]), as a full device queue
    /// would; the length is returned either way.
    pub fn udp_send(
        &mut self,
        h: UdpHandle,
        from: Option<SocketAddr>,
        to: Option<SocketAddr>,
        data: &[u8],
    ) -> Result<usize, UdpError> {
        let now = self.udp_now;
        let s = self.udp.sock_mut(h)?;
        if let Some(e) = s.error.take() {
            return Err(e);
        }
        let to = match to.or(s.remote) {
            Some(t) => t,
            None => return Err(UdpError::NotConnected),
        };
        let (local, any) = (s.local, s.any);
        if to.ip().is_unspecified() || to.port() == 0 || addr_is_group(to.ip()) {
            return Err(UdpError::InvalidAddress);
        }
        let src = if any {
            let from = from.ok_or(UdpError::InvalidAddress)?;
            if from.port() == 0 || from.is_ipv4() != to.is_ipv4() || addr_is_group(from.ip()) {
                return Err(UdpError::InvalidAddress);
            }
            if !self.is_local(from.ip()) {
                let last = self.udp.flows.get_mut(&(to, from)).ok_or(UdpError::NoFlow)?;
                *last = (*last).max(now);
            }
            from
        } else {
            if from.is_some_and(|f| f != local) {
                return Err(UdpError::InvalidAddress);
            }
            let ip = if local.ip().is_unspecified() {
                if local.is_ipv4() != to.is_ipv4() {
                    // A socket on 0.0.0.0 sends IPv4 only, one on [::] IPv6 only.
                    return Err(UdpError::InvalidAddress);
                }
                self.source_for(to.ip()).ok_or(UdpError::NoRoute)?
            } else {
                if local.is_ipv4() != to.is_ipv4() {
                    return Err(UdpError::InvalidAddress);
                }
                local.ip()
            };
            SocketAddr::new(ip, local.port())
        };
        if self.routes.lookup(to.ip()).is_none() {
            return Err(UdpError::NoRoute);
        }
        // The largest UDP datagram either family carries (fragmented when over the MTU): an
        // IPv4 total length, an IPv6 payload length, both 16 bits.
        let max = if to.is_ipv4() {
            usize::from(u16::MAX) - V4_HEADER - UDP_HEADER
        } else {
            usize::from(u16::MAX) - UDP_HEADER
        };
        if data.len() > max {
            return Err(UdpError::TooBig);
        }
        if self.udp.tx.len() >= self.udp.cfg.tx_queue {
            self.counters.drop(DropReason::UdpTxQueueFull);
            return Ok(data.len());
        }
        self.udp.tx.push_back(Datagram { src, dst: to, data: data.to_vec() });
        Ok(data.len())
    }

    /// Sends `client` an ICMP (IPv4) or ICMPv6 port unreachable about `datagram`, which it
    /// sent to `orig_dst`, quoting it (IP and UDP header rebuilt, payload cut to the limits of
    /// RFC 1812 and RFC 4443); for a relay whose upstream refused the flow.
    pub fn udp_send_port_unreachable(
        &mut self,
        orig_dst: SocketAddr,
        client: SocketAddr,
        datagram: &[u8],
    ) -> Result<(), UdpError> {
        if orig_dst.is_ipv4() != client.is_ipv4() || addr_is_group(client.ip()) {
            return Err(UdpError::InvalidAddress);
        }
        if self.routes.lookup(client.ip()).is_none() {
            return Err(UdpError::NoRoute);
        }
        self.port_unreachable(client, orig_dst, datagram);
        Ok(())
    }

    /// Takes the next accept-any flow forgotten for idleness: (client, original destination).
    pub fn udp_take_expired(&mut self) -> Option<(SocketAddr, SocketAddr)> {
        self.udp.expired.pop_front()
    }

    /// Expired flows waiting for [`udp_take_expired`](Self::udp_take_expired).
    pub fn udp_expired_len(&self) -> usize {
        self.udp.expired.len()
    }

    /// Calls `f` for every socket that became readable (or got an error) since the last call.
    pub fn udp_drain_ready(&mut self, mut f: impl FnMut(UdpHandle)) {
        for h in core::mem::take(&mut self.udp.ready) {
            f(h);
        }
    }

    /// What the UDP layer holds now.
    pub fn udp_usage(&self) -> UdpUsage {
        let socks = self.udp.socks.iter().flatten();
        UdpUsage {
            sockets: self.udp.socks.iter().flatten().count(),
            flows: self.udp.flows.len(),
            rx_queued: socks.map(|s| s.rx.len()).sum(),
            tx_queued: self.udp.tx.len(),
        }
    }

    /// True when datagrams to addresses not ours are taken (an accept-any socket is open).
    pub(super) fn udp_takes_foreign(&self) -> bool {
        self.udp.any.is_some()
    }

    /// Expires flows; when the next sweep is due.
    pub(super) fn udp_poll(&mut self, now: Instant, mtu: usize) -> Option<Instant> {
        self.udp_now = now;
        self.udp_mtu = mtu;
        self.udp.expire(now);
        self.udp.next_sweep
    }

    /// When the UDP layer next needs a poll.
    pub(super) fn udp_poll_at(&self) -> Option<Instant> {
        self.udp.next_sweep
    }

    /// A UDP datagram arrived (after reassembly).
    pub(super) fn udp_input(
        &mut self,
        now: Instant,
        meta: &SegmentMeta,
        dest: Dest,
        payload: &[u8],
    ) {
        // Device checksum offload covers TCP only (a TUN with a virtio-net header finishes
        // other protocols' checksums before handing them over): UDP is always verified.
        let mode = ChecksumMode::Verify;
        let parsed = UdpPacket::new_checked(payload)
            .and_then(|p| UdpRepr::parse(&p, meta.src, meta.dst, mode));
        let udp = match parsed {
            Ok(u) => u,
            Err(e) => return self.counters.drop(wire_reason(e)),
        };
        //= rfc8200#8.1
        // An IPv6 UDP datagram with a zero checksum is discarded (IPv6 has no header checksum).
        if meta.src.is_ipv6() && mode.verify() && payload.get(6..8) == Some(&[0, 0]) {
            return self.counters.drop(DropReason::UdpBadChecksum);
        }
        if udp.src_port == 0 || udp.dst_port == 0 {
            return self.counters.drop(DropReason::UdpMalformed);
        }
        let src = SocketAddr::new(meta.src, udp.src_port);
        let dst = SocketAddr::new(meta.dst, udp.dst_port);
        let bound = if dest == Dest::Local { self.udp.lookup(dst) } else { None };
        let h = match (bound, self.udp.any) {
            (Some(h), _) => h,
            (None, Some(a)) if dest != Dest::Group => {
                let flow = (src, dst);
                let full = self.udp.flows.len() >= self.udp.cfg.max_flows;
                match self.udp.flows.get_mut(&flow) {
                    Some(last) => *last = (*last).max(now),
                    None if full => {
                        return self.counters.drop(DropReason::UdpFlowTableFull);
                    }
                    None => {
                        self.udp.flows.insert(flow, now);
                        if self.udp.next_sweep.is_none() {
                            self.udp.schedule_sweep(now);
                        }
                    }
                }
                a
            }
            _ => {
                self.counters.drop(DropReason::UdpNoSocket);
                //= rfc1122#4.1.3.1
                // A datagram for a port nobody listens on gets an ICMP port unreachable, but
                // never one sent to a broadcast or multicast address.
                if dest == Dest::Local {
                    if self.udp.unreachable_allowed(now) {
                        self.port_unreachable(src, dst, udp.payload);
                    } else {
                        self.counters.drop(DropReason::UdpUnreachableLimited);
                    }
                }
                return;
            }
        };
        let (rx_cap, bytes_cap) = (self.udp.cfg.rx_queue, self.udp.cfg.rx_queue_bytes);
        let Ok(s) = self.udp.sock_mut(h) else { return };
        if s.remote.is_some_and(|r| r != src) {
            return self.counters.drop(DropReason::UdpWrongPeer);
        }
        if s.rx.len() >= rx_cap || s.rx_bytes + udp.payload.len() > bytes_cap {
            s.dropped += 1;
            return self.counters.drop(DropReason::UdpRxQueueFull);
        }
        s.rx_bytes += udp.payload.len();
        s.rx.push_back(Datagram { src, dst, data: udp.payload.to_vec() });
        self.counters.udp_delivered += 1;
        self.udp.flag(h);
    }

    /// An ICMP error quoting a UDP datagram from `local` to `remote`: reported to the socket
    /// connected to `remote` (unconnected sockets get none, as on Linux).
    pub(super) fn udp_icmp_error(&mut self, local: SocketAddr, remote: SocketAddr, port: bool) {
        let Some(h) = self.udp.lookup(local) else {
            return self.counters.drop(DropReason::IcmpBadQuote);
        };
        let Ok(s) = self.udp.sock_mut(h) else { return };
        if s.remote != Some(remote) {
            return self.counters.drop(DropReason::IcmpBadQuote);
        }
        s.error = Some(if port { UdpError::ConnectionRefused } else { UdpError::HostUnreachable });
        self.counters.icmp_errors_delivered += 1;
        self.udp.flag(h);
    }
}

fn addr_is_group(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.is_multicast() || a.is_broadcast(),
        IpAddr::V6(a) => a.is_multicast(),
    }
}
