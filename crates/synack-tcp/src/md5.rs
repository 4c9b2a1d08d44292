//! TCP MD5 signatures (RFC 2385) in the endpoint: the keys, which segment is signed with which,
//! and what the receive check counts.
//!
//! Keys are held by the endpoint, each for a peer address prefix (Linux's `TCP_MD5SIG`, and
//! `TCP_MD5SIG_EXT` with `tcpm_prefixlen`) and optionally one local port (a listener's, or a
//! bound socket's). Linux keeps the list per socket; one list per endpoint with the local
//! port as scope gives the same answers for the usual use (a BGP speaker's listener and its
//! outgoing connections to the same peers) without a pointer in every connection. As in
//! Linux, the key is looked up for each segment, so adding or removing one takes effect on
//! the next segment.

use alloc::vec::Vec;
use core::fmt;
use core::net::IpAddr;

use synack_wire::tcp::md5sig::MAX_KEY_LEN;

/// One MD5 key: the peers it is for and the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Md5Key {
    peer: IpAddr,
    prefix_len: u8,
    local_port: Option<u16>,
    secret: Vec<u8>,
}

impl fmt::Debug for Md5Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The secret stays out of logs.
        f.debug_struct("Md5Key")
            .field("peer", &self.peer)
            .field("prefix_len", &self.prefix_len)
            .field("local_port", &self.local_port)
            .finish_non_exhaustive()
    }
}

/// Why a key was refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum Md5KeyError {
    /// The secret is empty (Linux's `tcpm_keylen` 0 deletes a key; use
    /// [`Endpoint::remove_md5_key`](crate::Endpoint::remove_md5_key)).
    Empty,
    /// The secret is longer than 80 bytes (`TCP_MD5SIG_MAXKEYLEN`).
    TooLong,
    /// The prefix is longer than the address (32 bits for IPv4, 128 for IPv6).
    BadPrefix,
}

impl fmt::Display for Md5KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Md5KeyError::Empty => "empty TCP-MD5 key",
            Md5KeyError::TooLong => "TCP-MD5 key longer than 80 bytes",
            Md5KeyError::BadPrefix => "TCP-MD5 key prefix longer than the address",
        })
    }
}

impl core::error::Error for Md5KeyError {}

impl Md5Key {
    /// A key for the one peer address `peer`.
    pub fn new(peer: IpAddr, secret: &[u8]) -> Result<Md5Key, Md5KeyError> {
        let bits = if peer.is_ipv4() { 32 } else { 128 };
        Md5Key::for_prefix(peer, bits, secret)
    }

    /// A key for every peer whose address begins with the first `prefix_len` bits of `peer`
    /// (`TCP_MD5SIG_EXT` with `TCP_MD5SIG_FLAG_PREFIX`); `prefix_len` 0 covers every peer of
    /// that family.
    pub fn for_prefix(peer: IpAddr, prefix_len: u8, secret: &[u8]) -> Result<Md5Key, Md5KeyError> {
        let bits = if peer.is_ipv4() { 32 } else { 128 };
        if prefix_len > bits {
            return Err(Md5KeyError::BadPrefix);
        }
        if secret.is_empty() {
            return Err(Md5KeyError::Empty);
        }
        if secret.len() > MAX_KEY_LEN {
            return Err(Md5KeyError::TooLong);
        }
        Ok(Md5Key { peer, prefix_len, local_port: None, secret: secret.to_vec() })
    }

    /// The same key, only for segments to or from local port `port` (a listener's or a bound
    /// socket's port); without it a key serves every local port.
    pub fn on_local_port(mut self, port: u16) -> Md5Key {
        self.local_port = Some(port);
        self
    }

    /// The peer address (prefix) the key is for.
    pub fn peer(&self) -> (IpAddr, u8) {
        (self.peer, self.prefix_len)
    }

    /// The local port the key is limited to, if any.
    pub fn local_port(&self) -> Option<u16> {
        self.local_port
    }

    fn same_scope(&self, other: &Md5Key) -> bool {
        self.peer == other.peer
            && self.prefix_len == other.prefix_len
            && self.local_port == other.local_port
    }

    fn covers(&self, local_port: u16, peer: IpAddr) -> bool {
        if self.local_port.is_some_and(|p| p != local_port) {
            return false;
        }
        match (self.peer, peer) {
            (IpAddr::V4(k), IpAddr::V4(p)) => prefix_eq(&k.octets(), &p.octets(), self.prefix_len),
            (IpAddr::V6(k), IpAddr::V6(p)) => prefix_eq(&k.octets(), &p.octets(), self.prefix_len),
            _ => false,
        }
    }
}

/// Whether the first `bits` bits of `a` and `b` agree.
fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let whole = usize::from(bits / 8);
    let rest = bits % 8;
    if a[..whole] != b[..whole] {
        return false;
    }
    rest == 0 || {
        let mask = 0xffu8 << (8 - rest);
        a[whole] & mask == b[whole] & mask
    }
}

/// What the receive check did (Linux's `TCPMD5NotFound`, `TCPMD5Unexpected`,
/// `TCPMD5Failure`), since the endpoint was made.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
#[non_exhaustive]
pub struct Md5Counters {
    /// Dropped: a key applies but the segment carried no signature.
    pub not_found: u64,
    /// Dropped: the segment carried a signature a connection or listener without a key was
    /// not expecting.
    pub unexpected: u64,
    /// Dropped: the signature did not match the key.
    pub failure: u64,
    /// Segments whose signature was checked and right.
    pub verified: u64,
}

/// The endpoint's keys.
#[derive(Clone, Debug, Default)]
pub(crate) struct Md5Keys {
    keys: Vec<Md5Key>,
}

impl Md5Keys {
    /// Adds `key`, replacing one with the same peer prefix and local port.
    pub(crate) fn insert(&mut self, key: Md5Key) {
        match self.keys.iter_mut().find(|k| k.same_scope(&key)) {
            Some(k) => *k = key,
            None => self.keys.push(key),
        }
    }

    /// Removes the key for exactly this scope; true when there was one.
    pub(crate) fn remove(&mut self, peer: IpAddr, prefix_len: u8, local_port: Option<u16>) -> bool {
        let before = self.keys.len();
        self.keys.retain(|k| {
            !(k.peer == peer && k.prefix_len == prefix_len && k.local_port == local_port)
        });
        self.keys.len() != before
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    //~ linux: tcp_md5_do_lookup takes the matching key with the longest prefix.
    /// The secret for segments between local port `local_port` and `peer`: of the keys that
    /// cover them, one limited to that port before one for every port, then the longest
    /// prefix.
    pub(crate) fn lookup(&self, local_port: u16, peer: IpAddr) -> Option<&[u8]> {
        self.keys
            .iter()
            .filter(|k| k.covers(local_port, peer))
            .max_by_key(|k| (k.local_port.is_some(), k.prefix_len))
            .map(|k| k.secret.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{Ipv4Addr, Ipv6Addr};

    fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(a, b, c, d))
    }

    #[test]
    fn longest_prefix_and_port_scope_win() {
        let mut t = Md5Keys::default();
        t.insert(Md5Key::for_prefix(v4(10, 0, 0, 0), 8, b"wide").unwrap());
        t.insert(Md5Key::for_prefix(v4(10, 1, 0, 0), 16, b"narrow").unwrap());
        t.insert(Md5Key::new(v4(10, 1, 2, 3), b"port").unwrap().on_local_port(179));
        assert_eq!(t.lookup(80, v4(10, 9, 9, 9)), Some(&b"wide"[..]));
        assert_eq!(t.lookup(80, v4(10, 1, 2, 3)), Some(&b"narrow"[..]));
        assert_eq!(t.lookup(179, v4(10, 1, 2, 3)), Some(&b"port"[..]));
        assert_eq!(t.lookup(179, v4(11, 1, 2, 3)), None);
        assert_eq!(t.lookup(179, IpAddr::V6(Ipv6Addr::LOCALHOST)), None);
        // Replacing keeps one entry per scope; removing needs the exact scope.
        t.insert(Md5Key::for_prefix(v4(10, 0, 0, 0), 8, b"wide2").unwrap());
        assert_eq!(t.lookup(80, v4(10, 9, 9, 9)), Some(&b"wide2"[..]));
        assert!(!t.remove(v4(10, 0, 0, 0), 16, None));
        assert!(t.remove(v4(10, 0, 0, 0), 8, None));
        assert_eq!(t.lookup(80, v4(10, 9, 9, 9)), None);
    }

    #[test]
    fn odd_prefixes_and_bad_keys() {
        let k = Md5Key::for_prefix(v4(192, 168, 0, 128), 25, b"k").unwrap();
        assert!(k.covers(1, v4(192, 168, 0, 200)));
        assert!(!k.covers(1, v4(192, 168, 0, 100)));
        assert!(Md5Key::for_prefix(v4(0, 0, 0, 0), 0, b"k").unwrap().covers(1, v4(1, 2, 3, 4)));
        assert_eq!(Md5Key::for_prefix(v4(1, 2, 3, 4), 33, b"k"), Err(Md5KeyError::BadPrefix));
        assert_eq!(Md5Key::new(v4(1, 2, 3, 4), b""), Err(Md5KeyError::Empty));
        assert_eq!(Md5Key::new(v4(1, 2, 3, 4), &[1; 81]), Err(Md5KeyError::TooLong));
        assert!(Md5Key::new(v4(1, 2, 3, 4), &[1; 80]).is_ok());
        assert!(!alloc::format!("{k:?}").contains("107"), "the secret is not printed");
    }
}
