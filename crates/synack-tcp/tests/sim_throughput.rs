//! Goodput on the simulated path: a table over receive/send buffer sizes x loss rates x RTTs,
//! with SACK on and off, checked as a snapshot against `docs/THROUGHPUT.md` (like smoltcp's
//! netsim table), and the 100 MB / 1% loss / 50 ms RTT run against an ideal-CUBIC reference.
//!
//! Regenerate the table after an intended change:
//! `SYNACK_UPDATE_THROUGHPUT=1 cargo test -p synack-tcp --test sim_throughput throughput_table`
//!
//! The 100 MB run (minutes in debug; use release):
//! `cargo test --release -p synack-tcp --test sim_throughput -- --ignored --nocapture`

mod sim_common;

use sim_common::{SimConfig, SimOutcome, run_transfer};
use synack_netsim::LinkConfig;
use synack_tcp::Duration;

/// Bottleneck rate of the table's path.
const RATE_BPS: u64 = 50_000_000;
/// Bytes moved per table cell.
const CELL_BYTES: usize = 1 << 20;

const BUFFERS: [usize; 2] = [64 * 1024, 256 * 1024];
const RTTS_MS: [u64; 2] = [10, 50];
const LOSSES: [f64; 5] = [0.0, 0.005, 0.01, 0.02, 0.05];

const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/THROUGHPUT.md");
const BEGIN: &str = "<!-- throughput-table:begin -->";
const END: &str = "<!-- throughput-table:end -->";

/// The path of one cell: `rtt` split evenly, `loss` on data (A -> B) only, a 50 Mbit/s
/// bottleneck with a queue of one bandwidth-delay product (at least 16 packets).
fn path(rtt_ms: u64, loss: f64) -> (LinkConfig, LinkConfig) {
    let bdp_pkts = (RATE_BPS as usize / 8 * rtt_ms as usize / 1000 / 1500).max(16);
    let fwd = LinkConfig {
        delay: Duration::from_micros(rtt_ms * 500),
        loss,
        rate_bps: RATE_BPS,
        queue_limit_packets: bdp_pkts,
        ..LinkConfig::ideal()
    };
    let rev = LinkConfig { delay: Duration::from_micros(rtt_ms * 500), ..LinkConfig::ideal() };
    (fwd, rev)
}

/// Seeds averaged per cell: one seed's handful of losses makes a cell a lottery, and so did
/// three (a 1 MiB run at 0.5% loss sees about four losses; where SACK and NewReno repair a
/// single hole per window the same way, three seeds decided cells by which seeds happened to
/// put two losses in one window). Ten seeds per cell keep the table's runtime modest.
const SEEDS: [u64; 10] =
    [0x7ab1e, 0x7ab1f, 0x7ab20, 0x7ab21, 0x7ab22, 0x7ab23, 0x7ab24, 0x7ab25, 0x7ab26, 0x7ab27];

/// Mean goodput (Mbit/s) and total retransmissions over [`SEEDS`].
fn cell(buffer: usize, rtt_ms: u64, loss: f64, sack: bool) -> (f64, u64) {
    let (fwd, rev) = path(rtt_ms, loss);
    let mut mbps = 0.0;
    let mut retransmits = 0;
    for seed in SEEDS {
        let mut cfg = SimConfig::new(seed, fwd, CELL_BYTES);
        cfg.reverse = rev;
        cfg.capture = false;
        cfg.conn.send_buffer = buffer;
        cfg.conn.recv_buffer = buffer;
        cfg.conn.sack = sack;
        let o: SimOutcome =
            run_transfer(&cfg).unwrap_or_else(|e| panic!("cell {buffer} {rtt_ms}ms {loss}: {e}"));
        mbps += o.goodput_bps() / 1e6;
        retransmits += o.sender.retransmits;
    }
    (mbps / SEEDS.len() as f64, retransmits)
}

type Row = (usize, u64, f64, (f64, u64), (f64, u64));

/// Every cell: (buffer, RTT, loss, SACK on, SACK off), computed once per test binary (the
/// table and the SACK-versus-NewReno check read the same runs).
fn cells() -> Vec<Row> {
    static CELLS: std::sync::OnceLock<Vec<Row>> = std::sync::OnceLock::new();
    CELLS.get_or_init(compute_cells).clone()
}

fn compute_cells() -> Vec<Row> {
    let mut out = Vec::new();
    for &buffer in &BUFFERS {
        for &rtt in &RTTS_MS {
            for &loss in &LOSSES {
                let on = cell(buffer, rtt, loss, true);
                let off = cell(buffer, rtt, loss, false);
                out.push((buffer, rtt, loss, on, off));
            }
        }
    }
    out
}

/// The table as Markdown.
fn table() -> String {
    let mut s = String::new();
    s.push_str(
        "| buffer | RTT | loss | SACK on Mbit/s | SACK off Mbit/s | retransmits on / off |\n",
    );
    s.push_str("|---:|---:|---:|---:|---:|---:|\n");
    for (buffer, rtt, loss, on, off) in cells() {
        s.push_str(&format!(
            "| {} KiB | {} ms | {:.1}% | {:.2} | {:.2} | {} / {} |\n",
            buffer / 1024,
            rtt,
            loss * 100.0,
            on.0,
            off.0,
            on.1,
            off.1,
        ));
    }
    s
}

/// The requirement: with loss, SACK-based recovery beats NewReno alone in every cell.
#[test]
fn sack_beats_newreno_at_every_loss_rate() {
    let mut worse = Vec::new();
    for (buffer, rtt, loss, on, off) in cells() {
        if loss > 0.0 && on.0 <= off.0 {
            worse.push(format!(
                "{} KiB {} ms {:.1}%: {:.2} <= {:.2}",
                buffer / 1024,
                rtt,
                loss * 100.0,
                on.0,
                off.0
            ));
        }
    }
    assert!(worse.is_empty(), "SACK on not faster: {worse:#?}");
}

#[test]
fn throughput_table() {
    let got = table();
    let doc = std::fs::read_to_string(DOC).unwrap_or_default();
    let current = match (doc.find(BEGIN), doc.find(END)) {
        (Some(b), Some(e)) if b < e => Some(doc[b + BEGIN.len()..e].trim().to_string()),
        _ => None,
    };
    if std::env::var_os("SYNACK_UPDATE_THROUGHPUT").is_some() {
        let (b, e) = (doc.find(BEGIN).expect("begin marker"), doc.find(END).expect("end marker"));
        let updated = format!("{}{}\n{}\n{}", &doc[..b], BEGIN, got.trim(), &doc[e..]);
        std::fs::write(DOC, updated).expect("write docs/THROUGHPUT.md");
        return;
    }
    let Some(current) = current else {
        panic!("docs/THROUGHPUT.md has no table between {BEGIN} and {END}");
    };
    assert_eq!(
        current,
        got.trim(),
        "goodput table changed; if intended, regenerate with \
         SYNACK_UPDATE_THROUGHPUT=1 cargo test -p synack-tcp --test sim_throughput throughput_table"
    );
}

/// Ideal CUBIC goodput (bit/s) for loss rate `p`, `rtt` seconds and `mss` bytes: the larger
/// of CUBIC's response function (RFC 9438 section 5.2, average window
/// `(C (3 + beta) / (4 (1 - beta)))^(1/4) * (RTT / p)^(3/4)` segments, C = 0.4, beta = 0.7)
/// and its Reno-friendly region (equal to Reno's `sqrt(3 / (2 p))` segments per RTT, Mathis
/// et al. 1997), capped by the link rate.
fn ideal_cubic_bps(p: f64, rtt: f64, mss: f64, link_bps: f64) -> f64 {
    let (c, beta) = (0.4f64, 0.7f64);
    let w_cubic = (c * (3.0 + beta) / (4.0 * (1.0 - beta))).powf(0.25) * (rtt / p).powf(0.75);
    let w_reno = (3.0 / (2.0 * p)).sqrt();
    let w = w_cubic.max(w_reno);
    (w * mss * 8.0 / rtt).min(link_bps)
}

#[test]
fn ideal_cubic_reference_numbers() {
    // 1% loss, 50 ms: W_cubic = 1.054 * (5)^0.75 = 3.52 segments, W_reno = 12.25 segments:
    // Reno-friendly region; 12.25 * 1448 * 8 / 0.05 = 2.84 Mbit/s.
    let r = ideal_cubic_bps(0.01, 0.05, 1448.0, 1e9);
    assert!((r - 2.837e6).abs() < 0.01e6, "{r}");
    // 0.01% loss, 200 ms: the cubic term dominates: 1.0538 * 2000^0.75 = 315.2 segments
    // (Reno would have 122.5), 315.2 * 1448 * 8 / 0.2 = 18.26 Mbit/s.
    let r = ideal_cubic_bps(0.0001, 0.2, 1448.0, 1e12);
    assert!((r - 18.26e6).abs() < 0.05e6, "{r}");
    // The link caps it.
    assert_eq!(ideal_cubic_bps(0.0001, 0.2, 1448.0, 5e6), 5e6);
}

/// The acceptance run: 100 MB over 1% loss and 50 ms RTT reaches at least 80% of the
/// ideal CUBIC goodput above (link 100 Mbit/s, so the link is not the limit).
#[test]
#[ignore = "100 MB: run with --release -- --ignored (see module docs)"]
fn hundred_mb_one_percent_fifty_ms() {
    let rtt_ms = 50;
    let link_bps = 100_000_000u64;
    let fwd = LinkConfig {
        delay: Duration::from_micros(rtt_ms * 500),
        loss: 0.01,
        rate_bps: link_bps,
        queue_limit_packets: (link_bps as usize / 8 * rtt_ms as usize / 1000 / 1500),
        ..LinkConfig::ideal()
    };
    let rev = LinkConfig { delay: Duration::from_micros(rtt_ms * 500), ..LinkConfig::ideal() };
    let mut cfg = SimConfig::new(100, fwd, 100_000_000);
    cfg.reverse = rev;
    cfg.capture = false;
    cfg.conn.send_buffer = 4 << 20;
    cfg.conn.recv_buffer = 4 << 20;
    cfg.time_limit = Duration::from_secs(20_000);
    let o = run_transfer(&cfg).unwrap_or_else(|e| panic!("{e}"));
    let mss = f64::from(o.sender.snd_mss);
    let ideal = ideal_cubic_bps(0.01, rtt_ms as f64 / 1000.0, mss, link_bps as f64);
    let got = o.goodput_bps();
    println!(
        "100 MB, 1% loss, 50 ms: {:.3} Mbit/s in {:.1} s virtual; ideal CUBIC {:.3} Mbit/s; \
         ratio {:.2}; retransmits {}; cwnd {:?}",
        got / 1e6,
        o.data_elapsed.as_secs_f64(),
        ideal / 1e6,
        got / ideal,
        o.sender.retransmits,
        o.sender.cwnd,
    );
    assert!(got >= 0.8 * ideal, "goodput {got:.0} below 80% of ideal {ideal:.0}");
}
