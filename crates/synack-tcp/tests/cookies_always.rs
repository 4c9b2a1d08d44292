//! `EndpointConfig::syn_cookies_always` (Linux's `tcp_syncookies=2`): every SYN is answered
//! with a cookie and no half-open state is kept; the ACK that returns it opens the
//! connection with the options the cookie carried. The cookie's MSS table ends with a
//! 9000-byte jumbo frame's MSS for each family. Virtual time only.

mod script;
use script::*;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use synack_tcp::{ConnConfig, EndpointConfig};
use synack_wire::tcp::TcpFlags;

fn always(cfg: EndpointConfig) -> EndpointConfig {
    EndpointConfig { syn_cookies_always: true, conn: ConnConfig::default(), ..cfg }
}

/// A listener answers the first SYN with a cookie, and the returned cookie opens a
/// connection whose MSS is the one the cookie encoded.
fn open_with_cookie(mut s: Script, peer_mss: u16) -> u32 {
    let l = s.ep.listen(s.local, 16).unwrap();
    s.inject(Seg::new(TcpFlags::SYN, 5000, 0).mss(peer_mss).ws(10).sack_ok().ts(100, 0));
    let syn_ack = s.one();
    assert!(syn_ack.flags.contains(TcpFlags::SYN | TcpFlags::ACK));
    let counts = s.ep.listen_counters();
    assert_eq!((counts.cookies_sent, counts.half_open), (1, 0), "no state kept");
    let tsval = syn_ack.options.timestamps.unwrap().tsval;
    s.inject(Seg::new(TcpFlags::ACK, 5001, syn_ack.seq.wrapping_add(1)).ts(110, tsval));
    let c = s.ep.accept(l).expect("the cookie opened the connection");
    let st = s.ep.stats(c).unwrap();
    assert!(st.sack && st.window_scaling && st.timestamps);
    st.snd_mss
}

#[test]
fn every_syn_gets_a_cookie_ipv4() {
    let s = Script::with_config(always(EndpointConfig { mtu: 9000, ..EndpointConfig::default() }));
    // 8960 less the 12 bytes of timestamps every segment carries.
    assert_eq!(open_with_cookie(s, 8960), 8960 - 12);
}

#[test]
fn every_syn_gets_a_cookie_ipv6_jumbo() {
    let mut s =
        Script::with_config(always(EndpointConfig { mtu: 9000, ..EndpointConfig::default() }));
    let v6 = |last: u16, port: u16| {
        SocketAddr::new(IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, last)), port)
    };
    s.local = v6(1, 80);
    s.remote = v6(2, 4000);
    assert_eq!(open_with_cookie(s, 8940), 8940 - 12);
}

#[test]
fn without_the_switch_a_syn_is_kept_half_open() {
    let mut s = Script::with_config(EndpointConfig::default());
    s.ep.listen(s.local, 16).unwrap();
    s.inject(Seg::new(TcpFlags::SYN, 5000, 0).mss(1460));
    s.one();
    let counts = s.ep.listen_counters();
    assert_eq!((counts.cookies_sent, counts.half_open), (0, 1));
}
