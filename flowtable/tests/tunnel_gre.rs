//! Native GRE tunnelling through translation and execution, without sockets: an overlay bridge
//! (`br-tun`, a VM port and a gre port) and an underlay bridge (`br-phy`, LOCAL carrying the
//! host address and a physical port, NORMAL), as OVS's userspace tunnelling sets them up.

#![allow(clippy::unwrap_used)]

use flowtable::action::Action;
use flowtable::bridge::{Bridge, PortInfo};
use flowtable::extract::flow_extract;
use flowtable::flow_mod::FlowMod;
use flowtable::odp::{DpAction, PacketIn};
use flowtable::odp_exec::{execute, DpSink};
use flowtable::tunnel::{pop_gre, IpDev, Route, TunnelConfig, TunnelEnv, TunnelKey, TunnelMetadata};
use flowtable::xlate::{apply_tunnel_side_effects, xlate_env, SideEffect};
use flowtable::{DpPort, Field, FlowKey, Match, PortNo};
use std::net::Ipv4Addr;

const VM: DpPort = DpPort(1);
const GRE: DpPort = DpPort(2);
const PHY_LOCAL: DpPort = DpPort(3);
const PHY: DpPort = DpPort(4);
const PHY_MAC: u64 = 0x02aa_0000_0001;
const PEER_MAC: u64 = 0x02bb_0000_0002;
const LOCAL_IP: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 1);
const REMOTE_IP: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 2);

fn normal() -> Vec<Action> {
    vec![Action::Output { port: PortNo::NORMAL, max_len: 0 }]
}

fn switch(key: TunnelKey) -> Vec<Bridge> {
    let mut tun = Bridge::new("br-tun");
    tun.ports.insert(PortNo(1), PortInfo { name: "vm".into(), dp_port: Some(VM), ..PortInfo::default() });
    let cfg = TunnelConfig { remote_ip: Some(REMOTE_IP), in_key: key, out_key: key, ..TunnelConfig::default() };
    tun.ports.insert(
        PortNo(2),
        PortInfo { name: "gre0".into(), dp_port: Some(GRE), tunnel: Some(cfg), ..PortInfo::default() },
    );
    tun.pipeline.apply(&FlowMod::add(0, 0, Match::ANY, normal()), 0).unwrap();
    let mut phy = Bridge::new("br-phy");
    phy.ports
        .insert(PortNo::LOCAL, PortInfo { name: "br-phy".into(), dp_port: Some(PHY_LOCAL), ..PortInfo::default() });
    phy.ports.insert(PortNo(1), PortInfo { name: "eth0".into(), dp_port: Some(PHY), ..PortInfo::default() });
    phy.pipeline.apply(&FlowMod::add(0, 0, Match::ANY, normal()), 0).unwrap();
    vec![tun, phy]
}

fn env(neighbour: bool) -> TunnelEnv {
    let mut env = TunnelEnv::default();
    env.routes.routes.push(Route {
        prefix: Ipv4Addr::new(10, 1, 0, 0),
        plen: 24,
        dev: "br-phy".into(),
        gateway: None,
        src: Some(LOCAL_IP),
        metric: 0,
        local: false,
    });
    env.devs.push(IpDev { name: "br-phy".into(), mac: PHY_MAC, addrs: vec![LOCAL_IP] });
    if neighbour {
        env.neigh.set("br-phy", REMOTE_IP, PEER_MAC, 0);
    }
    env
}

#[derive(Default)]
struct Capture {
    out: Vec<(DpPort, Vec<u8>)>,
    recirculated: Vec<(TunnelMetadata, Vec<u8>)>,
}

impl DpSink for Capture {
    fn output(&mut self, port: DpPort, frame: &[u8]) {
        self.out.push((port, frame.to_vec()));
    }
    fn userspace(&mut self, _: &PacketIn, _: &[u8]) {}
    fn recirculate(&mut self, md: &TunnelMetadata, frame: &[u8]) {
        self.recirculated.push((*md, frame.to_vec()));
    }
}

/// A small IPv4/ICMP frame between two VMs.
fn vm_frame() -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 0x0b, 0x02, 0, 0, 0, 0, 0x0a, 0x08, 0x00];
    f.extend_from_slice(&[0x45, 0, 0, 28, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
    f.extend_from_slice(&[8, 0, 0xf7, 0xff, 0, 0, 0, 0]);
    f
}

#[test]
fn output_to_gre_encapsulates_and_leaves_by_the_underlay_bridge() {
    let bridges = switch(TunnelKey::Fixed(0x1234));
    let env = env(true);
    let frame = vm_frame();
    // Out of the gre port explicitly (NORMAL would flood there too).
    let mut b = bridges;
    b[0].pipeline
        .apply(&FlowMod::add(0, 10, Match::ANY, vec![Action::Output { port: PortNo(2), max_len: 0 }]), 0)
        .unwrap();
    let key = flow_extract(&frame, PortNo(1));
    let x = xlate_env(&b, &env, 0, &key, 0, false);
    let [DpAction::TunnelPush(push)] = &x.actions[..] else { panic!("{:?}", x.actions) };
    assert_eq!(push.tnl_port, GRE);
    assert!(push.actions.contains(&DpAction::Output(PHY)), "{:?}", push.actions);
    assert!(!push.actions.contains(&DpAction::Output(PHY_LOCAL)), "not back to the host: {:?}", push.actions);
    let mut sink = Capture::default();
    let mut f = frame.clone();
    execute(&mut f, &x.actions, &mut sink);
    assert_eq!(f, frame, "the packet itself is unchanged");
    let (port, wire) = &sink.out[0];
    assert_eq!(*port, PHY);
    assert_eq!(&wire[..6], &PEER_MAC.to_be_bytes()[2..]);
    let (md, inner) = pop_gre(wire).unwrap();
    assert_eq!(&wire[inner], frame.as_slice());
    assert_eq!((md.src, md.dst, md.key), (LOCAL_IP, REMOTE_IP, Some(0x1234)));
    // The megaflow does not depend on the tunnel fields (fixed key and remote).
    assert_eq!(x.wc.get(Field::TunId), 0);
}

#[test]
fn key_flow_follows_set_tunnel_and_unknown_neighbour_sends_arp() {
    let mut b = switch(TunnelKey::Flow);
    b[0].pipeline
        .apply(
            &FlowMod::add(
                0,
                10,
                Match::ANY,
                vec![Action::SetTunnel(77), Action::Output { port: PortNo(2), max_len: 0 }],
            ),
            0,
        )
        .unwrap();
    let frame = vm_frame();
    let key = flow_extract(&frame, PortNo(1));
    let x = xlate_env(&b, &env(true), 0, &key, 0, false);
    let mut sink = Capture::default();
    execute(&mut frame.clone(), &x.actions, &mut sink);
    assert_eq!(pop_gre(&sink.out[0].1).unwrap().0.key, Some(77));

    let x = xlate_env(&b, &env(false), 0, &key, 0, false);
    let [DpAction::Emit(emit)] = &x.actions[..] else { panic!("{:?}", x.actions) };
    let mut sink = Capture::default();
    execute(&mut frame.clone(), &x.actions, &mut sink);
    let arp = &sink.out.iter().find(|(p, _)| *p == PHY).unwrap().1;
    assert_eq!(arp, &emit.frame);
    assert_eq!(&arp[12..14], &[0x08, 0x06]);
    assert_eq!(&arp[38..42], &REMOTE_IP.octets(), "asks for the remote");
    assert_eq!(&arp[28..32], &LOCAL_IP.octets());
}

fn gre_from_peer(key: Option<u32>) -> Vec<u8> {
    let h = flowtable::tunnel::build_gre_header(&flowtable::tunnel::HeaderParams {
        eth_dst: PHY_MAC.to_be_bytes()[2..].try_into().unwrap(),
        eth_src: PEER_MAC.to_be_bytes()[2..].try_into().unwrap(),
        ip_src: REMOTE_IP,
        ip_dst: LOCAL_IP,
        ttl: 64,
        tos: 0,
        dont_fragment: true,
        key,
        csum: false,
    });
    let mut f = vm_frame();
    flowtable::tunnel::push_header(&mut f, &h);
    f
}

#[test]
fn gre_to_the_local_address_is_popped_and_recirculated() {
    let b = switch(TunnelKey::Fixed(5));
    let env = env(false);
    let frame = gre_from_peer(Some(5));
    let key = flow_extract(&frame, PortNo(1));
    let x = xlate_env(&b, &env, 1, &key, 0, false);
    assert!(x.actions.contains(&DpAction::TunnelPop), "{:?}", x.actions);
    for f in [Field::Ipv4Dst, Field::IpProto, Field::EthDst, Field::EthType] {
        assert_eq!(x.wc.get(f), f.max_value(), "megaflow matches {f}");
    }
    let learned = x.side_effects.iter().any(
        |e| matches!(e, SideEffect::NeighLearn { bridge, ip, mac } if bridge == "br-phy" && *ip == REMOTE_IP && *mac == PEER_MAC),
    );
    assert!(learned, "{:?}", x.side_effects);
    let mut sink = Capture::default();
    execute(&mut frame.clone(), &x.actions, &mut sink);
    let (md, inner) = &sink.recirculated[0];
    assert_eq!(inner, &vm_frame());
    assert_eq!(flowtable::tunnel::receive_port(&b, md), Some((0, PortNo(2), GRE)));
    let mut wrong = *md;
    wrong.key = Some(6);
    assert_eq!(flowtable::tunnel::receive_port(&b, &wrong), None, "another key is another tunnel");

    // Not for us: another destination address is switched, not popped.
    let mut other = frame.clone();
    other[33] = 9;
    let x = xlate_env(&b, &env, 1, &flow_extract(&other, PortNo(1)), 0, false);
    assert!(!x.actions.contains(&DpAction::TunnelPop));
}

#[test]
fn arp_replies_to_the_internal_port_are_snooped() {
    let b = switch(TunnelKey::Absent);
    let mut env = env(false);
    let mut reply = vec![0; 42];
    reply[..6].copy_from_slice(&PHY_MAC.to_be_bytes()[2..]);
    reply[6..12].copy_from_slice(&PEER_MAC.to_be_bytes()[2..]);
    reply[12..14].copy_from_slice(&[0x08, 0x06]);
    reply[14..22].copy_from_slice(&[0, 1, 8, 0, 6, 4, 0, 2]);
    reply[22..28].copy_from_slice(&PEER_MAC.to_be_bytes()[2..]);
    reply[28..32].copy_from_slice(&REMOTE_IP.octets());
    reply[32..38].copy_from_slice(&PHY_MAC.to_be_bytes()[2..]);
    reply[38..42].copy_from_slice(&LOCAL_IP.octets());
    let x = xlate_env(&b, &env, 1, &flow_extract(&reply, PortNo(1)), 0, false);
    assert!(x.actions.contains(&DpAction::Output(PHY_LOCAL)), "the host still gets it: {:?}", x.actions);
    assert!(apply_tunnel_side_effects(&mut env, &x.side_effects, 5));
    assert_eq!(env.neigh.lookup("br-phy", REMOTE_IP), Some(PEER_MAC));
    assert!(!apply_tunnel_side_effects(&mut env, &x.side_effects, 6), "a refresh changes nothing");
}

#[test]
fn without_a_route_the_packet_is_dropped() {
    let mut b = switch(TunnelKey::Absent);
    b[0].pipeline
        .apply(&FlowMod::add(0, 10, Match::ANY, vec![Action::Output { port: PortNo(2), max_len: 0 }]), 0)
        .unwrap();
    let key = flow_extract(&vm_frame(), PortNo(1));
    let x = xlate_env(&b, &TunnelEnv::default(), 0, &key, 0, false);
    assert!(x.actions.is_empty(), "{:?}", x.actions);
    let _ = FlowKey::ZERO;
}

#[test]
fn flows_in_ovs_ofctl_syntax_set_tunnel_fields_for_remote_ip_flow() {
    use flowtable::flow_mod::FlowModCommand;
    use flowtable::syntax::parse_flow_mod;
    let mut b = switch(TunnelKey::Flow);
    let cfg =
        TunnelConfig { remote_ip: None, in_key: TunnelKey::Flow, out_key: TunnelKey::Flow, ..TunnelConfig::default() };
    b[0].ports.get_mut(&PortNo(2)).unwrap().tunnel = Some(cfg);
    for line in [
        "priority=10,in_port=1,actions=set_field:10.1.0.2->tun_dst,load:0x99->NXM_NX_TUN_ID[],output:2",
        "priority=10,in_port=2,tun_src=10.1.0.2,tun_id=0x99,actions=output:1",
    ] {
        b[0].pipeline.apply(&parse_flow_mod(line, FlowModCommand::Add).unwrap(), 0).unwrap();
    }
    let env = env(true);
    let frame = vm_frame();
    let x = xlate_env(&b, &env, 0, &flow_extract(&frame, PortNo(1)), 0, false);
    let mut sink = Capture::default();
    execute(&mut frame.clone(), &x.actions, &mut sink);
    let (md, _) = pop_gre(&sink.out[0].1).unwrap();
    assert_eq!((md.dst, md.key), (REMOTE_IP, Some(0x99)));
    // Receive side: the tunnel metadata in the key selects the rule.
    let mut k = flow_extract(&frame, PortNo(2));
    k.set(Field::TunSrc, u128::from(u32::from(REMOTE_IP)));
    k.set(Field::TunId, 0x99);
    let x = xlate_env(&b, &env, 0, &k, 0, false);
    assert_eq!(&x.actions[..], &[DpAction::Output(VM)]);
    assert_eq!(x.wc.get(Field::TunSrc), 0xffff_ffff, "the megaflow matches the tunnel fields used");
}
