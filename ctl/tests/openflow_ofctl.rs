//! Stock `ovs-ofctl` against ferrovsd's OpenFlow management socket `<rundir>/br0.mgmt`, with
//! its default protocol (OpenFlow 1.0 + Nicira extensions) and with `-O OpenFlow13`: flows set
//! this way forward real traffic between two "VM" namespaces, and the counters, ports, tables,
//! groups, packet-out, port-mod and `monitor` behave as on Open vSwitch.

#![allow(clippy::unwrap_used)]

mod common;
use common::{veth, wait_for, Daemon, Netns};
use std::process::Command;
use std::time::Duration;

/// A switch namespace running ferrovsd with br0 and two VMs on veth ports 1 and 2.
struct World {
    vm1: Netns,
    vm2: Netns,
    d: Daemon,
    _sw: Netns,
    v2: String,
}

fn world() -> World {
    let sw = Netns::new("osw");
    let vm1 = Netns::new("ov1");
    let vm2 = Netns::new("ov2");
    let (p1, v1, p2, v2) = (common::unique("op"), common::unique("ov"), common::unique("op"), common::unique("ov"));
    veth(&sw, &p1, &vm1, &v1);
    veth(&sw, &p2, &vm2, &v2);
    vm1.sh(&["ip", "addr", "add", "10.78.0.1/24", "dev", &v1]);
    vm2.sh(&["ip", "addr", "add", "10.78.0.2/24", "dev", &v2]);
    let d = Daemon::start(&sw);
    d.cli(&["add-br", "br0", "--", "add-port", "br0", &p1, "--", "add-port", "br0", &p2]);
    let sock = d.rundir().join("br0.mgmt");
    wait_for(Duration::from_secs(5), || sock.exists(), || format!("no br0.mgmt; log:\n{}", d.log()));
    World { vm1, vm2, d, _sw: sw, v2 }
}

impl World {
    fn target(&self) -> String {
        format!("unix:{}", self.d.rundir().join("br0.mgmt").display())
    }

    /// `ovs-ofctl [opts] CMD unix:.../br0.mgmt [args]`, bounded by `timeout`.
    fn try_ofctl(&self, opts: &[&str], cmd: &str, args: &[&str]) -> std::process::Output {
        let target = self.target();
        Command::new("timeout")
            .arg("10")
            .arg("ovs-ofctl")
            .env("OVS_RUNDIR", self.d.rundir())
            .args(opts)
            .arg(cmd)
            .arg(&target)
            .args(args)
            .output()
            .unwrap()
    }

    fn ofctl(&self, opts: &[&str], cmd: &str, args: &[&str]) -> String {
        let out = self.try_ofctl(opts, cmd, args);
        assert!(
            out.status.success(),
            "ovs-ofctl {opts:?} {cmd} {args:?}: {}{}\ndaemon log:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.d.log()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn rx_packets(&self) -> u64 {
        let path = format!("/sys/class/net/{}/statistics/rx_packets", self.v2);
        self.vm2.sh(&["cat", &path]).trim().parse().unwrap()
    }
}

/// The value of `key=` in a dump-flows line.
fn field(line: &str, key: &str) -> Option<String> {
    line.split([',', ' '])
        .find_map(|w| w.trim().strip_prefix(&format!("{key}=")).map(|v| v.trim_end_matches('s').to_owned()))
}

fn flow_lines(dump: &str) -> Vec<&str> {
    dump.lines().filter(|l| l.starts_with(" cookie=")).collect()
}

#[test]
fn ofctl_flows_forward_count_modify_delete_in_both_versions() {
    if !common::require_root("ofctl_flows_forward_count_modify_delete_in_both_versions") {
        return;
    }
    let w = world();
    for opts in [&[][..], &["-O", "OpenFlow13"][..]] {
        w.ofctl(opts, "del-flows", &[]);
        assert!(flow_lines(&w.ofctl(opts, "dump-flows", &[])).is_empty());
        assert!(!w.vm1.ping("10.78.0.2", 1), "no flows: dropped");
        w.ofctl(opts, "add-flow", &["in_port=1,actions=output:2"]);
        w.ofctl(opts, "add-flow", &["priority=100,in_port=2,actions=output:1"]);
        assert!(w.vm1.ping("10.78.0.2", 3), "{opts:?}: ping across ovs-ofctl flows; log:\n{}", w.d.log());
        // Counters come from the datapath's megaflows (pushed every 500 ms).
        let dump_cell = std::cell::RefCell::new(String::new());
        wait_for(
            Duration::from_secs(5),
            || {
                let d = w.ofctl(opts, "dump-flows", &["in_port=1"]);
                let ok = flow_lines(&d)
                    .first()
                    .and_then(|l| field(l, "n_packets"))
                    .is_some_and(|n| n.parse::<u64>().unwrap() >= 3);
                *dump_cell.borrow_mut() = d;
                ok
            },
            || format!("{opts:?}: n_packets of in_port=1 never reached 3: {}", dump_cell.borrow()),
        );
        let dump = dump_cell.into_inner();
        let line = flow_lines(&dump)[0];
        let duration: f64 = field(line, "duration").unwrap().parse().unwrap();
        assert!((0.0..60.0).contains(&duration), "{line}");
        let n_packets: u64 = field(line, "n_packets").unwrap().parse().unwrap();
        let n_bytes: u64 = field(line, "n_bytes").unwrap().parse().unwrap();
        // ARP (42 bytes) and ICMP echo (98 bytes) frames.
        assert!((42 * n_packets..=98 * n_packets).contains(&n_bytes), "{line}");
        let agg = w.ofctl(opts, "dump-aggregate", &[]);
        assert!(agg.contains("flow_count=2"), "{agg}");

        // mod-flows changes actions (counters kept), del-flows --strict needs the priority.
        w.ofctl(opts, "mod-flows", &["in_port=1,actions=drop"]);
        assert!(!w.vm1.ping("10.78.0.2", 1), "{opts:?}: modified to drop");
        w.ofctl(&[opts, &["--strict"]].concat(), "del-flows", &["in_port=2"]);
        assert_eq!(flow_lines(&w.ofctl(opts, "dump-flows", &[])).len(), 2, "wrong priority: nothing deleted");
        w.ofctl(&[opts, &["--strict"]].concat(), "del-flows", &["priority=100,in_port=2"]);
        let dump = w.ofctl(opts, "dump-flows", &[]);
        assert_eq!(flow_lines(&dump).len(), 1, "{dump}");
        assert!(dump.contains("actions=drop"), "{dump}");

        // add-flows from a file, then a bundle that fails as a whole (1.3 only: ONF bundles).
        let file = w.d.rundir().join("flows.txt");
        std::fs::write(&file, "# two flows\nin_port=1,actions=output:2\n\npriority=100,in_port=2,actions=output:1\n")
            .unwrap();
        w.ofctl(opts, "add-flows", &[file.to_str().unwrap()]);
        assert!(w.vm1.ping("10.78.0.2", 2), "{opts:?}: flows from a file");
        if !opts.is_empty() {
            std::fs::write(&file, "table=1,priority=1,actions=drop\ntable=2,actions=goto_table:1\n").unwrap();
            let out = w.try_ofctl(&[opts, &["--bundle"]].concat(), "add-flows", &[file.to_str().unwrap()]);
            assert!(!out.status.success(), "a bundle with a backwards goto_table must fail");
            let dump = w.ofctl(opts, "dump-flows", &[]);
            assert!(!dump.contains("table=1"), "bundle is all-or-nothing: {dump}");
            std::fs::write(&file, "table=1,priority=1,actions=drop\ntable=0,priority=5,actions=goto_table:1\n")
                .unwrap();
            w.ofctl(&[opts, &["--bundle"]].concat(), "add-flows", &[file.to_str().unwrap()]);
            let dump = w.ofctl(opts, "dump-flows", &[]);
            assert!(dump.contains("table=1, n_packets=0, n_bytes=0, priority=1 actions=drop"), "{dump}");
        }
    }
}

#[test]
fn ofctl_show_ports_tables_groups_packet_out_mod_port_and_monitor() {
    if !common::require_root("ofctl_show_ports_tables_groups_packet_out_mod_port_and_monitor") {
        return;
    }
    let w = world();
    assert!(w.vm1.ping("10.78.0.2", 2), "standalone bridge: NORMAL; log:\n{}", w.d.log());
    for opts in [&[][..], &["-O", "OpenFlow13"][..]] {
        let show = w.ofctl(opts, "show", &[]);
        assert!(show.contains("dpid:") && show.contains("n_tables:254"), "{show}");
        assert!(show.contains(" 1(") && show.contains(" 2(") && show.contains("LOCAL(br0)"), "{show}");
        let ports = w.ofctl(opts, "dump-ports", &[]);
        assert!(ports.contains("3 ports"), "{ports}");
        let rx1 = ports.lines().find(|l| l.contains("port  1:")).and_then(|l| field(l, "pkts")).unwrap();
        assert!(rx1.parse::<u64>().unwrap() >= 2, "{ports}");
        let tables = w.ofctl(opts, "dump-tables", &[]);
        assert!(tables.contains("table 0") && tables.contains("active=1"), "{tables}");
    }
    let desc = w.ofctl(&["-O", "OpenFlow13"], "dump-ports-desc", &[]);
    assert!(desc.contains("LOCAL(br0)") && desc.contains(" 1("), "{desc}");

    // mod-port: admin down shows in show, and as a PORT_DOWN port is not flooded to.
    w.ofctl(&[], "mod-port", &["2", "down"]);
    let show = w.ofctl(&[], "show", &[]);
    assert!(show.contains("PORT_DOWN"), "{show}");
    w.ofctl(&[], "mod-port", &["2", "up"]);
    assert!(!w.ofctl(&[], "show", &[]).contains("PORT_DOWN"));

    // Groups (OpenFlow 1.3): a flow through an all-group forwards.
    let o13 = &["-O", "OpenFlow13"][..];
    w.ofctl(o13, "del-flows", &[]);
    w.ofctl(o13, "add-group", &["group_id=7,type=all,bucket=output:2"]);
    w.ofctl(o13, "add-flow", &["in_port=1,actions=group:7"]);
    w.ofctl(o13, "add-flow", &["in_port=2,actions=output:1"]);
    assert!(w.vm1.ping("10.78.0.2", 2), "ping through a group");
    let groups = w.ofctl(o13, "dump-groups", &[]);
    assert!(groups.contains("group_id=7,type=all,bucket=actions=output:2"), "{groups}");
    assert!(w.ofctl(o13, "dump-group-stats", &[]).contains("ref_count=1"));

    // packet-out: a frame from the controller leaves port 2.
    let before = w.rx_packets();
    let frame = "ffffffffffff0200000000010806000108000604000102000000000100000000000000000000000000";
    for opts in [&[][..], o13] {
        w.ofctl(opts, "packet-out", &["CONTROLLER", "output:2", frame]);
    }
    wait_for(Duration::from_secs(3), || w.rx_packets() >= before + 2, || "packet-outs did not reach vm2".into());

    // monitor: a table miss sends a packet-in to an OpenFlow 1.0 monitor asking for them, and a
    // controller action one to a 1.3 monitor asking for NXT_PACKET_IN2.
    w.ofctl(&[], "del-flows", &[]);
    w.ofctl(o13, "add-flow", &["priority=10,icmp,actions=controller"]);
    w.ofctl(o13, "add-flow", &["priority=10,arp,actions=NORMAL"]);
    for (opts, format, want) in [(&[][..], "standard", "OFPT_PACKET_IN"), (o13, "nxt_packet_in2", "NXT_PACKET_IN2")] {
        let mon = Monitor::start(&w, opts, format);
        w.vm1.ping("10.78.0.2", 1);
        mon.expect(&w, &[want]);
    }
}

/// `ovs-ofctl monitor br0 65534 -P FORMAT`, killed on drop.
struct Monitor {
    child: std::process::Child,
    out: std::path::PathBuf,
}

impl Monitor {
    fn start(w: &World, opts: &[&str], format: &str) -> Monitor {
        let out = w.d.rundir().join(common::unique("monitor-"));
        let child = Command::new("timeout")
            // Line-buffered: the monitor is killed, not asked to exit.
            .args(["20", "stdbuf", "-oL", "ovs-ofctl"])
            .env("OVS_RUNDIR", w.d.rundir())
            .args(opts)
            .args(["monitor", &w.target(), "65534", "-P", format])
            .stdout(std::fs::File::create(&out).unwrap())
            // ovs-ofctl monitor prints what it receives on stderr.
            .stderr(std::fs::File::create(out.with_extension("err")).unwrap())
            .spawn()
            .unwrap();
        // It is ready once its SET_CONFIG (miss_send_len) went through: wait for the barrier.
        std::thread::sleep(Duration::from_millis(500));
        Monitor { child, out }
    }

    fn seen(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
            + &std::fs::read_to_string(self.out.with_extension("err")).unwrap_or_default()
    }

    /// Waits (bounded) until every string of `want` was printed.
    fn expect(&self, w: &World, want: &[&str]) {
        let ok = (0..80).any(|_| {
            std::thread::sleep(Duration::from_millis(100));
            let s = self.seen();
            want.iter().all(|x| s.contains(x))
        });
        assert!(ok, "monitor output lacks {want:?}:\n{}\nlog:\n{}", self.seen(), w.d.log());
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn monitor_sees_flow_removed_and_port_status() {
    if !common::require_root("monitor_sees_flow_removed_and_port_status") {
        return;
    }
    let w = world();
    let o13 = &["-O", "OpenFlow13"][..];
    let mon = Monitor::start(&w, o13, "standard");
    w.ofctl(o13, "add-flow", &["send_flow_rem,priority=98,tcp,actions=drop"]);
    w.ofctl(o13, "add-flow", &["send_flow_rem,priority=99,idle_timeout=1,udp,actions=drop"]);
    w.ofctl(o13, "add-flow", &["priority=97,sctp,actions=drop"]);
    w.ofctl(o13, "del-flows", &["tcp"]);
    w.ofctl(o13, "del-flows", &["sctp"]);
    mon.expect(&w, &["OFPT_FLOW_REMOVED", "priority=98,tcp reason=delete", "priority=99,udp reason=idle"]);
    assert!(!mon.seen().contains("sctp"), "no send_flow_rem: no message");
    let p = common::unique("pi");
    w.d.cli(&["add-port", "br0", &p, "--", "set", "interface", &p, "type=internal"]);
    mon.expect(&w, &["OFPT_PORT_STATUS", &format!("ADD: 3({p})")]);
    w.d.cli(&["del-port", "br0", &p]);
    mon.expect(&w, &[&format!("DEL: 3({p})")]);
}

#[test]
fn malformed_openflow_gets_an_error_and_garbage_closes_only_that_connection() {
    if !common::require_root("malformed_openflow_gets_an_error_and_garbage_closes_only_that_connection") {
        return;
    }
    let w = world();
    let py = r"
import socket,sys,struct
def conn():
    s=socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])
    s.sendall(bytes([4,0,0,8,0,0,0,1])); s.recv(1024)
    return s
a=conn(); b=conn()
a.sendall(bytes([4,200,0,8,0,0,0,9]))
r=a.recv(1024); print('error', r[1], struct.unpack('>HH', r[8:12]))
b.sendall(bytes([4,2,0,3,0,0,0,1]))
print('closed', b.recv(1024)==b'')
a.sendall(bytes([4,2,0,8,0,0,0,10])); r=a.recv(1024); print('echo', r[1])
";
    let sock = w.d.rundir().join("br0.mgmt");
    let out = common::sh(&["python3", "-c", py, sock.to_str().unwrap()]);
    assert!(out.contains("error 1 (1, 1)"), "OFPBRC_BAD_TYPE expected: {out}");
    assert!(out.contains("closed True"), "length 3: connection closed: {out}");
    assert!(out.contains("echo 3"), "the other connection still answers: {out}");
}

#[test]
fn a_peer_that_stops_reading_loses_packet_ins_and_blocks_nobody() {
    if !common::require_root("a_peer_that_stops_reading_loses_packet_ins_and_blocks_nobody") {
        return;
    }
    let w = world();
    w.ofctl(&[], "del-flows", &[]);
    w.ofctl(&[], "add-flow", &["priority=10,icmp,actions=controller"]);
    w.ofctl(&[], "add-flow", &["priority=5,arp,actions=NORMAL"]);
    // A service connection that asks for packet-ins (miss_send_len) and then never reads.
    let py = r"
import socket,struct,sys,time
s=socket.socket(socket.AF_UNIX); s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(sys.argv[1])
s.sendall(bytes([1,0,0,8,0,0,0,1])); s.recv(8)
s.sendall(struct.pack('>BBHIHH',1,9,12,2,0,65535))
print('ready', flush=True)
time.sleep(12)
";
    let sock = w.d.rundir().join("br0.mgmt");
    let mut slow = Command::new("timeout")
        .args(["20", "python3", "-c", py, sock.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(slow.stdout.take().unwrap()), &mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    // Large pings: their packet-ins overflow the slow peer's socket and then its queue.
    let flood = std::thread::spawn({
        let ns = w.vm1.name.clone();
        move || {
            common::try_sh(&[
                "ip",
                "netns",
                "exec",
                &ns,
                "ping",
                "-q",
                "-i",
                "0.002",
                "-c",
                "1500",
                "-s",
                "1400",
                "-w",
                "8",
                "10.78.0.2",
            ])
        }
    });
    std::thread::sleep(Duration::from_millis(1500));
    // Meanwhile other connections are served at once.
    let t = std::time::Instant::now();
    let dump = w.ofctl(&["-O", "OpenFlow13"], "dump-flows", &[]);
    assert!(dump.contains("actions=CONTROLLER"), "{dump}");
    assert!(t.elapsed() < Duration::from_secs(2), "dump-flows took {:?} behind a stuck peer", t.elapsed());
    let _ = flood.join();
    wait_for(
        Duration::from_secs(10),
        || w.d.log().contains("asynchronous messages dropped"),
        || format!("no drops logged:\n{}", w.d.log()),
    );
    let _ = slow.kill();
    let _ = slow.wait();
}
