//! The `synack` command: one binary, one subcommand per job.
//!
//! Each subcommand lives in `cmd/<name>.rs` with an `Args` struct (clap) and a
//! `run(args) -> anyhow::Result<ExitCode>`; this file only wires them together.

use clap::{Parser, Subcommand};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};
use std::alloc::System;
use std::process::ExitCode;

/// The system allocator with counters (two atomic adds per allocation, small next to the
/// allocation's own bookkeeping): `synack bench` reads them for its memory and
/// allocations-per-connection figures.
#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

mod cmd;
mod forward;
mod logging;
mod server;
mod services;
mod sim;
mod synflood;
mod tunbench;
mod tunhost;

/// synack: a userspace TCP/IP stack and the instruments to watch TCP work.
#[derive(Parser)]
#[command(name = "synack", version, about, propagate_version = true)]
struct Cli {
    /// Which log events to print on stderr: a level (error, warn, info, debug, trace, off) or
    /// target=level directives (`warn,synack_tun=debug`). Default: the SYNACK_LOG or RUST_LOG
    /// environment variable, else warn.
    #[arg(long, global = true, value_name = "FILTER")]
    log: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Watch one TCP connection live its whole life: a ladder diagram on a virtual clock.
    Demo(cmd::demo::Args),
    /// Serve echo, discard, chargen or hello with synack on a TUN device, for the kernel to use.
    Serve(cmd::serve::Args),
    /// A netcat through synack on a TUN device: stdin to the connection, the connection to stdout.
    Connect(cmd::connect::Args),
    /// As root: a network namespace with a TUN device and synack servers behind it, to explore.
    Lab(cmd::lab::Args),
    /// Print a capture as tcpdump lines or tshark fields (`-T fields -e ...`).
    Dump(cmd::dump::Args),
    /// Draw the ladder diagram of TCP connections, with each end's inferred state.
    Flow(cmd::flow::Args),
    /// Graph one TCP stream: time-sequence, throughput, RTT or window (SVG).
    Graph(cmd::graph::Args),
    /// TCP conversations: packets and bytes each way, retransmissions, handshake RTT, ending.
    Stats(cmd::stats::Args),
    /// One self-contained HTML page for a capture: conversations, ladders, graphs, notes.
    Report(cmd::report::Args),
    /// Run packetdrill scripts against the engine on a virtual clock.
    Drill(cmd::drill::Args),
    /// Decode one packet given as hex and print it as tcpdump would.
    Decode(cmd::decode::Args),
    /// Relay every TCP connection and UDP flow arriving on a TUN device, directly or via SOCKS5.
    Forward(cmd::forward::Args),
    /// Benchmarks: synack vs smoltcp on the in-memory link (bulk, setup rate, idle memory),
    /// and synack over TUN against the kernel (root).
    Bench(cmd::bench::Args),
    /// Hold many concurrent echo connections against a synack server; time new ones, watch memory.
    Load(cmd::load::Args),
    /// As root: spoofed SYNs onto a network device, for the SYN-flood benchmark.
    Flood(cmd::flood::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = logging::init(cli.log.as_deref()) {
        eprintln!("synack: error: {e}");
        return ExitCode::from(2);
    }
    let result = match cli.command {
        Command::Demo(args) => cmd::demo::run(args),
        Command::Serve(args) => cmd::serve::run(args),
        Command::Connect(args) => cmd::connect::run(args),
        Command::Lab(args) => cmd::lab::run(args),
        Command::Dump(args) => cmd::dump::run(args),
        Command::Flow(args) => cmd::flow::run(args),
        Command::Graph(args) => cmd::graph::run(args),
        Command::Stats(args) => cmd::stats::run(args),
        Command::Report(args) => cmd::report::run(args),
        Command::Drill(args) => cmd::drill::run(args),
        Command::Decode(args) => cmd::decode::run(args),
        Command::Forward(args) => cmd::forward::run(args),
        Command::Bench(args) => cmd::bench::run(args),
        Command::Load(args) => cmd::load::run(args),
        Command::Flood(args) => cmd::flood::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("synack: error: {err:#}");
            ExitCode::from(1)
        }
    }
}
