//! The endpoint's 4-tuple index: which connection slot a segment's 4-tuple belongs to.
//!
//! A `HashMap<FourTuple, ConnId>` stores the 64-byte tuple a second time (the connection
//! already holds it) and takes 72 bytes a bucket; with the map's power-of-two capacity that
//! was about 95 bytes per connection, a sixth of the idle-connection budget (issue 5). This
//! table stores only the 4-byte slot index and compares candidates against the tuple the
//! slot's connection holds, which the endpoint reads anyway right after a lookup. The hash is
//! the same keyed SipHash of the tuple (RFC 9293 MUST-9 style: peers cannot choose
//! collisions).

use core::hash::BuildHasher;

use hashbrown::HashTable;

use crate::secret::{FourTuple, KeyedState};

/// Slot indexes keyed by the 4-tuple of the connection in the slot.
///
/// Every method takes `tuple_of`, which gives the tuple of the connection in a slot (`None`
/// for an empty slot). An index must stay in the table only while its slot holds the
/// connection it was inserted for: remove it before the connection leaves the slot.
pub(crate) struct TupleMap {
    table: HashTable<u32>,
    hasher: KeyedState,
}

impl TupleMap {
    /// An empty map hashing with `hasher`.
    pub(crate) fn new(hasher: KeyedState) -> TupleMap {
        TupleMap { table: HashTable::new(), hasher }
    }

    fn hash(&self, tuple: &FourTuple) -> u64 {
        self.hasher.hash_one(tuple)
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
        let hash = self.hash(tuple);
        let hasher = self.hasher;
        // Growing rehashes every entry from its slot's tuple; every entry's slot holds its
        // connection (the contract above), so `unwrap_or` never decides anything.
        let rehash = |&i: &u32| tuple_of(i).map_or(0, |t| hasher.hash_one(t));
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
    fn finds_inserted_slots_and_forgets_removed_ones_across_growth() {
        let mut slots: Vec<Option<FourTuple>> = Vec::new();
        let mut map = TupleMap::new(Secrets::new([7; 16]).map_hasher());
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
