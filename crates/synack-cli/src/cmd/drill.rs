//! `synack drill [--profile P] [--strict|--relaxed] [--json|--summary] [--no-leftovers] PATH...`: run packetdrill scripts
//! against the synack engine on a virtual clock.
//!
//! Prints one line per script (`PASS`, `FAIL` with the expected line, the actual segment and the
//! time, or `SKIP` with the reason), then `N passed, M failed, K skipped`. Exits non-zero when
//! any script failed.

use anyhow::Context;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use synack_drill::engine::EngineFactory;
use synack_drill::matcher::MatchMode;
use synack_drill::profile::Profile;
use synack_drill::suite::{Tally, collect_scripts, run_file};
use synack_drill::{RunOptions, Summary};

/// Arguments of `synack drill`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Stack profile: linux, linux-delack (linux without quick-ACK), freebsd or rfc.
    /// Default: freebsd for paths containing "freebsd", linux otherwise.
    #[arg(long)]
    profile: Option<String>,
    /// packetdrill's own matching rules (the default).
    #[arg(long, conflicts_with = "relaxed")]
    strict: bool,
    /// Ignore TCP option order and NOP/EOL padding (values are still checked).
    #[arg(long)]
    relaxed: bool,
    /// Also fail a script when segments the stack sent are left unmatched at its end
    /// (packetdrill never checks this).
    #[arg(long)]
    no_leftovers: bool,
    /// One JSON object per script, then a summary object.
    #[arg(long)]
    json: bool,
    /// Instead of a line per script, count failures and skips by cause (most common first,
    /// each with one script that has it), then the summary line.
    #[arg(long, conflicts_with = "json")]
    summary: bool,
    /// Override a script option, as packetdrill's command line does (e.g. `-o tolerance_usecs=10000`).
    #[arg(short = 'o', long = "option", value_name = "NAME[=VALUE]")]
    options: Vec<String>,
    /// Define a symbol, as packetdrill's `-D NAME=VALUE` (e.g. `-D TFO_COOKIE=...`).
    #[arg(short = 'D', long = "define", value_name = "NAME=VALUE")]
    defines: Vec<String>,
    /// Script files or directories (searched for *.pkt).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let fixed = match &args.profile {
        Some(name) => Some(Profile::by_name(name).with_context(|| {
            format!("unknown profile {name:?} (linux, linux-delack, freebsd, rfc)")
        })?),
        None => None,
    };
    let mode = if args.relaxed && !args.strict { MatchMode::Relaxed } else { MatchMode::Strict };
    let overrides: Vec<(String, Option<String>)> = args
        .options
        .iter()
        .map(|o| match o.split_once('=') {
            Some((n, v)) => (n.trim_start_matches('-').to_string(), Some(v.to_string())),
            None => (o.trim_start_matches('-').to_string(), None),
        })
        .collect();
    let mut defines = std::collections::HashMap::new();
    for d in &args.defines {
        let (n, v) = d.split_once('=').with_context(|| format!("-D {d}: expected NAME=VALUE"))?;
        defines.insert(n.to_string(), v.to_string());
    }
    let files = collect_scripts(&args.paths).map_err(anyhow::Error::msg)?;
    let mut summary = Summary::default();
    let mut tally = Tally::default();
    // A reader that goes away (`| head`) ends the run quietly instead of a panic in println!.
    let mut stdout = std::io::stdout().lock();
    let mut emit = |text: &str| -> std::io::Result<()> { writeln!(stdout, "{text}") };
    for f in &files {
        let name = f.display().to_string();
        let profile = fixed.clone().unwrap_or_else(|| Profile::for_path(&name));
        let mut opts = RunOptions::new(profile, mode);
        opts.overrides = overrides.clone();
        opts.defines = defines.clone();
        opts.no_leftovers = args.no_leftovers;
        let out = run_file(f, &name, &opts, &EngineFactory);
        summary.add(&out.verdict);
        let line = if args.summary {
            tally.add(&out);
            None
        } else if args.json {
            Some(serde_json::to_string(&out)?)
        } else {
            Some(out.to_string())
        };
        if let Some(l) = line
            && let Err(e) = emit(&l)
        {
            return quiet_on_broken_pipe(e);
        }
    }
    let mut tail = Vec::new();
    if args.json {
        tail.push(serde_json::json!({ "summary": summary }).to_string());
    }
    tail.push(if args.summary { tally.to_string() } else { summary.to_string() });
    for l in tail {
        if let Err(e) = emit(&l) {
            return quiet_on_broken_pipe(e);
        }
    }
    Ok(if summary.failed > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// A closed pipe ends the output without an error; anything else is one.
fn quiet_on_broken_pipe(e: std::io::Error) -> anyhow::Result<ExitCode> {
    if e.kind() == std::io::ErrorKind::BrokenPipe { Ok(ExitCode::SUCCESS) } else { Err(e.into()) }
}
