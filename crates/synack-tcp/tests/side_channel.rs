//! CVE-2016-5696, played against the engine: an off-path attacker who cannot see a victim's
//! traffic tries to learn whether a guessed 4-tuple is a live connection by counting the
//! challenge ACKs (RFC 5961) its own connection draws after it spent spoofed segments on the
//! guess. With one challenge-ACK budget shared by every connection, a live guess used part of
//! it and the attacker sees fewer. The engine limits each connection on its own and draws the
//! shared budget at random, so the counts must not depend on the guess.
//!
//! Virtual time and fixed seeds: the same run every time.

use std::net::{IpAddr, SocketAddr};

use synack_tcp::{ConnConfig, ConnId, Duration, Endpoint, EndpointConfig, Instant, Transmit};
use synack_wire::SeqNum;
use synack_wire::tcp::{TcpFlags, TcpOptions, TcpRepr};

mod endpoint_io;
use endpoint_io::{deliver, drain};

const SERVER: &str = "10.0.0.1:80";
const ATTACKER: &str = "10.0.0.66:5000";
const VICTIM: &str = "10.0.0.7:40000";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Connects `client` (from `local`) to the listening `server`; returns the client's id.
fn establish(client: &mut Endpoint, server: &mut Endpoint, now: Instant, local: &str) -> ConnId {
    let id = client.connect(now, addr(local), addr(SERVER), ConnConfig::default()).unwrap();
    for _ in 0..3 {
        let c = drain(client, now);
        deliver(server, now, &c);
        let s = drain(server, now);
        deliver(client, now, &s);
    }
    assert_eq!(client.state(id), Ok(synack_tcp::State::Established));
    id
}

/// A segment forged as coming from `src` to the server.
fn forge(
    server: &mut Endpoint,
    now: Instant,
    src: SocketAddr,
    flags: TcpFlags,
    seq: u32,
    ack: u32,
    payload: &[u8],
) {
    let seg = TcpRepr {
        src_port: src.port(),
        dst_port: addr(SERVER).port(),
        seq: SeqNum(seq),
        ack: SeqNum(ack),
        flags,
        window: 65535,
        urgent: 0,
        options: TcpOptions::default(),
        raw_options: None,
        payload,
    };
    server.on_segment(now, src.ip(), addr(SERVER).ip(), &seg);
}

/// Pure ACKs (challenge ACKs or out-of-window ACKs) the server sent to `to`.
fn acks_to(segs: &[(Transmit, Vec<u8>)], to: IpAddr) -> usize {
    segs.iter()
        .filter(|(t, _)| t.dst.ip() == to && t.flags.ack() && !t.flags.rst() && !t.flags.syn())
        .count()
}

/// What the attacker observes in each of `trials` one-second rounds, guessing `guess` as the
/// victim's tuple: the challenge ACKs its own connection drew. Also returns how many challenge
/// ACKs the server sent the victim (to show the guess reached a live connection or not).
fn attack(guess: SocketAddr, trials: u64) -> (Vec<usize>, usize) {
    let cfg = EndpointConfig::default();
    let mut server = Endpoint::new(cfg, [9; 16], 7);
    let mut victim = Endpoint::new(cfg, [3; 16], 3);
    let mut attacker = Endpoint::new(cfg, [5; 16], 5);
    server.listen(addr(SERVER), 64).unwrap();
    let t0 = Instant::from_secs(10);
    establish(&mut victim, &mut server, t0, VICTIM);
    let own = establish(&mut attacker, &mut server, t0, ATTACKER);
    let own_seq = attacker.stats(own).unwrap().snd_nxt.0;
    let mut seen = Vec::new();
    let mut to_victim = 0;
    for trial in 0..trials {
        let now = Instant::from_secs(11 + trial);
        // Spend spoofed SYN-ACKs on the guessed tuple: a live connection answers each with a
        // challenge ACK (RFC 5961 4.2), a missing one gets a RST from the listener.
        // Each segment is handled, and its reply sent, before the next arrives.
        for i in 0..500u32 {
            forge(&mut server, now, guess, TcpFlags::SYN | TcpFlags::ACK, 7 + i * 977, 1, &[]);
            to_victim += acks_to(&drain(&mut server, now), addr(VICTIM).ip());
        }
        // Then probe the attacker's own connection with in-window RSTs that are not at
        // RCV.NXT: each may draw a challenge ACK (RFC 5961 3.2).
        let mut drawn = 0;
        for i in 0..1000u32 {
            forge(&mut server, now, addr(ATTACKER), TcpFlags::RST, own_seq + 1 + i, 0, &[]);
            drawn += acks_to(&drain(&mut server, now), addr(ATTACKER).ip());
        }
        seen.push(drawn);
    }
    (seen, to_victim)
}

#[test]
fn challenge_ack_counts_do_not_reveal_a_guessed_connection() {
    let (hit, to_victim_hit) = attack(addr(VICTIM), 8);
    let (miss, to_victim_miss) = attack(addr("10.0.0.7:40001"), 8);
    // The right guess did reach the victim's connection; the wrong one did not.
    assert!(to_victim_hit > 0, "the live connection answered the spoofed segments");
    assert_eq!(to_victim_miss, 0);
    // What the attacker sees is the same either way, every round.
    assert_eq!(hit, miss, "challenge ACKs seen by the attacker: hit {hit:?}, miss {miss:?}");
    assert!(hit.iter().all(|n| *n >= 1), "the attacker's own connection is still answered");
}

/// ACKs to unacceptable segments are limited the same way: a flood of out-of-window pure ACKs
/// draws one reply per 500 ms, while out-of-window data is always answered (its sender needs
/// the ACK to stop retransmitting).
#[test]
fn out_of_window_acks_are_limited_per_connection() {
    let cfg = EndpointConfig::default();
    let mut server = Endpoint::new(cfg, [9; 16], 7);
    let mut client = Endpoint::new(cfg, [5; 16], 5);
    server.listen(addr(SERVER), 8).unwrap();
    let t0 = Instant::from_secs(10);
    let id = establish(&mut client, &mut server, t0, ATTACKER);
    let st = client.stats(id).unwrap();
    let (seq, ack) = (st.snd_nxt.0, st.rcv_nxt.0);
    let far = seq.wrapping_add(1 << 30);
    let mut now = t0;
    let mut replies = 0;
    for _ in 0..1000 {
        now += Duration::from_millis(1);
        forge(&mut server, now, addr(ATTACKER), TcpFlags::ACK, far, ack, &[]);
        replies += acks_to(&drain(&mut server, now), addr(ATTACKER).ip());
    }
    // One second of flooding: the first reply, and one per 500 ms after it.
    assert_eq!(replies, 2, "pure out-of-window ACKs answered");
    // Old data below RCV.NXT (a retransmission whose ACK was lost) is answered every time.
    let mut data_replies = 0;
    for _ in 0..5 {
        forge(&mut server, now, addr(ATTACKER), TcpFlags::ACK, seq.wrapping_sub(10), ack, &[7; 10]);
        data_replies += acks_to(&drain(&mut server, now), addr(ATTACKER).ip());
    }
    assert_eq!(data_replies, 5);
}
