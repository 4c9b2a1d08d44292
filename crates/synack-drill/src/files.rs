//! Files a script makes for `sendfile` and similar calls: the setup lines that create and
//! remove them (`rm -f /tmp/f`, `dd if=/dev/zero of=/tmp/f bs=1 count=5`, `touch`,
//! `truncate -s`) and the `open()` calls that read them, kept in a private in-memory directory
//! of the run. Nothing reaches the host's file system, and no other shell command is run.
//!
//! Every file holds zeros: the only sources are `/dev/zero` and extension by `truncate`, and
//! packetdrill's payloads are zeros too, so a file is its length.

use crate::shell::Words;
use std::collections::BTreeMap;

/// The largest file a script may make (bytes): far beyond what a script sends, small enough
/// that no arithmetic on it overflows.
pub const MAX_FILE_SIZE: u64 = 1 << 40;

/// One file command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileOp {
    /// `rm [-f] PATH...`: without `-f`, a missing file fails the command.
    Remove {
        /// `-f`: missing files are no error.
        force: bool,
        /// The files.
        paths: Vec<String>,
    },
    /// `dd if=/dev/zero of=PATH bs=N count=M`: the file is made `bs × count` zeros long.
    Zeros {
        /// The file.
        path: String,
        /// Its new length.
        len: u64,
    },
    /// `touch PATH...`: made empty when missing.
    Touch(Vec<String>),
    /// `truncate -s N PATH`: cut or extended (with zeros) to N bytes.
    Truncate {
        /// The file.
        path: String,
        /// Its new length.
        len: u64,
    },
}

/// A path a script may use: absolute, under `/tmp`, without `.` or `..` components.
fn script_path(p: &str) -> Option<String> {
    let rest = p.strip_prefix("/tmp/")?;
    let ok = !rest.is_empty()
        && rest.split('/').all(|c| !c.is_empty() && c != "." && c != "..")
        && !rest.ends_with('/');
    ok.then(|| p.to_string())
}

/// A dd/truncate size: a number with an optional `K`, `M` or `G` (binary) suffix.
fn size(s: &str) -> Option<u64> {
    let (digits, mult) = match s.strip_suffix(['K', 'k']) {
        Some(d) => (d, 1 << 10),
        None => match s.strip_suffix('M') {
            Some(d) => (d, 1 << 20),
            None => match s.strip_suffix('G') {
                Some(d) => (d, 1 << 30),
                None => (s, 1),
            },
        },
    };
    digits.parse::<u64>().ok()?.checked_mul(mult).filter(|&n| n <= MAX_FILE_SIZE)
}

impl FileOp {
    /// Recognises a file command (`rm`, `dd`, `touch`, `truncate`, also as `/bin/NAME`);
    /// `None` for anything else, or for arguments these commands are not modelled with.
    pub fn parse(words: &[String]) -> Option<FileOp> {
        let (cmd, args) = words.split_first()?;
        let name = cmd.strip_prefix("/bin/").or_else(|| cmd.strip_prefix("/usr/bin/"));
        match name.unwrap_or(cmd) {
            "rm" => {
                let mut force = false;
                let mut paths = Vec::new();
                for a in args {
                    match a.as_str() {
                        "-f" => force = true,
                        p => paths.push(script_path(p)?),
                    }
                }
                (!paths.is_empty()).then_some(FileOp::Remove { force, paths })
            }
            "dd" => {
                let (mut bs, mut count, mut input, mut out) = (512, None, None, None);
                for a in args {
                    let (k, v) = a.split_once('=')?;
                    match k {
                        "bs" => bs = size(v)?,
                        "count" => count = Some(v.parse::<u64>().ok()?),
                        "if" => input = Some(v),
                        "of" => out = Some(script_path(v)?),
                        "status" if matches!(v, "none" | "noxfer") => {}
                        _ => return None,
                    }
                }
                // Without a count, dd from /dev/zero never ends.
                let len = bs.checked_mul(count?).filter(|&n| n <= MAX_FILE_SIZE)?;
                (input? == "/dev/zero").then_some(FileOp::Zeros { path: out?, len })
            }
            "touch" => {
                let paths: Option<Vec<String>> = args.iter().map(|a| script_path(a)).collect();
                paths.filter(|p| !p.is_empty()).map(FileOp::Touch)
            }
            "truncate" => match args {
                [s, n, p] if s == "-s" => {
                    Some(FileOp::Truncate { path: script_path(p)?, len: size(n)? })
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// Whether every pipeline of a command is a single file command.
    pub fn all(pipelines: &[Vec<Words>]) -> Option<Vec<FileOp>> {
        pipelines
            .iter()
            .map(|p| match p.as_slice() {
                [words] => FileOp::parse(words),
                _ => None,
            })
            .collect()
    }
}

/// A file opened by the script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenFile {
    /// The file (an index into the run's file lengths): it stays readable after `rm`, as an
    /// open file does until its last close.
    pub inode: usize,
    /// The file position (`sendfile` without an offset advances it).
    pub pos: u64,
}

/// The run's private directory: files by path, their lengths, and the open files by fd
/// number.
#[derive(Clone, Debug, Default)]
pub struct Files {
    names: BTreeMap<String, usize>,
    lengths: Vec<u64>,
    /// Open files by fd number.
    pub open: BTreeMap<i64, OpenFile>,
}

impl Files {
    /// Carries out a file command; an error is the command failing (as `rm` of a missing
    /// file without `-f` does).
    pub fn apply(&mut self, op: &FileOp) -> Result<(), String> {
        match op {
            FileOp::Remove { force, paths } => {
                for p in paths {
                    if self.names.remove(p).is_none() && !force {
                        return Err(format!("rm: cannot remove '{p}': No such file or directory"));
                    }
                }
            }
            FileOp::Zeros { path, len } | FileOp::Truncate { path, len } => {
                let inode = self.inode(path);
                self.lengths[inode] = *len;
            }
            FileOp::Touch(paths) => {
                for p in paths {
                    self.inode(p);
                }
            }
        }
        Ok(())
    }

    /// The file at `path`, made empty when missing.
    fn inode(&mut self, path: &str) -> usize {
        if let Some(&i) = self.names.get(path) {
            return i;
        }
        self.lengths.push(0);
        self.names.insert(path.to_string(), self.lengths.len() - 1);
        self.lengths.len() - 1
    }

    /// The file at `path`, if it exists.
    pub fn lookup(&self, path: &str) -> Option<usize> {
        self.names.get(path).copied()
    }

    /// A file's length, if a file is at `path`.
    pub fn len(&self, path: &str) -> Option<u64> {
        self.lookup(path).map(|i| self.lengths[i])
    }

    /// The length of a file by its index.
    pub fn length_of(&self, inode: usize) -> u64 {
        self.lengths.get(inode).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::pipelines;

    fn ops(text: &str) -> Option<Vec<FileOp>> {
        FileOp::all(&pipelines(text).unwrap())
    }

    #[test]
    fn the_sendfile_setup_lines() {
        let got = ops("/bin/rm -f /tmp/testfile\n/bin/dd bs=1 count=5 if=/dev/zero of=/tmp/testfile status=none").unwrap();
        assert_eq!(
            got,
            vec![
                FileOp::Remove { force: true, paths: vec!["/tmp/testfile".into()] },
                FileOp::Zeros { path: "/tmp/testfile".into(), len: 5 },
            ]
        );
        let mut files = Files::default();
        for op in &got {
            files.apply(op).unwrap();
        }
        assert_eq!(files.len("/tmp/testfile"), Some(5));
        assert_eq!(
            ops("dd if=/dev/zero of=/tmp/x bs=4K count=2").unwrap()[0],
            FileOp::Zeros { path: "/tmp/x".into(), len: 8192 }
        );
    }

    #[test]
    fn remove_touch_and_truncate() {
        let mut files = Files::default();
        let rm = FileOp::Remove { force: false, paths: vec!["/tmp/a".into()] };
        assert!(files.apply(&rm).is_err(), "rm without -f of a missing file fails");
        files.apply(&ops("touch /tmp/a").unwrap()[0]).unwrap();
        assert_eq!(files.len("/tmp/a"), Some(0));
        files.apply(&ops("truncate -s 1M /tmp/a").unwrap()[0]).unwrap();
        assert_eq!(files.len("/tmp/a"), Some(1 << 20));
        files.apply(&rm).unwrap();
        assert_eq!(files.len("/tmp/a"), None);
    }

    #[test]
    fn anything_else_is_no_file_command() {
        for text in [
            "rm -rf /",
            "rm -f /etc/passwd",
            "rm -f /tmp/../etc/passwd",
            "rm -f",
            "dd if=/dev/urandom of=/tmp/x bs=1 count=1",
            "dd if=/dev/zero of=/tmp/x bs=1",
            "dd if=/dev/zero of=/tmp/x bs=1G count=99999999",
            "touch /tmp/",
            "truncate /tmp/x",
            "cat /tmp/x",
            "rm -f /tmp/x | grep y",
            "sysctl -q net.ipv4.tcp_sack=1",
        ] {
            assert_eq!(ops(text), None, "{text}");
        }
    }
}
