//! Bulk data each way between the kernel and synack through a TUN device with offloads on
//! (virtio-net headers: the kernel hands synack super-segments and partial checksums, synack
//! hands the kernel super-segments to cut), inside a network namespace this test creates,
//! over IPv4 and IPv6, SHA-256 compared end to end. Also checks that the offload paths were
//! really taken (super-segments counted each way).
//!
//! 200 MB each way over IPv4 and 20 MB over IPv6 by default; `SYNACK_TUN_BULK_MB=1024` moves
//! 1 GB each way over IPv4 (the size the offload work is specified with; slow in a debug
//! build). Prints `SKIPPED: <reason>` and passes when not root or without /dev/net/tun or `ip`.

mod support;

use std::io::Read;
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use synack::net::{TcpListener, TcpStream};
use synack::runtime::StackConfig;
use synack::{Clock, IpCidr, Stack};
use synack_tun::{TunDevice, TunOptions, config};

/// Kernel -> synack: a kernel client in the namespace sends `total` bytes to a synack listener.
fn kernel_to_synack(stack: &Arc<Stack>, ns: &str, ours: SocketAddr, total: usize) {
    let l = TcpListener::bind(stack, ours).expect("bind");
    let client = support::in_ns(ns, move || {
        let mut s = std::net::TcpStream::connect_timeout(&ours, Duration::from_secs(10))
            .map_err(|e| format!("kernel connect {ours}: {e}"))?;
        let sum =
            support::send_pattern(&mut s, total, 0x5eed_0001).map_err(|e| format!("send: {e}"))?;
        s.shutdown(Shutdown::Write).map_err(|e| e.to_string())?;
        // Wait for synack's FIN so the data is known delivered.
        let mut b = [0u8; 16];
        while s.read(&mut b).map_err(|e| format!("read: {e}"))? > 0 {}
        Ok(sum)
    });
    let (mut s, _) = l.accept_timeout(Duration::from_secs(20)).expect("accept");
    let (n, got) = support::recv_all(&mut s).expect("synack read");
    s.shutdown(Shutdown::Write).expect("shutdown");
    let sent = client.join().expect("client thread").expect("kernel client");
    assert_eq!(n, total, "kernel -> synack {ours}: byte count");
    assert!(got == sent, "kernel -> synack {ours}: SHA-256 differs");
}

/// Synack -> kernel: synack connects to a kernel listener in the namespace and sends `total`.
fn synack_to_kernel(stack: &Arc<Stack>, ns: &str, kernel: SocketAddr, total: usize) {
    let (tx, rx) = std::sync::mpsc::channel();
    let server = support::in_ns(ns, move || {
        let l = std::net::TcpListener::bind(kernel).map_err(|e| format!("bind {kernel}: {e}"))?;
        let _ = tx.send(());
        let (mut c, _) = l.accept().map_err(|e| format!("accept: {e}"))?;
        c.set_read_timeout(Some(Duration::from_secs(30))).map_err(|e| e.to_string())?;
        let r = support::recv_all(&mut c).map_err(|e| format!("kernel read: {e}"))?;
        Ok(r)
    });
    rx.recv_timeout(Duration::from_secs(10)).expect("kernel listener up");
    let mut s =
        TcpStream::connect_timeout(stack, &kernel, Duration::from_secs(10)).expect("connect");
    let sent = support::send_pattern(&mut s, total, 0x5eed_0002).expect("synack write");
    s.shutdown(Shutdown::Write).expect("shutdown");
    let (n, got) = server.join().expect("server thread").expect("kernel server");
    assert_eq!(n, total, "synack -> kernel {kernel}: byte count");
    assert!(got == sent, "synack -> kernel {kernel}: SHA-256 differs");
}

#[test]
fn bulk_each_way_through_tun_with_offloads() {
    if support::skipped(&["ip"]) {
        return;
    }
    let mb: usize =
        std::env::var("SYNACK_TUN_BULK_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let (ns, _guard) = support::add_netns("sdp-off-");

    let dev = support::in_ns(&ns, || {
        let dev = TunDevice::open_with("sdpoff0", 1500, TunOptions::default())
            .map_err(|e| e.to_string())?;
        let name = dev.name().to_string();
        let e = |e: config::ConfigError| e.to_string();
        config::set_mtu(&name, 1500).map_err(e)?;
        config::add_address(&name, "10.77.0.1".parse().unwrap(), 24).map_err(e)?;
        config::add_address(&name, "fd77::1".parse().unwrap(), 64).map_err(e)?;
        config::set_up(&name).map_err(e)?;
        Ok(dev)
    })
    .join()
    .expect("tun thread")
    .expect("tun");
    let offloads = dev.offloads();
    assert!(offloads.vnet_hdr, "the kernel refused virtio-net headers: {offloads:?}");

    let cfg = StackConfig {
        addresses: vec![
            IpCidr::new("10.77.0.2".parse().unwrap(), 24).unwrap(),
            IpCidr::new("fd77::2".parse().unwrap(), 64).unwrap(),
        ],
        ..StackConfig::default()
    };
    let stack = Arc::new(Stack::new(dev, cfg, Clock::start()).expect("stack"));

    let v4 = mb << 20;
    let v6 = (mb / 10).max(1) << 20;
    // One frame per 1448 bytes of payload is what MSS-at-a-time moves: a quarter of that
    // proves super-segments went through the device, in the direction measured.
    let frames = |stack: &Stack| stack.with(|st, _| st.stats()).frames_in;
    let frames_out = |stack: &Stack| stack.with(|st, _| st.stats()).frames_out;
    for (ours, kernel, total) in
        [("10.77.0.2:7001", "10.77.0.1:7002", v4), ("[fd77::2]:7003", "[fd77::1]:7004", v6)]
    {
        let wire_frames = total / 1448;
        let before = frames(&stack);
        kernel_to_synack(&stack, &ns, ours.parse().unwrap(), total);
        let taken = frames(&stack) - before;
        assert!(
            (taken as usize) < wire_frames / 4,
            "kernel -> synack {ours}: {taken} frames for {total} bytes: no super-segments"
        );
        let before = frames_out(&stack);
        synack_to_kernel(&stack, &ns, kernel.parse().unwrap(), total);
        let sent = frames_out(&stack) - before;
        assert!(
            (sent as usize) < wire_frames / 4,
            "synack -> kernel {kernel}: {sent} frames for {total} bytes: no super-segments"
        );
        println!("{total} bytes each way via {ours}: {taken} frames in, {sent} frames out");
    }
}
