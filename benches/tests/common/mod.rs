//! What the harness's smoke tests share: the root/tool checks (skip with a reason, fail under
//! CI=true), running the `rate` binary, reading a row's forwarded rate, and the namespaces a run
//! leaves behind.

#![allow(clippy::unwrap_used, dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The `rate` binary and the directory with it (where `cargo test` also builds ferrovsd).
pub fn rate_bin() -> (PathBuf, PathBuf) {
    let rate = PathBuf::from(env!("CARGO_BIN_EXE_rate"));
    let dir = rate.parent().unwrap().to_path_buf();
    (rate, dir)
}

/// Whether `test` can run: root, the `tools` (each `[program, version flag]`), /dev/net/tun if
/// `tun`, ferrovsd/ferrovs next to `rate` if `ferrovs`. Skips with the reason, or fails under
/// CI=true.
pub fn require(test: &str, tools: &[[&str; 2]], tun: bool, ferrovs: bool) -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let uid0 = status.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
    let missing: Vec<&str> = tools
        .iter()
        .filter(|[t, v]| !Command::new(t).arg(v).output().is_ok_and(|o| o.status.success()))
        .map(|[t, _]| *t)
        .collect();
    let (_, dir) = rate_bin();
    let why = if !uid0 {
        "it needs root (network namespaces, XDP)".to_owned()
    } else if !missing.is_empty() {
        format!("missing: {}", missing.join(", "))
    } else if tun && !Path::new("/dev/net/tun").exists() {
        "/dev/net/tun missing".to_owned()
    } else if ferrovs && !(dir.join("ferrovsd").exists() && dir.join("ferrovs").exists()) {
        "ferrovsd/ferrovs not built next to the rate binary (cargo build -p ctl)".to_owned()
    } else {
        return true;
    };
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{test}: cannot run under CI: {why}");
    eprintln!("SKIP {test}: {why}");
    false
}

/// Starts `rate` with `args` (and `--ferrovs-dir` = its own directory), output captured.
pub fn spawn_rate(args: &[&str]) -> Child {
    let (rate, dir) = rate_bin();
    Command::new(rate)
        .args(args)
        .arg("--ferrovs-dir")
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// A finished run: its pid (namespaces are named after it), stdout and stderr.
pub struct RateRun {
    pub pid: u32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `rate` with `args` to the end and requires success.
pub fn run_rate(args: &[&str]) -> RateRun {
    let child = spawn_rate(args);
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let run = RateRun {
        pid,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(out.status.success(), "rate failed:\n{}\n{}", run.stdout, run.stderr);
    run
}

impl RateRun {
    /// The row of `scenario` for `switch`, and its forwarded Mpps.
    pub fn forwarded(&self, scenario: &str, switch: &str) -> (String, f64) {
        let prefix = format!("| {scenario} | {switch} |");
        let row = self
            .stdout
            .lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no row {prefix}:\n{}\n{}", self.stdout, self.stderr));
        let cols: Vec<&str> = row.split('|').map(str::trim).collect();
        (row.to_owned(), cols[5].parse().unwrap())
    }
}

/// The harness namespaces of run `pid` that still exist.
pub fn namespaces_of(pid: u32) -> Vec<String> {
    let prefix = format!("frate-{pid}-");
    std::fs::read_dir("/run/netns")
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n.starts_with(&prefix))
        .collect()
}
