//! Neutron's network node services across the GRE layout of `neutron/mod.rs` (three hosts, each
//! its own ferrovsd, br-tun programmed by stock ovs-ofctl): per tenant, dnsmasq in a `qdhcp-`
//! namespace on the network node's br-int gives the VMs on both compute hosts their addresses
//! across the tunnels (busybox udhcpc in the VMs), and a `qrouter-` namespace with a `qr-` leg on
//! br-int and a `qg-` leg on br-ex source-NATs the tenant network to an "internet" namespace.
//! Both tenants use 10.0.0.0/24, the same MACs, the same DHCP server and gateway addresses; each
//! VM is served by its own tenant's DHCP server and router only.

#![allow(clippy::unwrap_used)]

mod common;
mod neutron;

use neutron::{dhcp_domain, ping, udhcpc, vm_ip, vm_mac, Capture, Cloud, INTERNET_IP, TENANTS};

#[test]
fn dhcp_and_routers_per_tenant_from_the_network_node() {
    let test = "dhcp_and_routers_per_tenant_from_the_network_node";
    if !common::require_root(test)
        || !["tshark", "dnsmasq", "busybox", "iptables"].iter().all(|c| neutron::have(test, c))
    {
        return;
    }
    let cloud = Cloud::new();
    let internet = cloud.internet();
    let dhcp: Vec<_> = (0..TENANTS.len()).map(|t| cloud.dhcp(t)).collect();
    let routers: Vec<_> = (0..TENANTS.len()).map(|t| cloud.router(t)).collect();
    // VMs without addresses, one per tenant on each compute host.
    let vms: Vec<Vec<_>> = (0..2).map(|h| TENANTS.iter().map(|t| cloud.vm(h, t, false)).collect()).collect();

    // Each VM asks DHCP across br-int, br-tun, GRE and the network node's br-tun and br-int, and
    // is answered by its own tenant's server: its address, gateway, MTU and domain.
    for (h, per_host) in vms.iter().enumerate() {
        for (t, (ns, dev)) in per_host.iter().enumerate() {
            let lease = udhcpc(ns, dev);
            let what = format!("compute{} tenant {}: {lease:?}", h + 1, TENANTS[t].name);
            assert_eq!(lease.get("ip"), Some(&vm_ip(h)), "{what}");
            assert_eq!(lease.get("router").map(String::as_str), Some("10.0.0.1"), "{what}");
            assert_eq!(lease.get("mtu").map(String::as_str), Some("1458"), "{what}");
            assert_eq!(lease.get("domain"), Some(&dhcp_domain(&TENANTS[t])), "{what}");
            let addr = ns.sh(&["ip", "-4", "-o", "addr", "show", "dev", dev]);
            assert!(addr.contains(&format!("{}/24", vm_ip(h))), "{what}: {addr}");
        }
    }
    for (t, d) in dhcp.iter().enumerate() {
        let leases = std::fs::read_to_string(&d.leases).unwrap_or_default();
        for h in 0..2 {
            assert!(leases.contains(&format!("{} {}", vm_mac(h), vm_ip(h))), "tenant {}: {leases}", TENANTS[t].name);
        }
    }

    // The DHCP'd VMs reach their tenant's VM on the other compute host and the gateway on the
    // network node; through the router's SNAT they reach the internet, each tenant from its
    // own gateway address.
    let dir = cloud.network().d.rundir().to_owned();
    let mut cap = Capture::start(&internet, "eth0", dir.join("internet.pcap"), 60);
    for (t, tenant) in TENANTS.iter().enumerate() {
        assert!(ping(&vms[0][t].0, &vm_ip(1), tenant.pattern, 2), "tenant {} VM to VM", tenant.name);
        assert!(ping(&vms[0][t].0, "10.0.0.1", tenant.pattern, 2), "tenant {} gateway", tenant.name);
        assert!(
            ping(&vms[1][t].0, INTERNET_IP, tenant.pattern, 2),
            "tenant {} to the internet; network node log:\n{}",
            tenant.name,
            cloud.network().d.log()
        );
    }
    cap.finish();
    for (t, tenant) in TENANTS.iter().enumerate() {
        let pat = [tenant.pattern; 4].join(":");
        let srcs = cap.fields(&format!("icmp.type == 8 && data.data contains {pat}"), &["ip.src"]);
        assert!(!srcs.is_empty(), "tenant {}'s pings reached the internet", tenant.name);
        assert!(srcs.iter().all(|s| *s == routers[t].gateway_ip), "tenant {}: {srcs:?}", tenant.name);
    }
    let back = internet.sh(&["ip", "route"]);
    assert!(!back.contains("10.0.0."), "the internet reaches the VMs only through NAT: {back}");
}
