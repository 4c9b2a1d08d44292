//! BBR against CUBIC on the simulated path (virtual clock, seeded): the same transfer over
//! the same bottleneck, once per controller.

mod sim_common;

use sim_common::{SimConfig, SimOutcome, run_transfer};
use synack_netsim::LinkConfig;
use synack_tcp::{CongestionControl, Duration};

/// Bottleneck: 50 Mbit/s, 40 ms round trip: a BDP of 250,000 bytes (about 172 segments).
const RATE_BPS: u64 = 50_000_000;
const RTT_MS: u64 = 40;
/// Bytes per run: 4 MiB; 8 MiB for BBR under loss, long enough for several ProbeBW cycles
/// (CUBIC's rate under loss settles within its first megabytes).
const BYTES: usize = 4 << 20;
const BBR_LOSS_BYTES: usize = 8 << 20;

fn path(loss: f64, queue_packets: usize) -> (LinkConfig, LinkConfig) {
    let fwd = LinkConfig {
        delay: Duration::from_micros(RTT_MS * 500),
        loss,
        rate_bps: RATE_BPS,
        queue_limit_packets: queue_packets,
        ..LinkConfig::ideal()
    };
    let rev = LinkConfig { delay: Duration::from_micros(RTT_MS * 500), ..LinkConfig::ideal() };
    (fwd, rev)
}

fn run(cc: CongestionControl, loss: f64, queue_packets: usize, seed: u64) -> SimOutcome {
    let bytes = if loss > 0.0 && cc == CongestionControl::Bbr { BBR_LOSS_BYTES } else { BYTES };
    let (fwd, rev) = path(loss, queue_packets);
    let mut cfg = SimConfig::new(seed, fwd, bytes);
    cfg.reverse = rev;
    cfg.capture = false;
    cfg.conn.congestion_control = cc;
    cfg.conn.send_buffer = 4 << 20;
    cfg.conn.recv_buffer = 4 << 20;
    run_transfer(&cfg).unwrap_or_else(|e| panic!("{cc:?} loss {loss}: {e}"))
}

fn mbps(o: &SimOutcome) -> f64 {
    o.goodput_bps() / 1e6
}

fn report(what: &str, o: &SimOutcome) {
    println!(
        "{what}: {:.2} Mbit/s, srtt {:?}, retransmits {}, queue drops {}, random losses {}, timeouts {}, cwnd {:?}, rate {:?}",
        mbps(o),
        o.sender.srtt,
        o.sender.retransmits,
        o.forward.queue_drops,
        o.forward.lost,
        o.sender.timeouts,
        o.sender.cwnd,
        o.sender.pacing_rate,
    );
}

/// With a deep queue (two BDPs), CUBIC fills it before it backs off, so its round trip
/// carries a standing queue; BBR keeps about one BDP in flight: nearly the same goodput
/// with a round trip near the path's 40 ms and no queue overflow after Startup.
#[test]
fn bbr_fills_the_bottleneck_without_a_standing_queue() {
    let bbr = run(CongestionControl::Bbr, 0.0, 344, 0xbb1);
    let cubic = run(CongestionControl::Cubic, 0.0, 344, 0xbb1);
    report("bbr", &bbr);
    report("cubic", &cubic);
    assert!(mbps(&bbr) > 0.8 * 50.0 * 1448.0 / 1500.0, "BBR utilisation {:.2}", mbps(&bbr));
    let (b, c) = (bbr.sender.srtt.unwrap(), cubic.sender.srtt.unwrap());
    assert!(b < Duration::from_millis(60), "BBR srtt {b:?}");
    assert!(b < c, "BBR srtt {b:?} not below CUBIC's {c:?}");
}

/// At 1% and 2% random loss CUBIC's window collapses (about 3 Mbit/s at 1%, Mathis's
/// model); BBR treats loss up to 2% of a flight as noise and keeps most of the link.
#[test]
fn bbr_keeps_the_bandwidth_under_random_loss() {
    for loss in [0.01, 0.02] {
        let bbr = run(CongestionControl::Bbr, loss, 172, 0xbb2);
        let cubic = run(CongestionControl::Cubic, loss, 172, 0xbb2);
        report(&format!("bbr {loss}"), &bbr);
        report(&format!("cubic {loss}"), &cubic);
        assert!(mbps(&bbr) > 3.0 * mbps(&cubic), "loss {loss}: {} vs {}", mbps(&bbr), mbps(&cubic));
        assert!(mbps(&bbr) > 25.0, "loss {loss}: BBR {:.2} Mbit/s", mbps(&bbr));
    }
}
