//! The flow tables neutron-openvswitch-agent (native OpenFlow driver, GRE, no DVR, no ARP
//! responder) installs on br-int and br-tun, as `ovs-ofctl` flow syntax: what the Neutron tests
//! load into ferrovs and what the rate harness's Neutron GRE scenario loads into both switches.
//!
//! Sources: the agent's `br_int.py` (`setup_default_table`) and `br_tun.py`
//! (`setup_default_table`, `setup_tunnel_port`, `provision_local_vlan`, `install_flood_to_tun`,
//! and l2population's `install_unicast_to_tun`).

/// The cookie the agent puts on every flow of a bridge (random per agent start in Neutron).
pub const COOKIE: u64 = 0x5e1f_0000_0000_b7a1;

/// Flows of br-int as the agent's `setup_default_table` installs them (no firewall, no DVR):
/// dead-VLAN drop, the canary, the ARP spoofing table, the local IP tables, the rate-limit
/// tables, and NORMAL in the transient tables.
pub fn br_int_default_flows() -> Vec<String> {
    let c = COOKIE;
    vec![
        format!("cookie={c:#x},table=0,priority=65535,vlan_tci=0x1fff/0x1fff,actions=drop"),
        format!("cookie={c:#x},table=0,priority=0,actions=goto_table:58"),
        format!("cookie={c:#x},table=23,priority=0,actions=drop"),
        format!("cookie={c:#x},table=24,priority=0,actions=drop"),
        format!("cookie={c:#x},table=30,priority=0,actions=goto_table:58"),
        format!("cookie={c:#x},table=31,priority=0,actions=goto_table:58"),
        format!("cookie={c:#x},table=58,priority=0,actions=goto_table:59"),
        format!("cookie={c:#x},table=59,priority=0,actions=goto_table:60"),
        format!("cookie={c:#x},table=60,priority=1,actions=NORMAL"),
        format!("cookie={c:#x},table=61,priority=3,actions=NORMAL"),
    ]
}

/// Flows of br-tun as the agent's `setup_default_table` installs them: table 0 (from br-int to
/// 2, default drop), 2 (unicast to 20, multicast to 22), the per-type tunnel tables 3 (GRE),
/// 4 (VXLAN), 6 (Geneve) dropping until a network is provisioned, 10 (learn the source into
/// table 20 with `learn_hard_timeout` seconds, then to br-int), 20 (unknown unicast floods)
/// and 22 (flood; default drop).
pub fn br_tun_default_flows(patch_int: &str, learn_hard_timeout: u32) -> Vec<String> {
    let c = COOKIE;
    let learn = format!(
        "learn(table=20,hard_timeout={learn_hard_timeout},priority=1,cookie={c:#x},NXM_OF_VLAN_TCI[0..11],\
         NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],load:0->NXM_OF_VLAN_TCI[],load:NXM_NX_TUN_ID[]->NXM_NX_TUN_ID[],\
         output:OXM_OF_IN_PORT[]),output:{patch_int}"
    );
    vec![
        format!("cookie={c:#x},table=0,priority=1,in_port={patch_int},actions=goto_table:2"),
        format!("cookie={c:#x},table=0,priority=0,actions=drop"),
        format!("cookie={c:#x},table=2,priority=0,dl_dst=00:00:00:00:00:00/01:00:00:00:00:00,actions=goto_table:20"),
        format!("cookie={c:#x},table=2,priority=0,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,actions=goto_table:22"),
        format!("cookie={c:#x},table=3,priority=0,actions=drop"),
        format!("cookie={c:#x},table=4,priority=0,actions=drop"),
        format!("cookie={c:#x},table=6,priority=0,actions=drop"),
        format!("cookie={c:#x},table=10,priority=2,arp,arp_tha=ff:ff:ff:ff:ff:ff,actions={learn}"),
        format!("cookie={c:#x},table=10,priority=2,icmp6,icmpv6_type=134,actions={learn}"),
        format!("cookie={c:#x},table=10,priority=2,icmp6,icmpv6_type=136,actions={learn}"),
        format!("cookie={c:#x},table=10,priority=1,actions={learn}"),
        format!("cookie={c:#x},table=20,priority=0,actions=goto_table:22"),
        format!("cookie={c:#x},table=22,priority=0,actions=drop"),
    ]
}

/// The agent's `setup_tunnel_port`: what arrives on tunnel port `port` goes to table 3.
pub fn br_tun_tunnel_port_flow(port: &str) -> String {
    format!("cookie={COOKIE:#x},table=0,priority=1,in_port={port},actions=goto_table:3")
}

/// The agent's `provision_local_vlan` and `install_flood_to_tun` for one network: its key maps
/// to its local VLAN on the way in (then learn), its VLAN floods to every tunnel port on the way
/// out.
pub fn br_tun_network_flows(seg: u32, lvid: u16, tunnels: &[String]) -> Vec<String> {
    let c = COOKIE;
    let outputs: String = tunnels.iter().flat_map(|t| [",output:", t.as_str()]).collect();
    vec![
        format!(
            "cookie={c:#x},table=3,priority=1,tun_id={seg:#x},actions=push_vlan:0x8100,set_field:{}->vlan_vid,\
             goto_table:10",
            u32::from(lvid) | 0x1000
        ),
        format!(
            "cookie={c:#x},table=22,priority=1,dl_vlan={lvid},actions=pop_vlan,set_field:{seg:#x}->tun_id{outputs}"
        ),
    ]
}

/// l2population's `install_unicast_to_tun`: frames of local VLAN `lvid` to the remote VM `mac`
/// leave on tunnel port `port` with key `seg` (what table 10 would learn from the VM's replies).
pub fn br_tun_unicast_flow(seg: u32, lvid: u16, mac: &str, port: &str) -> String {
    format!(
        "cookie={COOKIE:#x},table=20,priority=2,dl_vlan={lvid},dl_dst={mac},actions=pop_vlan,\
         set_field:{seg:#x}->tun_id,output:{port}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowtable::flow_mod::FlowModCommand;

    /// Every flow parses with ferrovs's own flow syntax (the tests and the harness load them
    /// with stock ovs-ofctl, which checks them again).
    #[test]
    fn every_flow_parses() {
        let mut flows = br_int_default_flows();
        flows.extend(br_tun_default_flows("1", 300));
        flows.push(br_tun_tunnel_port_flow("2"));
        flows.extend(br_tun_network_flows(0x41, 1, &["2".into(), "3".into()]));
        flows.push(br_tun_unicast_flow(0x41, 1, "fa:16:3e:00:00:11", "2"));
        for f in &flows {
            assert!(flowtable::syntax::parse_flow_mod(f, FlowModCommand::Add).is_ok(), "{f}");
        }
    }
}
