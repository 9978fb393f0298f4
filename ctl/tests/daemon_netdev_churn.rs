//! A port's device deleted and recreated, renamed, and moved to another namespace and back,
//! while traffic runs: the port stays configured, stops forwarding while its device is away,
//! and forwards again on its own once the device is back (no CLI action), as on Open vSwitch.

#![allow(clippy::unwrap_used)]

mod common;
use common::{veth, wait_for, Daemon, Netns};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Whether one ping from `vm` to `addr` comes back within a second.
fn one_ping(vm: &Netns, addr: &str) -> bool {
    vm.exec(&["ping", "-c", "1", "-W", "1", addr]).status.success()
}

fn forwards_again(d: &Daemon, vm: &Netns, what: &str) {
    wait_for(
        Duration::from_secs(10),
        || one_ping(vm, "10.8.0.2"),
        || format!("no forwarding after {what}\n{}", d.log()),
    );
}

#[test]
fn port_device_recreated_renamed_and_moved_under_traffic() {
    if !common::require_root("port_device_recreated_renamed_and_moved_under_traffic") {
        return;
    }
    let sw = Netns::new("fcs");
    let vm1 = Netns::new("fcv");
    let vm2 = Netns::new("fcv");
    let away = Netns::new("fca");
    let (p1, v1) = (common::unique("cp"), common::unique("cv"));
    let (p2, v2) = (common::unique("cp"), common::unique("cv"));
    veth(&sw, &p1, &vm1, &v1);
    veth(&sw, &p2, &vm2, &v2);
    vm1.sh(&["ip", "addr", "add", "10.8.0.1/24", "dev", &v1]);
    vm2.sh(&["ip", "addr", "add", "10.8.0.2/24", "dev", &v2]);
    let d = Daemon::start(&sw);
    d.cli(&["add-br", "br0", "--", "add-port", "br0", &p1, "--", "add-port", "br0", &p2]);
    assert!(vm1.ping("10.8.0.2", 2), "{}", d.log());

    // Traffic for the whole test, bounded by ping's own deadline.
    let mut traffic = Command::new("ip")
        .args(["netns", "exec", &vm2.name, "ping", "-q", "-i", "0.05", "-w", "40", "10.8.0.1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    // Deleted and recreated under the same name (a new interface index).
    sw.sh(&["ip", "link", "del", &p1]);
    std::thread::sleep(Duration::from_millis(300));
    veth(&sw, &p1, &vm1, &v1);
    vm1.sh(&["ip", "addr", "add", "10.8.0.1/24", "dev", &v1]);
    forwards_again(&d, &vm1, "the device was recreated");

    // Renamed away: the port stops; renamed back: it forwards again.
    sw.sh(&["ip", "link", "set", &p1, "down"]);
    sw.sh(&["ip", "link", "set", &p1, "name", "fvrenamed"]);
    sw.sh(&["ip", "link", "set", "fvrenamed", "up"]);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!one_ping(&vm1, "10.8.0.2"), "a renamed device must not be used under its old port");
    sw.sh(&["ip", "link", "set", "fvrenamed", "down"]);
    sw.sh(&["ip", "link", "set", "fvrenamed", "name", &p1]);
    sw.sh(&["ip", "link", "set", &p1, "up"]);
    forwards_again(&d, &vm1, "the device got its name back");

    // Moved to another namespace and back (the interface index can stay the same).
    sw.sh(&["ip", "link", "set", &p1, "netns", &away.name]);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!one_ping(&vm1, "10.8.0.2"), "a device in another namespace must not be used");
    away.sh(&["ip", "link", "set", &p1, "netns", &sw.name]);
    sw.sh(&["ip", "link", "set", &p1, "up"]);
    forwards_again(&d, &vm1, "the device came back from another namespace");

    // Still one configuration, unchanged by all this.
    assert!(d.cli(&["list-ports", "br0"]).contains(&p1));
    let log = d.log();
    assert_eq!(log.matches("device back, reopened").count(), 3, "{log}");
    let _ = traffic.kill();
    let _ = traffic.wait();
}
