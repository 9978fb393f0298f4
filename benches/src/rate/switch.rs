//! The switches under test, each started inside the switch namespace between s0 and s1 with the
//! flow `in_port=1,actions=output:2`: ferrovsd (this repo's, ports as `ferrovs add-port` makes
//! them), Open vSwitch's userspace datapath (its own ovsdb-server and ovs-vswitchd with rundir
//! and database in a temp dir, `datapath_type=netdev`, `type=afxdp` ports), and the kernel
//! ceiling (an XDP devmap redirect, no process). Processes are stopped and temp dirs removed on
//! drop; their CPU time is read from /proc/<pid>/stat.

use anyhow::{bail, Context, Result};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::netns::{run, Netns};
use super::sys;
use super::xdp::KernelForwarder;

/// Which switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwitchKind {
    Ferrovs,
    Ovs,
    Kernel,
}

impl SwitchKind {
    pub const ALL: [SwitchKind; 3] = [SwitchKind::Ferrovs, SwitchKind::Ovs, SwitchKind::Kernel];

    pub fn name(self) -> &'static str {
        match self {
            SwitchKind::Ferrovs => "ferrovs",
            SwitchKind::Ovs => "ovs",
            SwitchKind::Kernel => "kernel",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }
}

/// A process we started, SIGTERMed (then SIGKILLed after 3 s) on drop.
#[derive(Debug)]
pub(crate) struct Proc {
    pub(crate) child: Child,
}

impl Proc {
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A temp directory removed on drop.
#[derive(Debug)]
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    pub(crate) fn new(what: &str) -> Result<Self> {
        let p = std::env::temp_dir().join(format!("frate-{}-{what}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).with_context(|| format!("creating {}", p.display()))?;
        Ok(TempDir(p))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Starts this repo's ferrovsd (from `bindir`) in `ns`, with its rundir and configuration in
/// `dir` and its log in `dir/ferrovsd.log`, and waits until its CLI answers; returns the process
/// and the CLI's path.
pub(crate) fn spawn_ferrovsd(ns: &Netns, bindir: &Path, dir: &Path, offload: bool) -> Result<(Proc, PathBuf)> {
    let daemon = bindir.join("ferrovsd");
    let cli = bindir.join("ferrovs");
    if !daemon.exists() || !cli.exists() {
        bail!("{} or {} missing: cargo build --release -p ctl", daemon.display(), cli.display());
    }
    let log = dir.join("ferrovsd.log");
    let child = ns
        .command(&daemon)
        .arg("--rundir")
        .arg(dir)
        .arg("--db")
        .arg(dir.join("conf.json"))
        .stdout(Stdio::null())
        .stderr(File::create(&log)?)
        .spawn()
        .context("starting ferrovsd")?;
    let proc = Proc { child };
    let answers = || run(Command::new(&cli).arg("--rundir").arg(dir).arg("list-br")).is_ok();
    if !wait_until(Duration::from_secs(10), answers) {
        bail!("ferrovsd did not start; log:\n{}", log_tail(&log));
    }
    if !offload {
        run(Command::new(&cli).arg("--rundir").arg(dir).args(["appctl", "dpif/offload", "off"]))
            .with_context(|| format!("turning the XDP fast path off; log:\n{}", log_tail(&log)))?;
    }
    Ok((proc, cli))
}

/// Starts Open vSwitch in `ns` with everything under `dir` (the `OVS_*DIR` variables): a fresh
/// database served by ovsdb-server on `dir/db.sock`, initialised, then ovs-vswitchd logging to
/// `dir/ovs-vswitchd.log` with its control socket `dir/ovs-vswitchd.ctl`. Returns both
/// processes (ovsdb-server first).
pub(crate) fn spawn_ovs(ns: &Netns, dir: &Path) -> Result<Vec<Proc>> {
    let db = dir.join("conf.db");
    let sock = format!("unix:{}", dir.join("db.sock").display());
    let schema = ["/usr/share/openvswitch/vswitch.ovsschema", "/usr/local/share/openvswitch/vswitch.ovsschema"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .context("vswitch.ovsschema not found: apt-get install openvswitch-switch")?;
    run(Command::new("ovsdb-tool").arg("create").arg(&db).arg(schema))?;
    let mut procs = vec![];
    let mut c = ns.command("ovsdb-server");
    ovs_env(&mut c, dir);
    c.arg(&db)
        .arg(format!("--remote=p{sock}"))
        .arg(format!("--pidfile={}", dir.join("ovsdb-server.pid").display()))
        .arg(format!("--unixctl={}", dir.join("ovsdb-server.ctl").display()))
        .arg(format!("--log-file={}", dir.join("ovsdb-server.log").display()))
        .arg("-vconsole:off")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    procs.push(Proc { child: c.spawn().context("starting ovsdb-server")? });
    if !wait_until(Duration::from_secs(10), || dir.join("db.sock").exists()) {
        bail!("ovsdb-server did not start: {}", log_tail(&dir.join("ovsdb-server.log")));
    }
    let mut c = Command::new("ovs-vsctl");
    ovs_env(&mut c, dir);
    run(c.arg(format!("--db={sock}")).args(["--timeout=20", "--no-wait", "init"]))?;
    let mut c = ns.command("ovs-vswitchd");
    ovs_env(&mut c, dir);
    c.arg(&sock)
        .arg(format!("--pidfile={}", dir.join("ovs-vswitchd.pid").display()))
        .arg(format!("--unixctl={}", dir.join("ovs-vswitchd.ctl").display()))
        .arg(format!("--log-file={}", dir.join("ovs-vswitchd.log").display()))
        .arg("-vconsole:off")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    procs.push(Proc { child: c.spawn().context("starting ovs-vswitchd")? });
    Ok(procs)
}

/// A running switch under test. Fields drop in order: processes, then the XDP forwarder, then
/// the temp dir.
#[derive(Debug)]
pub struct Switch {
    pub kind: SwitchKind,
    /// Version and port type, for the report.
    pub detail: String,
    /// The commands that configured the bridge and its flow, for the report.
    pub setup: Vec<String>,
    procs: Vec<Proc>,
    _fwd: Option<KernelForwarder>,
    dir: Option<TempDir>,
    /// ferrovs's CLI (None for the other kinds).
    cli: Option<PathBuf>,
}

/// utime + stime of `pid` in clock ticks (all its threads).
pub(crate) fn cpu_ticks(pid: u32) -> Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).with_context(|| format!("/proc/{pid}/stat"))?;
    let rest = stat.rsplit_once(')').map(|(_, r)| r).context("bad stat")?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the command: state(3) ... utime(14) stime(15), i.e. indexes 11 and 12 here.
    let get = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).context("bad stat field");
    Ok(get(11)? + get(12)?)
}

/// Seconds all CPUs have spent in softirq since boot (/proc/stat): the kernel's share of the
/// forwarding (veth NAPI, XDP, AF_PACKET/AF_XDP delivery), which no process is charged for.
pub fn softirq_seconds() -> Result<f64> {
    let stat = std::fs::read_to_string("/proc/stat").context("/proc/stat")?;
    let line = stat.lines().find(|l| l.starts_with("cpu ")).context("no cpu line in /proc/stat")?;
    // cpu user nice system idle iowait irq softirq ...
    let ticks: u64 = line.split_whitespace().nth(7).and_then(|v| v.parse().ok()).context("bad /proc/stat")?;
    Ok(ticks as f64 / sys::clock_ticks() as f64)
}

pub(crate) fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

pub(crate) fn log_tail(path: &Path) -> String {
    let s = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// The flow every switch forwards with.
pub const FLOW: &str = "in_port=1,actions=output:2";

impl Switch {
    /// CPU seconds the switch's processes have used so far (0 for the kernel ceiling).
    pub fn cpu_seconds(&self) -> Result<f64> {
        let mut t = 0;
        for p in &self.procs {
            t += cpu_ticks(p.pid())?;
        }
        Ok(t as f64 / sys::clock_ticks() as f64)
    }

    /// Whether the switch has processes whose CPU time means something.
    pub fn has_process(&self) -> bool {
        !self.procs.is_empty()
    }

    pub fn start(kind: SwitchKind, sw: &Netns, opts: &SwitchOptions) -> Result<Self> {
        match kind {
            SwitchKind::Ferrovs => Self::ferrovs(sw, opts),
            SwitchKind::Ovs => Self::ovs(sw, &opts.ovs_port_type),
            SwitchKind::Kernel => Ok(Switch {
                kind,
                detail: "XDP redirect s0 -> s1 through a devmap (xdp_fwd)".into(),
                setup: vec![],
                procs: vec![],
                _fwd: Some(KernelForwarder::attach(sw, "s0", "s1")?),
                dir: None,
                cli: None,
            }),
        }
    }

    fn ferrovs(sw: &Netns, opts: &SwitchOptions) -> Result<Self> {
        let dir = TempDir::new("ferrovs")?;
        let log = dir.0.join("ferrovsd.log");
        let (proc, cli_bin) = spawn_ferrovsd(sw, &opts.ferrovs_dir, &dir.0, opts.ferrovs_offload)?;
        let rundir = dir.0.clone();
        let mut s = Switch {
            kind: SwitchKind::Ferrovs,
            detail: String::new(),
            setup: vec![],
            procs: vec![proc],
            _fwd: None,
            dir: Some(dir),
            cli: Some(cli_bin.clone()),
        };
        let cli = |args: &[&str]| run(Command::new(&cli_bin).arg("--rundir").arg(&rundir).args(args));
        let cmds: [&[&str]; 3] = [
            &[
                "add-br",
                "br0",
                "--",
                "add-port",
                "br0",
                "s0",
                "--",
                "set",
                "interface",
                "s0",
                "ofport_request=1",
                "--",
                "add-port",
                "br0",
                "s1",
                "--",
                "set",
                "interface",
                "s1",
                "ofport_request=2",
            ],
            &["ofctl", "del-flows", "br0"],
            &["ofctl", "add-flow", "br0", FLOW],
        ];
        for c in cmds {
            cli(c).with_context(|| format!("ferrovsd log:\n{}", log_tail(&log)))?;
            s.setup.push(format!("ferrovs {}", c.join(" ")));
        }
        // What ferrovsd opened (port kind, XDP mode), from its log.
        wait_until(Duration::from_secs(5), || std::fs::read_to_string(&log).is_ok_and(|l| l.contains("s1: opened")));
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let opened: Vec<&str> = text
            .lines()
            .filter(|l| l.contains(": opened (") || l.contains(": AF_XDP on"))
            .filter_map(|l| l.rsplit('|').next())
            .map(str::trim)
            .collect();
        s.detail = format!(
            "ferrovsd {}, ports as `ferrovs add-port` makes them ({})",
            run(Command::new("git").args(["rev-parse", "--short", "HEAD"])).unwrap_or_default().trim(),
            opened.join("; ")
        );
        Ok(s)
    }

    fn ovs(sw: &Netns, port_type: &str) -> Result<Self> {
        let dir = TempDir::new("ovs")?;
        let d = dir.0.clone();
        let sock = format!("unix:{}", d.join("db.sock").display());
        let procs = spawn_ovs(sw, &d)?;
        let mut s = Switch {
            kind: SwitchKind::Ovs,
            detail: String::new(),
            setup: vec![],
            procs,
            _fwd: None,
            dir: Some(dir),
            cli: None,
        };
        let vsctl = |args: &[&str]| {
            let mut c = Command::new("ovs-vsctl");
            ovs_env(&mut c, &d);
            c.arg(format!("--db={sock}")).arg("--timeout=20").args(args);
            run(&mut c)
        };
        let vlog = d.join("ovs-vswitchd.log");
        let add_br = ["add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=netdev"];
        vsctl(&add_br).with_context(|| format!("ovs-vswitchd log:\n{}", log_tail(&vlog)))?;
        s.setup.push(format!("ovs-vsctl {}", add_br.join(" ")));
        let types = vsctl(&["get", "Open_vSwitch", ".", "iface_types"])?;
        let ptype = if types.contains(port_type) { port_type.to_owned() } else { "system".to_owned() };
        for (dev, no) in [("s0", "1"), ("s1", "2")] {
            let (t, o) = (format!("type={ptype}"), format!("ofport_request={no}"));
            let args = ["add-port", "br0", dev, "--", "set", "interface", dev, &t, &o];
            vsctl(&args).with_context(|| format!("ovs-vswitchd log:\n{}", log_tail(&vlog)))?;
            s.setup.push(format!("ovs-vsctl {}", args.join(" ")));
            let err = vsctl(&["get", "interface", dev, "error"]).unwrap_or_default();
            let port = vsctl(&["get", "interface", dev, "ofport"]).unwrap_or_default();
            if port.trim() != no {
                bail!("OVS port {dev}: ofport {} error {}; log:\n{}", port.trim(), err.trim(), log_tail(&vlog));
            }
        }
        for args in [vec!["del-flows", "br0"], vec!["add-flow", "br0", FLOW]] {
            let mut c = Command::new("ovs-ofctl");
            ovs_env(&mut c, &d);
            run(c.args(&args))?;
            s.setup.push(format!("ovs-ofctl {}", args.join(" ")));
        }
        let version = run(Command::new("ovs-vswitchd").arg("--version")).unwrap_or_default();
        // What OVS chose: XDP mode of each port, PMD threads.
        let log = std::fs::read_to_string(&vlog).unwrap_or_default();
        let chosen: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("mode will be in use") || l.contains("PMD thread on numa_id"))
            .filter_map(|l| l.rsplit('|').next())
            .map(str::trim)
            .collect();
        s.detail = format!(
            "{}, datapath_type=netdev, type={ptype} ports ({}){}",
            version.lines().next().unwrap_or("ovs-vswitchd").trim(),
            chosen.join("; "),
            if ptype == port_type {
                String::new()
            } else {
                format!(" ({port_type} not in iface_types: {})", types.trim())
            }
        );
        Ok(s)
    }

    /// The bridge's OpenFlow management socket, as stock `ovs-ofctl` takes it (both switches
    /// put it at `<rundir>/br0.mgmt`); None for the kernel ceiling.
    pub fn ofctl_target(&self) -> Option<String> {
        let dir = self.dir.as_ref().filter(|_| self.kind != SwitchKind::Kernel)?;
        Some(format!("unix:{}", dir.0.join("br0.mgmt").display()))
    }

    /// Runs an appctl command (`ovs-appctl` / `ferrovs appctl`) on the switch.
    ///
    /// # Errors
    /// The kernel ceiling has none; the command failed.
    pub fn appctl(&self, args: &[&str]) -> Result<String> {
        let dir = self.dir.as_ref().map(|d| d.0.as_path());
        let mut c = match (self.kind, &self.cli, dir) {
            (SwitchKind::Ferrovs, Some(cli), Some(dir)) => {
                let mut c = Command::new(cli);
                c.arg("--rundir").arg(dir).arg("appctl");
                c
            }
            (SwitchKind::Ovs, _, Some(dir)) => {
                let mut c = Command::new("ovs-appctl");
                c.arg(format!("--target={}", dir.join("ovs-vswitchd.ctl").display()));
                c
            }
            _ => bail!("the {} switch has no appctl", self.kind.name()),
        };
        run(c.args(args))
    }

    /// Packets translated by the slow path so far ("miss with success upcall" in
    /// `dpif-netdev/pmd-stats-show`, summed over poll threads).
    ///
    /// # Errors
    /// No appctl, or no such line.
    pub fn upcalls(&self) -> Result<u64> {
        let text = self.appctl(&["dpif-netdev/pmd-stats-show"])?;
        let mut n = None;
        for l in text.lines().filter_map(|l| l.trim().strip_prefix("miss with success upcall:")) {
            let v: u64 = l.split_whitespace().next().and_then(|v| v.parse().ok()).context("bad upcall count")?;
            *n.get_or_insert(0) += v;
        }
        n.with_context(|| format!("no upcall count in:\n{text}"))
    }

    /// Runs a configuration command in `ovs-vsctl` syntax (`ferrovs ...` or `ovs-vsctl ...`) and
    /// records it in [`Switch::setup`]; returns its output.
    pub fn vsctl(&mut self, args: &[&str]) -> Result<String> {
        let dir = self.dir.as_ref().map(|d| d.0.clone()).context("no switch process to configure")?;
        let (mut c, tool) = match (self.kind, &self.cli) {
            (SwitchKind::Ferrovs, Some(cli)) => {
                let mut c = Command::new(cli);
                c.arg("--rundir").arg(&dir);
                (c, "ferrovs")
            }
            (SwitchKind::Ovs, _) => {
                let mut c = Command::new("ovs-vsctl");
                ovs_env(&mut c, &dir);
                c.arg(format!("--db=unix:{}", dir.join("db.sock").display())).arg("--timeout=20");
                (c, "ovs-vsctl")
            }
            _ => bail!("{} has no configuration commands", self.kind.name()),
        };
        let out = run(c.args(args)).with_context(|| format!("switch log:\n{}", self.log()))?;
        self.setup.push(format!("{tool} {}", args.join(" ")));
        Ok(out)
    }

    /// Runs an `ovs-ofctl` command (`ferrovs ofctl ...` or `ovs-ofctl ...`), recorded in
    /// [`Switch::setup`].
    pub fn ofctl(&mut self, args: &[&str]) -> Result<()> {
        let dir = self.dir.as_ref().map(|d| d.0.clone()).context("no switch process to configure")?;
        let (mut c, tool) = match (self.kind, &self.cli) {
            (SwitchKind::Ferrovs, Some(cli)) => {
                let mut c = Command::new(cli);
                c.arg("--rundir").arg(&dir).arg("ofctl");
                (c, "ferrovs ofctl")
            }
            (SwitchKind::Ovs, _) => {
                let mut c = Command::new("ovs-ofctl");
                ovs_env(&mut c, &dir);
                (c, "ovs-ofctl")
            }
            _ => bail!("{} has no OpenFlow tables", self.kind.name()),
        };
        run(c.args(args)).with_context(|| format!("switch log:\n{}", self.log()))?;
        self.setup.push(format!("{tool} {}", args.join(" ")));
        Ok(())
    }

    /// Lines of the switch's log that contain one of `needles` (their text after the last `|`),
    /// at most 8: what it chose for a port.
    pub fn log_lines(&self, needles: &[&str]) -> Vec<String> {
        let name = match self.kind {
            SwitchKind::Ferrovs => "ferrovsd.log",
            SwitchKind::Ovs => "ovs-vswitchd.log",
            SwitchKind::Kernel => return vec![],
        };
        let text = self.dir.as_ref().and_then(|d| std::fs::read_to_string(d.0.join(name)).ok()).unwrap_or_default();
        let mut out: Vec<String> = vec![];
        for l in text.lines().filter(|l| needles.iter().any(|n| l.contains(n))) {
            let t = l.rsplit('|').next().unwrap_or(l).trim().to_owned();
            if !out.contains(&t) && out.len() < 8 {
                out.push(t);
            }
        }
        out
    }

    /// The switch's log file, if it has one (for error reports).
    pub fn log(&self) -> String {
        let name = match self.kind {
            SwitchKind::Ferrovs => "ferrovsd.log",
            SwitchKind::Ovs => "ovs-vswitchd.log",
            SwitchKind::Kernel => return String::new(),
        };
        self.dir.as_ref().map(|d| log_tail(&d.0.join(name))).unwrap_or_default()
    }
}

/// The environment that points Open vSwitch's tools at the run's temp dir.
pub(crate) fn ovs_env(c: &mut Command, dir: &Path) {
    for v in ["OVS_RUNDIR", "OVS_DBDIR", "OVS_LOGDIR", "OVS_SYSCONFDIR"] {
        c.env(v, dir);
    }
}

/// Where to find the switches.
#[derive(Debug, Clone)]
pub struct SwitchOptions {
    /// Directory with this repo's `ferrovsd` and `ferrovs` (release build).
    pub ferrovs_dir: PathBuf,
    /// OVS interface type for s0/s1 (`afxdp`; `system` when the build lacks it).
    pub ovs_port_type: String,
    /// ferrovs interface type of the VM's tap in the tap scenarios (`tap`, or `system`).
    pub ferrovs_tap_type: String,
    /// Whether ferrovs keeps its in-kernel XDP fast path on (its default); off measures the
    /// userspace path alone.
    pub ferrovs_offload: bool,
}
