//! A linear-scan classifier with the same interface as [`super::Classifier`]: the reference
//! the tuple-space classifier is checked against in property tests. Its megaflow mask is
//! every mask in the table, so it is correct but never fast.

use super::{Entry, Version};
use crate::flow_match::Match;
use crate::key::FlowKey;

/// Linear classifier.
#[derive(Debug, Clone)]
pub struct LinearClassifier<T> {
    entries: Vec<Entry<T>>,
}

impl<T> Default for LinearClassifier<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> LinearClassifier<T> {
    /// Empty classifier.
    pub fn new() -> Self {
        LinearClassifier { entries: Vec::new() }
    }
    /// Inserts an entry visible from `version`.
    pub fn insert(&mut self, match_: Match, priority: u16, value: T, version: Version) {
        self.entries.push(Entry::new(&match_, priority, value, version));
    }
    /// Removes from `version` on.
    pub fn remove(&mut self, match_: &Match, priority: u16, version: Version) -> Option<&T> {
        let e = self
            .entries
            .iter_mut()
            .find(|e| e.remove_version() == Version::MAX && e.priority == priority && e.match_() == *match_)?;
        e.set_remove(version);
        Some(&e.value)
    }
    /// Drops invisible entries.
    pub fn purge(&mut self, version: Version) -> usize {
        let before = self.entries.len();
        self.entries.retain(|e| e.remove_version() > version);
        before - self.entries.len()
    }
    /// Best match.
    pub fn lookup(&self, key: &FlowKey, version: Version, wc: &mut FlowKey) -> Option<&Entry<T>> {
        let mut best: Option<&Entry<T>> = None;
        for e in self.entries.iter().filter(|e| e.visible(version)) {
            wc.or_assign(e.mask());
            if e.matches(key) && best.is_none_or(|b| e.priority > b.priority) {
                best = Some(e);
            }
        }
        best
    }
    /// Exact entry.
    pub fn find_exact(&self, match_: &Match, priority: u16, version: Version) -> Option<&Entry<T>> {
        self.entries.iter().find(|e| e.visible(version) && e.priority == priority && e.match_() == *match_)
    }
    /// Visible entries.
    pub fn iter(&self, version: Version) -> impl Iterator<Item = &Entry<T>> {
        self.entries.iter().filter(move |e| e.visible(version))
    }
    /// Covered entries.
    pub fn iter_covered<'a>(&'a self, target: &'a Match, version: Version) -> impl Iterator<Item = &'a Entry<T>> {
        self.iter(version).filter(move |e| e.is_covered_by(target))
    }
    /// Overlap test.
    pub fn any_overlap(&self, m: &Match, priority: u16, version: Version) -> bool {
        self.iter(version).any(|e| e.priority == priority && e.overlaps(m))
    }
    /// Entries not removed.
    pub fn len(&self) -> usize {
        self.entries.iter().filter(|e| e.remove_version() == Version::MAX).count()
    }
    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Distinct masks.
    pub fn n_subtables(&self) -> usize {
        let mut masks: Vec<_> = self.entries.iter().map(|e| *e.mask()).collect();
        masks.dedup();
        masks.len()
    }
}
