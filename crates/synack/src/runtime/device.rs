//! Devices the driver can sleep on: [`DriverDevice`].

#[cfg(feature = "fd")]
use std::os::fd::RawFd;
use std::sync::Arc;

use synack_stack::Device;
use synack_stack::Signal;

/// What the driver waits on for a device to become readable.
#[derive(Debug, Clone)]
pub enum WaitSource {
    /// A file descriptor that polls readable (TUN). Needs the `fd` feature.
    #[cfg(feature = "fd")]
    Fd(RawFd),
    /// A signal raised when a frame is queued for the device (the in-memory link).
    Signal(Arc<Signal>),
}

/// A [`Device`] a driver thread can own and sleep on.
///
/// The driver calls [`DriverDevice::read_batch`] before each poll of the interface and
/// [`DriverDevice::write_batch`] after it, both with the stack's lock released: a device whose
/// I/O is a system call (TUN) does it there, so the application is not locked out while the
/// kernel runs. An application thread that runs a pass (the device was free) calls
/// `write_batch` after it too. Devices whose I/O is a memory queue (the in-memory link) move
/// frames inside the poll.
pub trait DriverDevice: Device + Send + 'static {
    /// What to wait on. Called once, when the driver starts.
    fn wait_source(&self) -> WaitSource;

    /// Called once on the driver thread before the first poll (TUN turns batched mode on).
    fn driver_start(&mut self) {}

    /// Takes in frames waiting in the OS, up to one batch, for the next poll to hand out.
    /// True when the batch filled up, so more may be waiting.
    fn read_batch(&mut self) -> bool {
        false
    }

    /// Hands the OS the frames the last poll queued; returns how many went.
    fn write_batch(&mut self) -> usize {
        0
    }

    /// The driver's [`write_batch`](Self::write_batch): a device that can also read the next
    /// batch in the same system call does so. True when it read frames ahead (or may have
    /// left some waiting): the driver then goes round again without sleeping, as frames
    /// taken from the OS no longer wake it.
    fn write_batch_read_ahead(&mut self) -> bool {
        self.write_batch();
        false
    }

    /// Offers every frame read ahead by [`read_batch`](Self::read_batch) and not yet handed
    /// out to `take`; the frames it takes (returns true for) leave the device. A stack per
    /// queue uses it to move another stack's packets over. `None` when the device cannot
    /// (it reads no frames ahead).
    fn divert_rx(&mut self, take: &mut dyn FnMut(&[u8]) -> bool) -> Option<usize> {
        let _ = take;
        None
    }

    /// True once the device is gone for good (a channel whose handles were all dropped): the
    /// driver stops, and every socket call on the stack fails.
    fn is_closed(&self) -> bool {
        false
    }

    /// Reads that failed so far, and the last device error: a device whose reads keep failing
    /// while nothing arrives is gone (a TUN whose interface was deleted fails every read with
    /// `EBADFD` and polls as an error), and the driver stops.
    fn read_errors(&self) -> (u64, Option<std::io::ErrorKind>) {
        (0, None)
    }
}

#[cfg(feature = "tun")]
impl DriverDevice for synack_tun::TunDevice {
    fn wait_source(&self) -> WaitSource {
        use std::os::fd::AsRawFd;
        WaitSource::Fd(self.as_raw_fd())
    }

    fn driver_start(&mut self) {
        self.set_batched(true);
    }

    fn read_batch(&mut self) -> bool {
        synack_tun::TunDevice::read_batch(self)
    }

    fn write_batch(&mut self) -> usize {
        synack_tun::TunDevice::write_batch(self)
    }

    fn write_batch_read_ahead(&mut self) -> bool {
        synack_tun::TunDevice::write_batch_read_ahead(self)
    }

    fn divert_rx(&mut self, take: &mut dyn FnMut(&[u8]) -> bool) -> Option<usize> {
        Some(synack_tun::TunDevice::divert_rx(self, take))
    }

    fn read_errors(&self) -> (u64, Option<std::io::ErrorKind>) {
        (self.counters().rx_errors, self.last_error())
    }
}

#[cfg(feature = "pcap")]
impl<D: DriverDevice, W: std::io::Write + Send + 'static> DriverDevice
    for synack_stack::phy::PcapTap<D, W>
{
    fn wait_source(&self) -> WaitSource {
        self.inner().wait_source()
    }

    fn driver_start(&mut self) {
        self.inner_mut().driver_start();
    }

    fn read_batch(&mut self) -> bool {
        self.inner_mut().read_batch()
    }

    fn write_batch(&mut self) -> usize {
        self.inner_mut().write_batch()
    }

    fn write_batch_read_ahead(&mut self) -> bool {
        self.inner_mut().write_batch_read_ahead()
    }

    fn divert_rx(&mut self, take: &mut dyn FnMut(&[u8]) -> bool) -> Option<usize> {
        self.inner_mut().divert_rx(take)
    }

    fn is_closed(&self) -> bool {
        self.inner().is_closed()
    }

    fn read_errors(&self) -> (u64, Option<std::io::ErrorKind>) {
        self.inner().read_errors()
    }
}
