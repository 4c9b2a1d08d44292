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

/// Deletes the namespaces a run of ours that was killed left behind: those whose name starts
/// with `prefix` and names, in its first all-digit `-`-separated part after the prefix, a
/// process that no longer exists (test and benchmark namespaces carry their creator's PID, and
/// a run killed before its guards dropped cannot delete them itself). A namespace whose
/// creator still runs, or whose name has no PID, is left alone. Returns how many were deleted.
pub fn remove_orphans(prefix: &str) -> usize {
    let Ok(dir) = std::fs::read_dir("/var/run/netns") else { return 0 };
    let mut removed = 0;
    for entry in dir.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = creator_pid(&name, prefix) else { continue };
        if std::path::Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let deleted = std::process::Command::new("ip")
            .args(["netns", "del", &name])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        removed += usize::from(deleted);
    }
    removed
}

/// The PID a namespace name made by one of our runs carries: the first part of what follows
/// `prefix`, split at `-`, that is all digits.
fn creator_pid(name: &str, prefix: &str) -> Option<u32> {
    let rest = name.strip_prefix(prefix)?;
    rest.split('-').find(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))?.parse().ok()
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
    fn a_namespace_name_gives_its_creator() {
        assert_eq!(creator_pid("synack-chaos-flood-32190", "synack-chaos-"), Some(32190));
        assert_eq!(creator_pid("sdpb-4711-3", "sdpb-"), Some(4711));
        assert_eq!(creator_pid("synack-tunns-815", "synack-tunns-"), Some(815));
        assert_eq!(creator_pid("synack-tun-815-101", "synack-tun-"), Some(815));
        assert_eq!(creator_pid("synack-chaos-flood", "synack-chaos-"), None);
        assert_eq!(creator_pid("other-32190", "synack-chaos-"), None);
        assert_eq!(creator_pid("synack-chaos-x99999999999", "synack-chaos-"), None);
    }

    #[test]
    fn the_shell_is_on_path() {
        assert!(on_path("sh"));
        assert!(!on_path("synack-no-such-program"));
    }
}
