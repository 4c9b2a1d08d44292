//! Output: the segment record handed to the IP layer, and the order in which segments leave
//! (cookie SYN-ACKs, then other control segments, then connections round-robin).

use core::net::SocketAddr;

use synack_wire::tcp::{TcpFlags, TcpOptions, TcpRepr};
use synack_wire::{ChecksumMode, SeqNum};

use super::{ConnId, Endpoint};
use crate::emit::{self, Header};
use crate::secret::FourTuple;
use crate::time::Instant;

/// A segment written by [`Endpoint::poll_transmit`]: `buf[..len]` holds the TCP header (with
/// options and checksum) and payload. The parsed fields are repeated here so the IP layer,
/// tracers and tests need not parse what the engine just wrote.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Transmit {
    /// Source address and port (ours).
    pub src: SocketAddr,
    /// Destination address and port.
    pub dst: SocketAddr,
    /// Bytes written to the buffer (TCP header + payload).
    pub len: usize,
    /// TCP header length including options.
    pub header_len: usize,
    /// Sequence number.
    pub seq: SeqNum,
    /// Acknowledgment number (0 without ACK).
    pub ack: SeqNum,
    /// Control bits.
    pub flags: TcpFlags,
    /// Window field as sent.
    pub window: u16,
    /// Urgent pointer as sent.
    pub urgent: u16,
    /// Options as sent.
    pub options: TcpOptions,
    /// The connection it belongs to (`None` for RSTs to unknown tuples and cookie SYN-ACKs).
    pub conn: Option<ConnId>,
    /// A retransmission (for tracers and counters).
    pub retransmission: bool,
    /// The IP ECN codepoint to send with (RFC 3168): 2 (ECT(0)) on new data of an ECN
    /// connection, 0 (Not-ECT) otherwise.
    pub ecn: u8,
    /// Payload bytes per wire segment when this is a super-segment for a device that cuts it
    /// (its payload is larger than one MSS; see [`Endpoint::set_output_segment_max`]); 0 when
    /// it goes on the wire as it is.
    pub segment_size: usize,
    /// Send it inside a UDP datagram to this remote port (TCP over UDP, see
    /// [`crate::udp_encap`]); `None` for plain TCP. The segment in the buffer carries a
    /// normal TCP checksum; `synack_wire::udp_encap::encapsulate` makes the datagram.
    pub udp_port: crate::udp_encap::UdpPort,
    /// TTL and TOS to send with, from the connection's [`ConnConfig::ip`](crate::ConnConfig)
    /// (defaults for a reply from no connection); the ECN bits are [`ecn`](Self::ecn).
    pub ip: crate::config::IpFields,
}

impl Transmit {
    /// The payload, from the buffer given to `poll_transmit`.
    pub fn payload<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        &buf[self.header_len..self.len]
    }

    /// The segment as a [`TcpRepr`], payload borrowed from the buffer.
    pub fn repr<'a>(&self, buf: &'a [u8]) -> TcpRepr<'a> {
        TcpRepr {
            src_port: self.src.port(),
            dst_port: self.dst.port(),
            seq: self.seq,
            ack: self.ack,
            flags: self.flags,
            window: self.window,
            urgent: self.urgent,
            options: self.options,
            raw_options: None,
            payload: self.payload(buf),
        }
    }
}

/// What the IP layer needs of a segment [`Endpoint::poll_transmit_brief`] wrote: where it
/// goes and how long it is. The full record ([`Transmit`]) repeats the header's fields as
/// well; an interface that only wraps the segment in an IP header takes this one, which the
/// engine fills without copying the options around once more.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TransmitBrief {
    /// Source address and port (ours).
    pub src: SocketAddr,
    /// Destination address and port.
    pub dst: SocketAddr,
    /// Bytes written to the buffer (TCP header + payload).
    pub len: usize,
    /// As [`Transmit::segment_size`].
    pub segment_size: usize,
}

/// A written segment's facts besides its header (see [`Endpoint::poll_next`]).
struct Written {
    tuple: FourTuple,
    len: usize,
    header_len: usize,
    conn: Option<ConnId>,
    retransmission: bool,
    ecn: u8,
    segment_size: usize,
    udp_port: crate::udp_encap::UdpPort,
    ip: crate::config::IpFields,
}

impl Endpoint {
    /// Writes the next segment to send into `buf` (at least 60 bytes; the payload is limited
    /// by what fits) and says where it goes. Call until it returns `None` after every input,
    /// timeout or application call. Nothing is allocated per segment.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        self.poll_transmit_with(now, buf, ChecksumMode::Verify)
    }

    /// [`poll_transmit`](Self::poll_transmit) with a choice of checksum handling:
    /// [`ChecksumMode::Skip`] leaves the field zero for a device that offloads it.
    pub fn poll_transmit_with(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        checksum: ChecksumMode,
    ) -> Option<Transmit> {
        self.poll_next(now, buf, checksum, |h, w| Transmit {
            src: w.tuple.local,
            dst: w.tuple.remote,
            len: w.len,
            header_len: w.header_len,
            seq: SeqNum(h.seq),
            ack: SeqNum(h.ack),
            flags: h.flags,
            window: h.window,
            urgent: h.urgent,
            options: h.options,
            conn: w.conn,
            retransmission: w.retransmission,
            ecn: w.ecn,
            segment_size: w.segment_size,
            udp_port: w.udp_port,
            ip: w.ip,
        })
    }

    /// [`poll_transmit_with`](Self::poll_transmit_with) for an interface that needs only
    /// the addresses and the length: the same segment, written the same way, described by
    /// a [`TransmitBrief`].
    pub fn poll_transmit_brief(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        checksum: ChecksumMode,
    ) -> Option<TransmitBrief> {
        self.poll_next(now, buf, checksum, |_, w| TransmitBrief {
            src: w.tuple.local,
            dst: w.tuple.remote,
            len: w.len,
            segment_size: w.segment_size,
        })
    }

    /// The next segment written into `buf`, described by `describe` from its header and the
    /// facts around it.
    #[inline(always)]
    fn poll_next<R>(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        checksum: ChecksumMode,
        describe: impl FnOnce(&Header, &Written) -> R,
    ) -> Option<R> {
        self.advance(now);
        if buf.len() < 60 {
            return None;
        }
        self.last_tx = None;
        if let Some((tuple, mut h, udp_port, ip)) = self.ctl.pop() {
            //~ freebsd: tcp_respond signs a reply when the connection (or bound socket) it
            //~ answers for has a key; linux: tcp_v4_send_reset signs with the key found for the
            //~ segment's peer.
            if self.md5_secret(&tuple).is_some()
                && emit::options_len(&h.options, h.layout)
                    + synack_wire::tcp::options::MD5_ALIGNED_LEN
                    <= synack_wire::tcp::options::MAX_OPTIONS_LEN
            {
                h.options.md5 = Some([0; 16]);
            }
            let (len, header_len) = self.finish_segment(buf, tuple, &mut h, 0, checksum);
            let w = Written {
                tuple,
                len,
                header_len,
                conn: None,
                retransmission: false,
                ecn: 0,
                segment_size: 0,
                udp_port,
                ip,
            };
            return Some(describe(&h, &w));
        }
        let out_seg_max = self.out_seg_max;
        while let Some(id) = self.tx_ready.pop_front() {
            let Some(slot) = self.slots.get_mut(id.index as usize) else { continue };
            if slot.generation != id.generation {
                continue;
            }
            slot.tx_queued = false;
            let Some(conn) = slot.conn.as_mut() else { continue };
            // Taken back by `after_with` if no flight starts.
            self.spares.lend_flight(conn);
            let tuple = conn.tuple;
            let udp_port = conn.cfg.udp_encapsulation;
            let ip = conn.cfg.ip;
            conn.sum_tx = checksum.verify();
            // A signed segment cannot be cut by the device: each piece needs its own digest.
            conn.out_seg_max = if conn.opt.md5 { 0 } else { out_seg_max };
            let mut built = None;
            conn.poll_segment(now, buf, &mut built);
            if let Some(seg) = built.as_mut() {
                let mss = conn.eff_snd_mss() as usize;
                let segment_size = if seg.payload_len > mss { mss } else { 0 };
                // Sending new data lowers the unsent count, which is what a writer held by
                // the unsent low-water mark waits for (Linux's tcp_check_space after
                // tcp_write_xmit).
                if conn.cfg.notsent_lowat.is_some() && !seg.retransmission && conn.write_space() {
                    conn.want_writable = false;
                    crate::event::push_bounded(&mut self.events, crate::Event::Writable(id));
                }
                // It may have more: back of the queue, for fairness.
                slot.tx_queued = true;
                // No room for a cookie beside a signature (as on our SYN).
                if seg.header.flags.syn()
                    && seg.header.flags.ack()
                    && seg.header.options.md5.is_none()
                    && let Some(c) = self.fo_reply.get(&id)
                {
                    // A SYN-ACK carries no payload, so adding an option moves nothing.
                    seg.header.options.fast_open = Some(*c);
                }
                self.tx_ready.push_back(id);
                let (len, header_len) =
                    self.finish_segment(buf, tuple, &mut seg.header, seg.payload_len, checksum);
                let w = Written {
                    tuple,
                    len,
                    header_len,
                    conn: Some(id),
                    retransmission: seg.retransmission,
                    ecn: seg.ecn,
                    segment_size,
                    udp_port,
                    ip,
                };
                self.last_tx = Some(SentSegment {
                    conn: Some(id),
                    seq: SeqNum(seg.header.seq),
                    len: seg.payload_len as u32,
                    fin: seg.header.flags.fin(),
                    retransmission: seg.retransmission,
                });
                // Queued above: its next poll refreshes the timers (once per burst, not per
                // segment).
                self.after_with(id, false, false);
                return Some(describe(&seg.header, &w));
            }
            self.after_quiet(id);
        }
        None
    }

    /// Writes the header `h` (its MD5 option signed in place) before the `payload_len` bytes
    /// already in `buf`, and the checksum; returns the segment's length and its header's.
    #[inline]
    pub(super) fn finish_segment(
        &mut self,
        buf: &mut [u8],
        tuple: FourTuple,
        h: &mut Header,
        payload_len: usize,
        checksum: ChecksumMode,
    ) -> (usize, usize) {
        let hlen = emit::write_header(buf, h).unwrap_or(20);
        let len = hlen + payload_len;
        let (src, dst) = (tuple.local.ip(), tuple.remote.ip());
        if h.options.md5.is_some() {
            //= rfc2385#2.0
            //~ paraphrase: The digest covers the payload and the header without options, so
            //~ it is computed once both are in place, and the checksum after it.
            h.options.md5 = self.md5_sign(&tuple, &mut buf[..len]).or(h.options.md5);
        }
        emit::fill_checksum(&mut buf[..len], hlen, h.payload_sum, src, dst, checksum);
        (len, hlen)
    }
}

impl Endpoint {
    /// The interface could not transmit `t`, the segment [`poll_transmit`](Self::poll_transmit)
    /// returned last for its connection (the device or its queue refused it: `ENOBUFS`, a full
    /// ring, a queue discipline that drops). Call it before polling that connection again.
    ///
    /// The segment counts as never sent, as in Linux: new data stays unsent (SND.NXT goes
    /// back) and is offered again when the retry timer fires, every 500 ms without backing off
    /// (TCP_RESOURCE_PROBE_INTERVAL; the first retry after one RTO), with the user timeout
    /// counting from the first retry; a refused retransmission is not counted as one. Segments
    /// of no connection, and ACKs, need no report: a lost ACK is repaired by the peer.
    pub fn transmit_failed(&mut self, now: Instant, t: &Transmit) {
        self.advance(now);
        self.last_tx = None;
        self.refused(SentSegment::of(t));
    }

    /// [`transmit_failed`](Self::transmit_failed) for the segment `poll_transmit` returned
    /// last, for an interface that no longer has it (it wrote the segment into the device's
    /// buffer and learnt of the refusal after). Nothing happens when the last poll returned
    /// no connection's segment, or when it was reported already.
    pub fn last_transmit_failed(&mut self, now: Instant) {
        self.advance(now);
        if let Some(s) = self.last_tx.take() {
            self.refused(s);
        }
    }

    fn refused(&mut self, s: SentSegment) {
        let Some(id) = s.conn else { return };
        let Ok(conn) = self.conn_mut(id) else { return };
        conn.on_transmit_failed(s.seq, s.len, s.fin, s.retransmission);
        self.after_quiet(id);
    }
}

/// The facts of a sent segment that undoing it needs.
#[derive(Clone, Copy, Debug)]
pub(super) struct SentSegment {
    conn: Option<ConnId>,
    seq: SeqNum,
    len: u32,
    fin: bool,
    retransmission: bool,
}

impl SentSegment {
    fn of(t: &Transmit) -> SentSegment {
        SentSegment {
            conn: t.conn,
            seq: t.seq,
            len: t.len.saturating_sub(t.header_len) as u32,
            fin: t.flags.fin(),
            retransmission: t.retransmission,
        }
    }
}
