//! Rule-set and key generators for the classifier benchmarks.
//!
//! Rule sets look like a router/ACL table: every rule matches `ip` and an `nw_dst` prefix, and
//! the masks differ by prefix length and by which of `in_port`, `nw_src/24` and `tcp,tp_dst`
//! they add (32 distinct masks in all). As in a real table, more specific rules get higher
//! priorities (priority = 256 * mask bits + a random low byte), so a hit in a specific subtable
//! ends the lookup early. Every rule's `nw_dst` lies in 0.0.0.0/1, so keys in 128.0.0.0/1 miss.
//! Generation is seeded, so every run benches the same set.

use flowtable::field::Field;
use flowtable::{FlowKey, Match};
use std::collections::HashSet;

/// Number of distinct masks [`mask`] can produce.
pub const MAX_MASKS: usize = 32;

/// A small deterministic xorshift generator (no dependency, same sequence everywhere).
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator from a seed (0 is replaced by a fixed non-zero seed).
    pub fn new(seed: u64) -> Self {
        XorShift(if seed == 0 { 0x9e37_79b9_7f4a_7c15 } else { seed })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

fn prefix(plen: u32) -> u128 {
    u128::from(u32::MAX << (32 - plen))
}

/// The `i`-th mask (`i < MAX_MASKS`) with the match values taken from `r`.
pub fn masked_rule(i: usize, r: &mut XorShift) -> Match {
    const PLENS: [u32; 4] = [32, 24, 16, 8];
    let mut m = Match::ANY.with(Field::EthType, 0x800);
    m.set_masked(Field::Ipv4Dst, u128::from(r.next_u64() as u32 & 0x7fff_ffff), prefix(PLENS[i % 4]));
    if i & 4 != 0 {
        m.set(Field::InPort, u128::from(1 + r.next_u64() % 64));
    }
    if i & 8 != 0 {
        m.set(Field::IpProto, 6);
        m.set(Field::TpDst, u128::from(r.next_u64() as u16));
    }
    if i & 16 != 0 {
        m.set_masked(Field::Ipv4Src, u128::from(r.next_u64() as u32), prefix(24));
    }
    m
}

/// `n_rules` distinct `(match, priority)` pairs spread round-robin over `n_masks` masks.
pub fn rules(n_rules: usize, n_masks: usize, seed: u64) -> Vec<(Match, u16)> {
    let n_masks = n_masks.clamp(1, MAX_MASKS);
    let mut r = XorShift::new(seed);
    let mut seen = HashSet::with_capacity(n_rules);
    let mut out = Vec::with_capacity(n_rules);
    let mut i = 0;
    while out.len() < n_rules {
        let m = masked_rule(i % n_masks, &mut r);
        let priority = (m.mask.count_ones() * 256) as u16 | (r.next_u64() % 256) as u16;
        if seen.insert((m, priority)) {
            out.push((m, priority));
        }
        i += 1;
    }
    out
}

/// A random TCP/IPv4 packet key.
pub fn random_key(r: &mut XorShift) -> FlowKey {
    let mut k = FlowKey::ZERO;
    k.set(Field::InPort, u128::from(1 + r.next_u64() % 64));
    k.set(Field::EthType, 0x800);
    k.set(Field::EthDst, u128::from(r.next_u64()));
    k.set(Field::Ipv4Src, u128::from(r.next_u64() as u32));
    k.set(Field::Ipv4Dst, u128::from(r.next_u64() as u32));
    k.set(Field::IpProto, 6);
    k.set(Field::TpSrc, u128::from(r.next_u64() as u16));
    k.set(Field::TpDst, u128::from(r.next_u64() as u16));
    k
}

/// `n` keys each matching a random rule of `rules` (a random packet overlaid with its value).
pub fn hit_keys(rules: &[(Match, u16)], n: usize, seed: u64) -> Vec<FlowKey> {
    let mut r = XorShift::new(seed);
    (0..n)
        .map(|_| {
            let (m, _) = &rules[(r.next_u64() % rules.len() as u64) as usize];
            let mut k = random_key(&mut r);
            for ((kw, mw), vw) in k.words.iter_mut().zip(&m.mask.words).zip(&m.value.words) {
                *kw = (*kw & !mw) | vw;
            }
            k
        })
        .collect()
}

/// `n` random packet keys with `nw_dst` in 128.0.0.0/1, which no rule of [`rules`] matches.
pub fn miss_keys(n: usize, seed: u64) -> Vec<FlowKey> {
    let mut r = XorShift::new(seed);
    (0..n)
        .map(|_| {
            let mut k = random_key(&mut r);
            k.set(Field::Ipv4Dst, k.get(Field::Ipv4Dst) | 0x8000_0000);
            k
        })
        .collect()
}

/// `key` in `ovs-ofctl`'s exact-flow syntax (what Open vSwitch's `parse_ofp_exact_flow`
/// reads): the fields these generators set, each where its prerequisites hold.
pub fn exact_flow_string(key: &FlowKey) -> String {
    let mut m = Match::ANY;
    for f in [Field::InPort, Field::EthDst, Field::EthType] {
        m.set(f, key.get(f));
    }
    if key.get(Field::EthType) == 0x800 {
        for f in [Field::Ipv4Src, Field::Ipv4Dst, Field::IpProto] {
            m.set(f, key.get(f));
        }
        if key.get(Field::IpProto) == 6 {
            m.set(Field::TpSrc, key.get(Field::TpSrc));
            m.set(Field::TpDst, key.get(Field::TpDst));
        }
    }
    flowtable::syntax::format_match(&m, 32768)
}
