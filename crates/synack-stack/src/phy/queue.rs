//! `QueueDevice`: a device made of two in-memory queues, for tests and tools.
//!
//! Frames put with [`QueueDevice::inject`] come out of `receive`; frames the interface transmits
//! are collected and taken with [`QueueDevice::take_sent`]. Tests use it to feed the interface
//! exact bytes (malformed ones included) and look at exactly what it sent.

use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;

use synack_tcp::time::Instant;

use crate::device::{Device, DeviceCaps, RxToken, TxToken};

/// Two queues of frames with fixed limits.
#[derive(Debug)]
pub struct QueueDevice {
    caps: DeviceCaps,
    rx: VecDeque<Vec<u8>>,
    tx: VecDeque<Vec<u8>>,
    tx_limit: usize,
    /// Frames dropped because a transmit asked for more than the MTU.
    pub oversize_drops: u64,
}

impl QueueDevice {
    /// A device with these capabilities that holds at most `tx_limit` unsent frames.
    pub fn new(caps: DeviceCaps, tx_limit: usize) -> Self {
        QueueDevice { caps, rx: VecDeque::new(), tx: VecDeque::new(), tx_limit, oversize_drops: 0 }
    }

    /// Queues a frame for the interface to receive.
    pub fn inject(&mut self, frame: &[u8]) {
        self.rx.push_back(frame.to_vec());
    }

    /// Takes every frame transmitted so far, oldest first.
    pub fn take_sent(&mut self) -> Vec<Vec<u8>> {
        self.tx.drain(..).collect()
    }

    /// Frames waiting to be received.
    pub fn rx_pending(&self) -> usize {
        self.rx.len()
    }
}

/// Receive token of [`QueueDevice`].
#[derive(Debug)]
pub struct QueueRx(Vec<u8>);

impl RxToken for QueueRx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

/// Transmit token of [`QueueDevice`].
#[derive(Debug)]
pub struct QueueTx<'a> {
    dev: &'a mut QueueDevice,
}

impl TxToken for QueueTx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = vec![0u8; len];
        let r = f(&mut buf);
        if len > self.dev.caps.mtu {
            self.dev.oversize_drops += 1;
        } else {
            self.dev.tx.push_back(buf);
        }
        r
    }
}

impl Device for QueueDevice {
    type RxToken<'a> = QueueRx;
    type TxToken<'a> = QueueTx<'a>;

    fn receive(&mut self, _now: Instant) -> Option<QueueRx> {
        self.rx.pop_front().map(QueueRx)
    }

    fn transmit(&mut self, _now: Instant) -> Option<QueueTx<'_>> {
        if self.tx.len() >= self.tx_limit {
            return None;
        }
        Some(QueueTx { dev: self })
    }

    fn caps(&self) -> DeviceCaps {
        self.caps
    }
}
