//! The SYN-flood generator behind `synack flood`: spoofed SYNs built in batches
//! ([`packets`]) and written onto a device with a packet socket ([`socket`]), flat out or at
//! a given rate, for a given time.

// The generator paces itself by the wall clock.
#![allow(clippy::disallowed_methods)]

pub(crate) mod packets;
pub(crate) mod socket;

use std::time::{Duration, Instant};

use packets::{SYN_LEN, SynMaker};
use socket::PacketSocket;

/// What one flood did.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Outcome {
    /// SYNs the kernel took.
    pub(crate) sent: u64,
    /// SYNs the kernel refused (device queue full, no buffer).
    pub(crate) refused: u64,
    /// How long it ran.
    pub(crate) secs: f64,
}

/// How many SYNs should have gone by `elapsed` at `rate` per second.
fn due(rate: u64, elapsed: Duration) -> u64 {
    (u128::from(rate) * elapsed.as_nanos() / 1_000_000_000) as u64
}

/// Sends SYNs from `maker` on `sock` for `secs`, `batch` per `sendmmsg`, at `rate` per second
/// (0: as fast as the socket takes them).
pub(crate) fn run<const B: usize>(
    sock: &PacketSocket,
    maker: &mut SynMaker,
    rate: u64,
    secs: Duration,
) -> std::io::Result<Outcome> {
    let mut batch = [[0u8; SYN_LEN]; B];
    let (mut sent, mut refused) = (0u64, 0u64);
    let t0 = Instant::now();
    loop {
        let elapsed = t0.elapsed();
        if elapsed >= secs {
            break;
        }
        let mut n = B;
        if rate > 0 {
            let ahead = (sent + refused).saturating_sub(due(rate, elapsed));
            if ahead > 0 {
                // Ahead of the schedule: wait until the next batch is due.
                let wait = Duration::from_nanos(ahead.saturating_mul(1_000_000_000) / rate);
                std::thread::sleep(wait.min(secs.saturating_sub(elapsed)));
                continue;
            }
            n = n
                .min((due(rate, elapsed + Duration::from_millis(1)) - sent - refused).max(1)
                    as usize);
        }
        for p in &mut batch[..n] {
            maker.write(p);
        }
        match sock.send_batch(&mut batch[..n]) {
            Ok(k) => {
                sent += k as u64;
                refused += (n - k) as u64;
            }
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOBUFS | libc::EAGAIN)) => {
                refused += n as u64;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Outcome { sent, refused, secs: t0.elapsed().as_secs_f64() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule() {
        assert_eq!(due(1_000_000, Duration::from_millis(1)), 1000);
        assert_eq!(due(0, Duration::from_secs(5)), 0);
        assert_eq!(due(3, Duration::from_millis(500)), 1);
    }
}
