//! The few Linux system calls the tap-backed ports need, wrapped safely: tap creation
//! (TUNSETIFF), interface flags and MAC (SIOC[GS]IF*), AF_PACKET sockets, and non-blocking
//! read/write/send/recv. Every `unsafe` block of the datapath's port layer is here.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Largest frame read from a device (64 KiB covers any MTU plus headers).
pub const MAX_FRAME: usize = 65_550;

const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
const IFF_TAP: libc::c_short = 0x0002;
const IFF_NO_PI: libc::c_short = 0x1000;

fn ifreq(name: &str) -> io::Result<libc::ifreq> {
    if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.contains('\0') {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("bad interface name {name:?}")));
    }
    // SAFETY: ifreq is a plain C struct for which all-zero bytes are a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(name.bytes()) {
        *dst = src as libc::c_char;
    }
    Ok(req)
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn cvt_size(r: isize) -> io::Result<usize> {
    usize::try_from(r).map_err(|_| io::Error::last_os_error())
}

/// Opens (creating it if needed) the tap device `name`, non-blocking.
pub fn tap_open(name: &str) -> io::Result<OwnedFd> {
    let path = c"/dev/net/tun";
    // SAFETY: path is a valid NUL-terminated string; open has no other preconditions.
    let fd = cvt(unsafe { libc::open(path.as_ptr(), libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC) })?;
    // SAFETY: fd was just returned by open and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut req = ifreq(name)?;
    req.ifr_ifru.ifru_flags = IFF_TAP | IFF_NO_PI;
    // SAFETY: TUNSETIFF takes a pointer to an ifreq, which lives for the duration of the call.
    cvt(unsafe { libc::ioctl(fd.as_raw_fd(), TUNSETIFF, &raw mut req) })?;
    Ok(fd)
}

fn control_socket() -> io::Result<OwnedFd> {
    // SAFETY: socket has no memory-safety preconditions.
    let fd = cvt(unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: fd was just returned by socket and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// An interface's MTU (SIOCGIFMTU).
pub fn mtu(name: &str) -> io::Result<u32> {
    let sock = control_socket()?;
    let mut req = ifreq(name)?;
    // SAFETY: SIOCGIFMTU writes the MTU into the ifreq passed, valid for the call.
    cvt(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFMTU, &raw mut req) })?;
    // SAFETY: SIOCGIFMTU filled the ifru_mtu member of the union.
    Ok(u32::try_from(unsafe { req.ifr_ifru.ifru_mtu }).unwrap_or(0))
}

/// Brings an interface up.
pub fn set_up(name: &str) -> io::Result<()> {
    let sock = control_socket()?;
    let mut req = ifreq(name)?;
    // SAFETY: SIOCGIFFLAGS/SIOCSIFFLAGS read and write the ifreq passed, valid for the call.
    unsafe {
        cvt(libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &raw mut req))?;
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        cvt(libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &raw mut req))?;
    }
    Ok(())
}

/// Sets an interface's MAC address.
pub fn set_mac(name: &str, mac: [u8; 6]) -> io::Result<()> {
    let sock = control_socket()?;
    let mut req = ifreq(name)?;
    // SAFETY: writing the sockaddr member of the union; the ioctl reads the ifreq during the call.
    unsafe {
        req.ifr_ifru.ifru_hwaddr.sa_family = libc::ARPHRD_ETHER;
        for (d, s) in req.ifr_ifru.ifru_hwaddr.sa_data.iter_mut().zip(mac) {
            *d = s as libc::c_char;
        }
        cvt(libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFHWADDR, &raw mut req))?;
    }
    Ok(())
}

/// The interface's index in the current network namespace.
pub fn ifindex(name: &str) -> io::Result<u32> {
    let c = CString::new(name).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in interface name"))?;
    // SAFETY: c is a valid NUL-terminated string.
    match unsafe { libc::if_nametoindex(c.as_ptr()) } {
        0 => Err(io::Error::new(io::ErrorKind::NotFound, format!("no interface named {name}"))),
        i => Ok(i),
    }
}

/// The name of interface `ifindex` in the current network namespace.
pub fn ifname(ifindex: u32) -> io::Result<String> {
    let mut name = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: `name` has IF_NAMESIZE bytes, as if_indextoname requires; it writes a
    // NUL-terminated name there or returns NULL.
    let p = unsafe { libc::if_indextoname(ifindex, name.as_mut_ptr()) };
    if p.is_null() {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: if_indextoname succeeded, so `name` holds a NUL-terminated string.
    let name = unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) };
    name.to_str()
        .map(str::to_owned)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "interface name is not UTF-8"))
}

/// Size of the `virtio_net_hdr` that prefixes every frame on a packet socket with
/// `PACKET_VNET_HDR` (it carries checksum-offload state).
pub const VNET_HDR_LEN: usize = 10;

/// A non-blocking AF_PACKET socket receiving every frame of `name` (but not our own sends),
/// with `PACKET_VNET_HDR` so that frames whose checksum the sender left to offload can be
/// completed (see [`complete_checksum`]). Frames move with [`recv_frames`] / [`send_frames`].
pub fn packet_socket(name: &str) -> io::Result<OwnedFd> {
    let index = ifindex(name)?;
    let proto = (libc::ETH_P_ALL as u16).to_be();
    // SAFETY: socket has no memory-safety preconditions.
    let fd = cvt(unsafe {
        libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, i32::from(proto))
    })?;
    // SAFETY: fd was just returned by socket and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let one: libc::c_int = 1;
    for opt in [libc::PACKET_IGNORE_OUTGOING, libc::PACKET_VNET_HDR] {
        // SAFETY: the option value points at a c_int that lives for the call.
        cvt(unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_PACKET,
                opt,
                (&raw const one).cast(),
                std::mem::size_of::<libc::c_int>() as u32,
            )
        })?;
    }
    // SAFETY: sockaddr_ll is a plain C struct for which all-zero bytes are valid.
    let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    addr.sll_family = libc::AF_PACKET as u16;
    addr.sll_protocol = proto;
    addr.sll_ifindex = index as i32;
    // SAFETY: addr is a valid sockaddr_ll and the length passed is its size.
    cvt(unsafe {
        libc::bind(fd.as_raw_fd(), (&raw const addr).cast(), std::mem::size_of::<libc::sockaddr_ll>() as u32)
    })?;
    Ok(fd)
}

/// Reads one frame into `buf` (cleared first) from a tap's descriptor. The frame is written
/// into the vector's spare capacity, so a read costs only the bytes it copies (no zeroing of a
/// 64 KiB buffer per frame).
pub fn read_frame(fd: RawFd, buf: &mut Vec<u8>) -> io::Result<usize> {
    buf.clear();
    buf.reserve(MAX_FRAME);
    let room = buf.capacity();
    // SAFETY: the pointer is valid for writes of `room` bytes (the vector's capacity).
    let got = cvt_size(unsafe { libc::read(fd, buf.as_mut_ptr().cast(), room) })?.min(room);
    // SAFETY: the kernel initialised the first `got` bytes (got <= room = capacity).
    unsafe { buf.set_len(got) };
    Ok(got)
}

/// Most frames one [`recv_frames`] or [`send_frames`] call moves (Open vSwitch's
/// `NETDEV_MAX_BURST`).
pub const MMSG_BATCH: usize = 32;

/// Receives up to `bufs.len()` (at most [`MMSG_BATCH`]) frames from a non-blocking packet
/// socket with `PACKET_VNET_HDR`, with one recvmmsg(2): frame `i`'s `virtio_net_hdr` goes into
/// `hdrs[i]` and the frame itself into `bufs[i]` (cleared, then filled in its spare capacity,
/// grown to [`MAX_FRAME`] first), so nothing is moved afterwards. Returns how many; 0 when none
/// wait.
pub fn recv_frames(fd: RawFd, hdrs: &mut [[u8; VNET_HDR_LEN]], bufs: &mut [Vec<u8>]) -> io::Result<usize> {
    let n = bufs.len().min(hdrs.len()).min(MMSG_BATCH);
    // SAFETY: iovec and mmsghdr are plain C structs for which all-zero bytes are valid.
    let mut iov: [[libc::iovec; 2]; MMSG_BATCH] = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut msgs: [libc::mmsghdr; MMSG_BATCH] = unsafe { std::mem::zeroed() };
    for (i, (buf, hdr)) in bufs[..n].iter_mut().zip(hdrs.iter_mut()).enumerate() {
        buf.clear();
        buf.reserve(MAX_FRAME);
        iov[i] = [
            libc::iovec { iov_base: hdr.as_mut_ptr().cast(), iov_len: VNET_HDR_LEN },
            libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.capacity() },
        ];
        msgs[i].msg_hdr.msg_iov = iov[i].as_mut_ptr();
        msgs[i].msg_hdr.msg_iovlen = 2;
    }
    // SAFETY: msgs[..n] each point at two iovecs, over a distinct header array and the spare
    // capacity of a distinct vector, all of which outlive the call; no address or control
    // buffers are passed.
    let got =
        unsafe { libc::recvmmsg(fd, msgs.as_mut_ptr(), n as libc::c_uint, libc::MSG_DONTWAIT, std::ptr::null_mut()) };
    let Ok(got) = usize::try_from(got) else {
        let e = io::Error::last_os_error();
        return if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) { Ok(0) } else { Err(e) };
    };
    let got = got.min(n);
    for (buf, m) in bufs[..got].iter_mut().zip(&msgs) {
        let len = (m.msg_len as usize).saturating_sub(VNET_HDR_LEN).min(buf.capacity());
        // SAFETY: the kernel initialised msg_len bytes across the two iovecs: the header, then
        // the first msg_len - VNET_HDR_LEN bytes of this buffer (capped at its capacity).
        unsafe { buf.set_len(len) };
    }
    Ok(got)
}

/// Sends `frames` (at most [`MMSG_BATCH`]), each behind `hdr` (empty for none), on a
/// non-blocking socket with one sendmmsg(2). Returns how many went; an error means the first
/// failed (call again for the rest).
pub fn send_frames(fd: RawFd, hdr: &[u8], frames: &[Vec<u8>]) -> io::Result<usize> {
    let n = frames.len().min(MMSG_BATCH);
    if n == 0 {
        return Ok(0);
    }
    // SAFETY: iovec and mmsghdr are plain C structs for which all-zero bytes are valid.
    let mut iov: [[libc::iovec; 2]; MMSG_BATCH] = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut msgs: [libc::mmsghdr; MMSG_BATCH] = unsafe { std::mem::zeroed() };
    for (i, f) in frames[..n].iter().enumerate() {
        iov[i] = [
            libc::iovec { iov_base: hdr.as_ptr().cast_mut().cast(), iov_len: hdr.len() },
            libc::iovec { iov_base: f.as_ptr().cast_mut().cast(), iov_len: f.len() },
        ];
        msgs[i].msg_hdr.msg_iov = iov[i].as_mut_ptr();
        msgs[i].msg_hdr.msg_iovlen = 2;
    }
    // SAFETY: msgs[..n] each point at two iovecs over live memory (the header, a frame), which
    // the kernel only reads.
    let sent = unsafe { libc::sendmmsg(fd, msgs.as_mut_ptr(), n as libc::c_uint, libc::MSG_DONTWAIT) };
    usize::try_from(sent).map_err(|_| io::Error::last_os_error())
}

/// A non-blocking `NETLINK_ROUTE` socket subscribed to the multicast `groups` (RTMGRP_* bits;
/// 0 for a socket that only makes requests).
pub fn netlink_route_socket(groups: u32) -> io::Result<OwnedFd> {
    netlink_socket(libc::NETLINK_ROUTE, groups)
}

/// A non-blocking netlink socket of `protocol` (NETLINK_ROUTE, NETLINK_GENERIC) subscribed to
/// the multicast `groups`.
pub fn netlink_socket(protocol: libc::c_int, groups: u32) -> io::Result<OwnedFd> {
    // SAFETY: socket has no memory-safety preconditions.
    let fd = cvt(unsafe {
        libc::socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, protocol)
    })?;
    // SAFETY: fd was just returned by socket and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: sockaddr_nl is a plain C struct for which all-zero bytes are valid.
    let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    addr.nl_family = libc::AF_NETLINK as u16;
    addr.nl_groups = groups;
    // SAFETY: addr is a valid sockaddr_nl and the length passed is its size.
    cvt(unsafe {
        libc::bind(fd.as_raw_fd(), (&raw const addr).cast(), std::mem::size_of::<libc::sockaddr_nl>() as u32)
    })?;
    Ok(fd)
}

/// recv(2) into `buf`, non-blocking.
pub fn recv(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: buf is valid for writes of buf.len() bytes.
    cvt_size(unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT | libc::MSG_TRUNC) })
        .map(|n| n.min(buf.len()))
}

/// write(2) of `buf`.
pub fn write(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: buf is valid for reads of buf.len() bytes.
    cvt_size(unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) })
}

/// send(2) of `buf`, non-blocking.
pub fn send(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: buf is valid for reads of buf.len() bytes.
    cvt_size(unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) })
}

/// Waits until one of `fds` is readable or `timeout_ms` passes; returns the readable ones' indexes.
pub fn poll_readable(fds: &[RawFd], timeout_ms: i32, ready: &mut Vec<usize>) -> io::Result<()> {
    ready.clear();
    let mut pfds: Vec<libc::pollfd> =
        fds.iter().map(|&fd| libc::pollfd { fd, events: libc::POLLIN, revents: 0 }).collect();
    // SAFETY: pfds is a valid array of pfds.len() pollfd structs for the duration of the call.
    let r = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, timeout_ms) };
    if r < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted { Ok(()) } else { Err(e) };
    }
    ready.extend(pfds.iter().enumerate().filter(|(_, p)| p.revents != 0).map(|(i, _)| i));
    Ok(())
}

/// `virtio_net_hdr` flag: the checksum from `csum_start` on is still to be computed.
const VIRTIO_NET_HDR_F_NEEDS_CSUM: u8 = 1;

/// Completes a checksum a local sender left for offload (veth and tap peers do this), using
/// the frame's `virtio_net_hdr` (received apart from it, see [`recv_frames`]).
pub fn complete_checksum(hdr: &[u8; VNET_HDR_LEN], frame: &mut [u8]) {
    if hdr[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM != 0 {
        let start = usize::from(u16::from_le_bytes([hdr[6], hdr[7]]));
        let at = start + usize::from(u16::from_le_bytes([hdr[8], hdr[9]]));
        if at + 2 <= frame.len() && start < frame.len() {
            // The field holds the pseudo-header sum already; fold in the rest.
            let c = flowtable::checksum::checksum(&frame[start..]);
            frame[at..at + 2].copy_from_slice(&c.to_be_bytes());
        }
    }
}

/// A link change announced by the kernel (rtnetlink `RTM_NEWLINK`/`RTM_DELLINK`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkEvent {
    /// Interface index.
    pub ifindex: u32,
    /// Whether the link left this namespace (deleted or moved away).
    pub deleted: bool,
}

/// A netlink socket subscribed to this namespace's link changes (`RTMGRP_LINK`).
pub fn link_monitor() -> io::Result<OwnedFd> {
    netlink_route_socket(libc::RTMGRP_LINK as u32)
}

/// Waits up to `timeout_ms` for link changes on a [`link_monitor`] socket and appends them to
/// `events`. A receive-queue overflow (ENOBUFS) is reported as an error: the caller must then
/// re-check every link.
pub fn recv_link_events(fd: RawFd, timeout_ms: i32, events: &mut Vec<LinkEvent>) -> io::Result<()> {
    let mut ready = Vec::new();
    poll_readable(&[fd], timeout_ms, &mut ready)?;
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        // SAFETY: buf is valid for writes of buf.len() bytes.
        let n = match cvt_size(unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) }) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e),
        };
        parse_link_messages(&buf[..n.min(buf.len())], events);
    }
}

/// Parses rtnetlink messages (nlmsghdr + ifinfomsg), keeping link additions and removals.
fn parse_link_messages(mut data: &[u8], events: &mut Vec<LinkEvent>) {
    const NLMSG_HDRLEN: usize = 16;
    while data.len() >= NLMSG_HDRLEN {
        let len = u32::from_ne_bytes([data[0], data[1], data[2], data[3]]) as usize;
        let kind = u16::from_ne_bytes([data[4], data[5]]);
        if len < NLMSG_HDRLEN || len > data.len() {
            return;
        }
        // ifinfomsg: family (1), pad (1), type (2), index (4), flags (4), change (4).
        if (kind == libc::RTM_NEWLINK || kind == libc::RTM_DELLINK) && len >= NLMSG_HDRLEN + 8 {
            let i = NLMSG_HDRLEN + 4;
            let ifindex = u32::from_ne_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]);
            events.push(LinkEvent { ifindex, deleted: kind == libc::RTM_DELLINK });
        }
        let step = (len + 3) & !3;
        data = data.get(step..).unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nlmsg(kind: u16, ifindex: u32) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&32u32.to_ne_bytes());
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&[0; 10]);
        m.extend_from_slice(&[0, 0, 1, 0]);
        m.extend_from_slice(&ifindex.to_ne_bytes());
        m.extend_from_slice(&[0; 8]);
        m
    }

    #[test]
    fn link_messages_parse_and_bad_lengths_stop_the_walk() {
        let mut data = nlmsg(libc::RTM_NEWLINK, 7);
        data.extend(nlmsg(libc::RTM_DELLINK, 9));
        data.extend(nlmsg(libc::RTM_NEWADDR, 3));
        let mut events = Vec::new();
        parse_link_messages(&data, &mut events);
        assert_eq!(events, [LinkEvent { ifindex: 7, deleted: false }, LinkEvent { ifindex: 9, deleted: true }]);
        let mut bad = nlmsg(libc::RTM_DELLINK, 1);
        bad[0] = 200;
        events.clear();
        parse_link_messages(&bad, &mut events);
        parse_link_messages(&bad[..10], &mut events);
        assert!(events.is_empty());
    }
}
