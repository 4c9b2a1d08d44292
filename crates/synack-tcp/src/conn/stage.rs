//! Fused receive: the payload of an arriving in-order segment is copied into the receive ring
//! and checksummed in the same pass, before the segment is processed.
//!
//! Why: verifying the TCP checksum in a pass of its own and then copying the payload reads
//! every received byte twice. Here the endpoint stages the payload in the ring's free space
//! (which changes nothing the connection holds), decides the checksum from that sum, and only
//! then lets the segment act; `deliver` finds the bytes already in place.

use super::Conn;
use crate::ring::Staged;
use crate::state::State;
use synack_wire::tcp::TcpRepr;

impl Conn {
    /// Copies `seg`'s payload to where it will land in the receive ring, returning its partial
    /// checksum and where it went; `None` (nothing copied) when the segment is not plain data
    /// at or after the next expected byte in a state that accepts data, or the ring cannot take
    /// it whole beyond the bytes it already holds. The caller then checksums the payload on
    /// its own.
    pub(crate) fn stage_payload(&mut self, seg: &TcpRepr<'_>) -> Option<(u64, Staged)> {
        if seg.payload.is_empty()
            || seg.flags.syn()
            || self.app_closed
            || !matches!(self.state(), State::Established | State::FinWait1 | State::FinWait2)
        {
            return None;
        }
        let (_, rcv) = self.tcb.halves()?;
        let next = rcv.asm.rcv_nxt();
        if seg.seq.lt(next) {
            return None;
        }
        let offset = seg.seq.since(next) as usize;
        rcv.buf.stage_at(offset, seg.payload)
    }
}
