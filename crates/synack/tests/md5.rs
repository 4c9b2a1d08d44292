//! TCP MD5 signatures (RFC 2385) through the blocking and tokio APIs, between two stacks on the
//! in-memory link: a listener with a key accepts a client whose stack has the same key and
//! their data flows signed; a client with another key, or none, never gets through.

use std::io::{Read, Write};
use std::net::IpAddr;
use std::time::Duration;

use synack::net::{TcpListener, TcpStream};
use synack::tcp::Md5Key;

mod common;
use common::{STEP, addr, data, pair};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn signed_connection_through_the_blocking_api() {
    let (a, b) = pair();
    let listener = TcpListener::bind(&b, addr("10.0.0.2:179")).unwrap();
    listener.set_md5_key(ip("10.0.0.0"), 24, b"bgp-secret").unwrap();
    a.add_md5_key(Md5Key::new(ip("10.0.0.2"), b"bgp-secret").unwrap());
    let mut client = TcpStream::connect_timeout(&a, &addr("10.0.0.2:179"), STEP).unwrap();
    let (mut conn, _) = listener.accept_timeout(STEP).unwrap();
    let sent = data(20_000, 3);
    client.write_all(&sent).unwrap();
    conn.set_read_timeout(Some(STEP)).unwrap();
    let mut got = vec![0u8; sent.len()];
    conn.read_exact(&mut got).unwrap();
    assert!(got == sent);
    let (ca, cb) = (a.md5_counters(), b.md5_counters());
    assert!(ca.verified >= 1 && cb.verified >= 3, "{ca:?} {cb:?}");
    assert_eq!((cb.not_found, cb.failure, cb.unexpected), (0, 0, 0));
    // Bad input is refused, not taken.
    assert!(listener.set_md5_key(ip("10.0.0.0"), 33, b"k").is_err());
    assert!(listener.set_md5_key(ip("10.0.0.1"), 32, &[0; 81]).is_err());
}

#[test]
fn wrong_or_missing_key_never_connects() {
    for client_key in [Some(&b"wrong"[..]), None] {
        let (a, b) = pair();
        let listener = TcpListener::bind(&b, addr("10.0.0.2:179")).unwrap();
        listener.set_md5_key(ip("10.0.0.1"), 32, b"bgp-secret").unwrap();
        if let Some(k) = client_key {
            a.add_md5_key(Md5Key::new(ip("10.0.0.2"), k).unwrap());
        }
        // Each SYN is dropped unanswered: the attempt times out (no RST refuses it).
        let r = TcpStream::connect_timeout(&a, &addr("10.0.0.2:179"), Duration::from_millis(300));
        assert_eq!(r.unwrap_err().kind(), std::io::ErrorKind::TimedOut, "{client_key:?}");
        let c = b.md5_counters();
        assert!(c.failure + c.not_found >= 1, "{c:?}");
    }
}

#[test]
fn signed_connection_through_tokio() {
    let (a, b) = pair();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = synack::tokio::TcpListener::bind(&b, addr("10.0.0.2:179")).await.unwrap();
        listener.set_md5_key(ip("10.0.0.1"), 32, b"k").unwrap();
        a.add_md5_key(Md5Key::new(ip("10.0.0.2"), b"k").unwrap());
        let mut client = synack::tokio::TcpStream::connect(&a, addr("10.0.0.2:179")).await.unwrap();
        let (mut conn, _) = listener.accept().await.unwrap();
        client.write_all(b"KEEPALIVE").await.unwrap();
        let mut got = [0u8; 9];
        conn.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"KEEPALIVE");
    });
    assert!(b.md5_counters().verified >= 3);
}
