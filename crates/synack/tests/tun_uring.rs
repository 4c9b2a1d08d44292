//! Bulk data each way between the kernel and synack through a TUN device whose batches go
//! through io_uring (one `io_uring_enter` per batch of reads and writes), without offloads
//! (one plain packet per read and write, so every segment crosses the ring) and with them,
//! inside a network namespace this test creates, SHA-256 compared end to end. Checks that the
//! driver really used io_uring and batched: far fewer `io_uring_enter` calls than packets.
//!
//! Prints `SKIPPED: <reason>` and passes when not root, without /dev/net/tun or `ip`, or where
//! the kernel has io_uring switched off (`kernel.io_uring_disabled`).
#![cfg(feature = "tun")]

mod support;

use std::io::Read;
use std::net::{Shutdown, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use synack::net::{TcpListener, TcpStream};
use synack::runtime::{DriverDevice, StackConfig, WaitSource};
use synack::{Clock, Device, DeviceCaps, IpCidr, Stack};
use synack_tcp::time::Instant;
use synack_tun::{TunCounters, TunDevice, TunOptions, TunRx, TunTx, config};

const TOTAL: usize = 24 << 20;

/// A TUN device that publishes its counters after every driver round, so the test can see
/// what the device did while the stack owns it.
struct Watched {
    dev: TunDevice,
    seen: Arc<Mutex<(TunCounters, bool)>>,
}

impl Device for Watched {
    type RxToken<'a> = TunRx<'a>;
    type TxToken<'a> = TunTx<'a>;

    fn receive(&mut self, now: Instant) -> Option<TunRx<'_>> {
        self.dev.receive(now)
    }

    fn transmit(&mut self, now: Instant) -> Option<TunTx<'_>> {
        self.dev.transmit(now)
    }

    fn caps(&self) -> DeviceCaps {
        self.dev.caps()
    }

    fn take_tx_refused(&mut self) -> bool {
        self.dev.take_tx_refused()
    }
}

impl DriverDevice for Watched {
    fn wait_source(&self) -> WaitSource {
        DriverDevice::wait_source(&self.dev)
    }

    fn driver_start(&mut self) {
        DriverDevice::driver_start(&mut self.dev);
    }

    fn read_batch(&mut self) -> bool {
        DriverDevice::read_batch(&mut self.dev)
    }

    fn write_batch(&mut self) -> usize {
        DriverDevice::write_batch(&mut self.dev)
    }

    fn write_batch_read_ahead(&mut self) -> bool {
        let more = DriverDevice::write_batch_read_ahead(&mut self.dev);
        *self.seen.lock().unwrap() = (self.dev.counters(), self.dev.uses_io_uring());
        more
    }

    fn read_errors(&self) -> (u64, Option<std::io::ErrorKind>) {
        DriverDevice::read_errors(&self.dev)
    }
}

fn kernel_to_synack(stack: &Arc<Stack>, ns: &str, ours: SocketAddr) {
    let l = TcpListener::bind(stack, ours).expect("bind");
    let client = support::in_ns(ns, move || {
        let mut s = std::net::TcpStream::connect_timeout(&ours, Duration::from_secs(10))
            .map_err(|e| format!("kernel connect {ours}: {e}"))?;
        let sum =
            support::send_pattern(&mut s, TOTAL, 0x0123_4567).map_err(|e| format!("send: {e}"))?;
        s.shutdown(Shutdown::Write).map_err(|e| e.to_string())?;
        let mut b = [0u8; 16];
        while s.read(&mut b).map_err(|e| format!("read: {e}"))? > 0 {}
        Ok(sum)
    });
    let (mut s, _) = l.accept_timeout(Duration::from_secs(20)).expect("accept");
    let (n, got) = support::recv_all(&mut s).expect("synack read");
    s.shutdown(Shutdown::Write).expect("shutdown");
    let sent = client.join().expect("client thread").expect("kernel client");
    assert_eq!(n, TOTAL, "kernel -> synack: byte count");
    assert!(got == sent, "kernel -> synack: SHA-256 differs");
}

fn synack_to_kernel(stack: &Arc<Stack>, ns: &str, kernel: SocketAddr) {
    let (tx, rx) = std::sync::mpsc::channel();
    let server = support::in_ns(ns, move || {
        let l = std::net::TcpListener::bind(kernel).map_err(|e| format!("bind {kernel}: {e}"))?;
        let _ = tx.send(());
        let (mut c, _) = l.accept().map_err(|e| format!("accept: {e}"))?;
        c.set_read_timeout(Some(Duration::from_secs(30))).map_err(|e| e.to_string())?;
        support::recv_all(&mut c).map_err(|e| format!("kernel read: {e}"))
    });
    rx.recv_timeout(Duration::from_secs(10)).expect("kernel listener up");
    let mut s =
        TcpStream::connect_timeout(stack, &kernel, Duration::from_secs(10)).expect("connect");
    let sent = support::send_pattern(&mut s, TOTAL, 0x89ab_cdef).expect("synack write");
    s.shutdown(Shutdown::Write).expect("shutdown");
    let (n, got) = server.join().expect("server thread").expect("kernel server");
    assert_eq!(n, TOTAL, "synack -> kernel: byte count");
    assert!(got == sent, "synack -> kernel: SHA-256 differs");
}

fn bulk_each_way(opts: TunOptions, tag: &str) {
    if support::skipped(&["ip"]) {
        return;
    }
    let on = std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
        .is_ok_and(|v| v.trim() == "0");
    if !on {
        println!("SKIPPED: io_uring is switched off (kernel.io_uring_disabled)");
        return;
    }
    let (ns, _guard) = support::add_netns(&format!("sdp-ur{tag}-"));
    let dev = support::in_ns(&ns, move || {
        let dev = TunDevice::open_with("sdpur0", 1500, opts).map_err(|e| e.to_string())?;
        let name = dev.name().to_string();
        let e = |e: config::ConfigError| e.to_string();
        config::set_mtu(&name, 1500).map_err(e)?;
        config::add_address(&name, "10.76.0.1".parse().unwrap(), 24).map_err(e)?;
        config::set_up(&name).map_err(e)?;
        Ok(dev)
    })
    .join()
    .expect("tun thread")
    .expect("tun");
    let seen = Arc::new(Mutex::new((TunCounters::default(), false)));
    let watched = Watched { dev, seen: seen.clone() };
    let cfg = StackConfig {
        addresses: vec![IpCidr::new("10.76.0.2".parse().unwrap(), 24).unwrap()],
        ..StackConfig::default()
    };
    let stack = Arc::new(Stack::new(watched, cfg, Clock::start()).expect("stack"));
    kernel_to_synack(&stack, &ns, "10.76.0.2:7101".parse().unwrap());
    synack_to_kernel(&stack, &ns, "10.76.0.1:7102".parse().unwrap());
    let (c, uring) = *seen.lock().unwrap();
    println!("{tag}: {c:?}");
    assert!(uring, "the device did not use io_uring");
    let packets = c.rx_packets + c.tx_packets;
    assert!(packets as usize > 2 * TOTAL / 65_536, "{c:?}");
    // A batch per enter: with plain packets well under one system call per packet even on a
    // busy machine; super-segments come a few at a time, still fewer enters than packets.
    let per_enter = if opts.offload { 1 } else { 2 };
    assert!(
        c.uring_enters * per_enter < packets,
        "{} enters for {packets} packets",
        c.uring_enters
    );
}

#[test]
fn bulk_each_way_through_io_uring_plain_packets() {
    bulk_each_way(TunOptions::PLAIN.with_io_uring(true), "p");
}

#[test]
fn bulk_each_way_through_io_uring_with_offloads() {
    bulk_each_way(TunOptions::default().with_io_uring(true), "o");
}
