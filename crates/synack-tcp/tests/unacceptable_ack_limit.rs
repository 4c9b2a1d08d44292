//! The per-connection limit on ACKs to unacceptable segments without data
//! (`ConnConfig::unacceptable_ack_limit`, RFC 5961 section 7): Linux's one per 500 ms (the
//! default) and FreeBSD's five a second (`net.inet.tcp.ack_war_cnt`, `ack_war_timewindow`),
//! each a window that opens at the first reply after the last one closed. The off-path
//! side channel stays closed under either: one connection's count never depends on another's.
//!
//! Virtual time and fixed seeds: the same run every time.

use std::net::SocketAddr;

use synack_tcp::{
    AckLimit, ConnConfig, ConnId, Duration, Endpoint, EndpointConfig, Instant, Transmit,
};
use synack_wire::SeqNum;
use synack_wire::tcp::{TcpFlags, TcpOptions, TcpRepr};

mod endpoint_io;
use endpoint_io::{deliver, drain};

const SERVER: &str = "10.0.0.1:80";
const CLIENT: &str = "10.0.0.66:5000";
const OTHER: &str = "10.0.0.7:40000";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// A server whose connections follow `limit`, with a client connected from `local`; returns
/// both endpoints and the client's connection.
fn pair(limit: AckLimit, locals: &[&str], t0: Instant) -> (Endpoint, Endpoint, Vec<ConnId>) {
    let conn = ConnConfig { unacceptable_ack_limit: limit, ..ConnConfig::default() };
    let mut server =
        Endpoint::new(EndpointConfig { conn, ..EndpointConfig::default() }, [9; 16], 7);
    let mut client = Endpoint::new(EndpointConfig::default(), [5; 16], 5);
    server.listen(addr(SERVER), 8).unwrap();
    let mut ids = Vec::new();
    for local in locals {
        let id = client.connect(t0, addr(local), addr(SERVER), ConnConfig::default()).unwrap();
        for _ in 0..3 {
            let c = drain(&mut client, t0);
            deliver(&mut server, t0, &c);
            let s = drain(&mut server, t0);
            deliver(&mut client, t0, &s);
        }
        assert_eq!(client.state(id), Ok(synack_tcp::State::Established));
        ids.push(id);
    }
    (server, client, ids)
}

/// A segment forged as coming from `src` to the server, handled at `now`.
fn forge(server: &mut Endpoint, now: Instant, src: SocketAddr, flags: TcpFlags, seq: u32) {
    let seg = TcpRepr {
        src_port: src.port(),
        dst_port: addr(SERVER).port(),
        seq: SeqNum(seq),
        ack: SeqNum(0),
        flags,
        window: 65535,
        urgent: 0,
        options: TcpOptions::default(),
        raw_options: None,
        payload: &[],
    };
    server.on_segment(now, src.ip(), addr(SERVER).ip(), &seg);
}

/// Pure ACKs the server sent to `to`.
fn acks_to(segs: &[(Transmit, Vec<u8>)], to: SocketAddr) -> usize {
    segs.iter()
        .filter(|(t, _)| t.dst == to && t.flags.ack() && !t.flags.rst() && !t.flags.syn())
        .count()
}

/// Sends an in-window RST that is not at RCV.NXT (RFC 5961 3.2) or, every other time, a SYN
/// (4.2) every `step` for `span`, from `client`; returns at which offsets (ms) a challenge ACK
/// came back.
fn challenged_at(limit: AckLimit, step: u64, span: u64) -> Vec<u64> {
    let t0 = Instant::from_secs(10);
    let (mut server, client, ids) = pair(limit, &[CLIENT], t0);
    let seq = client.stats(ids[0]).unwrap().snd_nxt.0;
    let mut at = Vec::new();
    for (i, ms) in (0..span).step_by(step as usize).enumerate() {
        let now = t0 + Duration::from_millis(1000 + ms);
        let flags = if i % 2 == 0 { TcpFlags::RST } else { TcpFlags::SYN };
        forge(&mut server, now, addr(CLIENT), flags, seq + 5);
        if acks_to(&drain(&mut server, now), addr(CLIENT)) > 0 {
            at.push(ms);
        }
    }
    at
}

/// Linux's limit: one challenge ACK per 500 ms, the next only once 500 ms have passed.
#[test]
fn linux_limit_answers_one_per_half_second() {
    assert_eq!(ConnConfig::default().unacceptable_ack_limit, AckLimit::LINUX);
    assert_eq!(challenged_at(AckLimit::LINUX, 100, 2000), [0, 500, 1000, 1500]);
}

/// FreeBSD's: five in the second that opens with the first, then nothing until it ends; the
/// challenge ACK to a SYN 100 ms after the one to a RST is sent.
#[test]
fn freebsd_limit_answers_five_a_second() {
    assert_eq!(
        challenged_at(AckLimit::FREEBSD, 100, 2500),
        [0, 100, 200, 300, 400, 1000, 1100, 1200, 1300, 1400, 2000, 2100, 2200, 2300, 2400]
    );
    // A window that opens later starts from its own first reply.
    assert_eq!(
        challenged_at(AckLimit { acks: 2, window_ms: 300 }, 200, 1200),
        [0, 200, 400, 600, 800, 1000]
    );
    assert_eq!(
        challenged_at(AckLimit { acks: 2, window_ms: 300 }, 50, 700),
        [0, 50, 300, 350, 600, 650]
    );
}

/// Either figure 0 lifts the per-connection limit (FreeBSD's sysctls at 0): only the
/// endpoint's budget is left.
#[test]
fn zero_lifts_the_per_connection_limit() {
    for limit in [AckLimit { acks: 0, window_ms: 1000 }, AckLimit { acks: 5, window_ms: 0 }] {
        assert_eq!(challenged_at(limit, 100, 1000).len(), 10, "{limit:?}");
    }
}

/// RFC 5961 section 10 under FreeBSD's limit: a flood of spoofed segments on another
/// connection changes nothing in what a connection of one's own draws, so counting one's own
/// challenge ACKs does not tell whether a guessed connection exists.
#[test]
fn freebsd_limit_keeps_counts_independent_of_other_connections() {
    let run = |spend_on_other: bool| {
        let t0 = Instant::from_secs(10);
        let (mut server, client, ids) = pair(AckLimit::FREEBSD, &[CLIENT, OTHER], t0);
        let own = client.stats(ids[0]).unwrap().snd_nxt.0;
        let other = client.stats(ids[1]).unwrap().snd_nxt.0;
        let mut seen = Vec::new();
        for round in 0..4u64 {
            let now = t0 + Duration::from_secs(1 + round);
            if spend_on_other {
                for i in 0..300u32 {
                    forge(&mut server, now, addr(OTHER), TcpFlags::SYN, other + 1 + i);
                    drain(&mut server, now);
                }
            }
            let mut drawn = 0;
            for i in 0..300u32 {
                forge(&mut server, now, addr(CLIENT), TcpFlags::RST, own + 1 + i);
                drawn += acks_to(&drain(&mut server, now), addr(CLIENT));
            }
            seen.push(drawn);
        }
        seen
    };
    let quiet = run(false);
    assert_eq!(quiet, [5, 5, 5, 5]);
    assert_eq!(run(true), quiet);
}
