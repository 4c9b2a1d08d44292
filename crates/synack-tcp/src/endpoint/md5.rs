//! The endpoint's side of TCP MD5 signatures (RFC 2385): its keys, the check every arriving
//! segment passes before demultiplexing, and signing what leaves.

use alloc::boxed::Box;
use core::net::IpAddr;

use synack_wire::tcp::TcpRepr;
use synack_wire::tcp::md5sig;

use super::Endpoint;
use crate::md5::{Md5Counters, Md5Key, Md5Keys};
use crate::secret::FourTuple;

impl Endpoint {
    /// Adds an MD5 key (replacing the one with the same peer prefix and local port). Every
    /// segment of a connection made while a key covers it is signed; every segment arriving
    /// from a covered peer must carry a valid signature or is dropped (see
    /// [`Endpoint::md5_counters`]).
    pub fn add_md5_key(&mut self, key: Md5Key) {
        self.md5.get_or_insert_with(|| Box::new(Md5Keys::default())).insert(key);
    }

    /// Removes the key for exactly this peer prefix and local port scope; true when there was
    /// one.
    pub fn remove_md5_key(
        &mut self,
        peer: IpAddr,
        prefix_len: u8,
        local_port: Option<u16>,
    ) -> bool {
        let Some(keys) = self.md5.as_deref_mut() else { return false };
        let removed = keys.remove(peer, prefix_len, local_port);
        if keys.is_empty() {
            self.md5 = None;
        }
        removed
    }

    /// What the signature check did with arriving segments.
    pub fn md5_counters(&self) -> Md5Counters {
        self.md5_counts
    }

    /// The secret that covers `tuple`, if any.
    pub(super) fn md5_secret(&self, tuple: &FourTuple) -> Option<&[u8]> {
        self.md5.as_deref()?.lookup(tuple.local.port(), tuple.remote.ip())
    }

    //= rfc2385#2.0
    //~ paraphrase: A receiver with a key for the connection drops a segment without the option,
    //~ or whose digest differs from its own, silently (no reply of any kind).
    //~ linux: tcp_inbound_md5_hash also drops a signed segment for a socket without a key
    //~ (TCPMD5Unexpected); with no socket at all, the segment is answered as usual.
    //~ freebsd: the signature check fails a signed segment for a socket not expecting one
    //~ (tcps_sig_err_sigopt), and the syncache drops a bad or missing one without a RST.
    /// Whether `seg` (on `tuple`, from `src` to `dst`) may go on to demultiplexing.
    pub(super) fn md5_admits(
        &mut self,
        tuple: &FourTuple,
        src: IpAddr,
        dst: IpAddr,
        seg: &TcpRepr<'_>,
    ) -> bool {
        if self.md5.is_none() && seg.options.md5.is_none() {
            return true;
        }
        let keys = self.md5.as_deref();
        match keys.and_then(|k| k.lookup(tuple.local.port(), tuple.remote.ip())) {
            Some(secret) => {
                let counts = &mut self.md5_counts;
                if seg.options.md5.is_none() {
                    counts.not_found += 1;
                    false
                } else if md5sig::verify_repr(seg, src, dst, secret) {
                    counts.verified += 1;
                    true
                } else {
                    counts.failure += 1;
                    false
                }
            }
            None => {
                let socket =
                    self.conn_for(tuple).is_some() || self.find_listener(tuple.local).is_some();
                if socket {
                    self.md5_counts.unexpected += 1;
                }
                !socket
            }
        }
    }

    /// Signs the segment `seg` written for `tuple` when its options reserve the MD5 option's
    /// place, and returns the digest written. A connection whose key was removed since it
    /// was made keeps sending the option, unsigned (zeros): its peer drops those segments, as
    /// it would unsigned ones.
    pub(super) fn md5_sign(&self, tuple: &FourTuple, seg: &mut [u8]) -> Option<[u8; 16]> {
        let secret = self.md5_secret(tuple)?;
        md5sig::sign(tuple.local.ip(), tuple.remote.ip(), seg, secret)
    }
}
