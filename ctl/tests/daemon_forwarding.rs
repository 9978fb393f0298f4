//! ferrovsd forwarding real packets between network namespaces: system (veth) and internal
//! ports, flows set with `ferrovs ofctl`, a patch port between two bridges, ports added and
//! removed under traffic, caches on and off, and a SIGKILL + restart.

#![allow(clippy::unwrap_used)]

mod common;
use common::{veth, wait_for, Daemon, Netns};
use std::time::Duration;

/// A switch namespace with a daemon and two "VM" namespaces on br0: vm1 over a veth pair
/// (system port), vm2 over an internal port moved into its namespace.
struct World {
    vm1: Netns,
    vm2: Netns,
    d: Daemon,
    sw: Netns,
    p1: String,
    p2: String,
}

fn world() -> World {
    let sw = Netns::new("fsw");
    let vm1 = Netns::new("fv1");
    let vm2 = Netns::new("fv2");
    let p1 = common::unique("sp");
    let v1 = common::unique("vp");
    veth(&sw, &p1, &vm1, &v1);
    vm1.sh(&["ip", "addr", "add", "10.77.0.1/24", "dev", &v1]);
    let d = Daemon::start(&sw);
    d.cli(&["add-br", "br0", "--", "add-port", "br0", &p1]);
    let p2 = common::unique("ip");
    d.cli(&["add-port", "br0", &p2, "--", "set", "interface", &p2, "type=internal"]);
    sw.sh(&["ip", "link", "set", &p2, "netns", &vm2.name]);
    vm2.sh(&["ip", "addr", "add", "10.77.0.2/24", "dev", &p2]);
    vm2.sh(&["ip", "link", "set", &p2, "up"]);
    World { vm1, vm2, d, sw, p1, p2 }
}

#[test]
fn ping_tcp_udp_across_system_and_internal_ports_with_ofctl_flows() {
    if !common::require_root("ping_tcp_udp_across_system_and_internal_ports_with_ofctl_flows") {
        return;
    }
    let w = world();
    // A new bridge with no controller is standalone: priority 0 NORMAL.
    let flows = w.d.cli(&["ofctl", "dump-flows", "br0"]);
    assert!(flows.contains("priority=0 actions=NORMAL"), "{flows}");
    assert!(w.vm1.ping("10.77.0.2", 3), "ping across NORMAL; log:\n{}", w.d.log());

    // Explicit flows instead of NORMAL.
    w.d.cli(&["ofctl", "del-flows", "br0"]);
    assert!(!w.vm1.ping("10.77.0.2", 1), "no flows: dropped");
    w.d.cli(&["ofctl", "add-flow", "br0", "in_port=1,actions=output:2"]);
    w.d.cli(&["ofctl", "add-flow", "br0", "in_port=2,actions=output:1"]);
    assert!(w.vm1.ping("10.77.0.2", 3), "ping across ofctl flows; log:\n{}", w.d.log());

    // TCP and UDP, with a small Python peer (bounded by timeouts).
    let server = r"
import socket,sys
t=socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); t.bind(('10.77.0.2',5001)); t.listen(1); t.settimeout(10)
u=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); u.bind(('10.77.0.2',5002)); u.settimeout(10)
c,_=t.accept(); c.settimeout(10); data=b''
while len(data)<100000:
    b=c.recv(65536)
    if not b: break
    data+=b
c.sendall(str(len(data)).encode()); c.close()
m,a=u.recvfrom(2048); u.sendto(m[::-1],a)
";
    let srv =
        std::process::Command::new("ip").args(["netns", "exec", &w.vm2.name, "python3", "-c", server]).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let client = r"
import socket
c=socket.create_connection(('10.77.0.2',5001),timeout=10); c.sendall(b'x'*100000); c.shutdown(socket.SHUT_WR)
print(c.recv(100).decode())
u=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); u.settimeout(5); u.sendto(b'ferrovs',('10.77.0.2',5002)); print(u.recvfrom(100)[0].decode())
";
    let out = w.vm1.sh(&["python3", "-c", client]);
    assert_eq!(out.lines().collect::<Vec<_>>(), vec!["100000", "svorref"], "TCP byte count and UDP echo");
    let mut srv = srv;
    let _ = srv.wait();

    // Counters reach the rules (pushed every 500 ms) and the megaflows are visible.
    wait_for(
        Duration::from_secs(3),
        || !w.d.cli(&["ofctl", "dump-flows", "br0"]).contains("n_packets=0,"),
        || w.d.cli(&["ofctl", "dump-flows", "br0"]),
    );
    let dp = w.d.cli(&["appctl", "dpctl/dump-flows"]);
    assert!(dp.contains("actions:"), "{dp}");
    let stats = w.d.cli(&["appctl", "pmd-stats-show"]);
    assert!(stats.contains("megaflow hits") && stats.contains("emc hits"), "{stats}");
    let _ = (&w.sw, &w.p1, &w.p2);
}

#[test]
fn caches_off_delivers_the_same_as_caches_on() {
    if !common::require_root("caches_off_delivers_the_same_as_caches_on") {
        return;
    }
    let w = world();
    let count = |w: &World| {
        let out = w.vm1.exec(&["ping", "-c", "20", "-i", "0.05", "-W", "1", "-w", "8", "10.77.0.2"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.lines()
            .find_map(|l| l.split(", ").find_map(|p| p.strip_suffix(" received")).map(str::to_owned))
            .unwrap_or_default()
    };
    let with_caches = count(&w);
    w.d.cli(&["appctl", "dpif/caches", "off"]);
    let without = count(&w);
    assert_eq!(with_caches, "20");
    assert_eq!(without, with_caches, "caches must not change what is delivered");
    let stats = w.d.cli(&["appctl", "pmd-stats-show"]);
    assert!(stats.contains("miss with success upcall"), "{stats}");
}

#[test]
fn patch_ports_join_two_bridges() {
    if !common::require_root("patch_ports_join_two_bridges") {
        return;
    }
    let w = world();
    // Move vm2's port to a second bridge joined to br0 by a patch pair.
    w.d.cli(&["del-port", "br0", &w.p2]);
    let (a, b) = (common::unique("pa"), common::unique("pb"));
    let p3 = common::unique("sq");
    let v3 = common::unique("vq");
    veth(&w.sw, &p3, &w.vm2, &v3);
    w.vm2.sh(&["ip", "addr", "add", "10.77.0.3/24", "dev", &v3]);
    w.d.cli(&[
        "add-br",
        "br1",
        "--",
        "add-port",
        "br1",
        &p3,
        "--",
        "add-port",
        "br0",
        &a,
        "--",
        "set",
        "interface",
        &a,
        "type=patch",
        &format!("options:peer={b}"),
        "--",
        "add-port",
        "br1",
        &b,
        "--",
        "set",
        "interface",
        &b,
        "type=patch",
        &format!("options:peer={a}"),
    ]);
    assert!(w.vm1.ping("10.77.0.3", 3), "ping through br0 -> patch -> br1; log:\n{}", w.d.log());
    let trace = w.d.cli(&["appctl", "ofproto/trace", "br0", "in_port=1,dl_dst=ff:ff:ff:ff:ff:ff"]);
    assert!(trace.contains("patch port to bridge br1"), "{trace}");
}

#[test]
fn port_added_and_removed_under_traffic_and_restart_after_sigkill() {
    if !common::require_root("port_added_and_removed_under_traffic_and_restart_after_sigkill") {
        return;
    }
    let mut w = world();
    // A third VM joins while vm1 pings vm2.
    let vm3 = Netns::new("fv3");
    let (p3, v3) = (common::unique("sr"), common::unique("vr"));
    veth(&w.sw, &p3, &vm3, &v3);
    vm3.sh(&["ip", "addr", "add", "10.77.0.3/24", "dev", &v3]);
    let pinger = std::process::Command::new("ip")
        .args(["netns", "exec", &w.vm1.name, "ping", "-c", "30", "-i", "0.1", "-W", "1", "-w", "10", "10.77.0.2"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    w.d.cli(&["add-port", "br0", &p3]);
    assert!(vm3.ping("10.77.0.1", 2), "new port forwards");
    w.d.cli(&["del-port", "br0", &p3]);
    assert!(!vm3.ping("10.77.0.1", 1), "removed port does not");
    let out = pinger.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(" 0% packet loss") || text.contains(" 3% packet loss"),
        "traffic between others undisturbed: {text}"
    );

    // Crash and restart: configuration intact, ports back, forwarding again.
    w.d.cli(&["add-port", "br0", &p3, "--", "set", "interface", &p3, "ofport_request=9"]);
    w.d.kill();
    w.d.spawn();
    let ports = w.d.cli(&["list-ports", "br0"]);
    assert!(ports.contains(&w.p1) && ports.contains(&p3), "{ports}");
    assert_eq!(w.d.cli(&["get", "interface", &p3, "ofport"]).trim(), "9");
    assert!(vm3.ping("10.77.0.1", 3), "forwarding after restart; log:\n{}", w.d.log());
}

#[test]
fn cli_errors_are_one_line_and_change_nothing() {
    if !common::require_root("cli_errors_are_one_line_and_change_nothing") {
        return;
    }
    let sw = Netns::new("fsw");
    let d = Daemon::start(&sw);
    d.cli(&["add-br", "br0"]);
    let before = std::fs::read_to_string(d.db()).unwrap();
    for bad in [
        &["add-br", "br0"][..],
        &["add-port", "nobr", "x"],
        &["add-port", "br0", "nosuchdev0"],
        &["ofctl", "add-flow", "br0", "tp_dst=80,actions=drop"],
        &["frob"],
    ] {
        let out = d.try_cli(bad);
        assert!(!out.status.success(), "{bad:?} must fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{bad:?}: one line: {err}");
    }
    assert_eq!(std::fs::read_to_string(d.db()).unwrap(), before, "nothing half-applied");
}
