//! One AF_XDP socket with its own UMEM, written directly on the kernel interface
//! (`linux/if_xdp.h`): socket(AF_XDP), XDP_UMEM_REG, the four rings sized and mmapped, bind to
//! one (interface, rx queue) with XDP_USE_NEED_WAKEUP, and sendto/recvfrom kicks when the kernel
//! asks for them. Every `unsafe` block of the AF_XDP port is here.
//!
//! Frames are copied out on receive and copied in on send, so UMEM ownership stays simple: the
//! first half of the frames belongs to the fill ring (each received frame goes back to it as soon
//! as it is copied out), the second half to transmission (a frame leaves the free list when
//! queued on the TX ring and comes back through the completion ring). Nothing grows.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

/// Sizes of one socket's UMEM and rings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XskConfig {
    /// Frames in the UMEM (half for receive, half for transmit).
    pub frames: u32,
    /// Bytes per frame (a power of two, 2048..=4096).
    pub frame_size: u32,
    /// Entries of each ring (a power of two; at least `frames / 2`).
    pub ring_size: u32,
    /// Ask the driver for zero-copy (fails where it cannot); otherwise copy mode.
    pub zero_copy: bool,
}

impl Default for XskConfig {
    fn default() -> Self {
        XskConfig { frames: 2048, frame_size: 4096, ring_size: 1024, zero_copy: false }
    }
}

/// Kernel reserves this much in front of each received frame (XDP_PACKET_HEADROOM).
const XDP_PACKET_HEADROOM: u32 = 256;

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, what.to_owned())
}

/// An mmapped region, unmapped on drop.
#[derive(Debug)]
struct Mmap {
    ptr: NonNull<u8>,
    len: usize,
}

impl Mmap {
    /// Anonymous private memory, populated (UMEM).
    fn anonymous(len: usize) -> io::Result<Self> {
        // SAFETY: a fresh anonymous mapping does not alias any Rust object.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE,
                -1,
                0,
            )
        };
        Self::from_raw(p, len)
    }

    /// A ring of socket `fd` at page offset `pgoff`.
    fn ring(fd: RawFd, len: usize, pgoff: u64) -> io::Result<Self> {
        // SAFETY: mapping a region the kernel provides for this socket; nothing aliases it yet.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_POPULATE,
                fd,
                pgoff as libc::off_t,
            )
        };
        Self::from_raw(p, len)
    }

    fn from_raw(p: *mut libc::c_void, len: usize) -> io::Result<Self> {
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        NonNull::new(p.cast::<u8>()).map(|ptr| Mmap { ptr, len }).ok_or_else(|| invalid("mmap returned NULL"))
    }
}

impl Drop for Mmap {
    fn drop(&mut self) {
        // SAFETY: ptr/len are exactly what mmap returned, and no reference into it outlives self.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// One of the four single-producer/single-consumer rings shared with the kernel.
#[derive(Debug)]
struct Ring {
    map: Mmap,
    producer: usize,
    consumer: usize,
    flags: usize,
    desc: usize,
    size: u32,
}

impl Ring {
    fn new(fd: RawFd, off: &libc::xdp_ring_offset, size: u32, entry: usize, pgoff: u64) -> io::Result<Self> {
        let len = off.desc as usize + size as usize * entry;
        let map = Mmap::ring(fd, len, pgoff)?;
        let in_map = |o: u64| (o as usize + 4 <= len && o.is_multiple_of(4)).then_some(o as usize);
        let bad = || invalid("XDP_MMAP_OFFSETS outside the ring mapping");
        Ok(Ring {
            producer: in_map(off.producer).ok_or_else(bad)?,
            consumer: in_map(off.consumer).ok_or_else(bad)?,
            flags: in_map(off.flags).ok_or_else(bad)?,
            desc: off.desc as usize,
            size,
            map,
        })
    }

    // The mapping is page-aligned and `at` a multiple of 4.
    #[allow(clippy::cast_ptr_alignment)]
    fn word(&self, at: usize) -> &AtomicU32 {
        // SAFETY: `at` was checked to be a 4-aligned offset inside the live mapping; the kernel
        // only accesses these words atomically (smp_load_acquire/smp_store_release).
        unsafe { &*self.map.ptr.as_ptr().add(at).cast::<AtomicU32>() }
    }

    fn producer(&self) -> &AtomicU32 {
        self.word(self.producer)
    }

    fn consumer(&self) -> &AtomicU32 {
        self.word(self.consumer)
    }

    fn needs_wakeup(&self) -> bool {
        self.word(self.flags).load(Ordering::Relaxed) & libc::XDP_RING_NEED_WAKEUP != 0
    }

    /// Pointer to entry `idx` (masked) of type `T`.
    fn entry<T>(&self, idx: u32) -> *mut T {
        let i = (idx & (self.size - 1)) as usize;
        // SAFETY: i < size, and the mapping holds desc + size * size_of::<T>() bytes.
        unsafe { self.map.ptr.as_ptr().add(self.desc + i * std::mem::size_of::<T>()).cast::<T>() }
    }
}

/// Counters the kernel keeps for a socket (XDP_STATISTICS).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct XskStats {
    /// Frames dropped for lack of rx ring room or other rx reasons.
    pub rx_dropped: u64,
    /// Invalid rx descriptors.
    pub rx_invalid: u64,
    /// Invalid tx descriptors.
    pub tx_invalid: u64,
    /// Rx ring full events.
    pub rx_ring_full: u64,
    /// Fill ring empty events.
    pub rx_fill_empty: u64,
}

/// An AF_XDP socket bound to one rx queue of one interface.
#[derive(Debug)]
pub struct XskSocket {
    // Rings and UMEM are unmapped before the socket closes (field order).
    rx: Ring,
    tx: Ring,
    fill: Ring,
    comp: Ring,
    umem: Mmap,
    fd: OwnedFd,
    cfg: XskConfig,
    /// Frames free for transmission.
    tx_free: Vec<u64>,
    /// TX descriptors written but not yet published.
    tx_pending: u32,
    /// Received frames to put back on the fill ring (kept to avoid allocating per batch).
    rx_done: Vec<u64>,
    zero_copy: bool,
}

// SAFETY: the socket's mappings are owned by it alone and only touched through &mut self (or
// read atomically); moving it to another thread is sound.
unsafe impl Send for XskSocket {}

fn setsockopt<T>(fd: RawFd, opt: libc::c_int, val: &T) -> io::Result<()> {
    // SAFETY: val points at a live T of the size passed.
    cvt(unsafe {
        libc::setsockopt(fd, libc::SOL_XDP, opt, std::ptr::from_ref(val).cast(), std::mem::size_of::<T>() as u32)
    })
    .map(drop)
}

impl XskSocket {
    /// Creates the socket and its UMEM, and binds it to (`ifindex`, `queue`).
    pub fn open(ifindex: u32, queue: u32, cfg: XskConfig) -> io::Result<Self> {
        if !cfg.frame_size.is_power_of_two()
            || !(2048..=4096).contains(&cfg.frame_size)
            || !cfg.ring_size.is_power_of_two()
            || cfg.frames < 2
            || cfg.ring_size < cfg.frames / 2
        {
            return Err(invalid("bad AF_XDP ring or UMEM sizes"));
        }
        // SAFETY: socket has no memory-safety preconditions.
        let raw = cvt(unsafe { libc::socket(libc::AF_XDP, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) })?;
        // SAFETY: raw was just returned by socket and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let umem_len = cfg.frames as usize * cfg.frame_size as usize;
        let umem = Mmap::anonymous(umem_len)?;
        let reg = libc::xdp_umem_reg {
            addr: umem.ptr.as_ptr() as u64,
            len: umem_len as u64,
            chunk_size: cfg.frame_size,
            headroom: 0,
            flags: 0,
            tx_metadata_len: 0,
        };
        setsockopt(raw, libc::XDP_UMEM_REG, &reg)?;
        for opt in [libc::XDP_UMEM_FILL_RING, libc::XDP_UMEM_COMPLETION_RING, libc::XDP_RX_RING, libc::XDP_TX_RING] {
            setsockopt(raw, opt, &cfg.ring_size)?;
        }
        // SAFETY: xdp_mmap_offsets is plain data for which all-zero bytes are valid.
        let mut off: libc::xdp_mmap_offsets = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::xdp_mmap_offsets>() as libc::socklen_t;
        // SAFETY: off/len point at live values of the sizes given.
        cvt(unsafe {
            libc::getsockopt(raw, libc::SOL_XDP, libc::XDP_MMAP_OFFSETS, (&raw mut off).cast(), &raw mut len)
        })?;
        if len as usize != std::mem::size_of::<libc::xdp_mmap_offsets>() {
            return Err(invalid("kernel too old: no ring flags in XDP_MMAP_OFFSETS"));
        }
        let desc = std::mem::size_of::<libc::xdp_desc>();
        let addr = std::mem::size_of::<u64>();
        let rx = Ring::new(raw, &off.rx, cfg.ring_size, desc, libc::XDP_PGOFF_RX_RING as u64)?;
        let tx = Ring::new(raw, &off.tx, cfg.ring_size, desc, libc::XDP_PGOFF_TX_RING as u64)?;
        let fill = Ring::new(raw, &off.fr, cfg.ring_size, addr, libc::XDP_UMEM_PGOFF_FILL_RING)?;
        let comp = Ring::new(raw, &off.cr, cfg.ring_size, addr, libc::XDP_UMEM_PGOFF_COMPLETION_RING)?;
        let half = cfg.frames / 2;
        let fs = u64::from(cfg.frame_size);
        let mut sock = XskSocket {
            rx,
            tx,
            fill,
            comp,
            umem,
            fd,
            cfg,
            tx_free: (half..cfg.frames).map(|i| u64::from(i) * fs).collect(),
            tx_pending: 0,
            rx_done: Vec::with_capacity(cfg.ring_size as usize),
            zero_copy: cfg.zero_copy,
        };
        sock.refill((0..half).map(|i| u64::from(i) * fs));
        let mode = if cfg.zero_copy { libc::XDP_ZEROCOPY } else { libc::XDP_COPY };
        let sa = libc::sockaddr_xdp {
            sxdp_family: libc::AF_XDP as u16,
            sxdp_flags: libc::XDP_USE_NEED_WAKEUP | mode,
            sxdp_ifindex: ifindex,
            sxdp_queue_id: queue,
            sxdp_shared_umem_fd: 0,
        };
        // SAFETY: sa is a valid sockaddr_xdp and the length passed is its size.
        cvt(unsafe {
            libc::bind(raw, (&raw const sa).cast(), std::mem::size_of::<libc::sockaddr_xdp>() as libc::socklen_t)
        })?;
        Ok(sock)
    }

    /// Whether the socket runs in zero-copy mode.
    pub fn is_zero_copy(&self) -> bool {
        self.zero_copy
    }

    /// Largest frame that fits a UMEM frame on transmit.
    pub fn max_frame(&self) -> usize {
        self.cfg.frame_size as usize
    }

    /// Puts frame addresses on the fill ring (as many as fit; the rest are lost, which cannot
    /// happen since the ring holds every receive frame).
    fn refill(&mut self, addrs: impl Iterator<Item = u64>) {
        let prod = self.fill.producer().load(Ordering::Relaxed);
        let cons = self.fill.consumer().load(Ordering::Acquire);
        let free = self.fill.size - prod.wrapping_sub(cons);
        let mut n = 0;
        for a in addrs.take(free as usize) {
            // SAFETY: entries between producer and consumer+size belong to us (producer side).
            unsafe { self.fill.entry::<u64>(prod.wrapping_add(n)).write(a) };
            n += 1;
        }
        self.fill.producer().store(prod.wrapping_add(n), Ordering::Release);
    }

    /// Receives up to `max` frames, handing each to `each` (the slice is valid only during the
    /// call); their UMEM frames go straight back to the fill ring. Returns how many.
    pub fn recv(&mut self, max: usize, mut each: impl FnMut(&[u8])) -> usize {
        let cons = self.rx.consumer().load(Ordering::Relaxed);
        let prod = self.rx.producer().load(Ordering::Acquire);
        let n = prod.wrapping_sub(cons).min(u32::try_from(max).unwrap_or(u32::MAX));
        let mut done = std::mem::take(&mut self.rx_done);
        done.clear();
        let umem_len = self.umem.len as u64;
        for i in 0..n {
            // SAFETY: entries between consumer and producer were published by the kernel.
            let d: libc::xdp_desc = unsafe { self.rx.entry::<libc::xdp_desc>(cons.wrapping_add(i)).read() };
            let base = d.addr - d.addr % u64::from(self.cfg.frame_size);
            if d.addr.checked_add(u64::from(d.len)).is_some_and(|end| end <= umem_len) {
                // SAFETY: the range is inside the UMEM and the kernel handed this frame to us
                // (it does not write it until we give it back on the fill ring).
                let frame =
                    unsafe { std::slice::from_raw_parts(self.umem.ptr.as_ptr().add(d.addr as usize), d.len as usize) };
                each(frame);
            }
            if base < umem_len {
                done.push(base);
            }
        }
        self.rx.consumer().store(cons.wrapping_add(n), Ordering::Release);
        self.refill(done.iter().copied());
        self.rx_done = done;
        if self.fill.needs_wakeup() {
            self.kick_rx();
        }
        n as usize
    }

    /// Whether frames wait on the rx ring.
    pub fn rx_ready(&self) -> bool {
        self.rx.producer().load(Ordering::Acquire) != self.rx.consumer().load(Ordering::Relaxed)
    }

    fn kick_rx(&self) {
        // SAFETY: a zero-length recvfrom with no buffer or address only wakes the driver.
        unsafe {
            libc::recvfrom(
                self.fd.as_raw_fd(),
                std::ptr::null_mut(),
                0,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
    }

    /// Takes back transmitted frames from the completion ring.
    pub fn reclaim(&mut self) {
        let cons = self.comp.consumer().load(Ordering::Relaxed);
        let prod = self.comp.producer().load(Ordering::Acquire);
        let n = prod.wrapping_sub(cons);
        for i in 0..n {
            // SAFETY: entries between consumer and producer were published by the kernel.
            let a = unsafe { self.comp.entry::<u64>(cons.wrapping_add(i)).read() };
            if a < self.umem.len as u64 && self.tx_free.len() < self.cfg.frames as usize {
                self.tx_free.push(a - a % u64::from(self.cfg.frame_size));
            }
        }
        self.comp.consumer().store(cons.wrapping_add(n), Ordering::Release);
    }

    /// Copies `frame` into a free UMEM frame and writes its TX descriptor (published by
    /// [`XskSocket::flush`]). Returns false when it does not fit or no frame or slot is free.
    pub fn queue(&mut self, frame: &[u8]) -> bool {
        if frame.len() > self.cfg.frame_size as usize {
            return false;
        }
        if self.tx_free.is_empty() {
            self.reclaim();
        }
        let prod = self.tx.producer().load(Ordering::Relaxed);
        let cons = self.tx.consumer().load(Ordering::Acquire);
        if prod.wrapping_add(self.tx_pending).wrapping_sub(cons) >= self.tx.size {
            return false;
        }
        let Some(addr) = self.tx_free.pop() else { return false };
        // SAFETY: addr is a free TX frame of frame_size bytes inside the UMEM (we own it until
        // it comes back on the completion ring), and frame.len() <= frame_size.
        unsafe {
            std::ptr::copy_nonoverlapping(frame.as_ptr(), self.umem.ptr.as_ptr().add(addr as usize), frame.len());
        }
        let d = libc::xdp_desc { addr, len: frame.len() as u32, options: 0 };
        // SAFETY: the slot at producer + pending is ours (checked against the consumer above).
        unsafe { self.tx.entry::<libc::xdp_desc>(prod.wrapping_add(self.tx_pending)).write(d) };
        self.tx_pending += 1;
        true
    }

    /// Publishes queued TX descriptors and kicks the kernel when it needs it (copy mode always
    /// does: the kernel transmits from sendto, at most a batch per call, so it loops, bounded).
    pub fn flush(&mut self) -> io::Result<()> {
        if self.tx_pending > 0 {
            let prod = self.tx.producer().load(Ordering::Relaxed);
            self.tx.producer().store(prod.wrapping_add(self.tx_pending), Ordering::Release);
            self.tx_pending = 0;
        }
        let mut result = Ok(());
        for _ in 0..64 {
            let outstanding = self.tx.producer().load(Ordering::Relaxed) != self.tx.consumer().load(Ordering::Acquire);
            if !outstanding || !self.tx.needs_wakeup() {
                break;
            }
            // SAFETY: a zero-length sendto with no buffer or address only starts transmission.
            let r = unsafe {
                libc::sendto(self.fd.as_raw_fd(), std::ptr::null(), 0, libc::MSG_DONTWAIT, std::ptr::null(), 0)
            };
            if r < 0 {
                let e = io::Error::last_os_error();
                match e.raw_os_error() {
                    Some(libc::EAGAIN | libc::EBUSY | libc::ENOBUFS | libc::EINTR) => {}
                    Some(libc::ENETDOWN | libc::ENXIO) => break,
                    _ => {
                        result = Err(e);
                        break;
                    }
                }
            }
        }
        self.reclaim();
        result
    }

    /// TX descriptors the kernel has not taken yet.
    pub fn tx_outstanding(&self) -> u32 {
        self.tx.producer().load(Ordering::Relaxed).wrapping_sub(self.tx.consumer().load(Ordering::Acquire))
            + self.tx_pending
    }

    /// The kernel's counters for this socket.
    pub fn stats(&self) -> io::Result<XskStats> {
        // SAFETY: xdp_statistics is plain data for which all-zero bytes are valid.
        let mut s: libc::xdp_statistics = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::xdp_statistics>() as libc::socklen_t;
        // SAFETY: s/len point at live values of the sizes given.
        cvt(unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_XDP,
                libc::XDP_STATISTICS,
                (&raw mut s).cast(),
                &raw mut len,
            )
        })?;
        Ok(XskStats {
            rx_dropped: s.rx_dropped,
            rx_invalid: s.rx_invalid_descs,
            tx_invalid: s.tx_invalid_descs,
            rx_ring_full: s.rx_ring_full,
            rx_fill_empty: s.rx_fill_ring_empty_descs,
        })
    }

    /// Largest frame the kernel can put in a UMEM frame on receive.
    pub fn max_rx_frame(&self) -> usize {
        (self.cfg.frame_size - XDP_PACKET_HEADROOM) as usize
    }
}

impl AsRawFd for XskSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// An epoll instance watching several descriptors for input: one descriptor to poll(2) for a
/// port with several rx queues.
#[derive(Debug)]
pub struct EpollSet {
    fd: OwnedFd,
}

impl EpollSet {
    /// An epoll set readable when any of `fds` is.
    pub fn new(fds: &[RawFd]) -> io::Result<Self> {
        // SAFETY: epoll_create1 has no memory-safety preconditions.
        let raw = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: raw was just returned by epoll_create1 and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        for &f in fds {
            let mut ev = libc::epoll_event { events: libc::EPOLLIN as u32, u64: f as u64 };
            // SAFETY: ev is a live epoll_event for the duration of the call.
            cvt(unsafe { libc::epoll_ctl(raw, libc::EPOLL_CTL_ADD, f, &raw mut ev) })?;
        }
        Ok(EpollSet { fd })
    }
}

impl AsRawFd for EpollSet {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_sizes_are_refused_before_any_syscall() {
        for cfg in [
            XskConfig { frame_size: 3000, ..XskConfig::default() },
            XskConfig { ring_size: 1000, ..XskConfig::default() },
            XskConfig { frames: 8192, ring_size: 1024, ..XskConfig::default() },
        ] {
            let e = XskSocket::open(1, 0, cfg).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{cfg:?}");
        }
    }
}
