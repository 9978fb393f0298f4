//! A generic, versioned OpenFlow classifier (tuple-space search, as Open vSwitch's
//! `lib/classifier.c`).
//!
//! Rules are grouped by their mask into *subtables*, each a hash table keyed by the masked
//! value. A lookup probes the subtables in order of the highest priority each holds and stops as
//! soon as no remaining subtable can hold a better rule.
//!
//! Every lookup also reports, in a caller-supplied mask `wc`, every key bit the answer depended
//! on (the megaflow invariant: any key that agrees with the looked-up key on the bits of `wc`
//! gets the same answer). To keep `wc` narrow:
//!
//! * **Staged lookup**: a subtable hashes the key's words stage by stage (metadata, L2, L3, L4:
//!   [`STAGE_ENDS`]) and keeps a counted index of the hashes of every stage but the last; a miss
//!   at an early stage un-wildcards only the mask bits of the stages looked at so far.
//! * **Prefix tracking** for `nw_src`/`nw_dst`: a subtable whose mask on one of them is a CIDR
//!   prefix of length `L` keeps a bitmap of the first `min(L, 8)` bits of its rules' prefixes,
//!   for `L > 16` a bitmap of their first 16 bits, and a counted set of the whole `L`-bit
//!   prefixes. A key whose first 8 (then 16, then `L`) bits are absent skips the subtable,
//!   un-wildcarding only those bits of that field, not the whole L3 stage and everything before
//!   it as a staged miss would. (Open vSwitch walks a trie to un-wildcard exactly as many bits
//!   as tell the key apart from every rule prefix; these three levels approximate that.)
//!
//! Versions (Open vSwitch's `cls_rule` versions) let a batch of changes become visible
//! atomically: every entry has an add version and a remove version, and a lookup at version `v`
//! sees the entries with `add <= v < remove`. Removed entries stay (and keep counting in the
//! indexes, which is only conservative) until [`Classifier::purge`].

pub mod reference;

use crate::field::{Field, KEY_WORDS, STAGE_ENDS};
use crate::flow_match::Match;
use crate::key::FlowKey;
use ahash::RandomState;
use smallvec::SmallVec;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

/// A classifier version (a lookup at version `v` sees entries with `add <= v < remove`).
pub type Version = u64;

/// The remove version of an entry that has not been removed.
pub const VERSION_NOT_REMOVED: Version = Version::MAX;

/// Fields with prefix tracking (IPv4 source and destination).
const PREFIX_FIELDS: [Field; 2] = [Field::Ipv4Src, Field::Ipv4Dst];

/// Fixed seeds so that hashing (and so iteration order) is deterministic across runs.
const HASH_SEEDS: [u64; 4] =
    [0x243f_6a88_85a3_08d3, 0x1319_8a2e_0370_7344, 0xa409_3822_299f_31d0, 0x082e_fa98_ec4e_6c89];

/// A classifier entry: a match, a priority and the caller's payload.
#[derive(Debug, Clone)]
pub struct Entry<T> {
    /// The entry's match (its value is always masked).
    pub match_: Match,
    /// OpenFlow priority (higher wins).
    pub priority: u16,
    /// The caller's payload.
    pub value: T,
    add_version: Version,
    remove_version: Version,
}

impl<T> Entry<T> {
    /// An entry visible from `version` on (for the linear reference).
    #[allow(clippy::large_types_passed_by_value)] // the match is moved into the entry
    pub(crate) fn new(match_: Match, priority: u16, value: T, version: Version) -> Self {
        Entry { match_, priority, value, add_version: version, remove_version: VERSION_NOT_REMOVED }
    }

    /// Makes the entry invisible from `version` on (for the linear reference).
    pub(crate) fn set_remove(&mut self, version: Version) {
        self.remove_version = version;
    }

    /// Same as [`Entry::is_visible`].
    #[inline]
    pub fn visible(&self, version: Version) -> bool {
        self.is_visible(version)
    }

    /// Whether a lookup at `version` sees this entry.
    #[inline]
    pub fn is_visible(&self, version: Version) -> bool {
        self.add_version <= version && version < self.remove_version
    }

    /// The first version that sees this entry.
    pub fn add_version(&self) -> Version {
        self.add_version
    }

    /// The first version that no longer sees this entry ([`VERSION_NOT_REMOVED`] if none).
    pub fn remove_version(&self) -> Version {
        self.remove_version
    }
}

type Prehashed = BuildHasherDefault<crate::prehash::Prehashed>;

/// Counted set of the `plen`-bit prefixes of one IPv4 field among a subtable's entries.
#[derive(Clone)]
struct PrefixIndex {
    /// The field's word and shift in a key (see [`Field::layout`]).
    word: usize,
    shift: u32,
    plen: u32,
    /// The field's mask (`plen` leading ones).
    mask: u32,
    counts: HashMap<u32, u32, RandomState>,
    /// `min(plen, 8)`: how many leading bits `top_map` tracks.
    top_bits: u32,
    /// Bit `t` set iff some entry's prefix starts with the `top_bits` bits `t`.
    top_map: [u64; 4],
    /// For `plen > 16` (else empty): bit `t` set iff some entry's prefix starts with the 16
    /// bits `t` (65536 bits, 8 KiB).
    mid_map: Vec<u64>,
    /// Prefixes forgotten since the maps were last rebuilt. Their bits may still be set, which
    /// is safe (a lookup only probes, and un-wildcards, more than it must); the maps are rebuilt
    /// once this exceeds the live prefixes, so a removal costs amortised O(1).
    stale: usize,
}

impl PrefixIndex {
    #[inline]
    fn prefix_of(&self, key: &FlowKey) -> u32 {
        ((key.words[self.word] >> self.shift) as u32) >> (32 - self.plen)
    }

    /// The bitmap slot and bit of a prefix's first `top_bits` bits.
    #[inline]
    fn top_slot(&self, prefix: u32) -> (usize, u64) {
        let top = prefix >> (self.plen - self.top_bits);
        ((top >> 6) as usize & 3, 1u64 << (top & 63))
    }

    /// Whether some entry's prefix starts with the first `top_bits` bits of this prefix.
    #[inline]
    fn top_present(&self, prefix: u32) -> bool {
        let (slot, bit) = self.top_slot(prefix);
        self.top_map[slot] & bit != 0
    }

    /// The `mid_map` slot and bit of a prefix's first 16 bits (only when `plen > 16`).
    #[inline]
    fn mid_slot(&self, prefix: u32) -> (usize, u64) {
        let mid = prefix >> (self.plen - 16);
        ((mid >> 6) as usize & 1023, 1u64 << (mid & 63))
    }

    /// Whether some entry's prefix starts with the first 16 bits of this prefix (true when
    /// there is no `mid_map`).
    #[inline]
    fn mid_present(&self, prefix: u32) -> bool {
        if self.mid_map.is_empty() {
            return true;
        }
        let (slot, bit) = self.mid_slot(prefix);
        self.mid_map[slot] & bit != 0
    }

    fn mark(&mut self, prefix: u32) {
        let (slot, bit) = self.top_slot(prefix);
        self.top_map[slot] |= bit;
        if !self.mid_map.is_empty() {
            let (slot, bit) = self.mid_slot(prefix);
            self.mid_map[slot] |= bit;
        }
    }

    /// Counts one forgotten prefix; rebuilds the maps when enough are stale.
    fn forget_prefix(&mut self) {
        self.stale += 1;
        if self.stale > self.counts.len() {
            self.rebuild_maps();
        }
    }

    fn rebuild_maps(&mut self) {
        self.stale = 0;
        self.top_map = [0; 4];
        self.mid_map.iter_mut().for_each(|w| *w = 0);
        let prefixes: Vec<u32> = self.counts.keys().copied().collect();
        for prefix in prefixes {
            self.mark(prefix);
        }
    }
}

/// All entries that share one mask.
#[derive(Clone)]
struct Subtable<T> {
    mask: FlowKey,
    /// Indexes of the mask's non-zero words, in order.
    words: SmallVec<[u8; KEY_WORDS]>,
    /// For each non-empty stage, the number of `words` up to its end; the last is `words.len()`.
    stage_ends: SmallVec<[u8; 4]>,
    /// Counted hashes of the masked key up to the end of every stage but the last.
    stage_index: SmallVec<[HashMap<u64, u32, Prehashed>; 3]>,
    /// Entries by the hash of their whole masked value; each bucket by descending priority.
    rules: HashMap<u64, Vec<Entry<T>>, Prehashed>,
    prefixes: SmallVec<[PrefixIndex; 2]>,
    /// Highest priority among the stored entries (visible or not).
    max_priority: u16,
    /// How many stored entries have each priority (keeps `max_priority` exact in O(log n)).
    priorities: BTreeMap<u16, u32>,
    n_entries: usize,
}

impl<T> Subtable<T> {
    fn new(mask: FlowKey) -> Self {
        let mut words = SmallVec::new();
        let mut stage_ends = SmallVec::new();
        let mut start = 0;
        for end in STAGE_ENDS {
            let before = words.len();
            for w in start..end {
                if mask.words[w] != 0 {
                    words.push(w as u8);
                }
            }
            if words.len() > before {
                stage_ends.push(words.len() as u8);
            }
            start = end;
        }
        if stage_ends.is_empty() {
            stage_ends.push(0);
        }
        let stage_index = (1..stage_ends.len()).map(|_| HashMap::default()).collect();
        let prefixes = PREFIX_FIELDS
            .into_iter()
            .filter_map(|field| {
                let m = mask.get(field) as u32;
                let plen = m.leading_ones();
                let layout = field.layout();
                (plen > 0 && m.count_ones() == plen).then(|| PrefixIndex {
                    word: layout.word,
                    shift: layout.shift,
                    plen,
                    mask: m,
                    top_bits: plen.min(8),
                    top_map: [0; 4],
                    mid_map: if plen > 16 { vec![0; 1024] } else { Vec::new() },
                    stale: 0,
                    counts: HashMap::with_hasher(RandomState::with_seeds(
                        HASH_SEEDS[0],
                        HASH_SEEDS[1],
                        HASH_SEEDS[2],
                        HASH_SEEDS[3],
                    )),
                })
            })
            .collect();
        Subtable {
            mask,
            words,
            stage_ends,
            stage_index,
            rules: HashMap::default(),
            prefixes,
            max_priority: 0,
            priorities: BTreeMap::new(),
            n_entries: 0,
        }
    }

    /// Hashes of the masked `key` at the end of every non-empty stage (the last: the whole key).
    fn stage_hashes(&self, state: &RandomState, key: &FlowKey) -> SmallVec<[u64; 4]> {
        let mut out = SmallVec::new();
        let mut h = state.build_hasher();
        let mut start = 0;
        for &end in &self.stage_ends {
            for &w in &self.words[start..usize::from(end)] {
                let w = usize::from(w);
                h.write_u64(key.words[w] & self.mask.words[w]);
            }
            start = usize::from(end);
            out.push(h.clone().finish());
        }
        out
    }

    #[inline]
    fn same_value(&self, key: &FlowKey, value: &FlowKey) -> bool {
        self.words.iter().all(|&w| {
            let w = usize::from(w);
            key.words[w] & self.mask.words[w] == value.words[w]
        })
    }

    /// Un-wildcards the mask bits of the first `n_words` non-zero mask words.
    #[inline]
    fn unwildcard(&self, n_words: usize, wc: &mut FlowKey) {
        for &w in &self.words[..n_words] {
            let w = usize::from(w);
            wc.words[w] |= self.mask.words[w];
        }
    }

    fn insert(&mut self, state: &RandomState, entry: Entry<T>) {
        let hashes = self.stage_hashes(state, &entry.match_.value);
        for (index, h) in self.stage_index.iter_mut().zip(&hashes) {
            *index.entry(*h).or_insert(0) += 1;
        }
        for p in &mut self.prefixes {
            let prefix = p.prefix_of(&entry.match_.value);
            *p.counts.entry(prefix).or_insert(0) += 1;
            p.mark(prefix);
        }
        *self.priorities.entry(entry.priority).or_insert(0) += 1;
        self.max_priority = if self.n_entries == 0 { entry.priority } else { self.max_priority.max(entry.priority) };
        self.n_entries += 1;
        let full = hashes.last().copied().unwrap_or_default();
        let bucket = self.rules.entry(full).or_default();
        // Buckets are small (one masked value, a few priorities): grow them one by one rather
        // than to Vec's minimum capacity of 4 entries, which would quadruple memory per rule.
        bucket.reserve_exact(1);
        let at = bucket.partition_point(|e| e.priority >= entry.priority);
        bucket.insert(at, entry);
    }

    /// Forgets one dropped entry's value and priority in the stage, prefix and priority indexes.
    fn unindex(&mut self, state: &RandomState, value: &FlowKey, priority: u16) {
        if let Some(c) = self.priorities.get_mut(&priority) {
            *c -= 1;
            if *c == 0 {
                self.priorities.remove(&priority);
            }
        }
        self.max_priority = self.priorities.keys().next_back().copied().unwrap_or(0);
        self.n_entries -= 1;
        let hashes = self.stage_hashes(state, value);
        for (index, h) in self.stage_index.iter_mut().zip(&hashes) {
            if let Some(c) = index.get_mut(h) {
                *c -= 1;
                if *c == 0 {
                    index.remove(h);
                }
            }
        }
        for p in &mut self.prefixes {
            let prefix = p.prefix_of(value);
            if let Some(c) = p.counts.get_mut(&prefix) {
                *c -= 1;
                if *c == 0 {
                    p.counts.remove(&prefix);
                    p.forget_prefix();
                }
            }
        }
    }

    /// Drops the entries of bucket `full` whose remove version is `<= version`; returns how many.
    fn purge_bucket(&mut self, state: &RandomState, full: u64, version: Version) -> usize {
        let Some(bucket) = self.rules.get_mut(&full) else { return 0 };
        let mut dropped: SmallVec<[(FlowKey, u16); 2]> = SmallVec::new();
        bucket.retain(|e| {
            let keep = e.remove_version > version;
            if !keep {
                dropped.push((e.match_.value, e.priority));
            }
            keep
        });
        if bucket.is_empty() {
            self.rules.remove(&full);
        }
        for (value, priority) in &dropped {
            self.unindex(state, value, *priority);
        }
        dropped.len()
    }

    fn bucket(&self, state: &RandomState, value: &FlowKey) -> Option<&Vec<Entry<T>>> {
        let full = self.stage_hashes(state, value).last().copied().unwrap_or_default();
        self.rules.get(&full)
    }

    fn entries(&self) -> impl Iterator<Item = &Entry<T>> {
        self.rules.values().flatten()
    }

    /// The best visible entry of this subtable matching `key`, un-wildcarding what it looked at.
    #[inline]
    fn lookup(&self, state: &RandomState, key: &FlowKey, version: Version, wc: &mut FlowKey) -> Option<&Entry<T>> {
        for p in &self.prefixes {
            if !p.top_present(p.prefix_of(key)) {
                // No entry here starts with these bits: neither does any key agreeing on them.
                wc.words[p.word] |= u64::from(u32::MAX << (32 - p.top_bits)) << p.shift;
                return None;
            }
        }
        for p in &self.prefixes {
            if !p.mid_present(p.prefix_of(key)) {
                wc.words[p.word] |= u64::from(u32::MAX << 16) << p.shift;
                return None;
            }
        }
        for p in &self.prefixes {
            if !p.counts.contains_key(&p.prefix_of(key)) {
                // No entry here has this prefix: neither has any key agreeing on its bits.
                wc.words[p.word] |= u64::from(p.mask) << p.shift;
                return None;
            }
        }
        let mut h = state.build_hasher();
        let mut start = 0;
        let last = self.stage_ends.len() - 1;
        for (stage, &end) in self.stage_ends.iter().enumerate() {
            let end = usize::from(end);
            for &w in &self.words[start..end] {
                let w = usize::from(w);
                h.write_u64(key.words[w] & self.mask.words[w]);
            }
            start = end;
            if stage < last && !self.stage_index[stage].contains_key(&h.clone().finish()) {
                self.unwildcard(end, wc);
                return None;
            }
        }
        self.unwildcard(self.words.len(), wc);
        let bucket = self.rules.get(&h.finish())?;
        bucket.iter().find(|e| e.is_visible(version) && self.same_value(key, &e.match_.value))
    }
}

/// A versioned OpenFlow classifier holding entries with payloads of type `T`.
#[derive(Clone)]
pub struct Classifier<T> {
    subtables: Vec<Subtable<T>>,
    by_mask: HashMap<FlowKey, usize, RandomState>,
    /// Indexes into `subtables`, by descending `max_priority`.
    order: Vec<usize>,
    hash_state: RandomState,
    /// Entries whose remove version is [`VERSION_NOT_REMOVED`].
    n_live: usize,
    /// Entries marked removed and not yet purged: (mask, bucket hash, remove version).
    doomed: Vec<(FlowKey, u64, Version)>,
}

impl<T> fmt::Debug for Classifier<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Classifier")
            .field("len", &self.n_live)
            .field("n_subtables", &self.subtables.len())
            .finish_non_exhaustive()
    }
}

impl<T> Default for Classifier<T> {
    fn default() -> Self {
        Self::new()
    }
}

fn normalized(m: &Match) -> Match {
    Match { value: m.value.and(&m.mask), mask: m.mask }
}

impl<T> Classifier<T> {
    /// An empty classifier.
    pub fn new() -> Self {
        let state = || RandomState::with_seeds(HASH_SEEDS[0], HASH_SEEDS[1], HASH_SEEDS[2], HASH_SEEDS[3]);
        Classifier {
            subtables: Vec::new(),
            by_mask: HashMap::with_hasher(state()),
            order: Vec::new(),
            hash_state: state(),
            n_live: 0,
            doomed: Vec::new(),
        }
    }

    fn sort_order(&mut self) {
        let subtables = &self.subtables;
        self.order.sort_by_key(|&i| std::cmp::Reverse(subtables[i].max_priority));
    }

    /// Inserts; the caller guarantees no entry with the same match and priority is visible at
    /// `version`. The entry is visible from `version` on.
    pub fn insert(&mut self, match_: Match, priority: u16, value: T, version: Version) {
        let match_ = normalized(&match_);
        let i = if let Some(&i) = self.by_mask.get(&match_.mask) {
            i
        } else {
            self.subtables.push(Subtable::new(match_.mask));
            let i = self.subtables.len() - 1;
            self.by_mask.insert(match_.mask, i);
            self.order.push(i);
            i
        };
        let st = &mut self.subtables[i];
        let old_max = (st.n_entries > 0).then_some(st.max_priority);
        st.insert(
            &self.hash_state,
            Entry { match_, priority, value, add_version: version, remove_version: VERSION_NOT_REMOVED },
        );
        if old_max != Some(st.max_priority) {
            self.sort_order();
        }
        self.n_live += 1;
    }

    /// Makes the entry with exactly this match and priority invisible from `version` on;
    /// returns its value (`None` if no such entry is visible at `version`).
    pub fn remove(&mut self, match_: &Match, priority: u16, version: Version) -> Option<&T> {
        let m = normalized(match_);
        let &i = self.by_mask.get(&m.mask)?;
        let st = &mut self.subtables[i];
        let full = st.stage_hashes(&self.hash_state, &m.value).last().copied().unwrap_or_default();
        let entry = st
            .rules
            .get_mut(&full)?
            .iter_mut()
            .find(|e| e.priority == priority && e.match_.value == m.value && e.is_visible(version))?;
        if entry.remove_version == VERSION_NOT_REMOVED {
            self.n_live -= 1;
        }
        entry.remove_version = version;
        self.doomed.push((m.mask, full, version));
        Some(&entry.value)
    }

    /// Drops entries whose remove version is `<= version` (no reader can see them any more);
    /// returns how many were dropped.
    pub fn purge(&mut self, version: Version) -> usize {
        // Only the buckets of entries removed since the last purge are visited: a purge costs
        // what was removed, not the size of the table.
        let state = &self.hash_state;
        let mut dropped = 0;
        let mut later = Vec::new();
        for (mask, full, removed_at) in std::mem::take(&mut self.doomed) {
            if removed_at > version {
                later.push((mask, full, removed_at));
                continue;
            }
            if let Some(&i) = self.by_mask.get(&mask) {
                dropped += self.subtables[i].purge_bucket(state, full, version);
            }
        }
        self.doomed = later;
        if dropped > 0 {
            if self.subtables.iter().any(|st| st.n_entries == 0) {
                self.subtables.retain(|st| st.n_entries > 0);
                self.by_mask = HashMap::with_hasher(self.by_mask.hasher().clone());
                for (i, st) in self.subtables.iter().enumerate() {
                    self.by_mask.insert(st.mask, i);
                }
                self.order = (0..self.subtables.len()).collect();
            }
            self.sort_order();
        }
        dropped
    }

    /// The highest-priority entry visible at `version` that matches `key` (ties: a
    /// deterministic one). ORs into `wc` every key bit the answer depended on, so that every key
    /// equal to `key` on the bits of `wc` gets the same answer.
    pub fn lookup(&self, key: &FlowKey, version: Version, wc: &mut FlowKey) -> Option<&Entry<T>> {
        let mut best: Option<&Entry<T>> = None;
        for &i in &self.order {
            let st = &self.subtables[i];
            if best.is_some_and(|b| st.max_priority <= b.priority) {
                break;
            }
            if let Some(e) = st.lookup(&self.hash_state, key, version, wc) {
                if best.is_none_or(|b| e.priority > b.priority) {
                    best = Some(e);
                }
            }
        }
        best
    }

    /// The entry visible at `version` with exactly this match and priority.
    pub fn find_exact(&self, match_: &Match, priority: u16, version: Version) -> Option<&Entry<T>> {
        let m = normalized(match_);
        let st = &self.subtables[*self.by_mask.get(&m.mask)?];
        st.bucket(&self.hash_state, &m.value)?
            .iter()
            .find(|e| e.priority == priority && e.match_.value == m.value && e.is_visible(version))
    }

    /// Every entry visible at `version` (any order).
    pub fn iter(&self, version: Version) -> impl Iterator<Item = &Entry<T>> {
        self.subtables.iter().flat_map(Subtable::entries).filter(move |e| e.is_visible(version))
    }

    /// Entries visible at `version` whose match is covered by `target` (OpenFlow non-strict
    /// modify/delete). Only subtables whose mask is at least as specific as the target's are
    /// scanned; when the target's mask is itself a subtable's, that subtable is probed by hash.
    pub fn iter_covered<'a>(&'a self, target: &'a Match, version: Version) -> impl Iterator<Item = &'a Entry<T>> {
        let target = normalized(target);
        let state = &self.hash_state;
        self.subtables
            .iter()
            .filter(move |st| target.mask.is_subset_of(&st.mask))
            .flat_map(move |st| -> Box<dyn Iterator<Item = &'a Entry<T>> + 'a> {
                if st.mask == target.mask {
                    Box::new(st.bucket(state, &target.value).into_iter().flatten())
                } else {
                    Box::new(st.entries())
                }
            })
            .filter(move |e| e.is_visible(version) && e.match_.is_covered_by(&target))
    }

    /// Whether an entry of `priority` visible at `version` overlaps `m` (OpenFlow
    /// `check_overlap`).
    pub fn any_overlap(&self, m: &Match, priority: u16, version: Version) -> bool {
        self.subtables
            .iter()
            .filter(|st| st.max_priority >= priority)
            .flat_map(Subtable::entries)
            .any(|e| e.priority == priority && e.is_visible(version) && e.match_.overlaps(m))
    }

    /// Number of entries not yet removed at the latest version.
    pub fn len(&self) -> usize {
        self.n_live
    }

    /// Whether [`Classifier::len`] is zero.
    pub fn is_empty(&self) -> bool {
        self.n_live == 0
    }

    /// Number of distinct masks (subtables) among the stored entries.
    pub fn n_subtables(&self) -> usize {
        self.subtables.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip_dst(addr: u32, plen: u32) -> Match {
        let mask = if plen == 0 { 0 } else { u32::MAX << (32 - plen) };
        Match::ANY.with(Field::EthType, 0x800).with_masked(Field::Ipv4Dst, u128::from(addr), u128::from(mask))
    }

    fn key_dst(addr: u32) -> FlowKey {
        let mut k = FlowKey::ZERO;
        k.set(Field::EthType, 0x800);
        k.set(Field::Ipv4Dst, u128::from(addr));
        k
    }

    #[test]
    fn priority_and_longest_prefix() {
        let mut cls = Classifier::new();
        cls.insert(ip_dst(0x0a00_0000, 8), 8, "ten", 0);
        cls.insert(ip_dst(0x0a01_0000, 16), 16, "ten-one", 0);
        cls.insert(Match::ANY, 0, "default", 0);
        assert_eq!(cls.n_subtables(), 3);
        assert_eq!(cls.len(), 3);
        let mut wc = FlowKey::ZERO;
        assert_eq!(cls.lookup(&key_dst(0x0a01_0203), 0, &mut wc).map(|e| e.value), Some("ten-one"));
        assert_eq!(wc.get(Field::Ipv4Dst), 0xffff_0000);
        let mut wc = FlowKey::ZERO;
        assert_eq!(cls.lookup(&key_dst(0x0a02_0203), 0, &mut wc).map(|e| e.value), Some("ten"));
        let mut wc = FlowKey::ZERO;
        assert_eq!(cls.lookup(&key_dst(0xc0a8_0001), 0, &mut wc).map(|e| e.value), Some("default"));
        // Both prefix subtables were skipped by their first-byte bitmaps: only 8 bits looked at.
        assert_eq!(wc.get(Field::Ipv4Dst), 0xff00_0000);
        assert_eq!(wc.get(Field::EthType), 0);
    }

    #[test]
    fn staged_miss_unwildcards_only_early_stages() {
        let mut cls = Classifier::new();
        let m = Match::ANY.with(Field::InPort, 1).with(Field::EthType, 0x800).with(Field::IpProto, 6);
        cls.insert(m, 5, (), 0);
        let mut key = FlowKey::ZERO;
        key.set(Field::InPort, 2);
        key.set(Field::IpProto, 6);
        let mut wc = FlowKey::ZERO;
        assert!(cls.lookup(&key, 0, &mut wc).is_none());
        assert_eq!(wc.get(Field::InPort), 0xffff_ffff);
        assert_eq!(wc.get(Field::EthType), 0);
        assert_eq!(wc.get(Field::IpProto), 0);
    }

    #[test]
    fn versions_and_purge() {
        let mut cls = Classifier::new();
        let m = ip_dst(0x0a00_0001, 32);
        cls.insert(m, 1, 'a', 1);
        assert!(cls.find_exact(&m, 1, 0).is_none());
        assert!(cls.find_exact(&m, 1, 1).is_some());
        assert_eq!(cls.remove(&m, 1, 2), Some(&'a'));
        assert!(cls.remove(&m, 1, 2).is_none());
        assert!(cls.is_empty());
        cls.insert(m, 1, 'b', 2);
        assert_eq!(cls.find_exact(&m, 1, 1).map(|e| e.value), Some('a'));
        assert_eq!(cls.find_exact(&m, 1, 2).map(|e| e.value), Some('b'));
        assert_eq!(cls.purge(1), 0);
        assert_eq!(cls.purge(2), 1);
        assert_eq!(cls.iter(2).count(), 1);
        assert_eq!(cls.remove(&m, 1, 3), Some(&'b'));
        assert_eq!(cls.purge(3), 1);
        assert_eq!(cls.n_subtables(), 0);
    }

    #[test]
    fn covered_and_overlap() {
        let mut cls = Classifier::new();
        cls.insert(ip_dst(0x0a00_0001, 32), 1, 1, 0);
        cls.insert(ip_dst(0x0a00_0002, 32), 1, 2, 0);
        cls.insert(ip_dst(0x0b00_0002, 32), 1, 3, 0);
        let mut got: Vec<_> = cls.iter_covered(&ip_dst(0x0a00_0000, 8), 0).map(|e| e.value).collect();
        got.sort_unstable();
        assert_eq!(got, vec![1, 2]);
        assert_eq!(cls.iter_covered(&ip_dst(0x0a00_0002, 32), 0).count(), 1);
        assert!(cls.any_overlap(&ip_dst(0x0b00_0000, 8), 1, 0));
        assert!(!cls.any_overlap(&ip_dst(0x0b00_0000, 8), 2, 0));
        assert!(!cls.any_overlap(&ip_dst(0x0c00_0000, 8), 1, 0));
    }
}
