//! Bulk data each way between the kernel and synack through a TUN device with offloads on
//! (virtio-net headers: the kernel hands synack super-segments and partial checksums, synack
//! hands the kernel super-segments to cut), inside a network namespace this test creates,
//! over IPv4 and IPv6, SHA-256 compared end to end. Also checks that the offload paths were
//! really taken (super-segments counted each way).
//!
//! 1 GiB each way over IPv4 and 100 MiB over IPv6; `SYNACK_TUN_BULK_MB=N` moves N MiB over
//! IPv4 (and a tenth of it over IPv6) instead. Prints `SKIPPED: <reason>` and passes when
//! not root or without /dev/net/tun or `ip`.

mod support;

use std::sync::Arc;

use synack::runtime::StackConfig;
use synack::{Clock, IpCidr, Stack};
use synack_tun::{TunDevice, TunOptions, config};

#[test]
fn bulk_each_way_through_tun_with_offloads() {
    if support::skipped(&["ip"]) {
        return;
    }
    let mb: usize =
        std::env::var("SYNACK_TUN_BULK_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(1024);
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
        support::kernel_to_synack(&stack, &ns, ours.parse().unwrap(), total);
        let taken = frames(&stack) - before;
        assert!(
            (taken as usize) < wire_frames / 4,
            "kernel -> synack {ours}: {taken} frames for {total} bytes: no super-segments"
        );
        let before = frames_out(&stack);
        support::synack_to_kernel(&stack, &ns, kernel.parse().unwrap(), total);
        let sent = frames_out(&stack) - before;
        assert!(
            (sent as usize) < wire_frames / 4,
            "synack -> kernel {kernel}: {sent} frames for {total} bytes: no super-segments"
        );
        println!("{total} bytes each way via {ours}: {taken} frames in, {sent} frames out");
    }
}
