//! Table-driven tests of OpenFlow 1.3 flow-mod and pipeline semantics: add/replace,
//! check_overlap, strict and non-strict modify/delete with cookie masks and out_port filters,
//! priorities, goto_table, table-miss, action-set ordering, bundles, timeouts and groups.

#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use flowtable::action::Action;
use flowtable::bridge::{Bridge, PortInfo};
use flowtable::flow_mod::{flags, Bucket, FlowMod, FlowModCommand, GroupMod, GroupModCommand, GroupType, TABLE_ALL};
use flowtable::pipeline::FlowModError;
use flowtable::rule::RemovedReason;
use flowtable::xlate::xlate;
use flowtable::{DpAction, DpPort, Field, FlowKey, Match, PortNo};

fn out(port: u16) -> Action {
    Action::Output { port: PortNo(port), max_len: 0 }
}

fn in_port(p: u16) -> Match {
    Match::ANY.with(Field::InPort, u128::from(p))
}

/// A bridge with ports 1..=4 on datapath ports 101..=104.
fn bridge() -> Bridge {
    let mut b = Bridge::new("br0");
    for p in 1..=4u16 {
        b.ports.insert(
            PortNo(p),
            PortInfo { name: format!("p{p}"), dp_port: Some(DpPort(100 + u32::from(p))), ..PortInfo::default() },
        );
    }
    b
}

fn key(in_port: u16) -> FlowKey {
    let mut k = FlowKey::ZERO;
    k.set(Field::InPort, u128::from(in_port));
    k.set(Field::EthType, 0x0800);
    k.set(Field::IpProto, 6);
    k.set(Field::Ipv4Src, 0x0a00_0001);
    k.set(Field::Ipv4Dst, 0x0a00_0002);
    k.set(Field::TpDst, 80);
    k.set(Field::IpTtl, 64);
    k
}

fn outputs(b: &Bridge, k: &FlowKey) -> Vec<u32> {
    xlate(std::slice::from_ref(b), 0, k, 0)
        .actions
        .iter()
        .filter_map(|a| if let DpAction::Output(p) = a { Some(p.0) } else { None })
        .collect()
}

#[test]
fn highest_priority_wins_and_add_replaces_identical() {
    let mut b = bridge();
    let p = &mut b.pipeline;
    p.apply(&FlowMod::add(0, 10, in_port(1), vec![out(2)]), 0).unwrap();
    p.apply(&FlowMod::add(0, 20, in_port(1).with(Field::EthType, 0x800), vec![out(3)]), 0).unwrap();
    assert_eq!(outputs(&b, &key(1)), vec![103]);
    // Same match and priority: replaced, not duplicated.
    b.pipeline.apply(&FlowMod::add(0, 20, in_port(1).with(Field::EthType, 0x800), vec![out(4)]), 0).unwrap();
    assert_eq!(b.pipeline.n_rules(), 2);
    assert_eq!(outputs(&b, &key(1)), vec![104]);
}

#[test]
fn replace_keeps_counters_unless_reset_counts() {
    let mut b = bridge();
    b.pipeline.apply(&FlowMod::add(0, 10, in_port(1), vec![out(2)]), 0).unwrap();
    let x = xlate(std::slice::from_ref(&b), 0, &key(1), 0);
    x.stats[0].credit(3, 300, 5);
    b.pipeline.apply(&FlowMod::add(0, 10, in_port(1), vec![out(3)]), 10).unwrap();
    let rules = b.pipeline.select(0, &Match::ANY, 0, 0, PortNo::NONE, flowtable::flow_mod::GROUP_ANY);
    assert_eq!(rules[0].stats.packets(), 3);
    let mut fm = FlowMod::add(0, 10, in_port(1), vec![out(3)]);
    fm.flags = flags::RESET_COUNTS;
    b.pipeline.apply(&fm, 20).unwrap();
    let rules = b.pipeline.select(0, &Match::ANY, 0, 0, PortNo::NONE, flowtable::flow_mod::GROUP_ANY);
    assert_eq!(rules[0].stats.packets(), 0);
}

#[test]
fn check_overlap_refuses_same_priority_overlap_only() {
    let mut b = bridge();
    b.pipeline.apply(&FlowMod::add(0, 10, in_port(1), vec![out(2)]), 0).unwrap();
    let mut fm = FlowMod::add(0, 10, Match::ANY.with(Field::EthType, 0x800), vec![out(3)]);
    fm.flags = flags::CHECK_OVERLAP;
    assert_eq!(b.pipeline.apply(&fm, 0).unwrap_err(), FlowModError::Overlap);
    fm.priority = 11;
    assert!(b.pipeline.apply(&fm, 0).is_ok());
    let mut disjoint = FlowMod::add(0, 10, in_port(2), vec![out(3)]);
    disjoint.flags = flags::CHECK_OVERLAP;
    assert!(b.pipeline.apply(&disjoint, 0).is_ok());
}

#[test]
fn strict_and_loose_delete() {
    let mut b = bridge();
    for (prio, m) in [(10, in_port(1)), (20, in_port(1).with(Field::EthType, 0x800)), (30, in_port(2))] {
        b.pipeline.apply(&FlowMod::add(0, prio, m, vec![out(3)]), 0).unwrap();
    }
    // Strict: only the exact match and priority.
    let mut del = FlowMod::new(FlowModCommand::DeleteStrict, in_port(1));
    del.priority = 20;
    assert!(b.pipeline.apply(&del, 0).unwrap().removed.is_empty(), "priority differs: nothing deleted");
    del.priority = 10;
    assert_eq!(b.pipeline.apply(&del, 0).unwrap().removed.len(), 1);
    // Loose: everything the match covers, any priority.
    let del = FlowMod::new(FlowModCommand::Delete, in_port(1));
    let fx = b.pipeline.apply(&del, 0).unwrap();
    assert_eq!(fx.removed.len(), 1);
    assert_eq!(fx.removed[0].reason, RemovedReason::Delete);
    assert_eq!(b.pipeline.n_rules(), 1);
    // Delete all tables.
    let mut all = FlowMod::new(FlowModCommand::Delete, Match::ANY);
    all.table_id = TABLE_ALL;
    assert_eq!(b.pipeline.apply(&all, 0).unwrap().removed.len(), 1);
}

#[test]
fn cookie_mask_and_out_port_filters() {
    let mut b = bridge();
    for (i, c) in [0x10u64, 0x11, 0x20].into_iter().enumerate() {
        let mut fm = FlowMod::add(0, 10 + i as u16, Match::ANY, vec![out(if c == 0x20 { 3 } else { 2 })]);
        fm.cookie = c;
        b.pipeline.apply(&fm, 0).unwrap();
    }
    let mut del = FlowMod::new(FlowModCommand::Delete, Match::ANY);
    del.cookie = 0x10;
    del.cookie_mask = 0xf0;
    assert_eq!(b.pipeline.apply(&del, 0).unwrap().removed.len(), 2);
    let mut del = FlowMod::new(FlowModCommand::Delete, Match::ANY);
    del.out_port = PortNo(2);
    assert_eq!(b.pipeline.apply(&del, 0).unwrap().removed.len(), 0, "remaining flow outputs to 3");
    del.out_port = PortNo(3);
    assert_eq!(b.pipeline.apply(&del, 0).unwrap().removed.len(), 1);
}

#[test]
fn modify_changes_actions_keeps_counters_and_adds_when_absent() {
    let mut b = bridge();
    b.pipeline.apply(&FlowMod::add(0, 10, in_port(1), vec![out(2)]), 0).unwrap();
    let x = xlate(std::slice::from_ref(&b), 0, &key(1), 0);
    x.stats[0].credit(1, 100, 1);
    let mut m = FlowMod::new(FlowModCommand::Modify, Match::ANY);
    m.actions = vec![out(4)];
    assert_eq!(b.pipeline.apply(&m, 5).unwrap().changed, 1);
    assert_eq!(outputs(&b, &key(1)), vec![104]);
    let rules = b.pipeline.select(0, &Match::ANY, 0, 0, PortNo::NONE, flowtable::flow_mod::GROUP_ANY);
    assert_eq!((rules[0].priority, rules[0].stats.packets()), (10, 1));
    // Modify-strict with no such flow adds it (Open vSwitch's behaviour).
    let mut ms = FlowMod::new(FlowModCommand::ModifyStrict, in_port(2));
    ms.priority = 7;
    ms.actions = vec![out(1)];
    b.pipeline.apply(&ms, 5).unwrap();
    assert_eq!(b.pipeline.n_rules(), 2);
    assert_eq!(outputs(&b, &key(2)), vec![101]);
}

#[test]
fn goto_table_and_table_miss() {
    let mut b = bridge();
    b.pipeline.apply(&FlowMod::add(0, 10, in_port(1), vec![Action::GotoTable(5)]), 0).unwrap();
    b.pipeline.apply(&FlowMod::add(5, 10, Match::ANY.with(Field::EthType, 0x800), vec![out(2)]), 0).unwrap();
    assert_eq!(outputs(&b, &key(1)), vec![102]);
    // Miss in table 0: dropped (OpenFlow 1.3 default), no packet-in.
    assert!(xlate(std::slice::from_ref(&b), 0, &key(3), 0).actions.is_empty());
    // With an OpenFlow 1.0 controller wanting misses: a packet-in with reason no_match.
    b.miss_to_controller = true;
    let x = xlate(std::slice::from_ref(&b), 0, &key(3), 0);
    assert!(
        matches!(&x.actions[..], [DpAction::Userspace(p)] if p.reason == flowtable::action::PacketInReason::NoMatch && p.cookie == u64::MAX)
    );
    // goto_table must go forward.
    let err = b.pipeline.apply(&FlowMod::add(5, 1, Match::ANY, vec![Action::GotoTable(5)]), 0).unwrap_err();
    assert!(matches!(err, FlowModError::BadGotoTable { from: 5, to: 5 }));
}

#[test]
fn action_set_runs_in_spec_order_at_pipeline_end() {
    let mut b = bridge();
    // Table 0 writes an output and a set_field into the set, then goes to table 1 which adds a
    // push_vlan; the set runs push_vlan (order 4) before set_field (6) before output (9).
    let write =
        Action::WriteActions(vec![out(2), Action::SetField { field: Field::VlanVid, value: 0x1005, mask: 0x1fff }]);
    b.pipeline.apply(&FlowMod::add(0, 10, Match::ANY, vec![write, Action::GotoTable(1)]), 0).unwrap();
    b.pipeline
        .apply(&FlowMod::add(1, 10, Match::ANY, vec![Action::WriteActions(vec![Action::PushVlan(0x8100)])]), 0)
        .unwrap();
    let x = xlate(std::slice::from_ref(&b), 0, &key(1), 0);
    assert_eq!(&x.actions[..], &[DpAction::PushVlan { tpid: 0x8100, tci: 0x1005 }, DpAction::Output(DpPort(102))]);
    // clear_actions empties the set.
    b.pipeline.apply(&FlowMod::add(1, 10, Match::ANY, vec![Action::ClearActions]), 0).unwrap();
    assert!(xlate(std::slice::from_ref(&b), 0, &key(1), 0).actions.is_empty());
}

#[test]
fn output_to_input_port_is_skipped_unless_in_port() {
    let mut b = bridge();
    b.pipeline.apply(&FlowMod::add(0, 10, Match::ANY, vec![out(1), out(2)]), 0).unwrap();
    assert_eq!(outputs(&b, &key(1)), vec![102]);
    b.pipeline
        .apply(&FlowMod::add(0, 10, Match::ANY, vec![Action::Output { port: PortNo::IN_PORT, max_len: 0 }]), 0)
        .unwrap();
    assert_eq!(outputs(&b, &key(1)), vec![101]);
}

#[test]
fn set_fields_are_committed_before_the_output_that_needs_them() {
    let mut b = bridge();
    let acts = vec![
        out(2),
        Action::SetField { field: Field::Ipv4Dst, value: 0x0a00_0063, mask: 0xffff_ffff },
        Action::DecTtl,
        out(3),
    ];
    b.pipeline.apply(&FlowMod::add(0, 10, Match::ANY, acts), 0).unwrap();
    let x = xlate(std::slice::from_ref(&b), 0, &key(1), 0);
    assert_eq!(
        &x.actions[..],
        &[
            DpAction::Output(DpPort(102)),
            DpAction::SetMasked { field: Field::Ipv4Dst, value: 0x0a00_0063, mask: 0xffff_ffff },
            DpAction::SetMasked { field: Field::IpTtl, value: 63, mask: 0xff },
            DpAction::Output(DpPort(103)),
        ]
    );
    // dec_ttl read the TTL: it is part of the megaflow. The destination was only written: not.
    assert_eq!(x.wc.get(Field::IpTtl), 0xff);
    assert_eq!(x.wc.get(Field::Ipv4Dst), 0);
}

#[test]
fn dec_ttl_at_one_goes_to_controller_and_stops() {
    let mut b = bridge();
    b.pipeline.apply(&FlowMod::add(0, 10, Match::ANY, vec![Action::DecTtl, out(2)]), 0).unwrap();
    let mut k = key(1);
    k.set(Field::IpTtl, 1);
    let x = xlate(std::slice::from_ref(&b), 0, &k, 0);
    assert!(
        matches!(&x.actions[..], [DpAction::Userspace(p)] if p.reason == flowtable::action::PacketInReason::InvalidTtl)
    );
}

#[test]
fn bundles_are_all_or_nothing() {
    let mut b = bridge();
    let good = FlowMod::add(0, 10, in_port(1), vec![out(2)]);
    let bad = FlowMod::add(0, 10, Match::ANY.with(Field::TpDst, 80), vec![out(2)]); // missing prerequisite
    let err = b.pipeline.apply_bundle(&[good.clone(), bad], 0).unwrap_err();
    assert_eq!(err.0, 1);
    assert_eq!(b.pipeline.n_rules(), 0, "nothing of a failed bundle is applied");
    b.pipeline.apply_bundle(&[good], 0).unwrap();
    assert_eq!(b.pipeline.n_rules(), 1);
}

#[test]
fn a_failed_bundle_undoes_its_deletes_modifies_and_replaces() {
    let mut b = bridge();
    for p in 1..=3 {
        b.pipeline.apply(&FlowMod::add(0, 10, in_port(p), vec![out(p + 10)]), 0).unwrap();
    }
    let generation = b.pipeline.generation();
    let before: Vec<_> = (1..=3u16)
        .map(|p| std::sync::Arc::clone(&b.pipeline.table(0).unwrap().cls.find_exact(&in_port(p), 10, 1).unwrap().value))
        .collect();
    let mut modify = FlowMod::new(FlowModCommand::ModifyStrict, in_port(2));
    modify.priority = 10;
    modify.actions = vec![out(99)];
    let mut delete = FlowMod::new(FlowModCommand::DeleteStrict, in_port(1));
    delete.priority = 10;
    let replace = FlowMod::add(0, 10, in_port(3), vec![out(98)]);
    let add = FlowMod::add(0, 20, in_port(4), vec![out(2)]);
    let bad = FlowMod::add(0, 10, Match::ANY.with(Field::TpDst, 80), vec![out(2)]);
    let err = b.pipeline.apply_bundle(&[delete, modify, replace, add, bad], 0).unwrap_err();
    assert_eq!(err.0, 4);
    assert_eq!(b.pipeline.n_rules(), 3);
    assert_eq!(b.pipeline.generation(), generation, "a failed bundle changes nothing");
    for (p, old) in (1..=3u16).zip(&before) {
        let now = &b.pipeline.table(0).unwrap().cls.find_exact(&in_port(p), 10, 1).unwrap().value;
        assert!(std::sync::Arc::ptr_eq(now, old), "in_port={p}: the very rule (and counters) is back");
    }
    assert!(b.pipeline.table(0).unwrap().cls.find_exact(&in_port(4), 20, 1).is_none());
}

#[test]
fn idle_and_hard_timeouts_expire() {
    let mut b = bridge();
    let mut idle = FlowMod::add(0, 10, in_port(1), vec![out(2)]);
    idle.idle_timeout = 10;
    let mut hard = FlowMod::add(0, 10, in_port(2), vec![out(1)]);
    hard.hard_timeout = 20;
    b.pipeline.apply(&idle, 0).unwrap();
    b.pipeline.apply(&hard, 0).unwrap();
    // Traffic at 9 s keeps the idle flow alive past 10 s.
    xlate(std::slice::from_ref(&b), 0, &key(1), 9_000).stats[0].credit(1, 60, 9_000);
    assert!(b.pipeline.expire(15_000).is_empty());
    let gone = b.pipeline.expire(19_000);
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].reason, RemovedReason::IdleTimeout);
    let gone = b.pipeline.expire(20_000);
    assert_eq!(gone[0].reason, RemovedReason::HardTimeout);
    assert_eq!(b.pipeline.n_rules(), 0);
}

#[test]
fn table_limit() {
    let mut b = bridge();
    b.pipeline.table_mut(0).unwrap().max_flows = 2;
    for p in 1..=2 {
        b.pipeline.apply(&FlowMod::add(0, 10, in_port(p), vec![]), 0).unwrap();
    }
    assert_eq!(b.pipeline.apply(&FlowMod::add(0, 10, in_port(3), vec![]), 0).unwrap_err(), FlowModError::TableFull(0));
    // Replacing an existing flow is not growth.
    assert!(b.pipeline.apply(&FlowMod::add(0, 10, in_port(1), vec![out(2)]), 0).is_ok());
}

#[test]
fn groups_all_select_indirect_and_delete_cascade() {
    let mut b = bridge();
    let bucket = |p: u16| Bucket {
        weight: 1,
        watch_port: PortNo::NONE,
        watch_group: u32::MAX,
        bucket_id: 0,
        actions: vec![out(p)],
    };
    let gm = |id, t, buckets| GroupMod { command: GroupModCommand::Add, group_type: t, group_id: id, buckets };
    assert_eq!(
        b.pipeline.apply(&FlowMod::add(0, 10, Match::ANY, vec![Action::Group(1)]), 0).unwrap_err(),
        FlowModError::UnknownGroup(1)
    );
    b.pipeline.apply_group(&gm(1, GroupType::All, vec![bucket(2), bucket(3)]), 0).unwrap();
    b.pipeline.apply_group(&gm(2, GroupType::Select, vec![bucket(1), bucket(2), bucket(3)]), 0).unwrap();
    b.pipeline.apply(&FlowMod::add(0, 10, in_port(1), vec![Action::Group(1)]), 0).unwrap();
    b.pipeline.apply(&FlowMod::add(0, 10, in_port(4), vec![Action::Group(2)]), 0).unwrap();
    assert_eq!(outputs(&b, &key(1)), vec![102, 103]);
    let chosen = outputs(&b, &key(4));
    assert_eq!(chosen.len(), 1, "select picks one bucket");
    assert_eq!(outputs(&b, &key(4)), chosen, "deterministically");
    let del = GroupMod { command: GroupModCommand::Delete, group_type: GroupType::All, group_id: 1, buckets: vec![] };
    let fx = b.pipeline.apply_group(&del, 0).unwrap();
    assert_eq!(fx.removed.len(), 1, "flows sending to a deleted group go with it");
}

#[test]
fn rules_with_the_same_actions_share_one_list_and_keep_their_own_match() {
    let mut b = bridge();
    let now = 0;
    for p in 1..=3u16 {
        b.pipeline.apply(&FlowMod::add(0, 10, in_port(p), vec![out(4)]), now).unwrap();
    }
    b.pipeline.apply(&FlowMod::add(0, 10, in_port(4), vec![out(1)]), now).unwrap();
    let rules = b.pipeline.select(0, &Match::ANY, 0, 0, PortNo::NONE, flowtable::flow_mod::GROUP_ANY);
    let shared: Vec<_> = rules.iter().filter(|r| *r.actions == [out(4)]).collect();
    assert_eq!(shared.len(), 3);
    assert!(shared.windows(2).all(|w| std::sync::Arc::ptr_eq(&w[0].actions, &w[1].actions)));
    let mut ports: Vec<u128> = rules.iter().map(|r| r.match_().get(Field::InPort).0).collect();
    ports.sort_unstable();
    assert_eq!(ports, vec![1, 2, 3, 4]);
    // Replacing the actions of one rule leaves the others' untouched.
    let mut m = FlowMod::add(0, 10, in_port(2), vec![out(3)]);
    m.command = FlowModCommand::ModifyStrict;
    b.pipeline.apply(&m, now).unwrap();
    assert_eq!(outputs(&b, &key(1)), vec![104]);
    assert_eq!(outputs(&b, &key(2)), vec![103]);
}
