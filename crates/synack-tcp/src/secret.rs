//! Keyed hashing: initial sequence numbers (RFC 9293 3.4.1), SYN cookies, RFC 6056 port
//! choice and the hash-map hasher, all from one 128-bit secret the caller injects.

use core::hash::{BuildHasher, Hash, Hasher};
use core::net::{IpAddr, SocketAddr};
use siphasher::sip::SipHasher13;

use crate::time::Instant;

/// A 4-tuple: our address and port, the peer's address and port.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct FourTuple {
    /// Our side.
    pub local: SocketAddr,
    /// The peer's side.
    pub remote: SocketAddr,
}

/// The secret keys, split by purpose so that one output never reveals another.
#[derive(Clone)]
pub(crate) struct Secrets {
    key: [u8; 16],
}

/// Domain separators mixed into each keyed hash.
#[derive(Clone, Copy)]
pub(crate) enum Purpose {
    Isn = 1,
    Cookie = 2,
    Port = 3,
    PortTable = 4,
    TsOffset = 5,
    Map = 6,
    FastOpen = 7,
    TupleMap = 8,
}

impl Secrets {
    pub(crate) fn new(key: [u8; 16]) -> Self {
        Secrets { key }
    }

    fn hasher(&self, purpose: Purpose) -> SipHasher13 {
        let mut h = SipHasher13::new_with_key(&self.key);
        h.write_u8(purpose as u8);
        h
    }

    /// Keyed hash of a tuple (and extra words) for one purpose.
    pub(crate) fn hash_tuple(&self, purpose: Purpose, t: &FourTuple, extra: &[u32]) -> u64 {
        let mut h = self.hasher(purpose);
        hash_addr(&mut h, t.local);
        hash_addr(&mut h, t.remote);
        for e in extra {
            h.write_u32(*e);
        }
        h.finish()
    }

    /// Keyed hash of local address, remote address and remote port (RFC 6056 F and G).
    pub(crate) fn hash_port(&self, purpose: Purpose, local: IpAddr, remote: SocketAddr) -> u64 {
        let mut h = self.hasher(purpose);
        hash_ip(&mut h, local);
        hash_addr(&mut h, remote);
        h.finish()
    }

    //= rfc9293#3.4.1
    //~ paraphrase: ISN = M + F(localip, localport, remoteip, remoteport, secretkey): M ticks every
    //~ 4 us.
    pub(crate) fn isn(&self, now: Instant, t: &FourTuple) -> u32 {
        let m = (now.as_micros() / 4) as u32;
        let f = self.hash_tuple(Purpose::Isn, t, &[]) as u32;
        m.wrapping_add(f)
    }

    /// A 128-bit key for one purpose, derived from the secret (so one output never reveals
    /// the secret or another purpose's key).
    pub(crate) fn derive_key(&self, purpose: Purpose) -> [u8; 16] {
        let a = self.hasher(purpose).finish();
        let mut h = self.hasher(purpose);
        h.write_u64(a);
        let b = h.finish();
        let mut k = [0u8; 16];
        k[..8].copy_from_slice(&a.to_le_bytes());
        k[8..].copy_from_slice(&b.to_le_bytes());
        k
    }

    /// A per-connection offset for our timestamp clock (RFC 7323 section 5.4 recommends one).
    pub(crate) fn ts_offset(&self, t: &FourTuple) -> u32 {
        self.hash_tuple(Purpose::TsOffset, t, &[]) as u32
    }

    /// The key of the 4-tuple map's hash ([`crate::tuple_map`]): 128 bits derived from the
    /// secret, so a peer cannot aim collisions.
    pub(crate) fn tuple_key(&self) -> crate::tuple_map::TupleKey {
        let k = self.derive_key(Purpose::TupleMap);
        let word = |b: &[u8]| u64::from_le_bytes(b.try_into().expect("8 bytes"));
        crate::tuple_map::TupleKey::new(word(&k[..8]), word(&k[8..]))
    }

    /// A hasher factory for the listener map: keyed, so a peer cannot aim collisions.
    pub(crate) fn map_hasher(&self) -> KeyedState {
        let h = self.hasher(Purpose::Map);
        let k0 = h.finish();
        let mut h2 = self.hasher(Purpose::Map);
        h2.write_u64(k0);
        KeyedState { k0, k1: h2.finish() }
    }
}

/// Feeds an address's octets to `h`. An IPv4 address goes in as one `u32` whose bytes in
/// memory are its octets (siphasher takes a `u32` in as those bytes): the same input and the
/// same hash, but one fixed-size write skips the general byte-slice path, a sizeable part of
/// an ISN's cost (the endpoint hashes for every ISN, SYN cookie and ephemeral port).
fn hash_ip(h: &mut SipHasher13, ip: IpAddr) {
    match ip {
        IpAddr::V4(a) => h.write_u32(u32::from_ne_bytes(a.octets())),
        IpAddr::V6(a) => h.write(&a.octets()),
    }
}

fn hash_addr(h: &mut SipHasher13, a: SocketAddr) {
    hash_ip(h, a.ip());
    h.write_u16(a.port());
}

/// `BuildHasher` for the endpoint's maps: SipHash-1-3 with keys derived from the secret.
#[derive(Clone, Copy)]
pub(crate) struct KeyedState {
    k0: u64,
    k1: u64,
}

impl BuildHasher for KeyedState {
    type Hasher = SipHasher13;
    fn build_hasher(&self) -> SipHasher13 {
        SipHasher13::new_with_keys(self.k0, self.k1)
    }
}

/// Hash helper used by tests and the port allocator.
#[allow(dead_code)]
pub(crate) fn plain_hash<T: Hash>(s: &KeyedState, v: &T) -> u64 {
    s.hash_one(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;

    fn tuple(port: u16) -> FourTuple {
        FourTuple {
            local: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 80),
            remote: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), port),
        }
    }

    #[test]
    fn an_ipv4_address_hashes_as_its_octets() {
        let s = Secrets::new([7; 16]);
        for a in [Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(192, 168, 200, 7), Ipv4Addr::BROADCAST]
        {
            let (mut fast, mut bytes) = (s.hasher(Purpose::Map), s.hasher(Purpose::Map));
            hash_addr(&mut fast, SocketAddr::new(IpAddr::V4(a), 443));
            bytes.write(&a.octets());
            bytes.write_u16(443);
            assert_eq!(fast.finish(), bytes.finish(), "{a}");
        }
    }

    #[test]
    fn must_8_isn_tracks_4us_clock() {
        let s = Secrets::new([7; 16]);
        let a = s.isn(Instant::from_micros(1000), &tuple(5000));
        let b = s.isn(Instant::from_micros(1000 + 4 * 12345), &tuple(5000));
        assert_eq!(b.wrapping_sub(a), 12345);
    }

    #[test]
    fn must_9_isn_keyed_and_tuple_dependent() {
        let s1 = Secrets::new([7; 16]);
        let s2 = Secrets::new([8; 16]);
        let t = Instant::from_secs(1);
        assert_ne!(s1.isn(t, &tuple(5000)), s2.isn(t, &tuple(5000)));
        // Neighbouring ports give unrelated ISNs (no constant offset).
        let d1 = s1.isn(t, &tuple(5001)).wrapping_sub(s1.isn(t, &tuple(5000)));
        let d2 = s1.isn(t, &tuple(5002)).wrapping_sub(s1.isn(t, &tuple(5001)));
        assert_ne!(d1, d2);
    }
}
