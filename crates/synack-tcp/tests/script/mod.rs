//! A small segment-script harness: the test plays the peer ("T"), injects segments into an
//! [`Endpoint`] at virtual times, and checks the exact segments the endpoint sends back.
#![allow(dead_code, unreachable_pub)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::vec::Vec;

use synack_tcp::{
    ConnConfig, ConnId, Duration, Endpoint, EndpointConfig, Event, Instant, ListenerId, State,
};
use synack_wire::SeqNum;
use synack_wire::tcp::{TcpFlags, TcpOptions, TcpRepr, Timestamps};

pub const S: TcpFlags = TcpFlags::SYN;
pub const A: TcpFlags = TcpFlags::ACK;
pub const F: TcpFlags = TcpFlags::FIN;
pub const R: TcpFlags = TcpFlags::RST;
pub const P: TcpFlags = TcpFlags::PSH;
pub const U: TcpFlags = TcpFlags::URG;
pub const SA: TcpFlags = TcpFlags(0x012);
pub const FA: TcpFlags = TcpFlags(0x011);
pub const RA: TcpFlags = TcpFlags(0x014);
pub const PA: TcpFlags = TcpFlags(0x018);
pub const NONE: TcpFlags = TcpFlags::NONE;

/// Our ISS in scripted tests (via the endpoint's ISN override).
pub const ISS: u32 = 1_000_000;
/// T's ISN.
pub const IRS: u32 = 5_000_000;

/// A segment T sends.
#[derive(Clone, Debug)]
pub struct Seg {
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    pub urgent: u16,
    pub options: TcpOptions,
    pub payload: Vec<u8>,
    pub src_port: u16,
    pub dst_port: u16,
}

impl Seg {
    /// The segment as the engine takes it.
    pub fn repr(&self) -> TcpRepr<'_> {
        TcpRepr {
            src_port: self.src_port,
            dst_port: self.dst_port,
            seq: SeqNum(self.seq),
            ack: SeqNum(self.ack),
            flags: self.flags,
            window: self.window,
            urgent: self.urgent,
            options: self.options,
            raw_options: None,
            payload: &self.payload,
        }
    }

    pub fn new(flags: TcpFlags, seq: u32, ack: u32) -> Seg {
        Seg {
            seq,
            ack,
            flags,
            window: 65535,
            urgent: 0,
            options: TcpOptions::default(),
            payload: Vec::new(),
            src_port: 0,
            dst_port: 0,
        }
    }
    pub fn win(mut self, w: u16) -> Seg {
        self.window = w;
        self
    }
    pub fn data(mut self, d: &[u8]) -> Seg {
        self.payload = d.to_vec();
        self
    }
    pub fn len(mut self, n: usize) -> Seg {
        self.payload = (0..n).map(|i| (i % 251) as u8).collect();
        self
    }
    pub fn mss(mut self, m: u16) -> Seg {
        self.options.mss = Some(m);
        self
    }
    pub fn ws(mut self, s: u8) -> Seg {
        self.options.window_scale = Some(s);
        self
    }
    pub fn sack_ok(mut self) -> Seg {
        self.options.sack_permitted = true;
        self
    }
    pub fn ts(mut self, tsval: u32, tsecr: u32) -> Seg {
        self.options.timestamps = Some(Timestamps { tsval, tsecr });
        self
    }
    pub fn urg(mut self, up: u16) -> Seg {
        self.flags |= TcpFlags::URG;
        self.urgent = up;
        self
    }
}

/// A segment the endpoint sent.
#[derive(Clone, PartialEq, Eq)]
pub struct Out {
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    pub urgent: u16,
    pub options: TcpOptions,
    pub payload: Vec<u8>,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub conn: Option<ConnId>,
}

impl std::fmt::Debug for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?} seq={} ack={} win={} len={} urg={} opts(mss={:?} ws={:?} sackok={} ts={:?} sack={:?})",
            self.flags,
            self.seq,
            self.ack,
            self.window,
            self.payload.len(),
            self.urgent,
            self.options.mss,
            self.options.window_scale,
            self.options.sack_permitted,
            self.options.timestamps.map(|t| (t.tsval, t.tsecr)),
            self.options.sack.as_slice().iter().map(|b| (b.left.0, b.right.0)).collect::<Vec<_>>()
        )
    }
}

impl Out {
    pub fn is(&self, flags: TcpFlags, seq: u32, ack: u32) -> bool {
        self.flags == flags && self.seq == seq && (self.ack == ack || !flags.ack())
    }
}

#[track_caller]
pub fn check(o: &Out, flags: TcpFlags, seq: u32, ack: u32) {
    assert!(
        o.is(flags, seq, ack),
        "expected {flags:?} seq={seq} ack={ack}, got {:?} seq={} ack={} win={} len={}",
        o.flags,
        o.seq,
        o.ack,
        o.window,
        o.payload.len()
    );
}

pub fn plain() -> ConnConfig {
    ConnConfig { window_scaling: false, sack: false, timestamps: false, ..ConnConfig::default() }
}

pub struct Script {
    pub ep: Endpoint,
    pub now: Instant,
    /// The SUT's address.
    pub local: SocketAddr,
    /// T's address.
    pub remote: SocketAddr,
    pub conn: Option<ConnId>,
    pub listener: Option<ListenerId>,
    pub events: Vec<Event>,
    buf: Vec<u8>,
}

pub fn v4(a: u8, port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, a)), port)
}

impl Script {
    pub fn with_config(cfg: EndpointConfig) -> Script {
        let mut ep = Endpoint::new(cfg, [7; 16], 42);
        ep.set_isn_override(Some(SeqNum(ISS)));
        Script {
            ep,
            now: Instant::from_secs(1000),
            local: v4(1, 80),
            remote: v4(2, 4000),
            conn: None,
            listener: None,
            events: Vec::new(),
            buf: vec![0; 70000],
        }
    }

    /// A listener on the SUT with `cfg` for accepted connections.
    pub fn listening(cfg: ConnConfig) -> Script {
        let mut s = Script::with_config(EndpointConfig { conn: cfg, ..EndpointConfig::default() });
        s.listener = Some(s.ep.listen(s.local, 16).unwrap());
        s
    }

    /// An active open from the SUT; the SYN is left unread.
    pub fn connecting(cfg: ConnConfig) -> Script {
        let mut s = Script::with_config(EndpointConfig { conn: cfg, ..EndpointConfig::default() });
        s.local = v4(1, 5000);
        s.remote = v4(2, 80);
        s.conn = Some(s.ep.connect(s.now, s.local, s.remote, cfg).unwrap());
        s
    }

    /// ESTABLISHED by a passive open: T's ISN is `irs`, SUT ISS is `iss`.
    pub fn established_passive_with(cfg: ConnConfig, iss: u32, irs: u32) -> Script {
        let mut s = Script::listening(cfg);
        s.ep.set_isn_override(Some(SeqNum(iss)));
        s.inject(Seg::new(S, irs, 0).mss(1460));
        let o = s.one();
        check(&o, SA, iss, irs.wrapping_add(1));
        s.inject(Seg::new(A, irs.wrapping_add(1), iss.wrapping_add(1)));
        s.none();
        let c = s.ep.accept(s.listener.unwrap()).expect("accepted");
        s.conn = Some(c);
        assert_eq!(s.state(), State::Established);
        s.events.clear();
        s
    }

    /// ESTABLISHED by a passive open over a path with round-trip time `rtt`: T's `syn` (ISN
    /// IRS) is answered, and T's ACK arrives `rtt` after the SYN-ACK, so the handshake's RTT
    /// sample (RFC 6298) is the path's, as on a network.
    pub fn established_passive_over(cfg: ConnConfig, syn: Seg, rtt: Duration) -> Script {
        let mut s = Script::listening(cfg);
        s.inject(syn);
        s.one();
        assert!(s.advance(rtt).is_empty());
        s.inject(Seg::new(A, IRS + 1, ISS + 1));
        s.conn = s.ep.accept(s.listener.unwrap());
        assert_eq!(s.state(), State::Established);
        s
    }

    pub fn established_passive(cfg: ConnConfig) -> Script {
        Script::established_passive_with(cfg, ISS, IRS)
    }

    /// ESTABLISHED by an active open.
    pub fn established_active_with(cfg: ConnConfig, iss: u32, irs: u32) -> Script {
        let mut s = Script::with_config(EndpointConfig { conn: cfg, ..EndpointConfig::default() });
        s.ep.set_isn_override(Some(SeqNum(iss)));
        s.local = v4(1, 5000);
        s.remote = v4(2, 80);
        s.conn = Some(s.ep.connect(s.now, s.local, s.remote, cfg).unwrap());
        let o = s.one();
        check(&o, S, iss, 0);
        s.inject(Seg::new(SA, irs, iss.wrapping_add(1)).mss(1460));
        let o = s.one();
        check(&o, A, iss.wrapping_add(1), irs.wrapping_add(1));
        assert_eq!(s.state(), State::Established);
        s.events.clear();
        s
    }

    pub fn id(&self) -> ConnId {
        self.conn.expect("a connection")
    }

    pub fn state(&self) -> State {
        self.ep.state(self.id()).unwrap()
    }

    /// T sends `seg` (ports filled in) at the current time, not ECN-capable.
    pub fn inject(&mut self, seg: Seg) {
        self.inject_ecn(seg, 0);
    }

    /// T sends `seg`, which a receive offload (GRO) coalesced from segments of `seg_size`
    /// bytes.
    pub fn inject_coalesced(&mut self, seg: Seg, seg_size: u16) {
        let seg = self.addressed(seg);
        let (remote, local) = (self.remote.ip(), self.local.ip());
        self.ep.on_coalesced_segment(self.now, remote, local, 0, seg_size, &seg.repr());
        self.drain_events();
    }

    /// `seg` with the connection's ports where it left them 0.
    fn addressed(&self, mut seg: Seg) -> Seg {
        if seg.src_port == 0 {
            seg.src_port = self.remote.port();
        }
        if seg.dst_port == 0 {
            seg.dst_port = self.local.port();
        }
        seg
    }

    /// T sends `seg` inside an IP packet whose ECN field is `ecn` (3 = CE).
    pub fn inject_ecn(&mut self, seg: Seg, ecn: u8) {
        let seg = self.addressed(seg);
        let (remote, local) = (self.remote.ip(), self.local.ip());
        self.ep.on_segment_with_ecn(self.now, remote, local, ecn, &seg.repr());
        self.drain_events();
    }

    /// Everything the SUT sends now, with the IP ECN codepoint of each.
    pub fn sent_ecn(&mut self) -> Vec<(Out, u8)> {
        let mut out = Vec::new();
        while let Some(t) = self.ep.poll_transmit(self.now, &mut self.buf) {
            out.push((
                Out {
                    seq: t.seq.0,
                    ack: t.ack.0,
                    flags: t.flags,
                    window: t.window,
                    urgent: t.urgent,
                    options: t.options,
                    payload: t.payload(&self.buf).to_vec(),
                    src: t.src,
                    dst: t.dst,
                    conn: t.conn,
                },
                t.ecn,
            ));
        }
        self.drain_events();
        out
    }

    pub fn drain_events(&mut self) {
        while let Some(e) = self.ep.poll_event() {
            self.events.push(e);
        }
    }

    /// Everything the SUT sends now.
    pub fn sent(&mut self) -> Vec<Out> {
        let mut out = Vec::new();
        while let Some(t) = self.ep.poll_transmit(self.now, &mut self.buf) {
            out.push(Out {
                seq: t.seq.0,
                ack: t.ack.0,
                flags: t.flags,
                window: t.window,
                urgent: t.urgent,
                options: t.options,
                payload: t.payload(&self.buf).to_vec(),
                src: t.src,
                dst: t.dst,
                conn: t.conn,
            });
            assert!(out.len() < 10_000, "endless output");
        }
        self.drain_events();
        out
    }

    /// Exactly one segment is sent now.
    #[track_caller]
    pub fn one(&mut self) -> Out {
        let mut v = self.sent();
        assert_eq!(v.len(), 1, "expected one segment, got {v:?}");
        v.pop().unwrap()
    }

    /// Nothing is sent now.
    #[track_caller]
    pub fn none(&mut self) {
        let v = self.sent();
        assert!(v.is_empty(), "expected silence, got {v:?}");
    }

    /// Advances virtual time by `d`, running each timer at its deadline; returns what was
    /// sent along the way, each with the time it left.
    pub fn advance(&mut self, d: Duration) -> Vec<(Instant, Out)> {
        let end = self.now + d;
        let mut out = Vec::new();
        for _ in 0..100_000 {
            match self.ep.poll_timeout() {
                Some(t) if t <= end => {
                    self.now = self.now.max(t);
                    self.ep.on_timeout(self.now);
                    for o in self.sent() {
                        out.push((self.now, o));
                    }
                }
                _ => break,
            }
        }
        self.now = end;
        self.ep.on_timeout(end);
        for o in self.sent() {
            out.push((self.now, o));
        }
        out
    }

    pub fn send(&mut self, data: &[u8]) -> usize {
        self.ep.send(self.id(), data).unwrap()
    }

    pub fn recv_all(&mut self) -> Vec<u8> {
        let mut v = Vec::new();
        let mut b = [0u8; 4096];
        while let Ok(n) = self.ep.recv(self.id(), &mut b) {
            if n == 0 {
                break;
            }
            v.extend_from_slice(&b[..n]);
        }
        self.drain_events();
        v
    }

    pub fn has_event(&self, f: impl Fn(&Event) -> bool) -> bool {
        self.events.iter().any(f)
    }
}

/// `plain()` with a 1000-byte receive buffer.
pub fn plain_small_buffer() -> ConnConfig {
    ConnConfig { recv_buffer: 1000, ..plain() }
}

/// A passive open over a 20 ms path with none of the options (no SACK, timestamps or window
/// scaling) and an MSS of 1000, so segment boundaries are round numbers.
pub fn established_plain_mss1000(nodelay: bool) -> Script {
    let cfg = ConnConfig { nodelay, ..plain() };
    Script::established_passive_over(cfg, Seg::new(S, IRS, 0).mss(1000), Duration::from_millis(20))
}

/// Each segment's payload as (start, end, PSH), counted from our first data byte's sequence
/// number minus one (our ISS).
pub fn payload_ranges(out: &[Out]) -> Vec<(u32, u32, bool)> {
    out.iter().map(|o| (o.seq - ISS, o.seq - ISS + o.payload.len() as u32, o.flags.psh())).collect()
}
