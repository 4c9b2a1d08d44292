//! `QueueDevice`: a device made of two in-memory queues, for tests and tools.
//!
//! Frames put with [`QueueDevice::inject`] come out of `receive`; frames the interface transmits
//! are collected and taken with [`QueueDevice::take_sent`]. Tests use it to feed the interface
//! exact bytes (malformed ones included) and look at exactly what it sent.

use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;

use synack_tcp::time::Instant;

use crate::device::{Device, DeviceCaps, RxToken, TxToken, TxVerdict, tx_verdict};

/// Two queues of frames with fixed limits.
#[derive(Debug)]
pub struct QueueDevice {
    caps: DeviceCaps,
    rx: VecDeque<Vec<u8>>,
    tx: VecDeque<Vec<u8>>,
    tx_limit: usize,
    /// Frames dropped because the writer returned a range past the buffer or over the MTU.
    pub bad_tx: u64,
    /// Every frame offered is refused, as a kernel's full device queue refuses a write.
    refusing: bool,
    /// The last frame offered was refused (see [`Device::take_tx_refused`]).
    refused: bool,
}

impl QueueDevice {
    /// A device with these capabilities that holds at most `tx_limit` unsent frames.
    pub fn new(caps: DeviceCaps, tx_limit: usize) -> Self {
        QueueDevice {
            caps,
            rx: VecDeque::new(),
            tx: VecDeque::new(),
            tx_limit,
            bad_tx: 0,
            refusing: false,
            refused: false,
        }
    }

    /// Queues a frame for the interface to receive.
    pub fn inject(&mut self, frame: &[u8]) {
        self.rx.push_back(frame.to_vec());
    }

    /// Takes every frame transmitted so far, oldest first.
    pub fn take_sent(&mut self) -> Vec<Vec<u8>> {
        self.tx.drain(..).collect()
    }

    /// Refuse every frame from now on (`true`), as a full device queue does, or take them
    /// again (`false`).
    pub fn set_refusing(&mut self, on: bool) {
        self.refusing = on;
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
    fn consume<F>(self, max_len: usize, f: F) -> usize
    where
        F: FnOnce(&mut [u8]) -> core::ops::Range<usize>,
    {
        self.consume_segmented(max_len, |buf| (f(buf), 0))
    }

    /// Super-segments (with a segment size, up to the caps' `tso_max`) are queued whole, as
    /// a device with segmentation offload takes them.
    fn consume_segmented<F>(self, max_len: usize, f: F) -> usize
    where
        F: FnOnce(&mut [u8]) -> (core::ops::Range<usize>, usize),
    {
        let mut buf = vec![0u8; max_len];
        let (range, cut) = f(&mut buf);
        let caps = self.dev.caps;
        let limit = if cut > 0 { caps.tso_max.max(caps.mtu) } else { caps.mtu };
        match tx_verdict(&range, buf.len(), limit) {
            TxVerdict::Send if self.dev.refusing => {
                self.dev.refused = true;
                0
            }
            TxVerdict::Send => {
                let n = range.len();
                buf.truncate(range.end);
                buf.drain(..range.start);
                self.dev.tx.push_back(buf);
                n
            }
            TxVerdict::Nothing => 0,
            TxVerdict::BadRange | TxVerdict::Oversize => {
                self.dev.bad_tx += 1;
                0
            }
        }
    }
}

impl Device for QueueDevice {
    type RxToken<'a> = QueueRx;
    type TxToken<'a> = QueueTx<'a>;

    fn receive(&mut self, _now: Instant) -> Option<QueueRx> {
        self.rx.pop_front().map(QueueRx)
    }

    fn transmit(&mut self, _now: Instant) -> Option<QueueTx<'_>> {
        self.refused = false;
        if self.tx.len() >= self.tx_limit {
            return None;
        }
        Some(QueueTx { dev: self })
    }

    fn caps(&self) -> DeviceCaps {
        self.caps
    }

    fn take_tx_refused(&mut self) -> bool {
        core::mem::take(&mut self.refused)
    }
}
