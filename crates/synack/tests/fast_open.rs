//! TCP Fast Open through the blocking API, between two stacks on the in-memory link: the
//! first connection fetches a cookie, the second carries its request on the SYN and the
//! server reads it from a connection accepted before the handshake's last ACK.

use std::io::{Read, Write};

use synack::net::{TcpListener, TcpStream};

mod common;
use common::{STEP, addr, data, pair};

/// Reads exactly `n` bytes.
fn read_n(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut got = vec![0u8; n];
    s.read_exact(&mut got).unwrap();
    got
}

#[test]
fn second_connection_carries_its_request_on_the_syn() {
    let (a, b) = pair();
    let listener = TcpListener::bind(&b, addr("10.0.0.2:80")).unwrap();
    listener.set_fast_open(16).unwrap();
    let server = addr("10.0.0.2:80");
    for (i, request) in [&b"GET /first"[..], &b"GET /second"[..]].into_iter().enumerate() {
        let (mut client, queued) =
            TcpStream::connect_with_data(&a, server, request, Some(STEP)).unwrap();
        assert_eq!(queued, request.len());
        let (mut conn, _) = listener.accept_timeout(STEP).unwrap();
        conn.set_read_timeout(Some(STEP)).unwrap();
        assert_eq!(read_n(&mut conn, request.len()), request);
        conn.write_all(b"200").unwrap();
        client.set_read_timeout(Some(STEP)).unwrap();
        assert_eq!(read_n(&mut client, 3), b"200");
        // The first SYN only asked for a cookie; the second carried the request.
        let id = client.id();
        let syn_data = a.with(|st, _| st.endpoint.stats(id).unwrap().syn_data);
        assert_eq!(syn_data, i == 1, "connection {i}");
        let id = conn.id();
        let child = b.with(|st, _| st.endpoint.stats(id).unwrap().fast_open_child);
        assert_eq!(child, i == 1, "connection {i}");
    }
}

/// A listener without Fast Open still gets the data (more than a SYN holds), after the
/// handshake.
#[test]
fn listener_without_fast_open_gets_the_data_after_the_handshake() {
    let (a, b) = pair();
    let listener = TcpListener::bind(&b, addr("10.0.0.2:81")).unwrap();
    let request = data(3000, 7);
    for _ in 0..2 {
        let (_client, queued) =
            TcpStream::connect_with_data(&a, addr("10.0.0.2:81"), &request, Some(STEP)).unwrap();
        assert_eq!(queued, request.len());
        let (mut conn, _) = listener.accept_timeout(STEP).unwrap();
        conn.set_read_timeout(Some(STEP)).unwrap();
        assert_eq!(read_n(&mut conn, request.len()), request);
        let id = conn.id();
        assert!(!b.with(|st, _| st.endpoint.stats(id).unwrap().fast_open_child));
    }
}
