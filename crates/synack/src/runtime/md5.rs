//! TCP MD5 signatures (RFC 2385) on a stack: its keys, as Linux's `TCP_MD5SIG` sets them.

use std::io::{self, ErrorKind};
use std::net::IpAddr;

use synack_tcp::{Md5Counters, Md5Key};

use super::Stack;

impl Stack {
    /// Adds a TCP-MD5 key (replacing the one for the same peer prefix and local port): from
    /// now on, connections made to or from the peers it covers sign every segment with it,
    /// and segments from those peers without a valid signature are dropped unanswered. The
    /// form for an outgoing connection (a BGP speaker's), set before connecting: Linux's
    /// `TCP_MD5SIG` on the socket before `connect`.
    pub fn add_md5_key(&self, key: Md5Key) {
        self.with(|st, _| st.endpoint.add_md5_key(key));
    }

    /// Removes the key for exactly this peer prefix and local port; true when there was one.
    pub fn remove_md5_key(&self, peer: IpAddr, prefix_len: u8, local_port: Option<u16>) -> bool {
        self.with(|st, _| st.endpoint.remove_md5_key(peer, prefix_len, local_port))
    }

    /// What the signature check dropped and passed.
    pub fn md5_counters(&self) -> Md5Counters {
        self.with(|st, _| st.endpoint.md5_counters())
    }

    /// A listener's `TCP_MD5SIG`: `secret` for the peers in `peer/prefix_len` on
    /// `local_port`; an empty secret removes the key (as a zero `tcpm_keylen` does).
    pub(crate) fn set_port_md5_key(
        &self,
        local_port: u16,
        peer: IpAddr,
        prefix_len: u8,
        secret: &[u8],
    ) -> io::Result<()> {
        if secret.is_empty() {
            self.remove_md5_key(peer, prefix_len, Some(local_port));
            return Ok(());
        }
        let key = Md5Key::for_prefix(peer, prefix_len, secret)
            .map_err(|e| io::Error::new(ErrorKind::InvalidInput, e))?
            .on_local_port(local_port);
        self.add_md5_key(key);
        Ok(())
    }
}
