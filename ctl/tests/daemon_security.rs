//! What a local attacker sees of ferrovsd: the control socket and every bridge's OpenFlow
//! management socket are mode 0600 and owned by the daemon's user, and the daemon listens on no
//! TCP port unless a passive controller target (`ptcp:`) is configured; removing it closes it.

#![allow(clippy::unwrap_used)]

mod common;
use common::{wait_for, Daemon, Netns};
use std::os::unix::fs::MetadataExt;
use std::time::Duration;

/// TCP ports in LISTEN state in the namespace (from `ss`, which reads the namespace's tables).
fn tcp_listeners(ns: &Netns) -> Vec<String> {
    let out = ns.sh(&["ss", "-Hltn"]);
    out.lines().filter_map(|l| l.split_whitespace().nth(3).map(str::to_owned)).collect()
}

#[test]
fn sockets_are_private_and_no_tcp_listener_unless_configured() {
    if !common::require_root("sockets_are_private_and_no_tcp_listener_unless_configured") {
        return;
    }
    let sw = Netns::new("fsec");
    let d = Daemon::start(&sw);
    d.cli(&["add-br", "br0", "--", "add-br", "br1"]);
    let pid = std::fs::read_to_string(d.rundir().join("ferrovsd.pid")).unwrap();
    let daemon_uid = std::fs::metadata(format!("/proc/{}", pid.trim())).unwrap().uid();
    for name in ["ferrovsd.ctl", "br0.mgmt", "br1.mgmt"] {
        let path = d.rundir().join(name);
        wait_for(Duration::from_secs(5), || path.exists(), || format!("{name} missing\n{}", d.log()));
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o600, "{name} mode {:o}", meta.mode() & 0o777);
        assert_eq!(meta.uid(), daemon_uid, "{name} owner");
    }
    assert!(tcp_listeners(&sw).is_empty(), "listening without being asked: {:?}", tcp_listeners(&sw));
    let port = (22000 + std::process::id() % 20000).to_string();
    d.cli(&["set-controller", "br0", &format!("ptcp:{port}:127.0.0.1")]);
    let want = format!("127.0.0.1:{port}");
    wait_for(Duration::from_secs(5), || tcp_listeners(&sw).contains(&want), || format!("{:?}", tcp_listeners(&sw)));
    d.cli(&["del-controller", "br0"]);
    wait_for(Duration::from_secs(5), || tcp_listeners(&sw).is_empty(), || format!("{:?}", tcp_listeners(&sw)));
}
