//! Smoke tests of the packet-rate harness itself (not of any switch's performance): a 0.5 s
//! kernel-ceiling run must build its namespaces, generate, forward and count frames, print the
//! table, and leave no namespace behind; SIGINT in the middle of a run must stop it and remove
//! its namespaces. Need root; skip with a reason elsewhere, fail under CI=true.

#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::{Duration, Instant};

fn require_root(test: &str) -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let uid0 = status.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
    let tools = [["ip", "-V"], ["ethtool", "--version"]]
        .iter()
        .all(|[t, v]| Command::new(t).arg(v).output().is_ok_and(|o| o.status.success()));
    if uid0 && tools {
        return true;
    }
    let why = if uid0 { "ip or ethtool missing" } else { "it needs root (network namespaces, XDP)" };
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{test}: cannot run under CI: {why}");
    eprintln!("SKIP {test}: {why}");
    false
}

fn namespaces_of(pid: u32) -> Vec<String> {
    let prefix = format!("frate-{pid}-");
    std::fs::read_dir("/run/netns")
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n.starts_with(&prefix))
        .collect()
}

#[test]
fn kernel_ceiling_half_second_run_prints_a_row_and_cleans_up() {
    if !require_root("kernel_ceiling_half_second_run_prints_a_row_and_cleans_up") {
        return;
    }
    let child = Command::new(env!("CARGO_BIN_EXE_rate"))
        .args(["--switch", "kernel", "--scenario", "64b-1flow", "--duration", "0.5"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "rate failed:\n{stdout}\n{stderr}");
    let row = stdout.lines().find(|l| l.starts_with("| 64b-1flow | kernel |")).unwrap_or_else(|| panic!("{stdout}"));
    let cols: Vec<&str> = row.split('|').map(str::trim).collect();
    let forwarded: f64 = cols[5].parse().unwrap();
    assert!(forwarded > 0.0, "nothing reached the sink: {row}\n{stderr}");
    assert!(row.contains("--switch kernel --scenario 64b-1flow --duration 0.5"), "{row}");
    assert_eq!(namespaces_of(pid), Vec::<String>::new(), "namespaces left behind");
}

#[test]
fn ctrl_c_mid_run_stops_and_removes_the_namespaces() {
    if !require_root("ctrl_c_mid_run_stops_and_removes_the_namespaces") {
        return;
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_rate"))
        .args(["--switch", "kernel", "--scenario", "64b-1flow", "--duration", "30"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
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
