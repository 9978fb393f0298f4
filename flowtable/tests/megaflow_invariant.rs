//! The central invariant of the caches: for random rule sets and random packets, executing the
//! megaflow's actions on any packet that matches the megaflow (the translated packet's key
//! under the megaflow mask) gives exactly what a full translation of that packet gives.
//! Also: adding a rule changes the result only for packets it matches.

#![allow(clippy::unwrap_used)]

use flowtable::action::{Action, Learn, LearnSpec, LearnSrc};
use flowtable::bridge::{Bridge, PortInfo, VlanConfig};
use flowtable::flow_mod::FlowMod;
use flowtable::odp_exec::apply_to_key;
use flowtable::xlate::{xlate, SideEffect, Xlation};
use flowtable::{DpAction, DpPort, Field, FlowKey, Match, PortNo, SubField};
use proptest::prelude::*;

/// What a packet got: every output with the packet as it left, every packet-in, side effects.
#[derive(Debug, PartialEq)]
struct Outcome {
    outputs: Vec<(u32, FlowKey)>,
    packet_ins: Vec<(u8, u64, FlowKey)>,
    side_effects: Vec<SideEffect>,
    error: bool,
}

fn run(x: &Xlation, packet: &FlowKey) -> Outcome {
    let mut k = *packet;
    let mut outputs = Vec::new();
    let mut packet_ins = Vec::new();
    for a in &x.actions {
        match a {
            DpAction::Output(DpPort(p)) => outputs.push((*p, header_view(&k))),
            DpAction::Userspace(pin) => packet_ins.push((pin.table_id, pin.cookie, header_view(&k))),
            other => apply_to_key(&mut k, other),
        }
    }
    Outcome { outputs, packet_ins, side_effects: x.side_effects.clone(), error: x.error.is_some() }
}

/// The packet's headers as they would be on the wire (pipeline metadata is not transmitted).
fn header_view(k: &FlowKey) -> FlowKey {
    let mut h = *k;
    for w in &mut h.words[..flowtable::field::STAGE_ENDS[0]] {
        *w = 0;
    }
    h
}

fn field_value() -> impl Strategy<Value = (Field, u128)> {
    prop_oneof![
        (1u128..=4).prop_map(|v| (Field::InPort, v)),
        prop_oneof![Just(0x0800u128), Just(0x0806), Just(0x86dd)].prop_map(|v| (Field::EthType, v)),
        prop_oneof![Just(1u128), Just(6), Just(17)].prop_map(|v| (Field::IpProto, v)),
        (0u128..3).prop_map(|v| (Field::EthSrc, 0x0200_0000_0000 + v)),
        prop_oneof![Just(0x0200_0000_0000u128), Just(0x0200_0000_0001), Just(0xffff_ffff_ffff)]
            .prop_map(|v| (Field::EthDst, v)),
        prop_oneof![Just(0u128), Just(0x1005), Just(0x1007), Just(0x3005)].prop_map(|v| (Field::VlanTci, v)),
        prop_oneof![Just(0x0a00_0001u128), Just(0x0a00_0002), Just(0x0b00_0001)].prop_map(|v| (Field::Ipv4Dst, v)),
        prop_oneof![Just(80u128), Just(443)].prop_map(|v| (Field::TpDst, v)),
        (0u128..3).prop_map(|v| (Field::Reg(0), v)),
        prop_oneof![Just(1u128), Just(2), Just(64)].prop_map(|v| (Field::IpTtl, v)),
        (0u128..2).prop_map(|v| (Field::TunId, v)),
    ]
}

fn match_strategy() -> impl Strategy<Value = Match> {
    prop::collection::vec((field_value(), any::<bool>()), 0..4).prop_map(|fields| {
        let mut m = Match::ANY;
        for ((f, v), masked) in fields {
            // Sometimes a prefix/partial mask, to exercise the classifier's prefix handling.
            let mask = if masked && f == Field::Ipv4Dst { 0xff00_0000 } else { u128::MAX };
            m.set_masked(f, v, mask);
        }
        m
    })
}

fn action_strategy(table: u8) -> impl Strategy<Value = Action> {
    // goto_table must go forward; from the last table it becomes a resubmit to table 0.
    let later = (table + 1)..5u8;
    prop_oneof![
        4 => (1u16..=5).prop_map(|p| Action::Output { port: PortNo(p), max_len: 0 }),
        1 => Just(Action::Output { port: PortNo::NORMAL, max_len: 0 }),
        1 => Just(Action::Output { port: PortNo::FLOOD, max_len: 0 }),
        1 => Just(Action::Output { port: PortNo::IN_PORT, max_len: 0 }),
        1 => Just(Action::Output { port: PortNo::CONTROLLER, max_len: 128 }),
        2 => field_value().prop_filter("writable", |(f, _)| f.writable() && *f != Field::InPort)
            .prop_map(|(field, value)| Action::SetField { field, value, mask: field.max_value() }),
        1 => Just(Action::RegMove { src: SubField::whole(Field::EthSrc), dst: SubField::whole(Field::EthDst) }),
        1 => Just(Action::RegMove { src: SubField { field: Field::VlanTci, ofs: 0, n_bits: 12 }, dst: SubField { field: Field::Reg(0), ofs: 0, n_bits: 12 } }),
        1 => Just(Action::PushVlan(0x8100)),
        1 => Just(Action::PopVlan),
        1 => (1u16..4).prop_map(Action::SetVlanVid),
        1 => Just(Action::DecTtl),
        1 => (0u8..4).prop_map(|t| Action::Resubmit { port: None, table: Some(t) }),
        1 => (1u16..=4).prop_map(|p| Action::Resubmit { port: Some(PortNo(p)), table: None }),
        1 => later.prop_map(|t| if t < 4 { Action::GotoTable(t) } else { Action::Resubmit { port: None, table: Some(0) } }),
        1 => Just(Action::WriteActions(vec![Action::Output { port: PortNo(3), max_len: 0 }])),
        1 => Just(Action::Learn(Box::new(Learn {
            table_id: 3,
            priority: 1,
            hard_timeout: 300,
            specs: vec![
                LearnSpec::Match { dst: SubField { field: Field::VlanTci, ofs: 0, n_bits: 12 }, src: LearnSrc::Field(SubField { field: Field::VlanTci, ofs: 0, n_bits: 12 }) },
                LearnSpec::Match { dst: SubField::whole(Field::EthDst), src: LearnSrc::Field(SubField::whole(Field::EthSrc)) },
                LearnSpec::Load { dst: SubField::whole(Field::TunId), src: LearnSrc::Imm(7) },
                LearnSpec::Output { src: SubField { field: Field::InPort, ofs: 0, n_bits: 16 } },
            ],
            ..Learn::default()
        }))),
    ]
}

fn rules_strategy() -> impl Strategy<Value = Vec<FlowMod>> {
    let rule = (0u8..4).prop_flat_map(|table| {
        (match_strategy(), prop::collection::vec(action_strategy(table), 0..4))
            .prop_map(move |(m, actions)| (table, m, actions))
    });
    prop::collection::vec(rule, 0..12).prop_map(|rules| {
        rules
            .into_iter()
            .enumerate()
            // Distinct priorities: which of two equal-priority overlapping rules wins is unspecified.
            .map(|(i, (table, m, mut actions))| {
                // goto_table must end the list (it is an instruction).
                if let Some(pos) = actions.iter().position(|a| matches!(a, Action::GotoTable(_))) {
                    actions.truncate(pos + 1);
                }
                FlowMod::add(table, 100 + i as u16, m, actions)
            })
            .collect()
    })
}

fn key_strategy() -> impl Strategy<Value = FlowKey> {
    prop::collection::vec(field_value(), 0..12).prop_map(|fields| {
        let mut k = FlowKey::ZERO;
        k.set(Field::InPort, 1);
        for (f, v) in fields {
            k.set(f, v);
        }
        k
    })
}

/// Two bridges: br0 ports 1-4 (port 4 an access port of VLAN 5) and patch port 5 to br1,
/// whose port 1 is the patch peer and port 2 a datapath port.
fn topology(rules: &[FlowMod]) -> Vec<Bridge> {
    let mut br0 = Bridge::new("br0");
    for p in 1..=4u16 {
        let vlan = if p == 4 { VlanConfig::access(5) } else { VlanConfig::default() };
        br0.ports.insert(
            PortNo(p),
            PortInfo { name: format!("p{p}"), dp_port: Some(DpPort(u32::from(p))), vlan, ..PortInfo::default() },
        );
    }
    br0.ports.insert(
        PortNo(5),
        PortInfo { name: "patch-br1".into(), patch_peer: Some((1, PortNo(1))), ..PortInfo::default() },
    );
    br0.macs.learn(0, 0x0200_0000_0001, PortNo(2), 0);
    for fm in rules {
        // Rules the pipeline refuses (bad prerequisites and the like) are simply absent.
        let _ = br0.pipeline.apply(fm, 0);
    }
    let mut br1 = Bridge::new("br1");
    br1.ports.insert(
        PortNo(1),
        PortInfo { name: "patch-br0".into(), patch_peer: Some((0, PortNo(5))), ..PortInfo::default() },
    );
    br1.ports.insert(PortNo(2), PortInfo { name: "q2".into(), dp_port: Some(DpPort(12)), ..PortInfo::default() });
    let _ = br1
        .pipeline
        .apply(&FlowMod::add(0, 0, Match::ANY, vec![Action::Output { port: PortNo::NORMAL, max_len: 0 }]), 0);
    vec![br0, br1]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn megaflow_gives_what_full_translation_gives(rules in rules_strategy(), k1 in key_strategy(), other in key_strategy()) {
        let bridges = topology(&rules);
        let x1 = xlate(&bridges, 0, &k1, 1);
        // Any packet equal to k1 on the megaflow's bits hits this megaflow.
        let mut k2 = FlowKey::ZERO;
        for i in 0..k2.words.len() {
            k2.words[i] = (k1.words[i] & x1.wc.words[i]) | (other.words[i] & !x1.wc.words[i]);
        }
        let x2 = xlate(&bridges, 0, &k2, 1);
        prop_assert_eq!(run(&x1, &k2), run(&x2, &k2), "megaflow mask {:?}", x1.wc);
    }

    #[test]
    fn adding_a_rule_changes_only_packets_that_use_it(rules in rules_strategy(), extra in match_strategy(), prio in 0u16..200, k in key_strategy()) {
        let before = topology(&rules);
        let mut rules2 = rules.clone();
        let fm = FlowMod::add(0, prio, extra, vec![Action::Output { port: PortNo(4), max_len: 0 }]);
        rules2.push(fm.clone());
        let after = topology(&rules2);
        let Some(new_rule) = after[0].pipeline.table(0).and_then(|t| t.cls.find_exact(&extra, prio, after[0].pipeline.version())) else {
            return Ok(()); // refused (bad prerequisites): nothing changed
        };
        let (x1, x2) = (xlate(&before, 0, &k, 1), xlate(&after, 0, &k, 1));
        let used = x2.stats.iter().any(|s| std::sync::Arc::ptr_eq(s, &new_rule.value.stats));
        if !used {
            prop_assert_eq!(run(&x1, &k), run(&x2, &k));
        }
        // A packet the new rule matches directly in table 0, above every other rule there, uses it.
        let mut scratch = FlowKey::ZERO;
        let best_before = before[0].pipeline.table(0).and_then(|t| t.cls.lookup(&k, before[0].pipeline.version(), &mut scratch)).map(|e| e.priority);
        if extra.matches(&k) && best_before.is_none_or(|p| p < prio) {
            prop_assert!(used);
        }
    }
}
