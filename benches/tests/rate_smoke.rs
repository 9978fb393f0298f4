//! Smoke tests of the packet-rate harness itself (not of any switch's performance): a 0.5 s
//! kernel-ceiling run must build its namespaces, generate, forward and count frames, print the
//! table, and leave no namespace behind; SIGINT in the middle of a run must stop it and remove
//! its namespaces. Need root; skip with a reason elsewhere, fail under CI=true.

#![allow(clippy::unwrap_used)]

mod common;
use common::{namespaces_of, require, run_rate, spawn_rate};
use std::process::Command;
use std::time::{Duration, Instant};

const TOOLS: [[&str; 2]; 2] = [["ip", "-V"], ["ethtool", "--version"]];

#[test]
fn kernel_ceiling_half_second_run_prints_a_row_and_cleans_up() {
    if !require("kernel_ceiling_half_second_run_prints_a_row_and_cleans_up", &TOOLS, false, false) {
        return;
    }
    let run = run_rate(&["--switch", "kernel", "--scenario", "64b-1flow", "--duration", "0.5"]);
    let (row, forwarded) = run.forwarded("64b-1flow", "kernel");
    assert!(forwarded > 0.0, "nothing reached the sink: {row}\n{}", run.stderr);
    assert!(row.contains("--switch kernel --scenario 64b-1flow --duration 0.5"), "{row}");
    assert_eq!(namespaces_of(run.pid), Vec::<String>::new(), "namespaces left behind");
}

#[test]
fn ctrl_c_mid_run_stops_and_removes_the_namespaces() {
    if !require("ctrl_c_mid_run_stops_and_removes_the_namespaces", &TOOLS, false, false) {
        return;
    }
    let mut child = spawn_rate(&["--switch", "kernel", "--scenario", "64b-1flow", "--duration", "30"]);
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(10);
    while namespaces_of(pid).len() < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(namespaces_of(pid).len(), 3, "the run did not build its topology in 10 s");
    std::thread::sleep(Duration::from_millis(800));
    assert!(Command::new("kill").args(["-INT", &pid.to_string()]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(15);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    if child.try_wait().unwrap().is_none() {
        let _ = child.kill();
        panic!("rate did not stop within 15 s of SIGINT");
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Interrupted"), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(namespaces_of(pid), Vec::<String>::new(), "namespaces left behind after SIGINT");
}
