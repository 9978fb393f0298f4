//! Test worlds for the daemon tests: uniquely named network namespaces and veth pairs that
//! are removed even when a test fails (Drop guards), a ferrovsd running inside a namespace,
//! and the `ferrovs` CLI pointed at it. Tests that need root skip with a reason, except under
//! CI=true, where they fail loudly.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A short unique name (interface names are limited to 15 characters).
pub fn unique(prefix: &str) -> String {
    format!("{prefix}{}x{}", std::process::id() % 100_000, SEQ.fetch_add(1, Ordering::Relaxed))
}

/// Whether the test may run; panics under CI=true without root.
pub fn require_root(test: &str) -> bool {
    // SAFETY-free check: /proc/self/status Uid line.
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let uid0 = status.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
    let have_ip =
        Command::new("ip").arg("-V").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    if uid0 && have_ip {
        return true;
    }
    let why = if uid0 { "the ip command (iproute2) is missing" } else { "it needs root (network namespaces)" };
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{test}: cannot run under CI: {why}");
    eprintln!("SKIP {test}: {why}");
    false
}

/// Runs a command, panicking with its output if it fails.
pub fn sh(args: &[&str]) -> String {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a command and returns its output whatever the status.
pub fn try_sh(args: &[&str]) -> Output {
    Command::new(args[0]).args(&args[1..]).output().unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// A network namespace, deleted on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(prefix: &str) -> Self {
        let name = unique(prefix);
        sh(&["ip", "netns", "add", &name]);
        sh(&["ip", "-n", &name, "link", "set", "lo", "up"]);
        Netns { name }
    }

    /// Runs a command inside the namespace.
    pub fn exec(&self, args: &[&str]) -> Output {
        let mut full = vec!["ip", "netns", "exec", &self.name];
        full.extend_from_slice(args);
        try_sh(&full)
    }

    /// Runs a command inside the namespace and requires success.
    pub fn sh(&self, args: &[&str]) -> String {
        let out = self.exec(args);
        assert!(
            out.status.success(),
            "[{}] {args:?} failed: {}{}",
            self.name,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Pings `addr` (bounded: `count` probes, 1 s deadline each); returns whether all came back.
    pub fn ping(&self, addr: &str, count: u32) -> bool {
        let c = count.to_string();
        let w = (count + 2).to_string();
        let out = self.exec(&["ping", "-c", &c, "-i", "0.2", "-W", "1", "-w", &w, addr]);
        out.status.success()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.name]).status();
    }
}

/// A veth pair with one end in `a` and the other in `b`, each given an address if wanted.
pub fn veth(a: &Netns, a_name: &str, b: &Netns, b_name: &str) {
    sh(&["ip", "link", "add", a_name, "netns", &a.name, "type", "veth", "peer", "name", b_name, "netns", &b.name]);
    a.sh(&["ip", "link", "set", a_name, "up"]);
    b.sh(&["ip", "link", "set", b_name, "up"]);
}

/// ferrovsd running inside a namespace, killed on drop.
pub struct Daemon {
    pub ns: String,
    pub dir: PathBuf,
    child: Option<Child>,
}

pub fn bin(name: &str) -> PathBuf {
    let p = match name {
        "ferrovsd" => env!("CARGO_BIN_EXE_ferrovsd"),
        _ => env!("CARGO_BIN_EXE_ferrovs"),
    };
    PathBuf::from(p)
}

impl Daemon {
    /// Starts ferrovsd in `ns` with its own rundir and config file under a fresh directory.
    pub fn start(ns: &Netns) -> Self {
        let dir = std::env::temp_dir().join(unique("ferrovs-test-"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut d = Daemon { ns: ns.name.clone(), dir, child: None };
        d.spawn();
        d
    }

    pub fn db(&self) -> PathBuf {
        self.dir.join("conf.json")
    }

    pub fn spawn(&mut self) {
        let log = std::fs::File::create(self.dir.join("ferrovsd.log")).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns])
            .arg(bin("ferrovsd"))
            .arg("--rundir")
            .arg(&self.dir)
            .arg("--db")
            .arg(self.db())
            .arg("-v")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let sock = self.dir.join("ferrovsd.ctl");
        wait_for(
            Duration::from_secs(10),
            || sock.exists() && self.try_cli(&["list-br"]).status.success(),
            || format!("ferrovsd did not start; log:\n{}", self.log()),
        );
    }

    /// SIGKILLs the daemon (crash).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        // `ip netns exec` forwards nothing: kill the daemon itself by its pidfile.
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("ferrovsd.pid")) {
            let _ = Command::new("kill").args(["-9", pid.trim()]).status();
        }
        std::thread::sleep(Duration::from_millis(200));
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("ferrovsd.log")).unwrap_or_default()
    }

    pub fn try_cli(&self, args: &[&str]) -> Output {
        Command::new(bin("ferrovs")).arg("--rundir").arg(&self.dir).args(args).output().unwrap()
    }

    /// Runs `ferrovs ARGS` against this daemon and requires success.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = self.try_cli(args);
        assert!(
            out.status.success(),
            "ferrovs {args:?} failed: {}\ndaemon log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn rundir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("ferrovsd.pid")) {
            let _ = Command::new("kill").args(["-TERM", pid.trim()]).status();
        }
        if let Some(mut c) = self.child.take() {
            let deadline = Instant::now() + Duration::from_secs(3);
            while Instant::now() < deadline {
                if c.try_wait().ok().flatten().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Polls `cond` until it holds or `limit` passes (then panics with `why()`).
pub fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool, why: impl Fn() -> String) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out after {limit:?}: {}", why());
}

/// The number after `what` in `text` (e.g. "packets: 12").
pub fn number_after(text: &str, what: &str) -> u64 {
    let at = text.find(what).unwrap_or_else(|| panic!("no {what:?} in {text}")) + what.len();
    text[at..].trim_start().split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
}

/// Packets the in-kernel fast path has forwarded (`dpif/offload show`).
pub fn offload_packets(d: &Daemon) -> u64 {
    number_after(&d.cli(&["appctl", "dpif/offload", "show"]), "packets:")
}

/// Packets the poll thread has received (`pmd-stats-show`).
pub fn pmd_packets(d: &Daemon) -> u64 {
    number_after(&d.cli(&["appctl", "pmd-stats-show"]), "packets received:")
}

/// Pings quickly (`count` probes 10 ms apart, bounded to 10 s); returns how many replies came
/// back.
pub fn fast_ping(ns: &Netns, addr: &str, count: u32) -> u32 {
    let out = ns.exec(&["ping", "-c", &count.to_string(), "-i", "0.01", "-W", "1", "-w", "10", addr]);
    let text = String::from_utf8_lossy(&out.stdout);
    text.split(',').find(|p| p.contains("received")).map_or(0, |p| number_after(p, "") as u32)
}

/// No IPv6 chatter in a namespace; and, since a host's kernel also sees frames arriving on its
/// physical veth, ARP answered only on the interface holding the address.
pub fn quiet(ns: &Netns) {
    for knob in [
        "net.ipv6.conf.all.disable_ipv6=1",
        "net.ipv6.conf.default.disable_ipv6=1",
        "net.ipv4.conf.all.arp_ignore=1",
        "net.ipv4.conf.all.arp_announce=2",
    ] {
        ns.sh(&["sysctl", "-qw", knob]);
    }
}

/// A counter of `port` in `ovs-ofctl dump-ports` output (`port  1: rx pkts=..., drop=...` and
/// its `tx` line): `dir` is "rx" or "tx", `field` e.g. "pkts" or "drop".
pub fn port_stat(dump: &str, port: &str, dir: &str, field: &str) -> Option<u64> {
    let rest = dump.split(&format!("port  {port}:")).nth(1)?;
    let line = rest.lines().take(2).find(|l| l.trim_start().starts_with(dir))?;
    line.split(&format!("{field}=")).nth(1)?.split(',').next()?.trim().parse().ok()
}
