//! Property tests: arbitrary segment sequences thrown at a connection in every state never
//! panic, never make SND.UNA pass SND.NXT, and never make the engine send a segment the RFC
//! forbids in that state.

mod script;
use proptest::prelude::*;
use script::*;
use synack_tcp::{ConnConfig, Duration, State};
use synack_wire::tcp::{TcpFlags, Timestamps};

#[derive(Clone, Debug)]
struct Step {
    flags: u16,
    seq_mode: u8,
    seq_off: i32,
    ack_off: i32,
    window: u16,
    len: usize,
    urgent: u16,
    ts: Option<(u32, u32)>,
    mss: Option<u16>,
    ws: Option<u8>,
    advance_ms: u32,
    app: u8,
}

fn step() -> impl Strategy<Value = Step> {
    (
        0u16..0x40,
        0u8..4,
        -70_000i32..70_000,
        -70_000i32..70_000,
        any::<u16>(),
        prop_oneof![Just(0usize), 1usize..50, 1000usize..1600],
        any::<u16>(),
        proptest::option::of((any::<u32>(), any::<u32>())),
        proptest::option::of(any::<u16>()),
        proptest::option::of(any::<u8>()),
        prop_oneof![Just(0u32), 1u32..300, 1000u32..100_000],
        0u8..12,
    )
        .prop_map(
            |(flags, seq_mode, seq_off, ack_off, window, len, urgent, ts, mss, ws, adv, app)| {
                Step {
                    flags,
                    seq_mode,
                    seq_off,
                    ack_off,
                    window,
                    len,
                    urgent,
                    ts,
                    mss,
                    ws,
                    advance_ms: adv,
                    app,
                }
            },
        )
}

fn setup(state: State, cfg: ConnConfig) -> Script {
    let t1 = IRS + 1;
    let i1 = ISS + 1;
    match state {
        State::SynSent => {
            let mut s = Script::connecting(cfg);
            s.sent();
            s
        }
        State::SynReceived => {
            let mut s = Script::listening(cfg);
            s.inject(Seg::new(S, IRS, 0).mss(1460));
            s.sent();
            s.conn = s.events.iter().find_map(|e| match e {
                synack_tcp::Event::StateChanged { conn, new: State::SynReceived, .. } => {
                    Some(*conn)
                }
                _ => None,
            });
            s
        }
        _ => {
            let mut s = Script::established_passive(cfg);
            match state {
                State::FinWait1 => {
                    s.ep.shutdown_write(s.id()).unwrap();
                }
                State::FinWait2 => {
                    s.ep.shutdown_write(s.id()).unwrap();
                    s.sent();
                    s.inject(Seg::new(A, t1, i1 + 1));
                }
                State::CloseWait => s.inject(Seg::new(FA, t1, i1)),
                State::Closing => {
                    s.ep.shutdown_write(s.id()).unwrap();
                    s.sent();
                    s.inject(Seg::new(FA, t1, i1));
                }
                State::LastAck => {
                    s.inject(Seg::new(FA, t1, i1));
                    s.ep.shutdown_write(s.id()).unwrap();
                }
                State::TimeWait => {
                    s.ep.shutdown_write(s.id()).unwrap();
                    s.sent();
                    s.inject(Seg::new(FA, t1, i1 + 1));
                }
                _ => {}
            }
            s.sent();
            s
        }
    }
}

fn run(state: State, cfg: ConnConfig, steps: Vec<Step>) {
    let mut s = setup(state, cfg);
    assert_eq!(s.state(), state);
    let mut closed_seen = false;
    for st in steps {
        let (seq, ack) = match st.seq_mode {
            0 => (
                (IRS + 1).wrapping_add(st.seq_off as u32),
                (ISS + 1).wrapping_add(st.ack_off as u32),
            ),
            1 => (st.seq_off as u32, st.ack_off as u32),
            2 => {
                let rn =
                    s.conn.and_then(|c| s.ep.stats(c).ok()).map(|x| x.rcv_nxt.0).unwrap_or(IRS + 1);
                (rn, (ISS + 1).wrapping_add((st.ack_off % 3000) as u32))
            }
            _ => ((IRS + 1).wrapping_add((st.seq_off % 5) as u32), ISS + 1),
        };
        let mut seg = Seg::new(TcpFlags(st.flags), seq, ack).win(st.window).len(st.len);
        seg.urgent = st.urgent;
        seg.options.timestamps = st.ts.map(|(tsval, tsecr)| Timestamps { tsval, tsecr });
        seg.options.mss = st.mss;
        seg.options.window_scale = st.ws;
        let was_rst = seg.flags.rst();
        s.inject(seg);
        let out = s.sent();
        if was_rst {
            assert!(out.iter().all(|o| !o.flags.rst()), "RST answered with RST: {out:?}");
        }
        check_outputs(&mut s, &out, &mut closed_seen);
        if let Some(c) = s.conn {
            match st.app {
                0 => {
                    let _ = s.ep.send(c, &[1u8; 3000]);
                }
                1 => {
                    let _ = s.ep.recv(c, &mut [0u8; 5000]);
                }
                2 => {
                    let _ = s.ep.shutdown_write(c);
                }
                3 if st.advance_ms % 7 == 0 => {
                    let _ = s.ep.close(c);
                }
                4 if st.advance_ms % 11 == 0 => {
                    let _ = s.ep.abort(c);
                }
                5 => {
                    let _ = s.ep.send_urgent(c, b"!");
                }
                _ => {}
            }
        }
        let out = s.sent();
        check_outputs(&mut s, &out, &mut closed_seen);
        let out: Vec<_> = s
            .advance(Duration::from_millis(st.advance_ms as u64))
            .into_iter()
            .map(|x| x.1)
            .collect();
        check_outputs(&mut s, &out, &mut closed_seen);
    }
}

fn check_outputs(s: &mut Script, out: &[Out], closed_seen: &mut bool) {
    let Some(c) = s.conn else { return };
    let Ok(st) = s.ep.stats(c) else {
        return;
    };
    assert!(st.snd_una.le(st.snd_nxt), "SND.UNA {:?} passed SND.NXT {:?}", st.snd_una, st.snd_nxt);
    for o in out.iter().filter(|o| o.conn == Some(c)) {
        // Segments carrying data always acknowledge and never come with SYN in SYN-SENT.
        if o.flags.syn() && !o.flags.ack() {
            assert!(o.payload.is_empty(), "data on our SYN");
        }
        if !o.payload.is_empty() {
            assert!(o.flags.ack() && !o.flags.syn() && !o.flags.rst());
        }
        if *closed_seen && !o.flags.rst() {
            panic!("segment after CLOSED: {o:?}");
        }
        // The MSS option only on SYNs (MUST-65).
        if o.options.mss.is_some() {
            assert!(o.flags.syn());
        }
    }
    if st.state == State::Closed {
        *closed_seen = true;
    }
}

fn states() -> impl Strategy<Value = State> {
    prop_oneof![
        Just(State::SynSent),
        Just(State::SynReceived),
        Just(State::Established),
        Just(State::FinWait1),
        Just(State::FinWait2),
        Just(State::CloseWait),
        Just(State::Closing),
        Just(State::LastAck),
        Just(State::TimeWait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn prop_arbitrary_segments_plain(state in states(), steps in proptest::collection::vec(step(), 1..25)) {
        run(state, plain(), steps);
    }

    #[test]
    fn prop_arbitrary_segments_all_options(state in states(), steps in proptest::collection::vec(step(), 1..25)) {
        run(state, ConnConfig { nodelay: true, ..ConnConfig::default() }, steps);
    }
}
