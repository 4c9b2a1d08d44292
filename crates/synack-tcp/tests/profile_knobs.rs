//! Per-connection knobs that let the engine reproduce another stack's sender choices where
//! the RFCs leave the choice open (used by synack-drill's profiles): the slow-start limit per
//! ACK (RFC 3465's L), PSH placement, the FreeBSD option layout and buffer rounding, the
//! ACK bit on an abort's RST.

mod script;
use script::*;
use synack_tcp::{ConnConfig, Duration};

const I: u32 = ISS;
const T: u32 = IRS;
const MSS: u32 = 1000;

/// A passive open over a 20 ms path, no options but the MSS.
fn handshake(cfg: ConnConfig) -> Script {
    let cfg = ConnConfig { sack: false, timestamps: false, window_scaling: false, ..cfg };
    Script::established_passive_over(
        cfg,
        Seg::new(S, T, 0).mss(MSS as u16),
        Duration::from_millis(20),
    )
}

fn seg_seq(k: u32) -> u32 {
    I + 1 + k * MSS
}

fn cwnd(s: &Script) -> u32 {
    s.ep.stats(s.id()).unwrap().cwnd.unwrap()
}

/// An ACK of 4 segments in slow start grows cwnd by 2 segments with RFC 3465's L = 2 (the
/// default) and by all 4 without the cap (Linux, `slow_start_ack_limit: None`).
#[test]
fn slow_start_growth_per_ack_follows_the_limit() {
    for (limit, grown) in [(Some(2), 12), (None, 14), (Some(3), 13)] {
        let mut s = handshake(ConnConfig {
            nodelay: true,
            slow_start_ack_limit: limit,
            ..ConnConfig::default()
        });
        s.send(&[0; 30 * MSS as usize]);
        assert_eq!(s.sent().len(), 10);
        assert_eq!(cwnd(&s), 10 * MSS);
        s.advance(Duration::from_millis(20));
        s.inject(Seg::new(A, T + 1, seg_seq(4)));
        assert_eq!(cwnd(&s), grown * MSS, "limit {limit:?}");
        // The window released 4 + growth new segments.
        assert_eq!(s.sent().len() as u32, 4 + grown - 10, "limit {limit:?}");
    }
}

/// The SYN's option bytes in each layout: Linux's word-aligned `mss,sackOK,TS,nop,wscale`
/// (the default) and FreeBSD's `mss,nop,wscale,sackOK,TS`; both parse to the same options.
#[test]
fn syn_option_layout() {
    use synack_tcp::{Endpoint, EndpointConfig, Instant, OptionLayout};
    use synack_wire::ChecksumMode;
    use synack_wire::tcp::TcpRepr;
    for (layout, kinds) in [
        (OptionLayout::Linux, [2, 2, 2, 2, 4, 2, 8, 10]),
        (OptionLayout::Bsd, [2, 4, 5, 0xb4, 1, 3, 3, 6]),
    ] {
        let conn =
            ConnConfig { option_layout: layout, window_scale: Some(6), ..ConnConfig::default() };
        let mut ep =
            Endpoint::new(EndpointConfig { conn, ..EndpointConfig::default() }, [7; 16], 1);
        let now = Instant::from_secs(1);
        ep.connect(now, v4(1, 5000), v4(2, 80), conn).unwrap();
        let mut buf = [0u8; 1600];
        let t = ep.poll_transmit(now, &mut buf).expect("the SYN");
        let syn = &buf[..t.len];
        let opts = &syn[20..usize::from(syn[12] >> 4) * 4];
        assert_eq!(opts.len(), 20, "{layout:?}");
        if layout == OptionLayout::Linux {
            assert_eq!((opts[0], opts[4], opts[6]), (kinds[0], kinds[4], kinds[6]));
            assert_eq!(&opts[16..], &[1, 3, 3, 6]);
        } else {
            assert_eq!(&opts[..8], &kinds);
            assert_eq!((opts[8], opts[10]), (4, 8));
        }
        let r = TcpRepr::parse_bytes(syn, t.src.ip(), t.dst.ip(), ChecksumMode::Verify).unwrap();
        assert_eq!(r.options.mss, Some(1460));
        assert_eq!(r.options.window_scale, Some(6));
        assert!(r.options.sack_permitted && r.options.timestamps.is_some());
    }
}

/// FreeBSD's buffer rounding: a 65536-byte receive buffer becomes 65700 (45 * 1460) once the
/// handshake fixes the MSS, so the unscaled window is a full 65535; without the knob the
/// buffer keeps its configured size.
#[test]
fn receive_buffer_rounds_up_to_whole_segments() {
    for (round, expect) in [(false, 65_536), (true, 65_700)] {
        let cfg = ConnConfig { recv_buffer: 65_536, recv_buffer_mss_rounding: round, ..plain() };
        let mut s = Script::connecting(cfg);
        s.one();
        s.inject(Seg::new(SA, T, I + 1).mss(1460).win(32767));
        let ack = s.one();
        check(&ack, A, I + 1, T + 1);
        assert_eq!(ack.window, 65535);
        assert_eq!(s.ep.stats(s.id()).unwrap().recv_buffer, expect);
    }
}

/// With timestamps the buffer still rounds to whole segments of the MSS without options
/// (FreeBSD's `t_maxseg`: 65536 becomes 45 * 1460 = 65700, not 46 * 1448), and under
/// `ReceiveWindow::FreeSpace` the scaled window rounds up to the scale's unit as FreeBSD's
/// does (65700 >> 6 is 1026.6: 1027); RFC 9293's receiver SWS avoidance keeps the edge it
/// offered before the buffer grew by less than a segment (65472 bytes, 1023 units).
#[test]
fn timestamps_leave_the_rounding_segment_whole_and_free_space_rounds_the_scaled_window_up() {
    use synack_tcp::ReceiveWindow;
    for (policy, expect) in [(ReceiveWindow::SwsAvoidance, 1023), (ReceiveWindow::FreeSpace, 1027)]
    {
        let cfg = ConnConfig {
            recv_buffer: 65_536,
            recv_buffer_mss_rounding: true,
            receive_window: policy,
            window_scaling: true,
            window_scale: Some(6),
            timestamps: true,
            ..plain()
        };
        let mut s = Script::connecting(cfg);
        let syn = s.one();
        let tsval = syn.options.timestamps.expect("timestamps offered").tsval;
        s.inject(Seg::new(SA, T, I + 1).mss(1460).ws(6).ts(100, tsval).win(65535));
        let ack = s.one();
        check(&ack, A, I + 1, T + 1);
        assert_eq!(s.ep.stats(s.id()).unwrap().recv_buffer, 65_700, "{policy:?}");
        assert_eq!(ack.window, expect, "{policy:?}");
    }
}

/// The peer's FIN takes a sequence number but no buffer space: the ACK of the FIN still
/// advertises the whole free buffer (65535 here), not one byte less.
#[test]
fn fin_does_not_shrink_the_window() {
    let mut s = Script::established_passive(ConnConfig { recv_buffer: 65_535, ..plain() });
    s.inject(Seg::new(FA, T + 1, I + 1));
    let ack = s.one();
    check(&ack, A, I + 1, T + 2);
    assert_eq!(ack.window, 65535);
}

/// close() with unread data: RFC 9293 3.10.5's `<SEQ=SND.NXT><CTL=RST>` by default; with
/// `AbortReset::Linux`, `R.` with ACK = RCV.NXT and a timestamp echoing TS.Recent.
#[test]
fn abort_reset_on_close_with_unread_data() {
    use synack_tcp::AbortReset;
    for form in [AbortReset::Rfc, AbortReset::Linux] {
        let cfg = ConnConfig { abort_reset: form, timestamps: true, ..plain() };
        let mut s = Script::listening(cfg);
        s.inject(Seg::new(S, T, 0).mss(1000).ts(100, 0));
        s.one();
        s.inject(Seg::new(A, T + 1, I + 1).ts(200, 0));
        s.conn = s.ep.accept(s.listener.unwrap());
        s.inject(Seg::new(A, T + 1, I + 1).ts(201, 0).data(&[7; 100]));
        s.advance(Duration::from_millis(100));
        s.sent();
        s.ep.close(s.id()).unwrap();
        let rst = s.one();
        match form {
            AbortReset::Rfc => {
                check(&rst, R, I + 1, 0);
                assert!(rst.options.timestamps.is_none());
                assert_eq!(rst.window, 0);
            }
            _ => {
                check(&rst, RA, I + 1, T + 101);
                assert_eq!(rst.options.timestamps.map(|t| t.tsecr), Some(201));
                // Linux writes the current receive window on the RST as on any segment.
                let free = cfg.recv_buffer - 100;
                assert!(rst.window > 0 && usize::from(rst.window) <= free, "{}", rst.window);
            }
        }
    }
}

/// Data after a full close: the RFC form resets from the connection (SND.NXT, one past our
/// FIN); Linux's answers the segment as from no connection, `<SEQ=SEG.ACK><CTL=RST>`.
#[test]
fn abort_reset_for_data_after_close() {
    use synack_tcp::AbortReset;
    for (form, seq) in [(AbortReset::Rfc, I + 2), (AbortReset::Linux, I + 1)] {
        let mut s = Script::established_passive(ConnConfig { abort_reset: form, ..plain() });
        s.ep.close(s.id()).unwrap();
        check(&s.one(), FA, I + 1, T + 1);
        s.inject(Seg::new(A, T + 1, I + 1).data(&[1]));
        let rst = s.one();
        check(&rst, R, seq, 0);
    }
}

/// After a read: the RFC rule sends a window update once the right edge can move by
/// min(RCV.BUFF/2, MSS); Linux's only when the advertised window had fallen to half the
/// buffer and the read at least doubles it.
#[test]
fn window_update_after_read() {
    use synack_tcp::ReadWindowUpdate;
    for (rule, after_1500, after_3000) in
        [(ReadWindowUpdate::SwsStep, true, true), (ReadWindowUpdate::Doubling, false, true)]
    {
        for (fill, expect) in [(1500u32, after_1500), (3000, after_3000)] {
            let cfg = ConnConfig { recv_buffer: 4000, read_window_update: rule, ..plain() };
            let mut s = Script::established_passive(cfg);
            s.inject(Seg::new(A, T + 1, I + 1).data(&vec![5; fill as usize]));
            s.advance(Duration::from_millis(500));
            s.sent();
            assert_eq!(s.recv_all().len() as u32, fill);
            let out = s.sent();
            assert_eq!(!out.is_empty(), expect, "{rule:?} after reading {fill}: {out:?}");
            if expect {
                assert_eq!(out[0].window, 4000, "{rule:?}");
            }
        }
    }
}

/// PSH placement: with the default (end of burst) the last segment cwnd lets out carries PSH;
/// with `EndOfWrite` (Linux's tcp_mark_push) only the segment holding a write's last byte
/// does, however cwnd cuts the data, and a retransmission of it carries PSH again.
#[test]
fn push_policy_end_of_write() {
    use synack_tcp::PushPolicy;
    let psh = |o: &Out| o.flags.psh();
    for policy in [PushPolicy::EndOfBurst, PushPolicy::EndOfWrite] {
        let mut s =
            handshake(ConnConfig { nodelay: true, push_policy: policy, ..ConnConfig::default() });
        // Two writes: 12500 bytes, then 2500; cwnd lets 10 segments out.
        s.send(&[1; 12_500]);
        s.send(&[2; 2_500]);
        let first = s.sent();
        assert_eq!(first.len(), 10);
        let pushed: Vec<bool> = first.iter().map(psh).collect();
        match policy {
            PushPolicy::EndOfBurst => assert!(pushed[9] && !pushed[..9].contains(&true)),
            _ => assert!(!pushed.contains(&true), "{policy:?}: {first:?}"),
        }
        s.advance(Duration::from_millis(20));
        s.inject(Seg::new(A, T + 1, seg_seq(10)));
        let rest = s.sent();
        assert_eq!(rest.len(), 5, "{policy:?}: {rest:?}");
        let pushed: Vec<bool> = rest.iter().map(psh).collect();
        match policy {
            PushPolicy::EndOfBurst => assert_eq!(pushed, [false, false, false, false, true]),
            // 12001..13001 holds the first write's end (12501), 14001..15001 the second's.
            _ => assert_eq!(pushed, [false, false, true, false, true], "{policy:?}"),
        }
        if policy == PushPolicy::EndOfWrite {
            // The segment with the first write's end is lost: its retransmission has PSH.
            // One ACK up to it, then three duplicates.
            for _ in 0..4 {
                s.inject(Seg::new(A, T + 1, seg_seq(12)));
            }
            let rtx = s.sent();
            let seg = rtx.iter().find(|o| o.seq == seg_seq(12)).expect("fast retransmit");
            assert!(psh(seg), "{rtx:?}");
        }
    }
}

/// PSH at the end of a burst during loss repair (the default policy): the single new segments
/// limited transmit and PRR clock out one per ACK carry none; a burst of several new
/// segments ends with PSH (as Linux's multi-segment sends do).
#[test]
fn end_of_burst_psh_during_repair() {
    let mut s = handshake(ConnConfig { nodelay: true, ..ConnConfig::default() });
    s.send(&[3; 40 * MSS as usize]);
    assert_eq!(s.sent().len(), 10);
    s.advance(Duration::from_millis(20));
    let singles = core::cell::Cell::new(0);
    let bursts = core::cell::Cell::new(0);
    let check_new = |out: &[Out], top: &mut u32| {
        let new: Vec<&Out> =
            out.iter().filter(|o| o.seq >= *top && !o.payload.is_empty()).collect();
        if let Some(last) = new.last() {
            *top = last.seq + last.payload.len() as u32;
        }
        match new.len() {
            0 => {}
            1 => {
                assert!(!new[0].flags.psh(), "a single new segment in repair: {out:?}");
                singles.set(singles.get() + 1);
            }
            n => {
                assert!(new[n - 1].flags.psh(), "a burst ends with PSH: {out:?}");
                assert!(new[..n - 1].iter().all(|o| !o.flags.psh()), "{out:?}");
                bursts.set(bursts.get() + 1);
            }
        }
    };
    let mut top = seg_seq(10);
    // Segment 0 is lost: duplicate ACKs (limited transmit, then fast retransmit and PRR).
    for _ in 0..9 {
        s.inject(Seg::new(A, T + 1, seg_seq(0)));
        let out = s.sent();
        check_new(&out, &mut top);
    }
    // A partial ACK: the next hole's retransmission and one new segment, still no PSH.
    s.inject(Seg::new(A, T + 1, seg_seq(10)));
    let out = s.sent();
    check_new(&out, &mut top);
    assert!(singles.get() >= 6, "limited transmit / PRR singles seen: {}", singles.get());
    // A full ACK ends recovery: the burst cwnd allows ends with PSH.
    s.inject(Seg::new(A, T + 1, top));
    let out = s.sent();
    check_new(&out, &mut top);
    assert_eq!(bursts.get(), 1, "{out:?}");
    // (Several new segments on one ACK *within* recovery, as PRR's slow-start mode sends them,
    // end with PSH too: the public script fast_recovery/prr-ss-30pkt-lost-1_4-11_16 checks it.)
}

/// 100 bytes queued unread in a 65700-byte buffer (FreeBSD's 65536 rounded up, no window
/// scaling): RFC 9293's receiver SWS avoidance keeps the right edge, so the ACK of the next
/// (out-of-order) segment offers 65435; `ReceiveWindow::FreeSpace` offers all free space,
/// capped at 65535.
#[test]
fn receive_window_free_space_offers_all_free_space() {
    use synack_tcp::ReceiveWindow;
    for (policy, expect) in
        [(ReceiveWindow::SwsAvoidance, 65_435), (ReceiveWindow::FreeSpace, 65_535)]
    {
        let cfg = ConnConfig {
            recv_buffer: 65_536,
            recv_buffer_mss_rounding: true,
            receive_window: policy,
            ..plain()
        };
        let mut s = Script::established_passive(cfg);
        s.inject(Seg::new(A, T + 1, I + 1).data(&[1; 100]));
        s.advance(Duration::from_millis(500));
        s.inject(Seg::new(A, T + 301, I + 1).data(&[2; 100]));
        let ack = s.one();
        check(&ack, A, I + 1, T + 101);
        assert_eq!(ack.window, expect, "{policy:?}");
    }
}

/// Two small in-order segments: with the default only full-sized segments count towards the
/// every-second-segment ACK, so the second waits for the delayed-ACK timer; with
/// `AckEvery::SecondSegment` (FreeBSD) it is ACKed at once.
#[test]
fn ack_every_second_segment_whatever_its_size() {
    use synack_tcp::AckEvery;
    for (rule, at_once) in [(AckEvery::SecondFullSized, false), (AckEvery::SecondSegment, true)] {
        let mut s = Script::established_passive(ConnConfig { ack_every: rule, ..plain() });
        s.inject(Seg::new(A, T + 1, I + 1).data(&[1; 10]));
        s.none();
        s.inject(Seg::new(A, T + 11, I + 1).data(&[2; 10]));
        if at_once {
            check(&s.one(), A, I + 1, T + 21);
        } else {
            s.none();
            let later = s.advance(Duration::from_millis(500));
            assert_eq!(later.len(), 1, "{rule:?}");
            check(&later[0].1, A, I + 1, T + 21);
        }
    }
}

/// RFC 2883 4.1.1 and RFC 5681 4.2 on the receive side: a segment part of which arrived before
/// is reported in a D-SACK block, and in-order data that fills part of a gap is ACKed at once.
#[test]
fn partial_duplicates_and_partly_filled_gaps_are_acked_at_once() {
    let cfg = ConnConfig { sack: true, ..plain() };
    let mut s = Script::listening(cfg);
    s.inject(Seg::new(S, T, 0).mss(1000).sack_ok());
    s.one();
    s.inject(Seg::new(A, T + 1, I + 1));
    s.conn = s.ep.accept(s.listener.unwrap());
    s.inject(Seg::new(A, T + 1, I + 1).data(&[1; 100]));
    s.none();
    // A hole at T+101..T+201: the out-of-order segment is ACKed at once with its SACK block.
    s.inject(Seg::new(A, T + 201, I + 1).data(&[2; 100]));
    check(&s.one(), A, I + 1, T + 101);
    // T+51..T+151: 50 bytes again (D-SACK 51..101 first) and 50 new ones that fill part of the
    // hole, ACKed at once.
    s.inject(Seg::new(A, T + 51, I + 1).data(&[3; 100]));
    let ack = s.one();
    check(&ack, A, I + 1, T + 151);
    let blocks: Vec<(u32, u32)> =
        ack.options.sack.as_slice().iter().map(|b| (b.left.0, b.right.0)).collect();
    assert_eq!(blocks.first(), Some(&(T + 51, T + 101)), "{blocks:?}");
    assert!(blocks.contains(&(T + 201, T + 301)), "{blocks:?}");
    // T+151..T+251 repeats T+201..T+251, held out of order: D-SACK of that part (RFC 2883
    // 4.1.3), the rest fills the hole.
    s.inject(Seg::new(A, T + 151, I + 1).data(&[4; 100]));
    let ack = s.one();
    check(&ack, A, I + 1, T + 301);
    let first = ack.options.sack.as_slice().first().map(|b| (b.left.0, b.right.0));
    assert_eq!(first, Some((T + 201, T + 251)));
}

/// RFC 5961's checks switched off (FreeBSD's `insecure_rst=1`, `insecure_syn=1`): an
/// in-window RST that is not at RCV.NXT resets the connection instead of drawing a challenge
/// ACK, and an in-window SYN aborts it with a reset (in `AbortReset::Bsd`'s form, `R.` with
/// ACK = RCV.NXT).
#[test]
fn rfc5961_switches_off() {
    use synack_tcp::{AbortReset, ConnectionError};
    // Defaults: challenge ACKs.
    let mut s = Script::established_passive(plain());
    s.inject(Seg::new(R, T + 100, 0));
    check(&s.one(), A, I + 1, T + 1);
    // One challenge ACK per connection per 500 ms (the side-channel limit).
    s.advance(Duration::from_millis(500));
    s.inject(Seg::new(S, T + 100, 0));
    check(&s.one(), A, I + 1, T + 1);
    assert_eq!(s.ep.error(s.id()).unwrap(), None);

    let mut s = Script::established_passive(ConnConfig { rfc5961_rst: false, ..plain() });
    s.inject(Seg::new(R, T + 100, 0));
    s.none();
    assert!(s.ep.state(s.id()).is_err() || s.ep.error(s.id()).unwrap().is_some());

    let cfg = ConnConfig { rfc5961_syn: false, abort_reset: AbortReset::Bsd, ..plain() };
    let mut s = Script::established_passive(cfg);
    s.inject(Seg::new(S, T + 100, 0));
    check(&s.one(), RA, I + 1, T + 1);
    assert!(matches!(s.ep.error(s.id()), Ok(Some(ConnectionError::Reset)) | Err(_)));
}

/// In a simultaneous open the peer's SYN (no ACK) brings its MSS: the buffer is rounded then,
/// in SYN-RECEIVED, as it is on a SYN-ACK.
#[test]
fn receive_buffer_rounds_in_a_simultaneous_open() {
    let cfg = ConnConfig { recv_buffer: 65_536, recv_buffer_mss_rounding: true, ..plain() };
    let mut s = Script::connecting(cfg);
    s.one();
    s.inject(Seg::new(S, T, 0).mss(1460).win(32767));
    check(&s.one(), SA, I, T + 1);
    assert_eq!(s.ep.stats(s.id()).unwrap().recv_buffer, 65_700);
}

/// A buffer larger than the 16-bit window can offer (65536 rounded up to whole segments, no
/// window scaling): RFC 9293 checks an arriving RST against the advertised 65535 and drops one
/// beyond it silently; `ReceiveWindow::FreeSpace` (FreeBSD) checks against the free buffer
/// space, so the same RST is in the window and draws RFC 5961's challenge ACK.
#[test]
fn free_space_receive_window_accepts_beyond_the_advertised_edge() {
    use synack_tcp::ReceiveWindow;
    for (policy, challenged) in
        [(ReceiveWindow::SwsAvoidance, false), (ReceiveWindow::FreeSpace, true)]
    {
        let cfg = ConnConfig {
            recv_buffer: 65_536,
            recv_buffer_mss_rounding: true,
            receive_window: policy,
            ..plain()
        };
        let mut s = Script::established_passive(cfg);
        let buffer = s.ep.stats(s.id()).unwrap().recv_buffer as u32;
        assert!(buffer > 65_535, "{buffer}");
        // The last sequence number the buffer could hold, beyond the advertised edge.
        s.inject(Seg::new(R, T + buffer, 0));
        if challenged {
            check(&s.one(), A, I + 1, T + 1);
        } else {
            s.none();
        }
        assert_eq!(s.ep.error(s.id()).unwrap(), None, "{policy:?}");
    }
}

/// CLOSING (our FIN sent, the peer's FIN arrives before its ACK of ours): RFC 9293 answers
/// with a bare ACK at SND.NXT; with `ack_repeats_fin` (FreeBSD) the ACK carries our FIN again
/// at its own sequence number. A challenge ACK (RFC 5961) stays bare either way.
#[test]
fn ack_repeats_fin_while_it_is_unacknowledged() {
    for repeat in [false, true] {
        let mut s = Script::established_passive(ConnConfig { ack_repeats_fin: repeat, ..plain() });
        s.ep.close(s.id()).unwrap();
        check(&s.one(), FA, I + 1, T + 1);
        s.inject(Seg::new(FA, T + 1, I + 1));
        if repeat {
            check(&s.one(), FA, I + 1, T + 2);
        } else {
            check(&s.one(), A, I + 2, T + 2);
        }
        // An in-window RST not at RCV.NXT: a challenge ACK, bare.
        s.advance(Duration::from_millis(1));
        s.inject(Seg::new(R, T + 100, 0));
        check(&s.one(), A, I + 2, T + 2);
    }
}

/// A SYN+FIN to a listener: RFC 9293 treats it as a SYN (the FIN is processed once the
/// connection exists), so a SYN-ACK answers; with `EndpointConfig::drop_syn_fin` (FreeBSD's
/// `drop_synfin=1`) it is dropped unanswered, and so is one to a connected socket.
#[test]
fn drop_syn_fin_drops_unanswered() {
    use synack_tcp::EndpointConfig;
    let syn_fin = S | F;
    for drop in [false, true] {
        let ec = EndpointConfig { conn: plain(), drop_syn_fin: drop, ..EndpointConfig::default() };
        let mut s = Script::with_config(ec);
        s.listener = Some(s.ep.listen(s.local, 16).unwrap());
        s.inject(Seg::new(syn_fin, T, 0).mss(1460));
        if drop {
            s.none();
        } else {
            assert_eq!(s.one().flags, SA);
        }
    }
    let ec = EndpointConfig { conn: plain(), drop_syn_fin: true, ..EndpointConfig::default() };
    let mut s2 = Script::with_config(ec);
    s2.listener = Some(s2.ep.listen(s2.local, 16).unwrap());
    s2.inject(Seg::new(S, T, 0).mss(1460));
    check(&s2.one(), SA, I, T + 1);
    s2.inject(Seg::new(A, T + 1, I + 1));
    s2.conn = s2.ep.accept(s2.listener.unwrap());
    s2.inject(Seg::new(syn_fin, T + 1, I + 1));
    s2.none();
    assert_eq!(s2.state(), synack_tcp::State::Established);
}

/// A RST in LAST-ACK: RFC 9293 enters CLOSED with no user signal; with
/// `reset_after_fin_reported` (Linux, FreeBSD) an application that only shut down its sending
/// half reads it as a reset. One that closed the connection hears nothing either way.
#[test]
fn reset_in_last_ack_is_reported_to_a_holder() {
    use synack_tcp::ConnectionError;
    for (reported, close) in [(false, false), (true, false), (true, true)] {
        let cfg = ConnConfig { reset_after_fin_reported: reported, ..plain() };
        let mut s = Script::established_passive(cfg);
        s.inject(Seg::new(FA, T + 1, I + 1));
        s.one();
        if close {
            s.ep.close(s.id()).unwrap();
        } else {
            s.ep.shutdown_write(s.id()).unwrap();
        }
        check(&s.one(), FA, I + 1, T + 2);
        s.inject(Seg::new(R, T + 2, 0));
        s.none();
        let expect = (reported && !close).then_some(ConnectionError::Reset);
        assert_eq!(s.ep.error(s.id()).ok().flatten(), expect, "{reported} {close}");
    }
}

/// TIME-WAIT the FreeBSD way: a RST at RCV.NXT closes it under RFC 9293 and is ignored with
/// `time_wait_ignores_rst` (RFC 1337); an old SYN (at RCV.NXT, so no new incarnation) draws
/// a challenge ACK under RFC 5961 and is dropped with `time_wait_drops_old_syn`.
#[test]
fn time_wait_rst_and_old_syn() {
    use synack_tcp::State;
    fn time_wait(cfg: ConnConfig) -> Script {
        let mut s = Script::established_passive(cfg);
        s.ep.shutdown_write(s.id()).unwrap();
        check(&s.one(), FA, I + 1, T + 1);
        s.inject(Seg::new(FA, T + 1, I + 2));
        check(&s.one(), A, I + 2, T + 2);
        assert_eq!(s.state(), State::TimeWait);
        s
    }
    for ignore in [false, true] {
        let mut s = time_wait(ConnConfig { time_wait_ignores_rst: ignore, ..plain() });
        s.inject(Seg::new(R, T + 2, 0));
        s.none();
        let state = s.ep.state(s.id()).unwrap_or(State::Closed);
        assert_eq!(state, if ignore { State::TimeWait } else { State::Closed });
    }
    for drop in [false, true] {
        let mut s = time_wait(ConnConfig { time_wait_drops_old_syn: drop, ..plain() });
        s.inject(Seg::new(S, T + 2, 0).mss(1460));
        if drop {
            s.none();
        } else {
            check(&s.one(), A, I + 2, T + 2);
        }
        assert_eq!(s.state(), State::TimeWait);
    }
}

/// A SYN-ACK to a listener: RFC 9293 3.10.7.2 answers `<SEQ=SEG.ACK><CTL=RST>`; with
/// `EndpointConfig::listen_drops_syn_ack` (FreeBSD) nothing answers, and a later SYN is
/// served as usual.
#[test]
fn listen_drops_syn_ack_unanswered() {
    use synack_tcp::EndpointConfig;
    for drop in [false, true] {
        let ec = EndpointConfig {
            conn: plain(),
            listen_drops_syn_ack: drop,
            ..EndpointConfig::default()
        };
        let mut s = Script::with_config(ec);
        s.listener = Some(s.ep.listen(s.local, 16).unwrap());
        s.inject(Seg::new(SA, T + 16, 34));
        if drop {
            s.none();
        } else {
            check(&s.one(), R, 34, 0);
        }
        s.inject(Seg::new(S, T, 0).mss(1460));
        check(&s.one(), SA, I, T + 1);
    }
}

/// A retransmitted FIN wholly below RCV.NXT that acknowledges our FIN in CLOSING: RFC 9293
/// drops it after an ACK, so CLOSING waits for another ACK; with
/// `old_segment_ack_processed` (BSD) its ACK field counts and TIME-WAIT follows, silently.
#[test]
fn old_duplicate_segment_ack_is_processed_with_the_knob() {
    for knob in [false, true] {
        let cfg = ConnConfig { old_segment_ack_processed: knob, ..plain() };
        let mut s = Script::established_active_with(cfg, I, T);
        s.ep.shutdown_write(s.id()).unwrap();
        check(&s.one(), FA, I + 1, T + 1);
        s.inject(Seg::new(FA, T + 1, I + 1));
        check(&s.one(), A, I + 2, T + 2);
        assert_eq!(s.state(), synack_tcp::State::Closing);
        s.inject(Seg::new(FA, T + 1, I + 2));
        if knob {
            assert_eq!(s.state(), synack_tcp::State::TimeWait);
            s.none();
        } else {
            assert_eq!(s.state(), synack_tcp::State::Closing);
            check(&s.one(), A, I + 2, T + 2);
        }
    }
}

/// In TIME-WAIT an in-window ACK-only segment above RCV.NXT is acceptable and unanswered
/// under RFC 9293; with `time_wait_acks_non_duplicates` (FreeBSD) anything but an exact
/// duplicate ACK is acknowledged.
#[test]
fn time_wait_acks_non_duplicates_with_the_knob() {
    for knob in [false, true] {
        let cfg = ConnConfig { time_wait_acks_non_duplicates: knob, ..plain() };
        let mut s = Script::established_active_with(cfg, I, T);
        s.ep.shutdown_write(s.id()).unwrap();
        s.one();
        s.inject(Seg::new(A, T + 1, I + 2));
        s.inject(Seg::new(FA, T + 1, I + 2));
        check(&s.one(), A, I + 2, T + 2);
        assert_eq!(s.state(), synack_tcp::State::TimeWait);
        // The exact duplicate of our last ACK's counterpart: never answered.
        s.inject(Seg::new(A, T + 2, I + 2));
        s.none();
        s.inject(Seg::new(A, T + 3, I + 2));
        if knob {
            check(&s.one(), A, I + 2, T + 2);
        } else {
            s.none();
        }
    }
}
