//! Packet-rate harness: ferrovs vs Open vSwitch vs the kernel's XDP forwarding, in one run, on
//! the same namespace topology (gen g0 <-> s0 switch s1 <-> k0 sink), with an XDP live-frames
//! generator and an XDP counting sink. Prints (and with --out writes) a markdown table with the
//! command of every row. Needs root; see BENCHMARKS.md "Packet rate".

use anyhow::{bail, Context, Result};
use benches::rate::frame::{self, udp_frame};
use benches::rate::gre::{self, GreRun};
use benches::rate::netns::{remove_stale, Topology, PARK};
use benches::rate::report::{notes, table, Row, RunCounts};
use benches::rate::switch::{softirq_seconds, Switch, SwitchKind, SwitchOptions};
use benches::rate::sys;
use benches::rate::tap;
use benches::rate::xdp::{Generator, Pace, Sink};
use clap::Parser;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

/// The scenarios, in priority order.
const SCENARIOS: [&str; 9] = [
    "64b-1flow",
    "64b-1kflows",
    "1500b-1flow",
    "64b-100kflows",
    "setup-1000kflows",
    "lat-10",
    "lat-50",
    "storm-100k",
    "idle",
];

#[derive(Debug, Parser)]
#[command(about = "ferrovs packet-rate harness: ferrovs, Open vSwitch and kernel XDP forwarding in one run")]
struct Args {
    /// Switches to measure (comma-separated: ferrovs,ovs,kernel).
    #[arg(long, default_value = "ferrovs,ovs,kernel", value_delimiter = ',')]
    switch: Vec<String>,
    /// Scenarios (comma-separated), "all" = 64b-1flow, 64b-1kflows, 1500b-1flow, 64b-100kflows,
    /// setup-1000kflows, lat-10, lat-50, storm-100k, idle. Any `<size>b-<n>flows` (frame size with
    /// FCS 62..=1518; n may end in k), `setup-<n>flows` (flow setup: megaflows disabled in both
    /// switches, so each of n new 64B UDP headers is an upcall; new flows per second),
    /// `storm-<n>` (latency of 64B frames at --pps, default 50000/s, while stock `ovs-ofctl
    /// add-flows` loads n flow_mods into the same table; n may end in k),
    /// `lat-<percent>` (paced at that share of the switch's 64b-1flow rate), `idle`,
    /// `gre-<size>b` (VM to VM over GRE between two switch processes, not in "all"),
    /// `neutron-gre-<size>b` (the same through Neutron's br-int, patch ports and br-tun with the
    /// agent's flow tables, not in "all"), or
    /// `tap-rx-<size>b` / `tap-tx-<size>b` (VM tap -> switch -> port and back, not in "all").
    #[arg(long, default_value = "all", value_delimiter = ',')]
    scenario: Vec<String>,
    /// Seconds of traffic per scenario (after a warm-up of up to 0.5 s).
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Seconds of the idle-CPU scenario.
    #[arg(long, default_value_t = 10.0)]
    idle_secs: f64,
    /// Also write the markdown report here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Directory with ferrovsd and ferrovs (default: this binary's directory).
    #[arg(long)]
    ferrovs_dir: Option<PathBuf>,
    /// Send the rate scenarios at this many frames per second instead of flat out (the
    /// latency scenarios are always paced at a share of the measured 64b-1flow rate).
    #[arg(long)]
    pps: Option<f64>,
    /// Pin the generator (and the softirq work on s0 it causes) to this CPU.
    #[arg(long)]
    gen_cpu: Option<usize>,
    /// Open vSwitch interface type of s0/s1.
    #[arg(long, default_value = "afxdp")]
    ovs_port_type: String,
    /// ferrovs interface type of the VM's tap in the tap scenarios (`tap`; `system` for the
    /// AF_PACKET port, to compare).
    #[arg(long, default_value = "tap")]
    ferrovs_tap_type: String,
    /// ferrovs's in-kernel XDP fast path: `on` (its default) or `off` (the userspace path
    /// alone: every frame through AF_XDP and the poll thread).
    #[arg(long, default_value = "on", value_parser = ["on", "off"])]
    ferrovs_offload: String,
}

/// One scenario's parameters.
#[derive(Debug, Clone, Copy)]
enum Scenario {
    Rate { size: usize, flows: u32 },
    Setup { flows: u32 },
    Storm { flow_mods: u32 },
    Latency { percent: u32 },
    Idle,
}

/// A scenario by name: `<size>b-<n>flow(s)` (n may end in k: thousands; size is the frame size
/// with FCS, 62..=1518), `lat-<percent>` (1..=100) or `idle`.
fn scenario(name: &str) -> Option<Scenario> {
    if name == "idle" {
        return Some(Scenario::Idle);
    }
    if let Some(p) = name.strip_prefix("lat-") {
        let percent: u32 = p.parse().ok()?;
        return (1..=100).contains(&percent).then_some(Scenario::Latency { percent });
    }
    let flow_count = |flows: &str| -> Option<u32> {
        let flows = flows.strip_suffix("flows").or_else(|| flows.strip_suffix("flow"))?;
        let n: u32 = match flows.strip_suffix('k') {
            Some(k) => k.parse::<u32>().ok()?.checked_mul(1000)?,
            None => flows.parse().ok()?,
        };
        (1..=10_000_000).contains(&n).then_some(n)
    };
    if let Some(flows) = name.strip_prefix("setup-") {
        return Some(Scenario::Setup { flows: flow_count(flows)? });
    }
    if let Some(n) = name.strip_prefix("storm-") {
        let n: u32 = match n.strip_suffix('k') {
            Some(k) => k.parse::<u32>().ok()?.checked_mul(1000)?,
            None => n.parse().ok()?,
        };
        return (1..=1_000_000).contains(&n).then_some(Scenario::Storm { flow_mods: n });
    }
    let (size, flows) = name.split_once("b-")?;
    let size: usize = size.parse().ok()?;
    let flows = flow_count(flows)?;
    let sizes = frame::MIN_LEN + frame::FCS_LEN..=frame::MAX_SIZE;
    sizes.contains(&size).then_some(Scenario::Rate { size, flows })
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("rate: {e:#}");
        std::process::exit(1);
    }
}

fn real_main() -> Result<()> {
    let args = Args::parse();
    let kinds: Vec<SwitchKind> = args
        .switch
        .iter()
        .map(|s| SwitchKind::parse(s).with_context(|| format!("unknown switch {s} (ferrovs, ovs, kernel)")))
        .collect::<Result<_>>()?;
    let names: Vec<String> = if args.scenario.iter().any(|s| s == "all") {
        SCENARIOS.iter().map(|s| (*s).to_owned()).collect()
    } else {
        for s in &args.scenario {
            if scenario(s).is_none() && gre::scenario(s).is_none() && tap::scenario(s).is_none() {
                bail!(
                    "unknown scenario {s}: <size>b-<n>flows (size 62..=1518 with FCS, n 1..=10000000, k = 1000), \
                     lat-<percent>, idle, gre-<size>b, neutron-gre-<size>b, tap-rx-<size>b, tap-tx-<size>b, or all = {}",
                    SCENARIOS.join(",")
                );
            }
        }
        args.scenario.clone()
    };
    if args.pps.is_some_and(|p| !(1.0..=1e9).contains(&p)) {
        bail!("--pps must be in [1, 1e9]");
    }
    if !(args.duration > 0.0 && args.duration <= 3600.0 && args.idle_secs > 0.0 && args.idle_secs <= 3600.0) {
        bail!("--duration and --idle-secs must be in (0, 3600]");
    }
    let ferrovs_dir = match &args.ferrovs_dir {
        Some(d) => d.clone(),
        None => std::env::current_exe()?.parent().context("no exe dir")?.to_path_buf(),
    };
    let opts = SwitchOptions {
        ferrovs_dir,
        ovs_port_type: args.ovs_port_type.clone(),
        ferrovs_tap_type: args.ferrovs_tap_type.clone(),
        ferrovs_offload: args.ferrovs_offload == "on",
    };
    sys::catch_interrupts();
    remove_stale();

    let started = run_text(&["date", "-u", "+%Y-%m-%d %H:%M UTC"]);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut rows = vec![];
    let mut details = vec![];
    let mut failures = vec![];
    for kind in kinds {
        if sys::interrupted() {
            break;
        }
        eprintln!("rate: {} ...", kind.name());
        if names.iter().any(|n| scenario(n).is_some()) {
            match measure_switch(kind, &names, &args, &opts, &mut rows) {
                Ok((detail, setup)) => details.push(format!("- {}: {detail}; {}", kind.name(), setup.join("; "))),
                Err(e) => {
                    eprintln!("rate: {}: {e:#}", kind.name());
                    failures.push(format!("- {}: FAILED: {e:#}", kind.name()));
                }
            }
        }
        let (pace, burst) = args.pps.map_or((Pace::FlatOut, 0), |p| (Pace::Rate(p), burst_for(p)));
        let run = GreRun {
            duration: Duration::from_secs_f64(args.duration),
            warmup: Duration::from_secs_f64(args.duration.min(0.5)),
            pace,
            burst,
            gen_cpu: args.gen_cpu,
        };
        for layout in gre::Layout::ALL {
            let gre_names: Vec<(String, usize, String)> = names
                .iter()
                .filter_map(|n| match gre::scenario(n) {
                    Some((l, size)) if l == layout => Some((n.clone(), size, row_command(kind, n, &args))),
                    _ => None,
                })
                .collect();
            if gre_names.is_empty() || sys::interrupted() {
                continue;
            }
            match gre::measure_gre(kind, layout, &gre_names, &opts, &run) {
                Ok((r, detail)) => {
                    rows.extend(r);
                    details.push(format!("- {} (GRE): {detail}", kind.name()));
                }
                Err(e) => {
                    eprintln!("rate: {} GRE: {e:#}", kind.name());
                    failures.push(format!("- {} (GRE): FAILED: {e:#}", kind.name()));
                }
            }
        }
        let tap_names: Vec<(String, tap::Direction, usize, String)> = names
            .iter()
            .filter_map(|n| tap::scenario(n).map(|(d, s)| (n.clone(), d, s, row_command(kind, n, &args))))
            .collect();
        if !tap_names.is_empty() && !sys::interrupted() {
            match tap::measure_tap(kind, &tap_names, &opts, &run) {
                Ok((r, detail)) => {
                    rows.extend(r);
                    details.push(format!("- {} (tap): {detail}", kind.name()));
                }
                Err(e) => {
                    eprintln!("rate: {} tap: {e:#}", kind.name());
                    failures.push(format!("- {} (tap): FAILED: {e:#}", kind.name()));
                }
            }
        }
    }
    let mut md = format!(
        "Run of {started}: kernel {}, {} CPUs, load average at start {}, duration {} s per scenario, generator {}.\n\n",
        run_text(&["uname", "-r"]),
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        args.duration,
        args.gen_cpu.map_or("unpinned".to_owned(), |c| format!("pinned to CPU {c}"))
    );
    md += &table(&rows);
    let load_end = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let _ = writeln!(
        md,
        "\nLoad average at the end: {}.",
        load_end.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
    md += "\nSwitches:\n";
    for d in details.iter().chain(&failures) {
        md += d;
        md += "\n";
    }
    let n = notes(&rows);
    if !n.is_empty() {
        md += "\nNotes:\n";
        for l in n {
            let _ = writeln!(md, "- {l}");
        }
    }
    if sys::interrupted() {
        md += "\nInterrupted: figures above are partial.\n";
    }
    print!("{md}");
    if let Some(p) = &args.out {
        std::fs::write(p, &md).with_context(|| format!("writing {}", p.display()))?;
    }
    if rows.is_empty() {
        bail!("nothing measured");
    }
    Ok(())
}

fn run_text(args: &[&str]) -> String {
    std::process::Command::new(args[0])
        .args(&args[1..])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// The command that reproduces one row.
fn row_command(kind: SwitchKind, scenario: &str, args: &Args) -> String {
    let mut c = format!("cargo run --release -p benches --bin rate -- --switch {} --scenario {scenario}", kind.name());
    if scenario == "idle" {
        let _ = write!(c, " --idle-secs {}", args.idle_secs);
    } else {
        let _ = write!(c, " --duration {}", args.duration);
        if let Some(cpu) = args.gen_cpu {
            let _ = write!(c, " --gen-cpu {cpu}");
        }
        if let Some(p) = args.pps.filter(|_| !scenario.starts_with("lat")) {
            let _ = write!(c, " --pps {p}");
        }
        if kind == SwitchKind::Ferrovs && scenario.starts_with("tap-") && args.ferrovs_tap_type != "tap" {
            let _ = write!(c, " --ferrovs-tap-type {}", args.ferrovs_tap_type);
        }
        if kind == SwitchKind::Ferrovs && args.ferrovs_offload == "off" {
            c.push_str(" --ferrovs-offload off");
        }
    }
    c
}

/// Runs every scenario on a fresh topology with `kind` as the switch; appends rows.
fn measure_switch(
    kind: SwitchKind,
    names: &[String],
    args: &Args,
    opts: &SwitchOptions,
    rows: &mut Vec<Row>,
) -> Result<(String, Vec<String>)> {
    let topo = Topology::new()?;
    let sink = Sink::attach(&topo.sink, "k0")?;
    let sw = Switch::start(kind, &topo.sw, opts)?;
    let g0 = topo.gen.link("g0")?;
    let k0 = topo.sink.link("k0")?;
    let duration = Duration::from_secs_f64(args.duration);
    let warmup = Duration::from_secs_f64(args.duration.min(0.5));
    // This switch's 64B 1-flow rate, for the latency scenarios.
    let mut capacity: Option<f64> = None;
    for name in names {
        let name = name.as_str();
        if sys::interrupted() {
            break;
        }
        let Some(sc) = scenario(name) else { continue };
        eprintln!("rate: {} {name}", kind.name());
        let command = row_command(kind, name, args);
        let row = match sc {
            Scenario::Rate { size, flows } => {
                let mut generator = Generator::new(udp_frame(size, g0.mac, k0.mac)?, flows, &topo.gen, PARK)?;
                generator.pin(args.gen_cpu);
                let (pace, burst) = args.pps.map_or((Pace::FlatOut, 0), |p| (Pace::Rate(p), burst_for(p)));
                generator.run(&topo.gen, "g0", warmup, pace, burst)?;
                let r = measure(&topo, &sw, &sink, &generator, duration, pace, burst)?;
                if name == "64b-1flow" && pace == Pace::FlatOut {
                    capacity = Some(r.forwarded_pps);
                }
                Row { scenario: name.into(), switch: kind.name().into(), command, ..r }
            }
            Scenario::Setup { flows } => {
                if kind == SwitchKind::Kernel {
                    continue;
                }
                let row = measure_setup(kind, &topo, &sw, &sink, flows, args, duration)?;
                Row { command, ..row }
            }
            Scenario::Storm { flow_mods } => {
                if kind == SwitchKind::Kernel {
                    continue;
                }
                let row = measure_storm(kind, &topo, &sw, &sink, flow_mods, args, duration)?;
                Row { command, ..row }
            }
            Scenario::Latency { percent } => {
                let mut generator = Generator::new(udp_frame(64, g0.mac, k0.mac)?, 1, &topo.gen, PARK)?;
                generator.pin(args.gen_cpu);
                let cap = if let Some(c) = capacity {
                    c
                } else {
                    generator.run(&topo.gen, "g0", warmup, Pace::FlatOut, 0)?;
                    let c = measure(&topo, &sw, &sink, &generator, duration, Pace::FlatOut, 0)?.forwarded_pps;
                    capacity = Some(c);
                    c
                };
                if cap <= 0.0 {
                    bail!("{} forwarded nothing at 64B: no latency to measure; log:\n{}", kind.name(), sw.log());
                }
                let pps = cap * f64::from(percent) / 100.0;
                let burst = burst_for(pps);
                generator.run(&topo.gen, "g0", warmup, Pace::Rate(pps), burst)?;
                let r = measure(&topo, &sw, &sink, &generator, duration, Pace::Rate(pps), burst)?;
                Row {
                    scenario: format!("{name} ({:.3} Mpps, bursts of {burst})", pps / 1e6),
                    switch: kind.name().into(),
                    command,
                    ..r
                }
            }
            Scenario::Idle => {
                let secs = args.idle_secs;
                let before = sw.cpu_seconds()?;
                let step = Duration::from_millis(100);
                let mut waited = Duration::ZERO;
                while waited.as_secs_f64() < secs && !sys::interrupted() {
                    std::thread::sleep(step);
                    waited += step;
                }
                let cores = (sw.cpu_seconds()? - before) / waited.as_secs_f64().max(0.1);
                Row {
                    scenario: "idle".into(),
                    switch: kind.name().into(),
                    cpu_cores: sw.has_process().then_some(cores),
                    command,
                    ..Row::default()
                }
            }
        };
        eprintln!("rate:   offered {:.3} Mpps, forwarded {:.3} Mpps", row.offered_pps / 1e6, row.forwarded_pps / 1e6);
        rows.push(row);
    }
    Ok((sw.detail.clone(), sw.setup.clone()))
}

/// Flow setup: with megaflows disabled in the switch (each megaflow is its packet's exact
/// header, Open vSwitch's `upcall/disable-megaflows`), `flows` different 64B UDP headers flat out,
/// each new to the switch (no warm-up, fewer frames than flows in the run unless the switch is
/// faster than the generator); the figure is upcalls per second. ferrovs's per-port upcall
/// limit is lifted for the run, Open vSwitch has none.
fn measure_setup(
    kind: SwitchKind,
    topo: &Topology,
    sw: &Switch,
    sink: &Sink,
    flows: u32,
    args: &Args,
    duration: Duration,
) -> Result<Row> {
    let g0 = topo.gen.link("g0")?;
    let k0 = topo.sink.link("k0")?;
    sw.appctl(&["upcall/disable-megaflows"])?;
    if kind == SwitchKind::Ferrovs {
        sw.appctl(&["dpif-netdev/upcall-rate", "0"])?;
    }
    let mut generator = Generator::new(udp_frame(64, g0.mac, k0.mac)?, flows, &topo.gen, PARK)?;
    generator.pin(args.gen_cpu);
    let before = sw.upcalls()?;
    let r = measure(topo, sw, sink, &generator, duration, Pace::FlatOut, 0);
    let after = sw.upcalls();
    sw.appctl(&["upcall/enable-megaflows"])?;
    if kind == SwitchKind::Ferrovs {
        sw.appctl(&["dpif-netdev/upcall-rate", "100000", "10000"])?;
    }
    let r = r?;
    let secs = duration.as_secs_f64();
    let setups = (after? - before) as f64 / secs;
    Ok(Row { scenario: format!("setup-{flows} ({setups:.0} new flows/s)"), switch: kind.name().into(), ..r })
}

/// Forwarding during a flow-table storm: 64B frames of the forwarded flow at a fixed rate
/// (`--pps`, default 50000/s, the same for every switch) while stock `ovs-ofctl add-flows` loads
/// `flow_mods` priority-1 flows into table 0 (Neutron-like VLAN + MAC matches that the
/// harness's frames never match, so the forwarding decision stays the same and only the cost of
/// applying the changes shows). The row gives the latency and loss while the storm lasts; the
/// label how long the storm took.
fn measure_storm(
    kind: SwitchKind,
    topo: &Topology,
    sw: &Switch,
    sink: &Sink,
    flow_mods: u32,
    args: &Args,
    duration: Duration,
) -> Result<Row> {
    use std::io::Write as _;
    let g0 = topo.gen.link("g0")?;
    let k0 = topo.sink.link("k0")?;
    let target = sw.ofctl_target().context("no OpenFlow socket")?;
    let file = std::env::temp_dir().join(format!("frate-storm-{}.txt", std::process::id()));
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&file)?);
        for i in 0..flow_mods {
            writeln!(
                f,
                "table=0,priority=1,dl_vlan={},dl_dst=fa:16:3e:{:02x}:{:02x}:{:02x},actions=strip_vlan,output:2",
                i % 4000 + 1,
                (i >> 16) & 0xff,
                (i >> 8) & 0xff,
                i & 0xff
            )?;
        }
    }
    let pps = args.pps.unwrap_or(50_000.0);
    let burst = burst_for(pps);
    let mut generator = Generator::new(udp_frame(64, g0.mac, k0.mac)?, 1, &topo.gen, PARK)?;
    generator.pin(args.gen_cpu);
    generator.run(&topo.gen, "g0", Duration::from_millis(500), Pace::Rate(pps), burst)?;
    let started = std::time::Instant::now();
    let mut storm = std::process::Command::new("ovs-ofctl")
        .arg("add-flows")
        .arg(&target)
        .arg(&file)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .context("running ovs-ofctl add-flows")?;
    let r = measure(topo, sw, sink, &generator, duration, Pace::Rate(pps), burst);
    // The storm is bounded: ovs-ofctl is killed if it outlasts the measurement by a minute.
    let deadline = started + duration + Duration::from_mins(1);
    let status = loop {
        if let Some(st) = storm.try_wait()? {
            break Some(st);
        }
        if std::time::Instant::now() > deadline {
            let _ = storm.kill();
            let _ = storm.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&file);
    if status.is_none_or(|s| !s.success()) {
        let mut err = String::new();
        if let Some(mut e) = storm.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut err);
        }
        bail!("ovs-ofctl add-flows {target} failed: {err}; switch log:\n{}", sw.log());
    }
    // Back to the one forwarding flow for the next scenario.
    let _ = std::process::Command::new("ovs-ofctl").args(["del-flows", &target, "vlan_tci=0x1000/0x1000"]).status();
    let r = r?;
    let within = if took <= duration.as_secs_f64() { "within" } else { "outlasting" };
    Ok(Row {
        scenario: format!(
            "storm-{flow_mods} ({:.3} Mpps, {flow_mods} flow_mods in {took:.1} s, {within} the run)",
            pps / 1e6
        ),
        switch: kind.name().into(),
        ..r
    })
}

/// Frames per burst when paced at `pps`: bursts at most every 100 µs (sleep granularity),
/// 1..=64 frames.
fn burst_for(pps: f64) -> u32 {
    (pps * 100e-6).ceil().clamp(1.0, 64.0) as u32
}

/// One timed generator run and the counters around it.
fn measure(
    topo: &Topology,
    sw: &Switch,
    sink: &Sink,
    generator: &Generator,
    duration: Duration,
    pace: Pace,
    burst: u32,
) -> Result<Row> {
    let s0_before = topo.sw.counters("s0")?;
    let sink_before = sink.read()?;
    let cpu_before = sw.cpu_seconds()?;
    let softirq_before = softirq_seconds()?;
    let g = generator.run(&topo.gen, "g0", duration, pace, burst)?;
    // Let frames in flight (rings, switch queues) arrive.
    std::thread::sleep(Duration::from_millis(200));
    let cpu = sw.cpu_seconds()? - cpu_before;
    let softirq = softirq_seconds()? - softirq_before;
    let got = sink.read()?.since(&sink_before);
    let s0 = topo.sw.counters("s0")?;
    Ok(Row::from_run(&RunCounts {
        elapsed: g.elapsed,
        sent: g.frames,
        offered: s0.rx_packets - s0_before.rx_packets,
        got: &got,
        cpu: sw.has_process().then_some(cpu),
        softirq,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_scenario_is_known_and_bursts_stay_in_range() {
        for name in SCENARIOS {
            assert!(scenario(name).is_some(), "{name}");
        }
        assert!(matches!(scenario("128b-5kflows"), Some(Scenario::Rate { size: 128, flows: 5000 })));
        assert!(matches!(scenario("lat-90"), Some(Scenario::Latency { percent: 90 })));
        assert!(matches!(scenario("setup-500kflows"), Some(Scenario::Setup { flows: 500_000 })));
        assert!(matches!(scenario("storm-100k"), Some(Scenario::Storm { flow_mods: 100_000 })));
        for bad in [
            "setup-0flows",
            "setup-",
            "64b",
            "61b-1flow",
            "1519b-1flow",
            "64b-0flows",
            "64b-xflows",
            "lat-0",
            "lat-101",
            "64b-1flo",
        ] {
            assert!(scenario(bad).is_none(), "{bad}");
        }
        assert_eq!(burst_for(1.0), 1);
        assert_eq!(burst_for(50_000.0), 5);
        assert_eq!(burst_for(1e9), 64);
    }

    #[test]
    fn row_commands_reproduce_the_run_options() {
        let args = Args::parse_from(["rate", "--duration", "2", "--pps", "30000", "--gen-cpu", "0"]);
        assert_eq!(
            row_command(SwitchKind::Ovs, "64b-1flow", &args),
            "cargo run --release -p benches --bin rate -- --switch ovs --scenario 64b-1flow --duration 2 --gen-cpu 0 \
             --pps 30000"
        );
        assert_eq!(
            row_command(SwitchKind::Ferrovs, "lat-10", &args),
            "cargo run --release -p benches --bin rate -- --switch ferrovs --scenario lat-10 --duration 2 --gen-cpu 0"
        );
    }
}
