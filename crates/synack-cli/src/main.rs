//! The `synack` command.

use clap::{Parser, Subcommand};

/// synack: a userspace TCP/IP stack and the instruments to watch TCP work.
#[derive(Parser)]
#[command(name = "synack", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decode hex bytes of an IPv4/IPv6 packet and print it as tcpdump would.
    Decode {
        /// The packet as hex (spaces and colons allowed).
        hex: String,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Decode { hex } => {
            let _ = hex;
            anyhow::bail!("decode is not built yet")
        }
    }
}
