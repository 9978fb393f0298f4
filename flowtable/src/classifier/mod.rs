//! The OpenFlow classifier: tuple-space search, as Open vSwitch's lib/classifier.c.
//!
//! Rules are grouped by mask into subtables, each a hash table of masked keys. Subtables are
//! kept in order of the highest priority they hold, so a lookup stops as soon as no remaining
//! subtable can beat the best match. Each subtable also indexes the partial hashes of its
//! lookup stages (metadata, L2, L3; see [`STAGE_ENDS`]): a lookup that misses at an early
//! stage only depends on — and so only un-wildcards — the bits of the stages it looked at.
//! For IPv4 source and destination prefixes, a subtable keeps its rules' prefixes sorted, and
//! a lookup that finds no rule with the packet's prefix un-wildcards only the address bits
//! needed to tell (the longest common prefix with the nearest rule plus one), as OVS's tries do.
//!
//! Entries are versioned: visible at version `v` when `add <= v < remove`, so a batch of
//! changes made at version `v + 1` becomes visible at once when readers move to `v + 1`.

pub mod reference;

use crate::field::{Field, STAGE_ENDS};
use crate::flow_match::Match;
use crate::key::FlowKey;
use smallvec::SmallVec;

/// Classifier version number.
pub type Version = u64;

/// One classifier entry.
#[derive(Debug, Clone)]
pub struct Entry<T> {
    /// Match.
    pub match_: Match,
    /// Priority.
    pub priority: u16,
    /// Payload.
    pub value: T,
    add: Version,
    remove: Version,
}

impl<T> Entry<T> {
    /// An entry visible from `version` on.
    #[allow(clippy::large_types_passed_by_value)] // the match is moved into the entry
    pub(crate) fn new(match_: Match, priority: u16, value: T, version: Version) -> Self {
        Entry { match_, priority, value, add: version, remove: Version::MAX }
    }

    /// Whether a reader at `v` sees it.
    #[inline]
    pub fn visible(&self, v: Version) -> bool {
        self.add <= v && v < self.remove
    }

    /// The version from which it is invisible (`Version::MAX`: not removed).
    pub fn remove_version(&self) -> Version {
        self.remove
    }

    pub(crate) fn set_remove(&mut self, v: Version) {
        self.remove = v;
    }
}

type HashBy<V> = crate::prehash::PrehashedMap<V>;

#[inline]
fn mix(h: u64, w: u64) -> u64 {
    (h ^ w).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(31)
}

/// The IPv4 prefix fields tracked for prefix-aware wildcarding.
const PREFIX_FIELDS: [Field; 2] = [Field::Ipv4Src, Field::Ipv4Dst];

/// A binary trie of the IPv4 prefixes of every rule that matches a prefix field, as Open
/// vSwitch's classifier tries: one walk per lookup tells, for every prefix length, whether
/// any rule of that length can match the packet, and how many address bits that answer
/// depended on.
#[derive(Debug, Clone, Default)]
struct PrefixTrie {
    /// Node arena; node 0 is the root. `children[b]` is 0 when absent.
    nodes: Vec<TrieNode>,
}

#[derive(Debug, Clone, Copy, Default)]
struct TrieNode {
    children: [u32; 2],
    /// Rules whose prefix ends here.
    ending: u32,
    /// Rules whose prefix ends here or below.
    total: u32,
}

/// The outcome of a trie walk for one address.
#[derive(Debug, Clone, Copy)]
struct TrieMatch {
    /// Bit `L` set: some rule with prefix length `L` matches.
    lengths: u64,
    /// Depth at which the walk left the trie (32 if it did not).
    depth: u32,
}

impl PrefixTrie {
    fn adjust(&mut self, prefix: u32, plen: u32, delta: i32) {
        if self.nodes.is_empty() {
            self.nodes.push(TrieNode::default());
        }
        let mut n = 0usize;
        for d in 0..=plen {
            let node = &mut self.nodes[n];
            node.total = node.total.saturating_add_signed(delta);
            if d == plen {
                node.ending = node.ending.saturating_add_signed(delta);
                break;
            }
            let bit = ((prefix >> (31 - d)) & 1) as usize;
            let child = node.children[bit];
            if child == 0 {
                if delta < 0 {
                    return;
                }
                self.nodes.push(TrieNode::default());
                let new = (self.nodes.len() - 1) as u32;
                self.nodes[n].children[bit] = new;
                n = new as usize;
            } else {
                n = child as usize;
            }
        }
    }

    fn walk(&self, addr: u32) -> TrieMatch {
        let mut m = TrieMatch { lengths: 0, depth: 0 };
        let Some(mut node) = self.nodes.first() else { return m };
        for d in 0..=32u32 {
            if node.ending > 0 {
                m.lengths |= 1 << d;
            }
            m.depth = d;
            if d == 32 {
                break;
            }
            let child = node.children[((addr >> (31 - d)) & 1) as usize];
            match self.nodes.get(child as usize).filter(|c| child != 0 && c.total > 0) {
                Some(c) => node = c,
                None => break,
            }
        }
        m
    }
}

/// All entries that share one mask.
#[derive(Debug, Clone)]
struct Subtable<T> {
    mask: FlowKey,
    /// Non-zero mask words of each stage.
    stage_words: [SmallVec<[u8; 8]>; 4],
    /// Partial hashes (stages 0..=i) of the entries, with counts, for stages 0..3.
    stage_index: [HashBy<u32>; 3],
    /// Full hash -> entries, highest priority first.
    buckets: HashBy<SmallVec<[Entry<T>; 1]>>,
    /// Prefix length of each prefix field this mask matches as a CIDR prefix (0: none).
    plens: [u32; 2],
    max_priority: u16,
    n_entries: usize,
}

impl<T> Subtable<T> {
    fn new(mask: FlowKey) -> Self {
        let mut stage_words: [SmallVec<[u8; 8]>; 4] = Default::default();
        let mut start = 0;
        for (i, end) in STAGE_ENDS.iter().enumerate() {
            stage_words[i] = (start..*end).filter(|w| mask.words[*w] != 0).map(|w| w as u8).collect();
            start = *end;
        }
        let plens = PREFIX_FIELDS.map(|f| {
            let m = mask.get(f) as u32;
            if m != 0 && m.leading_ones() + m.trailing_zeros() == 32 {
                m.leading_ones()
            } else {
                0
            }
        });
        Subtable {
            mask,
            stage_words,
            stage_index: Default::default(),
            buckets: HashBy::default(),
            plens,
            max_priority: 0,
            n_entries: 0,
        }
    }

    /// Hashes of stages 0, 0..=1, 0..=2 and the full key (masked).
    #[inline]
    fn hashes(&self, key: &FlowKey) -> [u64; 4] {
        let mut h = 0x243f_6a88_85a3_08d3u64;
        let mut out = [0u64; 4];
        for (stage, words) in self.stage_words.iter().enumerate() {
            for &w in words {
                let w = usize::from(w);
                h = mix(h, key.words[w] & self.mask.words[w]);
            }
            out[stage] = h;
        }
        out
    }

    /// ORs the mask words of stages `0..=upto` into `wc` (only the words the mask uses).
    #[inline]
    fn unwildcard(&self, wc: &mut FlowKey, upto: usize) {
        for words in &self.stage_words[..=upto] {
            for &w in words {
                let w = usize::from(w);
                wc.words[w] |= self.mask.words[w];
            }
        }
    }

    /// Every word the mask uses.
    #[inline]
    fn used_words(&self) -> impl Iterator<Item = usize> + '_ {
        self.stage_words.iter().flatten().map(|w| usize::from(*w))
    }

    fn recompute_max_priority(&mut self) {
        // Entries removed but not yet purged are still visible to older readers: count them.
        self.max_priority = self.buckets.values().flat_map(|b| b.iter()).map(|e| e.priority).max().unwrap_or(0);
    }
}

/// The classifier.
#[derive(Debug, Clone)]
pub struct Classifier<T> {
    subtables: Vec<Subtable<T>>,
    /// One trie per prefix field.
    tries: [PrefixTrie; 2],
    len: usize,
}

impl<T> Default for Classifier<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Classifier<T> {
    /// An empty classifier.
    pub fn new() -> Self {
        Classifier { subtables: Vec::new(), tries: Default::default(), len: 0 }
    }

    fn subtable_index(&self, mask: &FlowKey) -> Option<usize> {
        self.subtables.iter().position(|st| st.mask == *mask)
    }

    fn resort(&mut self) {
        self.subtables.sort_by_key(|st| std::cmp::Reverse(st.max_priority));
    }

    /// Inserts; the caller guarantees no entry with the same match and priority is visible at
    /// `version`.
    pub fn insert(&mut self, match_: Match, priority: u16, value: T, version: Version) {
        let idx = if let Some(i) = self.subtable_index(&match_.mask) {
            i
        } else {
            self.subtables.push(Subtable::new(match_.mask));
            self.subtables.len() - 1
        };
        let st = &mut self.subtables[idx];
        let h = st.hashes(&match_.value);
        for (i, index) in st.stage_index.iter_mut().enumerate() {
            *index.entry(h[i]).or_insert(0) += 1;
        }
        for (i, f) in PREFIX_FIELDS.iter().enumerate() {
            if st.plens[i] > 0 {
                self.tries[i].adjust(match_.value.get(*f) as u32, st.plens[i], 1);
            }
        }
        let st = &mut self.subtables[idx];
        let bucket = st.buckets.entry(h[3]).or_default();
        let pos = bucket.iter().position(|e| e.priority < priority).unwrap_or(bucket.len());
        bucket.insert(pos, Entry::new(match_, priority, value, version));
        st.n_entries += 1;
        let raised = priority > st.max_priority || st.n_entries == 1;
        if raised {
            st.max_priority = priority;
            self.resort();
        }
        self.len += 1;
    }

    /// Makes the entry with exactly this match and priority invisible from `version` on;
    /// returns its value.
    pub fn remove(&mut self, match_: &Match, priority: u16, version: Version) -> Option<&T> {
        let idx = self.subtable_index(&match_.mask)?;
        let h = self.subtables[idx].hashes(&match_.value);
        let pos = self.subtables[idx]
            .buckets
            .get(&h[3])?
            .iter()
            .position(|e| e.remove == Version::MAX && e.priority == priority && e.match_ == *match_)?;
        self.len -= 1;
        let bucket = self.subtables[idx].buckets.get_mut(&h[3])?;
        bucket[pos].remove = version;
        Some(&bucket[pos].value)
    }

    /// Drops entries whose remove version is <= `version`; returns how many.
    pub fn purge(&mut self, version: Version) -> usize {
        let mut purged = 0;
        for st in &mut self.subtables {
            let tries = &mut self.tries;
            let mut gone: Vec<Match> = Vec::new();
            st.buckets.retain(|_, bucket| {
                bucket.retain(|e| {
                    let keep = e.remove > version;
                    if !keep {
                        gone.push(e.match_);
                    }
                    keep
                });
                !bucket.is_empty()
            });
            for m in &gone {
                let h = st.hashes(&m.value);
                for (i, index) in st.stage_index.iter_mut().enumerate() {
                    if let Some(c) = index.get_mut(&h[i]) {
                        *c -= 1;
                        if *c == 0 {
                            index.remove(&h[i]);
                        }
                    }
                }
                for (i, f) in PREFIX_FIELDS.iter().enumerate() {
                    if st.plens[i] > 0 {
                        tries[i].adjust(m.value.get(*f) as u32, st.plens[i], -1);
                    }
                }
            }
            if !gone.is_empty() {
                st.n_entries -= gone.len();
                purged += gone.len();
                st.recompute_max_priority();
            }
        }
        if purged > 0 {
            self.subtables.retain(|st| st.n_entries > 0);
            self.resort();
        }
        purged
    }

    /// The highest-priority entry visible at `version` that matches `key`. Every key bit the
    /// answer depended on is OR-ed into `wc`: any key equal to `key` on those bits gets the
    /// same answer (the megaflow invariant).
    pub fn lookup(&self, key: &FlowKey, version: Version, wc: &mut FlowKey) -> Option<&Entry<T>> {
        let mut best: Option<&Entry<T>> = None;
        // Trie walks, done at most once per field, on first need.
        let mut walks: [Option<TrieMatch>; 2] = [None, None];
        'subtables: for st in &self.subtables {
            if best.is_some_and(|b| b.priority >= st.max_priority) {
                break;
            }
            // Prefix check: no rule of this subtable's prefix length has the packet's prefix.
            for (i, f) in PREFIX_FIELDS.iter().enumerate() {
                let plen = st.plens[i];
                if plen == 0 {
                    continue;
                }
                let walk = *walks[i].get_or_insert_with(|| self.tries[i].walk(key.get(*f) as u32));
                if walk.lengths & (1 << plen) == 0 {
                    let bits = (walk.depth + 1).min(plen);
                    let l = f.layout();
                    wc.words[l.word] |= u64::from(u32::MAX << (32 - bits)) << l.shift;
                    continue 'subtables;
                }
            }
            // Staged lookup: stop at the first stage whose partial hash no entry has.
            let mut h = 0x243f_6a88_85a3_08d3u64;
            for (stage, words) in st.stage_words.iter().enumerate() {
                for &w in words {
                    let w = usize::from(w);
                    h = mix(h, key.words[w] & st.mask.words[w]);
                }
                if stage < 3 && !words.is_empty() && !st.stage_index[stage].contains_key(&h) {
                    st.unwildcard(wc, stage);
                    continue 'subtables;
                }
            }
            st.unwildcard(wc, 3);
            let Some(bucket) = st.buckets.get(&h) else { continue };
            let same =
                |e: &&Entry<T>| st.used_words().all(|w| key.words[w] & st.mask.words[w] == e.match_.value.words[w]);
            if let Some(e) = bucket.iter().filter(|e| e.visible(version)).find(same) {
                if best.is_none_or(|b| e.priority > b.priority) {
                    best = Some(e);
                }
            }
        }
        best
    }

    /// The visible entry with exactly this match and priority.
    pub fn find_exact(&self, match_: &Match, priority: u16, version: Version) -> Option<&Entry<T>> {
        let st = &self.subtables[self.subtable_index(&match_.mask)?];
        let h = st.hashes(&match_.value);
        st.buckets.get(&h[3])?.iter().find(|e| e.visible(version) && e.priority == priority && e.match_ == *match_)
    }

    /// Every visible entry.
    pub fn iter(&self, version: Version) -> impl Iterator<Item = &Entry<T>> {
        self.subtables.iter().flat_map(|st| st.buckets.values().flatten()).filter(move |e| e.visible(version))
    }

    /// Visible entries whose match `target` covers (non-strict modify/delete): only subtables
    /// whose mask is at least as specific as the target's are searched.
    pub fn iter_covered<'a>(&'a self, target: &'a Match, version: Version) -> impl Iterator<Item = &'a Entry<T>> {
        self.subtables
            .iter()
            .filter(move |st| target.mask.is_subset_of(&st.mask))
            .flat_map(|st| st.buckets.values().flatten())
            .filter(move |e| e.visible(version) && e.match_.is_covered_by(target))
    }

    /// Whether a visible entry of `priority` overlaps `m` (for `check_overlap`).
    pub fn any_overlap(&self, m: &Match, priority: u16, version: Version) -> bool {
        self.iter(version).any(|e| e.priority == priority && e.match_.overlaps(m))
    }

    /// Entries not removed.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of distinct masks.
    pub fn n_subtables(&self) -> usize {
        self.subtables.len()
    }
}
