//! Two hosts on the in-memory link, driven on a virtual clock.
//!
//! Each host is an [`Interface`] and an [`Endpoint`] on one end of a [`Link`]. Each direction
//! of the link is a seeded `synack-netsim` pipe (delay, loss) wrapped so that every frame that
//! enters it is also written to a [`WireLog`] with its fate (lost or not): the ladder diagram
//! draws from that log, so it shows segments that never arrived too. The client's end can be
//! wrapped in the pcap tap. No threads and no real clock: the caller moves time from one
//! deadline to the next, so a seed always gives the same run.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use synack_netsim::{LinkConfig, Pipe, SendOutcome};
use synack_stack::phy::{Frame, FrameRing, Link, LinkEnd, PathModel, PcapTap};
use synack_stack::{Device, DeviceCaps, Interface, InterfaceConfig, IpCidr};
use synack_tcp::{Endpoint, EndpointConfig, Event, Instant};

/// One frame as it entered the link.
#[derive(Debug, Clone)]
pub(crate) struct WireRecord {
    /// When it was sent.
    pub(crate) at: Instant,
    /// Sent by the client (host A).
    pub(crate) from_client: bool,
    /// The IP packet.
    pub(crate) bytes: Vec<u8>,
    /// The path dropped it.
    pub(crate) lost: bool,
}

/// Frames in the order they entered the link, shared by both directions.
pub(crate) type WireLog = Arc<Mutex<Vec<WireRecord>>>;

/// A netsim pipe as one direction of the link, logging every frame.
struct LoggedPipe {
    pipe: Pipe,
    from_client: bool,
    log: WireLog,
    /// Frames of this direction (counted from 1) the path drops on purpose.
    drop_nth: Vec<usize>,
    sent: usize,
}

impl PathModel for LoggedPipe {
    fn push(&mut self, now: Instant, frame: Frame) -> Result<(), Frame> {
        let bytes = frame.bytes().to_vec();
        self.sent += 1;
        let lost = self.drop_nth.contains(&self.sent)
            || matches!(self.pipe.send(now.as_micros(), bytes.clone()), SendOutcome::Dropped(_));
        self.log.lock().unwrap_or_else(PoisonError::into_inner).push(WireRecord {
            at: now,
            from_client: self.from_client,
            bytes,
            lost,
        });
        if lost { Err(frame) } else { Ok(()) }
    }

    fn pop(&mut self, now: Instant) -> Option<Frame> {
        self.pipe.poll_deliver(now.as_micros()).map(|v| Frame { end: v.len(), buf: v, start: 0 })
    }

    fn next_arrival(&self) -> Option<Instant> {
        self.pipe.next_delivery().map(Instant::from_micros)
    }
}

/// Impairments of the demo's link (both directions alike).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Impairments {
    /// One-way delay in microseconds.
    pub(crate) delay_us: u64,
    /// Loss probability in [0, 1].
    pub(crate) loss: f64,
    /// Seed of the pipes (and of the engines' randomness).
    pub(crate) seed: u64,
}

/// A host: IP layer, TCP engine, device.
pub(crate) struct Host<D> {
    /// IP in and out.
    pub(crate) iface: Interface,
    /// The TCP engine.
    pub(crate) ep: Endpoint,
    /// The device (an end of the link, perhaps tapped).
    pub(crate) dev: D,
}

impl<D: Device> Host<D> {
    fn new(dev: D, addr: IpCidr, secret: [u8; 16], seed: u64, cfg: EndpointConfig) -> Self {
        let mut iface = Interface::new(InterfaceConfig::default());
        iface.add_address(addr);
        let cfg = EndpointConfig { mtu: dev.caps().mtu, ..cfg };
        Host { iface, ep: Endpoint::new(cfg, secret, seed), dev }
    }

    /// Runs the interface until it has nothing more to do at `now`.
    pub(crate) fn poll(&mut self, now: Instant) {
        // Each round moves one batch each way; a bounded number of rounds keeps a confused
        // engine from spinning forever (the caller sees the lack of progress as a stall).
        for _ in 0..1024 {
            if !self.iface.poll(now, &mut self.dev, &mut self.ep).more {
                break;
            }
        }
    }

    /// The engine's events since the last call.
    pub(crate) fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.ep.poll_event()).collect()
    }

    /// The earliest time anything is due on this host.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        [self.ep.poll_timeout(), self.dev.poll_at(), self.iface.poll_at()]
            .into_iter()
            .flatten()
            .min()
    }
}

/// Engine settings of both hosts and frames the link drops on purpose (a scenario's script).
#[derive(Default)]
pub(crate) struct Setup {
    /// The client's engine settings (the MTU comes from the link).
    pub(crate) client: EndpointConfig,
    /// The server's engine settings.
    pub(crate) server: EndpointConfig,
    /// Client-to-server frames to drop, counted from 1.
    pub(crate) drop_from_client: Vec<usize>,
    /// Server-to-client frames to drop, counted from 1.
    pub(crate) drop_from_server: Vec<usize>,
    /// The link's rate each way in bits per second (0: no limit, frames arrive together).
    pub(crate) rate_bps: u64,
}

/// The client's device: its link end behind the pcap tap (with or without a file).
pub(crate) type ClientDev = PcapTap<LinkEnd, Box<dyn Write>>;

/// The two hosts and the log of their wire.
pub(crate) struct World {
    /// Host A, which connects.
    pub(crate) client: Host<ClientDev>,
    /// Host B, which listens.
    pub(crate) server: Host<LinkEnd>,
    /// Every frame that entered the link.
    pub(crate) log: WireLog,
}

impl World {
    /// Builds the two hosts at `client_addr` and `server_addr` (same prefix), capturing the
    /// client's frames into `pcap` when given.
    pub(crate) fn new(
        client_addr: IpCidr,
        server_addr: IpCidr,
        imp: Impairments,
        pcap: Option<synack_stack::phy::CaptureWriter<Box<dyn Write>>>,
    ) -> Result<World, synack_netsim::ConfigError> {
        let setup = Setup::default();
        Self::with_setup(client_addr, server_addr, imp, pcap, setup)
    }

    /// [`World::new`] with engine settings per host and frames the link drops on purpose.
    pub(crate) fn with_setup(
        client_addr: IpCidr,
        server_addr: IpCidr,
        imp: Impairments,
        pcap: Option<synack_stack::phy::CaptureWriter<Box<dyn Write>>>,
        setup: Setup,
    ) -> Result<World, synack_netsim::ConfigError> {
        let log: WireLog = Arc::default();
        let cfg = LinkConfig {
            delay: core::time::Duration::from_micros(imp.delay_us),
            loss: imp.loss,
            rate_bps: setup.rate_bps,
            queue_limit_bytes: if setup.rate_bps > 0 {
                1 << 24
            } else {
                LinkConfig::ideal().queue_limit_bytes
            },
            ..LinkConfig::ideal()
        };
        let a_to_b = LoggedPipe {
            pipe: Pipe::new(cfg, imp.seed)?,
            from_client: true,
            log: log.clone(),
            drop_nth: setup.drop_from_client,
            sent: 0,
        };
        let b_to_a = LoggedPipe {
            pipe: Pipe::new(cfg, imp.seed.wrapping_add(0x9e37_79b9))?,
            from_client: false,
            log: log.clone(),
            drop_nth: setup.drop_from_server,
            sent: 0,
        };
        let (a, b) = Link::pair(DeviceCaps::default(), Box::new(a_to_b), Box::new(b_to_a));
        let tap = PcapTap::new(a, pcap, FrameRing::new(0, 0));
        let seed = imp.seed;
        let client = Host::new(tap, client_addr, secret(seed, 1), seed ^ 1, setup.client);
        let server = Host::new(b, server_addr, secret(seed, 2), seed ^ 2, setup.server);
        Ok(World { client, server, log })
    }

    /// Takes the frames logged since the last call.
    pub(crate) fn take_wire(&self) -> Vec<WireRecord> {
        std::mem::take(&mut *self.log.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The earliest deadline of either host.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        [self.client.next_deadline(), self.server.next_deadline()].into_iter().flatten().min()
    }
}

/// A per-host key for ISNs derived from the seed, so a seed fixes the whole run.
fn secret(seed: u64, host: u8) -> [u8; 16] {
    let mut s = [host; 16];
    s[..8].copy_from_slice(&seed.to_le_bytes());
    s
}
