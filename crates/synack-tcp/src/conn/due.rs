//! Why a segment is due besides queued data: the reasons input, timers and application calls
//! record for the output path, which clears each one when it sends for it.

/// One reason a segment must go out.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub(crate) enum Due {
    /// An ACK, now or on the next data segment.
    Ack = 1,
    /// A keep-alive or zero-window probe.
    Probe = 2,
    /// The persist timer fired with a small usable window: send what fits, past Nagle, sender
    /// SWS avoidance and a full congestion window (RFC 9293 3.8.6.2.1's override).
    Override = 4,
    /// The tail loss probe timer fired (RFC 8985 7.3).
    TailLossProbe = 8,
    /// The ACK due is a challenge ACK (RFC 5961), sent as the bare
    /// `<SEQ=SND.NXT><ACK=RCV.NXT>` even where `ConnConfig::ack_repeats_fin` would put the FIN
    /// on it. Set and cleared together with [`Due::Ack`].
    Challenge = 16,
}

/// The set of [`Due`] reasons pending on a connection (one byte).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) struct DueSet(u8);

impl DueSet {
    /// Records `reason`.
    #[inline]
    pub(crate) fn set(&mut self, reason: Due) {
        self.0 |= reason as u8;
    }

    /// True when `reason` is pending.
    #[inline]
    pub(crate) fn has(self, reason: Due) -> bool {
        self.0 & reason as u8 != 0
    }

    /// Clears `reason` (it was served, or no longer applies).
    #[inline]
    pub(crate) fn clear(&mut self, reason: Due) {
        self.0 &= !(reason as u8);
    }

    /// Clears `reason`, returning whether it was pending.
    #[inline]
    pub(crate) fn take(&mut self, reason: Due) -> bool {
        let had = self.has(reason);
        self.clear(reason);
        had
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_independent() {
        let mut d = DueSet::default();
        d.set(Due::Ack);
        d.set(Due::TailLossProbe);
        assert!(d.has(Due::Ack) && d.has(Due::TailLossProbe));
        assert!(!d.has(Due::Probe) && !d.has(Due::Override));
        assert!(d.take(Due::Ack));
        assert!(!d.take(Due::Ack));
        assert!(d.has(Due::TailLossProbe));
        d.clear(Due::TailLossProbe);
        assert_eq!(d, DueSet::default());
    }
}
