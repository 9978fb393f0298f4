//! Neutron's GRE layout across three hosts (compute1, compute2, network node), each running its
//! own ferrovsd programmed as neutron-openvswitch-agent programs Open vSwitch: the agent's br-tun
//! and br-int flows loaded with stock `ovs-ofctl` over the management sockets (see
//! `neutron/mod.rs` for the cloud). Two tenants with the same addresses and MACs and local VLANs
//! that differ per host reach their own VMs across the tunnels and never see each other's
//! frames (captures on the wire and in every VM); br-tun learns the remote MACs into table 20,
//! where they age out; `ofproto/trace` explains a VM-to-remote-VM packet from br-int through
//! br-tun to the GRE encapsulation.

#![allow(clippy::unwrap_used)]

mod common;
mod neutron;

use benches::neutron_agent::COOKIE;
use common::wait_for;
use neutron::{gre_port_name, ping, vm_ip, vm_mac, Capture, Cloud, Killed, HOSTS, NETWORK, TENANTS};
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn two_tenants_on_three_hosts_stay_apart_learn_and_trace() {
    let test = "two_tenants_on_three_hosts_stay_apart_learn_and_trace";
    if !common::require_root(test) || !neutron::have(test, "tshark") {
        return;
    }
    let cloud = Cloud::new();
    // One VM per tenant on each compute host, statically addressed (DHCP is the other test).
    let vms: Vec<Vec<_>> = (0..2).map(|h| TENANTS.iter().map(|t| cloud.vm(h, t, true)).collect()).collect();

    let dir = cloud.hosts[0].d.rundir().to_owned();
    let mut wire = Capture::start(&cloud.wire.ns, neutron::Wire::BRIDGE, dir.join("wire.pcap"), 90);
    let mut vm_caps: Vec<(usize, usize, Capture)> = Vec::new();
    for (h, per_host) in vms.iter().enumerate() {
        for (t, (ns, dev)) in per_host.iter().enumerate() {
            vm_caps.push((h, t, Capture::start(ns, dev, dir.join(format!("vm{h}{t}.pcap")), 90)));
        }
    }

    // Each tenant's VM on compute1 pings its VM on compute2 and back. The first ARP request is
    // flooded to every tunnel: the network node learns the sender on its own local VLAN.
    let net = &cloud.hosts[NETWORK];
    for (t, tenant) in TENANTS.iter().enumerate() {
        for (from, to) in [(0, 1), (1, 0)] {
            assert!(
                ping(&vms[from][t].0, &vm_ip(to), tenant.pattern, 3),
                "tenant {} compute{} -> compute{}; compute1 flows:\n{}\ncompute1 log:\n{}",
                tenant.name,
                from + 1,
                to + 1,
                cloud.hosts[0].d.cli(&["appctl", "dpctl/dump-flows"]),
                cloud.hosts[0].d.log()
            );
            if from == 0 {
                let vlan = format!("vlan_tci=0x{:04x}/0x0fff", tenant.lvid[NETWORK]);
                let t20 = net.table20();
                assert!(
                    t20.iter().any(|l| l.contains(&vlan) && l.contains(&format!("dl_dst={}", vm_mac(0)))),
                    "network node, tenant {}: {t20:#?}",
                    tenant.name
                );
            }
        }
    }

    // Keep both conversations going (learned flows refreshed) while table 20 and the trace
    // are read.
    let keep: Vec<Killed> = TENANTS
        .iter()
        .enumerate()
        .map(|(t, tenant)| {
            Killed(
                Command::new("ip")
                    .args(["netns", "exec", &vms[0][t].0.name, "ping", "-i", "0.3", "-w", "60"])
                    .args(["-p", tenant.pattern, &vm_ip(1)])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap(),
            )
        })
        .collect();

    // br-tun learned each remote VM into table 20, per tenant: on the tenant's local VLAN of
    // this host, setting the tenant's key and leaving by the tunnel to the host the VM is on.
    for h in 0..2 {
        let host = &cloud.hosts[h];
        let other = 1 - h;
        let to_other = host.ofport(&gre_port_name(HOSTS[other].1));
        let t20 = host.table20();
        eprintln!("{}: ovs-ofctl dump-flows br-tun table=20\n{}", host.name, t20.join("\n"));
        for tenant in &TENANTS {
            let vlan = format!("vlan_tci=0x{:04x}/0x0fff", tenant.lvid[h]);
            let learned = t20
                .iter()
                .find(|l| l.contains(&vlan) && l.contains(&format!("dl_dst={}", vm_mac(other))))
                .unwrap_or_else(|| panic!("{}: tenant {} not learned: {t20:#?}", host.name, tenant.name));
            assert!(learned.contains(&format!("cookie={COOKIE:#x}")), "{learned}");
            assert!(learned.contains(&format!("hard_timeout={}", neutron::LEARN_HARD_TIMEOUT)), "{learned}");
            assert!(learned.contains("priority=1"), "{learned}");
            let key = format!("{:#x}", tenant.seg);
            assert!(
                learned.contains(&format!("load:{key}->NXM_NX_TUN_ID[]"))
                    || learned.contains(&format!("set_field:{key}->tun_id")),
                "{learned}"
            );
            assert!(learned.contains(&format!("output:{to_other}")), "{learned}");
        }
    }
    // ofproto/trace of tenant A's VM on compute1 to its VM on compute2: br-int's tables to
    // NORMAL, to the port it learned the remote VM on (patch-tun) in the tenant's local VLAN, into br-tun, the learned unicast flow
    // of table 20, and the GRE push by the underlay.
    let c1 = &cloud.hosts[0];
    let in_port = c1.ofport(&vms[0][0].1);
    let flow = format!(
        "in_port={in_port},dl_src={},dl_dst={},ip,nw_src={},nw_dst={},nw_proto=1",
        vm_mac(0),
        vm_mac(1),
        vm_ip(0),
        vm_ip(1)
    );
    let trace = c1.d.cli(&["appctl", "ofproto/trace", "br-int", &flow]);
    eprintln!("compute1: ofproto/trace br-int {flow}\n{trace}");
    let must = [
        format!("table 0: priority 0 cookie {COOKIE:#x}"),
        format!("table 60: priority 1 cookie {COOKIE:#x}"),
        format!("-> forwarding to learned port patch-tun (VLAN {})", TENANTS[0].lvid[0]),
        "patch port to bridge br-tun".to_owned(),
        format!("table 2: priority 0 cookie {COOKIE:#x}"),
        format!("table 20: priority 1 cookie {COOKIE:#x}"),
        "native tunnel: 172.31.1.1 -> 172.31.1.2 key=0x41".to_owned(),
    ];
    let mut at = 0;
    for m in &must {
        let found = trace[at..].find(m.as_str()).unwrap_or_else(|| panic!("trace lacks {m:?} (in order):\n{trace}"));
        at += found + m.len();
    }
    let dp = trace.lines().find(|l| l.starts_with("Datapath actions:")).unwrap_or_default();
    assert!(dp.contains("tnl_push") && dp.contains("key=0x41") && dp.contains("172.31.1.2"), "{trace}");
    assert!(!dp.contains("key=0x42"), "{trace}");

    drop(keep);
    wire.finish();
    for (_, _, c) in &mut vm_caps {
        c.finish();
    }

    // On the wire: only the tenants' keys; each tenant's payload only under its own key; the
    // VM-to-VM unicast only between the two compute hosts (learned, not flooded), while the
    // broadcasts reached the network node too.
    let keys = wire.fields("gre", &["gre.key"]);
    assert!(!keys.is_empty(), "no GRE on the wire");
    assert!(keys.iter().all(|k| k == "0x00000041" || k == "0x00000042"), "{keys:?}");
    for tenant in &TENANTS {
        let own = format!("{:#010x}", tenant.seg);
        let pat = [tenant.pattern; 4].join(":");
        let rows = wire.fields(&format!("gre && icmp && data.data contains {pat}"), &["gre.key", "ip.src", "ip.dst"]);
        assert!(!rows.is_empty(), "tenant {}'s pings on the wire", tenant.name);
        for r in &rows {
            let f: Vec<&str> = r.split('\t').collect();
            assert_eq!(f[0], own, "tenant {} under another key: {r}", tenant.name);
            let hosts = [f[1], f[2]];
            assert!(hosts.contains(&HOSTS[0].1) && hosts.contains(&HOSTS[1].1), "unicast via the learned tunnel: {r}");
        }
        let to_network = wire.fields(
            &format!("gre.key == {:#x} && arp && ip.dst == {}", tenant.seg, HOSTS[NETWORK].1),
            &["frame.number"],
        );
        assert!(!to_network.is_empty(), "tenant {}'s ARP broadcast flooded to the network node", tenant.name);
    }
    // In every VM: its own tenant's pings, never the other's.
    for (h, t, c) in &vm_caps {
        let own = [TENANTS[*t].pattern; 4].join(":");
        let foreign = [TENANTS[1 - *t].pattern; 4].join(":");
        let seen = c.fields(&format!("icmp && data.data contains {foreign}"), &["frame.number"]);
        assert!(seen.is_empty(), "compute{} tenant {} saw the other tenant: {seen:?}", h + 1, TENANTS[*t].name);
        let mine = c.fields(&format!("icmp && data.data contains {own}"), &["frame.number"]);
        assert!(!mine.is_empty(), "compute{} tenant {} saw no ping of its own", h + 1, TENANTS[*t].name);
    }

    // With the traffic stopped, the learned flows age out with their hard timeout and only
    // the agent's own flow of table 20 is left.
    for host in &cloud.hosts {
        wait_for(
            Duration::from_secs(20),
            || host.table20().iter().all(|l| !l.contains("dl_dst=")),
            || format!("{}: learned flows did not age out: {:#?}", host.name, host.table20()),
        );
        let left = host.table20();
        assert!(left.len() == 1 && left[0].contains("priority=0"), "{}: {left:#?}", host.name);
    }
}
