//! `SO_TIMESTAMPING` over the engine's transmit timestamps: Linux's `SOF_TIMESTAMPING_*`
//! bits turned into [`TxStampFlags`], the option's checks, and each stamp as the
//! `recvmsg(MSG_ERRQUEUE)` entry Linux builds for it.

use super::*;
use synack_tcp::tx_stamp::{TxStamp, TxStampFlags};

// linux/net_tstamp.h
const TX_SOFTWARE: u32 = 1 << 1;
const SOFTWARE: u32 = 1 << 4;
const OPT_ID: u32 = 1 << 7;
const TX_SCHED: u32 = 1 << 8;
const TX_ACK: u32 = 1 << 9;
const OPT_TSONLY: u32 = 1 << 11;
const OPT_ID_TCP: u32 = 1 << 16;
/// Every bit Linux knows (`SOF_TIMESTAMPING_MASK`, up to `OPT_RX_FILTER`).
const KNOWN: u32 = (1 << 18) - 1;

/// `SO_EE_ORIGIN_TIMESTAMPING` (linux/errqueue.h).
const SO_EE_ORIGIN_TIMESTAMPING: i64 = 4;
/// `ENOMSG`, the `ee_errno` of every timestamp.
const ENOMSG: i64 = 42;

/// The engine's flags for Linux's bits.
fn flags(bits: u32) -> TxStampFlags {
    TxStampFlags {
        scheduled: bits & TX_SCHED != 0,
        sent: bits & TX_SOFTWARE != 0,
        acked: bits & TX_ACK != 0,
        opt_id: bits & OPT_ID != 0,
        opt_id_tcp: bits & OPT_ID_TCP != 0,
        ts_only: bits & OPT_TSONLY != 0,
    }
}

/// The error-queue entry for a stamp: a `sock_extended_err` (`ENOMSG`, origin timestamping,
/// `ee_info` the `SCM_TSTAMP_*`, `ee_data` the key) after an `SCM_TIMESTAMPING` message with
/// the software time when the socket asked for software reports.
pub(super) fn entry(stamp: &TxStamp, bits: u32) -> ErrQueueEntry {
    ErrQueueEntry {
        errno: ENOMSG,
        origin: SO_EE_ORIGIN_TIMESTAMPING,
        kind: 0,
        code: 0,
        info: i64::from(stamp.kind.linux_number()),
        data: i64::from(stamp.key),
        stamp: (bits & SOFTWARE != 0).then(|| stamp.at.as_micros()),
        packet_len: stamp.packet_len as usize,
    }
}

impl EngineTarget {
    //~ linux: sock_set_timestamping refuses unknown bits and OPT_ID_TCP without OPT_ID, and
    //~ for TCP switching OPT_ID on in CLOSE or LISTEN (the key origin is a sequence number).
    pub(super) fn set_timestamping(&mut self, s: SockId, bits: u32) -> Result<(), Errno> {
        if bits & !KNOWN != 0 || (bits & OPT_ID_TCP != 0 && bits & OPT_ID == 0) {
            return Err(Errno::EINVAL);
        }
        let sk = self.sock(s)?;
        let (kind, was) = (sk.kind, sk.lx.tsflags);
        if bits & OPT_ID != 0 && was & OPT_ID == 0 {
            let closed = match kind {
                Kind::Conn(c) => self.ep.state(c).is_ok_and(|st| st == State::Closed),
                Kind::Fresh | Kind::Listening(_) => true,
            };
            if closed {
                return Err(Errno::EINVAL);
            }
        }
        self.sock(s)?.lx.tsflags = bits;
        self.push_timestamping(s)
    }

    /// Hands the socket's `SO_TIMESTAMPING` bits to its connection, once it has one.
    pub(super) fn push_timestamping(&mut self, s: SockId) -> Result<(), Errno> {
        let sk = self.sock(s)?;
        let (Kind::Conn(c), bits) = (sk.kind, sk.lx.tsflags) else { return Ok(()) };
        if bits == 0 && self.ep.tx_timestamping(c).is_ok_and(|f| f == TxStampFlags::default()) {
            return Ok(());
        }
        self.ep.set_tx_timestamping(c, flags(bits)).map_err(|_| Errno::ENOTCONN)
    }
}
