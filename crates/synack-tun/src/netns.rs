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
