//! `ConnConfig::ip` (IP_TTL / IP_TOS): every packet of the connection carries its TTL and TOS,
//! the SYN, data, a listener's SYN-ACK and the RSTs the connection sends; a reply from no
//! connection carries the defaults. Virtual time only.

mod script;
use script::*;
use synack_tcp::{ConnConfig, IpFields, Transmit};
use synack_wire::tcp::TcpFlags;

const MARKED: IpFields = IpFields { ttl: Some(4), tos: 0x20 };

/// What the endpoint sends now, as the transmit records themselves.
fn transmits(s: &mut Script) -> Vec<Transmit> {
    let mut buf = vec![0u8; 70_000];
    let mut v = Vec::new();
    while let Some(t) = s.ep.poll_transmit(s.now, &mut buf) {
        v.push(t);
    }
    v
}

#[test]
fn syn_data_and_reset_carry_the_connections_fields() {
    let mut s = Script::connecting(ConnConfig { ip: MARKED, ..plain() });
    let syn = transmits(&mut s);
    assert_eq!(syn.len(), 1);
    assert_eq!(syn[0].ip, MARKED);
    let iss = syn[0].seq.0;
    // A SYN-ACK acknowledging something never sent: the connection answers with a RST
    // (RFC 9293 3.10.7.3), from its own fields.
    s.inject(Seg::new(TcpFlags::SYN | TcpFlags::ACK, 7000, iss.wrapping_add(100)));
    let rst = transmits(&mut s);
    assert_eq!(rst.len(), 1);
    assert!(rst[0].flags.rst());
    assert_eq!(rst[0].ip, MARKED);
    s.inject(Seg::new(TcpFlags::SYN | TcpFlags::ACK, 7000, iss.wrapping_add(1)).mss(1000));
    s.send(b"hello");
    let out = transmits(&mut s);
    assert!(!out.is_empty());
    assert!(
        out.iter().all(|t| t.ip == MARKED),
        "{:?}",
        out.iter().map(|t| t.ip).collect::<Vec<_>>()
    );
}

#[test]
fn a_listeners_children_inherit_and_strangers_get_the_defaults() {
    let mut s = Script::listening(ConnConfig { ip: MARKED, ..plain() });
    s.inject(Seg::new(TcpFlags::SYN, 5000, 0).mss(1000));
    let syn_ack = transmits(&mut s);
    assert_eq!(syn_ack.len(), 1);
    assert_eq!(syn_ack[0].ip, MARKED);
    // A segment to a port nobody uses is answered from no connection.
    let mut stray = Seg::new(TcpFlags::ACK, 1, 1).data(b"x");
    stray.dst_port = 81;
    s.inject(stray);
    let rst = transmits(&mut s);
    assert_eq!(rst.len(), 1);
    assert!(rst[0].flags.rst());
    assert_eq!(rst[0].ip, IpFields::default());
}
