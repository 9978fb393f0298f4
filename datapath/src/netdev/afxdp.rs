//! AF_XDP ports (Open vSwitch's `afxdp` netdev): an existing device whose frames are steered by
//! ferrovs's XDP program ([`ebpf::XdpSteer`]) to one AF_XDP socket per rx queue, and sent back
//! out through the first queue's socket.
//!
//! Options, named as Open vSwitch names them: `xdp-mode` = `best-effort` (default: native XDP
//! where the driver has it, generic otherwise; copy mode), `native`, `generic`, or
//! `native-with-zerocopy` (zero-copy where the driver supports it, copy otherwise, logged);
//! `n_rxq` = how many rx queues to serve (default: all the device has).
//!
//! Received TCP/UDP frames whose checksum a local sender left to offload are completed (see
//! [`super::csum`]): AF_XDP carries no checksum state.
//!
//! The XDP program is detached when the netdev is dropped (port removed, daemon exit); being a
//! BPF link of this process, it also goes when the process dies.

use super::Netdev;
use crate::xsk::{EpollSet, XskConfig, XskSocket, XskStats};
use ebpf::{AttachMode, XdpMode, XdpSteer};
use std::collections::BTreeMap;
use std::io;
use std::os::fd::{AsRawFd, RawFd};

/// Why an AF_XDP port could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum AfxdpError {
    /// An option has a value we do not know.
    #[error("bad option {key}={value:?}: {why}")]
    BadOption {
        /// Option name.
        key: String,
        /// Its value.
        value: String,
        /// What is accepted.
        why: &'static str,
    },
    /// Loading or attaching the XDP program.
    #[error("XDP: {0}")]
    Xdp(#[from] ebpf::Error),
    /// Creating or binding a socket.
    #[error("AF_XDP socket for rx queue {queue}: {source}")]
    Socket {
        /// Rx queue.
        queue: u32,
        /// The kernel's answer.
        #[source]
        source: io::Error,
    },
    /// The epoll set over the sockets.
    #[error("epoll over the AF_XDP sockets: {0}")]
    Epoll(#[source] io::Error),
}

/// How the port is opened (from the interface's `options`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AfxdpOptions {
    /// How the XDP program is attached.
    pub attach: AttachMode,
    /// Ask for zero-copy sockets (falls back to copy mode where refused).
    pub zero_copy: bool,
    /// Rx queues served (None: all of the device's).
    pub n_rxq: Option<u32>,
}

impl AfxdpOptions {
    /// Reads `xdp-mode` and `n_rxq` from an interface's options; other options are ignored.
    pub fn from_options(options: &BTreeMap<String, String>) -> Result<Self, AfxdpError> {
        let mut o = AfxdpOptions::default();
        if let Some(v) = options.get("xdp-mode") {
            (o.attach, o.zero_copy) = match v.as_str() {
                "" | "best-effort" => (AttachMode::Auto, false),
                "native" => (AttachMode::Native, false),
                "generic" => (AttachMode::Generic, false),
                "native-with-zerocopy" => (AttachMode::Native, true),
                _ => {
                    return Err(AfxdpError::BadOption {
                        key: "xdp-mode".into(),
                        value: v.clone(),
                        why: "expected best-effort, native, generic or native-with-zerocopy",
                    })
                }
            };
        }
        if let Some(v) = options.get("n_rxq") {
            let n = v.parse::<u32>().ok().filter(|n| (1..=ebpf::MAX_QUEUES).contains(n)).ok_or_else(|| {
                AfxdpError::BadOption { key: "n_rxq".into(), value: v.clone(), why: "expected 1 to 256" }
            })?;
            o.n_rxq = Some(n);
        }
        Ok(o)
    }
}

/// Rx queues of `name` as the kernel shows them in /sys/class/net/NAME/queues (of the network
/// namespace /sys was mounted in: `ip netns exec` remounts it); 1 when that cannot be read, or
/// when /sys shows another namespace's device of that name (its ifindex is not `ifindex`).
pub fn rx_queue_count(name: &str, ifindex: u32) -> u32 {
    let same = std::fs::read_to_string(format!("/sys/class/net/{name}/ifindex"))
        .is_ok_and(|s| s.trim().parse::<u32>().ok() == Some(ifindex));
    if !same {
        log::warn!("{name}: /sys does not show this network namespace's device; serving rx queue 0 only");
        return 1;
    }
    let dir = format!("/sys/class/net/{name}/queues");
    let Ok(entries) = std::fs::read_dir(dir) else { return 1 };
    let n = entries.filter_map(Result::ok).filter(|e| e.file_name().to_string_lossy().starts_with("rx-")).count();
    (n as u32).clamp(1, ebpf::MAX_QUEUES)
}

/// An AF_XDP port.
#[derive(Debug)]
pub struct AfxdpNetdev {
    name: String,
    // Detach first (drop order), then close the sockets.
    steer: XdpSteer,
    socks: Vec<XskSocket>,
    epoll: Option<EpollSet>,
    /// Next socket to read first (fairness between queues).
    next_rx: usize,
    tx_dropped: u64,
    /// Largest frame the device takes (MTU + Ethernet header + one VLAN tag, as the kernel's
    /// `is_skb_forwardable` allows); larger frames are dropped and counted here, as Open
    /// vSwitch's netdev layer does, instead of vanishing inside the driver.
    max_frame: usize,
    /// When `max_frame` was last read (the MTU can change while the port is open).
    mtu_read: std::time::Instant,
}

/// Ethernet header plus one 802.1Q tag.
const L2_OVERHEAD: usize = 18;
/// How often the MTU is read again.
const MTU_REFRESH: std::time::Duration = std::time::Duration::from_secs(1);

fn max_frame_of(name: &str) -> usize {
    crate::sys::mtu(name).map_or(usize::MAX, |m| m as usize + L2_OVERHEAD)
}

impl AfxdpNetdev {
    /// Opens `name` with the default options (best-effort XDP, copy mode, every rx queue).
    pub fn open(name: &str) -> Result<Self, AfxdpError> {
        Self::open_with(name, AfxdpOptions::default())
    }

    /// Attaches the XDP program to `name` and opens one socket per rx queue.
    pub fn open_with(name: &str, opts: AfxdpOptions) -> Result<Self, AfxdpError> {
        let ifindex = ebpf::ifindex(name)?;
        let mut steer = XdpSteer::attach(ifindex, opts.attach)?;
        let queues = opts.n_rxq.unwrap_or_else(|| rx_queue_count(name, ifindex));
        let mut socks = Vec::with_capacity(queues as usize);
        for queue in 0..queues {
            let cfg = XskConfig { zero_copy: opts.zero_copy, ..XskConfig::default() };
            let sock = match XskSocket::open(ifindex, queue, cfg) {
                Ok(s) => s,
                Err(e) if opts.zero_copy => {
                    log::info!("{name}: rx queue {queue}: no zero-copy ({e}); using copy mode");
                    XskSocket::open(ifindex, queue, XskConfig { zero_copy: false, ..cfg })
                        .map_err(|source| AfxdpError::Socket { queue, source })?
                }
                Err(source) => return Err(AfxdpError::Socket { queue, source }),
            };
            steer.register_socket(queue, &sock)?;
            socks.push(sock);
        }
        let epoll = if socks.len() > 1 {
            let fds: Vec<RawFd> = socks.iter().map(AsRawFd::as_raw_fd).collect();
            Some(EpollSet::new(&fds).map_err(AfxdpError::Epoll)?)
        } else {
            None
        };
        log::info!(
            "{name}: AF_XDP on {queues} rx queue(s), XDP in {} mode, {}",
            steer.mode(),
            if socks.iter().all(XskSocket::is_zero_copy) { "zero-copy" } else { "copy mode" }
        );
        Ok(AfxdpNetdev {
            name: name.to_owned(),
            steer,
            socks,
            epoll,
            next_rx: 0,
            tx_dropped: 0,
            max_frame: max_frame_of(name),
            mtu_read: std::time::Instant::now(),
        })
    }

    /// The mode the XDP program is attached in.
    pub fn xdp_mode(&self) -> XdpMode {
        self.steer.mode()
    }

    /// Whether every socket runs in zero-copy mode.
    pub fn is_zero_copy(&self) -> bool {
        self.socks.iter().all(XskSocket::is_zero_copy)
    }

    /// Rx queues served.
    pub fn n_rxq(&self) -> usize {
        self.socks.len()
    }

    /// The kernel's socket counters, summed over the queues.
    pub fn xsk_stats(&self) -> io::Result<XskStats> {
        let mut t = XskStats::default();
        for s in &self.socks {
            let x = s.stats()?;
            t.rx_dropped += x.rx_dropped;
            t.rx_invalid += x.rx_invalid;
            t.tx_invalid += x.tx_invalid;
            t.rx_ring_full += x.rx_ring_full;
            t.rx_fill_empty += x.rx_fill_empty;
        }
        Ok(t)
    }
}

impl Netdev for AfxdpNetdev {
    fn name(&self) -> &str {
        &self.name
    }

    fn recv_batch(&mut self, bufs: &mut [Vec<u8>], max: usize) -> io::Result<usize> {
        let max = max.min(bufs.len());
        let mut n = 0;
        let queues = self.socks.len();
        for k in 0..queues {
            if n >= max {
                break;
            }
            let sock = &mut self.socks[(self.next_rx + k) % queues];
            sock.recv(max - n, |frame| {
                if let Some(buf) = bufs.get_mut(n) {
                    buf.clear();
                    buf.extend_from_slice(frame);
                    super::csum::complete_partial(buf);
                    n += 1;
                }
            });
        }
        self.next_rx = (self.next_rx + 1) % queues.max(1);
        // Transmitted frames come back even when nothing is sent for a while.
        if let Some(s) = self.socks.first_mut() {
            s.reclaim();
        }
        Ok(n)
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        if frame.len() > self.max_frame {
            self.tx_dropped += 1;
            return Ok(());
        }
        let Some(sock) = self.socks.first_mut() else {
            self.tx_dropped += 1;
            return Ok(());
        };
        if !sock.queue(frame) {
            // Full rings or no free frame: flush what is queued and try once more.
            let _ = sock.flush();
            if !sock.queue(frame) {
                self.tx_dropped += 1;
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.mtu_read.elapsed() >= MTU_REFRESH {
            self.max_frame = max_frame_of(&self.name);
            self.mtu_read = std::time::Instant::now();
        }
        match self.socks.first_mut() {
            Some(s) => s.flush(),
            None => Ok(()),
        }
    }

    fn poll_fd(&self) -> RawFd {
        match (&self.epoll, self.socks.first()) {
            (Some(e), _) => e.as_raw_fd(),
            (None, Some(s)) => s.as_raw_fd(),
            (None, None) => -1,
        }
    }

    fn xdp(&mut self) -> Option<&mut XdpSteer> {
        Some(&mut self.steer)
    }

    fn tx_dropped(&self) -> u64 {
        self.tx_dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> Result<AfxdpOptions, AfxdpError> {
        AfxdpOptions::from_options(&pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
    }

    #[test]
    fn options_as_open_vswitch_names_them() {
        assert_eq!(opts(&[]).unwrap(), AfxdpOptions::default());
        let o = opts(&[("xdp-mode", "native-with-zerocopy"), ("n_rxq", "4")]).unwrap();
        assert_eq!(o, AfxdpOptions { attach: AttachMode::Native, zero_copy: true, n_rxq: Some(4) });
        assert_eq!(opts(&[("xdp-mode", "generic")]).unwrap().attach, AttachMode::Generic);
        assert_eq!(opts(&[("xdp-mode", "best-effort")]).unwrap().attach, AttachMode::Auto);
        let e = opts(&[("xdp-mode", "fast")]).unwrap_err();
        assert!(e.to_string().contains("xdp-mode=\"fast\""), "{e}");
        assert!(opts(&[("n_rxq", "0")]).is_err());
        assert!(opts(&[("n_rxq", "x")]).is_err());
    }

    #[test]
    fn missing_device_is_a_clear_error() {
        let e = AfxdpNetdev::open("nonexistent-if9").unwrap_err();
        assert!(e.to_string().contains("no interface named"), "{e}");
    }

    #[test]
    fn queue_count_of_a_missing_device_is_one() {
        assert_eq!(rx_queue_count("nonexistent-if9", 1), 1);
        // lo is always ifindex 1 in its namespace: a wrong index is not trusted.
        if ebpf::ifindex("lo").ok() == Some(1) {
            assert_eq!(rx_queue_count("lo", 77), 1);
        }
    }
}
