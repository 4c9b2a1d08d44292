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
