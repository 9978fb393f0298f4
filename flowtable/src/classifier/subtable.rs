//! One subtable: every entry that shares one mask, stored compactly.
//!
//! An entry keeps only its masked value's words under the mask's non-zero words (its
//! [`Shape`]), so a rule matching five fields costs a few words, not two whole flow keys.
//! Entries live in a slab; a hash table maps the hash of a masked value to the first entry of
//! a chain (through [`Entry`]'s `next`) of the entries with that hash, by descending priority.
//!
//! A lookup, cheapest test first:
//!
//! 1. prefix tracking's shared 8-bit level ([`super::prefix`]);
//! 2. *fixed words*: a masked word that every entry holds with the same value (`dl_type=0x800`,
//!    `nw_proto=6`, a register a table is keyed on) rejects a key that differs there,
//!    un-wildcarding only that word's mask bits (less tracked prefixes, tested next);
//! 3. prefix tracking's exact tests;
//! 4. *staged lookup*: the masked key is hashed stage by stage (metadata, L2, L3, L4:
//!    [`STAGE_ENDS`]); a filter over every stage's hashes but the last (a [`HashFilter`] kept
//!    from a counted set) rejects a key after the first stage no entry agrees with,
//!    un-wildcarding only the stages looked at. The filter is exact when it says "absent"; a
//!    rare false "present" only goes on to the next stage (more bits looked at, never a wrong
//!    answer);
//! 5. the whole hash, through another filter, picks a chain, whose first visible entry equal
//!    to the masked key wins.

use super::hash::{hash_words, mix, HashFilter, HashKeyed, SEED};
use super::prefix::{PrefixCtx, PrefixFilter, PrefixIndex};
use super::{Entry, Version};
use crate::field::{KEY_WORDS, STAGE_ENDS};
use crate::key::FlowKey;
use smallvec::SmallVec;
use std::collections::BTreeMap;
use std::sync::Arc;

/// No entry (the end of a chain).
pub(super) const NIL: u32 = u32::MAX;

/// The masked words of one entry, in [`Shape::words`] order.
pub(super) type Words = SmallVec<[u64; 4]>;

/// A mask and where its non-zero words are: what an entry needs to rebuild its match.
#[derive(Debug, PartialEq, Eq)]
pub struct Shape {
    pub(super) mask: FlowKey,
    /// Indexes of the mask's non-zero words, in order.
    pub(super) words: SmallVec<[u8; KEY_WORDS]>,
}

impl Shape {
    pub(super) fn new(mask: FlowKey) -> Self {
        let words = (0..KEY_WORDS).filter(|&w| mask.words[w] != 0).map(|w| w as u8).collect();
        Shape { mask, words }
    }

    /// The words of `value & mask` under this shape.
    pub(super) fn compact(&self, value: &FlowKey) -> Words {
        self.words.iter().map(|&w| value.words[usize::from(w)] & self.mask.words[usize::from(w)]).collect()
    }
}

/// The compact word holding key word `word` (0 if the shape has none).
fn word_at(shape_words: &[u8], words: &[u64], word: usize) -> u64 {
    shape_words.iter().position(|&w| usize::from(w) == word).map_or(0, |i| words[i])
}

/// Whether one masked word has the same value in every entry (and how many hold it).
#[derive(Clone, Copy, Debug)]
enum Fixed {
    /// Every entry has this value (`count` of them).
    Same { value: u64, count: u32 },
    /// Entries differ (or did since the subtable was created).
    Varied,
}

/// All entries that share one mask.
#[derive(Debug, Clone)]
pub(super) struct Subtable<T> {
    pub(super) shape: Arc<Shape>,
    /// `shape.words`, and the mask's words there, kept inline for the lookup.
    words: SmallVec<[u8; 8]>,
    mask_words: SmallVec<[u64; 8]>,
    /// Per `words` position.
    fixed: SmallVec<[Fixed; 8]>,
    /// Per `words` position: the mask bits the fixed-word test compares (the mask less the
    /// tracked prefixes, which prefix tracking tests with fewer bits).
    fixed_masks: SmallVec<[u64; 8]>,
    /// The fixed-word tests that apply now: (key word, mask, value).
    pub(super) fixed_checks: SmallVec<[(u8, u64, u64); 4]>,
    /// For each non-empty stage, the number of `words` up to its end; the last is `words.len()`.
    stage_ends: SmallVec<[u8; 4]>,
    /// Counted hashes of the masked words up to the end of every stage but the last.
    stage_index: SmallVec<[HashKeyed<u32>; 3]>,
    /// Filters over `stage_index`'s sets: a lookup tests these, not the sets.
    stage_filter: SmallVec<[HashFilter; 3]>,
    /// Hash of the whole masked value -> first entry of its chain.
    heads: HashKeyed<u32>,
    /// Filter over `heads`' hashes, tested before probing it.
    heads_filter: HashFilter,
    entries: Vec<Entry<T>>,
    pub(super) prefixes: SmallVec<[PrefixIndex; 2]>,
    /// Bit in the shared prefix holders (see [`super::prefix`]).
    pub(super) id: Option<u8>,
    /// Highest priority among the stored entries (visible or not).
    pub(super) max_priority: u16,
    /// How many stored entries have each priority (keeps `max_priority` exact).
    priorities: BTreeMap<u16, u32>,
}

impl<T> Subtable<T> {
    /// An empty subtable for `mask`; `id` is its bit in the shared prefix holders.
    pub(super) fn new(mask: FlowKey, id: Option<u8>) -> Self {
        let shape = Arc::new(Shape::new(mask));
        let words: SmallVec<[u8; 8]> = shape.words.iter().copied().collect();
        let mask_words: SmallVec<[u64; 8]> = words.iter().map(|&w| mask.words[usize::from(w)]).collect();
        let mut stage_ends = SmallVec::new();
        let mut start = 0;
        for end in STAGE_ENDS {
            let n = words.iter().filter(|&&w| (start..end).contains(&usize::from(w))).count();
            if n > 0 {
                stage_ends.push(stage_ends.last().copied().unwrap_or(0) + n as u8);
            }
            start = end;
        }
        if stage_ends.is_empty() {
            stage_ends.push(0);
        }
        let stage_index = (1..stage_ends.len()).map(|_| HashKeyed::default()).collect();
        let stage_filter = (1..stage_ends.len()).map(|_| HashFilter::default()).collect();
        let prefixes: SmallVec<[PrefixIndex; 2]> = PrefixIndex::for_mask(&mask, id).collect();
        let fixed_masks = words
            .iter()
            .zip(&mask_words)
            .map(|(&w, &m)| prefixes.iter().filter(|p| p.word() == usize::from(w)).fold(m, |m, p| m & !p.field_bits()))
            .collect();
        Subtable {
            fixed: words.iter().map(|_| Fixed::Varied).collect(),
            fixed_masks,
            fixed_checks: SmallVec::new(),
            stage_filter,
            heads_filter: HashFilter::default(),
            words,
            mask_words,
            stage_ends,
            stage_index,
            heads: HashKeyed::default(),
            entries: Vec::new(),
            prefixes,
            id,
            max_priority: 0,
            priorities: BTreeMap::new(),
            shape,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Hashes of compact `words` at the end of every non-empty stage (the last: all of them).
    fn stage_hashes(&self, words: &[u64]) -> SmallVec<[u64; 4]> {
        let mut out = SmallVec::new();
        let mut h = SEED;
        let mut start = 0;
        for &end in &self.stage_ends {
            for &w in &words[start..usize::from(end)] {
                h = mix(h, w);
            }
            start = usize::from(end);
            out.push(h);
        }
        out
    }

    /// Un-wildcards the mask bits of the first `n_words` non-zero mask words.
    #[inline]
    fn unwildcard(&self, n_words: usize, wc: &mut FlowKey) {
        for (&w, &m) in self.words[..n_words].iter().zip(&self.mask_words) {
            wc.words[usize::from(w)] |= m;
        }
    }

    /// The first entry of the chain `full` for which `pred` holds.
    fn find_in_chain(&self, full: u64, mut pred: impl FnMut(&Entry<T>) -> bool) -> Option<u32> {
        let mut i = *self.heads.get(&full)?;
        while i != NIL {
            let e = &self.entries[i as usize];
            if pred(e) {
                return Some(i);
            }
            i = e.next;
        }
        None
    }

    /// The entry with exactly these compact words and priority, visible at `version`.
    pub(super) fn find(&self, words: &[u64], priority: u16, version: Version) -> Option<&Entry<T>> {
        let i = self.find_in_chain(hash_words(words), |e| {
            e.priority == priority && e.is_visible(version) && e.words.as_slice() == words
        })?;
        Some(&self.entries[i as usize])
    }

    /// Mutable form of [`Subtable::find`], with the chain's hash.
    pub(super) fn find_mut(&mut self, words: &[u64], priority: u16, version: Version) -> Option<(u64, &mut Entry<T>)> {
        let full = hash_words(words);
        let i = self
            .find_in_chain(full, |e| e.priority == priority && e.is_visible(version) && e.words.as_slice() == words)?;
        Some((full, &mut self.entries[i as usize]))
    }

    /// Every entry in the chain of these compact words (any visibility).
    pub(super) fn chain<'a>(&'a self, words: &[u64]) -> impl Iterator<Item = &'a Entry<T>> + 'a {
        let mut i = self.heads.get(&hash_words(words)).copied().unwrap_or(NIL);
        std::iter::from_fn(move || {
            let e = self.entries.get(i as usize)?;
            i = e.next;
            Some(e)
        })
    }

    pub(super) fn entries(&self) -> std::slice::Iter<'_, Entry<T>> {
        self.entries.iter()
    }

    /// Adds `entry`; returns whether the subtable's fixed-word tests changed.
    pub(super) fn insert(&mut self, entry: Entry<T>, filters: &mut [PrefixFilter; 2]) -> bool {
        let hashes = self.stage_hashes(&entry.words);
        for ((index, filter), h) in self.stage_index.iter_mut().zip(&mut self.stage_filter).zip(&hashes) {
            let c = index.entry(*h).or_insert(0);
            *c += 1;
            if *c == 1 {
                filter.insert(*h, index.len(), index.keys());
            }
        }
        for p in &mut self.prefixes {
            let prefix = p.prefix_of_word(word_at(&self.words, &entry.words, p.word()));
            p.add(prefix, filters);
        }
        let was_empty = self.entries.is_empty();
        let mut changed = false;
        for (fx, &w) in self.fixed.iter_mut().zip(&entry.words) {
            let next = match *fx {
                _ if was_empty => Fixed::Same { value: w, count: 1 },
                Fixed::Same { value, count } if value == w => Fixed::Same { value, count: count + 1 },
                _ => Fixed::Varied,
            };
            changed |= matches!((*fx, next), (Fixed::Same { .. }, Fixed::Varied)) || was_empty;
            *fx = next;
        }
        if changed {
            self.fixed_checks = self
                .fixed
                .iter()
                .zip(&self.words)
                .zip(&self.fixed_masks)
                .filter_map(|((fx, &w), &m)| match *fx {
                    Fixed::Same { value, .. } if m != 0 => Some((w, m, value & m)),
                    _ => None,
                })
                .collect();
        }
        *self.priorities.entry(entry.priority).or_insert(0) += 1;
        self.max_priority =
            if self.entries.is_empty() { entry.priority } else { self.max_priority.max(entry.priority) };

        let full = hashes.last().copied().unwrap_or(SEED);
        let idx = self.entries.len() as u32;
        let mut entry = entry;
        match self.heads.get(&full).copied() {
            None => {
                entry.next = NIL;
                self.heads.insert(full, idx);
                self.heads_filter.insert(full, self.heads.len(), self.heads.keys());
            }
            Some(head) if self.entries[head as usize].priority < entry.priority => {
                entry.next = head;
                self.heads.insert(full, idx);
            }
            Some(head) => {
                // After every entry of the same or a higher priority.
                let mut prev = head;
                loop {
                    let next = self.entries[prev as usize].next;
                    if next == NIL || self.entries[next as usize].priority < entry.priority {
                        break;
                    }
                    prev = next;
                }
                entry.next = self.entries[prev as usize].next;
                self.entries[prev as usize].next = idx;
            }
        }
        self.entries.push(entry);
        changed
    }

    /// Forgets a dropped entry in the stage, prefix, fixed-word and priority indexes.
    fn unindex(&mut self, entry: &Entry<T>, filters: &mut [PrefixFilter; 2]) {
        if let Some(c) = self.priorities.get_mut(&entry.priority) {
            *c -= 1;
            if *c == 0 {
                self.priorities.remove(&entry.priority);
            }
        }
        self.max_priority = self.priorities.keys().next_back().copied().unwrap_or(0);
        let hashes = self.stage_hashes(&entry.words);
        for ((index, filter), h) in self.stage_index.iter_mut().zip(&mut self.stage_filter).zip(&hashes) {
            if let Some(c) = index.get_mut(h) {
                *c -= 1;
                if *c == 0 {
                    index.remove(h);
                    filter.remove(index.len(), index.keys());
                    let (len, cap) = (index.len(), index.capacity());
                    if len * 4 < cap && cap > 64 {
                        index.shrink_to(len * 2);
                    }
                }
            }
        }
        for p in &mut self.prefixes {
            let prefix = p.prefix_of_word(word_at(&self.words, &entry.words, p.word()));
            p.remove(prefix, filters);
        }
        for fx in &mut self.fixed {
            if let Fixed::Same { count, .. } = fx {
                *count -= 1;
            }
        }
    }

    /// Points whatever links to entry `from` at `to` (the slab moved it).
    fn relink(&mut self, from: u32, to: u32) {
        let full = hash_words(&self.entries[from as usize].words);
        let Some(head) = self.heads.get_mut(&full) else { return };
        if *head == from {
            *head = to;
            return;
        }
        let mut i = *head;
        while i != NIL {
            let next = self.entries[i as usize].next;
            if next == from {
                self.entries[i as usize].next = to;
                return;
            }
            i = next;
        }
    }

    /// Drops the entries of chain `full` whose remove version is `<= version`; returns how many.
    pub(super) fn purge_chain(&mut self, full: u64, version: Version, filters: &mut [PrefixFilter; 2]) -> usize {
        let mut dropped = 0;
        while let Some(&head) = self.heads.get(&full) {
            let (mut prev, mut cur) = (NIL, head);
            while cur != NIL && self.entries[cur as usize].remove_version > version {
                prev = cur;
                cur = self.entries[cur as usize].next;
            }
            if cur == NIL {
                break;
            }
            let next = self.entries[cur as usize].next;
            if prev != NIL {
                self.entries[prev as usize].next = next;
            } else if next == NIL {
                self.heads.remove(&full);
                self.heads_filter.remove(self.heads.len(), self.heads.keys());
            } else {
                self.heads.insert(full, next);
            }
            let last = (self.entries.len() - 1) as u32;
            if cur != last {
                self.relink(last, cur);
            }
            let entry = self.entries.swap_remove(cur as usize);
            self.unindex(&entry, filters);
            dropped += 1;
        }
        if dropped > 0 {
            let (len, cap) = (self.entries.len(), self.entries.capacity());
            if len * 4 < cap && cap > 64 {
                self.entries.shrink_to(len * 2);
            }
            let (len, cap) = (self.heads.len(), self.heads.capacity());
            if len * 4 < cap && cap > 64 {
                self.heads.shrink_to(len * 2);
            }
        }
        dropped
    }

    /// The best visible entry of this subtable matching `key`, un-wildcarding what it looked at.
    #[inline]
    pub(super) fn lookup(
        &self,
        filters: &[PrefixFilter; 2],
        ctx: &mut PrefixCtx,
        key: &FlowKey,
        version: Version,
        wc: &mut FlowKey,
    ) -> Option<&Entry<T>> {
        if !self.prefixes.iter().all(|p| p.level8_passes(ctx, wc)) {
            return None;
        }
        for &(w, m, value) in &self.fixed_checks {
            if key.words[usize::from(w)] & m != value {
                // Every entry has `value` here: no key differing from it there can match.
                wc.words[usize::from(w)] |= m;
                return None;
            }
        }
        if !self.prefixes.iter().all(|p| p.exact_passes(filters, ctx, wc)) {
            return None;
        }
        self.staged_lookup(key, version, wc)
    }

    /// Steps 4 and 5 of [`Subtable::lookup`], for a key that passed steps 1 to 3.
    #[inline]
    pub(super) fn staged_lookup(&self, key: &FlowKey, version: Version, wc: &mut FlowKey) -> Option<&Entry<T>> {
        let mut h = SEED;
        let mut start = 0;
        let last = self.stage_ends.len() - 1;
        for (stage, &end) in self.stage_ends.iter().enumerate() {
            let end = usize::from(end);
            for (&w, &m) in self.words[start..end].iter().zip(&self.mask_words[start..end]) {
                h = mix(h, key.words[usize::from(w)] & m);
            }
            start = end;
            if stage < last && !self.stage_filter[stage].may_contain(h) {
                self.unwildcard(end, wc);
                return None;
            }
        }
        self.unwildcard(self.words.len(), wc);
        if !self.heads_filter.may_contain(h) {
            return None;
        }
        let mut i = *self.heads.get(&h)?;
        while i != NIL {
            let e = &self.entries[i as usize];
            if e.is_visible(version) && self.same_value(key, &e.words) {
                return Some(e);
            }
            i = e.next;
        }
        None
    }

    #[inline]
    fn same_value(&self, key: &FlowKey, words: &[u64]) -> bool {
        self.words.iter().zip(&self.mask_words).zip(words).all(|((&w, &m), &v)| key.words[usize::from(w)] & m == v)
    }
}
