//! Bulk data each way between the kernel and synack through a TUN device whose batches go
//! through io_uring (one `io_uring_enter` per batch of reads and writes), without offloads
//! (one plain packet per read and write, so every segment crosses the ring) and with them,
//! inside a network namespace this test creates, SHA-256 compared end to end. Checks that the
//! driver really used io_uring and batched: far fewer `io_uring_enter` calls than packets,
//! and that full batches of plain packets went through the device's writer thread.
//!
//! Prints `SKIPPED: <reason>` and passes when not root, without /dev/net/tun or `ip`, or where
//! the kernel has io_uring switched off (`kernel.io_uring_disabled`).
#![cfg(feature = "tun")]

mod support;

use std::sync::{Arc, Mutex};

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
    support::kernel_to_synack(&stack, &ns, "10.76.0.2:7101".parse().unwrap(), TOTAL);
    support::synack_to_kernel(&stack, &ns, "10.76.0.1:7102".parse().unwrap(), TOTAL);
    let (c, uring) = *seen.lock().unwrap();
    println!("{tag}: {c:?}");
    assert!(uring, "the device did not use io_uring");
    let packets = c.rx_packets + c.tx_packets;
    assert!(packets as usize > 2 * TOTAL / 65_536, "{c:?}");
    // A batch per enter: with plain packets well under one system call per packet even on a
    // busy machine; super-segments come a few at a time, still fewer enters than packets.
    let per_enter = if opts.offload { 1 } else { 2 };
    // Plain packets come 64 to a batch when synack sends: those batches go to the device's
    // writer thread (with offloads a batch is a few super-segments, written by the driver).
    if !opts.offload {
        assert!(c.tx_handed > 0, "no batch went to the writer thread: {c:?}");
    }
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
