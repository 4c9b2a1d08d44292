//! TCP Fast Open (RFC 7413): the server's cookies, the client's cookie cache, and the settings
//! that switch each side on.
//!
//! A server hands a client a cookie bound to the client's address; a client that presents it
//! again may put data on its SYN, which the server delivers before the handshake completes.
//! The connection-level work (data on the SYN, the SYN-ACK acknowledging it, retransmitting
//! what the server did not take) lives with the handshake in `conn/`; the listener side in
//! `endpoint/listen.rs`.

use alloc::collections::BTreeMap;
use core::hash::Hasher;
use core::net::IpAddr;

use siphasher::sip::SipHasher24;
use synack_wire::tcp::FastOpenCookie;

use crate::time::{Duration, Instant};

/// Endpoint-wide Fast Open switches, one per bit of Linux's `net.ipv4.tcp_fastopen`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FastOpenConfig {
    /// Client side (Linux 0x1): connections opened with
    /// [`Endpoint::connect_fast_open`](crate::Endpoint::connect_fast_open) ask for a cookie, and
    /// put data on the SYN once one is cached. Off, such connections open as plain ones.
    pub client: bool,
    /// Server side (Linux 0x2): listeners that enabled Fast Open
    /// ([`Endpoint::set_listener_fast_open`](crate::Endpoint::set_listener_fast_open)) hand out
    /// cookies and accept data on SYNs. Off, no listener does.
    pub server: bool,
    /// Client (Linux 0x4): send data on the SYN without any cookie option. Only for servers
    /// known to accept that (RFC 7413 section 3 requires a cookie in general).
    pub client_without_cookie: bool,
    /// Server (Linux 0x200): accept data on any SYN of a Fast Open listener, with or without a
    /// cookie. Exposes the listener to spoofed SYNs with data (RFC 7413 section 5.1).
    pub server_without_cookie: bool,
    /// Server (Linux 0x400): every listener accepts Fast Open, with its backlog as the queue
    /// limit, without enabling it one by one.
    pub server_all_listeners: bool,
    /// Client: when a server answers a Fast Open SYN without a valid cookie and without
    /// taking its data (or a cookie request without a cookie), use no Fast Open towards it
    /// for this long (FreeBSD's path disabling, 60 s there). `None` (Linux's
    /// choice, the default) keeps the cached cookie and tries again next time.
    pub refused_backoff: Option<Duration>,
}

impl Default for FastOpenConfig {
    fn default() -> Self {
        FastOpenConfig {
            client: true,
            server: true,
            client_without_cookie: false,
            server_without_cookie: false,
            server_all_listeners: false,
            refused_backoff: None,
        }
    }
}

impl FastOpenConfig {
    /// The switches Linux's `net.ipv4.tcp_fastopen` bits select (other bits are ignored).
    pub fn from_linux_bits(bits: u32) -> FastOpenConfig {
        FastOpenConfig {
            client: bits & 0x1 != 0,
            server: bits & 0x2 != 0,
            client_without_cookie: bits & 0x4 != 0,
            server_without_cookie: bits & 0x200 != 0,
            server_all_listeners: bits & 0x400 != 0,
            refused_backoff: None,
        }
    }
}

/// Length of the cookies this server hands out.
pub const COOKIE_LEN: usize = 8;

//= rfc7413#4.1.2
//~ paraphrase: The server's cookie is a MAC of the client's IP address under a secret key,
//~ e.g. a block cipher or a keyed hash; the key may be rotated.
/// The server's cookie for a client: SipHash-2-4 of the client's then the server's IP address
/// under `key`, little-endian, which is the cookie Linux computes from the same 16 key bytes
/// (`__tcp_fastopen_cookie_gen_cipher`); so a packetdrill script that fixes Linux's key sees
/// the cookies it expects.
pub fn cookie(key: &[u8; 16], client: IpAddr, server: IpAddr) -> [u8; COOKIE_LEN] {
    let mut h = SipHasher24::new_with_key(key);
    for ip in [client, server] {
        match ip {
            IpAddr::V4(a) => h.write(&a.octets()),
            IpAddr::V6(a) => h.write(&a.octets()),
        }
    }
    h.finish().to_le_bytes()
}

/// Most servers the client remembers; past this the least recently learned one is dropped.
const CACHE_ENTRIES: usize = 1024;

/// How long a destination goes without Fast Open after the first SYN with data was lost (the
/// time doubles with every further loss): Linux's metric (`tcp_fastopen_cache_get`), one
/// minute shifted by the number of losses.
const LOSS_BACKOFF: Duration = Duration::from_secs(60);

/// What the client knows about one server.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct CacheEntry {
    /// The last valid cookie the server gave (with the option kind it came in).
    pub(crate) cookie: Option<FastOpenCookie>,
    /// The MSS on the server's SYN-ACK, which sizes the data on the next SYN.
    pub(crate) mss: Option<u16>,
    /// SYNs with data that went unanswered in a row, and when the last one was lost.
    pub(crate) syn_losses: u8,
    lost_at: Option<Instant>,
    /// Fast Open is off for this server until then (a server that refused the SYN's data
    /// without giving a new cookie, in the profiles that react so).
    disabled_until: Option<Instant>,
    learned: u64,
}

/// The client's cookie cache, by server address (RFC 7413 section 4.2.1: cookies are cached
/// per server IP, with the MSS).
#[derive(Debug, Default)]
pub(crate) struct CookieCache {
    entries: BTreeMap<IpAddr, CacheEntry>,
    clock: u64,
}

impl CookieCache {
    pub(crate) fn get(&self, server: IpAddr) -> Option<&CacheEntry> {
        self.entries.get(&server)
    }

    fn entry(&mut self, server: IpAddr) -> &mut CacheEntry {
        if !self.entries.contains_key(&server) && self.entries.len() >= CACHE_ENTRIES {
            let oldest = self.entries.iter().min_by_key(|(_, e)| e.learned).map(|(k, _)| *k);
            if let Some(k) = oldest {
                self.entries.remove(&k);
            }
        }
        self.clock += 1;
        let clock = self.clock;
        let e = self.entries.entry(server).or_default();
        e.learned = clock;
        e
    }

    //= rfc7413#4.2.1
    //~ paraphrase: The client caches the cookie and the server's MSS from the SYN-ACK; a cookie
    //~ of an invalid length is ignored and the cached one kept.
    /// The server's SYN-ACK answered a Fast Open SYN: remember its MSS and a valid cookie.
    pub(crate) fn learn(
        &mut self,
        server: IpAddr,
        mss: Option<u16>,
        cookie: Option<FastOpenCookie>,
    ) {
        let e = self.entry(server);
        if mss.is_some() {
            e.mss = mss;
        }
        if let Some(c) = cookie.filter(|c| c.is_valid() && !c.is_empty()) {
            e.cookie = Some(c);
        }
        e.syn_losses = 0;
        e.lost_at = None;
    }

    /// A SYN with data timed out and the SYN-ACK to a retransmitted plain SYN neither carried a
    /// cookie nor acknowledged the data: the path may drop SYNs with data.
    pub(crate) fn syn_data_lost(&mut self, server: IpAddr, now: Instant) {
        let e = self.entry(server);
        e.syn_losses = e.syn_losses.saturating_add(1);
        e.lost_at = Some(now);
    }

    /// The server refused the SYN's data and gave no new cookie: no Fast Open to it for
    /// `period` (FreeBSD's `tcp_fastopen_disable_path`).
    pub(crate) fn disable(&mut self, server: IpAddr, now: Instant, period: Duration) {
        let e = self.entry(server);
        e.cookie = None;
        e.disabled_until = Some(now + period);
    }

    /// Whether Fast Open is used towards `server` now.
    pub(crate) fn usable(&self, server: IpAddr, now: Instant) -> bool {
        let Some(e) = self.entries.get(&server) else { return true };
        if e.disabled_until.is_some_and(|t| now < t) {
            return false;
        }
        //~ linux: after more than one lost SYN with data, no Fast Open for 60 s << losses.
        match (e.syn_losses, e.lost_at) {
            (n, Some(t)) if n > 1 => now >= t + LOSS_BACKOFF * (1u32 << n.min(16)),
            _ => true,
        }
    }

    /// Forgets everything (FreeBSD resets its cache when client Fast Open is switched off).
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;

    /// Linux's sysctl key `a-b-c-d` as the 16 key bytes: each 32-bit word little-endian.
    fn linux_key(words: [u32; 4]) -> [u8; 16] {
        let mut k = [0u8; 16];
        for (i, w) in words.iter().enumerate() {
            k[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
        }
        k
    }

    fn v4(a: [u8; 4]) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(a))
    }

    /// The cookies the public packetdrill suites expect from Linux for fixed keys and
    /// addresses (the Linux selftests' `TFO_COOKIE`, google's `simple1.pkt`).
    #[test]
    fn cookies_match_linux_for_the_same_key() {
        let key = linux_key([0xa1a1a1a1, 0xb2b2b2b2, 0xc3c3c3c3, 0xd4d4d4d4]);
        let c = cookie(&key, v4([192, 0, 2, 1]), v4([192, 168, 0, 1]));
        assert_eq!(c, [0x30, 0x21, 0xb9, 0xd8, 0x89, 0x01, 0x7e, 0xeb]);
        let key = linux_key([0xa0bf63f7, 0xed803d81, 0xcd641d30, 0xcebc4a90]);
        let c = cookie(&key, v4([10, 248, 0, 2]), v4([192, 168, 0, 2]));
        assert_eq!(c, [0x00, 0xab, 0xaa, 0xab, 0xe8, 0xe9, 0x54, 0xc2]);
        // Bound to the client's address.
        assert_ne!(c, cookie(&key, v4([10, 248, 0, 3]), v4([192, 168, 0, 2])));
    }

    #[test]
    fn cache_keeps_the_last_valid_cookie_and_backs_off_after_losses() {
        let mut cache = CookieCache::default();
        let server = v4([10, 0, 0, 2]);
        let good = FastOpenCookie::new(&[1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
        cache.learn(server, Some(1400), Some(good));
        let odd = FastOpenCookie::new(&[1, 2, 3, 4, 5]).unwrap();
        cache.learn(server, None, Some(odd));
        let e = cache.get(server).unwrap();
        assert_eq!((e.cookie, e.mss), (Some(good), Some(1400)));
        let t = Instant::from_secs(10);
        cache.syn_data_lost(server, t);
        assert!(cache.usable(server, t), "one loss is tolerated");
        cache.syn_data_lost(server, t);
        assert!(!cache.usable(server, t + Duration::from_secs(239)));
        assert!(cache.usable(server, t + Duration::from_secs(240)));
        cache.disable(server, t, Duration::from_secs(5));
        assert!(!cache.usable(server, t + Duration::from_secs(4)));
        assert_eq!(cache.get(server).unwrap().cookie, None);
    }

    #[test]
    fn cache_is_bounded() {
        let mut cache = CookieCache::default();
        for i in 0..(CACHE_ENTRIES as u32 + 10) {
            cache.learn(IpAddr::V4(Ipv4Addr::from(i)), Some(1000), None);
        }
        assert_eq!(cache.entries.len(), CACHE_ENTRIES);
        assert!(cache.get(IpAddr::V4(Ipv4Addr::from(0))).is_none(), "oldest dropped");
    }
}
