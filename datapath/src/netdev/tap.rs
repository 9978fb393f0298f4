//! Tap-backed ports: `internal` ports (a tap device the switch creates and owns, named after
//! the port, as Open vSwitch's userspace datapath does) and `tap` ports (an existing tap that a
//! VM owns; the VM keeps its file descriptor).
//!
//! A `tap` port is opened with [`open_vm_tap`]: as an AF_XDP port (batched rings, no system
//! call per frame) where XDP attaches, otherwise (logged) with an AF_PACKET socket, as a
//! `system` port is: recvmmsg/sendmmsg of up to 32 frames per call. An internal port reads and
//! writes its tun descriptor, one frame per system call: a tun descriptor has no batched read
//! or write (see `docs/tap.md`).
//!
//! An internal port's device can be moved to another network namespace
//! (`ip link set qr-1 netns qrouter`): the file descriptor stays valid and keeps working.

use super::afxdp::{AfxdpNetdev, AfxdpOptions};
use super::Netdev;
use crate::sys;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// Most frames queued for transmission before new ones are dropped.
const TX_QUEUE_MAX: usize = 1024;
/// Transmit buffers kept for reuse.
const SPARE_MAX: usize = 256;
/// The `virtio_net_hdr` in front of every frame sent on the packet socket: all zero, a
/// complete frame, no offloads.
const NO_OFFLOAD: [u8; sys::VNET_HDR_LEN] = [0; sys::VNET_HDR_LEN];

/// How frames reach the device.
#[derive(Debug)]
enum Kind {
    /// A tap device we created: read/write on its /dev/net/tun file descriptor, one frame per
    /// call (the descriptor has nothing batched); frames are written as they are sent, from the
    /// caller's slice (no queue, no copy of ours).
    Internal,
    /// An existing device: an AF_PACKET socket bound to it, recvmmsg/sendmmsg of up to
    /// [`sys::MMSG_BATCH`] frames per call.
    Packet,
}

/// An internal or tap port.
#[derive(Debug)]
pub struct TapNetdev {
    name: String,
    fd: OwnedFd,
    kind: Kind,
    /// Frames to send (packet sockets), in order.
    txq: Vec<Vec<u8>>,
    spare: Vec<Vec<u8>>,
    /// virtio_net_hdr of each received frame (packet sockets).
    rx_hdrs: [[u8; sys::VNET_HDR_LEN]; sys::MMSG_BATCH],
    tx_dropped: u64,
}

/// Whether a transmit error only loses the frame (a full device queue, a device that went
/// down) rather than being worth reporting.
fn drops_frame(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted)
        || matches!(e.raw_os_error(), Some(libc::EIO | libc::ENETDOWN | libc::ENXIO | libc::ENOBUFS))
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
            txq: Vec::new(),
            spare: Vec::new(),
            rx_hdrs: [[0; sys::VNET_HDR_LEN]; sys::MMSG_BATCH],
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
            txq: Vec::new(),
            spare: Vec::new(),
            rx_hdrs: [[0; sys::VNET_HDR_LEN]; sys::MMSG_BATCH],
            tx_dropped: 0,
        })
    }
}

/// Largest frame an AF_XDP port takes on receive (a UMEM frame less the kernel's headroom),
/// with the Ethernet header and one VLAN tag an MTU does not count.
const AFXDP_MAX_MTU: u32 = 4096 - 256 - 18;

/// Opens the existing tap `name` that a VM owns: AF_XDP with `opts` (the XDP program on the tap
/// sees every frame the VM writes, and AF_XDP transmission reaches the VM's descriptor through
/// the tap's transmit routine; see docs/tap.md), or an AF_PACKET socket (logged) when the
/// tap's MTU is larger than an AF_XDP frame holds (jumbo frames), when it is a multi-queue tap,
/// or when XDP or the socket cannot be set up.
pub fn open_vm_tap(name: &str, opts: AfxdpOptions) -> io::Result<Box<dyn Netdev>> {
    let why = match sys::mtu(name) {
        Ok(mtu) if mtu > AFXDP_MAX_MTU => format!("MTU {mtu} is larger than an AF_XDP frame holds"),
        _ if is_multi_queue_tap(name) => {
            // qemu attaches and detaches a multi-queue tap's queues as the guest enables them:
            // the rx queues that exist now need not be the ones frames will come on later.
            "a multi-queue tap's queues come and go with the guest".to_owned()
        }
        _ => match AfxdpNetdev::open_with(name, opts) {
            Ok(d) => return Ok(Box::new(d)),
            Err(e) => e.to_string(),
        },
    };
    let d = TapNetdev::attach(name)?;
    log::warn!("{name}: no AF_XDP on this tap ({why}); using an AF_PACKET socket (recvmmsg/sendmmsg)");
    Ok(Box::new(d))
}

/// `IFF_MULTI_QUEUE` in a tun device's flags.
const IFF_MULTI_QUEUE: u32 = 0x0100;

/// Whether `name` is a multi-queue tap, from /sys/class/net/NAME/tun_flags (only when /sys
/// shows this namespace's device of that name: same ifindex).
fn is_multi_queue_tap(name: &str) -> bool {
    let dir = format!("/sys/class/net/{name}");
    let ours = std::fs::read_to_string(format!("{dir}/ifindex"))
        .is_ok_and(|s| s.trim().parse::<u32>().ok() == sys::ifindex(name).ok());
    let flags = std::fs::read_to_string(format!("{dir}/tun_flags"))
        .ok()
        .and_then(|s| u32::from_str_radix(s.trim().trim_start_matches("0x"), 16).ok());
    ours && flags.is_some_and(|f| f & IFF_MULTI_QUEUE != 0)
}

impl Netdev for TapNetdev {
    fn name(&self) -> &str {
        &self.name
    }

    fn recv_batch(&mut self, bufs: &mut [Vec<u8>], max: usize) -> io::Result<usize> {
        let max = max.min(bufs.len());
        let fd = self.fd.as_raw_fd();
        let mut n = 0;
        while n < max {
            match self.kind {
                Kind::Packet => {
                    let want = (max - n).min(sys::MMSG_BATCH);
                    let got = match sys::recv_frames(fd, &mut self.rx_hdrs, &mut bufs[n..max]) {
                        Ok(got) => got,
                        Err(e) => return if n > 0 { Ok(n) } else { Err(e) },
                    };
                    // Complete offloaded checksums; keep non-empty frames, in order.
                    let mut kept = 0;
                    for i in 0..got {
                        if bufs[n + i].is_empty() {
                            continue;
                        }
                        sys::complete_checksum(&self.rx_hdrs[i], &mut bufs[n + i]);
                        bufs.swap(n + kept, n + i);
                        kept += 1;
                    }
                    n += kept;
                    if got < want {
                        break;
                    }
                }
                Kind::Internal => match sys::read_frame(fd, &mut bufs[n]) {
                    Ok(len) if len > 0 => n += 1,
                    Ok(_) => break,
                    Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => break,
                    Err(e) => return if n > 0 { Ok(n) } else { Err(e) },
                },
            }
        }
        Ok(n)
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        if matches!(self.kind, Kind::Internal) {
            // One write per frame whenever it is sent: queueing would only add a copy.
            return match sys::write(self.fd.as_raw_fd(), frame) {
                Ok(_) => Ok(()),
                Err(e) => {
                    self.tx_dropped += 1;
                    if drops_frame(&e) {
                        Ok(())
                    } else {
                        Err(e)
                    }
                }
            };
        }
        if self.txq.len() >= TX_QUEUE_MAX {
            self.tx_dropped += 1;
            return Ok(());
        }
        let mut buf = self.spare.pop().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(frame);
        self.txq.push(buf);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        let fd = self.fd.as_raw_fd();
        let mut done = 0;
        let mut result = Ok(());
        while done < self.txq.len() {
            match sys::send_frames(fd, &NO_OFFLOAD, &self.txq[done..]) {
                Ok(0) => {
                    // Nothing taken, no error: count the frame lost rather than spin.
                    self.tx_dropped += 1;
                    done += 1;
                }
                Ok(sent) => done += sent,
                Err(e) => {
                    self.tx_dropped += 1;
                    done += 1;
                    if !drops_frame(&e) {
                        result = Err(e);
                        break;
                    }
                }
            }
        }
        let room = SPARE_MAX.saturating_sub(self.spare.len());
        self.spare.extend(self.txq.drain(..done).take(room));
        result
    }

    fn poll_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    fn tx_dropped(&self) -> u64 {
        self.tx_dropped
    }
}
