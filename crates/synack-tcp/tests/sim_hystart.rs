//! HyStart++ (RFC 9406) on the simulated path: the throughput table's loss-free 256 KiB /
//! 10 ms cell, where plain slow start overfills the 41-packet bottleneck queue.

mod sim_common;

use sim_common::{SimConfig, SimOutcome, run_transfer};
use synack_netsim::LinkConfig;
use synack_tcp::Duration;

/// 1 MiB over 50 Mbit/s, 10 ms RTT, a 41-packet drop-tail queue (one bandwidth-delay
/// product), no random loss, 256 KiB buffers, SACK on; HyStart++ on or off.
fn run(hystart: bool) -> SimOutcome {
    let fwd = LinkConfig {
        delay: Duration::from_micros(5_000),
        rate_bps: 50_000_000,
        queue_limit_packets: 41,
        ..LinkConfig::ideal()
    };
    let mut cfg = SimConfig::new(0x7ab1e, fwd, 1 << 20);
    cfg.reverse = LinkConfig { delay: Duration::from_micros(5_000), ..LinkConfig::ideal() };
    cfg.capture = false;
    cfg.conn.send_buffer = 256 * 1024;
    cfg.conn.recv_buffer = 256 * 1024;
    cfg.conn.hystart = hystart;
    run_transfer(&cfg).unwrap_or_else(|e| panic!("hystart {hystart}: {e}"))
}

#[test]
fn hystart_ends_slow_start_before_a_timeout_on_a_short_queue() {
    let on = run(true);
    let off = run(false);
    println!(
        "hystart on: {:.2} Mbit/s, {} queue drops, {} RTOs; off: {:.2} Mbit/s, {} drops, {} RTOs",
        on.goodput_bps() / 1e6,
        on.forward.queue_drops,
        on.sender.timeouts,
        off.goodput_bps() / 1e6,
        off.forward.queue_drops,
        off.sender.timeouts,
    );
    assert_eq!(on.delivered, 1 << 20);
    // Plain slow start doubles into the queue; the last segment is dropped just after the
    // recovery and only the tail loss probe at the RTO's deadline repairs it.
    assert!(off.forward.queue_drops > 100, "{:?}", off.forward);
    // HyStart++ leaves slow start once the round's minimum RTT has risen by 4 ms; CSS still
    // overfills the queue on this path, but by less, and recovery repairs it without an RTO.
    assert_eq!(on.sender.timeouts, 0, "{:?}", on.sender);
    assert!(on.forward.queue_drops < off.forward.queue_drops);
    assert!(on.goodput_bps() > 1.5 * off.goodput_bps());
    // It ended in congestion avoidance with a finite ssthresh set by the loss in CSS.
    assert!(on.sender.ssthresh.is_some_and(|s| s < 1 << 30));
}
