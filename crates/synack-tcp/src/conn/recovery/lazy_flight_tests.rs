//! The per-flight state is built lazily and freed between flights: these tests check
//! that an idle connection never builds it, that data in flight does (once per flight),
//! that it is freed when everything is acknowledged, and that a missing state behaves
//! exactly like the one it replaces (every observable answer equal, step by step, against
//! a twin that builds it at once and never frees it), which is what makes skipping it on
//! idle ACKs and freeing it safe.
use super::*;
use alloc::vec::Vec;
use proptest::prelude::*;
use std::format;

const MSS: u32 = 1000;
const ISS: SeqNum = SeqNum(4_000_000_000);

fn established(sack: bool, rack: bool, choice: CcChoice) -> Recovery {
    let mut r = Recovery::new(choice, MSS, ISS);
    r.want_rack(rack);
    r.on_established(MSS, sack, ISS + 1, None);
    r
}

fn ack(now: Instant, una_before: SeqNum, ack: SeqNum, snd_max: SeqNum) -> AckInfo<'static> {
    AckInfo {
        now,
        una_before,
        ack,
        snd_max,
        window: 65535,
        payload_len: 0,
        syn_or_fin: false,
        sack: &[],
        bytes_acked: ack.since(una_before),
        rtt: None,
        srtt: Some(Duration::from_millis(10)),
        min_rtt: None,
        ece: false,
        smss: MSS,
        sack_growth_above: None,
    }
}

/// Handshake ACK, window updates, data-bearing ACKs: nothing was sent, nothing is built.
#[test]
fn an_idle_connection_never_builds_the_flight_state() {
    for sack in [false, true] {
        let mut r = Recovery::new(CcChoice::Cubic, MSS, ISS);
        r.want_rack(true);
        // The SYN is acknowledged; then the connection is established.
        r.on_ack(&AckInfo { syn_or_fin: true, ..ack(Instant::ZERO, ISS, ISS + 1, ISS + 1) });
        r.on_established(MSS, sack, ISS + 1, None);
        for i in 0..10u64 {
            let now = Instant::from_millis(10 * i);
            let a = AckInfo {
                window: 65535 - i as u32,
                payload_len: if i % 2 == 0 { 100 } else { 0 },
                ..ack(now, ISS + 1, ISS + 1, ISS + 1)
            };
            r.on_ack(&a);
            r.on_window_use(ISS + 1, ISS + 1, MSS, false);
            r.on_reorder_timeout(now, None, 0);
        }
        assert!(!r.flight_state_allocated(), "sack {sack}");
        let log = r.segment_log().expect("established: statistics are reported");
        assert_eq!(log.reordering(MSS), crate::rack::INITIAL_REORDERING);
        assert_eq!((log.retransmitted_segments(), log.unacked_segments()), (0, 0));
        assert_eq!(r.lost_segments(), 0);
        assert!(!r.in_recovery());
    }
}

/// The first data sent builds it once; a busy connection keeps the same allocation.
#[test]
fn data_in_flight_builds_the_flight_state_once() {
    let mut r = established(true, true, CcChoice::Cubic);
    let mut una = ISS + 1;
    r.on_send_new(Instant::ZERO, una, una + MSS, true, Duration::from_secs(1));
    assert!(r.flight_state_allocated());
    let ptr: *const Flight = r.fl().unwrap();
    for i in 0..100u64 {
        let now = Instant::from_millis(i + 1);
        r.on_send_new(now, una + MSS, una + 2 * MSS, false, Duration::from_secs(1));
        r.on_ack(&ack(now, una, una + MSS, una + 2 * MSS));
        una += MSS;
    }
    assert!(core::ptr::eq(ptr, r.fl().unwrap()), "no allocation per segment");
    assert_eq!(r.segment_log().unwrap().unacked_segments(), 1);
    // The last segment is acknowledged: the flight is over and its state freed.
    let now = Instant::from_millis(200);
    r.on_ack(&ack(now, una, una + MSS, una + MSS));
    assert!(!r.flight_state_allocated());
    assert_eq!(r.segment_log().unwrap().unacked_segments(), 0);
    // The next data builds it again.
    r.on_send_new(now, una + MSS, una + 2 * MSS, true, Duration::from_secs(1));
    assert!(r.flight_state_allocated());
}

/// Not freed while anything is pending: a SACK hole, recovery, an RTO's aftermath.
#[test]
fn kept_while_recovery_is_pending() {
    let mut r = established(true, true, CcChoice::Cubic);
    let una = ISS + 1;
    let t = Instant::from_millis;
    for i in 0..5u32 {
        r.on_send_new(t(0), una + i * MSS, una + (i + 1) * MSS, i == 0, Duration::from_secs(1));
    }
    let top = una + 5 * MSS;
    for k in 2..5u32 {
        let blocks = [SackBlock { left: una + MSS, right: una + k * MSS }];
        r.on_ack(&AckInfo { sack: &blocks, ..ack(t(20), una, una, top) });
    }
    assert!(r.in_recovery());
    assert!(r.flight_state_allocated());
    r.on_rto(t(1000), una, top);
    assert!(r.flight_state_allocated());
    // All acknowledged: recovery and the RTO episode are over, so it goes.
    r.on_ack(&ack(t(1020), una, top, top));
    assert!(!r.in_recovery());
    assert!(!r.flight_state_allocated());
}

/// One step of the twin test.
#[derive(Clone, Debug)]
enum Op {
    /// An ACK for `acked` of the outstanding bytes, SACKing `sack` (start, len) above it.
    Ack {
        acked: u32,
        sack: Option<(u32, u32)>,
        window_change: bool,
        payload: bool,
    },
    Send(u32),
    Retransmit,
    Rto,
    ReorderTimeout,
    EcnEcho,
    Idle(u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u32..6000, proptest::option::of((0u32..6000, 1u32..3000)), any::<bool>(), any::<bool>())
            .prop_map(|(acked, sack, window_change, payload)| Op::Ack { acked, sack, window_change, payload }),
        3 => (1u32..4000).prop_map(Op::Send),
        1 => Just(Op::Retransmit),
        1 => Just(Op::Rto),
        1 => Just(Op::ReorderTimeout),
        1 => Just(Op::EcnEcho),
        1 => (1u32..5000).prop_map(Op::Idle),
    ]
}

/// Every answer the connection reads from `Recovery`.
fn observe(r: &Recovery, una: SeqNum, snd_max: SeqNum) -> Vec<u64> {
    let flight = r.flight(una, snd_max);
    let log = r.segment_log();
    let lost = r.rack_lost(una, MSS);
    let next = r.next_seg(true);
    alloc::vec![
        u64::from(flight),
        u64::from(r.allowance(flight, MSS)),
        u64::from(r.effective_cwnd()),
        u64::from(r.cc.ssthresh()),
        u64::from(r.in_recovery()),
        u64::from(r.repairing()),
        u64::from(r.lost_segments()),
        u64::from(r.prr_holds(una, snd_max, MSS, MSS)),
        r.lost.into(),
        u64::from(r.hold_timer),
        r.rtx.map_or(u64::MAX, |(s, l)| u64::from(s.0) << 20 | u64::from(l)),
        r.reorder_at.map_or(u64::MAX, |t| t.as_micros()),
        lost.map_or(u64::MAX, |(s, l)| u64::from(s.0) << 20 | u64::from(l)),
        u64::from(next.is_some()),
        log.map_or(u64::MAX, |l| u64::from(l.reordering(MSS))),
        log.map_or(u64::MAX, |l| u64::from(l.retransmitted_segments())),
        log.map_or(u64::MAX, |l| u64::from(l.unacked_segments())),
        log.map_or(u64::MAX, |l| u64::from(l.reordering_events())),
        u64::from(r.rack_last_segment_start().map_or(0, |s| s.0)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]
    /// A lazily built flight state and an eagerly built one give the same answers after
    /// every step of any sequence of sends, ACKs (with and without SACK), timers and idle
    /// periods: a missing state is a fresh one.
    #[test]
    fn lazy_and_eager_flight_state_agree(
        sack in any::<bool>(),
        rack in any::<bool>(),
        cubic in any::<bool>(),
        ops in proptest::collection::vec(op(), 0..60),
    ) {
        let choice = if cubic { CcChoice::Cubic } else { CcChoice::NewReno };
        let mut lazy = established(sack, rack, choice);
        let mut eager = established(sack, rack, choice);
        eager.fl_mut();
        let (mut una, mut snd_max) = (ISS + 1, ISS + 1);
        let mut now = Instant::from_secs(1);
        let mut window = 65535u32;
        let rto = Duration::from_millis(300);
        for op in ops {
            now += Duration::from_millis(1);
            for (is_lazy, r) in [(true, &mut lazy), (false, &mut eager)] {
                match &op {
                    Op::Ack { acked, sack: blocks, window_change, payload } => {
                        let out = snd_max.since(una);
                        let ackno = una + (*acked).min(out);
                        let mut list = Vec::new();
                        if let Some((s, l)) = blocks {
                            let left = ackno + *s;
                            list.push(SackBlock { left, right: left + *l });
                        }
                        let w = if *window_change { window.wrapping_add(1) } else { window };
                        let a = AckInfo {
                            window: w,
                            payload_len: if *payload { 10 } else { 0 },
                            sack: &list,
                            ..ack(now, una, ackno, snd_max)
                        };
                        if is_lazy {
                            r.on_ack(&a);
                        } else {
                            r.process_ack(&a);
                        }
                    }
                    Op::Send(len) => {
                        let idle = una == snd_max;
                        r.on_send_new(now, snd_max, snd_max + *len, idle, rto);
                        r.on_window_use(una, snd_max + *len, MSS, false);
                    }
                    Op::Retransmit => {
                        if let Some((s, l)) = r.rtx.or(r.rack_lost(una, MSS)) {
                            r.on_retransmit(now, s, l);
                        } else if una.lt(snd_max) {
                            r.on_retransmit(now, una, snd_max.since(una).min(MSS));
                        }
                    }
                    Op::Rto => {
                        if una.lt(snd_max) {
                            r.on_rto(now, una, snd_max);
                        }
                    }
                    Op::ReorderTimeout => {
                        let f = r.flight(una, snd_max);
                        r.on_reorder_timeout(now, Some(Duration::from_millis(10)), f);
                    }
                    Op::EcnEcho => {
                        let f = snd_max.since(una);
                        r.on_ecn_echo(now, f, snd_max);
                    }
                    Op::Idle(_) => {}
                }
            }
            match &op {
                Op::Ack { acked, window_change, .. } => {
                    una = una + (*acked).min(snd_max.since(una));
                    if *window_change {
                        window = window.wrapping_add(1);
                    }
                }
                Op::Send(len) => snd_max += *len,
                Op::Idle(ms) => now += Duration::from_millis(u64::from(*ms)),
                _ => {}
            }
            prop_assert_eq!(observe(&lazy, una, snd_max), observe(&eager, una, snd_max), "after {:?}", op);
            if !lazy.flight_state_allocated() {
                // What the lazy twin would rebuild is what the eager one holds.
                let e = eager.fl().unwrap();
                let rebuilt = Flight::fresh(lazy.base_una, lazy.smss, lazy.rack_built_on, &lazy.rack_mem);
                prop_assert_eq!(format!("{:?}", rebuilt.sb), format!("{:?}", e.sb));
                prop_assert_eq!(format!("{:?}", rebuilt.rack), format!("{:?}", e.rack));
            }
        }
    }
}
