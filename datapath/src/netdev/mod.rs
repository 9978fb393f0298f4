//! Network devices the switch sends and receives frames on.
//!
//! Each port type implements [`Netdev`]: batched, non-blocking receive into reusable buffers,
//! queued transmit flushed once per batch, and a file descriptor a poll thread can sleep on
//! when every port is idle.

use std::io;
use std::os::fd::RawFd;

/// A port's device.
pub trait Netdev: Send {
    /// Interface name.
    fn name(&self) -> &str;

    /// Receives up to `max` frames without blocking. Frame `i` is written into `bufs[i]`
    /// (cleared first; the caller keeps at least `max` buffers there, reused across calls).
    /// Returns how many frames were received (0 when none are waiting).
    fn recv_batch(&mut self, bufs: &mut [Vec<u8>], max: usize) -> io::Result<usize>;

    /// Queues a frame for transmission (it may go out at once or at the next [`Netdev::flush`]).
    fn send(&mut self, frame: &[u8]) -> io::Result<()>;

    /// Transmits everything queued.
    fn flush(&mut self) -> io::Result<()>;

    /// A descriptor that becomes readable when frames arrive (for poll(2) while idle).
    fn poll_fd(&self) -> RawFd;

    /// Frames dropped by the device layer (full rings, errors) since it was opened.
    fn tx_dropped(&self) -> u64 {
        0
    }

    /// The XDP program steering this port's frames, for ports that have one (AF_XDP): the
    /// in-kernel fast path installs its flows there.
    fn xdp(&mut self) -> Option<&mut ebpf::XdpSteer> {
        None
    }
}
pub mod afxdp;
pub mod csum;
pub mod tap;
