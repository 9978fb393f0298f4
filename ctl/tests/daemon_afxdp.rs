//! ferrovsd with two AF_XDP ports (veths to two "VM" namespaces): the XDP program is attached
//! in native mode, ping, TCP and UDP (iperf3) cross the switch, a port removed under traffic
//! loses its XDP program while the other keeps working, the idle daemon sleeps, and SIGTERM
//! detaches everything.

#![allow(clippy::unwrap_used)]

mod common;
use common::{veth, wait_for, Daemon, Netns};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn xdp_on(ns: &Netns, dev: &str) -> Option<String> {
    let out = ns.sh(&["ip", "link", "show", dev]);
    out.split_whitespace().find(|w| w.starts_with("xdp")).map(str::to_owned)
}

/// CPU time (user + system, in ticks) the process has used, from /proc/PID/stat.
fn cpu_ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which is in parentheses): utime is the 14th, stime the 15th.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

/// Runs iperf3 from `client` to `addr` served in `server` (one test, bounded); returns the
/// receiver's JSON summary text.
fn iperf(server: &Netns, client: &Netns, addr: &str, port: &str, extra: &[&str]) -> String {
    let mut srv = Command::new("ip")
        .args(["netns", "exec", &server.name, "iperf3", "-s", "-1", "-B", addr, "-p", port])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let mut args =
        vec!["timeout", "20", "iperf3", "-c", addr, "-p", port, "-t", "2", "-J", "--connect-timeout", "3000"];
    args.extend_from_slice(extra);
    let out = client.exec(&args);
    let _ = srv.kill();
    let _ = srv.wait();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "iperf3 {extra:?}: {text}{}", String::from_utf8_lossy(&out.stderr));
    text
}

/// The first number after `"key":` in `json` at or after `from`.
fn json_number(json: &str, key: &str) -> f64 {
    let pat = format!("\"{key}\":");
    let at = json.rfind(&pat).unwrap_or_else(|| panic!("no {key} in {json}")) + pat.len();
    json[at..].trim_start().split([',', '\n', '}']).next().unwrap().trim().parse().unwrap()
}

#[test]
fn afxdp_ports_forward_ping_tcp_udp_and_detach_on_removal_and_sigterm() {
    if !common::require_root("afxdp_ports_forward_ping_tcp_udp_and_detach_on_removal_and_sigterm") {
        return;
    }
    let sw = Netns::new("fxs");
    let vm1 = Netns::new("fx1");
    let vm2 = Netns::new("fx2");
    let (p1, v1, p2, v2) = (common::unique("xp"), common::unique("xv"), common::unique("xp"), common::unique("xv"));
    veth(&sw, &p1, &vm1, &v1);
    veth(&sw, &p2, &vm2, &v2);
    vm1.sh(&["ip", "addr", "add", "10.78.0.1/24", "dev", &v1]);
    vm2.sh(&["ip", "addr", "add", "10.78.0.2/24", "dev", &v2]);
    let d = Daemon::start(&sw);
    // p1 asks for AF_XDP by name, p2 gets it as the default type.
    d.cli(&["add-br", "br0", "--", "add-port", "br0", &p1, "--", "set", "interface", &p1, "type=afxdp"]);
    d.cli(&["add-port", "br0", &p2]);
    assert_eq!(xdp_on(&sw, &p1).as_deref(), Some("xdp"), "native XDP on {p1}");
    assert_eq!(xdp_on(&sw, &p2).as_deref(), Some("xdp"), "native XDP on {p2}");
    assert!(d.log().contains("XDP in native mode, copy mode"), "{}", d.log());

    // A bad option is one clear error line and changes nothing.
    let p3 = common::unique("xp");
    let v3 = common::unique("xv");
    veth(&sw, &p3, &vm1, &v3);
    let bad = d.try_cli(&["add-port", "br0", &p3, "--", "set", "interface", &p3, "options:xdp-mode=turbo"]);
    let err = String::from_utf8_lossy(&bad.stderr).into_owned();
    assert!(!bad.status.success() && err.trim().lines().count() == 1, "{err}");
    assert!(err.contains("xdp-mode"), "{err}");
    assert_eq!(xdp_on(&sw, &p3), None, "nothing attached after a failed add");
    // type=system keeps the AF_PACKET port: no XDP.
    d.cli(&["add-port", "br0", &p3, "--", "set", "interface", &p3, "type=system"]);
    assert_eq!(xdp_on(&sw, &p3), None, "system port: AF_PACKET, no XDP");
    assert!(d.log().contains(&format!("{p3}: opened (system)")), "{}", d.log());

    assert!(vm1.ping("10.78.0.2", 3), "ping across AF_XDP ports; log:\n{}", d.log());

    // TCP and UDP with iperf3.
    let tcp = iperf(&vm2, &vm1, "10.78.0.2", "5201", &[]);
    let tcp_bps = json_number(&tcp, "bits_per_second");
    assert!(tcp_bps > 0.0, "{tcp}");
    let udp = iperf(&vm2, &vm1, "10.78.0.2", "5202", &["-u", "-b", "20M", "-l", "1200"]);
    let lost = json_number(&udp, "lost_percent");
    let udp_packets = json_number(&udp, "packets");
    assert!(udp_packets > 0.0 && lost < 50.0, "UDP through the switch: {udp}");
    eprintln!("afxdp veth: TCP {:.0} Mbit/s, UDP 20 Mbit/s offered: {lost:.2}% lost", tcp_bps / 1e6);

    // Idle: the poll thread sleeps in poll(2).
    let pid = std::fs::read_to_string(d.rundir().join("ferrovsd.pid")).unwrap().trim().to_owned();
    std::thread::sleep(Duration::from_millis(500));
    let t0 = cpu_ticks(&pid);
    let w0 = Instant::now();
    std::thread::sleep(Duration::from_secs(2));
    // /proc counts in USER_HZ ticks: 100 per second on Linux.
    let cpu = (cpu_ticks(&pid) - t0) as f64 / 100.0 / w0.elapsed().as_secs_f64();
    eprintln!("idle ferrovsd CPU: {:.2}%", cpu * 100.0);
    assert!(cpu < 0.10, "idle daemon must sleep, not spin: {:.1}% CPU", cpu * 100.0);

    // Remove p2 while a ping runs through it: XDP detached, the daemon goes on.
    let mut ping = Command::new("ip")
        .args(["netns", "exec", &vm1.name, "ping", "-c", "40", "-i", "0.05", "-W", "1", "-w", "6", "10.78.0.2"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(600));
    d.cli(&["del-port", "br0", &p2]);
    assert_eq!(xdp_on(&sw, &p2), None, "XDP detached from a removed port");
    assert!(xdp_on(&sw, &p1).is_some(), "the other port keeps its program");
    let deadline = Instant::now() + Duration::from_secs(10);
    while ping.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = ping.kill();
    let _ = ping.wait();
    assert!(!vm1.ping("10.78.0.2", 1), "no path once the port is gone");
    // The kernel stack has the device back: re-adding it works again.
    d.cli(&["add-port", "br0", &p2]);
    wait_for(
        Duration::from_secs(5),
        || vm1.ping("10.78.0.2", 1),
        || format!("ping after re-adding; log:\n{}", d.log()),
    );

    // SIGTERM: every port closed, no program left behind.
    drop(d);
    assert_eq!(xdp_on(&sw, &p1), None, "XDP detached on SIGTERM");
    assert_eq!(xdp_on(&sw, &p2), None, "XDP detached on SIGTERM");
}
