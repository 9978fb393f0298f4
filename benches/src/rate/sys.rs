//! The system calls of the packet-rate harness that neither std nor aya wrap: entering a network
//! namespace from one thread (`setns`), `BPF_PROG_RUN` of an XDP program in live-frames mode
//! (kernel >= 5.18; aya 0.13 has no wrapper) and the AF_PACKET sender used where a kernel
//! refuses live frames, SIGINT/SIGTERM to a flag so that the guards clean up, the clock tick of
//! /proc/<pid>/stat, and the "VM" end of a tap device (create it on /dev/net/tun, write and read
//! frames, CLOCK_MONOTONIC). Every `unsafe` block of the harness is here.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};

/// Moves the calling thread (only it) into the network namespace open at `fd`.
pub fn setns_net(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: setns reads only its two integer arguments; `fd` is a valid open descriptor for the
    // duration of the call (borrowed), and CLONE_NEWNET changes only this thread's namespace.
    let rc = unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `struct xdp_md` as BPF_PROG_RUN takes it for the context (include/uapi/linux/bpf.h).
#[repr(C)]
#[derive(Debug, Default)]
struct XdpMd {
    data: u32,
    data_end: u32,
    data_meta: u32,
    ingress_ifindex: u32,
    rx_queue_index: u32,
    egress_ifindex: u32,
}

/// The `test` member of `union bpf_attr` (BPF_PROG_TEST_RUN), up to `batch_size`.
#[repr(C)]
#[derive(Debug, Default)]
struct TestRunAttr {
    prog_fd: u32,
    retval: u32,
    data_size_in: u32,
    data_size_out: u32,
    data_in: u64,
    data_out: u64,
    repeat: u32,
    duration: u32,
    ctx_size_in: u32,
    ctx_size_out: u32,
    ctx_in: u64,
    ctx_out: u64,
    flags: u32,
    cpu: u32,
    batch_size: u32,
    pad: u32,
}

const BPF_PROG_TEST_RUN: libc::c_long = 10;
const BPF_F_TEST_XDP_LIVE_FRAMES: u32 = 1 << 1;

/// BPF_PROG_TEST_RUN of the XDP program `prog` on `frame` as if received on `ifindex`, `repeat`
/// times, with `flags` and `batch` (live frames); returns the last verdict and the kernel's
/// average time per run in nanoseconds (0 for live frames).
fn xdp_prog_test_run(
    prog: BorrowedFd<'_>,
    ifindex: u32,
    frame: &[u8],
    repeat: u32,
    flags: u32,
    batch: u32,
) -> io::Result<(u32, u32)> {
    let ctx = XdpMd { data_end: frame.len() as u32, ingress_ifindex: ifindex, ..XdpMd::default() };
    let mut attr = TestRunAttr {
        prog_fd: prog.as_raw_fd() as u32,
        data_size_in: frame.len() as u32,
        data_in: frame.as_ptr() as u64,
        repeat,
        ctx_size_in: size_of::<XdpMd>() as u32,
        ctx_in: std::ptr::from_ref(&ctx) as u64,
        flags,
        batch_size: batch,
        ..TestRunAttr::default()
    };
    // SAFETY: `attr` is a properly laid out, zero-padded prefix of union bpf_attr whose size we
    // pass; the kernel only reads `frame` and `ctx` (their sizes are in `attr`), both live for the
    // whole call, and writes back only into `attr` (retval, duration).
    let rc = unsafe {
        libc::syscall(libc::SYS_bpf, BPF_PROG_TEST_RUN, std::ptr::from_mut(&mut attr), size_of::<TestRunAttr>() as u32)
    };
    if rc == 0 {
        Ok((attr.retval, attr.duration))
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The `BPF_PROG_LOAD` member of `union bpf_attr`, up to `expected_attach_type`.
#[repr(C)]
#[derive(Debug, Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_TYPE_XDP: u32 = 6;

/// Whether this kernel lets us run XDP programs on live frames (the generator's mode): runs
/// `r0 = XDP_DROP; exit` on one live frame received on `lo`. `Err` is what the kernel said:
/// some kernels refuse live frames to root with EPERM while allowing every other BPF use.
pub fn probe_live_frames() -> io::Result<()> {
    // mov64 r0, 1 (XDP_DROP); exit
    let insns: [u64; 2] = [0xb7 | (1 << 32), 0x95];
    let license = c"GPL";
    let attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_XDP,
        insn_cnt: insns.len() as u32,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        ..ProgLoadAttr::default()
    };
    // SAFETY: `attr` is a properly laid out, zero-padded prefix of union bpf_attr whose size we
    // pass; the kernel reads `insns` (`insn_cnt` of them) and the NUL-terminated `license`, both
    // live for the whole call, and returns a new descriptor or -1.
    let fd = unsafe {
        libc::syscall(libc::SYS_bpf, BPF_PROG_LOAD, std::ptr::from_ref(&attr), size_of::<ProgLoadAttr>() as u32)
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this descriptor to us, and nothing else owns it.
    let prog = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
    let frame = [0u8; 60];
    xdp_live_frames(prog.as_fd(), 1, &frame, 1, 1)
}

/// Runs the XDP program `prog` `repeat` times on live frames initialised from `frame`, as if
/// received on `ifindex` (resolved in the calling thread's network namespace): frames the
/// program returns XDP_TX for leave through that interface. `batch` frames per NAPI-like batch
/// (1..=256).
pub fn xdp_live_frames(prog: BorrowedFd<'_>, ifindex: u32, frame: &[u8], repeat: u32, batch: u32) -> io::Result<()> {
    xdp_prog_test_run(prog, ifindex, frame, repeat, BPF_F_TEST_XDP_LIVE_FRAMES, batch).map(|_| ())
}

/// Runs the XDP program `prog` `repeat` times on `frame` (a test run: verdicts are returned,
/// not carried out), as if received on `ifindex`; returns the last verdict and the kernel's
/// average time per run in nanoseconds.
pub fn xdp_test_run(prog: BorrowedFd<'_>, ifindex: u32, frame: &[u8], repeat: u32) -> io::Result<(u32, u32)> {
    xdp_prog_test_run(prog, ifindex, frame, repeat, 0, 0)
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_sig: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// From now on SIGINT and SIGTERM only set the flag [`interrupted`] reads, so that the run stops
/// at the next check and the guards (namespaces, switch processes, temp dirs) clean up.
pub fn catch_interrupts() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            libc::signal(sig, on_signal as *const () as libc::sighandler_t);
        }
    }
}

/// Whether SIGINT or SIGTERM arrived.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Pins the calling thread to CPU `cpu`.
pub fn pin_to_cpu(cpu: usize) -> io::Result<()> {
    if cpu >= libc::CPU_SETSIZE as usize {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("CPU {cpu} out of range")));
    }
    // SAFETY: cpu_set_t is a plain bit array for which all-zero is the empty set; CPU_SET writes
    // bit `cpu`, checked above to be inside the set; sched_setaffinity reads the set we pass with
    // its size, and pid 0 means the calling thread.
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &raw const set)
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Clock ticks per second of /proc/<pid>/stat times.
pub fn clock_ticks() -> u64 {
    // SAFETY: sysconf only reads its integer argument.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}

const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
const IFF_TAP: libc::c_short = 0x0002;
const IFF_NO_PI: libc::c_short = 0x1000;
const IFF_VNET_HDR: libc::c_short = 0x4000;
/// Size of the `virtio_net_hdr` in front of every frame on the VM's descriptor (the tap's
/// default header size).
pub const VNET_HDR_LEN: usize = 10;

/// Creates the tap device `name` in the calling thread's network namespace and returns its
/// descriptor, opened as qemu opens a VM's tap: non-blocking, `IFF_TAP | IFF_NO_PI |
/// IFF_VNET_HDR` (every frame read or written starts with a [`VNET_HDR_LEN`]-byte header). The
/// device goes away when the descriptor is closed.
pub fn tap_create(name: &str) -> io::Result<OwnedFd> {
    if name.is_empty() || name.len() >= libc::IFNAMSIZ {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("bad interface name {name:?}")));
    }
    // SAFETY: the path is a NUL-terminated string; open has no other preconditions.
    let raw = unsafe { libc::open(c"/dev/net/tun".as_ptr(), libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: raw was just returned by open and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: ifreq is plain data for which all-zero bytes are valid.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in req.ifr_name.iter_mut().zip(name.bytes()) {
        *d = s as libc::c_char;
    }
    req.ifr_ifru.ifru_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    // SAFETY: TUNSETIFF reads and writes the ifreq we pass, which lives for the call.
    if unsafe { libc::ioctl(fd.as_raw_fd(), TUNSETIFF, &raw mut req) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fd)
}

/// write(2) of one frame; Ok(false) when the descriptor would block.
pub fn write_frame(fd: RawFd, frame: &[u8]) -> io::Result<bool> {
    // SAFETY: frame is valid for reads of frame.len() bytes.
    let r = unsafe { libc::write(fd, frame.as_ptr().cast(), frame.len()) };
    if r >= 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    if e.kind() == io::ErrorKind::WouldBlock {
        Ok(false)
    } else {
        Err(e)
    }
}

/// read(2) of one frame into `buf`; Ok(None) when none is waiting.
pub fn read_frame(fd: RawFd, buf: &mut [u8]) -> io::Result<Option<usize>> {
    // SAFETY: buf is valid for writes of buf.len() bytes.
    let r = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    if let Ok(n) = usize::try_from(r) {
        return Ok(Some(n));
    }
    let e = io::Error::last_os_error();
    if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) {
        Ok(None)
    } else {
        Err(e)
    }
}

/// Waits up to `ms` for `fd` to become readable.
pub fn wait_readable(fd: RawFd, ms: i32) {
    let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    // SAFETY: p is one valid pollfd for the duration of the call.
    unsafe { libc::poll(&raw mut p, 1, ms) };
}

/// CLOCK_MONOTONIC in nanoseconds (the clock of `bpf_ktime_get_ns`, so that timestamps written
/// here and read by the XDP sink, or the reverse, compare).
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid timespec for clock_gettime to write.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &raw mut ts) };
    (ts.tv_sec as u64).wrapping_mul(1_000_000_000).wrapping_add(ts.tv_nsec as u64)
}

/// An AF_PACKET socket that sends whole Ethernet frames out of one interface (the generator's
/// mode where the kernel refuses live frames: see [`probe_live_frames`]). Protocol 0: it
/// receives nothing.
#[derive(Debug)]
pub struct PacketTx {
    fd: OwnedFd,
    to: libc::sockaddr_ll,
}

impl PacketTx {
    /// A socket sending out of `ifindex` (in the calling thread's network namespace).
    pub fn new(ifindex: u32) -> io::Result<Self> {
        // SAFETY: socket takes three integers and returns a new descriptor or -1.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the kernel just returned this descriptor to us, and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: sockaddr_ll is a plain C struct for which all-zero is a valid value.
        let mut to: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        to.sll_family = libc::AF_PACKET as u16;
        to.sll_ifindex = ifindex as i32;
        to.sll_halen = 6;
        Ok(PacketTx { fd, to })
    }

    /// Sends `frame` (from its Ethernet header on); `Ok(false)` if the queue was full (ENOBUFS).
    pub fn send(&self, frame: &[u8]) -> io::Result<bool> {
        // SAFETY: `frame` is valid for reads of its length and `self.to` is a sockaddr_ll of the
        // size passed; the kernel copies both during the call and keeps neither.
        let rc = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                std::ptr::from_ref(&self.to).cast(),
                size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if rc >= 0 {
            return Ok(true);
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ENOBUFS) {
            Ok(false)
        } else {
            Err(e)
        }
    }
}
