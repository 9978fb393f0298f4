//! The harness's XDP programs (benches/bpf/rate.bpf.c, built by build.rs) loaded with aya: the
//! live-frames generator on g0, the counting sink on k0 and the kernel-ceiling devmap forwarder
//! on s0. Programs are loaded here and attached from a thread inside the right namespace; the
//! attachments are bpf_links owned by the loaded objects, so they go when these are dropped (or
//! with the namespace).

use anyhow::{bail, Context, Result};
use aya::maps::{DevMap, MapData, PerCpuArray};
use aya::programs::{Xdp, XdpFlags};
use aya::{Ebpf, EbpfLoader};
use std::os::fd::AsFd;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::frame::{stamp, LAT_BUCKETS};
use super::netns::Netns;
use super::sys;

static OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/rate.bpf.o"));

fn load(nflows: u32) -> Result<Ebpf> {
    if OBJECT.is_empty() {
        bail!("the XDP programs were not built: install clang-19 (CLANG=...) and rebuild the benches crate");
    }
    EbpfLoader::new().set_global("nflows", &nflows, true).load(OBJECT).context("loading rate.bpf.o")
}

fn load_xdp<'a>(bpf: &'a mut Ebpf, name: &str) -> Result<&'a mut Xdp> {
    let prog: &mut Xdp =
        bpf.program_mut(name).with_context(|| format!("no program {name}"))?.try_into().context("not XDP")?;
    prog.load().with_context(|| format!("loading {name} (verifier)"))?;
    Ok(prog)
}

fn attach(ns: &Netns, prog: &mut Xdp, dev: &str) -> Result<()> {
    let ifindex = ns.link(dev)?.ifindex;
    ns.enter(|| {
        prog.attach_to_if_index(ifindex, XdpFlags::default()).with_context(|| format!("attaching XDP to {dev}"))?;
        Ok(())
    })
}

/// Sum over CPUs of the per-CPU u64 counters of `map`, from index 0 to `n` - 1.
fn per_cpu_sums(bpf: &Ebpf, map: &str, n: usize) -> Result<Vec<u64>> {
    let m: PerCpuArray<&MapData, u64> =
        PerCpuArray::try_from(bpf.map(map).with_context(|| format!("no map {map}"))?).context("map type")?;
    (0..n as u32).map(|i| Ok(m.get(&i, 0).with_context(|| format!("reading {map}[{i}]"))?.iter().sum())).collect()
}

/// The sink on k0: counts harness frames, their bytes and latencies; drops everything.
#[derive(Debug)]
pub struct Sink {
    bpf: Ebpf,
}

/// What the sink has counted since it was attached.
#[derive(Debug, Clone, Default)]
pub struct SinkCounters {
    pub packets: u64,
    pub bytes: u64,
    pub other: u64,
    pub future_ts: u64,
    pub latency: Vec<u64>,
}

impl SinkCounters {
    /// `self - before`, bucket by bucket.
    pub fn since(&self, before: &SinkCounters) -> SinkCounters {
        SinkCounters {
            packets: self.packets - before.packets,
            bytes: self.bytes - before.bytes,
            other: self.other - before.other,
            future_ts: self.future_ts - before.future_ts,
            latency: self
                .latency
                .iter()
                .enumerate()
                .map(|(i, v)| v - before.latency.get(i).copied().unwrap_or(0))
                .collect(),
        }
    }
}

impl Sink {
    pub fn attach(ns: &Netns, dev: &str) -> Result<Self> {
        let mut bpf = load(1)?;
        attach(ns, load_xdp(&mut bpf, "xdp_sink")?, dev)?;
        Ok(Sink { bpf })
    }

    pub fn read(&self) -> Result<SinkCounters> {
        let s = per_cpu_sums(&self.bpf, "sink_stats", 4)?;
        Ok(SinkCounters {
            packets: s[0],
            bytes: s[1],
            other: s[2],
            future_ts: s[3],
            latency: per_cpu_sums(&self.bpf, "sink_lat", LAT_BUCKETS)?,
        })
    }
}

/// The kernel ceiling: every frame arriving on s0 is redirected to s1 through a devmap.
#[derive(Debug)]
pub struct KernelForwarder {
    _bpf: Ebpf,
}

impl KernelForwarder {
    pub fn attach(ns: &Netns, from: &str, to: &str) -> Result<Self> {
        let mut bpf = load(1)?;
        let to_index = ns.link(to)?.ifindex;
        {
            let mut ports: DevMap<&mut MapData> =
                DevMap::try_from(bpf.map_mut("fwd_ports").context("no map fwd_ports")?).context("map type")?;
            // The devmap resolves the ifindex in the updater's namespace.
            ns.enter(|| ports.set(0, to_index, None, 0).context("devmap update"))?;
        }
        attach(ns, load_xdp(&mut bpf, "xdp_fwd")?, from)?;
        Ok(KernelForwarder { _bpf: bpf })
    }
}

/// How the generator paces its frames.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// As fast as BPF_PROG_RUN goes (calls of `FLAT_OUT_CALL` frames).
    FlatOut,
    /// This many frames per second, in bursts of `batch` frames.
    Rate(f64),
}

/// Sends for `duration` (stopping early on Ctrl-C): flat out in calls of `flat_out` frames, or
/// paced at `pace` in bursts of `burst`. `send(n)` sends n frames and says how many went (None:
/// interrupted). When late, a burst goes at once, with no catch-up beyond that: the achieved
/// rate is measured, not assumed.
pub fn paced(
    duration: Duration,
    pace: Pace,
    burst: u32,
    flat_out: u32,
    mut send: impl FnMut(u32) -> Result<Option<u64>>,
) -> Result<GenReport> {
    let start = Instant::now();
    let mut frames = 0u64;
    while start.elapsed() < duration {
        if sys::interrupted() {
            return Ok(GenReport { frames, elapsed: start.elapsed(), interrupted: true });
        }
        let n = match pace {
            Pace::FlatOut => flat_out,
            Pace::Rate(pps) => {
                let due = start + Duration::from_secs_f64(frames as f64 / pps);
                let now = Instant::now();
                if due > now {
                    std::thread::sleep(due - now);
                }
                burst
            }
        };
        match send(n)? {
            Some(sent) => frames += sent,
            None => return Ok(GenReport { frames, elapsed: start.elapsed(), interrupted: true }),
        }
    }
    Ok(GenReport { frames, elapsed: start.elapsed(), interrupted: false })
}

/// What one generator run did.
#[derive(Debug, Clone, Copy, Default)]
pub struct GenReport {
    /// Frames handed to the program (each XDP_TX'd out of g0 unless the veth dropped it).
    pub frames: u64,
    pub elapsed: Duration,
    /// Whether Ctrl-C cut the run short.
    pub interrupted: bool,
}

/// The generator: `xdp_gen` run with BPF_PROG_RUN on live frames, ingress g0, XDP_TX.
#[derive(Debug)]
pub struct Generator {
    bpf: Ebpf,
    frame: Vec<u8>,
    nflows: u32,
    cpu: Option<usize>,
    /// Whether the kernel runs XDP on live frames; if not, frames go out through AF_PACKET,
    /// stamped in userspace as `xdp_gen` stamps them (slower: the run is generator-bound).
    live: bool,
}

/// Frames per BPF_PROG_RUN call when running flat out (a few ms per call).
const FLAT_OUT_CALL: u32 = 4096;
/// Frames per kernel batch (xdp_do_flush) in flat-out mode (kernel maximum 256).
const BATCH: u32 = 64;

impl Generator {
    /// A generator of copies of `frame` spread over `nflows` flows.
    ///
    /// The program is also attached to `park` in `ns`, an interface that never receives (see
    /// [`super::netns::PARK`]): BPF_PROG_RUN with repeat > 1 puts the program into the kernel's
    /// XDP dispatcher and takes it out again around every call, two text patches plus RCU
    /// grace periods (~28 ms per call on the busy development machine, which halved the
    /// flat-out rate and made paced runs impossible); a program already attached stays in the
    /// dispatcher, so those calls cost nothing.
    pub fn new(frame: Vec<u8>, nflows: u32, ns: &Netns, park: &str) -> Result<Self> {
        let mut bpf = load(nflows.max(1))?;
        attach(ns, load_xdp(&mut bpf, "xdp_gen")?, park)?;
        Ok(Generator { bpf, frame, nflows: nflows.max(1), cpu: None, live: kernel_runs_live_frames() })
    }

    /// Runs the generator on this CPU only (with it the softirq work its frames cause on the
    /// peer s0), so that the switch can have the others.
    pub fn pin(&mut self, cpu: Option<usize>) {
        self.cpu = cpu;
    }

    /// Sends from `dev` in `ns` for `duration` (stops early on Ctrl-C).
    pub fn run(&self, ns: &Netns, dev: &str, duration: Duration, pace: Pace, burst: u32) -> Result<GenReport> {
        let ifindex = ns.link(dev)?.ifindex;
        let prog: &Xdp = self.bpf.program("xdp_gen").context("no xdp_gen")?.try_into().context("not XDP")?;
        let fd = prog.fd().context("xdp_gen not loaded")?.as_fd();
        let frame = &self.frame;
        let (cpu, live, nflows) = (self.cpu, self.live, self.nflows);
        ns.enter(move || {
            if let Some(c) = cpu {
                sys::pin_to_cpu(c).with_context(|| format!("pinning the generator to CPU {c}"))?;
            }
            if !live {
                return packet_tx(ifindex, frame, nflows, duration, pace, burst);
            }
            paced(duration, pace, burst, FLAT_OUT_CALL, |n| {
                match sys::xdp_live_frames(fd, ifindex, frame, n, n.min(BATCH)) {
                    Ok(()) => Ok(Some(u64::from(n))),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Ok(None),
                    Err(e) => Err(e).context("BPF_PROG_RUN (live frames) of xdp_gen"),
                }
            })
        })
    }
}

/// Whether this kernel runs XDP on live frames: probed once per process (every scenario makes
/// a generator), saying on stderr when it does not.
fn kernel_runs_live_frames() -> bool {
    static LIVE: OnceLock<bool> = OnceLock::new();
    *LIVE.get_or_init(|| match sys::probe_live_frames() {
        Ok(()) => true,
        Err(e) => {
            eprintln!(
                "rate: this kernel refuses BPF_PROG_RUN on live frames ({e}): the generator sends through \
                 AF_PACKET instead, so rates are bound by it"
            );
            false
        }
    })
}

/// Frames per [`paced`] step of the AF_PACKET generator when running flat out.
const PACKET_TX_CALL: u32 = 256;

/// The generator where live frames are refused: each frame stamped as `xdp_gen` stamps it and
/// sent out of `ifindex` through AF_PACKET (a full transmit queue counts the frame as not sent).
fn packet_tx(ifindex: u32, frame: &[u8], nflows: u32, duration: Duration, pace: Pace, burst: u32) -> Result<GenReport> {
    let tx = sys::PacketTx::new(ifindex).context("AF_PACKET socket for the generator")?;
    let mut f = frame.to_vec();
    let mut seq = 0u64;
    paced(duration, pace, burst, PACKET_TX_CALL, |n| {
        let mut sent = 0;
        for _ in 0..n {
            stamp(&mut f, seq, nflows, sys::monotonic_ns());
            seq += 1;
            match tx.send(&f) {
                Ok(true) => sent += 1,
                Ok(false) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => return Ok(None),
                Err(e) => return Err(e).context("AF_PACKET send of a generated frame"),
            }
        }
        Ok(Some(sent))
    })
}
