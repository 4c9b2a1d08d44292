//! [`Interest`] and [`Ready`]: what [`TcpStream::ready`](super::TcpStream::ready) waits for
//! and reports.
//!
//! Same names, constants and methods as `tokio::io::Interest` and `tokio::io::Ready` (the
//! subset a TCP stream uses). They are synack's own because tokio's exist only with its `net`
//! feature, which this crate does not need.

use std::fmt;
use std::ops::{BitOr, BitOrAssign};

/// Readiness to wait for: [`READABLE`](Self::READABLE), [`WRITABLE`](Self::WRITABLE), or both
/// (`Interest::READABLE | Interest::WRITABLE`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Interest(u8);

const R: u8 = 1;
const W: u8 = 2;
const R_CLOSED: u8 = 4;
const W_CLOSED: u8 = 8;

impl Interest {
    /// Interest in reading.
    pub const READABLE: Interest = Interest(R);
    /// Interest in writing.
    pub const WRITABLE: Interest = Interest(W);

    /// Includes reading.
    pub const fn is_readable(self) -> bool {
        self.0 & R != 0
    }

    /// Includes writing.
    pub const fn is_writable(self) -> bool {
        self.0 & W != 0
    }

    /// Both interests.
    #[must_use]
    pub const fn add(self, other: Interest) -> Interest {
        Interest(self.0 | other.0)
    }
}

impl BitOr for Interest {
    type Output = Interest;
    fn bitor(self, other: Interest) -> Interest {
        self.add(other)
    }
}

impl BitOrAssign for Interest {
    fn bitor_assign(&mut self, other: Interest) {
        *self = self.add(other);
    }
}

impl fmt::Debug for Interest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.is_readable(), self.is_writable()) {
            (true, true) => f.write_str("READABLE | WRITABLE"),
            (true, false) => f.write_str("READABLE"),
            (false, true) => f.write_str("WRITABLE"),
            (false, false) => f.write_str("(none)"),
        }
    }
}

/// What was ready. Readable and read-closed come together at the end of stream (or after an
/// error, which the next read returns); writable and write-closed when writing can only fail.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Ready(u8);

impl Ready {
    /// Nothing.
    pub const EMPTY: Ready = Ready(0);
    /// A read would not block.
    pub const READABLE: Ready = Ready(R);
    /// A write would not block.
    pub const WRITABLE: Ready = Ready(W);
    /// The read side is finished (end of stream, read shutdown, or an error).
    pub const READ_CLOSED: Ready = Ready(R_CLOSED);
    /// The write side is finished (shut down, or the connection ended).
    pub const WRITE_CLOSED: Ready = Ready(W_CLOSED);
    /// Everything.
    pub const ALL: Ready = Ready(R | W | R_CLOSED | W_CLOSED);

    /// Nothing is ready.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Includes [`READABLE`](Self::READABLE).
    pub const fn is_readable(self) -> bool {
        self.0 & R != 0
    }

    /// Includes [`WRITABLE`](Self::WRITABLE).
    pub const fn is_writable(self) -> bool {
        self.0 & W != 0
    }

    /// Includes [`READ_CLOSED`](Self::READ_CLOSED).
    pub const fn is_read_closed(self) -> bool {
        self.0 & R_CLOSED != 0
    }

    /// Includes [`WRITE_CLOSED`](Self::WRITE_CLOSED).
    pub const fn is_write_closed(self) -> bool {
        self.0 & W_CLOSED != 0
    }
}

impl BitOr for Ready {
    type Output = Ready;
    fn bitor(self, other: Ready) -> Ready {
        Ready(self.0 | other.0)
    }
}

impl fmt::Debug for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ready")
            .field("is_readable", &self.is_readable())
            .field("is_writable", &self.is_writable())
            .field("is_read_closed", &self.is_read_closed())
            .field("is_write_closed", &self.is_write_closed())
            .finish()
    }
}
