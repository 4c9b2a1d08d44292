//! tcpdump-style rendering of TCP pieces.

use super::repr::TcpFlags;
use core::fmt;

/// tcpdump's flag letters: `S` SYN, `F` FIN, `R` RST, `P` PSH, `U` URG, `E` ECE, `W` CWR,
/// `e` AE, and `.` for ACK, in the order tcpdump prints them (`[S.]`, `[FP.]`); `none` when empty.
pub struct FlagLetters(pub TcpFlags);

impl fmt::Display for FlagLetters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fl = self.0;
        let table: [(TcpFlags, char); 8] = [
            (TcpFlags::FIN, 'F'),
            (TcpFlags::SYN, 'S'),
            (TcpFlags::RST, 'R'),
            (TcpFlags::PSH, 'P'),
            (TcpFlags::ACK, '.'),
            (TcpFlags::URG, 'U'),
            (TcpFlags::ECE, 'E'),
            (TcpFlags::CWR, 'W'),
        ];
        let mut any = false;
        for (bit, c) in table {
            if fl.contains(bit) {
                write!(f, "{c}")?;
                any = true;
            }
        }
        if fl.contains(TcpFlags::AE) {
            write!(f, "e")?;
            any = true;
        }
        if !any {
            write!(f, "none")?;
        }
        Ok(())
    }
}
