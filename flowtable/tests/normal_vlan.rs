//! NORMAL as Open vSwitch's VLAN-aware learning switch: access ports tag on the way in and
//! untag on the way out, trunks carry tags, floods stay inside the VLAN, learned MACs are used.

#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use flowtable::action::Action;
use flowtable::bridge::{Bridge, PortInfo, VlanConfig, VlanMode};
use flowtable::flow_mod::FlowMod;
use flowtable::xlate::{apply_side_effects, xlate};
use flowtable::{DpAction, DpPort, Field, FlowKey, Match, PortNo};

fn bridge() -> Vec<Bridge> {
    let mut b = Bridge::new("br-int");
    let ports = [
        (1, VlanConfig::access(5)),
        (2, VlanConfig::access(6)),
        (3, VlanConfig::default()),
        (4, VlanConfig::access(5)),
        (5, VlanConfig { mode: VlanMode::NativeUntagged, tag: Some(5), trunks: vec![5, 7] }),
    ];
    for (p, vlan) in ports {
        b.ports.insert(
            PortNo(p),
            PortInfo { name: format!("p{p}"), dp_port: Some(DpPort(u32::from(p))), vlan, ..PortInfo::default() },
        );
    }
    b.pipeline
        .apply(&FlowMod::add(0, 0, Match::ANY, vec![Action::Output { port: PortNo::NORMAL, max_len: 0 }]), 0)
        .unwrap();
    vec![b]
}

fn frame(in_port: u16, tci: u16, src: u128, dst: u128) -> FlowKey {
    let mut k = FlowKey::ZERO;
    k.set(Field::InPort, in_port.into());
    k.set(Field::VlanTci, tci.into());
    k.set(Field::EthSrc, src);
    k.set(Field::EthDst, dst);
    k.set(Field::EthType, 0x0800);
    k
}

#[test]
fn access_and_trunk_flooding_then_learned_unicast() {
    let mut bridges = bridge();
    let a = 0x0200_0000_000a;
    let b = 0x0200_0000_000b;
    let x = xlate(&bridges, 0, &frame(1, 0, a, b), 0);
    // Flood in VLAN 5: trunk port 3 gets it tagged, access port 4 untagged, native-untagged 5
    // untagged; port 2 (VLAN 6) gets nothing.
    assert_eq!(
        &x.actions[..],
        &[
            DpAction::PushVlan { tpid: 0x8100, tci: 0x1005 },
            DpAction::Output(DpPort(3)),
            DpAction::PopVlan,
            DpAction::Output(DpPort(4)),
            DpAction::Output(DpPort(5)),
        ]
    );
    assert!(apply_side_effects(&mut bridges, &x.side_effects, 0));
    // The reply arrives tagged on the trunk and goes, untagged, to the learned port only.
    let x = xlate(&bridges, 0, &frame(3, 0x1005, b, a), 1);
    assert_eq!(&x.actions[..], &[DpAction::PopVlan, DpAction::Output(DpPort(1))]);
    // A tagged frame on an access port is dropped; a VLAN the trunk list lacks too.
    assert!(xlate(&bridges, 0, &frame(1, 0x1005, a, b), 2).actions.is_empty());
    assert!(xlate(&bridges, 0, &frame(5, 0x1006, a, b), 2).actions.is_empty());
    // The megaflow depends on in_port, both MACs and the VLAN, as Open vSwitch's NORMAL does.
    for f in [Field::InPort, Field::EthSrc, Field::EthDst] {
        assert_eq!(x.wc.get(f), f.max_value(), "{f}");
    }
}

#[test]
fn trace_explains_flooding_and_the_learned_port() {
    use flowtable::xlate::xlate_with;
    let mut bridges = bridge();
    let (a, b) = (0x0200_0000_000a, 0x0200_0000_000b);
    let x = xlate_with(&bridges, 0, &frame(1, 0, a, b), 0, true);
    assert!(
        x.trace.iter().any(|l| l.trim() == "-> no learned MAC for destination, flooding (VLAN 5)"),
        "{:?}",
        x.trace
    );
    assert!(apply_side_effects(&mut bridges, &x.side_effects, 0));
    let x = xlate_with(&bridges, 0, &frame(3, 0x1005, b, a), 1, true);
    assert!(x.trace.iter().any(|l| l.trim() == "-> forwarding to learned port p1 (VLAN 5)"), "{:?}", x.trace);
    assert!(apply_side_effects(&mut bridges, &x.side_effects, 1));
    let x = xlate_with(&bridges, 0, &frame(4, 0, b, a), 2, true);
    assert!(x.trace.iter().any(|l| l.trim() == "-> forwarding to learned port p1 (VLAN 5)"), "{:?}", x.trace);
    let x = xlate_with(&bridges, 0, &frame(1, 0, b, a), 2, true);
    assert!(x.trace.iter().any(|l| l.trim() == "-> learned port is input port, dropping (VLAN 5)"), "{:?}", x.trace);
    // Untraced translation records nothing.
    assert!(xlate(&bridges, 0, &frame(1, 0, b, a), 2).trace.is_empty());
}
