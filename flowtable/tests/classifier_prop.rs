//! Property tests of the classifier against a linear-scan reference: best priority, the
//! megaflow (`wc`) invariant, versions, and the non-strict / overlap queries.

use flowtable::classifier::{Classifier, Version};
use flowtable::field::{Field, KEY_WORDS};
use flowtable::{FlowKey, Match};
use proptest::prelude::*;

const MACS: [u128; 4] = [0x0000_5e00_0001, 0x0000_5e00_0002, 0x0a0b_0c0d_0e0f, 0xffff_ffff_ffff];
const ADDRS: [u32; 8] =
    [0x0a00_0001, 0x0a00_0002, 0x0a01_0001, 0x0a01_0102, 0xc0a8_0001, 0x0aff_0001, 0x0b00_0001, 0x0a00_0101];
const PLENS: [u32; 5] = [8, 16, 24, 32, 12];
const PORTS: [u128; 3] = [80, 443, 22];

fn pick<T: Copy>(pool: &[T], seed: u64, salt: u32) -> T {
    pool[((seed >> (salt * 4)) % pool.len() as u64) as usize]
}

fn prefix_mask(plen: u32) -> u128 {
    u128::from(u32::MAX << (32 - plen))
}

/// Adds one of a small set of realistic match kinds to `m`, values drawn from small pools.
fn add_kind(m: &mut Match, kind: u8, seed: u64) {
    match kind % 7 {
        0 => {
            m.set(Field::InPort, u128::from(1 + (seed % 3) as u32));
        }
        1 => {
            m.set(Field::EthDst, pick(&MACS, seed, 1));
        }
        2 => {
            m.set_masked(Field::VlanTci, 0x1000 | u128::from(1 + (seed >> 8) % 3), 0x1fff);
        }
        3 => {
            m.set(Field::EthType, 0x800);
            let plen = pick(&PLENS, seed, 3);
            m.set_masked(Field::Ipv4Src, u128::from(pick(&ADDRS, seed, 4)), prefix_mask(plen));
        }
        4 => {
            m.set(Field::EthType, 0x800);
            let plen = pick(&PLENS, seed, 5);
            m.set_masked(Field::Ipv4Dst, u128::from(pick(&ADDRS, seed, 6)), prefix_mask(plen));
        }
        5 => {
            m.set(Field::EthType, 0x800);
            m.set(Field::IpProto, 6);
            m.set(Field::TpDst, pick(&PORTS, seed, 7));
        }
        _ => {}
    }
}

#[derive(Debug, Clone)]
struct Rule {
    m: Match,
    priority: u16,
}

fn rule() -> impl Strategy<Value = Rule> {
    (any::<u8>(), proptest::option::of(any::<u8>()), any::<u64>(), 0u16..12).prop_map(|(k1, k2, seed, priority)| {
        let mut m = Match::ANY;
        add_kind(&mut m, k1, seed);
        if let Some(k2) = k2 {
            add_kind(&mut m, k2, seed.rotate_left(17));
        }
        Rule { m, priority }
    })
}

fn rules() -> impl Strategy<Value = Vec<Rule>> {
    proptest::collection::vec(rule(), 0..40).prop_map(|mut v| {
        let mut seen = Vec::new();
        v.retain(|r| {
            let fresh = !seen.contains(&(r.m, r.priority));
            seen.push((r.m, r.priority));
            fresh
        });
        v
    })
}

/// A plausible packet key, its fields drawn from the same pools as the rules.
fn pool_key(seed: u64) -> FlowKey {
    let mut k = FlowKey::ZERO;
    k.set(Field::InPort, u128::from(1 + (seed % 4) as u32));
    k.set(Field::EthDst, pick(&MACS, seed, 1));
    k.set(Field::VlanTci, if seed & (1 << 40) != 0 { 0x1000 | u128::from(1 + (seed >> 8) % 3) } else { 0 });
    k.set(Field::EthType, if seed & (1 << 41) != 0 { 0x800 } else { 0x806 });
    k.set(Field::Ipv4Src, u128::from(pick(&ADDRS, seed, 4) ^ ((seed >> 50) as u32 & 0x0101)));
    k.set(Field::Ipv4Dst, u128::from(pick(&ADDRS, seed, 6) ^ ((seed >> 54) as u32 & 0x0300)));
    k.set(Field::IpProto, if seed & (1 << 42) != 0 { 6 } else { 17 });
    k.set(Field::TpDst, pick(&PORTS, seed, 7));
    k
}

/// A key: sometimes a rule's value over a pool key (so it hits), sometimes just a pool key.
fn make_key(rules: &[Rule], pick_rule: Option<usize>, seed: u64) -> FlowKey {
    let base = pool_key(seed);
    match pick_rule {
        Some(i) if !rules.is_empty() => {
            let r = &rules[i % rules.len()];
            let mut k = base.and(&FlowKey { words: r.m.mask.words.map(|w| !w) });
            k.or_assign(&r.m.value);
            k
        }
        _ => base,
    }
}

fn reference_best(rules: &[Rule], key: &FlowKey) -> Option<u16> {
    rules.iter().filter(|r| r.m.matches(key)).map(|r| r.priority).max()
}

fn build(rules: &[Rule], version: Version) -> Classifier<usize> {
    let mut cls = Classifier::new();
    for (i, r) in rules.iter().enumerate() {
        cls.insert(r.m, r.priority, i, version);
    }
    cls
}

fn check_lookup(
    cls: &Classifier<usize>,
    live: &[Rule],
    key: &FlowKey,
    version: Version,
) -> Result<FlowKey, TestCaseError> {
    let mut wc = FlowKey::ZERO;
    let got = cls.lookup(key, version, &mut wc);
    prop_assert_eq!(got.map(|e| e.priority), reference_best(live, key));
    // The bit-parallel lookup gives the walk's entry and un-wildcards exactly its bits.
    let mut walk_wc = FlowKey::ZERO;
    let walked = cls.lookup_walking(key, version, &mut walk_wc);
    prop_assert_eq!(got.map(|e| (e.match_(), e.priority)), walked.map(|e| (e.match_(), e.priority)));
    prop_assert_eq!(wc, walk_wc, "index and walk un-wildcard different bits");
    if let Some(e) = got {
        prop_assert!(e.matches(key));
        prop_assert!(e.is_visible(version));
    }
    Ok(wc)
}

/// `key2` agrees with `key` on the bits of `wc` and takes `other` everywhere else.
fn blend(key: &FlowKey, wc: &FlowKey, other: &FlowKey) -> FlowKey {
    let mut k = FlowKey::ZERO;
    for w in 0..KEY_WORDS {
        k.words[w] = (key.words[w] & wc.words[w]) | (other.words[w] & !wc.words[w]);
    }
    k
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// (a) best priority as the reference, (b) the megaflow invariant of `wc`.
    #[test]
    fn lookup_matches_reference_and_wc_is_sound(
        rules in rules(),
        keys in proptest::collection::vec(
            (proptest::option::of(any::<usize>()), any::<u64>(), any::<u64>(), any::<[u64; KEY_WORDS]>()), 1..12),
    ) {
        let cls = build(&rules, 0);
        prop_assert_eq!(cls.len(), rules.len());
        for (pick_rule, seed, seed2, noise) in keys {
            let key = make_key(&rules, pick_rule, seed);
            let wc = check_lookup(&cls, &rules, &key, 0)?;
            let mut wc_scratch = FlowKey::ZERO;
            let first = cls.lookup(&key, 0, &mut wc_scratch).map(|e| (e.match_(), e.priority));
            for other in [pool_key(seed2), FlowKey { words: noise }, make_key(&rules, pick_rule.map(|i| i + 1), seed2)] {
                let key2 = blend(&key, &wc, &other);
                let mut wc2 = FlowKey::ZERO;
                let second = cls.lookup(&key2, 0, &mut wc2).map(|e| (e.match_(), e.priority));
                prop_assert_eq!(first, second, "key2 agrees with key on wc {:?}", wc);
            }
        }
    }

    /// (c) inserts and removes at `v + 1` are invisible at `v`; purge keeps what is visible.
    #[test]
    fn versions_make_batches_atomic(
        old in rules(),
        new in rules(),
        removed in proptest::collection::vec(any::<bool>(), 40),
        keys in proptest::collection::vec((proptest::option::of(any::<usize>()), any::<u64>()), 1..12),
    ) {
        let mut cls = build(&old, 1);
        let mut after: Vec<Rule> = Vec::new();
        for (i, r) in old.iter().enumerate() {
            if removed[i] {
                prop_assert_eq!(cls.remove(&r.m, r.priority, 2), Some(&i));
            } else {
                after.push(r.clone());
            }
        }
        for (i, r) in new.iter().enumerate() {
            if !after.iter().any(|a| a.m == r.m && a.priority == r.priority) {
                cls.insert(r.m, r.priority, 1000 + i, 2);
                after.push(r.clone());
            }
        }
        prop_assert_eq!(cls.len(), after.len());
        prop_assert_eq!(cls.iter(1).count(), old.len());
        prop_assert_eq!(cls.iter(2).count(), after.len());
        let all: Vec<Rule> = old.iter().chain(&after).cloned().collect();
        for &(pick_rule, seed) in &keys {
            let key = make_key(&all, pick_rule, seed);
            check_lookup(&cls, &old, &key, 1)?;
            check_lookup(&cls, &after, &key, 2)?;
            let mut wc0 = FlowKey::ZERO;
            prop_assert!(cls.lookup(&key, 0, &mut wc0).is_none());
        }
        prop_assert_eq!(cls.purge(1), 0);
        let n_removed = removed.iter().take(old.len()).filter(|b| **b).count();
        prop_assert_eq!(cls.purge(2), n_removed);
        for &(pick_rule, seed) in &keys {
            let key = make_key(&all, pick_rule, seed);
            check_lookup(&cls, &after, &key, 2)?;
        }
        for r in &after {
            prop_assert!(cls.find_exact(&r.m, r.priority, 2).is_some());
        }
        // Re-adding the purged rules at 3 rebuilds emptied subtables and indexes consistently.
        let mut again = after.clone();
        for (i, r) in old.iter().enumerate() {
            if removed[i] && !again.iter().any(|a| a.m == r.m && a.priority == r.priority) {
                cls.insert(r.m, r.priority, 2000 + i, 3);
                again.push(r.clone());
            }
        }
        prop_assert_eq!(cls.len(), again.len());
        for &(pick_rule, seed) in &keys {
            let key = make_key(&all, pick_rule, seed);
            check_lookup(&cls, &after, &key, 2)?;
            let wc = check_lookup(&cls, &again, &key, 3)?;
            let key2 = blend(&key, &wc, &pool_key(seed.rotate_left(9)));
            let mut wc_a = FlowKey::ZERO;
            let mut wc_b = FlowKey::ZERO;
            prop_assert_eq!(
                cls.lookup(&key, 3, &mut wc_a).map(|e| (e.match_(), e.priority)),
                cls.lookup(&key2, 3, &mut wc_b).map(|e| (e.match_(), e.priority))
            );
        }
    }

    /// Non-strict (covered) iteration and overlap checks agree with a linear scan.
    #[test]
    fn covered_and_overlap_match_reference(rules in rules(), target in rule()) {
        let cls = build(&rules, 0);
        let mut got: Vec<usize> = cls.iter_covered(&target.m, 0).map(|e| e.value).collect();
        got.sort_unstable();
        let want: Vec<usize> =
            rules.iter().enumerate().filter(|(_, r)| r.m.is_covered_by(&target.m)).map(|(i, _)| i).collect();
        prop_assert_eq!(got, want);
        let overlap = rules.iter().any(|r| r.priority == target.priority && r.m.overlaps(&target.m));
        prop_assert_eq!(cls.any_overlap(&target.m, target.priority, 0), overlap);
    }
}
