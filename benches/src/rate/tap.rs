//! The VM (tap) path scenarios (issue 6): a tap device `vt0` in the switch namespace whose
//! /dev/net/tun descriptor the harness holds as qemu holds a VM's (non-blocking, `IFF_VNET_HDR`),
//! added to the switch the way a user adds a VM's tap (ferrovs: `type=tap`; Open vSwitch: a
//! plain port, i.e. netdev-linux over an AF_PACKET socket).
//!
//! - `tap-rx-<size>b` (VM -> switch -> port): a "VM" thread writes frames into the descriptor,
//!   one write(2) each as qemu's userspace virtio backend does; the switch forwards them from
//!   vt0 to s1; the XDP sink on k0 counts them.
//! - `tap-tx-<size>b` (port -> switch -> VM): the XDP generator sends into s0; the switch
//!   forwards them to vt0; a "VM" thread reads the descriptor and counts harness frames and
//!   their latency (the same buckets as the XDP sink; timestamps are CLOCK_MONOTONIC on both
//!   ends).
//!
//! Both directions run on one switch instance with ports s0 = 1, s1 = 2, vt0 = 3 and the flows
//! `in_port=3,actions=output:2` and `in_port=1,actions=output:3`.

use anyhow::{bail, Context, Result};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::frame::{lat_bucket, udp_frame, LAT_BUCKETS, MAGIC};
use super::gre::GreRun;
use super::netns::{Topology, PARK};
use super::report::{Row, RunCounts};
use super::switch::{softirq_seconds, Switch, SwitchKind, SwitchOptions};
use super::sys;
use super::xdp::{paced, GenReport, Generator, Pace, Sink, SinkCounters};

/// The VM's tap device.
pub const TAP: &str = "vt0";
/// Its OpenFlow port.
const TAP_OFPORT: &str = "3";
/// The VM's MAC address (source of what it sends, destination of what it gets).
const VM_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x0f, 0x01];
/// Offset of the payload's timestamp in a frame (after Ethernet, IPv4, UDP, magic and flow).
const TS_OFFSET: usize = 14 + 20 + 8 + 8;
/// Offset of the payload's magic.
const MAGIC_OFFSET: usize = 14 + 20 + 8;

/// Which way frames cross the switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// VM -> switch -> port.
    Rx,
    /// Port -> switch -> VM.
    Tx,
}

/// A scenario by name: `tap-rx-<size>b` or `tap-tx-<size>b` (size with FCS, as the others).
pub fn scenario(name: &str) -> Option<(Direction, usize)> {
    let rest = name.strip_prefix("tap-")?;
    let (dir, size) = if let Some(s) = rest.strip_prefix("rx-") {
        (Direction::Rx, s)
    } else {
        (Direction::Tx, rest.strip_prefix("tx-")?)
    };
    let size: usize = size.strip_suffix('b')?.parse().ok()?;
    let sizes = super::frame::MIN_LEN + super::frame::FCS_LEN..=super::frame::MAX_SIZE;
    sizes.contains(&size).then_some((dir, size))
}

/// What the VM's reader has counted, shared with its thread.
#[derive(Debug)]
struct Counts {
    packets: AtomicU64,
    bytes: AtomicU64,
    other: AtomicU64,
    future_ts: AtomicU64,
    latency: Vec<AtomicU64>,
}

impl Counts {
    fn snapshot(&self) -> SinkCounters {
        SinkCounters {
            packets: self.packets.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            other: self.other.load(Ordering::Relaxed),
            future_ts: self.future_ts.load(Ordering::Relaxed),
            latency: self.latency.iter().map(|v| v.load(Ordering::Relaxed)).collect(),
        }
    }

    fn count(&self, frame: &[u8]) {
        let magic = frame.get(MAGIC_OFFSET..MAGIC_OFFSET + 4).map(|m| u32::from_ne_bytes([m[0], m[1], m[2], m[3]]));
        let ts = frame.get(TS_OFFSET..TS_OFFSET + 8).map(|t| {
            let mut b = [0; 8];
            b.copy_from_slice(t);
            u64::from_ne_bytes(b)
        });
        let (Some(MAGIC), Some(ts)) = (magic, ts) else {
            self.other.fetch_add(1, Ordering::Relaxed);
            return;
        };
        self.packets.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(frame.len() as u64, Ordering::Relaxed);
        let now = sys::monotonic_ns();
        if ts > now {
            self.future_ts.fetch_add(1, Ordering::Relaxed);
        } else {
            self.latency[lat_bucket(now - ts)].fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The VM's end of the tap: the descriptor, and the thread that reads and counts what the
/// switch sends it (stopped on drop).
#[derive(Debug)]
struct Vm {
    fd: Arc<OwnedFd>,
    counts: Arc<Counts>,
    stop: Arc<AtomicBool>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Vm {
    /// Creates the tap in `ns`, brings it up and starts the reader (pinned to `cpu`, the
    /// generator's: the VM's work stays off the switch's CPUs, in both directions).
    fn start(ns: &super::netns::Netns, cpu: Option<usize>) -> Result<Self> {
        let fd = Arc::new(ns.enter(|| sys::tap_create(TAP).with_context(|| format!("creating tap {TAP}")))?);
        ns.sh(&["ip", "link", "set", TAP, "up"])?;
        let counts = Arc::new(Counts {
            packets: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            other: AtomicU64::new(0),
            future_ts: AtomicU64::new(0),
            latency: (0..LAT_BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let reader = {
            let (fd, counts, stop) = (Arc::clone(&fd), Arc::clone(&counts), Arc::clone(&stop));
            std::thread::Builder::new().name("vm-reader".into()).spawn(move || {
                if let Some(c) = cpu {
                    if let Err(e) = sys::pin_to_cpu(c) {
                        eprintln!("rate: VM reader: pinning to CPU {c}: {e}");
                    }
                }
                let mut buf = vec![0u8; 65536];
                while !stop.load(Ordering::Relaxed) {
                    match sys::read_frame(fd.as_raw_fd(), &mut buf) {
                        Ok(Some(n)) => counts.count(buf.get(sys::VNET_HDR_LEN..n).unwrap_or_default()),
                        Ok(None) => sys::wait_readable(fd.as_raw_fd(), 20),
                        Err(e) => {
                            eprintln!("rate: VM reader: {e}");
                            break;
                        }
                    }
                }
            })?
        };
        Ok(Vm { fd, counts, stop, reader: Some(reader) })
    }

    /// Writes `frame` (with a zero virtio_net_hdr in front and a fresh timestamp in each copy)
    /// for `duration`, from a thread pinned to `cpu`, flat out or paced in bursts.
    fn write(&self, frame: &[u8], duration: Duration, pace: Pace, burst: u32, cpu: Option<usize>) -> Result<GenReport> {
        let mut buf = vec![0u8; sys::VNET_HDR_LEN];
        buf.extend_from_slice(frame);
        let at = sys::VNET_HDR_LEN + TS_OFFSET;
        if buf.len() < at + 8 {
            bail!("frame too short for the timestamp");
        }
        let fd = self.fd.as_raw_fd();
        std::thread::scope(|s| {
            s.spawn(move || {
                if let Some(c) = cpu {
                    sys::pin_to_cpu(c).with_context(|| format!("pinning the VM writer to CPU {c}"))?;
                }
                paced(duration, pace, burst, 256, |n| {
                    let mut sent = 0;
                    for _ in 0..n {
                        buf[at..at + 8].copy_from_slice(&sys::monotonic_ns().to_ne_bytes());
                        if sys::write_frame(fd, &buf).context("VM write into the tap")? {
                            sent += 1;
                        }
                    }
                    Ok(Some(sent))
                })
            })
            .join()
            .map_err(|_| anyhow::anyhow!("VM writer panicked"))?
        })
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.reader.take() {
            let _ = h.join();
        }
    }
}

/// Runs the tap scenarios for `kind`; returns their rows and the report's detail line.
/// `scenarios` are (name, direction, frame size, reproducing command).
pub fn measure_tap(
    kind: SwitchKind,
    scenarios: &[(String, Direction, usize, String)],
    opts: &SwitchOptions,
    run_opts: &GreRun,
) -> Result<(Vec<Row>, String)> {
    if kind == SwitchKind::Kernel {
        bail!("no kernel ceiling for the tap scenarios");
    }
    let topo = Topology::new()?;
    let sink = Sink::attach(&topo.sink, "k0")?;
    // The VM first: the switch attaches to an existing tap.
    let vm = Vm::start(&topo.sw, run_opts.gen_cpu)?;
    let mut sw = Switch::start(kind, &topo.sw, opts)?;
    let ofport = format!("ofport_request={TAP_OFPORT}");
    let tap_type = format!("type={}", opts.ferrovs_tap_type);
    let mut add = vec!["add-port", "br0", TAP, "--", "set", "interface", TAP];
    if kind == SwitchKind::Ferrovs {
        add.push(&tap_type);
    }
    add.push(&ofport);
    sw.vsctl(&add)?;
    let port = sw.vsctl(&["get", "interface", TAP, "ofport"])?;
    sw.setup.pop();
    if port.trim() != TAP_OFPORT {
        let err = sw.vsctl(&["get", "interface", TAP, "error"]).unwrap_or_default();
        bail!("{TAP}: ofport {} error {}; log:\n{}", port.trim(), err.trim(), sw.log());
    }
    sw.ofctl(&["del-flows", "br0"])?;
    sw.ofctl(&["add-flow", "br0", &format!("in_port={TAP_OFPORT},actions=output:2")])?;
    sw.ofctl(&["add-flow", "br0", &format!("in_port=1,actions=output:{TAP_OFPORT}")])?;
    let g0 = topo.gen.link("g0")?;
    let k0 = topo.sink.link("k0")?;
    let mut rows = vec![];
    let mut vm_drops = vec![];
    for (name, dir, size, command) in scenarios {
        if sys::interrupted() {
            break;
        }
        eprintln!("rate: {} {name}", kind.name());
        let (pace, burst, warmup) = (run_opts.pace, run_opts.burst, run_opts.warmup);
        let generator = if *dir == Direction::Tx {
            let mut g = Generator::new(udp_frame(*size, g0.mac, VM_MAC)?, 1, &topo.gen, PARK)?;
            g.pin(run_opts.gen_cpu);
            Some(g)
        } else {
            None
        };
        let vm_frame = udp_frame(*size, VM_MAC, k0.mac)?;
        let send = |d: Duration| match &generator {
            Some(g) => g.run(&topo.gen, "g0", d, pace, burst),
            None => vm.write(&vm_frame, d, pace, burst, run_opts.gen_cpu),
        };
        let count = || -> Result<SinkCounters> {
            match dir {
                Direction::Rx => sink.read(),
                Direction::Tx => Ok(vm.counts.snapshot()),
            }
        };
        send(warmup)?;
        let s0_before = topo.sw.counters("s0")?;
        let tap_before = topo.sw.counters(TAP)?;
        let got_before = count()?;
        let cpu_before = sw.cpu_seconds()?;
        let softirq_before = softirq_seconds()?;
        let g = send(run_opts.duration)?;
        std::thread::sleep(Duration::from_millis(200));
        let cpu = sw.cpu_seconds()? - cpu_before;
        let softirq = softirq_seconds()? - softirq_before;
        let got = count()?.since(&got_before);
        let s0 = topo.sw.counters("s0")?;
        let tap = topo.sw.counters(TAP)?;
        let secs = g.elapsed.as_secs_f64().max(1e-9);
        let row = Row {
            scenario: name.clone(),
            switch: kind.name().into(),
            command: command.clone(),
            ..Row::from_run(&RunCounts {
                elapsed: g.elapsed,
                sent: g.frames,
                // The VM's writes are offered as they are sent.
                offered: match dir {
                    Direction::Rx => g.frames,
                    Direction::Tx => s0.rx_packets - s0_before.rx_packets,
                },
                got: &got,
                cpu: Some(cpu),
                softirq,
            })
        };
        if *dir == Direction::Tx {
            vm_drops.push(format!(
                "{name}: the switch sent {:.3} Mpps into {TAP}, {:.3} Mpps of them dropped there for want of room in \
                 the VM's queue (the VM reads one frame per system call)",
                (tap.tx_packets + tap.tx_dropped - tap_before.tx_packets - tap_before.tx_dropped) as f64 / secs / 1e6,
                (tap.tx_dropped - tap_before.tx_dropped) as f64 / secs / 1e6
            ));
        }
        eprintln!("rate:   offered {:.3} Mpps, forwarded {:.3} Mpps", row.offered_pps / 1e6, row.forwarded_pps / 1e6);
        rows.push(row);
    }
    let opened = sw.log_lines(&[&format!("{TAP}: ")]);
    let detail = format!(
        "VM (tap) path: {TAP} (VM side held by the harness, non-blocking, IFF_VNET_HDR) = port {TAP_OFPORT}, s0 = 1, \
         s1 = 2; {}{}; {}{}",
        sw.detail,
        if opened.is_empty() { String::new() } else { format!(" ({})", opened.join("; ")) },
        sw.setup.join("; "),
        if vm_drops.is_empty() { String::new() } else { format!("; {}", vm_drops.join("; ")) }
    );
    drop(sw);
    drop(vm);
    Ok((rows, detail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tap_scenario_names() {
        assert_eq!(scenario("tap-rx-64b"), Some((Direction::Rx, 64)));
        assert_eq!(scenario("tap-tx-1500b"), Some((Direction::Tx, 1500)));
        for bad in ["tap-64b", "tap-rx-61b", "tap-tx-1519b", "tap-rx-64", "tap-xx-64b", "gre-64b"] {
            assert_eq!(scenario(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_vm_counts_harness_frames_only() {
        let c = Counts {
            packets: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            other: AtomicU64::new(0),
            future_ts: AtomicU64::new(0),
            latency: (0..LAT_BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        };
        let mut f = udp_frame(64, VM_MAC, VM_MAC).unwrap_or_default();
        f[TS_OFFSET..TS_OFFSET + 8].copy_from_slice(&sys::monotonic_ns().to_ne_bytes());
        c.count(&f);
        c.count(&f[..20]);
        let s = c.snapshot();
        assert_eq!((s.packets, s.bytes, s.other, s.future_ts), (1, 60, 1, 0));
        assert_eq!(s.latency.iter().sum::<u64>(), 1);
    }
}
