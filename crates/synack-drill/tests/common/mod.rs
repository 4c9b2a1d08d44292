//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The shared data folder: `$SYNACK_SHARED` when set (a checkout whose parent holds no
/// `shared/`, such as a git worktree), else `<repo>/../shared`.
pub(crate) fn shared_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("SYNACK_SHARED") {
        return Some(PathBuf::from(d));
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    // crates/synack-drill -> repo root -> its parent.
    Some(manifest.parent()?.parent()?.parent()?.join("shared"))
}

/// `<shared>/packetdrill`, if it exists.
pub(crate) fn public_suite() -> Option<PathBuf> {
    let dir = shared_dir()?.join("packetdrill");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("SKIPPED: public packetdrill suite not found at {}", dir.display());
        None
    }
}

/// Every `.pkt` file under `dir`, sorted.
pub(crate) fn pkt_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "pkt") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
