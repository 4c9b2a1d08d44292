//! `synack bench`: the stack benchmarks, synack and smoltcp side by side on the in-memory link,
//! one thread (the code is `synack-bench`, shared with `cargo bench -p synack-bench --bench
//! netbench`). Build with `--release`: a debug build measures the compiler, not the stack.

use std::process::ExitCode;

use clap::ValueEnum;
use synack_bench::{Group, Options};

/// Arguments of `synack bench`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Smaller transfers and one run each: finishes in under a minute.
    #[arg(long)]
    quick: bool,
    /// Print one JSON object (one member per benchmark) instead of the table.
    #[arg(long)]
    json: bool,
    /// Run one group only.
    #[arg(long, value_enum)]
    only: Option<GroupArg>,
    /// Run the bulk groups at this MTU only.
    #[arg(long, value_parser = clap::value_parser!(u16).range(576..))]
    mtu: Option<u16>,
    /// Connection cycles for the setup group (default 20,000 with --quick, else 200,000).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000_000))]
    setups: Option<u32>,
    /// The tun group: synack's socket buffers in KiB (default: the stack's, 256).
    #[arg(long, value_parser = clap::value_parser!(u32).range(4..=1_048_576))]
    tun_buffer_kib: Option<u32>,
}

/// `--only` values, the names `synack_bench::Group` uses.
#[derive(Clone, Copy, ValueEnum)]
enum GroupArg {
    /// Bulk transfer, MTU 1500 and 65535, synack and smoltcp, with and without offload.
    Bulk,
    /// synack's bulk transfer alone (for instruction counts).
    BulkSynack,
    /// smoltcp's bulk transfer alone (for instruction counts).
    BulkSmoltcp,
    /// Connection setup, one byte each way and close, per second.
    Setup,
    /// Memory per idle connection, and bulk with 100,000 idle connections.
    Idle,
    /// Memory per idle connection that carried one byte each way (runs alone).
    IdleUsed,
    /// Bulk through the blocking and tokio socket APIs, as a ratio to the engine alone.
    Api,
    /// synack over TUN against the kernel each way, offloads on and off, and the kernel over
    /// veth (root; SKIPPED otherwise).
    Tun,
    /// The tun group's 1 shard against N shards (the number of cores) with N flows only.
    TunShards,
}

impl GroupArg {
    /// The in-memory group, `None` for `tun` (run here, not by `synack-bench`).
    fn memory_group(self) -> Option<Group> {
        match self {
            GroupArg::Bulk => Some(Group::Bulk),
            GroupArg::BulkSynack => Some(Group::BulkSynack),
            GroupArg::BulkSmoltcp => Some(Group::BulkSmoltcp),
            GroupArg::Setup => Some(Group::Setup),
            GroupArg::Idle => Some(Group::Idle),
            GroupArg::IdleUsed => Some(Group::IdleUsed),
            GroupArg::Api => Some(Group::Api),
            GroupArg::Tun | GroupArg::TunShards => None,
        }
    }
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let tun_only = matches!(args.only, Some(GroupArg::Tun | GroupArg::TunShards));
    let opts = Options {
        quick: args.quick,
        only: args.only.and_then(GroupArg::memory_group),
        mtu: args.mtu.map(usize::from),
        setups: args.setups.map(|n| n as usize),
    };
    let mut results =
        if tun_only { Vec::new() } else { synack_bench::run(&opts, crate::ALLOCATOR) };
    if args.only.is_none() || tun_only {
        let (mb, runs) = if args.quick { (256, 1) } else { (1024, 3) };
        let buffer = args.tun_buffer_kib.map(|k| k as usize * 1024);
        let tun = if matches!(args.only, Some(GroupArg::TunShards)) {
            crate::tunbench::run_shards(mb, runs)
        } else {
            crate::tunbench::run(mb, runs, buffer)
        };
        let tun = match tun {
            Ok(v) => v,
            Err(why) => {
                eprintln!("SKIPPED: tun group: {why}");
                serde_json::json!({ "skipped": why })
            }
        };
        results.push(("tun".into(), tun));
    }
    print!("{}", synack_bench::render(&results, opts.quick, args.json));
    Ok(ExitCode::SUCCESS)
}
