//! The wildcard listener: one listener that takes SYNs for every address and port no other
//! listener claims (the accept-any path of transparent proxies and tun2socks-style relays).
//!
//! It is an ordinary listener (SYN queue, accept queue bounded by its backlog, SYN cookies
//! when the SYN queue is full) kept in the listener map under [`ANY_LISTENER`], a key no
//! ordinary listener can have (port 0 is refused by `listen`). Lookups try the exact address,
//! then the unspecified address of the port, then this key, so ordinary listeners win. Its
//! children carry the SYN's own destination as their local address; nothing per destination
//! is kept beyond the connections themselves.

use core::net::{IpAddr, SocketAddr};

use synack_wire::tcp::TcpRepr;

use super::listen::ANY_LISTENER;
use super::{Endpoint, ListenerId};
use crate::config::ConnConfig;
use crate::error::ListenError;
use crate::secret::FourTuple;
use crate::time::Instant;

impl Endpoint {
    /// Passive OPEN on every address and port, IPv4 and IPv6: SYNs that match no connection
    /// and no other listener start a connection here (accept queue of `backlog`). At most one
    /// per endpoint (`AddrInUse`); close it with [`close_listener`](Self::close_listener).
    pub fn listen_any(
        &mut self,
        backlog: usize,
        cfg: ConnConfig,
    ) -> Result<ListenerId, ListenError> {
        if backlog == 0 {
            return Err(ListenError::InvalidBacklog);
        }
        if self.by_local.contains_key(&ANY_LISTENER) {
            return Err(ListenError::AddrInUse);
        }
        Ok(self.add_listener(ANY_LISTENER, backlog, cfg))
    }

    /// The listener a new connection to `local` would start on (exact address, then the
    /// port's unspecified address, then the wildcard listener), if any.
    pub fn listener_for(&self, local: SocketAddr) -> Option<ListenerId> {
        self.find_listener(local)
    }

    /// True when `seg`, a SYN for `tuple`, would reopen that tuple's TIME-WAIT connection
    /// (RFC 6191): the engine then treats it as a new SYN to the listener of `tuple.local`,
    /// so a relay deciding new SYNs for the wildcard listener decides this one too.
    pub fn syn_reopens(&self, tuple: &FourTuple, seg: &TcpRepr<'_>) -> bool {
        self.lookup(tuple)
            .and_then(|id| self.conn(id).ok())
            .is_some_and(|c| c.reopen_iss(seg).is_some())
    }

    /// Answers `seg` (from `src` to `dst`) as a closed port does: RST for anything but a RST,
    /// whatever listener would have taken it. A relay that refuses a connection uses this.
    pub fn refuse_segment(&mut self, now: Instant, src: IpAddr, dst: IpAddr, seg: &TcpRepr<'_>) {
        self.advance(now);
        let tuple = FourTuple {
            local: SocketAddr::new(dst, seg.dst_port),
            remote: SocketAddr::new(src, seg.src_port),
        };
        self.closed_input(tuple, seg);
    }

    /// Listeners open (the wildcard listener included).
    pub fn listener_count(&self) -> usize {
        self.by_local.len()
    }
}
