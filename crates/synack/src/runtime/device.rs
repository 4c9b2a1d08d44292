//! Devices the driver can sleep on: [`DriverDevice`].

use std::io::Write;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;

use synack_stack::Device;
use synack_stack::Signal;
use synack_stack::phy::PcapTap;

/// What the driver waits on for a device to become readable.
#[derive(Debug, Clone)]
pub enum WaitSource {
    /// A file descriptor that polls readable (TUN).
    Fd(RawFd),
    /// A signal raised when a frame is queued for the device (the in-memory link).
    Signal(Arc<Signal>),
}

/// A [`Device`] a driver thread can own and sleep on.
pub trait DriverDevice: Device + Send + 'static {
    /// What to wait on. Called once, when the driver starts.
    fn wait_source(&self) -> WaitSource;
}

impl DriverDevice for synack_tun::TunDevice {
    fn wait_source(&self) -> WaitSource {
        WaitSource::Fd(self.as_raw_fd())
    }
}

impl<D: DriverDevice, W: Write + Send + 'static> DriverDevice for PcapTap<D, W> {
    fn wait_source(&self) -> WaitSource {
        self.inner().wait_source()
    }
}
