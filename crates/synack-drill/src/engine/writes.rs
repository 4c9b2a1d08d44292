//! The socket layer's writes: queueing on the engine and the errors a socket reports.

use super::*;

/// Which system call a write came through: each queues on the engine its own way.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum WriteKind {
    /// write(), send() and sendto() without flags.
    Plain,
    /// MSG_EOR: the write ends a record.
    Record,
    /// MSG_OOB: urgent data.
    Urgent,
    /// MSG_MORE: more is coming, so a short tail may wait.
    More,
}

impl EngineTarget {
    /// Queues `data` the way `kind` asks, then samples the send-side chronographs, since a
    /// write can start or end a busy or window-limited stretch.
    pub(super) fn write_as(
        &mut self,
        now: u64,
        kind: WriteKind,
        s: SockId,
        data: &[u8],
    ) -> Result<usize, Errno> {
        let r = self.queue_write(kind, s, data);
        self.sample_chronos(now);
        r
    }

    fn queue_write(&mut self, kind: WriteKind, s: SockId, data: &[u8]) -> Result<usize, Errno> {
        let sk = self.sock(s)?;
        if sk.shut_wr {
            return Err(Errno::EPIPE);
        }
        if kind == WriteKind::Plain && matches!(sk.kind, Kind::Fresh) && !self.implied_connect {
            //~ linux: tcp_sendmsg on a socket that never connected fails in
            //~ sk_stream_wait_connect with EPIPE (BSD says ENOTCONN).
            return Err(Errno::EPIPE);
        }
        self.wait_connect(s)?;
        let c = self.conn(s)?;
        let r = match kind {
            WriteKind::Plain => self.ep.send(c, data),
            WriteKind::Record => self.ep.send_record(c, data),
            WriteKind::Urgent => self.ep.send_urgent(c, data),
            WriteKind::More => self.ep.send_more(c, data),
        };
        let short = matches!(r, Ok(n) if n < data.len()) || matches!(r, Err(SendError::WouldBlock));
        if short && matches!(kind, WriteKind::Plain | WriteKind::More) {
            let lx = &mut self.sock(s)?.lx;
            lx.nospace = true;
            lx.sndbuf_wait = true;
        }
        match r {
            Ok(0) if !data.is_empty() => Err(Errno::EAGAIN),
            Ok(n) => Ok(n),
            Err(SendError::WouldBlock) => Err(Errno::EAGAIN),
            // Once the error was reported, a write finds the connection shut: EPIPE.
            Err(SendError::Connection(_))
                if kind == WriteKind::Plain && self.sock(s)?.error_taken =>
            {
                Err(Errno::EPIPE)
            }
            Err(SendError::Connection(e)) => {
                if kind == WriteKind::Plain {
                    self.sock(s)?.error_taken = true;
                }
                Err(conn_error(e, self.implied_connect))
            }
            Err(_) => Err(Errno::EPIPE),
        }
    }
}
