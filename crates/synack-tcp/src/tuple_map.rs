//! The endpoint's 4-tuple index: which connection slot a segment's 4-tuple belongs to.
//!
//! A `HashMap<FourTuple, ConnId>` stores the 64-byte tuple a second time (the connection
//! already holds it) and takes 72 bytes a bucket; with the map's power-of-two capacity that
//! was about 95 bytes per connection, a sixth of the idle-connection budget. This
//! table stores only the 4-byte slot index and compares candidates against the tuple the
//! slot's connection holds, which the endpoint reads anyway right after a lookup.
//!
//! The hash is foldhash (quality variant) keyed with 128 bits derived from the endpoint's
//! secret: a peer choosing its addresses and ports cannot aim collisions at one bucket
//! without the key, and one IPv4 lookup costs two folded multiplies instead of SipHash's
//! rounds (every segment of a connection's setup misses the endpoint's one-entry cache and
//! hashes).

use core::hash::Hasher;
use core::net::IpAddr;

use foldhash::SharedSeed;
use foldhash::quality::FoldHasher;
use hashbrown::HashTable;

use crate::secret::FourTuple;

/// The 4-tuple map's key: foldhash's shared seed and its per-hasher seed, both derived from
/// the endpoint's secret.
#[derive(Clone)]
pub(crate) struct TupleKey {
    shared: SharedSeed,
    per_hasher: u64,
}

impl TupleKey {
    /// A key from two secret words.
    pub(crate) fn new(k0: u64, k1: u64) -> TupleKey {
        TupleKey { shared: SharedSeed::from_u64(k0), per_hasher: k1 }
    }

    /// The keyed hash of a 4-tuple, fed as a few packed words (a derived `Hash` of two
    /// `SocketAddr`s makes about a dozen small writes: enum tags, each address, each port).
    /// Equal tuples give equal hashes (IPv6 flow labels and scope ids, compared by `==`, are
    /// simply left out of the hash).
    fn hash(&self, t: &FourTuple) -> u64 {
        let mut h = FoldHasher::with_seed(self.per_hasher, &self.shared);
        let ports = u32::from(t.local.port()) << 16 | u32::from(t.remote.port());
        match (t.local.ip(), t.remote.ip()) {
            (IpAddr::V4(l), IpAddr::V4(r)) => {
                h.write_u64(u64::from(l.to_bits()) << 32 | u64::from(r.to_bits()));
            }
            (l, r) => {
                h.write_u128(ip_bits(l));
                h.write_u128(ip_bits(r));
            }
        }
        h.write_u32(ports);
        h.finish()
    }
}

/// An address as 128 bits (IPv4 in the low 32).
fn ip_bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(a.to_bits()),
        IpAddr::V6(a) => a.to_bits(),
    }
}

/// Slot indexes keyed by the 4-tuple of the connection in the slot.
///
/// Every method takes `tuple_of`, which gives the tuple of the connection in a slot (`None`
/// for an empty slot). An index must stay in the table only while its slot holds the
/// connection it was inserted for: remove it before the connection leaves the slot.
pub(crate) struct TupleMap {
    table: HashTable<u32>,
    key: TupleKey,
}

impl TupleMap {
    /// An empty map hashing with `key`.
    pub(crate) fn new(key: TupleKey) -> TupleMap {
        TupleMap { table: HashTable::new(), key }
    }

    fn hash(&self, tuple: &FourTuple) -> u64 {
        self.key.hash(tuple)
    }

    /// The slot holding the connection for `tuple`.
    pub(crate) fn get(
        &self,
        tuple: &FourTuple,
        tuple_of: impl Fn(u32) -> Option<FourTuple>,
    ) -> Option<u32> {
        let hash = self.hash(tuple);
        self.table.find(hash, |&i| tuple_of(i).as_ref() == Some(tuple)).copied()
    }

    /// Whether some slot holds a connection for `tuple`.
    pub(crate) fn contains(
        &self,
        tuple: &FourTuple,
        tuple_of: impl Fn(u32) -> Option<FourTuple>,
    ) -> bool {
        self.get(tuple, tuple_of).is_some()
    }

    /// Records that slot `index` holds the connection for `tuple` (which no other slot in the
    /// map holds: the endpoint checks before it creates a connection).
    pub(crate) fn insert(
        &mut self,
        tuple: &FourTuple,
        index: u32,
        tuple_of: impl Fn(u32) -> Option<FourTuple>,
    ) {
        let key = &self.key;
        let hash = key.hash(tuple);
        // Growing rehashes every entry from its slot's tuple; every entry's slot holds its
        // connection (the contract above), so `unwrap_or` never decides anything.
        let rehash = |&i: &u32| tuple_of(i).map_or(0, |t| key.hash(&t));
        self.table.insert_unique(hash, index, rehash);
    }

    /// Forgets slot `index` for `tuple`; false if the map did not have it.
    pub(crate) fn remove(&mut self, tuple: &FourTuple, index: u32) -> bool {
        let hash = self.hash(tuple);
        match self.table.find_entry(hash, |&i| i == index) {
            Ok(entry) => {
                entry.remove();
                true
            }
            Err(_) => false,
        }
    }

    /// Gives back capacity after a peak: shrinks to twice the entries left once under a
    /// quarter of the capacity is used, keeping room for [`KEEP`](Self::KEEP) entries (4
    /// bytes each) so that a host whose connections come and go in batches does not regrow
    /// the table, rehashing every entry, after each batch.
    pub(crate) fn shrink(&mut self, tuple_of: impl Fn(u32) -> Option<FourTuple>) {
        let (len, cap) = (self.table.len(), self.table.capacity());
        if cap > 4 * len + Self::KEEP {
            let key = &self.key;
            let rehash = |&i: &u32| tuple_of(i).map_or(0, |t| key.hash(&t));
            self.table.shrink_to((2 * len).max(Self::KEEP), rehash);
        }
    }

    /// Entries the table keeps room for however few are left.
    const KEEP: usize = 1024;

    /// Number of mapped connections.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secrets;
    use core::net::SocketAddr;
    use std::vec::Vec;

    fn tuple(port: u16) -> FourTuple {
        FourTuple {
            local: SocketAddr::new("10.0.0.1".parse().unwrap(), port),
            remote: "10.0.0.2:80".parse().unwrap(),
        }
    }

    #[test]
    fn the_hash_depends_on_the_secret() {
        let (k1, k2) = (Secrets::new([1; 16]).tuple_key(), Secrets::new([2; 16]).tuple_key());
        let t = tuple(1000);
        assert_eq!(k1.hash(&t), Secrets::new([1; 16]).tuple_key().hash(&t));
        assert_ne!(k1.hash(&t), k2.hash(&t));
        // Neighbouring ports do not land in neighbouring hashes under either key.
        for k in [&k1, &k2] {
            let d1 = k.hash(&tuple(1001)).wrapping_sub(k.hash(&t));
            let d2 = k.hash(&tuple(1002)).wrapping_sub(k.hash(&tuple(1001)));
            assert_ne!(d1, d2);
        }
    }

    #[test]
    fn ipv6_tuples_and_port_order_matter() {
        let v6 =
            |l: &str, r: &str| FourTuple { local: l.parse().unwrap(), remote: r.parse().unwrap() };
        let a = v6("[2001:db8::1]:1000", "[2001:db8::2]:80");
        let b = v6("[2001:db8::1]:80", "[2001:db8::2]:1000");
        let slots = [Some(a), Some(b), Some(tuple(1000))];
        let of = |i: u32| slots[i as usize];
        let mut map = TupleMap::new(Secrets::new([1; 16]).tuple_key());
        for (i, t) in slots.iter().enumerate() {
            map.insert(t.as_ref().unwrap(), i as u32, of);
        }
        assert_eq!(map.get(&a, of), Some(0));
        assert_eq!(map.get(&b, of), Some(1));
        assert_eq!(map.get(&tuple(1000), of), Some(2));
        assert_eq!(map.get(&v6("[2001:db8::1]:1000", "[2001:db8::3]:80"), of), None);
    }

    #[test]
    fn finds_inserted_slots_and_forgets_removed_ones_across_growth() {
        let mut slots: Vec<Option<FourTuple>> = Vec::new();
        let mut map = TupleMap::new(Secrets::new([7; 16]).tuple_key());
        for p in 0..2000u16 {
            slots.push(Some(tuple(1000 + p)));
            let of = |i: u32| slots[i as usize];
            assert!(!map.contains(&tuple(1000 + p), of));
            map.insert(&tuple(1000 + p), u32::from(p), of);
        }
        assert_eq!(map.len(), 2000);
        let of = |i: u32| slots[i as usize];
        for p in 0..2000u16 {
            assert_eq!(map.get(&tuple(1000 + p), of), Some(u32::from(p)));
        }
        assert_eq!(map.get(&tuple(9999), of), None);
        // Remove the even ones, then empty their slots (the order the endpoint keeps).
        for p in (0..2000u16).step_by(2) {
            assert!(map.remove(&tuple(1000 + p), u32::from(p)));
            assert!(!map.remove(&tuple(1000 + p), u32::from(p)));
        }
        for p in (0..2000u16).step_by(2) {
            slots[usize::from(p)] = None;
        }
        let of = |i: u32| slots[i as usize];
        for p in 0..2000u16 {
            let want = (p % 2 == 1).then_some(u32::from(p));
            assert_eq!(map.get(&tuple(1000 + p), of), want);
        }
        // A slot reused for another tuple is found under the new one only.
        slots[0] = Some(tuple(5));
        let of = |i: u32| slots[i as usize];
        map.insert(&tuple(5), 0, of);
        assert_eq!(map.get(&tuple(5), of), Some(0));
        assert_eq!(map.get(&tuple(1000), of), None);
    }
}
