//! A `type=tap` port: a tap device a VM process owns (here a small Python "VM" holding the
//! /dev/net/tun descriptor, as qemu does) is attached without taking it from the VM; the VM's
//! ARP request crosses the switch and the answer comes back through the VM's descriptor. The
//! port is an AF_XDP port on the tap; where that cannot be set up (here forced with an `n_rxq`
//! the tap does not have) it falls back to an AF_PACKET socket, which forwards the same.

#![allow(clippy::unwrap_used)]

mod common;
use common::{veth, Daemon, Netns};

#[test]
fn vm_owned_tap_port_forwards_both_ways() {
    if !common::require_root("vm_owned_tap_port_forwards_both_ways") {
        return;
    }
    let log = arp_across_vm_tap(&[], 1500);
    assert!(log.contains(": AF_XDP on 1 rx queue(s)"), "the VM's tap is served with AF_XDP; log:\n{log}");
}

#[test]
fn vm_owned_tap_port_falls_back_to_af_packet() {
    if !common::require_root("vm_owned_tap_port_falls_back_to_af_packet") {
        return;
    }
    // A single-queue tap has no rx queue 1: the AF_XDP socket cannot bind.
    let log = arp_across_vm_tap(&["options:n_rxq=2"], 1500);
    assert!(log.contains("using an AF_PACKET socket"), "fallback logged; log:\n{log}");
}

#[test]
fn jumbo_vm_tap_port_uses_af_packet() {
    if !common::require_root("jumbo_vm_tap_port_uses_af_packet") {
        return;
    }
    // 9000-byte frames do not fit an AF_XDP frame.
    let log = arp_across_vm_tap(&[], 9000);
    assert!(log.contains("MTU 9000 is larger than an AF_XDP frame holds"), "fallback logged; log:\n{log}");
}

#[test]
fn multi_queue_vm_tap_port_uses_af_packet() {
    if !common::require_root("multi_queue_vm_tap_port_uses_af_packet") {
        return;
    }
    // The tap's queues follow the guest: AF_XDP sockets bound now could miss later queues.
    let log = arp_across_vm_tap_with(&[], 1500, true, 1);
    assert!(log.contains("a multi-queue tap's queues come and go"), "fallback logged; log:\n{log}");
}

#[test]
fn restarted_vm_gets_its_tap_port_back() {
    if !common::require_root("restarted_vm_gets_its_tap_port_back") {
        return;
    }
    let log = arp_across_vm_tap_with(&[], 1500, false, 2);
    assert!(log.matches(": AF_XDP on 1 rx queue(s)").count() >= 2, "reopened with AF_XDP; log:\n{log}");
}

/// The VM's ARP request crosses the switch to a veth peer and the reply comes back through the
/// VM's descriptor; `options` are set on the tap's interface, which has MTU `mtu`. Returns the
/// daemon's log.
fn arp_across_vm_tap(options: &[&str], mtu: u32) -> String {
    arp_across_vm_tap_with(options, mtu, false, 1)
}

/// As [`arp_across_vm_tap`], the tap created with `IFF_MULTI_QUEUE` if `multi_queue`, by
/// `vm_runs` VMs one after the other (each exits, and its tap goes with it).
fn arp_across_vm_tap_with(options: &[&str], mtu: u32, multi_queue: bool, vm_runs: u32) -> String {
    let flags = if multi_queue { "0x0002|0x1000|0x0100" } else { "0x0002|0x1000" };
    let sw = Netns::new("fts");
    let vm1 = Netns::new("ftv");
    let (p, v) = (common::unique("sp"), common::unique("vp"));
    veth(&sw, &p, &vm1, &v);
    vm1.sh(&["ip", "addr", "add", "10.66.0.1/24", "dev", &v]);
    let tap = common::unique("tp");
    // The "VM": creates the tap, brings it up, then sends an ARP request and waits for the reply
    // on its own descriptor (bounded: 6 s).
    let vm = format!(
        r"
import fcntl,os,struct,time,select,subprocess
fd=os.open('/dev/net/tun',os.O_RDWR)
fcntl.ioctl(fd,0x400454ca,struct.pack('16sH','{tap}'.encode(),{flags}))
subprocess.run(['ip','link','set','{tap}','mtu','{mtu}','up'],check=True)
print('ready',flush=True)
input()
mac=bytes.fromhex('020000aabbcc')
arp=b'\xff'*6+mac+b'\x08\x06'+bytes.fromhex('0001080006040001')+mac+bytes([10,66,0,9])+b'\x00'*6+bytes([10,66,0,1])
end=time.time()+6
got=False
while time.time()<end and not got:
    os.write(fd,arp)
    r,_,_=select.select([fd],[],[],0.5)
    while r:
        f=os.read(fd,2048)
        if f[12:14]==b'\x08\x06' and f[20:22]==b'\x00\x02' and f[0:6]==mac:
            got=True
            break
        r,_,_=select.select([fd],[],[],0.05)
print('reply' if got else 'no reply',flush=True)
"
    );
    let mut daemon: Option<Daemon> = None;
    for round in 0..vm_runs {
        let mut child = std::process::Command::new("ip")
            .args(["netns", "exec", &sw.name, "python3", "-c", &vm])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
        assert_eq!(line.trim(), "ready");
        // The switch is configured once, with the first VM's tap; later VMs recreate the tap
        // (a VM restarted) and the port must come back on its own.
        let d = daemon.get_or_insert_with(|| {
            let d = Daemon::start(&sw);
            let mut args = vec!["add-br", "br0", "--", "add-port", "br0", &p, "--", "add-port", "br0", &tap];
            args.extend(["--", "set", "interface", &tap, "type=tap"]);
            args.extend(options);
            d.cli(&args);
            d
        });
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"go\n").unwrap();
        line.clear();
        std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
        let _ = child.wait();
        assert_eq!(line.trim(), "reply", "ARP across the VM's tap (VM run {round}); log:\n{}", d.log());
    }
    daemon.map(|d| d.log()).unwrap_or_default()
}
