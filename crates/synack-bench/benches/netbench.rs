//! The stack benchmarks as a bench binary (the same code as `synack bench`, in `synack-bench`):
//!
//! ```text
//! cargo bench -p synack-bench --bench netbench -- [--quick] [--json] [--only GROUP] [--mtu N] [--setups N]
//! ```

use std::alloc::System;
use std::process::ExitCode;

use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

/// Instrumented so the memory figures can count what the engine allocates.
#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn main() -> ExitCode {
    match synack_bench::Options::parse(std::env::args().skip(1)) {
        Ok((opts, json)) => {
            let results = synack_bench::run(&opts, GLOBAL);
            print!("{}", synack_bench::render(&results, opts.quick, json));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("netbench: {e}");
            ExitCode::from(2)
        }
    }
}
