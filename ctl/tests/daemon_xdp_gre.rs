//! GRE push and pop in the in-kernel XDP fast path, end to end: two ferrovsd "hosts" joined by
//! a physical veth pair, each with the underlay bridge of Open vSwitch's userspace tunnelling
//! docs (physical port, host address on the internal port) and a br-int holding the VM port and
//! a GRE port (key 5). Every veth end a redirect lands on has GRO on (its NAPI runs), so the
//! hosts' XDP programs encapsulate (VM port -> physical port) and decapsulate (physical port ->
//! VM port) pings themselves: both hosts' offload counters grow and the megaflows show as
//! offloaded, the GRE ports count what XDP decapsulated, a flow change on either host is in force for the next packet, a frame too large
//! for the underlay once encapsulated is still dropped and counted by the slow path, and GRE
//! with checksums stays in userspace.

#![allow(clippy::unwrap_used)]

mod common;
use common::{fast_ping, offload_packets, pmd_packets, port_stat, quiet, veth, wait_for, Daemon, Netns};
use std::time::Duration;

struct Host {
    d: Daemon,
    /// Kept until after the daemon (fields drop in order).
    _ns: Netns,
    phy: String,
    int: String,
}

/// Host `n` (1 or 2): br-phy with physical port `phys` and address 172.31.1.N; br-int with
/// the VM port and gre0 towards the other host. Returns the host and its VM namespace.
fn host(n: u8, ns: Netns, phys: &str) -> (Host, Netns) {
    let d = Daemon::start(&ns);
    let phy = common::unique("bp");
    d.cli(&["add-br", &phy, "--", "add-port", &phy, phys]);
    ns.sh(&["ip", "addr", "add", &format!("172.31.1.{n}/24"), "dev", &phy]);
    ns.sh(&["ip", "link", "set", &phy, "up"]);
    let vm = Netns::new("xv");
    quiet(&vm);
    let (p, v) = (common::unique("xp"), common::unique("xq"));
    veth(&ns, &p, &vm, &v);
    vm.sh(&["ip", "link", "set", &v, "address", &format!("02:00:00:00:0{n}:01")]);
    vm.sh(&["ip", "addr", "add", &format!("10.0.0.{n}/24"), "dev", &v]);
    // The VM end's NAPI: the switch port takes redirected (decapsulated) frames.
    vm.sh(&["ethtool", "-K", &v, "gro", "on"]);
    let int = common::unique("bi");
    let remote = format!("remote_ip=172.31.1.{}", 3 - n);
    d.cli(&["add-br", &int, "--", "add-port", &int, &p]);
    d.cli(&[
        "add-port",
        &int,
        "gre0",
        "--",
        "set",
        "interface",
        "gre0",
        "type=gre",
        &format!("options:{remote}"),
        "options:key=5",
    ]);
    (Host { d, _ns: ns, phy, int }, vm)
}

fn flows(h: &Host) -> String {
    h.d.cli(&["appctl", "dpctl/dump-flows"])
}

#[test]
fn xdp_fast_path_pushes_and_pops_gre() {
    if !common::require_root("xdp_fast_path_pushes_and_pops_gre") {
        return;
    }
    let (nsa, nsb) = (Netns::new("xa"), Netns::new("xb"));
    quiet(&nsa);
    quiet(&nsb);
    let (pa, pb) = (common::unique("xw"), common::unique("xw"));
    veth(&nsa, &pa, &nsb, &pb);
    // Both ends of the wire run NAPI: each takes the other host's encapsulated redirects.
    nsa.sh(&["ethtool", "-K", &pa, "gro", "on"]);
    nsb.sh(&["ethtool", "-K", &pb, "gro", "on"]);
    let (a, vma) = host(1, nsa, &pa);
    let (b, _vmb) = host(2, nsb, &pb);
    for h in [&a, &b] {
        wait_for(
            Duration::from_secs(10),
            || h.d.cli(&["appctl", "ovs/route/show"]).contains(&format!("dev {} SRC", h.phy)),
            || h.d.cli(&["appctl", "ovs/route/show"]),
        );
        wait_for(
            Duration::from_secs(5),
            || h.d.cli(&["appctl", "dpif/offload", "show"]).matches("takes redirected frames").count() >= 2,
            || h.d.cli(&["appctl", "dpif/offload", "show"]),
        );
    }

    // After the first frames (ARP, neighbour resolution, learning), XDP carries the pings:
    // host A encapsulates the requests and decapsulates the replies, host B the reverse.
    assert!(vma.ping("10.0.0.2", 3), "A:\n{}\nB:\n{}\n{}", flows(&a), flows(&b), b.d.log());
    let (before_a, before_b) = (pmd_packets(&a.d), pmd_packets(&b.d));
    let (off_a, off_b) = (offload_packets(&a.d), offload_packets(&b.d));
    assert_eq!(fast_ping(&vma, "10.0.0.2", 200), 200, "A:\n{}\nB:\n{}", flows(&a), flows(&b));
    wait_for(
        Duration::from_secs(3),
        || offload_packets(&a.d) >= off_a + 300 && offload_packets(&b.d) >= off_b + 300,
        || format!("A: {}\nB: {}", flows(&a), flows(&b)),
    );
    let userspace = (pmd_packets(&a.d) - before_a, pmd_packets(&b.d) - before_b);
    assert!(userspace.0 < 100 && userspace.1 < 100, "{userspace:?} of 400 frames per host went through userspace");
    for h in [&a, &b] {
        eprintln!("{}{}", h.d.cli(&["appctl", "dpif/offload", "show"]), flows(h));
        let f = flows(h);
        let push = f.lines().find(|l| l.contains("tnl_push(")).unwrap_or_else(|| panic!("{f}"));
        assert!(push.contains("offloaded:yes, dp:xdp"), "{f}");
        let pop = f.lines().find(|l| l.contains("actions:tnl_pop")).unwrap_or_else(|| panic!("{f}"));
        assert!(pop.contains("offloaded:yes, dp:xdp"), "{f}");
    }

    // What XDP decapsulated counts on the GRE port too (gre0 is OpenFlow port 2 of br-int), as
    // frames decapsulated in userspace do: each host received the 200 requests or replies
    // there, not only the few that went through userspace.
    for h in [&a, &b] {
        let gre_rx = || port_stat(&h.d.cli(&["ofctl", "dump-ports", &h.int]), "2", "rx", "pkts").unwrap_or(0);
        wait_for(Duration::from_secs(3), || gre_rx() >= 200, || h.d.cli(&["ofctl", "dump-ports", &h.int]));
    }

    // A flow change on either host is in force for the very next packet.
    for h in [&a, &b] {
        h.d.cli(&["ofctl", "add-flow", &h.int, "priority=100,icmp,actions=drop"]);
        assert_eq!(fast_ping(&vma, "10.0.0.2", 5), 0, "{}", flows(h));
        h.d.cli(&["ofctl", "del-flows", &h.int, "icmp"]);
        assert!(vma.ping("10.0.0.2", 2));
        assert_eq!(fast_ping(&vma, "10.0.0.2", 50), 50);
    }

    // Too big for the wire once encapsulated: XDP hands it to userspace, which drops it and
    // counts a transmit drop on the physical port (OpenFlow port 1 of br-phy), as without XDP.
    assert!(vma.exec(&["ping", "-c", "2", "-W", "1", "-s", "1400", "-M", "do", "10.0.0.2"]).status.success());
    assert!(!vma.exec(&["ping", "-c", "2", "-W", "1", "-s", "1472", "-M", "do", "10.0.0.2"]).status.success());
    let ports = a.d.cli(&["ofctl", "dump-ports", &a.phy]);
    assert!(port_stat(&ports, "1", "tx", "drop").is_some_and(|d| d >= 2), "{ports}");

    // With GRE checksums neither push (a 46-byte header) nor pop (flags other than the key) is
    // carried by XDP: the pings cross through userspace.
    for h in [&a, &b] {
        h.d.cli(&["set", "interface", "gre0", "options:csum=true"]);
    }
    assert!(vma.ping("10.0.0.2", 2), "A:\n{}\nB:\n{}", flows(&a), flows(&b));
    let (off_a, off_b) = (offload_packets(&a.d), offload_packets(&b.d));
    let (before_a, before_b) = (pmd_packets(&a.d), pmd_packets(&b.d));
    assert_eq!(fast_ping(&vma, "10.0.0.2", 50), 50);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!((offload_packets(&a.d), offload_packets(&b.d)), (off_a, off_b), "{}", flows(&a));
    assert!(pmd_packets(&a.d) - before_a >= 100 && pmd_packets(&b.d) - before_b >= 100);
}
