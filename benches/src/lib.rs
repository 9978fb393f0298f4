//! Shared helpers for the ferrovs benchmarks: rule-set and key generators, and the packet-rate
//! harness behind the `rate` binary.

use flowtable::{Field, FlowKey, Match};

/// One of `n_masks` distinct realistic masks (in_port, dl_dst, nw_dst prefixes, tp_dst,
/// combinations), and a value for rule `i` under it.
pub fn rule(i: u32, n_masks: u32) -> Match {
    let shape = i % n_masks;
    let mut m = Match::ANY.with(Field::EthType, 0x0800);
    // Every mask differs in its nw_dst prefix length and in which other fields it uses.
    let plen = 8 + (shape % 25);
    let mask = u32::MAX << (32 - plen);
    m.set_masked(Field::Ipv4Dst, u128::from(i.wrapping_mul(2_654_435_761) & mask), u128::from(mask));
    if shape & 1 != 0 {
        m.set(Field::InPort, u128::from(i % 64));
    }
    if shape >= 25 {
        m.set(Field::IpProto, 6);
        m.set(Field::TpDst, u128::from(i % 1024));
    }
    m
}

/// A key that hits rule `i` (made from its value), or a random-ish miss.
pub fn key_for(m: &Match, salt: u32) -> FlowKey {
    let mut k = m.value;
    let (v, mask) = m.get(Field::Ipv4Dst);
    k.set(Field::Ipv4Dst, v | (u128::from(salt) & !mask & 0xffff_ffff));
    if !m.has(Field::InPort) {
        k.set(Field::InPort, u128::from(salt % 64));
    }
    k
}

/// The `classifier` benchmarks' random-priority rule set: [`rule`] `0..n_rules` over
/// `n_masks` masks, rule `i` at priority `100 + i % 7`, each (match, priority) pair once (a
/// classifier holds one rule per pair; Open vSwitch's asserts it).
pub fn random_priority_rules(n_rules: u32, n_masks: u32) -> Vec<(Match, u16)> {
    let mut seen = std::collections::HashSet::new();
    (0..n_rules).map(|i| (rule(i, n_masks), 100 + (i % 7) as u16)).filter(|r| seen.insert(*r)).collect()
}

/// 1024 keys each hitting a rule of [`random_priority_rules`]`(n_rules, n_masks)`.
pub fn random_priority_keys(n_rules: u32, n_masks: u32) -> Vec<FlowKey> {
    (0..1024u32).map(|i| key_for(&rule(i.wrapping_mul(7919) % n_rules, n_masks), i)).collect()
}

pub mod classifier_rules;
pub mod neutron_agent;
pub mod rate;
