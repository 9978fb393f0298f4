//! Tap-backed ports: `internal` ports (a tap device the switch creates and owns, named after
//! the port, as Open vSwitch's userspace datapath does) and `tap` ports (an existing tap that a
//! VM owns; the VM keeps its file descriptor).
//!
//! A `tap` port is opened with [`open_vm_tap`]: as an AF_XDP port (batched rings, no system
//! call per frame) where XDP attaches, otherwise (logged) with an AF_PACKET socket, one
//! recv/send per frame. An internal port reads and writes its tun descriptor, one frame per
//! system call: a tun descriptor has no batched read or write (see `docs/tap.md`).
//!
//! An internal port's device can be moved to another network namespace
//! (`ip link set qr-1 netns qrouter`): the file descriptor stays valid and keeps working.

use super::afxdp::{AfxdpNetdev, AfxdpOptions};
use super::Netdev;
use crate::sys;
use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// Most frames queued for transmission before new ones are dropped.
const TX_QUEUE_MAX: usize = 1024;

/// How frames reach the device.
#[derive(Debug)]
enum Kind {
    /// A tap device we created: read/write on its /dev/net/tun file descriptor.
    Internal,
    /// An existing device: an AF_PACKET socket bound to it.
    Packet,
}

/// An internal or tap port.
#[derive(Debug)]
pub struct TapNetdev {
    name: String,
    fd: OwnedFd,
    kind: Kind,
    txq: VecDeque<Vec<u8>>,
    spare: Vec<Vec<u8>>,
    tx_dropped: u64,
}

impl TapNetdev {
    /// Creates (or re-opens, after a restart) the internal port `name`, brings it up, and
    /// sets its MAC address if given.
    pub fn internal(name: &str, mac: Option<[u8; 6]>) -> io::Result<Self> {
        let fd = sys::tap_open(name)?;
        if let Some(mac) = mac {
            sys::set_mac(name, mac)?;
        }
        sys::set_up(name)?;
        Ok(TapNetdev {
            name: name.to_owned(),
            fd,
            kind: Kind::Internal,
            txq: VecDeque::new(),
            spare: Vec::new(),
            tx_dropped: 0,
        })
    }

    /// Attaches to an existing device (a VM's tap, or any netdev) with a packet socket.
    pub fn attach(name: &str) -> io::Result<Self> {
        let fd = sys::packet_socket(name)?;
        Ok(TapNetdev {
            name: name.to_owned(),
            fd,
            kind: Kind::Packet,
            txq: VecDeque::new(),
            spare: Vec::new(),
            tx_dropped: 0,
        })
    }
}

/// Opens the existing tap `name` that a VM owns: AF_XDP with `opts` (the XDP program on the tap
/// sees every frame the VM writes with a non-blocking descriptor, as qemu, vhost-net and the
/// other VMMs write; AF_XDP transmission reaches the VM's descriptor through the tap's
/// transmit routine), or, when XDP or the socket cannot be set up, an AF_PACKET socket (logged).
pub fn open_vm_tap(name: &str, opts: AfxdpOptions) -> io::Result<Box<dyn Netdev>> {
    match AfxdpNetdev::open_with(name, opts) {
        Ok(d) => Ok(Box::new(d)),
        Err(e) => {
            log::warn!("{name}: no AF_XDP on this tap ({e}); using an AF_PACKET socket, one system call per frame");
            Ok(Box::new(TapNetdev::attach(name)?))
        }
    }
}

impl Netdev for TapNetdev {
    fn name(&self) -> &str {
        &self.name
    }

    fn recv_batch(&mut self, bufs: &mut [Vec<u8>], max: usize) -> io::Result<usize> {
        let mut n = 0;
        while n < max.min(bufs.len()) {
            let buf = &mut bufs[n];
            let got = sys::recv_frame(self.fd.as_raw_fd(), buf, matches!(self.kind, Kind::Packet));
            match got {
                Ok(len) if len > 0 && matches!(self.kind, Kind::Packet) => {
                    buf.truncate(len);
                    let frame_len = sys::complete_checksum(buf).len();
                    buf.drain(..sys::VNET_HDR_LEN.min(buf.len()));
                    buf.truncate(frame_len);
                    if !buf.is_empty() {
                        n += 1;
                    }
                }
                Ok(len) if len > 0 => {
                    buf.truncate(len);
                    n += 1;
                }
                Ok(_) => break,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::Interrupted => break,
                Err(e) => return if n > 0 { Ok(n) } else { Err(e) },
            }
        }
        Ok(n)
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        if self.txq.len() >= TX_QUEUE_MAX {
            self.tx_dropped += 1;
            return Ok(());
        }
        let mut buf = self.spare.pop().unwrap_or_default();
        buf.clear();
        if matches!(self.kind, Kind::Packet) {
            // An all-zero virtio_net_hdr: a complete frame, no offloads.
            buf.extend_from_slice(&[0; sys::VNET_HDR_LEN]);
        }
        buf.extend_from_slice(frame);
        self.txq.push_back(buf);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        while let Some(frame) = self.txq.pop_front() {
            let r = match self.kind {
                Kind::Internal => sys::write(self.fd.as_raw_fd(), &frame),
                Kind::Packet => sys::send(self.fd.as_raw_fd(), &frame),
            };
            match r {
                Ok(_) => {}
                // A full device queue or a device that went down: drop, count, go on.
                Err(e)
                    if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted)
                        || e.raw_os_error() == Some(libc::EIO)
                        || e.raw_os_error() == Some(libc::ENETDOWN)
                        || e.raw_os_error() == Some(libc::ENXIO) =>
                {
                    self.tx_dropped += 1;
                }
                Err(e) => {
                    self.tx_dropped += 1;
                    self.spare.push(frame);
                    return Err(e);
                }
            }
            if self.spare.len() < 64 {
                self.spare.push(frame);
            }
        }
        Ok(())
    }

    fn poll_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    fn tx_dropped(&self) -> u64 {
        self.tx_dropped
    }
}
