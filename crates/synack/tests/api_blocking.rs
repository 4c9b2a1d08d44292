//! The blocking API (`synack::net`) between two stacks joined by the in-memory link: real driver
//! threads and the real clock, every wait bounded by a timeout.

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use sha2::{Digest, Sha256};
use synack::Stack;
use synack::net::{TcpListener, TcpStream};

mod common;
use common::{STEP, addr, data, pair};

/// Calls `f` until it stops returning `WouldBlock` (for at most [`STEP`], on the stack's clock).
fn retry<T>(stack: &Stack, mut f: impl FnMut() -> std::io::Result<T>) -> T {
    let deadline = stack.now() + STEP;
    loop {
        match f() {
            Ok(x) => return x,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                assert!(stack.now() < deadline, "still WouldBlock after {STEP:?}");
                thread::sleep(Duration::from_millis(1));
            }
            Err(e) => panic!("{e}"),
        }
    }
}

/// Connects `a` to a listener on `b` and returns (client, server) with timeouts set.
fn connected(a: &Arc<Stack>, b: &Arc<Stack>, port: u16) -> (TcpListener, TcpStream, TcpStream) {
    let listener = TcpListener::bind(b, addr(&format!("10.0.0.2:{port}"))).unwrap();
    let client = TcpStream::connect_timeout(a, &addr(&format!("10.0.0.2:{port}")), STEP).unwrap();
    let (server, peer) = listener.accept_timeout(STEP).unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
    assert_eq!(server.peer_addr().unwrap(), client.local_addr().unwrap());
    assert_eq!(client.peer_addr().unwrap(), server.local_addr().unwrap());
    for s in [&client, &server] {
        s.set_read_timeout(Some(STEP)).unwrap();
        s.set_write_timeout(Some(STEP)).unwrap();
    }
    (listener, client, server)
}

#[test]
fn echo_lines() {
    let (a, b) = pair();
    let (_l, mut client, server) = connected(&a, &b, 7);
    let echo = thread::spawn(move || {
        let mut server = server;
        let mut buf = [0u8; 1024];
        loop {
            let n = server.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            server.write_all(&buf[..n]).unwrap();
        }
        server.shutdown(Shutdown::Write).unwrap();
    });
    for line in ["hello\n", "synack\n", "bye\n"] {
        client.write_all(line.as_bytes()).unwrap();
        let mut got = vec![0u8; line.len()];
        client.read_exact(&mut got).unwrap();
        assert_eq!(got, line.as_bytes());
    }
    client.shutdown(Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    client.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
    echo.join().unwrap();
}

#[test]
fn bulk_transfer_checksum_matches() {
    const LEN: usize = 4 * 1024 * 1024;
    let (a, b) = pair();
    let (_l, mut client, mut server) = connected(&a, &b, 9);
    let payload = data(LEN, 42);
    let want = Sha256::digest(&payload);
    let reader = thread::spawn(move || {
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0usize;
        loop {
            let n = server.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
            total += n;
        }
        (total, h.finalize(), server)
    });
    client.write_all(&payload).unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    let (total, got, _server) = reader.join().unwrap();
    assert_eq!(total, LEN);
    assert_eq!(got, want);
    let st = client.stats().unwrap();
    assert!(st.bytes_sent >= LEN as u64, "sent {}", st.bytes_sent);
    assert!(st.srtt.is_some());
}

#[test]
fn half_close_peer_reads_eof_and_still_writes() {
    let (a, b) = pair();
    let (_l, mut client, mut server) = connected(&a, &b, 10);
    client.write_all(b"request").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    let mut got = Vec::new();
    server.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"request");
    // Our side is shut: writing again is a broken pipe.
    assert_eq!(client.write(b"x").unwrap_err().kind(), ErrorKind::BrokenPipe);
    // The server's direction is still open: data flows after the client's FIN.
    server.write_all(b"response after your FIN").unwrap();
    let mut back = [0u8; 23];
    client.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"response after your FIN");
    server.shutdown(Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    client.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
}

/// The common client pattern: send the request, shut down writing, then read the whole
/// response, which the server sends followed at once by its FIN. The data must stay readable
/// after the FIN moves the client to TIME-WAIT (Linux keeps it readable).
#[test]
fn data_before_fin_stays_readable_in_time_wait() {
    let (a, b) = pair();
    let (_l, mut client, mut server) = connected(&a, &b, 19);
    client.write_all(b"request").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    let mut got = Vec::new();
    server.read_to_end(&mut got).unwrap();
    server.write_all(b"response after your FIN").unwrap();
    server.shutdown(Shutdown::Write).unwrap();
    // Give the data and the FIN time to arrive before reading.
    thread::sleep(Duration::from_millis(100));
    let mut back = Vec::new();
    client.read_to_end(&mut back).unwrap();
    assert_eq!(back, b"response after your FIN");
}

#[test]
fn connect_to_closed_port_is_refused() {
    let (a, _b) = pair();
    let e = TcpStream::connect_timeout(&a, &addr("10.0.0.2:1"), STEP).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");
}

#[test]
fn connect_to_silent_host_times_out() {
    let (a, _b) = pair();
    // 10.0.0.3 is on the link's subnet, but nobody answers.
    let t = Duration::from_millis(300);
    let e = TcpStream::connect_timeout(&a, &addr("10.0.0.3:80"), t).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
    assert_eq!(
        TcpStream::connect_timeout(&a, &addr("10.0.0.3:80"), Duration::ZERO).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

#[test]
fn connect_without_route_is_network_unreachable() {
    let (a, _b) = pair();
    let e = TcpStream::connect_timeout(&a, &addr("192.0.2.1:80"), STEP).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NetworkUnreachable, "{e}");
}

#[test]
fn abort_resets_the_peer() {
    let (a, b) = pair();
    let (_l, mut client, server) = connected(&a, &b, 11);
    server.abort().unwrap();
    let mut buf = [0u8; 16];
    let e = client.read(&mut buf).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}");
    // Reported once, as Linux does: later writes are a broken pipe, reads the end of stream,
    // and SO_ERROR is clear.
    assert_eq!(client.write(b"x").unwrap_err().kind(), ErrorKind::BrokenPipe);
    assert_eq!(client.read(&mut buf).unwrap(), 0);
    assert!(client.take_error().unwrap().is_none());
    // The aborted side's handle no longer names a connection.
    assert_eq!(server.stats().unwrap_err().kind(), ErrorKind::NotConnected);
}

#[test]
fn dropping_with_unread_data_resets() {
    let (a, b) = pair();
    let (_l, mut client, server) = connected(&a, &b, 12);
    client.write_all(b"never read").unwrap();
    // Wait until the data sits in the server's receive buffer, then drop it unread.
    retry(&b, || match server.stats()?.recv_queue {
        0 => Err(ErrorKind::WouldBlock.into()),
        _ => Ok(()),
    });
    drop(server);
    let mut buf = [0u8; 16];
    let e = client.read(&mut buf).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}");
}

#[test]
fn read_timeout_is_would_block() {
    let (a, b) = pair();
    let (_l, mut client, _server) = connected(&a, &b, 13);
    client.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let mut buf = [0u8; 16];
    let e = client.read(&mut buf).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WouldBlock, "{e}");
    assert_eq!(
        client.set_read_timeout(Some(Duration::ZERO)).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(client.read_timeout().unwrap(), Some(Duration::from_millis(50)));
}

#[test]
fn nonblocking_accept_and_read() {
    let (a, b) = pair();
    let listener = TcpListener::bind(&b, addr("10.0.0.2:14")).unwrap();
    listener.set_nonblocking(true).unwrap();
    assert_eq!(listener.accept().unwrap_err().kind(), ErrorKind::WouldBlock);
    let mut client = TcpStream::connect_timeout(&a, &addr("10.0.0.2:14"), STEP).unwrap();
    let (mut server, _) = retry(&b, || listener.accept());
    server.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(server.read(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
    client.write_all(b"hi").unwrap();
    let n = retry(&b, || server.read(&mut buf));
    assert_eq!(&buf[..n], b"hi");
}

#[test]
fn bind_errors() {
    let (_a, b) = pair();
    let l = TcpListener::bind(&b, addr("10.0.0.2:15")).unwrap();
    assert_eq!(
        TcpListener::bind(&b, addr("10.0.0.2:15")).unwrap_err().kind(),
        ErrorKind::AddrInUse
    );
    assert_eq!(
        TcpListener::bind(&b, addr("10.9.9.9:15")).unwrap_err().kind(),
        ErrorKind::AddrNotAvailable
    );
    // Port 0 picks a free port.
    let any = TcpListener::bind(&b, addr("10.0.0.2:0")).unwrap();
    assert_ne!(any.local_addr().unwrap().port(), 0);
    // Dropping the listener frees the address.
    drop(l);
    TcpListener::bind(&b, addr("10.0.0.2:15")).unwrap();
}

#[test]
fn incoming_and_try_clone() {
    let (a, b) = pair();
    let listener = TcpListener::bind(&b, addr("10.0.0.2:16")).unwrap();
    let server = thread::spawn(move || {
        let mut s = listener.incoming().next().unwrap().unwrap();
        s.set_read_timeout(Some(STEP)).unwrap();
        let mut buf = [0u8; 5];
        s.read_exact(&mut buf).unwrap();
        s.write_all(&buf).unwrap();
        s
    });
    let client = TcpStream::connect_timeout(&a, &addr("10.0.0.2:16"), STEP).unwrap();
    client.set_read_timeout(Some(STEP)).unwrap();
    let mut writer = client.try_clone().unwrap();
    writer.write_all(b"clone").unwrap();
    let mut buf = [0u8; 5];
    (&client).read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"clone");
    // The clone shares settings.
    assert_eq!(writer.read_timeout().unwrap(), Some(STEP));
    drop(server.join().unwrap());
}

#[test]
fn options_and_stats_are_reachable() {
    let (a, b) = pair();
    let (_l, client, _server) = connected(&a, &b, 17);
    client.set_nodelay(true).unwrap();
    assert!(client.nodelay().unwrap());
    let ka = synack::net::KeepAlive {
        idle: Duration::from_secs(10),
        interval: Duration::from_secs(1),
        probes: 3,
    };
    client.set_keepalive(Some(ka)).unwrap();
    assert_eq!(client.keepalive().unwrap(), Some(ka));
    client.set_user_timeout(Some(Duration::from_secs(30))).unwrap();
    assert_eq!(client.conn_config().unwrap().user_timeout, Some(Duration::from_secs(30)));
    client.set_ttl(17).unwrap();
    assert_eq!(client.ttl().unwrap(), 17);
    assert_eq!(client.set_ttl(0).unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(client.state().unwrap(), synack::net::State::Established);
    let st = client.stats().unwrap();
    assert_eq!(st.state, synack::net::State::Established);
    assert!(st.snd_mss > 0);
}

#[test]
fn connect_with_small_buffers_and_newreno() {
    let (a, b) = pair();
    let _l = TcpListener::bind(&b, addr("10.0.0.2:18")).unwrap();
    let cfg = synack::net::ConnConfig {
        send_buffer: 8 * 1024,
        recv_buffer: 8 * 1024,
        congestion_control: synack::net::CongestionControl::NewReno,
        ..Default::default()
    };
    let c = TcpStream::connect_with(&a, addr("10.0.0.2:18"), Some(cfg), Some(STEP)).unwrap();
    let got = c.conn_config().unwrap();
    assert_eq!(got.send_buffer, 8 * 1024);
    assert_eq!(got.congestion_control, synack::net::CongestionControl::NewReno);
}
