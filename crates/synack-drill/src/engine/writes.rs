//! The socket layer's writes: queueing on the engine and the errors a socket reports.

use super::*;

impl EngineTarget {
    pub(super) fn write_plain(&mut self, s: SockId, data: &[u8]) -> Result<usize, Errno> {
        let sk = self.sock(s)?;
        if sk.shut_wr {
            return Err(Errno::EPIPE);
        }
        if matches!(sk.kind, Kind::Fresh) && !self.implied_connect {
            //~ linux: tcp_sendmsg on a socket that never connected fails in
            //~ sk_stream_wait_connect with EPIPE (BSD says ENOTCONN).
            return Err(Errno::EPIPE);
        }
        self.wait_connect(s)?;
        let c = self.conn(s)?;
        let r = self.ep.send(c, data);
        if matches!(r, Ok(n) if n < data.len()) || matches!(r, Err(SendError::WouldBlock)) {
            self.sock(s)?.lx.nospace = true;
        }
        match r {
            Ok(0) if !data.is_empty() => Err(Errno::EAGAIN),
            Ok(n) => Ok(n),
            Err(SendError::WouldBlock) => Err(Errno::EAGAIN),
            Err(SendError::Closed) => Err(Errno::EPIPE),
            // Once the error was reported, a write finds the connection shut: EPIPE.
            Err(SendError::Connection(_)) if self.sock(s)?.error_taken => Err(Errno::EPIPE),
            Err(SendError::Connection(e)) => {
                self.sock(s)?.error_taken = true;
                Err(conn_error(e, self.implied_connect))
            }
            Err(_) => Err(Errno::EPIPE),
        }
    }

    pub(super) fn write_record_plain(&mut self, s: SockId, data: &[u8]) -> Result<usize, Errno> {
        if self.sock(s)?.shut_wr {
            return Err(Errno::EPIPE);
        }
        self.wait_connect(s)?;
        let c = self.conn(s)?;
        match self.ep.send_record(c, data) {
            Ok(0) if !data.is_empty() => Err(Errno::EAGAIN),
            Ok(n) => Ok(n),
            Err(SendError::WouldBlock) => Err(Errno::EAGAIN),
            Err(SendError::Connection(e)) => Err(conn_error(e, self.implied_connect)),
            Err(_) => Err(Errno::EPIPE),
        }
    }

    pub(super) fn write_urgent_plain(&mut self, s: SockId, data: &[u8]) -> Result<usize, Errno> {
        if self.sock(s)?.shut_wr {
            return Err(Errno::EPIPE);
        }
        self.wait_connect(s)?;
        let c = self.conn(s)?;
        match self.ep.send_urgent(c, data) {
            Ok(0) if !data.is_empty() => Err(Errno::EAGAIN),
            Ok(n) => Ok(n),
            Err(SendError::WouldBlock) => Err(Errno::EAGAIN),
            Err(SendError::Connection(e)) => Err(conn_error(e, self.implied_connect)),
            Err(_) => Err(Errno::EPIPE),
        }
    }

    pub(super) fn write_more_plain(&mut self, s: SockId, data: &[u8]) -> Result<usize, Errno> {
        if self.sock(s)?.shut_wr {
            return Err(Errno::EPIPE);
        }
        self.wait_connect(s)?;
        let c = self.conn(s)?;
        let r = self.ep.send_more(c, data);
        if matches!(r, Ok(n) if n < data.len()) || matches!(r, Err(SendError::WouldBlock)) {
            self.sock(s)?.lx.nospace = true;
        }
        match r {
            Ok(0) if !data.is_empty() => Err(Errno::EAGAIN),
            Ok(n) => Ok(n),
            Err(SendError::WouldBlock) => Err(Errno::EAGAIN),
            Err(SendError::Connection(e)) => Err(conn_error(e, self.implied_connect)),
            Err(_) => Err(Errno::EPIPE),
        }
    }
}
