//! Per-connection knobs that let the engine reproduce another stack's sender choices where
//! the RFCs leave the choice open (used by synack-drill's profiles): the slow-start limit per
//! ACK (RFC 3465's L), PSH placement, the FreeBSD option layout and buffer rounding, the
//! ACK bit on an abort's RST.

mod script;
use script::*;
use synack_tcp::{ConnConfig, Duration, State};

const I: u32 = ISS;
const T: u32 = IRS;
const MSS: u32 = 1000;

/// A passive open over a 20 ms path, no options but the MSS.
fn handshake(cfg: ConnConfig) -> Script {
    let cfg = ConnConfig { sack: false, timestamps: false, window_scaling: false, ..cfg };
    let mut s = Script::listening(cfg);
    s.inject(Seg::new(S, T, 0).mss(MSS as u16));
    s.one();
    assert!(s.advance(Duration::from_millis(20)).is_empty());
    s.inject(Seg::new(A, T + 1, I + 1));
    s.conn = s.ep.accept(s.listener.unwrap());
    assert_eq!(s.state(), State::Established);
    s
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
