use super::wire_form::option_bytes;
use super::*;
use crate::ast::OptSpec;

#[test]
fn option_bytes_keep_order_and_pad() {
    let b = option_bytes(&[OptSpec::Mss(1000), OptSpec::SackOk, OptSpec::Eol, OptSpec::Eol]);
    assert_eq!(b, vec![2, 4, 3, 232, 4, 2, 0, 0]);
    let b = option_bytes(&[OptSpec::Nop, OptSpec::Nop, OptSpec::Timestamp { val: 1, ecr: 2 }]);
    assert_eq!(b.len(), 12);
    assert_eq!(option_bytes(&[OptSpec::WScale(7)]), vec![3, 3, 7, 0]);
}

/// Every padding byte after an EOL reads as one more EOL, as packetdrill reads them.
#[test]
fn wire_options_count_padding_after_eol() {
    let mut seg = vec![0u8; 28];
    seg[12] = 7 << 4;
    seg[20..28].copy_from_slice(&[2, 4, 5, 0xb4, 4, 2, 0, 0]);
    let o = wire_options(&seg);
    assert_eq!(o, vec![OptSpec::Mss(1460), OptSpec::SackOk, OptSpec::Eol, OptSpec::Eol]);
    seg[20..28].copy_from_slice(&[2, 4, 5, 0xb4, 1, 1, 4, 2]);
    assert_eq!(wire_options(&seg).len(), 4, "no EOL: nothing added");
}

/// TCP_LINGER2 as Linux reads it: 0 is the 60 s default, a negative value no FIN-WAIT-2 at
/// all, anything above 120 s is capped; the value lands in `ConnConfig::fin_wait2_timeout`.
#[test]
fn linger2_sets_the_fin_wait_2_timeout() {
    let mut t = EngineTarget::new(&Profile::linux(), &crate::config::ScriptConfig::default());
    let s = t.socket().unwrap();
    for (set, read) in [(5, 5), (0, 60), (-1, 0), (500, 120)] {
        t.set_option(0, s, SockOpt::Linger2, set).unwrap();
        assert_eq!(t.get_option(s, SockOpt::Linger2).unwrap(), read, "{set}");
    }
}

/// SO_MAX_PACING_RATE lands in `ConnConfig::max_pacing_rate`; ~0 (32 bits) is no cap.
#[test]
fn max_pacing_rate_sets_the_cap() {
    let mut t = EngineTarget::new(&Profile::linux(), &crate::config::ScriptConfig::default());
    let s = t.socket().unwrap();
    assert_eq!(t.get_option(s, SockOpt::MaxPacingRate).unwrap(), i64::from(u32::MAX));
    t.set_option(0, s, SockOpt::MaxPacingRate, 1_000_000).unwrap();
    assert_eq!(t.get_option(s, SockOpt::MaxPacingRate).unwrap(), 1_000_000);
    t.set_option(0, s, SockOpt::MaxPacingRate, i64::from(u32::MAX)).unwrap();
    assert_eq!(t.get_option(s, SockOpt::MaxPacingRate).unwrap(), i64::from(u32::MAX));
    assert_eq!(
        SockOpt::from_names("SOL_SOCKET", "SO_MAX_PACING_RATE"),
        Some(SockOpt::MaxPacingRate)
    );
}

/// FreeBSD's RACK stack options are known by name and refused as FreeBSD's default stack,
/// the one the engine models, refuses them.
#[test]
fn rack_stack_options_are_refused_by_the_default_stack() {
    let mut t = EngineTarget::new(&Profile::freebsd(), &crate::config::ScriptConfig::default());
    let s = t.socket().unwrap();
    for name in ["TCP_RACK_PACE_MAX_SEG", "TCP_RACK_PACE_RATE_SS", "TCP_RACK_PACE_ALWAYS"] {
        let opt = SockOpt::from_names("IPPROTO_TCP", name);
        assert_eq!(opt, Some(SockOpt::RackStack), "{name}");
        assert_eq!(t.set_option(0, s, SockOpt::RackStack, 2), Err(Errno::ENOPROTOOPT));
    }
    assert_eq!(t.get_option(s, SockOpt::RackStack), Err(Errno::ENOPROTOOPT));
    assert_eq!(SockOpt::from_names("SOL_SOCKET", "TCP_RACK_PACE_MAX_SEG"), None);
}

/// `tc qdisc ... fq` turns pacing on (Linux paces every flow under fq), `pfifo` off; the
/// sysctl selects BBR.
#[test]
fn fq_qdisc_and_bbr_sysctl_map_onto_the_profile() {
    let mut p = Profile::linux();
    assert!(!p.pacing);
    p.apply_command("tc qdisc replace dev tun0 root fq").unwrap();
    assert!(p.pacing);
    p.apply_command("tc qdisc add dev tun0 root pfifo").unwrap();
    assert!(!p.pacing);
    p.apply_command("tc qdisc replace dev tun0 root fq").unwrap();
    p.apply_command("tc qdisc delete dev tun0 root 2>/dev/null").unwrap();
    assert!(!p.pacing, "deleting the root qdisc leaves the default, which does not pace");
    p.apply_command("tc qdisc add dev tun0 root pfifo limit 0").unwrap();
    assert!(p.link_drops && !p.pacing, "a zero-length pfifo drops every packet");
    p.apply_command("tc qdisc delete dev tun0 root 2>/dev/null").unwrap();
    assert!(!p.link_drops, "the default qdisc takes packets again");
    p.set_sysctl("net.ipv4.tcp_congestion_control", "bbr").unwrap();
    assert_eq!(p.cc, crate::profile::Cc::Bbr);
}

/// A sysctl written while the stack runs: per-socket settings (keep-alive, the tunnel port)
/// apply to sockets made afterwards; endpoint-wide ones are refused as live changes.
#[test]
fn live_settings_reach_new_sockets_only() {
    let before = Profile::freebsd();
    let mut after = before.clone();
    after.apply_command("sysctl -w net.inet.tcp.keepidle=7000").unwrap();
    after.apply_command("sysctl -w net.inet.tcp.udp_tunneling_port=9811").unwrap();
    assert!(EngineFactory.applies_live(&before, &after));
    let mut wide = before.clone();
    wide.syn_cookies = !wide.syn_cookies;
    assert!(!EngineFactory.applies_live(&before, &wide));

    let mut t = EngineTarget::new(&before, &crate::config::ScriptConfig::default());
    let old = t.socket().unwrap();
    assert_eq!(t.set_option(0, old, SockOpt::RemoteUdpEncapsPort, 1), Err(Errno::EINVAL));
    t.reconfigure(&after);
    let new = t.socket().unwrap();
    assert_eq!(t.get_option(new, SockOpt::KeepIdle).unwrap(), 7);
    t.set_option(0, new, SockOpt::RemoteUdpEncapsPort, 1).unwrap();
    assert_eq!(t.get_option(new, SockOpt::RemoteUdpEncapsPort).unwrap(), 1);
    assert_eq!(t.set_option(0, new, SockOpt::RemoteUdpEncapsPort, 65536), Err(Errno::EINVAL));
    assert_eq!(t.set_option(0, new, SockOpt::RemoteUdpEncapsPort, -1), Err(Errno::EINVAL));
}

/// TCP_KEEPINIT starts at `net.inet.tcp.keepinit` (seconds) and reads back what was set;
/// TCP_NOOPT reads back as set.
#[test]
fn keepinit_and_noopt_are_socket_options() {
    let mut p = Profile::freebsd();
    p.apply_command("sysctl -w net.inet.tcp.keepinit=15000").unwrap();
    let mut t = EngineTarget::new(&p, &crate::config::ScriptConfig::default());
    let s = t.socket().unwrap();
    assert_eq!(t.get_option(s, SockOpt::KeepInit).unwrap(), 15);
    t.set_option(0, s, SockOpt::KeepInit, 363).unwrap();
    assert_eq!(t.get_option(s, SockOpt::KeepInit).unwrap(), 363);
    assert_eq!(t.get_option(s, SockOpt::NoOpt).unwrap(), 0);
    t.set_option(0, s, SockOpt::NoOpt, 1).unwrap();
    assert_eq!(t.get_option(s, SockOpt::NoOpt).unwrap(), 1);
    assert_eq!(SockOpt::from_names("IPPROTO_TCP", "TCP_NOOPT"), Some(SockOpt::NoOpt));
}

/// IP_TTL / IPV6_UNICAST_HOPS and IP_TOS / IPV6_TCLASS: a byte each, -1 for the default; the
/// ECN bits of a TOS stay the connection's.
#[test]
fn ip_ttl_and_tos_are_socket_options() {
    let mut t = EngineTarget::new(&Profile::freebsd(), &crate::config::ScriptConfig::default());
    let s = t.socket().unwrap();
    assert_eq!(t.get_option(s, SockOpt::IpTtl).unwrap(), 64);
    t.set_option(0, s, SockOpt::IpTtl, 4).unwrap();
    assert_eq!(t.get_option(s, SockOpt::IpTtl).unwrap(), 4);
    assert_eq!(t.set_option(0, s, SockOpt::IpTtl, 256), Err(Errno::EINVAL));
    t.set_option(0, s, SockOpt::IpTtl, -1).unwrap();
    assert_eq!(t.get_option(s, SockOpt::IpTtl).unwrap(), 64);
    t.set_option(0, s, SockOpt::IpTos, 0xe3).unwrap();
    assert_eq!(t.get_option(s, SockOpt::IpTos).unwrap(), 0xe0);
    assert_eq!(SockOpt::from_names("IPPROTO_IPV6", "IPV6_TCLASS"), Some(SockOpt::IpTos));
    assert_eq!(SockOpt::from_names("IPPROTO_TCP", "IP_TTL"), None);
}

/// `md5 valid` is signed with the script's secret (the engine, holding the same key, takes
/// the segment), `md5 invalid` is not the signature, and the stack's own signature reads back
/// as `valid` under the secret.
#[test]
fn md5_options_between_script_and_engine() {
    use synack_wire::tcp::md5sig::verify_repr;
    let seg = Segment {
        at: 0,
        src: "192.0.2.1:5000".parse().unwrap(),
        dst: "192.168.0.1:8080".parse().unwrap(),
        flags: synack_wire::tcp::TcpFlags::SYN,
        seq: 7,
        ack: 0,
        window: 1000,
        urgent: 0,
        options: vec![OptSpec::Mss(1460), OptSpec::SackOk, OptSpec::Md5("valid".into())],
        payload: Vec::new(),
        tos: 0,
        ttl: 64,
        checksum_ok: true,
        udp: None,
    };
    let (src, dst) = (seg.src.ip(), seg.dst.ip());
    fn parse(b: &[u8], src: IpAddr, dst: IpAddr) -> TcpRepr<'_> {
        TcpRepr::parse_bytes(b, src, dst, ChecksumMode::Verify).unwrap()
    }
    let b = EngineTarget::inbound_bytes(&seg, Some(b"secret")).unwrap();
    assert!(verify_repr(&parse(&b, src, dst), src, dst, b"secret"));
    assert!(!verify_repr(&parse(&b, src, dst), src, dst, b"other"));
    let bad = Segment {
        options: vec![OptSpec::Nop, OptSpec::Nop, OptSpec::Md5("invalid".into())],
        ..seg.clone()
    };
    let b = EngineTarget::inbound_bytes(&bad, Some(b"secret")).unwrap();
    assert!(!verify_repr(&parse(&b, src, dst), src, dst, b"secret"));
    // packetdrill's hex form is written as given.
    let hex = Segment {
        options: vec![OptSpec::Md5("000102030405060708090a0b0c0d0e0f".into())],
        ..seg.clone()
    };
    let b = EngineTarget::inbound_bytes(&hex, None).unwrap();
    assert_eq!(parse(&b, src, dst).options.md5, Some(core::array::from_fn(|i| i as u8)));

    let mut cfg = ScriptConfig::default();
    cfg.set("tcp_md5_secret", Some("secret")).unwrap();
    let t = EngineTarget::new(&Profile::freebsd(), &cfg);
    let signed = EngineTarget::inbound_bytes(&seg, Some(b"secret")).unwrap();
    let opts = t.md5_checked(wire_options(&signed), &signed, src, dst);
    assert_eq!(opts.last(), Some(&OptSpec::Md5("valid".into())));
    let opts = t.md5_checked(wire_options(&signed), &signed, dst, src);
    assert_eq!(opts.last(), Some(&OptSpec::Md5("invalid".into())));
}

/// TCP_NOTSENT_LOWAT reads back as set (0 when none was set, whatever the sysctl says); the
/// mark the socket runs with is its own, else `net.ipv4.tcp_notsent_lowat`'s (`UINT_MAX`:
/// none), and an accepted socket inherits the listener's.
#[test]
fn notsent_lowat_option_and_sysctl() {
    let mut p = Profile::linux();
    p.apply_command("sysctl -q net.ipv4.tcp_notsent_lowat=4294967295").unwrap();
    assert_eq!(EngineTarget::conn_config(&p).notsent_lowat, None);
    p.apply_command("sysctl -q net.ipv4.tcp_notsent_lowat=131072").unwrap();
    let mut t = EngineTarget::new(&p, &crate::config::ScriptConfig::default());
    let s = t.socket().unwrap();
    assert_eq!(t.get_option(s, SockOpt::NotsentLowat).unwrap(), 0);
    assert_eq!(t.sock(s).unwrap().cfg.notsent_lowat, Some(131_072));
    t.set_option(0, s, SockOpt::NotsentLowat, 4000).unwrap();
    assert_eq!(t.get_option(s, SockOpt::NotsentLowat).unwrap(), 4000);
    assert_eq!(t.sock(s).unwrap().cfg.notsent_lowat, Some(4000));
    t.set_option(0, s, SockOpt::NotsentLowat, 0xffff_ffff).unwrap();
    assert_eq!(t.get_option(s, SockOpt::NotsentLowat).unwrap(), 0xffff_ffff);
    assert_eq!(t.sock(s).unwrap().cfg.notsent_lowat, None);
    t.set_option(0, s, SockOpt::NotsentLowat, 0).unwrap();
    assert_eq!(t.sock(s).unwrap().cfg.notsent_lowat, Some(131_072));
    assert_eq!(SockOpt::from_names("SOL_TCP", "TCP_NOTSENT_LOWAT"), Some(SockOpt::NotsentLowat));
}

/// SO_TIMESTAMPING as Linux checks it: bits it does not know and `OPT_ID_TCP` without
/// `OPT_ID` are refused, `OPT_ID` is refused before the socket has a connection (CLOSE or
/// LISTEN: the key origin is a sequence number), other bits are kept and read back.
#[test]
fn timestamping_option_checks_as_linux() {
    const TX_SOFTWARE: i64 = 1 << 1;
    const OPT_ID: i64 = 1 << 7;
    const OPT_ID_TCP: i64 = 1 << 16;
    let mut t = EngineTarget::new(&Profile::linux(), &crate::config::ScriptConfig::default());
    let s = t.socket().unwrap();
    assert_eq!(t.set_option(0, s, SockOpt::Timestamping, 1 << 20), Err(Errno::EINVAL));
    assert_eq!(t.set_option(0, s, SockOpt::Timestamping, OPT_ID_TCP), Err(Errno::EINVAL));
    assert_eq!(t.set_option(0, s, SockOpt::Timestamping, OPT_ID | TX_SOFTWARE), Err(Errno::EINVAL));
    t.set_option(0, s, SockOpt::Timestamping, TX_SOFTWARE).unwrap();
    assert_eq!(t.get_option(s, SockOpt::Timestamping).unwrap(), TX_SOFTWARE);
    assert_eq!(SockOpt::from_names("SOL_SOCKET", "SO_TIMESTAMPING"), Some(SockOpt::Timestamping));
    assert_eq!(t.error_queue_pop(s), None);
}

/// TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT set before SO_KEEPALIVE are kept and used once
/// it is on; off again, the connection has no keep-alive but the socket keeps the settings.
#[test]
fn keep_alive_settings_before_so_keepalive_are_kept() {
    let mut t = EngineTarget::new(&Profile::linux(), &crate::config::ScriptConfig::default());
    let s = t.socket().unwrap();
    t.set_option(0, s, SockOpt::KeepIdle, 7).unwrap();
    t.set_option(0, s, SockOpt::KeepCnt, 3).unwrap();
    assert_eq!(t.sock(s).unwrap().cfg.keep_alive, None);
    assert_eq!(t.get_option(s, SockOpt::KeepIdle).unwrap(), 7);
    t.set_option(0, s, SockOpt::KeepAlive, 1).unwrap();
    let k = t.sock(s).unwrap().cfg.keep_alive.expect("keep-alive on");
    assert_eq!(
        (k.idle, k.interval, k.probes),
        (Duration::from_secs(7), Duration::from_secs(75), 3)
    );
    t.set_option(0, s, SockOpt::KeepAlive, 0).unwrap();
    assert_eq!(t.sock(s).unwrap().cfg.keep_alive, None);
    assert_eq!(t.get_option(s, SockOpt::KeepCnt).unwrap(), 3);
}

/// FreeBSD's `net.inet.tcp.always_keepalive` (on there by default): every socket keeps its
/// connection alive, SO_KEEPALIVE or not, with the TCP_KEEP* settings as they are set; at 0
/// keep-alive waits for SO_KEEPALIVE.
#[test]
fn always_keepalive_turns_keep_alive_on_for_every_socket() {
    let p = Profile::freebsd();
    assert!(p.always_keepalive);
    let mut t = EngineTarget::new(&p, &crate::config::ScriptConfig::default());
    let s = t.socket().unwrap();
    assert_eq!(t.get_option(s, SockOpt::KeepAlive).unwrap(), 0, "SO_KEEPALIVE itself is off");
    t.set_option(0, s, SockOpt::KeepIdle, 1).unwrap();
    let k = t.sock(s).unwrap().cfg.keep_alive.expect("keep-alive on without SO_KEEPALIVE");
    assert_eq!(k.idle, Duration::from_secs(1));
    t.set_option(0, s, SockOpt::KeepAlive, 0).unwrap();
    assert!(t.sock(s).unwrap().cfg.keep_alive.is_some());

    let mut off = p.clone();
    off.apply_command("sysctl -w net.inet.tcp.always_keepalive=0").unwrap();
    let mut t = EngineTarget::new(&off, &crate::config::ScriptConfig::default());
    let s = t.socket().unwrap();
    assert_eq!(t.sock(s).unwrap().cfg.keep_alive, None);
}

/// `net.inet.tcp.ack_war_cnt` and `ack_war_timewindow` set the per-connection limit on
/// challenge ACKs; FreeBSD's defaults are five a second, Linux's profile one per 500 ms.
#[test]
fn ack_war_sysctls_set_the_challenge_ack_limit() {
    assert_eq!(Profile::freebsd().unacceptable_ack_limit, synack_tcp::AckLimit::FREEBSD);
    assert_eq!(Profile::linux().unacceptable_ack_limit, synack_tcp::AckLimit::LINUX);
    let mut p = Profile::freebsd();
    p.apply_command("sysctl -w net.inet.tcp.ack_war_cnt=9").unwrap();
    p.apply_command("sysctl -w net.inet.tcp.ack_war_timewindow=250").unwrap();
    assert_eq!(p.unacceptable_ack_limit, synack_tcp::AckLimit { acks: 9, window_ms: 250 });
    assert!(p.apply_command("sysctl -w net.inet.tcp.ack_war_cnt=300").is_err());
    let t = EngineTarget::new(&p, &crate::config::ScriptConfig::default());
    assert_eq!(t.base_conn.unacceptable_ack_limit, p.unacceptable_ack_limit);
}
