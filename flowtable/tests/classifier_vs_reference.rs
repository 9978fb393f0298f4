//! The tuple-space classifier against the linear reference: same best priority for random rule
//! sets and keys, the megaflow-mask invariant (any key agreeing on the reported bits gets the
//! same rule), version visibility, and removal.

#![allow(clippy::unwrap_used)]

use flowtable::classifier::reference::LinearClassifier;
use flowtable::classifier::Classifier;
use flowtable::{Field, FlowKey, Match};
use proptest::prelude::*;

/// Realistic masks: in_port, dl_dst, dl_vlan, nw_src/nw_dst prefixes, tp_dst, tun_id.
fn a_match() -> impl Strategy<Value = Match> {
    let field = prop_oneof![
        (1u128..4).prop_map(|v| (Field::InPort, v, u128::MAX)),
        (0u128..4).prop_map(|v| (Field::EthDst, 0x0200_0000_0000 | v, u128::MAX)),
        Just((Field::EthDst, 1u128 << 40, 1u128 << 40)),
        (1u128..3).prop_map(|v| (Field::VlanTci, 0x1000 | v, 0x1fff)),
        (0u32..4, prop_oneof![Just(8u32), Just(16), Just(24), Just(32)]).prop_map(|(v, plen)| {
            let addr = 0x0a00_0000u32 | (v << 16) | v;
            let mask = u32::MAX << (32 - plen);
            (Field::Ipv4Dst, u128::from(addr & mask), u128::from(mask))
        }),
        (0u32..4, prop_oneof![Just(16u32), Just(32)]).prop_map(|(v, plen)| {
            let mask = u32::MAX << (32 - plen);
            (Field::Ipv4Src, u128::from((0xc0a8_0000 | v) & mask), u128::from(mask))
        }),
        prop_oneof![Just(80u128), Just(443)].prop_map(|v| (Field::TpDst, v, u128::MAX)),
        (0u128..4, prop_oneof![Just(16u32), Just(48), Just(64), Just(127), Just(128)]).prop_map(|(v, plen)| {
            let mask = u128::MAX << (128 - plen);
            (Field::Ipv6Dst, ((0x2001_0db8u128 << 96) | (v << 64) | v) & mask, mask)
        }),
        (0u128..3).prop_map(|v| (Field::TunId, v, u128::MAX)),
    ];
    prop::collection::vec(field, 0..4).prop_map(|fs| {
        let mut m = Match::ANY;
        for (f, v, mask) in fs {
            m.set_masked(f, v, mask);
        }
        m
    })
}

fn a_key() -> impl Strategy<Value = FlowKey> {
    (1u128..4, 0u128..5, 0u128..3, 0u32..5, 0u32..5, prop_oneof![Just(80u128), Just(443), Just(22)], 0u128..3).prop_map(
        |(port, dst, vlan, a, b, tp, tun)| {
            let mut k = FlowKey::ZERO;
            k.set(Field::InPort, port);
            k.set(Field::EthDst, if dst == 4 { 0xffff_ffff_ffff } else { 0x0200_0000_0000 | dst });
            k.set(Field::VlanTci, if vlan == 0 { 0 } else { 0x1000 | vlan });
            k.set(Field::Ipv4Dst, u128::from(0x0a00_0000u32 | (a << 16) | b));
            k.set(Field::Ipv4Src, u128::from(0xc0a8_0000u32 | a));
            k.set(Field::TpDst, tp);
            k.set(Field::TunId, tun);
            k
        },
    )
}

fn build(rules: &[(Match, u16)]) -> (Classifier<usize>, LinearClassifier<usize>) {
    let mut c = Classifier::new();
    let mut r = LinearClassifier::new();
    for (i, (m, p)) in rules.iter().enumerate() {
        if c.find_exact(m, *p, 1).is_none() {
            c.insert(*m, *p, i, 1);
            r.insert(*m, *p, i, 1);
        }
    }
    (c, r)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn same_best_priority_and_megaflow_invariant(rules in prop::collection::vec((a_match(), 0u16..20), 0..40), k in a_key(), other in a_key()) {
        let (c, r) = build(&rules);
        let mut wc = FlowKey::ZERO;
        let got = c.lookup(&k, 1, &mut wc).map(|e| (e.priority, e.match_()));
        let want = r.lookup(&k, 1, &mut FlowKey::default()).map(|e| e.priority);
        prop_assert_eq!(got.map(|g| g.0), want);
        if let Some((_, m)) = got {
            prop_assert!(m.matches(&k));
        }
        // Any key that agrees with k on wc's bits gets an entry of the same match and priority.
        let mut k2 = FlowKey::ZERO;
        for i in 0..k2.words.len() {
            k2.words[i] = (k.words[i] & wc.words[i]) | (other.words[i] & !wc.words[i]);
        }
        let got2 = c.lookup(&k2, 1, &mut FlowKey::default()).map(|e| (e.priority, e.match_()));
        prop_assert_eq!(got2.map(|g| g.0), got.map(|g| g.0), "wc {:?}", wc);
        if let (Some(a), Some(b)) = (got, got2) {
            // With equal priorities, overlapping rules may differ; both must still match.
            prop_assert!(b.1.matches(&k2) && (a.1 == b.1 || a.0 == b.0));
        }
    }

    #[test]
    fn versions_and_removal(rules in prop::collection::vec((a_match(), 0u16..20), 1..30), k in a_key()) {
        let (mut c, mut r) = build(&rules);
        // A new rule at version 2 is invisible at version 1.
        let top = Match::ANY.with(Field::InPort, k.get(Field::InPort));
        c.insert(top, 1000, usize::MAX, 2);
        prop_assert_ne!(c.lookup(&k, 1, &mut FlowKey::default()).map(|e| e.priority), Some(1000));
        prop_assert_eq!(c.lookup(&k, 2, &mut FlowKey::default()).map(|e| e.priority), Some(1000));
        c.remove(&top, 1000, 3);
        prop_assert_eq!(c.lookup(&k, 2, &mut FlowKey::default()).map(|e| e.priority), Some(1000), "still visible to version 2");
        c.purge(3);
        // Remove the first rule everywhere: results agree again.
        let (m, p) = rules[0];
        c.remove(&m, p, 4);
        r.remove(&m, p, 4);
        c.purge(4);
        r.purge(4);
        prop_assert_eq!(c.lookup(&k, 4, &mut FlowKey::default()).map(|e| e.priority), r.lookup(&k, 4, &mut FlowKey::default()).map(|e| e.priority));
        prop_assert_eq!(c.len(), r.len());
    }
}

#[test]
fn prefix_tracking_unwildcards_only_needed_bits() {
    let mut c = Classifier::new();
    c.insert(Match::ANY.with(Field::EthType, 0x800).with_masked(Field::Ipv4Dst, 0x0a01_0000, 0xffff_0000), 10, 1, 1);
    let mut k = FlowKey::ZERO;
    k.set(Field::EthType, 0x800);
    k.set(Field::Ipv4Dst, 0xc0a8_0001); // 192.168.0.1 shares no leading bit pattern beyond the first with 10.1/16
    let mut wc = FlowKey::ZERO;
    assert!(c.lookup(&k, 1, &mut wc).is_none());
    let bits = (wc.get(Field::Ipv4Dst) as u32).count_ones();
    assert!(bits < 16, "a miss on a /16 needs fewer than 16 address bits, used {bits}");
    assert_eq!(wc.get(Field::EthType), 0, "the prefix check came first");
}
