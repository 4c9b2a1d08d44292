use super::*;

/// An Ethernet + IPv4 + TCP frame: 10.0.0.1:40000 -> 10.0.0.2:80, SYN.
fn syn_frame() -> Vec<u8> {
    let mut f = vec![0u8; 14];
    f[12] = 0x08;
    let ip = [0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
    f.extend_from_slice(&ip);
    let tcp = [0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0];
    f.extend_from_slice(&tcp);
    f
}

fn m(expr: &str, data: &[u8]) -> bool {
    let f = Filter::parse(expr).unwrap_or_else(|e| panic!("{e}"));
    f.matches(&FramePacket { linktype: 1, data, wirelen: data.len() as u32 })
}

#[test]
fn primitives_select_as_tcpdump_does() {
    let p = syn_frame();
    for (e, want) in [
        ("", true),
        ("tcp", true),
        ("udp", false),
        ("ip", true),
        ("ip6", false),
        ("host 10.0.0.1", true),
        ("src host 10.0.0.2", false),
        ("dst 10.0.0.2", true),
        ("net 10.0.0.0/8", true),
        ("net 10.0.0.0 mask 255.255.255.0", true),
        ("net 192.168", false),
        ("port 80", true),
        ("tcp dst port 80", true),
        ("udp port 80", false),
        ("portrange 1-100", true),
        ("src port 80", false),
        ("tcp[13] & 2 != 0", true),
        ("tcp[tcpflags] & (tcp-syn|tcp-fin) != 0", true),
        ("tcp[tcpflags] & tcp-rst != 0", false),
        ("len == 54", true),
        ("len > 60", false),
        ("greater 54 and less 54", true),
        ("not tcp or port 80", true),
        ("! udp && port 80", true),
        ("port 22 or 80", true),
        ("host 10.0.0.9 or 10.0.0.2", true),
        ("tcp or udp and port 22", false),
        ("ip proto 6", true),
        ("ip[9] = 6 and ip[2:2] = 40", true),
        ("tcp[100] = 0 or tcp", false),
        ("(tcp[13] & 2) != 0 and src or dst host 10.0.0.1", true),
    ] {
        assert_eq!(m(e, &p), want, "{e}");
    }
}

#[test]
fn errors_point_at_the_offending_token() {
    for (e, bad) in [
        ("tcp port eighty", "eighty"),
        ("host 10.0.0.1 and", ""),
        ("tcp[13] & 2 !! 0", "!"),
        ("port 70000", "70000"),
        ("host example.com", "example.com"),
        ("(tcp", ""),
        ("tcp[13] & foo != 0", "foo"),
        ("net 10.0.0.1/8", "10.0.0.1"),
        ("tcp $", "$"),
        ("tcp[1:3] = 0", "3"),
    ] {
        let err = Filter::parse(e).expect_err(e);
        let shown = &e[err.start.min(e.len())..err.end.min(e.len())];
        if !bad.is_empty() {
            assert_eq!(shown, bad, "{e}: {err}");
        } else {
            assert_eq!(err.start, e.len(), "{e}: {err}");
        }
        assert!(err.to_string().contains('^'));
    }
}

/// The SYN frame behind 802.1Q tags with the given VLAN ids.
fn tagged(ids: &[u16]) -> Vec<u8> {
    let f = syn_frame();
    let mut t = f[..12].to_vec();
    for id in ids {
        t.extend_from_slice(&[0x81, 0x00]);
        t.extend_from_slice(&id.to_be_bytes());
    }
    t.extend_from_slice(&f[12..]);
    t
}

#[test]
fn vlan_moves_what_follows_it_as_libpcap_does() {
    let one = tagged(&[100]);
    let two = tagged(&[5, 6]);
    let plain = syn_frame();
    // (expression, untagged, one tag, two tags), as tcpdump 4.99 / libpcap 1.10 select.
    for (e, a, b, c) in [
        ("tcp", true, false, false),
        ("vlan", false, true, true),
        ("vlan 100", false, true, false),
        ("vlan and tcp", false, true, false),
        ("vlan 5 and vlan 6 and tcp", false, false, true),
        ("vlan and ip[9] == 6", false, true, false),
        ("not vlan", true, false, false),
        ("ether proto 0x8100", false, true, true),
        ("ether proto 0x0800", true, false, false),
        ("vlan and ether proto 0x0800", false, true, false),
    ] {
        assert_eq!((m(e, &plain), m(e, &one), m(e, &two)), (a, b, c), "{e}");
    }
    assert!(Filter::parse("vlan 5000").is_err());
    assert!(Filter::parse("ether proto ip").is_err());
}

/// Parses `src` and returns the result with the parser's step count.
fn parse_counting(src: &str) -> (Result<(), FilterError>, u64) {
    let mut p = parser::Parser::new(src, lexer::lex(src).expect("lexes"));
    let r = p.parse_all().map(|_| ());
    (r, p.steps())
}

/// Expressions nested `d` levels deep, in the shapes where a `(` is only known to open a
/// grouped filter or an arithmetic expression after its `)`.
fn nested_shapes(d: usize) -> Vec<(String, bool)> {
    let open = "(".repeat(d);
    let close = ")".repeat(d);
    let mut sum = "1".to_string();
    for _ in 0..d {
        sum = format!("({sum}+1)");
    }
    vec![
        (format!("{open}tcp{close}"), true),
        (format!("{open}tcp[13] & 2 != 0{close}"), true),
        (format!("{open}(tcp[13]) & 2{close} != 0"), true),
        (format!("{open}1{close} == {open}1{close}"), true),
        (format!("{open}not tcp or (1 == 1){close} and udp"), true),
        (format!("{sum} == 2"), true),
        // Arithmetic that is never compared: each level is tried as arithmetic, then as a group.
        (format!("({sum})"), false),
        (format!("{open}tcp or {close}"), false),
    ]
}

#[test]
fn nesting_costs_linear_work() {
    let d = parser::MAX_NESTING / 2 - 2;
    for ((small, ok), (large, _)) in nested_shapes(d / 2).into_iter().zip(nested_shapes(d)) {
        let (r, s) = parse_counting(&small);
        assert_eq!(r.is_ok(), ok, "{small}: {r:?}");
        let (r, l) = parse_counting(&large);
        assert_eq!(r.is_ok(), ok, "{large}: {r:?}");
        // Twice the nesting, about twice the steps; a parse that starts over at every `(`
        // takes d/2 times as many (over 60 here).
        assert!(l <= 2 * s + 40, "{large}: {s} steps at half the depth, {l} at full");
        let tokens = lexer::lex(&large).unwrap().len() as u64;
        assert!(l <= 20 * tokens, "{large}: {l} steps for {tokens} tokens");
    }
}

#[test]
fn nesting_past_the_limit_is_an_error() {
    let n = parser::MAX_NESTING;
    assert!(Filter::parse(&format!("{}tcp{}", "(".repeat(n), ")".repeat(n))).is_ok());
    for e in [
        format!("{}tcp{}", "(".repeat(n + 1), ")".repeat(n + 1)),
        format!("{}1{} == 1", "(".repeat(n + 1), ")".repeat(n + 1)),
        format!("{}tcp", "not ".repeat(n + 1)),
        format!("{}1 == 1", "-".repeat(n + 1)),
        format!("{}0{} == 0", "tcp[".repeat(n + 1), "]".repeat(n + 1)),
        // Far past the limit: an error, not a stack overflow.
        format!("{}tcp{}", "(".repeat(100_000), ")".repeat(100_000)),
        format!("{}tcp", "!".repeat(100_000)),
    ] {
        let err = Filter::parse(&e).expect_err("too deep");
        assert!(err.message.contains("nested too deeply"), "{err}");
        let (_, steps) = parse_counting(&e);
        assert!(steps < 40 * n as u64, "{steps} steps");
    }
}
