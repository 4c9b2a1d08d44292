//! Fuzz target body for the interface (`stack_interface`) and the replay of its corpus
//! (`fuzz/corpus/stack_interface/`, seeds plus any `regress-*` crash reproducers).
//!
//! Raw frames go into a [`QueueDevice`] polled by an [`Interface`] in front of a real
//! [`Endpoint`] with listeners on IPv4 and IPv6. Frames are either raw bytes, or IPv4 headers
//! built from fuzz fields around fuzz payloads with a correct header checksum (fragments,
//! any protocol), so reassembly and the TCP path are reached, not just the header checks.
//! After every step: no panic, the counters agree with what went in and out, reassembly stays
//! within its configured limits, and every frame sent parses with a valid checksum.
//! `fuzz/fuzz_targets/stack_interface.rs` includes this file with `#[path]`.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use synack_stack::iface::ReassemblyConfig;
use synack_stack::phy::QueueDevice;
use synack_stack::{ChecksumOffload, DeviceCaps, Interface, InterfaceConfig, IpCidr};
use synack_tcp::{Duration, Endpoint, EndpointConfig, Instant};
use synack_wire::{Ipv4Packet, Ipv6Packet, TcpPacket};

const US4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PEER4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const US6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1);
/// Most polls per step before the interface must have gone quiet.
const MAX_POLLS: usize = 256;
/// Most steps decoded from one input.
const MAX_STEPS: usize = 256;

struct Input<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Input<'_> {
    fn done(&self) -> bool {
        self.pos >= self.data.len()
    }
    fn u8(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }
    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }
    fn bytes(&mut self, n: usize) -> &[u8] {
        let start = self.pos.min(self.data.len());
        let end = (start + n).min(self.data.len());
        self.pos = start + n;
        &self.data[start..end]
    }
}

/// An IPv4 header from fuzz fields (source, protocol, identification, fragment field, TTL)
/// with a valid header checksum, followed by `payload`.
fn ipv4_frame(inp: &mut Input<'_>) -> Vec<u8> {
    let sel = inp.u8();
    let proto = [6u8, 1, 17, 6][usize::from(sel & 3)];
    let ident = u16::from(inp.u8() & 3);
    let frag = match (sel >> 2) & 3 {
        0 => 0x4000,                        // DF, no fragment
        1 => 0x2000 | (inp.u16() & 0x1fff), // more fragments at an offset
        2 => inp.u16() & 0x1fff,            // last fragment at an offset
        _ => inp.u16(),                     // anything
    };
    let ttl = if sel & 16 != 0 { inp.u8() } else { 64 };
    let src = if sel & 32 != 0 { Ipv4Addr::from(u32::from(inp.u16()) << 8) } else { PEER4 };
    let dst = if sel & 64 != 0 { Ipv4Addr::from(0x0a00_0000 | u32::from(inp.u8())) } else { US4 };
    let plen = usize::from(inp.u16() % 1600);
    let payload = inp.bytes(plen).to_vec();
    let total = 20 + payload.len();
    let mut f = vec![0u8; total];
    f[0] = 0x45;
    f[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    f[4..6].copy_from_slice(&ident.to_be_bytes());
    f[6..8].copy_from_slice(&frag.to_be_bytes());
    f[8] = ttl;
    f[9] = proto;
    f[12..16].copy_from_slice(&src.octets());
    f[16..20].copy_from_slice(&dst.octets());
    f[20..].copy_from_slice(&payload);
    if let Ok(mut p) = Ipv4Packet::new_checked(&mut f[..]) {
        p.fill_checksum();
    }
    f
}

/// Checks a frame the interface sent: it parses as IPv4 or IPv6, and TCP in it checksums.
fn check_sent(frame: &[u8], mtu: usize) {
    assert!(frame.len() <= mtu, "sent frame of {} bytes over the MTU {mtu}", frame.len());
    match frame.first().map(|b| b >> 4) {
        Some(4) => {
            let p = Ipv4Packet::new_checked(frame).expect("sent IPv4 parses");
            assert!(p.verify_checksum(), "sent IPv4 header checksum");
            if p.protocol() == synack_wire::IpProtocol::TCP
                && !p.more_frags()
                && p.frag_offset() == 0
            {
                let t = TcpPacket::new_checked(p.payload()).expect("sent TCP parses");
                let (s, d) = (IpAddr::V4(p.src_addr()), IpAddr::V4(p.dst_addr()));
                assert_eq!(t.verify_checksum(s, d), Ok(true), "sent TCP checksum");
            }
        }
        Some(6) => {
            let p = Ipv6Packet::new_checked(frame).expect("sent IPv6 parses");
            if p.next_header() == synack_wire::IpProtocol::TCP {
                let t = TcpPacket::new_checked(p.payload()).expect("sent TCP parses");
                let (s, d) = (IpAddr::V6(p.src_addr()), IpAddr::V6(p.dst_addr()));
                assert_eq!(t.verify_checksum(s, d), Ok(true), "sent TCP checksum");
            }
        }
        _ => panic!("sent frame is neither IPv4 nor IPv6"),
    }
}

/// Runs the frames and time steps encoded in `data` through one interface.
pub fn stack_interface(data: &[u8]) {
    let mut inp = Input { data, pos: 0 };
    let flags = inp.u8();
    let mtu = [1500usize, 576, 1280, 9000][usize::from(flags & 3)];
    let offload = flags & 4 != 0;
    let reasm = ReassemblyConfig {
        max_datagrams: 4,
        max_bytes: 16 * 1024,
        max_fragments: 16,
        timeout: Duration::from_secs(30),
    };
    let cfg = InterfaceConfig {
        transparent: flags & 8 != 0,
        answer_echo: flags & 16 == 0,
        reassembly: reasm,
        max_pending_replies: 8,
        ..InterfaceConfig::default()
    };
    let mut iface = Interface::new(cfg);
    iface.add_address(IpCidr::new(IpAddr::V4(US4), 24).expect("prefix"));
    iface.add_address(IpCidr::new(IpAddr::V6(US6), 64).expect("prefix"));
    let caps = DeviceCaps {
        mtu,
        checksum: if offload {
            ChecksumOffload { ipv4_rx: true, tcp_rx: true, ..ChecksumOffload::default() }
        } else {
            ChecksumOffload::default()
        },
        max_batch: 8,
        ..DeviceCaps::default()
    };
    let mut dev = QueueDevice::new(caps, 64);
    let ecfg = EndpointConfig { mtu, max_connections: 32, syn_queue_len: 8, ..Default::default() };
    let mut ep = Endpoint::new(ecfg, [3; 16], 9);
    ep.listen(SocketAddr::new(IpAddr::V4(US4), 80), 4).expect("listen v4");
    ep.listen(SocketAddr::new(IpAddr::V6(US6), 80), 4).expect("listen v6");

    let mut now = Instant::from_secs(1);
    let mut injected = 0u64;
    let mut sent = 0u64;
    for _ in 0..MAX_STEPS {
        if inp.done() {
            break;
        }
        match inp.u8() % 4 {
            0 | 1 => {
                let n = usize::from(inp.u16() % 4096);
                let frame = inp.bytes(n).to_vec();
                dev.inject(&frame);
                injected += 1;
            }
            2 => {
                let frame = ipv4_frame(&mut inp);
                dev.inject(&frame);
                injected += 1;
            }
            _ => {
                now += Duration::from_millis(u64::from(inp.u16()) * 16);
            }
        }
        let mut polls = 0;
        loop {
            polls += 1;
            assert!(polls <= MAX_POLLS, "interface still busy after {MAX_POLLS} polls");
            let r = iface.poll(now, &mut dev, &mut ep);
            for f in dev.take_sent() {
                check_sent(&f, mtu);
                sent += 1;
            }
            if !r.more && dev.rx_pending() == 0 {
                break;
            }
        }
        while ep.poll_event().is_some() {}
        let c = iface.counters();
        assert_eq!(c.rx_frames, injected, "rx_frames counts every injected frame");
        assert_eq!(c.tx_frames, sent + dev.bad_tx, "tx_frames counts every frame sent");
        assert!(c.tcp_delivered <= c.rx_frames, "more TCP delivered than frames received");
        assert!(c.reassembled <= c.rx_frames, "more datagrams reassembled than frames");
        assert!(c.echo_replies <= c.rx_frames, "more echo replies than frames");
        // IPv4 and IPv6 each have a reassembler with these limits; the usage is their sum.
        let (pending, bytes) = iface.reassembly_usage();
        assert!(pending <= 2 * reasm.max_datagrams, "{pending} datagrams in reassembly");
        assert!(bytes <= 2 * reasm.max_bytes, "{bytes} bytes in reassembly");
        assert!(ep.connection_count() <= 32, "connections over the limit");
    }
}

#[test]
fn stack_interface_corpus_replays() {
    synack_wire::fuzz::replay_corpus("stack_interface", stack_interface);
}
