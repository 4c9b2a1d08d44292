//! Transmit timestamps (Linux's `SO_TIMESTAMPING` for TCP): the application asks that the
//! last byte of each write be stamped when the segment carrying it leaves the engine
//! (scheduled and sent) and when the peer cumulatively acknowledges it, and reads the stamps
//! back from a per-connection error queue.
//!
//! Linux (`tcp_tx_timestamp`) marks the tail skb of each `sendmsg` with the socket's
//! record flags and a key, the sequence number of the write's last byte; the device layer
//! stamps the skb as it is queued (`SCM_TSTAMP_SCHED`) and as the driver sends it
//! (`SCM_TSTAMP_SND`), every time it is sent, and `tcp_ack_tstamp` stamps it once
//! SND.UNA passes the key (`SCM_TSTAMP_ACK`). With `SOF_TIMESTAMPING_OPT_ID` the key is
//! reported relative to SND.UNA at the time the option was switched on, so the first byte
//! written afterwards is 0; without it the report carries 0. A stamp that finds the error
//! queue over its bound is dropped (`sock_queue_err_skb` refuses it past the receive
//! buffer).
//!
//! Each write carries its own record. Linux keeps one key per skb, so two small writes that
//! end up in one unsent skb report only the second write's key; here both are reported.
//!
//! Memory: one record per write whose last byte is unacknowledged (bounded by the send
//! buffer), and at most [`ERROR_QUEUE_CAP`] queued stamps.

use alloc::collections::VecDeque;
use synack_wire::SeqNum;

use crate::time::Instant;

/// The most stamps a connection's error queue holds; later ones are dropped until the
/// application reads some.
pub const ERROR_QUEUE_CAP: usize = 256;

/// Which stamps a write asks for (Linux's `SOF_TIMESTAMPING_TX_*` record flags and the
/// `OPT_ID`/`OPT_TSONLY` options).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TxStampFlags {
    /// A stamp when the segment carrying the write's last byte is handed to the device
    /// (`SOF_TIMESTAMPING_TX_SCHED`).
    pub scheduled: bool,
    /// A stamp when that segment is sent (`SOF_TIMESTAMPING_TX_SOFTWARE`).
    pub sent: bool,
    /// A stamp when the peer cumulatively acknowledges the last byte
    /// (`SOF_TIMESTAMPING_TX_ACK`).
    pub acked: bool,
    /// Keys count bytes from where SND.UNA stood when this was switched on
    /// (`SOF_TIMESTAMPING_OPT_ID`); off, every stamp's key is 0.
    pub opt_id: bool,
    /// With `opt_id`: keys count from the end of the data written so far rather than from
    /// SND.UNA (`SOF_TIMESTAMPING_OPT_ID_TCP`).
    pub opt_id_tcp: bool,
    /// Stamps carry no copy of the packet (`SOF_TIMESTAMPING_OPT_TSONLY`).
    pub ts_only: bool,
}

impl TxStampFlags {
    /// True when writes ask for any stamp.
    pub fn records(&self) -> bool {
        self.scheduled || self.sent || self.acked
    }
}

/// What a stamp reports (Linux's `SCM_TSTAMP_*`, the `ee_info` of its error-queue entry).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxStampKind {
    /// The segment was sent (`SCM_TSTAMP_SND`, 0).
    Sent,
    /// The segment was handed to the device (`SCM_TSTAMP_SCHED`, 1).
    Scheduled,
    /// The peer acknowledged the byte (`SCM_TSTAMP_ACK`, 2).
    Acked,
}

impl TxStampKind {
    /// Linux's `SCM_TSTAMP_*` number.
    pub fn linux_number(self) -> u32 {
        match self {
            TxStampKind::Sent => 0,
            TxStampKind::Scheduled => 1,
            TxStampKind::Acked => 2,
        }
    }
}

/// One stamp as the error queue returns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxStamp {
    /// What happened.
    pub kind: TxStampKind,
    /// The write's last byte, counted from the `opt_id` origin (0 without `opt_id`); Linux's
    /// `ee_data`.
    pub key: u32,
    /// When it happened.
    pub at: Instant,
    /// Payload bytes of the packet copy Linux queues with the stamp (the segment sent, or
    /// for an acknowledgement the bytes of the segment last sent with the key byte); 0 with
    /// `ts_only`. A reader whose buffer is smaller sees `MSG_TRUNC`.
    pub packet_len: u32,
}

/// A write's last byte and the stamps it asked for.
#[derive(Clone, Copy, Debug)]
struct Record {
    /// Sequence number of the write's last byte.
    key: SeqNum,
    flags: TxStampFlags,
    /// Payload of the segment that last carried the key byte.
    packet_len: u32,
}

/// A connection's timestamping state: the socket's flags, the key origin, the records of
/// unacknowledged writes and the error queue.
#[derive(Clone, Debug, Default)]
pub struct TxStamps {
    flags: TxStampFlags,
    /// SND.UNA when `opt_id` was switched on.
    origin: SeqNum,
    records: VecDeque<Record>,
    queue: VecDeque<TxStamp>,
    /// Stamps dropped because the queue was full.
    dropped: u64,
}

impl TxStamps {
    /// The socket's flags change; `una` is SND.UNA now and `written` the end of the data
    /// written so far. Switching `opt_id` on (from off) restarts the key count at `una` (at
    /// `written` with `opt_id_tcp`), as Linux does for TCP.
    pub fn set_flags(&mut self, flags: TxStampFlags, una: SeqNum, written: SeqNum) {
        if flags.opt_id && !self.flags.opt_id {
            self.origin = if flags.opt_id_tcp { written } else { una };
        }
        self.flags = flags;
    }

    /// The socket's flags.
    pub fn flags(&self) -> TxStampFlags {
        self.flags
    }

    /// A write put bytes in the send queue ending just before `end`: its last byte gets a
    /// record with the socket's flags (when they ask for any stamp).
    pub fn on_write(&mut self, end: SeqNum) {
        if !self.flags.records() {
            return;
        }
        let key = end - 1;
        if self.records.back().is_some_and(|r| r.key.ge(key)) {
            return;
        }
        self.records.push_back(Record { key, flags: self.flags, packet_len: 0 });
    }

    /// A segment carrying the bytes `[seq, seq + len)` left at `now` (first transmission or
    /// retransmission): the writes whose last byte it carries are stamped scheduled and sent.
    pub fn on_transmit(&mut self, now: Instant, seq: SeqNum, len: u32) {
        if len == 0 {
            return;
        }
        let end = seq + len;
        for i in 0..self.records.len() {
            let r = &mut self.records[i];
            if r.key.ge(end) {
                break;
            }
            if r.key.lt(seq) {
                continue;
            }
            r.packet_len = len;
            let r = *r;
            if r.flags.scheduled {
                self.push(&r, TxStampKind::Scheduled, now);
            }
            if r.flags.sent {
                self.push(&r, TxStampKind::Sent, now);
            }
        }
    }

    /// SND.UNA advanced to `una` at `now`: writes whose last byte it passed are stamped
    /// acknowledged and forgotten.
    pub fn on_ack(&mut self, now: Instant, una: SeqNum) {
        while let Some(r) = self.records.front().copied() {
            if r.key.ge(una) {
                break;
            }
            self.records.pop_front();
            if r.flags.acked {
                self.push(&r, TxStampKind::Acked, now);
            }
        }
    }

    fn push(&mut self, r: &Record, kind: TxStampKind, at: Instant) {
        if self.queue.len() >= ERROR_QUEUE_CAP {
            self.dropped += 1;
            return;
        }
        let key = if self.flags.opt_id { r.key.since(self.origin) } else { 0 };
        let packet_len = if self.flags.ts_only { 0 } else { r.packet_len };
        self.queue.push_back(TxStamp { kind, key, at, packet_len });
    }

    /// The oldest queued stamp, taken off the queue.
    pub fn pop(&mut self) -> Option<TxStamp> {
        self.queue.pop_front()
    }

    /// True when a stamp waits (the socket polls `POLLERR`).
    pub fn pending(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Stamps dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Writes whose records are still held.
    pub fn records_held(&self) -> usize {
        self.records.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: TxStampFlags = TxStampFlags {
        scheduled: true,
        sent: true,
        acked: true,
        opt_id: true,
        opt_id_tcp: false,
        ts_only: false,
    };

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    #[test]
    fn the_last_byte_of_a_write_is_stamped_sent_then_acked() {
        let mut t = TxStamps::default();
        t.set_flags(ALL, SeqNum(1), SeqNum(1));
        t.on_write(SeqNum(2965));
        t.on_transmit(at(10), SeqNum(1), 1976);
        assert!(!t.pending(), "the last byte is not in the first segments");
        t.on_transmit(at(20), SeqNum(1977), 988);
        t.on_ack(at(25), SeqNum(2964));
        t.on_ack(at(30), SeqNum(2965));
        let got: alloc::vec::Vec<_> = core::iter::from_fn(|| t.pop()).collect();
        assert_eq!(
            got,
            [
                TxStamp { kind: TxStampKind::Scheduled, key: 2963, at: at(20), packet_len: 988 },
                TxStamp { kind: TxStampKind::Sent, key: 2963, at: at(20), packet_len: 988 },
                TxStamp { kind: TxStampKind::Acked, key: 2963, at: at(30), packet_len: 988 },
            ]
        );
        assert_eq!(t.records_held(), 0);
    }

    #[test]
    fn without_opt_id_keys_are_zero_and_ts_only_drops_the_packet() {
        let mut t = TxStamps::default();
        let f = TxStampFlags { sent: true, ts_only: true, ..Default::default() };
        t.set_flags(f, SeqNum(100), SeqNum(100));
        t.on_write(SeqNum(200));
        t.on_transmit(at(1), SeqNum(100), 100);
        assert_eq!(
            t.pop(),
            Some(TxStamp { kind: TxStampKind::Sent, key: 0, at: at(1), packet_len: 0 })
        );
        t.on_ack(at(2), SeqNum(200));
        assert_eq!(t.pop(), None, "no acknowledgement stamp asked for");
    }

    #[test]
    fn opt_id_counts_from_una_when_switched_on() {
        let mut t = TxStamps::default();
        t.set_flags(
            TxStampFlags { opt_id: true, acked: true, ..Default::default() },
            SeqNum(50),
            SeqNum(50),
        );
        // Switching flags again with opt_id still on keeps the origin.
        t.set_flags(ALL, SeqNum(70), SeqNum(70));
        t.on_write(SeqNum(80));
        t.on_ack(at(3), SeqNum(80));
        assert_eq!(t.pop().map(|s| (s.kind, s.key)), Some((TxStampKind::Acked, 29)));
    }

    #[test]
    fn a_retransmission_stamps_again() {
        let mut t = TxStamps::default();
        t.set_flags(TxStampFlags { sent: true, ..ALL }, SeqNum(0), SeqNum(0));
        t.on_write(SeqNum(10));
        t.on_transmit(at(1), SeqNum(0), 10);
        t.on_transmit(at(5), SeqNum(5), 5);
        assert_eq!(t.pop().map(|s| s.at), Some(at(1)));
        assert_eq!(t.pop().map(|s| s.at), Some(at(1)));
        assert_eq!(t.pop().map(|s| (s.at, s.packet_len)), Some((at(5), 5)));
    }

    #[test]
    fn writes_without_flags_leave_no_record_and_the_queue_is_bounded() {
        let mut t = TxStamps::default();
        t.on_write(SeqNum(10));
        assert_eq!(t.records_held(), 0);
        t.set_flags(TxStampFlags { sent: true, ..Default::default() }, SeqNum(0), SeqNum(0));
        for i in 0..(ERROR_QUEUE_CAP as u32 + 10) {
            t.on_write(SeqNum(i + 11));
            t.on_transmit(at(1), SeqNum(i + 10), 1);
        }
        assert_eq!(t.dropped(), 10);
        assert_eq!(core::iter::from_fn(|| t.pop()).count(), ERROR_QUEUE_CAP);
    }
}
