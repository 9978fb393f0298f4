//! A generic, versioned OpenFlow classifier (tuple-space search, as Open vSwitch's
//! `lib/classifier.c`).
//!
//! Rules are grouped by their mask into *subtables* ([`subtable`]), each a hash table keyed by
//! the masked value, and stored compactly: an entry keeps only the words its mask selects. A
//! lookup probes the subtables in order of the highest priority each holds and stops as soon
//! as no remaining subtable can hold a better rule.
//!
//! Every lookup also reports, in a caller-supplied mask `wc`, every key bit the answer depended
//! on (the megaflow invariant: any key that agrees with the looked-up key on the bits of `wc`
//! gets the same answer). To keep `wc` narrow and lookups short, a subtable is rejected by the
//! cheapest test that can: a word all its entries share ([`subtable`]), prefix tracking for
//! `nw_src`/`nw_dst` ([`prefix`]), then a staged lookup that un-wildcards only the stages it
//! looked at. The first tests are asked for all subtables at once, as sets of subtable ids
//! ([`index`]), so a lookup only walks the subtables that may match.
//!
//! Versions (Open vSwitch's `cls_rule` versions) let a batch of changes become visible
//! atomically: every entry has an add version and a remove version, and a lookup at version `v`
//! sees the entries with `add <= v < remove`. Removed entries stay (and keep counting in the
//! indexes, which is only conservative) until [`Classifier::purge`].

mod hash;
mod index;
mod prefix;
pub mod reference;
mod subtable;

use crate::flow_match::Match;
use crate::key::FlowKey;
use ahash::RandomState;
use index::LookupIndex;
use prefix::{PrefixCtx, PrefixFilter};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use subtable::{Subtable, Words, NIL};

use subtable::Shape;

/// A classifier version (a lookup at version `v` sees entries with `add <= v < remove`).
pub type Version = u64;

/// The remove version of an entry that has not been removed.
pub const VERSION_NOT_REMOVED: Version = Version::MAX;

/// Fixed seeds so that hashing (and so iteration order) is deterministic across runs.
const HASH_SEEDS: [u64; 4] =
    [0x243f_6a88_85a3_08d3, 0x1319_8a2e_0370_7344, 0xa409_3822_299f_31d0, 0x082e_fa98_ec4e_6c89];

/// A classifier entry: a match, a priority and the caller's payload.
///
/// The match is stored compactly (the mask once per subtable, the value's words under it);
/// [`Entry::match_`] rebuilds it.
#[derive(Debug, Clone)]
pub struct Entry<T> {
    /// OpenFlow priority (higher wins).
    pub priority: u16,
    /// The caller's payload.
    pub value: T,
    add_version: Version,
    remove_version: Version,
    shape: Arc<Shape>,
    /// The masked value's words under `shape.words`.
    words: Words,
    /// Next entry of the subtable chain ([`NIL`] if none).
    next: u32,
}

impl<T> Entry<T> {
    fn with_shape(shape: Arc<Shape>, value_key: &FlowKey, priority: u16, value: T, version: Version) -> Self {
        Entry {
            priority,
            value,
            add_version: version,
            remove_version: VERSION_NOT_REMOVED,
            words: shape.compact(value_key),
            shape,
            next: NIL,
        }
    }

    /// An entry visible from `version` on (for the linear reference).
    pub(crate) fn new(match_: &Match, priority: u16, value: T, version: Version) -> Self {
        Self::with_shape(Arc::new(Shape::new(match_.mask)), &match_.value, priority, value, version)
    }

    /// The entry's match (its value masked).
    pub fn match_(&self) -> Match {
        let mut value = FlowKey::ZERO;
        for (&w, &v) in self.shape.words.iter().zip(&self.words) {
            value.words[usize::from(w)] = v;
        }
        Match { value, mask: self.shape.mask }
    }

    /// The entry's mask.
    pub fn mask(&self) -> &FlowKey {
        &self.shape.mask
    }

    /// Whether the entry matches `key`.
    pub fn matches(&self, key: &FlowKey) -> bool {
        self.shape
            .words
            .iter()
            .zip(&self.words)
            .all(|(&w, &v)| key.words[usize::from(w)] & self.shape.mask.words[usize::from(w)] == v)
    }

    /// Whether the entry's match is covered by `target` (OpenFlow non-strict "covered by"):
    /// its mask includes `target`'s and its value agrees with `target` there.
    pub fn is_covered_by(&self, target: &Match) -> bool {
        if !target.mask.is_subset_of(&self.shape.mask) {
            return false;
        }
        // Every word `target` matches on is one of the shape's.
        self.shape.words.iter().zip(&self.words).all(|(&w, &v)| {
            let w = usize::from(w);
            v & target.mask.words[w] == target.value.words[w] & target.mask.words[w]
        })
    }

    /// Whether some packet could match both this entry and `m`.
    pub fn overlaps(&self, m: &Match) -> bool {
        self.shape.words.iter().zip(&self.words).all(|(&w, &v)| {
            let w = usize::from(w);
            (v ^ m.value.words[w]) & m.mask.words[w] & self.shape.mask.words[w] == 0
        })
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

/// A versioned OpenFlow classifier holding entries with payloads of type `T`.
#[derive(Clone)]
pub struct Classifier<T> {
    /// By descending `max_priority` (the lookup order).
    subtables: Vec<Subtable<T>>,
    /// The subtables' first tests, all at once ([`index`]); rebuilt when they change.
    index: LookupIndex,
    by_mask: HashMap<FlowKey, usize, RandomState>,
    /// Shared prefix levels of `nw_src` and `nw_dst`.
    filters: [PrefixFilter; 2],
    /// Subtable ids in use for prefix tracking, a bit each.
    used_ids: u64,
    /// Entries whose remove version is [`VERSION_NOT_REMOVED`].
    n_live: usize,
    /// Entries marked removed and not yet purged: (mask, chain hash, remove version).
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

impl<T> Classifier<T> {
    /// An empty classifier.
    pub fn new() -> Self {
        Classifier {
            subtables: Vec::new(),
            index: LookupIndex::default(),
            by_mask: HashMap::with_hasher(RandomState::with_seeds(
                HASH_SEEDS[0],
                HASH_SEEDS[1],
                HASH_SEEDS[2],
                HASH_SEEDS[3],
            )),
            filters: [PrefixFilter::default(), PrefixFilter::default()],
            used_ids: 0,
            n_live: 0,
            doomed: Vec::new(),
        }
    }

    /// Re-sorts the subtables by descending max priority (stable) and re-indexes them.
    fn sort_subtables(&mut self) {
        if !self.subtables.windows(2).all(|w| w[0].max_priority >= w[1].max_priority) {
            self.subtables.sort_by_key(|st| std::cmp::Reverse(st.max_priority));
            self.by_mask.clear();
            for (i, st) in self.subtables.iter().enumerate() {
                self.by_mask.insert(st.shape.mask, i);
            }
        }
        self.index = LookupIndex::build(&self.subtables);
    }

    fn subtable_of(&self, mask: &FlowKey) -> Option<&Subtable<T>> {
        self.by_mask.get(mask).map(|&i| &self.subtables[i])
    }

    /// Inserts; the caller guarantees no entry with the same match and priority is visible at
    /// `version`. The entry is visible from `version` on.
    pub fn insert(&mut self, match_: Match, priority: u16, value: T, version: Version) {
        let i = if let Some(&i) = self.by_mask.get(&match_.mask) {
            i
        } else {
            let id = (self.used_ids != u64::MAX).then(|| self.used_ids.trailing_ones() as u8);
            if let Some(id) = id {
                self.used_ids |= 1 << id;
            }
            self.subtables.push(Subtable::new(match_.mask, id));
            let i = self.subtables.len() - 1;
            self.by_mask.insert(match_.mask, i);
            i
        };
        let st = &mut self.subtables[i];
        let entry = Entry::with_shape(Arc::clone(&st.shape), &match_.value, priority, value, version);
        let old_max = (st.len() > 0).then_some(st.max_priority);
        let tests_changed = st.insert(entry, &mut self.filters);
        if old_max != Some(st.max_priority) {
            self.sort_subtables();
        } else if tests_changed {
            self.index = LookupIndex::build(&self.subtables);
        }
        self.n_live += 1;
    }

    /// Makes the entry with exactly this match and priority invisible from `version` on;
    /// returns its value (`None` if no such entry is visible at `version`).
    pub fn remove(&mut self, match_: &Match, priority: u16, version: Version) -> Option<&T> {
        let &i = self.by_mask.get(&match_.mask)?;
        let st = &mut self.subtables[i];
        let words = st.shape.compact(&match_.value);
        let (full, entry) = st.find_mut(&words, priority, version)?;
        if entry.remove_version == VERSION_NOT_REMOVED {
            self.n_live -= 1;
        }
        entry.remove_version = version;
        self.doomed.push((match_.mask, full, version));
        Some(&entry.value)
    }

    /// Drops entries whose remove version is `<= version` (no reader can see them any more);
    /// returns how many were dropped.
    pub fn purge(&mut self, version: Version) -> usize {
        // Only the chains of entries removed since the last purge are visited: a purge costs
        // what was removed, not the size of the table.
        let mut dropped = 0;
        let mut later = Vec::new();
        for (mask, full, removed_at) in std::mem::take(&mut self.doomed) {
            if removed_at > version {
                later.push((mask, full, removed_at));
                continue;
            }
            if let Some(&i) = self.by_mask.get(&mask) {
                dropped += self.subtables[i].purge_chain(full, version, &mut self.filters);
            }
        }
        self.doomed = later;
        if dropped > 0 {
            if self.subtables.iter().any(|st| st.len() == 0) {
                for st in self.subtables.iter().filter(|st| st.len() == 0) {
                    if let Some(id) = st.id {
                        self.used_ids &= !(1 << id);
                    }
                }
                self.subtables.retain(|st| st.len() > 0);
                self.by_mask = HashMap::with_hasher(self.by_mask.hasher().clone());
                for (i, st) in self.subtables.iter().enumerate() {
                    self.by_mask.insert(st.shape.mask, i);
                }
                if self.subtables.is_empty() {
                    self.doomed.shrink_to_fit();
                }
            }
            self.sort_subtables();
        }
        dropped
    }

    /// The highest-priority entry visible at `version` that matches `key` (ties: a
    /// deterministic one). ORs into `wc` every key bit the answer depended on, so that every key
    /// equal to `key` on the bits of `wc` gets the same answer.
    pub fn lookup(&self, key: &FlowKey, version: Version, wc: &mut FlowKey) -> Option<&Entry<T>> {
        if self.index.enabled() {
            return self.index.lookup(&self.subtables, &self.filters, key, version, wc);
        }
        self.walk(key, version, wc)
    }

    /// [`Classifier::lookup`] by walking the subtables in order, testing each subtable in
    /// turn: what the bit-parallel lookup ([`index`]) must agree with, exposed for tests and
    /// benchmarks.
    pub fn lookup_walking(&self, key: &FlowKey, version: Version, wc: &mut FlowKey) -> Option<&Entry<T>> {
        self.walk(key, version, wc)
    }

    fn walk(&self, key: &FlowKey, version: Version, wc: &mut FlowKey) -> Option<&Entry<T>> {
        let mut best: Option<&Entry<T>> = None;
        let mut ctx = PrefixCtx::new(&self.filters, key);
        for st in &self.subtables {
            if best.is_some_and(|b| st.max_priority <= b.priority) {
                break;
            }
            if let Some(e) = st.lookup(&self.filters, &mut ctx, key, version, wc) {
                if best.is_none_or(|b| e.priority > b.priority) {
                    best = Some(e);
                }
            }
        }
        best
    }

    /// The entry visible at `version` with exactly this match and priority.
    pub fn find_exact(&self, match_: &Match, priority: u16, version: Version) -> Option<&Entry<T>> {
        let st = self.subtable_of(&match_.mask)?;
        st.find(&st.shape.compact(&match_.value), priority, version)
    }

    /// Every entry visible at `version` (any order).
    pub fn iter(&self, version: Version) -> impl Iterator<Item = &Entry<T>> {
        self.subtables.iter().flat_map(Subtable::entries).filter(move |e| e.is_visible(version))
    }

    /// Entries visible at `version` whose match is covered by `target` (OpenFlow non-strict
    /// modify/delete). Only subtables whose mask is at least as specific as the target's are
    /// scanned; when the target's mask is itself a subtable's, that subtable is probed by hash.
    pub fn iter_covered<'a>(&'a self, target: &'a Match, version: Version) -> impl Iterator<Item = &'a Entry<T>> {
        self.subtables
            .iter()
            .filter(move |st| target.mask.is_subset_of(&st.shape.mask))
            .flat_map(move |st| -> Box<dyn Iterator<Item = &'a Entry<T>> + 'a> {
                if st.shape.mask == target.mask {
                    Box::new(st.chain(&st.shape.compact(&target.value)))
                } else {
                    Box::new(st.entries())
                }
            })
            .filter(move |e| e.is_visible(version) && e.is_covered_by(target))
    }

    /// Whether an entry of `priority` visible at `version` overlaps `m` (OpenFlow
    /// `check_overlap`).
    pub fn any_overlap(&self, m: &Match, priority: u16, version: Version) -> bool {
        self.subtables
            .iter()
            .filter(|st| st.max_priority >= priority)
            .flat_map(Subtable::entries)
            .any(|e| e.priority == priority && e.is_visible(version) && e.overlaps(m))
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
    use crate::field::Field;

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
