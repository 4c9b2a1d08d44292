//! One test per construct of the language, plus error positions.

use super::*;

fn one(src: &str) -> Event {
    let s = parse(src, "t.pkt").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.events.len(), 1, "{s:?}");
    s.events.into_iter().next().unwrap()
}

fn packet(src: &str) -> PacketSpec {
    match one(src).kind {
        EventKind::Packet(p) => p,
        k => panic!("not a packet: {k:?}"),
    }
}

fn syscall(src: &str) -> Syscall {
    match one(src).kind {
        EventKind::Syscall(s) => s,
        k => panic!("not a syscall: {k:?}"),
    }
}

fn err(src: &str) -> String {
    parse(src, "e.pkt").unwrap_err().to_string()
}

#[test]
fn times() {
    assert_eq!(one("0 `x`").time, EventTime::At(TimeSpec::Absolute(0)));
    assert_eq!(one("+.1 `x`").time, EventTime::At(TimeSpec::Relative(100_000)));
    assert_eq!(one("1.00 `x`").time, EventTime::At(TimeSpec::Absolute(1_000_000)));
    assert_eq!(one("+0.000001 `x`").time, EventTime::At(TimeSpec::Relative(1)));
    assert_eq!(one("* > . 1:1(0) ack 1").time, EventTime::Any);
    assert_eq!(
        one("+.3~+.310 > . 1:1(0) ack 1").time,
        EventTime::Range(TimeSpec::Relative(300_000), TimeSpec::Relative(310_000))
    );
    assert_eq!(
        one("+0...0.200 accept(3, ..., ...) = 4").time,
        EventTime::Blocking(TimeSpec::Relative(0), TimeSpec::Absolute(200_000))
    );
    assert_eq!(
        one("+.002 ... 0.004 connect(4, ..., ...) = 0").time,
        EventTime::Blocking(TimeSpec::Relative(2000), TimeSpec::Absolute(4000))
    );
}

#[test]
fn time_errors() {
    assert!(err("+0.0000001 `x`").contains("bad time"));
    assert!(err("* < . 1:1(0) win 1").contains("only allowed on outbound"));
    assert!(err("0...1 < . 1:1(0) win 1").contains("only allowed on syscalls"));
}

#[test]
fn header_options_and_untimed_commands() {
    let s = parse(
        "--tolerance_usecs=7000\n--strict_segments\n`../common/defaults.sh`\n0 `a`\n`b`",
        "t",
    )
    .unwrap();
    assert_eq!(s.options.len(), 2);
    assert_eq!(s.options[0].name, "tolerance_usecs");
    assert_eq!(s.options[0].value.as_deref(), Some("7000"));
    assert_eq!(s.options[1].value, None);
    assert_eq!(s.events.len(), 3);
    assert_eq!(s.events[0].time, EventTime::Unspecified);
    assert_eq!(s.events[0].kind, EventKind::Command("../common/defaults.sh".into()));
    assert!(err("0 `a`\n--mss=1000").contains("after the first event"));
}

#[test]
fn flags() {
    let f = |s: &str| packet(&format!("0 > {s} 0:0(0)")).flags;
    assert!(f("S").syn && !f("S").ack);
    assert!(f("S.").syn && f("S.").ack);
    assert!(f(".").ack && !f(".").syn);
    let fp = f("FP.");
    assert!(fp.fin && fp.psh && fp.ack);
    let sew = f("SEW");
    assert!(sew.syn && sew.ece && sew.cwr && !sew.ack);
    assert!(f("R").rst && !f("R").ack);
    assert_eq!(f("-"), FlagSpec::default());
    assert_eq!(f("SE.").letters(), "SE.");
    assert_eq!(f(".5").ace, Some(5));
    assert!(err("0 > SX 0:0(0)").contains("TCP flags"));
    assert!(err("0 > SS 0:0(0)").contains("twice"));
}

#[test]
fn seq_ack_win_urg() {
    let p = packet("0 < P. 1:1001(1000) ack 2 win 257 urg 5");
    assert_eq!(p.dir, Direction::Inbound);
    assert_eq!((p.seq, p.len, p.ack, p.win, p.urg), (1, 1000, Some(2), Some(257), Some(5)));
    assert_eq!(p.options, OptionsSpec::Absent);
    assert_eq!(p.seq_len(), 1000);
    let p = packet("0 > F. 1001:1001(0) ack 1");
    assert_eq!((p.ack, p.win), (Some(1), None));
    assert!(err("0 > . 1:10(5) ack 1").contains("inconsistent sequence range"));
    assert!(err("0 < . 1:1(0) win 70000").contains("out of range"));
    assert!(err("0 < . 1:1(0) ack 1 ack 2").contains("twice"));
}

#[test]
fn tcp_options() {
    let p = packet(
        "0 > S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7,sack 1:10 20:30,eol,md5 abc,FO 0a0b,FOEXP>",
    );
    assert_eq!(
        p.options,
        OptionsSpec::List(vec![
            OptSpec::Mss(1460),
            OptSpec::SackOk,
            OptSpec::Timestamp { val: 100, ecr: 0 },
            OptSpec::Nop,
            OptSpec::WScale(7),
            OptSpec::Sack(vec![(1, 10), (20, 30)]),
            OptSpec::Eol,
            OptSpec::Md5("abc".into()),
            OptSpec::FastOpen(vec![0x0a, 0x0b]),
            OptSpec::FastOpenExp(vec![]),
        ])
    );
    assert_eq!(packet("0 > S 0:0(0) <...>").options, OptionsSpec::Any);
    assert!(err("0 < S 0:0(0) win 1 <...>").contains("only allowed on outbound"));
    assert!(err("0 > S 0:0(0) <bogus 1>").contains("a TCP option"));
    assert!(err("0 > S 0:0(0) <TS 1 ecr 2>").contains("'val'"));
    assert!(err("0 > S 0:0(0) <sack 1:2 3:4 5:6 7:8 9:10>").contains("more than 4"));
    assert!(err("0 > S 0:0(0) <FO 0a0>").contains("bad hex"));
}

#[test]
fn ip_info_and_ports() {
    let p = packet("0 > [ect0] P. 1:1001(1000) ack 1");
    assert_eq!(p.ip.ecn, Some(Ecn::Ect0));
    let p = packet("0 > (tos 0x10, ttl 64) . 1:1(0) ack 1");
    assert_eq!((p.ip.tos, p.ip.ttl), (Some(0x10), Some(64)));
    let p = packet("0 < 1234>8080 S 0:0(0) win 1");
    assert_eq!(p.ports, Some((1234, 8080)));
    assert!(err("0 > [bogus] . 1:1(0)").contains("ect0"));
}

#[test]
fn icmp_and_udp() {
    match one("0 < icmp unreachable frag_needed mtu 1200 [5000:6000(1000)]").kind {
        EventKind::Icmp(i) => {
            assert_eq!(i.icmp_type, "unreachable");
            assert_eq!(i.code.as_deref(), Some("frag_needed"));
            assert_eq!(i.mtu, Some(1200));
            assert_eq!(i.echoed, Some((5000, 1000)));
        }
        k => panic!("{k:?}"),
    }
    assert_eq!(one("0 > udp (10)").kind, EventKind::Udp { dir: Direction::Outbound, len: 10 });
}

#[test]
fn syscalls_with_all_argument_kinds() {
    let s = syscall("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3");
    assert_eq!(s.name, "socket");
    assert_eq!(
        s.args,
        vec![
            Expr::Ellipsis,
            Expr::Symbol("SOCK_STREAM".into()),
            Expr::Symbol("IPPROTO_TCP".into())
        ]
    );
    assert_eq!(s.result.value, Expr::Int(3));
    let s = syscall("0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0");
    assert_eq!(s.args[3], Expr::List(vec![Expr::Int(1)]));
    let s = syscall("0 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0");
    assert_eq!(
        s.args[2],
        Expr::BitOr(vec![Expr::Symbol("O_RDWR".into()), Expr::Symbol("O_NONBLOCK".into())])
    );
    let s = syscall(
        "0 connect(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr(\"192.0.2.1\")}, 16) = 0",
    );
    match &s.args[1] {
        Expr::Struct(f) => {
            assert_eq!(f[0], (Some("sa_family".into()), Expr::Symbol("AF_INET".into())));
            assert_eq!(
                f[1],
                (Some("sin_port".into()), Expr::Call("htons".into(), vec![Expr::Int(8080)]))
            );
            assert_eq!(f[2].1, Expr::Call("inet_addr".into(), vec![Expr::Str("192.0.2.1".into())]));
        }
        a => panic!("{a:?}"),
    }
    let s = syscall("0 poll([{fd=3, events=POLLIN, revents=0}], 1, 0) = 0");
    assert!(
        matches!(&s.args[0], Expr::List(l) if matches!(&l[0], Expr::Struct(f) if f.len() == 3))
    );
    let s = syscall("0 getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]) = 0");
    assert_eq!(s.args[3], Expr::List(vec![Expr::Symbol("ECONNREFUSED".into())]));
    let s = syscall("0 f(1.2.3.4, [], {}) = 0");
    assert_eq!(s.args.len(), 3);
}

#[test]
fn results_errnos_and_notes() {
    let s = syscall("0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)");
    assert_eq!(s.result.value, Expr::Int(-1));
    assert_eq!(s.result.errno.as_deref(), Some("EINPROGRESS"));
    assert_eq!(s.result.note.as_deref(), Some("Operation now in progress"));
    let s = syscall("0 fcntl(3, F_GETFL) = 0x02 (flags O_RDWR)");
    assert_eq!(s.result.value, Expr::Int(2));
    assert_eq!(s.result.errno, None);
    assert_eq!(s.result.note.as_deref(), Some("flags O_RDWR"));
    let s = syscall("0 write(4, ..., 1000) = -1 EPIPE (Broken pipe)");
    assert_eq!(s.result.errno.as_deref(), Some("EPIPE"));
    assert!(err("0 read(4, ..., 1) = 0 (unclosed").contains("unterminated"));
    assert!(err("0 read(4, ..., 1)").contains("expected '='"));
}

#[test]
fn commands_and_code_blocks() {
    assert_eq!(
        one("+0 `sysctl -q net.ipv4.tcp_ecn=1  # on\n`").kind,
        EventKind::Command("sysctl -q net.ipv4.tcp_ecn=1  # on\n".into())
    );
    assert_eq!(
        one("+.01 %{\nassert tcpi_snd_cwnd == 7, tcpi_snd_cwnd\n}%").kind,
        EventKind::Code("\nassert tcpi_snd_cwnd == 7, tcpi_snd_cwnd\n".into())
    );
}

#[test]
fn errors_carry_file_line_and_column() {
    let e = parse("0 `x`\n\n  +0 > S. 0:0(0) ack 1 <mss>", "a/b.pkt").unwrap_err();
    assert_eq!(e.file, "a/b.pkt");
    assert_eq!((e.pos.line, e.pos.col), (3, 28));
    assert_eq!(e.to_string(), "a/b.pkt:3:28: expected mss, found '>'");
    let e = parse("0 bogus", "x").unwrap_err();
    assert_eq!((e.pos.line, e.pos.col), (1, 3));
}

#[test]
fn defines_apply_before_parsing() {
    let mut d = HashMap::new();
    d.insert("CODE".to_string(), "42".to_string());
    let s = parse_with_defines("0 f(CODE) = 0", "t", &d).unwrap();
    match &s.events[0].kind {
        EventKind::Syscall(c) => assert_eq!(c.args, vec![Expr::Int(42)]),
        k => panic!("{k:?}"),
    }
}

#[test]
fn garbage_never_panics() {
    for s in [
        "",
        "+",
        "0 >",
        "0 > S",
        "0 > S 1:",
        "0 f(",
        "0 f(1,",
        "0 f(1) =",
        "0 > S 0:0(0) <",
        "0 > S 0:0(0) <mss 1,",
        "0 f({a=",
        "0 f([1",
        "0 > [",
        "<<<<",
        "%{",
        "0 f(1) = 1 E (",
        "0 < icmp",
    ] {
        let _ = parse(s, "g");
    }
}

#[test]
fn ifdef_keeps_the_branch_of_the_defined_name() {
    let src = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n#ifdef FreeBSD\n+0 close(3) = 0\n#else\n+0 close(4) = 0\n#endif\n#ifndef FreeBSD\n+0 listen(3, 1) = 0\n#endif\n";
    let d = HashMap::new();
    let fb = crate::parser::parse_for(src, "t", &d, &["FreeBSD"]).unwrap();
    assert_eq!(fb.events.len(), 2);
    assert_eq!(fb.events[1].pos.line, 3);
    let std = crate::parser::parse_for(src, "t", &d, &["STANDARD"]).unwrap();
    assert_eq!(std.events.len(), 3);
    assert_eq!(std.events[1].pos.line, 5);
    assert_eq!(std.events[2].pos.line, 8);
    assert!(crate::parser::parse_for("#ifdef X\n", "t", &d, &[]).is_err());
    assert!(crate::parser::parse_for("#endif\n", "t", &d, &[]).is_err());
}

#[test]
fn any_sequence_number_on_outbound_lines() {
    let p = packet("0 > S. ...(0) ack 65538 win 65535 <mss 1460>");
    assert!(p.any_seq);
    assert_eq!((p.seq, p.len, p.ack), (0, 0, Some(65538)));
    assert!(!packet("0 > S. 0:0(0) ack 1").any_seq);
    assert!(
        err("0 < S ...(0) win 100").contains("only for outbound"),
        "{}",
        err("0 < S ...(0) win 100")
    );
}

/// An ICMP line quoting a TCP-over-UDP segment (FreeBSD's suite).
#[test]
fn icmp_quoting_an_encapsulated_segment() {
    let src = "0 < icmp unreachable port_unreachable [0:0(0)/udp(9812 > 1)]\n";
    let s = parse(src, "icmp.pkt").unwrap();
    let crate::ast::EventKind::Icmp(i) = &s.events[0].kind else { panic!("not ICMP") };
    assert_eq!(i.echoed, Some((0, 0)));
    assert_eq!(i.echoed_udp, Some((9812, 1)));
}

/// IPv6's `(class N)` and `(hlim N)` are the TOS and TTL fields.
#[test]
fn ipv6_class_and_hop_limit() {
    let p = packet("0 > (class 0x20, hlim 7) S 0:0(0) win 65535\n");
    assert_eq!((p.ip.tos, p.ip.ttl), (Some(0x20), Some(7)));
}
