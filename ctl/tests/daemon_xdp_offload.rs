//! The in-kernel XDP fast path, end to end: two "VM" namespaces on AF_XDP ports whose peers
//! run NAPI (GRO on, so the veths take redirected XDP frames). Pings are forwarded by the XDP
//! program itself once their megaflow has been seen (the poll thread sees only the first
//! frames), the counts reach the OpenFlow rule, `dpctl/dump-flows` marks the megaflow
//! offloaded, an unrelated flow_mod leaves the entries in force, the most-hit mask moves to
//! the first slot, a flow change is in force for
//! the very next packet, TCP with partial checksums
//! still crosses (through userspace), a port whose peer stops NAPI stops being a redirect
//! target, and `dpif/offload off` hands everything back to the poll thread.

#![allow(clippy::unwrap_used)]

mod common;
use common::{fast_ping, number_after, offload_packets, pmd_packets, port_stat, veth, wait_for, Daemon, Netns};
use std::time::Duration;

#[test]
fn xdp_fast_path_forwards_counts_and_follows_every_change() {
    if !common::require_root("xdp_fast_path_forwards_counts_and_follows_every_change") {
        return;
    }
    let sw = Netns::new("fos");
    let vm1 = Netns::new("fo1");
    let vm2 = Netns::new("fo2");
    let (p1, v1, p2, v2) = (common::unique("op"), common::unique("ov"), common::unique("op"), common::unique("ov"));
    veth(&sw, &p1, &vm1, &v1);
    veth(&sw, &p2, &vm2, &v2);
    vm1.sh(&["ip", "addr", "add", "10.79.0.1/24", "dev", &v1]);
    vm2.sh(&["ip", "addr", "add", "10.79.0.2/24", "dev", &v2]);
    // GRO on the VM ends runs their NAPI: their peers (the switch ports) take XDP redirects.
    vm1.sh(&["ethtool", "-K", &v1, "gro", "on"]);
    vm2.sh(&["ethtool", "-K", &v2, "gro", "on"]);
    let d = Daemon::start(&sw);
    d.cli(&["add-br", "br0", "--", "add-port", "br0", &p1, "--", "add-port", "br0", &p2]);
    wait_for(
        Duration::from_secs(5),
        || d.cli(&["appctl", "dpif/offload", "show"]).matches("takes redirected frames").count() == 2,
        || d.cli(&["appctl", "dpif/offload", "show"]),
    );
    let show = d.cli(&["appctl", "dpif/offload", "show"]);
    assert!(show.starts_with("XDP fast path: on"), "{show}");

    // The default NORMAL flow: after the first frames, XDP forwards the pings itself.
    assert!(vm1.ping("10.79.0.2", 2), "{}", d.log());
    let before = pmd_packets(&d);
    assert_eq!(fast_ping(&vm1, "10.79.0.2", 200), 200);
    wait_for(Duration::from_secs(3), || offload_packets(&d) >= 300, || d.cli(&["appctl", "dpif/offload", "show"]));
    let through_userspace = pmd_packets(&d) - before;
    assert!(through_userspace < 100, "{through_userspace} of 400 frames went through the poll thread");
    let dump = d.cli(&["appctl", "dpctl/dump-flows"]);
    assert!(dump.contains("offloaded:yes, dp:xdp"), "{dump}");
    // The rule's counters include what XDP forwarded (credited at the next sweep).
    wait_for(
        Duration::from_secs(3),
        || number_after(&d.cli(&["ofctl", "dump-flows", "br0"]), "n_packets=") >= 400,
        || d.cli(&["ofctl", "dump-flows", "br0"]),
    );

    // So do the ports' counters (`dump-ports`): each port received its 200 frames.
    let rx_pkts = |port: &str| port_stat(&d.cli(&["ofctl", "dump-ports", "br0"]), port, "rx", "pkts").unwrap_or(0);
    wait_for(
        Duration::from_secs(3),
        || rx_pkts("1") >= 200 && rx_pkts("2") >= 200,
        || d.cli(&["ofctl", "dump-ports", "br0"]),
    );

    // A flow_mod that changes nothing these megaflows' frames see (another input port) keeps
    // their entries in force: they are revalidated and re-stamped, not re-installed through
    // the poll thread.
    let show = d.cli(&["appctl", "dpif/offload", "show"]);
    let installed = number_after(&show, "installed:");
    let (before, offloaded) = (pmd_packets(&d), offload_packets(&d));
    d.cli(&["ofctl", "add-flow", "br0", "priority=100,in_port=77,actions=drop"]);
    assert_eq!(fast_ping(&vm1, "10.79.0.2", 100), 100);
    wait_for(
        Duration::from_secs(3),
        || offload_packets(&d) >= offloaded + 150,
        || d.cli(&["appctl", "dpif/offload", "show"]),
    );
    let show = d.cli(&["appctl", "dpif/offload", "show"]);
    assert_eq!(number_after(&show, "installed:"), installed, "{show}");
    assert!(pmd_packets(&d) - before < 10, "{}", d.cli(&["appctl", "pmd-stats-show"]));
    d.cli(&["ofctl", "del-flows", "br0", "in_port=77"]);

    // A flow change is in force for the very next packet: the offloaded entries are retired.
    d.cli(&["ofctl", "add-flow", "br0", "priority=100,icmp,actions=drop"]);
    assert_eq!(fast_ping(&vm1, "10.79.0.2", 5), 0, "{}", d.cli(&["appctl", "dpctl/dump-flows"]));
    d.cli(&["ofctl", "del-flows", "br0", "icmp"]);
    assert!(vm1.ping("10.79.0.2", 2));
    assert_eq!(fast_ping(&vm1, "10.79.0.2", 50), 50);

    // Two masks on p1: UDP to port 9 (dropped) is offloaded first and takes the first slot,
    // then the pings take a second one and most hits: the sweep moves their mask first.
    d.cli(&["ofctl", "add-flow", "br0", "priority=100,udp,tp_dst=9,actions=drop"]);
    let reorders = || number_after(&d.cli(&["appctl", "dpif/offload", "show"]), "reordered by hits:");
    let before = reorders();
    std::thread::sleep(Duration::from_millis(1200));
    vm1.sh(&["bash", "-c", "for i in 1 2 3; do echo x > /dev/udp/10.79.0.2/9; sleep 0.05; done"]);
    let out = vm1.exec(&["ping", "-c", "600", "-i", "0.002", "-W", "1", "-w", "10", "-q", "10.79.0.2"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    wait_for(Duration::from_secs(3), || reorders() > before, || d.cli(&["appctl", "dpif/offload", "show"]));
    assert_eq!(fast_ping(&vm1, "10.79.0.2", 50), 50);
    d.cli(&["ofctl", "del-flows", "br0", "udp"]);

    // TCP from the VMs' stacks carries partial checksums: XDP hands those to userspace, which
    // completes them; the connection works.
    let mut srv = std::process::Command::new("ip")
        .args(["netns", "exec", &vm2.name, "timeout", "10", "iperf3", "-s", "-1", "-B", "10.79.0.2", "-p", "5291"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let out =
        vm1.exec(&["timeout", "10", "iperf3", "-c", "10.79.0.2", "-p", "5291", "-t", "1", "--connect-timeout", "3000"]);
    let _ = srv.kill();
    let _ = srv.wait();
    assert!(out.status.success(), "iperf3: {}{}", String::from_utf8_lossy(&out.stdout), d.log());

    // The peer of p2 stops NAPI: p2 no longer takes redirects, so nothing is offloaded towards
    // it and pings still cross (through the poll thread).
    vm2.sh(&["ethtool", "-K", &v2, "gro", "off"]);
    wait_for(
        Duration::from_secs(3),
        || d.cli(&["appctl", "dpif/offload", "show"]).matches("takes redirected frames").count() == 1,
        || d.cli(&["appctl", "dpif/offload", "show"]),
    );
    assert_eq!(fast_ping(&vm1, "10.79.0.2", 50), 50, "{}", d.log());
    vm2.sh(&["ethtool", "-K", &v2, "gro", "on"]);

    // Off: every frame goes through the poll thread again, and nothing is lost.
    d.cli(&["appctl", "dpif/offload", "off"]);
    let before = pmd_packets(&d);
    assert_eq!(fast_ping(&vm1, "10.79.0.2", 50), 50);
    assert!(pmd_packets(&d) - before >= 100, "{}", d.cli(&["appctl", "pmd-stats-show"]));
    wait_for(
        Duration::from_secs(3),
        || number_after(&d.cli(&["appctl", "dpif/offload", "show"]), "entries:") == 0,
        || d.cli(&["appctl", "dpif/offload", "show"]),
    );
    let bad = d.try_cli(&["appctl", "dpif/offload", "sideways"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("usage: dpif/offload"));
}
