//! Interface configuration through iproute2's `ip` command.
//!
//! Running `ip` keeps this crate's unsafe surface to the TUN ioctl itself; netlink would save a
//! process per call, which matters to nobody configuring an interface once. The command runs in
//! the calling thread's network namespace (a spawned process inherits it).

use std::fmt;
use std::io;
use std::net::IpAddr;
use std::process::Command;

/// Configuring an interface failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigError {
    /// `ip` could not be started (not installed?).
    Spawn(io::Error),
    /// `ip` ran and failed; holds its arguments and what it printed on stderr.
    Failed {
        /// The arguments given to `ip`.
        args: Vec<String>,
        /// Its standard error.
        stderr: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Spawn(e) => write!(f, "cannot run `ip`: {e}"),
            ConfigError::Failed { args, stderr } => {
                write!(f, "`ip {}` failed: {}", args.join(" "), stderr.trim())
            }
        }
    }
}

impl std::error::Error for ConfigError {}

/// Runs `ip ARGS..`, turning a non-zero exit into [`ConfigError::Failed`].
pub fn ip<S: AsRef<str>>(args: &[S]) -> Result<(), ConfigError> {
    let args: Vec<String> = args.iter().map(|a| a.as_ref().to_owned()).collect();
    let out = Command::new("ip").args(&args).output().map_err(ConfigError::Spawn)?;
    if out.status.success() {
        Ok(())
    } else {
        Err(ConfigError::Failed { args, stderr: String::from_utf8_lossy(&out.stderr).into_owned() })
    }
}

/// Sets the interface's MTU.
pub fn set_mtu(ifname: &str, mtu: u32) -> Result<(), ConfigError> {
    ip(&["link", "set", "dev", ifname, "mtu", &mtu.to_string()])
}

/// Brings the interface up.
pub fn set_up(ifname: &str) -> Result<(), ConfigError> {
    ip(&["link", "set", "dev", ifname, "up"])
}

/// Adds `addr/prefix` to the interface (IPv6 addresses without duplicate address detection,
/// so they are usable at once).
pub fn add_address(ifname: &str, addr: IpAddr, prefix: u8) -> Result<(), ConfigError> {
    let cidr = format!("{addr}/{prefix}");
    match addr {
        IpAddr::V4(_) => ip(&["addr", "add", &cidr, "dev", ifname]),
        IpAddr::V6(_) => ip(&["-6", "addr", "add", &cidr, "dev", ifname, "nodad"]),
    }
}

/// Routes `dest/prefix` through the interface.
pub fn add_route(ifname: &str, dest: IpAddr, prefix: u8) -> Result<(), ConfigError> {
    let cidr = format!("{dest}/{prefix}");
    ip(&["route", "add", &cidr, "dev", ifname])
}
