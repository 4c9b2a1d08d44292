//! `synack lab`: one command for people learning TCP. As root, it creates a network namespace
//! with a TUN device, runs synack's echo, discard, chargen and hello servers behind it, tells
//! the user what to type from the kernel's side, captures everything to a pcap file, and
//! removes the namespace when it stops (Ctrl-C, SIGTERM or `--for`).

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use super::serve::{LimitArgs, TRIM_PERIOD, default_port, runtime};
use crate::server::{self, Counters};
use crate::services::Kind;
use crate::tunhost::{self, Cidr, TunArgs};

/// Arguments of `synack lab`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Name of the network namespace (default: synack-lab-<pid>).
    #[arg(long, value_name = "NAME")]
    netns: Option<String>,
    /// Where to write the capture of everything synack sends and receives.
    #[arg(long, value_name = "FILE", default_value = "synack-lab.pcap")]
    pcap: PathBuf,
    /// Stop by itself after this many seconds (default: run until Ctrl-C).
    #[arg(long = "for", value_name = "SECS")]
    duration: Option<u64>,
    #[command(flatten)]
    limits: LimitArgs,
}

/// Deletes the namespace when dropped, however the lab ends.
struct NetnsGuard(String);

impl Drop for NetnsGuard {
    fn drop(&mut self) {
        match Command::new("ip").args(["netns", "del", &self.0]).status() {
            Ok(s) if s.success() => println!("removed network namespace {}", self.0),
            _ => eprintln!("synack: could not remove network namespace {}", self.0),
        }
    }
}

const LAB_NET: &str = "10.77.0";

/// Runs `synack lab`.
pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let ns = args.netns.clone().unwrap_or_else(|| format!("synack-lab-{}", std::process::id()));
    let stop = tunhost::stop_watch()?;
    let st = Command::new("ip")
        .args(["netns", "add", &ns])
        .status()
        .context("running `ip` (is iproute2 installed?)")?;
    if !st.success() {
        anyhow::bail!(
            "could not create network namespace {ns} (synack lab needs root; does it exist already?)"
        );
    }
    let _guard = NetnsGuard(ns.clone());
    let _ =
        Command::new("ip").args(["netns", "exec", &ns, "ip", "link", "set", "lo", "up"]).status();
    let parse = |s: &str| s.parse::<Cidr>().map_err(|e| anyhow::anyhow!(e));
    let tun = TunArgs {
        tun: "synack0".into(),
        addr: parse(&format!("{LAB_NET}.2/24"))?,
        kernel_addr: parse(&format!("{LAB_NET}.1/24"))?,
        mtu: 1500,
        pcap: Some(args.pcap.clone()),
        // The lab shows TCP as a wire carries it: every segment and checksum synack's own.
        no_offload: true,
        no_io_uring: false,
    };
    let stack = tunhost::start_in(&tun, Some(&ns))?;
    if !args.limits.quiet() {
        tunhost::print_events(&stack);
    }
    let ip = tun.addr.0.addr();
    let policy = args.limits.policy(false);
    let rt = runtime()?;
    let mut loops = Vec::new();
    let counters = Arc::new(Counters::default());
    let trim = rt.spawn(server::trim_after_peaks(TRIM_PERIOD, vec![stack.clone()]));
    for kind in [Kind::Echo, Kind::Discard, Kind::Chargen, Kind::Hello] {
        let addr = SocketAddr::new(ip, default_port(kind));
        let l = rt
            .block_on(async { server::listen(&stack, addr, &policy) })
            .with_context(|| format!("listening on {addr}"))?;
        let (rx, counters) = (stop.subscribe(), counters.clone());
        loops.push(rt.spawn(async move {
            if let Err(e) = server::accept_loop(l, kind, policy, rx, None, counters).await {
                eprintln!("synack: {kind}: {e:#}");
            }
        }));
    }
    let x = format!("sudo ip netns exec {ns}");
    println!(
        "synack lab is running.\n\
         \n\
         The Linux kernel lives in network namespace {ns}, address {LAB_NET}.1 on TUN device\n\
         synack0; synack is {ip} behind it, serving\n\
         \x20 echo on port 7 (the notes' EchoServer: a greeting, `Echo: <line>`, `bye` ends it),\n\
         \x20 discard on 9, chargen on 19, and hello on 2333 (writes \"hello client\" and closes).\n\
         \n\
         In another terminal, talk to synack from the kernel's side:\n\
         \x20 {x} nc {ip} 7\n\
         \x20 {x} telnet {ip} 7\n\
         \x20 {x} curl -sv telnet://{ip}:2333\n\
         \x20 {x} sh -c 'head -c 10M /dev/zero | nc -N {ip} 9'\n\
         and watch the packets while you do:\n\
         \x20 {x} tcpdump -ni synack0 tcp\n\
         \n\
         Everything synack sends and receives goes to {} (open it with `synack dump`,\n\
         `synack flow` or Wireshark). Ctrl-C stops the lab and removes the namespace.",
        args.pcap.display()
    );
    let _ = std::io::stdout().flush();
    rt.block_on(async {
        let mut rx = stop.subscribe();
        let limit = async {
            match args.duration {
                Some(d) => tokio::time::sleep(Duration::from_secs(d)).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = rx.wait_for(|s| *s) => {}
            () = limit => {}
        }
        println!("stopping");
        stop.send_replace(true);
        for l in loops {
            let _ = l.await;
        }
        trim.abort();
    });
    drop(rt);
    tunhost::finish(stack);
    println!("capture written to {}", args.pcap.display());
    Ok(ExitCode::SUCCESS)
}
