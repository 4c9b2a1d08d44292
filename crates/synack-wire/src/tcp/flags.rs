//! The TCP control bits and their tcpdump-style letters.

use core::fmt;

/// The TCP control bits, including the reserved bits and AE (RFC 9293 section 3.1, RFC 3168,
/// RFC 9768's Accurate ECN bit), kept as the 12 low bits of the 13th and 14th header bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u16);

impl TcpFlags {
    /// FIN: no more data from sender.
    pub const FIN: TcpFlags = TcpFlags(0x001);
    /// SYN: synchronize sequence numbers.
    pub const SYN: TcpFlags = TcpFlags(0x002);
    /// RST: reset the connection.
    pub const RST: TcpFlags = TcpFlags(0x004);
    /// PSH: push function.
    pub const PSH: TcpFlags = TcpFlags(0x008);
    /// ACK: the acknowledgment field is significant.
    pub const ACK: TcpFlags = TcpFlags(0x010);
    /// URG: the urgent pointer field is significant.
    pub const URG: TcpFlags = TcpFlags(0x020);
    /// ECE: ECN-Echo (RFC 3168).
    pub const ECE: TcpFlags = TcpFlags(0x040);
    /// CWR: congestion window reduced (RFC 3168).
    pub const CWR: TcpFlags = TcpFlags(0x080);
    /// AE: accurate ECN (formerly NS, RFC 3540 / RFC 9768).
    pub const AE: TcpFlags = TcpFlags(0x100);
    /// The three reserved bits (must be zero on send, ignored on receive).
    pub const RESERVED: TcpFlags = TcpFlags(0xE00);
    /// No flags.
    pub const NONE: TcpFlags = TcpFlags(0);

    /// All bits of `other` are set in `self`.
    #[inline]
    pub const fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }
    /// Any bit of `other` is set in `self`.
    #[inline]
    pub const fn intersects(self, other: TcpFlags) -> bool {
        self.0 & other.0 != 0
    }
    /// Union.
    #[inline]
    pub const fn union(self, other: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | other.0)
    }
    /// `self` without the bits of `other`.
    #[inline]
    pub const fn without(self, other: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 & !other.0)
    }
    /// SYN set.
    #[inline]
    pub const fn syn(self) -> bool {
        self.contains(Self::SYN)
    }
    /// ACK set.
    #[inline]
    pub const fn ack(self) -> bool {
        self.contains(Self::ACK)
    }
    /// FIN set.
    #[inline]
    pub const fn fin(self) -> bool {
        self.contains(Self::FIN)
    }
    /// RST set.
    #[inline]
    pub const fn rst(self) -> bool {
        self.contains(Self::RST)
    }
    /// PSH set.
    #[inline]
    pub const fn psh(self) -> bool {
        self.contains(Self::PSH)
    }
    /// URG set.
    #[inline]
    pub const fn urg(self) -> bool {
        self.contains(Self::URG)
    }
}

impl core::ops::BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        self.union(rhs)
    }
}

impl core::ops::BitOrAssign for TcpFlags {
    fn bitor_assign(&mut self, rhs: TcpFlags) {
        self.0 |= rhs.0;
    }
}

impl fmt::Debug for TcpFlags {
    /// Prints tcpdump's letters (`S.`, `FP.`), which is what a person reading a test failure wants.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TcpFlags[{}]", FlagLetters(*self))
    }
}

/// How a set of flags is spelled.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FlagStyle {
    /// tcpdump's letters: `S` SYN, `F` FIN, `R` RST, `P` PSH, `.` ACK, `U` URG, `E` ECE, `W`
    /// CWR, `e` AE, in that order (`S.`, `FP.`); `none` when empty.
    Tcpdump,
    /// packetdrill's letters: the same but `A` for AE, ACK last, and `-` when empty.
    Packetdrill,
    /// Names joined by commas, SYN first: `SYN,ACK`, `PSH,ACK`; `none` when empty.
    Names,
    /// tshark's `tcp.flags.str`: all twelve positions, reserved bits first (`RRRACEUAPRSF`),
    /// `·` where a bit is clear.
    Tshark,
}

/// A [`TcpFlags`] spelled in a [`FlagStyle`], for `format!` and `write!`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FlagText(pub TcpFlags, pub FlagStyle);

impl FlagStyle {
    /// The flags this style names, in its order, with their spelling.
    fn table(self) -> &'static [(TcpFlags, &'static str)] {
        match self {
            FlagStyle::Tcpdump => &[
                (TcpFlags::FIN, "F"),
                (TcpFlags::SYN, "S"),
                (TcpFlags::RST, "R"),
                (TcpFlags::PSH, "P"),
                (TcpFlags::ACK, "."),
                (TcpFlags::URG, "U"),
                (TcpFlags::ECE, "E"),
                (TcpFlags::CWR, "W"),
                (TcpFlags::AE, "e"),
            ],
            FlagStyle::Packetdrill => &[
                (TcpFlags::FIN, "F"),
                (TcpFlags::SYN, "S"),
                (TcpFlags::RST, "R"),
                (TcpFlags::PSH, "P"),
                (TcpFlags::URG, "U"),
                (TcpFlags::ECE, "E"),
                (TcpFlags::CWR, "W"),
                (TcpFlags::AE, "A"),
                (TcpFlags::ACK, "."),
            ],
            FlagStyle::Names => &[
                (TcpFlags::SYN, "SYN"),
                (TcpFlags::FIN, "FIN"),
                (TcpFlags::RST, "RST"),
                (TcpFlags::PSH, "PSH"),
                (TcpFlags::URG, "URG"),
                (TcpFlags::ACK, "ACK"),
                (TcpFlags::ECE, "ECE"),
                (TcpFlags::CWR, "CWR"),
            ],
            FlagStyle::Tshark => &[
                (TcpFlags(0x800), "R"),
                (TcpFlags(0x400), "R"),
                (TcpFlags(0x200), "R"),
                (TcpFlags::AE, "A"),
                (TcpFlags::CWR, "C"),
                (TcpFlags::ECE, "E"),
                (TcpFlags::URG, "U"),
                (TcpFlags::ACK, "A"),
                (TcpFlags::PSH, "P"),
                (TcpFlags::RST, "R"),
                (TcpFlags::SYN, "S"),
                (TcpFlags::FIN, "F"),
            ],
        }
    }
}

impl fmt::Display for FlagText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let FlagText(flags, style) = *self;
        let (sep, empty) = match style {
            FlagStyle::Tcpdump => ("", "none"),
            FlagStyle::Packetdrill => ("", "-"),
            FlagStyle::Names => (",", "none"),
            FlagStyle::Tshark => ("", ""),
        };
        let mut any = false;
        for (bit, text) in style.table() {
            if flags.contains(*bit) {
                if any {
                    f.write_str(sep)?;
                }
                f.write_str(text)?;
                any = true;
            } else if style == FlagStyle::Tshark {
                f.write_str("\u{b7}")?;
            }
        }
        if !any {
            f.write_str(empty)?;
        }
        Ok(())
    }
}

/// tcpdump's flag letters ([`FlagStyle::Tcpdump`]): `[S.]`, `[FP.]`, `none` when empty.
pub struct FlagLetters(pub TcpFlags);

impl fmt::Display for FlagLetters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        FlagText(self.0, FlagStyle::Tcpdump).fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;

    #[test]
    fn every_style_spells_the_flags_its_way() {
        let sa = TcpFlags::SYN | TcpFlags::ACK;
        assert_eq!(format!("{}", FlagText(sa, FlagStyle::Tcpdump)), "S.");
        assert_eq!(format!("{}", FlagText(sa, FlagStyle::Packetdrill)), "S.");
        assert_eq!(format!("{}", FlagText(sa, FlagStyle::Names)), "SYN,ACK");
        assert_eq!(
            format!("{}", FlagText(sa, FlagStyle::Tshark)),
            "\u{b7}\u{b7}\u{b7}\u{b7}\u{b7}\u{b7}\u{b7}A\u{b7}\u{b7}S\u{b7}"
        );
        let fpa = TcpFlags::FIN | TcpFlags::PSH | TcpFlags::ACK | TcpFlags::AE;
        assert_eq!(format!("{}", FlagText(fpa, FlagStyle::Tcpdump)), "FP.e");
        assert_eq!(format!("{}", FlagText(fpa, FlagStyle::Packetdrill)), "FPA.");
        let none = TcpFlags::default();
        assert_eq!(format!("{}", FlagText(none, FlagStyle::Tcpdump)), "none");
        assert_eq!(format!("{}", FlagText(none, FlagStyle::Packetdrill)), "-");
        assert_eq!(format!("{}", FlagText(none, FlagStyle::Names)), "none");
        assert_eq!(format!("{}", FlagLetters(TcpFlags::RST)), "R");
    }
}
