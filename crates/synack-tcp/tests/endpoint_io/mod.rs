//! Moving segments between endpoints by hand, for tests that drive two endpoints directly
//! (no simulated link): everything one has to send, and handing it to the other.

use synack_tcp::{Endpoint, Instant, Transmit};

/// Every segment `from` has to send now, with its bytes.
pub(crate) fn drain(from: &mut Endpoint, now: Instant) -> Vec<(Transmit, Vec<u8>)> {
    let mut buf = [0u8; 1600];
    let mut out = Vec::new();
    while let Some(t) = from.poll_transmit(now, &mut buf) {
        out.push((t, buf[..t.len].to_vec()));
    }
    out
}

/// Gives `segs` (as [`drain`] returned them) to `to`.
pub(crate) fn deliver(to: &mut Endpoint, now: Instant, segs: &[(Transmit, Vec<u8>)]) {
    for (t, bytes) in segs {
        to.on_segment(now, t.src.ip(), t.dst.ip(), &t.repr(bytes));
    }
}
