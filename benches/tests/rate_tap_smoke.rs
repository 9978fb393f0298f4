//! Smoke test of the harness's VM (tap) path scenarios (not of performance): a short paced run
//! with a debug ferrovsd must create the VM's tap, carry frames from the VM's descriptor to the
//! sink (`tap-rx-64b`) and from the generator to the VM's descriptor (`tap-tx-64b`), and leave
//! no namespace behind. Needs root and the workspace's `ferrovsd` / `ferrovs` next to the `rate`
//! binary (`cargo test --workspace` builds them); skips with a reason elsewhere, fails under
//! CI=true.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

fn require(test: &str, bindir: &Path) -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let uid0 = status.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
    let tools = [["ip", "-V"], ["ethtool", "--version"]]
        .iter()
        .all(|[t, v]| Command::new(t).arg(v).output().is_ok_and(|o| o.status.success()));
    let tun = Path::new("/dev/net/tun").exists();
    let bins = bindir.join("ferrovsd").exists() && bindir.join("ferrovs").exists();
    if uid0 && tools && tun && bins {
        return true;
    }
    let why = if !uid0 {
        "it needs root (network namespaces, XDP, tap devices)"
    } else if !tools || !tun {
        "ip, ethtool or /dev/net/tun missing"
    } else {
        "ferrovsd/ferrovs not built next to the rate binary (cargo build -p ctl)"
    };
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{test}: cannot run under CI: {why}");
    eprintln!("SKIP {test}: {why}");
    false
}

#[test]
fn tap_scenarios_carry_frames_both_ways_and_clean_up() {
    let rate = Path::new(env!("CARGO_BIN_EXE_rate"));
    let bindir = rate.parent().unwrap();
    if !require("tap_scenarios_carry_frames_both_ways_and_clean_up", bindir) {
        return;
    }
    let child = Command::new(rate)
        .args(["--switch", "ferrovs", "--scenario", "tap-rx-64b,tap-tx-64b", "--duration", "0.5", "--pps", "20000"])
        .arg("--ferrovs-dir")
        .arg(bindir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "rate failed:\n{stdout}\n{stderr}");
    for scenario in ["tap-rx-64b", "tap-tx-64b"] {
        let prefix = format!("| {scenario} | ferrovs |");
        let row = stdout.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("{stdout}\n{stderr}"));
        let cols: Vec<&str> = row.split('|').map(str::trim).collect();
        let forwarded: f64 = cols[5].parse().unwrap();
        assert!(forwarded > 0.0, "nothing crossed the switch: {row}\n{stderr}");
    }
    let prefix = format!("frate-{pid}-");
    let left: Vec<String> = std::fs::read_dir("/run/netns")
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    assert!(left.iter().all(|n| !n.starts_with(&prefix)), "namespaces left behind: {left:?}");
}
