//! `open()` of the run's own files ([`crate::files`]) and `sendfile()` from them to a socket.

use super::{Step, fail};
use crate::ast::{Expr, Syscall};
use crate::files::OpenFile;
use crate::runner::{Pending, Runner, Stop};
use crate::target::{Errno, Target};

impl<T: Target> Runner<'_, T> {
    /// `open(PATH, O_RDONLY)`: a file a setup line made; `ENOENT` for one that does not
    /// exist. Writing is not modelled (no script writes a file through a syscall).
    pub(super) fn open_file(&mut self, call: &Syscall) -> Result<Step, Stop> {
        let Some(Expr::Str(path)) = call.args.first() else {
            return Err(Stop::Unsupported("open() with a path that is not a string".into()));
        };
        let read_only = match call.args.get(1) {
            Some(Expr::Symbol(f)) => f == "O_RDONLY",
            Some(Expr::Int(0)) => true,
            _ => false,
        };
        if !read_only {
            return Err(Stop::Unsupported("open() for other than O_RDONLY".into()));
        }
        let Some(inode) = self.files.lookup(path) else {
            return Ok(Step::Done(Err(Errno::ENOENT)));
        };
        let n = self.expected_fd(call);
        self.files.open.insert(n, OpenFile { inode, pos: 0 });
        Ok(Step::Done(Ok(n)))
    }

    /// `sendfile(OUT, IN, [OFFSET] | NULL, COUNT)`: up to COUNT bytes of the file from OFFSET
    /// (or its position, which then advances) written to the socket OUT as `write` would.
    pub(super) fn sendfile(
        &mut self,
        p: &mut Pending,
        call: &Syscall,
        retry: bool,
    ) -> Result<Step, Stop> {
        let in_fd = self.arg(call, 1)?;
        let Some(file) = self.files.open.get(&in_fd).cloned() else {
            return Ok(Step::Done(Err(Errno::EBADF)));
        };
        let offset = match call.args.get(2) {
            Some(Expr::Symbol(s)) if s == "NULL" => None,
            Some(e @ Expr::List(_)) => Some(self.int(e)?),
            _ => return Err(Stop::Unsupported("sendfile() offset other than [N] or NULL".into())),
        };
        let from = match offset {
            Some(o) => u64::try_from(o).map_err(|_| fail("negative sendfile() offset".into()))?,
            None => file.pos,
        };
        let count = u64::try_from(self.arg(call, 3)?)
            .map_err(|_| fail("negative sendfile() count".into()))?;
        let size = self.files.length_of(file.inode);
        let n = count.min(size.saturating_sub(from));
        let write = Syscall {
            name: "write".into(),
            args: vec![call.args[0].clone(), Expr::Ellipsis, Expr::Int(n as i64)],
            result: call.result.clone(),
        };
        let step = self.attempt_call(p, &write, retry)?;
        if let (Step::Done(Ok(k)), None) = (&step, offset)
            && let Some(f) = self.files.open.get_mut(&in_fd)
        {
            f.pos += *k as u64;
        }
        Ok(step)
    }
}
