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
        let out = offer_each(&mut batch[..n], |b| sock.send_batch(b))?;
        sent += out.0;
        refused += out.1;
    }
    Ok(Outcome { sent, refused, secs: t0.elapsed().as_secs_f64() })
}

/// Offers every packet of `batch` to the device through `send` (one `sendmmsg`: it stops at
/// the first packet the device refuses, reporting the ones before it as sent, or the refusal
/// itself when that was the first): the refused packet is counted and the rest of the batch
/// is offered again, so each SYN counted as offered did reach the device. Returns (sent,
/// refused).
fn offer_each<const N: usize>(
    mut batch: &mut [[u8; N]],
    mut send: impl FnMut(&mut [[u8; N]]) -> std::io::Result<usize>,
) -> std::io::Result<(u64, u64)> {
    let (mut sent, mut refused) = (0u64, 0u64);
    while !batch.is_empty() {
        let k = match send(batch) {
            Ok(k) if k >= batch.len() => {
                sent += batch.len() as u64;
                break;
            }
            // Packets 0..k went; packet k was refused (the call reports that on the next
            // packet's behalf only when it is the first).
            Ok(k) => k,
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOBUFS | libc::EAGAIN)) => 0,
            Err(e) => return Err(e),
        };
        sent += k as u64;
        refused += 1;
        batch = &mut batch[k + 1..];
    }
    Ok((sent, refused))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A device that takes `room` packets and refuses the rest, as a full queue does; a
    /// `sendmmsg` on it stops at the first refusal.
    fn device(room: &mut usize) -> impl FnMut(&mut [[u8; 1]]) -> std::io::Result<usize> + '_ {
        move |b| {
            let k = b.len().min(*room);
            *room -= k;
            if k == 0 { Err(std::io::Error::from_raw_os_error(libc::ENOBUFS)) } else { Ok(k) }
        }
    }

    #[test]
    fn every_packet_is_offered_once() {
        for (room, n, want) in [(100, 64, (64, 0)), (10, 64, (10, 54)), (0, 64, (0, 64))] {
            let mut room = room;
            let mut batch = vec![[0u8; 1]; n];
            assert_eq!(offer_each(&mut batch, device(&mut room)).unwrap(), want);
        }
    }

    #[test]
    fn other_errors_end_the_flood() {
        let mut batch = vec![[0u8; 1]; 8];
        let r = offer_each(&mut batch, |_| Err(std::io::Error::from_raw_os_error(libc::ENODEV)));
        assert!(r.is_err());
    }

    #[test]
    fn schedule() {
        assert_eq!(due(1_000_000, Duration::from_millis(1)), 1000);
        assert_eq!(due(0, Duration::from_secs(5)), 0);
        assert_eq!(due(3, Duration::from_millis(500)), 1);
    }
}
