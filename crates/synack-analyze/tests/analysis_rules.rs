//! The sequence-analysis rules on hand-made segment sequences (no capture, no root): each test
//! is one rule of Wireshark's TCP analysis as its user's guide describes it.

use core::net::{IpAddr, Ipv4Addr};
use synack_analyze::analysis::{Analyzer, TcpAnalysis, flag};
use synack_analyze::decode::TcpInfo;
use synack_wire::tcp::TcpFlags;

const C: (IpAddr, u16) = (IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 40000);
const S: (IpAddr, u16) = (IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 80);
const ISN_C: u32 = 1000;
const ISN_S: u32 = 5000;

struct Conv {
    an: Analyzer,
    frame: u64,
    t_us: u64,
}

const SYN: TcpFlags = TcpFlags::SYN;
const ACK: TcpFlags = TcpFlags::ACK;
const FIN: TcpFlags = TcpFlags::FIN;

impl Conv {
    fn new() -> Self {
        Conv { an: Analyzer::new(), frame: 0, t_us: 0 }
    }
    /// One segment; `rel_seq`/`rel_ack` are relative to the two ISNs.
    #[allow(clippy::too_many_arguments)]
    fn seg(
        &mut self,
        dt_us: u64,
        from_client: bool,
        rel_seq: u32,
        rel_ack: u32,
        flags: TcpFlags,
        win: u16,
        len: u32,
        opts: &[u8],
    ) -> TcpAnalysis {
        self.frame += 1;
        self.t_us += dt_us;
        let (src, dst, isn_s, isn_a) =
            if from_client { (C, S, ISN_C, ISN_S) } else { (S, C, ISN_S, ISN_C) };
        let payload = vec![0u8; len as usize];
        let t = TcpInfo {
            src_port: src.1,
            dst_port: dst.1,
            seq: isn_s.wrapping_add(rel_seq),
            ack: if flags.ack() { isn_a.wrapping_add(rel_ack) } else { 0 },
            flags,
            window: win,
            urgent: 0,
            header_len: 20 + opts.len(),
            payload_len: len,
            in_fragment: false,
            options: opts,
            payload: &payload,
        };
        self.an.on_packet(self.frame, self.t_us * 1000, src.0, dst.0, &t)
    }
    /// SYN (wscale `wc`), SYN-ACK (wscale `ws`), ACK; 10 ms RTT.
    fn handshake(&mut self, wc: Option<u8>, ws: Option<u8>) {
        let o = |w: Option<u8>| w.map_or(vec![2, 4, 5, 0xb4], |s| vec![2, 4, 5, 0xb4, 1, 3, 3, s]);
        self.seg(0, true, 0, 0, SYN, 64240, 0, &o(wc));
        self.seg(5000, false, 0, 1, SYN | ACK, 65160, 0, &o(ws));
        self.seg(5000, true, 1, 1, ACK, 500, 0, &[]);
    }
}

#[test]
fn relative_numbers_and_window_scaling_from_the_handshake() {
    let mut c = Conv::new();
    c.handshake(Some(7), Some(2));
    let a = c.seg(100, true, 1, 1, ACK | TcpFlags::PSH, 500, 100, &[]);
    assert_eq!((a.rel_seq, a.rel_ack, a.rel_nxtseq), (1, 1, 101));
    assert_eq!(a.window_size, 500 << 7);
    assert_eq!(a.bytes_in_flight, Some(100));
    let b = c.seg(100, false, 1, 101, ACK, 1000, 0, &[]);
    assert_eq!(b.window_size, 1000 << 2);
    assert_eq!(b.acks_frame, Some(4));
    assert_eq!(b.ack_rtt_ns, Some(100_000));
    // Without the option on the SYN-ACK, neither side scales.
    let mut c = Conv::new();
    c.handshake(Some(7), None);
    assert_eq!(c.seg(100, true, 1, 1, ACK, 500, 10, &[]).window_size, 500);
}

#[test]
fn mid_stream_capture_starts_relative_numbers_at_one() {
    let mut c = Conv::new();
    let a = c.seg(0, true, 777, 333, ACK, 100, 10, &[]);
    assert_eq!((a.rel_seq, a.rel_ack), (1, 1));
    assert_eq!(a.win_scale, -1, "scale unknown without a SYN");
}

#[test]
fn duplicate_acks_then_fast_retransmission() {
    let mut c = Conv::new();
    c.handshake(None, None);
    c.seg(10, true, 1, 1, ACK, 500, 100, &[]); // lost on the way
    let lost = c.seg(10, true, 101, 1, ACK, 500, 100, &[]);
    assert_eq!(lost.flags, 0, "the capture saw both");
    c.seg(10, false, 1, 1, ACK, 1000, 0, &[]);
    let d1 = c.seg(10, false, 1, 1, ACK, 1000, 0, &[]);
    let d2 = c.seg(10, false, 1, 1, ACK, 1000, 0, &[]);
    assert!(d1.flags & flag::DUPLICATE_ACK != 0 && d1.dupack_num == 1);
    assert!(d2.flags & flag::DUPLICATE_ACK != 0 && d2.dupack_num == 2);
    let r = c.seg(10_000, true, 1, 1, ACK, 500, 100, &[]);
    assert_eq!(r.flags, flag::FAST_RETRANSMISSION);
}

#[test]
fn retransmission_out_of_order_and_spurious() {
    let mut c = Conv::new();
    c.handshake(None, None);
    c.seg(10, true, 1, 1, ACK, 500, 100, &[]);
    c.seg(10, true, 101, 1, ACK, 500, 100, &[]);
    // Within the handshake RTT (10 ms) of the highest segment, an earlier one: out of order.
    assert_eq!(c.seg(1000, true, 1, 1, ACK, 500, 100, &[]).flags, flag::OUT_OF_ORDER);
    // Later: a retransmission.
    assert_eq!(c.seg(200_000, true, 1, 1, ACK, 500, 100, &[]).flags, flag::RETRANSMISSION);
    // Once acknowledged, sending it again is spurious.
    c.seg(10, false, 1, 201, ACK, 1000, 0, &[]);
    assert_eq!(
        c.seg(200_000, true, 101, 1, ACK, 500, 100, &[]).flags,
        flag::SPURIOUS_RETRANSMISSION
    );
}

#[test]
fn lost_segment_and_acked_unseen() {
    let mut c = Conv::new();
    c.handshake(None, None);
    c.seg(10, true, 1, 1, ACK, 500, 100, &[]);
    let gap = c.seg(10, true, 201, 1, ACK, 500, 100, &[]);
    assert_eq!(gap.flags, flag::LOST_SEGMENT);
    let a = c.seg(10, false, 1, 301, ACK, 1000, 0, &[]);
    assert!(a.flags & flag::ACK_LOST_SEGMENT != 0, "{:#x}", a.flags);
}

#[test]
fn zero_window_probe_and_its_ack_then_window_update() {
    let mut c = Conv::new();
    c.handshake(None, None);
    c.seg(10, true, 1, 1, ACK, 500, 100, &[]);
    let z = c.seg(10, false, 1, 101, ACK, 0, 0, &[]);
    assert_eq!(z.flags, flag::ZERO_WINDOW);
    let p = c.seg(200_000, true, 101, 1, ACK, 500, 1, &[]);
    assert_eq!(p.flags, flag::ZERO_WINDOW_PROBE);
    let pa = c.seg(10, false, 1, 101, ACK, 0, 0, &[]);
    assert_eq!(pa.flags, flag::ZERO_WINDOW | flag::ZERO_WINDOW_PROBE_ACK);
    let u = c.seg(10, false, 1, 101, ACK, 800, 0, &[]);
    assert_eq!(u.flags, flag::WINDOW_UPDATE);
}

#[test]
fn keep_alive_and_its_ack() {
    let mut c = Conv::new();
    c.handshake(None, None);
    c.seg(10, true, 1, 1, ACK, 500, 10, &[]);
    c.seg(10, false, 1, 11, ACK, 1000, 0, &[]);
    let k = c.seg(1_000_000, true, 10, 1, ACK, 500, 0, &[]);
    assert_eq!(k.flags, flag::KEEP_ALIVE);
    let ka = c.seg(10, false, 1, 11, ACK, 1000, 0, &[]);
    assert_eq!(ka.flags, flag::KEEP_ALIVE_ACK);
}

#[test]
fn window_full_at_the_edge_of_the_advertised_window() {
    let mut c = Conv::new();
    c.handshake(None, None);
    c.seg(10, false, 1, 1, ACK, 300, 0, &[]);
    assert_eq!(c.seg(10, true, 1, 1, ACK, 500, 100, &[]).flags, 0);
    assert_eq!(c.seg(10, true, 101, 1, ACK, 500, 200, &[]).flags, flag::WINDOW_FULL);
}

#[test]
fn a_new_isn_on_the_same_ports_is_a_new_stream() {
    let mut c = Conv::new();
    c.handshake(None, None);
    c.seg(10, true, 1, 1, FIN | ACK, 500, 0, &[]);
    c.seg(10, false, 1, 2, FIN | ACK, 500, 0, &[]);
    let again = c.seg(10, true, 100_000, 0, SYN, 64240, 0, &[]);
    assert_eq!(again.stream, 1);
    assert!(again.flags & flag::REUSED_PORTS != 0);
    assert_eq!(again.rel_seq, 0);
    // A retransmitted SYN (same ISN) stays in its stream.
    let mut d = Conv::new();
    d.seg(0, true, 0, 0, SYN, 64240, 0, &[]);
    let r = d.seg(1_000_000, true, 0, 0, SYN, 64240, 0, &[]);
    assert_eq!(r.stream, 0);
    assert_eq!(r.flags, flag::RETRANSMISSION);
}
