//! Hostile traffic the datapath must survive: malformed frames (bad IHL, bad IPv4 header
//! checksum, a total length beyond the frame, a truncated TCP header) are
//! counted and dropped, never forwarded; a jumbo frame bound for a port with a smaller MTU is
//! dropped and counted as that port's transmit drop; a flood of table-miss packets with a new 5-tuple each
//! is held to its port's upcall budget while established flows on other ports keep forwarding,
//! and the megaflow cache grows only as far as the budget allows.

#![allow(clippy::unwrap_used)]

mod common;
use common::{port_stat, veth, Daemon, Netns};
use std::process::{Command, Stdio};
use std::time::Duration;

const FRAMES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/frames/rawframes.py");

/// A switch namespace with br0 (NORMAL) and three "VM" namespaces on ports 1..3
/// (10.9.0.1..3/24), IPv6 off so that only the test's frames cross.
struct World {
    vms: Vec<(Netns, String)>,
    d: Daemon,
    _sw: Netns,
}

fn world() -> World {
    let sw = Netns::new("fms");
    let d = Daemon::start(&sw);
    d.cli(&["add-br", "br0"]);
    let mut vms = Vec::new();
    for i in 1..=3 {
        let vm = Netns::new("fmv");
        let (p, v) = (common::unique("mp"), common::unique("mv"));
        for (ns, dev) in [(&sw, &p), (&vm, &v)] {
            ns.sh(&["sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"]);
            let _ = dev;
        }
        veth(&sw, &p, &vm, &v);
        for (ns, dev) in [(&sw, &p), (&vm, &v)] {
            ns.sh(&["sysctl", "-qw", &format!("net.ipv6.conf.{dev}.disable_ipv6=1")]);
        }
        vm.sh(&["ip", "addr", "add", &format!("10.9.0.{i}/24"), "dev", &v]);
        d.cli(&["add-port", "br0", &p]);
        vms.push((vm, v));
    }
    World { vms, d, _sw: sw }
}

fn port_line(dump: &str, port: u16) -> String {
    let label = format!("port {port:>2}:");
    dump.lines().find(|l| l.contains(&label)).unwrap_or_else(|| panic!("no {label} in\n{dump}")).to_owned()
}

#[test]
fn malformed_frames_are_counted_and_dropped() {
    if !common::require_root("malformed_frames_are_counted_and_dropped") {
        return;
    }
    let w = world();
    let (vm1, v1) = &w.vms[0];
    let (vm2, v2) = &w.vms[1];
    let capture = Command::new("ip")
        .args(["netns", "exec", &vm2.name, "python3", FRAMES, "capture", v2, "3"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let sent: u64 = vm1.sh(&["python3", FRAMES, "send-malformed", v1]).trim().parse().unwrap();
    let out = capture.wait_with_output().unwrap();
    let seen = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(seen, "good=1 bad=0", "the good frame crosses, no malformed one does\n{}", w.d.log());
    let ports = w.d.cli(&["ofctl", "dump-ports", "br0"]);
    assert!(port_line(&ports, 1).contains(&format!("errs={sent},")), "{ports}");
    let stats = w.d.cli(&["appctl", "pmd-stats-show"]);
    assert!(stats.contains(&format!("malformed frames dropped: {sent}")), "{stats}");
}

#[test]
fn miss_flood_is_held_to_its_port_budget_and_established_flows_keep_forwarding() {
    if !common::require_root("miss_flood_is_held_to_its_port_budget") {
        return;
    }
    let w = world();
    // Matching on the UDP source port makes every new source port a new megaflow.
    w.d.cli(&["ofctl", "add-flow", "br0", "priority=100,udp,tp_src=9,actions=drop"]);
    w.d.cli(&["appctl", "dpif-netdev/upcall-rate", "2000", "200"]);
    let (vm1, v1) = &w.vms[0];
    let (vm2, _) = &w.vms[1];
    // Established before the flood: ARP and the first ICMP megaflows of vm2 <-> vm3.
    assert!(vm2.ping("10.9.0.3", 2));
    let flood = Command::new("ip")
        .args(["netns", "exec", &vm1.name, "python3", FRAMES, "flood", v1, "5", "02:00:00:00:99:99"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let pinged = vm2.ping("10.9.0.3", 10);
    let out = flood.wait_with_output().unwrap();
    let sent: u64 = String::from_utf8_lossy(&out.stdout).trim().trim_start_matches("sent=").parse().unwrap();
    assert!(pinged, "vm2 -> vm3 lost packets during a miss flood from vm1 ({sent} frames)\n{}", w.d.log());
    let stats = w.d.cli(&["appctl", "pmd-stats-show"]);
    let limited: u64 = stats
        .lines()
        .find_map(|l| l.trim().strip_prefix("miss with failed upcall: "))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{stats}"));
    assert!(sent > 20_000, "the flood was too slow to test anything: {sent} frames");
    assert!(limited > 0, "a flood of {sent} new 5-tuples in 5 s never hit a 2000/s budget\n{stats}");
    // The budget bounds the megaflows the flood could create: burst + rate x ~6 s.
    let flows = w.d.cli(&["appctl", "dpctl/dump-flows"]).lines().count();
    assert!(flows <= 200 + 2000 * 7, "{flows} megaflows for a 2000/s budget");
    let ports = w.d.cli(&["ofctl", "dump-ports", "br0"]);
    assert!(!port_line(&ports, 1).contains("drop=0,"), "flood drops are counted on its port\n{ports}");
}

#[test]
fn jumbo_frame_for_a_smaller_mtu_is_counted_as_a_tx_drop() {
    if !common::require_root("jumbo_frame_for_a_smaller_mtu_is_counted_as_a_tx_drop") {
        return;
    }
    let sw = Netns::new("fjs");
    let d = Daemon::start(&sw);
    d.cli(&["add-br", "br0"]);
    let mut vms = Vec::new();
    for (i, mtu) in [(1, "3000"), (2, "1500")] {
        let vm = Netns::new("fjv");
        let (p, v) = (common::unique("jp"), common::unique("jv"));
        veth(&sw, &p, &vm, &v);
        sw.sh(&["ip", "link", "set", &p, "mtu", mtu]);
        vm.sh(&["ip", "link", "set", &v, "mtu", mtu]);
        vm.sh(&["ip", "addr", "add", &format!("10.7.0.{i}/24"), "dev", &v]);
        d.cli(&["add-port", "br0", &p]);
        vms.push((vm, v));
    }
    let (vm1, v1) = &vms[0];
    let (vm2, v2) = &vms[1];
    assert!(vm1.ping("10.7.0.2", 2), "{}", d.log());
    let capture = Command::new("ip")
        .args(["netns", "exec", &vm2.name, "python3", FRAMES, "capture", v2, "2"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(600));
    vm1.sh(&["python3", FRAMES, "send-big", v1, "2500"]);
    let out = capture.wait_with_output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("bad=0"), "the jumbo frame reached the 1500-byte port");
    let ports = d.cli(&["ofctl", "dump-ports", "br0"]);
    let drops = port_stat(&ports, "2", "tx", "drop");
    assert!(drops.is_some_and(|d| d > 0), "the drop is counted on port 2's transmit side\n{ports}");
}
