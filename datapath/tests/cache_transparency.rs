//! The caches are transparent: a stream of packets processed through the exact-match and
//! megaflow caches (translating and installing on a miss, revalidating after every flow-table
//! change) gets exactly the actions a full translation of each packet gives.

#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use datapath::emc::{key_hash, ExactMatchCache};
use datapath::revalidate::revalidate;
use datapath::{Megaflow, MegaflowCache};
use flowtable::action::Action;
use flowtable::bridge::{Bridge, PortInfo};
use flowtable::flow_mod::{FlowMod, FlowModCommand};
use flowtable::xlate::xlate;
use flowtable::{DpPort, Field, FlowKey, Match, PortNo};
use proptest::prelude::*;
use std::sync::Arc;

#[derive(Debug, Clone)]
enum Step {
    Packet(FlowKey),
    AddRule(u16, Match, u16),
    DeleteRule(Match),
}

fn field_value() -> impl Strategy<Value = (Field, u128)> {
    prop_oneof![
        (1u128..=3).prop_map(|v| (Field::InPort, v)),
        prop_oneof![Just(0x0800u128), Just(0x0806)].prop_map(|v| (Field::EthType, v)),
        (0u128..4).prop_map(|v| (Field::EthDst, 0x0200_0000_0000 + v)),
        prop_oneof![Just(0x0a00_0001u128), Just(0x0a00_0102), Just(0x0b00_0001)].prop_map(|v| (Field::Ipv4Dst, v)),
    ]
}

fn key() -> impl Strategy<Value = FlowKey> {
    prop::collection::vec(field_value(), 1..5).prop_map(|fs| {
        let mut k = FlowKey::ZERO;
        k.set(Field::InPort, 1);
        for (f, v) in fs {
            k.set(f, v);
        }
        k
    })
}

fn a_match() -> impl Strategy<Value = Match> {
    prop::collection::vec((field_value(), any::<bool>()), 0..3).prop_map(|fs| {
        let mut m = Match::ANY;
        for ((f, v), prefix) in fs {
            let mask = if prefix && f == Field::Ipv4Dst { 0xffff_ff00 } else { u128::MAX };
            m.set_masked(f, v, mask);
        }
        if m.has(Field::Ipv4Dst) {
            m.set(Field::EthType, 0x0800);
        }
        m
    })
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        prop_oneof![
            6 => key().prop_map(Step::Packet),
            1 => (0u16..50, a_match(), 1u16..=3).prop_map(|(p, m, o)| Step::AddRule(p, m, o)),
            1 => a_match().prop_map(Step::DeleteRule),
        ],
        1..60,
    )
}

fn bridge() -> Vec<Bridge> {
    let mut b = Bridge::new("br0");
    for p in 1..=3u16 {
        b.ports.insert(
            PortNo(p),
            PortInfo { name: format!("p{p}"), dp_port: Some(DpPort(p.into())), ..PortInfo::default() },
        );
    }
    vec![b]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn cached_forwarding_equals_full_translation(steps in steps()) {
        let mut bridges = bridge();
        let mut cache = MegaflowCache::default();
        let mut emc = ExactMatchCache::default();
        let mut generation = bridges[0].pipeline.generation();
        for (now, step) in steps.into_iter().enumerate() {
            let now = now as u64;
            match step {
                Step::AddRule(prio, m, out) => {
                    let fm = FlowMod::add(0, prio, m, vec![Action::Output { port: PortNo(out), max_len: 0 }]);
                    bridges[0].pipeline.apply(&fm, now).expect("valid");
                }
                Step::DeleteRule(m) => {
                    bridges[0].pipeline.apply(&FlowMod::new(FlowModCommand::Delete, m), now).expect("valid");
                }
                Step::Packet(k) => {
                    if bridges[0].pipeline.generation() != generation {
                        generation = bridges[0].pipeline.generation();
                        revalidate(&mut cache, &bridges, 0, now);
                    }
                    let h = key_hash(&k);
                    let cached = if let Some(mf) = emc.lookup(h, &k) {
                        Arc::clone(mf)
                    } else if let Some(mf) = cache.lookup(&k) {
                        let mf = Arc::clone(mf);
                        emc.insert(h, &k, &mf);
                        mf
                    } else {
                        let mf = Arc::new(Megaflow::from_xlation(&k, xlate(&bridges, 0, &k, now), now));
                        cache.insert(Arc::clone(&mf));
                        emc.insert(h, &k, &mf);
                        mf
                    };
                    let full = xlate(&bridges, 0, &k, now);
                    prop_assert_eq!(&cached.actions, &full.actions);
                }
            }
        }
    }
}

#[test]
fn megaflows_do_not_overlap_and_masks_are_shared() {
    let mut bridges = bridge();
    bridges[0]
        .pipeline
        .apply(
            &FlowMod::add(
                0,
                10,
                Match::ANY.with(Field::InPort, 1),
                vec![Action::Output { port: PortNo(2), max_len: 0 }],
            ),
            0,
        )
        .unwrap();
    let mut cache = MegaflowCache::default();
    for dst in 0..100u128 {
        let mut k = FlowKey::ZERO;
        k.set(Field::InPort, 1);
        k.set(Field::EthDst, dst);
        if cache.lookup(&k).is_none() {
            assert!(cache.insert(Arc::new(Megaflow::from_xlation(&k, xlate(&bridges, 0, &k, 0), 0))));
        }
    }
    assert_eq!(cache.len(), 1, "one megaflow covers every destination");
    assert_eq!(cache.n_masks(), 1);
}

#[test]
fn stats_are_pushed_to_rules_once() {
    let mut bridges = bridge();
    bridges[0]
        .pipeline
        .apply(&FlowMod::add(0, 10, Match::ANY, vec![Action::Output { port: PortNo(2), max_len: 0 }]), 0)
        .unwrap();
    let mut k = FlowKey::ZERO;
    k.set(Field::InPort, 1);
    let mf = Megaflow::from_xlation(&k, xlate(&bridges, 0, &k, 0), 0);
    mf.hit(3, 180, 5);
    assert_eq!(mf.push_stats(6), 3);
    assert_eq!(mf.push_stats(7), 0);
    assert_eq!(mf.rules[0].packets(), 3);
    assert_eq!(mf.rules[0].bytes(), 180);
}

#[test]
fn the_megaflow_cache_stays_within_its_limit() {
    let mut bridges = bridge();
    // Matching on the TCP source port makes every port its own megaflow.
    bridges[0]
        .pipeline
        .apply(
            &FlowMod::add(
                0,
                10,
                Match::ANY.with(Field::EthType, 0x0800).with(Field::IpProto, 6).with(Field::TpSrc, 9),
                vec![],
            ),
            0,
        )
        .unwrap();
    bridges[0]
        .pipeline
        .apply(&FlowMod::add(0, 1, Match::ANY, vec![Action::Output { port: PortNo(2), max_len: 0 }]), 0)
        .unwrap();
    let mut cache = MegaflowCache::new(50);
    let mut refused = 0;
    for sport in 100..300u128 {
        let mut k = FlowKey::ZERO;
        k.set(Field::InPort, 1);
        k.set(Field::EthType, 0x0800);
        k.set(Field::IpProto, 6);
        k.set(Field::TpSrc, sport);
        let mf = Arc::new(Megaflow::from_xlation(&k, xlate(&bridges, 0, &k, 0), 0));
        // A flow that cannot be cached is still executed by the caller; it is just not kept.
        assert_eq!(mf.actions.len(), 1);
        if !cache.insert(mf) {
            refused += 1;
        }
        assert!(cache.len() <= 50);
    }
    assert_eq!(cache.len(), 50);
    assert_eq!(refused, 150);
    assert!(cache.is_full());
}
