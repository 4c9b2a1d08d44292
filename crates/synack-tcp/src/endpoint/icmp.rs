//! ICMP errors applied to the connection whose segment they quote.

use core::net::SocketAddr;

use synack_wire::SeqNum;

use super::Endpoint;
use crate::error::ConnectionError;
use crate::event::SoftError;
use crate::icmp::IcmpError;
use crate::secret::FourTuple;
use crate::state::State;
use crate::time::Instant;

impl Endpoint {
    /// An ICMP error quoting a segment we sent from `local` to `remote` with sequence number
    /// `seq` arrived. The error is applied only when `seq` is in SND.UNA..SND.NXT (RFC 5927
    /// section 4.1), so a blind attacker cannot use ICMP to reset or slow connections.
    pub fn on_icmp_error(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        seq: SeqNum,
        error: IcmpError,
    ) {
        self.advance(now);
        let Some(id) = self.lookup(&FourTuple { local, remote }) else { return };
        //= rfc9293#3.9.2.2
        //~ paraphrase: Source quench is ignored (MUST-55).
        if error == IcmpError::SourceQuench {
            return;
        }
        self.with_conn(id, |c, ctx| {
            let state = c.state();
            let Some(snd) = c.tcb.snd() else { return };
            //= rfc5927#4.1
            //~ paraphrase: Only an error quoting an unacknowledged sequence number is believed.
            if !seq.in_range(snd.una, snd.max_nxt) {
                return;
            }
            match error {
                IcmpError::PacketTooBig { mtu } => {
                    let min = if c.tuple.local.is_ipv4() { 68 } else { 1280 };
                    let mtu = (mtu as usize).max(min);
                    if mtu < c.mtu {
                        c.mtu = mtu;
                        if let Some(snd) = c.tcb.snd_mut() {
                            snd.nxt = snd.una;
                        }
                        let mss = c.eff_snd_mss() as u16;
                        c.rec.set_mss(mss as u32);
                        ctx.soft_error(c.cfg.soft_errors, SoftError::PathMtuReduced(mss));
                    }
                }
                e if e.is_hard() => {
                    //= rfc9293#3.9.2.2
                    //~ paraphrase: Hard errors (protocol/port unreachable) abort (SHLD-26).
                    let err = if state == State::SynSent {
                        ConnectionError::Refused
                    } else {
                        ConnectionError::Unreachable
                    };
                    c.fail(ctx, err);
                }
                e => {
                    //= rfc9293#3.9.2.2
                    //~ paraphrase: Soft errors are reported, never fatal (MUST-56, SHLD-25).
                    ctx.soft_error(c.cfg.soft_errors, SoftError::Icmp(e));
                }
            }
        });
        self.after(id);
    }
}
