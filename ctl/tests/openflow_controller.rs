//! A real controller program drives ferrovsd: a small os-ken app (tests/data/osken_hub.py)
//! listens inside the switch namespace, ferrovsd connects to it actively
//! (`set-controller br0 tcp:127.0.0.1:PORT`, fail-mode secure), the app installs a table-miss
//! flow to the controller and floods every packet-in back with a packet-out: a ping between two
//! VM namespaces crosses only through the controller. Also: fail-mode standalone behaves as
//! a learning switch while the configured controller is not reachable (fail-open).

#![allow(clippy::unwrap_used)]

mod common;
use common::{veth, wait_for, Daemon, Netns};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Controller {
    child: Child,
    log: std::path::PathBuf,
}

impl Controller {
    fn start(ns: &Netns, port: u16, dir: &std::path::Path) -> Self {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/osken_hub.py");
        let log = dir.join("osken.log");
        let f = std::fs::File::create(&log).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &ns.name, "timeout", "60", "python3", script, &port.to_string()])
            .stdout(f.try_clone().unwrap())
            .stderr(f)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let c = Controller { child, log };
        wait_for(Duration::from_secs(20), || c.output().contains("listening"), || format!("os-ken: {}", c.output()));
        c
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        // `ip netns exec` and `timeout` pass SIGTERM on; the whole tree is bounded by timeout.
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

fn has_osken() -> bool {
    let ok = Command::new("python3").args(["-c", "import os_ken"]).status().is_ok_and(|s| s.success());
    if !ok {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "os-ken is missing (pip install os-ken)");
        eprintln!("SKIP: python3 module os_ken is missing (pip install os-ken)");
    }
    ok
}

fn port() -> u16 {
    20000 + (std::process::id() % 20000) as u16
}

#[test]
fn osken_controller_installs_table_miss_and_answers_packet_ins() {
    if !common::require_root("osken_controller_installs_table_miss_and_answers_packet_ins") || !has_osken() {
        return;
    }
    let sw = Netns::new("csw");
    let vm1 = Netns::new("cv1");
    let vm2 = Netns::new("cv2");
    let (p1, v1, p2, v2) = (common::unique("cp"), common::unique("cv"), common::unique("cp"), common::unique("cv"));
    veth(&sw, &p1, &vm1, &v1);
    veth(&sw, &p2, &vm2, &v2);
    vm1.sh(&["ip", "addr", "add", "10.79.0.1/24", "dev", &v1]);
    vm2.sh(&["ip", "addr", "add", "10.79.0.2/24", "dev", &v2]);
    let d = Daemon::start(&sw);
    let ctl = Controller::start(&sw, port(), d.rundir());
    let target = format!("tcp:127.0.0.1:{}", port());
    d.cli(&[
        "add-br",
        "br0",
        "--",
        "set-fail-mode",
        "br0",
        "secure",
        "--",
        "set-controller",
        "br0",
        &target,
        "--",
        "add-port",
        "br0",
        &p1,
        "--",
        "add-port",
        "br0",
        &p2,
    ]);
    wait_for(
        Duration::from_secs(15),
        || ctl.output().contains("connected dpid="),
        || format!("ferrovsd never connected to os-ken:\n{}\nlog:\n{}", ctl.output(), d.log()),
    );
    // The table-miss flow the app installed.
    wait_for(
        Duration::from_secs(5),
        || d.cli(&["ofctl", "dump-flows", "br0"]).contains("priority=0 actions=CONTROLLER:65535"),
        || format!("no table-miss flow: {}", d.cli(&["ofctl", "dump-flows", "br0"])),
    );
    assert!(vm1.ping("10.79.0.2", 3), "ping through the controller:\n{}\nlog:\n{}", ctl.output(), d.log());
    let out = ctl.output();
    assert!(out.contains("packet_in in_port=1") && out.contains("packet_in in_port=2"), "{out}");
}

#[test]
fn standalone_without_a_reachable_controller_fails_open_to_normal() {
    if !common::require_root("standalone_without_a_reachable_controller_fails_open_to_normal") {
        return;
    }
    let sw = Netns::new("fsw");
    let vm1 = Netns::new("fv1");
    let vm2 = Netns::new("fv2");
    let (p1, v1, p2, v2) = (common::unique("fp"), common::unique("fv"), common::unique("fp"), common::unique("fv"));
    veth(&sw, &p1, &vm1, &v1);
    veth(&sw, &p2, &vm2, &v2);
    vm1.sh(&["ip", "addr", "add", "10.80.0.1/24", "dev", &v1]);
    vm2.sh(&["ip", "addr", "add", "10.80.0.2/24", "dev", &v2]);
    let d = Daemon::start(&sw);
    // Nothing listens on this port: the controller stays disconnected.
    d.cli(&[
        "add-br",
        "br0",
        "--",
        "set-controller",
        "br0",
        "tcp:127.0.0.1:9",
        "--",
        "add-port",
        "br0",
        &p1,
        "--",
        "add-port",
        "br0",
        &p2,
    ]);
    wait_for(
        Duration::from_secs(5),
        || d.cli(&["ofctl", "dump-flows", "br0"]).contains("priority=0 actions=NORMAL"),
        || format!("no fail-open flow; log:\n{}", d.log()),
    );
    assert!(vm1.ping("10.80.0.2", 3), "fail-open forwards; log:\n{}", d.log());
    // Secure mode: no NORMAL flow is added (existing flows are kept).
    d.cli(&["ofctl", "del-flows", "br0"]);
    d.cli(&["set-fail-mode", "br0", "secure"]);
    std::thread::sleep(Duration::from_millis(500));
    assert!(!d.cli(&["ofctl", "dump-flows", "br0"]).contains("NORMAL"));
    assert!(!vm1.ping("10.80.0.2", 1), "secure: dropped");
}

#[test]
fn ptcp_controllers_master_election_and_slave_refusal() {
    if !common::require_root("ptcp_controllers_master_election_and_slave_refusal") {
        return;
    }
    let sw = Netns::new("rsw");
    let d = Daemon::start(&sw);
    let port = port() + 1;
    d.cli(&["add-br", "br0", "--", "set-controller", "br0", &format!("ptcp:{port}:127.0.0.1")]);
    let target = format!("tcp:127.0.0.1:{port}");
    wait_for(
        Duration::from_secs(5),
        || sw.exec(&["timeout", "5", "ovs-ofctl", "-O", "OpenFlow13", "show", &target]).status.success(),
        || format!("ovs-ofctl cannot reach ptcp; log:\n{}", d.log()),
    );
    let py = r"
import socket,struct,sys
port=int(sys.argv[1])
def msg(t,xid,body=b''): return struct.pack('>BBHI',4,t,8+len(body),xid)+body
def recvn(s,n):
    b=b''
    while len(b)<n:
        c=s.recv(n-len(b))
        if not c: raise SystemExit('closed')
        b+=c
    return b
def recv(s):
    v,t,l,x=struct.unpack('>BBHI',recvn(s,8))
    return t,x,recvn(s,l-8)
def conn():
    s=socket.create_connection(('127.0.0.1',port),timeout=5)
    s.sendall(msg(0,1)); recv(s)
    return s
def ask(s,xid,t,body=b''):
    s.sendall(msg(t,xid,body))
    while True:
        rt,x,b=recv(s)
        if x==xid: return rt,b
def role(s,xid,r,gen): return ask(s,xid,24,struct.pack('>I4xQ',r,gen))
a=conn(); b=conn()
t,body=role(a,10,2,5); print('a', t, struct.unpack('>I',body[:4])[0])
t,body=role(b,11,2,6); print('b', t, struct.unpack('>I',body[:4])[0])
fm=struct.pack('>QQBBHHHIIIH2x',0,0,0,0,0,0,100,0xffffffff,0xffffffff,0xffffffff,0)+struct.pack('>HH4x',1,4)
t,body=ask(a,12,14,fm); print('a flow_mod', t, struct.unpack('>HH',body[:4]))
t,body=role(a,13,3,4); print('stale', t, struct.unpack('>HH',body[:4]))
b.sendall(msg(14,14,fm)+msg(20,15))
while True:
    t,x,body=recv(b)
    if x==14: print('b flow_mod', t)
    if x==15: break
print('b barrier', t)
";
    let out = sw.sh(&["python3", "-c", py, &port.to_string()]);
    assert!(out.contains("a 25 2") && out.contains("b 25 2"), "both became master in turn: {out}");
    assert!(out.contains("a flow_mod 1 (1, 10)"), "the demoted master is a slave: OFPBRC_IS_SLAVE: {out}");
    assert!(out.contains("stale 1 (11, 0)"), "older generation id: OFPRRFC_STALE: {out}");
    assert!(!out.contains("b flow_mod") && out.contains("b barrier 21"), "the master may change flows: {out}");
}
