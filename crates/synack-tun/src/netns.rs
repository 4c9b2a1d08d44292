//! Network namespaces by name (`ip netns add NAME` makes `/var/run/netns/NAME`).
//!
//! A namespace is a per-thread property on Linux, so entering one affects only the calling
//! thread: tests open a TUN device inside a namespace from a thread they spawn for it, and the
//! device keeps belonging to that namespace wherever its descriptor is used afterwards.

use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::path::PathBuf;

/// Where iproute2 keeps named namespaces.
pub fn path(name: &str) -> PathBuf {
    PathBuf::from("/var/run/netns").join(name)
}

/// Moves the calling thread into the named network namespace.
pub fn enter(name: &str) -> io::Result<()> {
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("bad namespace name {name:?}"),
        ));
    }
    let fd: OwnedFd = File::open(path(name))?.into();
    crate::sys::setns_net(&fd)
}

/// Why namespaces and TUN devices cannot be used here, or `None` when they can: the process
/// must run as root (creating namespaces and TUN devices needs CAP_NET_ADMIN), `/dev/net/tun`
/// must exist, and every program in `tools` must be on PATH. Root tests and benchmarks print
/// this as their `SKIPPED` reason.
pub fn unavailable(tools: &[&str]) -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid_is_root = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        == Some("0");
    if !euid_is_root {
        return Some("not root (needs CAP_NET_ADMIN for namespaces and TUN devices)".into());
    }
    if !std::path::Path::new("/dev/net/tun").exists() {
        return Some("no /dev/net/tun".into());
    }
    tools.iter().find(|t| !on_path(t)).map(|t| format!("{t} not installed"))
}

/// True when `program` is an entry of a directory on PATH.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).exists()))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_tool_is_named() {
        if let Some(why) = unavailable(&[]) {
            // Not root or no TUN here: the reason says so before any tool is looked at.
            assert!(why.starts_with("not root") || why == "no /dev/net/tun", "{why}");
            return;
        }
        let why = unavailable(&["sh", "synack-no-such-program"]).expect("missing tool");
        assert_eq!(why, "synack-no-such-program not installed");
    }

    #[test]
    fn the_shell_is_on_path() {
        assert!(on_path("sh"));
        assert!(!on_path("synack-no-such-program"));
    }
}
