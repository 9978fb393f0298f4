//! Controller faults ferrovsd must survive: a peer that floods echo requests and flow_mods and
//! never reads its replies is cut off at its queue bound (the daemon's memory stays bounded and
//! other connections keep working); a controller that keeps hanging up is redialled with
//! backoff (1, 2, 4, 8 s, as Open vSwitch), and meanwhile a standalone bridge forwards with
//! NORMAL (fail-open) while a secure one keeps only its own flows.

#![allow(clippy::unwrap_used)]

mod common;
use common::{Daemon, Netns};
use std::process::{Command, Stdio};

const PEER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/of_peer.py");

fn rss_kib(d: &Daemon) -> u64 {
    let pid = std::fs::read_to_string(d.rundir().join("ferrovsd.pid")).unwrap();
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid.trim())).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

#[test]
fn peer_flooding_without_reading_is_cut_off_and_memory_stays_bounded() {
    if !common::require_root("peer_flooding_without_reading_is_cut_off") {
        return;
    }
    let sw = Netns::new("fof");
    let d = Daemon::start(&sw);
    d.cli(&["add-br", "br0"]);
    let mgmt = d.rundir().join("br0.mgmt");
    let mgmt = mgmt.to_str().unwrap();
    let before = rss_kib(&d);
    let out = sw.sh(&["timeout", "60", "python3", PEER, "flood", mgmt, "20"]);
    let after = rss_kib(&d);
    assert!(out.contains("closed=yes"), "the switch never cut the flooding peer off: {out}\n{}", d.log());
    // The cut-off is at 16 MiB of queued replies; allow that plus slack, nothing unbounded.
    assert!(after < before + 48 * 1024, "RSS grew from {before} KiB to {after} KiB: {out}");
    assert!(d.log().contains("does not read"), "{}", d.log());
    // Still serving: another connection works, and the repeated flow_mod is one flow.
    let dump = Command::new("ovs-ofctl").args(["-O", "OpenFlow13", "dump-flows", &format!("unix:{mgmt}")]).output();
    let dump = String::from_utf8_lossy(&dump.unwrap().stdout).into_owned();
    assert_eq!(dump.matches("priority=7").count(), 1, "{dump}");
}

#[test]
fn unreachable_controller_is_redialled_with_backoff_and_fail_mode_decides_forwarding() {
    if !common::require_root("unreachable_controller_is_redialled_with_backoff") {
        return;
    }
    let sw = Netns::new("fob");
    let d = Daemon::start(&sw);
    let port = (21000 + std::process::id() % 20000).to_string();
    let listener = Command::new("ip")
        .args(["netns", "exec", &sw.name, "timeout", "30", "python3", PEER, "listen", &port, "13"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    // br1 is secure from its creation, so it never gets the standalone NORMAL flow (Open
    // vSwitch adds that flow when a bridge's flows are created or flushed, not later).
    d.cli(&["add-br", "br0", "--", "add-br", "br1", "--", "set-fail-mode", "br1", "secure"]);
    d.cli(&["set-controller", "br0", &format!("tcp:127.0.0.1:{port}")]);
    d.cli(&["set-controller", "br1", &format!("tcp:127.0.0.1:{port}")]);
    let out = listener.wait_with_output().unwrap();
    let times: Vec<f64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("conn "))
        .filter_map(|t| t.parse().ok())
        .collect();
    // Two bridges, each redialling after 1, 2, 4, 8 s: about 5 connections each in 13 s, never
    // a tight loop.
    assert!(times.len() >= 4, "too few connection attempts: {times:?}\n{}", d.log());
    assert!(times.len() <= 12, "no backoff: {} connections in 13 s: {times:?}", times.len());
    // Standalone (fail-open): NORMAL while no controller is connected; secure: no NORMAL flow.
    let flows = |br: &str| {
        let mgmt = d.rundir().join(format!("{br}.mgmt"));
        let o = Command::new("ovs-ofctl").args(["dump-flows", &format!("unix:{}", mgmt.display())]).output().unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    assert!(flows("br0").contains("actions=NORMAL"), "{}", flows("br0"));
    assert!(!flows("br1").contains("actions=NORMAL"), "{}", flows("br1"));
}
