//! Transmit timestamps (`set_tx_timestamping`, `take_tx_timestamp`) through both APIs between
//! two stacks on the in-memory link: each write's last byte is stamped scheduled, sent and,
//! once the peer's ACK arrives, acknowledged, with keys counted from the point the option was
//! switched on.

use std::io::{Read, Write};
use std::thread;
use std::time::Duration;

use synack::net::{TcpListener, TcpStream};
use synack::tcp::tx_stamp::{TxStamp, TxStampFlags, TxStampKind};

mod common;
use common::{STEP, addr, data, pair};

const FLAGS: TxStampFlags = TxStampFlags {
    scheduled: true,
    sent: true,
    acked: true,
    opt_id: true,
    opt_id_tcp: false,
    ts_only: true,
};

/// Takes stamps until `n` came or about `STEP` passed (the ACK stamps come with the peer's ACK).
fn take(n: usize, mut next: impl FnMut() -> Option<TxStamp>) -> Vec<(TxStampKind, u32)> {
    let mut v = Vec::new();
    let tries = STEP.as_millis() / 2;
    for _ in 0..tries {
        if v.len() >= n {
            break;
        }
        match next() {
            Some(s) => v.push((s.kind, s.key)),
            None => thread::sleep(Duration::from_millis(2)),
        }
    }
    v
}

fn expected() -> Vec<(TxStampKind, u32)> {
    use TxStampKind::*;
    vec![(Scheduled, 99), (Sent, 99), (Acked, 99), (Scheduled, 299), (Sent, 299), (Acked, 299)]
}

#[test]
fn blocking_stream_reports_each_writes_stamps() {
    let (a, b) = pair();
    let at = addr("10.0.0.2:91");
    let listener = TcpListener::bind(&b, at).unwrap();
    let mut client = TcpStream::connect_timeout(&a, &at, STEP).unwrap();
    let (mut server, _) = listener.accept_timeout(STEP).unwrap();
    server.set_read_timeout(Some(STEP)).unwrap();
    client.set_tx_timestamping(FLAGS).unwrap();
    let mut buf = [0u8; 300];
    client.write_all(&data(100, 1)).unwrap();
    server.read_exact(&mut buf[..100]).unwrap();
    let mut got = take(3, || client.take_tx_timestamp().unwrap());
    client.write_all(&data(200, 2)).unwrap();
    server.read_exact(&mut buf[..200]).unwrap();
    got.extend(take(3, || client.take_tx_timestamp().unwrap()));
    assert_eq!(got, expected());
    assert_eq!(client.take_tx_timestamp().unwrap(), None);
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_stream_reports_each_writes_stamps() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::time::timeout;
    let (a, b) = pair();
    let at = addr("10.0.0.2:92");
    let listener = synack::tokio::TcpListener::bind(&b, at).await.unwrap();
    let mut client =
        timeout(STEP, synack::tokio::TcpStream::connect(&a, at)).await.unwrap().unwrap();
    let (mut server, _) = timeout(STEP, listener.accept()).await.unwrap().unwrap();
    client.set_tx_timestamping(FLAGS).unwrap();
    let mut buf = [0u8; 300];
    let mut got = Vec::new();
    for (len, seed) in [(100, 1), (200, 2)] {
        client.write_all(&data(len, seed)).await.unwrap();
        timeout(STEP, server.read_exact(&mut buf[..len])).await.unwrap().unwrap();
        let deadline = tokio::time::Instant::now() + STEP;
        let want = got.len() + 3;
        while got.len() < want && tokio::time::Instant::now() < deadline {
            match client.take_tx_timestamp().unwrap() {
                Some(s) => got.push((s.kind, s.key)),
                None => tokio::time::sleep(Duration::from_millis(2)).await,
            }
        }
    }
    assert_eq!(got, expected());
}
