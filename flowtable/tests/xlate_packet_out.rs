//! `xlate_actions`: an OpenFlow PACKET_OUT's action list translated outside any rule.

#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use flowtable::action::{Action, PacketInReason};
use flowtable::bridge::{Bridge, PortInfo};
use flowtable::flow_mod::FlowMod;
use flowtable::tunnel::TunnelEnv;
use flowtable::xlate::xlate_actions;
use flowtable::{DpAction, DpPort, Field, FlowKey, Match, PortNo};

fn bridges() -> Vec<Bridge> {
    let mut b = Bridge::new("br0");
    for p in 1..=3u16 {
        b.ports.insert(
            PortNo(p),
            PortInfo { name: format!("p{p}"), dp_port: Some(DpPort(u32::from(p) + 10)), ..PortInfo::default() },
        );
    }
    // Table 0 sends everything from port 1 to port 3 (what output:TABLE must find).
    let m = Match::ANY.with(Field::InPort, 1);
    b.pipeline.apply(&FlowMod::add(0, 10, m, vec![Action::Output { port: PortNo(3), max_len: 0 }]), 0).unwrap();
    vec![b]
}

fn key(in_port: u16) -> FlowKey {
    let mut k = FlowKey::ZERO;
    k.set(Field::InPort, in_port.into());
    k.set(Field::EthType, 0x0806);
    k
}

#[test]
fn packet_out_actions_are_translated_with_header_commits() {
    let b = bridges();
    let acts = vec![
        Action::SetField { field: Field::EthDst, value: 0x0200_0000_0001, mask: 0xffff_ffff_ffff },
        Action::Output { port: PortNo(2), max_len: 0 },
    ];
    let x = xlate_actions(&b, &TunnelEnv::EMPTY, 0, &key(PortNo::CONTROLLER.0), &acts, 0);
    assert!(x.error.is_none());
    assert!(matches!(x.actions[0], DpAction::SetMasked { field: Field::EthDst, .. }), "{:?}", x.actions);
    assert_eq!(x.actions[1], DpAction::Output(DpPort(12)));
}

#[test]
fn output_table_runs_the_pipeline_and_in_port_goes_back() {
    let b = bridges();
    let x = xlate_actions(&b, &TunnelEnv::EMPTY, 0, &key(1), &[Action::Output { port: PortNo::TABLE, max_len: 0 }], 0);
    assert_eq!(x.actions.to_vec(), vec![DpAction::Output(DpPort(13))]);
    let x =
        xlate_actions(&b, &TunnelEnv::EMPTY, 0, &key(2), &[Action::Output { port: PortNo::IN_PORT, max_len: 0 }], 0);
    assert_eq!(x.actions.to_vec(), vec![DpAction::Output(DpPort(12))]);
    // Flood from the controller reaches every port; a controller action becomes a packet-in.
    let x = xlate_actions(
        &b,
        &TunnelEnv::EMPTY,
        0,
        &key(PortNo::CONTROLLER.0),
        &[Action::Output { port: PortNo::FLOOD, max_len: 0 }],
        0,
    );
    assert_eq!(x.actions.len(), 3);
    let x = xlate_actions(
        &b,
        &TunnelEnv::EMPTY,
        0,
        &key(1),
        &[Action::Output { port: PortNo::CONTROLLER, max_len: 64 }],
        0,
    );
    match &x.actions[..] {
        [DpAction::Userspace(pin)] => {
            assert_eq!(pin.reason, PacketInReason::Action);
            assert_eq!(pin.max_len, 64);
        }
        other => panic!("{other:?}"),
    }
    // No actions: dropped.
    assert!(xlate_actions(&b, &TunnelEnv::EMPTY, 0, &key(1), &[], 0).actions.is_empty());
}
