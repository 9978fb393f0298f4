//! Recirculation of decapsulated GRE packets through the poll thread's processing: a GRE frame
//! for the host address arriving on the physical port is popped, re-enters on the gre port with
//! its tunnel metadata in the key, and reaches the VM, through the caches as without them; a
//! packet for no configured tunnel is dropped and counted; nesting is bounded.

#![allow(clippy::unwrap_used)]

use datapath::pmd::{Pmd, SwitchState, MAX_RECIRC_DEPTH};
use flowtable::action::Action;
use flowtable::bridge::{Bridge, PortInfo};
use flowtable::flow_mod::FlowMod;
use flowtable::odp::PacketIn;
use flowtable::odp_exec::DpSink;
use flowtable::tunnel::{build_gre_header, push_header, HeaderParams, IpDev, TunnelConfig, TunnelKey};
use flowtable::{DpPort, Field, Match, PortNo};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

const VM: DpPort = DpPort(1);
const GRE: DpPort = DpPort(2);
const PHY_LOCAL: DpPort = DpPort(3);
const PHY: DpPort = DpPort(4);
const PHY_MAC: [u8; 6] = [2, 0xaa, 0, 0, 0, 1];
const LOCAL_IP: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 1);
const REMOTE_IP: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 2);

#[derive(Default)]
struct Sink(Vec<(DpPort, Vec<u8>)>);

impl DpSink for Sink {
    fn output(&mut self, port: DpPort, frame: &[u8]) {
        self.0.push((port, frame.to_vec()));
    }
    fn userspace(&mut self, _: &PacketIn, _: &[u8]) {}
}

/// br-tun: VM port 1 and gre port 2 (key 5); only tun_id=5 from the gre port reaches the VM.
/// br-phy: LOCAL with the host address, physical port 1, NORMAL.
fn state() -> SwitchState {
    let mut tun = Bridge::new("br-tun");
    tun.ports.insert(PortNo(1), PortInfo { name: "vm".into(), dp_port: Some(VM), ..PortInfo::default() });
    let cfg = TunnelConfig {
        remote_ip: Some(REMOTE_IP),
        in_key: TunnelKey::Flow,
        out_key: TunnelKey::Flow,
        ..TunnelConfig::default()
    };
    tun.ports.insert(
        PortNo(2),
        PortInfo { name: "gre0".into(), dp_port: Some(GRE), tunnel: Some(cfg), ..PortInfo::default() },
    );
    let mut m = Match::ANY;
    m.set(Field::InPort, 2);
    m.set(Field::TunId, 5);
    tun.pipeline.apply(&FlowMod::add(0, 10, m, vec![Action::Output { port: PortNo(1), max_len: 0 }]), 0).unwrap();
    let mut phy = Bridge::new("br-phy");
    phy.ports
        .insert(PortNo::LOCAL, PortInfo { name: "br-phy".into(), dp_port: Some(PHY_LOCAL), ..PortInfo::default() });
    phy.ports.insert(PortNo(1), PortInfo { name: "eth0".into(), dp_port: Some(PHY), ..PortInfo::default() });
    phy.pipeline
        .apply(&FlowMod::add(0, 0, Match::ANY, vec![Action::Output { port: PortNo::NORMAL, max_len: 0 }]), 0)
        .unwrap();
    let mut st = SwitchState {
        bridges: vec![tun, phy],
        ports: BTreeMap::from([
            (VM, (0, PortNo(1))),
            (GRE, (0, PortNo(2))),
            (PHY_LOCAL, (1, PortNo::LOCAL)),
            (PHY, (1, PortNo(1))),
        ]),
        ..SwitchState::default()
    };
    st.tunnels.devs.push(IpDev { name: "br-phy".into(), mac: 0x02aa_0000_0001, addrs: vec![LOCAL_IP] });
    st
}

fn inner() -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 0x0b, 0x02, 0, 0, 0, 0, 0x0a, 0x08, 0x06];
    f.extend_from_slice(&[0; 28]);
    f
}

fn encapsulate(frame: &[u8], key: u32) -> Vec<u8> {
    let h = build_gre_header(&HeaderParams {
        eth_dst: PHY_MAC,
        eth_src: [2, 0xbb, 0, 0, 0, 2],
        ip_src: REMOTE_IP,
        ip_dst: LOCAL_IP,
        ttl: 64,
        tos: 0,
        dont_fragment: true,
        key: Some(key),
        csum: false,
    });
    let mut f = frame.to_vec();
    push_header(&mut f, &h);
    f
}

#[test]
fn popped_packets_reach_the_vm_through_the_caches_and_without_them() {
    let st = state();
    for caches in [true, false] {
        let mut pmd = Pmd::default();
        pmd.caches_enabled = caches;
        for round in 0..3 {
            let mut sink = Sink::default();
            let mut frames = vec![encapsulate(&inner(), 5), encapsulate(&inner(), 6)];
            pmd.process_batch(&st, PHY, &mut frames, &mut sink, round);
            assert_eq!(sink.0, vec![(VM, inner())], "caches {caches} round {round}: only key 5 reaches the VM");
        }
        assert_eq!(pmd.stats.recirculations, 6);
        assert_eq!(pmd.ports[&GRE].rx_packets, 6);
        if caches {
            assert!(pmd.stats.emc_hits + pmd.stats.megaflow_hits >= 8, "{:?}", pmd.stats);
        }
    }
}

#[test]
fn packets_for_no_tunnel_are_dropped_and_nesting_is_bounded() {
    let st = state();
    let mut pmd = Pmd::default();
    let mut sink = Sink::default();
    // From an address no gre port has as remote.
    let mut stranger = encapsulate(&inner(), 5);
    stranger[29] = 9;
    stranger[24..26].copy_from_slice(&[0, 0]);
    let c = {
        let mut sum: u32 = stranger[14..34].chunks(2).map(|w| u32::from(u16::from_be_bytes([w[0], w[1]]))).sum();
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !(sum as u16)
    };
    stranger[24..26].copy_from_slice(&c.to_be_bytes());
    pmd.process_batch(&st, PHY, &mut [stranger], &mut sink, 0);
    assert!(sink.0.is_empty());
    assert_eq!(pmd.stats.tunnel_drops, 1);

    // GRE in GRE in ...: the gre port's own pipeline sends what it decapsulates to br-phy's
    // LOCAL (a loop back into the pop); recirculation stops at the depth limit.
    let mut st = state();
    let mut m = Match::ANY;
    m.set(Field::InPort, 2);
    st.bridges[0]
        .ports
        .insert(PortNo(3), PortInfo { name: "patch".into(), patch_peer: Some((1, PortNo(7))), ..PortInfo::default() });
    st.bridges[1].ports.insert(
        PortNo(7),
        PortInfo { name: "patch-peer".into(), patch_peer: Some((0, PortNo(3))), ..PortInfo::default() },
    );
    st.bridges[0]
        .pipeline
        .apply(&FlowMod::add(0, 20, m, vec![Action::Output { port: PortNo(3), max_len: 0 }]), 0)
        .unwrap();
    let mut f = inner();
    for _ in 0..MAX_RECIRC_DEPTH + 3 {
        f = encapsulate(&f, 5);
    }
    let mut pmd = Pmd::default();
    let mut sink = Sink::default();
    pmd.process_batch(&st, PHY, &mut [f], &mut sink, 0);
    assert_eq!(pmd.stats.recirculations, u64::from(MAX_RECIRC_DEPTH));
    assert_eq!(pmd.stats.tunnel_drops, 1);
}
