//! The megaflow cache: wildcarded flows produced by translation, found by tuple-space search.
//!
//! Each distinct megaflow mask is a subtable holding the masked keys of its flows in a hash
//! table. A lookup probes subtables in order of recent hits (re-sorted now and then, as Open
//! vSwitch's dpcls does), hashing and comparing only the words its mask uses. Megaflows never
//! overlap: a packet that matches one hits it instead of going to translation, and
//! revalidation removes flows whose translation changed.

use crate::flow::Megaflow;
use flowtable::field::KEY_WORDS;
use flowtable::FlowKey;
use smallvec::SmallVec;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Default bound on cached megaflows (Open vSwitch's default flow limit is 200000).
pub const DEFAULT_FLOW_LIMIT: usize = 200_000;

type HashIndex = flowtable::prehash::PrehashedMap<SmallVec<[Arc<Megaflow>; 1]>>;

/// Hash of `key`'s words selected by `words`, each masked.
#[inline]
fn masked_hash(key: &FlowKey, mask: &FlowKey, words: &[u8]) -> u64 {
    let mut h: u64 = 0x9e37_79b9_7f4a_7c15;
    for &w in words {
        let v = key.words[usize::from(w)] & mask.words[usize::from(w)];
        h = (h ^ v).wrapping_mul(0x0100_0000_01b3).rotate_left(29);
    }
    h ^ (h >> 31)
}

/// All megaflows that share one mask.
#[derive(Debug)]
struct Subtable {
    mask: FlowKey,
    /// Indexes of the mask's non-zero words.
    words: SmallVec<[u8; KEY_WORDS]>,
    flows: HashIndex,
    n_flows: usize,
    hits: AtomicU64,
}

impl Subtable {
    fn new(mask: FlowKey) -> Self {
        let words = (0..KEY_WORDS as u8).filter(|w| mask.words[usize::from(*w)] != 0).collect();
        Subtable { mask, words, flows: HashIndex::default(), n_flows: 0, hits: AtomicU64::new(0) }
    }

    #[inline]
    fn lookup(&self, key: &FlowKey) -> Option<&Arc<Megaflow>> {
        let h = masked_hash(key, &self.mask, &self.words);
        let bucket = self.flows.get(&h)?;
        bucket.iter().find(|mf| {
            self.words
                .iter()
                .all(|&w| key.words[usize::from(w)] & self.mask.words[usize::from(w)] == mf.key.words[usize::from(w)])
        })
    }
}

/// The megaflow cache.
#[derive(Debug)]
pub struct MegaflowCache {
    subtables: Vec<Subtable>,
    len: usize,
    limit: usize,
    lookups_since_sort: u64,
}

impl Default for MegaflowCache {
    fn default() -> Self {
        Self::new(DEFAULT_FLOW_LIMIT)
    }
}

/// Lookups between re-sorts of the subtables by hits.
const SORT_INTERVAL: u64 = 1 << 16;

impl MegaflowCache {
    /// An empty cache holding at most `limit` megaflows.
    pub fn new(limit: usize) -> Self {
        MegaflowCache { subtables: Vec::new(), len: 0, limit, lookups_since_sort: 0 }
    }

    /// Number of megaflows.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the cache is at its limit (new flows are then executed but not cached).
    pub fn is_full(&self) -> bool {
        self.len >= self.limit
    }

    /// Number of distinct masks.
    pub fn n_masks(&self) -> usize {
        self.subtables.len()
    }

    /// The megaflow `key` matches, if any.
    #[inline]
    pub fn lookup(&mut self, key: &FlowKey) -> Option<&Arc<Megaflow>> {
        self.lookups_since_sort += 1;
        if self.lookups_since_sort >= SORT_INTERVAL {
            self.sort_subtables();
        }
        for st in &self.subtables {
            if let Some(mf) = st.lookup(key) {
                st.hits.fetch_add(1, Ordering::Relaxed);
                return Some(mf);
            }
        }
        None
    }

    /// Probes without touching hit counters (for checks and dumps).
    pub fn peek(&self, key: &FlowKey) -> Option<&Arc<Megaflow>> {
        self.subtables.iter().find_map(|st| st.lookup(key))
    }

    /// Puts the most-hit subtables first, as Open vSwitch's dpcls does periodically.
    pub fn sort_subtables(&mut self) {
        self.lookups_since_sort = 0;
        self.subtables.sort_by_key(|st| std::cmp::Reverse(st.hits.swap(0, Ordering::Relaxed)));
    }

    /// Caches a megaflow; refused (returns false) when full or when an equal flow exists.
    pub fn insert(&mut self, mf: Arc<Megaflow>) -> bool {
        if self.is_full() || self.peek(&mf.key).is_some_and(|old| old.mask == mf.mask) {
            return false;
        }
        let idx = if let Some(i) = self.subtables.iter().position(|st| st.mask == mf.mask) {
            i
        } else {
            self.subtables.push(Subtable::new(mf.mask));
            self.subtables.len() - 1
        };
        let st = &mut self.subtables[idx];
        let h = masked_hash(&mf.key, &st.mask, &st.words);
        st.flows.entry(h).or_default().push(mf);
        st.n_flows += 1;
        self.len += 1;
        true
    }

    /// Removes every megaflow for which `keep` returns false; returns them.
    pub fn retain(&mut self, mut keep: impl FnMut(&Arc<Megaflow>) -> bool) -> Vec<Arc<Megaflow>> {
        let mut removed = Vec::new();
        for st in &mut self.subtables {
            st.flows.retain(|_, bucket| {
                bucket.retain(|mf| {
                    let k = keep(mf);
                    if !k {
                        mf.kill();
                        removed.push(Arc::clone(mf));
                    }
                    k
                });
                !bucket.is_empty()
            });
            st.n_flows = st.flows.values().map(SmallVec::len).sum();
        }
        self.subtables.retain(|st| st.n_flows > 0);
        self.len -= removed.len();
        removed
    }

    /// Every megaflow (for dumps, revalidation and stats).
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Megaflow>> {
        self.subtables.iter().flat_map(|st| st.flows.values().flatten())
    }

    /// Removes everything.
    pub fn clear(&mut self) -> Vec<Arc<Megaflow>> {
        self.retain(|_| false)
    }
}
