use super::*;
use crate::ast::OptSpec;
use synack_wire::tcp::TcpFlags;

fn syn(cfg: &ScriptConfig, flags: TcpFlags, tos: u8) -> Segment {
    Segment {
        udp: None,
        at: 0,
        src: SocketAddr::new(cfg.remote_ip, 40000),
        dst: SocketAddr::new(cfg.local_ip, 8080),
        flags,
        seq: 0,
        ack: 0,
        window: 65535,
        urgent: 0,
        options: vec![OptSpec::Mss(1000)],
        payload: Vec::new(),
        tos,
        ttl: 64,
        checksum_ok: true,
    }
}

/// Listens on 8080, injects `syn`, returns the SYN-ACK's flags.
fn syn_ack_flags(p: &Profile, flags: TcpFlags) -> TcpFlags {
    let cfg = ScriptConfig::default();
    let mut t = EngineTarget::new(p, &cfg);
    let s = t.socket().unwrap();
    t.bind(s, SocketAddr::new(cfg.local_ip, 8080)).unwrap();
    t.listen(0, s, 1).unwrap();
    t.deliver(0, &syn(&cfg, flags, 0));
    let out = t.poll_transmit(0).expect("SYN-ACK");
    assert!(out.flags.syn() && out.flags.ack(), "{:?}", out.flags);
    out.flags
}

fn active_syn_flags(p: &Profile) -> TcpFlags {
    let cfg = ScriptConfig::default();
    let mut t = EngineTarget::new(p, &cfg);
    let s = t.socket().unwrap();
    assert_eq!(t.connect(0, s, SocketAddr::new(cfg.remote_ip, 8080)), Err(Errno::EINPROGRESS));
    t.poll_transmit(0).expect("SYN").flags
}

#[test]
fn ecn_modes_map_onto_the_engine() {
    let ecn_syn = TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR;
    let ece = |f: TcpFlags| f.contains(TcpFlags::ECE);
    let mut on = Profile::linux();
    on.set_sysctl("net.ipv4.tcp_ecn", "1").unwrap();
    let passive = Profile::freebsd();
    assert_eq!(passive.ecn, EcnMode::Passive);
    let off = Profile::linux();
    // On: asks on the SYN and accepts.
    assert!(active_syn_flags(&on).contains(TcpFlags::ECE | TcpFlags::CWR));
    assert!(ece(syn_ack_flags(&on, ecn_syn)));
    // Passive: never asks, accepts on a listener.
    assert!(!ece(active_syn_flags(&passive)));
    assert!(ece(syn_ack_flags(&passive, ecn_syn)));
    // Off: neither; and a plain SYN is never answered with ECE.
    assert!(!ece(active_syn_flags(&off)));
    assert!(!ece(syn_ack_flags(&off, ecn_syn)));
    assert!(!ece(syn_ack_flags(&on, TcpFlags::SYN)));
}

/// The IP ECN codepoint the script writes reaches the engine, and the engine's codepoint
/// comes back in the outbound TOS: CE on inbound data is echoed with ECE (RFC 3168 6.1.3),
/// our data leaves with ECT(0).
#[test]
fn ecn_codepoints_cross_the_adapter() {
    let mut p = Profile::linux();
    p.set_sysctl("net.ipv4.tcp_ecn", "1").unwrap();
    let cfg = ScriptConfig::default();
    let mut t = EngineTarget::new(&p, &cfg);
    let l = t.socket().unwrap();
    t.bind(l, SocketAddr::new(cfg.local_ip, 8080)).unwrap();
    t.listen(0, l, 1).unwrap();
    let mut seg = syn(&cfg, TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR, 0);
    t.deliver(0, &seg);
    let syn_ack = t.poll_transmit(0).expect("SYN-ACK");
    let iss = syn_ack.seq;
    seg.flags = TcpFlags::ACK;
    seg.seq = 1;
    seg.ack = iss.wrapping_add(1);
    seg.options.clear();
    t.deliver(1000, &seg);
    let s = t.accept(1000, l).unwrap();
    // Data marked CE: the ACK carries ECE.
    seg.flags = TcpFlags::ACK | TcpFlags::PSH;
    seg.payload = vec![7; 100];
    seg.tos = 3;
    t.deliver(2000, &seg);
    let mut now = 2000;
    let ack = loop {
        if let Some(a) = t.poll_transmit(now) {
            break a;
        }
        now = t.poll_timeout().expect("an ACK is due");
        t.on_timeout(now);
    };
    assert_eq!(ack.ack, 101);
    assert!(ack.flags.contains(TcpFlags::ECE), "{:?}", ack.flags);
    assert_eq!(ack.tos & 3, 0, "a pure ACK is Not-ECT");
    // Our data: ECT(0).
    assert_eq!(t.write(now, s, &[1; 10]), Ok(10));
    let data = t.poll_transmit(now).expect("data");
    assert_eq!((data.payload.len(), data.tos & 3), (10, 2));
}

#[test]
fn mapped_knobs_are_not_reported_unmapped() {
    for p in [Profile::linux(), Profile::linux_delack(), Profile::freebsd(), Profile::rfc()] {
        let v = unmapped_knobs(&p).join("; ");
        assert!(!v.contains("ECN") && !v.contains("quick-ACK") && !v.contains("TLP"), "{v}");
        assert!(!v.contains("initial window") && !v.contains("slow start"), "{v}");
        assert_eq!(v.contains("SO_RCVBUF"), p.sockbuf_doubling && !p.rcv_memory, "{v}");
    }
    assert!(!unmapped_knobs(&Profile::linux()).join("; ").contains("SO_RCVBUF"));
}

/// The profile's initial window reaches the engine: after a passive open with MSS 1000, a
/// 20,000-byte write sends 3 segments at once in the `rfc` profile (RFC 5681's initial window
/// for this MSS) and 10 in `linux` (RFC 6928's, Linux's default).
#[test]
fn the_profile_initial_window_reaches_the_engine() {
    for (p, segments) in [(Profile::rfc(), 3), (Profile::linux(), 10)] {
        let cfg = ScriptConfig::default();
        let mut t = EngineTarget::new(&p, &cfg);
        let l = t.socket().unwrap();
        t.bind(l, SocketAddr::new(cfg.local_ip, 8080)).unwrap();
        t.listen(0, l, 1).unwrap();
        let mut seg = syn(&cfg, TcpFlags::SYN, 0);
        t.deliver(0, &seg);
        let syn_ack = t.poll_transmit(0).expect("SYN-ACK");
        seg.flags = TcpFlags::ACK;
        seg.seq = 1;
        seg.ack = syn_ack.seq.wrapping_add(1);
        seg.options.clear();
        t.deliver(1000, &seg);
        let s = t.accept(1000, l).unwrap();
        assert_eq!(t.write(1000, s, &[1; 20_000]), Ok(20_000));
        let mut sent = 0;
        while let Some(out) = t.poll_transmit(1000) {
            sent += usize::from(!out.payload.is_empty());
        }
        assert_eq!(sent, segments, "{}", p.name);
    }
}
