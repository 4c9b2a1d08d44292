//! `ChannelDevice`: stacks whose packets the test itself carries (sync threads and tokio
//! tasks moving packets between two channel handles), and what a stopped driver does to
//! pending and later socket calls, blocking and async, TCP and UDP.

use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use synack::net::{TcpListener, TcpStream, UdpSocket};
use synack::{AnyConfig, ChannelDevice, ChannelHandle, Clock, IpCidr, Stack, StackConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

const STEP: Duration = Duration::from_secs(5);

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn stack_on(ip: &str, dev: ChannelDevice, clock: Clock) -> Arc<Stack> {
    let cfg = StackConfig {
        addresses: vec![IpCidr::new(ip.parse().unwrap(), 24).unwrap()],
        ..StackConfig::default()
    };
    Arc::new(Stack::new(dev, cfg, clock).unwrap())
}

/// Moves packets from `from` to `to` on a thread until `stop` is set.
fn pump(from: ChannelHandle, to: ChannelHandle, stop: Arc<AtomicBool>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Acquire) {
            match from.recv_timeout(Duration::from_millis(10)) {
                Ok(p) => {
                    if to.send(p).is_err() {
                        return;
                    }
                }
                Err(e) if e.kind() == ErrorKind::TimedOut => {}
                Err(_) => return,
            }
        }
    })
}

#[test]
fn two_stacks_over_channels_pumped_by_threads() {
    let clock = Clock::start();
    let (da, ha) = ChannelDevice::new(1500, 256);
    let (db, hb) = ChannelDevice::new(1500, 256);
    let a = stack_on("10.1.0.1", da, clock);
    let b = stack_on("10.1.0.2", db, clock);
    let stop = Arc::new(AtomicBool::new(false));
    let p1 = pump(ha.clone(), hb.clone(), stop.clone());
    let p2 = pump(hb, ha, stop.clone());

    let listener = TcpListener::bind(&b, "10.1.0.2:80").unwrap();
    let mut client = TcpStream::connect_timeout(&a, &addr("10.1.0.2:80"), STEP).unwrap();
    let (mut server, _) = listener.accept_timeout(STEP).unwrap();
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let writer = {
        let data = data.clone();
        std::thread::spawn(move || {
            client.write_all(&data).unwrap();
            client.shutdown(std::net::Shutdown::Write).unwrap();
            client
        })
    };
    server.set_read_timeout(Some(STEP)).unwrap();
    let mut got = Vec::new();
    server.read_to_end(&mut got).unwrap();
    assert_eq!(got, data);
    drop(writer.join().unwrap());

    let us = UdpSocket::bind(&b, "10.1.0.2:53").unwrap();
    let uc = UdpSocket::bind(&a, "10.1.0.1:0").unwrap();
    uc.send_to(b"q", "10.1.0.2:53").unwrap();
    us.set_read_timeout(Some(STEP)).unwrap();
    let mut buf = [0u8; 4];
    let (n, from) = us.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from), (&b"q"[..], uc.local_addr().unwrap()));
    stop.store(true, Ordering::Release);
    p1.join().unwrap();
    p2.join().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stacks_over_channels_pumped_by_tasks() {
    let clock = Clock::start();
    let (da, ha) = ChannelDevice::new(1500, 256);
    let (db, hb) = ChannelDevice::new(1500, 256);
    let a = stack_on("10.2.0.1", da, clock);
    let b = stack_on("10.2.0.2", db, clock);
    let (ha2, hb2) = (ha.clone(), hb.clone());
    let t1 = tokio::spawn(async move {
        while let Ok(p) = ha.recv_async().await {
            if hb.send_async(p).await.is_err() {
                break;
            }
        }
    });
    let t2 = tokio::spawn(async move {
        while let Ok(p) = hb2.recv_async().await {
            if ha2.send_async(p).await.is_err() {
                break;
            }
        }
    });
    let listener = synack::tokio::TcpListener::bind(&b, addr("10.2.0.2:7")).await.unwrap();
    let mut client = timeout(STEP, synack::tokio::TcpStream::connect(&a, addr("10.2.0.2:7")))
        .await
        .unwrap()
        .unwrap();
    let (mut server, _) = timeout(STEP, listener.accept()).await.unwrap().unwrap();
    client.write_all(b"over a channel").await.unwrap();
    let mut buf = [0u8; 14];
    timeout(STEP, server.read_exact(&mut buf)).await.unwrap().unwrap();
    assert_eq!(&buf, b"over a channel");
    drop((client, server, listener));
    drop((a, b));
    // The stacks are gone: the pumps see their channels close.
    timeout(STEP, t1).await.unwrap().unwrap();
    timeout(STEP, t2).await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_driver_fails_pending_and_later_calls() {
    let clock = Clock::start();
    let (da, ha) = ChannelDevice::new(1500, 256);
    let (db, hb) = ChannelDevice::new(1500, 256);
    let a = stack_on("10.3.0.1", da, clock);
    let b = stack_on("10.3.0.2", db, clock);
    let stop = Arc::new(AtomicBool::new(false));
    let p1 = pump(ha.clone(), hb.clone(), stop.clone());
    let p2 = pump(hb, ha.clone(), stop.clone());

    // An established connection with a read pending on each API.
    let listener = TcpListener::bind(&b, "10.3.0.2:80").unwrap();
    let client = TcpStream::connect_timeout(&a, &addr("10.3.0.2:80"), STEP).unwrap();
    let _server = listener.accept_timeout(STEP).unwrap();
    let tlistener = synack::tokio::TcpListener::bind(&b, addr("10.3.0.2:81")).await.unwrap();
    let mut tclient = timeout(STEP, synack::tokio::TcpStream::connect(&a, addr("10.3.0.2:81")))
        .await
        .unwrap()
        .unwrap();
    let _tserver = timeout(STEP, tlistener.accept()).await.unwrap().unwrap();

    let blocking_read = std::thread::spawn(move || {
        let mut client = client;
        client.read(&mut [0u8; 8])
    });
    let udp = UdpSocket::bind(&a, "10.3.0.1:5353").unwrap();
    let blocking_udp = std::thread::spawn(move || udp.recv_from(&mut [0u8; 8]));
    let blocking_accept = {
        let l = TcpListener::bind(&a, "10.3.0.1:22").unwrap();
        std::thread::spawn(move || l.accept().map(|_| ()))
    };
    let tudp = synack::tokio::UdpSocket::bind(&a, addr("10.3.0.1:5354")).await.unwrap();
    let async_udp = tokio::spawn(async move { tudp.recv_from(&mut [0u8; 8]).await.map(|_| ()) });
    let any = synack::tokio::AnyListener::bind(&a, AnyConfig::default()).unwrap();
    let async_any = tokio::spawn(async move { any.next().await.map(|_| ()) });
    let tlistener2 = synack::tokio::TcpListener::bind(&b, addr("10.3.0.2:82")).await.unwrap();
    let tclient2 = timeout(STEP, synack::tokio::TcpStream::connect(&a, addr("10.3.0.2:82")))
        .await
        .unwrap()
        .unwrap();
    let _tserver2 = timeout(STEP, tlistener2.accept()).await.unwrap().unwrap();
    let async_read = tokio::spawn(async move { tclient.read(&mut [0u8; 8]).await });
    // A writer blocked on a full send buffer (the peer never reads), and a readiness wait.
    let async_write = tokio::spawn(async move {
        let mut c = tclient2;
        loop {
            c.write_all(&[0u8; 65536]).await?;
        }
        #[allow(unreachable_code)]
        Ok::<(), std::io::Error>(())
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!blocking_read.is_finished() && !async_read.is_finished());

    // Take stack a's device away: every handle on its channel is dropped.
    stop.store(true, Ordering::Release);
    p1.join().unwrap();
    p2.join().unwrap();
    drop(ha);

    let down = |e: std::io::Error| assert_eq!(e.kind(), ErrorKind::NetworkDown, "{e}");
    down(blocking_read.join().unwrap().unwrap_err());
    down(blocking_udp.join().unwrap().unwrap_err());
    down(blocking_accept.join().unwrap().unwrap_err());
    down(timeout(STEP, async_udp).await.unwrap().unwrap().unwrap_err());
    down(timeout(STEP, async_any).await.unwrap().unwrap().unwrap_err());
    down(timeout(STEP, async_read).await.unwrap().unwrap().unwrap_err());
    down(timeout(STEP, async_write).await.unwrap().unwrap().unwrap_err());
    // Later calls fail at once too.
    down(TcpStream::connect_timeout(&a, &addr("10.3.0.2:80"), STEP).unwrap_err());
    down(UdpSocket::bind(&a, "10.3.0.1:0").unwrap_err());
    down(TcpListener::bind(&a, "10.3.0.1:23").unwrap_err());
    down(
        timeout(STEP, synack::tokio::TcpStream::connect(&a, addr("10.3.0.2:80")))
            .await
            .unwrap()
            .unwrap_err(),
    );
    a.with(|st, _| {
        assert!(st.is_stopped());
        assert_eq!(st.stats().fatal, Some(ErrorKind::BrokenPipe));
    });
}
