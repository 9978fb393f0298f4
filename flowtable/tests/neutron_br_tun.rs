//! Neutron's br-tun pipeline (neutron-openvswitch-agent, GRE): a frame from a remote host
//! triggers the table-10 `learn`, and the learned table-20 flow then sends replies for that
//! MAC back into the right tunnel with the right key, VLAN stripped.

#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use flowtable::action::{Action, Learn, LearnSpec, LearnSrc};
use flowtable::bridge::{Bridge, PortInfo};
use flowtable::flow_mod::FlowMod;
use flowtable::xlate::{apply_side_effects, xlate, SideEffect};
use flowtable::{DpAction, DpPort, Field, FlowKey, Match, PortNo, SubField};

const PATCH_INT: u16 = 1;
const GRE: u16 = 2;
const VM_A: u128 = 0xfa16_3e00_000a;
const VM_B: u128 = 0xfa16_3e00_000b;

fn resubmit(table: u8) -> Action {
    Action::Resubmit { port: None, table: Some(table) }
}

fn out(p: u16) -> Action {
    Action::Output { port: PortNo(p), max_len: 0 }
}

fn neutron_learn() -> Action {
    let sf = |field, ofs, n_bits| SubField { field, ofs, n_bits };
    Action::Learn(Box::new(Learn {
        table_id: 20,
        priority: 1,
        hard_timeout: 300,
        cookie: 0x9a3b,
        specs: vec![
            // NXM_OF_VLAN_TCI[0..11]
            LearnSpec::Match { dst: sf(Field::VlanTci, 0, 12), src: LearnSrc::Field(sf(Field::VlanTci, 0, 12)) },
            // NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[]
            LearnSpec::Match {
                dst: SubField::whole(Field::EthDst),
                src: LearnSrc::Field(SubField::whole(Field::EthSrc)),
            },
            // load:0->NXM_OF_VLAN_TCI[]
            LearnSpec::Load { dst: SubField::whole(Field::VlanTci), src: LearnSrc::Imm(0) },
            // load:NXM_NX_TUN_ID[]->NXM_NX_TUN_ID[]
            LearnSpec::Load { dst: SubField::whole(Field::TunId), src: LearnSrc::Field(SubField::whole(Field::TunId)) },
            // output:OXM_OF_IN_PORT[]
            LearnSpec::Output { src: sf(Field::InPort, 0, 16) },
        ],
        ..Learn::default()
    }))
}

fn br_tun() -> Bridge {
    let mut b = Bridge::new("br-tun");
    b.ports.insert(
        PortNo(PATCH_INT),
        PortInfo { name: "patch-int".into(), dp_port: Some(DpPort(1)), ..PortInfo::default() },
    );
    b.ports
        .insert(PortNo(GRE), PortInfo { name: "gre-0a000002".into(), dp_port: Some(DpPort(2)), ..PortInfo::default() });
    let unicast = Match::ANY.with_masked(Field::EthDst, 0, 0x0100_0000_0000);
    let multicast = Match::ANY.with_masked(Field::EthDst, 0x0100_0000_0000, 0x0100_0000_0000);
    let flows = [
        FlowMod::add(0, 1, Match::ANY.with(Field::InPort, PATCH_INT.into()), vec![resubmit(2)]),
        FlowMod::add(0, 1, Match::ANY.with(Field::InPort, GRE.into()), vec![resubmit(3)]),
        FlowMod::add(0, 0, Match::ANY, vec![]),
        FlowMod::add(2, 0, unicast, vec![resubmit(20)]),
        FlowMod::add(2, 0, multicast, vec![resubmit(22)]),
        FlowMod::add(3, 1, Match::ANY.with(Field::TunId, 0x41), vec![Action::SetVlanVid(1), resubmit(10)]),
        FlowMod::add(3, 0, Match::ANY, vec![]),
        FlowMod::add(10, 1, Match::ANY, vec![neutron_learn(), out(PATCH_INT)]),
        FlowMod::add(20, 0, Match::ANY, vec![resubmit(22)]),
        FlowMod::add(
            22,
            1,
            Match::ANY.with_masked(Field::VlanTci, 0x1001, 0x1fff),
            vec![Action::PopVlan, Action::SetTunnel(0x41), out(GRE)],
        ),
        FlowMod::add(22, 0, Match::ANY, vec![]),
    ];
    for fm in &flows {
        b.pipeline.apply(fm, 0).expect("Neutron's flows are valid");
    }
    b
}

#[test]
fn gre_ingress_learns_and_the_reply_uses_the_learned_flow() {
    let mut bridges = vec![br_tun()];
    // A frame from VM A on the remote host: GRE port, key 0x41.
    let mut from_remote = FlowKey::ZERO;
    from_remote.set(Field::InPort, GRE.into());
    from_remote.set(Field::TunId, 0x41);
    from_remote.set(Field::EthSrc, VM_A);
    from_remote.set(Field::EthDst, VM_B);
    from_remote.set(Field::EthType, 0x0800);
    let x = xlate(&bridges, 0, &from_remote, 1_000);
    // Tagged with the local VLAN and handed to br-int.
    assert_eq!(&x.actions[..], &[DpAction::PushVlan { tpid: 0x8100, tci: 0x1001 }, DpAction::Output(DpPort(1))]);
    let learned = x.side_effects.iter().find_map(|e| match e {
        SideEffect::Learn { flow_mod, .. } => Some(flow_mod.clone()),
        SideEffect::MacLearn { .. } | SideEffect::NeighLearn { .. } => None,
    });
    let learned = learned.expect("table 10 learns");
    assert_eq!(learned.table_id, 20);
    assert_eq!(learned.match_.get(Field::EthDst), (VM_A, 0xffff_ffff_ffff));
    assert_eq!(learned.match_.get(Field::VlanTci), (1, 0x0fff));
    assert!(apply_side_effects(&mut bridges, &x.side_effects, 1_000), "a new flow in table 20");
    assert_eq!(bridges[0].pipeline.table(20).map(|t| t.cls.len()), Some(2));
    // Learning the same thing again refreshes, it does not churn the table.
    assert!(!apply_side_effects(&mut bridges, &x.side_effects, 2_000));

    // VM B answers from br-int: VLAN 1, to VM A. The learned flow strips the VLAN, sets the key
    // and outputs to the GRE port the frame came from.
    let mut reply = FlowKey::ZERO;
    reply.set(Field::InPort, PATCH_INT.into());
    reply.set(Field::VlanTci, 0x1001);
    reply.set(Field::EthSrc, VM_B);
    reply.set(Field::EthDst, VM_A);
    reply.set(Field::EthType, 0x0800);
    let x = xlate(&bridges, 0, &reply, 3_000);
    assert_eq!(&x.actions[..], &[DpAction::PopVlan, DpAction::Output(DpPort(2))]);
    // Unknown destinations flood through table 22 instead.
    reply.set(Field::EthDst, 0xfa16_3e00_00cc);
    let x = xlate(&bridges, 0, &reply, 3_000);
    assert_eq!(&x.actions[..], &[DpAction::PopVlan, DpAction::Output(DpPort(2))]);
    assert_eq!(x.stats.len(), 4, "tables 0, 2, 20 (default), 22");

    // The learned flow's hard timeout counts from its last refresh (Open vSwitch semantics).
    assert!(bridges[0].pipeline.expire(2_000 + 299_000).is_empty());
    assert_eq!(bridges[0].pipeline.expire(2_000 + 300_000).len(), 1);
}
