//! Ephemeral port choice, RFC 6056 algorithm 3 ("simple hash-based"): a keyed hash of the
//! local address and the remote endpoint picks where the search starts, and a small table of
//! per-bucket counters makes successive connections to one destination use different ports.

use core::net::{IpAddr, SocketAddr};

use crate::secret::{Purpose, Secrets};

const TABLE: usize = 256;

pub(crate) struct PortAllocator {
    min: u16,
    max: u16,
    table: [u16; TABLE],
}

impl PortAllocator {
    pub(crate) fn new(range: (u16, u16), seed: u64) -> PortAllocator {
        let (a, b) = range;
        let (min, max) = (a.min(b).max(1), a.max(b).max(1));
        // The seed only perturbs the table's start; the secret does the real work.
        let mut table = [0u16; TABLE];
        let mut x = seed | 1;
        for e in table.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *e = x as u16;
        }
        PortAllocator { min, max, table }
    }

    //= rfc6056#3.3.3
    //~ paraphrase: next_ephemeral = min + (F(laddr, raddr, rport, key) + table[G(...)] + i) % num,
    //~ trying each port at most once.
    pub(crate) fn pick(
        &mut self,
        secrets: &Secrets,
        local: IpAddr,
        remote: SocketAddr,
        mut free: impl FnMut(u16) -> bool,
    ) -> Option<u16> {
        let num = (self.max - self.min) as u32 + 1;
        let offset = secrets.hash_port(Purpose::Port, local, remote) as u32;
        let idx = (secrets.hash_port(Purpose::PortTable, local, remote) as usize) % TABLE;
        for i in 0..num {
            let port =
                self.min as u32 + offset.wrapping_add(self.table[idx] as u32).wrapping_add(i) % num;
            let port = port as u16;
            if free(port) {
                self.table[idx] = self.table[idx].wrapping_add(i as u16 + 1);
                return Some(port);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;

    #[test]
    fn successive_ports_differ_and_exhaustion_is_reported() {
        let s = Secrets::new([3; 16]);
        let mut p = PortAllocator::new((50000, 50003), 9);
        let l = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let r = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 80);
        let mut used = std::vec::Vec::new();
        for _ in 0..4 {
            let port = p.pick(&s, l, r, |x| !used.contains(&x)).unwrap();
            assert!((50000..=50003).contains(&port));
            used.push(port);
        }
        assert_eq!(p.pick(&s, l, r, |x| !used.contains(&x)), None);
    }
}
