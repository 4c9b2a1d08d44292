//! Delivery over a simulated imperfect path: whatever the path does (delay, jitter, loss up to
//! 30%, reordering, duplication, bit flips caught by the checksum, a rate limit with a bounded
//! queue) and wherever the sequence numbers start (near 2^32, so they wrap mid-transfer), the
//! bytes B reads are exactly the bytes A wrote. A failing seed leaves
//! `target/sim-failures/seed-N.pcap` and names it in the panic message.
//!
//! Reproduce one seed: `SIM_SEED=1234 cargo test -p synack-tcp --test sim_delivery one_seed`.

mod sim_common;

use proptest::prelude::*;
use sim_common::{SimConfig, run_transfer};
use synack_netsim::LinkConfig;
use synack_tcp::Duration;

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

fn check(cfg: &SimConfig) -> sim_common::SimOutcome {
    match run_transfer(cfg) {
        Ok(o) => {
            assert_eq!(o.delivered, cfg.bytes);
            o
        }
        Err(msg) => panic!("{msg}"),
    }
}

#[test]
fn clean_path_delivers() {
    let link = LinkConfig { delay: ms(10), ..LinkConfig::ideal() };
    let o = check(&SimConfig::new(1, link, 200_000));
    assert_eq!(o.sender.retransmits, 0, "nothing to repair on a clean path");
}

#[test]
fn sequence_numbers_wrap() {
    let link = LinkConfig { delay: ms(5), loss: 0.02, ..LinkConfig::ideal() };
    let mut cfg = SimConfig::new(2, link, 100_000);
    cfg.isn_a = Some(u32::MAX - 30_000);
    cfg.isn_b = Some(u32::MAX);
    let o = check(&cfg);
    // A's sequence space crossed 2^32 during the transfer: everything through the FIN was sent
    // and SND.NXT is now just past zero.
    assert_eq!(o.sender.snd_nxt.0, (u32::MAX - 30_000).wrapping_add(100_000 + 2));
}

#[test]
fn corruption_is_dropped_by_checksum() {
    let link = LinkConfig { delay: ms(5), corrupt: 0.05, ..LinkConfig::ideal() };
    let o = check(&SimConfig::new(3, link, 100_000));
    assert!(o.forward.corrupted + o.reverse.corrupted > 0);
    assert!(o.corrupt_dropped > 0, "bit flips must be caught before the engine sees them");
}

#[test]
fn heavy_loss_thirty_percent() {
    let link = LinkConfig { delay: ms(10), loss: 0.3, ..LinkConfig::ideal() };
    check(&SimConfig::new(4, link, 30_000));
}

#[test]
fn rate_limited_with_small_queue() {
    let link = LinkConfig {
        delay: ms(10),
        rate_bps: 10_000_000,
        queue_limit_packets: 20,
        ..LinkConfig::ideal()
    };
    let o = check(&SimConfig::new(5, link, 500_000));
    // Bottleneck 10 Mbit/s: goodput cannot beat it.
    assert!(o.goodput_bps() <= 10_000_000.0, "{}", o.goodput_bps());
}

/// Runs the seed in `SIM_SEED` over the property test's path mix (default seed 0).
#[test]
fn one_seed() {
    let seed = std::env::var("SIM_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    check(&mixed_config(seed));
}

/// The path and settings the property test derives from a seed.
fn mixed_config(seed: u64) -> SimConfig {
    let r =
        |k: u64| (seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(k as u32 * 7) >> 40) % 1000;
    let link = LinkConfig {
        delay: ms(1 + r(1) % 40),
        jitter: ms(r(2) % 10),
        loss: (r(3) % 301) as f64 / 1000.0,
        reorder: (r(4) % 100) as f64 / 1000.0,
        reorder_delay: ms(1 + r(5) % 20),
        duplicate: (r(6) % 50) as f64 / 1000.0,
        corrupt: (r(7) % 30) as f64 / 1000.0,
        rate_bps: if r(8) % 2 == 0 { 0 } else { 2_000_000 + r(9) * 20_000 },
        queue_limit_packets: 10 + (r(10) % 100) as usize,
        ..LinkConfig::ideal()
    };
    let mut cfg = SimConfig::new(seed, link, 20_000 + (r(11) as usize) * 40);
    // ISNs within a transfer's length below 2^32, so both directions wrap.
    cfg.isn_a = Some(u32::MAX - (r(12) as u32) * 30);
    cfg.isn_b = Some(u32::MAX - (r(13) as u32));
    cfg.conn.sack = r(14) % 2 == 0;
    cfg.conn.timestamps = r(15) % 3 != 0;
    cfg.conn.nodelay = r(16) % 2 == 0;
    cfg
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Bytes delivered == bytes sent, exactly, for every seed.
    #[test]
    fn delivered_equals_sent(seed in any::<u64>()) {
        let cfg = mixed_config(seed);
        match run_transfer(&cfg) {
            Ok(o) => prop_assert_eq!(o.delivered, cfg.bytes),
            Err(msg) => prop_assert!(false, "{} (config {:?})", msg, cfg),
        }
    }
}

/// A run that fails (here: a time limit too short to finish) writes a pcap that names its seed
/// and holds the frames sent, readable as LINKTYPE_RAW IPv4.
#[test]
fn failing_run_writes_pcap() {
    let link = LinkConfig { delay: ms(10), ..LinkConfig::ideal() };
    let mut cfg = SimConfig::new(0xfa11, link, 100_000);
    cfg.time_limit = ms(15);
    let err = run_transfer(&cfg).expect_err("cannot finish in 15 ms");
    assert!(err.contains("time limit"), "{err}");
    let path = sim_common::target_dir().join("sim-failures").join(format!("seed-{}.pcap", 0xfa11));
    assert!(err.contains(&path.display().to_string()), "{err}");
    let bytes = std::fs::read(&path).expect("pcap written");
    assert_eq!(&bytes[..4], &0xa1b2_c3d4u32.to_le_bytes());
    assert_eq!(u32::from_le_bytes(bytes[20..24].try_into().unwrap()), 101, "LINKTYPE_RAW");
    // The first record is A's SYN: an IPv4 header (0x45) with protocol 6.
    let first = &bytes[24 + 16..];
    assert_eq!(first[0], 0x45);
    assert_eq!(first[9], 6);
    std::fs::remove_file(&path).unwrap();
}

/// Three segments lost in one window (scripted, on a clean 20 ms path): with SACK the sender
/// repairs all three holes in about one round trip, without a retransmission timeout and
/// retransmitting only what was lost (RFC 6675).
#[test]
fn sack_repairs_several_holes_in_one_window_without_rto() {
    let link = LinkConfig { delay: ms(10), ..LinkConfig::ideal() };
    let mut cfg = SimConfig::new(6, link, 400_000);
    // Segments 60, 64 and 69 go out in the same flight once slow start has opened the window.
    cfg.drop_data_segments = vec![60, 64, 69];
    let o = check(&cfg);
    assert_eq!(o.scripted_drops, 3);
    assert!(o.sender.sack);
    assert_eq!(o.sender.timeouts, 0, "{:?}", o.sender);
    assert_eq!(o.sender.retransmits, 3, "only the holes are resent: {:?}", o.sender);
}

/// The same losses without SACK: NewReno (RFC 6582) repairs one hole per round trip through
/// partial ACKs, still without a timeout.
#[test]
fn newreno_partial_acks_repair_holes_without_sack() {
    let link = LinkConfig { delay: ms(10), ..LinkConfig::ideal() };
    let mut cfg = SimConfig::new(7, link, 400_000);
    cfg.conn.sack = false;
    cfg.drop_data_segments = vec![60, 64, 69];
    let o = check(&cfg);
    assert!(!o.sender.sack);
    assert_eq!(o.sender.timeouts, 0, "{:?}", o.sender);
    assert!(o.sender.retransmits >= 3, "{:?}", o.sender);
}

/// The harness itself is bounded: a frame budget too small for the transfer ends the run with
/// a "runaway" failure instead of running on.
#[test]
fn frame_budget_ends_a_runaway_run() {
    let link = LinkConfig { delay: ms(1), ..LinkConfig::ideal() };
    let mut cfg = SimConfig::new(0xb0d9e7, link, 1_000_000);
    cfg.max_frames = 50;
    cfg.capture = false;
    let err = run_transfer(&cfg).expect_err("50 frames cannot carry 1 MB");
    assert!(err.contains("runaway"), "{err}");
}

/// Issue 3's stall: the application closes (full CLOSE) as soon as the send buffer took the
/// last byte, so the connection is orphaned with most of the data still unsent, and it never
/// polls its events. RFC 9293 3.10.4: the FIN is queued after the pending sends, so everything
/// must still arrive, followed by the FIN (the receiver sees EOF).
#[test]
fn close_with_unsent_data_still_delivers_everything() {
    for (seed, loss) in [(7, 0.01), (7, 0.02), (8, 0.02), (9, 0.015)] {
        let link = LinkConfig { delay: ms(10), loss, ..LinkConfig::ideal() };
        let mut cfg = SimConfig::new(seed, link, 300_000);
        // The default connection settings (finite R2), as the stack uses them.
        cfg.conn = synack_tcp::ConnConfig::default();
        cfg.close_when_written = true;
        cfg.ignore_sender_events = true;
        let o = check(&cfg);
        assert_eq!(o.delivered, 300_000);
    }
}
