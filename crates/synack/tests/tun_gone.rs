//! A TUN device deleted under a running stack (inside a network namespace this test creates):
//! the driver stops, and pending blocking and async socket calls, TCP and UDP, fail with
//! `NetworkDown`, as do later ones.
//!
//! Prints `SKIPPED: <reason>` and passes when not root, without /dev/net/tun or `ip`.

mod support;

use std::io::ErrorKind;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use synack::net::{TcpListener, UdpSocket};
use synack::runtime::StackConfig;
use synack::{Clock, IpCidr, Stack};
use synack_tun::{TunDevice, config, netns};

#[test]
fn deleted_tun_stops_the_driver_and_fails_every_call() {
    if support::skipped(&["ip"]) {
        return;
    }
    let (ns, _guard) = support::add_netns("fcgone");
    let ns2 = ns.clone();
    let dev = std::thread::spawn(move || -> Result<TunDevice, String> {
        netns::enter(&ns2).map_err(|e| e.to_string())?;
        let dev = TunDevice::open("fcgone0", 1500).map_err(|e| e.to_string())?;
        config::add_address(dev.name(), "10.77.0.1".parse().unwrap(), 24)
            .map_err(|e| e.to_string())?;
        config::set_up(dev.name()).map_err(|e| e.to_string())?;
        Ok(dev)
    })
    .join()
    .unwrap();
    let dev = match dev {
        Ok(d) => d,
        Err(e) => {
            println!("SKIPPED: cannot set up the TUN: {e}");
            return;
        }
    };
    let cfg = StackConfig {
        addresses: vec![IpCidr::new("10.77.0.2".parse().unwrap(), 24).unwrap()],
        ..StackConfig::default()
    };
    let stack = Arc::new(Stack::new(dev, cfg, Clock::start()).unwrap());
    let udp = UdpSocket::bind(&stack, "10.77.0.2:53").unwrap();
    let listener = TcpListener::bind(&stack, "10.77.0.2:80").unwrap();
    let blocking_udp = std::thread::spawn(move || udp.recv_from(&mut [0u8; 16]).map(|_| ()));
    let blocking_accept = std::thread::spawn(move || listener.accept().map(|_| ()));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let tudp = rt
        .block_on(synack::tokio::UdpSocket::bind(&stack, "10.77.0.2:54".parse().unwrap()))
        .unwrap();
    let async_udp = rt.spawn(async move { tudp.recv_from(&mut [0u8; 16]).await.map(|_| ()) });
    std::thread::sleep(Duration::from_millis(100));

    let del = Command::new("ip")
        .args(["netns", "exec", &ns, "ip", "link", "del", "fcgone0"])
        .status()
        .unwrap();
    assert!(del.success());

    let down = |r: std::io::Result<()>| {
        let e = r.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NetworkDown, "{e}");
    };
    down(blocking_udp.join().unwrap());
    down(blocking_accept.join().unwrap());
    down(
        rt.block_on(async { tokio::time::timeout(Duration::from_secs(5), async_udp).await })
            .unwrap()
            .unwrap(),
    );
    down(UdpSocket::bind(&stack, "10.77.0.2:0").map(|_| ()));
    assert!(stack.with(|st, _| st.is_stopped()));
}
