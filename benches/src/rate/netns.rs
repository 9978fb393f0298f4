//! The harness topology: gen ns (g0) <-> switch ns (s0, s1) <-> sink ns (k0), each namespace
//! uniquely named after the harness's pid and deleted on drop (even on error or Ctrl-C; a run
//! killed with SIGKILL leaves namespaces that the next run removes, see [`remove_stale`]), plus
//! the helpers to run a closure, a command or read interface counters inside a namespace.

use anyhow::{bail, Context, Result};
use std::fs::File;
use std::os::fd::AsFd;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use super::sys;

/// Namespace names start with this, then `<pid>-<seq>-<role>`.
const PREFIX: &str = "frate-";
static SEQ: AtomicU32 = AtomicU32::new(0);

/// Runs a command, failing with its output when it fails; returns stdout.
pub fn run(cmd: &mut Command) -> Result<String> {
    let out = cmd.output().with_context(|| format!("cannot run {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `ip ARGS`.
pub fn ip(args: &[&str]) -> Result<String> {
    run(Command::new("ip").args(args))
}

/// A network namespace, deleted on drop.
#[derive(Debug)]
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(role: &str) -> Result<Self> {
        let name = format!("{PREFIX}{}-{}-{role}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed));
        ip(&["netns", "add", &name])?;
        let ns = Netns { name };
        ns.sh(&["ip", "link", "set", "lo", "up"])?;
        // No IPv6 router/neighbour chatter on the measured links.
        ns.sh(&["sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1"])?;
        ns.sh(&["sysctl", "-q", "-w", "net.ipv6.conf.default.disable_ipv6=1"])?;
        Ok(ns)
    }

    /// A command run inside the namespace (`ip netns exec`, which execs: the child's pid is the
    /// command's).
    pub fn command(&self, prog: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).arg(prog);
        c
    }

    /// Runs `args` inside the namespace and requires success.
    pub fn sh(&self, args: &[&str]) -> Result<String> {
        run(self.command(args[0]).args(&args[1..]))
    }

    /// Runs `f` on a thread that has entered this namespace (for netlink, ifindexes and
    /// BPF_PROG_RUN, which resolve interfaces in the caller's namespace).
    pub fn enter<R: Send>(&self, f: impl FnOnce() -> Result<R> + Send) -> Result<R> {
        let file = File::open(format!("/run/netns/{}", self.name)).with_context(|| format!("netns {}", self.name))?;
        std::thread::scope(|s| {
            s.spawn(move || {
                sys::setns_net(file.as_fd()).with_context(|| format!("setns into {}", self.name))?;
                f()
            })
            .join()
            .map_err(|_| anyhow::anyhow!("thread in {} panicked", self.name))?
        })
    }

    /// ifindex and MAC address of `dev`.
    pub fn link(&self, dev: &str) -> Result<Link> {
        let v = self.link_json(dev, false)?;
        let ifindex = v["ifindex"].as_u64().context("no ifindex")? as u32;
        let mac = parse_mac(v["address"].as_str().context("no address")?)?;
        Ok(Link { ifindex, mac })
    }

    /// rx/tx counters of `dev` (the kernel's rtnl_link_stats64).
    pub fn counters(&self, dev: &str) -> Result<Counters> {
        let v = self.link_json(dev, true)?;
        let s = &v["stats64"];
        let g = |dir: &str, what: &str| s[dir][what].as_u64().unwrap_or(0);
        Ok(Counters {
            rx_packets: g("rx", "packets"),
            rx_dropped: g("rx", "dropped"),
            tx_packets: g("tx", "packets"),
            tx_dropped: g("tx", "dropped"),
        })
    }

    fn link_json(&self, dev: &str, stats: bool) -> Result<serde_json::Value> {
        let mut args = vec!["-n", &self.name, "-j"];
        if stats {
            args.push("-s");
        }
        args.extend(["link", "show", "dev", dev]);
        let out = ip(&args)?;
        let v: serde_json::Value = serde_json::from_str(&out).with_context(|| format!("ip -j output: {out}"))?;
        v.get(0).cloned().with_context(|| format!("no link {dev} in {}", self.name))
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.name]).status();
    }
}

/// An interface's index and address.
#[derive(Debug, Clone, Copy)]
pub struct Link {
    pub ifindex: u32,
    pub mac: [u8; 6],
}

/// Interface counters.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counters {
    pub rx_packets: u64,
    pub rx_dropped: u64,
    pub tx_packets: u64,
    pub tx_dropped: u64,
}

fn parse_mac(s: &str) -> Result<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = s.split(':');
    for b in &mut mac {
        let p = parts.next().with_context(|| format!("bad MAC {s}"))?;
        *b = u8::from_str_radix(p, 16).with_context(|| format!("bad MAC {s}"))?;
    }
    Ok(mac)
}

/// A veth in the gen namespace, down, that the generator's program is attached to only to keep
/// it in the kernel's XDP dispatcher (see [`super::xdp::Generator::new`]).
pub const PARK: &str = "gpark0";

/// gen ns (g0, and [`PARK`]) <-> switch ns (s0, s1) <-> sink ns (k0).
#[derive(Debug)]
pub struct Topology {
    pub gen: Netns,
    pub sw: Netns,
    pub sink: Netns,
}

impl Topology {
    pub fn new() -> Result<Self> {
        let t = Topology { gen: Netns::new("gen")?, sw: Netns::new("sw")?, sink: Netns::new("sink")? };
        veth(&t.gen, "g0", &t.sw, "s0")?;
        t.gen.sh(&["ip", "link", "add", PARK, "type", "veth", "peer", "name", "gpark1"])?;
        veth(&t.sw, "s1", &t.sink, "k0")?;
        // A veth accepts XDP frames (the generator's XDP_TX, a devmap redirect) only when its
        // peer runs NAPI: an XDP program there, or GRO on. The sink has its program on k0; s0 gets
        // GRO so that switches without XDP (AF_PACKET) receive the generator's frames too.
        t.sw.sh(&["ethtool", "-K", "s0", "gro", "on"])?;
        t.sw.sh(&["ethtool", "-K", "s1", "gro", "on"])?;
        Ok(t)
    }
}

fn veth(a: &Netns, a_dev: &str, b: &Netns, b_dev: &str) -> Result<()> {
    ip(&["link", "add", a_dev, "netns", &a.name, "type", "veth", "peer", "name", b_dev, "netns", &b.name])?;
    a.sh(&["ip", "link", "set", a_dev, "up"])?;
    b.sh(&["ip", "link", "set", b_dev, "up"])?;
    Ok(())
}

/// Cleans up after harness runs whose process is gone (killed with SIGKILL): stops the switch
/// processes they left (found by the pidfiles in their temp dirs, and only if that pid's command
/// line still names the dir), removes the dirs and deletes their namespaces.
pub fn remove_stale() {
    let dead = |name: &str| {
        name.strip_prefix(PREFIX)
            .and_then(|r| r.split('-').next())
            .filter(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
            .is_some_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists())
    };
    if let Ok(tmp) = std::fs::read_dir(std::env::temp_dir()) {
        for e in tmp.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !dead(&name) || !e.path().is_dir() {
                continue;
            }
            let dir = e.path();
            for f in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                if f.path().extension().is_none_or(|x| x != "pid") {
                    continue;
                }
                let pid = std::fs::read_to_string(f.path()).unwrap_or_default().trim().to_owned();
                let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                if !pid.is_empty() && String::from_utf8_lossy(&cmdline).contains(&*dir.to_string_lossy()) {
                    eprintln!("rate: stopping process {pid} left by a killed run ({})", dir.display());
                    let _ = Command::new("kill").args(["-TERM", &pid]).status();
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(300));
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    let Ok(dir) = std::fs::read_dir("/run/netns") else { return };
    for e in dir.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if dead(&name) {
            eprintln!("rate: removing stale namespace {name}");
            let _ = Command::new("ip").args(["netns", "del", &name]).status();
        }
    }
}
