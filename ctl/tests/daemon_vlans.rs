//! VLANs through the daemon: access ports (`tag=`) keep tenants apart, a trunk port carries
//! their frames tagged (checked by capture on the wire, not only by ping), and NORMAL learns
//! per VLAN.

#![allow(clippy::unwrap_used)]

mod common;
use common::{veth, Daemon, Netns};

/// Captures frames arriving on `dev` in `ns` for `secs` seconds; prints the VLAN ids seen
/// (0: untagged).
/// The kernel moves a received 802.1Q tag into metadata, so the tag is read from
/// PACKET_AUXDATA.
fn capture_vlans(ns: &Netns, dev: &str, secs: f64) -> std::process::Child {
    let script = format!(
        r"
import socket,struct,time
s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW,socket.htons(3))
s.setsockopt(263,8,1)
s.bind(('{dev}',0))
s.settimeout(0.2)
end=time.time()+{secs}
seen=set()
while time.time()<end:
    try:
        data,anc,flags,addr=s.recvmsg(2048,socket.CMSG_SPACE(20))
    except socket.timeout:
        continue
    if addr[2]==4:
        continue
    vid=0
    for level,typ,cdata in anc:
        if level==263 and typ==8 and len(cdata)>=20:
            status,tci=struct.unpack_from('I',cdata,0)[0],struct.unpack_from('H',cdata,16)[0]
            if status & 0x10:
                vid=tci & 0xfff
    if vid==0 and data[12:14]==b'\x81\x00':
        vid=struct.unpack('!H',data[14:16])[0] & 0xfff
    seen.add(vid)
print(' '.join(str(v) for v in sorted(seen)))
"
    );
    std::process::Command::new("ip")
        .args(["netns", "exec", &ns.name, "python3", "-c", &script])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn access_ports_isolate_tenants_and_the_trunk_carries_tags() {
    if !common::require_root("access_ports_isolate_tenants_and_the_trunk_carries_tags") {
        return;
    }
    let sw = Netns::new("fls");
    // The switch's own ports carry no host IPv6 (its MLD/RS would go straight onto the wire
    // beside the switch, untagged).
    for knob in ["net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"] {
        sw.sh(&["sysctl", "-qw", knob]);
    }
    let vms: Vec<Netns> = (0..3).map(|_| Netns::new("flv")).collect();
    let wire = Netns::new("flw");
    let d = Daemon::start(&sw);
    d.cli(&["add-br", "br0"]);
    // vm0 and vm2 on VLAN 10, vm1 on VLAN 20, all in 10.88.0.0/24.
    for (i, (vm, tag)) in vms.iter().zip([10, 20, 10]).enumerate() {
        let (p, v) = (common::unique("sp"), common::unique("vp"));
        veth(&sw, &p, vm, &v);
        vm.sh(&["ip", "addr", "add", &format!("10.88.0.{}/24", i + 1), "dev", &v]);
        d.cli(&["add-port", "br0", &p, &format!("tag={tag}")]);
    }
    let (t, w) = (common::unique("st"), common::unique("wt"));
    veth(&sw, &t, &wire, &w);
    d.cli(&["add-port", "br0", &t, "trunks=10,20"]);
    let cap = capture_vlans(&wire, &w, 4.0);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(vms[0].ping("10.88.0.3", 2), "same VLAN reaches; log:\n{}", d.log());
    assert!(!vms[0].ping("10.88.0.2", 1), "another VLAN does not");
    let _ = vms[1].ping("10.88.0.3", 1);
    let out = cap.wait_with_output().unwrap();
    let seen = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let vids: Vec<&str> = seen.split_whitespace().collect();
    assert!(vids.contains(&"10") && vids.contains(&"20"), "trunk carries both VLANs tagged: {seen:?}");
    assert!(!vids.contains(&"0"), "no untagged tenant frame on the trunk: {seen:?}");
    // NORMAL learned per VLAN.
    let fdb = d.cli(&["appctl", "fdb/show", "br0"]);
    assert!(fdb.lines().any(|l| l.split_whitespace().nth(1) == Some("10")), "{fdb}");
}
