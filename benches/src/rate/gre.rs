//! The GRE VM-to-VM scenarios (issue 6): gen ns (g0) -> host A (VM port a0) -> GRE over the
//! physical veth pa <-> pb -> host B (decapsulation, VM port b0) -> sink ns (k0), with one switch
//! process per host, both of the same kind (two ferrovsd or two ovs-vswitchd). Each host has
//! br-phy (NORMAL; `br-phy-a`, `br-phy-b`) with the physical port and the host address
//! 172.31.1.N/24 on its internal port, as in Open vSwitch's userspace tunnelling docs. Above it,
//! one of two [`Layout`]s:
//!
//! - `gre-<size>b` ([`Layout::Flat`]): br-int holds the VM port and a `gre0` port (`remote_ip` =
//!   the other host, `key=5`), with one flow each way;
//! - `neutron-gre-<size>b` ([`Layout::Neutron`]): what neutron-openvswitch-agent builds. br-int
//!   (fail-mode secure) holds the VM port as an access port (`tag=1`) and `patch-tun`, with the
//!   agent's tables ending in NORMAL; br-tun (fail-mode secure) holds `patch-int` and `gre0`
//!   (`in_key=flow`, `out_key=flow`) with the agent's tables ([`crate::neutron_agent`]: 0, 2, 3,
//!   10 with learn, 20, 22) for segment 5 on local VLAN 1, and on host A l2population's unicast
//!   flow to the sink's MAC. Every frame crosses two bridges and a patch port on each host, is
//!   tagged and untagged on the way, and host B learns its source into table 20.
//!
//! The sink counts harness frames by their payload marker at the fixed offset of a plain UDP
//! frame, so a frame still encapsulated or still tagged is counted as "other", never as
//! forwarded.

use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use super::frame::udp_frame;
use super::netns::{ip, run, Netns, PARK};
use super::report::{Row, RunCounts};
use super::switch::{
    cpu_ticks, log_tail, ovs_env, softirq_seconds, spawn_ferrovsd, spawn_ovs, wait_until, Proc, SwitchKind,
    SwitchOptions, TempDir,
};
use super::sys;
use super::xdp::{Generator, Pace, Sink};

/// Underlay addresses of host A and host B.
const HOST_IP: [&str; 2] = ["172.31.1.1", "172.31.1.2"];
/// MTU of the physical veths: a 1514-byte VM frame plus 42 bytes of outer Ethernet, IPv4 and
/// GRE-with-key headers, and under the veth's native XDP limit.
const WIRE_MTU: &str = "1600";
/// The underlay bridges of host A and host B: named apart, since ferrovs derives an internal
/// port's MAC address from the bridge name and the two hosts must not share one.
const BR_PHY: [&str; 2] = ["br-phy-a", "br-phy-b"];
/// The GRE key both hosts use (the Neutron layout's segmentation id).
const KEY: &str = "5";
/// The Neutron layout's local VLAN of the network, on both hosts.
const LOCAL_VLAN: u16 = 1;
/// Hard timeout of the flows br-tun learns (Neutron's default).
const LEARN_HARD_TIMEOUT: u32 = 300;

/// How each host's bridges above br-phy are laid out (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// br-int with the VM port and the GRE port, one flow each way.
    Flat,
    /// neutron-openvswitch-agent's br-int and br-tun, joined by patch ports.
    Neutron,
}

impl Layout {
    /// Both layouts, in the order the harness runs them.
    pub const ALL: [Layout; 2] = [Layout::Flat, Layout::Neutron];

    fn prefix(self) -> &'static str {
        match self {
            Layout::Flat => "gre-",
            Layout::Neutron => "neutron-gre-",
        }
    }
}

/// A scenario by name: `gre-<size>b` or `neutron-gre-<size>b` (size with FCS, as the other
/// scenarios).
pub fn scenario(name: &str) -> Option<(Layout, usize)> {
    let layout = if name.starts_with(Layout::Neutron.prefix()) { Layout::Neutron } else { Layout::Flat };
    let size: usize = name.strip_prefix(layout.prefix())?.strip_suffix('b')?.parse().ok()?;
    let sizes = super::frame::MIN_LEN + super::frame::FCS_LEN..=super::frame::MAX_SIZE;
    sizes.contains(&size).then_some((layout, size))
}

/// The namespaces of the scenario, deleted on drop.
#[derive(Debug)]
pub struct GreTopology {
    pub gen: Netns,
    pub hosts: [Netns; 2],
    pub sink: Netns,
}

fn veth(a: &Netns, a_dev: &str, b: &Netns, b_dev: &str) -> Result<()> {
    ip(&["link", "add", a_dev, "netns", &a.name, "type", "veth", "peer", "name", b_dev, "netns", &b.name])?;
    a.sh(&["ip", "link", "set", a_dev, "up"])?;
    b.sh(&["ip", "link", "set", b_dev, "up"])?;
    Ok(())
}

impl GreTopology {
    pub fn new() -> Result<Self> {
        let t = GreTopology {
            gen: Netns::new("gen")?,
            hosts: [Netns::new("gha")?, Netns::new("ghb")?],
            sink: Netns::new("sink")?,
        };
        veth(&t.gen, "g0", &t.hosts[0], "a0")?;
        t.gen.sh(&["ip", "link", "add", PARK, "type", "veth", "peer", "name", "gpark1"])?;
        veth(&t.hosts[0], "pa", &t.hosts[1], "pb")?;
        veth(&t.hosts[1], "b0", &t.sink, "k0")?;
        for (h, dev) in [(0, "pa"), (1, "pb")] {
            t.hosts[h].sh(&["ip", "link", "set", dev, "mtu", WIRE_MTU])?;
        }
        // NAPI on every veth a switch receives on (see netns::Topology::new).
        for (h, dev) in [(0, "a0"), (0, "pa"), (1, "pb"), (1, "b0")] {
            t.hosts[h].sh(&["ethtool", "-K", dev, "gro", "on"])?;
        }
        // The kernel also sees frames arriving on the physical veth: ARP is answered only on
        // the interface that has the address (br-phy's internal port).
        for h in &t.hosts {
            h.sh(&["sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=1"])?;
            h.sh(&["sysctl", "-qw", "net.ipv4.conf.all.arp_announce=2"])?;
        }
        Ok(t)
    }
}

/// How to talk to one host's switch.
#[derive(Debug)]
enum Ctl {
    Ferrovs { cli: PathBuf },
    Ovs,
}

/// One host's switch: its processes (stopped on drop, before the temp dir goes).
#[derive(Debug)]
struct Host {
    procs: Vec<Proc>,
    ctl: Ctl,
    dir: TempDir,
    log: PathBuf,
    setup: Vec<String>,
}

impl Host {
    fn env(&self, c: &mut Command) {
        ovs_env(c, &self.dir.0);
    }

    /// A configuration command (`ovs-vsctl` syntax), recorded for the report.
    fn vsctl(&mut self, args: &[&str]) -> Result<String> {
        let out = self.query(args)?;
        let tool = if matches!(self.ctl, Ctl::Ovs) { "ovs-vsctl" } else { "ferrovs" };
        self.setup.push(format!("{tool} {}", args.join(" ")));
        Ok(out)
    }

    /// A configuration query (`ovs-vsctl` syntax), not recorded.
    fn query(&self, args: &[&str]) -> Result<String> {
        let mut c = match &self.ctl {
            Ctl::Ferrovs { cli } => {
                let mut c = Command::new(cli);
                c.arg("--rundir").arg(&self.dir.0);
                c
            }
            Ctl::Ovs => {
                let mut c = Command::new("ovs-vsctl");
                self.env(&mut c);
                c.arg(format!("--db=unix:{}", self.dir.0.join("db.sock").display())).arg("--timeout=20");
                c
            }
        };
        run(c.args(args)).with_context(|| format!("switch log:\n{}", log_tail(&self.log)))
    }

    fn ofctl(&mut self, args: &[&str]) -> Result<()> {
        let mut c = match &self.ctl {
            Ctl::Ferrovs { cli } => {
                let mut c = Command::new(cli);
                c.arg("--rundir").arg(&self.dir.0).arg("ofctl");
                c
            }
            Ctl::Ovs => {
                let mut c = Command::new("ovs-ofctl");
                self.env(&mut c);
                c
            }
        };
        run(c.args(args)).with_context(|| format!("switch log:\n{}", log_tail(&self.log)))?;
        let tool = if matches!(self.ctl, Ctl::Ovs) { "ovs-ofctl" } else { "ferrovs ofctl" };
        self.setup.push(format!("{tool} {}", args.join(" ")));
        Ok(())
    }

    /// Loads `flows` into `bridge` the way the Neutron agent does, for both kinds of switch:
    /// stock `ovs-ofctl -O OpenFlow13 add-flows` from a file, over the bridge's management socket.
    fn add_flows(&mut self, bridge: &str, flows: &[String]) -> Result<()> {
        let file = self.dir.0.join(format!("{bridge}.flows"));
        std::fs::write(&file, flows.join("\n") + "\n")?;
        let target = format!("unix:{}", self.dir.0.join(format!("{bridge}.mgmt")).display());
        let file = file.display().to_string();
        run(Command::new("ovs-ofctl").args(["-O", "OpenFlow13", "add-flows", &target, &file]))
            .with_context(|| format!("{bridge} flows {flows:?}; switch log:\n{}", log_tail(&self.log)))?;
        self.setup.push(format!("ovs-ofctl -O OpenFlow13 add-flows {bridge} <{} flows>", flows.len()));
        Ok(())
    }

    /// A port's OpenFlow number, checked.
    fn ofport(&self, n: usize, dev: &str) -> Result<String> {
        let p = self.query(&["get", "interface", dev, "ofport"])?.trim().to_owned();
        if p.parse::<u16>().map_or(true, |p| p == 0 || p == 0xffff) {
            bail!("host {n}: port {dev} without an OpenFlow number ({p}); log:\n{}", log_tail(&self.log));
        }
        Ok(p)
    }

    fn appctl(&self, args: &[&str]) -> Result<String> {
        let mut c = match &self.ctl {
            Ctl::Ferrovs { cli } => {
                let mut c = Command::new(cli);
                c.arg("--rundir").arg(&self.dir.0).arg("appctl");
                c
            }
            Ctl::Ovs => {
                let mut c = Command::new("ovs-appctl");
                c.arg("-t").arg(self.dir.0.join("ovs-vswitchd.ctl"));
                c
            }
        };
        run(c.args(args))
    }

    fn cpu_ticks(&self) -> Result<u64> {
        self.procs.iter().map(|p| cpu_ticks(p.pid())).sum()
    }
}

fn start_ferrovs(ns: &Netns, opts: &SwitchOptions, tag: &str) -> Result<Host> {
    let dir = TempDir::new(&format!("gre-ferrovs-{tag}"))?;
    let log = dir.0.join("ferrovsd.log");
    let (proc, cli) = spawn_ferrovsd(ns, &opts.ferrovs_dir, &dir.0, opts.ferrovs_offload)?;
    Ok(Host { procs: vec![proc], ctl: Ctl::Ferrovs { cli }, dir, log, setup: vec![] })
}

fn start_ovs(ns: &Netns, tag: &str) -> Result<Host> {
    let dir = TempDir::new(&format!("gre-ovs-{tag}"))?;
    let procs = spawn_ovs(ns, &dir.0)?;
    let log = dir.0.join("ovs-vswitchd.log");
    Ok(Host { procs, ctl: Ctl::Ovs, dir, log, setup: vec![] })
}

/// `-- set interface DEV type=...` for Open vSwitch; ferrovs picks the port kind itself.
fn typed<'a>(ovs: bool, dev: &'a str, port_type: &'a str) -> Vec<&'a str> {
    if ovs {
        vec!["--", "set", "interface", dev, port_type]
    } else {
        vec![]
    }
}

/// What [`configure`] needs to know of one host.
struct HostPorts<'a> {
    /// 0 = A, the encapsulating side; 1 = B.
    n: usize,
    phy: &'a str,
    vm: &'a str,
    /// `type=...` of the physical and VM ports (Open vSwitch only).
    port_type: &'a str,
    /// The sink's MAC address (l2population's unicast flow on host A).
    sink_mac: &'a str,
}

/// Configures one host: br-phy with the physical port and the host address, then the layout's
/// bridges and flows.
fn configure(h: &mut Host, ns: &Netns, layout: Layout, p: &HostPorts) -> Result<()> {
    let (n, ovs) = (p.n, matches!(h.ctl, Ctl::Ovs));
    let me = HOST_IP[n];
    let br_phy = BR_PHY[n];
    let mut args = add_br(ovs, br_phy, false);
    args.extend(["--", "add-port", br_phy, p.phy]);
    args.extend(typed(ovs, p.phy, p.port_type));
    h.vsctl(&args)?;
    ns.sh(&["ip", "addr", "add", &format!("{me}/24"), "dev", br_phy])?;
    ns.sh(&["ip", "link", "set", br_phy, "up"])?;
    let route = |h: &Host| h.appctl(&["ovs/route/show"]).unwrap_or_default().contains("172.31.1.0/24");
    if !wait_until(Duration::from_secs(10), || route(h)) {
        bail!(
            "host {n}: the switch did not learn the underlay route: {}\nlog:\n{}",
            h.appctl(&["ovs/route/show"]).unwrap_or_default(),
            log_tail(&h.log)
        );
    }
    match layout {
        Layout::Flat => configure_flat(h, p),
        Layout::Neutron => configure_neutron(h, p),
    }
}

/// `add-br BRIDGE` (Open vSwitch: with the userspace datapath), fail-mode secure if asked.
fn add_br(ovs: bool, bridge: &str, secure: bool) -> Vec<&str> {
    let mut args = vec!["add-br", bridge];
    if ovs {
        args.extend(["--", "set", "bridge", bridge, "datapath_type=netdev"]);
    }
    if secure {
        args.extend(["--", "set-fail-mode", bridge, "secure"]);
    }
    args
}

/// [`Layout::Flat`]: br-int with the VM port and gre0 (`key=5`), one flow each way.
fn configure_flat(h: &mut Host, p: &HostPorts) -> Result<()> {
    let ovs = matches!(h.ctl, Ctl::Ovs);
    let remote_opt = format!("options:remote_ip={}", HOST_IP[1 - p.n]);
    let key_opt = format!("options:key={KEY}");
    let mut args = add_br(ovs, "br-int", false);
    args.extend(["--", "add-port", "br-int", p.vm]);
    args.extend(typed(ovs, p.vm, p.port_type));
    args.extend([
        "--",
        "add-port",
        "br-int",
        "gre0",
        "--",
        "set",
        "interface",
        "gre0",
        "type=gre",
        &remote_opt,
        &key_opt,
    ]);
    h.vsctl(&args)?;
    let vm_port = h.ofport(p.n, p.vm)?;
    let gre_port = h.ofport(p.n, "gre0")?;
    let flow = if p.n == 0 {
        format!("in_port={vm_port},actions=output:{gre_port}")
    } else {
        format!("in_port={gre_port},actions=output:{vm_port}")
    };
    h.ofctl(&["del-flows", "br-int"])?;
    h.ofctl(&["add-flow", "br-int", &flow])?;
    Ok(())
}

/// [`Layout::Neutron`]: br-int and br-tun as neutron-openvswitch-agent builds them.
fn configure_neutron(h: &mut Host, p: &HostPorts) -> Result<()> {
    use crate::neutron_agent as agent;
    let ovs = matches!(h.ctl, Ctl::Ovs);
    let tag = format!("tag={LOCAL_VLAN}");
    let mut args = add_br(ovs, "br-int", true);
    args.extend(["--", "add-port", "br-int", p.vm, &tag]);
    args.extend(typed(ovs, p.vm, p.port_type));
    args.extend(["--", "add-port", "br-int", "patch-tun", "--", "set", "interface", "patch-tun", "type=patch"]);
    args.push("options:peer=patch-int");
    h.vsctl(&args)?;
    let remote_opt = format!("options:remote_ip={}", HOST_IP[1 - p.n]);
    let mut args = add_br(ovs, "br-tun", true);
    args.extend(["--", "add-port", "br-tun", "patch-int", "--", "set", "interface", "patch-int", "type=patch"]);
    args.push("options:peer=patch-tun");
    args.extend(["--", "add-port", "br-tun", "gre0", "--", "set", "interface", "gre0", "type=gre", &remote_opt]);
    args.extend(["options:in_key=flow", "options:out_key=flow"]);
    h.vsctl(&args)?;
    let patch_int = h.ofport(p.n, "patch-int")?;
    let gre = h.ofport(p.n, "gre0")?;
    let seg: u32 = KEY.parse()?;
    h.ofctl(&["del-flows", "br-int"])?;
    h.add_flows("br-int", &agent::br_int_default_flows())?;
    h.ofctl(&["del-flows", "br-tun"])?;
    let mut flows = agent::br_tun_default_flows(&patch_int, LEARN_HARD_TIMEOUT);
    flows.push(agent::br_tun_tunnel_port_flow(&gre));
    flows.extend(agent::br_tun_network_flows(seg, LOCAL_VLAN, std::slice::from_ref(&gre)));
    if p.n == 0 {
        flows.push(agent::br_tun_unicast_flow(seg, LOCAL_VLAN, p.sink_mac, &gre));
    }
    h.add_flows("br-tun", &flows)
}

/// Runs the GRE scenarios for `kind` and returns their rows plus the report's detail and setup
/// lines. `rows` are (scenario name, frame size, reproducing command).
pub fn measure_gre(
    kind: SwitchKind,
    layout: Layout,
    scenarios: &[(String, usize, String)],
    opts: &SwitchOptions,
    run_opts: &GreRun,
) -> Result<(Vec<Row>, String)> {
    if kind == SwitchKind::Kernel {
        bail!("no kernel ceiling for the GRE scenario (the XDP forwarder does not encapsulate)");
    }
    let topo = GreTopology::new()?;
    let sink = Sink::attach(&topo.sink, "k0")?;
    let port_type = format!("type={}", opts.ovs_port_type);
    let sink_mac = mac_text(topo.sink.link("k0")?.mac);
    let mut hosts = Vec::new();
    for (n, tag) in ["a", "b"].into_iter().enumerate() {
        let ns = &topo.hosts[n];
        let mut h = match kind {
            SwitchKind::Ferrovs => start_ferrovs(ns, opts, tag)?,
            _ => start_ovs(ns, tag)?,
        };
        let (phy, vm) = if n == 0 { ("pa", "a0") } else { ("pb", "b0") };
        configure(&mut h, ns, layout, &HostPorts { n, phy, vm, port_type: &port_type, sink_mac: &sink_mac })?;
        hosts.push(h);
    }
    // Underlay neighbours: the kernels ping each other over br-phy (both switches see the ARP
    // exchange); Open vSwitch also gets the entry set explicitly.
    for (n, ns) in topo.hosts.iter().enumerate() {
        let _ = ns.sh(&["ping", "-c", "2", "-i", "0.2", "-W", "1", HOST_IP[1 - n]]);
    }
    for (n, h) in hosts.iter_mut().enumerate() {
        if matches!(h.ctl, Ctl::Ovs) {
            let mac = topo.hosts[1 - n].link(BR_PHY[1 - n])?.mac;
            let mac = mac_text(mac);
            let args = ["tnl/arp/set", BR_PHY[n], HOST_IP[1 - n], &mac];
            h.appctl(&args).with_context(|| format!("log:\n{}", log_tail(&h.log)))?;
            h.setup.push(format!("ovs-appctl {}", args.join(" ")));
        }
    }
    let g0 = topo.gen.link("g0")?;
    let k0 = topo.sink.link("k0")?;
    if layout == Layout::Neutron {
        learn_the_sink(&topo, g0.mac)?;
    }
    let mut rows = vec![];
    for (name, size, command) in scenarios {
        if sys::interrupted() {
            break;
        }
        eprintln!("rate: {} {name}", kind.name());
        let mut generator = Generator::new(udp_frame(*size, g0.mac, k0.mac)?, 1, &topo.gen, PARK)?;
        generator.pin(run_opts.gen_cpu);
        generator.run(&topo.gen, "g0", run_opts.warmup, run_opts.pace, run_opts.burst)?;
        let a0_before = topo.hosts[0].counters("a0")?;
        let sink_before = sink.read()?;
        let cpu_before: u64 = hosts.iter().map(Host::cpu_ticks).sum::<Result<u64>>()?;
        let softirq_before = softirq_seconds()?;
        let g = generator.run(&topo.gen, "g0", run_opts.duration, run_opts.pace, run_opts.burst)?;
        std::thread::sleep(Duration::from_millis(200));
        let cpu_after: u64 = hosts.iter().map(Host::cpu_ticks).sum::<Result<u64>>()?;
        let cpu = (cpu_after - cpu_before) as f64 / sys::clock_ticks() as f64;
        let softirq = softirq_seconds()? - softirq_before;
        let got = sink.read()?.since(&sink_before);
        let a0 = topo.hosts[0].counters("a0")?;
        let row = Row {
            scenario: name.clone(),
            switch: kind.name().into(),
            command: command.clone(),
            ..Row::from_run(&RunCounts {
                elapsed: g.elapsed,
                sent: g.frames,
                offered: a0.rx_packets - a0_before.rx_packets,
                got: &got,
                cpu: Some(cpu),
                softirq,
            })
        };
        eprintln!(
            "rate:   offered {:.3} Mpps, forwarded {:.3} Mpps, other frames at the sink {}",
            row.offered_pps / 1e6,
            row.forwarded_pps / 1e6,
            row.other_frames
        );
        if got.packets == 0 {
            eprintln!(
                "rate:   nothing arrived; host A flows:\n{}\nhost A arp: {}\nhost B flows:\n{}",
                hosts[0].appctl(&["dpctl/dump-flows"]).unwrap_or_default(),
                hosts[0].appctl(&["tnl/arp/show"]).unwrap_or_default(),
                hosts[1].appctl(&["dpctl/dump-flows"]).unwrap_or_default()
            );
        }
        rows.push(row);
    }
    let mut setup = vec![];
    for (n, h) in hosts.iter().enumerate() {
        // What each switch chose (port kinds, XDP modes, PMD threads), from its log.
        let log = std::fs::read_to_string(&h.log).unwrap_or_default();
        let chosen: Vec<&str> = log
            .lines()
            .filter(|l| {
                [": opened (", ": AF_XDP on", "mode will be in use", "PMD thread on numa_id"]
                    .iter()
                    .any(|m| l.contains(m))
            })
            .filter_map(|l| l.rsplit('|').next())
            .map(str::trim)
            .collect();
        let offload = if matches!(h.ctl, Ctl::Ferrovs { .. }) { offload_summary(h) } else { String::new() };
        setup.push(format!("host {} ({}){offload}: {}", ["A", "B"][n], chosen.join("; "), h.setup.join("; ")));
    }
    let path = match layout {
        Layout::Flat => format!("host A br-int -> gre0 key {KEY} -> br-phy pa | pb host B br-int"),
        Layout::Neutron => format!(
            "host A br-int (tag {LOCAL_VLAN}, NORMAL) -> patch -> br-tun (agent tables) -> gre0 key {KEY} -> br-phy pa | \
             pb host B br-tun (learn) -> patch -> br-int"
        ),
    };
    let detail = format!(
        "GRE VM-to-VM (two {} processes, gen -> a0 | {path} -> b0 -> sink; ovs port {port_type}): {}",
        kind.name(),
        setup.join(" / ")
    );
    Ok((rows, detail))
}

/// `aa:bb:cc:dd:ee:ff`.
fn mac_text(mac: [u8; 6]) -> String {
    mac.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

/// Makes both hosts learn where the sink VM is, as a reply from a real VM would in Neutron: a
/// few pings from the sink's k0 to a neighbour entry with the generator's MAC cross host B
/// (br-int learns k0 on b0; br-tun floods or sends them by key) and host A (br-tun's table 10
/// learns k0 behind gre0; br-int learns it on patch-tun). Without this the generator's frames
/// would be unknown unicast in both br-ints, flooded to each bridge's LOCAL port as well.
fn learn_the_sink(topo: &GreTopology, gen_mac: [u8; 6]) -> Result<()> {
    let mac = mac_text(gen_mac);
    topo.sink.sh(&["ip", "addr", "add", "10.255.0.2/24", "dev", "k0"])?;
    topo.sink.sh(&["ip", "neigh", "replace", "10.255.0.1", "lladdr", &mac, "dev", "k0", "nud", "permanent"])?;
    // Nothing answers: the exit status is not the point, the frames are.
    let _ = topo.sink.sh(&["ping", "-c", "3", "-i", "0.2", "-W", "1", "10.255.0.1"]);
    Ok(())
}

/// What went through ferrovs' in-kernel XDP fast path on a host, over all its scenarios (warm-up
/// included): "; XDP fast path: N packets in E entries, poll thread: M packets".
fn offload_summary(h: &Host) -> String {
    let value = |text: &str, what: &str| -> Option<u64> {
        let at = text.find(what)? + what.len();
        text[at..].trim_start().split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
    };
    let show = h.appctl(&["dpif/offload", "show"]).unwrap_or_default();
    let pmd = h.appctl(&["pmd-stats-show"]).unwrap_or_default();
    match (value(&show, "packets:"), value(&show, "entries:"), value(&pmd, "packets received:")) {
        (Some(p), Some(e), Some(m)) => format!("; XDP fast path: {p} packets in {e} entries, poll thread: {m} packets"),
        _ => String::new(),
    }
}

/// Timing of the GRE runs.
#[derive(Debug, Clone, Copy)]
pub struct GreRun {
    pub duration: Duration,
    pub warmup: Duration,
    pub pace: Pace,
    pub burst: u32,
    pub gen_cpu: Option<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gre_scenario_names() {
        assert_eq!(scenario("gre-64b"), Some((Layout::Flat, 64)));
        assert_eq!(scenario("gre-1500b"), Some((Layout::Flat, 1500)));
        assert_eq!(scenario("neutron-gre-64b"), Some((Layout::Neutron, 64)));
        assert_eq!(scenario("neutron-gre-1500b"), Some((Layout::Neutron, 1500)));
        for bad in ["gre-61b", "gre-1519b", "gre-64", "gre64b", "64b-1flow", "neutron-64b", "neutron-gre-1519b"] {
            assert_eq!(scenario(bad), None, "{bad}");
        }
    }
}
