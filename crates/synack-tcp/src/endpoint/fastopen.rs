//! TCP Fast Open (RFC 7413) at the endpoint: a listener's cookies and SYN data, the client's
//! cookie cache and opens with data.

use core::net::SocketAddr;

use synack_wire::tcp::{FastOpenCookie, TcpRepr};

use super::{ConnId, Endpoint, ListenerId};
use crate::config::ConnConfig;
use crate::conn::ActiveFastOpen;
use crate::error::ConnectError;
use crate::fastopen::{self, FastOpenConfig};
use crate::secret::FourTuple;
use crate::state::State;
use crate::time::{Duration, Instant};

/// Option bytes kept free on a SYN with data, whatever options it carries (Linux's
/// `MAX_TCP_OPTION_SPACE`: room for options a middlebox may add).
const SYN_OPTION_RESERVE: usize = 40;

/// What a listener does with a SYN's Fast Open option and data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct SynVerdict {
    /// Accept the SYN's data now: a Fast Open child.
    pub(super) accept: bool,
    /// The cookie the SYN-ACK carries.
    pub(super) reply: Option<FastOpenCookie>,
}

impl Endpoint {
    /// Changes the Fast Open switches (Linux's `net.ipv4.tcp_fastopen`). Switching the client
    /// side off forgets the cached cookies.
    pub fn set_fast_open(&mut self, cfg: FastOpenConfig) {
        if !cfg.client {
            self.fo_cache.clear();
        }
        self.config.fast_open = cfg;
    }

    /// The Fast Open switches in force.
    pub fn fast_open(&self) -> FastOpenConfig {
        self.config.fast_open
    }

    /// Sets the key of the server's cookies (by default derived from the endpoint's secret).
    /// The 16 bytes are SipHash-2-4's key; Linux's `tcp_fastopen_key` words `a-b-c-d` are these
    /// bytes as four little-endian 32-bit words, which gives the cookies Linux computes.
    pub fn set_fast_open_key(&mut self, key: [u8; 16]) {
        self.fo_key = key;
    }

    /// Enables Fast Open on a listener (the `TCP_FASTOPEN` socket option): at most `queue`
    /// children accepted with their SYN's data may wait for the handshake's last ACK at once
    /// (RFC 7413 section 5.1 asks for such a limit); 0 switches it off. Returns false when `id`
    /// names no open listener.
    pub fn set_listener_fast_open(&mut self, id: ListenerId, queue: usize) -> bool {
        match self.listeners.get_mut(id.0 as usize).and_then(Option::as_mut) {
            Some(l) => {
                l.fast_open_queue = queue;
                true
            }
            None => false,
        }
    }

    /// Gives listener `id` its own cookie key (Linux's `TCP_FASTOPEN_KEY` socket option), in
    /// place of the endpoint's ([`set_fast_open_key`](Self::set_fast_open_key)). Returns
    /// false when `id` names no open listener.
    pub fn set_listener_fast_open_key(&mut self, id: ListenerId, key: [u8; 16]) -> bool {
        match self.listeners.get_mut(id.0 as usize).and_then(Option::as_mut) {
            Some(l) => {
                l.fast_open_key = Some(key);
                true
            }
            None => false,
        }
    }

    /// The cookie listener `lid` gives the client of `tuple`.
    fn server_cookie(&self, lid: ListenerId, tuple: &FourTuple) -> FastOpenCookie {
        let key = self.listener(lid).and_then(|l| l.fast_open_key).unwrap_or(self.fo_key);
        let c = fastopen::cookie(&key, tuple.remote.ip(), tuple.local.ip());
        FastOpenCookie::new(&c).unwrap_or_default()
    }

    //= rfc7413#4.2.2
    //~ paraphrase: A server with Fast Open answers a cookie request with a cookie; a SYN with a
    //~ valid cookie has its data accepted (subject to the pending-connection limit); with an
    //~ invalid cookie the data is ignored, only the ISN acknowledged, and a valid cookie sent.
    /// Decides what listener `lid` does with the Fast Open side of `seg`, a SYN.
    pub(super) fn fast_open_syn(
        &self,
        lid: ListenerId,
        tuple: &FourTuple,
        seg: &TcpRepr<'_>,
    ) -> SynVerdict {
        let cfg = self.config.fast_open;
        let Some(l) = self.listener(lid) else { return SynVerdict::default() };
        let limit = if l.fast_open_queue > 0 {
            l.fast_open_queue
        } else if cfg.server_all_listeners {
            l.backlog
        } else {
            0
        };
        let option = seg.options.fast_open.filter(|c| c.is_valid());
        if !cfg.server || limit == 0 || (seg.payload.is_empty() && option.is_none()) {
            return SynVerdict::default();
        }
        //~ linux: the limit counts Fast Open children still waiting for the handshake's last
        //~ ACK; past it the SYN is an ordinary one, without a cookie in the SYN-ACK.
        let pending = l
            .half_open
            .iter()
            .chain(l.ready.iter())
            .filter(|c| self.conn(**c).is_ok_and(|c| c.is_fast_open_child_pending()))
            .count();
        if pending >= limit {
            return SynVerdict::default();
        }
        if cfg.server_without_cookie {
            return SynVerdict { accept: true, reply: None };
        }
        let Some(offered) = option else { return SynVerdict::default() };
        let valid = self.server_cookie(lid, tuple);
        if !offered.is_empty() && offered.as_bytes() == valid.as_bytes() {
            return SynVerdict { accept: true, reply: None };
        }
        // A request, or a cookie that is not ours: a fresh one, in the option kind the client
        // used.
        let reply = if offered.is_experimental() { valid.experimental() } else { valid };
        SynVerdict { accept: false, reply: Some(reply) }
    }

    /// Active OPEN with data (`sendto` with `MSG_FASTOPEN`, RFC 7413 section 4.2.1): like
    /// [`connect`](Self::connect), and `data` is queued at once. When Fast Open is usable
    /// towards `remote` the SYN asks for a cookie, or, with a cookie cached (or
    /// [`FastOpenConfig::client_without_cookie`]), carries up to
    /// [`fast_open_syn_room`](Self::fast_open_syn_room) bytes of the data; the rest follows
    /// the handshake as usual. Returns the connection and the bytes queued.
    pub fn connect_fast_open(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        cfg: ConnConfig,
        data: &[u8],
    ) -> Result<(ConnId, usize), ConnectError> {
        let room = self.fast_open_syn_room(now, remote, &cfg);
        let attempt = self.fast_open_attempt(now, remote, room);
        let id = self.connect(now, local, remote, cfg)?;
        let queued = self.send(id, data).unwrap_or_default();
        if let Some(fo) = attempt
            && let Ok(c) = self.conn_mut(id)
        {
            c.attempt_fast_open(fo);
        }
        self.after(id);
        Ok((id, queued))
    }

    /// What a Fast Open SYN to `remote` would carry, or `None` when no Fast Open is tried.
    fn fast_open_attempt(
        &self,
        now: Instant,
        remote: SocketAddr,
        room: Option<usize>,
    ) -> Option<ActiveFastOpen> {
        let cfg = self.config.fast_open;
        if !cfg.client || !self.fo_cache.usable(remote.ip(), now) {
            return None;
        }
        let cookie = if cfg.client_without_cookie {
            None
        } else {
            let cached = self.fo_cache.get(remote.ip()).and_then(|e| e.cookie);
            Some(cached.unwrap_or_default())
        };
        let room = room.unwrap_or(0) as u32;
        Some(ActiveFastOpen { cookie, room, sent: 0, retransmitted: false })
    }

    /// How many data bytes a Fast Open SYN to `remote` would carry now: `None` when it would
    /// carry none (client Fast Open off or backed off for that server, or no cookie cached and
    /// [`FastOpenConfig::client_without_cookie`] off). The room is the MSS the server gave
    /// last (or the link's), less 40 bytes kept for options as Linux keeps them.
    pub fn fast_open_syn_room(
        &self,
        now: Instant,
        remote: SocketAddr,
        cfg: &ConnConfig,
    ) -> Option<usize> {
        let fo = self.config.fast_open;
        if !fo.client || !self.fo_cache.usable(remote.ip(), now) {
            return None;
        }
        let entry = self.fo_cache.get(remote.ip());
        if !fo.client_without_cookie && entry.and_then(|e| e.cookie).is_none() {
            return None;
        }
        let ip = if remote.is_ipv4() { 20 } else { 40 };
        let mut mss = self.config.mtu.saturating_sub(ip + 20);
        if let Some(m) = entry.and_then(|e| e.mss) {
            mss = mss.min(m as usize);
        }
        if let Some(c) = cfg.mss_clamp {
            mss = mss.min(c as usize);
        }
        Some(mss.saturating_sub(SYN_OPTION_RESERVE))
    }

    /// Forgets every cached cookie and back-off.
    pub fn clear_fast_open_cache(&mut self) {
        self.fo_cache.clear();
    }

    /// A SYN-ACK (or SYN) reached connection `id` in SYN-SENT: what it says about the server's
    /// Fast Open goes into the cookie cache. Called before the connection processes it.
    pub(super) fn fast_open_learn(&mut self, id: ConnId, seg: &TcpRepr<'_>) {
        let Ok(c) = self.conn(id) else { return };
        let Some(fo) = c.active_fast_open().copied() else { return };
        if c.state() != State::SynSent || !seg.flags.syn() || seg.flags.rst() {
            return;
        }
        let Some(snd) = c.tcb.snd() else { return };
        if seg.flags.ack() && (seg.ack.le(snd.iss) || seg.ack.gt(snd.max_nxt)) {
            return;
        }
        if c.syn_ack_tsecr_rejected(self.now, seg) {
            return;
        }
        let server = c.tuple.remote.ip();
        let now = self.now;
        //~ linux: a SYN that carried no Fast Open option asked for no cookie, so a cookie on
        //~ its SYN-ACK is unsolicited and ignored (`tcp_rcv_fastopen_synack`, `syn_fastopen`),
        //~ and its answer says nothing about how the server treats Fast Open.
        let solicited = fo.cookie.is_some();
        let cookie = seg.options.fast_open.filter(|c| solicited && c.is_valid() && !c.is_empty());
        let data_acked = seg.flags.ack() && seg.ack.ge(snd.iss + 1 + fo.sent);
        self.fo_cache.learn(server, seg.options.mss, cookie);
        if solicited && cookie.is_none() && !(fo.sent > 0 && data_acked) {
            if fo.retransmitted && fo.sent > 0 {
                //~ linux: the SYN with data timed out and the answer to a plain SYN has no
                //~ cookie: the path may drop SYNs with data (`syn_drop`).
                self.fo_cache.syn_data_lost(server, now);
            } else if let Some(period) = self.config.fast_open.refused_backoff {
                //~ freebsd: no valid cookie, and the SYN's data (if any) refused: Fast Open to
                //~ this server is disabled for a while (`tcp_fastopen_disable_path`).
                self.fo_cache.disable(server, now, period);
            }
        }
    }
}

/// How long FreeBSD keeps Fast Open off towards a server that refused SYN data without a
/// new cookie (`net.inet.tcp.fastopen.path_disable_time`, 60 s).
pub const FREEBSD_PATH_DISABLE: Duration = Duration::from_secs(60);
