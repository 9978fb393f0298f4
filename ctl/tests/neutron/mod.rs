//! A small OpenStack cloud for the Neutron tests: three hosts (compute1, compute2 and the
//! network node), each a namespace running its own ferrovsd, laid out as
//! neutron-openvswitch-agent lays out a GRE deployment with userspace tunnels:
//!
//! - `br-phy`: the physical port `eth1` (a veth to the "wire" namespace, a Linux bridge) and the
//!   host's tunnel address (`172.31.1.N/24`) on its LOCAL port;
//! - `br-tun` (fail-mode secure): `patch-int`, and a GRE port `gre-<remote ip in hex>` to each
//!   other host with the options the agent sets (`ovs_lib.add_tunnel_port`: `df_default=true`,
//!   `remote_ip`, `local_ip`, `in_key=flow`, `out_key=flow`, `egress_pkt_mark=0`); its flows are
//!   the agent's (native OpenFlow driver, `br_tun.py`: tables 0, 2, 3, 4, 6, 10 with learn, 20,
//!   22), loaded with stock `ovs-ofctl -O OpenFlow13` over `<rundir>/br-tun.mgmt` in the order
//!   the agent installs them (default tables, then one flow per tunnel port, then per network);
//! - `br-int` (fail-mode secure): `patch-tun`, the agent's default tables (0, 23, 24, 30, 31,
//!   58, 59, 60, 61, ending in NORMAL) and every VM, DHCP or router port as an access port
//!   `tag=<local VLAN>`;
//! - on the network node `br-ex`, the router's gateway (`qg-`) legs and the "internet" behind it.
//!
//! Two tenants share 10.0.0.0/24 and the same MACs; their segmentation ids are 0x41 and 0x42 and
//! their local VLANs differ per host on purpose (tenant A's VLAN on one host is tenant B's on
//! another). VMs are internal ports (the switch's taps) moved into "VM" namespaces.
//!
//! Everything is a Drop guard (namespaces, daemons, dnsmasq, tshark), so a failing test leaves
//! nothing behind; every wait is bounded.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub use super::common::quiet;
use super::common::{veth, wait_for, Daemon, Netns};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The hosts: name and tunnel address.
pub const HOSTS: [(&str, &str); 3] =
    [("compute1", "172.31.1.1"), ("compute2", "172.31.1.2"), ("network", "172.31.1.3")];
/// Index of the network node in [`HOSTS`].
pub const NETWORK: usize = 2;

/// A tenant network.
pub struct Tenant {
    /// Short name, used in port names.
    pub name: &'static str,
    /// Segmentation id: the GRE key.
    pub seg: u32,
    /// Local VLAN on each host of [`HOSTS`].
    pub lvid: [u16; 3],
    /// The byte this tenant's pings are filled with (`ping -p`), to tell its frames apart.
    pub pattern: &'static str,
}

/// Two tenants with the same addresses and MACs. A's VLAN on compute1 is B's on compute2 and
/// the reverse, so a frame that crossed with its VLAN instead of its key would land in the
/// wrong tenant.
pub const TENANTS: [Tenant; 2] = [
    Tenant { name: "a", seg: 0x41, lvid: [1, 2, 3], pattern: "aa" },
    Tenant { name: "b", seg: 0x42, lvid: [2, 1, 4], pattern: "bb" },
];

use benches::neutron_agent::{
    br_int_default_flows, br_tun_default_flows, br_tun_network_flows, br_tun_tunnel_port_flow,
};
/// Hard timeout of the flows learned into br-tun's table 20 (300 s in Neutron; short so that the
/// test sees them age out).
pub const LEARN_HARD_TIMEOUT: u32 = 5;

/// A VM's MAC on compute host `h` (the same in both tenants).
pub fn vm_mac(h: usize) -> String {
    format!("fa:16:3e:00:00:{:02x}", 0x11 + h)
}

/// A VM's address on compute host `h` (the same in both tenants).
pub fn vm_ip(h: usize) -> String {
    format!("10.0.0.{}", 11 + h)
}

/// The name Neutron gives the GRE port to `remote` (`gre-` and the address in hex).
pub fn gre_port_name(remote: &str) -> String {
    let ip: std::net::Ipv4Addr = remote.parse().unwrap();
    format!("gre-{:08x}", u32::from(ip))
}

/// The wire: a namespace with a Linux bridge the hosts' physical ports plug into.
pub struct Wire {
    pub ns: Netns,
}

impl Wire {
    pub const BRIDGE: &'static str = "wire";

    pub fn new() -> Self {
        let ns = Netns::new("nw");
        ns.sh(&["ip", "link", "add", Self::BRIDGE, "type", "bridge"]);
        ns.sh(&["ip", "link", "set", Self::BRIDGE, "up"]);
        Wire { ns }
    }
}

/// One host: its daemon (declared first: stopped before the namespace goes), namespace, name
/// and tunnel address.
pub struct Host {
    pub d: Daemon,
    pub ns: Netns,
    pub name: &'static str,
    pub ip: &'static str,
}

impl Host {
    /// The OpenFlow port number of an interface (as the agent reads it: `ovs-vsctl get
    /// interface X ofport`).
    pub fn ofport(&self, iface: &str) -> String {
        self.d.cli(&["get", "interface", iface, "ofport"]).trim().to_owned()
    }

    /// Stock ovs-ofctl (OpenFlow 1.3) against a bridge's management socket.
    pub fn ovs_ofctl(&self, cmd: &str, bridge: &str, args: &[&str]) -> String {
        let sock = format!("unix:{}", self.d.rundir().join(format!("{bridge}.mgmt")).display());
        let out = Command::new("ovs-ofctl").args(["-O", "OpenFlow13", cmd, &sock]).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{}: ovs-ofctl {cmd} {bridge} {args:?}: {}\ndaemon log:\n{}",
            self.name,
            String::from_utf8_lossy(&out.stderr),
            self.d.log()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Loads `flows` (one per line) into `bridge` with `ovs-ofctl add-flows`, from a file as
    /// the agent's deferred bridge does.
    pub fn add_flows(&self, bridge: &str, what: &str, flows: &[String]) {
        let file = self.d.rundir().join(format!("{bridge}-{what}.flows"));
        std::fs::write(&file, flows.join("\n") + "\n").unwrap();
        self.ovs_ofctl("add-flows", bridge, &[file.to_str().unwrap()]);
    }

    /// br-tun's table 20 as `ovs-ofctl dump-flows` prints it, one flow per line.
    pub fn table20(&self) -> Vec<String> {
        self.ovs_ofctl("dump-flows", "br-tun", &["table=20"])
            .lines()
            .filter(|l| l.contains("table=20"))
            .map(str::to_owned)
            .collect()
    }

    /// An internal port of `bridge` (on VLAN `tag` if any) moved into namespace `ns` with MAC
    /// `mac`, address `addr` (if any) and MTU `mtu`, as Nova plugs a VM's tap and the DHCP and
    /// L3 agents plug their namespaces.
    pub fn plug(&self, bridge: &str, port: &str, tag: Option<u16>, ns: &Netns, mac: &str, addr: Option<&str>) {
        let tag = tag.map(|t| format!("tag={t}"));
        let mut args = vec!["add-port", bridge, port];
        if let Some(t) = &tag {
            args.push(t);
        }
        args.extend(["--", "set", "interface", port, "type=internal"]);
        self.d.cli(&args);
        self.ns.sh(&["ip", "link", "set", port, "netns", &ns.name]);
        ns.sh(&["ip", "link", "set", port, "address", mac]);
        if let Some(a) = addr {
            ns.sh(&["ip", "addr", "add", a, "dev", port]);
        }
        ns.sh(&["ip", "link", "set", port, "up"]);
    }
}

/// The cloud: the wire and three hosts with br-phy, br-int and br-tun (and br-ex on the network
/// node), both tenants provisioned on every host.
pub struct Cloud {
    pub hosts: Vec<Host>,
    pub wire: Wire,
}

impl Cloud {
    pub fn new() -> Self {
        let wire = Wire::new();
        let hosts: Vec<Host> = (0..HOSTS.len()).map(|i| host(&wire, i)).collect();
        for (i, h) in hosts.iter().enumerate() {
            neutron_bridges(h, i);
        }
        Cloud { hosts, wire }
    }

    /// Compute host `h`'s VM of `tenant`: an internal port of br-int on the tenant's local VLAN,
    /// in its own namespace, with the (shared) MAC and, if `with_addr`, the (shared) address.
    /// Returns the namespace and the port (device) name.
    pub fn vm(&self, h: usize, tenant: &Tenant, with_addr: bool) -> (Netns, String) {
        let ns = Netns::new("nv");
        quiet(&ns);
        let port = format!("tap{}-vm{}", tenant.name, h + 1);
        let addr = format!("{}/24", vm_ip(h));
        self.hosts[h].plug("br-int", &port, Some(tenant.lvid[h]), &ns, &vm_mac(h), with_addr.then_some(addr.as_str()));
        // As Neutron advertises for GRE networks: the underlay MTU less the 42 header bytes.
        ns.sh(&["ip", "link", "set", &port, "mtu", "1458"]);
        (ns, port)
    }
}

/// The DHCP agent's namespace for a tenant on the network node: `qdhcp-` with a tap on br-int
/// (the tenant's local VLAN there, address 10.0.0.2, the same MAC in both tenants) and dnsmasq
/// started much as the agent starts it (static range, one host entry per VM port, the router
/// and MTU options, the tenant's own domain so that a lease tells which server gave it).
pub struct Dhcp {
    pub dnsmasq: Killed,
    pub ns: Netns,
    pub leases: PathBuf,
}

/// The tenant's DHCP domain.
pub fn dhcp_domain(tenant: &Tenant) -> String {
    format!("tenant-{}.openstacklocal", tenant.name)
}

/// The L3 agent's router for a tenant on the network node: `qrouter-` with `qr-` on br-int
/// (10.0.0.1, the tenant's gateway) and `qg-` on br-ex (`192.168.100.11` + tenant index),
/// forwarding, and source NAT of the tenant network to the gateway address.
pub struct Router {
    pub ns: Netns,
    pub gateway_ip: String,
}

/// The internet behind br-ex: a namespace at 192.168.100.100 with no route to any tenant
/// network, so that only NAT brings replies back.
pub const INTERNET_IP: &str = "192.168.100.100";

impl Cloud {
    pub fn network(&self) -> &Host {
        &self.hosts[NETWORK]
    }

    /// Starts the DHCP service of tenant `t` (index into [`TENANTS`]).
    pub fn dhcp(&self, t: usize) -> Dhcp {
        let tenant = &TENANTS[t];
        let net = self.network();
        let ns = Netns::new("qd");
        quiet(&ns);
        let tap = format!("tap{}-dhcp", tenant.name);
        net.plug("br-int", &tap, Some(tenant.lvid[NETWORK]), &ns, "fa:16:3e:00:00:02", Some("10.0.0.2/24"));
        let dir = net.d.rundir().join(format!("dhcp-{}", tenant.name));
        std::fs::create_dir_all(&dir).unwrap();
        let hosts: Vec<String> =
            (0..2).map(|h| format!("{},host-{},{}", vm_mac(h), vm_ip(h).replace('.', "-"), vm_ip(h))).collect();
        let hosts = hosts.join("\n") + "\n";
        std::fs::write(dir.join("host"), hosts).unwrap();
        let leases = dir.join("leases");
        let child = Command::new("ip")
            .args(["netns", "exec", &ns.name, "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--port=0"])
            .args(["--no-hosts", "--no-resolv", "--bind-interfaces", &format!("--interface={tap}")])
            .arg(format!("--dhcp-range=set:tenant-{},10.0.0.0,static,255.255.255.0,120s", tenant.name))
            .arg(format!("--dhcp-hostsfile={}", dir.join("host").display()))
            .arg(format!("--dhcp-option=tag:tenant-{},option:router,10.0.0.1", tenant.name))
            .arg("--dhcp-option-force=option:mtu,1458")
            .arg(format!("--domain={}", dhcp_domain(tenant)))
            .arg(format!("--dhcp-leasefile={}", leases.display()))
            .arg(format!("--pid-file={}", dir.join("pid").display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Dhcp { dnsmasq: Killed(child), ns, leases }
    }

    /// br-ex on the network node and the internet namespace behind it (veth `eth2` in br-ex).
    pub fn internet(&self) -> Netns {
        let net = self.network();
        let internet = Netns::new("in");
        quiet(&internet);
        net.d.cli(&["add-br", "br-ex"]);
        veth(&net.ns, "eth2", &internet, "eth0");
        net.d.cli(&["add-port", "br-ex", "eth2"]);
        internet.sh(&["ip", "addr", "add", &format!("{INTERNET_IP}/24"), "dev", "eth0"]);
        internet
    }

    /// The router of tenant `t` (br-ex must exist: [`Cloud::internet`]).
    pub fn router(&self, t: usize) -> Router {
        let tenant = &TENANTS[t];
        let net = self.network();
        let ns = Netns::new("qr");
        quiet(&ns);
        let (qr, qg) = (format!("qr-{}", tenant.name), format!("qg-{}", tenant.name));
        net.plug("br-int", &qr, Some(tenant.lvid[NETWORK]), &ns, "fa:16:3e:00:00:01", Some("10.0.0.1/24"));
        let gateway_ip = format!("192.168.100.{}", 11 + t);
        net.plug("br-ex", &qg, None, &ns, &format!("fa:16:3e:00:01:{:02x}", t + 1), Some(&format!("{gateway_ip}/24")));
        ns.sh(&["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
        ns.sh(&[
            "iptables",
            "-t",
            "nat",
            "-A",
            "POSTROUTING",
            "-s",
            "10.0.0.0/24",
            "-o",
            &qg,
            "-j",
            "SNAT",
            "--to-source",
            &gateway_ip,
        ]);
        Router { ns, gateway_ip }
    }
}

/// Runs busybox udhcpc on `dev` in the VM namespace `ns` with the test's event script (which
/// configures the interface); returns the lease line's fields (`ip`, `router`, `mtu`, `domain`,
/// ...) or panics with udhcpc's output.
pub fn udhcpc(ns: &Netns, dev: &str) -> std::collections::BTreeMap<String, String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/neutron/udhcpc.sh");
    let out =
        ns.exec(&["busybox", "udhcpc", "-i", dev, "-n", "-q", "-f", "-t", "10", "-T", "1", "-O", "mtu", "-s", script]);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let line =
        text.lines().find(|l| l.starts_with("LEASE ")).unwrap_or_else(|| panic!("no DHCP lease on {dev}: {text}"));
    line.split_whitespace()
        .skip(1)
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Host `i` with its underlay: br-phy with the physical port and the tunnel address.
fn host(w: &Wire, i: usize) -> Host {
    let (name, ip) = HOSTS[i];
    let ns = Netns::new("nh");
    quiet(&ns);
    let wire_port = format!("{name}-eth1");
    veth(&ns, "eth1", &w.ns, &wire_port);
    w.ns.sh(&["ip", "link", "set", &wire_port, "master", Wire::BRIDGE]);
    let d = Daemon::start(&ns);
    d.cli(&["add-br", "br-phy", "--", "add-port", "br-phy", "eth1"]);
    ns.sh(&["ip", "addr", "add", &format!("{ip}/24"), "dev", "br-phy"]);
    ns.sh(&["ip", "link", "set", "br-phy", "up"]);
    let h = Host { d, ns, name, ip };
    wait_for(
        Duration::from_secs(10),
        || h.d.cli(&["appctl", "ovs/route/show"]).contains(&format!("dev br-phy SRC {ip}")),
        || format!("{name}: route not learned: {}", h.d.cli(&["appctl", "ovs/route/show"])),
    );
    h
}

/// br-int and br-tun on host `i` as the agent builds them, with both tenants provisioned.
fn neutron_bridges(h: &Host, i: usize) {
    h.d.cli(&[
        "add-br",
        "br-int",
        "--",
        "set-fail-mode",
        "br-int",
        "secure",
        "--",
        "add-br",
        "br-tun",
        "--",
        "set-fail-mode",
        "br-tun",
        "secure",
    ]);
    h.d.cli(&[
        "add-port",
        "br-int",
        "patch-tun",
        "--",
        "set",
        "interface",
        "patch-tun",
        "type=patch",
        "options:peer=patch-int",
    ]);
    h.d.cli(&[
        "add-port",
        "br-tun",
        "patch-int",
        "--",
        "set",
        "interface",
        "patch-int",
        "type=patch",
        "options:peer=patch-tun",
    ]);
    h.ovs_ofctl("del-flows", "br-int", &[]);
    h.add_flows("br-int", "default", &br_int_default_flows());
    let patch_int = h.ofport("patch-int");
    h.add_flows("br-tun", "default", &br_tun_default_flows(&patch_int, LEARN_HARD_TIMEOUT));
    let mut tunnels = Vec::new();
    for (j, (_, remote)) in HOSTS.iter().enumerate() {
        if j == i {
            continue;
        }
        let gre = gre_port_name(remote);
        h.d.cli(&[
            "add-port",
            "br-tun",
            &gre,
            "--",
            "set",
            "interface",
            &gre,
            "type=gre",
            "options:df_default=true",
            &format!("options:remote_ip={remote}"),
            &format!("options:local_ip={}", h.ip),
            "options:in_key=flow",
            "options:out_key=flow",
            "options:egress_pkt_mark=0",
        ]);
        let ofport = h.ofport(&gre);
        h.add_flows("br-tun", &gre, &[br_tun_tunnel_port_flow(&ofport)]);
        tunnels.push(ofport);
    }
    for t in &TENANTS {
        h.add_flows("br-tun", &format!("net-{}", t.name), &br_tun_network_flows(t.seg, t.lvid[i], &tunnels));
    }
}

/// A process killed (and waited for) when dropped.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Whether a command exists; under CI=true a missing one is a failure.
pub fn have(test: &str, cmd: &str) -> bool {
    let ok = Command::new("which").arg(cmd).output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{test}: {cmd} is missing under CI");
        eprintln!("SKIP {test}: {cmd} is missing");
    }
    ok
}

/// A tshark capture of `dev` in `ns` into `file` (for `secs` seconds at most), started and
/// capturing when this returns; stopped on drop if not finished with [`Capture::finish`].
pub struct Capture {
    child: Option<Child>,
    pub file: PathBuf,
}

impl Capture {
    pub fn start(ns: &Netns, dev: &str, file: PathBuf, secs: u32) -> Self {
        let child = Command::new("ip")
            .args(["netns", "exec", &ns.name, "tshark", "-q", "-i", dev, "-a", &format!("duration:{secs}"), "-w"])
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let c = Capture { child: Some(child), file };
        wait_for(
            Duration::from_secs(20),
            || std::fs::metadata(&c.file).is_ok_and(|m| m.len() > 0),
            || format!("tshark on {dev} did not start"),
        );
        c
    }

    /// Stops the capture (SIGINT: tshark completes its file) and waits for it.
    pub fn finish(&mut self) {
        if let Some(c) = self.child.take() {
            std::thread::sleep(Duration::from_millis(500));
            let _ = Command::new("kill").args(["-INT", &c.id().to_string()]).status();
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success(), "tshark failed on {}", self.file.display());
        }
    }

    /// Fields of the captured packets matching the display filter, one line per packet.
    pub fn fields(&self, filter: &str, fields: &[&str]) -> Vec<String> {
        read_fields(&self.file, filter, fields)
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Fields of the packets of `file` matching `filter`, one line per packet (tab-separated); a
/// field a packet has twice (`ip.src` of a GRE packet) is its first, outer occurrence.
pub fn read_fields(file: &Path, filter: &str, fields: &[&str]) -> Vec<String> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(file).args(["-Y", filter, "-T", "fields", "-E", "occurrence=f"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect()
}

/// `count` pings from `ns` to `addr` filled with `pattern`; whether all came back (bounded).
pub fn ping(ns: &Netns, addr: &str, pattern: &str, count: u32) -> bool {
    let (c, w) = (count.to_string(), (2 * count + 4).to_string());
    ns.exec(&["ping", "-c", &c, "-i", "0.3", "-W", "1", "-w", &w, "-p", pattern, addr]).status.success()
}
