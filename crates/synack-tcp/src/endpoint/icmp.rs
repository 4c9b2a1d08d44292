//! ICMP errors applied to the connection whose segment they quote.

use core::net::SocketAddr;

use synack_wire::SeqNum;

use super::Endpoint;
use crate::error::ConnectionError;
use crate::event::SoftError;
use crate::icmp::{IcmpError, IcmpPolicy, IcmpVerdict};
use crate::secret::FourTuple;
use crate::state::State;
use crate::time::Instant;
use crate::udp_encap::UdpPort;

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
        self.icmp_error(now, local, remote, None, seq, error);
    }

    /// An ICMP error quoting a segment we sent inside a UDP datagram (TCP over UDP, see
    /// [`crate::udp_encap`]) to remote UDP port `udp_port`: it concerns the connection only if
    /// that connection's segments travel to that port. The caller has checked that the quoted
    /// datagram left from its tunnel port.
    pub fn on_udp_icmp_error(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        udp_port: core::num::NonZeroU16,
        seq: SeqNum,
        error: IcmpError,
    ) {
        self.icmp_error(now, local, remote, Some(udp_port), seq, error);
    }

    fn icmp_error(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        via: UdpPort,
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
        //~ linux: a route whose MTU is locked keeps it (__ip_rt_update_pmtu).
        if matches!(error, IcmpError::PacketTooBig { .. }) && self.route_mtu_locked(remote.ip()) {
            return;
        }
        let learned = self.with_conn(id, |c, ctx| {
            // The quoted segment went the way this connection's segments go (plain TCP, or
            // UDP to its encapsulation port), or it is not about this connection.
            if c.cfg.udp_encapsulation != via {
                return None;
            }
            let state = c.state();
            let snd = c.tcb.snd()?;
            //= rfc5927#4.1
            //~ paraphrase: Only an error quoting an unacknowledged sequence number is believed.
            if !seq.in_range(snd.una, snd.max_nxt) {
                return None;
            }
            let quotes_iss = seq == snd.iss;
            if let IcmpError::PacketTooBig { mtu } = error {
                return c.path_mtu_reduced(ctx, mtu as usize);
            }
            let passive_half_open = state == State::SynReceived
                && c.is_passive_syn_received()
                && !c.is_fast_open_child();
            let verdict = c.cfg.icmp_policy.verdict(
                error,
                state,
                passive_half_open,
                c.is_fast_open_child(),
                quotes_iss,
            );
            match verdict {
                IcmpVerdict::Abort => {
                    let err = match c.cfg.icmp_policy {
                        //= rfc9293#3.9.2.2
                        //~ paraphrase: Hard errors (protocol/port unreachable) abort (SHLD-26).
                        IcmpPolicy::Rfc if state == State::SynSent => ConnectionError::Refused,
                        IcmpPolicy::Rfc => ConnectionError::Unreachable,
                        _ => ConnectionError::Icmp(error),
                    };
                    c.fail(ctx, err);
                }
                IcmpVerdict::DropHalfOpen => c.drop_half_open(ctx),
                IcmpVerdict::Soft => {
                    //= rfc9293#3.9.2.2
                    //~ paraphrase: Soft errors are reported, never fatal (MUST-56, SHLD-25).
                    ctx.soft_error(c.cfg.soft_errors, SoftError::Icmp(error));
                }
            }
            None
        });
        self.after(id);
        //= rfc1191#5
        //~ paraphrase: The estimate is kept per path, for the connections that follow.
        if let Some(mtu) = learned.flatten() {
            self.pmtu.learn(remote.ip(), mtu, now);
        }
    }
}
