//! The application's calls on connections: active open, data, close and abort, queries and
//! per-connection settings.

use core::net::SocketAddr;

use super::slots::{Owner, slot_tuple};
use super::{ConnId, Endpoint, addr_usable};
use crate::config::ConnConfig;
use crate::conn::{Conn, HsFlags};
use crate::error::{ConnectError, ConnectionError, InvalidConnection, RecvError, SendError};
use crate::secret::FourTuple;
use crate::state::State;
use crate::time::{Duration, Instant};

impl Endpoint {
    /// Active OPEN from `local` to `remote`. A `local` port of 0 picks an ephemeral port
    /// (RFC 6056 algorithm 3). The SYN goes out on the next [`poll_transmit`](Self::poll_transmit).
    ///
    /// `local` must be a concrete address of this host: choosing the source address for a
    /// destination (RFC 9293 MUST-44) is the IP layer's job, done before calling this. An
    /// unspecified, broadcast or multicast address on either side is refused.
    pub fn connect(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        cfg: ConnConfig,
    ) -> Result<ConnId, ConnectError> {
        self.advance(now);
        //= rfc9293#3.9.1.1
        //~ paraphrase: An OPEN to a broadcast or multicast address is an error (MUST-46).
        if remote.port() == 0
            || !addr_usable(remote.ip())
            || !addr_usable(local.ip())
            || local.is_ipv4() != remote.is_ipv4()
        {
            return Err(ConnectError::InvalidAddress);
        }
        if self.live >= self.config.max_connections {
            return Err(ConnectError::TooManyConnections);
        }
        let tuple = if local.port() == 0 {
            let (by_tuple, slots) = (&self.by_tuple, &self.slots);
            let port = self
                .ports
                .pick(&self.secrets, local.ip(), remote, |p| {
                    let t = FourTuple { local: SocketAddr::new(local.ip(), p), remote };
                    !by_tuple.contains(&t, |i| slot_tuple(slots, i))
                })
                .ok_or(ConnectError::NoFreePorts)?;
            FourTuple { local: SocketAddr::new(local.ip(), port), remote }
        } else {
            let t = FourTuple { local, remote };
            if self.lookup(&t).is_some() {
                return Err(ConnectError::AddrInUse);
            }
            t
        };
        let iss = self.choose_isn(now, &tuple);
        let birth = self.birth(tuple, cfg, now);
        let id = self.insert(Conn::new(birth), Owner::App);
        if let Ok(c) = super::slots::conn_in(&mut self.slots, id) {
            c.start_syn_sent(iss, now);
        }
        self.with_conn(id, |c, ctx| c.announce(ctx));
        self.after(id);
        Ok(id)
    }
    /// Queues data; returns how much fit in the send buffer. Allowed from SYN-SENT on (sent
    /// once ESTABLISHED).
    pub fn send(&mut self, id: ConnId, data: &[u8]) -> Result<usize, SendError> {
        let conn = super::slots::conn_in(&mut self.slots, id)?;
        if let Some(snd) = conn.tcb.snd_mut() {
            self.spares.lend_ring(&mut snd.buf, data.len());
        }
        let r = conn.send(data, false, self.now);
        self.after(id);
        r
    }

    /// Queues data and announces more to come (Linux's `MSG_MORE`): the data waits for a full
    /// segment even with nothing in flight, until a segment arrives, a plain [`Endpoint::send`]
    /// follows, or the persist timer (one RTO with nothing in flight) sends it with PSH. The
    /// queue's end it makes is no push point: a segment that empties the queue there carries
    /// no PSH.
    pub fn send_more(&mut self, id: ConnId, data: &[u8]) -> Result<usize, SendError> {
        let conn = super::slots::conn_in(&mut self.slots, id)?;
        if let Some(snd) = conn.tcb.snd_mut() {
            self.spares.lend_ring(&mut snd.buf, data.len());
        }
        let r = conn.send_more(data, self.now);
        if matches!(r, Ok(n) if n > 0) {
            conn.hs.set(HsFlags::CORKED | HsFlags::PUSH_WITHHELD, true);
        }
        self.after(id);
        r
    }

    /// Queues data as one record (Linux's `MSG_EOR`): when all of it fits, its last byte ends
    /// a record, and no segment, first transmission or retransmission, carries bytes of this
    /// record and the next (`crate::records`). A partial write marks nothing.
    pub fn send_record(&mut self, id: ConnId, data: &[u8]) -> Result<usize, SendError> {
        let conn = super::slots::conn_in(&mut self.slots, id)?;
        if let Some(snd) = conn.tcb.snd_mut() {
            self.spares.lend_ring(&mut snd.buf, data.len());
        }
        let r = conn.send(data, false, self.now);
        if matches!(r, Ok(n) if n == data.len() && n > 0) {
            conn.end_record();
        }
        self.after(id);
        r
    }

    /// Queues data as urgent (RFC 9293 3.8.5): the urgent pointer marks its end. Legacy: new
    /// applications should not use urgent data (SHLD-13).
    pub fn send_urgent(&mut self, id: ConnId, data: &[u8]) -> Result<usize, SendError> {
        let now = self.now;
        let r = self.conn_mut(id)?.send(data, true, now);
        self.after(id);
        r
    }

    /// Reads received data. `Ok(0)` is the end of stream (the peer's FIN).
    pub fn recv(&mut self, id: ConnId, buf: &mut [u8]) -> Result<usize, RecvError> {
        let r = self.conn_mut(id)?.recv(buf);
        self.after(id);
        r
    }

    /// Whether the connection is writable: [`send`](Self::send) would take at least one byte
    /// now and, with an unsent low-water mark ([`ConnConfig::notsent_lowat`]), fewer than
    /// half of it are unsent (as Linux's `poll` reports `POLLOUT`). `Ok(false)` arms
    /// [`Event::Writable`] as a `send` returning `WouldBlock` does, so a caller can wait for
    /// space without offering data. Errors as `send` gives them.
    pub fn send_ready(&mut self, id: ConnId) -> Result<bool, SendError> {
        self.conn_mut(id)?.send_ready()
    }

    /// What [`send_ready`](Self::send_ready) would report, without arming
    /// [`Event::Writable`](crate::Event::Writable) (`false` for a connection that cannot send).
    pub fn send_space(&self, id: ConnId) -> Result<bool, InvalidConnection> {
        Ok(self.conn(id)?.space_ready())
    }

    /// Like [`recv`](Self::recv) but leaves the data in the receive buffer (`MSG_PEEK`): the
    /// next `recv` or `peek` sees the same bytes. The window does not move.
    pub fn peek(&self, id: ConnId, buf: &mut [u8]) -> Result<usize, RecvError> {
        self.conn(id)?.peek(buf)
    }

    /// Bytes from the read position to the urgent mark, if urgent data is pending (MUST-33).
    pub fn urgent_pending(&self, id: ConnId) -> Result<Option<u32>, InvalidConnection> {
        Ok(self.conn(id)?.urgent_pending())
    }

    /// Half-close: a FIN follows the queued data; receiving goes on.
    pub fn shutdown_write(&mut self, id: ConnId) -> Result<(), InvalidConnection> {
        self.with_conn(id, |c, ctx| c.shutdown_write(ctx)).ok_or(InvalidConnection)?;
        self.after(id);
        Ok(())
    }

    /// Full close: FIN after the queued data; no more reading (received data still unread
    /// makes it a RST, RFC 2525). The id stays valid until the TCB is gone (watch for
    /// [`Event::Closed`]); calling `close` on an already closed connection releases it.
    pub fn close(&mut self, id: ConnId) -> Result<(), InvalidConnection> {
        self.with_conn(id, |c, ctx| c.app_close(ctx)).ok_or(InvalidConnection)?;
        self.release(id);
        self.after(id);
        Ok(())
    }

    /// Abort: a RST to the peer (from synchronized states), the TCB is deleted, and the id is
    /// released.
    pub fn abort(&mut self, id: ConnId) -> Result<(), InvalidConnection> {
        self.with_conn(id, |c, ctx| c.app_abort(ctx)).ok_or(InvalidConnection)?;
        self.release(id);
        self.after(id);
        Ok(())
    }

    /// The connection's state.
    pub fn state(&self, id: ConnId) -> Result<State, InvalidConnection> {
        Ok(self.conn(id)?.state())
    }

    /// The error that ended the connection, if one did.
    pub fn error(&self, id: ConnId) -> Result<Option<ConnectionError>, InvalidConnection> {
        Ok(self.conn(id)?.error)
    }

    /// The connection's 4-tuple.
    pub fn four_tuple(&self, id: ConnId) -> Result<FourTuple, InvalidConnection> {
        Ok(self.conn(id)?.tuple)
    }

    /// Looks a connection up by its 4-tuple.
    pub fn lookup(&self, tuple: &FourTuple) -> Option<ConnId> {
        let slots = &self.slots;
        let index = self.by_tuple.get(tuple, |i| slot_tuple(slots, i))?;
        let generation = slots.get(index as usize)?.generation;
        Some(ConnId { index, generation })
    }

    /// The connection's settings.
    pub fn conn_config(&self, id: ConnId) -> Result<ConnConfig, InvalidConnection> {
        Ok(*self.conn(id)?.cfg)
    }

    /// Changes the settings that can change on a live connection: Nagle, keep-alive, user
    /// timeout, R1/R2, delayed ACK, FIN-WAIT-2 timeout. Buffer sizes, option offers and the
    /// congestion controller take effect only before the handshake.
    pub fn set_conn_config(
        &mut self,
        id: ConnId,
        cfg: ConnConfig,
    ) -> Result<(), InvalidConnection> {
        self.conn(id)?;
        let shared = self.share_cfg(cfg);
        let c = self.conn_mut(id)?;
        c.cfg = shared;
        if c.cfg.keep_alive.is_none() {
            c.keepalive_probes = 0;
        }
        self.after(id);
        Ok(())
    }

    /// Changes one connection's settings through `edit`; the setters below are this with one
    /// field each.
    pub(super) fn update_conn_config(
        &mut self,
        id: ConnId,
        edit: impl FnOnce(&mut ConnConfig),
    ) -> Result<(), InvalidConnection> {
        let mut cfg = *self.conn(id)?.cfg;
        edit(&mut cfg);
        self.set_conn_config(id, cfg)
    }

    /// The unsent low-water mark ([`ConnConfig::notsent_lowat`], Linux's `TCP_NOTSENT_LOWAT`);
    /// `None`: no limit. A writer waiting for space is woken at once if the new mark lets it
    /// go on (as Linux calls `sk_write_space` from the option).
    pub fn set_notsent_lowat(
        &mut self,
        id: ConnId,
        lowat: Option<u32>,
    ) -> Result<(), InvalidConnection> {
        self.update_conn_config(id, |c| c.notsent_lowat = lowat)?;
        let c = self.conn_mut(id)?;
        if c.write_space() {
            c.want_writable = false;
            crate::event::push_bounded(&mut self.events, crate::Event::Writable(id));
        }
        Ok(())
    }

    /// Transmit timestamps (Linux's `SO_TIMESTAMPING` record flags): from now on the last
    /// byte of each write is stamped as [`crate::tx_stamp::TxStampFlags`] asks, and the
    /// stamps wait on the connection's error queue ([`Endpoint::pop_tx_stamp`]). Switching
    /// `opt_id` on starts the key count at SND.UNA.
    pub fn set_tx_timestamping(
        &mut self,
        id: ConnId,
        flags: crate::tx_stamp::TxStampFlags,
    ) -> Result<(), InvalidConnection> {
        self.conn_mut(id)?.set_tx_timestamping(flags);
        Ok(())
    }

    /// The transmit timestamps the connection's writes ask for.
    pub fn tx_timestamping(
        &self,
        id: ConnId,
    ) -> Result<crate::tx_stamp::TxStampFlags, InvalidConnection> {
        Ok(self.conn(id)?.tx_stamps().map(|s| s.flags()).unwrap_or_default())
    }

    /// The oldest transmit timestamp on the connection's error queue, taken off it (Linux's
    /// `recvmsg(MSG_ERRQUEUE)`); `None` when none waits.
    pub fn pop_tx_stamp(
        &mut self,
        id: ConnId,
    ) -> Result<Option<crate::tx_stamp::TxStamp>, InvalidConnection> {
        Ok(self.conn_mut(id)?.pop_tx_stamp())
    }

    /// How many transmit timestamps the connection has queued so far, read or not (each one
    /// is a wakeup for those waiting on the socket).
    pub fn tx_stamps_queued(&self, id: ConnId) -> Result<u64, InvalidConnection> {
        Ok(self.conn(id)?.tx_stamps().map_or(0, |s| s.queued()))
    }

    /// True when a transmit timestamp waits on the connection's error queue.
    pub fn tx_stamp_pending(&self, id: ConnId) -> Result<bool, InvalidConnection> {
        Ok(self.conn(id)?.tx_stamps().is_some_and(|s| s.pending()))
    }

    /// TCP_NODELAY (RFC 9293 MUST-17).
    pub fn set_nodelay(&mut self, id: ConnId, nodelay: bool) -> Result<(), InvalidConnection> {
        self.update_conn_config(id, |c| c.nodelay = nodelay)
    }

    /// Keep-alive on (`Some`) or off (MUST-24).
    pub fn set_keep_alive(
        &mut self,
        id: ConnId,
        keep_alive: Option<crate::config::KeepAlive>,
    ) -> Result<(), InvalidConnection> {
        self.update_conn_config(id, |c| c.keep_alive = keep_alive)
    }

    /// User timeout (RFC 9293 3.10.8); `None` disables it.
    pub fn set_user_timeout(
        &mut self,
        id: ConnId,
        timeout: Option<Duration>,
    ) -> Result<(), InvalidConnection> {
        self.update_conn_config(id, |c| c.user_timeout = timeout)
    }

    /// R1 (retransmissions before the soft report) and R2 (`None`: never give up, MUST-21).
    pub fn set_retransmission_thresholds(
        &mut self,
        id: ConnId,
        r1: u32,
        r2: Option<Duration>,
    ) -> Result<(), InvalidConnection> {
        self.update_conn_config(id, |c| {
            c.r1 = r1;
            c.r2 = r2;
        })
    }
}
